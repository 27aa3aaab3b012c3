"""A real ``ermlab -m`` sweep writes its report, and ``ermlab-report`` rebuilds the same files
from the MLflow store."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import REPO, run_cmd

REPORT = ("jobs.csv", "summary.csv", "report.md", "report.html")


@pytest.mark.slow
def test_a_sweep_writes_its_report_and_ermlab_report_rebuilds_it_identically(tmp_path: Path):
    from mlflow.tracking import MlflowClient

    db, folder = tmp_path / "mlflow.db", tmp_path / "sweep"
    store = [f"tracking.uri=sqlite:///{db}", "tracking.experiment=report"]
    # k = 20 > the 10 training points: those jobs fail when they predict, the others go on.
    sweep = ["data=bishop", "split=fixed_design", "model=knn", "model.n_neighbors=1,3,20"]
    proc = run_cmd(
        ["ermlab", "-m", *sweep, "seed=0,1", *store, f"hydra.sweep.dir={folder}"],
        tmp_path,
        check=False,
        ERMLAB_ROOT=str(REPO),
    )
    assert proc.returncode == 2, proc.stderr
    # The console ends with the summary table (means ± SE), one row per configuration.
    table = proc.stdout[proc.stdout.rindex("model.n_neighbors  n_seeds") :].splitlines()
    assert len(table) == 2 + 3 + 1 and "±" in table[2]
    assert table[-1].startswith(f"sweep report: {folder / 'report.html'} (MLflow parent run ")

    jobs = pd.read_csv(folder / "jobs.csv")
    assert sorted(jobs.status) == ["failed"] * 2 + ["ok"] * 4
    assert jobs[jobs.status == "failed"].reason.str.contains("n_neighbors").all()
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary["model.n_neighbors"]) == [1, 3, 20]
    assert list(summary.n_seeds) == [2, 2, 0]
    assert summary.loc[:1, ["bias2", "variance", "noise"]].notna().all().all()
    assert (summary.noise[:2] == 0.09).all()  # Bishop's σ² = 0.3²

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.get_experiment_by_name("report")
    (parent,) = client.search_runs([experiment.experiment_id], "params.`sweep.keys` != ''")
    assert parent.info.status == "FAILED"
    assert table[-1].endswith(f"(MLflow parent run {parent.info.run_id})")
    assert json.loads(parent.data.params["sweep.keys"]) == ["model.n_neighbors", "seed"]
    assert parent.data.params["sweep.values.model.n_neighbors"] == "1,3,20"
    assert parent.data.params["split.kind"] == "fixed_design"  # the base config
    assert parent.data.metrics == {"jobs": 6.0, "failed": 2.0}
    listed = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {*REPORT, "plots", "failed_jobs.json"} <= listed
    assert set(jobs.run_id.dropna()) <= {
        r.info.run_id for r in client.search_runs([experiment.experiment_id])
    }

    rebuilt = tmp_path / "rebuilt"
    again = run_cmd(
        [
            "ermlab-report",
            parent.info.run_id,
            "--out",
            str(rebuilt),
            "--tracking-uri",
            f"sqlite:///{db}",
        ],
        tmp_path,
    )
    assert "model.n_neighbors  n_seeds" in again.stdout
    plots = sorted(p.relative_to(folder) for p in (folder / "plots").iterdir())
    assert [p.name for p in plots] == [
        "decomposition_vs_model.n_neighbors.png",
        "risk_vs_model.n_neighbors.png",
    ]
    for name in [*REPORT, *map(str, plots)]:
        assert (rebuilt / name).read_bytes() == (folder / name).read_bytes(), name


@pytest.mark.slow
def test_ermlab_report_names_the_config_groups_runs_chose_by_default(tmp_path: Path):
    """Runs of one experiment, one with the default data and one choosing ``data=galton``
    (by the command and by ``ermlab.run``): the report's ``data`` column names the default
    option too, not an empty value (no override names it; the runs' tag of their choices)."""
    import ermlab

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    store = [f"tracking.uri={uri}", "tracking.experiment=groups"]
    run_cmd(["ermlab", "seed=1", *store], tmp_path, ERMLAB_ROOT=str(REPO))
    ermlab.run("data=galton", "split=none", *store, out_dir=tmp_path / "api")
    out = tmp_path / "report"
    report = ["ermlab-report", "--experiment", "groups", "--tracking-uri", uri, "--out", str(out)]
    run_cmd(report, tmp_path)
    jobs = pd.read_csv(out / "jobs.csv")
    assert set(jobs.columns[1:4]) == {"seed", "data", "split"}  # what differs, model does not
    assert sorted(zip(jobs.data, jobs.split, jobs.seed, strict=True)) == [
        ("galton", "none", 0),
        ("height_weight", "random", 1),
    ]
