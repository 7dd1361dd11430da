"""Numba kernels: arrays in, arrays out, no scikit-learn.

Every kernel has a pure-NumPy reference (in the module that uses it) that the tests compare it to.
"""


#: The kernel modules, each with a ``warm_up()`` that calls its kernels on tiny arrays.
KERNEL_MODULES = ("_conv", "_assembly", "_anneal", "_search")


def warm_up():
    """Compile every numba kernel once, or load it from numba's on-disk cache.

    The first fit in a new installation compiles quboclf's kernels, which takes up to a minute;
    later processes load them from the cache in well under a second. Call this ahead of time
    (e.g. before timing fits, or in a container build) to pay that cost where you choose. Safe
    to call repeatedly: once the kernels are compiled in the process it returns at once.

    Examples
    --------
    >>> import quboclf
    >>> quboclf.warm_up()
    """
    from importlib import import_module

    for name in KERNEL_MODULES:
        try:
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError:
            continue
        module.warm_up()
