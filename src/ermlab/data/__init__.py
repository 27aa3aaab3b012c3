"""Data sources, one registry: ``make_source(cfg)`` and ``generate(cfg, seed)``.

A ``data`` config either describes a synthetic source (``linear``, ``polynomial``, ...: a known
p(x) and p(y|x), see :mod:`ermlab.data.synthetic`) or a real dataset (``csv``, ``nist``,
``sklearn``: see :mod:`ermlab.data.real`), which has no population. Importing this package
imports numpy only: the generate and split stages stay light.
"""

from __future__ import annotations

from ermlab.data.base import DataError, Dataset, Population
from ermlab.seeding import rng

__all__ = ["DataError", "Dataset", "Population", "generate", "is_synthetic", "make_source"]

REAL_KINDS = ("csv", "nist", "sklearn")


def is_synthetic(cfg) -> bool:
    """Whether the ``data`` config describes a source with a known distribution."""
    return cfg.kind not in REAL_KINDS


def make_source(cfg) -> Population | None:
    """The synthetic source a validated ``data`` config describes; ``None`` for real data."""
    if not is_synthetic(cfg):
        return None
    from ermlab.data.synthetic import SOURCES

    return SOURCES[cfg.kind](cfg)


def generate(cfg, seed: int) -> tuple[Dataset, Population | None]:
    """Draw (or load) the dataset the ``data`` config describes.

    Returns the dataset and the source (``None`` for real data). A synthetic source draws
    ``n_train + n_test`` i.i.d. points from the ``data`` random stream, and the dataset records
    ``n_test`` so that the default split holds out exactly those.
    """
    source = make_source(cfg)
    if source is None:
        from ermlab.data.real import load

        return load(cfg), None
    X, y = source.sample(cfg.n_train + cfg.n_test, rng(seed, "data"))
    dataset = Dataset(
        X,
        y,
        tuple(source.feature_names),
        source.target_name,
        source=cfg.kind,
        task=source.task,
        n_test=cfg.n_test,
    )
    return dataset, source
