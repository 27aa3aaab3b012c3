"""Resuming a sweep: jobs whose config already has a FINISHED run are reused, not run again."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from tests.conftest import sweep_in

from ermlab.sweeps.tracker import reused_line
from ermlab.tracking import config_hash


def test_the_config_hash_is_the_canonical_json_of_the_config_without_tracking():
    config = {"seed": 3, "data": {"n_train": 10, "kind": "linear"}, "tracking": {"uri": "a"}}
    canonical = '{"data":{"kind":"linear","n_train":10},"seed":3}'
    assert config_hash(config) == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    assert config_hash({**config, "tracking": {"uri": "b"}}) == config_hash(config)
    assert config_hash({**config, "seed": 4}) != config_hash(config)


def test_a_data_file_counts_in_the_config_hash_by_its_contents(tmp_path: Path):
    """The same ``data.path`` holding other data is another config (a resumed sweep runs it
    again); the same contents under the same path is the same config."""
    import os

    from ermlab.tracking import DATA_FILE_KEY

    table = tmp_path / "t.csv"
    table.write_text("x,y\n1,2\n3,4\n")
    config = {"seed": 0, "data": {"kind": "csv", "path": str(table), "target": "y"}}
    before = config_hash(config)
    canonical = json.dumps(
        {**config, DATA_FILE_KEY: hashlib.sha256(table.read_bytes()).hexdigest()},
        sort_keys=True,
        separators=(",", ":"),
    )
    assert before == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    table.write_text("x,y\n1,2\n3,8\n")  # the same size: only the contents tell
    os.utime(table, ns=(1, 1))
    assert config_hash(config) != before
    table.write_text("x,y\n1,2\n3,4\n")
    assert config_hash(config) == before


sweep = sweep_in


def runs(folder: Path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{folder}/mlflow.db")
    experiment = client.get_experiment_by_name("s").experiment_id
    found = client.search_runs([experiment], max_results=1000, order_by=["start_time ASC"])
    parents = [r for r in found if "mlflow.parentRunId" not in r.data.tags]
    return client, parents, [r for r in found if "mlflow.parentRunId" in r.data.tags]


def reused_runs(client, parent) -> list[str]:
    from ermlab.sweeps.store import REUSED_RUNS

    names = {a.path for a in client.list_artifacts(parent.info.run_id)}
    if REUSED_RUNS not in names:
        return []
    path = client.download_artifacts(parent.info.run_id, REUSED_RUNS)
    return [entry["run_id"] for entry in json.loads(Path(path).read_text())]


@pytest.mark.slow
def test_a_sweep_started_again_runs_only_the_jobs_without_a_finished_run(tmp_path: Path):
    sweep(tmp_path, "seed=0,1")  # as if a 4-job sweep had been stopped after two jobs
    client, _, first = runs(tmp_path)
    assert len(first) == 2 and all("config_hash" in r.data.tags for r in first)

    second = sweep(tmp_path, "seed=0,1,2,3")
    assert second.stdout.splitlines()[-2] == reused_line(2, 4)
    client, parents, kids = runs(tmp_path)
    assert len(kids) == 4  # two new runs, for seeds 2 and 3
    assert sorted(r.data.params["seed"] for r in kids) == ["0", "1", "2", "3"]
    assert sorted(reused_runs(client, parents[1])) == sorted(r.info.run_id for r in first)

    third = sweep(tmp_path, "seed=0,1,2,3")  # nothing left to run
    client, parents, kids = runs(tmp_path)
    assert len(kids) == 4 and len(parents) == 3
    assert sorted(reused_runs(client, parents[2])) == sorted(r.info.run_id for r in kids)
    # The reused runs are the sweep's jobs in its report: one row each, with its metrics.
    assert third.returncode == 0
    with (tmp_path / "multirun-3" / "jobs.csv").open() as f:
        rows = {row["run_id"]: float(row["risk/test/mse"]) for row in csv.DictReader(f)}
    assert rows == {r.info.run_id: r.data.metrics["risk/test/mse"] for r in kids}

    assert third.stdout.splitlines()[-2] == reused_line(4, 4)
    forced = sweep(tmp_path, "seed=0,1", "hydra.sweeper.rerun=true")
    assert len(runs(tmp_path)[2]) == 6  # forced: both jobs ran again
    assert "reused" not in forced.stdout


@pytest.mark.slow
def test_a_changed_value_is_a_new_config_and_runs(tmp_path: Path):
    sweep(tmp_path, "seed=0", "data.n_train=10,20")
    sweep(tmp_path, "seed=0", "data.n_train=20,30")
    _, parents, kids = runs(tmp_path)
    assert sorted(r.data.params["data.n_train"] for r in kids) == ["10", "20", "30"]


def test_an_experiment_with_nothing_to_reuse_is_asked_once_per_sweep(tmp_path: Path, monkeypatch):
    from ermlab import tracking
    from ermlab.config import TrackingConfig
    from ermlab.sweeps import resume

    store = TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment="e")
    asked = []
    real = tracking.has_finished_configs
    monkeypatch.setattr(tracking, "has_finished_configs", lambda t: asked.append(1) or real(t))
    assert resume._nothing_to_reuse("sweep-1", store)
    assert resume._nothing_to_reuse("sweep-1", store) and len(asked) == 1

    tags = {tracking.CONFIG_HASH_TAG: "0123456789abcdef"}
    old_code = {**tags, tracking.CODE_HASH_TAG: "f" * 16}
    tracking.open_run(store, "older code", extra_tags=old_code).finish()
    assert not real(store)  # a run of other code is nothing to reuse
    tags[tracking.CODE_HASH_TAG] = tracking.code_hash()
    tracking.open_run(store, "failed", extra_tags=tags).finish("FAILED")
    assert not real(store)  # a FAILED run is nothing to reuse
    tracking.open_run(store, "finished", extra_tags=tags).finish()
    assert real(store)
    assert resume._nothing_to_reuse("sweep-1", store)  # what this sweep saw when it looked
    assert not resume._nothing_to_reuse("sweep-2", store) and len(asked) == 2


@pytest.mark.parametrize("uri", ["???", "${oc.env:ERMLAB_NO_SUCH_VARIABLE}"])
def test_a_job_with_a_bad_tracking_node_is_run_not_looked_up(tmp_path: Path, uri: str):
    """The resume check leaves a job whose tracking node cannot be read to the job (its own
    validation says why, in one line), touching no store."""
    from omegaconf import open_dict, read_write
    from tests.test_job_runner import job_config

    from ermlab.sweeps.resume import reuse_finished_run

    config = job_config(tmp_path, f"tracking.uri=sqlite:///{tmp_path}/m.db")
    with read_write(config), open_dict(config):
        config.tracking.uri = uri
    assert reuse_finished_run(config) is None
    assert not (tmp_path / "m.db").exists()


def test_a_reused_job_returns_its_runs_metrics_and_the_config_a_job_that_ran_returns(
    tmp_path: Path,
):
    """The JobReturn of a reused job holds the FINISHED run's metrics and id, and as its
    ``cfg`` the task config Hydra's ``run_job`` would return (the job's config without its
    hydra node, unresolved); the serial launcher tells it from a job that ran."""
    from hydra.core.utils import JobReturn, JobStatus
    from omegaconf import OmegaConf
    from tests.test_job_runner import job_config

    from ermlab import tracking
    from ermlab.config import TrackingConfig, to_dict, validate
    from ermlab.sweeps.launch import job_reused
    from ermlab.sweeps.resume import REUSED, reuse_finished_run

    uri = f"sqlite:///{tmp_path}/m.db"
    config = job_config(
        tmp_path, f"tracking.uri={uri}", "tracking.experiment=e", "seed=4", "name='s${seed}'"
    )
    hydra_copy = OmegaConf.to_container(config, resolve=False)
    del hydra_copy["hydra"]
    store = TrackingConfig(uri=uri, experiment="e")
    assert reuse_finished_run(config) is None  # nothing to reuse yet

    task = {
        k: OmegaConf.to_container(config[k], resolve=True) if OmegaConf.is_config(config[k]) else v
        for k, v in hydra_copy.items()
    }
    tags = tracking.config_tags(to_dict(validate(task)))
    run = tracking.open_run(store, "finished", extra_tags=tags)
    run.log_metrics({"risk/test/mse": 0.25})
    run.finish()
    other = tracking.open_run(store, "other seed", extra_tags={tracking.CONFIG_HASH_TAG: "0" * 16})
    other.finish()
    # The same config computed by other code (before a bug fix), and more recently: not reused.
    older_code = {**tags, tracking.CODE_HASH_TAG: "f" * 16}
    tracking.open_run(store, "other code", extra_tags=older_code).finish()

    config.hydra.sweep.dir = str(tmp_path / "again")  # a new sweep asks the store again
    reused = reuse_finished_run(config)
    assert reused.return_value == {"risk/test/mse": 0.25, REUSED: run.run_id}
    assert OmegaConf.to_container(reused.cfg, resolve=False) == hydra_copy
    assert job_reused(reused)
    ran = JobReturn(status=JobStatus.COMPLETED, _return_value={"risk/test/mse": 0.25})
    failed = JobReturn(status=JobStatus.FAILED, _return_value=ValueError("a failing job"))
    assert not job_reused(ran) and not job_reused(failed)


def _listing_parent():
    from ermlab.sweeps.store import REUSED_RUNS

    class Parent:
        """The parent run's Recorder, as far as the sweep's listing of reused runs goes."""

        run_id = "parent"

        def __init__(self) -> None:
            self.listings: list[tuple[list[dict], bool]] = []  # (listing, deferred)
            self.interrupt_deferred = False

        def log_text(self, text: str, name: str, defer: bool = False) -> None:
            assert name == REUSED_RUNS
            if defer and self.interrupt_deferred:
                raise KeyboardInterrupt  # a second Ctrl-C as the last listing is written
            self.listings.append((json.loads(text), defer))

        def finish(self, status: str) -> None:
            self.status = status

    return Parent()


def _job_ends(sweep, jobs: range, reused: bool) -> None:
    from hydra.core.utils import JobReturn, JobStatus

    from ermlab.sweeps.resume import REUSED

    for job in jobs:
        value = {"risk/test/mse": 1.0, **({REUSED: f"run-{job}"} if reused else {})}
        sweep.on_job_end(
            None, JobReturn([f"seed={job}"], status=JobStatus.COMPLETED, _return_value=value)
        )


def _listed(jobs: range) -> list[dict]:
    return [{"run_id": f"run-{j}", "overrides": [f"seed={j}"]} for j in jobs]


def test_the_reused_runs_listing_is_rewritten_at_most_once_a_second_and_whole_at_the_end():
    """A resumed sweep of 200 jobs reused in well under a second writes the parent's
    listing once as they end (its first job), not 200 times, growing (which made resuming
    quadratic in the jobs); a job that runs after them lists them all at once (a sweep killed
    outright in its later jobs still says which runs it reused), and the sweep's end, here a
    Ctrl-C, lists the rest, with the parent's end."""
    from ermlab.sweeps import tracker as tracker_module

    sweep = tracker_module.SweepTracker()
    sweep.parent = parent = _listing_parent()
    _job_ends(sweep, range(200), reused=True)
    assert len(parent.listings) == 1
    _job_ends(sweep, range(200, 201), reused=False)
    assert parent.listings[-1] == (_listed(range(200)), False)
    _job_ends(sweep, range(201, 251), reused=True)
    assert len(parent.listings) == 2
    sweep._finish("KILLED")
    assert parent.status == "KILLED" and len(parent.listings) == 3
    assert parent.listings[-1] == ([*_listed(range(200)), *_listed(range(201, 251))], True)
    assert [" ".join(o) for _, o, _ in sweep.returns] == [f"seed={j}" for j in range(251)]


def test_a_second_ctrl_c_as_the_last_listing_is_written_ends_the_parent_killed():
    from ermlab.sweeps import tracker as tracker_module

    sweep = tracker_module.SweepTracker()
    sweep.parent = parent = _listing_parent()
    _job_ends(sweep, range(3), reused=True)
    parent.interrupt_deferred = True  # two of them are not listed yet: the end lists them
    with pytest.raises(KeyboardInterrupt):
        sweep._finish("FINISHED")
    assert parent.status == "KILLED" and sweep.parent is None


def test_the_code_hash_changes_with_any_file_of_the_package_and_with_a_library(
    tmp_path: Path, monkeypatch
):
    """What makes a run's numbers besides its config: a package file edited (committed or
    not), a numerical library of another version."""
    import importlib.metadata
    import shutil

    from ermlab import tracking

    package = Path(tracking.__file__).parent
    copy = tmp_path / "ermlab"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(tracking, "__file__", str(copy / "tracking.py"))

    def fresh() -> str:
        tracking.code_hash.cache_clear()
        return tracking.code_hash()

    try:
        before = fresh()
        assert fresh() == before  # a pure function of the files and versions
        (copy / "__pycache__").mkdir(exist_ok=True)
        (copy / "__pycache__" / "x.pyc").write_bytes(b"bytecode")
        (copy / ".DS_Store").write_bytes(b"a file browser's")
        (copy / "sweeps" / ".report.py.swp").write_bytes(b"an editor's")
        (copy / "losses.py~").write_text("a backup")
        assert fresh() == before  # bytecode, dotfiles, backups are not the code
        (copy / "sweeps" / "report.py").write_text("# a subpackage's file counts too\n")
        assert fresh() != before
        (copy / "sweeps" / "report.py").write_text((package / "sweeps" / "report.py").read_text())
        assert fresh() == before
        losses = copy / "losses.py"
        losses.write_text(losses.read_text() + "\n# a fix\n")
        edited = fresh()
        assert edited != before
        real_version = importlib.metadata.version
        monkeypatch.setattr(
            importlib.metadata,
            "version",
            lambda name: "0.0" if name == "scikit-learn" else real_version(name),
        )
        assert fresh() not in (before, edited)
    finally:
        monkeypatch.undo()
        tracking.code_hash.cache_clear()
