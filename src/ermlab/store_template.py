"""A new SQLite MLflow store, copied from an empty one made once per MLflow version.

MLflow makes a new SQLite store by creating its first tables and running every migration
since (69 in MLflow 3.17): 1 to 4 seconds here, paid by a project's first run, by every sweep
into a new store, and by every test that makes one. The result is the same empty database
each time, so ermlab makes it once per MLflow version, in its cache folder
(:func:`ermlab.paths.cache_dir`), and copies it: a few milliseconds. MLflow then opens the
copy as any existing store: it checks that the schema is at its own head revision and adds
its ``Default`` experiment, with this store's own artifact location.

Anything that goes wrong here (a cache folder that cannot be written, an MLflow whose private
set-up function moved) leaves the store to MLflow, which creates it the slow way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


def new_store_from_template(path: Path) -> bool:
    """Make the SQLite store ``path``, which must not exist yet, a copy of the empty store of
    this MLflow version (made first if it is not in the cache). Returns whether it did; on
    False nothing was written at ``path``. Call it under the store's creation lock
    (:func:`ermlab.tracking.client_for` does), so that no other process opens ``path`` half
    copied; the copy also appears at ``path`` only once it is whole."""
    try:
        template = _template()
    except Exception:  # the slow way still works: MLflow's own
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        shutil.copyfile(template, partial)
        os.replace(partial, path)
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return True


def _template() -> Path:
    """The empty store of this MLflow version in the cache folder, made now if missing: its
    tables, migrated to MLflow's head revision, and nothing in them."""
    import mlflow

    from ermlab.paths import cache_dir

    template = cache_dir() / f"mlflow-{mlflow.__version__}-empty-store.db"
    if template.is_file():
        return template
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables

    template.parent.mkdir(parents=True, exist_ok=True)
    partial = template.with_name(f".{template.name}.{os.getpid()}.partial")
    try:
        engine = sqlalchemy.create_engine(f"sqlite:///{partial}")
        try:
            _initialize_tables(engine)
        finally:
            engine.dispose()
        os.replace(partial, template)  # whole or not at all, whoever made it first
    finally:
        with contextlib.suppress(OSError):
            partial.unlink()
    return template
