"""Input checks and failure handling shared by the estimators' ``fit``."""

import copy
from contextlib import contextmanager

import numpy as np
from sklearn.utils.validation import validate_data

__all__ = ["unchanged_on_failure", "validate_numeric"]


@contextmanager
def unchanged_on_failure(estimator):
    """Restore ``estimator``'s attributes if the block raises.

    ``validate_data(reset=True)`` sets ``n_features_in_`` before the data are even checked, and a
    fit may fail anywhere after that (bad values, a sampler that loses its connection). Wrapping
    the body of ``fit`` in this makes a failed fit leave the estimator exactly as it was: still
    unfitted, or with its previous model. Attributes are restored by reference, so ``fit`` must
    rebind fitted attributes rather than mutate them in place. Every ``RandomState`` or
    ``Generator`` among the estimator's parameters (nested ones included) gets back the state it
    had before the block. The block runs with the configured BLAS threads, one by default (see
    :func:`one_blas_thread`).

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from quboclf._validation import unchanged_on_failure
    >>> est = Ridge()
    >>> try:
    ...     with unchanged_on_failure(est):
    ...         est.coef_ = 1.0
    ...         raise RuntimeError("solver failed")
    ... except RuntimeError:
    ...     pass
    >>> hasattr(est, "coef_")
    False

    A ``RandomState`` given as ``random_state`` is rewound too, so a retry is a clean fit:

    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> est = Ridge(random_state=rng)
    >>> try:
    ...     with unchanged_on_failure(est):
    ...         _ = rng.rand()
    ...         raise RuntimeError("solver failed")
    ... except RuntimeError:
    ...     pass
    >>> bool(rng.rand() == np.random.RandomState(0).rand())
    True
    """
    state = vars(estimator).copy()
    rngs = _random_states(estimator)
    try:
        with one_blas_thread():
            yield estimator
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(state)
        for rng, rng_state in rngs:
            _set_rng_state(rng, rng_state)
        raise


@contextmanager
def one_blas_thread():
    """Run the block with the configured BLAS threads (one by default), restored on exit.

    OpenBLAS (and MKL) split matrix products and factorisations differently for different
    thread counts, which changes the rounding: a fit under ``OPENBLAS_NUM_THREADS=2`` differed
    from one under 1 by about 1e-12 in ``weight_range_`` and ``coef_``. Every fit runs inside
    this (through :func:`unchanged_on_failure`), so models are bit-for-bit reproducible whatever
    the machine's BLAS threading; the estimators parallelise with ``n_jobs`` and numba threads
    instead. ``quboclf.set_config(blas_threads=...)`` changes the count (``"unlimited"``: no
    limit). The limit is process-wide (threadpoolctl).
    """
    from threadpoolctl import threadpool_limits

    from ._config import get_config

    n = get_config()["blas_threads"]
    if n is None:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def _random_states(estimator):
    """``(generator, state)`` of every RandomState/Generator among the estimator's parameters.

    A fit draws from a ``random_state=np.random.RandomState(...)`` object it was given; restoring
    its state after a failure makes a retry give the model a clean fit would.
    """
    try:
        params = estimator.get_params(deep=True)
    except Exception:  # not a scikit-learn estimator, or a broken get_params
        params = vars(estimator)
    out, seen = [], set()
    for value in params.values():
        if isinstance(value, np.random.RandomState):
            state = value.get_state(legacy=False)
        elif isinstance(value, np.random.Generator):
            state = value.bit_generator.state
        else:
            continue
        if id(value) not in seen:
            seen.add(id(value))
            out.append((value, copy.deepcopy(state)))
    return out


def _set_rng_state(rng, state):
    if isinstance(rng, np.random.RandomState):
        rng.set_state(state)
    else:
        rng.bit_generator.state = state


#: Headroom below float64's largest number for the sums of squares a fit forms (Gram matrices,
#: variances): ``n * max|x|**2`` must stay below ``finfo(float64).max / _HEADROOM``.
_HEADROOM = 1e4


def largest_safe_value(n_samples):
    """The largest ``|x|`` whose squares, summed over ``n_samples`` rows, stay far from overflow.

    Examples
    --------
    >>> from quboclf._validation import largest_safe_value
    >>> f"{largest_safe_value(1000):.2g}"
    '4.2e+150'
    """
    return float(np.sqrt(np.finfo(np.float64).max / (max(int(n_samples), 1) * _HEADROOM)))


def check_magnitude(estimator, X, what="X"):
    """Refuse float input so large that a fit's sums of squares would overflow to inf.

    Such values used to come back as internal messages ("H contains NaN or inf") or, worse, as
    silently constant features; this names the problem and the fix instead. Reads ``X`` once
    (two streaming reductions, no copy), so a memmap larger than memory is fine.
    """
    X = np.asarray(X) if not hasattr(X, "dtype") else X
    if X.dtype.kind != "f" or X.size == 0:
        return
    largest = max(abs(float(np.max(X))), abs(float(np.min(X))))
    limit = largest_safe_value(X.shape[0])
    if largest > limit:
        raise ValueError(
            f"{what} has values as large as {largest:.3g} in absolute value; "
            f"{type(estimator).__name__} sums squares of the values over the {X.shape[0]} "
            f"samples, which overflows float64 (largest number about 1.8e308) for values above "
            f"about {limit:.2g}. Rescale {what} first, e.g. divide it by a constant or use "
            "sklearn.preprocessing.MaxAbsScaler or StandardScaler."
        )


def validate_numeric(estimator, *args, **kwargs):
    """``validate_data(estimator, *args, **kwargs)`` that explains non-numeric input.

    NumPy's bare ``could not convert string to float: 'abc'`` becomes a ValueError naming the
    problem and the fix; every other error passes through unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from quboclf._validation import validate_numeric
    >>> validate_numeric(Ridge(), np.array([[1.0, "a"]], dtype=object))
    Traceback (most recent call last):
    ...
    ValueError: X contains non-numeric values (could not convert string to float: 'a'); ...
    >>> validate_numeric(Ridge(), [["1.5", "a"]])
    Traceback (most recent call last):
    ...
    ValueError: X contains non-numeric values (an array of strings); Ridge needs numbers. ...
    """
    try:
        out = validate_data(estimator, *args, **kwargs)
    except ValueError as exc:
        msg = str(exc)
        if not (msg.startswith("could not convert") or "arrays of bytes/strings" in msg):
            raise
        if not msg.startswith("could not convert"):
            msg = "an array of strings"
        raise ValueError(
            f"X contains non-numeric values ({msg}); {type(estimator).__name__} needs numbers. "
            "Encode categorical columns first (e.g. with sklearn.preprocessing.OneHotEncoder) "
            "or convert the strings to numbers."
        ) from exc
    X = out[0] if isinstance(out, tuple) else out
    is_object = getattr(getattr(X, "dtype", None), "kind", "") == "O"
    if is_object and kwargs.get("dtype", "numeric") is not None:
        # dtype="numeric" keeps object arrays (e.g. a pandas categorical column of strings),
        # which would only fail deep inside the fit: convert them here or say what is wrong
        X = _to_float(estimator, X, args[0] if args else kwargs.get("X"))
        out = (X, *out[1:]) if isinstance(out, tuple) else X
    if kwargs.get("reset", True):
        check_magnitude(estimator, X)
    return out


def _to_float(estimator, X, original):
    try:
        return X.astype(np.float64)
    except (TypeError, ValueError) as exc:
        where = ""
        columns = getattr(original, "columns", None)
        dtypes = getattr(original, "dtypes", None)
        if columns is not None and dtypes is not None:
            bad = [
                str(col)
                for col, dt in zip(columns, dtypes)
                if getattr(dt, "kind", "O") not in "biuf"
                and not _column_is_numeric(original[col])
            ]
            if bad:
                kinds = {str(col): str(dt) for col, dt in zip(columns, dtypes)}
                shown = ", ".join(f"{col!r} ({kinds[col]})" for col in bad[:5])
                where = f"; non-numeric DataFrame column(s): {shown}"
        raise ValueError(
            f"X contains non-numeric values ({exc}{where}); {type(estimator).__name__} needs "
            "numbers. Encode categorical columns first (e.g. with "
            "sklearn.preprocessing.OneHotEncoder) or convert the strings to numbers."
        ) from exc


def _column_is_numeric(column):
    try:
        np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True
