"""Loss functions, defined once: numpy versions for evaluation, torch versions for training.

Conventions used throughout
---------------------------
* ``y`` is the observed target, ``y_pred`` (ŷ) the prediction; both are 1-D arrays of
  shape ``(n_samples,)`` and every risk is an *average* over the ``n`` samples (an
  empirical risk), except :func:`bishop_error` which is Bishop's *sum* of squares.
* Probabilities ``proba`` have shape ``(n_samples, n_classes)`` with columns in the order
  of ``classes``.
* The torch losses returned by :func:`torch_loss` compute exactly the same quantities as
  their numpy counterparts (checked in ``tests/test_losses.py``), so a training curve and
  an evaluation table are on the same scale.

Only numpy is imported at module level; torch is imported when :func:`torch_loss` is
called, so evaluation code does not pay for (or require) a torch import.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "CLASSIFICATION_RISKS",
    "PROBA_EPS",
    "REGRESSION_RISKS",
    "TORCH_LOSSES",
    "accuracy",
    "bishop_error",
    "classification_risks",
    "cross_entropy",
    "gaussian_nll",
    "mae",
    "mse",
    "regression_risks",
    "rms_error",
    "torch_loss",
    "zero_one",
]

#: Lower clip applied to predicted probabilities in :func:`cross_entropy`, so that a
#: confidently wrong prediction costs ``-log(1e-15) ≈ 34.5`` nats instead of ``inf``.
PROBA_EPS: float = 1e-15

_LOG_2PI = math.log(2.0 * math.pi)


def _pair(y: ArrayLike, y_pred: ArrayLike, *, numeric: bool = True) -> tuple[np.ndarray, ...]:
    """Return ``y`` and ``y_pred`` as 1-D arrays of equal, non-zero length."""
    dtype = np.float64 if numeric else None
    y_arr, p_arr = np.asarray(y, dtype=dtype), np.asarray(y_pred, dtype=dtype)
    # Column vectors are refused rather than flattened: mixing (n,) and (n, 1) would
    # silently broadcast to an (n, n) matrix of differences in a hand-written risk.
    if y_arr.ndim != 1 or p_arr.ndim != 1:
        raise ValueError(f"y and y_pred must be 1-D; got shapes {y_arr.shape} and {p_arr.shape}")
    if y_arr.shape != p_arr.shape:
        raise ValueError(f"y and y_pred lengths differ: {y_arr.shape[0]} != {p_arr.shape[0]}")
    if y_arr.shape[0] == 0:
        raise ValueError("y and y_pred are empty; a risk needs at least one sample")
    return y_arr, p_arr


# --------------------------------------------------------------------------- regression
def mse(y: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean squared error, ``mean((ŷ - y)²)``.

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        Targets and predictions.

    Returns
    -------
    float
        The empirical squared-error risk (no factor ½; compare :func:`bishop_error`).
    """
    y_arr, p_arr = _pair(y, y_pred)
    return float(np.mean((p_arr - y_arr) ** 2))


def mae(y: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error, ``mean(|ŷ - y|)``.

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        Targets and predictions.

    Returns
    -------
    float
        The empirical absolute-error risk.
    """
    y_arr, p_arr = _pair(y, y_pred)
    return float(np.mean(np.abs(p_arr - y_arr)))


def gaussian_nll(y: ArrayLike, mean: ArrayLike, var: ArrayLike) -> float:
    """Mean Gaussian negative log-likelihood in nats.

    ``mean_i( ½ log(2π σ²_i) + (y_i - μ_i)² / (2 σ²_i) )``, the full NLL including the
    constant ``½ log 2π``, so it equals ``-mean(log N(y_i | μ_i, σ²_i))`` exactly.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Targets.
    mean : array-like of shape (n_samples,)
        Predicted means μ.
    var : float or array-like of shape (n_samples,)
        Predicted variances σ² (> 0): one shared (homoscedastic) value, e.g. the training
        residual variance, or one per sample.

    Returns
    -------
    float
        The empirical negative log-likelihood risk.
    """
    y_arr, mu = _pair(y, mean)
    var_arr = np.asarray(var, dtype=np.float64)
    if var_arr.ndim > 1 or (var_arr.ndim == 1 and var_arr.shape != y_arr.shape):
        raise ValueError(
            f"var must be a scalar or have shape {y_arr.shape}; got shape {var_arr.shape}"
        )
    if not np.all(var_arr > 0):
        raise ValueError("var must be > 0 everywhere")
    return float(np.mean(0.5 * (_LOG_2PI + np.log(var_arr)) + (y_arr - mu) ** 2 / (2 * var_arr)))


def bishop_error(y: ArrayLike, y_pred: ArrayLike) -> float:
    """Bishop's sum-of-squares error ``E = ½ Σ (ŷ - y)²`` (PRML eq. 1.2).

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        Targets and predictions.

    Returns
    -------
    float
        ``E``; a *sum*, so it grows with ``n`` (use :func:`rms_error` to compare sizes).
    """
    y_arr, p_arr = _pair(y, y_pred)
    return float(0.5 * np.sum((p_arr - y_arr) ** 2))


def rms_error(y: ArrayLike, y_pred: ArrayLike) -> float:
    """Bishop's root-mean-square error ``E_RMS = sqrt(2E / N)`` (PRML eq. 1.3).

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        Targets and predictions.

    Returns
    -------
    float
        ``sqrt(2 E / N)``, which equals ``sqrt(mse(y, y_pred))`` and is in target units.
    """
    y_arr, p_arr = _pair(y, y_pred)
    return float(np.sqrt(2.0 * bishop_error(y_arr, p_arr) / y_arr.shape[0]))


# ------------------------------------------------------------------------ classification
def zero_one(y: ArrayLike, y_pred: ArrayLike) -> float:
    """Zero-one risk ``mean(1[ŷ ≠ y])``, the misclassification rate.

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        True and predicted labels (any comparable dtype: ints, strings, ...).

    Returns
    -------
    float
        Fraction of misclassified samples, in ``[0, 1]``.
    """
    y_arr, p_arr = _pair(y, y_pred, numeric=False)
    return float(np.mean(y_arr != p_arr))


def accuracy(y: ArrayLike, y_pred: ArrayLike) -> float:
    """Accuracy, ``1 - zero_one(y, y_pred)``.

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        True and predicted labels.

    Returns
    -------
    float
        Fraction of correctly classified samples, in ``[0, 1]``.
    """
    return 1.0 - zero_one(y, y_pred)


def cross_entropy(y: ArrayLike, proba: ArrayLike, classes: ArrayLike | None = None) -> float:
    """Mean cross-entropy (log loss) in nats, ``mean(-log p̂_i(y_i))``.

    Probabilities are clipped below at :data:`PROBA_EPS` (1e-15) so that a zero
    probability on the true class gives a large finite loss instead of ``inf``; rows are
    used as given (not renormalised).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels.
    proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Predicted class probabilities, columns ordered as ``classes``. A 1-D array is read
        as the probability of the *second* class of a binary problem (sklearn's
        convention), i.e. as columns ``[1 - p, p]``.
    classes : array-like of shape (n_classes,), optional
        Label of each column of ``proba`` (e.g. an estimator's ``classes_``); a label of
        ``y`` that is not in ``classes`` gets probability 0 (hence loss ``-log PROBA_EPS``).
        If omitted, the labels in ``y`` must already be column indices
        ``0 .. n_classes - 1``.

    Returns
    -------
    float
        The empirical log-loss risk.
    """
    y_arr = np.asarray(y)
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    if y_arr.ndim != 1 or p.ndim != 2:
        raise ValueError(
            f"y must be 1-D and proba 1-D or 2-D; got shapes {np.shape(y)} and {np.shape(proba)}"
        )
    if p.shape[0] != y_arr.shape[0] or y_arr.shape[0] == 0:
        raise ValueError(f"y and proba lengths differ or are 0: {y_arr.shape[0]}, {p.shape[0]}")
    k = p.shape[1]
    if classes is None:
        if not np.issubdtype(y_arr.dtype, np.integer) or y_arr.min() < 0 or y_arr.max() >= k:
            raise ValueError(
                f"without classes, y must hold integer column indices in [0, {k}); "
                "pass classes= to map labels to columns"
            )
        idx = y_arr.astype(np.intp)
        known = np.ones(y_arr.shape[0], dtype=bool)
    else:
        cls = np.asarray(classes).reshape(-1)
        if cls.shape[0] != k:
            raise ValueError(f"classes has {cls.shape[0]} labels but proba has {k} columns")
        order = np.argsort(cls, kind="stable")
        pos = np.clip(np.searchsorted(cls[order], y_arr), 0, k - 1)
        idx = order[pos]
        # A label the model never saw (e.g. a class missing from a small training set) has
        # predicted probability 0: it costs the clipped maximum rather than raising.
        known = cls[idx] == y_arr
    p_true = np.where(known, p[np.arange(y_arr.shape[0]), idx], 0.0)
    return float(np.mean(-np.log(np.maximum(p_true, PROBA_EPS))))


# ------------------------------------------------------------------------------ registry
#: Regression risks that need only ``(y, y_pred)``.
REGRESSION_RISKS: dict[str, Callable[[ArrayLike, ArrayLike], float]] = {
    "mse": mse,
    "mae": mae,
}

#: Classification risks that need only ``(y, y_pred)`` labels.
CLASSIFICATION_RISKS: dict[str, Callable[[ArrayLike, ArrayLike], float]] = {
    "zero_one": zero_one,
    "accuracy": accuracy,
}


def regression_risks(
    y: ArrayLike, y_pred: ArrayLike, noise_var: ArrayLike | None
) -> dict[str, float]:
    """Evaluate every regression risk of a point predictor.

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        Targets and predictions.
    noise_var : float or array-like of shape (n_samples,)
        Variance used for the Gaussian NLL, typically the residual variance on the
        *training* set (``mse(y_train, model.predict(X_train))``), which turns a point
        predictor into the plug-in Gaussian model ``N(ŷ, σ²)``; None for no such model.

    Returns
    -------
    dict of str to float
        ``{"mse", "mae", "gaussian_nll"}`` (no ``gaussian_nll`` when ``noise_var`` is None).
    """
    out = {name: fn(y, y_pred) for name, fn in REGRESSION_RISKS.items()}
    if noise_var is not None:
        out["gaussian_nll"] = gaussian_nll(y, y_pred, noise_var)
    return out


def classification_risks(
    y: ArrayLike,
    y_pred: ArrayLike,
    proba: ArrayLike | None = None,
    classes: ArrayLike | None = None,
) -> dict[str, float]:
    """Evaluate every classification risk.

    Parameters
    ----------
    y, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    proba : array-like of shape (n_samples, n_classes), optional
        Predicted probabilities (columns ordered as ``classes``); without it the
        cross-entropy is left out.
    classes : array-like of shape (n_classes,), optional
        Column labels of ``proba``; see :func:`cross_entropy`.

    Returns
    -------
    dict of str to float
        ``{"zero_one", "accuracy"}`` plus ``"cross_entropy"`` when ``proba`` is given.
    """
    out = {name: fn(y, y_pred) for name, fn in CLASSIFICATION_RISKS.items()}
    if proba is not None:
        out["cross_entropy"] = cross_entropy(y, proba, classes)
    return out


# --------------------------------------------------------------------------------- torch
#: Names accepted by :func:`torch_loss`.
TORCH_LOSSES: tuple[str, ...] = ("mse", "gaussian_nll", "cross_entropy")


def torch_loss(name: str) -> Callable[[Any, Any], Any]:
    """Return the torch training loss ``loss(output, target) -> scalar tensor``.

    Each returned function computes the same mean as its numpy counterpart above, and is
    differentiable with respect to ``output``.

    Parameters
    ----------
    name : {"mse", "gaussian_nll", "cross_entropy"}
        * ``"mse"``: ``output`` of shape (n,) or (n, 1) holds ŷ; ``target`` (n,) holds y.
          Same as :func:`mse`.
        * ``"gaussian_nll"``: ``output`` of shape (n, 2) holds ``[μ, log σ²]`` per row
          (a log-variance keeps σ² > 0 without constraints); ``target`` (n,). Same as
          :func:`gaussian_nll` with ``var = exp(log σ²)``, ``½ log 2π`` included.
        * ``"cross_entropy"``: ``output`` of shape (n, k) holds logits and ``target`` (n,)
          integer class indices (``torch.nn.functional.cross_entropy``); or ``output`` of
          shape (n,) or (n, 1) holds the single logit ``z`` of class 1 of a binary problem,
          equivalent to logits ``[0, z]`` and computed stably as binary cross-entropy with
          logits. Same as :func:`cross_entropy` with ``proba = softmax(output)``.

    Returns
    -------
    callable
        ``loss(output, target)`` returning a 0-d tensor.
    """
    import torch
    import torch.nn.functional as F

    if name == "mse":

        def mse_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            return F.mse_loss(output.reshape(target.shape), target)

        return mse_loss

    if name == "gaussian_nll":

        def gaussian_nll_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            mean, log_var = output[:, 0], output[:, 1]
            return 0.5 * torch.mean(_LOG_2PI + log_var + (target - mean) ** 2 * torch.exp(-log_var))

        return gaussian_nll_loss

    if name == "cross_entropy":

        def cross_entropy_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            if output.ndim == 1 or output.shape[1] == 1:
                return F.binary_cross_entropy_with_logits(
                    output.reshape(-1), target.to(output.dtype)
                )
            return F.cross_entropy(output, target.long())

        return cross_entropy_loss

    raise ValueError(f"torch_loss name must be one of {TORCH_LOSSES}; got {name!r}")
