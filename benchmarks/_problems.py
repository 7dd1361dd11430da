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


def neuron_problems(X, W, b, n_bits):
    """Each neuron's floor/ceil rounding problem of a dense layer, as ``QUBOQuantizer`` exports it.

    Returns ``(problem, start, constant)`` per neuron: the :class:`QuadraticProblem` over the
    active values (one bit each), the round-to-nearest levels, and the objective at all-zero
    levels, so that a neuron's rounding error at levels ``m`` is ``constant + energy(problem, m)``.
    """
    from quboclf._ptq import layer_rounding, round_nearest
    from quboclf._quantizer import _neuron_problems
    from quboclf._qubo import objective
    from quboclf._rounding import choose_scale

    lr = layer_rounding(X, W, b, choose_scale(W, n_bits), choose_scale(b, n_bits), n_bits)
    qubos = _neuron_problems(lr, round_nearest(lr), 1, names=range(lr.G.shape[0]))
    return [
        (q.problem, q.initial, float(objective(q.problem, np.zeros(q.problem.n_variables))))
        for q in qubos
    ]
