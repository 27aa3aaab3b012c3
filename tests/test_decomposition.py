"""The bias–variance–noise split against truths computed another way.

Fixed design (``split=fixed_design``): the training inputs are the same grid for every seed and
only the noise is drawn anew, so any linear smoother f̂(x) = w(x)ᵀ y has, over seeds, the
covariance C(x, x') = σ² w(x)ᵀ w(x') (from the grid alone). Then

- k-nearest neighbours: the variance is exactly σ²/k at every x;
- least squares with features x̃: the variance is σ² x̃ᵀ(ΦᵀΦ)⁻¹x̃, and E_x of it is
  σ² tr((ΦᵀΦ)⁻¹ E[x̃x̃ᵀ]) with E[x^(i+j)] = 1/(i+j+1) for x ~ U(0, 1); bias² = 0 when the
  model contains f*.

Tolerances are 4 standard deviations of the estimator, computed from C as well: with Gaussian
noise the per-x sample variance over S seeds has Cov(s²(x), s²(x')) = 2 C(x, x')²/(S − 1), so
the mean over the M points has sd √(2 mean(C²)/(S − 1)); the M points add sd_x(diag C)/√M.
The runs are deterministic (fixed seeds), so a pass or fail is the same on every machine up to
last-bit differences, far below these tolerances.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from ermlab import models
from ermlab.config import compose, validate
from ermlab.data import generate
from ermlab.evaluate import population_risks
from ermlab.split import split
from ermlab.sweeps.decomposition import Decomposition, common_points, job_predictions
from ermlab.sweeps.report import JobRecord, summarize

SIGMA = 0.3  # Bishop's noise sd (conf/data/bishop.yaml)
N_SE = 4.0  # a 4-sd miss has probability ~6e-5 per check


def _fits(overrides: list[str], seeds: int):
    """Per seed: (the fitted estimator, the training set, the source) of a fixed-design job."""
    config = validate(compose(["data=bishop", "split=fixed_design", *overrides]))
    for seed in range(seeds):
        cfg = dataclasses.replace(config, seed=seed)
        dataset, source = generate(cfg.data, seed)
        train, test = split(dataset, cfg.split, seed, source)
        estimator, _ = models.fit(models.build(cfg.model, seed), train.X, train.y)
        yield estimator, train, source


def _decompose(fits) -> tuple[Decomposition, list]:
    acc, kept = Decomposition(), []
    for estimator, train, source in fits:
        acc.add(job_predictions(estimator, source))
        kept.append((estimator, train, source))
    return acc, kept


def test_running_sums_equal_the_direct_formulas_and_the_identity_is_exact():
    gen = np.random.default_rng(1)
    S, M = 7, 50
    bayes = np.sin(np.linspace(0, 3, M))
    fits = bayes + 0.2 + gen.normal(0, 0.5, (S, M))
    acc = Decomposition()
    for fit in fits:
        acc.add(np.stack([fit, bayes]))
    split_ = acc.result(noise=0.09)
    variance = fits.var(axis=0, ddof=1).mean()
    assert split_.variance == pytest.approx(variance, rel=1e-12)
    assert split_.bias2 == pytest.approx(((fits.mean(0) - bayes) ** 2).mean() - variance / S)
    # noise + bias2 + variance = noise + mean over seeds of E_x (f̂_s − f*)², exactly
    direct = 0.09 + ((fits - bayes) ** 2).mean()
    assert split_.total == pytest.approx(direct, rel=1e-12)
    assert split_.decomposition_se == pytest.approx(
        ((fits - bayes) ** 2).mean(0).std(ddof=1) / math.sqrt(M), rel=1e-10
    )
    one = Decomposition()
    one.add(np.stack([fits[0], bayes]))
    assert one.result(0.09) is None  # one seed: no variance to measure


def test_knn_on_a_fixed_design_has_variance_sigma2_over_k():
    k, seeds = 3, 300
    acc, kept = _decompose(_fits(["model=knn", f"model.n_neighbors={k}"], seeds))
    estimator, train, source = kept[0]
    X = common_points(source)
    neighbours = estimator.kneighbors(X, return_distance=False)  # (M, k) grid indices
    W = np.zeros((len(X), len(train)))
    np.put_along_axis(W, neighbours, 1.0 / k, axis=1)
    # C = σ² W Wᵀ is (M, M); mean(C²) = σ⁴ ‖WᵀW‖²_F / M², from a (n, n) matrix
    sd = math.sqrt(2 * SIGMA**4 * np.sum((W.T @ W) ** 2) / len(X) ** 2 / (seeds - 1))
    result = acc.result(noise=SIGMA**2)
    assert abs(result.variance - SIGMA**2 / k) < N_SE * sd
    assert result.noise == SIGMA**2


def test_least_squares_on_a_fixed_design_has_the_grid_variance_and_no_bias():
    # f*(x) = 0.5 − x + 2x², fitted by least squares of degree 2: the model contains f*.
    degree, seeds = 2, 300
    overrides = [
        "data.function=poly",
        "data.coef=[0.5,-1.0,2.0]",
        "model=ols_poly",
        f"model.degree={degree}",
    ]
    acc, kept = _decompose(_fits(overrides, seeds))
    _, train, source = kept[0]
    Phi = np.vander(train.X[:, 0], degree + 1, increasing=True)  # 1, x, x² on the grid
    inverse = np.linalg.inv(Phi.T @ Phi)
    moments = 1.0 / (np.arange(degree + 1)[:, None] + np.arange(degree + 1)[None, :] + 1)
    truth = SIGMA**2 * np.trace(inverse @ moments)  # σ² E_x[x̃ᵀ(ΦᵀΦ)⁻¹x̃], x ~ U(0, 1)

    X = np.vander(common_points(source)[:, 0], degree + 1, increasing=True)
    # C = σ² X (ΦᵀΦ)⁻¹ Xᵀ is (M, M): mean(C²) = σ⁴ tr((ΦᵀΦ)⁻¹ G (ΦᵀΦ)⁻¹ G) / M², G = XᵀX
    G = X.T @ X
    mean_c2 = SIGMA**4 * np.trace(inverse @ G @ inverse @ G) / len(X) ** 2
    diag_c = SIGMA**2 * np.einsum("ij,jk,ik->i", X, inverse, X)
    sd_seeds = math.sqrt(2 * mean_c2 / (seeds - 1))
    sd_points = diag_c.std(ddof=1) / math.sqrt(len(X))
    result = acc.result(noise=SIGMA**2)
    assert abs(result.variance - truth) < N_SE * math.hypot(sd_seeds, sd_points)
    # bias2 is unbiased for 0: E_x (f̄ − f*)² has sd √(2 mean(C²))/S, the correction sd_seeds/S
    sd_bias = (math.sqrt(2 * mean_c2) + sd_seeds) / seeds
    assert abs(result.bias2) < N_SE * sd_bias


def test_the_three_terms_add_up_to_the_mean_population_mse():
    # kNN on i.i.d. inputs: bias, variance and noise all nonzero.
    seeds, n_population = 40, 20_000
    config = validate(compose(["data=polynomial", "model=knn", "model.n_neighbors=2"]))
    records, pointwise = [], []
    for seed in range(seeds):
        cfg = dataclasses.replace(config, seed=seed)
        dataset, source = generate(cfg.data, seed)
        train, _ = split(dataset, cfg.split, seed, source)
        estimator, _ = models.fit(models.build(cfg.model, seed), train.X, train.y)
        risks = population_risks(estimator, source, n_population, seed, 1.0)
        predictions = job_predictions(estimator, source)
        pointwise.append((predictions[0] - predictions[1]) ** 2)
        metrics = {
            "risk/population/mse": risks["mse"],
            "risk/population/mse_se": risks["mse_se"],
            "risk/bayes/mse": source.bayes_risk("mse"),
        }
        values = {"seed": str(seed)}
        records.append(JobRecord(values, metrics=metrics, predictions=lambda p=predictions: p))
    (row,) = summarize(records, ["seed"]).summary
    population = np.mean([r.metrics["risk/population/mse"] for r in records])
    total = row["bias2"] + row["variance"] + row["noise"]
    assert row["decomposition_gap"] == pytest.approx(total - population, abs=1e-12)
    # Monte Carlo error, computed here from the runs: the M shared points, and each run's own
    # population sample (independent of the others).
    per_point = np.mean(pointwise, axis=0)
    sd_points = per_point.std(ddof=1) / math.sqrt(len(per_point))
    sd_population = math.sqrt(sum(r.metrics["risk/population/mse_se"] ** 2 for r in records))
    sd = math.hypot(sd_points, sd_population / seeds)
    assert abs(total - population) < N_SE * sd
    assert row["bias2"] > N_SE * sd and row["variance"] > N_SE * sd  # all three terms matter


def test_bias2_and_variance_standard_errors_are_the_jackknife_and_the_points_error():
    """The closed-form leave-one-out sums against the jackknife done by hand (each seed left
    out, the split recomputed from the other seeds' fits, sqrt((S−1)/S Σ (θ_i − θ̄)²)), added
    in quadrature to the Monte Carlo error of the mean over the points, by hand too. Fits far
    from 0 (1e6) check the centred sums lose no digits."""
    from ermlab.sweeps.decomposition import Decomposition

    gen = np.random.default_rng(3)
    bayes = 1e6 + np.sin(np.linspace(0, 6, 50))
    fits = [bayes + 0.1 + gen.standard_t(2, bayes.shape) for _ in range(7)]

    def split(seeds):
        decomposition = Decomposition()
        for fit in seeds:
            decomposition.add(np.stack([fit, bayes]))
        return decomposition.result(noise=0.09)

    whole = split(fits)
    stacked = np.stack(fits)
    per_point = {"variance": stacked.var(axis=0, ddof=1)}
    per_point["bias2"] = (stacked.mean(axis=0) - bayes) ** 2 - per_point["variance"] / 7
    for name in ("bias2", "variance"):
        left_out = np.array([getattr(split(fits[:i] + fits[i + 1 :]), name) for i in range(7)])
        jackknife = np.sqrt(6 / 7 * np.sum((left_out - left_out.mean()) ** 2))
        points = per_point[name].std(ddof=1) / np.sqrt(len(bayes))
        by_hand = np.sqrt(jackknife**2 + points**2)
        assert getattr(whole, f"{name}_se") == pytest.approx(by_hand, rel=1e-6)
        assert points > 0.1 * jackknife  # both parts weigh: the check tells them apart
    assert split(fits[:2]).bias2_se is None  # two seeds: no leave-one-out variance


def test_a_constant_fit_to_sin_has_bias2_one_half_within_its_standard_error():
    """Degree 0 on Bishop's grid: the 10 grid points' sin 2πx sum to 0, so every seed's fit is
    the mean of its noise, f̄ → 0, and bias² = E_x sin²(2πx) = ½ exactly. With the points'
    Monte Carlo error left out of its standard error, 1,000 points gave 0.519 ± 0.0006."""
    acc, _ = _decompose(_fits(["model=ols_poly", "model.degree=0"], 20))
    result = acc.result(noise=SIGMA**2)
    assert abs(result.bias2 - 0.5) < N_SE * result.bias2_se
    assert result.bias2_se < 0.01  # and tight enough to tell ½ from 0.52
