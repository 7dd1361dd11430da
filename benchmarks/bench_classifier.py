"""Speed of QUBOCNNClassifier's head on Fashion-MNIST, against LogisticRegression and SGD.

One full fit of the head at ``--bits`` (default 10) on the standardised ``RandomConvFeatures`` of
the official 60,000/10,000 split (``--rows`` subsamples it, stratified), timed against
``LogisticRegression()`` and ``SGDClassifier(loss="log_loss")`` at their defaults on the same
features: wall time of the head divided by that of each baseline, the head's own split of its
time (continuous start, scale search, curvature blocks, passes, QUBO solves, the rest), ``d``
and the peak memory. Accuracy at several precisions, over seeds, is the classifier study's::

    quboclf bench classifier --dataset fashion-mnist --bits 4 8 12 16 20 --seeds 0 1 2

Usage::

    python benchmarks/bench_classifier.py                    # 60k images (about 10 min, SGD most)
    python benchmarks/bench_classifier.py --rows 10000 --no-sgd

Run it on an otherwise idle machine; set ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS`` the same
for all methods (they are: one process).
"""

import argparse
import resource
import time
import tracemalloc

from sklearn.linear_model import LogisticRegression, SGDClassifier

from quboclf import QUBOCNNClassifier, RandomConvFeatures
from quboclf._kernels import warm_up
from quboclf.studies import load_split
from quboclf.studies._runs import timed_fit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", type=int, default=10)
    parser.add_argument("--rows", type=int, default=None, help="subsample (default: all)")
    parser.add_argument("--no-sgd", action="store_true", help="skip SGD (minutes on 60k rows)")
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args()

    warm_up()
    X_tr, X_te, y_tr, y_te = load_split("fashion-mnist", 0, subsample=args.rows,
                                        data_home=args.data_home)
    tic = time.perf_counter()
    features = RandomConvFeatures(random_state=0).fit(X_tr)
    Z_tr, Z_te = features.transform(X_tr), features.transform(X_te)
    n, d = Z_tr.shape
    print(f"Fashion-MNIST: n={n}, d={d}, features {time.perf_counter() - tic:.1f} s "
          "(shared by all heads)", flush=True)

    baselines = {"LogReg": LogisticRegression()}
    if not args.no_sgd:
        baselines["SGD"] = SGDClassifier(loss="log_loss", random_state=0)
    seconds = {}
    for name, model in baselines.items():
        seconds[name] = timed_fit(model, Z_tr, y_tr)
        print(f"  {name}: accuracy {model.score(Z_te, y_te):.4f}, {seconds[name]:.1f} s",
              flush=True)
    head = QUBOCNNClassifier(features="passthrough", n_bits=args.bits, max_iter=args.max_iter,
                             n_jobs=args.n_jobs, random_state=0)
    tracemalloc.start()
    sec = timed_fit(head, Z_tr, y_tr)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    info = head.solver_info_
    timing = info["timing"]
    print(f"\nSpeed, Fashion-MNIST fit at n_bits={args.bits} (d={d}, n={n})")
    print(f"  QUBO head            {sec:8.1f} s  ({head.n_iter_} sweeps, "
          f"{int(info['n_solves'].sum())} QUBO solves, {info['status']}), accuracy "
          f"{head.score(Z_te, y_te):.4f}")
    for name, base in seconds.items():
        print(f"  {name:<20} {base:8.1f} s  ratio head/{name} = {sec / base:.2f}")
    print("  split of the head's time:")
    for key in ("start", "scales", "curvature", "passes", "solves", "other"):
        print(f"    {key:<14} {timing[key]:7.2f} s  {timing[key] / timing['total']:6.1%}")
    per_solve = info["time_s"].sum() / max(1, info["n_solves"].sum())
    print(f"    mean solve     {1e3 * per_solve:7.2f} ms per QUBO ({d * args.bits} "
          "binary variables)")
    print(f"  peak traced memory during the head's fit: {peak / 2**20:.1f} MiB "
          f"(features: {Z_tr.nbytes / 2**20:.1f} MiB)")
    print(f"  process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} "
          "MiB")


if __name__ == "__main__":
    main()
