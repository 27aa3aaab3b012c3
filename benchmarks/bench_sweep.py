"""Sweeps against a hand-written loop, side by side in one run.

The experiment is the default one: OLS on height_weight (100 training and 1,000 test points,
10⁵ population points), recorded in a fresh SQLite store. Every number is the wall time of a
whole command, started as a user starts it (a fresh process), in ``--repeat`` rounds:

- ``loop``: what a user would write by hand (``LOOP`` below): draw, split, fit, train/test/
  population MSE, one MLflow child run per job with the flattened config as params;
- ``serial``: ``ermlab -m seed=range(N)`` (the default launcher, this process);
- ``2 workers``: the same with ``hydra/launcher=joblib hydra.launcher.n_jobs=2``;
- ``resume``: the serial sweep started again on the same store: every job is reused.

Per-job cost of a sweep is the slope between two sweep sizes, so start-up (imports, the
store, the parent run, the report: seconds that no number of workers shortens) is not counted
in it. The loop's is its own clock over the same jobs (from job ``--small`` to its last): its
start-up (importing MLflow and scikit-learn, creating the store) varies by seconds between runs
on a busy machine, more than its jobs take, so a slope of its whole-command times is mostly that
noise. The 100-job line compares whole commands, start-up included. The concurrency check runs
``--workers`` joblib workers × ``--jobs`` jobs into one SQLite store and counts the FINISHED
runs and any "database is locked".

Usage::

    .venv/bin/python benchmarks/bench_sweep.py                  # sizes 10 and 120, 3 rounds
    .venv/bin/python benchmarks/bench_sweep.py --repeat 1 --jobs 40
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

LOOP = """
import sys
import time
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LinearRegression
from ermlab.config import compose, flatten, to_dict, validate
from ermlab.data import generate
from ermlab.split import split
from ermlab.seeding import rng

n_jobs, n_first, uri = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = validate(compose(["tracking=off"]))
client = MlflowClient(tracking_uri=uri)
experiment = client.create_experiment("loop")
parent = client.create_run(experiment).info.run_id
params = flatten(to_dict(base))
for seed in range(n_jobs):
    if seed == n_first:  # the jobs after the first n_first: a slope, as for the sweeps
        start = time.perf_counter()
    base.seed = seed
    dataset, source = generate(base.data, seed)
    train, test = split(dataset, base.split, seed, source)
    model = LinearRegression().fit(train.X, train.y)
    X_pop, y_pop = source.sample(base.data.n_population, rng(seed, "population"))
    mse = {
        name: float(((model.predict(X) - y) ** 2).mean())
        for name, X, y in (("train", train.X, train.y), ("test", test.X, test.y),
                           ("population", X_pop, y_pop))
    }
    run = client.create_run(experiment, tags={"mlflow.parentRunId": parent}).info.run_id
    client.log_batch(
        run,
        metrics=[Metric(f"risk/{k}/mse", v, 0, 0) for k, v in mse.items()],
        params=[Param(k, str(v)) for k, v in {**params, "seed": seed}.items()],
    )
    client.set_terminated(run)
client.set_terminated(parent)
print(f"per-job {(time.perf_counter() - start) / (n_jobs - n_first)}")
"""


TWO_WORKERS = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")


def timed(args: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "ERMLAB_ROOT": str(REPO), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return seconds, proc


def sweep_args(folder: Path, n_jobs: int, *extra: str) -> list[str]:
    return [
        "ermlab",
        "-m",
        f"seed=range({n_jobs})",
        f"tracking.uri=sqlite:///{folder}/mlflow.db",
        "tracking.experiment=bench",
        f"hydra.sweep.dir={folder}/multirun",
        *extra,
    ]


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=True))


def loop_job_seconds(n_first: int, n_jobs: int) -> float:
    """The hand-written loop's seconds a job, by its own clock from its job ``n_first`` to
    its last (job ``n_jobs``): the same jobs as the sweeps' slope between the two sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        args = [sys.executable, "-c", LOOP, str(n_jobs), str(n_first), uri]
        _, proc = timed(args, Path(tmp))
        return float(proc.stdout.split("per-job")[-1])


def sweep_seconds(n_jobs: int, *extra: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return timed(sweep_args(Path(tmp), n_jobs, *extra), Path(tmp))[0]


def resume_seconds(n_jobs: int) -> tuple[float, float]:
    """(first sweep, the same sweep again with every job reused)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = sweep_args(Path(tmp), n_jobs)
        first = timed(args, Path(tmp))[0]
        return first, timed(args, Path(tmp))[0]


def concurrency(workers: int, n_jobs: int) -> tuple[int, int, bool]:
    """(FINISHED child runs, jobs, whether "database is locked" appeared) for ``workers``
    processes writing one SQLite store."""
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        extra = ("hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}")
        _, proc = timed(sweep_args(Path(tmp), n_jobs, *extra), Path(tmp))
        client = MlflowClient(tracking_uri=f"sqlite:///{tmp}/mlflow.db")
        experiment = client.get_experiment_by_name("bench").experiment_id
        runs = client.search_runs([experiment], max_results=10_000)
        finished = sum(
            r.info.status == "FINISHED" and "mlflow.parentRunId" in r.data.tags for r in runs
        )
        return finished, n_jobs, "database is locked" in proc.stdout + proc.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=100, help="jobs of the parallel sweep")
    parser.add_argument("--workers", type=int, default=4, help="of the SQLite check")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    # This machine's speed drifts by 2-3x within minutes: every number below is measured in
    # rounds, each round running every command once in turn, and ratios are taken within a
    # round (the median of them is printed), never between numbers of different moments.
    sweeps = {
        "ermlab -m (serial)": (),
        "ermlab -m (2 workers)": TWO_WORKERS,
    }
    per_job: dict[str, list[float]] = {"hand-written loop": [], **{name: [] for name in sweeps}}
    fixed: dict[str, list[float]] = {name: [] for name in sweeps}  # the lines' intercepts
    for _ in range(args.repeat):
        per_job["hand-written loop"].append(loop_job_seconds(args.small, args.large))
        for name, extra in sweeps.items():
            small, large = sweep_seconds(args.small, *extra), sweep_seconds(args.large, *extra)
            per_job[name].append((large - small) / (args.large - args.small))
            fixed[name].append(small - args.small * per_job[name][-1])
    print(
        f"per-job cost, jobs {args.small} -> {args.large} (the loop: by its own clock; "
        f"sweeps: the slope of whole commands), median of {args.repeat} rounds"
    )
    for name, values in per_job.items():
        print(f"{name:24} {statistics.median(values) * 1000:6.1f} ms")
    loop, serial, workers = per_job.values()
    print(f"serial per-job cost / loop's: {_median_ratio(serial, loop):.2f} (goal <= 3)")
    print(f"2 workers' per-job cost / serial's: {_median_ratio(workers, serial):.2f}")
    for name, values in fixed.items():  # start-up and report: what no worker shortens
        print(f"{name}: {statistics.median(values):.2f} s whatever the number of jobs")

    whole = [
        (sweep_seconds(args.jobs), sweep_seconds(args.jobs, *TWO_WORKERS))
        for _ in range(args.repeat)
    ]
    print(
        f"{args.jobs} jobs, whole commands: serial {statistics.median(w[0] for w in whole):.2f} s, "
        f"joblib 2 workers {statistics.median(w[1] for w in whole):.2f} s, ratio "
        f"{statistics.median(w[1] / w[0] for w in whole):.2f} (goal <= 0.6)"
    )

    first, again = resume_seconds(args.large)
    print(f"{args.large} jobs: first sweep {first:.2f} s, started again (all reused) {again:.2f} s")

    finished, total, locked = concurrency(args.workers, args.jobs)
    print(
        f"SQLite, {args.workers} workers x {total} jobs: {finished}/{total} FINISHED child runs, "
        f"'database is locked': {'yes' if locked else 'no'}"
    )


if __name__ == "__main__":
    main()
