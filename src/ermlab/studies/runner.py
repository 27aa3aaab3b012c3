"""``ermlab-study <study> {params,run,verify}`` and ``ermlab-study summary``.

``params`` composes ``conf/`` with ``experiment=<study>`` (plus overrides) into
``pipelines/<study>/params.yaml``; ``run`` runs the study's sweep and writes
``pipelines/<study>/results/``; ``verify`` writes ``report.md`` and ``report.json`` beside
``dvc.yaml`` and exits 1 when any published number is not reproduced. ``summary`` prints one
table over every study's report (``make reproduce``).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from ermlab import paths
from ermlab.config import Config, ConfigError, compose, one_line, params_yaml_text, validate
from ermlab.errors import exit_on_user_error
from ermlab.studies import STUDIES
from ermlab.studies.report import render_markdown, summary_table, write_report

EXIT_FAILED_CHECK = 1


def study_module(name: str) -> ModuleType:
    if name not in STUDIES:
        raise ConfigError(f"study.name={name!r} is not allowed: one of {', '.join(STUDIES)}")
    return importlib.import_module(f"ermlab.studies.{name}")


def study_params(module: ModuleType, node: dict[str, Any]):
    """The study's ``Params`` from its config node (``name`` dropped); one-line errors."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    values = {k: v for k, v in node.items() if k != "name"}
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(module.Params), values))
    except OmegaConfBaseException as err:
        raise ConfigError(one_line(err, within="study")) from None


def folder(name: str) -> Path:
    return paths.project_root() / "pipelines" / name


def sub_config(overrides: list[str]) -> Config:
    """A validated config composed from ``conf/`` with ``overrides``: a study's sweep points use
    the same config groups (data, model, split) as every other run."""
    return validate(compose(overrides))


def to_jsonable(value: Any) -> Any:
    """Results → JSON: numpy scalars and arrays, dataclasses, tuples."""
    import numpy as np

    if is_dataclass(value):
        return to_jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_params(name: str, overrides: list[str]) -> Path:
    cfg = compose([f"experiment={name}", *overrides])
    validate(cfg)
    path = folder(name) / "params.yaml"
    text = params_yaml_text(cfg)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def load_config(name: str) -> Config:
    path = folder(name) / "params.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `ermlab-study {name} params`")
    return validate(yaml.safe_load(path.read_text()))


def run_sweep(module: ModuleType, config: Config, params, out_dir: Path) -> dict[str, Any]:
    """The study's own ``run``, with BLAS held to one thread: a sweep is thousands of tiny fits,
    where BLAS threads only add overhead (10x and more on a busy 2-core machine)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return module.run(config, params, out_dir)


# The study's MLflow run is tagged with its results.json's SHA-256, by which verify finds it:
# an id inside results.json would change the file, and so the study's dvc.lock, at every run.
RESULTS_TAG = "ermlab.results_sha256"


def results_text(results: dict[str, Any]) -> str:
    """A study's results as results.json holds them (its reader's ``json.loads`` and this give
    back the same text: Python's float repr round-trips)."""
    return json.dumps(results, indent=1) + "\n"


def results_digest(results: dict[str, Any]) -> str:
    """The SHA-256 (hex) of :func:`results_text`: the :data:`RESULTS_TAG` of their run."""
    return hashlib.sha256(results_text(results).encode()).hexdigest()


def run_study(config: Config, out_dir: Path) -> dict[str, Any]:
    """Run the study ``config.study`` names; results to results.json, its digest as the MLflow
    run's tag :data:`RESULTS_TAG`."""
    from mlflow.entities import RunTag

    from ermlab.config import to_dict
    from ermlab.tracking import tracked_run

    module = study_module(config.study["name"])
    params = study_params(module, config.study)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tracked_run(config.tracking, config.study["name"]) as recorder:
        if recorder is not None:
            recorder.log_config(to_dict(config))
        results = to_jsonable(run_sweep(module, config, params, out_dir))
        (out_dir / "results.json").write_text(results_text(results))
        if recorder is not None:
            for path in sorted(out_dir.glob("*.png")):
                recorder.log_artifact(path, "plots")
            recorder.log_artifact(out_dir / "results.json")
            recorder.log_params({}, [RunTag(RESULTS_TAG, results_digest(results))])
    return results


def verify_study(config: Config, results: dict[str, Any], report_dir: Path) -> bool:
    """Check the results against the published numbers; writes report.md/.json, logs them to
    the study's MLflow run that wrote those results (its tag :data:`RESULTS_TAG`), if tracking
    is on and the run is in the store; returns True when every check passes."""
    from ermlab.tracking import find_finished_run, reopen_run

    module = study_module(config.study["name"])
    checks = module.verify(results, study_params(module, config.study))
    passed = write_report(module.TITLE, checks, report_dir)
    print(render_markdown(module.TITLE, checks))
    run = find_finished_run(config.tracking, {RESULTS_TAG: results_digest(results)})
    if run is not None and (recorder := reopen_run(config.tracking, run.info.run_id)):
        recorder.log_artifact(report_dir / "report.md")
        failed = sum(not c.passed for c in checks)
        recorder.log_metrics({"verify/passed": float(passed), "verify/checks_failed": failed})
    return passed


@exit_on_user_error("ermlab-study")
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ermlab-study", description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=[*STUDIES, "summary"])
    parser.add_argument("action", nargs="?", choices=["params", "run", "verify"])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (params only)")
    args = parser.parse_args(argv)
    if args.study == "summary":
        reports = [
            json.loads(p.read_text())
            for name in STUDIES
            if (p := folder(name) / "report.json").is_file()
        ]
        print(summary_table(reports))
        sys.exit(0 if reports and all(r["passed"] for r in reports) else EXIT_FAILED_CHECK)
    if args.action is None:
        parser.error("an action is needed: params, run or verify")
    if args.action == "params":
        print(f"wrote {write_params(args.study, args.overrides)}")
        return
    config = load_config(args.study)
    if args.action == "run":
        run_study(config, folder(args.study) / "results")
        return
    results = json.loads((folder(args.study) / "results" / "results.json").read_text())
    if not verify_study(config, results, folder(args.study)):
        sys.exit(EXIT_FAILED_CHECK)


if __name__ == "__main__":
    main()
