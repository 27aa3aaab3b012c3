"""Config composition and validation: bad values fail early, in one line, writing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.conftest import REPO, run_cmd

from ermlab.config import ConfigError, compose, params_yaml_text, validate


def test_default_config_composes_and_validates():
    config = validate(compose([]))
    assert config.data.n_train > 0
    assert config.model["_target_"].endswith("OLS")
    assert config.tracking.uri == "sqlite:///mlflow.db"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("data.n_train=0", "data.n_train=0 is not allowed: an integer > 0"),
        ("data.n_train=-5", "data.n_train=-5 is not allowed"),
        ("data.n_train=abc", "data.n_train: Value 'abc'"),
        ("data.nonsense=1", "data.nonsense: Key 'nonsense' not in"),
        ("split.test_fraction=1.5", "split.test_fraction=1.5 is not allowed: a number strictly"),
        ("split.test_fraction=0", "split.test_fraction=0.0 is not allowed"),
        ("data.noise_sd=-1", "data.noise_sd=-1.0 is not allowed: a number >= 0"),
        ("seed=-1", "seed=-1 is not allowed"),
        ("model=no_such_model", "Could not find 'model/no_such_model'"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(override: str, expected: str):
    with pytest.raises(ConfigError) as info:
        validate(compose([override]))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_params_yaml_is_not_stale():
    """The committed params.yaml is exactly what conf/ composes to (make run keeps it so)."""
    assert (REPO / "params.yaml").read_text() == params_yaml_text(compose([]))


def test_params_yaml_sections_validate_alone():
    plain = yaml.safe_load((REPO / "params.yaml").read_text())
    config = validate(plain, ("seed", "data"))
    assert config.data.n_train == plain["data"]["n_train"]
    assert config.model is None


@pytest.mark.parametrize("override", ["data.n_train=0", "split.test_fraction=2", "data.bogus=1"])
def test_cli_bad_value_exits_nonzero_and_writes_nothing(tmp_path: Path, override: str):
    proc = run_cmd(["ermlab", override], tmp_path, check=False, ERMLAB_ROOT=str(REPO))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ermlab: error: ")
    assert override.split("=")[0] in lines[0]
    assert list(tmp_path.iterdir()) == []  # no outputs/, no mlflow.db, no results/


def test_cli_bad_value_in_a_sweep_stops_before_the_first_job(tmp_path: Path):
    proc = run_cmd(
        ["ermlab", "-m", "data.n_train=10,0", "tracking=off"],
        tmp_path,
        check=False,
        ERMLAB_ROOT=str(REPO),
    )
    assert proc.returncode == 2
    assert "data.n_train=0 is not allowed" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_stage_rejects_bad_params_file(tmp_path: Path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("{}\n")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["n_train"] = -1
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    proc = run_cmd(["ermlab-stage", "generate"], tmp_path, check=False)
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == "ermlab-stage: error: data.n_train=-1 is not allowed: an integer > 0"
    )
    assert not (tmp_path / "results").exists()
