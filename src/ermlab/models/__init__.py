"""Models: every one a scikit-learn estimator, built from the ``model`` config node.

``conf/model/*.yaml`` names the class by ``_target_`` (ermlab's own ``OLS`` and torch networks,
or any scikit-learn estimator) with its keyword arguments. Nothing here imports scikit-learn
or torch until a model is built.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from ermlab.config import ConfigError
from ermlab.seeding import int_seed


def build(model_cfg: dict[str, Any], seed: int):
    """Instantiate the estimator the ``model`` node names, seeded from the ``fit`` stream.

    ``_target_`` is resolved and checked to be an estimator class (or an ermlab model
    factory) and every other key to be one of its arguments before anything is called (see
    :mod:`ermlab.models.arguments`); the arguments are passed as they are, never instantiated.

    Raises
    ------
    ConfigError (one line) when the target is not allowed or rejects an argument.
    """
    from ermlab.models.arguments import check_arguments, resolve_target

    target = model_cfg.get("_target_")
    factory = resolve_target(target)
    kwargs = check_arguments(factory, dict(model_cfg))
    try:
        estimator = factory(**kwargs)
    except (TypeError, ValueError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise ConfigError(f"model._target_={target!r}: {reason}") from None
    if not hasattr(estimator, "fit") or not hasattr(estimator, "get_params"):
        raise ConfigError(
            f"model._target_={target!r} is not allowed: it made a {type(estimator).__name__}, "
            "not a scikit-learn estimator (with fit and get_params)"
        )
    _check_parameters(estimator, kwargs)
    # The scikit-learn convention for randomness: set random_state when the estimator has one.
    if "random_state" in estimator.get_params(deep=False):
        estimator.set_params(random_state=int_seed(seed, "fit"))
    return estimator


def _check_parameters(estimator, kwargs: dict[str, Any]) -> None:
    """Check the arguments' values as ``fit`` first does, so that a sweep refuses a bad value
    before its first job: scikit-learn's ``_validate_params`` (an estimator with
    ``_parameter_constraints``), or the ``_check_params`` of ermlab's own models (OLS, the
    torch networks).

    Raises
    ------
    ConfigError ``model.<argument>=<value>: <the estimator's reason>``.
    """
    import re

    if hasattr(estimator, "_parameter_constraints") and hasattr(estimator, "_validate_params"):
        check = estimator._validate_params
    elif hasattr(estimator, "_check_params") and type(estimator).__module__.startswith("ermlab."):
        check = estimator._check_params  # ermlab's own: another library's means what it means
    else:
        return
    try:
        check()
    except (TypeError, ValueError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        # scikit-learn: "The 'alpha' parameter of Ridge must be ..."; ermlab: "degree must ..."
        named = re.match(r"The '(\w+)' parameter|(\w+) must", reason)
        name = named and (named[1] or named[2])
        key = name if name in kwargs else None
        where = f"model.{key}={kwargs[key]}" if key else f"model ({type(estimator).__name__})"
        raise ConfigError(f"{where}: {reason}") from None


CLASSIFIERS = (
    "logistic, knn_classifier, tree_classifier, dummy_classifier, torch_logistic, mlp_classifier"
)


def check_task(estimator, train, choices: Mapping[str, str] | None = None) -> None:
    """Refuse a regressor on labels and a classifier on a continuous target: the risks would be
    computed, but meaningless (a regressor's real-valued predictions never equal a label).
    ``choices`` (config group -> option, as the command composed it) lets the error name what
    the user typed (``model=ols``, ``data=three_gaussians``); without it, the estimator's class
    and the data's source are named.

    Raises
    ------
    ConfigError naming the model, the data and what fits.
    """
    choices = choices or {}
    model = (
        f"model={choices['model']}" if "model" in choices else f"model {type(estimator).__name__}"
    )
    data = f"data={choices['data']}" if "data" in choices else f"the data ({train.source})"
    if train.task == "classification" and not is_classifier(estimator):
        raise ConfigError(
            f"{model} is a regressor, but {data} is a classification task: "
            f"choose a classifier ({CLASSIFIERS})"
        )
    if train.task == "regression" and is_classifier(estimator):
        raise ConfigError(
            f"{model} is a classifier, but {data} has a continuous target: "
            "choose a regressor (ols, ridge, knn, tree, mlp, torch_linear, ...)"
        )


def intercept_mismatch(estimator, dataset) -> str | None:
    """Why the fit is not the data's own model, where the data say whether it has an intercept
    (``meta["fit_intercept"]``: a NIST StRD file, whose certified values are for its model)
    and the estimator fits one or not (its ``fit_intercept`` param); else None."""
    wants = dataset.meta.get("fit_intercept")
    get_params = getattr(estimator, "get_params", None)
    fits = get_params().get("fit_intercept") if get_params is not None else None
    if wants is None or fits is None or bool(wants) == bool(fits):
        return None
    model = dataset.meta.get("model", "")
    if fits:
        return (
            f"{dataset.source}'s model has no intercept ({model}), but the model fits one: its "
            "coefficients are not the certified ones (model=ols_no_intercept fits that model)"
        )
    return (
        f"{dataset.source}'s model has an intercept ({model}), but the model fits none: its "
        "coefficients are not the certified ones (model=ols fits that model)"
    )


def warn_if_intercept_mismatch(estimator, dataset) -> None:
    """Say :func:`intercept_mismatch`'s note, if any, in one line on stderr (the fit goes on:
    its risks are right for the model fitted)."""
    if (note := intercept_mismatch(estimator, dataset)) is not None:
        print(f"ermlab: warning: {note}", file=sys.stderr)


def is_classifier(estimator) -> bool:
    """scikit-learn's ``is_classifier``, without importing scikit-learn for ermlab's own
    regressors (:mod:`ermlab.models.sklearn_api`), which say what they are."""
    from ermlab.models.sklearn_api import Regressor

    if isinstance(estimator, Regressor):
        return False
    from sklearn.base import is_classifier as sklearn_is_classifier

    return sklearn_is_classifier(estimator)


def fit(estimator, X, y):
    """Fit ``estimator`` on X (n, p), y (n,); returns it and its training history.

    The history is the estimator's ``history_`` (torch networks: loss per epoch) or an empty
    dict for closed-form and scikit-learn models.
    """
    estimator.fit(X, y)
    return estimator, dict(getattr(estimator, "history_", {}) or {})


def describe(model_cfg: dict[str, Any]) -> str:
    """A short display name: the class name of ``_target_``."""
    return str(model_cfg.get("_target_", "?")).rsplit(".", 1)[-1]
