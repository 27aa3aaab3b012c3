"""ermlab's Hydra sweeper (``hydra/sweeper=ermlab``, the default in ``conf/config.yaml``).

Hydra's basic sweeper (the same grammar, the same job list), with three changes:

- each sweep claims a folder of its own (:func:`claim_folder`): two sweeps started in the
  same second never share one;
- the jobs run on ermlab's launchers (:mod:`ermlab.sweeps.launch`): Hydra's ``basic``
  launcher config runs on :class:`~ermlab.sweeps.launch.SerialLauncher`, the joblib
  plugin's (``hydra/launcher=joblib``, its ``n_jobs`` and ``backend``) on
  :class:`~ermlab.sweeps.launch.JoblibLauncher`, hydra-submitit-launcher's
  (``hydra/launcher=submitit_slurm|submitit_local``) on
  :class:`~ermlab.sweeps.launch.SubmititLauncher`: the same processes, plus cached
  composition, resume and the progress line;
- resume: a job whose config already has a FINISHED run is reused unless ``rerun``
  (``hydra.sweeper.rerun=true``).
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import DictConfig, open_dict

from ermlab import signals
from ermlab.sweeps import launch

# Hydra's launcher configs that ermlab runs on its own launchers (see the module docstring).
STOCK_LAUNCHERS = {
    "hydra._internal.core_plugins.basic_launcher.BasicLauncher": "serial",
    "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher": "joblib",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher": "local",
    "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher": "slurm",
}


class SweepFolderSweeper(BasicSweeper):
    """Hydra's ``BasicSweeper`` with a collision-free ``hydra.sweep.dir``, ermlab's launchers
    and resume; ``rerun=True`` runs every job even if its config has a FINISHED run."""

    def __init__(self, max_batch_size: int | None = None, params=None, rerun: bool = False):
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.rerun = rerun

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        from ermlab.config import ConfigError

        super().setup(hydra_context=hydra_context, task_function=task_function, config=config)
        self.setup_error: ConfigError | None = None
        try:
            check_rerun(self.rerun)
            replacement = ermlab_launcher(config.hydra.launcher)
        except ConfigError as err:  # raised by sweep(), where it ends in one line
            self.setup_error, replacement = err, None
        if replacement is not None:
            replacement.setup(
                hydra_context=hydra_context, task_function=task_function, config=config
            )
            self.launcher = replacement
        if isinstance(self.launcher, launch.SweepLauncher):
            self.launcher.rerun = self.rerun

    def sweep(self, arguments: list[str]):
        """Hydra's sweep in a folder of its own; a user error of the sweep itself (its start,
        a launcher's) ends it in one line with exit status 2, not Hydra's traceback."""
        from ermlab import collector
        from ermlab.errors import EXIT_USER_ERROR, USER_ERRORS, report
        from ermlab.sweeps.tracker import raise_failed_start, record_sweep_error

        try:
            raise_failed_start()
            if self.setup_error is not None:
                raise self.setup_error
            collector.resume()  # whichever launcher runs the jobs (see ermlab.collector)
            folder = claim_folder(Path(str(self.config.hydra.sweep.dir)))
            with open_dict(self.config):
                self.config.hydra.sweep.dir = str(folder)
            return super().sweep(arguments)
        except USER_ERRORS as err:
            signals.raise_if_interrupted(err)
            if os.environ.get("ERMLAB_DEBUG"):
                raise
            report("ermlab", err)
            record_sweep_error(err)
            sys.exit(EXIT_USER_ERROR)  # ermlab.cli ends the parent run FAILED

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        # ermlab's launchers compose every job of the batch before they start the first one,
        # so a composition error stops the batch anyway: composing it here too is only cost.
        if not isinstance(self.launcher, launch.SweepLauncher):
            super().validate_batch_is_legal(batch)


def check_rerun(rerun: object) -> None:
    """Refuse a ``hydra.sweeper.rerun`` that is not a boolean (a string would be true: every
    job would run again)."""
    from ermlab.config import ConfigError

    if type(rerun) is not bool:
        raise ConfigError(f"hydra.sweeper.rerun={rerun} is not allowed: true or false")


def check_launcher_settings(launcher_config: DictConfig) -> None:
    """Check the settings of the launcher the sweep will run on (``n_jobs``, ``backend``,
    ``num_cpus``, ``address``'s form) before anything is written: each launcher's constructor
    refuses what it cannot run, in one line (ConfigError). Whether a Ray cluster answers is
    asked only when a job is to be sent there (a resumed sweep may need none)."""
    ermlab_launcher(launcher_config)
    if launcher_config.get("_target_") == RAY_LAUNCHER:
        launch.RayLauncher(launcher_config.get("address"), launcher_config.get("num_cpus", 1))


RAY_LAUNCHER = "hydra_plugins.ermlab_plugin.launchers.ErmlabRayLauncher"


def ermlab_launcher(launcher_config: DictConfig) -> launch.SweepLauncher | None:
    """ermlab's launcher for one of Hydra's stock launcher configs, or None for any other."""
    kind = STOCK_LAUNCHERS.get(launcher_config.get("_target_"))
    if kind == "serial":
        return launch.SerialLauncher()
    if kind == "joblib":
        backend = launcher_config.get("backend") or launch.JoblibLauncher.DEFAULT_BACKEND
        return launch.JoblibLauncher(n_jobs=launcher_config.get("n_jobs", -1), backend=backend)
    if kind in ("local", "slurm"):
        return launch.SubmititLauncher(cluster=kind)
    return None


def claim_folder(wanted: Path) -> Path:
    """Create and return ``wanted`` as an absolute path, or, if it exists already (another
    sweep started in the same second, or an earlier one named it), ``wanted-2``, ``wanted-3``,
    ...: the first that did not exist. ``mkdir`` without ``exist_ok`` is atomic, so two sweeps
    racing for one name never both get it."""
    wanted = wanted.absolute()
    wanted.parent.mkdir(parents=True, exist_ok=True)
    for n in itertools.count(1):
        candidate = wanted if n == 1 else wanted.with_name(f"{wanted.name}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise AssertionError("unreachable")
