"""
=================================================
A QUBO-trained classifier head on digits: n_bits
=================================================

:class:`~quboclf.QUBOCNNClassifier` trains a linear softmax head whose weights are ``n_bits``-bit
numbers (``2**n_bits`` values per class row), by solving one QUBO per class per sweep. This
example computes random convolution features once, then trains heads of 1 to 12 bits on them and
compares their test accuracy with :class:`~sklearn.linear_model.LogisticRegression` (float64
weights) on the same features. It also plots the training objective per QUBO sweep from the two
starts: both never increase.
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
# ``features="passthrough"`` trains the head on the precomputed features. Each coefficient of a
# K-bit head is ``s_c q`` with ``q`` odd in ``[−(2**K − 1), 2**K − 1]`` and one scale ``s_c`` per
# class, chosen by the training objective of a rounded continuous fit.
bits = [1, 2, 3, 4, 6, 8, 10, 12]
accuracy = []
for n_bits in bits:
    clf = QUBOCNNClassifier(features="passthrough", n_bits=n_bits, random_state=0)
    clf.fit(Z_train, y_train)
    accuracy.append(clf.score(Z_test, y_test))
    print(f"{n_bits:2d} bits: test accuracy {accuracy[-1]:.3f} ({clf.n_iter_} sweeps)")

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
# A class takes its QUBO step only if the true training objective drops, so ``loss_curve_`` is
# non-increasing, whether the head starts from the best rounding of a continuous fit (the
# default) or from zero weights (``init="zeros"``, the paper's setting).
fig, ax = plt.subplots(figsize=(6, 4))
for init in ("auto", "zeros"):
    clf = QUBOCNNClassifier(
        features="passthrough", n_bits=3, init=init, random_state=0
    ).fit(Z_train, y_train)
    assert np.all(np.diff(clf.loss_curve_) <= 0)
    ax.semilogy(clf.loss_curve_, label=f"init={init!r} (test acc {clf.score(Z_test, y_test):.3f})")
ax.set_xlabel("QUBO sweep")
ax.set_ylabel("training objective")
ax.set_title("3-bit head on digits")
ax.legend()
fig.tight_layout()
plt.show()
