"""A numba ``njit`` that caches outside the installed package and still compiles when it cannot.

Where compiled kernels go (the first usable place wins; see the user guide, "Installation and
the numba cache"):

1. ``$NUMBA_CACHE_DIR`` when the user set it (numba's own rule);
2. the user's cache folder, ``$XDG_CACHE_HOME/quboclf/numba`` (``~/.cache/quboclf/numba`` on
   Linux, ``~/Library/Caches/quboclf/numba`` on macOS, ``%LOCALAPPDATA%\\quboclf\\Cache\\numba``
   on Windows), one sub-folder per installed copy of the package;
3. ``quboclf/_kernels/__pycache__`` of a source checkout (never of an installed package: files
   numba adds to ``site-packages`` outlive ``pip uninstall`` and a leftover ``quboclf`` folder
   shadows any other install of the package as an empty namespace package).

With none usable, numba would raise at decoration time and ``import quboclf`` would fail; we
compile in memory instead. A cache that was usable at import can still fail at a kernel's first
call: the folder removed or replaced, a full disk. Numba lets those errors escape from the call
(outside Windows), so each kernel's cache is tolerant: a failed read or write warns once, disables
that kernel's cache and compiles in memory. A corrupt cache file (a killed write, a truncated copy)
is deleted and written afresh once compiled, instead of failing and recompiling in every process.

Numba's dispatcher also loses a Ctrl-C: a ``KeyboardInterrupt`` raised while a ``nogil`` kernel
ran surfaces as ``SystemError: ... returned a result with an exception set``. Our dispatchers
re-raise the ``KeyboardInterrupt`` itself.
"""

import os
import warnings

from numba import njit
from numba.core.caching import CompileResultCacheImpl, FunctionCache

try:
    from numba.core.caching import (
        InTreeCacheLocator,
        UserProvidedCacheLocator,
        UserWideCacheLocator,
    )
except ImportError:  # numba < 0.60 names them with a leading underscore
    from numba.core.caching import _InTreeCacheLocator as InTreeCacheLocator
    from numba.core.caching import _UserProvidedCacheLocator as UserProvidedCacheLocator
    from numba.core.caching import _UserWideCacheLocator as UserWideCacheLocator
from numba.core.registry import CPUDispatcher
from numba.misc.appdirs import user_cache_dir

__all__ = ["cache_root", "jit"]

_INSTALL_DIRS = {"site-packages", "dist-packages"}


def cache_root():
    """The folder quboclf's kernels are cached in when ``NUMBA_CACHE_DIR`` is not set.

    Returns
    -------
    path : str
        ``<user cache folder>/quboclf/numba`` (``$XDG_CACHE_HOME`` on Linux).

    Examples
    --------
    >>> from quboclf._kernels._jit import cache_root
    >>> cache_root().endswith("numba")
    True
    """
    return os.path.join(user_cache_dir("quboclf", appauthor=False), "numba")


def _installed(py_file):
    """Whether ``py_file`` lies in an installed tree (``site-packages``/``dist-packages``)."""
    parts = os.path.normcase(os.path.abspath(py_file)).split(os.sep)
    return bool(_INSTALL_DIRS & set(parts))


def _remove_in_tree_cache():
    """Delete numba files an older quboclf wrote into this installed package (best effort).

    They kept ``pip uninstall`` from removing the ``quboclf`` folder; removing them at import
    lets an upgraded install be uninstalled cleanly.
    """
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if not _installed(folder):
        return
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if name.endswith((".nbi", ".nbc")):
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass


class _UserCacheLocator(UserWideCacheLocator):
    """numba's user-wide locator, in quboclf's own folder of the user cache."""

    def __init__(self, py_func, py_file):
        super().__init__(py_func, py_file)
        self._cache_path = os.path.join(cache_root(), self.get_suitable_cache_subpath(py_file))


class _SourceTreeCacheLocator(InTreeCacheLocator):
    """``__pycache__`` next to the source, for source checkouts only."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if _installed(py_file):
            return None
        return super().from_function(py_func, py_file)


class _CacheImpl(CompileResultCacheImpl):
    _locator_classes = [UserProvidedCacheLocator, _UserCacheLocator, _SourceTreeCacheLocator]


class _TolerantCache(FunctionCache):
    """numba's per-function cache: outside the package, repaired when corrupt, never fatal."""

    _impl_class = _CacheImpl

    def load_overload(self, sig, target_context):
        try:
            return super().load_overload(sig, target_context)
        except OSError as exc:  # the folder removed, replaced by a file, unreadable
            self._give_up("read", exc)
        except Exception as exc:  # unpickling errors of a corrupt file
            self._repair(exc)
        return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception as exc:
            self._give_up("write", exc)

    def _files(self):
        cache_file = self._cache_file
        base = cache_file._index_name[: -len(".nbi")]
        try:
            names = os.listdir(self._cache_path)
        except OSError:
            names = []
        data = [n for n in names if n.startswith(base + ".") and n.endswith(".nbc")]
        return [cache_file._index_path] + [os.path.join(self._cache_path, n) for n in data]

    def _repair(self, exc):
        """Delete this kernel's corrupt index and data files; compile and save them afresh."""
        try:
            for path in self._files():
                if os.path.lexists(path):
                    os.remove(path)
        except OSError as err:
            self.disable()
            warnings.warn(
                f"numba's cache for {self._py_func.__qualname__} in {self.cache_path!r} is "
                f"corrupt ({type(exc).__name__}: {exc}) and could not be deleted ({err}); "
                f"compiling in memory instead. Delete the folder {self.cache_path!r} to let "
                "numba cache this kernel again.",
                RuntimeWarning,
                stacklevel=3,
            )
            return
        warnings.warn(
            f"numba's cache for {self._py_func.__qualname__} in {self.cache_path!r} was corrupt "
            f"({type(exc).__name__}: {exc}); deleted it, compiling once and caching afresh.",
            RuntimeWarning,
            stacklevel=3,
        )

    def _give_up(self, action, exc):
        self.disable()
        warnings.warn(
            f"numba cannot {action} its cache for {self._py_func.__qualname__} in "
            f"{self.cache_path!r} ({type(exc).__name__}: {exc}); compiling in memory instead. "
            "Make that folder writable, or set NUMBA_CACHE_DIR to a writable folder, to keep "
            "compiled kernels.",
            RuntimeWarning,
            stacklevel=3,
        )


class _Dispatcher(CPUDispatcher):
    """A CPU dispatcher whose calls from Python pass a Ctrl-C on as ``KeyboardInterrupt``."""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except SystemError as exc:
            # numba's wrapper returns normally while the signal handler, run when it takes the
            # GIL back, has set KeyboardInterrupt: CPython reports that as SystemError.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, KeyboardInterrupt):
                raise cause.with_traceback(None) from None
            raise


def _no_cache_warning(qualname, reason):
    warnings.warn(
        f"numba cannot cache {qualname} ({reason}); compiling in memory instead. Set "
        f"NUMBA_CACHE_DIR to a writable folder (or make {cache_root()!r} writable) to keep "
        "compiled kernels.",
        RuntimeWarning,
        stacklevel=3,
    )


def jit(*args, **kwargs):
    """``numba.njit(cache=True, nogil=True, ...)`` that degrades to ``cache=False``.

    ``nogil=True`` lets joblib's threading backend run kernels truly in parallel. The cache goes
    to the first usable place listed in this module's docstring.
    """
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)

    def decorate(func):
        cache = kwargs["cache"]
        dispatcher = njit(**{**kwargs, "cache": False})(func)
        if type(dispatcher) is CPUDispatcher:
            dispatcher.__class__ = _Dispatcher
        if cache:
            try:
                dispatcher._cache = _TolerantCache(dispatcher.py_func)
            except RuntimeError as exc:  # "cannot cache function ...: no locator available"
                _no_cache_warning(func.__qualname__, exc)
        return dispatcher

    if len(args) == 1 and callable(args[0]):
        return decorate(args[0])
    if args:
        raise TypeError("use @jit or @jit(**numba_options); explicit signatures are not supported")
    return decorate


_remove_in_tree_cache()
