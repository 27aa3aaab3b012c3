"""Overhead of ermlab's torch training loop over a minimal hand-written PyTorch loop.

Both sides train the same MLP (p → 64 → 64 → 1, ReLU) with Adam on mean squared error, on
the same data, for the same number of epochs, full batch and in mini-batches. Each timed
run goes from numpy arrays to a trained network, so ermlab's own work (input validation,
standardisation, history, divergence checks, copying the state back) counts against it;
the minimal loop records nothing. Runs are interleaved (alternating which side goes first)
after one untimed warm-up each, and the median per-epoch time is compared:

    overhead % = 100 * (median ermlab / median minimal - 1)      target: <= 10 %

Usage::

    python benchmarks/bench_torch_loop.py [--n 10000] [--repeats 5] [--device auto]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from ermlab.models.torch_nets import TorchMLPRegressor

HIDDEN = (64, 64)
LR = 1e-3


def make_data(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Smooth nonlinear regression data, X (n, p), y (n,)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = np.sin(X @ rng.normal(size=p) / np.sqrt(p)) + 0.1 * rng.normal(size=n)
    return X, y


def minimal_fit(
    X: np.ndarray, y: np.ndarray, batch_size: int | None, epochs: int, device, dtype
) -> torch.nn.Module:
    """The loop one would write by hand: standardise, build, Adam, shuffle, step."""
    Xt = torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=dtype).to(device)
    yt = torch.as_tensor((y - y.mean()) / y.std(), dtype=dtype).to(device)
    sizes = [X.shape[1], *HIDDEN, 1]
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device=device, dtype=dtype)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    n = Xt.shape[0]
    for _ in range(epochs):
        if batch_size is None:
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(Xt).squeeze(1), yt).backward()
            opt.step()
            continue
        perm = torch.randperm(n, device=device)
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            opt.zero_grad()
            torch.nn.functional.mse_loss(net(Xt[idx]).squeeze(1), yt[idx]).backward()
            opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()  # ermlab syncs when it copies the state back: same here
    return net


def ermlab_fit(
    X: np.ndarray, y: np.ndarray, batch_size: int | None, epochs: int, device, dtype
) -> TorchMLPRegressor:
    """The same training through the estimator API."""
    return TorchMLPRegressor(
        hidden_sizes=HIDDEN,
        optimizer="adam",
        lr=LR,
        batch_size=batch_size,
        epochs=epochs,
        tol=None,
        device=str(device),
        dtype=str(dtype).removeprefix("torch."),
        progress=False,
        random_state=0,
    ).fit(X, y)


def per_epoch_seconds(fn: Callable[[], object], epochs: int) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="training samples")
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved timed runs")
    parser.add_argument("--epochs-full", type=int, default=200, help="full-batch epochs")
    parser.add_argument("--epochs-batch", type=int, default=20, help="mini-batch epochs")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()

    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    X, y = make_data(args.n, args.features)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"torch {torch.__version__}, device {device} ({name}), threads "
        f"{torch.get_num_threads()}, {args.dtype}, n={args.n}, p={args.features}, "
        f"MLP {'-'.join(map(str, HIDDEN))}, Adam lr={LR}, {args.repeats} interleaved repeats"
    )

    header = (
        f"{'setting':<22}{'epochs':>7}{'ermlab ms/ep':>14}{'minimal ms/ep':>15}{'overhead':>10}"
    )
    print(header)
    worst = -np.inf
    for label, batch_size, epochs in [
        ("full batch", None, args.epochs_full),
        (f"batch {args.batch_size}", args.batch_size, args.epochs_batch),
    ]:
        runs = {
            "ermlab": lambda bs=batch_size, e=epochs: ermlab_fit(X, y, bs, e, device, dtype),
            "minimal": lambda bs=batch_size, e=epochs: minimal_fit(X, y, bs, e, device, dtype),
        }
        for fn in runs.values():  # warm-up: lazy imports, allocator, kernels
            fn()
        times: dict[str, list[float]] = {"ermlab": [], "minimal": []}
        for r in range(args.repeats):
            order = ["ermlab", "minimal"] if r % 2 == 0 else ["minimal", "ermlab"]
            for key in order:
                times[key].append(per_epoch_seconds(runs[key], epochs))
        med = {k: statistics.median(v) for k, v in times.items()}
        overhead = 100.0 * (med["ermlab"] / med["minimal"] - 1.0)
        worst = max(worst, overhead)
        print(
            f"{label:<22}{epochs:>7}{1e3 * med['ermlab']:>14.3f}{1e3 * med['minimal']:>15.3f}"
            f"{overhead:>9.1f}%"
        )
        # The minimum is the least noise-sensitive estimate on a shared machine.
        spread = {k: f"{1e3 * min(v):.3f}-{1e3 * max(v):.3f}" for k, v in times.items()}
        best = 100.0 * (min(times["ermlab"]) / min(times["minimal"]) - 1.0)
        print(
            f"{'':<22}range ms/ep: ermlab {spread['ermlab']}, minimal {spread['minimal']}; "
            f"overhead of minima {best:.1f}%"
        )
    print(f"worst overhead {worst:.1f}% (target <= 10%): {'OK' if worst <= 10 else 'ABOVE TARGET'}")


if __name__ == "__main__":
    main()
