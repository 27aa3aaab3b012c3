"""Configuration schemas, validated once.

Every config group in ``conf/`` is backed by a dataclass registered in Hydra's ConfigStore, so
that composition itself rejects an unknown key or a value of the wrong type. Range checks
(``n_train > 0``, a test fraction in (0, 1), ...) live in ``__post_init__`` and run when the
composed config is turned into objects by :func:`validate`. Both entry points, the Hydra app
and the DVC stage commands, go through :func:`validate` before they write anything.

The YAML files in ``conf/`` hold values only; each one starts from its schema through its
defaults list (``defaults: [linear_schema, _self_]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf


class ConfigError(ValueError):
    """A configuration value is not allowed. The message is one line: key, value, what is allowed."""


def _require(ok: bool, key: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is not allowed: {allowed}")


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
    cov: list[list[float]] | None = None
    low: list[float] = field(default_factory=lambda: [0.0])
    high: list[float] = field(default_factory=lambda: [1.0])


@dataclass
class LinearSourceConfig:
    """y = intercept + coef · x + ε, ε ~ N(0, noise_sd²), x ~ ``x`` (see :class:`InputDistConfig`).

    ``n_train`` training points and ``n_test`` test points are drawn i.i.d.; the population
    risk is estimated on ``n_population`` fresh points.
    """

    kind: str = "linear"
    n_train: int = 100
    n_test: int = 1000
    n_population: int = 100_000
    features: list[str] = field(default_factory=lambda: ["x"])
    target: str = "y"
    x: InputDistConfig = field(default_factory=InputDistConfig)
    intercept: float = 0.0
    coef: list[float] = field(default_factory=lambda: [1.0])
    noise_sd: float = 1.0

    def __post_init__(self) -> None:
        _require(self.n_train > 0, "data.n_train", self.n_train, "an integer > 0")
        _require(self.n_test >= 0, "data.n_test", self.n_test, "an integer >= 0")
        _require(self.n_population > 0, "data.n_population", self.n_population, "an integer > 0")
        _require(self.noise_sd >= 0, "data.noise_sd", self.noise_sd, "a number >= 0")
        p = len(self.features)
        _require(p > 0, "data.features", self.features, "at least one feature name")
        _require(len(self.coef) == p, "data.coef", self.coef, f"{p} values, one per feature")
        dist = self.x
        _require(dist.dist in ("normal", "uniform"), "data.x.dist", dist.dist, "normal or uniform")
        if dist.dist == "normal":
            _require(len(dist.mean) == p, "data.x.mean", dist.mean, f"{p} values")
            if dist.cov is None:
                _require(len(dist.sd) == p, "data.x.sd", dist.sd, f"{p} values")
                _require(all(s >= 0 for s in dist.sd), "data.x.sd", dist.sd, "values >= 0")
            else:
                square = len(dist.cov) == p and all(len(row) == p for row in dist.cov)
                _require(square, "data.x.cov", dist.cov, f"a {p}x{p} matrix")
        else:
            _require(len(dist.low) == p, "data.x.low", dist.low, f"{p} values")
            _require(len(dist.high) == p, "data.x.high", dist.high, f"{p} values")
            ok = all(lo < hi for lo, hi in zip(dist.low, dist.high, strict=True))
            _require(ok, "data.x.high", dist.high, "each high > its low")


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
            _require(self.n_test is None, "split.n_test", self.n_test, "null when test_fraction is set")
        if self.n_test is not None:
            _require(self.n_test > 0, "split.n_test", self.n_test, "an integer > 0")


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


# ------------------------------------------------------------------------------------- top
@dataclass
class Config:
    """The whole experiment: one ``seed`` and one node per config group.

    ``data``, ``split`` and ``model`` are typed by the schema their group option extends;
    ``model`` is a ``_target_`` node for :func:`hydra.utils.instantiate`.
    """

    seed: int = 0
    name: str = "ermlab"
    data: Any = MISSING
    split: Any = MISSING
    model: Any = MISSING
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "seed", self.seed, "an integer >= 0")


DATA_SCHEMAS: dict[str, type] = {"linear": LinearSourceConfig}
SPLIT_SCHEMAS: dict[str, type] = {"random": RandomSplitConfig}


def register_configs() -> None:
    """Register every schema in Hydra's ConfigStore (idempotent)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="config_schema", node=Config)
    for kind, schema in DATA_SCHEMAS.items():
        cs.store(group="data", name=f"{kind}_schema", node=schema)
    for kind, schema in SPLIT_SCHEMAS.items():
        cs.store(group="split", name=f"{kind}_schema", node=schema)
    cs.store(group="tracking", name="tracking_schema", node=TrackingConfig)


# --------------------------------------------------------------------------- compose/validate
def _typed(section: str, node: Any, schemas: dict[str, type]) -> DictConfig:
    """Merge a plain section (as read back from params.yaml) onto the schema its ``kind`` names."""
    kind = node.get("kind") if isinstance(node, dict | DictConfig) else None
    if kind not in schemas:
        raise ConfigError(f"{section}.kind={kind!r} is not allowed: one of {sorted(schemas)}")
    return OmegaConf.merge(OmegaConf.structured(schemas[kind]), node)


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
    from omegaconf.errors import OmegaConfBaseException

    plain = cfg if isinstance(cfg, dict) else OmegaConf.to_container(cfg, resolve=True)
    wanted = sections or tuple(plain)
    try:
        node: dict[str, Any] = {}
        for key in wanted:
            if key not in plain:
                raise ConfigError(f"{key} is missing from the configuration")
            value = plain[key]
            if key == "data":
                value = _typed("data", value, DATA_SCHEMAS)
            elif key == "split":
                value = _typed("split", value, SPLIT_SCHEMAS)
            elif key == "model":
                _require(
                    isinstance(value, dict) and "_target_" in value,
                    "model._target_",
                    value,
                    "a model node with a _target_ (see conf/model/)",
                )
            node[key] = value
        schema = OmegaConf.structured(Config)
        for key in ("data", "split", "model"):
            if key not in node:
                schema[key] = None
        merged = OmegaConf.merge(schema, node)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        raise ConfigError(one_line(err)) from None


def one_line(err: BaseException) -> str:
    """Condense an OmegaConf/Hydra error into one line: the key and what went wrong."""
    key = getattr(err, "full_key", None)
    cause = err.__cause__ or err.__context__
    if not key and cause is not None and getattr(cause, "full_key", None):
        key, err = cause.full_key, cause
    # OmegaConf appends "full_key: ... object_type=..." lines; Hydra lists available options.
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("full_key:", "object_type=", "reference_type="))]
    # Hydra appends its config search path to a missing-option error: noise for a person.
    lines = lines[: next((i for i, ln in enumerate(lines) if ln.startswith("Config search")), None)]
    message = " ".join(lines) or type(err).__name__
    return f"{key}: {message}" if key else message


def to_dict(config: Config | DictConfig) -> dict[str, Any]:
    """The config as plain nested dicts and lists (for params.yaml, MLflow, JSON)."""
    node = OmegaConf.structured(config) if not isinstance(config, DictConfig) else config
    return OmegaConf.to_container(node, resolve=True)


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


def compose(overrides: list[str] | None = None, config_dir: Path | None = None) -> DictConfig:
    """Compose ``conf/config.yaml`` with Hydra overrides, as DVC and the Hydra app do.

    Raises
    ------
    ConfigError on any composition error (unknown key, wrong type, unknown group option).
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ermlab.paths import conf_dir

    register_configs()
    try:
        with initialize_config_dir(str(config_dir or conf_dir()), version_base="1.3"):
            return hydra_compose(config_name="config", overrides=list(overrides or []))
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(one_line(err)) from None


def params_yaml_text(cfg: DictConfig) -> str:
    """The text DVC writes to params.yaml for a composed config (``dvc exp run`` does the same:
    resolve, then ``OmegaConf.to_yaml``), so that both writers agree byte for byte."""
    cfg = cfg.copy()
    OmegaConf.resolve(cfg)
    return OmegaConf.to_yaml(cfg)
