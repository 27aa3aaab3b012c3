"""Benchmark ermlab's OLS: speed on tall data, NIST accuracy, streaming memory.

Run ``python benchmarks/bench_ols.py`` (``--quick`` for a smoke run). Prints three tables:

1. time of ``OLS().fit`` vs ``sklearn.linear_model.LinearRegression().fit`` vs
   ``numpy.linalg.lstsq`` (on ``[1, X]``) for n = 10^6 rows, p = 20 predictors (median of 3);
2. the minimum LRE (correct significant digits) over all certified values of each NIST StRD
   linear file: coefficients, standard errors, residual SD and R². For numpy and sklearn the
   statistics are computed from their coefficients the textbook way (double precision);
3. peak traced memory of a streamed fit (``OLS.fit_chunks``) over 10^7 generated rows,
   against the size the full array would have.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
from sklearn.linear_model import LinearRegression

from ermlab.data.nist import SHIPPED, lre, read_nist, reference_path
from ermlab.models.ols import OLS

EXTRA = Path(__file__).resolve().parents[1] / "tests" / "data" / "nist"


def _median_time(fit, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def speed(n: int, p: int, repeats: int) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    y = X @ rng.standard_normal(p) + 3.0 + rng.standard_normal(n)
    A = np.column_stack([np.ones(n), X])
    runs = {
        "ermlab OLS().fit": lambda: OLS().fit(X, y),
        "sklearn LinearRegression().fit": lambda: LinearRegression().fit(X, y),
        "numpy.linalg.lstsq([1, X], y)": lambda: np.linalg.lstsq(A, y, rcond=None),
    }
    for fit in runs.values():  # warm-up: page in X, load BLAS, JIT nothing
        fit()
    times = {name: _median_time(fit, repeats) for name, fit in runs.items()}
    base = times["ermlab OLS().fit"]
    print(f"\n## Speed: n = {n:,}, p = {p}, median of {repeats}")
    print(f"{'method':34s} {'seconds':>9s} {'÷ OLS':>7s}")
    for name, t in times.items():
        print(f"{name:34s} {t:9.3f} {t / base:7.2f}")
    sk = LinearRegression().fit(X, y)
    ols = OLS().fit(X, y)
    rel = np.max(np.abs(ols.coef_ - sk.coef_) / np.abs(sk.coef_))
    print(f"max relative coefficient difference OLS vs sklearn: {rel:.1e}")


def _textbook_stats(A: np.ndarray, y: np.ndarray, b: np.ndarray, intercept: bool):
    """SE, residual SD and R² from coefficients, the usual double-precision formulas."""
    r = y - A @ b
    rss = r @ r
    df = len(y) - A.shape[1]
    sigma = np.sqrt(rss / df)
    with np.errstate(all="ignore"):
        try:
            se = sigma * np.sqrt(np.diag(np.linalg.inv(A.T @ A)))
        except np.linalg.LinAlgError:
            se = np.full(A.shape[1], np.nan)
    tss = np.sum((y - y.mean()) ** 2) if intercept else y @ y
    return se, sigma, 1 - rss / tss


def accuracy() -> None:
    names = [*SHIPPED, "Filip", "Wampler3", "Wampler4", "Wampler5"]
    print("\n## NIST StRD: min LRE over certified coef, SE, residual SD, R² (coef only)")
    print(f"{'file':9s} {'OLS':>13s} {'numpy lstsq':>13s} {'sklearn':>13s}")
    for name in names:
        path = reference_path(name) if name in SHIPPED else EXTRA / f"{name}.dat"
        if not path.exists():
            print(f"{name:9s} (file not available)")
            continue
        prob = read_nist(path)
        c = prob.certified
        certified = [*c.coef, *c.stderr, c.residual_sd, c.r2]
        A = np.column_stack([np.ones(prob.n_observations)] * prob.fit_intercept + [prob.design])
        ols = OLS(fit_intercept=prob.fit_intercept, degree=prob.degree).fit(prob.x, prob.y)
        b_np = np.linalg.lstsq(A, prob.y, rcond=None)[0]
        sk = LinearRegression(fit_intercept=prob.fit_intercept).fit(prob.design, prob.y)
        b_sk = np.concatenate([[sk.intercept_]] * prob.fit_intercept + [sk.coef_])
        estimates = {
            "OLS": [*ols.coef_with_intercept_, *ols.stderr_, ols.residual_sd_, ols.r2_],
        }
        for key, b in (("numpy", b_np), ("sklearn", b_sk)):
            se, sd, r2 = _textbook_stats(A, prob.y, b, prob.fit_intercept)
            estimates[key] = [*b, *se, sd, r2]
        cells = []
        for est in estimates.values():
            digits = [lre(e, t) for e, t in zip(est, certified, strict=True)]
            cells.append(f"{min(digits):5.1f} ({min(digits[: len(c.coef)]):4.1f})")
        print(f"{name:9s} " + " ".join(f"{cell:>13s}" for cell in cells))


def streaming(n: int, p: int, chunk: int) -> None:
    def chunks():
        rng = np.random.default_rng(1)
        beta = np.arange(1.0, p + 1)
        for start in range(0, n, chunk):
            m = min(chunk, n - start)
            X = rng.standard_normal((m, p))
            yield X, X @ beta + 2.0 + rng.standard_normal(m)

    tracemalloc.start()
    start = time.perf_counter()
    model = OLS().fit_chunks(chunks())
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full = n * (p + 1) * 8
    print(f"\n## Streaming: {n:,} rows x {p} predictors in chunks of {chunk:,}")
    print(
        f"peak traced memory {peak / 2**20:8.1f} MiB   (one chunk: "
        f"{chunk * (p + 1) * 8 / 2**20:.1f} MiB)"
    )
    print(f"full array would be {full / 2**20:8.1f} MiB   ratio {peak / full:.4f}")
    print(
        f"fit time {seconds:.2f} s; max |coef - beta| = "
        f"{np.max(np.abs(model.coef_ - np.arange(1.0, p + 1))):.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    args = parser.parse_args()
    if args.quick:
        speed(n=100_000, p=20, repeats=1)
        accuracy()
        streaming(n=1_000_000, p=20, chunk=100_000)
    else:
        speed(n=1_000_000, p=20, repeats=3)
        accuracy()
        streaming(n=10_000_000, p=20, chunk=100_000)


if __name__ == "__main__":
    main()
