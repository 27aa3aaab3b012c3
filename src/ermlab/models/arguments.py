"""A model's arguments are those of its ``_target_``.

``model._target_`` names an estimator class (any scikit-learn estimator, ermlab's own) or one
of ermlab's model factories (functions in :mod:`ermlab.models`). It is resolved and checked
*before* anything is called: Hydra's ``instantiate`` would call any importable callable, so
``model._target_=builtins.open +model.file=F +model.mode=w`` truncated F before the estimator
check. The other keys of the ``model`` node are the keyword arguments of that target, checked
against its signature (a misspelt one is refused with the real names), and passed as they
are: nested ``_target_`` keys are never instantiated.

On the command line every argument is settable the plain way, ``model.batch_size=16``, whether
or not the group's YAML lists it (:func:`plain_overrides` rewrites it to Hydra's
``++model.batch_size=16``); and ``model._target_=<class>`` drops the arguments of the group's
YAML that the new class does not take (``ermlab model._target_=sklearn.svm.SVR``).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from ermlab.config import ConfigError
from ermlab.errors import did_you_mean

# Keys of the model node that are Hydra's, not the estimator's.
HYDRA_KEYS = ("_target_", "_convert_", "_recursive_")
OWN_FACTORIES = "ermlab.models."


def resolve_target(target: Any) -> Any:
    """The class (or ermlab factory) ``target`` names, imported but not called.

    Raises
    ------
    ConfigError (one line) when the name cannot be imported or is not an estimator class
    (with ``fit`` and ``get_params``) nor a factory of :mod:`ermlab.models`.
    """
    key = "model._target_"
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(f"{key}={target!r} is not allowed: a dotted class name (see conf/model/)")
    if target.split(".")[0] in sys.stdlib_module_names:
        # No estimator lives in the standard library, and importing some of it has effects.
        raise ConfigError(
            f"{key}={target!r} is not allowed: a scikit-learn estimator class, not a name from "
            "Python's standard library"
        )
    obj = _import(target)
    if inspect.isclass(obj):
        if callable(getattr(obj, "fit", None)) and callable(getattr(obj, "get_params", None)):
            return obj
    elif inspect.isfunction(obj) and obj.__module__.startswith(OWN_FACTORIES):
        return obj
    raise ConfigError(
        f"{key}={target!r} is not allowed: a scikit-learn estimator class (with fit and "
        f"get_params) or a model factory of {OWN_FACTORIES[:-1]}; it is a "
        f"{type(obj).__name__}"
    )


def _import(target: str) -> Any:
    """``a.b.C`` -> the attribute C of the longest importable module prefix (no call)."""
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            break
        return obj
    raise ConfigError(
        f"model._target_={target!r} is not allowed: an importable class such as "
        "sklearn.linear_model.Ridge (no module or attribute of that name)"
    )


def argument_names(obj: Any) -> list[str] | None:
    """The keyword arguments ``obj`` accepts, in signature order; None when it takes
    ``**kwargs`` (anything goes)."""
    parameters = inspect.signature(obj).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in parameters if p.kind in kinds]


def check_arguments(obj: Any, model_cfg: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the model node, each checked to be an argument of ``obj``.

    Raises
    ------
    ConfigError naming the key and listing the arguments ``obj`` takes.
    """
    kwargs = {k: v for k, v in model_cfg.items() if k not in HYDRA_KEYS}
    names = argument_names(obj)
    if names is None:
        return kwargs
    for key in kwargs:
        if key not in names:
            raise ConfigError(
                f"model.{key} is not an argument of {obj.__name__}: {did_you_mean(key, names)}"
                f"its arguments are {', '.join(names) or '(none)'}"
            )
    return kwargs


# ------------------------------------------------------------------ command-line overrides
def plain_overrides(overrides: list[str], conf_dir: Path) -> list[str]:
    """Hydra overrides with every plain ``model.<arg>=<value>`` made settable (``++``), and,
    when ``model._target_=<class>`` is given (one value, not a sweep), a ``~model.<arg>`` for
    each argument of the chosen ``conf/model/<option>.yaml`` that the class does not take and
    the overrides do not set. Other overrides are returned unchanged, in order."""
    out = [
        f"++{o}" if o.startswith("model.") and "=" in o and not o.startswith("model=") else o
        for o in overrides
    ]
    target = _single_value(overrides, "model._target_")
    if target is None:
        return out
    try:
        names = argument_names(resolve_target(target))
    except ConfigError:
        return out  # refused, in one line, when the model is built
    if names is None:
        return out
    given = {o.split("=", 1)[0].lstrip("+~").removeprefix("model.") for o in overrides}
    for key in _group_arguments(overrides, conf_dir):
        if key not in names and key not in given:
            out.append(f"~model.{key}")
    return out


def _single_value(overrides: list[str], key: str) -> str | None:
    for o in overrides:
        name, _, value = o.lstrip("+").partition("=")
        if name == key and value and "," not in value and not value.startswith(("range(", "[")):
            return value
    return None


def _group_arguments(overrides: list[str], conf_dir: Path) -> list[str]:
    """The argument keys of the model group option the overrides choose (or the default of
    conf/config.yaml), read from its YAML."""
    import yaml

    option = next((o.split("=", 1)[1] for o in overrides if o.startswith("model=")), None)
    if option is None:
        root = yaml.safe_load((conf_dir / "config.yaml").read_text()) or {}
        for entry in root.get("defaults", []):
            if isinstance(entry, dict) and "model" in entry:
                option = entry["model"]
    path = conf_dir / "model" / f"{option}.yaml"
    if option is None or not path.is_file():
        return []
    node = yaml.safe_load(path.read_text()) or {}
    return [k for k in node if k not in (*HYDRA_KEYS, "defaults")]
