"""``run(config)``: the four steps in one process (the Hydra app and sweeps use this).

generate -> split -> fit -> evaluate, then the MLflow record. The DVC stages in
:mod:`ermlab.stages` call the very same step functions, with files between them, and finish
with the same :func:`assess`, so both paths give identical metrics for the same config and seed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ermlab import models
from ermlab.config import Config, to_dict
from ermlab.data import Dataset, Population, generate
from ermlab.evaluate import evaluate, metric_names, options
from ermlab.paths import atomic_path
from ermlab.split import split
from ermlab.tracking import Recorder, check_reachable, record_results, tracked_run


@dataclass
class RunResult:
    """What one execution produced: nested metrics, the fitted estimator, its history."""

    metrics: dict[str, Any]
    estimator: Any
    history: dict[str, list[float]]
    run_id: str | None


def run(config: Config, out_dir: Path, parent_run_id: str | None = None) -> RunResult:
    """Run one experiment; plots and ``metrics.json`` go to ``out_dir``.

    Everything that can be rejected (the model arguments, the tracking server, the split sizes,
    a model that does not fit the task) is checked before the MLflow run opens, so a bad config
    leaves no run behind; an error while fitting leaves the run marked FAILED.
    """
    estimator = models.build(config.model, config.seed)
    check_reachable(config.tracking)
    dataset, source = generate(config.data, config.seed)
    train, test = split(dataset, config.split, config.seed, source)
    models.check_task(estimator, train)
    with tracked_run(config.tracking, run_name(config, len(train)), parent_run_id) as recorder:
        if recorder is not None:
            recorder.log_config(to_dict(config))
        estimator, history = models.fit(estimator, train.X, train.y)
        metrics = assess(config, estimator, history, train, test, source, out_dir, recorder)
        run_id = recorder.run_id if recorder is not None else None
    return RunResult(metrics, estimator, history, run_id)


def assess(
    config: Config,
    estimator,
    history: dict[str, list[float]],
    train: Dataset,
    test: Dataset,
    source: Population | None,
    out_dir: Path,
    recorder: Recorder | None,
) -> dict[str, Any]:
    """The steps after the fit, shared by both paths: risks, plots (``out_dir/plots``),
    ``out_dir/metrics.json`` and the MLflow record; returns the nested metrics."""
    from ermlab.plots import plot_run

    metrics = evaluate(estimator, train, test, source, config.seed, **options(config))
    artifacts = plot_run(estimator, train, test, source, history, out_dir / "plots")
    write_metrics(metrics, out_dir / "metrics.json")
    record_results(recorder, metric_names(metrics), history, artifacts, estimator)
    return metrics


def run_name(config: Config, n_train: int) -> str:
    """``<name>/<model class>/n=<training points>/seed=<seed>``: readable in the MLflow UI."""
    return f"{config.name}/{models.describe(config.model)}/n={n_train}/seed={config.seed}"


def write_metrics(metrics: dict[str, Any], path: Path) -> None:
    """Write metrics as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
