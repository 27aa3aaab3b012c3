"""Termination signals end a run the way Ctrl-C does.

``timeout``, a job scheduler (SLURM's ``scancel``) and ``docker stop`` send SIGTERM, whose
default action kills the process on the spot: the MLflow run stayed RUNNING forever and the
exit status said nothing. :func:`install` turns SIGTERM (and SIGHUP, a closed terminal, and
Ctrl-C's SIGINT) into :class:`Terminated`, a ``KeyboardInterrupt``, so every
``except KeyboardInterrupt`` and ``finally`` on the way out runs: open runs end KILLED, atomic
writes are discarded. The process then exits with the shell's status for the signal, 128 +
its number (130 for SIGINT, 143 for SIGTERM). SIGKILL cannot be caught:
:func:`ermlab.tracking.reap_stale_runs` marks such runs KILLED the next time the store is
opened.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

CAUGHT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: int | None = None  # the first signal caught, until the process ends
# In a sweep's pool worker (install_in_worker): whether a signal raises now (inside a job).
_worker_in_job: bool | None = None  # None: not a worker, every signal raises


class Terminated(KeyboardInterrupt):
    """A termination signal arrived; ``signum`` is its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    def __reduce__(self):
        # A worker's job sends it back to the sweep's process: rebuilt from the number (the
        # default would pass the name, which signal.Signals does not take).
        return Terminated, (self.signum,)


def _raise_terminated(signum: int, frame) -> None:
    global _received
    first = _received is None
    _received = _received or signum
    if _worker_in_job is not None and not (first and _worker_in_job):
        # A pool worker stops its job once. A second signal (the terminal's Ctrl-C and the
        # sweep's own, both) would cut short the run's ending and leave it RUNNING; between
        # jobs, the worker's loop is no place to raise: the next job's check() does.
        return
    raise Terminated(signum)


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread, and
    remember them for :func:`check` (idempotent). A signal the process was started ignoring
    (``nohup``, a shell's background job) stays ignored."""
    for signum in CAUGHT:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _raise_terminated)
    if not isinstance(sys.unraisablehook, _QuietForSignals):
        sys.unraisablehook = _QuietForSignals(sys.unraisablehook)


def install_in_worker() -> None:
    """:func:`install` for a sweep's pool worker process: a signal raises :class:`Terminated`
    only inside :func:`worker_job`, and only the first; outside a job it is remembered, and
    the next job's :func:`check` raises it. The worker's process lives on, runs no more jobs,
    and ends with its pool."""
    global _worker_in_job
    _worker_in_job = False
    install()


def received() -> int | None:
    """The first signal caught (its number), or None."""
    return _received


def in_worker_job() -> bool:
    """Whether this pool worker is inside :func:`worker_job` (its job's run may be open)."""
    return bool(_worker_in_job)


@contextlib.contextmanager
def worker_job() -> Iterator[None]:
    """One job in a pool worker (see :func:`install_in_worker`): none starts after a signal."""
    global _worker_in_job
    check()
    _worker_in_job = True
    try:
        yield
    finally:
        _worker_in_job = False


@contextlib.contextmanager
def interruptible_children() -> Iterator[None]:
    """Processes started inside this block can be stopped with SIGINT even where this process
    was started ignoring it (``nohup``, a shell's background job): an ignored signal is
    inherited across ``exec``, a handled one is not. submitit stops a local job with SIGINT.
    Main thread only, as every ``signal.signal``."""
    if signal.getsignal(signal.SIGINT) != signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


class _QuietForSignals:
    """Python's hook for exceptions it must drop, silent for :class:`Terminated`: a dropped
    signal is raised again by :func:`check`, and its traceback would only alarm."""

    def __init__(self, hook) -> None:
        self.hook = hook

    def __call__(self, unraisable) -> None:
        if not isinstance(unraisable.exc_value, Terminated):
            self.hook(unraisable)


def check() -> None:
    """Raise :class:`Terminated` again if a signal was caught: Python runs a signal's handler
    wherever the main thread is, and when that is a garbage-collection callback or a
    ``__del__``, the exception is printed ("Exception ignored in ...") and dropped, and the
    run would go on (an endless fit, a sweep's next job). Called where long work can stop:
    between training epochs and before each step and job."""
    if _received is not None:
        raise Terminated(_received)


def interrupt_behind(err: BaseException) -> KeyboardInterrupt | None:
    """The interruption ``err`` stands for: ``err`` itself if it is one; else, once a signal
    was caught, a :class:`Terminated` for it, since an error raised while the handler's
    exception unwinds is that signal in another form (Python wraps an exception raised in a
    ``__set_name__``, as an import's class body calls it, in a RuntimeError; a library may
    turn it into its own error); else None."""
    if isinstance(err, KeyboardInterrupt):
        return err
    return Terminated(_received) if _received is not None else None


def raise_if_interrupted(err: BaseException) -> None:
    """Raise the interruption behind ``err`` (:func:`interrupt_behind`) in its place, where
    it is another error: where user errors are caught, a signal is not reported as one."""
    if (interrupt := interrupt_behind(err)) is not None and interrupt is not err:
        raise interrupt from err


def _signum(interrupt: KeyboardInterrupt) -> int:
    """The signal behind ``interrupt``: its own, else the one caught (a library waiting in C,
    Ray's ``wait``, turns the handler's :class:`Terminated` into a plain KeyboardInterrupt),
    else SIGINT."""
    return getattr(interrupt, "signum", None) or _received or signal.SIGINT


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for Ctrl-C (SIGINT)."""
    return 128 + _signum(interrupt)


def exit_interrupted(prog: str, interrupt: KeyboardInterrupt) -> None:
    """Say in one line which signal stopped ``prog`` and exit with :func:`exit_status`."""
    name = signal.Signals(_signum(interrupt)).name
    print(f"{prog}: interrupted by {name}", file=sys.stderr)
    sys.exit(exit_status(interrupt))
