"""The ols_risk_theory study: exact finite-sample train and test MSE of least squares.

Unit tests of the formulas (against their closed forms and a direct numpy simulation), of
``verify`` on hand-made results (a passing and a failing case), of the setting checks, and an
end-to-end run of the study's fast configuration through the runner.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ermlab.config import ConfigError
from ermlab.studies import ols_risk_theory as ort
from ermlab.studies.report import mean_se

REPO = Path(__file__).resolve().parents[1]
# The fast configuration: fewer seeds and sizes, the same tolerance of 4 standard errors of
# the mean, which grow as 1/√seeds by themselves (12 checks instead of 24: fewer chances of a
# false alarm than the full study's ≈0.7 %).
FAST = ["study.seeds=200", "study.n_values=[9,20,50]"]


# --------------------------------------------------------------------------------- formulas
def test_formulas_closed_forms():
    assert ort.random_design_risks(10, 5, 2.0) == pytest.approx((1.0, 2.0 * 9 / 4))
    assert ort.fixed_design_risks(10, 5, 2.0) == pytest.approx((1.0, 3.0))
    # Both converge to the Bayes risk σ² as N grows.
    for risks in (ort.random_design_risks, ort.fixed_design_risks):
        assert risks(1e9, 5, 1.0) == pytest.approx((1.0, 1.0), rel=1e-6)


def test_random_design_test_formula_by_direct_simulation():
    """E[σ² + ‖ŵ − w‖²] over many Gaussian designs, with numpy's lstsq (not ermlab's OLS)."""
    rng = np.random.default_rng(1)
    n, p, reps = 12, 3, 20000
    X = rng.standard_normal((reps, n, p))
    e = rng.standard_normal((reps, n))
    XtX = np.einsum("rni,rnj->rij", X, X)
    delta = np.linalg.solve(XtX, np.einsum("rni,rn->ri", X, e)[..., None])[..., 0]
    risk = 1.0 + (delta**2).sum(1)
    mean, se = mean_se(risk)
    assert abs(mean - ort.random_design_risks(n, p, 1.0)[1]) < 4 * se


# ----------------------------------------------------------------------- hand-made results
def hand_made(shift: float = 0.0) -> dict:
    """Results where each mean equals its formula (+ shift·SE on the random-design test MSE)."""
    p, sigma = 5, 1.0
    out = {"p": p, "noise_sd": sigma, "seeds": 1000, "n_values": [9, 50], "random": {}, "fixed": {}}
    for n in (9, 50):
        for design, risks in (
            ("random", ort.random_design_risks),
            ("fixed", ort.fixed_design_risks),
        ):
            train, test = risks(n, p, sigma**2)
            out[design][str(n)] = {
                "train_mean": train + 0.01,  # 1 SE off: within tolerance
                "train_se": 0.01,
                "test_mean": test + (shift * 0.02 if design == "random" else 0.0),
                "test_se": 0.02,
            }
    return out


def test_verify_passes_when_means_match_the_formulas():
    checks = ort.verify(hand_made(), ort.Params())
    assert len(checks) == 8
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    for c in checks:
        assert c.tolerance.startswith("4 standard errors = ") and "Bonferroni" in c.why
    # N = p + 4 has a finite variance: no caution; N = p + 3 would get one.
    assert not any("CAUTION" in c.why for c in checks)


def test_verify_fails_a_mean_off_by_more_than_n_se():
    checks = ort.verify(hand_made(shift=3.5), ort.Params(n_se=3.0))
    failed = [c.quantity for c in checks if not c.passed]
    assert failed == [
        "random design, N=9, p=5: E[test MSE] = σ²(N − 1)/(N − p − 1)",
        "random design, N=50, p=5: E[test MSE] = σ²(N − 1)/(N − p − 1)",
    ]
    # The tolerance is a parameter: 4 SE accepts the same results.
    assert all(c.passed for c in ort.verify(hand_made(shift=3.5), ort.Params(n_se=4.0)))


def test_verify_cautions_near_the_infinite_variance_sizes():
    results = hand_made()
    results["random"]["8"] = results["random"].pop("9")  # N = p + 3
    results["random"]["8"]["test_mean"] = ort.random_design_risks(8, 5, 1.0)[1]
    checks = ort.verify(results, ort.Params())
    assert any("CAUTION" in c.why and "N=8" in c.quantity for c in checks)


# ---------------------------------------------------------------------------- the setting
def test_the_setting_is_checked(root):
    from ermlab.studies.runner import sub_config

    good = sub_config(["experiment=ols_risk_theory", "tracking=off"])
    ort.check_setting(good)
    for override, key in (
        (["model=ols"], "model"),
        (["data.intercept=1.0"], "data.intercept"),
        (["data.x.sd=[1,1,1,1,2]"], "data.x"),
        (["data=height_weight"], "data.x"),
    ):
        config = sub_config(["experiment=ols_risk_theory", "tracking=off", *override])
        with pytest.raises(ConfigError, match=key):
            ort.check_setting(config)
    with pytest.raises(ConfigError, match="every N > p \\+ 1"):
        small = sub_config(["experiment=ols_risk_theory", "tracking=off", "study.n_values=[6]"])
        ort.run(small, ort.Params(n_values=[6]), root / "out")


# ------------------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_fast_study_end_to_end(root: Path):
    from ermlab.studies.runner import run_study, sub_config, verify_study

    config = sub_config(["experiment=ols_risk_theory", "tracking=off", *FAST])
    results = run_study(config, root / "out")
    assert (root / "out" / "learning_curve.png").stat().st_size > 0
    assert json.loads((root / "out" / "results.json").read_text())["p"] == 5
    assert sorted(int(n) for n in results["random"]) == [9, 20, 50]
    assert verify_study(config, results, root / "rep")
    report = json.loads((root / "rep" / "report.json").read_text())
    assert report["passed"] and len(report["checks"]) == 12
