"""Shared fixtures: a throw-away copy of the project for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tests.servers import team_server  # noqa: F401  (a fixture for any test)


def pytest_configure(config) -> None:
    """A shell's background job (``bash .ci/run &``) starts with SIGINT ignored, and every
    command it runs inherits that: ermlab then rightly stays deaf to SIGINT, as under
    ``nohup``, and the tests of Ctrl-C would fail. They test a terminal's Ctrl-C: SIGINT is
    delivered again, to this process and to the commands it starts."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# What a clone of the project holds that the pipeline needs (no .venv, results or stores).
PROJECT_FILES = (
    "conf",
    "src",
    "pipelines",
    "dvc.yaml",
    "params.yaml",
    "data.dvc",
    ".dvc/config",
    ".dvcignore",
    ".gitignore",
)


def run_cmd(args: list[str], cwd: Path, check: bool = True, **env: str):
    """Run a command with .venv/bin first on PATH; returns the CompletedProcess."""
    full_env = {k: v for k, v in os.environ.items() if k != "ERMLAB_ROOT"}
    full_env.update(PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}", **env)
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def sweep_in(folder: Path, *overrides: str):
    """``ermlab -m OVERRIDES`` recording to folder/mlflow.db (experiment ``s``), its sweep
    folder folder/multirun; returns the CompletedProcess (raises when it fails)."""
    args = [
        "ermlab",
        "-m",
        *overrides,
        f"tracking.uri=sqlite:///{folder}/mlflow.db",
        "tracking.experiment=s",
        f"hydra.sweep.dir={folder}/multirun",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    return run_cmd(args, folder, ERMLAB_ROOT=str(REPO))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project in a fresh git repository, with data/ restored."""
    root = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "results", "outputs")
    for name in PROJECT_FILES:
        source = REPO / name
        if not source.exists():
            continue
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    git = ["git", "-c", "user.name=ermlab-tests", "-c", "user.email=tests@ermlab.invalid"]
    run_cmd(["git", "init", "-q"], root)
    run_cmd([*git, "add", "-A"], root)
    run_cmd([*git, "commit", "-qm", "copy"], root)
    run_cmd(["ermlab-stage", "restore-data"], root)
    return root


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root in tmp_path sharing the repository's conf/ and data/ (for studies)."""
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").symlink_to(REPO / "data")
    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))
    return tmp_path
