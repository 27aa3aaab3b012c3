"""Resuming a sweep: a job whose resolved config already has a FINISHED run in the experiment
is not run again; its run and metrics are reused.

A run is reused when it has the job's :func:`ermlab.tracking.config_tags`: the hash of its
resolved config and the hash of the code that computed it, tags every run carries. So a job
killed half-way (its run FAILED or still RUNNING) runs again, and so does one whose value,
seed or code default changed, or whose code did (a bug fixed, a library upgraded).
"""

from __future__ import annotations

from omegaconf import DictConfig

REUSED = "reused_run"  # the key a reused job's return value carries, with the reused run id

# Whether the experiment had a FINISHED config-tagged run when this process first asked, by
# (sweep folder, tracking URI, experiment); the sweep folder is each sweep's own
# (ermlab.sweeps.sweeper), so a later sweep in the same process (a notebook, a reused worker)
# asks again.
_HAD_FINISHED_CONFIGS: dict[tuple[str, str, str], bool] = {}


def _nothing_to_reuse(sweep_dir: str, tracking) -> bool:
    from ermlab.tracking import has_finished_configs

    key = (sweep_dir, str(tracking.uri), str(tracking.experiment))
    if key not in _HAD_FINISHED_CONFIGS:
        _HAD_FINISHED_CONFIGS[key] = has_finished_configs(tracking)
    return not _HAD_FINISHED_CONFIGS[key]


def reuse_finished_run(job_config: DictConfig):
    """A completed Hydra ``JobReturn`` carrying the metrics of the FINISHED run that has this
    job's config and code hashes (and :data:`REUSED`: that run's id), or None when there is
    none, when tracking is off, or when the config does not validate (the job then runs, and
    says why)."""
    from hydra.core.utils import JobReturn, JobStatus
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from ermlab.config import ConfigError, TrackingConfig, to_dict, validate
    from ermlab.sweeps.job import task_part
    from ermlab.tracking import config_tags, find_finished_run

    try:
        # The tracking node alone first: in a new experiment (nothing to reuse) the job's
        # config is validated once, by the job, not here too.
        node = OmegaConf.to_container(job_config.tracking, resolve=True, throw_on_missing=True)
        tracking = TrackingConfig(**node)
    except (ConfigError, TypeError, OmegaConfBaseException):
        return None  # a bad tracking node: the job runs, and its validation says why
    try:
        if not tracking.enabled or _nothing_to_reuse(str(job_config.hydra.sweep.dir), tracking):
            return None
    except ConnectionError:
        return None  # the server is gone: the job runs, and fails in one line saying so
    task_config = {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in job_config.items_ex(resolve=True)
        if key != "hydra"
    }
    try:
        config = validate(task_config)
    except ConfigError:
        return None
    try:
        found = find_finished_run(tracking, config_tags(to_dict(config)))
    except ConnectionError:
        return None  # as above: the job runs, and fails in one line saying so
    if found is None:
        return None
    return JobReturn(
        overrides=list(job_config.hydra.overrides.task),
        cfg=task_part(job_config),  # unresolved, as Hydra's run_job returns a job's
        hydra_cfg=job_config,
        task_name=job_config.hydra.job.name,
        status=JobStatus.COMPLETED,
        _return_value={**found.data.metrics, REUSED: found.info.run_id},
    )
