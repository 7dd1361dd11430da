"""The studies wing: one data registry, one seed loop (the command line is tested in test_cli*)."""

import numpy as np
import pytest

import quboclf.datasets
from quboclf.datasets import _cifar, _fetchers
from quboclf.studies import DATASETS, _data, _runs, load_split, quantizer_study


def test_registry_is_the_datasets_package():
    """Every fetcher of quboclf.datasets is a study data set, under the folder it reads."""
    fetchers = {name for name in quboclf.datasets.__all__ if name.startswith("fetch_")}
    registered = {fetcher for fetcher, _, _ in _data._SOURCES.values() if fetcher is not None}
    assert registered == fetchers
    folders = {spec.key for spec in _fetchers.SPECS.values()} | {_cifar.SPEC.key}
    for name, (fetcher, folder, _) in _data._SOURCES.items():
        assert (fetcher is None) == (name == "digits") == (folder is None)
        assert folder is None or folder in folders, name
    assert DATASETS == tuple(_data._SOURCES)


def test_digits_split_is_seeded_70_30():
    X_tr, X_te, y_tr, y_te = load_split("digits", 3, scale=True)
    assert (len(y_tr), len(y_te)) == (1257, 540)
    assert X_tr.max() == 1.0 and X_tr.min() == 0.0  # pixels / 16
    again = load_split("digits", 3, scale=True)
    np.testing.assert_array_equal(again[0], X_tr)
    other = load_split("digits", 4, scale=True)
    assert not np.array_equal(other[2], y_tr)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match="Unknown dataset 'svhn'; choose one of digits, mnist"):
        load_split("svhn", 0)


def test_interrupted_seed_loop_keeps_what_finished(monkeypatch):
    """Ctrl-C in the middle of the second seed: the first seed's records are kept, in order."""
    calls = []
    timed_fit = _runs.timed_fit

    def interrupt_third_fit(model, X, y):
        calls.append(type(model).__name__)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return timed_fit(model, X, y)

    monkeypatch.setattr(_runs, "timed_fit", interrupt_third_fit)
    lines = []
    with pytest.raises(KeyboardInterrupt):
        quantizer_study("digits", bits=[2], seeds=[5, 6], roundings=["nearest"], subsample=300,
                        log=lines.append)
    records = _runs.finished_records()
    assert [(r["seed"], r["rounding"]) for r in records] == [(5, "float"), (5, "nearest")]
    assert calls == ["MLPClassifier", "QUBOQuantizer", "MLPClassifier"]
    assert lines[0].startswith("digits seed 5 float MLP: accuracy ")
    assert lines[1].startswith("digits seed 5 int2 nearest: accuracy ")
