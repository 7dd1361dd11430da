"""Benchmark RandomConvFeatures: transform speed, and the accuracy of a linear head on its features.

Run by hand, e.g.::

    python benchmarks/bench_features.py                    # speed on 60,000 28x28 images
    python benchmarks/bench_features.py --accuracy         # + digits and Fashion-MNIST accuracy
    python benchmarks/bench_features.py --image-shape 32 32 3     # CIFAR-10-sized RGB images

Speed is measured on Fashion-MNIST's training images when the data set is found (by
:mod:`quboclf.datasets`; ``--data-home``, never downloaded), on random images of the same shape
otherwise; the kernels are compiled (or loaded from numba's cache) before timing.
``--accuracy`` fits ``LogisticRegression`` on the (standardised) features: digits on the
studies' stratified 70/30 splits for several seeds, Fashion-MNIST on its official 60k/10k split.
"""

import argparse
import time
import warnings

import numpy as np

from quboclf import RandomConvFeatures
from quboclf._kernels import warm_up
from quboclf.studies import load_split


def load_fashion(data_home):
    """Fashion-MNIST's ``(X_train, X_test, y_train, y_test)`` images, or None if not found."""
    try:
        return load_split("fashion-mnist", 0, data_home=data_home, download_if_missing=False)
    except FileNotFoundError:
        return None


def timed(func, repeat):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_speed(args, params, fashion):
    shape = tuple(args.image_shape)
    if fashion is not None and shape == (28, 28):
        images = fashion[0][: args.n_images]
        source = "Fashion-MNIST train"
    else:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, size=(args.n_images, *shape), dtype=np.uint8)
        source = "random uint8"
    n = len(images)
    print(f"\nTransform speed: {n} images of shape {shape} ({source}), params {params}")
    print(f"{'input dtype':>12} {'d':>6} {'fit (s)':>9} {'transform (s)':>14} {'images/s':>10}")
    for dtype in (np.float64, np.float32):
        X = images.reshape(n, -1).astype(dtype)
        features = RandomConvFeatures(image_shape=shape, random_state=0, **params)
        fit_time, _ = timed(lambda X=X, f=features: f.fit(X), 1)
        t, Z = timed(lambda X=X, f=features: f.transform(X), args.repeat)
        print(
            f"{np.dtype(dtype).name:>12} {Z.shape[1]:>6} {fit_time:>9.2f} {t:>14.2f} {n / t:>10.0f}"
        )


def bench_accuracy(args, params, fashion):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    print(f"\nDigits: features + LogisticRegression(max_iter=1000), stratified 70/30, {params}")
    print(f"{'seed':>5} {'d':>5} {'accuracy':>9}")
    accs = []
    for seed in args.seeds:
        X_tr, X_te, y_tr, y_te = load_split("digits", seed)
        features = RandomConvFeatures(random_state=seed, **params)
        Z_tr = features.fit_transform(X_tr)
        clf = LogisticRegression(max_iter=1000).fit(Z_tr, y_tr)
        accs.append(clf.score(features.transform(X_te), y_te))
        print(f"{seed:>5} {Z_tr.shape[1]:>5} {accs[-1]:>9.4f}")
    print(f"{'mean':>5} {'':>5} {np.mean(accs):>9.4f}")

    if fashion is None:
        print("\nFashion-MNIST not found: skipped.")
        return
    X_tr, X_te, y_tr, y_te = fashion
    X_tr = X_tr.astype(np.float32)
    X_te = X_te.astype(np.float32)
    print(
        "\nFashion-MNIST (60k/10k): features + "
        f"LogisticRegression(max_iter={args.lr_max_iter}), {params}"
    )
    print(
        f"{'seed':>5} {'d':>5} {'fit_transform (s)':>18} {'transform 10k (s)':>18} "
        f"{'LR fit (s)':>11} {'accuracy':>9}"
    )
    for seed in args.seeds[: args.fashion_seeds]:
        features = RandomConvFeatures(random_state=seed, **params)
        t_fit, Z_tr = timed(lambda f=features: f.fit_transform(X_tr), 1)
        t_tr, Z_te = timed(lambda f=features: f.transform(X_te), 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t_lr, clf = timed(
                lambda Z=Z_tr: LogisticRegression(max_iter=args.lr_max_iter).fit(Z, y_tr),
                1,
            )
        acc = clf.score(Z_te, y_te)
        print(
            f"{seed:>5} {Z_tr.shape[1]:>5} {t_fit:>18.2f} {t_tr:>18.2f} {t_lr:>11.1f} {acc:>9.4f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=60000)
    parser.add_argument("--image-shape", type=int, nargs="+", default=[28, 28])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many transforms")
    parser.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    parser.add_argument("--n-filters", type=int, default=None)
    parser.add_argument("--kernel-size", type=int, default=None)
    parser.add_argument("--pool-grid", type=int, default=None)
    parser.add_argument("--activation", default=None)
    parser.add_argument("--pooling", default=None)
    parser.add_argument("--accuracy", action="store_true", help="also measure LR accuracy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--fashion-seeds", type=int, default=1, help="seeds run on Fashion-MNIST")
    parser.add_argument("--lr-max-iter", type=int, default=100, help="Fashion-MNIST LR max_iter")
    parser.add_argument("--data-home", default=None, help="data folder of quboclf.datasets")
    args = parser.parse_args()

    if args.threads:
        import numba

        numba.set_num_threads(args.threads)
    params = {
        name: value
        for name, value in {
            "n_filters": args.n_filters,
            "kernel_size": args.kernel_size,
            "pool_grid": args.pool_grid,
            "activation": args.activation,
            "pooling": args.pooling,
        }.items()
        if value is not None
    }
    import numba

    print(f"numba threads: {numba.get_num_threads()}")
    warm_up()
    fashion = load_fashion(args.data_home)
    bench_speed(args, params, fashion)
    if args.accuracy:
        bench_accuracy(args, params, fashion)


if __name__ == "__main__":
    main()
