"""Copy the runs of one MLflow store into another: a student's local work onto a team server.

    ermlab-sync --to http://127.0.0.1:5000               # this project's mlflow.db -> the server
    ermlab-sync --from sqlite:///other.db --to URI --experiment ermlab

Every experiment (with its tags), run (name, status, times, tags, parent), param, metric with
its whole history of steps, artifact and logged model is copied. A copied run carries the tag
:data:`COPIED_FROM_TAG` (the source run's id), set once everything else is in: copying again
skips what is there, and a run whose copy was cut short is deleted and copied anew.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COPIED_FROM_TAG = "ermlab.copied_from"  # on a copy: the id of the run it copies
COPYING_FROM_TAG = "ermlab.copying_from"  # on a copy still being written
PARENT_TAG = "mlflow.parentRunId"
BATCH = 100  # MLflow's limit on params (and tags) in one log_batch; metrics allow 1000
SKIPPED_EXPERIMENTS = {"Default"}  # MLflow's own, empty unless someone logs without a name


@dataclass
class SyncReport:
    """What one copy did: runs copied, runs already there, incomplete copies redone."""

    copied: int = 0
    skipped: int = 0
    redone: int = 0

    def __str__(self) -> str:
        return f"{self.copied} runs copied, {self.skipped} already there" + (
            f", {self.redone} incomplete copies redone" if self.redone else ""
        )


def sync(source_uri: str, target_uri: str, experiments: Iterable[str] | None = None) -> SyncReport:
    """Copy every run of the named ``experiments`` (all of them when None) from the store at
    ``source_uri`` to the one at ``target_uri``; returns what was done."""
    from mlflow.tracking import MlflowClient

    from ermlab.tracking import SignalSafeClient, quiet_mlflow

    quiet_mlflow()
    source, target = (SignalSafeClient(MlflowClient(uri)) for uri in (source_uri, target_uri))
    wanted = set(experiments) if experiments is not None else None
    report = SyncReport()
    for experiment in source.search_experiments():
        if (wanted is None and experiment.name in SKIPPED_EXPERIMENTS) or (
            wanted is not None and experiment.name not in wanted
        ):
            continue
        target_id = _target_experiment(target, experiment)
        _sync_experiment(source, target, experiment.experiment_id, target_id, report)
    return report


def _target_experiment(target, experiment) -> str:
    """The id of the experiment named like ``experiment`` in the target, created with its tags
    (and the model-training kind, for experiments made before ermlab set it) when new."""
    from ermlab.tracking import EXPERIMENT_KIND_TAGS, artifact_root

    found = target.get_experiment_by_name(experiment.name)
    if found is not None:
        return found.experiment_id
    tags = {**EXPERIMENT_KIND_TAGS, **experiment.tags}
    return target.create_experiment(experiment.name, artifact_root(target.tracking_uri), tags)


def _all_runs(client, experiment_id: str) -> Iterator[Any]:
    from mlflow.entities import ViewType

    token = None
    while True:
        page = client.search_runs(
            [experiment_id], run_view_type=ViewType.ACTIVE_ONLY, max_results=1000, page_token=token
        )
        yield from page
        token = page.token
        if not token:
            return


def _sync_experiment(source, target, source_id: str, target_id: str, report: SyncReport) -> None:
    copies: dict[str, str] = {}  # source run id -> target run id
    parents: dict[str, str | None] = {}  # target run id -> its parent tag
    for run in _all_runs(target, target_id):
        tags = run.data.tags
        if COPIED_FROM_TAG in tags:
            copies[tags[COPIED_FROM_TAG]] = run.info.run_id
            parents[run.info.run_id] = tags.get(PARENT_TAG)
        elif COPYING_FROM_TAG in tags:
            target.delete_run(run.info.run_id)  # cut short last time: copied again below
            report.redone += 1
    runs = list(_all_runs(source, source_id))
    # Parents first, so that a child's parent tag can name the parent's copy.
    runs.sort(key=lambda r: (PARENT_TAG in r.data.tags, r.info.start_time or 0))
    for run in runs:
        if run.info.run_id in copies:
            report.skipped += 1
            # A child copied before its parent's copy was redone names the parent's new copy.
            parent = copies.get(run.data.tags.get(PARENT_TAG, ""))
            if parent is not None and parents[copies[run.info.run_id]] != parent:
                target.set_tag(copies[run.info.run_id], PARENT_TAG, parent)
            continue
        copies[run.info.run_id] = copy_run(source, target, run, target_id, copies)
        report.copied += 1


def copy_run(source, target, run, experiment_id: str, copies: dict[str, str]) -> str:
    """Copy one run (an ``mlflow.entities.Run`` of ``source``) into ``experiment_id`` of
    ``target``; ``copies`` maps source run ids to their copies (for the parent tag). Returns
    the id of the copy."""
    from mlflow.entities import Param, RunTag

    tags = {k: v for k, v in run.data.tags.items() if k != PARENT_TAG}
    if (parent := run.data.tags.get(PARENT_TAG)) is not None and parent in copies:
        tags[PARENT_TAG] = copies[parent]
    tags[COPYING_FROM_TAG] = run.info.run_id
    copy = target.create_run(
        experiment_id, start_time=run.info.start_time, tags=tags, run_name=run.info.run_name
    )
    copy_id = copy.info.run_id
    params = [Param(k, v) for k, v in sorted(run.data.params.items())]
    for start in range(0, len(params), BATCH):
        target.log_batch(copy_id, params=params[start : start + BATCH])
    linked = _copy_logged_models(source, target, run, copy_id, experiment_id)
    metrics = [
        _with_model(m, linked)
        for key in sorted(run.data.metrics)
        for m in source.get_metric_history(run.info.run_id, key)
    ]
    for start in range(0, len(metrics), 1000):
        target.log_batch(copy_id, metrics=metrics[start : start + 1000])
    with tempfile.TemporaryDirectory() as tmp:
        if source.list_artifacts(run.info.run_id):
            local = source.download_artifacts(run.info.run_id, "", tmp)
            target.log_artifacts(copy_id, local)
    target.log_batch(copy_id, tags=[RunTag(COPIED_FROM_TAG, run.info.run_id)])
    target.delete_tag(copy_id, COPYING_FROM_TAG)
    target.set_terminated(copy_id, run.info.status, end_time=run.info.end_time)
    return copy_id


def _with_model(metric, linked: dict[tuple[str, int, int], str]):
    """The metric as logged to the copy: linked to the copy of the logged model it belonged to
    (a metric's history does not say so; the model's own metric list does)."""
    from mlflow.entities import Metric

    model_id = linked.get((metric.key, metric.step, metric.timestamp))
    return Metric(metric.key, metric.value, metric.timestamp, metric.step, model_id=model_id)


def _copy_logged_models(
    source, target, run, copy_id: str, experiment_id: str
) -> dict[tuple[str, int, int], str]:
    """Copy the logged models the run produced (artifacts, params, tags) and make them outputs
    of its copy; returns, for each metric linked to one of them, ``(key, step, timestamp)`` ->
    the id of the model's copy."""
    import mlflow.artifacts
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus

    outputs = (run.outputs.model_outputs if run.outputs is not None else None) or []
    linked = {}
    for output in outputs:
        model = source.get_logged_model(output.model_id)
        copy = target.create_logged_model(
            experiment_id,
            name=model.name,
            source_run_id=copy_id,
            tags=dict(model.tags),
            params=dict(model.params),
            model_type=model.model_type,
        )
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=model.artifact_location, dst_path=tmp, tracking_uri=source.tracking_uri
            )
            target.log_model_artifacts(copy.model_id, local)
        target.finalize_logged_model(copy.model_id, LoggedModelStatus.READY)
        target.log_outputs(copy_id, [LoggedModelOutput(copy.model_id, step=output.step)])
        for metric in model.metrics or []:
            linked[metric.key, metric.step, metric.timestamp] = copy.model_id
    return linked


def main(argv: list[str] | None = None) -> None:
    """Console entry point ``ermlab-sync``."""
    from ermlab.tracking import resolve_uri

    parser = argparse.ArgumentParser(prog="ermlab-sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--to", required=True, help="the target store, e.g. http://host:5000")
    parser.add_argument(
        "--from",
        dest="source",
        default="sqlite:///mlflow.db",
        help="the source store (this project's sqlite:///mlflow.db)",
    )
    parser.add_argument(
        "--experiment", action="append", help="copy only this experiment (repeatable)"
    )
    args = parser.parse_args(argv)
    source = resolve_uri(args.source)
    if source.startswith("sqlite:///") and not Path(source[len("sqlite:///") :]).exists():
        print(f"ermlab-sync: error: --from {args.source}: no such store", file=sys.stderr)
        sys.exit(2)
    try:
        _check_target(args.to)
        report = sync(source, resolve_uri(args.to), args.experiment)
    except ConnectionError as err:
        print(f"ermlab-sync: error: {' '.join(str(err).split())}", file=sys.stderr)
        sys.exit(2)
    print(f"ermlab-sync: {report} ({args.source} -> {args.to})")


def _check_target(uri: str) -> None:
    from ermlab.config import TrackingConfig
    from ermlab.tracking import check_reachable

    check_reachable(TrackingConfig(uri=uri))
