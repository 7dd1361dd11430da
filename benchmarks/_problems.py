"""Reference problems shared by the benchmark scripts."""

from dataclasses import dataclass

import numpy as np

from quboclf._qubo import QuadraticProblem, grid_step
from quboclf._rounding import integer_grid


def reference_problem(n_bits=10):
    """The reference class problem of the QUBO-core issue: 201 weights, ``201 * n_bits`` bits.

    ``A`` is 2000 × 201 standard normal (seed 0), ``H = ½AᵀA/2000 + 1e-3·I``,
    ``h = 0.1·N(0, 1)`` (seed 1), every ``R_j = 1.5·max|H⁻¹h|``, ``offset = −R`` and
    ``delta = R / 2**(n_bits − 1)`` (the classifier head's encoding). With the default
    ``n_bits=10`` it has 2,010 binary variables.
    """
    A = np.random.default_rng(0).normal(size=(2000, 201))
    H = 0.5 * A.T @ A / 2000 + 1e-3 * np.eye(201)
    h = 0.1 * np.random.default_rng(1).normal(size=201)
    R = np.full(201, 1.5 * np.abs(np.linalg.solve(H, h)).max())
    return QuadraticProblem(H, h, grid_step(R, n_bits), -R, n_bits)


# The rounding QUBOs of a dense layer in the form the samplers guide's figures were measured on
# (``bench_qpu.py --what selection|noise``; also ``bench_quantizer.py --what speed``): every value
# rounds down or up (one bit), a value whose other choice leaves the grid is fixed, dead inputs
# are kept. QUBOQuantizer builds its problems from ``quboclf._ptq.layer_rounding`` instead
# (``get_qubos`` exports them); this frozen copy keeps those figures reproducible.


@dataclass(frozen=True, eq=False)
class LayerQUBOs:
    """The ``n`` per-neuron rounding QUBOs of one dense layer (see the comment above).

    With ``A = [X, 1]``, ``d_l`` the rounded-down value minus the float value of neuron ``l``'s
    weights and bias and ``v ∈ {0, 1}`` its choices, the neuron's objective is
    ``‖A (d_l + delta_l ∘ v)‖² = constant(l) + energy(problem(l), v)``.

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
    >>> from _problems import build_layer_qubos
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
