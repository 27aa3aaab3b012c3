"""Data sources, one registry: ``make_source(cfg)`` and ``generate(cfg, seed)``.

Importing this package imports numpy only: the generate and split stages stay light.
"""

from __future__ import annotations

from ermlab.data.base import Dataset, Population
from ermlab.seeding import rng

__all__ = ["Dataset", "Population", "generate", "make_source"]


def make_source(cfg) -> Population:
    """The synthetic source a validated ``data`` config describes."""
    from ermlab.data.synthetic import LinearSource

    sources = {"linear": LinearSource}
    return sources[cfg.kind](cfg)


def generate(cfg, seed: int) -> tuple[Dataset, Population | None]:
    """Draw (or load) the dataset the ``data`` config describes.

    Returns the dataset (n_train + n_test rows for a synthetic source, drawn from the ``data``
    random stream) and the source itself (``None`` for real data, which has no population).
    """
    source = make_source(cfg)
    X, y = source.sample(cfg.n_train + cfg.n_test, rng(seed, "data"))
    dataset = Dataset(
        X, y, tuple(cfg.features), cfg.target, source=cfg.kind, n_test=cfg.n_test
    )
    return dataset, source
