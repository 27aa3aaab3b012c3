"""ermlab's own least-squares estimator: accurate, fast on tall data, and streamable.

How ``OLS`` solves ``min ||y - A b||² (+ penalty)`` with ``A = [1, Φ]`` (Φ the expanded inputs):

1. **Well-conditioned working basis.** Each input column ``x_j`` is shifted and scaled,
   ``t_j = (x_j - c_j) / s_j`` (``s_j`` a power of two, so ``t_j`` lies in [-1, 1] and the
   division is exact), *before* powers are formed; the working design is
   ``Z = [1, t_j, t_j², ..., t_j^d, ...]``. Monomials of a centred, scaled variable are far
   better conditioned than raw ones (Filip: raw cond ~1e15, 5e9 with unit-norm columns, ``Z``
   2e3). ``Z = A M`` for an upper-triangular ``M`` (binomial expansion), so raw coefficients
   are ``b = M a``; ``M`` is built in extended precision (``np.longdouble``).
2. **R factor of [Z, y].** Streaming (``partial_fit``/``fit_chunks``) and small or
   ill-conditioned ``fit`` problems use a blocked TSQR: Householder QR (LAPACK ``geqrf``) of the
   previous R stacked on the next chunk, memory O(chunk · p). Large ``fit`` problems whose
   working basis is well conditioned (cond(Z) ≤ 1e3 after column scaling) take the level-3
   BLAS route instead: R from the Cholesky factor of ZᵀZ, accumulated chunk by chunk on the
   contiguous centred columns (the exact power-of-two scaling is applied to the sums) — safe
   there because step 3 refines its κ²·eps error away, and several times faster than QR.
   Per-chunk BLAS calls are small, so they run single-threaded (threadpoolctl).
3. **Iterative refinement** (``fit`` only, the data are at hand): corrected semi-normal
   equations ``δ = T R⁻¹ R⁻ᵀ Tᵀ g`` with ``g = Aᵀ(y − A c)``. For small problems (n·p ≤ 4M)
   and ill-conditioned ones, ``A`` is the *raw* design, ``c = b``, ``T = M`` and the residual is
   computed in extended precision from the raw inputs: the fixed point is the least-squares
   solution of the raw problem to ~longdouble accuracy times the raw condition number (R only
   preconditions, so rounding incurred forming ``Z`` does not matter). Otherwise ``A = Z``,
   ``c = a``, ``T = I`` in double with BLAS.

Rank is decided on the column-equilibrated R of the working basis, so an ill-conditioned but
full-rank design (Filip) is not mistaken for a singular one; a truly singular design gets the
minimum-norm solution and one :class:`RankDeficientWarning`: minimum-norm in the raw basis (as
scikit-learn) for a straight line or without intercept, in the working basis for a polynomial
with an intercept (more parameters than points: the raw basis's cannot be held in float64).

A polynomial with an intercept predicts from its working-basis coefficients
(``working_coef_``): the raw powers of inputs far from 0 (heights in cm, to the 9th) cancel to
more digits than a double holds. Without an intercept the working basis is the raw one scaled
by powers of two, and the raw coefficients predict.
"""

from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Iterable

import numpy as np
import scipy.linalg as sla
from scipy.linalg.lapack import dgeqrf as _geqrf
from threadpoolctl import ThreadpoolController

from ermlab.models.sklearn_api import Regressor

__all__ = ["OLS", "RankDeficientWarning", "slide_formula"]

_CHUNK = 65536  # rows per TSQR block (~11 MB at p = 20)
_PASS_CHUNK = 16384  # rows per Gram / refinement block: stays in cache for BLAS-2/3 calls
_REFINE_MAX = 1 << 22  # refine in extended precision when n·p is at most this (cheap) ...
_REFINE_KAPPA = 1e6  # ... or when the equilibrated raw design is this ill-conditioned
_GRAM_KAPPA = 1e3  # Cholesky-of-Gram R only when cond(Z) is below this (κ²·eps ≤ 1e-10)
_MAX_REFINE = 8
_EPS = np.finfo(np.float64).eps
_LD = np.longdouble


@functools.cache
def _blas_controller() -> ThreadpoolController:
    # Made once: finding the loaded BLAS libraries reads the process's memory map, which
    # costs milliseconds a fit in a process that has imported MLflow and scikit-learn. The
    # BLAS libraries OLS calls (NumPy's and SciPy's) are loaded by this module's imports.
    return ThreadpoolController()


def _single_threaded_blas():
    """A context in which BLAS calls run on one thread."""
    return _blas_controller().limit(limits=1, user_api="blas")


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
    if degree == 0:
        return np.empty((t.shape[0], 0), dtype=dtype)
    if degree == 1:
        return t
    out = np.empty((*t.shape, degree), dtype=dtype)
    out[..., 0] = t
    for m in range(1, degree):
        np.multiply(out[..., m - 1], t, out=out[..., m])
    return out.reshape(t.shape[0], -1)


class OLS(Regressor):
    """Ordinary (optionally ridge) least squares, accurate to NIST StRD certified digits.

    Fits ``y ≈ intercept_ + Φ(X) @ coef_`` where Φ expands each input column to its powers
    ``1..degree`` (no cross terms), by the chunked QR / extended-precision refinement scheme in
    the module docstring: at least 7 correct digits on every certified value of every NIST
    linear file (Filip included), and faster than ``sklearn.linear_model.LinearRegression`` on
    tall data.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Fit a constant term. Without it, ``r2_`` is the uncentred ``1 − RSS/Σy²`` (as NIST),
        while :meth:`score` stays scikit-learn's centred ``1 − RSS/Σ(y − ȳ)²``: the two differ.
    degree : int, default=1
        Each input column ``x_j`` becomes ``x_j, x_j², ..., x_j^degree``; output features are
        ordered input by input (``coef_.reshape(n_features_in_, degree)``). ``degree=0`` uses
        no input column: the model is the intercept alone (``coef_`` of shape (0,),
        ``intercept_`` the mean of y, or ``Σy / (N + Nλ)`` under ``penalty="bishop"``; r2_ 0,
        F statistic NaN; X is still validated and must keep its number of columns). It needs
        ``fit_intercept=True`` (else ValueError: such a model would have no parameters).
    alpha : float, default=0.0
        Ridge penalty (>= 0); see ``penalty`` for the convention.
    penalty : {"sklearn", "bishop"}, default="sklearn"
        ``"sklearn"`` minimises ``‖y − Φw − b‖² + alpha‖w‖²`` with the intercept b *not*
        penalised (same solution as ``sklearn.linear_model.Ridge(alpha)``). ``"bishop"``
        minimises ``E(w) = ½Σ(y − t)² + (Nλ/2)‖w‖²`` with ``λ = alpha``, N the number of
        samples and the intercept ``w0`` penalised too, i.e. ``‖y − Φw‖² + Nλ‖w‖²`` over all
        coefficients including w0: PRML's (1.4) has ``(λ/2)‖w‖²``, without the N, but its
        Table 1.2 is reproduced with this λ per data point (see the bishop_curve_fitting
        study).
    rcond : float or None, default=None
        Relative tolerance on the singular values of the column-equilibrated working design
        below which the design counts as rank deficient; None means ``max(n, p) · eps``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features_in_ * degree_,)
        Coefficients of the expanded features, raw (unscaled) basis.
    degree_ : int
        The ``degree`` the fit was made with; :meth:`predict` uses it (not the live
        ``degree``), so ``set_params`` after fitting takes effect at the next fit.
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
    A constant input column together with ``fit_intercept=True`` duplicates the intercept:
    the design is rank deficient, so fitting issues a :class:`RankDeficientWarning`, returns
    the minimum-norm solution and sets ``stderr_`` to NaN (drop the column, or use
    ``fit_intercept=False`` to let it play the intercept).
    Without an intercept ``r2_`` (and the regression sum of squares in ``anova_``) is NIST's
    uncentred ``1 − RSS/Σy²``, but :meth:`score` is scikit-learn's centred R²
    ``1 − RSS/Σ(y − ȳ)²``; with an intercept both are the centred R² of the training data.
    Inference statistics assume ``alpha == 0``: with a ridge penalty ``stderr_``,
    ``residual_sd_`` and the ANOVA entries are NaN (``r2_`` is still the training R²); for a
    singular design ``stderr_`` is NaN (the coefficients are not estimable).
    A residual sum of squares below the float64 resolution of y (``RSS ≤ n·(eps·max|y|)²``) is
    reported as 0, an exact fit: residual SD and standard errors 0, F infinite (as NIST
    certifies for Wampler1/2).
    After ``partial_fit``/``fit_chunks`` the solution comes from the accumulated R factor alone
    (no refinement pass over the data, which is gone), so it agrees with ``fit`` to ~1e-12 on
    well-conditioned data; the centring/scaling is fixed by the first chunk. ``partial_fit``
    after ``fit`` continues the same accumulation. ``degree`` and ``fit_intercept`` shape the
    accumulated factor, so changing them mid-stream makes the next ``partial_fit`` raise
    ValueError (it does not silently restart: call ``fit`` or ``fit_chunks`` for a new fit);
    ``alpha``, ``penalty`` and ``rcond`` only enter the solve and may change between calls.
    """

    def __init__(self, fit_intercept=True, degree=1, alpha=0.0, penalty="sklearn", rcond=None):
        self.fit_intercept = fit_intercept
        self.degree = degree
        self.alpha = alpha
        self.penalty = penalty
        self.rcond = rcond

    # ------------------------------------------------------------------ pickling
    # np.longdouble is 80 bits stored in 16 bytes on x86: the 6 padding bytes are whatever
    # memory held, so pickling the extended-precision M as it is gave different bytes on every
    # fit (and a changed dvc.lock). It is pickled as two float64 arrays instead, hi + lo, which
    # hold its 64-bit mantissa exactly (53 + 53 bits), and rebuilt bit for bit.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if "_M" in state:
            M = state.pop("_M")
            hi = M.astype(np.float64)
            state["_M_hi_lo"] = (hi, (M - hi).astype(np.float64))
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        if "_M_hi_lo" in state:
            hi, lo = state.pop("_M_hi_lo")
            state["_M"] = hi.astype(_LD) + lo.astype(_LD)
        self.__dict__.update(state)

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
        X, y = self._validate_data(X, y)
        self._check_params()
        self._start(X)
        # Per-chunk BLAS calls are small (p ~ 20 columns): threads only add synchronisation.
        with _single_threaded_blas():
            if X.shape[0] * self._M.shape[0] <= _REFINE_MAX or not self._gram(X, y):
                self._accumulate(X, y)
            self._finalize(X, y)
        return self

    def partial_fit(self, X, y) -> OLS:
        """Add one chunk of rows to the streaming factorisation and update the solution.

        The first call fixes the centring/scaling of the working basis from its chunk; memory
        stays O(p²) between calls. A rank-deficiency warning is issued at most once per stream.
        ``degree`` and ``fit_intercept`` must not change after the first call (ValueError: the
        stream is not restarted silently); ``alpha``, ``penalty`` and ``rcond`` may, and apply
        from the call that sees them.

        Parameters
        ----------
        X : array-like of shape (n_chunk, n_features)
        y : array-like of shape (n_chunk,)

        Returns
        -------
        self : OLS
        """
        first = getattr(self, "_R", None) is None
        X, y = self._validate_data(X, y, reset=first)
        self._check_params()
        if first:
            self._start(X)
        elif (int(self.degree), bool(self.fit_intercept)) != (self.degree_, self._icpt):
            raise ValueError(
                f"degree or fit_intercept changed mid-stream (the stream was started with "
                f"degree={self.degree_}, fit_intercept={self._icpt}); call fit or fit_chunks "
                "to start a new fit"
            )
        with _single_threaded_blas():
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
            X, y = self._validate_data(X, y, reset=first)
            if first:
                self._check_params()
                self._start(X)
            with _single_threaded_blas():
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
        self._check_is_fitted("coef_")
        X = self._validate_data(X, reset=False)
        working = getattr(self, "working_coef_", None)
        if working is None:
            return _powers(X, self.degree_) @ self.coef_ + self.intercept_
        # Powers of raw inputs far from 0 (height in cm, to the 9th) cancel to many digits
        # more than a double holds: the same function in the working basis does not.
        return self._working(X, np.empty((len(X), len(working)))) @ working

    # ------------------------------------------------------------------ set-up
    def _check_params(self) -> None:
        d = self.degree
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise ValueError(f"degree must be an int >= 0, got {d!r}")
        a = self.alpha
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not a >= 0 or a == np.inf:
            raise ValueError(f"alpha must be a finite number >= 0, got {a!r}")
        if self.penalty not in ("sklearn", "bishop"):
            raise ValueError(f"penalty must be 'sklearn' or 'bishop', got {self.penalty!r}")
        if self.rcond is not None and not (
            isinstance(self.rcond, numbers.Real) and 0 <= self.rcond < 1
        ):
            raise ValueError(f"rcond must be None or a number in [0, 1), got {self.rcond!r}")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise ValueError(f"fit_intercept must be True or False, got {self.fit_intercept!r}")
        if d == 0 and not self.fit_intercept:
            raise ValueError(
                "degree=0 needs fit_intercept=True: without an intercept the model has no "
                "parameters"
            )

    def _start(self, X: np.ndarray) -> None:
        """Fix the working basis ``t = (x − c) / s`` from X and reset the accumulator."""
        k, d, icpt = X.shape[1], int(self.degree), bool(self.fit_intercept)
        # The structure of the fit: everything after _start reads these, never the live
        # parameters, so set_params between fit and predict (or partial_fit) cannot mix them.
        self.degree_, self._icpt = d, icpt
        # c and s only need to make the working basis well conditioned, not be exact: on tall
        # data a strided sample of ~64k rows does (three full passes would cost more than QR).
        S = np.ascontiguousarray(X[:: max(1, len(X) // _CHUNK)])
        # Without an intercept a shift would add a constant the model does not have.
        c = S.mean(axis=0) if icpt else np.zeros(k)
        s = np.maximum(S.max(axis=0) - c, c - S.min(axis=0))  # max |x - c|
        s[~(s > 0) | ~np.isfinite(s)] = 1.0
        # A power of two: dividing by it is exact, so scaling commutes with everything else
        # (the Gram path scales its sums afterwards instead of every row).
        s = np.exp2(np.ceil(np.log2(s)))
        self._shift, self._scale = c, s
        # Z[:, icpt:] = T * colscale for the columns T that _centred returns.
        self._colscale = 1.0 / s if d == 1 else np.ones(k * d)
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
        self._ymax = 0.0
        self._warned = False

    def _centred(self, X: np.ndarray, buf: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Working columns without the ones column, up to the exact factor ``_colscale``.

        Degree 1: ``X − c`` written into a reusable contiguous ``buf`` (one pass, no scaling);
        other degrees: the scaled powers (none for degree 0). Returns (columns, buffer to reuse).
        """
        if self.degree_ != 1:
            return _powers((X - self._shift) / self._scale, self.degree_), buf
        if buf is None or buf.shape[0] < len(X):
            buf = np.empty(X.shape)
        return np.subtract(X, self._shift, out=buf[: len(X)]), buf

    def _working(self, X: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Write the working design ``Z = [1, t-powers]`` of X's rows into ``out`` (n, p)."""
        icpt = int(self._icpt)
        if icpt:
            out[:, 0] = 1.0
        if self.degree_ == 1:  # in place: no n x k temporaries on the fast path
            t = np.subtract(X, self._shift, out=out[:, icpt:])
            np.divide(t, self._scale, out=t)
        else:
            out[:, icpt:] = _powers((X - self._shift) / self._scale, self.degree_)
        return out

    def _raw(self, X: np.ndarray, dtype) -> np.ndarray:
        """Raw design ``A = [1, Φ(X)]`` (or Φ) in ``dtype``."""
        Phi = _powers(X, self.degree_, dtype)
        if not self._icpt:
            return Phi
        return np.hstack([np.ones((len(X), 1), dtype=dtype), Phi])

    def _accumulate(self, X: np.ndarray, y: np.ndarray) -> None:
        """TSQR: R ← R-factor of [R; Z_chunk, y_chunk], block by block (LAPACK geqrf)."""
        q = self._R.shape[0]
        buf = None
        for start in range(0, len(X), _CHUNK):
            stop = min(start + _CHUNK, len(X))
            m = stop - start + q
            if buf is None or buf.shape[0] != m:  # Fortran order: geqrf works in place
                buf = np.empty((m, q), order="F")
            buf[:q] = self._R
            self._working(X[start:stop], buf[q:, :-1])
            buf[q:, -1] = y[start:stop]
            qr, _, _, info = _geqrf(buf, overwrite_a=True)
            if info != 0:
                raise np.linalg.LinAlgError(f"LAPACK geqrf failed (info={info})")
            self._R = np.triu(qr[:q])
        self.n_samples_seen_ += len(X)
        self._ymax = max(self._ymax, float(np.abs(y).max(initial=0.0)))

    def _gram(self, X: np.ndarray, y: np.ndarray) -> bool:
        """R factor of [Z, y] from the Cholesky factor of its Gram matrix (level-3 BLAS).

        Accumulates ``TᵀT``, ``Tᵀy``, column sums and ``yᵀy`` chunk by chunk on the centred
        columns T (contiguous, so BLAS ``syrk``/``gemv`` run at full speed) and applies the exact
        power-of-two column scaling at the end. Returns False (state untouched) when Z is too
        ill-conditioned for the result to be refined back to QR accuracy; the caller then
        uses TSQR.
        """
        p, icpt = self._M.shape[0], int(self._icpt)
        G = np.zeros((p + 1, p + 1))  # upper triangle of [Z, y]ᵀ[Z, y]
        cols = slice(icpt, p)
        buf = None
        for start in range(0, len(X), _PASS_CHUNK):
            T, buf = self._centred(X[start : start + _PASS_CHUNK], buf)
            yc = y[start : start + _PASS_CHUNK]
            G[cols, cols] += T.T @ T
            G[cols, p] += T.T @ yc
            G[p, p] += yc @ yc
            if icpt:
                G[0, cols] += T.sum(axis=0)
                G[0, p] += yc.sum()
        G[0, 0] += len(X) if icpt else 0.0
        scale = np.concatenate([np.ones(icpt), self._colscale, [1.0]])
        G = np.triu(G) * np.outer(scale, scale)
        G += np.triu(G, 1).T
        try:
            Rz = np.linalg.cholesky(G[:p, :p]).T
        except np.linalg.LinAlgError:
            return False
        if _cond(Rz) > _GRAM_KAPPA:
            return False
        qty = sla.solve_triangular(Rz, G[:p, p], trans="T")
        self._R[:p, :p], self._R[:p, p] = Rz, qty
        # RSS by subtraction is inaccurate near an exact fit; refinement recomputes it.
        self._R[p, p] = math.sqrt(max(G[p, p] - qty @ qty, 0.0))
        self.n_samples_seen_ = len(X)
        self._ymax = max(float(y.max()), -float(y.min()))
        return True

    # ------------------------------------------------------------------ solve
    def _penalty(self) -> tuple[float, np.ndarray]:
        """Effective ridge weight α' and the penalised-coefficient mask P (raw basis)."""
        p = self._M.shape[0]
        mask = np.ones(p)
        if self.penalty == "bishop":
            return float(self.alpha) * self.n_samples_seen_, mask
        if self._icpt:
            mask[0] = 0.0
        return float(self.alpha), mask

    def _finalize(self, X: np.ndarray | None, y: np.ndarray | None) -> None:
        """Solve from the R factor, refine on the data when given, set all fitted attributes."""
        R, M = self._R, self._M
        p = M.shape[0]
        n = self.n_samples_seen_
        icpt = self._icpt
        Rz, qty, rss_ls = R[:p, :p], R[:p, p], R[p, p] ** 2
        # Rank on the column-equilibrated working basis (column norms of R = those of Z).
        norms = np.linalg.norm(Rz, axis=0)
        norms[norms == 0] = 1.0
        sv = np.linalg.svd(Rz / norms, compute_uv=False)
        tol = self.rcond if self.rcond is not None else max(n, p) * _EPS
        rank = int(np.sum(sv > tol * sv[0])) if sv[0] > 0 else 0
        self.rank_, self.singular_ = rank, rank < p
        alpha, mask = self._penalty()

        a = None
        # Predictions of a centred polynomial come from the working basis (module docstring).
        working = self.degree_ > 1 and icpt
        if alpha == 0 and self.singular_:
            if working:
                a = self._min_norm_working(rank)
                b = M @ a.astype(_LD)
            else:
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

        self.working_coef_ = a if working else None
        if X is not None and a is not None and Rs is not None:
            # Extended precision costs ~0.3 s per pass at n·p = 2e7 (longdouble has no BLAS):
            # spend it where it buys digits.
            extended = X.shape[0] * p <= _REFINE_MAX or self._raw_condition(Rs) > _REFINE_KAPPA
            c, rss, tss = self._refine(X, y, b if extended else a, Rs, alpha, mask, extended)
            if extended:
                b = c
            else:
                b = M @ c.astype(_LD)
                self.working_coef_ = c if working else None
            b = b.astype(float)
        else:  # from the R factor: RSS(b) = ||Rz a − qty||² + RSS_LS, TSS from y's column
            b = b.astype(float)
            if a is None:  # the raw minimum-norm solution
                a = sla.solve_triangular(M.astype(float), b)
            rss = float(np.sum((Rz @ a - qty) ** 2) + rss_ls)
            tss = float(np.sum(R[int(icpt) :, p] ** 2))
        if rss <= n * (_EPS * self._ymax) ** 2:
            # Residuals below the float64 resolution of y itself: an exact fit (so residual
            # SD and standard errors are 0 and F is infinite, as NIST certifies Wampler1/2).
            rss = 0.0

        self.coef_with_intercept_ = b
        self.intercept_ = float(b[0]) if icpt else 0.0
        self.coef_ = b[int(icpt) :].copy()
        self._set_stats(rss, tss, Rs, n, p, rank, alpha)

    def _min_norm_working(self, rank: int) -> np.ndarray:
        """Minimum-norm least-squares solution in the working basis (intercept aside, as
        :meth:`_min_norm`), shape (p,): rows/columns 1: of R are the R factor of the centred
        working columns, whose minimum-norm slopes are pinv(R_c) qty_c."""
        R = self._R
        p = self._M.shape[0]
        Rz, qty = R[:p, :p], R[:p, p]
        w = _truncated_pinv(Rz[1:, 1:], rank - 1) @ qty[1:]
        return np.concatenate([[(qty[0] - Rz[0, 1:] @ w) / Rz[0, 0]], w])

    def _min_norm(self, rank: int) -> np.ndarray:
        """Minimum-norm least-squares solution (raw basis) of a rank-`rank` design."""
        R, M = self._R, self._M.astype(float)
        p = M.shape[0]
        Rz, qty = R[:p, :p], R[:p, p]
        if self._icpt:
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

    def _refine(self, X, y, c, Rs, alpha, mask, extended: bool):
        """Iterative refinement on the data; returns (the refined ``c``, RSS, TSS or Σy²).

        Corrected semi-normal equations ``c ← c + T (RsᵀRs)⁻¹ Tᵀ (Aᵀr − penalty gradient)``,
        ``r = y − A c``: raw basis in ``np.longdouble`` (``c = b``, ``T = M``) when ``extended``,
        else the working basis in double (``c = a``, ``T = I``). Each step contracts the error by
        ~κ(Rs)²·eps; iteration stops at the rounding level of the working precision (keeping
        the best iterate once rounding noise dominates).
        """
        M = self._M
        Mf = M.astype(float)
        dt = _LD if extended else np.float64
        yd = y.astype(dt)
        ybar = yd.sum() / len(y) if self._icpt else dt(0)
        pen = (alpha * mask).astype(dt)
        eps = float(np.finfo(dt).eps)
        rate = min(1.0, _cond(Rs) ** 2 * _EPS)  # contraction factor per step
        best = None
        for _ in range(_MAX_REFINE):
            g, rss, tss = self._pass(X, yd, c, ybar, extended)
            if extended:  # ridge gradient α'Pb in the raw basis; map g to the working basis
                w = (M.T @ (g - pen * c)).astype(float)
            else:
                w = g - Mf.T @ (pen * (Mf @ c))
            u = sla.solve_triangular(Rs, sla.solve_triangular(Rs, w, trans="T"))
            size = np.linalg.norm(u)
            if best is not None and size >= best[0]:
                break  # no longer contracting: rounding noise dominates
            scale = np.linalg.norm(sla.solve_triangular(Mf, c.astype(float)) if extended else c)
            best = (size, c, float(rss), float(tss))
            if size <= eps * scale:
                break
            c = c + (M @ u.astype(_LD) if extended else u)
            if not extended and size * rate <= eps * scale:
                # Working basis: the next correction would be below the rounding level, so
                # stop without another pass. RSS is stationary at the least-squares solution:
                # this pass's statistics hold for the corrected c to second order. (In the
                # raw basis M distorts the contraction estimate; small problems just iterate.)
                best = (size, c, float(rss), float(tss))
                break
        return best[1], best[2], best[3]

    def _pass(self, X, yd, c, ybar, extended: bool):
        """One pass over the data: ``g = Aᵀr``, ``RSS = rᵀr``, ``TSS``, with ``r = y − A c``.

        ``A`` is the raw design in longdouble when ``extended``, else the working design Z,
        applied as ``1·c0 + T (colscale·c)`` on the contiguous centred columns T (BLAS gemv).
        """
        dt = yd.dtype
        icpt = int(self._icpt)
        g = np.zeros(len(c), dtype=dt)
        rss = tss = dt.type(0)
        buf = None
        w = None if extended else c[icpt:] * self._colscale
        for start in range(0, len(X), _PASS_CHUNK):
            sl = slice(start, start + _PASS_CHUNK)
            if extended:
                A = self._raw(X[sl], _LD)
                r = yd[sl] - A @ c
                g += A.T @ r
            else:
                T, buf = self._centred(X[sl], buf)
                r = yd[sl] - T @ w
                if icpt:
                    r -= c[0]
                    g[0] += r.sum()
                g[icpt:] += T.T @ r
            rss += r @ r
            yc = yd[sl] - ybar
            tss += yc @ yc
        if not extended:
            g[icpt:] *= self._colscale
        return g, rss, tss

    def _raw_condition(self, Rs: np.ndarray) -> float:
        """Condition number of the column-equilibrated raw design, from R and M."""
        with np.errstate(all="ignore"):
            return _cond(sla.solve_triangular(self._M.astype(float).T, Rs.T, lower=True).T)

    def _set_stats(self, rss, tss, Rs, n, p, rank, alpha) -> None:
        icpt = self._icpt
        self.r2_ = 1.0 - rss / tss if tss > 0 else np.nan
        nan = float("nan")
        res_df = n - rank
        reg_df = rank - icpt
        if alpha > 0 or res_df <= 0:
            self.residual_sd_ = nan
            self.stderr_ = np.full(p, nan)
            self.anova_ = dict.fromkeys(
                (
                    "regression_df",
                    "regression_ss",
                    "regression_ms",
                    "residual_df",
                    "residual_ss",
                    "residual_ms",
                    "f_statistic",
                ),
                nan,
            )
            if alpha == 0:  # saturated fit: df and sums of squares are still meaningful
                self.anova_.update(
                    regression_df=reg_df,
                    regression_ss=tss - rss,
                    residual_df=res_df,
                    residual_ss=rss,
                )
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


def _cond(R: np.ndarray) -> float:
    """2-norm condition number of R with its columns scaled to unit norm (inf if singular)."""
    norms = np.linalg.norm(R, axis=0)
    if not (np.all(np.isfinite(R)) and np.all(norms > 0)):
        return np.inf
    sv = np.linalg.svd(R / norms, compute_uv=False)
    return float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf


def _truncated_pinv(A: np.ndarray, rank: int) -> np.ndarray:
    """Pseudo-inverse of A keeping its ``rank`` largest singular values."""
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    r = max(0, min(rank, int(np.sum(s > 0))))
    return (Vt[:r].T / s[:r]) @ U[:, :r].T
