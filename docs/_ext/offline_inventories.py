"""Intersphinx inventories written at build time, so the docs link out without the network.

CI and many readers build offline, where intersphinx cannot download ``objects.inv``. This module
writes one inventory per project into the build folder from the *installed* packages: it imports
their public API and gives every object the address it has on the project's real documentation
site (each site names its API pages after the object's full name; the exceptions are listed
below). ``intersphinx_mapping`` then points at the online sites with these local inventories, so
a reference such as ``:class:`sklearn.pipeline.Pipeline``` becomes a link to scikit-learn's page.
A name that the installed package does not export stays plain text, as before.
"""

import builtins
import importlib
import inspect
import os
import zlib

#: Online documentation roots; the links point there.
SITES = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "dimod": "https://docs.dwavequantum.com/en/latest/ocean/api_ref_dimod/",
    "dwave-system": "https://docs.dwavequantum.com/en/latest/ocean/api_ref_system/",
}

# Python: stdlib modules the docs mention (module -> page); builtins are handled apart.
_STDLIB = ["argparse", "io", "json", "os", "pathlib", "tempfile", "threading", "warnings"]
# types documented in library/stdtypes.html rather than library/functions.html
_STDTYPES = {"dict", "list", "tuple", "str", "set", "frozenset", "bytes", "bytearray", "range"}

_SCIPY = ["linalg", "optimize", "sparse", "special", "stats"]

# dimod / dwave-system: their pages group several objects; name -> (role, page#anchor).
_OCEAN = {
    "dimod": [
        ("dimod.BinaryQuadraticModel", "class", "models.html#dimod.binary.BinaryQuadraticModel"),
        ("dimod.BQM", "class", "models.html#dimod.binary.BQM"),
        ("dimod.QuadraticModel", "class", "models.html#dimod.QuadraticModel"),
        ("dimod.ConstrainedQuadraticModel", "class", "models.html#dimod.ConstrainedQuadraticModel"),
        ("dimod.SampleSet", "class", "sampleset.html#dimod.SampleSet"),
        ("dimod.Sampler", "class", "api_samplers_composites.html#dimod.Sampler"),
        ("dimod.Initialized", "class", "api_samplers_composites.html#dimod.Initialized"),
        ("dimod.Sampler.sample", "method", "generated/dimod.Sampler.sample.html"),
        ("dimod.Sampler.sample_ising", "method", "generated/dimod.Sampler.sample_ising.html"),
        ("dimod.Sampler.sample_qubo", "method", "generated/dimod.Sampler.sample_qubo.html"),
        (
            "dimod.ExactSolver",
            "class",
            "sampler_composites.html#dimod.reference.samplers.ExactSolver",
        ),
        ("dimod.as_samples", "function", "utilities.html#dimod.as_samples"),
        ("dimod", "module", "api_ref.html"),
    ],
    "dwave-system": [
        (f"dwave.system.{name}", "class", f"samplers.html#dwave.system.samplers.{name}")
        for name in ("DWaveSampler", "DWaveCliqueSampler", "LeapHybridSampler")
    ]
    + [
        ("dwave.system", "module", "index.html"),
        ("dwave.system.testing.MockDWaveSampler", "class",
         "utilities.html#dwave.system.testing.MockDWaveSampler"),
    ],
}


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    for name in names:
        try:
            obj = getattr(module, name)
        except (AttributeError, ImportError):  # experimental names that need an opt-in import
            continue
        yield name, obj


def _role(obj):
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if callable(obj):
        return "function"
    return None


def _methods(cls):
    for name, member in inspect.getmembers(cls):
        if not name.startswith("_") and (inspect.isfunction(member) or inspect.ismethod(member)):
            yield name


def _python():
    for name in dir(builtins):
        obj = getattr(builtins, name)
        role = _role(obj)
        if name.startswith("_") or role is None:
            continue
        if role == "exception":
            yield name, role, f"library/exceptions.html#{name}"
        elif name in _STDTYPES:
            yield name, "class", f"library/stdtypes.html#{name}"
        else:
            yield name, role, f"library/functions.html#{name}"
    for mod in _STDLIB:
        yield mod, "module", f"library/{mod}.html#module-{mod}"
        for name, obj in _public(importlib.import_module(mod)):
            role = _role(obj)
            if role and getattr(obj, "__module__", "").split(".")[0] in (mod, "_" + mod, "posix"):
                yield f"{mod}.{name}", role, f"library/{mod}.html#{mod}.{name}"


def _numpy():
    import numpy as np

    for name, obj in _public(np):
        role = _role(obj)
        if role:
            full = f"numpy.{name}"
            yield full, role, f"reference/generated/{full}.html#{full}"
    for meth in _methods(np.ndarray):
        full = f"numpy.ndarray.{meth}"
        yield full, "method", f"reference/generated/{full}.html#{full}"
    random = "reference/random/"
    yield "numpy.random.RandomState", "class", f"{random}legacy.html#numpy.random.RandomState"
    yield "numpy.random.Generator", "class", f"{random}generator.html#numpy.random.Generator"
    yield "numpy.random.default_rng", "function", f"{random}generator.html#numpy.random.default_rng"
    for scalar in ("float64", "float32", "int64", "int32", "uint8", "bool_"):
        yield f"numpy.{scalar}", "class", f"reference/arrays.scalars.html#numpy.{scalar}"


def _scipy():
    for sub in _SCIPY:
        module = importlib.import_module(f"scipy.{sub}")
        yield f"scipy.{sub}", "module", f"reference/{sub}.html#module-scipy.{sub}"
        for name, obj in _public(module):
            role = _role(obj)
            if role:
                full = f"scipy.{sub}.{name}"
                yield full, role, f"reference/generated/{full}.html#{full}"


def _sklearn():
    import sklearn

    for sub in sklearn.__all__:
        if sub.startswith("_") or sub in ("clone", "config_context", "get_config", "set_config",
                                          "show_versions"):
            continue
        try:
            module = importlib.import_module(f"sklearn.{sub}")
        except ImportError:  # experimental or optional submodules
            continue
        if not inspect.ismodule(module):
            continue
        yield f"sklearn.{sub}", "module", f"api/sklearn.{sub}.html#module-sklearn.{sub}"
        for name, obj in _public(module):
            role = _role(obj)
            if not role or inspect.ismodule(obj):
                continue
            full = f"sklearn.{sub}.{name}"
            page = f"modules/generated/{full}.html"
            yield full, role, f"{page}#{full}"
            if role in ("class", "exception"):
                for meth in _methods(obj):
                    yield f"{full}.{meth}", "method", f"{page}#{full}.{meth}"
    for name in ("clone", "config_context", "get_config", "set_config", "show_versions"):
        full = f"sklearn.{name}"
        yield full, "function", f"modules/generated/{full}.html#{full}"
    # user-guide labels that the docstrings of inherited estimator methods refer to
    yield "metadata_routing", "std:label", "metadata_routing.html#metadata-routing", "Routing"
    yield (
        "df_output_transform",
        "std:label",
        "modules/df_output_transform.html#df-output-transform",
        "Pandas/Polars Output for Transformers with set_output API",
    )
    yield (
        "sphx_glr_auto_examples_miscellaneous_plot_set_output.py",
        "std:label",
        "auto_examples/miscellaneous/plot_set_output.html"
        "#sphx-glr-auto-examples-miscellaneous-plot-set-output-py",
        "Introducing the set_output API",
    )


def _ocean(project):
    yield from _OCEAN[project]


_ENTRIES = {
    "python": _python,
    "numpy": _numpy,
    "scipy": _scipy,
    "sklearn": _sklearn,
    "dimod": lambda: _ocean("dimod"),
    "dwave-system": lambda: _ocean("dwave-system"),
}


def write_inventory(path, project, entries):
    """Write Sphinx's ``objects.inv`` (version 2) for ``entries`` of (name, role, uri[, title])."""
    seen = set()
    lines = []
    for name, role, uri, *title in entries:
        if (name, role) in seen:
            continue
        seen.add((name, role))
        domain_role = role if ":" in role else f"py:{role}"
        lines.append(f"{name} {domain_role} 1 {uri} {title[0] if title else '-'}\n")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: installed\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(header.encode())
        fh.write(zlib.compress("".join(sorted(lines)).encode()))
    return len(lines)


def intersphinx_mapping(folder):
    """Write every project's inventory into ``folder``; return ``intersphinx_mapping``."""
    mapping = {}
    for project, entries in _ENTRIES.items():
        path = os.path.join(folder, f"{project}.inv")
        write_inventory(path, project, entries())
        mapping[project] = (SITES[project], path)
    return mapping
