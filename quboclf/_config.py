"""Global settings of quboclf: :func:`set_config`, :func:`get_config`, :func:`config_context`.

Modelled on :func:`sklearn.set_config`: the settings are per thread (a thread starts from the
global values), and :func:`config_context` changes them for a ``with`` block.
"""

import threading
from contextlib import contextmanager
from numbers import Integral

__all__ = ["config_context", "get_config", "set_config"]

_global_config = {"blas_threads": 1}
_local = threading.local()


def _config():
    if not hasattr(_local, "config"):
        _local.config = _global_config.copy()
    return _local.config


def _check_blas_threads(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(
            f"blas_threads must be a positive int or None (leave the BLAS threads as they are), "
            f"got {value!r}"
        )
    return int(value)


def get_config():
    """The current settings, as a dict (a copy).

    Returns
    -------
    config : dict
        ``{"blas_threads": ...}``; see :func:`set_config`.

    Examples
    --------
    >>> import quboclf
    >>> quboclf.get_config()
    {'blas_threads': 1}
    """
    return _config().copy()


def set_config(blas_threads=None):
    """Change quboclf's global settings (only those given).

    Parameters
    ----------
    blas_threads : int, "unlimited" or None, default=None
        BLAS threads (OpenBLAS, MKL, BLIS; set with threadpoolctl) inside every ``fit`` and
        :meth:`~quboclf.QUBOCNNClassifier.get_qubos`, restored afterwards. The default setting
        is 1: matrix products and factorisations round differently with different thread
        counts, so one thread makes models bit-for-bit reproducible on any machine, and on a
        busy machine more threads were measured to be slower. ``"unlimited"`` leaves the BLAS
        threads as they are (e.g. as ``OPENBLAS_NUM_THREADS`` set them). ``None`` leaves the
        setting unchanged.

    Examples
    --------
    >>> import quboclf
    >>> quboclf.set_config(blas_threads=2)
    >>> quboclf.get_config()["blas_threads"]
    2
    >>> quboclf.set_config(blas_threads=1)
    """
    if blas_threads is not None:
        value = None if blas_threads == "unlimited" else _check_blas_threads(blas_threads)
        _config()["blas_threads"] = value
        _global_config["blas_threads"] = value


@contextmanager
def config_context(*, blas_threads=None):
    """Change the settings within a ``with`` block (this thread only), as :func:`set_config`.

    Parameters
    ----------
    blas_threads : int, "unlimited" or None, default=None
        See :func:`set_config`.

    Examples
    --------
    >>> import quboclf
    >>> with quboclf.config_context(blas_threads=2):
    ...     quboclf.get_config()["blas_threads"]
    2
    >>> quboclf.get_config()["blas_threads"]
    1
    """
    config = _config()
    old = config.copy()
    if blas_threads is not None:
        config["blas_threads"] = (
            None if blas_threads == "unlimited" else _check_blas_threads(blas_threads)
        )
    try:
        yield
    finally:
        config.clear()
        config.update(old)
