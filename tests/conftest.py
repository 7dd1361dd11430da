"""Shared test set-up."""

import os


def pytest_configure(config):
    # Compile (or load) the numba kernels once in the controller, before xdist workers start, so
    # that workers read the cache instead of all compiling the same kernels at once.
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        from quboclf._kernels import warm_up

        warm_up()
