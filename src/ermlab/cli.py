"""The ``ermlab`` Hydra app: the four steps in one process, for one config or a sweep.

    ermlab model=torch_linear data.n_train=50
    ermlab -m model=ols,sklearn_linear,torch_linear data.n_train=10,100,1000

A sweep records one MLflow parent run with one child run per job and ends with a table of
the results. Every config of a sweep is composed and validated before the first job starts,
so a bad value stops everything with one line, before anything is written.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from ermlab.config import ConfigError, compose, register_configs, validate
from ermlab.errors import EXIT_USER_ERROR, exit_on_user_error, user_message

PARENT_RUN_ENV = "ERMLAB_PARENT_RUN_ID"
FAILED = "failed"  # the key a failed sweep job returns, with its one-line error
TABLE_METRICS = ("risk/train/mse", "risk/test/mse", "risk/population/mse", "gap/mse")


def job_overrides(argv: list[str]) -> list[list[str]]:
    """Every job's override list the command line describes (sweeps expanded, ``hydra.*``
    overrides and flags left out): what to validate before launching."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    tokens = [a for a in argv if not a.startswith("-") and "=" in a]
    parser = OverridesParser.create()
    try:
        parsed = parser.parse_overrides([t for t in tokens if not t.startswith("hydra.")])
    except Exception as err:  # Hydra's grammar errors carry the offending override
        raise ConfigError(" ".join(str(err).split())) from None
    choices = []
    for override in parsed:
        if override.is_sweep_override():
            key = override.get_key_element()
            choices.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        else:
            choices.append([override.input_line])
    return [list(combo) for combo in itertools.product(*choices)]


def prevalidate(argv: list[str]) -> int:
    """Compose and validate every job of the command line; returns the number of jobs."""
    jobs = job_overrides(argv)
    for overrides in jobs:
        validate(compose(overrides))
    return len(jobs)


class SweepTracker(Callback):
    """Hydra callback: one MLflow parent run around a multirun, and a results table at the end."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, dict[str, float]]] = []
        self.parent = None
        self.failed = False

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        from ermlab.config import TrackingConfig
        from ermlab.tracking import open_run

        self.parent = open_run(TrackingConfig(**config.tracking), f"{config.name}/sweep")
        if self.parent is not None:
            os.environ[PARENT_RUN_ENV] = self.parent.run_id

    def on_job_end(self, config, job_return, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus

        label = " ".join(job_return.overrides or [])
        completed = job_return.status == JobStatus.COMPLETED
        metrics = (job_return.return_value or {}) if completed else {}
        self.failed = self.failed or not completed or FAILED in metrics
        self.rows.append((label, {} if FAILED in metrics else metrics))
        if not completed:  # Hydra raises after the batch: on_multirun_end will not come
            self._finish("FAILED")

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        print(sweep_table(self.rows))
        self._finish("FAILED" if self.failed else "FINISHED")
        if self.failed:
            sys.exit(EXIT_USER_ERROR)

    def _finish(self, status: str) -> None:
        if self.parent is not None:
            self.parent.finish(status)
            self.parent = None
        os.environ.pop(PARENT_RUN_ENV, None)


def sweep_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    """One line per job: its overrides and the main risks (``failed`` for a failed job)."""
    width = max([len("job"), *(len(label) for label, _ in rows)])
    header = f"{'job':<{width}}  " + "  ".join(f"{m:>20}" for m in TABLE_METRICS)
    lines = [header, "-" * len(header)]
    for label, metrics in rows:
        cells = [
            f"{metrics[m]:>20.6g}" if m in metrics else f"{'failed' if not metrics else '-':>20}"
            for m in TABLE_METRICS
        ]
        lines.append(f"{label:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


class StudyCheckFailed(RuntimeError):
    """A study ran, but some published number was not reproduced (see its report.md)."""


def task(cfg) -> dict[str, Any]:
    """One job: validate, run the four steps (or a study), print the risks; returns the flat
    metrics. A user error ends a single run with one line and exit status 2; in a sweep the job
    is recorded as failed and the others go on."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    config = validate(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        if config.study is not None:
            return study_task(config, out_dir)
        return run_task(config, out_dir)
    except (ValueError, RuntimeError, OSError) as err:
        if os.environ.get("ERMLAB_DEBUG"):
            raise
        print(f"ermlab: error: {user_message(err)}", file=sys.stderr)
        if HydraConfig.get().mode == RunMode.RUN:
            sys.exit(EXIT_USER_ERROR)
        # In a sweep the other jobs go on; the table marks this one and the exit status is 2.
        return {FAILED: user_message(err)}


def run_task(config, out_dir: Path) -> dict[str, float]:
    from ermlab.evaluate import metric_names, risk_table
    from ermlab.pipeline import run

    result = run(config, out_dir, os.environ.get(PARENT_RUN_ENV))
    print(risk_table(result.metrics))
    return metric_names(result.metrics)


def study_task(config, out_dir: Path) -> dict[str, float]:
    """``ermlab experiment=<study>``: the study's sweep in this process, then its verification
    (report.md and report.json in the run's output folder)."""
    from ermlab.studies.runner import run_study, study_module, verify_study

    results = run_study(config, out_dir)
    if not hasattr(study_module(config.study["name"]), "verify"):
        return {}
    if not verify_study(config, results, out_dir):
        raise StudyCheckFailed(f"some published numbers were not reproduced: {out_dir}/report.md")
    return {"verify/passed": 1.0}


@exit_on_user_error("ermlab")
def main() -> None:
    """Console entry point ``ermlab``."""
    import hydra

    from ermlab.paths import conf_dir

    register_configs()
    if not {"--help", "-h", "--hydra-help", "--info", "--cfg", "-c"} & set(sys.argv[1:]):
        prevalidate(sys.argv[1:])
    app = hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")(task)
    try:
        app()
    except SystemExit as exit_:
        # Hydra exits 1 on any failure; a failed job has already said why in one line.
        if exit_.code not in (0, None):
            sys.exit(EXIT_USER_ERROR if exit_.code == 1 else exit_.code)
        raise
