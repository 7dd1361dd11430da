"""Offline stand-ins for a D-Wave QPU, for evaluating training without QPU access.

:func:`mock_qpu` runs ``sampler="qpu"`` on dwave-system's mocked Advantage-size QPU (the
offline hook of the test suite), optionally with control errors; :class:`NoisyMockSampler`
answers a binary quadratic model like an analogue annealer with integrated control errors: every
call programs the problem with Gaussian noise on its biases and couplings (a fresh draw per
call, as every QPU programming has its own error), solves the noisy problem classically, and
reports the answers with their energies on the *true* problem. Use it

* below the mocked QPU, ``with mock_qpu(sigma=0.03): clf.fit(X, y)`` for
  ``clf = QUBOCNNClassifier(sampler="qpu")`` (noise on the embedded problem, chains included,
  which is where a QPU's errors are), or
* as a sampler of its own, ``sampler=NoisyMockSampler(0.03)`` with
  ``sampler_params={"decompose": True}`` (noise on the logical subproblems).

See the user guide, "Samplers", section "What the mock does and does not tell".
"""

from contextlib import contextmanager
from numbers import Integral, Real

import dimod
import numpy as np

__all__ = ["NoisyMockSampler", "mock_qpu"]


@contextmanager
def mock_qpu(sigma=None, *, topology_shape=16, child=None):
    """Run ``sampler="qpu"`` offline, on dwave-system's mocked QPU, inside a ``with`` block.

    The QPU below ``sampler="qpu"`` becomes dwave-system's mocked Pegasus QPU
    (``topology_shape=16``: an Advantage-size graph whose largest clique holds 180 variables).
    Every call is embedded, sent and unembedded as on the real QPU, and its QPU access time is
    estimated by D-Wave's timing model; what solves the embedded problem is classical.

    Parameters
    ----------
    sigma : float, optional
        Relative control error: with a value, every embedded problem is solved by a
        :class:`NoisyMockSampler` of that ``sigma`` (0: the same solver without noise).
        ``None``: the mock's own solver (steepest descent from random states, one per read).
    topology_shape : int, default=16
        Size of the Pegasus graph.
    child : dimod.Sampler, optional
        What solves the (noisy) embedded problem; default: steepest descent from random
        states, one per read, the mock's own solver.

    Examples
    --------
    >>> import numpy as np
    >>> from quboclf import QUBOCNNClassifier
    >>> from quboclf.testing import mock_qpu
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    >>> clf = QUBOCNNClassifier(n_bits=2, sampler="qpu", features="passthrough", max_iter=2,
    ...                         random_state=0)
    >>> with mock_qpu(sigma=0.03):
    ...     clf = clf.fit(X, y)
    >>> bool(np.nansum(clf.solver_info_["qpu_access_time"]) > 0)  # estimated, in µs
    True
    """
    from . import _leap, _samplers

    substitute = child
    if sigma is not None:
        if child is None:
            child = _samplers._named_sampler("steepest")
        substitute = NoisyMockSampler(sigma, child=child)
    with _leap.mock_qpu(
        topology_shape=topology_shape, substitute_sampler=substitute, parameter_warnings=False
    ):
        yield


class NoisyMockSampler(dimod.Sampler):
    """A dimod sampler that solves each problem with Gaussian noise on its Ising coefficients.

    The noise is relative to the coefficient range the QPU would see after its auto-scaling:
    ``scale = max(max|h| / h_range, max|J|)`` (Advantage: ``h_range = 4`` for ``J`` in
    ``[-1, 1]``), and every bias and coupling gets an independent ``N(0, (sigma * scale)²)``
    error. Published integrated-control-error figures are ``sigma`` ≈ 0.02–0.05.

    Parameters
    ----------
    sigma : float, default=0.03
        Relative standard deviation of the noise; 0 gives the child's noiseless answers.
    child : dimod.Sampler, optional
        Solves the noisy problem; default: dwave-samplers' simulated annealing (``"sa-dimod"``).
    h_range : float, default=4.0
        Ratio of the QPU's linear to quadratic bias range.

    Attributes
    ----------
    parameters : dict
        ``num_reads`` and ``seed``, plus the child's parameters.
    properties : dict
        ``sigma`` and ``h_range``.

    Examples
    --------
    >>> import dimod
    >>> from quboclf.testing import NoisyMockSampler
    >>> bqm = dimod.BinaryQuadraticModel({0: -1.0, 1: 1.0}, {(0, 1): -0.5}, 0.0, "BINARY")
    >>> ss = NoisyMockSampler(0.03).sample(bqm, num_reads=10, seed=0)
    >>> dict(ss.first.sample) == {0: 1, 1: 0}, float(ss.first.energy), ss.info["noise_sigma"]
    (True, -1.0, 0.03)
    """

    def __init__(self, sigma=0.03, *, child=None, h_range=4.0):
        if isinstance(sigma, bool) or not isinstance(sigma, Real) or not sigma >= 0:
            raise ValueError(f"sigma must be a non-negative number, got {sigma!r}")
        if isinstance(h_range, bool) or not isinstance(h_range, Real) or not h_range > 0:
            raise ValueError(f"h_range must be a positive number, got {h_range!r}")
        if child is None:
            from ._samplers import _named_sampler

            child = _named_sampler("sa-dimod")
        self.sigma = float(sigma)
        self.child = child
        self.h_range = float(h_range)

    @property
    def parameters(self):
        params = dict(getattr(self.child, "parameters", {}) or {})
        params.update({"num_reads": [], "seed": []})
        return params

    @property
    def properties(self):
        return {"sigma": self.sigma, "h_range": self.h_range}

    def sample(self, bqm, *, num_reads=1, seed=None, **kwargs):
        """Sample ``bqm`` with noise: answers of the noisy problem, energies of the true one.

        Parameters
        ----------
        bqm : dimod.BinaryQuadraticModel
            The problem (any vartype; answers come back in it).
        num_reads : int, default=1
            Reads of the child solver.
        seed : int, optional
            Seeds the noise and, if it takes one, the child.
        **kwargs
            Passed to the child when it lists them in its ``parameters``; others (QPU
            parameters such as ``answer_mode`` when used below the mocked QPU) are
            ignored.

        Returns
        -------
        sampleset : dimod.SampleSet
            ``info`` holds ``noise_sigma`` and ``noise_scale`` (the absolute σ of the errors).
        """
        if isinstance(num_reads, bool) or not isinstance(num_reads, Integral) or num_reads < 1:
            raise ValueError(f"num_reads must be a positive int, got {num_reads!r}")
        rng = np.random.default_rng(seed)
        ising = bqm.change_vartype(dimod.SPIN, inplace=False)
        h, (row, col, J), offset = ising.to_numpy_vectors()
        variables = list(ising.variables)
        hmax = float(np.max(np.abs(h), initial=0.0))
        jmax = float(np.max(np.abs(J), initial=0.0))
        scale = max(hmax / self.h_range, jmax)
        noise = self.sigma * scale
        if noise > 0:
            h = h + rng.normal(scale=noise, size=h.shape)
            J = J + rng.normal(scale=noise, size=J.shape)
        noisy = dimod.BinaryQuadraticModel.from_numpy_vectors(
            h, (row, col, J), offset, dimod.SPIN, variable_order=variables
        )
        accepted = self.child.parameters if hasattr(self.child, "parameters") else {}
        child_kwargs = {k: v for k, v in kwargs.items() if k in accepted}
        if "seed" in accepted:
            child_kwargs["seed"] = int(rng.integers(2**31))
        if "num_reads" in accepted:  # e.g. dimod's exact solver takes none
            child_kwargs["num_reads"] = int(num_reads)
        answer = self.child.sample(noisy, **child_kwargs)
        samples = answer.record.sample
        if bqm.vartype is dimod.BINARY:
            samples = (samples + 1) // 2
        result = dimod.SampleSet.from_samples_bqm((samples, list(answer.variables)), bqm)
        result.info.update({"noise_sigma": self.sigma, "noise_scale": noise})
        return result

    # dimod's mixin methods, documented here: their inherited docstrings are not valid numpydoc
    def sample_ising(self, h, J, **parameters):
        """Sample the Ising model ``E(s) = Σ h_i s_i + Σ J_ij s_i s_j`` with noise.

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
            SPIN samples with the true model's energies.
        """
        return super().sample_ising(h, J, **parameters)

    def sample_qubo(self, Q, **parameters):
        """Sample the QUBO ``E(x) = Σ Q_uv x_u x_v`` with noise.

        Parameters
        ----------
        Q : dict
            Coefficients, ``{(u, v): bias}``.
        **parameters
            Keyword arguments of :meth:`sample`.

        Returns
        -------
        sampleset : dimod.SampleSet
            BINARY samples with the true model's energies.
        """
        return super().sample_qubo(Q, **parameters)
