"""
=================================================
A QUBO-trained classifier head on digits: n_bits
=================================================

:class:`~quboclf.QUBOCNNClassifier` trains a linear softmax head whose weights are ``n_bits``-bit
fixed-point numbers, by solving one QUBO per class per majorise-minimise iteration. This example
computes random convolution features once, then trains heads of 2 to 12 bits on them and
compares their test accuracy with :class:`~sklearn.linear_model.LogisticRegression` (float64
weights) on the same features. It also plots the training loss of the accelerated and the plain
majorise-minimise loop: both never increase, the accelerated one falls much faster.
"""

# %%
# Features, computed once and shared by every head
# ------------------------------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from quboclf import QUBOCNNClassifier, RandomConvFeatures

# 30 iterations are plenty for these plots; the fits would warn that max_iter was reached.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
features = RandomConvFeatures(n_filters=8, random_state=0).fit(X_train)
Z_train, Z_test = features.transform(X_train), features.transform(X_test)
print(f"{Z_train.shape[1]} features per image")

reference = LogisticRegression().fit(Z_train, y_train).score(Z_test, y_test)

# %%
# Accuracy against the number of bits per weight
# ----------------------------------------------
# ``features="passthrough"`` trains the head on the precomputed features. Each weight of a
# K-bit head takes one of ``2**K`` values; with ``weight_range="auto"`` the grid of each feature
# spans twice its largest weight in a quick continuous fit.
bits = [2, 3, 4, 6, 8, 10, 12]
accuracy = []
for n_bits in bits:
    clf = QUBOCNNClassifier(features="passthrough", n_bits=n_bits, max_iter=30, random_state=0)
    clf.fit(Z_train, y_train)
    accuracy.append(clf.score(Z_test, y_test))
    print(f"{n_bits:2d} bits: test accuracy {accuracy[-1]:.3f} ({clf.n_iter_} iterations)")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(bits, accuracy, "o-", label="QUBOCNNClassifier")
ax.axhline(reference, color="gray", linestyle="--", label="LogisticRegression (float64)")
ax.set_xlabel("bits per weight (n_bits)")
ax.set_ylabel("test accuracy")
ax.set_title("Digits: accuracy of a K-bit head")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# The training loss never increases
# ---------------------------------
# A class takes its new weights only if they lower its quadratic upper bound of the loss, so
# ``loss_curve_`` is non-increasing. The accelerated loop (the default) first tries a Nesterov
# step with a bolder curvature and keeps it only where the true loss drops.
fig, ax = plt.subplots(figsize=(6, 4))
for accelerate in (True, False):
    clf = QUBOCNNClassifier(
        features="passthrough",
        n_bits=10,
        max_iter=30,
        tol=0.0,
        accelerate=accelerate,
        random_state=0,
    ).fit(Z_train, y_train)
    assert np.all(np.diff(clf.loss_curve_) <= 0)
    label = "accelerated" if accelerate else "plain majorise-minimise"
    ax.semilogy(clf.loss_curve_, label=f"{label} (test acc {clf.score(Z_test, y_test):.3f})")
ax.set_xlabel("iteration")
ax.set_ylabel("training loss")
ax.set_title("10-bit head on digits")
ax.legend()
fig.tight_layout()
plt.show()
