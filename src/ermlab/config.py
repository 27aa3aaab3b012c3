"""Configuration schemas, validated once.

Every config group in ``conf/`` is backed by a dataclass registered in Hydra's ConfigStore, so
that composition itself rejects an unknown key or a value of the wrong type. Range checks
(``n_train > 0``, a test fraction in (0, 1), ...) live in ``__post_init__`` and run when the
composed config is turned into objects by :func:`validate`. Both entry points, the Hydra app
and the DVC stage commands, go through :func:`validate` before they write anything.

The YAML files in ``conf/`` hold values only; each one starts from its schema through its
defaults list (``defaults: [/schema/data/linear@_here_, _self_]``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
import numbers
import re
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from ermlab.errors import did_you_mean


class ConfigError(ValueError):
    """A configuration value is not allowed (one line: the key, its value, what is allowed)."""


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}")


def _floats(value: Any, shape: tuple[int, ...]) -> Any:
    """``value`` as nested lists of floats when it is nested lists of ``shape`` holding finite
    numbers only (ints welcome, bools and strings not); ``None`` otherwise."""
    if not shape:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return float(value) if ok and math.isfinite(value) else None
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or len(value) != shape[0]:
        return None
    rows = [_floats(item, shape[1:]) for item in value]
    return None if any(row is None for row in rows) else rows


def _matrix(value: Any, shape: tuple[int, ...], key: str, allowed: str) -> Any:
    """A nested numeric list checked against ``shape`` and converted to floats, or the one-line
    ConfigError. (OmegaConf cannot convert the ints of a nested ``list[list[float]]``, so such
    fields are typed ``list[Any]`` and checked here.)"""
    converted = _floats(value, shape)
    _require(converted is not None, key, value, allowed)
    return converted


# --------------------------------------------------------------------------------------- data
@dataclass
class InputDistConfig:
    """p(x): the distribution of the input vector.

    ``normal``: independent N(mean_j, sd_j²), or N(mean, cov) when ``cov`` is given;
    ``uniform``: independent U(low_j, high_j).
    """

    dist: str = "normal"
    mean: list[float] = field(default_factory=lambda: [0.0])
    sd: list[float] = field(default_factory=lambda: [1.0])
    cov: list[Any] | None = None  # a p×p matrix of numbers (checked in check())
    low: list[float] = field(default_factory=lambda: [0.0])
    high: list[float] = field(default_factory=lambda: [1.0])

    def check(self, p: int, key: str = "data.x") -> None:
        """Check the parameters describe a p-dimensional distribution."""
        _require(self.dist in ("normal", "uniform"), f"{key}.dist", self.dist, "normal or uniform")
        if self.dist == "normal":
            _require(len(self.mean) == p, f"{key}.mean", self.mean, f"{p} values")
            if self.cov is None:
                _require(len(self.sd) == p, f"{key}.sd", self.sd, f"{p} values")
                _require(all(s >= 0 for s in self.sd), f"{key}.sd", self.sd, "values >= 0")
            else:
                self.cov = _matrix(
                    self.cov, (p, p), f"{key}.cov", f"a {p}x{p} matrix of finite numbers"
                )
        else:
            _require(len(self.low) == p, f"{key}.low", self.low, f"{p} values")
            _require(len(self.high) == p, f"{key}.high", self.high, f"{p} values")
            ok = all(lo < hi for lo, hi in zip(self.low, self.high, strict=True))
            _require(ok, f"{key}.high", self.high, "each high > its low")


@dataclass
class SyntheticConfig:
    """What every synthetic source has: sample sizes.

    ``n_train`` training points and ``n_test`` test points are drawn i.i.d. from the source's
    own random stream; the population risk is estimated on ``n_population`` fresh points.
    """

    kind: str = MISSING
    n_train: int = 100
    n_test: int = 1000
    n_population: int = 100_000

    def __post_init__(self) -> None:
        _require(self.n_train > 0, "data.n_train", self.n_train, "an integer > 0")
        _require(self.n_test >= 0, "data.n_test", self.n_test, "an integer >= 0")
        _require(self.n_population > 0, "data.n_population", self.n_population, "an integer > 0")


@dataclass
class LinearScoreConfig(SyntheticConfig):
    """Named inputs x ~ ``x`` (see :class:`InputDistConfig`) and a linear score
    intercept + coef · x: what the ``linear`` and ``logistic`` sources share."""

    features: list[str] = field(default_factory=lambda: ["x"])
    target: str = "y"
    x: InputDistConfig = field(default_factory=InputDistConfig)
    intercept: float = 0.0
    coef: list[float] = field(default_factory=lambda: [1.0])

    def __post_init__(self) -> None:
        super().__post_init__()
        p = len(self.features)
        _require(p > 0, "data.features", self.features, "at least one feature name")
        _require(len(self.coef) == p, "data.coef", self.coef, f"{p} values, one per feature")
        self.x.check(p)


@dataclass
class LinearSourceConfig(LinearScoreConfig):
    """y = intercept + coef · x + ε, ε ~ N(0, noise_sd²). Bayes risk under squared loss:
    noise_sd²."""

    kind: str = "linear"
    noise_sd: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.noise_sd >= 0, "data.noise_sd", self.noise_sd, "a number >= 0")


@dataclass
class PolynomialSourceConfig(SyntheticConfig):
    """t = f(x) + ε, ε ~ N(0, noise_sd²), one input x (Bishop's PRML §1.1 by default).

    ``function``: ``sin2pi`` (f = sin(2πx)) or ``poly`` (f = Σ_k coef[k]·x^k).
    ``design``: ``uniform`` (x ~ U(low, high), i.i.d.) or ``grid`` (the training inputs are
    evenly spaced on [low, high], endpoints included; test and population inputs stay uniform).
    """

    kind: str = "polynomial"
    n_train: int = 10
    n_test: int = 100
    function: str = "sin2pi"
    coef: list[float] = field(default_factory=lambda: [0.0, 1.0])
    low: float = 0.0
    high: float = 1.0
    design: str = "uniform"
    noise_sd: float = 0.3
    feature: str = "x"
    target: str = "t"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            self.function in ("sin2pi", "poly"), "data.function", self.function, "sin2pi or poly"
        )
        _require(self.design in ("uniform", "grid"), "data.design", self.design, "uniform or grid")
        _require(self.low < self.high, "data.high", self.high, "a number > data.low")
        _require(self.noise_sd >= 0, "data.noise_sd", self.noise_sd, "a number >= 0")
        _require(len(self.coef) > 0, "data.coef", self.coef, "at least one coefficient")


@dataclass
class HeteroscedasticSourceConfig(SyntheticConfig):
    """y = intercept + slope·x + ε(x), ε(x) ~ N(0, sd(x)²), sd(x) = noise_sd + noise_slope·|x|,
    one input x ~ ``x``: least squares and Gaussian NLL with a learned variance differ."""

    kind: str = "heteroscedastic"
    feature: str = "x"
    target: str = "y"
    x: InputDistConfig = field(
        default_factory=lambda: InputDistConfig(dist="uniform", low=[-2.0], high=[2.0])
    )
    intercept: float = 0.0
    slope: float = 1.0
    noise_sd: float = 0.1
    noise_slope: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.noise_sd >= 0, "data.noise_sd", self.noise_sd, "a number >= 0")
        _require(self.noise_slope >= 0, "data.noise_slope", self.noise_slope, "a number >= 0")
        self.x.check(1)


@dataclass
class LogisticSourceConfig(LinearScoreConfig):
    """Binary y ∈ {0, 1} with p(y=1|x) = σ(intercept + coef · x)."""

    kind: str = "logistic"
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    x: InputDistConfig = field(
        default_factory=lambda: InputDistConfig(mean=[0.0, 0.0], sd=[1.0, 1.0])
    )
    coef: list[float] = field(default_factory=lambda: [2.0, -1.0])


@dataclass
class GaussianClassesConfig(SyntheticConfig):
    """k classes with priors π_c and class-conditionals N(means[c], cov) (shared covariance)
    or N(means[c], covs[c]) when ``covs`` is given; labels 0..k−1."""

    kind: str = "gaussian_classes"
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    target: str = "class"
    priors: list[float] = field(default_factory=lambda: [0.5, 0.5])
    # Nested lists are typed list[Any] so that whole numbers are accepted (OmegaConf cannot
    # convert the ints of a list[list[float]]); __post_init__ checks shapes, converts to float.
    means: list[Any] = field(default_factory=lambda: [[-1.0, 0.0], [1.0, 0.0]])
    cov: list[Any] = field(default_factory=lambda: [[1.0, 0.0], [0.0, 1.0]])
    covs: list[Any] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        k, p = len(self.priors), len(self.features)
        _require(k >= 2, "data.priors", self.priors, "at least two classes")
        _require(
            all(q > 0 for q in self.priors) and abs(sum(self.priors) - 1) < 1e-9,
            "data.priors",
            self.priors,
            "positive numbers summing to 1",
        )
        self.means = _matrix(
            self.means, (k, p), "data.means", f"{k} mean vectors of {p} finite numbers"
        )
        self.cov = _matrix(self.cov, (p, p), "data.cov", f"a {p}x{p} matrix of finite numbers")
        if self.covs is not None:
            self.covs = _matrix(
                self.covs, (k, p, p), "data.covs", f"{k} {p}x{p} matrices of finite numbers"
            )


@dataclass
class XorSourceConfig(SyntheticConfig):
    """x ~ U([-1, 1]²), y = 1[x1·x2 > 0], each label flipped with probability ``flip``
    (the Bayes zero-one risk is ``flip``): not linearly separable, a task for networks."""

    kind: str = "xor"
    flip: float = 0.0
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    target: str = "y"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(0 <= self.flip < 0.5, "data.flip", self.flip, "a probability in [0, 0.5)")


@dataclass
class TwoMoonsSourceConfig(SyntheticConfig):
    """Two interleaved half circles (scikit-learn's make_moons geometry): the angle t ~ U(0, π),
    class 0 at (cos t, sin t), class 1 at (1 − cos t, 0.5 − sin t), plus N(0, noise_sd² I)."""

    kind: str = "two_moons"
    noise_sd: float = 0.2
    features: list[str] = field(default_factory=lambda: ["x1", "x2"])
    target: str = "y"

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.noise_sd > 0, "data.noise_sd", self.noise_sd, "a number > 0")


@dataclass
class CsvDataConfig:
    """A table on disk (CSV or Parquet): ``target`` column, ``features`` columns (all other
    numeric columns when empty). Relative paths are taken from the project root."""

    kind: str = "csv"
    path: str = MISSING
    target: str = MISSING
    features: list[str] = field(default_factory=list)
    task: str = "regression"

    def __post_init__(self) -> None:
        _require(bool(self.path), "data.path", self.path, "a CSV or Parquet file")
        _require(
            self.task in ("regression", "classification"),
            "data.task",
            self.task,
            "regression or classification",
        )


@dataclass
class NistDataConfig:
    """A NIST StRD linear-regression file: ``name`` (a file in data/nist/, e.g. Norris) or
    ``path`` (any file of the suite; a path given wins over the name, which then reads
    null). The design follows the file's model (polynomial degree, intercept or not)."""

    kind: str = "nist"
    name: str | None = "Norris"
    path: str | None = None

    def __post_init__(self) -> None:
        if self.path is not None:
            self.name = None  # data=nist data.path=F: the default name must not stand in F's way
        _require(
            (self.name is None) != (self.path is None),
            "data.name",
            self.name,
            "exactly one of data.name and data.path",
        )


SKLEARN_DATASETS = ("diabetes", "linnerud", "iris", "breast_cancer")


@dataclass
class SklearnDataConfig:
    """A dataset bundled with scikit-learn (no download): diabetes, linnerud, iris,
    breast_cancer. ``target`` picks linnerud's target column (Weight, Waist or Pulse)."""

    kind: str = "sklearn"
    name: str = "diabetes"
    target: str | None = None

    def __post_init__(self) -> None:
        _require(
            self.name in SKLEARN_DATASETS, "data.name", self.name, f"one of {SKLEARN_DATASETS}"
        )


# -------------------------------------------------------------------------------------- split
@dataclass
class RandomSplitConfig:
    """Random train/test split, seeded from the ``split`` stream.

    Give at most one of ``test_fraction`` (in (0, 1)) and ``n_test`` (a count). With neither, a
    synthetic source's own ``n_test`` is used, and a real dataset keeps 25 % for testing.
    """

    kind: str = "random"
    test_fraction: float | None = None
    n_test: int | None = None

    def __post_init__(self) -> None:
        if self.test_fraction is not None:
            _require(
                0 < self.test_fraction < 1,
                "split.test_fraction",
                self.test_fraction,
                "a number strictly between 0 and 1",
            )
            _require(
                self.n_test is None, "split.n_test", self.n_test, "null when test_fraction is set"
            )
        if self.n_test is not None:
            _require(self.n_test > 0, "split.n_test", self.n_test, "an integer > 0")


@dataclass
class StratifiedSplitConfig(RandomSplitConfig):
    """Random split keeping each class's share in train and test (classification only)."""

    kind: str = "stratified"


@dataclass
class FixedDesignSplitConfig:
    """The training inputs are a grid of ``data.n_train`` evenly spaced points over the source's
    input range (targets drawn from p(y|x)); the test inputs are drawn from p(x).
    Synthetic one-input sources only."""

    kind: str = "fixed_design"


@dataclass
class PopulationSplitConfig:
    """Train on the generated sample; test on ``n_test`` fresh points from the source
    (synthetic sources only): the test risk is then the population risk up to Monte Carlo error."""

    kind: str = "population"
    n_test: int = 100_000

    def __post_init__(self) -> None:
        _require(self.n_test > 0, "split.n_test", self.n_test, "an integer > 0")


@dataclass
class BiasedSplitConfig(RandomSplitConfig):
    """A random split, then a selection rule applied to the TRAINING sample only (the test set
    stays unbiased), to show ERM failing on a biased sample.

    ``rule``: ``range`` keeps training points with ``low <= x[feature] <= high`` (covariate
    shift); ``class`` keeps only label ``keep_class``; ``prob`` keeps each point with
    probability σ(prob_intercept + prob_slope·z), z = x[feature] (``on: x``) or y (``on: y``)
    standardized over the training sample (in standard deviations from its mean), so that the
    defaults (0, 1) keep about half the rows, the larger values more often, on any data.
    """

    kind: str = "biased"
    rule: str = "range"
    feature: int = 0
    low: float = float("-inf")
    high: float = float("inf")
    keep_class: int = 0
    on: str = "x"
    prob_intercept: float = 0.0
    prob_slope: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(
            self.rule in ("range", "class", "prob"), "split.rule", self.rule, "range, class or prob"
        )
        _require(self.on in ("x", "y"), "split.on", self.on, "x or y")
        _require(self.feature >= 0, "split.feature", self.feature, "a column index >= 0")
        _require(self.low <= self.high, "split.high", self.high, "a number >= split.low")


@dataclass
class KFoldSplitConfig(RandomSplitConfig):
    """A random train/test split, plus k-fold cross-validation on the training set: the
    evaluation also reports the mean and spread of the held-out risk over the ``k`` folds."""

    kind: str = "k_fold"
    k: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        _require(self.k >= 2, "split.k", self.k, "an integer >= 2")


@dataclass
class NoSplitConfig:
    """No split, as R's ``lm`` fits: train on every row of a table (a synthetic source's
    ``n_train`` training draws; its held-out draws are not used). There is no test set, so the
    test risk and the gap are absent; population and Bayes risks are measured when the source
    is synthetic."""

    kind: str = "none"


# ----------------------------------------------------------------------------------- tracking
@dataclass
class TrackingConfig:
    """Where MLflow records runs. ``uri`` is any MLflow tracking URI (``sqlite:///mlflow.db`` is
    resolved against the project root); ``enabled: false`` records nothing."""

    enabled: bool = True
    uri: str = "sqlite:///mlflow.db"
    experiment: str = "ermlab"

    def __post_init__(self) -> None:
        _require(bool(self.experiment), "tracking.experiment", self.experiment, "a non-empty name")
        from ermlab.tracking import resolve_uri, sqlite_path

        if self.enabled and (store := sqlite_path(resolve_uri(self.uri))) is not None:
            from ermlab.paths import file_in_the_way

            blocker = file_in_the_way(store.parent)
            in_the_way = f"{blocker} is a file, not a folder"
            _require(blocker is None, "tracking.uri", self.uri, in_the_way)


# ------------------------------------------------------------------------------------- top
@dataclass
class Config:
    """The whole experiment: one ``seed`` and one node per config group.

    ``data``, ``split`` and ``model`` are typed by the schema their group option extends;
    ``model`` is a ``_target_`` node for :func:`hydra.utils.instantiate`. ``study`` is set by
    the experiments in ``conf/experiment/`` that reproduce a published result: its ``name``
    picks the module in :mod:`ermlab.studies`, which validates the rest.
    """

    seed: int = 0
    name: str = "ermlab"
    data: Any = MISSING
    split: Any = MISSING
    model: Any = MISSING
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    study: Any = None
    # The per-run figures (fit, residuals, training curve) and the MLflow logged model: None
    # makes them for a single run and the DVC pipeline, not for each job of a sweep (its report
    # draws the aggregate pictures; MLflow's own autolog of a parameter search logs no model
    # per child run either). true or false decides for both.
    plots: bool | None = None
    log_model: bool | None = None

    def __post_init__(self) -> None:
        from ermlab.sizes import check_sizes

        _require(self.seed >= 0, "seed", self.seed, "an integer >= 0")
        check_sizes(self.data, self.split)  # refused before anything is allocated


DATA_SCHEMAS: dict[str, type] = {
    schema.kind: schema
    for schema in (
        LinearSourceConfig,
        PolynomialSourceConfig,
        HeteroscedasticSourceConfig,
        LogisticSourceConfig,
        GaussianClassesConfig,
        XorSourceConfig,
        TwoMoonsSourceConfig,
        CsvDataConfig,
        NistDataConfig,
        SklearnDataConfig,
    )
}
SPLIT_SCHEMAS: dict[str, type] = {
    schema.kind: schema
    for schema in (
        RandomSplitConfig,
        StratifiedSplitConfig,
        FixedDesignSplitConfig,
        PopulationSplitConfig,
        BiasedSplitConfig,
        KFoldSplitConfig,
        NoSplitConfig,
    )
}


def register_configs() -> None:
    """Register every schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    # Schemas live in their own groups (schema/data/linear, ...) so that `ermlab --help` lists
    # only the options a user picks; a YAML file extends its schema with
    # `defaults: [/schema/data/linear@_here_, _self_]`.
    cs.store(name="config_schema", node=Config)
    for kind, schema in DATA_SCHEMAS.items():
        cs.store(group="schema/data", name=kind, node=schema)
    for kind, schema in SPLIT_SCHEMAS.items():
        cs.store(group="schema/split", name=kind, node=schema)
    cs.store(group="schema/tracking", name="tracking", node=TrackingConfig)


# --------------------------------------------------------------------------- compose/validate
def _typed(section: str, node: Any, schemas: dict[str, type]) -> DictConfig:
    """Merge a plain section (as read back from params.yaml) onto the schema its ``kind`` names.

    The result is remembered by content: the jobs of a sweep mostly share their ``data`` and
    ``split`` sections (a seed sweep, all of them), and each merge costs milliseconds."""
    kind = node.get("kind") if isinstance(node, dict | DictConfig) else None
    if kind not in schemas:
        raise ConfigError(f"{section}.kind={kind!r} is not allowed: one of {sorted(schemas)}")
    key = json.dumps([section, node], sort_keys=True, default=repr)
    if key not in _TYPED_SECTIONS:
        from omegaconf.errors import OmegaConfBaseException

        try:
            merged = OmegaConf.merge(_schema(schemas[kind]), node)
        except OmegaConfBaseException as err:  # its key is the section's: data.<key>
            raise ConfigError(one_line(err, within=section)) from None
        _keep(_TYPED_SECTIONS, key, merged)
    return _TYPED_SECTIONS[key]  # never changed: OmegaConf.merge copies its first argument


@functools.cache
def _schema(dataclass_type: type) -> DictConfig:
    """The structured config of a schema, made once (merges copy it, never change it)."""
    return OmegaConf.structured(dataclass_type)


def validate(cfg: DictConfig | dict, sections: tuple[str, ...] | None = None) -> Config:
    """Validate a composed config (or the sections of one read from params.yaml).

    Parameters
    ----------
    cfg : the composed config, typed or plain.
    sections : only these top-level keys are validated and returned (the others keep their
        defaults or stay ``None``); ``None`` means all. A DVC stage passes the sections it
        declares in ``dvc.yaml``.

    Returns
    -------
    Config with dataclass instances for every validated section.

    Raises
    ------
    ConfigError with one line naming the key and what is allowed.
    """
    plain = cfg if isinstance(cfg, dict) else _resolved(cfg)
    memo_key = json.dumps([plain, sections], sort_keys=True, default=repr)
    if memo_key in _VALIDATED:
        return copy.deepcopy(_VALIDATED[memo_key])
    # An interpolation left in a plain config (params.yaml, an escaped \${...}) resolves
    # against the whole config, which a section alone is not: the whole merge decides.
    config = None if "${" in memo_key else _validated_by_section(plain, sections)
    if config is None:  # something is wrong: the whole merge says what, in OmegaConf's words
        config = _validated_whole(plain, sections)
    return _remember(memo_key, config)


def _resolved(cfg: DictConfig) -> dict[str, Any]:
    """``cfg`` as plain containers, its interpolations resolved (``data.n_train=${foo}``: a
    key that does not exist is a one-line ConfigError, as any other mistake)."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(one_line(err)) from None


def _wanted_nodes(plain: dict[str, Any], sections: tuple[str, ...] | None) -> dict[str, Any]:
    """The top-level nodes to validate, the plain ``data`` and ``split`` typed by their kind;
    ``data``, ``split`` and ``model`` are None when not asked for."""
    node: dict[str, Any] = {}
    for key in sections or tuple(plain):
        if key not in plain:
            raise ConfigError(f"{key} is missing from the configuration")
        value = plain[key]
        if key == "data":
            value = _typed("data", value, DATA_SCHEMAS)
        elif key == "split":
            value = _typed("split", value, SPLIT_SCHEMAS)
        elif key == "study" and value is not None:
            _require(
                isinstance(value, dict) and "name" in value,
                "study.name",
                value,
                "a study node with a name (see conf/experiment/)",
            )
        elif key == "model":
            _require(
                isinstance(value, dict) and "_target_" in value,
                "model._target_",
                value,
                "a model node with a _target_ (see conf/model/)",
            )
        node[key] = value
    for key in ("data", "split", "model"):
        node.setdefault(key, None)  # a section not asked for stays None
    return node


def _validated_whole(plain: dict[str, Any], sections: tuple[str, ...] | None) -> Config:
    """The definition of a valid config: every node merged onto the :class:`Config` schema
    at once, then made into its dataclasses (OmegaConf checks every key and type)."""
    from omegaconf.errors import OmegaConfBaseException

    try:
        merged = OmegaConf.merge(_schema(Config), _wanted_nodes(plain, sections))
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        raise ConfigError(one_line(err)) from None


def _validated_by_section(plain: dict[str, Any], sections: tuple[str, ...] | None) -> Config | None:
    """:func:`_validated_whole`'s config, built section by section, each section's result
    remembered by content; None wherever anything is wrong or unusual (the caller then asks
    :func:`_validated_whole`, whose error is the one to show).

    The whole merge costs about 5 ms a config; the jobs of a sweep differ in a few values
    (a seed sweep: in ``seed`` alone), so most of their sections have been validated before.
    Each section goes through the same OmegaConf schema as in the whole merge (the typed
    ``data`` and ``split``, :class:`TrackingConfig`, the top-level values on a schema of
    their own), then :class:`Config` is built from them, running its own checks."""
    try:
        node = _wanted_nodes(plain, sections)
        if not set(node) <= _CONFIG_FIELDS:
            return None
        wanted = set(sections or plain)  # the others are None in node
        fields = {
            key: _section_object(key, plain[key] if key in wanted else None, value)
            for key, value in node.items()
        }
        return Config(**fields)
    except Exception:
        return None


def _section_object(key: str, plain: Any, node: Any) -> Any:
    """One top-level node of a config as the whole merge makes it, from its ``plain`` value
    and its ``node`` (:func:`_wanted_nodes`): the dataclass of a typed node (``data`` and
    ``split`` by their kind, ``tracking``), a plain container for a node typed ``Any``, a
    top-level value checked against its type in :class:`Config`. Remembered by content; a
    copy is returned."""
    cache_key = json.dumps([key, plain], sort_keys=True, default=repr)
    if cache_key not in _SECTION_OBJECTS:
        if isinstance(node, DictConfig):  # data, split: typed by their kind
            made = OmegaConf.to_object(node)
        else:
            merged = OmegaConf.merge(_single_field_schema(key), {key: node})
            made = getattr(OmegaConf.to_object(merged), key)
        _keep(_SECTION_OBJECTS, cache_key, made)
    return copy.deepcopy(_SECTION_OBJECTS[cache_key])


@functools.cache
def _single_field_schema(key: str) -> DictConfig:
    """A schema of :class:`Config`'s field ``key`` alone: its type and its default."""
    import typing

    (spec,) = [f for f in dataclasses.fields(Config) if f.name == key]
    kind = typing.get_type_hints(Config)[key]
    default = dataclasses.field(default=spec.default, default_factory=spec.default_factory)
    return OmegaConf.structured(dataclasses.make_dataclass(f"Config_{key}", [(key, kind, default)]))


_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(Config))


# Validated configs by content: a sweep validates each job's config before it launches, when
# it looks for a run to reuse, and in the job (OmegaConf's merge costs tens of milliseconds).
_VALIDATED: OrderedDict[str, Config] = OrderedDict()
_TYPED_SECTIONS: OrderedDict[str, DictConfig] = OrderedDict()
_SECTION_OBJECTS: OrderedDict[str, Any] = OrderedDict()  # see _section_object
MAX_VALIDATED = 1024


def _remember(key: str, config: Config) -> Config:
    _keep(_VALIDATED, key, config)
    return copy.deepcopy(config)  # the caller may change its copy


def _keep(cache: OrderedDict, key: str, value: Any) -> None:
    """Store ``value`` in ``cache``, dropping the oldest entries beyond :data:`MAX_VALIDATED`."""
    cache[key] = value
    while len(cache) > MAX_VALIDATED:
        cache.popitem(last=False)


def one_line(err: BaseException, within: str = "") -> str:
    """Condense an OmegaConf/Hydra error into one line: the key and what went wrong, in
    ermlab's words where it is a mistake people make (:func:`_in_words`). ``within`` is the
    section a merge of the section alone was about (its keys are relative: ``n_train`` of
    ``data``)."""
    key = getattr(err, "full_key", None)
    cause = err.__cause__ or err.__context__
    if not key and cause is not None and getattr(cause, "full_key", None):
        key, err = cause.full_key, cause
    if within:
        key = f"{within}.{key}" if key else within
    if (said := _in_words(err, key)) is not None:
        return said
    # OmegaConf appends "full_key: ... object_type=..." lines; Hydra lists available options.
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    lines = [
        ln for ln in lines if not ln.startswith(("full_key:", "object_type=", "reference_type="))
    ]
    # Hydra appends its config search path to a missing-option error: noise for a person.
    lines = lines[: next((i for i, ln in enumerate(lines) if ln.startswith("Config search")), None)]
    message = " ".join(lines) or type(err).__name__
    return f"{key}: {message}" if key else message


# OmegaConf's names of the types a value could not be converted to, as ermlab says them.
_KINDS = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false"}


def _in_words(err: BaseException, key: str | None) -> str | None:
    """The line for a mistake people make, in the words of ermlab's own checks (``key=value is
    not allowed: ...``), or None for any other error:

    - an option of a config group that does not exist (``model=olss``): the options, and the
      closest one;
    - a key the section does not have (``data.ntrain``): its keys, and the closest one;
    - a value of the wrong type (``data.n_train=abc``): the type the key takes;
    - a key that has no default and was not given (``data=csv`` without ``data.path``).
    """
    from hydra.errors import MissingConfigException
    from omegaconf.errors import (
        ConfigAttributeError,
        ConfigKeyError,
        MissingMandatoryValue,
        ValidationError,
    )

    if isinstance(err, MissingConfigException) and err.options and err.missing_cfg_file:
        group, _, option = err.missing_cfg_file.rpartition("/")
        options = [str(o) for o in err.options]
        hint = did_you_mean(option, options)
        return f"{group}={option} is not allowed: {hint}one of {', '.join(options)}"
    if not key:
        return None
    section, _, name = key.rpartition(".")
    node = getattr(err, "parent_node", None)
    if isinstance(err, ConfigAttributeError | ConfigKeyError) and isinstance(node, DictConfig):
        # Hydra's own node is not the experiment's (its keys are hydra.*'s business).
        keys = [str(k) for k in node.keys() if not str(k).startswith("_") and str(k) != "hydra"]
        where = section or "the config"
        if not keys:
            return f"{key} is not a key of {where}, which has none here"
        return f"{key} is not a key of {where}: {did_you_mean(name, keys)}its keys are " + (
            ", ".join(keys)
        )
    if isinstance(err, MissingMandatoryValue):
        return f"{key} has no default: give one ({key}=...)"
    kind = re.search(r"converted to (\w+)|not a valid (bool)", str(err))
    if isinstance(err, ValidationError) and kind is not None:
        expected = _KINDS.get(kind.group(1) or "Boolean")
        if expected is not None:
            return f"{key}={err.value!r} is not allowed: {expected}"
    return None


def to_dict(config: Config | DictConfig) -> dict[str, Any]:
    """The config as plain nested dicts and lists (for params.yaml, MLflow, JSON)."""
    if dataclasses.is_dataclass(config):  # the same dicts as through OmegaConf, much faster
        return dataclasses.asdict(config)
    return OmegaConf.to_container(config, resolve=True)


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"data": {"n_train": 5}}`` -> ``{"data.n_train": 5}`` (lists are kept as values)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def compose(
    overrides: list[str] | None = None,
    config_dir: Path | None = None,
    return_hydra_config: bool = False,
) -> DictConfig:
    """Compose ``conf/config.yaml`` with Hydra overrides, as DVC and the Hydra app do; with
    ``return_hydra_config``, with the ``hydra`` node the overrides make (launcher, sweeper).

    Raises
    ------
    ConfigError on any composition error (unknown key, wrong type, unknown group option).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ermlab.models.arguments import plain_overrides
    from ermlab.paths import conf_dir

    register_configs()
    try:
        with (
            _outside_running_app(),
            initialize_config_dir(str(config_dir or conf_dir()), version_base="1.3"),
        ):
            # Every argument of the model's _target_ is settable the plain way (model.<arg>=v).
            overrides = plain_overrides(list(overrides or []), config_dir or conf_dir())
            return hydra_compose(
                config_name="config",
                overrides=overrides,
                return_hydra_config=return_hydra_config,
            )
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(one_line(err)) from None


@contextmanager
def _outside_running_app() -> Iterator[None]:
    """Let the compose API run inside the ``ermlab`` Hydra app (a study composes the configs of
    its sweep points there): Hydra refuses to initialise twice, so the app's global instance is
    set aside and put back."""
    from hydra.core.global_hydra import GlobalHydra

    held = GlobalHydra.instance().hydra
    GlobalHydra.instance().clear()
    try:
        yield
    finally:
        GlobalHydra.instance().clear()
        if held is not None:
            GlobalHydra.instance().initialize(held)


def params_yaml_text(cfg: DictConfig) -> str:
    """The text DVC writes to params.yaml for a composed config (``dvc exp run`` does the same:
    resolve, then ``OmegaConf.to_yaml``), so that both writers agree byte for byte."""
    cfg = cfg.copy()
    OmegaConf.resolve(cfg)
    return OmegaConf.to_yaml(cfg)
