"""Where a sweep's wall time goes, phase by phase: what no number of workers shortens.

Runs ``ermlab -m seed=range(N)`` (the experiment and store of ``bench_sweep.py``) serially and
with 2 joblib workers, in ``--repeat`` rounds, each in a fresh process whose ermlab functions
are wrapped to note the time as each phase ends:

- ``start``: the interpreter, ``ermlab.cli``'s import (measured from before the process starts);
- ``check``: ``prevalidate``, every swept value checked before anything is written;
- ``hydra``: Hydra's own start (composing the sweep's config, its sweeper and launcher);
- ``parent``: MLflow's import, the store (a new one's migrations) and the sweep's parent run;
- ``first job``: from the launch to the first job's end (in a worker: its own start-up);
- ``jobs``: the other jobs, and each one's share of them;
- ``report``: the sweep report (its figures, the parent's artifacts);
- ``exit``: from the report to the process's end.

Usage::

    .venv/bin/python benchmarks/bench_sweep_phases.py              # 100 jobs, 3 rounds
    .venv/bin/python benchmarks/bench_sweep_phases.py --jobs 40 --repeat 1
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_sweep import TWO_WORKERS, sweep_args, timed

# The sweep's own process: ermlab's entry point with its phases' ends noted, printed as JSON.
WRAPPED = """
import json, sys, time
import ermlab.cli as cli
from ermlab.sweeps import launch, sweep_report, tracker
marks = {"imported": time.time()}

def noting(name, function, before=None):
    def noted(*args, **kwargs):
        if before:
            marks.setdefault(before, time.time())
        try:
            return function(*args, **kwargs)
        finally:
            marks[name] = time.time()
    return noted

cli.prevalidate = noting("check", cli.prevalidate)
tracker.SweepTracker._start = noting("parent", tracker.SweepTracker._start, "hydra")
ends = []
on_job_end = tracker.SweepTracker.on_job_end
def job_ended(self, *args, **kwargs):
    on_job_end(self, *args, **kwargs)
    ends.append(time.time())
tracker.SweepTracker.on_job_end = job_ended
launch.SweepLauncher.launch = noting("launched", launch.SweepLauncher.launch)
sweep_report.finish_sweep = noting("report", sweep_report.finish_sweep)
sys.argv = ["ermlab", *sys.argv[1:]]
try:
    cli.main()
finally:
    marks["first job"] = ends[0] if ends else None
    print("phases " + json.dumps(marks))
"""

PHASES = ("start", "check", "hydra", "parent", "first job", "jobs", "report", "exit")


def phases(n_jobs: int, *extra: str) -> dict[str, float]:
    """Seconds of each phase of one sweep of ``n_jobs`` (see the module's docstring)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = sweep_args(Path(tmp), n_jobs, *extra)
        begun = time.time()
        seconds, proc = timed([sys.executable, "-c", WRAPPED, *args[1:]], Path(tmp))
    marks = json.loads(proc.stdout.split("phases ")[-1])
    ends = [
        begun,
        marks["imported"],
        marks["check"],
        marks["hydra"],
        marks["parent"],
        marks["first job"],
        marks["launched"],
        marks["report"],
        begun + seconds,
    ]
    spans = [after - before for before, after in itertools.pairwise(ends)]
    return dict(zip(PHASES, spans, strict=True)) | {"total": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    sweeps = {"serial": (), "2 workers": TWO_WORKERS}
    rounds: dict[str, list[dict[str, float]]] = {name: [] for name in sweeps}
    for _ in range(args.repeat):  # in turn, so that both see the machine's same moments
        for name, extra in sweeps.items():
            rounds[name].append(phases(args.jobs, *extra))
    print(f"{args.jobs} jobs, seconds a phase, median of {args.repeat} rounds")
    print(f"{'phase':12}" + "".join(f"{name:>12}" for name in sweeps))
    for phase in (*PHASES, "total"):
        medians = [statistics.median(r[phase] for r in rounds[name]) for name in sweeps]
        print(f"{phase:12}" + "".join(f"{m:12.2f}" for m in medians))
    for name in sweeps:
        share = statistics.median(r["jobs"] / (args.jobs - 1) for r in rounds[name])
        fixed = statistics.median(r["total"] - r["jobs"] - r["first job"] for r in rounds[name])
        print(
            f"{name}: {share * 1000:.1f} ms a job after the first, {fixed:.2f} s outside the jobs"
        )
    ratio = statistics.median(
        w["total"] / s["total"] for s, w in zip(*rounds.values(), strict=True)
    )
    print(f"2 workers / serial, whole command: {ratio:.2f}")


if __name__ == "__main__":
    main()
