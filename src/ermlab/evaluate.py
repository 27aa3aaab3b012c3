"""Risks of a fitted estimator: empirical (train), test, population and Bayes.

The result is a nested dict ``{"risk": {split: {loss: value}}, "gap": {loss: value}, ...}``;
MLflow metric names are its flattened keys, ``risk/<split>/<loss>``. Real data has no
population: its ``population`` and ``bayes`` entries are absent, never numbers.

Which risks apply depends on the task, never on the model's family: regression gets MSE, MAE
and Gaussian NLL (with the training residual variance); classification gets zero-one,
cross-entropy (when the estimator has ``predict_proba``) and accuracy.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ermlab import losses
from ermlab.data.base import Dataset, Population
from ermlab.seeding import rng

POPULATION_CHUNK = 1_000_000  # rows per chunk: bounded memory for any n_population
MAIN_LOSS = {"regression": "mse", "classification": "zero_one"}
LOSS_ORDER = ("mse", "mae", "gaussian_nll", "zero_one", "accuracy", "cross_entropy")


def risks(estimator, X: np.ndarray, y: np.ndarray, task: str, noise_var: float | None = 1.0):
    """Every risk of ``estimator`` that applies to ``task`` on (X (n, p), y (n,)).

    The regression Gaussian NLL uses the estimator's own predictive variance when it has one
    (``predict_var``, shape (n,): a model fitted by Gaussian NLL), else ``noise_var``; with
    neither (``None``: a fit that interpolates its training set) there is no Gaussian NLL.
    """
    y_pred = estimator.predict(X)
    if task == "classification":
        proba = estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else None
        return losses.classification_risks(y, y_pred, proba, getattr(estimator, "classes_", None))
    if hasattr(estimator, "predict_var"):
        noise_var = estimator.predict_var(X)
    return losses.regression_risks(y, y_pred, noise_var)


def pointwise_main_loss(estimator, X: np.ndarray, y: np.ndarray, task: str) -> np.ndarray:
    """Per-point squared error (regression) or 0/1 error (classification), shape (n,)."""
    y_pred = estimator.predict(X)
    return (y_pred != y).astype(float) if task == "classification" else (y_pred - y) ** 2


def population_risks(
    estimator, source: Population, n: int, seed: int, noise_var: float | None
) -> dict[str, float]:
    """Risks on ``n`` fresh points from the source (the ``population`` random stream), read in
    chunks so that memory stays bounded, with the Monte Carlo standard error of the main loss
    (``mse_se`` or ``zero_one_se``)."""
    task = source.task
    totals: dict[str, float] = {}
    count, main_sum, main_sq = 0, 0.0, 0.0
    chunks = source.sample_chunks(n, rng(seed, "population"), POPULATION_CHUNK)
    if n > POPULATION_CHUNK and sys.stderr.isatty():  # minutes for 10^9 points: show them
        from tqdm import tqdm

        total = -(-n // POPULATION_CHUNK)
        chunks = tqdm(chunks, total=total, desc="population risk", unit="M points", leave=False)
    for X, y in chunks:
        for loss, value in risks(estimator, X, y, task, noise_var).items():
            totals[loss] = totals.get(loss, 0.0) + value * len(y)
        point = pointwise_main_loss(estimator, X, y, task)
        main_sum, main_sq = main_sum + point.sum(), main_sq + (point**2).sum()
        count += len(y)
    result = {loss: total / count for loss, total in totals.items()}
    variance = max(main_sq / count - (main_sum / count) ** 2, 0.0) * count / max(count - 1, 1)
    result[f"{MAIN_LOSS[task]}_se"] = float(np.sqrt(variance / count))
    return result


def cross_validation(estimator, train: Dataset, k: int, seed: int) -> tuple[dict, dict]:
    """k-fold cross-validation on the training set: refits a clone on k−1 folds, scores the
    held-out fold; returns (mean risk per loss, standard deviation over folds per loss)."""
    from sklearn.base import clone

    from ermlab.split import kfold_indices

    per_fold = []
    for fit_idx, held_idx in kfold_indices(len(train), k, seed):
        model = clone(estimator).fit(train.X[fit_idx], train.y[fit_idx])
        noise_var = _residual_variance(model, train.subset(fit_idx))
        per_fold.append(risks(model, train.X[held_idx], train.y[held_idx], train.task, noise_var))
    names = [loss for loss in per_fold[0] if all(loss in f for f in per_fold)]
    mean = {loss: float(np.mean([f[loss] for f in per_fold])) for loss in names}
    sd = {loss: float(np.std([f[loss] for f in per_fold], ddof=1)) for loss in names}
    return mean, sd


def _residual_variance(estimator, train: Dataset) -> float | None:
    """The training MSE: the plug-in noise variance σ² of the Gaussian NLL; None when the fit
    interpolates its training set (a tree, a polynomial through every point: residuals at
    rounding level). The plug-in N(ŷ, σ²) is then degenerate, its NLL −∞ on the training set
    and +∞ elsewhere: there is no Gaussian NLL to report, rather than ±1e+300 (see
    :func:`risk_table`)."""
    if train.task != "regression":
        return 1.0
    variance = losses.mse(train.y, estimator.predict(train.X))
    return None if variance <= INTERPOLATION_RTOL * float(np.var(train.y)) else variance


# A residual variance this small next to the targets' is rounding error: a degree-9 OLS through
# 10 points leaves about 1e-19 of a variance of 0.5, a noise SD of 1e-7 of y's would be 1e-14.
INTERPOLATION_RTOL = 1e-14


def evaluate(
    estimator,
    train: Dataset,
    test: Dataset,
    source: Population | None = None,
    seed: int = 0,
    n_population: int = 100_000,
    cv_folds: int = 0,
) -> dict[str, Any]:
    """Empirical, test, population and Bayes risks, and the generalisation gap (test − train).

    Parameters
    ----------
    estimator : fitted scikit-learn estimator.
    train, test : the split; ``train.task`` says which risks apply.
    source : the synthetic source, or ``None`` for real data (no population, no Bayes risk).
    seed : root seed; the population sample uses its ``population`` stream.
    n_population : size of the fresh population sample.
    cv_folds : when ≥ 2, also k-fold cross-validation on the training set
        (``risk/cv/<loss>`` and ``cv_sd/<loss>``).
    """
    task = train.task
    noise_var = _residual_variance(estimator, train)
    table = {"train": risks(estimator, train.X, train.y, task, noise_var)}
    if len(test):  # split=none has no test set: its test risk and gap are absent, not numbers
        table["test"] = risks(estimator, test.X, test.y, task, noise_var)
    result: dict[str, Any] = {"risk": table}
    if source is not None:
        table["population"] = population_risks(estimator, source, n_population, seed, noise_var)
        bayes = {loss: source.bayes_risk(loss) for loss in table["train"]}
        table["bayes"] = {loss: float(v) for loss, v in bayes.items() if v is not None}
    if cv_folds >= 2:
        table["cv"], result["cv_sd"] = cross_validation(estimator, train, cv_folds, seed)
    if "test" in table:
        result["gap"] = {
            loss: table["test"][loss] - table["train"][loss] for loss in table["train"]
        }
    result["n"] = {"train": len(train), "test": len(test)}
    return result


def options(config) -> dict[str, int]:
    """The evaluation settings a validated config implies: population size, CV folds."""
    return {
        "n_population": getattr(config.data, "n_population", 0),
        "cv_folds": getattr(config.split, "k", 0) if config.split.kind == "k_fold" else 0,
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


def risk_table(metrics: dict[str, Any]) -> str:
    """A small text table: one row per split (empirical, test, CV, population, Bayes, gap),
    one column per loss, 'absent' where there is no value (real data has no population).
    Under the population row, the Monte Carlo standard error of its main loss: the population
    risk is an estimate, and one close to the Bayes risk can come out below it."""
    table = metrics["risk"]
    loss_names = sorted(table["train"], key=lambda loss: (LOSS_ORDER.index(loss), loss))
    population = table.get("population", {})
    errors = {loss: population[f"{loss}_se"] for loss in loss_names if f"{loss}_se" in population}
    rows = [
        ("empirical (train)", table["train"]),
        ("test", table.get("test", {})),
        *([("cross-validation", table["cv"])] if "cv" in table else []),
        ("population", population),
        *([(POPULATION_SE_ROW, errors)] if errors else []),
        ("Bayes", table.get("bayes", {})),
        ("gap (test - train)", metrics.get("gap", {})),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'risk':<{width}}" + "".join(f"  {loss:>12}" for loss in loss_names)]
    for name, values in rows:
        absent = "" if values is errors else "absent"
        cells = [
            absent if values.get(loss) is None else f"{values[loss]:.5g}" for loss in loss_names
        ]
        lines.append((f"{name:<{width}}" + "".join(f"  {cell:>12}" for cell in cells)).rstrip())
    if "mse" in table["train"] and "gaussian_nll" not in table["train"]:
        lines.append(NO_GAUSSIAN_NLL)
    return "\n".join(lines)


POPULATION_SE_ROW = "  ± Monte Carlo SE"

NO_GAUSSIAN_NLL = (
    "no gaussian_nll: the fit interpolates its training set (training MSE 0), so the plug-in "
    "Gaussian N(ŷ, σ²) has σ² = 0"
)
