"""
=================================================
Quantizing an MLP: round-to-nearest versus QUBO
=================================================

:class:`~quboclf.QUBOQuantizer` rounds the weights of a trained network to ``n_bits`` signed
integers. Round-to-nearest rounds every weight on its own; the QUBO rounding decides, for each
output neuron, whether each of its weights and its bias rounds down or up so that the neuron's
pre-activations on calibration data change as little as possible. This example trains a small
``MLPClassifier`` on the digits data and compares the two at 1 to 8 bits.
"""

# %%
# Train the float model
# ---------------------
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from quboclf import QUBOQuantizer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.25, random_state=0, stratify=y
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0)
    mlp.fit(X_train, y_train)
float_accuracy = mlp.score(X_test, y_test)
print(f"float accuracy: {float_accuracy:.4f}")

# %%
# Quantize at every bit width
# ---------------------------
# ``mlp`` is already fitted, so the quantizer uses it as is (and never modifies it); the
# training rows are the calibration data (1,024 of them by default).
widths = list(range(1, 9))
accuracy = {"nearest": [], "qubo": []}
for n_bits in widths:
    for rounding in accuracy:
        quantizer = QUBOQuantizer(mlp, n_bits=n_bits, rounding=rounding, random_state=0)
        quantizer.fit(X_train, y_train)
        accuracy[rounding].append(quantizer.score(X_test, y_test))
    print(f"int{n_bits}: nearest {accuracy['nearest'][-1]:.4f}  qubo {accuracy['qubo'][-1]:.4f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.axhline(float_accuracy, color="gray", linestyle="--", label="float")
ax.plot(widths, accuracy["nearest"], "o-", label="round-to-nearest")
ax.plot(widths, accuracy["qubo"], "s-", label="QUBO rounding")
ax.set_xlabel("bits per weight (n_bits)")
ax.set_ylabel("test accuracy")
ax.set_title("digits, MLP 64-32-10")
ax.legend()
fig.tight_layout()

# %%
# What is exported
# ----------------
# ``layers_`` holds, per layer, the integer weights (outputs × inputs, int8), the integer bias,
# the scales and zero points, and the calibration error of both roundings.
quantizer = QUBOQuantizer(mlp, n_bits=3, random_state=0).fit(X_train, y_train)
for layer in quantizer.layers_:
    print(
        f"{layer.name:9s} weights {layer.weight_int.shape} {layer.weight_int.dtype} "
        f"in [{layer.weight_int.min()}, {layer.weight_int.max()}], scale "
        f"{layer.weight_scale:.4f}; relative error nearest "
        f"{layer.error_nearest / layer.output_norm:.4f}, qubo "
        f"{layer.error_qubo / layer.output_norm:.4f}"
    )
