"""Per-class and per-neuron solves run on a Dask cluster through ``joblib.parallel_backend``.

A two-worker ``LocalCluster`` on the loopback interface (worker processes, so every task is
pickled) fits the same models as a local fit, bit for bit, and its task stream shows that the
solves really ran on the workers.
"""

import joblib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.neural_network import MLPClassifier

distributed = pytest.importorskip("distributed")

from quboclf import QUBOCNNClassifier, QUBOQuantizer  # noqa: E402

# short fits on purpose: the point is equality with the local fit, not convergence; a cluster of
# worker processes takes a while to start (``-m "not slow"`` skips this file)
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
    client = distributed.Client(cluster)
    try:
        # the workers import quboclf (editable install on their sys.path) and load the numba
        # cache from disk once, outside the timed part of the tests
        client.run(lambda: __import__("quboclf._kernels", fromlist=["warm_up"]).warm_up())
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def data():
    return make_classification(
        n_samples=90, n_features=6, n_informative=4, n_redundant=0, n_classes=3,
        n_clusters_per_class=1, random_state=0,
    )


def _on_dask(client, fit):
    """Run ``fit()`` under the Dask joblib backend; return its result and the task stream."""
    with distributed.get_task_stream(client) as ts, joblib.parallel_backend("dask"):
        out = fit()
    workers = {t["worker"] for t in ts.data}
    return out, ts.data, workers


def test_workers_import_quboclf(client):
    paths = client.run(lambda: __import__("quboclf").__file__)
    assert len(paths) == 2
    assert all(p.endswith("__init__.py") for p in paths.values())


def test_classifier_on_dask_equals_local_fit(client, data):
    X, y = data

    def make():
        return QUBOCNNClassifier(
            features="passthrough", n_bits=3, max_iter=3, random_state=0,
            sampler_params={"num_reads": 2, "num_sweeps": 50},
        )

    local = make().fit(X, y)
    remote, tasks, workers = _on_dask(client, lambda: make().fit(X, y))
    # 3 classes per iteration: the solves were shipped, and to the cluster's own workers
    assert len(tasks) >= 3
    assert workers <= set(client.scheduler_info()["workers"])
    np.testing.assert_array_equal(remote.coef_, local.coef_)
    np.testing.assert_array_equal(remote.intercept_, local.intercept_)
    np.testing.assert_array_equal(remote.loss_curve_, local.loss_curve_)
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_quantizer_on_dask_equals_local_fit(client, data):
    X, y = data
    mlp = MLPClassifier((8,), max_iter=200, random_state=0).fit(X, y)

    def make():
        return QUBOQuantizer(mlp, n_bits=3, random_state=0)

    local = make().fit(X, y)
    remote, tasks, workers = _on_dask(client, lambda: make().fit(X, y))
    assert len(tasks) >= 2
    assert workers <= set(client.scheduler_info()["workers"])
    assert len(remote.layers_) == len(local.layers_) == 2
    for a, b in zip(remote.layers_, local.layers_):
        np.testing.assert_array_equal(a.weight_int, b.weight_int)
        np.testing.assert_array_equal(a.bias_int, b.bias_int)
        assert a.error_qubo == b.error_qubo
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_explicit_n_jobs_1_stays_local(client, data):
    # n_jobs=1 asks for a plain loop in this process, even under the Dask backend
    X, y = data
    mlp = MLPClassifier((8,), max_iter=200, random_state=0).fit(X, y)
    _, tasks, _ = _on_dask(
        client, lambda: QUBOQuantizer(mlp, n_bits=3, n_jobs=1, random_state=0).fit(X, y)
    )
    assert tasks == []
