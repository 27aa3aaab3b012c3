"""Real datasets: shapes against the documented ones, bad files against one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ermlab.config import ConfigError, compose, validate
from ermlab.data import generate
from ermlab.data.base import DataError
from ermlab.data.real import load, load_nist, load_sklearn, load_table
from ermlab.paths import REFERENCE_DIR, project_root

DATA = project_root() / "data"


def read_columns(path: Path) -> dict[str, list[float]]:
    """The file parsed with the csv module: an independent reading to compare against."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {k: [float(r[k]) for r in rows] for k in rows[0]}


# ------------------------------------------------------------------------------- shipped data
@pytest.mark.parametrize(
    ("option", "n", "target", "feature"),
    [("women", 15, "weight", "height"), ("galton", 928, "child", "parent")],
)
def test_csv_reference_data(option: str, n: int, target: str, feature: str) -> None:
    config = validate(compose([f"data={option}"]))
    dataset, source = generate(config.data, config.seed)
    assert source is None  # real data has no population
    assert len(dataset) == n and dataset.X.shape == (n, 1)
    assert dataset.feature_names == (feature,) and dataset.target_name == target
    assert dataset.task == "regression" and dataset.n_test is None
    truth = read_columns(DATA / f"{option}.csv")
    np.testing.assert_array_equal(dataset.X[:, 0], truth[feature])
    np.testing.assert_array_equal(dataset.y, truth[target])


def test_shipped_copy_is_used_when_data_dir_is_missing(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "config.yaml").write_text("{}\n")
    monkeypatch.setenv("ERMLAB_ROOT", str(tmp_path))  # a project without data/
    women = load_table("data/women.csv", "weight", ["height"])
    assert women.meta["path"] == str(REFERENCE_DIR / "women.csv") and len(women) == 15
    norris = load_nist("Norris")
    assert norris.meta["path"] == str(REFERENCE_DIR / "nist" / "Norris.dat")


# Rows and regressor columns as published on the NIST StRD pages.
NIST = {
    "Norris": (36, ("x",), True, 1),
    "Pontius": (40, ("x", "x^2"), True, 2),
    "NoInt1": (11, ("x",), False, 1),
    "NoInt2": (3, ("x",), False, 1),
    "Longley": (16, ("x1", "x2", "x3", "x4", "x5", "x6"), True, 1),
    "Wampler1": (21, ("x", "x^2", "x^3", "x^4", "x^5"), True, 5),
    "Wampler2": (21, ("x", "x^2", "x^3", "x^4", "x^5"), True, 5),
}


@pytest.mark.parametrize("name", sorted(NIST))
def test_nist_files_load(name: str) -> None:
    n, names, intercept, degree = NIST[name]
    dataset = load(validate(compose(["data=nist", f"data.name={name}"])).data)
    assert dataset.X.shape == (n, len(names)) and dataset.y.shape == (n,)
    assert dataset.feature_names == names and dataset.task == "regression"
    assert dataset.meta["fit_intercept"] is intercept and dataset.meta["degree"] == degree
    assert len(dataset.meta["certified"].coef) == len(names) + intercept
    # The polynomial columns are the powers of the first one.
    for j in range(1, degree):
        np.testing.assert_allclose(dataset.X[:, j], dataset.X[:, 0] ** (j + 1))


def test_nist_by_path_and_known_values() -> None:
    norris = load_nist(None, "data/nist/Norris.dat")
    # First data row of Norris.dat (y, x) = (0.1, 0.2), last (0.2, 0.5).
    assert (norris.y[0], norris.X[0, 0]) == (0.1, 0.2)
    assert (norris.y[-1], norris.X[-1, 0]) == (0.2, 0.5)
    certified = [-0.262323073774029, 1.00211681802045]
    np.testing.assert_allclose(norris.meta["certified"].coef, certified)
    overrides = ["data=nist", "data.name=null", "data.path=data/nist/Longley.dat"]
    dataset = load(validate(compose(overrides)).data)
    assert dataset.X.shape == (16, 6)


# ------------------------------------------------------------------------------------ sklearn
@pytest.mark.parametrize(
    ("name", "shape", "task", "n_classes"),
    [
        ("diabetes", (442, 10), "regression", None),
        ("linnerud", (20, 3), "regression", None),
        ("iris", (150, 4), "classification", 3),
        ("breast_cancer", (569, 30), "classification", 2),
    ],
)
def test_sklearn_datasets(name: str, shape: tuple[int, int], task: str, n_classes) -> None:
    dataset = load(validate(compose([f"data={name}"])).data)
    assert dataset.X.shape == shape and dataset.y.shape == (shape[0],)
    assert dataset.task == task and len(dataset.feature_names) == shape[1]
    if n_classes is not None:
        np.testing.assert_array_equal(np.unique(dataset.y), np.arange(n_classes))
        assert len(dataset.meta["classes"]) == n_classes


def test_linnerud_target_choice() -> None:
    import sklearn.datasets

    bunch = sklearn.datasets.load_linnerud()
    for j, name in enumerate(("Weight", "Waist", "Pulse")):
        dataset = load_sklearn("linnerud", name)
        assert dataset.target_name == name
        np.testing.assert_array_equal(dataset.y, bunch.target[:, j])
    assert load_sklearn("linnerud").target_name == "Weight"
    with pytest.raises(ConfigError, match="Weight, Waist, Pulse"):
        load_sklearn("linnerud", "Height")


# -------------------------------------------------------------------------------- csv options
def test_csv_all_other_columns_and_classification(tmp_path: Path) -> None:
    path = tmp_path / "flowers.csv"
    path.write_text("a,b,label\n1,2,rose\n3,4,tulip\n5,6,rose\n")
    dataset = load_table(path, "label", [], "classification")
    assert dataset.feature_names == ("a", "b")
    np.testing.assert_array_equal(dataset.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(dataset.y, [0, 1, 0])
    assert dataset.meta["classes"] == ["rose", "tulip"] and dataset.task == "classification"


def test_parquet(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "table.parquet"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.5]}).to_parquet(path)
    dataset = load(validate(compose(["data=csv", f"data.path={path}", "data.target=y"])).data)
    np.testing.assert_array_equal(dataset.X[:, 0], [1, 2, 3])
    np.testing.assert_array_equal(dataset.y, [2, 4, 6.5])


def test_csv_template_needs_a_path() -> None:
    with pytest.raises(ConfigError):
        validate(compose(["data=csv"]))


# ---------------------------------------------------------------------------------- bad input
BAD_CSV = {
    # name: (file text, target, features, what the message must also name)
    "empty": ("", "y", ["x"], "empty"),
    "header_only": ("x,y\n", "y", ["x"], "no data rows"),
    "missing_target": ("x,z\n1,2\n", "y", ["x"], "'y'"),
    "missing_feature": ("x,y\n1,2\n", "y", ["w"], "'w'"),
    "text_feature": ("x,y\n1,2\n2,3\nabc,4\n", "y", ["x"], "row 3 (line 4)"),
    "text_in_other_column": ("x,note,y\n1,a,2\n", "y", [], "'note', row 1"),
    "nan_target": ("x,y\n1,2\n2,\n", "y", ["x"], "'y', row 2"),
    "inf_feature": ("x,y\n1,2\ninf,3\n", "y", ["x"], "'x', row 2"),
    "ragged": ("x,y\n1,2\n3,4,5\n", "y", ["x"], "line 3"),
}


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message and message.strip() == message
    return message


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_csv_one_line_error(tmp_path: Path, case: str) -> None:
    text, target, features, named = BAD_CSV[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        load_table(path, target, features)
    message = _one_line(err)
    assert f"{case}.csv" in message and named in message
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{case}.csv"]  # nothing written


def test_missing_column_lists_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("height,weight\n1,2\n")
    with pytest.raises(DataError, match="the columns are height, weight"):
        load_table(path, "mass", ["height"])


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(DataError) as err:
        load(validate(compose(["data=csv", f"data.path={path}", "data.target=y"])).data)
    assert "nowhere.csv" in _one_line(err) and "no such file" in str(err.value)
    assert not path.exists()


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "table.xlsx"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(DataError) as err:
        load_table(path, "y")
    assert "table.xlsx" in _one_line(err)


def test_nist_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_nist("Nosuch")
    assert "Nosuch" in _one_line(err)
    with pytest.raises(DataError) as err:
        load_nist(None, tmp_path / "gone.dat")
    assert "gone.dat" in _one_line(err)
    bad = tmp_path / "Broken.dat"
    bad.write_text("NIST/ITL StRD\nDataset Name:  Broken\n\nno header here\n")
    with pytest.raises(DataError) as err:
        load_nist(None, bad)
    message = _one_line(err)
    assert "Broken.dat" in message and "line" in message
    # A file whose data rows do not match the header: the reader names the line.
    text = (REFERENCE_DIR / "nist" / "Norris.dat").read_text().splitlines()
    data_start = next(i for i, s in enumerate(text) if s.strip().startswith("0.1 "))
    text[data_start] = "  0.1   abc"
    corrupt = tmp_path / "Corrupt.dat"
    corrupt.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError) as err:
        load_nist(None, corrupt)
    assert "Corrupt.dat" in _one_line(err) and f"line {data_start + 1}" in str(err.value)


# ---------------------------------------------------------------------- misaligned layouts
def test_row_longer_than_header_is_an_error_not_a_shift(tmp_path: Path) -> None:
    """A row with one more field than the header must not turn the first column into the index
    (which would shift every column: height read as 182.9, weight as 96.2)."""
    path = tmp_path / "shifted.csv"
    path.write_text("height,weight\n0,182.9,96.2\n1,170.0,70.1\n")
    for features in ([], ["height"]):
        with pytest.raises(DataError) as err:
            load_table(path, "weight", features)
        message = _one_line(err)
        assert "shifted.csv" in message and "row 1 (line 2)" in message
        assert "3 fields" in message and "2 columns (height, weight)" in message
    # The same through a config, and for a compressed TSV.
    with pytest.raises(DataError, match="row 1 \\(line 2\\)"):
        load(validate(compose(["data=csv", f"data.path={path}", "data.target=weight"])).data)
    import gzip

    tsv = tmp_path / "shifted.tsv.gz"
    with gzip.open(tsv, "wt") as f:
        f.write("height\tweight\n0\t182.9\t96.2\n")
    with pytest.raises(DataError) as err:
        load_table(tsv, "weight")
    assert "shifted.tsv.gz" in _one_line(err) and "row 1 (line 2)" in str(err.value)


def test_later_row_longer_than_header_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("height,weight\n182.9,96.2\n170.0,70.1\n160.0,60.0,1\n")
    with pytest.raises(DataError) as err:
        load_table(path, "weight", ["height"])
    message = _one_line(err)
    assert "long.csv" in message and "row 3 (line 4) has 3 fields" in message


def test_trailing_delimiter_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "trailing.csv"
    path.write_text("height,weight\n182.9,96.2,\n170.0,70.1\n")
    dataset = load_table(path, "weight")
    assert dataset.feature_names == ("height",)
    np.testing.assert_array_equal(dataset.X[:, 0], [182.9, 170.0])
    np.testing.assert_array_equal(dataset.y, [96.2, 70.1])


def test_saved_index_column_is_not_a_feature(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "indexed.csv"
    pd.DataFrame({"height": [182.9, 170.0, 160.0], "weight": [96.2, 70.1, 60.0]}).to_csv(path)
    assert path.read_text().startswith(",height,weight")  # to_csv's default: the index, unnamed
    with pytest.raises(DataError) as err:
        load(validate(compose(["data=csv", f"data.path={path}", "data.target=weight"])).data)
    message = _one_line(err)
    assert "indexed.csv" in message and "no name in the header" in message
    assert "'Unnamed: 0'" in message and "saved row index" in message
    assert "data.features" in message and "index=False" in message
    # Listing the features is the fix; listing the unnamed column uses it on purpose.
    dataset = load_table(path, "weight", ["height"])
    np.testing.assert_array_equal(dataset.X[:, 0], [182.9, 170.0, 160.0])
    np.testing.assert_array_equal(dataset.y, [96.2, 70.1, 60.0])
    dataset = load_table(path, "weight", ["Unnamed: 0", "height"])
    np.testing.assert_array_equal(dataset.X[:, 0], [0, 1, 2])
