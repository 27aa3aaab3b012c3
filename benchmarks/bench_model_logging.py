"""What logging the fitted model costs per run (a sweep logs one per job), in one process:

- ermlab: ``Recorder.log_model``, an MLflow 3 logged model with signature and input example;
- artifacts: the model saved and copied in as plain run artifacts (ermlab before logged models;
  the UI shows no model);
- mlflow.sklearn.log_model: MLflow's own call with the same signature and input example (it
  also loads the model back to validate the example).

Each is timed over fresh runs of a local SQLite store; the median per run and its ratio to
the plain-artifacts baseline are printed.

    .venv/bin/python benchmarks/bench_model_logging.py [runs]
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def main(repeats: int = 20) -> None:
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LinearRegression

    from ermlab.config import TrackingConfig
    from ermlab.tracking import open_run

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    folder = Path(tempfile.mkdtemp())
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    tracking = TrackingConfig(uri=uri, experiment="bench")
    X = np.random.default_rng(0).normal(170, 10, size=(100, 1))
    estimator = LinearRegression().fit(X, -80 + 0.9 * X[:, 0])
    mlflow.set_tracking_uri(uri)

    def ermlab_logged_model(recorder) -> None:
        recorder.log_model(estimator, X)

    def plain_artifacts(recorder) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            mlflow.sklearn.save_model(
                estimator,
                f"{tmp}/model",
                serialization_format="cloudpickle",
                pip_requirements=["ermlab", "scikit-learn", "cloudpickle"],
            )
            recorder.client.log_artifacts(recorder.run_id, f"{tmp}/model", "model")

    def mlflow_log_model(recorder) -> None:
        with mlflow.start_run(run_id=recorder.run_id):
            mlflow.sklearn.log_model(
                estimator,
                name="model",
                serialization_format="cloudpickle",
                signature=infer_signature(X[:5], estimator.predict(X[:5])),
                input_example=X[:5],
                pip_requirements=["ermlab", "scikit-learn", "cloudpickle"],
            )

    variants = {
        "artifacts (baseline)": plain_artifacts,
        "ermlab logged model": ermlab_logged_model,
        "mlflow.sklearn.log_model": mlflow_log_model,
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(repeats + 1):  # interleaved, so drift in machine load hits all alike
        for name, log in variants.items():
            recorder = open_run(tracking, f"{name} {i}")
            start = time.perf_counter()
            log(recorder)
            elapsed = time.perf_counter() - start
            recorder.finish()
            if i:  # the first round warms imports and caches
                times[name].append(elapsed)
    baseline = statistics.median(times["artifacts (baseline)"])
    print(f"model logging, median of {repeats} runs (ms per run, ratio to plain artifacts)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<26} {1000 * median:8.1f} ms   {median / baseline:5.2f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
