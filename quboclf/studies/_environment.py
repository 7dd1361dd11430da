"""What a run ran on: versions, threads, the machine, D-Wave access, the kernel cache.

``quboclf info`` prints these facts; every ``quboclf bench`` run records them in its
``<study>-<dataset>-run.json``.
"""

import glob
import os
import platform
import sys
import threading
import time

_CORE_PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "numba",
    "dimod",
    "dwave-samplers",
    "dwave-system",
)
#: Packages whose versions ``quboclf info`` prints, and those the run record keeps.
INFO_PACKAGES = (*_CORE_PACKAGES, "dwave-cloud-client", "matplotlib", "tqdm")
RUN_PACKAGES = (*_CORE_PACKAGES, "threadpoolctl", "tqdm")


def version(name):
    """The installed version of the distribution ``name``, or "not installed"."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _kernel_dispatchers():
    from importlib import import_module

    from numba.core.dispatcher import Dispatcher

    from .._kernels import KERNEL_MODULES

    for name in KERNEL_MODULES:
        module = import_module(f"quboclf._kernels.{name}")
        for obj in vars(module).values():
            if isinstance(obj, Dispatcher):
                yield obj


def _cache_is_cold():
    """True if some kernel has no index in numba's on-disk cache (it will be compiled)."""
    try:
        for dispatcher in _kernel_dispatchers():
            folder = dispatcher.stats.cache_path
            module = dispatcher.py_func.__module__.rsplit(".", 1)[-1]
            pattern = f"{module}.{dispatcher.py_func.__qualname__}-*.nbi"
            if folder is None or not glob.glob(os.path.join(folder, pattern)):
                return True
    except Exception:  # an unusual numba layout: fall back to the timer below
        return False
    return False


def warm_up_with_notice(quiet):
    """Compile (or load) the kernels before the study, saying so when that takes a while."""
    from .. import warm_up

    message = "quboclf: compiling kernels (first run only; they are cached afterwards)..."
    if quiet:
        warm_up()
        return
    if _cache_is_cold():
        print(message, file=sys.stderr, flush=True)
        warm_up()
        return
    # a stale cache (new numba, edited source) also recompiles: say so if loading is slow
    done = threading.Event()

    def notice():
        if not done.wait(5.0):
            print(message, file=sys.stderr, flush=True)

    watcher = threading.Thread(target=notice, daemon=True)
    watcher.start()
    try:
        warm_up()
    finally:
        done.set()
        watcher.join()


def thread_facts():
    """Thread settings in force: numba's, and every BLAS/OpenMP pool threadpoolctl finds."""
    import numba
    from threadpoolctl import threadpool_info

    from .._config import get_config

    return {
        "blas_threads_in_fits": get_config()["blas_threads"],
        "numba": numba.get_num_threads(),
        "numba_max": int(numba.config.NUMBA_NUM_THREADS),
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "threadpools": [
            {k: pool.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
            for pool in threadpool_info()
        ],
        "environment": {
            k: os.environ[k]
            for k in (
                "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS",
            )
            if k in os.environ
        },
    }


def run_record(args):
    """What ``<study>-<dataset>-run.json`` holds: enough to rerun and to compare runs."""
    import quboclf

    try:
        cpus_usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus_usable = os.cpu_count()
    internal = ("func", "command_parser", "started", "argv")
    arguments = {k: v for k, v in vars(args).items() if k not in internal}
    return {
        "command": ["quboclf", *sys.argv[1:]] if args.argv is None else ["quboclf", *args.argv],
        "arguments": arguments,
        "seeds": list(args.seeds),
        "started_utc": args.started["utc"],
        "wall_time_s": round(time.perf_counter() - args.started["clock"], 3),
        "versions": {
            "quboclf": quboclf.__version__,
            "python": platform.python_version(),
            **{name: version(name) for name in RUN_PACKAGES},
        },
        "threads": {"requested": args.threads, **thread_facts()},
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "python_implementation": platform.python_implementation(),
            "cpu_count": os.cpu_count(),
            "cpus_usable": cpus_usable,
        },
    }


def qpu_status(ping):
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
        lines.append(
            f"QPU access configured: yes (token from {source}; endpoint "
            f"{config.get('endpoint') or 'default'}, solver "
            f"{config.get('solver') or 'default'})"
        )
    else:
        lines.append(
            "QPU access configured: no (set DWAVE_API_TOKEN or run "
            "`dwave config create`; see the QPU example in the docs)"
        )
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
