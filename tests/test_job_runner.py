"""ermlab's job runner (``ermlab.sweeps.job``) against Hydra's own ``run_job``: the same job
folder, the same three ``.hydra`` files byte for byte, the same ``HydraConfig``, working
directory and environment inside the task, the same ``JobReturn``, and everything restored
afterwards."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobRuntime, JobStatus, setup_globals
from hydra.core.utils import run_job as hydra_run_job
from hydra.types import HydraContext
from omegaconf import OmegaConf

from ermlab.config import register_configs
from ermlab.paths import conf_dir
from ermlab.sweeps.job import hydra_view, run_job, to_yaml

ENV_KEY = "ERMLAB_JOB_RUNNER_TEST"


def job_config(sweep_dir: Path, *overrides: str):
    """A job's config as a launcher holds it: composed with its hydra node, job number set."""
    register_configs()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=[
                f"hydra.sweep.dir={sweep_dir}",
                f"+hydra.job.env_set.{ENV_KEY}=inside",
                *overrides,
            ],
            return_hydra_config=True,
        )
    OmegaConf.set_readonly(cfg.hydra, False)
    cfg.hydra.job.num = 3
    cfg.hydra.job.id = "job_3"
    return cfg


def observe(cfg):
    """What a task can see of its job."""
    if cfg.seed == 13:
        raise ValueError("a failing job")
    return {
        "output_dir": HydraConfig.get().runtime.output_dir,
        "job_num": HydraConfig.get().job.num,
        "cwd": os.getcwd(),
        "env": os.environ.get(ENV_KEY),
        "config": OmegaConf.to_yaml(cfg),
        "struct": OmegaConf.is_struct(cfg),
        "hydra_in_task": "hydra" in cfg,
    }


def run_both(sweep_dir: Path, *overrides: str):
    """(Hydra's JobReturn and .hydra files, ermlab's), for the same config."""
    setup_globals()
    JobRuntime.instance().set("name", "ermlab")
    results = []
    for runner in ("hydra", "ermlab"):
        config = job_config(sweep_dir, *overrides)
        before = (os.getcwd(), HydraConfig.instance().cfg, os.environ.get(ENV_KEY))
        if runner == "hydra":
            ret = hydra_run_job(
                task_function=observe,
                config=config,
                job_dir_key="hydra.sweep.dir",
                job_subdir_key="hydra.sweep.subdir",
                hydra_context=HydraContext(config_loader=None, callbacks=_callbacks()),
            )
        else:
            ret = run_job(observe, config)
        assert (os.getcwd(), HydraConfig.instance().cfg, os.environ.get(ENV_KEY)) == before
        folder = sweep_dir / "3" / ".hydra"
        files = {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}
        results.append((copy.copy(ret), files))
    return results


def _callbacks():
    from hydra._internal.callbacks import Callbacks

    return Callbacks()


@pytest.mark.parametrize("chdir", ["false", "true"])
def test_same_job_as_hydras_run_job(tmp_path: Path, chdir: str) -> None:
    overrides = (f"hydra.job.chdir={chdir}", "data.n_train=30", "model=ridge", "model.alpha=2")
    (theirs, their_files), (ours, our_files) = run_both(tmp_path / "sweep", *overrides)
    assert our_files == their_files
    assert sorted(our_files) == ["config.yaml", "hydra.yaml", "overrides.yaml"]
    assert ours.status == theirs.status == JobStatus.COMPLETED
    assert ours.return_value == theirs.return_value
    assert ours.return_value["env"] == "inside"
    assert ours.return_value["output_dir"] == str(tmp_path / "sweep" / "3")
    assert (ours.working_dir == str(tmp_path / "sweep" / "3")) is (chdir == "true")
    assert ours.working_dir == theirs.working_dir
    assert ours.overrides == theirs.overrides == list(overrides[1:])  # no hydra.* override
    assert ours.task_name == theirs.task_name
    assert OmegaConf.to_yaml(ours.cfg) == OmegaConf.to_yaml(theirs.cfg)
    assert OmegaConf.to_yaml(ours.hydra_cfg) == OmegaConf.to_yaml(theirs.hydra_cfg)


def test_a_failing_task_fails_the_same_way(tmp_path: Path) -> None:
    (theirs, _), (ours, _) = run_both(tmp_path / "sweep", "seed=13")
    assert ours.status == theirs.status == JobStatus.FAILED
    assert type(ours._return_value) is type(theirs._return_value) is ValueError


class TwoPartError(Exception):
    """A task's own error whose ``__init__`` takes other arguments than its ``args``: pickled,
    it does not come back (unpickling calls ``TwoPartError("what: why")``)."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def raise_two_part(cfg):
    raise TwoPartError("the fit", "went wrong")


def test_a_task_error_that_does_not_pickle_comes_back_as_a_copy_with_its_line(tmp_path: Path):
    """A worker's JobReturn travels back pickled: one that does not unpickle breaks the pool
    (every other job fails with it). The error comes back as a copy saying what it was."""
    import pickle

    from ermlab.errors import user_message
    from ermlab.sweeps.job import job_traceback

    with pytest.raises(TypeError):
        pickle.loads(pickle.dumps(TwoPartError("a", "b")))  # the case is real
    setup_globals()
    JobRuntime.instance().set("name", "ermlab")
    ret = pickle.loads(pickle.dumps(run_job(raise_two_part, job_config(tmp_path / "sweep"))))
    assert ret.status == JobStatus.FAILED
    err = ret._return_value
    assert user_message(err) == "TwoPartError: the fit: went wrong"
    assert 'raise TwoPartError("the fit", "went wrong")' in job_traceback(err)
    ret = run_job(observe, job_config(tmp_path / "sweep", "seed=13"))  # a picklable one
    assert type(ret._return_value) is ValueError


@pytest.mark.parametrize(
    "value",
    ["1", "1.5", "1e3", "true", "off", "yes", "null", "~", "a: b", "x" * 200, "é ü", "", "0x1F"],
)
def test_yaml_is_omegaconfs_byte_for_byte(value: str) -> None:
    cfg = OmegaConf.create(
        {"s": value, "n": 1, "f": 0.1, "b": True, "none": None, "l": [value, 2], "d": {"k": value}}
    )
    assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)


def test_hydra_view_is_hydras_set_config_without_the_copy(tmp_path: Path) -> None:
    """The same HydraConfig as Hydra's set_config (an interpolation from the hydra node into
    the task's keys included), sharing the job's hydra node instead of copying it."""
    config = job_config(tmp_path, "name=from_the_task", "hydra.job.name=${name}")
    view = hydra_view(config)
    theirs = HydraConfig.instance()  # Hydra's singleton: put back as it was
    before = theirs.cfg
    try:
        theirs.set_config(job_config(tmp_path, "name=from_the_task", "hydra.job.name=${name}"))
        assert OmegaConf.to_yaml(view) == OmegaConf.to_yaml(theirs.cfg)
        assert view.hydra.job.name == theirs.cfg.hydra.job.name == "from_the_task"
    finally:
        theirs.cfg = before
    assert view._get_node("hydra") is config._get_node("hydra")
    assert OmegaConf.is_readonly(view.hydra)


def test_task_part_is_hydras_copy_without_the_copy(tmp_path: Path) -> None:
    """The task's config as Hydra's run_job makes it (a deep copy, its hydra node deleted):
    the same YAML, flags, node types and errors, interpolations between task keys and from
    the hydra node into them resolving, while its nodes are the job config's own."""
    from omegaconf import open_dict, read_write
    from omegaconf.errors import ConfigAttributeError, ValidationError

    from ermlab.sweeps.job import task_part

    overrides = ("name=${data.kind}_run", "hydra.job.name=${name}", "model=ridge")
    config = job_config(tmp_path, *overrides)
    theirs = copy.deepcopy(job_config(tmp_path, *overrides))
    with read_write(theirs), open_dict(theirs):
        del theirs["hydra"]
    ours = task_part(config)
    assert OmegaConf.to_yaml(ours, resolve=True) == OmegaConf.to_yaml(theirs, resolve=True)
    assert OmegaConf.to_yaml(ours) == OmegaConf.to_yaml(theirs)
    assert "hydra" not in ours and ours.name == theirs.name == f"{theirs.data.kind}_run"
    assert config.hydra.job.name == ours.name
    for flag in (OmegaConf.is_struct, OmegaConf.is_readonly):
        assert flag(ours) == flag(theirs) and flag(ours.model) == flag(theirs.model)
    for key in ("data", "split", "model", "tracking"):
        assert OmegaConf.get_type(ours, key) is OmegaConf.get_type(theirs, key)
        assert ours._get_node(key) is config._get_node(key)
    for cfg in (ours, theirs):
        with pytest.raises(ConfigAttributeError):
            cfg.no_such_key = 1
        with pytest.raises(ValidationError):
            cfg.seed = "not a number"


def test_yaml_section_by_section_follows_every_change(tmp_path: Path) -> None:
    """to_yaml reuses the YAML of sections that did not change since the last call: every
    call still equals OmegaConf's, whichever sections change, come back or disappear."""
    configs = [
        {"hydra": {"job": {"num": 1, "name": "a"}, "help": {"text": "long " * 40}}},
        {"hydra": {"job": {"num": 2, "name": "a"}, "help": {"text": "long " * 40}}},
        {"hydra": {"job": {"num": 2, "name": "a"}, "help": {"text": "other"}, "new": [1, "2"]}},
        {"hydra": {"job": {"num": 1, "name": "a"}, "help": {"text": "long " * 40}}},
        {"hydra": {"job": {"num": 1.0, "name": "a"}, "help": {"text": "long " * 40}}},
        {"hydra": {"job": {"num": "1", "name": "a"}, "help": {"text": "long " * 40}}},
        {"hydra": {"job": {}, "help": None}},
        {"seed": 1, "data": {"n": 10}, "hydra": {"x": 1}},
        {"seed": True, "data": {"n": 10}},
        {"only": {"a": 1}},
        {"only": 3},
        {"on": {"yes": "no"}},
        {"k" * 130: {"a": 1, "b": 2}},  # a complex key: "? key" rather than "key:"
        {"a\nb": {"a": 1, "b": 2}},
        {},
        [1, {"a": 2}],
    ]
    for cfg in map(OmegaConf.create, configs + configs[::-1]):
        assert to_yaml(cfg) == OmegaConf.to_yaml(cfg)
    for seed in range(3):  # a sweep's jobs: the hydra node and the task's config
        config = job_config(tmp_path, f"seed={seed}", f"hydra.sweep.subdir={seed}")
        for node in (hydra_view(config), config.hydra.overrides.task):
            assert to_yaml(node) == OmegaConf.to_yaml(node)


def test_ermlabs_own_errors_are_said_without_their_class_name():
    """DataError, StoreError, ...: their messages name the file or key; another library's
    error keeps its type, which may be all that says what kind of failure it is."""
    from ermlab.data import DataError
    from ermlab.errors import user_message

    assert user_message(DataError("data.csv: no such file")) == "data.csv: no such file"
    assert user_message(KeyError("x")) == "KeyError: 'x'"
