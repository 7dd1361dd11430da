"""Data home, file lookup, verified downloads and checksums shared by every fetcher."""

import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import urllib.request
from os.path import expanduser, join

from sklearn.utils._param_validation import validate_params

from ._errors import DataIntegrityError

__all__ = ["get_data_home"]

logger = logging.getLogger("quboclf.datasets")

#: Environment variable that overrides the default data home.
DATA_HOME_ENV = "QUBOCLF_DATA"

#: Read-only system folders searched after the data home, one sub-folder per data set
#: (Debian's ``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist``).
SYSTEM_DIRS = ("/usr/local/share/datasets", "/usr/share/datasets")

#: Seconds to wait for a server before giving up on a mirror.
TIMEOUT = 60

_COPY_CHUNK = 1 << 20


@validate_params({"data_home": [str, os.PathLike, None]}, prefer_skip_nested_validation=True)
def get_data_home(data_home=None):
    """Return the path of the quboclf data folder, creating it if needed.

    Downloaded data sets are stored here, one sub-folder per data set (``mnist``,
    ``fashion-mnist``, ``kmnist``, ``emnist``, ``cifar-10``); it is also the first place the
    fetchers look for files you put there yourself. The folder is, in order of precedence:
    the ``data_home`` argument, the ``QUBOCLF_DATA`` environment variable, or
    ``~/quboclf_data``. ``~`` is expanded.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to use. ``None`` means ``$QUBOCLF_DATA`` or ``~/quboclf_data``.

    Returns
    -------
    data_home : str
        The absolute path of the data folder (it exists on return).

    See Also
    --------
    fetch_mnist, fetch_fashion_mnist, fetch_kmnist, fetch_emnist, fetch_cifar10

    Examples
    --------
    >>> import os, tempfile
    >>> from quboclf.datasets import get_data_home
    >>> folder = os.path.join(tempfile.mkdtemp(), "my_data")
    >>> get_data_home(folder) == folder and os.path.isdir(folder)
    True
    """
    path = resolve_data_home(data_home)
    os.makedirs(path, exist_ok=True)
    return path


def resolve_data_home(data_home=None):
    """Like :func:`get_data_home` but never creates the folder (reading needs no write access)."""
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or join("~", "quboclf_data")
    return os.path.abspath(expanduser(os.fspath(data_home)))


def search_dirs(data_home, subdir):
    """Folders searched for a data set's files, in order: data home, then system folders."""
    return [join(data_home, subdir)] + [join(d, subdir) for d in SYSTEM_DIRS]


def find_file(dirs, names):
    """First existing ``dir/name`` over ``dirs`` (outer) and ``names`` (inner); also the tries."""
    tried = []
    for d in dirs:
        for name in names:
            path = join(d, name)
            tried.append(path)
            if os.path.isfile(path):
                return path, tried
    return None, tried


def check_digest(path, what, expected, actual):
    """Raise a clear error when a checksum does not match."""
    algo, hexdigest = expected
    if actual != hexdigest:
        raise DataIntegrityError(
            f"Checksum mismatch for {what} in {path!r}: {algo} is {actual}, expected "
            f"{hexdigest}. The file is corrupted or is not the official release: delete it and "
            "fetch it again."
        )


def file_digest(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_COPY_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def download(urls, dest, *, archive_checksum=None, verify=None):
    """Download the first URL of ``urls`` that works to ``dest``, verified, atomically.

    The bytes go to a hidden temporary file next to ``dest``; ``archive_checksum``
    (``(algo, hexdigest)`` of the file as served) is checked, then ``verify(tmp_path, url)``
    (which may decompress and check the payload; its return value is returned), and only then
    is the file renamed to ``dest``. Any failure removes the temporary file, so an interrupted
    download never leaves a file a later call would trust.

    Returns ``(verify_result, None)`` on success or ``(None, errors)`` with one line per
    failed mirror when no URL could be fetched. Verification failures of a completely
    downloaded file raise :class:`DataIntegrityError` at once (a mirror serving bad data).
    """
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(dest)}.", suffix=".part")
        try:
            try:
                with os.fdopen(fd, "wb") as out:
                    digest = _fetch(url, out, archive_checksum)
            except (OSError, ValueError, EOFError, http.client.HTTPException) as exc:
                # URLError/HTTPError/timeouts/short reads are OSErrors: try the next mirror.
                errors.append(f"{url}: {type(exc).__name__}: {exc}")
                continue
            if archive_checksum is not None:
                check_digest(url, "the downloaded file", archive_checksum, digest)
            result = verify(tmp, url) if verify is not None else None
            os.replace(tmp, dest)
            logger.info("Saved %s", dest)
            return result, None
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    return None, errors


def _fetch(url, out, archive_checksum):
    logger.info("Downloading %s", url)
    hasher = hashlib.new(archive_checksum[0]) if archive_checksum else None
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        length = response.headers.get("Content-Length") if hasattr(response, "headers") else None
        n = 0
        while True:
            chunk = response.read(_COPY_CHUNK)
            if not chunk:
                break
            out.write(chunk)
            n += len(chunk)
            if hasher is not None:
                hasher.update(chunk)
    if length is not None and str(length).isdigit() and int(length) != n:
        raise EOFError(f"connection closed after {n} of {int(length)} bytes")
    if n == 0:
        raise EOFError("the server sent an empty file")
    return hasher.hexdigest() if hasher else None


def copy_member_atomically(source, dest, verify=None):
    """Write the readable binary stream ``source`` to ``dest`` via a verified temporary file."""
    folder = os.path.dirname(dest)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(dest)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, _COPY_CHUNK)
        result = verify(tmp) if verify is not None else None
        os.replace(tmp, dest)
        return result
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def not_found_message(
    title, missing, tried, *, data_dir, download_errors=None, hint=None, download_if_missing=True
):
    """The message of the error raised when a data set's files cannot be found or fetched."""
    lines = [f"{title}: could not find {', '.join(repr(m) for m in missing)}."]
    lines.append("Searched (plain or .gz):")
    lines.extend(f"  {p}" for p in tried)
    if download_errors:
        lines.append("Downloading failed:")
        lines.extend(f"  {e}" for e in download_errors)
    elif not download_if_missing:
        lines.append("Downloading was not attempted (download_if_missing=False).")
    lines.append("To fix this:")
    if hint:
        lines.append(f"  - {hint}")
    else:
        lines.append(f"  - put the files (plain or gzip-compressed) into {data_dir}")
    if download_if_missing:
        lines.append("  - or retry where the download URLs above are reachable")
    else:
        lines.append("  - or call again with download_if_missing=True (needs network access)")
    lines.append("  (data_home= or $QUBOCLF_DATA chooses the data folder.)")
    return "\n".join(lines)
