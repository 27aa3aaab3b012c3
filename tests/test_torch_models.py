"""Tests of ermlab.models.torch_nets against closed forms, sklearn and invariants."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("torch")

from sklearn.base import clone, is_classifier  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from ermlab import losses  # noqa: E402
from ermlab.models.torch_nets import (  # noqa: E402
    TorchClassifier,
    TorchLinearRegression,
    TorchLogisticRegression,
    TorchMLPClassifier,
    TorchMLPRegressor,
    TorchRegressor,
    TrainingDivergedError,
)

# Training runs on the CPU in tests: results must not depend on whether a GPU is present.
CPU = {"device": "cpu", "progress": False}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny problems gain nothing from intra-op threads, and lose a lot on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def heights() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw height-like data, x ~ N(170, 10) cm, y = -100 + x + N(0, 5), and its lstsq fit."""
    rng = np.random.default_rng(42)
    x = rng.normal(170.0, 10.0, size=200)
    y = -100.0 + 1.0 * x + rng.normal(0.0, 5.0, size=200)
    X = x[:, None]
    solution = np.linalg.lstsq(np.column_stack([X, np.ones_like(x)]), y, rcond=None)[0]
    return X, y, solution


@pytest.fixture(scope="module")
def clf_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features on very different raw scales, with binary and 3-class labels."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, 50.0]
    score = X @ [1.0, 0.1, 0.01] + rng.normal(size=300)
    return X, (score > 1.5).astype(int), np.digitize(score, [0.5, 2.5])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - b) / np.maximum(np.abs(b), 1e-12)))


# --------------------------------------------------------------- closed-form solutions
@pytest.mark.parametrize(
    "params",
    [{}, {"optimizer": "lbfgs"}],
    ids=["full-batch-gd", "lbfgs"],
)
def test_linear_regression_reaches_lstsq(heights, params) -> None:
    X, y, (slope, intercept) = heights
    model = TorchLinearRegression(**params, **CPU).fit(X, y)
    assert _rel(model.coef_, np.array([slope])) < 1e-5
    assert _rel(model.intercept_, np.array(intercept)) < 1e-5
    assert model.coef_.shape == (1,) and isinstance(model.intercept_, float)
    np.testing.assert_allclose(model.predict(X), X[:, 0] * slope + intercept, rtol=1e-6)
    # history_ losses are raw-unit mse, comparable with ermlab.losses.
    assert model.history_["train_loss"][-1] == pytest.approx(
        losses.mse(y, model.predict(X)), rel=1e-6
    )


def test_gaussian_nll_with_fixed_variance_is_least_squares(heights) -> None:
    X, y, (slope, intercept) = heights
    model = TorchLinearRegression(loss="gaussian_nll", learn_variance=False, **CPU).fit(X, y)
    assert _rel(model.coef_, np.array([slope])) < 1e-5
    assert _rel(model.intercept_, np.array(intercept)) < 1e-5


def test_gaussian_nll_learned_variance_is_the_mle(heights) -> None:
    X, y, (slope, intercept) = heights
    model = TorchRegressor(loss="gaussian_nll", optimizer="lbfgs", **CPU).fit(X, y)
    residual_var = losses.mse(y, X[:, 0] * slope + intercept)  # MLE of σ² (divides by n)
    assert _rel(model.coef_, np.array([slope])) < 1e-5
    np.testing.assert_allclose(model.predict_var(X[:3]), residual_var, rtol=1e-5)
    assert model.history_["train_loss"][-1] == pytest.approx(
        losses.gaussian_nll(y, model.predict(X), model.predict_var(X)), rel=1e-6
    )
    assert not hasattr(TorchRegressor(loss="mse"), "predict_var")


# ----------------------------------------------- heteroscedastic noise: per-input variance
def _heteroscedastic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """conf/data/heteroscedastic.yaml's source: y = x + sd(x)·z, sd(x) = 0.1 + 0.5|x|,
    x ~ U(-2, 2); returns X (n, 1), y (n,) and the true sd(x) (n,)."""
    x = rng.uniform(-2.0, 2.0, size=n)
    sd = 0.1 + 0.5 * np.abs(x)
    return x[:, None], x + sd * rng.standard_normal(n), sd


@pytest.fixture(scope="module")
def hetero():
    """2000 heteroscedastic points, a fresh test sample, and both variance models on them."""
    rng = np.random.default_rng(6)
    X, y, sd = _heteroscedastic(2000, rng)
    X_test, y_test, sd_test = _heteroscedastic(2000, rng)
    kw = dict(loss="gaussian_nll", optimizer="lbfgs", random_state=0, **CPU)
    per_input = TorchLinearRegression(variance="input", **kw).fit(X, y)
    shared = TorchLinearRegression(**kw).fit(X, y)
    return X, y, sd, X_test, y_test, sd_test, per_input, shared


def test_input_variance_mean_is_weighted_least_squares(hetero) -> None:
    X, y, sd, _, _, _, per_input, shared = hetero
    A = np.column_stack([X[:, 0], np.ones_like(y)])
    ols = np.linalg.lstsq(A, y, rcond=None)[0]
    w = 1.0 / sd**2  # generalised least squares with the TRUE noise variances
    wls = np.linalg.solve(A.T @ (w[:, None] * A), A.T @ (w * y))
    # A shared variance leaves the mean at least squares; σ²(x) moves it to (nearly) WLS.
    np.testing.assert_allclose([shared.coef_[0], shared.intercept_], ols, rtol=1e-5, atol=1e-8)
    nll = np.array([per_input.coef_[0], per_input.intercept_])
    assert np.all(np.abs(nll - wls) < 0.25 * np.abs(ols - wls)), (ols, nll, wls)


def test_input_variance_predicts_the_noise_variance_per_input(hetero) -> None:
    X, y, sd, *_, per_input, _ = hetero
    var = per_input.predict_var(X)
    assert var.shape == (len(y),) and np.all(var > 0)
    assert np.corrcoef(var, sd**2)[0, 1] > 0.95
    # history_ is the raw-unit NLL, so predict_var is σ²(x) in raw units.
    assert per_input.history_["train_loss"][-1] == pytest.approx(
        losses.gaussian_nll(y, per_input.predict(X), var), rel=1e-9
    )


def test_input_variance_beats_shared_variance_on_fresh_data(hetero) -> None:
    *_, X_test, y_test, sd_test, per_input, shared = hetero
    nll_input = losses.gaussian_nll(
        y_test, per_input.predict(X_test), per_input.predict_var(X_test)
    )
    nll_shared = losses.gaussian_nll(y_test, shared.predict(X_test), shared.predict_var(X_test))
    nll_true = losses.gaussian_nll(y_test, X_test[:, 0], sd_test**2)  # the true density
    assert nll_input < nll_shared - 0.2
    assert nll_input < nll_true + 0.03


@pytest.mark.parametrize(
    ("low", "high", "weight_decay"), [(100.0, 300.0, 0.0), (1.0, 5.0, 0.1)], ids=["raw", "ridge"]
)
def test_linear_variance_head_and_standardize_invariance(low, high, weight_decay) -> None:
    # variance_hidden_sizes=() makes log σ²(x) affine in x, here log σ² = 2 (c + k x): the
    # problem has one minimiser, the same whether the network sees standardised or raw
    # inputs (x in cm-like units), also with weight decay on both networks' weights.
    rng = np.random.default_rng(2)
    x = rng.uniform(low, high, size=300)
    k = 2.0 / (high - low)
    y = 3.0 + 0.5 * x + np.exp(-2.0 + k * (x - low)) * rng.standard_normal(300)
    kw = dict(
        loss="gaussian_nll", variance="input", variance_hidden_sizes=[], optimizer="lbfgs",
        weight_decay=weight_decay, **CPU,
    )  # fmt: skip
    fits = [TorchLinearRegression(**kw, standardize=s).fit(x[:, None], y) for s in (True, False)]
    grid = np.linspace(low, high, 5)[:, None]
    log_var = np.log(fits[0].predict_var(grid))
    np.testing.assert_allclose(np.diff(log_var, 2), 0.0, atol=1e-9)
    if weight_decay == 0.0:
        assert (log_var[-1] - log_var[0]) / (high - low) == pytest.approx(2 * k, rel=0.15)
    np.testing.assert_allclose(fits[1].coef_, fits[0].coef_, rtol=1e-5)
    np.testing.assert_allclose(fits[1].predict_var(grid), fits[0].predict_var(grid), rtol=1e-4)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lbfgs_on_raw_inputs_converges_for_every_draw(dtype: str) -> None:
    # Before L-BFGS worked in standardised coordinates, 45 of these 60 fits (x ≈ 200, a
    # log σ²(x) head) ended in NaN at epoch 1, and which ones depended on the CPU: the first
    # step, of length 1 along a gradient dominated by the weight of x, overflowed exp(-log σ²).
    # Each must now converge to the standardised fit's minimiser; rtol 1e-3 is float32's
    # reach after L-BFGS's float32 tolerances (float64 agrees to ~1e-7).
    kw = dict(
        loss="gaussian_nll", variance="input", variance_hidden_sizes=[], optimizer="lbfgs",
        dtype=dtype, **CPU,
    )  # fmt: skip
    for seed in range(30):
        rng = np.random.default_rng(seed)
        x = rng.uniform(100.0, 300.0, size=300)
        y = 3.0 + 0.5 * x + np.exp(-2.0 + (x - 100.0) / 100.0) * rng.standard_normal(300)
        raw, std = (
            TorchLinearRegression(**kw, standardize=s).fit(x[:, None], y) for s in (False, True)
        )
        np.testing.assert_allclose(raw.coef_, std.coef_, rtol=1e-3, err_msg=f"seed {seed}")


def test_input_variance_mlp_is_deterministic_with_early_stopping() -> None:
    rng = np.random.default_rng(9)
    X, y, _ = _heteroscedastic(120, rng)
    kw = dict(
        hidden_sizes=(8,), loss="gaussian_nll", variance="input", variance_hidden_sizes=[4],
        batch_size=32, epochs=20, early_stopping=True, patience=3, random_state=1, **CPU,
    )  # fmt: skip
    a, b = TorchMLPRegressor(**kw).fit(X, y), TorchMLPRegressor(**kw).fit(X, y)
    np.testing.assert_equal(a.history_, b.history_)
    np.testing.assert_array_equal(a.predict_var(X), b.predict_var(X))
    assert len(np.unique(a.predict_var(X))) > 1  # one σ² per input, not a shared one


def test_variance_params_round_trip_and_classifiers_lack_them() -> None:
    est = TorchLinearRegression(variance="input", variance_hidden_sizes=(8, 4))
    params = clone(est).get_params()
    assert params["variance"] == "input" and params["variance_hidden_sizes"] == (8, 4)
    assert TorchRegressor().get_params()["variance"] == "shared"
    assert "variance" not in TorchClassifier().get_params()


@pytest.mark.parametrize("standardize", [True, False])
def test_weight_decay_is_ridge_in_raw_units(standardize: bool) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 3)) * [1.0, 20.0, 0.1] + [5.0, 100.0, 0.0]
    y = X @ [2.0, -0.1, 30.0] + rng.normal(size=80)
    lam = 0.05
    model = TorchLinearRegression(
        optimizer="lbfgs", weight_decay=lam, standardize=standardize, **CPU
    ).fit(X, y)
    ridge = Ridge(alpha=lam * X.shape[0] / 2).fit(X, y)
    np.testing.assert_allclose(model.coef_, ridge.coef_, rtol=1e-5)
    assert model.intercept_ == pytest.approx(ridge.intercept_, rel=1e-5)


@pytest.mark.parametrize("C", [0.05, 1.0])
def test_logistic_regression_matches_sklearn_binary(clf_data, C: float) -> None:
    X, y, _ = clf_data
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    model = TorchLogisticRegression(C=C, **CPU).fit(X, y)
    assert model.coef_.shape == ref.coef_.shape == (1, 3)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_logistic_regression_matches_sklearn_multinomial(clf_data) -> None:
    X, _, y3 = clf_data
    labels = np.array(["low", "mid", "high"])[y3]  # non-numeric, unsorted label names
    ref = LogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(X, labels)
    model = TorchLogisticRegression(C=0.5, **CPU).fit(X, labels)
    np.testing.assert_array_equal(model.classes_, ref.classes_)
    assert model.coef_.shape == ref.coef_.shape == (3, 3)
    np.testing.assert_allclose(model.coef_, ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.intercept_, ref.intercept_, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(model.predict(X), ref.predict(X))
    assert losses.cross_entropy(labels, model.predict_proba(X), model.classes_) == pytest.approx(
        losses.cross_entropy(labels, ref.predict_proba(X), ref.classes_), rel=1e-6
    )


# -------------------------------------------------------------------------------- MLPs
def test_mlp_fits_xor() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = TorchMLPClassifier(
        hidden_sizes=(8,), activation="tanh", optimizer="lbfgs", random_state=0, **CPU
    ).fit(X, y)
    assert losses.zero_one(y, model.predict(X)) == 0.0
    assert not hasattr(model, "coef_")


def test_mlp_fits_noiseless_xor_sample_with_adam_minibatches() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    X = X[np.abs(X).min(axis=1) > 0.1]  # a margin around the axes, so 0 risk is reachable
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = TorchMLPClassifier(
        hidden_sizes=(32, 32), lr=0.01, batch_size=32, epochs=150, tol=None, random_state=0, **CPU
    ).fit(X, y)
    assert losses.zero_one(y, model.predict(X)) == 0.0


def test_mlp_regressor_fits_a_curve() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(150, 1))
    y = np.sin(2 * X[:, 0]) * 50 + 170  # raw, offset targets
    model = TorchMLPRegressor(hidden_sizes=(32,), activation="tanh", optimizer="lbfgs",
                              epochs=30, random_state=0, **CPU).fit(X, y)  # fmt: skip
    assert losses.rms_error(y, model.predict(X)) < 2.0  # vs. a target std of ~35


# ------------------------------------------------------------ determinism & robustness
def _mlp(**kw) -> TorchMLPRegressor:
    params = dict(hidden_sizes=(16,), batch_size=16, epochs=30, early_stopping=True, patience=5)
    return TorchMLPRegressor(**{**params, **kw, **CPU})


def test_same_random_state_gives_identical_results() -> None:
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(120, 3)), rng.normal(size=120)
    a, b = _mlp(random_state=1).fit(X, y), _mlp(random_state=1).fit(X, y)
    np.testing.assert_equal(a.history_, b.history_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    c = _mlp(random_state=2).fit(X, y)
    assert c.history_["train_loss"] != a.history_["train_loss"]


def test_deferred_loss_reads_give_the_same_history() -> None:
    # tol=None and no progress bar: losses are read from the device in blocks of epochs;
    # tol=0 with a huge patience reads them every epoch but never stops early.
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(60, 2)), rng.normal(size=60)
    kw = dict(hidden_sizes=(4,), optimizer="sgd", epochs=123, random_state=0, **CPU)
    blocks = TorchRegressor(**kw).fit(X, y)
    every = TorchRegressor(tol=0.0, patience=10_000, **kw).fit(X, y)
    np.testing.assert_equal(blocks.history_, every.history_)
    assert blocks.history_["epoch"] == list(range(1, 124))


def test_training_does_not_touch_global_torch_rng() -> None:
    import torch

    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(50, 2)), rng.normal(size=50)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _mlp(random_state=0, epochs=2).fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_divergence_raises_one_line_error(heights) -> None:
    X, y, _ = heights
    model = TorchLinearRegression(lr=1.0, standardize=False, epochs=300, **CPU)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*lower lr") as info:
        model.fit(X, y)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, RuntimeError)


def test_early_stopping_stops_and_records_validation_loss() -> None:
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(200, 5)), rng.normal(size=200)  # pure noise: val loss can't improve
    model = TorchMLPRegressor(
        hidden_sizes=(64,), optimizer="adam", lr=0.01, batch_size=None, epochs=500,
        early_stopping=True, patience=5, random_state=0, **CPU,
    ).fit(X, y)  # fmt: skip
    h = model.history_
    assert model.n_iter_ < 500
    assert len(h["epoch"]) == len(h["train_loss"]) == len(h["val_loss"]) == model.n_iter_
    assert np.all(np.isfinite(h["val_loss"]))

    plain = TorchRegressor(epochs=3, **CPU).fit(X, y)
    assert plain.n_iter_ == 3 and np.all(np.isnan(plain.history_["val_loss"]))


def test_early_stopping_with_tol_restores_the_epoch_of_least_validation_loss() -> None:
    # tol > 0 only delays the patience reset: the restored parameters must be those of the
    # epoch with the lowest validation loss, not of the last epoch that beat the best by tol.
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 2 * np.pi, size=(200, 1))
    y = np.sin(X[:, 0]) + rng.normal(0.0, 0.3, size=200)
    params = dict(
        hidden_sizes=(32,), optimizer="adam", lr=0.01, early_stopping=True, random_state=0, **CPU
    )
    model = TorchRegressor(epochs=300, tol=0.02, patience=20, **params).fit(X, y)
    h = model.history_
    best_epoch = h["epoch"][int(np.argmin(h["val_loss"]))]
    assert best_epoch < model.n_iter_
    # Same split and trajectory, stopped at the best epoch: its final model is the best one.
    reference = TorchRegressor(epochs=best_epoch, patience=300, **params).fit(X, y)
    assert reference.history_["val_loss"] == h["val_loss"][:best_epoch]
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=0, atol=1e-12)


def test_tol_stops_on_training_plateau(heights) -> None:
    X, y, _ = heights
    model = TorchLinearRegression(tol=1e-6, patience=3, epochs=5000, **CPU).fit(X, y)
    assert model.n_iter_ < 5000


def test_float32_is_supported(heights) -> None:
    X, y, (slope, intercept) = heights
    model = TorchLinearRegression(dtype="float32", optimizer="lbfgs", **CPU).fit(X, y)
    assert model.coef_[0] == pytest.approx(slope, rel=1e-3)
    assert model.predict(X).dtype == np.float64


# ----------------------------------------------------------------- sklearn integration
@pytest.mark.parametrize(
    "estimator",
    [
        TorchMLPRegressor(hidden_sizes=(8,), epochs=5, random_state=0, **CPU),
        TorchMLPClassifier(hidden_sizes=(8,), epochs=5, random_state=0, **CPU),
        TorchRegressor(loss="gaussian_nll", optimizer="adam", epochs=5, random_state=0, **CPU),
        TorchLinearRegression(
            loss="gaussian_nll", variance="input", optimizer="adam", epochs=5, random_state=0, **CPU
        ),
        TorchLogisticRegression(C=2.0, **CPU),
    ],
    ids=lambda e: type(e).__name__,
)
def test_pickle_round_trip_gives_identical_predictions(estimator) -> None:
    rng = np.random.default_rng(8)
    X = rng.normal(size=(60, 3))
    y = rng.integers(0, 3, size=60) if is_classifier(estimator) else rng.normal(size=60)
    estimator.fit(X, y)
    restored = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(restored.predict(X), estimator.predict(X))
    for method in ("predict_proba", "predict_var"):
        if hasattr(estimator, method):
            np.testing.assert_array_equal(
                getattr(restored, method)(X), getattr(estimator, method)(X)
            )
    np.testing.assert_equal(restored.history_, estimator.history_)  # NaN == NaN here


@pytest.mark.parametrize(
    "cls",
    [TorchRegressor, TorchClassifier, TorchLinearRegression, TorchLogisticRegression,
     TorchMLPRegressor, TorchMLPClassifier],
)  # fmt: skip
def test_clone_and_get_params_round_trip(cls) -> None:
    est = cls(random_state=3, epochs=7)
    params = est.get_params()
    assert params["random_state"] == 3 and params["epochs"] == 7
    assert cls(**params).get_params() == params
    cloned = clone(est)
    assert cloned is not est and cloned.get_params() == params
    assert clone(est.set_params(tol=0.5)).tol == 0.5


def test_linear_models_fix_their_architecture() -> None:
    assert "hidden_sizes" not in TorchLinearRegression().get_params()
    assert "weight_decay" not in TorchLogisticRegression().get_params()
    assert TorchLogisticRegression().get_params()["C"] == 1.0


def test_classifier_score_and_unfitted_errors(clf_data) -> None:
    from sklearn.exceptions import NotFittedError

    X, y, _ = clf_data
    with pytest.raises(NotFittedError):
        TorchLogisticRegression().predict(X)
    model = TorchLogisticRegression(**CPU).fit(X, y)
    assert model.score(X, y) == pytest.approx(1 - losses.zero_one(y, model.predict(X)))
    np.testing.assert_allclose(model.predict_proba(X).sum(axis=1), 1.0)
    assert model.decision_function(X).shape == (X.shape[0],)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"activation": "gelu"}, "activation"),
        ({"loss": "cross_entropy"}, "loss"),
        ({"hidden_sizes": (4, 0)}, "hidden_sizes"),
        ({"lr": -1.0}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"patience": 0}, "patience"),
        ({"tol": -1.0}, "tol"),
        ({"standardize": "yes"}, "standardize"),
        ({"device": "not-a-device"}, "device"),
        ({"random_state": -1}, "random_state"),
        ({"progress": "always"}, "progress"),
        ({"dtype": "float16"}, "dtype"),
        ({"variance": "heteroscedastic"}, "variance"),
        ({"variance": "input"}, "variance"),  # needs loss="gaussian_nll"
        ({"loss": "gaussian_nll", "learn_variance": False, "variance": "input"}, "variance"),
        ({"variance_hidden_sizes": (16, 0)}, "variance_hidden_sizes"),
        ({"variance_hidden_sizes": "16"}, "variance_hidden_sizes"),
    ],
)
def test_invalid_params_raise_one_line_value_error(heights, params, name: str) -> None:
    X, y, _ = heights
    with pytest.raises(ValueError, match=f"^{name} ") as info:
        TorchRegressor(**{**CPU, **params}).fit(X, y)
    assert "\n" not in str(info.value)


def test_invalid_C_and_single_class_raise(clf_data) -> None:
    X, y, _ = clf_data
    with pytest.raises(ValueError, match="^C "):
        TorchLogisticRegression(C=0.0, **CPU).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        TorchLogisticRegression(**CPU).fit(X, np.zeros(len(X)))


def test_progress_bar_runs(heights, capsys) -> None:
    X, y, _ = heights
    TorchLinearRegression(epochs=3, device="cpu", progress=True).fit(X, y)
    assert "TorchLinearRegression" in capsys.readouterr().err


def test_imports_are_lazy() -> None:
    code = (
        "import sys, ermlab.losses, ermlab.models.torch_nets; "
        "assert 'torch' not in sys.modules, 'torch imported eagerly'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@parametrize_with_checks(
    [
        TorchRegressor(epochs=5, random_state=0, **CPU),
        TorchLogisticRegression(**CPU),
    ]
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)
