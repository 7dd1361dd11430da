"""
===========================================
Training loss and weights at each bit width
===========================================

How :class:`~quboclf.QUBOCNNClassifier` trains at different bit widths ``n_bits``: the training
objective per QUBO sweep (never increasing, at every width), from the best rounding of a
continuous fit (``init="auto"``) and from zero weights (``init="zeros"``, the paper's setting),
and the histogram of the K-bit codes it ends with: every row of ``coef_`` holds at most
``2**n_bits`` values ``s_c q``, ``q`` odd in ``[−(2**n_bits − 1), 2**n_bits − 1]``.
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

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
features = RandomConvFeatures(n_filters=12, random_state=0).fit(X_train)
Z_train, Z_test = features.transform(X_train), features.transform(X_test)

bits = [1, 2, 3, 4, 8]
heads = {}
for n_bits in bits:
    for init in ("auto", "zeros"):
        heads[n_bits, init] = clf = QUBOCNNClassifier(
            features="passthrough", n_bits=n_bits, init=init, random_state=0
        ).fit(Z_train, y_train)
        print(
            f"{n_bits:2d} bits, init={init!r:7}: test accuracy {clf.score(Z_test, y_test):.3f}, "
            f"training objective {clf.loss_curve_[0]:.4f} -> {clf.loss_curve_[-1]:.4f} in "
            f"{clf.n_iter_} sweeps ({clf.solver_info_['status']})"
        )

# %%
# Training objective
# ------------------
# ``loss_curve_`` holds the objective of the start and after each sweep. With ``init="auto"``
# the start is the continuous fit rounded to the grid with the best scales (its objective is
# ``solver_info_["rounded_loss"]``), and the QUBO sweeps lower it further, most at few bits,
# where rounding loses most. With ``init="zeros"`` the curve starts after the first QUBO step
# from zero weights.
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained", sharey=True)
for ax, init in zip(axes, ("auto", "zeros")):
    for n_bits in bits:
        ax.plot(heads[n_bits, init].loss_curve_, marker=".", label=f"{n_bits} bits")
    ax.set_title(f"init={init!r}")
    ax.set_xlabel("QUBO sweep")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("training objective")
axes[0].legend()

# %%
# The K-bit codes
# ---------------
# ``coef_levels_`` holds the code of every coefficient, ``coef_ = coef_scale_ * (2 *
# coef_levels_ − (2**n_bits − 1))`` with one scale per class row: the histograms count the
# codes. At one bit every weight is ``±s_c``.
fig, axes = plt.subplots(1, len(bits), figsize=(12, 3), layout="constrained")
for ax, n_bits in zip(axes, bits):
    clf = heads[n_bits, "auto"]
    assert all(np.unique(row).size <= 2**n_bits for row in clf.coef_)
    ax.hist(clf.coef_levels_.ravel(), bins=np.arange(2**n_bits + 1) - 0.5)
    ax.set_title(f"{n_bits} bits")
    ax.set_xlabel("code")
axes[0].set_ylabel("weights")
plt.show()
