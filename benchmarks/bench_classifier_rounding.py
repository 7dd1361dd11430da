"""Acceptance benchmark of the K-bit head: QUBO training against the best rounding of LR.

For every data set and seed the same standardised ``RandomConvFeatures`` (d = 600) feed:

* ``LogisticRegression()`` at its defaults (the speed reference) and ``SGDClassifier`` (on
  Fashion-MNIST only with ``--fashion-sgd``: it takes minutes there);
* a converged float ``LogisticRegression`` with ``C = 1 / (alpha n)`` (``tol=1e-6``): the
  float reference of the training objective ``mean CE + alpha/2 ||coef||²``;
* for every K: that LR rounded to the head's grid (per-class scales and one bias scale, each
  chosen by the training objective on all rows: the strongest simple baseline), and
  ``QUBOCNNClassifier(n_bits=K)`` with ``init="auto"`` (default) and ``init="zeros"`` (the
  paper's setting): training objective, test accuracy, fit time (features excluded), its split,
  stopping status and the largest number of distinct values in a row of ``coef_``.

Two small studies behind the defaults follow (``--studies``): the grid (mid-rise
``{±1, ±3, …}`` against the quantizer's signed integers, rounding and QUBO head through the
same optimiser) and the biases' bits (``bias_bits`` = K against 8, 16 and 30 at K ≤ 2).

Usage::

    python benchmarks/bench_classifier_rounding.py                    # digits x3 + Fashion 60k
    python benchmarks/bench_classifier_rounding.py --no-fashion       # digits only
    python benchmarks/bench_classifier_rounding.py --fashion-rows 20000 --bits 1 2 3
    python benchmarks/bench_classifier_rounding.py --studies --studies-only --digits-seeds 1 \
        --fashion-rows 20000                                            # the two studies

One process, one thread (set ``OPENBLAS_NUM_THREADS=1``): timing ratios within one run are fair.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier

from quboclf import QUBOCNNClassifier, RandomConvFeatures
from quboclf._classifier import SA_DEFAULTS, _refine_beta_range
from quboclf._head import choose_scales, grid_descent, loss_grad
from quboclf._kernels import warm_up
from quboclf._samplers import make_solver
from quboclf.studies import load_split

ALPHA = 1e-4


def _timed(model, Z, y):
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        model.fit(Z, y)
    return time.perf_counter() - tic


def _objective(Z, y_idx, W):
    reg = np.r_[np.full(Z.shape[1], ALPHA), 0.0]
    return loss_grad(Z, y_idx, W, reg, 8192, grad=False)[0]


def _accuracy(Z, y_idx, W):
    S = Z @ W[:-1] + W[-1]
    pred = (S[:, 0] > 0).astype(int) if W.shape[1] == 1 else np.argmax(S, axis=1)
    return float(np.mean(pred == y_idx))


def _lr_weights(lr):
    W = np.vstack([lr.coef_.T, lr.intercept_])
    return W


def _sa_solve(it_seed=0):
    def solve(problems, initials, it, classes):
        out = []
        for p, m, c in zip(problems, initials, classes):
            params = {**SA_DEFAULTS, "beta_range": _refine_beta_range(p.H, p.delta)}
            out.append(make_solver("sa", params).solve(p, initial=m, seed=1000 * it + c).levels)
        return out

    return solve


def run_split(name, seed, args, rows, studies):
    rows_cap = None if name == "digits" else args.fashion_rows
    X_tr, X_te, y_tr, y_te = load_split(name, seed, subsample=rows_cap)
    feats = RandomConvFeatures(random_state=seed).fit(X_tr)
    Z, Zt = feats.transform(X_tr), feats.transform(X_te)
    classes, y = np.unique(y_tr, return_inverse=True)
    yt = np.searchsorted(classes, y_te)
    n = len(y)
    tag = f"{name} seed {seed}"
    lr_default = LogisticRegression()
    t_lr = _timed(lr_default, Z, y)
    sgd = SGDClassifier(loss="log_loss", random_state=seed)
    t_sgd = _timed(sgd, Z, y) if name == "digits" or args.fashion_sgd else np.nan
    lr = LogisticRegression(C=1.0 / (ALPHA * n), tol=1e-6, max_iter=10_000)
    t_conv = _timed(lr, Z, y)
    W_lr = _lr_weights(lr)
    base = {"data": name, "seed": seed, "n": n}
    rows.append(
        {
            **base,
            "model": "LR default",
            "K": 0,
            "objective": _objective(Z, y, _lr_weights(lr_default)),
            "accuracy": lr_default.score(Zt, yt),
            "fit_s": t_lr,
        }
    )
    if not np.isnan(t_sgd):
        rows.append(
            {
                **base,
                "model": "SGD",
                "K": 0,
                "objective": _objective(Z, y, _lr_weights(sgd)),
                "accuracy": sgd.score(Zt, yt),
                "fit_s": t_sgd,
            }
        )
    rows.append(
        {
            **base,
            "model": "LR float (tol 1e-6)",
            "K": 0,
            "objective": _objective(Z, y, W_lr),
            "accuracy": lr.score(Zt, yt),
            "fit_s": t_conv,
        }
    )
    print(
        f"{tag}: n={n}, d={Z.shape[1]}; LR default {t_lr:.1f} s, "
        f"{100 * lr_default.score(Zt, yt):.2f} %; "
        f"float LR objective {rows[-1]['objective']:.4f}, {100 * rows[-1]['accuracy']:.2f} %",
        flush=True,
    )
    for K in [] if args.studies_only else args.bits:
        grid = choose_scales(
            Z, y, W_lr, ALPHA, n_bits=K, bias_bits=16, granularity="class", grid="midrise"
        )
        Wr = grid.round(W_lr)
        rows.append(
            {
                **base,
                "model": "LR rounded",
                "K": K,
                "objective": _objective(Z, y, Wr),
                "accuracy": _accuracy(Zt, yt, Wr),
                "fit_s": np.nan,
            }
        )
        for init in args.inits:
            clf = QUBOCNNClassifier(features="passthrough", n_bits=K, init=init, random_state=seed)
            t = _timed(clf, Z, y)
            info = clf.solver_info_
            timing = info["timing"]
            rows.append(
                {
                    **base,
                    "model": f"QUBO {init}",
                    "K": K,
                    "objective": _objective(Z, y, np.vstack([clf.coef_.T, clf.intercept_])),
                    "accuracy": clf.score(Zt, yt),
                    "fit_s": t,
                    "status": info["status"],
                    "sweeps": clf.n_iter_,
                    "distinct": max(np.unique(r).size for r in clf.coef_),
                    "ratio_lr": t / t_lr,
                    **{f"t_{k}": v for k, v in timing.items()},
                    "start_iter": info["start_n_iter"],
                    "rounded": info["rounded_loss"],
                }
            )
            r = rows[-1]
            print(
                f"{tag} K={K} {init}: objective {r['objective']:.4f} (LR rounded "
                f"{rows[-2 - args.inits.index(init)]['objective']:.4f}), "
                f"acc {100 * r['accuracy']:.2f} %, "
                f"{t:.1f} s = {t / t_lr:.2f}x LR default, {r['status']} after {r['sweeps']} sweeps",
                flush=True,
            )
    if studies is not None:
        study_rows(Z, y, Zt, yt, W_lr, tag, args, studies)


def study_rows(Z, y, Zt, yt, W_lr, tag, args, out):
    reg = np.r_[np.full(Z.shape[1], ALPHA), 0.0]
    for g in ("midrise", "integer"):
        for K in args.study_bits:
            grid = choose_scales(
                Z, y, W_lr, ALPHA, n_bits=K, bias_bits=16, granularity="class", grid=g
            )
            Wr = grid.round(W_lr)
            W, curve, *_ = grid_descent(
                Z,
                y,
                Wr,
                reg,
                grid,
                _sa_solve(),
                Z_curv=Z[:2048].astype(np.float32),
                max_iter=100,
                tol=1e-3,
                batch_size=8192,
            )
            out.append(
                {
                    "study": "grid",
                    "data": tag,
                    "grid": g,
                    "K": K,
                    "rounded_obj": _objective(Z, y, Wr),
                    "rounded_acc": _accuracy(Zt, yt, Wr),
                    "qubo_obj": curve[-1],
                    "qubo_acc": _accuracy(Zt, yt, W),
                }
            )
            print(
                f"{tag} grid {g} K={K}: rounded {out[-1]['rounded_obj']:.4f} / "
                f"{100 * out[-1]['rounded_acc']:.2f} %, QUBO {curve[-1]:.4f} / "
                f"{100 * out[-1]['qubo_acc']:.2f} %",
                flush=True,
            )
    for K in (1, 2):
        for bb in sorted({K, 8, 16, 30}):
            clf = QUBOCNNClassifier(features="passthrough", n_bits=K, bias_bits=bb, random_state=0)
            _timed(clf, Z, y)
            out.append(
                {
                    "study": "bias",
                    "data": tag,
                    "K": K,
                    "bias_bits": bb,
                    "objective": _objective(Z, y, np.vstack([clf.coef_.T, clf.intercept_])),
                    "accuracy": clf.score(Zt, yt),
                }
            )
            print(
                f"{tag} bias_bits={bb} K={K}: objective {out[-1]['objective']:.4f}, "
                f"{100 * out[-1]['accuracy']:.2f} %",
                flush=True,
            )


def _fmt(v, pct=False):
    if isinstance(v, float) and np.isnan(v):
        return "-"
    return f"{100 * v:.2f}" if pct else f"{v:.4f}"


def print_tables(rows, studies, n_digits):
    for data in dict.fromkeys(r["data"] for r in rows):
        sub = [r for r in rows if r["data"] == data]
        seeds = sorted({r["seed"] for r in sub})
        print(f"\n### {data} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''}: mean over seeds)\n")
        lr_t = np.mean([r["fit_s"] for r in sub if r["model"] == "LR default"])
        print(
            "| K | QUBO objective | LR rounded objective | QUBO acc % | LR rounded acc % | "
            "zeros objective | zeros acc % | fit s (x LR default) | start / scales / curvature / "
            "solves / passes s | status | distinct/row |"
        )
        print("|--:|--:|--:|--:|--:|--:|--:|--:|--|--|--:|")
        for K in sorted({r["K"] for r in sub if r["K"]}):

            def m(model, key, sub=sub, K=K):
                vals = [r[key] for r in sub if r["model"] == model and r["K"] == K]
                return float(np.mean(vals)) if vals else float("nan")

            q = [r for r in sub if r["model"] == "QUBO auto" and r["K"] == K]
            split = " / ".join(
                f"{np.mean([r['t_' + k] for r in q]):.1f}"
                for k in ("start", "scales", "curvature", "solves", "passes")
            )
            status = ",".join(sorted({r["status"] for r in q}))
            print(
                f"| {K} | {_fmt(m('QUBO auto', 'objective'))} | "
                f"{_fmt(m('LR rounded', 'objective'))} | "
                f"{_fmt(m('QUBO auto', 'accuracy'), True)} | "
                f"{_fmt(m('LR rounded', 'accuracy'), True)} | "
                f"{_fmt(m('QUBO zeros', 'objective'))} | "
                f"{_fmt(m('QUBO zeros', 'accuracy'), True)} | "
                f"{m('QUBO auto', 'fit_s'):.1f} ({m('QUBO auto', 'fit_s') / lr_t:.2f}x) | "
                f"{split} | "
                f"{status} | {max(r['distinct'] for r in q)} |"
            )
        for model in ("LR float (tol 1e-6)", "LR default", "SGD"):
            vals = [r for r in sub if r["model"] == model]
            if not vals:
                continue
            print(
                f"| {model} | {_fmt(np.mean([r['objective'] for r in vals]))} | | "
                f"{_fmt(np.mean([r['accuracy'] for r in vals]), True)} | | | | "
                f"{np.mean([r['fit_s'] for r in vals]):.1f} | | | |"
            )
        # acceptance per seed
        worst_obj, worst_acc = -np.inf, -np.inf
        for r in sub:
            if r["model"] != "QUBO auto":
                continue
            b = next(
                x
                for x in sub
                if x["model"] == "LR rounded" and x["K"] == r["K"] and x["seed"] == r["seed"]
            )
            worst_obj = max(worst_obj, r["objective"] - b["objective"])
            worst_acc = max(worst_acc, b["accuracy"] - r["accuracy"])
        print(
            f"\nworst over K and seeds: QUBO objective - LR rounded objective = {worst_obj:+.5f}; "
            f"LR rounded accuracy - QUBO accuracy = {100 * worst_acc:+.2f} points"
        )
    if studies:
        print("\n### grid: rounded LR and QUBO head (objective / test accuracy %)\n")
        print("| data | grid | K | rounded | QUBO |")
        print("|--|--|--:|--:|--:|")
        for r in (s for s in studies if s["study"] == "grid"):
            print(
                f"| {r['data']} | {r['grid']} | {r['K']} | "
                f"{r['rounded_obj']:.4f} / {100 * r['rounded_acc']:.2f} | "
                f"{r['qubo_obj']:.4f} / {100 * r['qubo_acc']:.2f} |"
            )
        print("\n### bias_bits (QUBO head, objective / test accuracy %)\n")
        print("| data | K | bias_bits | objective | accuracy |")
        print("|--|--:|--:|--:|--:|")
        for r in (s for s in studies if s["study"] == "bias"):
            print(
                f"| {r['data']} | {r['K']} | {r['bias_bits']} | {r['objective']:.4f} | "
                f"{100 * r['accuracy']:.2f} |"
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bits", nargs="+", type=int, default=[1, 2, 3, 4, 6, 8, 10])
    parser.add_argument("--inits", nargs="+", default=["auto", "zeros"])
    parser.add_argument("--digits-seeds", type=int, default=3)
    parser.add_argument("--no-fashion", action="store_true")
    parser.add_argument("--no-digits", action="store_true")
    parser.add_argument("--fashion-rows", type=int, default=None, help="subsample (default: all)")
    parser.add_argument("--studies", action="store_true", help="grid and bias_bits studies")
    parser.add_argument("--study-bits", nargs="+", type=int, default=[1, 2, 3, 4])
    parser.add_argument("--studies-only", action="store_true", help="only the two studies")
    parser.add_argument(
        "--fashion-sgd", action="store_true", help="SGD on Fashion-MNIST too (minutes)"
    )
    args = parser.parse_args()
    warm_up()
    rows, studies = [], []
    if not args.no_digits:
        for seed in range(args.digits_seeds):
            run_split("digits", seed, args, rows, studies if (args.studies and seed == 0) else None)
    if not args.no_fashion:
        run_split("fashion-mnist", 0, args, rows, studies if args.studies else None)
    if args.studies_only:
        rows = []
    print_tables(rows, studies, args.digits_seeds)


if __name__ == "__main__":
    main()
