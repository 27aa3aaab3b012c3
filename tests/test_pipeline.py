"""The two paths (DVC stages, in-process run) agree; the light stages stay light."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cmd

from ermlab import stages
from ermlab.config import compose, validate
from ermlab.pipeline import run

MODELS = ["ols", "sklearn_linear", "torch_linear"]


@pytest.mark.parametrize("model", MODELS)
def test_stage_functions_and_in_process_run_give_identical_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str
):
    overrides = [f"model={model}", "tracking=off", "data.n_train=40", "data.n_population=5000"]
    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))
    (tmp_path / "conf").symlink_to(REPO / "conf")
    stages.write_params(overrides)
    for stage in ("generate", "split", "fit", "evaluate"):
        stages.STAGES[stage]()
    via_files = json.loads((tmp_path / "results" / "metrics.json").read_text())

    in_process = run(validate(compose(overrides)), tmp_path / "run").metrics
    assert json.loads(json.dumps(in_process)) == via_files
    assert set(via_files["risk"]) == {"train", "test", "population", "bayes"}
    for name in ("fit.png", "residuals.png", "training_curve.png"):
        assert (tmp_path / "results" / "plots" / name).stat().st_size > 0


def test_generate_and_split_import_no_heavy_library(tmp_path: Path):
    (tmp_path / "conf").symlink_to(REPO / "conf")
    run_cmd(["ermlab-stage", "params", "tracking=off"], tmp_path)
    probe = (
        "import sys; from ermlab import stages; stages.stage_generate(); stages.stage_split(); "
        "heavy = {'torch', 'sklearn', 'mlflow', 'matplotlib'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = run_cmd(["python", "-c", probe], tmp_path).stdout.strip()
    assert out == "[]"
    assert (tmp_path / "results" / "split" / "train.npz").is_file()


@pytest.mark.slow
def test_dvc_repro_runs_each_stage_once_and_reruns_only_what_changed(project: Path):
    first = run_cmd(["dvc", "repro"], project).stdout
    for stage in ("generate", "split", "fit", "evaluate"):
        assert f"Running stage '{stage}'" in first
    metrics = json.loads((project / "results" / "metrics.json").read_text())
    assert metrics["risk"]["bayes"]["mse"] == pytest.approx(64.0)

    second = run_cmd(["dvc", "repro"], project).stdout
    assert "Running stage" not in second

    status = run_cmd(["dvc", "status", "dvc.yaml", "data.dvc"], project).stdout
    assert "changed" not in status and "modified" not in status

    run_cmd(["ermlab-stage", "params", "model=sklearn_linear"], project)
    third = run_cmd(["dvc", "repro"], project).stdout
    ran = {s for s in ("generate", "split", "fit", "evaluate") if f"Running stage '{s}'" in third}
    assert ran == {"fit", "evaluate"}

    # The in-process path gives the very same numbers for the same config.
    in_process = run_cmd(["ermlab", "model=sklearn_linear", "hydra.run.dir=outputs/check"], project)
    assert in_process.returncode == 0
    same = json.loads((project / "outputs" / "check" / "metrics.json").read_text())
    assert same == json.loads((project / "results" / "metrics.json").read_text())


@pytest.mark.slow
def test_dvc_exp_run_composes_conf_with_hydra_and_exp_show_lists_the_risks(project: Path):
    run_cmd(["dvc", "exp", "run", "-S", "model=sklearn_linear", "-S", "data.n_train=50"], project)
    params = (project / "params.yaml").read_text()
    assert "n_train: 50" in params and "sklearn.linear_model.LinearRegression" in params
    shown = json.loads(run_cmd(["dvc", "exp", "show", "--json"], project).stdout)
    text = json.dumps(shown)
    assert "risk" in text and "population" in text and "bayes" in text
    metrics = json.loads((project / "results" / "metrics.json").read_text())
    assert metrics["n"]["train"] == 50
