"""The one progress line of a sweep on a terminal: jobs done, failed, total, elapsed, ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Rewrites one line of ``stream`` (stderr by default) as jobs finish; writes nothing at
    all when the stream is not a terminal (a log file or a pipe gets only the final table)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.reused = 0
        self.reusing = 0.0  # seconds spent on reused jobs (looking up their runs)
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty()
        self.start = self.last_end = time.monotonic()
        self._show()

    def job_done(self, failed: bool = False, reused: bool = False) -> None:
        """One more job ended: ``failed``, or ``reused`` (its FINISHED run found, nothing run)."""
        now = time.monotonic()
        if reused:
            self.reusing += now - self.last_end
        self.last_end = now
        self.done += 1
        self.failed += failed
        self.reused += reused
        self._show()

    def clear(self) -> None:
        """Clear the line until the next job is done, so that lines printed meanwhile (a
        failed job's error) start on their own and are not overwritten."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        """End the line, so what follows starts on its own."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()

    def _show(self) -> None:
        if self.shown:
            self.stream.write(
                "\r"
                + progress_line(
                    self.done, self.failed, self.total, self.elapsed, self.reused, self.reusing
                )
            )
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def progress_line(
    done: int, failed: int, total: int, elapsed: float, reused: int = 0, reusing: float = 0.0
) -> str:
    """``sweep: 12/40 jobs done (8 reused), 1 failed, 3.2 s elapsed, ETA 9.3 s``: the remaining
    jobs at the mean pace of the jobs that ran, their time being ``elapsed`` less the
    ``reusing`` seconds the ``reused`` jobs took (a lookup each: counted as jobs, they made a
    resumed sweep's estimate far too short; their time counted as the others', far too long);
    ``ETA ?`` before the first job that ran finishes."""
    ran = done - reused
    eta = f"{max(elapsed - reusing, 0.0) / ran * (total - done):.1f} s" if ran else "?"
    counted = f"{done}/{total} jobs done" + (f" ({reused} reused)" if reused else "")
    return (
        f"sweep: {counted}, {failed} failed, {elapsed:.1f} s elapsed, ETA {eta}"
        "\x1b[K"  # clear what a longer previous line left
    )
