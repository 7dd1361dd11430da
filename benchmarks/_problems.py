"""Reference problems shared by the benchmark scripts."""

import numpy as np

from quboclf._qubo import QuadraticProblem, grid_step


def reference_problem(n_bits=10):
    """The reference class problem of the QUBO-core issue: 201 weights, ``201 * n_bits`` bits.

    ``A`` is 2000 × 201 standard normal (seed 0), ``H = ½AᵀA/2000 + 1e-3·I``,
    ``h = 0.1·N(0, 1)`` (seed 1), every ``R_j = 1.5·max|H⁻¹h|``, ``offset = −R`` and
    ``delta = R / 2**(n_bits − 1)`` (the classifier head's encoding). With the default
    ``n_bits=10`` it has 2,010 binary variables.
    """
    A = np.random.default_rng(0).normal(size=(2000, 201))
    H = 0.5 * A.T @ A / 2000 + 1e-3 * np.eye(201)
    h = 0.1 * np.random.default_rng(1).normal(size=201)
    R = np.full(201, 1.5 * np.abs(np.linalg.solve(H, h)).max())
    return QuadraticProblem(H, h, grid_step(R, n_bits), -R, n_bits)
