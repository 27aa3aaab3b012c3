"""split=none: fit on every row; the test risk is absent, never a number."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import REPO

from ermlab import stages
from ermlab.config import compose, validate
from ermlab.data import generate
from ermlab.evaluate import risk_table
from ermlab.paths import REFERENCE_DIR
from ermlab.pipeline import run
from ermlab.split import split


def test_real_data_train_on_every_row_and_report_no_test_risk(tmp_path: Path):
    config = validate(compose(["data=women", "split=none", "tracking=off"]))
    result = run(config, tmp_path)
    women = pd.read_csv(REFERENCE_DIR / "women.csv")
    # Every row: the training MSE is RSS / n of the least-squares line through all 15 rows,
    # recomputed here with numpy's own solver.
    A = np.column_stack([np.ones(len(women)), women["height"]])
    coef, rss, *_ = np.linalg.lstsq(A, women["weight"].to_numpy(float), rcond=None)
    assert result.metrics["n"] == {"train": 15, "test": 0}
    assert result.metrics["risk"]["train"]["mse"] == pytest.approx(rss[0] / 15, rel=1e-12)
    assert set(result.metrics["risk"]) == {"train"}  # no test, population or Bayes risk
    assert "gap" not in result.metrics
    written = json.loads((tmp_path / "metrics.json").read_text())
    assert written == json.loads(json.dumps(result.metrics))
    table = risk_table(result.metrics)
    for row in ("test", "population", "Bayes", "gap (test - train)"):
        line = next(ln for ln in table.splitlines() if ln.startswith(row))
        assert line.split()[-3:] == ["absent"] * 3


def test_synthetic_source_trains_on_its_training_draws_and_keeps_population_risk(
    tmp_path: Path,
):
    overrides = ["split=none", "tracking=off", "data.n_train=30", "data.n_population=2000"]
    config = validate(compose(overrides))
    dataset, source = generate(config.data, config.seed)
    train, test = split(dataset, config.split, config.seed, source)
    # The training draws come first in a generated dataset; the held-out ones are not used.
    np.testing.assert_array_equal(train.X, dataset.X[:30])
    assert len(test) == 0
    metrics = run(config, tmp_path).metrics
    assert set(metrics["risk"]) == {"train", "population", "bayes"}
    assert metrics["risk"]["bayes"]["mse"] == pytest.approx(64.0)  # noise_sd = 8


def test_classification_without_a_test_set_draws_its_plots(tmp_path: Path):
    config = validate(compose(["data=iris", "model=logistic", "split=none", "tracking=off"]))
    metrics = run(config, tmp_path).metrics
    assert metrics["n"] == {"train": 150, "test": 0}
    assert "zero_one" in metrics["risk"]["train"] and "test" not in metrics["risk"]
    assert (tmp_path / "plots" / "residuals.png").stat().st_size > 0


def test_dvc_stages_agree_with_the_in_process_run(tmp_path: Path, monkeypatch):
    overrides = ["data=women", "split=none", "tracking=off"]
    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").symlink_to(REFERENCE_DIR)
    stages.write_params(overrides)
    for stage in ("generate", "split", "fit", "evaluate"):
        stages.STAGES[stage]()
    via_files = json.loads((tmp_path / "results" / "metrics.json").read_text())
    in_process = run(validate(compose(overrides)), tmp_path / "run")
    assert json.loads(json.dumps(in_process.metrics)) == via_files
    summary_file = (tmp_path / "results" / "lm_summary.txt").read_text()
    assert summary_file == in_process.summary.text() + "\n"
