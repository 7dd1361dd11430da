"""Tests of QPU-sized subproblems (quboclf._decompose), the QPU-time records and budget, and
the noisy mock QPU (quboclf.testing)."""

import itertools
import warnings

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_samplers import assert_optimal, brute_force, make_problem

from quboclf import QUBOCNNClassifier, _decompose, _qubo, _samplers
from quboclf._decompose import (
    coupled_partners,
    decompose,
    move_gains,
    pair_gains,
    window_base,
    window_coefficients,
    window_qubo,
)
from quboclf._qubo import QuadraticProblem
from quboclf._samplers import QPUBudgetWarning, check_sampler, make_solver
from quboclf.testing import NoisyMockSampler


def bounded_problem(seed, n, n_bits, n_fixed=0):
    """A random convex problem with random partial bounds and ``n_fixed`` fixed variables."""
    base = make_problem(seed, n, n_bits, classifier=seed % 2 == 0)
    rng = np.random.default_rng(seed + 100)
    top = 2**n_bits - 1
    lower = rng.integers(0, top // 2 + 1, size=n)
    upper = np.minimum(lower + rng.integers(1, top + 1, size=n), top)
    fixed = rng.choice(n, size=n_fixed, replace=False)
    upper[fixed] = lower[fixed]
    return QuadraticProblem(base.H, base.h, base.delta, base.offset, n_bits, lower, upper)


def exact_sampler(Q, seed):
    """Every bit pattern of a small dense QUBO (an answer key for subproblems)."""
    s = np.array(list(itertools.product([0, 1], repeat=Q.shape[0])), dtype=np.int8)
    return s, {"qpu_access_time": None}


def random_sampler(Q, seed):
    """Random answers: the driver must never accept a worse one."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, size=(5, Q.shape[0])), {}


# ---------------------------------------------------------------------------------------------
# array functions


@pytest.mark.parametrize("L", range(2, 34))
def test_window_coefficients_reach_exactly_the_window(L):
    c = window_coefficients(L)
    patterns = np.array(list(itertools.product([0, 1], repeat=c.size)))
    values = patterns @ c
    assert values.min() == 0 and values.max() == L - 1
    assert set(values.tolist()) == set(range(L))  # every offset, and nothing outside
    assert c.max() <= max(1, L // 2)  # bounded coefficients: a small span on the QPU
    with pytest.raises(ValueError, match="at least 2"):
        window_coefficients(1)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 6),
    n_bits=st.integers(1, 8),
    window=st.integers(2, 9),
)
def test_window_qubo_energy_is_the_true_energy_change(seed, n, n_bits, window):
    problem = bounded_problem(seed, n, n_bits)
    rng = np.random.default_rng(seed)
    m = rng.integers(problem.lower, problem.upper + 1)
    u = problem.H @ (problem.offset + problem.delta * m) + problem.h
    S = np.flatnonzero(~problem.fixed)
    if S.size == 0:
        return
    base, size = window_base(m[S], problem.lower[S], problem.upper[S], u[S], window)
    assert np.all((base <= m[S]) & (m[S] <= base + size - 1))  # the current level is inside
    assert np.all(base >= problem.lower[S]) and np.all(base + size - 1 <= problem.upper[S])
    coefs = [window_coefficients(L) for L in size]
    bit_var = np.concatenate([np.full(c.size, i) for i, c in enumerate(coefs)])
    bit_coef = np.concatenate(coefs)
    Q, const = window_qubo(
        problem.H[np.ix_(S, S)], u[S], problem.delta[S], base - m[S], bit_var, bit_coef
    )
    assert np.all(np.tril(Q, -1) == 0)
    e0 = _qubo.energy(problem, m)
    for _ in range(8):
        s = rng.integers(0, 2, size=bit_var.size)
        new = m.copy()
        new[S] = base + np.bincount(bit_var, s * bit_coef, minlength=S.size).astype(np.int64)
        assert const + s @ Q @ s == pytest.approx(_qubo.energy(problem, new) - e0, abs=1e-8)


def test_move_gains_match_single_moves():
    problem = bounded_problem(3, 6, 4)
    m = np.clip(np.full(6, 7), problem.lower, problem.upper)
    u = problem.H @ (problem.offset + problem.delta * m) + problem.h
    gains = move_gains(u, np.diagonal(problem.H), problem.delta, m, problem.lower, problem.upper)
    e0 = _qubo.energy(problem, m)
    for j in range(6):
        best = np.inf
        for d in (-1, 1):
            new = m.copy()
            new[j] += d
            if problem.lower[j] <= new[j] <= problem.upper[j]:
                best = min(best, _qubo.energy(problem, new) - e0)
        assert (
            gains[j] == pytest.approx(best, abs=1e-9) if np.isfinite(best) else gains[j] == np.inf
        )


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 7), n_bits=st.integers(1, 4))
def test_pair_gains_match_joint_moves(seed, n, n_bits):
    problem = bounded_problem(seed, n, n_bits)
    rng = np.random.default_rng(seed)
    m = rng.integers(problem.lower, problem.upper + 1)
    u = problem.H @ (problem.offset + problem.delta * m) + problem.h
    can_up, can_down = m < problem.upper, m > problem.lower
    partners = coupled_partners(problem.H, np.arange(n), n - 1)
    gains = pair_gains(u, problem.H, problem.delta, partners, can_up, can_down)
    e0 = _qubo.energy(problem, m)
    for i in range(n):
        for p, j in enumerate(partners[i]):
            best = np.inf
            for si, sj in itertools.product((-1, 1), (-1, 1)):
                new = m.copy()
                new[i] += si
                new[j] += sj
                if np.all(new >= problem.lower) and np.all(new <= problem.upper):
                    best = min(best, _qubo.energy(problem, new) - e0)
            if np.isfinite(best):
                assert gains[i, p] == pytest.approx(best, abs=1e-8)
            else:
                assert gains[i, p] == np.inf


def test_coupled_partners_are_the_most_correlated():
    from quboclf._ptq import correlated_partners

    rng = np.random.default_rng(0)
    A = rng.normal(size=(50, 9))
    A[:, 3] = A[:, 5] + 0.1 * rng.normal(size=50)  # 3 and 5: the most correlated pair
    G = A.T @ A
    np.testing.assert_array_equal(coupled_partners(G, np.arange(9), 4), correlated_partners(G, 4))
    assert coupled_partners(G, np.arange(9), 1)[3, 0] == 5
    sub = np.array([0, 3, 7])  # indices into the subset
    assert coupled_partners(G, sub, 5).shape == (3, 2)
    assert coupled_partners(G, np.array([2]), 3).shape == (1, 0)


def _pair_move_problem():
    """Only a joint move improves: variable 0 one level down its gradient and variable 1 one
    level *against* its gradient (strongly coupled, H_01 = 0.95); 2 and 3 are at their
    optimum. Single-move gains at the start: 0.2, 0.45, 0.3, 0.1."""
    H = np.eye(4)
    H[0, 1] = H[1, 0] = 0.95
    m = np.ones(4, dtype=np.int64)
    u = np.array([0.3, 0.05, 0.2, 0.4])
    return QuadraticProblem(H, u - H @ m, 1.0, 0.0, n_bits=2, lower=0, upper=3), m


def test_pairs_with_centred_windows_reach_a_joint_move_that_others_miss():
    """Answer key by enumeration: the two-level window (one level down the gradient) cannot
    express the move, and energy impact puts the two variables in different subproblems; the
    centred three-level window with the pairs rule finds the optimum."""
    problem, m = _pair_move_problem()
    levels = np.array(list(itertools.product(range(4), repeat=4)))
    energies = [_qubo.energy(problem, k) for k in levels]
    key, best = levels[int(np.argmin(energies))], min(energies)
    e0 = _qubo.energy(problem, m)
    assert best < e0 - 0.1
    for window, selection in ((2, "impact"), (2, "pairs"), (3, "impact")):
        r = decompose(problem, m, exact_sampler, subproblem_size=4, window=window,
                      selection=selection)
        assert r.energy == pytest.approx(e0) and r.n_accepted == 0, (window, selection)
    r = decompose(problem, m, exact_sampler, subproblem_size=4, window=3, selection="pairs")
    np.testing.assert_array_equal(r.levels, key)
    assert r.energy == pytest.approx(best) and r.n_accepted >= 1


def test_pairs_stops_when_no_single_or_pair_move_improves():
    """At a local optimum of single and pair moves the rule asks the sampler nothing; from a
    random start it ends there (checked by enumerating every single and pair move)."""
    problem = make_problem(4, 10, 3)
    rng = np.random.default_rng(4)
    start = rng.integers(problem.lower, problem.upper + 1)
    r = decompose(problem, start, exact_sampler, subproblem_size=6, window=3, selection="pairs")
    m = r.levels
    e = _qubo.energy(problem, m)
    for i, j in itertools.combinations(range(10), 2):
        for si, sj in itertools.product((-1, 0, 1), (-1, 0, 1)):
            new = m.copy()
            new[i] += si
            new[j] += sj
            if np.all(new >= problem.lower) and np.all(new <= problem.upper):
                assert _qubo.energy(problem, new) >= e - 1e-9
    again = decompose(problem, m, exact_sampler, subproblem_size=6, window=3, selection="pairs")
    assert again.n_calls == 0


# ---------------------------------------------------------------------------------------------
# the driver


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 12),
    n_bits=st.integers(1, 10),
    n_fixed=st.integers(0, 3),
    window=st.sampled_from([2, 3, 4, 8]),
    size=st.integers(3, 12),
    selection=st.sampled_from(_decompose.SELECTIONS),
)
def test_decompose_never_increases_energy_and_respects_bounds(
    seed, n, n_bits, n_fixed, window, size, selection
):
    problem = bounded_problem(seed, n, n_bits, min(n_fixed, n))
    rng = np.random.default_rng(seed)
    start = rng.integers(problem.lower, problem.upper + 1)
    for sampler in (random_sampler, exact_sampler if size <= 10 else random_sampler):
        r = decompose(
            problem,
            start,
            sampler,
            subproblem_size=size,
            window=window,
            selection=selection,
            seed=seed,
        )
        assert r.energy <= _qubo.energy(problem, start) + 1e-9
        assert r.energy == pytest.approx(_qubo.energy(problem, r.levels), abs=1e-8)
        assert np.all(r.levels >= problem.lower) and np.all(r.levels <= problem.upper)
        np.testing.assert_array_equal(r.levels[problem.fixed], problem.lower[problem.fixed])
        assert all(s <= size for s in r.sizes) and len(r.sizes) == r.n_calls
        assert r.levels.dtype == np.int64


@pytest.mark.parametrize("shape", [(4, 2, 0), (3, 3, 1), (2, 4, 0), (5, 3, 2), (16, 1, 0)])
def test_decompose_reaches_the_exact_optimum(shape):
    """Windows of every level and subproblems of every weight: the global optimum, whatever
    the start."""
    n, n_bits, n_fixed = shape
    for seed in range(3):
        problem = make_problem(seed, n, n_bits, n_fixed, classifier=seed != 1)
        key = brute_force(problem)
        start = np.random.default_rng(seed).integers(problem.lower, problem.upper + 1)
        solver = make_solver(
            "exact", {"decompose": True, "window": 2**n_bits, "subproblem_size": 16}
        )
        result = solver.solve(problem, initial=start, seed=seed)
        assert_optimal(result, problem, key)
        assert result.info["decomposed"] and result.info["qpu_calls"] >= 1


def test_small_windows_reach_the_optimum_of_a_separable_problem():
    """Windows of 4 levels walk a 10-bit weight all the way to its optimum."""
    H = np.diag([1.0, 2.0, 0.5])
    problem = QuadraticProblem(H, [-300.0, 500.0, 10.0], 1.0, -512.0, n_bits=10)
    key = brute_force_separable(problem)
    r = decompose(problem, np.full(3, 512), exact_sampler, subproblem_size=6, window=4)
    np.testing.assert_array_equal(r.levels, key)
    assert r.n_sweeps > 50  # about 300 / 2 levels per accepted window


def brute_force_separable(problem):
    m = np.arange(2**problem.n_bits)
    out = []
    for j in range(problem.n_variables):
        w = problem.offset[j] + problem.delta[j] * m
        out.append(int(np.argmin(problem.h[j] * w + 0.5 * problem.H[j, j] * w * w)))
    return np.array(out)


def test_decompose_stops_on_request():
    problem = make_problem(0, 8, 4)
    start = np.zeros(8, dtype=np.int64)
    r = decompose(problem, start, exact_sampler, subproblem_size=8, window=4, max_calls=3)
    assert r.n_calls == 3 and r.stopped
    calls = []
    r = decompose(
        problem,
        start,
        exact_sampler,
        subproblem_size=8,
        window=4,
        should_stop=lambda: len(calls) >= 2 or calls.append(1),
    )
    assert r.n_calls == 2 and r.stopped
    with pytest.raises(ValueError, match="cannot hold"):
        decompose(problem, start, exact_sampler, subproblem_size=1, window=4)
    with pytest.raises(ValueError, match="within the bounds"):
        decompose(problem, np.full(8, 99), exact_sampler, subproblem_size=8)


def test_impact_selection_takes_the_best_moves_first():
    problem = QuadraticProblem(
        np.eye(4), [0.0, -5.0, 0.1, -9.0], 1.0, 0.0, n_bits=3, lower=0, upper=7
    )
    seen = []

    def spy(Q, seed):
        seen.append(Q.shape[0])
        return exact_sampler(Q, seed)

    r = decompose(problem, np.zeros(4, dtype=np.int64), spy, subproblem_size=4, window=4)
    assert r.n_accepted >= 1 and seen[0] == 4
    np.testing.assert_array_equal(r.levels, [0, 5, 0, 7])  # clipped at the top for h = -9


# ---------------------------------------------------------------------------------------------
# sampler_params and the Solver


@pytest.mark.parametrize(
    "params, match",
    [
        ({"decompose": "yes"}, "'auto', True or False"),
        ({"window": 1}, "int >= 2"),
        ({"window": 2.5}, "int >= 2"),
        ({"subproblem_size": 0}, "positive int"),
        ({"subproblem_size": 2, "window": 8}, "cannot hold"),
        ({"selection": "random"}, "'impact'"),
        ({"qpu_budget": 0}, "positive number of seconds"),
        ({"qpu_budget": float("inf")}, "positive number of seconds"),
        ({"max_subproblems": -1}, "positive int"),
    ],
)
def test_bad_decompose_params(params, match):
    for name in ("qpu", "exact", "tabu"):
        with pytest.raises(ValueError, match=match):
            check_sampler(name, params)
    with pytest.raises(ValueError, match=match):
        check_sampler(dimod.ExactSolver(), params)


def test_decompose_keys_where_they_belong():
    with pytest.raises(ValueError, match="unknown sampler_params key 'window'"):
        check_sampler("sa", {"window": 4})
    with pytest.raises(ValueError, match="sampler='hybrid' does itself"):
        check_sampler("hybrid", {"decompose": True})
    assert check_sampler("tabu", {"decompose": True, "window": 8})["window"] == 8


def test_instance_never_receives_quboclf_keys():
    class Recorder(dimod.ExactSolver):
        def sample(self, bqm, **kwargs):
            self.kwargs = kwargs
            return super().sample(bqm)

    sampler = Recorder()
    params = {"decompose": True, "subproblem_size": 8, "window": 4, "qpu_budget": 5.0}
    problem = make_problem(0, 4, 4)
    make_solver(sampler, params).solve(problem, initial=np.full(4, 8), seed=0)
    assert sampler.kwargs == {}


def test_partial_bounds_are_solved_by_decomposition():
    problem = bounded_problem(1, 5, 3, n_fixed=1)
    key = brute_force(problem)
    result = make_solver("exact", {"decompose": "auto", "window": 8}).solve(problem, seed=0)
    assert result.info["decomposed"]
    assert_optimal(result, problem, key)


def test_cold_start_is_within_bounds():
    problem = bounded_problem(2, 6, 4, n_fixed=2)
    m = _samplers._start_levels(problem)
    assert np.all(m >= problem.lower) and np.all(m <= problem.upper)


# ---------------------------------------------------------------------------------------------
# the QPU, offline (Pegasus-4 mock: largest clique 36) (fixture mock_qpu in conftest.py)


def test_qpu_decomposes_large_problems_and_records_each_call(mock_qpu):
    problem = make_problem(0, 30, 6)  # 180 bits > 36-clique, 6 bits > a 4-level window
    start = _samplers._start_levels(problem)
    solver = make_solver("qpu", {"num_reads": 10, "subproblem_size": 20})
    result = solver.solve(problem, initial=start, seed=0)
    info = result.info
    assert result.energy <= _qubo.energy(problem, start) + 1e-9
    assert info["decomposed"] and info["subproblem_size"] == 20 and info["window"] == 4
    assert info["largest_clique_size"] == 36
    assert info["qpu_calls"] == len(info["subproblem_sizes"]) == len(info["qpu_access_times"])
    assert info["qpu_calls"] >= 3  # 30 weights x 2 qubits in subproblems of 20: a sweep is 3
    assert all(0 < s <= 20 for s in info["subproblem_sizes"])
    assert all(t > 0 for t in info["qpu_access_times"])
    assert info["qpu_access_time"] == pytest.approx(sum(info["qpu_access_times"]))
    assert info["qpu_access_time_source"] == "estimated"
    assert 0 <= info["n_accepted"] <= info["qpu_calls"] and info["n_sweeps"] >= 1
    assert info["num_qubits"] >= 10 and info["topology"] == "pegasus[4]"
    assert not info["budget_exhausted"]
    usage = solver.usage
    assert usage["sampler_calls"] == info["qpu_calls"]
    assert usage["qpu_access_time"] == pytest.approx(info["qpu_access_time"])
    # the subproblem size is capped by the clique
    capped = make_solver("qpu", {"num_reads": 5, "subproblem_size": 500, "max_subproblems": 1})
    assert capped.solve(problem, initial=start).info["subproblem_size"] == 36


def test_qpu_reaches_the_optimum_of_small_problems(mock_qpu):
    # 6 bits: a window of 4 levels covers everything, and the mock solves small embedded
    # problems exactly (its substitute is steepest descent: weak on larger ones)
    for seed in range(3):
        problem = make_problem(seed, 3, 2)
        key = brute_force(problem)
        params = {"num_reads": 20, "subproblem_size": 6, "decompose": True}
        result = make_solver("qpu", params).solve(problem, initial=np.zeros(3, int), seed=0)
        assert_optimal(result, problem, key)
        assert result.info["decomposed"]


def test_budget_stops_cleanly_and_warns_once(mock_qpu):
    problem = make_problem(1, 30, 6)
    start = _samplers._start_levels(problem)
    solver = make_solver("qpu", {"num_reads": 10, "subproblem_size": 20, "qpu_budget": 0.05})
    with pytest.warns(QPUBudgetWarning, match="budget of 0.05 s") as record:
        first = solver.solve(problem, initial=start, seed=0)
        second = solver.solve(problem, initial=start, seed=1)
    assert len(record) == 1
    assert first.info["budget_exhausted"] and first.info["qpu_calls"] >= 1
    assert first.energy <= _qubo.energy(problem, start) + 1e-9
    # the fit stops at the first call that reaches the budget
    times = first.info["qpu_access_times"]
    assert sum(times[:-1]) < 0.05e6 <= sum(times) == pytest.approx(solver.usage["qpu_access_time"])
    assert second.info["qpu_calls"] == 0
    np.testing.assert_array_equal(second.levels, start)
    assert solver.usage["budget_exhausted"]


def test_budget_ends_a_classifier_fit_with_a_usable_model(mock_qpu):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 12))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    clf = QUBOCNNClassifier(
        features="passthrough",
        n_bits=6,
        sampler="qpu",
        max_iter=5,
        sampler_params={"num_reads": 5, "qpu_budget": 0.05},
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("error", category=QPUBudgetWarning)
        with pytest.raises(QPUBudgetWarning):
            clf.fit(X, y)
    assert not hasattr(clf, "coef_")  # a fit that raises leaves the estimator unchanged
    with pytest.warns(QPUBudgetWarning):
        clf.fit(X, y)
    assert clf.predict(X).shape == (120,) and clf.score(X, y) > 0.5
    qpu = clf.solver_info_["qpu_access_time"]
    assert np.nansum(qpu) >= 0.05e6


def test_budget_ends_a_quantizer_fit_with_a_usable_model(mock_qpu):
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from quboclf import QUBOQuantizer

    X, y = load_digits(return_X_y=True)
    X = X[:300, :40] / 16.0
    y = y[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    q = QUBOQuantizer(
        mlp,
        n_bits=4,
        sampler="qpu",
        n_calibration=100,
        random_state=0,
        sampler_params={"num_reads": 5, "qpu_budget": 0.1},
    )
    with pytest.warns(QPUBudgetWarning):
        q.fit(X, y)
    assert q.predict(X).shape == (300,)
    for layer in q.layers_:  # never worse than rounding to nearest
        assert layer.error_qubo <= layer.error_nearest + 1e-9


def test_quantizer_qpu_runs_first_and_records_its_share(mock_qpu):
    """sampler="qpu": the QPU's subproblems from the best start, then the local search; the
    records give the objective after each part, and the answer is never worse than "sa"."""
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    from quboclf import QUBOQuantizer

    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16.0
    y = y[:300]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((8,), max_iter=50, random_state=0).fit(X, y)
    kw = {"n_bits": 4, "n_calibration": 100, "random_state": 0}
    sa = QUBOQuantizer(mlp, sampler="sa", **kw).fit(X, y)
    qpu = QUBOQuantizer(mlp, sampler="qpu", sampler_params={"num_reads": 20}, **kw).fit(X, y)
    for a, b in zip(qpu.layers_, sa.layers_):
        assert a.error_qubo <= b.error_qubo * (1 + 1e-9)
        assert a.error_qubo <= a.error_sampler * (1 + 1e-9)
        assert a.error_sampler <= a.error_start * (1 + 1e-9)
        assert a.sampler_calls > 0 and a.qpu_access_time > 0
        assert 0 <= a.n_from_sampler <= len(a.proven)
        assert b.error_sampler is None and b.sampler_calls == 0 and b.qpu_access_time is None
        assert b.error_start == pytest.approx(a.error_start)
    hidden = qpu.layers_[0]
    assert hidden.error_sampler < hidden.error_start  # the QPU improved on the start


def test_qubo_round_keeps_a_first_solver_only_where_it_is_better():
    """``first`` runs before the local search; a neuron keeps the better of the polished
    first answer and the local search from the start; ``stages`` records both."""
    from quboclf._ptq import gptq, layer_rounding, qubo_round

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 12))
    X[:, 1] = X[:, 0] + 0.05 * rng.normal(size=200)  # correlated inputs
    W, b = rng.normal(size=(5, 12)), rng.normal(size=5)
    lr = layer_rounding(X, W, b, 0.3, 0.3, 4)
    starts = [gptq(lr, act_order=False), gptq(lr, act_order=True)]
    plain, _ = qubo_round(lr, neighbourhood=2, starts=starts, max_exact=0)
    stages = {}
    same, _ = qubo_round(lr, neighbourhood=2, starts=starts, max_exact=0, stages=stages,
                         first=lambda l, lo, hi, k: k)
    np.testing.assert_array_equal(same, plain)  # a first solver that changes nothing
    assert stages["sampler_path"].all()  # ties go to the first solver's path
    np.testing.assert_allclose(stages["start"], stages["sampler"])
    stages = {}
    worse, _ = qubo_round(lr, neighbourhood=2, starts=starts, max_exact=0, stages=stages,
                          first=lambda l, lo, hi, k: lo)
    assert np.all(lr.objectives(worse) <= lr.objectives(plain) + 1e-12)  # never worse
    assert np.all(stages["sampler"] <= stages["start"] + 1e-12)
    with pytest.raises(RuntimeError, match="outside neuron 0's bounds"):
        qubo_round(lr, neighbourhood=2, starts=starts, first=lambda l, lo, hi, k: k - 99)


def test_a_race_on_the_clique_cache_is_retried(mock_qpu, monkeypatch):
    from dwave.system.testing import MockDWaveSampler

    real = MockDWaveSampler.sample
    failures = [FileNotFoundError("'.lru~' -> '.lru'")]

    def flaky(self, bqm, **kwargs):
        if failures:
            raise failures.pop()
        return real(self, bqm, **kwargs)

    monkeypatch.setattr(MockDWaveSampler, "sample", flaky)
    problem = make_problem(0, 6, 4)
    result = make_solver("qpu", {"num_reads": 5}).solve(problem, initial=np.full(6, 8), seed=0)
    assert result.info["qpu_calls"] >= 1 and not failures


def test_mock_timing_follows_the_model():
    t1 = _samplers.estimate_qpu_access_time(100, 1)
    t100 = _samplers.estimate_qpu_access_time(100, 100)
    t100_big = _samplers.estimate_qpu_access_time(2000, 100)
    assert 14_000 < t1 < t100 < t100_big  # programming, then reads, then readout per qubit
    assert _samplers.estimate_qpu_access_time(100, 100, annealing_time=200) > t100


# ---------------------------------------------------------------------------------------------
# the noisy mock


def test_noise_free_mock_is_its_child():
    bqm = dimod.generators.gnp_random_bqm(8, 0.8, "BINARY", random_state=1)
    ss = NoisyMockSampler(0.0, child=dimod.ExactSolver()).sample(bqm, seed=0)
    assert ss.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)
    assert ss.info["noise_scale"] == 0.0


@pytest.mark.parametrize("vartype", ["BINARY", "SPIN"])
def test_noisy_answers_carry_true_energies(vartype):
    bqm = dimod.generators.gnp_random_bqm(10, 0.8, vartype, random_state=2)
    sampler = NoisyMockSampler(0.3, child=dimod.ExactSolver())
    ss = sampler.sample(bqm, seed=3)
    assert ss.vartype is bqm.vartype
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss))
    h, (_, _, J), _ = bqm.change_vartype("SPIN", inplace=False).to_numpy_vectors()
    assert ss.info["noise_scale"] == pytest.approx(0.3 * max(np.abs(h).max() / 4, np.abs(J).max()))
    # the noise is reproducible and changes the answer distribution
    again = sampler.sample(bqm, seed=3)
    np.testing.assert_array_equal(ss.record.sample, again.record.sample)


class GroundState(dimod.Sampler):
    """The exact ground state only (of the problem it is given: the noisy one)."""

    parameters = {"num_reads": []}
    properties = {}

    def sample(self, bqm, **kwargs):
        return dimod.ExactSolver().sample(bqm).truncate(1)


def test_noise_degrades_answers():
    bqm = dimod.generators.gnp_random_bqm(12, 1.0, "BINARY", random_state=4)
    best = dimod.ExactSolver().sample(bqm).first.energy
    gaps = []
    for sigma in (0.0, 0.5):
        sampler = NoisyMockSampler(sigma, child=GroundState())
        firsts = [sampler.sample(bqm, seed=s).first.energy for s in range(20)]
        gaps.append(np.mean(firsts) - best)
    assert gaps[0] == pytest.approx(0.0, abs=1e-9) and gaps[1] > 0


def test_noisy_mock_as_a_decomposed_sampler():
    problem = make_problem(5, 10, 5)
    start = _samplers._start_levels(problem)
    solver = make_solver(
        NoisyMockSampler(0.05), {"decompose": True, "subproblem_size": 12, "num_reads": 20}
    )
    result = solver.solve(problem, initial=start, seed=0)
    assert result.energy <= _qubo.energy(problem, start) + 1e-9
    assert result.info["decomposed"] and result.info["qpu_calls"] >= 2
    assert result.info["qpu_access_time_source"] == "estimated"
    assert result.info["qpu_access_time"] > 0


def test_noisy_mock_below_the_mock_qpu(monkeypatch):
    from dwave.samplers import SteepestDescentSampler
    from dwave.system.testing import MockDWaveSampler

    def factory(**config):
        return MockDWaveSampler(
            topology_type="pegasus",
            topology_shape=[4],
            substitute_sampler=NoisyMockSampler(0.03, child=SteepestDescentSampler()),
            parameter_warnings=False,
        )

    monkeypatch.setattr("dwave.system.samplers.clique.DWaveSampler", factory)
    problem = make_problem(6, 12, 4)
    start = _samplers._start_levels(problem)
    result = make_solver("qpu", {"num_reads": 10}).solve(problem, initial=start, seed=0)
    assert result.energy <= _qubo.energy(problem, start) + 1e-9
    assert result.info["decomposed"] and result.info["qpu_access_time"] > 0


def test_bad_noise_parameters():
    with pytest.raises(ValueError, match="sigma"):
        NoisyMockSampler(-0.1)
    with pytest.raises(ValueError, match="h_range"):
        NoisyMockSampler(0.1, h_range=0)
    with pytest.raises(ValueError, match="num_reads"):
        NoisyMockSampler(0.1).sample(dimod.BQM({0: 1.0}, {}, 0, "BINARY"), num_reads=0)


class Recording(dimod.Sampler):
    """Steepest descent that records what it was asked."""

    properties = {}

    def __init__(self):
        from dwave.samplers import SteepestDescentSampler

        self.child = SteepestDescentSampler()
        self.calls = []

    @property
    def parameters(self):
        return self.child.parameters

    def sample(self, bqm, **kwargs):
        self.calls.append(dict(kwargs))
        return self.child.sample(bqm, **kwargs)


def test_mock_qpu_reads_reach_the_noisy_child():
    from dwave.system.samplers import clique

    from quboclf.testing import mock_qpu

    real = clique.DWaveSampler
    child = Recording()
    problem = make_problem(6, 12, 4)
    start = _samplers._start_levels(problem)
    with mock_qpu(sigma=0.03, topology_shape=4, child=child):
        assert clique.DWaveSampler is not real
        solver = make_solver("qpu", {"num_reads": 7})
        result = solver.solve(problem, initial=start, seed=0)
        qpu = solver._dimod_sampler().child
    assert clique.DWaveSampler is real  # the patch ends with the block
    noisy = qpu.substitute_sampler
    assert isinstance(noisy, NoisyMockSampler) and noisy.sigma == 0.03 and noisy.child is child
    # every subproblem reached the child with the reads asked for, and a seed of its own
    assert len(child.calls) == result.info["qpu_calls"] > 0
    assert all(c["num_reads"] == 7 for c in child.calls)
    assert len({c["seed"] for c in child.calls}) == len(child.calls)
    assert result.energy <= _qubo.energy(problem, start) + 1e-9


def test_noisy_mock_passes_only_what_the_child_takes():
    bqm = dimod.generators.gnp_random_bqm(6, 0.8, "BINARY", random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # dimod warns on keys a sampler ignores
        ss = NoisyMockSampler(0.0, child=dimod.ExactSolver()).sample(
            bqm, num_reads=5, answer_mode="raw", seed=1
        )
    assert len(ss) == 2**6  # ExactSolver answers every state, whatever num_reads says
    child = Recording()
    NoisyMockSampler(0.0, child=child).sample(bqm, num_reads=5, answer_mode="raw", seed=1)
    assert child.calls[0]["num_reads"] == 5 and "answer_mode" not in child.calls[0]
