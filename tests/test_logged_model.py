"""The fitted model is an MLflow 3 logged model of its run: signature and input example from
the training data, the run's risks linked to it, loadable by both of MLflow's loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
