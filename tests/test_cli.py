"""End-to-end tests of the ``quboclf`` command line (small inputs: digits subsamples)."""

import csv
import os
import subprocess
import sys

import pytest

from quboclf.__main__ import main

try:
    import matplotlib  # noqa: F401

    HAVE_MPL = True
except ImportError:
    HAVE_MPL = False


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _check_png(path):
    if not HAVE_MPL:
        pytest.skip("matplotlib is not installed: no PNG is drawn")
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_bench_classifier_digits(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["bench", "classifier", "--dataset", "digits", "--subsample", "300",
                   "--bits", "3", "6", "--seeds", "0", "--max-iter", "15", "--quiet",
                   "--out", str(out)])
    assert status == 0
    stdout, stderr = capsys.readouterr()
    assert stderr == ""  # --quiet: no progress bars, no per-fit lines
    for label in ("SGDClassifier", "LogisticRegression", "QUBO head 3 bits", "QUBO head 6 bits"):
        assert label in stdout
    assert "1800" in stdout  # QUBO size d K = 600 * 3 (the biases are solved in closed form)
    assert "LR rounded 3 bits" in stdout

    raw = _read_csv(out / "classifier-digits.csv")
    assert [(r["model"], r["n_bits"]) for r in raw] == [
        ("sgd", "0"), ("logreg", "0"), ("qubo", "3"), ("qubo", "6"),
        ("logreg-rounded", "3"), ("logreg-rounded", "6")]
    assert {r["d"] for r in raw} == {"600"}
    assert {r["n_train"] for r in raw} == {"300"}
    for r in raw:
        assert 0.5 < float(r["accuracy"]) <= 1.0  # well above chance (0.1) on digits
        assert float(r["fit_s"]) > 0
    summary = _read_csv(out / "classifier-digits-summary.csv")
    assert [r["model"] for r in summary] == [
        "SGDClassifier", "LogisticRegression", "LR rounded 3 bits", "QUBO head 3 bits",
        "LR rounded 6 bits", "QUBO head 6 bits"]
    assert float(summary[0]["ratio_to_sgd"]) == pytest.approx(1.0)
    assert float(summary[0]["accuracy_std"]) == 0.0  # one seed
    assert [r["qubo_size"] for r in summary] == ["0", "0", "0", "1800", "0", "3600"]
    # the QUBO head starts from the rounded fit: never a higher training objective
    objective = {r["model"]: float(r["objective_mean"]) for r in summary}
    for k in (3, 6):
        assert objective[f"QUBO head {k} bits"] <= objective[f"LR rounded {k} bits"] + 0.02

    md = (out / "classifier-digits.md").read_text()
    assert "| model | accuracy (%) |" in md and md.count("\n|") == 8  # header, rule, 6 rows
    _check_png(out / "classifier-digits.png")


def test_bench_quantizer_digits(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["bench", "quantizer", "--dataset", "digits", "--subsample", "400",
                   "--bits", "4", "1", "--seeds", "0", "--out", str(out)])
    assert status == 0
    stdout, stderr = capsys.readouterr()
    assert "int4" in stdout and "int1" in stdout
    assert "digits seed 0 int1 qubo: accuracy" in stderr  # per-fit lines without --quiet

    raw = _read_csv(out / "quantizer-digits.csv")
    assert [(r["rounding"], r["n_bits"]) for r in raw] == [("float", "0")] + [
        (r, w) for w in ("4", "1") for r in ("nearest", "gptq", "adaround", "qubo")]
    summary = _read_csv(out / "quantizer-digits-summary.csv")
    assert [r["n_bits"] for r in summary] == ["4", "1"]
    for r in summary:
        # QUBO rounding minimises the calibration error that nearest rounding is one point of
        assert float(r["error_qubo"]) <= float(r["error_nearest"]) * (1 + 1e-9)
        assert float(r["error_qubo"]) <= float(r["error_gptq"]) * (1 + 1e-9)
        assert 0 < float(r["qubo_mean"]) <= 1
    assert "| width |" in (out / "quantizer-digits.md").read_text()
    _check_png(out / "quantizer-digits.png")


def test_missing_matplotlib_still_writes_tables(tmp_path, capsys, monkeypatch):
    # Simulate an environment without matplotlib: importing it fails.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "out"
    status = main(["bench", "classifier", "--subsample", "200", "--bits", "2", "--seeds", "1",
                   "--max-iter", "5", "--quiet", "--out", str(out)])
    assert status == 0
    _, stderr = capsys.readouterr()
    assert "matplotlib is not installed" in stderr and "quboclf[plot]" in stderr
    assert sorted(os.listdir(out)) == [
        "classifier-digits-run.json", "classifier-digits-summary.csv", "classifier-digits.csv",
        "classifier-digits.md"]


@pytest.mark.parametrize("extra", [[], ["--no-download"]])
@pytest.mark.parametrize("study", ["classifier", "quantizer"])
def test_missing_dataset_clear_message(no_data, capsys, study, extra):
    status = main(["bench", study, "--dataset", "fashion-mnist", "--quiet",
                   "--out", str(no_data / "out"), *extra])
    assert status != 0
    stdout, stderr = capsys.readouterr()
    assert stderr.startswith("quboclf: error: ")
    assert "Traceback" not in stderr
    assert "could not find" in stderr and "To fix this" in stderr
    assert str(no_data / "empty") in stderr  # names the data home it searched
    assert not (no_data / "out").exists()


def test_bad_argument_clear_message(tmp_path, capsys):
    status = main(["bench", "classifier", "--bits", "0", "--subsample", "100", "--seeds", "0",
                   "--quiet", "--out", str(tmp_path)])
    assert status == 2
    _, stderr = capsys.readouterr()
    assert "n_bits" in stderr and "Traceback" not in stderr


def test_info(capsys, monkeypatch):
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    monkeypatch.setenv("DWAVE_CONFIG_FILE", os.devnull)
    assert main(["info"]) == 0
    stdout = capsys.readouterr().out
    for text in ("quboclf ", "numpy", "scikit-learn", "numba: threading layer", "threads",
                 "dwave-samplers", "QPU access configured: no", "data home:",
                 "/usr/share/datasets", "digits: embedded", "fashion-mnist:"):
        assert text in stdout


@pytest.mark.slow
def test_subprocess_module_entry_point(tmp_path):
    # The real command, as users run it: python -m quboclf ...
    env = {**os.environ, "DWAVE_API_TOKEN": "", "QUBOCLF_DATA": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "quboclf", "info"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert str(tmp_path / "data") in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "quboclf", "bench", "classifier", "--dataset", "kmnist",
         "--no-download", "--quiet"],
        capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("quboclf: error: KMNIST") or "could not find" in done.stderr
    assert "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "quboclf", "bench", "nope"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "invalid choice" in done.stderr
