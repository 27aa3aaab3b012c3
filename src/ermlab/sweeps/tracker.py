"""The Hydra callback around a multirun: one MLflow parent run, one child run per job, and the
sweep report at the end (:mod:`ermlab.sweeps.sweep_report`).

Hydra calls :class:`SweepTracker` (``hydra.callbacks.sweep_tracker`` in ``conf/config.yaml``) in
the process that launches the jobs; each job finds its parent's run id in
:data:`PARENT_RUN_ENV`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

from hydra.experimental.callback import Callback

from ermlab import signals
from ermlab.errors import EXIT_USER_ERROR, user_message

PARENT_RUN_ENV = "ERMLAB_PARENT_RUN_ID"
REPORT_LINE = "sweep report: "  # the sweep's last line: this, then its report.html's path
PARENT_NOTE = " (MLflow parent run "  # after the path, with tracking on
FAILED = "failed"  # the key a failed sweep job returns, with its one-line error


class SweepTracker(Callback):
    """Hydra callback: one MLflow parent run around a multirun, and a results table at the end."""

    def __init__(self) -> None:
        self.parent = None
        self.failed = False
        self.reused_runs: list[dict] = []  # {"run_id", "overrides"}: store.REUSED_RUNS
        self.reused_listed = 0  # how many of them the parent's listing holds
        self.reused_listed_at = 0.0  # time.monotonic() of its last writing
        # As each job ends: (its number, overrides, return value); listed by number at the end.
        self.returns: list[tuple[int, list[str], dict]] = []

    def on_multirun_start(self, config, **kwargs: Any) -> None:
        try:
            self._start(config)
        except Exception as err:  # Hydra would only warn, and run the sweep untracked
            _FAILED_STARTS.append(err)

    def _start(self, config) -> None:
        """Check the launcher's config, then open the parent run."""
        from ermlab.config import TrackingConfig
        from ermlab.pipeline import sweep_name
        from ermlab.sweeps.sweeper import check_launcher_settings
        from ermlab.tracking import open_run

        check_launcher_settings(config.hydra.launcher)  # a bad n_jobs: no parent run
        name = sweep_name(config.hydra.overrides.task)
        self.tracking = TrackingConfig(**config.tracking)
        with signals.held():  # a signal waits until the run is known to end it, KILLED
            self.parent = open_run(self.tracking, name)
            if self.parent is not None:
                os.environ[PARENT_RUN_ENV] = self.parent.run_id
                _OPEN_SWEEPS.append(self)
        if self.parent is not None:
            from ermlab.sweeps.sweep_report import parent_params

            self.parent.log_params(parent_params(config))

    def on_job_end(self, config, job_return, **kwargs: Any) -> None:
        from hydra.core.utils import JobStatus
        from omegaconf import OmegaConf

        from ermlab.sweeps.resume import REUSED

        label = job_label(job_return.overrides or [])
        if job_return.status == JobStatus.COMPLETED:
            metrics = dict(job_return.return_value or {})
            if FAILED in metrics:  # a user error, caught by the job: its one line
                print(f"ermlab: error: {metrics[FAILED]} (job {label})", file=sys.stderr)
        else:  # the job raised: a user error in one line, anything else with its traceback
            metrics = {FAILED: _raised(job_return._return_value, label)}
        self.failed = self.failed or FAILED in metrics
        reused = metrics.pop(REUSED, None)
        number = None if config is None else OmegaConf.select(config, "hydra.job.num")
        number = len(self.returns) if number is None else int(number)
        self.returns.append((number, list(job_return.overrides or []), metrics))
        if reused is not None:
            self._reused(reused, list(job_return.overrides or []))
        else:  # a job that ran takes far longer than the listing: the reused before it, listed
            self._list_reused()

    def on_multirun_end(self, config, **kwargs: Any) -> None:
        from pathlib import Path

        from ermlab.sweeps.sweep_report import finish_sweep
        from ermlab.tracking import run_link

        folder = Path(str(config.hydra.sweep.dir))
        table, written = None, False
        try:
            self._list_reused()  # the report reads the listing
            overrides = list(config.hydra.overrides.task)
            table, _ = finish_sweep(self.parent, overrides, self._in_order(), folder)
            written = True
        except Exception as err:  # Hydra would only warn: say it in one line, exit 2
            if os.environ.get("ERMLAB_DEBUG"):
                import traceback

                traceback.print_exc()
            print(
                f"ermlab: error: the sweep report could not be written to {folder}: "
                f"{user_message(err)} (the runs are in the store: rebuild it with ermlab-report)",
                file=sys.stderr,
            )
            self.failed = True
        rows = [
            (job_label(o), {} if FAILED in metrics else metrics) for o, metrics in self._in_order()
        ]
        n_failed = sum(FAILED in metrics for _, _, metrics in self.returns)  # no order needed
        if n_failed and self.parent is not None:  # why the parent ends FAILED, in the UI too
            from ermlab.tracking import record_error

            record_error(self.parent, f"{n_failed} of {len(self.returns)} jobs failed")
        print(table if table is not None else sweep_table(rows))
        if self.reused_runs:  # else the same table, at once, would look like jobs that ran
            print(reused_line(len(self.reused_runs), len(self.returns)))
        if written:
            # Its id, and its address in the MLflow UI where tracking goes to a server.
            link = run_link(self.tracking, self.parent.run_id) if self.parent else None
            parent = f"{PARENT_NOTE}{link})" if link else ""
            print(f"{REPORT_LINE}{folder / 'report.html'}{parent}")
        self._finish("FAILED" if self.failed else "FINISHED")
        if self.failed:
            sys.exit(EXIT_USER_ERROR)

    def _in_order(self) -> list[tuple[list[str], dict]]:
        """(overrides, return value) of every job that ended, in the sweep's order, as a serial
        sweep ends them, whatever order workers end them in."""
        return [(o, r) for _, o, r in sorted(self.returns, key=lambda job: job[0])]

    def _reused(self, run_id: str, overrides: list[str]) -> None:
        """A job skipped by a resumed sweep: its older run belongs to this sweep too, listed
        with the job's ``overrides`` in the parent's artifact ``reused_runs.json``. The report
        takes the job's swept values from these: the run itself may have been made by a
        single run or another sweep, whose overrides name other keys or none."""
        import time

        self.reused_runs.append({"run_id": run_id, "overrides": overrides})
        if time.monotonic() - self.reused_listed_at >= REUSED_LISTING_EVERY_S:
            self._list_reused()

    def _list_reused(self, defer: bool = False) -> None:
        """(Re)write the parent's listing of the reused runs, if it lacks some: as reused jobs
        end, at most every :data:`REUSED_LISTING_EVERY_S` (rewriting it at every one made a
        resumed sweep quadratic in its jobs), whenever a job that ran ends, and when the sweep
        ends, however it ends (``defer``: with the parent's end), so a sweep stopped half-way,
        even killed outright, still says which runs it reused."""
        import json
        import time

        from ermlab.sweeps.store import REUSED_RUNS

        if self.parent is None or self.reused_listed == len(self.reused_runs):
            return
        self.parent.log_text(json.dumps(self.reused_runs), REUSED_RUNS, defer=defer)
        self.reused_listed, self.reused_listed_at = len(self.reused_runs), time.monotonic()

    def _finish(self, status: str) -> None:
        try:
            with contextlib.suppress(Exception):  # a server gone: the parent's end says so
                self._list_reused(defer=True)  # uploaded as the parent ends (Ctrl-C: KILLED)
        except KeyboardInterrupt:  # a second Ctrl-C as the listing is written
            self._end_parent("KILLED")
            raise
        self._end_parent(status)

    def _end_parent(self, status: str) -> None:
        with signals.held():  # once it is no open sweep, nothing else would end the run
            self._end_parent_run(status)

    def _end_parent_run(self, status: str) -> None:
        parent, self.parent = self.parent, None
        os.environ.pop(PARENT_RUN_ENV, None)
        if self in _OPEN_SWEEPS:
            _OPEN_SWEEPS.remove(self)
        if parent is None:
            return
        try:
            parent.finish(status)
        except Exception as err:  # the server went away: say so, and still exit non-zero
            print(
                f"ermlab: error: the sweep's parent run {parent.run_id} could not be ended "
                f"{status}: {user_message(err)} (the next ermlab run on this store marks it "
                "KILLED)",
                file=sys.stderr,
            )
            self.failed = True


REUSED_LISTING_EVERY_S = 1.0  # see SweepTracker._list_reused

# Sweeps whose parent run is open: Ctrl-C must not leave them RUNNING (see main).
_OPEN_SWEEPS: list[SweepTracker] = []
# What stopped a sweep's start (on_multirun_start), for the sweeper to raise: Hydra turns a
# callback's error into a warning and goes on.
_FAILED_STARTS: list[Exception] = []


def _raised(err: BaseException, label: str) -> str:
    """Report the error a job raised (``label``: its overrides) on stderr, and return its
    one line for the table and the report: a user error (:data:`ermlab.errors.USER_ERRORS`)
    in that line, anything else, a bug, followed by where it was raised."""
    from ermlab.errors import USER_ERRORS
    from ermlab.sweeps.job import job_traceback

    line = user_message(err)
    print(f"ermlab: error: {line} (job {label})", file=sys.stderr)
    if not isinstance(err, USER_ERRORS):
        print(job_traceback(err), file=sys.stderr)
    return line


def record_sweep_error(err: BaseException) -> None:
    """Tag each open sweep's parent run with the error that stops the sweep (a launcher that
    cannot start, a Ray cluster that does not answer), written as the run ends FAILED: its
    reason in the MLflow UI, as a failed single run has."""
    from ermlab.tracking import record_error

    for sweep in _OPEN_SWEEPS:
        if sweep.parent is not None:
            record_error(sweep.parent, err)


def raise_failed_start() -> None:
    """Raise what stopped the sweep's start (a bad launcher config, an unreachable store), if
    anything did; called by ermlab's sweeper before its first job."""
    if _FAILED_STARTS:
        err = _FAILED_STARTS.pop(0)
        _FAILED_STARTS.clear()
        raise err


def job_label(overrides: list[str]) -> str:
    """A job as the table and its error lines name it: its overrides, a model argument as it
    is typed (``model.alpha=2``, not the ``++model.alpha=2`` ermlab makes of it)."""
    return " ".join(o.removeprefix("++") if o.startswith("++model.") else o for o in overrides)


def reused_line(n_reused: int, n_jobs: int) -> str:
    """What a resumed sweep says under its table: how many jobs ran nothing."""
    return (
        f"{n_reused} of {n_jobs} jobs reused the FINISHED run of their config "
        "(hydra.sweeper.rerun=true runs them again)"
    )


def sweep_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    """One line per job: its overrides and its main risk (MSE for regression, zero-one for
    classification) on train, test and population, the Bayes risk (the floor no predictor
    beats, and a population estimate may dip under by its Monte Carlo error), and the gap;
    ``failed`` for a failed job."""
    columns = ("loss", "train", "test", "population", "Bayes", "gap (test - train)")
    width = max([len("job"), *(len(label) for label, _ in rows)])
    header = f"{'job':<{width}}  " + "  ".join(f"{c:>18}" for c in columns)
    lines = [header, "-" * len(header)]
    for label, metrics in rows:
        loss = "zero_one" if "risk/train/zero_one" in metrics else "mse"
        keys = (
            *(f"risk/{split}/{loss}" for split in ("train", "test", "population", "bayes")),
            f"gap/{loss}",
        )
        if metrics:
            cells = [loss, *(f"{metrics[k]:.6g}" if k in metrics else "absent" for k in keys)]
        else:
            cells = ["failed"] * len(columns)
        lines.append(f"{label:<{width}}  " + "  ".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)


def finish_open_sweeps(status: str) -> None:
    """End every sweep whose parent run is still open (Ctrl-C, a signal) with ``status``; a
    sweep ended KILLED says how far it got and how to finish it (:func:`stopped_line`)."""
    for sweep in list(_OPEN_SWEEPS):
        parent = sweep.parent
        sweep._finish(status)
        if status == "KILLED" and parent is not None:
            print(stopped_line(len(sweep.returns), parent.run_id), file=sys.stderr)


def stopped_line(n_done: int, parent_run_id: str) -> str:
    """What an interrupted sweep says before it exits: the jobs it finished are kept, and the
    same command again runs only the others (:mod:`ermlab.sweeps.resume`)."""
    return (
        f"ermlab: the sweep stopped with {n_done} job(s) done (MLflow parent run "
        f"{parent_run_id}, KILLED): the same command again runs only the jobs without a "
        "FINISHED run"
    )
