"""Fused random-convolution, nonlinearity and adaptive pooling kernel (numba).

One pass per image: a stride-1 2-D convolution of a (H, W, C) image with F filters of shape
(kh, kw, C), zero padding, a pointwise nonlinearity, then pooling of every filter's map over a fixed
grid of (possibly overlapping) rectangular bins. Arrays in, arrays out; no scikit-learn here.
:func:`conv_pool_reference` is the pure-NumPy reference the tests compare :func:`conv_pool` to.

Codes shared by the kernel and the reference:

- ``activation``: 0 identity, 1 ``relu``, 2 ``abs``, 3 ``tanh``.
- ``pooling``: 0 ``mean``, 1 ``max``.
"""

import numpy as np
from numba import prange

from ._jit import jit

__all__ = [
    "ACTIVATIONS",
    "POOLINGS",
    "adaptive_bins",
    "conv_pool",
    "conv_pool_reference",
    "warm_up",
]

ACTIVATIONS = {"identity": 0, "relu": 1, "abs": 2, "tanh": 3}
POOLINGS = {"mean": 0, "max": 1}


def adaptive_bins(length, n_bins):
    """Start/stop indices of ``n_bins`` adaptive pooling bins over ``length`` positions.

    Bin ``i`` covers ``[floor(i * length / n_bins), ceil((i + 1) * length / n_bins))`` (the rule of
    PyTorch's adaptive pooling): bins tile the whole axis, overlap by at most one position when
    ``length`` is not a multiple of ``n_bins``, and repeat positions when ``n_bins > length``.

    Returns
    -------
    edges : ndarray of shape (n_bins, 2), dtype int64
    """
    i = np.arange(n_bins, dtype=np.int64)
    starts = (i * length) // n_bins
    stops = -((-(i + 1) * length) // n_bins)
    return np.stack([starts, stops], axis=1)


@jit(parallel=True)
def conv_pool(
    images, weights, bias, pad_top, pad_left, row_bins, col_bins, activation, pooling, out
):
    """Convolve, apply the nonlinearity and pool, writing into ``out``.

    Parameters
    ----------
    images : ndarray of shape (n, H, W, C)
    weights : ndarray of shape (kh, kw, C, F), same dtype as ``out``
    bias : ndarray of shape (F,)
    pad_top, pad_left : int
        Zero rows above / zero columns left of the image (``>= 0``). The convolution map has
        ``Ho = row_bins[-1, 1]`` rows and ``Wo = col_bins[-1, 1]`` columns; positions past the
        image read zeros.
    row_bins, col_bins : ndarray of shape (gh, 2) / (gw, 2), int64
        Start/stop of each pooling bin on the convolution map (see :func:`adaptive_bins`).
    activation, pooling : int
        Codes from ``ACTIVATIONS`` / ``POOLINGS``.
    out : ndarray of shape (n, F, gh, gw)
        Receives the pooled features.

    Returns
    -------
    out : ndarray of shape (n, F, gh, gw)
    """
    n, H, W, C = images.shape
    kh, kw, _, F = weights.shape
    gh = row_bins.shape[0]
    gw = col_bins.shape[0]
    Ho = row_bins[gh - 1, 1]
    Wo = col_bins[gw - 1, 1]
    Hp = Ho + kh - 1
    Wp = Wo + kw - 1
    wt = np.empty((F, C, kh, kw), dtype=out.dtype)
    for f in range(F):
        for c in range(C):
            for dy in range(kh):
                for dx in range(kw):
                    wt[f, c, dy, dx] = weights[dy, dx, c, f]
    for i in prange(n):
        # Zero-padded, channels-first copy of the image: the inner loops below then run over
        # contiguous columns with no bounds tests, which LLVM vectorises.
        padded = np.zeros((C, Hp, Wp), dtype=out.dtype)
        for y in range(min(H, Hp - pad_top)):
            for x in range(min(W, Wp - pad_left)):
                for c in range(C):
                    padded[c, y + pad_top, x + pad_left] = images[i, y, x, c]
        acc = np.empty((4, Wo), dtype=out.dtype)
        fmap = np.empty((4, Ho, Wo), dtype=out.dtype)
        # Filters go four at a time so that every loaded pixel feeds four multiply-adds.
        for f0 in range(0, F, 4):
            nf = min(4, F - f0)
            for y in range(Ho):
                for q in range(nf):
                    for x in range(Wo):
                        acc[q, x] = bias[f0 + q]
                for c in range(C):
                    for dy in range(kh):
                        src = padded[c, y + dy]
                        for dx in range(kw):
                            if nf == 4:
                                w0 = wt[f0, c, dy, dx]
                                w1 = wt[f0 + 1, c, dy, dx]
                                w2 = wt[f0 + 2, c, dy, dx]
                                w3 = wt[f0 + 3, c, dy, dx]
                                for x in range(Wo):
                                    v = src[x + dx]
                                    acc[0, x] += w0 * v
                                    acc[1, x] += w1 * v
                                    acc[2, x] += w2 * v
                                    acc[3, x] += w3 * v
                            else:
                                for q in range(nf):
                                    w = wt[f0 + q, c, dy, dx]
                                    for x in range(Wo):
                                        acc[q, x] += w * src[x + dx]
                for q in range(nf):
                    if activation == 1:
                        for x in range(Wo):
                            fmap[q, y, x] = max(acc[q, x], 0.0)
                    elif activation == 2:
                        for x in range(Wo):
                            fmap[q, y, x] = abs(acc[q, x])
                    elif activation == 3:
                        for x in range(Wo):
                            fmap[q, y, x] = np.tanh(acc[q, x])
                    else:
                        for x in range(Wo):
                            fmap[q, y, x] = acc[q, x]
            for q in range(nf):
                for by in range(gh):
                    r0 = row_bins[by, 0]
                    r1 = row_bins[by, 1]
                    for bx in range(gw):
                        c0 = col_bins[bx, 0]
                        c1 = col_bins[bx, 1]
                        if pooling == 1:
                            best = fmap[q, r0, c0]
                            for y in range(r0, r1):
                                for x in range(c0, c1):
                                    if fmap[q, y, x] > best:
                                        best = fmap[q, y, x]
                            out[i, f0 + q, by, bx] = best
                        else:
                            total = 0.0
                            for y in range(r0, r1):
                                for x in range(c0, c1):
                                    total += fmap[q, y, x]
                            out[i, f0 + q, by, bx] = total / ((r1 - r0) * (c1 - c0))
    return out


def conv_pool_reference(
    images, weights, bias, pad_top, pad_left, row_bins, col_bins, activation, pooling
):
    """Pure-NumPy reference of :func:`conv_pool` (same arguments, returns ``out``)."""
    images = np.asarray(images)
    n, H, W, C = images.shape
    kh, kw, _, F = weights.shape
    Ho = int(row_bins[-1, 1])
    Wo = int(col_bins[-1, 1])
    padded = np.zeros((n, max(pad_top + H, Ho + kh - 1), max(pad_left + W, Wo + kw - 1), C))
    padded[:, pad_top : pad_top + H, pad_left : pad_left + W, :] = images
    padded = padded[:, : Ho + kh - 1, : Wo + kw - 1, :]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(1, 2))
    # windows: (n, Ho, Wo, C, kh, kw)
    fmap = np.einsum("nyxcij,ijcf->nyxf", windows, weights.astype(np.float64)) + bias
    if activation == ACTIVATIONS["relu"]:
        fmap = np.maximum(fmap, 0)
    elif activation == ACTIVATIONS["abs"]:
        fmap = np.abs(fmap)
    elif activation == ACTIVATIONS["tanh"]:
        fmap = np.tanh(fmap)
    reduce = np.max if pooling == POOLINGS["max"] else np.mean
    out = np.empty((n, F, len(row_bins), len(col_bins)))
    for by, (r0, r1) in enumerate(row_bins):
        for bx, (c0, c1) in enumerate(col_bins):
            out[:, :, by, bx] = reduce(fmap[:, r0:r1, c0:c1, :], axis=(1, 2))
    return out


def warm_up():
    """Compile :func:`conv_pool` for float32 and float64 on tiny inputs."""
    rows = adaptive_bins(4, 2)
    for dtype in (np.float64, np.float32):
        images = np.ones((2, 4, 4, 1), dtype=dtype)
        weights = np.ones((3, 3, 1, 2), dtype=dtype)
        bias = np.zeros(2, dtype=dtype)
        out = np.empty((2, 2, 2, 2), dtype=dtype)
        conv_pool(images, weights, bias, 1, 1, rows, rows, 1, 0, out)
