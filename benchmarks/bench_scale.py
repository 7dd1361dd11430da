"""Benchmark QUBOCNNClassifier on data larger than memory: fit time and peak memory vs n.

Run by hand, e.g.::

    python benchmarks/bench_scale.py                           # 1x, 4x, 16x, 1.5 GiB limit
    python benchmarks/bench_scale.py --factors 1 4 --memory-limit none
    python benchmarks/bench_scale.py --workdir /big/disk --out scale.md

Fashion-MNIST's 60,000 training images (pixels / 255, float32) are tiled ``factor`` times into
a ``.npy`` file on disk (16x: 960,000 images, 3.0 GB), opened as a read-only
:class:`numpy.memmap`, and fitted by ``QUBOCNNClassifier(feature_cache="disk")`` (default
features, 10 bits, ``batch_size=8192``) in a fresh child process; the features (2.3 GB at 16x)
go to an anonymous temporary file in ``--workdir``. The model is scored on the 10,000 test
images.

Memory is read three ways, each in the child:

- anonymous memory (``RssAnon`` of ``/proc/self/status``) before the fit (after imports and
  loading the test set) and its peak during the fit, sampled every 5 ms: what the process
  allocates, the figure that must stay flat;
- ``VmHWM``, the kernel's high-water mark of the resident set, which also counts pages of the
  memory-mapped input that were read (file-backed, reclaimable page cache);
- with ``--memory-limit`` (default 1.5 GiB, smaller than the 16x input), the child runs in a
  memory cgroup of that limit (cgroup v1 or v2, when this process may create one, e.g. as
  root) and its peak usage is read from the cgroup: the fit must not be killed.

A last run fits the 1x data held in memory (``feature_cache="memory"``) for reference.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from quboclf.datasets import fetch_fashion_mnist

CGROUP_V1 = Path("/sys/fs/cgroup/memory")
CGROUP_V2 = Path("/sys/fs/cgroup")


def load_fashion(data_home, subset):
    """Fashion-MNIST's training or test rows as float32 pixels / 255, and their labels."""
    X, y = fetch_fashion_mnist(subset=subset, data_home=data_home, return_X_y=True)
    return (X.reshape(len(X), -1) / np.float32(255)).astype(np.float32), y


def write_tiled(data_home, factor, workdir):
    """Tile the training set ``factor`` times into ``X_<factor>x.npy`` / ``y_<factor>x.npy``."""
    X, y = load_fashion(data_home, "train")
    n = X.shape[0] * factor
    x_path = workdir / f"X_{factor}x.npy"
    y_path = workdir / f"y_{factor}x.npy"
    out = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(n, 784))
    for i in range(factor):
        out[i * X.shape[0] : (i + 1) * X.shape[0]] = X
        out.flush()
    del out
    np.save(y_path, np.tile(y, factor).astype(np.int64))
    _evict(x_path)
    return x_path, y_path


def _evict(path):
    """Drop ``path`` from the page cache, so the fit reads it from disk.

    Pages this process wrote stay charged to this process's cgroup; evicted, they are read
    again by the child and charged to the child's, so its memory limit covers the input too.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# memory cgroups


def _cgroup_create(limit_bytes):
    """A memory cgroup with ``limit_bytes``; returns ``(procs_file, peak_reader, cleanup)``."""
    own = Path("/proc/self/cgroup").read_text().splitlines()
    name = f"quboclf-bench-{os.getpid()}"
    for line in own:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(",") and CGROUP_V1.is_dir():
            group = CGROUP_V1 / path.lstrip("/") / name
            group.mkdir()
            (group / "memory.limit_in_bytes").write_text(str(limit_bytes))

            def peak(group=group):
                return int((group / "memory.max_usage_in_bytes").read_text())

            return group / "cgroup.procs", peak, group
    for line in own:
        if line.startswith("0::") and (CGROUP_V2 / "cgroup.controllers").exists():
            group = CGROUP_V2 / line[3:].lstrip("/") / name
            group.mkdir()
            (group / "memory.max").write_text(str(limit_bytes))

            def peak(group=group):
                peak_file = group / "memory.peak"
                return int(peak_file.read_text()) if peak_file.exists() else -1

            return group / "cgroup.procs", peak, group
    raise OSError("no memory cgroup controller found")


def _cgroup_remove(group):
    for _ in range(50):
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)


# ---------------------------------------------------------------------------------------------
# the child: one fit, its time and its memory


def _status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return -1


def child(args):
    from quboclf import QUBOCNNClassifier
    from quboclf._kernels import warm_up

    warm_up()
    X = np.load(args.x, mmap_mode="r")
    y = np.load(args.y)
    if args.in_memory:
        X = np.array(X)
    X_test, y_test = load_fashion(args.data_home, "test")
    baseline = _status_kib("RssAnon")
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _status_kib("RssAnon"))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    clf = QUBOCNNClassifier(
        n_bits=args.n_bits,
        batch_size=args.batch_size,
        feature_cache="memory" if args.in_memory else "disk",
        temp_folder=args.workdir,
        random_state=0,
    )
    tic = time.perf_counter()
    clf.fit(X, y)
    fit_s = time.perf_counter() - tic
    done.set()
    sampler.join()
    accuracy = clf.score(X_test, y_test)
    result = {
        "n": int(X.shape[0]),
        "fit_s": fit_s,
        "timing": clf.solver_info_["timing"],
        "n_iter": int(clf.n_iter_),
        "accuracy": float(accuracy),
        "baseline_anon_mib": baseline / 1024,
        "peak_anon_mib": peak[0] / 1024,
        "vm_hwm_mib": _status_kib("VmHWM") / 1024,
    }
    print("RESULT " + json.dumps(result), flush=True)


def run_child(args, x_path, y_path, *, in_memory, limit):
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--x",
        str(x_path),
        "--y",
        str(y_path),
        "--n-bits",
        str(args.n_bits),
        "--batch-size",
        str(args.batch_size),
        "--workdir",
        str(args.workdir),
    ] + (["--in-memory"] if in_memory else [])
    cmd += ["--data-home", args.data_home] if args.data_home else []
    procs = peak = group = None
    if limit:
        try:
            procs, peak, group = _cgroup_create(limit)
        except OSError as exc:
            print(f"  (no memory limit: cannot create a cgroup: {exc})", file=sys.stderr)

    def enter():
        if procs is not None:
            procs.write_text(str(os.getpid()))

    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=enter)
        line = [row for row in proc.stdout.splitlines() if row.startswith("RESULT ")]
        if proc.returncode != 0 or not line:
            raise RuntimeError(
                f"the fit failed (exit {proc.returncode}; -9 is the kernel's out-of-memory "
                f"kill):\n{proc.stderr[-3000:]}"
            )
        result = json.loads(line[0][len("RESULT ") :])
        result["limit_mib"] = limit / 2**20 if group is not None else None
        result["cgroup_peak_mib"] = peak() / 2**20 if group is not None else None
        return result
    finally:
        if group is not None:
            _cgroup_remove(group)


def _fmt(value, spec):
    return "–" if value is None else format(value, spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/quboclf-bench-scale"))
    parser.add_argument("--data-home", default=None, help="data folder of quboclf.datasets")
    parser.add_argument("--memory-limit", default="1.5G", help="e.g. 1.5G, 800M, or none")
    parser.add_argument("--n-bits", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--no-reference", action="store_true", help="skip the in-memory 1x fit")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--x", help=argparse.SUPPRESS)
    parser.add_argument("--y", help=argparse.SUPPRESS)
    parser.add_argument("--in-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)

    if args.memory_limit.lower() == "none":
        limit = None
    else:
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        text = args.memory_limit.upper().rstrip("B")
        limit = int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)
    args.workdir.mkdir(parents=True, exist_ok=True)
    runs = []
    for factor in args.factors:
        x_path, y_path = write_tiled(args.data_home, factor, args.workdir)
        try:
            print(f"{factor}x: fitting {60000 * factor} images ...", file=sys.stderr, flush=True)
            result = run_child(args, x_path, y_path, in_memory=False, limit=limit)
            result["label"] = f"{factor}x on disk"
            result["x_gb"] = x_path.stat().st_size / 1e9
            runs.append(result)
            if factor == 1 and not args.no_reference:
                _evict(x_path)
                result = run_child(args, x_path, y_path, in_memory=True, limit=None)
                result["label"] = "1x in memory"
                result["x_gb"] = x_path.stat().st_size / 1e9
                runs.append(result)
        finally:
            x_path.unlink(missing_ok=True)
            y_path.unlink(missing_ok=True)

    header = (
        "| run | images | X (GB) | fit (s) | s per 60k | features / passes / solves (s) | "
        "iters | anon before / peak (MiB) | VmHWM (MiB) | cgroup limit / peak (MiB) | test acc |"
    )
    lines = [header, "|" + "---|" * 11]
    for r in runs:
        t = r["timing"]
        passes = t["passes"] + t["start"] + t["scales"] + t["curvature"]
        lines.append(
            f"| {r['label']} | {r['n']:,} | {r['x_gb']:.2f} | {r['fit_s']:.1f} | "
            f"{r['fit_s'] * 60000 / r['n']:.1f} | "
            f"{t['features']:.1f} / {passes:.1f} / "
            f"{t['solves']:.1f} | {r['n_iter']} | "
            f"{r['baseline_anon_mib']:.0f} / {r['peak_anon_mib']:.0f} | "
            f"{r['vm_hwm_mib']:.0f} | {_fmt(r['limit_mib'], '.0f')} / "
            f"{_fmt(r['cgroup_peak_mib'], '.0f')} | {r['accuracy']:.4f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out is not None:
        args.out.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
