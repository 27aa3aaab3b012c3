"""The NIST StRD reader against the files themselves, malformed files, and ``lre``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import REPO

from ermlab.data.nist import (
    SHIPPED,
    NistFormatError,
    lre,
    read_nist,
    reference_path,
)

EXTRA = Path(__file__).parent / "data" / "nist"

# name: (observations, certified parameters, predictors, fit_intercept, degree), read by eye
# from each file's header and data block.
LAYOUT = {
    "Norris": (36, 2, 1, True, 1),
    "Pontius": (40, 3, 1, True, 2),
    "NoInt1": (11, 1, 1, False, 1),
    "NoInt2": (3, 1, 1, False, 1),
    "Longley": (16, 7, 6, True, 1),
    "Wampler1": (21, 6, 1, True, 5),
    "Wampler2": (21, 6, 1, True, 5),
    "Filip": (82, 11, 1, True, 10),
    "Wampler3": (21, 6, 1, True, 5),
    "Wampler4": (21, 6, 1, True, 5),
    "Wampler5": (21, 6, 1, True, 5),
}


def _path(name: str) -> Path:
    if name in SHIPPED:
        return reference_path(name)
    path = EXTRA / f"{name}.dat"
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@pytest.mark.parametrize("name", list(LAYOUT))
def test_layout_is_read_from_the_header(name: str) -> None:
    n, p, k, intercept, degree = LAYOUT[name]
    prob = read_nist(_path(name))
    assert prob.name == name
    assert prob.x.shape == (n, k) and prob.y.shape == (n,)
    assert prob.n_observations == n and prob.n_parameters == p
    assert prob.fit_intercept is intercept and prob.degree == degree
    assert prob.design.shape == (n, p - intercept)
    assert prob.certified.coef.shape == prob.certified.stderr.shape == (p,)
    # The regressors are the model's columns: powers of x for a polynomial, x itself else.
    expected = prob.x ** np.arange(1, degree + 1) if degree > 1 else prob.x
    np.testing.assert_array_equal(prob.design, expected)
    assert not prob.x.flags.writeable


def test_norris_values_as_printed() -> None:
    prob = read_nist(reference_path("Norris"))
    c = prob.certified
    assert c.coef.tolist() == [-0.262323073774029, 1.00211681802045]
    assert c.stderr.tolist() == [0.232818234301152, 0.429796848199937e-03]
    assert c.residual_sd == 0.884796396144373 and c.r2 == 0.999993745883712
    a = c.anova
    assert (a.regression_df, a.residual_df) == (1, 34)
    assert a.regression_ss == 4255954.13232369 and a.residual_ms == 0.782864662630069
    assert a.f_statistic == 5436385.54079785
    assert a.as_dict()["residual_ss"] == 26.6173985294224
    assert prob.y[[0, -1]].tolist() == [0.1, 0.2] and prob.x[[0, -1], 0].tolist() == [0.2, 0.5]
    assert prob.model == "y = B0 + B1*x + e"


def test_other_files_values_as_printed() -> None:
    pontius = read_nist(reference_path("Pontius"))
    assert pontius.certified.coef[2] == -0.316081871345029e-14
    assert pontius.certified.anova.residual_ss == 0.155761768796992e-05
    assert (pontius.y[0], pontius.x[0, 0], pontius.x[-1, 0]) == (0.11019, 150000, 3000000)
    longley = read_nist(reference_path("Longley"))
    assert longley.certified.coef[0] == -3482258.63459582
    assert longley.certified.stderr[6] == 455.478499142212
    assert longley.certified.anova.residual_df == 9
    assert longley.x[0].tolist() == [83.0, 234289, 2356, 1590, 107608, 1947]
    noint1 = read_nist(reference_path("NoInt1"))
    assert noint1.certified.coef.tolist() == [2.07438016528926]
    assert noint1.certified.anova.f_statistic == 15750.25
    assert noint1.y.tolist() == list(range(130, 141))
    noint2 = read_nist(reference_path("NoInt2"))
    assert noint2.certified.anova.f_statistic == 298.6666666666667
    wampler1 = read_nist(reference_path("Wampler1"))
    assert math.isinf(wampler1.certified.anova.f_statistic)
    assert wampler1.certified.residual_sd == 0.0
    assert read_nist(reference_path("Wampler2")).certified.coef[5] == 0.100000000000000e-04


def test_filip_ellipsis_model_expands_to_ten_powers() -> None:
    prob = read_nist(_path("Filip"))
    assert "..." in prob.model
    np.testing.assert_array_equal(prob.design[:, 9], prob.x[:, 0] ** 10)
    assert prob.certified.coef[10] == -0.402962525080404e-04


def test_lf_line_endings_read_the_same(tmp_path: Path) -> None:
    text = reference_path("Norris").read_bytes().replace(b"\r\n", b"\n")
    (tmp_path / "Norris.dat").write_bytes(text)
    a, b = read_nist(tmp_path / "Norris.dat"), read_nist(reference_path("Norris"))
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.certified.coef, b.certified.coef)


def test_model_expression_may_wrap(tmp_path: Path) -> None:
    lines = reference_path("Wampler1").read_text().splitlines()
    assert lines[23].strip().startswith("y = B0") and lines[24] == ""
    lines[23] = "               y = B0 + B1*x + B2*(x**2) +"
    lines[24] = "                   B3*(x**3)+ B4*(x**4) + B5*(x**5)"
    (tmp_path / "wrapped.dat").write_text("\r\n".join(lines) + "\r\n")
    prob = read_nist(tmp_path / "wrapped.dat")
    assert prob.degree == 5 and prob.design.shape == (21, 5)
    np.testing.assert_array_equal(prob.design, read_nist(reference_path("Wampler1")).design)


def _corrupt(tmp_path: Path, line: int, text: str, name: str = "broken.dat") -> Path:
    """Norris with 1-based ``line`` replaced by ``text``."""
    lines = reference_path("Norris").read_text().splitlines()
    lines[line - 1] = text
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


@pytest.mark.parametrize(
    ("line", "text", "at", "expected"),
    [
        (6, "", 4, "Data (lines A to B)"),  # the Data header is gone
        (5, "", 4, "Certified Values (lines A to B)"),
        (6, "               Data              (lines 61 to 200)", 6, "within the file"),
        (70, "      83.3  70.2  1.0", 70, "2 numbers"),
        (65, "      abc   12.0", 65, "numeric values"),
        (80, "", 80, "2 numbers"),  # a blank line inside the data block
        (32, "        B1         1.0021O681802045      0.429796848199937E-03", 32, "'Bk"),
        (37, "     R-Squared            n/a", 37, "numbers after the label"),
        (22, "               y = B0 + B1*sin(x) + e", 22, "model terms"),
        (22, "", 1, "model line"),
        (15, "               37 Observations", 61, "37 observations"),
        (20, "               3 Parameters (B0,B1,B2)", 22, "3 parameters"),
        (14, "               2 Predictor Variables (x)", 61, "3 numbers"),
    ],
)
def test_malformed_files_say_where(tmp_path, line, text, at, expected) -> None:
    path = _corrupt(tmp_path, line, text)
    with pytest.raises(NistFormatError) as info:
        read_nist(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"broken.dat: line {at}: expected")
    assert expected in message
    assert isinstance(info.value, ValueError)


def test_missing_certified_row_and_non_ascii(tmp_path: Path) -> None:
    with pytest.raises(NistFormatError, match=r"broken\.dat: line 46: expected 'R-Squared"):
        read_nist(_corrupt(tmp_path, 37, ""))
    path = tmp_path / "latin.dat"
    path.write_bytes(reference_path("Norris").read_bytes().replace(b"Norris, J.", b"N\xf6rris"))
    with pytest.raises(NistFormatError, match=r"latin\.dat: byte \d+: expected ASCII"):
        read_nist(path)


def test_reference_path_unknown_name() -> None:
    with pytest.raises(FileNotFoundError, match="Norris"):
        reference_path("Nope")


@pytest.mark.parametrize(
    ("estimate", "certified", "expected"),
    [
        (1.0, 1.0, 15.0),  # exact: capped
        (1.0 + 1e-16, 1.0, 15.0),
        (1.001, 1.0, 3.0),
        (-0.262323, -0.262323073774029, -math.log10(0.073774029e-6 / 0.262323073774029)),
        (1e-9, 0.0, 9.0),  # certified zero: absolute error
        (0.0, 0.0, 15.0),
        (2.0, 1.0, 0.0),  # relative error 1: no digit
        (100.0, 1.0, 0.0),  # floored at 0
        (float("nan"), 1.0, 0.0),
        (float("inf"), float("inf"), 15.0),
        (1e300, float("inf"), 0.0),
    ],
)
def test_lre(estimate, certified, expected) -> None:
    assert lre(estimate, certified) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("name", "model", "says"),
    [
        ("NoInt1", "ols", "has no intercept"),
        ("Norris", "ols_no_intercept", "has an intercept"),
        ("NoInt1", "ols_no_intercept", None),
        ("Norris", "ols", None),
    ],
)
def test_a_fit_of_another_model_than_the_files_is_said(name: str, model: str, says):
    """NoInt1's certified B1 = 2.0744 is for y = B1·x; the default model fits an intercept
    and gets 70 and 1 (y = 70 + x exactly), which nothing said before."""
    from ermlab.config import compose, validate
    from ermlab.data import generate
    from ermlab.models import build, intercept_mismatch

    config = validate(compose(["data=nist", f"data.name={name}", f"model={model}"]))
    dataset, _ = generate(config.data, 0)
    note = intercept_mismatch(build(config.model, 0), dataset)
    assert (note is None) if says is None else (says in note and "certified" in note)


def test_the_dvc_stages_say_it_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """The fit stage reads the data from the split's file: the file keeps what the note needs."""
    from ermlab import stages

    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))
    (tmp_path / "conf").symlink_to(REPO / "conf")
    stages.write_params(["data=nist", "data.name=NoInt1", "tracking=off"])
    for stage in ("generate", "split", "fit"):
        stages.STAGES[stage]()
    assert "NoInt1's model has no intercept" in capsys.readouterr().err


def test_a_saved_dataset_keeps_the_metadata_the_fit_stage_reads(tmp_path: Path):
    from ermlab.data import Dataset
    from ermlab.data.real import load_nist

    dataset = load_nist("NoInt1")
    dataset.save(tmp_path / "d.npz")
    meta = Dataset.load(tmp_path / "d.npz").meta
    assert meta == {k: dataset.meta[k] for k in ("fit_intercept", "model")}  # no path
