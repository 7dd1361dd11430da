"""Random convolution features (an Extreme Learning Machine feature extractor for images).

:class:`RandomConvFeatures` draws frozen random convolution filters in ``fit``, and ``transform``
convolves, applies a pointwise nonlinearity, pools every filter's map over a fixed grid of bins
(adaptive pooling, so the number of features does not depend on the image size), flattens and
optionally standardises. The numeric work is one fused numba kernel,
:func:`quboclf._kernels._conv.conv_pool`.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
)

from ._kernels._conv import ACTIVATIONS, POOLINGS, adaptive_bins, conv_pool
from ._validation import unchanged_on_failure, validate_numeric

__all__ = ["RandomConvFeatures"]

# Images per call of the convolution kernel (a call cannot be interrupted).
_CONV_CHUNK = 1024


def _pair(value, name):
    """``int`` or length-2 sequence of positive ints -> tuple of two ints."""
    if isinstance(value, Integral):
        value = (value, value)
    try:
        pair = tuple(int(v) for v in value)
        ok = len(pair) == 2 and all(int(v) == v for v in value) and min(pair) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"{name} must be a positive int or a pair of positive ints (rows, cols); got {value!r}."
        )
    return pair


def _resolve_image_shape(image_shape, n_features):
    """Turn the ``image_shape`` parameter and a flat row length into ``(H, W, C)``.

    ``image_shape`` may hold one ``-1``, inferred from ``n_features`` as in :func:`numpy.reshape`.
    """
    if image_shape is None:
        side = int(round(np.sqrt(n_features)))
        if side * side == n_features:
            return (side, side, 1)
        hint = ""
        rgb_side = round(np.sqrt(n_features // 3))
        if n_features % 3 == 0 and rgb_side >= 2 and rgb_side**2 == n_features // 3:
            s = rgb_side
            hint = f" If these are {s}x{s} RGB images, pass image_shape=({s}, {s}, 3)."
        raise ValueError(
            f"Cannot infer the image shape from {n_features} features per row: {n_features} is "
            "not a perfect square, so the rows are not square single-channel images. Pass "
            "image_shape=(H, W) or (H, W, C) with H * W * C == n_features (one entry may be -1), "
            f"or give X as an (n, H, W) or (n, H, W, C) array.{hint}"
        )
    shape = _check_image_shape(image_shape)
    if shape.count(-1) == 1:
        known = -int(np.prod(shape))
        if n_features % known:
            raise ValueError(
                f"image_shape={tuple(image_shape)!r} does not fit rows of {n_features} features: "
                f"{n_features} is not a multiple of {known}."
            )
        shape = tuple(n_features // known if s == -1 else s for s in shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} has {int(np.prod(shape))} pixel values but X has "
            f"{n_features} features per row. Pass the shape of one image, (H, W) or (H, W, C), "
            "with H * W * C == n_features, or image_shape=None to infer a square image."
        )
    return shape


def _check_image_shape(image_shape):
    try:
        shape = tuple(int(s) for s in image_shape)
        ok = (
            len(shape) in (2, 3)
            and all(int(s) == s for s in image_shape)
            and all(s >= 1 or s == -1 for s in shape)
            and shape.count(-1) <= 1
        )
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            "image_shape must be None or a tuple (H, W) or (H, W, C) of positive ints, one of "
            f"which may be -1 (inferred from the number of features); got {image_shape!r}."
        )
    return shape


class RandomConvFeatures(TransformerMixin, BaseEstimator):
    """Random convolution features: frozen random filters, nonlinearity, adaptive pooling.

    An Extreme Learning Machine feature extractor for images. ``fit`` draws ``n_filters`` random
    filters of shape ``kernel_size x C`` (Gaussian entries, each filter shifted to zero mean and
    scaled to unit Euclidean norm) from ``random_state``. ``transform`` convolves every image with
    every filter (stride 1, ``padding``), applies ``activation``, pools each filter's map over a
    fixed ``pool_grid`` of bins (adaptive pooling), flattens, and standardises each feature with
    the mean and standard deviation learned in ``fit`` when ``standardize=True``. The output has
    ``n_filters * pool_grid[0] * pool_grid[1]`` features, whatever the image size.

    Read more in the :doc:`User Guide </guide/features>`.

    Parameters
    ----------
    n_filters : int, default=24
        Number of random convolution filters.
    kernel_size : int or tuple of (int, int), default=5
        Height and width of each filter.
    padding : {"same", "valid"}, default="same"
        ``"same"`` zero-pads so that the convolution map has the image's size; ``"valid"`` keeps
        only the positions where the filter lies inside the image.
    activation : {"relu", "abs", "tanh", "identity"}, default="relu"
        Pointwise nonlinearity applied to the convolution map.
    pooling : {"mean", "max"}, default="mean"
        Statistic computed over each pooling bin.
    pool_grid : int or tuple of (int, int), default=5
        Number of pooling bins along the rows and the columns of the convolution map. Bin ``i``
        of an axis of length ``L`` covers positions ``floor(i L / g)`` to ``ceil((i + 1) L / g)``
        (adaptive pooling); with ``g > L`` bins repeat positions.
    image_shape : tuple of int, default=None
        Shape ``(H, W)`` or ``(H, W, C)`` of one image when ``X`` holds flat rows (channels last,
        row-major, i.e. ``image.reshape(-1)`` of an ``(H, W, C)`` array). One entry may be ``-1``
        and is inferred from the number of features. ``None`` takes square single-channel images
        (``n_features`` must be a perfect square). Ignored for 3-D and 4-D ``X`` except that it
        must then agree with ``X.shape[1:]``.
    standardize : bool, default=True
        Learn each feature's mean and standard deviation in ``fit`` and return standardised
        features. A linear model on top then needs no separate scaler.
    random_state : int, RandomState instance or None, default=None
        Draws the filters. Pass an int for reproducible features.

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, kh, kw, C)
        The frozen random filters.
    image_shape_ : tuple of (int, int, int)
        ``(H, W, C)`` of the images seen in ``fit``.
    feature_map_shape_ : tuple of (int, int)
        Rows and columns of each convolution map before pooling.
    mean_ : ndarray of shape (n_features_out,) or None
        Per-feature mean of the pooled features on the training data (``standardize=True``).
    var_ : ndarray of shape (n_features_out,) or None
        Per-feature variance on the training data (``standardize=True``).
    scale_ : ndarray of shape (n_features_out,) or None
        Per-feature standard deviation on the training data, with 1 where it is 0
        (``standardize=True``).
    n_samples_seen_ : int
        Images the statistics were learned from (grows with every :meth:`partial_fit`).
    n_features_in_ : int
        Number of pixel values per image, ``H * W * C``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen in ``fit`` when ``X`` was a DataFrame with string column names.

    See Also
    --------
    sklearn.kernel_approximation.RBFSampler : Random Fourier features for vector data.
    QUBOCNNClassifier : A QUBO-trained linear head on these features.

    Notes
    -----
    Input may be flat rows ``(n_samples, H * W * C)`` (with ``image_shape``), or image arrays
    ``(n_samples, H, W)`` or ``(n_samples, H, W, C)``; the same images give the same features in
    every layout. Float32 input gives float32 features and is computed in float32 (about twice as
    fast); every other input is converted to float64. The work is one fused numba kernel that runs
    images in parallel over numba's threads (``numba.set_num_threads``).

    With the default ``relu`` (or ``abs``, ``identity``) activation and no filter bias, features
    scale linearly with the pixel values, so with ``standardize=True`` it does not matter whether
    pixels are in [0, 1] or [0, 255].

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from quboclf import RandomConvFeatures
    >>> X, y = load_digits(return_X_y=True)
    >>> features = RandomConvFeatures(random_state=0)
    >>> Z = features.fit_transform(X)
    >>> Z.shape
    (1797, 600)
    >>> features.image_shape_
    (8, 8, 1)
    >>> features.get_feature_names_out()[:3]
    array(['conv0_r0_c0', 'conv0_r0_c1', 'conv0_r0_c2'], dtype=object)

    Images given as an (n, H, W) array give the same features:

    >>> import numpy as np
    >>> np.allclose(features.transform(X.reshape(-1, 8, 8)), Z)
    True
    """

    _parameter_constraints: dict = {
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "padding": [StrOptions({"same", "valid"})],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "pooling": [StrOptions(set(POOLINGS))],
        "pool_grid": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "image_shape": ["array-like", None],
        "standardize": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        n_filters=24,
        kernel_size=5,
        padding="same",
        activation="relu",
        pooling="mean",
        pool_grid=5,
        image_shape=None,
        standardize=True,
        random_state=None,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.padding = padding
        self.activation = activation
        self.pooling = pooling
        self.pool_grid = pool_grid
        self.image_shape = image_shape
        self.standardize = standardize
        self.random_state = random_state

    def _validate_images(self, X, reset):
        """Validate ``X`` and return it as a C-contiguous (n, H, W, C) float array."""
        try:
            ndim = len(X.shape)
        except (AttributeError, TypeError):  # lists, and array-likes that only offer __array__
            ndim = np.asarray(X).ndim
        if ndim not in (1, 2, 3, 4):
            raise ValueError(
                f"X must be 2-D flat rows (n_samples, H * W * C), or 3-D (n_samples, H, W) or 4-D "
                f"(n_samples, H, W, C) images; got a {ndim}-D array."
            )
        dtype = [np.float64, np.float32]
        if ndim <= 2:
            X = validate_numeric(self, X, reset=reset, dtype=dtype)
            if reset:
                shape = _resolve_image_shape(self.image_shape, X.shape[1])
            else:
                shape = self.image_shape_
        else:
            if reset:
                X = validate_numeric(self, X, reset=True, dtype=dtype, allow_nd=True)
            else:
                X = check_array(X, dtype=dtype, allow_nd=True, input_name="X")
            shape = X.shape[1:] if ndim == 4 else (*X.shape[1:], 1)
            if reset and self.image_shape is not None:
                try:
                    expected = _resolve_image_shape(self.image_shape, int(np.prod(shape)))
                except ValueError:
                    expected = None
                if expected != shape:
                    raise ValueError(
                        f"image_shape={tuple(self.image_shape)!r} does not match the images in X, "
                        f"of shape {X.shape[1:]}. Pass image_shape=None or the shape of one image."
                    )
            if not reset and shape != self.image_shape_:
                raise ValueError(
                    f"X holds images of shape {X.shape[1:]}, but {type(self).__name__} was "
                    f"fitted on images of shape {self.image_shape_}."
                )
        if reset:
            self.image_shape_ = tuple(int(s) for s in shape)
            self.n_features_in_ = int(np.prod(shape))
        return np.ascontiguousarray(X.reshape(X.shape[0], *shape))

    def _conv_features(self, images):
        """Pooled (unstandardised) features of (n, H, W, C) images, in the images' dtype."""
        kh, kw = self.filters_.shape[1:3]
        if self.padding == "same":
            pad_top, pad_left = (kh - 1) // 2, (kw - 1) // 2
        else:
            pad_top = pad_left = 0
        Ho, Wo = self.feature_map_shape_
        gh, gw = self._pool_grid
        weights = np.ascontiguousarray(self.filters_.transpose(1, 2, 3, 0), dtype=images.dtype)
        bias = np.zeros(len(self.filters_), dtype=images.dtype)
        out = np.empty((images.shape[0], len(self.filters_), gh, gw), dtype=images.dtype)
        row_bins, col_bins = adaptive_bins(Ho, gh), adaptive_bins(Wo, gw)
        # A signal is handled only between kernel calls: chunks keep Ctrl-C responsive.
        for start in range(0, images.shape[0], _CONV_CHUNK):
            stop = start + _CONV_CHUNK
            conv_pool(
                images[start:stop],
                weights,
                bias,
                pad_top,
                pad_left,
                row_bins,
                col_bins,
                ACTIVATIONS[self.activation],
                POOLINGS[self.pooling],
                out[start:stop],
            )
        out = out.reshape(images.shape[0], -1)
        if not np.all(np.isfinite(out)):
            self._too_large(images, "they overflow")
        return out

    _FITTED = (
        "filters_",
        "image_shape_",
        "feature_map_shape_",
        "mean_",
        "var_",
        "scale_",
        "n_samples_seen_",
        "n_features_in_",
        "feature_names_in_",
    )

    def _reset(self):
        for name in self._FITTED:
            self.__dict__.pop(name, None)

    def _setup(self, X):
        """Check the parameters and ``X``, draw the filters; return the (n, H, W, C) images."""
        kh, kw = _pair(self.kernel_size, "kernel_size")
        self._pool_grid = _pair(self.pool_grid, "pool_grid")
        if self.image_shape is not None:
            _check_image_shape(self.image_shape)
        images = self._validate_images(X, reset=True)
        H, W, C = self.image_shape_
        if self.padding == "valid":
            if kh > H or kw > W:
                raise ValueError(
                    f"kernel_size={(kh, kw)} is larger than the images ({H}, {W}) with "
                    "padding='valid'. Use padding='same' or a smaller kernel_size."
                )
            self.feature_map_shape_ = (H - kh + 1, W - kw + 1)
        else:
            self.feature_map_shape_ = (H, W)

        rng = check_random_state(self.random_state)
        filters = rng.standard_normal((self.n_filters, kh, kw, C))
        if kh * kw * C > 1:
            # Zero-mean filters respond to contrast (edges, texture), not to overall brightness.
            filters -= filters.mean(axis=(1, 2, 3), keepdims=True)
        norms = np.sqrt(np.sum(filters**2, axis=(1, 2, 3), keepdims=True))
        self.filters_ = filters / np.where(norms > 0, norms, 1.0)
        self.n_samples_seen_ = 0
        self.mean_ = self.var_ = self.scale_ = None
        return images

    def _partial_fit_raw(self, X):
        """Fit on one more chunk of images; return its raw (unstandardised) features.

        The first call (no ``filters_`` yet) draws the filters; every call updates the
        standardisation statistics by merging the chunk's mean and centred sum of squares into
        the running ones (Chan et al.), so chunked and one-shot fits agree to rounding. The
        classifier streams data larger than memory through this: one convolution per image.
        """
        if not hasattr(self, "filters_"):
            images = self._setup(X)
        else:
            images = self._validate_images(X, reset=False)
        Z = self._conv_features(images)
        n_new = Z.shape[0]
        n_old = self.n_samples_seen_
        if self.standardize and n_new:
            # every statistic is computed and checked before any is stored: a bad chunk must
            # not spoil a fitted transformer
            with np.errstate(over="ignore", invalid="ignore"):  # checked below
                mean_b = Z.mean(axis=0, dtype=np.float64)
                m2_b = np.sum(np.square(Z - mean_b), axis=0, dtype=np.float64)
                if n_old == 0:
                    mean, m2 = mean_b, m2_b
                else:
                    n_all = n_old + n_new
                    delta = mean_b - self.mean_
                    mean = self.mean_ + delta * (n_new / n_all)
                    m2 = self.var_ * n_old + m2_b + delta**2 * (n_old * n_new / n_all)
                var = m2 / (n_old + n_new)
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var))):
                self._too_large(images, "their variance over the images overflows float64")
            std = np.sqrt(var)
            # Constant features (up to rounding) are only centred, not divided by ~0.
            constant = std <= 10 * np.finfo(Z.dtype).eps * np.abs(mean)
            self.mean_, self.var_ = mean, var
            self.scale_ = np.where(constant, 1.0, std)
        self.n_samples_seen_ = n_old + n_new
        return Z

    def _too_large(self, images, what):
        largest = float(np.max(np.abs(images))) if images.size else 0.0
        raise ValueError(
            f"X has pixel values as large as {largest:.3g} in absolute value: the random-"
            f"convolution features of such values are so large that {what} "
            f"({images.dtype} holds numbers up to about {np.finfo(images.dtype).max:.2g}). "
            "Rescale X first, e.g. divide it by its largest value or use "
            "sklearn.preprocessing.MaxAbsScaler; with standardize=True the features do not "
            "depend on the scale of X."
        )

    def _fit(self, X):
        with unchanged_on_failure(self):
            self._reset()
            return self._partial_fit_raw(X)

    def _standardize(self, Z):
        if self.standardize:
            Z -= self.mean_.astype(Z.dtype)
            Z /= self.scale_.astype(Z.dtype)
        return Z

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Draw the random filters and learn the standardisation statistics.

        Parameters
        ----------
        X : array-like of shape (n_samples, H * W * C), (n_samples, H, W) or (n_samples, H, W, C)
            Training images, as flat rows (see ``image_shape``) or as image arrays.
        y : None
            Ignored.

        Returns
        -------
        self : RandomConvFeatures
            The fitted transformer.
        """
        self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Fit on one more chunk of images, for data that do not fit in memory.

        The first call draws the filters (as :meth:`fit` would, from ``random_state``); every
        call updates ``mean_``, ``var_`` and ``scale_`` with the chunk, so after the last chunk
        they equal (to rounding) those :meth:`fit` learns from all the images at once.

        Parameters
        ----------
        X : array-like of shape (n_samples, H * W * C), (n_samples, H, W) or (n_samples, H, W, C)
            A chunk of training images, of the shape of the first chunk.
        y : None
            Ignored.

        Returns
        -------
        self : RandomConvFeatures
            The transformer, fitted on every chunk so far.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.datasets import load_digits
        >>> from quboclf import RandomConvFeatures
        >>> X, _ = load_digits(return_X_y=True)
        >>> streamed = RandomConvFeatures(random_state=0)
        >>> for chunk in np.array_split(X, 4):
        ...     streamed = streamed.partial_fit(chunk)
        >>> at_once = RandomConvFeatures(random_state=0).fit(X)
        >>> streamed.n_samples_seen_, np.allclose(streamed.transform(X), at_once.transform(X))
        (1797, True)
        """
        with unchanged_on_failure(self):
            self._partial_fit_raw(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None):
        """Fit and return the features of ``X`` (one pass over the images).

        Parameters
        ----------
        X : array-like of shape (n_samples, H * W * C), (n_samples, H, W) or (n_samples, H, W, C)
            Training images.
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out)
            The features; float32 for float32 input, float64 otherwise.
        """
        return self._standardize(self._fit(X))

    def transform(self, X):
        """Compute the random convolution features of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, H * W * C), (n_samples, H, W) or (n_samples, H, W, C)
            Images of the shape seen in ``fit``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out)
            ``n_features_out = n_filters * pool_grid[0] * pool_grid[1]``; float32 for float32
            input, float64 otherwise.
        """
        check_is_fitted(self)
        images = self._validate_images(X, reset=False)
        return self._standardize(self._conv_features(images))

    def get_feature_names_out(self, input_features=None):
        """Names of the output features, ``conv{f}_r{i}_c{j}``.

        Feature ``conv{f}_r{i}_c{j}`` is filter ``f`` pooled over the bin in row ``i`` and column
        ``j`` of the pooling grid; the output columns are in this (filter, row, column) order.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input feature names seen in ``fit``; the output names do not
            depend on them.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        gh, gw = self._pool_grid
        return np.asarray(
            [
                f"conv{f}_r{i}_c{j}"
                for f in range(len(self.filters_))
                for i in range(gh)
                for j in range(gw)
            ],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
