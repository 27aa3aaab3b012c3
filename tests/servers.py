"""Tracking servers for tests, each on a free port of 127.0.0.1 and stopped afterwards: an
``mlflow ui`` over a local store, and the team server of ``make server`` (PostgreSQL + MLflow).

conftest.py imports the fixtures, so any test can ask for ``team_server``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ermlab.server import answers, free_port, postgres_bindir

BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180  # a first start creates MLflow's tables; 2 shared cores are slow


@contextmanager
def mlflow_ui(store_uri: str, log: Path) -> Iterator[str]:
    """``mlflow ui`` over ``store_uri`` on a free port; yields its URL, stops it afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "mlflow"), "ui", "--backend-store-uri", store_uri]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow ui did not answer on {url}: see {log}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def require_postgres() -> None:
    """Skip when PostgreSQL cannot be found (``.ci/run`` installs Debian's ``postgresql``)."""
    if postgres_bindir() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("as root, PostgreSQL needs runuser (util-linux) to run as postgres")


@pytest.fixture(scope="session")
def team_server() -> Iterator[str]:
    """The team server of ``make server`` (``ermlab-server``) in a temporary folder, on free
    ports; yields its URL. One per test session: a first start costs some 30 s."""
    require_postgres()
    from ermlab import server

    # Not under pytest's tmp folder: that is private to this user, and as root PostgreSQL runs
    # as the postgres user, which must reach its cluster.
    root = Path(tempfile.mkdtemp(prefix="ermlab-team-server-"))
    root.chmod(0o755)
    try:
        yield server.start(root, port=free_port(), workers=1)
    finally:
        server.stop(root)
        shutil.rmtree(root, ignore_errors=True)
