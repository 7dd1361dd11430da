"""Tests of QUBOCNNClassifier: estimator checks, the MM guarantees, answer keys, real data."""

import itertools
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from quboclf import QUBOCNNClassifier, RandomConvFeatures, _qubo
from quboclf._classifier import (
    _gram,
    _loss_grad,
    _refine_beta_range,
    _solvers_by_scale,
)

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


# The default features are convolutions over square images: the estimator checks feed tabular
# rows of 2, 3, 5 or 10 features, which RandomConvFeatures rightly refuses ("Cannot infer the
# image shape ..."). These checks run on the passthrough estimator instead.
_NOT_IMAGES = "the check's X is not a stack of square images (RandomConvFeatures refuses it)"
_DEFAULT_FEATURES_FAILS = [
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_decision_proba_consistency",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_pipeline_consistency",
    "check_readonly_memmap_input",
    "check_supervised_y_2d",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_n_iter",
    "check_transformer_preserve_dtypes",
]


def _expected_failed(estimator):
    if estimator.features == "passthrough":
        return {}
    return dict.fromkeys(_DEFAULT_FEATURES_FAILS, _NOT_IMAGES)


@parametrize_with_checks(
    [_fast(), QUBOCNNClassifier(max_iter=5, n_bits=6, sampler_params=FAST, random_state=0)],
    expected_failed_checks=_expected_failed,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


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


@pytest.mark.parametrize("batch_size", [None, 1, 7, 100])
def test_gram_is_chunk_independent(batch_size):
    Z = np.random.default_rng(0).normal(size=(23, 3))
    A = np.hstack([Z, np.ones((23, 1))])
    np.testing.assert_allclose(_gram(Z, batch_size), A.T @ A / 23, rtol=1e-12, atol=1e-14)


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
    H = (0.25 if k == 1 else 0.5) * _gram(Z, None) + np.diag(reg)
    loss, G = _loss_grad(Z, y, W, reg, None)
    new_loss, _ = _loss_grad(Z, y, W + D, reg, None)
    bound = loss + np.sum(G * D) + 0.5 * np.einsum("ic,ij,jc->", D, H, D)
    assert new_loss <= bound + 1e-12 * max(1.0, abs(bound))


def test_refine_beta_range():
    H = np.diag([1.0, 4.0, 0.0])
    delta = np.array([0.5, 0.5, 0.5])
    hot, cold = _refine_beta_range(H, delta)
    c = np.array([0.125, 0.5])
    assert hot == pytest.approx(np.log(2) / np.median(c))
    assert cold == pytest.approx(np.log(100) / 0.125)
    assert _refine_beta_range(np.zeros((2, 2)), np.ones(2)) == (1.0, 1.0)


def test_sa_schedule_follows_the_curvature_scale_unless_given():
    H, R = np.diag([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 2.0])
    delta = _qubo.grid_step(R, 4)
    solver_for = _solvers_by_scale("sa", {"num_reads": 1}, None, H, R, 4)
    assert solver_for(1.0).params["beta_range"] == _refine_beta_range(H, delta)
    assert solver_for(4.0).params["beta_range"] == _refine_beta_range(H / 4.0, delta)
    assert solver_for(4.0) is solver_for(4.0)
    given = _solvers_by_scale("sa", {"beta_range": (1.0, 2.0)}, "solver", H, R, 4)
    assert given(4.0) == "solver"
    assert _solvers_by_scale("exact", {}, "solver", H, R, 4)(2.0) == "solver"


# ------------------------------------------------------------------------ the MM guarantees


@pytest.mark.parametrize(
    ("weight_range", "init"), [("auto", "auto"), ("auto", "zeros"), (1.0, "auto")]
)
@pytest.mark.parametrize("accelerate", [True, False])
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("n_bits", [3, 8])
def test_loss_never_increases_and_weights_lie_on_the_grid(
    accelerate, classes, n_bits, weight_range, init
):
    X, y = _data(seed=classes, classes=classes)
    clf = _fast(
        n_bits=n_bits, accelerate=accelerate, max_iter=25, weight_range=weight_range, init=init
    ).fit(X, y)
    curve = clf.loss_curve_
    assert curve.shape == (clf.n_iter_ + 1,)
    assert np.all(np.diff(curve) <= 0.0)
    # zero weights give log(2) (one logistic output) or log(C) (softmax)
    if weight_range != "auto" or init == "zeros":  # starts from zero weights
        assert curve[0] == pytest.approx(np.log(classes))
        if init == "zeros" and n_bits == 3:
            # the auto grid's step (R/4) is longer than the majoriser's step from zero, so MM
            # cannot leave zero: a known limit of coarse grids, reported by ``moved``
            assert curve[-1] <= curve[0]
        else:
            assert curve[-1] < np.log(classes) - 0.05
    else:  # starts from the rounded continuous fit, already well below zero weights' loss
        assert curve[0] < np.log(classes) - 0.05
    R = clf.weight_range_
    W = np.vstack([clf.coef_.T, clf.intercept_])
    levels = _qubo.encode(W, R[:, None], n_bits)
    np.testing.assert_array_equal(_qubo.decode(levels, R[:, None], n_bits), W)
    assert np.all((levels >= 0) & (levels < 2**n_bits))
    # the loss curve is the true training loss of the fitted weights
    Z = clf.transform(X)
    y_idx = np.searchsorted(clf.classes_, y)
    reg = np.r_[np.full(X.shape[1], clf.alpha), 0.0]
    assert _loss_grad(Z, y_idx, W, reg, None)[0] == pytest.approx(curve[-1], rel=1e-10)


def test_given_weight_range_float_and_array():
    X, y = _data()
    clf = _fast(weight_range=0.75, n_bits=4).fit(X, y)
    np.testing.assert_array_equal(clf.weight_range_, np.full(X.shape[1] + 1, 0.75))
    assert np.all(np.abs(clf.coef_) <= 0.75)
    R = np.linspace(0.5, 1.5, X.shape[1] + 1)
    clf = _fast(weight_range=R, n_bits=4).fit(X, y)
    np.testing.assert_array_equal(clf.weight_range_, R)
    assert np.all(np.abs(clf.coef_) <= R[:-1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"weight_range": [1.0, 2.0]}, r"shape \(n_features \+ 1,\)"),
        ({"weight_range": [1.0, 0.0, 1.0, 1.0, 1.0, 1.0]}, "positive"),
        ({"sampler": "nope"}, "nope"),
        ({"sampler_params": {"num_sweeps": -1}}, "num_sweeps"),
        ({"n_bits": 0}, "n_bits"),
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


def test_one_mm_step_with_exact_solver_is_the_brute_force_minimum():
    # binary, one feature: 2 weights x 3 bits = 6 QUBO bits, brute force over 64 states
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 1))
    y = (X[:, 0] + 0.5 * rng.normal(size=40) > 0.2).astype(int)
    R, K, alpha = 2.0, 3, 0.01
    clf = QUBOCNNClassifier(
        features="passthrough",
        n_bits=K,
        weight_range=R,
        alpha=alpha,
        max_iter=1,
        accelerate=False,
        sampler="exact",
    ).fit(X, y)
    reg = np.array([alpha, 0.0])
    H = 0.25 * _gram(X, None) + np.diag(reg)
    _, g = _loss_grad(X, y, np.zeros((2, 1)), reg, None)
    grid = _qubo.decode(np.arange(2**K), R, K)
    best = min(
        itertools.product(grid, grid),
        key=lambda w: g[:, 0] @ np.array(w) + 0.5 * np.array(w) @ H @ np.array(w),
    )
    np.testing.assert_allclose([clf.coef_[0, 0], clf.intercept_[0]], best)
    assert clf.solver_info_["sampler"] == "exact"


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
    assert info["accelerated"].shape == info["scale"].shape == (clf.n_iter_,)
    assert np.all(np.isnan(info["qpu_access_time"]))
    assert np.all(info["n_solves"] >= 1)
    assert set(info["timing"]) == {
        "features",
        "weight_range",
        "gram",
        "passes",
        "solves",
        "other",
        "total",
    }
    assert info["timing"]["total"] >= info["timing"]["solves"] > 0


def test_convergence_warning_and_early_stop():
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        _fast(max_iter=1).fit(X, y)
    clf = _fast(max_iter=500, tol=1e-2).fit(X, y)
    assert clf.n_iter_ < 500


def test_reproducible_across_n_jobs_and_pickling():
    X, y = load_iris(return_X_y=True)
    a = _fast(n_jobs=1, random_state=3).fit(X, y)
    b = _fast(n_jobs=2, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    c = pickle.loads(pickle.dumps(clone(a))).fit(X, y)
    np.testing.assert_array_equal(a.coef_, c.coef_)
    d = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict_proba(X), d.predict_proba(X))


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
    search = GridSearchCV(_fast(max_iter=10), {"n_bits": [4, 8, 12]}, cv=3, n_jobs=2)
    search.fit(X, y)
    assert search.best_params_["n_bits"] in (4, 8, 12)
    assert search.best_score_ > 0.85


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
    assert clf.score(X_te, y_te) >= 0.95
    W = np.vstack([clf.coef_.T, clf.intercept_])
    R = clf.weight_range_
    np.testing.assert_array_equal(_qubo.decode(_qubo.encode(W, R[:, None], 10), R[:, None], 10), W)


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
