"""What stops a run before it writes anything, and the small helpers the entry points share."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.conftest import REPO

from ermlab import paths, stages
from ermlab.cli import prevalidate, validation_jobs
from ermlab.config import ConfigError, TrackingConfig, compose, validate
from ermlab.pipeline import run
from ermlab.sweeps.tracker import sweep_table
from ermlab.tracking import check_reachable, resolve_uri


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["data=iris", "model=ols"], "OLS is a regressor"),
        (["model=dummy_classifier"], "DummyClassifier is a classifier"),
    ],
)
def test_a_model_that_does_not_fit_the_task_is_refused(tmp_path: Path, overrides, expected):
    with pytest.raises(ConfigError, match=expected):
        run(validate(compose([*overrides, "tracking=off"])), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_refusal_names_the_config_groups_the_command_chose(tmp_path: Path):
    config = validate(compose(["data=three_gaussians", "model=ols", "tracking=off"]))
    choices = {"data": "three_gaussians", "model": "ols"}
    with pytest.raises(ConfigError, match="model=ols is a regressor, but data=three_gaussians"):
        run(config, tmp_path / "out", choices=choices)


def test_an_unreachable_tracking_server_fails_fast_in_one_line():
    tracking = TrackingConfig(uri="http://127.0.0.1:9", experiment="x")  # port 9: discard
    with pytest.raises(ConnectionError) as info:
        check_reachable(tracking, timeout=1.0)
    assert "tracking=local" in str(info.value) and "\n" not in str(info.value)
    check_reachable(TrackingConfig(enabled=False, uri="http://127.0.0.1:9"))  # off: no probe


def test_a_temporary_dvc_experiment_records_into_the_project_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    copy = tmp_path / "project" / ".dvc" / "tmp" / "exps" / "tmpabc"
    monkeypatch.setenv("ERMLAB_ROOT", str(copy))
    assert resolve_uri("sqlite:///mlflow.db") == f"sqlite:///{tmp_path / 'project' / 'mlflow.db'}"
    assert resolve_uri("sqlite:////abs/m.db") == "sqlite:////abs/m.db"


def test_sweeps_are_checked_value_by_value_not_as_a_product():
    jobs = validation_jobs(["-m", "model=ols,ridge,lasso", "data.n_train=10,20,30,40", "seed=1"])
    assert len(jobs) == 1 + 2 + 3  # not 3 * 4
    assert jobs[0] == ["model=ols", "data.n_train=10", "seed=1"]
    assert ["model=ols", "data.n_train=40", "seed=1"] in jobs


def test_a_bad_model_argument_in_a_sweep_is_caught_before_any_job():
    with pytest.raises(ConfigError, match="no_such_argument"):
        prevalidate(["-m", "model=ols,ridge", "+model.no_such_argument=1"])


def test_the_sweep_table_shows_each_jobs_main_loss():
    table = sweep_table(
        [
            ("model=ols", {"risk/train/mse": 1.0, "risk/test/mse": 2.0, "gap/mse": 1.0}),
            ("model=logistic", {"risk/train/zero_one": 0.1, "risk/test/zero_one": 0.2}),
            ("model=broken", {}),
        ]
    )
    lines = table.splitlines()
    assert "mse" in lines[2] and "absent" in lines[2]  # real data: no population risk
    assert "zero_one" in lines[3] and "0.2" in lines[3]
    assert lines[4].split()[1:] == ["failed"] * 6
    assert lines[0].split()[1:6] == ["loss", "train", "test", "population", "Bayes"]


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path: Path):
    target = tmp_path / "out" / "metrics.json"
    with pytest.raises(RuntimeError), paths.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list((tmp_path / "out").iterdir()) == []
    with paths.atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and len(list((tmp_path / "out").iterdir())) == 1


def test_the_dvc_path_refuses_a_data_file_outside_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").mkdir()
    (tmp_path / "points.csv").write_text("x,y\n1,2\n2,3\n3,5\n4,4\n")
    stages.write_params(["data=csv", "data.path=points.csv", "data.target=y", "tracking=off"])
    with pytest.raises(ConfigError, match="outside data/"):
        stages.stage_generate()
    assert not (tmp_path / "results").exists()
    # Inside data/ it is a dependency of the generate stage, and it runs.
    (tmp_path / "points.csv").rename(tmp_path / "data" / "points.csv")
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["data"]["path"] = "data/points.csv"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    stages.stage_generate()
    assert (tmp_path / "results" / "data" / "dataset.npz").is_file()
