"""Input checks and failure handling shared by the estimators' ``fit``."""

from contextlib import contextmanager

from sklearn.utils.validation import validate_data

__all__ = ["unchanged_on_failure", "validate_numeric"]


@contextmanager
def unchanged_on_failure(estimator):
    """Restore ``estimator``'s attributes if the block raises.

    ``validate_data(reset=True)`` sets ``n_features_in_`` before the data are even checked, and a
    fit may fail anywhere after that (bad values, a sampler that loses its connection). Wrapping
    the body of ``fit`` in this makes a failed fit leave the estimator exactly as it was: still
    unfitted, or with its previous model. Attributes are restored by reference, so ``fit`` must
    rebind fitted attributes rather than mutate them in place.

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
    """
    state = vars(estimator).copy()
    try:
        yield estimator
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(state)
        raise


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
        return validate_data(estimator, *args, **kwargs)
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
