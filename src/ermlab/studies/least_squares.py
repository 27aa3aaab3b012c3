"""The slide's least-squares fit, on real data with published coefficients.

* ``women`` (R ``datasets::women``): weight = −87.51667 + 3.45·height, residual SD 1.525,
  R² 0.991 (R's ``summary(lm(weight ~ height, women))``).
* ``galton`` (Galton 1886, R ``HistData::Galton``): child = 23.9415 + 0.64629·parent,
  Galton's "regression towards mediocrity" (a slope of about 2/3).

ermlab's ``ols``, the slide's two-sum formula, scikit-learn's LinearRegression and the
gradient-descent ``torch_linear`` fit the same data; each must agree with the published
numbers and with one another to its stated tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ermlab.studies.report import Check, check_close

TITLE = "least_squares: weight from height (women) and Galton's regression"
STUDY = "least_squares"

# Published values and the number of decimals they were published with.
PUBLISHED = {
    "women": {
        "intercept": (-87.51667, 5),
        "slope": (3.45, 2),
        "residual_sd": (1.525, 3),
        "r2": (0.991, 3),
    },
    "galton": {"intercept": (23.9415, 4), "slope": (0.64629, 5)},
}
# Agreement with ermlab's ols: closed forms differ by rounding only; gradient descent stops
# at its convergence tolerance (tests/test_torch_models.py shows it reaches 1e-5).
AGREEMENT = {"slide_formula": 1e-10, "sklearn_linear": 1e-10, "torch_linear": 1e-5}


@dataclass
class Params:
    """Which reference datasets to fit (each a ``conf/data/<name>.yaml``)."""

    datasets: list[str] = field(default_factory=lambda: ["women", "galton"])


def fit_all(dataset, seed: int = 0) -> dict[str, dict[str, float]]:
    """Intercept and slope from every method; residual SD and R² from ``ols``.

    ``seed`` is the root seed the estimators are built with (the study's ``seed``).
    """
    from ermlab import models
    from ermlab.models.ols import slide_formula
    from ermlab.studies.runner import sub_config

    x, y = dataset.X[:, 0], dataset.y
    out: dict[str, dict[str, float]] = {}
    theta0, theta1 = slide_formula(x, y)
    out["slide_formula"] = {"intercept": theta0, "slope": theta1}
    for name in ("ols", "sklearn_linear", "torch_linear"):
        config = sub_config([f"model={name}", "tracking=off"])
        estimator, _ = models.fit(models.build(config.model, seed), dataset.X, y)
        out[name] = {"intercept": float(estimator.intercept_), "slope": float(estimator.coef_[0])}
        if name == "ols":
            out[name]["residual_sd"] = float(estimator.residual_sd_)
            out[name]["r2"] = float(estimator.r2_)
    return out


def run(config, params: Params, out_dir: Path) -> dict[str, Any]:
    """Fit every dataset of ``params.datasets`` with every method; plot the ols lines."""
    from ermlab.data import generate
    from ermlab.studies.runner import sub_config

    results: dict[str, Any] = {}
    for name in params.datasets:
        data_config = sub_config([f"data={name}"]).data
        dataset, _ = generate(data_config, config.seed)
        results[name] = {"n": len(dataset), "fits": fit_all(dataset, config.seed)}
        _plot(dataset, results[name]["fits"]["ols"], out_dir / f"{name}.png")
    return results


def verify(results: dict[str, Any], params: Params) -> list[Check]:
    """Published against reproduced, then every method against ols."""
    checks = []
    for name in params.datasets:
        fits = results[name]["fits"]
        for quantity, (value, decimals) in PUBLISHED.get(name, {}).items():
            checks.append(
                check_close(
                    STUDY,
                    f"{name}: {quantity} (ols)",
                    value,
                    fits["ols"][quantity],
                    abs_=0.5 * 10.0**-decimals,
                    why=f"published to {decimals} decimals: half a unit in the last place",
                )
            )
        for method, rel in AGREEMENT.items():
            for quantity in ("intercept", "slope"):
                checks.append(
                    check_close(
                        STUDY,
                        f"{name}: {quantity}, {method} vs ols",
                        fits["ols"][quantity],
                        fits[method][quantity],
                        rel=rel,
                        why="closed forms agree to rounding"
                        if rel < 1e-9
                        else "gradient descent stops at its convergence tolerance",
                    )
                )
    return checks


def _plot(dataset, fit: dict[str, float], path: Path) -> None:
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    x = dataset.X[:, 0]
    ax.scatter(x, dataset.y, s=10, alpha=0.6)
    grid = np.linspace(x.min(), x.max(), 50)
    ax.plot(
        grid,
        fit["intercept"] + fit["slope"] * grid,
        color="tab:red",
        label=f"{fit['intercept']:.4f} + {fit['slope']:.5f}·x",
    )
    ax.set_xlabel(dataset.feature_names[0])
    ax.set_ylabel(dataset.target_name)
    ax.legend()
    save_figure(fig, path)
