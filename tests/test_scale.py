"""Data larger than memory: chunked feature fitting, features on disk, memmap input.

The speed and the flat peak memory at 1x/4x/16x Fashion-MNIST are measured by
``benchmarks/bench_scale.py``; these tests pin the mechanics: chunked and one-shot fits agree,
features on disk give the very model features in memory give, nothing the size of the data is
allocated, and the temporary file never outlives ``fit``.
"""

import errno
import tracemalloc

import numpy as np
import pytest
from sklearn.datasets import load_digits

import quboclf._head as head_module
import quboclf._store as store_module
import quboclf._streaming as streaming_module
from quboclf import QUBOCNNClassifier, RandomConvFeatures
from quboclf._store import DiskRows, rows

SA_FAST = {"num_reads": 1, "num_sweeps": 20}

# the fits here are cut short on purpose
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


def _memmap(tmp_path, array, name="X.dat"):
    mm = np.lib.format.open_memmap(tmp_path / name, mode="w+", dtype=array.dtype, shape=array.shape)
    mm[:] = array
    mm.flush()
    return np.load(tmp_path / name, mmap_mode="r")


def _small_clf(**params):
    base = {
        "features": RandomConvFeatures(n_filters=4, pool_grid=3, random_state=0),
        "n_bits": 6,
        "max_iter": 5,
        "sampler_params": SA_FAST,
        "random_state": 0,
    }
    return QUBOCNNClassifier(**{**base, **params})


class _Recorder:
    """Wraps :class:`DiskRows` to see every store ``fit`` makes."""

    def __init__(self, monkeypatch):
        self.stores = []
        recorder = self

        class Recording(DiskRows):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                recorder.stores.append(self)

        monkeypatch.setattr(streaming_module, "DiskRows", Recording)


# ---------------------------------------------------------------------------------------------
# RandomConvFeatures.partial_fit


@pytest.mark.parametrize("splits", [[1797], [1, 1796], [500, 500, 797], [7] * 256 + [5]])
def test_partial_fit_matches_fit(digits, splits):
    X, _ = digits
    at_once = RandomConvFeatures(random_state=0).fit(X)
    streamed = RandomConvFeatures(random_state=0)
    for chunk in np.split(X, np.cumsum(splits)[:-1]):
        streamed.partial_fit(chunk)
    assert streamed.n_samples_seen_ == at_once.n_samples_seen_ == len(X)
    np.testing.assert_array_equal(streamed.filters_, at_once.filters_)
    np.testing.assert_allclose(streamed.mean_, at_once.mean_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(streamed.var_, at_once.var_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(streamed.scale_, at_once.scale_, rtol=1e-9)
    np.testing.assert_allclose(streamed.transform(X), at_once.transform(X), atol=1e-9)


def test_fit_after_partial_fit_starts_over(digits):
    X, _ = digits
    est = RandomConvFeatures(random_state=0).partial_fit(X[:100]).partial_fit(X[100:300])
    assert est.n_samples_seen_ == 300
    est.fit(X[:50])
    assert est.n_samples_seen_ == 50
    np.testing.assert_allclose(est.mean_, RandomConvFeatures(random_state=0).fit(X[:50]).mean_)


def test_partial_fit_bad_chunk_changes_nothing(digits):
    X, _ = digits
    est = RandomConvFeatures(random_state=0).partial_fit(X[:100])
    before = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in vars(est).items()}
    with pytest.raises(ValueError, match="X has 16 features"):
        est.partial_fit(X[:10, :16])
    bad = X[100:110].copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(bad)
    for key, value in before.items():
        np.testing.assert_array_equal(getattr(est, key), value)


# ---------------------------------------------------------------------------------------------
# DiskRows


def test_disk_rows_round_trip(tmp_path):
    data = np.random.default_rng(0).normal(size=(37, 5)).astype(np.float32)
    with DiskRows(data.shape, np.float32, tmp_path) as store:
        for start in range(0, 37, 8):
            store[start : start + 8] = data[start : start + 8]
        assert list(tmp_path.iterdir()) == []  # anonymous: nothing on disk to trust or leak
        np.testing.assert_array_equal(store[:], data)
        np.testing.assert_array_equal(store[5:9], data[5:9])
        np.testing.assert_array_equal(store[np.array([36, 0, 7, -1])], data[[36, 0, 7, -1]])
        assert store[40:50].shape == (0, 5)
        np.testing.assert_array_equal(rows(store, slice(0, 3)), data[:3])
        with pytest.raises(TypeError, match="read a chunk at a time"):
            np.asarray(store)
        with pytest.raises(IndexError, match="out of range"):
            store[np.array([37])]
        with pytest.raises(IndexError, match="step 1"):
            store[::2]
        with pytest.raises(ValueError, match="shape"):
            store[0:2] = data[:3]
    assert store._file is None


def test_rows_converts_integers_a_chunk_at_a_time():
    Z = np.arange(12, dtype=np.uint8).reshape(4, 3)
    assert rows(Z, slice(0, 2)).dtype == np.float64
    assert rows(Z.astype(np.float32), slice(0, 2)).dtype == np.float32


def test_disk_rows_no_room_and_missing_folder(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="not an existing folder"):
        DiskRows((10, 2), np.float64, tmp_path / "nope")

    class Usage:
        free = 100

    monkeypatch.setattr(store_module.shutil, "disk_usage", lambda folder: Usage)
    with pytest.raises(OSError, match=r"need 0\.1 MiB and 0\.0 MiB are free.*temp_folder=") as info:
        DiskRows((1000, 10), np.float64, tmp_path)
    assert info.value.errno == errno.ENOSPC


# ---------------------------------------------------------------------------------------------
# QUBOCNNClassifier on memmaps


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_memmap_fit_on_disk_equals_in_memory_fit(digits, tmp_path, monkeypatch, dtype):
    X, y = digits
    images = (X * 15).astype(dtype).reshape(-1, 8, 8)
    mm = _memmap(tmp_path, images)
    recorder = _Recorder(monkeypatch)
    on_disk = _small_clf(batch_size=100, feature_cache="disk", temp_folder=tmp_path).fit(mm, y)
    in_memory = _small_clf(batch_size=100, feature_cache="memory").fit(images, y)
    assert len(recorder.stores) == 1 and recorder.stores[0]._file is None  # deleted after fit
    assert recorder.stores[0].dtype == np.float32  # the classifier stores float32 features
    np.testing.assert_array_equal(on_disk.coef_, in_memory.coef_)
    np.testing.assert_array_equal(on_disk.intercept_, in_memory.intercept_)
    np.testing.assert_array_equal(on_disk.loss_curve_, in_memory.loss_curve_)
    np.testing.assert_array_equal(on_disk.predict_proba(mm), in_memory.predict_proba(images))
    assert on_disk.score(mm, y) > 0.9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.dat"]


def test_chunk_size_changes_only_rounding(digits):
    X, y = digits
    a = _small_clf(batch_size=None).fit(X, y)
    b = _small_clf(batch_size=37).fit(X, y)
    # the features are float32: chunked sums differ by ~1e-7, which can change which grid
    # steps are taken, not where the fit ends
    np.testing.assert_allclose(a.loss_curve_[0], b.loss_curve_[0], rtol=1e-3)
    np.testing.assert_allclose(a.loss_curve_[-1], b.loss_curve_[-1], rtol=1e-2)
    assert np.mean(a.predict(X) == b.predict(X)) > 0.98
    np.testing.assert_allclose(
        a.decision_function(X), _small_clf(batch_size=None).fit(X, y).decision_function(X)
    )
    chunked = a.set_params(batch_size=10).decision_function(X)
    np.testing.assert_allclose(chunked, a.set_params(batch_size=None).decision_function(X))


def test_auto_cache_goes_to_disk_for_big_memmaps_only(digits, tmp_path, monkeypatch):
    X, y = digits
    mm = _memmap(tmp_path, X.astype(np.float32))
    recorder = _Recorder(monkeypatch)
    _small_clf(max_iter=1).fit(mm, y)  # 0.5 MB: stays in memory
    _small_clf(max_iter=1).fit(X, y)
    assert recorder.stores == []
    monkeypatch.setattr(streaming_module, "AUTO_DISK_BYTES", mm.nbytes - 1)
    _small_clf(max_iter=1).fit(mm, y)
    _small_clf(max_iter=1, feature_cache="memory").fit(mm, y)
    _small_clf(max_iter=1, features="passthrough", feature_cache="disk").fit(mm, y)
    assert len(recorder.stores) == 1  # passthrough reads X's own chunks, needs no store


def test_failed_fit_deletes_the_feature_file(digits, tmp_path, monkeypatch):
    X, y = digits
    recorder = _Recorder(monkeypatch)
    clf = _small_clf(feature_cache="disk", temp_folder=tmp_path, sampler="not-a-sampler")
    with pytest.raises(ValueError, match="sampler"):
        clf.fit(X, y)
    assert recorder.stores == []  # rejected before any work

    def boom(*args, **kwargs):
        raise RuntimeError("sampler lost its connection")

    clf = _small_clf(feature_cache="disk", temp_folder=tmp_path)
    monkeypatch.setattr(head_module, "grid_descent", boom)
    with pytest.raises(RuntimeError, match="lost its connection"):
        clf.fit(X, y)
    assert len(recorder.stores) == 1 and recorder.stores[0]._file is None
    assert not hasattr(clf, "coef_")
    assert list(tmp_path.iterdir()) == []


def test_disk_cache_errors_leave_the_model(digits, tmp_path, monkeypatch):
    X, y = digits
    clf = _small_clf(max_iter=1).fit(X, y)
    coef = clf.coef_
    clf.set_params(feature_cache="disk", temp_folder=tmp_path / "missing")
    with pytest.raises(ValueError, match="temp_folder=.*not an existing folder"):
        clf.fit(X, y)
    assert clf.coef_ is coef

    class Usage:
        free = 1000

    monkeypatch.setattr(store_module.shutil, "disk_usage", lambda folder: Usage)
    clf.set_params(temp_folder=tmp_path)
    with pytest.raises(OSError, match="Not enough free disk space"):
        clf.fit(X, y)
    assert clf.coef_ is coef


def _peak_fit_bytes(path, n, params):
    """Peak bytes NumPy and Python allocate in a disk-cached fit on ``n`` rows of a memmap."""
    mm = np.load(path, mmap_mode="r")[:n]
    y = np.load(str(path).replace("X", "y"))[:n]
    clf = QUBOCNNClassifier(**params)
    tracemalloc.start()
    try:
        clf.fit(mm, y)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("features", ["default", "passthrough"])
def test_peak_memory_does_not_grow_with_n(tmp_path, features):
    # 8x8 images: the default features (600 per image) are 75x larger than the images, so a
    # fit that held them, or converted X whole, would show it at once
    rng = np.random.default_rng(0)
    n = 40_000
    y = rng.integers(0, 3, size=n)
    centers = rng.uniform(0, 200, size=(3, 64))
    X = np.clip(centers[y] + rng.normal(0, 40, size=(n, 64)), 0, 255).astype(np.uint8)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    params = {
        "features": "passthrough" if features == "passthrough" else None,
        "n_bits": 4,
        "max_iter": 2,
        "sampler_params": SA_FAST,
        "batch_size": 1000,
        "feature_cache": "disk",
        "temp_folder": tmp_path,
        "random_state": 0,
    }
    small = _peak_fit_bytes(tmp_path / "X.npy", n // 4, params)
    large = _peak_fit_bytes(tmp_path / "X.npy", n, params)
    # what may grow: the labels and a few per-row arrays (int64 or (n, C) floats); the fixed
    # costs (d² C curvature blocks, factors) also differ by a few MB between fits whose sweeps
    # take different paths. Holding anything of X or Z would add at least one byte per entry.
    if features == "default":
        assert large - small < 0.5 * (n - n // 4) * 600, (small, large)
    else:
        labels = 4 * 8 * (n - n // 4)
        assert large - small < labels + 2**20, (small, large)
    if features == "default":
        # fixed costs: a chunk, the C curvature blocks and preconditioner factors (d² C) and
        # the 8192-row float32 subsample they, and the scales, are computed from (20 MB); below
        # the float32 features (96 MB here)
        assert large < 0.4 * n * 600 * 8
    else:
        assert large < 0.5 * n * 64 * 8  # half of X converted to float64


@pytest.mark.parametrize(
    "features, match",
    [
        (RandomConvFeatures(n_filters=0), "'n_filters' parameter of RandomConvFeatures"),
        (RandomConvFeatures(activation="bogus"), "'activation' parameter of RandomConvFeatures"),
        (RandomConvFeatures(kernel_size=(1, 2, 3)), "kernel_size must be a positive int"),
    ],
)
def test_streamed_features_check_their_parameters(digits, features, match):
    # the classifier streams RandomConvFeatures without calling its fit: same checks
    X, y = digits
    with pytest.raises(ValueError, match=match):
        _small_clf(features=features).fit(X, y)
