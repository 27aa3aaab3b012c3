"""A team tracking server on this machine: PostgreSQL and an MLflow server that proxies artifacts.

    ermlab-server start [--port 5000]   # returns once http://127.0.0.1:5000 answers
    ermlab-server stop                  # stops both; no process is left, the data stay

Everything lives in one folder (``.ermlab/`` at the project root unless ``--dir``): the database
cluster (``postgres/``), the artifacts (``artifacts/``), the logs and ``server.json`` (what runs
where). Both listen on 127.0.0.1 only. The database password is ``$ERMLAB_DB_PASSWORD`` or, when
that is unset, one generated on first start into ``<dir>/db_password`` (readable by its owner
only); it reaches MLflow through ``PGPASSWORD``, never a command line or a committed file.
PostgreSQL refuses to run as root: as root, its commands run as the ``postgres`` user that
Debian's packages create.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DB_USER = "ermlab"
DB_NAME = "mlflow"
PASSWORD_ENV = "ERMLAB_DB_PASSWORD"
START_TIMEOUT_S = 180  # the first start creates MLflow's tables in PostgreSQL
STOP_TIMEOUT_S = 10  # then SIGKILL: the server keeps nothing in memory (the database does)


class ServerError(RuntimeError):
    """The server cannot start or stop; the message says why in one line."""


@dataclass(frozen=True)
class Layout:
    """Where a server keeps its state, all under one folder."""

    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "postgres"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def state(self) -> Path:
        return self.root / "server.json"

    @property
    def password_file(self) -> Path:
        return self.root / "db_password"

    @property
    def mlflow_log(self) -> Path:
        return self.root / "mlflow.log"

    @property
    def postgres_log(self) -> Path:
        return self.pgdata / "postgres.log"  # inside the cluster: written by its owner


def default_dir() -> Path:
    """``.ermlab/`` at the project root."""
    from ermlab.tracking import store_root

    return store_root() / ".ermlab"


def postgres_bindir() -> Path | None:
    """The folder of PostgreSQL's server programs (``initdb``, ``pg_ctl``): Debian keeps them in
    ``/usr/lib/postgresql/<version>/bin`` (the newest wins), elsewhere they are on PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether an MLflow server answers ``/health`` at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def password(layout: Layout) -> str:
    """The database password: ``$ERMLAB_DB_PASSWORD``, else the one kept in the layout's
    ``db_password`` file (generated there, mode 600, the first time)."""
    if value := os.environ.get(PASSWORD_ENV):
        return value
    if not layout.password_file.exists():
        layout.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(layout.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24) + "\n")
    return layout.password_file.read_text().strip()


def _as_postgres_user(args: list[str]) -> list[str]:
    """PostgreSQL's programs run as the invoking user, or as ``postgres`` when that is root."""
    if os.geteuid() != 0:
        return args
    if shutil.which("runuser") is None:
        raise ServerError("running as root needs runuser (util-linux) to start PostgreSQL")
    return ["runuser", "-u", "postgres", "--", *args]


def _give_to_postgres_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _pg(bindir: Path, program: str, *args: str, timeout: float = 120) -> None:
    cmd = _as_postgres_user([str(bindir / program), *args])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        reason = " ".join((proc.stderr or proc.stdout).split())[-400:]
        raise ServerError(f"{program} failed: {reason}")


def init_cluster(layout: Layout, bindir: Path) -> None:
    """A new database cluster in ``layout.pgdata`` whose superuser ``ermlab`` logs in over TCP on
    127.0.0.1 with the password (no Unix socket, no other address)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.pgdata.mkdir(mode=0o700)
    _give_to_postgres_user(layout.pgdata)
    pwfile = layout.root / ".initdb-password"  # removed straight after
    pwfile.write_text(password(layout) + "\n")
    pwfile.chmod(0o600)
    _give_to_postgres_user(pwfile)
    try:
        _pg(
            bindir,
            "initdb",
            "-D",
            str(layout.pgdata),
            "-U",
            DB_USER,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=reject",
            "--encoding=UTF8",
            "--no-instructions",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    with (layout.pgdata / "postgresql.conf").open("a") as conf:
        conf.write("\n# ermlab: TCP on 127.0.0.1 only\n")
        conf.write("listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n")


def start_postgres(layout: Layout, bindir: Path, port: int) -> None:
    """Start the cluster on 127.0.0.1:``port`` (creating it first if new) and make sure the
    ``mlflow`` database exists."""
    if not (layout.pgdata / "PG_VERSION").exists():
        if layout.pgdata.exists():
            shutil.rmtree(layout.pgdata)  # a cluster whose initdb did not finish
        init_cluster(layout, bindir)
    _pg(
        bindir,
        "pg_ctl",
        "-D",
        str(layout.pgdata),
        "-l",
        str(layout.postgres_log),
        "-o",
        f"-p {port}",
        "-w",
        "-t",
        "60",
        "start",
    )
    import psycopg

    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=port,
            user=DB_USER,
            password=password(layout),
            dbname="postgres",
            autocommit=True,
        ) as db:
            exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            if exists.fetchone() is None:
                db.execute(f"CREATE DATABASE {DB_NAME}")
    except psycopg.Error as err:
        stop_postgres(layout, bindir)
        raise ServerError(f"PostgreSQL on 127.0.0.1:{port}: {err}") from None


def stop_postgres(layout: Layout, bindir: Path) -> None:
    """Stop the cluster (fast shutdown: open sessions are ended); nothing when it is not running."""
    if (layout.pgdata / "postmaster.pid").exists():
        _pg(bindir, "pg_ctl", "-D", str(layout.pgdata), "-m", "fast", "-w", "stop")


def backend_uri(db_port: int) -> str:
    """MLflow's backend store: the ``mlflow`` database through psycopg 3 (no password in it)."""
    return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{db_port}/{DB_NAME}"


def start_mlflow(layout: Layout, port: int, db_port: int, workers: int) -> int:
    """Start ``mlflow server`` on 127.0.0.1:``port`` over the database, with artifacts proxied
    to ``layout.artifacts``; returns its process id (the leader of its own process group)."""
    layout.artifacts.mkdir(parents=True, exist_ok=True)
    mlflow = Path(sys.executable).parent / "mlflow"
    cmd = [
        str(mlflow if mlflow.exists() else "mlflow"),
        "server",
        "--backend-store-uri",
        backend_uri(db_port),
        "--artifacts-destination",
        str(layout.artifacts),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    env = {**os.environ, "PGPASSWORD": password(layout)}
    with layout.mlflow_log.open("ab") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a child of this process that has exited is a zombie until reaped
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def _stop_group(pid: int) -> None:
    """SIGTERM the process group led by ``pid`` (the server and its workers), SIGKILL what is
    left after :data:`STOP_TIMEOUT_S`."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid) and not _group_alive(pid):
                return
            time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(path: Path, lines: int = 3) -> str:
    if not path.exists():
        return ""
    text = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return " | ".join(text[-lines:])[-500:]


def read_state(layout: Layout) -> dict | None:
    """What ``start`` recorded (``url``, ``port``, ``db_port``, ``pid``), or None."""
    if not layout.state.exists():
        return None
    return json.loads(layout.state.read_text())


def start(root: Path, port: int = 5000, db_port: int | None = None, workers: int = 2) -> str:
    """Start PostgreSQL and the MLflow server (see the module docstring); returns the tracking
    URL once ``/health`` answers. Starting a server that already runs returns its URL."""
    layout = Layout(root)
    url = f"http://127.0.0.1:{port}"
    state = read_state(layout)
    if state is not None and _alive(state["pid"]) and answers(state["url"]):
        if state["port"] != port:
            raise ServerError(f"a server from {root} already runs on {state['url']}: stop it first")
        return state["url"]
    if state is not None:
        stop(root)  # what is left of a server that died
    if _port_in_use(port):
        raise ServerError(f"port {port} on 127.0.0.1 is in use: choose another (PORT=N)")
    bindir = postgres_bindir()
    if bindir is None:
        raise ServerError(
            "PostgreSQL is not installed: apt-get install postgresql (Debian's packages)"
        )
    db_port = db_port or free_port()
    start_postgres(layout, bindir, db_port)
    try:
        pid = start_mlflow(layout, port, db_port, workers)
        state = {"url": url, "port": port, "db_port": db_port, "pid": pid}
        layout.state.write_text(json.dumps(state) + "\n")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(url):
            if not _alive(pid) or time.monotonic() > deadline:
                raise ServerError(
                    f"mlflow server did not answer on {url}: {_tail(layout.mlflow_log)}"
                )
            time.sleep(0.5)
    except BaseException:
        stop(root)
        raise
    return url


def stop(root: Path) -> bool:
    """Stop the MLflow server and PostgreSQL of ``root``; returns whether anything ran."""
    layout = Layout(root)
    state = read_state(layout)
    ran = False
    if state is not None:
        ran = _alive(state["pid"]) or _group_alive(state["pid"])
        _stop_group(state["pid"])
    bindir = postgres_bindir()
    if bindir is not None and (layout.pgdata / "postmaster.pid").exists():
        ran = True
        stop_postgres(layout, bindir)
    layout.state.unlink(missing_ok=True)
    return ran


def main(argv: list[str] | None = None) -> None:
    """Console entry point ``ermlab-server``."""
    parser = argparse.ArgumentParser(
        prog="ermlab-server", description=__doc__.split("\n\n")[0].strip()
    )
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=5000, help="MLflow server port (5000)")
    parser.add_argument("--dir", type=Path, default=None, help="state folder (.ermlab/)")
    parser.add_argument("--workers", type=int, default=2, help="MLflow server workers (2)")
    args = parser.parse_args(argv)
    root = (args.dir or default_dir()).resolve()
    try:
        if args.action == "start":
            url = start(root, args.port, workers=args.workers)
            print(f"ermlab-server: MLflow on {url} (PostgreSQL, artifacts in {root}/artifacts)")
            print(f"  log to it with: ermlab tracking=server tracking.uri={url}")
        elif args.action == "stop":
            stopped = stop(root)
            print("ermlab-server: stopped" if stopped else "ermlab-server: nothing was running")
        else:
            state = read_state(Layout(root))
            if state is None or not answers(state["url"]):
                print("ermlab-server: not running")
                sys.exit(1)
            print(f"ermlab-server: MLflow on {state['url']}")
    except (ServerError, OSError, subprocess.SubprocessError) as err:
        print(f"ermlab-server: error: {' '.join(str(err).split())}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
