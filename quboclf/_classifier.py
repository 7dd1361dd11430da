"""QUBOCNNClassifier: a linear softmax head with K-bit weights trained by solving QUBOs.

The optimiser lives in :mod:`quboclf._head` (array-in/array-out functions) and the feature
streaming in :mod:`quboclf._streaming`; this module holds the estimator's API logic: validation,
the sampler and its schedule, records, warnings. See the user guide, :ref:`classifier`.
"""

import os
import time
import warnings
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from scipy.special import log_expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_feature_names_in, _check_sample_weight, check_is_fitted

from . import _head, _qubo, _streaming
from ._qubo import ExportedQUBO
from ._samplers import make_solver, seeds_from
from ._store import DiskRows, rows
from ._validation import one_blas_thread, unchanged_on_failure, validate_numeric

__all__ = ["QUBOCNNClassifier"]

#: Defaults the classifier gives ``sampler="sa"`` (keys in ``sampler_params`` override them).
#: Each problem is warm-started next to its optimum, so one short, cold read suffices; the
#: schedule ``beta_range`` is set per problem by :func:`_refine_beta_range`.
SA_DEFAULTS = {"num_reads": 1, "num_sweeps": 10}
_SAMPLER_DEFAULTS = {"sa": SA_DEFAULTS}

#: Default bits of the biases (``bias_bits=None``): see the user guide for the measurement.
DEFAULT_BIAS_BITS = 16

def _refine_beta_range(H, delta):
    """Cold schedule for warm-started annealing: it explores a few grid steps around the start.

    With ``c_j = ½ Δ_j² H_jj`` the cost of moving weight ``j`` one grid step out of a
    coordinate-wise minimum, the hot end accepts such a step with probability ½ for a typical
    weight (``ln 2 / median c``) and the cold end with at most 1 % (``ln 100 / min c``).
    """
    c = 0.5 * delta**2 * np.diagonal(H)
    c = c[c > 0]
    if c.size == 0:
        return (1.0, 1.0)
    hot = float(np.log(2.0) / np.median(c))
    cold = float(np.log(100.0) / np.min(c))
    return (hot, max(hot, cold))


def _sa_schedule(problem):
    """:func:`_refine_beta_range` of a problem: the classifier's ``sampler="sa"`` schedule."""
    return _refine_beta_range(problem.H, problem.delta)


class QUBOCNNClassifier(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Random convolution features and a softmax head whose K-bit weights are trained by QUBOs.

    Every coefficient of the linear head is ``s q`` with ``q`` an odd integer in
    ``{−(2**K − 1), …, −1, 1, …, 2**K − 1}`` (the *mid-rise* grid: all ``2**K`` codes of ``K =
    n_bits`` bits, symmetric, ``{−s, +s}`` at one bit) and ``s`` a float scale, one per class row
    by default; the biases share one scale and have ``bias_bits`` bits. Training has three steps
    (see the :ref:`user guide <classifier>`):

    1. a converged continuous fit of the same objective (L-BFGS, ``start_max_iter``/``start_tol``);
    2. the scales that minimise the training objective of its rounded weights: the start, i.e.
       the best rounding of the continuous fit;
    3. QUBO steps: each class's local quadratic model (its Gauss–Newton curvature block from a row
       subsample, a trust factor, the true gradient) is minimised over the grid as one QUBO with
       ``n_features * n_bits`` binary variables (``(n_features + 1) * n_bits`` when
       ``bias_bits == n_bits``, the paper's count), solved by ``sampler``; a step is kept only
       if the true training objective drops, so ``loss_curve_`` never increases and the head is
       never worse than the rounding it starts from. With ``weight_range="auto"`` the scales
       (and biases) are refitted to the current codes on the start and whenever the steps
       converge, kept only if the objective drops, and the steps continue on the new grid.

    Parameters
    ----------
    features : None, "passthrough" or transformer, default=None
        Feature extractor fitted on ``X`` first. ``None`` is a default
        :class:`~quboclf.RandomConvFeatures` seeded from ``random_state``; a transformer is
        cloned in ``fit``; ``"passthrough"`` trains the head on ``X`` as given (put any feature
        extractor before the classifier in a :class:`~sklearn.pipeline.Pipeline`).
    n_bits : int, default=10
        Bits per coefficient (``K``): at most ``2**K`` distinct values per scale.
    granularity : {"class", "tensor", "feature"}, default="class"
        Which coefficients share a scale: each class row (``n_outputs`` scales, quantization's
        "per-channel"), the whole matrix (one scale) or each input feature (``n_features``
        scales, shared by the classes).
    bias_bits : int, default=None
        Bits per bias (one scale for all biases). ``None`` is 16. ``bias_bits=n_bits`` puts the
        biases into the QUBOs (``(n_features + 1) * n_bits`` variables, the paper's setting);
        otherwise each QUBO step minimises the model over the bias in closed form and rounds it.
    weight_range : "auto", float or array-like of shape (n_features + 1,), default="auto"
        Largest magnitude of the grid, ``(2**K − 1) s``. ``"auto"`` chooses the scales by the
        training objective of the rounded continuous fit. A float fixes it for every coefficient
        and for the biases; an array gives one value per feature plus the bias last (only with
        ``granularity="feature"``).
    alpha : float, default=1e-4
        L2 penalty ``alpha/2 ‖coef‖²`` added to the mean cross-entropy (the bias is not
        penalised), the scale of ``SGDClassifier(alpha=...)``; ``LogisticRegression(C=...)``
        corresponds to ``alpha = 1 / (C n_samples)``.
    max_iter : int, default=100
        QUBO sweeps (each solves one QUBO per class that can still move).
    tol : float, default=1e-3
        Stop when a sweep that moves every class, or the last 5 sweeps, lower the training
        objective by less than ``tol`` times its value per sweep.
    init : {"auto", "zeros"}, default="auto"
        Where the QUBO steps start. ``"auto"``: the best rounding of the continuous fit.
        ``"zeros"``: zero weights (the paper's setting: every step of training is a QUBO
        solve; the continuous fit still chooses the scales).
    curvature : {"gauss-newton", "bohning"}, default="gauss-newton"
        Each class's local model: its Gauss–Newton block ``Aᵀ diag(p_c(1 − p_c)) A / m +
        alpha`` at the current weights, or Böhning's bound ``½ AᵀA/m + alpha`` (a looser,
        weight-independent curvature), from ``m ≤ 2048`` sampled rows.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in
        :class:`~sklearn.linear_model.LogisticRegression`: ``{label: weight}``, or
        ``"balanced"`` (``n_samples / (n_classes * np.bincount(y))``, weighted by
        ``sample_weight`` when given); they multiply ``sample_weight``.
    warm_start : bool, default=False
        If True and the classifier is fitted, ``fit`` resumes the QUBO steps from the previous
        ``coef_``/``intercept_`` on the previous grid (the fitted feature extractor is kept and
        neither the continuous fit nor the scale search or refit runs), with the trust factors the
        last fit ended with: ``loss_curve_`` then continues the previous curve (on the same
        data, its first value is the last one of the previous fit, up to the float32 rounding
        of the features when an extractor recomputes them). The classes and the number of
        features must be the same.
    start_max_iter : int, default=300
        Most L-BFGS iterations of the continuous fit. It runs preconditioned (in coordinates
        whitened by each class's Gauss–Newton block from a row subsample), and stops earlier
        at ``start_tol`` or once ten iterations gain less than ``0.1 % * start_tol / 1e-6`` of
        the expected loss of rounding to the ``n_bits`` grid (on coarse grids a few dozen
        iterations suffice).
    start_tol : float, default=1e-6
        Gradient tolerance of the continuous fit (as ``LogisticRegression(tol=...)``); it also
        scales the share of the rounding loss below which it stops (see ``start_max_iter``).
    sampler : str or dimod.Sampler, default="sa"
        What solves the QUBOs: ``"sa"`` (structured simulated annealing with carry moves),
        ``"sa-dimod"``, ``"tabu"``, ``"exact"``, ``"qpu"``, ``"hybrid"`` or a
        ``dimod.Sampler`` instance. See :ref:`samplers`.
    sampler_params : dict, default=None
        Keyword arguments of the sampler (checked in ``fit``). For ``"sa"`` the classifier's
        defaults are ``num_reads=1, num_sweeps=10`` and a cold ``beta_range`` derived from each
        problem's grid and curvature (one grid step uphill accepted with probability ½ at the
        hot end); given keys override them.
    batch_size : int or None, default=8192
        Rows per chunk of every pass over the data: the features, gradients, losses, and the
        scores of :meth:`predict`. Memory beyond the stored features stays
        ``O(batch_size * n_features + n_outputs * n_features²)`` whatever ``n_samples``;
        ``None`` is one chunk. The extractor's features are stored in float32, and in-memory
        float64 ``"passthrough"`` data of up to 1 GiB are copied to float32 (the passes are
        memory-bound: this halves them).
    feature_cache : {"auto", "memory", "disk"}, default="auto"
        Where ``fit`` keeps the training features, which every pass reads. ``"memory"``: an
        array of ``n_samples × n_features_out``. ``"disk"``: an anonymous temporary file in
        ``temp_folder``, read a chunk at a time and deleted when ``fit`` returns (or fails), so
        peak memory is bounded by ``batch_size`` and does not grow with ``n_samples``: fit a
        :class:`numpy.memmap` larger than memory this way. ``"auto"``: ``"disk"`` when ``X`` is
        a :class:`numpy.memmap` of more than 1 GiB, else ``"memory"``. Ignored for
        ``"passthrough"``, whose passes read ``X``'s own chunks.
    temp_folder : str, path-like or None, default=None
        Folder of the ``"disk"`` feature cache; ``None`` is the system's temporary folder
        (:func:`tempfile.gettempdir`, set by ``TMPDIR``). ``fit`` checks the room first.
    n_jobs : int, default=None
        Classes solved in parallel (joblib threads; the numba kernels release the GIL).
        An ambient ``joblib.parallel_backend`` (e.g. ``"dask"``) takes over the solves;
        leave ``None`` there to use all its workers. Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the default features, the row subsamples and every solve.
    verbose : int, default=0
        If positive, show a progress bar over the sweeps (tqdm).

    Attributes
    ----------
    features_ : transformer or None
        The fitted feature extractor (None for ``"passthrough"``).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights on the grid: ``coef_scale_ * q``. Binary problems have one logistic output, as
        :class:`~sklearn.linear_model.LogisticRegression`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Biases on the grid: ``intercept_scale_ * q``.
    coef_scale_ : ndarray of shape (n_outputs,), (1,) or (n_features,)
        The coefficient scales (per ``granularity``); with ``intercept_scale_`` these are the
        floats a deployed head stores besides its ``n_bits``-bit codes.
    intercept_scale_ : float
        The scale of the biases.
    coef_levels_ : ndarray of shape (n_outputs, n_features), dtype int64
        The K-bit code of every coefficient, in ``[0, 2**n_bits)``: ``coef_ = coef_scale_ *
        (2 * coef_levels_ − (2**n_bits − 1))``.
    weight_range_ : ndarray of shape (n_features + 1,)
        Largest magnitude of each feature's grid (over classes), then the biases'.
    loss_curve_ : ndarray of shape (n_iter + 1,)
        Training objective of the start and after every sweep (non-increasing).
    n_iter_ : int
        QUBO sweeps run.
    solver_info_ : dict
        ``status``: ``"converged"``, ``"stuck"`` (no class's QUBO step lowers the objective: a
        local minimum of the moves) or ``"max_iter"``; ``start_loss`` and ``rounded_loss``
        (objective of the continuous fit and of its best rounding), ``start_n_iter``;
        ``zero_loss`` (objective of zero weights, for ``init="zeros"``, whose curve starts after
        the first QUBO step); per sweep ``moved`` and ``trust`` (n_iter, n_outputs); per solve
        ``energy``, ``time_s``, ``qpu_access_time`` (µs, NaN off the QPU), ``n_solves``
        (n_iter, n_outputs); ``n_blocks`` and ``n_refits`` (curvature block sets built, scale
        refits kept); ``sampler``; and ``timing``, wall seconds of ``features``,
        ``start`` (continuous fit), ``scales``, ``curvature``, ``solves``, ``passes``,
        ``other`` and ``total``.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    quboclf.RandomConvFeatures : The default feature extractor.
    quboclf.QUBOQuantizer : Rounds an already trained network to few bits.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from quboclf import QUBOCNNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = QUBOCNNClassifier(features="passthrough", n_bits=2, random_state=0).fit(X, y)
    >>> clf.coef_.shape, bool(clf.score(X, y) > 0.9)
    ((3, 4), True)
    >>> [len(set(row)) <= 4 for row in clf.coef_]
    [True, True, True]
    >>> bool((clf.loss_curve_[1:] <= clf.loss_curve_[:-1]).all())
    True
    """

    _parameter_constraints = {
        "features": [None, StrOptions({"passthrough"}), HasMethods(["fit", "transform"])],
        "n_bits": [Interval(Integral, 1, _qubo.MAX_BITS, closed="both")],
        "granularity": [StrOptions({"class", "tensor", "feature"})],
        "bias_bits": [Interval(Integral, 1, _qubo.MAX_BITS, closed="both"), None],
        "weight_range": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
            "array-like",
        ],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"auto", "zeros"})],
        "curvature": [StrOptions({"gauss-newton", "bohning"})],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "start_max_iter": [Interval(Integral, 1, None, closed="left")],
        "start_tol": [Interval(Real, 0, None, closed="left")],
        "sampler": [str, HasMethods(["sample"])],
        "sampler_params": [dict, None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "feature_cache": [StrOptions({"auto", "memory", "disk"})],
        "temp_folder": [str, os.PathLike, None],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        features=None,
        n_bits=10,
        granularity="class",
        bias_bits=None,
        weight_range="auto",
        alpha=1e-4,
        max_iter=100,
        tol=1e-3,
        init="auto",
        curvature="gauss-newton",
        class_weight=None,
        warm_start=False,
        start_max_iter=300,
        start_tol=1e-6,
        sampler="sa",
        sampler_params=None,
        batch_size=8192,
        feature_cache="auto",
        temp_folder=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.features = features
        self.n_bits = n_bits
        self.granularity = granularity
        self.bias_bits = bias_bits
        self.weight_range = weight_range
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.curvature = curvature
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.start_max_iter = start_max_iter
        self.start_tol = start_tol
        self.sampler = sampler
        self.sampler_params = sampler_params
        self.batch_size = batch_size
        self.feature_cache = feature_cache
        self.temp_folder = temp_folder
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------- features
    def _make_features(self, rng):
        if self.features == "passthrough":
            return None
        if self.features is None:
            from ._features import RandomConvFeatures

            return RandomConvFeatures(random_state=int(rng.randint(2**31)))
        return clone(self.features)

    def _features_of(self, X):
        if self.features_ is None:
            return rows(X, slice(None))
        Z = np.asarray(self.features_.transform(X))
        return Z if Z.dtype in (np.float32, np.float64) else Z.astype(np.float64)

    def _validate_X(self, X, y="no_validation", *, reset):
        """Validate ``X`` (2-D for passthrough; rows or image stacks for feature extractors)."""
        if self.features == "passthrough":
            # any numeric dtype: the passes convert a chunk at a time, so a uint8 memmap
            # larger than memory is never converted as a whole
            kwargs = {"dtype": "numeric"}
        else:
            # images may come as (n, H, W[, C]); the extractor checks their shape
            kwargs = {"ensure_2d": False, "allow_nd": True, "dtype": None}
        out = validate_numeric(self, X, y, reset=reset, **kwargs)
        X = out[0] if isinstance(out, tuple) else out
        if self.features != "passthrough":
            if X.ndim < 2:
                raise ValueError(
                    f"Expected a 2D array of rows (or an image stack), got a {X.ndim}D array. "
                    "Reshape your data with array.reshape(-1, 1) if it has a single feature "
                    "or array.reshape(1, -1) if it contains a single sample."
                )
            n_features = int(np.prod(X.shape[1:]))
            if reset:
                self.n_features_in_ = n_features
            elif n_features != self.n_features_in_:
                raise ValueError(
                    f"X has {n_features} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input."
                )
        return out

    def _make_solver(self):
        return make_solver(
            self.sampler, self.sampler_params, defaults=_SAMPLER_DEFAULTS, schedule=_sa_schedule
        )

    def _bias_bits(self):
        return DEFAULT_BIAS_BITS if self.bias_bits is None else int(self.bias_bits)

    def _given_grid(self, d, k):
        """The :class:`~quboclf._head.HeadGrid` of a given ``weight_range``."""
        R = np.asarray(self.weight_range, dtype=np.float64)
        if R.ndim == 0:
            R = np.full(d + 1, float(R))
        if R.shape != (d + 1,):
            raise ValueError(
                f"weight_range must be 'auto', a positive float or an array of shape "
                f"(n_features + 1,) = ({d + 1},) (features, then the bias), got shape {R.shape}"
            )
        if not np.all(np.isfinite(R)) or np.any(R <= 0):
            raise ValueError("every weight_range value must be positive and finite")
        if self.granularity != "feature" and np.any(R[:-1] != R[0]):
            raise ValueError(
                "an array weight_range gives one range per feature: set "
                "granularity='feature', or pass one float"
            )
        _, qmax, _ = _head.grid_integers(self.n_bits)
        _, bmax, _ = _head.grid_integers(self._bias_bits())
        scale = np.broadcast_to((R[:-1] / qmax)[:, None], (d, k)).copy()
        return _head.HeadGrid(self.n_bits, self._bias_bits(), "midrise", scale, R[-1] / bmax)

    # ---------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Fit the features, then train the K-bit head: continuous fit, best rounding, QUBOs.

        A fit that raises (bad data, a sampler that fails) leaves the classifier exactly as it
        was before the call: still unfitted, or with its previous model. With
        ``warm_start=True`` a fitted classifier resumes its QUBO steps instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Training data (whatever the feature extractor accepts; a 2-D array for
            ``"passthrough"``).
        y : array-like of shape (n_samples,)
            Class labels (any hashable values; at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each sample in the loss: the objective becomes ``Σ s_i CE_i / Σ s_i +
            alpha/2 ‖coef‖²`` (a weight of 2 counts a sample twice), in the continuous fit, the
            scale search, the gradients and the curvature blocks alike (the unsupervised
            feature extractor is fitted unweighted). Multiplied by the weights of
            ``class_weight``.

        Returns
        -------
        self : QUBOCNNClassifier
            The fitted classifier.
        """
        with unchanged_on_failure(self):
            return self._fit(X, y, sample_weight)

    def _warm(self):
        return bool(self.warm_start) and hasattr(self, "coef_")

    def _sample_weight(self, X, y_idx, classes, sample_weight):
        """The loss's row weights (sample and class weights), or None for unweighted."""
        if sample_weight is None and self.class_weight is None:
            return None
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if isinstance(self.class_weight, str):  # "balanced", on the weighted class counts
            # by hand: compute_class_weight takes sample_weight from scikit-learn 1.7 on only
            counts = np.bincount(y_idx, weights=sw, minlength=classes.shape[0])
            with np.errstate(divide="ignore"):
                cw = np.where(counts > 0, counts.sum() / (classes.shape[0] * counts), 0.0)
            sw = sw * cw[y_idx]
        elif self.class_weight is not None:
            cw = compute_class_weight(self.class_weight, classes=classes, y=classes[y_idx])
            sw = sw * cw[y_idx]
        if not np.sum(sw) > 0:
            raise ValueError(
                "the sample weights (times the class weights) sum to zero: give some samples a "
                "positive weight"
            )
        return sw

    def _fit(self, X, y, sample_weight=None):
        t_start = time.perf_counter()
        timing = dict.fromkeys(
            (
                "features",
                "start",
                "scales",
                "curvature",
                "solves",
                "passes",
                "other",
                "total",
            ),
            0.0,
        )
        solver = self._make_solver()  # the fit's one validation of sampler/sampler_params
        rng = check_random_state(self.random_state)
        on_disk = self._features_on_disk(X)
        X, y = self._validate_X(X, y, reset=True)
        check_classification_targets(y)
        encoder = LabelEncoder()
        y_idx = encoder.fit_transform(y)
        classes = encoder.classes_
        if classes.shape[0] < 2:
            raise ValueError(
                f"QUBOCNNClassifier needs samples of at least 2 classes in the data, but the "
                f"data contain only one class: {classes[0]!r}"
            )
        warm = self._warm()
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True resumes a fit with classes {self.classes_.tolist()!r}, but y "
                f"has classes {classes.tolist()!r}; fit with warm_start=False to start afresh"
            )
        sw = self._sample_weight(X, y_idx, classes, sample_weight)
        tic = time.perf_counter()
        if warm:
            # the fitted extractor is kept: the head resumes on the same features
            features = self.features_
            Z = X if features is None else self._stored_features(X)
        else:
            features = self._make_features(rng)
            Z = _streaming.feature_store(
                features,
                X,
                y,
                self.batch_size,
                on_disk=on_disk and features is not None,
                folder=self.temp_folder,
            )
        Z = self._pass_features(Z)
        timing["features"] = time.perf_counter() - tic
        try:
            return self._fit_head(
                Z, y_idx, classes, features, rng, solver, timing, t_start, sw, warm
            )
        finally:
            if isinstance(Z, DiskRows):
                Z.close()

    @staticmethod
    def _pass_features(Z):
        """The array every pass reads: in-memory float64 of up to 1 GiB becomes float32."""
        if (
            type(Z) is np.ndarray
            and Z.dtype == np.float64
            and Z.nbytes <= _streaming.AUTO_DISK_BYTES
        ):
            # every pass is memory-bound: float32 features halve the time of the fit (the
            # objective then carries float32 rounding, about 1e-7 relative)
            Z = Z.astype(np.float32)
        return Z

    def _stored_features(self, X):
        """The fitted extractor's float32 features of ``X``, a chunk at a time."""
        Z = None
        for sl in _streaming.batches(X.shape[0], self.batch_size):
            Zb = self._features_of(X[sl])
            if Z is None:
                Z = np.empty((X.shape[0], Zb.shape[1]), dtype=np.float32)
            Z[sl] = Zb
        return Z

    def _features_on_disk(self, X):
        """``feature_cache`` resolved for this ``X`` (before validation, which drops memmaps)."""
        if self.feature_cache == "auto":
            return isinstance(X, np.memmap) and X.nbytes > _streaming.AUTO_DISK_BYTES
        return self.feature_cache == "disk"

    def _solve_many(self, solver, seeds, records, parallel, progress):
        """``solve(problems, initials, it)`` for :func:`quboclf._head.grid_descent`."""

        def solve_one(problem, initial, seed):
            return solver.solve(problem, initial=initial, seed=int(seed))

        def solve(problems, initials, it, classes):
            results = parallel(
                delayed(solve_one)(p, m, seeds[it, c])
                for c, p, m in zip(classes, problems, initials)
            )
            for c, r in zip(classes, results):
                records["energy"][it, c] = r.energy
                records["time_s"][it, c] = float(r.info.get("time_s", np.nan))
                qpu = r.info.get("qpu_access_time")
                if qpu is not None:
                    records["qpu_access_time"][it, c] = float(qpu)
                records["n_solves"][it, c] = 1
            if progress is not None:
                progress.update(1)
            return [r.levels for r in results]

        return solve

    def _subsample(self, n, rng):
        """Rows the scales are searched on and the curvature blocks built from (all if few)."""
        m = min(n, _head.SUBSAMPLE_ROWS)
        return np.arange(n) if m == n else np.sort(rng.choice(n, m, replace=False))

    def _fitted_W(self):
        """The fitted head as one (d + 1, k) matrix, biases last."""
        return np.vstack([self.coef_.T, self.intercept_[None, :]])

    def _fitted_grid(self):
        """The :class:`~quboclf._head.HeadGrid` of the fitted head."""
        k, d = self.coef_.shape
        if self.granularity == "feature":
            scale = np.broadcast_to(self.coef_scale_[:, None], (d, k))
        else:
            scale = np.broadcast_to(self.coef_scale_[None, :], (d, k))
        return _head.HeadGrid(
            self.n_bits, self._bias_bits(), "midrise", scale.copy(), self.intercept_scale_
        )

    def _scale_refit(self):
        """How the QUBO steps may refit the scales: only scales chosen by the loss move."""
        if not isinstance(self.weight_range, str):
            return None
        return "class" if self.granularity == "class" else "shared"

    def _start(self, Z, y_fit, k, reg, Z_sub, y_sub, sw, sw_sub, timing):
        """Continuous fit, scales and its best rounding: ``W_cont, n_iter, loss, grid, W_round``."""
        d = Z.shape[1]
        batch = self.batch_size
        tic = time.perf_counter()
        W_cont, start_iter, _ = _head.fit_continuous(
            Z,
            y_fit,
            k,
            reg,
            max_iter=self.start_max_iter,
            tol=self.start_tol,
            batch_size=batch,
            sample_weight=sw,
            Z_pre=Z_sub,
            pre_weight=sw_sub,
            n_bits=self.n_bits,
            # the share of the rounding loss scales with start_tol (0.1 % at its default): a
            # smaller start_tol asks for a more precise start on every grid
            gain_share=_head._GAIN_SHARE * self.start_tol / 1e-6,
        )
        timing["start"] = time.perf_counter() - tic
        start_loss, G_full = _head.loss_grad(Z, y_fit, W_cont, reg, batch, sample_weight=sw)
        tic = time.perf_counter()
        if isinstance(self.weight_range, str):
            m = _head.SCALE_ROWS
            Z_s, y_s = Z_sub[:m], y_sub[:m]
            sw_s = None if sw_sub is None else sw_sub[:m]
            # the subsample's gradient at the fit is sampling noise (the full one is ~0): the
            # scales are scored with the full gradient in its place (a control variate)
            _, G_s = _head.loss_grad(Z_s, y_s, W_cont, reg, batch, sample_weight=sw_s)
            grid = _head.choose_scales(
                Z_s,
                y_s,
                W_cont,
                float(self.alpha),
                n_bits=self.n_bits,
                bias_bits=self._bias_bits(),
                granularity=self.granularity,
                grid="midrise",
                sample_weight=sw_s,
                grad_correction=G_full - G_s,
            )
        else:
            grid = self._given_grid(d, k)
        W_round = grid.round(W_cont)
        timing["scales"] = time.perf_counter() - tic
        return W_cont, start_iter, start_loss, grid, W_round

    def _fit_head(self, Z, y_idx, classes, features, rng, solver, timing, t_start, sw, warm):
        n, d = Z.shape
        n_classes = classes.shape[0]
        k = 1 if n_classes == 2 else n_classes
        reg = np.full(d + 1, float(self.alpha))
        reg[-1] = 0.0
        y_fit = y_idx.astype(np.int64, copy=False)
        batch = self.batch_size
        sub = self._subsample(n, rng)
        Z_sub = np.empty((sub.shape[0], d), dtype=np.float32)
        for sl in _streaming.batches(sub.shape[0], 1024):  # no float64 copy of the subsample
            Z_sub[sl] = rows(Z, sub[sl])
        y_sub = y_fit[sub]
        sw_sub = None if sw is None else sw[sub]
        trust = None
        if warm:
            if d != self.coef_.shape[1]:
                raise ValueError(
                    f"warm_start=True resumes a head of {self.coef_.shape[1]} features, but "
                    f"the data give {d}; fit with warm_start=False to start afresh"
                )
            previous = self.solver_info_
            grid = self._fitted_grid()
            W_round = W0 = self._fitted_W()
            start_iter, start_loss = previous["start_n_iter"], previous["start_loss"]
            if len(previous["trust"]):
                trust = previous["trust"][-1]
        else:
            W_cont, start_iter, start_loss, grid, W_round = self._start(
                Z, y_fit, k, reg, Z_sub, y_sub, sw, sw_sub, timing
            )
            W0 = W_round if self.init == "auto" else np.zeros_like(W_round)
        # the QUBO steps need only the scales' rows: the preconditioner's go before they start
        m = _head.SCALE_ROWS
        Z_sub = Z_sub[:m].copy() if Z_sub.shape[0] > m else Z_sub
        y_sub = y_sub[:m]
        sw_sub = None if sw_sub is None else sw_sub[:m]

        rounds = self.max_iter + len(_head._FIRST_TRUST)  # sweeps, and first steps from zero
        seeds = seeds_from(rng, rounds * k).reshape(rounds, k)
        records = {
            "energy": np.full((rounds, k), np.nan),
            "time_s": np.full((rounds, k), np.nan),
            "qpu_access_time": np.full((rounds, k), np.nan),
            "n_solves": np.zeros((rounds, k), dtype=np.int64),
        }
        progress = None
        if self.verbose:
            from tqdm.auto import tqdm

            progress = tqdm(total=self.max_iter, desc="QUBOCNNClassifier", unit="sweep")
        n_jobs = self.n_jobs if k > 1 else 1
        try:
            # threads by default (the numba kernels release the GIL), but an ambient
            # ``joblib.parallel_backend`` (e.g. "dask") takes over: the tasks pickle
            with Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
                solve = self._solve_many(solver, seeds, records, parallel, progress)
                W, curve, n_iter, status, info = _head.grid_descent(
                    Z,
                    y_fit,
                    W0,
                    reg,
                    grid,
                    solve,
                    Z_curv=Z_sub[: _head.CURVATURE_ROWS],
                    max_iter=self.max_iter,
                    tol=self.tol,
                    batch_size=batch,
                    curvature=self.curvature,
                    sample_weight=sw,
                    curv_weight=None if sw_sub is None else sw_sub[: _head.CURVATURE_ROWS],
                    trust=trust,
                    y_curv=y_sub[: _head.CURVATURE_ROWS],
                    # a resumed fit keeps its grid (and continues its curve where it stopped)
                    scale_refit=None if warm else self._scale_refit(),
                )
            grid = info["grid"]
            if progress is not None:
                # the loop may stop before max_iter: end the bar at what was done
                progress.total = progress.n
                progress.refresh()
        finally:
            if progress is not None:
                progress.close()
            close = getattr(solver, "close", None)
            if close is not None:
                close()

        if status == "max_iter":
            warnings.warn(
                f"QUBOCNNClassifier did not converge in max_iter={self.max_iter} sweeps (the "
                f"last sweeps still lowered the objective by more than tol={self.tol}); "
                "increase max_iter, or set warm_start=True and call fit again to continue "
                "from here.",
                ConvergenceWarning,
                stacklevel=3,
            )
        coef = W[:-1]
        # (no weight is ever zero on the mid-rise grid; a degenerate head shows as one class)
        S = Z_sub @ coef.astype(Z_sub.dtype) + W[-1]
        predicted = (S[:, 0] > 0).astype(int) if k == 1 else np.argmax(S, axis=1)
        if np.unique(predicted).size == 1 and np.unique(y_sub).size > 1:
            warnings.warn(
                "QUBOCNNClassifier predicts a single class on the training data; the head is "
                "degenerate (try more n_bits, a smaller alpha or another weight_range).",
                UserWarning,
                stacklevel=3,
            )
        levels = grid.levels(W)
        qmin, qmax, _ = _head.grid_integers(self.n_bits)
        _, bmax, _ = _head.grid_integers(grid.bias_bits)
        self.features_ = features
        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(coef.T)
        self.intercept_ = W[-1].copy()
        if self.granularity == "class":
            self.coef_scale_ = grid.coef_scale[0].copy()
        elif self.granularity == "tensor":
            self.coef_scale_ = grid.coef_scale[0, :1].copy()
        else:
            self.coef_scale_ = grid.coef_scale[:, 0].copy()
        self.intercept_scale_ = float(grid.bias_scale)
        self.coef_levels_ = np.ascontiguousarray(levels[:-1].T)
        self.weight_range_ = np.append(
            qmax * np.max(grid.coef_scale, axis=1), bmax * grid.bias_scale
        )
        self.loss_curve_ = curve
        self.n_iter_ = n_iter
        # refitting the scales during the QUBO steps (refit_scales) counts with the scales
        timing["scales"] = timing.get("scales", 0.0) + info["refit_s"]
        timing["curvature"] = info["curvature_s"]
        timing["solves"] = info["solve_s"]
        timing["passes"] = info["passes_s"]
        timing["total"] = time.perf_counter() - t_start
        timing["other"] = timing["total"] - sum(
            timing[key]
            for key in ("features", "start", "scales", "curvature", "solves", "passes")
        )
        self.solver_info_ = {
            "sampler": solver.name if hasattr(solver, "name") else str(self.sampler),
            "status": status,
            "start_loss": float(start_loss),
            "start_n_iter": start_iter,
            "rounded_loss": float(info["start_loss"]) if self.init == "auto" or warm else float(
                _head.loss_grad(Z, y_fit, W_round, reg, batch, grad=False, sample_weight=sw)[0]
            ),
            **{
                key: value[info["n_first"] : info["n_first"] + n_iter]
                for key, value in records.items()
            },
            "zero_loss": info.get("zero_loss"),
            "moved": info["moved"],
            "trust": info["lam"],
            "n_blocks": info["n_blocks"],
            "n_refits": info["n_refits"],
            "timing": timing,
        }
        return self

    # ---------------------------------------------------------------- QUBO export
    def get_qubos(self, X, y, sample_weight=None):
        """The per-class QUBOs of the next training step at the fitted weights, as dimod models.

        These are exactly the problems the next sweep of a resumed fit (``warm_start=True``,
        ``fit(X, y, sample_weight)``) hands to the sampler: each class's local quadratic model
        of the training objective (its curvature block at the fitted weights from the same row
        subsample, times the trust factor the fit ended with, and the true gradient on ``X``)
        over the weight grid. Take them out to try another solver: a solution's levels give the
        class's candidate weights (:meth:`ExportedQUBO.weights`).

        The variables are named after the weights: ``"w[j,k]"`` is bit ``k`` (least
        significant first) of the level of feature ``j`` of the class's row, ``j = "bias"``
        for the bias (which is in the QUBO only when ``bias_bits == n_bits``; otherwise the
        step eliminates it in closed form). :attr:`ExportedQUBO.qm` has the integer levels
        ``"w[j]"`` in ``[0, 2**n_bits − 1]`` instead. dimod's energy of a sample equals
        :meth:`ExportedQUBO.objective`, the problem's ``f(w) = h·w + ½ wᵀHw`` of the decoded
        weights; ``f(w) − f(w_fitted)`` is the model's predicted change of the training
        objective. :attr:`ExportedQUBO.initial` is the classifier's own warm start: the better,
        in the model, of the fitted levels and the rounded continuous minimiser of the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Training data (the fitted extractor computes the features; it is not refitted).
        y : array-like of shape (n_samples,)
            Labels, from ``classes_``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, as in :meth:`fit` (``class_weight`` applies too).

        Returns
        -------
        qubos : dict
            ``{class label: ExportedQUBO}``, one per output: every class, or
            ``classes_[1]`` only for binary problems (one logistic output).

        Examples
        --------
        >>> import dimod
        >>> from sklearn.datasets import load_iris
        >>> from quboclf import QUBOCNNClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = QUBOCNNClassifier(features="passthrough", n_bits=2, random_state=0).fit(X, y)
        >>> qubos = clf.get_qubos(X, y)
        >>> qubo = qubos[0]
        >>> qubo
        <ExportedQUBO: 4 variables of 2 bits (8 binary)>
        >>> sorted(qubo.bqm.variables)[:3]
        ['w[0,0]', 'w[0,1]', 'w[1,0]']
        >>> best = dimod.ExactSolver().sample(qubo.bqm).first
        >>> bool(abs(best.energy - qubo.objective(best.sample)) < 1e-9)
        True
        >>> qubo.weights(best.sample).shape
        (4,)
        """
        check_is_fitted(self)
        X, y = self._validate_X(X, y, reset=False)
        check_classification_targets(y)
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y has labels the classifier was not fitted on: {unknown.tolist()!r} "
                f"(classes_ = {self.classes_.tolist()!r})"
            )
        y_idx = np.searchsorted(self.classes_, y).astype(np.int64)
        sw = self._sample_weight(X, y_idx, self.classes_, sample_weight)
        with one_blas_thread():
            Z = self._pass_features(X if self.features_ is None else self._stored_features(X))
            n, d = Z.shape
            # the draw a resumed fit makes first: the same rows
            sub = self._subsample(n, check_random_state(self.random_state))
            Z_curv = np.asarray(rows(Z, sub[: _head.CURVATURE_ROWS]), dtype=np.float32)
            curv_weight = None if sw is None else sw[sub[: _head.CURVATURE_ROWS]]
            reg = np.full(d + 1, float(self.alpha))
            reg[-1] = 0.0
            k = self.coef_.shape[0]
            trust = self.solver_info_["trust"]
            lam = trust[-1] if len(trust) else np.ones(k)
            grid = self._fitted_grid()
            problems, initials = _head.next_problems(
                Z,
                y_idx,
                self._fitted_W(),
                reg,
                grid,
                lam,
                Z_curv=Z_curv,
                batch_size=self.batch_size,
                curvature=self.curvature,
                sample_weight=sw,
                curv_weight=curv_weight,
            )
        names = list(range(d))
        if grid.bias_bits == grid.n_bits:
            names.append("bias")
        labels = self.classes_[1:] if k == 1 else self.classes_
        return {
            label: ExportedQUBO(p, names, initial=m)
            for label, p, m in zip(labels, problems, initials)
        }

    def get_feature_names_out(self, input_features=None):
        """Names of the features :meth:`transform` returns (the head's inputs).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names (checked against ``feature_names_in_`` if fitted on a
            DataFrame).

        Returns
        -------
        feature_names_out : ndarray of str objects
            The extractor's names (:meth:`RandomConvFeatures.get_feature_names_out`), or the
            input names for ``features="passthrough"``.
        """
        check_is_fitted(self)
        if self.features_ is None:
            return _check_feature_names_in(self, input_features)
        if hasattr(self.features_, "get_feature_names_out"):
            return np.asarray(self.features_.get_feature_names_out(input_features), dtype=object)
        prefix = type(self.features_).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.coef_.shape[1])], dtype=object)

    # ---------------------------------------------------------------- predict
    def transform(self, X):
        """Features the head sees (the fitted extractor's output, or ``X`` for passthrough).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_head_features)
            Features.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self._features_of(X)

    def decision_function(self, X):
        """Class scores ``Z coef_ᵀ + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems the logit of ``classes_[1]``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        n, k = X.shape[0], self.coef_.shape[0]
        S = np.empty((n, k))
        # a chunk at a time, so that a memmap larger than memory can be scored
        for sl in _streaming.batches(n, self.batch_size):
            Zb = np.asarray(self._features_of(X[sl]), dtype=np.float64)
            S[sl] = Zb @ self.coef_.T + self.intercept_
        return S[:, 0] if k == 1 else S

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        S = self.decision_function(X)
        idx = (S > 0).astype(np.int64) if S.ndim == 1 else np.argmax(S, axis=1)
        return self.classes_[idx]

    def predict_proba(self, X):
        """Class probabilities (softmax of the scores; logistic for binary problems).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        S = self.decision_function(X)
        if S.ndim == 1:
            return np.column_stack([log_expit(-S), log_expit(S)])
        return S - logsumexp(S, axis=1, keepdims=True)

    def score(self, X, y, sample_weight=None):
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images
            Test data.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Fraction of correctly classified samples.
        """
        return super().score(X, y, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = False
        return tags
