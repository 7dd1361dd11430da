"""QUBOQuantizer: post-training quantization of dense models by exact rounding QUBOs."""

import copy
import sys
import time
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy.special import expit
from sklearn.base import (
    BaseEstimator,
    MetaEstimatorMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    _is_fitted,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from ._anneal import default_beta_range
from ._ptq import adaround, gptq, layer_rounding, neighbourhood_box, qubo_round, round_nearest
from ._qubo import ExportedQUBO, QuadraticProblem
from ._rounding import choose_scale, integer_dtype, integer_grid
from ._samplers import SAMPLER_NAMES, make_solver, resolve_params, seeds_from
from ._validation import unchanged_on_failure, validate_numeric

__all__ = ["QUBOQuantizer", "QuantizedLayer", "quantize_layers"]

ROUNDINGS = ("qubo", "gptq", "adaround", "nearest")

_ACTIVATIONS = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "logistic": expit,
}


@dataclass(frozen=True, eq=False)
class QuantizedLayer:
    """One quantized dense layer, ready for export: ``y = act(x Ŵᵀ + b̂)``.

    ``Ŵ = weight_scale * (weight_int - weight_zero_point)`` and
    ``b̂ = bias_scale * (bias_int - bias_zero_point)``; zero points are always 0 (symmetric
    grids). Weights are stored (outputs × inputs), the PyTorch/ONNX orientation, i.e. the
    transpose of scikit-learn's ``MLPClassifier.coefs_[i]``.

    Attributes
    ----------
    name : str
        ``"hidden_0"``, ``"hidden_1"``, …, ``"output"`` for an MLP; ``"linear"`` for a linear model.
    weight_int : ndarray of shape (n_outputs, n_inputs)
        Integer weights, in the smallest signed integer dtype holding the grid (int8 for
        ``n_bits <= 8``).
    bias_int : ndarray of shape (n_outputs,)
        Integer bias, same dtype (all 0 for a model without intercept).
    weight_scale : float or ndarray of shape (n_outputs,)
        Per-tensor scale, or one per output channel (``granularity="per-channel"``).
    bias_scale : float
        Scale of the bias (one per layer).
    weight_zero_point, bias_zero_point : int
        Always 0.
    n_bits : int
        Bit width; integers lie in ``[qmin, qmax]`` on steps of ``step``.
    qmin, qmax, step : int
        The integer grid (:func:`quboclf._rounding.integer_grid`): ``±(2**(n_bits-1) - 1)``
        with step 1, or ``{-1, +1}`` (step 2) for ``n_bits == 1``.
    activation : str
        Activation applied after the layer (``"identity"`` for outputs and linear models, whose
        output transformation is the wrapped estimator's).
    error_nearest : float
        ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F`` with round-to-nearest, on this layer's calibration
        inputs ``X``.
    error_qubo : float or None
        The same with the QUBO rounding (None for the other roundings); never above
        ``error_nearest``.
    output_norm : float
        ``‖X Wᵀ + 1 bᵀ‖²_F``, to turn the errors into relative ones.
    n_fixed : int
        Values without a choice: weights of inputs that are zero in every calibration row
        (kept at round-to-nearest), a bias fixed at 0, and values whose allowed neighbourhood
        holds one grid point only (beyond a grid end).
    n_changed : int
        Values rounded differently from round-to-nearest.
    time_s : float
        Wall time spent on the layer.
    rounding : str
        The rounding method (``"qubo"``, ``"gptq"``, ``"adaround"`` or ``"nearest"``).
    error : float
        ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F`` of the chosen rounding: the layer objective every
        method minimises.
    n_proven : int
        Neurons whose rounding is proven optimal over their allowed neighbourhood (QUBO
        rounding: branch and bound on neurons with at most 64 free values; 0 otherwise).
    proven : ndarray of shape (n_outputs,), dtype bool
        Which neurons those are.
    error_start : float or None
        QUBO rounding: the objective of the best start (round-to-nearest or GPTQ, per neuron)
        the solvers began from.
    error_sampler : float or None
        ``sampler="qpu"``: the objective after the QPU's subproblems (from the best start),
        before the classical local search polished it: ``error_start − error_sampler`` is what
        the QPU removed. None for other samplers, which come after the local search.
    n_from_sampler : int
        ``sampler="qpu"``: neurons whose answer is the polished QPU answer (the local search
        also runs from the start and a neuron keeps the better; ties go to the QPU's).
    sampler_calls : int
        Calls of a sampler other than the built-in ``"sa"`` for this layer (QPU problems for
        ``"qpu"``).
    qpu_access_time : float or None
        Their QPU access time in µs (reported by the QPU, or estimated by D-Wave's timing
        model on the mocked QPU); None where the sampler reports none.
    """

    name: str
    weight_int: np.ndarray
    bias_int: np.ndarray
    weight_scale: object
    bias_scale: float
    weight_zero_point: int
    bias_zero_point: int
    n_bits: int
    qmin: int
    qmax: int
    step: int
    activation: str
    error_nearest: float
    error_qubo: object
    output_norm: float
    n_fixed: int
    n_changed: int
    time_s: float
    rounding: str = "qubo"
    error: float = None
    n_proven: int = 0
    proven: np.ndarray = None
    error_start: float = None
    error_sampler: float = None
    sampler_calls: int = 0
    qpu_access_time: float = None
    n_from_sampler: int = 0

    @property
    def weight(self):
        """Dequantized weights ``Ŵ`` (n_outputs, n_inputs), float64."""
        scale = np.asarray(self.weight_scale, dtype=np.float64).reshape(-1, 1)
        return scale * (self.weight_int.astype(np.float64) - self.weight_zero_point)

    @property
    def bias(self):
        """Dequantized bias ``b̂`` (n_outputs,), float64."""
        return self.bias_scale * (self.bias_int.astype(np.float64) - self.bias_zero_point)


# -- the models QUBOQuantizer understands ---------------------------------------------------------


def _is_mlp(est):
    from sklearn.neural_network._multilayer_perceptron import BaseMultilayerPerceptron

    return isinstance(est, BaseMultilayerPerceptron)


def _is_cnn(est):
    from ._classifier import QUBOCNNClassifier

    return isinstance(est, QUBOCNNClassifier)


def _unfreeze(est):
    """The estimator inside a ``sklearn.frozen.FrozenEstimator`` (``est`` itself otherwise)."""
    try:
        from sklearn.frozen import FrozenEstimator
    except ImportError:  # scikit-learn < 1.6
        return est
    return est.estimator if isinstance(est, FrozenEstimator) else est


def _final(est):
    """The estimator holding the dense weights (the last step of a Pipeline)."""
    est = _unfreeze(est)
    return _unfreeze(est[-1]) if isinstance(est, Pipeline) else est


def _check_supported(est):
    """Raise a TypeError naming what is supported if fitted ``est`` has no quantizable layers."""
    final = _final(est)
    if _is_mlp(final) or _is_cnn(final):
        return
    if hasattr(final, "coef_") and hasattr(final, "intercept_"):
        prop = getattr(type(final), "coef_", None)
        if isinstance(prop, property) and prop.fset is None:
            # e.g. SVC(kernel="linear"): coef_ is computed from the support vectors
            raise TypeError(
                f"QUBOQuantizer cannot write quantized weights into {type(final).__name__}: "
                "its coef_ is a read-only property computed from other fitted attributes. "
                "Use a linear model that stores coef_ (LinearSVC, LogisticRegression, "
                "SGDClassifier, Ridge, ...) or quantize the weights with "
                "quboclf.quantize_layers."
            )
        return
    raise TypeError(
        "QUBOQuantizer quantizes MLPClassifier/MLPRegressor, linear models with coef_ and "
        "intercept_ (LogisticRegression, Ridge, SGDClassifier, LinearRegression, ...), "
        "QUBOCNNClassifier's head, or a Pipeline ending in one of these; got "
        f"{type(final).__name__}, which has no coef_ and intercept_ after fitting."
    )


def _dense_layers(est):
    """``(name, W (n, f), b (n,), has_bias, activation)`` of the fitted model's dense layers."""
    final = _final(est)
    if _is_mlp(final):
        n = len(final.coefs_)
        return [
            (
                "output" if i == n - 1 else f"hidden_{i}",
                np.asarray(final.coefs_[i], dtype=np.float64).T,
                np.asarray(final.intercepts_[i], dtype=np.float64),
                True,
                "identity" if i == n - 1 else final.activation,
            )
            for i in range(n)
        ]
    coef = np.asarray(final.coef_, dtype=np.float64)
    W = coef.reshape(1, -1) if coef.ndim == 1 else coef
    intercept = np.asarray(final.intercept_, dtype=np.float64)
    has_bias = bool(getattr(final, "fit_intercept", True)) or np.any(intercept != 0)
    b = np.broadcast_to(intercept.ravel(), (W.shape[0],)).copy()
    return [("linear", W, b, has_bias, "identity")]


def _model_inputs(est, X):
    """What the first dense layer sees for raw inputs ``X``."""
    est = _unfreeze(est)
    if isinstance(est, Pipeline):
        X = est[:-1].transform(X)
    if _is_cnn(_final(est)):
        X = _final(est).transform(X)
    return np.asarray(X, dtype=np.float64)


def _set_dense_layers(est, layers):
    """Write dequantized ``layers`` into (a copy of) the fitted model, keeping dtypes/shapes."""
    final = _final(est)
    if _is_mlp(final):
        for i, layer in enumerate(layers):
            final.coefs_[i] = layer.weight.T.astype(final.coefs_[i].dtype)
            final.intercepts_[i] = layer.bias.astype(final.intercepts_[i].dtype)
        return
    (layer,) = layers
    coef = np.asarray(final.coef_)
    final.coef_ = layer.weight.reshape(coef.shape).astype(coef.dtype)
    intercept = final.intercept_
    if np.ndim(intercept) == 0:
        final.intercept_ = float(layer.bias[0])
    else:
        arr = np.asarray(intercept)
        final.intercept_ = layer.bias.reshape(arr.shape).astype(arr.dtype)


def _check_layers(weights, biases, activations, X):
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    if not weights:
        raise ValueError("quantize_layers needs at least one layer")
    if biases is None:
        biases = [None] * len(weights)
    if isinstance(activations, str):
        activations = [activations] * (len(weights) - 1) + ["identity"]
    if not (len(biases) == len(activations) == len(weights)):
        raise ValueError(
            f"got {len(weights)} weight matrices, {len(biases)} biases and "
            f"{len(activations)} activations; pass one of each per layer"
        )
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise ValueError("X_calib must be a finite 2-D array (n_samples, n_inputs)")
    out = []
    n_in = X.shape[1]
    for i, (W, b, act) in enumerate(zip(weights, biases, activations)):
        if W.ndim != 2 or W.shape[1] != n_in:
            raise ValueError(
                f"weights[{i}] has shape {W.shape}, expected (n_outputs, {n_in}): weights are "
                "(outputs x inputs) as in PyTorch; transpose Keras or scikit-learn kernels"
            )
        if not np.all(np.isfinite(W)):
            raise ValueError(f"weights[{i}] contains NaN or infinity")
        has_bias = b is not None
        b = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64).ravel()
        if b.shape != (W.shape[0],) or not np.all(np.isfinite(b)):
            raise ValueError(f"biases[{i}] must be finite with shape ({W.shape[0]},)")
        if act not in _ACTIVATIONS:
            raise ValueError(
                f"activations[{i}]={act!r} is not one of {sorted(_ACTIVATIONS)}"
            )
        out.append((W, b, has_bias, act))
        n_in = W.shape[0]
    return out, X


def _box_problem(lr, H, l, lo, hi):
    """Neuron ``l``'s rounding over its box ``lo..hi`` (levels ``0..hi − lo``) as a
    :class:`~quboclf._qubo.QuadraticProblem` whose energy is its objective:
    ``w = d (lo + m − t)``, ``½ wᵀ H w = ‖A w‖²`` with ``H = 2 G`` (shared by the neurons)."""
    d = lr.d[l]
    n_bits = max(1, int((hi - lo).max(initial=0)).bit_length())
    return QuadraticProblem(H, np.zeros_like(d), d, d * (lo - lr.t[l]), n_bits,
                            lower=0, upper=(hi - lo).astype(np.int64))


def _sampler_solve(lr, solver, seeds, *, whole_box=False):
    """``solve(l, lo, hi, k)`` of a generic sampler's ``solver`` on neuron ``l``'s problem.

    ``whole_box``: over neuron ``l``'s whole box ``lo..hi`` (the sampler decomposes it into
    subproblems); otherwise over two adjacent grid points per value holding ``k``.
    """
    H = 2.0 * lr.G

    def solve_box(l, lo, hi, k):
        problem = _box_problem(lr, H, l, lo, hi)
        levels = solver.solve(problem, initial=k - lo, seed=seeds[l]).levels
        return lo + np.asarray(levels, dtype=np.int64)

    def solve(l, lo, hi, k):
        # One binary variable per value (the fewest qubits): each free value chooses between two
        # adjacent grid points holding its current level, inside its box.
        n_bits = 1
        size = 2
        free = hi > lo
        start = np.clip(k - size // 2, lo, np.maximum(hi - size + 1, lo))
        start = np.clip(start, 0, lr.n_levels - size)
        lo = np.where(free, start, k)
        hi = np.where(free, start + size - 1, k)
        d = lr.d[l]
        problem = QuadraticProblem(H, np.zeros_like(d), d, d * (lo - lr.t[l]), n_bits,
                                   lower=0, upper=(hi - lo).astype(np.int64))
        levels = solver.solve(problem, initial=k - lo, seed=seeds[l]).levels
        return lo + np.asarray(levels, dtype=np.int64)

    return solve_box if whole_box else solve


def _neuron_problems(lr, k, neighbourhood, names):
    """Each neuron's rounding problem of one layer as an :class:`~quboclf.ExportedQUBO`.

    Neuron ``l`` chooses the positions ``m`` of its active values within the neighbourhood box
    (widened to hold its answer ``k[l]``); with ``w = d_l (m − t_l)`` its objective
    ``½ wᵀ (2G) w = ‖A w‖²`` is the neuron's share of the layer objective.
    """
    lo, hi = neighbourhood_box(lr, neighbourhood)
    lo, hi = np.minimum(lo, k), np.maximum(hi, k)
    H = 2.0 * lr.G
    top = lr.n_levels - 1
    out = []
    for l in range(lr.n_neurons):
        n_bits = max(1, int((hi[l] - lo[l]).max(initial=0)).bit_length())
        # widen every box to the 2**n_bits points the bits encode where the grid has them, so
        # that the binary form needs no level bounds (a BQM cannot express partial ones)
        width = min(2**n_bits - 1, top)
        lo_l = np.clip(np.minimum(lo[l], top - width), 0, None)
        span = np.minimum(lo_l + width, top) - lo_l
        lo[l] = lo_l
        d = lr.d[l]
        problem = QuadraticProblem(
            H, np.zeros_like(d), d, d * (lo[l] - lr.t[l]), n_bits, lower=0, upper=span
        )
        out.append(ExportedQUBO(problem, names=names, initial=k[l] - lo[l], prefix="v"))
    return out


def quantize_layers(
    weights,
    biases,
    activations,
    X_calib,
    *,
    n_bits=4,
    rounding="qubo",
    granularity="per-tensor",
    propagate="quantized",
    neighbourhood=2,
    act_order=True,
    sampler="sa",
    sampler_params=None,
    names=None,
    n_jobs=None,
    random_state=None,
    verbose=False,
):
    """Quantize a stack of dense layers given as arrays (any framework).

    The layers ``y_{i+1} = act_i(y_i W_iᵀ + b_i)`` (``y_0 = X_calib``) are quantized one after
    the other to signed ``n_bits`` integers, ``Ŵ = s_w q``, ``b̂ = s_b q_b``, each rounding
    minimising the layer objective ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F`` on its calibration inputs
    ``X`` by the chosen method. This is what :class:`QUBOQuantizer` does after extracting the
    layers of a scikit-learn model; use it directly for weights from Keras, PyTorch or ONNX.

    Read more in the :doc:`User Guide </guide/quantizer>`.

    Parameters
    ----------
    weights : list of array-like of shape (n_outputs, n_inputs)
        Weights, PyTorch orientation (``nn.Linear.weight``); transpose Keras kernels and
        scikit-learn's ``coefs_``.
    biases : list of array-like of shape (n_outputs,) or None
        Biases; a ``None`` entry (or ``biases=None``) is a layer without bias, which stays
        without.
    activations : str or list of str
        Activation after each layer: ``"identity"``, ``"relu"``, ``"tanh"`` or ``"logistic"``.
        A single string applies to every hidden layer, the last layer getting ``"identity"``.
    X_calib : array-like of shape (n_samples, n_inputs)
        Calibration inputs of the first layer (a few hundred to a few thousand rows).
    n_bits : int, default=4
        Bit width, 1 to 8 (see :class:`QUBOQuantizer`).
    rounding : {"qubo", "gptq", "adaround", "nearest"}, default="qubo"
        ``"qubo"``: the per-neuron rounding problems solved by exact local search and, for
        neurons with at most 64 free values, branch and bound that proves optimality (never
        worse than round-to-nearest or either GPTQ variant, which it starts from);
        ``"gptq"``: GPTQ (Frantar et al., 2022); ``"adaround"``: AdaRound (Nagel et al., 2020);
        ``"nearest"``: round to nearest.
    granularity : {"per-tensor", "per-channel"}, default="per-tensor"
        One weight scale per layer or per output neuron.
    propagate : {"quantized", "float"}, default="quantized"
        Calibration inputs of later layers: the quantized or the float model's outputs.
    neighbourhood : {1, 2}, default=2
        Grid points the QUBO rounding may choose for each value: 1, rounding down or up;
        2, also one step further each way (two binary variables per value).
    act_order : bool, default=True
        GPTQ's column order: by decreasing curvature (act-order) or as given.
    sampler : str or dimod.Sampler, default="sa"
        ``"sa"`` is the built-in solver of ``rounding="qubo"`` (local search and branch and
        bound; with ``sampler_params`` the annealer also refines each neuron). ``"qpu"``
        solves each neuron over its whole box first, from the best start, in QPU-sized
        subproblems (16 qubits, values moving one grid point either way, chosen by their best
        single or pair move); the local search then polishes that answer and, also run from
        the start, keeps the better of the two per neuron. Any other sampler of
        :func:`quboclf._samplers.make_solver` receives each neuron's QUBO
        (:class:`~quboclf._qubo.QuadraticProblem`) with one binary variable per value (two
        adjacent grid points holding the built-in solver's answer: round down or up with
        ``neighbourhood=1``), warm-started from that answer; the better answer is kept.
    sampler_params : dict, default=None
        Parameters of the sampler.
    names : list of str, default=None
        Layer names (default ``"layer_0"``, ``"layer_1"``, …).
    n_jobs : int, default=None
        Threads for the local search and the samplers' solves.
    random_state : int, RandomState instance or None, default=None
        Seeds the samplers.
    verbose : bool, default=False
        Print one line per layer.

    Returns
    -------
    layers : list of QuantizedLayer
        Integer weights and biases, scales and errors, input to output.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf import quantize_layers
    >>> rng = np.random.default_rng(0)
    >>> W1, b1 = rng.normal(size=(8, 5)), rng.normal(size=8)
    >>> W2, b2 = rng.normal(size=(3, 8)), rng.normal(size=3)
    >>> X = rng.normal(size=(200, 5))
    >>> layers = quantize_layers([W1, W2], [b1, b2], "relu", X, n_bits=3)
    >>> [(layer.weight_int.shape, layer.activation) for layer in layers]
    [((8, 5), 'relu'), ((3, 8), 'identity')]
    >>> all(layer.error <= layer.error_nearest for layer in layers)
    True
    >>> layers[0].n_proven  # 6 values per neuron: every rounding proven optimal
    8
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    if granularity not in ("per-tensor", "per-channel"):
        raise ValueError(f"granularity must be 'per-tensor' or 'per-channel', got {granularity!r}")
    if propagate not in ("quantized", "float"):
        raise ValueError(f"propagate must be 'quantized' or 'float', got {propagate!r}")
    if neighbourhood not in (1, 2):
        raise ValueError(f"neighbourhood must be 1 or 2, got {neighbourhood!r}")
    if isinstance(n_bits, bool) or not isinstance(n_bits, Integral) or not 1 <= n_bits <= 8:
        raise ValueError(f"n_bits must be an integer from 1 to 8, got {n_bits!r}")
    dense, X = _check_layers(weights, biases, activations, X_calib)
    if names is None:
        names = [f"layer_{i}" for i in range(len(dense))]
    generic = rounding == "qubo" and not (
        isinstance(sampler, str) and sampler == "sa" and not sampler_params
    )
    if generic:
        solver = make_solver(
            sampler, sampler_params, defaults=_SAMPLER_DEFAULTS, schedule=_warm_beta_range
        )
    rng = check_random_state(random_state)
    inputs_q = inputs_f = X
    qmin, qmax, step = integer_grid(n_bits)
    dtype = integer_dtype(qmin, qmax)
    layers = []
    for i, (name, (W, b, has_bias, act)) in enumerate(zip(names, dense)):
        start = time.perf_counter()
        X_l = inputs_q if propagate == "quantized" else inputs_f
        s_w = choose_scale(W, n_bits, per_channel=granularity == "per-channel")
        s_b = choose_scale(b, n_bits) if has_bias else 1.0
        lr = layer_rounding(X_l, W, b, s_w, s_b, n_bits, fit_bias=has_bias)
        near = round_nearest(lr)
        proven = np.zeros(W.shape[0], dtype=bool)
        stages, calls, qpu_time = {}, 0, None
        if rounding == "nearest":
            k = near
        elif rounding == "gptq":
            k = gptq(lr, act_order=act_order)
        elif rounding == "adaround":
            k = adaround(lr)
        else:
            solve = first = None
            if generic:
                used = solver.usage
                seeds = seeds_from(rng, W.shape[0])
                if solver.name == "qpu":  # the QPU first, from the best start; then the polish
                    first = _sampler_solve(lr, solver, seeds, whole_box=True)
                else:
                    solve = _sampler_solve(lr, solver, seeds)
            starts = [gptq(lr, act_order=False), gptq(lr, act_order=True)]
            k, proven = qubo_round(lr, neighbourhood=neighbourhood, starts=starts,
                                   solve=solve, first=first, stages=stages, n_jobs=n_jobs)
            if generic:
                after = solver.usage
                calls = after["sampler_calls"] - used["sampler_calls"]
                if after["qpu_access_time"] or used["qpu_access_time"]:
                    qpu_time = after["qpu_access_time"] - used["qpu_access_time"]
        obj_near = lr.objectives(near)
        obj = lr.objectives(k)
        q = lr.integers(k)
        n_fixed = int(np.count_nonzero(~lr.active)) * W.shape[0]
        out_f = X_l @ W.T + b
        layer = QuantizedLayer(
            name=name,
            weight_int=q[:, :-1].astype(dtype),
            bias_int=q[:, -1].astype(dtype),
            weight_scale=s_w,
            bias_scale=float(s_b),
            weight_zero_point=0,
            bias_zero_point=0,
            n_bits=n_bits,
            qmin=qmin,
            qmax=qmax,
            step=step,
            activation=act,
            error_nearest=float(obj_near.sum()),
            error_qubo=float(obj.sum()) if rounding == "qubo" else None,
            output_norm=float(np.sum(out_f * out_f)),
            n_fixed=n_fixed,
            n_changed=int(np.count_nonzero(k != near)),
            time_s=time.perf_counter() - start,
            rounding=rounding,
            error=float(obj.sum()),
            n_proven=int(np.count_nonzero(proven)),
            proven=proven,
            error_start=float(stages["start"].sum()) if "start" in stages else None,
            error_sampler=float(stages["sampler"].sum()) if "sampler" in stages else None,
            sampler_calls=calls,
            qpu_access_time=qpu_time,
            n_from_sampler=int(np.count_nonzero(stages.get("sampler_path", ()))),
        )
        layers.append(layer)
        if verbose:
            norm = max(layer.output_norm, 1e-300)
            print(
                f"[QUBOQuantizer] layer {i} ({name}, {W.shape[0]}x{W.shape[1]}, "
                f"int{n_bits}): relative error nearest {layer.error_nearest / norm:.4g}, "
                f"{rounding} {layer.error / norm:.4g} ({layer.n_changed} changed, "
                f"{layer.n_proven} neurons proven optimal, {layer.time_s:.2f} s)",
                file=sys.stdout,
            )
        if i < len(dense) - 1:
            f_act = _ACTIVATIONS[act]
            inputs_q = f_act(inputs_q @ layer.weight.T + layer.bias)
            inputs_f = f_act(inputs_f @ W.T + b)
    return layers


#: Default sweeps of ``sampler="sa"`` in the quantizer (warm-started, one read).
_SA_SWEEPS = 200
#: The QPU's defaults for rounding problems (user guide, "Samplers", section "What the QPU
#: contributes to the quantizer"): 16-qubit subproblems of centred three-level windows (a value
#: may move one grid point either way) chosen by their best single or pair move.
_SAMPLER_DEFAULTS = {
    "sa": {"num_reads": 1, "num_sweeps": _SA_SWEEPS},
    "qpu": {"subproblem_size": 16, "window": 3, "selection": "pairs"},
}


def _warm_beta_range(problem):
    """Schedule for an anneal that starts at round-to-nearest: 3x colder than a cold start.

    :func:`quboclf._anneal.default_beta_range` starts hot enough to accept a typical uphill
    move with probability ½, which mostly forgets the warm start; three times colder it accepts
    it with probability ⅛, still enough to leave a poor local minimum (ten times colder missed
    the exact optimum of small layers more often). The cold end is capped at 100 times the hot
    end, since the default cold end (set by the flattest variable) leaves most sweeps frozen.
    """
    hot, cold = default_beta_range(problem)
    hot = 3.0 * hot
    return (hot, max(hot, min(cold, 100.0 * hot)))


def _estimator_has(attr):
    def check(self):
        est = getattr(self, "quantized_estimator_", self.estimator)
        getattr(est, attr)
        return True

    return check


# -- the estimator ------------------------------------------------------------------------------


class QUBOQuantizer(MetaEstimatorMixin, TransformerMixin, BaseEstimator):
    """Post-training quantization of a dense model, rounding each neuron by an exact QUBO.

    Wraps a scikit-learn ``MLPClassifier``/``MLPRegressor`` (every hidden layer and the output
    layer), a linear model with ``coef_`` and ``intercept_`` (``LogisticRegression``,
    ``RidgeClassifier``, ``Ridge``, ``SGDClassifier``, ``LinearRegression``, ...),
    :class:`QUBOCNNClassifier`'s linear head, or a ``Pipeline`` ending in one of these. ``fit``
    fits a clone of the estimator (or uses it as is if it is already fitted, without modifying
    it), then quantizes its dense layers one after the other to signed ``n_bits`` integers
    (``Ŵ = s_w q``, bias with its own scale ``s_b``), using ``X`` as calibration data.

    ``rounding="qubo"`` chooses, for each output neuron ``l``, the integers ``q`` of its weights
    and bias minimising the error of its pre-activation on the calibration inputs ``X`` of the
    layer, ``‖[X, 1] (s ∘ q − w̃_l)‖²``: a box-constrained integer least-squares problem (a QUBO
    over the allowed grid points, ``neighbourhood``) whose matrix ``[X 1]ᵀ[X 1]`` is shared by
    the whole layer; summed over neurons it is the layer's objective
    ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F`` (ADAROUND's objective without its relaxation). Each
    neuron starts from the best of round-to-nearest and GPTQ, is improved by exact local search
    and, if it has at most 64 free values, solved to proven optimality by branch and bound; so
    the QUBO rounding is never worse than nearest or GPTQ on the calibration data.
    ``rounding="nearest"``, ``"gptq"`` and ``"adaround"`` are the baselines, on the same scales,
    grid and calibration rows. The work is done by :func:`quantize_layers`.

    Read more in the :doc:`User Guide </guide/quantizer>`.

    Parameters
    ----------
    estimator : estimator object
        The model to quantize, fitted (used as is, never modified) or not (a clone is fitted).
        Cloning the quantizer (as ``GridSearchCV`` does) unfits it; wrap a trained model in
        ``sklearn.frozen.FrozenEstimator`` to keep it through cloning.
    n_bits : int, default=4
        Bit width, 1 to 8. With ``n_bits >= 2`` the integers are ``−(2**(n_bits−1) − 1)`` to
        ``2**(n_bits−1) − 1`` (int2 is ternary {−1, 0, 1}); ``n_bits=1`` is binary {−1, +1}
        (weights ``±s``, scale ``mean |w|``).
    rounding : {"qubo", "gptq", "adaround", "nearest"}, default="qubo"
        The QUBO rounding (see above), GPTQ (Frantar et al., 2022), AdaRound (Nagel et al.,
        2020) or round-to-nearest.
    granularity : {"per-tensor", "per-channel"}, default="per-tensor"
        One weight scale per layer, or one per output neuron. Scales minimise the weights' own
        round-to-nearest error (a search over clipping ranges); the bias has one scale per layer.
    propagate : {"quantized", "float"}, default="quantized"
        Calibration inputs of layer ``l + 1``: the outputs of the already quantized layers
        (ADAROUND practice: later layers correct earlier layers' errors), or the float model's.
    neighbourhood : {1, 2}, default=2
        Grid points the QUBO rounding may choose for a value: 1, round down or up; 2, also one
        step further each way (two binary variables per value).
    act_order : bool, default=True
        GPTQ's column order (``rounding="gptq"``): by decreasing curvature, or as stored.
    n_calibration : int or None, default=1024
        Number of rows of ``X`` (drawn without replacement with ``random_state``) used as
        calibration data; None uses all of them.
    sampler : str or dimod.Sampler, default="sa"
        ``"sa"``: the built-in solver of ``rounding="qubo"`` (local search and branch and
        bound). ``"qpu"``: the QPU first, each neuron over its whole box from the best start
        in QPU-sized subproblems, then the local search polishes its answer (and also runs
        from the start; a neuron keeps the better); ``layers_`` records each part's objective
        and the QPU time. Any other sampler of :func:`quboclf._samplers.make_solver`
        (``"sa-dimod"``, ``"tabu"``, ``"exact"``, ``"hybrid"`` or a ``dimod.Sampler``
        instance) receives each neuron's QUBO (one binary variable per value), warm-started
        from the built-in solver's answer; a neuron keeps the better answer.
    sampler_params : dict, default=None
        Parameters of the sampler. With ``sampler="sa"``, giving any also runs the annealer on
        each neuron (defaults ``num_reads=1, num_sweeps=200`` and a schedule three times colder
        than :func:`quboclf._anneal.default_beta_range`; keys given here override them). With
        ``"qpu"`` the quantizer's defaults are ``subproblem_size=16, window=3,
        selection="pairs"`` (user guide, "Samplers"); ``qpu_budget`` caps the QPU time.
    n_jobs : int, default=None
        Threads for the local search and the samplers' solves. Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Chooses the calibration rows and seeds the solver.
    verbose : bool, default=False
        Print one line per layer.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted float model (``estimator`` itself when it was given fitted).
    quantized_estimator_ : estimator object
        A fitted deep copy of ``estimator_`` whose dense weights are the dequantized ``Ŵ``, ``b̂``;
        ``predict`` & co. delegate to it.
    layers_ : list of QuantizedLayer
        Integer weights and biases, scales, zero points, bit width, the calibration errors of
        the chosen rounding and of round-to-nearest and the neurons proven optimal, per layer,
        input to output.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    quantize_layers : The same quantization on plain arrays (any framework).
    QUBOCNNClassifier : A classifier whose head is trained by QUBOs.

    Notes
    -----
    Scales: a weight tensor's (or row's) scale minimises its own round-to-nearest error over
    clipping ranges of 1 %, 2 %, …, 100 % of ``max |w|`` (100 % is the max-abs scale
    ``max |w| / qmax``). Weights of inputs that are zero in every calibration row keep
    round-to-nearest with every method.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from quboclf import QUBOQuantizer
    >>> X, y = load_iris(return_X_y=True)
    >>> quantizer = QUBOQuantizer(LogisticRegression(max_iter=500), n_bits=3, random_state=0)
    >>> quantizer.fit(X, y).score(X, y) > 0.9
    True
    >>> layer = quantizer.layers_[0]
    >>> layer.weight_int.dtype, layer.weight_int.shape, int(abs(layer.weight_int).max()) <= 3
    (dtype('int8'), (3, 4), True)
    >>> layer.error_qubo <= layer.error_nearest
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_bits": [Interval(Integral, 1, 8, closed="both")],
        "rounding": [StrOptions(set(ROUNDINGS))],
        "granularity": [StrOptions({"per-tensor", "per-channel"})],
        "propagate": [StrOptions({"quantized", "float"})],
        "neighbourhood": [Interval(Integral, 1, 2, closed="both")],
        "act_order": ["boolean"],
        "n_calibration": [Interval(Integral, 1, None, closed="left"), None],
        "sampler": [StrOptions(set(SAMPLER_NAMES)), HasMethods(["sample"])],
        "sampler_params": [dict, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimator,
        *,
        n_bits=4,
        rounding="qubo",
        granularity="per-tensor",
        propagate="quantized",
        neighbourhood=2,
        act_order=True,
        n_calibration=1024,
        sampler="sa",
        sampler_params=None,
        n_jobs=None,
        random_state=None,
        verbose=False,
    ):
        self.estimator = estimator
        self.n_bits = n_bits
        self.rounding = rounding
        self.granularity = granularity
        self.propagate = propagate
        self.neighbourhood = neighbourhood
        self.act_order = act_order
        self.n_calibration = n_calibration
        self.sampler = sampler
        self.sampler_params = sampler_params
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
        tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
        tags.target_tags = copy.deepcopy(inner.target_tags)
        tags.target_tags.required = True
        # transform() feeds the quantized model's outputs to a later Pipeline step.
        tags.transformer_tags.preserves_dtype = []
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    @property
    def classes_(self):
        """Class labels of the wrapped classifier."""
        return self.estimator_.classes_

    def _sampler_params(self):
        return resolve_params(self.sampler, self.sampler_params, _SAMPLER_DEFAULTS)

    def _solver(self):
        """The fit's sampler, validated once: a Solver, or the name of a sampler never asked."""
        sampler = self.sampler
        plain_sa = isinstance(sampler, str) and sampler == "sa" and not self.sampler_params
        if self.rounding != "qubo" or plain_sa:
            return sampler
        return make_solver(
            sampler, self.sampler_params, defaults=_SAMPLER_DEFAULTS, schedule=_warm_beta_range
        )

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit (unless prefit) and quantize the estimator, with ``X`` as calibration data.

        A fit that raises (bad data, a sampler that fails) leaves the quantizer exactly as it
        was before the call: still unfitted, or with its previous quantized model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; ``n_calibration`` of its rows are the calibration data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (used only to fit the estimator when it is not fitted yet).
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped estimator's ``fit`` (to the last step of a ``Pipeline``) when
            it is not fitted yet; refused for a prefit estimator. The calibration rows are
            drawn and weighted uniformly: the rounding reproduces the model's outputs.

        Returns
        -------
        self : object
            The fitted quantizer.
        """
        with unchanged_on_failure(self):
            return self._fit(X, y, sample_weight)

    def _calibration_rows(self, n, rng):
        """Sorted indices of the calibration rows among ``n`` (all of them if few enough)."""
        if self.n_calibration is not None and self.n_calibration < n:
            return np.sort(rng.choice(n, self.n_calibration, replace=False))
        return np.arange(n)

    def _fit_params(self, X, sample_weight):
        """``fit`` keyword arguments that hand ``sample_weight`` to the wrapped estimator."""
        if sample_weight is None:
            return {}
        if _is_fitted(self.estimator):
            raise ValueError(
                f"sample_weight is passed to the wrapped estimator's fit, but the "
                f"{type(self.estimator).__name__} given is already fitted; fit it with the "
                "weights yourself, or pass an unfitted estimator"
            )
        sample_weight = _check_sample_weight(sample_weight, X)
        final = _final(self.estimator)
        if not has_fit_parameter(final, "sample_weight"):
            raise TypeError(
                f"{type(final).__name__}.fit does not accept sample_weight; fit without "
                "sample_weight, or wrap an estimator that supports it"
            )
        if isinstance(self.estimator, Pipeline):
            return {f"{self.estimator.steps[-1][0]}__sample_weight": sample_weight}
        return {"sample_weight": sample_weight}

    def _fit(self, X, y, sample_weight=None):
        X, y = validate_numeric(self, X, y, multi_output=True, allow_nd=True)
        fit_params = self._fit_params(X, sample_weight)
        sampler = self._solver()  # fails here, before training the wrapped estimator
        rng = check_random_state(self.random_state)
        if _is_fitted(self.estimator):
            est = self.estimator
            n_in = getattr(est, "n_features_in_", X.shape[1])
            if n_in != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features, but the prefit {type(est).__name__} was "
                    f"fitted on {n_in}; pass data like the data the estimator was trained on"
                )
        else:
            est = clone(self.estimator).fit(X, y, **fit_params)
        _check_supported(est)

        rows = self._calibration_rows(X.shape[0], rng)
        dense = _dense_layers(est)
        layers = quantize_layers(
            [W for _, W, _, _, _ in dense],
            [b if has_bias else None for _, _, b, has_bias, _ in dense],
            [act for _, _, _, _, act in dense],
            _model_inputs(est, X[rows]),
            n_bits=self.n_bits,
            rounding=self.rounding,
            granularity=self.granularity,
            propagate=self.propagate,
            neighbourhood=self.neighbourhood,
            act_order=self.act_order,
            sampler=sampler,
            sampler_params=self.sampler_params,
            names=[name for name, _, _, _, _ in dense],
            n_jobs=self.n_jobs,
            random_state=rng,
            verbose=self.verbose,
        )
        quantized = copy.deepcopy(est)
        _set_dense_layers(quantized, layers)
        self.estimator_ = est
        self.quantized_estimator_ = quantized
        self.layers_ = layers
        return self

    def get_qubos(self, X):
        """Every neuron's rounding problem, as :class:`~quboclf.ExportedQUBO` dimod models.

        The problems are the ones ``fit`` poses, layer by layer: the calibration rows are drawn
        from ``X`` as ``fit`` draws them (the same rows when ``X`` and an integer
        ``random_state`` are the same), later layers see the outputs of the quantized layers
        before them (``propagate="quantized"``) or of the float ones, and the scales are the
        fitted ones. Neuron ``l`` chooses, for each value whose rounding is not forced, a grid
        point in its neighbourhood (``neighbourhood`` grid points below and above the float
        value, widened to hold the fitted answer); variable ``"v[j]"`` (integer form) or the
        bits ``"v[j,k]"`` (binary form) is the offset of value ``j`` (an input index, or
        ``"bias"``) from the lowest point it may take; the box holds the ``2**n_bits`` points the
        bits encode, so the binary form needs no level bounds, except on grids with fewer
        points than that (int2 has three, so with ``neighbourhood=2`` only the integer form
        ``qm`` exists there and ``bqm`` raises). The energy dimod gives a sample is the
        neuron's share of the layer objective ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F``, and
        ``initial`` holds the fitted rounding's levels, whose objective summed over a layer's
        neurons is that layer's ``error``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to draw the calibration rows from (normally the data given to ``fit``).

        Returns
        -------
        qubos : dict of str to list of ExportedQUBO
            Per layer name (input to output), one problem per output neuron.

        Examples
        --------
        >>> import dimod
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> from quboclf import QUBOQuantizer
        >>> X, y = load_iris(return_X_y=True)
        >>> quantizer = QUBOQuantizer(LogisticRegression(max_iter=500), n_bits=3,
        ...                           random_state=0).fit(X, y)
        >>> qubos = quantizer.get_qubos(X)
        >>> [(name, len(problems)) for name, problems in qubos.items()]
        [('linear', 3)]
        >>> qubo = qubos["linear"][0]
        >>> best = dimod.ExactSolver().sample(qubo.bqm).first
        >>> bool(abs(best.energy - qubo.objective(best.sample)) < 1e-6 * (1 + best.energy))
        True
        >>> qubo.decode(best.sample).shape, qubo.initial.shape  # 4 inputs and the bias
        ((5,), (5,))
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True)
        rng = check_random_state(self.random_state)
        rows = self._calibration_rows(X.shape[0], rng)
        inputs_q = inputs_f = _model_inputs(self.estimator_, X[rows])
        dense = _dense_layers(self.estimator_)
        qubos = {}
        for i, ((name, W, b, has_bias, act), layer) in enumerate(zip(dense, self.layers_)):
            X_l = inputs_q if self.propagate == "quantized" else inputs_f
            lr = layer_rounding(
                X_l, W, b, layer.weight_scale, layer.bias_scale, self.n_bits, fit_bias=has_bias
            )
            q = np.hstack([layer.weight_int, layer.bias_int[:, None]]).astype(np.int64)
            k = (q[:, lr.active] - lr.qmin) // lr.step
            names = [*range(W.shape[1]), "bias"]
            names = [j for j, keep in zip(names, lr.active) if keep]
            qubos[name] = _neuron_problems(lr, k, self.neighbourhood, names)
            if i < len(dense) - 1:
                f_act = _ACTIVATIONS[act]
                inputs_q = f_act(inputs_q @ layer.weight.T + layer.bias)
                inputs_f = f_act(inputs_f @ W.T + b)
        return qubos

    def _validated(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, allow_nd=True)

    def predict(self, X):
        """Predict with the quantized model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The quantized model's predictions.
        """
        X = self._validated(X)
        return self.quantized_estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the quantized model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities.
        """
        X = self._validated(X)
        return self.quantized_estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities of the quantized model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities.
        """
        X = self._validated(X)
        return self.quantized_estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the quantized model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Decision scores.
        """
        X = self._validated(X)
        return self.quantized_estimator_.decision_function(X)

    def transform(self, X):
        """Outputs of the quantized model, as features for a later Pipeline step.

        Classifiers: ``decision_function`` if the wrapped estimator has one, else
        ``predict_proba`` (``MLPClassifier``); regressors: ``predict``. Always 2-D: a 1-D
        output becomes one column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_outputs)
            The quantized model's outputs.
        """
        X = self._validated(X)
        est = self.quantized_estimator_
        if get_tags(est).estimator_type == "classifier":
            if hasattr(est, "decision_function"):
                out = est.decision_function(X)
            else:
                out = est.predict_proba(X)
        else:
            out = est.predict(X)
        out = np.asarray(out)
        return out.reshape(out.shape[0], -1)

    def score(self, X, y, sample_weight=None):
        """Score of the quantized model (accuracy for classifiers, R² for regressors).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            The wrapped estimator's ``score`` of the quantized model.
        """
        X = self._validated(X)
        return self.quantized_estimator_.score(X, y, sample_weight=sample_weight)
