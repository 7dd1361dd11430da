"""CIFAR-10: the python (pickle) or binary release, extracted or as the original tarball."""

import hashlib
import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from os.path import join

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._base import (
    check_digest,
    download,
    not_found_message,
    resolve_data_home,
    search_dirs,
)
from ._errors import DataIntegrityError
from ._fetchers import _COMMON_PARAMS, _fill_doc, make_bunch

__all__ = ["fetch_cifar10"]

_PIXELS = 32 * 32 * 3


@dataclass(frozen=True)
class CifarDataset:
    key: str
    title: str
    batch_size: int
    batches: dict  # {"train": names, "test": names}
    checksums: dict  # batch name -> (algo, hexdigest) of the python batch file
    url: str
    tarball: str
    tarball_checksum: tuple | None
    target_names: tuple
    descr: str


_DESCR = """CIFAR-10
--------

60,000 colour 32x32 images in 10 classes, 6,000 per class (50,000 training in five batches,
10,000 test), a labelled subset of the 80 million tiny images (A. Krizhevsky, "Learning Multiple
Layers of Features from Tiny Images", 2009; https://www.cs.toronto.edu/~kriz/cifar.html).
Classes: airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck.

quboclf reads the python release (cifar-10-python.tar.gz or its extracted cifar-10-batches-py/
folder) or the binary release (cifar-10-binary.tar.gz or cifar-10-batches-bin/). It verifies the
published MD5 of the downloaded tarball and of every python batch file (binary batch files are
verified by size), the number of images per batch and the label range; python batches are
unpickled with an unpickler that only admits NumPy arrays."""

SPEC = CifarDataset(
    key="cifar-10",
    title="CIFAR-10",
    batch_size=10_000,
    batches={
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test": ("test_batch",),
    },
    # Published MD5s of the extracted python batch files and of the tarball (torchvision).
    checksums={
        "data_batch_1": ("md5", "c99cafc152244af753f735de768cd75f"),
        "data_batch_2": ("md5", "d4bba439e000b95fd0a9bffe97cbabec"),
        "data_batch_3": ("md5", "54ebc095f3ab1f0389bbae665268c751"),
        "data_batch_4": ("md5", "634d18415352ddfa80567beed471001a"),
        "data_batch_5": ("md5", "482c414d41f54cd18b22e5b47cb7c3cb"),
        "test_batch": ("md5", "40351d587109b95175f43aff81a1287e"),
    },
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    tarball="cifar-10-python.tar.gz",
    tarball_checksum=("md5", "c58f30108f718f92721af3b95e74349a"),
    target_names=(
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ),
    descr=_DESCR,
)

_PY_DIR = "cifar-10-batches-py"
_BIN_DIR = "cifar-10-batches-bin"
_BIN_TARBALL = "cifar-10-binary.tar.gz"
_TARBALLS = {"py": "cifar-10-python.tar.gz", "bin": _BIN_TARBALL}

# The only globals a CIFAR batch pickle needs: how NumPy rebuilds an array.
_ALLOWED_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # Python 3 pickles (protocol < 3) store bytes as _codecs.encode(str, "latin1").
    ("_codecs", "encode"),
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global except NumPy's array reconstruction."""

    def find_class(self, module, name):
        if module == "numpy.core" or module.startswith("numpy.core."):
            # Pickles from NumPy 1.x name numpy.core, which NumPy 2 renamed numpy._core.
            module = "numpy._core" + module[len("numpy.core") :]
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"forbidden global {module}.{name}")
        if module.startswith("numpy._core") and not hasattr(np, "_core"):  # NumPy < 2
            module = "numpy.core" + module[len("numpy._core") :]
        return super().find_class(module, name)


def _parse_python_batch(raw, where, name, spec):
    checksum = spec.checksums.get(name)
    if checksum is not None:
        check_digest(
            where, f"CIFAR-10 batch {name!r}", checksum, hashlib.new(checksum[0], raw).hexdigest()
        )
    try:
        # latin1 is what NumPy needs to read arrays pickled by Python 2 (the official files).
        batch = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except Exception as exc:  # any unpickling failure means a bad file
        raise DataIntegrityError(
            f"{where!r} is not a valid CIFAR-10 python batch ({type(exc).__name__}: {exc}). "
            "Delete it and fetch it again."
        ) from exc
    if isinstance(batch, dict):
        batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = batch.get("data") if isinstance(batch, dict) else None
    labels = batch.get("labels") if isinstance(batch, dict) else None
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.shape != (spec.batch_size, _PIXELS)
        or labels is None
        or len(labels) != spec.batch_size
    ):
        shape = getattr(data, "shape", None)
        raise DataIntegrityError(
            f"{where!r} is not a complete CIFAR-10 python batch: expected 'data' of shape "
            f"({spec.batch_size}, {_PIXELS}) uint8 and {spec.batch_size} 'labels', found data of "
            f"shape {shape}. Delete it and fetch it again."
        )
    return data, np.asarray(labels)


def _parse_binary_batch(raw, where, spec):
    expected = spec.batch_size * (_PIXELS + 1)
    if len(raw) != expected:
        raise DataIntegrityError(
            f"{where!r} has {len(raw)} bytes; a CIFAR-10 binary batch has exactly {expected} "
            f"({spec.batch_size} records of 1 label byte + {_PIXELS} pixel bytes). The file is "
            "truncated or corrupted: delete it and fetch it again."
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(spec.batch_size, _PIXELS + 1)
    return records[:, 1:], records[:, 0]


def _max_batch_bytes(binary, spec):
    """Largest plausible batch file: exact for binary, the pixels plus slack for a pickle."""
    if binary:
        return spec.batch_size * (_PIXELS + 1)
    return spec.batch_size * (_PIXELS + 256) + (1 << 20)


def _check_batch_size(size, where, binary, spec):
    """Refuse a batch larger than CIFAR-10's before reading (or decompressing) a byte of it."""
    limit = _max_batch_bytes(binary, spec)
    if size > limit:
        raise DataIntegrityError(
            f"{where!r} declares {size} bytes, but a CIFAR-10 {'binary' if binary else 'python'} "
            f"batch has at most {limit}: this is not the official file. Delete it and fetch it "
            "again."
        )


def _read_tar_member(tar, tar_path, member, spec):
    try:
        info = tar.getmember(member)
    except KeyError:
        raise DataIntegrityError(
            f"{tar_path!r} has no member {member!r}: it is incomplete or not the official "
            "CIFAR-10 tarball. Delete it and fetch it again."
        ) from None
    if not info.isfile():
        raise DataIntegrityError(
            f"{tar_path!r}: member {member!r} is not a regular file, so this is not the official "
            "CIFAR-10 tarball. Delete it and fetch it again."
        )
    _check_batch_size(info.size, f"{tar_path}:{member}", member.endswith(".bin"), spec)
    # Read members into memory: nothing is ever extracted to disk, so member paths are harmless.
    return tar.extractfile(info).read()


def _find_source(dirs, names):
    """The first folder holding a usable copy, and the paths tried."""
    tried = []
    for d in dirs:
        for kind, rel in (
            ("py-dir", join(_PY_DIR, names[0])),
            ("py-tar", _TARBALLS["py"]),
            ("bin-dir", join(_BIN_DIR, names[0] + ".bin")),
            ("bin-tar", _TARBALLS["bin"]),
        ):
            path = join(d, rel)
            tried.append(path)
            if os.path.isfile(path):
                return kind, d, tried
    return None, None, tried


def _load_batches(kind, folder, names, spec):
    """Read the named batches from one source into (images HWC, labels)."""
    n = spec.batch_size * len(names)
    images = np.empty((n, 32, 32, 3), dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    tar = None
    tar_path = None
    try:
        if kind.endswith("tar"):
            tar_path = join(folder, _TARBALLS[kind.split("-")[0]])
            try:
                tar = tarfile.open(tar_path, "r:*")
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise DataIntegrityError(
                    f"{tar_path!r} is not a readable tar archive ({exc}): delete it and fetch it "
                    "again."
                ) from exc
        for i, name in enumerate(names):
            if kind == "py-dir":
                where = join(folder, _PY_DIR, name)
            elif kind == "bin-dir":
                where = join(folder, _BIN_DIR, name + ".bin")
            elif kind == "py-tar":
                where = f"{tar_path}:{_PY_DIR}/{name}"
            else:
                where = f"{tar_path}:{_BIN_DIR}/{name}.bin"
            if tar is None:
                if not os.path.isfile(where):
                    raise DataIntegrityError(
                        f"{where!r} is missing, but its folder holds other CIFAR-10 batches: the "
                        "copy is incomplete. Add the missing batch or delete the folder."
                    )
                _check_batch_size(os.path.getsize(where), where, kind == "bin-dir", spec)
                with open(where, "rb") as f:
                    raw = f.read()
            else:
                try:
                    raw = _read_tar_member(tar, tar_path, where.split(":", 1)[1], spec)
                except (tarfile.TarError, EOFError, OSError) as exc:
                    if isinstance(exc, DataIntegrityError):
                        raise
                    raise DataIntegrityError(
                        f"{tar_path!r} is truncated or corrupted ({exc}): delete it and fetch it "
                        "again."
                    ) from exc
            if kind.startswith("py"):
                data, batch_labels = _parse_python_batch(raw, where, name, spec)
            else:
                data, batch_labels = _parse_binary_batch(raw, where, spec)
            if batch_labels.size and (batch_labels.min() < 0 or batch_labels.max() > 9):
                raise DataIntegrityError(
                    f"{where!r} holds labels from {batch_labels.min()} to {batch_labels.max()}; "
                    "CIFAR-10 labels lie in [0, 9]. The file is corrupted: delete it and fetch it "
                    "again."
                )
            rows = slice(i * spec.batch_size, (i + 1) * spec.batch_size)
            # Stored channel-first (1024 red, 1024 green, 1024 blue); return height, width, rgb.
            images[rows] = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            labels[rows] = batch_labels
    finally:
        if tar is not None:
            tar.close()
    return images, labels


def _check_tarball(path, url, spec):
    try:
        with tarfile.open(path, "r:*") as tar:
            names = set(tar.getnames())
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataIntegrityError(
            f"{url}: the download is not a readable tar archive ({exc}). Nothing was saved; "
            "try again, or place the official tarball in the data home by hand."
        ) from exc
    wanted = [f"{_PY_DIR}/{b}" for part in ("train", "test") for b in spec.batches[part]]
    absent = [w for w in wanted if w not in names]
    if absent:
        raise DataIntegrityError(
            f"{url}: the downloaded tarball lacks {absent}. Nothing was saved; try again, or "
            "place the official tarball in the data home by hand."
        )


@validate_params(_COMMON_PARAMS, prefer_skip_nested_validation=True)
def fetch_cifar10(
    *, data_home=None, subset="train", download_if_missing=True, return_X_y=False, as_float=False
):
    """Load CIFAR-10 (50,000 training + 10,000 test colour 32x32 images, 10 classes).

    The data set is looked for in the data folder, then in system folders, in any of four
    forms: the extracted python release (``cifar-10-batches-py/``), its tarball
    (``cifar-10-python.tar.gz``, read without extracting), the extracted binary release
    (``cifar-10-batches-bin/``) or its tarball (``cifar-10-binary.tar.gz``). If none is found
    the python tarball (about 163 MB) is downloaded from the University of Toronto and checked
    against its published MD5. Python batches are checked against their published MD5s and
    unpickled by an unpickler that only admits NumPy arrays; binary batches are checked by
    size. Read the :ref:`datasets user guide <datasets>` for details.

    Parameters
    ----------
    {params}

    Returns
    -------
    {returns}

    Raises
    ------
    {raises}

    See Also
    --------
    fetch_mnist : Grey-scale digits in 28x28.

    Examples
    --------
    >>> from quboclf.datasets import fetch_cifar10
    >>> cifar = fetch_cifar10(subset="test")  # doctest: +SKIP
    >>> cifar.images.shape, cifar.data.shape, cifar.target_names[0]  # doctest: +SKIP
    ((10000, 32, 32, 3), (10000, 3072), 'airplane')
    """
    spec = SPEC
    home = resolve_data_home(data_home)
    data_dir = join(home, spec.key)
    dirs = search_dirs(home, spec.key)
    parts = ("train", "test") if subset == "all" else (subset,)
    names = [b for part in parts for b in spec.batches[part]]
    kind, folder, tried = _find_source(dirs, names)
    errors = None
    if kind is None and download_if_missing:
        dest = join(data_dir, spec.tarball)
        _, errors = download(
            [spec.url],
            dest,
            archive_checksum=spec.tarball_checksum,
            verify=lambda tmp, url: _check_tarball(tmp, url, spec),
        )
        if not errors:
            kind, folder = "py-tar", data_dir
    if kind is None:
        raise FileNotFoundError(
            not_found_message(
                spec.title,
                [_PY_DIR, spec.tarball, _BIN_DIR, _BIN_TARBALL],
                tried,
                data_dir=data_dir,
                download_errors=errors,
                hint=f"download {spec.url} elsewhere and copy it (unextracted) into {data_dir}",
                download_if_missing=download_if_missing,
            ).replace("could not find", "could not find any of")
        )
    images, target = _load_batches(kind, folder, names, spec)
    split_index = spec.batch_size * len(spec.batches["train"]) if parts[0] == "train" else 0
    return make_bunch(
        images,
        target,
        split_index=split_index,
        subset=subset,
        target_names=spec.target_names,
        descr=spec.descr,
        as_float=as_float,
        return_X_y=return_X_y,
    )


_fill_doc(fetch_cifar10, "cifar-10", n_features="3072", image_shape="32, 32, 3", channel="_<c>")
