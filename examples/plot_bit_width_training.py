"""
===========================================
Training loss and weights at each bit width
===========================================

How :class:`~quboclf.QUBOCNNClassifier` trains at different bit widths ``n_bits``: the training
loss per majorise-minimise iteration (never increasing, at every width) and the histogram of the
weights it ends with, which all lie on a grid of ``2**n_bits`` levels per feature.
"""

# %%
# Features and heads
# ------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from quboclf import QUBOCNNClassifier, RandomConvFeatures

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # max_iter is kept short

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
features = RandomConvFeatures(n_filters=12, random_state=0).fit(X_train)
Z_train, Z_test = features.transform(X_train), features.transform(X_test)

bits = [2, 3, 4, 8]
heads = {}
for n_bits in bits:
    heads[n_bits] = QUBOCNNClassifier(
        features="passthrough", n_bits=n_bits, max_iter=20, random_state=0
    ).fit(Z_train, y_train)
    print(f"{n_bits:2d} bits: test accuracy {heads[n_bits].score(Z_test, y_test):.3f}, "
          f"final training loss {heads[n_bits].loss_curve_[-1]:.4f}")

# %%
# Training loss
# -------------
# ``loss_curve_`` holds the loss before the first iteration and after each one. Coarser grids
# stop higher: the best 2-bit weights cannot fit the training set as well as 8-bit ones.
fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
for n_bits, clf in heads.items():
    ax.plot(clf.loss_curve_, marker=".", label=f"{n_bits} bits")
ax.set_xlabel("iteration")
ax.set_ylabel("training loss (cross-entropy)")
ax.set_yscale("log")
ax.legend()
ax.grid(alpha=0.3)

# %%
# Weight histograms
# -----------------
# The weights of one feature take at most ``2**n_bits`` values, ``Δ_j (m − 2**(n_bits − 1))``.
# Dividing each weight by its feature's step ``Δ_j = R_j / 2**(n_bits − 1)`` (``R_j`` is
# ``weight_range_``) gives the integer levels the QUBO chose, which the histograms show. With
# ``weight_range="auto"`` the grid of each feature spans twice that feature's largest weight in a
# continuous fit, so most levels lie within ``±2**(n_bits − 2)``, and the largest weight of every
# feature sits near one of these two levels: the spikes of the 8-bit histogram.
fig, axes = plt.subplots(1, len(bits), figsize=(11, 3), layout="constrained")
for ax, (n_bits, clf) in zip(axes, heads.items()):
    step = clf.weight_range_[:-1] / 2 ** (n_bits - 1)
    levels = np.rint(clf.coef_ / step).astype(int)
    ax.hist(levels.ravel(), bins=np.arange(levels.min(), levels.max() + 2) - 0.5)
    ax.set_title(f"{n_bits} bits")
    ax.set_xlabel("weight level")
axes[0].set_ylabel("weights")
