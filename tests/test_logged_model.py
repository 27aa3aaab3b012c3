"""The fitted model is an MLflow 3 logged model of its run: signature and input example from
the training data, the run's risks linked to it, loadable by both of MLflow's loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.conftest import sweep_in

from ermlab.config import compose, validate
from ermlab.pipeline import run


def test_the_model_is_a_logged_model_of_its_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = validate(compose(["data=two_moons", "model=logistic", f"tracking.uri={uri}"]))
    result = run(config, tmp_path / "out")
    client = MlflowClient(uri)
    recorded = client.get_run(result.run_id)
    experiment = client.get_experiment(recorded.info.experiment_id)
    # The UI's model-training view, not the GenAI one.
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    (output,) = recorded.outputs.model_outputs
    model = client.get_logged_model(output.model_id)
    assert (model.name, model.source_run_id, str(model.status)) == ("model", result.run_id, "READY")
    # Its risks are the run's risks, linked to the model (the UI's model page lists them).
    linked = {m.key: m.value for m in model.metrics}
    assert linked["risk/test/zero_one"] == recorded.data.metrics["risk/test/zero_one"]

    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # what resolves models:/ and runs:/
    pyfunc = mlflow.pyfunc.load_model(f"runs:/{result.run_id}/model")
    signature = pyfunc.metadata.signature
    (tensor,) = signature.inputs.inputs
    assert tensor.shape == (-1, 2) and tensor.type == np.dtype("float64")  # two_moons: x1, x2
    example = pyfunc.metadata.load_input_example(model.artifact_location)
    # The input example is the first training rows; the seed's own draw gives them again.
    from ermlab.data import generate
    from ermlab.split import split

    dataset, source = generate(config.data, config.seed)
    train, _ = split(dataset, config.split, config.seed, source)
    np.testing.assert_array_equal(example, train.X[: len(example)])
    points = np.array([[0.0, 0.5], [1.0, -0.5], [2.0, 0.0]])
    expected = result.estimator.predict(points)
    np.testing.assert_array_equal(pyfunc.predict(points), expected)
    sk = mlflow.sklearn.load_model(model.model_uri)
    np.testing.assert_array_equal(sk.predict_proba(points), result.estimator.predict_proba(points))


def test_an_experiment_made_before_the_kind_tag_gets_it(tmp_path: Path):
    from mlflow.tracking import MlflowClient

    from ermlab import tracking

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    old = client.create_experiment("old", (tmp_path / "artifacts").as_uri())
    tracking._experiment_ids().clear()  # a new process: nothing looked up yet
    config = validate(compose([f"tracking.uri={uri}", "tracking.experiment=old"]))
    _, experiment_id = tracking.client_for(config.tracking)
    assert experiment_id == old
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"


def _sweep_runs(folder: Path):
    """The client of ``sweep_in``'s store, its experiment ``s``'s id and the sweep's child runs."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{folder / 'mlflow.db'}")
    experiment_id = client.get_experiment_by_name("s").experiment_id
    runs = client.search_runs([experiment_id], max_results=1000)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return client, experiment_id, children


def test_a_sweeps_jobs_log_no_model_by_default(tmp_path: Path):
    sweep_in(tmp_path, "seed=0,1")
    client, experiment_id, children = _sweep_runs(tmp_path)
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    assert client.search_logged_models([experiment_id]) == []
    for child in children:
        assert child.outputs.model_outputs == []
        # The risks are still the run's metrics.
        assert {"risk/test/mse", "risk/train/mse", "risk/population/mse"} <= set(child.data.metrics)


def test_a_sweep_with_log_model_true_logs_one_model_per_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import mlflow.sklearn

    sweep_in(tmp_path, "seed=0,1", "log_model=true")
    client, experiment_id, children = _sweep_runs(tmp_path)
    assert len(children) == 2
    models = client.search_logged_models([experiment_id])
    assert sorted(m.source_run_id for m in models) == sorted(r.info.run_id for r in children)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    points = np.array([[160.0], [170.0], [180.0]])
    for child in children:
        (output,) = child.outputs.model_outputs
        model = client.get_logged_model(output.model_id)
        assert (model.name, model.source_run_id, str(model.status)) == (
            "model",
            child.info.run_id,
            "READY",
        )
        linked = {m.key: m.value for m in model.metrics}
        assert linked["risk/test/mse"] == child.data.metrics["risk/test/mse"]
        # The job's own fit: the same seed's run, refitted here, predicts the same.
        seed = int(child.data.params["seed"])
        refit = run(validate(compose([f"seed={seed}", "tracking.enabled=false"])), tmp_path / "r")
        loaded = mlflow.sklearn.load_model(model.model_uri)
        np.testing.assert_allclose(loaded.predict(points), refit.estimator.predict(points))


def test_log_model_false_logs_no_model_for_a_single_run(tmp_path: Path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = validate(compose(["model=sklearn_linear", "log_model=false", f"tracking.uri={uri}"]))
    result = run(config, tmp_path / "out")
    client = MlflowClient(uri)
    recorded = client.get_run(result.run_id)
    assert recorded.info.status == "FINISHED"
    assert recorded.outputs.model_outputs == []
    assert client.search_logged_models([recorded.info.experiment_id]) == []
    assert "risk/test/mse" in recorded.data.metrics
