"""``python -m quboclf``: the command line of :mod:`quboclf.studies` (``bench``, ``info``)."""

import sys

from .studies._cli import main

if __name__ == "__main__":
    sys.exit(main())
