"""Command line of quboclf: ``quboclf bench classifier|quantizer`` and ``quboclf info``.

Run as ``quboclf`` or ``python -m quboclf``. The studies are :mod:`quboclf.studies`' functions;
this module parses and checks the arguments, runs a study, prints its table and writes its
files.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

from .. import _qubo, _samplers
from ..datasets import DataIntegrityError
from . import _environment, _report, _runs
from ._data import DATASETS, dataset_locations

_EPILOG = """examples:
  quboclf bench classifier --dataset digits
  quboclf bench classifier --dataset fashion-mnist --bits 4 8 12 16 20 --seeds 0 1 2
  quboclf bench quantizer --dataset digits --bits 8 6 4 3 2 1
  quboclf info --ping"""


def _error(message):
    print(f"quboclf: error: {message}", file=sys.stderr)


class _Failure(Exception):
    """A problem the command line diagnosed itself; the message names it and the fix (exit 1)."""


def _describe_classifier(args, r):
    return (
        f"{args.dataset}: {r['n_train']} training / {r['n_test']} test images, "
        f"{r['n_classes']} classes, d = {r['d']} random-conv features; sampler {args.sampler!r}"
    )


def _describe_quantizer(args, r):
    hidden, epochs = _runs.mlp_settings(args.dataset)
    return (
        f"{args.dataset}: {r['n_train']} training / {r['n_test']} test rows, MLPClassifier "
        f"hidden {hidden} ({epochs} epochs max), {args.n_calibration} calibration rows; "
        f"errors are sums over layers of ||X W^T + b - (X W_q^T + b_q)||_F^2"
    )


# What differs between the two studies on the command line: the study's own arguments (the
# rest are common), and the line that describes the data and the models above the table.
_STUDIES = {
    "classifier": (("max_iter", "init"), _describe_classifier),
    "quantizer": (("roundings", "n_calibration"), _describe_quantizer),
}


def _log_line(line):
    # through tqdm so that a line printed while a progress bar is shown does not break the bar
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stderr)


def _bench(args):
    """``quboclf bench <study>``: run it, print its table, write its files."""
    _preflight(args)
    _environment.warm_up_with_notice(args.quiet)
    study = args.study
    own_arguments, describe = _STUDIES[study]
    # looked up on the modules when called, so that tests can replace a study or a writer
    records, interrupted = _run(
        getattr(_runs, f"{study}_study"),
        args.dataset,
        args.bits,
        args.seeds,
        sampler=args.sampler,
        subsample=args.subsample,
        n_jobs=args.n_jobs,
        data_home=args.data_home,
        download_if_missing=not args.no_download,
        progress=not args.quiet,
        log=None if args.quiet else _log_line,
        **{name: getattr(args, name) for name in own_arguments},
    )
    summary = getattr(_report, f"summarize_{study}")(records)
    print(describe(args, records[0]))
    header, cells = getattr(_report, f"{study}_table")(summary)
    _write_outputs(args, records, summary, header, cells, getattr(_report, f"plot_{study}"))
    # 130: the shell's status of a process ended by SIGINT
    return 130 if interrupted else 0


def _run(study, *args, **kwargs):
    """``study(*args, **kwargs)``, or on Ctrl-C the records finished so far (an empty run raises).

    Returns ``(records, interrupted)``.
    """
    _runs._running["records"] = None  # never the records of an earlier study
    try:
        return study(*args, **kwargs), False
    except KeyboardInterrupt:
        records = _runs.finished_records()
        if not records:
            raise
        print(file=sys.stderr)
        _error(
            f"interrupted (Ctrl-C); saving the {len(records)} results that finished, which "
            "the table below shows."
        )
        return records, True


def _write_outputs(args, records, summary, header, cells, plot):
    """Table on stdout; raw CSV, summary CSV, Markdown, run record and PNG in ``args.out``."""
    seeds = ("seeds " if len(args.seeds) > 1 else "seed ") + " ".join(map(str, args.seeds))
    title = f"{args.study} study, {args.dataset}, {seeds}"
    print(f"\n{title}\n")
    print(_report.format_table(header, cells))
    stem = os.path.join(args.out, f"{args.study}-{args.dataset}")
    try:
        written = [
            _report.write_csv(records, f"{stem}.csv"),
            _report.write_csv(summary, f"{stem}-summary.csv"),
        ]
        with open(f"{stem}.md", "w") as fh:
            fh.write(f"### {title}\n\n{_report.to_markdown(header, cells)}\n")
        written.append(f"{stem}.md")
        with open(f"{stem}-run.json", "w") as fh:
            json.dump(_environment.run_record(args), fh, indent=2, default=str)
            fh.write("\n")
        written.append(f"{stem}-run.json")
        try:
            plot(summary, f"{stem}.png", title=title)
            written.append(f"{stem}.png")
        except ImportError:
            # not fatal: the tables are the results, the plot only shows them
            print(
                "quboclf: warning: matplotlib is not installed, so no plot was drawn "
                "(pip install 'quboclf[plot]'); the tables were written.",
                file=sys.stderr,
            )
    except OSError as exc:  # --out was checked up front; the disk can still fill up or vanish
        raise _Failure(
            f"could not write the results to the folder {args.out!r}: {exc}. The table above is "
            "complete; free some space or choose another folder with --out, then run again."
        ) from exc
    print("\nwrote " + ", ".join(written))


def _info(args):
    """``quboclf info``: versions, threads, D-Wave access, data sets."""
    import numba

    import quboclf

    print(
        f"quboclf {quboclf.__version__}, Python {platform.python_version()} ({platform.platform()})"
    )
    for name in _environment.INFO_PACKAGES:
        print(f"  {name:<18} {_environment.version(name)}")
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel numba function has run in this process yet
        layer = f"not initialised yet (configured: {numba.config.THREADING_LAYER})"
    print(
        f"numba: threading layer {layer}, {numba.get_num_threads()} threads, {os.cpu_count()} CPUs"
    )
    print("D-Wave:")
    for line in _environment.qpu_status(args.ping):
        print(f"  {line}")
    print("datasets:")
    for line in dataset_locations(args.data_home):
        print(f"  {line}")
    return 0


# --------------------------------------------------------------------------------------------
# Argument checks: every bad value is refused while parsing, before any data is loaded or any
# model is trained, with a message that names the problem and the fix (exit status 2).
# --------------------------------------------------------------------------------------------

#: Largest seed scikit-learn accepts as ``random_state``.
_MAX_SEED = 2**32 - 1

#: Samplers the studies can use: "exact" enumerates 2**n states and refuses every QUBO they pose.
_BENCH_SAMPLERS = tuple(name for name in _samplers.SAMPLER_NAMES if name != "exact")


def _integer(what, lo, hi=None, *, fix):
    """An argparse ``type`` accepting integers in ``[lo, hi]``; ``fix`` says what to pass."""
    bounds = f"from {lo} to {hi}" if hi is not None else f"of at least {lo}"

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an integer: {what} must be an integer {bounds}; {fix}"
            ) from None
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(
                f"{value} is out of range: {what} must be an integer {bounds}; {fix}"
            )
        return value

    return parse


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of parallel jobs: give a positive count, -1 for every CPU "
            "(-2 for all but one, ...), or leave --n-jobs out for one job"
        )
    return value


def _sampler(text):
    if text == "exact":
        raise argparse.ArgumentTypeError(
            f"'exact' enumerates every state and refuses QUBOs of more than "
            f"{_samplers.EXACT_MAX_VARIABLES} binary variables, and every QUBO of these studies "
            f"is larger; use one of {', '.join(_BENCH_SAMPLERS)} (default: sa)"
        )
    if text not in _BENCH_SAMPLERS:
        raise argparse.ArgumentTypeError(
            f"unknown sampler {text!r}; use one of {', '.join(_BENCH_SAMPLERS)} (default: sa)"
        )
    return text


def _existing_ancestor(path):
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _folder(text, option, purpose):
    """``text`` as an absolute path that is, or can become, a folder."""
    path = os.path.abspath(os.path.expanduser(text))
    if os.path.exists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(
            f"{text!r} is a file, not a folder: give {option} a folder ({purpose})"
        )
    base = _existing_ancestor(path)
    if not os.path.isdir(base):
        raise argparse.ArgumentTypeError(
            f"the folder {text!r} cannot be created because {base!r} is a file; give {option} "
            f"another folder ({purpose})"
        )
    return path, base


def _out_folder(text):
    _, base = _folder(text, "--out", "it is created if missing")
    try:  # the only sure test of write access (root, read-only mounts, ACLs)
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"cannot write into {base!r} ({exc.strerror or exc}), so the results could not be "
            f"saved in {text!r}; give --out a folder you can write to"
        ) from None
    return text


def _data_folder(text):
    _folder(text, "--data-home", "the one that holds, or will hold, the data sets")
    return text


class _Distinct(argparse.Action):
    """Store a list of values, refusing repeats (a repeated seed or width would skew the means)."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = set()
        repeated = [v for v in values if v in seen or seen.add(v)]
        if repeated:
            raise argparse.ArgumentError(
                self,
                f"{repeated[0]} is given more than once; list each value once, e.g. "
                f"{option_string} {' '.join(map(str, dict.fromkeys(values)))}",
            )
        setattr(namespace, self.dest, values)


def _preflight(args):
    """Checks of the environment a study needs, run before anything is loaded or trained."""
    if args.dataset != "digits" and args.data_home is None:
        from ..datasets import _base

        home = _base.resolve_data_home(None)
        if os.path.exists(home) and not os.path.isdir(home):
            raise _Failure(
                f"the data folder {home!r} (from ${_base.DATA_HOME_ENV}) is a file, not a "
                f"folder: point ${_base.DATA_HOME_ENV} or --data-home at a folder"
            )
    if args.sampler in ("qpu", "hybrid"):
        _samplers.check_sampler(args.sampler)  # ImportError naming the extra to install
        try:
            from dwave.cloud.config import load_config

            token = load_config().get("token")
        except Exception:  # an unreadable configuration: the sampler reports it when used
            return
        if not token:
            raise _samplers.QPUAccessError(
                f"--sampler {args.sampler} needs access to D-Wave Leap, but no API token is "
                "configured: set the DWAVE_API_TOKEN environment variable or run `dwave config "
                "create` (your token is on the Leap dashboard); `quboclf info --ping` checks "
                "the access. Or use --sampler sa, which runs locally."
            )


def _common(p, *, seeds, bits, bits_metavar, bits_type, bits_help):
    """The arguments both studies take."""
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="data set (default: digits, embedded in scikit-learn)",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        default=seeds,
        metavar="S",
        action=_Distinct,
        type=_integer("a seed", 0, _MAX_SEED, fix="e.g. --seeds 0 1 2"),
        help=f"seeds of the split/features/models (default: {' '.join(map(str, seeds))})",
    )
    p.add_argument(
        "--sampler",
        default="sa",
        type=_sampler,
        help=f"sampler of the QUBOs: {', '.join(_BENCH_SAMPLERS)} (default: sa)",
    )
    p.add_argument(
        "--subsample",
        default=None,
        metavar="N",
        type=_integer("--subsample", 1, fix="leave it out to use every row"),
        help="use at most N training and N test rows (stratified, seeded; at least one per class)",
    )
    p.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=None,
        metavar="N",
        help="parallel jobs of the QUBO solves (-1: every CPU)",
    )
    p.add_argument(
        "--out",
        default="quboclf-bench",
        metavar="DIR",
        type=_out_folder,
        help="folder for the CSV, Markdown and PNG files (default: quboclf-bench)",
    )
    p.add_argument(
        "--data-home",
        default=None,
        metavar="DIR",
        type=_data_folder,
        help="data folder of the fetchers (default: $QUBOCLF_DATA or ~/quboclf_data)",
    )
    p.add_argument(
        "--no-download", action="store_true", help="fail instead of downloading a missing data set"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-seed lines")
    p.add_argument(
        "--threads",
        default=None,
        metavar="N",
        type=_integer("--threads", 1, fix="e.g. --threads 1, or leave it out"),
        help="BLAS/OpenMP and numba threads for the run, BLAS inside fits included (default: "
        "leave them as they are, and fits use one BLAS thread); recorded in the run's "
        "-run.json with the other settings",
    )
    p.add_argument(
        "--bits",
        nargs="+",
        default=list(bits),
        metavar=bits_metavar,
        action=_Distinct,
        type=bits_type,
        help=bits_help,
    )
    p.set_defaults(func=_bench, command_parser=p)


def _count(p, option, default, help):
    """An option taking a positive count, such as ``--max-iter``."""
    p.add_argument(
        option,
        default=default,
        metavar="N",
        type=_integer(option, 1, fix=f"e.g. {option} {default} (the default)"),
        help=help,
    )


def _parser():
    from .. import __version__
    from .._quantizer import QUBOQuantizer

    max_width = QUBOQuantizer._parameter_constraints["n_bits"][0].right
    parser = argparse.ArgumentParser(
        prog="quboclf",
        description="Reproduce the studies of quboclf's two papers.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"quboclf {__version__} (Python {platform.python_version()})",
    )
    # The metavars make "required" errors list the choices instead of a bare "command".
    sub = parser.add_subparsers(dest="command", required=True, metavar="{bench,info}")
    bench = sub.add_parser("bench", help="run a study: classifier or quantizer")
    studies = bench.add_subparsers(dest="study", required=True, metavar="{classifier,quantizer}")
    clf = studies.add_parser("classifier", help="QUBO head vs SGD and logistic regression")
    # One seed by default keeps the main job (digits) at about a minute.
    _common(
        clf,
        seeds=[0],
        bits=_runs.CLASSIFIER_BITS,
        bits_metavar="K",
        bits_type=_integer(
            "the QUBO head's bit precision n_bits",
            1,
            _qubo.MAX_BITS,
            fix="e.g. --bits 4 8 12 16 20",
        ),
        bits_help="bit precisions (default: 1 2 3 4 6 8 10; the paper's: 4 8 12 16 20)",
    )
    _count(clf, "--max-iter", 100, "the head's max_iter (default: 100)")
    clf.add_argument(
        "--init",
        default="auto",
        choices=["auto", "zeros"],
        help="the head's init: auto (best rounding of a continuous fit, the default) or zeros "
        "(the paper's setting: every step of training is a QUBO solve)",
    )
    qnt = studies.add_parser(
        "quantizer", help="MLP float vs nearest, GPTQ, AdaRound and QUBO rounding"
    )
    _common(
        qnt,
        seeds=[0, 1, 2],
        bits=_runs.QUANTIZER_BITS,
        bits_metavar="W",
        bits_type=_integer(
            "the quantizer's bit width n_bits", 1, max_width, fix="e.g. --bits 8 6 4 3 2 1"
        ),
        bits_help="bit widths (default: 8 6 4 3 2 1)",
    )
    _count(qnt, "--n-calibration", 1024, "calibration rows of the quantizer (default: 1024)")
    qnt.add_argument(
        "--roundings",
        nargs="+",
        default=list(_runs.QUANTIZER_ROUNDINGS),
        choices=list(_runs.QUANTIZER_ROUNDINGS),
        metavar="R",
        action=_Distinct,
        help="roundings to compare: nearest gptq adaround qubo (default: all four)",
    )
    info = sub.add_parser("info", help="versions, threads, QPU configuration, data sets")
    info.add_argument("--ping", action="store_true", help="contact the D-Wave API")
    info.add_argument(
        "--data-home",
        default=None,
        metavar="DIR",
        type=_data_folder,
        help="data folder to report on (default: $QUBOCLF_DATA or ~/quboclf_data)",
    )
    info.set_defaults(func=_info, command_parser=info)
    return parser


class _thread_limits:
    """``--threads N``: BLAS/OpenMP pools (threadpoolctl) and numba's pool limited to N."""

    def __init__(self, n):
        self.n = n
        self._limiter = None
        self._numba_before = None

    def __enter__(self):
        if self.n is None:
            return self
        import numba
        from threadpoolctl import threadpool_limits

        most = int(numba.config.NUMBA_NUM_THREADS)
        if self.n > most:
            raise _Failure(
                f"--threads {self.n} asks for more threads than numba's pool has ({most}, set by "
                f"NUMBA_NUM_THREADS or the CPU count when the program started); use --threads "
                f"{most} or less, or start with NUMBA_NUM_THREADS={self.n}"
            )
        from .._config import get_config, set_config

        self._numba_before = numba.get_num_threads()
        numba.set_num_threads(self.n)
        self._limiter = threadpool_limits(limits=self.n)
        # fits set their own BLAS limit (one thread by default): make it this one
        self._config_before = get_config()["blas_threads"]
        set_config(blas_threads=self.n)
        return self

    def __exit__(self, *exc_info):
        if self._limiter is not None:
            import numba

            from .._config import set_config

            self._limiter.restore_original_limits()
            numba.set_num_threads(self._numba_before)
            set_config(blas_threads=self._config_before or "unlimited")
        return False


def _missing_data_hint(args):
    if args.no_download:
        return (
            "\nOn the command line: leave out --no-download to download it, or pass "
            "--data-home DIR naming the folder that holds the files."
        )
    return "\nOn the command line: --data-home DIR chooses the data folder."


def main(argv=None):
    """Entry point of the ``quboclf`` command; returns the exit status.

    0: done; 1: the data, the output folder or the QPU access is missing or broken; 2: a bad
    argument (argparse prints the usage; every value is checked before any work starts); 130:
    interrupted by Ctrl-C (the results that finished are printed and saved).
    """
    try:
        args, unknown = _parser().parse_known_args(argv)
        if unknown:
            # argparse would blame the top-level parser and show its usage; blame the command
            # that was given, whose usage lists the options it does take.
            command = args.command_parser
            command.error(
                f"unrecognized arguments: {' '.join(unknown)} (`{command.prog} --help` lists "
                "the options)"
            )
    except SystemExit as exc:  # argparse has printed the usage and the error (or --help)
        return exc.code
    args.argv = None if argv is None else list(argv)
    args.started = {
        "utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "clock": time.perf_counter(),
    }
    try:
        with _thread_limits(getattr(args, "threads", None)):
            return args.func(args)
    except KeyboardInterrupt:
        # Ctrl-C: no traceback; 130 is the shell's status of a process ended by SIGINT
        print(file=sys.stderr)
        _error("interrupted (Ctrl-C) before any result finished; nothing was saved.")
        return 130
    except _Failure as exc:
        _error(str(exc))
        return 1
    except DataIntegrityError as exc:
        # The file is there but damaged; the message names it (and usually says what to do).
        message = str(exc)
        if "delete it" not in message and "replace it" not in message.lower():
            message += " Delete or replace the damaged file, then run again."
        _error(message)
        return 1
    except FileNotFoundError as exc:
        # The fetchers' message says what was searched and how to fix it.
        _error(str(exc) + _missing_data_hint(args))
        return 1
    except (ImportError, _samplers.QPUAccessError) as exc:  # no QPU extra, no Leap access
        _error(str(exc))
        return 1
    except (ValueError, TypeError) as exc:  # what only the study can check, e.g. --subsample
        _error(f"{type(exc).__name__}: {exc}")
        return 2
    except OSError as exc:  # e.g. the data folder cannot be created for a download
        _error(f"{type(exc).__name__}: {exc}. Check the folder named above (--data-home, --out).")
        return 1


if __name__ == "__main__":
    sys.exit(main())
