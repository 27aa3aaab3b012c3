"""The bias–variance–noise split of the population risk, from the runs' own predictions.

For a synthetic regression source under squared loss, the population risk of a training
procedure averaged over training sets is exactly noise + bias² + variance. Each job evaluates
its fit f̂ and the Bayes predictor f* at the same :data:`N_POINTS` inputs x, drawn once from
p(x) with the ``decomposition`` sub-stream of :data:`POINTS_SEED`'s ``population`` stream (the
same points for every seed of a sweep, and none of any run's population points), and logs them
as the artifact :data:`ARTIFACT` (a (2, M) float64 array: row 0 f̂(x), row 1 f*(x)). Over the
S seeds of one configuration, :class:`Decomposition` keeps the fits, one job at a time (S·M
floats: 80 kB a seed), and gives:

- ``variance`` = E_x[(1/(S−1)) Σ_s (f̂_s(x) − f̄(x))²], f̄ the mean fit over the seeds;
- ``bias2`` = E_x[(f̄(x) − f*(x))²] − variance/S, unbiased for the squared bias (so it may be
  slightly negative when the bias is nil; reported as measured);
- ``noise`` = E_x[Var(y|x)], the Bayes risk.

noise + bias2 + variance equals, exactly, noise plus the mean over seeds of E_x[(f̂_s − f*)²] at
those points; it differs from the runs' mean population MSE (their own fresh points) by Monte
Carlo error only, which :meth:`Decomposition.result` reports as ``decomposition_se``.

``bias2_se`` and ``variance_se`` are their standard errors (3 seeds at least), from both
sources of error, added in quadrature:

- the seeds: the jackknife over seeds (each seed left out in turn), how far another set of S
  seeds would move them. A model whose fits are heavy-tailed across seeds (a polynomial through
  as many points as it has parameters) can show a large bias2 from a few seeds' wild fits
  alone; its standard error says so;
- the points: E_x is a mean over M points, whose Monte Carlo error (the per-point terms' sd
  over √M) no number of seeds shrinks, and which is the same in every sweep of a source. With
  1,000 points, a constant fit to sin 2πx (bias² exactly ½) gave 0.519 while the jackknife
  alone said ± 0.0006.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ermlab.seeding import rng

N_POINTS = 10_000  # M: MC error of E_x ~ sd_x/√M, 1 % of the terms' spread; 160 kB a run
POINTS_SEED = 0  # fixed: every seed of a sweep predicts at the very same points
ARTIFACT = "decomposition/predictions.npy"


def common_points(source, n: int = N_POINTS) -> np.ndarray:
    """The M inputs shared by every job of a sweep, shape (M, p): ``n`` draws from p(x) with
    the ``decomposition`` sub-stream of :data:`POINTS_SEED`'s ``population`` stream (targets
    drawn alongside are dropped)."""
    X, _ = source.sample(n, rng(POINTS_SEED, "population", "decomposition"))
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
    ``bias2_se`` and ``variance_se`` combine the seeds' jackknife and the points' Monte Carlo
    error (see the module's docstring).
    """

    bias2: float
    variance: float
    noise: float
    n_seeds: int
    decomposition_se: float
    bias2_se: float | None = None  # seeds' jackknife ⊕ points' MC error; None below 3 seeds
    variance_se: float | None = None

    @property
    def total(self) -> float:
        return self.noise + self.bias2 + self.variance


class Decomposition:
    """The fits of one configuration's seeds at the common points, added one job at a time.

    Feed each seed's (2, M) predictions with :meth:`add`; :meth:`result` needs ≥ 2 seeds.
    """

    def __init__(self) -> None:
        self.fits: list[np.ndarray] = []  # f̂_s(x), S arrays of (M,)
        self.bayes: np.ndarray | None = None  # f*(x), (M,)

    @property
    def count(self) -> int:
        return len(self.fits)

    def add(self, predictions: np.ndarray) -> None:
        """One seed: ``predictions`` (2, M), row 0 the fit, row 1 f*; f* and M must match the
        seeds added before (the same points)."""
        fit, bayes = np.asarray(predictions[0], float), np.asarray(predictions[1], float)
        if self.bayes is None:
            self.bayes = bayes
        elif fit.shape != self.bayes.shape or not np.allclose(bayes, self.bayes):
            raise ValueError(
                f"decomposition: predictions of shape {fit.shape} or f* differ from the "
                f"{self.count} seeds before: the seeds were not evaluated at the same points"
            )
        self.fits.append(fit)

    def result(self, noise: float) -> Split | None:
        """The split with ``noise`` = E_x[Var(y|x)] (the Bayes MSE); ``None`` below 2 seeds."""
        if self.count < 2 or self.bayes is None:
            return None
        fits = np.stack(self.fits)  # (S, M)
        S, M = fits.shape
        mean = fits.mean(axis=0)
        bias = mean - self.bayes  # f̄(x) − f*(x)
        deviations = fits - mean  # D, (S, M): centred, so the sums below lose no digits
        m2 = np.sum(deviations**2, axis=0)
        variance, bias2 = _variance_and_bias2(bias, m2, S)
        # mean over seeds of (f̂_s(x) − f*(x))² at each x, from the same sums
        mean_error = bias**2 + m2 / S
        se = _points_se(mean_error)
        bias2_se = variance_se = None
        if S >= 3:
            # Seed i left out: its mean moves by −D_i/(S−1), and the sum of squares about the
            # new mean is m2 − D_i²·S/(S−1).
            left_out = np.array(
                [
                    _variance_and_bias2(bias - d / (S - 1), m2 - d**2 * S / (S - 1), S - 1)
                    for d in deviations
                ]
            )  # (S, 2): variance, bias2
            per_point_variance = m2 / (S - 1)  # the terms whose mean over x they are
            per_point_bias2 = bias**2 - per_point_variance / S
            variance_se = math.hypot(_jackknife_se(left_out[:, 0]), _points_se(per_point_variance))
            bias2_se = math.hypot(_jackknife_se(left_out[:, 1]), _points_se(per_point_bias2))
        return Split(bias2, variance, float(noise), S, se, bias2_se, variance_se)


def _points_se(terms: np.ndarray) -> float:
    """The Monte Carlo standard error of the mean over the M points of per-point ``terms``."""
    M = len(terms)
    return float(terms.std(ddof=1) / math.sqrt(M)) if M > 1 else float("nan")


def _variance_and_bias2(bias: np.ndarray, m2: np.ndarray, S: int) -> tuple[float, float]:
    """``variance`` and the unbiased ``bias2`` of S seeds whose mean fit is ``bias`` away from
    f* and whose squared deviations from it sum to ``m2`` at each point (both (M,))."""
    variance = float((m2 / (S - 1)).mean())
    return variance, float((bias**2).mean()) - variance / S


def _jackknife_se(left_out: np.ndarray) -> float:
    """The jackknife standard error from the S leave-one-out estimates."""
    S = len(left_out)
    return float(math.sqrt((S - 1) / S * np.sum((left_out - left_out.mean()) ** 2)))
