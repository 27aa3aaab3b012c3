"""scikit-learn's estimator API for ermlab's own regressors, without importing scikit-learn.

Importing scikit-learn costs about 1.5 s here (it imports SciPy's statistics), and every DVC
stage is a fresh process: the default pipeline's ``fit`` and ``evaluate`` stages paid it only
because :class:`~ermlab.models.ols.OLS` inherited ``BaseEstimator``. :class:`Regressor` gives
the same contract (``get_params``/``set_params`` from ``__init__``'s signature, scikit-learn's
``repr``, ``score`` as R², tags, input validation with ``n_features_in_`` and
``feature_names_in_``), so ``clone``, ``is_regressor``, ``Pipeline``, ``GridSearchCV`` and
``check_estimator`` accept it; scikit-learn is imported only when one of them asks for the
tags, or to raise its own ``NotFittedError``.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np

NO_TARGET = object()  # _validate_data of X alone (predict), as opposed to y=None (refused)


class Regressor:
    """Base class of a scikit-learn-compatible regressor whose ``__init__`` stores each
    argument under its own name (scikit-learn's rule)."""

    _estimator_type = "regressor"  # what scikit-learn before 1.6 and MLflow read

    @classmethod
    def _get_param_names(cls) -> list[str]:
        parameters = inspect.signature(cls.__init__).parameters.values()
        varargs = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return sorted(p.name for p in parameters if p.name != "self" and p.kind not in varargs)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments by name (with ``deep``, nested estimators' as
        ``name__key``)."""
        params = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update({f"{name}__{k}": v for k, v in value.get_params().items()})
            params[name] = value
        return params

    def set_params(self, **params: Any) -> Regressor:
        """Set constructor arguments (``name__key`` for a nested estimator's); returns self."""
        valid = self._get_param_names()
        for key, value in params.items():
            name, nested, rest = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self}. "
                    f"Valid parameters are: {valid!r}."
                )
            if nested:
                getattr(self, name).set_params(**{rest: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """``Name(key=value, ...)`` with the arguments that differ from their defaults."""
        defaults = inspect.signature(type(self).__init__).parameters
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params(deep=False).items()
            if not _same(value, defaults[name].default)
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        """scikit-learn's tags of a regressor that needs ``y`` (imports scikit-learn)."""
        from sklearn.utils import InputTags, RegressorTags, Tags, TargetTags

        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True),
            regressor_tags=RegressorTags(),
            input_tags=InputTags(),
        )

    def score(self, X, y, sample_weight=None) -> float:
        """R² of ``predict(X)`` against ``y`` (n,), weighted by ``sample_weight`` (n,), as
        ``sklearn.metrics.r2_score``: 1.0 for a perfect fit of a constant ``y``, 0.0 for an
        imperfect one."""
        y = np.asarray(y, dtype=np.float64).ravel()
        w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, float)
        residual = np.sum(w * (y - self.predict(X)) ** 2)
        total = np.sum(w * (y - np.average(y, weights=w)) ** 2)
        if total == 0:
            return 1.0 if residual == 0 else 0.0
        return float(1.0 - residual / total)

    def _check_is_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _validate_data(self, X, y: Any = NO_TARGET, reset: bool = True):
        """``X`` as a finite float64 array (n, p) and, unless :data:`NO_TARGET`, ``y`` (None
        refused) as a finite float64 array (n,); ``reset`` records ``n_features_in_`` and
        ``feature_names_in_`` (a DataFrame's string column names), otherwise checks ``X``
        against them."""
        names = _feature_names(X)
        X = _finite_2d(X)
        if reset:
            self.n_features_in_ = X.shape[1]
            if names is None:
                self.__dict__.pop("feature_names_in_", None)
            else:
                self.feature_names_in_ = names
        else:
            self._check_features(X, names)
        if y is NO_TARGET:
            return X
        return X, _finite_target(y, X.shape[0])

    def _check_features(self, X: np.ndarray, names: np.ndarray | None) -> None:
        fitted_names = getattr(self, "feature_names_in_", None)
        kind = type(self).__name__
        if fitted_names is not None and names is None:
            warnings.warn(
                f"X does not have valid feature names, but {kind} was fitted with feature names",
                UserWarning,
                stacklevel=4,
            )
        elif fitted_names is None and names is not None:
            warnings.warn(
                f"X has feature names, but {kind} was fitted without feature names",
                UserWarning,
                stacklevel=4,
            )
        elif names is not None and not np.array_equal(names, fitted_names):
            raise ValueError(
                "The feature names should match those that were passed during fit: "
                f"fitted with {list(fitted_names)}, got {list(names)}"
            )
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {kind} is expecting {self.n_features_in_} "
                "features as input."
            )


def _same(value: Any, default: Any) -> bool:
    if value is default:
        return True
    try:
        return bool(type(value) is type(default) and value == default)
    except (TypeError, ValueError):  # arrays and other values without a truth value
        return False


def _feature_names(X) -> np.ndarray | None:
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    if len(names) and all(isinstance(name, str) for name in names):
        return names
    return None


def _finite_2d(X) -> np.ndarray:
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise TypeError("Sparse data was passed, but dense data is required: use X.toarray().")
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    X = X.astype(np.float64, copy=False)
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D array instead. Reshape your data either using "
            "array.reshape(-1, 1) if your data has a single feature or array.reshape(1, -1) "
            "if it contains a single sample."
        )
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] < 1:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={X.shape}) while a minimum of 1 is required."
            )
    if not np.isfinite(X).all():
        raise ValueError("Input X contains NaN or infinity.")
    return X


def _finite_target(y, n_samples: int) -> np.ndarray:
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        from sklearn.exceptions import DataConversionWarning  # a rare path: worth its import

        warnings.warn(
            "A column-vector y was passed when a 1d array was expected: y is raveled.",
            DataConversionWarning,
            stacklevel=4,
        )
        y = y.ravel()
    if y.ndim != 1:
        raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
    if y.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    y = y.astype(np.float64, copy=False)
    if y.shape[0] != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"[{n_samples}, {y.shape[0]}]"
        )
    if not np.isfinite(y).all():
        raise ValueError("Input y contains NaN or infinity.")
    return y
