"""The Python API: ermlab.run is the `ermlab` command, ermlab.runs reads the store back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cmd

import ermlab
from ermlab.config import ConfigError
from ermlab.errors import user_message
from ermlab.paths import REFERENCE_DIR


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root sharing the repository's conf/ and the shipped data (women, galton)."""
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").symlink_to(REFERENCE_DIR)
    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_import_ermlab_stays_light():
    probe = (
        "import sys, ermlab; ermlab.run; ermlab.runs; "
        "print(sorted({'torch', 'mlflow', 'matplotlib'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_run_gives_what_the_command_gives(project: Path):
    overrides = ["data=women", "split=none", "tracking=off"]
    cli = run_cmd(["ermlab", *overrides, "hydra.run.dir=cli"], project, ERMLAB_ROOT=str(project))
    result = ermlab.run(*overrides, "hydra.run.dir=api")  # the command's way to name the folder
    assert result.metrics == json.loads((project / "cli" / "metrics.json").read_text())
    assert (project / "api" / "metrics.json").read_text() == (
        project / "cli" / "metrics.json"
    ).read_text()
    assert result.run_id is None and result.out_dir == project / "api"
    assert result.history == {}
    assert result.estimator.coef_[0] == pytest.approx(3.45, rel=1e-12)  # R's lm slope
    assert result.summary.text() in cli.stdout
    assert result.risk_table() in cli.stdout


@pytest.mark.parametrize(
    "overrides",
    [
        ["data.n_train=0"],
        ["data=iris", "model=ols"],
        ["data=csv", "data.path=missing.csv", "data.target=y"],
        ["model=nonexistent"],
    ],
)
def test_errors_carry_the_commands_one_line_message(project: Path, overrides: list[str]):
    cli = run_cmd(["ermlab", *overrides, "tracking=off"], project, check=False)
    assert cli.returncode == 2
    with pytest.raises((ConfigError, ValueError, OSError)) as caught:
        ermlab.run(*overrides, "tracking=off")
    assert cli.stderr.strip().splitlines()[-1] == f"ermlab: error: {user_message(caught.value)}"
    assert not (project / "outputs").exists()  # nothing half-written


def test_runs_reads_back_the_recorded_run(project: Path):
    store = f"sqlite:///{project / 'store.db'}"
    first = ermlab.run(
        "data=women", "split=none", f"tracking.uri={store}", "tracking.experiment=course"
    )
    second = ermlab.run(
        "data=galton", "split=none", f"tracking.uri={store}", "tracking.experiment=course"
    )
    table = ermlab.runs(experiment="course", tracking_uri=store)
    assert list(table["run_id"]) == [second.run_id, first.run_id]  # newest first
    row = table.set_index("run_id").loc[first.run_id]
    assert row["metrics.risk/train/mse"] == first.metrics["risk"]["train"]["mse"]
    assert row["params.data.path"] == "data/women.csv"
    assert row["status"] == "FINISHED"
    only = ermlab.runs("course", "params.data.path = 'data/galton.csv'", tracking_uri=store)
    assert list(only["run_id"]) == [second.run_id]
    with pytest.raises(ValueError, match="experiment='nope' is not allowed: one of"):
        ermlab.runs("nope", tracking_uri=store)
    with pytest.raises(ValueError, match="no MLflow store"):
        ermlab.runs(tracking_uri=f"sqlite:///{project / 'absent.db'}")
    assert not (project / "absent.db").exists()


@pytest.mark.slow
def test_sweep_returns_the_commands_report_tables(project: Path):
    import pandas as pd

    overrides = ["data=women", "split=none", "model=ols,sklearn_linear", "seed=0,1"]
    # One store each: a sweep reuses the FINISHED runs of its configs found in its store.
    store = "tracking.uri=sqlite:///{}".format
    run_cmd(["ermlab", "-m", *overrides, store(project / "cli.db"), "hydra.sweep.dir=cli"], project)
    result = ermlab.sweep(*overrides, store(project / "api.db"), sweep_dir=project / "api")
    for table, name in ((result.jobs, "jobs.csv"), (result.summary, "summary.csv")):
        expected = pd.read_csv(project / "cli" / name)
        assert list(table.columns) == list(expected.columns)
        # The same numbers; only the MLflow run ids differ between the two sweeps.
        same = [c for c in expected.columns if c != "run_id"]
        pd.testing.assert_frame_equal(table[same], expected[same])
    assert len(result.jobs) == 4 and result.failed == 0
    cli_runs = set(pd.read_csv(project / "cli" / "jobs.csv")["run_id"])
    assert not cli_runs & set(result.jobs["run_id"])  # every job ran again, none reused
    assert set(result.summary["model"]) == {"ols", "sklearn_linear"}
    assert (result.summary["n_seeds"] == 2).all()


@pytest.mark.slow
def test_a_second_sweep_into_the_same_folder_returns_its_own_results(project: Path):
    """The second sweep gets ``<sweep_dir>-2`` (a sweep never shares a folder): its tables
    are its own, not the first sweep's."""
    first = ermlab.sweep("data=women", "split=none", "seed=0,1", "tracking=off", sweep_dir="s")
    second = ermlab.sweep("data=women", "split=none", "seed=5,6", "tracking=off", sweep_dir="s")
    assert first.folder == project / "s" and second.folder == project / "s-2"
    assert list(first.jobs["seed"]) == [0, 1] and list(second.jobs["seed"]) == [5, 6]


def test_sweep_rejects_a_bad_swept_value_before_running(project: Path):
    with pytest.raises(ConfigError, match=r"data.n_train=0 is not allowed"):
        ermlab.sweep("data.n_train=10,0", "tracking=off", sweep_dir=project / "sweep")
    assert not (project / "sweep").exists()


def test_run_refuses_a_sweep_and_sweep_an_empty_one(project: Path):
    with pytest.raises(ConfigError, match=r"seed=range\(3\) is a sweep: ermlab.sweep"):
        ermlab.run("seed=range(3)", "tracking=off")
    with pytest.raises(ConfigError, match=r"seed=range\(5,0\) is not allowed: it sweeps no value"):
        ermlab.sweep("seed=range(5,0)", "tracking=off", sweep_dir=project / "sweep")
    assert not (project / "sweep").exists() and not (project / "outputs").exists()


@pytest.mark.slow
def test_a_job_that_fails_at_run_time_is_a_failed_row_not_an_exception(project: Path):
    # Composition and validation pass; reading the file fails in each job.
    result = ermlab.sweep(
        "data=csv", "data.path=missing.csv", "data.target=y", "seed=0,1", "tracking=off"
    )
    assert result.failed == 2
    assert result.jobs["reason"].str.contains("missing.csv").all()


@pytest.mark.parametrize("function", ["run", "sweep"])
def test_a_list_of_overrides_is_refused_with_how_to_pass_it(function: str):
    import ermlab

    with pytest.raises(TypeError, match=rf"got a list .*ermlab\.{function}\(\*overrides\)"):
        getattr(ermlab, function)(["data=women", "split=none"])


@pytest.mark.parametrize("function", ["run", "sweep"])
def test_overrides_in_one_string_are_refused_with_how_to_pass_them(function: str):
    import ermlab
    from ermlab.config import ConfigError

    expected = (
        rf"holds 2 overrides in one string: .*ermlab\.{function}\('data=women', 'split=none'\)"
    )
    with pytest.raises(ConfigError, match=expected):
        getattr(ermlab, function)("data=women split=none")


def test_a_value_with_spaces_is_not_taken_for_several_overrides():
    from ermlab.api import _strings

    assert _strings(("model.hidden_sizes=[64, 64]",), "run") == ("model.hidden_sizes=[64, 64]",)
    assert _strings(("name='a=b c=d'",), "sweep") == ("name='a=b c=d'",)  # a quoted value
