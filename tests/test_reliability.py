"""Bad inputs, failing samplers, and the "a failed fit changes nothing" guarantee.

One table per public estimator (and the dataset loaders): each row is an estimator factory, a
bad input or parameter, the exception type, and a regex the message must match, so that every
error names the problem and, where there is one, the fix.
"""

import os
import re
import sys
import tempfile
import warnings

import dimod
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from quboclf import QUBOCNNClassifier, QUBOQuantizer, RandomConvFeatures, _samplers
from quboclf import datasets as qds
from quboclf._qubo import MAX_BITS
from quboclf._samplers import QPUAccessError

# ---------------------------------------------------------------------------------------------
# tiny data and estimators

X, Y = make_classification(
    n_samples=40, n_features=4, n_informative=3, n_redundant=0, random_state=0
)
X16, _ = make_classification(n_samples=30, n_features=16, random_state=0)
X25, Y25 = make_classification(n_samples=40, n_features=25, n_informative=5, random_state=0)
X12, Y12 = make_classification(n_samples=40, n_features=12, n_informative=5, random_state=0)
X40, Y40 = make_classification(n_samples=40, n_features=40, n_informative=5, random_state=0)
X3, Y3 = make_classification(
    n_samples=45, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
)

SA_FAST = {"num_reads": 1, "num_sweeps": 20}


def clf(**params):
    base = {
        "features": "passthrough",
        "n_bits": 3,
        "max_iter": 3,
        "sampler_params": SA_FAST,
        "random_state": 0,
    }
    return QUBOCNNClassifier(**{**base, **params})


def quant(estimator=None, **params):
    base = {"n_bits": 3, "sampler_params": {"num_sweeps": 20}, "random_state": 0}
    return QUBOQuantizer(estimator or LogisticRegression(), **{**base, **params})


def feats(**params):
    base = {"n_filters": 2, "kernel_size": 3, "pool_grid": 2, "random_state": 0}
    return RandomConvFeatures(**{**base, **params})


def with_cell(X, value):
    X = np.array(X, dtype=object if isinstance(value, str) else np.float64)
    X[0, 0] = value
    return X


class FlakySampler:
    """A dimod-like sampler that answers ``n_ok`` calls exactly, then loses its connection."""

    def __init__(self, n_ok):
        self.n_ok = n_ok
        self.calls = 0
        self.parameters = {}
        self.properties = {}

    def sample(self, bqm, **kwargs):
        self.calls += 1
        if self.calls > self.n_ok:
            raise RuntimeError(f"sampler lost its connection on call {self.calls}")
        return dimod.ExactSolver().sample(bqm)


# ---------------------------------------------------------------------------------------------
# environments a row may need: (name, monkeypatch) -> None


def _no_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dwave.system", None)  # "import dwave.system" fails


def _no_token(monkeypatch):
    def build(config):  # what dwave-cloud-client's Client raises without a token
        raise ValueError("API token not defined")

    monkeypatch.setattr(_samplers, "_build_clique_sampler", build)
    monkeypatch.setattr(_samplers, "_build_hybrid_sampler", build)


def _mock_qpu(monkeypatch):
    """DWaveCliqueSampler over a Pegasus-4 MockDWaveSampler: cliques of at most 36 variables."""
    from dwave.system.testing import MockDWaveSampler

    class Mock(MockDWaveSampler):
        def __init__(self, **config):
            super().__init__(topology_type="pegasus", topology_shape=[4], parameter_warnings=False)

    monkeypatch.setattr("dwave.system.samplers.clique.DWaveSampler", Mock)


def _little_memory(monkeypatch):
    monkeypatch.setattr(_samplers, "_available_memory", lambda: 100)  # 100 bytes left


ENVIRONMENTS = {
    None: None,
    "no_extra": _no_extra,
    "no_token": _no_token,
    "mock_qpu": _mock_qpu,
    "little_memory": _little_memory,
}


class OddSampler:
    """A dimod-like sampler whose answers are wrong in one way (``how``)."""

    parameters: dict = {}
    properties: dict = {}

    def __init__(self, how):
        self.how = how

    def sample(self, bqm, **kwargs):
        if self.how == "dict":
            return {v: 0 for v in bqm.variables}
        if self.how == "missing":  # forgets the last variable
            variables = list(bqm.variables)[:-1]
            return dimod.SampleSet.from_samples(
                (np.zeros((1, len(variables)), np.int8), variables), "BINARY", energy=[0.0]
            )
        if self.how == "nan":
            n = len(bqm.variables)
            return dimod.SampleSet.from_samples(
                (np.zeros((1, n), np.int8), list(bqm.variables)), "BINARY", energy=[np.nan]
            )
        raise AssertionError(self.how)


NAN = "contains NaN"
INF = "contains infinity"
NOT_NUMERIC = r"(?s)non-numeric.*could not convert string to float: 'abc'.*(OneHotEncoder|numbers)"
ALL_STRINGS = (
    r"non-numeric values \((could not convert string to float: (np\.str_\()?'abc'"
    r"|an array of strings)"
)
ONE_D = r"(?s)Expected 2D array, got 1D array.*Reshape your data"
NO_ROWS = r"0 sample\(s\).*minimum of 1 is required"
NO_COLS = r"0 feature\(s\).*minimum of 1 is required"
NO_EXTRA = r'needs dwave-system.*pip install "quboclf\[qpu\]"'
NO_TOKEN = r"API token not defined.*dwave config create.*DWAVE_API_TOKEN"
LOST = "sampler lost its connection on call"
BQM_MEMORY = (
    r"sampler='{0}' needs about [\d.]+ GiB for this QUBO: it has \d+ free binary variables, "
    r"hence \d+ couplings, .*145 bytes per coupling; only 0\.0 GiB of memory are available\. "
    r"Use sampler='sa' .*fewer bits \(n_bits\) or fewer features"
)
NOT_SAMPLESET = (
    r"sampler 'OddSampler' returned a dict, not a dimod\.SampleSet: a sampler's "
    r"sample\(bqm, \*\*kwargs\) must return dimod\.SampleSet"
)
MISSING_VARS = r"sampler 'OddSampler' returned samples without 1 of the BQM's \d+ variables"
NAN_ENERGY = r"sampler 'OddSampler' returned non-finite energies \(\[nan\]\)"
HUGE = (
    r"X has values as large as \d\.\d+e\+15\d in absolute value; {0} sums squares .*overflows "
    r"float64.*Rescale X first"
)


def _no_columns(Z):
    return Z[:, :0]


def _sparse(Z):
    import scipy.sparse

    return scipy.sparse.csr_matrix(Z)


def with_features(func, **params):
    """A classifier whose features= is a FunctionTransformer applying ``func``."""
    from sklearn.preprocessing import FunctionTransformer

    return lambda: clf(features=FunctionTransformer(func), **params)


NO_FEATURES = r"feature extractor FunctionTransformer returned 0 features per sample"
SPARSE = (
    r"feature extractor FunctionTransformer returned a sparse csr_matrix of shape \(40, 4\); "
    r"the classifier needs dense features"
)


def categorical(X):
    """``X`` as a DataFrame with one more column: a pandas categorical of strings."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    df["colour"] = pd.Categorical(["red", "blue"] * (len(X) // 2) + ["red"] * (len(X) % 2))
    return df


CATEGORICAL = (
    r"(?s)X contains non-numeric values \(could not convert string to float: '(red|blue)'; "
    r"non-numeric DataFrame column\(s\): 'colour' \(category\)\).*OneHotEncoder"
)

# (id, factory, X, y, environment, exception, regex)
# fmt: off
CLASSIFIER_ROWS = [
    ("nan", clf, with_cell(X, np.nan), Y, None, ValueError, NAN),
    ("inf", clf, with_cell(X, np.inf), Y, None, ValueError, INF),
    ("1d", clf, X[:, 0], Y, None, ValueError, ONE_D),
    ("3d", clf, X.reshape(40, 2, 2), Y, None, ValueError, "dim 3, while dim <= 2 is required"),
    ("strings", clf, with_cell(X, "abc"), Y, None, ValueError, NOT_NUMERIC),
    ("all-strings", clf, np.full(X.shape, "abc"), Y, None, ValueError,
     ALL_STRINGS),
    ("strings-images", lambda: clf(features=None), with_cell(X16, "abc"), Y[:30], None,
     ValueError, NOT_NUMERIC),
    ("no-rows", clf, X[:0], Y[:0], None, ValueError, NO_ROWS),
    ("no-features", clf, X[:, :0], Y, None, ValueError, NO_COLS),
    ("one-class", clf, X, np.zeros(40), None, ValueError,
     r"at least 2 classes.*only one class: np\.float64\(0\.0\)"),
    ("image-shape", lambda: clf(features=RandomConvFeatures(image_shape=(3, 5))), X16, Y[:30],
     None, ValueError, r"image_shape=\(3, 5\) has 15 pixel values but X has 16 features"),
    ("n_bits=0", lambda: clf(n_bits=0), X, Y, None, ValueError,
     r"'n_bits' parameter .* range \[1, 30\]. Got 0"),
    ("n_bits=31", lambda: clf(n_bits=31), X, Y, None, ValueError,
     r"'n_bits' parameter .* range \[1, 30\]. Got 31"),
    ("alpha<0", lambda: clf(alpha=-1.0), X, Y, None, ValueError, r"'alpha' parameter .*Got -1"),
    ("max_iter=0", lambda: clf(max_iter=0), X, Y, None, ValueError,
     r"'max_iter' parameter .* range \[1, inf\). Got 0"),
    ("tol<0", lambda: clf(tol=-1.0), X, Y, None, ValueError, r"'tol' parameter .*Got -1"),
    ("weight_range<0", lambda: clf(weight_range=-1.0), X, Y, None, ValueError,
     r"'weight_range' parameter .*Got -1"),
    ("weight_range-shape", lambda: clf(weight_range=[1.0, 2.0]), X, Y, None, ValueError,
     r"weight_range must be .* shape \(n_features \+ 1,\) = \(5,\).*got shape \(2,\)"),
    ("unknown-sampler", lambda: clf(sampler="bogus"), X, Y, None, ValueError,
     r"unknown sampler 'bogus'; use one of 'sa', .*dimod.Sampler"),
    ("not-a-sampler", lambda: clf(sampler=42), X, Y, None, ValueError,
     r"'sampler' parameter .*implementing 'sample'"),
    ("unknown-key", lambda: clf(sampler_params={"reads": 3}), X, Y, None, ValueError,
     r"unknown sampler_params key 'reads' .*valid keys: .*num_reads"),
    ("bad-num_reads", lambda: clf(sampler_params={"num_reads": 0}), X, Y, None, ValueError,
     r"sampler_params\['num_reads'\] .* must be a positive int, got 0"),
    ("exact-too-large", lambda: clf(sampler="exact", n_bits=6, sampler_params={}), X, Y, None,
     ValueError, r"more than 20 free binary variables; this one has 24.*n_bits.*'sa'"),
    ("qpu-no-extra", lambda: clf(sampler="qpu", sampler_params={}), X, Y, "no_extra",
     ImportError, NO_EXTRA),
    ("hybrid-no-extra", lambda: clf(sampler="hybrid", sampler_params={}), X, Y, "no_extra",
     ImportError, NO_EXTRA),
    ("qpu-no-token", lambda: clf(sampler="qpu", sampler_params={}), X, Y, "no_token",
     QPUAccessError, NO_TOKEN),
    ("hybrid-no-token", lambda: clf(sampler="hybrid", sampler_params={}), X, Y, "no_token",
     QPUAccessError, NO_TOKEN),
    ("qpu-too-large",  # refused only when decomposition is off (its default is "auto")
     lambda: clf(sampler="qpu", n_bits=4, sampler_params={"decompose": False}), X12, Y12,
     "mock_qpu", ValueError,
     r"48 free binary variables but the largest clique .* has 36.*n_bits.*'hybrid'"),
    ("sampler-fails-halfway",  # 3 classes: 3 solves per iteration, the third fails
     lambda: clf(sampler=FlakySampler(2), sampler_params={}), X3, Y3,
     None, RuntimeError, LOST),
    ("sa-dimod-too-large", lambda: clf(sampler="sa-dimod", sampler_params={}), X, Y,
     "little_memory", ValueError, BQM_MEMORY.format("sa-dimod")),
    ("tabu-too-large", lambda: clf(sampler="tabu", sampler_params={}), X, Y,
     "little_memory", ValueError, BQM_MEMORY.format("tabu")),
    ("not-a-sampleset", lambda: clf(sampler=OddSampler("dict"), sampler_params={}), X, Y,
     None, TypeError, NOT_SAMPLESET),
    ("missing-variables", lambda: clf(sampler=OddSampler("missing"), sampler_params={}), X,
     Y, None, ValueError, MISSING_VARS),
    ("nan-energy", lambda: clf(sampler=OddSampler("nan"), sampler_params={}), X, Y, None,
     ValueError, NAN_ENERGY),
    ("features-no-columns", with_features(_no_columns), X, Y, None, ValueError, NO_FEATURES),
    ("features-no-columns-disk", with_features(_no_columns, feature_cache="disk"), X, Y, None,
     ValueError, NO_FEATURES),
    ("features-sparse", with_features(_sparse), X, Y, None, TypeError, SPARSE),
    ("features-sparse-disk", with_features(_sparse, feature_cache="disk"), X, Y, None,
     TypeError, SPARSE),
    ("huge", clf, X * 1e155, Y, None, ValueError, HUGE.format("QUBOCNNClassifier")),
    ("huge-images", lambda: clf(features=None), X16 * 1e155, Y[:30], None, ValueError,
     HUGE.format("QUBOCNNClassifier")),
    ("categorical", clf, categorical(X), Y, None, ValueError, CATEGORICAL),
]

QUANTIZER_ROWS = [
    ("nan", quant, with_cell(X, np.nan), Y, None, ValueError, NAN),
    ("inf", quant, with_cell(X, np.inf), Y, None, ValueError, INF),
    ("1d", quant, X[:, 0], Y, None, ValueError, ONE_D),
    ("3d", quant, X.reshape(40, 2, 2), Y, None, ValueError,
     "dim 3, while dim <= 2 is required by LogisticRegression"),
    ("strings", quant, with_cell(X, "abc"), Y, None, ValueError, NOT_NUMERIC),
    ("all-strings", quant, np.full(X.shape, "abc"), Y, None, ValueError,
     ALL_STRINGS),
    ("no-rows", quant, X[:0], Y[:0], None, ValueError, NO_ROWS),
    ("no-features", quant, X[:, :0], Y, None, ValueError, NO_COLS),
    ("one-class", quant, X, np.zeros(40), None, ValueError, "at least 2 classes"),
    ("prefit-other-width", lambda: quant(estimator=LogisticRegression().fit(X12, Y12)), X, Y,
     None, ValueError, r"X has 4 features, but the prefit LogisticRegression was fitted on 12"),
    ("not-quantizable", lambda: quant(estimator=_NoWeights()), X, Y, None, TypeError,
     r"quantizes MLPClassifier.*got _NoWeights, which has no coef_ and intercept_"),
    ("n_bits=0", lambda: quant(n_bits=0), X, Y, None, ValueError,
     r"'n_bits' parameter .* range \[1, 8\]. Got 0"),
    ("n_bits=31", lambda: quant(n_bits=31), X, Y, None, ValueError,
     r"'n_bits' parameter .* range \[1, 8\]. Got 31"),
    ("granularity", lambda: quant(granularity="bogus"), X, Y, None, ValueError,
     r"'granularity' parameter .*'per-(channel|tensor)'.*Got 'bogus'"),
    ("rounding", lambda: quant(rounding="bogus"), X, Y, None, ValueError,
     r"'rounding' parameter .*Got 'bogus'"),
    ("n_calibration=0", lambda: quant(n_calibration=0), X, Y, None, ValueError,
     r"'n_calibration' parameter .*Got 0"),
    ("unknown-sampler", lambda: quant(sampler="bogus"), X, Y, None, ValueError,
     r"'sampler' parameter .*'sa'.*implementing 'sample'. Got 'bogus'"),
    ("unknown-key", lambda: quant(sampler_params={"reads": 3}), X, Y, None, ValueError,
     r"unknown sampler_params key 'reads' .*valid keys: .*num_reads"),
    ("exact-too-large", lambda: quant(sampler="exact", sampler_params={}), X25, Y25, None,
     ValueError, r"more than 20 free binary variables; this one has 2\d.*n_bits.*'sa'"),
    ("qpu-no-extra", lambda: quant(sampler="qpu", sampler_params={}), X, Y, "no_extra",
     ImportError, NO_EXTRA),
    ("qpu-no-token", lambda: quant(sampler="qpu", sampler_params={}), X, Y, "no_token",
     QPUAccessError, NO_TOKEN),
    ("hybrid-no-token", lambda: quant(sampler="hybrid", sampler_params={}), X, Y, "no_token",
     QPUAccessError, NO_TOKEN),
    ("qpu-too-large", lambda: quant(sampler="qpu", sampler_params={"decompose": False}), X40,
     Y40, "mock_qpu", ValueError, r"\d\d free binary variables but the largest clique .* has 36"),
    ("sampler-fails-halfway", lambda: quant(sampler=FlakySampler(2), sampler_params={}), X12,
     np.arange(40) % 3, None, RuntimeError, LOST),
    ("sa-dimod-too-large", lambda: quant(sampler="sa-dimod"), X, Y, "little_memory",
     ValueError, BQM_MEMORY.format("sa-dimod")),
    ("tabu-too-large", lambda: quant(sampler="tabu", sampler_params={}), X, Y,
     "little_memory", ValueError, BQM_MEMORY.format("tabu")),
    ("not-a-sampleset", lambda: quant(sampler=OddSampler("dict"), sampler_params={}), X, Y,
     None, TypeError, NOT_SAMPLESET),
    ("missing-variables", lambda: quant(sampler=OddSampler("missing"), sampler_params={}), X,
     Y, None, ValueError, MISSING_VARS),
    ("nan-energy", lambda: quant(sampler=OddSampler("nan"), sampler_params={}), X, Y, None,
     ValueError, NAN_ENERGY),
    ("huge", quant, X * 1e155, Y, None, ValueError, HUGE.format("QUBOQuantizer")),
]

FEATURES_ROWS = [
    ("nan", feats, with_cell(X16, np.nan), None, None, ValueError, NAN),
    ("inf", feats, with_cell(X16, np.inf), None, None, ValueError, INF),
    ("1d", feats, X16[:, 0], None, None, ValueError, ONE_D),
    ("5d", feats, X16.reshape(30, 2, 2, 2, 2), None, None, ValueError,
     r"X must be 2-D flat rows .* or 4-D \(n_samples, H, W, C\) images; got a 5-D array"),
    ("strings", feats, with_cell(X16, "abc"), None, None, ValueError, NOT_NUMERIC),
    ("all-strings", feats, np.full(X16.shape, "abc"), None, None, ValueError,
     ALL_STRINGS),
    ("strings-images", feats, with_cell(X16, "abc").reshape(30, 4, 4), None, None, ValueError,
     NOT_NUMERIC),
    ("no-rows", feats, X16[:0], None, None, ValueError, NO_ROWS),
    ("no-features", feats, X16[:, :0], None, None, ValueError, NO_COLS),
    ("not-square", feats, X16[:, :15], None, None, ValueError,
     r"Cannot infer the image shape from 15 features.*Pass image_shape=\(H, W\)"),
    ("image-shape", lambda: feats(image_shape=(3, 5)), X16, None, None, ValueError,
     r"image_shape=\(3, 5\) has 15 pixel values but X has 16 features.*image_shape=None"),
    ("image-shape-stack", lambda: feats(image_shape=(2, 8)), X16.reshape(30, 4, 4), None, None,
     ValueError, r"image_shape=\(2, 8\) does not match the images in X, of shape \(4, 4\)"),
    ("image-shape-bad", lambda: feats(image_shape=(4, 0)), X16, None, None, ValueError,
     r"image_shape must be None or a tuple \(H, W\) or \(H, W, C\) of positive ints"),
    ("kernel-too-large", lambda: feats(kernel_size=5, padding="valid"), X16, None, None,
     ValueError, r"kernel_size=\(5, 5\) is larger than the images \(4, 4\).*padding='same'"),
    ("kernel_size=0", lambda: feats(kernel_size=0), X16, None, None, ValueError,
     r"'kernel_size' parameter .*Got 0"),
    ("kernel-triple", lambda: feats(kernel_size=(3, 3, 3)), X16, None, None, ValueError,
     r"kernel_size must be a positive int or a pair of positive ints"),
    ("n_filters=0", lambda: feats(n_filters=0), X16, None, None, ValueError,
     r"'n_filters' parameter .*Got 0"),
    ("padding", lambda: feats(padding="bogus"), X16, None, None, ValueError,
     r"'padding' parameter .*'(same|valid)'.*Got 'bogus'"),
    ("huge", feats, X16 * 1e155, None, None, ValueError, HUGE.format("RandomConvFeatures")),
    ("huge-1e152", feats, X16 * 1e152, None, None, ValueError,
     HUGE.format("RandomConvFeatures")),
]
# fmt: on


class _NoWeights(LogisticRegression):
    """A fitted classifier without coef_/intercept_ (QUBOQuantizer cannot quantize it)."""

    def fit(self, X, y):
        super().fit(X, y)
        del self.coef_, self.intercept_
        return self


ALL_ROWS = (
    [("QUBOCNNClassifier", *row) for row in CLASSIFIER_ROWS]
    + [("QUBOQuantizer", *row) for row in QUANTIZER_ROWS]
    + [("RandomConvFeatures", *row) for row in FEATURES_ROWS]
)
IDS = [f"{est}-{row[0]}" for est, *row in ALL_ROWS]


def fitted_state(est):
    """The estimator's attributes (parameters and fitted ones alike), for comparison."""
    return dict(vars(est))


def fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning with max_iter=3
        return est.fit(X) if isinstance(est, RandomConvFeatures) else est.fit(X, y)


@pytest.mark.parametrize(
    ("estimator", "name", "factory", "X", "y", "env", "exc", "match"), ALL_ROWS, ids=IDS
)
def test_bad_input_unfitted(estimator, name, factory, X, y, env, exc, match, monkeypatch):
    """Each bad input gives its error, and the estimator stays exactly as constructed."""
    if ENVIRONMENTS[env] is not None:
        ENVIRONMENTS[env](monkeypatch)
    est = factory()
    before = fitted_state(est)
    with pytest.raises(exc, match=match):
        fit(est, X, y)
    assert fitted_state(est) == before, "a failed fit left attributes behind"
    assert not [key for key in vars(est) if key.endswith("_") and not key.startswith("_")]
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


GOOD = {
    "QUBOCNNClassifier": (clf, X, Y),
    "QUBOQuantizer": (quant, X, Y),
    "RandomConvFeatures": (feats, X16, None),
}


def _predictions(est, X):
    return est.transform(X) if isinstance(est, RandomConvFeatures) else est.predict(X)


def _model(est):
    """Every attribute that is not a constructor parameter: the fitted model and private state."""
    params = est.get_params(deep=False)
    return {key: value for key, value in vars(est).items() if key not in params}


@pytest.mark.parametrize(
    ("estimator", "name", "factory", "X", "y", "env", "exc", "match"), ALL_ROWS, ids=IDS
)
def test_bad_input_keeps_the_old_model(
    estimator, name, factory, X, y, env, exc, match, monkeypatch
):
    """A failed refit (bad data or, via set_params, bad parameters) keeps the old model."""
    good_factory, X_good, y_good = GOOD[estimator]
    est = fit(good_factory(), X_good, y_good)
    good_params = est.get_params(deep=False)
    before = _model(est)
    expected = _predictions(est, X_good)

    est.set_params(**factory().get_params(deep=False))
    if ENVIRONMENTS[env] is not None:
        ENVIRONMENTS[env](monkeypatch)
    with pytest.raises(exc, match=match):
        fit(est, X, y)
    after = _model(est)
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] is before[key], f"{key} changed in a failed fit"
    monkeypatch.undo()
    est.set_params(**good_params)
    np.testing.assert_array_equal(_predictions(est, X_good), expected)


@pytest.mark.parametrize(
    ("make", "X", "y"),
    [
        (lambda s: clf(sampler=s, sampler_params={}), X3, Y3),  # one QUBO per class
        (lambda s: quant(sampler=s, sampler_params={}), X12, np.arange(40) % 3),  # per neuron
    ],
    ids=["QUBOCNNClassifier", "QUBOQuantizer"],
)
def test_halfway_failure_really_is_halfway(make, X, y):
    """The flaky sampler answers twice before failing: the fit had started solving."""
    sampler = FlakySampler(2)
    with pytest.raises(RuntimeError, match=LOST):
        fit(make(sampler), X, y)
    assert sampler.calls == 3


def test_huge_chunk_does_not_spoil_a_fitted_transformer():
    """partial_fit with a chunk whose feature variance overflows: an error, the model kept."""
    est = feats().fit(X16)
    before = _model(est)
    expected = est.transform(X16)
    with pytest.raises(ValueError, match=r"pixel values as large as .*variance over the images "
                       r"overflows float64.*Rescale X first"):
        est.partial_fit(X16[:5] * 1e155)
    after = _model(est)
    assert all(after[key] is before[key] for key in before)
    np.testing.assert_array_equal(est.transform(X16), expected)
    assert est.n_samples_seen_ == 30


@pytest.mark.parametrize(
    ("make", "X", "y"),
    [
        (lambda rng: clf(random_state=rng, sampler=FlakySampler(2), sampler_params={}), X3, Y3),
        (lambda rng: clf(features=None, random_state=rng, sampler=FlakySampler(0),
                         sampler_params={}), X16, Y[:30]),
        (lambda rng: quant(random_state=rng, sampler=FlakySampler(2), sampler_params={}), X12,
         np.arange(40) % 3),
        (lambda rng: feats(random_state=rng), X16 * 1e155, None),
    ],
    ids=["QUBOCNNClassifier", "QUBOCNNClassifier-features", "QUBOQuantizer",
         "RandomConvFeatures"],
)
def test_failed_fit_leaves_the_random_state_unconsumed(make, X, y):
    """A failed fit rewinds a RandomState it was given: a retry equals a clean fit."""
    rng = np.random.RandomState(0)
    with pytest.raises((RuntimeError, ValueError)):
        fit(make(rng), X, y)
    np.testing.assert_array_equal(rng.randint(2**31, size=8),
                                  np.random.RandomState(0).randint(2**31, size=8))


# ---------------------------------------------------------------------------------------------
# samplers: warm starts, reproducibility


@pytest.mark.parametrize("sampler", ["sa-dimod", "tabu"])
@pytest.mark.parametrize("make", [clf, quant], ids=["QUBOCNNClassifier", "QUBOQuantizer"])
def test_dimod_warm_start(make, sampler):
    """warm_start=True passes the current weights as int8 initial states (it used to crash)."""
    params = {"warm_start": True, "num_reads": 1}
    params.update({"num_sweeps": 20} if sampler == "sa-dimod" else {})
    est = fit(make(sampler=sampler, sampler_params=params), X3, Y3)
    assert est.score(X3, Y3) > 0.5


def test_dimod_warm_start_starts_there():
    """Started at the optimum and frozen cold, sa-dimod stays there: the warm start was used."""
    from quboclf._qubo import QuadraticProblem

    problem = QuadraticProblem(np.eye(3), np.array([1.0, -1.0, 0.5]), 0.5, -1.0, n_bits=2)
    best = _samplers.make_solver("exact").solve(problem)
    params = {"warm_start": True, "num_reads": 1, "num_sweeps": 1, "beta_range": (1e9, 1e9)}
    for seed in range(5):
        result = _samplers.make_solver("sa-dimod", params).solve(
            problem, initial=best.levels, seed=seed
        )
        np.testing.assert_array_equal(result.levels, best.levels)
        assert result.info["initial_energy"] == result.energy == best.energy


def test_tabu_is_reproducible_by_default(monkeypatch):
    """tabu runs without a wall-clock timeout and with the seed drawn from random_state."""
    from dwave.samplers import TabuSampler

    calls = []
    original = TabuSampler.sample

    def spy(self, bqm, **kwargs):
        calls.append(kwargs)
        return original(self, bqm, **kwargs)

    monkeypatch.setattr(TabuSampler, "sample", spy)
    a = fit(clf(sampler="tabu", sampler_params={}), X3, Y3)
    first = [dict(c) for c in calls]
    calls.clear()
    b = fit(clf(sampler="tabu", sampler_params={}), X3, Y3)
    assert first and all(c["timeout"] is None and isinstance(c["seed"], int) for c in first)
    assert [c["seed"] for c in calls] == [c["seed"] for c in first]
    np.testing.assert_array_equal(a.coef_, b.coef_)
    with pytest.raises(ValueError, match=r"'timeout'.*positive number of milliseconds .*None"):
        _samplers.check_sampler("tabu", {"timeout": 0})


# ---------------------------------------------------------------------------------------------
# dataset loaders


def test_load_idx_bad_files(tmp_path):
    not_idx = tmp_path / "x.idx"
    not_idx.write_bytes(b"hello world")
    with pytest.raises(qds.DataIntegrityError, match=r"is not an IDX file: bad magic number"):
        qds.load_idx(not_idx)
    with pytest.raises(FileNotFoundError, match="missing"):
        qds.load_idx(tmp_path / "missing")


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (
            {"download_if_missing": False},
            FileNotFoundError,
            r"(?s)MNIST: could not find 'train-images-idx3-ubyte'.*Searched",
        ),
        (
            {"subset": "bogus"},
            ValueError,
            r"'subset' parameter of fetch_mnist must be a str among .*Got 'bogus'",
        ),
    ],
)
def test_fetch_mnist_bad_calls(tmp_path, monkeypatch, kwargs, exc, match):
    monkeypatch.setenv("QUBOCLF_DATA", str(tmp_path))
    with pytest.raises(exc, match=match):
        qds.fetch_mnist(data_home=tmp_path, **kwargs)


# ---------------------------------------------------------------------------------------------
# command line
#
# Each row: argv ("{tmp}" is the test's folder, "{ro}" an unwritable one), the setup it needs,
# the exit status and a regex the stderr must match. Every row runs offline, with an empty data
# home, no system data folders and no D-Wave token, and fails before any training: features,
# model fits and the numba warm-up are replaced by functions that fail the test if reached.


def _idx_header(*shape):
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


def _idx(*shape, values=0):
    """A small valid IDX file of unsigned bytes."""
    return _idx_header(*shape) + np.broadcast_to(np.asarray(values, np.uint8), shape).tobytes()


def _data_file(relpath, content):
    def setup(tmp, monkeypatch):
        path = tmp / "data" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    return setup


def _a_file(tmp, monkeypatch):
    (tmp / "afile").write_text("not a folder")


def _data_env_is_a_file(tmp, monkeypatch):
    _a_file(tmp, monkeypatch)
    monkeypatch.setenv("QUBOCLF_DATA", str(tmp / "afile"))


def _token(tmp, monkeypatch):
    monkeypatch.setenv("DWAVE_API_TOKEN", "test-token-not-used")


CLI_SETUPS = {
    None: None,
    "no_extra": lambda tmp, mp: _no_extra(mp),
    "a_file": _a_file,
    "data_env_is_a_file": _data_env_is_a_file,
    "fashion_truncated": _data_file(
        "fashion-mnist/train-images-idx3-ubyte", _idx_header(60000, 28, 28) + bytes(100)
    ),
    "fashion_bad_gzip": _data_file(
        "fashion-mnist/train-images-idx3-ubyte.gz", b"\x1f\x8b" + b"not gzip data" * 8
    ),
    "fashion_wrong_file": _data_file("fashion-mnist/train-images-idx3-ubyte", _idx(2, 28, 28)),
    "mnist_not_idx": _data_file("mnist/train-images-idx3-ubyte", b"hello world"),
    "mnist_wrong_shape": _data_file("mnist/train-images-idx3-ubyte", _idx(2, 28, 28)),
    "mnist_bad_labels": _data_file(
        "mnist/train-labels-idx1-ubyte", _idx(60000, values=np.arange(60000) % 12)
    ),
    "emnist_bad_zip": _data_file("emnist/gzip.zip", b"PK not a zip archive"),
    "cifar_bad_tar": _data_file("cifar-10/cifar-10-python.tar.gz", b"not a tarball"),
}

B = ["bench"]
CLF = ["bench", "classifier", "--quiet", "--out", "{tmp}/out"]
QNT = ["bench", "quantizer", "--quiet", "--out", "{tmp}/out"]
DATA = ["--data-home", "{tmp}/data"]
USAGE = r"^usage: quboclf.*\n"
OUT_OF_RANGE = r"{0}: {1} is out of range: {2} must be an integer {3}; {4}"
MISSING = r"could not find .*To fix this:.*On the command line: "
DAMAGED = r"^quboclf: error: '{{tmp}}/data/{0}'.*{1}"
NO_QPU_TOKEN = (
    r"--sampler {0} needs access to D-Wave Leap, but no API token is configured: set the "
    r"DWAVE_API_TOKEN environment variable or run `dwave config create`"
)
MAX_WIDTH = QUBOQuantizer._parameter_constraints["n_bits"][0].right

# (id, argv, setup, exit status, regex)
# fmt: off
CLI_ROWS = [
    # commands and options
    ("no-command", [], None, 2, USAGE + r"quboclf: error: .*required: \{bench,info\}"),
    ("unknown-command", ["train"], None, 2,
     r"invalid choice: 'train' \(choose from 'bench', 'info'\)"),
    ("no-study", B, None, 2, r"quboclf bench: error: .*required: \{classifier,quantizer\}"),
    ("unknown-study", [*B, "svm"], None, 2,
     r"invalid choice: 'svm' \(choose from 'classifier', 'quantizer'\)"),
    ("unknown-option", [*CLF, "--bitz", "4"], None, 2,
     r"^usage: quboclf bench classifier .*\[--bits K \[K \.\.\.\]\].*quboclf bench "
     r"classifier: error: unrecognized arguments: --bitz 4 \(`quboclf bench classifier --help` "
     r"lists the options\)$"),
    ("other-study-option", [*CLF, "--n-calibration", "8"], None, 2,
     r"classifier: error: unrecognized arguments: --n-calibration 8 \(`quboclf bench "
     r"classifier --help` lists the options\)"),
    ("bench-option-for-info", ["info", "--seeds", "0"], None, 2,
     r"quboclf info: error: unrecognized arguments: --seeds 0 \(`quboclf info --help` lists"),
    ("unknown-dataset", [*CLF, "--dataset", "imagenet"], None, 2,
     r"argument --dataset: invalid choice: 'imagenet' \(choose from 'digits', 'mnist', "),
    # bit precisions and widths
    ("bits-none", [*CLF, "--bits"], None, 2, r"argument --bits: expected at least one argument"),
    ("bits=0", [*CLF, "--bits", "0"], None, 2,
     OUT_OF_RANGE.format("--bits", 0, "the QUBO head's bit precision n_bits",
                         rf"from 1 to {MAX_BITS}", r"e\.g\. --bits 4 8 12 16 20")),
    (f"bits={MAX_BITS + 1}", [*CLF, "--bits", "8", str(MAX_BITS + 1)], None, 2,
     OUT_OF_RANGE.format("--bits", MAX_BITS + 1, "the QUBO head's bit precision n_bits",
                         rf"from 1 to {MAX_BITS}", r"e\.g\. --bits 4 8 12 16 20")),
    ("bits=abc", [*CLF, "--bits", "abc"], None, 2,
     r"argument --bits: 'abc' is not an integer: .*n_bits must be an integer from 1 to"),
    ("bits=2.5", [*CLF, "--bits", "2.5"], None, 2, r"argument --bits: '2\.5' is not an integer"),
    ("bits-repeated", [*CLF, "--bits", "4", "8", "4"], None, 2,
     r"argument --bits: 4 is given more than once; list each value once, e\.g\. --bits 4 8$"),
    ("width=0", [*QNT, "--bits", "0"], None, 2,
     OUT_OF_RANGE.format("--bits", 0, "the quantizer's bit width n_bits",
                         rf"from 1 to {MAX_WIDTH}", r"e\.g\. --bits 8 6 4 3 2 1")),
    (f"width={MAX_WIDTH + 1}", [*QNT, "--bits", str(MAX_WIDTH + 1)], None, 2,
     OUT_OF_RANGE.format("--bits", MAX_WIDTH + 1, "the quantizer's bit width n_bits",
                         rf"from 1 to {MAX_WIDTH}", r"e\.g\. --bits 8 6 4 3 2 1")),
    ("width=-1", [*QNT, "--bits", "-1"], None, 2, r"argument --bits: -1 is out of range"),
    # seeds, sizes and counts
    ("seed=-1", [*CLF, "--seeds", "-1"], None, 2,
     OUT_OF_RANGE.format("--seeds", -1, "a seed", "from 0 to 4294967295",
                         r"e\.g\. --seeds 0 1 2")),
    ("seed=2**32", [*QNT, "--seeds", "0", str(2**32)], None, 2,
     r"argument --seeds: 4294967296 is out of range: a seed must be an integer from 0 to"),
    ("seed=x", [*CLF, "--seeds", "x"], None, 2, r"argument --seeds: 'x' is not an integer"),
    ("seeds-repeated", [*QNT, "--seeds", "0", "1", "0"], None, 2,
     r"argument --seeds: 0 is given more than once; list each value once, e\.g\. --seeds 0 1"),
    ("subsample=0", [*CLF, "--subsample", "0"], None, 2,
     r"argument --subsample: 0 is out of range: --subsample must be an integer of at least 1; "
     r"leave it out to use every row"),
    ("subsample=-5", [*QNT, "--subsample", "-5"], None, 2,
     r"argument --subsample: -5 is out of range"),
    ("subsample=lots", [*CLF, "--subsample", "lots"], None, 2,
     r"argument --subsample: 'lots' is not an integer"),
    ("subsample<classes", [*CLF, "--subsample", "5", "--bits", "2"], None, 2,
     r"^quboclf: error: ValueError: subsample=5 is too small: .* each of the 10 classes; .*"
     r"--subsample 10 or more"),
    ("subsample<classes-quantizer", [*QNT, "--subsample", "9", "--bits", "2"], None, 2,
     r"subsample=9 is too small: .*--subsample 10 or more"),
    ("n-jobs=0", [*CLF, "--n-jobs", "0"], None, 2,
     r"argument --n-jobs: '0' is not a number of parallel jobs: give a positive count, -1 "),
    ("n-jobs=all", [*QNT, "--n-jobs", "all"], None, 2,
     r"argument --n-jobs: 'all' is not a number of parallel jobs"),
    ("max-iter=0", [*CLF, "--max-iter", "0"], None, 2,
     OUT_OF_RANGE.format("--max-iter", 0, "--max-iter", "of at least 1",
                         r"e\.g\. --max-iter 100 \(the default\)")),
    ("n-calibration=0", [*QNT, "--n-calibration", "0"], None, 2,
     OUT_OF_RANGE.format("--n-calibration", 0, "--n-calibration", "of at least 1",
                         r"e\.g\. --n-calibration 1024 \(the default\)")),
    # samplers
    ("sampler=bogus", [*CLF, "--sampler", "bogus"], None, 2,
     r"argument --sampler: unknown sampler 'bogus'; use one of sa, sa-dimod, tabu, qpu, hybrid"),
    ("sampler=exact", [*QNT, "--sampler", "exact"], None, 2,
     r"argument --sampler: 'exact' .* more than 20 binary variables, .*use one of sa, "),
    ("qpu-no-extra", [*CLF, "--sampler", "qpu"], "no_extra", 1,
     "^quboclf: error: sampler='qpu' " + NO_EXTRA),
    ("hybrid-no-extra", [*QNT, "--sampler", "hybrid"], "no_extra", 1, NO_EXTRA),
    ("qpu-no-token", [*CLF, "--sampler", "qpu"], None, 1, NO_QPU_TOKEN.format("qpu")),
    ("hybrid-no-token", [*QNT, "--sampler", "hybrid"], None, 1, NO_QPU_TOKEN.format("hybrid")),
    # output folder
    ("out-is-a-file", [*CLF, "--out", "{tmp}/afile"], "a_file", 2,
     r"argument --out: '{tmp}/afile' is a file, not a folder: give --out a folder"),
    ("out-under-a-file", [*QNT, "--out", "{tmp}/afile/results"], "a_file", 2,
     r"argument --out: the folder '{tmp}/afile/results' cannot be created because "
     r"'{tmp}/afile' is a file; give --out another folder"),
    ("out-not-writable", [*CLF, "--out", "{ro}/results"], None, 2,
     r"argument --out: cannot write into '{ro}' \(.*\), so the results could not be saved in "
     r"'{ro}/results'; give --out a folder you can write to"),
    # data folder and data sets
    ("data-home-is-a-file", [*CLF, "--dataset", "mnist", "--data-home", "{tmp}/afile"],
     "a_file", 2, r"argument --data-home: '{tmp}/afile' is a file, not a folder"),
    ("data-home-under-a-file", [*QNT, "--data-home", "{tmp}/afile/data"], "a_file", 2,
     r"argument --data-home: the folder '{tmp}/afile/data' cannot be created because "
     r"'{tmp}/afile' is a file"),
    ("info-data-home-is-a-file", ["info", "--data-home", "{tmp}/afile"], "a_file", 2,
     r"quboclf info: error: argument --data-home: '{tmp}/afile' is a file, not a folder"),
    ("QUBOCLF_DATA-is-a-file", [*CLF, "--dataset", "kmnist"], "data_env_is_a_file", 1,
     r"^quboclf: error: the data folder '{tmp}/afile' \(from \$QUBOCLF_DATA\) is a file, not a "
     r"folder: point \$QUBOCLF_DATA or --data-home at a folder"),
    ("missing-no-download", [*CLF, "--dataset", "fashion-mnist", "--no-download"], None, 1,
     r"^quboclf: error: Fashion-MNIST: " + MISSING + r"leave out --no-download to download "
     r"it, or pass --data-home DIR"),
    ("missing-offline", [*QNT, "--dataset", "kmnist"], None, 1,
     r"^quboclf: error: Kuzushiji-MNIST: could not find .*Downloading failed:\n.*network "
     r"disabled by the test.*To fix this:.*On the command line: --data-home DIR chooses the "
     r"data folder\.$"),
    ("missing-data-home", [*CLF, "--dataset", "mnist", "--no-download", *DATA], None, 1,
     r"^quboclf: error: MNIST: could not find .*Searched .*\n  {tmp}/data/mnist/"
     r"train-images-idx3-ubyte\.gz\n.*Downloading was not attempted.*To fix this:.*On the "
     r"command line: leave out --no-download"),
    ("fashion-truncated", [*CLF, "--dataset", "fashion-mnist", *DATA], "fashion_truncated", 1,
     DAMAGED.format("fashion-mnist/train-images-idx3-ubyte",
                    r"truncated: .*shape \(60000, 28, 28\).*delete it and fetch it again\.$")),
    ("fashion-bad-gzip", [*QNT, "--dataset", "fashion-mnist", *DATA], "fashion_bad_gzip", 1,
     DAMAGED.format(r"fashion-mnist/train-images-idx3-ubyte\.gz",
                    r"is not a valid gzip stream .*delete it and fetch it again\.$")),
    ("fashion-wrong-file", [*CLF, "--dataset", "fashion-mnist", *DATA], "fashion_wrong_file", 1,
     DAMAGED.format("fashion-mnist/train-images-idx3-ubyte",
                    r"holds an array of shape \(2, 28, 28\).*Fashion-MNIST's "
                    r"'train-images-idx3-ubyte' has shape \(60000, 28, 28\).*Replace it with the "
                    r"official file\.$")),
    ("mnist-not-idx", [*CLF, "--dataset", "mnist", *DATA], "mnist_not_idx", 1,
     DAMAGED.format("mnist/train-images-idx3-ubyte",
                    r"is not an IDX file: bad magic number .* delete it and fetch it "
                    r"again\.$")),
    ("mnist-wrong-shape", [*QNT, "--dataset", "mnist", *DATA], "mnist_wrong_shape", 1,
     DAMAGED.format("mnist/train-images-idx3-ubyte",
                    r"holds an array of shape \(2, 28, 28\).*Replace it with the official "
                    r"file\.$")),
    ("mnist-bad-labels", [*CLF, "--dataset", "mnist", *DATA], "mnist_bad_labels", 1,
     DAMAGED.format("mnist/train-labels-idx1-ubyte",
                    r"holds labels from 0 to 11, but MNIST labels lie in \[0, 9\].* Delete or "
                    r"replace the damaged file, then run again\.$")),
    ("emnist-bad-zip", [*QNT, "--dataset", "emnist", *DATA], "emnist_bad_zip", 1,
     DAMAGED.format(r"emnist/gzip\.zip",
                    r"is not a readable zip archive .*delete it and fetch it again\.$")),
    ("cifar10-bad-tar", [*CLF, "--dataset", "cifar10", *DATA], "cifar_bad_tar", 1,
     DAMAGED.format(r"cifar-10/cifar-10-python\.tar\.gz",
                    r"is not a readable tar archive .*delete it and fetch it again\.$")),
]
# fmt: on


def _unwritable_folder(tmp):
    """A folder this process cannot write into (a read-only one; /sys when running as root)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if not os.path.isdir("/sys"):
            pytest.skip("running as root without /sys: no folder is unwritable")
        try:
            with tempfile.TemporaryFile(dir="/sys"):
                pass
        except OSError:
            return "/sys"
        pytest.skip("running as root and /sys is writable: no folder is unwritable")
    folder = tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return str(folder)


@pytest.fixture
def cli_env(no_data, monkeypatch):
    """Offline, no data anywhere, no D-Wave access, and no training allowed."""
    from quboclf import _kernels
    from quboclf.studies import _runs

    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    monkeypatch.setenv("DWAVE_CONFIG_FILE", os.devnull)

    def no_work(*args, **kwargs):
        raise AssertionError("a bad command line reached the computation")

    monkeypatch.setattr(_kernels, "warm_up", lambda: None)  # cheap, but may compile
    monkeypatch.setattr(_runs, "timed_fit", no_work)
    monkeypatch.setattr(RandomConvFeatures, "fit", no_work)
    monkeypatch.setattr(RandomConvFeatures, "_partial_fit_raw", no_work)
    return no_data


@pytest.mark.parametrize(
    ("argv", "setup", "status", "match"),
    [row[1:] for row in CLI_ROWS],
    ids=[row[0] for row in CLI_ROWS],
)
def test_command_line_bad_input(cli_env, monkeypatch, capsys, argv, setup, status, match):
    """Each bad command line exits with its status and a one-message error, before any work."""
    from quboclf.__main__ import main

    tmp = cli_env
    places = {"tmp": str(tmp)}
    if any("{ro}" in arg for arg in argv):
        places["ro"] = _unwritable_folder(tmp)
    if CLI_SETUPS[setup] is not None:
        CLI_SETUPS[setup](tmp, monkeypatch)
    argv = [arg.format(**places) for arg in argv]
    escaped = {key: re.escape(value) for key, value in places.items()}
    match = re.sub(r"\{(tmp|ro)\}", lambda m: escaped[m.group(1)], match)

    assert main(argv) == status
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert re.search(r"^quboclf( \w+)*: error: ", err, re.MULTILINE), err
    assert re.search(match, err.rstrip("\n"), re.MULTILINE | re.DOTALL), err
    assert not (tmp / "out").exists(), "a failed run wrote results"


def test_command_line_write_failure(cli_env, monkeypatch, capsys):
    """A folder that fails while the results are written (full disk): exit 1, no traceback."""
    import errno

    from quboclf.__main__ import main
    from quboclf.studies import _report, _runs

    common = {
        "dataset": "digits",
        "seed": 0,
        "d": 600,
        "n_classes": 10,
        "n_train": 100,
        "n_test": 100,
        "features_s": 0.1,
        "fit_s": 0.1,
        "n_iter": 3,
        "accuracy": 0.9,
    }
    records = [
        {**common, "model": model, "n_bits": k, "qubo_size": 601 * k}
        for model, k in (("sgd", 0), ("logreg", 0), ("qubo", 2))
    ]
    monkeypatch.setattr(_runs, "classifier_study", lambda *args, **kwargs: records)

    def full_disk(records, path):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(_report, "write_csv", full_disk)
    out = cli_env / "out"
    assert main(["bench", "classifier", "--bits", "2", "--quiet", "--out", str(out)]) == 1
    stdout, stderr = capsys.readouterr()
    assert "QUBO head 2 bits" in stdout  # the table was printed before the files failed
    assert "Traceback" not in stderr
    assert re.fullmatch(
        rf"quboclf: error: could not write the results to the folder {re.escape(repr(str(out)))}"
        r": \[Errno 28\] No space left on device: .*\. The table above is complete; free some "
        r"space or choose another folder with --out, then run again\.\n",
        stderr,
    ), stderr


def test_subsample_just_below_the_rows():
    """A subsample leaving fewer rows out than there are classes (no stratified split exists)."""
    from quboclf.studies import load_split

    X_tr, X_te, y_tr, y_te = load_split("digits", 0, subsample=1250)
    assert (X_tr.shape, X_te.shape) == ((1250, 64), (540, 64))
    assert set(y_tr) == set(range(10))
    again = load_split("digits", 0, subsample=1250)
    np.testing.assert_array_equal(again[0], X_tr)


def _classifier_records():
    common = {
        "dataset": "digits", "seed": 0, "d": 600, "n_classes": 10, "n_train": 100,
        "n_test": 100, "features_s": 0.1, "fit_s": 0.1, "n_iter": 3, "accuracy": 0.9,
    }  # fmt: skip
    return [
        {**common, "model": model, "n_bits": k, "qubo_size": 601 * k}
        for model, k in (("sgd", 0), ("logreg", 0), ("qubo", 2))
    ]


def test_command_line_ctrl_c_saves_what_finished(cli_env, monkeypatch, capsys):
    """Ctrl-C halfway: exit 130, no traceback, the finished results printed and written."""
    from quboclf.__main__ import main
    from quboclf.studies import _runs

    def interrupted_study(*args, **kwargs):
        records = _runs._new_records()
        records.extend(_classifier_records())
        raise KeyboardInterrupt

    monkeypatch.setattr(_runs, "classifier_study", interrupted_study)
    out = cli_env / "out"
    assert main(["bench", "classifier", "--bits", "2", "4", "--quiet", "--out", str(out)]) == 130
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stderr
    assert re.search(r"quboclf: error: interrupted \(Ctrl-C\); saving the 3 results that "
                     r"finished", stderr), stderr  # fmt: skip
    assert "QUBO head 2 bits" in stdout
    assert (out / "classifier-digits.csv").read_text().count("\n") == 4  # header + 3 rows


def test_command_line_ctrl_c_before_any_result(cli_env, monkeypatch, capsys):
    from quboclf.__main__ import main
    from quboclf.studies import _runs

    _runs._new_records().extend(_classifier_records())  # an earlier study's, not this one's

    def interrupted_study(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_runs, "quantizer_study", interrupted_study)
    out = cli_env / "out"
    assert main(["bench", "quantizer", "--bits", "2", "--quiet", "--out", str(out)]) == 130
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stderr and stdout == ""
    assert stderr.strip().endswith(
        "quboclf: error: interrupted (Ctrl-C) before any result finished; nothing was saved."
    )
    assert not out.exists()


KERNEL_CTRL_C = """
import os, signal, sys, threading
import numpy as np
from quboclf import RandomConvFeatures

X = np.random.default_rng(0).random((6000, 28, 28))
features = RandomConvFeatures(random_state=0).fit(X[:10])
features.transform(X[:10])  # compiled
# SIGINT from another thread while the nogil kernel runs: numba's dispatcher used to turn
# the KeyboardInterrupt into "SystemError: ... returned a result with an exception set"
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
try:
    for _ in range(50):
        features.transform(X)
    print("not interrupted")
except BaseException as exc:
    print(type(exc).__name__)
"""


def test_ctrl_c_during_the_convolution_is_a_keyboard_interrupt():
    import subprocess

    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-c", KERNEL_CTRL_C], capture_output=True, text=True, timeout=300
        )
        assert proc.stdout.strip() == "KeyboardInterrupt", proc.stdout + proc.stderr


def test_short_dimod_anneal_from_zeros_does_not_give_a_silent_chance_head():
    # Issue: "sa-dimod" with num_sweeps=50 and init="zeros" used to stop after one iteration
    # with all-zero weights (chance accuracy) and no warning. Now the head either trains or says
    # why it could not (a single-class or convergence warning).
    from sklearn.datasets import load_wine
    from sklearn.preprocessing import StandardScaler

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = QUBOCNNClassifier(
        features="passthrough",
        n_bits=4,
        sampler="sa-dimod",
        sampler_params={"num_sweeps": 50},
        init="zeros",
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    assert np.count_nonzero(clf.coef_) > 0
    warned = any("single class" in str(w.message) for w in caught)
    assert warned or clf.score(X, y) > 0.9
    assert clf.solver_info_["status"] in ("converged", "stuck", "max_iter")
