"""Tests of the numba wrapper ``quboclf/_kernels/_jit.py``: its cache unusable, broken or misplaced.

The cache tests reproduce a read-only install faithfully even when the tests run as root (where
``chmod`` does not stop writes). numba (``numba/core/caching.py``) tries, in order, the locators

- ``UserProvidedCacheLocator``: ``$NUMBA_CACHE_DIR/<pkgdir>_<sha1>`` when ``NUMBA_CACHE_DIR`` is
  set;
- ``InTreeCacheLocator``: the ``__pycache__`` directory next to the source file;
- ``UserWideCacheLocator``: ``$XDG_CACHE_HOME/numba/...`` (default ``~/.cache``);
- ``IPythonCacheLocator``: only for code typed at an IPython prompt;
- ``ZipCacheLocator``: only for sources whose path contains ``.zip`` (it checks nothing else).

Each of the first three is usable iff ``os.makedirs(path, exist_ok=True)`` and a temporary file in
it succeed. A path *under a regular file* fails ``makedirs`` for every user, root included, and a
regular *file* named ``__pycache__`` does too. So the subprocess runs on a copy of the package
whose ``_kernels/__pycache__`` is a file, with ``NUMBA_CACHE_DIR``, ``XDG_CACHE_HOME`` and ``HOME``
under a regular file, in a directory without ``.zip`` in its path; it then checks that numba
itself finds no locator (``FunctionCache`` raises) so the setup is real, not assumed.

The tests that start a fresh interpreter (a copy of the package, a cold numba cache) are marked
``slow``: ``python -m pytest -m "not slow"`` skips them, CI runs them.
"""

import os
import shutil
import sys
import warnings
from pathlib import Path

import numba
import pytest
from conftest import last_json, run_script

import quboclf
from quboclf._kernels import _jit

PACKAGE_DIR = Path(quboclf.__file__).parent

# ---------------------------------------------------------------------------------------------
# helpers


def _snapshot(root):
    """Every path under ``root`` with its type, size and modification time."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            out[str(path.relative_to(root))] = (path.is_dir(), st.st_size, st.st_mtime_ns)
    return out


def _copy_package(dest):
    """Copy the quboclf sources (no bytecode, no numba cache) into ``dest/quboclf``."""
    target = Path(dest) / "quboclf"
    shutil.copytree(PACKAGE_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target




# ---------------------------------------------------------------------------------------------
# numba cannot cache at all: read-only install, unwritable NUMBA_CACHE_DIR

_NO_CACHE_SCRIPT = """
import json, os, warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import quboclf
    from quboclf._kernels import _anneal, _assembly, _conv

import numpy as np
from numba.core.caching import FunctionCache
from sklearn.datasets import make_classification

# numba itself finds no locator for a kernel of the copy: the condition is real.
try:
    FunctionCache(_assembly.assemble_qubo.py_func)
    numba_found_locator = True
except RuntimeError as exc:
    numba_found_locator = "no locator available" not in str(exc)

kernels = [
    obj for mod in (_anneal, _assembly, _conv) for obj in vars(mod).values()
    if hasattr(obj, "py_func") and obj.py_func.__module__ == mod.__name__
]
X, y = make_classification(n_samples=40, n_features=6, n_informative=4, n_redundant=0,
                           n_classes=3, n_clusters_per_class=1, random_state=0)
clf = quboclf.QUBOCNNClassifier(features="passthrough", n_bits=4, max_iter=5,
                                sampler_params={"num_reads": 2, "num_sweeps": 50},
                                random_state=0).fit(X, y)
images = np.random.default_rng(0).random((6, 8, 8))
feats = quboclf.RandomConvFeatures(n_filters=2, kernel_size=3, pool_grid=2,
                                   random_state=0).fit(images)
Z = feats.transform(images)
print(json.dumps({
    "file": quboclf.__file__,
    "numba_found_locator": numba_found_locator,
    "warned": sorted({str(w.message).split(" (")[0].removeprefix("numba cannot cache ")
                      for w in caught if issubclass(w.category, RuntimeWarning)}),
    "kernels": sorted(k.py_func.__qualname__ for k in kernels),
    "caches": sorted({type(k._cache).__name__ for k in kernels}),
    "score": float(clf.score(X, y)),
    "pred_ok": bool(np.isin(clf.predict(X), clf.classes_).all()),
    "Z_shape": list(Z.shape),
    "Z_finite": bool(np.isfinite(Z).all()),
}))
"""


@pytest.mark.slow

def _isolated_env(path, root, **extra):
    """Environment of a subprocess importing quboclf from ``path``, its caches under ``root``."""
    return {
        "PYTHONPATH": str(path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "XDG_CACHE_HOME": str(root / "xdg"),
        "HOME": str(root / "home"),
        **extra,
    }

def test_works_when_numba_cannot_cache(tmp_path):
    assert ".zip" not in str(tmp_path)  # else numba's ZipCacheLocator would accept any path
    copy = _copy_package(tmp_path / "site")
    (copy / "_kernels" / "__pycache__").write_text("a file where numba wants a directory\n")
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file: nothing can be created under it\n")
    # Also read-only for a non-root user; root ignores this, the two files above stop it.
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    before = _snapshot(tmp_path)

    env = _isolated_env(tmp_path / "site", blocker, NUMBA_CACHE_DIR=str(blocker / "numba"))
    try:
        out = last_json(run_script(_NO_CACHE_SCRIPT, env, cwd=tmp_path))
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)

    assert Path(out["file"]).parent == copy  # the copy was imported, not the checkout
    assert out["numba_found_locator"] is False
    assert out["kernels"], "no numba kernels found"
    # every kernel warned at import and runs uncached
    assert out["warned"] == out["kernels"]
    assert out["caches"] == ["NullCache"]
    assert out["pred_ok"] and out["score"] > 0.5
    assert out["Z_shape"] == [6, 2 * 2 * 2] and out["Z_finite"]
    assert _snapshot(tmp_path) == before, (
        "something was written although no cache location was usable"
    )


_CACHE_SCRIPT = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import quboclf
    from quboclf._kernels import _assembly
    _assembly.warm_up()
print(json.dumps({"file": quboclf.__file__,
                  "warnings": [str(w.message) for w in caught
                               if issubclass(w.category, RuntimeWarning)]}))
"""


@pytest.mark.slow
def test_caches_to_numba_cache_dir(tmp_path):
    copy = _copy_package(tmp_path / "site")
    cache_dir = tmp_path / "numba-cache"
    env = {
        "PYTHONPATH": str(tmp_path / "site"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "NUMBA_CACHE_DIR": str(cache_dir),
        "NUMBA_DEBUG_CACHE": "1",
    }
    first = run_script(_CACHE_SCRIPT, env, cwd=tmp_path)
    assert last_json(first) == {"file": str(copy / "__init__.py"), "warnings": []}
    written = sorted(p.name for p in cache_dir.rglob("*") if p.is_file())
    assert any(n.startswith("_assembly.assemble_qubo-") and n.endswith(".nbi") for n in written)
    assert any(n.startswith("_assembly.assemble_qubo-") and n.endswith(".nbc") for n in written)
    assert "data saved" in first
    assert not (copy / "_kernels" / "__pycache__").exists()  # NUMBA_CACHE_DIR wins

    # a second interpreter loads the compiled kernel instead of compiling it again
    files = _snapshot(cache_dir)
    second = run_script(_CACHE_SCRIPT, env, cwd=tmp_path)
    assert "data loaded" in second and "data saved" not in second
    assert _snapshot(cache_dir) == files


# ---------------------------------------------------------------------------------------------
# failures of the cache after import (the first call), and at decoration, in process

_KERNEL_SOURCE = """
from quboclf._kernels._jit import jit


@jit
def plus_one(x):
    return x + 1.0
"""


def _load_kernel_module(directory, name):
    import importlib.util

    path = Path(directory) / f"{name}.py"
    path.write_text(_KERNEL_SOURCE)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cache_files(cache_dir):
    return sorted(p for p in Path(cache_dir).rglob("*") if p.is_file())


def test_cache_dir_gone_before_first_call(tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(cache_dir))
    module = _load_kernel_module(tmp_path, "robust_gone")
    assert type(module.plus_one._cache).__name__ == "_TolerantCache"
    # replaced by a file between import and first call: numba raises NotADirectoryError there
    shutil.rmtree(cache_dir)
    cache_dir.write_text("")
    with pytest.warns(RuntimeWarning, match=r"cannot (read|write) its cache for plus_one"):
        assert module.plus_one(1.0) == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once; the cache is now disabled
        assert module.plus_one(2.5) == 3.5


def test_corrupt_cache_file(tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(cache_dir))
    assert _load_kernel_module(tmp_path, "robust_corrupt").plus_one(1.0) == 2.0
    files = _cache_files(cache_dir)
    assert {p.suffix for p in files} == {".nbi", ".nbc"}
    for path in files:
        path.write_bytes(b"truncated")  # numba raises UnpicklingError from the call
    module = _load_kernel_module(tmp_path, "robust_corrupt")  # fresh dispatcher
    with pytest.warns(RuntimeWarning, match=r"cache for plus_one .* was corrupt .*Unpickling"):
        assert module.plus_one(1.0) == 2.0
    # repaired: deleted and written afresh, so the next process loads it without a warning
    repaired = _cache_files(cache_dir)
    assert {p.suffix for p in repaired} == {".nbi", ".nbc"}
    assert all(p.read_bytes() != b"truncated" for p in repaired)
    module = _load_kernel_module(tmp_path, "robust_corrupt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert module.plus_one(1.0) == 2.0
    assert module.plus_one.stats.cache_hits, "the repaired cache was not used"


def test_corrupt_cache_that_cannot_be_deleted(tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(cache_dir))
    assert _load_kernel_module(tmp_path, "robust_stuck").plus_one(1.0) == 2.0
    for path in _cache_files(cache_dir):
        path.write_bytes(b"truncated")
    module = _load_kernel_module(tmp_path, "robust_stuck")

    def cannot(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(_jit.os, "remove", cannot)
    with pytest.warns(RuntimeWarning, match=r"corrupt .*could not be deleted.*Delete the folder"):
        assert module.plus_one(1.0) == 2.0


# ---------------------------------------------------------------------------------------------
# where the cache goes by default: never into an installed package

_WHERE_SCRIPT = """
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import quboclf
    from quboclf._kernels import _assembly, _jit
    _assembly.warm_up()
print(json.dumps({"file": quboclf.__file__, "root": _jit.cache_root(),
                  "hits": len(_assembly.assemble_qubo.stats.cache_hits),
                  "warnings": [str(w.message) for w in caught
                               if issubclass(w.category, RuntimeWarning)]}))
"""


def _installed_copy(tmp_path):
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    return site, _copy_package(site)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the user cache folder follows XDG on Linux")
def test_installed_package_caches_in_the_user_cache(tmp_path):
    """An installed copy caches under $XDG_CACHE_HOME/quboclf/numba, nothing in site-packages."""
    site, copy = _installed_copy(tmp_path)
    env = _isolated_env(site, tmp_path)
    before = _snapshot(site)
    first = last_json(run_script(_WHERE_SCRIPT, env, cwd=tmp_path))
    assert first["file"] == str(copy / "__init__.py")
    assert first["root"] == str(tmp_path / "xdg" / "quboclf" / "numba")
    assert first["warnings"] == []
    written = sorted(p.name for p in Path(first["root"]).rglob("*.nbi"))
    assert any(n.startswith("_assembly.assemble_qubo-") for n in written), written
    assert _snapshot(site) == before, "numba wrote into site-packages"
    # the next process loads the kernels from there
    second = last_json(run_script(_WHERE_SCRIPT, env, cwd=tmp_path))
    assert second["hits"] > 0 and second["warnings"] == []
    # and uninstalling (removing the package folder) leaves no quboclf folder behind
    shutil.rmtree(copy)
    assert not (site / "quboclf").exists()


@pytest.mark.slow
def test_installed_package_removes_numba_files_of_older_versions(tmp_path):
    """Files an older quboclf's numba cache left in site-packages are deleted at import."""
    site, copy = _installed_copy(tmp_path)
    pycache = copy / "_kernels" / "__pycache__"
    pycache.mkdir()
    old = [pycache / "_conv.conv_pool-49.py311.nbi", pycache / "_conv.conv_pool-49.py311.1.nbc"]
    for path in old:
        path.write_bytes(b"old cache")
    (pycache / "_conv.cpython-311.pyc").write_bytes(b"bytecode: pip removes it itself")
    env = _isolated_env(site, tmp_path)
    run_script("import quboclf", env, cwd=tmp_path)
    assert sorted(p.name for p in pycache.iterdir()) == ["_conv.cpython-311.pyc"]


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the user cache folder follows XDG on Linux")
def test_installed_package_never_caches_in_tree(tmp_path):
    """No usable user cache: an installed copy compiles in memory rather than write in-tree."""
    site, copy = _installed_copy(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    env = _isolated_env(site, blocker)
    before = _snapshot(site)
    out = last_json(run_script(_WHERE_SCRIPT, env, cwd=tmp_path))
    assert out["warnings"] and all("compiling in memory" in w for w in out["warnings"])
    assert _snapshot(site) == before


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="the user cache folder follows XDG on Linux")
def test_source_checkout_falls_back_to_its_pycache(tmp_path):
    """A source checkout (not under site-packages) may cache in-tree when the user cache fails."""
    copy = _copy_package(tmp_path / "checkout")
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    env = _isolated_env(tmp_path / "checkout", blocker)
    out = last_json(run_script(_WHERE_SCRIPT, env, cwd=tmp_path))
    assert out["warnings"] == []
    assert any((copy / "_kernels" / "__pycache__").glob("_assembly.assemble_qubo-*.nbi"))


def test_no_locator_at_decoration(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(blocker / "numba"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "xdg"))
    monkeypatch.setenv("HOME", str(blocker / "home"))
    (tmp_path / "__pycache__").write_text("")
    with pytest.warns(RuntimeWarning, match="numba cannot cache plus_one .*no locator"):
        module = _load_kernel_module(tmp_path, "robust_nolocator")
    assert type(module.plus_one._cache).__name__ == "NullCache"
    assert module.plus_one(1.0) == 2.0


def test_jit_options():
    def f(x):
        return x

    assert type(_jit.jit(cache=False)(f)._cache).__name__ == "NullCache"
    with pytest.raises(TypeError, match="explicit signatures"):
        _jit.jit("f8(f8)")
