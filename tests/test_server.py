"""A tracking server is a config switch: `tracking=server` logs to it, with no code change."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ermlab.config import compose, validate
from ermlab.pipeline import run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path: Path):
    """An MLflow tracking server on 127.0.0.1, stopped after the test."""
    port = _free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start on {url}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_tracking_server_is_a_config_switch(mlflow_server: str, tmp_path: Path):
    from mlflow.tracking import MlflowClient

    config = validate(
        compose(["tracking=server", f"tracking.uri={mlflow_server}", "model=sklearn_linear"])
    )
    result = run(config, tmp_path / "out")
    recorded = MlflowClient(tracking_uri=mlflow_server).get_run(result.run_id)
    assert recorded.info.status == "FINISHED"
    assert recorded.data.metrics["risk/bayes/mse"] == 64.0
    assert recorded.data.params["tracking.uri"] == mlflow_server
