"""Benchmark QUBOCNNClassifier against SGDClassifier and LogisticRegression.

Two tables, from one run:

1. Accuracy on digits (stratified 70/30 splits, several seeds) and Fashion-MNIST (official
   60k/10k split, one seed) at several ``n_bits``, against ``SGDClassifier(loss="log_loss")`` and
   ``LogisticRegression()`` at their defaults. All three see the same standardised
   ``RandomConvFeatures`` (computed once per split and shared), so only the heads differ.
2. Speed on the full Fashion-MNIST fit at ``--speed-bits`` (default 10): wall time of the QUBO
   head divided by that of each baseline, the head's own split of its time (continuous start,
   scale search, curvature blocks, passes, QUBO solves, the rest), ``d`` and the peak memory.

The acceptance benchmark of the K-bit head against the best-rounded logistic regression is
``bench_classifier_rounding.py``.

Usage::

    python benchmarks/bench_classifier.py                     # everything (about 15 min)
    python benchmarks/bench_classifier.py --no-fashion        # digits only (about 2 min)
    python benchmarks/bench_classifier.py --bits 10 --digits-seeds 1

Run it on an otherwise idle machine; set ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` the same
for all methods (they are: one process).
"""

import argparse
import resource
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import train_test_split

from quboclf import QUBOCNNClassifier, RandomConvFeatures


def _timed(make, Z_tr, y_tr, Z_te, y_te):
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make().fit(Z_tr, y_tr)
    seconds = time.perf_counter() - tic
    return model, model.score(Z_te, y_te), seconds


def _baselines(seed):
    return {
        "SGD": lambda: SGDClassifier(loss="log_loss", random_state=seed),
        "LogReg": lambda: LogisticRegression(),
    }


def _head(bits, seed, args):
    return QUBOCNNClassifier(
        features="passthrough",
        n_bits=bits,
        max_iter=args.max_iter,
        n_jobs=args.n_jobs,
        random_state=seed,
    )


def bench_digits(args):
    X, y = load_digits(return_X_y=True)
    rows = []
    for seed in range(args.digits_seeds):
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        features = RandomConvFeatures(random_state=seed).fit(X_tr)
        Z_tr, Z_te = features.transform(X_tr), features.transform(X_te)
        row = {}
        for name, make in _baselines(seed).items():
            row[name] = _timed(make, Z_tr, y_tr, Z_te, y_te)[1:]
        for bits in args.bits:
            model, acc, sec = _timed(
                lambda b=bits, s=seed: _head(b, s, args), Z_tr, y_tr, Z_te, y_te
            )
            row[bits] = (acc, sec, model.n_iter_)
        rows.append(row)
        print(f"digits seed {seed}: d={Z_tr.shape[1]} done", flush=True)
    print(f"\nDigits (1257/540 stratified, {args.digits_seeds} seeds), test accuracy")
    print(
        f"{'head':>10} "
        + " ".join(f"{'seed ' + str(s):>9}" for s in range(len(rows)))
        + f" {'mean':>7} {'fit s':>7} {'iters':>6}"
    )
    for key in ["SGD", "LogReg", *args.bits]:
        accs = [r[key][0] for r in rows]
        secs = [r[key][1] for r in rows]
        iters = [r[key][2] for r in rows] if not isinstance(key, str) else ["-"]
        label = key if isinstance(key, str) else f"{key} bits"
        it = f"{np.mean(iters):6.1f}" if not isinstance(key, str) else f"{'-':>6}"
        print(
            f"{label:>10} "
            + " ".join(f"{a:9.4f}" for a in accs)
            + f" {np.mean(accs):7.4f} {np.mean(secs):7.2f} {it}"
        )


def bench_fashion(args):
    from quboclf.datasets import fetch_fashion_mnist

    train = fetch_fashion_mnist(subset="train")
    test = fetch_fashion_mnist(subset="test")
    X_tr, y_tr = train.data, train.target
    X_te, y_te = test.data, test.target
    tic = time.perf_counter()
    features = RandomConvFeatures(random_state=0).fit(X_tr)
    Z_tr, Z_te = features.transform(X_tr), features.transform(X_te)
    feat_s = time.perf_counter() - tic
    n, d = Z_tr.shape
    print(
        f"\nFashion-MNIST: n={n}, d={d}, features {feat_s:.1f} s (shared by all heads)", flush=True
    )
    results = {}
    for name, make in _baselines(0).items():
        _, acc, sec = _timed(make, Z_tr, y_tr, Z_te, y_te)
        results[name] = (acc, sec, None)
        print(f"  {name}: acc {acc:.4f}, {sec:.1f} s", flush=True)
    bits_list = list(dict.fromkeys([args.speed_bits, *args.bits]))
    for bits in bits_list:
        if bits == args.speed_bits:
            tracemalloc.start()
        model, acc, sec = _timed(lambda b=bits: _head(b, 0, args), Z_tr, y_tr, Z_te, y_te)
        if bits == args.speed_bits:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            results["speed"] = (model, sec, peak)
        results[bits] = (acc, sec, model.n_iter_)
        print(f"  {bits} bits: acc {acc:.4f}, {sec:.1f} s, {model.n_iter_} iterations", flush=True)

    print("\nFashion-MNIST (60k/10k official split, seed 0), test accuracy")
    print(f"{'head':>10} {'accuracy':>9} {'fit s':>8} {'iters':>6}")
    for key in ["SGD", "LogReg", *args.bits]:
        acc, sec, iters = results[key]
        label = key if isinstance(key, str) else f"{key} bits"
        print(f"{label:>10} {acc:9.4f} {sec:8.1f} {iters if iters is not None else '-':>6}")

    model, sec, peak = results["speed"]
    timing = model.solver_info_["timing"]
    info = model.solver_info_
    print(f"\nSpeed, Fashion-MNIST full fit at n_bits={args.speed_bits} (d={d}, n={n})")
    print(
        f"  QUBO head            {sec:8.1f} s  ({model.n_iter_} sweeps, "
        f"{int(info['n_solves'].sum())} QUBO solves, {info['status']})"
    )
    for name in ("LogReg", "SGD"):
        print(
            f"  {name:<20} {results[name][1]:8.1f} s  ratio head/{name} = "
            f"{sec / results[name][1]:.2f}"
        )
    print("  split of the head's time:")
    for key in ("start", "scales", "curvature", "passes", "solves", "other"):
        print(f"    {key:<14} {timing[key]:7.2f} s  {timing[key] / timing['total']:6.1%}")
    per_solve = info["time_s"].sum() / max(1, info["n_solves"].sum())
    print(
        f"    mean solve     {1e3 * per_solve:7.2f} ms per QUBO ({d * args.speed_bits} "
        f"binary variables)"
    )
    print(
        f"  peak traced memory during the head's fit: {peak / 2**20:.1f} MiB "
        f"(features: {Z_tr.nbytes / 2**20:.1f} MiB)"
    )
    print(
        f"  process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, nargs="+", default=[4, 8, 10, 12, 16, 20])
    parser.add_argument("--digits-seeds", type=int, default=3)
    parser.add_argument("--no-digits", action="store_true")
    parser.add_argument("--no-fashion", action="store_true")
    parser.add_argument("--speed-bits", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    if not args.no_digits:
        bench_digits(args)
    if not args.no_fashion:
        bench_fashion(args)


if __name__ == "__main__":
    main()
