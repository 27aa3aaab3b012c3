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
