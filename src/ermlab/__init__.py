"""ermlab: reproducible experiments on empirical risk minimisation.

generate -> split -> fit -> evaluate, driven by Hydra configs (``conf/``), cached by DVC
(``dvc.yaml``, ``pipelines/``) and recorded by MLflow. Entry points: the ``ermlab`` Hydra app
(:mod:`ermlab.cli`), the DVC stage commands ``ermlab-stage`` (:mod:`ermlab.stages`) and the
published-result studies ``ermlab-study`` (:mod:`ermlab.studies.runner`). Importing the
package imports nothing heavy.
"""

__version__ = "0.1.0"
