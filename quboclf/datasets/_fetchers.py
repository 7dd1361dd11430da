"""Fetchers for the MNIST family (IDX files) and CIFAR-10, in the style of sklearn.datasets."""

import errno
import os
import string
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from os.path import join

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from ._base import (
    check_digest,
    copy_member_atomically,
    download,
    find_file,
    logger,
    not_found_message,
    resolve_data_home,
    search_dirs,
)
from ._errors import DataIntegrityError
from ._idx import read_idx

__all__ = ["fetch_emnist", "fetch_fashion_mnist", "fetch_kmnist", "fetch_mnist"]


# ---------------------------------------------------------------------------------------------
# Specifications. Checksums are (algorithm, hexdigest). ``checksum`` is taken over the
# decompressed file (header + payload), so a file recompressed by a packager still verifies;
# ``archive_checksum`` is over the file exactly as the official server sends it and is only
# checked on download. ``None`` where no published value was found: those files are verified by
# structure alone (IDX header, exact sample count and image size, label range).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdxFile:
    name: str
    shape: tuple
    checksum: tuple | None = None
    archive_checksum: tuple | None = None


@dataclass(frozen=True)
class Archive:
    """A zip archive holding the .gz files of several data sets (EMNIST's ``gzip.zip``)."""

    name: str
    urls: tuple
    checksum: tuple | None
    member_dir: str


@dataclass(frozen=True)
class IdxDataset:
    key: str  # sub-folder of the data home and of the system folders
    title: str
    urls: tuple  # base URLs of the .gz files, tried in order
    files: dict  # {"train": (images, labels), "test": (images, labels)}
    target_names: tuple
    label_range: tuple  # (lowest, highest) label value, inclusive
    descr: str
    hint: str | None = None
    archive: Archive | None = None
    transpose: bool = False


def _mnist_files(prefix, n_train, n_test, sums=None, archive_sums=None):
    sums = sums or {}
    archive_sums = archive_sums or {}
    files = {}
    for part, n in (("train", n_train), ("test", n_test)):
        tag = {"train": "train", "test": "t10k"}[part] if prefix is None else f"{prefix}-{part}"
        names = (f"{tag}-images-idx3-ubyte", f"{tag}-labels-idx1-ubyte")
        shapes = ((n, 28, 28), (n,))
        files[part] = tuple(
            IdxFile(name, shape, sums.get(name), archive_sums.get(name))
            for name, shape in zip(names, shapes)
        )
    return files


def _md5s(*pairs):
    return {name: ("md5", value) for name, value in pairs}


_VERIFY_NOTE = (
    "\n\nquboclf verifies {what}, the IDX headers, the exact number of samples ({n_train:,} + "
    "{n_test:,}), the 28x28 image size and the label range."
)

_MNIST_DESCR = """MNIST handwritten digits
------------------------

70,000 grey-scale 28x28 images of the digits 0-9 (60,000 training, 10,000 test), size-normalised
and centred, from NIST Special Database 3 and 1 (Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST
database of handwritten digits"). Pixel values are 0 (background) to 255 (ink). Classes are
roughly balanced. Files: train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
t10k-labels-idx1-ubyte (IDX format, usually gzip-compressed)."""

_FASHION_DESCR = """Fashion-MNIST
-------------

70,000 grey-scale 28x28 images of Zalando article pictures in 10 classes (60,000 training, 10,000
test; 7,000 per class), a drop-in replacement for MNIST (H. Xiao, K. Rasul, R. Vollgraf,
"Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms",
arXiv:1708.07747, 2017). MIT licence. Pixel values are 0 (background) to 255. Debian and Ubuntu
ship it as the package ``dataset-fashion-mnist`` (/usr/share/datasets/fashion-mnist)."""

_KMNIST_DESCR = """Kuzushiji-MNIST (KMNIST)
------------------------

70,000 grey-scale 28x28 images of 10 classes of cursive Japanese (Kuzushiji) hiragana (60,000
training, 10,000 test), from the ROIS-DS Center for Open Data in the Humanities (T. Clanuwat et al.,
"Deep Learning for Classical Japanese Literature", arXiv:1812.01718, 2018). CC BY-SA 4.0. Class
names are the romanised characters o, ki, su, tsu, na, ha, ma, ya, re, wo."""

_EMNIST_DESCR = """EMNIST ({split})
--------{underline}

Extended MNIST: handwritten characters from NIST Special Database 19 converted to the MNIST format
(G. Cohen, S. Afshar, J. Tapson, A. van Schaik, "EMNIST: an extension of MNIST to handwritten
letters", arXiv:1702.05373, 2017). Split '{split}': {n_train:,} training and {n_test:,} test
images, {n_classes} classes. The IDX files store every image transposed; quboclf transposes them
back so that images are upright like MNIST's. Targets are the official labels; for the 'letters'
split they run from 1 (a) to 26 (z) and target_names[0] is 'N/A'."""


_MNIST = IdxDataset(
    key="mnist",
    title="MNIST",
    urls=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://yann.lecun.com/exdb/mnist/",
    ),
    # Published MD5s of the official .gz files (torchvision's MNIST resources). No checksum of
    # the decompressed files has been published, so local copies are verified by structure.
    files=_mnist_files(
        None,
        60_000,
        10_000,
        archive_sums=_md5s(
            ("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            ("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
            ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
            ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
        ),
    ),
    target_names=tuple(string.digits),
    label_range=(0, 9),
    descr=_MNIST_DESCR
    + _VERIFY_NOTE.format(
        what="the MD5 of each downloaded .gz file against its published value",
        n_train=60_000,
        n_test=10_000,
    ),
)

_FASHION = IdxDataset(
    key="fashion-mnist",
    title="Fashion-MNIST",
    urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    files=_mnist_files(
        None,
        60_000,
        10_000,
        # SHA-256 of the decompressed files, computed from Debian's dataset-fashion-mnist.
        sums={
            "train-images-idx3-ubyte": (
                "sha256",
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            ),
            "train-labels-idx1-ubyte": (
                "sha256",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            ),
            "t10k-images-idx3-ubyte": (
                "sha256",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            ),
            "t10k-labels-idx1-ubyte": (
                "sha256",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            ),
        },
        # MD5s of zalando's .gz files as published (Fashion-MNIST README, torchvision).
        archive_sums=_md5s(
            ("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            ("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe"),
            ("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79"),
            ("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310"),
        ),
    ),
    target_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    label_range=(0, 9),
    descr=_FASHION_DESCR
    + _VERIFY_NOTE.format(
        what="the SHA-256 of every decompressed file (so Debian's recompressed files verify too)",
        n_train=60_000,
        n_test=10_000,
    ),
    hint="install Debian's package: apt-get install dataset-fashion-mnist",
)

_KMNIST = IdxDataset(
    key="kmnist",
    title="Kuzushiji-MNIST",
    urls=(
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        "https://codh.rois.ac.jp/kmnist/dataset/kmnist/",
    ),
    # Published MD5s of the official .gz files (torchvision's KMNIST resources).
    files=_mnist_files(
        None,
        60_000,
        10_000,
        archive_sums=_md5s(
            ("train-images-idx3-ubyte", "bdb82020997e1d708af4cf47b453dcf7"),
            ("train-labels-idx1-ubyte", "e144d726b3acfaa3e44228e80efcd344"),
            ("t10k-images-idx3-ubyte", "5c965bf0a639b31b8f53240b1b52f4d7"),
            ("t10k-labels-idx1-ubyte", "7320c461ea6c1c855c0b718fb2a4b134"),
        ),
    ),
    target_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
    label_range=(0, 9),
    descr=_KMNIST_DESCR
    + _VERIFY_NOTE.format(
        what="the MD5 of each downloaded .gz file against its published value",
        n_train=60_000,
        n_test=10_000,
    ),
)

_EMNIST_ARCHIVE = Archive(
    name="gzip.zip",
    urls=(
        "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
        "https://www.itl.nist.gov/iaui/vip/cs_links/EMNIST/gzip.zip",
    ),
    # Published MD5 of NIST's gzip.zip (torchvision's EMNIST).
    checksum=("md5", "58c8d27c78d21e728a6bc7b3cc06412e"),
    member_dir="gzip/",
)

_EMNIST_MERGED = set("cijklmopsuvwxyz")
_EMNIST_SPLITS = {
    # split: (n_train, n_test, target_names, label_range); sizes from the EMNIST paper.
    "byclass": (697_932, 116_323, sorted(string.digits + string.ascii_letters), (0, 61)),
    "bymerge": (
        697_932,
        116_323,
        sorted(set(string.digits + string.ascii_letters) - _EMNIST_MERGED),
        (0, 46),
    ),
    "balanced": (
        112_800,
        18_800,
        sorted(set(string.digits + string.ascii_letters) - _EMNIST_MERGED),
        (0, 46),
    ),
    "letters": (124_800, 20_800, ["N/A", *string.ascii_lowercase], (1, 26)),
    "digits": (240_000, 40_000, list(string.digits), (0, 9)),
    "mnist": (60_000, 10_000, list(string.digits), (0, 9)),
}


def _emnist(split):
    n_train, n_test, names, label_range = _EMNIST_SPLITS[split]
    return IdxDataset(
        key="emnist",
        title=f"EMNIST ({split})",
        urls=(),
        files=_mnist_files(f"emnist-{split}", n_train, n_test),
        target_names=tuple(names),
        label_range=label_range,
        descr=_EMNIST_DESCR.format(
            split=split,
            underline="-" * (len(split) + 2),
            n_train=n_train,
            n_test=n_test,
            n_classes=label_range[1] - label_range[0] + 1,
        )
        + _VERIFY_NOTE.format(
            what="the MD5 of the downloaded gzip.zip against its published value",
            n_train=n_train,
            n_test=n_test,
        ),
        archive=_EMNIST_ARCHIVE,
        transpose=True,
    )


#: Every IDX data set by name. Private: tests replace entries to run on small synthetic files.
SPECS = {
    "mnist": _MNIST,
    "fashion-mnist": _FASHION,
    "kmnist": _KMNIST,
    **{f"emnist-{split}": _emnist(split) for split in _EMNIST_SPLITS},
}


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


class _WrongFile(DataIntegrityError):
    """An IDX file whose header does not describe the expected array."""


def load_verified_idx(path, f, spec, *, source=None):
    """Read one IDX file and check it against its specification; return the array."""
    source = source or path
    hash_name = f.checksum[0] if f.checksum else None

    def expected(shape, dtype):
        # checked on the header, before the payload is decompressed (decompression bombs)
        if dtype != np.uint8 or tuple(shape) != tuple(f.shape):
            raise _WrongFile(
                f"{source!r} holds an array of shape {tuple(shape)} and dtype {dtype}, but "
                f"{spec.title}'s {f.name!r} has shape {tuple(f.shape)} and dtype uint8: this is "
                "not the official file (wrong file, or an incomplete copy). Replace it with the "
                "official file."
            )

    try:
        array, digest = read_idx(path, hash_name=hash_name, expected=expected)
    except _WrongFile:
        raise
    except DataIntegrityError as exc:
        if source == path:
            raise
        raise DataIntegrityError(f"{source}: {exc}") from exc
    if f.checksum is not None:
        check_digest(source, f"{spec.title} file {f.name!r} (decompressed)", f.checksum, digest)
    if array.ndim == 1 and array.size:
        lo, hi = spec.label_range
        if array.min() < lo or array.max() > hi:
            raise DataIntegrityError(
                f"{source!r} holds labels from {array.min()} to {array.max()}, but {spec.title} "
                f"labels lie in [{lo}, {hi}]: the file is corrupted or not the official one. "
                "Delete it and fetch it again."
            )
    return array


def _download_idx(spec, f, data_dir):
    dest = join(data_dir, f.name + ".gz")
    urls = [base + f.name + ".gz" for base in spec.urls]
    return download(
        urls,
        dest,
        archive_checksum=f.archive_checksum,
        verify=lambda tmp, url: load_verified_idx(tmp, f, spec, source=url),
    )


def _extract_from_archive(spec, f, zip_path, data_dir):
    """Extract and verify one IDX member of the EMNIST zip into ``data_dir``; return its array.

    A data folder that cannot be written (read-only, shared) still works: the member is then
    extracted to a temporary folder, read, and not kept.
    """
    member = spec.archive.member_dir + f.name + ".gz"
    source = f"{zip_path}:{member}"
    try:
        with zipfile.ZipFile(zip_path) as zf:
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise DataIntegrityError(
                    f"{zip_path!r} has no member {member!r}: it is not NIST's EMNIST gzip.zip or "
                    "it is incomplete. Delete it and fetch it again."
                ) from None
            # gzip never grows data by more than a small header per 64 KiB block: a member
            # declaring more than the IDX payload it should hold is not the official file and
            # is not decompressed (a zip bomb stops here).
            limit = _gzip_bound(f)
            if info.file_size > limit:
                raise DataIntegrityError(
                    f"{source!r} declares {info.file_size} bytes, but {spec.title}'s "
                    f"{f.name!r} compresses to at most {limit}: this is not NIST's EMNIST "
                    "gzip.zip. Delete it and fetch it again."
                )

            def verify(tmp):
                return load_verified_idx(tmp, f, spec, source=source)

            try:
                with zf.open(info) as stream:
                    return copy_member_atomically(stream, join(data_dir, f.name + ".gz"), verify)
            except OSError as exc:
                if isinstance(exc, DataIntegrityError) or not _cannot_write(exc):
                    raise
                logger.info(
                    "%s is not writable (%s): reading %s without keeping it", data_dir, exc, member
                )
            with tempfile.TemporaryDirectory() as scratch, zf.open(info) as stream:
                return copy_member_atomically(stream, join(scratch, f.name + ".gz"), verify)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise DataIntegrityError(
            f"{zip_path!r} is not a readable zip archive ({type(exc).__name__}: {exc}): delete "
            "it and fetch it again."
        ) from exc


def _gzip_bound(f):
    """Most bytes a gzip of the IDX file ``f`` can take (stored blocks, header and trailer)."""
    raw = 4 + 4 * len(f.shape) + int(np.prod(f.shape, dtype=np.int64))
    return raw + 5 * (raw // 16384 + 1) + 1024


def _cannot_write(exc):
    return isinstance(exc, (PermissionError, NotADirectoryError)) or exc.errno in (
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
    )


def fetch_idx_dataset(name, *, data_home, download_if_missing, subset):
    """Locate (or download), verify and read the IDX files of ``SPECS[name]``.

    Returns ``(images, labels, split_index, spec)``: arrays of the requested subset with the
    training rows first, and the number of training rows.
    """
    spec = SPECS[name]
    home = resolve_data_home(data_home)
    data_dir = join(home, spec.key)
    dirs = search_dirs(home, spec.key)
    parts = ("train", "test") if subset == "all" else (subset,)
    arrays, missing, tried = {}, [], []
    for part in parts:
        for f in spec.files[part]:
            path, t = find_file(dirs, (f.name + ".gz", f.name))
            tried.extend(t)
            if path is None:
                missing.append(f)
            else:
                arrays[f.name] = load_verified_idx(path, f, spec)

    if missing:
        errors = None
        if spec.archive is not None:
            zip_path, t = find_file(dirs, (spec.archive.name,))
            tried.extend(t)
            if zip_path is None and download_if_missing:
                zip_dest = join(data_dir, spec.archive.name)
                _, errors = download(
                    spec.archive.urls, zip_dest, archive_checksum=spec.archive.checksum
                )
                zip_path = None if errors else zip_dest
            if zip_path is not None:
                for f in missing:
                    arrays[f.name] = _extract_from_archive(spec, f, zip_path, data_dir)
                missing = []
        elif download_if_missing:
            for f in missing:
                result, errors = _download_idx(spec, f, data_dir)
                if errors:
                    break
                arrays[f.name] = result
            missing = [f for f in missing if f.name not in arrays]
        if missing:
            hint = spec.hint and f"{spec.hint}, or put the files (plain or .gz) into {data_dir}"
            if spec.archive is not None:
                hint = (
                    f"put NIST's {spec.archive.name} (or the .gz files it contains) into {data_dir}"
                )
            raise FileNotFoundError(
                not_found_message(
                    spec.title,
                    [f.name for f in missing],
                    tried,
                    data_dir=data_dir,
                    download_errors=errors,
                    hint=hint,
                    download_if_missing=download_if_missing,
                )
            )

    split_index = spec.files["train"][0].shape[0] if parts[0] == "train" else 0
    images = _stack([arrays.pop(spec.files[p][0].name) for p in parts], spec.transpose)
    labels = np.concatenate([arrays.pop(spec.files[p][1].name) for p in parts])
    return images, labels.astype(np.int64), split_index, spec


def _stack(parts, transpose):
    """Concatenate image arrays (transposing each image if asked) with one output allocation."""
    if len(parts) == 1 and not transpose:
        return parts[0]
    n, h, w = sum(len(p) for p in parts), parts[0].shape[1], parts[0].shape[2]
    out = np.empty((n, w, h) if transpose else (n, h, w), dtype=parts[0].dtype)
    start = 0
    while parts:
        part = parts.pop(0)  # drop each input as soon as it is copied
        out[start : start + len(part)] = part.transpose(0, 2, 1) if transpose else part
        start += len(part)
    return out


def make_bunch(images, target, *, split_index, subset, target_names, descr, as_float, return_X_y):
    """Assemble the fetchers' result; ``data`` is a flat view of ``images`` (no copy)."""
    if as_float:
        # In place of a second uint8 copy: float32 is 4x the memory already.
        images = np.multiply(images, np.float32(1 / 255), dtype=np.float32)
    n = images.shape[0]
    data = images.reshape(n, -1)
    if return_X_y:
        return data, target
    if images.ndim == 4:
        channels = ("r", "g", "b")
        feature_names = [
            f"pixel_{i}_{j}_{c}"
            for i in range(images.shape[1])
            for j in range(images.shape[2])
            for c in channels
        ]
    else:
        feature_names = [
            f"pixel_{i}_{j}" for i in range(images.shape[1]) for j in range(images.shape[2])
        ]
    return Bunch(
        data=data,
        target=target,
        images=images,
        target_names=np.asarray(target_names),
        feature_names=feature_names,
        subset=subset,
        split_index=split_index,
        DESCR=descr,
    )


# ---------------------------------------------------------------------------------------------
# Public fetchers
# ---------------------------------------------------------------------------------------------

_COMMON_PARAMS = {
    "data_home": [str, os.PathLike, None],
    "subset": [StrOptions({"train", "test", "all"})],
    "download_if_missing": ["boolean"],
    "return_X_y": ["boolean"],
    "as_float": ["boolean"],
}

_PARAMS_DOC = """data_home : str or path-like, default=None
        The data folder; ``None`` means ``$QUBOCLF_DATA`` or ``~/quboclf_data`` (see
        :func:`get_data_home`). Files are looked for in its ``{key}`` sub-folder, then in
        ``/usr/local/share/datasets/{key}`` and ``/usr/share/datasets/{key}``; downloads go to
        the data folder.

    subset : {{"train", "test", "all"}}, default="train"
        Which part to load. ``"all"`` is the training set followed by the test set; the
        boundary is returned as ``split_index``.

    download_if_missing : bool, default=True
        If a file is not found locally, download it from the official source (verified, see
        the user guide). If False, raise :class:`FileNotFoundError` instead.

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    as_float : bool, default=False
        If False, pixels are ``uint8`` in 0..255 (1 byte each). If True, they are ``float32``
        scaled to [0, 1] (4 bytes each)."""

_RETURNS_DOC = """data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : ndarray of shape (n_samples, {n_features})
            One row of pixels per image, row-major (``images.reshape(n_samples, -1)``, a view
            that shares memory with ``images``). ``uint8``, or ``float32`` if ``as_float``.
        target : ndarray of shape (n_samples,), dtype int64
            The labels.
        images : ndarray of shape (n_samples, {image_shape})
            The same pixels as images.
        target_names : ndarray of str
            ``target_names[label]`` is the name of class ``label``.
        feature_names : list of str
            Names of the columns of ``data`` (``pixel_<row>_<column>{channel}``).
        subset : str
            The ``subset`` that was loaded.
        split_index : int
            Rows ``[:split_index]`` are training images, the rest are test images (equal to
            ``n_samples`` for ``subset="train"`` and 0 for ``subset="test"``).
        DESCR : str
            Description of the data set, its source, licence and what was verified.

    (data, target) : tuple if ``return_X_y`` is True
        The arrays ``data`` and ``target`` described above."""

_RAISES_DOC = """FileNotFoundError
        If the files are neither in the data folder nor in a system folder and cannot be
        downloaded (or ``download_if_missing=False``). The message lists every path searched,
        the download errors and how to provide the files.
    DataIntegrityError
        (an ``OSError`` and ``ValueError``) if a file is truncated, corrupted, has the wrong
        number of samples or labels out of range, or fails its checksum. The message names the
        file."""


def _fill_doc(func, key, n_features="784", image_shape="28, 28", channel=""):
    func.__doc__ = func.__doc__.format(
        params=_PARAMS_DOC.format(key=key),
        returns=_RETURNS_DOC.format(
            n_features=n_features, image_shape=image_shape, channel=channel
        ),
        raises=_RAISES_DOC,
    )
    return func


def _fetch_mnist_like(name, *, data_home, subset, download_if_missing, return_X_y, as_float):
    images, target, split_index, spec = fetch_idx_dataset(
        name, data_home=data_home, download_if_missing=download_if_missing, subset=subset
    )
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


@validate_params(_COMMON_PARAMS, prefer_skip_nested_validation=True)
def fetch_mnist(
    *, data_home=None, subset="train", download_if_missing=True, return_X_y=False, as_float=False
):
    """Load the MNIST handwritten digits (60,000 training + 10,000 test images, 28x28).

    The four IDX files are looked for in the data folder and in system folders, then
    downloaded from the official mirrors if missing. Each downloaded ``.gz`` must match its
    published MD5; every file, local or downloaded, is checked for a valid IDX header, exactly
    the expected number of 28x28 images and labels, and labels in 0..9. Read the
    :ref:`datasets user guide <datasets>` for details.

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
    fetch_fashion_mnist, fetch_kmnist, fetch_emnist : Drop-in alternatives in the same format.
    sklearn.datasets.load_digits : 8x8 digits shipped with scikit-learn (no download).

    Examples
    --------
    >>> from quboclf.datasets import fetch_mnist
    >>> mnist = fetch_mnist(subset="all")  # doctest: +SKIP
    >>> mnist.data.shape, mnist.data.dtype, mnist.split_index  # doctest: +SKIP
    ((70000, 784), dtype('uint8'), 60000)
    """
    return _fetch_mnist_like(
        "mnist",
        data_home=data_home,
        subset=subset,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        as_float=as_float,
    )


@validate_params(_COMMON_PARAMS, prefer_skip_nested_validation=True)
def fetch_fashion_mnist(
    *, data_home=None, subset="train", download_if_missing=True, return_X_y=False, as_float=False
):
    """Load Fashion-MNIST (60,000 training + 10,000 test 28x28 images of clothing, 10 classes).

    The four IDX files are looked for in the data folder, then in system folders (Debian's
    ``dataset-fashion-mnist`` package installs them in ``/usr/share/datasets/fashion-mnist``),
    then downloaded from Zalando's server if missing. Every file must match the SHA-256 of
    its decompressed content (recompressed copies verify), and is checked for a valid IDX
    header, exactly the expected number of images and labels, and labels in 0..9. Read the
    :ref:`datasets user guide <datasets>` for details.

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
    fetch_mnist, fetch_kmnist, fetch_emnist : Other data sets in the same format.

    Examples
    --------
    >>> from quboclf.datasets import fetch_fashion_mnist
    >>> X, y = fetch_fashion_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y[:5]  # doctest: +SKIP
    ((10000, 784), array([9, 2, 1, 1, 6]))
    """
    return _fetch_mnist_like(
        "fashion-mnist",
        data_home=data_home,
        subset=subset,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        as_float=as_float,
    )


@validate_params(_COMMON_PARAMS, prefer_skip_nested_validation=True)
def fetch_kmnist(
    *, data_home=None, subset="train", download_if_missing=True, return_X_y=False, as_float=False
):
    """Load Kuzushiji-MNIST (60,000 training + 10,000 test 28x28 images of 10 hiragana).

    The four IDX files are looked for in the data folder and in system folders, then
    downloaded from the ROIS-DS CODH server if missing. Each downloaded ``.gz`` must match its
    published MD5; every file is checked for a valid IDX header, exactly the expected number of
    images and labels, and labels in 0..9. Read the :ref:`datasets user guide <datasets>` for
    details.

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
    fetch_mnist, fetch_fashion_mnist, fetch_emnist : Other data sets in the same format.

    Examples
    --------
    >>> from quboclf.datasets import fetch_kmnist
    >>> kmnist = fetch_kmnist()  # doctest: +SKIP
    >>> kmnist.images.shape, list(kmnist.target_names[:3])  # doctest: +SKIP
    ((60000, 28, 28), ['o', 'ki', 'su'])
    """
    return _fetch_mnist_like(
        "kmnist",
        data_home=data_home,
        subset=subset,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        as_float=as_float,
    )


@validate_params(
    {**_COMMON_PARAMS, "split": [StrOptions(set(_EMNIST_SPLITS))]},
    prefer_skip_nested_validation=True,
)
def fetch_emnist(
    *,
    split="balanced",
    data_home=None,
    subset="train",
    download_if_missing=True,
    return_X_y=False,
    as_float=False,
):
    """Load an EMNIST split (handwritten digits and letters, 28x28, MNIST format).

    The split's IDX files (``emnist-<split>-{{train,test}}-{{images-idx3,labels-idx1}}-ubyte``,
    plain or ``.gz``) are looked for in the data folder and in system folders; if missing they
    are extracted from NIST's ``gzip.zip`` (found locally, or downloaded once, about 540 MB, and
    checked against its published MD5), which holds every split. Every file is checked for a
    valid IDX header, exactly the split's number of images and labels, and the label range.
    The IDX files store images transposed; they are returned upright. Read the
    :ref:`datasets user guide <datasets>` for details.

    Parameters
    ----------
    split : {{"balanced", "byclass", "bymerge", "letters", "digits", "mnist"}}, \
default="balanced"
        Which EMNIST split: ``"balanced"`` (131,600 images, 47 balanced classes), ``"byclass"``
        (814,255, 62 unbalanced classes), ``"bymerge"`` (814,255, 47 unbalanced classes),
        ``"letters"`` (145,600, 26 classes labelled 1..26), ``"digits"`` (280,000, 10 classes),
        ``"mnist"`` (70,000, 10 classes).

    {params}

    Returns
    -------
    {returns}

    Raises
    ------
    {raises}

    See Also
    --------
    fetch_mnist, fetch_fashion_mnist, fetch_kmnist : Other data sets in the same format.

    Examples
    --------
    >>> from quboclf.datasets import fetch_emnist
    >>> emnist = fetch_emnist(split="balanced", subset="test")  # doctest: +SKIP
    >>> emnist.data.shape, len(emnist.target_names)  # doctest: +SKIP
    ((18800, 784), 47)
    """
    return _fetch_mnist_like(
        f"emnist-{split}",
        data_home=data_home,
        subset=subset,
        download_if_missing=download_if_missing,
        return_X_y=return_X_y,
        as_float=as_float,
    )


for _f, _key in (
    (fetch_mnist, "mnist"),
    (fetch_fashion_mnist, "fashion-mnist"),
    (fetch_kmnist, "kmnist"),
    (fetch_emnist, "emnist"),
):
    _fill_doc(_f, _key)
