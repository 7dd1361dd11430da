"""Reader for the IDX format of the MNIST family (plain or gzip-compressed).

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian
uint32 dimensions, then the payload: ``prod(dims)`` big-endian values of the type, row-major.
"""

import gzip
import hashlib
import os
import sys
import zlib

import numpy as np

from ._errors import DataIntegrityError

__all__ = ["load_idx"]

#: IDX type code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22
#: the fix every damaged-file message ends with
_FIX = " If it is a downloaded data set file, delete it and fetch it again."


def _open_maybe_gzip(path):
    """Open ``path`` for binary reading, decompressing transparently if it is gzip data."""
    f = open(path, "rb")
    try:
        head = f.read(2)
        f.seek(0)
    except BaseException:
        f.close()
        raise
    if head == _GZIP_MAGIC:
        # Sniff the magic rather than trusting the extension: a renamed file still reads.
        return gzip.GzipFile(fileobj=f, mode="rb"), f
    return f, None


def _as_bytes(array):
    # reshape(-1) first: memoryview.cast refuses arrays with a zero-length axis.
    return array.reshape(-1).view(np.uint8)


def _read_exact(stream, buffer):
    """Fill the C-contiguous array ``buffer`` from ``stream``; return the number of bytes read."""
    view = memoryview(_as_bytes(buffer))
    n = 0
    while n < len(view):
        got = stream.readinto(view[n : n + _CHUNK])
        if not got:
            break
        n += got
    return n


def read_idx(path, *, hash_name=None, expected=None):
    """Read an IDX file; optionally hash its decompressed bytes (header and payload).

    ``expected`` is an optional callable ``(shape, dtype) -> None`` that may raise: it sees the
    header before a single payload byte is decompressed or allocated, so a crafted header cannot
    make a small file allocate gigabytes (a decompression bomb).

    Returns ``(array, hexdigest or None)``; ``array`` is native-endian, C-contiguous, writable.
    """
    path = os.fspath(path)
    stream, raw = _open_maybe_gzip(path)
    hasher = hashlib.new(hash_name) if hash_name else None
    try:
        array = _parse(stream, path, hasher, expected, raw)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataIntegrityError(
            f"{path!r} is not a valid gzip stream ({type(exc).__name__}: {exc}); the file is "
            "truncated or corrupted: delete it and fetch it again."
        ) from exc
    finally:
        stream.close()
        if raw is not None:
            raw.close()
    return array, (hasher.hexdigest() if hasher else None)


#: deflate cannot expand data more than about 1032-fold; a header promising more than this many
#: bytes per compressed byte describes a file that cannot be there.
_MAX_DEFLATE_RATIO = 1032


def _parse(stream, path, hasher, expected=None, raw=None):
    magic = stream.read(4)
    if len(magic) < 4:
        raise DataIntegrityError(
            f"{path!r} is too short to be an IDX file ({len(magic)} bytes; the 4-byte magic "
            f"number is missing).{_FIX}"
        )
    if magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise DataIntegrityError(
            f"{path!r} is not an IDX file: bad magic number 0x{magic.hex()} (expected "
            "0x0000TTNN with type TT in 08, 09, 0B, 0C, 0D, 0E and NN dimensions): pass an IDX "
            f"file such as train-images-idx3-ubyte[.gz].{_FIX}"
        )
    dtype = IDX_DTYPES[magic[2]]
    ndim = magic[3]
    if ndim == 0:
        raise DataIntegrityError(
            f"{path!r}: IDX header declares 0 dimensions; the header is corrupted.{_FIX}"
        )
    dims_raw = stream.read(4 * ndim)
    if len(dims_raw) < 4 * ndim:
        raise DataIntegrityError(
            f"{path!r}: IDX header declares {ndim} dimensions but the file ends after "
            f"{4 + len(dims_raw)} bytes, inside the dimension list (truncated file).{_FIX}"
        )
    shape = tuple(int(d) for d in np.frombuffer(dims_raw, dtype=">u4"))
    if hasher is not None:
        hasher.update(magic)
        hasher.update(dims_raw)
    n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    header = 4 + 4 * ndim
    if expected is not None:
        expected(shape, dtype.newbyteorder("="))
    if isinstance(stream, (gzip.GzipFile,)):
        compressed = os.fstat(raw.fileno()).st_size
        if n_bytes > _MAX_DEFLATE_RATIO * compressed + 1024:
            raise DataIntegrityError(
                f"{path!r}: IDX header declares shape {shape} ({n_bytes} bytes), more than "
                f"{compressed} compressed bytes can hold; the file is truncated or crafted."
                f"{_FIX}"
            )
    else:
        size_hint = os.fstat(stream.fileno()).st_size - header
        if size_hint != n_bytes:
            raise DataIntegrityError(_length_message(path, shape, dtype, n_bytes, size_hint))
    try:
        array = np.empty(shape, dtype=dtype)
    except (MemoryError, ValueError) as exc:
        raise DataIntegrityError(
            f"{path!r}: IDX header declares shape {shape} ({n_bytes} bytes), which cannot be "
            f"allocated; the header is probably corrupted.{_FIX}"
        ) from exc
    got = _read_exact(stream, array)
    if got < n_bytes:
        raise DataIntegrityError(_length_message(path, shape, dtype, n_bytes, got))
    if stream.read(1):
        extra = 1 + len(stream.read())
        raise DataIntegrityError(_length_message(path, shape, dtype, n_bytes, n_bytes + extra))
    if hasher is not None:
        hasher.update(_as_bytes(array))
    if dtype.itemsize > 1 and sys.byteorder == "little":
        array.byteswap(inplace=True)
        array = array.view(dtype.newbyteorder("<"))
    elif dtype.itemsize == 1:
        array = array.view(dtype.newbyteorder("="))
    return array


def _length_message(path, shape, dtype, expected, got):
    kind = "truncated" if got < expected else "has trailing bytes"
    return (
        f"{path!r} {kind}: its IDX header declares shape {shape} of {dtype.name} "
        f"({expected} payload bytes) but the payload has {got} bytes. The file is corrupted or "
        "incomplete: delete it and fetch it again."
    )


def load_idx(path):
    """Read an IDX file (the MNIST family's format), plain or gzip-compressed.

    IDX files hold one n-dimensional array: a magic number ``0x0000TTNN`` (type code ``TT``,
    ``NN`` dimensions), ``NN`` big-endian 32-bit sizes, then the values, big-endian and
    row-major. Every IDX type is supported: unsigned byte (0x08), signed byte (0x09), short
    (0x0B), int (0x0C), float (0x0D) and double (0x0E). Compression is detected from the gzip
    magic bytes, not from the file name.

    The file is validated as it is read: the magic number, the dimension list, and that the
    payload holds exactly ``prod(shape)`` values (no fewer, no more), so a truncated or padded
    file raises instead of returning a short or misaligned array.

    Parameters
    ----------
    path : str or path-like
        The IDX file, e.g. ``"train-images-idx3-ubyte"`` or ``"train-images-idx3-ubyte.gz"``.

    Returns
    -------
    array : ndarray
        Native-endian, C-contiguous, writable array with the shape of the header and the
        dtype of the type code (``uint8``, ``int8``, ``int16``, ``int32``, ``float32`` or
        ``float64``).

    Raises
    ------
    DataIntegrityError
        (an ``OSError`` and ``ValueError``) if the magic number is wrong, the header is cut
        short, the payload is shorter or longer than the header says, or the gzip stream is
        corrupted. The message names the file.
    FileNotFoundError
        If ``path`` does not exist.

    See Also
    --------
    fetch_mnist, fetch_fashion_mnist : Load whole data sets stored as IDX files.

    Examples
    --------
    >>> import gzip, os, struct, tempfile
    >>> import numpy as np
    >>> from quboclf.datasets import load_idx
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "tiny-idx2-ubyte.gz")
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(struct.pack(">BBBBII", 0, 0, 0x08, 2, 2, 3) + bytes(range(6)))
    >>> load_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    >>> with open(path, "wb") as f:  # an int32 vector, uncompressed
    ...     _ = f.write(struct.pack(">BBBBIiii", 0, 0, 0x0C, 1, 3, -1, 0, 7))
    >>> load_idx(path)
    array([-1,  0,  7], dtype=int32)
    """
    return read_idx(path)[0]
