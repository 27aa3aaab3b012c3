"""The only module that talks to MLflow.

One MLflow run per pipeline execution: params are the flattened resolved config, metrics are
named ``risk/<split>/<loss>``, the training curve is logged as step metrics, and the resolved
config, the plots and the fitted model are artifacts. Tags carry the git commit and the DVC
experiment name. A run that raises is marked FAILED, never left RUNNING.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ermlab.paths import nearest_project, project_root

MAX_PARAMS_PER_BATCH = 100  # MLflow's limits for one log_batch call: params, and tags, each
MAX_ENTITIES_PER_BATCH = 1000  # params, tags and metrics together
MAX_PARAM_LENGTH = 6000
MODEL_EXAMPLE_ROWS = 5  # training rows kept as the logged model's input example
# The MLflow 3 UI opens an experiment with this tag in its model-training view, not the GenAI one
# (the tag and value its experiment page reads, mlflow.experimentKind in MLflow 3.17's UI code).
EXPERIMENT_KIND_TAGS = {"mlflow.experimentKind": "custom_model_development"}
CONFIG_HASH_TAG = "config_hash"  # what a resumed sweep looks up (see config_hash)
# Where a run's process lives, so that one killed without a word (SIGKILL, power loss) can be
# told from one still running: see reap_stale_runs.
HOST_TAG, PID_TAG, REAPED_TAG = "ermlab.host", "ermlab.pid", "ermlab.reaped"
# How long a writer waits for another one's lock before failing: MLflow sets 20 s on every
# session it opens (PRAGMA busy_timeout), over whatever the URI asks, so that is the wait.
SQLITE_BUSY_TIMEOUT_S = 20
# A FAILED run's reason, the one line ermlab printed (the MLflow UI shows it among the tags).
ERROR_TAG = "ermlab.error"
MAX_TAG_LENGTH = 8000  # MLflow's limit on a tag's value


def store_root() -> Path:
    """Where a relative store lives: the project root, or, inside a copy DVC made for
    ``dvc exp run --temp``/``--queue`` (``<project>/.dvc/tmp/exps/...``), the project that
    holds it, so the run is not deleted with the copy."""
    root = project_root()
    if ".dvc" in root.parts:
        holder = Path(*root.parts[: root.parts.index(".dvc")])
        # A study's copy is in pipelines/<study>/.dvc/...: the project is the one above it.
        return nearest_project(holder) or holder
    return root


SQLITE = "sqlite:///"  # a local store's URI: SQLITE + its file's path (absolute: one more /)


def resolve_uri(uri: str) -> str:
    """A relative ``sqlite:///file.db`` is taken relative to :func:`store_root`, not the current
    directory, so every entry point writes to the same store."""
    if uri.startswith(SQLITE) and not uri[len(SQLITE) :].startswith("/"):
        return SQLITE + str(store_root() / uri[len(SQLITE) :])
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a SQLite store's (resolved) ``uri``, its query string
    (``?timeout=20``) left out; None for any other store."""
    return Path(uri[len(SQLITE) :].split("?")[0]) if uri.startswith(SQLITE) else None


def config_hash(config: dict[str, Any]) -> str:
    """The identity of what a run computes: a SHA-256 (first 16 hex digits) of the resolved
    config as canonical JSON, seed included. The ``tracking`` section is left out: where a run
    is recorded does not change what it computed. A data file the config reads (``data.path``)
    counts by its contents, under :data:`DATA_FILE_KEY`: the same path holding other data is
    another config."""
    content = {key: value for key, value in config.items() if key != "tracking"}
    data = content.get("data")
    if isinstance(data, dict) and data.get("path"):
        from ermlab.data.real import file_digest

        content[DATA_FILE_KEY] = file_digest(data["path"])
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


DATA_FILE_KEY = "data_file_sha256"  # in what config_hash hashes: the data file's contents


CODE_HASH_TAG = "code_hash"  # with CONFIG_HASH_TAG, what a resumed sweep looks up
# The libraries whose versions can change a run's numbers (a solver's default, a sampler, a
# CSV reader).
NUMERIC_LIBRARIES = ("numpy", "scipy", "scikit-learn", "torch", "pandas")
CODE_FILES = ("**/*.py", "data/reference/**/*")  # of the package: its code and bundled data


@functools.cache
def code_hash() -> str:
    """The identity of the code that computes a run: a SHA-256 (first 16 hex digits) of the
    package's :data:`CODE_FILES` (by path and contents, as this process runs them: a commit,
    an edit not committed, an install; an editor's swap or backup file, a dotfile, bytecode
    are not code) and of the versions of Python and :data:`NUMERIC_LIBRARIES`. A resumed
    sweep reuses a run of the same config and the same code only: the runs of the code
    before a bug fix are not the fix's numbers. Once a process (tens of ms: the files are
    read, not imported)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    files = {path for pattern in CODE_FILES for path in package.glob(pattern)}
    for path in sorted(files):
        relative = path.relative_to(package)
        if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        with suppress(FileNotFoundError, IsADirectoryError):  # gone, or a folder: no code
            content = path.read_bytes()
            digest.update(relative.as_posix().encode() + b"\0" + content + b"\0")
    digest.update(f"python=={platform.python_version()}\0".encode())
    for name in NUMERIC_LIBRARIES:
        with suppress(PackageNotFoundError):
            digest.update(f"{name}=={version(name)}\0".encode())
    return digest.hexdigest()[:16]


def config_tags(config: dict[str, Any]) -> dict[str, str]:
    """The tags that identify what a run computes: its resolved ``config``
    (:data:`CONFIG_HASH_TAG`: its :func:`config_hash`) and the code that computes it
    (:data:`CODE_HASH_TAG`: :func:`code_hash`), for :func:`open_run`'s ``extra_tags`` or
    :meth:`Recorder.log_config`."""
    return {CONFIG_HASH_TAG: config_hash(config), CODE_HASH_TAG: code_hash()}


@functools.cache
def concurrent_sqlite(uri: str) -> str:
    """A SQLite store that several processes write at once (a parallel sweep): the database
    is switched to write-ahead logging, so readers never block the writer, and the returned
    URI makes each connection wait up to :data:`SQLITE_BUSY_TIMEOUT_S` for another writer's
    lock instead of failing with "database is locked" (the remedies SQLite and MLflow
    recommend); its connections sync to disk at checkpoints only (see
    :func:`_sync_at_checkpoints`). Other URIs are returned unchanged. Once per store and
    process: the journal mode is stored in the database file."""
    if (path := sqlite_path(uri)) is None or "?" in uri:
        return uri
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S) as db:
        db.execute("PRAGMA journal_mode=WAL")  # persistent: stored in the database file
    _sync_at_checkpoints(path)
    return f"{uri}?timeout={SQLITE_BUSY_TIMEOUT_S}"


_CHECKPOINT_SYNCED: set[str] = set()  # ermlab's WAL stores opened by this process


def _sync_at_checkpoints(path: Path) -> None:
    """Every connection SQLAlchemy opens in this process to the WAL store at ``path`` syncs
    to disk at checkpoints, not at every commit (``PRAGMA synchronous=NORMAL``, what SQLite
    advises with WAL): a run makes about eight commits, and a sync each costs more than the
    commit where the disk is busy. The store stays consistent whatever happens; a power cut
    may lose the last commits before it (a resumed sweep reruns those jobs). The setting
    belongs to a connection, so it is made as each one opens; other databases (a user's own,
    in this process) keep SQLite's default."""
    _CHECKPOINT_SYNCED.update({str(path.absolute()), str(path.resolve())})
    _listen_for_sqlite_connections()


@functools.cache
def _listen_for_sqlite_connections() -> None:
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _on_connect(connection, _record) -> None:
        if isinstance(connection, sqlite3.Connection):
            main = connection.execute("PRAGMA database_list").fetchone()  # (0, "main", file)
            if main is not None and main[2] in _CHECKPOINT_SYNCED:
                connection.execute("PRAGMA synchronous=NORMAL")


def check_reachable(tracking, timeout: float = 3.0) -> None:
    """Fail in one line, before any work, when tracking goes to a server that does not answer
    (MLflow itself would retry for minutes and end in a long traceback)."""
    if not tracking.enabled or not tracking.uri.startswith(("http://", "https://")):
        return
    import urllib.request

    try:
        with urllib.request.urlopen(f"{tracking.uri.rstrip('/')}/health", timeout=timeout):
            return
    except OSError as err:
        raise ConnectionError(
            f"no MLflow tracking server answers at tracking.uri={tracking.uri} ({err}): start "
            "one (make server, or make server PORT=N) or use tracking=local"
        ) from None


def artifact_root(uri: str) -> str | None:
    """Artifacts of a local store go to ``mlartifacts/`` beside the database file."""
    if (path := sqlite_path(uri)) is not None:
        return (path.parent / "mlartifacts").as_uri()
    return None


def git_commit() -> str | None:
    """The commit of the project checkout, or None outside git (asked once per project root
    and process: a sweep's jobs all run the same code)."""
    return _git_commit_of(project_root())


@functools.cache
def _git_commit_of(root: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class Recorder:
    """Writes to one MLflow run through an ``MlflowClient`` (no global fluent-API state)."""

    def __init__(
        self,
        client,
        run_id: str,
        experiment_id: str | None = None,
        artifact_uri: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self._experiment_id = experiment_id
        self._artifact_uri = artifact_uri
        self._artifact_repository = None
        self._tags = dict(tags or {})  # the tags the run was created with
        self._pending_params: list = []  # deferred by log_params(defer=True)
        self._pending_tags: list = []
        self._staged: tempfile.TemporaryDirectory | None = None  # deferred, for a remote store

    def log_params(
        self, params: dict[str, Any], tags: list | None = None, defer: bool = False
    ) -> None:
        """Params (and ``tags``, ``mlflow.entities.RunTag``, in the same batches); with
        ``defer`` they are written with the next metrics, or when the run ends."""
        from mlflow.entities import Param

        self._pending_params += [
            Param(k, str(v)[:MAX_PARAM_LENGTH]) for k, v in sorted(params.items())
        ]
        self._pending_tags += list(tags or [])
        if not defer:
            self._write_batches([])

    def log_config(self, config: dict[str, Any], defer: bool = False) -> None:
        """The resolved config: flattened as params, whole as ``config.yaml``, and its
        :func:`config_hash` as the tag :data:`CONFIG_HASH_TAG` (unless the run was created with
        it: :func:`config_tags`). With ``defer``, params and tag go with the risks in one
        request and ``config.yaml`` with the run's other deferred artifacts (a sweep's job:
        fewer MLflow writes)."""
        import yaml
        from mlflow.entities import RunTag

        from ermlab.config import flatten

        tags = [RunTag(k, v) for k, v in config_tags(config).items() if self._tags.get(k) != v]
        self.log_params(flatten(config), tags, defer=defer)
        text = yaml.dump(config, Dumper=_yaml_dumper(), sort_keys=False)
        self.log_text(text, "config.yaml", defer=defer)

    def log_metrics(
        self, metrics: dict[str, float], step: int = 0, model_id: str | None = None
    ) -> None:
        """Log ``metrics`` at ``step``; with ``model_id`` they are also that logged model's."""
        from mlflow.entities import Metric

        now = _now_ms()
        self._write_batches(
            [Metric(k, float(v), now, step, model_id=model_id) for k, v in sorted(metrics.items())]
        )

    def log_history(self, history: dict[str, list[float]]) -> None:
        """Loss per epoch as step metrics ``train/loss`` and ``val/loss`` (NaN epochs skipped)."""
        from mlflow.entities import Metric

        now = _now_ms()
        rows = []
        for key, name in (("train_loss", "train/loss"), ("val_loss", "val/loss")):
            for epoch, value in zip(history.get("epoch", []), history.get(key, []), strict=False):
                if value == value and abs(value) != float("inf"):
                    rows.append(Metric(name, float(value), now, int(epoch)))
        if rows:
            self._write_batches(rows)

    def _write_batches(self, metrics: list) -> None:
        """``metrics`` and the pending params and tags, in as few ``log_batch`` requests as
        MLflow's limits allow (one, for a run of ermlab's size)."""
        params, tags = self._pending_params, self._pending_tags
        self._pending_params, self._pending_tags = [], []
        while True:
            batch_params, params = params[:MAX_PARAMS_PER_BATCH], params[MAX_PARAMS_PER_BATCH:]
            batch_tags, tags = tags[:MAX_PARAMS_PER_BATCH], tags[MAX_PARAMS_PER_BATCH:]
            room = MAX_ENTITIES_PER_BATCH - len(batch_params) - len(batch_tags)
            batch_metrics, metrics = metrics[:room], metrics[room:]
            self.client.log_batch(
                self.run_id, metrics=batch_metrics, params=batch_params, tags=batch_tags
            )
            if not (params or tags or metrics):
                return

    def log_artifact(self, path: Path, folder: str | None = None) -> None:
        """Copy the file at ``path`` into the run's artifacts (under ``folder``)."""
        self._artifacts().log_artifact(str(path), folder)

    def log_text(self, text: str, name: str, defer: bool = False) -> None:
        """``text`` as the run's artifact ``name`` (``folder/file.txt``); with ``defer``, see
        :meth:`artifact_file`."""
        with self.artifact_file(name, defer) as path:
            path.write_text(text, encoding="utf-8")

    @contextmanager
    def artifact_file(self, name: str, defer: bool = False) -> Iterator[Path]:
        """A path to write the run's artifact ``name`` (``folder/file``) to in the block; the
        file is logged when the block ends. With ``defer`` it is logged when the run ends, in
        one ``log_artifacts`` with the run's other deferred files (a sweep's job has four small
        files: one upload instead of four), or, when the run's artifacts are a local folder,
        written straight into it (replacing nothing until the block succeeds: nothing to copy
        when the run ends). A block that raises logs nothing."""
        if defer:
            from ermlab.paths import atomic_path

            with atomic_path(self._deferred_folder() / name) as path:
                yield path
            return
        folder, _, file_name = name.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / file_name
            yield path
            self.log_artifact(path, folder or None)

    def _deferred_folder(self) -> Path:
        """Where deferred files are written: the run's own artifact folder when the store keeps
        artifacts in a local folder, else a staging folder that :meth:`finish` uploads."""
        from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

        repository = self._artifacts()
        if isinstance(repository, LocalArtifactRepository):
            return Path(repository.artifact_dir)
        if self._staged is None:
            self._staged = tempfile.TemporaryDirectory(prefix="ermlab-artifacts-")
        return Path(self._staged.name)

    def _artifacts(self):
        """The run's artifact repository, made once from the artifact URI its creation
        returned (``MlflowClient.log_artifact`` would look the run up again for every file)."""
        if self._artifact_repository is None:
            uri = self._artifact_uri or self.client.get_run(self.run_id).info.artifact_uri
            self._artifact_repository = artifact_repository(self.client, uri)
        return self._artifact_repository

    def log_model(self, estimator, X_train) -> str:
        """The fitted estimator as an MLflow 3 logged model of this run, named ``model``; returns
        its id (metrics logged with it are the model's risks).

        Its signature and input example come from the first rows of ``X_train``, shape
        ``(n, p)``; it loads with ``mlflow.sklearn.load_model`` or ``mlflow.pyfunc.load_model``
        from ``models:/<id>`` or ``runs:/<run id>/model``. Built from client calls, not
        ``mlflow.sklearn.log_model``, which would go through the fluent API's global tracking
        URI and load the model back to validate its input example (a cost every sweep job pays).
        """
        import logging

        import mlflow.sklearn
        import numpy as np
        from mlflow.entities import LoggedModelOutput, LoggedModelStatus
        from mlflow.models import Model, infer_signature

        # MLflow warns on every pickle-format save; ermlab's models are the user's own code.
        logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
        example = np.asarray(X_train[:MODEL_EXAMPLE_ROWS], dtype=float)
        signature = infer_signature(example, estimator.predict(example))
        model = self.client.create_logged_model(
            self.experiment_id(), name="model", source_run_id=self.run_id, model_type="sklearn"
        )
        try:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp) / "model"
                # Explicit requirements: inferring them imports and inspects the whole environment.
                mlflow.sklearn.save_model(
                    estimator,
                    str(folder),
                    mlflow_model=Model(
                        artifact_path=model.artifact_location,
                        run_id=self.run_id,
                        model_id=model.model_id,
                    ),
                    serialization_format="cloudpickle",
                    signature=signature,
                    input_example=example,
                    pip_requirements=["ermlab", "scikit-learn", "cloudpickle"],
                )
                # The model's folder is known: no lookup of the model (log_model_artifacts').
                artifact_repository(self.client, model.artifact_location).log_artifacts(str(folder))
        except BaseException:
            self.client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
            raise
        self.client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
        self.client.log_outputs(self.run_id, [LoggedModelOutput(model.model_id, step=0)])
        return model.model_id

    def experiment_id(self) -> str:
        """The id of the experiment this run belongs to (asked once)."""
        if self._experiment_id is None:
            self._experiment_id = self.client.get_run(self.run_id).info.experiment_id
        return self._experiment_id

    def finish(self, status: str = "FINISHED") -> None:
        """End the run as FINISHED, FAILED or KILLED, deferred params and files written first
        (a run that failed says what it was).

        If they cannot all be written, the run still ends: FAILED instead of FINISHED, and the
        error propagates; a run ending FAILED or KILLED keeps that status and its own error
        (the one already propagating), the write's error only printed. Ctrl-C or SIGTERM while
        they are written is held until the run has ended, then raised (the run ends with
        ``status``: its work is done); a second one raises at once, and the run ends KILLED."""
        from ermlab import signals

        with signals.held():
            self._finish(status)

    def _finish(self, status: str) -> None:
        try:
            self._write_deferred()
        except BaseException as err:
            interrupted = isinstance(err, KeyboardInterrupt)
            ending = "KILLED" if interrupted else "FAILED" if status == "FINISHED" else status
            with suppress(Exception):
                self.client.set_terminated(self.run_id, ending)
            if interrupted or status == "FINISHED":
                raise
            print(
                f"ermlab: warning: run {self.run_id} ended {status} without some of its "
                f"deferred params or files: {' '.join(str(err).split())}",
                file=sys.stderr,
            )
            return
        self.client.set_terminated(self.run_id, status)

    def _write_deferred(self) -> None:
        """Write the deferred params and tags, then upload the deferred files (both tried; the
        first error raised) and remove their staging folder, whatever happens."""
        staged, self._staged = self._staged, None
        errors: list[Exception] = []
        try:
            if self._pending_params or self._pending_tags:
                try:
                    self._write_batches([])
                except Exception as err:
                    errors.append(err)
            if staged is not None:
                try:
                    self._artifacts().log_artifacts(staged.name)
                except Exception as err:
                    errors.append(err)
        finally:
            if staged is not None:
                staged.cleanup()
        if errors:
            raise errors[0]

    def discard_deferred(self) -> None:
        """Drop what was deferred and not written yet (the store is gone: nothing more can be
        written); files already in a local artifact folder stay there."""
        self._pending_params, self._pending_tags = [], []
        staged, self._staged = self._staged, None
        if staged is not None:
            staged.cleanup()


@functools.cache
def _yaml_dumper() -> type:
    """PyYAML's safe dumper, with libyaml's emitter where PyYAML has it (the same YAML)."""
    import yaml

    return getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def artifact_repository(client, artifact_uri: str):
    """MLflow's artifact repository at ``artifact_uri`` (a run's or a logged model's), reached
    through ``client``'s tracking server where the store serves artifacts."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(artifact_uri, tracking_uri=client.tracking_uri)


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


# MLflow retries a request to a server 7 times with exponential backoff: a job whose server went
# away would wait some 4 minutes before failing. 3 retries (about 15 s) ride out a restart.
SERVER_REQUEST_RETRIES = 3


def lost_server(err: BaseException, tracking) -> ConnectionError | None:
    """The one-line error for an MLflow request that failed because the tracking server stopped
    answering (after its retries), or because another process held the SQLite store's lock
    for longer than a writer waits (:data:`SQLITE_BUSY_TIMEOUT_S`); None for any other
    error."""
    if type(err).__name__ != "MlflowException":
        return None
    # MLflow's words for a request that never got an answer (refused, reset, cut off mid-reply).
    if "API request to " in str(err) and " failed with exception " in str(err):
        return ConnectionError(
            f"the MLflow tracking server at tracking.uri={tracking.uri} stopped answering: the "
            "run is lost; start the server again and rerun (a sweep reuses its finished jobs)"
        )
    if "database is locked" in str(err):
        return ConnectionError(
            f"the MLflow store at tracking.uri={tracking.uri} was locked by another process "
            f"(database is locked; a writer waits up to {SQLITE_BUSY_TIMEOUT_S} s): the run is "
            "lost; rerun once that process is done with it (a sweep reuses its finished jobs)"
        )
    return None


@contextmanager
def lost_server_in_one_line(tracking) -> Iterator[None]:
    """Raise :func:`lost_server`'s one-line error in place of MLflow's when the body's request
    to the tracking server got no answer; any other error passes unchanged."""
    try:
        yield
    except Exception as err:
        if (lost := lost_server(err, tracking)) is not None:
            raise lost from None
        raise


def search_all_runs(
    client, experiment_ids: list[str], filter_string: str = "", order_by: list[str] | None = None
) -> list:
    """Every run of ``experiment_ids`` matching ``filter_string``, page after page (MLflow
    returns at most 1,000 runs a request)."""
    runs, token = [], None
    while True:
        page = client.search_runs(
            experiment_ids, filter_string, max_results=1000, order_by=order_by, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def quiet_mlflow() -> None:
    """Turn off MLflow's own console output, unless the user set it: a progress bar for each
    artifact download (a resumed sweep's report reads one a reused run) and a "View run at"
    line for each run ended on a server. A sweep of 100 jobs printed hundreds of lines, piped
    or not; ermlab names its runs in its own lines. Also its two INFO lines as it creates a
    new SQLite store ("Creating initial MLflow database tables...", "Updating database
    tables"): a first run's output is the risks; its warnings and errors still show."""
    import logging

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    store_setup = logging.getLogger("mlflow.store.db.utils")
    if store_setup.level == logging.NOTSET:  # unless the user set it
        store_setup.setLevel(logging.WARNING)
    if _not_a_caught_database_error not in store_setup.filters:
        store_setup.addFilter(_not_a_caught_database_error)


def _not_a_caught_database_error(record) -> bool:
    """MLflow logs a database error with its whole traceback (90 lines for a locked SQLite
    store), then raises it again, and ermlab says it in one line: the log record is dropped."""
    return not str(record.msg).startswith("SQLAlchemy database error.")


def client_for(tracking) -> tuple[Any, str]:
    """An MlflowClient for the ``tracking`` config and the id of its experiment (created if new)."""
    from mlflow.tracking import MlflowClient

    check_reachable(tracking)
    quiet_mlflow()
    uri = resolve_uri(tracking.uri)
    if uri.startswith(("http://", "https://")):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(SERVER_REQUEST_RETRIES))
    with _store_lock(uri):
        client = SignalSafeClient(MlflowClient(tracking_uri=concurrent_sqlite(uri)))
    if uri not in _reaped_stores():
        _reaped_stores().add(uri)
        reap_stale_runs(client)
    return client, _experiment_id(client, uri, tracking.experiment)


class SignalSafeClient:
    """An ``MlflowClient`` whose every call ends before a Ctrl-C or SIGTERM is raised
    (:func:`ermlab.signals.held`). Raised inside a call, the signal left MLflow's SQL
    transaction open (SQLite then refused this process's own next write, the run's end
    KILLED, as "database is locked"), or a run created and never ended. Anything else is the
    client's own."""

    def __init__(self, client) -> None:
        self._client = client

    def __reduce__(self):  # copy and pickle the client it wraps (see __getattr__)
        return SignalSafeClient, (self._client,)

    def __getattr__(self, name: str) -> Any:
        if name == "_client" or name.startswith("__"):
            # Not set yet (an instance being unpickled), or Python's own protocol: asking the
            # client would ask this again, for ever.
            raise AttributeError(name)
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        @functools.wraps(attribute)
        def call(*args, **kwargs):
            from ermlab import signals

            with signals.held():
                return attribute(*args, **kwargs)

        return call


@contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """While this process first opens the SQLite store ``uri``, no other process does: MLflow
    creates a new store's tables, and two processes creating them at once (two sweeps started
    together) fail with "table ... already exists". The lock is the folder's (``flock``, released
    when the block ends or the process dies), so no lock file is left beside the store. A store
    that does not exist yet is made under it (:func:`_create_if_new`)."""
    if (path := sqlite_path(uri)) is None or uri in _LOCKED_OPENS:
        yield
        return
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        _create_if_new(path)
        yield
        _LOCKED_OPENS.add(uri)
    finally:
        os.close(fd)  # releases the lock


_LOCKED_OPENS: set[str] = set()  # SQLite stores this process has opened under _store_lock


def _create_if_new(path: Path) -> None:
    """A SQLite store that does not exist yet (or is an empty file) is made a copy of an empty
    one (:mod:`ermlab.store_template`: milliseconds instead of MLflow's seconds of migrations);
    any other store is left to MLflow."""
    if not path.exists() or path.stat().st_size == 0:
        from ermlab.store_template import new_store_from_template

        new_store_from_template(path)


@functools.cache
def _reaped_stores() -> set[str]:
    return set()  # store URIs this process has already reaped (once per process is enough)


def reap_stale_runs(client) -> list[str]:
    """Mark KILLED (with a :data:`REAPED_TAG` saying why) every RUNNING run of the store whose
    process, on this host, is gone: SIGKILL and power loss leave no chance to end a run.
    Runs of other hosts are left alone (their processes cannot be seen from here). Returns
    the ids of the runs reaped."""
    import socket

    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    running = client.search_runs(
        experiments,
        filter_string=f"attributes.status = 'RUNNING' and tags.`{HOST_TAG}` = '{host}'",
        max_results=1000,
    )
    reaped = []
    for run in running:
        pid = int(run.data.tags.get(PID_TAG) or 0)
        if _process_alive(pid, run.info.start_time / 1000):
            continue
        client.set_tag(
            run.info.run_id,
            REAPED_TAG,
            f"process {pid} on {host} ended without ending this run; marked KILLED by "
            f"process {os.getpid()}",
        )
        client.set_terminated(run.info.run_id, "KILLED")
        reaped.append(run.info.run_id)
    if reaped:
        print(
            f"ermlab: {len(reaped)} run(s) left RUNNING by a process that is gone were marked "
            f"KILLED (tag {REAPED_TAG})",
            file=sys.stderr,
        )
    return reaped


def _process_alive(pid: int, run_started_s: float) -> bool:
    """Whether process ``pid`` exists and is the one that started a run at ``run_started_s``
    (a process created after the run is another one that reuses the number). A zombie is
    gone: killed, it waits only for its parent, or an init that may be slow to reap it (a
    container's first process often is no init), to collect its exit status."""
    import psutil  # a dependency of DVC

    if pid <= 0:
        return False
    try:
        process = psutil.Process(pid)
        created = process.create_time()
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.Error:  # NoSuchProcess; AccessDenied only for processes not ours
        return False
    return created <= run_started_s + 1.0


@functools.cache
def _experiment_ids() -> dict[tuple[str, str], str]:
    return {}  # (store URI, experiment name) -> id: experiments are never renamed mid-sweep


def _experiment_id(client, uri: str, name: str) -> str:
    """The id of experiment ``name`` in the store at ``uri`` (created if new, and given the
    :data:`EXPERIMENT_KIND_TAGS` if it has no kind yet), looked up once per process."""
    known = _experiment_ids()
    if (uri, name) not in known:
        experiment = client.get_experiment_by_name(name)
        if experiment is not None:
            known[uri, name] = experiment.experiment_id
            for key, value in EXPERIMENT_KIND_TAGS.items():
                if key not in experiment.tags:  # made before ermlab set it
                    client.set_experiment_tag(experiment.experiment_id, key, value)
        else:
            known[uri, name] = client.create_experiment(
                name, artifact_root(uri), tags=EXPERIMENT_KIND_TAGS
            )
    return known[uri, name]


@functools.cache
def forget_connections_after_fork() -> None:
    """Make a forked worker open its own database connections: SQLite and SQLAlchemy forbid
    sharing the parent's (SQLAlchemy's remedy: ``dispose(close=False)`` in the child)."""

    def forget() -> None:
        # Only a store this process has opened has connections; importing MLflow's SQL store
        # here would cost every forked worker seconds (a sweep with tracking=off).
        store = sys.modules.get("mlflow.store.tracking.sqlalchemy_store")
        for engine in store.SqlAlchemyStore._engine_map.values() if store else ():
            engine.dispose(close=False)

    os.register_at_fork(after_in_child=forget)


def has_finished_configs(tracking) -> bool:
    """Whether the ``tracking`` experiment holds any FINISHED run tagged with a
    :data:`CONFIG_HASH_TAG` and made by this code (:func:`code_hash`): one query; False when
    tracking is off, the experiment is new, or its runs come from other code."""
    condition = f"tags.{CONFIG_HASH_TAG} IS NOT NULL and tags.{CODE_HASH_TAG} = '{code_hash()}'"
    return _latest_finished_run(tracking, condition) is not None


def find_finished_run(tracking, tags: dict[str, str]):
    """The most recent FINISHED run of the ``tracking`` experiment that has every tag of
    ``tags`` with its value (an ``mlflow.entities.Run``), or None; always None when tracking
    is off."""
    condition = " and ".join(f"tags.`{tag}` = '{value}'" for tag, value in tags.items())
    return _latest_finished_run(tracking, condition)


def _latest_finished_run(tracking, tag_condition: str):
    """The most recent FINISHED run of the ``tracking`` experiment that meets ``tag_condition``
    (MLflow's filter syntax), or None; None when tracking is off."""
    if not tracking.enabled:
        return None
    client, experiment_id = client_for(tracking)
    with lost_server_in_one_line(tracking):
        found = client.search_runs(
            [experiment_id],
            filter_string=f"{tag_condition} and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
    return found[0] if found else None


def open_run(
    tracking,
    run_name: str,
    parent_run_id: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> Recorder | None:
    """Create a RUNNING MLflow run (tagged with the git commit, the DVC experiment name, its
    parent, if any, and ``extra_tags``, in the one call that creates it); ``None`` when tracking
    is off. End it with :meth:`Recorder.finish`."""
    if not tracking.enabled:
        return None
    client, experiment_id = client_for(tracking)
    import socket

    tags = {"mlflow.runName": run_name, HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    if commit := git_commit():
        tags["mlflow.source.git.commit"] = commit
        tags["git_commit"] = commit
    if exp_name := os.environ.get("DVC_EXP_NAME"):
        tags["dvc_exp_name"] = exp_name
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    tags.update(extra_tags or {})
    run = client.create_run(experiment_id, tags=tags, run_name=run_name)
    return Recorder(client, run.info.run_id, experiment_id, run.info.artifact_uri, tags)


def run_link(tracking, run_id: str | None) -> str | None:
    """How to find run ``run_id``: its id, followed by its MLflow UI address when tracking goes
    to a server; None when nothing was recorded."""
    if not tracking.enabled or run_id is None:
        return None
    if not tracking.uri.startswith(("http://", "https://")):
        return run_id
    _, experiment_id = client_for(tracking)
    return f"{run_id}  {tracking.uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def reopen_run(tracking, run_id: str) -> Recorder | None:
    """A recorder for an existing run (a study's verify step adds its report to the run that
    ``run`` created); ``None`` when tracking is off."""
    if not tracking.enabled:
        return None
    client, _ = client_for(tracking)
    return Recorder(client, run_id)


@contextmanager
def tracked_run(
    tracking, run_name: str, parent_run_id: str | None = None, tags: dict[str, str] | None = None
) -> Iterator[Recorder | None]:
    """Open an MLflow run for the ``tracking`` config; yields ``None`` when tracking is off.

    The run ends FINISHED, or (and the error propagates) KILLED on Ctrl-C or a termination
    signal (see :mod:`ermlab.signals`), FAILED when the body raises anything else, with the
    error's one line as its tag :data:`ERROR_TAG`.
    """
    from ermlab import signals

    # A signal as the run is created is raised where the run can end KILLED: in the try.
    with lost_server_in_one_line(tracking), signals.held(raise_at_end=False):
        recorder = open_run(tracking, run_name, parent_run_id, tags)
    if recorder is None:
        yield None
        return
    try:
        signals.check()
        yield recorder
    except BaseException as err:
        if signals.interrupt_behind(err) is not None:
            recorder.finish("KILLED")
            signals.raise_if_interrupted(err)
            raise
        if (lost := lost_server(err, tracking)) is not None:
            recorder.discard_deferred()
            raise lost from None  # no server to mark the run FAILED on: reaped when it is back
        record_error(recorder, err)
        recorder.finish("FAILED")
        raise
    with lost_server_in_one_line(tracking):  # the deferred files go up as the run ends
        recorder.finish("FINISHED")


def record_error(recorder: Recorder, err: BaseException | str) -> None:
    """Tag the run about to end FAILED with why (:data:`ERROR_TAG`: the error's one line, or
    ``err`` itself when it is a text), written as it ends."""
    from mlflow.entities import RunTag

    from ermlab.errors import user_message

    why = err if isinstance(err, str) else user_message(err)
    recorder.log_params({}, [RunTag(ERROR_TAG, why[:MAX_TAG_LENGTH])], defer=True)


def record_results(
    recorder: Recorder | None,
    metrics: dict[str, float],
    history: dict[str, list[float]],
    artifacts: dict[str, Path],
    estimator,
    X_train,
) -> None:
    """Log the outcome of one pipeline execution (nothing when tracking is off): the fitted
    model unless ``estimator`` is None (its input example from ``X_train``, shape ``(n, p)``),
    the risks as metrics of the run and of the model, the training curve and the plots."""
    if recorder is None:
        return
    model_id = recorder.log_model(estimator, X_train) if estimator is not None else None
    recorder.log_metrics(metrics, model_id=model_id)
    recorder.log_history(history)
    for path in artifacts.values():
        recorder.log_artifact(path, "plots")


def search_runs(uri: str, experiment: str, filter_string: str | None = None) -> list[dict]:
    """Every run of ``experiment`` in the store at ``uri`` (newest first) as flat rows:
    ``run_id``, ``run_name``, ``status``, ``start_time`` (a UTC ``datetime``),
    ``parent_run_id``, ``metrics.<name>``, ``params.<key>``. Reads only: a missing store or
    experiment is a one-line ValueError, never created."""
    import datetime

    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    uri = resolve_uri(uri)
    if (path := sqlite_path(uri)) is not None and not path.is_file():
        raise ValueError(f"tracking.uri={uri} is not allowed: no MLflow store there yet")
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments())
        raise ValueError(f"experiment={experiment!r} is not allowed: one of {names} in {uri}")
    try:
        runs = search_all_runs(
            client, [found.experiment_id], filter_string or "", ["attributes.start_time DESC"]
        )
    except MlflowException as err:
        raise ValueError(f"filter={filter_string!r}: {' '.join(err.message.split())}") from None
    rows = []
    for run in runs:
        row = {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "status": run.info.status,
            "start_time": datetime.datetime.fromtimestamp(run.info.start_time / 1000, datetime.UTC),
            "parent_run_id": run.data.tags.get("mlflow.parentRunId"),
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        rows.append(row)
    return rows
