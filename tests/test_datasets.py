"""Tests of quboclf.datasets: the IDX reader, the fetchers on synthetic files, downloads with a
fake opener, error messages, and the real Fashion-MNIST files where Debian installed them.

No test touches the network: an autouse fixture lets ``urlopen`` open ``file://`` URLs only.
"""

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import re
import struct
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from quboclf import datasets as qds
from quboclf.datasets import (
    DataIntegrityError,
    _base,
    _cifar,
    _fetchers,
    fetch_cifar10,
    fetch_emnist,
    fetch_fashion_mnist,
    fetch_kmnist,
    fetch_mnist,
    get_data_home,
    load_idx,
)

TYPE_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}
REAL_FASHION = "/usr/share/datasets/fashion-mnist"


def idx_bytes(array, type_code=None):
    array = np.asarray(array)
    if type_code is None:
        type_code = TYPE_CODES[array.dtype.type]
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, payload, gz=False):
    path = str(path)
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        with open(path, "wb") as f:
            f.write(payload)
    return path


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Only file:// URLs may be opened; anything else fails as an unreachable network would."""
    real = urllib.request.urlopen
    calls = []

    def guarded(url, *args, **kwargs):
        calls.append(url)
        if not str(url).startswith("file://"):
            raise urllib.error.URLError("network disabled in tests")
        return real(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", guarded)
    return calls


# ---------------------------------------------------------------------------------------------
# IDX reader
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("dtype", list(TYPE_CODES))
def test_load_idx_round_trip_every_type(tmp_path, dtype, gz):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        array = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True, dtype=dtype)
    else:
        array = rng.standard_normal((3, 4, 5)).astype(dtype)
    path = write(tmp_path / "a.idx", idx_bytes(array), gz=gz)
    out = load_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.flags.c_contiguous and out.flags.writeable
    np.testing.assert_array_equal(out, array)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    dtype=st.sampled_from(list(TYPE_CODES)),
    gz=st.booleans(),
)
def test_load_idx_property_shapes(tmp_path_factory, shape, dtype, gz):
    array = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    path = write(tmp_path_factory.mktemp("idx") / "p.idx", idx_bytes(array), gz=gz)
    out = load_idx(path)
    assert out.shape == tuple(shape)
    np.testing.assert_array_equal(out, array)


def test_load_idx_detects_gzip_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    path = write(tmp_path / "no-extension", idx_bytes(array), gz=True)
    np.testing.assert_array_equal(load_idx(path), array)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_load_idx_truncated_payload(tmp_path, gz):
    payload = idx_bytes(np.zeros((4, 3, 3), dtype=np.uint8))[:-5]
    path = write(tmp_path / "short-idx3-ubyte", payload, gz=gz)
    with pytest.raises(DataIntegrityError, match=r"(?s)short-idx3-ubyte.*truncated.*31 bytes"):
        load_idx(path)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_load_idx_trailing_bytes(tmp_path, gz):
    payload = idx_bytes(np.zeros((4,), dtype=np.int32)) + b"\x00\x01\x02"
    path = write(tmp_path / "long-idx1-int", payload, gz=gz)
    with pytest.raises(DataIntegrityError, match=r"long-idx1-int.*trailing bytes.*19 bytes"):
        load_idx(path)


def test_load_idx_truncated_gzip_stream(tmp_path):
    rng = np.random.default_rng(1)
    payload = idx_bytes(rng.integers(0, 256, (50, 28, 28), dtype=np.uint8))
    full = gzip.compress(payload)
    path = write(tmp_path / "cut.gz", full[: len(full) // 2])
    with pytest.raises(DataIntegrityError, match=r"cut\.gz.*not a valid gzip stream"):
        load_idx(path)


def test_load_idx_corrupted_gzip_stream(tmp_path):
    full = bytearray(gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32))))
    full[20:30] = b"\xff" * 10
    path = write(tmp_path / "bad.gz", bytes(full))
    with pytest.raises(DataIntegrityError, match=r"bad\.gz"):
        load_idx(path)


@pytest.mark.parametrize(
    "header",
    [
        b"\x01\x00\x08\x01",  # non-zero first byte
        b"\x00\x00\x07\x01",  # unknown type code
        b"\x00\x00\x0a\x01",  # unknown type code
        b"PK\x03\x04",  # a zip file
    ],
)
def test_load_idx_bad_magic(tmp_path, header):
    path = write(tmp_path / "magic.idx", header + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DataIntegrityError, match=r"magic\.idx.*bad magic number"):
        load_idx(path)


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"", "too short"),
        (b"\x00\x00", "too short"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03" + struct.pack(">II", 2, 2), "inside the dimension list"),
        # Dimensions that do not match the payload: 2x3 declared, 2x2 stored.
        (b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + bytes(4), "truncated"),
        (b"\x00\x00\x08\x02" + struct.pack(">II", 2, 1) + bytes(4), "trailing bytes"),
    ],
)
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_load_idx_bad_header(tmp_path, payload, match, gz):
    path = write(tmp_path / "hdr.idx", payload, gz=gz)
    with pytest.raises(DataIntegrityError, match=match):
        load_idx(path)


def test_load_idx_absurd_dimensions_do_not_allocate(tmp_path):
    header = b"\x00\x00\x0e\x04" + struct.pack(">IIII", *(2**32 - 1,) * 4)
    path = write(tmp_path / "huge.gz", header + bytes(8), gz=True)
    with pytest.raises(DataIntegrityError, match="huge.gz"):
        load_idx(path)


def test_load_idx_error_is_oserror_and_valueerror(tmp_path):
    path = write(tmp_path / "x", b"garbage!")
    with pytest.raises(OSError):
        load_idx(path)
    with pytest.raises(ValueError):
        load_idx(path)


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "absent")


# ---------------------------------------------------------------------------------------------
# A fake data home with small synthetic files
# ---------------------------------------------------------------------------------------------

N_TRAIN, N_TEST = 6, 4


@pytest.fixture
def system_dir(tmp_path, monkeypatch):
    """Replace the system folders by one empty temporary folder (hides /usr/share/datasets)."""
    folder = tmp_path / "system"
    folder.mkdir()
    monkeypatch.setattr(_base, "SYSTEM_DIRS", (str(folder),))
    return folder


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.delenv("QUBOCLF_DATA", raising=False)
    return home


def synthetic_idx(spec, seed=0):
    """Small random images and labels for every file of ``spec``: {name: decompressed bytes}."""
    rng = np.random.default_rng(seed)
    lo, hi = spec.label_range
    files = {}
    arrays = {}
    for part, n in (("train", N_TRAIN), ("test", N_TEST)):
        images_file, labels_file = spec.files[part]
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(lo, hi, n, endpoint=True).astype(np.uint8)
        files[images_file.name] = idx_bytes(images)
        files[labels_file.name] = idx_bytes(labels)
        arrays[part] = (images, labels)
    return files, arrays


def small_spec(name, files, *, checksums=True, archive_sums=None, urls=None):
    """The real spec of ``name`` resized to the synthetic files, with their own checksums.

    This (patching the private SPECS table) is the only way to make synthetic files verify.
    """
    spec = _fetchers.SPECS[name]
    new_files = {}
    for part, n in (("train", N_TRAIN), ("test", N_TEST)):
        new_files[part] = tuple(
            dataclasses.replace(
                f,
                shape=(n,) + tuple(f.shape[1:]),
                checksum=("sha256", hashlib.sha256(files[f.name]).hexdigest())
                if checksums
                else None,
                archive_checksum=(archive_sums or {}).get(f.name),
            )
            for f in spec.files[part]
        )
    changes = {"files": new_files}
    if urls is not None:
        changes["urls"] = tuple(urls)
    return dataclasses.replace(spec, **changes)


def install(folder, files, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in files.items():
        write(folder / (name + (".gz" if gz else "")), payload, gz=gz)


FETCHERS = [
    (fetch_mnist, "mnist", {}),
    (fetch_fashion_mnist, "fashion-mnist", {}),
    (fetch_kmnist, "kmnist", {}),
    (fetch_emnist, "emnist-balanced", {"split": "balanced"}),
    (fetch_emnist, "emnist-letters", {"split": "letters"}),
]


@pytest.mark.parametrize("fetch, name, kwargs", FETCHERS, ids=[f[1] for f in FETCHERS])
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_fetchers_read_synthetic_data_home(
    fetch, name, kwargs, gz, data_home, system_dir, monkeypatch
):
    spec = _fetchers.SPECS[name]
    files, arrays = synthetic_idx(spec)
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    install(data_home / spec.key, files, gz=gz)

    train = fetch(data_home=data_home, **kwargs)
    images, labels = arrays["train"]
    expected = images.transpose(0, 2, 1) if spec.transpose else images
    assert train.images.dtype == np.uint8 and train.images.shape == (N_TRAIN, 28, 28)
    np.testing.assert_array_equal(train.images, expected)
    np.testing.assert_array_equal(train.data, expected.reshape(N_TRAIN, 784))
    assert np.shares_memory(train.data, train.images)
    assert train.target.dtype == np.int64
    np.testing.assert_array_equal(train.target, labels)
    assert train.split_index == N_TRAIN and train.subset == "train"
    assert len(train.feature_names) == 784 and train.feature_names[29] == "pixel_1_1"
    assert list(train.target_names) == list(spec.target_names)
    assert spec.title.split(" ")[0] in train.DESCR

    test = fetch(data_home=data_home, subset="test", **kwargs)
    assert test.split_index == 0 and test.data.shape == (N_TEST, 784)

    both = fetch(data_home=data_home, subset="all", **kwargs)
    assert both.split_index == N_TRAIN and both.data.shape == (N_TRAIN + N_TEST, 784)
    np.testing.assert_array_equal(both.data[:N_TRAIN], train.data)
    np.testing.assert_array_equal(both.data[N_TRAIN:], test.data)
    np.testing.assert_array_equal(both.target, np.concatenate([train.target, test.target]))

    X, y = fetch(data_home=data_home, subset="all", return_X_y=True, **kwargs)
    np.testing.assert_array_equal(X, both.data)
    np.testing.assert_array_equal(y, both.target)

    flt = fetch(data_home=data_home, as_float=True, **kwargs)
    assert flt.data.dtype == np.float32 and flt.images.dtype == np.float32
    np.testing.assert_allclose(flt.data, train.data / 255.0, rtol=1e-6)
    assert 0.0 <= flt.data.min() and flt.data.max() <= 1.0


def test_emnist_letters_labels_index_target_names(data_home, system_dir, monkeypatch):
    name = "emnist-letters"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    install(data_home / "emnist", files)
    bunch = fetch_emnist(split="letters", data_home=data_home)
    assert bunch.target.min() >= 1 and bunch.target.max() <= 26
    assert bunch.target_names[0] == "N/A" and bunch.target_names[1] == "a"
    assert len(bunch.target_names) == 27


def test_real_specs_match_published_sizes():
    sizes = {
        name: (spec.files["train"][0].shape[0], spec.files["test"][0].shape[0])
        for name, spec in _fetchers.SPECS.items()
    }
    assert sizes["mnist"] == sizes["fashion-mnist"] == sizes["kmnist"] == (60_000, 10_000)
    assert sizes["emnist-balanced"] == (112_800, 18_800)
    assert sizes["emnist-byclass"] == sizes["emnist-bymerge"] == (697_932, 116_323)
    assert sizes["emnist-letters"] == (124_800, 20_800)
    assert sizes["emnist-digits"] == (240_000, 40_000)
    assert len(_fetchers.SPECS["emnist-balanced"].target_names) == 47
    assert len(_fetchers.SPECS["emnist-byclass"].target_names) == 62
    for spec in _fetchers.SPECS.values():
        for part in ("train", "test"):
            images, labels = spec.files[part]
            assert images.shape[1:] == (28, 28) and labels.shape == (images.shape[0],)


def test_system_folder_is_searched_after_data_home(data_home, system_dir, monkeypatch):
    name = "fashion-mnist"
    files, arrays = synthetic_idx(_fetchers.SPECS[name], seed=1)
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    install(system_dir / "fashion-mnist", files)
    bunch = fetch_fashion_mnist(data_home=data_home, download_if_missing=False)
    np.testing.assert_array_equal(bunch.target, arrays["train"][1])
    assert not data_home.exists()  # reading needs no writable data home

    # The data home wins over the system folder.
    other, other_arrays = synthetic_idx(_fetchers.SPECS[name], seed=2)
    both = {k: v for k, v in files.items()}
    both.update(other)
    spec = small_spec(name, other)
    monkeypatch.setitem(_fetchers.SPECS, name, spec)
    install(data_home / "fashion-mnist", other)
    bunch = fetch_fashion_mnist(data_home=data_home, download_if_missing=False)
    np.testing.assert_array_equal(bunch.target, other_arrays["train"][1])


def test_data_home_from_environment(tmp_path, system_dir, monkeypatch):
    name = "mnist"
    files, arrays = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    install(tmp_path / "env_home" / "mnist", files)
    monkeypatch.setenv("QUBOCLF_DATA", str(tmp_path / "env_home"))
    np.testing.assert_array_equal(fetch_mnist().target, arrays["train"][1])


def test_checksum_mismatch_on_local_file(data_home, system_dir, monkeypatch):
    name = "fashion-mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    tampered = dict(files)
    payload = bytearray(files["train-images-idx3-ubyte"])
    payload[100] ^= 0xFF  # one pixel changed: structure intact, checksum wrong
    tampered["train-images-idx3-ubyte"] = bytes(payload)
    install(data_home / "fashion-mnist", tampered)
    with pytest.raises(DataIntegrityError, match=r"(?s)Checksum mismatch.*train-images-idx3"):
        fetch_fashion_mnist(data_home=data_home)


def test_real_checksums_reject_synthetic_files(data_home, system_dir, monkeypatch):
    # Without patching the checksums, synthetic files of the right size cannot pass.
    name = "fashion-mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    spec = small_spec(name, files)
    real = _fetchers.SPECS[name]
    spec = dataclasses.replace(
        spec,
        files={
            part: tuple(
                dataclasses.replace(f, checksum=g.checksum)
                for f, g in zip(spec.files[part], real.files[part])
            )
            for part in ("train", "test")
        },
    )
    monkeypatch.setitem(_fetchers.SPECS, name, spec)
    install(data_home / "fashion-mnist", files)
    with pytest.raises(DataIntegrityError, match="Checksum mismatch"):
        fetch_fashion_mnist(data_home=data_home)


def test_wrong_sample_count_is_an_error(data_home, system_dir, monkeypatch):
    name = "mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files, checksums=False))
    files = dict(files)
    files["train-labels-idx1-ubyte"] = idx_bytes(np.zeros(N_TRAIN - 1, dtype=np.uint8))
    install(data_home / "mnist", files)
    with pytest.raises(DataIntegrityError, match=r"(?s)train-labels-idx1-ubyte.*shape \(5,\)"):
        fetch_mnist(data_home=data_home)


def test_wrong_image_size_or_dtype_is_an_error(data_home, system_dir, monkeypatch):
    name = "mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files, checksums=False))
    files = dict(files)
    files["train-images-idx3-ubyte"] = idx_bytes(np.zeros((N_TRAIN, 28, 28), dtype=np.int32))
    install(data_home / "mnist", files)
    with pytest.raises(DataIntegrityError, match="dtype int32"):
        fetch_mnist(data_home=data_home)


def test_label_out_of_range_is_an_error(data_home, system_dir, monkeypatch):
    name = "kmnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files, checksums=False))
    files = dict(files)
    files["t10k-labels-idx1-ubyte"] = idx_bytes(np.array([0, 1, 2, 10], dtype=np.uint8))
    install(data_home / "kmnist", files)
    with pytest.raises(DataIntegrityError, match=r"t10k-labels.*labels from 0 to 10"):
        fetch_kmnist(data_home=data_home, subset="test")


def test_truncated_local_file_is_an_error_not_a_short_array(data_home, system_dir, monkeypatch):
    name = "mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    install(data_home / "mnist", files)
    path = data_home / "mnist" / "train-images-idx3-ubyte.gz"
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataIntegrityError, match="train-images-idx3-ubyte.gz"):
        fetch_mnist(data_home=data_home)


# ---------------------------------------------------------------------------------------------
# Missing data
# ---------------------------------------------------------------------------------------------


def test_missing_fashion_mnist_says_what_to_install(data_home, system_dir, no_network):
    with pytest.raises(FileNotFoundError) as info:
        fetch_fashion_mnist(data_home=data_home)
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(data_home / "fashion-mnist" / "train-images-idx3-ubyte.gz") in message
    assert str(system_dir / "fashion-mnist" / "train-images-idx3-ubyte") in message
    assert "network disabled in tests" in message  # the download error is reported
    assert "fashion-mnist.s3-website" in message
    assert no_network, "a download should have been attempted"
    assert not list((data_home / "fashion-mnist").iterdir())  # nothing left behind


@pytest.mark.parametrize(
    "fetch, kwargs",
    [
        (fetch_mnist, {}),
        (fetch_fashion_mnist, {}),
        (fetch_kmnist, {}),
        (fetch_emnist, {"split": "digits"}),
        (fetch_cifar10, {}),
    ],
)
def test_no_download_if_missing_false(fetch, kwargs, data_home, system_dir, no_network):
    with pytest.raises(FileNotFoundError, match=r"(?s)Searched.*download_if_missing=False"):
        fetch(data_home=data_home, download_if_missing=False, **kwargs)
    assert no_network == []
    assert not data_home.exists()


def test_emnist_missing_names_the_archive(data_home, system_dir):
    with pytest.raises(FileNotFoundError) as info:
        fetch_emnist(data_home=data_home)
    message = str(info.value)
    assert "emnist-balanced-train-images-idx3-ubyte" in message
    assert str(data_home / "emnist" / "gzip.zip") in message
    assert "put NIST's gzip.zip" in message and "biometrics.nist.gov" in message


def test_invalid_parameters():
    with pytest.raises(InvalidParameterError, match="subset"):
        fetch_mnist(subset="validation")
    with pytest.raises(InvalidParameterError, match="split"):
        fetch_emnist(split="balance")
    with pytest.raises(InvalidParameterError, match="as_float"):
        fetch_cifar10(as_float="yes")


def test_get_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("QUBOCLF_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")
    assert (tmp_path / "from_env").is_dir()
    assert get_data_home(tmp_path / "explicit") == str(tmp_path / "explicit")
    monkeypatch.delenv("QUBOCLF_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert get_data_home() == str(tmp_path / "user" / "quboclf_data")


# ---------------------------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------------------------


def serve(folder, files):
    """Write gzip files into ``folder`` (the 'server'); return their MD5s and the base URL."""
    folder.mkdir(parents=True, exist_ok=True)
    md5s = {}
    for name, payload in files.items():
        blob = gzip.compress(payload, mtime=0)
        (folder / (name + ".gz")).write_bytes(blob)
        md5s[name] = ("md5", hashlib.md5(blob).hexdigest())
    return md5s, folder.as_uri() + "/"


def test_download_success_then_cached(tmp_path, data_home, system_dir, monkeypatch, no_network):
    name = "kmnist"
    files, arrays = synthetic_idx(_fetchers.SPECS[name])
    md5s, url = serve(tmp_path / "server", files)
    spec = small_spec(name, files, archive_sums=md5s, urls=["https://unreachable.invalid/", url])
    monkeypatch.setitem(_fetchers.SPECS, name, spec)

    both = fetch_kmnist(data_home=data_home, subset="all")
    np.testing.assert_array_equal(both.target[:N_TRAIN], arrays["train"][1])
    stored = sorted(p.name for p in (data_home / "kmnist").iterdir())
    assert stored == sorted(n + ".gz" for n in files)  # and no temporary files
    assert any(u.startswith("https://unreachable") for u in no_network)  # mirror fallback

    no_network.clear()
    fetch_kmnist(data_home=data_home, subset="all")
    assert no_network == []  # second call reads the data home


def test_download_archive_checksum_mismatch(tmp_path, data_home, system_dir, monkeypatch):
    name = "mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    md5s, url = serve(tmp_path / "server", files)
    md5s["train-images-idx3-ubyte"] = ("md5", "0" * 32)
    monkeypatch.setitem(
        _fetchers.SPECS, name, small_spec(name, files, archive_sums=md5s, urls=[url])
    )
    with pytest.raises(DataIntegrityError, match=r"(?s)Checksum mismatch.*train-images"):
        fetch_mnist(data_home=data_home)
    assert not any("train-images" in p.name for p in (data_home / "mnist").iterdir())


def test_download_payload_checksum_mismatch(tmp_path, data_home, system_dir, monkeypatch):
    name = "fashion-mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    served = dict(files)
    served["train-labels-idx1-ubyte"] = idx_bytes(np.ones(N_TRAIN, dtype=np.uint8))
    _, url = serve(tmp_path / "server", served)
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files, urls=[url]))
    with pytest.raises(DataIntegrityError, match=r"(?s)Checksum mismatch.*decompressed"):
        fetch_fashion_mnist(data_home=data_home)
    assert not (data_home / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()
    assert not [p for p in (data_home / "fashion-mnist").iterdir() if p.name.startswith(".")]


class _Response:
    """A fake HTTP response that sends ``blob`` and breaks after ``cut`` bytes."""

    def __init__(self, blob, cut=None, length=None, error=ConnectionResetError):
        self._stream = io.BytesIO(blob)
        self._cut = cut
        self._error = error
        self.headers = {"Content-Length": str(len(blob) if length is None else length)}

    def read(self, n=-1):
        if self._cut is not None and self._stream.tell() >= self._cut:
            raise self._error("connection lost")
        limit = n if self._cut is None else min(n, self._cut - self._stream.tell())
        return self._stream.read(limit)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize(
    "make_response",
    [
        pytest.param(lambda blob: _Response(blob, cut=len(blob) // 2), id="reset-halfway"),
        pytest.param(
            lambda blob: _Response(blob[: len(blob) // 2], length=len(blob)), id="short-read"
        ),
        pytest.param(
            lambda blob: _Response(blob, cut=len(blob) // 2, error=TimeoutError), id="timeout"
        ),
    ],
)
def test_interrupted_download_leaves_no_partial_file(
    make_response, data_home, system_dir, monkeypatch
):
    name = "mnist"
    files, arrays = synthetic_idx(_fetchers.SPECS[name])
    blobs = {n + ".gz": gzip.compress(p, mtime=0) for n, p in files.items()}
    md5s = {n: ("md5", hashlib.md5(blobs[n + ".gz"]).hexdigest()) for n in files}
    spec = small_spec(name, files, archive_sums=md5s, urls=["https://mirror.example/"])
    monkeypatch.setitem(_fetchers.SPECS, name, spec)
    seen = []

    def opener(url, timeout=None):
        seen.append(url)
        return make_response(blobs[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(urllib.request, "urlopen", opener)
    with pytest.raises(FileNotFoundError, match=r"(?s)Downloading failed.*mirror\.example"):
        fetch_mnist(data_home=data_home)
    assert seen
    assert list((data_home / "mnist").iterdir()) == []

    # The same server, now working: the next call downloads and verifies everything.
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda url, timeout=None: _Response(blobs[url.rsplit("/", 1)[1]])
    )
    np.testing.assert_array_equal(fetch_mnist(data_home=data_home).target, arrays["train"][1])


def test_download_interrupted_by_keyboard_leaves_no_partial_file(
    data_home, system_dir, monkeypatch
):
    name = "mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    blob = gzip.compress(files["train-images-idx3-ubyte"])
    spec = small_spec(name, files, urls=["https://mirror.example/"])
    monkeypatch.setitem(_fetchers.SPECS, name, spec)
    monkeypatch.setattr(
        urllib.request,
        "urlopen",
        lambda url, timeout=None: _Response(blob, cut=100, error=KeyboardInterrupt),
    )
    with pytest.raises(KeyboardInterrupt):
        fetch_mnist(data_home=data_home)
    assert list((data_home / "mnist").iterdir()) == []


# ---------------------------------------------------------------------------------------------
# EMNIST's zip archive
# ---------------------------------------------------------------------------------------------


def emnist_zip(path, files, omit=()):
    with zipfile.ZipFile(path, "w") as zf:
        for name, payload in files.items():
            if name not in omit:
                zf.writestr("gzip/" + name + ".gz", gzip.compress(payload))
    return path


def test_emnist_extracts_from_local_zip(tmp_path, data_home, system_dir, monkeypatch):
    name = "emnist-balanced"
    files, arrays = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    (system_dir / "emnist").mkdir()
    emnist_zip(system_dir / "emnist" / "gzip.zip", files)
    bunch = fetch_emnist(data_home=data_home, subset="test", download_if_missing=False)
    np.testing.assert_array_equal(bunch.images, arrays["test"][0].transpose(0, 2, 1))
    extracted = sorted(p.name for p in (data_home / "emnist").iterdir())
    assert extracted == [
        "emnist-balanced-test-images-idx3-ubyte.gz",
        "emnist-balanced-test-labels-idx1-ubyte.gz",
    ]


def test_emnist_zip_missing_member(tmp_path, data_home, system_dir, monkeypatch):
    name = "emnist-balanced"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    (data_home / "emnist").mkdir(parents=True)
    omit = {"emnist-balanced-train-labels-idx1-ubyte"}
    emnist_zip(data_home / "emnist" / "gzip.zip", files, omit=omit)
    with pytest.raises(DataIntegrityError, match=r"gzip\.zip.*no member.*train-labels"):
        fetch_emnist(data_home=data_home)


def test_emnist_downloads_zip(tmp_path, data_home, system_dir, monkeypatch):
    name = "emnist-mnist"
    files, arrays = synthetic_idx(_fetchers.SPECS[name])
    server = tmp_path / "server"
    server.mkdir()
    zpath = emnist_zip(server / "gzip.zip", files)
    archive = dataclasses.replace(
        _fetchers.SPECS[name].archive,
        urls=(zpath.as_uri(),),
        checksum=("md5", hashlib.md5(zpath.read_bytes()).hexdigest()),
    )
    spec = dataclasses.replace(small_spec(name, files), archive=archive)
    monkeypatch.setitem(_fetchers.SPECS, name, spec)
    bunch = fetch_emnist(split="mnist", data_home=data_home, subset="all")
    np.testing.assert_array_equal(bunch.target[N_TRAIN:], arrays["test"][1])
    assert (data_home / "emnist" / "gzip.zip").is_file()

    # A corrupted download is rejected and not kept.
    (data_home / "emnist" / "gzip.zip").unlink()
    for p in (data_home / "emnist").iterdir():
        p.unlink()
    bad = dataclasses.replace(archive, checksum=("md5", "f" * 32))
    monkeypatch.setitem(_fetchers.SPECS, name, dataclasses.replace(spec, archive=bad))
    with pytest.raises(DataIntegrityError, match="Checksum mismatch"):
        fetch_emnist(split="mnist", data_home=data_home)
    assert list((data_home / "emnist").iterdir()) == []


# ---------------------------------------------------------------------------------------------
# CIFAR-10
# ---------------------------------------------------------------------------------------------

CIFAR_BATCH = 3


def cifar_batches(seed=0):
    """Synthetic python batches as the official files are laid out; {name: (data, labels)}."""
    rng = np.random.default_rng(seed)
    spec = _cifar.SPEC
    names = spec.batches["train"] + spec.batches["test"]
    return {
        name: (
            rng.integers(0, 256, (CIFAR_BATCH, 3072), dtype=np.uint8),
            [int(v) for v in rng.integers(0, 10, CIFAR_BATCH)],
        )
        for name in names
    }


def py_pickle(data, labels, name):
    return pickle.dumps(
        {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": []},
        protocol=2,
    )


@pytest.fixture
def small_cifar(monkeypatch):
    batches = cifar_batches()
    raws = {name: py_pickle(d, lab, name) for name, (d, lab) in batches.items()}
    spec = dataclasses.replace(
        _cifar.SPEC,
        batch_size=CIFAR_BATCH,
        checksums={name: ("md5", hashlib.md5(raw).hexdigest()) for name, raw in raws.items()},
    )
    monkeypatch.setattr(_cifar, "SPEC", spec)
    return batches, raws


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, raw in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def expected_cifar(batches, names):
    data = np.concatenate([batches[n][0] for n in names])
    labels = np.concatenate([batches[n][1] for n in names])
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


@pytest.mark.parametrize("form", ["py-tar", "py-dir", "bin-dir", "bin-tar"])
def test_cifar10_every_form(form, small_cifar, data_home, system_dir):
    batches, raws = small_cifar
    folder = data_home / "cifar-10"
    folder.mkdir(parents=True)
    bins = {
        n: bytes(np.column_stack([np.array(lab, np.uint8), d]).ravel())
        for n, (d, lab) in batches.items()
    }
    if form == "py-tar":
        make_tar(
            folder / "cifar-10-python.tar.gz",
            {f"cifar-10-batches-py/{n}": r for n, r in raws.items()},
        )
    elif form == "py-dir":
        (folder / "cifar-10-batches-py").mkdir()
        for n, r in raws.items():
            (folder / "cifar-10-batches-py" / n).write_bytes(r)
    elif form == "bin-dir":
        (folder / "cifar-10-batches-bin").mkdir()
        for n, r in bins.items():
            (folder / "cifar-10-batches-bin" / (n + ".bin")).write_bytes(r)
    else:
        make_tar(
            folder / "cifar-10-binary.tar.gz",
            {f"cifar-10-batches-bin/{n}.bin": r for n, r in bins.items()},
        )
    spec = _cifar.SPEC
    train = fetch_cifar10(data_home=data_home, download_if_missing=False)
    images, labels = expected_cifar(batches, spec.batches["train"])
    assert train.images.shape == (5 * CIFAR_BATCH, 32, 32, 3) and train.images.dtype == np.uint8
    np.testing.assert_array_equal(train.images, images)
    np.testing.assert_array_equal(train.target, labels)
    # Channel-last: pixel (0, 1) of image 0 is bytes 1, 1025 and 2049 of its stored row.
    row = batches["data_batch_1"][0][0]
    np.testing.assert_array_equal(train.images[0, 0, 1], row[[1, 1025, 2049]])
    np.testing.assert_array_equal(train.data, images.reshape(len(images), -1))
    assert train.data.shape[1] == 3072 and train.feature_names[:3] == [
        "pixel_0_0_r",
        "pixel_0_0_g",
        "pixel_0_0_b",
    ]
    assert train.target_names[0] == "airplane" and train.split_index == 5 * CIFAR_BATCH
    both = fetch_cifar10(data_home=data_home, subset="all", download_if_missing=False)
    assert both.split_index == 5 * CIFAR_BATCH and len(both.target) == 6 * CIFAR_BATCH
    test = fetch_cifar10(data_home=data_home, subset="test", return_X_y=True)
    np.testing.assert_array_equal(test[0], both.data[5 * CIFAR_BATCH :])


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_cifar10_refuses_pickled_code(small_cifar, data_home, system_dir, monkeypatch):
    _, raws = small_cifar
    raws = dict(raws)
    raws["data_batch_1"] = pickle.dumps({"data": _Evil(), "labels": []}, protocol=2)
    monkeypatch.setattr(_cifar, "SPEC", dataclasses.replace(_cifar.SPEC, checksums={}))
    folder = data_home / "cifar-10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for n, r in raws.items():
        (folder / n).write_bytes(r)
    ran = []
    monkeypatch.setattr(os, "system", lambda cmd: ran.append(cmd))
    with pytest.raises(DataIntegrityError, match=r"data_batch_1.*forbidden global"):
        fetch_cifar10(data_home=data_home)
    assert ran == []


def test_cifar10_checksum_and_structure_errors(small_cifar, data_home, system_dir, monkeypatch):
    batches, raws = small_cifar
    folder = data_home / "cifar-10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for n, r in raws.items():
        (folder / n).write_bytes(r)
    (folder / "data_batch_3").write_bytes(raws["data_batch_3"][:-10])
    with pytest.raises(DataIntegrityError, match=r"Checksum mismatch.*data_batch_3"):
        fetch_cifar10(data_home=data_home)
    # Without a checksum the truncated pickle is still caught.
    monkeypatch.setattr(_cifar, "SPEC", dataclasses.replace(_cifar.SPEC, checksums={}))
    with pytest.raises(DataIntegrityError, match="data_batch_3"):
        fetch_cifar10(data_home=data_home)
    # A batch of the wrong size.
    d, lab = batches["data_batch_3"]
    (folder / "data_batch_3").write_bytes(py_pickle(d[:2], lab[:2], "b"))
    with pytest.raises(DataIntegrityError, match=r"data_batch_3.*not a complete"):
        fetch_cifar10(data_home=data_home)
    # A batch missing from an extracted folder.
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataIntegrityError, match=r"data_batch_3.*missing"):
        fetch_cifar10(data_home=data_home)


def test_cifar10_truncated_binary_batch(small_cifar, data_home, system_dir):
    folder = data_home / "cifar-10" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    (folder / "test_batch.bin").write_bytes(bytes(3073 * CIFAR_BATCH - 1))
    with pytest.raises(DataIntegrityError, match=r"test_batch\.bin.*exactly 9219"):
        fetch_cifar10(data_home=data_home, subset="test")


def test_cifar10_truncated_tarball(small_cifar, data_home, system_dir):
    _, raws = small_cifar
    folder = data_home / "cifar-10"
    folder.mkdir(parents=True)
    path = make_tar(
        folder / "cifar-10-python.tar.gz", {f"cifar-10-batches-py/{n}": r for n, r in raws.items()}
    )
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataIntegrityError, match="cifar-10-python.tar.gz"):
        fetch_cifar10(data_home=data_home, subset="all")


def test_cifar10_download(tmp_path, small_cifar, data_home, system_dir, monkeypatch, no_network):
    batches, raws = small_cifar
    server = tmp_path / "server"
    server.mkdir()
    tar = make_tar(
        server / "cifar-10-python.tar.gz", {f"cifar-10-batches-py/{n}": r for n, r in raws.items()}
    )
    md5 = ("md5", hashlib.md5(tar.read_bytes()).hexdigest())
    monkeypatch.setattr(
        _cifar, "SPEC", dataclasses.replace(_cifar.SPEC, url=tar.as_uri(), tarball_checksum=md5)
    )
    test = fetch_cifar10(data_home=data_home, subset="test")
    np.testing.assert_array_equal(test.target, batches["test_batch"][1])
    assert sorted(p.name for p in (data_home / "cifar-10").iterdir()) == ["cifar-10-python.tar.gz"]

    (data_home / "cifar-10" / "cifar-10-python.tar.gz").unlink()
    monkeypatch.setattr(
        _cifar, "SPEC", dataclasses.replace(_cifar.SPEC, tarball_checksum=("md5", "1" * 32))
    )
    with pytest.raises(DataIntegrityError, match="Checksum mismatch"):
        fetch_cifar10(data_home=data_home)
    assert list((data_home / "cifar-10").iterdir()) == []


def test_cifar10_missing_message(data_home, system_dir):
    with pytest.raises(FileNotFoundError) as info:
        fetch_cifar10(data_home=data_home)
    message = str(info.value)
    assert "cifar-10-python.tar.gz" in message and "cs.toronto.edu" in message
    assert str(system_dir / "cifar-10" / "cifar-10-batches-py" / "data_batch_1") in message


# ---------------------------------------------------------------------------------------------
# Real data
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.isdir(REAL_FASHION),
    reason=f"{REAL_FASHION} not found: apt-get install dataset-fashion-mnist",
)
def test_real_fashion_mnist_from_debian(tmp_path, monkeypatch, no_network):
    # An empty data home: the files must come from the system folder, checksums verified.
    monkeypatch.delenv("QUBOCLF_DATA", raising=False)
    bunch = fetch_fashion_mnist(data_home=tmp_path, subset="all", download_if_missing=False)
    assert no_network == []
    assert bunch.data.shape == (70_000, 784) and bunch.data.dtype == np.uint8
    assert bunch.images.shape == (70_000, 28, 28) and bunch.split_index == 60_000
    # Every class has 6,000 training and 1,000 test images.
    np.testing.assert_array_equal(np.bincount(bunch.target[:60_000]), [6_000] * 10)
    np.testing.assert_array_equal(np.bincount(bunch.target[60_000:]), [1_000] * 10)
    assert bunch.target_names[bunch.target[0]] == "Ankle boot"
    assert bunch.data.max() == 255 and bunch.data.min() == 0


# ---------------------------------------------------------------------------------------------
# Decompression bombs, damaged archives, unwritable or wrong data folders, permissions,
# temporary files left by a killed process
# ---------------------------------------------------------------------------------------------

BOMB = 64 << 20  # bytes a crafted file would decompress to
SMALL_PEAK = 16 << 20  # what reading it may allocate at most


def _zeros_gz(path, header, n_bytes):
    with gzip.open(path, "wb") as f:
        f.write(header)
        chunk = bytes(1 << 20)
        for _ in range(n_bytes // len(chunk)):
            f.write(chunk)
    return path


def _peak(func, *args, **kwargs):
    """Run ``func``; return (exception, peak bytes traced by tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        func(*args, **kwargs)
    except Exception as exc:
        error = exc
    else:
        error = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


def test_idx_bomb_is_refused_before_decompressing(data_home, system_dir, monkeypatch):
    """A small .gz whose header promises a huge array fails on the header, allocating nothing."""
    name = "mnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files, checksums=False))
    install(data_home / "mnist", files)
    n = BOMB // (28 * 28)
    path = data_home / "mnist" / "train-images-idx3-ubyte.gz"
    _zeros_gz(path, b"\x00\x00\x08\x03" + struct.pack(">III", n, 28, 28), n * 28 * 28)
    assert path.stat().st_size < BOMB // 100
    error, peak = _peak(fetch_mnist, data_home=data_home)
    assert isinstance(error, DataIntegrityError)
    assert re.search(rf"holds an array of shape \({n}, 28, 28\).*has shape \(6, 28, 28\)",
                     str(error)), error  # fmt: skip
    assert peak < SMALL_PEAK, f"reading the bomb allocated {peak} bytes"


def test_load_idx_header_larger_than_gzip_can_hold(tmp_path):
    header = b"\x00\x00\x08\x01" + struct.pack(">I", 10**9)
    path = write(tmp_path / "crafted.gz", header + bytes(1000), gz=True)
    error, peak = _peak(load_idx, path)
    assert isinstance(error, DataIntegrityError)
    assert re.search(r"declares shape \(1000000000,\).*more than \d+ compressed bytes can hold",
                     str(error)), error  # fmt: skip
    assert peak < SMALL_PEAK


def test_cifar_tarball_bomb_is_refused_before_reading(small_cifar, data_home, system_dir):
    folder = data_home / "cifar-10"
    folder.mkdir(parents=True)
    path = folder / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = BOMB
        tar.addfile(info, io.BytesIO(bytes(BOMB)))
    assert path.stat().st_size < BOMB // 100
    error, peak = _peak(fetch_cifar10, data_home=data_home)
    assert isinstance(error, DataIntegrityError)
    assert re.search(r"data_batch_1' declares 67108864 bytes, but a CIFAR-10 python batch has "
                     r"at most \d+", str(error)), error  # fmt: skip
    assert peak < SMALL_PEAK, f"reading the bomb allocated {peak} bytes"


def test_emnist_zip_bomb_is_not_extracted(data_home, system_dir, monkeypatch):
    name = "emnist-balanced"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    folder = data_home / "emnist"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "gzip.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for member, payload in files.items():
            if member != "emnist-balanced-test-images-idx3-ubyte":
                zf.writestr("gzip/" + member + ".gz", gzip.compress(payload))
        zf.writestr("gzip/emnist-balanced-test-images-idx3-ubyte.gz", bytes(BOMB))
    error, _ = _peak(fetch_emnist, data_home=data_home, subset="test")
    assert isinstance(error, DataIntegrityError)
    assert re.search(r"test-images-idx3-ubyte\.gz' declares 67108864 bytes, but EMNIST "
                     r"\(balanced\)'s .* compresses to at most \d+", str(error)), error
    assert sorted(p.name for p in folder.iterdir()) == ["gzip.zip"]  # nothing extracted


def test_corrupt_emnist_zip_is_a_clear_error(data_home, system_dir, monkeypatch):
    """Damaged deflate data inside the zip: DataIntegrityError, not a bare zlib.error."""
    name = "emnist-balanced"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    folder = data_home / "emnist"
    folder.mkdir(parents=True)
    path = folder / "gzip.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, payload in files.items():
            zf.writestr("gzip/" + member + ".gz", payload)  # compressible: real deflate blocks
    blob = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("gzip/emnist-balanced-test-images-idx3-ubyte.gz")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    blob[start : start + 8] = b"\xff" * 8  # an invalid deflate block type
    path.write_bytes(bytes(blob))
    with pytest.raises(DataIntegrityError, match=r"gzip\.zip' is not a readable zip archive "
                       r"\(error: .*\): delete it and fetch it again"):  # fmt: skip
        fetch_emnist(data_home=data_home, subset="test")


def _unwritable(monkeypatch, folder):
    """Make creating files under ``folder`` fail as on a read-only folder (root included)."""
    real = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):
        if dir is not None and str(dir).startswith(str(folder)):
            raise PermissionError(13, "Permission denied", str(dir))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(_base.tempfile, "mkstemp", mkstemp)


def test_emnist_loads_from_a_read_only_data_folder(data_home, system_dir, monkeypatch):
    name = "emnist-balanced"
    files, arrays = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    folder = data_home / "emnist"
    folder.mkdir(parents=True)
    emnist_zip(folder / "gzip.zip", files)
    _unwritable(monkeypatch, data_home)
    bunch = fetch_emnist(data_home=data_home, subset="test")
    np.testing.assert_array_equal(bunch.images, arrays["test"][0].transpose(0, 2, 1))
    assert sorted(p.name for p in folder.iterdir()) == ["gzip.zip"]


def test_read_only_data_folder_download_is_a_clear_error(data_home, system_dir, monkeypatch):
    name = "kmnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    _unwritable(monkeypatch, data_home)
    with pytest.raises(PermissionError, match=r"cannot write into the data folder '.*kmnist' "
                       r"\(Permission denied\): pass data_home= \(or set \$QUBOCLF_DATA"):
        fetch_kmnist(data_home=data_home)


@pytest.mark.parametrize("fetch", [fetch_mnist, fetch_emnist, fetch_cifar10])
def test_data_folder_that_is_a_file_is_a_clear_error(fetch, tmp_path, system_dir, no_network):
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=rf"the data folder '{re.escape(str(afile))}/"
                       rf"[\w-]+' cannot be created because '{re.escape(str(afile))}' is a "
                       r"file, not a folder: pass data_home="):  # fmt: skip
        fetch(data_home=afile)
    with pytest.raises(NotADirectoryError, match=r"is a file, not a folder"):
        get_data_home(afile / "sub")


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_extracted_files_get_normal_permissions(umask, data_home, system_dir, monkeypatch):
    """Files written into the data folder get 0o666 & ~umask (a plain open), not 0600."""
    name = "emnist-balanced"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    (system_dir / "emnist").mkdir()
    emnist_zip(system_dir / "emnist" / "gzip.zip", files)
    old = os.umask(umask)
    try:
        fetch_emnist(data_home=data_home, subset="test", download_if_missing=False)
    finally:
        os.umask(old)
    for path in (data_home / "emnist").iterdir():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_downloaded_files_get_normal_permissions(tmp_path, data_home, system_dir, monkeypatch):
    name = "kmnist"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    md5s, url = serve(tmp_path / "server", files)
    spec = small_spec(name, files, archive_sums=md5s, urls=[url])
    monkeypatch.setitem(_fetchers.SPECS, name, spec)
    old = os.umask(0o022)
    try:
        fetch_kmnist(data_home=data_home, subset="test")
    finally:
        os.umask(old)
    written = list((data_home / "kmnist").iterdir())
    assert written and all(p.stat().st_mode & 0o777 == 0o644 for p in written)


def test_killed_extraction_leaves_no_part_file_behind(data_home, system_dir, monkeypatch):
    """The next call removes temporary files whose process is gone (or that are old)."""
    import subprocess
    import sys
    import time

    name = "emnist-balanced"
    files, _ = synthetic_idx(_fetchers.SPECS[name])
    monkeypatch.setitem(_fetchers.SPECS, name, small_spec(name, files))
    folder = data_home / "emnist"
    folder.mkdir(parents=True)
    emnist_zip(folder / "gzip.zip", files)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    base = ".emnist-balanced-test-images-idx3-ubyte.gz."
    host = _base._HOST
    stale = [folder / f"{base}{host}-{dead.stdout.strip()}.abc123.part", folder / f"{base}x.part"]
    alive = [folder / f"{base}{host}-{os.getpid()}.def456.part", folder / f"{base}y.part"]
    for path in stale + alive:
        path.write_bytes(b"half an extraction")
    two_hours_ago = time.time() - 7200
    os.utime(stale[1], (two_hours_ago, two_hours_ago))  # an old file without a host-pid tag
    fetch_emnist(data_home=data_home, subset="test")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in alive)  # a running process's, or too recent to judge


# -- bad files and calls, through the package namespace


def test_load_idx_bad_files(tmp_path):
    not_idx = tmp_path / "x.idx"
    not_idx.write_bytes(b"hello world")
    with pytest.raises(qds.DataIntegrityError, match=r"is not an IDX file: bad magic number"):
        qds.load_idx(not_idx)
    with pytest.raises(FileNotFoundError, match="missing"):
        qds.load_idx(tmp_path / "missing")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"download_if_missing": False},
            FileNotFoundError,
            r"(?s)MNIST: could not find 'train-images-idx3-ubyte'.*Searched",
        ),
        (
            {"subset": "bogus"},
            ValueError,
            r"'subset' parameter of fetch_mnist must be a str among .*Got 'bogus'",
        ),
    ],
)
def test_fetch_mnist_bad_calls(tmp_path, monkeypatch, kwargs, exc, match):
    monkeypatch.setenv("QUBOCLF_DATA", str(tmp_path))
    with pytest.raises(exc, match=match):
        qds.fetch_mnist(data_home=tmp_path, **kwargs)
