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
import os
import signal
import sys
import threading
from collections.abc import Iterator

CAUGHT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_received: int | None = None  # the first signal caught, until the process ends
_holding = 0  # how many held() blocks the main thread is in
_held: int | None = None  # a signal caught inside them, raised as the outermost one ends
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
    global _received, _held
    first = _received is None
    _received = _received or signum
    if _worker_in_job is not None and not (first and _worker_in_job):
        # A pool worker stops its job once. A second signal (the terminal's Ctrl-C and the
        # sweep's own, both) would cut short the run's ending and leave it RUNNING; between
        # jobs, the worker's loop is no place to raise: the next job's check() does.
        return
    if _holding and first:  # raised as the held block ends; any later signal: now
        _held = signum
        return
    _held = None  # raised now: nothing left for a held block's end to raise again
    raise Terminated(signum)


@contextlib.contextmanager
def held(raise_at_end: bool = True) -> Iterator[None]:
    """A block that the process's first signal does not cut short: caught inside it, it is
    raised as the outermost such block ends (unless the block raised, or ``raise_at_end`` is
    False: then the next :func:`check` raises it). Any later signal raises at once, so a
    block stuck on a server that does not answer still gives way to a second Ctrl-C, even
    while a run is being ended after the first.

    For writes to the MLflow store: a signal inside one left its SQL transaction open, the
    store locked against this very process's next write (the run's end, KILLED), or a run
    created and never ended (``ermlab.tracking``). Main thread only, as signal handlers."""
    global _holding, _held
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are handled in the main thread only: nothing to hold here
        return
    if not _holding:
        _held = None  # a signal raised on the way out of the last block is not raised twice
    _holding += 1
    ended = False
    try:
        yield
        ended = True
    finally:
        _holding -= 1
        signum = _held if not _holding else None
    if ended and signum is not None and raise_at_end:
        raise Terminated(signum)


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread, and
    remember them for :func:`check` (idempotent). A signal the process was started ignoring
    (``nohup``, a shell's background job) stays ignored."""
    global _fork_hook_registered
    for signum in CAUGHT:
        if signal.getsignal(signum) != signal.SIG_IGN:
            signal.signal(signum, _raise_terminated)
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_forked)
        _fork_hook_registered = True
    if not isinstance(sys.unraisablehook, _QuietForSignals):
        sys.unraisablehook = _QuietForSignals(sys.unraisablehook)


_fork_hook_registered = False


_forking_pool_workers = False  # see forking_pool_workers


def _forked() -> None:
    """In a process forked (not exec'd) from one that installed the handlers: no held block
    of the parent's goes on here; and a sweep's pool worker (forked in
    :func:`forking_pool_workers`), before its pool's initializer ran (:func:`install_in_worker`),
    remembers a signal (the sweep's SIGTERM to its workers as one starts) instead of raising it
    inside multiprocessing's start-up, whose traceback it printed."""
    global _worker_in_job, _holding, _held
    _holding, _held = 0, None
    if _forking_pool_workers:
        _worker_in_job = False


@contextlib.contextmanager
def forking_pool_workers() -> Iterator[None]:
    """A block in which every process this one forks is a sweep's pool worker (see
    :func:`_forked`); other forks (a model's data loader) keep the default."""
    global _forking_pool_workers
    _forking_pool_workers = True
    try:
        yield
    finally:
        _forking_pool_workers = False


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
