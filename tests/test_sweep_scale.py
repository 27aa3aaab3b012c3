"""Sweeps at scale: one composition per group choice (the same configs as Hydra's), every
override form pre-validated, a folder of its own for every sweep, one progress line."""

from __future__ import annotations

import io
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from omegaconf import DictConfig, ListConfig, OmegaConf
from tests.conftest import BIN, REPO

from ermlab.cli import prevalidate, validation_jobs
from ermlab.config import ConfigError, compose
from ermlab.sweeps.compose import app_composer
from ermlab.sweeps.progress import Progress, progress_line
from ermlab.sweeps.sweeper import claim_folder

JOBS = [
    ["seed=3"],
    ["model=ridge", "data.n_train=30"],
    ["data.n_train=31", "model=ridge", "+model.copy_X=false", "seed=2"],
    ["data=two_moons", "model=knn_classifier", "model.n_neighbors=3"],
    ["++data.n_test=50", "split=stratified", "data=two_moons", "model=tree_classifier"],
    ["experiment=least_squares"],
    ["~experiment", "model=ols_poly"],
    ["model=ridge", "~model.alpha", "seed=5"],
]


@pytest.mark.parametrize("overrides", JOBS, ids=" ".join)
def test_cached_composition_gives_hydras_config(overrides: list[str]):
    """Truth: Hydra composing the job from scratch. The composer is warmed with other jobs
    first, so each case is served from a cached group choice where there is one."""
    composer = app_composer()
    for other in JOBS:
        composer.compose(other)
    assert OmegaConf.to_container(composer.compose(overrides)) == OmegaConf.to_container(
        compose(overrides)
    )


def _nodes(node, path="") -> list[tuple]:
    """Every node of a config with what OmegaConf keeps about it beyond its value."""
    meta = node._metadata
    row = (path, type(node).__name__, meta.ref_type, meta.object_type, meta.optional, meta.flags)
    children = []
    if isinstance(node, DictConfig) and not node._is_none() and not node._is_missing():
        children = [_nodes(node._get_node(k), f"{path}.{k}") for k in node.keys()]
    elif isinstance(node, ListConfig) and not node._is_none() and not node._is_missing():
        children = [_nodes(node._get_node(i), f"{path}[{i}]") for i in range(len(node))]
    return [row, *(r for child in children for r in child)]


@pytest.mark.parametrize("overrides", [["seed=3"], ["model=ridge", "~model.alpha"]], ids=" ".join)
def test_a_cached_composition_is_a_faithful_copy(overrides: list[str]):
    """The composer copies its cached composition by a pickle round trip: truth is
    ``copy.deepcopy`` of a fresh composition, node by node (types, flags, optionality) and
    unresolved, so interpolations survive too."""
    import copy

    expected = copy.deepcopy(compose(overrides))
    got = app_composer().compose(overrides)
    assert _nodes(got) == _nodes(expected)
    assert OmegaConf.to_yaml(got) == OmegaConf.to_yaml(expected)


def test_cached_composition_refuses_what_hydra_refuses():
    composer = app_composer()
    composer.compose(["model=ols"])
    for bad in (["model=ols", "data.no_such_key=1"], ["~data.no_such_key"]):
        with pytest.raises(ConfigError):
            compose(bad)
        with pytest.raises(Exception, match="no_such_key"):
            composer.compose(bad)


def test_prevalidation_keeps_every_override_form_hydra_documents():
    argv = ["-m", "~experiment", "+model.rcond=1e-10", "++seed=4", "data.n_train=10,20"]
    assert validation_jobs(argv) == [
        ["~experiment", "+model.rcond=1e-10", "++seed=4", "data.n_train=10"],
        ["~experiment", "+model.rcond=1e-10", "++seed=4", "data.n_train=20"],
    ]
    assert prevalidate(argv) == 2
    with pytest.raises(ConfigError, match="data.no_such_key"):
        prevalidate(["-m", "~data.no_such_key", "seed=1,2"])
    # Flags with a value are Hydra's, never overrides.
    assert validation_jobs(["--config-name", "config", "-m", "seed=1"]) == [["seed=1"]]


def test_a_sweep_folder_is_never_claimed_twice(tmp_path: Path):
    wanted = tmp_path / "multirun" / "2026-01-01" / "12-00-00"
    with ThreadPoolExecutor(8) as pool:
        claimed = list(pool.map(lambda _: claim_folder(wanted), range(8)))
    assert len(set(claimed)) == 8 and all(folder.is_dir() for folder in claimed)
    assert wanted in claimed and wanted.with_name("12-00-00-8") in claimed


def test_progress_is_one_rewritten_line_on_a_terminal_and_nothing_elsewhere():
    assert progress_line(10, 1, 40, 5.0) == (
        "sweep: 10/40 jobs done, 1 failed, 5.0 s elapsed, ETA 15.0 s\x1b[K"
    )
    assert "ETA ?" in progress_line(0, 0, 40, 1.0)
    # A resumed sweep: 8 of the 10 done were reused in no time, the pace is the 2 that ran.
    assert progress_line(10, 1, 40, 5.0, reused=8) == (
        "sweep: 10/40 jobs done (8 reused), 1 failed, 5.0 s elapsed, ETA 75.0 s\x1b[K"
    )
    assert "ETA ?" in progress_line(8, 0, 40, 0.1, reused=8)
    # ... and when the 8 lookups took 3 of the 5 seconds, the 2 that ran took 2.
    assert "ETA 30.0 s" in progress_line(10, 1, 40, 5.0, reused=8, reusing=3.0)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, terminal = io.StringIO(), Terminal()
    for stream in (piped, terminal):
        progress = Progress(3, stream)
        for failed in (False, True, False):
            progress.job_done(failed)
        progress.close()
    assert piped.getvalue() == ""
    text = terminal.getvalue()
    assert text.count("\r") == 4 and text.endswith("\n") and text.count("\n") == 1
    assert "3/3 jobs done, 1 failed" in text


@pytest.mark.slow
def test_two_sweeps_started_together_never_share_a_folder(tmp_path: Path):
    """Both name the same folder (as two sweeps started in the same second do)."""
    folder = tmp_path / "multirun"
    env = {"ERMLAB_ROOT": str(REPO), "PATH": f"{BIN}:/usr/bin:/bin"}
    sweeps = [
        subprocess.Popen(
            [
                "ermlab",
                "-m",
                f"data.n_train={n}",
                "seed=0,1",
                "tracking=off",
                f"hydra.sweep.dir={folder}",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (10, 20)
    ]
    for proc in sweeps:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    folders = sorted(p for p in tmp_path.iterdir() if p.name.startswith("multirun"))
    assert [p.name for p in folders] == ["multirun", "multirun-2"]
    sizes = set()
    for sweep_folder in folders:
        jobs = [OmegaConf.load(sweep_folder / j / ".hydra" / "config.yaml") for j in ("0", "1")]
        (n_train,) = {job.data.n_train for job in jobs}  # one sweep's jobs, not a mix
        sizes.add(n_train)
    assert sizes == {10, 20}


def _screen(text: str) -> list[str]:
    """The lines a terminal shows for ``text``: ``\\r`` back to the line's start, ``ESC[K``
    clears to its end, ``\\n`` starts the next line; other characters overwrite."""
    lines, line, column = [], [], 0
    for part in re.split(r"(\r|\n|\x1b\[K)", text):
        if part == "\r":
            column = 0
        elif part == "\n":
            lines.append("".join(line))
            line, column = [], 0
        elif part == "\x1b[K":
            del line[column:]
        else:
            line[column : column + len(part)] = part
            column += len(part)
    return [*lines, "".join(line)] if line else lines


def test_a_line_printed_as_a_job_ends_stands_on_its_own_above_the_progress_line():
    """What the sweep prints as a job ends (a failed job's error) comes between clear() and
    job_done(): on a terminal it is a line of its own, and the progress line follows it."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    progress = Progress(3, terminal)
    progress.job_done()
    progress.clear()
    terminal.write("ermlab: error: KeyError: 'x' (job seed=1)\n")
    progress.job_done(failed=True)
    progress.close()
    shown = _screen(terminal.getvalue())
    assert shown[0] == "ermlab: error: KeyError: 'x' (job seed=1)"
    assert shown[1].startswith("sweep: 2/3 jobs done, 1 failed") and len(shown) == 2


@pytest.mark.slow
def test_the_phase_benchmark_times_every_phase_of_a_real_sweep(monkeypatch):
    """``benchmarks/bench_sweep_phases.py`` wraps ermlab's own functions: each phase it
    reports was seen, in the order of a sweep (a renamed function would leave its phase
    unmeasured; a phase noted out of order, a negative span)."""
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    from bench_sweep_phases import PHASES, phases

    for extra in ((), ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")):
        seconds = phases(4, *extra)
        assert all(seconds[phase] > 0 for phase in PHASES), seconds
