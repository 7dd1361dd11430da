"""Benchmarks of ``sampler="qpu"`` offline: QPU-sized subproblems through the mocked QPU.

The QPU is dwave-system's ``MockDWaveSampler(topology_type="pegasus", topology_shape=[16])``
(an Advantage-size Pegasus P16 graph, largest clique 180) patched in below
``DWaveCliqueSampler``, exactly as the test suite does; optionally with quboclf's
:class:`~quboclf.testing.NoisyMockSampler` as its solver (Gaussian noise of relative σ on the
embedded biases and couplings). QPU access time is dwave-cloud-client's timing model for the
qubits each call uses (the mock's own figures are fixed demonstration values).

``--what classifier``
    ``QUBOCNNClassifier`` on digits (or ``--data fmnist``: a subset of Fashion-MNIST; 70/30
    split per seed) with ``sampler="sa"`` and
    ``sampler="qpu"`` (and, with ``--sigmas``, the noisy QPU at each σ); prints test accuracy,
    QPU calls, QPU access time and wall time per fit, and the mean over seeds.
``--what quantizer``
    A 784-256-10 ``MLPClassifier`` trained on Fashion-MNIST, int4, ``propagate="float"`` (every
    method solves the same problems), 1,024 calibration rows: the objective (sum over layers of
    ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F``) of ``QUBOQuantizer(sampler="sa")`` (the default:
    GPTQ starts, exact local search, proofs), of round-to-nearest, of GPTQ, and of the QPU's
    decomposition of every neuron over its neighbourhood box started from ``--start`` (GPTQ,
    nearest, or per neuron the best of those), with its QPU calls and time: what the QPU does
    without any classical search.
``--what quantizer-estimator``
    ``QUBOQuantizer(sampler="qpu")`` itself against ``sampler="sa"`` on that model, with the
    fit's records (the objective after the QPU, before the classical polish).
``--what selection``
    The decomposition's selection rules and subproblem sizes on the first neurons of that
    model's first layer (objective, calls, QPU time).
``--what noise``
    The objective of those neurons against the noise σ of the mocked QPU (``--sigmas``).
``--what noise-head``
    The classifier's own QUBOs (the first sweep of a digits fit) solved by the noisy QPU from
    zero weights: the share of the energy gap it closes and of subproblems accepted, per σ.

Estimator settings are arguments, so the same script measures any version of the estimators::

    python benchmarks/bench_qpu.py --what classifier --n-bits 10 --seeds 0 1 2
    python benchmarks/bench_qpu.py --what classifier --n-bits 4 --seeds 0 1 2
    python benchmarks/bench_qpu.py --what classifier --n-bits 10 --seeds 0 1 2 \\
        --sigmas 0 0.01 0.02 0.03 0.05 --samplers sa
    python benchmarks/bench_qpu.py --what classifier --data fmnist --fmnist-train 10000 --seeds 0
    python benchmarks/bench_qpu.py --what quantizer --n-bits 4
    python benchmarks/bench_qpu.py --what quantizer-estimator
    python benchmarks/bench_qpu.py --what selection --neurons 2
    python benchmarks/bench_qpu.py --what noise --neurons 4 --sigmas 0 0.01 0.02 0.03 0.05
    python benchmarks/bench_qpu.py --what noise-head --n-bits 4 --sigmas 0 0.01 0.03 0.05

The machine running these may be shared: compare times within one run.
"""

import argparse
import json
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from quboclf import QUBOCNNClassifier, QUBOQuantizer, RandomConvFeatures, _quantizer, _samplers
from quboclf.testing import mock_qpu

sys.path.insert(0, str(Path(__file__).parent))
from bench_quantizer import load_fashion_mnist

SUBSTITUTE = "steepest"  # --substitute


class _AnnealingSubstitute:
    """dwave-samplers' simulated annealing with a short schedule, as the mock's solver."""

    def __init__(self):
        from dwave.samplers import SimulatedAnnealingSampler

        self.sampler = SimulatedAnnealingSampler()
        self.parameters = {"num_reads": []}

    def sample(self, bqm, num_reads=1, **kwargs):
        return self.sampler.sample(bqm, num_reads=num_reads, num_sweeps=100)


@contextmanager
def mocked_qpu(shape=16, sigma=None):
    """``sampler="qpu"`` on the mocked Pegasus QPU; with ``sigma``, a noisy one."""
    child = None if SUBSTITUTE == "steepest" else _AnnealingSubstitute()
    with mock_qpu(sigma, topology_shape=shape, child=child):
        yield


@contextmanager
def solver_usage():
    """Collect the solvers estimators make, to read their ``usage`` after ``fit``."""
    made = []
    real = _samplers.make_solver

    def spy(sampler, params=None, **kwargs):
        solver = real(sampler, params, **kwargs)
        made.append(solver)
        if sampler == "qpu":  # progress of long runs, every 16 solves
            solve, count, t0 = solver.solve, [0], time.perf_counter()

            def logged(*a, **k):
                result = solve(*a, **k)
                count[0] += 1
                if count[0] % 16 == 0:
                    u = solver.usage
                    print(
                        f"  ... {count[0]} solves, {u['sampler_calls']} QPU calls, "
                        f"{u['qpu_access_time'] / 1e6:.1f} s QPU, "
                        f"{time.perf_counter() - t0:.0f} s wall",
                        flush=True,
                    )
                return result

            solver.solve = logged
        return solver

    with mock.patch.object(_quantizer, "make_solver", spy):
        import quboclf._classifier as classifier_module

        with mock.patch.object(classifier_module, "make_solver", spy):
            yield made


def usage_of(made, accepted=False):
    made = list({id(s): s for s in made}.values())  # the quantizer passes its solver on
    calls = sum(s.usage["sampler_calls"] for s in made)
    qpu_us = sum(s.usage["qpu_access_time"] for s in made)
    if accepted:
        return calls, qpu_us / 1e6, sum(s.usage.get("subproblems_accepted", 0) for s in made)
    return calls, qpu_us / 1e6


def run_classifier(args):
    if args.data == "digits":
        X, y = load_digits(return_X_y=True)
    else:  # a random subset of Fashion-MNIST's training set, as 28x28 images
        Xf, yf, _, _ = load_fashion_mnist()
        rows = np.random.default_rng(0).choice(len(Xf), args.fmnist_train, replace=False)
        X, y = Xf[rows].reshape(-1, 28, 28), yf[rows]
    params = json.loads(args.sampler_params)
    runs = [(name, None) for name in args.samplers]
    runs += [("qpu", float(s)) for s in args.sigmas]
    data = "digits" if args.data == "digits" else f"Fashion-MNIST ({args.fmnist_train} rows)"
    feats = "600 (default)"
    if args.n_filters is not None:
        feats = f"{args.n_filters} filters x {args.pool_grid}x{args.pool_grid}"
    print(
        f"{data}, QUBOCNNClassifier(n_bits={args.n_bits}, max_iter={args.max_iter}, "
        f"init={args.init!r}, features={feats}), "
        f"qpu sampler_params={params}, mocked Pegasus P{args.shape}"
    )
    print(
        f"{'sampler':22s} {'seed':>4s} {'acc':>7s} {'calls':>7s} {'QPU s':>8s} {'wall s':>8s} "
        f"{'accepted':>8s} {'iters':>5s}"
    )
    table = {}
    for seed in args.seeds:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
        for name, sigma in runs:
            label = name if sigma is None else f"qpu sigma={sigma:g}"
            ctx = mocked_qpu(args.shape, sigma if name == "qpu" else None)
            sp = params if name == "qpu" else None
            features = None  # the default: 600 random convolution features
            if args.n_filters is not None:
                features = RandomConvFeatures(
                    n_filters=args.n_filters, pool_grid=args.pool_grid, random_state=seed
                )
            clf = QUBOCNNClassifier(
                n_bits=args.n_bits,
                sampler=name,
                sampler_params=sp,
                max_iter=args.max_iter,
                init=args.init,
                features=features,
                random_state=seed,
            )
            t = time.perf_counter()
            with ctx, solver_usage() as made, warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(Xtr, ytr)
            wall = time.perf_counter() - t
            acc = clf.score(Xte, yte)
            calls, qpu_s, accepted = usage_of(made, accepted=True)
            table.setdefault(label, []).append((acc, calls, qpu_s, wall, accepted))
            print(
                f"{label:22s} {seed:4d} {acc:7.4f} {calls:7d} {qpu_s:8.2f} {wall:8.1f} "
                f"{accepted:8d} {clf.n_iter_:5d}",
                flush=True,
            )
    print("\nmean over seeds")
    for label, rows in table.items():
        a = np.asarray(rows)
        print(
            f"{label:22s} acc {a[:, 0].mean():.4f} ± {a[:, 0].std():.4f}  calls "
            f"{a[:, 1].mean():.0f}  QPU {a[:, 2].mean():.2f} s  wall {a[:, 3].mean():.1f} s  "
            f"accepted {a[:, 4].mean():.1f}"
        )


def fmnist_model(args):
    Xtr, ytr, _, _ = load_fashion_mnist()
    rng = np.random.default_rng(0)
    sub = rng.choice(len(Xtr), args.fmnist_train, replace=False)
    X, y = Xtr[sub], ytr[sub]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier(
            (args.hidden,), max_iter=args.fmnist_iter, random_state=0, batch_size=256
        ).fit(X, y)
    calib = np.sort(np.random.default_rng(1).choice(len(X), args.n_calibration, replace=False))
    return mlp, X[calib], y[calib]


def run_quantizer(args):
    """The QPU's own contribution: its decomposition from a cheap classical start, against the
    estimator's default ("sa": GPTQ starts, exact local search, proofs)."""
    from quboclf._ptq import gptq, layer_rounding, neighbourhood_box, qubo_round, round_nearest
    from quboclf._rounding import choose_scale

    mlp, Xc, yc = fmnist_model(args)
    params = json.loads(args.sampler_params)
    print(
        f"Fashion-MNIST 784-{args.hidden}-10 MLP ({args.fmnist_train} training rows), int"
        f"{args.n_bits}, {len(Xc)} calibration rows, propagate='float', neighbourhood 2; qpu "
        f"from {args.start!r} with sampler_params={params}, mocked Pegasus P{args.shape}",
        flush=True,
    )
    t = time.perf_counter()
    q = QUBOQuantizer(mlp, n_bits=args.n_bits, sampler="sa", propagate="float",
                      n_calibration=None, random_state=0).fit(Xc, yc)
    sa = sum(layer.error_qubo for layer in q.layers_)
    print(f"sa (the estimator's default) objective {sa:.4f}  wall {time.perf_counter() - t:.1f} s",
          flush=True)
    X = _quantizer._model_inputs(mlp, Xc)
    totals = {"nearest": 0.0, "gptq": 0.0, "start": 0.0, "qpu": 0.0, "sa": 0.0}
    calls = qpu_s = accepted = 0
    t = time.perf_counter()
    for i, (name, W, b, _, act) in enumerate(_quantizer._dense_layers(mlp)):
        lr = layer_rounding(X, W, b, choose_scale(W, args.n_bits), choose_scale(b, args.n_bits),
                            args.n_bits, fit_bias=True)
        near, g = round_nearest(lr), gptq(lr, act_order=True)
        start = near if args.start == "nearest" else g
        if args.start == "best":  # per neuron, the best of the estimator's starts
            cands = [near, g, gptq(lr, act_order=False)]
            pick = np.argmin([lr.objectives(c) for c in cands], axis=0)
            start = np.choose(pick[:, None], cands)
        lo, hi = neighbourhood_box(lr, 2)
        lo, hi = np.minimum(lo, start), np.maximum(hi, start)
        H = 2.0 * lr.G
        neurons = range(lr.n_neurons if args.neurons is None or i > 0 else args.neurons)
        k = start.copy()
        with mocked_qpu(args.shape):
            solver = _samplers.make_solver("qpu", params)
            for l in neurons:
                problem = _quantizer._box_problem(lr, H, l, lo[l], hi[l])
                r = solver.solve(problem, initial=start[l] - lo[l], seed=l)
                k[l] = lo[l] + r.levels
                if (l + 1) % 32 == 0:
                    u = solver.usage
                    print(f"  {name}: {l + 1} neurons, {u['sampler_calls']} calls, "
                          f"{time.perf_counter() - t:.0f} s", flush=True)
        u = solver.usage
        calls += u["sampler_calls"]
        qpu_s += u["qpu_access_time"] / 1e6
        accepted += u["subproblems_accepted"]
        rows = list(neurons)
        # "sa"'s answer on these neurons: the estimator's own solver on the same problems
        k_sa, _ = qubo_round(lr, neighbourhood=2, starts=[gptq(lr, act_order=False), g])
        for key, kk in (("nearest", near), ("gptq", g), ("start", start), ("qpu", k),
                        ("sa", k_sa)):
            totals[key] += float(lr.objectives(kk)[rows].sum())
        X = _quantizer._ACTIVATIONS[act](X @ W.T + b)
    wall = time.perf_counter() - t
    subset = "" if args.neurons is None else f" (first {args.neurons} neurons of layer 1 only)"
    print(f"objectives{subset}: nearest {totals['nearest']:.4f}  gptq {totals['gptq']:.4f}  "
          f"{args.start} {totals['start']:.4f}  sa {totals['sa']:.4f}  "
          f"qpu from {args.start} {totals['qpu']:.4f} (/ sa {totals['qpu'] / totals['sa']:.4f})")
    print(f"qpu: {calls} calls ({accepted} accepted), {qpu_s:.2f} s QPU (estimated), "
          f"{wall:.1f} s wall")
    if args.neurons is None:
        print(f"qpu / sa objective ratio {totals['qpu'] / sa:.4f}; "
              f"{args.start} / sa {totals['start'] / sa:.4f}")


def run_quantizer_estimator(args):
    """The acceptance as users run it: ``QUBOQuantizer(sampler="qpu")`` against ``"sa"``.

    The estimator's own QPU path on the mocked QPU (``--sampler-params`` as its
    ``sampler_params``), on the same model and calibration rows as ``--what quantizer``, with
    the fit's records per layer: the objective of the start, after the QPU's subproblems
    (``error_sampler``: the QPU's share), and after the classical polish, and the neurons whose
    answer came from the QPU's path (``n_from_sampler``).
    """
    mlp, Xc, yc = fmnist_model(args)
    params = json.loads(args.sampler_params) or None
    print(
        f"Fashion-MNIST 784-{args.hidden}-10 MLP ({args.fmnist_train} training rows), int"
        f"{args.n_bits}, {len(Xc)} calibration rows, propagate='float'; "
        f"QUBOQuantizer(sampler='qpu', sampler_params={params}), mocked Pegasus P{args.shape}",
        flush=True,
    )
    results = {}
    for name in ("sa", "qpu"):
        t = time.perf_counter()
        q = QUBOQuantizer(mlp, n_bits=args.n_bits, sampler=name,
                          sampler_params=params if name == "qpu" else None,
                          propagate="float", n_calibration=None, random_state=0)
        with mocked_qpu(args.shape), solver_usage() as made, warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            q.fit(Xc, yc)
        wall = time.perf_counter() - t
        obj = sum(layer.error_qubo for layer in q.layers_)
        calls, qpu_s, accepted = usage_of(made, accepted=True) if made else (0, 0.0, 0)
        results[name] = obj
        print(f"{name:4s} objective {obj:.4f}  QPU calls {calls} ({accepted} subproblems "
              f"accepted)  QPU {qpu_s:.2f} s (estimated)  wall {wall:.1f} s", flush=True)
        for layer in q.layers_:
            if not hasattr(layer, "error_sampler"):  # a version without these records
                continue
            qpu_part = ""
            if layer.error_sampler is not None:
                qpu_part = (f", after the QPU {layer.error_sampler:.4f}, "
                            f"{layer.n_from_sampler} of {len(layer.proven)} neurons from the "
                            "QPU's path")
            qpu_time = (layer.qpu_access_time or 0.0) / 1e6
            print(f"  {layer.name}: start {layer.error_start:.4f}{qpu_part}, final "
                  f"{layer.error_qubo:.4f}, {layer.sampler_calls} QPU calls, {qpu_time:.2f} s QPU")
        if name == "qpu" and getattr(q.layers_[0], "error_sampler", None) is not None:
            start = sum(layer.error_start for layer in q.layers_)
            after = sum(layer.error_sampler for layer in q.layers_)
            print(f"qpu: start {start:.4f} -> after the QPU {after:.4f} (QPU alone / sa "
                  f"{after / results['sa']:.4f}) -> final {obj:.4f}")
    sa, qpu = results["sa"], results["qpu"]
    print(f"qpu / sa objective ratio {qpu / sa:.4f} (sa minus qpu: {sa - qpu:.4f})")


def run_selection(args):
    from _problems import build_layer_qubos

    from quboclf import _qubo
    from quboclf._quantizer import _dense_layers
    from quboclf._rounding import choose_scale

    mlp, Xc, _ = fmnist_model(args)
    _, W, b, _, _ = _dense_layers(mlp)[0]
    qubos = build_layer_qubos(
        Xc, W, b, choose_scale(W, args.n_bits), choose_scale(b, args.n_bits), args.n_bits
    )
    configs = [("sa", {})]
    for selection in ("impact", "coupled", "sweep"):
        configs.append(("qpu", {"selection": selection}))
    for size in args.sizes:  # the default rule at other subproblem sizes
        configs.append(("qpu", {"selection": "impact", "subproblem_size": size}))
    totals = {}
    with mocked_qpu(args.shape):
        for neuron in range(args.neurons):
            problem = qubos.problem(neuron)
            start = qubos.nearest[neuron]
            const = qubos.constant(neuron)
            for name, params in configs:
                t = time.perf_counter()
                r = _samplers.make_solver(name, params).solve(problem, initial=start, seed=0)
                row = totals.setdefault(json.dumps([name, params]), np.zeros(4))
                row += [
                    const + r.energy,
                    r.info.get("qpu_calls") or 0,
                    (r.info.get("qpu_access_time") or 0) / 1e6,
                    time.perf_counter() - t,
                ]
            row0 = const + float(_qubo.energy(problem, start))
            totals.setdefault("nearest", np.zeros(4))[0] += row0
    print(f"first {args.neurons} neurons of layer 1 (785 binary variables each), int{args.n_bits}")
    print(f"{'solver':60s} {'objective':>10s} {'calls':>6s} {'QPU s':>7s} {'wall s':>7s}")
    for key, (obj, calls, qpu, wall) in totals.items():
        print(f"{key:60s} {obj:10.4f} {calls:6.0f} {qpu:7.2f} {wall:7.1f}")


def run_noise(args):
    """Objective of the first neurons of layer 1 against the noise σ of the mocked QPU."""
    from _problems import build_layer_qubos

    from quboclf import _qubo
    from quboclf._quantizer import _dense_layers
    from quboclf._rounding import choose_scale

    mlp, Xc, _ = fmnist_model(args)
    _, W, b, _, _ = _dense_layers(mlp)[0]
    qubos = build_layer_qubos(
        Xc, W, b, choose_scale(W, args.n_bits), choose_scale(b, args.n_bits), args.n_bits
    )
    params = json.loads(args.sampler_params)
    neurons = range(args.neurons)
    near = sum(
        qubos.constant(j) + float(_qubo.energy(qubos.problem(j), qubos.nearest[j])) for j in neurons
    )
    sa = 0.0
    for j in neurons:
        r = _samplers.make_solver("sa").solve(qubos.problem(j), initial=qubos.nearest[j], seed=0)
        sa += qubos.constant(j) + r.energy
    print(f"first {args.neurons} neurons of layer 1, int{args.n_bits}, qpu sampler_params={params}")
    print(f"round-to-nearest objective {near:.4f}, sa {sa:.4f}")
    print(f"{'sigma':>6s} {'objective':>10s} {'/ sa':>6s} {'calls':>6s} {'QPU s':>7s}")
    for sigma in args.sigmas:
        obj = calls = qpu = 0.0
        with mocked_qpu(args.shape, float(sigma)):
            solver = _samplers.make_solver("qpu", params)
            for j in neurons:
                r = solver.solve(qubos.problem(j), initial=qubos.nearest[j], seed=j)
                obj += qubos.constant(j) + r.energy
            calls, qpu = usage_of([solver])
        print(f"{float(sigma):6.3f} {obj:10.4f} {obj / sa:6.3f} {calls:6d} {qpu:7.2f}", flush=True)


def run_noise_head(args):
    """The noisy QPU where there is work to do: the classifier's own QUBOs from zero weights.

    From its default start (the best rounding of a converged fit) the classifier's QUBOs are
    already at their optimum, so the QPU has nothing to improve at any noise level. Here the
    first sweep's problems of a digits fit (one per class) are solved again from the grid level
    nearest zero, at each σ; the table gives the share of the energy gap between that start and
    the fit's own answer which the QPU closes, and the share of subproblems accepted.
    """
    from quboclf import _qubo

    X, y = load_digits(return_X_y=True)
    Xtr, _, ytr, _ = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    captured = []
    real = _samplers.Solver.solve

    def spy(self, problem, *, initial=None, seed=None):
        result = real(self, problem, initial=initial, seed=seed)
        if len(captured) < args.problems:
            captured.append((problem, result.energy, result.levels))
        return result

    with mock.patch.object(_samplers.Solver, "solve", spy), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        QUBOCNNClassifier(n_bits=args.n_bits, max_iter=1, random_state=0).fit(Xtr, ytr)
    for problem, ref, levels in captured:  # the problems were not overwritten after the fit
        assert np.isclose(float(_qubo.energy(problem, levels)), ref, rtol=1e-9, atol=1e-15)
    params = json.loads(args.sampler_params)
    print(f"digits, QUBOCNNClassifier(n_bits={args.n_bits}): the first {len(captured)} QUBOs of "
          f"a fit, from zero weights; qpu sampler_params={params}, mocked Pegasus P{args.shape}")
    print(f"{'sigma':>6s} {'gap closed':>10s} {'accepted':>9s} {'calls':>6s} {'QPU s':>7s}")
    for sigma in args.sigmas:
        closed, acc, calls, qpu = [], 0, 0, 0.0
        with mocked_qpu(args.shape, float(sigma)):
            solver = _samplers.make_solver("qpu", params)
            for j, (problem, ref, _) in enumerate(captured):
                zero = np.clip(np.rint(-problem.offset / problem.delta), problem.lower,
                               problem.upper).astype(np.int64)
                e0 = float(_qubo.energy(problem, zero))
                r = solver.solve(problem, initial=zero, seed=j)
                closed.append((e0 - r.energy) / (e0 - ref))
        calls, qpu, acc = usage_of([solver], accepted=True)
        print(f"{float(sigma):6.3f} {np.mean(closed):10.4f} {acc / max(calls, 1):9.3f} "
              f"{calls:6d} {qpu:7.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--what",
        choices=("classifier", "quantizer", "quantizer-estimator", "selection", "noise",
                 "noise-head"),
        required=True,
    )
    parser.add_argument("--n-bits", type=int, help="default: 10 (classifier), 4 (others)")
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samplers", nargs="*", default=["sa", "qpu"])
    parser.add_argument("--sigmas", nargs="*", default=[], help="noisy QPU runs at these σ")
    parser.add_argument("--sampler-params", default="{}", help="JSON sampler_params for qpu")
    parser.add_argument("--shape", type=int, default=16, help="Pegasus size of the mock")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--fmnist-train", type=int, default=20000)
    parser.add_argument("--fmnist-iter", type=int, default=15)
    parser.add_argument("--n-calibration", type=int, default=1024)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--neurons", type=int, help="first neurons of layer 1 (default: all; 4 "
                        "for selection/noise)")
    parser.add_argument("--start", choices=("nearest", "gptq", "best"), default="gptq",
                        help="quantizer: the classical start of the QPU decomposition (best: "
                        "per neuron the best of nearest and GPTQ with and without act-order, "
                        "the estimator's starts)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[30, 120])
    parser.add_argument("--data", choices=("digits", "fmnist"), default="digits")
    parser.add_argument("--init", choices=("auto", "zeros"), default="auto")
    parser.add_argument("--n-filters", type=int, help="fewer features: RandomConvFeatures(...)")
    parser.add_argument("--pool-grid", type=int, default=3)
    parser.add_argument("--problems", type=int, default=5, help="noise-head: QUBOs to solve")
    parser.add_argument(
        "--substitute",
        choices=("steepest", "anneal"),
        default="steepest",
        help="the mock's solver: its default steepest descent, or simulated annealing",
    )
    args = parser.parse_args()
    global SUBSTITUTE
    SUBSTITUTE = args.substitute
    if args.n_bits is None:
        args.n_bits = 10 if args.what in ("classifier", "noise-head") else 4
    if args.neurons is None and args.what in ("selection", "noise"):
        args.neurons = 4
    runs = {
        "classifier": run_classifier,
        "quantizer": run_quantizer,
        "quantizer-estimator": run_quantizer_estimator,
        "selection": run_selection,
        "noise": run_noise,
        "noise-head": run_noise_head,
    }
    runs[args.what](args)


if __name__ == "__main__":
    main()
