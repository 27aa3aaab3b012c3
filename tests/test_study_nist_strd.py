"""The nist_strd study: its verify on hand-made results, its helpers against certified
values, and the real study end to end (every file in data/nist/ plus tests/data/nist/)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ermlab.config import ConfigError
from ermlab.data.nist import lre, read_nist, reference_path
from ermlab.studies import nist_strd
from ermlab.studies.nist_strd import Params, stats_from_coef, verify

REPO = Path(__file__).resolve().parents[1]
EXTRA = sorted((REPO / "tests" / "data" / "nist").glob("*.dat"))


def _entry(ols_lre: list[float]) -> dict:
    """A one-parameter, no-intercept file (B1, SE(B1), residual SD, R²) with given ols LREs."""
    labels = ["B1", "SE(B1)", "residual SD", "R²"]
    method = {"estimates": [1.0] * 4, "lre": ols_lre, "rank": 1, "warnings": []}
    return {
        "path": "x.dat",
        "model": "y = B1*x + e",
        "n": 3,
        "p": 1,
        "fit_intercept": False,
        "degree": 1,
        "ols_input": "x, degree 1",
        "labels": labels,
        "certified": [1.0] * 4,
        "methods": {m: method for m in nist_strd.METHODS},
    }


def test_verify_passes_when_every_value_has_enough_digits() -> None:
    results = {"files": {"A": _entry([14.0, 9.0, 7.0, 15.0])}, "min_lre": 7.0}
    checks = verify(results, Params())
    assert [c.passed for c in checks] == [True] * 4
    assert [c.reproduced for c in checks] == [14.0, 9.0, 7.0, 15.0]
    assert "residual SD" in checks[2].quantity


def test_verify_fails_the_group_that_misses_a_digit() -> None:
    entry = _entry([14.0, 6.99, 12.0, 0.0])
    checks = verify({"files": {"A": entry}, "min_lre": 7.0}, Params())
    assert [c.passed for c in checks] == [True, False, True, False]
    assert "worst: SE(B1)" in checks[1].quantity
    # numpy and sklearn are informational: a bad LRE there never makes a check.
    entry["methods"]["numpy_lstsq"] = {**entry["methods"]["ols"], "lre": [0.0] * 4}
    assert len(verify({"files": {"A": entry}, "min_lre": 7.0}, Params())) == 4


def test_value_labels_and_groups() -> None:
    prob = read_nist(reference_path("Pontius"))
    labels = nist_strd.value_labels(prob)
    assert labels == ["B0", "B1", "B2", "SE(B0)", "SE(B1)", "SE(B2)", "residual SD", "R²"]
    assert nist_strd.value_groups(labels) == {
        "coef": [0, 1, 2],
        "stderr": [3, 4, 5],
        "residual_sd": [6],
        "r2": [7],
    }
    noint = nist_strd.value_labels(read_nist(reference_path("NoInt1")))
    assert noint[:2] == ["B1", "SE(B1)"]


@pytest.mark.parametrize("name", ["Norris", "Longley", "NoInt1", "Wampler2"])
def test_stats_from_certified_coefficients_give_certified_statistics(name: str) -> None:
    """The formulas used for numpy/sklearn, fed NIST's own coefficients, give NIST's SEs,
    residual SD and R² (closed-form truth, independent of any solver)."""
    prob = read_nist(reference_path(name))
    c = prob.certified
    A = nist_strd._raw_design(prob)
    stderr, sd, r2 = stats_from_coef(A, np.asarray(prob.y), np.asarray(c.coef), prob.fit_intercept)
    assert min(lre(a, b) for a, b in zip(stderr, c.stderr, strict=True)) >= 8
    assert lre(sd, c.residual_sd) >= 8 and lre(r2, c.r2) >= 8


def test_ols_is_fitted_on_x_with_the_file_degree() -> None:
    assert nist_strd._powers_of_x(read_nist(reference_path("Wampler1")))
    assert nist_strd._powers_of_x(read_nist(reference_path("Longley")))


def test_file_selection(root: Path) -> None:
    every = nist_strd.study_files(Params())
    assert {p.stem for p in every} >= {"Norris", "Pontius", "Longley", "Wampler1"}
    picked = nist_strd.study_files(Params(files=["Norris", "Longley"]))
    assert [p.stem for p in picked] == ["Longley", "Norris"]
    with pytest.raises(ConfigError, match="study.files"):
        nist_strd.study_files(Params(files=["Nonesuch"]))
    with pytest.raises(ConfigError, match="study.paths"):
        nist_strd.study_files(Params(paths=["nowhere/Filip.dat"]))
    # A path already in data/nist/ is not fitted twice.
    again = nist_strd.study_files(Params(paths=["data/nist/Norris.dat"]))
    assert len(again) == len(every)


@pytest.mark.slow
def test_study_end_to_end(root: Path) -> None:
    """The real study on every shipped file plus the test-only files (Filip, Wampler3-5)."""
    from ermlab.studies.runner import run_study, sub_config, verify_study

    extra = ",".join(f"'{p}'" for p in EXTRA)
    config = sub_config(["experiment=nist_strd", "tracking=off", f"study.paths=[{extra}]"])
    results = run_study(config, root / "out")
    assert verify_study(config, results, root / "rep") is True
    files = results["files"]
    assert set(files) >= {"Norris", "Pontius", "NoInt1", "NoInt2", "Longley", "Wampler1"}
    assert {p.stem for p in EXTRA} <= set(files)
    assert len((root / "rep" / "report.md").read_text().splitlines()) == 6 + 4 * len(files)
    table = (root / "out" / "lre_table.md").read_text()
    n_values = sum(len(e["labels"]) for e in files.values())
    assert sum(line.count(" | ") >= 5 for line in table.splitlines()) >= 2 * n_values
    assert (root / "out" / "nist_lre.png").stat().st_size > 0
    if "Filip" in files:  # the file that separates solvers
        assert min(files["Filip"]["methods"]["ols"]["lre"][:11]) >= 7
        assert min(files["Filip"]["methods"]["numpy_lstsq"]["lre"][:11]) < 7
