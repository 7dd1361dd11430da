"""Rounding algorithms of post-training quantization: nearest, GPTQ, AdaRound and the QUBO solver.

Plain arrays in, plain arrays out; :func:`quboclf.quantize_layers` and
:class:`quboclf.QUBOQuantizer` wrap them.

Every method rounds the weights ``w̃_l = [w_l, b_l]`` of each output neuron ``l`` of a dense layer
to grid values ``s ∘ (qmin + step · k)`` with integer *positions* ``k ∈ [0, L)`` on the
``n_bits`` grid (:func:`quboclf._rounding.integer_grid`), minimising the neuron's error on the
calibration inputs ``A = [X, 1]``::

    E_l(k) = ‖A e‖² = eᵀ G e,   e = d ∘ (k − t),   G = AᵀA,

with ``d = s · step`` (the value of one grid step) and ``t = (w̃ / s − qmin) / step`` (the float
weights' positions). This is a box-constrained integer least-squares (closest vector) problem
whose matrix ``G`` is shared by all neurons of the layer; summed over neurons it is the layer
objective ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F``. Inputs that are zero in every calibration row
("dead" columns of ``A``) do not change the objective: every method leaves their weights at
round-to-nearest.
"""

from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy.linalg import cho_factor, cho_solve, cholesky

from ._rounding import integer_grid

__all__ = [
    "LayerRounding",
    "adaround",
    "correlated_partners",
    "gptq",
    "layer_rounding",
    "local_search_reference",
    "neighbourhood_box",
    "prove_neuron",
    "qubo_round",
    "round_nearest",
    "sphere_decode_reference",
]


@dataclass(frozen=True, eq=False)
class LayerRounding:
    """One dense layer's rounding problems (see the module docstring).

    Attributes
    ----------
    G : ndarray of shape (F, F)
        ``AᵀA`` restricted to the active columns (``F`` of them).
    d, t : ndarray of shape (n, F)
        Grid step values and float positions of the active columns.
    active : ndarray of shape (f+1,), dtype bool
        Columns whose rounding is chosen (not dead, and not a bias fixed at 0).
    fixed_q : ndarray of shape (n, f+1), dtype int64
        Integers of the inactive columns (round-to-nearest, or 0 for a bias fixed at 0).
    n_levels, qmin, step : int
        The grid.
    """

    G: np.ndarray
    d: np.ndarray
    t: np.ndarray
    active: np.ndarray
    fixed_q: np.ndarray
    n_levels: int
    qmin: int
    step: int

    @property
    def n_neurons(self):
        return self.d.shape[0]

    def objectives(self, k):
        """Each neuron's ``E_l(k_l)`` for positions ``k`` (n, F)."""
        E = self.d * (np.asarray(k, dtype=np.float64) - self.t)
        return np.einsum("ij,ij->i", E @ self.G, E)

    def integers(self, k):
        """Integers ``q`` (n, f+1) of positions ``k`` of the active columns."""
        q = self.fixed_q.copy()
        q[:, self.active] = self.qmin + self.step * np.asarray(k, dtype=np.int64)
        return q


def layer_rounding(X, W, b, weight_scale, bias_scale, n_bits, *, fit_bias=True):
    """Build a dense layer's :class:`LayerRounding`.

    Parameters
    ----------
    X : ndarray of shape (N, f)
        Calibration inputs of the layer.
    W : ndarray of shape (n, f)
        Float weights.
    b : ndarray of shape (n,)
        Float bias.
    weight_scale : float or ndarray of shape (n,)
        Per-tensor or per-channel weight scale.
    bias_scale : float
        Bias scale.
    n_bits : int
        Bit width.
    fit_bias : bool, default=True
        False for a layer without bias: ``b`` must be 0 and stays 0.

    Returns
    -------
    problem : LayerRounding

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._ptq import layer_rounding, round_nearest
    >>> X = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])  # input 1 is dead
    >>> lr = layer_rounding(X, np.array([[0.3, -0.6]]), np.array([0.1]), 0.25, 0.25, 4)
    >>> lr.active
    array([ True, False,  True])
    >>> lr.integers(round_nearest(lr))
    array([[ 1, -2,  0]])
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n, f = W.shape
    qmin, qmax, step = integer_grid(n_bits)
    L = (qmax - qmin) // step + 1
    s_w = np.broadcast_to(np.asarray(weight_scale, dtype=np.float64).reshape(-1, 1), (n, 1))
    scale = np.hstack([np.broadcast_to(s_w, (n, f)), np.full((n, 1), float(bias_scale))])
    values = np.hstack([W, b[:, None]])
    t = (values / scale - qmin) / step
    G = np.empty((f + 1, f + 1))
    G[:f, :f] = X.T @ X
    G[:f, f] = G[f, :f] = X.sum(axis=0)
    G[f, f] = X.shape[0]
    active = np.diag(G) > 0
    k_near = np.clip(np.floor(t + 0.5), 0, L - 1).astype(np.int64)
    fixed_q = qmin + step * k_near
    if not fit_bias:
        if np.any(b != 0):
            raise ValueError("fit_bias=False needs a zero bias")
        active[f] = False
        fixed_q[:, f] = 0
    return LayerRounding(
        G=np.ascontiguousarray(G[np.ix_(active, active)]),
        d=np.ascontiguousarray((scale * step)[:, active]),
        t=np.ascontiguousarray(t[:, active]),
        active=active,
        fixed_q=fixed_q,
        n_levels=int(L),
        qmin=int(qmin),
        step=int(step),
    )


def round_nearest(lr):
    """Round-to-nearest positions (ties up), clipped to the grid."""
    return np.clip(np.floor(lr.t + 0.5), 0, lr.n_levels - 1).astype(np.int64)


def neighbourhood_box(lr, width):
    """Allowed positions ``lo, hi`` (n, F): ``width`` grid points below and above ``t``.

    ``width=1`` is round down / round up (``⌊t⌋, ⌊t⌋ + 1``), ``width=2`` also one step further
    each way (``⌊t⌋ − 1 … ⌊t⌋ + 2``); both clipped to the grid. A value beyond a grid end gets
    the end point (and, with ``width=2``, its neighbour).
    """
    L = lr.n_levels
    base = np.clip(np.floor(lr.t), 0, L - 2).astype(np.int64)
    lo = np.clip(base - (width - 1), 0, L - 1)
    hi = np.clip(base + width, 0, L - 1)
    beyond_top = lr.t >= L - 1
    beyond_bottom = lr.t <= 0
    lo = np.where(beyond_top, max(L - width, 0), lo)
    hi = np.where(beyond_bottom, min(width - 1, L - 1), hi)
    return lo, hi


# -- GPTQ -------------------------------------------------------------------------------------


def gptq(lr, *, act_order=True, percdamp=0.01, block_size=128, lo=None, hi=None):
    """GPTQ (Frantar et al., 2022): column-by-column rounding with inverse-Hessian feedback.

    Columns are rounded in order (by decreasing ``G_jj`` with ``act_order``); the error of each
    rounded column is spread over the columns not yet rounded through the upper Cholesky factor
    of ``(G + λ I)⁻¹``, ``λ = percdamp · mean(diag G)``, with lazy batch updates of
    ``block_size`` columns. With one column it is round-to-nearest. Rounding clips to the grid,
    or to a per-weight box ``[lo, hi]`` of positions (then it is Babai's nearest-plane rounding
    restricted to the box).

    Returns
    -------
    k : ndarray of shape (n, F), int64
        Positions.
    """
    n, F = lr.t.shape
    if F == 0:
        return np.zeros((n, 0), dtype=np.int64)
    if lo is None:
        lo = np.zeros((n, F), dtype=np.int64)
        hi = np.full((n, F), lr.n_levels - 1, dtype=np.int64)
    H = lr.G.copy()
    H[np.diag_indices(F)] += percdamp * np.mean(np.diag(H))
    perm = np.argsort(-np.diag(lr.G), kind="stable") if act_order else np.arange(F)
    H = H[np.ix_(perm, perm)]
    Hinv = cholesky(cho_solve(cho_factor(H), np.eye(F)), lower=False)
    # work in the positions' units, column j scaled by d_j: w = d ∘ t
    Wv = (lr.d * lr.t)[:, perm]
    d = lr.d[:, perm]
    lo, hi = lo[:, perm], hi[:, perm]
    k = np.empty((n, F), dtype=np.int64)
    for i1 in range(0, F, block_size):
        i2 = min(i1 + block_size, F)
        W1 = Wv[:, i1:i2].copy()
        Err = np.empty((n, i2 - i1))
        Hb = Hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            j = i1 + i
            w = W1[:, i]
            kj = np.clip(np.floor(w / d[:, j] + 0.5), lo[:, j], hi[:, j])
            k[:, j] = kj
            err = (w - d[:, j] * kj) / Hb[i, i]
            W1[:, i:] -= np.outer(err, Hb[i, i:])
            Err[:, i] = err
        Wv[:, i2:] -= Err @ Hinv[i1:i2, i2:]
    out = np.empty_like(k)
    out[:, perm] = k
    return out


# -- AdaRound ---------------------------------------------------------------------------------

_ZETA, _GAMMA = 1.1, -0.1


def adaround(lr, *, n_iter=1000, reg=0.01, warmup=0.2, beta=(20.0, 2.0), learning_rate=1e-2):
    """AdaRound (Nagel et al., 2020) on the layer objective, in NumPy.

    Every weight rounds down or up, ``k = ⌊t⌋ + h(V)`` relaxed by the rectified sigmoid
    ``h(V) = clip(σ(V)(ζ − γ) + γ, 0, 1)`` (ζ = 1.1, γ = −0.1), initialised at the fractional
    part. Adam (learning rate ``learning_rate``) minimises the reconstruction error
    ``‖A (Ŵ(h) − W̃)ᵀ‖²_F / N`` plus ``reg · Σ (1 − |2h − 1|^β)`` (after a warm-up of
    ``warmup · n_iter`` iterations without it, β decays linearly from ``beta[0]`` to
    ``beta[1]``); the answer rounds up where ``h >= ½``. A neuron whose answer is worse than
    round-to-nearest keeps round-to-nearest.

    Returns
    -------
    k : ndarray of shape (n, F), int64
    """
    L = lr.n_levels
    t = lr.t
    if t.shape[1] == 0:
        return np.zeros(t.shape, dtype=np.int64)
    base = np.clip(np.floor(t), 0, L - 2)
    rest = np.clip(t - base, 0.0, 1.0)
    p = (rest - _GAMMA) / (_ZETA - _GAMMA)
    V = np.log(p / (1 - p))
    N = lr.G[-1, -1] if lr.active[-1] else max(np.max(np.diag(lr.G)), 1.0)
    m = np.zeros_like(V)
    v = np.zeros_like(V)
    b1, b2, eps = 0.9, 0.999, 1e-8
    start = int(warmup * n_iter)
    for it in range(n_iter):
        s = 1.0 / (1.0 + np.exp(-V))
        h_raw = s * (_ZETA - _GAMMA) + _GAMMA
        h = np.clip(h_raw, 0.0, 1.0)
        E = lr.d * (base + h - t)
        grad_h = (2.0 / N) * (E @ lr.G) * lr.d
        if it >= start:
            frac = (it - start) / max(n_iter - start, 1)
            bt = beta[1] + (beta[0] - beta[1]) * max(0.0, 1.0 - frac)
            u = 2 * h - 1
            grad_h -= reg * bt * np.abs(u) ** (bt - 1) * np.sign(u) * 2
        g = grad_h * ((h_raw > 0) & (h_raw < 1)) * s * (1 - s) * (_ZETA - _GAMMA)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh = m / (1 - b1 ** (it + 1))
        vh = v / (1 - b2 ** (it + 1))
        V -= learning_rate * mh / (np.sqrt(vh) + eps)
    h = np.clip(1.0 / (1.0 + np.exp(-V)) * (_ZETA - _GAMMA) + _GAMMA, 0.0, 1.0)
    k = (base + (h >= 0.5)).astype(np.int64)
    near = round_nearest(lr)
    worse = lr.objectives(k) > lr.objectives(near)
    k[worse] = near[worse]
    return k


# -- the QUBO solver --------------------------------------------------------------------------


def local_search_reference(G, d, t, lo, hi, k, partners, max_rounds=50):
    """Pure-NumPy reference of :func:`quboclf._kernels._search.local_search` (same moves)."""
    k = np.array(k, dtype=np.int64)
    n, F = k.shape
    moves = np.zeros(n, dtype=np.int64)
    diag = np.diag(G)
    den = np.sqrt(np.outer(diag, diag))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr_full = np.where(den > 0, np.abs(G) / den, 0.0)
    for l in range(n):
        c = d[l] ** 2 * diag
        tol = 1e-12 * c.max()
        rho = np.sqrt(c)

        def single(g, j, l=l, c=c):
            a = 2 * d[l, j] * g[j]
            best = np.inf
            if k[l, j] < hi[l, j]:
                best = a + c[j]
            if k[l, j] > lo[l, j]:
                best = min(best, c[j] - a)
            return best

        for rnd in range(max_rounds):
            if rnd % 16 == 0:
                g = G @ (d[l] * (k[l] - t[l]))
            improved = True
            while improved:
                improved = False
                for j in range(F):
                    if c[j] <= 0:
                        continue
                    a = 2 * d[l, j] * g[j]
                    for s in (1, -1):
                        if lo[l, j] <= k[l, j] + s <= hi[l, j] and s * a + c[j] < -tol:
                            k[l, j] += s
                            g += s * d[l, j] * G[:, j]
                            moves[l] += 1
                            improved = True
                            break
            if partners.shape[1] == 0:
                break
            found = False
            m = np.array([single(g, j) for j in range(F)])
            for i in range(F):
                if m[i] == np.inf:
                    continue
                for j in partners[i]:
                    if m[i] + m[j] >= 2 * rho[i] * rho[j] * corr_full[i, j]:
                        continue
                    best, bi, bj = -tol, 0, 0
                    for si, sj in product((-1, 1), (-1, 1)):
                        if not (lo[l, i] <= k[l, i] + si <= hi[l, i]):
                            continue
                        if not (lo[l, j] <= k[l, j] + sj <= hi[l, j]):
                            continue
                        de = (si * 2 * d[l, i] * g[i] + c[i] + sj * 2 * d[l, j] * g[j] + c[j]
                              + si * sj * 2 * d[l, i] * d[l, j] * G[i, j])
                        if de < best:
                            best, bi, bj = de, si, sj
                    if bi:
                        k[l, i] += bi
                        k[l, j] += bj
                        g += bi * d[l, i] * G[:, i]
                        g += bj * d[l, j] * G[:, j]
                        moves[l] += 1
                        found = True
                        m = np.array([single(g, q) for q in range(F)])
                        if m[i] == np.inf:
                            break
            if not found:
                break
    return k, moves


def correlated_partners(G, n_partners):
    """The ``n_partners`` inputs most correlated with each input (by ``|G_ij| / √(G_ii G_jj)``).

    Returns an int64 array of shape (F, min(n_partners, F − 1)).
    """
    F = G.shape[0]
    P = min(int(n_partners), F - 1)
    if P <= 0:
        return np.zeros((F, 0), dtype=np.int64)
    diag = np.sqrt(np.diag(G))
    corr = np.abs(G) / np.outer(diag, diag)
    np.fill_diagonal(corr, -1.0)
    idx = np.argpartition(-corr, P - 1, axis=1)[:, :P]
    order = np.argsort(-np.take_along_axis(corr, idx, axis=1), axis=1, kind="stable")
    return np.ascontiguousarray(np.take_along_axis(idx, order, axis=1).astype(np.int64))


def sphere_decode_reference(U, t, lo, hi):
    """Exhaustive reference of :func:`quboclf._kernels._search.sphere_decode`: ``(k, energy)``."""
    best, best_e = None, np.inf
    for k in product(*(range(a, b + 1) for a, b in zip(lo, hi))):
        r = U @ (np.array(k) - t)
        e = float(r @ r)
        if e < best_e:
            best, best_e = np.array(k, dtype=np.int64), e
    return best, best_e


def _blast_order(M):
    """Order for the sphere decoder: the last coordinate has the largest conditional precision.

    Greedy (V-BLAST): repeatedly place last the remaining variable with the smallest diagonal
    of the inverse of the remaining matrix, then remove it (a rank-one downdate).
    """
    n = M.shape[0]
    P = np.linalg.inv(M)
    remaining = list(range(n))
    order = []
    while remaining:
        idx = int(np.argmin(np.diag(P)))
        order.append(remaining.pop(idx))
        P = P - np.outer(P[:, idx], P[idx, :]) / P[idx, idx]
        P = np.delete(np.delete(P, idx, axis=0), idx, axis=1)
    return np.array(order[::-1], dtype=np.int64)


def prove_neuron(G, d, t, lo, hi, k, *, max_nodes=200_000):
    """Branch and bound (sphere decoding) of one neuron over its box, from answer ``k``.

    Returns ``(k, proven)``: the best positions found (never worse than ``k``) and whether they
    are proven optimal over the box ``[lo, hi]``. A tiny ridge (``1e-12`` of the mean diagonal)
    keeps the Cholesky factor defined when calibration inputs are collinear.
    """
    from ._kernels._search import sphere_decode

    free = hi > lo
    k = k.copy()
    if not free.any():
        return k, True
    M = (d[:, None] * G) * d[None, :]
    Fi = np.flatnonzero(free)
    Xi = np.flatnonzero(~free)
    MFF = M[np.ix_(Fi, Fi)]
    MFF = MFF + 1e-12 * np.mean(np.diag(MFF)) * np.eye(len(Fi))
    tF = t[Fi].copy()
    if len(Xi):
        z = k[Xi] - t[Xi]
        tF -= cho_solve(cho_factor(MFF), M[np.ix_(Fi, Xi)] @ z)
    order = _blast_order(MFF)
    U = np.linalg.cholesky(MFF[np.ix_(order, order)]).T.copy()
    tO, loO, hiO = tF[order], lo[Fi][order], hi[Fi][order]
    best = k[Fi][order].copy()
    r = U @ (best - tO)
    radius = float(r @ r) * (1 - 1e-12)
    _, proven, _ = sphere_decode(U, tO, loO, hiO, best, radius, max_nodes)
    cand = k.copy()
    cand[Fi[order]] = best
    return cand, bool(proven)


def _energies(G, d, t, k):
    E = d * (k - t)
    return np.einsum("ij,ij->i", E @ G, E)


def qubo_round(
    lr,
    *,
    neighbourhood=1,
    starts=(),
    n_partners=32,
    max_exact=64,
    max_nodes=200_000,
    solve=None,
    first=None,
    stages=None,
    n_jobs=None,
):
    """The QUBO rounding: the best start, exact local search, then proofs on small neurons.

    Parameters
    ----------
    lr : LayerRounding
    neighbourhood : {1, 2}, default=1
        Allowed positions: :func:`neighbourhood_box` (floor/ceil, or one step further each way),
        widened where a start lies outside.
    starts : sequence of ndarray of shape (n, F)
        Answers of other methods (GPTQ, ...); with round-to-nearest, each neuron starts from
        the best of them, so the answer is never worse than any of them.
    n_partners : int, default=32
        2-flip moves pair each weight with its ``n_partners`` most correlated inputs
        (:func:`correlated_partners`); 0 searches 1-flip moves only.
    max_exact : int, default=64
        Neurons with at most this many free positions are searched by branch and bound.
    max_nodes : int, default=200_000
        Node budget of each branch and bound.
    solve : callable, default=None
        ``solve(l, lo, hi, k) -> k`` of another solver (a sampler), called last for every neuron
        with a choice, from the answer so far; its answer (positions on the grid) is kept where
        it is better.
    first : callable, default=None
        ``first(l, lo, hi, k) -> k`` of another solver (a sampler) that starts from the best
        start and comes *before* the local search, which then polishes its answer; the local
        search also runs from the start, and each neuron keeps the better answer (so the
        result is never worse than without ``first``).
    stages : dict, default=None
        Filled with each neuron's objective after each stage: ``"start"`` (the best start)
        and, with ``first``, ``"sampler"`` (after it, before the local search), and
        ``"sampler_path"``: the neurons whose answer came from the sampler's path (the local
        search also runs from the start; a neuron keeps the better of the two).
    n_jobs : int, default=None
        Threads for the local search (joblib; an ambient ``joblib.parallel_backend``, e.g.
        Dask, takes the groups of neurons over). ``1`` searches in this thread.

    Returns
    -------
    k : ndarray of shape (n, F), int64
    proven : ndarray of shape (n,), dtype bool
        Neurons proven optimal over their box.
    """
    from ._kernels._search import local_search

    G, d, t = lr.G, lr.d, lr.t
    n, F = t.shape
    candidates = [round_nearest(lr), *starts]
    energies = np.array([_energies(G, d, t, c) for c in candidates])
    pick = np.argmin(energies, axis=0)
    k = np.array([candidates[p][l] for l, p in enumerate(pick)], dtype=np.int64).reshape(n, F)
    lo, hi = neighbourhood_box(lr, neighbourhood)
    lo = np.minimum(lo, k)
    hi = np.maximum(hi, k)
    partners = correlated_partners(G, n_partners)
    chunks = np.array_split(np.arange(n), max(1, min(n, _n_threads(n_jobs))))

    def search(k):
        if len(chunks) == 1:
            local_search(G, d, t, lo, hi, k, partners, 50)
            return k
        from joblib import Parallel, delayed

        def run(rows):
            kk = np.ascontiguousarray(k[rows])
            local_search(G, np.ascontiguousarray(d[rows]), np.ascontiguousarray(t[rows]),
                         np.ascontiguousarray(lo[rows]), np.ascontiguousarray(hi[rows]), kk,
                         partners, 50)
            return kk

        for rows, kk in zip(chunks, Parallel(n_jobs=len(chunks), prefer="threads")(
                delayed(run)(rows) for rows in chunks)):
            k[rows] = kk
        return k

    if stages is not None:
        stages["start"] = _energies(G, d, t, k)
    if first is not None:
        kq = k.copy()
        for l in np.flatnonzero(np.any(hi > lo, axis=1)):
            _keep_better(lr, kq, l, first(l, lo[l], hi[l], kq[l]))
        if stages is not None:
            stages["sampler"] = _energies(G, d, t, kq)
        # both paths polished; a neuron keeps the better (the sampler's where they tie)
        kq, k = search(kq), search(k)
        better = _energies(G, d, t, kq) <= _energies(G, d, t, k)
        k[better] = kq[better]
        if stages is not None:
            stages["sampler_path"] = better
    else:
        search(k)
    proven = np.zeros(n, dtype=bool)
    n_free = np.count_nonzero(hi > lo, axis=1)
    for l in np.flatnonzero(n_free <= max_exact):
        k[l], proven[l] = prove_neuron(G, d[l], t[l], lo[l], hi[l], k[l], max_nodes=max_nodes)
    if solve is not None:
        for l in np.flatnonzero(np.any(hi > lo, axis=1)):
            _keep_better(lr, k, l, solve(l, lo[l], hi[l], k[l]))
    return k, proven


def _keep_better(lr, k, l, cand):
    """Put a sampler's answer ``cand`` for neuron ``l`` into ``k`` where its objective is lower."""
    G, d, t = lr.G, lr.d, lr.t
    cand = np.asarray(cand, dtype=np.int64)
    if cand.shape != (k.shape[1],) or np.any(cand < 0) or np.any(cand >= lr.n_levels):
        raise RuntimeError(f"the sampler returned levels outside neuron {l}'s bounds")
    if _energies(G, d[l:l + 1], t[l:l + 1], cand[None])[0] < _energies(
            G, d[l:l + 1], t[l:l + 1], k[l:l + 1])[0]:
        k[l] = cand


def _n_threads(n_jobs):
    """Groups of neurons to search in parallel: ``n_jobs`` as the active joblib backend reads it
    (``None`` is one group, or all workers of an ambient backend such as Dask)."""
    if n_jobs == 1:
        return 1
    from joblib import effective_n_jobs

    return effective_n_jobs(n_jobs)
