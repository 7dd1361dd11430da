"""quboclf's simulated annealer as a :class:`dimod.Sampler`, for any Ocean code.

:class:`CarryAnnealingSampler` poses a dimod model as a bounded integer quadratic problem
(:class:`~quboclf._qubo.QuadraticProblem`) and runs :func:`quboclf._anneal.anneal` on it:

* a :class:`dimod.BinaryQuadraticModel` (``sample``, ``sample_ising``, ``sample_qubo``) becomes
  a problem of one-bit levels, annealed with single-bit flips, as dwave-samplers' simulated
  annealing does;
* a :class:`dimod.QuadraticModel` with integer (and binary or spin) variables
  (``sample_qm``) keeps its integers: every variable is one level in ``[lower, upper]`` and the
  proposals add ``±2**k`` to it, carries included, so ``7 → 8`` is one move instead of four bit
  flips through higher energies.

Energies in the returned :class:`dimod.SampleSet` are computed by dimod from the model itself.
"""

import math
import time
from numbers import Integral

import dimod
import numpy as np

from ._anneal import DEFAULT_NUM_SWEEPS, POLISH_PASSES, anneal, default_beta_range
from ._qubo import MAX_BITS, QuadraticProblem

__all__ = ["CarryAnnealingSampler"]

_MOVES = ("carry", "flip")


def _check_seed(seed):
    # dwave-samplers' convention: a 32-bit unsigned integer, or None for fresh entropy
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an int in [0, 2**32) or None, got {seed!r}")
    return int(seed)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _bqm_problem(bqm, labels):
    """One-bit :class:`QuadraticProblem` of ``bqm`` (as BINARY) over ``labels``."""
    binary = bqm.binary
    ldata, (irow, icol, qdata), _ = binary.to_numpy_vectors(variable_order=labels)
    n = len(labels)
    H = np.zeros((n, n))
    np.add.at(H, (irow, icol), qdata)
    np.add.at(H, (icol, irow), qdata)
    return QuadraticProblem(H, ldata, delta=1.0, offset=0.0, n_bits=1)


def _qm_problem(qm, labels):
    """Integer :class:`QuadraticProblem` of ``qm``: ``x_j = offset_j + delta_j m_j``."""
    n = len(labels)
    index = {v: j for j, v in enumerate(labels)}
    offset = np.zeros(n)
    delta = np.ones(n)
    span = np.zeros(n, dtype=np.int64)
    for j, v in enumerate(labels):
        vartype = qm.vartype(v)
        if vartype is dimod.SPIN:
            offset[j], delta[j], span[j] = -1.0, 2.0, 1
        elif vartype is dimod.BINARY:
            span[j] = 1
        elif vartype is dimod.INTEGER:
            lo, hi = qm.lower_bound(v), qm.upper_bound(v)
            lo_i, hi_i = math.ceil(lo), math.floor(hi)
            if hi_i - lo_i >= 2**MAX_BITS:
                raise ValueError(
                    f"integer variable {v!r} has bounds [{lo:g}, {hi:g}], a range of more than "
                    f"2**{MAX_BITS} values, which the annealer cannot encode; give it tighter "
                    f"bounds, e.g. qm.set_upper_bound({v!r}, ...) (dimod's default upper bound "
                    "is 2**53 - 1)"
                )
            offset[j], span[j] = lo_i, hi_i - lo_i
        else:
            raise ValueError(
                f"variable {v!r} is {vartype.name}; CarryAnnealingSampler samples BINARY, SPIN "
                "and INTEGER variables only"
            )
    h = np.array([qm.get_linear(v) for v in labels], dtype=np.float64)
    H = np.zeros((n, n))
    for u, v, bias in qm.iter_quadratic():
        i, j = index[u], index[v]
        if i == j:
            H[i, i] += 2.0 * bias  # bias * x² = ½ (2 bias) x²
        else:
            H[i, j] += bias
            H[j, i] += bias
    n_bits = max(1, int(span.max()).bit_length()) if n else 1
    problem = QuadraticProblem(H, h, delta=delta, offset=offset, n_bits=n_bits, upper=span)
    return problem


class CarryAnnealingSampler(dimod.Sampler, dimod.Initialized):
    """quboclf's simulated annealer as a dimod sampler: flips on BQMs, carry moves on integers.

    Works wherever Ocean code takes a :class:`dimod.Sampler` (composites, ``hybrid``,
    your own loops) and as ``sampler=`` of quboclf's estimators. :meth:`sample` (and the
    inherited :meth:`sample_ising` / :meth:`sample_qubo`) anneals a binary quadratic model with
    single-bit flips; :meth:`sample_qm` anneals a :class:`dimod.QuadraticModel` whose integer
    variables keep their values: each proposal adds ``±2**k`` to one variable, clipped to its
    bounds, the move set that lets the annealer cross from ``0111`` to ``1000`` in one step. Both
    use quboclf's numba kernel (each sweep makes ``n_bits`` proposals per variable, with
    Metropolis acceptance on a geometric schedule of inverse temperatures) and end every read
    with a greedy descent of the same move set (``polish``).

    The sampler has no state: ``seed`` makes a call reproducible, as in dwave-samplers.

    See Also
    --------
    dwave.samplers.SimulatedAnnealingSampler : The generic bit-flip annealer of Ocean.

    Examples
    --------
    A BQM, as with any dimod sampler:

    >>> import dimod
    >>> from quboclf import CarryAnnealingSampler
    >>> sampler = CarryAnnealingSampler()
    >>> bqm = dimod.BinaryQuadraticModel({"a": -1.0, "b": 0.5}, {("a", "b"): -2.0}, 0.0, "SPIN")
    >>> best = sampler.sample(bqm, num_reads=4, seed=0).first
    >>> {v: int(s) for v, s in best.sample.items()}, float(best.energy)
    ({'a': 1, 'b': 1}, -2.5)

    An integer quadratic model: minimise ``(i - 5)² + (j + 2)²`` over ``0 <= i <= 9``,
    ``-4 <= j <= 4``:

    >>> qm = dimod.QuadraticModel()
    >>> qm.add_variable("INTEGER", "i", lower_bound=0, upper_bound=9)
    'i'
    >>> qm.add_variable("INTEGER", "j", lower_bound=-4, upper_bound=4)
    'j'
    >>> qm.add_quadratic("i", "i", 1.0); qm.add_linear("i", -10.0)
    >>> qm.add_quadratic("j", "j", 1.0); qm.add_linear("j", 4.0); qm.offset = 29.0
    >>> best = sampler.sample_qm(qm, num_reads=4, seed=0).first
    >>> {v: int(x) for v, x in best.sample.items()}, float(best.energy)
    ({'i': 5, 'j': -2}, 0.0)
    """

    @property
    def parameters(self):
        """Keyword arguments of :meth:`sample` and :meth:`sample_qm` (dimod's sampler API)."""
        return {
            "num_reads": [],
            "num_sweeps": [],
            "beta_range": [],
            "moves": [],
            "polish": [],
            "seed": [],
            "initial_states": [],
            "initial_states_generator": [],
        }

    @property
    def properties(self):
        """Fixed facts of the sampler (dimod's sampler API)."""
        return {
            "move_sets": _MOVES,
            "default_num_sweeps": DEFAULT_NUM_SWEEPS,
            "max_integer_range": 2**MAX_BITS - 1,
        }

    def sample(
        self,
        bqm,
        *,
        num_reads=None,
        num_sweeps=DEFAULT_NUM_SWEEPS,
        beta_range=None,
        moves="flip",
        polish=True,
        seed=None,
        initial_states=None,
        initial_states_generator="random",
    ):
        """Anneal a binary quadratic model with single-bit flips.

        Parameters
        ----------
        bqm : dimod.BinaryQuadraticModel
            The model, SPIN or BINARY (the sample set has the same vartype).
        num_reads : int, default=None
            Reads; ``None``: the number of ``initial_states``, or 1.
        num_sweeps : int, default=100
            Sweeps per read; one sweep proposes one flip of every variable.
        beta_range : (float, float), default=None
            ``(hot, cold)`` inverse temperatures of the geometric schedule, in the model's energy
            units; ``None``: dwave-samplers' default rule (the strongest variable flips with
            probability ½ at the hot end, the weakest bias is excited with probability 1 % at
            the cold end).
        moves : {"flip", "carry"}, default="flip"
            On one-bit variables the two are the same move; kept for symmetry with
            :meth:`sample_qm`.
        polish : bool or int, default=True
            End every read with a greedy descent (at most ``POLISH_PASSES`` = 32 passes; an int
            sets the cap, ``False`` or 0 turns it off).
        seed : int in [0, 2**32), default=None
            Same seed, same sample set. ``None``: fresh entropy.
        initial_states : samples-like, default=None
            Start states (any form :func:`dimod.as_samples` takes), in the model's vartype.
        initial_states_generator : {"random", "tile", "none"}, default="random"
            How to fill reads beyond the given ``initial_states`` (dimod's convention).

        Returns
        -------
        sampleset : dimod.SampleSet
            One row per read with dimod's energies; ``info`` holds ``beta_range``,
            ``num_sweeps``, ``moves`` and ``timing`` (seconds).
        """
        if not isinstance(bqm, dimod.BinaryQuadraticModel):
            if isinstance(bqm, dimod.QuadraticModel):
                raise TypeError(
                    "sample() takes a dimod.BinaryQuadraticModel; use sample_qm() for a "
                    "dimod.QuadraticModel with integer variables"
                )
            raise TypeError(f"bqm must be a dimod.BinaryQuadraticModel, got {type(bqm).__name__}")
        num_sweeps, moves, polish, seed = self._check(num_sweeps, moves, polish, seed)
        if num_reads is not None:
            num_reads = _check_positive("num_reads", num_reads)
        parsed = self.parse_initial_states(
            bqm,
            initial_states=initial_states,
            initial_states_generator=initial_states_generator,
            num_reads=num_reads,
            seed=seed,
        )
        start_set = parsed.initial_states
        labels = list(start_set.variables) if len(start_set.variables) else list(bqm.variables)
        starts = np.asarray(start_set.record.sample, dtype=np.int64)
        if bqm.vartype is dimod.SPIN:
            starts = (starts + 1) // 2
        if beta_range is None and labels:
            from ._samplers import _ising_beta_range  # the rule "sa-dimod" uses too

            beta_range = tuple(_ising_beta_range(bqm))
        levels, info = self._anneal(
            _bqm_problem(bqm, labels), starts, num_sweeps, beta_range, moves, polish, seed
        )
        values = 2 * levels - 1 if bqm.vartype is dimod.SPIN else levels
        return dimod.SampleSet.from_samples_bqm((values, labels), bqm, info=info)

    def sample_ising(self, h, J, **parameters):
        """Anneal the Ising model ``E(s) = Σ h_i s_i + Σ J_ij s_i s_j`` (dimod's mixin).

        Parameters
        ----------
        h : dict or list
            Linear biases.
        J : dict
            Quadratic biases, ``{(u, v): bias}``.
        **parameters
            Keyword arguments of :meth:`sample`.

        Returns
        -------
        sampleset : dimod.SampleSet
            SPIN samples with their energies.
        """
        return super().sample_ising(h, J, **parameters)

    def sample_qubo(self, Q, **parameters):
        """Anneal the QUBO ``E(x) = Σ Q_uv x_u x_v`` (dimod's mixin).

        Parameters
        ----------
        Q : dict
            Coefficients ``{(u, v): bias}``; ``(u, u)`` entries are the linear ones.
        **parameters
            Keyword arguments of :meth:`sample`.

        Returns
        -------
        sampleset : dimod.SampleSet
            BINARY samples with their energies.
        """
        return super().sample_qubo(Q, **parameters)

    def sample_qm(
        self,
        qm,
        *,
        num_reads=1,
        num_sweeps=DEFAULT_NUM_SWEEPS,
        beta_range=None,
        moves="carry",
        polish=True,
        seed=None,
        initial_states=None,
    ):
        """Anneal a quadratic model over integer (and binary or spin) variables.

        Every variable is one level in its bounds; an INTEGER variable needs finite bounds less
        than ``2**30`` apart (dimod's default upper bound, ``2**53 - 1``, is refused with a
        message). REAL variables are refused. Quadratic terms of a variable with itself
        (``x²``) are allowed, convex or not.

        Parameters
        ----------
        qm : dimod.QuadraticModel
            The model (a :class:`dimod.BinaryQuadraticModel` is sampled by :meth:`sample`).
        num_reads : int, default=1
            Reads (``len(initial_states)`` if that is larger).
        num_sweeps : int, default=100
            Sweeps per read; one sweep makes ``n_bits`` proposals per variable, where
            ``n_bits`` is the number of bits of the widest variable range.
        beta_range : (float, float), default=None
            ``(hot, cold)`` inverse temperatures; ``None`` derives them from the model's
            curvature (the annealer's default schedule for the problem's curvature).
        moves : {"carry", "flip"}, default="carry"
            ``"carry"``: add ``±2**k`` to a variable, carries included; ``"flip"``: flip one bit
            of its offset binary representation, as a QUBO sampler would.
        polish : bool or int, default=True
            End every read with a greedy descent of the move set.
        seed : int in [0, 2**32), default=None
            Same seed, same sample set.
        initial_states : samples-like, default=None
            Start states (any form :func:`dimod.as_samples` takes) within the bounds; reads
            beyond them start at random.

        Returns
        -------
        sampleset : dimod.SampleSet
            Vartype INTEGER (the values of every variable; binary and spin ones take their
            own values), one row per read, energies computed by ``qm.energies``.
        """
        if not isinstance(qm, dimod.QuadraticModel):
            if isinstance(qm, dimod.BinaryQuadraticModel):
                return self.sample(
                    qm,
                    num_reads=num_reads,
                    num_sweeps=num_sweeps,
                    beta_range=beta_range,
                    moves=moves,
                    polish=polish,
                    seed=seed,
                    initial_states=initial_states,
                )
            raise TypeError(f"qm must be a dimod.QuadraticModel, got {type(qm).__name__}")
        num_sweeps, moves, polish, seed = self._check(num_sweeps, moves, polish, seed)
        num_reads = _check_positive("num_reads", num_reads)
        labels = list(qm.variables)
        problem = _qm_problem(qm, labels)
        rng = np.random.default_rng(seed)
        starts = (
            rng.integers(problem.lower, problem.upper, size=(num_reads, len(labels)), endpoint=True)
            if labels
            else np.zeros((num_reads, 0), np.int64)
        )
        if initial_states is not None:
            given, given_labels = dimod.as_samples(initial_states, labels_type=list)
            given = np.atleast_2d(given)
            if set(given_labels) != set(labels):
                raise ValueError("initial_states must give a value for every variable of qm")
            order = [given_labels.index(v) for v in labels]
            given = given[:, order]
            levels = np.rint((given - problem.offset) / problem.delta)
            bad = (
                (levels < problem.lower)
                | (levels > problem.upper)
                | (np.abs(problem.offset + problem.delta * levels - given) > 1e-9)
            )
            if np.any(bad):
                j = int(np.flatnonzero(bad.any(axis=0))[0])
                raise ValueError(
                    f"initial_states gives variable {labels[j]!r} a value outside its domain "
                    "(its bounds, or not an integer); clip the start to the bounds"
                )
            if len(given) > num_reads:
                starts = np.vstack([starts, np.zeros((len(given) - num_reads, len(labels)))])
            starts[: len(given)] = levels
        starts = starts.astype(np.int64)
        if beta_range is None and labels:
            beta_range = default_beta_range(problem)
        levels, info = self._anneal(problem, starts, num_sweeps, beta_range, moves, polish, seed)
        values = problem.offset + problem.delta * levels
        values = np.rint(values).astype(np.int64)
        energies = qm.energies((values, labels)) if labels else np.full(len(values), qm.offset)
        return dimod.SampleSet.from_samples(
            (values, labels), vartype="INTEGER", energy=energies, info=info
        )

    # -- shared ---------------------------------------------------------------------------------

    @staticmethod
    def _check(num_sweeps, moves, polish, seed):
        if isinstance(num_sweeps, bool) or not isinstance(num_sweeps, Integral) or num_sweeps < 0:
            raise ValueError(f"num_sweeps must be a non-negative int, got {num_sweeps!r}")
        if moves not in _MOVES:
            raise ValueError(f"moves must be one of {_MOVES}, got {moves!r}")
        if isinstance(polish, (bool, np.bool_)):
            polish = POLISH_PASSES if polish else 0
        elif not isinstance(polish, Integral) or polish < 0:
            raise ValueError(f"polish must be True, False or a non-negative int, got {polish!r}")
        return int(num_sweeps), moves, int(polish), _check_seed(seed)

    @staticmethod
    def _anneal(problem, starts, num_sweeps, beta_range, moves, polish, seed):
        tic = time.perf_counter()
        num_reads, n = starts.shape
        if n == 0:
            levels = starts
            used = (1.0, 1.0) if beta_range is None else tuple(beta_range)
        else:
            # anneal() takes its own seed for the kernel; a None seed stays fresh entropy
            result = anneal(
                problem,
                initial=starts,
                num_reads=num_reads,
                num_sweeps=num_sweeps,
                beta_range=beta_range,
                moves=moves,
                seed=seed,
                polish=polish,
            )
            levels = result.levels
            used = result.beta_range
        info = {
            "beta_range": tuple(float(b) for b in used),
            "num_sweeps": num_sweeps,
            "moves": moves,
            "timing": {"sample_s": time.perf_counter() - tic},
        }
        return levels, info
