"""Dense QUBO assembly of one bounded integer quadratic problem, in one pass.

The QUBO of ``f(w) = h·w + ½ wᵀHw`` over ``w = offset + E b``, ``E = diag(Δ) ⊗ pᵀ``,
``p = (1, 2, …, 2**(K−1))``, is (up to the constant ``f(offset)``)

    q = Eᵀ(h + H·offset),     EᵀHE = (D H D) ⊗ (p pᵀ),   D = diag(Δ).

With ``s = Δ ⊗ p`` (the value of each bit, length nK) every entry of the quadratic part is
``s[r] · H[r // K, c // K] · s[c]``, so the matrix is written row by row straight from ``H`` and
``s``: no ``np.kron`` temporaries, one write per entry, the lower triangle zeroed in the same pass.
The NumPy reference is :func:`quboclf._qubo.qubo_matrix_reference`.
"""

import numpy as np

from ._jit import jit

__all__ = ["assemble_qubo", "warm_up"]


@jit
def assemble_qubo(H, h, delta, offset, n_bits, out):
    """Write the dense upper-triangular QUBO of one problem into ``out`` and return it.

    Parameters
    ----------
    H : ndarray of shape (n, n), float64
        Symmetric curvature; only its upper triangle (and diagonal) is read.
    h, delta, offset : ndarray of shape (n,), float64
        Linear term, grid spacing and level-0 value of each variable.
    n_bits : int
        Bits per variable, ``K``.
    out : ndarray of shape (n * K, n * K), float64, C-contiguous
        Overwritten entirely: ``out[r, c]`` for ``c > r`` is the pair coefficient, the diagonal
        is the linear coefficient ``q_r + ½ s_r² H_jj`` and the lower triangle is zero, so that
        ``b @ out @ b == f(offset + E b) − f(offset)`` for binary ``b``.

    Returns
    -------
    out : ndarray of shape (n * K, n * K)
    """
    n = H.shape[0]
    K = n_bits
    N = n * K

    # c = h + H @ offset, then the bit values s = delta ⊗ p
    c = np.empty(n)
    for i in range(n):
        acc = h[i]
        for j in range(n):
            acc += H[i, j] * offset[j]
        c[i] = acc
    s = np.empty(N)
    for i in range(n):
        v = delta[i]
        for k in range(K):
            s[i * K + k] = v
            v *= 2.0

    for i in range(n):
        for k in range(K):
            r = i * K + k
            row = out[r]
            for col in range(r):
                row[col] = 0.0
            sr = s[r]
            # diagonal: linear term plus the b_r² = b_r half of the quadratic
            row[r] = sr * c[i] + 0.5 * sr * sr * H[i, i]
            a = sr * H[i, i]
            for col in range(r + 1, (i + 1) * K):
                row[col] = a * s[col]
            for j in range(i + 1, n):
                a = sr * H[i, j]
                base = j * K
                for l in range(K):
                    row[base + l] = a * s[base + l]
    return out


def warm_up():
    """Compile :func:`assemble_qubo` (or load it from numba's cache) on a tiny problem."""
    H = np.eye(2)
    ones = np.ones(2)
    assemble_qubo(H, ones, ones, -ones, 2, np.empty((4, 4)))
