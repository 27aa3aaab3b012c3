"""MLflow records: one run per execution, parent and child runs for a sweep, FAILED on error."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cmd

from ermlab.config import compose, validate
from ermlab.pipeline import run


def _client(db: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{db}")


def _runs(db: Path, experiment: str):
    client = _client(db)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], max_results=1000)


def test_in_process_run_is_recorded_with_params_metrics_and_artifacts(tmp_path: Path):
    db = tmp_path / "mlflow.db"
    overrides = ["model=sklearn_linear", f"tracking.uri=sqlite:///{db}", "tracking.experiment=t"]
    result = run(validate(compose(overrides)), tmp_path / "out")
    (recorded,) = _runs(db, "t")
    assert recorded.info.run_id == result.run_id
    assert recorded.info.status == "FINISHED"
    assert recorded.data.params["data.n_train"] == "100"
    assert recorded.data.params["model._target_"] == "sklearn.linear_model.LinearRegression"
    metrics = recorded.data.metrics
    assert metrics["risk/test/mse"] == pytest.approx(result.metrics["risk"]["test"]["mse"])
    assert metrics["risk/bayes/mse"] == 64.0
    assert {"risk/train/mse", "risk/population/mse", "gap/mse"} <= set(metrics)
    assert "git_commit" in recorded.data.tags or "mlflow.source.git.commit" in recorded.data.tags
    listed = {a.path for a in _client(db).list_artifacts(result.run_id)}
    assert {"config.yaml", "plots"} <= listed
    (output,) = recorded.outputs.model_outputs  # the model: a logged model (test_logged_model.py)
    model_uri = _client(db).get_logged_model(output.model_id).artifact_location

    import mlflow.sklearn

    model = mlflow.sklearn.load_model(model_uri)
    assert model.predict([[170.0]]) == pytest.approx(result.estimator.predict([[170.0]]))


def test_a_failing_fit_marks_the_run_failed(tmp_path: Path):
    db = tmp_path / "mlflow.db"
    overrides = [
        "model=knn",
        "model.n_neighbors=500",  # more than the 100 training points: refused as it predicts
        f"tracking.uri=sqlite:///{db}",
        "tracking.experiment=t",
    ]
    with pytest.raises(ValueError) as raised:
        run(validate(compose(overrides)), tmp_path / "out")
    (recorded,) = _runs(db, "t")
    assert recorded.info.status == "FAILED"
    # Why, as the command says it, where the MLflow UI shows the run's tags.
    from ermlab.errors import user_message

    assert recorded.data.tags["ermlab.error"] == user_message(raised.value)
    assert recorded.data.tags["ermlab.error"].startswith("ValueError: Expected n_neighbors <=")


def _sweep(tmp_path: Path, *overrides: str):
    """``ermlab -m OVERRIDES`` recording to tmp_path/mlflow.db, experiment ``sweep``."""
    db, folder = tmp_path / "mlflow.db", tmp_path / "multirun"
    args = [
        f"tracking.uri=sqlite:///{db}",
        "tracking.experiment=sweep",
        f"hydra.sweep.dir={folder}",
    ]
    return run_cmd(
        ["ermlab", "-m", *overrides, *args], tmp_path, check=False, ERMLAB_ROOT=str(REPO)
    )


@pytest.mark.slow
def test_hydra_multirun_writes_one_parent_and_one_child_per_job(tmp_path: Path):
    proc = _sweep(tmp_path, "model=ols,sklearn_linear", "data.n_train=10,100")
    assert proc.returncode == 0, proc.stderr
    runs = _runs(tmp_path / "mlflow.db", "sweep")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 4
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in children)
    assert all(r.info.status == "FINISHED" for r in runs)
    combos = {(r.data.params["model._target_"], r.data.params["data.n_train"]) for r in children}
    assert len(combos) == 4
    assert all("risk/test/mse" in r.data.metrics for r in children)
    # The table printed at the end: a header and one line per job.
    out = "\n" + proc.stdout
    table = out[out.rindex("\njob ") :]  # the sweep table comes last
    assert table.count("model=") == 4 and table.count(" mse ") == 4


@pytest.mark.slow
def test_a_failed_job_in_a_sweep_fails_the_parent_and_the_exit_status(tmp_path: Path):
    # More neighbours than the 100 training points: scikit-learn refuses them only as it
    # predicts, so the job's run opens, then fails.
    proc = _sweep(tmp_path, "model=knn", "model.n_neighbors=5,500")
    assert proc.returncode == 2
    assert "ermlab: error: ValueError: Expected n_neighbors <= n_samples_fit" in proc.stderr
    assert "model.n_neighbors=500" in proc.stdout and "failed" in proc.stdout
    runs = _runs(tmp_path / "mlflow.db", "sweep")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [r.info.status for r in parents] == ["FAILED"]
    assert parents[0].data.tags["ermlab.error"] == "1 of 2 jobs failed"  # why, in the UI
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    status = sorted((r.data.params["model.n_neighbors"], r.info.status) for r in children)
    assert status == [("5", "FINISHED"), ("500", "FAILED")]


@pytest.mark.slow
def test_a_sweep_job_that_cannot_start_is_refused_before_its_run_opens(tmp_path: Path):
    proc = _sweep(tmp_path, "model=sklearn_linear,logistic")  # a classifier on a regression target
    assert proc.returncode == 2
    assert "model=logistic is a classifier, but data=height_weight" in proc.stderr
    names = sorted(r.data.tags["mlflow.runName"] for r in _runs(tmp_path / "mlflow.db", "sweep"))
    assert names == ["height_weight/LinearRegression/n=100/seed=0", "sweep: model"]


def _local(tmp_path: Path):
    """A TrackingConfig recording to a fresh SQLite store in tmp_path, experiment ``t``."""
    from ermlab.config import TrackingConfig

    return TrackingConfig(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", experiment="t")


def test_deferred_params_are_written_with_the_next_metrics(tmp_path: Path):
    from mlflow.entities import RunTag

    from ermlab.tracking import open_run

    recorder = open_run(_local(tmp_path), "deferred")
    recorder.log_params({"a": 1, "b": "x"}, [RunTag("k", "v")], defer=True)
    before = _client(tmp_path / "mlflow.db").get_run(recorder.run_id).data
    assert before.params == {} and "k" not in before.tags
    recorder.log_metrics({"risk/test/mse": 1.5})
    after = _client(tmp_path / "mlflow.db").get_run(recorder.run_id).data
    assert after.params == {"a": "1", "b": "x"}
    assert after.tags["k"] == "v"
    assert after.metrics == {"risk/test/mse": 1.5}
    recorder.finish()


def test_a_run_that_fails_after_a_deferred_config_keeps_its_params_and_hash(tmp_path: Path):
    from ermlab.config import flatten, to_dict
    from ermlab.tracking import CONFIG_HASH_TAG, config_hash, tracked_run

    config = to_dict(validate(compose(["model=sklearn_linear"])))
    with pytest.raises(RuntimeError, match="fit failed"):
        with tracked_run(_local(tmp_path), "fails") as recorder:
            recorder.log_config(config, defer=True)
            raise RuntimeError("fit failed")
    (recorded,) = _runs(tmp_path / "mlflow.db", "t")
    assert recorded.info.status == "FAILED"
    assert recorded.data.tags[CONFIG_HASH_TAG] == config_hash(config)
    assert recorded.data.params == {k: str(v) for k, v in flatten(config).items()}
    assert recorded.data.params["model._target_"] == "sklearn.linear_model.LinearRegression"
    listed = {a.path for a in _client(tmp_path / "mlflow.db").list_artifacts(recorded.info.run_id)}
    assert "config.yaml" in listed  # deferred with the params, written when the run ended


class _Remote:
    """A run's artifact repository as a remote store's looks to ermlab (not a local folder),
    keeping the files in the local one underneath."""

    def __init__(self, local) -> None:
        self.local = local

    def log_artifact(self, *args, **kwargs):
        return self.local.log_artifact(*args, **kwargs)

    def log_artifacts(self, *args, **kwargs):
        return self.local.log_artifacts(*args, **kwargs)


def _remote(recorder):
    """``recorder`` with its artifacts behind :class:`_Remote`; returns that repository."""
    recorder._artifact_repository = _Remote(recorder._artifacts())
    return recorder._artifact_repository


@pytest.mark.parametrize("store", ["local", "remote"])
def test_deferred_artifacts_are_written_when_the_run_ends_or_straight_into_a_local_store(
    tmp_path: Path, store: str
):
    import numpy as np

    from ermlab.tracking import open_run

    recorder = open_run(_local(tmp_path), "files")
    if store == "remote":
        _remote(recorder)
    recorder.log_text("at once\n", "now.txt")
    recorder.log_text("later\n", "later.txt", defer=True)
    with recorder.artifact_file("folder/deep/array.npy", defer=True) as path:
        np.save(path, np.arange(3.0))
    client = _client(tmp_path / "mlflow.db")
    listed = [a.path for a in client.list_artifacts(recorder.run_id)]
    assert listed == (["now.txt"] if store == "remote" else ["folder", "later.txt", "now.txt"])
    recorder.finish()
    local = Path(client.download_artifacts(recorder.run_id, ""))
    assert (local / "now.txt").read_text() == "at once\n"
    assert (local / "later.txt").read_text() == "later\n"
    assert np.load(local / "folder/deep/array.npy").tolist() == [0.0, 1.0, 2.0]
    assert sorted(p.name for p in local.iterdir()) == ["folder", "later.txt", "now.txt"]


def test_a_config_hash_given_when_the_run_opens_is_not_written_again(tmp_path: Path):
    from ermlab.config import to_dict
    from ermlab.tracking import CONFIG_HASH_TAG, config_tags, open_run

    config = to_dict(validate(compose(["model=sklearn_linear"])))
    recorder = open_run(_local(tmp_path), "tagged", extra_tags=config_tags(config))
    written = []
    log_batch = recorder.client.log_batch
    recorder.client.log_batch = lambda *a, **k: written.append(k["tags"]) or log_batch(*a, **k)
    recorder.log_config(config)
    recorder.finish()
    assert written == [[]]
    tags = _client(tmp_path / "mlflow.db").get_run(recorder.run_id).data.tags
    assert tags[CONFIG_HASH_TAG] == config_tags(config)[CONFIG_HASH_TAG]


def test_more_deferred_params_than_one_batch_holds_are_all_written(tmp_path: Path):
    from mlflow.entities import RunTag

    from ermlab.tracking import MAX_PARAMS_PER_BATCH, open_run

    params = {f"p{i:03d}": i for i in range(2 * MAX_PARAMS_PER_BATCH + 50)}
    tags = [RunTag(f"t{i:03d}", str(i)) for i in range(MAX_PARAMS_PER_BATCH + 20)]
    metrics = {f"m{i:04d}": float(i) for i in range(1200)}  # over MLflow's 1000 a batch too
    recorder = open_run(_local(tmp_path), "wide")
    recorder.log_params(params, tags, defer=True)
    recorder.log_metrics(metrics)
    recorder.finish()
    data = _client(tmp_path / "mlflow.db").get_run(recorder.run_id).data
    assert data.params == {k: str(v) for k, v in params.items()}
    assert {t.key: t.value for t in tags}.items() <= data.tags.items()
    assert data.metrics == metrics


def _schema(db: Path) -> tuple[list, list, list]:
    """A SQLite store's tables and indexes (their SQL, a line per column or constraint, in
    sorted order: MLflow's migrations list a table's constraints in an order that changes
    from one process to the next), its migration revision and its Default experiment."""
    import sqlite3

    def lines(sql: str | None) -> list[str]:
        return sorted(line.strip().rstrip(",") for line in (sql or "").splitlines())

    with contextlib.closing(sqlite3.connect(db)) as store:
        return (
            sorted(
                (kind, name, table, lines(sql))
                for kind, name, table, sql in store.execute(
                    "select type, name, tbl_name, sql from sqlite_master"
                )
            ),
            store.execute("select * from alembic_version").fetchall(),
            store.execute(
                "select experiment_id, name, artifact_location, lifecycle_stage from experiments"
                " where name = 'Default'"
            ).fetchall(),
        )


def test_a_new_store_is_a_copy_of_the_one_mlflow_makes_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """ermlab copies a new store from an empty one made once per MLflow version (MLflow's
    migrations cost seconds): the same tables, indexes and revision as the store MLflow
    makes itself, the same Default experiment; made once, then only copied."""
    from ermlab.tracking import client_for

    monkeypatch.setenv("ERMLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # MLflow's Default experiment's folder is relative to it
    (tmp_path / "mlflow").mkdir()
    _client(tmp_path / "mlflow" / "mlflow.db").search_experiments()  # MLflow's own way
    client_for(_local(tmp_path / "first"))
    (template,) = (tmp_path / "cache").iterdir()
    made = template.stat().st_mtime_ns
    client_for(_local(tmp_path / "second"))
    assert template.stat().st_mtime_ns == made and len(list(template.parent.iterdir())) == 1
    expected = _schema(tmp_path / "mlflow" / "mlflow.db")
    assert len(expected[0]) > 30 and expected[2]  # tables and indexes; the Default experiment
    for copy in ("first", "second"):
        assert _schema(tmp_path / copy / "mlflow.db") == expected, copy


def test_a_cache_that_cannot_be_written_leaves_the_store_to_mlflow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    from ermlab.tracking import client_for

    (tmp_path / "cache").write_text("a file, not a folder")
    monkeypatch.setenv("ERMLAB_CACHE_DIR", str(tmp_path / "cache"))
    client, experiment = client_for(_local(tmp_path / "store"))
    assert client.get_experiment(experiment).name == "t"
    assert not [p for p in tmp_path.rglob("*") if "partial" in p.name]


def test_a_new_store_is_created_without_mlflows_info_lines(
    tmp_path: Path, capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    """A first run's output is its risks: MLflow's "Creating initial MLflow database
    tables..." and "Updating database tables" lines are not shown (MLflow creating the store
    itself: ermlab's cache of an empty one cannot be written here)."""
    from ermlab.tracking import client_for

    (tmp_path / "cache").write_text("a file, not a folder")
    monkeypatch.setenv("ERMLAB_CACHE_DIR", str(tmp_path / "cache"))
    client_for(_local(tmp_path))
    assert (tmp_path / "mlflow.db").exists()
    out, err = capfd.readouterr()
    assert "database tables" not in out + err


def test_the_store_is_write_ahead_logged_and_synced_at_checkpoints(tmp_path: Path):
    """ermlab's SQLite store: WAL (written in the file) and, on every connection MLflow opens
    to it, synchronous=NORMAL (1); another database, even a WAL one, keeps SQLite's default
    FULL (2)."""
    import sqlite3

    from sqlalchemy import create_engine, text

    from ermlab.tracking import client_for

    client, _ = client_for(_local(tmp_path))
    engine = client._tracking_client.store.engine
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1
    with sqlite3.connect(tmp_path / "other.db") as other:
        other.execute("PRAGMA journal_mode=WAL")
    with create_engine(f"sqlite:///{tmp_path / 'other.db'}").connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2


def test_deferred_files_go_in_one_upload_and_leave_no_staging_folder(tmp_path: Path):
    from ermlab.tracking import open_run

    recorder = open_run(_local(tmp_path), "one upload")
    repository = _remote(recorder)
    for name in ("config.yaml", "lm_summary.txt", "decomposition/predictions.txt"):
        recorder.log_text(name, name, defer=True)
    staging = Path(recorder._staged.name)
    uploads = []
    upload = repository.log_artifacts
    repository.log_artifacts = lambda *a, **k: uploads.append(a) or upload(*a, **k)
    recorder.finish()
    assert len(uploads) == 1 and not staging.exists()
    listed = {a.path for a in _client(tmp_path / "mlflow.db").list_artifacts(recorder.run_id)}
    assert listed == {"config.yaml", "lm_summary.txt", "decomposition"}


def test_a_deferred_file_whose_writing_raised_is_not_uploaded(tmp_path: Path):
    from ermlab.tracking import open_run

    recorder = open_run(_local(tmp_path), "half-written")
    with pytest.raises(ValueError, match="mid-write"):
        with recorder.artifact_file("broken.txt", defer=True) as path:
            path.write_text("half")
            raise ValueError("mid-write")
    recorder.finish()
    assert _client(tmp_path / "mlflow.db").list_artifacts(recorder.run_id) == []


def test_a_killed_run_keeps_its_status_and_its_error_when_its_files_cannot_be_written(
    tmp_path: Path, capsys
):
    from ermlab.tracking import tracked_run

    with pytest.raises(KeyboardInterrupt):
        with tracked_run(_local(tmp_path), "killed") as recorder:
            recorder.log_params({"a": 1}, defer=True)
            _remote(recorder).log_artifacts = _full_disk
            recorder.log_text("x\n", "config.yaml", defer=True)
            staging = Path(recorder._staged.name)
            raise KeyboardInterrupt
    recorded = _client(tmp_path / "mlflow.db").get_run(recorder.run_id)
    assert recorded.info.status == "KILLED"
    assert recorded.data.params == {"a": "1"}  # written before the files were tried
    assert not staging.exists()
    assert "ended KILLED without some of its deferred params or files" in capsys.readouterr().err


def _full_disk(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_a_run_whose_deferred_artifacts_cannot_be_written_ends_failed(tmp_path: Path):
    from ermlab.tracking import open_run

    recorder = open_run(_local(tmp_path), "unwritable")
    _remote(recorder).log_artifacts = _full_disk
    recorder.log_text("x\n", "config.yaml", defer=True)
    with pytest.raises(OSError, match="No space left"):
        recorder.finish()
    assert _client(tmp_path / "mlflow.db").get_run(recorder.run_id).info.status == "FAILED"


def test_a_server_lost_while_the_deferred_files_go_up_is_one_line(tmp_path: Path):
    from mlflow.exceptions import MlflowException

    from ermlab.tracking import tracked_run

    def unanswered(*args, **kwargs):
        raise MlflowException(
            "API request to http://127.0.0.1:1/api/2.0/mlflow-artifacts/artifacts/x failed with "
            "exception HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded"
        )

    tracking = _local(tmp_path)
    with pytest.raises(ConnectionError, match="stopped answering") as raised:
        with tracked_run(tracking, "lost upload") as recorder:
            _remote(recorder).log_artifacts = unanswered
            recorder.log_text("{}", "lm_summary.json", defer=True)
    assert raised.value.__cause__ is None and "\n" not in str(raised.value)


def test_deferred_files_of_a_local_store_are_written_in_place_not_copied(tmp_path: Path):
    from ermlab.tracking import open_run

    recorder = open_run(_local(tmp_path), "in place")
    repository = recorder._artifacts()
    repository.log_artifacts = repository.log_artifact = _full_disk  # no copy may happen
    recorder.log_text("a: 1\n", "config.yaml", defer=True)
    recorder.log_text("p\n", "decomposition/predictions.txt", defer=True)
    recorder.finish()
    assert recorder._staged is None
    folder = Path(repository.artifact_dir)
    assert (folder / "config.yaml").read_text() == "a: 1\n"
    assert sorted(p.name for p in folder.rglob("*")) == [
        "config.yaml",
        "decomposition",
        "predictions.txt",
    ]
    run = _client(tmp_path / "mlflow.db").get_run(recorder.run_id)
    assert run.info.status == "FINISHED"


OPEN_AT = """
import sys, time
from ermlab.config import TrackingConfig
from ermlab.tracking import client_for
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
client_for(TrackingConfig(uri=f"sqlite:///{sys.argv[1]}", experiment="e"))
"""


@pytest.mark.slow
def test_processes_opening_a_new_sqlite_store_at_once_all_get_it(tmp_path: Path):
    """Two sweeps started together on a new store: MLflow creates its tables in each, and
    without ermlab's lock they collide ("table ... already exists", an alembic error)."""
    import subprocess
    import sys
    import time

    db = tmp_path / "store" / "mlflow.db"
    start = str(time.time() + 5)  # after every interpreter has imported what it needs
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT, str(db), start],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, "\n".join(errors)
    assert all(p.name.startswith(db.name) for p in db.parent.iterdir())  # no lock file left


@pytest.mark.slow
def test_a_store_locked_longer_than_a_writer_waits_fails_the_run_in_one_line(tmp_path: Path):
    """Another process holds the SQLite store's write lock past MLflow's 20 s: one line
    naming the store (MLflow logged the database error with its traceback, then Hydra printed
    it again: 353 lines), exit status 2."""
    import sqlite3
    import subprocess
    import sys

    db = tmp_path / "mlflow.db"
    store = [f"tracking.uri=sqlite:///{db}", "plots=false", "log_model=false"]
    run_cmd(["ermlab", *store, f"hydra.run.dir={tmp_path}/a"], tmp_path, ERMLAB_ROOT=str(REPO))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            f"db = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "db.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(600)\n",  # killed once the run is done, however long it took
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = run_cmd(
            ["ermlab", *store, "seed=1", f"hydra.run.dir={tmp_path}/b"],
            tmp_path,
            check=False,
            ERMLAB_ROOT=str(REPO),
        )
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("ermlab: error: ConnectionError: the MLflow store at tracking.uri=")
    assert "was locked by another process (database is locked; a writer waits up to 20 s)" in line
    with contextlib.closing(sqlite3.connect(db)) as reader:
        assert reader.execute("select count(*) from runs").fetchone() == (1,)  # the first
