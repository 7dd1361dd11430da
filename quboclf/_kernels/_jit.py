"""A numba ``njit`` that caches when it can and still compiles when it cannot.

``cache=True`` makes numba write compiled code next to the source (or to ``NUMBA_CACHE_DIR``).
On a read-only install with no usable cache directory numba raises at decoration time, which
would make ``import quboclf`` fail; we fall back to compiling in memory instead. A cache that
was usable at import can still fail later, at a kernel's first call: the directory removed or
replaced, a full disk, a truncated or corrupt index file. Numba lets those errors escape from the
call (outside Windows), so each kernel's cache is also made tolerant: a failed read or write
warns once, disables that kernel's cache and compiles in memory.
"""

import warnings

from numba import njit
from numba.core.caching import FunctionCache

__all__ = ["jit"]


class _TolerantCache(FunctionCache):
    """numba's per-function cache, where any load or save error disables the cache."""

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except Exception as exc:  # OSError, or an unpickling error from a corrupt file
            self._give_up("read", exc)
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception as exc:
            self._give_up("write", exc)

    def _give_up(self, action, exc):
        self.disable()
        warnings.warn(
            f"numba cannot {action} its cache for {self._py_func.__qualname__} in "
            f"{self.cache_path!r} ({type(exc).__name__}: {exc}); compiling in memory instead. "
            "Set NUMBA_CACHE_DIR to a writable directory to keep compiled kernels.",
            RuntimeWarning,
            stacklevel=2,
        )


def jit(*args, **kwargs):
    """``numba.njit(cache=True, nogil=True, ...)`` that degrades to ``cache=False``.

    ``nogil=True`` lets joblib's threading backend run kernels truly in parallel.
    """
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)

    def decorate(func):
        try:
            dispatcher = njit(**kwargs)(func)
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
        cache = getattr(dispatcher, "_cache", None)
        if type(cache) is FunctionCache:
            # Same state, tolerant load/save (numba's own guard only exists on Windows).
            cache.__class__ = _TolerantCache
        return dispatcher

    if len(args) == 1 and callable(args[0]):
        return decorate(args[0])
    if args:
        raise TypeError("use @jit or @jit(**numba_options); explicit signatures are not supported")
    return decorate
