"""Termination signals end a run the way Ctrl-C does.

``timeout``, a job scheduler (SLURM's ``scancel``) and ``docker stop`` send SIGTERM, whose
default action kills the process on the spot: the MLflow run stayed RUNNING forever and the
exit status said nothing. :func:`install` turns SIGTERM (and SIGHUP, a closed terminal) into
:class:`Terminated`, a ``KeyboardInterrupt``, so every ``except KeyboardInterrupt`` and
``finally`` on the way out runs: open runs end KILLED, atomic writes are discarded. The process
then exits with the shell's status for the signal, 128 + its number (130 for SIGINT, 143 for
SIGTERM). SIGKILL cannot be caught: :func:`ermlab.tracking.reap_stale_runs` marks such runs
KILLED the next time the store is opened.
"""

from __future__ import annotations

import signal
import sys

CAUGHT = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """A termination signal arrived; ``signum`` is its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_terminated(signum: int, frame) -> None:
    raise Terminated(signum)


def install() -> None:
    """Make SIGTERM and SIGHUP raise :class:`Terminated` in the main thread (idempotent)."""
    for signum in CAUGHT:
        signal.signal(signum, _raise_terminated)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number: 143 for SIGTERM, 130 for Ctrl-C (SIGINT)."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def exit_interrupted(prog: str, interrupt: KeyboardInterrupt) -> None:
    """Say in one line which signal stopped ``prog`` and exit with :func:`exit_status`."""
    name = signal.Signals(getattr(interrupt, "signum", signal.SIGINT)).name
    print(f"{prog}: interrupted by {name}", file=sys.stderr)
    sys.exit(exit_status(interrupt))
