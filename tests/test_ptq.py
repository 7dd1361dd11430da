"""Tests of the rounding algorithms behind QUBOQuantizer: QUBO solver, GPTQ, AdaRound."""

import warnings

import numpy as np
import pytest
from conftest import layer_objective
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from quboclf import QUBOQuantizer, quantize_layers
from quboclf._kernels._search import local_search, sphere_decode
from quboclf._ptq import (
    adaround,
    correlated_partners,
    gptq,
    layer_rounding,
    local_search_reference,
    neighbourhood_box,
    prove_neuron,
    qubo_round,
    round_nearest,
    sphere_decode_reference,
)
from quboclf._rounding import choose_scale

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _layer(seed, n, f, N, n_bits, *, dead=(), per_channel=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, f)) * rng.uniform(0.1, 2.0, f)
    X[:, 0] += X[:, -1]  # correlated inputs, as in images
    X[:, list(dead)] = 0.0
    W = rng.standard_normal((n, f)) * rng.uniform(0.1, 1.0)
    b = rng.standard_normal(n) * 0.3
    s_w = choose_scale(W, n_bits, per_channel=per_channel)
    return X, W, b, layer_rounding(X, W, b, s_w, choose_scale(b, n_bits), n_bits)


def _brute_force(lr, lo, hi):
    """Each neuron's optimum over its box, by vectorised enumeration."""
    best = []
    for l in range(lr.n_neurons):
        axes = [np.arange(a, b + 1) for a, b in zip(lo[l], hi[l])]
        K = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))
        E = lr.d[l] * (K - lr.t[l])
        best.append(np.einsum("ij,ij->i", E @ lr.G, E).min())
    return np.array(best)


def _on_grid(lr, k):
    return np.all((k >= 0) & (k < lr.n_levels)) and k.dtype == np.int64


# -- the kernels against their references ---------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), f=st.integers(1, 12), n_bits=st.integers(1, 8),
       width=st.sampled_from([1, 2]), n_partners=st.integers(0, 4))
def test_local_search_matches_reference(seed, f, n_bits, width, n_partners):
    _, _, _, lr = _layer(seed, 3, f, 25, n_bits)
    lo, hi = neighbourhood_box(lr, width)
    k0 = np.clip(round_nearest(lr), lo, hi)
    partners = correlated_partners(lr.G, n_partners)
    k = k0.copy()
    moves = local_search(lr.G, lr.d, lr.t, lo, hi, k, partners, 50)
    k_ref, moves_ref = local_search_reference(lr.G, lr.d, lr.t, lo, hi, k0, partners, 50)
    np.testing.assert_array_equal(k, k_ref)
    np.testing.assert_array_equal(moves, moves_ref)
    assert np.all((lo <= k) & (k <= hi))
    assert np.all(lr.objectives(k) <= lr.objectives(k0) + 1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 7), box=st.integers(0, 3))
def test_sphere_decode_matches_enumeration(seed, n, box):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n + 2, n))
    U = np.linalg.cholesky(B.T @ B + 1e-3 * np.eye(n)).T.copy()
    t = rng.uniform(-2, 4, n)
    lo = rng.integers(-1, 2, n)
    hi = lo + rng.integers(0, box + 1, n)
    k_ref, e_ref = sphere_decode_reference(U, t, lo, hi)
    best = lo.copy()
    r = U @ (best - t)
    energy, proven, _ = sphere_decode(U, t, lo, hi, best, float(r @ r) * (1 + 1e-9), 10**6)
    assert proven
    assert energy == pytest.approx(e_ref, rel=1e-9, abs=1e-12)
    r = U @ (best - t)
    assert float(r @ r) == pytest.approx(e_ref, rel=1e-9, abs=1e-12)


# -- the QUBO solver proves optimality ------------------------------------------------------


@pytest.mark.parametrize("n_bits", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("width", [1, 2])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_qubo_round_proves_the_brute_force_optimum(n_bits, width, seed):
    f = 19 if width == 1 else 9  # at most 20 binary variables (2 per value when width=2)
    _, _, _, lr = _layer(seed, 3, f, 40, n_bits)
    k, proven = qubo_round(lr, neighbourhood=width, n_partners=0)  # no 2-flip: B&B must work
    lo, hi = neighbourhood_box(lr, width)
    assert proven.all()
    assert np.all((lo <= k) & (k <= hi))
    np.testing.assert_allclose(lr.objectives(k), _brute_force(lr, lo, hi), rtol=1e-9,
                               atol=1e-12)


def test_unproven_when_the_node_budget_runs_out():
    _, _, _, lr = _layer(0, 2, 19, 40, 4)
    lo, hi = neighbourhood_box(lr, 1)
    k0 = np.clip(round_nearest(lr), lo, hi)
    k, proven = prove_neuron(lr.G, lr.d[0], lr.t[0], lo[0], hi[0], k0[0], max_nodes=3)
    assert not proven
    assert lr.objectives(k[None])[0] <= lr.objectives(k0[:1])[0]


def test_qubo_round_never_worse_than_its_starts():
    _, _, _, lr = _layer(3, 6, 30, 50, 3)
    starts = [gptq(lr, act_order=False), gptq(lr, act_order=True), adaround(lr, n_iter=100)]
    k, _ = qubo_round(lr, neighbourhood=1, starts=starts)
    for start in [round_nearest(lr), *starts]:
        assert np.all(lr.objectives(k) <= lr.objectives(start) + 1e-12)


# -- GPTQ and AdaRound ----------------------------------------------------------------------


@pytest.mark.parametrize("act_order", [True, False])
@pytest.mark.parametrize("n_bits", [1, 2, 4])
def test_gptq_with_one_column_is_nearest(act_order, n_bits):
    rng = np.random.default_rng(n_bits)
    X = rng.standard_normal((30, 1))
    W = rng.standard_normal((5, 1))
    lr = layer_rounding(X, W, np.zeros(5), choose_scale(W, n_bits), 1.0, n_bits, fit_bias=False)
    np.testing.assert_array_equal(gptq(lr, act_order=act_order), round_nearest(lr))


@pytest.mark.parametrize("n_bits", [1, 2, 3, 8])
def test_gptq_and_adaround_against_brute_force(n_bits):
    _, _, _, lr = _layer(n_bits, 4, 5, 30, n_bits)
    full_lo = np.zeros_like(lr.t, dtype=np.int64)
    full_hi = np.full_like(full_lo, lr.n_levels - 1)
    lo1, hi1 = neighbourhood_box(lr, 1)
    opt_grid = _brute_force(lr, full_lo, np.minimum(full_hi, full_lo + 7)) if n_bits <= 3 else None
    opt_box = _brute_force(lr, lo1, hi1)
    near = lr.objectives(round_nearest(lr))
    for act_order in (True, False):
        k = gptq(lr, act_order=act_order)
        assert _on_grid(lr, k)
        if opt_grid is not None:
            assert np.all(lr.objectives(k) >= opt_grid - 1e-12)
    k = adaround(lr, n_iter=300)
    assert _on_grid(lr, k) and np.all((lo1 <= k) & (k <= hi1))
    assert np.all(lr.objectives(k) >= opt_box - 1e-12)
    assert np.all(lr.objectives(k) <= near + 1e-12)  # its guarantee: never worse than nearest
    # the QUBO rounding reaches the floor/ceil optimum on these 6-value neurons
    kq, proven = qubo_round(lr, neighbourhood=1)
    assert proven.all()
    np.testing.assert_allclose(lr.objectives(kq), opt_box, rtol=1e-9, atol=1e-12)


def test_gptq_improves_on_nearest_on_correlated_inputs():
    _, _, _, lr = _layer(0, 20, 30, 200, 3)
    assert lr.objectives(gptq(lr)).sum() < lr.objectives(round_nearest(lr)).sum()


@pytest.mark.parametrize("rounding", ["nearest", "gptq", "adaround", "qubo"])
def test_dead_inputs_keep_nearest(rounding):
    X, W, b, _ = _layer(4, 5, 8, 40, 3, dead=(2, 5))
    layers = quantize_layers([W], [b], "identity", X, n_bits=3, rounding=rounding)
    near = quantize_layers([W], [b], "identity", X, n_bits=3, rounding="nearest")
    np.testing.assert_array_equal(layers[0].weight_int[:, [2, 5]], near[0].weight_int[:, [2, 5]])
    assert layers[0].n_fixed == 2 * 5


# -- quantize_layers and the estimator ------------------------------------------------------


def _mlp(seed=0):
    X, y = make_classification(300, 12, n_informative=6, n_classes=3, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((9,), max_iter=200, random_state=seed).fit(X, y)
    return X, y, mlp


@pytest.mark.parametrize("n_bits", [1, 2, 4, 8])
@pytest.mark.parametrize("granularity", ["per-tensor", "per-channel"])
def test_roundings_on_the_same_problems(n_bits, granularity):
    X, y, mlp = _mlp()
    errors = {}
    for rounding in ("nearest", "gptq", "adaround", "qubo"):
        q = QUBOQuantizer(mlp, n_bits=n_bits, rounding=rounding, granularity=granularity,
                          propagate="float", random_state=0).fit(X, y)
        errors[rounding] = [layer.error for layer in q.layers_]
        for layer in q.layers_:
            assert layer.rounding == rounding
            assert layer.qmin <= layer.weight_int.min() and layer.weight_int.max() <= layer.qmax
        # the error is the layer objective on the float model's inputs
        np.testing.assert_allclose(
            q.layers_[0].error,
            layer_objective(X[np.sort(np.random.RandomState(0).choice(300, 300, False))],
                            mlp.coefs_[0].T, mlp.intercepts_[0], q.layers_[0].weight,
                            q.layers_[0].bias), rtol=1e-9)
    for i in range(2):  # per layer: QUBO never worse than the baselines it starts from
        assert errors["qubo"][i] <= errors["nearest"][i] * (1 + 1e-12)
        assert errors["qubo"][i] <= errors["gptq"][i] * (1 + 1e-12)
        assert errors["adaround"][i] <= errors["nearest"][i] * (1 + 1e-12)
    # 12 inputs + bias: every hidden neuron is proven optimal over its neighbourhood
    assert q.layers_[0].n_proven == 9 and q.layers_[0].proven.all()


def test_quantize_layers_matches_the_estimator():
    X, y, mlp = _mlp(1)
    q = QUBOQuantizer(mlp, n_bits=3, n_calibration=None, random_state=0).fit(X, y)
    layers = quantize_layers([W.T for W in mlp.coefs_], mlp.intercepts_, "relu", X, n_bits=3,
                             names=["hidden_0", "output"])
    for a, b in zip(q.layers_, layers):
        assert a.name == b.name
        np.testing.assert_array_equal(a.weight_int, b.weight_int)
        np.testing.assert_array_equal(a.bias_int, b.bias_int)
        assert a.error == b.error


@pytest.mark.parametrize("rounding", ["nearest", "gptq", "adaround", "qubo"])
def test_nothing_to_choose(rounding):
    # no bias and every input dead: all values keep round-to-nearest, the error is 0
    W = np.array([[0.3, -0.7], [1.2, 0.05]])
    (layer,) = quantize_layers([W], None, "identity", np.zeros((5, 2)), n_bits=3,
                               rounding=rounding)
    near = quantize_layers([W], None, "identity", np.zeros((5, 2)), n_bits=3, rounding="nearest")
    np.testing.assert_array_equal(layer.weight_int, near[0].weight_int)
    assert layer.error == 0.0 and layer.n_fixed == 2 * 3


def test_quantize_layers_without_bias():
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(50, 4)), rng.normal(size=(3, 4))
    (layer,) = quantize_layers([W], None, "identity", X, n_bits=2)
    assert np.all(layer.bias_int == 0) and layer.error <= layer.error_nearest


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weights": [np.ones((3, 5))]}, r"weights\[0\] has shape \(3, 5\), expected"),
        ({"biases": [np.ones(2)]}, r"biases\[0\] must be finite with shape \(3,\)"),
        ({"activations": ["softmax"]}, "activations.*'softmax' is not one of"),
        ({"rounding": "floor"}, "rounding must be one of"),
        ({"neighbourhood": 3}, "neighbourhood must be 1 or 2"),
        ({"n_bits": 9}, "n_bits must be an integer from 1 to 8"),
        ({"X_calib": np.full((4, 4), np.nan)}, "X_calib must be a finite 2-D array"),
        ({"biases": [np.ones(3), np.ones(3)]}, "got 1 weight matrices, 2 biases"),
    ],
)
def test_quantize_layers_bad_input(kwargs, match):
    args = {"weights": [np.ones((3, 4))], "biases": [np.ones(3)], "activations": ["identity"],
            "X_calib": np.ones((4, 4)), **kwargs}
    with pytest.raises(ValueError, match=match):
        quantize_layers(args.pop("weights"), args.pop("biases"), args.pop("activations"),
                        args.pop("X_calib"), **args)


def test_generic_sampler_keeps_the_better_answer():
    X, y = load_iris(return_X_y=True)
    lin = LogisticRegression(max_iter=500).fit(X, y)
    exact = QUBOQuantizer(lin, n_bits=2, sampler="exact", random_state=0).fit(X, y)
    ours = QUBOQuantizer(lin, n_bits=2, random_state=0).fit(X, y)
    annealed = QUBOQuantizer(lin, n_bits=2, sampler_params={"num_sweeps": 50},
                             random_state=0).fit(X, y)
    assert ours.layers_[0].n_proven == 3
    assert exact.layers_[0].error == pytest.approx(ours.layers_[0].error, rel=1e-12)
    assert annealed.layers_[0].error == pytest.approx(ours.layers_[0].error, rel=1e-12)


def test_linear_svc_is_refused_up_front():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(TypeError, match="SVC: its coef_ is a read-only property"):
        QUBOQuantizer(SVC(kernel="linear")).fit(X, y)
    with pytest.raises(TypeError, match="read-only property"):
        QUBOQuantizer(SVC(kernel="linear").fit(X, y)).fit(X, y)
