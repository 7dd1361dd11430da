"""The two studies as plain functions sharing one seed loop.

* :func:`classifier_study` (arXiv 2603.02958): the QUBO-trained head at several bit precisions
  against a logistic regression rounded to the same grid with the best scales,
  ``SGDClassifier(loss="log_loss")`` and ``LogisticRegression()`` on the same
  :class:`~quboclf.RandomConvFeatures` (computed once per seed and shared, so only the heads
  differ).
* :func:`quantizer_study` (arXiv 2510.16075): an ``MLPClassifier`` quantized to several widths
  by every ``rounding`` of :class:`~quboclf.QUBOQuantizer` on the same scales and calibration
  rows.

Both return one record (a dict) per fit. :func:`_seed_loop` does what they share: compile the
kernels before anything is timed, load the split of every seed, count the fits on a progress
bar, log one line per fit and keep the finished records where the command line finds them
when the run is interrupted (Ctrl-C).
"""

import time
import warnings

import numpy as np

from ._data import load_split

#: Bit precisions of the classifier study (every K down to 1; the paper's are 4 8 12 16 20) and
#: widths of the quantizer study (the paper's).
CLASSIFIER_BITS = (1, 2, 3, 4, 6, 8, 10)
QUANTIZER_BITS = (8, 6, 4, 3, 2, 1)
#: Roundings the quantizer study compares, in table order.
QUANTIZER_ROUNDINGS = ("nearest", "gptq", "adaround", "qubo")


class _Progress:
    """A tqdm bar on stderr (or nothing)."""

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


def timed_fit(model, X, y):
    """Seconds ``model.fit(X, y)`` takes, convergence warnings silenced."""
    from sklearn.exceptions import ConvergenceWarning

    tic = time.perf_counter()
    with warnings.catch_warnings():
        # Baselines at their defaults may not converge; that is part of what is compared.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return time.perf_counter() - tic


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


class _Seed:
    """What one seed's fits report to the loop: the work that starts, the fits that finish."""

    def __init__(self, seed, dataset, bar, records, log):
        self.seed = seed
        self._dataset = dataset
        self._bar = bar
        self._records = records
        self._log = log

    def doing(self, text):
        self._bar.describe(f"seed {self.seed}: {text}")

    def done(self, record=None, line=None):
        """One unit of work finished: its record kept, the bar advanced, its line logged."""
        if record is not None:
            self._records.append(record)
        self._bar.step()
        if self._log is not None and line is not None:
            self._log(f"{self._dataset} seed {self.seed} {line}")

    def keep(self, record):
        """A record that is not a fit of its own (not counted on the bar, not logged)."""
        self._records.append(record)


def _seed_loop(study, dataset, seeds, fits_per_seed, one_seed, *, load, progress, log):
    """Run ``one_seed(run, X_train, X_test, y_train, y_test)`` for every seed; the records."""
    from .._kernels import warm_up

    warm_up()  # compile (or load) the numba kernels before anything is timed
    bar = _Progress(len(seeds) * fits_per_seed, f"{study} {dataset}", progress)
    records = _new_records()
    try:
        for seed in seeds:
            run = _Seed(seed, dataset, bar, records, log)
            run.doing("data")
            one_seed(run, *load_split(dataset, seed, **load))
    finally:
        bar.close()
    return records


# The parameters every study takes, documented once (see _shares_parameters).
_SHARED_PARAMETERS = """sampler : str, default="sa"
        The {model}'s ``sampler``.
    subsample : int, default=None
        At most this many training and test rows (see :func:`load_split`).
    n_jobs : int, default=None
        The {model}'s ``n_jobs``.
    data_home, download_if_missing
        Passed to the fetchers.
    progress : bool, default=False
        Show a tqdm progress bar on stderr.
    log : callable, default=None
        Called with one line of text per finished fit (e.g. ``print``)."""


def _shares_parameters(model):
    """Write the shared parameters into a study's docstring, naming the model they go to."""

    def decorate(study):
        shared = _SHARED_PARAMETERS.format(model=model)
        study.__doc__ = study.__doc__.replace("<shared parameters>", shared)
        return study

    return decorate


@_shares_parameters("head")
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
    bits : sequence of int, default=(1, 2, 3, 4, 6, 8, 10)
        Bit precisions of the QUBO head.
    seeds : sequence of int, default=(0, 1, 2)
        One split/features/solver seed per repetition.
    max_iter : int, default=100
        The head's ``max_iter``.
    init : {"auto", "zeros"}, default="auto"
        The head's ``init`` (``"zeros"``: the paper's setting).
    <shared parameters>

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
    >>> from quboclf.studies import classifier_study
    >>> records = classifier_study("digits", bits=[4], seeds=[0], subsample=300)
    >>> sorted({r["model"] for r in records}), records[0]["d"]
    (['logreg', 'logreg-rounded', 'qubo', 'sgd'], 600)
    """
    bits = list(bits)

    head = {"sampler": sampler, "max_iter": max_iter, "init": init, "n_jobs": n_jobs}

    def one_seed(run, X_tr, X_te, y_tr, y_te):
        _classifier_seed(run, dataset, bits, head, X_tr, X_te, y_tr, y_te)

    return _seed_loop(
        "classifier",
        dataset,
        list(seeds),
        len(bits) + 3,  # features, SGD, logistic regression, one head per precision
        one_seed,
        load={
            "subsample": subsample,
            "data_home": data_home,
            "download_if_missing": download_if_missing,
        },
        progress=progress,
        log=log,
    )


def _classifier_seed(run, dataset, bits, head, X_tr, X_te, y_tr, y_te):
    """One seed of the classifier study; ``head`` holds the QUBO head's study parameters."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier

    from .. import _head
    from .._classifier import DEFAULT_BIAS_BITS, QUBOCNNClassifier
    from .._features import RandomConvFeatures

    seed = run.seed
    run.doing("features")
    tic = time.perf_counter()
    features = RandomConvFeatures(random_state=seed).fit(X_tr)
    Z_tr, Z_te = features.transform(X_tr), features.transform(X_te)
    features_s = time.perf_counter() - tic
    run.done()
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

    def objective(W):
        return float(_head.loss_grad(Z_tr, y_idx, W, reg, 8192, grad=False)[0])

    def weights(model):
        return np.vstack([model.coef_.T, model.intercept_])

    models = [
        ("sgd", 0, SGDClassifier(loss="log_loss", random_state=seed)),
        ("logreg", 0, LogisticRegression()),
    ]
    models += [
        ("qubo", k, QUBOCNNClassifier(features="passthrough", n_bits=k, random_state=seed, **head))
        for k in bits
    ]
    for name, k, model in models:
        label = name + (f" {k} bits" if k else "")
        run.doing(label)
        fit_s = timed_fit(model, Z_tr, y_tr)
        r = {
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
        run.done(
            r,
            f"(d={d}) {label}: accuracy {r['accuracy']:.4f}, objective {r['objective']:.4f}, "
            f"fit {fit_s:.2f} s, {r['n_iter']} iterations",
        )
    # the rounded baseline's float fit: C matched to alpha, converged
    matched = LogisticRegression(C=1.0 / (alpha * len(y_tr)), max_iter=10_000, tol=1e-6)
    timed_fit(matched, Z_tr, y_idx)
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
        run.keep(
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


def mlp_settings(dataset):
    """Hidden layers and epochs of the quantizer study's ``MLPClassifier`` on ``dataset``."""
    # digits: a small net trained to convergence; image data sets: one 256-unit hidden layer
    # trained for 20 epochs.
    return ((64,), 300) if dataset == "digits" else ((256,), 20)


@_shares_parameters("quantizer")
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
    n_calibration : int, default=1024
        The quantizer's ``n_calibration``.
    <shared parameters>

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
    >>> from quboclf.studies import quantizer_study
    >>> records = quantizer_study("digits", bits=[2], seeds=[0], subsample=400)
    >>> [r["rounding"] for r in records]
    ['float', 'nearest', 'gptq', 'adaround', 'qubo']
    """
    from sklearn.neural_network import MLPClassifier

    from .._quantizer import QUBOQuantizer

    bits, roundings = list(bits), list(roundings)
    hidden, max_iter = mlp_settings(dataset)

    def one_seed(run, X_tr, X_te, y_tr, y_te):
        seed = run.seed
        common = {"dataset": dataset, "seed": seed, "n_train": len(y_tr), "n_test": len(y_te)}
        run.doing("MLP")
        mlp = MLPClassifier(hidden, max_iter=max_iter, batch_size=256, random_state=seed)
        fit_s = timed_fit(mlp, X_tr, y_tr)
        accuracy = float(mlp.score(X_te, y_te))
        record = {"rounding": "float", "n_bits": 0, "accuracy": accuracy, "error": 0.0}
        run.done(
            {**common, **record, "fit_s": fit_s},
            f"float MLP: accuracy {accuracy:.4f}, trained in {fit_s:.1f} s",
        )
        for width in bits:
            for rounding in roundings:
                run.doing(f"int{width} {rounding}")
                q = QUBOQuantizer(
                    mlp,
                    n_bits=width,
                    rounding=rounding,
                    sampler=sampler,
                    n_calibration=n_calibration,
                    n_jobs=n_jobs,
                    random_state=seed,
                )
                fit_s = timed_fit(q, X_tr, y_tr)
                error = sum(layer.error for layer in q.layers_)
                accuracy = float(q.score(X_te, y_te))
                record = {"rounding": rounding, "n_bits": width, "accuracy": accuracy}
                run.done(
                    {**common, **record, "error": float(error), "fit_s": fit_s},
                    f"int{width} {rounding}: accuracy {accuracy:.4f}, error {error:.5g}, "
                    f"{fit_s:.2f} s",
                )

    return _seed_loop(
        "quantizer",
        dataset,
        list(seeds),
        1 + len(roundings) * len(bits),  # the MLP, then every width and rounding
        one_seed,
        load={
            "subsample": subsample,
            "data_home": data_home,
            "download_if_missing": download_if_missing,
            "scale": True,
        },
        progress=progress,
        log=log,
    )
