"""ermlab: reproducible experiments on empirical risk minimisation.

generate -> split -> fit -> evaluate, driven by Hydra configs (``conf/``), cached by DVC
(``dvc.yaml``, ``pipelines/``) and recorded by MLflow. Entry points: the ``ermlab`` Hydra app
(:mod:`ermlab.cli`), the DVC stage commands ``ermlab-stage`` (:mod:`ermlab.stages`), the
published-result studies ``ermlab-study`` (:mod:`ermlab.studies.runner`) and, from Python,
:func:`ermlab.run`, :func:`ermlab.sweep` and :func:`ermlab.runs` (:mod:`ermlab.api`).
Importing the package imports nothing heavy: the API is loaded on first use.
"""

__version__ = "0.1.0"

_API = ("Result", "SweepResult", "run", "runs", "sweep")
__all__ = [*_API, "__version__"]


def __getattr__(name: str):
    # PEP 562: `ermlab.run` loads ermlab.api (and, when called, Hydra and MLflow) on first use.
    if name in _API:
        from ermlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'ermlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
