"""Numba kernels: arrays in, arrays out, no scikit-learn.

Every kernel has a pure-NumPy reference (in the module that uses it) that the tests compare it to.
"""


def warm_up():
    """Compile every kernel once (or load it from numba's cache) on tiny inputs.

    Each kernel module defines ``warm_up()`` that calls its kernels on tiny arrays.
    """
    from importlib import import_module

    for name in ("_conv", "_assembly", "_anneal", "_search"):
        try:
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            continue
        module.warm_up()
