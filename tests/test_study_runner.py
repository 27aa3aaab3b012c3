"""The study runner and reports: PASS/FAIL rendering, exit status, the summary table."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cmd

from ermlab.studies.report import Check, check_close, summary_table, write_report


def test_check_close_uses_absolute_or_relative_tolerance():
    assert check_close("s", "q", 1.0, 1.04, abs_=0.05, why="w").passed
    assert not check_close("s", "q", 1.0, 1.06, abs_=0.05, why="w").passed
    assert check_close("s", "q", 100.0, 100.9, rel=0.01, why="w").passed
    assert not check_close("s", "q", 1.0, float("nan"), rel=1.0, why="w").passed
    assert check_close("s", "q", 1.0, 1.0, rel=0.1, abs_=0.2, why="w").tolerance == (
        "rel 0.1 or abs 0.2"
    )


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
