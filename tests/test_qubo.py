"""Encoding, QUBO assembly and BQM conversion of :mod:`quboclf._qubo`."""

import itertools

import dimod
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quboclf._kernels._assembly import assemble_qubo
from quboclf._qubo import (
    MAX_BITS,
    QuadraticProblem,
    bits_to_levels,
    continuous_minimum,
    decode,
    encode,
    energy,
    free_bits,
    grid_step,
    levels_to_bits,
    objective,
    on_grid,
    qubo_matrix,
    qubo_matrix_reference,
    sample_to_levels,
    to_bqm,
)

SETTINGS = settings(max_examples=60, deadline=None)


def random_problem(rng, n, K, *, rank=None, fixed=None):
    """Random PSD ``H = B Bᵀ`` (rank ``rank``), ``h``, ``delta > 0``, ``offset``."""
    rank = n if rank is None else rank
    B = rng.normal(size=(n, rank)) * rng.uniform(0.1, 3.0)
    lower = upper = None
    if fixed is not None:
        level = rng.integers(0, 2**K, size=n)
        lower = np.where(fixed, level, 0)
        upper = np.where(fixed, level, 2**K - 1)
    return QuadraticProblem(
        B @ B.T,
        rng.normal(size=n) * rng.uniform(0.1, 10.0),
        rng.uniform(0.01, 2.0, size=n),
        rng.normal(size=n),
        K,
        lower=lower,
        upper=upper,
    )


@st.composite
def problems(draw, max_n=6, max_bits=6, with_fixed=False):
    n = draw(st.integers(1, max_n))
    K = draw(st.integers(1, max_bits))
    rank = draw(st.integers(1, n + 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    fixed = None
    if with_fixed:
        fixed = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return random_problem(rng, n, K, rank=rank, fixed=fixed), rng


def random_levels(rng, problem, size):
    return rng.integers(problem.lower, problem.upper + 1, size=(size, problem.n_variables))


def assert_energies_close(qubo_energies, levels, problem, Q):
    """Compare with a tolerance scaled by the magnitude of the summed terms."""
    expected = energy(problem, levels)
    bits = levels_to_bits(levels, problem.n_bits).astype(np.float64)
    scale = np.einsum("ri,ij,rj->r", bits, np.abs(Q), bits) + np.abs(expected)
    np.testing.assert_array_less(np.abs(qubo_energies - expected), 1e-9 * scale + 1e-12)


# ----------------------------------------------------------------------------------- encoding


def test_grid_step_and_decode_answer_key():
    assert grid_step(1.0, 1) == 1.0
    assert grid_step(1.0, 10) == 1.0 / 512
    np.testing.assert_array_equal(grid_step([2.0, 4.0], 2), [1.0, 2.0])
    np.testing.assert_array_equal(decode(np.arange(4), 1.0, 2), [-1.0, -0.5, 0.0, 0.5])
    # K = 1: the grid is {-R, 0}
    np.testing.assert_array_equal(decode([0, 1], 3.0, 1), [-3.0, 0.0])
    np.testing.assert_array_equal(encode([-5.0, -2.0, -1.0, 0.2, 9.0], 3.0, 1), [0, 0, 1, 1, 1])


@pytest.mark.parametrize("K", [2, 10, 16, 24, MAX_BITS])
def test_encoding_large_bits(K):
    R = 1.5
    half = 2 ** (K - 1)
    m = np.array([0, 1, half - 1, half, half + 1, 2**K - 1])
    w = decode(m, R, K)
    assert w[0] == -R and w[3] == 0.0
    np.testing.assert_array_equal(encode(w, R, K), m)
    assert np.all(on_grid(w, R, K))
    np.testing.assert_array_equal(bits_to_levels(levels_to_bits(m, K), K), m)
    np.testing.assert_array_equal(encode([-np.inf, np.inf, 1e300], R, K), [0, 2**K - 1, 2**K - 1])


@SETTINGS
@given(
    K=st.integers(1, 6),
    R=st.floats(1e-3, 1e3),
    t=st.lists(st.floats(-3.0, 3.0), min_size=1, max_size=20),
)
def test_decode_encode_is_nearest_grid_point(K, R, t):
    w = np.array(t) * R
    got = decode(encode(w, R, K), R, K)
    grid = decode(np.arange(2**K), R, K)
    best = np.abs(w[:, None] - grid[None, :]).min(axis=1)
    np.testing.assert_allclose(np.abs(got - w), best, rtol=1e-12, atol=1e-12 * R)
    assert np.all(on_grid(got, R, K))
    # clipping at the ends
    assert np.all(got[w <= -R] == -R)
    assert np.all(got[w >= R] == grid[-1])


@SETTINGS
@given(K=st.integers(1, MAX_BITS), R=st.floats(1e-3, 1e3))
def test_encode_decode_round_trip_and_on_grid(K, R):
    m = np.unique(np.r_[0:16, 2 ** (K - 1) - 8 : 2 ** (K - 1) + 8, 2**K - 16 : 2**K])
    m = m[(m >= 0) & (m < 2**K)]
    w = decode(m, R, K)
    np.testing.assert_array_equal(encode(w, R, K), m)
    assert np.all(on_grid(w, R, K))
    # as the estimators compute them: offset + delta * m
    assert np.all(on_grid(-R + grid_step(R, K) * m, R, K))
    delta = grid_step(R, K)
    # midpoints and points outside [-R, R - delta] are off the grid
    assert not np.any(on_grid(w[:-1] + delta / 2, R, K))
    assert not np.any(on_grid([-R - delta, R, R + delta], R, K))


def test_on_grid_broadcasts_per_weight_range():
    R = np.array([1.0, 2.0, 4.0])
    W = decode(np.array([[0, 1, 3], [2, 2, 2]]), R, 2)
    assert np.all(on_grid(W, R, 2))
    W[1, 2] += 1e-3
    np.testing.assert_array_equal(on_grid(W, R, 2), [[True, True, True], [True, True, False]])


@SETTINGS
@given(
    K=st.integers(1, MAX_BITS),
    shape=st.tuples(st.integers(1, 4), st.integers(1, 5)),
    seed=st.integers(0, 2**32 - 1),
)
def test_levels_bits_round_trip(K, shape, seed):
    m = np.random.default_rng(seed).integers(0, 2**K, size=shape)
    b = levels_to_bits(m, K)
    assert b.shape == (shape[0], shape[1] * K) and b.dtype == np.uint8
    assert set(np.unique(b)) <= {0, 1}
    np.testing.assert_array_equal(bits_to_levels(b, K), m)
    # bit k of level j sits at index j * K + k
    j, k = shape[1] - 1, K - 1
    np.testing.assert_array_equal(b[:, j * K + k], (m[:, j] >> k) & 1)


def test_levels_bits_answer_key():
    np.testing.assert_array_equal(levels_to_bits([5, 2], 3), [1, 0, 1, 0, 1, 0])
    np.testing.assert_array_equal(bits_to_levels([[1, 1, 0, 0], [0, 1, 1, 1]], 2), [[3, 0], [2, 3]])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: grid_step(0.0, 3), "positive"),
        (lambda: grid_step(1.0, 0), "n_bits"),
        (lambda: grid_step(1.0, MAX_BITS + 1), "n_bits"),
        (lambda: grid_step(1.0, 2.5), "integer"),
        (lambda: encode([np.nan], 1.0, 3), "NaN"),
        (lambda: levels_to_bits([8], 3), r"\[0, 8\)"),
        (lambda: levels_to_bits([-1], 3), r"\[0, 8\)"),
        (lambda: levels_to_bits([1.5], 3), "integers"),
        (lambda: bits_to_levels([1, 0, 1], 2), "multiple of n_bits"),
    ],
)
def test_encoding_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


# ---------------------------------------------------------------------------------- problem


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"H": np.ones((2, 3))}, "square"),
        ({"h": np.ones(3)}, "h must have shape"),
        ({"delta": np.array([1.0, 0.0])}, "positive"),
        ({"offset": np.array([np.nan, 0.0])}, "offset contains NaN"),
        ({"H": np.array([[1.0, np.inf], [np.inf, 1.0]])}, "H contains NaN"),
        ({"n_bits": 0}, "n_bits"),
        ({"n_bits": MAX_BITS + 1}, "n_bits"),
        ({"lower": np.array([0, 4]), "upper": np.array([3, 4])}, "bounds must lie"),
        ({"lower": np.array([2, 0]), "upper": np.array([1, 3])}, "lower bound"),
    ],
)
def test_problem_validation(kwargs, match):
    args = {"H": np.eye(2), "h": np.zeros(2), "delta": np.ones(2), "offset": 0.0, "n_bits": 2}
    with pytest.raises(ValueError, match=match):
        QuadraticProblem(**{**args, **kwargs})


def test_problem_shares_H():
    H = np.eye(3)
    p = QuadraticProblem(H, np.zeros(3), 1.0, 0.0, 2)
    assert p.H is H
    assert p.fixed.tolist() == [False] * 3 and p.free.all()


def test_free_and_fixed_masks():
    p = QuadraticProblem(np.eye(3), 0.0, 1.0, 0.0, 2, lower=[0, 2, 1], upper=[3, 2, 2])
    assert p.free.tolist() == [True, False, True]
    assert p.fixed.tolist() == [False, True, False]


# -------------------------------------------------------------------------------- QUBO matrix


def test_qubo_matrix_answer_key():
    # f(w) = w0² + w0 w1 + w1² - w0, w = -1 + 0.5 m, K = 2: bit values s = (0.5, 1, 0.5, 1)
    H = np.array([[2.0, 1.0], [1.0, 2.0]])
    p = QuadraticProblem(H, np.array([-1.0, 0.0]), 0.5, -1.0, 2)
    # c = h + H·offset = (-4, -3); diagonal q + ½ s² H_jj, pairs s_r s_c H_ij
    expected = np.array(
        [
            [-2.0 + 0.25, 1.0, 0.25, 0.5],
            [0.0, -4.0 + 1.0, 0.5, 1.0],
            [0.0, 0.0, -1.5 + 0.25, 1.0],
            [0.0, 0.0, 0.0, -3.0 + 1.0],
        ]
    )
    np.testing.assert_allclose(qubo_matrix(p), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(qubo_matrix_reference(p), expected, rtol=0, atol=1e-15)


@SETTINGS
@given(problems())
def test_qubo_energy_equals_problem_energy(problem_rng):
    p, rng = problem_rng
    Q = qubo_matrix(p)
    m = np.vstack([np.zeros(p.n_variables, np.int64), random_levels(rng, p, 16), p.upper])
    b = levels_to_bits(m, p.n_bits).astype(np.float64)
    e = np.einsum("ri,ij,rj->r", b, Q, b)
    assert e[0] == 0.0
    assert_energies_close(e, m, p, Q)


@SETTINGS
@given(problems())
def test_kernel_matches_reference(problem_rng):
    p, _ = problem_rng
    ref = qubo_matrix_reference(p)
    N = p.n_qubo_variables
    out = np.full((N, N), np.nan)  # every entry must be overwritten
    Q = qubo_matrix(p, out=out)
    assert Q is out
    np.testing.assert_allclose(Q, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert np.all(np.tril(Q, -1) == 0.0)


@pytest.mark.parametrize("K", [10, 16, 24, MAX_BITS])
def test_qubo_energy_large_bits(K):
    rng = np.random.default_rng(K)
    p = random_problem(rng, 3, K)
    Q = qubo_matrix(p)
    np.testing.assert_allclose(
        Q, qubo_matrix_reference(p), rtol=1e-12, atol=1e-12 * np.abs(Q).max()
    )
    m = random_levels(rng, p, 20)
    b = levels_to_bits(m, K).astype(np.float64)
    assert_energies_close(np.einsum("ri,ij,rj->r", b, Q, b), m, p, Q)


def test_qubo_matrix_rejects_bad_out():
    p = QuadraticProblem(np.eye(2), np.zeros(2), 1.0, 0.0, 2)
    for out in [np.empty((4, 3)), np.empty((4, 4), np.float32), np.empty((4, 4), order="F")]:
        with pytest.raises(ValueError, match="out must be"):
            qubo_matrix(p, out=out)


def test_assemble_qubo_kernel_direct():
    H = np.array([[1.0]])
    Q = assemble_qubo(H, np.array([1.0]), np.array([1.0]), np.array([0.0]), 1, np.empty((1, 1)))
    # f(w) = w + ½w², w ∈ {0, 1}: energy of b = 1 is 1.5
    assert Q[0, 0] == 1.5


@SETTINGS
@given(problems(max_n=5, max_bits=4), st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_classifier_surrogate_identity(problem_rng, seed, alpha):
    # h = g - H w_t makes the energy the change of the majorising surrogate from w(0) = -R
    p, _ = problem_rng
    rng = np.random.default_rng(seed)
    n, K = p.n_variables, p.n_bits
    H = p.H + alpha * np.eye(n)
    R = rng.uniform(0.1, 5.0, size=n)
    w_t = decode(rng.integers(0, 2**K, size=n), R, K)
    g = rng.normal(size=n)
    prob = QuadraticProblem(H, g - H @ w_t, grid_step(R, K), -R, K)

    def surrogate(w):
        d = w - w_t
        return g @ d + 0.5 * d @ H @ d

    Q = qubo_matrix(prob)
    for m in rng.integers(0, 2**K, size=(8, n)):
        b = levels_to_bits(m, K).astype(np.float64)
        expected = surrogate(decode(m, R, K)) - surrogate(-R)
        scale = b @ np.abs(Q) @ b + abs(expected)
        assert abs(b @ Q @ b - expected) <= 1e-9 * scale + 1e-12
        assert abs(energy(prob, m) - expected) <= 1e-9 * scale + 1e-12


# ------------------------------------------------------------------------- continuous minimum


@SETTINGS
@given(problems(max_n=4, max_bits=3), st.booleans())
def test_continuous_minimum_is_lower_bound(problem_rng, h_in_range):
    p, rng = problem_rng
    if h_in_range:
        p = QuadraticProblem(p.H, p.H @ rng.normal(size=p.n_variables), p.delta, p.offset, p.n_bits)
    lb = continuous_minimum(p)
    if h_in_range:
        assert np.isfinite(lb)
    levels = np.array(list(itertools.product(range(2**p.n_bits), repeat=p.n_variables)))
    f = objective(p, levels)
    assert np.all(lb <= f + 1e-9 * (np.abs(f) + 1.0))


def test_continuous_minimum_answer_keys():
    h = np.array([1.0, -2.0])
    p = QuadraticProblem(np.diag([2.0, 4.0]), h, 0.1, 0.0, 3)
    assert continuous_minimum(p) == pytest.approx(-(1.0 / 4 + 4.0 / 8))
    # singular H, h outside its range: f is unbounded below
    p = QuadraticProblem(np.diag([1.0, 0.0]), h, 0.1, 0.0, 3)
    assert continuous_minimum(p) == -np.inf
    # singular H, h inside its range: -½ hᵀH⁺h
    p = QuadraticProblem(np.diag([2.0, 0.0]), [1.0, 0.0], 0.1, 0.0, 3)
    assert continuous_minimum(p) == pytest.approx(-0.25)
    assert continuous_minimum(QuadraticProblem(np.zeros((2, 2)), 0.0, 1.0, 0.0, 2)) == 0.0


# ------------------------------------------------------------------------------------- to_bqm


@SETTINGS
@given(problems(max_n=5, max_bits=4, with_fixed=True))
def test_bqm_energy_equals_problem_energy(problem_rng):
    p, rng = problem_rng
    bqm = to_bqm(p)
    assert bqm.vartype is dimod.BINARY
    labels = free_bits(p)
    assert sorted(bqm.variables) == labels.tolist()
    m = random_levels(rng, p, 12)
    m[0] = p.lower
    bits = levels_to_bits(m, p.n_bits)[:, labels]
    got = bqm.energies((bits, labels))
    assert_energies_close(got, m, p, qubo_matrix(p))
    # and back: the free-bit samples give the same full levels
    np.testing.assert_array_equal(sample_to_levels(p, bits, labels), m)
    np.testing.assert_array_equal(sample_to_levels(p, bits[1], labels), m[1])


def test_bqm_without_fixed_variables_is_the_qubo_matrix():
    rng = np.random.default_rng(3)
    p = random_problem(rng, 4, 3)
    bqm = to_bqm(p)
    N = p.n_qubo_variables
    assert list(bqm.variables) == list(range(N))
    Q = qubo_matrix(p)
    dense = np.zeros((N, N))
    linear, (row, col, quad), offset = bqm.to_numpy_vectors(variable_order=range(N))
    dense[np.minimum(row, col), np.maximum(row, col)] = quad
    dense[np.diag_indices(N)] = linear
    np.testing.assert_allclose(dense, Q, rtol=1e-14, atol=0)
    assert offset == 0.0


def test_bqm_exact_solver_finds_bounded_minimum():
    # n_bits = 1 with forced choices, as the quantizer builds them
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 5))
    H = 2 * X.T @ X
    fixed = np.array([False, True, False, True, False])
    level = np.array([0, 1, 0, 0, 0])
    p = QuadraticProblem(
        H, 2 * X.T @ rng.normal(size=20), 1.0, 0.0, 1, lower=level, upper=np.where(fixed, level, 1)
    )
    bqm = to_bqm(p)
    assert sorted(bqm.variables) == [0, 2, 4]
    best = dimod.ExactSolver().sample(bqm).first
    m = sample_to_levels(p, [best.sample[v] for v in bqm.variables], list(bqm.variables))
    levels = np.array([c for c in itertools.product([0, 1], repeat=5) if c[1] == 1 and c[3] == 0])
    e = energy(p, levels)
    assert best.energy == pytest.approx(e.min(), rel=1e-12)
    assert energy(p, m) == pytest.approx(e.min(), rel=1e-12)
    np.testing.assert_array_equal(m, levels[np.argmin(e)])


def test_bqm_all_fixed():
    p = QuadraticProblem(np.eye(2), [1.0, 2.0], 0.5, -1.0, 3, lower=[3, 5], upper=[3, 5])
    bqm = to_bqm(p)
    assert bqm.num_variables == 0
    assert bqm.offset == pytest.approx(energy(p, [3, 5]))
    np.testing.assert_array_equal(sample_to_levels(p, np.empty((2, 0)), []), [[3, 5], [3, 5]])


def test_bqm_partial_bounds_raise():
    p = QuadraticProblem(np.eye(2), 0.0, 1.0, 0.0, 3, lower=[1, 0], upper=[7, 7])
    with pytest.raises(ValueError, match="partial level bounds.*variable 0"):
        to_bqm(p)
    with pytest.raises(ValueError, match="partial level bounds"):
        free_bits(p)


def test_to_bqm_leaves_problem_untouched():
    rng = np.random.default_rng(0)
    p = random_problem(rng, 3, 2, fixed=np.array([True, False, False]))
    H, h = p.H.copy(), p.h.copy()
    to_bqm(p)
    np.testing.assert_array_equal(p.H, H)
    np.testing.assert_array_equal(p.h, h)


def test_sample_to_levels_errors():
    p = QuadraticProblem(np.eye(2), 0.0, 1.0, 0.0, 2, lower=[0, 1], upper=[3, 1])
    with pytest.raises(ValueError, match="exactly the 2 free bit labels"):
        sample_to_levels(p, [1, 0], [0, 2])
    with pytest.raises(ValueError, match="one column per variable"):
        sample_to_levels(p, [1, 0, 1], [0, 1])
    with pytest.raises(ValueError, match="binary"):
        sample_to_levels(p, [-1, 1], [0, 1])
    np.testing.assert_array_equal(sample_to_levels(p, [[0, 1], [1, 0]], [1, 0]), [[1, 1], [2, 1]])


def test_sampler_round_trip_through_sampleset():
    p = QuadraticProblem(np.eye(2), [-1.0, 0.3], 0.25, 0.0, 2, lower=[0, 2], upper=[3, 2])
    bqm = to_bqm(p)
    ss = dimod.ExactSolver().sample(bqm)
    levels = sample_to_levels(p, ss.record.sample, ss.variables)
    np.testing.assert_allclose(ss.record.energy, energy(p, levels), rtol=1e-12, atol=1e-12)
