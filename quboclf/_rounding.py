"""Per-layer rounding of a dense layer to signed integers: scales, round-to-nearest and the QUBOs.

Plain arrays in, plain arrays out; :class:`quboclf.QUBOQuantizer` wraps these for scikit-learn.

A dense layer maps inputs ``X`` (N × f) to pre-activations ``X Wᵀ + 1 bᵀ`` with weights ``W``
(n × f) and bias ``b`` (n). Quantization replaces ``W`` by ``Ŵ = s_w q_W`` and ``b`` by
``b̂ = s_b q_b`` with integers ``q`` on a symmetric ``n_bits`` grid (:func:`integer_grid`). Every
value may only be rounded down or up to the two grid points around it, ``q = ⌊W/s⌋ + v`` with
``v ∈ {0, 1}``, and the layer's objective

    ‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F

separates by output neuron ``l``: with ``A = [X, 1]`` (N × (f+1)), ``w̃_l = [w_l, b_l]`` and
``d_l = s ⌊w̃_l/s⌋ − w̃_l`` (the rounded-down error), the neuron's objective is
``‖A (d_l + s ∘ v)‖² = ‖e_l‖² + energy(v)`` with ``e_l = A d_l``. The energy is exactly a
:class:`~quboclf._qubo.QuadraticProblem` with ``n_bits=1``, ``offset=0``, ``delta = s ∘ step``,
``H = 2 AᵀA`` (**one matrix for every neuron of the layer**) and ``h = H d_l = 2 Aᵀ e_l``.
"""

from dataclasses import dataclass

import numpy as np

from ._qubo import QuadraticProblem

__all__ = [
    "LayerQUBOs",
    "choose_scale",
    "build_layer_qubos",
    "integer_dtype",
    "integer_grid",
    "layer_objective",
    "quantize_nearest",
    "round_layer",
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


def quantize_nearest(values, scale, n_bits):
    """Round-to-nearest integers ``q`` (on :func:`integer_grid`, clipped) of ``values / scale``.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._rounding import quantize_nearest
    >>> quantize_nearest(np.array([0.26, -0.9, 0.05]), 0.25, 2)
    array([ 1, -1,  0])
    >>> quantize_nearest(np.array([0.26, -0.9, 0.0]), 0.5, 1)  # sign grid, 0 goes to +1
    array([ 1, -1,  1])
    """
    qmin, qmax, step = integer_grid(n_bits)
    q = _round_to_grid(np.asarray(values, dtype=np.float64) / scale, qmin, qmax, step)
    return q.astype(np.int64)


def layer_objective(X, W, b, W_hat, b_hat):
    """``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F``, computed directly from the calibration inputs."""
    X = np.asarray(X, dtype=np.float64)
    diff = X @ (np.asarray(W_hat) - W).T + (np.asarray(b_hat) - b)
    return float(np.sum(diff * diff))


@dataclass(frozen=True, eq=False)
class LayerQUBOs:
    """The ``n`` per-neuron rounding QUBOs of one dense layer (see the module docstring).

    Column ``f`` of every ``(n, f+1)`` array is the bias.

    Attributes
    ----------
    H : ndarray of shape (f+1, f+1)
        ``2 AᵀA`` with ``A = [X, 1]``, shared by every neuron's problem (never copied).
    h : ndarray of shape (n, f+1)
        Linear terms ``h_l = H d_l = 2 Aᵀ e_l``, all computed in one matrix product.
    d : ndarray of shape (n, f+1)
        Rounded-down value minus float value, ``s q_floor − w̃`` (zero for fixed variables that
        sit exactly on a grid end).
    delta : ndarray of shape (n, f+1)
        Value of rounding up instead of down, ``s · step``.
    base : ndarray of shape (n, f+1), dtype int64
        Integers rounded down (clipped to the grid).
    free : ndarray of shape (n, f+1), dtype bool
        Whether a variable has a choice; where rounding up (or down) would leave the integer
        range the choice is forced and the variable is fixed (``lower == upper == 0``).
    nearest : ndarray of shape (n, f+1), dtype int64
        The round-to-nearest choice ``v`` (0 or 1).
    step : int
        Integer spacing of the grid (2 for the one-bit sign grid, else 1).
    """

    H: np.ndarray
    h: np.ndarray
    d: np.ndarray
    delta: np.ndarray
    base: np.ndarray
    free: np.ndarray
    nearest: np.ndarray
    step: int

    @property
    def n_neurons(self):
        """Number of output neurons ``n``."""
        return self.d.shape[0]

    def problem(self, l):
        """Neuron ``l``'s :class:`~quboclf._qubo.QuadraticProblem` (``n_bits=1``, ``offset=0``)."""
        upper = self.free[l].astype(np.int64)
        return QuadraticProblem(self.H, self.h[l], self.delta[l], 0.0, 1, lower=0, upper=upper)

    def constant(self, l):
        """``‖e_l‖² = ½ d_lᵀ H d_l``: neuron ``l``'s objective when every variable rounds down."""
        return 0.5 * float(self.d[l] @ self.H @ self.d[l])

    def objectives(self, V):
        """Every neuron's objective ``‖A (d_l + delta_l ∘ v_l)‖²`` for choices ``V`` (n, f+1)."""
        E = self.d + self.delta * np.asarray(V, dtype=np.float64)
        return 0.5 * np.einsum("ij,ij->i", E @ self.H, E)

    def integers(self, V):
        """Integers ``q = base + step · v`` (n, f+1) of choices ``V``."""
        return self.base + self.step * np.asarray(V, dtype=np.int64)


def build_layer_qubos(X, W, b, weight_scale, bias_scale, n_bits, *, fit_bias=True):
    """Build the rounding QUBOs of a dense layer.

    Parameters
    ----------
    X : ndarray of shape (N, f)
        Calibration inputs of the layer.
    W : ndarray of shape (n, f)
        Float weights.
    b : ndarray of shape (n,)
        Float bias.
    weight_scale : float or ndarray of shape (n,)
        Weight scale, per tensor or per output channel.
    bias_scale : float
        Bias scale.
    n_bits : int
        Bit width (:func:`integer_grid`).
    fit_bias : bool, default=True
        False for a layer without a bias (e.g. ``fit_intercept=False``): ``b`` must be zero and
        its variables are fixed at 0, so the quantized layer has no bias either.

    Returns
    -------
    qubos : LayerQUBOs
        The shared ``H`` and the per-neuron data.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._rounding import build_layer_qubos
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> qubos = build_layer_qubos(X, np.array([[0.3, -0.6]]), np.array([0.1]), 0.25, 0.25, 4)
    >>> qubos.base, qubos.nearest
    (array([[ 1, -3,  0]]), array([[0, 1, 0]]))
    >>> round(float(qubos.objectives(qubos.nearest)[0]), 6)  # = ‖X Ŵᵀ + b̂ − (X Wᵀ + b)‖²
    0.025
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n, f = W.shape
    qmin, qmax, step = integer_grid(n_bits)
    n_levels = (qmax - qmin) // step + 1
    s_w = np.broadcast_to(np.asarray(weight_scale, dtype=np.float64).reshape(-1, 1), (n, 1))
    scale = np.hstack([np.broadcast_to(s_w, (n, f)), np.full((n, 1), float(bias_scale))])
    values = np.hstack([W, b[:, None]])
    u = (values / scale - qmin) / step  # position on the grid in steps from its bottom end
    k = np.floor(u)
    free = (k >= 0) & (k <= n_levels - 2)
    k = np.clip(k, 0, n_levels - 1)
    base = (qmin + step * k).astype(np.int64)
    nearest = np.where(free, (u - k >= 0.5), 0).astype(np.int64)
    if not fit_bias:
        if np.any(b != 0):
            raise ValueError("fit_bias=False needs a zero bias")
        free[:, f] = False
        base[:, f] = nearest[:, f] = 0
    d = scale * base - values
    A1 = X.sum(axis=0)
    H = np.empty((f + 1, f + 1))
    H[:f, :f] = X.T @ X
    H[:f, f] = H[f, :f] = A1
    H[f, f] = X.shape[0]
    H *= 2.0
    return LayerQUBOs(H=H, h=d @ H, d=d, delta=scale * step, base=base, free=free,
                      nearest=nearest, step=step)


def _solve_neuron(solve, problem, initial, seed, l):
    """One neuron's solve, with the answer checked against its bounds."""
    levels = np.asarray(solve(problem, initial, seed), dtype=np.int64)
    if levels.shape != (problem.n_variables,) or np.any(levels < problem.lower) or np.any(
        levels > problem.upper
    ):
        raise RuntimeError(
            f"the solver returned levels outside neuron {l}'s bounds (shape {levels.shape})"
        )
    return levels


def round_layer(qubos, *, solve=None, n_jobs=None, seeds=None):
    """Choose every neuron's rounding: round-to-nearest, or the QUBO solution when it is better.

    Parameters
    ----------
    qubos : LayerQUBOs
        The layer's problems.
    solve : callable, default=None
        ``solve(problem, initial, seed) -> levels`` (n_vars,) minimising a neuron's problem,
        warm-started from the nearest rounding ``initial``. ``None``: round to nearest.
    n_jobs : int, default=None
        Neurons solved in parallel (joblib threads, the numba kernels release the GIL, unless
        an ambient ``joblib.parallel_backend`` such as ``"dask"`` is active). ``1`` solves in
        a plain loop.
    seeds : sequence of int, default=None
        One seed per neuron.

    Returns
    -------
    V : ndarray of shape (n, f+1), dtype int64
        Chosen ``v`` (0 round down, 1 round up).
    objective_nearest : ndarray of shape (n,)
        Each neuron's objective with round-to-nearest.
    objective : ndarray of shape (n,)
        Each neuron's objective with ``V``; never above ``objective_nearest``, since a neuron
        keeps a solver's answer only when its energy is strictly lower.
    """
    V = qubos.nearest.copy()
    obj_nearest = qubos.objectives(V)
    if solve is None:
        return V, obj_nearest, obj_nearest.copy()
    n = qubos.n_neurons
    if seeds is None:
        seeds = [None] * n
    todo = [l for l in range(n) if qubos.free[l].any()]

    def tasks():
        for l in todo:
            yield qubos.problem(l), qubos.nearest[l], seeds[l], l

    if n_jobs == 1 or len(todo) <= 1:
        results = [_solve_neuron(solve, *task) for task in tasks()]
    else:
        from joblib import Parallel, delayed

        # threads by default, but an ambient ``joblib.parallel_backend`` (e.g. "dask") takes
        # over; each task ships only its own problem, the solve callable and its seed
        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_solve_neuron)(solve, *task) for task in tasks()
        )
    candidate = V.copy()
    for l, levels in zip(todo, results):
        candidate[l] = levels
    # Judge every answer by our own objective (one matrix product for the whole layer),
    # whatever the solver reports; a neuron keeps its answer only if it is strictly lower.
    obj_candidate = qubos.objectives(candidate)
    better = np.any(candidate != V, axis=1) & (obj_candidate < obj_nearest)
    V[better] = candidate[better]
    obj = np.where(better, obj_candidate, obj_nearest)
    return V, obj_nearest, obj
