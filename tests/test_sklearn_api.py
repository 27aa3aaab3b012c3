"""ermlab's regressors speak scikit-learn's estimator API without importing scikit-learn
(ermlab.models.sklearn_api): scikit-learn's own checks and tools are the truth."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from ermlab.models import is_classifier as ermlab_is_classifier
from ermlab.models.ols import OLS


def _data(n: int = 60, p: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    return X, X @ np.arange(1.0, p + 1) + 0.5 + rng.normal(scale=0.1, size=n)


def test_ols_passes_scikit_learns_estimator_checks():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(OLS(), on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert len(results) > 40 and failed == []


def test_importing_ols_does_not_import_sklearn():
    code = "import sys; from ermlab.models.ols import OLS; OLS().fit([[0.], [1.]], [0., 1.])"
    code += "; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_params_clone_and_repr_follow_sklearn():
    model = OLS(degree=3, alpha=0.5)
    assert model.get_params() == {
        "alpha": 0.5,
        "degree": 3,
        "fit_intercept": True,
        "penalty": "sklearn",
        "rcond": None,
    }
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()
    assert repr(model) == "OLS(alpha=0.5, degree=3)" and repr(OLS()) == "OLS()"
    assert model.set_params(degree=1) is model and model.degree == 1
    with pytest.raises(ValueError, match="Invalid parameter 'degre'"):
        model.set_params(degre=2)
    assert is_regressor(model) and not is_classifier(model)
    assert not ermlab_is_classifier(model)


def test_score_pipeline_and_search_agree_with_sklearns_own_estimators():
    X, y = _data()
    assert OLS().fit(X, y).score(X, y) == pytest.approx(
        LinearRegression().fit(X, y).score(X, y), rel=1e-12
    )
    weights = np.linspace(0.5, 2.0, len(y))
    assert OLS().fit(X, y).score(X, y, weights) == pytest.approx(
        LinearRegression().fit(X, y).score(X, y, weights), rel=1e-12
    )
    ours = cross_val_score(make_pipeline(StandardScaler(), OLS(alpha=1.0)), X, y, cv=3)
    theirs = cross_val_score(make_pipeline(StandardScaler(), Ridge(alpha=1.0)), X, y, cv=3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)
    search = GridSearchCV(OLS(), {"alpha": [0.0, 10.0]}, cv=3).fit(X, y)
    assert search.best_params_ == {"alpha": 0.0}


def test_validation_errors_and_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    with pytest.raises(NotFittedError):
        OLS().predict(X)
    model = OLS().fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but OLS is expecting 3"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        OLS().fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        OLS().fit(X, y[:-1])
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    named = OLS().fit(frame, y)
    assert list(named.feature_names_in_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="feature names should match"):
        named.predict(frame[["b", "a", "c"]])
    # the same numbers; a DataFrame's columns are stored apart, so BLAS may round differently
    np.testing.assert_allclose(named.predict(frame), model.predict(X), rtol=1e-12)
    restored = pickle.loads(pickle.dumps(named))
    np.testing.assert_array_equal(restored.predict(frame), named.predict(frame))
