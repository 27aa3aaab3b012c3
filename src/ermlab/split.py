"""Train/test splits, seeded from the ``split`` random stream."""

from __future__ import annotations

import numpy as np

from ermlab.config import ConfigError
from ermlab.data.base import Dataset
from ermlab.seeding import rng

REAL_DATA_TEST_FRACTION = 0.25


def n_test_for(cfg, dataset: Dataset) -> int:
    """How many points the test set gets: ``split.n_test``, else ``split.test_fraction`` of n
    (rounded), else the synthetic source's own ``n_test``, else 25 %."""
    n = len(dataset)
    if cfg.n_test is not None:
        n_test = cfg.n_test
    elif cfg.test_fraction is not None:
        n_test = round(cfg.test_fraction * n)
    elif dataset.n_test is not None:
        n_test = dataset.n_test
    else:
        n_test = round(REAL_DATA_TEST_FRACTION * n)
    if not 0 < n_test < n:
        raise ConfigError(
            f"split: cannot hold out {n_test} of {n} points from {dataset.source}: "
            "the test set and the training set each need at least one point"
        )
    return n_test


def split(dataset: Dataset, cfg, seed: int) -> tuple[Dataset, Dataset]:
    """A random train/test split of ``dataset``; returns (train, test)."""
    n_test = n_test_for(cfg, dataset)
    order = rng(seed, "split").permutation(len(dataset))
    return dataset.subset(np.sort(order[n_test:])), dataset.subset(np.sort(order[:n_test]))
