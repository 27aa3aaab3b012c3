"""Every path ermlab reads or writes, defined once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = PACKAGE_DIR / "data" / "reference"  # copies of data/ shipped with the package


def file_in_the_way(folder: Path) -> Path | None:
    """The file that stops ``folder`` from being made (``folder`` itself, or the nearest of its
    existing ancestors, when it is not a folder), or None: ``mkdir`` would say only "File
    exists" or "Not a directory", without saying which."""
    for path in (folder, *folder.parents):
        if path.exists():
            return None if path.is_dir() else path
    return None


def project_root() -> Path:
    """The project the user works in: ``$ERMLAB_ROOT``, else the nearest folder at or above the
    current directory holding ``conf/config.yaml``, else the source checkout ermlab runs from.

    A DVC stage's command (``$DVC_STAGE`` set) works in the folder DVC runs it in, whatever
    ``$ERMLAB_ROOT`` says: a queued experiment (``dvc exp run --queue``) runs in a copy of the
    workspace, and writing into ``$ERMLAB_ROOT`` instead left the copy without its outputs."""
    if os.environ.get("DVC_STAGE") and (found := nearest_project(Path.cwd())) is not None:
        return found
    if env := os.environ.get("ERMLAB_ROOT"):
        return Path(env).resolve()
    return nearest_project(Path.cwd()) or PACKAGE_DIR.parents[1]


def nearest_project(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``conf/config.yaml``, or None."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "conf" / "config.yaml").is_file():
            return folder
    return None


def cache_dir() -> Path:
    """What ermlab keeps between projects and runs, made again if deleted (the empty MLflow
    store of :mod:`ermlab.store_template`): ``$ERMLAB_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/ermlab``, else ``~/.cache/ermlab``."""
    if env := os.environ.get("ERMLAB_CACHE_DIR"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ermlab"


def conf_dir() -> Path:
    return project_root() / "conf"


def data_dir() -> Path:
    """The DVC-tracked reference datasets (``data/`` + ``data.dvc``)."""
    return project_root() / "data"


def results_dir() -> Path:
    """DVC stage outputs (never under data/: DVC forbids overlapping outputs)."""
    return project_root() / "results"


def dataset_file() -> Path:
    return results_dir() / "data" / "dataset.npz"


def split_files() -> tuple[Path, Path]:
    folder = results_dir() / "split"
    return folder / "train.npz", folder / "test.npz"


def model_file() -> Path:
    return results_dir() / "model" / "model.pkl"


def history_file() -> Path:
    return results_dir() / "model" / "history.csv"


def metrics_file() -> Path:
    return results_dir() / "metrics.json"


def params_file() -> Path:
    return project_root() / "params.yaml"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside ``path`` that replaces it only when the block succeeds, so a
    half-written output never appears under ``path`` (DVC would cache it, a reader would choke)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
