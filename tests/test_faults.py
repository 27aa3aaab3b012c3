"""Faults: SIGINT, SIGTERM and SIGKILL mid-fit, mid-evaluate and mid-sweep.

Every case drives the real command (``ermlab``, ``dvc repro``) as a subprocess, waits until
its MLflow run is open (read from the SQLite store), sends the signal, and checks what is
left: the exit status, the runs' statuses (KILLED, never RUNNING: a caught signal ends the run,
SIGKILL is reaped by the next command that opens the store), no partial output, and that the
next run completes with bitwise the same metrics as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from tests.conftest import BIN, REPO, run_cmd

# A fit that runs until it is stopped (100 000 epochs of an MLP, no stopping rule).
ENDLESS_FIT = ["model=mlp", "model.epochs=100000", "model.tol=null"]


def _start(args: list[str], cwd: Path, **env: str) -> subprocess.Popen:
    """Start a command in its own process group (so a signal reaches its children too)."""
    full_env = {k: v for k, v in os.environ.items() if k != "ERMLAB_ROOT"}
    full_env.update(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", **env)
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def runs(db: Path) -> list[dict[str, str]]:
    """Every run of the SQLite MLflow store ``db``, oldest first: status and tags."""
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as con:
        try:
            rows = con.execute("select run_uuid, status from runs order by start_time").fetchall()
            tags = con.execute("select run_uuid, key, value from tags").fetchall()
        except sqlite3.OperationalError:  # the store is being created
            return []
    found = {run_id: {"status": status} for run_id, status in rows}
    for run_id, key, value in tags:
        if run_id in found:
            found[run_id][key] = value
    return list(found.values())


def _wait_until_running(db: Path, proc: subprocess.Popen, count: int = 1, timeout=120) -> None:
    """Wait until ``count`` runs of ``db`` are RUNNING (the run is open: mid-fit or
    mid-evaluate), then a little longer so that the work is under way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(r["status"] == "RUNNING" for r in runs(db)) >= count:
            time.sleep(1.0)
            return
        if proc.poll() is not None:
            raise AssertionError(f"ended before its run opened:\n{proc.communicate()}")
        time.sleep(0.2)
    raise AssertionError("no RUNNING run appeared")


def _stop(proc: subprocess.Popen, signum: int) -> tuple[int, str, str]:
    """Send ``signum`` to the command's process group; its exit status, stdout, stderr."""
    os.killpg(proc.pid, signum)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:  # the signal did not stop it: leave no endless fit behind
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, out, err


def _ermlab(cwd: Path, *overrides: str) -> list[str]:
    return ["ermlab", *overrides, f"tracking.uri=sqlite:///{cwd / 'mlflow.db'}"]


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_mid_fit_ends_the_run_killed_and_leaves_nothing(tmp_path: Path, signum, status):
    proc = _start(_ermlab(tmp_path, *ENDLESS_FIT), tmp_path, ERMLAB_ROOT=str(REPO))
    _wait_until_running(tmp_path / "mlflow.db", proc)
    code, out, err = _stop(proc, signum)
    assert code == status, err
    name = signal.Signals(signum).name
    assert err.strip().splitlines()[-1] == f"ermlab: interrupted by {name}"
    assert "Traceback" not in out + err
    assert [r["status"] for r in runs(tmp_path / "mlflow.db")] == ["KILLED"]
    assert not (tmp_path / "outputs").exists()  # the run's folder went with it


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_sweep_stopped_by_a_signal_ends_parent_and_job_killed(tmp_path: Path, signum, status):
    sweep = ["-m", "seed=0,1", *ENDLESS_FIT, f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    proc = _start(_ermlab(tmp_path, *sweep), tmp_path, ERMLAB_ROOT=str(REPO))
    _wait_until_running(tmp_path / "mlflow.db", proc, count=2)  # the parent and job 0
    code, out, err = _stop(proc, signum)
    assert code == status and "Traceback" not in out + err, err
    assert [r["status"] for r in runs(tmp_path / "mlflow.db")] == ["KILLED", "KILLED"]
    assert not list((tmp_path / "multirun").rglob("metrics.json"))
    # How to go on: the parent run, and that the same command resumes.
    assert re.search(
        r"^ermlab: the sweep stopped with 0 job\(s\) done \(MLflow parent run [0-9a-f]{32}, "
        r"KILLED\): the same command again runs only the jobs without a FINISHED run$",
        err,
        re.MULTILINE,
    ), err


@pytest.mark.slow
def test_sigkill_mid_sweep_is_reaped_by_the_next_run_which_gives_the_same_metrics(
    tmp_path: Path,
):
    db = tmp_path / "mlflow.db"
    sweep = ["-m", "seed=0,1", *ENDLESS_FIT, f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    proc = _start(_ermlab(tmp_path, *sweep), tmp_path, ERMLAB_ROOT=str(REPO))
    _wait_until_running(db, proc, count=2)
    # Another command on the same store meanwhile: it must leave the live sweep's runs alone.
    reference = _ermlab(tmp_path, "hydra.run.dir=outputs/reference")
    run_cmd(reference, tmp_path, ERMLAB_ROOT=str(REPO))
    assert [r["status"] for r in runs(db)] == ["RUNNING", "RUNNING", "FINISHED"]
    code, _, _ = _stop(proc, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert not list((tmp_path / "multirun").rglob("metrics.json"))  # nothing half-written

    again = _ermlab(tmp_path, "hydra.run.dir=outputs/again")
    stderr = run_cmd(again, tmp_path, ERMLAB_ROOT=str(REPO)).stderr
    assert "2 run(s) left RUNNING by a process that is gone were marked KILLED" in stderr
    recorded = runs(db)
    assert [r["status"] for r in recorded] == ["KILLED", "KILLED", "FINISHED", "FINISHED"]
    assert all(str(proc.pid) in r["ermlab.reaped"] for r in recorded[:2])
    assert all(r["ermlab.pid"] and r["ermlab.host"] for r in recorded)
    outputs = tmp_path / "outputs"
    metrics = [(outputs / d / "metrics.json").read_bytes() for d in ("reference", "again")]
    assert metrics[0] == metrics[1]


def test_a_killed_process_not_yet_collected_by_its_parent_counts_as_gone():
    """A process SIGKILLed whose parent (or a container's first process, often no init) has
    not collected its exit status yet is a zombie: its runs are reaped, not left RUNNING."""
    from ermlab.tracking import _process_alive

    child = subprocess.Popen(["sleep", "60"])
    try:
        started = time.time()
        assert _process_alive(child.pid, started)
        assert not _process_alive(child.pid, started - 5.0)  # the number reused by another
        child.kill()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().split()[2] != "Z":
            assert time.monotonic() < deadline, "the killed child never became a zombie"
            time.sleep(0.01)
        assert not _process_alive(child.pid, started)  # not collected (no wait) yet
    finally:
        child.kill()
        child.wait()
    assert not _process_alive(child.pid, started)


@pytest.mark.slow
def test_dvc_repro_stopped_mid_evaluate_then_rerun_records_and_reproduces(project: Path):
    # A population of 2e7 points keeps evaluate busy for a few seconds.
    run_cmd(["ermlab-stage", "params", "data.n_population=20000000"], project)
    db = project / "mlflow.db"
    first = run_cmd(["dvc", "repro"], project)
    assert "Running stage 'evaluate'" in first.stdout
    reference = (project / "results" / "metrics.json").read_bytes()

    # Ctrl-C and SIGTERM reach the stage (the whole process group, as a terminal or a
    # container stop does): the stage ends its run KILLED itself.
    for signum in (signal.SIGINT, signal.SIGTERM):
        proc = _start(["dvc", "repro", "-f", "-s", "evaluate"], project)
        _wait_until_running(db, proc)
        code, out, err = _stop(proc, signum)
        assert code != 0 and "Traceback" not in out + err, err
        assert f"interrupted by {signal.Signals(signum).name}" in err
        assert runs(db)[-1]["status"] == "KILLED" and "ermlab.reaped" not in runs(db)[-1]

    # SIGKILL: nothing can end the run, the next command reaps it.
    proc = _start(["dvc", "repro", "-f", "-s", "evaluate"], project)
    _wait_until_running(db, proc)
    _stop(proc, signal.SIGKILL)
    assert (project / "results" / "metrics.json").read_bytes() == reference  # never half-written

    # Without persist, DVC restored evaluate from its run cache here, recording no run.
    again = run_cmd(["dvc", "repro"], project)
    assert "Running stage 'evaluate'" in again.stdout
    recorded = runs(db)
    assert [r["status"] for r in recorded] == ["FINISHED", *["KILLED"] * 3, "FINISHED"]
    assert "ermlab.reaped" in recorded[3]
    assert (project / "results" / "metrics.json").read_bytes() == reference
    assert json.loads(reference)["n"]["train"] == 100


@pytest.mark.slow
def test_a_large_population_draw_shows_progress_on_a_terminal(tmp_path: Path):
    # Chunked, so any n_population is allowed; on a terminal it says how far it is.
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, and tqdm draws nothing in 0 columns.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    args = [*_ermlab(tmp_path, "data.n_population=2500000"), "hydra.run.dir=outputs/run"]
    env = {k: v for k, v in os.environ.items() if k != "ERMLAB_ROOT"}
    env.update(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", ERMLAB_ROOT=str(REPO))
    proc = subprocess.run(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=follower, timeout=300
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed once everything is read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert b"population risk:" in shown and b"/3 [" in shown  # 3 chunks of 10^6 points


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a joblib sweep's workers)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _start_parallel_sweep(tmp_path: Path) -> subprocess.Popen:
    """Four endless jobs on two forked workers, started once both workers' jobs run."""
    sweep = ["-m", "seed=0,1,2,3", *ENDLESS_FIT, f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    workers = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]
    proc = _start(_ermlab(tmp_path, *sweep, *workers), tmp_path, ERMLAB_ROOT=str(REPO))
    _wait_until_running(tmp_path / "mlflow.db", proc, count=3)  # the parent and two jobs
    return proc


@pytest.mark.slow
@pytest.mark.parametrize(
    ("to", "signum"),
    [("group", signal.SIGINT), ("sweep", signal.SIGINT), ("worker", signal.SIGTERM)],
    ids=["ctrl-c", "kill-the-sweep", "kill-a-worker"],
)
def test_a_signal_stops_a_parallel_sweep_its_runs_killed_and_no_queued_job_starts(
    tmp_path: Path, to: str, signum: int
):
    """Ctrl-C (the whole process group), a signal to the sweep's process alone, or to one of
    its workers: every run ends KILLED, the two jobs waiting in the queue never start, and
    the exit status is the signal's, in one line."""
    proc = _start_parallel_sweep(tmp_path)
    if to == "group":
        code, out, err = _stop(proc, signum)
    else:
        os.kill(_children(proc.pid)[0] if to == "worker" else proc.pid, signum)
        out, err = proc.communicate(timeout=120)
        code = proc.returncode
    assert code == 128 + signum, err
    assert err.strip().splitlines()[-1] == f"ermlab: interrupted by {signal.Signals(signum).name}"
    assert "Traceback" not in out + err
    assert [r["status"] for r in runs(tmp_path / "mlflow.db")] == ["KILLED"] * 3


@pytest.mark.slow
def test_a_worker_killed_outright_ends_the_sweep_in_one_line_with_no_run_left_running(
    tmp_path: Path,
):
    proc = _start_parallel_sweep(tmp_path)
    os.kill(_children(proc.pid)[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err
    errors = [line for line in err.splitlines() if line.startswith("ermlab: error:")]
    assert len(errors) == 1 and "a worker process of the sweep died" in errors[0], err
    assert "Traceback" not in out + err
    statuses = [r["status"] for r in runs(tmp_path / "mlflow.db")]
    assert statuses[0] == "FAILED" and sorted(statuses[1:]) == ["KILLED", "KILLED"]


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting to be collected has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


@pytest.mark.slow
def test_the_sweeps_process_killed_outright_leaves_no_worker_and_no_job_running(tmp_path: Path):
    """SIGKILL to the ``ermlab`` process of a parallel sweep: its two workers, mid-job, end
    their jobs' runs KILLED and exit (they waited on each other's pipes for ever, their runs
    RUNNING); the parent run, whose process could not end it, is reaped by the next command."""
    proc = _start_parallel_sweep(tmp_path)
    workers = _children(proc.pid)
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 60
    while not all(map(_gone, workers)) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in workers if not _gone(pid)]
    for pid in left:  # endless fits: none may outlive the test
        os.kill(pid, signal.SIGKILL)
    assert not left, "a worker outlived its sweep"
    statuses = [r["status"] for r in runs(tmp_path / "mlflow.db")]
    assert statuses == ["RUNNING", "KILLED", "KILLED"]  # the parent, then its two jobs
    run_cmd(_ermlab(tmp_path, "tracking=local", "data.n_train=20"), tmp_path)
    assert [r["status"] for r in runs(tmp_path / "mlflow.db")][:3] == ["KILLED"] * 3


# A student's own estimator with a bug: fitting with buggy=True raises a KeyError, which is
# not a user error (ermlab.errors.USER_ERRORS) but a bug in code the job runs.
BUGGY_MODEL = """\
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin


class MeanModel(RegressorMixin, BaseEstimator):
    def __init__(self, buggy=False):
        self.buggy = buggy

    def fit(self, X, y):
        if self.buggy:
            return {}["coefficient"]
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "launcher",
    [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], ["hydra/launcher=submitit_local"]],
    ids=["serial", "joblib", "submitit"],
)
def test_a_job_that_raises_a_bug_fails_alone_with_its_traceback_and_the_sweep_ends(
    tmp_path: Path, launcher: list[str]
):
    """A bug in one job (serial, in a worker process, in a submitit job's own process) fails
    that job only: its error line names the job, followed by its traceback from where it ran,
    into the student's file; the other jobs run, the report lists it, the parent run ends
    FAILED and the exit status is 2. Hydra's own sweeper would end the sweep with the
    traceback, and no table, no report."""
    (tmp_path / "student_model.py").write_text(BUGGY_MODEL)
    args = [
        "ermlab",
        "-m",
        "model._target_=student_model.MeanModel",
        "+model.buggy=false,true",
        "seed=0,1",
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        f"hydra.sweep.dir={tmp_path}/multirun",
        *launcher,
    ]
    proc = run_cmd(args, tmp_path, check=False, PYTHONPATH=str(tmp_path))
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ermlab: error:")]
    assert len(errors) == 2, proc.stderr
    assert all(e.startswith("ermlab: error: KeyError: 'coefficient' (job ") for e in errors)
    assert sorted(e.split(" seed=")[1][0] for e in errors if "buggy=True" in e) == ["0", "1"]
    assert proc.stderr.count("Traceback (most recent call last):") == 2
    assert proc.stderr.count('student_model.py", line 11, in fit') == 2
    assert "Error executing job" not in proc.stderr  # Hydra's end of a sweep
    assert proc.stdout.splitlines()[-1].startswith("sweep report: ")
    report = (tmp_path / "multirun" / "report.md").read_text()
    assert "4 jobs, 2 failed." in report
    assert report.count("| KeyError: 'coefficient' |") == 2
    # The parent and the two jobs that raised FAILED, the other two FINISHED: none RUNNING.
    statuses = sorted(r["status"] for r in runs(tmp_path / "mlflow.db"))
    assert statuses == ["FAILED"] * 3 + ["FINISHED"] * 2
