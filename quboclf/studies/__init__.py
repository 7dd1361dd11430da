"""The studies of the two papers, as run by ``quboclf bench``: data, fits, tables, plots.

``quboclf bench classifier`` and ``quboclf bench quantizer`` (see :ref:`reproducing`) are thin
wrappers around these functions; call them to run a study on your own configuration, or to
tabulate and plot records you saved. The package has four parts: the data sets
(:data:`DATASETS`, :func:`load_split`), the runs (:func:`classifier_study`,
:func:`quantizer_study`, sharing one seed loop), the reports (summaries, tables, files, plots)
and the command line (``quboclf``, ``python -m quboclf``).

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

from ._data import DATASETS, load_split
from ._report import (
    classifier_table,
    format_table,
    plot_classifier,
    plot_quantizer,
    quantizer_table,
    summarize_classifier,
    summarize_quantizer,
    to_markdown,
    write_csv,
)
from ._runs import (
    CLASSIFIER_BITS,
    QUANTIZER_BITS,
    QUANTIZER_ROUNDINGS,
    classifier_study,
    quantizer_study,
)

__all__ = [
    "CLASSIFIER_BITS",
    "DATASETS",
    "QUANTIZER_BITS",
    "QUANTIZER_ROUNDINGS",
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
