"""A sweep's own report: what the parent run records at its start, and the report at its end.

At the start the parent run gets the base config (flattened, as a single run's params) and the
swept keys and values (:func:`ermlab.sweeps.store.sweep_params`). At the end
:func:`finish_sweep` records the jobs that failed, reads every job back from the store, writes
the report into the sweep directory, logs it as the parent's artifacts with the counts ``jobs``
and ``failed`` as metrics, and returns the text the console ends with: the summary table
(means ± SE) when seeds were swept, else one row per job. Reading the jobs back from the store
(not from this process's memory) is what makes ``ermlab-report`` for the same parent write the
same files, whatever launcher ran the jobs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ermlab.sweeps.report import FAILED, OK, JobRecord, summarize, write_report
from ermlab.sweeps.store import FAILED_JOBS, parse_overrides, swept_from_overrides
from ermlab.sweeps.tracker import FAILED as FAILED_KEY  # a failed job's return: {key: why}


def parent_params(config) -> dict[str, Any]:
    """The parent run's params: the base config of the sweep (every key but ``hydra``,
    flattened) and :func:`~ermlab.sweeps.store.sweep_params` of its command line."""
    from omegaconf import OmegaConf

    from ermlab.config import flatten
    from ermlab.sweeps.store import sweep_params

    base = OmegaConf.to_container(config, resolve=False)
    base.pop("hydra", None)
    return {**flatten(base), **sweep_params(list(config.hydra.overrides.task))}


def _in_process_records(
    jobs: list[tuple[list[str], dict]], swept: list[str]
) -> tuple[list[JobRecord], int]:
    """Records from the jobs' return values (tracking off: there is no store to read), and how
    many jobs repeated the swept values of one before (``seed=0,1,1``): each config counts
    once, as a store counts it by its ``config_hash`` tag
    (:func:`~ermlab.sweeps.store.one_run_per_config`); the same numbers counted twice would
    pass for two seeds."""
    records, seen = [], set()
    for overrides, result in jobs:
        values = parse_overrides(overrides)
        values = {k: values.get(k, "") for k in swept}
        if (key := tuple(values.items())) in seen:
            continue
        seen.add(key)
        if FAILED_KEY in result:
            records.append(JobRecord(values, FAILED, str(result[FAILED_KEY])))
        else:
            records.append(JobRecord(values, OK, metrics=dict(result)))
    return records, len(jobs) - len(records)


def finish_sweep(
    parent, overrides: list[str], jobs: list[tuple[list[str], dict]], folder: Path
) -> tuple[str | None, Any]:
    """Write the sweep's report into ``folder`` and, with tracking on, into the parent run.

    Parameters
    ----------
    parent : the parent run's :class:`~ermlab.tracking.Recorder`, or ``None`` (tracking off).
    overrides : the sweep's command-line overrides (``hydra.overrides.task``).
    jobs : per job, its overrides and its return value (flat metrics, or ``{"failed": why}``).
    folder : the sweep directory.

    Returns
    -------
    (the summary table when seeds were swept, else ``None``; the :class:`Report`)
    """
    from ermlab.sweeps.report import summary_table

    failures = [
        {"overrides": list(o), "reason": str(r[FAILED_KEY])} for o, r in jobs if FAILED_KEY in r
    ]
    if parent is None:
        swept = list(swept_from_overrides(overrides))
        records, repeats = _in_process_records(jobs, swept)
        report = summarize(records, swept)
        if repeats:
            report.notes.insert(
                0,
                f"{repeats} job(s) repeating the swept values of a job before are left out: "
                "each config counts once.",
            )
        write_report(report, folder, "sweep (tracking off)")
    else:
        from ermlab.sweeps.store import load_sweep, write_sweep_report

        if failures:
            parent.log_text(json.dumps(failures, indent=1), FAILED_JOBS)
        report, paths = write_sweep_report(load_sweep(parent.client, parent.run_id), folder)
        for path in paths:
            relative = path.relative_to(folder)
            folder_name = relative.parent.as_posix()
            parent.log_artifact(path, None if folder_name == "." else folder_name)
        parent.log_metrics({"jobs": len(report.jobs), "failed": report.n_failed})
    return (summary_table(report) if report.seeds_swept else None), report
