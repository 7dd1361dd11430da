"""The studies of the two papers, as run by ``quboclf bench``: data, fits, tables, plots.

``quboclf bench classifier`` and ``quboclf bench quantizer`` (see :ref:`reproducing`) are thin
wrappers around these functions; call them to run a study on your own configuration, or to
tabulate and plot records you saved.

Examples
--------
>>> from quboclf.studies import DATASETS, format_table
>>> "fashion-mnist" in DATASETS
True
>>> print(format_table(["model", "accuracy"], [["QUBO head", "99.1"]]))
model      accuracy
---------  --------
QUBO head      99.1
"""

from ._bench import (
    CLASSIFIER_BITS,
    DATASETS,
    QUANTIZER_BITS,
    classifier_study,
    classifier_table,
    format_table,
    load_split,
    plot_classifier,
    plot_quantizer,
    quantizer_study,
    quantizer_table,
    summarize_classifier,
    summarize_quantizer,
    to_markdown,
    write_csv,
)

__all__ = [
    "CLASSIFIER_BITS",
    "DATASETS",
    "QUANTIZER_BITS",
    "classifier_study",
    "classifier_table",
    "format_table",
    "load_split",
    "plot_classifier",
    "plot_quantizer",
    "quantizer_study",
    "quantizer_table",
    "summarize_classifier",
    "summarize_quantizer",
    "to_markdown",
    "write_csv",
]
