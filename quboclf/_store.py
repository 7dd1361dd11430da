"""Rows on disk: where ``fit`` keeps the features of a training set larger than memory.

:class:`DiskRows` is a 2-D array of rows in an anonymous temporary file, written and read a
chunk at a time. The classifier's passes (Gram matrix, gradients, losses) only ever ask for a
slice of rows, so memory holds one chunk whatever the number of rows.
"""

import errno
import os
import shutil
import tempfile

import numpy as np

__all__ = ["DiskRows", "check_feature_chunk", "rows"]


def _gib(n_bytes):
    if n_bytes < 2**30:
        return f"{n_bytes / 2**20:.1f} MiB"
    return f"{n_bytes / 2**30:.2f} GiB"


class DiskRows:
    """A ``(n, d)`` array of rows in an anonymous temporary file, accessed a chunk at a time.

    The file is unlinked as soon as it is created, so it disappears when the store is closed,
    garbage-collected, or the process dies: a failed or interrupted fit leaves nothing behind.
    Reads go into fresh arrays with plain file reads (no memory mapping whose pages would count
    towards the process's memory), so memory holds only the rows asked for.

    Parameters
    ----------
    shape : tuple of (int, int)
        Rows and columns.
    dtype : numpy dtype
        Element type.
    folder : str or path-like, default=None
        Folder of the temporary file; ``None`` is :func:`tempfile.gettempdir` (``TMPDIR``).

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._store import DiskRows
    >>> with DiskRows((5, 2), np.float32) as store:
    ...     store[0:5] = np.arange(10).reshape(5, 2)
    ...     store[1:3].tolist(), store[np.array([4, 0])].tolist()
    ([[2.0, 3.0], [4.0, 5.0]], [[8.0, 9.0], [0.0, 1.0]])
    """

    ndim = 2

    def __init__(self, shape, dtype, folder=None):
        n, d = (int(s) for s in shape)
        self.shape = (n, d)
        self.dtype = np.dtype(dtype)
        self._row_bytes = d * self.dtype.itemsize
        folder = tempfile.gettempdir() if folder is None else os.fspath(folder)
        if not os.path.isdir(folder):
            raise ValueError(
                f"temp_folder={folder!r} is not an existing folder. Pass a folder with room for "
                f"the features ({_gib(n * self._row_bytes)}), or None for the system's "
                "temporary folder."
            )
        self.folder = folder
        need = n * self._row_bytes
        free = shutil.disk_usage(folder).free
        if need > free:
            raise OSError(errno.ENOSPC, self._no_room(need, free))
        self._file = tempfile.TemporaryFile(dir=folder, buffering=0)
        if need and hasattr(os, "posix_fallocate"):
            # reserve the blocks now, so a full disk fails here and not halfway through a pass
            try:
                os.posix_fallocate(self._file.fileno(), 0, need)
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    self.close()
                    raise OSError(errno.ENOSPC, self._no_room(need, free)) from exc
                # the file system cannot preallocate (EOPNOTSUPP, EINVAL): write as we go

    def _no_room(self, need, free):
        return (
            f"Not enough free disk space in {self.folder!r} for the training features: they "
            f"need {_gib(need)} and {_gib(free)} are free. Pass temp_folder= a folder with room "
            "(or set TMPDIR), a smaller feature extractor, or feature_cache='memory' if they fit "
            "in memory."
        )

    def __len__(self):
        return self.shape[0]

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "DiskRows holds rows on disk and is read a chunk at a time: index it with a slice "
            "of rows or an array of row indices."
        )

    def _read_into(self, out, row):
        view = memoryview(out).cast("B")
        offset, got = row * self._row_bytes, 0
        while got < len(view):
            self._file.seek(offset + got)
            n = self._file.readinto(view[got:])
            if not n:
                raise OSError(errno.EIO, f"the feature file in {self.folder!r} ended early")
            got += n

    def __getitem__(self, key):
        n, d = self.shape
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step != 1:
                raise IndexError("DiskRows reads contiguous slices of rows (step 1) only")
            out = np.empty((max(0, stop - start), d), dtype=self.dtype)
            if out.size:
                self._read_into(out, start)
            return out
        idx = np.asarray(key)
        if idx.ndim != 1 or idx.dtype.kind not in "iu":
            raise IndexError("DiskRows takes a slice of rows or a 1-D array of row indices")
        idx = np.where(idx < 0, idx + n, idx)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        out = np.empty((idx.shape[0], d), dtype=self.dtype)
        for i, row in enumerate(idx):
            self._read_into(out[i], int(row))
        return out

    def __setitem__(self, key, value):
        n, d = self.shape
        if not isinstance(key, slice) or key.indices(n)[2] != 1:
            raise IndexError("DiskRows is written a contiguous slice of rows at a time")
        start, stop, _ = key.indices(n)
        value = np.ascontiguousarray(value, dtype=self.dtype)
        if value.shape != (max(0, stop - start), d):
            raise ValueError(f"cannot write an array of shape {value.shape} to rows {start}:{stop}")
        view = memoryview(value).cast("B")
        offset, done = start * self._row_bytes, 0
        while done < len(view):
            self._file.seek(offset + done)
            try:
                done += self._file.write(view[done:])
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    need = n * self._row_bytes
                    free = shutil.disk_usage(self.folder).free
                    raise OSError(errno.ENOSPC, self._no_room(need, free)) from exc
                raise

    def close(self):
        """Delete the file (idempotent)."""
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def rows(Z, key):
    """Rows ``key`` of ``Z`` (array, memmap or :class:`DiskRows`) as a float array.

    Float32 stays float32 (the passes are memory-bound: half the bytes); every other dtype
    becomes float64, so integer data (a ``uint8`` memmap of images, say) is converted a chunk
    at a time, never as a whole.
    """
    block = np.asarray(Z[key])
    if block.dtype != np.float32 and block.dtype != np.float64:
        block = block.astype(np.float64)
    return block


def check_feature_chunk(features, Zb, n_rows):
    """A feature extractor's output for ``n_rows`` rows as a 2-D array, or a clear error.

    Refuses what the head cannot train on, in memory and on disk alike: sparse matrices (the
    passes read dense chunks), anything but one row per sample, and zero columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from quboclf._store import check_feature_chunk
    >>> check_feature_chunk(FunctionTransformer(), np.ones((2, 3)), 2).shape
    (2, 3)
    >>> check_feature_chunk(FunctionTransformer(), np.ones((2, 0)), 2)
    Traceback (most recent call last):
    ...
    ValueError: the feature extractor FunctionTransformer returned 0 features per sample; ...
    """
    name = type(features).__name__
    if hasattr(Zb, "toarray") or hasattr(Zb, "tocsr"):  # scipy.sparse matrix or array
        raise TypeError(
            f"the feature extractor {name} returned a sparse {type(Zb).__name__} of shape "
            f"{getattr(Zb, 'shape', None)}; the classifier needs dense features. Make it return "
            "a dense array (e.g. sparse_output=False / sparse=False, or add "
            "FunctionTransformer(lambda Z: Z.toarray(), accept_sparse=True) after it)."
        )
    Zb = np.asarray(Zb)
    if Zb.ndim != 2 or Zb.shape[0] != n_rows:
        raise ValueError(
            f"the feature extractor {name} returned an array of shape {Zb.shape} for {n_rows} "
            "rows; it must return one row of features per sample."
        )
    if Zb.shape[1] == 0:
        raise ValueError(
            f"the feature extractor {name} returned 0 features per sample; the classifier "
            "needs at least one. Check its parameters (e.g. a selector that keeps no column)."
        )
    if Zb.dtype.kind not in "biuf":
        raise TypeError(
            f"the feature extractor {name} returned an array of dtype {Zb.dtype}; the "
            "classifier needs numeric features."
        )
    return Zb
