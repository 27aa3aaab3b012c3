"""The DVC pipeline against a plain script doing the same work, side by side in one run.

The experiment is the default one (OLS on height_weight: 100 training and 1,000 test points,
10⁵ population points). The project's tracked files are copied into a temporary folder (with
the working tree's edits), made a git repository, ``data/`` is restored and ``params.yaml``
composed with the MLflow store in that folder, so nothing touches the repository's own
results or store. Every number is the wall time of a whole command, started as a user starts
it (a fresh process), best and median of ``--repeat``, the two alternated, with a fresh
SQLite store each time:

- ``dvc repro -f``: the four stages, each a fresh ``ermlab-stage`` process;
- ``plain script``: what a user would write by hand (``SCRIPT`` below), one process calling
  the same ermlab step functions: draw, split, fit, risks, plots, lm summary, one MLflow run
  (params, metrics, the logged model, plots); the goal is ``dvc / script <= 1.3``.

With ``--breakdown`` it also times, in rounds, where the pipeline's time goes: each stage run
alone (``ermlab-stage <stage>``), the start-up every stage pays (Python, ``import
ermlab.stages``, reading params.yaml; numpy), the OLS module that fit and evaluate both import
(scikit-learn with it) against its numerics alone, and DVC's own cost (``dvc --version``;
``dvc repro -f`` of the same four-stage chain, same deps and params, whose commands do
nothing). From these it prints the floor no import change can go below, and the ratio OLS
would give were it importable without scikit-learn.

Usage::

    .venv/bin/python benchmarks/bench_dvc.py                 # best of 5
    .venv/bin/python benchmarks/bench_dvc.py --repeat 3 --breakdown
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ("generate", "split", "fit", "evaluate")
GOAL = 1.3  # the goal for dvc / script

SCRIPT = """
import sys
from pathlib import Path

import yaml

from ermlab import models
from ermlab.config import to_dict, validate
from ermlab.data import generate
from ermlab.pipeline import assess, record_summary, run_name
from ermlab.split import split
from ermlab.tracking import tracked_run

cfg = validate(yaml.safe_load(Path("params.yaml").read_text()))
dataset, source = generate(cfg.data, cfg.seed)
train, test = split(dataset, cfg.split, cfg.seed, source)
estimator = models.build(cfg.model, cfg.seed)
models.check_task(estimator, train)
estimator, history = models.fit(estimator, train.X, train.y)
out = Path(sys.argv[1])
with tracked_run(cfg.tracking, run_name(cfg, train)) as recorder:
    recorder.log_config(to_dict(cfg))
    assess(cfg, estimator, history, train, test, source, out, recorder)
    record_summary(estimator, train, out, recorder)
"""

START_UP = """
from ermlab.stages import load_params
load_params(("seed", "data"))
"""


def env() -> dict[str, str]:
    """.venv/bin first on PATH; no ERMLAB_ROOT, so each command finds the copy from its cwd."""
    base = {k: v for k, v in os.environ.items() if k != "ERMLAB_ROOT"}
    return {**base, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}


def timed(args: list[str], cwd: Path) -> float:
    """Wall seconds of command ``args`` run in ``cwd`` (exits with its stderr if it fails)."""
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return seconds


def make_project(folder: Path) -> Path:
    """A copy of the project's tracked files (as they are in the working tree) in a fresh git
    repository, with data/ restored and params.yaml recording to folder/mlflow.db."""
    root = folder / "project"
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, text=True, check=True
    )
    for name in filter(None, listed.stdout.split("\0")):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@ermlab.invalid"]
    for args in (["git", "init", "-q"], [*git, "add", "-A"], [*git, "commit", "-qm", "copy"]):
        subprocess.run(args, cwd=root, check=True, capture_output=True)
    timed(["ermlab-stage", "restore-data"], root)
    uri = f"sqlite:///{folder}/mlflow.db"
    timed(["ermlab-stage", "params", f"tracking.uri={uri}", "tracking.experiment=bench"], root)
    return root


def fresh_store(folder: Path) -> None:
    """Remove the MLflow store, so that every timed run creates one, as the script's does."""
    (folder / "mlflow.db").unlink(missing_ok=True)
    shutil.rmtree(folder / "mlartifacts", ignore_errors=True)


def trivial_pipeline(root: Path, folder: Path) -> Path:
    """The same four-stage chain (deps, params), each command doing nothing, in its own copy."""
    copy = folder / "trivial"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("results", "__pycache__"))
    spec = yaml.safe_load((copy / "dvc.yaml").read_text())
    previous = None
    for name in STAGES:
        stage = spec["stages"][name]
        stage["deps"] = [d for d in stage["deps"] if not d.startswith("results")]
        stage["deps"] += [f"stamp_{previous}"] if previous else []
        for key in ("outs", "metrics", "plots"):
            stage.pop(key, None)
        stage["cmd"] = f"touch stamp_{name}"
        stage["outs"] = [f"stamp_{name}"]
        previous = name
    spec.pop("plots", None)
    (copy / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (copy / "dvc.lock").unlink(missing_ok=True)
    timed(["dvc", "repro"], copy)
    return copy


def main() -> None:
    """Time both paths (and with --breakdown, their parts); print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--breakdown", action="store_true", help="per stage and DVC's own cost")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        root = make_project(folder)
        out = folder / "script_out"

        def repro() -> float:
            fresh_store(folder)
            return timed(["dvc", "repro", "-f"], root)

        def script() -> float:
            fresh_store(folder)
            return timed([sys.executable, "-c", SCRIPT, str(out)], root)

        repro()  # first run: fills DVC's cache and writes dvc.lock, as `make run` did
        # Alternated, so that a load from elsewhere on the machine weighs on both alike.
        dvc_times, script_times = [], []
        for _ in range(args.repeat):
            dvc_times.append(repro())
            script_times.append(script())
        dvc_best, script_best = min(dvc_times), min(script_times)
        dvc_median, script_median = statistics.median(dvc_times), statistics.median(script_times)
        print(f"{'':24} {'best':>8} {'median':>8}   (of {args.repeat})")
        print(f"{'dvc repro -f':24} {dvc_best:7.2f}s {dvc_median:7.2f}s")
        print(f"{'plain script':24} {script_best:7.2f}s {script_median:7.2f}s")
        paired = statistics.median(d / s for d, s in zip(dvc_times, script_times, strict=True))
        print(
            f"dvc / script: {dvc_best / script_best:.2f} best, "
            f"{dvc_median / script_median:.2f} median, {paired:.2f} median of the rounds' "
            f"ratios (goal <= {GOAL})"
        )
        if args.breakdown:
            breakdown(root, folder, args.repeat, dvc_best, script_best)


def breakdown(root: Path, folder: Path, repeat: int, dvc_best: float, script_best: float) -> None:
    """Where the pipeline's time goes, and the least it can cost over the script."""

    def stage_alone(stage: str) -> float:
        fresh_store(folder)  # evaluate creates the store, as in the pipeline
        return timed(["ermlab-stage", stage], root)

    def python(code: str) -> Callable[[], float]:
        return lambda: timed([sys.executable, "-c", code], root)

    trivial = trivial_pipeline(root, folder)
    rows = {f"ermlab-stage {s}": lambda s=s: stage_alone(s) for s in STAGES}
    rows |= {
        "python -c pass": python("pass"),
        "start-up (one stage's)": python(START_UP),
        "import numpy": python("import numpy"),
        "import ermlab.models.ols": python("import ermlab.models.ols"),
        "import its numerics only": python("import numpy, scipy.linalg, threadpoolctl"),
        "dvc --version": lambda: timed(["dvc", "--version"], root),
        "dvc repro -f (no-op cmds)": lambda: timed(["dvc", "repro", "-f"], trivial),
    }
    # In rounds, so that a load from elsewhere on the machine weighs on every row alike.
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(repeat):
        for name, measure in rows.items():
            times[name].append(measure())
    print(f"\n{'':28} {'best':>8} {'median':>8}")
    for name, values in times.items():
        print(f"{name:28} {min(values):7.2f}s {statistics.median(values):7.2f}s")
    low = {name: min(values) for name, values in times.items()}
    stages = sum(low[f"ermlab-stage {s}"] for s in STAGES)
    print(f"{'sum of the four stages':28} {stages:7.2f}s")

    # What no import change can remove: DVC's own cost, three more processes than the
    # script's one (Python, ermlab, params.yaml, numpy), and OLS's module imported twice (fit
    # builds OLS, an sklearn BaseEstimator; evaluate unpickles it), sklearn with it.
    dvc_own = low["dvc repro -f (no-op cmds)"]
    process = low["start-up (one stage's)"] + low["import numpy"] - low["python -c pass"]
    ols_again = low["import ermlab.models.ols"] - low["import numpy"]
    floor = dvc_own + 3 * process + ols_again
    print(
        f"DVC path over the script: {dvc_best - script_best:.2f}s; at {GOAL} it may be "
        f"{(GOAL - 1) * script_best:.2f}s. Floor: DVC {dvc_own:.2f}s + 3 x {process:.2f}s "
        f"per process + OLS again {ols_again:.2f}s = {floor:.2f}s: "
        f"ratio >= {(script_best + floor) / script_best:.2f}"
    )
    # Were OLS importable without sklearn, fit would import its numerics only.
    saved = low["import ermlab.models.ols"] - low["import its numerics only"]
    print(
        f"Projection, OLS importable without sklearn (fit {saved:.2f}s less): ratio "
        f"{(dvc_best - saved) / script_best:.2f}, floor "
        f"{(script_best + floor - saved) / script_best:.2f}"
    )


if __name__ == "__main__":
    main()
