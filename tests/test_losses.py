"""Tests of ermlab.losses against hand computation, sklearn.metrics and torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, zero_one_loss

from ermlab import losses

Y = np.array([1.0, 2.0, 3.0])
Y_PRED = np.array([1.5, 2.0, 2.0])  # residuals ŷ - y = [0.5, 0, -1]


# ------------------------------------------------------------------------ hand-computed
def test_regression_losses_by_hand() -> None:
    assert losses.mse(Y, Y_PRED) == pytest.approx((0.25 + 0 + 1) / 3)
    assert losses.mae(Y, Y_PRED) == pytest.approx((0.5 + 0 + 1) / 3)
    assert losses.bishop_error(Y, Y_PRED) == pytest.approx(0.5 * 1.25)
    assert losses.rms_error(Y, Y_PRED) == pytest.approx(math.sqrt(2 * 0.625 / 3))
    assert losses.rms_error(Y, Y_PRED) == pytest.approx(math.sqrt(losses.mse(Y, Y_PRED)))


def test_gaussian_nll_by_hand_scalar_and_per_sample_variance() -> None:
    expected = 0.5 * math.log(2 * math.pi * 2.0) + (1.25 / 3) / (2 * 2.0)
    assert losses.gaussian_nll(Y, Y_PRED, 2.0) == pytest.approx(expected)
    var = np.array([1.0, 2.0, 4.0])
    per_sample = 0.5 * np.log(2 * np.pi * var) + np.array([0.25, 0.0, 1.0]) / (2 * var)
    assert losses.gaussian_nll(Y, Y_PRED, var) == pytest.approx(per_sample.mean())
    # Independent truth: scipy's normal log-density.
    from scipy.stats import norm

    expected_scipy = -norm.logpdf(Y, loc=Y_PRED, scale=np.sqrt(var)).mean()
    assert losses.gaussian_nll(Y, Y_PRED, var) == pytest.approx(expected_scipy)


def test_cross_entropy_by_hand_and_clipping() -> None:
    proba = np.array([[0.7, 0.3], [0.2, 0.8]])
    assert losses.cross_entropy(np.array([0, 1]), proba) == pytest.approx(
        -(math.log(0.7) + math.log(0.8)) / 2
    )
    # A zero probability on the true class is clipped, not infinite.
    value = losses.cross_entropy(np.array([0]), np.array([[0.0, 1.0]]))
    assert value == pytest.approx(-math.log(losses.PROBA_EPS))
    # So does a label the model has no column for (unseen in training).
    value = losses.cross_entropy(np.array(["a", "z"]), proba, classes=["a", "b"])
    assert value == pytest.approx((-math.log(0.7) - math.log(losses.PROBA_EPS)) / 2)


def test_zero_one_and_accuracy_by_hand() -> None:
    y, y_pred = np.array(["a", "b", "b", "c"]), np.array(["a", "b", "c", "a"])
    assert losses.zero_one(y, y_pred) == 0.5
    assert losses.accuracy(y, y_pred) == 0.5


# ---------------------------------------------------------------------- sklearn.metrics
def test_cross_entropy_matches_sklearn_log_loss_with_label_mapping() -> None:
    rng = np.random.default_rng(0)
    classes = np.array(["cat", "dog", "emu"])
    proba = rng.dirichlet(np.ones(3), size=50)
    y = classes[rng.integers(0, 3, size=50)]
    expected = log_loss(y, proba, labels=classes)
    assert losses.cross_entropy(y, proba, classes=classes) == pytest.approx(expected, rel=1e-12)
    # Columns in a non-sorted order: the mapping follows `classes`, not sorting.
    perm = np.array([2, 0, 1])
    assert losses.cross_entropy(y, proba[:, perm], classes=classes[perm]) == pytest.approx(
        expected, rel=1e-12
    )
    # Binary 1-D proba = P(second class), sklearn's convention.
    yb = rng.integers(0, 2, size=50)
    p1 = rng.uniform(0.05, 0.95, size=50)
    assert losses.cross_entropy(yb, p1) == pytest.approx(log_loss(yb, p1), rel=1e-12)


def test_zero_one_and_mae_match_sklearn() -> None:
    rng = np.random.default_rng(1)
    y, y_pred = rng.integers(0, 4, size=100), rng.integers(0, 4, size=100)
    assert losses.zero_one(y, y_pred) == pytest.approx(zero_one_loss(y, y_pred))
    assert losses.accuracy(y, y_pred) == pytest.approx(accuracy_score(y, y_pred))
    yr, pr = rng.normal(size=100), rng.normal(size=100)
    assert losses.mae(yr, pr) == pytest.approx(mean_absolute_error(yr, pr))


def test_risk_bundles() -> None:
    reg = losses.regression_risks(Y, Y_PRED, noise_var=2.0)
    assert set(reg) == {"mse", "mae", "gaussian_nll"}
    assert reg["gaussian_nll"] == pytest.approx(losses.gaussian_nll(Y, Y_PRED, 2.0))
    assert set(losses.REGRESSION_RISKS) == {"mse", "mae"}

    y, y_pred = np.array([0, 1, 1]), np.array([0, 1, 0])
    proba = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]])
    clf = losses.classification_risks(y, y_pred, proba, classes=[0, 1])
    assert set(clf) == {"zero_one", "accuracy", "cross_entropy"}
    assert clf["zero_one"] == pytest.approx(1 / 3)
    assert clf["accuracy"] == pytest.approx(2 / 3)
    assert clf["cross_entropy"] == pytest.approx(log_loss(y, proba))
    assert set(losses.classification_risks(y, y_pred)) == {"zero_one", "accuracy"}


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: losses.mse(np.zeros((3, 1)), np.zeros(3)), "1-D"),
        (lambda: losses.mse(np.zeros(3), np.zeros(4)), "lengths differ"),
        (lambda: losses.mae([], []), "empty"),
        (lambda: losses.gaussian_nll(Y, Y_PRED, 0.0), "var must be > 0"),
        (lambda: losses.gaussian_nll(Y, Y_PRED, np.ones(2)), "var must be a scalar"),
        (lambda: losses.cross_entropy(np.array([0, 2]), np.full((2, 2), 0.5)), "column indices"),
        (lambda: losses.torch_loss("hinge"), "torch_loss name"),
    ],
)
def test_invalid_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------ numpy <-> torch
def test_torch_losses_agree_with_numpy() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    n = 64
    y = rng.normal(size=n)
    mean, log_var = rng.normal(size=n), rng.normal(scale=0.5, size=n)
    t = torch.from_numpy

    assert float(losses.torch_loss("mse")(t(mean)[:, None], t(y))) == pytest.approx(
        losses.mse(y, mean), rel=1e-12
    )

    out = torch.stack([t(mean), t(log_var)], dim=1)
    got = float(losses.torch_loss("gaussian_nll")(out, t(y)))
    assert got == pytest.approx(losses.gaussian_nll(y, mean, np.exp(log_var)), rel=1e-12)
    # Independent truth: torch's own full Gaussian NLL.
    ref = torch.nn.functional.gaussian_nll_loss(t(mean), t(y), t(np.exp(log_var)), full=True)
    assert got == pytest.approx(float(ref), rel=1e-12)

    logits = rng.normal(size=(n, 4))
    labels = rng.integers(0, 4, size=n)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    got = float(losses.torch_loss("cross_entropy")(t(logits), t(labels)))
    assert got == pytest.approx(losses.cross_entropy(labels, proba), rel=1e-12)

    # Binary single logit z: same loss as logits [0, z] / proba sigmoid(z).
    z, yb = rng.normal(size=n), rng.integers(0, 2, size=n)
    got = float(losses.torch_loss("cross_entropy")(t(z)[:, None], t(yb)))
    assert got == pytest.approx(losses.cross_entropy(yb, 1 / (1 + np.exp(-z))), rel=1e-12)
    two = float(losses.torch_loss("cross_entropy")(t(np.column_stack([0 * z, z])), t(yb)))
    assert got == pytest.approx(two, rel=1e-12)


def test_torch_losses_are_differentiable() -> None:
    torch = pytest.importorskip("torch")
    out = torch.zeros(5, 2, dtype=torch.float64, requires_grad=True)
    losses.torch_loss("gaussian_nll")(out, torch.ones(5, dtype=torch.float64)).backward()
    # d/dμ of ½(y-μ)² e^{-s} at μ=0, s=0, y=1 is -1, averaged over 5 rows.
    assert torch.allclose(out.grad[:, 0], torch.full((5,), -0.2, dtype=torch.float64))
