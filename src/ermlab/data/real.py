"""Real datasets: a table on disk (CSV or Parquet), a NIST StRD file, or a scikit-learn dataset.

``load(cfg)`` turns a validated ``data`` config of kind ``csv``, ``nist`` or ``sklearn`` into a
:class:`~ermlab.data.base.Dataset`. Real data has no population: no p(x), no Bayes risk, and
``Dataset.n_test`` is ``None`` (the split decides how many rows are held out).

Conventions
-----------
- ``X`` is float64 of shape (n, p); ``y`` has shape (n,): float64 for regression, int64 class
  codes 0..k−1 for classification (the original labels, in code order, are kept in
  ``Dataset.meta["classes"]``).
- Relative paths in a config are taken from :func:`ermlab.paths.project_root`; a file under
  ``data/`` that is missing there (data/ not restored by DVC, or an installed package) is read
  from the identical copy shipped in ``ermlab/data/reference/``.
- Every problem with a file raises :class:`~ermlab.data.base.DataError` with one line naming the
  file, the column or row, and what was expected. Nothing is ever written.

pandas and scikit-learn are imported inside the loaders that need them, so importing this
module costs numpy only.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ermlab import paths
from ermlab.config import ConfigError
from ermlab.data.base import DataError, Dataset

__all__ = ["load", "load_nist", "load_sklearn", "load_table"]

# The names pandas gives columns with an empty header field (a DataFrame's index saved by
# to_csv() has one): never taken as features unless data.features lists them.
_UNNAMED = re.compile(r"Unnamed: \d+(_level_\d+)?")

PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
# pandas decompresses these transparently when the inner suffix is a CSV one (women.csv.gz).
COMPRESSION_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")


def load(cfg: Any) -> Dataset:
    """Load the real dataset a validated ``data`` config describes.

    Parameters
    ----------
    cfg : CsvDataConfig, NistDataConfig or SklearnDataConfig
        Dispatched on ``cfg.kind`` (``csv``, ``nist``, ``sklearn``).

    Returns
    -------
    Dataset
        ``X`` (n, p), ``y`` (n,), ``n_test=None``.

    Raises
    ------
    DataError
        A file is missing or unusable (one line: file, column or row, what was expected).
    ConfigError
        A config value the schema could not check (an unknown scikit-learn target column).
    """
    if cfg.kind == "csv":
        return load_table(cfg.path, cfg.target, list(cfg.features), cfg.task)
    if cfg.kind == "nist":
        return load_nist(cfg.name, cfg.path)
    if cfg.kind == "sklearn":
        return load_sklearn(cfg.name, cfg.target)
    raise ConfigError(f"data.kind={cfg.kind!r} is not allowed here: one of csv, nist, sklearn")


# ------------------------------------------------------------------------------------ paths
def resolve(path: str | Path) -> Path:
    """The file a config's ``path`` names: absolute as given, relative from the project root;
    a missing ``data/<file>`` falls back to the shipped reference copy when there is one."""
    given = Path(path).expanduser()
    if given.is_absolute():
        return given
    full = paths.project_root() / given
    if not full.exists() and given.parts[:1] == ("data",):
        shipped = paths.REFERENCE_DIR.joinpath(*given.parts[1:])
        if shipped.is_file():
            return shipped
    return full


def file_digest(path: str | Path) -> str | None:
    """SHA-256 (hex) of the file a config's ``path`` names (:func:`resolve`), or None when
    there is no such file. Kept per process by size and modification time: a sweep's jobs
    read one file many times."""
    import hashlib

    full = resolve(path)
    try:
        stat = full.stat()
    except OSError:
        return None
    if not full.is_file():
        return None
    key = (str(full.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        with full.open("rb") as f:
            _DIGESTS[key] = hashlib.file_digest(f, "sha256").hexdigest()
    return _DIGESTS[key]


_DIGESTS: dict[tuple[str, int, int], str] = {}


def _require_file(path: Path) -> None:
    if not path.exists():
        raise DataError(f"{path}: no such file (relative paths start at {paths.project_root()})")
    if not path.is_file():
        raise DataError(f"{path}: not a file (expected a CSV or Parquet file)")


# ------------------------------------------------------------------------------------ tables
def _read_frame(path: Path):
    """Read a CSV/TSV or Parquet file into a DataFrame; any reader error becomes one line."""
    import pandas as pd

    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    suffix = suffixes[-1] if suffixes else ""
    if suffix not in PARQUET_SUFFIXES + CSV_SUFFIXES:
        raise DataError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r}: expected "
            f"{', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}"
        )
    sep = "\t" if suffix == ".tsv" else ","
    try:
        if suffix in PARQUET_SUFFIXES:
            frame = pd.read_parquet(path)
        else:
            # index_col=False: a first data row longer than the header must not silently turn the
            # first column into the index (shifting every column); pandas warns instead, and the
            # warning is made an error here.
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "error", "Length of header or names", category=pd.errors.ParserWarning
                )
                frame = pd.read_csv(path, sep=sep, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty: expected a header and data rows") from None
    except pd.errors.ParserWarning:
        raise DataError(_long_row(path, sep)) from None
    except (ValueError, OSError, ImportError) as err:
        # ParserError (a ragged row), UnicodeDecodeError, pyarrow's ArrowInvalid: all ValueError.
        detail = " ".join(str(err).split()) or type(err).__name__
        if isinstance(err, pd.errors.ParserError) and _TOO_MANY.search(detail):
            raise DataError(_long_row(path, sep, detail)) from None
        kind = "Parquet" if suffix in PARQUET_SUFFIXES else "CSV"
        raise DataError(f"{path}: cannot be read as {kind}: {detail}") from None
    if frame.shape[1] == 0:
        raise DataError(f"{path}: the file is empty: expected a header and data rows")
    if suffix in CSV_SUFFIXES:
        _refuse_duplicate_columns(path, sep)
    if len(frame) == 0:
        raise DataError(f"{path}: no data rows below the header: expected at least one row")
    return frame


def _refuse_duplicate_columns(path: Path, sep: str) -> None:
    """pandas renames a repeated header name (``x,x,y`` reads as x, x.1, y), which would fit
    the second column as a feature of its own: refuse the file, naming the column."""
    import pandas as pd

    header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str, index_col=False)
    seen: set[str] = set()
    for j, name in enumerate(header.iloc[0]):
        if not isinstance(name, str):  # an empty header field: see _UNNAMED
            continue
        if name in seen:
            raise DataError(
                f"{path}: column {name!r} appears twice in the header (again as column "
                f"{j + 1}): give every column its own name"
            )
        seen.add(name)


# The C parser's message for a row with more fields than expected ("line" counts records).
_TOO_MANY = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _long_row(path: Path, sep: str, detail: str | None = None) -> str:
    """The one line for a data row with more fields than the header names columns.

    ``detail`` is the C parser's error for a later row; without it (pandas only warned, about
    the first data row), the file is tokenised again without a header, which makes the parser
    name the first row longer than the one before it: the header line counts as a row.
    """
    import pandas as pd

    first = detail is None
    if first:
        try:
            pd.read_csv(path, sep=sep, header=None, dtype=str, index_col=False)
        except (ValueError, OSError) as err:
            detail = " ".join(str(err).split())
    found = _TOO_MANY.search(detail or "")
    try:
        header = [str(c) for c in pd.read_csv(path, sep=sep, nrows=0, index_col=False).columns]
        names = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
        columns = f"{len(header)} columns ({names})"
    except (ValueError, OSError):
        columns = "fewer columns"
    if found is None:
        where, saw = "row 1 (line 2)", "more fields"
    else:
        line = int(found.group(2))
        where, saw = f"row {line - 1} (line {line})", f"{found.group(3)} fields"
    message = (
        f"{path}: {where} has {saw} but the header names {columns}: expected one value per column"
    )
    if first:  # every row one longer than the header: row numbers written without a name
        message += (
            " (a row-number column with no name in the header? name it there, or re-save the "
            "file without it)"
        )
    return message


def _row(path: Path, i: int) -> str:
    """How a person finds data row ``i`` (0-based): row number, and the line for a text file."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        return f"row {i + 1}"
    return f"row {i + 1} (line {i + 2})"  # line 1 is the header


def _numeric(frame, column: str, path: Path) -> np.ndarray:
    """The column as finite float64, shape (n,); the first bad row is named."""
    import pandas as pd

    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(float)
    if not pd.api.types.is_numeric_dtype(values):
        converted = pd.to_numeric(values, errors="coerce")
        bad = np.flatnonzero(converted.isna().to_numpy() & values.notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{path}: column {column!r}, {_row(path, i)}: expected a number, "
                f"got {str(values.iloc[i])[:40]!r}"
            )
        values = converted
    array = values.to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        i = int(bad[0])
        what = "a missing value (NaN)" if np.isnan(array[i]) else f"{array[i]}"
        raise DataError(
            f"{path}: column {column!r}, {_row(path, i)}: expected a finite number, got {what}"
        )
    return array


def _labels(frame, column: str, path: Path) -> tuple[np.ndarray, list]:
    """Class labels encoded as int64 codes 0..k−1 (sorted label order) and the labels."""
    values = frame[column]
    missing = np.flatnonzero(values.isna().to_numpy())
    if missing.size:
        i = int(missing[0])
        raise DataError(
            f"{path}: column {column!r}, {_row(path, i)}: expected a class label, got a missing "
            "value"
        )
    if values.dtype.kind == "f":
        _numeric(frame, column, path)  # reject inf labels with the row named
    try:
        classes, codes = np.unique(values.to_numpy(), return_inverse=True)
    except TypeError:  # mixed label types (3 and "a") cannot be ordered: order them as text
        classes, codes = np.unique(values.astype(str).to_numpy(), return_inverse=True)
    return codes.astype(np.int64), [c.item() if isinstance(c, np.generic) else c for c in classes]


def load_table(
    path: str | Path, target: str, features: list[str] | None = None, task: str = "regression"
) -> Dataset:
    """Load a CSV (``.csv``, ``.tsv``, optionally compressed) or Parquet file.

    Parameters
    ----------
    path : str or Path
        The file; relative paths start at the project root (see :func:`resolve`).
    target : str
        The target column.
    features : list of str, optional
        The input columns, in this order; empty or ``None`` means every other column, which
        must then all be numeric.
    task : {"regression", "classification"}
        Regression needs a numeric target; a classification target may hold any labels, which
        are encoded as 0..k−1 in sorted order (``meta["classes"]`` keeps the labels).

    Returns
    -------
    Dataset
        ``X`` float64 (n, len(features)), ``y`` (n,), ``source`` the file name.

    Raises
    ------
    DataError
        Missing or empty file, unreadable content, a missing column (the message lists the
        columns there are), a non-numeric value, NaN or inf (the message names column and row).
    """
    file = resolve(path)
    _require_file(file)
    frame = _read_frame(file)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    there = ", ".join(columns)
    if target not in columns:
        raise DataError(f"{file}: no target column {target!r}: the columns are {there}")
    if features:
        features = list(features)
        for name in features:
            if name not in columns:
                raise DataError(f"{file}: no feature column {name!r}: the columns are {there}")
        if target in features:
            raise DataError(f"{file}: column {target!r} is both the target and a feature")
        if len(set(features)) != len(features):
            raise DataError(f"{file}: features list a column twice: {features}")
    else:
        features = [c for c in columns if c != target]
        if not features:
            raise DataError(f"{file}: no feature columns besides the target {target!r}")
        unnamed = [c for c in features if _UNNAMED.fullmatch(c)]
        if unnamed:
            j = columns.index(unnamed[0])
            guess = ", probably a saved row index" if j == 0 else ""
            raise DataError(
                f"{file}: column {j + 1} has no name in the header (pandas calls it "
                f"{unnamed[0]!r}{guess}): list the feature columns in data.features, or re-save "
                "the file without it (DataFrame.to_csv(..., index=False))"
            )
    X = np.column_stack([_numeric(frame, name, file) for name in features])
    meta: dict[str, Any] = {"path": str(file)}
    if task == "classification":
        y, meta["classes"] = _labels(frame, target, file)
    else:
        y = _numeric(frame, target, file)
    return Dataset(X, y, tuple(features), target, source=file.name, task=task, meta=meta)


# ------------------------------------------------------------------------------------- NIST
def _nist_file(name: str | None, path: str | Path | None) -> Path:
    from ermlab.data.nist import SHIPPED

    if path is not None:
        file = resolve(path)
        if not file.is_file():
            raise DataError(
                f"{file}: no such NIST StRD file (relative paths start at the "
                f"project root {paths.project_root()})"
            )
        return file
    local = paths.data_dir() / "nist" / f"{name}.dat"
    if local.is_file():
        return local
    shipped = paths.REFERENCE_DIR / "nist" / f"{name}.dat"
    if shipped.is_file():
        return shipped
    raise DataError(
        f"{local}: no NIST StRD file {name!r} (nor a shipped copy): data.name is one of "
        f"{', '.join(SHIPPED)}, or set data.path to any file of the suite"
    )


def _design_names(problem) -> tuple[str, ...]:
    """``x, x^2, ..., x^d`` for a polynomial in one predictor, ``x1..xk`` for a linear model in
    k predictors; otherwise each column is matched to the power of a predictor it equals."""
    x, design = problem.x, problem.design
    k, p = x.shape[1], design.shape[1]
    var = ["x"] if k == 1 else [f"x{v + 1}" for v in range(k)]
    if (
        k == 1
        and p == problem.degree
        and all(np.array_equal(design[:, j], x[:, 0] ** (j + 1)) for j in range(p))
    ):
        return tuple("x" if j == 0 else f"x^{j + 1}" for j in range(p))
    if problem.degree == 1 and p == k and np.array_equal(design, x):
        return tuple(var)
    names = []
    for j in range(p):
        found = next(
            (
                var[v] + ("" if d == 1 else f"^{d}")
                for d in range(1, problem.degree + 1)
                for v in range(k)
                if np.array_equal(design[:, j], x[:, v] ** d)
            ),
            f"term{j + 1}",
        )
        names.append(found)
    return tuple(names)


def load_nist(name: str | None = "Norris", path: str | Path | None = None) -> Dataset:
    """Load a NIST StRD linear least-squares problem.

    Parameters
    ----------
    name : str, optional
        A file of the suite by name (``data/nist/<name>.dat`` under the project root, else the
        copy shipped with ermlab).
    path : str or Path, optional
        Any StRD file instead (relative paths start at the project root).

    Returns
    -------
    Dataset
        ``X`` = the model's regressor columns without the intercept, shape (n, p): for a
        polynomial of degree d, ``x, x^2, ..., x^d`` (feature names alike); for a linear model in
        k predictors, ``x1..xk``. ``y`` (n,). ``meta`` holds ``fit_intercept``, ``degree``,
        ``model`` (the file's expression), ``certified`` (a
        :class:`~ermlab.data.nist.NistCertified`: coefficients in the file's B order, standard
        errors, residual SD, R², ANOVA) and ``path``.

    Raises
    ------
    DataError
        Missing file, or a file whose layout cannot be read (the reader's one line: file, line
        number, what was expected).
    """
    from ermlab.data.nist import NistFormatError, read_nist

    file = _nist_file(name, path)
    try:
        problem = read_nist(file)
    except NistFormatError as err:
        message = " ".join(str(err).split())
        if file.name not in message:
            message = f"{file}: {message}"
        raise DataError(f"NIST StRD {message}") from None
    except OSError as err:
        raise DataError(f"{file}: cannot be read: {err.strerror or err}") from None
    meta = {
        "name": problem.name,
        "path": str(file),
        "fit_intercept": bool(problem.fit_intercept),
        "degree": int(problem.degree),
        "model": problem.model,
        "certified": problem.certified,
    }
    return Dataset(
        np.array(problem.design, dtype=float),  # writable copies: the reader's are read-only
        np.array(problem.y, dtype=float),
        _design_names(problem),
        "y",
        source=f"nist/{problem.name}",
        task="regression",
        meta=meta,
    )


# ---------------------------------------------------------------------------------- sklearn
#: Per dataset: loader name, task, target name(s).
SKLEARN_INFO: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "diabetes": ("load_diabetes", "regression", ("progression",)),
    "linnerud": ("load_linnerud", "regression", ("Weight", "Waist", "Pulse")),
    "iris": ("load_iris", "classification", ("species",)),
    "breast_cancer": ("load_breast_cancer", "classification", ("diagnosis",)),
}


def load_sklearn(name: str, target: str | None = None) -> Dataset:
    """Load a dataset bundled with scikit-learn (read from its package, no download).

    Parameters
    ----------
    name : {"diabetes", "linnerud", "iris", "breast_cancer"}
        diabetes: 442×10 (scikit-learn's scaled features), disease progression after one year;
        linnerud: 20×3 exercises (Chins, Situps, Jumps), one physiological target;
        iris: 150×4, 3 species; breast_cancer: 569×30, malignant (0) or benign (1).
    target : str, optional
        linnerud's target column: Weight (default), Waist or Pulse. Other datasets have one
        target; ``None`` or its name (progression, species, diagnosis).

    Returns
    -------
    Dataset
        ``X`` float64 (n, p); ``y`` float64 (regression) or int64 labels 0..k−1
        (classification, ``meta["classes"]`` the label names).

    Raises
    ------
    ConfigError
        An unknown dataset or target.
    """
    if name not in SKLEARN_INFO:
        raise ConfigError(f"data.name={name!r} is not allowed: one of {tuple(SKLEARN_INFO)}")
    loader_name, task, targets = SKLEARN_INFO[name]
    chosen = targets[0] if target is None else target
    if chosen not in targets:
        raise ConfigError(
            f"data.target={target!r} is not allowed for {name}: one of {', '.join(targets)}"
        )
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader_name)()
    X = np.asarray(bunch.data, dtype=float)
    meta: dict[str, Any] = {"description": f"sklearn.datasets.{loader_name}()"}
    if name == "linnerud":
        y = np.asarray(bunch.target[:, targets.index(chosen)], dtype=float)
    elif task == "classification":
        y = np.asarray(bunch.target, dtype=np.int64)
        meta["classes"] = [str(c) for c in bunch.target_names]
    else:
        y = np.asarray(bunch.target, dtype=float)
    return Dataset(
        X,
        y,
        tuple(str(f) for f in bunch.feature_names),
        chosen,
        source=f"sklearn/{name}",
        task=task,
        meta=meta,
    )
