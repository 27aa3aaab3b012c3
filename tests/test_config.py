"""Config composition and validation: bad values fail early, in one line, writing nothing."""

from __future__ import annotations

import re
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
        ("data.n_train=abc", "data.n_train='abc' is not allowed: an integer"),
        ("data.n_train=1.5", "data.n_train=1.5 is not allowed: an integer"),
        ("data.noise_sd=abc", "data.noise_sd='abc' is not allowed: a number"),
        ("plots=maybe", "plots='maybe' is not allowed: true or false"),
        ("seed=", "seed='' is not allowed: an integer"),
        ("data.xyz=1", "data.xyz is not a key of data: its keys are kind, n_train, n_test,"),
        ("data.ntrain=1", "data.ntrain is not a key of data: did you mean n_train? its keys"),
        ("datas=iris", "datas is not a key of the config: did you mean data? its keys are seed,"),
        ("split.test_fraction=1.5", "split.test_fraction=1.5 is not allowed: a number strictly"),
        ("split.test_fraction=0", "split.test_fraction=0.0 is not allowed"),
        ("data.noise_sd=-1", "data.noise_sd=-1.0 is not allowed: a number >= 0"),
        ("seed=-1", "seed=-1 is not allowed"),
        ("model=no_such_model", "model=no_such_model is not allowed: one of dummy, "),
        ("split=rand", "split=rand is not allowed: did you mean random? one of biased, "),
        ("+data.xyz=1", "data.xyz is not a key of data: its keys are kind, n_train, n_test,"),
        ("data.n_train=${foo}", "data.n_train: Interpolation key 'foo' not found"),
    ],
)
def test_bad_values_give_one_line_naming_the_key(override: str, expected: str):
    with pytest.raises(ConfigError) as info:
        validate(compose([override]))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("data", "ntrain", 5, "data.ntrain is not a key of data: did you mean n_train? its"),
        ("data", "n_train", "abc", "data.n_train='abc' is not allowed: an integer"),
        ("split", "test_frac", 0.2, "split.test_frac is not a key of split: did you mean test_"),
    ],
)
def test_a_bad_params_yaml_section_names_its_key_in_full(section, key, value, expected):
    """params.yaml (the DVC path) is validated section by section: a section's own merge
    names the key within it, ``data.ntrain``, not ``ntrain`` of "the config"."""
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(compose([]), resolve=True)
    plain[section][key] = value
    with pytest.raises(ConfigError) as info:
        validate(plain)
    assert str(info.value).startswith(expected)


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


# ------------------------------------------------------------------ nested numeric lists
@pytest.mark.parametrize(
    ("option", "override", "field", "expected"),
    [
        ("gaussian_classes", "data.means=[[-2,0],[2,1]]", "means", [[-2.0, 0.0], [2.0, 1.0]]),
        ("gaussian_classes", "data.cov=[[2,1],[1,2]]", "cov", [[2.0, 1.0], [1.0, 2.0]]),
        (
            "three_gaussians",
            "data.covs=[[[1,0],[0,1]],[[2,0],[0,2]],[[1,0.5],[0.5,1]]]",
            "covs",
            [[[1.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [0.0, 2.0]], [[1.0, 0.5], [0.5, 1.0]]],
        ),
        ("two_predictors", "data.x.cov=[[1,0],[0,4]]", "x.cov", [[1.0, 0.0], [0.0, 4.0]]),
    ],
)
def test_nested_numeric_lists_accept_whole_numbers(option, override, field, expected):
    from ermlab.data import generate

    data = validate(compose([f"data={option}", override])).data
    value = data
    for part in field.split("."):
        value = getattr(value, part)
    assert value == expected
    assert all(type(v) is float for v in _leaves(value))  # ints converted
    dataset, _ = generate(data, 0)  # the source accepts it
    assert len(dataset) > 0


def _leaves(value):
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


@pytest.mark.parametrize(
    ("option", "override", "expected"),
    [
        (
            "gaussian_classes",
            "data.means=[['a',0],[1,2]]",
            "data.means=[['a', 0], [1, 2]] is not allowed: 2 mean vectors of 2 finite numbers",
        ),
        ("gaussian_classes", "data.means=[[1,2]]", "data.means=[[1, 2]] is not allowed: 2 mean"),
        ("gaussian_classes", "data.means=[1,2]", "data.means=[1, 2] is not allowed: 2 mean"),
        ("gaussian_classes", "data.means=[[1,2],[3,4,5]]", "is not allowed: 2 mean vectors"),
        ("gaussian_classes", "data.means=[[nan,0],[1,2]]", "data.means=[[nan, 0], [1, 2]] is"),
        (
            "gaussian_classes",
            "data.cov=[[1,2],[2]]",
            "data.cov=[[1, 2], [2]] is not allowed: a 2x2 matrix of finite numbers",
        ),
        ("gaussian_classes", "data.cov=[[true,0],[0,1]]", "data.cov=[[True, 0], [0, 1]] is not"),
        ("gaussian_classes", "data.cov=[[inf,0],[0,1]]", "a 2x2 matrix of finite numbers"),
        ("three_gaussians", "data.covs=[[[1,0],[0,1]]]", "data.covs=[[[1, 0], [0, 1]]] is not"),
        ("three_gaussians", "data.covs=[1,2,3]", "3 2x2 matrices of finite numbers"),
        (
            "two_predictors",
            "data.x.cov=[[1,0],['b',1]]",
            "data.x.cov=[[1, 0], ['b', 1]] is not allowed: a 2x2 matrix of finite numbers",
        ),
        ("two_predictors", "data.x.cov=[[1]]", "data.x.cov=[[1]] is not allowed: a 2x2 matrix"),
        ("gaussian_classes", "data.means=null", "data.means"),
    ],
)
def test_bad_nested_numeric_lists_give_one_line(option: str, override: str, expected: str):
    with pytest.raises(ConfigError) as info:
        validate(compose([f"data={option}", override]))
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


# ------------------------------------------------ validation section by section = the whole
def _options(group: str) -> list[str]:
    return sorted(f"{group}={p.stem}" for p in (REPO / "conf" / group).glob("*.yaml"))


CONFIG_OVERRIDES = [
    [],
    *([o] for o in _options("data")),
    *([o] for o in _options("split")),
    *([o] for o in _options("model")),
    *([o] for o in _options("experiment")),
    ["seed=7", "name=other", "plots=true", "log_model=false"],
    ["tracking.enabled=false", "tracking.experiment=elsewhere"],
    ["data=iris", "split=stratified", "model=logistic"],
]


def _whole_or_error(plain: dict, sections):
    from ermlab.config import _validated_whole

    try:
        return _validated_whole(plain, sections)
    except ConfigError as err:
        return err


@pytest.mark.parametrize("overrides", CONFIG_OVERRIDES, ids=" ".join)
@pytest.mark.parametrize("sections", [None, ("seed", "data"), ("seed", "data", "split", "model")])
def test_validation_section_by_section_gives_the_whole_merge_config(overrides, sections):
    """validate's fast path (each section through its own schema, remembered) builds the very
    config that merging the whole config onto the Config schema builds: the same dataclasses,
    the same values and types (their repr), or it declines where the whole merge refuses."""
    from omegaconf import OmegaConf

    from ermlab.config import _validated_by_section

    plain = OmegaConf.to_container(compose(overrides), resolve=True)
    whole = _whole_or_error(plain, sections)
    fast = _validated_by_section(plain, sections)
    if isinstance(whole, ConfigError):
        assert fast is None
    else:
        assert repr(fast) == repr(whole)
        assert fast == whole


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("seed", "abc"),
        ("seed", -1),
        ("seed", 2.5),
        ("seed", None),
        ("name", None),
        ("plots", "sometimes"),
        ("tracking", {"experiment": ""}),
        ("tracking", {"bogus": 1}),
        ("tracking", {"enabled": "perhaps"}),
        ("model", {"_target_": "ermlab.models.ols.OLS", "fit_intercept": "???"}),
        ("model", ["not", "a", "node"]),
        ("study", {"no_name": 1}),
        ("data", {"kind": "linear", "n_train": "many"}),
        ("unknown_key", 1),
    ],
)
def test_validation_section_by_section_refuses_what_the_whole_merge_refuses(key, value):
    from omegaconf import OmegaConf

    from ermlab.config import _validated_by_section

    plain = OmegaConf.to_container(compose([]), resolve=True)
    plain[key] = {**(plain.get(key) or {}), **value} if isinstance(value, dict) else value
    whole = _whole_or_error(plain, None)
    assert isinstance(whole, ConfigError)
    assert _validated_by_section(plain, None) is None
    with pytest.raises(ConfigError, match="^" + re.escape(str(whole)) + "$"):
        validate(plain)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("data", {"n_test": "${n_train}"}),  # no top-level n_train: refused
        ("data", {"n_test": "${seed}"}),  # the top-level seed, as the whole merge reads it
        ("name", "${seed}"),
        ("data", {"target": "${name}"}),  # the top-level name, not data.name
    ],
)
def test_an_interpolation_left_in_a_plain_config_resolves_as_in_the_whole_merge(key, value):
    """A plain config (params.yaml) may hold a ``${...}`` still: it refers to the whole
    config, so validate resolves it as the whole merge does, never within one section."""
    from omegaconf import OmegaConf

    plain = OmegaConf.to_container(compose(["data=linnerud"]), resolve=True)
    plain[key] = {**plain[key], **value} if isinstance(value, dict) else value
    whole = _whole_or_error(plain, None)
    if isinstance(whole, ConfigError):
        with pytest.raises(ConfigError, match="^" + re.escape(str(whole)) + "$"):
            validate(plain)
    else:
        assert validate(plain) == whole


def test_a_model_argument_scikit_learn_refuses_stops_a_sweep_before_the_first_job(tmp_path):
    """scikit-learn checks its arguments' values only when fitting: the sweep checks them, as
    its fit would, before any job runs, and names the key."""
    proc = run_cmd(
        [
            "ermlab",
            "-m",
            "model=ridge",
            "model.alpha=1,-10",
            f"tracking.uri=sqlite:///{tmp_path}/m.db",
        ],
        tmp_path,
        check=False,
        ERMLAB_ROOT=str(REPO),
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "ermlab: error: model.alpha=-10: The 'alpha' parameter of Ridge must be a float in the "
        "range [0.0, inf) or an array-like. Got -10 instead."
    ]
    assert list(tmp_path.iterdir()) == []  # no store, no sweep folder
