"""The team server (PostgreSQL + MLflow, artifacts proxied): a single run, a DVC stage run, a
parallel sweep and a copied local store all log to it, and everything reads back through it."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import REPO, run_cmd

from ermlab.config import compose, validate
from ermlab.pipeline import run

pytestmark = pytest.mark.slow


def _client(url: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=url)


def _runs(url: str, experiment: str) -> list:
    client = _client(url)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment} on {url}"
    assert found.tags["mlflow.experimentKind"] == "custom_model_development"
    return client.search_runs([found.experiment_id])


def _text(url: str, run_id: str, path: str, tmp_path: Path) -> str:
    return Path(_client(url).download_artifacts(run_id, path, str(tmp_path))).read_text()


def test_a_single_run_logs_params_metrics_plots_and_a_loadable_model(
    team_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import mlflow.pyfunc
    import mlflow.sklearn

    overrides = ["model=ridge", "data.n_train=60"]
    server = [f"tracking.uri={team_server}", "tracking.experiment=single"]
    run_cmd(
        ["ermlab", "tracking=server", *server, *overrides, f"hydra.run.dir={tmp_path / 'out'}"],
        tmp_path,
        ERMLAB_ROOT=str(REPO),
    )
    (recorded,) = _runs(team_server, "single")
    assert recorded.info.status == "FINISHED"
    assert recorded.info.run_name == "height_weight/Ridge/n=60/seed=0"
    assert recorded.data.params["data.n_train"] == "60"
    written = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert recorded.data.metrics["risk/test/mse"] == written["risk"]["test"]["mse"]
    client = _client(team_server)
    fit = client.download_artifacts(recorded.info.run_id, "plots/fit.png", str(tmp_path))
    assert Path(fit).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(fit).stat().st_size == (tmp_path / "out" / "plots" / "fit.png").stat().st_size

    # The model, read back through the server, predicts as a fresh fit of the same config.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", team_server)
    model = mlflow.sklearn.load_model(f"runs:/{recorded.info.run_id}/model")
    refit = run(validate(compose([*overrides, "tracking=off"])), tmp_path / "refit").estimator
    x = np.array([[150.0], [170.0], [190.0]])
    np.testing.assert_array_equal(model.predict(x), refit.predict(x))
    (output,) = recorded.outputs.model_outputs
    pyfunc = mlflow.pyfunc.load_model(f"models:/{output.model_id}")
    np.testing.assert_array_equal(pyfunc.predict(x), refit.predict(x))


def test_a_dvc_stage_run_logs_to_the_server(team_server: str, project: Path):
    server = ["tracking=server", f"tracking.uri={team_server}", "tracking.experiment=dvc"]
    run_cmd(["ermlab-stage", "params", *server], project)
    run_cmd(["dvc", "repro"], project)
    (recorded,) = _runs(team_server, "dvc")
    written = json.loads((project / "results" / "metrics.json").read_text())
    assert recorded.info.status == "FINISHED"
    assert recorded.data.metrics["risk/train/mse"] == written["risk"]["train"]["mse"]
    listed = {a.path for a in _client(team_server).list_artifacts(recorded.info.run_id, "plots")}
    assert "plots/fit.png" in listed
    assert recorded.outputs.model_outputs, "the DVC path logs its model too"


def test_a_parallel_sweep_logs_children_and_its_report(team_server: str, tmp_path: Path):
    server = [f"tracking.uri={team_server}", "tracking.experiment=sweep"]
    done = run_cmd(
        [
            "ermlab",
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "model=ols,ridge",
            "seed=0,1",
            "tracking=server",
            *server,
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        tmp_path,
        ERMLAB_ROOT=str(REPO),
    )
    runs = _runs(team_server, "sweep")
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.run_name == "sweep: model × seed" and len(children) == 4
    assert all(r.info.status == "FINISHED" for r in runs)
    # The last line gives the parent's address in the UI, as a single run's does.
    experiment = parent.info.experiment_id
    link = f"{team_server.rstrip('/')}/#/experiments/{experiment}/runs/{parent.info.run_id}"
    assert done.stdout.strip().splitlines()[-1].endswith(f"{parent.info.run_id}  {link})")
    report = _text(team_server, parent.info.run_id, "report.html", tmp_path)
    assert "sweep: model × seed" in report
    # The report's job table (read back through the server) holds each child's own risk.
    jobs = list(
        csv.DictReader(io.StringIO(_text(team_server, parent.info.run_id, "jobs.csv", tmp_path)))
    )
    assert len(jobs) == 4
    column = next(k for k in jobs[0] if "test" in k and "mse" in k)
    assert sorted(float(j[column]) for j in jobs) == pytest.approx(
        sorted(c.data.metrics["risk/test/mse"] for c in children), rel=1e-12
    )


def test_a_local_store_is_copied_to_the_server_once(team_server: str, tmp_path: Path):
    local = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run(
        validate(compose([f"tracking.uri={local}", "tracking.experiment=shared"])), tmp_path / "o"
    )
    first = run_cmd(["ermlab-sync", "--from", local, "--to", team_server], tmp_path)
    assert "1 runs copied, 0 already there" in first.stdout
    second = run_cmd(["ermlab-sync", "--from", local, "--to", team_server], tmp_path)
    assert "0 runs copied, 1 already there" in second.stdout
    (copy,) = _runs(team_server, "shared")
    assert copy.data.tags["ermlab.copied_from"] == result.run_id
    assert copy.data.metrics == _client(local).get_run(result.run_id).data.metrics


def _processes_of(root: Path, group: int | None = None) -> list[str]:
    """Command lines of the processes that run from the server folder ``root`` or belong to
    process group ``group`` (the MLflow server's workers name neither folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            pgrp = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2])
        except (OSError, ValueError, IndexError):
            continue
        if str(root) in cmdline or pgrp == group:
            found.append(cmdline)
    return found


@contextmanager
def _own_server(tmp_path: Path, prefix: str) -> Iterator[tuple[Path, list[str], str]]:
    """A team server of its own (for tests that kill and restart it): yields its folder, the
    ``ermlab-server`` command line without its verb, and its URL; stopped and removed after,
    leaving no process behind."""
    import shutil
    import tempfile

    from tests.servers import require_postgres

    from ermlab.server import free_port

    require_postgres()
    root = Path(tempfile.mkdtemp(prefix=prefix))  # reachable by postgres, see servers
    root.chmod(0o755)
    command = ["ermlab-server", "--dir", str(root), "--port", str(free_port()), "--workers", "1"]
    try:
        started = run_cmd([command[0], "start", *command[1:]], tmp_path).stdout
        yield root, command, started.split("MLflow on ")[1].split()[0]
    finally:
        run_cmd([command[0], "stop", *command[1:]], tmp_path, check=False)
        assert _processes_of(root) == []
        shutil.rmtree(root, ignore_errors=True)


def test_a_crash_fails_the_run_in_one_line_a_restart_keeps_the_data_a_stop_leaves_nothing(
    tmp_path: Path,
):
    from ermlab.server import Layout, read_state
    from ermlab.tracking import tracked_run

    with _own_server(tmp_path, "ermlab-restart-") as (root, command, url):
        secret = Layout(root).password_file.read_text().strip()
        group = read_state(Layout(root))["pid"]
        running = _processes_of(root, group)
        assert any("uvicorn" in p for p in running) and any("postgres" in p for p in running)
        assert not any(secret in p for p in running)  # on no command line
        config = validate(compose([f"tracking.uri={url}", "tracking.experiment=kept"]))
        result = run(config, tmp_path / "out")

        # The MLflow server dies while a run logs: the run fails in one line, in seconds.
        started_at = time.monotonic()
        with pytest.raises(ConnectionError, match="stopped answering") as lost:
            with tracked_run(config.tracking, "lost") as recorder:
                os.killpg(group, signal.SIGKILL)
                recorder.log_metrics({"risk/test/mse": 1.0})
        assert "\n" not in str(lost.value)
        assert time.monotonic() - started_at < 60  # MLflow alone retries for some 4 minutes

        # Started again (PostgreSQL restarted under it too): the finished run is still there.
        run_cmd([command[0], "start", *command[1:]], tmp_path)
        (kept,) = [r for r in _runs(url, "kept") if r.info.run_name != "lost"]
        assert kept.info.run_id == result.run_id and kept.info.status == "FINISHED"
        group = read_state(Layout(root))["pid"]
        assert "stopped" in run_cmd([command[0], "stop", *command[1:]], tmp_path).stdout
        assert _processes_of(root, group) == []


def _finished_children(url: str, experiment: str) -> dict[str, str]:
    """{run id: parent run id} of the FINISHED child runs of ``experiment`` on ``url``."""
    client = _client(url)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return {}
    runs = client.search_runs([found.experiment_id], "attributes.status = 'FINISHED'")
    return {
        r.info.run_id: r.data.tags["mlflow.parentRunId"]
        for r in runs
        if "mlflow.parentRunId" in r.data.tags
    }


def test_a_server_killed_mid_sweep_fails_its_jobs_in_one_line_and_the_sweep_resumes(
    tmp_path: Path,
):
    import subprocess

    from tests.conftest import BIN

    from ermlab.server import Layout, read_state
    from ermlab.sweeps.store import REUSED_RUNS

    seeds = 16  # the server is killed after 2: the first sweep must not finish them all first
    with _own_server(tmp_path, "ermlab-resume-") as (root, command, url):
        # ~0.3 s a job (10⁶ population points): slow enough to kill the server between jobs.
        sweep = ["ermlab", "-m", f"seed=range({seeds})", "data.n_population=1000000"]
        sweep += [f"tracking.uri={url}", "tracking.experiment=resumed"]
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
        first = subprocess.Popen(
            [*sweep, f"hydra.sweep.dir={tmp_path / 'first'}"],
            cwd=tmp_path,
            env={**env, "ERMLAB_ROOT": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 240
        while len(_finished_children(url, "resumed")) < 2:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the sweep finished no job in 240 s"
            time.sleep(0.2)
        os.killpg(read_state(Layout(root))["pid"], signal.SIGKILL)  # the MLflow server only
        _, err = first.communicate(timeout=600)
        assert first.returncode == 2, err
        assert "Traceback" not in err, err
        failed = [line for line in err.splitlines() if line.startswith("ermlab: error:")]
        (tmp_path / "first.stderr").write_text(err)
        assert any(f"tracking.uri={url}" in line for line in failed), err

        # Started again, the same sweep runs only the jobs that did not finish.
        run_cmd([command[0], "start", *command[1:]], tmp_path)
        before = _finished_children(url, "resumed")
        assert 2 <= len(before) < seeds
        again = run_cmd(
            [*sweep, f"hydra.sweep.dir={tmp_path / 'again'}"], tmp_path, ERMLAB_ROOT=str(REPO)
        )
        reused = (
            json.loads((tmp_path / "again" / REUSED_RUNS).read_text())
            if (tmp_path / "again" / REUSED_RUNS).exists()
            else None
        )
        after = _finished_children(url, "resumed")
        parents = set(after.values()) - set(before.values())
        assert len(parents) == 1, again.stdout
        (parent,) = parents
        ran = [run_id for run_id, p in after.items() if p == parent]
        assert len(ran) == seeds - len(before)
        listed = json.loads(
            Path(_client(url).download_artifacts(parent, REUSED_RUNS, str(tmp_path))).read_text()
        )
        assert sorted(e["run_id"] for e in listed) == sorted(before)
        assert reused is None or sorted(e["run_id"] for e in reused) == sorted(before)
        with (tmp_path / "again" / "jobs.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == seeds and all(r["status"] == "ok" for r in rows)
