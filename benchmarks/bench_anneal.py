"""Structured SA (carry moves, flip moves) against dwave-samplers' SA on the reference problem.

Run by hand (not a test)::

    python benchmarks/bench_anneal.py [--sweeps 1000 10000] [--reads 1] [--no-dwave]

The problem is the QUBO-core issue's reference class problem (``benchmarks/_problems.py``: 201
weights, K = 10, 2,010 binary variables). Every row reports the lowest objective ``f(w)`` reached,
its relative gap to the continuous minimum ``−½hᵀH⁻¹h`` (a lower bound) and the wall time of the
solve. Starts: ``random`` = uniformly random levels (``initial=None``, dwave's default too),
``zero`` = every weight 0 (level ``2**(K−1)``, the classifier's first iteration); never the
continuous solution. dwave-samplers gets the assembled QUBO as a ``BinaryQuadraticModel`` and an
explicit ``beta_range``: its own default (``dwave.samplers.sa.sampler.default_beta_range``),
computed once outside the timing because it is a slow Python loop over the 2M couplings.

Targets of the annealer: the default ``anneal`` call within 0.1 % of the bound in under 0.05 s,
and carry-move SA at least as low as dwave-samplers in at most 1/10 of its time.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _problems import reference_problem

from quboclf._anneal import DEFAULT_NUM_SWEEPS, anneal
from quboclf._kernels._anneal import warm_up
from quboclf._qubo import continuous_minimum, objective, qubo_matrix


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-bits", type=int, default=10, help="bits per weight (default 10)")
    parser.add_argument(
        "--sweeps", type=int, nargs="+", default=[1000, 10000], help="sweep counts to compare"
    )
    parser.add_argument("--reads", type=int, default=1, help="reads per compared solve")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-dwave", action="store_true", help="skip dwave-samplers")
    args = parser.parse_args(argv)

    problem = reference_problem(args.n_bits)
    n, K = problem.n_variables, problem.n_bits
    f_bound = continuous_minimum(problem)
    f_offset = objective(problem, np.zeros(n))
    zero = np.full(n, 2 ** (K - 1))
    warm_up()
    print(
        f"reference problem: {n} weights x {K} bits = {problem.n_qubo_variables} QUBO variables; "
        f"continuous minimum {f_bound:.9f}"
    )

    rows = []

    def add(solver, start, reads, sweeps, polish, energy, seconds):
        f = energy + f_offset
        rows.append(
            (solver, start, reads, sweeps, polish, f, (f - f_bound) / abs(f_bound), seconds)
        )

    def run_anneal(label, start, reads, sweeps, moves, polish=True):
        initial = None if start == "random" else zero
        kwargs = dict(num_reads=reads, num_sweeps=sweeps, moves=moves, seed=args.seed)
        t0 = time.perf_counter()
        result = anneal(problem, initial=initial, polish=polish, **kwargs)
        add(label, start, reads, sweeps, polish, result.best_energy, time.perf_counter() - t0)

    # the default call, as sampler="sa" makes it
    for start in ("random", "zero"):
        run_anneal("anneal default (carry)", start, 4, DEFAULT_NUM_SWEEPS, "carry")
    for sweeps in args.sweeps:
        for start in ("random", "zero"):
            run_anneal("structured SA, carry", start, args.reads, sweeps, "carry")
        run_anneal("structured SA, carry", "random", args.reads, sweeps, "carry", polish=False)
        run_anneal("structured SA, flip", "random", args.reads, sweeps, "flip")

    if not args.no_dwave:
        import dimod
        from dwave.samplers import SimulatedAnnealingSampler
        from dwave.samplers.sa.sampler import default_beta_range as dwave_beta_range

        t0 = time.perf_counter()
        bqm = dimod.BinaryQuadraticModel(qubo_matrix(problem), "BINARY")
        t_bqm = time.perf_counter() - t0
        t0 = time.perf_counter()
        beta_range = dwave_beta_range(bqm)
        t_beta = time.perf_counter() - t0
        print(
            f"dwave-samplers: BQM built in {t_bqm:.2f} s; its default beta_range "
            f"({beta_range[0]:.3g}, {beta_range[1]:.3g}) computed in {t_beta:.2f} s (not timed)"
        )
        sampler = SimulatedAnnealingSampler()
        for sweeps in args.sweeps:
            t0 = time.perf_counter()
            sampleset = sampler.sample(
                bqm,
                num_reads=args.reads,
                num_sweeps=sweeps,
                beta_range=beta_range,
                beta_schedule_type="geometric",
                seed=args.seed,
            )
            seconds = time.perf_counter() - t0
            add(
                "dwave-samplers SA",
                "random",
                args.reads,
                sweeps,
                "-",
                sampleset.first.energy,
                seconds,
            )

    header = f"{'solver':24s} {'start':6s} {'reads':>5s} {'sweeps':>6s} {'polish':>6s} "
    header += f"{'f(w)':>14s} {'gap':>10s} {'time (s)':>9s}"
    print(header)
    print("-" * len(header))
    for solver, start, reads, sweeps, polish, f, gap, seconds in rows:
        print(
            f"{solver:24s} {start:6s} {reads:5d} {sweeps:6d} {str(polish):>6s} "
            f"{f:14.9f} {gap:10.2e} {seconds:9.4f}"
        )


if __name__ == "__main__":
    main()
