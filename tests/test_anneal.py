"""Tests of the structured simulated annealer (quboclf._anneal, quboclf._kernels._anneal).

The NumPy references below replay the kernels step by step (same random stream, same moves, the
energy tracked through ``ΔE = d (h_j + u_j) + ½ d² H_jj`` and ``u += d H[:, j]`` and checked against
``_qubo.energy`` after every accepted move); answer keys come from enumerating every level vector.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quboclf._anneal import AnnealResult, anneal, default_beta_range, descend
from quboclf._kernels import _anneal as kernels
from quboclf._qubo import QuadraticProblem, energy

MASK = (1 << 64) - 1


# --------------------------------------------------------------------------- problems


def random_problem(rng, n, n_bits, *, n_fixed=0, bounded=False, rank=None):
    """A random PSD problem; the first ``n_fixed`` variables (in a random order) are fixed."""
    B = rng.normal(size=(rank or n + 2, n))
    H = B.T @ B / B.shape[0] + 0.05 * np.eye(n)
    h = rng.normal(size=n)
    delta = rng.uniform(0.1, 1.0, size=n)
    offset = -delta * 2 ** (n_bits - 1) + rng.normal(scale=0.3, size=n)
    top = 2**n_bits - 1
    lower = np.zeros(n, dtype=np.int64)
    upper = np.full(n, top, dtype=np.int64)
    if bounded:
        lower = rng.integers(0, top // 2 + 1, size=n)
        upper = rng.integers(lower, top + 1)
    fixed = rng.permutation(n)[:n_fixed]
    lower[fixed] = upper[fixed] = rng.integers(lower[fixed], upper[fixed] + 1)
    return QuadraticProblem(H, h, delta, offset, n_bits, lower=lower, upper=upper)


def all_levels(problem):
    ranges = [range(lo, hi + 1) for lo, hi in zip(problem.lower, problem.upper)]
    return np.array(list(itertools.product(*ranges)), dtype=np.int64)


def brute_force(problem):
    levels = all_levels(problem)
    e = energy(problem, levels)
    return levels[np.argmin(e)], float(np.min(e))


# --------------------------------------------------------------------------- references


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return z or 0x2545F4914F6CDD1D


def xorshift(s):
    s ^= s >> 12
    s ^= (s << 25) & MASK
    s ^= s >> 27
    return s, (s * 2685821657736338717) & MASK


class Tracker:
    """Levels with ``u = H w`` and the energy kept up to date move by move (the bookkeeping)."""

    def __init__(self, problem, m):
        self.p = problem
        self.m = np.array(m, dtype=np.int64)
        self.u = problem.H @ (problem.offset + problem.delta * self.m)
        self.e = float(energy(problem, self.m))

    def delta_e(self, j, t):
        d = (t - self.m[j]) * self.p.delta[j]
        return d * (self.p.h[j] + self.u[j]) + 0.5 * d * d * self.p.H[j, j]

    def move(self, j, t, de):
        d = (t - self.m[j]) * self.p.delta[j]
        self.m[j] = t
        self.u += d * self.p.H[j]
        self.e += de
        exact = energy(self.p, self.m)
        assert math.isclose(self.e, exact, rel_tol=1e-9, abs_tol=1e-9 * self.scale())
        np.testing.assert_allclose(self.u, self.p.H @ (self.p.offset + self.p.delta * self.m))

    def scale(self):
        return 1.0 + float(np.abs(self.p.H).sum() * np.max(self.p.delta) ** 2 * 4**self.p.n_bits)


def descend_reference(problem, m, *, flips=False):
    """Greedy descent: best single-level change per variable (or single-bit flips), in order."""
    tr = Tracker(problem, m)
    free = np.flatnonzero(problem.free)
    changed = True
    while changed:
        changed = False
        for j in free:
            if flips:
                for k in range(problem.n_bits):
                    t = tr.m[j] ^ (1 << k)
                    if problem.lower[j] <= t <= problem.upper[j]:
                        de = tr.delta_e(j, t)
                        if de < -1e-13:
                            tr.move(j, t, de)
                            changed = True
                continue
            levels = np.arange(problem.lower[j], problem.upper[j] + 1)
            des = np.array([tr.delta_e(j, t) for t in levels])
            t = levels[np.argmin(des)]
            if t != tr.m[j] and des.min() < -1e-13:
                tr.move(j, t, des.min())
                changed = True
    return tr.m, tr.e


def anneal_read_reference(problem, m0, betas, seed, carry):
    """One read of ``anneal_levels`` without polish, replayed in Python on the same stream."""
    tr = Tracker(problem, m0)
    state = splitmix64(int(seed))
    free = np.flatnonzero(problem.free)
    best, e_best = tr.m.copy(), tr.e
    K = problem.n_bits
    for beta in betas:
        for j in free:
            lo, hi = problem.lower[j], problem.upper[j]
            for k in range(K):
                mj = tr.m[j]
                if carry:
                    state, bits = xorshift(state)
                    x = ((bits >> 32) * (2 * K)) >> 32
                    step = 1 << (x >> 1)
                    if x & 1:
                        t = min(mj + step, hi)
                        if t == mj:
                            t = max(mj - step, lo)
                    else:
                        t = max(mj - step, lo)
                        if t == mj:
                            t = min(mj + step, hi)
                else:
                    t = mj ^ (1 << k)
                    if t < lo or t > hi:
                        continue
                if t == mj:
                    continue
                de = tr.delta_e(j, t)
                if de > 0:
                    if beta * de > 40.0:
                        continue
                    state, bits = xorshift(state)
                    if (bits >> 11) / 2.0**53 >= math.exp(-beta * de):
                        continue
                tr.move(j, t, de)
        if tr.e < e_best:
            best, e_best = tr.m.copy(), tr.e
    final = tr.m.copy()
    return final if energy(problem, final) <= energy(problem, best) else best


# --------------------------------------------------------------------------- bookkeeping


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 6),
    n_bits=st.integers(1, 5),
    n_moves=st.integers(1, 30),
)
def test_move_bookkeeping_matches_energy(seed, n, n_bits, n_moves):
    # ΔE = d (h_j + u_j) + ½ d² H_jj and u += d H[:, j] track _qubo.energy exactly
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, n, n_bits)
    tr = Tracker(problem, rng.integers(0, 2**n_bits, size=n))
    for _ in range(n_moves):
        j = int(rng.integers(n))
        t = int(rng.integers(0, 2**n_bits))
        before = energy(problem, tr.m)
        de = tr.delta_e(j, t)
        tr.move(j, t, de)  # asserts the tracked energy and u against the exact ones
        assert math.isclose(energy(problem, tr.m) - before, de, abs_tol=1e-9 * tr.scale())


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), n_bits=st.integers(1, 10))
def test_field_and_energy_kernel(seed, n, n_bits):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, n, n_bits)
    m = rng.integers(0, 2**n_bits, size=n)
    u = np.empty(n)
    e = kernels.field_and_energy(
        problem.H, problem.h, problem.delta, problem.offset, problem.H @ problem.offset, m, u
    )
    np.testing.assert_allclose(u, problem.H @ (problem.offset + problem.delta * m))
    assert math.isclose(e, energy(problem, m), rel_tol=1e-9, abs_tol=1e-9)


def test_xorshift_reference_matches_kernel():
    s = kernels._splitmix64(np.uint64(12345))
    assert int(s) == splitmix64(12345)
    ref = int(s)
    for _ in range(5):
        s, bits = kernels._xorshift(np.uint64(s))  # a Python int would compile an int64 variant
        ref, ref_bits = xorshift(ref)
        assert (int(s), int(bits)) == (ref, ref_bits)


@pytest.mark.parametrize("carry", [True, False])
@pytest.mark.parametrize(
    "n, n_bits, n_fixed, bounded", [(3, 3, 0, False), (4, 2, 1, True), (5, 1, 2, False)]
)
def test_anneal_kernel_matches_reference(carry, n, n_bits, n_fixed, bounded):
    rng = np.random.default_rng(n * 10 + n_bits)
    problem = random_problem(rng, n, n_bits, n_fixed=n_fixed, bounded=bounded)
    m0 = rng.integers(problem.lower, problem.upper, endpoint=True)
    betas = np.geomspace(0.05, 20.0, 12)
    seeds = np.array([7, 2**31 - 1, 0], dtype=np.int64)
    levels = np.tile(m0, (3, 1))
    energies = np.empty(3)
    free = np.flatnonzero(problem.free).astype(np.int64)
    kernels.anneal_levels(
        problem.H, problem.h, problem.delta, problem.offset, problem.lower, problem.upper,
        n_bits, free, levels, betas, carry, seeds, False, energies,
    )  # fmt: skip
    for r in range(3):
        expected = anneal_read_reference(problem, m0, betas, seeds[r], carry)
        np.testing.assert_array_equal(levels[r], expected)
    np.testing.assert_allclose(energies, energy(problem, levels), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("flips", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_descent_kernels_match_reference(flips, seed):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, 5, 3, n_fixed=1, bounded=seed % 2 == 1)
    m0 = rng.integers(problem.lower, problem.upper, endpoint=True)
    expected, e_expected = descend_reference(problem, m0, flips=flips)
    m = m0.copy()
    u = problem.H @ (problem.offset + problem.delta * m)
    free = np.flatnonzero(problem.free).astype(np.int64)
    args = (problem.H, problem.h, problem.delta, problem.lower, problem.upper, free)
    if flips:
        total, _ = kernels.descend_flips(*args, problem.n_bits, m, u, 1000)
    else:
        total, _ = kernels.descend_levels(*args, m, u, 1000)
    np.testing.assert_array_equal(m, expected)
    assert math.isclose(energy(problem, m0) + total, e_expected, rel_tol=1e-9, abs_tol=1e-9)


# --------------------------------------------------------------------------- answer keys


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    "n, n_bits, n_fixed, bounded",
    [(4, 4, 0, False), (4, 4, 1, False), (16, 1, 0, False), (16, 1, 3, False), (3, 5, 0, True)],
)
def test_anneal_reaches_brute_force_minimum(seed, n, n_bits, n_fixed, bounded):
    rng = np.random.default_rng(1000 + seed)
    problem = random_problem(rng, n, n_bits, n_fixed=n_fixed, bounded=bounded, rank=2)
    m_star, e_star = brute_force(problem)
    result = anneal(problem, seed=seed)
    assert result.best_energy == pytest.approx(e_star, rel=1e-9, abs=1e-9)
    assert energy(problem, result.best_levels) == pytest.approx(e_star, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_anneal_from_warm_start_reaches_minimum_of_quantizer_like_problem(seed):
    # n_bits = 1, offset 0, H = 2 X̃ᵀX̃ shared: the quantizer's per-neuron problem
    # (quantizer guide, "The rounding objective")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 11))
    Xt = np.c_[X, np.ones(40)] * 0.1
    H = 2 * Xt.T @ Xt
    e_res = rng.normal(size=40)
    problem = QuadraticProblem(H, 2 * Xt.T @ e_res, delta=1.0, offset=0.0, n_bits=1)
    _, e_star = brute_force(problem)
    result = anneal(problem, initial=rng.integers(0, 2, size=12), seed=seed)
    assert result.best_energy == pytest.approx(e_star, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_descend_ends_in_a_local_minimum_of_single_level_changes(seed):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, 6, 4, n_fixed=1, bounded=True)
    m0 = rng.integers(problem.lower, problem.upper, endpoint=True)
    m, e = descend(problem, m0)
    assert e == pytest.approx(energy(problem, m), rel=1e-12, abs=1e-12)
    assert e <= energy(problem, m0) + 1e-12
    for j in range(problem.n_variables):
        for t in range(problem.lower[j], problem.upper[j] + 1):
            other = m.copy()
            other[j] = t
            assert energy(problem, other) >= e - 1e-9
    np.testing.assert_array_equal(descend(problem, m)[0], m)  # a fixed point


# --------------------------------------------------------------------------- properties


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    n_bits=st.integers(1, 8),
    n_fixed=st.integers(0, 3),
    moves=st.sampled_from(["carry", "flip"]),
    polish=st.booleans(),
    warm=st.booleans(),
)
def test_anneal_result_contract(seed, n, n_bits, n_fixed, moves, polish, warm):
    rng = np.random.default_rng(seed)
    problem = random_problem(rng, n, n_bits, n_fixed=min(n_fixed, n), bounded=seed % 3 == 0)
    H_before = problem.H.copy()
    initial = rng.integers(problem.lower, problem.upper, endpoint=True) if warm else None
    result = anneal(
        problem, initial=initial, num_reads=3, num_sweeps=20, moves=moves, seed=seed, polish=polish
    )
    assert isinstance(result, AnnealResult)
    assert result.levels.shape == (3, n) and result.levels.dtype == np.int64
    assert result.energies.shape == (3,)
    assert np.all(result.levels >= problem.lower) and np.all(result.levels <= problem.upper)
    fixed = problem.fixed
    assert np.all(result.levels[:, fixed] == problem.lower[fixed])
    np.testing.assert_allclose(result.energies, energy(problem, result.levels), atol=1e-9)
    assert result.best_energy == result.energies.min()
    np.testing.assert_array_equal(result.best_levels, result.levels[np.argmin(result.energies)])
    if warm:  # never worse than the warm start (the classifier's monotone loss relies on it)
        # up to rounding: incremental energies and energy() sum in different orders
        e0 = energy(problem, initial)
        assert np.all(result.energies <= e0 + 1e-12 + 1e-13 * abs(e0))
        if polish and moves == "carry":  # nor than descend() from it
            e1 = descend(problem, initial)[1]
            assert np.all(result.energies <= e1 + 1e-12 + 1e-13 * abs(e1))
    np.testing.assert_array_equal(problem.H, H_before)
    assert result.time_s >= 0


def test_same_seed_same_result_and_seeds_differ():
    problem = random_problem(np.random.default_rng(0), 8, 6)
    a = anneal(problem, seed=3, num_sweeps=30, polish=False)
    b = anneal(problem, seed=3, num_sweeps=30, polish=False)
    c = anneal(problem, seed=4, num_sweeps=30, polish=False)
    np.testing.assert_array_equal(a.levels, b.levels)
    np.testing.assert_array_equal(a.energies, b.energies)
    assert not np.array_equal(a.levels, c.levels)
    # reads are not copies of one another
    assert len({tuple(row) for row in a.levels}) > 1


def test_random_start_is_uniform_in_bounds_and_zero_sweeps_only_polish():
    problem = random_problem(np.random.default_rng(1), 5, 4, n_fixed=1, bounded=True)
    m0 = np.asarray(problem.lower + (problem.upper - problem.lower) // 2)
    result = anneal(problem, initial=m0, num_sweeps=0, num_reads=2)
    expected, e = descend(problem, m0)
    np.testing.assert_array_equal(result.levels, [expected, expected])
    raw = anneal(problem, initial=m0, num_sweeps=0, num_reads=1, polish=False)
    np.testing.assert_array_equal(raw.best_levels, m0)
    starts = anneal(problem, num_sweeps=0, num_reads=50, polish=False, seed=0).levels
    assert np.all(starts >= problem.lower) and np.all(starts <= problem.upper)
    free = problem.free
    assert np.all(starts[:, free].min(axis=0) == problem.lower[free])
    assert np.all(starts[:, free].max(axis=0) == problem.upper[free])


def test_initial_per_read():
    problem = random_problem(np.random.default_rng(2), 4, 3)
    initial = np.array([[0, 0, 0, 0], [7, 7, 7, 7]])
    result = anneal(problem, initial=initial, num_reads=2, num_sweeps=0, polish=False)
    np.testing.assert_array_equal(result.levels, initial)


def test_flip_moves_stall_where_carry_moves_do_not():
    # the best level is 1000 0000 (w* = 0.003 rounds to w = 0); from 0111 1111 every single flip
    # goes uphill, while one carry move (+1) gets there
    K = 8
    problem = QuadraticProblem(
        np.eye(1), np.array([-0.003]), delta=1 / 2 ** (K - 1), offset=-1.0, n_bits=K
    )
    start = np.array([2 ** (K - 1) - 1])  # 0111 1111, w = -1/128
    cold = (1e6, 1e6)
    flip = anneal(problem, initial=start, num_sweeps=10, beta_range=cold, moves="flip", seed=0)
    carry = anneal(problem, initial=start, num_sweeps=10, beta_range=cold, seed=0)
    _, e_star = brute_force(problem)
    assert carry.best_energy == pytest.approx(e_star)
    np.testing.assert_array_equal(carry.best_levels, [2 ** (K - 1)])
    np.testing.assert_array_equal(flip.best_levels, start)
    assert flip.best_energy > e_star + 5e-5


def test_shared_H_is_not_copied():
    # the quantizer builds many problems on one H: anneal must use it in place
    H = np.eye(3) * 2.0
    problems = [QuadraticProblem(H, np.full(3, s), 1.0, 0.0, 1) for s in (-1.0, 1.0)]
    assert all(p.H is H for p in problems)
    for p in problems:
        anneal(p, num_sweeps=5, seed=0)
    np.testing.assert_array_equal(H, np.eye(3) * 2.0)


# --------------------------------------------------------------------------- beta range


def test_default_beta_range_formula():
    rng = np.random.default_rng(5)
    problem = random_problem(rng, 6, 5, n_fixed=2)
    free = problem.free
    c = 0.5 * problem.delta[free] ** 2 * np.diag(problem.H)[free]
    hot, cold = default_beta_range(problem)
    assert hot == pytest.approx(math.log(2) / (4**4 * np.median(c)))
    assert cold == pytest.approx(math.log(100) / c.min())
    assert 0 < hot <= cold


def test_default_beta_range_degenerate_problems():
    fixed = QuadraticProblem(np.eye(2), np.ones(2), 1.0, 0.0, 2, lower=1, upper=1)
    assert default_beta_range(fixed) == (1.0, 1.0)
    linear = QuadraticProblem(np.zeros((2, 2)), np.array([1.0, -2.0]), 0.5, 0.0, 2)
    hot, cold = default_beta_range(linear)
    assert hot == pytest.approx(math.log(2) / (4 * 0.75)) and cold == pytest.approx(
        math.log(100) / 0.5
    )
    assert default_beta_range(QuadraticProblem(np.zeros((2, 2)), 0.0, 1.0, 0.0, 2)) == (1.0, 1.0)
    # a linear problem still anneals to its corner
    result = anneal(linear, seed=0)
    np.testing.assert_array_equal(result.best_levels, [0, 3])


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_reads": 0}, ValueError, "num_reads must be >= 1"),
        ({"num_reads": 2.0}, TypeError, "num_reads must be an int"),
        ({"num_sweeps": -1}, ValueError, "num_sweeps must be >= 0"),
        ({"moves": "swap"}, ValueError, "moves must be one of"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        ({"seed": -1}, ValueError, "non-negative"),
        ({"beta_range": (0.0, 1.0)}, ValueError, "positive finite"),
        ({"beta_range": 3.0}, TypeError, "pair"),
        ({"initial": [0, 1]}, ValueError, r"initial must have shape \(3,\)"),
        ({"initial": [0, 1, 8]}, ValueError, "variable 2 must lie in"),
        ({"initial": [0.5, 1, 2]}, ValueError, "integer levels"),
    ],
)
def test_anneal_bad_input(kwargs, error, match):
    problem = QuadraticProblem(np.eye(3), np.ones(3), 1.0, 0.0, 3)
    with pytest.raises(error, match=match):
        anneal(problem, **kwargs)


def test_bad_problem_and_descend_input():
    with pytest.raises(TypeError, match="QuadraticProblem"):
        anneal(np.eye(3))
    problem = QuadraticProblem(np.eye(2), np.ones(2), 1.0, 0.0, 2, lower=[0, 1], upper=[3, 1])
    with pytest.raises(ValueError, match="variable 1 must lie in"):
        descend(problem, [0, 0])
    with pytest.raises(ValueError, match="must have shape"):
        descend(problem, [[0, 1]])


def test_polish_passes_cap():
    # a fine grid on an ill-conditioned problem: coordinate descent creeps for many passes
    rng = np.random.default_rng(7)
    B = rng.normal(size=(40, 30))
    H = B.T @ B / 40 + 1e-4 * np.eye(30)
    problem = QuadraticProblem(H, rng.normal(size=30), 4.0 / 2**19, -4.0, n_bits=20)
    start = np.full(30, 2**19, dtype=np.int64)
    from quboclf._anneal import POLISH_PASSES

    def run(polish):
        return anneal(problem, initial=start, num_reads=1, num_sweeps=2, seed=3, polish=polish)

    capped, default, raw = run(POLISH_PASSES), run(True), run(False)
    np.testing.assert_array_equal(capped.levels, default.levels)
    np.testing.assert_array_equal(run(0).levels, raw.levels)
    one = run(1)
    assert raw.best_energy >= one.best_energy >= capped.best_energy
    # the uncapped descent goes further: the cap is what bounds the work
    _, full_energy = descend(problem, capped.best_levels)
    assert full_energy < capped.best_energy
    with pytest.raises(ValueError, match="polish"):
        run(-1)
