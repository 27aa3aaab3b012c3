"""``run(config)``: the four steps in one process (the Hydra app and sweeps use this).

generate -> split -> fit -> evaluate, then the MLflow record. The DVC stages in
:mod:`ermlab.stages` call the very same step functions, with files between them, and finish
with the same :func:`assess`, so both paths give identical metrics for the same config and seed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ermlab import models, signals
from ermlab.config import Config, to_dict
from ermlab.data import Dataset, Population, generate
from ermlab.evaluate import evaluate, metric_names, options
from ermlab.models.lm_summary import LmSummary, lm_summary
from ermlab.paths import atomic_path
from ermlab.split import split
from ermlab.sweeps.decomposition import log_predictions
from ermlab.sweeps.store import CHOICES_TAG, OVERRIDES_TAG, override_key
from ermlab.tracking import Recorder, check_reachable, config_tags, record_results, tracked_run


@dataclass
class RunResult:
    """What one execution produced: nested metrics, the fitted estimator, its history."""

    metrics: dict[str, Any]
    estimator: Any
    history: dict[str, list[float]]
    run_id: str | None
    summary: LmSummary | None = None  # R's summary(lm(...)) when the model is unpenalised OLS


def run(
    config: Config,
    out_dir: Path,
    parent_run_id: str | None = None,
    overrides: Sequence[str] = (),
    in_sweep: bool = False,
    choices: Mapping[str, str] | None = None,
) -> RunResult:
    """Run one experiment; plots and ``metrics.json`` go to ``out_dir``. ``overrides`` are the
    command-line overrides that made this config (``key=value``), named in the run's name;
    ``choices`` the option of each config group it was composed with (``{"data":
    "height_weight", ...}``, :func:`ermlab.sweeps.store.group_choices`), tagged for reports.

    Everything that can be rejected (the model arguments, the tracking server, the split sizes,
    a model that does not fit the task) is checked before the MLflow run opens, so a bad config
    leaves no run behind; an error while fitting leaves the run marked FAILED.
    """
    estimator = models.build(config.model, config.seed)
    check_reachable(config.tracking)
    dataset, source = generate(config.data, config.seed)
    train, test = split(dataset, config.split, config.seed, source)
    models.check_task(estimator, train, choices)
    models.warn_if_intercept_mismatch(estimator, dataset)
    name = run_name(config, train, overrides, choices)
    resolved = to_dict(config)
    # The sweep report reads the job back from its overrides and choices; a resumed sweep
    # finds its hash.
    tags = {
        OVERRIDES_TAG: json.dumps(list(overrides)),
        **({CHOICES_TAG: json.dumps(dict(choices))} if choices else {}),
        **config_tags(resolved),
    }
    with tracked_run(config.tracking, name, parent_run_id, tags) as recorder:
        if recorder is not None:
            # A sweep's job is short: its params go with its risks and its files with each
            # other, when the run ends (fewer writes to the store).
            recorder.log_config(resolved, defer=in_sweep)
        signals.check()  # a signal Python dropped stops the run here (see ermlab.signals)
        estimator, history = models.fit(estimator, train.X, train.y)
        metrics = assess(
            config, estimator, history, train, test, source, out_dir, recorder, in_sweep
        )
        summary = record_summary(estimator, train, out_dir, recorder, defer=in_sweep)
        run_id = recorder.run_id if recorder is not None else None
    return RunResult(metrics, estimator, history, run_id, summary)


def assess(
    config: Config,
    estimator,
    history: dict[str, list[float]],
    train: Dataset,
    test: Dataset,
    source: Population | None,
    out_dir: Path,
    recorder: Recorder | None,
    in_sweep: bool = False,
) -> dict[str, Any]:
    """The steps after the fit, shared by both paths: risks, plots (``out_dir/plots``),
    ``out_dir/metrics.json`` and the MLflow record; returns the nested metrics."""
    from ermlab.plots import plot_run

    metrics = evaluate(estimator, train, test, source, config.seed, **options(config))
    artifacts = {}
    if per_run(config.plots, in_sweep):
        artifacts = plot_run(estimator, train, test, source, history, out_dir / "plots")
    write_metrics(metrics, out_dir / "metrics.json")
    logged = estimator if per_run(config.log_model, in_sweep) else None
    record_results(recorder, metric_names(metrics), history, artifacts, logged, train.X)
    # For the sweep report's bias–variance split.
    log_predictions(recorder, estimator, source, defer=in_sweep)
    return metrics


def per_run(setting: bool | None, in_sweep: bool) -> bool:
    """Whether a run makes one of its per-run extras (``plots``, ``log_model``): the setting
    when given, else only outside a sweep (a sweep's report draws the aggregate pictures;
    three PNGs and a model folder a job would cost more than the job)."""
    return setting if setting is not None else not in_sweep


def run_name(
    config: Config,
    train: Dataset,
    overrides: Sequence[str] = (),
    choices: Mapping[str, str] | None = None,
) -> str:
    """What the run is, readable in the MLflow UI: ``<data source>/<model class>/n=<training
    points>/seed=<seed>``, then each override of ``overrides`` that the name does not already
    say (a swept ``model.lr=0.1`` must tell two runs apart), e.g.
    ``two_moons/KNeighborsClassifier/n=200/seed=0/model.n_neighbors=5``.

    The data source is the ``data`` option the config was composed with (``choices``, or the
    ``data=`` override where there are none) when it says more than the data's kind
    (``height_weight``, the default, rather than ``linear``), else what the data are (the
    synthetic family, the file: ``galton.csv``, ``nist/Norris``); never the configured
    ``name``, which only labels the experiment.
    """
    overrides = [o.lstrip("+") for o in overrides]  # a sweep may pass ++key=value
    chosen = [o.split("=", 1)[1] for o in overrides if o.split("=", 1)[0] == "data"]
    if choices and choices.get("data"):
        chosen = [choices["data"]]
    source = chosen[-1] if chosen and chosen[-1] != config.data.kind else train.source
    parts = [source, models.describe(config.model), f"n={len(train)}", f"seed={config.seed}"]
    parts += [o for o in overrides if not _already_named(o)]
    return "/".join(parts)[:MAX_RUN_NAME]


MAX_RUN_NAME = 250  # MLflow's limit on a run name


def sweep_name(overrides: Sequence[str]) -> str:
    """A sweep's parent run, named after the keys it sweeps, in command-line order:
    ``sweep: model.lr × seed`` for ``ermlab -m model.lr=0.1,1000 seed='range(5)'``."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    task = [o for o in overrides if not override_key(o).startswith("hydra.")]
    parsed = OverridesParser.create().parse_overrides(task)
    # The key as typed: ``model.lr``, not the ``++model.lr`` ermlab makes of it (plain_overrides).
    swept = [o.key_or_group for o in parsed if o.is_sweep_override()]
    return ("sweep: " + " × ".join(swept) if swept else "sweep")[:MAX_RUN_NAME]


def _already_named(override: str) -> bool:
    """Whether the run name already says this override (data source, model, size, seed) or it
    does not change what the run is (its label, where it is recorded, Hydra's settings)."""
    key = override_key(override)
    return key in {"data", "model", "data.n_train", "seed", "name"} or key.split(".")[0] in {
        "tracking",
        "hydra",
    }


def record_summary(
    estimator, train: Dataset, out_dir: Path, recorder: Recorder | None, defer: bool = False
) -> LmSummary | None:
    """R's ``summary(lm(...))`` of an unpenalised OLS fit on ``train``: written to
    ``out_dir/lm_summary.txt`` and logged (``lm_summary.txt``, ``lm_summary.json``; with
    ``defer`` when the run ends, see :meth:`Recorder.artifact_file`); ``None`` (nothing
    written, and an earlier run's file in ``out_dir`` removed: DVC's ``results/`` outlives
    each run, and an OLS summary there would be taken for this model's) for any other model."""
    summary = lm_summary(estimator, train.X, train.y, train.feature_names, train.target_name)
    if summary is None:
        (out_dir / "lm_summary.txt").unlink(missing_ok=True)
        return None
    text = summary.text() + "\n"
    with atomic_path(out_dir / "lm_summary.txt") as tmp:
        tmp.write_text(text)
    if recorder is not None:
        recorder.log_text(text, "lm_summary.txt", defer)
        summary_json = json.dumps(summary.to_dict(), indent=2) + "\n"
        recorder.log_text(summary_json, "lm_summary.json", defer)
    return summary


def write_metrics(metrics: dict[str, Any], path: Path) -> None:
    """Write metrics as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
