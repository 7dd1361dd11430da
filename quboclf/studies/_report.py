"""Reports of the studies' records: summaries over seeds, tables, CSV, Markdown and plots."""

import csv
import os

import numpy as np


def _group(records, keys):
    groups = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return groups


def summarize_classifier(records):
    """Mean ± std over seeds per model and bit precision, with fit-time ratios to SGD.

    Returns one dict per model row (float baselines first, then for each bit precision the
    rounded logistic regression and the QUBO head): ``model``, ``kind`` (the record's
    ``model``), ``n_bits``, ``accuracy_mean``, ``accuracy_std``, ``objective_mean``,
    ``fit_s_mean``, ``fit_s_std``, ``ratio_to_sgd`` (mean over seeds of fit time / SGD's fit
    time on the same seed), ``n_iter_mean``, ``d``, ``qubo_size``, ``n_seeds``.
    """
    sgd = {r["seed"]: r["fit_s"] for r in records if r["model"] == "sgd"}
    order = {"sgd": 0, "logreg": 1, "logreg-rounded": 2, "qubo": 3}
    names = {
        "sgd": "SGDClassifier",
        "logreg": "LogisticRegression",
        "logreg-rounded": "LR rounded {k} bits",
        "qubo": "QUBO head {k} bits",
    }
    rows = []
    for (model, k), group in sorted(
        _group(records, ("model", "n_bits")).items(),
        key=lambda kv: (kv[0][1] > 0, kv[0][1], order[kv[0][0]]),
    ):
        acc = np.array([r["accuracy"] for r in group])
        fit = np.array([r["fit_s"] for r in group])
        ratios = [r["fit_s"] / sgd[r["seed"]] for r in group if r["seed"] in sgd]
        rows.append(
            {
                "model": names[model].format(k=k),
                "kind": model,
                "n_bits": k,
                "accuracy_mean": float(acc.mean()),
                "accuracy_std": float(acc.std()),
                "objective_mean": float(np.mean([r.get("objective", np.nan) for r in group])),
                "fit_s_mean": float(fit.mean()),
                "fit_s_std": float(fit.std()),
                "ratio_to_sgd": float(np.mean(ratios)) if ratios else float("nan"),
                "n_iter_mean": float(np.mean([r["n_iter"] for r in group])),
                "d": group[0]["d"],
                "qubo_size": group[0]["qubo_size"],
                "n_seeds": len(group),
            }
        )
    return rows



def summarize_quantizer(records):
    """One row per width: float and every rounding's accuracy (mean ± std), errors and times.

    Returns dicts with ``n_bits``, ``float_mean``, ``float_std`` and, for every rounding ``r``
    in the records (``"nearest"``, ``"gptq"``, ``"adaround"``, ``"qubo"``): ``r_mean``,
    ``r_std`` (accuracy), ``error_r`` (mean calibration error over seeds) and ``r_s`` (mean
    quantization time); with nearest and QUBO also ``recovered`` (share of the accuracy that
    nearest loses against float that QUBO rounding wins back, NaN when nearest loses nothing)
    and ``error_ratio`` (QUBO / nearest error); and ``n_seeds``.
    """
    fl = np.array([r["accuracy"] for r in records if r["rounding"] == "float"])
    widths = list(dict.fromkeys(r["n_bits"] for r in records if r["rounding"] != "float"))
    roundings = list(dict.fromkeys(r["rounding"] for r in records if r["rounding"] != "float"))
    groups = _group(records, ("rounding", "n_bits"))
    rows = []
    for w in widths:
        row = {"n_bits": w, "float_mean": float(fl.mean()), "float_std": float(fl.std())}
        for name in roundings:
            group = groups[(name, w)]
            acc = np.array([r["accuracy"] for r in group])
            row[f"{name}_mean"] = float(acc.mean())
            row[f"{name}_std"] = float(acc.std())
            row[f"error_{name}"] = float(np.mean([r["error"] for r in group]))
            row[f"{name}_s"] = float(np.mean([r["fit_s"] for r in group]))
            row["n_seeds"] = len(group)
        if "nearest" in roundings and "qubo" in roundings:
            lost = row["float_mean"] - row["nearest_mean"]
            row["recovered"] = (
                float((row["qubo_mean"] - row["nearest_mean"]) / lost) if lost > 0
                else float("nan")
            )
            e_n = row["error_nearest"]
            row["error_ratio"] = row["error_qubo"] / e_n if e_n > 0 else float("nan")
        rows.append(row)
    return rows




def _pm(mean, std, scale=100.0, digits=2):
    return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"


def classifier_table(summary):
    """Header and string cells of the classifier summary (accuracy in %)."""
    header = [
        "model",
        "accuracy (%)",
        "objective",
        "fit (s)",
        "fit / SGD",
        "iterations",
        "d",
        "QUBO size dK",
    ]
    cells = [
        [
            r["model"],
            _pm(r["accuracy_mean"], r["accuracy_std"]),
            f"{r['objective_mean']:.4f}",
            f"{r['fit_s_mean']:.2f}",
            f"{r['ratio_to_sgd']:.2f}",
            f"{r['n_iter_mean']:.1f}" if r["kind"] == "qubo" else "-",
            str(r["d"]),
            str(r["qubo_size"]) if r["kind"] == "qubo" else "-",
        ]
        for r in summary
    ]
    return header, cells


_ROUNDING_LABELS = {"nearest": "nearest", "gptq": "GPTQ", "adaround": "AdaRound",
                    "qubo": "QUBO"}


def quantizer_table(summary):
    """Header and string cells of the quantizer summary: accuracy in %, error, time per rounding."""
    names = [n for n in _ROUNDING_LABELS if f"{n}_mean" in summary[0]] if summary else []
    header = ["width", "float (%)"]
    header += [f"{_ROUNDING_LABELS[n]} (%)" for n in names]
    header += [f"error {_ROUNDING_LABELS[n]}" for n in names]
    header += [f"{_ROUNDING_LABELS[n]} (s)" for n in names]
    cells = [
        [f"int{r['n_bits']}", _pm(r["float_mean"], r["float_std"])]
        + [_pm(r[f"{n}_mean"], r[f"{n}_std"]) for n in names]
        + [f"{r[f'error_{n}']:.4g}" for n in names]
        + [f"{r[f'{n}_s']:.2f}" for n in names]
        for r in summary
    ]
    return header, cells


def format_table(header, cells):
    """A plain-text table: the first column left-aligned, the others right-aligned.

    Examples
    --------
    >>> from quboclf.studies import format_table
    >>> print(format_table(["a", "b"], [["x", "1"], ["yy", "22"]]))
    a    b
    --  --
    x    1
    yy  22
    """
    widths = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]

    def line(row):
        parts = [str(row[0]).ljust(widths[0])]
        parts += [str(c).rjust(w) for c, w in zip(row[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, cells)])


def to_markdown(header, cells):
    """A GitHub-flavoured Markdown table (numeric columns right-aligned).

    Examples
    --------
    >>> from quboclf.studies import to_markdown
    >>> print(to_markdown(["a", "b"], [["x", "1"]]))
    | a | b |
    |:--|--:|
    | x | 1 |
    """
    rule = "|" + "|".join([":--", *["--:"] * (len(header) - 1)]) + "|"
    rows = ["| " + " | ".join(map(str, r)) + " |" for r in [header, *cells]]
    return "\n".join([rows[0], rule, *rows[1:]])


def write_csv(records, path):
    """Write a list of dicts (same keys) to ``path`` as CSV; returns ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def _pyplot():
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_classifier(summary, path=None, *, title=None, ax=None):
    """Accuracy against bit precision (mean ± std): the QUBO head, the rounded logistic regression
    on the same grid, and the float baselines as horizontal bands.

    Needs matplotlib. Saves a PNG to ``path`` when given; returns the figure.
    """
    plt = _pyplot()
    fig = ax.figure if ax is not None else plt.subplots(figsize=(6, 4), layout="constrained")[0]
    ax = ax if ax is not None else fig.axes[0]
    ks = []
    for kind, label, marker in (("qubo", "QUBO head", "o"), ("logreg-rounded", "LR rounded", "s")):
        rows = [r for r in summary if r["kind"] == kind]
        k = [r["n_bits"] for r in rows]
        ks = ks or k
        ax.errorbar(
            k,
            [100 * r["accuracy_mean"] for r in rows],
            yerr=[100 * r["accuracy_std"] for r in rows],
            marker=marker,
            capsize=3,
            label=label,
        )
    for r, color in zip([r for r in summary if not r["n_bits"]], ["C2", "C3"]):
        m, s = 100 * r["accuracy_mean"], 100 * r["accuracy_std"]
        ax.axhline(m, color=color, ls="--", label=r["model"] + " (float)")
        ax.axhspan(m - s, m + s, color=color, alpha=0.15)
    ax.set_xlabel("bits per weight K")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def plot_quantizer(summary, path=None, *, title=None, axes=None):
    """Accuracy and reconstruction error against width, for every rounding in the summary.

    Needs matplotlib. Saves a PNG to ``path`` when given; returns the figure.
    """
    plt = _pyplot()
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    fig = axes[0].figure
    w = [r["n_bits"] for r in summary]
    for key, label, marker in (("nearest", "round to nearest", "s"), ("gptq", "GPTQ", "^"),
                               ("adaround", "AdaRound", "v"), ("qubo", "QUBO", "o")):
        if f"{key}_mean" not in summary[0]:
            continue
        axes[0].errorbar(
            w,
            [100 * r[f"{key}_mean"] for r in summary],
            yerr=[100 * r[f"{key}_std"] for r in summary],
            marker=marker,
            capsize=3,
            label=label,
        )
        axes[1].plot(w, [r[f"error_{key}"] for r in summary], marker=marker, label=label)
    axes[0].axhline(100 * summary[0]["float_mean"], color="k", ls="--", label="float")
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].set_ylabel("reconstruction error (calibration)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("bit width")
        ax.set_xticks(w)
        ax.invert_xaxis()
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
