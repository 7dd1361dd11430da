"""Tests of ``sampler=`` resolution (quboclf._samplers), the QPU path offline included."""

import itertools
import pickle
import sys
import warnings
from unittest import mock

import dimod
import numpy as np
import pytest
from conftest import make_estimator
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from quboclf import QUBOCNNClassifier, QUBOQuantizer, _anneal, _qubo, _samplers
from quboclf._qubo import QuadraticProblem
from quboclf._samplers import (
    EXACT_MAX_VARIABLES,
    SAMPLER_NAMES,
    QPUAccessError,
    Solver,
    SolveResult,
    check_sampler,
    make_solver,
    resolve_params,
    seeds_from,
)

# ---------------------------------------------------------------------------------------------
# problems and their brute-force answer keys


def make_problem(seed, n, n_bits, n_fixed=0, classifier=True):
    """A random convex problem; ``n_fixed`` variables fixed at random levels."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n + 3, n))
    H = A.T @ A / n + 0.05 * np.eye(n)
    h = rng.normal(scale=2.0, size=n)
    if classifier:  # the classifier's grid: offset -R, delta R / 2**(K-1)
        R = rng.uniform(0.5, 2.0, size=n)
        delta, offset = _qubo.grid_step(R, n_bits), -R
    else:
        delta, offset = rng.uniform(0.1, 1.0, size=n), rng.normal(size=n)
    lower = np.zeros(n, dtype=np.int64)
    upper = np.full(n, 2**n_bits - 1, dtype=np.int64)
    fixed = rng.choice(n, size=n_fixed, replace=False)
    lower[fixed] = upper[fixed] = rng.integers(0, 2**n_bits, size=n_fixed)
    return QuadraticProblem(H, h, delta, offset, n_bits, lower, upper)


def brute_force(problem):
    """Minimum energy and the set of minimising levels, by enumerating every level vector."""
    ranges = [range(lo, hi + 1) for lo, hi in zip(problem.lower, problem.upper)]
    levels = np.array(list(itertools.product(*ranges)), dtype=np.int64)
    energies = _qubo.energy(problem, levels)
    best = energies.min()
    return best, levels[np.isclose(energies, best, rtol=0, atol=1e-9)]


def assert_optimal(result, problem, key):
    best, argmins = key
    assert result.energy == pytest.approx(best, abs=1e-9)
    assert result.energy == pytest.approx(_qubo.energy(problem, result.levels), abs=1e-9)
    assert any(np.array_equal(result.levels, m) for m in argmins)
    assert result.levels.dtype == np.int64 and result.levels.shape == (problem.n_variables,)


# (n, n_bits, n_fixed): at most 16 free binary variables
SMALL = [(4, 4, 0), (8, 2, 0), (16, 1, 0), (6, 3, 1), (5, 4, 2), (3, 5, 0)]


# ---------------------------------------------------------------------------------------------
# names and parameters


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_every_name_resolves(name):
    solver = make_solver(name)
    assert isinstance(solver, Solver)
    assert solver.name == name
    assert solver._cache is None  # nothing built before solving


def test_instance_resolves():
    sampler = dimod.ExactSolver()
    solver = make_solver(sampler, {"polish": True})
    assert solver.sampler is sampler and solver.name == "ExactSolver"


@pytest.mark.parametrize("bad", ["SA", "annealing", "", "dwave"])
def test_unknown_name(bad):
    with pytest.raises(ValueError, match="unknown sampler") as err:
        check_sampler(bad)
    for name in SAMPLER_NAMES:
        assert repr(name) in str(err.value)


@pytest.mark.parametrize("bad", [3, None, dimod.ExactSolver, object(), ["sa"]])
def test_not_a_sampler(bad):
    with pytest.raises(TypeError, match="dimod.Sampler instance"):
        check_sampler(bad)


def test_sampler_params_must_be_dict():
    with pytest.raises(TypeError, match="sampler_params must be a dict"):
        check_sampler("sa", [("num_reads", 3)])
    with pytest.raises(TypeError, match="keys must be strings"):
        check_sampler("sa", {1: 2})
    assert check_sampler("tabu", None) == {"timeout": None, "num_restarts": 0}


@pytest.mark.parametrize(
    "name, key, valid",
    [
        ("sa", "reads", "num_reads"),
        ("sa", "token", "moves"),
        ("sa-dimod", "moves", "beta_schedule_type"),
        ("tabu", "num_sweeps", "timeout"),
        ("exact", "num_reads", "polish"),
    ],
)
def test_unknown_key_lists_valid_ones(name, key, valid):
    with pytest.raises(ValueError, match=f"unknown sampler_params key '{key}'") as err:
        check_sampler(name, {key: 1})
    assert valid in str(err.value)


@pytest.mark.parametrize(
    "name, params, match",
    [
        ("sa", {"num_reads": 0}, "positive int"),
        ("sa", {"num_reads": 2.5}, "positive int"),
        ("sa", {"num_reads": True}, "positive int"),
        ("sa-dimod", {"num_sweeps": -1}, "positive int"),
        ("sa", {"beta_range": (0.0, 1.0)}, "beta_range"),
        ("sa-dimod", {"beta_range": "hot"}, "beta_range"),
        ("sa-dimod", {"beta_range": (1.0,)}, "beta_range"),
        ("sa", {"moves": "swap"}, "'carry' or 'flip'"),
        ("tabu", {"polish": "yes"}, "True or False"),
        ("tabu", {"timeout": 0}, "milliseconds"),
        ("qpu", {"auto_scale": True}, "cannot be set"),
        ("qpu", {"return_embedding": False}, "cannot be set"),
        ("qpu", {"warm_start": True}, "warm starts"),
        ("hybrid", {"warm_start": True}, "warm starts"),
    ],
)
def test_bad_values(name, params, match):
    with pytest.raises(ValueError, match=match):
        check_sampler(name, params)


def test_defaults_filled_in():
    assert check_sampler("sa") == {"warm_start": True, "polish": True}
    assert check_sampler("qpu")["num_reads"] == 100
    assert check_sampler("qpu")["decompose"] == "auto"
    assert check_sampler("qpu", {"num_reads": 7, "token": "x"}) == {
        "num_reads": 7,
        "decompose": "auto",
        "token": "x",
    }
    params = {"num_reads": 3}
    check_sampler("sa", params)
    assert params == {"num_reads": 3}  # the user's dict is not modified


def test_estimator_defaults_sit_between_quboclf_and_the_user():
    defaults = {"sa": {"num_reads": 1, "num_sweeps": 10, "polish": False}, "tabu": {"tenure": 3}}
    assert resolve_params("sa", {"num_sweeps": 5}, defaults) == {
        "warm_start": True,
        "polish": False,
        "num_reads": 1,
        "num_sweeps": 5,
    }
    # another sampler's defaults are not applied, nor validated against this sampler
    assert resolve_params("exact", None, defaults) == {}
    with pytest.raises(ValueError, match="unknown sampler_params key 'tenure' for sampler='sa'"):
        resolve_params("sa", None, {"sa": {"tenure": 3}})


@pytest.mark.parametrize("name", ["sa", "sa-dimod", "tabu", "exact"])
def test_accepted_keys_are_the_dimod_samplers_parameters(name):
    parameters = set(_samplers._named_sampler(name).parameters)
    keys = _samplers._sample_keys(name)
    assert keys - parameters <= {"warm_start"} | _samplers._DECOMPOSE_KEYS
    assert parameters - keys == parameters & _samplers._RESERVED_SAMPLE_KEYS
    for key in sorted(parameters & _samplers._RESERVED_SAMPLE_KEYS):  # quboclf sets these
        with pytest.raises(ValueError, match=f"unknown sampler_params key '{key}'"):
            check_sampler(name, {key: 1})


def test_a_dimod_parameter_without_a_quboclf_rule_reaches_the_sampler():
    # beta_schedule is in SimulatedAnnealingSampler.parameters (recent dwave-samplers) and
    # nowhere in quboclf
    if "beta_schedule" not in _samplers._named_sampler("sa-dimod").parameters:
        pytest.skip("this dwave-samplers has no beta_schedule parameter")
    problem = make_problem(3, 4, 2)
    schedule = [0.1, 0.5, 2.0, 10.0]
    solver = make_solver(
        "sa-dimod", {"beta_schedule_type": "custom", "beta_schedule": schedule, "num_reads": 3}
    )
    with mock.patch.object(
        _samplers._named_sampler("sa-dimod").__class__, "sample", autospec=True,
        side_effect=lambda self, bqm, **kw: dimod.ExactSolver().sample(bqm).truncate(1),
    ) as sample:
        solver.solve(problem, seed=0)
    kwargs = sample.call_args.kwargs
    assert kwargs["beta_schedule"] == schedule and "beta_range" not in kwargs


def _schedule(problem):
    return (0.5, float(problem.n_variables))


def test_estimator_schedule_applies_where_no_beta_range_is_given():
    problem = make_problem(4, 5, 3)
    calls = []

    def anneal(problem, **kwargs):
        calls.append(kwargs.get("beta_range"))
        return real(problem, **kwargs)

    real = _anneal.anneal
    with mock.patch.object(_anneal, "anneal", anneal):
        make_solver("sa", None, schedule=_schedule).solve(problem, seed=0)
        make_solver("sa", {"beta_range": None}, schedule=_schedule).solve(problem, seed=0)
        make_solver("sa", {"beta_range": (1.0, 2.0)}, schedule=_schedule).solve(problem, seed=0)
        make_solver("sa").solve(problem, seed=0)
    assert calls == [(0.5, 5.0), (0.5, 5.0), (1.0, 2.0), None]
    solver = pickle.loads(pickle.dumps(make_solver("sa", None, schedule=_schedule)))
    assert solver.schedule is _schedule


def test_make_solver_hands_a_solver_on_unchanged():
    solver = make_solver("tabu")
    assert make_solver(solver) is solver


@pytest.mark.parametrize("estimator", ["classifier", "quantizer"])
def test_one_validation_per_fit(estimator, monkeypatch):
    from sklearn.neural_network import MLPClassifier

    from quboclf import QUBOCNNClassifier, QUBOQuantizer

    calls = []
    real = _samplers.resolve_params

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(_samplers, "resolve_params", counted)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 4)), np.arange(60) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if estimator == "classifier":
            model = QUBOCNNClassifier(n_bits=2, features=None, max_iter=3, random_state=0)
        else:
            mlp = MLPClassifier((5,), max_iter=20, random_state=0).fit(X, y)
            model = QUBOQuantizer(mlp, n_bits=3, sampler_params={"num_sweeps": 20}, random_state=0)
        model.fit(X, y)
    assert calls == ["sa"]


# ---------------------------------------------------------------------------------------------
# seeds


def test_seeds_from():
    seeds = seeds_from(0, 5)
    assert seeds.shape == (5,) and seeds.dtype == np.int64
    assert np.all((seeds >= 0) & (seeds < 2**31))
    np.testing.assert_array_equal(seeds, seeds_from(0, 5))
    assert not np.array_equal(seeds, seeds_from(1, 5))
    rng = np.random.RandomState(3)
    assert not np.array_equal(seeds_from(rng, 4), seeds_from(rng, 4))  # the state advances
    assert seeds_from(None, 2).shape == (2,)
    assert seeds_from(0, 0).shape == (0,)


@pytest.mark.parametrize("name", ["sa", "sa-dimod", "tabu"])
def test_seed_reproduces(name):
    problem = make_problem(0, 6, 3)
    params = {"num_reads": 2, "num_sweeps": 20} if name != "tabu" else {"num_reads": 2}
    solver = make_solver(name, params)
    seed = int(seeds_from(0, 1)[0])
    a = solver.solve(problem, seed=seed)
    b = solver.solve(problem, seed=np.int64(seed))
    np.testing.assert_array_equal(a.levels, b.levels)


# ---------------------------------------------------------------------------------------------
# answer keys


@pytest.mark.parametrize("shape", SMALL)
def test_exact_matches_brute_force(shape):
    for seed in range(2):
        problem = make_problem(seed, *shape)
        result = make_solver("exact").solve(problem)
        assert_optimal(result, problem, brute_force(problem))
        assert result.info["raw_energy"] == result.energy and not result.info["polished"]


@pytest.mark.parametrize(
    "name, params",
    [
        ("sa", {}),
        ("sa", {"moves": "flip", "num_reads": 8}),
        ("sa-dimod", {"num_reads": 10}),
        ("tabu", {"num_reads": 3, "timeout": 10}),
    ],
)
@pytest.mark.parametrize("shape", SMALL)
def test_samplers_reach_exact_minimum(name, params, shape):
    solver = make_solver(name, params)
    for seed in range(3):
        problem = make_problem(seed, *shape, classifier=seed != 1)
        result = solver.solve(problem, seed=seed)
        assert_optimal(result, problem, brute_force(problem))
        assert result.info["sampler"] == name
        assert result.info["n_qubo_variables"] <= 16


def test_instance_reaches_exact_minimum():
    problem = make_problem(4, 5, 3, n_fixed=1)
    result = make_solver(dimod.ExactSolver()).solve(problem, seed=1)
    assert_optimal(result, problem, brute_force(problem))
    assert result.info["sampler"] == "ExactSolver"


def test_warm_start_reaches_minimum_from_the_optimum():
    problem = make_problem(5, 6, 2, n_fixed=2)
    key = brute_force(problem)
    # one cold read of tabu from the optimum cannot leave it
    solver = make_solver("tabu", {"warm_start": True, "timeout": 5})
    assert_optimal(solver.solve(problem, initial=key[1][0], seed=0), problem, key)


# ---------------------------------------------------------------------------------------------
# dimod samplers through the estimators: warm starts, reproducibility


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning with max_iter=3
        return est.fit(X, y)


X3, Y3 = make_classification(
    n_samples=45, n_features=4, n_informative=3, n_redundant=0, n_classes=3, random_state=0
)


@pytest.mark.parametrize("sampler", ["sa-dimod", "tabu"])
@pytest.mark.parametrize(
    "Estimator", [QUBOCNNClassifier, QUBOQuantizer], ids=["QUBOCNNClassifier", "QUBOQuantizer"]
)
def test_dimod_warm_start(Estimator, sampler):
    """warm_start=True passes the current weights as int8 initial states (it used to crash)."""
    params = {"warm_start": True, "num_reads": 1}
    params.update({"num_sweeps": 20} if sampler == "sa-dimod" else {})
    est = _fit(make_estimator(Estimator, sampler=sampler, sampler_params=params), X3, Y3)
    assert est.score(X3, Y3) > 0.5


def test_dimod_warm_start_starts_there():
    """Started at the optimum and frozen cold, sa-dimod stays there: the warm start was used."""
    problem = QuadraticProblem(np.eye(3), np.array([1.0, -1.0, 0.5]), 0.5, -1.0, n_bits=2)
    best = make_solver("exact").solve(problem)
    params = {"warm_start": True, "num_reads": 1, "num_sweeps": 1, "beta_range": (1e9, 1e9)}
    for seed in range(5):
        result = make_solver("sa-dimod", params).solve(
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
    a = _fit(make_estimator(QUBOCNNClassifier, sampler="tabu", sampler_params={}), X3, Y3)
    first = [dict(c) for c in calls]
    calls.clear()
    b = _fit(make_estimator(QUBOCNNClassifier, sampler="tabu", sampler_params={}), X3, Y3)
    assert first and all(c["timeout"] is None and isinstance(c["seed"], int) for c in first)
    assert [c["seed"] for c in calls] == [c["seed"] for c in first]
    np.testing.assert_array_equal(a.coef_, b.coef_)
    with pytest.raises(ValueError, match=r"'timeout'.*positive number of milliseconds .*None"):
        check_sampler("tabu", {"timeout": 0})


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


def test_result_fields():
    problem = make_problem(0, 4, 2)
    for name in ("sa", "sa-dimod", "tabu", "exact"):
        result = make_solver(name).solve(problem, seed=3)
        assert isinstance(result, SolveResult)
        info = result.info
        for key in ("sampler", "time_s", "raw_energy", "polished", "qpu_access_time", "timing"):
            assert key in info
        assert info["energy"] == result.energy
        assert info["qpu_access_time"] is None and isinstance(info["timing"], dict)
        if name == "sa-dimod":  # dwave-samplers reports its own timing
            assert "sampling_ns" in info["timing"]
        assert info["time_s"] > 0
        assert isinstance(result.energy, float)


# ---------------------------------------------------------------------------------------------
# dimod paths: sizes, fixed variables, beta_range, warm starts, polish


def test_exact_refuses_above_20_free_variables():
    for n, K in [(21, 1), (7, 3)]:
        problem = make_problem(0, n, K)
        with pytest.raises(ValueError, match=f"has {n * K}") as err:
            make_solver("exact").solve(problem)
        msg = str(err.value)
        assert str(EXACT_MAX_VARIABLES) in msg and "n_bits" in msg and "'sa'" in msg
    # fixed variables do not count: 12 weights x 2 bits, 4 fixed -> 16 free bits
    problem = make_problem(1, 12, 2, n_fixed=4)
    result = make_solver("exact").solve(problem)
    assert result.info["n_qubo_variables"] == 16
    assert_optimal(result, problem, brute_force(problem))


@pytest.mark.parametrize("name", ["exact", "tabu", "sa-dimod", "qpu"])
def test_all_fixed_needs_no_sampler(name):
    problem = make_problem(0, 3, 2, n_fixed=3)
    solver = make_solver(name)
    result = solver.solve(problem)
    np.testing.assert_array_equal(result.levels, problem.lower)
    assert result.info["n_qubo_variables"] == 0
    assert solver._cache is None  # not even built (no QPU contacted)


def test_partial_bounds_are_refused_by_bqm_samplers():
    problem = QuadraticProblem(np.eye(2), [1.0, -1.0], 0.5, 0.0, 2, lower=[1, 0], upper=[3, 3])
    with pytest.raises(ValueError, match="partial level bounds"):
        make_solver("tabu").solve(problem)
    assert make_solver("sa").solve(problem, seed=0).levels[0] >= 1  # "sa" honours bounds


def random_bqm(seed, n, vartype, density=0.7, zero_linear=False, integer=False):
    rng = np.random.default_rng(seed)
    linear = np.zeros(n) if zero_linear else rng.normal(size=n)
    quad = {}
    for i, j in itertools.combinations(range(n), 2):
        if rng.random() < density:
            quad[i, j] = float(rng.integers(-3, 4)) if integer else rng.normal()
    if integer:
        linear = np.round(linear * 2)
    return dimod.BinaryQuadraticModel(dict(enumerate(linear)), quad, 0.5, vartype)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 12),
    vartype=st.sampled_from([dimod.BINARY, dimod.SPIN]),
    density=st.floats(0.0, 1.0),
    zero_linear=st.booleans(),
    integer=st.booleans(),
)
def test_beta_range_matches_dwave_default(seed, n, vartype, density, zero_linear, integer):
    from dwave.samplers.sa.sampler import default_beta_range

    bqm = random_bqm(seed, n, vartype, density, zero_linear, integer)
    if not any(bqm.linear.values()) and not any(bqm.quadratic.values()):
        assert _samplers._ising_beta_range(bqm) == [0.1, 1.0]
        return
    expected = default_beta_range(bqm)
    np.testing.assert_allclose(_samplers._ising_beta_range(bqm), expected, rtol=1e-9)


def test_sa_dimod_never_uses_the_slow_default(monkeypatch):
    import dwave.samplers.sa.sampler as sa_module

    def slow(*args, **kwargs):
        raise AssertionError("dwave-samplers computed its default beta_range")

    monkeypatch.setattr(sa_module, "_default_ising_beta_range", slow)
    problem = make_problem(0, 5, 3)
    result = make_solver("sa-dimod", {"num_reads": 10}).solve(problem, seed=0)
    assert_optimal(result, problem, brute_force(problem))
    hot, cold = result.info["beta_range"]
    assert 0 < hot < cold
    given_range = make_solver("sa-dimod", {"beta_range": (0.5, 7)}).solve(problem, seed=0)
    assert given_range.info["beta_range"] == (0.5, 7.0)


class RecordingSampler(dimod.Sampler):
    """Answers with ``answer`` bits (default: all zeros), remembers the keyword arguments."""

    properties = {}
    parameters = {}

    def __init__(self, answer=None, parameters=("seed", "initial_states")):
        self.answer = answer
        self.parameters = {p: [] for p in parameters}
        self.calls = []

    def sample(self, bqm, **kwargs):
        self.calls.append(kwargs)
        variables = list(bqm.variables)
        row = np.zeros(len(variables), dtype=np.int8)
        if self.answer is not None:
            row[:] = [self.answer[v] for v in variables]
        return dimod.SampleSet.from_samples_bqm((row[None, :], variables), bqm)


def test_instance_gets_seed_only_if_it_takes_one():
    problem = make_problem(0, 3, 2)
    takes = RecordingSampler()
    make_solver(takes).solve(problem, seed=5)
    assert takes.calls[-1] == {"seed": 5}
    make_solver(takes).solve(problem)
    assert takes.calls[-1] == {}
    ignores = RecordingSampler(parameters=())
    make_solver(ignores, {"num_reads": 4}).solve(problem, seed=5)
    assert ignores.calls[-1] == {"num_reads": 4}


def test_warm_start_passes_the_initial_bits_by_label():
    problem = make_problem(0, 4, 3, n_fixed=1)
    initial = problem.lower.copy()
    free = problem.lower != problem.upper
    initial[free] = [5, 2, 6]
    sampler = RecordingSampler()
    make_solver(sampler).solve(problem, initial=initial)
    assert "initial_states" not in sampler.calls[-1]  # only when asked
    make_solver(sampler, {"warm_start": True}).solve(problem, initial=initial)
    states, labels = sampler.calls[-1]["initial_states"]
    full_bits = _qubo.levels_to_bits(initial, problem.n_bits)
    assert sorted(labels) == list(_qubo.free_bits(problem))
    np.testing.assert_array_equal(states[0], full_bits[labels])
    with pytest.raises(ValueError, match="initial must have shape"):
        make_solver(sampler).solve(problem, initial=initial[:2])


def test_polish_reports_raw_and_polished_energy():
    problem = make_problem(2, 6, 3)
    key = brute_force(problem)
    zeros = RecordingSampler()  # a poor sampler: always the all-zero bits (energy 0)
    plain = make_solver(zeros).solve(problem)
    assert plain.energy == plain.info["raw_energy"] == 0.0 and not plain.info["polished"]
    polished = make_solver(zeros, {"polish": True}).solve(problem)
    assert polished.info["raw_energy"] == 0.0 and polished.info["polished"]
    expected_levels, expected_energy = _anneal.descend(problem, np.zeros(6, dtype=np.int64))
    np.testing.assert_array_equal(polished.levels, expected_levels)
    assert polished.energy == pytest.approx(expected_energy)
    assert key[0] - 1e-9 <= polished.energy < 0.0
    assert "polish" not in zeros.calls[-1]  # quboclf's key never reaches the sampler


def test_sa_polish_is_annealers_own():
    problem = make_problem(0, 5, 3)
    result = make_solver("sa").solve(problem, seed=0)
    assert result.info["polished"] and result.info["raw_energy"] == result.energy
    raw = make_solver("sa", {"polish": False, "num_sweeps": 5}).solve(problem, seed=0)
    assert not raw.info["polished"] and raw.info["raw_energy"] == raw.energy


# ---------------------------------------------------------------------------------------------
# pickling and cloning


class Estimator(BaseEstimator):
    def __init__(self, *, sampler="sa", sampler_params=None):
        self.sampler = sampler
        self.sampler_params = sampler_params


@pytest.mark.parametrize("name", SAMPLER_NAMES)
def test_solver_pickles(name):
    solver = make_solver(name, {"polish": True} if name != "qpu" else {"token": "secret"})
    copy = pickle.loads(pickle.dumps(solver))
    assert copy.sampler == name and copy.params == solver.params


def test_solver_pickles_after_solving():
    problem = make_problem(0, 4, 2)
    solver = make_solver("tabu", {"num_reads": 2, "timeout": 5})
    first = solver.solve(problem, seed=1)
    assert solver._cache is not None
    copy = pickle.loads(pickle.dumps(solver))
    assert copy._cache is None  # the live sampler stays in its process
    np.testing.assert_array_equal(copy.solve(problem, seed=1).levels, first.levels)
    assert copy._cache is not None and solver._cache is not None


def test_clone_with_string_sampler_params():
    params = {"token": "DEV-123", "solver": "Advantage_system4.1", "num_reads": 50}
    est = Estimator(sampler="qpu", sampler_params=params)
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert twin.sampler_params is not params  # a deep copy, so GridSearchCV can fit it anywhere
    check_sampler(twin.sampler, twin.sampler_params)


# ---------------------------------------------------------------------------------------------
# the QPU, offline: DWaveCliqueSampler over MockDWaveSampler (fixture mock_qpu, conftest.py)


def test_qpu_solves_through_the_mock(mock_qpu):
    problem = make_problem(0, 3, 2, n_fixed=1)  # 4 free bits
    key = brute_force(problem)
    params = {"token": "DEV-x", "region": "eu-central-1", "num_reads": 20, "chain_strength": 2.0}
    solver = make_solver("qpu", params)
    result = solver.solve(problem, seed=0)
    assert_optimal(result, problem, key)
    config = mock_qpu[-1]
    assert config["token"] == "DEV-x" and config["region"] == "eu-central-1"
    assert "num_reads" not in config and "chain_strength" not in config
    info = result.info
    assert info["sampler"] == "qpu" and info["n_qubo_variables"] == 4
    # the mock's fixed demonstration timing is replaced by the timing model for the call
    assert info["timing"]["qpu_access_time"] == pytest.approx(8550.28)
    assert info["qpu_access_time_source"] == "estimated"
    expected = _samplers.estimate_qpu_access_time(info["num_qubits"], 20)
    assert info["qpu_access_time"] == pytest.approx(expected)
    assert info["qpu_calls"] == 1 and info["subproblem_sizes"] == [4]
    assert solver.usage["sampler_calls"] == 1
    assert solver.usage["qpu_access_time"] == pytest.approx(expected)
    assert info["largest_clique_size"] == 36
    assert info["num_reads"] == 20
    assert info["num_qubits"] >= 4 and info["max_chain_length"] >= 1
    assert 0 <= info["chain_break_fraction"] <= 1
    assert "problem_id" in info and info["topology"] == "pegasus[4]"
    # the sampler is cached: a second problem reuses the same client
    solver.solve(make_problem(1, 2, 2), seed=1)
    assert len(mock_qpu) == 1
    solver.close()
    assert solver._cache is None


def test_qpu_polish_keeps_raw_energy(mock_qpu):
    problem = make_problem(3, 4, 3)  # 12 free bits
    params = {"polish": True, "num_reads": 5, "decompose": False}
    result = make_solver("qpu", params).solve(problem)
    assert result.info["polished"]
    assert result.energy <= result.info["raw_energy"] + 1e-12
    assert result.info["max_chain_length"] > 1 and result.info["chain_strength"] > 0
    assert result.energy == pytest.approx(_qubo.energy(problem, result.levels))


def test_qpu_too_large_fails_before_submitting(mock_qpu):
    solver = make_solver("qpu", {"decompose": False})
    problem = make_problem(0, 20, 2)  # 40 free bits > 36-clique of Pegasus-4
    with pytest.raises(ValueError, match="40 free binary variables") as err:
        solver.solve(problem)
    msg = str(err.value)
    assert "36" in msg and "n_bits" in msg and "features" in msg and "'hybrid'" in msg
    assert solver._cache.child.submitted == 0


def test_qpu_unknown_sample_key(mock_qpu):
    solver = make_solver("qpu", {"anealing_time": 20})
    with pytest.raises(ValueError, match="'anealing_time'") as err:
        solver.solve(make_problem(0, 2, 2))
    assert "annealing_time" in str(err.value) and "token" in str(err.value)
    assert solver._cache.child.submitted == 0


@pytest.mark.parametrize("name", ["qpu", "hybrid"])
def test_missing_token(monkeypatch, name):
    def no_token(**config):  # what dwave-cloud-client's Client.__init__ raises
        raise ValueError("API token not defined")

    target = {
        "qpu": "dwave.system.samplers.clique.DWaveSampler",
        "hybrid": "dwave.system.samplers.leap_hybrid_sampler.Client.from_config",
    }[name]
    monkeypatch.setattr(target, no_token)
    solver = make_solver(name)
    with pytest.raises(QPUAccessError, match="API token not defined") as err:
        solver.solve(make_problem(0, 2, 2))
    msg = str(err.value)
    assert "dwave config create" in msg and "DWAVE_API_TOKEN" in msg and "'token'" in msg
    assert isinstance(err.value.__cause__, ValueError)
    assert solver._cache is None


def test_rejected_token_and_unreachable_service(monkeypatch):
    from dwave.cloud.exceptions import RequestTimeout, SolverAuthenticationError

    for exc in (SolverAuthenticationError("Invalid token"), RequestTimeout("timed out")):

        def fail(config, exc=exc):
            raise exc

        monkeypatch.setattr(_samplers, "_build_clique_sampler", fail)
        with pytest.raises(QPUAccessError, match="dwave config create"):
            make_solver("qpu").solve(make_problem(0, 2, 2))


def test_qpu_error_while_sampling_is_reported(mock_qpu, monkeypatch):
    from dwave.cloud.api.exceptions import ResourceAuthenticationError

    def refuse(self, bqm, **kwargs):
        raise ResourceAuthenticationError("token expired")

    from dwave.system.testing import MockDWaveSampler

    monkeypatch.setattr(MockDWaveSampler, "sample", refuse)
    with pytest.raises(QPUAccessError, match="token expired"):
        make_solver("qpu").solve(make_problem(0, 2, 2))


def test_other_value_errors_are_not_disguised(monkeypatch):
    def fail(config):
        raise ValueError("selected solver is not a hybrid solver.")

    monkeypatch.setattr(_samplers, "_build_hybrid_sampler", fail)
    with pytest.raises(ValueError, match="not a hybrid solver") as err:
        make_solver("hybrid").solve(make_problem(0, 2, 2))
    assert not isinstance(err.value, QPUAccessError)


@pytest.mark.parametrize("name", ["qpu", "hybrid"])
def test_missing_extra(monkeypatch, name):
    solver = make_solver(name)  # made while dwave-system is importable
    monkeypatch.setitem(sys.modules, "dwave.system", None)  # now "import dwave.system" fails
    with pytest.raises(ImportError, match=r'pip install "quboclf\[qpu\]"'):
        check_sampler(name)
    with pytest.raises(ImportError, match=r'pip install "quboclf\[qpu\]"'):
        solver.solve(make_problem(0, 2, 2))
    check_sampler("sa")  # the classical samplers do not need it


class FakeHybrid(dimod.Sampler):
    """Stands in for LeapHybridSampler: exact answers, Leap-style info."""

    parameters = {"time_limit": [], "label": []}
    properties = {"maximum_number_of_variables": 10, "maximum_number_of_biases": 40}

    def __init__(self):
        self.calls = []

    def sample(self, bqm, **kwargs):
        self.calls.append(kwargs)
        sampleset = dimod.ExactSolver().sample(bqm).truncate(1)
        sampleset.info.update(qpu_access_time=41000, run_time=3000000, charge_time=3000000)
        return sampleset


def test_hybrid_through_a_fake(monkeypatch):
    fake = FakeHybrid()
    configs = []

    def build(config):
        configs.append(config)
        return fake

    monkeypatch.setattr(_samplers, "_build_hybrid_sampler", build)
    problem = make_problem(0, 4, 2)
    solver = make_solver("hybrid", {"token": "t", "time_limit": 5})
    result = solver.solve(problem)
    assert_optimal(result, problem, brute_force(problem))
    assert configs == [{"token": "t"}] and fake.calls == [{"time_limit": 5}]
    assert result.info["qpu_access_time"] == 41000.0 and result.info["run_time"] == 3000000
    with pytest.raises(ValueError, match="at most 10"):
        solver.solve(make_problem(0, 6, 2))
    with pytest.raises(ValueError, match="45 biases"):  # 9 bits dense: 9*10/2 > 40
        solver.solve(make_problem(0, 3, 3))
    with pytest.raises(ValueError, match="'num_reads'"):
        make_solver("hybrid", {"num_reads": 5}).solve(problem)


def test_mock_sampler_can_be_patched_with_unittest_mock():
    """The documented recipe: patch the DWaveSampler that DWaveCliqueSampler builds."""
    from dwave.system.testing import MockDWaveSampler

    def factory(**config):
        return MockDWaveSampler(
            topology_type="pegasus", topology_shape=[4], parameter_warnings=False
        )

    problem = make_problem(0, 2, 2)
    with mock.patch("dwave.system.samplers.clique.DWaveSampler", factory):
        result = make_solver("qpu", {"num_reads": 10}).solve(problem)
    assert result.info["qpu_access_time"] > 0
