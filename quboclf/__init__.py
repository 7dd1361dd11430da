"""quboclf: QUBO-trained CNN heads and QUBO post-training quantization for scikit-learn.

Every training or rounding problem is posed as a QUBO and solved by simulated annealing on the CPU
(the default) or by any dimod sampler, a D-Wave QPU included.
"""

from . import datasets
from ._classifier import QUBOCNNClassifier
from ._features import RandomConvFeatures
from ._quantizer import QUBOQuantizer, quantize_layers
from ._samplers import SAMPLER_NAMES, QPUAccessError

__version__ = "0.1.0.dev0"

__all__ = [
    "SAMPLER_NAMES",
    "QPUAccessError",
    "QUBOCNNClassifier",
    "QUBOQuantizer",
    "RandomConvFeatures",
    "__version__",
    "datasets",
    "quantize_layers",
]
