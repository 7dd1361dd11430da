"""Data home, file lookup, verified downloads and checksums shared by every fetcher."""

import errno
import hashlib
import http.client
import logging
import os
import shutil
import socket
import tempfile
import time
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
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise _data_folder_error(path, exc) from exc
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


# ---------------------------------------------------------------------------------------------
# Writing into the data folder: clear errors, normal permissions, no stale temporary files

#: Temporary files of a killed process are removed by the next call after this many seconds
#: when their owner cannot be checked (another host, an old name).
STALE_PART_SECONDS = 3600

_HOST = socket.gethostname().replace(".", "_").replace("-", "_") or "host"


def _umask():
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no other way to read it; restored at once
    os.umask(mask)
    return mask


def _publish(tmp, dest):
    """Give ``tmp`` the mode a plain ``open(dest, "w")`` would (not mkstemp's 0600); rename it."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, dest)


def _data_folder_error(folder, exc):
    """``exc`` (from creating ``folder`` or a file in it) as an error that names the fix."""
    fix = (
        "pass data_home= (or set $QUBOCLF_DATA, or --data-home on the command line) to a "
        "folder you can write to"
    )
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        blocker = folder
        while blocker and not os.path.exists(blocker):
            blocker = os.path.dirname(blocker)
        if blocker and os.path.exists(blocker) and not os.path.isdir(blocker):
            msg = (
                f"the data folder {folder!r} cannot be created because {blocker!r} is a file, "
                f"not a folder: {fix}."
            )
        else:
            msg = f"the data folder {folder!r} cannot be created ({exc.strerror}): {fix}."
        return NotADirectoryError(exc.errno, msg)
    msg = (
        f"cannot write into the data folder {folder!r} ({exc.strerror or exc}): {fix}, or put "
        "the data set's files there by hand."
    )
    return type(exc)(exc.errno, msg) if isinstance(exc, PermissionError) else OSError(
        exc.errno, msg
    )


_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST)


def _temporary_file(dest):
    """A hidden temporary file next to ``dest``; ``(fd, path)``. Cleans stale ones first."""
    folder = os.path.dirname(dest)
    try:
        os.makedirs(folder, exist_ok=True)
        _remove_stale_parts(dest)
        return tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(dest)}.{_HOST}-{os.getpid()}.", suffix=".part"
        )
    except OSError as exc:
        if exc.errno in _NOT_WRITABLE or isinstance(exc, (PermissionError, NotADirectoryError)):
            raise _data_folder_error(folder, exc) from exc
        raise


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell: keep it)
    return True


def _remove_stale_parts(dest):
    """Remove temporary files a killed download or extraction of ``dest`` left behind.

    Names carry ``<host>-<pid>``: a file of this host whose process is gone is stale at once;
    one of another host (a shared folder) or without that tag only after an hour.
    """
    folder, base = os.path.split(dest)
    prefix = f".{base}."
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".part")]
    except OSError:
        return
    now = time.time()
    for name in names:
        path = os.path.join(folder, name)
        tag = name[len(prefix) :].split(".", 1)[0]
        host, _, pid = tag.rpartition("-")
        try:
            if host == _HOST and pid.isdigit():
                stale = not _pid_alive(int(pid))
            else:
                stale = now - os.stat(path).st_mtime > STALE_PART_SECONDS
            if stale:
                os.remove(path)
                logger.info("Removed %s, left by an interrupted download or extraction", path)
        except OSError:
            pass  # removed meanwhile, or not ours to remove


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
    errors = []
    for url in urls:
        fd, tmp = _temporary_file(dest)
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
            _publish(tmp, dest)
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
    fd, tmp = _temporary_file(dest)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, _COPY_CHUNK)
        result = verify(tmp) if verify is not None else None
        _publish(tmp, dest)
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
