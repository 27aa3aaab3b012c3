"""The ``ermlab`` Hydra app: the four steps in one process, for one config or a sweep.

    ermlab model=torch_linear data.n_train=50
    ermlab -m model=ols,sklearn_linear,torch_linear data.n_train=10,100,1000

A sweep records one MLflow parent run with one child run per job and ends with a table of
the results. Every config of a sweep is composed and validated before the first job starts,
so a bad value stops everything with one line, before anything is written.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ermlab import collector, run_folder, signals
from ermlab.config import ConfigError, register_configs, validate
from ermlab.errors import EXIT_USER_ERROR, USER_ERRORS, exit_on_user_error, report, user_message
from ermlab.sweeps.tracker import FAILED, PARENT_RUN_ENV, finish_open_sweeps


def validation_jobs(argv: list[str]) -> list[list[str]]:
    """The override lists to check before launching (``hydra.*`` overrides and flags left
    out): the first value of every sweep, then each other swept value once. A bad value is
    caught by one composition, without composing the whole product of a large sweep; what
    depends on a combination of values (sizes) is checked when its job runs."""
    choices = [_values(o) for o in _parsed_overrides(argv) if not o.is_hydra_override()]
    base = [values[0] for values in choices]
    jobs = [base]
    for i, values in enumerate(choices):
        jobs += [[*base[:i], value, *base[i + 1 :]] for value in values[1:]]
    return jobs


def hydra_overrides(argv: list[str]) -> list[str]:
    """The ``hydra.*`` and ``hydra/...`` overrides of the command line.

    Raises
    ------
    ConfigError for a swept one (``hydra.launcher.n_jobs=1,2``)."""
    hydra = [o for o in _parsed_overrides(argv) if o.is_hydra_override()]
    for override in hydra:
        _refuse_hydra_sweep(override)
    return [_values(o)[0] for o in hydra]


def _refuse_hydra_sweep(override) -> None:
    """Hydra sweeps the experiment's keys, never its own (it stops in two lines of its own)."""
    if override.is_hydra_override() and override.is_sweep_override():
        raise ConfigError(
            f"{override.input_line} is not allowed: Hydra's own keys (hydra.*, hydra/...) take "
            "one value; a sweep goes over the experiment's keys"
        )


def _values(override) -> list[str]:
    """An override line per value of ``override`` (one unless it is swept).

    Raises
    ------
    ConfigError naming a sweep with no value (``seed=range(5,0)``) or one Python refuses
    (``seed=range(0,10,0)``)."""
    from hydra.errors import HydraException

    if not override.is_sweep_override():
        return [override.input_line]
    try:
        values = list(override.sweep_string_iterator())
    except ValueError as err:  # range(0,10,0)
        raise ConfigError(f"{override.input_line} is not allowed: {err}") from None
    except HydraException:  # interval(1,2): not a list of values
        raise ConfigError(
            f"{override.input_line} is not allowed: interval() is a continuous range, which "
            "only an optimizing sweeper samples; give values (a,b,c), range(...) or choice(...)"
        ) from None
    if not values:
        raise ConfigError(
            f"{override.input_line} is not allowed: it sweeps no value (a range's stop must "
            "lie beyond its start, in the step's direction)"
        )
    return [f"{override.get_key_element()}={v}" for v in values]


def _parsed_overrides(argv: list[str]) -> list:
    """The overrides of ``argv`` as Hydra's parser reads them (flags and their values left
    out: Hydra's own command-line parser).

    Raises
    ------
    ConfigError naming the override that does not parse."""
    from hydra._internal.utils import get_args_parser
    from hydra.core.override_parser.overrides_parser import OverridesParser

    # Hydra's own command-line parser: flags and their values are never taken for overrides,
    # and every override form it documents (key=value, +key=value, ++key=value, ~key) is kept.
    tokens = get_args_parser().parse_known_args(argv)[0].overrides
    parser = OverridesParser.create()
    try:
        return parser.parse_overrides(tokens)
    except Exception as err:  # a grammar error: name the override it is about
        bad = next((t for t in tokens if not _parses(parser, t)), " ".join(tokens))
        # Hydra's last line points to its grammar's page ("See https://... for details").
        lines = [" ".join(line.split()) for line in str(err).splitlines() if line.strip()]
        said = "; ".join("see" + ln[3:] if ln.startswith("See ") else ln for ln in lines)
        raise ConfigError(f"{bad}: {said}") from None


def _parses(parser, token: str) -> bool:
    try:
        parser.parse_overrides([token])
    except Exception:
        return False
    return True


def prevalidate(argv: list[str]) -> int:
    """Compose and validate the jobs of :func:`validation_jobs` and build each distinct model
    (its arguments are checked then); returns the number of compositions checked."""
    import json

    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ermlab import models
    from ermlab.config import one_line, to_dict
    from ermlab.paths import file_in_the_way
    from ermlab.sweeps.compose import app_composer

    refuse_sweep_without_multirun(argv)
    jobs = validation_jobs(argv)
    composer = app_composer()  # one composition per choice of config groups, not per job
    built = set()
    for count, overrides in enumerate(jobs):
        if count == COMPOSITIONS_BEFORE_COLLECTING:
            collector.resume()
        try:
            cfg = composer.compose(overrides)
        except (HydraException, OmegaConfBaseException) as err:
            raise ConfigError(one_line(err)) from None
        config = validate(cfg)
        key = json.dumps(to_dict(config)["model"], sort_keys=True)
        if key not in built:
            models.build(config.model, config.seed)
            built.add(key)
    hydra_given = hydra_overrides(argv)
    for override in hydra_given:
        key, _, value = override.partition("=")
        if key in FREE_FORM_HYDRA_KEYS and (blocker := file_in_the_way(Path(value))):
            raise ConfigError(f"{override} is not allowed: {blocker} is a file, not a folder")
    if any(o.split("=")[0] not in FREE_FORM_HYDRA_KEYS for o in hydra_given):
        _check_hydra_config([*jobs[0], *hydra_given])
    return len(jobs)


def refuse_sweep_without_multirun(argv: list[str]) -> None:
    """A swept value (``seed=range(3)``, ``model=ols,ridge``) in a command without ``-m``:
    Hydra would stop with three lines of its own; this says it in one, with the fix.

    Raises
    ------
    ConfigError naming the first swept override."""
    from hydra._internal.utils import get_args_parser

    if get_args_parser().parse_known_args(argv)[0].multirun:
        return
    parsed = _parsed_overrides(argv)
    mode = next((o.value() for o in parsed if o.get_key_element() == "hydra.mode"), None)
    if str(mode).upper() == "MULTIRUN":  # hydra.mode=MULTIRUN: Hydra's other way to say -m
        return
    if (swept := _first_swept(parsed)) is not None:
        raise ConfigError(
            f"{swept} is a sweep, which needs -m: ermlab -m {swept} (or one value, "
            f"{swept.split('=')[0]}=...)"
        )


def first_swept(argv: list[str]) -> str | None:
    """The first override of ``argv`` that sweeps (``seed=range(3)``, ``model=ols,ridge``),
    as written, or None.

    Raises
    ------
    ConfigError for a swept ``hydra.*`` key: Hydra sweeps the experiment's keys only."""
    return _first_swept(_parsed_overrides(argv))


def _first_swept(parsed: list) -> str | None:
    """:func:`first_swept` of overrides parsed already."""
    for override in parsed:
        _refuse_hydra_sweep(override)
        if override.is_sweep_override():
            return override.input_line
    return None


# Output folders: any string is a folder, and composing the hydra node to check one would cost
# 50 ms a command.
FREE_FORM_HYDRA_KEYS = {"hydra.run.dir", "hydra.sweep.dir"}


def _check_hydra_config(overrides: list[str]) -> None:
    """Compose the ``hydra`` node the command's ``hydra.*`` overrides make and check ermlab's
    launcher and sweeper settings in it (a launcher or sweeper option that does not exist, a
    value of the wrong type, a key the launcher has not, ``n_jobs=0``), so that a mistake
    there is one line before anything is written, not Hydra's page.

    Raises
    ------
    ConfigError in one line."""
    from ermlab.config import compose
    from ermlab.sweeps.sweeper import check_launcher_settings, check_rerun

    hydra = compose(overrides, return_hydra_config=True).hydra
    check_launcher_settings(hydra.launcher)
    check_rerun(hydra.sweeper.get("rerun", False))


# A composition leaves about 0.1 MB of garbage: prevalidating a large sweep with the collector
# paused for start-up (ermlab.collector) would hold it all, so it resumes after this many (the
# garbage of those, about 10 MB, is frozen with start-up's objects, for the process's life).
COMPOSITIONS_BEFORE_COLLECTING = 100


class StudyCheckFailed(RuntimeError):
    """A study ran, but some published number was not reproduced (see its report.md)."""


def task(cfg) -> dict[str, Any]:
    """One job: validate, run the four steps (or a study), print the risks; returns the flat
    metrics. A user error ends a single run with one line and exit status 2; in a sweep the job
    is recorded as failed and the others go on."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    collector.resume()  # a single run's work starts here
    config = validate(cfg)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    single = HydraConfig.get().mode == RunMode.RUN
    keep = run_folder.entries_before(out_dir, HydraConfig.get().job.name)
    try:
        if config.study is not None:
            return study_task(config, out_dir)
        return run_task(config, out_dir)
    except KeyboardInterrupt:
        if single:  # a refused or interrupted run leaves no output folder
            run_folder.discard(out_dir, keep, Path.cwd())
        raise
    except USER_ERRORS as err:
        signals.raise_if_interrupted(err)
        if os.environ.get("ERMLAB_DEBUG"):
            raise
        if not single:
            # The other jobs go on. The sweep prints this job's line as it ends, in the
            # launching process (a worker's or another machine's output may not be seen
            # there); the table marks it and the exit status is 2.
            return {FAILED: user_message(err)}
        report("ermlab", err)
        if not isinstance(err, StudyCheckFailed):  # its report.md says what failed
            run_folder.discard(out_dir, keep, Path.cwd())
            sys.exit(EXIT_USER_ERROR)
        return {FAILED: user_message(err)}


def run_task(config, out_dir: Path) -> dict[str, float]:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from ermlab.evaluate import metric_names, risk_table
    from ermlab.pipeline import run
    from ermlab.sweeps.store import group_choices
    from ermlab.tracking import run_link

    hydra = HydraConfig.get()
    overrides = list(hydra.overrides.task)
    in_sweep = hydra.mode == RunMode.MULTIRUN
    choices = group_choices(hydra.runtime.choices)
    result = run(config, out_dir, os.environ.get(PARENT_RUN_ENV), overrides, in_sweep, choices)
    if in_sweep:  # the sweep's table says it all, and a terminal shows one progress line
        return metric_names(result.metrics)
    print(risk_table(result.metrics))
    if result.summary is not None:
        print(f"\n{result.summary.text()}")
    run_folder.announce(out_dir, run_link(config.tracking, result.run_id))
    return metric_names(result.metrics)


def study_task(config, out_dir: Path) -> dict[str, float]:
    """``ermlab experiment=<study>``: the study's sweep in this process, then its verification
    (report.md and report.json in the run's output folder)."""
    from ermlab.studies.runner import run_study, study_module, verify_study

    results = run_study(config, out_dir)
    if not hasattr(study_module(config.study["name"]), "verify"):
        return {}
    if not verify_study(config, results, out_dir):
        raise StudyCheckFailed(f"some published numbers were not reproduced: {out_dir}/report.md")
    return {"verify/passed": 1.0}


MULTIRUN_FLAGS = ("-m", "--multirun")


def multirun_first(argv: list[str]) -> list[str]:
    """``argv`` with ``-m`` moved before the overrides: Hydra's command-line parser takes the
    overrides as one run of positional arguments, so ``ermlab data=polynomial -m
    model.degree=1,3`` would stop at ``-m`` and refuse the rest with its usage text."""
    flags = [a for a in argv if a in MULTIRUN_FLAGS]
    return [*flags, *(a for a in argv if a not in MULTIRUN_FLAGS)]


VERSION_OF = ("hydra-core", "mlflow", "dvc", "scikit-learn", "torch", "numpy")


def versions() -> str:
    """``ermlab --version``: ermlab's version, then Python's and those of the libraries that
    decide its numbers and records (Hydra alone would print its own, as ``Hydra 1.3.8``)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    libraries = ", ".join(f"{name} {of(name)}" for name in VERSION_OF)
    return f"ermlab {of('ermlab')} (Python {platform.python_version()}, {libraries})"


HELP_FLAGS = {"--help", "-h"}
SCHEMA_GROUP = "schema/"  # the typed bases that config options extend (ermlab.config)


def app_help(app) -> str:
    """``ermlab --help`` as Hydra writes it from ``hydra.help`` (``conf/config.yaml``), less
    the ``schema/*`` groups: Hydra lists every group but its own, and those are no options a
    user chooses (``data=linear`` is not one; ``schema/data`` holds the base that
    ``data=height_weight`` extends). ``app`` is the ``hydra.main`` app, ``sys.argv`` holds
    ``--help`` and the overrides whose config the help shows."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()) as written:
        try:
            app()
        except SystemExit as exit_:  # Hydra exits 0 once it has printed the help
            if exit_.code not in (0, None):
                raise
    lines = written.getvalue().splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith(SCHEMA_GROUP))


@exit_on_user_error("ermlab")
def main() -> None:
    """Console entry point ``ermlab``."""
    collector.pause()  # until the work starts: see ermlab.collector
    import hydra

    from ermlab.models.arguments import plain_overrides
    from ermlab.paths import conf_dir

    signals.install()  # SIGTERM ends the run KILLED, as Ctrl-C does
    register_configs()
    sys.argv[1:] = plain_overrides(multirun_first(sys.argv[1:]), conf_dir())  # model.<arg>=value
    app = hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")(task)
    try:
        if "--version" in sys.argv[1:]:
            print(versions())
            return
        if HELP_FLAGS & set(sys.argv[1:]):
            prevalidate(sys.argv[1:])  # a bad override in one line, not in Hydra's
            # Hydra composes the help's config as one run: a sweep shows its first job's.
            sys.argv[1:] = ["--help", *validation_jobs(sys.argv[1:])[0]]
            print(app_help(app), end="")
            return
        if not {"--hydra-help", "--info", "--cfg", "-c"} & set(sys.argv[1:]):
            prevalidate(sys.argv[1:])
        app()
    except KeyboardInterrupt as interrupt:
        finish_open_sweeps("KILLED")  # the job's own run is already KILLED (tracked_run)
        signals.exit_interrupted("ermlab", interrupt)
    except SystemExit as exit_:
        # Hydra exits 1 on any failure; a failed job has already said why in one line.
        if exit_.code not in (0, None) and (interrupt := signals.interrupt_behind(exit_)):
            # Hydra reported an error that a signal caused (raised in OmegaConf as it was
            # composing a job, say): the signal it stands for.
            finish_open_sweeps("KILLED")
            signals.exit_interrupted("ermlab", interrupt)
        if exit_.code not in (0, None):
            finish_open_sweeps("FAILED")  # a sweep that crashed leaves no parent RUNNING
            sys.exit(EXIT_USER_ERROR if exit_.code == 1 else exit_.code)
        raise
    except Exception:  # HYDRA_FULL_ERROR=1 or ERMLAB_DEBUG: the error itself, after the run
        finish_open_sweeps("FAILED")
        raise
