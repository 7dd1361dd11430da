"""Resolution of ``sampler=``: one :class:`Solver` per estimator fit, whatever solves the QUBOs.

Every estimator hands its :class:`~quboclf._qubo.QuadraticProblem` objects to a :class:`Solver`
made by :func:`make_solver` from the estimator's ``sampler`` and ``sampler_params``:

======================  =======================================================================
``sampler``             what solves the problem
======================  =======================================================================
``"sa"``                :func:`quboclf._anneal.anneal`: numba simulated annealing on the integer
                        levels with carry moves, warm-started from the current weights
``"sa-dimod"``          :class:`dwave.samplers.SimulatedAnnealingSampler` on the assembled BQM
``"tabu"``              :class:`dwave.samplers.TabuSampler` on the assembled BQM
``"exact"``             :class:`dimod.ExactSolver` (brute force, at most 20 free bits)
``"qpu"``               a D-Wave QPU through :class:`dwave.system.DWaveCliqueSampler`; problems
                        larger than its clique, or finer than its precision, as a sequence of
                        QPU-sized subproblems around the warm start (:mod:`quboclf._decompose`)
``"hybrid"``            Leap's hybrid solver through :class:`dwave.system.LeapHybridSampler`
a ``dimod.Sampler``     used as is on the assembled BQM
======================  =======================================================================

This module is the one home of sampler policy: estimators call :func:`make_solver` once per fit
with their own defaults (``defaults={"sa": {...}}``) and, for ``"sa"``, their per-problem
annealing schedule (``schedule=``); :func:`resolve_params` validates ``sampler_params`` there,
once, against the keys each dimod sampler declares in its ``parameters``. Access to Leap (the
QPU and the hybrid solver) lives in :mod:`quboclf._leap`.

A :class:`Solver` is a small picklable object that holds names and parameters only; it builds
its dimod sampler (and, for the QPU, its cloud client) lazily in the process that solves, and
caches it there. This keeps estimators cloneable and lets ``n_jobs`` ship solvers to workers.
"""

import functools
import math
import threading
import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from . import _decompose, _leap, _qubo
from ._leap import QPUAccessError, estimate_qpu_access_time

__all__ = [
    "SAMPLER_NAMES",
    "EXACT_MAX_VARIABLES",
    "QPUAccessError",
    "QPUBudgetWarning",
    "SolveResult",
    "Solver",
    "check_sampler",
    "estimate_qpu_access_time",
    "make_solver",
    "resolve_params",
    "seeds_from",
]

#: Names ``sampler=`` accepts (besides a ``dimod.Sampler`` instance).
SAMPLER_NAMES = ("sa", "sa-dimod", "tabu", "exact", "qpu", "hybrid")

#: ``sampler="exact"`` enumerates ``2**n`` states; it refuses problems with more free bits.
EXACT_MAX_VARIABLES = 20

# quboclf's own keys, accepted by every sampler and never passed on to it.
_COMMON_KEYS = frozenset({"polish"})

# quboclf's keys for solving a problem as a sequence of subproblems (quboclf._decompose); valid
# for "qpu", "sa-dimod", "tabu", "exact" and sampler instances, never passed on.
_DECOMPOSE_KEYS = frozenset(
    {"decompose", "subproblem_size", "window", "selection", "max_subproblems", "qpu_budget"}
)

# Retries of a QPU call that failed on a race for minorminer's clique cache file.
_CACHE_RETRIES = 3

#: Default binary variables per subproblem on the QPU (capped by the largest clique): between
#: smaller subproblems (better answers, more calls and QPU time) and larger ones, as measured
#: with the mocked Advantage-size QPU (user guide, "Larger problems: subproblems").
QPU_SUBPROBLEM_SIZE = 60

#: Default binary variables per subproblem for other decomposed samplers ("exact": 16).
SUBPROBLEM_SIZE = 60

# Sample keys quboclf sets itself (seeds come from random_state, starts from the warm start) or
# that have no meaning inside a fit; never taken from sampler_params.
_RESERVED_SAMPLE_KEYS = frozenset(
    {"seed", "initial_states", "initial_states_generator", "interrupt_function"}
)


def _named_sampler(name):
    """The dimod sampler of a named classical sampler (``"sa"`` is solved by
    :func:`quboclf._anneal.anneal` directly; its dimod face declares the same keys)."""
    if name == "sa":
        from ._dimod_sampler import CarryAnnealingSampler

        return CarryAnnealingSampler()
    if name == "sa-dimod":
        from dwave.samplers import SimulatedAnnealingSampler

        return SimulatedAnnealingSampler()
    if name == "tabu":
        from dwave.samplers import TabuSampler

        return TabuSampler()
    if name == "exact":
        import dimod

        return dimod.ExactSolver()
    if name == "steepest":  # not a sampler= name: the mocked QPU's own solver (quboclf.testing)
        from dwave.samplers import SteepestDescentSampler

        return SteepestDescentSampler()
    raise ValueError(f"{name!r} is not a named classical sampler")


@functools.cache
def _sample_keys(name):
    """Keys ``sampler_params`` may hold for a named classical sampler (besides _COMMON_KEYS):
    the sampler's own ``parameters`` less the reserved ones, ``warm_start`` where the sampler
    takes initial states, and the decomposition keys where problems may be decomposed."""
    parameters = set(_named_sampler(name).parameters)
    keys = parameters - _RESERVED_SAMPLE_KEYS
    if "initial_states" in parameters:
        keys.add("warm_start")
    if name != "sa":
        keys |= _DECOMPOSE_KEYS
    return frozenset(keys)


# Defaults that differ from the underlying sampler's own.
_DEFAULTS = {
    # anneal() ends every read with a greedy descent of its own move set unless told otherwise
    "sa": {"warm_start": True, "polish": True},
    # One read (DWaveSampler's default) wastes the ~15 ms programming time every problem pays.
    "qpu": {"num_reads": 100, "decompose": "auto"},
    # TabuSampler stops at a wall-clock timeout (20 ms) by default, so its answers depended on
    # the machine's load; a bounded number of restarts and no timeout make them reproducible.
    "tabu": {"timeout": None, "num_restarts": 0},
}

#: Memory dimod's ``BinaryQuadraticModel`` and dwave-samplers' C++ copies take per coupling of a
#: dense QUBO (measured: about 145 bytes); "sa-dimod" and "tabu" refuse problems that would not
#: fit in the available memory.
BQM_BYTES_PER_COUPLING = 145


class QPUBudgetWarning(UserWarning):
    """The QPU-time budget (``sampler_params["qpu_budget"]``) is spent.

    The fit ends cleanly: every solve after that returns its best answer so far (the warm start
    when no QPU call was left), so the estimator is fitted and usable, only less trained.
    """


@dataclass
class SolveResult:
    """Best answer found for one :class:`~quboclf._qubo.QuadraticProblem`.

    Attributes
    ----------
    levels : ndarray of shape (n,), dtype int64
        Integer levels of the best answer (after polishing, if requested).
    energy : float
        QUBO energy ``f(w(levels)) - f(offset)`` of ``levels``.
    info : dict
        What the solver reported. Always present: ``sampler`` (name or class name), ``time_s``
        (wall time of the whole solve), ``energy`` (as above), ``raw_energy`` (energy of the
        sampler's own best answer, before any polish), ``polished`` (whether a carry-move
        descent ran), ``initial_energy`` (energy of the ``initial`` levels, when given: an
        answer above it did not improve on the start), ``qpu_access_time``
        (microseconds summed over the solve's QPU calls, or None off the QPU), ``timing`` (the
        solver-reported timing dict, or ``{}``), ``n_qubo_variables`` (free binary variables),
        ``qpu_calls`` (sampler calls: QPU problems on the QPU, 0 for ``"sa"``),
        ``subproblem_sizes`` (binary variables of each call) and ``decomposed`` (whether the
        problem was solved in subproblems). Decomposed solves add ``qpu_access_times`` (per
        call), ``qpu_access_time_source`` (``"reported"`` by the QPU, or ``"estimated"`` by the
        timing model for a mock), ``n_accepted``, ``n_sweeps``, ``subproblem_size``,
        ``window`` and ``budget_exhausted``. Samplers add their own facts (reads,
        ``beta_range``, ``problem_id``, chain lengths, ...).
    """

    levels: np.ndarray
    energy: float
    info: dict = field(default_factory=dict)


def seeds_from(random_state, n):
    """Draw ``n`` integer seeds in ``[0, 2**31)`` from ``random_state``.

    Every sampler that takes a seed (``"sa"``, ``"sa-dimod"``, ``"tabu"``) accepts these.

    Parameters
    ----------
    random_state : int, RandomState instance or None
        Source of randomness, as in scikit-learn.
    n : int
        Number of seeds.

    Returns
    -------
    seeds : ndarray of shape (n,), dtype int64

    Examples
    --------
    >>> from quboclf._samplers import seeds_from
    >>> seeds = seeds_from(0, 3)
    >>> seeds.shape, bool(((seeds >= 0) & (seeds < 2**31)).all())
    ((3,), True)
    >>> bool((seeds_from(0, 3) == seeds).all())
    True
    """
    rng = check_random_state(random_state)
    return rng.randint(0, 2**31, size=int(n)).astype(np.int64)


def _is_sampler_instance(sampler):
    return callable(getattr(sampler, "sample", None)) and not isinstance(sampler, (str, type))


def _check_positive_int(name, value, sampler):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(
            f"sampler_params[{name!r}] for sampler={sampler!r} must be a positive int, "
            f"got {value!r}"
        )


def _check_beta_range(value, sampler):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo = hi = -1.0
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(
            f"sampler_params['beta_range'] for sampler={sampler!r} must be two positive finite "
            f"inverse temperatures (hot, cold), got {value!r}"
        )


def resolve_params(sampler, sampler_params=None, defaults=None):
    """Validate ``sampler`` and ``sampler_params`` and fill in the defaults: the one check of a fit.

    Nothing is built and no network is touched; for ``"qpu"`` and ``"hybrid"`` only the
    presence of dwave-system is checked (the solver-specific sample keys are checked against the
    solver's own parameters before anything is submitted). The keys a named classical sampler
    accepts are its dimod sampler's ``parameters`` (less ``seed`` and ``initial_states``, which
    quboclf sets), plus quboclf's own.

    Parameters
    ----------
    sampler : str or dimod.Sampler
        One of :data:`SAMPLER_NAMES`, or an object with a ``sample(bqm, **kwargs)`` method.
    sampler_params : dict or None
        Keyword arguments for the sampler (see the user guide for each sampler's keys), plus
        ``polish`` (bool) for all and ``warm_start`` (bool) where supported.
    defaults : dict or None
        The calling estimator's defaults, ``{sampler name: {key: value}}``; they override
        quboclf's defaults for that sampler and ``sampler_params`` overrides them.

    Returns
    -------
    params : dict
        A copy of ``sampler_params`` with the defaults filled in.

    Raises
    ------
    ValueError
        Unknown sampler name, unknown key (the message lists the valid ones) or a bad value.
    TypeError
        ``sampler`` is neither a string nor a sampler, or ``sampler_params`` is not a dict.
    ImportError
        ``"qpu"``/``"hybrid"`` without dwave-system installed.

    Examples
    --------
    >>> from quboclf._samplers import resolve_params
    >>> resolve_params("sa", {"num_reads": 8})
    {'warm_start': True, 'polish': True, 'num_reads': 8}
    >>> resolve_params("sa", {"num_reads": 8}, defaults={"sa": {"num_reads": 1, "num_sweeps": 10}})
    {'warm_start': True, 'polish': True, 'num_reads': 8, 'num_sweeps': 10}
    >>> resolve_params("sa", {"reads": 8})
    Traceback (most recent call last):
    ...
    ValueError: unknown sampler_params key 'reads' for sampler='sa'; valid keys: ...
    """
    if sampler_params is None:
        sampler_params = {}
    elif not isinstance(sampler_params, dict):
        raise TypeError(
            f"sampler_params must be a dict or None, got {type(sampler_params).__name__}"
        )
    if isinstance(sampler, str):
        if sampler not in SAMPLER_NAMES:
            raise ValueError(
                f"unknown sampler {sampler!r}; use one of {', '.join(map(repr, SAMPLER_NAMES))} "
                "or a dimod.Sampler instance"
            )
    elif not _is_sampler_instance(sampler):
        raise TypeError(
            "sampler must be one of "
            f"{', '.join(map(repr, SAMPLER_NAMES))} or a dimod.Sampler instance (an object with "
            f"a sample(bqm, **kwargs) method), got {type(sampler).__name__}"
        )
    for key in sampler_params:
        if not isinstance(key, str):
            raise TypeError(f"sampler_params keys must be strings, got {key!r}")

    name = sampler if isinstance(sampler, str) else None
    own = (defaults or {}).get(name, {}) if name is not None else {}
    params = {**_DEFAULTS.get(name, {}), **own, **sampler_params}

    if name in ("sa", "sa-dimod", "tabu", "exact"):
        valid = _sample_keys(name) | _COMMON_KEYS
        unknown = sorted(set(params) - valid)
        if unknown:
            s = "s" if len(unknown) > 1 else ""
            raise ValueError(
                f"unknown sampler_params key{s} {', '.join(map(repr, unknown))} for "
                f"sampler={name!r}; valid keys: {', '.join(sorted(valid))}"
            )
    elif name in ("qpu", "hybrid"):
        _leap.check_params(name, params)

    for key in ("num_reads", "num_sweeps", "num_sweeps_per_beta"):
        if key in params and (name is not None or key == "num_reads"):
            _check_positive_int(key, params[key], name or type(sampler).__name__)
    if "beta_range" in params and params["beta_range"] is not None:
        _check_beta_range(params["beta_range"], name)
    if name == "sa" and params.get("moves", "carry") not in ("carry", "flip"):
        raise ValueError(
            f"sampler_params['moves'] for sampler='sa' must be 'carry' or 'flip', "
            f"got {params['moves']!r}"
        )
    for key in ("polish", "warm_start"):
        if key in params and not isinstance(params[key], (bool, np.bool_)):
            raise ValueError(f"sampler_params[{key!r}] must be True or False, got {params[key]!r}")
    if name == "hybrid":
        used = sorted(set(params) & _DECOMPOSE_KEYS)
        if used:
            raise ValueError(
                f"sampler_params key {used[0]!r} is for solving in QPU-sized subproblems, which "
                "sampler='hybrid' does itself; drop it, or use sampler='qpu'"
            )
    else:
        _check_decompose_params(params, name or type(sampler).__name__)
    if name == "tabu" and params.get("timeout") is not None:
        t = params["timeout"]
        if isinstance(t, bool) or not isinstance(t, Real) or not t > 0:
            raise ValueError(
                f"sampler_params['timeout'] for sampler='tabu' must be a positive number of "
                f"milliseconds per read, or None for no time limit, got {t!r}"
            )
    if name == "tabu" and "num_restarts" in params:
        r = params["num_restarts"]
        if isinstance(r, bool) or not isinstance(r, Integral) or r < 0:
            raise ValueError(
                f"sampler_params['num_restarts'] for sampler='tabu' must be a non-negative int, "
                f"got {r!r}"
            )
    return params


def check_sampler(sampler, sampler_params=None):
    """Validate ``sampler`` and ``sampler_params`` (:func:`resolve_params` without an
    estimator's defaults).

    Examples
    --------
    >>> from quboclf._samplers import check_sampler
    >>> check_sampler("tabu")
    {'timeout': None, 'num_restarts': 0}
    """
    return resolve_params(sampler, sampler_params)


def _check_decompose_params(params, sampler):
    where = f"for sampler={sampler!r}"
    if "decompose" in params and not (
        params["decompose"] == "auto" or isinstance(params["decompose"], (bool, np.bool_))
    ):
        raise ValueError(
            f"sampler_params['decompose'] {where} must be 'auto', True or False, got "
            f"{params['decompose']!r}"
        )
    for key in ("subproblem_size", "max_subproblems"):
        if params.get(key) is not None:
            _check_positive_int(key, params[key], sampler)
    window = params.get("window", 4)
    if isinstance(window, bool) or not isinstance(window, Integral) or window < 2:
        raise ValueError(
            f"sampler_params['window'] {where} must be an int >= 2 (levels a weight may take "
            f"in one subproblem), got {window!r}"
        )
    if params.get("subproblem_size") is not None:
        need = math.ceil(math.log2(window))
        if params["subproblem_size"] < need:
            raise ValueError(
                f"sampler_params['subproblem_size']={params['subproblem_size']} {where} cannot "
                f"hold one weight's window of {window} levels ({need} qubits); raise it or "
                "lower 'window'"
            )
    if params.get("selection", "impact") not in _decompose.SELECTIONS:
        raise ValueError(
            f"sampler_params['selection'] {where} must be one of "
            f"{', '.join(map(repr, _decompose.SELECTIONS))}, got {params['selection']!r}"
        )
    budget = params.get("qpu_budget")
    if budget is not None and (
        isinstance(budget, bool)
        or not isinstance(budget, Real)
        or not budget > 0
        or not math.isfinite(budget)
    ):
        raise ValueError(
            f"sampler_params['qpu_budget'] {where} must be a positive number of seconds of QPU "
            f"access time, got {budget!r}"
        )


def make_solver(sampler, sampler_params=None, *, defaults=None, schedule=None):
    """Validate ``sampler``/``sampler_params`` once and return the fit's :class:`Solver`.

    Estimators call this once per fit, with their own defaults; the solver then serves every
    problem of the fit without validating again.

    Parameters
    ----------
    sampler : str, dimod.Sampler or Solver
        See :func:`resolve_params`; a :class:`Solver` (made earlier in the same fit) is
        returned as it is.
    sampler_params : dict or None
        See :func:`resolve_params`.
    defaults : dict or None
        The estimator's defaults, ``{sampler name: {key: value}}`` (see :func:`resolve_params`).
    schedule : callable, optional
        ``schedule(problem) -> (hot, cold)``: the estimator's annealing schedule for
        ``sampler="sa"``, used for every problem whose ``sampler_params`` give no
        ``beta_range`` (or ``None``). Must pickle (a module-level function) for process
        workers.

    Returns
    -------
    solver : Solver
        Cheap and picklable; nothing is built until :meth:`Solver.solve` runs.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem
    >>> from quboclf._samplers import make_solver
    >>> problem = QuadraticProblem(np.eye(2), np.array([-1.0, 0.5]), 0.5, -1.0, n_bits=2)
    >>> result = make_solver("exact").solve(problem)
    >>> result.levels, round(result.energy, 6), result.info["sampler"]
    (array([3, 1]), -2.0, 'exact')
    """
    if isinstance(sampler, Solver):  # made earlier in the same fit: validated already
        return sampler
    params = resolve_params(sampler, sampler_params, defaults)
    return Solver(sampler, params, schedule=schedule)


def _free_qubo_variables(problem):
    """Number of binary variables of ``to_bqm(problem)``: bits of the non-fixed levels."""
    return int(np.count_nonzero(problem.free)) * problem.n_bits


def _ising_beta_range(bqm, excitation_rate=0.01):
    """dwave-samplers' default SA ``beta_range`` for ``bqm``, vectorised.

    :func:`dwave.samplers.sa.sampler.default_beta_range` walks the biases in a Python loop
    (seconds on a dense BQM of a few thousand variables); this computes the same numbers from
    ``bqm.to_numpy_vectors()``: the hot end lets the spin with the largest summed |bias| flip
    with probability 1/2, the cold end makes exciting any spin across the smallest nonzero bias
    unlikely (rate ``excitation_rate``).
    """
    ldata, (irow, icol, qdata), _ = bqm.to_numpy_vectors()
    n = len(ldata)
    if bqm.vartype is bqm.vartype.BINARY:
        # x = (s + 1) / 2:  J = q / 4,  h_i = l_i / 2 + (sum of q over i's couplings) / 4
        J = qdata / 4.0
        h = ldata / 2.0 + (np.bincount(irow, qdata, n) + np.bincount(icol, qdata, n)) / 4.0
    else:
        J = np.asarray(qdata, dtype=np.float64)
        h = np.asarray(ldata, dtype=np.float64)
    absJ = np.abs(J)
    absh = np.abs(h)
    total = absh + np.bincount(irow, absJ, n) + np.bincount(icol, absJ, n)
    max_field = float(total.max(initial=0.0))
    hot = 1.0 if max_field == 0 else math.log(2) / (2 * max_field)
    nonzero_h, nonzero_J = absh[absh != 0], absJ[absJ != 0]
    if nonzero_h.size + nonzero_J.size == 0:
        return [0.1, 1.0]  # all biases zero: any schedule does
    min_field = float(min(nonzero_h.min(initial=np.inf), nonzero_J.min(initial=np.inf)))
    # variables whose smallest nonzero bias is the global minimum
    hit = np.zeros(n, dtype=bool)
    hit[absh == min_field] = True
    hit[irow[absJ == min_field]] = True
    hit[icol[absJ == min_field]] = True
    cold = math.log(np.count_nonzero(hit) / excitation_rate) / (2 * min_field)
    return [hot, cold]


# Builders of the Leap samplers; tests replace these names to run offline.
_build_clique_sampler = _leap.build_clique_sampler
_build_hybrid_sampler = _leap.build_hybrid_sampler


class Solver:
    """Solves :class:`~quboclf._qubo.QuadraticProblem` objects with one configured sampler.

    Made by :func:`make_solver`. Holds only the sampler name (or instance) and its parameters,
    so it pickles cheaply; the dimod sampler is built on the first :meth:`solve` in the process
    that solves and cached there (a pickled copy builds its own). :meth:`close` releases a
    cached QPU/hybrid client; a ``with`` block does it for you.

    Parameters
    ----------
    sampler : str or dimod.Sampler
        Validated sampler (see :func:`resolve_params`).
    params : dict
        Validated ``sampler_params``.
    schedule : callable, optional
        ``schedule(problem) -> beta_range`` for ``"sa"`` when ``params`` give none (see
        :func:`make_solver`).
    """

    def __init__(self, sampler, params, schedule=None):
        self.sampler = sampler
        self.params = dict(params)
        self.schedule = schedule
        self._cache = None
        self._lock = threading.Lock()
        self._usage = _new_usage()

    @property
    def usage(self):
        """Sampler calls and QPU access time (µs) of every solve so far, in this process.

        ``{"sampler_calls": int, "qpu_access_time": float, "subproblems_accepted": int,
        "budget_exhausted": bool}``; the ``qpu_budget`` is checked against
        ``qpu_access_time``. Threads share one solver (and
        its budget); a pickled copy (a process worker) counts from the value it was sent with.
        """
        with self._lock:
            return dict(self._usage)

    @property
    def _kind(self):
        # the name, or None for an instance (never compare an arbitrary object with strings)
        return self.sampler if isinstance(self.sampler, str) else None

    @property
    def name(self):
        """The sampler's name, or its class name for an instance."""
        return self.sampler if isinstance(self.sampler, str) else type(self.sampler).__name__

    def __repr__(self):
        return f"Solver({self.name!r}, {self.params!r})"

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = None  # live samplers (cloud clients, threads) stay in their process
        state["_lock"] = None
        return state

    def __setstate__(self, state):
        state.setdefault("_usage", _new_usage())
        state.setdefault("schedule", None)
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close a cached QPU/hybrid sampler (its cloud client's threads); no-op otherwise."""
        cache, self._cache = self._cache, None
        if cache is not None and isinstance(self.sampler, str):
            close = getattr(cache, "close", None)
            if callable(close):
                close()

    # -- sampler construction ------------------------------------------------------------------

    def _dimod_sampler(self):
        if not isinstance(self.sampler, str):
            return self.sampler
        if self._cache is None:
            with self._lock:
                if self._cache is None:
                    self._cache = self._build()
        return self._cache

    def _build(self):
        name = self.sampler
        if name in ("qpu", "hybrid"):
            # looked up here, so that tests can replace the hooks on this module
            builders = {"qpu": _build_clique_sampler, "hybrid": _build_hybrid_sampler}
            return _leap.build(name, self.params, builders)
        return _named_sampler(name)

    # -- solving -------------------------------------------------------------------------------

    def solve(self, problem, *, initial=None, seed=None):
        """Minimise the QUBO energy of ``problem``.

        Parameters
        ----------
        problem : QuadraticProblem
            The problem; its fixed variables (``lower == upper``) stay fixed.
        initial : ndarray of shape (n,), optional
            Warm-start levels (the current weights). Used by ``"sa"`` (unless
            ``warm_start=False``) and by ``"sa-dimod"``, ``"tabu"`` and sampler instances when
            ``sampler_params["warm_start"]`` is True; ignored otherwise.
        seed : int, optional
            Seed for samplers that take one (see :func:`seeds_from`).

        Returns
        -------
        result : SolveResult

        Raises
        ------
        ValueError
            The problem is too large for ``"exact"`` or for the QPU's largest clique, or a
            ``"qpu"``/``"hybrid"`` sample key is not a parameter of the selected solver.
        QPUAccessError
            Leap is not configured or cannot be reached.
        """
        start = time.perf_counter()
        if seed is not None:
            seed = int(seed)
        if initial is not None:
            initial = np.asarray(initial, dtype=np.int64)
            if initial.shape != (problem.n_variables,):
                raise ValueError(
                    f"initial must have shape ({problem.n_variables},), got {initial.shape}"
                )
        n_free = _free_qubo_variables(problem)
        if self._kind == "sa":
            # anneal() returns exact energies (recomputed at the end of every read)
            levels, raw_energy, info = self._solve_sa(problem, initial, seed)
        else:
            if n_free == 0:
                levels = problem.lower.copy()
                info = {"timing": {}, "qpu_access_time": None}
            elif self._decomposes(problem, n_free):
                levels, info = self._solve_decomposed(problem, initial, seed)
            elif self._budget_spent():
                levels = _start_levels(problem) if initial is None else initial.copy()
                info = {"qpu_calls": 0, "budget_exhausted": True}
                self._warn_budget()
            else:
                levels, info = self._solve_bqm(problem, n_free, initial, seed)
            raw_energy = float(_qubo.energy(problem, levels))
        energy = raw_energy
        polished = bool(self.params.get("polish", False))
        if polished and self._kind != "sa":  # "sa" polishes inside anneal(), every read
            from . import _anneal

            levels, energy = _anneal.descend(problem, levels)
            levels = np.asarray(levels, dtype=np.int64)
            energy = float(energy)
        if initial is not None:
            # lets the caller see an answer worse than where it started (too few sweeps, say)
            info["initial_energy"] = float(_qubo.energy(problem, initial))
        info = {
            "sampler": self.name,
            "n_qubo_variables": n_free,
            **info,
            "energy": energy,
            "raw_energy": raw_energy,
            "polished": polished,
            "time_s": time.perf_counter() - start,
        }
        info.setdefault("timing", {})
        info.setdefault("qpu_access_time", None)
        info.setdefault("qpu_calls", 0)
        info.setdefault("subproblem_sizes", [])
        info.setdefault("decomposed", False)
        return SolveResult(levels=np.asarray(levels, dtype=np.int64), energy=energy, info=info)

    # -- decomposition into subproblems (quboclf._decompose) -------------------------------------

    def _window(self):
        return int(self.params.get("window", 4))

    def _subproblem_limit(self, sampler):
        """Most binary variables per subproblem, and the solver facts it was read from."""
        size = self.params.get("subproblem_size")
        if self._kind == "qpu":
            largest = _leap.largest_clique_size(sampler, _CACHE_RETRIES)
            size = min(QPU_SUBPROBLEM_SIZE if size is None else int(size), largest)
            return size, {"largest_clique_size": largest}
        if size is None:
            size = EXACT_MAX_VARIABLES - 4 if self._kind == "exact" else SUBPROBLEM_SIZE
        if self._kind == "exact" and size > EXACT_MAX_VARIABLES:
            raise ValueError(
                f"sampler='exact' enumerates 2**n states and refuses subproblems of more than "
                f"{EXACT_MAX_VARIABLES} binary variables; got subproblem_size={size}"
            )
        return int(size), {}

    def _decomposes(self, problem, n_free):
        mode = self.params.get("decompose", False)
        if mode is True:
            return True
        if mode != "auto":
            return False
        partial = ~problem.fixed & ((problem.lower > 0) | (problem.upper < 2**problem.n_bits - 1))
        if 2**problem.n_bits > self._window() or np.any(partial):
            return True
        limit, _ = self._subproblem_limit(self._dimod_sampler())
        return n_free > limit

    def _budget_spent(self):
        budget = self.params.get("qpu_budget")
        if budget is None:
            return False
        with self._lock:
            spent = self._usage["qpu_access_time"] >= 1e6 * float(budget)
            if spent:
                self._usage["budget_exhausted"] = True
            return spent

    def _warn_budget(self):
        with self._lock:
            if self._usage.get("budget_warned"):
                return
            self._usage["budget_warned"] = True
            calls, used = self._usage["sampler_calls"], self._usage["qpu_access_time"]
        warnings.warn(
            f"the QPU budget of {self.params['qpu_budget']} s (sampler_params['qpu_budget']) is "
            f"spent: {calls} QPU calls used {used / 1e6:.3f} s of QPU access time. The "
            "remaining subproblems were skipped; solves return their best answer so far, so "
            "the model is fitted but less trained. Raise qpu_budget to train further.",
            QPUBudgetWarning,
            stacklevel=4,
        )

    def _sample_subproblem(self, sampler, Q, seed):
        """One subproblem through the sampler: ``(samples in column order 0..N-1, facts)``."""
        import dimod

        N = Q.shape[0]
        quadratic = np.triu(Q, 1)
        bqm = dimod.BinaryQuadraticModel(Q.diagonal().copy(), quadratic, 0.0, dimod.BINARY)
        kwargs = self._sample_kwargs(sampler, bqm, seed)
        leap = self._kind in ("qpu", "hybrid")
        for attempt in range(_CACHE_RETRIES + 1):
            try:
                sampleset = sampler.sample(bqm, **kwargs)
                record = sampleset.record
                variables = list(sampleset.variables)
                sample_info = dict(sampleset.info)
                break
            except Exception as exc:
                if leap and (isinstance(exc, _leap.leap_errors()) or _leap.is_config_error(exc)):
                    raise _leap.access_error(self._kind, exc) from exc
                # minorminer's on-disk clique cache, read on every call, is renamed into place
                # by whichever process touched it last: concurrent fits can race on it
                if not isinstance(exc, FileNotFoundError) or attempt == _CACHE_RETRIES:
                    raise
                time.sleep(0.05 * (attempt + 1))
        if len(record) == 0:
            raise ValueError(f"sampler {self.name!r} returned no samples")
        samples = np.zeros((len(record), N), dtype=np.int8)
        samples[:, np.asarray(variables, dtype=np.int64)] = record.sample
        if self._kind != "qpu" and np.any(record.sample < 0):  # a SPIN answer
            raise ValueError(f"sampler {self.name!r} returned SPIN samples for a BINARY model")
        num_reads = int(np.sum(record.num_occurrences))
        facts = _leap.leap_facts(sample_info, record)
        if self._kind == "qpu":
            facts.update(_leap.qpu_facts(sampler, sample_info))
        access, source = _leap.access_time(sampler, facts, kwargs, num_reads, N)
        with self._lock:
            self._usage["sampler_calls"] += 1
            if access is not None:
                self._usage["qpu_access_time"] += access
        facts["qpu_access_time"] = access
        facts["qpu_access_time_source"] = source
        return samples, facts

    def _solve_decomposed(self, problem, initial, seed):
        sampler = self._dimod_sampler()
        limit, info = self._subproblem_limit(sampler)
        if initial is None:
            start = _start_levels(problem)
        else:
            start = np.clip(initial, problem.lower, problem.upper)
        t0 = time.perf_counter()
        result = _decompose.decompose(
            problem,
            start,
            lambda Q, s: self._sample_subproblem(sampler, Q, s),
            subproblem_size=limit,
            window=self._window(),
            selection=self.params.get("selection", "impact"),
            max_calls=self.params.get("max_subproblems"),
            should_stop=self._budget_spent,
            seed=0 if seed is None else seed,
        )
        with self._lock:
            self._usage["subproblems_accepted"] += result.n_accepted
        calls = result.call_info
        times = [c["qpu_access_time"] for c in calls]
        has_time = any(t is not None for t in times)
        exhausted = result.stopped and self._budget_spent()
        info.update(
            {
                "decomposed": True,
                "subproblem_size": limit,
                "window": self._window(),
                "qpu_calls": result.n_calls,
                "subproblem_sizes": list(result.sizes),
                "n_accepted": result.n_accepted,
                "n_sweeps": result.n_sweeps,
                "qpu_access_times": times,
                "qpu_access_time": float(sum(t or 0.0 for t in times)) if has_time else None,
                "qpu_access_time_source": calls[0]["qpu_access_time_source"] if calls else None,
                "budget_exhausted": bool(exhausted),
                "sample_time_s": time.perf_counter() - t0,
                "timing": {},
            }
        )
        if calls:
            info["num_reads"] = self.params.get("num_reads")
            for key in ("num_qubits", "max_chain_length"):
                values = [c[key] for c in calls if key in c]
                if values:
                    info[key] = int(max(values))
            breaks = [c["chain_break_fraction"] for c in calls if "chain_break_fraction" in c]
            if breaks:
                info["chain_break_fraction"] = float(np.mean(breaks))
            for key in ("solver", "topology"):
                if key in calls[-1]:
                    info[key] = calls[-1][key]
        if exhausted:
            self._warn_budget()
        return np.asarray(result.levels, dtype=np.int64), info

    def _solve_sa(self, problem, initial, seed):
        from . import _anneal

        keys = _sample_keys("sa") | _COMMON_KEYS
        kwargs = {k: v for k, v in self.params.items() if k in keys}
        if self.schedule is not None and kwargs.get("beta_range") is None:
            kwargs["beta_range"] = self.schedule(problem)
        warm = kwargs.pop("warm_start", True)
        result = _anneal.anneal(problem, initial=initial if warm else None, seed=seed, **kwargs)
        info = {
            "num_reads": int(len(result.energies)),
            "beta_range": tuple(float(b) for b in result.beta_range),
            "anneal_time_s": float(result.time_s),
            "timing": {},
            "qpu_access_time": None,
        }
        return np.asarray(result.best_levels, dtype=np.int64), float(result.best_energy), info

    def _check_size(self, n_free, sampler):
        name = self._kind
        if name == "exact" and n_free > EXACT_MAX_VARIABLES:
            raise ValueError(
                f"sampler='exact' enumerates 2**n states and refuses problems with more than "
                f"{EXACT_MAX_VARIABLES} free binary variables; this one has {n_free}. Use fewer "
                "bits (n_bits) or fewer features, or another sampler ('sa', 'tabu')."
            )
        if name in ("qpu", "hybrid"):
            return _leap.check_size(name, sampler, n_free)
        if name in ("sa-dimod", "tabu"):
            _check_bqm_memory(name, n_free)
        return {}

    def _sample_kwargs(self, sampler, bqm, seed):
        name = self._kind
        drop = _COMMON_KEYS | _DECOMPOSE_KEYS | {"warm_start"}
        if name in ("qpu", "hybrid"):
            return _leap.sample_kwargs(name, sampler, self.params, drop)
        kwargs = {k: v for k, v in self.params.items() if k not in drop}
        if name == "sa-dimod" and kwargs.get("beta_schedule") is None:
            if kwargs.get("beta_range") is None:
                kwargs["beta_range"] = _ising_beta_range(bqm)
            kwargs["beta_range"] = [float(b) for b in kwargs["beta_range"]]
        takes_seed = name in ("sa-dimod", "tabu") or (
            name is None and "seed" in (getattr(sampler, "parameters", None) or {})
        )
        if takes_seed and seed is not None:
            kwargs["seed"] = seed
        return kwargs

    def _solve_bqm(self, problem, n_free, initial, seed):
        sampler = self._dimod_sampler()
        info = self._check_size(n_free, sampler)
        bqm = _qubo.to_bqm(problem)
        kwargs = self._sample_kwargs(sampler, bqm, seed)
        if initial is not None and self.params.get("warm_start", False):
            variables = list(bqm.variables)
            bits = _qubo.levels_to_bits(initial, problem.n_bits)
            # dwave-samplers' annealer takes int8 states only ("Buffer dtype mismatch")
            kwargs["initial_states"] = (
                np.asarray(bits[np.asarray(variables, dtype=np.int64)][None, :], dtype=np.int8),
                variables,
            )
        if "beta_range" in kwargs:
            info["beta_range"] = tuple(kwargs["beta_range"])
        leap = self._kind in ("qpu", "hybrid")
        t0 = time.perf_counter()
        try:
            sampleset = sampler.sample(bqm, **kwargs)
            _check_is_sampleset(self.name, sampleset)
            record = sampleset.record  # resolves a non-blocking (cloud) sample set
            variables = list(sampleset.variables)
            sample_info = dict(sampleset.info)
        except Exception as exc:
            if leap and (isinstance(exc, _leap.leap_errors()) or _leap.is_config_error(exc)):
                raise _leap.access_error(self._kind, exc) from exc
            raise
        info["sample_time_s"] = time.perf_counter() - t0
        _check_answer(self.name, bqm, record, variables)
        best = int(np.argmin(record.energy))
        levels = _qubo.sample_to_levels(problem, record.sample[best], variables)
        info["num_reads"] = (
            int(np.sum(record.num_occurrences))
            if "num_occurrences" in (record.dtype.names)
            else len(record)
        )
        info.update(_leap.leap_facts(sample_info, record))
        if self._kind == "qpu":
            info.update(_leap.qpu_facts(sampler, sample_info))
        access, source = _leap.access_time(sampler, info, kwargs, info["num_reads"], len(variables))
        info["qpu_access_time"] = access
        info["qpu_access_time_source"] = source
        info["qpu_calls"] = 1
        info["subproblem_sizes"] = [len(variables)]
        with self._lock:
            self._usage["sampler_calls"] += 1
            if access is not None:
                self._usage["qpu_access_time"] += access
        return np.asarray(levels, dtype=np.int64), info


def _available_memory():
    """Bytes of memory available to this process (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _check_bqm_memory(name, n_free):
    """Refuse a dense QUBO whose dimod BQM would not fit in memory (a bare MemoryError later)."""
    need = BQM_BYTES_PER_COUPLING * n_free * (n_free - 1) // 2
    available = _available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"sampler={name!r} needs about {need / 2**30:.1f} GiB for this QUBO: it has {n_free} "
            f"free binary variables, hence {n_free * (n_free - 1) // 2} couplings, and dimod's "
            f"BQM takes about {BQM_BYTES_PER_COUPLING} bytes per coupling; only "
            f"{available / 2**30:.1f} GiB of memory are available. Use sampler='sa' (quboclf's "
            "annealer works on the dense matrix, 8 bytes per coupling), or fewer bits (n_bits) "
            "or fewer features."
        )


def _check_is_sampleset(name, sampleset):
    import dimod

    if not isinstance(sampleset, dimod.SampleSet):
        raise TypeError(
            f"sampler {name!r} returned a {type(sampleset).__name__}, not a dimod.SampleSet: "
            "a sampler's sample(bqm, **kwargs) must return dimod.SampleSet (e.g. "
            "dimod.SampleSet.from_samples_bqm(samples, bqm))."
        )


def _check_answer(name, bqm, record, variables):
    """The sample set answers this BQM: every variable, binary values, finite energies."""
    if len(record) == 0:
        raise ValueError(f"sampler {name!r} returned no samples")
    missing = set(bqm.variables) - set(variables)
    if missing:
        shown = ", ".join(map(repr, sorted(missing, key=repr)[:5]))
        raise ValueError(
            f"sampler {name!r} returned samples without {len(missing)} of the BQM's "
            f"{len(bqm.variables)} variables (e.g. {shown}); it must return a value for every "
            "variable of the BQM it was given."
        )
    values = np.unique(np.asarray(record.sample))
    if not np.isin(values, (0, 1)).all():
        raise ValueError(
            f"sampler {name!r} returned values {values[:5].tolist()} for a BINARY BQM; "
            "samples must be 0 or 1."
        )
    energy = np.asarray(record.energy, dtype=np.float64)
    if not np.all(np.isfinite(energy)):
        raise ValueError(
            f"sampler {name!r} returned non-finite energies ({energy[~np.isfinite(energy)][:3]}"
            "); the answer cannot be trusted."
        )


def _new_usage():
    return {
        "sampler_calls": 0,
        "qpu_access_time": 0.0,
        "subproblems_accepted": 0,
        "budget_exhausted": False,
    }


def _start_levels(problem):
    """Levels of the continuous minimiser, rounded and clipped to the bounds (a cold start)."""
    w, *_ = np.linalg.lstsq(problem.H, -problem.h, rcond=None)
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.rint((w - problem.offset) / problem.delta)
    m = np.nan_to_num(m, nan=0.0, posinf=2.0**62, neginf=-(2.0**62))
    return np.clip(m, problem.lower, problem.upper).astype(np.int64)
