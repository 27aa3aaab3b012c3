"""Risks of a fitted estimator: empirical (train), test, population and Bayes.

The result is a nested dict ``{"risk": {split: {loss: value}}, "gap": {loss: value}, ...}``;
MLflow metric names are its flattened keys, ``risk/<split>/<loss>``. Real data has no
population: its ``population`` and ``bayes`` entries are absent, never numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ermlab import losses
from ermlab.data.base import Dataset, Population
from ermlab.seeding import rng


def risks(estimator, X: np.ndarray, y: np.ndarray, noise_var: float) -> dict[str, float]:
    """Every regression risk of ``estimator`` on (X (n, p), y (n,)).

    ``noise_var`` is the variance the Gaussian NLL uses (the training residual variance).
    """
    return losses.regression_risks(y, estimator.predict(X), noise_var)


def population_risks(
    estimator, source: Population, n: int, seed: int, noise_var: float
) -> dict[str, float]:
    """Risks on ``n`` fresh points from the source (the ``population`` random stream), with the
    Monte Carlo standard error of the MSE as ``mse_se``."""
    X, y = source.sample(n, rng(seed, "population"))
    result = risks(estimator, X, y, noise_var)
    squared = (estimator.predict(X) - y) ** 2
    result["mse_se"] = float(squared.std(ddof=1) / np.sqrt(n))
    return result


def evaluate(
    estimator,
    train: Dataset,
    test: Dataset,
    source: Population | None = None,
    seed: int = 0,
    n_population: int = 100_000,
) -> dict[str, Any]:
    """Empirical, test, population and Bayes risks, and the generalisation gap (test − train).

    Parameters
    ----------
    estimator : fitted scikit-learn regressor.
    train, test : the split.
    source : the synthetic source, or ``None`` for real data (no population, no Bayes risk).
    seed : root seed; the population sample uses its ``population`` stream.
    n_population : size of the fresh population sample.
    """
    train_risk = risks(estimator, train.X, train.y, noise_var=1.0)
    noise_var = max(train_risk["mse"], np.finfo(float).tiny)
    table = {
        "train": risks(estimator, train.X, train.y, noise_var),
        "test": risks(estimator, test.X, test.y, noise_var),
    }
    if source is not None:
        table["population"] = population_risks(estimator, source, n_population, seed, noise_var)
        bayes = {loss: source.bayes_risk(loss) for loss in table["train"]}
        table["bayes"] = {loss: float(v) for loss, v in bayes.items() if v is not None}
    gap = {loss: table["test"][loss] - table["train"][loss] for loss in table["train"]}
    return {
        "risk": table,
        "gap": gap,
        "n": {"train": len(train), "test": len(test)},
    }


def metric_names(metrics: dict[str, Any]) -> dict[str, float]:
    """Flatten to MLflow metric names: ``risk/train/mse``, ``gap/mse``, ``n/train``."""
    flat: dict[str, float] = {}

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}/")
            else:
                flat[f"{prefix}{key}"] = float(value)

    walk(metrics, "")
    return flat


def risk_table(metrics: dict[str, Any], loss: str = "mse") -> str:
    """A small text table of one loss across splits, with 'absent' where there is no value."""
    table = metrics["risk"]
    rows = [
        ("empirical (train)", table["train"].get(loss)),
        ("test", table["test"].get(loss)),
        ("population", table.get("population", {}).get(loss)),
        ("Bayes", table.get("bayes", {}).get(loss)),
        ("gap (test - train)", metrics["gap"].get(loss)),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'risk':<{width}}  {loss:>12}"]
    for name, value in rows:
        shown = "absent" if value is None else f"{value:12.5g}"
        lines.append(f"{name:<{width}}  {shown:>12}")
    return "\n".join(lines)
