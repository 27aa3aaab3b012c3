"""The course notebook runs top to bottom in a fresh kernel, with no error."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import REPO

from ermlab.paths import REFERENCE_DIR

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_notebooks_are_committed_without_outputs():
    import nbformat

    assert NOTEBOOKS, "notebooks/ holds the course walk-through"
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes_top_to_bottom(path: Path, tmp_path: Path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    # A project of its own: the notebook's runs, outputs and MLflow store land in tmp_path.
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").symlink_to(REFERENCE_DIR)
    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    # "python3" is the kernel ipykernel provides for the interpreter running the tests (this
    # venv's), found without any installed kernelspec; a fresh kernel process per notebook,
    # started in tmp_path with this environment (ERMLAB_ROOT).
    where = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(notebook, kernel_name="python3", timeout=600, resources=where)
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    executed = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in executed)
    # The notebook's figures show, also after ermlab.run has drawn (and closed) its own.
    for cell in executed:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == cell.source.count("plt.show()"), cell.source
    assert (tmp_path / "mlflow.db").is_file()  # the tracked runs went to this project


@pytest.mark.slow
def test_make_notebook_serves_the_course_notebook_in_jupyterlab():
    """``make notebook`` as a student runs it: JupyterLab answers on 127.0.0.1, opens the
    course's notebook, and its default kernel is Python (the project's, as in the test above)."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = "ermlab-test"
    server = subprocess.Popen(
        ["make", "-s", "notebook", f"NOTEBOOK_PORT={port}"]
        + [f"NOTEBOOK_FLAGS=--IdentityProvider.token={token}"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # make and the server it starts stop together
    )

    def get(path: str):
        url = f"http://127.0.0.1:{port}{path}{'&' if '?' in path else '?'}token={token}"
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()

    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            try:
                get("/api/status")
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not answer in 120 s"
                time.sleep(0.5)
        status, _ = get("/lab/tree/notebooks/erm_method.ipynb")
        assert status == 200
        _, body = get("/api/contents/notebooks/erm_method.ipynb?content=1")
        notebook = json.loads(body)
        assert notebook["type"] == "notebook" and notebook["content"]["cells"]
        _, body = get("/api/kernelspecs")
        specs = json.loads(body)
        assert specs["kernelspecs"][specs["default"]]["spec"]["language"] == "python"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
