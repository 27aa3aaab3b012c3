"""The double_descent study: min-norm least squares on p of D weak features.

Unit tests of Belkin, Hsu & Xu's formula (its limits and a direct numpy simulation in both
regimes), of ``verify`` on hand-made results (passing and failing cases of each claim), of
the widened source, and an end-to-end run of the study's fast configuration.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ermlab.studies import double_descent as dd

REPO = Path(__file__).resolve().parents[1]
# The fast configuration: 100 seeds and 12 values of p, the same tolerance of 4 standard errors
# of the mean, which grow as 1/√seeds by themselves (simulated over 200 whole studies at 100
# seeds, a correct formula fails some check of the full 19-check table about 1 % of the time).
FAST = ["study.seeds=100", "study.p_values=[2,10,20,30,38,39,40,41,42,50,70,100]"]


# --------------------------------------------------------------------------------- formula
def test_formula_limits():
    n, d, s = 40, 100, 0.2
    assert dd.belkin_risk(0, n, d, s, 1.0) == pytest.approx(1.0 + s**2)  # predict 0
    for p in (n - 1, n, n + 1):
        assert dd.belkin_risk(p, n, d, s, 1.0) == math.inf
    # Figure 1's shape: rises to the threshold, falls after it, global minimum at p = D.
    under = [dd.belkin_risk(p, n, d, s, 1.0) for p in range(0, n - 1)]
    over = [dd.belkin_risk(p, n, d, s, 1.0) for p in range(n + 2, d + 1)]
    assert np.all(np.diff(under) > 0) and np.all(np.diff(over) < 0)
    assert over[-1] < under[0]
    # p ≤ N − 2 is the random-design OLS risk with noise variance ‖β_Tᶜ‖² + σ².
    from ermlab.studies.ols_risk_theory import random_design_risks

    rest = 1.0 - 10 / d + s**2
    assert dd.belkin_risk(10, n, d, s, 1.0) == pytest.approx(random_design_risks(n, 10, rest)[1])


@pytest.mark.parametrize("p", [6, 30])
def test_formula_by_direct_simulation(p):
    """Both regimes against numpy (normal equations / min-norm X⁺y), not ermlab's OLS."""
    rng = np.random.default_rng(p)
    n, d, s, reps = 14, 40, 0.5, 6000
    beta = np.full(d, math.sqrt(1.0 / d))
    X = rng.standard_normal((reps, n, d))
    y = X @ beta + s * rng.standard_normal((reps, n))
    Xt = X[:, :, :p]
    w = np.stack([np.linalg.pinv(a) @ b for a, b in zip(Xt, y, strict=True)])
    risk = s**2 + (beta[p:] ** 2).sum() + ((w - beta[:p]) ** 2).sum(1)
    mean, se = float(risk.mean()), float(risk.std(ddof=1) / math.sqrt(reps))
    assert abs(mean - dd.belkin_risk(p, n, d, s, 1.0)) < 4 * se


def test_default_p_values():
    ps = dd.default_p_values(40, 100)
    assert ps[0] == 1 and ps[-1] == 100 and set(range(35, 46)) <= set(ps)
    assert dd.default_p_values(3, 10) == [1, 2, 3, 4, 5, 6, 7, 8, 10]


# ----------------------------------------------------------------------- hand-made results
def hand_made(ps=(5, 20, 38, 39, 40, 41, 42, 60, 100), n=40) -> dict:
    """Results where every mean equals the formula (huge but finite at the threshold)."""
    results = {
        "n_train": n,
        "n_features": 100,
        "noise_sd": 0.2,
        "beta_norm2": 1.0,
        "seeds": 500,
        "p_values": list(ps),
        "risk": {},
    }
    for p in ps:
        f = dd.belkin_risk(p, n, 100, 0.2, 1.0)
        mean = f if math.isfinite(f) else 1e3 * (1 + (p == n))  # the largest at p = N
        results["risk"][str(p)] = {"mean": mean, "se": 0.01 * mean, "median": mean}
    return results


def test_verify_passes_when_the_claims_hold():
    checks = dd.verify(hand_made(), dd.Params())
    # |p − N| > 7: p = 5, 20, 60, 100 get formula checks; then the peak and the minimum.
    assert len(checks) == 6
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    assert [c.quantity.split(" (")[0] for c in checks[:4]] == [
        f"test risk at p={p}" for p in (5, 20, 60, 100)
    ]
    assert "p = 100" in checks[-1].published and "standard errors" in checks[-1].why


def test_verify_fails_each_broken_claim():
    results = hand_made()
    results["risk"]["60"]["mean"] *= 1.05  # 5 SE off the formula
    results["risk"]["37"] = {"mean": 1e4, "se": 1.0, "median": 1.0}  # peak at N − 3
    results["risk"]["20"]["mean"] = 0.1  # a global minimum in the wrong place (and 1 check)
    results["risk"]["20"]["se"] = 0.001
    failed = [c.quantity for c in dd.verify(results, dd.Params()) if not c.passed]
    assert failed == [
        "test risk at p=20 (N=40, p ≤ N − 2), Theorem 1",
        "test risk at p=60 (N=40, p ≥ N + 2), Theorem 1",
        "the test risk peaks at the interpolation threshold p = N",
        "global minimum of the test risk over the sweep (second descent)",
    ]
    # A wider band skips the formula checks near N; a wider window admits the peak at N − 3.
    relaxed = dd.verify(results, dd.Params(band=25, peak_window=3))
    assert [c.passed for c in relaxed] == [True, True, True, False]


# ------------------------------------------------------------------------------ the source
def test_wide_source_config(root):
    from ermlab.data import make_source
    from ermlab.studies.runner import sub_config

    config = sub_config(["experiment=double_descent", "tracking=off"])
    params = dd.Params(n_features=30, beta_norm2=2.0)
    data = dd.wide_source_config(config, params)
    assert len(data.features) == 30 and data.n_train == 40 and data.noise_sd == 0.2
    source = make_source(data)
    assert np.sum(source.coef**2) == pytest.approx(2.0)
    # The exact population risk the study uses: σ² + ‖β_Tᶜ‖² + ‖β_T − ŵ‖² for isotropic x.
    w = np.zeros(30)
    w[:10] = source.coef[:10] + 0.1
    expected = 0.04 + 2.0 * 20 / 30 + 10 * 0.01
    assert source.linear_population_mse(0.0, w) == pytest.approx(expected)


# ------------------------------------------------------------------------------ end to end
@pytest.mark.slow
def test_fast_study_end_to_end(root: Path):
    from ermlab.studies.runner import run_study, sub_config, verify_study

    config = sub_config(["experiment=double_descent", "tracking=off", *FAST])
    results = run_study(config, root / "out")
    assert (root / "out" / "double_descent.png").stat().st_size > 0
    assert json.loads((root / "out" / "results.json").read_text())["n_train"] == 40
    assert verify_study(config, results, root / "rep")
    report = json.loads((root / "rep" / "report.json").read_text())
    # 7 formula checks (|p − 40| > 7), the peak, the global minimum.
    assert report["passed"] and len(report["checks"]) == 9
