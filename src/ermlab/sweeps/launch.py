"""How ermlab's Hydra launchers run a sweep's jobs: in this process, in joblib worker
processes, on a Ray cluster, or as SLURM jobs through submitit
(``hydra/launcher=basic|joblib|ray|submitit_slurm|submitit_local``).

All of them share one plan (:meth:`SweepLauncher.launch`):

1. compose each job with :class:`~ermlab.sweeps.compose.JobComposer` (once per choice of
   config groups, not once per job) as it is handed out to run, in the launching process, or
   in the worker that runs it where workers are forked from it (they inherit the composer:
   the launching process would otherwise compose every job alone while the workers wait);
2. run each job through :func:`execute_job`, which first looks for a FINISHED run of the same
   config (:mod:`ermlab.sweeps.resume`) and reuses it instead of running the job again; where
   sending a job out costs (a Ray cluster to start, a SLURM queue), the launching process
   looks before handing it out (``resumes_here``), and a sweep whose every job is reused
   starts no cluster and queues nothing;
3. as each job finishes, in the launching process: Hydra's ``on_job_end`` callbacks (the sweep
   table and its MLflow parent run live there, whichever machine ran the job) and the
   progress line.

Subclasses only say how the jobs are executed (:meth:`SweepLauncher.execute`). The Hydra
plugin classes that Hydra discovers are thin subclasses in ``hydra_plugins.ermlab_plugin``.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import math
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.plugins.launcher import Launcher
from omegaconf import DictConfig, open_dict

from ermlab import signals
from ermlab.sweeps.tracker import PARENT_RUN_ENV


@dataclass
class Job:
    """One job of a sweep: its position in the launcher's list, its index in the sweep, its
    overrides and its composed config (None until it is composed, where it runs, by
    :func:`compose_job`)."""

    position: int
    index: int
    overrides: list[str]
    config: DictConfig | None = None


class SweepLauncher(Launcher):
    """A Hydra launcher for ermlab's jobs; subclasses implement :meth:`execute`.

    Parameters
    ----------
    rerun : run every job, even one whose config already has a FINISHED run in the experiment
        (``hydra.sweeper.rerun=true``); by default such a job is skipped and its run reused.
    """

    composes_in_workers = False  # True where the workers inherit this process (forked)
    # True where a job is worth not sending out (a cluster's start, a queue): the resume
    # check runs here, before the job is handed out, not where it would run.
    resumes_here = False

    def __init__(self, rerun: bool = False) -> None:
        self.rerun = rerun
        self.config: DictConfig | None = None
        self.hydra_context = None
        self.task_function = None
        self.composer = None

    def setup(self, *, hydra_context, task_function, config: DictConfig) -> None:
        from ermlab.sweeps.compose import launcher_composer

        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.composer = launcher_composer(hydra_context, config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list:
        """Run the jobs; returns their ``JobReturn`` in the order of ``job_overrides``.

        Each job is composed as it is handed out, not all before the first: composing costs
        milliseconds a job, which workers would otherwise spend waiting (every swept value has
        been composed and validated before the sweep started; see ``ermlab.cli.prevalidate``).
        Hydra's ``on_job_end`` callbacks run here, in the launching process, as each job
        finishes; ``on_job_start`` runs where the job is composed (here as it is handed out, or
        in a forked worker, as Hydra's own joblib launcher calls it)."""
        from hydra.core.utils import setup_globals

        from ermlab import collector
        from ermlab.sweeps.progress import Progress
        from ermlab.sweeps.resume import reuse_finished_run

        collector.resume()  # the jobs' garbage is collected (see ermlab.collector)
        setup_globals()
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        callbacks = self.hydra_context.callbacks
        configs: dict[int, DictConfig] = {}  # the jobs handed out and not finished yet

        def handed_out() -> Iterator[Job]:
            for position, overrides in enumerate(job_overrides):
                signals.check()  # no job starts after a Ctrl-C or SIGTERM
                job = Job(position, initial_job_idx + position, list(overrides))
                if not self.composes_in_workers:
                    compose_job(job, self.composer, callbacks, self.task_function)
                    configs[position] = job.config
                yield job

        def finished() -> Iterator[tuple[int, Any, Any]]:
            jobs, count = handed_out(), len(job_overrides)
            if self.resumes_here and not self.rerun:
                to_run = []
                for job in jobs:  # composed here (composes_in_workers is False)
                    if (reused := reuse_finished_run(job.config)) is not None:
                        yield job.position, reused, None  # counted done at once
                    else:
                        to_run.append(job)
                jobs, count = iter(to_run), len(to_run)
            yield from self.execute(jobs, count)

        returns: list = [None] * len(job_overrides)
        progress = Progress(len(job_overrides))
        try:
            for position, job_return, config in finished():
                config = configs.pop(position, config)
                progress.clear()  # what the callbacks print (a failed job's error) has its lines
                callbacks.on_job_end(config=config, job_return=job_return)
                progress.job_done(failed=job_failed(job_return), reused=job_reused(job_return))
                returns[position] = as_failure_record(job_return)
        finally:  # after Ctrl-C too: the line ends, and what follows starts on its own
            progress.close()
        return returns

    def execute(self, jobs: Iterator[Job], count: int) -> Iterator[tuple[int, Any, Any]]:
        """Run the ``count`` jobs that ``jobs`` hands out, taking each only when it can start;
        yield what :func:`_indexed` returns as each one finishes."""
        raise NotImplementedError

    def worker_arguments(self) -> dict[str, Any]:
        """What :func:`execute_job` needs in a worker process or on another machine: nothing
        there inherits this process's state, so the parent run's id, the project root and
        Hydra's global state travel explicitly."""
        from hydra.core.singleton import Singleton

        from ermlab.paths import project_root

        env = {"ERMLAB_ROOT": str(project_root())}
        if PARENT_RUN_ENV in os.environ:
            env[PARENT_RUN_ENV] = os.environ[PARENT_RUN_ENV]
        arguments = {
            "task_function": self.task_function,
            "singleton_state": Singleton.get_state(),
            "env": env,
            "resume": not self.rerun and not self.resumes_here,  # else checked here
        }
        if self.composes_in_workers:
            arguments["compose"] = (self.composer, self.hydra_context.callbacks)
        return arguments


def compose_job(job: Job, composer, callbacks, task_function) -> None:
    """Compose ``job`` (its folder ``hydra.sweep.dir/<index>``) and call Hydra's
    ``on_job_start`` callbacks with its config. A signal that cut the composition short is
    raised as itself (OmegaConf, interrupted inside, raises an error of its own)."""
    try:
        config = composer.compose(job.overrides)
    except Exception as err:
        signals.raise_if_interrupted(err)
        raise
    with open_dict(config):
        config.hydra.job.id = f"{config.hydra.job.name}_{job.index}"
        config.hydra.job.num = job.index
    job.config = config
    callbacks.on_job_start(config=config, task_function=task_function)


def execute_job(
    job: Job,
    task_function,
    singleton_state: dict | None = None,
    env: dict[str, str] | None = None,
    resume: bool = True,
    compose: tuple | None = None,
):
    """Run one job wherever this is called (this process, a worker, a Ray node) and return
    Hydra's ``JobReturn``; a job whose config already has a FINISHED run is not run again
    when ``resume`` (see :func:`ermlab.sweeps.resume.reuse_finished_run`). A job not composed
    yet is composed here with ``compose``: the (composer, callbacks) a forked worker inherits."""
    from hydra.core.singleton import Singleton
    from hydra.core.utils import setup_globals

    from ermlab.sweeps.job import run_job
    from ermlab.sweeps.resume import reuse_finished_run

    setup_globals()
    if singleton_state is not None:
        Singleton.set_state(singleton_state)
    os.environ.update(env or {})
    if job.config is None:
        compose_job(job, *compose, task_function)
    cwd = job.config.hydra.runtime.cwd
    if cwd and Path(cwd).is_dir():  # a worker starts elsewhere; relative paths mean the sweep's
        os.chdir(cwd)
    if resume and (reused := reuse_finished_run(job.config)) is not None:
        return reused
    return run_job(task_function, job.config)


def as_failure_record(job_return):
    """A job that raised, as the sweeper is given it: COMPLETED with ermlab's failure record
    (``{"failed": its one line}``), as a user error caught by the job returns. Hydra's sweeper
    raises the first failed job's error after its batch, skipping the other batches and the
    sweep's end (its table, its report); ermlab's sweep goes on, as for a user error, and
    exits with status 2. The callbacks were given the job's own ``JobReturn``, status FAILED,
    its error raised by ``return_value``; every other job's is returned unchanged."""
    import copy

    from hydra.core.utils import JobStatus

    from ermlab.errors import user_message
    from ermlab.sweeps.tracker import FAILED

    if job_return.status != JobStatus.FAILED:
        return job_return
    record = copy.copy(job_return)
    record.status = JobStatus.COMPLETED
    record.return_value = {FAILED: user_message(job_return._return_value)}
    return record


def job_failed(job_return) -> bool:
    """Whether a job raised or returned ermlab's failure record."""
    from hydra.core.utils import JobStatus

    from ermlab.sweeps.tracker import FAILED

    if job_return.status != JobStatus.COMPLETED:
        return True
    value = job_return.return_value
    return isinstance(value, dict) and FAILED in value


def job_reused(job_return) -> bool:
    """Whether a job was not run, its FINISHED run reused (:mod:`ermlab.sweeps.resume`)."""
    from hydra.core.utils import JobStatus

    from ermlab.sweeps.resume import REUSED

    if job_return.status != JobStatus.COMPLETED:
        return False
    value = job_return.return_value
    return isinstance(value, dict) and REUSED in value


class SerialLauncher(SweepLauncher):
    """The jobs one after another in this process (the default, Hydra's
    ``hydra/launcher=basic``)."""

    def execute(self, jobs: Iterator[Job], count: int) -> Iterator[tuple[int, Any, Any]]:
        from hydra.core.utils import configure_log

        arguments = self.worker_arguments()
        arguments["singleton_state"] = None  # same process: Hydra's state is already here
        for job in jobs:
            indexed = _indexed(job, arguments)
            yield indexed
            # A job that ran configured logging to its own folder: the sweep's logging comes
            # back. A reused job configured nothing.
            if not job_reused(indexed[1]):
                configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)


class JoblibLauncher(SweepLauncher):
    """The jobs in ``n_jobs`` worker processes (``hydra/launcher=joblib``, the joblib
    plugin's config: see :mod:`ermlab.sweeps.sweeper`).

    Parameters
    ----------
    n_jobs : worker processes; -1 means one per CPU core.
    backend : joblib's process backend. ``multiprocessing`` forks workers from this process,
        which has already imported everything a job needs, so they start in milliseconds;
        ``loky`` starts fresh interpreters (seconds each), for code that must not be forked.
    """

    DEFAULT_BACKEND = "multiprocessing"
    BACKENDS = ("multiprocessing", "loky")

    def __init__(self, n_jobs: int = -1, backend: str = DEFAULT_BACKEND, rerun: bool = False):
        from ermlab.config import ConfigError

        super().__init__(rerun)
        if type(n_jobs) is not int or not (n_jobs >= 1 or n_jobs == -1):
            raise ConfigError(
                f"hydra.launcher.n_jobs={n_jobs} is not allowed: a number of worker processes "
                ">= 1, or -1 for one per CPU core"
            )
        if backend not in self.BACKENDS:
            raise ConfigError(
                f"hydra.launcher.backend={backend} is not allowed: {' or '.join(self.BACKENDS)}"
            )
        self.n_jobs = n_jobs
        self.backend = backend

    @property
    def composes_in_workers(self) -> bool:
        """Forked workers compose their own jobs (they inherit the composer); loky's fresh
        interpreters are handed composed ones."""
        return self.backend == "multiprocessing"

    def execute(self, jobs: Iterator[Job], count: int) -> Iterator[tuple[int, Any, Any]]:
        from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, wait

        from ermlab.tracking import forget_connections_after_fork

        forget_connections_after_fork()
        arguments = self.worker_arguments()
        if self.backend == "multiprocessing":
            arguments["singleton_state"] = None  # a forked worker has Hydra's state already
        workers = min(self.workers(), count)
        # Objects that exist now are never collected in a forked worker: its collector would
        # otherwise touch, and so copy, the whole inherited heap page by page. A process that
        # froze its start-up before (ermlab's commands: ermlab.collector) keeps these frozen
        # too, for its life: mostly the sweep's own state, alive until the sweep ends anyway.
        frozen_before = gc.get_freeze_count()
        gc.freeze()
        executor = self.executor(workers, arguments)
        queued = iter(jobs)
        running: set = set()
        done = False
        try:
            with signals.forking_pool_workers():  # the pool forks its workers as jobs come
                while True:
                    # Every worker busy and one job more waiting each: no worker ever idles,
                    # and no job is composed long before it can start.
                    for job in itertools.islice(queued, 2 * workers - len(running)):
                        running.add(executor.submit(_run_in_worker, job))
                    if not running:
                        done = True
                        return
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:  # as they finish, for the progress line
                        yield future.result()
        except BrokenExecutor as err:
            executor.shutdown(wait=True)  # every worker gone: the dead one's run is stale
            self.reap_stale_runs()
            raise RuntimeError(
                "a worker process of the sweep died (killed, or out of memory): its job's run "
                "is marked KILLED, and the sweep started again runs only the jobs without a "
                "FINISHED run"
            ) from err
        finally:
            if not done:  # an error or Ctrl-C: no job starts any more, the running ones stop
                for future in running:
                    future.cancel()
                _stop_workers(executor)
            executor.shutdown(wait=True)
            if not frozen_before:
                gc.unfreeze()

    def reap_stale_runs(self) -> None:
        """Mark KILLED the runs that dead workers left RUNNING (:func:`ermlab.tracking.
        reap_stale_runs`); if the store cannot be reached, the next ermlab run on it does."""
        from omegaconf import OmegaConf

        from ermlab.config import TrackingConfig
        from ermlab.tracking import client_for, reap_stale_runs

        tracking = TrackingConfig(**OmegaConf.to_container(self.config.tracking, resolve=True))
        if tracking.enabled:
            with contextlib.suppress(Exception):
                reap_stale_runs(client_for(tracking)[0])

    def workers(self) -> int:
        """How many worker processes ``n_jobs`` asks for."""
        return os.cpu_count() or 1 if self.n_jobs == -1 else self.n_jobs

    def executor(self, workers: int, arguments: dict[str, Any]):
        """A process pool of ``workers``, forked or joblib's loky (fresh interpreters), each
        given :func:`execute_job`'s ``arguments`` once when it starts, not with every job."""
        if self.backend == "loky":
            from joblib.externals.loky import get_reusable_executor

            return get_reusable_executor(
                max_workers=workers,
                initializer=_keep_arguments,
                initargs=(arguments, os.getpid()),
            )
        if self.backend == "multiprocessing":
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            return ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_keep_arguments,
                initargs=(arguments, os.getpid()),
            )
        raise AssertionError(f"backend {self.backend}, checked when the launcher was made")


def _stop_workers(executor) -> None:
    """SIGTERM to every worker process of ``executor``: each ends its job's run KILLED and
    starts no other (:func:`ermlab.signals.install_in_worker`), so the pool's shutdown does
    not wait for the jobs already handed out. Both pools, concurrent.futures' and loky's,
    keep their processes in ``_processes`` (pid -> process); neither has a public way."""
    import signal

    for pid in list(getattr(executor, "_processes", None) or {}):
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass  # already gone


def _indexed(job: Job, arguments: dict[str, Any]) -> tuple[int, Any, Any]:
    """``(position, JobReturn, config)``: the job's config only where it was composed here,
    for the launching process's ``on_job_end`` (which has it otherwise)."""
    composed_here = job.config is None
    job_return = execute_job(job, **arguments)
    return job.position, job_return, job.config if composed_here else None


_WORKER_ARGUMENTS: dict[str, Any] = {}  # a pool worker's execute_job arguments (see executor)


def _keep_arguments(arguments: dict[str, Any], sweep_pid: int) -> None:
    signals.install_in_worker()  # a signal stops this worker's job, and starts no other
    _WORKER_ARGUMENTS.update(arguments)
    _end_when_orphaned(sweep_pid)


ORPHAN_POLL_S = 0.5  # how often a worker looks whether the sweep's process is still there
ORPHAN_JOB_END_S = 60.0  # how long an orphaned worker's job may take to end its run


def _end_when_orphaned(sweep_pid: int) -> None:
    """End this pool worker once the sweep's process ``sweep_pid`` is gone (SIGKILL, out of
    memory): its job's run ends KILLED, as at a SIGTERM, and the worker exits. Nothing else
    would ever end it: the pool it waits on has lost its owner, and each worker holds the
    other's pipes open, so they would wait on each other for ever, their runs RUNNING while
    they live (the reaper leaves a live process's run alone). A thread, since the worker's
    main thread may be blocked reading the pool's pipe."""
    import signal
    import threading

    def watch() -> None:
        while os.getppid() == sweep_pid:  # the sweep's pid, not the parent's at start: gone
            time.sleep(ORPHAN_POLL_S)  # before this thread started, it is caught too
        os.kill(os.getpid(), signal.SIGTERM)  # in a job: it ends KILLED; else none starts
        deadline = time.monotonic() + ORPHAN_JOB_END_S
        # Once the handler has run (a job starting as it runs stops at its check), wait for
        # the job in hand to end its run; one stuck in C code past the deadline is reaped.
        while time.monotonic() < deadline and (not signals.received() or signals.in_worker_job()):
            time.sleep(0.05)
        os._exit(128 + signal.SIGTERM)

    threading.Thread(target=watch, name="ermlab-orphan-watch", daemon=True).start()


def _run_in_worker(job: Job) -> tuple[int, Any, Any]:
    with signals.worker_job():
        return _indexed(job, _WORKER_ARGUMENTS)


class RayLauncher(SweepLauncher):
    """The jobs as Ray tasks on a Ray cluster (``hydra/launcher=ray``).

    Parameters
    ----------
    address : the cluster to join (``ray.init(address=...)``): ``host:port`` of its head,
        ``auto`` for the one started on this machine, None for a private one-machine cluster.
    num_cpus : CPU cores Ray reserves for each job.

    Workers on other machines cannot write to this machine's SQLite file: give them a
    tracking server (``tracking=server``).
    """

    def __init__(
        self, address: str | None = None, num_cpus: float = 1, rerun: bool = False
    ) -> None:
        from ermlab.config import ConfigError

        super().__init__(rerun)
        if type(num_cpus) not in (int, float) or not 0 <= num_cpus < math.inf:
            raise ConfigError(
                f"hydra.launcher.num_cpus={num_cpus} is not allowed: the CPU cores Ray reserves "
                "for each job, a number >= 0 (1, 0.5, 2)"
            )
        ray_host_port(address)  # its form; whether a cluster answers: check_ray_address
        self.address = address
        self.num_cpus = num_cpus

    resumes_here = True  # a sweep whose every job is reused starts no cluster

    def execute(self, jobs: Iterator[Job], count: int) -> Iterator[tuple[int, Any, Any]]:
        if not count:  # every job reused (resumes_here): no cluster to join
            return
        check_ray_address(self.address)
        import logging

        import ray

        # Ray's own start-up lines (its cluster, its token) would come before the table.
        _drop_token_auth_notice()
        try:
            ray.init(
                address=self.address,
                ignore_reinit_error=True,
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
        except ConnectionError as err:
            from ermlab.config import ConfigError

            raise ConfigError(join_failure(self.address, err)) from None
        # Ray's core puts its own SIGTERM handler in place of ermlab's (it dumps a stack and
        # ends the process, leaving the runs RUNNING): ermlab's comes back.
        signals.install()
        self.check_num_cpus(ray)
        remote = ray.remote(num_cpus=self.num_cpus)(_indexed)
        shared = ray.put(self.worker_arguments())
        pending = [remote.remote(job, shared) for job in jobs]
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                yield ray.get(done[0])
        finally:
            if pending:  # Ctrl-C, SIGTERM or an error: a running job ends its run KILLED
                for task in pending:
                    ray.cancel(task)  # a KeyboardInterrupt in the task; a queued one never runs
                ray.wait(pending, num_returns=len(pending), timeout=self.CANCEL_WAIT_S)

    CANCEL_WAIT_S = 30.0  # for the cancelled jobs to end their runs

    def check_num_cpus(self, ray) -> None:
        """A job asking more CPUs than any node of the cluster has would wait for ever."""
        from ermlab.config import ConfigError

        largest = max((n["Resources"].get("CPU", 0) for n in ray.nodes() if n["Alive"]), default=0)
        if self.num_cpus > largest:
            raise ConfigError(
                f"hydra.launcher.num_cpus={self.num_cpus} is more than any node of the Ray "
                f"cluster has (at most {largest:g} CPUs): a job could never start"
            )


RAY_PROBE_TIMEOUT_S = 3.0


def ray_host_port(address: object) -> tuple[str, int] | None:
    """The host and port of a Ray cluster ``address`` (``HOST:PORT``, ``ray://HOST:PORT``), or
    None where Ray finds or starts its cluster itself (``None``, ``auto``, ``local``).

    Raises
    ------
    ConfigError in one line naming ``hydra.launcher.address`` and its allowed forms."""
    from ermlab.config import ConfigError

    if address is None or address in ("auto", "local"):
        return None
    where = str(address).removeprefix("ray://")
    host, _, port = where.rpartition(":")
    ipv6 = host.startswith("[") and host.endswith("]")
    if (
        not isinstance(address, str)
        or "://" in where  # another scheme: the dashboard's http:// address, say
        or not host
        or (":" in host and not ipv6)  # an IPv6 host goes in brackets: [::1]:6379
        or not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535)
    ):
        raise ConfigError(
            f"hydra.launcher.address={address} is not allowed: the cluster's HOST:PORT (or "
            "ray://HOST:PORT; an IPv6 host in brackets), auto, or null for a private "
            "one-machine cluster"
        )
    return host.strip("[]"), int(port)


def check_ray_address(address: str | None, timeout: float = RAY_PROBE_TIMEOUT_S) -> None:
    """Refuse a cluster address where nothing answers: ``ray.init`` would retry it for minutes,
    printing a line a second, deaf to Ctrl-C. Addresses Ray resolves itself (``auto``) are not
    probed.

    Raises
    ------
    ConfigError in one line naming ``hydra.launcher.address``."""
    import socket

    from ermlab.config import ConfigError

    if (where := ray_host_port(address)) is None:
        return
    try:
        socket.create_connection(where, timeout=timeout).close()
    except OSError as err:
        raise ConfigError(
            f"hydra.launcher.address={address}: no Ray cluster answers there "
            f"({err.strerror or err}); start its head (ray start --head --port {where[1]}) or "
            "leave the address null for a private one-machine cluster"
        ) from None


def join_failure(address: str | None, err: Exception) -> str:
    """Why ``ray.init`` could not join the cluster at ``address``, in one line. A head that
    found a token (``~/.ray/auth_token``: Ray writes one for the private clusters it starts)
    turns token authentication on, and a driver joins it only with ``RAY_AUTH_MODE=token``
    too: Ray says no more than that it failed to connect."""
    said = f"hydra.launcher.address={address}: Ray could not join the cluster ({err})"
    if os.environ.get("RAY_AUTH_MODE") != "token":
        said += (
            "; a head started with token authentication (a token in ~/.ray/auth_token turns "
            "it on) is joined with RAY_AUTH_MODE=token set for ermlab too"
        )
    return said


RAY_TOKEN_LOGGER = "ray._private.authentication.authentication_token_setup"


def _drop_token_auth_notice() -> None:
    """Ray warns, at every private cluster it starts, that it turned token authentication on
    ("Token authentication is enabled for this Ray cluster..."): the secure default, nothing to
    do, and a WARNING line above the sweep's table. That notice alone is dropped; Ray's warning
    that a cluster runs without authentication still shows."""
    import logging

    logger = logging.getLogger(RAY_TOKEN_LOGGER)
    if _not_the_enabled_notice not in logger.filters:
        logger.addFilter(_not_the_enabled_notice)


def _not_the_enabled_notice(record) -> bool:
    return not record.getMessage().startswith("Token authentication is enabled")


class SubmititLauncher(SweepLauncher):
    """The jobs as submitit jobs (``hydra/launcher=submitit_slurm``, or ``submitit_local`` for
    local processes): the hydra-submitit-launcher plugin's config, its keys meaning what they
    mean there (``timeout_min``, ``partition``, ``submitit_folder``, ...).

    Parameters
    ----------
    cluster : submitit's executor, ``slurm`` or ``local``. The rest of the launcher config
        is read when the sweep launches, resolved then, so that ``submitit_folder``
        (``${hydra.sweep.dir}/.submitit/%j``) names the folder this sweep claimed.

    As on a Ray cluster, jobs on other machines must log to a tracking server
    (``tracking=server``), not a SQLite file.
    """

    INIT_KEYS = {"submitit_folder", "max_num_timeout"}  # the executor's, not its jobs' (plugin)
    POLL_S = 1.0
    resumes_here = True  # a reused job is not queued (on SLURM, it could wait hours)

    def __init__(self, cluster: str, rerun: bool = False) -> None:
        super().__init__(rerun)
        self.cluster = cluster

    def execute(self, jobs: Iterator[Job], count: int) -> Iterator[tuple[int, Any, Any]]:
        if not count:  # every job reused (resumes_here): nothing to queue
            return
        import submitit
        from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
        from omegaconf import OmegaConf

        params = OmegaConf.to_container(self.config.hydra.launcher, resolve=True)
        params = {k: v for k, v in params.items() if k != "_target_"}
        executor = submitit.AutoExecutor(
            cluster=self.cluster,
            folder=params["submitit_folder"],
            **{f"{self.cluster}_{k}": v for k, v in params.items() if k == "max_num_timeout"},
        )
        common = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{
                k if k in common else f"{self.cluster}_{k}": v
                for k, v in params.items()
                if k not in self.INIT_KEYS
            }
        )
        arguments = self.worker_arguments()
        # One job array on SLURM; local jobs that submitit can stop (it cancels them by SIGINT).
        with signals.interruptible_children(), executor.batch():
            submitted = [executor.submit(_indexed, job, arguments) for job in jobs]
        pending = dict(enumerate(submitted))
        try:
            while pending:
                # The handler of a Ctrl-C or SIGTERM can run inside a garbage collection,
                # which drops its exception (see ermlab.signals): raised again here.
                signals.check()
                finished = [i for i, job in pending.items() if job.done()]
                for i in finished:  # as they finish, for the progress line
                    yield pending.pop(i).result()
                if not finished:
                    time.sleep(self.POLL_S)
        finally:  # after an error or Ctrl-C: no submitted job goes on without its sweep
            for job in submitted:
                if not job.done():
                    job.cancel(check=False)
