"""Bad inputs, failing samplers, and the "a failed fit changes nothing" guarantee.

One table per public estimator (and the dataset loaders): each row is an estimator factory, a
bad input or parameter, the exception type, and a regex the message must match, so that every
error names the problem and, where there is one, the fix.
"""

import sys
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


ENVIRONMENTS = {None: None, "no_extra": _no_extra, "no_token": _no_token, "mock_qpu": _mock_qpu}

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
    ("exact-too-large", lambda: clf(sampler="exact", n_bits=5, sampler_params={}), X, Y, None,
     ValueError, r"more than 20 free binary variables; this one has 25.*n_bits.*'sa'"),
    ("qpu-no-extra", lambda: clf(sampler="qpu", sampler_params={}), X, Y, "no_extra",
     ImportError, NO_EXTRA),
    ("hybrid-no-extra", lambda: clf(sampler="hybrid", sampler_params={}), X, Y, "no_extra",
     ImportError, NO_EXTRA),
    ("qpu-no-token", lambda: clf(sampler="qpu", sampler_params={}), X, Y, "no_token",
     QPUAccessError, NO_TOKEN),
    ("hybrid-no-token", lambda: clf(sampler="hybrid", sampler_params={}), X, Y, "no_token",
     QPUAccessError, NO_TOKEN),
    ("qpu-too-large", lambda: clf(sampler="qpu", n_bits=4, sampler_params={}), X12, Y12,
     "mock_qpu", ValueError,
     r"52 free binary variables but the largest clique .* has 36.*n_bits.*'hybrid'"),
    ("sampler-fails-halfway",  # 3 classes: 3 solves per iteration, the third fails
     lambda: clf(sampler=FlakySampler(2), sampler_params={}), X3, Y3,
     None, RuntimeError, LOST),
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
    ("qpu-too-large", lambda: quant(sampler="qpu", sampler_params={}), X40, Y40, "mock_qpu",
     ValueError, r"\d\d free binary variables but the largest clique .* has 36"),
    ("sampler-fails-halfway", lambda: quant(sampler=FlakySampler(2), sampler_params={}), X12,
     np.arange(40) % 3, None, RuntimeError, LOST),
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
