"""K-bit fixed-point encoding, the bounded integer quadratic problem, and NumPy references.

Every QUBO in quboclf is one :class:`QuadraticProblem`: minimise the convex quadratic

    f(w) = h·w + ½ wᵀ H w,      w = offset + delta * m,

over integer *levels* ``m_j ∈ [lower_j, upper_j] ⊆ [0, 2**n_bits)``. The bits of ``m_j``
(``b[j * n_bits + k]`` is bit ``k`` of ``m_j``, least significant first) are the QUBO variables,
and the QUBO energy of a bit vector is ``f(w(b)) − f(offset)``, i.e. the energy of all-zero bits
is 0. The classifier head uses ``offset = −R`` and ``delta = R / 2**(K−1)`` (DESIGN §2); the
quantizer uses ``n_bits = 1``, ``offset = 0`` and ``delta`` = the quantization scales (DESIGN §3).

This module holds the pure-NumPy reference implementations that the numba kernels are tested
against; nothing here is on a hot path.
"""

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "MAX_BITS",
    "QuadraticProblem",
    "grid_step",
    "encode",
    "decode",
    "levels_to_bits",
    "bits_to_levels",
    "objective",
    "energy",
    "continuous_minimum",
    "qubo_matrix_reference",
]

#: Largest supported bit precision per weight (levels must fit in int64 with room for moves).
MAX_BITS = 30


def grid_step(weight_range, n_bits):
    """Grid spacing ``Δ = R / 2**(n_bits − 1)`` of the symmetric K-bit grid ``[−R, R − Δ]``."""
    return np.asarray(weight_range, dtype=np.float64) / 2.0 ** (n_bits - 1)


def encode(w, weight_range, n_bits):
    """Levels ``m`` of the nearest grid points to ``w`` (clipped to the grid).

    ``decode(encode(w, R, K), R, K)`` is the grid point nearest to ``w``; ties round half to even.
    """
    delta = grid_step(weight_range, n_bits)
    m = np.rint(np.asarray(w, dtype=np.float64) / delta) + 2 ** (n_bits - 1)
    return np.clip(m, 0, 2**n_bits - 1).astype(np.int64)


def decode(m, weight_range, n_bits):
    """Weights ``Δ (m − 2**(n_bits − 1))`` of integer levels ``m``."""
    delta = grid_step(weight_range, n_bits)
    return delta * (np.asarray(m, dtype=np.float64) - 2 ** (n_bits - 1))


def levels_to_bits(m, n_bits):
    """Bits of levels ``m`` (..., n) as (..., n * n_bits) uint8, least significant bit first."""
    m = np.asarray(m, dtype=np.int64)
    k = np.arange(n_bits, dtype=np.int64)
    bits = (m[..., :, None] >> k) & 1
    return bits.reshape(*m.shape[:-1], m.shape[-1] * n_bits).astype(np.uint8)


def bits_to_levels(b, n_bits):
    """Levels of bit vectors ``b`` (..., n * n_bits), least significant bit first."""
    b = np.asarray(b, dtype=np.int64)
    n = b.shape[-1] // n_bits
    p = np.left_shift(1, np.arange(n_bits, dtype=np.int64))
    return b.reshape(*b.shape[:-1], n, n_bits) @ p


@dataclass(frozen=True, eq=False)
class QuadraticProblem:
    """Minimise ``h·w + ½ wᵀHw`` over ``w = offset + delta * m`` with bounded integer levels ``m``.

    Parameters
    ----------
    H : ndarray of shape (n, n)
        Symmetric positive semi-definite curvature. Problems may share one ``H`` array (the
        classifier's classes and the quantizer's neurons do); it is never modified.
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
    """

    H: np.ndarray
    h: np.ndarray
    delta: np.ndarray
    offset: np.ndarray
    n_bits: int
    lower: np.ndarray = field(default=None)
    upper: np.ndarray = field(default=None)

    def __post_init__(self):
        n = self.H.shape[0]
        set_ = object.__setattr__
        set_(self, "H", np.ascontiguousarray(self.H, dtype=np.float64))
        for name in ("h", "delta", "offset"):
            arr = np.ascontiguousarray(np.broadcast_to(getattr(self, name), (n,)), np.float64)
            set_(self, name, arr)
        if not 1 <= int(self.n_bits) <= MAX_BITS:
            raise ValueError(f"n_bits must be in [1, {MAX_BITS}], got {self.n_bits}")
        set_(self, "n_bits", int(self.n_bits))
        lo = 0 if self.lower is None else self.lower
        hi = 2**self.n_bits - 1 if self.upper is None else self.upper
        set_(self, "lower", np.ascontiguousarray(np.broadcast_to(lo, (n,)), np.int64))
        set_(self, "upper", np.ascontiguousarray(np.broadcast_to(hi, (n,)), np.int64))
        if self.H.shape != (n, n):
            raise ValueError(f"H must be square, got shape {self.H.shape}")
        if np.any(self.lower < 0) or np.any(self.upper >= 2**self.n_bits):
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
    def is_bounded(self):
        """True if some level bound is tighter than the full ``[0, 2**n_bits)`` range."""
        return bool(np.any(self.lower > 0) or np.any(self.upper < 2**self.n_bits - 1))


def objective(problem, m):
    """``f(w)`` at levels ``m`` of shape (n,) or (r, n); the absolute objective, not the energy."""
    w = problem.offset + problem.delta * np.asarray(m, dtype=np.float64)
    return w @ problem.h + 0.5 * np.einsum("...i,ij,...j->...", w, problem.H, w)


def energy(problem, m):
    """QUBO energy ``f(w(m)) − f(offset)`` at levels ``m`` of shape (n,) or (r, n)."""
    return objective(problem, m) - objective(problem, np.zeros(problem.n_variables))


def continuous_minimum(problem):
    """``min_w f(w) = −½ hᵀH⁺h`` over real ``w``: a lower bound on :func:`objective`."""
    w, *_ = np.linalg.lstsq(problem.H, -problem.h, rcond=None)
    return 0.5 * float(problem.h @ w)


def qubo_matrix_reference(problem):
    """Dense upper-triangular QUBO ``Q`` with ``bᵀQb == energy(problem, m(b))`` (NumPy reference).

    ``f(o + Eb) − f(o) = qᵀb + ½ bᵀ(EᵀHE)b`` with ``E = diag(Δ) ⊗ pᵀ``, ``p = (1, 2, …)``; since
    ``b_i² = b_i`` the diagonal of ``½ EᵀHE`` joins the linear term, and the symmetric
    off-diagonal pairs fold into the upper triangle.
    """
    p = 2.0 ** np.arange(problem.n_bits)
    E = np.kron(np.diag(problem.delta), p[None, :])  # (n, n*K)
    q = E.T @ (problem.h + problem.H @ problem.offset)
    full = E.T @ problem.H @ E
    Q = np.triu(full, 1) + np.diag(q + 0.5 * np.diag(full))
    return Q
