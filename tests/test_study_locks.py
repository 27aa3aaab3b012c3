"""The studies' ``dvc.lock`` files record the committed code, and only it.

Each study under ``pipelines/`` is a DVC project of its own whose stages depend on ermlab's
sources outside it. DVC applies no ``.dvcignore`` to a path outside its project, so a folder
dependency there would hash whatever ``__pycache__`` Python has written into it: the lock
would then change with what was imported before ``make reproduce``, and a fresh clone would
see every study's code as changed. The studies name source files, never such a folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.conftest import REPO, run_cmd

STUDIES = sorted(p.parent for p in (REPO / "pipelines").glob("*/dvc.yaml"))


def _deps(study: Path) -> list[Path]:
    """Every dependency of every stage of ``study``, resolved to an absolute path."""
    stages = yaml.safe_load((study / "dvc.yaml").read_text())["stages"]
    return [(study / dep).resolve() for stage in stages.values() for dep in stage.get("deps", [])]


def _tracked_python(folder: Path) -> set[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=folder, capture_output=True, text=True, check=True
    )
    return {(folder / name).resolve() for name in listed.stdout.split()}


def test_there_are_studies():
    assert len(STUDIES) >= 6


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.name)
def test_no_study_depends_on_a_folder_outside_it_that_holds_python(study: Path):
    for dep in _deps(study):
        if dep.is_dir() and not dep.is_relative_to(study):
            assert not _tracked_python(dep), (
                f"{study.name}/dvc.yaml depends on {dep.relative_to(REPO)}/, whose "
                "__pycache__ DVC would hash: name its files instead"
            )


@pytest.mark.parametrize("study", STUDIES, ids=lambda p: p.name)
def test_a_study_that_depends_on_a_package_depends_on_every_module_of_it(study: Path):
    # A package's __init__ (the data sources', the models' registry) reaches every module of
    # its folder: a module added there must be added to the studies' deps too.
    deps = set(_deps(study))
    for init in (d for d in deps if d.name == "__init__.py"):
        missing = _tracked_python(init.parent) - deps
        assert not missing, (
            f"{study.name}/dvc.yaml depends on {init.parent.relative_to(REPO)} but not on "
            f"{', '.join(sorted(str(m.relative_to(REPO)) for m in missing))}"
        )


@pytest.mark.slow
def test_every_study_lock_matches_the_sources_whatever_bytecode_exists():
    # Bytecode for every module, as after any run of the tests: it must change nothing.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True)
    for study in STUDIES:
        status = json.loads(run_cmd(["dvc", "status", "--json"], study).stdout or "{}")
        changed = sorted(
            str(Path(dep).resolve().relative_to(REPO))
            for changes in status.values()
            for change in changes
            if isinstance(change, dict)
            for dep, why in change.get("changed deps", {}).items()
            if why == "modified"
        )
        # Not "deleted": a fresh clone has no results/ yet (make reproduce makes them).
        assert not changed, (
            f"pipelines/{study.name}/dvc.lock does not record the committed sources: "
            f"{', '.join(changed)} changed; run make reproduce and commit the locks"
        )
