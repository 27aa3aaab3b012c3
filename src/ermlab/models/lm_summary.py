"""R's ``summary(lm(...))`` for a fitted :class:`~ermlab.models.ols.OLS`.

The classic regression output of a least-squares fit: per term the estimate, its standard
error, the t value and its two-sided p value; the residual standard error with its degrees of
freedom; R² and adjusted R²; the F statistic with its degrees of freedom and p value; and the
five-number summary of the residuals. Conventions are R's (``stats:::summary.lm``):

- residual df = n − rank; t = estimate / SE, p = 2·P(T_df > |t|);
- with an intercept R² is centred and adjusted R² = 1 − (1 − R²)(n − 1)/df; without one both are
  uncentred (1 − RSS/Σy², and 1 − (1 − R²)·n/df), as R does for ``y ~ x - 1``;
- F = (regression SS / its df) / σ̂², on (rank − intercept, n − rank) degrees of freedom; it is
  absent for the intercept-only model;
- term names: ``(Intercept)``, a feature's name, ``I(x^k)`` for its k-th power (``degree`` > 1).

Only the unpenalised fit has these statistics: :func:`lm_summary` returns ``None`` for another
estimator or a ridge penalty.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["LmSummary", "lm_summary"]

QUARTILE_NAMES = ("Min", "1Q", "Median", "3Q", "Max")
SIGNIFICANCE = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " "))
DIGITS = 4  # R prints a summary with max(3, getOption("digits") - 3) = 4 significant digits


@dataclass(frozen=True)
class LmSummary:
    """The numbers of R's ``summary(lm(...))``; :meth:`text` lays them out as R prints them.

    Attributes
    ----------
    formula : str
        ``target ~ x1 + x2`` (``- 1`` without intercept), as R's ``Call:`` line shows it.
    terms : tuple of str
        One name per coefficient, intercept first when there is one.
    estimate, std_error, t_value, p_value : tuple of float
        Aligned with ``terms``; NaN where a coefficient is not estimable (rank-deficient design).
    residual_quantiles : tuple of float
        Min, 1Q, median, 3Q, max of the training residuals y − ŷ (linear interpolation, R's
        default quantile type 7).
    residual_se : float
        σ̂ = √(RSS / df_residual).
    df_residual : int
        n − rank.
    r_squared, adj_r_squared : float
    f_statistic : float or None
        None for the intercept-only model (R prints no F line then).
    f_df : tuple of int
        (numerator df, denominator df).
    f_p_value : float or None
    n : int
        Rows fitted.
    rank_deficient : bool
        The design is singular: the estimates are the minimum-norm solution and have no
        standard errors (R instead drops the aliased terms, "not defined because of
        singularities").
    """

    formula: str
    terms: tuple[str, ...]
    estimate: tuple[float, ...]
    std_error: tuple[float, ...]
    t_value: tuple[float, ...]
    p_value: tuple[float, ...]
    residual_quantiles: tuple[float, ...]
    residual_se: float
    df_residual: int
    r_squared: float
    adj_r_squared: float
    f_statistic: float | None
    f_df: tuple[int, int]
    f_p_value: float | None
    n: int
    rank_deficient: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain values (lists, floats, ints) for JSON; non-finite numbers become None."""

        def clean(value: Any) -> Any:
            if isinstance(value, tuple | list):
                return [clean(v) for v in value]
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        return {key: clean(value) for key, value in asdict(self).items()}

    def text(self) -> str:
        """The summary laid out as R prints it (4 significant digits, significance stars)."""
        lines = ["Call:", f"lm(formula = {self.formula})", "", "Residuals:"]
        lines += _columns(QUARTILE_NAMES, [_sig(q) for q in self.residual_quantiles])
        lines += ["", "Coefficients:"]
        if self.rank_deficient:
            lines[-1] += " (rank-deficient design: minimum-norm estimates, no standard errors)"
        header = ("", "Estimate", "Std. Error", "t value", "Pr(>|t|)", "")
        rows = [
            (
                term,
                _sig(est, 5),
                _sig(se),
                _t(t),
                _p(p),
                _stars(p),
            )
            for term, est, se, t, p in zip(
                self.terms, self.estimate, self.std_error, self.t_value, self.p_value, strict=True
            )
        ]
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        for row in (header, *rows):
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(row[1:5], widths[1:5], strict=True)]
            lines.append(" ".join(cells) + " " + row[5])
        lines += [
            "---",
            "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1",
            "",
            f"Residual standard error: {_sig(self.residual_se)} on {self.df_residual} "
            "degrees of freedom",
            f"Multiple R-squared:  {_sig(self.r_squared)},\t"
            f"Adjusted R-squared:  {_sig(self.adj_r_squared)}",
        ]
        if self.f_statistic is not None:
            lines.append(
                f"F-statistic: {_sig(self.f_statistic)} on {self.f_df[0]} and {self.f_df[1]} DF,"
                f"  p-value: {_p(self.f_p_value)}"
            )
        return "\n".join(line.rstrip() for line in lines)


def lm_summary(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    feature_names: tuple[str, ...] | list[str],
    target_name: str,
) -> LmSummary | None:
    """R's ``summary(lm(target ~ features))`` of an OLS fitted on (X, y).

    Parameters
    ----------
    estimator : OLS
        Fitted on exactly (X, y), with ``alpha == 0``.
    X : ndarray of shape (n, k)
    y : ndarray of shape (n,)
    feature_names : sequence of k str
    target_name : str

    Returns
    -------
    LmSummary, or None when ``estimator`` is not an unpenalised OLS (no such statistics).
    """
    # The distribution functions scipy.stats's t.sf and f.sf call, without importing
    # scipy.stats (half a second, paid by the first job of every sweep). f.sf is 1 below its
    # support, as R's pf(lower = FALSE); fdtrc is NaN there, and an F of a target that no
    # feature explains comes out a rounding error below 0: clipped to 0 (max keeps a NaN).
    from scipy.special import fdtrc, stdtr

    from ermlab.models.ols import OLS

    if not isinstance(estimator, OLS) or estimator.alpha != 0 or not hasattr(estimator, "coef_"):
        return None
    icpt = bool(estimator.fit_intercept)
    n = int(estimator.n_samples_seen_)
    anova = estimator.anova_
    df = int(anova["residual_df"])
    estimate = np.asarray(estimator.coef_with_intercept_, dtype=float)
    se = np.asarray(estimator.stderr_, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = estimate / se
    p = 2 * stdtr(df, -np.abs(t)) if df > 0 else np.full_like(t, np.nan)
    r2 = float(estimator.r2_)
    adj = 1 - (1 - r2) * (n - int(icpt)) / df if df > 0 else math.nan
    num_df = int(anova["regression_df"])
    f = float(anova["f_statistic"]) if num_df > 0 else None
    f_p = float(fdtrc(num_df, df, max(f, 0.0))) if f is not None and df > 0 else None
    residuals = np.asarray(y, dtype=float) - estimator.predict(X)
    return LmSummary(
        formula=formula(feature_names, target_name, icpt, estimator.degree_),
        terms=term_names(feature_names, icpt, estimator.degree_),
        estimate=_floats(estimate),
        std_error=_floats(se),
        t_value=_floats(t),
        p_value=_floats(p),
        residual_quantiles=_floats(np.quantile(residuals, [0, 0.25, 0.5, 0.75, 1])),
        residual_se=float(estimator.residual_sd_),
        df_residual=df,
        r_squared=r2,
        adj_r_squared=float(adj),
        f_statistic=f,
        f_df=(num_df, df),
        f_p_value=f_p,
        n=n,
        rank_deficient=bool(estimator.singular_),
    )


def term_names(feature_names, intercept: bool, degree: int) -> tuple[str, ...]:
    """Coefficient names in ``coef_with_intercept_`` order, as R names them. A column that is
    a power already (NIST's ``x^2``) is R's ``I(x^2)``: in a formula, ``x^2`` alone means
    the interactions of ``x`` with itself, that is ``x``."""
    names = ["(Intercept)"] if intercept else []
    for name in feature_names:
        single = f"I({name})" if re.fullmatch(r"\w+\^\d+", name) else name
        names += [single if k == 1 else f"I({name}^{k})" for k in range(1, degree + 1)]
    return tuple(names)


def formula(feature_names, target_name: str, intercept: bool, degree: int) -> str:
    """``target ~ terms`` as R writes the model (``1`` for intercept only, ``- 1`` for none)."""
    terms = list(term_names(feature_names, False, degree))
    rhs = " + ".join(terms) if terms else "1"
    return f"{target_name} ~ {rhs}" + ("" if intercept else " - 1")


def _floats(values) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=float))


def _sig(value: float | None, digits: int = DIGITS) -> str:
    """``digits`` significant digits, R's ``NA`` for a missing number."""
    if value is None or math.isnan(value):
        return "NA"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return f"{value:.{digits}g}"


def _t(value: float) -> str:
    """A t value as R's ``printCoefmat`` shows it: rounded to 3 decimals, then 4 digits."""
    return _sig(round(value, 3) if math.isfinite(value) else value)


def _p(value: float | None) -> str:
    """A p value as R's ``format.pval`` shows it: ``< 2e-16`` below machine precision."""
    if value is None or math.isnan(value):
        return "NA"
    return "<2e-16" if value < 2e-16 else f"{value:.3g}"


def _stars(p: float) -> str:
    if math.isnan(p):
        return ""
    return next(mark for bound, mark in SIGNIFICANCE if p <= bound).strip()


def _columns(names, cells) -> list[str]:
    width = max(len(c) for c in (*names, *cells))
    return [" ".join(n.rjust(width) for n in names), " ".join(c.rjust(width) for c in cells)]
