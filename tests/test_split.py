"""Splits: sizes, disjointness, reproducibility, and each kind against an independent truth."""

from __future__ import annotations

import numpy as np
import pytest

from ermlab.config import (
    BiasedSplitConfig,
    ConfigError,
    FixedDesignSplitConfig,
    InputDistConfig,
    KFoldSplitConfig,
    LinearSourceConfig,
    PopulationSplitConfig,
    RandomSplitConfig,
    StratifiedSplitConfig,
    compose,
    validate,
)
from ermlab.data import generate
from ermlab.data.base import DataError, Dataset
from ermlab.data.synthetic import LinearSource
from ermlab.seeding import rng
from ermlab.split import kfold_indices, require_two_classes, split


def regression(n: int = 40, p: int = 2) -> Dataset:
    """Rows you can recognise: X[i] = (i, 100 + i, ...), y[i] = 1000 + i."""
    X = np.column_stack([np.arange(n) + 100.0 * j for j in range(p)])
    return Dataset(X, 1000.0 + np.arange(n), tuple(f"x{j}" for j in range(p)), "y", "rows")


def classification(counts: list[int]) -> Dataset:
    y = np.repeat(np.arange(len(counts)), counts)
    X = np.arange(len(y), dtype=float)[:, None]
    return Dataset(X, y, ("x",), "label", "labels", task="classification")


def row_ids(part: Dataset) -> np.ndarray:
    return part.X[:, 0].astype(int)


# ------------------------------------------------------------------------------------- random
def test_random_split_sizes_disjoint_reproducible() -> None:
    data = regression(40)
    train, test = split(data, RandomSplitConfig(n_test=10), seed=3)
    assert (len(train), len(test)) == (30, 10)
    ids_train, ids_test = row_ids(train), row_ids(test)
    assert set(ids_train).isdisjoint(ids_test) and set(ids_train) | set(ids_test) == set(range(40))
    np.testing.assert_array_equal(train.y, 1000 + ids_train)  # rows stay whole
    again = split(data, RandomSplitConfig(n_test=10), seed=3)
    np.testing.assert_array_equal(row_ids(again[1]), ids_test)
    other = split(data, RandomSplitConfig(n_test=10), seed=4)
    assert not np.array_equal(row_ids(other[1]), ids_test)


def test_random_split_draw_is_the_documented_one() -> None:
    order = rng(7, "split").permutation(40)
    train, test = split(regression(40), RandomSplitConfig(test_fraction=0.25), seed=7)
    np.testing.assert_array_equal(row_ids(test), np.sort(order[:10]))
    np.testing.assert_array_equal(row_ids(train), np.sort(order[10:]))


def test_random_split_sizes_defaults() -> None:
    assert len(split(regression(40), RandomSplitConfig(), 0)[1]) == 10  # 25 % of real data
    synthetic = Dataset(np.zeros((40, 1)), np.zeros(40), ("x",), "y", "s", n_test=7)
    assert len(split(synthetic, RandomSplitConfig(), 0)[1]) == 7


@pytest.mark.parametrize(
    "cfg",
    [RandomSplitConfig(n_test=40), KFoldSplitConfig(n_test=50), BiasedSplitConfig(n_test=41)],
)
def test_fewer_rows_than_requested(cfg) -> None:
    with pytest.raises(ConfigError) as err:
        split(regression(40), cfg, 0)
    message = str(err.value)
    assert "\n" not in message and "fewer rows than the split asks for" in message
    assert "rows" in message and "40" in message and str(cfg.n_test) in message


def test_test_fraction_rounding_to_zero_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no test row"):
        split(regression(3), RandomSplitConfig(test_fraction=0.1), 0)


# --------------------------------------------------------------------------------- stratified
@pytest.mark.parametrize(
    ("counts", "n_test"), [([53, 31, 16], 30), ([70, 30], 23), ([12, 40, 9, 19], 21)]
)
def test_stratified_counts_match_sklearn(counts: list[int], n_test: int) -> None:
    from sklearn.model_selection import train_test_split

    data = classification(counts)
    train, test = split(data, StratifiedSplitConfig(n_test=n_test), seed=1)
    _, _, _, sk_test = train_test_split(
        data.X, data.y, test_size=n_test, stratify=data.y, random_state=0
    )
    k = len(counts)
    count = lambda labels: np.bincount(labels, minlength=k)  # noqa: E731
    np.testing.assert_array_equal(count(test.y), count(sk_test))
    np.testing.assert_array_equal(count(train.y) + count(test.y), counts)
    assert set(row_ids(train)).isdisjoint(row_ids(test))
    np.testing.assert_array_equal(data.y[row_ids(test)], test.y)


def test_stratified_reproducible_and_seeded() -> None:
    data = classification([30, 30])
    first = split(data, StratifiedSplitConfig(test_fraction=0.5), seed=2)[1]
    again = split(data, StratifiedSplitConfig(test_fraction=0.5), seed=2)[1]
    other = split(data, StratifiedSplitConfig(test_fraction=0.5), seed=5)[1]
    np.testing.assert_array_equal(row_ids(first), row_ids(again))
    assert not np.array_equal(row_ids(first), row_ids(other))


def test_stratified_needs_classes() -> None:
    with pytest.raises(ConfigError, match="regression"):
        split(regression(), StratifiedSplitConfig(), 0)
    with pytest.raises(DataError, match="class 1"):
        split(classification([10, 1]), StratifiedSplitConfig(n_test=3), 0)


# ----------------------------------------------------------------------------- with a source
def linear_data(n_train: int = 12, n_test: int = 8, seed: int = 0):
    cfg = LinearSourceConfig(n_train=n_train, n_test=n_test, noise_sd=0.5)
    dataset, source = generate(cfg, seed)
    assert isinstance(source, LinearSource)
    return dataset, source


def test_fixed_design_grid() -> None:
    dataset, source = linear_data()
    if not hasattr(source, "grid"):
        pytest.xfail("LinearSource.grid/sample_at not written yet")
    train, test = split(dataset, FixedDesignSplitConfig(), seed=4, source=source)
    grid = source.grid(12)
    np.testing.assert_array_equal(train.X, grid)
    np.testing.assert_array_equal(train.y, source.sample_at(grid, rng(4, "split")))
    assert np.all(np.diff(train.X[:, 0]) > 0)
    np.testing.assert_allclose(np.diff(train.X[:, 0]), np.diff(train.X[:, 0])[0])  # evenly spaced
    np.testing.assert_array_equal(test.X, dataset.X[12:])  # the i.i.d. held-out draws
    np.testing.assert_array_equal(test.y, dataset.y[12:])


def test_fixed_design_and_population_need_a_source() -> None:
    for cfg in (FixedDesignSplitConfig(), PopulationSplitConfig(n_test=5)):
        with pytest.raises(ConfigError, match="synthetic source") as err:
            split(regression(), cfg, 0, source=None)
        assert "\n" not in str(err.value)
    two_inputs = LinearSourceConfig(
        features=["a", "b"], coef=[1.0, 2.0], x=InputDistConfig(mean=[0.0, 0.0], sd=[1.0, 1.0])
    )
    dataset, source = generate(two_inputs, 0)
    with pytest.raises(ConfigError, match="one-input"):
        split(dataset, FixedDesignSplitConfig(), 0, source=source)


def test_population_split() -> None:
    dataset, source = linear_data()
    train, test = split(dataset, PopulationSplitConfig(n_test=500), seed=2, source=source)
    assert len(test) == 500 and test.X.shape == (500, 1)
    # Training rows: the random partition that holds out the source's own n_test points.
    ref_train, _ = split(dataset, RandomSplitConfig(), seed=2)
    np.testing.assert_array_equal(train.X, ref_train.X)
    # Fresh draws: no test point is a row of the dataset.
    assert not np.isin(test.X[:, 0], dataset.X[:, 0]).any()
    np.testing.assert_array_equal(
        split(dataset, PopulationSplitConfig(n_test=500), seed=2, source=source)[1].y, test.y
    )


# ------------------------------------------------------------------------------------- biased
def test_biased_range_keeps_exactly_the_selected_points() -> None:
    data = regression(60)
    ref_train, ref_test = split(data, RandomSplitConfig(n_test=15), seed=9)
    cfg = BiasedSplitConfig(n_test=15, rule="range", feature=1, low=110.0, high=140.0)
    train, test = split(data, cfg, seed=9)
    expected = [i for i in row_ids(ref_train) if 110 <= 100 + i <= 140]
    np.testing.assert_array_equal(row_ids(train), expected)
    np.testing.assert_array_equal(test.X, ref_test.X)  # test untouched
    np.testing.assert_array_equal(test.y, ref_test.y)


def test_biased_class_rule_keeps_one_class_and_is_allowed() -> None:
    data = classification([20, 20, 20])
    ref_train, ref_test = split(data, RandomSplitConfig(n_test=15), seed=0)
    train, test = split(data, BiasedSplitConfig(n_test=15, rule="class", keep_class=2), seed=0)
    np.testing.assert_array_equal(row_ids(train), row_ids(ref_train)[ref_train.y == 2])
    assert set(train.y) == {2}
    np.testing.assert_array_equal(row_ids(test), row_ids(ref_test))


def test_biased_prob_rule() -> None:
    data = regression(400)
    cfg = BiasedSplitConfig(n_test=100, rule="prob", on="y", prob_intercept=-2.0, prob_slope=30.0)
    ref_train, ref_test = split(data, RandomSplitConfig(n_test=100), seed=1)
    train, test = split(data, cfg, seed=1)
    # The same draw by hand: after the permutation, one uniform per training row, kept with
    # probability sigmoid(-2 + 30 z), z = y in standard deviations (scipy's zscore, ddof 0).
    from scipy.stats import zscore

    gen = rng(1, "split")
    gen.permutation(400)
    z = zscore(ref_train.y)
    keep_p = 1 / (1 + np.exp(-(-2.0 + 30.0 * z)))
    expected = row_ids(ref_train)[gen.random(300) < keep_p]
    np.testing.assert_array_equal(row_ids(train), expected)
    np.testing.assert_array_equal(row_ids(test), row_ids(ref_test))
    # Rows 0.5 SD above the mean are kept (p > 1 - 1e-5), rows at or below it dropped.
    assert set(row_ids(ref_train)[z > 0.5]) <= set(row_ids(train))
    assert not set(row_ids(ref_train)[z < -0.3]) & set(row_ids(train))


def test_a_constant_input_gives_every_row_the_prob_rules_middle_chance() -> None:
    """0.1 in every row: its std is rounding error (1.4e-17), which made z = -1 everywhere."""
    from ermlab.split import _standard

    for value in (0.1, 0.7, 170.3):
        assert not _standard(np.full(7, value)).any()


def test_the_default_prob_rule_biases_any_data_whatever_its_units() -> None:
    """Heights in cm: a slope of 1 per raw unit kept every row (sigmoid(170) = 1)."""
    data = regression(4000)
    data.X[:, 0] = 170.0 + 10.0 * data.X[:, 0]  # centimetres
    ref_train, _ = split(data, RandomSplitConfig(n_test=100), seed=1)
    train, _ = split(data, BiasedSplitConfig(n_test=100, rule="prob"), seed=1)
    assert 0.4 < len(train) / len(ref_train) < 0.6  # E = E[sigmoid(z)] = 1/2
    assert train.X[:, 0].mean() > ref_train.X[:, 0].mean() + 2.0  # the taller kept more often


def test_biased_empty_training_set_and_bad_feature() -> None:
    cfg = BiasedSplitConfig(n_test=10, rule="range", low=1e6, high=2e6)
    with pytest.raises(DataError, match="keeps none of the 30 training rows") as err:
        split(regression(40), cfg, 0)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="split.feature=5"):
        split(regression(40), BiasedSplitConfig(n_test=10, feature=5), 0)
    with pytest.raises(ConfigError, match="regression"):
        split(regression(40), BiasedSplitConfig(n_test=10, rule="class"), 0)


# ---------------------------------------------------------------------------- single class
def test_single_class_training_set_is_an_error_except_for_class_rule() -> None:
    y = np.zeros(5, dtype=int)
    one_class = Dataset(np.zeros((5, 1)), y, ("x",), "c", "one", "classification")
    with pytest.raises(DataError, match="at least two classes") as err:
        require_two_classes(one_class, RandomSplitConfig())
    assert "\n" not in str(err.value)
    require_two_classes(one_class, BiasedSplitConfig(rule="class"))  # asked for
    with pytest.raises(DataError):
        require_two_classes(one_class, BiasedSplitConfig(rule="range"))
    require_two_classes(regression(5), RandomSplitConfig())  # regression: nothing to check
    # Through split(): a seed whose 4 test rows take both class-1 rows (0 and 1).
    ids = np.arange(12)
    rare = Dataset(
        ids[:, None].astype(float), (ids < 2).astype(int), ("x",), "c", "rare", "classification"
    )
    seed = next(s for s in range(1000) if {0, 1} <= set(rng(s, "split").permutation(12)[:4]))
    with pytest.raises(DataError, match="only class 0"):
        split(rare, RandomSplitConfig(n_test=4), seed)


# ------------------------------------------------------------------------------------- k-fold
@pytest.mark.parametrize(("n", "k"), [(10, 2), (23, 5), (7, 7)])
def test_kfold_indices_partition(n: int, k: int) -> None:
    folds = kfold_indices(n, k, seed=3)
    assert len(folds) == k
    held = np.concatenate([h for _, h in folds])
    np.testing.assert_array_equal(np.sort(held), np.arange(n))  # each index held out once
    sizes = [len(h) for _, h in folds]
    assert max(sizes) - min(sizes) <= 1
    for fit, h in folds:
        np.testing.assert_array_equal(np.sort(np.concatenate([fit, h])), np.arange(n))
        assert not set(fit) & set(h)
    again = kfold_indices(n, k, seed=3)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))


def test_kfold_bad_k_and_split() -> None:
    with pytest.raises(ConfigError, match="split.k=6"):
        kfold_indices(5, 6, 0)
    data = regression(40)
    train, test = split(data, KFoldSplitConfig(n_test=10), seed=3)
    ref = split(data, RandomSplitConfig(n_test=10), seed=3)
    np.testing.assert_array_equal(train.X, ref[0].X)
    np.testing.assert_array_equal(test.X, ref[1].X)


# ----------------------------------------------------------------------------- conf/split
@pytest.mark.parametrize(
    ("option", "kind"),
    [
        ("stratified", "stratified"),
        ("fixed_design", "fixed_design"),
        ("population", "population"),
        ("biased", "biased"),
        ("biased_one_class", "biased"),
        ("covariate_shift", "biased"),
        ("k_fold", "k_fold"),
    ],
)
def test_split_yaml_composes(option: str, kind: str) -> None:
    config = validate(compose([f"split={option}"]))
    assert config.split.kind == kind
    if option == "biased_one_class":
        assert config.split.rule == "class"
    if option == "covariate_shift":
        assert config.split.rule == "range"
    if option == "biased":
        assert config.split.on == "x"  # YAML 1.1 would read a bare `on` key as true


def test_a_grid_design_needs_the_fixed_design_split():
    from ermlab.config import ConfigError, compose, validate
    from ermlab.data import generate
    from ermlab.split import split

    config = validate(compose(["data=bishop"]))
    dataset, source = generate(config.data, config.seed)
    with pytest.raises(ConfigError, match="use split=fixed_design"):
        split(dataset, config.split, config.seed, source)
    fixed = validate(compose(["data=bishop", "split=fixed_design"]))
    train, _ = split(dataset, fixed.split, fixed.seed, source)
    np.testing.assert_allclose(train.X[:, 0], np.linspace(0, 1, 10))
