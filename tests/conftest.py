"""Shared test set-up."""

import os
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
