"""quboclf: QUBO-trained CNN heads and QUBO post-training quantization for scikit-learn.

Every training or rounding problem is posed as a QUBO and solved by simulated annealing on the CPU
(the default) or by any dimod sampler, a D-Wave QPU included.
"""

from . import datasets
from ._classifier import QUBOCNNClassifier
from ._config import config_context, get_config, set_config
from ._dimod_sampler import CarryAnnealingSampler
from ._features import RandomConvFeatures
from ._kernels import warm_up
from ._quantizer import QuantizedLayer, QUBOQuantizer, quantize_layers
from ._qubo import ExportedQUBO, QuadraticProblem, to_dimod
from ._samplers import SAMPLER_NAMES, QPUAccessError, QPUBudgetWarning

__version__ = "0.1.0.dev0"

__all__ = [
    "SAMPLER_NAMES",
    "CarryAnnealingSampler",
    "ExportedQUBO",
    "QPUAccessError",
    "QPUBudgetWarning",
    "QUBOCNNClassifier",
    "QUBOQuantizer",
    "QuadraticProblem",
    "QuantizedLayer",
    "RandomConvFeatures",
    "__version__",
    "config_context",
    "datasets",
    "get_config",
    "quantize_layers",
    "set_config",
    "to_dimod",
    "warm_up",
]
