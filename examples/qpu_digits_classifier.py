"""
==================================================
Training the head on a D-Wave QPU (not run here)
==================================================

.. note::

   This example needs access to a D-Wave quantum annealer, so it is **shown but not executed**
   when the documentation is built (it has no output below). Run it yourself once access is
   configured as described here.

Every QUBO of :class:`~quboclf.QUBOCNNClassifier` goes to whatever ``sampler=`` names. With
``sampler="qpu"`` they go to a QPU through dwave-system's
:class:`~dwave.system.samplers.DWaveCliqueSampler`, which embeds a dense QUBO as a clique of at
most about 180 binary variables. A QUBO per class has ``d * n_bits`` of them: 2,400 for
the default 600 features at 4 bits. So each solve runs as a sequence of QPU-sized subproblems
around the current weights: about 30 weights at a time, each allowed to move within a window of
4 levels (2 qubits), the others fixed, an answer kept only if it lowers the energy (user guide,
"Samplers", section "Larger problems: subproblems"). ``qpu_budget`` caps the QPU access time
of the whole fit: when it is spent, the fit ends with a usable model and a warning.

Configuring access
------------------
1. Install the extra: ``pip install "quboclf[qpu]"`` (dwave-system and the Ocean SDK).
2. Get an API token from the Leap dashboard (https://cloud.dwavesys.com/leap/).
3. Either run ``dwave config create`` (it asks for the token and writes a configuration file
   that dwave-cloud-client reads), or set the ``DWAVE_API_TOKEN`` environment variable, or pass
   ``sampler_params={"token": ...}`` (plus ``"solver"``, ``"region"`` or ``"endpoint"`` if
   needed).
4. Check with ``quboclf info --ping``: it reports whether a token is configured (without
   printing it) and, with ``--ping``, lists the solvers your token reaches.

Without a token, ``fit`` raises an error that says how to configure one, and leaves the
estimator unfitted. To run the same code offline, start the script with ``--mock``: the QPU is
then dwave-system's ``MockDWaveSampler`` with an Advantage-size Pegasus graph, and the QPU
access times are estimated by D-Wave's timing model.
"""

# %%
# The head on digits, on the QPU
# ------------------------------
import sys
from contextlib import nullcontext

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from quboclf import QUBOCNNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

offline = nullcontext()
if "--mock" in sys.argv:  # dwave-system's mocked Advantage-size QPU instead of Leap
    from quboclf.testing import mock_qpu

    offline = mock_qpu()

clf = QUBOCNNClassifier(
    n_bits=4,
    max_iter=20,
    sampler="qpu",
    # 100 reads per QPU call; at most 60 s of QPU access time for the whole fit
    sampler_params={"num_reads": 100, "qpu_budget": 60.0},
    random_state=0,
)
with offline:
    clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# What the QPU did
# ----------------
# ``solver_info_`` records every solve: the energies, the wall time and the QPU access time (in
# microseconds) of its QPU calls.
info = clf.solver_info_
print(f"{clf.n_iter_} iterations, {int(info['n_solves'].sum())} solves")
print(f"QPU access time: {np.nansum(info['qpu_access_time']) / 1e6:.2f} s in total")
print(f"loss: {clf.loss_curve_[0]:.4f} -> {clf.loss_curve_[-1]:.4f}")
