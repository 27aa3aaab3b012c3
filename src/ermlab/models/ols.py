"""ermlab's own least-squares estimator: accurate, fast on tall data, and streamable.

How ``OLS`` solves ``min ||y - A b||² (+ penalty)`` with ``A = [1, Φ]`` (Φ the expanded inputs):

1. **Well-conditioned working basis.** Each input column ``x_j`` is shifted and scaled,
   ``t_j = (x_j - c_j) / s_j`` (so ``t_j`` lies in [-1, 1]), *before* powers are formed; the
   working design is ``Z = [1, t_j, t_j², ..., t_j^d, ...]``. Monomials of a centred, scaled
   variable are far better conditioned than raw ones (Filip: raw cond ~1e15, ``Z`` ~1e6).
   ``Z = A M`` exactly for an upper-triangular ``M`` (binomial expansion), so raw
   coefficients are ``b = M a``; ``M`` is built in extended precision (``np.longdouble``).
2. **Blocked TSQR.** ``[Z, y]`` is factored chunk by chunk (Householder QR of the previous R
   stacked on the next chunk), which is the streaming path (``partial_fit``/``fit_chunks``,
   memory O(chunk · p)) and also the fast path of ``fit``: LAPACK ``geqrf`` on cache-sized
   blocks beats one SVD-based ``gelsd`` call on the whole matrix.
3. **Iterative refinement in the raw basis** (``fit`` only, the data are at hand): residuals
   ``r = y - A b`` and ``g = Aᵀ r`` are recomputed in extended precision from the raw inputs and
   corrected by ``δb = M R⁻¹ R⁻ᵀ Mᵀ g`` (corrected semi-normal equations, R from step 2). The
   fixed point is the least-squares solution of the raw problem to ~longdouble accuracy times
   the raw condition number; ``R`` only acts as a preconditioner, so the rounding incurred when
   forming ``Z`` does not matter. Large, well-conditioned problems refine with BLAS in double.

Rank is decided on the column-equilibrated R of the working basis, so an ill-conditioned but
full-rank design (Filip) is not mistaken for a singular one; a truly singular design gets the
minimum-norm solution (in the raw basis) and one :class:`RankDeficientWarning`.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable

import numpy as np
import scipy.linalg as sla
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["OLS", "RankDeficientWarning", "slide_formula"]

_CHUNK = 32768  # rows per TSQR block: [R; block] stays in cache (~6 MB at p = 20)
_EXTENDED_MAX = 1 << 22  # up to n·p this many elements, refine in extended precision anyway
_EXTENDED_KAPPA = 1e6  # ... and beyond it when the equilibrated raw design is this ill-conditioned
_MAX_REFINE = 8
_EPS = np.finfo(np.float64).eps
_LD = np.longdouble


class RankDeficientWarning(UserWarning):
    """The design matrix is numerically rank deficient; the minimum-norm solution is returned."""


def slide_formula(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The course slide's closed form for simple linear regression ``y ≈ θ0 + θ1 x``.

    ``θ1 = (mΣxy − ΣxΣy) / (mΣx² − (Σx)²)`` and ``θ0 = (Σy − θ1Σx) / m``, with m the number of
    points. Numerically naive (it cancels catastrophically when ``|mean(x)| ≫ std(x)``); kept
    verbatim as the reference the least-squares study compares against.

    Parameters
    ----------
    x, y : array-like of shape (m,)
        One predictor and the response.

    Returns
    -------
    (theta0, theta1) : tuple of float
        Intercept and slope.
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"x and y must have the same length >= 2, got {x.size} and {y.size}")
    m = x.size
    sx, sy, sxy, sxx = x.sum(), y.sum(), x @ y, x @ x
    theta1 = (m * sxy - sx * sy) / (m * sxx - sx**2)
    theta0 = (sy - theta1 * sx) / m
    return float(theta0), float(theta1)


def _powers(t: np.ndarray, degree: int, dtype=np.float64) -> np.ndarray:
    """Columns ``t_j, t_j², ..., t_j^degree`` for each column j (j-major), shape (n, k·degree)."""
    t = np.asarray(t, dtype=dtype)
    out = np.empty((*t.shape, degree), dtype=dtype)
    out[..., 0] = t
    for m in range(1, degree):
        np.multiply(out[..., m - 1], t, out=out[..., m])
    return out.reshape(t.shape[0], -1)


class OLS(RegressorMixin, BaseEstimator):
    """Ordinary (optionally ridge) least squares, accurate to NIST StRD certified digits.

    Fits ``y ≈ intercept_ + Φ(X) @ coef_`` where Φ expands each input column to its powers
    ``1..degree`` (no cross terms), by the chunked QR / extended-precision refinement scheme in
    the module docstring: at least 7 correct digits on every certified value of every NIST
    linear file (Filip included), and faster than ``sklearn.linear_model.LinearRegression`` on
    tall data.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit a constant term. Without it, ``r2_`` is the uncentred ``1 − RSS/Σy²`` (as NIST).
    degree : int, default=1
        Each input column ``x_j`` becomes ``x_j, x_j², ..., x_j^degree``; output features are
        ordered input by input (``coef_.reshape(n_features_in_, degree)``).
    alpha : float, default=0.0
        Ridge penalty (>= 0); see ``penalty`` for the convention.
    penalty : {"sklearn", "bishop"}, default="sklearn"
        ``"sklearn"`` minimises ``‖y − Φw − b‖² + alpha‖w‖²`` with the intercept b *not*
        penalised (same solution as ``sklearn.linear_model.Ridge(alpha)``). ``"bishop"``
        minimises Bishop's PRML (1.4) ``E(w) = ½Σ(y − t)² + (Nλ/2)‖w‖²`` with ``λ = alpha``,
        N the number of samples and the intercept ``w0`` penalised too, i.e.
        ``‖y − Φw‖² + Nλ‖w‖²`` over all coefficients including w0 (reproduces PRML Table 1.2).
    rcond : float or None, default=None
        Relative tolerance on the singular values of the column-equilibrated working design
        below which the design counts as rank deficient; None means ``max(n, p) · eps``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features_in_ * degree,)
        Coefficients of the expanded features, raw (unscaled) basis.
    intercept_ : float
        Constant term (0.0 when ``fit_intercept=False``).
    coef_with_intercept_ : ndarray of shape (p_total,)
        ``[intercept_, *coef_]`` with an intercept, else ``coef_``; ``stderr_`` aligns with it.
    n_features_in_ : int
        Number of input columns k.
    n_samples_seen_ : int
        Rows used (accumulated over ``partial_fit`` calls).
    rank_ : int
        Numerical rank of the design ``[1, Φ]`` (or Φ), intercept column included.
    singular_ : bool
        ``rank_ < p_total``. With ``alpha == 0`` the minimum-norm solution is returned: with an
        intercept, the minimum-norm slopes of the centred problem (as sklearn), else
        ``pinv(Φ) @ y``.
    stderr_ : ndarray of shape (p_total,)
        Standard errors of ``coef_with_intercept_`` (``σ̂ √diag((AᵀA)⁻¹)``).
    residual_sd_ : float
        ``σ̂ = √(RSS / (n − p_total))``.
    r2_ : float
        Centred R² with an intercept, uncentred ``1 − RSS/Σy²`` without.
    anova_ : dict
        ``regression_df, regression_ss, regression_ms, residual_df, residual_ss, residual_ms,
        f_statistic`` (regression SS centred with an intercept, uncentred without, as NIST).

    Notes
    -----
    Inference statistics assume ``alpha == 0``: with a ridge penalty ``stderr_``,
    ``residual_sd_`` and the ANOVA entries are NaN (``r2_`` is still the training R²); for a
    singular design ``stderr_`` is NaN (the coefficients are not estimable).
    After ``partial_fit``/``fit_chunks`` the solution comes from the accumulated R factor alone
    (no refinement pass over the data, which is gone), so it agrees with ``fit`` to ~1e-12 on
    well-conditioned data; the centring/scaling is fixed by the first chunk.
    """

    def __init__(self, fit_intercept=True, degree=1, alpha=0.0, penalty="sklearn", rcond=None):
        self.fit_intercept = fit_intercept
        self.degree = degree
        self.alpha = alpha
        self.penalty = penalty
        self.rcond = rcond

    # ------------------------------------------------------------------ public API
    def fit(self, X, y) -> OLS:
        """Fit on in-memory data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : OLS
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        self._check_params()
        self._start(X)
        self._accumulate(X, y)
        self._finalize(X, y)
        return self

    def partial_fit(self, X, y) -> OLS:
        """Add one chunk of rows to the streaming factorisation and update the solution.

        The first call fixes the centring/scaling of the working basis from its chunk; memory
        stays O(p²) between calls. A rank-deficiency warning is issued at most once per stream.

        Parameters
        ----------
        X : array-like of shape (n_chunk, n_features)
        y : array-like of shape (n_chunk,)

        Returns
        -------
        self : OLS
        """
        first = getattr(self, "_R", None) is None
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64, reset=first)
        if first:
            self._check_params()
            self._start(X)
        self._accumulate(X, y)
        self._finalize(None, None)
        return self

    def fit_chunks(self, chunks: Iterable[tuple[np.ndarray, np.ndarray]]) -> OLS:
        """Fit from an iterable of ``(X_chunk, y_chunk)`` pairs (e.g. a generator).

        Equivalent to ``partial_fit`` on each chunk of a fresh estimator, but solves once at
        the end (one warning at most). Memory is bounded by the chunk size and p, not n.

        Returns
        -------
        self : OLS
        """
        self._R = None
        for X, y in chunks:
            first = self._R is None
            X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64, reset=first)
            if first:
                self._check_params()
                self._start(X)
            self._accumulate(X, y)
        if self._R is None:
            raise ValueError("fit_chunks got no chunks")
        self._finalize(None, None)
        return self

    def predict(self, X) -> np.ndarray:
        """Predict ``intercept_ + Φ(X) @ coef_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return _powers(X, self.degree) @ self.coef_ + self.intercept_

    # ------------------------------------------------------------------ set-up
    def _check_params(self) -> None:
        d = self.degree
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1:
            raise ValueError(f"degree must be an int >= 1, got {d!r}")
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not a >= 0 or a == np.inf:
            raise ValueError(f"alpha must be a finite number >= 0, got {a!r}")
        if self.penalty not in ("sklearn", "bishop"):
            raise ValueError(f"penalty must be 'sklearn' or 'bishop', got {self.penalty!r}")
        if self.rcond is not None and not (isinstance(self.rcond, numbers.Real) and
                                           0 <= self.rcond < 1):
            raise ValueError(f"rcond must be None or a number in [0, 1), got {self.rcond!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}")

    def _start(self, X: np.ndarray) -> None:
        """Fix the working basis ``t = (x − c) / s`` from X and reset the accumulator."""
        k, d, icpt = X.shape[1], int(self.degree), bool(self.fit_intercept)
        # Without an intercept a shift would add a constant the model does not have.
        c = X.mean(axis=0) if icpt else np.zeros(k)
        s = np.abs(X - c).max(axis=0) if len(X) else np.ones(k)
        s[~(s > 0) | ~np.isfinite(s)] = 1.0
        self._shift, self._scale = c, s
        p = k * d + icpt
        # Z = A M: column (j, m) of Z is t_j^m = Σ_i C(m, i) x_j^i (−c_j)^(m−i) / s_j^m.
        M = np.zeros((p, p), dtype=_LD)
        if icpt:
            M[0, 0] = 1
        for j in range(k):
            cj, sj = _LD(c[j]), _LD(s[j])
            for m in range(1, d + 1):
                col = icpt + j * d + m - 1
                for i in range(0 if icpt else m, m + 1):
                    row = 0 if i == 0 else icpt + j * d + i - 1
                    M[row, col] += math.comb(m, i) * (-cj) ** (m - i) / sj**m
        self._M = M
        self._R = np.zeros((p + 1, p + 1))
        self.n_samples_seen_ = 0
        self._warned = False

    def _working(self, X: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
        """Write ``[1, t-powers, y]`` for the rows of X into ``out`` (shape (n, p + 1))."""
        icpt = int(self.fit_intercept)
        if icpt:
            out[:, 0] = 1.0
        out[:, icpt:-1] = _powers((X - self._shift) / self._scale, self.degree)
        out[:, -1] = y

    def _raw(self, X: np.ndarray, dtype) -> np.ndarray:
        """Raw design ``A = [1, Φ(X)]`` (or Φ) in ``dtype``."""
        Phi = _powers(X, self.degree, dtype)
        if not self.fit_intercept:
            return Phi
        return np.hstack([np.ones((len(X), 1), dtype=dtype), Phi])

    def _accumulate(self, X: np.ndarray, y: np.ndarray) -> None:
        """TSQR: R ← R-factor of [R; Z_chunk, y_chunk], block by block."""
        q = self._R.shape[0]
        buf = np.empty((min(_CHUNK, len(X)) + q, q), order="F")
        for start in range(0, len(X), _CHUNK):
            stop = min(start + _CHUNK, len(X))
            m = stop - start + q
            buf[:q] = self._R
            self._working(X[start:stop], y[start:stop], buf[q:m])
            R = sla.qr(buf[:m], mode="r", overwrite_a=True, check_finite=False)[0]
            self._R = np.triu(R[:q])
        self.n_samples_seen_ += len(X)

    # ------------------------------------------------------------------ solve
    def _penalty(self) -> tuple[float, np.ndarray]:
        """Effective ridge weight α' and the penalised-coefficient mask P (raw basis)."""
        p = self._M.shape[0]
        mask = np.ones(p)
        if self.penalty == "bishop":
            return float(self.alpha) * self.n_samples_seen_, mask
        if self.fit_intercept:
            mask[0] = 0.0
        return float(self.alpha), mask

    def _finalize(self, X: np.ndarray | None, y: np.ndarray | None) -> None:
        """Solve from the R factor, refine on the data when given, set all fitted attributes."""
        R, M = self._R, self._M
        p = M.shape[0]
        n = self.n_samples_seen_
        icpt = bool(self.fit_intercept)
        Rz, qty, rss_ls = R[:p, :p], R[:p, p], R[p, p] ** 2
        # Rank on the column-equilibrated working basis (column norms of R = those of Z).
        norms = np.linalg.norm(Rz, axis=0)
        norms[norms == 0] = 1.0
        sv = np.linalg.svd(Rz / norms, compute_uv=False)
        tol = self.rcond if self.rcond is not None else max(n, p) * _EPS
        rank = int(np.sum(sv > tol * sv[0])) if sv[0] > 0 else 0
        self.rank_, self.singular_ = rank, rank < p
        alpha, mask = self._penalty()

        if alpha == 0 and self.singular_:
            b = self._min_norm(rank)
            if not self._warned:
                warnings.warn(
                    f"design matrix is rank deficient (rank {rank} < {p} parameters); "
                    "returning the minimum-norm least-squares solution",
                    RankDeficientWarning,
                    stacklevel=3,
                )
                self._warned = True
            Rs = None
        else:
            Rs = Rz
            if alpha > 0:
                # min ||Rz a - qty||² + α'||P M a||²: QR of the stacked (2p x p) system.
                pen = np.sqrt(alpha) * (mask[:, None] * M.astype(float))
                Q2, Rs = np.linalg.qr(np.vstack([Rz, pen]))
                a = sla.solve_triangular(Rs, Q2[:p].T @ qty)
            else:
                a = sla.solve_triangular(Rz, qty)
            b = M @ a.astype(_LD)

        stats = None
        if X is not None and Rs is not None:
            b, stats = self._refine(X, y, b, Rs, alpha, mask)
        b = b.astype(float)
        if stats is None:  # from the R factor: RSS(b) = ||Rz a − qty||² + RSS_LS
            a = sla.solve_triangular(M.astype(float), b)
            rss = float(np.sum((Rz @ a - qty) ** 2) + rss_ls)
            ss_y = float(np.sum(R[:, p] ** 2))  # Σy²
            tss = float(np.sum(R[1:, p] ** 2)) if icpt else ss_y
        else:
            rss, tss = stats

        self.coef_with_intercept_ = b
        self.intercept_ = float(b[0]) if icpt else 0.0
        self.coef_ = b[int(icpt):].copy()
        self._set_stats(rss, tss, Rs, n, p, rank, alpha)

    def _min_norm(self, rank: int) -> np.ndarray:
        """Minimum-norm least-squares solution (raw basis) of a rank-`rank` design."""
        R, M = self._R, self._M.astype(float)
        p = M.shape[0]
        Rz, qty = R[:p, :p], R[:p, p]
        if self.fit_intercept:
            # Rows/columns 1: of R are the R factor of the *centred* working design, and
            # Z_c = Φ_c M[1:, 1:]; the min-norm slopes are pinv(R_c M⁻¹) qty_c (as sklearn).
            Ms = M[1:, 1:]
            Rc = sla.solve_triangular(Ms.T, Rz[1:, 1:].T, lower=True).T  # R_c Ms⁻¹
            w = _truncated_pinv(Rc, rank - 1) @ qty[1:]
            zbar = Rz[0, 1:] / Rz[0, 0]  # means of the working columns
            phibar = sla.solve_triangular(Ms.T, zbar - M[0, 1:], lower=True)
            return np.concatenate([[qty[0] / Rz[0, 0] - phibar @ w], w]).astype(_LD)
        Ra = sla.solve_triangular(M.T, Rz.T, lower=True).T  # R M⁻¹: R factor of the raw design
        return (_truncated_pinv(Ra, rank) @ qty).astype(_LD)

    def _refine(self, X, y, b, Rs, alpha, mask):
        """Iterative refinement of b on the raw data; returns (b, (RSS, TSS or Σy²))."""
        M = self._M
        p = M.shape[0]
        n = len(X)
        # Extended precision costs ~0.3 s per pass at n·p = 2e7; spend it where it buys digits.
        extended = n * p <= _EXTENDED_MAX or self._raw_condition(Rs) > _EXTENDED_KAPPA
        dt = _LD if extended else np.float64
        yd = y.astype(dt)
        ybar = yd.sum() / n if self.fit_intercept else dt(0)
        pen = (alpha * mask).astype(dt)
        best = None
        for _ in range(_MAX_REFINE):
            g, rss, tss = self._pass(X, yd, b.astype(dt), ybar, dt)
            g -= pen * b.astype(dt)  # gradient of the ridge term (zero for OLS)
            u = sla.solve_triangular(Rs, sla.solve_triangular(Rs, (M.T @ g.astype(_LD)).astype(
                float), trans="T"))
            size = np.linalg.norm(u)
            scale = np.linalg.norm(sla.solve_triangular(M.astype(float), b.astype(float)))
            if best is None or size < best[0]:
                best = (size, b, (float(rss), float(tss)))
            else:  # no longer contracting: keep the best iterate
                break
            if size <= 4 * np.finfo(dt).eps * scale:
                break
            b = b + M @ u.astype(_LD)
        return best[1], best[2]

    def _pass(self, X, yd, bd, ybar, dt):
        """One pass over the data: ``g = Aᵀr``, ``RSS = rᵀr``, ``TSS`` for ``r = y − A b``."""
        p = len(bd)
        g = np.zeros(p, dtype=dt)
        rss = dt(0)
        tss = dt(0)
        for start in range(0, len(X), _CHUNK):
            sl = slice(start, start + _CHUNK)
            A = self._raw(X[sl], dt)
            r = yd[sl] - A @ bd
            g += A.T @ r
            rss += r @ r
            yc = yd[sl] - ybar
            tss += yc @ yc
        return g, rss, tss

    def _raw_condition(self, Rs: np.ndarray) -> float:
        """Condition number of the column-equilibrated raw design, from R and M."""
        with np.errstate(all="ignore"):
            Ra = sla.solve_triangular(self._M.astype(float).T, Rs.T, lower=True).T
            Ra = Ra / np.linalg.norm(Ra, axis=0)
            cond = np.linalg.cond(Ra) if np.all(np.isfinite(Ra)) else np.inf
        return float(cond) if np.isfinite(cond) else np.inf

    def _set_stats(self, rss, tss, Rs, n, p, rank, alpha) -> None:
        icpt = bool(self.fit_intercept)
        self.r2_ = 1.0 - rss / tss if tss > 0 else np.nan
        nan = float("nan")
        res_df = n - rank
        reg_df = rank - icpt
        if alpha > 0 or res_df <= 0:
            self.residual_sd_ = nan
            self.stderr_ = np.full(p, nan)
            self.anova_ = dict.fromkeys(
                ("regression_df", "regression_ss", "regression_ms", "residual_df",
                 "residual_ss", "residual_ms", "f_statistic"), nan)
            if alpha == 0:  # saturated fit: df and sums of squares are still meaningful
                self.anova_.update(regression_df=reg_df, regression_ss=tss - rss,
                                   residual_df=res_df, residual_ss=rss)
            return
        sigma2 = rss / res_df
        self.residual_sd_ = math.sqrt(sigma2)
        if self.singular_:
            self.stderr_ = np.full(p, nan)
        else:
            # cov(b) = σ² M R⁻¹ R⁻ᵀ Mᵀ; row norms of M R⁻¹, product in extended precision.
            Rinv = sla.solve_triangular(Rs, np.eye(p))
            C = self._M @ Rinv.astype(_LD)
            self.stderr_ = np.sqrt(sigma2 * np.sum(C * C, axis=1)).astype(float)
        reg_ss = tss - rss
        reg_ms = reg_ss / reg_df if reg_df > 0 else nan
        f = reg_ms / sigma2 if sigma2 > 0 else (np.inf if reg_ms > 0 else nan)
        self.anova_ = {
            "regression_df": reg_df,
            "regression_ss": reg_ss,
            "regression_ms": reg_ms,
            "residual_df": res_df,
            "residual_ss": rss,
            "residual_ms": sigma2,
            "f_statistic": float(f),
        }


def _truncated_pinv(A: np.ndarray, rank: int) -> np.ndarray:
    """Pseudo-inverse of A keeping its ``rank`` largest singular values."""
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    r = max(0, min(rank, int(np.sum(s > 0))))
    return (Vt[:r].T / s[:r]) @ U[:, :r].T
