"""Image data sets for quboclf: fetchers in the style of :mod:`sklearn.datasets` and an IDX reader.

Fetchers look in the data folder (:func:`get_data_home`), then in system folders
(``/usr/local/share/datasets``, ``/usr/share/datasets``), then download from the official
source with checksum and structure verification. See the datasets user guide.
"""

from ._base import get_data_home
from ._cifar import fetch_cifar10
from ._errors import DataIntegrityError
from ._fetchers import fetch_emnist, fetch_fashion_mnist, fetch_kmnist, fetch_mnist
from ._idx import load_idx

__all__ = [
    "DataIntegrityError",
    "fetch_cifar10",
    "fetch_emnist",
    "fetch_fashion_mnist",
    "fetch_kmnist",
    "fetch_mnist",
    "get_data_home",
    "load_idx",
]
