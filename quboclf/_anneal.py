"""Structured simulated annealing: the solver behind ``sampler="sa"``.

A generic QUBO sampler sees ``n * n_bits`` anonymous bits. :func:`anneal` works on the integer
*levels* of a :class:`~quboclf._qubo.QuadraticProblem` instead, which brings two things (see
the user guide's samplers page):

* **Cost.** It keeps ``u = H w``. A move that changes ``w_j`` by ``d`` costs
  ``ΔE = d (h_j + u_j) + ½ d² H_jj`` to evaluate (O(1)) and ``u += d H[:, j]`` to accept (O(n)),
  and it needs only ``H`` in memory (O(n²)), never the ``(n * n_bits)²`` QUBO matrix.
* **Moves.** ``moves="carry"`` (the default) adds ``±2**k`` to a level, carries included, so going
  from level ``0111`` to ``1000`` is one move instead of four bit flips through high-energy
  states. ``moves="flip"`` flips single bits, as dwave-samplers' SA and a QPU do; it is there for
  comparison and stalls a few percent above the optimum on the classifier's problems.

Both move sets visit exactly the QUBO's states and report exactly its energies
(:func:`quboclf._qubo.energy`), so results are interchangeable with any other sampler's.
"""

import math
import time
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from ._kernels._anneal import anneal_levels, descend_levels, field_and_energy
from ._qubo import QuadraticProblem

__all__ = ["AnnealResult", "anneal", "default_beta_range", "descend"]

#: Default number of sweeps of :func:`anneal` (one sweep = ``n_bits`` proposals per free level).
DEFAULT_NUM_SWEEPS = 100

#: Passes of the end-of-read descent that ``polish=True`` allows. Coordinate descent on an
#: ill-conditioned fine grid (16+ bits) creeps on for thousands of passes of shrinking gains;
#: the cap keeps one solve O(passes * n²) whatever the resolution.
POLISH_PASSES = 32

_MOVES = ("carry", "flip")


@dataclass(frozen=True)
class AnnealResult:
    """What :func:`anneal` returns.

    Attributes
    ----------
    levels : ndarray of shape (num_reads, n), dtype int64
        Final levels of every read (each read's best state, polished unless ``polish=False``).
    energies : ndarray of shape (num_reads,)
        QUBO energies ``f(w) − f(offset)`` of ``levels``, recomputed exactly from the levels.
    best_levels : ndarray of shape (n,), dtype int64
        The lowest-energy row of ``levels`` (the first one on ties).
    best_energy : float
        Its energy.
    beta_range : tuple of float
        The ``(hot, cold)`` inverse temperatures of the geometric schedule that was run.
    time_s : float
        Wall-clock time of the call, in seconds.
    """

    levels: np.ndarray
    energies: np.ndarray
    best_levels: np.ndarray
    best_energy: float
    beta_range: tuple
    time_s: float


def _check_problem(problem):
    if not isinstance(problem, QuadraticProblem):
        raise TypeError(
            f"problem must be a quboclf._qubo.QuadraticProblem, got {type(problem).__name__}"
        )


def _writable(a):
    # numba compiles a separate specialisation for read-only arrays (e.g. QuadraticProblem's
    # broadcast vectors); copying an O(n) vector is cheaper than that. H is passed as is.
    return a if a.flags.writeable else a.copy()


def _vectors(problem):
    return tuple(
        _writable(getattr(problem, name)) for name in ("h", "delta", "offset", "lower", "upper")
    )


def _free_indices(problem):
    return np.flatnonzero(problem.free).astype(np.int64)


def default_beta_range(problem):
    """Default ``(hot, cold)`` inverse temperatures of :func:`anneal`, from the problem's scale.

    The energy of moving level ``j`` by ``s`` steps away from a coordinate-wise minimum is
    ``½ (s δ_j)² H_jj``. With ``c_j = ½ δ_j² H_jj`` (the cost of a one-step move, one least
    significant bit, there) over the free variables:

    * **hot** ``= ln 2 / median_j(4**(n_bits − 1) c_j)``: a move of the top bit, half the
      level range, out of a minimum is accepted with probability ½ for a typical variable, so
      the hot end can reach every level;
    * **cold** ``= ln 100 / min_j c_j``: a one-step uphill move is accepted with probability at
      most 1 %, so the end of the schedule is practically greedy.

    For one-bit problems the two scales coincide and the range is ``ln 2 / median c`` to
    ``ln 100 / min c``. If no free variable has curvature (``H_jj = 0`` for all of them) the
    linear scale ``δ_j |h_j + (H offset)_j|`` takes the place of ``c_j``; with no scale at all
    (or no free variable) the range is ``(1.0, 1.0)``.

    Parameters
    ----------
    problem : QuadraticProblem
        The problem.

    Returns
    -------
    beta_range : tuple of float
        ``(beta_hot, beta_cold)``, with ``0 < beta_hot <= beta_cold``.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem
    >>> from quboclf._anneal import default_beta_range
    >>> problem = QuadraticProblem(np.eye(2), np.zeros(2), delta=0.5, offset=-2.0, n_bits=3)
    >>> hot, cold = default_beta_range(problem)
    >>> round(hot, 4), round(cold, 4)  # c_j = 0.125: ln 2 / (16 * 0.125), ln 100 / 0.125
    (0.3466, 36.8414)
    """
    _check_problem(problem)
    free = _free_indices(problem)
    if free.size == 0:
        return (1.0, 1.0)
    delta = problem.delta[free]
    scale = 0.5 * delta**2 * np.diagonal(problem.H)[free]
    scale = scale[scale > 0]
    if scale.size == 0:
        lin = delta * np.abs(problem.h[free] + problem.H[free] @ problem.offset)
        scale = lin[lin > 0]
        if scale.size == 0:
            return (1.0, 1.0)
    hot = math.log(2.0) / (4.0 ** (problem.n_bits - 1) * float(np.median(scale)))
    cold = math.log(100.0) / float(np.min(scale))
    return (hot, max(hot, cold))


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _check_levels(problem, levels, name, shape):
    arr = np.asarray(levels)
    if arr.shape not in shape:
        raise ValueError(f"{name} must have shape {' or '.join(map(str, shape))}, got {arr.shape}")
    if arr.dtype.kind not in "iu":
        if (
            arr.dtype.kind not in "fb"
            or not np.all(np.isfinite(arr))
            or np.any(arr != np.rint(arr))
        ):
            raise ValueError(f"{name} must hold integer levels, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    bad = (arr < problem.lower) | (arr > problem.upper)
    if np.any(bad):
        j = int(np.flatnonzero(bad.reshape(-1, problem.n_variables).any(axis=0))[0])
        raise ValueError(
            f"{name} has levels outside the problem's bounds, e.g. variable {j} must lie in "
            f"[{problem.lower[j]}, {problem.upper[j]}]; clip the start "
            "(np.clip(initial, problem.lower, problem.upper)) or use initial=None"
        )
    return arr


def anneal(
    problem,
    *,
    initial=None,
    num_reads=4,
    num_sweeps=DEFAULT_NUM_SWEEPS,
    beta_range=None,
    moves="carry",
    seed=None,
    polish=True,
):
    """Minimise a :class:`~quboclf._qubo.QuadraticProblem` by simulated annealing on its levels.

    Each read starts from ``initial`` and runs ``num_sweeps`` Metropolis sweeps whose inverse
    temperature rises geometrically from ``beta_range[0]`` to ``beta_range[1]`` (one sweep makes
    ``n_bits`` proposals per free level, visiting the levels in order, the same count as one sweep
    over the QUBO's bits). The best state seen at the end of a sweep is kept, and the final and
    best states are polished by a greedy descent (``polish``), so with carry moves every read ends
    in a local minimum of all single-level changes. Fixed variables (``lower == upper``) never
    move. With ``initial`` given, the start counts as a state seen and, when ``polish`` is on,
    so does the start polished by the same descent: a read never ends above ``initial``'s energy,
    nor above that of its polished start (a majorise-minimise loop that warm-starts from its
    current weights can rely on the first, and anneal never does worse than :func:`descend`).

    Parameters
    ----------
    problem : QuadraticProblem
        The problem; its ``H`` (symmetric) is used in place, never copied, so calling this many
        times on problems that share one ``H`` costs no O(n²) copies.
    initial : array-like of shape (n,) or (num_reads, n), default=None
        Warm-start levels (every read starts there), within the problem's bounds. ``None``: each
        read starts from its own uniformly random levels in ``[lower, upper]``.
    num_reads : int, default=4
        Independent reads.
    num_sweeps : int, default=100
        Sweeps per read; 0 only polishes ``initial``.
    beta_range : (float, float), default=None
        ``(hot, cold)`` inverse temperatures of the geometric schedule (the QUBO energy's scale);
        ``None`` uses :func:`default_beta_range`.
    moves : {"carry", "flip"}, default="carry"
        ``"carry"``: each proposal adds ``±2**k`` (``k < n_bits`` and the sign uniform) to a level,
        carries included; a move past a bound is clipped to the bound (still a valid level, the
        same bits semantics), and one that the clip would cancel goes the other way instead, so
        with ``n_bits=1`` a carry move is a bit flip. ``"flip"``: the proposals flip the level's
        bits in turn, as a generic QUBO sampler does; a flip past a bound is rejected.
    seed : int >= 0, default=None
        Seed: the same seed gives the same result (on any thread: the kernel's xorshift64*
        generator is local to the call, not numba's global one). Read ``r`` gets its own seed
        derived with ``numpy.random.SeedSequence``, and random starts come from a separate
        stream of the same sequence. ``None``: fresh entropy.
    polish : bool or int, default=True
        End each read with the greedy descent of its move set: :func:`descend` for carry moves,
        a greedy bit-flip descent for flips (the local search a generic QUBO sampler has, so
        ``"flip"`` stays comparable with one), for at most :data:`POLISH_PASSES` passes (an int
        sets the cap). ``False`` or 0 returns the raw annealing result.

    Returns
    -------
    result : AnnealResult
        ``levels`` (num_reads, n), their exact ``energies``, ``best_levels``, ``best_energy``,
        the ``beta_range`` used and ``time_s``.

    See Also
    --------
    descend : The greedy descent alone, e.g. to polish another sampler's answer.
    default_beta_range : How the default schedule is derived.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem, energy
    >>> from quboclf._anneal import anneal
    >>> H = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> problem = QuadraticProblem(H, np.array([-0.9, 2.2]), delta=0.25, offset=-2.0, n_bits=4)
    >>> result = anneal(problem, num_sweeps=100, seed=0)
    >>> result.best_levels  # w = (1.25, -1.75), the best grid point
    array([13,  1])
    >>> bool(np.isclose(result.best_energy, energy(problem, result.best_levels)))
    True
    """
    start = time.perf_counter()
    _check_problem(problem)
    num_reads = _check_int("num_reads", num_reads, 1)
    num_sweeps = _check_int("num_sweeps", num_sweeps, 0)
    if moves not in _MOVES:
        raise ValueError(f"moves must be one of {_MOVES}, got {moves!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    if polish is True or polish is False or isinstance(polish, np.bool_):
        polish = POLISH_PASSES if polish else 0
    else:
        polish = _check_int("polish", polish, 0)
    if beta_range is None:
        beta_range = default_beta_range(problem)
    else:
        try:
            hot, cold = (float(b) for b in beta_range)
        except (TypeError, ValueError):
            raise TypeError(
                f"beta_range must be a pair (hot, cold) of positive floats, got {beta_range!r}"
            ) from None
        if not (hot > 0 and cold > 0 and math.isfinite(hot) and math.isfinite(cold)):
            raise ValueError(f"beta_range must hold positive finite floats, got {beta_range!r}")
        beta_range = (hot, cold)
    n = problem.n_variables

    seq = np.random.SeedSequence(None if seed is None else int(seed))
    init_seq, kernel_seq = seq.spawn(2)
    seeds = kernel_seq.generate_state(num_reads, dtype=np.uint32).astype(np.int64)
    if initial is None:
        rng = np.random.default_rng(init_seq)
        levels = rng.integers(problem.lower, problem.upper, size=(num_reads, n), endpoint=True)
    else:
        start_levels = _check_levels(problem, initial, "initial", ((n,), (num_reads, n)))
        levels = np.empty((num_reads, n), dtype=np.int64)
        levels[:] = start_levels
    levels = np.ascontiguousarray(levels, dtype=np.int64)

    betas = np.geomspace(beta_range[0], beta_range[1], num_sweeps) if num_sweeps else np.empty(0)
    args = (problem.H, *_vectors(problem), problem.n_bits, _free_indices(problem))
    if initial is not None and polish and num_sweeps:
        # the polished warm start is a candidate of every read that starts there
        if np.ndim(initial) == 1:  # one start for every read (np.unique costs ms here)
            starts, which = levels[:1].copy(), np.zeros(num_reads, dtype=np.intp)
        else:
            starts, which = np.unique(levels, axis=0, return_inverse=True)
        start_energies = np.empty(len(starts))
        anneal_levels(*args, starts, np.empty(0), moves == "carry", seeds, polish, start_energies)
    energies = np.empty(num_reads)
    anneal_levels(*args, levels, betas, moves == "carry", seeds, polish, energies)
    if initial is not None and polish and num_sweeps:
        which = which.reshape(-1)
        worse = start_energies[which] < energies
        levels[worse] = starts[which[worse]]
        energies[worse] = start_energies[which[worse]]
    best = int(np.argmin(energies))
    return AnnealResult(
        levels=levels,
        energies=energies,
        best_levels=levels[best].copy(),
        best_energy=float(energies[best]),
        beta_range=beta_range,
        time_s=time.perf_counter() - start,
    )


def descend(problem, levels, *, max_passes=100_000):
    """Greedy descent from ``levels`` to a local minimum of the carry moves (deterministic).

    Passes over the free variables in order; each step moves one level to its best value given
    the others (the integer nearest the coordinate minimiser, clipped to the bounds), which is at
    least as good as every ``±2**k`` carry move of that level. It stops when a pass changes
    nothing (a local minimum: no single-level change, so no carry move, lowers the energy) or
    after ``max_passes`` passes. Use it to polish another sampler's answer; the energy never
    rises.

    Parameters
    ----------
    problem : QuadraticProblem
        The problem.
    levels : array-like of shape (n,)
        Start levels, within the problem's bounds (e.g. from
        :func:`quboclf._qubo.bits_to_levels` of a sampler's answer).
    max_passes : int, default=100_000
        Safety cap on the number of passes.

    Returns
    -------
    levels : ndarray of shape (n,), dtype int64
        The polished levels (a new array).
    energy : float
        Their QUBO energy, computed exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._qubo import QuadraticProblem
    >>> from quboclf._anneal import descend
    >>> problem = QuadraticProblem(np.eye(2), np.array([-1.0, 0.5]), delta=0.25, offset=-2.0,
    ...                            n_bits=4)
    >>> levels, e = descend(problem, [0, 15])  # w = (1, -0.5) is on the grid
    >>> levels, round(e, 4)
    (array([12,  6]), -5.625)
    """
    _check_problem(problem)
    max_passes = _check_int("max_passes", max_passes, 1)
    n = problem.n_variables
    m = _check_levels(problem, levels, "levels", ((n,),)).copy()
    u = np.empty(n)
    h, delta, offset, lower, upper = _vectors(problem)
    args = (problem.H, h, delta, offset, problem.H @ offset)
    field_and_energy(*args, m, u)
    descend_levels(problem.H, h, delta, lower, upper, _free_indices(problem), m, u, max_passes)
    return m, float(field_and_energy(*args, m, u))
