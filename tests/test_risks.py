"""Risks computed by ermlab against hand computations and the exact population formula."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ermlab.config import InputDistConfig, LinearSourceConfig
from ermlab.data import Dataset, generate
from ermlab.data.synthetic import LinearSource
from ermlab.evaluate import evaluate
from ermlab.seeding import rng


class FixedLine:
    """A predictor with given coefficients (no fitting), to test risks in isolation."""

    def __init__(self, intercept: float, coef: np.ndarray) -> None:
        self.intercept_, self.coef_ = intercept, np.asarray(coef, dtype=float)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.intercept_ + X @ self.coef_


def _source(**kw) -> LinearSource:
    cfg = LinearSourceConfig(
        features=["a", "b"],
        coef=[2.0, -1.0],
        intercept=3.0,
        noise_sd=0.5,
        x=InputDistConfig(mean=[1.0, -2.0], cov=[[1.0, 0.6], [0.6, 2.0]]),
        **kw,
    )
    return LinearSource(cfg)


def test_risks_equal_hand_computation():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([1.0, 2.0, 2.0, 5.0])
    model = FixedLine(1.0, [1.0])  # predictions 1, 2, 3, 4; residuals 0, 0, -1, 1
    train = Dataset(X, y, ("x",), "y", "hand")
    test = Dataset(X[:2], y[:2] + 2.0, ("x",), "y", "hand")  # residuals 2, 2
    metrics = evaluate(model, train, test, source=None)
    assert metrics["risk"]["train"]["mse"] == pytest.approx(0.5)
    assert metrics["risk"]["train"]["mae"] == pytest.approx(0.5)
    assert metrics["risk"]["test"]["mse"] == pytest.approx(4.0)
    assert metrics["gap"]["mse"] == pytest.approx(3.5)
    # Gaussian NLL with the training residual variance 0.5: ½log(2π·0.5) + r²/(2·0.5)
    expected = np.mean(0.5 * np.log(2 * np.pi * 0.5) + np.array([0, 0, 1, 1]) / 1.0)
    assert metrics["risk"]["train"]["gaussian_nll"] == pytest.approx(expected)
    assert "population" not in metrics["risk"] and "bayes" not in metrics["risk"]


@pytest.mark.parametrize("seed", range(5))
def test_a_degree_9_polynomial_through_10_points_has_no_gaussian_nll(seed: int):
    """Its training residuals are OLS's rounding error (about 1e-19 of a variance of 0.5),
    not 0: its NLL was about -20 on train and 1e17 on test."""
    from ermlab.models.ols import OLS

    gen = np.random.default_rng(seed)
    X = gen.uniform(size=(10, 1))
    y = np.sin(2 * np.pi * X[:, 0]) + 0.3 * gen.normal(size=10)
    train = Dataset(X, y, ("x",), "t", "bishop")
    test = Dataset(X + 0.01, y, ("x",), "t", "bishop")
    metrics = evaluate(OLS(degree=9).fit(X, y), train, test, source=None)
    assert "gaussian_nll" not in metrics["risk"]["train"] and metrics["risk"]["test"]["mse"] > 0
    cubic = evaluate(OLS(degree=3).fit(X, y), train, test, source=None)
    assert np.isfinite(cubic["risk"]["test"]["gaussian_nll"])  # a fit with residuals keeps it


@pytest.mark.parametrize("residual", [0.0, 1e-9])  # a tree's exact fit; rounding-level
def test_a_fit_that_interpolates_its_training_set_has_no_gaussian_nll(residual: float):
    """Its plug-in variance is 0: the NLL would be −∞ on train and +∞ elsewhere (printed as
    -353.28 and inf, with numpy's overflow warnings, before). Every other risk is there."""
    import warnings

    from ermlab.evaluate import NO_GAUSSIAN_NLL, risk_table

    X = np.array([[0.0], [1.0], [2.0]])
    y = np.array([170.0, 171.0, 173.0])
    model = FixedLine(0.0, [0.0])
    model.predict = lambda X_: np.interp(X_[:, 0], X[:, 0], y) + residual
    train = Dataset(X, y, ("x",), "y", "hand")
    test = Dataset(X + 0.5, y, ("x",), "y", "hand")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow
        metrics = evaluate(model, train, test, source=None)
    for split in ("train", "test"):
        assert set(metrics["risk"][split]) == {"mse", "mae"}
    assert metrics["risk"]["test"]["mse"] == pytest.approx(np.mean([0.25, 1.0, 0.0]))  # 173 held
    assert risk_table(metrics).splitlines()[-1] == NO_GAUSSIAN_NLL
    model.predict = lambda X_: np.interp(X_[:, 0], X[:, 0], y) + 1e-3  # a fit that does not
    assert "gaussian_nll" in evaluate(model, train, test, source=None)["risk"]["train"]


def test_exact_population_risk_two_ways():
    """σ² + E[(θ̂−θ)ᵀ x̃ x̃ᵀ (θ̂−θ)] with x̃ = (1, x), against bias² + δᵀΣδ."""
    source = _source()
    intercept, coef = 2.5, np.array([2.2, -0.7])
    d = np.array([intercept - 3.0, *(coef - source.coef)])
    mu, cov = source.x.mean, source.x.cov
    second_moment = np.block(
        [[np.ones((1, 1)), mu[None, :]], [mu[:, None], cov + np.outer(mu, mu)]]
    )
    expected = 0.25 + d @ second_moment @ d
    assert source.linear_population_mse(intercept, coef) == pytest.approx(expected, rel=1e-12)


def test_population_risk_matches_exact_formula_within_monte_carlo_error():
    source = _source(n_population=200_000)
    model = FixedLine(2.5, [2.2, -0.7])
    train = Dataset(*source.sample(50, rng(1, "data")), ("a", "b"), "y", "linear")
    metrics = evaluate(model, train, train, source, seed=3, n_population=200_000)
    pop = metrics["risk"]["population"]
    exact = source.linear_population_mse(2.5, [2.2, -0.7])
    assert abs(pop["mse"] - exact) < 4 * pop["mse_se"]
    assert metrics["risk"]["bayes"]["mse"] == 0.25
    assert metrics["risk"]["bayes"]["mae"] == pytest.approx(0.5 * np.sqrt(2 / np.pi))


def test_bayes_predictor_attains_bayes_risk():
    source = _source()
    X, y = source.sample(400_000, rng(0, "population"))
    assert np.mean((source.bayes_predict(X) - y) ** 2) == pytest.approx(0.25, rel=0.01)


def test_sampling_matches_the_stated_distribution():
    source = _source()
    X, y = source.sample(200_000, rng(5, "data"))
    # Means within 5 standard errors, covariance within a few percent.
    se = np.sqrt(np.diag(source.x.cov) / len(X))
    assert np.all(np.abs(X.mean(0) - source.x.mean) < 5 * se)
    np.testing.assert_allclose(np.cov(X.T), source.x.cov, rtol=0.03, atol=0.02)
    noise = y - source.bayes_predict(X)
    assert stats.kstest(noise / 0.5, "norm").pvalue > 1e-3


def test_same_seed_same_data_and_streams_are_independent():
    cfg = LinearSourceConfig(n_train=20, n_test=10)
    a, _ = generate(cfg, seed=7)
    b, _ = generate(cfg, seed=7)
    c, _ = generate(cfg, seed=8)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert len(a) == 30 and a.n_test == 10


def test_uniform_inputs():
    cfg = LinearSourceConfig(x=InputDistConfig(dist="uniform", low=[-1.0], high=[3.0]))
    X, _ = LinearSource(cfg).sample(100_000, rng(0, "data"))
    assert X.min() >= -1 and X.max() <= 3
    assert stats.kstest(X[:, 0], stats.uniform(-1, 4).cdf).pvalue > 1e-3


def test_named_substreams_are_the_spawned_children_of_their_stream():
    from ermlab.seeding import rng, seed_sequence

    children = seed_sequence(3, "split").spawn(2)
    for k, sub in enumerate(("kfold", "subsample")):
        expected = np.random.default_rng(children[k]).random(5)
        np.testing.assert_array_equal(rng(3, "split", sub=sub).random(5), expected)
    with pytest.raises(ValueError, match="unknown sub-stream"):
        rng(3, "data", sub="kfold")


def test_the_risk_table_gives_the_population_estimates_standard_error_under_it():
    """The population risk is a Monte Carlo mean: its SE, sd(losses)/sqrt(m), is the row under
    it, in the main loss's column (a value just below the Bayes risk is that error)."""
    from ermlab.evaluate import POPULATION_SE_ROW, risk_table

    metrics = {
        "risk": {
            "train": {"mse": 60.0, "mae": 6.0},
            "population": {"mse": 63.83, "mae": 6.37, "mse_se": 0.28607},
            "bayes": {"mse": 64.0, "mae": 6.3831},
        }
    }
    lines = risk_table(metrics).splitlines()
    below = lines[[ln.split("  ")[0] for ln in lines].index("population") + 1]
    assert below.split() == [*POPULATION_SE_ROW.split(), "0.28607"]
    del metrics["risk"]["population"]["mse_se"]
    assert POPULATION_SE_ROW not in risk_table(metrics)
