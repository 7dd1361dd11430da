"""Benchmarks of QUBOQuantizer against GPTQ and AdaRound, and speed against dwave-samplers' SA.

Baselines (``--what fmnist``, the acceptance run): an ``MLPClassifier`` 784-256-10 trained on the
60,000 Fashion-MNIST training images (raw pixels / 255; ``batch_size=256``, ``early_stopping``,
at most ``--fmnist-iter`` epochs; one model per seed, reused for every method and width) is
quantized at int8 … int1, per-tensor and per-channel, with every ``rounding``: "nearest",
"gptq" (act-order on and off), "adaround" and "qubo" (default ``neighbourhood=2``, and
``neighbourhood=1``), all on the same scales, grid, 1,024 calibration rows (``random_state`` =
seed) and ``propagate="quantized"``. The *objective* of a method is the sum over layers of the
layer objective ``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F`` on that method's own calibration inputs
(``sum(layer.error for layer in q.layers_)``). Prints per granularity and width the mean
objective and test accuracy, the checks "QUBO objective <= min(best GPTQ, AdaRound)" and
"QUBO accuracy >= best of them − 0.2 points" per seed, and the int4 fit times.

Small neurons (``--what small``): the first layer of a digits MLP 64-64-10 (trained on the
studies' stratified 70/30 split of each seed, ``quboclf.studies.load_split``; 64 inputs + bias =
65 rounding values per neuron) at int2 and int4: the QUBO rounding's summed error against the
floor/ceil optimum proven by branch and bound (``quboclf._ptq.prove_neuron`` with a large node
budget).

Speed (``--what speed``): ``QUBOQuantizer`` at int4 on 1,024 rows against solving the same
per-neuron floor/ceil QUBOs one by one with dwave-samplers' ``SimulatedAnnealingSampler`` at its
defaults on BQMs (``_qubo.to_bqm``), the way the paper's public code does it.

Run::

    python benchmarks/bench_quantizer.py --what fmnist --seeds 3 --out /tmp/quantizer.json
    python benchmarks/bench_quantizer.py --what small --seeds 3
    python benchmarks/bench_quantizer.py --what speed --fmnist-train 20000 --fmnist-iter 15
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from quboclf import QUBOQuantizer
from quboclf.studies import load_split


def load_fashion_mnist():
    """Fashion-MNIST as flat rows in [0, 1]: ``(X_train, y_train, X_test, y_test)``."""
    X_tr, X_te, y_tr, y_te = load_split("fashion-mnist", 0, scale=True)
    return X_tr, y_tr, X_te, y_te


METHODS = (
    ("nearest", {"rounding": "nearest"}),
    ("gptq", {"rounding": "gptq", "act_order": True}),
    ("gptq-no-act-order", {"rounding": "gptq", "act_order": False}),
    ("adaround", {"rounding": "adaround"}),
    ("qubo", {"rounding": "qubo"}),
    ("qubo-neighbourhood-1", {"rounding": "qubo", "neighbourhood": 1}),
)
FMNIST_WIDTHS = (8, 7, 6, 5, 4, 3, 2, 1)


def run_fmnist(args):
    from quboclf._kernels import warm_up

    warm_up()
    Xtr, ytr, Xte, yte = load_fashion_mnist()
    records = []
    for seed in range(args.seeds):
        mlp = MLPClassifier((256,), max_iter=args.fmnist_iter, batch_size=256,
                            early_stopping=True, random_state=seed)
        t = time.perf_counter()
        mlp.fit(Xtr, ytr)
        acc = mlp.score(Xte, yte)
        print(f"seed {seed}: float {acc:.4f} ({mlp.n_iter_} epochs, "
              f"{time.perf_counter() - t:.0f} s)", flush=True)
        records.append({"seed": seed, "method": "float", "accuracy": acc})
        for granularity in ("per-tensor", "per-channel"):
            for width in FMNIST_WIDTHS:
                for method, params in METHODS:
                    q = QUBOQuantizer(mlp, n_bits=width, granularity=granularity,
                                      n_calibration=args.n_calibration, n_jobs=args.n_jobs,
                                      random_state=seed, **params)
                    t = time.perf_counter()
                    q.fit(Xtr, ytr)
                    fit_s = time.perf_counter() - t
                    rec = {
                        "seed": seed, "granularity": granularity, "n_bits": width,
                        "method": method, "objective": sum(lay.error for lay in q.layers_),
                        "accuracy": q.score(Xte, yte), "fit_s": fit_s,
                        "n_proven": [lay.n_proven for lay in q.layers_],
                    }
                    records.append(rec)
                    print(f"  seed {seed} {granularity} int{width} {method:21s} objective "
                          f"{rec['objective']:11.4f} accuracy {rec['accuracy']:.4f} "
                          f"{fit_s:6.2f} s", flush=True)
        if args.out:
            with open(args.out, "w") as fh:
                json.dump(records, fh)
    print_fmnist(records, args)


def print_fmnist(records, args):
    import itertools

    floats = [r["accuracy"] for r in records if r["method"] == "float"]
    print(f"\nFashion-MNIST MLP 784-256-10, 60,000 training rows, {len(floats)} seed(s), "
          f"{args.n_calibration} calibration rows, propagate='quantized'; float accuracy "
          f"{100 * np.mean(floats):.2f} ± {100 * np.std(floats):.2f} %")
    names = [m for m, _ in METHODS]
    ok_obj = ok_acc = total = 0
    for granularity in ("per-tensor", "per-channel"):
        print(f"\n{granularity}: mean objective (sum of layer objectives) / mean test accuracy %")
        print(f"{'width':6s}" + "".join(f"{m:>24s}" for m in names))
        for width in FMNIST_WIDTHS:
            sel = {m: [r for r in records if r.get("granularity") == granularity
                       and r.get("n_bits") == width and r["method"] == m] for m in names}
            if not sel["qubo"]:
                continue
            cells = [f"{np.mean([r['objective'] for r in sel[m]]):11.4g} / "
                     f"{100 * np.mean([r['accuracy'] for r in sel[m]]):6.2f}" for m in names]
            print(f"int{width:<3d}" + "".join(f"{c:>24s}" for c in cells))
        for width, seed in itertools.product(FMNIST_WIDTHS, range(len(floats))):
            by = {r["method"]: r for r in records if r.get("granularity") == granularity
                  and r.get("n_bits") == width and r["seed"] == seed}
            if "qubo" not in by:
                continue
            rival_obj = min(by["gptq"]["objective"], by["gptq-no-act-order"]["objective"],
                            by["adaround"]["objective"])
            rival_acc = max(by["gptq"]["accuracy"], by["gptq-no-act-order"]["accuracy"],
                            by["adaround"]["accuracy"])
            total += 1
            ok_obj += by["qubo"]["objective"] <= rival_obj
            good = by["qubo"]["accuracy"] >= rival_acc - 0.002
            ok_acc += good
            if by["qubo"]["objective"] > rival_obj or not good:
                print(f"  MISS {granularity} seed {seed} int{width}: qubo objective "
                      f"{by['qubo']['objective']:.5g} vs best rival {rival_obj:.5g}, accuracy "
                      f"{by['qubo']['accuracy']:.4f} vs best rival {rival_acc:.4f}")
    print(f"\nQUBO objective <= min(GPTQ act-order on/off, AdaRound): {ok_obj}/{total} "
          f"(granularity, width, seed) cases; QUBO accuracy >= best of them - 0.2 points: "
          f"{ok_acc}/{total}")
    print("\nint4 fit times (s), per seed and granularity:")
    for r in records:
        if r.get("n_bits") == 4 and r["method"] == "qubo":
            times = {m: next(x["fit_s"] for x in records if x.get("n_bits") == 4
                             and x["seed"] == r["seed"] and x["granularity"] == r["granularity"]
                             and x["method"] == m) for m in names}
            best_gptq = max(times["gptq"], times["gptq-no-act-order"])
            print(f"  seed {r['seed']} {r['granularity']:11s} "
                  + " ".join(f"{m} {t:.2f}" for m, t in times.items())
                  + f" | qubo/adaround {times['qubo'] / times['adaround']:.3f}, qubo/gptq "
                  f"{times['qubo'] / best_gptq:.2f} (slower GPTQ variant), "
                  f"{times['qubo'] / min(times['gptq'], times['gptq-no-act-order']):.2f} "
                  f"(faster)")


def run_small(args):
    """Digits first layer (65 values per neuron): QUBO rounding vs the proven floor/ceil optimum."""
    from quboclf._kernels import warm_up
    from quboclf._ptq import layer_rounding, neighbourhood_box, prove_neuron, qubo_round
    from quboclf._rounding import choose_scale

    warm_up()
    print("digits MLP 64-64-10, first layer (64 inputs + bias), 1,024 calibration rows")
    print(f"{'seed':>4s} {'width':>5s} {'proven optimum':>15s} {'proven':>7s} "
          f"{'QUBO n=1':>11s} {'ratio':>7s} {'QUBO n=2':>11s} {'ratio':>7s} {'n=2 time':>9s}")
    for seed in range(args.seeds):
        Xtr, _, ytr, _ = load_split("digits", seed, scale=True)
        mlp = MLPClassifier((64,), max_iter=300, random_state=seed, batch_size=256)
        mlp.fit(Xtr, ytr)
        rows = np.sort(np.random.RandomState(seed).choice(len(Xtr), min(1024, len(Xtr)),
                                                           replace=False))
        X = Xtr[rows]
        W, b = mlp.coefs_[0].T, mlp.intercepts_[0]
        for width in (4, 2):
            lr = layer_rounding(X, W, b, choose_scale(W, width), choose_scale(b, width), width)
            k1, _ = qubo_round(lr, neighbourhood=1)
            t = time.perf_counter()
            k2, _ = qubo_round(lr, neighbourhood=2)
            t2 = time.perf_counter() - t
            lo, hi = neighbourhood_box(lr, 1)
            opt = np.empty(lr.n_neurons)
            proven = 0
            for l in range(lr.n_neurons):
                start = np.clip(k1[l], lo[l], hi[l])
                k, ok = prove_neuron(lr.G, lr.d[l], lr.t[l], lo[l], hi[l], start,
                                     max_nodes=args.max_nodes)
                e = lr.d[l] * (k - lr.t[l])
                opt[l] = e @ lr.G @ e
                proven += ok
            e1, e2, eo = lr.objectives(k1).sum(), lr.objectives(k2).sum(), opt.sum()
            print(f"{seed:4d} int{width:<2d} {eo:15.6g} {proven:4d}/{lr.n_neurons:<2d} "
                  f"{e1:11.6g} {e1 / eo:7.4f} {e2:11.6g} {e2 / eo:7.4f} {t2:8.2f}s", flush=True)


def run_speed(args):
    from _problems import build_layer_qubos
    from dwave.samplers import SimulatedAnnealingSampler

    from quboclf._quantizer import _dense_layers
    from quboclf._qubo import energy, sample_to_levels, to_bqm
    from quboclf._rounding import choose_scale

    Xtr, ytr, _, _ = load_fashion_mnist()
    rng = np.random.default_rng(0)
    sub = rng.choice(len(Xtr), args.fmnist_train, replace=False)
    X, y = Xtr[sub], ytr[sub]
    t = time.perf_counter()
    mlp = MLPClassifier((args.hidden,), max_iter=args.fmnist_iter, random_state=0,
                        batch_size=256)
    mlp.fit(X, y)
    print(f"trained 784-{args.hidden}-10 on {len(X)} rows in {time.perf_counter() - t:.1f} s")
    calib = np.sort(np.random.default_rng(1).choice(len(X), 1024, replace=False))
    Xc, yc = X[calib], y[calib]

    from quboclf._kernels import warm_up

    warm_up()  # compile (or load) numba kernels outside the timing
    q = QUBOQuantizer(mlp, n_bits=4, propagate="float", neighbourhood=1, n_calibration=None,
                      n_jobs=args.n_jobs,
                      random_state=0)
    t = time.perf_counter()
    q.fit(Xc, yc)
    t_ours = time.perf_counter() - t
    obj_ours = sum(layer.error_qubo for layer in q.layers_)
    obj_near = sum(layer.error_nearest for layer in q.layers_)

    sampler = SimulatedAnnealingSampler()
    t = time.perf_counter()
    obj_dimod = 0.0
    inputs = Xc
    for _, W, b, _, act in _dense_layers(mlp):
        qubos = build_layer_qubos(inputs, W, b, choose_scale(W, 4), choose_scale(b, 4), 4)
        for l in range(qubos.n_neurons):
            problem = qubos.problem(l)
            const = qubos.constant(l)
            if not qubos.free[l].any():
                obj_dimod += const
                continue
            bqm = to_bqm(problem)
            sampleset = sampler.sample(bqm, seed=l)
            best = int(np.argmin(sampleset.record.energy))
            levels = sample_to_levels(problem, sampleset.record.sample[best],
                                      list(sampleset.variables))
            obj_dimod += const + float(energy(problem, levels))
        inputs = np.maximum(inputs @ W.T + b, 0) if act == "relu" else inputs @ W.T + b
    t_dimod = time.perf_counter() - t
    print(f"\nint4, 1,024 calibration rows, 784-{args.hidden}-10 MLP ({args.hidden} QUBOs of 785 "
          f"bits, 10 of {args.hidden + 1})")
    print(f"{'method':52s} {'time (s)':>9s} {'objective':>12s}")
    print(f"{'round-to-nearest':52s} {'':>9s} {obj_near:12.3f}")
    ours = 'QUBOQuantizer(neighbourhood=1) (whole fit)'
    print(f"{ours:52s} {t_ours:9.2f} {obj_ours:12.3f}")
    print(f"{'dwave-samplers SimulatedAnnealingSampler() on BQMs':52s} {t_dimod:9.2f} "
          f"{obj_dimod:12.3f}")
    print(f"speed-up {t_dimod / t_ours:.1f}x, "
          f"objective ratio ours/dimod {obj_ours / obj_dimod:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--what", choices=("fmnist", "small", "speed"), default="fmnist")
    parser.add_argument("--hidden", type=int, default=256, help="hidden units (speed)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds (models)")
    parser.add_argument("--n-calibration", type=int, default=1024)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--fmnist-train", type=int, default=20000,
                        help="Fashion-MNIST training rows (speed)")
    parser.add_argument("--fmnist-iter", type=int, default=15, help="MLP epochs on Fashion-MNIST")
    parser.add_argument("--max-nodes", type=int, default=50_000_000,
                        help="branch-and-bound node budget per neuron (small)")
    parser.add_argument("--out", default=None, help="JSON file of the fmnist records")
    parser.add_argument("--report", default=None,
                        help="print the fmnist tables of a JSON file written by --out")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.report:
        with open(args.report) as fh:
            return print_fmnist(json.load(fh), args)
    {"fmnist": run_fmnist, "small": run_small, "speed": run_speed}[args.what](args)


if __name__ == "__main__":
    main()
