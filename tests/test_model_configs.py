"""Every conf/model/*.yaml builds a scikit-learn estimator that fits data of its task."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from tests.conftest import REPO

from ermlab import models
from ermlab.config import ConfigError, compose, validate

MODELS = sorted(p.stem for p in (REPO / "conf" / "model").glob("*.yaml"))


@pytest.mark.parametrize("name", MODELS)
def test_every_model_config_builds_and_fits(name: str):
    model = validate(compose([f"model={name}"])).model
    if "torch" in model["_target_"] or "mlp" in name:
        model = {**model, "epochs": 5}  # building and fitting is the point, not converging
    estimator = models.build(model, seed=0)
    gen = np.random.default_rng(0)
    X = gen.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int) if is_classifier(estimator) else X @ [1.0, -2.0] + 0.1
    fitted, history = models.fit(clone(estimator), X, y)
    assert fitted.predict(X).shape == (60,)
    assert isinstance(history, dict)


def test_any_estimator_can_be_named_by_target():
    config = validate(
        compose(
            [
                "model=sklearn_linear",
                "model._target_=sklearn.svm.SVR",
                "~model.fit_intercept",
                "+model.C=3.0",
            ]
        )
    )
    estimator = models.build(config.model, seed=0)
    assert type(estimator).__name__ == "SVR" and estimator.C == 3.0


def test_random_state_derives_from_the_seed():
    model = validate(compose(["model=tree"])).model
    a, b, c = (models.build(model, seed=s).random_state for s in (1, 1, 2))
    assert a == b != c


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["model._target_=sklearn.linear_model.NoSuchModel"], "NoSuchModel"),
        (["+model.no_such_argument=1"], "no_such_argument"),
        (["model._target_=collections.OrderedDict"], "not allowed: a scikit-learn estimator"),
    ],
)
def test_bad_model_config_is_one_line(overrides: list[str], expected: str):
    config = validate(compose(["model=sklearn_linear", *overrides]))
    with pytest.raises(ConfigError) as info:
        models.build(config.model, seed=0)
    assert expected in str(info.value) and "\n" not in str(info.value)
