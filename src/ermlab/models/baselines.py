"""scikit-learn baselines that need more than one class to build."""

from __future__ import annotations


def polynomial_regression(degree: int = 3, alpha: float = 0.0, include_bias: bool = False):
    """PolynomialFeatures(degree) followed by LinearRegression, or Ridge(alpha) when alpha > 0.

    Inputs X (n, p) are expanded to every monomial of total degree ≤ ``degree``
    (scikit-learn's convention, cross terms included).
    """
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures

    if not isinstance(degree, int) or degree < 0:
        raise ValueError(f"model.degree={degree!r} is not allowed: an integer >= 0")
    if alpha < 0:
        raise ValueError(f"model.alpha={alpha!r} is not allowed: a number >= 0")
    linear = Ridge(alpha=alpha) if alpha > 0 else LinearRegression()
    return make_pipeline(PolynomialFeatures(degree, include_bias=include_bias), linear)
