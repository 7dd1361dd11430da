"""Exceptions raised by the data set loaders."""

__all__ = ["DataIntegrityError"]


class DataIntegrityError(OSError, ValueError):
    """A data file is truncated, corrupted, malformed or fails its checksum.

    Subclasses both :class:`OSError` (a file problem, as from :func:`open`) and
    :class:`ValueError` (bad content), like :class:`io.UnsupportedOperation`. The message names
    the file and says what to do about it.
    """
