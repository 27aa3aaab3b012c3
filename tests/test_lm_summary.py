"""R's summary(lm(...)) for OLS: against R's published output for `women` and statsmodels' OLS."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ermlab.models.lm_summary import lm_summary
from ermlab.models.ols import OLS
from ermlab.paths import REFERENCE_DIR


def women() -> tuple[np.ndarray, np.ndarray]:
    table = pd.read_csv(REFERENCE_DIR / "women.csv")
    return table[["height"]].to_numpy(float), table["weight"].to_numpy(float)


def published(value: float, printed_digits: int) -> dict:
    """pytest.approx for a number R printed with ``printed_digits`` significant digits: it is
    the true value rounded, so they differ by at most half a unit in the last printed place."""
    return pytest.approx(value, rel=0.5 * 10.0 ** (1 - printed_digits) / 0.999)


def test_women_matches_r_published_summary():
    # summary(lm(weight ~ height, women)), from ../shared/datasets/README.md
    X, y = women()
    s = lm_summary(OLS().fit(X, y), X, y, ("height",), "weight")
    assert s.terms == ("(Intercept)", "height")
    assert s.estimate[0] == published(-87.51667, 7)
    assert s.estimate[1] == published(3.45000, 6)
    assert s.std_error[0] == published(5.93694, 6)
    assert s.std_error[1] == published(0.09114, 4)
    assert s.t_value[0] == published(-14.74, 4)
    # R rounds t to 3 decimals before printing 4 digits (37.8553 -> 37.855 -> "37.85"): the
    # double rounding can be off by one unit in the last printed place.
    assert s.t_value[1] == pytest.approx(37.85, abs=0.01)
    assert s.p_value[0] == published(1.71e-09, 3)
    assert s.p_value[1] == published(1.09e-14, 3)
    assert s.residual_se == published(1.525, 4)
    assert s.df_residual == 13
    assert s.r_squared == published(0.991, 3)
    assert s.adj_r_squared == published(0.9903, 4)
    assert s.f_statistic == published(1433, 4)
    assert s.f_df == (1, 13)
    assert s.f_p_value == published(1.091e-14, 4)
    text = s.text()
    for line in (
        "lm(formula = weight ~ height)",
        "Residual standard error: 1.525 on 13 degrees of freedom",
        "F-statistic: 1433 on 1 and 13 DF,  p-value: 1.09e-14",
    ):
        assert line in text
    assert "Adjusted R-squared:  0.9903" in text


@pytest.mark.parametrize(
    ("fit_intercept", "degree", "k"),
    [(True, 1, 3), (False, 1, 3), (True, 2, 2), (True, 0, 1)],
)
def test_matches_statsmodels_ols_on_random_data(fit_intercept, degree, k):
    sm = pytest.importorskip("statsmodels.api")
    gen = np.random.default_rng(12)
    n = 40
    X = gen.normal(size=(n, k))
    y = 1.5 + X @ gen.normal(size=k) + X[:, 0] ** 2 + gen.normal(size=n)
    model = OLS(fit_intercept=fit_intercept, degree=degree).fit(X, y)
    names = tuple(f"x{j}" for j in range(k))
    s = lm_summary(model, X, y, names, "y")
    # statsmodels on the same design, built independently: [1,] x_j, x_j^2, ... (j-major)
    powers = [X[:, j] ** d for j in range(k) for d in range(1, degree + 1)]
    design = np.column_stack(powers) if powers else np.empty((n, 0))
    if fit_intercept:
        design = np.column_stack([np.ones(n), design])
    ref = sm.OLS(y, design).fit()
    # Both solve a well-conditioned 40-row problem in double precision: they agree to ~1e-12;
    # 1e-9 leaves room for the p-value tails (relative error of the t/F survival functions).
    close = {"rel": 1e-9, "abs": 1e-300}
    assert s.estimate == pytest.approx(ref.params, **close)
    assert s.std_error == pytest.approx(ref.bse, **close)
    assert s.t_value == pytest.approx(ref.tvalues, **close)
    assert s.p_value == pytest.approx(ref.pvalues, **close)
    assert s.residual_se == pytest.approx(np.sqrt(ref.scale), **close)
    assert s.df_residual == int(ref.df_resid)
    if degree == 0:  # intercept only: statsmodels reports R² 0 and no meaningful F, as R
        assert s.r_squared == pytest.approx(0.0, abs=1e-12)
        assert s.f_statistic is None
        return
    assert s.r_squared == pytest.approx(ref.rsquared, **close)
    assert s.adj_r_squared == pytest.approx(ref.rsquared_adj, **close)
    assert s.f_statistic == pytest.approx(ref.fvalue, **close)
    assert s.f_df == (int(ref.df_model), int(ref.df_resid))
    assert s.f_p_value == pytest.approx(ref.f_pvalue, **close)
    residuals = y - model.predict(X)
    assert s.residual_quantiles == pytest.approx(np.percentile(ref.resid, [0, 25, 50, 75, 100]))
    assert residuals == pytest.approx(ref.resid, abs=1e-9)


def test_only_unpenalised_ols_has_a_summary():
    from sklearn.linear_model import LinearRegression

    X, y = women()
    assert lm_summary(OLS(alpha=1.0).fit(X, y), X, y, ("height",), "weight") is None
    assert lm_summary(LinearRegression().fit(X, y), X, y, ("height",), "weight") is None


def test_exact_fit_and_singular_design_say_so_instead_of_inventing_numbers():
    import warnings

    x = np.arange(5.0)[:, None]
    exact = lm_summary(OLS().fit(x, 1 + 2 * x[:, 0]), x, 1 + 2 * x[:, 0], ("x",), "y")
    # Zero residuals: SE 0, t and F infinite, p 0 (R warns "essentially perfect fit").
    assert exact.std_error == (0.0, 0.0) and exact.t_value == (np.inf, np.inf)
    assert exact.p_value == (0.0, 0.0) and exact.f_statistic == np.inf
    assert "F-statistic: Inf on 1 and 3 DF,  p-value: <2e-16" in exact.text()

    X = np.column_stack([x[:, 0], 2 * x[:, 0]])  # the second column is twice the first
    y = np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        singular = lm_summary(OLS().fit(X, y), X, y, ("a", "b"), "y")
    assert singular.rank_deficient and np.isnan(singular.std_error).all()
    assert singular.f_df == (1, 3)  # rank 2: one regression df, as R's lm after dropping b
    dropped = lm_summary(OLS().fit(X[:, :1], y), X[:, :1], y, ("a",), "y")
    assert singular.r_squared == pytest.approx(dropped.r_squared, rel=1e-10)
    assert singular.f_statistic == pytest.approx(dropped.f_statistic, rel=1e-10)
    assert "rank-deficient design" in singular.text()
    assert singular.to_dict()["std_error"] == [None, None, None]  # JSON has no NaN


def test_p_values_are_scipy_stats_even_for_an_f_rounded_below_zero():
    """The t and F p-values equal scipy.stats's t.sf and f.sf (R's pt and pf), also where a
    feature orthogonal to the target makes F a rounding error below 0: p = 1, not NA."""
    from scipy import stats

    from ermlab.models.lm_summary import lm_summary
    from ermlab.models.ols import OLS

    rng = np.random.default_rng(0)
    below_zero = 0
    for _ in range(400):
        n = int(rng.integers(4, 30))
        y = rng.normal(size=n) * 10 ** rng.uniform(-3, 6) + rng.normal() * 10 ** rng.uniform(0, 8)
        yc = y - y.mean()
        x = rng.normal(size=n)
        x = x - (x @ yc) / (yc @ yc) * yc  # orthogonal to the centred target: F is about 0
        model = OLS().fit(x[:, None], y)
        summary = lm_summary(model, x[:, None], y, ("x",), "y")
        f = summary.f_statistic
        below_zero += f < 0
        assert summary.f_p_value == float(stats.f.sf(f, 1, n - 2))
        t = np.asarray(summary.t_value)
        assert np.array_equal(summary.p_value, 2 * stats.t.sf(np.abs(t), n - 2), equal_nan=True)
    assert below_zero > 0  # the case this test is about did occur


def test_a_model_without_a_summary_leaves_no_earlier_summary_behind(tmp_path):
    """DVC's results/ outlives each run: after `dvc exp run -S model=torch_linear` the OLS
    run's lm_summary.txt was still there, read as the new model's."""
    from sklearn.linear_model import Ridge

    from ermlab.data import Dataset
    from ermlab.pipeline import record_summary

    gen = np.random.default_rng(0)
    X = gen.normal(size=(20, 1))
    train = Dataset(X, 1.0 + 2.0 * X[:, 0] + gen.normal(size=20), ("x",), "y", "t")
    assert record_summary(OLS().fit(train.X, train.y), train, tmp_path, None) is not None
    assert "Coefficients" in (tmp_path / "lm_summary.txt").read_text()
    assert record_summary(Ridge().fit(train.X, train.y), train, tmp_path, None) is None
    assert not (tmp_path / "lm_summary.txt").exists()


def test_a_column_that_is_a_power_is_written_as_r_writes_it():
    """NIST's Pontius has columns x and x^2. In an R formula ``x^2`` alone is x crossed with
    itself, which is x: R fits this model as ``y ~ x + I(x^2)`` and names the term so."""
    from ermlab.models.lm_summary import formula, term_names

    assert formula(("x", "x^2"), "y", True, 1) == "y ~ x + I(x^2)"
    assert term_names(("x", "x^2"), True, 1) == ("(Intercept)", "x", "I(x^2)")
    assert term_names(("height",), True, 2) == ("(Intercept)", "height", "I(height^2)")
