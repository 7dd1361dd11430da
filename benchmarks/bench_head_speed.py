"""Fit time of the K-bit head against ``LogisticRegression()``'s default fit, and its split.

For every data set the same standardised ``RandomConvFeatures`` (d = 600) are computed once
(features excluded from every time). Then, on those features:

* ``LogisticRegression()`` at its defaults, the speed reference (median of ``--repeat`` fits),
  timed again right before every head (the load of a shared machine drifts);
* for every K: ``QUBOCNNClassifier(features="passthrough", n_bits=K)`` (median of ``--repeat``
  fits): wall and CPU time, their ratios to LR default's, the split the estimator records in
  ``solver_info_["timing"]`` (continuous start, scales, curvature, QUBO solves, passes, other),
  the start's L-BFGS iterations, the training objective and the test accuracy;
* with ``--objective``: a converged float ``LogisticRegression`` (``C = 1 / (alpha n)``,
  ``tol=1e-6``), rounded to the head's grid with the best scales (as in
  ``bench_classifier_rounding.py``), and the head's objective minus that rounded objective
  (the acceptance wants ``<= 0``). It takes minutes on Fashion-MNIST 60k;
* with ``--floor``: what the objective asks of the continuous fit, and what that costs. A
  ``LogisticRegression`` with ``C`` matched to ``alpha`` (the problem the head solves) at tol
  1e-4 (its default), 1e-6 (the converged fit the head is compared with) and 1e-10 (the
  reference optimum): fit time, its ratio to ``LogisticRegression()``'s, iterations and
  objective above the optimum; and, for every K, how far the best rounding of the tol-1e-6 fit
  lies above the optimum (the head has to reach at least that low).

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_head_speed.py    # digits + Fashion 60k
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_head_speed.py --no-fashion --repeat 5
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_head_speed.py --no-digits --bits 8 10 --objective
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_head_speed.py --no-fashion --floor \
        --digits-seeds 3

One process, one thread. The ratios within one run are fair even on a loaded machine; the CPU
times (``time.process_time``) move least with the load.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from quboclf import QUBOCNNClassifier, RandomConvFeatures
from quboclf._head import choose_scales, loss_grad
from quboclf._kernels import warm_up
from quboclf.studies import load_split

ALPHA = 1e-4  # QUBOCNNClassifier's default
SPLIT = ("start", "scales", "curvature", "solves", "passes", "other")


def _fit_time(make, Z, y, repeat):
    """Median wall and CPU times of ``repeat`` fits of fresh ``make()`` models, the last model.

    CPU time (of this one-thread process) moves less than wall time with the load of a
    shared machine.
    """
    wall, cpu = [], []
    for _ in range(repeat):
        model = make()
        tic, cpu_tic = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            model.fit(Z, y)
        wall.append(time.perf_counter() - tic)
        cpu.append(time.process_time() - cpu_tic)
    return float(np.median(wall)), float(np.median(cpu)), model


def _objective(Z, y, W):
    reg = np.r_[np.full(Z.shape[1], ALPHA), 0.0]
    return loss_grad(Z, y, W, reg, 8192, grad=False)[0]


def _floor(Z, y, t_lr, lr_default, repeat, bits):
    """What the objective asks of the continuous fit on these features, and its cost."""
    C = 1.0 / (ALPHA * Z.shape[0])
    fits = {}
    for tol in (1e-10, 1e-6, 1e-4):
        t, _, lr = _fit_time(
            lambda tol=tol: LogisticRegression(C=C, tol=tol, max_iter=100_000), Z, y, repeat
        )
        fits[tol] = (t, int(np.max(lr.n_iter_)), np.vstack([lr.coef_.T, lr.intercept_]))
    best = _objective(Z, y, fits[1e-10][2])
    print(
        f"LogisticRegression() iterations: {int(np.max(lr_default.n_iter_))}; "
        f"LogisticRegression(C={C:.2f}) (alpha matched), optimum {best:.9f}:\n"
    )
    print("| tol | fit s | x LR default | iterations | objective - optimum |")
    print("|--:|--:|--:|--:|--:|")
    for tol in (1e-4, 1e-6, 1e-10):
        t, n_iter, W = fits[tol]
        print(
            f"| {tol:g} | {t:.3f} | {t / t_lr:.2f} | {n_iter} | {_objective(Z, y, W) - best:.2e} |"
        )
    W = fits[1e-6][2]
    gaps = []
    for K in bits:
        grid = choose_scales(
            Z, y, W, ALPHA, n_bits=K, bias_bits=16, granularity="class", grid="midrise"
        )
        gaps.append(f"K={K}: {_objective(Z, y, grid.round(W)) - best:.2e}")
    print("\nbest rounding of the tol-1e-6 fit, objective - optimum: " + ", ".join(gaps) + "\n")


def run(name, seed, rows, args):
    X_tr, X_te, y_tr, y_te = load_split(name, seed, subsample=rows)
    features = RandomConvFeatures(random_state=seed).fit(X_tr)
    Z, Zt = features.transform(X_tr), features.transform(X_te)
    classes, y = np.unique(y_tr, return_inverse=True)
    yt = np.searchsorted(classes, y_te)
    repeat = args.repeat if name == "digits" else 1
    t_lr, _, lr_default = _fit_time(LogisticRegression, Z, y, repeat)
    print(
        f"\n### {name} seed {seed}: n={Z.shape[0]}, d={Z.shape[1]}, LR default {t_lr:.3f} s "
        f"({100 * lr_default.score(Zt, yt):.2f} % test)\n"
    )
    if args.floor:
        _floor(Z, y, t_lr, lr_default, repeat, args.bits)
    W_lr = None
    if args.objective:
        lr = LogisticRegression(C=1.0 / (ALPHA * Z.shape[0]), tol=1e-6, max_iter=10_000)
        _fit_time(lambda: lr, Z, y, 1)
        W_lr = np.vstack([lr.coef_.T, lr.intercept_])
    print(
        "| K | fit s | LR default s | x LR default | fit CPU s | LR CPU s | x LR (CPU) | "
        + " / ".join(SPLIT)
        + " s | start iters | sweeps | solves s / sweep | objective | test acc % |"
        + (" - rounded LR |" if args.objective else "")
    )
    print(
        "|--:|--:|--:|--:|--:|--:|--:|--|--:|--:|--:|--:|--:|" + ("--:|" if args.objective else "")
    )
    for K in args.bits:
        # LR default again beside every head: on a shared machine the load drifts
        t_lr, c_lr, _ = _fit_time(LogisticRegression, Z, y, repeat)
        t, c, clf = _fit_time(
            lambda K=K: QUBOCNNClassifier(features="passthrough", n_bits=K, random_state=seed),
            Z,
            y,
            repeat,
        )
        timing = clf.solver_info_["timing"]
        obj = _objective(Z, y, np.vstack([clf.coef_.T, clf.intercept_]))
        line = (
            f"| {K} | {t:.3f} | {t_lr:.3f} | {t / t_lr:.2f} | "
            f"{c:.3f} | {c_lr:.3f} | {c / c_lr:.2f} | "
            + " / ".join(f"{timing[key]:.3f}" for key in SPLIT)
            + f" | {clf.solver_info_['start_n_iter']} | {clf.n_iter_} | "
            + f"{timing['solves'] / max(clf.n_iter_, 1):.3f} | "
            + f"{obj:.7f} | {100 * clf.score(Zt, yt):.2f} |"
        )
        if W_lr is not None:
            grid = choose_scales(
                Z, y, W_lr, ALPHA, n_bits=K, bias_bits=16, granularity="class", grid="midrise"
            )
            line += f" {obj - _objective(Z, y, grid.round(W_lr)):+.2e} |"
        print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", nargs="+", type=int, default=[1, 2, 3, 4, 6, 8, 10])
    parser.add_argument("--digits-seeds", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="fits per time on digits")
    parser.add_argument("--no-digits", action="store_true")
    parser.add_argument("--no-fashion", action="store_true")
    parser.add_argument("--fashion-rows", type=int, default=None, help="subsample (default: all)")
    parser.add_argument(
        "--objective", action="store_true", help="compare with the rounded converged LR"
    )
    parser.add_argument(
        "--floor",
        action="store_true",
        help="what the objective asks of the continuous fit (LR at matched C, three tols)",
    )
    args = parser.parse_args()
    warm_up()
    if not args.no_digits:
        for seed in range(args.digits_seeds):
            run("digits", seed, None, args)
    if not args.no_fashion:
        run("fashion-mnist", 0, args.fashion_rows, args)


if __name__ == "__main__":
    main()
