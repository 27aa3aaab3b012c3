"""The least_squares study: verification logic on known answers, and the real study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ermlab.studies import least_squares as ls
from ermlab.studies.least_squares import Params


def _results(women_intercept: float = -87.516667, torch_slope: float = 3.45) -> dict:
    fit = {"intercept": women_intercept, "slope": 3.45}
    women = {
        "ols": {**fit, "residual_sd": 1.5250, "r2": 0.99101},
        "slide_formula": dict(fit),
        "sklearn_linear": dict(fit),
        "torch_linear": {"intercept": women_intercept, "slope": torch_slope},
    }
    return {"women": {"n": 15, "fits": women}}


def test_verify_passes_on_the_published_numbers():
    checks = ls.verify(_results(), Params(datasets=["women"]))
    assert len(checks) == 4 + 6 and all(c.passed for c in checks)


def test_verify_fails_outside_half_a_unit_in_the_last_published_place():
    checks = ls.verify(_results(women_intercept=-87.51668), Params(datasets=["women"]))
    failed = {c.quantity for c in checks if not c.passed}
    assert failed == {"women: intercept (ols)"}  # 1e-5 off a value published to 5 decimals


def test_verify_fails_when_gradient_descent_did_not_converge():
    checks = ls.verify(_results(torch_slope=3.46), Params(datasets=["women"]))
    assert {c.quantity for c in checks if not c.passed} == {"women: slope, torch_linear vs ols"}


@pytest.mark.slow
def test_study_end_to_end(root: Path):
    from ermlab.studies.runner import run_study, sub_config, verify_study

    config = sub_config(["experiment=least_squares", "tracking=off"])
    results = run_study(config, root / "out")
    assert verify_study(config, results, root / "rep") is True
    assert results["women"]["n"] == 15 and results["galton"]["n"] == 928
    report = json.loads((root / "rep" / "report.json").read_text())
    assert report["passed"] and len(report["checks"]) == 18
    assert (root / "out" / "women.png").stat().st_size > 0


@pytest.mark.slow
def test_a_tracked_study_writes_the_same_results_each_run_and_verify_finds_its_run(root: Path):
    """results.json holds no run id (it would change the study's dvc.lock at every run): the
    run is tagged with the file's digest, and verify logs to the run that wrote it."""
    from mlflow.tracking import MlflowClient

    from ermlab.studies.runner import RESULTS_TAG, run_study, sub_config, verify_study

    uri = f"sqlite:///{root / 'mlflow.db'}"
    config = sub_config(["experiment=least_squares", f"tracking.uri={uri}"])
    first = run_study(config, root / "one")
    run_study(config, root / "two")
    assert (root / "one" / "results.json").read_bytes() == (
        root / "two" / "results.json"
    ).read_bytes()
    assert "mlflow_run_id" not in first
    # verify reads results.json back (the DVC stage's way): the same digest as the run's.
    assert verify_study(
        config, json.loads((root / "two" / "results.json").read_text()), root / "rep"
    )
    client = MlflowClient(tracking_uri=uri)
    runs = client.search_runs(
        [client.get_experiment_by_name("least_squares").experiment_id],
        order_by=["attributes.start_time DESC"],
    )
    assert len(runs) == 2 and runs[0].data.tags[RESULTS_TAG] == runs[1].data.tags[RESULTS_TAG]
    assert (
        runs[0].data.metrics["verify/passed"] == 1.0 and "verify/passed" not in runs[1].data.metrics
    )
    assert [a.path for a in client.list_artifacts(runs[0].info.run_id, "") if a.path == "report.md"]
