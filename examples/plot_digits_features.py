"""
==============================================
Random convolution features on 8x8 digits
==============================================

:class:`~quboclf.RandomConvFeatures` turns images into features for a linear model with
convolution filters that are drawn at random and never trained (an Extreme Learning Machine):
convolve, rectify, average over a fixed grid of bins, standardise. This example looks at the
filters and at what they make of one digit, then compares a logistic regression on raw pixels with
one on random convolution features, for a growing number of filters.
"""

# %%
# Fit the transformer
# -------------------
# The digits come as flat rows of 64 pixels; with ``image_shape=None`` the transformer infers
# square 8x8 single-channel images. With the defaults (24 filters of 5x5, ``relu``, mean pooling
# onto a 5x5 grid) every image becomes 24 * 5 * 5 = 600 features.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from quboclf import RandomConvFeatures

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, test_size=0.3, random_state=0)

features = RandomConvFeatures(random_state=0).fit(X_train)
print("image shape:", features.image_shape_)
print("filters:", features.filters_.shape)
print("features per image:", len(features.get_feature_names_out()))

# %%
# The random filters
# ------------------
# Each filter has Gaussian entries, shifted to zero mean and scaled to unit norm: zero-mean
# filters respond to strokes and edges, not to how bright an area is.
fig, axes = plt.subplots(3, 8, figsize=(8, 3.2))
for ax, filt in zip(axes.ravel(), features.filters_):
    ax.imshow(filt[:, :, 0], cmap="RdBu_r", vmin=-0.6, vmax=0.6)
    ax.set_axis_off()
fig.suptitle("24 random 5x5 filters")
plt.show()

# %%
# What one digit becomes
# ----------------------
# The features of one image, before standardisation, reshaped to (filter, row bin, column bin):
# each filter's rectified response averaged over a 5x5 grid of bins. Different filters light up
# different strokes of the same digit.
raw = RandomConvFeatures(random_state=0, standardize=False).fit(X_train)
maps = raw.transform(X_test[:1]).reshape(24, 5, 5)

fig, axes = plt.subplots(1, 7, figsize=(9, 1.8))
axes[0].imshow(X_test[0].reshape(8, 8), cmap="gray_r")
axes[0].set_title(f"digit {y_test[0]}")
for k, ax in enumerate(axes[1:]):
    ax.imshow(maps[k], cmap="viridis")
    ax.set_title(f"filter {k}")
for ax in axes:
    ax.set_axis_off()
plt.show()

# %%
# A linear head on pixels and on features
# ---------------------------------------
# The features are standardised by the transformer itself (``standardize=True``), so a
# :class:`~sklearn.linear_model.LogisticRegression` can follow it directly. The pixel baseline
# gets a :class:`~sklearn.preprocessing.StandardScaler` to make the comparison fair.
pixels = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
pixel_accuracy = pixels.fit(X_train, y_train).score(X_test, y_test)
print(f"pixels (64 features): {pixel_accuracy:.3f}")

n_filters = [2, 6, 12, 24]
accuracy = []
for n in n_filters:
    model = make_pipeline(
        RandomConvFeatures(n_filters=n, random_state=0), LogisticRegression(max_iter=1000)
    )
    accuracy.append(model.fit(X_train, y_train).score(X_test, y_test))
    print(f"{n:2d} filters ({n * 25:3d} features): {accuracy[-1]:.3f}")

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(np.array(n_filters) * 25, accuracy, "o-", label="random conv features")
ax.axhline(pixel_accuracy, color="gray", ls="--", label="raw pixels")
ax.set_xlabel("number of features d = n_filters x 25")
ax.set_ylabel("test accuracy")
ax.set_title("Logistic regression on 8x8 digits")
ax.legend(loc="lower right")
fig.tight_layout()
plt.show()

# %%
# The feature dimension ``d`` is what a QUBO-trained head pays for: its QUBO per class has
# ``d * n_bits`` binary variables. Adaptive pooling keeps ``d`` at
# ``n_filters * pool_grid**2`` whatever the image size, so the same defaults give 600 features for
# 8x8 digits, 28x28 Fashion-MNIST and 32x32x3 CIFAR-10 images.
