"""The sweep report's input, read back from the MLflow store (the source of truth).

A sweep's jobs are the children of its parent run (tag ``mlflow.parentRunId``), plus the runs
a resumed sweep reused (the parent's artifact :data:`REUSED_RUNS`: each run id with the
overrides of the job that reused it), plus the jobs that failed before their run opened (the
parent's artifact :data:`FAILED_JOBS`, written at the end of the sweep). The swept keys are the
parent's param :data:`SWEEP_KEYS_PARAM`; each job's values come from its overrides (a reused
run: the reusing job's; else its tag :data:`OVERRIDES_TAG`, the overrides it ran with), else
from the config groups it ran with (its tag :data:`CHOICES_TAG`: ``data=height_weight`` where
no override named ``data``), else from its params. Any other set of runs (an experiment and an
MLflow filter string: ``dvc exp run --queue`` experiments, say) is swept over the keys whose
values differ between the runs.

mlflow is imported lazily: the job itself imports only the names below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ermlab.tracking import CONFIG_HASH_TAG, search_all_runs

OVERRIDES_TAG = "ermlab.overrides"  # JSON list of the job's key=value overrides
CHOICES_TAG = "ermlab.choices"  # JSON object: config group -> the option the run used
PARENT_TAG = "mlflow.parentRunId"
SWEEP_KEYS_PARAM = "sweep.keys"  # JSON list of the swept keys, in command-line order
SWEEP_VALUES_PREFIX = "sweep.values."  # + key: the swept values, comma-separated
# Written by a resumed sweep: a JSON list of {"run_id": ..., "overrides": [...]} (an older
# sweep's: of run ids alone).
REUSED_RUNS = "reused_runs.json"
FAILED_JOBS = "failed_jobs.json"  # JSON list of {"overrides": [...], "reason": str}


class StoreError(ValueError):
    """The store does not hold what was asked for (one line: the run or experiment)."""


@dataclass(frozen=True)
class Sweep:
    """Jobs and swept keys read from the store, and a title for the report."""

    records: list  # list[JobRecord], in sorted order of the swept values
    swept: list[str]
    title: str
    notes: tuple[str, ...] = ()  # what the report says about how the runs were chosen


def override_key(override: str) -> str:
    """The config key of a ``key=value`` override (``+``/``~``/``++`` prefixes dropped)."""
    return override.split("=", 1)[0].lstrip("+~")


def group_choices(choices) -> dict[str, str]:
    """Hydra's ``runtime.choices`` (config group -> option, ``hydra/...`` groups included)
    -> the groups of the experiment's own config that have an option: ``{"data":
    "height_weight", "model": "ols", ...}`` (Hydra's own groups and unchosen ones left out)."""
    return {
        str(group): str(option)
        for group, option in choices.items()
        if option is not None and str(group) != "hydra" and not str(group).startswith("hydra/")
    }


def run_values(run, job_overrides: list[str] | None = None) -> dict[str, str]:
    """What a run was asked for, key -> value: the config groups it used (:data:`CHOICES_TAG`),
    overridden by its overrides (``job_overrides`` where given, else :data:`OVERRIDES_TAG`)."""
    if job_overrides is None:
        job_overrides = json.loads(run.data.tags.get(OVERRIDES_TAG, "[]"))
    return json.loads(run.data.tags.get(CHOICES_TAG, "{}")) | parse_overrides(job_overrides)


def parse_overrides(overrides: list[str]) -> dict[str, str]:
    """``["a=1", "+b.c=x"]`` -> ``{"a": "1", "b.c": "x"}`` (a key given twice: the last)."""
    return {override_key(o): o.split("=", 1)[1] for o in overrides if "=" in o}


def swept_from_overrides(overrides: list[str]) -> dict[str, list[str]]:
    """The sweep overrides of a Hydra command line (``hydra.*`` aside) -> key: its values."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    task = [o for o in overrides if not override_key(o).startswith("hydra.")]
    parsed = OverridesParser.create().parse_overrides(task)
    return {
        o.get_key_element().lstrip("+~"): list(o.sweep_string_iterator())
        for o in parsed
        if o.is_sweep_override()
    }


def sweep_params(overrides: list[str]) -> dict[str, str]:
    """The parent run's params naming the sweep: :data:`SWEEP_KEYS_PARAM` and, per key,
    ``sweep.values.<key>`` = its values comma-separated, or as typed (``range(2000)``) where
    that list is longer than an MLflow param holds (it was cut at 6,000 characters)."""
    from ermlab.tracking import MAX_PARAM_LENGTH

    swept = swept_from_overrides(overrides)
    typed = {override_key(o): o.split("=", 1)[1] for o in overrides if "=" in o}
    params = {SWEEP_KEYS_PARAM: json.dumps(list(swept))}
    for key, values in swept.items():
        listed = ",".join(values)
        params[f"{SWEEP_VALUES_PREFIX}{key}"] = (
            listed if len(listed) <= MAX_PARAM_LENGTH else typed.get(key, listed)
        )
    return params


# ------------------------------------------------------------------------------- reading runs
def _local_artifact(run, path: str) -> Path | None:
    """The artifact's file when the run's artifacts are on this file system, else ``None``."""
    from urllib.parse import unquote, urlparse

    uri = run.info.artifact_uri
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path)) / path
    if parsed.scheme == "" and uri:
        return Path(uri) / path
    return None


def read_artifact(client, run, path: str) -> bytes | None:
    """An artifact's bytes, or ``None`` when the run does not have it. Local stores are read
    from disk directly (1,000 runs in a fraction of a second); others are downloaded."""
    import tempfile

    local = _local_artifact(run, path)
    if local is not None:
        return local.read_bytes() if local.is_file() else None
    folder, _, name = path.rpartition("/")
    listed = {a.path for a in client.list_artifacts(run.info.run_id, folder or None)}
    if path not in listed:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return Path(client.download_artifacts(run.info.run_id, path, tmp)).read_bytes()


def _json_artifact(client, run, path: str) -> Any:
    data = read_artifact(client, run, path)
    return json.loads(data) if data is not None else None


def reused_runs(listing: list) -> dict[str, list[str] | None]:
    """A :data:`REUSED_RUNS` listing -> run id: the overrides of the job that reused it (None
    in an older sweep's listing, of run ids alone)."""
    return {
        e if isinstance(e, str) else e["run_id"]: None if isinstance(e, str) else e["overrides"]
        for e in listing
    }


def sweep_runs(client, parent_run_id: str) -> tuple[list, dict[str, list[str]]]:
    """The runs of a sweep: the children of ``parent_run_id`` plus the runs listed in its
    :data:`REUSED_RUNS` artifact (a resumed sweep reuses runs of an older parent, or of a
    single run); and, by run id, the overrides of the job that reused each (where listed)."""
    parent = get_run(client, parent_run_id)
    children = search_all_runs(
        client, [parent.info.experiment_id], f"tags.`{PARENT_TAG}` = '{parent_run_id}'"
    )
    seen = {r.info.run_id for r in children}
    reused = reused_runs(_json_artifact(client, parent, REUSED_RUNS) or [])
    wanted = [run_id for run_id in reused if run_id not in seen]
    found = _runs_by_id(client, parent.info.experiment_id, wanted)
    # In the listing's order; a run not in the parent's experiment is asked for by its id.
    children += [found[run_id] if run_id in found else get_run(client, run_id) for run_id in wanted]
    return children, {k: v for k, v in reused.items() if v is not None}


RUN_IDS_PER_SEARCH = 100  # run ids in one search's filter (a resumed sweep may reuse thousands)


def _runs_by_id(client, experiment_id: str, run_ids: list[str]) -> dict:
    """The runs of ``experiment_id`` among ``run_ids``, by id: one search per
    :data:`RUN_IDS_PER_SEARCH` ids (MLflow's ``attributes.run_id IN``), not a request each."""
    found = {}
    for start in range(0, len(run_ids), RUN_IDS_PER_SEARCH):
        quoted = ", ".join(f"'{run_id}'" for run_id in run_ids[start : start + RUN_IDS_PER_SEARCH])
        runs = search_all_runs(client, [experiment_id], f"attributes.run_id IN ({quoted})")
        found.update((run.info.run_id, run) for run in runs)
    return found


def get_run(client, run_id: str):
    """The run ``run_id``; a one-line :class:`StoreError` when the store has none."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException:
        raise StoreError(f"no MLflow run {run_id!r} in the store {client.tracking_uri}") from None


def _predictions_loader(client, run):
    def load():
        import io

        import numpy as np

        from ermlab.sweeps.decomposition import ARTIFACT

        data = read_artifact(client, run, ARTIFACT)
        return None if data is None else np.load(io.BytesIO(data), allow_pickle=False)

    return load


def _values(run, swept: list[str], job_overrides: list[str] | None = None) -> dict[str, str]:
    asked, params = run_values(run, job_overrides), run.data.params
    return {k: asked.get(k, params.get(k, "")) for k in swept}


def job_records(
    client,
    runs: list,
    swept: list[str],
    failed_jobs: list[dict] = (),
    job_overrides: dict[str, list[str]] | None = None,
) -> list:
    """One :class:`~ermlab.sweeps.report.JobRecord` per run (FINISHED: ``ok``; otherwise
    ``failed`` with the reason the sweep recorded, else the run's status), plus one per failed
    job that has no run; sorted by the swept values, then run id. A run in ``job_overrides``
    (run id: overrides; a resumed sweep's reused runs) takes its swept values from those, not
    from the overrides it ran with (a single run's, or another sweep's, may name none)."""
    from ermlab.sweeps.report import FAILED, OK, JobRecord, sort_key

    reasons: dict[tuple, list[str]] = {}
    for job in failed_jobs:
        values = parse_overrides(job["overrides"])
        reasons.setdefault(tuple(values.get(k, "") for k in swept), []).append(job["reason"])
    records = []
    for run in runs:
        values = _values(run, swept, (job_overrides or {}).get(run.info.run_id))
        key = tuple(values[k] for k in swept)
        if run.info.status == "FINISHED":
            records.append(
                JobRecord(
                    values,
                    OK,
                    "",
                    run.info.run_id,
                    dict(run.data.metrics),
                    _predictions_loader(client, run),
                )
            )
        else:
            pending = reasons.get(key)
            reason = pending.pop(0) if pending else f"run {run.info.status}"
            records.append(JobRecord(values, FAILED, reason, run.info.run_id))
    for key, pending in reasons.items():  # failed before their run opened
        records += [JobRecord(dict(zip(swept, key, strict=True)), FAILED, r) for r in pending]
    return sorted(records, key=lambda r: ([sort_key(r.values[k]) for k in swept], r.run_id))


def load_sweep(client, parent_run_id: str) -> Sweep:
    """The jobs of the sweep whose parent run is ``parent_run_id``."""
    parent = get_run(client, parent_run_id)
    if SWEEP_KEYS_PARAM not in parent.data.params:
        raise StoreError(
            f"run {parent_run_id} is not a sweep's parent run (it has no {SWEEP_KEYS_PARAM} "
            "param): pass a parent run id, or --experiment with --filter"
        )
    swept = json.loads(parent.data.params[SWEEP_KEYS_PARAM])
    runs, reused = sweep_runs(client, parent_run_id)
    failed = _json_artifact(client, parent, FAILED_JOBS) or []
    name = parent.data.tags.get("mlflow.runName", "sweep")
    records = job_records(client, runs, swept, failed, reused)
    return Sweep(records, swept, f"{name} (run {parent_run_id})")


def varying_keys(runs: list) -> list[str]:
    """The keys whose value differs between ``runs`` (:func:`run_values`): override keys, then
    config groups, each in first-seen order; then the params no such key covers (a swept
    ``model`` choice covers every ``model.*`` param).

    A run without :data:`CHOICES_TAG` (a DVC stage's, an older one) does not say which
    option of a group it used: it is left out when a group's options are compared, and a
    group it leaves unknown covers no params (its params tell such runs apart)."""
    asked = [run_values(r) for r in runs]
    tagged = [CHOICES_TAG in r.data.tags for r in runs]
    keys: list[str] = []
    for names in [json.loads(r.data.tags.get(OVERRIDES_TAG, "[]")) for r in runs] + asked:
        keys += [k for k in map(override_key, names) if k not in keys]

    def known(key: str) -> list[bool]:  # per run: whether it says its value of key
        return [key in a or t for a, t in zip(asked, tagged, strict=True)]

    swept = [
        k
        for k in keys
        if len({a.get(k) for a, says in zip(asked, known(k), strict=True) if says}) > 1
    ]
    covering = [k for k in swept if all(known(k))]
    names = sorted({k for r in runs for k in r.data.params})
    for name in names:
        if name in swept or any(name.startswith(k + ".") for k in covering):
            continue
        if len({r.data.params.get(name) for r in runs}) > 1:
            swept.append(name)
    return swept


def load_runs(client, experiment: str, filter_string: str = "") -> Sweep:
    """The runs of ``experiment`` that match the MLflow ``filter_string`` (sweep parent runs
    aside), swept over :func:`varying_keys`."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise StoreError(f"no MLflow experiment {experiment!r} in the store {client.tracking_uri}")
    from mlflow.exceptions import MlflowException

    try:
        runs = search_all_runs(client, [found.experiment_id], filter_string)
    except MlflowException as err:
        message = " ".join(str(err).split())
        raise StoreError(f"--filter {filter_string!r} is not allowed: {message}") from None
    runs = [r for r in runs if SWEEP_KEYS_PARAM not in r.data.params]
    if not runs:
        raise StoreError(f"no runs in experiment {experiment!r} match the filter {filter_string!r}")
    runs, repeats = one_run_per_config(runs)
    swept = varying_keys(runs)
    title = f"Runs of experiment {experiment}" + (
        f" where {filter_string}" if filter_string else ""
    )
    notes = ()
    if repeats:
        notes = (
            f"{repeats} more run(s) of a config counted already (the same tag "
            f"{CONFIG_HASH_TAG}: a repeat, or an attempt that did not finish) are left out: each "
            "config counts once, by its newest FINISHED run.",
        )
    return Sweep(job_records(client, runs, swept), swept, title, notes)


def one_run_per_config(runs: list) -> tuple[list, int]:
    """``runs`` with one run per config (tag :data:`~ermlab.tracking.CONFIG_HASH_TAG`): the
    newest FINISHED one, else the newest; a run without the tag is kept. Returns (the runs
    kept, in their given order; how many were left out). A config run again (``ermlab seed=1``
    twice, a sweep with ``hydra.sweeper.rerun=true``) computed the same numbers: counted twice,
    it would pass for two seeds and shrink the standard errors by about √2."""
    by_config: dict[str, list] = {}
    for run in runs:
        if (key := run.data.tags.get(CONFIG_HASH_TAG)) is not None:
            by_config.setdefault(key, []).append(run)
    best = {
        key: max(same, key=lambda r: (r.info.status == "FINISHED", r.info.start_time or 0))
        for key, same in by_config.items()
    }
    kept = [r for r in runs if best.get(r.data.tags.get(CONFIG_HASH_TAG), r) is r]
    return kept, len(runs) - len(kept)


def write_sweep_report(sweep: Sweep, folder: Path):
    """Summarize ``sweep`` and write its report into ``folder``; returns (Report, paths)."""
    from ermlab.sweeps.report import summarize, write_report

    report = summarize(sweep.records, sweep.swept)
    report.notes[:0] = sweep.notes
    return report, write_report(report, folder, sweep.title)
