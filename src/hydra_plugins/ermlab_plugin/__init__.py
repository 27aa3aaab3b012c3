"""Registers ermlab's config schemas whenever Hydra scans its plugins.

``dvc exp run`` composes ``conf/`` into ``params.yaml`` with Hydra in DVC's own process, which
never imports ermlab; Hydra does import every module under the ``hydra_plugins`` namespace, so
the schemas the YAML files extend are in the ConfigStore there too.
"""

from ermlab.config import register_configs

register_configs()
