"""QUBOQuantizer.get_qubos: the exported per-neuron problems are the ones fit solved."""

import dimod
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from quboclf import CarryAnnealingSampler, QUBOQuantizer
from quboclf._qubo import objective


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.mark.parametrize("n_bits", [2, 3, 4])
@pytest.mark.parametrize("propagate", ["quantized", "float"])
def test_initial_levels_reproduce_each_layers_error(digits, n_bits, propagate):
    X, y = digits
    mlp = MLPClassifier(hidden_layer_sizes=(12,), max_iter=60, random_state=0)
    quantizer = QUBOQuantizer(
        mlp, n_bits=n_bits, propagate=propagate, n_calibration=200, random_state=0
    )
    with pytest.warns(Warning):  # the short MLP fit does not converge
        quantizer.fit(X, y)
    qubos = quantizer.get_qubos(X)
    assert list(qubos) == [layer.name for layer in quantizer.layers_]
    for layer in quantizer.layers_:
        problems = qubos[layer.name]
        assert len(problems) == layer.weight_int.shape[0]
        total = sum(float(objective(p.problem, p.initial)) for p in problems)
        assert total == pytest.approx(layer.error, rel=1e-9, abs=1e-9)


def test_dimod_energy_is_the_objective_and_fit_is_optimal_on_small_neurons():
    X, y = load_digits(return_X_y=True)
    X = X[:, :6] / 16.0  # 6 inputs + bias: small enough to enumerate
    quantizer = QUBOQuantizer(LogisticRegression(max_iter=300), n_bits=3, random_state=0)
    quantizer.fit(X, y)
    layer = quantizer.layers_[0]
    for qubo in quantizer.get_qubos(X)["linear"]:
        # binary form: exact enumeration; integer form: the carry-move sampler
        for answer in [
            dimod.ExactSolver().sample(qubo.bqm),
            CarryAnnealingSampler().sample_qm(qubo.qm, num_reads=4, seed=0),
        ]:
            # of the 2**14 states of the enumeration every 64th, in energy order: the lowest to
            # the highest
            rows = list(answer.data(["sample", "energy"]))
            for sample, energy in rows if len(rows) <= 256 else rows[::64] + rows[-1:]:
                assert energy == pytest.approx(qubo.objective(sample), rel=1e-9, abs=1e-9)
        best = dimod.ExactSolver().sample(qubo.bqm).first
        # every neuron of a problem this small is proven optimal by fit
        assert float(objective(qubo.problem, qubo.initial)) == pytest.approx(
            best.energy, rel=1e-9, abs=1e-9
        )
    assert layer.n_proven == layer.weight_int.shape[0]


def test_int2_with_the_wide_neighbourhood_exports_the_integer_form():
    X, y = load_digits(return_X_y=True)
    X = X[:, :5] / 16.0
    quantizer = QUBOQuantizer(LogisticRegression(max_iter=300), n_bits=2, random_state=0)
    qubo = quantizer.fit(X, y).get_qubos(X)["linear"][0]
    answer = CarryAnnealingSampler().sample_qm(qubo.qm, num_reads=2, seed=0)
    assert answer.first.energy == pytest.approx(qubo.objective(answer.first.sample), abs=1e-9)
    assert np.all(qubo.problem.upper <= 2)  # int2 has three grid points
