"""The only module that talks to MLflow.

One MLflow run per pipeline execution: params are the flattened resolved config, metrics are
named ``risk/<split>/<loss>``, the training curve is logged as step metrics, and the resolved
config, the plots and the fitted model are artifacts. Tags carry the git commit and the DVC
experiment name. A run that raises is marked FAILED, never left RUNNING.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ermlab.paths import project_root

MAX_PARAMS_PER_BATCH = 100  # MLflow's limit for one log_batch call
MAX_PARAM_LENGTH = 6000


def store_root() -> Path:
    """Where a relative store lives: the project root, or, inside a copy DVC made for
    ``dvc exp run --temp``/``--queue`` (``<project>/.dvc/tmp/exps/...``), the project that
    holds it, so the run is not deleted with the copy."""
    root = project_root()
    if ".dvc" in root.parts:
        return Path(*root.parts[: root.parts.index(".dvc")])
    return root


def resolve_uri(uri: str) -> str:
    """A relative ``sqlite:///file.db`` is taken relative to :func:`store_root`, not the current
    directory, so every entry point writes to the same store."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri[len(prefix) :].startswith("/"):
        return prefix + str(store_root() / uri[len(prefix) :])
    return uri


def check_reachable(tracking, timeout: float = 3.0) -> None:
    """Fail in one line, before any work, when tracking goes to a server that does not answer
    (MLflow itself would retry for minutes and end in a long traceback)."""
    if not tracking.enabled or not tracking.uri.startswith(("http://", "https://")):
        return
    import urllib.request

    try:
        with urllib.request.urlopen(f"{tracking.uri.rstrip('/')}/health", timeout=timeout):
            return
    except OSError as err:
        raise ConnectionError(
            f"no MLflow tracking server answers at tracking.uri={tracking.uri} ({err}): start "
            "one (mlflow server --host 127.0.0.1 --port 5000) or use tracking=local"
        ) from None


def artifact_root(uri: str) -> str | None:
    """Artifacts of a local store go to ``mlartifacts/`` beside the database file."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///") :]).parent / "mlartifacts").as_uri()
    return None


def git_commit() -> str | None:
    """The commit of the project checkout, or None outside git."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=project_root(),
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class Recorder:
    """Writes to one MLflow run through an ``MlflowClient`` (no global fluent-API state)."""

    def __init__(self, client, run_id: str) -> None:
        self.client = client
        self.run_id = run_id

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in sorted(params.items())]
        for start in range(0, len(items), MAX_PARAMS_PER_BATCH):
            batch = items[start : start + MAX_PARAMS_PER_BATCH]
            self.client.log_batch(self.run_id, params=batch)

    def log_config(self, config: dict[str, Any]) -> None:
        """The resolved config: flattened as params, and whole as ``config.yaml``."""
        import yaml

        from ermlab.config import flatten

        self.log_params(flatten(config))
        self.log_text(yaml.safe_dump(config, sort_keys=False), "config.yaml")

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        from mlflow.entities import Metric

        now = _now_ms()
        rows = [Metric(k, float(v), now, step) for k, v in sorted(metrics.items())]
        for start in range(0, len(rows), 1000):
            self.client.log_batch(self.run_id, metrics=rows[start : start + 1000])

    def log_history(self, history: dict[str, list[float]]) -> None:
        """Loss per epoch as step metrics ``train/loss`` and ``val/loss`` (NaN epochs skipped)."""
        from mlflow.entities import Metric

        now = _now_ms()
        rows = []
        for key, name in (("train_loss", "train/loss"), ("val_loss", "val/loss")):
            for epoch, value in zip(history.get("epoch", []), history.get(key, []), strict=False):
                if value == value and abs(value) != float("inf"):
                    rows.append(Metric(name, float(value), now, int(epoch)))
        for start in range(0, len(rows), 1000):
            self.client.log_batch(self.run_id, metrics=rows[start : start + 1000])

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), folder)

    def log_text(self, text: str, name: str) -> None:
        self.client.log_text(self.run_id, text, name)

    def log_model(self, estimator) -> None:
        """The fitted estimator as an MLflow scikit-learn model (``mlflow.sklearn.load_model``)."""
        import logging

        import mlflow.sklearn

        # MLflow warns on every pickle-format save; ermlab's models are the user's own code.
        logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "model"
            # Explicit requirements: inferring them imports and inspects the whole environment.
            mlflow.sklearn.save_model(
                estimator,
                str(folder),
                serialization_format="cloudpickle",
                pip_requirements=["ermlab", "scikit-learn", "cloudpickle"],
            )
            self.client.log_artifacts(self.run_id, str(folder), "model")

    def finish(self, status: str = "FINISHED") -> None:
        """End the run as FINISHED or FAILED."""
        self.client.set_terminated(self.run_id, status)


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


def client_for(tracking) -> tuple[Any, str]:
    """An MlflowClient for the ``tracking`` config and the id of its experiment (created if new)."""
    from mlflow.tracking import MlflowClient

    check_reachable(tracking)
    uri = resolve_uri(tracking.uri)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(tracking.experiment)
    if experiment is not None:
        return client, experiment.experiment_id
    return client, client.create_experiment(tracking.experiment, artifact_root(uri))


def open_run(tracking, run_name: str, parent_run_id: str | None = None) -> Recorder | None:
    """Create a RUNNING MLflow run (tagged with the git commit, the DVC experiment name and its
    parent, if any); ``None`` when tracking is off. End it with :meth:`Recorder.finish`."""
    if not tracking.enabled:
        return None
    client, experiment_id = client_for(tracking)
    tags = {"mlflow.runName": run_name}
    if commit := git_commit():
        tags["mlflow.source.git.commit"] = commit
        tags["git_commit"] = commit
    if exp_name := os.environ.get("DVC_EXP_NAME"):
        tags["dvc_exp_name"] = exp_name
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    run = client.create_run(experiment_id, tags=tags, run_name=run_name)
    return Recorder(client, run.info.run_id)


def reopen_run(tracking, run_id: str) -> Recorder | None:
    """A recorder for an existing run (a study's verify step adds its report to the run that
    ``run`` created); ``None`` when tracking is off."""
    if not tracking.enabled:
        return None
    client, _ = client_for(tracking)
    return Recorder(client, run_id)


@contextmanager
def tracked_run(
    tracking, run_name: str, parent_run_id: str | None = None
) -> Iterator[Recorder | None]:
    """Open an MLflow run for the ``tracking`` config; yields ``None`` when tracking is off.

    The run ends FINISHED, or FAILED (and the error propagates) when the body raises, even on
    KeyboardInterrupt.
    """
    recorder = open_run(tracking, run_name, parent_run_id)
    if recorder is None:
        yield None
        return
    try:
        yield recorder
    except BaseException:
        recorder.finish("FAILED")
        raise
    recorder.finish("FINISHED")


def record_results(
    recorder: Recorder | None,
    metrics: dict[str, float],
    history: dict[str, list[float]],
    artifacts: dict[str, Path],
    estimator,
) -> None:
    """Log the outcome of one pipeline execution (nothing when tracking is off)."""
    if recorder is None:
        return
    recorder.log_metrics(metrics)
    recorder.log_history(history)
    for path in artifacts.values():
        recorder.log_artifact(path, "plots")
    recorder.log_model(estimator)
