"""Offline stand-ins for a D-Wave QPU, for evaluating training without QPU access.

:class:`NoisyMockSampler` answers a binary quadratic model like an analogue annealer with
integrated control errors: every call programs the problem with Gaussian noise on its biases and
couplings (a fresh draw per call, as every QPU programming has its own error), solves the noisy
problem classically, and reports the answers with their energies on the *true* problem. Use it

* as a sampler of its own, ``sampler=NoisyMockSampler(0.03)`` with
  ``sampler_params={"decompose": True}`` (noise on the logical subproblems), or
* below ``DWaveCliqueSampler``, as the substitute solver of dwave-system's ``MockDWaveSampler``
  (noise on the embedded problem, chains included, which is where a QPU's errors are)::

      from unittest import mock
      from dwave.system.testing import MockDWaveSampler

      def noisy_qpu(**config):
          return MockDWaveSampler(topology_type="pegasus", topology_shape=[16],
                                  substitute_sampler=NoisyMockSampler(0.03))

      with mock.patch("dwave.system.samplers.clique.DWaveSampler", noisy_qpu):
          clf.fit(X, y)   # clf = QUBOCNNClassifier(sampler="qpu")

See the user guide, "Samplers", section "What the mock does and does not tell".
"""

from numbers import Integral, Real

import dimod
import numpy as np

__all__ = ["NoisyMockSampler"]


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
        Solves the noisy problem; default ``dwave.samplers.SimulatedAnnealingSampler()``.
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
            from dwave.samplers import SimulatedAnnealingSampler

            child = SimulatedAnnealingSampler()
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
            parameters such as ``answer_mode`` when used below ``MockDWaveSampler``) are
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
        if "num_reads" in accepted:  # e.g. ExactSolver takes none
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
