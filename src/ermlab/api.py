"""ermlab from Python: one experiment, a sweep, the recorded runs.

>>> import ermlab
>>> result = ermlab.run("data=women", "split=none")      # as `ermlab data=women split=none`
>>> result.metrics["risk"]["train"]["mse"]                # nested as in metrics.json
>>> print(result.summary.text())                          # R's summary(lm(weight ~ height))
>>> ermlab.runs(experiment="ermlab")                      # every recorded run, a DataFrame

:func:`run` composes ``conf/`` with the same overrides, validates them the same way, runs the
same steps and records the same MLflow run as the ``ermlab`` command; a value the command
rejects with ``ermlab: error: <message>`` raises here the exception carrying that message
(:class:`ermlab.config.ConfigError` for a config value). Heavy libraries (Hydra, MLflow, torch,
matplotlib) are imported when a function is called, not by ``import ermlab``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

    from ermlab.config import Config
    from ermlab.models.lm_summary import LmSummary

__all__ = ["Result", "SweepResult", "run", "runs", "sweep"]


@dataclass(frozen=True, repr=False)
class Result:
    """What one experiment produced.

    Attributes
    ----------
    metrics : dict
        Nested as ``metrics.json``: ``metrics["risk"][split][loss]`` for split in ``train``,
        ``test``, ``population``, ``bayes`` (``cv`` with ``split=k_fold``), plus ``gap`` and
        ``n``. A risk that does not apply (real data have no population; ``split=none`` has no
        test set) is absent, never a number.
    estimator : scikit-learn estimator
        The fitted model.
    history : dict of str to list of float
        Per-epoch ``epoch``, ``train_loss`` (and ``val_loss``) for iterative models; empty for
        closed-form fits.
    run_id : str or None
        The MLflow run (None with ``tracking=off``).
    out_dir : pathlib.Path
        Where ``metrics.json`` and ``plots/`` were written.
    summary : LmSummary or None
        R's ``summary(lm(...))`` of the fit when the model is unpenalised least squares
        (``model=ols``, ``ols_poly``, ``ols_no_intercept``); None otherwise.
    config : ermlab.config.Config
        The validated configuration the run used.
    """

    metrics: dict[str, Any]
    estimator: Any
    history: dict[str, list[float]]
    run_id: str | None
    out_dir: Path
    summary: LmSummary | None = None
    config: Config | None = field(default=None)

    def risk_table(self) -> str:
        """The table the ``ermlab`` command prints: one row per risk, one column per loss."""
        from ermlab.evaluate import risk_table

        return risk_table(self.metrics)

    def __repr__(self) -> str:
        return f"Result(run_id={self.run_id!r}, out_dir='{self.out_dir}')\n{self.risk_table()}"


def run(*overrides: str, out_dir: str | Path | None = None) -> Result:
    """Run one experiment, exactly as ``ermlab <overrides>`` does.

    Parameters
    ----------
    *overrides : str
        Hydra overrides, as on the command line: ``"model=torch_linear"``,
        ``"data.n_train=50"``, ``"tracking=off"``.
    out_dir : str or Path, optional
        Folder for ``metrics.json``, ``lm_summary.txt`` and ``plots/``. Default: the override
        ``hydra.run.dir=...`` when given, else a new ``outputs/<date>/<time>`` under the current
        directory, as the command's Hydra run folder.

    Returns
    -------
    Result

    Raises
    ------
    ermlab.config.ConfigError
        A bad override or value, with the one line the command prints after ``ermlab: error:``.
    ValueError, RuntimeError, OSError
        A bad data file, a diverged fit, a missing file: the same errors, and messages, as the
        command (which prefixes the type name).
    """
    from omegaconf import open_dict

    from ermlab.cli import first_swept
    from ermlab.config import ConfigError, compose, validate
    from ermlab.pipeline import run as run_pipeline
    from ermlab.sweeps.store import group_choices

    overrides = _strings(overrides, "run")
    if (swept := first_swept(list(overrides))) is not None:
        raise ConfigError(
            f"{swept} is a sweep: ermlab.sweep({swept!r}, ...) runs it, ermlab.run one value"
        )
    composed = compose(list(overrides), return_hydra_config=True)
    choices = group_choices(composed.hydra.runtime.choices)  # as the command tags them
    with open_dict(composed):
        del composed["hydra"]
    config = validate(composed)
    if config.study is not None:
        raise ConfigError(
            f"study={config.study['name']!r} is not allowed in ermlab.run: a study is many runs "
            f"and a verification; run it with `ermlab {' '.join(overrides)}`"
        )
    run_dirs = [o.split("=", 1)[1] for o in overrides if o.startswith("hydra.run.dir=")]
    if out_dir is None and run_dirs:
        out_dir = run_dirs[-1]
    # The folder is made by the first file written: a run rejected before it leaves nothing.
    folder = (Path(out_dir) if out_dir is not None else _new_run_folder()).absolute()
    result = run_pipeline(config, folder, overrides=list(overrides), choices=choices)
    return Result(
        result.metrics,
        result.estimator,
        result.history,
        result.run_id,
        folder,
        result.summary,
        config,
    )


@dataclass(frozen=True, repr=False)
class SweepResult:
    """What a sweep produced: the sweep report's tables, as ``ermlab -m`` writes them.

    Attributes
    ----------
    jobs : pandas.DataFrame
        ``jobs.csv``: one row per job (its overrides, the swept values, ``status`` ``ok`` or
        ``failed``, ``reason``, ``run_id``, every metric).
    summary : pandas.DataFrame
        ``summary.csv``: one row per configuration (the swept keys but ``seed``), ``n_seeds``
        and ``n_failed`` (its jobs that worked and that failed), ``<metric>/mean`` and
        ``<metric>/se`` over seeds (and the bias–variance–noise split when the data are
        synthetic).
    folder : pathlib.Path
        The sweep directory: the two CSV files, ``report.md``, ``report.html``, ``plots/`` and
        one folder per job.
    output : str
        What the command printed (the results table and where the report is).
    """

    jobs: pandas.DataFrame
    summary: pandas.DataFrame
    folder: Path
    output: str

    @property
    def failed(self) -> int:
        """How many jobs failed (each one's one-line reason is in ``jobs["reason"]``)."""
        return int((self.jobs["status"] == "failed").sum()) if "status" in self.jobs else 0

    def __repr__(self) -> str:
        return (
            f"SweepResult(folder='{self.folder}', jobs={len(self.jobs)}, failed={self.failed})"
            f"\n{self.summary.to_string(max_cols=8)}"
        )


def sweep(*overrides: str, sweep_dir: str | Path | None = None) -> SweepResult:
    """Run a sweep, exactly as ``ermlab -m <overrides>``, and return its report's tables.

    The command itself runs (in a child process, so that Hydra's launchers, the MLflow parent
    run and the report are the command's own); every swept value is first checked here by the
    command's own validation, so a bad value raises before anything runs.

    Parameters
    ----------
    *overrides : str
        Hydra overrides with comma-separated sweeps, as on the command line:
        ``"model=ols,ridge"``, ``"data.n_train=10,100"``, ``"seed=range(5)"``,
        ``"hydra/launcher=joblib"``.
    sweep_dir : str or Path, optional
        The sweep directory (``hydra.sweep.dir``). Default: a new ``multirun/<date>/<time>``
        under the current directory, as the command's.

    Returns
    -------
    SweepResult
        ``jobs`` and ``summary`` as DataFrames; a job that failed at run time is a row with
        status ``failed`` (the command exits with status 2 then), not an exception.

    Raises
    ------
    ermlab.config.ConfigError
        A bad override or swept value, with the command's one-line message.
    RuntimeError
        The command failed without writing its report (its last line of error output).
    """
    import os
    import subprocess
    import sys

    import pandas as pd

    from ermlab.cli import prevalidate
    from ermlab.config import register_configs

    args = list(_strings(overrides, "sweep"))
    register_configs()
    prevalidate(["-m", *args])
    folder = Path(sweep_dir) if sweep_dir is not None else _new_run_folder(Path.cwd() / "multirun")
    command = [sys.executable, "-c", "from ermlab.cli import main; main()", "-m", *args]
    done = subprocess.run(
        [*command, f"hydra.sweep.dir={folder}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    # The folder the sweep claimed: sweep_dir, or sweep_dir-2, ... if another sweep had it.
    folder = _reported_folder(done.stdout)
    if folder is None or not (folder / "jobs.csv").is_file():
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        raise RuntimeError(f"ermlab -m {' '.join(args)}: {lines[-1]}")
    return SweepResult(
        pd.read_csv(folder / "jobs.csv"),
        pd.read_csv(folder / "summary.csv"),
        folder,
        done.stdout,
    )


def runs(
    experiment: str = "ermlab",
    filter: str | None = None,
    tracking_uri: str = "sqlite:///mlflow.db",
) -> pandas.DataFrame:
    """The runs recorded in an MLflow experiment, one row each, newest first.

    Parameters
    ----------
    experiment : str, default "ermlab"
        The experiment name (``tracking.experiment``; a study logs to its own name).
    filter : str, optional
        An MLflow search filter, e.g. ``"params.model._target_ = 'ermlab.models.ols.OLS'"`` or
        ``"metrics.`risk/test/mse` < 70"`` (metric names with ``/`` need backquotes).
    tracking_uri : str, default "sqlite:///mlflow.db"
        The store (``tracking.uri``); a relative SQLite file is the project's, as for runs.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_id``, ``run_name``, ``status``, ``start_time``, ``parent_run_id``, then
        ``metrics.<name>`` (e.g. ``metrics.risk/test/mse``) and ``params.<key>`` (the flattened
        config, as strings), as ``mlflow.search_runs`` names them.

    Raises
    ------
    ValueError
        No store at ``tracking_uri``, no such experiment (the message lists those there), or a
        filter MLflow cannot parse.
    """
    import pandas as pd

    from ermlab.tracking import search_runs

    rows = search_runs(tracking_uri, experiment, filter)
    first = ["run_id", "run_name", "status", "start_time", "parent_run_id"]
    table = pd.DataFrame(rows, columns=None if rows else first)
    rest = sorted(c for c in table.columns if c not in first)
    metrics = [c for c in rest if c.startswith("metrics.")]
    return table[first + metrics + [c for c in rest if c not in metrics]]


def _strings(overrides: tuple, function: str) -> tuple[str, ...]:
    """The overrides, each a string, as ``ermlab.<function>`` takes them.

    Raises
    ------
    TypeError naming what was passed instead, and how to pass a list; ConfigError for one
    string holding several overrides, as typed on a command line (``"data=women
    split=none"``: Hydra would say ``mismatched input '='``)."""
    from ermlab.config import ConfigError

    for override in overrides:
        if not isinstance(override, str):
            raise TypeError(
                f"ermlab.{function} takes each override as a string of its own, "
                f"ermlab.{function}('data=women', 'split=none'); got a "
                f"{type(override).__name__} ({override!r}): a list goes in as "
                f"ermlab.{function}(*overrides)"
            )
        words = override.split()
        if len(words) > 1 and all(_looks_like_override(word) for word in words):
            as_arguments = ", ".join(repr(word) for word in words)
            raise ConfigError(
                f"{override!r} holds {len(words)} overrides in one string: ermlab.{function} "
                f"takes each as a string of its own, ermlab.{function}({as_arguments})"
            )
    return tuple(overrides)


def _looks_like_override(word: str) -> bool:
    """``key=value`` with a key of names and dots (``split=none``, ``+model.x=1``), as
    opposed to a piece of a value with spaces in it (``64]`` of ``model.hidden=[64, 64]``)."""
    key, equals, _ = word.partition("=")
    if "'" in word or '"' in word:  # a piece of a quoted value: name='a=b c=d'
        return False
    return bool(equals) and key.lstrip("+~").replace(".", "_").replace("/", "_").isidentifier()


def _reported_folder(stdout: str) -> Path | None:
    """The sweep folder that a sweep's last line names (``sweep report: <folder>/report.html``,
    then its parent run with tracking on), or None when there is no such line."""
    from ermlab.sweeps.tracker import PARENT_NOTE, REPORT_LINE

    for line in reversed(stdout.splitlines()):
        if line.startswith(REPORT_LINE):
            return Path(line.removeprefix(REPORT_LINE).split(PARENT_NOTE)[0]).parent
    return None


def _new_run_folder(base: Path | None = None) -> Path:
    """``outputs/<YYYY-MM-DD>/<HH-MM-SS>`` under the current directory, as Hydra names a run's
    folder, with ``-1``, ``-2``, ... appended when runs start within the same second."""
    now = datetime.datetime.now()
    stem = (base or Path.cwd() / "outputs") / now.strftime("%Y-%m-%d") / now.strftime("%H-%M-%S")
    folder, count = stem, 0
    while folder.exists():
        count += 1
        folder = stem.with_name(f"{stem.name}-{count}")
    return folder
