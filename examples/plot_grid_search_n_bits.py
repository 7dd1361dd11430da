"""
=====================================
Choosing ``n_bits`` with GridSearchCV
=====================================

``n_bits`` is an ordinary hyper-parameter of :class:`~quboclf.QUBOCNNClassifier`, so
:class:`~sklearn.model_selection.GridSearchCV` can choose it, trading accuracy against the size
``d * n_bits`` of the QUBOs (what matters on a QPU). Here the random convolution features
sit in a :class:`~sklearn.pipeline.Pipeline` before the head, so every fold fits its own
features on its own training part.
"""

# %%
# The search
# ----------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from quboclf import QUBOCNNClassifier, RandomConvFeatures

warnings.filterwarnings("ignore", category=ConvergenceWarning)  # max_iter is kept short

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
pipe = make_pipeline(
    RandomConvFeatures(n_filters=8, random_state=0),
    QUBOCNNClassifier(features="passthrough", max_iter=10, random_state=0),
)
search = GridSearchCV(pipe, {"qubocnnclassifier__n_bits": [1, 2, 4]}, cv=3)
search.fit(X_train, y_train)
print(f"best n_bits: {search.best_params_['qubocnnclassifier__n_bits']}, "
      f"cross-validated accuracy {search.best_score_:.3f}, "
      f"test accuracy {search.score(X_test, y_test):.3f}")

# %%
# Accuracy and fit time against ``n_bits``
# ----------------------------------------
res = search.cv_results_
bits = np.array(res["param_qubocnnclassifier__n_bits"], dtype=int)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5), layout="constrained")
ax1.errorbar(bits, res["mean_test_score"], yerr=res["std_test_score"], marker="o", capsize=3)
ax1.set_xlabel("n_bits")
ax1.set_ylabel("cross-validated accuracy")
ax2.plot(bits, res["mean_fit_time"], marker="o")
ax2.set_xlabel("n_bits")
ax2.set_ylabel("mean fit time (s)")
for ax in (ax1, ax2):
    ax.set_xticks(bits)
    ax.grid(alpha=0.3)
