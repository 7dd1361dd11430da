"""Command line: --version, --threads, the run record, tqdm log lines, the compile notice."""

import json
import os

import numba
import pytest

import quboclf
from quboclf.__main__ import main
from quboclf.studies import _cli, _environment


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        _cli._parser().parse_args(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"quboclf {quboclf.__version__} (Python ")


def test_run_record_and_threads(tmp_path, capsys):
    out = tmp_path / "out"
    before = numba.get_num_threads()
    status = main(["bench", "classifier", "--dataset", "digits", "--subsample", "150",
                   "--bits", "2", "--max-iter", "3", "--threads", "1", "--out", str(out)])
    assert status == 0
    assert numba.get_num_threads() == before  # restored after the run
    stdout, stderr = capsys.readouterr()
    assert "classifier-digits-run.json" in stdout
    # the per-fit lines reach stderr (through tqdm.write, beside the bar)
    assert "qubo 2 bits: accuracy" in stderr
    record = json.loads((out / "classifier-digits-run.json").read_text())
    assert record["command"][:3] == ["quboclf", "bench", "classifier"]
    assert record["arguments"]["threads"] == 1 and record["arguments"]["bits"] == [2]
    assert record["seeds"] == [0]
    assert record["versions"]["quboclf"] == quboclf.__version__
    assert record["versions"]["numba"] == numba.__version__
    assert record["threads"]["requested"] == 1
    assert record["threads"]["numba"] == 1  # measured while the limit was in force
    assert record["threads"]["blas_threads_in_fits"] == 1
    assert quboclf.get_config()["blas_threads"] == 1  # restored
    assert all(pool["num_threads"] == 1 for pool in record["threads"]["threadpools"])
    assert record["machine"]["cpu_count"] == os.cpu_count()
    assert record["wall_time_s"] > 0


def test_too_many_threads_is_refused(tmp_path, capsys):
    most = numba.config.NUMBA_NUM_THREADS
    status = main(["bench", "classifier", "--dataset", "digits", "--subsample", "150",
                   "--bits", "2", "--threads", str(most + 1), "--out", str(tmp_path)])
    assert status == 1
    err = capsys.readouterr().err
    assert f"--threads {most + 1}" in err and f"NUMBA_NUM_THREADS={most + 1}" in err
    assert not list(tmp_path.iterdir())  # refused before any work


def test_bad_threads_value(capsys):
    assert main(["bench", "classifier", "--threads", "0"]) == 2
    assert "--threads must be an integer of at least 1" in capsys.readouterr().err


def test_compile_notice_only_on_a_cold_cache(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(quboclf, "warm_up", lambda: calls.append(1))
    monkeypatch.setattr(_environment, "_cache_is_cold", lambda: True)
    _environment.warm_up_with_notice(quiet=False)
    assert "compiling kernels (first run only" in capsys.readouterr().err
    monkeypatch.setattr(_environment, "_cache_is_cold", lambda: False)
    _environment.warm_up_with_notice(quiet=False)
    _environment.warm_up_with_notice(quiet=True)
    assert capsys.readouterr().err == ""  # a warm cache loads silently
    assert len(calls) == 3


def test_cache_is_cold_reads_numba_index(tmp_path, monkeypatch):
    from types import SimpleNamespace

    def kernel():
        pass

    kernel.__module__ = "quboclf._kernels._anneal"
    fake = SimpleNamespace(stats=SimpleNamespace(cache_path=str(tmp_path)), py_func=kernel)
    monkeypatch.setattr(_environment, "_kernel_dispatchers", lambda: iter([fake]))
    assert _environment._cache_is_cold()  # no index file: numba will compile
    qualname = kernel.__qualname__
    (tmp_path / f"_anneal.{qualname}-12.py311.nbi").write_bytes(b"")
    assert not _environment._cache_is_cold()
    # and the real kernels' layout is understood (they are compiled by now)
    monkeypatch.undo()
    quboclf.warm_up()
    assert not _environment._cache_is_cold()
