"""One sweep job, set up as Hydra's ``run_job`` sets it up, at a fraction of its cost.

Hydra's ``hydra.core.utils.run_job`` copies a job's config four times (two ``HydraConfig``
masked copies, two deep copies) and writes its three ``.hydra/*.yaml`` files with PyYAML's
pure-Python emitter: about 30 ms a job, more than fitting and evaluating a small model.
:func:`run_job` does the same steps in the same order, with the same results (output folder,
``hydra.runtime.output_dir``, ``HydraConfig``, the working directory, the job's logging, the
three files byte for byte, ``env_set``, the ``JobReturn``), copying only the task's part of
the config (``HydraConfig`` shares the job's hydra node: :func:`hydra_view`) and writing YAML
with libyaml's emitter. Callbacks are not called here: ermlab's launchers call
them in the launching process, where the sweep's state lives.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf, flag_override, open_dict, read_write

JOB_DIR_KEY = "hydra.sweep.dir"
JOB_SUBDIR_KEY = "hydra.sweep.subdir"


def run_job(task_function: Callable[[DictConfig], Any], config: DictConfig):
    """Run ``task_function`` on one job's composed ``config`` (with its ``hydra`` node, this
    job's own copy, changed in place) in the job's folder ``hydra.sweep.dir/hydra.sweep.subdir``;
    returns Hydra's ``JobReturn`` (status FAILED, with the exception, when the task raised)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.core.utils import (
        JobReturn,
        JobRuntime,
        JobStatus,
        _flush_loggers,
        configure_log,
        env_override,
    )

    old_cwd = os.getcwd()
    hydra_config = HydraConfig.instance()
    previous = hydra_config.cfg
    hydra_config.cfg = hydra_view(config)  # the sub-folder may interpolate ${hydra:...}
    folder, subfolder = (str(OmegaConf.select(config, k)) for k in (JOB_DIR_KEY, JOB_SUBDIR_KEY))
    output_dir = os.path.abspath(os.path.join(folder, subfolder))
    runtime = config.hydra.runtime
    with read_write(runtime), open_dict(runtime):
        runtime.output_dir = output_dir
    chdir = bool(hydra_config.cfg.hydra.job.chdir)
    try:
        task_config = task_part(config)
        ret = JobReturn(
            overrides=OmegaConf.to_container(config.hydra.overrides.task),
            cfg=task_config,
            hydra_cfg=hydra_config.cfg,  # this job's own hydra node: the next job has another
        )
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        if chdir:
            os.chdir(output_dir)
        ret.working_dir = os.getcwd()
        configure_log(config.hydra.job_logging, config.hydra.verbose)
        if config.hydra.output_subdir is not None:
            folder = Path(output_dir) / str(config.hydra.output_subdir)
            folder.mkdir(parents=True, exist_ok=True)
            save_yaml(task_config, folder / "config.yaml")
            save_yaml(ret.hydra_cfg, folder / "hydra.yaml")
            save_yaml(config.hydra.overrides.task, folder / "overrides.yaml")
        with env_override(OmegaConf.to_container(ret.hydra_cfg.hydra.job.env_set)):
            try:
                ret.return_value = task_function(task_config)
                ret.status = JobStatus.COMPLETED
            except Exception as err:
                from ermlab.errors import copied_if_unpicklable

                keep_traceback(err)
                ret.return_value = copied_if_unpicklable(err)  # it may travel back pickled
                ret.status = JobStatus.FAILED
        ret.task_name = JobRuntime.instance().get("name")
        _flush_loggers()
        return ret
    finally:
        hydra_config.cfg = previous
        if chdir:
            os.chdir(old_cwd)


TRACEBACK_NOTE = "ermlab: the job's traceback, where it ran:\n"  # starts keep_traceback's note


def keep_traceback(err: BaseException) -> None:
    """Add to ``err`` a note holding its whole traceback, as Python prints it: an exception
    sent back from a worker process or another machine is pickled without its traceback,
    notes included, and the launching process reports it (:func:`job_traceback`)."""
    import traceback

    err.add_note(TRACEBACK_NOTE + "".join(traceback.format_exception(err)).rstrip())


def job_traceback(err: BaseException) -> str:
    """The traceback of a job's error, as Python prints it: kept by :func:`keep_traceback`
    where the job ran, or, for an error raised in this process, its own."""
    import traceback

    for note in getattr(err, "__notes__", None) or []:
        if note.startswith(TRACEBACK_NOTE):
            return note[len(TRACEBACK_NOTE) :]
    return "".join(traceback.format_exception(err)).rstrip()


def hydra_view(config: DictConfig) -> DictConfig:
    """``HydraConfig``'s config for a job: a root holding only ``config.hydra`` (read-only),
    whose parent stays ``config`` so that its interpolations resolve, as Hydra's
    ``HydraConfig.set_config`` makes it, but sharing the node instead of copying it (a copy
    costs milliseconds a job; a job's config is its own, made for it by the launcher)."""
    from hydra.conf import HydraConf

    node = config._get_node("hydra")
    assert issubclass(OmegaConf.get_type(config, "hydra"), HydraConf)
    OmegaConf.set_readonly(node, True)
    view = OmegaConf.create()
    with flag_override(view, "no_deepcopy_set_nodes", True):
        view.hydra = node
    node._set_parent(config)
    return view


def task_part(config: DictConfig) -> DictConfig:
    """The task's config: ``config`` without its ``hydra`` node, flags kept (Hydra's
    ``deepcopy`` then ``del cfg.hydra``). Its nodes are ``config``'s own, not copies, as in
    :func:`hydra_view`: a job's config is made for that job alone, and copying it costs
    milliseconds a job. The task's nodes now belong to the returned root: they find their
    siblings there, and ``config``'s hydra node still finds them in ``config``; a task key
    interpolating ``${hydra.x}`` no longer resolves through ``config`` (in Hydra's copy it
    resolves through neither), and a change to one config is a change to the other."""
    task = OmegaConf.create()
    with flag_override(task, "no_deepcopy_set_nodes", True):
        for key in config:
            if key != "hydra":
                task[key] = config._get_node(key)
    OmegaConf.set_struct(task, OmegaConf.is_struct(config))
    OmegaConf.set_readonly(task, OmegaConf.is_readonly(config))
    return task


def to_yaml(cfg: Any) -> str:
    """``OmegaConf.to_yaml(cfg)``, byte for byte for what configs hold (libyaml escapes
    characters beyond the BMP and NEL where PyYAML prints them), emitted by libyaml instead
    of pure Python, section by section: a block mapping's YAML is its keys' YAML one after
    another, and a section that has not changed since the last job (most of ``hydra.yaml``:
    help, launcher, logging; most of ``config.yaml`` in a sweep of one key) is not emitted
    again."""
    container = OmegaConf.to_container(cfg, enum_to_str=True)
    if not isinstance(container, dict) or not container:
        return _dump(container)
    if len(container) == 1 and isinstance(inner := next(iter(container.values())), dict) and inner:
        # {"hydra": {...}}: one header line, then the sections of the inner mapping.
        (key,) = container
        texts = [_section((key, k), {key: {k: v}}) for k, v in inner.items()]
        header = texts[0][: texts[0].index("\n") + 1]
        if header.startswith("?"):  # a complex key (long, multi-line): no plain header line
            return _dump(container)
        return header + "".join(text[len(header) :] for text in texts)
    return "".join(_section((k,), {k: v}) for k, v in container.items())


# The last YAML emitted for each section path, with the repr of the value it was emitted from
# (repr tells apart every value a config holds: str, int, float, bool, None, lists, dicts).
_SECTIONS: dict[tuple[str, ...], tuple[str, str]] = {}


def _section(path: tuple[str, ...], mapping: dict) -> str:
    value = repr(mapping)
    last = _SECTIONS.get(path)
    if last is None or last[0] != value:
        last = _SECTIONS[path] = (value, _dump(mapping))
    return last[1]


def _dump(container: Any) -> str:
    return yaml.dump(
        container, default_flow_style=False, allow_unicode=True, sort_keys=False, Dumper=_Dumper
    )


def save_yaml(cfg: Any, path: Path) -> None:
    """Write :func:`to_yaml` of ``cfg`` to ``path`` (as Hydra's ``_save_config`` does)."""
    path.write_text(to_yaml(cfg), encoding="utf-8")


def _dumper() -> type:
    """A libyaml dumper with OmegaConf's rule for strings: quoted when they would read back
    as a bool, an int or a float."""
    from omegaconf._utils import OmegaConfDumper

    base = getattr(yaml, "CDumper", yaml.Dumper)  # PyYAML built without libyaml: still right

    class Dumper(base):  # type: ignore[misc, valid-type]
        pass

    Dumper.add_representer(str, OmegaConfDumper.str_representer)
    return Dumper


_Dumper = _dumper()
