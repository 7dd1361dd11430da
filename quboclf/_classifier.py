"""QUBOCNNClassifier: a linear softmax head with K-bit weights trained by solving QUBOs.

The head is trained by majorise-minimise (DESIGN §2). With ``A = [Z, 1]`` (features and a bias
column) the mean softmax cross-entropy has Hessian at most ``I_C ⊗ H``, ``H = ½ AᵀA/n`` plus
``alpha`` on the non-bias diagonal (Böhning's bound; ``¼ AᵀA/n`` for one logistic output). At the
current weights ``W_t`` with gradient ``G`` the loss is therefore bounded above by one convex
quadratic per class,

    q_c(w) = g_cᵀ (w − w_c,t) + ½ (w − w_c,t)ᵀ H (w − w_c,t),

and minimising each ``q_c`` over the K-bit grid is one QUBO with ``(d + 1) K`` binary variables,
handed to the sampler. A class takes its new weights only if they lower ``q_c``, so the loss never
increases. Private solver functions come first, the estimator last.
"""

import os
import time
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.linalg import cho_factor, cho_solve
from scipy.special import expit, log_expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _qubo
from ._samplers import check_sampler, make_solver, seeds_from
from ._store import DiskRows, check_feature_chunk, rows
from ._validation import unchanged_on_failure, validate_numeric

__all__ = ["QUBOCNNClassifier"]

#: Defaults the classifier gives ``sampler="sa"`` (keys in ``sampler_params`` override them).
#: Each problem is warm-started next to its optimum, so one short, cold read suffices; the
#: schedule ``beta_range`` is set in ``fit`` by :func:`_refine_beta_range`.
SA_DEFAULTS = {"num_reads": 1, "num_sweeps": 10}

#: ``weight_range="auto"``: margin over the largest weight of the continuous estimate.
AUTO_MARGIN = 2.0
#: ``weight_range="auto"``: rows of the subsample the continuous estimate is fitted on.
AUTO_MAX_SAMPLES = 5000

# Acceleration: the extrapolated step uses curvature H / s; s grows after a success, halves
# after a failure, and stays in [1, _MAX_SCALE].
_SCALE_GROW = 1.25
_MAX_SCALE = 16.0
_GOLDEN = 0.5 * (1.0 + 5.0**0.5)


# --------------------------------------------------------------------------------------------
# Data passes (chunked; memory is O(batch_size * (d + C)) + O(d * C), whatever n_samples)
# --------------------------------------------------------------------------------------------


def _batches(n, batch_size):
    step = n if batch_size is None else int(batch_size)
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(n, start + step))


def _gram(Z, batch_size):
    """``AᵀA / n`` for ``A = [Z, 1]``, accumulated chunk by chunk (float64)."""
    n, d = Z.shape
    M = np.zeros((d + 1, d + 1))
    for sl in _batches(n, batch_size):
        Zb = np.asarray(rows(Z, sl), dtype=np.float64)
        M[:d, :d] += Zb.T @ Zb
        M[:d, d] += Zb.sum(axis=0)
    M[d, :d] = M[:d, d]
    M[d, d] = n
    M /= n
    return M


def _scores(Zb, W):
    """Scores ``[Zb, 1] W`` of one chunk, in float64.

    The product runs in the chunk's own dtype: float32 features are read as they are (the
    passes are memory-bound, so this halves their cost).
    """
    return (Zb @ W[:-1].astype(Zb.dtype, copy=False)).astype(np.float64, copy=False) + W[-1]


def _chunk_loss(S, y, residual=True):
    """Summed cross-entropy of one chunk's scores, and the residual ``P − Y``.

    ``k == 1`` is one logistic output (``y`` in {0, 1}); ``k >= 2`` is softmax over ``k``
    classes (``y`` the class indices).
    """
    if S.shape[1] == 1:
        s = S[:, 0]
        # log(1 + e^s) − t s is −log σ(s) for t = 1 and −log σ(−s) for t = 0
        loss = -float(np.sum(log_expit(np.where(y == 1, s, -s))))
        return loss, ((expit(s) - y)[:, None] if residual else None)
    # log-sum-exp by hand: one exp serves both the loss and the probabilities
    idx = np.arange(S.shape[0])
    top = S.max(axis=1, keepdims=True)
    E = np.exp(S - top)
    total = E.sum(axis=1)
    loss = float(np.sum(top[:, 0] + np.log(total) - S[idx, y]))
    if not residual:
        return loss, None
    E /= total[:, None]
    E[idx, y] -= 1.0
    return loss, E


def _loss_grad(Z, y, W, reg, batch_size, grad=True):
    """Regularised mean cross-entropy at ``W`` and its gradient, in one pass over ``Z``.

    Each chunk is read once: scores, loss and residual, then its share of ``Aᵀ R / n``. With
    ``grad=False`` only the loss (the gradient is None).
    """
    n, d = Z.shape
    total = 0.0
    G = np.zeros((d + 1, W.shape[1])) if grad else None
    for sl in _batches(n, batch_size):
        Zb = rows(Z, sl)
        loss_b, R = _chunk_loss(_scores(Zb, W), y[sl], residual=grad)
        total += loss_b
        if grad:
            G[:-1] += Zb.T @ R.astype(Zb.dtype, copy=False)
            G[-1] += R.sum(axis=0)
    loss = total / n + 0.5 * float(np.sum(reg[:, None] * W**2))
    if grad:
        G = G / n + reg[:, None] * W
    return loss, G


# --------------------------------------------------------------------------------------------
# Majorise-minimise loop, shared by the grid (QUBO) head and the continuous estimate of "auto"
# --------------------------------------------------------------------------------------------


def _surrogate_change(g, H, delta_w):
    """``q(w_t + δ) − q(w_t) = gᵀδ + ½ δᵀHδ`` per column (no cancellation of large values)."""
    return np.einsum("ic,ic->c", g, delta_w) + 0.5 * np.einsum("ic,ic->c", delta_w, H @ delta_w)


def _mm(Z, y, k, H, reg, step, *, max_iter, tol, accelerate, batch_size, W0=None):
    """Minimise the regularised cross-entropy by majorise-minimise from ``W = 0``.

    ``step(it, attempt, center, G, scale, W)`` returns candidate weights (d + 1, k) that minimise
    (exactly, or as well as the solver can) the quadratic ``gᵀ(w − c) + ½ (w − c)ᵀ(H/scale)(w − c)``
    around ``center`` column by column (``W`` is the current iterate, the solver's warm start).
    ``attempt`` is 0 for the extrapolated step, 1 for the safe step.

    Safe step (``scale = 1``, ``center = W_t``): a class keeps its candidate only if it lowers
    its surrogate, so ``L(W_t+1) <= L(W_t)`` (Böhning's bound). Extrapolated step (``accelerate``,
    Nesterov point ``V = W_t + β (W_t − W_t−1)`` and the scaled curvature ``H / s``): taken only
    if the true loss drops; otherwise momentum restarts, ``s`` halves and the safe step runs.

    Nothing of size ``n_samples`` is kept between passes (no cached scores), so memory does not
    grow with the data: an accepted extrapolated iteration reads the data twice (gradient at
    ``V``, loss of the candidate), a safe one twice (gradient at ``W_t`` unless known, loss).

    ``W0`` (default zeros) is the starting point; ``loss_curve[0]`` is its loss.

    Returns ``W, loss_curve, n_iter, converged, records`` (records: per-iteration lists).
    """
    d1 = H.shape[0]
    W = np.zeros((d1, k)) if W0 is None else np.array(W0, dtype=np.float64)
    W_prev = W
    # the first iteration is a safe step, which needs the gradient: one pass gives both
    loss, G = _loss_grad(Z, y, W, reg, batch_size)
    curve = [loss]
    t_nest, scale = 1.0, 1.0
    records = {"accelerated": [], "scale": [], "moved": [], "pass_time_s": []}
    converged = False
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        tic = time.perf_counter()
        pass_time = 0.0
        taken = False
        moved = np.zeros(k, dtype=bool)
        step_scale = 1.0
        if accelerate:
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t_nest**2))
            beta = (t_nest - 1.0) / t_next
            if beta > 0.0 or scale > 1.0:
                V = W + beta * (W - W_prev)
                _, GV = _loss_grad(Z, y, V, reg, batch_size)
                pass_time += time.perf_counter() - tic
                cand = step(it, 0, V, GV, scale, W)
                tic = time.perf_counter()
                cand_loss, _ = _loss_grad(Z, y, cand, reg, batch_size, grad=False)
                pass_time += time.perf_counter() - tic
                if cand_loss < loss:
                    taken = True
                    step_scale = scale
                    moved = np.any(cand != W, axis=0)
                    W_prev, W, loss, G = W, cand, cand_loss, None
                    t_nest = t_next
                    scale = min(scale * _SCALE_GROW, _MAX_SCALE)
                else:
                    t_nest, scale = 1.0, max(scale / 2.0, 1.0)
        if not taken:
            tic = time.perf_counter()
            if G is None:
                _, G = _loss_grad(Z, y, W, reg, batch_size)
            pass_time += time.perf_counter() - tic
            cand = step(it, 1, W, G, 1.0, W)
            change = _surrogate_change(G, H, cand - W)
            moved = change < 0.0
            new_loss = loss
            if np.any(moved):
                tic = time.perf_counter()
                new = np.where(moved[None, :], cand, W)
                new_loss, _ = _loss_grad(Z, y, new, reg, batch_size, grad=False)
                pass_time += time.perf_counter() - tic
            if not np.any(moved) or not new_loss <= loss:
                # no class lowers its surrogate (or only by rounding noise): a fixed point
                moved[:] = False
                new_loss = loss
            else:
                # momentum restarts: the safe step is the first step of a new sequence
                W_prev, W, G = W, new, None
            t_nest = _GOLDEN
            prev = loss
            loss = new_loss
        else:
            prev = curve[-1]
        curve.append(loss)
        records["accelerated"].append(taken)
        records["scale"].append(step_scale)
        records["moved"].append(moved)
        records["pass_time_s"].append(pass_time)
        if not np.any(moved):
            converged = True
            break
        if not taken and prev - loss <= tol * max(abs(prev), np.finfo(float).tiny):
            converged = True
            break
    return W, np.asarray(curve), n_iter, converged, records


def _continuous_step(chol):
    """Exact continuous minimiser ``c − s H⁻¹ g`` of each class's quadratic (for ``"auto"``)."""

    def step(it, attempt, center, G, scale, W):
        return center - scale * cho_solve(chol, G)

    return step


def _auto_weight_range(Z, y, k, reg, curvature, *, max_iter, tol, batch_size, rng):
    """Per-variable ``R`` (d + 1,) for ``weight_range="auto"``, and the continuous weights.

    Fits the same regularised cross-entropy by the same (accelerated) majorise-minimise loop on
    continuous weights, on at most :data:`AUTO_MAX_SAMPLES` rows, for ``max_iter`` iterations,
    and takes ``R_j = AUTO_MARGIN * max_c |w_jc|``, floored at 1 % of the largest feature range
    (and at that same floor for the bias) so that no variable has an empty grid. A subsample
    overfits a little, which only widens the range.
    """
    n = Z.shape[0]
    if n > AUTO_MAX_SAMPLES:
        idx = np.sort(rng.choice(n, AUTO_MAX_SAMPLES, replace=False))
        Z, y = rows(Z, idx), y[idx]
    M = _gram(Z, batch_size)
    H = curvature * M + np.diag(reg)
    chol = cho_factor(H + 1e-12 * np.trace(H) / H.shape[0] * np.eye(H.shape[0]))
    W, *_ = _mm(
        Z,
        y,
        k,
        H,
        reg,
        _continuous_step(chol),
        max_iter=max_iter,
        tol=tol,
        accelerate=True,
        batch_size=batch_size,
    )
    R = AUTO_MARGIN * np.max(np.abs(W), axis=1)
    top = np.max(R[:-1]) if R.shape[0] > 1 else R[-1]
    if not np.isfinite(top) or top <= 0.0:
        top = 1.0
    return np.maximum(R, 0.01 * top), W


def _refine_beta_range(H, delta):
    """Cold schedule for warm-started annealing: it explores a few grid steps around the start.

    With ``c_j = ½ Δ_j² H_jj`` the cost of moving weight ``j`` one grid step out of a
    coordinate-wise minimum, the hot end accepts such a step with probability ½ for a typical
    weight (``ln 2 / median c``) and the cold end with at most 1 % (``ln 100 / min c``).
    """
    c = 0.5 * delta**2 * np.diagonal(H)
    c = c[c > 0]
    if c.size == 0:
        return (1.0, 1.0)
    hot = float(np.log(2.0) / np.median(c))
    cold = float(np.log(100.0) / np.min(c))
    return (hot, max(hot, cold))


def _solvers_by_scale(sampler, params, solver, H, R, n_bits):
    """``solver_for(scale)``: the solver for curvature ``H / scale``.

    For ``sampler="sa"`` without a user ``beta_range`` each scale gets the cold schedule of
    :func:`_refine_beta_range` for its own curvature (a schedule made for ``H`` would be ``scale``
    times too hot for ``H / scale`` and scatter the warm start); otherwise it is ``solver``.
    """
    if not (isinstance(sampler, str) and sampler == "sa" and "beta_range" not in params):
        return lambda scale: solver
    delta = _qubo.grid_step(R, n_bits)
    cache = {}

    def solver_for(scale):
        if scale not in cache:
            beta_range = _refine_beta_range(H / scale, delta)
            cache[scale] = make_solver(sampler, {**params, "beta_range": beta_range})
        return cache[scale]

    return solver_for


def _grid_step(H, R, n_bits, solver_for, seeds, chol, parallel, records, progress):
    """Solve one QUBO per class; returns the step function for :func:`_mm`."""
    delta = _qubo.grid_step(R, n_bits)
    offset = -R

    def solve_one(solver, Hs, h, initial, seed):
        problem = _qubo.QuadraticProblem(Hs, h, delta, offset, n_bits)
        return solver.solve(problem, initial=initial, seed=int(seed))

    def step(it, attempt, center, G, scale, W_now):
        Hs = H if scale == 1.0 else H / scale
        k = G.shape[1]
        hs = G - Hs @ center  # linear terms, one column per class
        # warm start: the better (lower surrogate) of the current levels and the rounded
        # continuous minimiser of this very problem
        cont = center - scale * cho_solve(chol, G)
        cur_lv = _qubo.encode(W_now, R[:, None], n_bits)
        rnd_lv = _qubo.encode(cont, R[:, None], n_bits)
        cur_w = _qubo.decode(cur_lv, R[:, None], n_bits)
        rnd_w = _qubo.decode(rnd_lv, R[:, None], n_bits)
        better = _surrogate_change(hs + Hs @ cur_w, Hs, rnd_w - cur_w) < 0.0
        init = np.where(better[None, :], rnd_lv, cur_lv)
        solver = solver_for(scale)
        tic = time.perf_counter()
        results = parallel(
            delayed(solve_one)(solver, Hs, hs[:, c], init[:, c], seeds[it, attempt, c])
            for c in range(k)
        )
        records["solve_wall_s"] += time.perf_counter() - tic
        lv = np.stack([r.levels for r in results], axis=1)
        for c, r in enumerate(results):
            records["energy"][it, c] = r.energy
            records["time_s"][it, c] += float(r.info.get("time_s", np.nan))
            qpu = r.info.get("qpu_access_time")
            if qpu is not None:
                prev = records["qpu_access_time"][it, c]
                records["qpu_access_time"][it, c] = float(qpu) + (0.0 if np.isnan(prev) else prev)
            records["n_solves"][it, c] += 1
        if progress is not None and counted[0] != it:  # once per iteration
            counted[0] = it
            progress.update(k)
        return _qubo.decode(lv, R[:, None], n_bits)

    counted = [-1]
    return step


# --------------------------------------------------------------------------------------------
# Training features, computed a chunk at a time
# --------------------------------------------------------------------------------------------

#: ``feature_cache="auto"`` keeps the features of a memory-mapped ``X`` on disk above this size.
AUTO_DISK_BYTES = 2**30


def _feature_store(features, X, y, batch_size, *, on_disk, folder):
    """Fit ``features`` and return the training features, computed a chunk at a time.

    Returns ``X`` itself for ``features=None`` (passthrough: the passes read ``X``'s chunks);
    otherwise an ``(n, d)`` array, or a :class:`~quboclf._store.DiskRows` (``on_disk``) that the
    caller closes. :class:`~quboclf.RandomConvFeatures` is fitted in the same pass that computes
    the features (``_partial_fit_raw``), then standardised in place; any other transformer is
    fitted on all of ``X`` and transforms it chunk by chunk.
    """
    if features is None:
        return X
    n = X.shape[0]
    streamed = hasattr(features, "_partial_fit_raw")
    if streamed:
        features._validate_params()  # what its own fit would check first
    else:
        features.fit(X, y)
    store = None
    try:
        for sl in _batches(n, batch_size):
            Zb = features._partial_fit_raw(X[sl]) if streamed else features.transform(X[sl])
            Zb = check_feature_chunk(features, Zb, sl.stop - sl.start)
            dtype = np.float32 if Zb.dtype == np.float32 else np.float64
            if store is None:
                shape = (n, Zb.shape[1])
                store = DiskRows(shape, dtype, folder) if on_disk else np.empty(shape, dtype)
            store[sl] = Zb
        if streamed and features.standardize:
            # the statistics are complete only now: standardise what was written
            for sl in _batches(n, batch_size):
                store[sl] = features._standardize(store[sl])
    except BaseException:
        if isinstance(store, DiskRows):
            store.close()
        raise
    return store


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------


class QUBOCNNClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Random convolution features and a softmax head whose K-bit weights are trained by QUBOs.

    Every weight of the linear head (``coef_`` and ``intercept_``) is a ``n_bits``-bit
    fixed-point number ``w_j = Δ_j (m_j − 2**(n_bits−1))``, ``m_j ∈ [0, 2**n_bits)``,
    ``Δ_j = R_j / 2**(n_bits−1)``. Training is majorise-minimise on the regularised
    cross-entropy: each iteration bounds the loss by one convex quadratic per class (Böhning's
    curvature bound ``½ AᵀA/n``) and minimises each over the grid as a QUBO with
    ``(n_features + 1) * n_bits`` binary variables, solved by ``sampler``. A class takes its
    new weights only if they lower its quadratic, so the training loss never increases; an
    extrapolated (Nesterov) step with a bolder curvature is taken first when ``accelerate`` and
    kept only where the true loss drops. See the :ref:`user guide <classifier>`.

    Parameters
    ----------
    features : None, "passthrough" or transformer, default=None
        Feature extractor fitted on ``X`` first. ``None`` is a default
        :class:`~quboclf.RandomConvFeatures` seeded from ``random_state``; a transformer is
        cloned in ``fit``; ``"passthrough"`` trains the head on ``X`` as given (put any feature
        extractor before the classifier in a :class:`~sklearn.pipeline.Pipeline`).
    n_bits : int, default=10
        Bits per weight (``K``); each QUBO has ``(n_features + 1) * n_bits`` variables.
    weight_range : "auto", float or array-like of shape (n_features + 1,), default="auto"
        Grid half-width ``R``: weights lie in ``[−R_j, R_j − Δ_j]``. A float is used for every
        weight; an array gives one ``R_j`` per feature plus the bias last. ``"auto"`` fits the
        same loss with continuous weights by the same loop on a subsample of at most 5000 rows
        and takes twice the largest absolute weight of each feature (over classes), floored at
        1 % of the largest; the fitted value is ``weight_range_``.
    alpha : float, default=1e-4
        L2 penalty ``alpha/2 ‖coef‖²`` added to the mean cross-entropy (the bias is not
        penalised), the scale of ``SGDClassifier(alpha=...)``; ``LogisticRegression(C=...)``
        corresponds to ``alpha = 1 / (C n_samples)``.
    max_iter : int, default=100
        Majorise-minimise iterations (each solves one QUBO per class, two when the
        extrapolated step is rejected).
    tol : float, default=1e-3
        Stop when a safe (non-extrapolated) iteration lowers the loss by less than ``tol``
        times its value, or when no class can move. A safe step is a short gradient-like step,
        so this stops once extrapolation stalls and plain steps gain little: on Fashion-MNIST
        features ``1e-3`` stops after about 15 iterations with test accuracy equal to
        ``1e-4``'s (which takes about 50).
    accelerate : bool, default=True
        Try the extrapolated step first each iteration (kept only if the loss drops).
    init : {"auto", "zeros"}, default="auto"
        Where the grid loop starts. ``"auto"``: from the continuous fit that
        ``weight_range="auto"`` makes anyway, rounded to the grid (far fewer passes over the
        data; on small data sets that fit already uses every row and the QUBO iterations only
        refine it); zero weights when ``weight_range`` is given. ``"zeros"``: always from zero
        weights, so every step of training is a QUBO solve (the paper's setting).
    sampler : str or dimod.Sampler, default="sa"
        What solves the QUBOs: ``"sa"`` (structured simulated annealing with carry moves),
        ``"sa-dimod"``, ``"tabu"``, ``"exact"``, ``"qpu"``, ``"hybrid"`` or a
        ``dimod.Sampler`` instance. See :ref:`samplers`.
    sampler_params : dict, default=None
        Keyword arguments of the sampler (checked in ``fit``). For ``"sa"`` the classifier's
        defaults are ``num_reads=1, num_sweeps=10`` and a cold ``beta_range`` derived from the
        grid and the curvature of each problem (one grid step uphill accepted with probability
        ½ at the hot end); given keys override them.
    batch_size : int or None, default=8192
        Rows per chunk of every pass over the data: the features, the Gram matrix, gradients,
        losses, and the scores of :meth:`predict`. Memory beyond the stored features stays
        ``O(batch_size * (n_features + n_classes) + n_features²)`` whatever ``n_samples``;
        ``None`` is one chunk. Results do not depend on it beyond floating-point rounding.
    feature_cache : {"auto", "memory", "disk"}, default="auto"
        Where ``fit`` keeps the training features, which every pass reads. ``"memory"``: an
        array of ``n_samples × n_features_out``. ``"disk"``: an anonymous temporary file in
        ``temp_folder``, read a chunk at a time and deleted when ``fit`` returns (or fails), so
        peak memory is bounded by ``batch_size`` and does not grow with ``n_samples``: fit a
        :class:`numpy.memmap` larger than memory this way. ``"auto"``: ``"disk"`` when ``X`` is
        a :class:`numpy.memmap` of more than 1 GiB, else ``"memory"``. Ignored for
        ``"passthrough"``, whose passes read ``X``'s own chunks.
    temp_folder : str, path-like or None, default=None
        Folder of the ``"disk"`` feature cache; ``None`` is the system's temporary folder
        (:func:`tempfile.gettempdir`, set by ``TMPDIR``). ``fit`` checks the room first.
    n_jobs : int, default=None
        Classes solved in parallel (joblib threads; the numba kernels release the GIL).
        An ambient ``joblib.parallel_backend`` (e.g. ``"dask"``) takes over the solves;
        leave ``None`` there to use all its workers. Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the default features, the subsample of ``"auto"`` and every solve.
    verbose : int, default=0
        If positive, show a progress bar over iterations × classes (tqdm).

    Attributes
    ----------
    features_ : transformer or None
        The fitted feature extractor (None for ``"passthrough"``).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights on the grid. Binary problems have one logistic output, as
        :class:`~sklearn.linear_model.LogisticRegression`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases on the grid.
    weight_range_ : ndarray of shape (n_features + 1,)
        ``R`` of every weight (features, then bias).
    loss_curve_ : ndarray of shape (n_iter + 1,)
        Training loss before the first and after every iteration (non-increasing).
    n_iter_ : int
        Iterations run.
    solver_info_ : dict
        Records of the solves: ``energy``, ``time_s``, ``qpu_access_time`` (µs, NaN off the
        QPU) and ``n_solves``, arrays of shape (n_iter, n_outputs) with ``n_iter = n_iter_``;
        ``accelerated``, ``scale`` (n_iter,); ``moved`` (n_iter, n_outputs); ``n_at_edge``
        (weights on the first or last level); ``sampler``; and ``timing``, wall seconds of
        ``features``, ``weight_range``, ``gram``, ``passes``, ``solves``, ``other`` and
        ``total``.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    quboclf.RandomConvFeatures : The default feature extractor.
    quboclf.QUBOQuantizer : Rounds an already trained head to few bits.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from quboclf import QUBOCNNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = QUBOCNNClassifier(features="passthrough", n_bits=6, random_state=0).fit(X, y)
    >>> clf.coef_.shape, bool(clf.score(X, y) > 0.9)
    ((3, 4), True)
    >>> bool((clf.loss_curve_[1:] <= clf.loss_curve_[:-1]).all())
    True
    """

    _parameter_constraints = {
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "n_bits": [Interval(Integral, 1, _qubo.MAX_BITS, closed="both")],
        "weight_range": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
            "array-like",
        ],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "accelerate": ["boolean"],
        "init": [StrOptions({"auto", "zeros"})],
        "sampler": [str, HasMethods(["sample"])],
        "sampler_params": [dict, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "feature_cache": [StrOptions({"auto", "memory", "disk"})],
        "temp_folder": [str, os.PathLike, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        features=None,
        n_bits=10,
        weight_range="auto",
        alpha=1e-4,
        max_iter=100,
        tol=1e-3,
        accelerate=True,
        init="auto",
        sampler="sa",
        sampler_params=None,
        batch_size=8192,
        feature_cache="auto",
        temp_folder=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.features = features
        self.n_bits = n_bits
        self.weight_range = weight_range
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.accelerate = accelerate
        self.init = init
        self.sampler = sampler
        self.sampler_params = sampler_params
        self.batch_size = batch_size
        self.feature_cache = feature_cache
        self.temp_folder = temp_folder
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------- features
    def _make_features(self, rng):
        if self.features == "passthrough":
            return None
        if self.features is None:
            from ._features import RandomConvFeatures

            return RandomConvFeatures(random_state=int(rng.randint(2**31)))
        return clone(self.features)

    def _features_of(self, X):
        if self.features_ is None:
            return rows(X, slice(None))
        Z = np.asarray(self.features_.transform(X))
        return Z if Z.dtype in (np.float32, np.float64) else Z.astype(np.float64)

    def _validate_X(self, X, y="no_validation", *, reset):
        """Validate ``X`` (2-D for passthrough; rows or image stacks for feature extractors)."""
        if self.features == "passthrough":
            # any numeric dtype: the passes convert a chunk at a time, so a uint8 memmap
            # larger than memory is never converted as a whole
            kwargs = {"dtype": "numeric"}
        else:
            # images may come as (n, H, W[, C]); the extractor checks their shape
            kwargs = {"ensure_2d": False, "allow_nd": True, "dtype": None}
        out = validate_numeric(self, X, y, reset=reset, **kwargs)
        X = out[0] if isinstance(out, tuple) else out
        if self.features != "passthrough":
            if X.ndim < 2:
                raise ValueError(
                    f"Expected a 2D array of rows (or an image stack), got a {X.ndim}D array. "
                    "Reshape your data with array.reshape(-1, 1) if it has a single feature "
                    "or array.reshape(1, -1) if it contains a single sample."
                )
            n_features = int(np.prod(X.shape[1:]))
            if reset:
                self.n_features_in_ = n_features
            elif n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {n_features} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        return out

    def _solver_params(self):
        params = dict(self.sampler_params or {})
        if isinstance(self.sampler, str) and self.sampler == "sa":
            params = {**SA_DEFAULTS, **params}
        return params

    def _check_weight_range(self, d):
        R = np.asarray(self.weight_range, dtype=np.float64)
        if R.ndim == 0:
            R = np.full(d + 1, float(R))
        if R.shape != (d + 1,):
            raise ValueError(
                f"weight_range must be 'auto', a positive float or an array of shape "
                f"(n_features + 1,) = ({d + 1},) (features, then the bias), got shape {R.shape}"
            )
        if not np.all(np.isfinite(R)) or np.any(R <= 0):
            raise ValueError("every weight_range value must be positive and finite")
        return R

    # ---------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the features, then train the K-bit head by majorise-minimise over QUBOs.

        A fit that raises (bad data, a sampler that fails) leaves the classifier exactly as it
        was before the call: still unfitted, or with its previous model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Training data (whatever the feature extractor accepts; a 2-D array for
            ``"passthrough"``).
        y : array-like of shape (n_samples,)
            Class labels (any hashable values; at least two classes).

        Returns
        -------
        self : QUBOCNNClassifier
            The fitted classifier.
        """
        with unchanged_on_failure(self):
            return self._fit(X, y)

    def _fit(self, X, y):
        t_start = time.perf_counter()
        timing = dict.fromkeys(
            ("features", "weight_range", "gram", "passes", "solves", "other", "total"), 0.0
        )
        params = self._solver_params()
        check_sampler(self.sampler, params)
        rng = check_random_state(self.random_state)
        on_disk = self._features_on_disk(X)
        X, y = self._validate_X(X, y, reset=True)
        check_classification_targets(y)
        encoder = LabelEncoder()
        y_idx = encoder.fit_transform(y)
        classes = encoder.classes_
        if classes.shape[0] < 2:
            raise ValueError(
                f"QUBOCNNClassifier needs samples of at least 2 classes in the data, but the "
                f"data contain only one class: {classes[0]!r}"
            )
        features = self._make_features(rng)
        tic = time.perf_counter()
        Z = _feature_store(
            features,
            X,
            y,
            self.batch_size,
            on_disk=on_disk and features is not None,
            folder=self.temp_folder,
        )
        timing["features"] = time.perf_counter() - tic
        try:
            return self._fit_head(Z, y_idx, classes, features, rng, params, timing, t_start)
        finally:
            if isinstance(Z, DiskRows):
                Z.close()

    def _features_on_disk(self, X):
        """``feature_cache`` resolved for this ``X`` (before validation, which drops memmaps)."""
        if self.feature_cache == "auto":
            return isinstance(X, np.memmap) and X.nbytes > AUTO_DISK_BYTES
        return self.feature_cache == "disk"

    def _fit_head(self, Z, y_idx, classes, features, rng, params, timing, t_start):
        n, d = Z.shape
        n_classes = classes.shape[0]
        k = 1 if n_classes == 2 else n_classes
        curvature = 0.25 if k == 1 else 0.5
        reg = np.full(d + 1, float(self.alpha))
        reg[-1] = 0.0
        y_fit = y_idx.astype(np.int64, copy=False)
        batch = self.batch_size

        tic = time.perf_counter()
        W0 = None
        if isinstance(self.weight_range, str):
            R, W_cont = _auto_weight_range(
                Z,
                y_fit,
                k,
                reg,
                curvature,
                max_iter=self.max_iter,
                tol=self.tol,
                batch_size=batch,
                rng=rng,
            )
            if self.init == "auto":
                # start the grid loop from the continuous fit, rounded: far fewer passes over
                # the data than from zero, and the loss still never increases from there
                Rc = R[:, None]
                W0 = _qubo.decode(_qubo.encode(W_cont, Rc, self.n_bits), Rc, self.n_bits)
        else:
            R = self._check_weight_range(d)
        timing["weight_range"] = time.perf_counter() - tic

        tic = time.perf_counter()
        H = curvature * _gram(Z, batch) + np.diag(reg)
        # the jitter only conditions the warm-start guess; H itself goes to the solver
        chol = cho_factor(H + 1e-12 * np.trace(H) / (d + 1) * np.eye(d + 1))
        timing["gram"] = time.perf_counter() - tic

        solver = make_solver(self.sampler, params)
        solver_for = _solvers_by_scale(self.sampler, params, solver, H, R, self.n_bits)
        seeds = seeds_from(rng, self.max_iter * 2 * k).reshape(self.max_iter, 2, k)
        records = {
            "energy": np.full((self.max_iter, k), np.nan),
            "time_s": np.zeros((self.max_iter, k)),
            "qpu_access_time": np.full((self.max_iter, k), np.nan),
            "n_solves": np.zeros((self.max_iter, k), dtype=np.int64),
            "solve_wall_s": 0.0,
        }
        progress = None
        if self.verbose:
            from tqdm.auto import tqdm

            progress = tqdm(total=self.max_iter * k, desc="QUBOCNNClassifier", unit="QUBO")
        n_jobs = self.n_jobs if k > 1 else 1
        try:
            # threads by default (the numba kernels release the GIL), but an ambient
            # ``joblib.parallel_backend`` (e.g. "dask") takes over: the tasks pickle
            with Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
                step = _grid_step(
                    H, R, self.n_bits, solver_for, seeds, chol, parallel, records, progress
                )
                W, curve, n_iter, converged, mm_records = _mm(
                    Z,
                    y_fit,
                    k,
                    H,
                    reg,
                    step,
                    max_iter=self.max_iter,
                    tol=self.tol,
                    accelerate=self.accelerate,
                    batch_size=batch,
                    W0=W0,
                )
        finally:
            if progress is not None:
                progress.close()
            close = getattr(solver, "close", None)
            if close is not None:
                close()

        if not converged:
            warnings.warn(
                f"QUBOCNNClassifier did not converge in max_iter={self.max_iter} iterations "
                f"(last relative loss decrease above tol={self.tol}); increase max_iter.",
                ConvergenceWarning,
                stacklevel=3,
            )
        levels = _qubo.encode(W, R[:, None], self.n_bits)
        at_edge = int(np.sum((levels == 0) | (levels == 2**self.n_bits - 1)))
        self.features_ = features
        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(W[:-1].T)
        self.intercept_ = W[-1].copy()
        self.weight_range_ = R
        self.loss_curve_ = curve
        self.n_iter_ = n_iter
        timing["solves"] = records.pop("solve_wall_s")
        timing["passes"] = float(np.sum(mm_records["pass_time_s"]))
        timing["total"] = time.perf_counter() - t_start
        timing["other"] = timing["total"] - sum(
            timing[key] for key in ("features", "weight_range", "gram", "passes", "solves")
        )
        self.solver_info_ = {
            "sampler": solver.name if hasattr(solver, "name") else str(self.sampler),
            **{key: value[:n_iter] for key, value in records.items()},
            "accelerated": np.asarray(mm_records["accelerated"], dtype=bool),
            "scale": np.asarray(mm_records["scale"]),
            "moved": np.asarray(mm_records["moved"], dtype=bool).reshape(n_iter, k),
            "n_at_edge": at_edge,
            "timing": timing,
        }
        return self

    # ---------------------------------------------------------------- predict
    def transform(self, X):
        """Features the head sees (the fitted extractor's output, or ``X`` for passthrough).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_head_features)
            Features.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._features_of(X)

    def decision_function(self, X):
        """Class scores ``Z coef_ᵀ + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems the logit of ``classes_[1]``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        n, k = X.shape[0], self.coef_.shape[0]
        S = np.empty((n, k))
        # a chunk at a time, so that a memmap larger than memory can be scored
        for sl in _batches(n, self.batch_size):
            Zb = np.asarray(self._features_of(X[sl]), dtype=np.float64)
            S[sl] = Zb @ self.coef_.T + self.intercept_
        return S[:, 0] if k == 1 else S

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        S = self.decision_function(X)
        idx = (S > 0).astype(np.int64) if S.ndim == 1 else np.argmax(S, axis=1)
        return self.classes_[idx]

    def predict_proba(self, X):
        """Class probabilities (softmax of the scores; logistic for binary problems).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        S = self.decision_function(X)
        if S.ndim == 1:
            return np.column_stack([log_expit(-S), log_expit(S)])
        return S - logsumexp(S, axis=1, keepdims=True)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Test data.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Fraction of correctly classified samples.
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = False
        return tags
