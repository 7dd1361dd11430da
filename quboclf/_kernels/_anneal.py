"""Structured simulated annealing over the integer levels of a bounded quadratic problem.

The problem is ``min f(w) = h·w + ½ wᵀHw`` over ``w = offset + delta * m`` with integer levels
``lower <= m <= upper`` (see :class:`quboclf._qubo.QuadraticProblem`). The kernels keep the field
``u = H w``: a move that changes ``w_j`` by ``d`` costs ``ΔE = d (h_j + u_j) + ½ d² H_jj``, O(1) per
proposal, and an accepted move updates ``u += d H[j, :]`` (``H`` is symmetric, so the row is the
column and is contiguous), O(n) per accepted move. Memory is ``H`` itself, O(n²); the (nK)² QUBO is
never built. Energies are QUBO energies, ``f(w) − f(offset)``.

Arrays in, arrays out; the pure-NumPy references live in ``tests/test_anneal.py``.
"""

import math

import numpy as np

from ._jit import jit

__all__ = ["anneal_levels", "descend_flips", "descend_levels", "field_and_energy", "warm_up"]

# Beyond this Boltzmann exponent a move is rejected without drawing (exp(-40) ~ 4e-18).
_MAX_EXPONENT = 40.0
# Recompute u = H w and the energy from scratch every this many sweeps (bounds float drift).
_RESYNC_SWEEPS = 64
_TWO_M53 = 1.0 / 9007199254740992.0


_U = np.uint64


@jit
def _splitmix64(x):
    # turns any seed (0 included) into a well-mixed non-zero xorshift state
    z = x + _U(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
    z = z ^ (z >> _U(31))
    return z if z != _U(0) else _U(0x2545F4914F6CDD1D)


@jit
def _xorshift(s):
    # xorshift64*: ~2 ns a draw against ~7 ns for numba's np.random, whose state is also shared
    # by every kernel in the thread; returns (new state, 64 random bits)
    s ^= s >> _U(12)
    s ^= s << _U(25)
    s ^= s >> _U(27)
    return s, s * _U(2685821657736338717)


@jit
def field_and_energy(H, h, delta, offset, Ho, m, u):
    """Set ``u = H w`` for ``w = offset + delta * m`` and return the energy ``f(w) − f(offset)``.

    ``Ho`` is ``H @ offset``; the energy is computed as ``d·(h + Ho) + ½ d·(H d)`` with
    ``d = delta * m`` and ``H d = u − Ho``, so it does not cancel two large objectives.
    """
    n = m.shape[0]
    w = np.empty(n)
    for i in range(n):
        w[i] = offset[i] + delta[i] * m[i]
    for i in range(n):
        s = 0.0
        for j in range(n):
            s += H[i, j] * w[j]
        u[i] = s
    e = 0.0
    for i in range(n):
        d = delta[i] * m[i]
        e += d * (h[i] + Ho[i]) + 0.5 * d * (u[i] - Ho[i])
    return e


@jit
def _apply(H, j, d, u):
    row = H[j]
    for i in range(u.shape[0]):
        u[i] += d * row[i]


@jit
def descend_levels(H, h, delta, lower, upper, free, m, u, max_passes):
    """Exact coordinate descent on levels ``m`` (in place, with ``u = H w`` kept up to date).

    Each step moves one free level to its best value given the others (the nearest integers
    to the coordinate minimiser, clipped to the bounds), which is at least as good as every
    ``±2**k`` carry move of that level. Passes over the free variables repeat until a pass changes
    nothing or ``max_passes`` is reached. Returns the energy change (<= 0) and the passes made.
    """
    total = 0.0
    passes = 0
    nf = free.shape[0]
    while passes < max_passes:
        passes += 1
        changed = False
        for idx in range(nf):
            j = free[idx]
            mj = m[j]
            lo = lower[j]
            hi = upper[j]
            g = delta[j] * (h[j] + u[j])  # dE/dm_j
            a = delta[j] * delta[j] * H[j, j]  # d²E/dm_j²
            if a > 0.0:
                t = math.floor(-g / a)
                # candidates: floor and ceil of the coordinate minimiser, clipped
                c1 = min(max(mj + t, lo), hi)
                c2 = min(max(mj + t + 1, lo), hi)
                s1 = c1 - mj
                s2 = c2 - mj
                e1 = g * s1 + 0.5 * a * s1 * s1
                e2 = g * s2 + 0.5 * a * s2 * s2
                if e2 < e1:
                    s1 = s2
                    e1 = e2
            elif g > 0.0:
                s1 = lo - mj
                e1 = g * s1
            elif g < 0.0:
                s1 = hi - mj
                e1 = g * s1
            else:
                continue
            # strict decrease beyond rounding noise, so the loop cannot cycle
            if s1 != 0 and e1 < -1e-12 * (abs(g * s1) + 0.5 * a * s1 * s1) - 1e-300:
                m[j] = mj + s1
                _apply(H, j, delta[j] * s1, u)
                total += e1
                changed = True
        if not changed:
            break
    return total, passes


@jit
def descend_flips(H, h, delta, lower, upper, free, n_bits, m, u, max_passes):
    """Greedy single-bit-flip descent on levels ``m`` (in place, ``u = H w`` kept up to date).

    The local search of a generic QUBO sampler: passes flip bits ``0..n_bits-1`` of each free
    level in turn whenever that lowers the energy (flips past a bound are not taken), until a
    pass changes nothing or ``max_passes`` is reached. Returns the energy change and the passes.
    """
    total = 0.0
    passes = 0
    nf = free.shape[0]
    while passes < max_passes:
        passes += 1
        changed = False
        for idx in range(nf):
            j = free[idx]
            a = delta[j] * delta[j] * H[j, j]
            for k in range(n_bits):
                mj = m[j]
                t = mj ^ (1 << k)
                if t < lower[j] or t > upper[j]:
                    continue
                s = t - mj
                g = delta[j] * (h[j] + u[j])
                e = g * s + 0.5 * a * s * s
                if e < -1e-12 * (abs(g * s) + 0.5 * a * s * s) - 1e-300:
                    m[j] = t
                    _apply(H, j, delta[j] * s, u)
                    total += e
                    changed = True
        if not changed:
            break
    return total, passes


@jit
def _polish(H, h, delta, lower, upper, free, n_bits, carry, m, u, max_passes):
    if carry:
        descend_levels(H, h, delta, lower, upper, free, m, u, max_passes)
    else:
        descend_flips(H, h, delta, lower, upper, free, n_bits, m, u, max_passes)


@jit
def anneal_levels(
    H, h, delta, offset, lower, upper, n_bits, free, levels, betas, carry, seeds, polish, energies
):
    """Anneal every row of ``levels`` (num_reads, n) in place; write QUBO energies to ``energies``.

    One sweep makes ``n_bits`` proposals per free variable at the sweep's inverse temperature
    (Metropolis acceptance). ``carry=True``: each proposal adds ``±2**k`` (``k`` and the sign
    uniform) to the level, clipped to ``[lower_j, upper_j]``; a proposal that the clip would turn
    into no move goes the other way instead (so with one bit a carry move is a flip).
    ``carry=False``: the proposals flip bits ``0..n_bits-1`` of the level in turn, and a flip that
    leaves the bounds is rejected. Read ``r`` draws from an xorshift64* generator seeded with
    ``seeds[r]`` (through splitmix64), so reads are reproducible and independent of numba's
    global generator.

    Each read keeps the best state seen at the end of a sweep. At the end the final state, and the
    best state if it was better, are polished by at most ``polish`` passes (0: none) of the greedy
    descent of the move set (:func:`descend_levels` for carry moves, :func:`descend_flips` for
    flips); the read returns the lower of the two, with its energy recomputed exactly.
    """
    n_reads, n = levels.shape
    n_sweeps = betas.shape[0]
    nf = free.shape[0]
    Ho = np.empty(n)
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc += H[i, j] * offset[j]
        Ho[i] = acc
    u = np.empty(n)
    u_best = np.empty(n)
    best = np.empty(n, dtype=np.int64)
    for r in range(n_reads):
        state = _splitmix64(_U(seeds[r]))
        m = levels[r]
        e = field_and_energy(H, h, delta, offset, Ho, m, u)
        best[:] = m
        e_best = e
        for s in range(n_sweeps):
            beta = betas[s]
            for idx in range(nf):
                j = free[idx]
                lo = lower[j]
                hi = upper[j]
                dj = delta[j]
                hjj = H[j, j]
                for k in range(n_bits):
                    mj = m[j]
                    if carry:
                        state, bits = _xorshift(state)
                        x = np.int64(((bits >> _U(32)) * _U(2 * n_bits)) >> _U(32))
                        # signed step, clipped without branches (the sign is a coin flip)
                        step = (1 << (x >> 1)) * (2 * (x & 1) - 1)
                        t = min(max(mj + step, lo), hi)
                        if t == mj:
                            t = min(max(mj - step, lo), hi)
                    else:
                        t = mj ^ (1 << k)
                        if t < lo or t > hi:
                            continue
                    if t == mj:
                        continue
                    d = (t - mj) * dj
                    de = d * (h[j] + u[j]) + 0.5 * d * d * hjj
                    if de > 0.0:
                        bx = beta * de
                        if bx > _MAX_EXPONENT:
                            continue
                        state, bits = _xorshift(state)
                        if (bits >> _U(11)) * _TWO_M53 >= math.exp(-bx):
                            continue
                    m[j] = t
                    e += de
                    _apply(H, j, d, u)
            if (s + 1) % _RESYNC_SWEEPS == 0:
                e = field_and_energy(H, h, delta, offset, Ho, m, u)
            if e < e_best:
                e_best = e
                best[:] = m
        e = field_and_energy(H, h, delta, offset, Ho, m, u)
        if polish > 0:
            _polish(H, h, delta, lower, upper, free, n_bits, carry, m, u, polish)
            e = field_and_energy(H, h, delta, offset, Ho, m, u)
        if e_best < e:
            # the best snapshot beat the (polished) final state: polish it and keep the better
            e_b = field_and_energy(H, h, delta, offset, Ho, best, u_best)
            if polish > 0:
                _polish(H, h, delta, lower, upper, free, n_bits, carry, best, u_best, polish)
                e_b = field_and_energy(H, h, delta, offset, Ho, best, u_best)
            if e_b < e:
                m[:] = best
                e = e_b
        energies[r] = e


def warm_up():
    """Compile (or load from numba's cache) every kernel in this module on tiny inputs."""
    H = np.array([[2.0, 0.5], [0.5, 1.0]])
    h = np.array([0.3, -0.2])
    delta = np.array([0.25, 0.5])
    offset = np.array([-1.0, -1.0])
    lower = np.zeros(2, dtype=np.int64)
    upper = np.full(2, 7, dtype=np.int64)
    free = np.arange(2, dtype=np.int64)
    betas = np.array([0.1, 1.0, 10.0])
    seeds = np.array([1], dtype=np.int64)
    for carry, polish in ((True, 8), (False, 8), (True, 0)):
        levels = np.full((1, 2), 4, dtype=np.int64)
        energies = np.empty(1)
        anneal_levels(
            H,
            h,
            delta,
            offset,
            lower,
            upper,
            3,
            free,
            levels,
            betas,
            carry,
            seeds,
            polish,
            energies,
        )
    u = np.empty(2)
    m = np.full(2, 4, dtype=np.int64)
    field_and_energy(H, h, delta, offset, H @ offset, m, u)
    descend_levels(H, h, delta, lower, upper, free, m, u, 100)
    descend_flips(H, h, delta, lower, upper, free, 3, m, u, 100)
