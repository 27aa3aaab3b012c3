"""Synthetic sources against independent truth: their stated distributions, Bayes risks
checked by fresh Monte Carlo, closed forms, seeds, grids, chunked draws and the conf/ examples.

Tolerances. Monte Carlo comparisons allow Z = 4 combined standard errors (fresh-sample SE and,
for Monte Carlo Bayes risks, the source's own SE): with fixed seeds the tests are
deterministic, and a correct implementation lands outside 4 SE with probability ~6e-5 per
check, so a failure means a bias, not bad luck. Means are checked to 5 SE. Goodness-of-fit
tests (Kolmogorov–Smirnov, chi-square) require p > 1e-3. Closed forms and quadratures are
compared to ~1e-9 where both sides are deterministic.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from ermlab.config import (
    GaussianClassesConfig,
    HeteroscedasticSourceConfig,
    InputDistConfig,
    LogisticSourceConfig,
    PolynomialSourceConfig,
    TwoMoonsSourceConfig,
    XorSourceConfig,
    compose,
    validate,
)
from ermlab.data import DataError, Population, generate
from ermlab.data.synthetic import (
    SOURCES,
    GaussianClassesSource,
    HeteroscedasticSource,
    LinearSource,
    LogisticSource,
    PolynomialSource,
    TwoMoonsSource,
    XorSource,
)

Z = 4.0  # Monte Carlo tolerance in standard errors (see the module docstring)
N_MC = 1_000_000  # fresh draws behind each Bayes-risk check
P_MIN = 1e-3  # goodness-of-fit threshold

# The conf/data examples this file owns (plus height_weight, the default).
CONF_NAMES = (
    "height_weight",
    "two_predictors",
    "room_energy",
    "house_price",
    "polynomial",
    "bishop",
    "heteroscedastic",
    "logistic",
    "gaussian_classes",
    "three_gaussians",
    "xor",
    "two_moons",
)
REGRESSION_LOSSES = ("mse", "mae", "gaussian_nll")
CLASSIFICATION_LOSSES = ("zero_one", "cross_entropy")


@functools.cache
def conf_data(name: str):
    """The validated ``data`` section of ``conf/data/<name>.yaml``."""
    return validate(compose([f"data={name}"])).data


@functools.cache  # one instance per example: its Monte Carlo Bayes risks are computed once
def source_of(name: str):
    cfg = conf_data(name)
    return SOURCES[cfg.kind](cfg)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def assert_mean_close(values: np.ndarray, expected, sd, k: float = 5.0) -> None:
    """Sample mean within k standard errors of the expected mean (columnwise)."""
    se = np.asarray(sd) / math.sqrt(len(values))
    err = np.abs(values.mean(axis=0) - np.asarray(expected))
    assert np.all(err < k * se), (values.mean(axis=0), expected, se)


# ----------------------------------------------------------------- registry and protocol
def test_every_kind_is_registered_and_implements_the_protocol():
    assert set(SOURCES) == {
        "linear",
        "polynomial",
        "heteroscedastic",
        "logistic",
        "gaussian_classes",
        "xor",
        "two_moons",
    }
    for name in (
        "height_weight",
        "polynomial",
        "heteroscedastic",
        "logistic",
        "gaussian_classes",
        "xor",
        "two_moons",
    ):
        source = source_of(name)
        assert isinstance(source, Population)
        assert source.task in ("regression", "classification")
        if source.task == "classification":
            np.testing.assert_array_equal(source.classes, np.arange(len(source.classes)))
            assert source.bayes_risk("mse") is None
        else:
            assert source.bayes_risk("zero_one") is None
        assert source.bayes_risk("no_such_loss") is None


# -------------------------------------------------------------------- distributions
def test_linear_correlated_inputs_and_noise():
    source = source_of("house_price")
    cfg = conf_data("house_price")
    X, y = source.sample(200_000, rng(1))
    cov = np.asarray(cfg.x.cov)
    assert_mean_close(X, cfg.x.mean, np.sqrt(np.diag(cov)))
    # Covariance error in units of sd_i·sd_j: its SE is at most √(2/n) ≈ 0.003; allow 0.02.
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    assert np.all(np.abs(np.cov(X.T) - cov) / scale < 0.02)
    noise = y - (cfg.intercept + X @ np.asarray(cfg.coef))
    assert stats.kstest(noise[:100_000] / cfg.noise_sd, "norm").pvalue > P_MIN


def test_polynomial_inputs_uniform_noise_normal():
    cfg = PolynomialSourceConfig()
    X, t = PolynomialSource(cfg).sample(100_000, rng(2))
    assert X.shape == (100_000, 1) and X.min() >= 0 and X.max() <= 1
    assert stats.kstest(X[:, 0], stats.uniform(0, 1).cdf).pvalue > P_MIN
    noise = t - np.sin(2 * np.pi * X[:, 0])
    assert_mean_close(noise, 0.0, 0.3)
    assert stats.kstest(noise / 0.3, "norm").pvalue > P_MIN


def test_polynomial_poly_function():
    cfg = PolynomialSourceConfig(
        function="poly", coef=[1.0, -2.0, 0.5], low=-1.0, high=3.0, noise_sd=0.1
    )
    X, t = PolynomialSource(cfg).sample(50_000, rng(3))
    x = X[:, 0]
    assert stats.kstest(x, stats.uniform(-1, 4).cdf).pvalue > P_MIN
    assert stats.kstest((t - (1 - 2 * x + 0.5 * x**2)) / 0.1, "norm").pvalue > P_MIN


@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_heteroscedastic_noise_scales_with_abs_x(dist: str):
    x_cfg = (
        InputDistConfig(dist="uniform", low=[-2.0], high=[2.0])
        if dist == "uniform"
        else InputDistConfig(mean=[0.5], sd=[1.5])
    )
    cfg = HeteroscedasticSourceConfig(
        x=x_cfg, intercept=1.0, slope=-2.0, noise_sd=0.2, noise_slope=0.7
    )
    X, y = HeteroscedasticSource(cfg).sample(100_000, rng(4))
    x = X[:, 0]
    law = stats.uniform(-2, 4) if dist == "uniform" else stats.norm(0.5, 1.5)
    assert stats.kstest(x, law.cdf).pvalue > P_MIN
    z = (y - (1.0 - 2.0 * x)) / (0.2 + 0.7 * np.abs(x))  # standardised by the stated sd(x)
    assert stats.kstest(z, "norm").pvalue > P_MIN
    # and the noise really is heteroscedastic: wider where |x| is large
    resid = y - (1.0 - 2.0 * x)
    assert resid[np.abs(x) > 1].std() > 2 * resid[np.abs(x) < 0.3].std()


def _calibration_chi2(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """p-value of Σ_b (O_b − E_b)²/V_b ~ χ²(bins) over bins of p: O = Σy, E = Σp, V = Σp(1−p).
    Exact in distribution given x (independent Bernoulli labels), up to the normal limit."""
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    obs = np.bincount(which, y, bins)
    exp = np.bincount(which, p, bins)
    var = np.bincount(which, p * (1 - p), bins)
    return float(stats.chi2.sf(np.sum((obs - exp) ** 2 / var), bins))


def test_logistic_inputs_and_labels():
    cfg = conf_data("logistic")
    X, y = LogisticSource(cfg).sample(200_000, rng(5))
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1}
    assert_mean_close(X, cfg.x.mean, cfg.x.sd)
    for j in range(X.shape[1]):
        law = stats.norm(cfg.x.mean[j], cfg.x.sd[j])
        assert stats.kstest(X[:100_000, j], law.cdf).pvalue > P_MIN
    p = 1 / (1 + np.exp(-(cfg.intercept + X @ np.asarray(cfg.coef))))
    assert _calibration_chi2(y, p) > P_MIN


def test_gaussian_classes_labels_and_class_conditionals():
    cfg = conf_data("three_gaussians")
    X, y = GaussianClassesSource(cfg).sample(300_000, rng(6))
    counts = np.bincount(y, minlength=3)
    assert stats.chisquare(counts, len(y) * np.asarray(cfg.priors)).pvalue > P_MIN
    for c in range(3):
        Xc = X[y == c]
        cov = np.asarray(cfg.covs[c])
        assert_mean_close(Xc, cfg.means[c], np.sqrt(np.diag(cov)))
        np.testing.assert_allclose(np.cov(Xc.T), cov, atol=0.03)  # SE ≈ 0.005 at n ≈ 10^5
        # Squared Mahalanobis distance under the stated N(μ_c, Σ_c) is χ²(p).
        d = Xc - np.asarray(cfg.means[c])
        d2 = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
        assert stats.kstest(d2[:50_000], stats.chi2(2).cdf).pvalue > P_MIN


def test_gaussian_classes_log_likelihood_matches_scipy():
    cfg = conf_data("three_gaussians")
    source = GaussianClassesSource(cfg)
    X = rng(7).normal(size=(500, 2)) * 3
    expected = np.column_stack(
        [stats.multivariate_normal(cfg.means[c], cfg.covs[c]).logpdf(X) for c in range(3)]
    )
    np.testing.assert_allclose(source.log_likelihood(X), expected, rtol=1e-12, atol=1e-12)
    joint = np.exp(expected) * np.asarray(cfg.priors)
    np.testing.assert_allclose(
        source.bayes_proba(X), joint / joint.sum(1, keepdims=True), atol=1e-12
    )


def test_xor_inputs_and_flips():
    cfg = XorSourceConfig(flip=0.15)
    X, y = XorSource(cfg).sample(200_000, rng(8))
    for j in range(2):
        assert stats.kstest(X[:100_000, j], stats.uniform(-1, 2).cdf).pvalue > P_MIN
    clean = (X[:, 0] * X[:, 1] > 0).astype(int)
    flipped = int(np.sum(y != clean))
    assert (
        stats.chisquare([flipped, len(y) - flipped], [0.15 * len(y), 0.85 * len(y)]).pvalue > P_MIN
    )
    X0, y0 = XorSource(XorSourceConfig(flip=0.0)).sample(10_000, rng(8))
    np.testing.assert_array_equal(y0, (X0[:, 0] * X0[:, 1] > 0).astype(int))


def _moon_marginal_cdf(offset: float, sign: float, trig, sd: float):
    """CDF of offset + sign·trig(t) + N(0, sd²), t ~ U(0, π): (1/π)∫Φ(·) dt by a 1000-point
    midpoint rule (error ~1e-6, independent of the source's Gauss–Legendre density)."""
    t = (np.arange(1000) + 0.5) * np.pi / 1000
    centre = offset + sign * trig(t)

    def cdf(v: np.ndarray) -> np.ndarray:
        return special.ndtr((np.asarray(v)[:, None] - centre) / sd).mean(axis=1)

    return cdf


def test_two_moons_labels_and_marginals():
    sd = 0.2
    X, y = TwoMoonsSource(TwoMoonsSourceConfig(noise_sd=sd)).sample(100_000, rng(9))
    counts = np.bincount(y, minlength=2)
    assert stats.chisquare(counts).pvalue > P_MIN
    # make_moons geometry: class 0 (cos t, sin t), class 1 (1 − cos t, 0.5 − sin t)
    laws = {
        (0, 0): (0.0, 1.0, np.cos),
        (0, 1): (0.0, 1.0, np.sin),
        (1, 0): (1.0, -1.0, np.cos),
        (1, 1): (0.5, -1.0, np.sin),
    }
    for (c, j), (offset, sign, trig) in laws.items():
        values = X[y == c, j][:5_000]
        cdf = _moon_marginal_cdf(offset, sign, trig, sd)
        assert stats.kstest(values, cdf).pvalue > P_MIN, (c, j)


def test_two_moons_density_is_normalised_and_matches_brute_force():
    source = TwoMoonsSource(TwoMoonsSourceConfig(noise_sd=0.2))
    # ∫ p(x | c) dx = 1: midpoint rule on a box holding all but ~e^-50 of the mass.
    h = 0.02
    g1 = np.arange(-2.5, 3.5, h) + h / 2
    g2 = np.arange(-2.0, 2.5, h) + h / 2
    grid = np.stack(np.meshgrid(g1, g2), -1).reshape(-1, 2)
    mass = np.exp(source.log_likelihood(grid)).sum(axis=0) * h * h
    np.testing.assert_allclose(mass, [1.0, 1.0], atol=1e-6)
    # Pointwise against a 20000-point midpoint rule in t.
    t = (np.arange(20_000) + 0.5) * np.pi / 20_000
    X = np.array([[0.0, 1.0], [1.0, -0.5], [0.5, 0.25], [2.5, 1.5], [-1.2, -0.3]])
    for c in (0, 1):
        arc = source.arc(c, t)
        d2 = ((X[:, None, :] - arc[None]) ** 2).sum(-1)
        brute = np.exp(-d2 / (2 * 0.04)).mean(axis=1) / (2 * np.pi * 0.04)
        np.testing.assert_allclose(np.exp(source.log_likelihood(X)[:, c]), brute, rtol=1e-6)


# ------------------------------------------------------------- Bayes risks vs fresh draws
def _regression_sd(source, X: np.ndarray) -> np.ndarray:
    """The predictive sd from the config (independent of the source's own code)."""
    cfg = source.cfg
    if isinstance(source, HeteroscedasticSource):
        return cfg.noise_sd + cfg.noise_slope * np.abs(X[:, 0])
    return np.full(len(X), cfg.noise_sd)


BAYES_CASES = {
    "house_price": lambda: source_of("house_price"),
    "polynomial": lambda: source_of("polynomial"),
    "heteroscedastic_uniform": lambda: source_of("heteroscedastic"),
    "heteroscedastic_normal": lambda: HeteroscedasticSource(
        HeteroscedasticSourceConfig(
            x=InputDistConfig(mean=[0.5], sd=[1.5]), noise_sd=0.2, noise_slope=0.7
        )
    ),
    "heteroscedastic_zero_floor": lambda: HeteroscedasticSource(
        HeteroscedasticSourceConfig(
            x=InputDistConfig(mean=[-0.3], sd=[1.0]), noise_sd=0.0, noise_slope=1.0
        )
    ),
    "logistic_normal": lambda: source_of("logistic"),
    "logistic_uniform_mc": lambda: LogisticSource(
        LogisticSourceConfig(
            x=InputDistConfig(dist="uniform", low=[-1.0, -2.0], high=[2.0, 1.0]),
            intercept=-0.3,
            coef=[1.5, 2.0],
        )
    ),
    "gaussian_two_shared": lambda: source_of("gaussian_classes"),
    "gaussian_two_own_covs_mc": lambda: GaussianClassesSource(
        GaussianClassesConfig(
            priors=[0.35, 0.65],
            means=[[0.0, 0.0], [1.0, 1.0]],
            covs=[[[1.0, 0.2], [0.2, 0.5]], [[2.0, 0.0], [0.0, 1.0]]],
        )
    ),
    "three_gaussians_mc": lambda: source_of("three_gaussians"),
    "xor": lambda: source_of("xor"),
    "two_moons_mc": lambda: source_of("two_moons"),
}


@pytest.mark.parametrize("case", list(BAYES_CASES))
def test_bayes_risk_matches_fresh_monte_carlo(case: str):
    source = BAYES_CASES[case]()
    # Two moons: 2·10^5 fresh points, as many as its own Monte Carlo uses (each point costs a
    # 100-node quadrature per class); every other source gets 10^6.
    n = 200_000 if isinstance(source, TwoMoonsSource) else N_MC
    X, y = source.sample(n, rng(10))
    if source.task == "regression":
        r = source.bayes_predict(X) - y
        sd = _regression_sd(source, X)
        per_point = {
            "mse": r**2,
            "mae": np.abs(r),
            "gaussian_nll": 0.5 * np.log(2 * np.pi * sd**2) + r**2 / (2 * sd**2),
        }
    else:
        proba = source.bayes_proba(X)
        predicted = source.bayes_predict(X)
        assert proba.shape == (n, len(source.classes))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_array_equal(predicted, np.argmax(proba, axis=1))
        per_point = {
            "zero_one": (predicted != y).astype(float),
            "cross_entropy": -np.log(proba[np.arange(n), y]),
        }
    for loss, values in per_point.items():
        bayes = source.bayes_risk(loss)
        assert bayes is not None, loss
        se = math.sqrt(values.var(ddof=1) / n + source.bayes_risk_se(loss) ** 2)
        assert abs(values.mean() - bayes) < Z * se, (loss, values.mean(), bayes, se)
    if source.task == "classification":
        assert source.bayes_risk("accuracy") == pytest.approx(1 - source.bayes_risk("zero_one"))


def test_two_gaussians_closed_form():
    """Equal priors, identity covariance, means ±1: Δ = 2 and R = Φ(−Δ/2) = Φ(−1)."""
    source = GaussianClassesSource(GaussianClassesConfig())
    assert source.mahalanobis() == pytest.approx(2.0, rel=1e-14)
    assert source.bayes_risk("zero_one") == pytest.approx(stats.norm.cdf(-1.0), rel=1e-13)
    assert source.bayes_risk_se("zero_one") == 0.0


def test_two_gaussians_closed_form_equals_monte_carlo():
    """Unequal priors, correlated shared covariance: the closed form against the posterior
    Monte Carlo (E[1 − max p(c|x)] and E[H], 10^6 points), and Δ against a hand computation."""
    cfg = conf_data("gaussian_classes")
    source = GaussianClassesSource(cfg)
    diff = np.subtract(cfg.means[1], cfg.means[0])
    delta = math.sqrt(diff @ np.linalg.inv(cfg.cov) @ diff)
    assert source.mahalanobis() == pytest.approx(delta, rel=1e-12)
    pi0, pi1 = cfg.priors
    c = math.log(pi1 / pi0)
    closed = pi0 * stats.norm.cdf(-delta / 2 + c / delta) + pi1 * stats.norm.cdf(
        -delta / 2 - c / delta
    )
    assert source.bayes_risk("zero_one") == pytest.approx(closed, rel=1e-12)
    mc = source._mc_risks(N_MC)
    for loss in CLASSIFICATION_LOSSES:
        value, se = mc[loss]
        assert abs(value - source.bayes_risk(loss)) < Z * se, (loss, value, source.bayes_risk(loss))


def test_xor_bayes_risk_is_flip():
    for flip in (0.0, 0.1, 0.3):
        source = XorSource(XorSourceConfig(flip=flip))
        assert source.bayes_risk("zero_one") == flip
        expected = 0.0 if flip == 0 else -(flip * math.log(flip) + (1 - flip) * math.log(1 - flip))
        assert source.bayes_risk("cross_entropy") == pytest.approx(expected, abs=1e-15)


def _expect(f, law) -> float:
    """E f(x) for x ~ law (a frozen scipy distribution) by scipy.integrate.quad, split at the
    kink x = 0 of |x|, over the range holding all but 2e-15 of the mass."""
    lo, hi = law.ppf(1e-15), law.isf(1e-15)
    pieces = [(lo, 0.0), (0.0, hi)] if lo < 0 < hi else [(lo, hi)]
    return sum(
        integrate.quad(lambda x: f(x) * law.pdf(x), u, v, epsabs=1e-13, limit=200)[0]
        for u, v in pieces
    )


@pytest.mark.parametrize("a, b", [(0.1, 0.5), (0.0, 0.8), (0.4, 0.0)])
@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_regression_bayes_risks_against_independent_quadrature(dist: str, a: float, b: float):
    """Closed forms (uniform x) and quadrature (normal x) against scipy.integrate.quad of
    sd(x)², sd(x) and log sd(x) over p(x), to 1e-9."""
    if dist == "uniform":
        x_cfg = InputDistConfig(dist="uniform", low=[-0.5], high=[2.0])
        law = stats.uniform(-0.5, 2.5)
    else:
        x_cfg, law = InputDistConfig(mean=[0.7], sd=[1.3]), stats.norm(0.7, 1.3)
    source = HeteroscedasticSource(HeteroscedasticSourceConfig(x=x_cfg, noise_sd=a, noise_slope=b))

    def sd(x: float) -> float:
        return a + b * abs(x)

    assert source.bayes_risk("mse") == pytest.approx(_expect(lambda x: sd(x) ** 2, law), abs=1e-9)
    mae = _expect(sd, law) * math.sqrt(2 / math.pi)
    assert source.bayes_risk("mae") == pytest.approx(mae, abs=1e-9)
    nll = 0.5 * math.log(2 * math.pi) + 0.5 + _expect(lambda x: math.log(sd(x)), law)
    assert source.bayes_risk("gaussian_nll") == pytest.approx(nll, abs=1e-8)


def test_heteroscedastic_without_noise_has_no_nll():
    source = HeteroscedasticSource(HeteroscedasticSourceConfig(noise_sd=0.0, noise_slope=0.0))
    assert source.bayes_risk("mse") == 0.0 and source.bayes_risk("gaussian_nll") is None


def test_logistic_cross_entropy_against_gauss_hermite():
    """H(σ(s)) is smooth, so 300-node Gauss–Hermite over the Gaussian score is exact to ~1e-12:
    an independent check of the source's adaptive quadrature."""
    cfg = conf_data("logistic")
    source = LogisticSource(cfg)
    w = np.asarray(cfg.coef)
    mean = cfg.intercept + w @ np.asarray(cfg.x.mean)
    sd = math.sqrt(w @ np.diag(np.square(cfg.x.sd)) @ w)
    z, weights = np.polynomial.hermite.hermgauss(300)
    p = special.expit(mean + math.sqrt(2) * sd * z)
    entropy = special.entr(p) + special.entr(1 - p)  # entr(q) = −q log q, 0 at q = 0
    assert source.bayes_risk("cross_entropy") == pytest.approx(
        weights @ entropy / math.sqrt(math.pi), abs=1e-10
    )


# ----------------------------------------------------------------- seeds, grids, chunks
@pytest.mark.parametrize(
    "name",
    [
        "house_price",
        "polynomial",
        "heteroscedastic",
        "logistic",
        "three_gaussians",
        "xor",
        "two_moons",
    ],
)
def test_same_seed_same_data(name: str):
    source = source_of(name)
    a = source.sample(500, rng(11))
    b = source.sample(500, rng(11))
    c = source.sample(500, rng(12))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (500, len(source.feature_names)) and a[1].shape == (500,)


def test_grid_is_evenly_spaced_with_endpoints():
    grid = PolynomialSource(PolynomialSourceConfig(low=-1.0, high=2.0)).grid(7)
    assert grid.shape == (7, 1)
    np.testing.assert_allclose(grid[:, 0], [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0], atol=1e-15)
    hetero = source_of("heteroscedastic").grid(5)[:, 0]
    np.testing.assert_allclose(hetero, [-2.0, -1.0, 0.0, 1.0, 2.0], atol=1e-15)
    # A normal input: mean ± 3 sd (height_weight: 170 ± 30 cm).
    normal = source_of("height_weight").grid(61)[:, 0]
    assert normal[0] == pytest.approx(140.0) and normal[-1] == pytest.approx(200.0)
    np.testing.assert_allclose(np.diff(normal), 1.0, rtol=1e-12)
    one_input_logistic = LogisticSource(
        LogisticSourceConfig(
            features=["x"], coef=[1.0], x=InputDistConfig(dist="uniform", low=[0.0], high=[4.0])
        )
    )
    np.testing.assert_allclose(one_input_logistic.grid(3)[:, 0], [0.0, 2.0, 4.0])


@pytest.mark.parametrize("name", ["house_price", "logistic", "three_gaussians", "xor", "two_moons"])
def test_grid_refuses_multi_input_sources_in_one_line(name: str):
    with pytest.raises(DataError) as info:
        source_of(name).grid(10)
    assert "\n" not in str(info.value) and "one input" in str(info.value)


def test_sample_train_honours_design():
    base = conf_data("bishop")
    grid_source = PolynomialSource(base)
    X, t = grid_source.sample_train(10, rng(13))
    np.testing.assert_array_equal(X[:, 0], np.linspace(0.0, 1.0, 10))
    assert t.shape == (10,) and not np.allclose(t, np.sin(2 * np.pi * X[:, 0]))
    # Noise at the grid is N(0, 0.3²): many draws at the fixed inputs.
    noise = np.concatenate([grid_source.sample_train(10, rng(s))[1] for s in range(2000)])
    noise -= np.tile(np.sin(2 * np.pi * X[:, 0]), 2000)
    assert stats.kstest(noise / 0.3, "norm").pvalue > P_MIN
    uniform = PolynomialSource(dataclasses.replace(base, design="uniform"))
    a = uniform.sample_train(10, rng(14))
    b = uniform.sample(10, rng(14))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # sample() stays i.i.d. uniform whatever the design
    Xs, _ = grid_source.sample(50_000, rng(15))
    assert stats.kstest(Xs[:, 0], stats.uniform(0, 1).cdf).pvalue > P_MIN


@pytest.mark.parametrize(
    "name", ["house_price", "heteroscedastic", "logistic", "three_gaussians", "xor", "two_moons"]
)
def test_sample_chunks(name: str):
    source = source_of(name)
    chunks = list(source.sample_chunks(2_500, rng(16), chunk=1_000))
    assert [len(y) for _, y in chunks] == [1_000, 1_000, 500]
    X = np.concatenate([c[0] for c in chunks])
    y = np.concatenate([c[1] for c in chunks])
    assert X.shape == (2_500, len(source.feature_names)) and y.shape == (2_500,)
    again = list(source.sample_chunks(2_500, rng(16), chunk=1_000))
    np.testing.assert_array_equal(X, np.concatenate([c[0] for c in again]))
    # One chunk is exactly the one-shot draw.
    ((X1, y1),) = source.sample_chunks(800, rng(17), chunk=1_000)
    X2, y2 = source.sample(800, rng(17))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    with pytest.raises(ValueError):
        next(source.sample_chunks(10, rng(0), chunk=0))


def test_sample_chunks_have_the_right_distribution():
    cfg = conf_data("two_predictors")
    source = LinearSource(cfg)
    parts = list(source.sample_chunks(100_000, rng(18), chunk=7_000))
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    assert len(y) == 100_000
    for j in range(2):
        assert stats.kstest(X[:, j], stats.norm(cfg.x.mean[j], cfg.x.sd[j]).cdf).pvalue > P_MIN
    noise = y - source.bayes_predict(X)
    assert stats.kstest(noise / cfg.noise_sd, "norm").pvalue > P_MIN
    labels = np.concatenate(
        [c[1] for c in source_of("xor").sample_chunks(100_000, rng(19), chunk=9_999)]
    )
    assert stats.binomtest(int(labels.sum()), len(labels), 0.5).pvalue > P_MIN


def test_sample_at_draws_from_the_conditional():
    # Regression: residuals at fixed inputs are N(0, sd(x)²).
    source = source_of("heteroscedastic")
    X = np.repeat([[-1.5], [0.0], [1.0]], 50_000, axis=0)
    z = (source.sample_at(X, rng(20)) - X[:, 0]) / (0.1 + 0.5 * np.abs(X[:, 0]))
    assert stats.kstest(z, "norm").pvalue > P_MIN
    # Classification: label frequencies at a fixed x equal the Bayes posterior there.
    for name in ("three_gaussians", "two_moons", "logistic"):
        classifier = source_of(name)
        x = np.array([[0.8, 0.4]])
        labels = classifier.sample_at(np.repeat(x, 100_000, axis=0), rng(21))
        counts = np.bincount(labels, minlength=len(classifier.classes))
        expected = 100_000 * classifier.bayes_proba(x)[0]
        assert stats.chisquare(counts, expected).pvalue > P_MIN, name
    with pytest.raises(DataError):
        source_of("xor").sample_at(np.zeros((3, 3)), rng(0))


# ------------------------------------------------------------------------- conf examples
@pytest.mark.parametrize("name", CONF_NAMES)
def test_conf_example_composes_validates_and_generates(name: str):
    cfg = conf_data(name)
    dataset, source = generate(cfg, 0)
    assert len(dataset) == cfg.n_train + cfg.n_test and dataset.n_test == cfg.n_test
    assert dataset.feature_names == source.feature_names
    expected_names = tuple(cfg.features) if hasattr(cfg, "features") else (cfg.feature,)
    assert dataset.feature_names == expected_names
    assert dataset.X.shape == (len(dataset), len(expected_names))
    assert np.all(np.isfinite(dataset.X)) and np.all(np.isfinite(dataset.y))
    assert dataset.task == source.task
    losses = REGRESSION_LOSSES if source.task == "regression" else CLASSIFICATION_LOSSES
    if source.task == "classification":
        assert set(np.unique(dataset.y)) <= set(source.classes.tolist())
    for loss in losses:
        risk = source.bayes_risk(loss)
        assert risk is not None and math.isfinite(risk), (name, loss)
