"""Studies that reproduce published results, one module each.

A study module defines ``TITLE``, a ``Params`` dataclass (its ``study:`` config node, less
``name``), ``run(config, params, out_dir) -> dict`` (the sweep; JSON-able results, plots
into ``out_dir``) and ``verify(results, params) -> list[Check]`` (published against
reproduced). :mod:`ermlab.studies.runner` wires them to DVC (``pipelines/<study>/``), to
MLflow (an experiment named after the study) and to the Hydra app
(``ermlab experiment=<study>``).
"""

STUDIES = (
    "least_squares",
    "nist_strd",
    "bishop_curve_fitting",
    "ols_risk_theory",
    "double_descent",
    "biased_sample",
)
