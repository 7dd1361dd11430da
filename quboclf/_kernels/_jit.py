"""A numba ``njit`` that caches when it can and still compiles when it cannot.

``cache=True`` makes numba write compiled code next to the source (or to ``NUMBA_CACHE_DIR``).
On a read-only install with no usable cache directory numba raises at decoration time, which
would make ``import quboclf`` fail; we fall back to compiling in memory instead.
"""

import warnings

from numba import njit

__all__ = ["jit"]


def jit(*args, **kwargs):
    """``numba.njit(cache=True, nogil=True, ...)`` that degrades to ``cache=False``.

    ``nogil=True`` lets joblib's threading backend run kernels truly in parallel.
    """
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)

    def decorate(func):
        try:
            return njit(**kwargs)(func)
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            if not kwargs.get("cache"):
                raise
            warnings.warn(
                f"numba cannot cache {func.__qualname__} ({exc}); compiling in memory instead. "
                "Set NUMBA_CACHE_DIR to a writable directory to keep compiled kernels.",
                RuntimeWarning,
                stacklevel=2,
            )
            return njit(**{**kwargs, "cache": False})(func)

    if len(args) == 1 and callable(args[0]):
        return decorate(args[0])
    if args:
        raise TypeError("use @jit or @jit(**numba_options); explicit signatures are not supported")
    return decorate
