"""Tests of RandomConvFeatures and of the fused conv/pool kernel."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import make_estimator
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from quboclf import RandomConvFeatures
from quboclf._kernels._conv import (
    ACTIVATIONS,
    POOLINGS,
    adaptive_bins,
    conv_pool,
    conv_pool_reference,
)


def _bins(length, n_bins):
    return adaptive_bins(length, n_bins)


# --- kernel -----------------------------------------------------------------------------------


def test_adaptive_bins_tile_the_axis():
    for length in range(1, 12):
        for n_bins in range(1, 9):
            edges = adaptive_bins(length, n_bins)
            assert edges[0, 0] == 0 and edges[-1, 1] == length
            assert np.all(edges[:, 1] > edges[:, 0])
            assert np.all(edges[1:, 0] <= edges[:-1, 1])  # no gaps between bins
    np.testing.assert_array_equal(
        adaptive_bins(28, 5), [[0, 6], [5, 12], [11, 17], [16, 23], [22, 28]]
    )
    np.testing.assert_array_equal(adaptive_bins(8, 4), [[0, 2], [2, 4], [4, 6], [6, 8]])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 3),
    H=st.integers(1, 7),
    W=st.integers(1, 7),
    C=st.integers(1, 3),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    F=st.integers(1, 9),
    gh=st.integers(1, 5),
    gw=st.integers(1, 5),
    same=st.booleans(),
    activation=st.sampled_from(sorted(ACTIVATIONS.values())),
    pooling=st.sampled_from(sorted(POOLINGS.values())),
    seed=st.integers(0, 2**16),
    float32=st.booleans(),
)
def test_conv_pool_matches_reference(
    n, H, W, C, kh, kw, F, gh, gw, same, activation, pooling, seed, float32
):
    if not same and (kh > H or kw > W):
        kh, kw = min(kh, H), min(kw, W)
    rng = np.random.default_rng(seed)
    dtype = np.float32 if float32 else np.float64
    images = rng.normal(size=(n, H, W, C)).astype(dtype)
    weights = rng.normal(size=(kh, kw, C, F)).astype(dtype)
    bias = rng.normal(size=F).astype(dtype)
    pad_top, pad_left = ((kh - 1) // 2, (kw - 1) // 2) if same else (0, 0)
    Ho, Wo = (H, W) if same else (H - kh + 1, W - kw + 1)
    rows, cols = _bins(Ho, gh), _bins(Wo, gw)
    out = np.empty((n, F, gh, gw), dtype=dtype)
    conv_pool(images, weights, bias, pad_top, pad_left, rows, cols, activation, pooling, out)
    ref = conv_pool_reference(
        images, weights, bias, pad_top, pad_left, rows, cols, activation, pooling
    )
    tol = 1e-4 if float32 else 1e-10
    np.testing.assert_allclose(out, ref, rtol=tol, atol=tol)


def test_conv_pool_reference_answer_key():
    # 3x3 image, one 2x2 all-ones filter, 'valid': the map holds the 2x2 window sums.
    image = np.arange(9.0).reshape(1, 3, 3, 1)
    weights = np.ones((2, 2, 1, 1))
    sums = np.array([[0 + 1 + 3 + 4, 1 + 2 + 4 + 5], [3 + 4 + 6 + 7, 4 + 5 + 7 + 8]], float)
    for func in (conv_pool, conv_pool_reference):
        args = (image, weights, np.array([-10.0]), 0, 0, _bins(2, 2), _bins(2, 2))
        if func is conv_pool:
            out = np.empty((1, 1, 2, 2))
            func(*args, ACTIVATIONS["identity"], POOLINGS["mean"], out)
        else:
            out = func(*args, ACTIVATIONS["identity"], POOLINGS["mean"])
        np.testing.assert_allclose(out[0, 0], sums - 10)
        one_bin = (image, weights, np.array([-10.0]), 0, 0, _bins(2, 1), _bins(2, 1))
        for pooling, expected in (("mean", np.maximum(sums - 10, 0).mean()), ("max", 14.0)):
            if func is conv_pool:
                out = np.empty((1, 1, 1, 1))
                func(*one_bin, ACTIVATIONS["relu"], POOLINGS[pooling], out)
            else:
                out = func(*one_bin, ACTIVATIONS["relu"], POOLINGS[pooling])
            assert out[0, 0, 0, 0] == pytest.approx(expected)


# --- estimator: shapes, layouts, dtypes ----------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def test_flat_3d_and_4d_inputs_give_the_same_features(digits):
    X = digits[0][:50]
    flat = RandomConvFeatures(random_state=0).fit(X)
    Z = flat.transform(X)
    assert Z.shape == (50, 24 * 5 * 5)
    for layout in (X.reshape(-1, 8, 8), X.reshape(-1, 8, 8, 1)):
        est = RandomConvFeatures(random_state=0).fit(layout)
        assert est.image_shape_ == (8, 8, 1)
        assert est.n_features_in_ == 64
        np.testing.assert_allclose(est.transform(layout), Z)
        # Fitted on one layout, transforms any other layout of the same images.
        np.testing.assert_allclose(flat.transform(layout), Z)
        np.testing.assert_allclose(est.transform(X), Z)
    shaped = RandomConvFeatures(image_shape=(8, 8), random_state=0).fit(X)
    np.testing.assert_allclose(shaped.transform(X), Z)
    matching = RandomConvFeatures(image_shape=(8, 8, 1), random_state=0).fit(X.reshape(-1, 8, 8))
    np.testing.assert_allclose(matching.transform(X), Z)
    inferred = RandomConvFeatures(image_shape=(-1, 8, 1), random_state=0).fit(X)
    assert inferred.image_shape_ == (8, 8, 1)
    np.testing.assert_allclose(inferred.transform(X), Z)


@settings(max_examples=15, deadline=None)
@given(
    H=st.integers(1, 9),
    W=st.integers(1, 9),
    C=st.integers(1, 3),
    k=st.integers(1, 4),
    grid=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_layouts_agree_for_any_image_shape(H, W, C, k, grid, seed):
    images = np.random.default_rng(seed).normal(size=(4, H, W, C))
    params = dict(n_filters=3, kernel_size=k, pool_grid=grid, random_state=seed)
    Z = RandomConvFeatures(**params).fit_transform(images)
    flat = RandomConvFeatures(image_shape=(H, W, C), **params).fit(images.reshape(4, -1))
    np.testing.assert_allclose(flat.transform(images.reshape(4, -1)), Z, atol=1e-12)
    np.testing.assert_allclose(flat.transform(images), Z, atol=1e-12)
    if C == 1:
        np.testing.assert_allclose(flat.transform(images[..., 0]), Z, atol=1e-12)


def test_rgb_images_channels_last():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 12, 10, 3)).astype(np.float64)
    est = RandomConvFeatures(n_filters=4, kernel_size=3, pool_grid=(3, 2), random_state=1)
    Z = est.fit_transform(images)
    assert Z.shape == (20, 4 * 3 * 2)
    assert est.filters_.shape == (4, 3, 3, 3)
    assert est.image_shape_ == (12, 10, 3)
    assert est.feature_map_shape_ == (12, 10)
    flat = RandomConvFeatures(
        n_filters=4, kernel_size=3, pool_grid=(3, 2), image_shape=(12, 10, 3), random_state=1
    )
    np.testing.assert_allclose(flat.fit_transform(images.reshape(20, -1)), Z)
    # The channels matter: permuting them changes the features.
    assert not np.allclose(est.transform(images[..., ::-1]), Z)


def test_features_equal_the_numpy_reference(digits):
    X = digits[0][:30]
    est = RandomConvFeatures(
        n_filters=5, kernel_size=(3, 5), pool_grid=(4, 3), standardize=False, random_state=0
    ).fit(X)
    weights = est.filters_.transpose(1, 2, 3, 0)
    ref = conv_pool_reference(
        X.reshape(-1, 8, 8, 1),
        weights,
        np.zeros(5),
        1,
        2,
        _bins(8, 4),
        _bins(8, 3),
        ACTIVATIONS["relu"],
        POOLINGS["mean"],
    )
    np.testing.assert_allclose(est.transform(X), ref.reshape(30, -1), rtol=1e-10, atol=1e-12)


def test_valid_padding_map_shape(digits):
    est = RandomConvFeatures(kernel_size=3, padding="valid", pool_grid=2, random_state=0)
    est.fit(digits[0][:10])
    assert est.feature_map_shape_ == (6, 6)
    assert est.transform(digits[0][:3]).shape == (3, 24 * 4)


def test_filters_are_zero_mean_unit_norm_and_deterministic(digits):
    X = digits[0][:20]
    a = RandomConvFeatures(random_state=3).fit(X)
    b = RandomConvFeatures(random_state=3).fit(X)
    c = RandomConvFeatures(random_state=4).fit(X)
    np.testing.assert_array_equal(a.filters_, b.filters_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    assert not np.allclose(a.filters_, c.filters_)
    np.testing.assert_allclose(a.filters_.mean(axis=(1, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(a.filters_.reshape(24, -1), axis=1), 1)
    rs = np.random.RandomState(7)
    d = RandomConvFeatures(random_state=rs).fit(X)
    np.testing.assert_array_equal(
        d.filters_, RandomConvFeatures(random_state=np.random.RandomState(7)).fit(X).filters_
    )


def test_one_by_one_kernel_single_channel_is_not_zeroed():
    X = np.arange(32.0).reshape(2, 16)
    est = RandomConvFeatures(n_filters=2, kernel_size=1, random_state=0).fit(X)
    np.testing.assert_allclose(np.abs(est.filters_), 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_and_close(digits, dtype):
    X = digits[0][:40]
    est = RandomConvFeatures(random_state=0).fit(X.astype(dtype))
    Z = est.transform(X.astype(dtype))
    assert Z.dtype == dtype
    Z64 = RandomConvFeatures(random_state=0).fit(X).transform(X)
    np.testing.assert_allclose(Z, Z64, rtol=1e-3, atol=1e-3)
    # Integer input is converted to float64.
    assert est.transform(X.astype(np.int64)).dtype == np.float64


def test_standardize(digits):
    X = digits[0][:200]
    est = RandomConvFeatures(random_state=0)
    Z = est.fit_transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-10)
    std = Z.std(axis=0)
    # Every feature has unit variance except constant ones, which are only centred.
    assert np.all(np.isclose(std, 1) | np.isclose(std, 0))
    raw = RandomConvFeatures(random_state=0, standardize=False).fit(X)
    assert raw.mean_ is None and raw.scale_ is None
    np.testing.assert_allclose((raw.transform(X) - est.mean_) / est.scale_, Z)
    # relu features scale with the pixels, so standardised features ignore the pixel scale.
    np.testing.assert_allclose(RandomConvFeatures(random_state=0).fit_transform(X / 16), Z)


def test_pool_grid_larger_than_the_map_repeats_positions():
    X = np.random.default_rng(0).normal(size=(3, 4))
    est = RandomConvFeatures(
        image_shape=(2, 2),
        n_filters=1,
        kernel_size=1,
        pool_grid=4,
        standardize=False,
        random_state=0,
    )
    Z = est.fit_transform(X).reshape(3, 4, 4)
    # Each of the 2x2 map positions fills a 2x2 block of the 4x4 grid.
    np.testing.assert_allclose(Z[:, ::2, ::2], Z[:, 1::2, 1::2])


def test_feature_names(digits):
    X = digits[0][:10]
    est = RandomConvFeatures(n_filters=2, pool_grid=(2, 3), random_state=0).fit(X)
    names = est.get_feature_names_out()
    assert names.dtype == object and len(names) == 12 == est.transform(X).shape[1]
    assert list(names[:7]) == [
        "conv0_r0_c0",
        "conv0_r0_c1",
        "conv0_r0_c2",
        "conv0_r1_c0",
        "conv0_r1_c1",
        "conv0_r1_c2",
        "conv1_r0_c0",
    ]
    # Output names do not depend on input names, but wrong-length input names are refused.
    assert list(est.get_feature_names_out([f"x{i}" for i in range(64)])) == list(names)
    with pytest.raises(ValueError, match="input_features"):
        est.get_feature_names_out(["a", "b"])


def test_pandas_output(digits):
    pd = pytest.importorskip("pandas")
    X = digits[0][:10]
    est = RandomConvFeatures(n_filters=2, pool_grid=(2, 3), random_state=0)
    est.set_output(transform="pandas").fit(X)
    out = est.transform(X)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(est.get_feature_names_out())
    df = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    est2 = RandomConvFeatures(n_filters=2, random_state=0).set_output(transform="pandas")
    Z = est2.fit_transform(df)
    np.testing.assert_array_equal(est2.feature_names_in_, df.columns)
    assert isinstance(Z, pd.DataFrame) and Z.shape == (10, 50)
    np.testing.assert_allclose(Z.to_numpy(), est2.transform(X.reshape(-1, 8, 8)).to_numpy())
    with pytest.raises(ValueError, match="input_features"):
        est2.get_feature_names_out(["a"] * 64)


# --- errors -------------------------------------------------------------------------------------


def test_non_square_inference_error():
    with pytest.raises(
        ValueError, match=r"Cannot infer the image shape from 50 features.*image_shape"
    ):
        RandomConvFeatures().fit(np.zeros((3, 50)))
    with pytest.raises(ValueError, match=r"image_shape=\(32, 32, 3\)"):
        RandomConvFeatures().fit(np.zeros((2, 3072)))


def test_image_shape_mismatch_errors():
    X = np.zeros((3, 64))
    with pytest.raises(ValueError, match=r"image_shape=\(7, 7\) has 49 pixel values but X has 64"):
        RandomConvFeatures(image_shape=(7, 7)).fit(X)
    with pytest.raises(ValueError, match="not a multiple of 7"):
        RandomConvFeatures(image_shape=(7, -1)).fit(X)
    with pytest.raises(ValueError, match=r"does not match the images in X, of shape \(8, 8\)"):
        RandomConvFeatures(image_shape=(4, 16)).fit(X.reshape(3, 8, 8))
    for bad in [(8,), (8, 8, 1, 1), (0, 8), (-1, -1), (8.5, 8), ("a", 8)]:
        with pytest.raises(ValueError, match="image_shape must be None or a tuple"):
            RandomConvFeatures(image_shape=bad).fit(X)
    with pytest.raises(ValueError, match="'image_shape' parameter"):
        RandomConvFeatures(image_shape="8x8").fit(X)


def test_transform_shape_mismatch_errors(digits):
    est = RandomConvFeatures(random_state=0).fit(digits[0][:5])
    with pytest.raises(
        ValueError, match="X has 63 features, but RandomConvFeatures is expecting 64"
    ):
        est.transform(np.zeros((2, 63)))
    with pytest.raises(ValueError, match=r"images of shape \(8, 9\).*fitted on images of shape"):
        est.transform(np.zeros((2, 8, 9)))
    with pytest.raises(ValueError, match=r"images of shape \(8, 8, 3\)"):
        est.transform(np.zeros((2, 8, 8, 3)))


def test_wrong_ndim_errors():
    with pytest.raises(ValueError, match="got a 5-D array"):
        RandomConvFeatures().fit(np.zeros((2, 4, 4, 1, 1)))
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        RandomConvFeatures().fit(np.zeros(16))
    est = RandomConvFeatures().fit(np.zeros((2, 16)))
    with pytest.raises(ValueError, match="got a 5-D array"):
        est.transform(np.zeros((2, 4, 4, 1, 1)))


def test_parameter_errors():
    X = np.zeros((2, 16))
    with pytest.raises(ValueError, match="kernel_size must be a positive int or a pair"):
        RandomConvFeatures(kernel_size=(3, 0)).fit(X)
    with pytest.raises(ValueError, match="pool_grid must be a positive int or a pair"):
        RandomConvFeatures(pool_grid=(2, 2, 2)).fit(X)
    with pytest.raises(ValueError, match="kernel_size=.5, 5. is larger than the images .4, 4."):
        RandomConvFeatures(padding="valid").fit(X)
    with pytest.raises(ValueError, match="'activation' parameter"):
        RandomConvFeatures(activation="sigmoid").fit(X)
    with pytest.raises(ValueError, match="'n_filters' parameter"):
        RandomConvFeatures(n_filters=0).fit(X)


# --- regression on real data -----------------------------------------------------------------


def test_digits_linear_head_accuracy(digits):
    X, y = digits
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, test_size=0.3, random_state=0)
    model = make_pipeline(RandomConvFeatures(random_state=0), LogisticRegression(max_iter=1000))
    assert model.fit(X_tr, y_tr).score(X_te, y_te) >= 0.97


def test_huge_chunk_does_not_spoil_a_fitted_transformer():
    """partial_fit with a chunk whose feature variance overflows: an error, the model kept."""
    X16, _ = make_classification(n_samples=30, n_features=16, random_state=0)
    est = make_estimator(RandomConvFeatures).fit(X16)
    before = dict(vars(est))
    expected = est.transform(X16)
    with pytest.raises(ValueError, match=r"pixel values as large as .*variance over the images "
                       r"overflows float64.*Rescale X first"):
        est.partial_fit(X16[:5] * 1e155)
    after = dict(vars(est))
    assert all(after[key] is before[key] for key in before)
    np.testing.assert_array_equal(est.transform(X16), expected)
    assert est.n_samples_seen_ == 30


KERNEL_CTRL_C = """
import os, signal, sys, threading
import numpy as np
from quboclf import RandomConvFeatures

# Python's own Ctrl-C handler, as at a terminal: a shell starting a job in the background hands it
# SIGINT ignored, which this process (and the test) would otherwise inherit
signal.signal(signal.SIGINT, signal.default_int_handler)
X = np.random.default_rng(0).random((6000, 28, 28))
features = RandomConvFeatures(random_state=0).fit(X[:10])
features.transform(X[:10])  # compiled
# SIGINT from another thread while the nogil kernel runs: numba's dispatcher used to turn
# the KeyboardInterrupt into "SystemError: ... returned a result with an exception set"
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    for _ in range(50):
        features.transform(X)
    print("not interrupted")
except BaseException as exc:
    print(type(exc).__name__)
"""


@pytest.mark.slow
def test_ctrl_c_during_the_convolution_is_a_keyboard_interrupt():
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-c", KERNEL_CTRL_C], capture_output=True, text=True, timeout=300
        )
        assert proc.stdout.strip() == "KeyboardInterrupt", proc.stdout + proc.stderr
