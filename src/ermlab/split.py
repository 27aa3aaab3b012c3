"""Train/test splits, seeded from the ``split`` random stream.

``split(dataset, cfg, seed, source)`` returns ``(train, test)`` for every ``split`` kind:

``random``
    A random partition: ``rng(seed, "split").permutation(n)``; the first ``n_test`` indices
    (sorted) are the test set, the rest (sorted) the training set.
``stratified``
    A random partition that keeps each class's share in both parts (classification only).
``fixed_design``
    Training inputs on a grid over the source's input range, targets drawn from p(y|x); the
    test set is the dataset's own held-out rows, drawn i.i.d. from p(x) (synthetic one-input
    sources only).
``population``
    The training set as in ``random``; the test set is ``n_test`` fresh points from the source
    (synthetic only), so the test risk estimates the population risk.
``biased``
    A random partition, then a selection rule on the training rows only (the test set stays an
    unbiased sample).
``k_fold``
    The random partition; evaluation then cross-validates on the training set with
    :func:`kfold_indices`.
``none``
    No split (:func:`no_split`): every row trains, the test set is empty (no test risk).

Row order: every subset of the dataset keeps the dataset's row order (sorted indices), so a
split is a pure function of (dataset, config, seed). Only numpy is imported here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ermlab.config import ConfigError
from ermlab.data.base import DataError, Dataset, Population
from ermlab.seeding import rng

__all__ = ["kfold_indices", "n_test_for", "no_split", "require_two_classes", "split"]

REAL_DATA_TEST_FRACTION = 0.25


# ------------------------------------------------------------------------------------ sizes
def n_test_for(cfg: Any, dataset: Dataset) -> int:
    """How many points the test set gets.

    ``split.n_test``, else ``split.test_fraction`` of n (rounded), else the synthetic source's
    own ``n_test``, else 25 % of n (rounded).

    Raises
    ------
    ConfigError
        The split asks for more rows than there are (both parts need at least one row).
    """
    n = len(dataset)
    if getattr(cfg, "n_test", None) is not None:
        n_test, asked = cfg.n_test, f"split.n_test={cfg.n_test}"
    elif getattr(cfg, "test_fraction", None) is not None:
        n_test = round(cfg.test_fraction * n)
        asked = f"split.test_fraction={cfg.test_fraction} ({n_test} test rows)"
    elif dataset.n_test is not None:
        n_test, asked = dataset.n_test, f"data.n_test={dataset.n_test}"
    else:
        n_test = round(REAL_DATA_TEST_FRACTION * n)
        asked = f"the default 25 % ({n_test} test rows)"
    if n_test >= n:
        raise ConfigError(
            f"split: dataset {dataset.source} has {n} rows, fewer rows than the split asks for: "
            f"{asked} plus at least 1 training row"
        )
    if n_test < 1:
        raise ConfigError(
            f"split: {asked} leaves no test row out of the {n} rows of {dataset.source}: "
            "the test set needs at least 1 row"
        )
    return n_test


def _random_partition(n: int, n_test: int, gen: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(train indices, test indices), each sorted; the draw every random-based split shares."""
    order = gen.permutation(n)
    return np.sort(order[n_test:]), np.sort(order[:n_test])


# ------------------------------------------------------------------------------------ checks
def _label(value: Any) -> Any:
    """A numpy scalar as the Python value (messages show ``1``, not ``np.int64(1)``)."""
    return value.item() if isinstance(value, np.generic) else value


def require_two_classes(train: Dataset, cfg: Any) -> None:
    """Raise unless a classification training set holds at least two classes.

    A classifier cannot be fitted on one class; the one exception is the ``biased`` split with
    ``rule: class``, which asks for exactly that (to show ERM failing on a one-class sample).
    Regression training sets pass unchecked.

    Raises
    ------
    DataError
        One line: the dataset, the one class present and how to get two.
    """
    if train.task != "classification":
        return
    if getattr(cfg, "kind", None) == "biased" and getattr(cfg, "rule", None) == "class":
        return
    classes = np.unique(train.y)
    if len(classes) < 2:
        present = "no rows" if len(classes) == 0 else f"only class {_label(classes[0])!r}"
        raise DataError(
            f"split: the training set of {train.source} ({len(train)} rows) has {present}: a "
            "classifier needs at least two classes (use more training rows or split=stratified)"
        )


def _need_source(source: Any, kind: str, dataset: Dataset, one_input: bool) -> None:
    """A one-line error unless ``source`` is a synthetic source the split kind can use."""
    if source is None:
        raise ConfigError(
            f"split.kind={kind!r} is not allowed for {dataset.source}: it needs a synthetic "
            "source (a known p(x) and p(y|x)), and real data has none; use split=random"
        )
    if dataset.n_test is None:
        raise ConfigError(
            f"split.kind={kind!r} is not allowed for {dataset.source}: the dataset does not "
            "record the source's n_test (it was not drawn by ermlab.data.generate)"
        )
    if one_input and (len(source.feature_names) != 1 or not hasattr(source, "grid")):
        raise ConfigError(
            f"split.kind={kind!r} is not allowed for {dataset.source}: a grid design needs a "
            f"one-input source with a grid, this one has inputs {tuple(source.feature_names)}"
        )


# ------------------------------------------------------------------------------------ kinds
def _stratified(dataset: Dataset, cfg: Any, gen: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per-class test counts as scikit-learn's StratifiedShuffleSplit draws them.

    The training count of class c is n_c·n_train/n rounded down, and the rows left over go to
    the classes with the largest fractional parts (ties broken at random); the test set takes
    the rest of each class. Then each class's rows are permuted and cut.
    """
    if dataset.task != "classification":
        raise ConfigError(
            f"split.kind='stratified' is not allowed for {dataset.source}: it keeps class "
            "shares, and this is a regression dataset; use split=random"
        )
    n = len(dataset)
    n_test = n_test_for(cfg, dataset)
    n_train = n - n_test
    classes, codes, counts = np.unique(dataset.y, return_inverse=True, return_counts=True)
    k = len(classes)
    if counts.min() < 2:
        c = _label(classes[np.argmin(counts)])
        raise DataError(
            f"split: class {c!r} of {dataset.source} has 1 row: a stratified split needs at "
            "least 2 rows of each class"
        )
    if min(n_test, n_train) < k:
        raise ConfigError(
            f"split: {n_train} training and {n_test} test rows of {dataset.source}: a "
            f"stratified split needs at least one row of each of the {k} classes in each part"
        )
    exact = counts * n_train / n
    train_counts = np.floor(exact).astype(int)
    short = n_train - train_counts.sum()
    if short:
        # Largest fractional part first; a random key breaks ties, as scikit-learn does.
        tie_break = gen.random(k)
        order = np.lexsort((tie_break, -(exact - train_counts)))
        train_counts[order[:short]] += 1
    test_parts = []
    for c in range(k):
        rows = gen.permutation(np.flatnonzero(codes == c))
        test_parts.append(rows[: counts[c] - train_counts[c]])
    test_idx = np.sort(np.concatenate(test_parts))
    train_idx = np.setdiff1d(np.arange(n), test_idx)  # sorted
    return train_idx, test_idx


def _fixed_design(
    dataset: Dataset, source: Population | None, gen: np.random.Generator
) -> tuple[Dataset, Dataset]:
    """Train on ``source.grid(n_train)`` with targets from p(y|x); test on the dataset's last
    ``n_test`` rows (the i.i.d. draws from p(x) that ``generate`` appended after the training
    draws)."""
    _need_source(source, "fixed_design", dataset, one_input=True)
    n_test = dataset.n_test
    n_train = len(dataset) - n_test
    if n_train < 1 or n_test < 1:
        raise ConfigError(
            f"split: dataset {dataset.source} has {len(dataset)} rows with data.n_test={n_test}: "
            "a fixed design needs at least 1 training and 1 test row"
        )
    X = np.asarray(source.grid(n_train), dtype=float).reshape(n_train, 1)
    train = dataset.with_rows(X, source.sample_at(X, gen))
    return train, dataset.subset(np.arange(n_train, len(dataset)))


def _population(
    dataset: Dataset, cfg: Any, source: Population | None, gen: np.random.Generator
) -> tuple[Dataset, Dataset]:
    """Train on every row but the dataset's own held-out ones (the ``random`` partition with
    the source's n_test); test on ``cfg.n_test`` fresh draws from the source.

    The fresh draws come from the split stream, after the partition: the ``population`` stream
    is the evaluation's, and reusing it would make the test set the population sample itself.
    """
    _need_source(source, "population", dataset, one_input=False)
    n = len(dataset)
    n_hold = dataset.n_test
    if n_hold >= n:
        raise ConfigError(
            f"split: dataset {dataset.source} has {n} rows, fewer rows than the split asks for: "
            f"data.n_test={n_hold} held out plus at least 1 training row"
        )
    train_idx, _ = _random_partition(n, n_hold, gen)
    return dataset.subset(train_idx), dataset.with_rows(*source.sample(cfg.n_test, gen))


def no_split(dataset: Dataset) -> tuple[Dataset, Dataset]:
    """Train on every row, test on none: ``split=none``, the classic regression on a whole table.

    A synthetic source's dataset holds its ``n_train`` training draws followed by ``n_test``
    held-out draws (see :func:`ermlab.data.generate`): the training draws are every row the user
    asked to fit on, so the held-out ones are left out. Real data keep every row.

    Returns
    -------
    train : Dataset
        (n_train, p), rows in dataset order.
    test : Dataset
        (0, p): empty, so evaluation reports no test risk.
    """
    n_train = len(dataset) - (dataset.n_test or 0)
    return dataset.subset(np.arange(n_train)), dataset.subset(np.arange(0))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warning for large |z|, unlike 1 / (1 + exp(-z)).
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _biased_keep(train: Dataset, cfg: Any, gen: np.random.Generator) -> np.ndarray:
    """Boolean mask (n_train,) of the training rows the selection rule keeps."""
    p = train.X.shape[1]
    needs_feature = cfg.rule == "range" or (cfg.rule == "prob" and cfg.on == "x")
    if needs_feature and cfg.feature >= p:
        raise ConfigError(
            f"split.feature={cfg.feature} is not allowed for {train.source}: a column index "
            f"0..{p - 1} of {train.feature_names}"
        )
    if cfg.rule == "range":
        x = train.X[:, cfg.feature]
        return (cfg.low <= x) & (x <= cfg.high)
    if cfg.rule == "class":
        if train.task != "classification":
            raise ConfigError(
                f"split.rule='class' is not allowed for {train.source}: a regression dataset "
                "has no classes; use rule range or prob"
            )
        return train.y == cfg.keep_class
    v = train.X[:, cfg.feature] if cfg.on == "x" else np.asarray(train.y, dtype=float)
    return gen.random(len(train)) < _sigmoid(cfg.prob_intercept + cfg.prob_slope * _standard(v))


def _standard(v: np.ndarray) -> np.ndarray:
    """``v`` in standard deviations from its mean (0 where it does not vary): the prob rule's
    slope means the same on any data (heights in cm: a slope of 1 per cm kept every row)."""
    if np.ptp(v) == 0:  # its std is rounding error (1.4e-17 for 0.1, 0.1, 0.1), not 0
        return np.zeros_like(v, dtype=float)
    return (v - v.mean()) / v.std()


def _describe_rule(cfg: Any) -> str:
    if cfg.rule == "range":
        return f"rule range ({cfg.low} <= x[{cfg.feature}] <= {cfg.high})"
    if cfg.rule == "class":
        return f"rule class (keep_class={cfg.keep_class})"
    v = f"x[{cfg.feature}]" if cfg.on == "x" else "y"
    return f"rule prob (sigmoid({cfg.prob_intercept} + {cfg.prob_slope}*z), z = standardized {v})"


# -------------------------------------------------------------------------------------- API
def split(
    dataset: Dataset, cfg: Any, seed: int, source: Population | None = None
) -> tuple[Dataset, Dataset]:
    """Split ``dataset`` into (train, test) as the ``split`` config says.

    Parameters
    ----------
    dataset : Dataset
        X (n, p), y (n,). For a synthetic source, ``dataset.n_test`` is the number of held-out
        points it drew after the training points.
    cfg : RandomSplitConfig or another split schema (dispatched on ``cfg.kind``)
    seed : int
        Root seed; every draw here uses ``rng(seed, "split")``.
    source : Population, optional
        The synthetic source (``fixed_design`` and ``population`` need it; ``None`` for real
        data).

    Returns
    -------
    train, test : Dataset
        Row order as in the dataset (or grid order for a fixed design); ``n_test`` is ``None``.

    Raises
    ------
    ConfigError
        The split asks for more rows than there are, needs a source the data lacks, or names a
        column that does not exist.
    DataError
        The biased rule keeps no training row, or a classification training set has a single
        class (see :func:`require_two_classes`).
    """
    kind = getattr(cfg, "kind", "random")
    if getattr(source, "design", None) == "grid" and kind != "fixed_design":
        # Only the fixed-design split draws training inputs on the grid; any other split would
        # silently train on i.i.d. inputs.
        raise ConfigError(
            f"split.kind={kind!r} is not allowed with data.design=grid: the grid fixes the "
            "training inputs, use split=fixed_design (or data.design=uniform)"
        )
    gen = rng(seed, "split")
    if kind in ("random", "k_fold", "biased"):
        train_idx, test_idx = _random_partition(len(dataset), n_test_for(cfg, dataset), gen)
        train, test = dataset.subset(train_idx), dataset.subset(test_idx)
        if kind == "biased":
            keep = _biased_keep(train, cfg, gen)
            if not keep.any():
                raise DataError(
                    f"split: the biased {_describe_rule(cfg)} keeps none of the {len(train)} "
                    f"training rows of {dataset.source}: widen the rule"
                )
            train = dataset.subset(train_idx[keep])
    elif kind == "stratified":
        train_idx, test_idx = _stratified(dataset, cfg, gen)
        train, test = dataset.subset(train_idx), dataset.subset(test_idx)
    elif kind == "fixed_design":
        train, test = _fixed_design(dataset, source, gen)
    elif kind == "population":
        train, test = _population(dataset, cfg, source, gen)
    elif kind == "none":
        train, test = no_split(dataset)
    else:
        raise ConfigError(
            f"split.kind={kind!r} is not allowed: one of random, stratified, fixed_design, "
            "population, biased, k_fold, none"
        )
    if dataset.task == "classification":
        require_two_classes(train, cfg)
    return train, test


def kfold_indices(n: int, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k-fold cross-validation indices for a training set of ``n`` rows.

    A random permutation of ``range(n)`` is cut into ``k`` consecutive folds whose sizes differ
    by at most one (the first ``n % k`` folds get one more row). The permutation comes from the
    first child of the ``split`` stream's SeedSequence, so it is reproducible from ``seed`` and
    independent of the train/test permutation drawn from that stream itself.

    Parameters
    ----------
    n : int
        Number of training rows.
    k : int
        Number of folds, 2 <= k <= n.
    seed : int
        Root seed.

    Returns
    -------
    list of (fit, held_out) index arrays, each sorted
        ``k`` pairs; every index 0..n−1 is in exactly one ``held_out`` array, and ``fit`` is
        the complement of ``held_out``.

    Raises
    ------
    ConfigError
        ``k`` outside 2..n.
    """
    if not 2 <= k <= n:
        raise ConfigError(f"split.k={k} is not allowed: between 2 and the {n} training rows")
    gen = rng(seed, "split", sub="kfold")
    folds = np.array_split(gen.permutation(n), k)
    everything = np.arange(n)
    result = []
    for fold in folds:
        held = np.sort(fold)
        result.append((np.setdiff1d(everything, held), held))
    return result
