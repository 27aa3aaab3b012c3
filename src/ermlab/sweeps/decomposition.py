"""The bias–variance–noise split of the population risk, from the runs' own predictions.

For a synthetic regression source under squared loss, the population risk of a training
procedure averaged over training sets is exactly noise + bias² + variance. Each job evaluates
its fit f̂ and the Bayes predictor f* at the same :data:`N_POINTS` inputs x, drawn once from
p(x) with the ``population`` stream of :data:`POINTS_SEED` (the same points for every seed of a
sweep), and logs them as the artifact :data:`ARTIFACT` (a (2, M) float64 array: row 0 f̂(x),
row 1 f*(x)). Over the S seeds of one configuration, :class:`Decomposition` then accumulates
running sums (Welford) one job at a time, in O(M) memory whatever S:

- ``variance`` = E_x[(1/(S−1)) Σ_s (f̂_s(x) − f̄(x))²], f̄ the mean fit over the seeds;
- ``bias2`` = E_x[(f̄(x) − f*(x))²] − variance/S, unbiased for the squared bias (so it may be
  slightly negative when the bias is nil; reported as measured);
- ``noise`` = E_x[Var(y|x)], the Bayes risk.

noise + bias2 + variance equals, exactly, noise plus the mean over seeds of E_x[(f̂_s − f*)²] at
those points; it differs from the runs' mean population MSE (their own fresh points) by Monte
Carlo error only, which :meth:`Decomposition.result` reports as ``decomposition_se``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ermlab.seeding import rng

N_POINTS = 1000  # M: MC error of E_x ~ sd_x/√M, ~3 % of the spread; 16 kB a run
POINTS_SEED = 0  # fixed: every seed of a sweep predicts at the very same points
ARTIFACT = "decomposition/predictions.npy"


def common_points(source, n: int = N_POINTS) -> np.ndarray:
    """The M inputs shared by every job of a sweep, shape (M, p): ``n`` draws from p(x) with
    the ``population`` stream of :data:`POINTS_SEED` (targets drawn alongside are dropped)."""
    X, _ = source.sample(n, rng(POINTS_SEED, "population"))
    return X


def job_predictions(estimator, source) -> np.ndarray | None:
    """(2, M) array: the fit f̂ and the Bayes predictor f* at :func:`common_points`; ``None``
    where there is no decomposition (real data: no f*; classification: no squared loss)."""
    if source is None or getattr(source, "task", None) != "regression":
        return None
    X = common_points(source)
    fit = np.asarray(estimator.predict(X), dtype=float).reshape(-1)
    return np.stack([fit, np.asarray(source.bayes_predict(X), dtype=float).reshape(-1)])


def log_predictions(recorder, estimator, source, defer: bool = False) -> None:
    """Log :func:`job_predictions` as the run's :data:`ARTIFACT` (nothing when tracking is off
    or the job has no decomposition); with ``defer`` when the run ends (see
    :meth:`ermlab.tracking.Recorder.artifact_file`)."""
    if recorder is None:
        return
    predictions = job_predictions(estimator, source)
    if predictions is None:
        return
    with recorder.artifact_file(ARTIFACT, defer) as path:
        np.save(path, predictions, allow_pickle=False)


@dataclass(frozen=True)
class Split:
    """The decomposition of one configuration (all in squared-loss units).

    ``decomposition_se`` is the Monte Carlo standard error of E_x over the M points of the
    mean squared error against f*: the scale of the expected difference between
    noise + bias2 + variance and the runs' mean population MSE (with their own MC error).
    """

    bias2: float
    variance: float
    noise: float
    n_seeds: int
    decomposition_se: float

    @property
    def total(self) -> float:
        return self.noise + self.bias2 + self.variance


class Decomposition:
    """Running sums over the seeds of one configuration (Welford's update, O(M) memory).

    Feed each seed's (2, M) predictions with :meth:`add`; :meth:`result` needs ≥ 2 seeds.
    """

    def __init__(self) -> None:
        self.count = 0
        self.mean: np.ndarray | None = None  # f̄(x), (M,)
        self.m2: np.ndarray | None = None  # Σ_s (f̂_s(x) − f̄(x))², (M,)
        self.bayes: np.ndarray | None = None  # f*(x), (M,)

    def add(self, predictions: np.ndarray) -> None:
        """One seed: ``predictions`` (2, M), row 0 the fit, row 1 f*; f* and M must match the
        seeds added before (the same points)."""
        fit, bayes = np.asarray(predictions[0], float), np.asarray(predictions[1], float)
        if self.mean is None:
            self.mean, self.m2, self.bayes = np.zeros_like(fit), np.zeros_like(fit), bayes
        elif fit.shape != self.mean.shape or not np.allclose(bayes, self.bayes):
            raise ValueError(
                f"decomposition: predictions of shape {fit.shape} or f* differ from the "
                f"{self.count} seeds before: the seeds were not evaluated at the same points"
            )
        self.count += 1
        delta = fit - self.mean
        self.mean += delta / self.count
        self.m2 += delta * (fit - self.mean)

    def result(self, noise: float) -> Split | None:
        """The split with ``noise`` = E_x[Var(y|x)] (the Bayes MSE); ``None`` below 2 seeds."""
        if self.count < 2 or self.mean is None:
            return None
        S, M = self.count, len(self.mean)
        per_x_variance = self.m2 / (S - 1)
        variance = float(per_x_variance.mean())
        squared_bias = (self.mean - self.bayes) ** 2
        bias2 = float(squared_bias.mean()) - variance / S
        # mean over seeds of (f̂_s(x) − f*(x))² at each x, from the same sums
        mean_error = squared_bias + self.m2 / S
        se = float(mean_error.std(ddof=1) / math.sqrt(M)) if M > 1 else float("nan")
        return Split(bias2, variance, float(noise), S, se)
