"""The data sets of the studies: one registry, one loader.

Every data set a study, the command line or a benchmark names is an entry of ``_SOURCES``;
all of them are loaded by :func:`load_split` through :mod:`quboclf.datasets` (``digits`` is
embedded in scikit-learn).
"""

import os

import numpy as np

#: name -> (fetcher in :mod:`quboclf.datasets`, its folder under a data folder, pixel maximum);
#: digits is embedded in scikit-learn and has no fetcher or folder.
_SOURCES = {
    "digits": (None, None, 16.0),
    "mnist": ("fetch_mnist", "mnist", 255.0),
    "fashion-mnist": ("fetch_fashion_mnist", "fashion-mnist", 255.0),
    "kmnist": ("fetch_kmnist", "kmnist", 255.0),
    "emnist": ("fetch_emnist", "emnist", 255.0),
    "cifar10": ("fetch_cifar10", "cifar-10", 255.0),
}

#: Data sets the studies accept: digits (embedded) and the fetchers of :mod:`quboclf.datasets`.
DATASETS = tuple(_SOURCES)

#: Share of digits held out for testing, stratified, anew for every seed.
DIGITS_TEST_SIZE = 0.3


def _check_name(dataset):
    if dataset not in _SOURCES:
        raise ValueError(f"Unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}.")


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
    >>> from quboclf.studies import load_split
    >>> X_tr, X_te, y_tr, y_te = load_split("digits", 0)
    >>> X_tr.shape, X_te.shape
    ((1257, 64), (540, 64))
    """
    _check_name(dataset)
    fetcher, _, peak = _SOURCES[dataset]
    rng = np.random.default_rng(seed)
    if fetcher is None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_tr, X_te, y_tr, y_te = train_test_split(
            X, y, test_size=DIGITS_TEST_SIZE, stratify=y, random_state=seed
        )
    else:
        from .. import datasets

        fetch = getattr(datasets, fetcher)
        kwargs = {"data_home": data_home, "download_if_missing": download_if_missing}
        train = fetch(subset="train", **kwargs)
        test = fetch(subset="test", **kwargs)
        X_tr, y_tr = train.images, np.asarray(train.target)
        X_te, y_te = test.images, np.asarray(test.target)
    X_tr, y_tr = _take(X_tr, y_tr, subsample, rng)
    X_te, y_te = _take(X_te, y_te, subsample, rng)
    if scale:
        X_tr = X_tr.reshape(len(X_tr), -1) / peak
        X_te = X_te.reshape(len(X_te), -1) / peak
    return X_tr, X_te, y_tr, y_te


def dataset_locations(data_home=None):
    """Lines saying where each data set is found (``quboclf info``)."""
    from ..datasets import _base

    home = _base.resolve_data_home(data_home)
    lines = [
        f"data home: {home}" + ("" if os.path.isdir(home) else " (does not exist yet)"),
        "system locations: " + ", ".join(_base.SYSTEM_DIRS),
    ]
    for name, (fetcher, folder, _) in _SOURCES.items():
        if fetcher is None:
            lines.append(f"{name}: embedded in scikit-learn")
            continue
        found = [
            os.path.join(d, folder)
            for d in (home, *_base.SYSTEM_DIRS)
            if os.path.isdir(os.path.join(d, folder)) and os.listdir(os.path.join(d, folder))
        ]
        lines.append(
            f"{name}: "
            + (f"files in {', '.join(found)}" if found else "not found (downloaded on first use)")
        )
    return lines
