"""Benchmarks of QUBOQuantizer: accuracy vs bit width, and speed against dwave-samplers' SA.

Accuracy (``--what accuracy``): an ``MLPClassifier`` on digits (pixels / 16) and on Fashion-MNIST
(raw pixels / 255), float vs round-to-nearest vs QUBO rounding at int8, int6, int4, int3, int2
and int1, several seeds; prints the mean test accuracy (± standard deviation over seeds).

Speed (``--what speed``): quantizing a 784-256-10 ``MLPClassifier`` trained on Fashion-MNIST on
1,024 calibration rows at int4 with ``QUBOQuantizer`` (default ``sampler="sa"``), against solving
the same per-neuron QUBOs one by one with dwave-samplers' ``SimulatedAnnealingSampler`` at its
defaults on BQMs assembled from the upper-triangular QUBO matrix (``_qubo.to_bqm``), the way the
paper's public code does it. Both use ``propagate="float"`` so that they solve exactly the same
problems. Prints both times and both final objectives (the sum over layers of
``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F``).

Run::

    python benchmarks/bench_quantizer.py --what speed --fmnist-train 20000 --fmnist-iter 15
    python benchmarks/bench_quantizer.py --what accuracy --fmnist-train 60000 --seeds 3
"""

import argparse
import gzip
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from quboclf import QUBOQuantizer

WIDTHS = (8, 6, 4, 3, 2, 1)


def load_fashion_mnist():
    """Fashion-MNIST as floats in [0, 1]: ``(X_train, y_train, X_test, y_test)``."""
    try:
        from quboclf.datasets import fetch_fashion_mnist

        Xtr, ytr = fetch_fashion_mnist(subset="train", return_X_y=True)
        Xte, yte = fetch_fashion_mnist(subset="test", return_X_y=True)
    except ImportError:
        root = "/usr/share/datasets/fashion-mnist"

        def read(name, offset):
            with gzip.open(f"{root}/{name}.gz") as fh:
                return np.frombuffer(fh.read(), np.uint8, offset=offset)

        Xtr = read("train-images-idx3-ubyte", 16).reshape(-1, 784)
        ytr = read("train-labels-idx1-ubyte", 8)
        Xte = read("t10k-images-idx3-ubyte", 16).reshape(-1, 784)
        yte = read("t10k-labels-idx1-ubyte", 8)
    return Xtr / 255.0, np.asarray(ytr), Xte / 255.0, np.asarray(yte)


def digits_split(seed):
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)


def accuracy_table(name, make_data, hidden, model_seeds, quantizer_seeds, max_iter, args):
    """Rows ``(width, rounding) -> accuracies`` over (model seed, quantizer seed) pairs."""
    rows = {}
    for model_seed in model_seeds:
        Xtr, Xte, ytr, yte = make_data(model_seed)
        mlp = MLPClassifier(hidden, max_iter=max_iter, random_state=model_seed, batch_size=256)
        t = time.perf_counter()
        mlp.fit(Xtr, ytr)
        print(f"  {name} model seed {model_seed}: float {mlp.score(Xte, yte):.4f} "
              f"(trained in {time.perf_counter() - t:.1f} s)", flush=True)
        for seed in quantizer_seeds if quantizer_seeds is not None else [model_seed]:
            rows.setdefault(("float", "-"), []).append(mlp.score(Xte, yte))
            for width in WIDTHS:
                for rounding in ("nearest", "qubo"):
                    q = QUBOQuantizer(mlp, n_bits=width, rounding=rounding,
                                      n_calibration=args.n_calibration, n_jobs=args.n_jobs,
                                      random_state=seed)
                    t = time.perf_counter()
                    q.fit(Xtr, ytr)
                    acc = q.score(Xte, yte)
                    rows.setdefault((f"int{width}", rounding), []).append(acc)
                    print(f"    seed {seed} int{width} {rounding:7s} {acc:.4f}  "
                          f"({time.perf_counter() - t:.1f} s)", flush=True)
    return rows


def print_accuracy(name, rows):
    print(f"\n{name}: test accuracy in % (mean ± std over {len(rows[('float', '-')])} runs)")
    f = 100 * np.mean(rows[("float", "-")])
    print(f"{'width':6s} {'nearest':>14s} {'qubo':>14s} {'recovered':>10s}   float {f:.2f}")
    for width in WIDTHS:
        near = 100 * np.array(rows[(f"int{width}", "nearest")])
        qubo = 100 * np.array(rows[(f"int{width}", "qubo")])
        lost = f - near.mean()
        rec = (qubo.mean() - near.mean()) / lost if lost > 0 else float("nan")
        print(f"int{width:<3d} {near.mean():8.2f} ± {near.std():4.2f} {qubo.mean():8.2f} ± "
              f"{qubo.std():4.2f} {100 * rec:9.0f}%")


def run_accuracy(args):
    seeds = list(range(args.seeds))
    # digits: one model per seed (the quantizer uses the same seed)
    rows = accuracy_table("digits", digits_split, (64,), seeds, None, 300, args)
    print_accuracy("digits (pixels/16), MLP 64-64-10, one model per seed", rows)
    Xtr, ytr, Xte, yte = load_fashion_mnist()
    rng = np.random.default_rng(0)
    sub = rng.choice(len(Xtr), args.fmnist_train, replace=False)

    def fmnist(seed):
        return Xtr[sub], Xte, ytr[sub], yte

    # Fashion-MNIST: --fmnist-models models, each quantized with every seed
    rows = accuracy_table("fashion-mnist", fmnist, (256,), range(args.fmnist_models), seeds,
                          args.fmnist_iter, args)
    print_accuracy(f"Fashion-MNIST (raw pixels/255, {args.fmnist_train} training rows, "
                   f"10,000 test rows), MLP 784-256-10, {args.fmnist_models} model(s) x "
                   f"{len(seeds)} quantizer seeds", rows)


def run_speed(args):
    from dwave.samplers import SimulatedAnnealingSampler

    from quboclf._quantizer import _dense_layers
    from quboclf._qubo import energy, sample_to_levels, to_bqm
    from quboclf._rounding import build_layer_qubos, choose_scale

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
    q = QUBOQuantizer(mlp, n_bits=4, propagate="float", n_calibration=None, n_jobs=args.n_jobs,
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
    ours = 'QUBOQuantizer(sampler="sa") (whole fit)'
    print(f"{ours:52s} {t_ours:9.2f} {obj_ours:12.3f}")
    print(f"{'dwave-samplers SimulatedAnnealingSampler() on BQMs':52s} {t_dimod:9.2f} "
          f"{obj_dimod:12.3f}")
    print(f"speed-up {t_dimod / t_ours:.1f}x, "
          f"objective ratio ours/dimod {obj_ours / obj_dimod:.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--what", choices=("accuracy", "speed", "all"), default="all")
    parser.add_argument("--hidden", type=int, default=256, help="hidden units (speed)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per configuration")
    parser.add_argument("--n-calibration", type=int, default=1024)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--fmnist-train", type=int, default=20000,
                        help="Fashion-MNIST training rows (of 60,000)")
    parser.add_argument("--fmnist-iter", type=int, default=20, help="MLP epochs on Fashion-MNIST")
    parser.add_argument("--fmnist-models", type=int, default=1,
                        help="Fashion-MNIST models (seeds) to train")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.what in ("speed", "all"):
        run_speed(args)
    if args.what in ("accuracy", "all"):
        run_accuracy(args)


if __name__ == "__main__":
    main()
