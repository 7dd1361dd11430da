"""Training a K-bit softmax head: array-in/array-out solver functions (no estimator logic).

The objective is the regularised mean cross-entropy of ``A W`` with ``A = [Z, 1]``,

    L(W) = mean_i CE(y_i, A_i W) + alpha/2 ||coef||²,

with one logistic output for binary problems (``k = 1``) and softmax over ``k`` classes otherwise.
:class:`~quboclf.QUBOCNNClassifier` trains its head in three steps, each a function here:

1. :func:`fit_continuous`: a converged continuous fit (L-BFGS on chunked passes over the data);
2. :func:`choose_scales`: the grid scales (one per class row, per tensor or per feature, and one
   for the biases) that minimise the training objective of the rounded weights, the start;
3. :func:`grid_descent`: QUBO steps on the grid. Each class's step minimises a local quadratic
   model (the class's Gauss–Newton block ``Aᵀ diag(p_c(1 − p_c)) A / m + alpha`` on a row
   subsample, scaled by a trust factor, and the true gradient) over the grid, one QUBO per class
   handed to the sampler; a step is kept only where the *true* objective drops, so the loss never
   increases and the result is never worse than the start. On the start and whenever the steps
   converge, :func:`refit_scales` refits the scales to the current codes (a convex problem in
   one multiplier per scale and the biases), kept only if the true objective drops.

Weights are ``w = s q`` with ``q`` on an integer grid (:func:`grid_integers`); the K-bit code of
a weight is its level ``m = (q − qmin) / step`` in ``[0, n_levels)``. See the user guide,
:ref:`classifier`.
"""

import time
from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logsumexp

from . import _qubo
from ._rounding import integer_grid
from ._store import rows
from ._streaming import batches

__all__ = [
    "GRIDS",
    "HeadGrid",
    "choose_scales",
    "class_problems",
    "curvature_blocks",
    "curvature_row_weight",
    "fit_continuous",
    "grid_descent",
    "grid_integers",
    "loss_grad",
    "next_problems",
    "refit_scales",
]

#: Grids a K-bit weight can take: ``"midrise"`` ``{±1, ±3, …, ±(2**K − 1)}`` (all ``2**K``
#: codes, no zero) and ``"integer"`` (:func:`quboclf._rounding.integer_grid`, the quantizer's:
#: ``{−(2**(K−1) − 1), …, 2**(K−1) − 1}``, zero included, ``{−1, +1}`` at one bit).
GRIDS = ("midrise", "integer")

#: Candidate clipping ratios of the scale search (fraction of the largest magnitude).
SCALE_RATIOS = np.unique(np.concatenate([np.geomspace(0.01, 1.0, 40), np.linspace(0.8, 1.0, 11)]))
#: Rows of the subsample that preconditions the continuous fit (:func:`fit_continuous`).
SUBSAMPLE_ROWS = 8192
#: Rows (the first of that subsample) on which the scales are searched.
SCALE_ROWS = 4096
#: Rows (the first of that subsample) from which the curvature blocks are built.
CURVATURE_ROWS = 2048
#: Share of a Gauss–Newton block's trace its light rows may leave out (:func:`_heavy_rows`).
CURVATURE_TAIL = 0.01

#: Iterations after which the continuous fit rebuilds its preconditioner (:func:`fit_continuous`).
PRECONDITION_REFRESH = (10, 40)
#: Corrections the preconditioned L-BFGS keeps (scipy's default, 10, without preconditioning;
#: more capture more of the coupling between the classes, which the preconditioner leaves out).
LBFGS_MEMORY = 30
# The continuous start of an n_bits grid stops once _GAIN_WINDOW iterations gain less than
# _GAIN_SHARE of the expected loss of rounding (fit_continuous)
_GAIN_WINDOW = 10
_GAIN_SHARE = 1e-3

# Rows a pass handles at once inside a batch (its scores and residual stay in cache)
_CACHE_ROWS = 1024

# Trust factor of the local model: curvature lam * H_c; halves after a kept step, doubles
# after a rejected one; a class whose step is rejected at _LAM_MAX rests until another moves.
_LAM_MAX = 64.0
# Rebuild the curvature blocks once the loss has dropped this much (relative) since the last.
_REFRESH = 0.1
# Sweeps over which the relative gain is measured when not every class moves.
_WINDOW = 5
# Trust factors tried for the first step from an off-grid start.
_FIRST_TRUST = (1.0, 4.0, 16.0)


# --------------------------------------------------------------------------------------------
# Passes over the data (chunked; memory O(batch_size * (d + k)) + O(d k), whatever n_samples)
# --------------------------------------------------------------------------------------------


def _scores(Zb, W):
    """Scores ``[Zb, 1] W`` of one chunk in float64 (the product runs in the chunk's dtype)."""
    return (Zb @ W[:-1].astype(Zb.dtype, copy=False)).astype(np.float64, copy=False) + W[-1]


def _chunk_loss(S, y, residual=True, sw=None):
    """Summed cross-entropy of one chunk's scores, and the residual ``P − Y``.

    ``k == 1`` is one logistic output (``y`` in {0, 1}); ``k >= 2`` is softmax (``y`` indices).
    With row weights ``sw`` the sum and the residual rows are weighted.
    """
    if S.shape[1] == 1:
        s = S[:, 0]
        rowloss = -log_expit(np.where(y == 1, s, -s))
        loss = float(np.sum(rowloss) if sw is None else rowloss @ sw)
        if not residual:
            return loss, None
        R = expit(s) - y
        return loss, (R if sw is None else R * sw)[:, None]
    idx = np.arange(S.shape[0])
    top = S.max(axis=1, keepdims=True)
    E = np.exp(S - top)
    total = E.sum(axis=1)
    rowloss = top[:, 0] + np.log(total) - S[idx, y]
    loss = float(np.sum(rowloss) if sw is None else rowloss @ sw)
    if not residual:
        return loss, None
    E /= total[:, None]
    E[idx, y] -= 1.0
    if sw is not None:
        E *= sw[:, None]
    return loss, E


def _weight_chunk(sample_weight, sl):
    return None if sample_weight is None else sample_weight[sl]


def _total_weight(n, sample_weight):
    """The loss's denominator: ``n``, or the sum of the sample weights."""
    return n if sample_weight is None else float(np.sum(sample_weight))


def loss_grad(Z, y, W, reg, batch_size, grad=True, sample_weight=None):
    """Regularised mean cross-entropy at ``W`` ((d + 1, k)) and its gradient, in one pass.

    ``reg`` (d + 1,) is the L2 weight of each row (``alpha`` for features, 0 for the bias).
    With ``grad=False`` the gradient is None. With ``sample_weight`` (n,) the mean is the
    weighted one, ``Σ s_i CE_i / Σ s_i`` (a weight of 2 counts a row twice).
    """
    n, d = Z.shape
    total = 0.0
    # the gradient accumulates transposed: ``Rᵀ Z`` runs about 30 % faster than ``Zᵀ R``
    # (BLAS streams the long, contiguous rows of Z)
    GT = np.zeros((W.shape[1], d)) if grad else None
    bias = np.zeros(W.shape[1]) if grad else None
    for sl in batches(n, batch_size):
        Zb = rows(Z, sl)
        # sub-chunks that stay in cache between the scores and the gradient (25 % faster)
        for start in range(0, Zb.shape[0], _CACHE_ROWS):
            stop = min(start + _CACHE_ROWS, Zb.shape[0])
            part = slice(sl.start + start, sl.start + stop)
            Zc = Zb[start:stop]
            loss_b, R = _chunk_loss(
                _scores(Zc, W), y[part], residual=grad, sw=_weight_chunk(sample_weight, part)
            )
            total += loss_b
            if grad:
                GT += R.T.astype(Zc.dtype) @ Zc
                bias += R.sum(axis=0)
    n = _total_weight(n, sample_weight)
    loss = total / n + 0.5 * float(np.sum(reg[:, None] * W**2))
    G = None
    if grad:
        G = np.vstack([GT.T, bias]) / n + reg[:, None] * W
    return loss, G


def _single_column_losses(S, SV, y, cols, sw=None):
    """Summed cross-entropy of ``S`` with one column ``c`` replaced by ``SV``'s, for each ``c``.

    All columns at once: each row's exponentials of the other columns come from prefix and
    suffix sums (no ``total − own`` cancellation when one class holds all the mass).
    """
    n, k = S.shape
    top = np.maximum(S.max(axis=1), SV[:, cols].max(axis=1))[:, None]
    ES = np.exp(S - top)
    prefix = np.cumsum(ES, axis=1)
    suffix = np.cumsum(ES[:, ::-1], axis=1)[:, ::-1]
    others = np.zeros((n, k))
    others[:, 1:] += prefix[:, :-1]
    others[:, :-1] += suffix[:, 1:]
    lse = top + np.log(others[:, cols] + np.exp(SV[:, cols] - top))
    target = np.where(
        y[:, None] == cols[None, :], SV[:, cols], S[np.arange(n), y][:, None]
    )
    rowloss = lse - target
    return rowloss.sum(axis=0) if sw is None else sw @ rowloss


def _trial_losses(Z, y, W, D, reg, batch_size, sample_weight=None):
    """One pass: the loss at ``W + D``, its gradient, and the loss of each single-class change.

    ``single[c]`` is the loss of ``W`` with only column ``c`` replaced by ``W + D``'s.
    """
    n, d = Z.shape
    k = W.shape[1]
    V = W + D
    total, single = 0.0, np.zeros(k)
    G = np.zeros((d + 1, k))
    cols = np.flatnonzero(np.any(D != 0, axis=0)) if k > 1 else np.empty(0, dtype=int)
    WV = np.hstack([W, V])
    for sl in batches(n, batch_size):
        Zb = rows(Z, sl)
        # the pass is memory-bound: both scores from one read of each sub-chunk, which stays
        # in cache for the gradient (as in loss_grad)
        for start in range(0, Zb.shape[0], _CACHE_ROWS):
            stop = min(start + _CACHE_ROWS, Zb.shape[0])
            part = slice(sl.start + start, sl.start + stop)
            Zc = Zb[start:stop]
            SS = _scores(Zc, WV)
            S, SV = SS[:, :k], SS[:, k:]
            sw = _weight_chunk(sample_weight, part)
            loss_b, R = _chunk_loss(SV, y[part], sw=sw)
            total += loss_b
            G[:-1] += Zc.T @ R.astype(Zc.dtype, copy=False)
            G[-1] += R.sum(axis=0)
            if cols.size:
                single[cols] += _single_column_losses(S, SV, y[part], cols, sw)
    n = _total_weight(n, sample_weight)
    loss = total / n + 0.5 * float(np.sum(reg[:, None] * V**2))
    G = G / n + reg[:, None] * V
    base = 0.5 * float(np.sum(reg[:, None] * W**2))
    if k == 1:
        single[:] = loss
    else:
        for c in range(k):
            if c in cols:
                dreg = 0.5 * float(np.sum(reg * (V[:, c] ** 2 - W[:, c] ** 2)))
                single[c] = single[c] / n + base + dreg
            else:
                single[c] = np.inf
    return loss, G, single


# --------------------------------------------------------------------------------------------
# Grid
# --------------------------------------------------------------------------------------------


def grid_integers(n_bits, grid="midrise"):
    """Integer grid ``(qmin, qmax, step)`` of a ``n_bits`` weight: ``w = s q``.

    Examples
    --------
    >>> from quboclf._head import grid_integers
    >>> grid_integers(1), grid_integers(2), grid_integers(2, "integer")
    ((-1, 1, 2), (-3, 3, 2), (-1, 1, 1))
    """
    if grid == "integer":
        return integer_grid(n_bits)
    top = 2**n_bits - 1
    return -top, top, 2


@dataclass
class HeadGrid:
    """The grid of a head's weights: ``w = scale * q``, ``q`` on :func:`grid_integers`.

    Attributes
    ----------
    n_bits, bias_bits : int
        Bits per coefficient and per bias.
    grid : str
        One of :data:`GRIDS`.
    coef_scale : ndarray of shape (d, k)
        Scale of every coefficient (broadcast from one per class, per tensor or per feature).
    bias_scale : float
        One scale shared by the biases.
    """

    n_bits: int
    bias_bits: int
    grid: str
    coef_scale: np.ndarray
    bias_scale: float

    def _spec(self, bias):
        return grid_integers(self.bias_bits if bias else self.n_bits, self.grid)

    def n_levels(self, bias=False):
        qmin, qmax, step = self._spec(bias)
        return (qmax - qmin) // step + 1

    def levels(self, W):
        """Levels (d + 1, k) of the grid points nearest to ``W`` (clipped)."""
        out = np.empty(W.shape, dtype=np.int64)
        for bias, sl, s in ((False, slice(None, -1), self.coef_scale), (True, -1, self.bias_scale)):
            qmin, _, step = self._spec(bias)
            with np.errstate(over="ignore", invalid="ignore"):
                m = np.rint((W[sl] / s - qmin) / step)
            out[sl] = np.clip(m, 0, self.n_levels(bias) - 1)
        return out

    def values(self, M):
        """Weights (d + 1, k) of levels ``M``."""
        out = np.empty(M.shape)
        for bias, sl, s in ((False, slice(None, -1), self.coef_scale), (True, -1, self.bias_scale)):
            qmin, _, step = self._spec(bias)
            out[sl] = s * (qmin + step * M[sl].astype(np.float64))
        return out

    def round(self, W):
        """Nearest grid point of every weight."""
        return self.values(self.levels(W))

    def on_grid(self, W):
        return bool(np.all(np.abs(self.round(W) - W) <= 1e-9 * (np.abs(W) + 1e-300)))

    def variable_grid(self, c, with_bias):
        """``delta``, ``offset`` and the top level of class ``c``'s QUBO variables."""
        qmin, _, step = self._spec(False)
        s = self.coef_scale[:, c]
        delta, offset = s * step, s * qmin
        upper = np.full(s.shape[0], self.n_levels() - 1, dtype=np.int64)
        if with_bias:
            bmin, _, bstep = self._spec(True)
            delta = np.append(delta, self.bias_scale * bstep)
            offset = np.append(offset, self.bias_scale * bmin)
            upper = np.append(upper, self.n_levels(True) - 1)
        return delta, offset, upper


def _quantize(w, s, n_bits, grid):
    qmin, qmax, step = grid_integers(n_bits, grid)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        q = qmin + step * np.clip(np.rint((w / s - qmin) / step), 0, (qmax - qmin) // step)
    return s * q


# --------------------------------------------------------------------------------------------
# 1. Continuous fit
# --------------------------------------------------------------------------------------------


class _Restart(Exception):
    """Raised inside L-BFGS's objective to stop it (converged, or time to refresh the blocks)."""


def _whiteners(Z_pre, W, reg, row_weight):
    """Cholesky factors ``L_c`` of each class's Gauss–Newton block at ``W`` (a shared one if equal).

    ``W = L_c^{-T} V`` whitens class ``c``: in ``V`` the block becomes the identity. The blocks
    come from the heavy rows of ``Z_pre`` (:data:`CURVATURE_TAIL`). A class whose block cannot
    be factored gets a jittered one.
    """
    v = _curvature_weights(Z_pre, W, "gauss-newton", row_weight)
    norms = _row_norms(Z_pre)
    # equal columns (zero weights: every class has p (1 − p) = (k − 1)/k²) share one block
    same = v.shape[1] == 1 or bool(np.all(v == v[:, :1]))
    factors = []
    for c in range(1 if same else v.shape[1]):
        H = _gn_block(Z_pre, norms, v[:, c], reg, CURVATURE_TAIL)
        H += H.T
        H *= 0.5
        jitter = 1e-10 * np.trace(H) / H.shape[0] + 1e-300
        diag = np.diag_indices(H.shape[0])
        for _ in range(8):
            H[diag] += jitter
            try:
                factors.append(cholesky(H, lower=True, check_finite=False))
                break
            except LinAlgError:
                jitter *= 100.0
        else:
            factors.append(np.eye(H.shape[0]))
        del H
    return factors


def _centred(W):
    """``W`` minus its mean over the classes (softmax, ``k >= 2``); ``W`` itself if ``k == 1``.

    Softmax scores are unchanged when one vector is added to every class column: along that
    direction only the L2 term curves the objective (``alpha``, and nothing for the biases),
    which is minimal with the columns summing to zero. Per-class whitening mixes that nearly flat
    direction into every step, and L-BFGS then spends hundreds of iterations creeping along it;
    fitting on centred weights removes it (the optimum is centred anyway).
    """
    if W.shape[1] == 1:
        return W
    return W - W.mean(axis=1, keepdims=True)


def _to_weights(factors, V):
    """Centred weights of whitened ``V``: ``W = C L_c^{-T} v_c`` (``V`` itself if None).

    Raw coordinates (``factors=None``) need no centring: the cross-entropy's gradient sums to
    zero over the classes, so L-BFGS from centred weights stays centred (and centring its
    iterates only changes its path by float rounding).
    """
    if factors is None:
        return V
    if len(factors) == 1:
        W = solve_triangular(factors[0], V, lower=True, trans="T", check_finite=False)
    else:
        W = np.column_stack(
            [
                solve_triangular(L, V[:, c], lower=True, trans="T", check_finite=False)
                for c, L in enumerate(factors)
            ]
        )
    return _centred(W)


def _to_whitened_gradient(factors, G):
    """Whitened gradient ``L_c^{-1} (C G)_c`` (the chain rule of :func:`_to_weights`)."""
    if factors is None:
        return G
    G = _centred(G)
    if len(factors) == 1:
        return solve_triangular(factors[0], G, lower=True, check_finite=False)
    return np.column_stack(
        [
            solve_triangular(L, G[:, c], lower=True, check_finite=False)
            for c, L in enumerate(factors)
        ]
    )


def _rounding_loss(factors, W, n_bits):
    """Expected rise of the objective when ``W`` is rounded to an ``n_bits`` grid per class.

    ``½ Σ_c Σ_j H_c[j, j] Δ_c² / 12``: rounding errors uniform over a grid step ``Δ_c = 2
    max_j |w_jc| / (2**n_bits − 1)`` (the mid-rise grid of the largest weight) against the
    curvature ``H_c = L_c L_cᵀ``, whose diagonal holds the squared row norms of ``L_c``.
    """
    k = W.shape[1]
    _, qmax, step = grid_integers(n_bits)
    total = 0.0
    for c in range(k):
        L = factors[min(c, len(factors) - 1)]
        diag = np.einsum("ij,ij->i", L[:-1], L[:-1])
        delta = step * np.max(np.abs(W[:-1, c])) / qmax
        total += 0.5 * float(np.sum(diag)) * delta**2 / 12.0
    return total


def fit_continuous(
    Z,
    y,
    k,
    reg,
    *,
    max_iter,
    tol,
    batch_size,
    W0=None,
    sample_weight=None,
    Z_pre=None,
    pre_weight=None,
    refresh=None,
    n_bits=None,
    gain_share=None,
):
    """Minimise the regularised cross-entropy over real weights by L-BFGS (chunked passes).

    The stopping rule is scikit-learn's ``LogisticRegression(solver="lbfgs")``: the largest
    gradient entry below ``tol``, or ``max_iter`` iterations. With ``Z_pre`` (rows of ``Z``,
    e.g. a subsample; ``pre_weight`` their sample weights) L-BFGS runs preconditioned: in
    coordinates whitened by each class's Gauss–Newton block (:func:`curvature_blocks`) at the
    current weights, in which the Hessian is close to the identity, so that it converges in far
    fewer passes than on raw features, whose Gram matrix is ill-conditioned. The blocks are
    rebuilt, and L-BFGS restarted, after the iterations in ``refresh`` (default
    :data:`PRECONDITION_REFRESH`): the curvature changes as the fit grows confident. On data
    with fewer entries (``n d``) than the factors (``k (d + 1)²``) a pass costs less than its
    whitening, and with at most :data:`LBFGS_MEMORY` weights L-BFGS's memory spans them all:
    L-BFGS then runs on the raw features. Whitened softmax weights (``k >= 2``) are centred over
    the classes (:func:`_centred`, :func:`_to_weights`): the one direction that leaves every
    score unchanged is curved by the L2 term alone, and per-class whitening would otherwise mix
    it into every step (on Fashion-MNIST's 60,000 rows the start then needs about 80 iterations
    to the largest gradient entry ``1e-6`` instead of over 700).

    ``n_bits`` (with ``Z_pre``): the fit is the start of an ``n_bits`` grid, and precision that
    rounding destroys is wasted, so it also stops once the last :data:`_GAIN_WINDOW` iterations
    lowered the objective by less than ``gain_share`` (default :data:`_GAIN_SHARE`) of the
    expected loss of rounding (:func:`_rounding_loss`); on coarse grids that is a few dozen
    iterations.

    Returns ``W`` (d + 1, k), the number of iterations, and whether it converged.
    """
    d1 = Z.shape[1] + 1
    # centring changes no score and lowers the L2 term: the fit runs on centred weights
    W = np.zeros((d1, k)) if W0 is None else _centred(np.array(W0, dtype=np.float64))
    refresh = PRECONDITION_REFRESH if refresh is None else tuple(refresh)
    if Z_pre is not None and (Z.shape[0] * Z.shape[1] < k * d1 * d1 or k * d1 <= LBFGS_MEMORY):
        # whitening reads each class's d × d factor twice per pass: on data smaller than
        # that, a pass costs less than its preconditioning; and with no more weights than
        # L-BFGS keeps corrections, its own memory spans them all
        Z_pre = None
    if Z_pre is None:
        refresh = ()
    row_weight = curvature_row_weight(pre_weight)
    n_iter, converged, history = 0, False, []
    stage, plain = 0, Z_pre is None
    while True:
        factors = None if plain else _whiteners(Z_pre, W, reg, row_weight)
        stop_at = max_iter if stage >= len(refresh) else min(max_iter, refresh[stage])
        best = {"loss": np.inf, "W": W, "conv": False}
        count = [0]

        def fun(x, factors=factors, best=best):
            Wx = _to_weights(factors, x.reshape(d1, k))
            loss, G = loss_grad(Z, y, Wx, reg, batch_size, sample_weight=sample_weight)
            if loss < best["loss"]:
                best.update(loss=loss, W=Wx)
            if np.max(np.abs(G)) <= tol:
                best.update(loss=loss, W=Wx, conv=True)
                raise _Restart
            return loss, _to_whitened_gradient(factors, G).ravel()

        enough = -np.inf
        if n_bits is not None and factors is not None:
            share = _GAIN_SHARE if gain_share is None else gain_share
            enough = share * _rounding_loss(factors, W, n_bits)

        def callback(*_, count=count, best=best, enough=enough):
            count[0] += 1
            history.append(best["loss"])
            if len(history) > _GAIN_WINDOW and history[-1 - _GAIN_WINDOW] - history[-1] < enough:
                best["enough"] = True
                raise _Restart

        if factors is None:
            x0 = W
        else:
            x0 = np.column_stack([factors[min(c, len(factors) - 1)].T @ W[:, c] for c in range(k)])
        try:
            res = minimize(
                fun,
                x0.ravel(),
                jac=True,
                method="L-BFGS-B",
                callback=callback,
                options={
                    "maxiter": stop_at - n_iter,
                    "gtol": 0.0,
                    "maxcor": LBFGS_MEMORY if factors is not None else 10,
                    "ftol": 0.0 if factors is not None else 64 * np.finfo(float).eps,
                },
            )
            stalled = res.status == 0  # ftol: no more progress in these coordinates
            failed = res.status not in (0, 1)  # the line search found no lower point
        except _Restart:
            stalled = failed = False
        n_iter += count[0]
        factors = fun = callback = None  # free this stage's factors before the next ones
        W = best["W"]
        converged = best["conv"]
        if converged or best.get("enough") or n_iter >= max_iter or (stalled and plain):
            break
        if (stalled or failed) and not plain:
            # near the optimum the whitened gradient amplifies the float32 rounding of the
            # passes in flat directions: the raw coordinates finish the fit
            plain, stage = True, len(refresh)
            continue
        if stage >= len(refresh):
            break
        stage += 1
    return W, n_iter, converged


# --------------------------------------------------------------------------------------------
# 2. Scales by the loss of the rounded weights
# --------------------------------------------------------------------------------------------


def _mean_ce(S, y, sw=None):
    """Mean cross-entropy of scores ``S`` (n, k) (one logistic output if ``k == 1``)."""
    if S.shape[1] == 1:
        s = S[:, 0]
        return -float(np.average(log_expit(np.where(y == 1, s, -s)), weights=sw))
    return float(np.average(logsumexp(S, axis=1) - S[np.arange(S.shape[0]), y], weights=sw))


def _column_candidates_ce(S, y, c, Sc, sw=None):
    """Mean cross-entropy of ``S`` with column ``c`` replaced by each column of ``Sc`` (n, m)."""
    n = S.shape[0]
    if S.shape[1] == 1:
        t = (y == 1)[:, None]
        return -np.average(log_expit(np.where(t, Sc, -Sc)), axis=0, weights=sw)
    rest = np.delete(S, c, axis=1)
    lse_rest = logsumexp(rest, axis=1)[:, None]
    lse = np.logaddexp(lse_rest, Sc)
    target = np.where((y == c)[:, None], Sc, S[np.arange(n), y][:, None])
    return np.average(lse - target, axis=0, weights=sw)


def _top(values, axis=None):
    top = np.max(np.abs(values), axis=axis)
    return np.where(np.isfinite(top) & (top > 0), top, 1.0)


def choose_scales(
    Z,
    y,
    W,
    alpha,
    *,
    n_bits,
    bias_bits,
    granularity,
    grid,
    rounds=3,
    sample_weight=None,
    grad_correction=None,
):
    """Grid scales that minimise the training objective of ``W`` rounded to the grid.

    ``Z`` (m, d) are the rows the objective is evaluated on (all rows, or a subsample), ``W``
    (d + 1, k) the continuous weights. Candidate scales are :data:`SCALE_RATIOS` times the
    largest magnitude divided by ``qmax`` (clipping from 1 % to none). ``granularity``:
    ``"class"`` (one scale per output, coordinate search over the outputs, ``rounds`` times),
    ``"tensor"`` (one scale), ``"feature"`` (one per input feature, a common ratio of each
    feature's largest weight). The biases then get one scale, searched the same way with the
    rounded coefficients in place. ``sample_weight`` (m,) weights the rows' cross-entropy.

    ``grad_correction`` (d + 1, k), the full data's gradient minus these rows' at ``W``, is added
    to the objective as ``grad_correction · (Wq − W)``: the rows then score a rounding ``Wq`` as
    the full data would to first order (a subsample's gradient at a converged fit is sampling
    noise, and without this the scales fit that noise: it decides the finest grids).

    Returns a :class:`HeadGrid`.
    """
    Z = np.asarray(Z)
    if Z.dtype != np.float32:
        Z = Z.astype(np.float64, copy=False)

    def dot(Q):  # in Z's own dtype: no float64 copy of a float32 Z
        return (Z @ Q.astype(Z.dtype, copy=False)).astype(np.float64, copy=False)

    d, k = W.shape[0] - 1, W.shape[1]
    coef, b = W[:-1], W[-1]
    _, qmax, _ = grid_integers(n_bits, grid)
    ratios = SCALE_RATIOS
    penalty = 0.5 * alpha

    sw = sample_weight

    corr = None if grad_correction is None else np.asarray(grad_correction, dtype=np.float64)

    def objective(S, Q):
        value = _mean_ce(S, y, sw) + penalty * float(np.sum(Q**2))
        if corr is not None:
            value += float(np.sum(corr[:-1] * (Q - coef)))
        return value

    if granularity == "class":
        top = _top(coef, axis=0)
        # start from each row's least-squares scale, then minimise the objective row by row
        scale = np.empty(k)
        for c in range(k):
            cand = ratios * top[c] / qmax
            Qc = _quantize(coef[:, c][:, None], cand[None, :], n_bits, grid)
            scale[c] = cand[int(np.argmin(np.sum((Qc - coef[:, c][:, None]) ** 2, axis=0)))]
        Q = _quantize(coef, scale[None, :], n_bits, grid)
        S = dot(Q) + b
        for _ in range(rounds):
            before = scale.copy()
            for c in range(k):
                cand = ratios * top[c] / qmax
                Qc = _quantize(coef[:, c][:, None], cand[None, :], n_bits, grid)
                Sc = dot(Qc) + b[c]
                norms = np.sum(Q**2) - np.sum(Q[:, c] ** 2) + np.sum(Qc**2, axis=0)
                obj = _column_candidates_ce(S, y, c, Sc, sw) + penalty * norms
                if corr is not None:
                    obj = obj + corr[:-1, c] @ (Qc - coef[:, c][:, None])
                best = int(np.argmin(obj))
                scale[c] = cand[best]
                Q[:, c] = Qc[:, best]
                S[:, c] = Sc[:, best]
            if np.array_equal(scale, before):  # a round that changed nothing repeats itself
                break
        coef_scale = np.broadcast_to(scale[None, :], (d, k)).copy()
    else:
        top = _top(coef) if granularity == "tensor" else _top(coef, axis=1)
        base = np.broadcast_to(np.reshape(top, (-1, 1)) / qmax, (d, k))
        best_obj, coef_scale = np.inf, base
        for r in ratios:
            Q = _quantize(coef, r * base, n_bits, grid)
            obj = objective(dot(Q) + b, Q)
            if obj < best_obj:
                best_obj, coef_scale = obj, r * base
        coef_scale = coef_scale.copy()
    Q = _quantize(coef, coef_scale, n_bits, grid)
    S0 = dot(Q)
    _, bmax, _ = grid_integers(bias_bits, grid)
    btop = float(_top(b))
    best_obj, bias_scale = np.inf, btop / bmax
    for r in np.concatenate([ratios, [1e-3, 3e-3]]):
        s = r * btop / bmax
        bq = _quantize(b, s, bias_bits, grid)
        obj = _mean_ce(S0 + bq, y, sw)
        if corr is not None:
            obj += float(corr[-1] @ (bq - b))
        if obj < best_obj:
            best_obj, bias_scale = obj, s
    return HeadGrid(n_bits, bias_bits, grid, coef_scale, float(bias_scale))


# --------------------------------------------------------------------------------------------
# 3. QUBO steps on the grid
# --------------------------------------------------------------------------------------------


def _curvature_weights(Z, W, kind, row_weight=None):
    """Row weights (m, k) of each class's block: ``p_c (1 − p_c)``, or Böhning's constant.

    ``row_weight`` (m,), the sample weights of the rows scaled to mean 1, multiplies them.
    """
    m, k = Z.shape[0], W.shape[1]
    if kind == "bohning":
        v = np.full((m, 1), 0.25 if k == 1 else 0.5, dtype=np.float32)
    else:
        S = _scores(Z, W)
        if k == 1:
            p = expit(S)
        else:
            p = np.exp(S - logsumexp(S, axis=1, keepdims=True))
        v = (p * (1.0 - p)).astype(np.float32)
    if row_weight is not None:
        v = (v * row_weight[:, None]).astype(np.float32)
    return v


def curvature_row_weight(sample_weight):
    """Row weights of the curvature rows, scaled to mean 1 (None stays None)."""
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight, dtype=np.float64)
    return sw * (sw.shape[0] / np.sum(sw))


def _block(Z, v, reg, chunk=1024, m=None, idx=None):
    """``Aᵀ diag(v) A / m + diag(reg)`` for ``A = [Z, 1]``, in float32 chunks of rows.

    ``idx`` picks the rows of ``Z`` (gathered a chunk at a time, never copied whole) that
    ``v`` belongs to; ``m`` is the number of rows the mean runs over (default: the rows used;
    more when they are the heavy rows of a larger set, :func:`_heavy_rows`).
    """
    d = Z.shape[1]
    r_all = Z.shape[0] if idx is None else idx.shape[0]
    m = r_all if m is None else m
    out = np.zeros((d + 1, d + 1))
    A = np.empty((max(min(chunk, r_all), 1), d + 1), dtype=np.float32)
    for start in range(0, r_all, chunk):
        Zc = Z[start : start + chunk] if idx is None else Z[idx[start : start + chunk]]
        r = Zc.shape[0]
        A[:r, :d] = Zc
        A[:r, d] = 1.0
        out += ((A[:r] * v[start : start + r, None]).T @ A[:r]).astype(np.float64)
    out /= m
    out[np.diag_indices(d + 1)] += reg
    # a class all rows are sure of has no curvature: a tiny ridge keeps the bias defined
    out[d, d] += 1e-12
    return out


def _heavy_rows(mass, tail):
    """Indices (sorted) of the fewest rows whose ``mass`` sums to at least ``1 − tail`` of it all.

    ``mass[i] = v_i ‖a_i‖²`` is row ``i``'s share of the block's trace: dropping the light rows
    leaves a block below the full one (their difference is positive semi-definite) whose trace
    is short by at most ``tail`` of the rows' part. Confident rows carry almost no curvature, so
    near a good model a few rows make the block (the cost of a block is linear in its rows).
    """
    if tail <= 0.0:
        return np.arange(mass.shape[0])
    order = np.argsort(mass)[::-1]
    cum = np.cumsum(mass[order])
    keep = int(np.searchsorted(cum, (1.0 - tail) * cum[-1])) + 1
    return np.sort(order[: min(keep, mass.shape[0])])


def _gn_block(Z, norms, v, reg, tail):
    """One class's Gauss–Newton block from the rows carrying ``1 − tail`` of its curvature."""
    idx = _heavy_rows(v * norms, tail)
    if idx.shape[0] == Z.shape[0]:
        return _block(Z, v, reg)
    return _block(Z, v[idx], reg, m=Z.shape[0], idx=idx)


def curvature_blocks(Z, W, reg, kind="gauss-newton", row_weight=None, tail=0.0):
    """Per-class curvature (k, d + 1, d + 1) of the loss at ``W`` from the rows ``Z`` (m, d).

    ``"gauss-newton"``: ``Aᵀ diag(p_c (1 − p_c)) A / m + diag(reg)``, the diagonal blocks of the
    softmax Hessian (the whole Hessian for one logistic output). ``"bohning"``: Böhning's bound
    ``½ AᵀA/m + diag(reg)`` (``¼`` for one logistic output) for every class. The products run
    in float32 (a model, checked against the true loss), a chunk of rows at a time.
    ``row_weight`` (m,) (:func:`curvature_row_weight`) weights the rows. ``tail > 0`` builds
    each Gauss–Newton block from the fewest rows that carry ``1 − tail`` of its trace
    (:func:`_heavy_rows`): a block below the full one, short by at most ``tail`` of its trace.
    """
    k = W.shape[1]
    v = _curvature_weights(Z, W, kind, row_weight)
    if kind == "bohning" or tail <= 0.0:
        return np.stack([_block(Z, v[:, min(c, v.shape[1] - 1)], reg) for c in range(k)])
    norms = _row_norms(Z)
    return np.stack([_gn_block(Z, norms, v[:, c], reg, tail) for c in range(k)])


def _row_norms(Z):
    """``‖a_i‖² = ‖z_i‖² + 1`` of the rows of ``A = [Z, 1]``."""
    out = np.empty(Z.shape[0])
    for start in range(0, Z.shape[0], 1024):  # float64 a chunk at a time
        Zc = np.asarray(Z[start : start + 1024], dtype=np.float64)
        out[start : start + 1024] = np.einsum("ij,ij->i", Zc, Zc) + 1.0
    return out


@dataclass
class _ClassModel:
    """Class ``c``'s local model, the bias eliminated (Schur complement) unless in the QUBO."""

    H: np.ndarray  # curvature of the QUBO variables
    hwb: np.ndarray  # coupling of the coefficients with the bias (eliminated bias only)
    hbb: float
    chol: object


def _class_model(H, with_bias):
    d = H.shape[0] - 1
    if with_bias:
        # the float32 products leave the block asymmetric in the last bits: the QUBO reads one
        # triangle, the objective (warm start, export) all of it; both must see one matrix
        Hq, hwb, hbb = np.ascontiguousarray(0.5 * (H + H.T)), None, None
    else:
        hwb, hbb = H[:d, d].copy(), float(H[d, d])
        Hq = H[:d, :d] - np.outer(hwb, hwb) / hbb
        Hq = np.ascontiguousarray(0.5 * (Hq + Hq.T))
    jitter = 1e-10 * np.trace(Hq) / Hq.shape[0] + 1e-300
    try:
        chol = cho_factor(Hq + jitter * np.eye(Hq.shape[0]))
    except LinAlgError:
        chol = None
    return _ClassModel(Hq, hwb, hbb, chol)


def _class_models(Z, W, reg, kind, with_bias, row_weight=None, tail=None):
    """Every class's local model, built one block at a time (memory: two d² per class).

    Gauss–Newton blocks come from the heavy rows (``tail``, default :data:`CURVATURE_TAIL`).
    """
    k = W.shape[1]
    tail = CURVATURE_TAIL if tail is None else tail
    v = _curvature_weights(Z, W, kind, row_weight)
    if kind == "bohning":  # one block for every class
        return [_class_model(_block(Z, v[:, 0], reg), with_bias)] * k
    norms = _row_norms(Z)
    return [_class_model(_gn_block(Z, norms, v[:, c], reg, tail), with_bias) for c in range(k)]


def _class_problem(model, g, w, lam, grid, c, with_bias):
    """Class ``c``'s QUBO: minimise the model ``gᵀδ + ½ lam δᵀHδ`` over the grid."""
    d = w.shape[0] - 1
    if with_bias:
        gq, x = g, w
    else:
        gq, x = g[:d] - model.hwb * (g[d] / model.hbb), w[:d]
    Hs = lam * model.H
    h = gq - Hs @ x
    delta, offset, upper = grid.variable_grid(c, with_bias)
    problem = _qubo.QuadraticProblem(Hs, h, delta, offset, grid.n_bits, upper=upper)
    # warm start: the better (lower model value) of the current levels and the rounded
    # continuous minimiser of the model
    cur = np.clip(np.rint((x - offset) / delta), 0, upper).astype(np.int64)
    starts = [cur]
    if model.chol is not None:
        xm = x - cho_solve(model.chol, gq) / lam
        starts.append(np.clip(np.rint((xm - offset) / delta), 0, upper).astype(np.int64))
    values = []
    for m in starts:
        u = offset + delta * m
        values.append(float(u @ h + 0.5 * u @ (Hs @ u)))
    return problem, starts[int(np.argmin(values))]


def class_problems(models, G, W, lam, grid, classes, with_bias):
    """The QUBOs of ``classes`` and their warm starts: what one sweep hands to the sampler.

    ``models`` are the classes' local models (:func:`_class_models`), ``G`` the true gradient
    at ``W``, ``lam`` (k,) the trust factors. :func:`grid_descent` and the estimator's QUBO
    export both build their problems here, so that the export is what training solves.
    """
    problems, initials = [], []
    for c in classes:
        p, start = _class_problem(models[c], G[:, c], W[:, c], lam[c], grid, c, with_bias)
        problems.append(p)
        initials.append(start)
    return problems, initials


def next_problems(
    Z,
    y,
    W,
    reg,
    grid,
    lam,
    *,
    Z_curv,
    batch_size,
    curvature,
    sample_weight=None,
    curv_weight=None,
):
    """Every class's QUBO of a sweep at ``W`` with fresh curvature blocks (a resumed fit's first).

    Returns ``problems, initials`` (one per class) as :func:`class_problems`.
    """
    k = W.shape[1]
    with_bias = grid.bias_bits == grid.n_bits
    _, G = loss_grad(Z, y, W, reg, batch_size, sample_weight=sample_weight)
    row_weight = curvature_row_weight(curv_weight)
    models = _class_models(Z_curv, W, reg, curvature, with_bias, row_weight)
    lam = np.asarray(lam, dtype=np.float64)
    return class_problems(models, G, W, lam, grid, range(k), with_bias)


def _class_step(model, g, w, lam, grid, c, levels, with_bias):
    """New column ``c`` from the solver's levels (and the eliminated bias, re-minimised)."""
    d = w.shape[0] - 1
    qmin, _, step = grid_integers(grid.n_bits, grid.grid)
    # w = s q computed from the integers, so equal codes give bit-identical weights
    x = grid.coef_scale[:, c] * (qmin + step * levels[:d].astype(np.float64))
    new = w.copy()
    new[:d] = x
    if with_bias:
        bmin, _, bstep = grid_integers(grid.bias_bits, grid.grid)
        new[d] = grid.bias_scale * (bmin + bstep * float(levels[d]))
        return new
    db = -(g[d] + lam * model.hwb @ (x - w[:d])) / (lam * model.hbb)
    new[d] = _quantize(w[d] + db, grid.bias_scale, grid.bias_bits, grid.grid)
    return new


def _scale_objective(U, y, gam, bias, pen, sw):
    """Mean cross-entropy of the scores ``U diag(gam) + bias`` plus ``½ Σ pen γ²``, with its
    gradient and Hessian in ``(γ, bias)`` (2k). ``U`` (m, k): the rows' scores of the current
    coefficients."""
    m, k = U.shape
    S = U * gam + bias
    w = np.ones(m) if sw is None else np.asarray(sw, dtype=np.float64)
    total = float(np.sum(w))
    if k == 1:
        s = S[:, 0]
        ce = -log_expit(np.where(y == 1, s, -s))
        p = expit(s)
        R = (p - y)[:, None]
        v = (p * (1.0 - p)) * w
        u = U[:, 0]
        H = np.array([[v @ (u * u), v @ u], [v @ u, v.sum()]])
    else:
        lse = logsumexp(S, axis=1)
        ce = lse - S[np.arange(m), y]
        P = np.exp(S - lse[:, None])
        R = P.copy()
        R[np.arange(m), y] -= 1.0
        UP, wP = U * P, P * w[:, None]
        H = np.empty((2 * k, 2 * k))
        H[:k, :k] = np.diag(w @ (U * UP)) - (UP * w[:, None]).T @ UP
        H[:k, k:] = np.diag(w @ UP) - (UP * w[:, None]).T @ P
        H[k:, :k] = H[:k, k:].T
        H[k:, k:] = np.diag(w @ P) - wP.T @ P
    value = float(w @ ce) / total + 0.5 * float(pen @ gam**2)
    g = np.concatenate([w @ (U * R), w @ R]) / total
    g[:k] += pen * gam
    H /= total
    H[np.arange(k), np.arange(k)] += pen
    return value, g, H


def refit_scales(Z, y, W, G, reg, grid, *, shared=False, sample_weight=None, max_newton=20):
    """Scales that minimise the objective for the current codes: ``(W, grid)`` of the refit.

    With the codes ``q`` fixed the scores are linear in the scales, so the objective is convex
    in one multiplier ``γ_c`` of each class's coefficient scale (one ``γ`` for all with
    ``shared``: per-tensor and per-feature scales keep their ratios) and in the biases: Newton's
    method on the rows ``Z`` (a subsample), whose gradient is corrected to the full data's
    ``G`` (the true gradient at ``W``; a control variate, as in :func:`choose_scales`). A bias
    outside the QUBO is then rounded on a bias scale refitted to its range; a bias inside it
    keeps its codes, and its scale gets one multiplier too. The caller measures the true loss
    of the result: the refit is a proposal.
    """
    Z = np.asarray(Z)
    d, k = W.shape[0] - 1, W.shape[1]
    with_bias = grid.bias_bits == grid.n_bits
    coef, b0 = W[:-1], W[-1].copy()
    U = (Z @ coef.astype(Z.dtype, copy=False)).astype(np.float64, copy=False)
    pen = np.einsum("j,jc->c", reg[:-1], coef**2)
    # parameters theta = (gamma, bias part): (gamma, bias) = (Pg theta_g, Pb theta_b [+ 0])
    Pg = np.ones((k, 1)) if shared else np.eye(k)
    Pb = b0[:, None] if with_bias else np.eye(k)
    T = np.zeros((2 * k, Pg.shape[1] + Pb.shape[1]))
    T[:k, : Pg.shape[1]] = Pg
    T[k:, Pg.shape[1] :] = Pb
    theta0 = np.concatenate([np.ones(Pg.shape[1]), np.ones(1) if with_bias else b0])
    # the full gradient in these parameters: d/dgamma_c = sum_j G_jc W_jc, d/db_c = G_dc
    g_full = T.T @ np.concatenate([np.einsum("jc,jc->c", G[:-1], coef), G[-1]])

    def expand(theta):
        full = T @ theta
        return full[:k], full[k:]

    def objective(theta, shift):
        gam, bias = expand(theta)
        value, g, H = _scale_objective(U, y, gam, bias, pen, sample_weight)
        return value + shift @ (theta - theta0), T.T @ g + shift, T.T @ H @ T

    _, g_sub, _ = objective(theta0, np.zeros_like(theta0))
    shift = g_full - g_sub
    theta = theta0.copy()
    value, g, H = objective(theta, shift)
    n_g = Pg.shape[1]
    for _ in range(max_newton):
        ridge = 1e-12 * (np.trace(H) / H.shape[0] + 1e-300)
        try:
            step = -np.linalg.solve(H + ridge * np.eye(H.shape[0]), g)
        except np.linalg.LinAlgError:
            step = -g
        t = 1.0
        while t > 1e-6:
            trial = theta + t * step
            v_t, g_t, H_t = objective(trial, shift)
            if v_t <= value + 1e-4 * t * (g @ step):
                break
            t *= 0.5
        else:
            break
        theta, value, g, H = trial, v_t, g_t, H_t
        if abs(g @ step) * t < 1e-12 * max(abs(value), 1e-300):
            break
    gam, bias = expand(theta)
    M = grid.levels(W)
    flip = gam < 0
    if np.any(np.abs(gam) < 1e-9) or (flip.any() and grid.grid != "midrise"):
        # a class without weights has no grid; only the mid-rise grid is symmetric, so only its
        # codes can be mirrored
        return W, grid
    # a negative multiplier is the positive one with the codes mirrored
    M[:-1, flip] = grid.n_levels() - 1 - M[:-1, flip]
    gam_col = np.broadcast_to(np.abs(gam)[None, :], (d, k))
    if with_bias:
        bias_scale = grid.bias_scale * float(theta[n_g])
    else:
        _, bmax, _ = grid_integers(grid.bias_bits, grid.grid)
        bias_scale = float(_top(bias)) / bmax
    new_grid = HeadGrid(
        grid.n_bits, grid.bias_bits, grid.grid, grid.coef_scale * gam_col, bias_scale
    )
    V = new_grid.values(M)
    if not with_bias:
        V[-1] = _quantize(bias, bias_scale, grid.bias_bits, grid.grid)
    return V, new_grid


def grid_descent(
    Z,
    y,
    W,
    reg,
    grid,
    solve,
    *,
    Z_curv,
    max_iter,
    tol,
    batch_size,
    curvature="gauss-newton",
    sample_weight=None,
    curv_weight=None,
    trust=None,
    y_curv=None,
    scale_refit=None,
):
    """Improve ``W`` on ``grid`` by QUBO steps, keeping only those that lower the true loss.

    Each sweep builds one QUBO per active class (:func:`curvature_blocks` on the rows
    ``Z_curv``, times the class's trust factor, and the true gradient); ``solve(problems,
    initials, it, classes)`` returns the levels of each (the estimator's sampler; ``it`` counts
    the solve rounds, ``classes`` are the problems' classes). One pass then measures the
    loss of all classes' steps together and of each alone: all are kept if that is best, else
    the improving ones together if that lowers the loss (one more pass), else the best single
    one. A rejected class's trust factor doubles (its next step is shorter); a kept one's
    halves. ``W`` may start off the grid (``init="zeros"``): the first step, at the best of
    :data:`_FIRST_TRUST`, is then taken whatever it costs and the curve starts after it.

    ``scale_refit`` (``"class"``: one multiplier per class's scales, ``"shared"``: one for all;
    None: the grid stays) refits the scales and biases to the current codes
    (:func:`refit_scales` on the rows ``Z_curv`` with labels ``y_curv``) on the start and
    whenever the sweeps would stop as converged or stuck after the codes moved; a refit is kept
    if the true loss drops, and if it dropped by more than ``tol`` times its value the sweeps
    continue on the new grid.

    Returns ``W, curve, n_iter, status, info``: ``status`` is ``"converged"`` (a sweep that moved
    every class, or the last ``_WINDOW`` sweeps, lowered the loss by less than ``tol`` times its
    value per sweep), ``"stuck"`` (no class's QUBO step lowers the loss at any trust factor: a
    local minimum of the moves) or ``"max_iter"``; ``info`` holds per-sweep records and timings
    (``curvature_s``, ``solve_s``, ``passes_s``, ``refit_s``), ``n_blocks``, ``n_refits``,
    ``n_first``, ``grid`` (the final grid), ``start_loss`` (the loss before the start's refit)
    and, for an off-grid start, ``zero_loss``.

    ``sample_weight`` (n,) weights the loss (:func:`loss_grad`), ``curv_weight`` the rows of
    ``Z_curv`` in the curvature blocks (and in the refits); ``trust`` (k,) are the starting trust
    factors (a resumed fit's; default 1).
    """
    sw, row_weight = sample_weight, curvature_row_weight(curv_weight)
    k = W.shape[1]
    with_bias = grid.bias_bits == grid.n_bits
    info = {"curvature_s": 0.0, "solve_s": 0.0, "passes_s": 0.0, "n_blocks": 0}
    info.update(moved=[], lam=[])
    tic = time.perf_counter()
    loss, G = loss_grad(Z, y, W, reg, batch_size, sample_weight=sw)
    info["passes_s"] += time.perf_counter() - tic
    curve = [loss]
    lam = np.ones(k) if trust is None else np.array(trust, dtype=np.float64)
    resting = np.zeros(k, dtype=bool)
    models, block_loss = None, np.inf
    status, n_iter = "max_iter", 0
    first = 0
    if not grid.on_grid(W):
        # an off-grid start (init="zeros"): the first QUBO step is taken whatever it costs,
        # at the trust factor whose step has the lowest true loss; the curve starts there
        tic = time.perf_counter()
        models = _class_models(Z_curv, W, reg, curvature, with_bias, row_weight)
        info["n_blocks"] += 1
        info["curvature_s"] += time.perf_counter() - tic
        best = None
        for j, factor in enumerate(_FIRST_TRUST):
            problems, initials = class_problems(
                models, G, W, np.full(k, factor), grid, range(k), with_bias
            )
            tic = time.perf_counter()
            solved = solve(list(problems), list(initials), j, np.arange(k))
            info["solve_s"] += time.perf_counter() - tic
            V = np.column_stack(
                [
                    _class_step(models[c], G[:, c], W[:, c], factor, grid, c, solved[c], with_bias)
                    for c in range(k)
                ]
            )
            tic = time.perf_counter()
            value = loss_grad(Z, y, V, reg, batch_size, grad=False, sample_weight=sw)[0]
            info["passes_s"] += time.perf_counter() - tic
            if best is None or value < best[0]:
                best = (value, V)
        info["zero_loss"] = loss
        W = best[1]
        tic = time.perf_counter()
        loss, G = loss_grad(Z, y, W, reg, batch_size, sample_weight=sw)
        info["passes_s"] += time.perf_counter() - tic
        curve = [loss]
        models, first = None, len(_FIRST_TRUST)
    info["n_first"] = first
    info["refit_s"], info["n_refits"] = 0.0, 0

    def refit():
        """Refit the scales to the current codes (:func:`refit_scales`), once per change of the
        codes, and keep them if the true loss drops; whether it dropped by more than ``tol`` of
        it (worth more sweeps)."""
        nonlocal W, grid, loss, G, refitted
        if not scale_refit or refitted:
            return False
        refitted = True
        tic = time.perf_counter()
        V, new_grid = refit_scales(
            Z_curv, y_curv, W, G, reg, grid, shared=scale_refit == "shared",
            sample_weight=row_weight,
        )
        info["refit_s"] += time.perf_counter() - tic
        tic = time.perf_counter()
        new_loss, new_G = loss_grad(Z, y, V, reg, batch_size, sample_weight=sw)
        info["passes_s"] += time.perf_counter() - tic
        if not new_loss < loss:
            return False
        info["n_refits"] += 1
        more = new_loss < loss - tol * abs(loss)
        W, grid, loss, G = V, new_grid, new_loss, new_G
        curve[-1] = loss
        return more

    if scale_refit and y_curv is None:
        raise ValueError("scale_refit needs the labels y_curv of the rows Z_curv")
    info["start_loss"] = loss
    refitted = False  # the codes have not moved since the last refit
    # the start's scales were chosen for rounding the continuous fit (at one bit: for its
    # signs, the biases left as they were); its codes want their own
    refit()
    for it in range(first, first + max_iter):
        n_iter = it + 1 - first
        if models is None or loss < block_loss * (1.0 - _REFRESH):
            models = None  # free the old blocks first
            tic = time.perf_counter()
            models = _class_models(Z_curv, W, reg, curvature, with_bias, row_weight)
            block_loss = loss
            info["n_blocks"] += 1
            info["curvature_s"] += time.perf_counter() - tic
        active = np.flatnonzero(~resting)
        if active.size == 0:
            if not refit():
                status = "stuck"
                n_iter = it - first
                break
            resting[:] = False
            models = None
            continue
        problems, initials = class_problems(models, G, W, lam, grid, active, with_bias)
        tic = time.perf_counter()
        solved = solve(problems, initials, it, active)
        info["solve_s"] += time.perf_counter() - tic
        D = np.zeros_like(W)
        V = W.copy()  # the new columns themselves: W + (V − W) can differ from V in the last bit
        for c, levels in zip(active, solved):
            new = _class_step(models[c], G[:, c], W[:, c], lam[c], grid, c, levels, with_bias)
            D[:, c] = new - W[:, c]
            V[:, c] = new
        still = [c for c in active if not np.any(D[:, c])]
        for c in still:
            # no grid point lowers the model: a shorter step cannot either; a longer one might
            if lam[c] > 1.0:
                lam[c] = 1.0
            else:
                resting[c] = True
        moved = np.flatnonzero(np.any(D != 0, axis=0))
        accepted = np.empty(0, dtype=int)
        if moved.size:
            tic = time.perf_counter()
            loss_all, G_all, single = _trial_losses(Z, y, W, D, reg, batch_size, sw)
            info["passes_s"] += time.perf_counter() - tic
            if k == 1:
                single[:] = loss_all
            best_single = float(np.min(single[moved]))
            improving = moved[single[moved] < loss]
            if loss_all < loss and loss_all <= best_single:
                accepted, new_loss, new_G = moved, loss_all, G_all
            elif improving.size:
                c_best = int(moved[np.argmin(single[moved])])
                tic = time.perf_counter()
                if improving.size > 1 and improving.size < moved.size:
                    DU = np.zeros_like(D)
                    DU[:, improving] = D[:, improving]
                    loss_u, G_u = loss_grad(Z, y, W + DU, reg, batch_size, sample_weight=sw)
                    # kept if it lowers the loss (its extra pass is spent: a second one for
                    # the best single class costs more than the difference is worth)
                    if loss_u < loss:
                        accepted, new_loss, new_G = improving, loss_u, G_u
                if accepted.size == 0:
                    DU = np.zeros_like(D)
                    DU[:, c_best] = D[:, c_best]
                    accepted = np.array([c_best])
                    new_loss, new_G = loss_grad(
                        Z, y, W + DU, reg, batch_size, sample_weight=sw
                    )
                info["passes_s"] += time.perf_counter() - tic
            failed = np.setdiff1d(moved, improving)
            lam[failed] *= 2.0
            resting[failed[lam[failed] > _LAM_MAX]] = True
            lam[failed] = np.minimum(lam[failed], _LAM_MAX)
            if accepted.size and new_loss < loss:
                refitted = False
                W = W.copy()
                W[:, accepted] = V[:, accepted]
                loss, G = new_loss, new_G
                lam[accepted] = np.maximum(lam[accepted] / 2.0, 1.0)
                # every other class's gradient changed with these scores: all may move again
                resting[:] = False
            else:
                accepted = np.empty(0, dtype=int)
        curve.append(loss)
        info["moved"].append(np.isin(np.arange(k), accepted))
        info["lam"].append(lam.copy())
        # converged: the last _WINDOW sweeps (or a sweep that moved every class) gained less
        # than tol per sweep, relative
        window = min(len(curve) - 1, _WINDOW) if accepted.size < k else 1
        gain = curve[-1 - window] - loss
        if window and (accepted.size == k or len(curve) > _WINDOW):
            if gain <= tol * window * max(abs(curve[-1 - window]), np.finfo(float).tiny):
                if not refit():
                    status = "converged" if gain > 0 or accepted.size else "stuck"
                    break
                # new scales worth more sweeps: the codes may move again, on a fresh model
                resting[:] = False
                models = None
    info["moved"] = np.asarray(info["moved"], dtype=bool).reshape(-1, k)
    info["lam"] = np.asarray(info["lam"]).reshape(-1, k)
    info["grid"] = grid
    return W, np.asarray(curve), n_iter, status, info
