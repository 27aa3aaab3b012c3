"""Synthetic sources: a known p(x) and p(y|x), so population and Bayes risks are known.

Seven kinds, one class each, registered in :data:`SOURCES` (``kind`` → class):

==================  ==============================  =========================================
kind                class                           Bayes risks
==================  ==============================  =========================================
linear              :class:`LinearSource`           exact
polynomial          :class:`PolynomialSource`       exact
heteroscedastic     :class:`HeteroscedasticSource`  exact (MSE, MAE); NLL closed form for
                                                    uniform x, adaptive quadrature for normal x
logistic            :class:`LogisticSource`         1-D adaptive quadrature (normal x),
                                                    Monte Carlo (uniform x)
gaussian_classes    :class:`GaussianClassesSource`  closed form / quadrature (two classes,
                                                    shared covariance), else Monte Carlo
xor                 :class:`XorSource`              exact
two_moons           :class:`TwoMoonsSource`         Monte Carlo
==================  ==============================  =========================================

Conventions shared by every source
----------------------------------
* Inputs ``X`` have shape (n, p) (float64), targets ``y`` shape (n,): float64 for regression,
  int64 labels ``0 .. k-1`` for classification (``classes`` = ``np.arange(k)``).
* ``sample(n, rng)`` draws i.i.d. points; ``sample_chunks(n, rng, chunk)`` yields the same
  *distribution* in consecutive chunks. The chunks are ``sample(m, rng)`` calls on the same
  generator, so they are deterministic for a seed and a chunk size, and equal the one-shot draw
  when ``n <= chunk``; for larger ``n`` they differ from ``sample(n, rng)`` in value (a generator
  cannot skip ahead over the inputs to reach the noise of a one-shot draw).
* Monte Carlo Bayes risks average the conditional risk of the Bayes decision over x drawn from
  p(x) with a fixed generator (``numpy.random.default_rng(BAYES_MC_SEED)``), independent of the
  experiment's seed, so a source's Bayes risk is a fixed number; ``bayes_risk_se(loss)`` gives
  its Monte Carlo standard error (0 for exact values).
* Loss names: ``mse``, ``mae``, ``gaussian_nll`` (regression); ``zero_one``, ``cross_entropy``
  (in nats) and ``accuracy`` (the highest attainable, 1 − Bayes zero-one) for classification.
  Any other name, or one of the other task, gives ``None``.

Only numpy is imported with the module; scipy is imported inside the few functions that
integrate numerically, so the ``generate`` stage stays light.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import cached_property

import numpy as np

from ermlab.config import (
    ConfigError,
    GaussianClassesConfig,
    HeteroscedasticSourceConfig,
    InputDistConfig,
    LinearSourceConfig,
    LogisticSourceConfig,
    PolynomialSourceConfig,
    TwoMoonsSourceConfig,
    XorSourceConfig,
)
from ermlab.data.base import DataError

__all__ = [
    "BAYES_MC_SEED",
    "SOURCES",
    "GaussianClassesSource",
    "HeteroscedasticSource",
    "InputDistribution",
    "LinearSource",
    "LogisticSource",
    "PolynomialSource",
    "TwoMoonsSource",
    "XorSource",
]

#: Seed of the fixed generator behind every Monte Carlo Bayes risk (not the experiment seed:
#: the Bayes risk is a property of the source, the same in every run).
BAYES_MC_SEED = 20_240_601
#: A normal input range for :meth:`grid`: mean ± GRID_SD standard deviations (99.7 % of p(x)).
GRID_SD = 3.0
_MC_CHUNK = 100_000  # rows per Monte Carlo chunk: bounded memory for 10^6-point estimates
_LOG_2PI = math.log(2 * math.pi)


# ----------------------------------------------------------------------------- helpers
def _as_inputs(X: np.ndarray, p: int, name: str) -> np.ndarray:
    """``X`` as a float (n, p) array, or a one-line DataError naming the source."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != p:
        raise DataError(f"data source {name}: inputs must have shape (n, {p}), got {X.shape}")
    return X


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """log Σ exp(a) along ``axis``, shifted by the maximum so nothing overflows or underflows."""
    top = np.max(a, axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def _log_sigmoid(s: np.ndarray) -> np.ndarray:
    """log σ(s) = −log(1 + e^{−s}), stable for any s."""
    return -np.logaddexp(0.0, -s)


def _binary_entropy_of_score(s: np.ndarray) -> np.ndarray:
    """H(σ(s)) in nats, written as softplus(−|s|) + |s|·σ(−|s|) so it is stable for large |s|."""
    a = np.abs(s)
    return np.logaddexp(0.0, -a) + a * np.exp(_log_sigmoid(-a))


def _entropy_of_score(s: float) -> float:
    """Scalar H(σ(s)) in nats (the quadrature integrand): same formula as the array version."""
    a = abs(s)
    e = math.exp(-a)
    return math.log1p(e) + a * e / (1 + e)


def _zero_one_of_score(s: float) -> float:
    """Scalar σ(−|s|) = min(p, 1 − p), the conditional zero-one risk of the Bayes decision."""
    e = math.exp(-abs(s))
    return e / (1 + e)


def _binary_entropy(q: float) -> float:
    """H(q) = −q log q − (1 − q) log(1 − q) in nats, with 0·log 0 = 0."""
    return float(-sum(v * math.log(v) for v in (q, 1 - q) if v > 0))


def _normal_expectation(f: Callable[[float], float], mean: float, sd: float) -> float:
    """E f(s) for s ~ N(mean, sd²) by adaptive Gauss–Kronrod quadrature (scipy.integrate.quad).

    The range is mean ± 12 sd (the tails beyond hold < 1e-32 of the mass) and is split at s = 0,
    where the integrands used here (σ(−|s|), log(a + b|s|)) have a kink or a log singularity:
    Gauss–Hermite nodes straddling such a kink converge only algebraically (errors ~1e-3 at 100
    nodes), adaptive quadrature on either side reaches ~1e-12.
    """
    if sd == 0:
        return float(f(mean))
    from scipy.integrate import quad

    lo, hi = mean - 12 * sd, mean + 12 * sd
    cuts = [lo, 0.0, hi] if lo < 0.0 < hi else [lo, hi]
    norm = 1 / (sd * math.sqrt(2 * math.pi))

    def integrand(s: float) -> float:
        return f(s) * norm * math.exp(-0.5 * ((s - mean) / sd) ** 2)

    return float(
        sum(
            quad(integrand, a, b, epsabs=1e-14, epsrel=1e-12, limit=500)[0]
            for a, b in zip(cuts[:-1], cuts[1:], strict=True)
        )
    )


def _mc_mean_se(
    batches: Iterator[tuple[np.ndarray, ...]], names: tuple[str, ...]
) -> dict[str, tuple[float, float]]:
    """Monte Carlo means and standard errors of per-point values streamed in batches.

    Each batch is a tuple of 1-D arrays, one per name; returns name → (mean, standard error).
    """
    sums = np.zeros((len(names), 2))  # per quantity: Σv, Σv²
    n = 0
    for values in batches:
        n += len(values[0])
        for row, v in enumerate(values):
            sums[row] += v.sum(), (v**2).sum()
    mean = sums[:, 0] / n
    se = np.sqrt(np.maximum(sums[:, 1] / n - mean**2, 0) / (n - 1))
    return {name: (float(m), float(e)) for name, m, e in zip(names, mean, se, strict=True)}


def _is_rectangular(matrices: list, p: int) -> bool:
    """Whether ``matrices`` is a list of p×p nested lists (so np.array gives (k, p, p))."""
    return all(len(m) == p and all(len(row) == p for row in m) for m in matrices)


def _normal_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


# ------------------------------------------------------------------------------- p(x)
class InputDistribution:
    """p(x) for a vector input: independent normals, a correlated normal, or independent uniforms.

    Knows its mean (p,) and covariance (p, p), which the exact population risk of a linear
    predictor needs.
    """

    def __init__(self, cfg: InputDistConfig, p: int) -> None:
        self.kind = cfg.dist
        self.p = p
        if self.kind == "normal":
            self.mean = np.asarray(cfg.mean, dtype=float)
            self.cov = (
                np.diag(np.asarray(cfg.sd, dtype=float) ** 2)
                if cfg.cov is None
                else np.asarray(cfg.cov, dtype=float)
            )
            # Cholesky of a PSD matrix that may be singular: eigen-decomposition is robust.
            w, v = np.linalg.eigh(self.cov)
            if w.min() < -1e-12 * max(1.0, w.max()):
                raise ValueError("data.x.cov is not positive semi-definite")
            self._factor = v * np.sqrt(np.clip(w, 0, None))
        else:
            self.low = np.asarray(cfg.low, dtype=float)
            self.high = np.asarray(cfg.high, dtype=float)
            self.mean = (self.low + self.high) / 2
            self.cov = np.diag((self.high - self.low) ** 2 / 12)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw X of shape (n, p)."""
        if self.kind == "normal":
            return self.mean + rng.standard_normal((n, self.p)) @ self._factor.T
        return rng.uniform(self.low, self.high, size=(n, self.p))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The input range, two arrays of shape (p,): [low, high] for uniforms, mean ± GRID_SD
        standard deviations for normals (p(x) has unbounded support; 99.7 % lies inside)."""
        if self.kind == "normal":
            half = GRID_SD * np.sqrt(np.diag(self.cov))
            return self.mean - half, self.mean + half
        return self.low.copy(), self.high.copy()


# ------------------------------------------------------------------------- base class
class _Source:
    """What every source shares: chunked sampling, the one-input grid, the risk bookkeeping.

    Subclasses set ``task``, ``feature_names``, ``target_name`` and implement ``sample``,
    ``sample_at``, ``bayes_predict``, ``_compute_bayes_risks`` (loss → (value, standard
    error)) and ``_bounds`` (input range for :meth:`grid`).
    """

    task: str
    feature_names: tuple[str, ...]
    target_name: str
    kind: str

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def sample_chunks(
        self, n: int, rng: np.random.Generator, chunk: int = 1_000_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Draw ``n`` points as consecutive chunks of at most ``chunk`` rows (bounded memory).

        Parameters
        ----------
        n : total number of points (>= 0).
        rng : the generator; consumed chunk by chunk.
        chunk : rows per chunk (>= 1); only one chunk is alive at a time if the consumer drops
            it before asking for the next.

        Yields
        ------
        (X, y) with X of shape (m, p) and y of shape (m,), m = chunk except possibly the last.
        Each chunk is ``sample(m, rng)``: deterministic for a seed and a chunk size, the same
        distribution as one ``sample(n, rng)`` call, but not the same numbers once n > chunk.
        """
        if n < 0 or chunk < 1:
            raise ValueError(f"sample_chunks needs n >= 0 and chunk >= 1, got n={n}, chunk={chunk}")
        for start in range(0, n, chunk):
            yield self.sample(min(chunk, n - start), rng)

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def grid(self, n: int) -> np.ndarray:
        """``n`` evenly spaced inputs over the input range, endpoints included, shape (n, 1).

        The range is [low, high] for a uniform input and mean ± 3 sd for a normal one.

        Raises
        ------
        DataError for a source with more than one input.
        """
        p = len(self.feature_names)
        if p != 1:
            raise DataError(
                f"data source {self.kind}: an evenly spaced grid needs one input, this source "
                f"has {p} ({', '.join(self.feature_names)})"
            )
        low, high = self._bounds()
        return np.linspace(float(low[0]), float(high[0]), n)[:, None]

    def _compute_bayes_risks(self) -> dict[str, tuple[float, float]]:
        """loss → (Bayes risk, its standard error); losses without a finite risk are left out."""
        raise NotImplementedError

    @cached_property
    def _bayes_risks(self) -> dict[str, tuple[float, float]]:
        # Quadrature and 10^6-point Monte Carlo are not free: computed once per source.
        return self._compute_bayes_risks()

    def bayes_risk(self, loss: str) -> float | None:
        """The Bayes risk for ``loss`` (see the class docstring for how it is computed);
        ``None`` where the loss does not apply to this source or the risk is not finite."""
        value = self._bayes_risks.get(loss)
        return None if value is None else value[0]

    def bayes_risk_se(self, loss: str) -> float | None:
        """Standard error of :meth:`bayes_risk` (0.0 for closed-form or quadrature values,
        the Monte Carlo standard error otherwise); ``None`` where the risk is ``None``."""
        value = self._bayes_risks.get(loss)
        return None if value is None else value[1]


class _GaussianNoiseRegression(_Source):
    """Regression with y | x ~ N(m(x), s²) for a constant s: the Bayes risks are exact."""

    task = "regression"
    noise_sd: float

    def _compute_bayes_risks(self) -> dict[str, tuple[float, float]]:
        s = self.noise_sd
        risks = {"mse": (s**2, 0.0), "mae": (s * math.sqrt(2 / math.pi), 0.0)}
        if s > 0:  # a point mass has no density: no finite NLL
            risks["gaussian_nll"] = (0.5 * math.log(2 * math.pi * math.e * s**2), 0.0)
        return risks


# -------------------------------------------------------------------------- regression
class LinearSource(_GaussianNoiseRegression):
    """y = intercept + X @ coef + ε with ε ~ N(0, noise_sd²), X ~ p(x).

    The Bayes predictor under squared (and absolute) loss is the true line; the Bayes risks are
    noise_sd² (MSE), noise_sd·√(2/π) (MAE) and ½log(2πe·noise_sd²) (Gaussian NLL).

    Parameters
    ----------
    cfg : LinearSourceConfig
    """

    kind = "linear"

    def __init__(self, cfg: LinearSourceConfig) -> None:
        self.cfg = cfg
        self.feature_names = tuple(cfg.features)
        self.target_name = cfg.target
        self.coef = np.asarray(cfg.coef, dtype=float)
        self.intercept = float(cfg.intercept)
        self.noise_sd = float(cfg.noise_sd)
        self.x = InputDistribution(cfg.x, len(self.coef))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points: X (n, p), y (n,). Inputs first, then the noise."""
        X = self.x.sample(n, rng)
        return X, self.sample_at(X, rng)

    def sample_at(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Targets y (n,) from p(y | x) at given inputs X (n, p)."""
        X = _as_inputs(X, len(self.coef), self.kind)
        return self.bayes_predict(X) + self.noise_sd * rng.standard_normal(len(X))

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x.bounds()

    def bayes_predict(self, X: np.ndarray) -> np.ndarray:
        """E[y | x] = intercept + X @ coef, shape (n,)."""
        return self.intercept + X @ self.coef

    def linear_population_mse(self, intercept: float, coef: np.ndarray) -> float:
        """Exact population MSE of the linear predictor ŷ = intercept + x @ coef.

        R = σ² + E[(d0 + δᵀx)²] with d0 = intercept − θ0, δ = coef − θ, which is
        σ² + (d0 + δᵀμ)² + δᵀΣδ for x with mean μ and covariance Σ.
        """
        delta = np.asarray(coef, dtype=float) - self.coef
        bias = intercept - self.intercept + delta @ self.x.mean
        return float(self.noise_sd**2 + bias**2 + delta @ self.x.cov @ delta)


class PolynomialSource(_GaussianNoiseRegression):
    """t = f(x) + ε, ε ~ N(0, noise_sd²), x ~ U(low, high): Bishop's PRML §1.1 by default.

    ``f`` is sin(2πx) (``function: sin2pi``) or Σ_k coef[k]·x^k (``function: poly``).
    :meth:`sample` is always i.i.d. uniform; the training design (``design``) is honoured by
    :meth:`sample_train`, which on ``grid`` puts the inputs at :meth:`grid` (Bishop's evenly
    spaced x_n). Bayes risks: noise_sd² (MSE), noise_sd·√(2/π) (MAE), ½log(2πe·noise_sd²) (NLL).

    Parameters
    ----------
    cfg : PolynomialSourceConfig
    """

    kind = "polynomial"

    def __init__(self, cfg: PolynomialSourceConfig) -> None:
        self.cfg = cfg
        self.feature_names = (cfg.feature,)
        self.target_name = cfg.target
        self.function = cfg.function
        self.coef = np.asarray(cfg.coef, dtype=float)
        self.low, self.high = float(cfg.low), float(cfg.high)
        self.design = cfg.design
        self.noise_sd = float(cfg.noise_sd)

    def f(self, x: np.ndarray) -> np.ndarray:
        """The regression function at x (any shape, elementwise)."""
        if self.function == "sin2pi":
            return np.sin(2 * np.pi * x)
        return np.polynomial.polynomial.polyval(x, self.coef)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points, x ~ U(low, high): X (n, 1), t (n,)."""
        X = rng.uniform(self.low, self.high, size=(n, 1))
        return X, self.sample_at(X, rng)

    def sample_train(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The training sample the ``design`` asks for: X (n, 1), t (n,).

        ``grid``: X = :meth:`grid` (n) and noisy targets drawn at those inputs; ``uniform``:
        the same as :meth:`sample`.
        """
        if self.design == "grid":
            X = self.grid(n)
            return X, self.sample_at(X, rng)
        return self.sample(n, rng)

    def sample_at(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Targets t (n,) from p(t | x) at given inputs X (n, 1)."""
        X = _as_inputs(X, 1, self.kind)
        return self.bayes_predict(X) + self.noise_sd * rng.standard_normal(len(X))

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([self.low]), np.array([self.high])

    def bayes_predict(self, X: np.ndarray) -> np.ndarray:
        """E[t | x] = f(x), shape (n,)."""
        return self.f(np.asarray(X, dtype=float)[:, 0])


class HeteroscedasticSource(_Source):
    """y = intercept + slope·x + sd(x)·z, z ~ N(0, 1), sd(x) = noise_sd + noise_slope·|x|.

    One input x ~ ``cfg.x`` (normal or uniform). The Bayes predictor (squared and absolute loss)
    is the line. With a = noise_sd, b = noise_slope:

    * MSE: E[sd(x)²] = a² + 2ab·E|x| + b²·E[x²], exact, with E|x| and E[x²] in closed form:
      uniform on [l, h]: E|x| = (h|h| − l|l|) / (2(h − l)), E[x²] = (h² + hl + l²)/3;
      normal N(μ, s²): E|x| = s√(2/π)·exp(−μ²/2s²) + μ(1 − 2Φ(−μ/s)), E[x²] = μ² + s².
    * MAE: E|sd(x)·z| = E[sd(x)]·√(2/π) = (a + b·E|x|)·√(2/π), exact.
    * Gaussian NLL of the true predictive density: E[½log(2π·sd(x)²) + ½] = ½log 2π + ½ +
      E[log sd(x)]. For uniform x, E[log(a + b|x|)] is integrated in closed form; for normal x,
      by adaptive Gauss–Kronrod quadrature (scipy.integrate.quad) on mean ± 12 sd split at
      x = 0 (the kink of |x|), accurate to ~1e-12. ``None`` when sd(x) = 0 with positive
      probability.

    Parameters
    ----------
    cfg : HeteroscedasticSourceConfig
    """

    task = "regression"
    kind = "heteroscedastic"

    def __init__(self, cfg: HeteroscedasticSourceConfig) -> None:
        self.cfg = cfg
        self.feature_names = (cfg.feature,)
        self.target_name = cfg.target
        self.x = InputDistribution(cfg.x, 1)
        self.intercept, self.slope = float(cfg.intercept), float(cfg.slope)
        self.noise_sd, self.noise_slope = float(cfg.noise_sd), float(cfg.noise_slope)

    def sd(self, X: np.ndarray) -> np.ndarray:
        """The noise standard deviation sd(x), shape (n,), for X (n, 1)."""
        return self.noise_sd + self.noise_slope * np.abs(np.asarray(X, dtype=float)[:, 0])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points: X (n, 1), y (n,). Inputs first, then the noise."""
        X = self.x.sample(n, rng)
        return X, self.sample_at(X, rng)

    def sample_at(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Targets y (n,) from p(y | x) at given inputs X (n, 1)."""
        X = _as_inputs(X, 1, self.kind)
        return self.bayes_predict(X) + self.sd(X) * rng.standard_normal(len(X))

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x.bounds()

    def bayes_predict(self, X: np.ndarray) -> np.ndarray:
        """E[y | x] = intercept + slope·x, shape (n,) (also the conditional median)."""
        return self.intercept + self.slope * np.asarray(X, dtype=float)[:, 0]

    def _abs_moments(self) -> tuple[float, float]:
        """(E|x|, E[x²]) in closed form."""
        if self.x.kind == "uniform":
            lo, hi = float(self.x.low[0]), float(self.x.high[0])
            return (hi * abs(hi) - lo * abs(lo)) / (2 * (hi - lo)), (hi**2 + hi * lo + lo**2) / 3
        mu, s = float(self.x.mean[0]), math.sqrt(float(self.x.cov[0, 0]))
        if s == 0:
            return abs(mu), mu**2
        e_abs = s * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * s**2)) + mu * (
            1 - 2 * _normal_cdf(-mu / s)
        )
        return e_abs, mu**2 + s**2

    def _mean_log_sd(self) -> float:
        """E[log(a + b|x|)]; −inf when sd(x) = 0 with positive probability (or a = b = 0)."""
        a, b = self.noise_sd, self.noise_slope
        if b == 0:
            return math.log(a) if a > 0 else -math.inf
        if self.x.kind == "uniform":
            lo, hi = float(self.x.low[0]), float(self.x.high[0])

            def antiderivative(u: float) -> float:  # ∫_0^u log(a + b v) dv for u >= 0
                end = a + b * u
                start = a * math.log(a) if a > 0 else 0.0  # 0·log 0 = 0
                return ((end * math.log(end) if end > 0 else 0.0) - start - b * u) / b

            def signed(x: float) -> float:  # ∫_0^x log(a + b|v|) dv, any sign of x
                return antiderivative(x) if x >= 0 else -antiderivative(-x)

            return (signed(hi) - signed(lo)) / (hi - lo)
        mu, s = float(self.x.mean[0]), math.sqrt(float(self.x.cov[0, 0]))
        if s == 0 and a + b * abs(mu) == 0:
            return -math.inf
        return _normal_expectation(lambda x: math.log(a + b * abs(x)), mu, s)

    def _compute_bayes_risks(self) -> dict[str, tuple[float, float]]:
        a, b = self.noise_sd, self.noise_slope
        e_abs, e_sq = self._abs_moments()
        risks = {
            "mse": (a**2 + 2 * a * b * e_abs + b**2 * e_sq, 0.0),
            "mae": ((a + b * e_abs) * math.sqrt(2 / math.pi), 0.0),
        }
        mean_log_sd = self._mean_log_sd()
        if math.isfinite(mean_log_sd):
            risks["gaussian_nll"] = (0.5 * _LOG_2PI + 0.5 + mean_log_sd, 0.0)
        return risks


# ---------------------------------------------------------------------- classification
class _Classifier(_Source):
    """A k-class source: the Bayes posterior p(c | x) is known; labels are 0..k−1.

    Subclasses implement ``sample`` and ``_log_proba`` (log posterior, (n, k)); the Bayes risks
    default to Monte Carlo over ``_mc_n`` inputs from p(x) (fixed generator, BAYES_MC_SEED):
    zero-one = E[1 − max_c p(c|x)], cross-entropy = E[−Σ_c p(c|x) log p(c|x)], the conditional
    risks of the Bayes decision averaged over x (lower variance than counting label errors).
    """

    task = "classification"
    classes: np.ndarray
    _mc_n = 1_000_000

    def _log_proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def bayes_proba(self, X: np.ndarray) -> np.ndarray:
        """The Bayes posterior p(c | x), shape (n, k), columns ordered as ``classes``."""
        X = _as_inputs(X, len(self.feature_names), self.kind)
        return np.exp(self._log_proba(X))

    def bayes_predict(self, X: np.ndarray) -> np.ndarray:
        """The Bayes classifier argmax_c p(c | x), int64 labels of shape (n,) (ties → the
        smaller label; they have probability zero)."""
        X = _as_inputs(X, len(self.feature_names), self.kind)
        return np.argmax(self._log_proba(X), axis=1).astype(np.int64)

    def sample_at(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Labels y (n,) from p(y | x) at given inputs X (n, p): one uniform per row, inverted
        through the cumulative posterior."""
        proba = self.bayes_proba(X)
        u = rng.random(len(proba))
        y = (u[:, None] >= np.cumsum(proba, axis=1)[:, :-1]).sum(axis=1)
        return y.astype(np.int64)

    def _mc_risks(self, n: int) -> dict[str, tuple[float, float]]:
        """Monte Carlo zero-one and cross-entropy over n inputs from the fixed generator."""
        rng = np.random.default_rng(BAYES_MC_SEED)

        def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for X, _ in self.sample_chunks(n, rng, _MC_CHUNK):
                log_p = self._log_proba(X)
                p = np.exp(log_p)
                yield 1 - p.max(axis=1), -np.sum(np.where(p > 0, p * log_p, 0.0), axis=1)

        return _mc_mean_se(batches(), ("zero_one", "cross_entropy"))

    def _exact_risks(self) -> dict[str, tuple[float, float]] | None:
        """Subclasses with closed forms or quadrature return them here (None: Monte Carlo)."""
        return None

    def _compute_bayes_risks(self) -> dict[str, tuple[float, float]]:
        risks = self._exact_risks()
        if risks is None:
            risks = self._mc_risks(self._mc_n)
        zero_one = risks["zero_one"]
        return {**risks, "accuracy": (1 - zero_one[0], zero_one[1])}


class LogisticSource(_Classifier):
    """Binary y ∈ {0, 1} with p(y = 1 | x) = σ(s), s = intercept + coef·x, x ~ ``cfg.x``.

    The Bayes classifier is 1[p > ½] (i.e. s > 0). Bayes zero-one = E[min(p, 1 − p)] =
    E[σ(−|s|)]; Bayes cross-entropy = E[H(σ(s))], the binary entropy in nats.

    * normal x: s is Gaussian, N(intercept + coefᵀμ, coefᵀΣ coef), and both expectations are 1-D
      integrals over s, done by adaptive Gauss–Kronrod quadrature (scipy.integrate.quad) on
      mean ± 12 sd split at the kink s = 0: accurate to ~1e-12 (Gauss–Hermite, which does not
      see the kink of σ(−|s|), is only good to ~1e-3 there).
    * uniform x: Monte Carlo over 10^6 inputs from the fixed generator (BAYES_MC_SEED),
      averaging σ(−|s|) and H(σ(s)); ``bayes_risk_se`` gives the standard error (~1e-4).

    Parameters
    ----------
    cfg : LogisticSourceConfig
    """

    kind = "logistic"

    def __init__(self, cfg: LogisticSourceConfig) -> None:
        self.cfg = cfg
        self.feature_names = tuple(cfg.features)
        self.target_name = cfg.target
        self.classes = np.arange(2)
        self.intercept = float(cfg.intercept)
        self.coef = np.asarray(cfg.coef, dtype=float)
        self.x = InputDistribution(cfg.x, len(self.coef))

    def score(self, X: np.ndarray) -> np.ndarray:
        """The log-odds s = intercept + X @ coef, shape (n,)."""
        return self.intercept + np.asarray(X, dtype=float) @ self.coef

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points: X (n, p) then int64 labels y (n,)."""
        X = self.x.sample(n, rng)
        return X, self.sample_at(X, rng)

    def sample_at(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Labels y (n,): 1 where a uniform falls below σ(s(x))."""
        X = _as_inputs(X, len(self.coef), self.kind)
        return (rng.random(len(X)) < np.exp(_log_sigmoid(self.score(X)))).astype(np.int64)

    def _log_proba(self, X: np.ndarray) -> np.ndarray:
        s = self.score(X)
        return np.column_stack([_log_sigmoid(-s), _log_sigmoid(s)])

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.x.bounds()

    def _exact_risks(self) -> dict[str, tuple[float, float]]:
        if self.x.kind == "normal":
            mean = self.intercept + float(self.coef @ self.x.mean)
            sd = math.sqrt(max(float(self.coef @ self.x.cov @ self.coef), 0.0))
            zero_one = _normal_expectation(_zero_one_of_score, mean, sd)
            entropy = _normal_expectation(_entropy_of_score, mean, sd)
            return {"zero_one": (zero_one, 0.0), "cross_entropy": (entropy, 0.0)}
        # Uniform inputs: the law of s has no handy form for p > 1; average over s directly.
        rng = np.random.default_rng(BAYES_MC_SEED)

        def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for start in range(0, self._mc_n, _MC_CHUNK):
                s = self.score(self.x.sample(min(_MC_CHUNK, self._mc_n - start), rng))
                yield np.exp(_log_sigmoid(-np.abs(s))), _binary_entropy_of_score(s)

        return _mc_mean_se(batches(), ("zero_one", "cross_entropy"))


class GaussianClassesSource(_Classifier):
    """k classes with priors π_c and class-conditionals N(μ_c, Σ_c) (Σ_c = ``cov`` for all c
    unless ``covs`` is given); labels 0..k−1.

    The posterior is computed from log-densities (Cholesky factors, vectorised) and normalised
    with log-sum-exp; the Bayes classifier is its argmax.

    Bayes risks:

    * two classes, shared covariance: with Δ² = (μ1 − μ0)ᵀΣ⁻¹(μ1 − μ0) and c = log(π1/π0), the
      log posterior odds are D(x) + c with D ~ N(+Δ²/2, Δ²) under class 1 and N(−Δ²/2, Δ²) under
      class 0, so the Bayes zero-one risk is exactly
      π0·Φ(−Δ/2 + c/Δ) + π1·Φ(−Δ/2 − c/Δ)  (min(π0, π1) when Δ = 0),
      and the cross-entropy E[H(σ(D + c))] is a 1-D integral under each class, done by adaptive
      quadrature (scipy.integrate.quad, ~1e-12).
    * otherwise: Monte Carlo over 10^6 inputs from p(x) with the fixed generator
      (BAYES_MC_SEED): E[1 − max_c p(c|x)] and E[H(p(·|x))]; ``bayes_risk_se`` gives the
      standard errors.

    Parameters
    ----------
    cfg : GaussianClassesConfig

    Raises
    ------
    ConfigError if a covariance matrix is not p×p symmetric positive definite.
    """

    kind = "gaussian_classes"

    def __init__(self, cfg: GaussianClassesConfig) -> None:
        self.cfg = cfg
        self.feature_names = tuple(cfg.features)
        self.target_name = cfg.target
        self.priors = np.asarray(cfg.priors, dtype=float)
        self.means = np.asarray(cfg.means, dtype=float)
        k, p = self.means.shape
        self.classes = np.arange(k)
        covs = [cfg.cov] * k if cfg.covs is None else cfg.covs
        self.covs = np.array(covs, dtype=float) if _is_rectangular(covs, p) else np.empty(0)
        key = "data.cov" if cfg.covs is None else "data.covs"
        if self.covs.shape != (k, p, p):
            raise ConfigError(f"{key}={covs!r} is not allowed: {k} {p}x{p} matrices")
        self.shared = bool(np.all(self.covs == self.covs[0]))
        self._chol = []
        for c, cov in enumerate(self.covs):
            try:
                if not np.allclose(cov, cov.T):
                    raise np.linalg.LinAlgError
                self._chol.append(np.linalg.cholesky(cov))
            except np.linalg.LinAlgError:
                where = key if cfg.covs is None else f"data.covs[{c}]"
                raise ConfigError(
                    f"{where}={cov.tolist()!r} is not allowed: a symmetric positive definite matrix"
                ) from None
        self._log_det = np.array([2 * np.log(np.diag(L)).sum() for L in self._chol])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points: labels from the priors first, then X (n, p) given them."""
        # Inverse CDF of the label: one uniform per point (faster than Generator.choice).
        y = np.searchsorted(np.cumsum(self.priors)[:-1], rng.random(n), side="right")
        y = y.astype(np.int64)
        Z = rng.standard_normal((n, self.means.shape[1]))
        X = self.means[y]
        if self.shared:
            X += Z @ self._chol[0].T
        else:
            for c, L in enumerate(self._chol):
                rows = y == c
                X[rows] += Z[rows] @ L.T
        return X, y

    def log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """log p(x | c) for every class, shape (n, k)."""
        X = _as_inputs(X, self.means.shape[1], self.kind)
        out = np.empty((len(X), len(self.priors)))
        p = X.shape[1]
        for c, L in enumerate(self._chol):
            # z = L⁻¹(x − μ_c): the Mahalanobis distance is |z|², no explicit inverse needed.
            z = np.linalg.solve(L, (X - self.means[c]).T)
            out[:, c] = -0.5 * (np.sum(z**2, axis=0) + self._log_det[c] + p * _LOG_2PI)
        return out

    def _log_proba(self, X: np.ndarray) -> np.ndarray:
        joint = self.log_likelihood(X) + np.log(self.priors)
        return joint - _logsumexp(joint, axis=1)[:, None]

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        half = GRID_SD * np.sqrt(np.diagonal(self.covs, axis1=1, axis2=2))
        return (self.means - half).min(axis=0), (self.means + half).max(axis=0)

    def mahalanobis(self) -> float:
        """Δ = ‖μ1 − μ0‖ in the metric Σ⁻¹ (two classes, shared covariance)."""
        z = np.linalg.solve(self._chol[0], self.means[1] - self.means[0])
        return float(np.sqrt(z @ z))

    def _exact_risks(self) -> dict[str, tuple[float, float]] | None:
        if len(self.priors) != 2 or not self.shared:
            return None
        pi0, pi1 = self.priors
        delta = self.mahalanobis()
        c = math.log(pi1 / pi0)
        if delta == 0:
            zero_one = min(pi0, pi1)
        else:
            zero_one = pi0 * _normal_cdf(-delta / 2 + c / delta) + pi1 * _normal_cdf(
                -delta / 2 - c / delta
            )
        half = delta**2 / 2
        cross_entropy = float(
            pi0 * _normal_expectation(_entropy_of_score, c - half, delta)
            + pi1 * _normal_expectation(_entropy_of_score, c + half, delta)
        )
        return {"zero_one": (float(zero_one), 0.0), "cross_entropy": (cross_entropy, 0.0)}


class XorSource(_Classifier):
    """x ~ U([−1, 1]²), clean label 1[x1·x2 > 0], flipped with probability ``flip`` (< ½).

    p(y = 1 | x) = 1 − flip on the quadrants where x1·x2 > 0, flip elsewhere; the Bayes
    classifier is the clean label. Bayes zero-one = flip and Bayes cross-entropy = H(flip)
    (binary entropy in nats; 0 when flip = 0), both exact.

    Parameters
    ----------
    cfg : XorSourceConfig
    """

    kind = "xor"

    def __init__(self, cfg: XorSourceConfig) -> None:
        self.cfg = cfg
        self.feature_names = tuple(cfg.features)
        self.target_name = cfg.target
        self.classes = np.arange(2)
        self.flip = float(cfg.flip)
        if len(self.feature_names) != 2:
            raise ConfigError(
                f"data.features={list(self.feature_names)!r} is not allowed: two names (x1, x2)"
            )

    @staticmethod
    def clean_label(X: np.ndarray) -> np.ndarray:
        """1[x1·x2 > 0], int64 of shape (n,)."""
        return (X[:, 0] * X[:, 1] > 0).astype(np.int64)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points: X (n, 2) uniform on the square, then the labels."""
        X = rng.uniform(-1.0, 1.0, size=(n, 2))
        return X, self.sample_at(X, rng)

    def sample_at(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Labels y (n,): the clean label, flipped where a uniform falls below ``flip``."""
        X = _as_inputs(X, 2, self.kind)
        return self.clean_label(X) ^ (rng.random(len(X)) < self.flip).astype(np.int64)

    def _log_proba(self, X: np.ndarray) -> np.ndarray:
        clean = self.clean_label(X)
        with np.errstate(divide="ignore"):  # flip = 0: log 0 = −inf is the right answer
            p1 = np.where(clean == 1, 1 - self.flip, self.flip)
            return np.log(np.column_stack([1 - p1, p1]))

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([-1.0, -1.0]), np.array([1.0, 1.0])

    def _exact_risks(self) -> dict[str, tuple[float, float]]:
        return {"zero_one": (self.flip, 0.0), "cross_entropy": (_binary_entropy(self.flip), 0.0)}


class TwoMoonsSource(_Classifier):
    """Two interleaved half circles (scikit-learn's make_moons geometry), priors ½ each.

    The angle t ~ U(0, π); class 0 lies at arc_0(t) = (cos t, sin t), class 1 at
    arc_1(t) = (1 − cos t, ½ − sin t); x = arc_c(t) + N(0, σ² I). Hence

        p(x | c) = (1/π) ∫_0^π N(x; arc_c(t), σ² I) dt,

    computed by Gauss–Legendre quadrature in t with ``n_nodes = max(100, ⌈20/σ⌉)`` nodes
    (100 at σ = 0.2; the integrand is a bump of width ~σ/√|x| in t, so the count scales with
    1/σ). Against 3000 nodes the log-density differs by < 1e-8 for σ in [0.02, 1], on the
    moons and on points up to 4 units away. Terms are summed in log space (log-sum-exp) so
    far-away points keep a finite posterior. The Bayes posterior is p(c | x) ∝ p(x | c) (equal
    priors), the Bayes classifier its argmax.

    Bayes zero-one E[1 − max_c p(c|x)] and cross-entropy E[H(p(·|x))] are Monte Carlo averages
    over 2·10^5 inputs from p(x) with the fixed generator (BAYES_MC_SEED); ``bayes_risk_se``
    gives their standard errors.

    Parameters
    ----------
    cfg : TwoMoonsSourceConfig
    """

    kind = "two_moons"
    _mc_n = 200_000
    _ROWS = 4096  # rows per block in the (rows × nodes) quadrature: ~7 MB temporaries

    def __init__(self, cfg: TwoMoonsSourceConfig) -> None:
        self.cfg = cfg
        self.feature_names = tuple(cfg.features)
        self.target_name = cfg.target
        self.classes = np.arange(2)
        self.noise_sd = float(cfg.noise_sd)
        if len(self.feature_names) != 2:
            raise ConfigError(
                f"data.features={list(self.feature_names)!r} is not allowed: two names (x1, x2)"
            )
        self.n_nodes = max(100, math.ceil(20 / self.noise_sd))
        u, w = np.polynomial.legendre.leggauss(self.n_nodes)
        t = np.pi / 2 * (u + 1)
        # (1/π)·∫_0^π g dt ≈ Σ_j (w_j/2)·g(t_j): nodes mapped from [−1, 1] to [0, π].
        log_w = np.log(w / 2)
        arcs = np.concatenate([self.arc(0, t), self.arc(1, t)])  # (2·nodes, 2): class 0, 1
        # −|x − a|²/2σ² = (x·a)/σ² − |a|²/2σ² − |x|²/2σ²: the last term is the same for every
        # node, so it leaves the log-sum-exp and each block is one matrix product (BLAS).
        s2 = self.noise_sd**2
        self._node_x = arcs.T / s2  # (2, 2·nodes)
        self._node_const = np.tile(log_w, 2) - np.sum(arcs**2, axis=1) / (2 * s2)

    @staticmethod
    def arc(c: int, t: np.ndarray) -> np.ndarray:
        """The noiseless point of class ``c`` at angle t, shape t.shape + (2,)."""
        if c == 0:
            return np.stack([np.cos(t), np.sin(t)], axis=-1)
        return np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=-1)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points: labels, angles, then noise; X (n, 2), y (n,)."""
        y = rng.integers(0, 2, size=n, dtype=np.int64)
        t = rng.uniform(0.0, np.pi, size=n)
        arcs = np.where((y == 0)[:, None], self.arc(0, t), self.arc(1, t))
        return arcs + self.noise_sd * rng.standard_normal((n, 2)), y

    def log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """log p(x | c) for c = 0, 1 by Gauss–Legendre quadrature in t, shape (n, 2)."""
        X = _as_inputs(X, 2, self.kind)
        s2 = self.noise_sd**2
        out = np.empty((len(X), 2))
        m = self.n_nodes
        for start in range(0, len(X), self._ROWS):
            block = X[start : start + self._ROWS]
            # Broadcast rather than matmul: BLAS is slow for an inner dimension of 2.
            a = block[:, :1] * self._node_x[0]
            a += block[:, 1:] * self._node_x[1]
            a += self._node_const
            a = a.reshape(len(block), 2, m)
            top = a.max(axis=2, keepdims=True)
            a -= top
            np.exp(a, out=a)
            out[start : start + len(block)] = top[:, :, 0] + np.log(a.sum(axis=2))
        out -= (np.sum(X**2, axis=1) / (2 * s2))[:, None] + math.log(2 * math.pi * s2)
        return out

    def _log_proba(self, X: np.ndarray) -> np.ndarray:
        ll = self.log_likelihood(X)
        return ll - _logsumexp(ll, axis=1)[:, None]

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        pad = GRID_SD * self.noise_sd
        return np.array([-1.0 - pad, -0.5 - pad]), np.array([2.0 + pad, 1.0 + pad])


SOURCES: dict[str, type[_Source]] = {
    "linear": LinearSource,
    "polynomial": PolynomialSource,
    "heteroscedastic": HeteroscedasticSource,
    "logistic": LogisticSource,
    "gaussian_classes": GaussianClassesSource,
    "xor": XorSource,
    "two_moons": TwoMoonsSource,
}
