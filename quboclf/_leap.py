"""Access to D-Wave Leap: the QPU (``sampler="qpu"``) and the hybrid solver (``"hybrid"``).

Everything :mod:`quboclf._samplers` needs to reach Leap, and nothing else: building
``DWaveCliqueSampler``/``LeapHybridSampler`` from the connection keys of ``sampler_params``,
the checks made before a problem is sent (size, sample keys), turning Leap's connection and
configuration failures into :class:`QPUAccessError`, and reading QPU access time off an answer
(reported by Leap, or estimated by D-Wave's timing model for a mocked QPU). dwave-system is an
optional extra, imported here only when a QPU or hybrid sampler is built.

The QPU is reached only through ``dwave.system.DWaveSampler`` (below ``DWaveCliqueSampler``),
which :func:`mock_qpu` replaces with dwave-system's ``MockDWaveSampler`` to run offline.
"""

import time
from contextlib import contextmanager

import numpy as np

__all__ = [
    "CLIENT_KEYS",
    "QPUAccessError",
    "access_error",
    "access_time",
    "build",
    "check_params",
    "check_size",
    "estimate_qpu_access_time",
    "import_dwave_system",
    "is_config_error",
    "is_mock_qpu",
    "largest_clique_size",
    "leap_errors",
    "leap_facts",
    "mock_qpu",
    "qpu_facts",
    "sample_kwargs",
]

# Keys that configure the connection to Leap (dwave-cloud-client's ``Client.from_config``); every
# other key of ``"qpu"``/``"hybrid"`` goes to ``sample``.
CLIENT_KEYS = frozenset(
    {
        "token",
        "endpoint",
        "region",
        "solver",
        "profile",
        "config_file",
        "client",
        "proxy",
        "headers",
        "cert",
        "permissive_ssl",
        "connection_close",
        "request_timeout",
        "polling_timeout",
        "leap_api_endpoint",
    }
)
# Sample keys that DWaveCliqueSampler consumes itself (embedding), not listed in its parameters.
QPU_EMBEDDING_KEYS = frozenset({"chain_strength", "chain_break_method", "chain_break_fraction"})
# Keys quboclf sets itself on the QPU; a user value would break the clique embedding's scaling.
QPU_RESERVED_KEYS = frozenset({"auto_scale", "bias_range", "quadratic_range", "return_embedding"})

_INSTALL_QPU = 'pip install "quboclf[qpu]"'
_ACCESS_HELP = (
    "Configure access to D-Wave Leap in one of three ways: run `dwave config create` (dwave-"
    "cloud-client's interactive set-up, writes a configuration file with your API token), set "
    "the DWAVE_API_TOKEN environment variable, or pass sampler_params={'token': ...} (plus "
    "'region'/'endpoint'/'solver' if needed). Your token is on the Leap dashboard."
)


class QPUAccessError(RuntimeError):
    """D-Wave Leap (``sampler="qpu"`` or ``"hybrid"``) is not configured or cannot be reached.

    Raised instead of dwave-cloud-client's bare ``ValueError("API token not defined")``,
    authentication failures, timeouts and connection errors; the message says how to configure
    access and the original exception is chained as ``__cause__``.
    """


def import_dwave_system(sampler):
    """``dwave.system``, or an ImportError that names the extra to install."""
    try:
        import dwave.system
    except ImportError as exc:
        raise ImportError(
            f"sampler={sampler!r} needs dwave-system, which is not installed. Install the QPU "
            f"extra: {_INSTALL_QPU}"
        ) from exc
    return dwave.system


def access_error(name, exc):
    what = "the D-Wave QPU" if name == "qpu" else "Leap's hybrid solver"
    return QPUAccessError(
        f"sampler={name!r} could not reach {what}: {type(exc).__name__}: {exc}. {_ACCESS_HELP}"
    )


def leap_errors():
    """Exception types that mean "no access to Leap" (not a bad problem)."""
    errors = []
    try:
        from requests.exceptions import ConnectionError as RequestsConnectionError
        from requests.exceptions import Timeout as RequestsTimeout

        errors += [RequestsConnectionError, RequestsTimeout]
    except ImportError:  # pragma: no cover - requests comes with dwave-cloud-client
        pass
    try:
        from dwave.cloud.api.exceptions import (
            ResourceAccessForbiddenError,
            ResourceAuthenticationError,
        )
        from dwave.cloud.exceptions import (
            RequestTimeout,
            SolverAuthenticationError,
            SolverNotFoundError,
            SolverOfflineError,
        )

        errors += [
            ResourceAuthenticationError,
            ResourceAccessForbiddenError,
            SolverAuthenticationError,
            SolverNotFoundError,
            SolverOfflineError,
            RequestTimeout,
        ]
    except ImportError:  # pragma: no cover - older dwave-cloud-client
        pass
    return tuple(errors) + (ConnectionError, TimeoutError)


def is_config_error(exc):
    # dwave-cloud-client raises bare ValueErrors for a missing token or endpoint
    msg = str(exc)
    return isinstance(exc, ValueError) and ("token" in msg or "endpoint" in msg)


def build_clique_sampler(config):
    """``DWaveCliqueSampler(**config)``; a hook tests replace to run offline."""
    from dwave.system import DWaveCliqueSampler

    return DWaveCliqueSampler(**config)


def build_hybrid_sampler(config):
    """``LeapHybridSampler(**config)``; a hook tests replace to run offline."""
    from dwave.system import LeapHybridSampler

    return LeapHybridSampler(**config)


def is_mock_qpu(sampler):
    """Whether ``sampler`` (or the QPU below a clique sampler) is a mock QPU (no real timing)."""
    from .testing import NoisyMockSampler

    if isinstance(sampler, NoisyMockSampler):
        return True
    try:
        from dwave.system.testing import MockDWaveSampler
    except ImportError:  # no QPU extra: no mock QPU either
        return False
    child = getattr(sampler, "child", sampler)
    return isinstance(child, MockDWaveSampler)


def estimate_qpu_access_time(num_qubits, num_reads, *, annealing_time=None, timing_data=None):
    """QPU access time (µs) of one call by D-Wave's documented timing model.

    ``programming + num_reads × (anneal + readout(num_qubits) + delay)``, computed by
    dwave-cloud-client's ``StructuredSolver.estimate_qpu_access_time`` from a solver's
    ``problem_timing_data`` property; without one, from dwave-cloud-client's recorded
    Advantage 4.1 figures (``dwave.cloud.testing.mocks.qpu_problem_timing_data``: 14.1 ms
    programming, 1 ms thermalisation, 20 µs anneal, readout growing with the qubits used,
    20.5 µs delay per read).

    Examples
    --------
    >>> from quboclf._leap import estimate_qpu_access_time
    >>> round(estimate_qpu_access_time(1500, 100))
    42656
    """
    from types import SimpleNamespace

    from dwave.cloud.solver import StructuredSolver

    if timing_data is None:
        from dwave.cloud.testing.mocks import qpu_problem_timing_data

        timing_data = qpu_problem_timing_data("advantage")
    solver = SimpleNamespace(properties={"problem_timing_data": timing_data})
    return float(
        StructuredSolver.estimate_qpu_access_time(
            solver,
            int(max(num_qubits, 1)),
            num_reads=int(num_reads),
            annealing_time=annealing_time,
        )
    )


def access_time(sampler, facts, kwargs, num_reads, n_variables):
    """QPU access time (µs) of one call and where it comes from.

    A QPU (or Leap) reports it: ``"reported"``. dwave-system's ``MockDWaveSampler`` reports
    fixed demonstration figures whatever the problem and reads, so for the mock it is
    ``"estimated"`` by :func:`estimate_qpu_access_time` for the qubits of the embedding.
    """
    if is_mock_qpu(sampler):
        try:
            import dwave.cloud  # noqa: F401  (the timing model)
        except ImportError:  # a NoisyMockSampler without the QPU extra
            return None, None
        child = getattr(sampler, "child", sampler)
        props = getattr(child, "properties", None) or {}
        qubits = facts.get("num_qubits", n_variables)
        estimate = estimate_qpu_access_time(
            qubits,
            num_reads,
            annealing_time=kwargs.get("annealing_time"),
            timing_data=props.get("problem_timing_data"),
        )
        return estimate, "estimated"
    access = facts.get("qpu_access_time")
    if access is None:
        return None, None
    return float(access), facts.get("qpu_access_time_source") or "reported"


def leap_facts(sample_info, record):
    """Timing and bookkeeping the sample set reports (QPU, hybrid, or any sampler)."""
    timing = sample_info.get("timing", {})
    timing = dict(timing) if isinstance(timing, dict) else {}
    access = sample_info.get("qpu_access_time", timing.get("qpu_access_time"))
    facts = {"timing": timing, "qpu_access_time": None if access is None else float(access)}
    for key in ("problem_id", "problem_label", "run_time", "charge_time", "qpu_access_time_source"):
        if key in sample_info:
            facts[key] = sample_info[key]
    if "chain_break_fraction" in record.dtype.names:
        facts["chain_break_fraction"] = float(np.mean(record.chain_break_fraction))
    return facts


def qpu_facts(sampler, sample_info):
    """Embedding facts that are free to read off a clique-sampler answer."""
    facts = {}
    context = sample_info.get("embedding_context") or {}
    embedding = context.get("embedding")
    if embedding:
        chains = [len(chain) for chain in embedding.values()]
        facts["num_qubits"] = int(sum(chains))
        facts["max_chain_length"] = int(max(chains))
    if context.get("chain_strength") is not None:
        try:
            facts["chain_strength"] = float(context["chain_strength"])
        except (TypeError, ValueError):  # a mapping or callable given by the user
            pass
    child = getattr(sampler, "child", None)
    props = getattr(child, "properties", None) or {}
    if "chip_id" in props:
        facts["solver"] = props["chip_id"]
    topology = props.get("topology")
    if topology:
        facts["topology"] = f"{topology.get('type')}{list(topology.get('shape', []))}"
    return facts


def check_params(name, params):
    """The checks of ``sampler_params`` for ``"qpu"``/``"hybrid"`` that need no connection.

    dwave-system must be installed; quboclf's own scaling keys and warm starts are refused.
    The sample keys are checked against the selected solver's ``parameters`` by
    :func:`sample_kwargs`, once the solver is known.
    """
    import_dwave_system(name)
    reserved = sorted(set(params) & QPU_RESERVED_KEYS)
    if reserved:
        raise ValueError(
            f"sampler_params key {reserved[0]!r} cannot be set for sampler={name!r}: "
            "quboclf sets it (the clique embedding scales the problem itself)"
        )
    if "warm_start" in params:
        raise ValueError(
            f"sampler={name!r} does not support warm starts (the QPU would need reverse "
            "annealing); drop 'warm_start'"
        )


def build(name, params, builders):
    """The dimod sampler of ``"qpu"``/``"hybrid"``, connected with the client keys of ``params``.

    ``builders`` maps the name to its constructor (:func:`build_clique_sampler`,
    :func:`build_hybrid_sampler`, or a test's replacement).
    """
    import_dwave_system(name)
    config = {k: v for k, v in params.items() if k in CLIENT_KEYS}
    try:
        return builders[name](config)
    except leap_errors() as exc:
        raise access_error(name, exc) from exc
    except ValueError as exc:
        if is_config_error(exc):
            raise access_error(name, exc) from exc
        raise


def largest_clique_size(sampler, retries=3):
    """``sampler.largest_clique_size`` of a clique sampler, retried a few times.

    minorminer's on-disk clique cache, read here and on every call, is renamed into place by
    whichever process touched it last: concurrent fits can race on it (a FileNotFoundError).
    """
    for attempt in range(retries + 1):
        try:
            return int(sampler.largest_clique_size)
        except FileNotFoundError:
            if attempt == retries:
                raise
            time.sleep(0.05 * (attempt + 1))


def check_size(name, sampler, n_free):
    """Refuse a whole problem the solver cannot take; return the solver facts read."""
    if name == "qpu":
        largest = largest_clique_size(sampler)
        if n_free > largest:
            raise ValueError(
                f"this QUBO has {n_free} free binary variables but the largest clique the QPU "
                f"solver can embed has {largest}. Reduce n_bits or the number of features "
                "(weights), or use sampler='hybrid' for large dense problems."
            )
        return {"largest_clique_size": largest}
    props = getattr(sampler, "properties", {}) or {}
    max_vars = props.get("maximum_number_of_variables")
    if max_vars is not None and n_free > max_vars:
        raise ValueError(
            f"this QUBO has {n_free} free binary variables but Leap's hybrid solver "
            f"accepts at most {max_vars}. Reduce n_bits or the number of features."
        )
    max_biases = props.get("maximum_number_of_biases")
    n_biases = n_free * (n_free + 1) // 2  # dense: every linear and quadratic bias
    if max_biases is not None and n_biases > max_biases:
        raise ValueError(
            f"this dense QUBO has {n_biases} biases but Leap's hybrid solver accepts at "
            f"most {max_biases}. Reduce n_bits or the number of features."
        )
    return {}


def sample_kwargs(name, sampler, params, drop):
    """Keyword arguments of ``sampler.sample``: the keys of ``params`` that are neither quboclf's
    own (``drop``) nor connection settings, checked against the selected solver's
    ``parameters`` (plus, on the QPU, the clique sampler's embedding keys)."""
    kwargs = {k: v for k, v in params.items() if k not in drop and k not in CLIENT_KEYS}
    allowed = set(getattr(sampler, "parameters", {}) or {})
    if name == "qpu":
        allowed |= QPU_EMBEDDING_KEYS
    unknown = sorted(set(kwargs) - allowed)
    if unknown and allowed:
        raise ValueError(
            f"sampler_params key(s) {', '.join(map(repr, unknown))} are neither "
            f"connection settings ({', '.join(sorted(CLIENT_KEYS))}) nor parameters of "
            f"the selected {name} solver ({', '.join(sorted(allowed))})"
        )
    if name == "qpu":
        kwargs["return_embedding"] = True
    return kwargs


@contextmanager
def mock_qpu(*, topology_shape=16, substitute_sampler=None, parameter_warnings=True):
    """Replace the QPU below ``sampler="qpu"`` with dwave-system's ``MockDWaveSampler``.

    Inside the block every ``DWaveCliqueSampler`` that ``sampler="qpu"`` builds talks to
    ``MockDWaveSampler(topology_type="pegasus", topology_shape=[topology_shape])`` (P16: an
    Advantage-size graph whose largest clique is 180) instead of Leap, solving each embedded
    problem with ``substitute_sampler`` (default: the mock's own steepest descent; a
    :class:`quboclf.testing.NoisyMockSampler` adds control errors).
    """
    import_dwave_system("qpu")
    from dwave.system.testing import MockDWaveSampler

    def factory(**config):
        kwargs = {}
        if substitute_sampler is not None:
            kwargs["substitute_sampler"] = substitute_sampler
        return MockDWaveSampler(
            topology_type="pegasus",
            topology_shape=[int(topology_shape)],
            parameter_warnings=parameter_warnings,
            **kwargs,
        )

    from unittest import mock

    with mock.patch("dwave.system.samplers.clique.DWaveSampler", factory):
        yield
