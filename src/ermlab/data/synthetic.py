"""Synthetic sources: a known p(x) and p(y|x), so population and Bayes risks are known."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ermlab.config import InputDistConfig, LinearSourceConfig


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


class LinearSource:
    """y = intercept + X @ coef + ε with ε ~ N(0, noise_sd²), X ~ p(x).

    The Bayes predictor under squared loss is the true line, and the Bayes risk is noise_sd².
    """

    task = "regression"

    def __init__(self, cfg: LinearSourceConfig) -> None:
        self.cfg = cfg
        self.feature_names = tuple(cfg.features)
        self.target_name = cfg.target
        self.coef = np.asarray(cfg.coef, dtype=float)
        self.intercept = float(cfg.intercept)
        self.noise_sd = float(cfg.noise_sd)
        self.x = InputDistribution(cfg.x, len(self.coef))

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` i.i.d. points: X (n, p), y (n,)."""
        X = self.x.sample(n, rng)
        y = self.bayes_predict(X) + self.noise_sd * rng.standard_normal(n)
        return X, y

    def sample_chunks(
        self, n: int, rng: np.random.Generator, chunk: int = 1_000_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Draw ``n`` points as consecutive chunks of at most ``chunk`` rows (bounded memory)."""
        for start in range(0, n, chunk):
            yield self.sample(min(chunk, n - start), rng)

    def bayes_predict(self, X: np.ndarray) -> np.ndarray:
        """E[y | x] = intercept + X @ coef, shape (n,)."""
        return self.intercept + X @ self.coef

    def bayes_risk(self, loss: str) -> float | None:
        """σ² for squared loss; E|ε| = σ√(2/π) for absolute loss; ½log(2πeσ²) for Gaussian NLL."""
        s2 = self.noise_sd**2
        if loss == "mse":
            return s2
        if loss == "mae":
            return self.noise_sd * np.sqrt(2 / np.pi)
        if loss == "gaussian_nll" and s2 > 0:
            return 0.5 * np.log(2 * np.pi * np.e * s2)
        return None

    def linear_population_mse(self, intercept: float, coef: np.ndarray) -> float:
        """Exact population MSE of the linear predictor ŷ = intercept + x @ coef.

        R = σ² + E[(d0 + δᵀx)²] with d0 = intercept − θ0, δ = coef − θ, which is
        σ² + (d0 + δᵀμ)² + δᵀΣδ for x with mean μ and covariance Σ.
        """
        delta = np.asarray(coef, dtype=float) - self.coef
        bias = intercept - self.intercept + delta @ self.x.mean
        return float(self.noise_sd**2 + bias**2 + delta @ self.x.cov @ delta)


SOURCES = {"linear": LinearSource}
