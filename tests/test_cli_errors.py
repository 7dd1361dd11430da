"""The command line's bad input: each error is one message naming the problem and the fix.

Each row: argv ("{tmp}" is the test's folder, "{ro}" an unwritable one), the setup it needs, the
exit status and a regex the stderr must match. Every row runs offline, with an empty data home,
no system data folders and no D-Wave token, and fails before any training: features, model fits
and the numba warm-up are replaced by functions that fail the test if reached.
"""

import os
import re
import sys
import tempfile

import numpy as np
import pytest

from quboclf import QUBOQuantizer, RandomConvFeatures
from quboclf._qubo import MAX_BITS

NO_EXTRA = r'needs dwave-system.*pip install "quboclf\[qpu\]"'


def _no_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dwave.system", None)  # "import dwave.system" fails


def _idx_header(*shape):
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


def _idx(*shape, values=0):
    """A small valid IDX file of unsigned bytes."""
    return _idx_header(*shape) + np.broadcast_to(np.asarray(values, np.uint8), shape).tobytes()


def _data_file(relpath, content):
    def setup(tmp, monkeypatch):
        path = tmp / "data" / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    return setup


def _a_file(tmp, monkeypatch):
    (tmp / "afile").write_text("not a folder")


def _data_env_is_a_file(tmp, monkeypatch):
    _a_file(tmp, monkeypatch)
    monkeypatch.setenv("QUBOCLF_DATA", str(tmp / "afile"))


def _token(tmp, monkeypatch):
    monkeypatch.setenv("DWAVE_API_TOKEN", "test-token-not-used")


CLI_SETUPS = {
    None: None,
    "no_extra": lambda tmp, mp: _no_extra(mp),
    "a_file": _a_file,
    "data_env_is_a_file": _data_env_is_a_file,
    "fashion_truncated": _data_file(
        "fashion-mnist/train-images-idx3-ubyte", _idx_header(60000, 28, 28) + bytes(100)
    ),
    "fashion_bad_gzip": _data_file(
        "fashion-mnist/train-images-idx3-ubyte.gz", b"\x1f\x8b" + b"not gzip data" * 8
    ),
    "fashion_wrong_file": _data_file("fashion-mnist/train-images-idx3-ubyte", _idx(2, 28, 28)),
    "mnist_not_idx": _data_file("mnist/train-images-idx3-ubyte", b"hello world"),
    "mnist_wrong_shape": _data_file("mnist/train-images-idx3-ubyte", _idx(2, 28, 28)),
    "mnist_bad_labels": _data_file(
        "mnist/train-labels-idx1-ubyte", _idx(60000, values=np.arange(60000) % 12)
    ),
    "emnist_bad_zip": _data_file("emnist/gzip.zip", b"PK not a zip archive"),
    "cifar_bad_tar": _data_file("cifar-10/cifar-10-python.tar.gz", b"not a tarball"),
}

B = ["bench"]
CLF = ["bench", "classifier", "--quiet", "--out", "{tmp}/out"]
QNT = ["bench", "quantizer", "--quiet", "--out", "{tmp}/out"]
DATA = ["--data-home", "{tmp}/data"]
USAGE = r"^usage: quboclf.*\n"
OUT_OF_RANGE = r"{0}: {1} is out of range: {2} must be an integer {3}; {4}"
MISSING = r"could not find .*To fix this:.*On the command line: "
DAMAGED = r"^quboclf: error: '{{tmp}}/data/{0}'.*{1}"
NO_QPU_TOKEN = (
    r"--sampler {0} needs access to D-Wave Leap, but no API token is configured: set the "
    r"DWAVE_API_TOKEN environment variable or run `dwave config create`"
)
MAX_WIDTH = QUBOQuantizer._parameter_constraints["n_bits"][0].right

# (id, argv, setup, exit status, regex)
# fmt: off
CLI_ROWS = [
    # commands and options
    ("no-command", [], None, 2, USAGE + r"quboclf: error: .*required: \{bench,info\}"),
    ("unknown-command", ["train"], None, 2,
     r"invalid choice: 'train' \(choose from 'bench', 'info'\)"),
    ("no-study", B, None, 2, r"quboclf bench: error: .*required: \{classifier,quantizer\}"),
    ("unknown-study", [*B, "svm"], None, 2,
     r"invalid choice: 'svm' \(choose from 'classifier', 'quantizer'\)"),
    ("unknown-option", [*CLF, "--bitz", "4"], None, 2,
     r"^usage: quboclf bench classifier .*\[--bits K \[K \.\.\.\]\].*quboclf bench "
     r"classifier: error: unrecognized arguments: --bitz 4 \(`quboclf bench classifier --help` "
     r"lists the options\)$"),
    ("other-study-option", [*CLF, "--n-calibration", "8"], None, 2,
     r"classifier: error: unrecognized arguments: --n-calibration 8 \(`quboclf bench "
     r"classifier --help` lists the options\)"),
    ("bench-option-for-info", ["info", "--seeds", "0"], None, 2,
     r"quboclf info: error: unrecognized arguments: --seeds 0 \(`quboclf info --help` lists"),
    ("unknown-dataset", [*CLF, "--dataset", "imagenet"], None, 2,
     r"argument --dataset: invalid choice: 'imagenet' \(choose from 'digits', 'mnist', "),
    # bit precisions and widths
    ("bits-none", [*CLF, "--bits"], None, 2, r"argument --bits: expected at least one argument"),
    ("bits=0", [*CLF, "--bits", "0"], None, 2,
     OUT_OF_RANGE.format("--bits", 0, "the QUBO head's bit precision n_bits",
                         rf"from 1 to {MAX_BITS}", r"e\.g\. --bits 4 8 12 16 20")),
    (f"bits={MAX_BITS + 1}", [*CLF, "--bits", "8", str(MAX_BITS + 1)], None, 2,
     OUT_OF_RANGE.format("--bits", MAX_BITS + 1, "the QUBO head's bit precision n_bits",
                         rf"from 1 to {MAX_BITS}", r"e\.g\. --bits 4 8 12 16 20")),
    ("bits=abc", [*CLF, "--bits", "abc"], None, 2,
     r"argument --bits: 'abc' is not an integer: .*n_bits must be an integer from 1 to"),
    ("bits=2.5", [*CLF, "--bits", "2.5"], None, 2, r"argument --bits: '2\.5' is not an integer"),
    ("bits-repeated", [*CLF, "--bits", "4", "8", "4"], None, 2,
     r"argument --bits: 4 is given more than once; list each value once, e\.g\. --bits 4 8$"),
    ("width=0", [*QNT, "--bits", "0"], None, 2,
     OUT_OF_RANGE.format("--bits", 0, "the quantizer's bit width n_bits",
                         rf"from 1 to {MAX_WIDTH}", r"e\.g\. --bits 8 6 4 3 2 1")),
    (f"width={MAX_WIDTH + 1}", [*QNT, "--bits", str(MAX_WIDTH + 1)], None, 2,
     OUT_OF_RANGE.format("--bits", MAX_WIDTH + 1, "the quantizer's bit width n_bits",
                         rf"from 1 to {MAX_WIDTH}", r"e\.g\. --bits 8 6 4 3 2 1")),
    ("width=-1", [*QNT, "--bits", "-1"], None, 2, r"argument --bits: -1 is out of range"),
    # seeds, sizes and counts
    ("seed=-1", [*CLF, "--seeds", "-1"], None, 2,
     OUT_OF_RANGE.format("--seeds", -1, "a seed", "from 0 to 4294967295",
                         r"e\.g\. --seeds 0 1 2")),
    ("seed=2**32", [*QNT, "--seeds", "0", str(2**32)], None, 2,
     r"argument --seeds: 4294967296 is out of range: a seed must be an integer from 0 to"),
    ("seed=x", [*CLF, "--seeds", "x"], None, 2, r"argument --seeds: 'x' is not an integer"),
    ("seeds-repeated", [*QNT, "--seeds", "0", "1", "0"], None, 2,
     r"argument --seeds: 0 is given more than once; list each value once, e\.g\. --seeds 0 1"),
    ("subsample=0", [*CLF, "--subsample", "0"], None, 2,
     r"argument --subsample: 0 is out of range: --subsample must be an integer of at least 1; "
     r"leave it out to use every row"),
    ("subsample=-5", [*QNT, "--subsample", "-5"], None, 2,
     r"argument --subsample: -5 is out of range"),
    ("subsample=lots", [*CLF, "--subsample", "lots"], None, 2,
     r"argument --subsample: 'lots' is not an integer"),
    ("subsample<classes", [*CLF, "--subsample", "5", "--bits", "2"], None, 2,
     r"^quboclf: error: ValueError: subsample=5 is too small: .* each of the 10 classes; .*"
     r"--subsample 10 or more"),
    ("subsample<classes-quantizer", [*QNT, "--subsample", "9", "--bits", "2"], None, 2,
     r"subsample=9 is too small: .*--subsample 10 or more"),
    ("n-jobs=0", [*CLF, "--n-jobs", "0"], None, 2,
     r"argument --n-jobs: '0' is not a number of parallel jobs: give a positive count, -1 "),
    ("n-jobs=all", [*QNT, "--n-jobs", "all"], None, 2,
     r"argument --n-jobs: 'all' is not a number of parallel jobs"),
    ("max-iter=0", [*CLF, "--max-iter", "0"], None, 2,
     OUT_OF_RANGE.format("--max-iter", 0, "--max-iter", "of at least 1",
                         r"e\.g\. --max-iter 100 \(the default\)")),
    ("n-calibration=0", [*QNT, "--n-calibration", "0"], None, 2,
     OUT_OF_RANGE.format("--n-calibration", 0, "--n-calibration", "of at least 1",
                         r"e\.g\. --n-calibration 1024 \(the default\)")),
    # samplers
    ("sampler=bogus", [*CLF, "--sampler", "bogus"], None, 2,
     r"argument --sampler: unknown sampler 'bogus'; use one of sa, sa-dimod, tabu, qpu, hybrid"),
    ("sampler=exact", [*QNT, "--sampler", "exact"], None, 2,
     r"argument --sampler: 'exact' .* more than 20 binary variables, .*use one of sa, "),
    ("qpu-no-extra", [*CLF, "--sampler", "qpu"], "no_extra", 1,
     "^quboclf: error: sampler='qpu' " + NO_EXTRA),
    ("hybrid-no-extra", [*QNT, "--sampler", "hybrid"], "no_extra", 1, NO_EXTRA),
    ("qpu-no-token", [*CLF, "--sampler", "qpu"], None, 1, NO_QPU_TOKEN.format("qpu")),
    ("hybrid-no-token", [*QNT, "--sampler", "hybrid"], None, 1, NO_QPU_TOKEN.format("hybrid")),
    # output folder
    ("out-is-a-file", [*CLF, "--out", "{tmp}/afile"], "a_file", 2,
     r"argument --out: '{tmp}/afile' is a file, not a folder: give --out a folder"),
    ("out-under-a-file", [*QNT, "--out", "{tmp}/afile/results"], "a_file", 2,
     r"argument --out: the folder '{tmp}/afile/results' cannot be created because "
     r"'{tmp}/afile' is a file; give --out another folder"),
    ("out-not-writable", [*CLF, "--out", "{ro}/results"], None, 2,
     r"argument --out: cannot write into '{ro}' \(.*\), so the results could not be saved in "
     r"'{ro}/results'; give --out a folder you can write to"),
    # data folder and data sets
    ("data-home-is-a-file", [*CLF, "--dataset", "mnist", "--data-home", "{tmp}/afile"],
     "a_file", 2, r"argument --data-home: '{tmp}/afile' is a file, not a folder"),
    ("data-home-under-a-file", [*QNT, "--data-home", "{tmp}/afile/data"], "a_file", 2,
     r"argument --data-home: the folder '{tmp}/afile/data' cannot be created because "
     r"'{tmp}/afile' is a file"),
    ("info-data-home-is-a-file", ["info", "--data-home", "{tmp}/afile"], "a_file", 2,
     r"quboclf info: error: argument --data-home: '{tmp}/afile' is a file, not a folder"),
    ("QUBOCLF_DATA-is-a-file", [*CLF, "--dataset", "kmnist"], "data_env_is_a_file", 1,
     r"^quboclf: error: the data folder '{tmp}/afile' \(from \$QUBOCLF_DATA\) is a file, not a "
     r"folder: point \$QUBOCLF_DATA or --data-home at a folder"),
    ("missing-no-download", [*CLF, "--dataset", "fashion-mnist", "--no-download"], None, 1,
     r"^quboclf: error: Fashion-MNIST: " + MISSING + r"leave out --no-download to download "
     r"it, or pass --data-home DIR"),
    ("missing-offline", [*QNT, "--dataset", "kmnist"], None, 1,
     r"^quboclf: error: Kuzushiji-MNIST: could not find .*Downloading failed:\n.*network "
     r"disabled by the test.*To fix this:.*On the command line: --data-home DIR chooses the "
     r"data folder\.$"),
    ("missing-data-home", [*CLF, "--dataset", "mnist", "--no-download", *DATA], None, 1,
     r"^quboclf: error: MNIST: could not find .*Searched .*\n  {tmp}/data/mnist/"
     r"train-images-idx3-ubyte\.gz\n.*Downloading was not attempted.*To fix this:.*On the "
     r"command line: leave out --no-download"),
    ("fashion-truncated", [*CLF, "--dataset", "fashion-mnist", *DATA], "fashion_truncated", 1,
     DAMAGED.format("fashion-mnist/train-images-idx3-ubyte",
                    r"truncated: .*shape \(60000, 28, 28\).*delete it and fetch it again\.$")),
    ("fashion-bad-gzip", [*QNT, "--dataset", "fashion-mnist", *DATA], "fashion_bad_gzip", 1,
     DAMAGED.format(r"fashion-mnist/train-images-idx3-ubyte\.gz",
                    r"is not a valid gzip stream .*delete it and fetch it again\.$")),
    ("fashion-wrong-file", [*CLF, "--dataset", "fashion-mnist", *DATA], "fashion_wrong_file", 1,
     DAMAGED.format("fashion-mnist/train-images-idx3-ubyte",
                    r"holds an array of shape \(2, 28, 28\).*Fashion-MNIST's "
                    r"'train-images-idx3-ubyte' has shape \(60000, 28, 28\).*Replace it with the "
                    r"official file\.$")),
    ("mnist-not-idx", [*CLF, "--dataset", "mnist", *DATA], "mnist_not_idx", 1,
     DAMAGED.format("mnist/train-images-idx3-ubyte",
                    r"is not an IDX file: bad magic number .* delete it and fetch it "
                    r"again\.$")),
    ("mnist-wrong-shape", [*QNT, "--dataset", "mnist", *DATA], "mnist_wrong_shape", 1,
     DAMAGED.format("mnist/train-images-idx3-ubyte",
                    r"holds an array of shape \(2, 28, 28\).*Replace it with the official "
                    r"file\.$")),
    ("mnist-bad-labels", [*CLF, "--dataset", "mnist", *DATA], "mnist_bad_labels", 1,
     DAMAGED.format("mnist/train-labels-idx1-ubyte",
                    r"holds labels from 0 to 11, but MNIST labels lie in \[0, 9\].* Delete or "
                    r"replace the damaged file, then run again\.$")),
    ("emnist-bad-zip", [*QNT, "--dataset", "emnist", *DATA], "emnist_bad_zip", 1,
     DAMAGED.format(r"emnist/gzip\.zip",
                    r"is not a readable zip archive .*delete it and fetch it again\.$")),
    ("cifar10-bad-tar", [*CLF, "--dataset", "cifar10", *DATA], "cifar_bad_tar", 1,
     DAMAGED.format(r"cifar-10/cifar-10-python\.tar\.gz",
                    r"is not a readable tar archive .*delete it and fetch it again\.$")),
]
# fmt: on


def _unwritable_folder(tmp):
    """A folder this process cannot write into (a read-only one; /sys when running as root)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        if not os.path.isdir("/sys"):
            pytest.skip("running as root without /sys: no folder is unwritable")
        try:
            with tempfile.TemporaryFile(dir="/sys"):
                pass
        except OSError:
            return "/sys"
        pytest.skip("running as root and /sys is writable: no folder is unwritable")
    folder = tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return str(folder)


@pytest.fixture
def cli_env(no_data, monkeypatch):
    """Offline, no data anywhere, no D-Wave access, and no training allowed."""
    from quboclf import _kernels
    from quboclf.studies import _runs

    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    monkeypatch.setenv("DWAVE_CONFIG_FILE", os.devnull)

    def no_work(*args, **kwargs):
        raise AssertionError("a bad command line reached the computation")

    monkeypatch.setattr(_kernels, "warm_up", lambda: None)  # cheap, but may compile
    monkeypatch.setattr(_runs, "timed_fit", no_work)
    monkeypatch.setattr(RandomConvFeatures, "fit", no_work)
    monkeypatch.setattr(RandomConvFeatures, "_partial_fit_raw", no_work)
    return no_data


@pytest.mark.parametrize(
    ("argv", "setup", "status", "match"),
    [row[1:] for row in CLI_ROWS],
    ids=[row[0] for row in CLI_ROWS],
)
def test_command_line_bad_input(cli_env, monkeypatch, capsys, argv, setup, status, match):
    """Each bad command line exits with its status and a one-message error, before any work."""
    from quboclf.__main__ import main

    tmp = cli_env
    places = {"tmp": str(tmp)}
    if any("{ro}" in arg for arg in argv):
        places["ro"] = _unwritable_folder(tmp)
    if CLI_SETUPS[setup] is not None:
        CLI_SETUPS[setup](tmp, monkeypatch)
    argv = [arg.format(**places) for arg in argv]
    escaped = {key: re.escape(value) for key, value in places.items()}
    match = re.sub(r"\{(tmp|ro)\}", lambda m: escaped[m.group(1)], match)

    assert main(argv) == status
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert re.search(r"^quboclf( \w+)*: error: ", err, re.MULTILINE), err
    assert re.search(match, err.rstrip("\n"), re.MULTILINE | re.DOTALL), err
    assert not (tmp / "out").exists(), "a failed run wrote results"


def test_command_line_write_failure(cli_env, monkeypatch, capsys):
    """A folder that fails while the results are written (full disk): exit 1, no traceback."""
    import errno

    from quboclf.__main__ import main
    from quboclf.studies import _report, _runs

    common = {
        "dataset": "digits",
        "seed": 0,
        "d": 600,
        "n_classes": 10,
        "n_train": 100,
        "n_test": 100,
        "features_s": 0.1,
        "fit_s": 0.1,
        "n_iter": 3,
        "accuracy": 0.9,
    }
    records = [
        {**common, "model": model, "n_bits": k, "qubo_size": 601 * k}
        for model, k in (("sgd", 0), ("logreg", 0), ("qubo", 2))
    ]
    monkeypatch.setattr(_runs, "classifier_study", lambda *args, **kwargs: records)

    def full_disk(records, path):
        raise OSError(errno.ENOSPC, "No space left on device", path)

    monkeypatch.setattr(_report, "write_csv", full_disk)
    out = cli_env / "out"
    assert main(["bench", "classifier", "--bits", "2", "--quiet", "--out", str(out)]) == 1
    stdout, stderr = capsys.readouterr()
    assert "QUBO head 2 bits" in stdout  # the table was printed before the files failed
    assert "Traceback" not in stderr
    assert re.fullmatch(
        rf"quboclf: error: could not write the results to the folder {re.escape(repr(str(out)))}"
        r": \[Errno 28\] No space left on device: .*\. The table above is complete; free some "
        r"space or choose another folder with --out, then run again\.\n",
        stderr,
    ), stderr


def test_subsample_just_below_the_rows():
    """A subsample leaving fewer rows out than there are classes (no stratified split exists)."""
    from quboclf.studies import load_split

    X_tr, X_te, y_tr, y_te = load_split("digits", 0, subsample=1250)
    assert (X_tr.shape, X_te.shape) == ((1250, 64), (540, 64))
    assert set(y_tr) == set(range(10))
    again = load_split("digits", 0, subsample=1250)
    np.testing.assert_array_equal(again[0], X_tr)


def _classifier_records():
    common = {
        "dataset": "digits", "seed": 0, "d": 600, "n_classes": 10, "n_train": 100,
        "n_test": 100, "features_s": 0.1, "fit_s": 0.1, "n_iter": 3, "accuracy": 0.9,
    }  # fmt: skip
    return [
        {**common, "model": model, "n_bits": k, "qubo_size": 601 * k}
        for model, k in (("sgd", 0), ("logreg", 0), ("qubo", 2))
    ]


def test_command_line_ctrl_c_saves_what_finished(cli_env, monkeypatch, capsys):
    """Ctrl-C halfway: exit 130, no traceback, the finished results printed and written."""
    from quboclf.__main__ import main
    from quboclf.studies import _runs

    def interrupted_study(*args, **kwargs):
        records = _runs._new_records()
        records.extend(_classifier_records())
        raise KeyboardInterrupt

    monkeypatch.setattr(_runs, "classifier_study", interrupted_study)
    out = cli_env / "out"
    assert main(["bench", "classifier", "--bits", "2", "4", "--quiet", "--out", str(out)]) == 130
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stderr
    assert re.search(r"quboclf: error: interrupted \(Ctrl-C\); saving the 3 results that "
                     r"finished", stderr), stderr  # fmt: skip
    assert "QUBO head 2 bits" in stdout
    assert (out / "classifier-digits.csv").read_text().count("\n") == 4  # header + 3 rows


def test_command_line_ctrl_c_before_any_result(cli_env, monkeypatch, capsys):
    from quboclf.__main__ import main
    from quboclf.studies import _runs

    _runs._new_records().extend(_classifier_records())  # an earlier study's, not this one's

    def interrupted_study(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_runs, "quantizer_study", interrupted_study)
    out = cli_env / "out"
    assert main(["bench", "quantizer", "--bits", "2", "--quiet", "--out", str(out)]) == 130
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stderr and stdout == ""
    assert stderr.strip().endswith(
        "quboclf: error: interrupted (Ctrl-C) before any result finished; nothing was saved."
    )
    assert not out.exists()
