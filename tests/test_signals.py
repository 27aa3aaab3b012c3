"""A termination signal that Python drops is raised again where the work can stop.

Python runs a signal's handler wherever the main thread is; when that is a ``__del__`` or a
garbage-collection callback, the handler's exception is dropped and the run goes on (seen
with an endless fit, stopped inside SQLAlchemy's weakref callback). ``signals.check`` raises
it again, and the dropped one prints nothing."""

from __future__ import annotations

import gc
import os
import signal
import sys

import pytest

from ermlab import signals


@pytest.fixture
def restored():
    """The process's signal handlers and unraisable hook, put back after the test."""
    handlers = {s: signal.getsignal(s) for s in signals.CAUGHT}
    hook = sys.unraisablehook
    yield
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
    sys.unraisablehook = hook
    signals._received = None
    signals._held, signals._holding = None, 0


@pytest.fixture
def installed(restored):
    signals.install()


class _DiesDuringTheSignal:
    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # its handler runs here, inside __del__


def test_a_signal_dropped_in_a_finaliser_is_raised_again_silently(installed, capfd):
    _DiesDuringTheSignal()  # collected at once: the handler's Terminated is dropped
    gc.collect()
    assert "Exception ignored" not in capfd.readouterr().err
    with pytest.raises(signals.Terminated) as raised:
        signals.check()
    assert raised.value.signum == signal.SIGTERM
    assert signals.exit_status(raised.value) == 143


def test_no_signal_no_raise(installed):
    signals.check()


def test_a_signal_ignored_at_start_stays_ignored(restored):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    signals.install()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) is signals._raise_terminated


def test_terminated_crosses_a_process_boundary_with_its_signal():
    """A worker's job sends Terminated back to the sweep's process by pickle."""
    import pickle

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        back = pickle.loads(pickle.dumps(signals.Terminated(signum)))
        assert isinstance(back, signals.Terminated) and back.signum == signum
        assert str(back) == signal.Signals(signum).name


@pytest.fixture
def worker(restored):
    """This process as a sweep's pool worker (see signals.install_in_worker)."""
    signals.install_in_worker()
    yield
    signals._worker_in_job = None


def test_a_worker_stops_its_job_once_and_starts_no_other(worker):
    with pytest.raises(signals.Terminated), signals.worker_job():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0)  # the handler runs here, at the latest
    # A second signal, while the job's run is ending, must not cut that short.
    os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(signals.Terminated) as caught, signals.worker_job():
        raise AssertionError("a job started after the signal")
    assert caught.value.signum == signal.SIGTERM


def test_a_signal_between_a_workers_jobs_stops_the_next_one_before_it_starts(worker):
    os.kill(os.getpid(), signal.SIGTERM)  # the worker waits for a job: nothing raises here
    with pytest.raises(signals.Terminated), signals.worker_job():
        raise AssertionError("a job started after the signal")


class _SignalledWhenNamed:
    def __set_name__(self, owner, name) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # its handler raises here: Python wraps it


def test_a_signal_that_python_wraps_in_another_error_still_ends_the_run_killed(installed, tmp_path):
    """SIGTERM arriving while a class body is made (an import, matplotlib's, mid-evaluate):
    Python turns the handler's Terminated into "RuntimeError: Error calling __set_name__".
    The run still ends KILLED, and the interruption, not a user error, is what comes out."""
    import sqlite3

    from ermlab.config import TrackingConfig
    from ermlab.tracking import tracked_run

    tracking = TrackingConfig(uri=f"sqlite:///{tmp_path}/mlflow.db", experiment="t")
    with pytest.raises(signals.Terminated) as raised, tracked_run(tracking, "run"):
        type("Plot", (), {"tick": _SignalledWhenNamed()})
    assert raised.value.signum == signal.SIGTERM
    assert isinstance(raised.value.__cause__, RuntimeError)  # what Python made of it
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        assert list(db.execute("select status from runs")) == [("KILLED",)]


def test_a_user_error_with_no_signal_caught_stays_a_user_error(restored):
    signals._received = None
    signals._held, signals._holding = None, 0
    err = ValueError("data.n_train=0 is not allowed")
    assert signals.interrupt_behind(err) is None
    signals.raise_if_interrupted(err)  # nothing raised
    interrupt = KeyboardInterrupt()
    assert signals.interrupt_behind(interrupt) is interrupt


def _signalled(signum: int = signal.SIGTERM) -> None:
    """Send ``signum`` to this process and let its handler run before returning."""
    os.kill(os.getpid(), signum)
    signal.sigtimedwait([], 0)  # the handler runs here, at the latest


def test_a_signal_inside_a_held_block_is_raised_as_the_block_ends(installed):
    done = []
    with pytest.raises(signals.Terminated) as raised:
        with signals.held():
            with signals.held():  # nested: the outermost block's end raises
                _signalled()
            done.append("inner")
        done.append("outer")  # not reached
    assert done == ["inner"] and raised.value.signum == signal.SIGTERM


def test_a_second_signal_inside_a_held_block_raises_at_once(installed):
    with pytest.raises(signals.Terminated) as raised, signals.held():
        _signalled(signal.SIGINT)
        _signalled(signal.SIGTERM)  # a store that never answers: the second Ctrl-C gets out
        raise AssertionError("the second signal did not raise")
    assert raised.value.signum == signal.SIGTERM


def test_a_held_signal_left_for_check_and_a_blocks_own_error_go_first(installed):
    with signals.held(raise_at_end=False):
        _signalled()
    with pytest.raises(ValueError), signals.held():
        raise ValueError("the block's own error")
    with pytest.raises(signals.Terminated):
        signals.check()


def test_a_signal_as_a_run_is_created_ends_that_run_killed(installed, tmp_path, monkeypatch):
    """The signal lands once MLflow has written the new run: before, the run was left
    RUNNING (seen with Ctrl-C on sweeps, most often with 2 workers waiting for SQLite)."""
    import sqlite3

    from mlflow.tracking import MlflowClient

    from ermlab.config import TrackingConfig
    from ermlab.tracking import tracked_run

    create_run = MlflowClient.create_run

    def created_then_signalled(self, *args, **kwargs):
        run = create_run(self, *args, **kwargs)
        _signalled()
        return run

    monkeypatch.setattr(MlflowClient, "create_run", created_then_signalled)
    tracking = TrackingConfig(uri=f"sqlite:///{tmp_path}/mlflow.db", experiment="t")
    with pytest.raises(signals.Terminated), tracked_run(tracking, "run"):
        raise AssertionError("the run's work started after the signal")
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        assert list(db.execute("select status from runs")) == [("KILLED",)]


def _forked_child_status(remembers: bool) -> int:
    """Fork; in the child, signal it: 0 if it remembers the signal without raising it
    (``remembers``) or raises it at once (not ``remembers``), as its exit status."""
    pid = os.fork()
    if pid == 0:  # the child: any failure shows as its exit status
        status = 1
        try:
            _signalled()
            status = 0 if remembers and signals.received() == signal.SIGTERM else 2
            signals.check()
            status = 3  # check did not raise
        except signals.Terminated:
            status = 0 if remembers or status == 1 else 5
        except BaseException:
            status = 4
        os._exit(status)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_process_forked_as_a_pool_worker_remembers_a_signal_without_raising(installed):
    """A pool worker is forked from the sweep: the sweep's SIGTERM can reach it before its
    pool's initializer makes it a worker; raised there, inside multiprocessing's start-up,
    it printed a traceback. Remembered, it stops the worker's first job before it starts.
    Forked in a held block, the child holds nothing: the parent's block does not go on there."""
    with signals.forking_pool_workers(), signals.held():
        assert _forked_child_status(remembers=True) == 0
    # Any other fork (a model's data loader) is left as it was: the signal raises at once.
    assert _forked_child_status(remembers=False) == 0


def test_a_later_signal_gets_out_of_the_held_end_of_a_run_at_once(installed):
    """After the first Ctrl-C, the run ends KILLED in a held block; a store that hangs there
    gives way to the second Ctrl-C, not only to a third."""
    with pytest.raises(signals.Terminated):
        _signalled(signal.SIGINT)  # the first: raised where it lands
    with pytest.raises(signals.Terminated), signals.held():  # the run's end, KILLED
        _signalled(signal.SIGINT)
        raise AssertionError("the second Ctrl-C waited for the held block")


def test_the_signal_safe_client_copies_and_pickles_as_the_client_it_wraps():
    import copy
    import pickle

    from ermlab.tracking import SignalSafeClient

    wrapped = SignalSafeClient({"tracking_uri": "sqlite:///x.db"})
    for twin in (copy.copy(wrapped), pickle.loads(pickle.dumps(wrapped))):
        assert isinstance(twin, SignalSafeClient) and twin.get("tracking_uri") == "sqlite:///x.db"
