"""Tests of QUBOCNNClassifier: estimator checks, the MM guarantees, answer keys, real data."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits, load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from quboclf import QUBOCNNClassifier, RandomConvFeatures
from quboclf._classifier import _refine_beta_range
from quboclf._head import (
    SCALE_RATIOS,
    HeadGrid,
    _heavy_rows,
    _quantize,
    _trial_losses,
    choose_scales,
    curvature_blocks,
    fit_continuous,
    grid_integers,
    refit_scales,
)
from quboclf._head import loss_grad as _loss_grad
from quboclf._streaming import batches

FAST = {"num_sweeps": 2}


def _fast(**kwargs):
    params = {
        "features": "passthrough",
        "n_bits": 6,
        "max_iter": 15,
        "sampler_params": FAST,
        "random_state": 0,
    }
    params.update(kwargs)
    return QUBOCNNClassifier(**params)


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# scikit-learn's estimator checks, determinism across n_jobs and pickling: tests/test_common.py


# ------------------------------------------------------------------------------ data passes


def _data(seed=0, n=60, d=5, classes=3):
    X, y = make_classification(
        n_samples=n,
        n_features=d,
        n_informative=3,
        n_redundant=0,
        n_classes=classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return X, y


def _reference_loss_grad(Z, y, W, reg):
    A = np.hstack([Z, np.ones((Z.shape[0], 1))])
    S = A @ W
    if W.shape[1] == 1:
        s = S[:, 0]
        p = 1 / (1 + np.exp(-s))
        loss = np.mean(np.log1p(np.exp(s)) - y * s)
        G = A.T @ (p - y)[:, None] / len(y)
    else:
        P = np.exp(S - S.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        Y = np.eye(W.shape[1])[y]
        loss = -np.mean(np.log((P * Y).sum(1)))
        G = A.T @ (P - Y) / len(y)
    return loss + 0.5 * np.sum(reg[:, None] * W**2), G + reg[:, None] * W


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_loss_and_gradient_match_reference(k, batch_size):
    rng = np.random.default_rng(k)
    Z = rng.normal(size=(40, 4))
    y = rng.integers(0, max(k, 2), size=40)
    W = rng.normal(size=(5, k))
    reg = np.array([0.1, 0.2, 0.0, 0.3, 0.0])
    loss, G = _loss_grad(Z, y, W, reg, batch_size)
    ref_loss, ref_G = _reference_loss_grad(Z, y, W, reg)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(G, ref_G, rtol=1e-10, atol=1e-12)
    loss_only, none = _loss_grad(Z, y, W, reg, batch_size, grad=False)
    assert none is None and loss_only == loss


@pytest.mark.parametrize("n, batch_size", [(5, 2), (4, None), (3, 10)])
def test_batches_cover_the_rows_once(n, batch_size):
    covered = np.concatenate([np.arange(n)[sl] for sl in batches(n, batch_size)])
    np.testing.assert_array_equal(covered, np.arange(n))


@pytest.mark.parametrize("k", [1, 3])
def test_gauss_newton_blocks_match_the_reference(k):
    rng = np.random.default_rng(k)
    Z = rng.normal(size=(50, 4))
    W = rng.normal(size=(5, k))
    reg = np.array([0.1, 0.1, 0.1, 0.1, 0.0])
    A = np.hstack([Z, np.ones((50, 1))])
    S = A @ W
    P = 1 / (1 + np.exp(-S)) if k == 1 else np.exp(S) / np.exp(S).sum(1, keepdims=True)
    blocks = curvature_blocks(Z, W, reg)
    for c in range(k):
        ref = A.T @ (A * (P[:, c] * (1 - P[:, c]))[:, None]) / 50 + np.diag(reg)
        np.testing.assert_allclose(blocks[c], ref, rtol=1e-5, atol=1e-7)  # float32 product
    assert np.all(np.linalg.eigvalsh(blocks) > 0)


@pytest.mark.parametrize("k", [1, 4])
def test_trial_losses_match_separate_passes(k):
    rng = np.random.default_rng(k)
    Z = rng.normal(size=(30, 3))
    y = rng.integers(0, max(k, 2), size=30)
    reg = np.array([0.1, 0.2, 0.3, 0.0])
    W = rng.normal(size=(4, k))
    D = rng.normal(size=(4, k))
    if k > 1:
        D[:, 1] = 0.0
    loss, G, single = _trial_losses(Z, y, W, D, reg, 7)
    ref_loss, ref_G = _loss_grad(Z, y, W + D, reg, None)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(G, ref_G, rtol=1e-10, atol=1e-12)
    for c in range(k):
        if k > 1 and c == 1:
            assert single[c] == np.inf  # not moved
            continue
        V = W.copy()
        V[:, c] += D[:, c]
        assert single[c] == pytest.approx(_loss_grad(Z, y, V, reg, None)[0], rel=1e-12)


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("tail", [0.05, 0.3])
def test_heavy_row_blocks_lie_below_the_full_ones(k, tail):
    # dropping the light rows removes a positive semi-definite part whose trace is at most
    # tail times the rows' part of the trace
    rng = np.random.default_rng(k)
    Z = rng.normal(size=(80, 4)) * rng.uniform(0.1, 3.0, size=(80, 1))
    W = 2.0 * rng.normal(size=(5, k))
    reg = np.array([0.1, 0.1, 0.1, 0.1, 0.0])
    full = curvature_blocks(Z, W, reg)
    part = curvature_blocks(Z, W, reg, tail=tail)
    for c in range(k):
        gap = full[c] - part[c]
        assert np.linalg.eigvalsh(0.5 * (gap + gap.T)).min() >= -1e-6
        rows_trace = np.trace(full[c]) - reg.sum() - 1e-12
        assert np.trace(gap) <= tail * rows_trace + 1e-6
    assert np.any(np.abs(full - part) > 1e-6)  # rows were dropped
    np.testing.assert_array_equal(curvature_blocks(Z, W, reg, tail=0.0), full)


def test_heavy_rows_keep_the_fewest_rows_holding_the_mass():
    mass = np.array([0.05, 5.0, 0.0, 3.0, 1.0, 0.95])
    # total 10: the three heaviest hold 9.0 (90 %), the four heaviest 9.95
    np.testing.assert_array_equal(_heavy_rows(mass, 0.1), [1, 3, 4])
    np.testing.assert_array_equal(_heavy_rows(mass, 0.01), [1, 3, 4, 5])
    np.testing.assert_array_equal(_heavy_rows(mass, 0.0), np.arange(6))


@pytest.mark.parametrize("k_classes", [2, 4])
def test_preconditioned_continuous_fit_reaches_the_optimum(k_classes):
    # the preconditioned L-BFGS minimises the same objective as a converged LogisticRegression
    # (C = 1 / (alpha n)), in fewer iterations than on the raw, badly scaled features
    rng = np.random.default_rng(k_classes)
    X, y = make_classification(
        n_samples=300, n_features=40, n_informative=5, n_classes=k_classes, random_state=1
    )
    X = X * rng.uniform(0.05, 20.0, size=40)  # ill-conditioned Gram matrix
    alpha = 1e-2
    n, d = X.shape
    k = 1 if k_classes == 2 else k_classes
    reg = np.r_[np.full(d, alpha), 0.0]
    lr = LogisticRegression(C=1.0 / (alpha * n), tol=1e-10, max_iter=100_000).fit(X, y)
    W_lr = np.vstack([lr.coef_.T, lr.intercept_])
    best = _loss_grad(X, y, W_lr, reg, None, grad=False)[0]
    W, n_pre, converged = fit_continuous(
        X, y, k, reg, max_iter=500, tol=1e-6, batch_size=None, Z_pre=X[:128]
    )
    assert converged
    assert _loss_grad(X, y, W, reg, None, grad=False)[0] <= best + 1e-9
    # softmax biases are defined up to a common shift (unpenalised)
    np.testing.assert_allclose(W[:-1], W_lr[:-1], atol=1e-3 * np.abs(W_lr).max())
    np.testing.assert_allclose(
        W[-1] - W[-1].mean() * (k > 1), W_lr[-1] - W_lr[-1].mean() * (k > 1), atol=1e-3
    )
    _, n_raw, _ = fit_continuous(X, y, k, reg, max_iter=500, tol=1e-6, batch_size=None)
    assert n_pre < n_raw


@pytest.mark.parametrize("shift", [0.0, 5.0])
def test_preconditioned_softmax_fit_is_centred_and_reaches_the_optimum(shift):
    # softmax scores ignore a vector added to every class column: only the small L2 term
    # curves that direction. The per-class whitened fit runs on centred weights, so even a
    # start far along it (a warm start plus a common shift) reaches the optimum, centred, in
    # few iterations
    X, y = make_classification(
        n_samples=400, n_features=20, n_informative=8, n_classes=5, random_state=3
    )
    X = X * np.random.default_rng(3).uniform(0.1, 10.0, size=20)
    alpha = 1e-4
    n, d = X.shape
    reg = np.r_[np.full(d, alpha), 0.0]
    lr = LogisticRegression(C=1.0 / (alpha * n), tol=1e-10, max_iter=100_000).fit(X, y)
    W_lr = np.vstack([lr.coef_.T, lr.intercept_])
    best = _loss_grad(X, y, W_lr, reg, None, grad=False)[0]
    W0 = W_lr + shift * np.random.default_rng(0).normal(size=(d + 1, 1))
    W, n_iter, converged = fit_continuous(
        X, y, 5, reg, max_iter=60, tol=1e-7, batch_size=None, W0=W0, Z_pre=X[:200]
    )
    assert converged and n_iter < 60
    assert _loss_grad(X, y, W, reg, None, grad=False)[0] <= best + 1e-10
    np.testing.assert_allclose(W.sum(axis=1), 0.0, atol=1e-10)
    np.testing.assert_allclose(W[:-1], W_lr[:-1], atol=1e-4 * np.abs(W_lr).max())


def test_choose_scales_scores_with_the_gradient_correction():
    # tensor granularity: the chosen scale is the candidate minimising the rows' objective
    # plus correction · (rounded − W), by brute force over the candidates
    X, y = _data(classes=3)
    W = LogisticRegression(C=10.0).fit(X, y)
    W = np.vstack([W.coef_.T, W.intercept_])
    alpha, K = 1e-3, 2
    _, qmax, _ = grid_integers(K)
    corr = np.random.default_rng(0).normal(size=W.shape)
    tensor = {"n_bits": K, "bias_bits": 8, "granularity": "tensor", "grid": "midrise"}
    grid = choose_scales(X, y, W, alpha, **tensor, grad_correction=corr)
    reg = np.r_[np.full(X.shape[1], alpha), 0.0]
    values = []
    for r in SCALE_RATIOS:
        Wq = W.copy()
        Wq[:-1] = _quantize(W[:-1], r * np.abs(W[:-1]).max() / qmax, K, "midrise")
        ce = _loss_grad(X, y, Wq, reg, None, grad=False)[0]
        values.append(ce + np.sum(corr[:-1] * (Wq[:-1] - W[:-1])))
    best = SCALE_RATIOS[int(np.argmin(values))] * np.abs(W[:-1]).max() / qmax
    assert grid.coef_scale[0, 0] == pytest.approx(best, rel=1e-12)
    plain = choose_scales(X, y, W, alpha, **tensor)
    zero = choose_scales(X, y, W, alpha, **tensor, grad_correction=np.zeros_like(W))
    np.testing.assert_array_equal(plain.coef_scale, zero.coef_scale)
    assert plain.bias_scale == zero.bias_scale


def _best_scales_loss(Z, y, W, reg, per_class, bias_codes):
    """Reference: the least objective over coefficient-scale multipliers and biases, codes fixed."""
    from scipy.optimize import minimize

    k = W.shape[1]
    n_g = k if per_class else 1

    def value(theta):
        V = W.copy()
        V[:-1] *= theta[:n_g]
        V[-1] = W[-1] * theta[n_g] if bias_codes else theta[n_g:]
        return _loss_grad(Z, y, V, reg, None, grad=False)[0]

    x0 = np.r_[np.ones(n_g), [1.0] if bias_codes else W[-1]]
    return minimize(value, x0, method="Nelder-Mead", options={
        "xatol": 1e-10, "fatol": 1e-14, "maxiter": 40_000, "maxfev": 40_000}).fun


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("bias_codes", [False, True])
def test_refit_scales_finds_the_best_scales_for_fixed_codes(k, shared, bias_codes):
    # codes fixed, scores linear in the scales: the refit reaches the least objective over the
    # scale multipliers and the biases (a 16-bit bias grid: rounding the biases costs ~nothing)
    X, y = _data(seed=k, n=80, classes=max(k, 2) if k > 1 else 2)
    rng = np.random.default_rng(k)
    n_bits = 1
    bias_bits = n_bits if bias_codes else 16
    d = X.shape[1]
    scale = np.full((d, k), 0.05)  # far too small for these codes
    grid = HeadGrid(n_bits, bias_bits, "midrise", scale, 0.3 if bias_codes else 1e-3)
    W = grid.values(np.vstack([
        rng.integers(0, 2, size=(d, k)),
        rng.integers(0, 2, size=(1, k)) if bias_codes else np.full((1, k), 2**15),
    ]))
    reg = np.r_[np.full(d, 0.01), 0.0]
    loss, G = _loss_grad(X, y, W, reg, None)
    V, new = refit_scales(X, y, W, G, reg, grid, shared=shared)
    # the same codes on the new grid (or a class's mirrored: a negative multiplier)
    old_q, new_q = grid.levels(W)[:-1], new.levels(V)[:-1]
    assert all(np.array_equal(a, b) or np.array_equal(a, 1 - b) for a, b in zip(old_q.T, new_q.T))
    if bias_codes:
        np.testing.assert_array_equal(new.levels(V)[-1], grid.levels(W)[-1])
    assert new.on_grid(V)
    if shared:
        ratio = new.coef_scale / grid.coef_scale
        np.testing.assert_allclose(ratio, ratio[0, 0])
    refit = _loss_grad(X, y, V, reg, None, grad=False)[0]
    best = _best_scales_loss(X, y, W, reg, not shared, bias_codes)
    assert refit < loss
    assert refit == pytest.approx(best, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("grid_kind", ["midrise", "integer"])
def test_refit_scales_mirrors_codes_only_on_the_symmetric_grid(grid_kind):
    # codes that point the wrong way want a negative multiplier: on the mid-rise grid that is
    # the mirrored codes, on the signed-integer grid (asymmetric) mirroring could leave it
    X, y = _data(seed=5, n=120, classes=2)
    d = X.shape[1]
    reg = np.r_[np.full(d, 1e-3), 0.0]
    lr = LogisticRegression(C=1e3).fit(X, y)
    grid = HeadGrid(2, 16, grid_kind, np.full((d, 1), 0.2), 1e-3)
    W = grid.round(np.vstack([-lr.coef_.T, lr.intercept_[:, None]]))  # the wrong signs
    loss, G = _loss_grad(X, y, W, reg, None)
    V, new = refit_scales(X, y, W, G, reg, grid)
    if grid_kind == "integer":
        assert new is grid and V is W
    else:
        assert new.on_grid(V)
        assert _loss_grad(X, y, V, reg, None, grad=False)[0] < loss
        np.testing.assert_array_equal(new.levels(V)[:-1], 3 - grid.levels(W)[:-1])


@pytest.mark.parametrize("granularity", ["class", "tensor"])
@pytest.mark.parametrize("n_bits", [1, 2])
def test_fitted_scales_are_the_best_for_the_fitted_codes(n_bits, granularity):
    # the scales chosen for rounding the continuous fit are far from the best for the codes
    # the QUBO steps end with; the fit refits them, and stops only when no refit gains tol
    X, y = _data(seed=4, n=300, d=8, classes=3)
    clf = _fast(n_bits=n_bits, granularity=granularity, max_iter=100).fit(X, y)
    reg = np.r_[np.full(X.shape[1], clf.alpha), 0.0]
    W = np.vstack([clf.coef_.T, clf.intercept_])
    loss = _loss_grad(X, y, W, reg, None, grad=False)[0]
    assert loss == pytest.approx(clf.loss_curve_[-1], rel=1e-6)
    best = _best_scales_loss(X, y, W, reg, granularity == "class", False)
    assert loss <= best + clf.tol * loss
    assert clf.solver_info_["n_refits"] >= 1


def test_trial_losses_of_confident_weighted_rows_match_separate_passes():
    # scores of hundreds: one class holds all the mass of a row, where "total − own" cancels
    rng = np.random.default_rng(7)
    Z = rng.normal(size=(40, 3))
    y = rng.integers(0, 5, size=40)
    reg = np.array([0.1, 0.2, 0.3, 0.0])
    W = 80.0 * rng.normal(size=(4, 5))
    D = 60.0 * rng.normal(size=(4, 5))
    sw = rng.uniform(0.0, 3.0, size=40)
    _, _, single = _trial_losses(Z, y, W, D, reg, 9, sample_weight=sw)
    for c in range(5):
        V = W.copy()
        V[:, c] += D[:, c]
        ref = _loss_grad(Z, y, V, reg, None, sample_weight=sw)[0]
        assert single[c] == pytest.approx(ref, rel=1e-11)


def test_grid_integers_are_symmetric_and_k_bit():
    for K in range(1, 9):
        qmin, qmax, step = grid_integers(K)
        assert qmin == -qmax and (qmax - qmin) // step + 1 == 2**K
        assert grid_integers(K, "integer")[0] == -grid_integers(K, "integer")[1]
    assert grid_integers(1) == grid_integers(1, "integer") == (-1, 1, 2)


@pytest.mark.parametrize("granularity", ["class", "tensor", "feature"])
def test_choose_scales_never_worse_than_no_clipping(granularity):
    X, y = _data(classes=3)
    W = LogisticRegression(C=10.0).fit(X, y)
    W = np.vstack([W.coef_.T, W.intercept_])
    grid = choose_scales(
        X, y, W, 1e-3, n_bits=2, bias_bits=8, granularity=granularity, grid="midrise"
    )
    reg = np.r_[np.full(X.shape[1], 1e-3), 0.0]
    chosen = _loss_grad(X, y, grid.round(W), reg, None, grad=False)[0]
    _, qmax, _ = grid_integers(2)
    plain = grid.round(W)  # same bias grid, coefficient scales without clipping
    top = np.max(np.abs(W[:-1]), axis=0) / qmax
    q = np.clip(np.rint((W[:-1] / top + 3) / 2), 0, 3) * 2 - 3
    plain[:-1] = q * top
    assert chosen <= _loss_grad(X, y, plain, reg, None, grad=False)[0] + 1e-12
    n_scales = {"class": 3, "tensor": 1, "feature": X.shape[1]}[granularity]
    assert np.unique(grid.coef_scale).size <= n_scales


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    k=st.sampled_from([1, 2, 4]),
    step=st.floats(0.01, 3.0),
)
def test_bohning_bound_majorises_the_loss(seed, k, step):
    # L(W + D) <= L(W) + <G, D> + ½ Σ_c d_cᵀ H d_c with H = c AᵀA/n + reg (c = ¼ or ½)
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(30, 3))
    y = rng.integers(0, max(k, 2), size=30)
    reg = np.array([0.01, 0.02, 0.03, 0.0])
    W = rng.normal(size=(4, k))
    D = step * rng.normal(size=(4, k))
    H = curvature_blocks(Z, W, reg, "bohning")[0]
    loss, G = _loss_grad(Z, y, W, reg, None)
    new_loss, _ = _loss_grad(Z, y, W + D, reg, None)
    bound = loss + np.sum(G * D) + 0.5 * np.einsum("ic,ij,jc->", D, H, D)
    assert new_loss <= bound + 1e-6 * max(1.0, abs(bound))  # float32 product


def test_refine_beta_range():
    H = np.diag([1.0, 4.0, 0.0])
    delta = np.array([0.5, 0.5, 0.5])
    hot, cold = _refine_beta_range(H, delta)
    c = np.array([0.125, 0.5])
    assert hot == pytest.approx(np.log(2) / np.median(c))
    assert cold == pytest.approx(np.log(100) / 0.125)
    assert _refine_beta_range(np.zeros((2, 2)), np.ones(2)) == (1.0, 1.0)


def test_sa_schedule_follows_each_problem_unless_given(monkeypatch):
    import quboclf._classifier as module
    from quboclf import _anneal

    seen = []
    real = _anneal.anneal

    def recording(problem, **kwargs):
        seen.append((problem, kwargs.get("beta_range")))
        return real(problem, **kwargs)

    monkeypatch.setattr(_anneal, "anneal", recording)
    X, y = _data()
    _fast(max_iter=2).fit(X, y)
    assert len(seen) >= 3  # one per class and sweep
    for problem, beta_range in seen:
        assert beta_range == module._refine_beta_range(problem.H, problem.delta)
    seen.clear()
    _fast(max_iter=2, sampler_params={"beta_range": (1.0, 2.0), "num_sweeps": 2}).fit(X, y)
    assert seen and all(beta_range == (1.0, 2.0) for _, beta_range in seen)


# ------------------------------------------------------------------------ the guarantees


def _levels_ok(clf, n_bits):
    """Every coefficient is ``coef_scale_ * q`` with q odd in [-(2**K - 1), 2**K - 1]."""
    qmax = 2**n_bits - 1
    q = 2 * clf.coef_levels_ - qmax
    scale = clf.coef_scale_
    if clf.granularity == "class":
        scale = scale[:, None]
    np.testing.assert_allclose(clf.coef_, scale * q, rtol=1e-12, atol=0)
    assert np.all((clf.coef_levels_ >= 0) & (clf.coef_levels_ <= qmax))
    bq = clf.intercept_ / clf.intercept_scale_
    np.testing.assert_allclose(bq, np.rint(bq), atol=1e-9)
    assert np.all(np.abs(bq) <= 2 ** clf._bias_bits() - 1 + 1e-9)


@pytest.mark.parametrize(
    ("weight_range", "init"), [("auto", "auto"), ("auto", "zeros"), (1.0, "auto")]
)
@pytest.mark.parametrize("curvature", ["gauss-newton", "bohning"])
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("n_bits", [1, 3, 8])
def test_loss_never_increases_and_weights_lie_on_the_grid(
    curvature, classes, n_bits, weight_range, init
):
    X, y = _data(seed=classes, classes=classes)
    clf = _fast(
        n_bits=n_bits, curvature=curvature, max_iter=25, weight_range=weight_range, init=init
    ).fit(X, y)
    curve = clf.loss_curve_
    assert curve.shape[0] >= clf.n_iter_ + 1
    assert np.all(np.diff(curve) <= 0.0)
    if init == "zeros":  # zero weights give log(2) (one logistic output) or log(C) (softmax)
        assert clf.solver_info_["zero_loss"] == pytest.approx(np.log(classes))
        if n_bits > 1:  # at one bit every weight jumps to ±s at once: may land far off
            assert curve[-1] < np.log(classes) - 0.05
    else:  # the best rounding of the continuous fit, never improved on by less than nothing
        # (with scales chosen by the loss, refitted to the rounding's codes first)
        assert curve[0] <= clf.solver_info_["rounded_loss"]
        if weight_range != "auto":
            assert curve[0] == pytest.approx(clf.solver_info_["rounded_loss"])
        assert curve[0] < np.log(classes) - 0.05
    _levels_ok(clf, n_bits)
    # at most 2**K distinct values per row of coef_ (one scale per class row)
    assert all(np.unique(row).size <= 2**n_bits for row in clf.coef_)
    # the loss curve is the true training loss of the fitted weights
    Z = clf.transform(X)
    y_idx = np.searchsorted(clf.classes_, y)
    reg = np.r_[np.full(X.shape[1], clf.alpha), 0.0]
    W = np.vstack([clf.coef_.T, clf.intercept_])
    # (the fit reads float32 copies of float64 features)
    assert _loss_grad(Z, y_idx, W, reg, None)[0] == pytest.approx(curve[-1], rel=1e-5)


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4])
def test_binary_problems_are_truly_quantized(n_bits):
    X, y = make_classification(n_samples=200, n_features=30, n_informative=10, random_state=0)
    clf = _fast(n_bits=n_bits, max_iter=30).fit(X, y)
    assert clf.coef_.shape == (1, 30)
    assert np.unique(clf.coef_).size <= 2**n_bits
    _levels_ok(clf, n_bits)
    # the start is the best rounding of the float fit, and the QUBO steps only improve it
    assert clf.loss_curve_[-1] <= clf.solver_info_["rounded_loss"]
    assert clf.score(X, y) >= 0.7  # float logistic regression: 0.78


def test_one_bit_grid_has_positive_and_negative_weights():
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = _fast(n_bits=1, max_iter=30).fit(X, y)
    for row, scale in zip(clf.coef_, clf.coef_scale_):
        np.testing.assert_allclose(np.abs(row), scale)
    assert np.any(clf.coef_ > 0) and np.any(clf.coef_ < 0)
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize(("granularity", "n_scales"), [("tensor", 1), ("feature", 4)])
def test_granularity_sets_the_number_of_scales(granularity, n_scales):
    X, y = load_iris(return_X_y=True)
    clf = _fast(n_bits=2, granularity=granularity).fit(X, y)
    assert clf.coef_scale_.shape == (n_scales,)
    assert np.unique(np.abs(clf.coef_)).size <= 2 ** (2 - 1) * n_scales
    _levels_ok(clf, 2)


def test_bias_bits_equal_to_n_bits_puts_the_bias_into_the_qubo():
    X, y = _data(classes=2)
    clf = _fast(n_bits=2, bias_bits=2).fit(X, y)
    _levels_ok(clf, 2)
    bq = clf.intercept_ / clf.intercept_scale_
    assert set(np.rint(bq).astype(int)) <= {-3, -1, 1, 3}
    assert clf.solver_info_["energy"].shape[1] == 1


def test_given_weight_range_float_and_array():
    X, y = _data()
    clf = _fast(weight_range=0.75, n_bits=4).fit(X, y)
    np.testing.assert_allclose(clf.weight_range_, np.full(X.shape[1] + 1, 0.75))
    assert np.all(np.abs(clf.coef_) <= 0.75 + 1e-12)
    R = np.linspace(0.5, 1.5, X.shape[1] + 1)
    clf = _fast(weight_range=R, n_bits=4, granularity="feature").fit(X, y)
    np.testing.assert_allclose(clf.weight_range_, R)
    assert np.all(np.abs(clf.coef_) <= R[:-1] + 1e-12)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"weight_range": [1.0, 2.0]}, r"shape \(n_features \+ 1,\)"),
        ({"weight_range": [1.0, 0.0, 1.0, 1.0, 1.0, 1.0]}, "positive"),
        ({"weight_range": [1.0, 2.0, 1.0, 1.0, 1.0, 1.0]}, "granularity='feature'"),
        ({"sampler": "nope"}, "nope"),
        ({"sampler_params": {"num_sweeps": -1}}, "num_sweeps"),
        ({"n_bits": 0}, "n_bits"),
        ({"granularity": "row"}, "granularity"),
    ],
)
def test_bad_parameters_raise_clear_errors(params, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match):
        _fast(**params).fit(X, y)


def test_one_class_is_refused():
    X, _ = _data()
    with pytest.raises(ValueError, match="at least 2 classes"):
        _fast().fit(X, np.zeros(len(X)))


@pytest.mark.parametrize("n_bits", [2, 3])
def test_exact_sampler_reaches_the_grid_optimum(n_bits):
    # binary, two features, bias in the QUBO: 3 weights on a known grid, brute force over
    # all (2**K)**3 grid points of the true training objective
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.7 * rng.normal(size=60) > 0.3).astype(int)
    R, alpha = 2.0, 0.01
    clf = QUBOCNNClassifier(
        features="passthrough",
        n_bits=n_bits,
        bias_bits=n_bits,
        weight_range=R,
        alpha=alpha,
        max_iter=50,
        sampler="exact",
        random_state=0,
    ).fit(X, y)
    qmax = 2**n_bits - 1
    values = R / qmax * np.arange(-qmax, qmax + 1, 2)
    reg = np.array([alpha, alpha, 0.0])
    grid = np.array(list(itertools.product(values, values, values)))
    losses = [_loss_grad(X, y, w[:, None], reg, None, grad=False)[0] for w in grid]
    best = grid[int(np.argmin(losses))]
    np.testing.assert_allclose(np.r_[clf.coef_[0], clf.intercept_], best)
    assert clf.loss_curve_[-1] == pytest.approx(min(losses))
    assert clf.solver_info_["sampler"] == "exact"


def test_tol_zero_ends_stuck_not_converged():
    # with tol=0 only a sweep in which no class's QUBO step lowers the objective (at any trust
    # factor) ends the fit: "stuck", a local minimum of the moves, told apart from "converged"
    # and without the ConvergenceWarning of "max_iter"
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.7 * rng.normal(size=60) > 0.3).astype(int)
    clf = QUBOCNNClassifier(
        features="passthrough", n_bits=2, tol=0.0, max_iter=50, sampler="exact", random_state=0
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    assert clf.solver_info_["status"] == "stuck"
    assert clf.n_iter_ < 50
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert np.all(np.diff(clf.loss_curve_) <= 0)


# ------------------------------------------------------------------------------ API details


def test_binary_has_one_logistic_output_and_string_labels():
    X, y = _data(classes=2)
    labels = np.array(["cat", "dog"])[y]
    clf = _fast().fit(X, labels)
    assert clf.coef_.shape == (1, X.shape[1])
    assert clf.intercept_.shape == (1,)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X))
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_array_equal(clf.predict(X), np.where(scores > 0, "dog", "cat"))
    assert clf.score(X, labels) > 0.8


def test_multiclass_string_labels_and_records():
    X, y = load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = _fast(max_iter=20).fit(X, labels)
    assert clf.coef_.shape == (3, 4)
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, labels) > 0.9
    info = clf.solver_info_
    for key in ("energy", "time_s", "qpu_access_time", "n_solves", "moved"):
        assert info[key].shape == (clf.n_iter_, 3)
    assert info["trust"].shape == (clf.n_iter_, 3)
    assert info["status"] in ("converged", "stuck", "max_iter")
    assert np.all(np.isnan(info["qpu_access_time"]))
    assert np.all(info["n_solves"] >= 0) and info["n_solves"].sum() >= 3
    assert set(info["timing"]) == {
        "features",
        "start",
        "scales",
        "curvature",
        "passes",
        "solves",
        "other",
        "total",
    }
    assert info["timing"]["total"] >= info["timing"]["solves"] > 0


def test_single_class_head_warns():
    # pure noise features, 90 % of one class and a strong penalty: only the bias is left
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (rng.random(200) < 0.1).astype(int) + (rng.random(200) < 0.05)
    with pytest.warns(UserWarning, match="predicts a single class"):
        _fast(n_bits=2, alpha=100.0).fit(X, y)


def test_convergence_warning_and_early_stop():
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        _fast(max_iter=1, tol=0.0, n_bits=2).fit(X, y)
    clf = _fast(max_iter=500, tol=1e-2).fit(X, y)
    assert clf.n_iter_ < 500


def test_verbose_shows_a_progress_bar(capsys):
    X, y = _data()
    _fast(verbose=1, max_iter=3).fit(X, y)
    assert "QUBOCNNClassifier" in capsys.readouterr().err


def test_default_features_and_transform():
    X, y = load_digits(return_X_y=True)
    X, y = X[:200], y[:200]
    clf = QUBOCNNClassifier(max_iter=3, sampler_params=FAST, random_state=0).fit(X, y)
    assert isinstance(clf.features_, RandomConvFeatures)
    Z = clf.transform(X)
    np.testing.assert_allclose(Z, clf.features_.transform(X))
    assert clf.coef_.shape == (10, Z.shape[1])
    # a given extractor is cloned, not fitted in place
    features = RandomConvFeatures(n_filters=2, random_state=0)
    clf = QUBOCNNClassifier(features=features, max_iter=2, sampler_params=FAST).fit(X, y)
    assert clf.features_ is not features
    assert not hasattr(features, "n_features_in_")
    assert clf.transform(X).shape[1] == clf.coef_.shape[1]
    # image stacks work too
    clf.fit(X.reshape(-1, 8, 8), y)
    assert clf.predict(X.reshape(-1, 8, 8)).shape == (200,)


def test_pipeline_before_and_after():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), _fast()).fit(X, y)
    assert pipe.score(X, y) > 0.9
    # a fitted classifier serves as a feature extractor
    digits_X, digits_y = load_digits(return_X_y=True)
    extractor = QUBOCNNClassifier(max_iter=2, sampler_params=FAST, random_state=0)
    pipe = make_pipeline(extractor, LogisticRegression(max_iter=200))
    pipe.fit(digits_X[:200], digits_y[:200])
    assert pipe.score(digits_X[:200], digits_y[:200]) > 0.9


def test_grid_search_over_n_bits_in_parallel():
    X, y = load_iris(return_X_y=True)
    grid = {"n_bits": [4, 8, 12]}
    search = GridSearchCV(_fast(max_iter=10), grid, cv=3, n_jobs=2).fit(X, y)
    # the worker processes score every candidate exactly as this process does
    serial = GridSearchCV(_fast(max_iter=10), grid, cv=3, n_jobs=1).fit(X, y)
    for key in ("params", "mean_test_score", "split0_test_score", "split2_test_score"):
        assert list(search.cv_results_[key]) == list(serial.cv_results_[key]), key
    assert search.best_score_ > 0.85
    refit = _fast(max_iter=10, **search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.best_estimator_.coef_, refit.coef_)


def test_grid_search_with_exact_sampler_keeps_strings_and_params():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 1))
    y = np.where(X[:, 0] > 0, "pos", "neg")
    base = QUBOCNNClassifier(
        features="passthrough",
        sampler="exact",
        sampler_params={"polish": True},
        max_iter=3,
        random_state=0,
    )
    search = GridSearchCV(base, {"n_bits": [2, 4]}, cv=2).fit(X, y)
    best = search.best_estimator_
    assert best.sampler == "exact" and best.sampler_params == {"polish": True}
    assert best.solver_info_["sampler"] == "exact"
    assert search.best_score_ > 0.9


@pytest.mark.slow
def test_digits_accuracy_regression():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    clf = QUBOCNNClassifier(n_bits=10, max_iter=30, random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) >= 0.97
    _levels_ok(clf, 10)


def test_grid_search_reaches_the_qpu_through_strings(monkeypatch):
    # A live DWaveSampler cannot be deep-copied by clone; the string "qpu" plus sampler_params
    # can, and every clone builds its own (mocked, Pegasus) QPU client inside fit.
    from dwave.system.testing import MockDWaveSampler

    configs = []

    class Mock(MockDWaveSampler):
        def __init__(self, **config):
            configs.append(config)
            super().__init__(topology_type="pegasus", topology_shape=[4], parameter_warnings=False)

    monkeypatch.setattr("dwave.system.samplers.clique.DWaveSampler", Mock)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    params = {"token": "DEV-test", "num_reads": 10}
    base = QUBOCNNClassifier(
        features="passthrough", sampler="qpu", sampler_params=params, max_iter=2, random_state=0
    )
    search = GridSearchCV(base, {"n_bits": [2, 3]}, cv=2).fit(X, y)
    best = search.best_estimator_
    assert best.sampler == "qpu" and best.sampler_params == params
    assert best.sampler_params is not params  # cloned, not shared
    assert len(configs) >= 5  # one client per fit: 2 widths x 2 folds + the refit
    assert all(c.get("token") == "DEV-test" for c in configs)
    info = best.solver_info_
    assert info["sampler"] == "qpu"
    assert np.all(info["qpu_access_time"][info["n_solves"] > 0] > 0)
    assert search.best_score_ > 0.8
