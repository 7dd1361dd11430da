"""Command line of quboclf: ``quboclf bench classifier|quantizer`` and ``quboclf info``.

Also ``python -m quboclf``. The studies live in :mod:`quboclf._bench`; this module only parses
arguments, prints tables and writes files.
"""

import argparse
import os
import platform
import sys

from . import _bench

_EPILOG = """examples:
  quboclf bench classifier --dataset digits
  quboclf bench classifier --dataset fashion-mnist --bits 4 8 12 16 20 --seeds 0 1 2
  quboclf bench quantizer --dataset digits --bits 8 6 4 3 2 1
  quboclf info --ping"""


def _error(message):
    print(f"quboclf: error: {message}", file=sys.stderr)


def _write_outputs(kind, args, records, summary, header, cells, plot):
    """Table on stdout; raw CSV, summary CSV, Markdown and PNG in ``args.out``."""
    seeds = ("seeds " if len(args.seeds) > 1 else "seed ") + " ".join(map(str, args.seeds))
    title = f"{kind} study, {args.dataset}, {seeds}"
    print(f"\n{title}\n")
    print(_bench.format_table(header, cells))
    stem = os.path.join(args.out, f"{kind}-{args.dataset}")
    written = [
        _bench.write_csv(records, f"{stem}.csv"),
        _bench.write_csv(summary, f"{stem}-summary.csv"),
    ]
    with open(f"{stem}.md", "w") as fh:
        fh.write(f"### {title}\n\n{_bench.to_markdown(header, cells)}\n")
    written.append(f"{stem}.md")
    try:
        plot(summary, f"{stem}.png", title=title)
        written.append(f"{stem}.png")
    except ImportError:
        # not fatal: the tables are the results, the plot only shows them
        print("quboclf: warning: matplotlib is not installed, so no plot was drawn "
              "(pip install 'quboclf[plot]'); the tables were written.", file=sys.stderr)
    print("\nwrote " + ", ".join(written))


def _bench_classifier(args):
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    records = _bench.classifier_study(
        args.dataset, args.bits, args.seeds, sampler=args.sampler, subsample=args.subsample,
        max_iter=args.max_iter, n_jobs=args.n_jobs, data_home=args.data_home,
        download_if_missing=not args.no_download, progress=not args.quiet, log=log,
    )
    summary = _bench.summarize_classifier(records)
    r = records[0]
    print(f"{args.dataset}: {r['n_train']} training / {r['n_test']} test images, "
          f"{r['n_classes']} classes, d = {r['d']} random-conv features; sampler {args.sampler!r}")
    header, cells = _bench.classifier_table(summary)
    _write_outputs("classifier", args, records, summary, header, cells, _bench.plot_classifier)
    return 0


def _bench_quantizer(args):
    log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    records = _bench.quantizer_study(
        args.dataset, args.bits, args.seeds, sampler=args.sampler, subsample=args.subsample,
        n_calibration=args.n_calibration, n_jobs=args.n_jobs, data_home=args.data_home,
        download_if_missing=not args.no_download, progress=not args.quiet, log=log,
    )
    summary = _bench.summarize_quantizer(records)
    hidden, epochs = _bench._mlp_settings(args.dataset)
    r = records[0]
    print(f"{args.dataset}: {r['n_train']} training / {r['n_test']} test rows, MLPClassifier "
          f"hidden {hidden} ({epochs} epochs max), {args.n_calibration} calibration rows; "
          f"errors are sums over layers of ||X W^T + b - (X W_q^T + b_q)||_F^2")
    header, cells = _bench.quantizer_table(summary)
    _write_outputs("quantizer", args, records, summary, header, cells, _bench.plot_quantizer)
    return 0


def _version(name):
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _qpu_status(ping):
    """Whether D-Wave access is configured (token present, never printed), optionally pinged."""
    token_env = bool(os.environ.get("DWAVE_API_TOKEN"))
    try:
        from dwave.cloud.config import get_configfile_paths, load_config
    except ImportError:
        where = "DWAVE_API_TOKEN is set" if token_env else "no DWAVE_API_TOKEN"
        return [f"dwave-cloud-client not installed ({where}); pip install 'quboclf[qpu]'"]
    lines = []
    try:
        paths = get_configfile_paths()
        config = load_config()
    except Exception as exc:  # a malformed config file must not break `info`
        return [f"could not read the D-Wave configuration: {exc}"]
    token = bool(config.get("token"))
    lines.append("configuration files: " + (", ".join(paths) if paths else "none"))
    if token:
        source = "DWAVE_API_TOKEN" if token_env else "configuration file"
        lines.append(f"QPU access configured: yes (token from {source}; endpoint "
                     f"{config.get('endpoint') or 'default'}, solver "
                     f"{config.get('solver') or 'default'})")
    else:
        lines.append("QPU access configured: no (set DWAVE_API_TOKEN or run "
                     "`dwave config create`; see the QPU example in the docs)")
    if ping:
        if not token:
            lines.append("ping: skipped (no token)")
        else:
            try:
                from dwave.cloud import Client

                with Client.from_config() as client:
                    names = [s.name for s in client.get_solvers()]
                lines.append(f"ping: ok, {len(names)} solvers: {', '.join(names[:6])}")
            except Exception as exc:
                lines.append(f"ping: failed: {type(exc).__name__}: {exc}")
    return lines


_DATA_SUBDIRS = {"mnist": "mnist", "fashion-mnist": "fashion-mnist", "kmnist": "kmnist",
                 "emnist": "emnist", "cifar10": "cifar-10"}


def _dataset_lines(data_home):
    from .datasets import _base

    home = _base.resolve_data_home(data_home)
    lines = [f"data home: {home}" + ("" if os.path.isdir(home) else " (does not exist yet)"),
             "system locations: " + ", ".join(_base.SYSTEM_DIRS),
             "digits: embedded in scikit-learn"]
    for name, sub in _DATA_SUBDIRS.items():
        found = [os.path.join(d, sub) for d in (home, *_base.SYSTEM_DIRS)
                 if os.path.isdir(os.path.join(d, sub)) and os.listdir(os.path.join(d, sub))]
        lines.append(f"{name}: " + (f"files in {', '.join(found)}" if found else
                                     "not found (downloaded on first use)"))
    return lines


def _info(args):
    import numba

    import quboclf

    print(f"quboclf {quboclf.__version__}, Python {platform.python_version()} "
          f"({platform.platform()})")
    for name in ("numpy", "scipy", "scikit-learn", "numba", "dimod", "dwave-samplers",
                 "dwave-system", "dwave-cloud-client", "matplotlib", "tqdm"):
        print(f"  {name:<18} {_version(name)}")
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel numba function has run in this process yet
        layer = f"not initialised yet (configured: {numba.config.THREADING_LAYER})"
    print(f"numba: threading layer {layer}, {numba.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs")
    print("D-Wave:")
    for line in _qpu_status(args.ping):
        print(f"  {line}")
    print("datasets:")
    for line in _dataset_lines(args.data_home):
        print(f"  {line}")
    return 0


def _common(p, seeds):
    p.add_argument("--dataset", choices=_bench.DATASETS, default="digits",
                   help="data set (default: digits, embedded in scikit-learn)")
    p.add_argument("--seeds", type=int, nargs="+", default=seeds, metavar="S",
                   help="seeds of the split/features/models (default: "
                   f"{' '.join(map(str, seeds))})")
    p.add_argument("--sampler", default="sa", help="sampler of the QUBOs (default: sa)")
    p.add_argument("--subsample", type=int, default=None, metavar="N",
                   help="use at most N training and N test rows (stratified, seeded)")
    p.add_argument("--n-jobs", type=int, default=None)
    p.add_argument("--out", default="quboclf-bench", metavar="DIR",
                   help="folder for the CSV, Markdown and PNG files (default: quboclf-bench)")
    p.add_argument("--data-home", default=None, help="data folder of the fetchers")
    p.add_argument("--no-download", action="store_true",
                   help="fail instead of downloading a missing data set")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-seed lines")


def _parser():
    parser = argparse.ArgumentParser(
        prog="quboclf", description="Reproduce the studies of quboclf's two papers.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="run a study: classifier or quantizer")
    studies = bench.add_subparsers(dest="study", required=True)
    clf = studies.add_parser("classifier", help="QUBO head vs SGD and logistic regression")
    # One seed by default keeps the main job (digits) at about a minute.
    _common(clf, [0])
    clf.add_argument("--bits", type=int, nargs="+", default=list(_bench.CLASSIFIER_BITS),
                     metavar="K", help="bit precisions (default: 4 8 12 16 20)")
    clf.add_argument("--max-iter", type=int, default=100, help="the head's max_iter")
    clf.set_defaults(func=_bench_classifier)
    qnt = studies.add_parser("quantizer", help="MLP float vs nearest vs QUBO rounding")
    _common(qnt, [0, 1, 2])
    qnt.add_argument("--bits", type=int, nargs="+", default=list(_bench.QUANTIZER_BITS),
                     metavar="W", help="bit widths (default: 8 6 4 3 2 1)")
    qnt.add_argument("--n-calibration", type=int, default=1024)
    qnt.set_defaults(func=_bench_quantizer)
    info = sub.add_parser("info", help="versions, threads, QPU configuration, data sets")
    info.add_argument("--ping", action="store_true", help="contact the D-Wave API")
    info.add_argument("--data-home", default=None)
    info.set_defaults(func=_info)
    return parser


def main(argv=None):
    """Entry point of the ``quboclf`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except FileNotFoundError as exc:
        # The fetchers' message says what was searched and how to fix it.
        _error(str(exc))
        return 1
    except (ValueError, TypeError) as exc:  # bad --sampler, --bits out of range, ...
        _error(f"{type(exc).__name__}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
