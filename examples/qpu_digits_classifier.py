"""
==================================================
Training the head on a D-Wave QPU (not run here)
==================================================

.. note::

   This example needs access to a D-Wave quantum annealer, so it is **shown but not executed**
   when the documentation is built (it has no output below). Run it yourself once access is
   configured as described here.

Every QUBO of :class:`~quboclf.QUBOCNNClassifier` goes to whatever ``sampler=`` names. With
``sampler="qpu"`` each one is sent to a QPU through dwave-system's
:class:`~dwave.system.samplers.DWaveCliqueSampler`, which embeds the dense QUBO as a clique. A
QUBO per class has ``(d + 1) * n_bits`` binary variables and the largest clique a QPU embeds is
a little under 200 of them, so the head must stay small: here ``d = 2 * 3 * 3 = 18`` features
and 4 bits per weight give 76 variables per QUBO. Too large a problem is refused before anything
is sent, with a message naming both sizes.

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
estimator unfitted. To try the same code offline, replace ``"qpu"`` by ``"sa-dimod"``
(dwave-samplers' simulated annealer on the same BQMs) or by any ``dimod.Sampler`` instance.
"""

# %%
# A small head on digits
# ----------------------
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from quboclf import QUBOCNNClassifier, RandomConvFeatures

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

clf = make_pipeline(
    RandomConvFeatures(n_filters=2, pool_grid=3, random_state=0),
    QUBOCNNClassifier(
        features="passthrough",
        n_bits=4,
        max_iter=10,  # every iteration costs one QPU call per class
        sampler="qpu",
        # num_reads per QUBO; polish=True would run a short classical descent on the QPU's
        # answer (reported separately, so the QPU's own energies stay visible).
        sampler_params={"num_reads": 100},
        random_state=0,
    ),
)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# What the QPU did
# ----------------
# ``solver_info_`` records every solve: the energies, the wall time and the QPU access time (in
# microseconds) that Leap bills.
head = clf[-1]
info = head.solver_info_
print(f"{head.n_iter_} iterations, {int(info['n_solves'].sum())} QPU calls")
print(f"QPU access time: {info['qpu_access_time'].sum() / 1e6:.2f} s in total")
print(f"loss: {head.loss_curve_[0]:.3f} -> {head.loss_curve_[-1]:.3f}")
