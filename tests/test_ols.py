"""OLS against independent truth: NIST certified values, closed forms, sklearn, pinv."""

from __future__ import annotations

import math
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression, Ridge

from ermlab.data.nist import SHIPPED, lre, read_nist, reference_path
from ermlab.models.ols import OLS, RankDeficientWarning, slide_formula

EXTRA = Path(__file__).parent / "data" / "nist"
NIST = [*SHIPPED, "Filip", "Wampler3", "Wampler4", "Wampler5"]
MIN_LRE = 7.0


def _problem(name: str):
    if name in SHIPPED:
        return read_nist(reference_path(name))
    path = EXTRA / f"{name}.dat"
    if not path.exists():
        pytest.skip(f"{path.name} not in tests/data/nist (not shipped; see README there)")
    return read_nist(path)


def _fit(prob) -> OLS:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RankDeficientWarning)  # Filip must not look singular
        return OLS(fit_intercept=prob.fit_intercept, degree=prob.degree).fit(prob.x, prob.y)


@pytest.mark.parametrize("name", NIST)
def test_nist_certified_values_to_seven_digits(name: str) -> None:
    prob = _problem(name)
    c = prob.certified
    model = _fit(prob)
    assert model.rank_ == prob.n_parameters and not model.singular_
    got = {
        **{f"B{i}": v for i, v in enumerate(model.coef_with_intercept_)},
        **{f"SE(B{i})": v for i, v in enumerate(model.stderr_)},
        "residual SD": model.residual_sd_,
        "R2": model.r2_,
    }
    want = {
        **{f"B{i}": v for i, v in enumerate(c.coef)},
        **{f"SE(B{i})": v for i, v in enumerate(c.stderr)},
        "residual SD": c.residual_sd,
        "R2": c.r2,
    }
    digits = {k: lre(got[k], want[k]) for k in want}
    bad = {k: round(v, 2) for k, v in digits.items() if v < MIN_LRE}
    assert not bad, f"{name}: fewer than {MIN_LRE} correct digits: {bad}"


@pytest.mark.parametrize("name", NIST)
def test_nist_anova_table(name: str) -> None:
    prob = _problem(name)
    model = _fit(prob)
    for key, certified in prob.certified.anova.as_dict().items():
        assert lre(model.anova_[key], certified) >= MIN_LRE, (key, model.anova_[key], certified)


def test_filip_defeats_plain_lstsq() -> None:
    """The Filip test has teeth: numpy's lstsq on the raw design gets no digit right."""
    prob = _problem("Filip")
    A = np.column_stack([np.ones(prob.n_observations), prob.design])
    b = np.linalg.lstsq(A, prob.y, rcond=None)[0]
    assert min(lre(e, t) for e, t in zip(b, prob.certified.coef, strict=True)) < MIN_LRE


def test_design_expansion_matches_reader() -> None:
    prob = _problem("Filip")
    model = _fit(prob)
    np.testing.assert_allclose(model.predict(prob.x), model.intercept_ + prob.design @ model.coef_)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4)) * [1.0, 30.0, 0.01, 5.0] + [0.0, 100.0, -2.0, 7.0]
    y = X @ np.array([1.5, -0.2, 40.0, 0.3]) + 5.0 + rng.standard_normal(300)
    return X, y


def _r2(fitted, X, y, centred: bool) -> float:
    """Centred R² with an intercept, uncentred 1 − RSS/Σy² without (the NIST convention)."""
    rss = np.sum((y - fitted.predict(X)) ** 2)
    return float(1 - rss / np.sum((y - y.mean()) ** 2 if centred else y**2))


def _rel(a, b) -> float:
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def test_one_predictor_equals_slide_formula_and_sklearn(data) -> None:
    X, y = data
    x = X[:, 3]
    theta0, theta1 = slide_formula(x, y)
    model = OLS().fit(x[:, None], y)
    assert _rel(model.intercept_, theta0) < 1e-10 and _rel(model.coef_[0], theta1) < 1e-10
    sk = LinearRegression().fit(x[:, None], y)
    assert _rel(model.coef_, sk.coef_) < 1e-10 and _rel(model.intercept_, sk.intercept_) < 1e-10


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_equals_sklearn_linear_regression(data, fit_intercept) -> None:
    X, y = data
    model = OLS(fit_intercept=fit_intercept).fit(X, y)
    sk = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    assert _rel(model.coef_, sk.coef_) < 1e-10
    assert abs(model.intercept_ - sk.intercept_) <= 1e-10 * max(1.0, abs(sk.intercept_))
    np.testing.assert_allclose(model.predict(X), sk.predict(X), rtol=1e-12)
    assert model.r2_ == pytest.approx(_r2(sk, X, y, fit_intercept), rel=1e-12)
    if fit_intercept:
        # Textbook standard errors from (AᵀA)⁻¹, on this well-conditioned design.
        A = np.column_stack([np.ones(len(y)), X])
        resid = y - A @ np.concatenate([[sk.intercept_], sk.coef_])
        s2 = resid @ resid / (len(y) - A.shape[1])
        se = np.sqrt(s2 * np.diag(np.linalg.inv(A.T @ A)))
        assert _rel(model.stderr_, se) < 1e-8
        assert model.anova_["residual_df"] == len(y) - 5
        assert model.anova_["regression_ss"] + model.anova_["residual_ss"] == pytest.approx(
            np.sum((y - y.mean()) ** 2), rel=1e-12
        )


def _paths(monkeypatch) -> list[str]:
    """Record which R-factor route ``fit`` takes ("gram" or "tsqr")."""
    taken: list[str] = []
    for name, label in (("_gram", "gram"), ("_accumulate", "tsqr")):
        method = getattr(OLS, name)
        monkeypatch.setattr(
            OLS, name, lambda self, *a, _m=method, _l=label: taken.append(_l) or _m(self, *a)
        )
    return taken


def test_large_input_takes_the_gram_path(monkeypatch) -> None:
    taken = _paths(monkeypatch)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((140_000, 30))  # n·p above the refinement threshold, 3 chunks
    y = X @ rng.standard_normal(30) + 2.0 + rng.standard_normal(len(X))
    model = OLS().fit(X, y)
    assert taken == ["gram"]
    sk = LinearRegression().fit(X, y)
    assert _rel(model.coef_, sk.coef_) < 1e-10 and _rel(model.intercept_, sk.intercept_) < 1e-10
    assert model.r2_ == pytest.approx(sk.score(X, y), rel=1e-12)
    stream = OLS().fit_chunks(
        (X[i : i + 50_000], y[i : i + 50_000]) for i in range(0, len(y), 50_000)
    )
    assert _rel(stream.coef_, model.coef_) < 1e-10 and _rel(stream.stderr_, model.stderr_) < 1e-10


def test_large_polynomial_takes_the_gram_path(monkeypatch) -> None:
    taken = _paths(monkeypatch)
    rng = np.random.default_rng(4)
    x = rng.uniform(2.0, 3.0, size=(700_000, 2))  # n·p = 4.9e6: beyond the small regime
    y = 1.0 + x @ [0.5, -1.0] + 0.3 * x[:, 0] ** 3 + rng.standard_normal(len(x))
    model = OLS(degree=3).fit(x, y)
    assert taken == ["gram"]
    Phi = np.column_stack([x[:, [0]] ** np.arange(1, 4), x[:, [1]] ** np.arange(1, 4)])
    sk = LinearRegression().fit(Phi, y)
    assert _rel(model.coef_, sk.coef_) < 1e-8 and _rel(model.intercept_, sk.intercept_) < 1e-8


def test_tiled_filip_takes_the_ill_conditioned_large_path(monkeypatch) -> None:
    """Filip repeated 4700 times has Filip's solution; n·p is beyond the small-data regime,
    but cond(Z) ~ 2e3 sends it to TSQR and the raw cond ~5e9 to extended refinement."""
    prob = _problem("Filip")
    taken = _paths(monkeypatch)
    reps = 4700
    model = OLS(degree=10).fit(np.tile(prob.x, (reps, 1)), np.tile(prob.y, reps))
    assert taken == ["gram", "tsqr"]
    got = model.coef_with_intercept_
    assert min(lre(e, t) for e, t in zip(got, prob.certified.coef, strict=True)) >= MIN_LRE
    rss = prob.certified.residual_sd**2 * 71 * reps
    assert lre(model.residual_sd_, math.sqrt(rss / (82 * reps - 11))) >= MIN_LRE


@pytest.mark.parametrize("alpha", [1e-3, 1.0, 250.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_ridge_sklearn_convention_equals_sklearn_ridge(data, alpha, fit_intercept) -> None:
    X, y = data
    model = OLS(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
    sk = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(X, y)
    assert _rel(model.coef_, sk.coef_) < 1e-9
    assert abs(model.intercept_ - sk.intercept_) <= 1e-9 * max(1.0, abs(sk.intercept_))
    assert np.isnan(model.stderr_).all() and math.isnan(model.residual_sd_)
    assert model.r2_ == pytest.approx(_r2(sk, X, y, fit_intercept), rel=1e-10)


@pytest.mark.parametrize("ln_lambda", [-18.0, -5.0, 0.0])
def test_bishop_convention(ln_lambda) -> None:
    """PRML: E(w) = ½Σ(y−t)² + (Nλ/2)‖w‖², w0 penalised ⇔ Ridge(Nλ) on [1, x, ..., x^M]."""
    rng = np.random.default_rng(7)
    n, degree, lam = 10, 9, math.exp(ln_lambda)
    x = np.linspace(0.0, 1.0, n)
    t = np.sin(2 * np.pi * x) + 0.3 * rng.standard_normal(n)
    model = OLS(alpha=lam, penalty="bishop", degree=degree).fit(x[:, None], t)
    Phi = np.vander(x, degree + 1, increasing=True)
    sk = Ridge(alpha=n * lam, fit_intercept=False, solver="svd").fit(Phi, t)
    assert _rel(model.coef_with_intercept_, sk.coef_) < 1e-7
    if ln_lambda >= -5:  # well-conditioned: the normal equations are an independent check
        w = np.linalg.solve(Phi.T @ Phi + n * lam * np.eye(degree + 1), Phi.T @ t)
        assert _rel(model.coef_with_intercept_, w) < 1e-9
    # Table 1.2's point: a small penalty tames the M = 9 coefficients.
    assert np.abs(model.coef_).max() < np.abs(OLS(degree=degree).fit(x[:, None], t).coef_).max()


def _one_warning(fit):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit()
    ours = [w for w in caught if issubclass(w.category, RankDeficientWarning)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    assert "rank deficient" in str(ours[0].message)
    return model


def test_duplicated_column_gives_min_norm_solution(data) -> None:
    X, y = data
    Xd = np.column_stack([X, X[:, 1]])
    model = _one_warning(lambda: OLS().fit(Xd, y))
    assert model.singular_ and model.rank_ == 5
    Xc = Xd - Xd.mean(axis=0)
    w = np.linalg.pinv(Xc) @ (y - y.mean())
    assert _rel(model.coef_, w) < 1e-9
    assert model.coef_[1] == pytest.approx(model.coef_[4], rel=1e-9)  # the split is even
    np.testing.assert_allclose(model.predict(Xd), OLS().fit(X, y).predict(X), rtol=1e-10)
    assert np.isnan(model.stderr_).all() and model.anova_["residual_df"] == len(y) - 5


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fewer_rows_than_columns(fit_intercept) -> None:
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((6, 12)), rng.standard_normal(6)
    model = _one_warning(lambda: OLS(fit_intercept=fit_intercept).fit(X, y))
    assert model.singular_ and model.rank_ == 6
    if fit_intercept:
        w = np.linalg.pinv(X - X.mean(axis=0)) @ (y - y.mean())
        assert model.intercept_ == pytest.approx(y.mean() - X.mean(axis=0) @ w, rel=1e-9)
    else:
        w = np.linalg.pinv(X) @ y
    assert _rel(model.coef_, w) < 1e-9
    np.testing.assert_allclose(model.predict(X), y, atol=1e-12)  # interpolates


def test_streaming_agrees_with_fit(data) -> None:
    X, y = data
    ref = OLS(degree=2).fit(X, y)
    stream = OLS(degree=2)
    for start in range(0, len(y), 37):
        stream.partial_fit(X[start : start + 37], y[start : start + 37])
    chunks = OLS(degree=2).fit_chunks((X[i : i + 64], y[i : i + 64]) for i in range(0, 300, 64))
    for model in (stream, chunks):
        assert model.n_samples_seen_ == len(y)
        assert _rel(model.coef_, ref.coef_) < 1e-10
        assert _rel(model.intercept_, ref.intercept_) < 1e-10
        assert _rel(model.stderr_, ref.stderr_) < 1e-10
        assert _rel(model.residual_sd_, ref.residual_sd_) < 1e-10
        assert _rel(model.r2_, ref.r2_) < 1e-12


def test_streaming_warns_once_while_rank_deficient() -> None:
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((100, 8)), rng.standard_normal(100)

    def stream():
        model = OLS()
        for rows in (slice(0, 3), slice(3, 6), slice(6, None)):  # singular until the third
            model.partial_fit(X[rows], y[rows])
        return model

    model = _one_warning(stream)
    assert not model.singular_


def test_bad_parameters_raise_naming_them(data) -> None:
    X, y = data
    for params, name in [
        ({"degree": -1}, "degree"),
        ({"degree": 1.5}, "degree"),
        ({"alpha": -1.0}, "alpha"),
        ({"alpha": float("inf")}, "alpha"),
        ({"penalty": "l1"}, "penalty"),
        ({"rcond": 2.0}, "rcond"),
        ({"fit_intercept": "yes"}, "fit_intercept"),
    ]:
        with pytest.raises(ValueError, match=rf"^{name} must be") as info:
            OLS(**params).fit(X, y)
        assert "\n" not in str(info.value)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError):
        OLS().fit(Xn, y)
    with pytest.raises(ValueError):
        OLS().fit(X, y).predict(X[:, :2])


def test_predict_uses_the_fitted_structure_not_live_params(data) -> None:
    X, y = data
    model = OLS().fit(X, y)
    before = model.predict(X)
    model.set_params(degree=2, fit_intercept=False)
    assert model.degree_ == 1
    np.testing.assert_array_equal(model.predict(X), before)
    model.fit(X, y)  # the next fit takes the new parameters
    assert model.degree_ == 2 and model.coef_.shape == (8,) and model.intercept_ == 0.0


@pytest.mark.parametrize("change", [{"degree": 2}, {"fit_intercept": False}])
def test_partial_fit_rejects_structural_change_mid_stream(data, change) -> None:
    X, y = data
    model = OLS().partial_fit(X[:100], y[:100])
    model.set_params(**change)
    with pytest.raises(ValueError, match=r"^degree or fit_intercept changed mid-stream") as info:
        model.partial_fit(X[100:], y[100:])
    assert "\n" not in str(info.value)
    # fit_chunks starts a new stream with the new structure.
    chunks = model.fit_chunks([(X[:100], y[:100]), (X[100:], y[100:])])
    ref = OLS(**change).fit(X, y)
    assert _rel(chunks.coef_, ref.coef_) < 1e-10


def test_partial_fit_applies_a_changed_penalty_from_the_next_call(data) -> None:
    X, y = data
    model = OLS().partial_fit(X[:100], y[:100])
    model.set_params(alpha=2.0, penalty="bishop").partial_fit(X[100:], y[100:])
    ref = OLS(alpha=2.0, penalty="bishop").fit(X, y)
    assert _rel(model.coef_with_intercept_, ref.coef_with_intercept_) < 1e-9


@pytest.mark.parametrize("large", [False, True], ids=["small", "gram-path"])
def test_degree_zero_is_the_intercept_only_model(data, monkeypatch, large) -> None:
    X, y = data
    n = len(y)
    if large:  # n·p above the threshold: the Gram route and double-precision refinement
        monkeypatch.setattr("ermlab.models.ols._REFINE_MAX", 0)
    taken = _paths(monkeypatch)
    model = OLS(degree=0).fit(X, y)
    assert taken == (["gram"] if large else ["tsqr"])
    assert model.degree_ == 0 and model.coef_.shape == (0,) and model.n_features_in_ == 4
    assert model.intercept_ == pytest.approx(y.mean(), rel=1e-13)
    np.testing.assert_allclose(model.coef_with_intercept_, [y.mean()], rtol=1e-13)
    np.testing.assert_allclose(model.predict(X[:5]), np.full(5, y.mean()), rtol=1e-13)
    assert model.rank_ == 1 and not model.singular_
    assert model.stderr_ == pytest.approx([y.std(ddof=1) / math.sqrt(n)], rel=1e-12)
    assert model.residual_sd_ == pytest.approx(y.std(ddof=1), rel=1e-12)
    assert model.r2_ == pytest.approx(0.0, abs=1e-12) and model.anova_["regression_df"] == 0
    assert model.score(X, y) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        model.predict(X[:, :2])  # the input columns are unused but still validated
    stream = OLS(degree=0)
    for start in range(0, n, 64):
        stream.partial_fit(X[start : start + 64], y[start : start + 64])
    assert stream.intercept_ == pytest.approx(y.mean(), rel=1e-12)
    assert _rel(stream.stderr_, model.stderr_) < 1e-10


@pytest.mark.parametrize("lam", [1e-3, 1.0])
def test_degree_zero_ridge(data, lam) -> None:
    X, y = data
    n = len(y)
    # Bishop: the intercept w0 is penalised, (ΦᵀΦ + NλI)⁻¹Φᵀt with Φ = [1] is Σt / (N + Nλ).
    bishop = OLS(degree=0, alpha=lam, penalty="bishop").fit(X, y)
    assert bishop.intercept_ == pytest.approx(y.sum() / (n + n * lam), rel=1e-12)
    # sklearn: the intercept is not penalised, so there is nothing to shrink.
    sk = OLS(degree=0, alpha=lam).fit(X, y)
    assert sk.intercept_ == pytest.approx(y.mean(), rel=1e-12)


def test_degree_zero_needs_an_intercept(data) -> None:
    X, y = data
    with pytest.raises(ValueError, match=r"^degree=0 needs fit_intercept=True") as info:
        OLS(degree=0, fit_intercept=False).fit(X, y)
    assert "\n" not in str(info.value)


def test_documented_constant_column_and_uncentred_r2(data) -> None:
    X, y = data
    Xc = np.column_stack([np.ones(len(y)), X])
    # A constant column duplicates the intercept: rank deficient, no standard errors ...
    model = _one_warning(lambda: OLS().fit(Xc, y))
    assert model.singular_ and np.isnan(model.stderr_).all()
    # ... while without an intercept it plays the intercept, and r2_ is NIST's uncentred R²,
    # not score()'s centred one.
    model = OLS(fit_intercept=False).fit(Xc, y)
    rss = np.sum((y - model.predict(Xc)) ** 2)
    assert model.r2_ == pytest.approx(1 - rss / np.sum(y**2), rel=1e-12)
    assert model.score(Xc, y) == pytest.approx(1 - rss / np.sum((y - y.mean()) ** 2), rel=1e-12)
    assert model.r2_ != pytest.approx(model.score(Xc, y), rel=1e-3)


def test_sklearn_api(data) -> None:
    X, y = data
    model = clone(OLS(degree=3, alpha=0.5, penalty="bishop"))
    assert model.get_params()["degree"] == 3
    model.fit(X, y)
    assert model.coef_.shape == (12,) and model.n_features_in_ == 4
    assert model.predict(X).shape == (300,)
    assert model.score(X, y) == pytest.approx(model.r2_, rel=1e-12)


@pytest.mark.parametrize(("n", "degree"), [(10, 9), (100, 12), (100, 20)])
def test_a_polynomial_of_inputs_far_from_zero_predicts_what_numpy_fits(n: int, degree: int):
    """Heights in cm to the 9th power: raw powers cancel to ~20 digits in double, so the raw
    coefficients predicted a train MSE of 481 for an interpolating fit (10 points, 10
    parameters). numpy's Polynomial.fit maps x into [-1, 1] first; both solve the same least
    squares problem, so predictions agree to the conditioning of that basis (~1e-9 here)."""
    gen = np.random.default_rng(0)
    x, x_new = gen.normal(170, 10, n), gen.normal(170, 10, 500)
    y = -80 + 0.9 * x + gen.normal(0, 8, n)
    fit = OLS(degree=degree).fit(x[:, None], y)
    reference = np.polynomial.Polynomial.fit(x, y, degree)
    np.testing.assert_allclose(fit.predict(x[:, None]), reference(x), rtol=0, atol=1e-6)
    np.testing.assert_allclose(fit.predict(x_new[:, None]), reference(x_new), rtol=1e-6)
    restored = pickle.loads(pickle.dumps(fit))
    assert np.array_equal(restored.predict(x_new[:, None]), fit.predict(x_new[:, None]))


def test_a_polynomial_with_more_parameters_than_points_interpolates_them():
    """Degree 12 through 10 heights: rank deficient, so the minimum-norm solution, taken in the
    working basis t = (x − c)/s with the intercept left out of the norm. Checked against
    numpy's lstsq (its minimum-norm solution) on the centred powers of t; the raw powers
    predicted a training MSE of 1e22 before. The truncated solve keeps about 8 digits here
    (1e-8 relative measured, on the training points); 1e-6 leaves room for another CPU."""
    gen = np.random.default_rng(1)
    x, x_new = gen.normal(170, 10, 10), gen.normal(170, 10, 200)
    y = -80 + 0.9 * x + gen.normal(0, 8, 10)
    with pytest.warns(RankDeficientWarning):
        fit = OLS(degree=12).fit(x[:, None], y)
    np.testing.assert_allclose(fit.predict(x[:, None]), y, rtol=1e-6)

    def powers(v):
        return ((v - fit._shift[0]) / fit._scale[0])[:, None] ** np.arange(1, 13)

    T = powers(x)
    slopes = np.linalg.lstsq(T - T.mean(axis=0), y - y.mean(), rcond=None)[0]
    reference = y.mean() + (powers(x_new) - T.mean(axis=0)) @ slopes
    np.testing.assert_allclose(fit.predict(x_new[:, None]), reference, rtol=1e-6, atol=1e-6)
