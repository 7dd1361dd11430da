"""Shared test set-up."""

import json
import os
import subprocess
import sys
import textwrap
import urllib.request

import pytest


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        # Compile (or load) the numba kernels once in the controller, before xdist workers
        # start, so that workers read the cache instead of all compiling the same kernels.
        from quboclf._kernels import warm_up

        warm_up()
    else:
        # One BLAS / numba thread per xdist worker: the workers already fill the cores, and
        # oversubscribed OpenBLAS threads slow small linear algebra down many times over.
        import numba
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
        numba.set_num_threads(1)


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """An empty data home, no system locations and no network."""
    from quboclf.datasets import _base

    monkeypatch.setenv(_base.DATA_HOME_ENV, str(tmp_path / "empty"))
    monkeypatch.setattr(_base, "SYSTEM_DIRS", ())

    def offline(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return tmp_path


# ---------------------------------------------------------------------------------------------
# One factory of small, fast estimators for every test file (test_common.py runs the generic
# checks on them; per-module files override what they test).

#: Few, short anneals: the tests check behaviour, not solution quality.
SA_FAST = {"num_reads": 1, "num_sweeps": 20}


def _fast_params(Estimator):
    from sklearn.linear_model import LogisticRegression

    from quboclf import QUBOCNNClassifier, QUBOQuantizer, RandomConvFeatures

    return {
        QUBOCNNClassifier: {
            "features": "passthrough",
            "n_bits": 3,
            "max_iter": 3,
            "sampler_params": SA_FAST,
            "random_state": 0,
        },
        QUBOQuantizer: {
            "estimator": LogisticRegression(),
            "n_bits": 3,
            "sampler_params": {"num_sweeps": 20},
            "random_state": 0,
        },
        RandomConvFeatures: {"n_filters": 2, "kernel_size": 3, "pool_grid": 2, "random_state": 0},
    }[Estimator]


def make_estimator(Estimator, **params):
    """A small, fast ``Estimator`` (one of the public estimators); ``params`` override.

    Examples
    --------
    >>> from quboclf import QUBOCNNClassifier
    >>> make_estimator(QUBOCNNClassifier, n_bits=4).n_bits
    4
    """
    return Estimator(**{**_fast_params(Estimator), **params})


# ---------------------------------------------------------------------------------------------
# References the tests compare the package against


def quantize_nearest(values, scale, n_bits):
    """Round-to-nearest integers ``q`` (on ``integer_grid``, clipped) of ``values / scale``.

    Examples
    --------
    >>> import numpy as np
    >>> quantize_nearest(np.array([0.26, -0.9, 0.05]), 0.25, 2)
    array([ 1, -1,  0])
    >>> quantize_nearest(np.array([0.26, -0.9, 0.0]), 0.5, 1)  # sign grid, 0 goes to +1
    array([ 1, -1,  1])
    """
    import numpy as np

    from quboclf._rounding import integer_grid

    qmin, qmax, step = integer_grid(n_bits)
    u = np.asarray(values, dtype=np.float64) / scale
    q = np.clip(qmin + step * np.floor((u - qmin) / step + 0.5), qmin, qmax)
    return q.astype(np.int64)


def layer_objective(X, W, b, W_hat, b_hat):
    """``‖X Ŵᵀ + 1 b̂ᵀ − (X Wᵀ + 1 bᵀ)‖²_F``, computed directly from the calibration inputs."""
    import numpy as np

    X = np.asarray(X, dtype=np.float64)
    diff = X @ (np.asarray(W_hat) - W).T + (np.asarray(b_hat) - b)
    return float(np.sum(diff * diff))


def run_script(script, env_extra, cwd, timeout=300):
    """Run ``script`` in a fresh interpreter; return its stdout (fails the test on error)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NUMBA_", "PYTHON", "XDG_")) and k != "PYTEST_XDIST_WORKER"
    }
    env.update(env_extra)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def last_json(stdout):
    """The JSON object on the last line of a subprocess's ``stdout``."""
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture
def mock_qpu(monkeypatch):
    """Make DWaveCliqueSampler build a Pegasus-4 MockDWaveSampler (largest clique 36) that counts
    its submissions in ``submitted``; returns the list of client configs it was built with."""
    from dwave.system.testing import MockDWaveSampler

    built = []

    class Mock(MockDWaveSampler):
        def __init__(self, **config):
            built.append(config)
            self.submitted = 0
            super().__init__(topology_type="pegasus", topology_shape=[4], parameter_warnings=False)

        def sample(self, bqm, **kwargs):
            self.submitted += 1
            return super().sample(bqm, **kwargs)

    monkeypatch.setattr("dwave.system.samplers.clique.DWaveSampler", Mock)
    return built
