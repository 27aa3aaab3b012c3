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
        self.stream = stream or sys.stderr
        self.shown = self.stream.isatty()
        self.start = time.monotonic()
        self._show()

    def job_done(self, failed: bool = False) -> None:
        self.done += 1
        self.failed += failed
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
                "\r" + progress_line(self.done, self.failed, self.total, self.elapsed)
            )
            self.stream.flush()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def progress_line(done: int, failed: int, total: int, elapsed: float) -> str:
    """``sweep: 12/40 jobs done, 1 failed, 3.2 s elapsed, ETA 9.3 s``: the remaining jobs at
    the mean pace so far (``ETA ?`` before the first one finishes)."""
    eta = f"{elapsed / done * (total - done):.1f} s" if done else "?"
    return (
        f"sweep: {done}/{total} jobs done, {failed} failed, {elapsed:.1f} s elapsed, ETA {eta}"
        "\x1b[K"  # clear what a longer previous line left
    )
