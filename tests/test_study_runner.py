"""The study runner and reports: PASS/FAIL rendering, exit status, the summary table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import run_cmd

from ermlab.studies.report import (
    Check,
    check_close,
    mean_se,
    quartiles,
    se_check,
    se_false_alarm_why,
    summary_table,
    write_report,
)


def test_check_close_uses_absolute_or_relative_tolerance():
    assert check_close("s", "q", 1.0, 1.04, abs_=0.05, why="w").passed
    assert not check_close("s", "q", 1.0, 1.06, abs_=0.05, why="w").passed
    assert check_close("s", "q", 100.0, 100.9, rel=0.01, why="w").passed
    assert not check_close("s", "q", 1.0, float("nan"), rel=1.0, why="w").passed
    assert check_close("s", "q", 1.0, 1.0, rel=0.1, abs_=0.2, why="w").tolerance == (
        "rel 0.1 or abs 0.2"
    )


def test_mean_se_and_se_check():
    mean, se = mean_se(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and se == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)
    ok = se_check("s", "q", 1.0, 1.25, 0.1, 3.0, "why")
    bad = se_check("s", "q", 1.0, 1.35, 0.1, 3.0, "why")
    assert ok.passed and not bad.passed
    assert ok.tolerance == "3 standard errors = 0.3"
    assert not se_check("s", "q", 1.0, math.nan, 0.1, 3.0, "why").passed
    assert not se_check("s", "q", 1.0, 1.0, math.nan, 3.0, "why").passed


def test_se_check_floor_and_displayed_digits():
    # A vanishing standard error: only the absolute floor lets rounding error pass.
    assert not se_check("s", "q", 0.0, 1e-12, 0.0, 4.0, "why").passed
    floored = se_check("s", "q", 0.0, 1e-12, 0.0, 4.0, "why", floor=1e-9)
    assert floored.passed and floored.tolerance == "abs 1e-09 (4 standard errors = 0)"
    assert se_check("s", "q", 1.0, 1.0, 0.1, 4.0, "why", floor=1e-9).tolerance == (
        "4 standard errors = 0.4"
    )
    # digits rounds what the report shows, not what is compared.
    shown = se_check("s", "q", 0.30000000000000004, 0.298765432, 0.0005, 3.0, "why", digits=6)
    assert (shown.published, shown.reproduced, shown.passed) == (0.3, 0.298765, True)
    # 4e-7 off with a tolerance of 3e-7: fails, although both show as 1.0 to 6 digits.
    hidden = se_check("s", "q", 1.0, 1.0000004, 1e-7, 3.0, "why", digits=6)
    assert (hidden.published, hidden.reproduced, hidden.passed) == (1.0, 1.0, False)


def test_se_false_alarm_why_states_the_normal_rates():
    text = se_false_alarm_why(1000, 4.0, 24)
    assert "over 1000 seeds" in text and "probability 6.3e-05" in text
    assert "these 24 with at most 0.0015 (Bonferroni)" in text


def test_quartiles_along_an_axis():
    values = np.arange(20.0).reshape(5, 4)  # columns 0..16, 1..17, ... in steps of 4
    q = quartiles(values)
    assert np.allclose(q["q25"], [4, 5, 6, 7]) and np.allclose(q["median"], [8, 9, 10, 11])
    assert np.allclose(q["q75"], [12, 13, 14, 15])
    assert quartiles(np.array([1.0, 2.0, 3.0]))["median"] == 2.0
    assert np.allclose(quartiles(values, axis=1)["median"], [1.5, 5.5, 9.5, 13.5, 17.5])


def test_report_files_and_summary(tmp_path: Path):
    checks = [
        Check("s", "good", 1.0, 1.0, "abs 0", "exact", True),
        Check("s", "bad | piped", 1.0, 2.0, "abs 0", "exact", False),
    ]
    assert write_report("title", checks, tmp_path) is False
    markdown = (tmp_path / "report.md").read_text()
    assert "1 of 2 checks pass." in markdown and "bad \\| piped" in markdown
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["status"] for c in report["checks"]] == ["PASS", "FAIL"]
    table = summary_table([report])
    assert "1 of 2 published numbers reproduced." in table


def test_verify_exits_nonzero_when_a_published_number_is_missed(root: Path):
    folder = root / "pipelines" / "least_squares"
    (folder / "results").mkdir(parents=True)
    run_cmd(["ermlab-study", "least_squares", "params", "tracking=off"], folder)
    fit = {"intercept": -87.0, "slope": 3.45}  # half a unit off in the first decimal
    fits = {m: dict(fit) for m in ("slide_formula", "sklearn_linear", "torch_linear")}
    fits["ols"] = {**fit, "residual_sd": 1.525, "r2": 0.991}
    results = {"women": {"n": 15, "fits": fits}, "galton": {"n": 928, "fits": fits}}
    (folder / "results" / "results.json").write_text(json.dumps(results))
    proc = run_cmd(["ermlab-study", "least_squares", "verify"], folder, check=False)
    assert proc.returncode == 1
    report = json.loads((folder / "report.json").read_text())
    assert not report["passed"]
    assert "women: intercept (ols)" in {c["quantity"] for c in report["checks"] if not c["passed"]}
