"""Least squares risk, exact finite-sample results, reproduced by Monte Carlo over seeds.

Setting (``conf/data/isotropic.yaml``, ``conf/model/ols_no_intercept.yaml``): y = xᵀw + ε,
ε ~ N(0, σ²), p features, no intercept in the source or the model, fitted by ordinary least
squares on N points. The published results (e.g. Hastie, Tibshirani & Friedman, *Elements of
Statistical Learning* §7.4–7.5, and the Wishart identity E[(XᵀX)⁻¹] = I/(N − p − 1)):

* Random Gaussian design, rows x ~ N(0, I_p), N > p + 1:
  E[train MSE] = σ²(1 − p/N),  E[test MSE] = σ²(N − 1)/(N − p − 1).
* Fixed design (the same N inputs, fresh noise in training and test), any full-rank X:
  E[train MSE] = σ²(1 − p/N),  E[test MSE] = σ²(1 + p/N).

Conventions
-----------
* MSE is ``mean((ŷ − y)²)`` (:func:`ermlab.losses.mse`).
* Replicate i of the sweep uses the root seed ``config.seed + i``; its training sample is
  ``source.sample(N, rng(seed, "data"))`` (inputs first, then noise).
* The random-design test MSE of a replicate is its EXACT population risk, σ² + ‖ŵ − w‖² for
  isotropic x (:meth:`LinearSource.linear_population_mse`), not a finite test sample: the same
  expectation with less Monte Carlo variance.
* The fixed design is replicate 0's inputs X₀ (N, p); replicate i draws fresh noise at X₀ from
  its own ``data`` generator after its random-design sample (so the noise is independent of X₀
  for every i). Its test MSE is the exact expected MSE on fresh noise at X₀:
  σ² + mean((X₀ŵ − X₀w)²).
* A check passes when |mean − formula| ≤ ``n_se`` standard errors of the mean over seeds.

The test MSE of the random design is heavy-tailed: its variance is finite only for N ≥ p + 4
(moments of the inverse Wishart: E[tr((XᵀX)⁻¹)^k] < ∞ iff N > p + 2k − 1), so the default
sizes start at N = p + 4; nearer sizes are still checked but their standard error is unreliable.

The tolerance, ``n_se`` = 4 standard errors, is set for the whole table: simulated with batched
numpy over 150 whole studies at the default setting (24 checks, 1000 seeds), a correct formula
fails some check 7 % of the time at 3 SE (0.3 % per check; the MSEs are right-skewed, so the
t-statistic's lower tail is heavier than normal) and 0.7 % of the time at 4 SE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ermlab.studies.report import Check, mean_se, se_check, se_false_alarm_why

TITLE = "ols_risk_theory: exact finite-sample train and test MSE of least squares"
STUDY = "ols_risk_theory"


@dataclass
class Params:
    """The sweep: sample sizes, replicates per size, the tolerance in standard errors.

    ``n_values`` are training-set sizes N (each > p + 1, p = the number of features of the
    ``data`` config); ``seeds`` replicates per N (root seeds ``config.seed + i``); ``n_se`` the
    tolerance of every formula check in standard errors of the mean; ``fixed_design`` adds the
    fixed-design checks (same inputs, fresh noise).
    """

    # p = 5: p + 4, p + 5, 3p, 4p, 10p, 40p.
    n_values: list[int] = field(default_factory=lambda: [9, 10, 15, 20, 50, 200])
    seeds: int = 1000
    n_se: float = 4.0
    fixed_design: bool = True


# ------------------------------------------------------------------------------- formulas
def random_design_risks(n: float, p: int, sigma2: float) -> tuple[float, float]:
    """E[train MSE], E[test MSE] of OLS on N i.i.d. rows x ~ N(0, I_p) (N > p + 1)."""
    return sigma2 * (1 - p / n), sigma2 * (n - 1) / (n - p - 1)


def fixed_design_risks(n: float, p: int, sigma2: float) -> tuple[float, float]:
    """E[train MSE], E[test MSE] of OLS on a fixed full-rank N×p design, fresh noise."""
    return sigma2 * (1 - p / n), sigma2 * (1 + p / n)


def tolerance_why(seeds: int, n_se: float, n_checks: int) -> str:
    """Why ``n_se`` standard errors for the least-squares risks (here and in double_descent):
    the normal false-alarm rates, and why the skewed risks make them a few times larger."""
    return se_false_alarm_why(seeds, n_se, n_checks) + (
        "; the risks are right-skewed, which makes both a few times larger (simulated: ≈1 % "
        "for the whole table at 4 SE, see the study module's docstring)"
    )


def check_setting(config) -> None:
    """The formulas assume x ~ N(0, I), no intercept in the source, OLS without intercept.

    Raises
    ------
    ConfigError (one line) naming the first value that breaks the assumptions.
    """
    from ermlab.config import ConfigError

    data, model = config.data, config.model
    if getattr(data, "kind", None) != "linear":
        raise ConfigError(f"data.kind={data.kind!r} is not allowed: linear (see data=isotropic)")
    x = data.x
    isotropic = (
        x.dist == "normal"
        and x.cov is None
        and all(m == 0 for m in x.mean)
        and all(s == 1 for s in x.sd)
    )
    if not isotropic:
        raise ConfigError(f"data.x={x!r} is not allowed: normal with mean 0 and sd 1 per feature")
    if data.intercept != 0:
        raise ConfigError(f"data.intercept={data.intercept!r} is not allowed: 0")
    ok_model = (
        str(model.get("_target_")) == "ermlab.models.ols.OLS"
        and model.get("fit_intercept") is False
        and model.get("degree", 1) == 1
        and model.get("alpha", 0.0) == 0
    )
    if not ok_model:
        raise ConfigError(
            f"model={dict(model)!r} is not allowed: OLS without intercept (model=ols_no_intercept)"
        )


# ------------------------------------------------------------------------------------ run
def simulate(config, n: int, seeds: int, fixed_design: bool) -> dict[str, np.ndarray]:
    """Per-replicate train and test MSE at one sample size N.

    Returns
    -------
    dict of arrays of shape (seeds,): ``random_train``, ``random_test`` and, with
    ``fixed_design``, ``fixed_train``, ``fixed_test`` (conventions in the module docstring).
    """
    from ermlab import models
    from ermlab.data import make_source
    from ermlab.losses import mse
    from ermlab.seeding import rng

    source = make_source(config.data)
    estimator = models.build(config.model, config.seed)
    sigma2 = source.noise_sd**2
    out = {k: np.empty(seeds) for k in ("random_train", "random_test")}
    if fixed_design:
        out.update({k: np.empty(seeds) for k in ("fixed_train", "fixed_test")})
    X0 = None
    for i in range(seeds):
        gen = rng(config.seed + i, "data")
        X, y = source.sample(n, gen)
        models.fit(estimator, X, y)
        out["random_train"][i] = mse(y, estimator.predict(X))
        out["random_test"][i] = source.linear_population_mse(estimator.intercept_, estimator.coef_)
        if not fixed_design:
            continue
        X0 = X if X0 is None else X0
        y0 = source.sample_at(X0, gen)  # fresh noise, same inputs
        models.fit(estimator, X0, y0)
        out["fixed_train"][i] = mse(y0, estimator.predict(X0))
        # E over fresh noise at X0 of mean((y' − ŷ)²) = σ² + mean((E[y|x] − ŷ)²), exactly.
        out["fixed_test"][i] = sigma2 + mse(source.bayes_predict(X0), estimator.predict(X0))
    return out


def run(config, params: Params, out_dir: Path) -> dict[str, Any]:
    """Sweep N over ``params.n_values`` with ``params.seeds`` replicates each; plot the curves.

    Returns
    -------
    dict: ``p``, ``noise_sd``, ``seeds``, ``n_values`` and, per design (``random``,
    ``fixed``) and N (as a string key), ``train_mean``, ``train_se``, ``test_mean``,
    ``test_se`` (means and standard errors over seeds).
    """
    from ermlab.config import ConfigError

    check_setting(config)
    p = len(config.data.features)
    bad = [n for n in params.n_values if n <= p + 1]
    if bad:
        raise ConfigError(
            f"study.n_values={params.n_values} is not allowed: every N > p + 1 = {p + 1}"
        )
    if params.seeds < 2:
        raise ConfigError(f"study.seeds={params.seeds} is not allowed: an integer >= 2")
    results: dict[str, Any] = {
        "p": p,
        "noise_sd": float(config.data.noise_sd),
        "seeds": params.seeds,
        "n_values": list(params.n_values),
        "random": {},
    }
    if params.fixed_design:
        results["fixed"] = {}
    for n in params.n_values:
        sims = simulate(config, n, params.seeds, params.fixed_design)
        for design in ("random", "fixed") if params.fixed_design else ("random",):
            row = {}
            for split in ("train", "test"):
                row[f"{split}_mean"], row[f"{split}_se"] = mean_se(sims[f"{design}_{split}"])
            results[design][str(n)] = row
    _plot(results, params.n_se, out_dir / "learning_curve.png")
    return results


# --------------------------------------------------------------------------------- verify
def verify(results: dict[str, Any], params: Params) -> list[Check]:
    """Each (design, N, train/test) mean against its formula, within ``n_se`` standard errors."""
    p, sigma2, seeds = results["p"], results["noise_sd"] ** 2, results["seeds"]
    formulas = {"random": random_design_risks, "fixed": fixed_design_risks}
    labels = {
        "random": ("σ²(1 − p/N)", "σ²(N − 1)/(N − p − 1)"),
        "fixed": ("σ²(1 − p/N)", "σ²(1 + p/N)"),
    }
    n_checks = sum(2 for design in ("random", "fixed") for _ in results.get(design, {}))
    why_tol = tolerance_why(seeds, params.n_se, n_checks)
    checks = []
    for design in ("random", "fixed"):
        for key, row in results.get(design, {}).items():
            n = int(key)
            for split, published, label in zip(
                ("train", "test"), formulas[design](n, p, sigma2), labels[design], strict=True
            ):
                why = why_tol
                if design == "random" and split == "test" and n <= p + 3:
                    why += (
                        f"; CAUTION: at N ≤ p + 3 = {p + 3} the test MSE has infinite "
                        "variance, so its standard error is unreliable"
                    )
                checks.append(
                    se_check(
                        STUDY,
                        f"{design} design, N={n}, p={p}: E[{split} MSE] = {label}",
                        published,
                        row[f"{split}_mean"],
                        row[f"{split}_se"],
                        params.n_se,
                        why,
                    )
                )
    return checks


# ----------------------------------------------------------------------------------- plot
def _plot(results: dict[str, Any], n_se: float, path: Path) -> None:
    """Learning curves: mean train and test MSE (± n_se SE) against N, formulas, σ²."""
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    p, sigma2 = results["p"], results["noise_sd"] ** 2
    designs = [d for d in ("random", "fixed") if d in results]
    fig, axes = plt.subplots(1, len(designs), figsize=(5.5 * len(designs), 4.2), squeeze=False)
    formulas = {"random": random_design_risks, "fixed": fixed_design_risks}
    for ax, design in zip(axes[0], designs, strict=True):
        ns = np.array(sorted(int(k) for k in results[design]))
        grid = np.geomspace(ns.min(), ns.max(), 200)
        train_f, test_f = np.array([formulas[design](n, p, sigma2) for n in grid]).T
        for split, curve, color in (("train", train_f, "tab:blue"), ("test", test_f, "tab:red")):
            mean = [results[design][str(n)][f"{split}_mean"] for n in ns]
            se = [results[design][str(n)][f"{split}_se"] for n in ns]
            ax.errorbar(
                ns,
                mean,
                yerr=n_se * np.asarray(se),
                fmt="o",
                color=color,
                capsize=3,
                label=f"mean {split} MSE ± {n_se:g} SE",
            )
            ax.plot(grid, curve, color=color, lw=1, label=f"formula, {split}")
        ax.axhline(sigma2, color="k", ls="--", lw=1, label="σ² (Bayes risk)")
        ax.set_xscale("log")
        ax.set_xlabel("training points N")
        ax.set_ylabel("MSE")
        ax.set_title(f"{design} design, p = {p}, {results['seeds']} seeds per N")
        ax.legend(fontsize=8)
    save_figure(fig, path)
