"""Dense QUBO assembly: numba kernel vs the NumPy reference vs the memory-bandwidth floor.

Run by hand (not a test)::

    python benchmarks/bench_assembly.py [--n-bits 10] [--repeats 20]

The floor is ``np.copyto`` of an array of the size of ``Q`` into a preallocated one (it reads and
writes ``Q``'s bytes; assembly only writes them). Target: assembly within 3x of the floor.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _problems import reference_problem

from quboclf._kernels._assembly import warm_up
from quboclf._qubo import qubo_matrix, qubo_matrix_reference, to_bqm


def best_time(func, repeats):
    """Best wall time of ``repeats`` calls (after one untimed call)."""
    func()
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-bits", type=int, default=10, help="bits per weight (default 10)")
    parser.add_argument("--repeats", type=int, default=20, help="timed runs, best kept")
    parser.add_argument(
        "--reference-repeats", type=int, default=3, help="timed runs of the NumPy reference"
    )
    args = parser.parse_args(argv)

    problem = reference_problem(args.n_bits)
    N = problem.n_qubo_variables
    warm_up()
    out = np.empty((N, N))
    src = np.random.default_rng(0).random((N, N))
    dst = np.empty_like(src)

    t_floor = best_time(lambda: np.copyto(dst, src), args.repeats)
    t_numba = best_time(lambda: qubo_matrix(problem, out=out), args.repeats)
    t_alloc = best_time(lambda: qubo_matrix(problem), args.repeats)
    t_ref = best_time(lambda: qubo_matrix_reference(problem), args.reference_repeats)
    t_bqm = best_time(lambda: to_bqm(problem), args.reference_repeats)

    ref = qubo_matrix_reference(problem)
    err = np.abs(qubo_matrix(problem) - ref).max() / np.abs(ref).max()
    mb = N * N * 8 / 1e6

    print(
        f"reference problem: n = {problem.n_variables}, K = {problem.n_bits}, N = {N} bits, "
        f"Q = {mb:.1f} MB; max |numba - NumPy| / max|Q| = {err:.1e}"
    )
    print(f"{'step':<34}{'time [ms]':>12}{'x floor':>10}{'GB/s (Q)':>11}")
    rows = [
        ("np.copyto, same size (floor)", t_floor),
        ("qubo_matrix(problem, out=out)", t_numba),
        ("qubo_matrix(problem) (allocates)", t_alloc),
        ("qubo_matrix_reference (NumPy)", t_ref),
        ("to_bqm(problem)", t_bqm),
    ]
    for name, t in rows:
        print(f"{name:<34}{t * 1e3:>12.2f}{t / t_floor:>10.2f}{mb / 1e3 / t:>11.2f}")
    verdict = "meets" if t_numba <= 3 * t_floor else "misses"
    print(
        f"assembly / floor = {t_numba / t_floor:.2f} ({verdict} the 3x target); "
        f"NumPy reference / assembly = {t_ref / t_numba:.1f}"
    )


if __name__ == "__main__":
    main()
