"""Scale: a 10^8-point linear source fitted and evaluated in bounded memory.

``data.n_train = 100_000_000`` for the ``linear`` source (conf/data/height_weight.yaml) would
take 1.6 GB as full float64 arrays (X (n, 1) and y (n,)). Here nothing of size n is ever held:
``LinearSource.sample_chunks`` streams ``--chunk`` rows at a time into

1. a normal-equations accumulator, X̃ᵀX̃ and X̃ᵀy with X̃ = [1, x] in float64, solved at the end;
2. ``ermlab.models.ols.OLS.fit_chunks`` (streaming TSQR);
3. ``ermlab.evaluate.population_risks`` of that fit on ``--n-pop`` fresh points (default: n),
   read in its own chunks of 10^6 and checked against the exact population MSE
   ``LinearSource.linear_population_mse``.

Memory is measured two ways per phase: the tracemalloc peak (numpy reports its buffers to
tracemalloc, so this is the peak of the array allocations during the phase) and the process's
peak resident set size (``resource.getrusage(...).ru_maxrss``, a high-water mark since start,
including the interpreter and imported libraries).

Usage::

    .venv/bin/python benchmarks/bench_scale.py                # n = 10^8, chunk = 10^6
    .venv/bin/python benchmarks/bench_scale.py --n 10000000 --chunk 250000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np

from ermlab.config import compose, validate
from ermlab.data import make_source
from ermlab.evaluate import population_risks
from ermlab.seeding import rng

MB = 1024**2


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / MB


def measured(fn: Callable[[], object]) -> tuple[object, float, float, float]:
    """Run ``fn``; return (its result, seconds, tracemalloc peak MiB, peak RSS MiB after)."""
    tracemalloc.reset_peak()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    return result, seconds, tracemalloc.get_traced_memory()[1] / MB, peak_rss_mb()


def normal_equations(chunks: Iterator[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Least squares θ = (X̃ᵀX̃)⁻¹X̃ᵀy with X̃ = [1, X], accumulated chunk by chunk in float64.

    The intercept column is never materialised: X̃ᵀX̃ = [[m, Σxᵀ], [Σx, XᵀX]], X̃ᵀy = [Σy, Xᵀy].
    """
    gram = rhs = None
    for X, y in chunks:
        p = X.shape[1]
        if gram is None:
            gram, rhs = np.zeros((p + 1, p + 1)), np.zeros(p + 1)
        col_sum = X.sum(axis=0)
        gram[0, 0] += len(y)
        gram[0, 1:] += col_sum
        gram[1:, 0] += col_sum
        gram[1:, 1:] += X.T @ X
        rhs[0] += y.sum()
        rhs[1:] += X.T @ y
    return np.linalg.solve(gram, rhs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000_000, help="data.n_train (rows)")
    parser.add_argument("--chunk", type=int, default=1_000_000, help="rows per chunk")
    parser.add_argument("--n-pop", type=int, default=None, help="population points (default n)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="height_weight", help="a linear conf/data example")
    args = parser.parse_args(argv)
    n_pop = args.n_pop or args.n

    config = validate(compose([f"data={args.data}", f"data.n_train={args.n}", f"seed={args.seed}"]))
    source = make_source(config.data)
    if config.data.kind != "linear":
        parser.error(f"--data {args.data} is a {config.data.kind} source; this needs a linear one")
    p = len(source.feature_names)
    full_gb = args.n * (p + 1) * 8 / 1e9

    def train_chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        # The same seed and chunk size give the same chunks on every pass.
        return source.sample_chunks(args.n, rng(args.seed, "data"), args.chunk)

    from ermlab.models.ols import OLS

    tracemalloc.start()
    baseline_rss = peak_rss_mb()
    rows: list[tuple[str, int, float, float, float]] = []

    def draw_only() -> int:
        return sum(len(y) for _, y in train_chunks())

    # Baseline: the cost of drawing the chunks alone, which every consumer below pays too.
    _, secs, peak, rss = measured(draw_only)
    rows.append(("draw only (no consumer)", args.n, secs, peak, rss))

    theta, secs, peak, rss = measured(lambda: normal_equations(train_chunks()))
    rows.append(("fit: normal equations", args.n, secs, peak, rss))
    fits = {"normal equations": (float(theta[0]), np.asarray(theta[1:]))}

    model, secs, peak, rss = measured(lambda: OLS().fit_chunks(train_chunks()))
    rows.append(("fit: OLS.fit_chunks (TSQR)", args.n, secs, peak, rss))
    intercept, coef = float(model.intercept_), np.asarray(model.coef_, dtype=float)
    fits["OLS.fit_chunks"] = (intercept, coef)

    # ermlab's own population-risk estimate (what `evaluate` reports), in its chunks of 10^6.
    risks, secs, peak, rss = measured(
        lambda: population_risks(model, source, n_pop, args.seed, noise_var=1.0)
    )
    pop, pop_se = risks["mse"], risks["mse_se"]
    rows.append(("population MSE (fresh draws)", n_pop, secs, peak, rss))
    tracemalloc.stop()

    print(f"linear source {args.data!r}: n = {args.n:,}, chunk = {args.chunk:,}, p = {p}")
    print(f"full arrays X ({args.n:,}, {p}) + y would take {full_gb:.2f} GB (float64)")
    print(f"peak RSS after imports, before streaming: {baseline_rss:,.0f} MiB\n")
    header = (
        f"{'phase':<30} {'rows':>13} {'seconds':>8} {'Mrows/s':>8} "
        f"{'tracemalloc':>12} {'peak RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, n, secs, peak, rss in rows:
        print(
            f"{name:<30} {n:>13,} {secs:>8.2f} {n / secs / 1e6:>8.1f} "
            f"{peak:>9.1f} MiB {rss:>5.0f} MiB"
        )
    print()
    truth = (source.intercept, source.coef)
    print(f"true line:        intercept {truth[0]: .6f}, coef {np.array2string(truth[1])}")
    for name, (b0, b) in fits.items():
        print(f"{name + ':':<17} intercept {b0: .6f}, coef {np.array2string(b, precision=6)}")
    exact = source.linear_population_mse(intercept, coef)
    print(
        f"population MSE: chunked {pop:.6f} ± {pop_se:.6f}, exact {exact:.6f}, "
        f"Bayes {source.bayes_risk('mse'):.6f}"
    )


if __name__ == "__main__":
    main()
