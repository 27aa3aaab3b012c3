"""A sweep's job configs, composed once per distinct choice of config groups.

Hydra composes every job from scratch (the defaults list, every YAML file, the schemas):
about 200 ms a job, more than the job itself for small experiments. Only the overrides that
pick config groups (``model=ridge``, ``+experiment=...``, ``~experiment``) change what is
composed; a value override (``data.n_train=30``, ``+model.alpha=2``, ``~data.noise``) is applied
to the composed config afterwards, by Hydra's own code, exactly as Hydra applies it after
composing. So :class:`JobComposer` composes each distinct group choice once and applies the
value overrides to a copy: the same config, the same errors, at the cost of a copy.

The copy is unpickled from the composition's pickle, kept with it: OmegaConf's ``deepcopy``
walks every node in Python (about 6 ms for a job's config with its ``hydra`` node), while its
pickle round trip restores the same nodes, flags and types in about 1 ms.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Sequence

from omegaconf import DictConfig, OmegaConf, open_dict


class JobComposer:
    """Compose job configs from override lists, caching one composition per group choice.

    Parameters
    ----------
    compose_groups : composes the config for a list of group overrides (Hydra's
        ``load_sweep_config`` in a launcher, :func:`ermlab.config.compose` before the app).
    group_exists : whether a key names a config group (Hydra's repository answers).
    master : the sweep's own config, whose ``hydra.overrides.hydra`` and resolver cache each
        job inherits (as Hydra's ``load_sweep_config`` does); None outside a Hydra app.
    """

    def __init__(
        self,
        compose_groups: Callable[[list[str]], DictConfig],
        group_exists: Callable[[str], bool],
        master: DictConfig | None = None,
    ) -> None:
        self._compose_groups = compose_groups
        self._group_exists = group_exists
        self._master = master
        self._bases: dict[tuple[str, ...], bytes] = {}  # a pickle per group choice

    def compose(self, overrides: Sequence[str]) -> DictConfig:
        """The config of one job, as ``load_sweep_config(master, overrides)`` would compose it.

        Raises Hydra's ``ConfigCompositionException`` (or OmegaConf's errors) for a bad
        override, as a full composition would.
        """
        from hydra._internal.config_loader_impl import ConfigLoaderImpl

        parsed = [parsed_override(line) for line in overrides]
        groups = tuple(o.input_line for o in parsed if self._picks_group(o))
        if groups not in self._bases:
            self._bases[groups] = pickle.dumps(self._compose_groups(list(groups)))
        cfg = pickle.loads(self._bases[groups])
        values = [o for o in parsed if not self._picks_group(o)]
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        if "hydra" in cfg:
            self._record_overrides(cfg, parsed)
        return cfg

    def _picks_group(self, override) -> bool:
        """Hydra's own rule (``defaults_list.Overrides``): an override edits the defaults list
        when its key is a config group and its value is not a dict."""
        return self._group_exists(override.key_or_group) and not isinstance(override.value(), dict)

    def _record_overrides(self, cfg: DictConfig, parsed: list) -> None:
        """What Hydra records in ``hydra.*`` about a job's overrides (its .hydra/overrides.yaml,
        ``hydra.job.override_dirname``), for the whole list, not only the group choices."""
        from hydra._internal.config_loader_impl import get_overrides_dirname

        task = [o for o in parsed if not o.is_hydra_override()]
        inherited = list(self._master.hydra.overrides.hydra) if self._master is not None else []
        dirname = cfg.hydra.job.config.override_dirname
        with open_dict(cfg.hydra):
            cfg.hydra.overrides.task = [o.input_line for o in task]
            cfg.hydra.overrides.hydra = inherited + [
                o.input_line for o in parsed if o.is_hydra_override()
            ]
            cfg.hydra.job.override_dirname = get_overrides_dirname(
                overrides=task,
                kv_sep=dirname.kv_sep,
                item_sep=dirname.item_sep,
                exclude_keys=dirname.exclude_keys,
            )
        if self._master is not None:
            OmegaConf.copy_cache(from_config=self._master, to_config=cfg)
            with open_dict(cfg.hydra):
                # The folder the sweeper claimed for this sweep, not a fresh ${now:...}.
                cfg.hydra.sweep.dir = self._master.hydra.sweep.dir


@functools.lru_cache(maxsize=65536)
def parsed_override(line: str):
    """Hydra's ``Override`` for one override ``line`` (its ``OverridesParser`` errors for a bad
    one), parsed once per process: Hydra's ANTLR grammar costs about 2 ms a line, and each
    line of a sweep is parsed when the jobs are checked before the sweep starts
    (``ermlab.cli.prevalidate``) and again as its job is composed. The result is shared:
    read it, never change it."""
    return _parser().parse_overrides([line])[0]


@functools.cache
def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def launcher_composer(hydra_context, master: DictConfig) -> JobComposer:
    """The composer a launcher or sweeper uses inside the Hydra app."""
    loader = hydra_context.config_loader

    def compose_groups(groups: list[str]) -> DictConfig:
        return loader.load_sweep_config(master, groups)

    return JobComposer(compose_groups, loader.repository.group_exists, master)


def app_composer() -> JobComposer:
    """The composer for checks before the Hydra app starts (``ermlab``'s pre-validation),
    over :func:`ermlab.config.compose`."""
    from ermlab.config import compose

    return JobComposer(compose, _conf_groups())


def _conf_groups() -> Callable[[str], bool]:
    """Whether a key names a config group of ``conf/`` (or of the ConfigStore, or Hydra's own)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from ermlab.config import _outside_running_app, register_configs
    from ermlab.paths import conf_dir

    register_configs()
    with _outside_running_app(), initialize_config_dir(str(conf_dir()), version_base="1.3"):
        repository = GlobalHydra.instance().config_loader().repository
        # Keep the answers: the repository lives only as long as this initialisation.
        groups = {
            group
            for group in _all_groups(repository, "")
            if group  # the primary config's folder is not a group
        }
    return lambda key: key in groups


def _all_groups(repository, parent: str) -> list[str]:
    from hydra.core.object_type import ObjectType

    found = [parent]
    for name in repository.get_group_options(parent, results_filter=ObjectType.GROUP):
        found += _all_groups(repository, f"{parent}/{name}" if parent else name)
    return found
