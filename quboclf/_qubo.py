"""K-bit fixed-point encoding, the bounded integer quadratic problem, its QUBO and BQM.

Every QUBO in quboclf is one :class:`QuadraticProblem`: minimise the convex quadratic

    f(w) = h·w + ½ wᵀ H w,      w = offset + delta * m,

over integer *levels* ``m_j ∈ [lower_j, upper_j] ⊆ [0, 2**n_bits)``. The bits of ``m_j``
(``b[j * n_bits + k]`` is bit ``k`` of ``m_j``, least significant first) are the QUBO variables,
and the QUBO energy of a bit vector is ``f(w(b)) − f(offset)``, i.e. the energy of all-zero bits
is 0. The classifier's per-class problems (a class row's K-bit codes on its symmetric grid) and
the quantizer's per-neuron problems (each value's grid points around its float value) are both
of this form; the user guide's classifier and quantizer pages give their offsets and steps.

The dense QUBO matrix is assembled by a numba kernel (:func:`qubo_matrix`, kernel in
``quboclf/_kernels/_assembly.py``); :func:`qubo_matrix_reference` is its pure-NumPy reference.
:func:`to_bqm` and :func:`sample_to_levels` are the bridge to dimod samplers.
"""

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

__all__ = [
    "MAX_BITS",
    "QuadraticProblem",
    "grid_step",
    "encode",
    "decode",
    "on_grid",
    "levels_to_bits",
    "bits_to_levels",
    "objective",
    "energy",
    "continuous_minimum",
    "qubo_matrix_reference",
    "qubo_matrix",
    "free_bits",
    "to_bqm",
    "sample_to_levels",
    "to_dimod",
    "levels_from_sample",
    "ExportedQUBO",
]

#: Largest supported bit precision per weight (levels must fit in int64 with room for moves).
MAX_BITS = 30


def _check_n_bits(n_bits):
    if isinstance(n_bits, bool) or not isinstance(n_bits, Integral):
        raise TypeError(f"n_bits must be an integer in [1, {MAX_BITS}], got {n_bits!r}")
    if not 1 <= n_bits <= MAX_BITS:
        raise ValueError(f"n_bits must be in [1, {MAX_BITS}], got {n_bits}")
    return int(n_bits)


def grid_step(weight_range, n_bits):
    """Grid spacing ``Δ = R / 2**(n_bits − 1)`` of the symmetric K-bit grid ``[−R, R − Δ]``.

    Parameters
    ----------
    weight_range : float or array-like
        Positive half-width ``R`` of the grid (one per weight, or one for all).
    n_bits : int
        Bits per weight, ``K`` in ``[1, MAX_BITS]``.

    Returns
    -------
    delta : float or ndarray
        ``R / 2**(K − 1)``, with the shape of ``weight_range``.

    Examples
    --------
    >>> from quboclf._qubo import grid_step
    >>> grid_step(1.0, 3)
    0.25
    """
    n_bits = _check_n_bits(n_bits)
    R = np.asarray(weight_range, dtype=np.float64)
    if not np.all(np.isfinite(R) & (R > 0)):
        raise ValueError("weight_range must be positive and finite")
    delta = R / 2.0 ** (n_bits - 1)
    return float(delta) if delta.ndim == 0 else delta


def encode(w, weight_range, n_bits):
    """Levels ``m`` of the nearest grid points to ``w`` (clipped to the grid).

    ``decode(encode(w, R, K), R, K)`` is the grid point of ``[−R, R − Δ]`` nearest to ``w``;
    values beyond the ends go to the end points, and exact ties ``w / Δ ∈ ℤ + ½`` round half to
    even in ``w / Δ``.

    Parameters
    ----------
    w : array-like
        Weights, not NaN (``±inf`` go to the end points).
    weight_range : float or array-like
        ``R``, broadcast against ``w``.
    n_bits : int
        Bits per weight, ``K``.

    Returns
    -------
    m : ndarray of int64
        Levels in ``[0, 2**K)``, the shape of ``w`` broadcast with ``weight_range``.

    Examples
    --------
    >>> from quboclf._qubo import encode, decode
    >>> m = encode([-2.0, -0.3, 0.0, 0.6, 5.0], 1.0, 3)
    >>> m
    array([0, 3, 4, 6, 7])
    >>> decode(m, 1.0, 3)
    array([-1.  , -0.25,  0.  ,  0.5 ,  0.75])
    """
    delta = grid_step(weight_range, n_bits)
    w = np.asarray(w, dtype=np.float64)
    if np.any(np.isnan(w)):
        raise ValueError("cannot encode NaN weights; check the input")
    half = 2 ** (n_bits - 1)
    # clip in float before the cast: huge w / delta must not overflow int64
    with np.errstate(over="ignore"):
        m = np.clip(np.rint(w / delta), -half, half - 1) + half
    return m.astype(np.int64)


def decode(m, weight_range, n_bits):
    """Weights ``Δ (m − 2**(n_bits − 1))`` of integer levels ``m``.

    Parameters
    ----------
    m : array-like of int
        Levels in ``[0, 2**n_bits)``.
    weight_range : float or array-like
        ``R``, broadcast against ``m``.
    n_bits : int
        Bits per weight, ``K``.

    Returns
    -------
    w : ndarray of float64

    Examples
    --------
    >>> from quboclf._qubo import decode
    >>> decode([0, 1, 2, 3], 2.0, 2)
    array([-2., -1.,  0.,  1.])
    """
    delta = grid_step(weight_range, n_bits)
    return delta * (np.asarray(m, dtype=np.float64) - 2 ** (n_bits - 1))


def on_grid(w, weight_range, n_bits, *, rtol=1e-12):
    """Whether each ``w`` is a point of the K-bit grid ``Δ·{−2**(K−1), …, 2**(K−1) − 1}``.

    Parameters
    ----------
    w : array-like
        Weights to check.
    weight_range : float or array-like
        ``R``, broadcast against ``w``.
    n_bits : int
        Bits per weight, ``K``.
    rtol : float, default=1e-12
        A weight within ``rtol * R`` of a grid point counts as on it (absorbs the rounding of
        computing ``−R + Δ·m``); ``Δ/2 > rtol * R`` up to ``n_bits = MAX_BITS``.

    Returns
    -------
    mask : ndarray of bool
        Elementwise, like :func:`numpy.isclose`; test a whole array with ``np.all``.

    Examples
    --------
    >>> from quboclf._qubo import on_grid
    >>> on_grid([-1.0, -0.25, 0.3, 0.75, 1.0], 1.0, 3)
    array([ True,  True, False,  True, False])
    """
    delta = grid_step(weight_range, n_bits)
    R = np.asarray(weight_range, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    half = 2 ** (n_bits - 1)
    with np.errstate(invalid="ignore", over="ignore"):
        r = np.rint(w / delta)
        return (np.abs(w - r * delta) <= rtol * R) & (r >= -half) & (r < half)


def levels_to_bits(m, n_bits):
    """Bits of levels ``m`` (..., n) as (..., n * n_bits) uint8, least significant bit first.

    Examples
    --------
    >>> from quboclf._qubo import levels_to_bits
    >>> levels_to_bits([1, 6], 3)
    array([1, 0, 0, 0, 1, 1], dtype=uint8)
    """
    n_bits = _check_n_bits(n_bits)
    m = np.asarray(m)
    if m.ndim == 0:
        raise ValueError("levels must have at least one dimension (..., n)")
    if m.size and (not np.issubdtype(m.dtype, np.integer) and np.any(m != np.rint(m))):
        raise ValueError("levels must be integers")
    m = m.astype(np.int64)
    if m.size and (m.min() < 0 or m.max() >= 2**n_bits):
        raise ValueError(
            f"levels must lie in [0, 2**n_bits) = [0, {2**n_bits}) for n_bits={n_bits}"
        )
    k = np.arange(n_bits, dtype=np.int64)
    bits = (m[..., :, None] >> k) & 1
    return bits.reshape(*m.shape[:-1], m.shape[-1] * n_bits).astype(np.uint8)


def bits_to_levels(b, n_bits):
    """Levels of bit vectors ``b`` (..., n * n_bits), least significant bit first.

    Examples
    --------
    >>> from quboclf._qubo import bits_to_levels
    >>> bits_to_levels([1, 0, 0, 0, 1, 1], 3)
    array([1, 6])
    """
    n_bits = _check_n_bits(n_bits)
    b = np.asarray(b, dtype=np.int64)
    if b.ndim == 0 or b.shape[-1] % n_bits:
        raise ValueError(
            f"bit vectors must have a last axis that is a multiple of n_bits={n_bits}, "
            f"got shape {b.shape}"
        )
    n = b.shape[-1] // n_bits
    p = np.left_shift(1, np.arange(n_bits, dtype=np.int64))
    return b.reshape(*b.shape[:-1], n, n_bits) @ p


@dataclass(frozen=True, eq=False)
class QuadraticProblem:
    """Minimise ``h·w + ½ wᵀHw`` over ``w = offset + delta * m`` with bounded integer levels ``m``.

    Every QUBO quboclf solves is one of these (the classifier's per-class steps, the quantizer's
    per-neuron roundings); :func:`to_dimod` turns one into a dimod model.

    Parameters
    ----------
    H : ndarray of shape (n, n)
        Symmetric positive semi-definite curvature (symmetry is assumed, not checked: the QUBO
        assembly reads the upper triangle only). Problems may share one ``H`` array (the
        classifier's classes and the quantizer's neurons do); it is never modified, and not
        copied when it is already a C-contiguous float64 array.
    h : ndarray of shape (n,)
        Linear term.
    delta : ndarray of shape (n,)
        Positive grid spacing of each variable.
    offset : ndarray of shape (n,)
        Value of each variable at level 0.
    n_bits : int
        Bits per variable; levels lie in ``[0, 2**n_bits)``.
    lower, upper : ndarray of shape (n,), dtype int64, optional
        Inclusive level bounds (default: the whole range). ``lower == upper`` fixes a variable.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf import QuadraticProblem
    >>> from quboclf._qubo import energy
    >>> p = QuadraticProblem(np.eye(2), h=[1.0, -1.0], delta=0.5, offset=-1.0, n_bits=2)
    >>> p.n_qubo_variables
    4
    >>> float(energy(p, [0, 3]))
    -1.875
    """

    H: np.ndarray
    h: np.ndarray
    delta: np.ndarray
    offset: np.ndarray
    n_bits: int
    lower: np.ndarray = field(default=None)
    upper: np.ndarray = field(default=None)

    def __post_init__(self):
        set_ = object.__setattr__
        H = np.ascontiguousarray(self.H, dtype=np.float64)
        if H.ndim != 2 or H.shape[0] != H.shape[1]:
            raise ValueError(f"H must be a square matrix, got shape {H.shape}")
        set_(self, "H", H)
        n = H.shape[0]
        for name in ("h", "delta", "offset"):
            try:
                arr = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (n,))
            except ValueError:
                shape = np.shape(getattr(self, name))
                raise ValueError(
                    f"{name} must have shape ({n},) or be a scalar, got {shape}"
                ) from None
            set_(self, name, np.ascontiguousarray(arr))
        for name in ("H", "h", "delta", "offset"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ValueError(f"{name} contains NaN or inf; the problem must be finite")
        if np.any(self.delta <= 0):
            raise ValueError("every grid spacing delta must be positive")
        n_bits = _check_n_bits(self.n_bits)
        set_(self, "n_bits", n_bits)
        lo = 0 if self.lower is None else self.lower
        hi = 2**n_bits - 1 if self.upper is None else self.upper
        set_(self, "lower", np.ascontiguousarray(np.broadcast_to(lo, (n,)), np.int64))
        set_(self, "upper", np.ascontiguousarray(np.broadcast_to(hi, (n,)), np.int64))
        if np.any(self.lower < 0) or np.any(self.upper >= 2**n_bits):
            raise ValueError("level bounds must lie in [0, 2**n_bits)")
        if np.any(self.lower > self.upper):
            raise ValueError("every lower bound must be <= its upper bound")

    @property
    def n_variables(self):
        """Number of weights (integer variables) ``n``."""
        return self.H.shape[0]

    @property
    def n_qubo_variables(self):
        """Number of binary QUBO variables, ``n * n_bits``."""
        return self.H.shape[0] * self.n_bits

    @property
    def free(self):
        """Boolean mask (n,) of the variables with a choice, ``lower < upper``."""
        return self.lower < self.upper

    @property
    def fixed(self):
        """Boolean mask (n,) of the variables fixed by ``lower == upper``: ``~free``."""
        return self.lower == self.upper


def objective(problem, m):
    """``f(w)`` at levels ``m`` of shape (n,) or (r, n); the absolute objective, not the energy.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, objective
    >>> p = QuadraticProblem(np.eye(2), h=[1.0, -1.0], delta=0.5, offset=-1.0, n_bits=2)
    >>> objective(p, [[0, 0], [2, 2]])
    array([1., 0.])
    """
    w = problem.offset + problem.delta * np.asarray(m, dtype=np.float64)
    return w @ problem.h + 0.5 * np.einsum("...i,ij,...j->...", w, problem.H, w)


def energy(problem, m):
    """QUBO energy ``f(w(m)) − f(offset)`` at levels ``m`` of shape (n,) or (r, n).

    Computed as ``x·(h + H·offset) + ½ xᵀHx`` with ``x = delta * m``, which avoids the
    cancellation of subtracting two large objectives.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, energy
    >>> p = QuadraticProblem(np.eye(2), h=[1.0, -1.0], delta=0.5, offset=-1.0, n_bits=2)
    >>> energy(p, [[0, 0], [2, 2], [2, 3]])
    array([ 0.   , -1.   , -1.375])
    """
    x = problem.delta * np.asarray(m, dtype=np.float64)
    c = problem.h + problem.H @ problem.offset
    return x @ c + 0.5 * np.einsum("...i,ij,...j->...", x, problem.H, x)


def continuous_minimum(problem):
    """``min_w f(w) = −½ hᵀH⁺h`` over real ``w``: a lower bound on :func:`objective`.

    If ``h`` is not in the range of a singular ``H``, ``f`` is unbounded below and the result is
    ``-inf`` (never the case for the classifier's and quantizer's problems, whose ``h`` lies in
    the range of ``H`` by construction).

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, continuous_minimum
    >>> p = QuadraticProblem(2 * np.eye(2), h=[1.0, -1.0], delta=0.5, offset=-1.0, n_bits=2)
    >>> continuous_minimum(p)
    -0.5
    """
    H, h = problem.H, problem.h
    if not np.any(h):
        return 0.0
    w, _, _, sv = np.linalg.lstsq(H, -h, rcond=None)
    residual = np.linalg.norm(H @ w + h)
    scale = (sv[0] if sv.size else 0.0) * np.linalg.norm(w) + np.linalg.norm(h)
    if residual > np.sqrt(np.finfo(np.float64).eps) * scale:
        return -np.inf
    return 0.5 * float(h @ w)


def qubo_matrix_reference(problem):
    """Dense upper-triangular QUBO ``Q`` with ``bᵀQb == energy(problem, m(b))`` (NumPy reference).

    ``f(o + Eb) − f(o) = qᵀb + ½ bᵀ(EᵀHE)b`` with ``E = diag(Δ) ⊗ pᵀ``, ``p = (1, 2, …)``; since
    ``b_i² = b_i`` the diagonal of ``½ EᵀHE`` joins the linear term, and the symmetric
    off-diagonal pairs fold into the upper triangle. Level bounds are ignored (see
    :func:`to_bqm`).

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, qubo_matrix_reference
    >>> p = QuadraticProblem(np.eye(1), h=[0.0], delta=1.0, offset=0.0, n_bits=2)
    >>> qubo_matrix_reference(p)
    array([[0.5, 2. ],
           [0. , 2. ]])
    """
    p = 2.0 ** np.arange(problem.n_bits)
    E = np.kron(np.diag(problem.delta), p[None, :])  # (n, n*K)
    q = E.T @ (problem.h + problem.H @ problem.offset)
    full = E.T @ problem.H @ E
    Q = np.triu(full, 1) + np.diag(q + 0.5 * np.diag(full))
    return Q


def qubo_matrix(problem, out=None):
    """Dense upper-triangular QUBO ``Q`` with ``bᵀQb == energy(problem, m(b))`` (numba).

    Same matrix as :func:`qubo_matrix_reference`, written in one pass straight from ``H``,
    ``delta`` and the linear term, with no Kronecker temporaries. Level bounds are ignored.

    Parameters
    ----------
    problem : QuadraticProblem
        The problem; ``n * n_bits`` binary variables, bit ``k`` of level ``j`` at index
        ``j * n_bits + k``.
    out : ndarray of shape (n * n_bits, n * n_bits), float64, C-contiguous, optional
        Preallocated output, overwritten entirely (reuse it across problems of one size).

    Returns
    -------
    Q : ndarray of shape (n * n_bits, n * n_bits)
        ``out`` if given. Linear coefficients on the diagonal, pairs above it, zeros below.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, qubo_matrix, bits_to_levels, energy
    >>> p = QuadraticProblem(np.eye(1), h=[0.0], delta=1.0, offset=0.0, n_bits=2)
    >>> Q = qubo_matrix(p)
    >>> Q
    array([[0.5, 2. ],
           [0. , 2. ]])
    >>> b = np.array([1, 1])
    >>> float(b @ Q @ b), float(energy(p, bits_to_levels(b, 2)))
    (4.5, 4.5)
    """
    from ._kernels._assembly import assemble_qubo

    N = problem.n_qubo_variables
    if out is None:
        out = np.empty((N, N))
    elif not (
        isinstance(out, np.ndarray)
        and out.shape == (N, N)
        and out.dtype == np.float64
        and out.flags.c_contiguous
        and out.flags.writeable
    ):
        raise ValueError(
            f"out must be a writeable C-contiguous float64 array of shape ({N}, {N}), got "
            f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}"
        )
    return assemble_qubo(problem.H, problem.h, problem.delta, problem.offset, problem.n_bits, out)


def _check_bqm_bounds(problem):
    """Mask of fixed variables; raise if some bound is partial (not representable in a BQM)."""
    fixed = problem.fixed
    partial = ~fixed & ((problem.lower > 0) | (problem.upper < 2**problem.n_bits - 1))
    if np.any(partial):
        j = int(np.flatnonzero(partial)[0])
        raise ValueError(
            f"{int(partial.sum())} variable(s) have partial level bounds (e.g. variable {j}: "
            f"[{problem.lower[j]}, {problem.upper[j]}] within [0, {2**problem.n_bits - 1}]), "
            "which a binary quadratic model cannot express. Only fixed variables "
            "(lower == upper) are supported by to_bqm; use the 'sa' sampler, which honours "
            "bounds, or widen the bounds to the full range."
        )
    return fixed


def free_bits(problem):
    """Indices (into the full bit vector) of the bits that :func:`to_bqm` keeps as variables.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, free_bits
    >>> p = QuadraticProblem(np.eye(3), 0.0, 1.0, 0.0, n_bits=2, lower=[0, 2, 0], upper=[3, 2, 3])
    >>> free_bits(p)
    array([0, 1, 4, 5])
    """
    fixed = _check_bqm_bounds(problem)
    K = problem.n_bits
    return (np.flatnonzero(~fixed)[:, None] * K + np.arange(K)).ravel()


def to_bqm(problem):
    """The problem as a ``dimod.BinaryQuadraticModel`` over its free bits.

    Variables fixed by ``lower == upper`` (all their bits) are removed and their contribution
    folded into the linear terms and the offset; the remaining variables are labelled by their
    integer index into the full bit vector (``j * n_bits + k``, see :func:`free_bits`). The
    energy of a sample of the free bits equals :func:`energy` of the full levels, offset
    included. Built from dense arrays (no per-coefficient Python loop).

    Parameters
    ----------
    problem : QuadraticProblem
        Bounds must be full or fixed; any other bound raises ``ValueError``.

    Returns
    -------
    bqm : dimod.BinaryQuadraticModel
        ``BINARY`` vartype, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, to_bqm, energy
    >>> H = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> p = QuadraticProblem(H, h=[-1.0, 0.5], delta=1.0, offset=0.0, n_bits=1, lower=[0, 1],
    ...                      upper=[1, 1])
    >>> bqm = to_bqm(p)
    >>> list(bqm.variables), float(bqm.offset)
    ([0], 1.5)
    >>> float(bqm.energy({0: 1})), float(energy(p, [1, 1]))
    (2.5, 2.5)
    """
    import dimod

    from ._kernels._assembly import assemble_qubo

    fixed = _check_bqm_bounds(problem)
    H, K = problem.H, problem.n_bits
    c = problem.h + H @ problem.offset
    if not fixed.any():
        free, linear_c, const = None, c, 0.0
        H_ff, delta_f = H, problem.delta
    else:
        free = np.flatnonzero(~fixed)
        fix = np.flatnonzero(fixed)
        x = problem.delta[fix] * problem.lower[fix]
        # energy = x_F·c_F + ½x_FᵀH_FF x_F + x_F·(H_FX x_X) + [x_X·c_X + ½ x_XᵀH_XX x_X]
        const = float(x @ c[fix] + 0.5 * x @ H[np.ix_(fix, fix)] @ x)
        linear_c = c[free] + H[np.ix_(free, fix)] @ x
        H_ff, delta_f = np.ascontiguousarray(H[np.ix_(free, free)]), problem.delta[free]
    n_free = H_ff.shape[0]
    if n_free == 0:
        return dimod.BinaryQuadraticModel({}, {}, const, dimod.BINARY)
    N = n_free * K
    Q = assemble_qubo(
        H_ff,
        np.ascontiguousarray(linear_c),
        np.ascontiguousarray(delta_f),
        np.zeros(n_free),
        K,
        np.empty((N, N)),
    )
    # dimod's dense constructor copies the matrix when the diagonal is non-zero; move it out
    linear = Q.diagonal().copy()
    Q.flat[:: N + 1] = 0.0
    bqm = dimod.BinaryQuadraticModel(linear, Q, const, dimod.BINARY)
    if free is not None:
        labels = (free[:, None] * K + np.arange(K)).ravel()
        bqm.relabel_variables(dict(zip(range(N), labels.tolist())), inplace=True)
    return bqm


def sample_to_levels(problem, sample_array, variables):
    """Full levels from samples of the free bits of :func:`to_bqm`'s model.

    Parameters
    ----------
    problem : QuadraticProblem
        The problem the model was built from.
    sample_array : array-like of shape (n_free_bits,) or (r, n_free_bits)
        Binary samples, columns in the order of ``variables`` (e.g. ``sampleset.record.sample``).
    variables : sequence of int
        Bit labels of the columns (e.g. ``sampleset.variables``): exactly the free bits.

    Returns
    -------
    levels : ndarray of int64, shape (n,) or (r, n)
        Fixed variables filled in from their bounds.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, sample_to_levels
    >>> p = QuadraticProblem(np.eye(2), 0.0, 1.0, 0.0, n_bits=2, lower=[0, 2], upper=[3, 2])
    >>> sample_to_levels(p, [1, 1], [1, 0])
    array([3, 2])
    """
    K = problem.n_bits
    free = free_bits(problem)
    variables = np.asarray(list(variables))
    samples = np.asarray(sample_array)
    single = samples.ndim == 1
    samples = np.atleast_2d(samples)
    if samples.ndim != 2 or samples.shape[1] != variables.size:
        raise ValueError(
            f"sample_array must have one column per variable ({variables.size}), "
            f"got shape {np.shape(sample_array)}"
        )
    if variables.size != free.size or not np.array_equal(np.sort(variables), free):
        raise ValueError(
            f"variables must be exactly the {free.size} free bit labels of to_bqm(problem) "
            "(integers j * n_bits + k of the non-fixed variables)"
        )
    if samples.size and not np.all((samples == 0) | (samples == 1)):
        raise ValueError("samples must be binary (0/1); convert SPIN samples with (s + 1) // 2")
    bits = np.broadcast_to(
        levels_to_bits(problem.lower, K), (samples.shape[0], K * problem.n_variables)
    )
    bits = bits.astype(np.int64)
    bits[:, variables.astype(np.int64)] = samples
    levels = bits_to_levels(bits, K)
    return levels[0] if single else levels


# --------------------------------------------------------------------------------------------
# Export: named dimod models of a problem
# --------------------------------------------------------------------------------------------


def _names(problem, names):
    n = problem.n_variables
    names = list(range(n)) if names is None else list(names)
    if len(names) != n:
        raise ValueError(f"names must give one name per variable ({n}), got {len(names)}")
    if len(set(map(str, names))) != n:
        raise ValueError("names must be distinct")
    return names


def to_dimod(problem, *, names=None, kind="binary", prefix="w"):
    """The problem as a dimod model with named variables whose energy is the objective.

    ``kind="binary"``: a :class:`dimod.BinaryQuadraticModel` over the bits of the levels,
    labelled ``"w[j,k]"`` (bit ``k``, least significant first, of the level of variable
    ``j``); variables fixed by ``lower == upper`` are folded into the linear terms and the
    offset, as in :func:`to_bqm` (any other partial bound raises ``ValueError``: a BQM cannot
    express it). ``kind="integer"``: a :class:`dimod.QuadraticModel` over the levels
    themselves, integer variables ``"w[j]"`` with the problem's bounds ``[lower_j, upper_j]``
    (any bounds).

    Either way the model's offset is chosen so that **dimod's energy of a sample equals the
    problem's objective at the decoded levels**, ``f(w) = h·w + ½ wᵀHw`` at ``w = offset +
    delta * m`` (the absolute objective, not the QUBO energy ``f(w) − f(offset)`` the samplers
    see); :meth:`ExportedQUBO.decode` decodes a sample of either model.

    Parameters
    ----------
    problem : QuadraticProblem
        The problem.
    names : sequence of length n_variables, default=None
        What goes in place of ``j`` in the labels (``str`` of each); default ``0, …, n − 1``.
    kind : {"binary", "integer"}, default="binary"
        The model to build.
    prefix : str, default="w"
        The labels' prefix.

    Returns
    -------
    model : dimod.BinaryQuadraticModel or dimod.QuadraticModel

    Examples
    --------
    >>> import numpy as np
    >>> import dimod
    >>> from quboclf import QuadraticProblem, to_dimod
    >>> from quboclf._qubo import levels_from_sample, objective
    >>> p = QuadraticProblem(np.eye(2), h=[1.0, -1.0], delta=0.5, offset=-1.0, n_bits=2)
    >>> bqm = to_dimod(p, names=["a", "bias"])
    >>> sorted(bqm.variables)
    ['w[a,0]', 'w[a,1]', 'w[bias,0]', 'w[bias,1]']
    >>> best = dimod.ExactSolver().sample(bqm).first
    >>> m = levels_from_sample(p, best.sample, names=["a", "bias"])
    >>> m, float(best.energy), float(objective(p, m))
    (array([0, 3]), -0.875, -0.875)
    >>> qm = to_dimod(p, kind="integer")
    >>> float(qm.upper_bound("w[1]")), float(qm.energy({"w[0]": 0, "w[1]": 3}))
    (3.0, -0.875)
    """
    import dimod

    names = _names(problem, names)
    n, K = problem.n_variables, problem.n_bits
    base = float(objective(problem, np.zeros(n, dtype=np.int64)))
    if kind == "binary":
        bqm = to_bqm(problem)
        bqm.offset += base
        labels = {j * K + k: f"{prefix}[{names[j]},{k}]" for j in range(n) for k in range(K)}
        bqm.relabel_variables({v: labels[v] for v in bqm.variables}, inplace=True)
        return bqm
    if kind != "integer":
        raise ValueError(f"kind must be 'binary' or 'integer', got {kind!r}")
    labels = [f"{prefix}[{name}]" for name in names]
    qm = dimod.QuadraticModel()
    for j, v in enumerate(labels):
        qm.add_variable(
            dimod.INTEGER,
            v,
            lower_bound=int(problem.lower[j]),
            upper_bound=int(problem.upper[j]),
        )
    d, H = problem.delta, problem.H
    # f(o + d m) = f(o) + (d (h + H o))·m + ½ Σ_ij d_i d_j H_ij m_i m_j
    qm.add_linear_from(zip(labels, (d * (problem.h + H @ problem.offset)).tolist()))
    Hd = H * d[:, None] * d[None, :]
    i, j = np.nonzero(np.triu(Hd, 1))
    qm.add_quadratic_from(
        zip([labels[a] for a in i], [labels[b] for b in j], Hd[i, j].tolist())
    )
    diag = 0.5 * np.diagonal(Hd)
    for a in np.flatnonzero(diag):
        qm.add_quadratic(labels[a], labels[a], float(diag[a]))
    qm.offset = base
    return qm


def levels_from_sample(problem, sample, *, names=None, prefix="w"):
    """Levels (n,) of one sample of :func:`to_dimod`'s binary or integer model.

    ``sample`` maps labels to values (a ``dimod.SampleSet``'s ``first.sample``, a dict):
    either the bits ``"w[j,k]"`` (missing bits of fixed variables are filled in from the
    bounds) or the integers ``"w[j]"``.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf import QuadraticProblem
    >>> from quboclf._qubo import levels_from_sample
    >>> p = QuadraticProblem(np.eye(2), h=0.0, delta=1.0, offset=0.0, n_bits=2)
    >>> levels_from_sample(p, {"w[0]": 2, "w[1]": 1})
    array([2, 1])
    >>> levels_from_sample(p, {"w[0,0]": 0, "w[0,1]": 1, "w[1,0]": 1, "w[1,1]": 0})
    array([2, 1])
    """
    names = _names(problem, names)
    n, K = problem.n_variables, problem.n_bits
    sample = dict(sample)
    first = f"{prefix}[{names[0]}]" if n else None
    if n and first in sample:
        levels = np.array([sample[f"{prefix}[{name}]"] for name in names], dtype=np.float64)
        if np.any(levels != np.rint(levels)):
            raise ValueError("integer variables of the sample must have integer values")
        levels = levels.astype(np.int64)
    else:
        bits = levels_to_bits(problem.lower, K).astype(np.int64)
        fixed = problem.fixed
        for j, name in enumerate(names):
            if fixed[j]:
                continue
            for k in range(K):
                label = f"{prefix}[{name},{k}]"
                if label not in sample:
                    raise ValueError(
                        f"the sample has no value for {label!r}: pass a sample of "
                        "to_dimod(problem) (binary) or to_dimod(problem, kind='integer')"
                    )
                value = sample[label]
                if value not in (0, 1):
                    raise ValueError(f"bit {label!r} must be 0 or 1, got {value!r}")
                bits[j * K + k] = int(value)
        levels = bits_to_levels(bits, K)
    if np.any(levels < problem.lower) or np.any(levels > problem.upper):
        raise ValueError("the sample's levels lie outside the problem's bounds")
    return levels


class ExportedQUBO:
    """One QUBO taken out of an estimator: its dimod models and the way back to weights.

    Returned by :meth:`quboclf.QUBOCNNClassifier.get_qubos`. :attr:`bqm` and :attr:`qm` are
    built on first access (a binary model of ``n * n_bits`` variables is dense).

    Parameters
    ----------
    problem : QuadraticProblem
        The problem, as the estimator hands it to its sampler.
    names : sequence
        Name of each variable (``j`` in the labels ``"w[j,k]"`` and ``"w[j]"``).
    initial : ndarray of shape (n,), dtype int64, default=None
        Levels the estimator's sampler would start from (its warm start).
    prefix : str, default="w"
        The labels' prefix.

    Attributes
    ----------
    problem : QuadraticProblem
    names : list
    initial : ndarray or None

    Examples
    --------
    >>> import numpy as np
    >>> import dimod
    >>> from quboclf import ExportedQUBO, QuadraticProblem
    >>> p = QuadraticProblem(np.eye(2), h=[1.0, -1.0], delta=0.5, offset=-1.0, n_bits=2)
    >>> qubo = ExportedQUBO(p, names=["x", "bias"])
    >>> best = dimod.ExactSolver().sample(qubo.bqm).first
    >>> qubo.decode(best.sample), qubo.weights(best.sample)
    (array([0, 3]), array([-1. ,  0.5]))
    >>> float(best.energy) == qubo.objective(best.sample)
    True
    """

    def __init__(self, problem, names, initial=None, prefix="w"):
        self.problem = problem
        self.names = _names(problem, names)
        self.initial = None if initial is None else np.asarray(initial, dtype=np.int64)
        self.prefix = prefix
        self._models = {}

    def __repr__(self):
        p = self.problem
        return (
            f"<ExportedQUBO: {p.n_variables} variables of {p.n_bits} bits "
            f"({p.n_qubo_variables} binary)>"
        )

    def _model(self, kind):
        if kind not in self._models:
            self._models[kind] = to_dimod(
                self.problem, names=self.names, kind=kind, prefix=self.prefix
            )
        return self._models[kind]

    @property
    def bqm(self):
        """The :class:`dimod.BinaryQuadraticModel` over the bits ``"w[j,k]"``."""
        return self._model("binary")

    @property
    def qm(self):
        """The :class:`dimod.QuadraticModel` over the integer levels ``"w[j]"``."""
        return self._model("integer")

    def decode(self, sample):
        """Levels (n,) of a sample (a mapping) of :attr:`bqm` or :attr:`qm`."""
        return levels_from_sample(self.problem, sample, names=self.names, prefix=self.prefix)

    def weights(self, sample):
        """Weights ``offset + delta * levels`` (n,) of a sample of :attr:`bqm` or :attr:`qm`."""
        return self.problem.offset + self.problem.delta * self.decode(sample)

    def objective(self, sample):
        """The objective ``f(w) = h·w + ½ wᵀHw`` at the sample's weights: its dimod energy."""
        return float(objective(self.problem, self.decode(sample)))
