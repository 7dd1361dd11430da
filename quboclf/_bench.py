"""The studies behind ``quboclf bench``: the two papers' experiments as plain functions.

Two studies, each a function that returns one record (a dict) per measurement, plus helpers
that summarise records over seeds, format them as a console table, CSV or Markdown, and plot
them with matplotlib (optional):

* :func:`classifier_study` (arXiv 2603.02958): the QUBO-trained head at several bit precisions
  against a logistic regression rounded to the same grid with the best scales,
  ``SGDClassifier(loss="log_loss")`` and ``LogisticRegression()`` on the same
  :class:`~quboclf.RandomConvFeatures` (computed once per seed and shared, so only the heads
  differ): test accuracy, fit time and its ratio to SGD, feature dimension ``d`` and QUBO size
  per class ``(d + 1) K``.
* :func:`quantizer_study` (arXiv 2510.16075): an ``MLPClassifier`` quantized to several widths
  by every ``rounding`` of :class:`~quboclf.QUBOQuantizer` (round-to-nearest, GPTQ, AdaRound
  and the QUBO rounding) on the same scales and calibration rows: test accuracy, the
  calibration reconstruction error ``Σ_layers ‖X Ŵᵀ + 1b̂ᵀ − (X Wᵀ + 1bᵀ)‖²_F`` and the
  quantization time.

Data: ``digits`` (embedded in scikit-learn) is split 70/30, stratified, per seed; the other data
sets use their official train/test split through :mod:`quboclf.datasets` (a missing data set
raises the fetchers' :class:`FileNotFoundError`, whose message says how to fix it). The numba
kernels are compiled (or loaded from their cache) before anything is timed.
"""

import csv
import os
import time
import warnings

import numpy as np

__all__ = [
    "DATASETS",
    "classifier_study",
    "format_table",
    "load_split",
    "plot_classifier",
    "plot_quantizer",
    "quantizer_study",
    "summarize_classifier",
    "summarize_quantizer",
    "to_markdown",
    "write_csv",
]

#: Data sets the studies accept: digits (embedded) and the fetchers of :mod:`quboclf.datasets`.
DATASETS = ("digits", "mnist", "fashion-mnist", "kmnist", "emnist", "cifar10")

#: Bit precisions of the classifier study (every K down to 1; the paper's are 4 8 12 16 20) and
#: widths of the quantizer study (the paper's).
CLASSIFIER_BITS = (1, 2, 3, 4, 6, 8, 10)
QUANTIZER_BITS = (8, 6, 4, 3, 2, 1)
#: Roundings the quantizer study compares, in table order.
QUANTIZER_ROUNDINGS = ("nearest", "gptq", "adaround", "qubo")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def _fetcher(name):
    from . import datasets

    return {
        "mnist": datasets.fetch_mnist,
        "fashion-mnist": datasets.fetch_fashion_mnist,
        "kmnist": datasets.fetch_kmnist,
        "emnist": datasets.fetch_emnist,
        "cifar10": datasets.fetch_cifar10,
    }[name]


def _take(X, y, n, rng):
    """At most ``n`` rows of ``(X, y)``, stratified, drawn with ``rng`` (all when ``n`` is None)."""
    if n is None or n >= len(y):
        return X, y
    n_classes = len(np.unique(y))
    if n < n_classes:
        raise ValueError(
            f"subsample={n} is too small: a stratified subsample needs at least one row of each "
            f"of the {n_classes} classes; ask for at least {n_classes} rows (quboclf bench: "
            f"--subsample {n_classes} or more), or for every row (leave it out)"
        )
    if len(y) - n < n_classes:
        # Dropping fewer rows than there are classes: a stratified split cannot do it, and a
        # random drop changes each class by at most those few rows.
        idx = rng.choice(len(y), size=n, replace=False)
    else:
        from sklearn.model_selection import train_test_split

        idx, _ = train_test_split(
            np.arange(len(y)), train_size=n, stratify=y, random_state=rng.integers(2**31)
        )
    idx = np.sort(idx)
    return X[idx], y[idx]


def load_split(
    dataset, seed, *, subsample=None, data_home=None, download_if_missing=True, scale=False
):
    """Training and test images of ``dataset`` for one seed.

    Parameters
    ----------
    dataset : str
        One of :data:`DATASETS`.
    seed : int
        ``digits``: seed of the stratified 70/30 split. Other data sets use their official
        split; the seed only chooses the subsample.
    subsample : int, default=None
        Use at most this many training rows and at most this many test rows (stratified,
        seeded); None uses everything.
    data_home : str, default=None
        Data folder of the fetchers.
    download_if_missing : bool, default=True
        Passed to the fetchers.
    scale : bool, default=False
        Return flat rows scaled to [0, 1] (pixels / 16 for digits, / 255 otherwise), as the
        quantizer study's MLP wants, instead of images as stored.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        Images of shape (n, H, W[, C]) (flat (n, 64) for digits), or flat scaled rows.

    Raises
    ------
    FileNotFoundError
        The data set is neither on disk nor downloadable; the message says how to fix it.

    Examples
    --------
    >>> from quboclf._bench import load_split
    >>> X_tr, X_te, y_tr, y_te = load_split("digits", 0)
    >>> X_tr.shape, X_te.shape
    ((1257, 64), (540, 64))
    """
    if dataset not in DATASETS:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")
    rng = np.random.default_rng(seed)
    if dataset == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        peak = 16.0
    else:
        fetch = _fetcher(dataset)
        kwargs = {"data_home": data_home, "download_if_missing": download_if_missing}
        train = fetch(subset="train", **kwargs)
        test = fetch(subset="test", **kwargs)
        X_tr, y_tr = train.images, np.asarray(train.target)
        X_te, y_te = test.images, np.asarray(test.target)
        peak = 255.0
    X_tr, y_tr = _take(X_tr, y_tr, subsample, rng)
    X_te, y_te = _take(X_te, y_te, subsample, rng)
    if scale:
        X_tr = X_tr.reshape(len(X_tr), -1) / peak
        X_te = X_te.reshape(len(X_te), -1) / peak
    return X_tr, X_te, y_tr, y_te


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


class _Progress:
    """A tqdm bar on stderr (or nothing) with a ``step(description)`` method."""

    def __init__(self, total, desc, enabled):
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="fit", leave=False, dynamic_ncols=True)

    def describe(self, text):
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def step(self):
        if self._bar is not None:
            self._bar.update(1)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def _timed_fit(model, X, y):
    from sklearn.exceptions import ConvergenceWarning

    tic = time.perf_counter()
    with warnings.catch_warnings():
        # Baselines at their defaults may not converge; that is part of what is compared.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - tic


# --------------------------------------------------------------------------------------------
# Classifier study
# --------------------------------------------------------------------------------------------


# The records list of the study that runs (or ran last): the command line saves what finished
# when the run is interrupted (Ctrl-C).
_running = {"records": None}


def _new_records():
    records = []
    _running["records"] = records
    return records


def finished_records():
    """A copy of the records the current (or last) study has finished so far."""
    return list(_running["records"] or [])


def classifier_study(
    dataset="digits",
    bits=CLASSIFIER_BITS,
    seeds=(0, 1, 2),
    *,
    sampler="sa",
    subsample=None,
    max_iter=100,
    init="auto",
    n_jobs=None,
    data_home=None,
    download_if_missing=True,
    progress=False,
    log=None,
):
    """QUBO head at each bit precision against rounded and float baselines, per seed.

    For every seed the data are split (``digits``: stratified 70/30; others: the official
    split), :class:`~quboclf.RandomConvFeatures` (``random_state=seed``) is fitted on the
    training images and its features are shared by every head: ``SGDClassifier(loss="log_loss",
    random_state=seed)``, ``LogisticRegression()``, and for each ``K`` in ``bits``
    ``QUBOCNNClassifier(features="passthrough", n_bits=K, sampler=sampler, init=init,
    random_state=seed)`` and the strongest simple alternative on the same grid: a
    ``LogisticRegression`` with ``C`` matched to the head's ``alpha`` (``C = 1 / (alpha n)``)
    rounded to K bits with the per-class and bias scales that minimise the training objective
    (``"logreg-rounded"``; its ``fit_s`` is the rounding's, after the shared float fit).

    Parameters
    ----------
    dataset : str, default="digits"
        One of :data:`DATASETS`.
    bits : sequence of int, default=(4, 8, 12, 16, 20)
        Bit precisions of the QUBO head.
    seeds : sequence of int, default=(0, 1, 2)
        One split/features/solver seed per repetition.
    sampler : str, default="sa"
        The head's ``sampler``.
    subsample : int, default=None
        At most this many training and test rows (see :func:`load_split`).
    max_iter : int, default=100
        The head's ``max_iter``.
    init : {"auto", "zeros"}, default="auto"
        The head's ``init`` (``"zeros"``: the paper's setting).
    n_jobs : int, default=None
        The head's ``n_jobs``.
    data_home, download_if_missing
        Passed to the fetchers.
    progress : bool, default=False
        Show a tqdm progress bar on stderr.
    log : callable, default=None
        Called with one line of text per finished fit (e.g. ``print``).

    Returns
    -------
    records : list of dict
        One per (seed, model): ``dataset``, ``seed``, ``model`` ("qubo", "logreg-rounded",
        "sgd", "logreg"), ``n_bits`` (0 for the float baselines), ``accuracy``, ``objective``
        (training objective ``mean CE + alpha/2 ||coef||²``), ``fit_s``, ``n_iter``, ``d``,
        ``qubo_size`` (variables per class QUBO, 0 for the baselines), ``n_classes``,
        ``n_train``, ``n_test``, ``features_s``.

    Examples
    --------
    >>> from quboclf._bench import classifier_study
    >>> records = classifier_study("digits", bits=[4], seeds=[0], subsample=300)
    >>> sorted({r["model"] for r in records}), records[0]["d"]
    (['logreg', 'logreg-rounded', 'qubo', 'sgd'], 600)
    """
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from . import _head
    from ._classifier import DEFAULT_BIAS_BITS, QUBOCNNClassifier
    from ._features import RandomConvFeatures
    from ._kernels import warm_up

    bits, seeds = list(bits), list(seeds)
    warm_up()  # compile (or load) the numba kernels before anything is timed
    bar = _Progress(len(seeds) * (len(bits) + 3), f"classifier {dataset}", progress)
    records = _new_records()
    try:
        for seed in seeds:
            bar.describe(f"seed {seed}: data")
            X_tr, X_te, y_tr, y_te = load_split(
                dataset,
                seed,
                subsample=subsample,
                data_home=data_home,
                download_if_missing=download_if_missing,
            )
            bar.describe(f"seed {seed}: features")
            tic = time.perf_counter()
            features = RandomConvFeatures(random_state=seed).fit(X_tr)
            Z_tr, Z_te = features.transform(X_tr), features.transform(X_te)
            features_s = time.perf_counter() - tic
            bar.step()
            d = Z_tr.shape[1]
            common = {
                "dataset": dataset,
                "seed": seed,
                "d": d,
                "n_classes": len(np.unique(y_tr)),
                "n_train": len(y_tr),
                "n_test": len(y_te),
                "features_s": features_s,
            }
            classes, y_idx = np.unique(y_tr, return_inverse=True)
            alpha = QUBOCNNClassifier().alpha
            reg = np.r_[np.full(d, alpha), 0.0]

            def objective(W, Z_tr=Z_tr, y_idx=y_idx, reg=reg):
                return float(_head.loss_grad(Z_tr, y_idx, W, reg, 8192, grad=False)[0])

            def weights(model):
                return np.vstack([model.coef_.T, model.intercept_])

            models = [
                ("sgd", 0, SGDClassifier(loss="log_loss", random_state=seed)),
                ("logreg", 0, LogisticRegression()),
            ]
            models += [
                (
                    "qubo",
                    k,
                    QUBOCNNClassifier(
                        features="passthrough",
                        n_bits=k,
                        sampler=sampler,
                        max_iter=max_iter,
                        init=init,
                        n_jobs=n_jobs,
                        random_state=seed,
                    ),
                )
                for k in bits
            ]
            for name, k, model in models:
                bar.describe(f"seed {seed}: {name}" + (f" {k} bits" if k else ""))
                fit_s = _timed_fit(model, Z_tr, y_tr)
                records.append(
                    {
                        **common,
                        "model": name,
                        "n_bits": k,
                        "accuracy": float(model.score(Z_te, y_te)),
                        "objective": objective(weights(model)),
                        "fit_s": fit_s,
                        "n_iter": int(np.max(model.n_iter_)),
                        # the biases are eliminated from the QUBOs (bias_bits != n_bits)
                        "qubo_size": d * k if name == "qubo" else 0,
                    }
                )
                bar.step()
                if log is not None:
                    r = records[-1]
                    log(
                        f"{dataset} seed {seed} (d={d}) {name}"
                        + (f" {k} bits" if k else "")
                        + f": accuracy {r['accuracy']:.4f}, objective {r['objective']:.4f}, "
                        f"fit {fit_s:.2f} s, {r['n_iter']} iterations"
                    )
            # the rounded baseline's float fit: C matched to alpha, converged
            matched = LogisticRegression(C=1.0 / (alpha * len(y_tr)), max_iter=10_000, tol=1e-6)
            _timed_fit(matched, Z_tr, y_idx)
            W_float = weights(matched)
            yt_idx = np.searchsorted(classes, y_te)
            for k in bits:
                tic = time.perf_counter()
                grid = _head.choose_scales(
                    Z_tr,
                    y_idx,
                    W_float,
                    alpha,
                    n_bits=k,
                    bias_bits=DEFAULT_BIAS_BITS,
                    granularity="class",
                    grid="midrise",
                )
                W = grid.round(W_float)
                S = Z_te @ W[:-1] + W[-1]
                pred = (S[:, 0] > 0).astype(int) if S.shape[1] == 1 else np.argmax(S, axis=1)
                records.append(
                    {
                        **common,
                        "model": "logreg-rounded",
                        "n_bits": k,
                        "accuracy": float(np.mean(pred == yt_idx)),
                        "objective": objective(W),
                        "fit_s": time.perf_counter() - tic,
                        "n_iter": 0,
                        "qubo_size": 0,
                    }
                )
    finally:
        bar.close()
    return records


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


# --------------------------------------------------------------------------------------------
# Quantizer study
# --------------------------------------------------------------------------------------------


def _mlp_settings(dataset):
    # digits: a small net trained to convergence; image data sets: one 256-unit hidden layer
    # trained for 20 epochs (as benchmarks/bench_quantizer.py).
    return ((64,), 300) if dataset == "digits" else ((256,), 20)


def quantizer_study(
    dataset="digits",
    bits=QUANTIZER_BITS,
    seeds=(0, 1, 2),
    *,
    roundings=QUANTIZER_ROUNDINGS,
    sampler="sa",
    subsample=None,
    n_calibration=1024,
    n_jobs=None,
    data_home=None,
    download_if_missing=True,
    progress=False,
    log=None,
):
    """Float vs every rounding of an ``MLPClassifier``, per width and seed.

    Per seed: the data are split as in :func:`load_split` (flat rows scaled to [0, 1]), an
    ``MLPClassifier`` (digits: one hidden layer of 64 units, up to 300 epochs; other data sets:
    256 units, 20 epochs; ``batch_size=256``, ``random_state=seed``) is trained once, and
    ``QUBOQuantizer(mlp, n_bits=w, rounding=r, n_calibration=n_calibration,
    random_state=seed)`` is fitted for every width ``w`` and rounding ``r`` (same scales, grid,
    calibration rows and ``propagate="quantized"``).

    Parameters
    ----------
    dataset : str, default="digits"
        One of :data:`DATASETS`.
    bits : sequence of int, default=(8, 6, 4, 3, 2, 1)
        Widths.
    seeds : sequence of int, default=(0, 1, 2)
        Seeds of the split (digits), the MLP, the calibration rows and the solver.
    roundings : sequence of str, default=("nearest", "gptq", "adaround", "qubo")
        The quantizer's ``rounding`` values to compare.
    sampler : str, default="sa"
        The quantizer's ``sampler``.
    subsample : int, default=None
        At most this many training and test rows.
    n_calibration : int, default=1024
        The quantizer's ``n_calibration``.
    n_jobs : int, default=None
        The quantizer's ``n_jobs``.
    data_home, download_if_missing
        Passed to the fetchers.
    progress : bool, default=False
        Show a tqdm progress bar on stderr.
    log : callable, default=None
        Called with one line of text per finished fit.

    Returns
    -------
    records : list of dict
        One per (seed, width, rounding) plus one "float" record per seed: ``dataset``,
        ``seed``, ``rounding`` ("float" or one of ``roundings``), ``n_bits`` (0 for float),
        ``accuracy``, ``error`` (calibration reconstruction error summed over layers, each on
        the method's own calibration inputs; 0 for float), ``fit_s`` (MLP training time for
        float, quantization time otherwise), ``n_train``, ``n_test``.

    Examples
    --------
    >>> from quboclf._bench import quantizer_study
    >>> records = quantizer_study("digits", bits=[2], seeds=[0], subsample=400)
    >>> [r["rounding"] for r in records]
    ['float', 'nearest', 'gptq', 'adaround', 'qubo']
    """
    from sklearn.neural_network import MLPClassifier

    from ._kernels import warm_up
    from ._quantizer import QUBOQuantizer

    bits, seeds, roundings = list(bits), list(seeds), list(roundings)
    warm_up()  # compile (or load) the numba kernels before anything is timed
    hidden, max_iter = _mlp_settings(dataset)
    bar = _Progress(len(seeds) * (1 + len(roundings) * len(bits)), f"quantizer {dataset}",
                    progress)
    records = _new_records()
    try:
        for seed in seeds:
            bar.describe(f"seed {seed}: data")
            X_tr, X_te, y_tr, y_te = load_split(
                dataset,
                seed,
                subsample=subsample,
                data_home=data_home,
                download_if_missing=download_if_missing,
                scale=True,
            )
            common = {"dataset": dataset, "seed": seed, "n_train": len(y_tr), "n_test": len(y_te)}
            bar.describe(f"seed {seed}: MLP")
            mlp = MLPClassifier(hidden, max_iter=max_iter, batch_size=256, random_state=seed)
            fit_s = _timed_fit(mlp, X_tr, y_tr)
            records.append(
                {
                    **common,
                    "rounding": "float",
                    "n_bits": 0,
                    "accuracy": float(mlp.score(X_te, y_te)),
                    "error": 0.0,
                    "fit_s": fit_s,
                }
            )
            bar.step()
            if log is not None:
                log(
                    f"{dataset} seed {seed} float MLP: accuracy {records[-1]['accuracy']:.4f}, "
                    f"trained in {fit_s:.1f} s"
                )
            for width in bits:
                for rounding in roundings:
                    bar.describe(f"seed {seed}: int{width} {rounding}")
                    q = QUBOQuantizer(
                        mlp,
                        n_bits=width,
                        rounding=rounding,
                        sampler=sampler,
                        n_calibration=n_calibration,
                        n_jobs=n_jobs,
                        random_state=seed,
                    )
                    fit_s = _timed_fit(q, X_tr, y_tr)
                    error = sum(layer.error for layer in q.layers_)
                    records.append(
                        {
                            **common,
                            "rounding": rounding,
                            "n_bits": width,
                            "accuracy": float(q.score(X_te, y_te)),
                            "error": float(error),
                            "fit_s": fit_s,
                        }
                    )
                    bar.step()
                    if log is not None:
                        log(
                            f"{dataset} seed {seed} int{width} {rounding}: accuracy "
                            f"{records[-1]['accuracy']:.4f}, error {error:.5g}, {fit_s:.2f} s"
                        )
    finally:
        bar.close()
    return records


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


# --------------------------------------------------------------------------------------------
# Tables, files and plots
# --------------------------------------------------------------------------------------------


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
    >>> from quboclf._bench import format_table
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
    >>> from quboclf._bench import to_markdown
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
