"""Tests of QUBOQuantizer and the per-layer rounding functions behind it."""

import copy
import warnings

import numpy as np
import pytest
from conftest import layer_objective, quantize_nearest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_digits, load_iris, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import (
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
    SGDClassifier,
)
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from quboclf import QUBOQuantizer
from quboclf._ptq import layer_rounding, neighbourhood_box, qubo_round, round_nearest
from quboclf._quantizer import _SAMPLER_DEFAULTS, _neuron_problems, _sampler_solve, _warm_beta_range
from quboclf._qubo import objective
from quboclf._rounding import choose_scale, integer_dtype, integer_grid
from quboclf._samplers import make_solver

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# scikit-learn's estimator checks, determinism across n_jobs and pickling: tests/test_common.py


# -- the mathematics of the rounding QUBOs ------------------------------------------------------


def test_integer_grid_and_dtype():
    assert integer_grid(8) == (-127, 127, 1)
    assert integer_grid(3) == (-3, 3, 1)
    assert integer_grid(2) == (-1, 1, 1)
    assert integer_grid(1) == (-1, 1, 2)
    for k in range(1, 9):
        qmin, qmax, _ = integer_grid(k)
        assert integer_dtype(qmin, qmax) == np.int8
    assert integer_dtype(-(2**15), 2**15 - 1) == np.int16
    with pytest.raises(ValueError, match="n_bits"):
        integer_grid(0)


def test_quantize_nearest_answer_key():
    v = np.array([0.24, 0.26, -0.74, -0.76, 10.0, -10.0])
    np.testing.assert_array_equal(quantize_nearest(v, 0.5, 3), [0, 1, -1, -2, 3, -3])
    np.testing.assert_array_equal(quantize_nearest(v, 0.5, 1), [1, 1, -1, -1, 1, -1])


def test_choose_scale():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 50))
    for k in (2, 3, 4, 8):
        s = choose_scale(W, k)
        qmax = integer_grid(k)[1]
        assert 0 < s <= np.abs(W).max() / qmax + 1e-15
        err = np.sum((W - s * quantize_nearest(W, s, k)) ** 2)
        s_max = np.abs(W).max() / qmax
        assert err <= np.sum((W - s_max * quantize_nearest(W, s_max, k)) ** 2) + 1e-12
    np.testing.assert_allclose(choose_scale(W, 1, per_channel=True), np.abs(W).mean(axis=1))
    assert choose_scale(W, 4, per_channel=True).shape == (6,)
    assert choose_scale(np.zeros((2, 3)), 4) == 1.0


def _random_layer(seed, n, f, N):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, f)) * rng.uniform(0.1, 2.0, f)
    W = rng.standard_normal((n, f)) * rng.uniform(0.1, 1.0)
    b = rng.standard_normal(n) * 0.3
    return X, W, b


def _layer_rounding(X, W, b, n_bits, per_channel=False, **kw):
    s_w = choose_scale(W, n_bits, per_channel=per_channel)
    s_b = choose_scale(b, n_bits)
    return s_w, s_b, layer_rounding(X, W, b, s_w, s_b, n_bits, **kw)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(1, 5),
    f=st.integers(1, 7),
    N=st.integers(1, 12),
    n_bits=st.integers(1, 8),
    per_channel=st.booleans(),
)
def test_neuron_objectives_sum_to_layer_objective(seed, n, f, N, n_bits, per_channel):
    X, W, b = _random_layer(seed, n, f, N)
    s_w, s_b, lr = _layer_rounding(X, W, b, n_bits, per_channel)
    # random positions within the floor/ceil box, on the grid
    lo, hi = neighbourhood_box(lr, 1)
    rng = np.random.default_rng(seed + 1)
    k = lo + rng.integers(0, 2, lo.shape) * (hi - lo)
    q = lr.integers(k)
    qmin, qmax, step = integer_grid(n_bits)
    assert q.min() >= qmin and q.max() <= qmax and np.all((q - qmin) % step == 0)
    W_hat = np.reshape(s_w, (-1, 1)) * q[:, :-1]
    b_hat = s_b * q[:, -1]
    direct = layer_objective(X, W, b, W_hat, b_hat)
    scale = 1.0 + direct
    assert abs(lr.objectives(k).sum() - direct) <= 1e-9 * scale
    # each neuron's QUBO, as get_qubos exports it and the samplers see it: its objective at
    # the levels k - lo is the neuron's share of the layer objective
    qubos = _neuron_problems(lr, k, 1, names=range(lr.G.shape[0]))
    per_neuron = [objective(qubo.problem, qubo.initial) for qubo in qubos]
    assert abs(sum(per_neuron) - direct) <= 1e-9 * scale
    # round_nearest is the grid's nearest point, as quantize_nearest computes it
    nearest_q = lr.integers(round_nearest(lr))
    np.testing.assert_array_equal(
        nearest_q[:, :-1], quantize_nearest(W, np.reshape(s_w, (-1, 1)), n_bits)
    )
    np.testing.assert_array_equal(nearest_q[:, -1], quantize_nearest(b, s_b, n_bits))


def test_shared_curvature_is_one_array():
    X, W, b = _random_layer(0, 4, 5, 20)
    _, _, lr = _layer_rounding(X, W, b, 4)
    qubos = _neuron_problems(lr, round_nearest(lr), 2, names=range(6))
    H = qubos[0].problem.H
    assert all(qubo.problem.H is H for qubo in qubos)
    A = np.hstack([X, np.ones((20, 1))])
    np.testing.assert_allclose(H, 2 * A.T @ A)


def test_fixed_variables_where_rounding_leaves_the_range():
    # Scale 0.1 at 2 bits (grid -1, 0, 1): values beyond ±0.1 clip, and their choice is forced.
    W = np.array([[0.25, -0.3, 0.05, 0.1]])
    lr = layer_rounding(np.eye(4), W, np.array([0.0]), 0.1, 0.1, 2)
    lo, hi = neighbourhood_box(lr, 1)
    np.testing.assert_array_equal(hi[0] > lo[0], [False, False, True, False, True])
    np.testing.assert_array_equal(lr.integers(round_nearest(lr))[0], [1, -1, 1, 1, 0])
    # a sampler's QUBO of this neuron keeps the bits of exactly the other values (one bit each)
    sampler = _RecordingSampler()
    k = round_nearest(lr)
    _sampler_solve(lr, make_solver(sampler), seeds=[0])(0, lo[0], hi[0], k[0])
    (variables,) = sampler.variables
    assert variables == [2, 4]


class _RecordingSampler:
    """A dimod sampler that solves exactly and records the variables of each BQM."""

    parameters: dict = {}
    properties: dict = {}

    def __init__(self):
        self.variables = []

    def sample(self, bqm, **kwargs):
        import dimod

        self.variables.append(sorted(bqm.variables))
        return dimod.ExactSolver().sample(bqm)


def test_no_bias_layer_keeps_zero_bias():
    X, W, _ = _random_layer(0, 3, 4, 10)
    lr = layer_rounding(X, W, np.zeros(3), 0.1, 1.0, 3, fit_bias=False)
    assert not lr.active[-1]
    k, _ = qubo_round(lr, solve=_sampler_solve(lr, make_solver("exact"), seeds=range(3)))
    assert np.all(lr.integers(k)[:, -1] == 0)
    with pytest.raises(ValueError, match="zero bias"):
        layer_rounding(X, W, np.ones(3), 0.1, 1.0, 3, fit_bias=False)


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sa_finds_the_exact_optimum_on_small_layers(n_bits, seed):
    # The quantizer's SA schedule on the floor/ceil QUBO of each neuron (12 values at most)
    # reaches the exact sampler's optimum from round-to-nearest.
    X, W, b = _random_layer(seed, 6, 11, 30)
    _, _, lr = _layer_rounding(X, W, b, n_bits)
    lo, hi = neighbourhood_box(lr, 1)
    near = round_nearest(lr)
    # the quantizer's own defaults and schedule for a generic "sa" solver
    sa_solver = make_solver("sa", defaults=_SAMPLER_DEFAULTS, schedule=_warm_beta_range)
    sa = _sampler_solve(lr, sa_solver, seeds=range(6))
    exact = _sampler_solve(lr, make_solver("exact"), seeds=range(6))
    k_sa = np.array([sa(l, lo[l], hi[l], near[l]) for l in range(6)])
    k_exact = np.array([exact(l, lo[l], hi[l], near[l]) for l in range(6)])
    assert np.all((lo <= k_exact) & (k_exact <= hi))
    np.testing.assert_allclose(lr.objectives(k_sa), lr.objectives(k_exact), rtol=1e-9,
                               atol=1e-12)
    assert np.all(lr.objectives(k_exact) <= lr.objectives(near) + 1e-12)
    # and it is the optimum over the box: what qubo_round proves by branch and bound
    k_proven, proven = qubo_round(lr, neighbourhood=1)
    assert proven.all()
    np.testing.assert_allclose(lr.objectives(k_exact), lr.objectives(k_proven), rtol=1e-9,
                               atol=1e-12)


def test_qubo_round_keeps_its_answer_when_the_sampler_is_worse():
    X, W, b = _random_layer(3, 4, 6, 20)
    lr = layer_rounding(X, W, b, 0.2, 0.2, 3)
    alone, _ = qubo_round(lr)
    asked = []

    def worst(l, lo, hi, k):  # everything up: not better than the proven optimum
        asked.append(l)
        return hi.copy()

    k, _ = qubo_round(lr, solve=worst)
    assert asked == [0, 1, 2, 3]
    np.testing.assert_array_equal(k, alone)

    def bad(l, lo, hi, k):
        return np.full_like(k, lr.n_levels)

    with pytest.raises(RuntimeError, match="outside neuron 0's bounds"):
        qubo_round(lr, solve=bad)


# -- the estimator ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def digits_mlp(digits):
    Xtr, _, ytr, _ = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier((32,), max_iter=300, random_state=0).fit(Xtr, ytr)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 1000), n_bits=st.integers(1, 8),
       granularity=st.sampled_from(["per-tensor", "per-channel"]))
def test_qubo_never_worse_than_nearest(seed, n_bits, granularity):
    X, y = make_classification(60, 6, n_informative=4, n_classes=3, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((7, 5), max_iter=60, random_state=seed).fit(X, y)
    q = QUBOQuantizer(mlp, n_bits=n_bits, granularity=granularity, random_state=seed).fit(X, y)
    for layer in q.layers_:
        assert layer.error_qubo <= layer.error_nearest


def test_prefit_estimator_is_untouched(digits, digits_mlp):
    Xtr, Xte, ytr, _ = digits
    before = copy.deepcopy(digits_mlp.coefs_)
    q = QUBOQuantizer(digits_mlp, n_bits=3, random_state=0).fit(Xtr, ytr)
    assert q.estimator_ is digits_mlp
    for a, b in zip(before, digits_mlp.coefs_):
        np.testing.assert_array_equal(a, b)
    assert q.quantized_estimator_ is not digits_mlp
    assert not np.array_equal(q.predict_proba(Xte), digits_mlp.predict_proba(Xte))
    with pytest.raises(ValueError, match="prefit MLPClassifier was fitted on 64"):
        q.fit(Xtr[:, :10], ytr)


def test_layers_export(digits, digits_mlp):
    Xtr, Xte, ytr, _ = digits
    for n_bits in (1, 2, 4, 8):
        q = QUBOQuantizer(digits_mlp, n_bits=n_bits, n_calibration=300, random_state=0)
        q.fit(Xtr, ytr)
        assert [layer.name for layer in q.layers_] == ["hidden_0", "output"]
        assert [layer.activation for layer in q.layers_] == ["relu", "identity"]
        qmin, qmax, step = integer_grid(n_bits)
        for layer, coef, intercept in zip(q.layers_, q.quantized_estimator_.coefs_,
                                          q.quantized_estimator_.intercepts_):
            assert layer.weight_int.dtype == np.int8 and layer.bias_int.dtype == np.int8
            for ints in (layer.weight_int, layer.bias_int):
                assert ints.min() >= qmin and ints.max() <= qmax
                assert np.all((ints.astype(int) - qmin) % step == 0)
            assert layer.weight_zero_point == 0 and layer.bias_zero_point == 0
            np.testing.assert_array_equal(coef, layer.weight.T)
            np.testing.assert_array_equal(intercept, layer.bias)
            assert 0 <= layer.error_qubo <= layer.error_nearest
        if n_bits == 1:
            assert set(np.unique(q.layers_[0].weight_int)) == {-1, 1}
    # Quantized predictions are the dequantized network's.
    h = np.maximum(Xte @ q.layers_[0].weight.T + q.layers_[0].bias, 0)
    logits = h @ q.layers_[1].weight.T + q.layers_[1].bias
    np.testing.assert_array_equal(q.predict(Xte), q.classes_[logits.argmax(axis=1)])


def test_per_channel_scales(digits, digits_mlp):
    Xtr, _, ytr, _ = digits
    q = QUBOQuantizer(digits_mlp, n_bits=4, granularity="per-channel", random_state=0)
    q.fit(Xtr, ytr)
    assert q.layers_[0].weight_scale.shape == (32,)
    assert isinstance(q.layers_[0].bias_scale, float)


def test_propagate_float_uses_float_activations(digits, digits_mlp):
    Xtr, _, ytr, _ = digits
    q = QUBOQuantizer(digits_mlp, n_bits=3, propagate="float", rounding="nearest",
                      n_calibration=None).fit(Xtr, ytr)
    W0, b0 = digits_mlp.coefs_[0].T, digits_mlp.intercepts_[0]
    H = np.maximum(Xtr @ W0.T + b0, 0)
    W1, b1 = digits_mlp.coefs_[1].T, digits_mlp.intercepts_[1]
    layer = q.layers_[1]
    expected = layer_objective(H, W1, b1, layer.weight, layer.bias)
    assert layer.error_nearest == pytest.approx(expected, rel=1e-9)
    assert layer.error_qubo is None
    qq = QUBOQuantizer(digits_mlp, n_bits=3, rounding="nearest", n_calibration=None)
    qq.fit(Xtr, ytr)
    assert qq.layers_[1].error_nearest != pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "estimator, task",
    [
        (MLPClassifier((6,), activation="tanh", max_iter=100, random_state=0), "multiclass"),
        (MLPClassifier((6, 4), activation="logistic", max_iter=100, random_state=0), "binary"),
        (MLPRegressor(hidden_layer_sizes=(6,), activation="identity", max_iter=200,
                      random_state=0), "multioutput"),
        (LogisticRegression(max_iter=500), "binary"),
        (LogisticRegression(max_iter=500), "multiclass"),
        (RidgeClassifier(), "multiclass"),
        (SGDClassifier(random_state=0), "multiclass"),
        (Ridge(), "regression"),
        (LinearRegression(fit_intercept=False), "regression"),
        (make_pipeline(StandardScaler(), LogisticRegression()), "multiclass"),
    ],
    ids=lambda p: p if isinstance(p, str) else type(p).__name__,
)
def test_wrapped_types(estimator, task):
    if task in ("binary", "multiclass"):
        X, y = make_classification(120, 8, n_informative=5, random_state=0,
                                   n_classes=2 if task == "binary" else 3)
    else:
        X, y = make_regression(120, 8, n_targets=2 if task == "multioutput" else 1,
                               random_state=0, noise=0.1)
    for rounding in ("nearest", "qubo"):
        q = QUBOQuantizer(estimator, n_bits=4, rounding=rounding, random_state=0).fit(X, y)
        float_est = q.estimator_
        assert is_classifier(q) == is_classifier(float_est)
        assert is_regressor(q) == is_regressor(float_est)
        pred = q.predict(X)
        assert pred.shape == float_est.predict(X).shape
        Z = q.transform(X)
        assert Z.ndim == 2 and Z.shape[0] == len(X)
        if is_classifier(q):
            np.testing.assert_array_equal(q.classes_, float_est.classes_)
        assert q.score(X, y) >= float_est.score(X, y) - 0.1
    final = q.quantized_estimator_
    final = final[-1] if hasattr(final, "steps") else final
    if hasattr(final, "coef_"):
        layer = q.layers_[0]
        assert np.shape(final.coef_) == np.shape(float_est[-1].coef_ if hasattr(
            float_est, "steps") else float_est.coef_)
        np.testing.assert_array_equal(np.reshape(final.coef_, layer.weight.shape), layer.weight)
        if not getattr(final, "fit_intercept", True):
            assert final.intercept_ == 0.0 and np.all(layer.bias_int == 0)


def test_qubocnn_head():
    from quboclf import QUBOCNNClassifier

    X, y = load_iris(return_X_y=True)
    clf = QUBOCNNClassifier(features="passthrough", n_bits=8, random_state=0).fit(X, y)
    q = QUBOQuantizer(clf, n_bits=3, random_state=0).fit(X, y)
    assert q.estimator_ is clf
    assert q.layers_[0].weight_int.shape == clf.coef_.shape
    np.testing.assert_array_equal(q.quantized_estimator_.coef_, q.layers_[0].weight)
    assert q.layers_[0].error_qubo <= q.layers_[0].error_nearest
    assert q.score(X, y) > 0.8


def test_unsupported_estimator():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(TypeError, match="KNeighborsClassifier, which has no coef_"):
        QUBOQuantizer(KNeighborsClassifier()).fit(X, y)


def test_bad_parameters():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(InvalidParameterError, match="n_bits"):
        QUBOQuantizer(LogisticRegression(), n_bits=9).fit(X, y)
    with pytest.raises(InvalidParameterError, match="rounding"):
        QUBOQuantizer(LogisticRegression(), rounding="floor").fit(X, y)
    with pytest.raises(ValueError, match="unknown sampler_params key 'reads'"):
        QUBOQuantizer(LogisticRegression(), sampler_params={"reads": 3}).fit(X, y)


def test_frozen_estimator_survives_cloning(digits, digits_mlp):
    from sklearn.frozen import FrozenEstimator

    Xtr, Xte, ytr, _ = digits
    q = clone(QUBOQuantizer(FrozenEstimator(digits_mlp), n_bits=3, random_state=0))
    q.fit(Xtr[:200], ytr[:200])
    assert q.estimator_.estimator is digits_mlp  # not refitted on the 200 rows
    direct = QUBOQuantizer(digits_mlp, n_bits=3, random_state=0).fit(Xtr[:200], ytr[:200])
    np.testing.assert_array_equal(q.predict(Xte), direct.predict(Xte))


def test_pipeline_and_grid_search(digits):
    Xtr, Xte, ytr, yte = digits
    pipe = make_pipeline(
        StandardScaler(),
        QUBOQuantizer(LogisticRegression(max_iter=300), n_bits=3, random_state=0),
        LogisticRegression(max_iter=300),
    )
    assert pipe.fit(Xtr, ytr).score(Xte, yte) > 0.85
    search = GridSearchCV(
        QUBOQuantizer(LogisticRegression(max_iter=300), random_state=0),
        {"n_bits": [1, 2], "rounding": ["nearest", "qubo"]},
        cv=3,
    ).fit(Xtr, ytr)
    results = {(p["n_bits"], p["rounding"]): s for p, s in zip(
        search.cv_results_["params"], search.cv_results_["mean_test_score"])}
    assert sorted(results) == [(1, "nearest"), (1, "qubo"), (2, "nearest"), (2, "qubo")]
    # at 1 and 2 bits the QUBO rounding recovers accuracy round-to-nearest loses
    for n_bits in (1, 2):
        assert results[n_bits, "qubo"] > results[n_bits, "nearest"]
    assert search.best_params_["rounding"] == "qubo"
    # the refitted best model is the model a direct fit with those parameters gives
    direct = QUBOQuantizer(LogisticRegression(max_iter=300), random_state=0,
                           **search.best_params_).fit(Xtr, ytr)
    np.testing.assert_array_equal(search.best_estimator_.layers_[0].weight_int,
                                  direct.layers_[0].weight_int)


def test_other_sampler_and_verbose(capsys):
    X, y = load_iris(return_X_y=True)
    q = QUBOQuantizer(LogisticRegression(max_iter=500), n_bits=2, sampler="exact", verbose=True)
    q.fit(X, y)
    assert "layer 0 (linear, 3x4, int2)" in capsys.readouterr().out
    sa = QUBOQuantizer(LogisticRegression(max_iter=500), n_bits=2, random_state=0).fit(X, y)
    assert sa.layers_[0].error_qubo == pytest.approx(q.layers_[0].error_qubo, rel=1e-9)


def test_digits_accuracy_regression(digits, digits_mlp):
    """QUBO rounding recovers most of what round-to-nearest loses at 2 and 1 bits."""
    Xtr, Xte, ytr, yte = digits
    float_acc = digits_mlp.score(Xte, yte)
    acc = {}
    for n_bits in (8, 2, 1):
        for rounding in ("nearest", "qubo"):
            q = QUBOQuantizer(digits_mlp, n_bits=n_bits, rounding=rounding, random_state=0)
            acc[n_bits, rounding] = q.fit(Xtr, ytr).score(Xte, yte)
    assert abs(acc[8, "nearest"] - float_acc) <= 0.005
    assert abs(acc[8, "qubo"] - float_acc) <= 0.005
    for n_bits in (2, 1):
        lost = float_acc - acc[n_bits, "nearest"]
        assert acc[n_bits, "qubo"] - acc[n_bits, "nearest"] >= 0.5 * lost


def test_sample_weight_reaches_the_wrapped_estimator():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    y = y[:300].astype(float)
    w = np.where(y > 4, 5.0, 1.0)
    plain = QUBOQuantizer(Ridge(), n_bits=6, random_state=0).fit(X, y)
    weighted = QUBOQuantizer(Ridge(), n_bits=6, random_state=0).fit(X, y, sample_weight=w)
    reference = Ridge().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(weighted.estimator_.coef_, reference.coef_)
    assert not np.allclose(weighted.estimator_.coef_, plain.estimator_.coef_)
    # through a Pipeline: the last step gets the weights
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    piped = QUBOQuantizer(make_pipeline(StandardScaler(), Ridge()), n_bits=6, random_state=0)
    piped.fit(X, y, sample_weight=w)
    ref = make_pipeline(StandardScaler(), Ridge()).fit(X, y, ridge__sample_weight=w)
    np.testing.assert_allclose(piped.estimator_[-1].coef_, ref[-1].coef_)


def test_sample_weight_errors():
    from sklearn.linear_model import Lars

    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16.0, y[:200].astype(float)
    w = np.ones(len(y))
    prefit = Ridge().fit(X, y)
    with pytest.raises(ValueError, match="already fitted"):
        QUBOQuantizer(prefit).fit(X, y, sample_weight=w)
    with pytest.raises(TypeError, match="does not accept sample_weight"):
        QUBOQuantizer(Lars()).fit(X, y, sample_weight=w)
    with pytest.raises(ValueError, match="sample_weight"):
        QUBOQuantizer(Ridge()).fit(X, y, sample_weight=w[:10])
