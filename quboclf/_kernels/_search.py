"""Numba kernels of the quantizer's rounding solver: exact local search and sphere decoding.

Both minimise a neuron's rounding objective over integer grid positions ``k`` in a box
``lo <= k <= hi`` (see :mod:`quboclf._ptq`):

    E(k) = eᵀ G e,      e = d ∘ (k − t),

``G`` the layer's Gram matrix (shared by all neurons), ``d`` the value of one grid step and
``t`` the float weights' positions on the grid. The pure-NumPy references are
:func:`quboclf._ptq.local_search_reference` and :func:`quboclf._ptq.sphere_decode_reference`.
"""

import numpy as np

from ._jit import jit

__all__ = ["local_search", "sphere_decode", "warm_up"]


@jit
def _gradient(G, d, t, k, g, e):
    F = k.shape[0]
    for j in range(F):
        e[j] = d[j] * (k[j] - t[j])
    for i in range(F):
        s = 0.0
        for j in range(F):
            s += G[i, j] * e[j]
        g[i] = s


@jit
def _move(G, d, k, g, j, step):
    k[j] += step
    dj = step * d[j]
    for i in range(g.shape[0]):
        g[i] += dj * G[i, j]


@jit
def _best_single(d, g, c, k, lo, hi, j):
    """Smallest energy change of moving ``k_j`` by ±1 within the box (inf if none)."""
    a = 2.0 * d[j] * g[j]
    best = np.inf
    if k[j] < hi[j]:
        best = a + c[j]
    if k[j] > lo[j] and c[j] - a < best:
        best = c[j] - a
    return best


@jit
def local_search(G, d, t, lo, hi, k, partners, max_rounds):
    """Descend every row of ``k`` (in place) by exact 1-flip and 2-flip moves.

    A move changes one (or two) positions by ±1 inside the box; each accepted move lowers
    ``E`` strictly. The gradient ``g = G e`` is maintained, so a 1-flip's energy change is
    ``2 δ d_j g_j + d_j² G_jj`` (O(1)) and accepting one costs O(f). 2-flip moves pair each
    position ``i`` with the positions ``partners[i]`` (its most correlated inputs; the cross
    term of a pair is bounded by ``2 √(c_i c_j) |corr_ij|``, which prunes most pairs without
    reading ``G_ij``). Rounds (1-flip to convergence, then one 2-flip pass) repeat until a
    2-flip pass finds nothing or ``max_rounds`` is reached.

    Parameters
    ----------
    G : ndarray of shape (F, F)
    d, t : ndarray of shape (n, F)
    lo, hi : ndarray of shape (n, F), int64
    k : ndarray of shape (n, F), int64
        Starting positions (inside the box), overwritten by the local minima.
    partners : ndarray of shape (F, P), int64
        2-flip partners of each position (``P = 0``: 1-flip moves only).
    max_rounds : int

    Returns
    -------
    moves : ndarray of shape (n,), int64
        Accepted moves per row.
    """
    n, F = k.shape
    g = np.empty(F)
    e = np.empty(F)
    c = np.empty(F)
    m = np.empty(F)
    rho = np.empty(F)
    moves = np.zeros(n, dtype=np.int64)
    corr = np.zeros(partners.shape)
    for i in range(F):
        for p in range(partners.shape[1]):
            j = partners[i, p]
            den = np.sqrt(G[i, i] * G[j, j])
            corr[i, p] = abs(G[i, j]) / den if den > 0 else 0.0
    for l in range(n):
        dl = d[l]
        tl = t[l]
        kl = k[l]
        lol = lo[l]
        hil = hi[l]
        scale = 0.0
        for j in range(F):
            c[j] = dl[j] * dl[j] * G[j, j]
            rho[j] = np.sqrt(c[j])
            if c[j] > scale:
                scale = c[j]
        tol = 1e-12 * scale
        for rnd in range(max_rounds):
            if rnd % 16 == 0:
                _gradient(G, dl, tl, kl, g, e)  # recomputed now and then: no drift
            improved = True
            while improved:
                improved = False
                for j in range(F):
                    if c[j] <= 0.0:
                        continue
                    a = 2.0 * dl[j] * g[j]
                    if kl[j] < hil[j] and a + c[j] < -tol:
                        _move(G, dl, kl, g, j, 1)
                        moves[l] += 1
                        improved = True
                    elif kl[j] > lol[j] and c[j] - a < -tol:
                        _move(G, dl, kl, g, j, -1)
                        moves[l] += 1
                        improved = True
            if partners.shape[1] == 0:
                break
            found = False
            for j in range(F):
                m[j] = _best_single(dl, g, c, kl, lol, hil, j)
            for i in range(F):
                if m[i] == np.inf:
                    continue
                for p in range(partners.shape[1]):
                    j = partners[i, p]
                    if m[i] + m[j] >= 2.0 * rho[i] * rho[j] * corr[i, p]:
                        continue
                    ai = 2.0 * dl[i] * g[i]
                    aj = 2.0 * dl[j] * g[j]
                    cross = 2.0 * dl[i] * dl[j] * G[i, j]
                    best = -tol
                    bi = 0
                    bj = 0
                    for si in (-1, 1):
                        if kl[i] + si < lol[i] or kl[i] + si > hil[i]:
                            continue
                        for sj in (-1, 1):
                            if kl[j] + sj < lol[j] or kl[j] + sj > hil[j]:
                                continue
                            de = si * ai + c[i] + sj * aj + c[j] + si * sj * cross
                            if de < best:
                                best = de
                                bi = si
                                bj = sj
                    if bi != 0:
                        _move(G, dl, kl, g, i, bi)
                        _move(G, dl, kl, g, j, bj)
                        moves[l] += 1
                        found = True
                        for q in range(F):
                            m[q] = _best_single(dl, g, c, kl, lol, hil, q)
                        if m[i] == np.inf:
                            break
            if not found:
                break
    return moves


@jit
def sphere_decode(U, t, lo, hi, best, radius, max_nodes):
    """Minimise ``‖U (k − t)‖²`` over integers ``lo <= k <= hi`` (Schnorr–Euchner).

    Depth-first search from the last coordinate of the upper-triangular ``U`` to the first,
    visiting each coordinate's candidates in increasing order of their cost (zig-zag around
    the conditional centre, clipped to the box) and pruning any partial sum not below the best
    energy found so far.

    Parameters
    ----------
    U : ndarray of shape (n, n)
        Upper triangular with a positive diagonal.
    t : ndarray of shape (n,)
    lo, hi : ndarray of shape (n,), int64
    best : ndarray of shape (n,), int64
        A point of the box whose energy is ``radius``; overwritten by the best point found.
    radius : float
        Only points with energy below ``radius`` are searched for.
    max_nodes : int
        Node budget.

    Returns
    -------
    energy : float
        Energy of ``best``.
    proven : bool
        Whether the search finished within the budget, i.e. ``best`` is optimal.
    nodes : int
        Nodes visited.
    """
    n = t.shape[0]
    k = np.zeros(n, dtype=np.int64)
    up = np.zeros(n, dtype=np.int64)
    dn = np.zeros(n, dtype=np.int64)
    c = np.zeros(n)
    dist = np.zeros(n + 1)
    nodes = 0
    i = n - 1
    c[i] = t[i]
    r = np.int64(np.floor(c[i] + 0.5))
    r = min(max(r, lo[i]), hi[i])
    up[i] = r
    dn[i] = r - 1
    while True:
        # the cheaper of the next candidates above and below the centre
        cand = np.int64(0)
        cost = np.inf
        if up[i] <= hi[i]:
            v = U[i, i] * (up[i] - c[i])
            cost = v * v
            cand = up[i]
        if dn[i] >= lo[i]:
            v = U[i, i] * (dn[i] - c[i])
            if v * v < cost:
                cost = v * v
                cand = dn[i]
        if cost == np.inf or dist[i + 1] + cost >= radius:
            i += 1
            if i == n:
                return radius, True, nodes
            continue
        if cand == up[i]:
            up[i] += 1
        else:
            dn[i] -= 1
        k[i] = cand
        dist[i] = dist[i + 1] + cost
        nodes += 1
        if nodes > max_nodes:
            return radius, False, nodes
        if i == 0:
            radius = dist[0]
            for j in range(n):
                best[j] = k[j]
            continue
        i -= 1
        s = 0.0
        for j in range(i + 1, n):
            s += U[i, j] * (k[j] - t[j])
        c[i] = t[i] - s / U[i, i]
        r = np.int64(np.floor(c[i] + 0.5))
        r = min(max(r, lo[i]), hi[i])
        up[i] = r
        dn[i] = r - 1


def warm_up():
    """Compile (or load from numba's cache) every kernel in this module on tiny inputs."""
    G = np.array([[2.0, 0.5], [0.5, 1.0]])
    d = np.ones((1, 2))
    t = np.array([[0.4, 0.6]])
    lo = np.zeros((1, 2), dtype=np.int64)
    hi = np.ones((1, 2), dtype=np.int64)
    k = np.zeros((1, 2), dtype=np.int64)
    local_search(G, d, t, lo, hi, k, np.array([[1], [0]], dtype=np.int64), 3)
    U = np.linalg.cholesky(G).T.copy()
    best = np.zeros(2, dtype=np.int64)
    sphere_decode(U, t[0], lo[0], hi[0], best, np.inf, 100)
