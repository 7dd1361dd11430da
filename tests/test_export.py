"""QUBO export (to_dimod, ExportedQUBO, QUBOCNNClassifier.get_qubos), sample and class weights,
warm start, feature names, and the BLAS thread setting."""

import json
import subprocess
import sys
import textwrap
import warnings

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.utils.class_weight import compute_class_weight

import quboclf
from quboclf import (
    CarryAnnealingSampler,
    ExportedQUBO,
    QuadraticProblem,
    QUBOCNNClassifier,
    to_dimod,
)
from quboclf._qubo import levels_from_sample, objective

FAST = {"num_sweeps": 2}

# the tests' fits are short on purpose; the warning's own test uses pytest.warns
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _clf(**kwargs):
    params = {
        "features": "passthrough",
        "n_bits": 2,
        "max_iter": 5,
        "sampler_params": FAST,
        "random_state": 0,
    }
    params.update(kwargs)
    return QUBOCNNClassifier(**params)


def _data(seed=0, n=60, d=3, classes=3):
    return make_classification(
        n_samples=n,
        n_features=d,
        n_informative=d,
        n_redundant=0,
        n_classes=classes,
        n_clusters_per_class=1,
        random_state=seed,
    )


def _close(a, b, scale=1.0):
    return abs(a - b) <= 1e-9 * max(scale, abs(a), abs(b))


def _scale(problem):
    """Size of the objective's terms: its value is computed as a sum of terms this large."""
    w = problem.offset + problem.delta * problem.upper
    H, h = np.abs(problem.H), np.abs(problem.h)
    return 1.0 + float(h @ np.abs(w) + 0.5 * np.abs(w) @ H @ np.abs(w)) + float(
        h @ np.abs(problem.offset) + 0.5 * np.abs(problem.offset) @ H @ np.abs(problem.offset)
    )


# ------------------------------------------------------------------------------ to_dimod


@st.composite
def _problems(draw):
    n = draw(st.integers(1, 3))
    K = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    H = A @ A.T
    lower = np.zeros(n, dtype=np.int64)
    upper = np.full(n, 2**K - 1, dtype=np.int64)
    fix = rng.random(n) < 0.3
    lower[fix] = upper[fix] = rng.integers(0, 2**K, size=int(fix.sum()))
    return QuadraticProblem(
        H,
        rng.normal(size=n),
        rng.uniform(0.1, 2.0, size=n),
        rng.normal(size=n),
        K,
        lower=lower,
        upper=upper,
    )


@settings(max_examples=40, deadline=None)
@given(_problems())
def test_to_dimod_binary_energy_is_objective(problem):
    # every sample of the exact solver, not only the best: energy == objective of its levels
    names = [f"x{j}" for j in range(problem.n_variables)]
    bqm = to_dimod(problem, names=names)
    assert all(str(v).startswith("w[x") for v in bqm.variables)
    if bqm.num_variables == 0:  # every variable fixed: the offset is the whole objective
        assert _close(float(bqm.offset), float(objective(problem, problem.lower)))
        assert np.array_equal(levels_from_sample(problem, {}, names=names), problem.lower)
        return
    sampleset = dimod.ExactSolver().sample(bqm)
    for sample, energy in sampleset.data(["sample", "energy"]):
        m = levels_from_sample(problem, sample, names=names)
        assert _close(float(energy), float(objective(problem, m)))
    best = sampleset.first
    everything = np.array(
        np.meshgrid(*[np.arange(lo, hi + 1) for lo, hi in zip(problem.lower, problem.upper)])
    ).reshape(problem.n_variables, -1).T
    assert _close(float(best.energy), float(objective(problem, everything).min()))


@settings(max_examples=40, deadline=None)
@given(_problems(), st.integers(0, 2**31 - 1))
def test_to_dimod_integer_energy_is_objective(problem, seed):
    qm = to_dimod(problem, kind="integer")
    for j in range(problem.n_variables):
        v = f"w[{j}]"
        assert qm.vartype(v) is dimod.INTEGER
        assert (qm.lower_bound(v), qm.upper_bound(v)) == (problem.lower[j], problem.upper[j])
    rng = np.random.default_rng(seed)
    m = rng.integers(problem.lower, problem.upper + 1)
    sample = {f"w[{j}]": int(m[j]) for j in range(problem.n_variables)}
    assert _close(float(qm.energy(sample)), float(objective(problem, m)))
    assert np.array_equal(levels_from_sample(problem, sample), m)


def test_to_dimod_refuses_bad_arguments():
    p = QuadraticProblem(np.eye(2), 0.0, 1.0, 0.0, n_bits=2, lower=[1, 0], upper=[2, 3])
    with pytest.raises(ValueError, match="partial level bounds"):
        to_dimod(p)
    assert to_dimod(p, kind="integer").lower_bound("w[0]") == 1
    with pytest.raises(ValueError, match="kind"):
        to_dimod(p, kind="spin")
    with pytest.raises(ValueError, match="one name per variable"):
        to_dimod(p, names=["a"], kind="integer")
    with pytest.raises(ValueError, match="no value for 'w\\[0,0\\]'"):
        levels_from_sample(p, {"w[1,0]": 1})


# ------------------------------------------------------------------------------ get_qubos


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("bias_bits", [None, 2])
def test_get_qubos_round_trip(classes, bias_bits):
    X, y = _data(classes=classes)
    clf = _clf(bias_bits=bias_bits).fit(X, y)
    qubos = clf.get_qubos(X, y)
    expected = clf.classes_[1:] if classes == 2 else clf.classes_
    assert list(qubos) == list(expected)
    names = [0, 1, 2] + (["bias"] if bias_bits == 2 else [])
    for qubo in qubos.values():
        assert isinstance(qubo, ExportedQUBO)
        scale = _scale(qubo.problem)
        assert qubo.names == names
        assert set(qubo.bqm.variables) == {f"w[{j},{k}]" for j in names for k in range(2)}
        # exact solver on the binary form
        best = dimod.ExactSolver().sample(qubo.bqm).first
        assert _close(float(best.energy), qubo.objective(best.sample), scale)
        # the package's annealer on the integer form
        answer = CarryAnnealingSampler().sample_qm(qubo.qm, num_reads=3, seed=0)
        for sample, energy in answer.data(["sample", "energy"]):
            assert _close(float(energy), qubo.objective(sample), scale)
        # both reach the optimum of this small problem
        assert _close(float(answer.first.energy), float(best.energy), scale)
        w = qubo.weights(best.sample)
        p = qubo.problem
        assert_allclose(w, p.offset + p.delta * qubo.decode(best.sample))


def test_get_qubos_are_the_next_sweeps_problems(monkeypatch):
    X, y = _data()
    clf = _clf(max_iter=3).fit(X, y)
    qubos = clf.get_qubos(X, y)

    recorded = []
    original = QUBOCNNClassifier._solve_many

    def spy(self, *args, **kwargs):
        solve = original(self, *args, **kwargs)

        def recording(problems, initials, it, classes):
            recorded.append((list(problems), list(initials), list(classes)))
            return solve(problems, initials, it, classes)

        return recording

    monkeypatch.setattr(QUBOCNNClassifier, "_solve_many", spy)
    clf.set_params(warm_start=True, max_iter=1).fit(X, y)
    problems, initials, classes = recorded[0]
    assert classes == [0, 1, 2]
    for qubo, p, m in zip(qubos.values(), problems, initials):
        for name in ("H", "h", "delta", "offset", "lower", "upper"):
            assert np.array_equal(getattr(qubo.problem, name), getattr(p, name)), name
        assert qubo.problem.n_bits == p.n_bits
        assert np.array_equal(qubo.initial, m)


def test_get_qubos_checks_input():
    X, y = _data()
    clf = _clf()
    with pytest.raises(Exception, match="not fitted"):
        clf.get_qubos(X, y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="not fitted on"):
        clf.get_qubos(X, y + 5)


# ------------------------------------------------------------------------------ sample weights


def test_sample_weight_is_duplication():
    X, y = _data(n=50)
    sw = np.ones(len(y))
    sw[[3, 17]] = 2.0
    weighted = _clf(n_bits=4, max_iter=10, start_tol=1e-10).fit(X, y, sample_weight=sw)
    X_dup = np.vstack([X, X[[3, 17]]])
    y_dup = np.concatenate([y, y[[3, 17]]])
    repeated = _clf(n_bits=4, max_iter=10, start_tol=1e-10).fit(X_dup, y_dup)
    # the same model up to rounding: the features are float32, so the two losses differ by
    # about 1e-8 (rows summed in another order) and the continuous fit (L-BFGS, stopped by its
    # relative loss change) stops a few iterations apart (28 vs 31 here). Its weights, and the
    # scales derived from them, then agree to 2e-5 relative, the losses to 4e-6; the K-bit codes
    # are equal.
    assert np.array_equal(weighted.coef_levels_, repeated.coef_levels_)
    assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-4)
    # the eliminated 16-bit biases are rounded after each step, on scales 2e-5 apart: within
    # two steps (2 * scale) of their grid
    step = 2 * weighted.intercept_scale_
    assert_allclose(weighted.intercept_, repeated.intercept_, rtol=0, atol=2 * step)
    assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-5)
    assert np.array_equal(weighted.predict(X), repeated.predict(X))
    # and the weights matter
    unweighted = _clf(n_bits=4, max_iter=10).fit(X, y)
    assert not np.allclose(unweighted.coef_, weighted.coef_)
    zero = np.ones(len(y))
    zero[y == 0] = 1e-3
    assert np.mean(_clf(n_bits=4).fit(X, y, sample_weight=zero).predict(X) == 0) < np.mean(
        unweighted.predict(X) == 0
    )


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 3.0, 2: 0.5}])
def test_class_weight_is_sample_weight(class_weight):
    X, y = _data(n=70)
    keep = np.flatnonzero((y != 0) | (np.arange(len(y)) % 3 == 0))  # unbalanced
    X, y = X[keep], y[keep]
    cw = compute_class_weight(class_weight, classes=np.unique(y), y=y)
    by_class = _clf(class_weight=class_weight).fit(X, y)
    by_sample = _clf().fit(X, y, sample_weight=cw[y])
    assert_allclose(by_class.coef_, by_sample.coef_)
    assert_allclose(by_class.loss_curve_, by_sample.loss_curve_)
    assert not np.allclose(_clf().fit(X, y).coef_, by_class.coef_)


def test_sample_weight_reaches_the_qubos():
    X, y = _data()
    clf = _clf().fit(X, y)
    sw = np.linspace(0.5, 2.0, len(y))
    a, b = clf.get_qubos(X, y), clf.get_qubos(X, y, sample_weight=sw)
    assert not np.allclose(a[0].problem.H, b[0].problem.H)
    assert not np.allclose(a[0].problem.h, b[0].problem.h)


# ------------------------------------------------------------------------------ warm start


def test_warm_start_continues_the_loss_curve():
    X, y = _data(n=80, d=4)
    # (at 6 bits the start with its scales refitted to its codes is stuck: no max_iter warning)
    clf = _clf(n_bits=3, max_iter=2, tol=0.0)
    with pytest.warns(ConvergenceWarning, match="warm_start=True"):
        clf.fit(X, y)
    first = clf.loss_curve_.copy()
    features, scales = clf.features_, clf.coef_scale_.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(warm_start=True, max_iter=4).fit(X, y)
    second = clf.loss_curve_
    assert second[0] == first[-1]  # resumed where it stopped, not refitted
    assert second[-1] < first[-1]  # and went further down
    assert np.all(np.diff(second) <= 0)
    assert clf.features_ is features
    assert np.array_equal(clf.coef_scale_, scales)
    # a cold refit starts again from the rounding
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(warm_start=False).fit(X, y)
    assert clf.loss_curve_[0] == first[0]


def test_warm_start_refuses_other_classes():
    X, y = _data()
    clf = _clf(warm_start=True).fit(X, y)
    coef = clf.coef_
    with pytest.raises(ValueError, match="warm_start=True resumes a fit with classes"):
        clf.fit(X, np.where(y == 2, 7, y))
    assert clf.coef_ is coef  # unchanged
    with pytest.raises(ValueError, match="resumes a head of 3 features"):
        clf.fit(X[:, :2], y)


# ------------------------------------------------------------------------------ feature names


def test_pipeline_set_output_pandas():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    pipe = Pipeline([("clf", _clf())]).set_output(transform="pandas")
    out = pipe.fit(frame, y).transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["a", "b", "c"]
    images = np.random.default_rng(0).random((30, 8, 8))
    clf = QUBOCNNClassifier(n_bits=2, max_iter=2, sampler_params=FAST, random_state=0)
    clf.set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        Z = clf.fit(images.reshape(30, -1), np.arange(30) % 2).transform(images.reshape(30, -1))
    assert list(Z.columns) == list(clf.features_.get_feature_names_out())
    assert Z.shape[1] == clf.coef_.shape[1]


# ------------------------------------------------------------------------------ BLAS threads


_THREADS_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin
    from threadpoolctl import threadpool_info
    import quboclf

    seen = []

    def blas():
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    class Spy(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            seen.append(blas())
            return self
        def transform(self, X):
            return X

    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.arange(40) % 2

    def fit():
        quboclf.QUBOCNNClassifier(features=Spy(), n_bits=2, max_iter=1, random_state=0).fit(X, y)

    out = {"before": blas()}
    fit()
    out["default"] = seen[-1]
    quboclf.set_config(blas_threads=2)
    fit()
    out["two"] = seen[-1]
    with quboclf.config_context(blas_threads="unlimited"):
        fit()
        out["unlimited"] = seen[-1]
    with quboclf.config_context(blas_threads=1):
        fit()
        out["context_one"] = seen[-1]
    out["after"] = blas()
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_blas_threads_setting_in_a_subprocess():
    # started with one thread: the setting must raise the count, not only lower it
    env = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    import os

    result = subprocess.run(
        [sys.executable, "-c", _THREADS_SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
        timeout=300,
    )
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if not out["before"]:
        pytest.skip("threadpoolctl finds no BLAS library")
    assert set(out["before"]) == {1}
    assert set(out["default"]) == {1}
    assert set(out["two"]) == {2}
    assert set(out["unlimited"]) == {1}  # as the environment set it
    assert set(out["context_one"]) == {1}
    assert set(out["after"]) == {1}  # restored after every fit


def test_set_config_checks_its_value():
    with pytest.raises(ValueError, match="blas_threads must be a positive int"):
        quboclf.set_config(blas_threads=0)
    assert quboclf.get_config() == {"blas_threads": 1}


def test_coef_is_exactly_scale_times_code():
    # a kept step writes the new column itself, not W + (new - W), which can be one bit off and
    # then shows as an extra distinct value in a row (here: 6 values in a row of 2-bit codes)
    # (the data of examples/plot_bit_width_training.py, where it happened)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X, _, y, _ = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    Z = quboclf.RandomConvFeatures(n_filters=12, random_state=0).fit(X).transform(X)
    clf = QUBOCNNClassifier(features="passthrough", n_bits=2, random_state=0).fit(Z, y)
    assert clf.solver_info_["moved"].any()
    codes = 2 * clf.coef_levels_ - 3
    assert np.array_equal(clf.coef_, clf.coef_scale_[:, None] * codes)
    assert all(np.unique(row).size <= 4 for row in clf.coef_)


def test_default_features_warm_start_and_export():
    # the extractor's features are recomputed (not refitted) for a resumed fit and the export
    images = np.random.default_rng(0).random((40, 64))
    y = np.arange(40) % 3
    clf = QUBOCNNClassifier(n_bits=2, max_iter=2, sampler_params=FAST, random_state=0)
    clf.fit(images, y)
    features, last = clf.features_, clf.loss_curve_[-1]
    qubos = clf.get_qubos(images, y)
    assert list(qubos) == [0, 1, 2]
    assert qubos[0].problem.n_variables == clf.coef_.shape[1]
    clf.set_params(warm_start=True).fit(images, y)
    assert clf.features_ is features
    # the extractor's transform recomputes the features the fit streamed: equal up to float32
    # rounding (2e-8 relative in the loss here)
    assert_allclose(clf.loss_curve_[0], last, rtol=1e-6)
