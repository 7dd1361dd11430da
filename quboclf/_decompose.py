"""QPU-sized subproblems: solve a large :class:`~quboclf._qubo.QuadraticProblem` piece by piece.

A D-Wave QPU embeds a dense problem of at most its largest clique (about 180 binary variables on
Advantage) and resolves its biases and couplings to a few bits only, while a classifier head at
10 bits has thousands of binary variables whose coefficients span about ``4**n_bits``. Both
limits fall if every call re-optimises a *subset* of the weights, each within a small *window*
of levels around its current level, with the other weights fixed (user guide, "Samplers",
section "Larger problems: subproblems"):

* **selection** — ``"impact"`` takes first the variables whose best one-level move lowers the
  energy most (the gain is read off the maintained gradient ``u = H w + h``:
  ``ΔE(±1) = ±Δ_j u_j + ½ Δ_j² H_jj``, dwave-hybrid's *energy impact* on levels instead of
  bits); ``"sweep"`` takes consecutive blocks. Either way one *sweep* visits every free variable
  once. ``"pairs"`` scores each variable by its best single or joint move with one of its most
  correlated partners (:func:`pair_gains`) and puts the two in one subproblem, until no
  variable left to try has an improving single or pair move;
* **window** — a variable at level ``m_j`` may move to ``L`` consecutive levels around
  ``m_j`` (clipped to its bounds; centred when ``L`` is odd, one level further down the
  gradient when even), encoded by ``ceil(log2 L)`` qubits with bounded coefficients
  ``1, 2, …, remainder`` (:func:`window_coefficients`), so every qubit pattern is a level in
  the window and the coefficients span at most ``L²`` times the smallest curvature term,
  whatever ``n_bits`` is;
* **acceptance** — the answer is kept only if the exact energy of the whole problem drops, so
  the energy never increases; the loop ends after a sweep without improvement, or when the
  caller's budget says stop.

Array functions first (:func:`move_gains`, :func:`pair_gains`, :func:`coupled_partners`,
:func:`window_coefficients`, :func:`window_qubo`),
then the driver :func:`decompose`, which knows nothing of dimod: it calls
``sample(Q, seed) -> samples`` with a dense upper-triangular QUBO matrix.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import _qubo

__all__ = [
    "SELECTIONS",
    "DecomposeResult",
    "decompose",
    "move_gains",
    "pair_gains",
    "coupled_partners",
    "window_coefficients",
    "window_qubo",
    "window_base",
]

#: Ways :func:`decompose` chooses the variables of the next subproblem.
SELECTIONS = ("impact", "coupled", "sweep", "pairs")


def move_gains(u, H_diag, delta, levels, lower, upper):
    """Energy change of each variable's best one-level move (``+inf`` where none is allowed).

    Parameters
    ----------
    u : ndarray of shape (n,)
        Gradient ``H w + h`` at the current weights.
    H_diag : ndarray of shape (n,)
        Diagonal of ``H``.
    delta : ndarray of shape (n,)
        Grid spacings.
    levels, lower, upper : ndarray of shape (n,), int
        Current levels and their bounds.

    Returns
    -------
    change : ndarray of shape (n,)
        ``min(ΔE(+1), ΔE(−1))`` over the moves that stay in bounds; negative where a single
        move improves.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._decompose import move_gains
    >>> move_gains(np.array([-1.0, 1.0]), np.ones(2), np.ones(2), np.array([1, 0]),
    ...            np.zeros(2, int), np.full(2, 3))
    array([-0.5,  1.5])
    """
    quad = 0.5 * delta * delta * H_diag
    step = delta * u
    up = np.where(levels < upper, step + quad, np.inf)
    down = np.where(levels > lower, -step + quad, np.inf)
    return np.minimum(up, down)


def pair_gains(u, H, delta, partners, can_up, can_down):
    """Energy change of the best joint one-level move of each variable with each partner.

    The move of ``i`` by ``s_i`` and of ``j`` by ``s_j`` (``±1``) changes the energy by
    ``s_i Δ_i u_i + ½ Δ_i² H_ii + s_j Δ_j u_j + ½ Δ_j² H_jj + s_i s_j Δ_i Δ_j H_ij``: on strongly
    coupled variables the last term makes moves improve together that do not improve alone
    (two correlated inputs moving in opposite directions).

    Parameters
    ----------
    u : ndarray of shape (n,)
        Gradient ``H w + h`` at the current weights.
    H : ndarray of shape (n, n)
        Curvature.
    delta : ndarray of shape (n,)
        Grid spacings.
    partners : ndarray of shape (n, P), int
        The partners of each variable (:func:`coupled_partners`).
    can_up, can_down : ndarray of shape (n,), bool
        Moves allowed (by the bounds and the window).

    Returns
    -------
    change : ndarray of shape (n, P)
        The best joint move's energy change with each partner (``+inf`` where none is allowed).

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._decompose import pair_gains
    >>> H = np.array([[1.0, 0.9], [0.9, 1.0]])
    >>> ok = np.ones(2, bool)
    >>> pair_gains(np.array([0.4, -0.4]), H, np.ones(2), np.array([[1], [0]]), ok, ok)
    array([[-0.7],
           [-0.7]])
    """
    a = delta * u
    c = 0.5 * delta * delta * np.diagonal(H)
    J = partners
    cross = delta[:, None] * delta[J] * np.take_along_axis(H, J, axis=1)
    best = np.full(J.shape, np.inf)
    for si, ok_i in ((1, can_up), (-1, can_down)):
        for sj, ok_j in ((1, can_up), (-1, can_down)):
            e = (si * a + c)[:, None] + (sj * a + c)[J] + si * sj * cross
            best = np.minimum(best, np.where(ok_i[:, None] & ok_j[J], e, np.inf))
    return best


def coupled_partners(H, variables, n_partners):
    """The ``n_partners`` variables among ``variables`` most correlated with each of them.

    Correlation ``|H_ij| / √(H_ii H_jj)`` (for the quantizer: of two inputs); rows and entries
    index into ``variables``. Returns an int64 array of shape (k, min(n_partners, k − 1)).

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._decompose import coupled_partners
    >>> H = np.array([[1.0, 0.1, 0.8], [0.1, 1.0, -0.3], [0.8, -0.3, 1.0]])
    >>> coupled_partners(H, np.arange(3), 1)
    array([[2],
           [2],
           [0]])
    """
    k = variables.size
    P = min(int(n_partners), k - 1)
    if P <= 0:
        return np.zeros((k, 0), dtype=np.int64)
    sub = H[np.ix_(variables, variables)]
    diag = np.sqrt(np.maximum(np.diagonal(sub), 1e-300))
    corr = np.abs(sub) / np.outer(diag, diag)
    np.fill_diagonal(corr, -1.0)
    idx = np.argpartition(-corr, P - 1, axis=1)[:, :P]
    order = np.argsort(-np.take_along_axis(corr, idx, axis=1), axis=1, kind="stable")
    return np.take_along_axis(idx, order, axis=1).astype(np.int64)


def window_coefficients(n_levels):
    """Qubit coefficients that reach exactly the offsets ``0 … n_levels − 1``.

    Powers of two, the last one cut to the remainder (a bounded-coefficient encoding): every
    qubit pattern is a valid offset and the largest coefficient is at most ``n_levels / 2``.

    Examples
    --------
    >>> from quboclf._decompose import window_coefficients
    >>> [window_coefficients(L).tolist() for L in (2, 3, 4, 5, 8)]
    [[1], [1, 1], [1, 2], [1, 2, 1], [1, 2, 4]]
    """
    n_levels = int(n_levels)
    if n_levels < 2:
        raise ValueError(f"a window needs at least 2 levels, got {n_levels}")
    q = math.ceil(math.log2(n_levels))
    coef = [2**k for k in range(q - 1)]
    coef.append(n_levels - 1 - sum(coef))
    return np.asarray(coef, dtype=np.int64)


def window_base(levels, lower, upper, u, window):
    """Lowest level and size of each variable's move window.

    The window holds ``min(window, upper − lower + 1)`` consecutive levels containing the
    current one, reaching one level further in the downhill direction of the gradient when
    ``window`` is even, and shifted inside the bounds.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._decompose import window_base
    >>> window_base(np.array([5, 5, 0, 1]), np.zeros(4, int), np.array([7, 7, 7, 2]),
    ...             np.array([1.0, -1.0, 1.0, 1.0]), 4)
    (array([3, 4, 0, 0]), array([4, 4, 4, 3]))
    """
    size = np.minimum(int(window), upper - lower + 1)
    below = np.where(u > 0, size // 2, (size - 1) // 2)
    base = np.clip(levels - below, lower, upper - size + 1)
    return base.astype(np.int64), size.astype(np.int64)


def window_qubo(H_SS, g_S, delta_S, shift_S, bit_var, bit_coef):
    """Dense QUBO of moving the variables ``S`` within their windows, the rest fixed.

    With ``w_S → w_S + a + E s`` (``a = Δ_S · shift_S``, the window's base relative to the
    current levels; ``E`` maps qubit ``b`` of variable ``bit_var[b]`` to
    ``Δ · bit_coef[b]``) the energy change of the whole problem is
    ``gᵀ(a + Es) + ½ (a + Es)ᵀ H_SS (a + Es) = const + sᵀ Q s``.

    Parameters
    ----------
    H_SS : ndarray of shape (k, k)
        Curvature of the chosen variables.
    g_S : ndarray of shape (k,)
        Gradient ``H w + h`` at the current weights (it carries the fixed variables' pull).
    delta_S : ndarray of shape (k,)
        Their grid spacings.
    shift_S : ndarray of shape (k,), int
        Window base minus current level (``≤ 0``).
    bit_var : ndarray of shape (N,), int
        Variable (index into ``S``) of each qubit.
    bit_coef : ndarray of shape (N,), int
        Level coefficient of each qubit.

    Returns
    -------
    Q : ndarray of shape (N, N)
        Upper triangular: linear terms on the diagonal, couplings above it.
    const : float
        Energy change of the all-zero qubit pattern (every variable at its window base).

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf._decompose import window_qubo
    >>> Q, c = window_qubo(np.eye(1), np.array([0.5]), np.ones(1), np.array([-1]),
    ...                    np.array([0, 0]), np.array([1, 2]))
    >>> Q, c  # offsets 0..3 are levels m-1 .. m+2; f(δ) = 0.5 δ + ½ δ²
    (array([[0., 2.],
           [0., 1.]]), 0.0)
    """
    a = delta_S * shift_S
    lin_var = g_S + H_SS @ a
    const = float(a @ g_S + 0.5 * a @ H_SS @ a)
    e = delta_S[bit_var] * bit_coef
    full = H_SS[np.ix_(bit_var, bit_var)] * np.outer(e, e)
    Q = np.triu(full, 1)
    Q[np.diag_indices_from(Q)] = e * lin_var[bit_var] + 0.5 * np.diagonal(full)
    return Q, const


@dataclass
class DecomposeResult:
    """What :func:`decompose` returns.

    Attributes
    ----------
    levels : ndarray of shape (n,), dtype int64
        Final levels.
    energy : float
        Their QUBO energy (:func:`quboclf._qubo.energy`).
    n_calls : int
        Subproblems sent to the sampler.
    n_accepted : int
        Subproblems whose answer lowered the energy.
    n_sweeps : int
        Sweeps started (each visits every free variable once).
    sizes : list of int
        Binary variables of each subproblem, in call order.
    stopped : bool
        True if ``should_stop`` ended the loop before a sweep without improvement.
    call_info : list of dict
        What ``sample`` reported for each call.
    """

    levels: np.ndarray
    energy: float
    n_calls: int = 0
    n_accepted: int = 0
    n_sweeps: int = 0
    sizes: list = field(default_factory=list)
    stopped: bool = False
    call_info: list = field(default_factory=list)


def _select(order_key, candidates, bits_of, max_bits):
    """Take candidates in ``order_key`` order while their qubits fit in ``max_bits``."""
    chosen = []
    total = 0
    for j in candidates[np.argsort(order_key, kind="stable")]:
        b = int(bits_of[j])
        if total + b > max_bits:
            if chosen:
                break
            continue
        chosen.append(int(j))
        total += b
    return np.asarray(chosen, dtype=np.int64)


def _grow(first, candidates, H, delta, bits_of, max_bits):
    """``first``, then the candidates most strongly coupled to the set so far (greedy).

    The coupling of ``j`` to the set ``S`` is ``Σ_{i∈S} |H_ij| Δ_i Δ_j``: the energy scale of
    moving ``j`` and the set together, which single moves cannot capture.
    """
    cand = np.asarray(candidates)
    open_ = np.ones(cand.size, dtype=bool)
    score = np.zeros(cand.size)
    pos = int(np.flatnonzero(cand == first)[0])
    chosen, total = [], 0
    while True:
        j = int(cand[pos])
        chosen.append(j)
        total += int(bits_of[j])
        open_[pos] = False
        fits = open_ & (total + bits_of[cand] <= max_bits)
        if not fits.any():
            break
        score += np.abs(H[cand, j]) * delta[j]
        pos = int(np.flatnonzero(fits)[np.argmax((score * delta[cand])[fits])])
    return np.asarray(chosen, dtype=np.int64)


def _select_pairs(order, key, pair, partners, single, bits_of, max_bits):
    """Variables in ``order``, each followed by its partner of best joint move where that joint
    move beats the variable's single move, while their qubits fit in ``max_bits``."""
    chosen, taken, total = [], set(), 0

    def take(j):
        nonlocal total
        if j in taken or total + int(bits_of[j]) > max_bits:
            return False
        chosen.append(j)
        taken.add(j)
        total += int(bits_of[j])
        return True

    for i in order.tolist():
        if total >= max_bits:
            break
        if not take(i) or pair.shape[1] == 0:
            continue
        p = int(np.argmin(pair[i]))
        if pair[i, p] < min(single[i], 0.0) and key[i] < 0:
            take(int(partners[i, p]))
    return np.asarray(chosen, dtype=np.int64)


def decompose(
    problem,
    levels,
    sample,
    *,
    subproblem_size,
    window=4,
    selection="impact",
    max_calls=None,
    should_stop=None,
    seed=None,
    n_partners=32,
):
    """Minimise ``problem`` by repeated subproblems around ``levels``; never increases energy.

    Parameters
    ----------
    problem : QuadraticProblem
        The problem; its bounds (fixed variables included) are respected.
    levels : ndarray of shape (n,), int
        Start (warm start), within the bounds.
    sample : callable
        ``sample(Q, seed) -> (samples, info)``: ``Q`` a dense upper-triangular QUBO matrix
        (N, N) with ``N <= subproblem_size``, ``samples`` a 0/1 array (r, N) (any number of
        answers; the best is taken), ``info`` a dict kept in :attr:`DecomposeResult.call_info`.
    subproblem_size : int
        Most binary variables (qubits before embedding) per subproblem.
    window : int, default=4
        Levels each chosen variable may take (``ceil(log2(window))`` qubits each).
    selection : {"impact", "coupled", "sweep"}, default="impact"
        ``"impact"``: the variables whose best one-level move gains most come first (recomputed
        before every subproblem); ``"coupled"``: the variable of highest impact, then those most
        strongly coupled to the chosen ones (dwave-hybrid's energy-impact decomposer with a
        breadth-first traversal, on the weights' couplings); ``"sweep"``: consecutive blocks in
        index order; ``"pairs"``: the variables of best single or joint (pair) move first,
        each with the partner of its best joint move (:func:`pair_gains` over its
        ``n_partners`` most correlated variables), recomputed before every subproblem, so that
        moves which improve only together land in one subproblem. With ``"pairs"`` the loop
        ends when no variable left to try has an improving single or pair move; a variable
        whose subproblem improved nothing is tried again only once its best move has become
        better.
    max_calls : int, optional
        Most subproblems (``None``: until a sweep improves nothing).
    should_stop : callable, optional
        ``should_stop() -> bool``, asked before every call (a QPU-time budget).
    seed : int, optional
        Seeds of the calls (``seed + i``).
    n_partners : int, default=32
        ``"pairs"``: partners of each variable whose joint moves are scored.

    Returns
    -------
    result : DecomposeResult

    Examples
    --------
    >>> import numpy as np, itertools
    >>> from quboclf._qubo import QuadraticProblem
    >>> from quboclf._decompose import decompose
    >>> def brute(Q, seed):
    ...     s = np.array(list(itertools.product([0, 1], repeat=len(Q))))
    ...     return s[np.argmin(np.einsum("ri,ij,rj->r", s, Q, s))][None], {}
    >>> p = QuadraticProblem(np.eye(3), [-2.0, 1.0, 0.4], 0.25, -1.0, n_bits=4)
    >>> r = decompose(p, np.full(3, 8), brute, subproblem_size=4, window=4)
    >>> r.levels, r.n_accepted > 0  # the grid's optimum w = (2, -1, -0.5)
    (array([12,  0,  2]), True)
    """
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
    H, delta = problem.H, problem.delta
    lower, upper = problem.lower, problem.upper
    m = np.array(levels, dtype=np.int64)
    if m.shape != (problem.n_variables,) or np.any(m < lower) or np.any(m > upper):
        raise ValueError("the start levels must have shape (n,) and lie within the bounds")
    free = np.flatnonzero(problem.free)
    result = DecomposeResult(levels=m, energy=float(_qubo.energy(problem, m)))
    if free.size == 0:
        return result
    H_diag = np.ascontiguousarray(np.diagonal(H))
    max_bits = int(subproblem_size)
    span = np.minimum(int(window), upper - lower + 1)
    bits_of = np.zeros(problem.n_variables, dtype=np.int64)
    bits_of[free] = np.ceil(np.log2(span[free])).astype(np.int64)
    if max_bits < int(bits_of[free].min()):
        raise ValueError(
            f"subproblem_size={max_bits} cannot hold one variable's window of {window} levels "
            f"({int(bits_of[free].min())} qubits)"
        )
    coef_cache = {}
    seed = 0 if seed is None else int(seed)
    energy = result.energy
    scale = max(abs(energy), 1.0)

    def gradient(m):
        return H @ (problem.offset + delta * m) + problem.h

    u = gradient(m)
    if selection == "pairs":
        local = coupled_partners(H, free, n_partners)
        partners = np.zeros((problem.n_variables, local.shape[1]), dtype=np.int64)
        partners[free] = free[local]
        closed_at = np.full(problem.n_variables, np.inf)
        is_free = np.zeros(problem.n_variables, dtype=bool)
        is_free[free] = True
        tol = 1e-12 * scale
    while True:
        result.n_sweeps += 1
        improved = False
        todo = np.zeros(problem.n_variables, dtype=bool)
        todo[free] = True
        while todo.any():
            if max_calls is not None and result.n_calls >= max_calls:
                result.stopped = True
                break
            if should_stop is not None and should_stop():
                result.stopped = True
                break
            candidates = np.flatnonzero(todo)
            if selection == "pairs":
                base_all, size_all = window_base(m, lower, upper, u, window)
                can_up = is_free & (base_all + size_all - 1 > m)
                can_down = is_free & (base_all < m)
                a = delta * u
                c = 0.5 * delta * delta * H_diag
                single = np.minimum(np.where(can_up, a + c, np.inf),
                                    np.where(can_down, c - a, np.inf))
                pair = pair_gains(u, H, delta, partners, can_up, can_down)
                pair[~is_free] = np.inf
                key = np.minimum(single, pair.min(axis=1, initial=np.inf))
                open_ = is_free & (key < closed_at - tol)
                if not np.any(open_ & (key < -tol)):
                    todo[:] = False  # no improving single or pair move left to try
                    break
                rest = is_free & ~open_
                order = np.concatenate([
                    free[open_[free]][np.argsort(key[free][open_[free]], kind="stable")],
                    free[rest[free]][np.argsort(key[free][rest[free]], kind="stable")],
                ])
                S = _select_pairs(order, key, pair, partners, single, bits_of, max_bits)
            elif selection == "sweep":
                S = _select(np.arange(candidates.size), candidates, bits_of, max_bits)
            else:
                key = move_gains(u, H_diag, delta, m, lower, upper)[candidates]
                if selection == "impact":
                    S = _select(key, candidates, bits_of, max_bits)
                else:
                    S = _grow(
                        candidates[int(np.argmin(key))], candidates, H, delta, bits_of, max_bits
                    )
            todo[S] = False
            base, size = window_base(m[S], lower[S], upper[S], u[S], window)
            var_list, coef_list = [], []
            for i, L in enumerate(size):
                if L not in coef_cache:
                    coef_cache[L] = window_coefficients(L)
                c = coef_cache[L]
                var_list.append(np.full(c.size, i, dtype=np.int64))
                coef_list.append(c)
            bit_var = np.concatenate(var_list)
            bit_coef = np.concatenate(coef_list)
            Q, const = window_qubo(
                np.ascontiguousarray(H[np.ix_(S, S)]),
                u[S],
                delta[S],
                base - m[S],
                bit_var,
                bit_coef,
            )
            samples, info = sample(Q, seed + result.n_calls)
            result.n_calls += 1
            result.sizes.append(int(bit_var.size))
            result.call_info.append(info)
            samples = np.atleast_2d(np.asarray(samples, dtype=np.float64))
            changes = const + np.einsum("ri,ij,rj->r", samples, Q, samples)
            best = int(np.argmin(changes))
            new_S = base + np.bincount(
                bit_var, weights=samples[best] * bit_coef, minlength=S.size
            ).astype(np.int64)
            step = new_S - m[S]
            if changes[best] < -1e-12 * scale and np.any(step):
                m[S] = new_S
                u += H[:, S] @ (delta[S] * step)
                energy += float(changes[best])
                result.n_accepted += 1
                improved = True
                if selection == "pairs":
                    closed_at[S] = np.inf
            elif selection == "pairs":
                closed_at[S] = key[S]
            if selection == "pairs":
                todo[:] = True  # the pairs rule chooses among all variables every time
        if result.stopped or not improved:
            break
        u = gradient(m)  # no drift from many rank-k updates
    result.levels = m
    result.energy = float(_qubo.energy(problem, m))
    return result
