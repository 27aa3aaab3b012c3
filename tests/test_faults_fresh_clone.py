"""What a new user sees after ``make run`` on a fresh clone: DVC commands with no error and no
warning caused by the studies, a risk table printed once, and a re-fit that changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cmd


def _quiet(args: list[str], cwd: Path) -> str:
    """Run a command that must succeed without an error or a warning; its stdout + stderr."""
    proc = run_cmd(args, cwd)
    said = proc.stdout + proc.stderr
    assert "ERROR" not in said and "WARNING" not in said, f"{' '.join(args)}:\n{said}"
    return said


@pytest.mark.slow
def test_after_make_run_every_dvc_command_is_clean(project: Path, tmp_path: Path):
    # make run: data, params, dvc repro, ermlab-stage report (see the Makefile).
    run_cmd(["ermlab-stage", "params"], project)
    repro = _quiet(["dvc", "repro"], project)
    # data.dvc is unchanged (restore-data cached data/ for DVC): DVC does not say to add it.
    assert "data.dvc" not in repro.partition("To track the changes with git")[2]
    report = run_cmd(["ermlab-stage", "report"], project).stdout
    assert (repro + report).count("empirical (train)") == 1  # the risk table, once
    assert "MLflow run " in repro

    status = _quiet(["dvc", "status"], project)
    assert "up to date" in status and "pipelines/" not in status

    # The same fit gives the same bytes (OLS pickled its longdouble padding before): a
    # forced re-fit leaves dvc.lock as it was, and nothing downstream to re-run.
    lock = (project / "dvc.lock").read_text()
    _quiet(["dvc", "repro", "-f", "-s", "fit"], project)
    assert (project / "dvc.lock").read_text() == lock
    assert "up to date" in _quiet(["dvc", "status"], project)

    _quiet(["dvc", "exp", "run", "-S", "data.n_train=50"], project)
    shown = json.loads(_quiet(["dvc", "exp", "show", "--json"], project).split("\n", 1)[0])
    text = json.dumps(shown)
    assert "pipelines" not in text  # no study's params, metrics or outputs
    files = {f for exp in shown for f in (exp.get("data") or {}).get("params") or {}}
    files |= {f for exp in shown for f in (exp.get("data") or {}).get("metrics") or {}}
    assert files <= {"params.yaml", "results/metrics.json"}, files
    names = run_cmd(["dvc", "exp", "list", "--name-only"], project).stdout.split()
    assert len(names) == 1
    _quiet(["dvc", "exp", "apply", names[0]], project)
    assert "n_train: 50" in (project / "params.yaml").read_text()

    metrics = _quiet(["dvc", "metrics", "show"], project)
    assert "pipelines" not in metrics
    _quiet(["dvc", "plots", "show", "-o", str(tmp_path / "plots")], project)
    _quiet(["dvc", "remote", "add", "-d", "fresh", str(tmp_path / "remote")], project)
    _quiet(["dvc", "push"], project)


def test_the_same_ols_fit_pickles_to_the_same_bytes_in_every_process(tmp_path: Path):
    # np.longdouble's padding bytes held whatever memory did: different on every process.
    # Fitting in fresh processes with different memory histories must still give one pickle.
    script = (
        "import hashlib, pickle, sys, numpy as np; from ermlab.models.ols import OLS; "
        "junk = [np.empty(int(sys.argv[1]) * 1000) for _ in range(50)]; "
        "x = np.linspace(150, 190, 40)[:, None]; y = 0.9 * x[:, 0] - 80 + np.sin(x[:, 0]); "
        "m = OLS(degree=3).fit(x, y); assert pickle.loads(pickle.dumps(m))._M.dtype == m._M.dtype; "
        "print(hashlib.sha256(pickle.dumps(m)).hexdigest())"
    )
    digests = {run_cmd(["python", "-c", script, str(i)], tmp_path).stdout for i in (1, 7, 29)}
    assert len(digests) == 1
