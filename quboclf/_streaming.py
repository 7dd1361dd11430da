"""Training features of :class:`~quboclf.QUBOCNNClassifier`, computed and read a chunk at a time.

Every pass over the training data (features, gradients, losses, scores) goes through
:func:`batches`, so memory beyond the stored features is ``O(batch_size * n_features)`` whatever
``n_samples``; :func:`feature_store` keeps the features in memory or in a temporary file on disk
(:class:`~quboclf._store.DiskRows`), which is how data larger than memory are fitted.
"""

import numpy as np

from ._store import DiskRows, check_feature_chunk

__all__ = ["AUTO_DISK_BYTES", "batches", "feature_store"]

#: ``feature_cache="auto"`` keeps the features of a memory-mapped ``X`` on disk above this size.
AUTO_DISK_BYTES = 2**30


def batches(n, batch_size):
    """Slices of ``range(n)`` of at most ``batch_size`` rows (one slice for ``None``).

    Examples
    --------
    >>> from quboclf._streaming import batches
    >>> list(batches(5, 2))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    step = n if batch_size is None else int(batch_size)
    for start in range(0, n, max(step, 1)):
        yield slice(start, min(n, start + step))


def feature_store(features, X, y, batch_size, *, on_disk, folder):
    """Fit ``features`` and return the training features, computed a chunk at a time.

    Returns ``X`` itself for ``features=None`` (passthrough: the passes read ``X``'s chunks);
    otherwise an ``(n, d)`` float32 array, or a :class:`~quboclf._store.DiskRows`
    (``on_disk``) that the caller closes. :class:`~quboclf.RandomConvFeatures` is fitted in the
    same pass that computes the features (``_partial_fit_raw``), then standardised in place; any
    other transformer is fitted on all of ``X`` and transforms it chunk by chunk.
    """
    if features is None:
        return X
    n = X.shape[0]
    streamed = hasattr(features, "_partial_fit_raw")
    if streamed:
        features._validate_params()  # what its own fit would check first
    else:
        features.fit(X, y)
    store = None
    try:
        for sl in batches(n, batch_size):
            Zb = features._partial_fit_raw(X[sl]) if streamed else features.transform(X[sl])
            Zb = check_feature_chunk(features, Zb, sl.stop - sl.start)
            # float32 whatever the extractor computes in: every pass is memory-bound, and a
            # linear head needs no more precision than that
            dtype = np.float32
            if store is None:
                shape = (n, Zb.shape[1])
                store = DiskRows(shape, dtype, folder) if on_disk else np.empty(shape, dtype)
            store[sl] = Zb
        if streamed and features.standardize:
            # the statistics are complete only now: standardise what was written
            for sl in batches(n, batch_size):
                store[sl] = features._standardize(store[sl])
    except BaseException:
        if isinstance(store, DiskRows):
            store.close()
        raise
    return store
