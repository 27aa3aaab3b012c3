"""Sweeps on every core and on a Ray cluster give the serial sweep's metrics and MLflow runs."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from hydra.experimental.callback import Callback
from tests.conftest import BIN, REPO, run_cmd, sweep_in

sweep = sweep_in


def children(folder: Path) -> dict[str, dict[str, float]]:
    """{seed: metrics} of the FINISHED child runs, after checking there is one parent."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{folder}/mlflow.db")
    experiment = client.get_experiment_by_name("s").experiment_id
    runs = client.search_runs([experiment], max_results=1000)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    kids = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert all(r.data.tags["mlflow.parentRunId"] == parent.info.run_id for r in kids)
    assert all(r.info.status == "FINISHED" for r in runs)
    return {r.data.params["seed"]: r.data.metrics for r in kids}


SEEDS = "seed=0,1,2,3"


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> dict[str, dict[str, float]]:
    folder = tmp_path_factory.mktemp("serial")
    sweep(folder, SEEDS)
    return children(folder)


@pytest.mark.slow
def test_joblib_workers_give_the_serial_metrics_bit_for_bit(serial, tmp_path: Path):
    sweep(tmp_path, SEEDS, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    parallel = children(tmp_path)
    assert sorted(parallel) == sorted(serial) == ["0", "1", "2", "3"]
    for seed, metrics in serial.items():  # the same draws and fits: equal to the last bit
        assert parallel[seed] == metrics


@pytest.mark.slow
def test_the_table_lists_the_jobs_in_the_sweeps_order_whatever_order_workers_end_them(
    tmp_path: Path,
):
    """The first job draws 3·10⁶ population points, the second 10³: the second ends first,
    yet the table lists them as the command does, as a serial sweep's table does."""
    sizes = "data.n_population=3000000,1000"
    args = ["ermlab", "-m", sizes, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    args += ["tracking=off", f"hydra.sweep.dir={tmp_path}/multirun"]
    out = run_cmd(args, tmp_path, ERMLAB_ROOT=str(REPO)).stdout
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("data.")]
    assert rows == ["data.n_population=3000000", "data.n_population=1000"]


class JobProbe(Callback):
    """A user's Hydra callback: a line for each ``on_job_start`` and ``on_job_end``, with the
    job's number and the seed of the config it is handed."""

    def __init__(self, path: str) -> None:
        self.path = path

    def _line(self, event: str, config) -> None:
        with open(self.path, "a") as out:
            out.write(f"{event} {config.hydra.job.num} {config.seed}\n")

    def on_job_start(self, config, **kwargs) -> None:
        self._line("start", config)

    def on_job_end(self, config, job_return, **kwargs) -> None:
        assert job_return.cfg.seed == config.seed  # the config is this job's
        self._line("end", config)


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["basic", "joblib"])
def test_user_callbacks_see_every_job_with_its_own_config(launcher: str, tmp_path: Path):
    """Forked workers compose their own jobs: a user's callbacks still get each job's start
    and end, each with that job's config (job i has seed i here)."""
    probe = tmp_path / "probe.txt"
    args = ["ermlab", "-m", SEEDS, f"hydra/launcher={launcher}", "tracking=off"]
    args += [f"hydra.sweep.dir={tmp_path}/multirun"]
    args += ["+hydra.callbacks.probe._target_=tests.test_launchers.JobProbe"]
    args += [f"+hydra.callbacks.probe.path={probe}"]
    run_cmd(args, tmp_path, ERMLAB_ROOT=str(REPO), PYTHONPATH=str(REPO))
    lines = sorted(probe.read_text().splitlines())
    assert lines == sorted(f"{event} {i} {i}" for event in ("start", "end") for i in range(4))


@pytest.mark.slow
def test_four_workers_share_one_sqlite_store_without_losing_a_run(tmp_path: Path):
    proc = sweep(tmp_path, "seed=range(12)", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4")
    assert "database is locked" not in proc.stdout + proc.stderr
    assert len(children(tmp_path)) == 12
    with sqlite3.connect(tmp_path / "mlflow.db") as db:  # write-ahead logging, persistent
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head():
    """A real Ray head on 127.0.0.1 (2 CPUs), stopped with everything it started."""
    port = free_port()
    # Ray's socket paths live under its temp dir and must stay short (a Unix socket path has
    # at most 107 characters): pytest's tmp_path is too deep.
    short_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "RAY_USAGE_STATS_ENABLED": "0",
        # A token in the user's ~/.ray (left by `ray get-auth-token --generate`) would switch
        # this head to token authentication, which the test's driver does not use.
        "HOME": short_dir,
    }
    head = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--block",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--num-cpus",
            "2",
            "--include-dashboard",
            "false",
            "--temp-dir",
            short_dir,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopping it stops only what it started
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or head.poll() is not None:
                raise RuntimeError("the Ray head did not start")
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # `ray start --block` stops the processes it started, in order
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # anything of its group still there
        shutil.rmtree(short_dir, ignore_errors=True)


@pytest.mark.slow
def test_a_sweep_on_a_ray_cluster_gives_the_serial_runs(serial, ray_head: str, tmp_path: Path):
    sweep(tmp_path, SEEDS, "hydra/launcher=ray", f"hydra.launcher.address={ray_head}")
    on_ray = children(tmp_path)
    assert sorted(on_ray) == sorted(serial)
    for seed, metrics in serial.items():
        assert on_ray[seed] == metrics


@pytest.mark.slow
def test_a_sweep_through_submitit_gives_the_serial_runs(serial, tmp_path: Path):
    """submitit's local executor, which stands in for SLURM: each job a process of its own,
    started by submitit; the same parent, children and metrics, to the last bit."""
    sweep(tmp_path, SEEDS, "hydra/launcher=submitit_local")
    assert children(tmp_path) == serial
    results = (tmp_path / "multirun" / ".submitit").glob("*/*_result.pkl")
    assert len(list(results)) == len(serial)  # one submitit job each


def _command_line(process) -> str:
    """A process's command line; empty for one that has ended (a zombie not yet reaped by its
    parent, such as a short `git rev-parse` of the sweep's, or one already gone)."""
    import psutil

    try:
        return " ".join(process.cmdline())
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return ""


@pytest.mark.slow
def test_a_stopped_submitit_sweep_cancels_its_jobs(tmp_path: Path):
    """SIGTERM to ``ermlab`` while submitit's jobs run: it ends at once (exit 143), the parent
    run is KILLED, and every job process it started is cancelled, none left running."""
    import psutil

    args = ["ermlab", "-m", "seed=range(4)", "model=mlp", "hydra/launcher=submitit_local"]
    args += [f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", "tracking.experiment=s"]
    args += [f"hydra.sweep.dir={tmp_path}/multirun"]
    env = {**os.environ, "ERMLAB_ROOT": str(REPO), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        jobs: list = []
        deadline = time.monotonic() + 120
        while len(jobs) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            found = psutil.Process(proc.pid).children(recursive=True)
            jobs = [p for p in found if "submitit.core._submit" in _command_line(p)]
        assert len(jobs) == 4, proc.stdout.read().decode() if proc.poll() is not None else jobs
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        _, alive = psutil.wait_procs(jobs, timeout=10)
        assert alive == []
    finally:
        if proc.poll() is None:
            proc.kill()
        for child in psutil.Process().children(recursive=True):
            if "submitit" in _command_line(child):
                child.kill()
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        statuses = dict(db.execute("select status, count(*) from runs group by status"))
    assert "RUNNING" not in statuses and statuses.get("KILLED", 0) >= 1


@pytest.mark.slow
def test_a_resumed_sweep_sends_no_reused_job_to_ray_or_submitit(tmp_path: Path):
    """Started again, a sweep on Ray or submitit looks for each job's run before sending it
    out: with every job reused, Ray is never asked for its cluster (the address given has
    nothing listening, so joining it would fail), and submitit queues only the new job."""
    from mlflow.tracking import MlflowClient

    def seeds_run() -> list[str]:
        client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")
        experiment = client.get_experiment_by_name("s").experiment_id
        runs = client.search_runs([experiment], max_results=1000)
        kids = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
        assert all(r.info.status == "FINISHED" for r in runs)
        return sorted(r.data.params["seed"] for r in kids)

    sweep(tmp_path, SEEDS)
    dead = f"127.0.0.1:{free_port()}"
    args = ["ermlab", "-m", SEEDS, "hydra/launcher=ray", f"hydra.launcher.address={dead}"]
    args += [f"tracking.uri=sqlite:///{tmp_path}/mlflow.db", "tracking.experiment=s"]
    args += [f"hydra.sweep.dir={tmp_path}/multirun"]
    env = {**os.environ, "ERMLAB_ROOT": str(REPO), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    # Joining the dead address would wait for minutes: the timeout says so in two.
    again = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith("sweep report: ")
    assert seeds_run() == ["0", "1", "2", "3"]  # no job ran again
    sweep(tmp_path, "seed=0,1,2,3,4", "hydra/launcher=submitit_local")
    queued = list((tmp_path / "multirun-3" / ".submitit").glob("*/*_result.pkl"))
    assert len(queued) == 1  # seed=4 alone
    assert seeds_run() == ["0", "1", "2", "3", "4"]


@pytest.mark.slow
def test_a_ray_address_where_nothing_answers_stops_the_sweep_in_one_line(tmp_path: Path):
    """ray.init would retry a dead address for minutes, a line a second, deaf to Ctrl-C."""
    db = tmp_path / "mlflow.db"
    args = ["ermlab", "-m", "seed=0,1", "hydra/launcher=ray"]
    args += [f"hydra.launcher.address=127.0.0.1:{free_port()}", f"tracking.uri=sqlite:///{db}"]
    start = time.monotonic()
    proc = run_cmd(args, tmp_path, check=False, ERMLAB_ROOT=str(REPO))
    assert time.monotonic() - start < 60
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert re.fullmatch(
        r"ermlab: error: hydra.launcher.address=127.0.0.1:\d+: no Ray cluster answers there "
        r"\(Connection refused\); start its head .*",
        line,
    )
    with contextlib.closing(sqlite3.connect(db)) as store:
        statuses = dict(store.execute("select status, count(*) from runs group by status"))
        (why,) = store.execute("select value from tags where key = 'ermlab.error'").fetchone()
    assert statuses == {"FAILED": 1}  # the parent; no job was sent
    assert line == f"ermlab: error: {why}"  # the parent says why it FAILED, in the UI too


@pytest.mark.slow
def test_sigterm_stops_a_ray_sweep_its_running_jobs_and_parent_killed(tmp_path: Path):
    """SIGTERM to ``ermlab`` (a container's stop) mid-sweep on Ray's private cluster: one
    line, exit 143, the parent and the running jobs' runs KILLED (the jobs cancelled), none
    RUNNING. Ray's core puts its own SIGTERM handler in place of ermlab's, which would dump a
    stack, end the parent FAILED and leave the jobs' runs RUNNING."""
    db = tmp_path / "mlflow.db"
    args = ["ermlab", "-m", "seed=0,1,2,3", "model=mlp", "model.epochs=100000", "model.tol=null"]
    args += ["hydra/launcher=ray", f"tracking.uri=sqlite:///{db}", f"hydra.sweep.dir={tmp_path}/m"]
    env = {**os.environ, "ERMLAB_ROOT": str(REPO), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    proc = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def statuses() -> dict[str, int]:
        if not db.exists():
            return {}
        with contextlib.closing(sqlite3.connect(db)) as store:
            try:
                return dict(store.execute("select status, count(*) from runs group by status"))
            except sqlite3.OperationalError:  # the tables are not made yet
                return {}

    try:
        deadline = time.monotonic() + 120
        while statuses().get("RUNNING", 0) < 3:  # the parent and two jobs, one a CPU
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.3)
        time.sleep(1.0)  # the fits under way
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == "ermlab: interrupted by SIGTERM"
    assert statuses() == {"KILLED": 3}


@pytest.mark.slow
def test_a_ray_job_asking_more_cpus_than_any_node_has_stops_the_sweep_in_one_line(
    tmp_path: Path,
):
    """Ray would keep such a job waiting for a node for ever, silently."""
    cpus = (os.cpu_count() or 1) + 1  # the private cluster's one node has every core
    args = ["-m", "seed=0,1", "hydra/launcher=ray", f"hydra.launcher.num_cpus={cpus}"]
    proc = run_cmd(
        ["ermlab", *args, f"tracking.uri=sqlite:///{tmp_path}/mlflow.db"],
        tmp_path,
        check=False,
        ERMLAB_ROOT=str(REPO),
        RAY_USAGE_STATS_ENABLED="0",
    )
    assert proc.returncode == 2
    # Ray counts the cores it may use (a container's share), at most os.cpu_count().
    assert re.fullmatch(
        f"ermlab: error: hydra.launcher.num_cpus={cpus} is more than any node of the Ray "
        r"cluster has \(at most \d+ CPUs\): a job could never start",
        proc.stderr.strip().splitlines()[-1],
    )
    # Ray's notice that it turned token authentication on, above the table, is dropped.
    assert "Token authentication" not in proc.stdout + proc.stderr
    with contextlib.closing(sqlite3.connect(tmp_path / "mlflow.db")) as store:
        assert list(store.execute("select status from runs")) == [("FAILED",)]  # the parent


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:6379", ("127.0.0.1", 6379)),
        ("ray://head:10001", ("head", 10001)),
        ("[::1]:6379", ("::1", 6379)),
        ("auto", None),
        (None, None),
        ("localhost:65536", "not allowed"),
        ("head:\u0663", "not allowed"),  # an Arabic-Indic three: a digit to str.isdigit
        ("::1", "not allowed"),
        ("http://localhost:8265", "not allowed"),  # the dashboard's address, not the cluster's
        ("head", "not allowed"),
        (6379, "not allowed"),
    ],
)
def test_a_ray_address_is_read_or_refused_by_its_form(address, expected):
    from ermlab.config import ConfigError
    from ermlab.sweeps.launch import ray_host_port

    if expected == "not allowed":
        with pytest.raises(ConfigError, match=r"hydra.launcher.address=.* is not allowed"):
            ray_host_port(address)
    else:
        assert ray_host_port(address) == expected
