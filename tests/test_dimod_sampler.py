"""CarryAnnealingSampler: dimod's own sampler checks, exact answer keys, seeds, Ocean use."""

import itertools
import unittest

import dimod
import dimod.testing
import numpy as np
import pytest

from quboclf import CarryAnnealingSampler, QUBOCNNClassifier


@dimod.testing.load_sampler_bqm_tests(CarryAnnealingSampler)
class TestDimodSamplerChecks(unittest.TestCase):
    """dimod's generated checks: empty, 1-variable and path BQMs of every BQM class and vartype."""

    def test_sampler_api(self):
        dimod.testing.assert_sampler_api(CarryAnnealingSampler())


def _random_bqm(n, vartype, seed):
    rng = np.random.default_rng(seed)
    linear = {i: rng.normal() for i in range(n)}
    quadratic = {(i, j): rng.normal() for i, j in itertools.combinations(range(n), 2)}
    return dimod.BinaryQuadraticModel(linear, quadratic, rng.normal(), vartype)


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bqm_ground_state_matches_exact_solver(vartype, seed):
    bqm = _random_bqm(8, vartype, seed)
    ground = dimod.ExactSolver().sample(bqm).first.energy
    sampleset = CarryAnnealingSampler().sample(bqm, num_reads=8, seed=seed)
    dimod.testing.assert_sampleset_energies(sampleset, bqm)
    assert sampleset.vartype is bqm.vartype
    assert len(sampleset) == 8
    assert sampleset.first.energy == pytest.approx(ground)


def test_seed_reproduces_and_differs():
    bqm = _random_bqm(12, "SPIN", 5)
    sampler = CarryAnnealingSampler()
    a = sampler.sample(bqm, num_reads=5, num_sweeps=3, polish=False, seed=7)
    b = sampler.sample(bqm, num_reads=5, num_sweeps=3, polish=False, seed=7)
    c = sampler.sample(bqm, num_reads=5, num_sweeps=3, polish=False, seed=8)
    assert np.array_equal(a.record.sample, b.record.sample)
    assert not np.array_equal(a.record.sample, c.record.sample)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_bad_seed_is_refused(seed):
    with pytest.raises(ValueError, match="seed"):
        CarryAnnealingSampler().sample(_random_bqm(2, "SPIN", 0), seed=seed)


def test_initial_states_are_used():
    bqm = _random_bqm(6, "SPIN", 3)
    start = {i: 1 for i in range(6)}
    # no sweeps, no polish: the start comes back unchanged
    out = CarryAnnealingSampler().sample(bqm, initial_states=start, num_sweeps=0, polish=False)
    assert out.first.sample == start
    # tile fills every read with the start
    out = CarryAnnealingSampler().sample(
        bqm,
        initial_states=start,
        initial_states_generator="tile",
        num_reads=3,
        num_sweeps=0,
        polish=False,
    )
    assert len(out) == 3 and all(s == start for s in out.samples())


def _integer_qm(seed, n=4, lo=-5, hi=9):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    qm = dimod.QuadraticModel()
    for i in range(n):
        qm.add_variable("INTEGER", f"x{i}", lower_bound=lo, upper_bound=hi)
    H = A @ A.T + 0.1 * np.eye(n)
    for i in range(n):
        qm.add_linear(f"x{i}", rng.normal() * 5)
        qm.add_quadratic(f"x{i}", f"x{i}", H[i, i] / 2)
        for j in range(i + 1, n):
            qm.add_quadratic(f"x{i}", f"x{j}", H[i, j])
    return qm


def _brute_force_qm(qm):
    labels = list(qm.variables)
    ranges = [range(int(qm.lower_bound(v)), int(qm.upper_bound(v)) + 1) for v in labels]
    grid = np.array(list(itertools.product(*ranges)))
    return float(np.min(qm.energies((grid, labels))))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_integer_qm_ground_state_matches_brute_force(seed):
    qm = _integer_qm(seed)
    sampleset = CarryAnnealingSampler().sample_qm(qm, num_reads=4, seed=seed)
    assert sampleset.vartype is dimod.INTEGER
    values = sampleset.record.sample
    assert np.all(values >= -5) and np.all(values <= 9)
    # energies are dimod's own
    assert np.allclose(sampleset.record.energy, qm.energies((values, list(sampleset.variables))))
    assert sampleset.first.energy == pytest.approx(_brute_force_qm(qm))


def test_mixed_vartypes_and_concave_terms():
    qm = dimod.QuadraticModel()
    qm.add_variable("INTEGER", "i", lower_bound=-3, upper_bound=3)
    qm.add_variable("SPIN", "s")
    qm.add_variable("BINARY", "b")
    qm.add_quadratic("i", "i", -1.0)  # concave: the optimum is at a bound
    qm.add_quadratic("i", "s", 1.0)
    qm.add_quadratic("s", "b", -2.0)
    qm.add_linear("b", 0.5)
    out = CarryAnnealingSampler().sample_qm(qm, num_reads=4, seed=0)
    assert out.first.energy == pytest.approx(_brute_force_qm_mixed(qm))
    assert set(np.unique(out.record.sample[:, list(out.variables).index("s")])) <= {-1, 1}


def _brute_force_qm_mixed(qm):
    labels = list(qm.variables)
    domains = []
    for v in labels:
        if qm.vartype(v) is dimod.SPIN:
            domains.append([-1, 1])
        else:
            domains.append(range(int(qm.lower_bound(v)), int(qm.upper_bound(v)) + 1))
    grid = np.array(list(itertools.product(*domains)))
    return float(np.min(qm.energies((grid, labels))))


def test_carry_moves_beat_flips_on_wide_integers():
    # one wide variable with its optimum at 2**9 = 0b1000000000, next to 0b0111111111: bit flips
    # from below must climb; carry moves step over. Both must still return valid samples.
    qm = dimod.QuadraticModel()
    qm.add_variable("INTEGER", "x", lower_bound=0, upper_bound=1023)
    qm.add_quadratic("x", "x", 1.0)
    qm.add_linear("x", -2.0 * 512)
    carry = CarryAnnealingSampler().sample_qm(qm, num_reads=2, num_sweeps=50, seed=0)
    assert carry.first.sample["x"] == 512


def test_integer_initial_states_and_errors():
    qm = _integer_qm(0, n=2)
    start = {"x0": 9, "x1": -5}
    out = CarryAnnealingSampler().sample_qm(qm, initial_states=start, num_sweeps=0, polish=False)
    assert out.first.sample == start
    with pytest.raises(ValueError, match="outside its domain"):
        CarryAnnealingSampler().sample_qm(qm, initial_states={"x0": 10, "x1": 0})
    wide = dimod.QuadraticModel()
    wide.add_variable("INTEGER", "x")  # dimod's default upper bound is 2**53 - 1
    with pytest.raises(ValueError, match="set_upper_bound"):
        CarryAnnealingSampler().sample_qm(wide)
    real = dimod.QuadraticModel()
    real.add_variable("REAL", "r", lower_bound=0, upper_bound=1)
    with pytest.raises(ValueError, match="REAL"):
        CarryAnnealingSampler().sample_qm(real)
    with pytest.raises(TypeError, match="sample_qm"):
        CarryAnnealingSampler().sample(qm)


def test_ocean_composite_and_estimator_accept_it():
    # a dimod composite wraps it like any Ocean sampler
    bqm = _random_bqm(5, "SPIN", 9)
    composite = dimod.TruncateComposite(CarryAnnealingSampler(), n=2)
    out = composite.sample(bqm, num_reads=6, seed=0)
    dimod.testing.assert_sampleset_energies(out, bqm)
    assert len(out) == 2 and out.first.energy == pytest.approx(
        dimod.ExactSolver().sample(bqm).first.energy
    )
    # and quboclf's estimators take it as sampler= (the generic BQM path passes the seed)
    from sklearn.datasets import load_digits

    X, y = load_digits(n_class=2, return_X_y=True)
    X = X[:60, :6] / 16.0
    y = y[:60]
    clf = QUBOCNNClassifier(
        features="passthrough",
        n_bits=2,
        max_iter=2,
        sampler=CarryAnnealingSampler(),
        sampler_params={"num_reads": 2, "warm_start": True},
        random_state=0,
    )
    clf.fit(X, y)
    assert clf.score(X, y) > 0.5
