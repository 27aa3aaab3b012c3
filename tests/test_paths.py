"""Which project a command works in."""

from __future__ import annotations

from pathlib import Path

import pytest

from ermlab.paths import project_root


@pytest.fixture
def two_projects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A workspace and a copy of it (a queued DVC experiment's), the command in the copy's
    stage folder, with ERMLAB_ROOT naming the workspace."""
    workspace, copy = tmp_path / "workspace", tmp_path / "exps" / "copy"
    for root in (workspace, copy):
        (root / "conf").mkdir(parents=True)
        (root / "conf" / "config.yaml").write_text("defaults: []\n")
    (copy / "results").mkdir()
    monkeypatch.chdir(copy / "results")
    monkeypatch.setenv("ERMLAB_ROOT", str(workspace))
    monkeypatch.delenv("DVC_STAGE", raising=False)
    return workspace, copy


def test_ermlab_root_names_the_project(two_projects):
    workspace, _ = two_projects
    assert project_root() == workspace.resolve()


def test_a_dvc_stage_works_in_the_folder_dvc_runs_it_in(two_projects, monkeypatch):
    """dvc exp run --queue: with ERMLAB_ROOT set, the stage wrote its outputs into the
    workspace and DVC failed on the copy's missing results/data."""
    _, copy = two_projects
    monkeypatch.setenv("DVC_STAGE", "generate")
    assert project_root() == copy.resolve()


def test_a_studys_queued_experiment_records_to_the_projects_store(tmp_path, monkeypatch):
    """A study is a DVC project of its own: its queued experiment runs in a copy of the whole
    repository under pipelines/<study>/.dvc/tmp/exps/; the relative store is the project's."""
    from ermlab.tracking import store_root

    workspace = tmp_path / "workspace"
    copy = workspace / "pipelines" / "study" / ".dvc" / "tmp" / "exps" / "tmp1"
    for root in (workspace, copy):
        (root / "conf").mkdir(parents=True)
        (root / "conf" / "config.yaml").write_text("defaults: []\n")
    (copy / "pipelines" / "study").mkdir(parents=True)
    monkeypatch.chdir(copy / "pipelines" / "study")
    monkeypatch.setenv("DVC_STAGE", "run")
    monkeypatch.delenv("ERMLAB_ROOT", raising=False)
    assert project_root() == copy.resolve() and store_root() == workspace.resolve()
