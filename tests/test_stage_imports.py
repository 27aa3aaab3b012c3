"""Each DVC stage is a fresh process: what it imports is most of what it costs.

Every stage of the default pipeline (OLS on height_weight) runs here as DVC runs it, in its
own process, and the heavy libraries it loaded are checked against what it needs: generate and
split need numpy only; fit needs SciPy's linear algebra (OLS speaks scikit-learn's API without
importing it: ermlab.models.sklearn_api) but never scikit-learn, MLflow, matplotlib, torch or
Hydra; evaluate needs MLflow and matplotlib, never torch or Hydra.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cmd

from ermlab.paths import REFERENCE_DIR

HEAVY = ("sklearn", "scipy", "pandas", "mlflow", "sqlalchemy", "matplotlib", "torch", "hydra")
STAGES = ("generate", "split", "fit", "evaluate")

# Runs `ermlab-stage ARGS` in this process (only imports the module without ARGS), then prints
# the top-level packages loaded.
PROBE = """
import json, sys
from ermlab.stages import main
if sys.argv[1:]:
    main(sys.argv[1:])
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def loaded_by(args: list[str], root: Path) -> set[str]:
    """The packages of :data:`HEAVY` that ``ermlab-stage ARGS`` loads in project ``root``."""
    env = {**os.environ, "ERMLAB_ROOT": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=root, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.strip().splitlines()[-1])) & set(HEAVY)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    """``loaded(stage)``: the heavy packages ``ermlab-stage <stage>`` loaded (``""``: only the
    import), the stages run once each, in pipeline order, in a project that shares the
    repository's conf/ and the shipped data and records to its own store."""
    root = tmp_path_factory.mktemp("stages")
    (root / "conf").symlink_to(REPO / "conf")
    (root / "data").symlink_to(REFERENCE_DIR)
    uri = f"tracking.uri=sqlite:///{root}/mlflow.db"
    run_cmd(["ermlab-stage", "params", uri], root, ERMLAB_ROOT=str(root))
    seen: dict[str, set[str]] = {}

    def through(stage: str) -> set[str]:
        for earlier in STAGES[: STAGES.index(stage) + 1] if stage else ():
            if earlier not in seen:
                seen[earlier] = loaded_by([earlier], root)
        return seen[stage] if stage else loaded_by([], root)

    return through


def test_importing_the_stage_commands_loads_nothing_heavy(loaded):
    assert loaded("") == set()


@pytest.mark.parametrize("stage", ["generate", "split"])
def test_data_stages_load_numpy_only(loaded, stage):
    assert loaded(stage) == set(), f"ermlab-stage {stage} imported {sorted(loaded(stage))}"


@pytest.mark.slow
def test_fit_of_ols_loads_no_sklearn_tracking_plotting_torch_or_hydra(loaded):
    unneeded = loaded("fit") & {"sklearn", "mlflow", "sqlalchemy", "matplotlib", "torch", "hydra"}
    assert unneeded == set(), f"ermlab-stage fit imported {sorted(unneeded)}"


@pytest.mark.slow
def test_evaluate_of_ols_loads_no_torch_or_hydra(loaded):
    assert {"mlflow", "matplotlib"} <= loaded("evaluate")  # the probe sees what it must
    assert loaded("evaluate") & {"torch", "hydra"} == set()
