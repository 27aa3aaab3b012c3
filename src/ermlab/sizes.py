"""Sample sizes whose arrays cannot fit in memory are refused before anything is allocated.

``data.n_train=10000000000`` used to end in numpy's ``_ArrayMemoryError`` traceback after
minutes of swapping. The estimate is deliberately simple and stated in the message: the rows
drawn at once, times (inputs + target) float64 values, times :data:`COPIES` (the draw, its
train/test copies, the model's working copy), against the memory the machine has available
now. The population risk's ``data.n_population`` is drawn in chunks of bounded size
(:data:`ermlab.evaluate.POPULATION_CHUNK`), so it is not limited here.
"""

from __future__ import annotations

from typing import Any

COPIES = 3
FLOAT_BYTES = 8
CHECK_ABOVE_BYTES = 1 << 28  # below 256 MiB nothing is worth asking the OS about


def input_width(data: Any) -> int:
    """The number of input columns a synthetic ``data`` config draws (1 for one-input sources)."""
    return len(getattr(data, "features", None) or [None])


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB"


def available_memory() -> int:
    """Bytes of memory available to a new allocation now (psutil, a dependency of DVC)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_sizes(data: Any, split: Any) -> None:
    """Refuse ``data.n_train``/``data.n_test`` (drawn together by ``generate``) and the fresh
    test points of ``split=population`` (``split.n_test``) when their arrays would not fit in
    the available memory.

    Raises
    ------
    ConfigError naming the key, its value, the memory it would take and what is available.
    """
    from ermlab.config import ConfigError

    if data is None or not hasattr(data, "n_train"):
        return  # real data: the file's size is what it is
    row_bytes = (input_width(data) + 1) * FLOAT_BYTES * COPIES
    asks = [
        (
            "data.n_test" if data.n_test > data.n_train else "data.n_train",
            data.n_train + data.n_test,
        )
    ]
    if split is not None and getattr(split, "kind", None) == "population":
        asks.append(("split.n_test", split.n_test))
    for key, rows in asks:
        need = rows * row_bytes
        if need <= CHECK_ABOVE_BYTES:
            continue
        available = available_memory()
        if need > available:
            value = data.n_test if key == "data.n_test" else data.n_train
            value = split.n_test if key == "split.n_test" else value
            raise ConfigError(
                f"{key}={value} is not allowed: {rows:,} rows drawn at once would take about "
                f"{_gib(need)} of memory ({COPIES} copies of {input_width(data) + 1} float64 "
                f"columns), and {_gib(available)} is available (data.n_population, the "
                "fresh points of the population risk, has no such limit: it is drawn in chunks)"
            )
