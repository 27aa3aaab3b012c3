"""Benchmark the sweep report on 1,000 jobs (target: under 2 s to build).

Run ``python benchmarks/bench_report.py`` (``--jobs 100`` for a smoke run). Prints:

1. building the report from 1,000 job records in memory (2 models × 10 training sizes × 50
   seeds, every job with its (2, 1000) decomposition predictions): :func:`summarize` (one pass:
   means, SEs, the bias–variance–noise running sums) and :func:`write_report` (CSVs, 2 curves +
   2 decomposition plots, md, html), median of 3 after a warm-up; against a baseline in the
   same run: pandas ``groupby().agg(["mean", "sem"])`` of the same metrics table, the least a
   hand-written script does (no decomposition, no plots);
2. with ``--store``: reading the same 1,000 jobs back from a SQLite MLflow store (runs logged
   once, untimed) and building the report, as ``ermlab-report`` does.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ermlab.sweeps.decomposition import N_POINTS
from ermlab.sweeps.report import JobRecord, summarize, write_report

SWEPT = ["model", "data.n_train", "seed"]
SIZES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def records(n_jobs: int) -> list[JobRecord]:
    """``n_jobs`` jobs: 2 models × 10 sizes × (n_jobs / 20) seeds, predictions in memory."""
    gen = np.random.default_rng(0)
    bayes = np.sin(2 * np.pi * gen.random(N_POINTS))
    seeds = max(n_jobs // (2 * len(SIZES)), 1)
    result = []
    for model in ("ols", "knn"):
        for n in SIZES:
            for seed in range(seeds):
                fit = bayes + gen.normal(0.1, 1 / np.sqrt(n), N_POINTS)
                test = 0.09 + gen.gamma(2, 1 / n)
                metrics = {
                    **{
                        f"risk/{s}/{loss}": test * gen.random()
                        for s in ("train", "test", "population")
                        for loss in ("mse", "mae", "gaussian_nll")
                    },
                    "risk/population/mse_se": 0.001,
                    **{f"risk/bayes/{loss}": 0.09 for loss in ("mse", "mae", "gaussian_nll")},
                    **{f"gap/{loss}": gen.random() for loss in ("mse", "mae", "gaussian_nll")},
                    "n/train": float(n),
                    "n/test": 100.0,
                }
                pair = np.stack([fit, bayes])
                values = {"model": model, "data.n_train": str(n), "seed": str(seed)}
                result.append(
                    JobRecord(values, "ok", "", f"{model}{n}{seed}", metrics, lambda p=pair: p)
                )
    return result


def _median(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_memory(n_jobs: int, repeats: int) -> None:
    import pandas as pd

    jobs = records(n_jobs)
    folder = Path(tempfile.mkdtemp())
    table = pd.DataFrame([{**j.values, **j.metrics} for j in jobs]).drop(columns="seed")

    def baseline():
        table.groupby(["model", "data.n_train"]).agg(["mean", "sem"])

    def build():
        write_report(summarize(jobs, SWEPT), folder, "benchmark")

    build()  # warm-up: imports (matplotlib), fonts
    baseline()
    t_build = _median(build, repeats)
    t_summary = _median(lambda: summarize(jobs, SWEPT), repeats)
    t_base = _median(baseline, repeats)
    print(f"\n## Report for {len(jobs):,} jobs (M = {N_POINTS} points each), median of {repeats}")
    print(f"{'step':52s} {'seconds':>8s} {'÷ pandas':>9s}")
    rows = [
        ("pandas groupby mean/sem (baseline, no plots)", t_base),
        ("summarize (means, SEs, bias-variance-noise)", t_summary),
        ("summarize + write_report (csv, 4 plots, md, html)", t_build),
    ]
    for name, t in rows:
        print(f"{name:52s} {t:8.3f} {t / t_base:9.1f}")
    verdict = "meets" if t_build < 2.0 else "MISSES"
    print(f"target: build under 2 s for 1,000 jobs: {t_build:.2f} s ({verdict})")


def from_store(n_jobs: int) -> None:
    import io

    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from ermlab.sweeps.decomposition import ARTIFACT
    from ermlab.sweeps.store import (
        OVERRIDES_TAG,
        PARENT_TAG,
        SWEEP_KEYS_PARAM,
        load_sweep,
        write_sweep_report,
    )

    tmp = Path(tempfile.mkdtemp())
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = client.create_experiment("bench", (tmp / "mlartifacts").as_uri())
    parent = client.create_run(experiment).info.run_id
    client.log_param(parent, SWEEP_KEYS_PARAM, '["model", "data.n_train", "seed"]')
    start = time.perf_counter()
    for job in records(n_jobs):
        run = client.create_run(experiment, tags={PARENT_TAG: parent}).info.run_id
        overrides = [f"{k}={v}" for k, v in job.values.items()]
        client.log_batch(
            run,
            metrics=[Metric(k, v, 0, 0) for k, v in job.metrics.items()],
            params=[Param(k, v) for k, v in job.values.items()],
            tags=[RunTag(OVERRIDES_TAG, __import__("json").dumps(overrides))],
        )
        buffer = io.BytesIO()
        np.save(buffer, job.predictions())
        path = tmp / "predictions.npy"
        path.write_bytes(buffer.getvalue())
        client.log_artifact(run, str(path), ARTIFACT.rsplit("/", 1)[0])
        client.set_terminated(run)
    print(f"\n## From the store: {n_jobs:,} runs logged in {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    sweep = load_sweep(client, parent)
    t_read = time.perf_counter() - start
    write_sweep_report(sweep, tmp / "report")
    t_total = time.perf_counter() - start
    print(f"read the runs: {t_read:.2f} s; read + build the report: {t_total:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store", action="store_true", help="also read the jobs from MLflow")
    args = parser.parse_args()
    in_memory(args.jobs, args.repeats)
    if args.store:
        from_store(args.jobs)


if __name__ == "__main__":
    main()
