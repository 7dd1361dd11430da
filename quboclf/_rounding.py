"""The symmetric signed integer grid of post-training quantization and its scales.

Plain arrays in, plain arrays out. A dense layer's weights ``W`` and bias ``b`` are quantized to
``Ŵ = s_w q_W`` and ``b̂ = s_b q_b`` with integers ``q`` on a symmetric ``n_bits`` grid
(:func:`integer_grid`) and scales from :func:`choose_scale`; the rounding algorithms that choose
``q`` live in ``quboclf/_ptq.py`` (the user guide's quantizer page gives the formulation).
"""

import numpy as np

__all__ = [
    "choose_scale",
    "integer_dtype",
    "integer_grid",
]

#: Candidate clipping ratios searched by :func:`choose_scale` (fractions of ``max |W|``).
_CLIP_RATIOS = np.linspace(0.01, 1.0, 100)


def integer_grid(n_bits):
    """Integer range and spacing of the symmetric signed ``n_bits`` grid.

    Parameters
    ----------
    n_bits : int
        Bit width, 1 to 8 (or more).

    Returns
    -------
    qmin, qmax, step : int
        ``n_bits >= 2``: every integer in ``[−(2**(n_bits−1) − 1), 2**(n_bits−1) − 1]`` (step 1;
        the two's-complement value ``−2**(n_bits−1)`` is left out so the grid is symmetric and 0
        is on it: int2 is ternary {−1, 0, 1}). ``n_bits == 1``: the sign grid {−1, +1} (step 2),
        i.e. binary weights ``±s``; the one-bit code ``c ∈ {0, 1}`` stores ``q = 2c − 1``.

    Examples
    --------
    >>> from quboclf._rounding import integer_grid
    >>> integer_grid(4), integer_grid(2), integer_grid(1)
    ((-7, 7, 1), (-1, 1, 1), (-1, 1, 2))
    """
    n_bits = int(n_bits)
    if n_bits < 1:
        raise ValueError(f"n_bits must be >= 1, got {n_bits}")
    if n_bits == 1:
        return -1, 1, 2
    qmax = 2 ** (n_bits - 1) - 1
    return -qmax, qmax, 1


def integer_dtype(qmin, qmax):
    """Smallest signed NumPy integer dtype holding every integer of ``[qmin, qmax]``.

    Examples
    --------
    >>> from quboclf._rounding import integer_dtype
    >>> integer_dtype(-127, 127), integer_dtype(-200, 200)
    (dtype('int8'), dtype('int16'))
    """
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= qmin and qmax <= info.max:
            return np.dtype(dtype)
    raise ValueError(f"no integer dtype holds [{qmin}, {qmax}]")


def _round_to_grid(u, qmin, qmax, step):
    """Nearest grid integers to real ``u`` (ties up), clipped to ``[qmin, qmax]``."""
    return np.clip(qmin + step * np.floor((u - qmin) / step + 0.5), qmin, qmax)


def choose_scale(W, n_bits, *, per_channel=False):
    """Scale(s) ``s`` of a weight tensor: ``Ŵ = s q`` with ``q`` on :func:`integer_grid`.

    The scale is the one minimising the tensor's own round-to-nearest error ``‖W − s q(W)‖²``
    (values beyond the grid clip to its ends): with ``n_bits >= 2`` the clipping range
    ``s · qmax`` is searched over 100 fractions (1 %, 2 %, …, 100 %) of ``max |W|``
    (100 % is the plain max-abs scale ``max |W| / qmax``, which never clips); with ``n_bits == 1``
    the optimum is closed-form, ``s = mean |W|`` (binary weights ``±s``). All-zero tensors (or
    rows) get ``s = 1``.

    Parameters
    ----------
    W : ndarray of shape (n, f) or (n,)
        Weights (rows are output channels).
    n_bits : int
        Bit width.
    per_channel : bool, default=False
        One scale per row of ``W`` instead of one for the whole tensor.

    Returns
    -------
    scale : float or ndarray of shape (n,)
        Positive scale(s).

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._rounding import choose_scale
    >>> W = np.array([[0.7, -0.1], [0.2, 0.3]])
    >>> float(choose_scale(W, 8)) == 0.7 / 127  # no clipping pays at 8 bits here
    True
    >>> choose_scale(W, 1, per_channel=True)  # mean |w| of each row
    array([0.4 , 0.25])
    """
    W = np.asarray(W, dtype=np.float64)
    rows = W.reshape(W.shape[0], -1) if per_channel else W.reshape(1, -1)
    absw = np.abs(rows)
    qmin, qmax, step = integer_grid(n_bits)
    if n_bits == 1:
        scale = absw.mean(axis=1)
    else:
        wmax = absw.max(axis=1)
        best = np.full(rows.shape[0], np.inf)
        scale = wmax / qmax
        for ratio in _CLIP_RATIOS:
            s = np.where(wmax > 0, ratio * wmax / qmax, 1.0)
            err = ((rows - s[:, None] * _round_to_grid(rows / s[:, None], qmin, qmax, step)) ** 2)
            err = err.sum(axis=1)
            better = err < best * (1 - 1e-12)
            best = np.where(better, err, best)
            scale = np.where(better, s, scale)
    scale = np.where(scale > 0, scale, 1.0)
    return scale if per_channel else float(scale[0])
