"""The output folder of one ``ermlab`` run: said at the end when the run worked, removed when
it did not.

Hydra creates ``outputs/<date>/<time>/`` (with ``.hydra/`` and a log) before the job starts, so
a run refused at run time (a classifier asked of regression data, a missing file) or stopped by
a signal used to leave a folder holding nothing but Hydra's bookkeeping.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def entries_before(out_dir: Path, job_name: str) -> set[str]:
    """What ``out_dir`` held before the job started, Hydra's own ``.hydra/`` and
    ``<job_name>.log`` left out (a folder given with hydra.run.dir may hold the user's files)."""
    present = {p.name for p in out_dir.iterdir()} if out_dir.is_dir() else set()
    return present - {".hydra", f"{job_name}.log"}


def discard(out_dir: Path, keep: set[str], stop_at: Path) -> None:
    """Remove what a failed run wrote into ``out_dir`` (every entry not in ``keep``, see
    :func:`entries_before`), then ``out_dir`` if empty, and its parents up to, not including,
    ``stop_at`` while they are empty (``outputs/<date>/`` goes with the day's last run)."""
    if not out_dir.is_dir():
        return
    for path in out_dir.iterdir():
        if path.name in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    folder, stop = out_dir.resolve(), stop_at.resolve()
    if not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
        while folder != stop and folder.is_relative_to(stop) and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def announce(out_dir: Path, run_link: str | None) -> None:
    """The last lines of a run that worked: where its outputs are and which MLflow run holds
    it (``run_link``: the run id, with the UI address when a server is used)."""
    print(f"\noutputs: {out_dir}", file=sys.stdout)
    if run_link:
        print(f"MLflow run: {run_link}", file=sys.stdout)
