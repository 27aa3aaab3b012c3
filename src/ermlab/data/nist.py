"""Reader for the NIST StRD linear least-squares files, and the log relative error (LRE).

A StRD file (https://www.itl.nist.gov/div898/strd/lls/lls.shtml) is plain ASCII, CRLF line
endings, with a free-text header that says where everything is::

    File Format:   ASCII
                   Certified Values  (lines 31 to 46)
                   Data              (lines 61 to 96)
    ...
    Data:          1 Response Variable (y)
                   1 Predictor Variable (x)
    ...
    Model:         Linear Class
                   2 Parameters (B0,B1)
                   y = B0 + B1*x + e

:func:`read_nist` takes everything from that header (line ranges, number of predictors, the
model expression) and nothing from the file name, so one code path reads every file of the
suite. Any deviation raises :class:`NistFormatError` with one line naming the file, the line
number and what was expected there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

__all__ = [
    "SHIPPED",
    "NistAnova",
    "NistCertified",
    "NistFormatError",
    "NistProblem",
    "lre",
    "read_nist",
    "reference_path",
]

#: The StRD files shipped in ``ermlab/data/reference/nist`` (the rest of the suite is not).
SHIPPED = ("Norris", "Pontius", "NoInt1", "NoInt2", "Longley", "Wampler1", "Wampler2")

# A Fortran-style real: 12, -0.5, .11019, 760., 0.4297E-03, 1.0D+02.
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?"
_RANGE = r"\(\s*lines\s+(\d+)\s+to\s+(\d+)\s*\)"
_CERT_RANGE = re.compile(r"Certified\s+Values\s*" + _RANGE, re.IGNORECASE)
_DATA_RANGE = re.compile(r"\bData\s*" + _RANGE, re.IGNORECASE)
_N_PRED = re.compile(r"(\d+)\s+Predictor\s+Variables?", re.IGNORECASE)
_N_OBS = re.compile(r"(\d+)\s+Observations?", re.IGNORECASE)
_N_PARAM = re.compile(r"(\d+)\s+Parameters?\b", re.IGNORECASE)
_MODEL_START = re.compile(r"^\s*y\s*=(.*)$")
# Certified block rows.
_B_ROW = re.compile(rf"^\s*B(\d+)\s+({_NUM})\s+({_NUM})\s*$")
_B_ANY = re.compile(r"^\s*B\d+\b")
_SD_ROW = re.compile(rf"^\s*Standard\s+Deviation\s+({_NUM})\s*$", re.IGNORECASE)
_R2_ROW = re.compile(rf"^\s*R-Squared\s+({_NUM})\s*$", re.IGNORECASE)
_REG_ROW = re.compile(
    rf"^\s*Regression\s+(\d+)\s+({_NUM})\s+({_NUM})\s+({_NUM}|[-+]?Infinity)\s*$", re.IGNORECASE
)
_RES_ROW = re.compile(rf"^\s*Residual\s+(\d+)\s+({_NUM})\s+({_NUM})\s*$", re.IGNORECASE)
# Model terms: B0, B1*x, B3*x2, B2*(x**2), B2*x**2, B2*(x2**3).
_TERM = re.compile(r"^B(\d+)(?:\*\(?x(\d*)(?:\*\*(\d+))?\)?)?$")


class NistFormatError(ValueError):
    """A StRD file does not have the expected layout (the message is one line)."""


def _fail(path: Path, line: int, expected: str, got: str | None = None) -> NistFormatError:
    where = f"{path.name}: line {line}: expected {expected}"
    if got is not None:
        where += f", got {got.strip()[:60]!r}"
    return NistFormatError(where)


def _float(text: str) -> float:
    """A Fortran real (``D`` exponents allowed) or ``Infinity`` as a Python float."""
    return float(text.replace("D", "E").replace("d", "e"))


@dataclass(frozen=True)
class NistAnova:
    """The certified analysis-of-variance table (field names match ``OLS.anova_``)."""

    regression_df: int
    regression_ss: float
    regression_ms: float
    residual_df: int
    residual_ss: float
    residual_ms: float
    f_statistic: float

    def as_dict(self) -> dict[str, float]:
        """The table as a plain dict, keys as the field names."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, eq=False)
class NistCertified:
    """Certified results of one StRD problem.

    ``coef`` and ``stderr`` have shape (p_total,) and follow the file's parameter order
    (``B0, B1, ...``; a model without intercept starts at ``B1``). ``r2`` is centred for a
    model with intercept and uncentred (``1 - RSS / sum(y**2)``) without one, as NIST defines it.
    """

    coef: np.ndarray
    stderr: np.ndarray
    residual_sd: float
    r2: float
    anova: NistAnova


@dataclass(frozen=True, eq=False)
class NistProblem:
    """One StRD linear least-squares problem as read from its file.

    Attributes
    ----------
    name : str
        The dataset name from the ``Dataset Name:`` line (the file stem if absent).
    path : Path
        The file read.
    x : ndarray of shape (n, k)
        The k raw predictor columns, as read.
    y : ndarray of shape (n,)
        The response.
    design : ndarray of shape (n, p)
        The model's regressor columns without the intercept column, in parameter order
        (for a polynomial of degree d in one x: ``x, x**2, ..., x**d``).
    fit_intercept : bool
        Whether the model has a constant term ``B0``.
    degree : int
        Highest power of any predictor in the model (1 for a linear model).
    model : str
        The model expression as printed in the file, wrapped lines joined.
    certified : NistCertified
        Certified coefficients, standard errors, residual SD, R² and ANOVA table.
    """

    name: str
    path: Path
    x: np.ndarray
    y: np.ndarray
    design: np.ndarray
    fit_intercept: bool
    degree: int
    model: str
    certified: NistCertified

    @property
    def n_observations(self) -> int:
        """Number of data rows n."""
        return len(self.y)

    @property
    def n_parameters(self) -> int:
        """Number of certified parameters, intercept included."""
        return len(self.certified.coef)


def reference_path(name: str) -> Path:
    """Path of a StRD file shipped with ermlab, e.g. ``reference_path("Norris")``."""
    path = Path(str(resources.files("ermlab.data") / "reference" / "nist" / f"{name}.dat"))
    if not path.is_file():
        raise FileNotFoundError(f"no shipped NIST file {name!r}; shipped: {', '.join(SHIPPED)}")
    return path


def _header_range(path: Path, lines: list[str], pattern: re.Pattern, what: str) -> tuple[int, int]:
    for no, line in enumerate(lines, start=1):
        if m := pattern.search(line):
            first, last = int(m.group(1)), int(m.group(2))
            if not 1 <= first <= last <= len(lines):
                raise _fail(path, no, f"{what} lines within the file's {len(lines)}", line)
            return first, last
    at = next((i + 1 for i, s in enumerate(lines) if s.startswith("File Format")), 1)
    raise _fail(path, at, f"a '{what} (lines A to B)' header")


def _header_int(header: list[str], pattern: re.Pattern) -> int | None:
    for line in header:
        if m := pattern.search(line):
            return int(m.group(1))
    return None


def _model(path: Path, header: list[str]) -> tuple[str, int]:
    """The model expression (wrapped lines joined) and the line number it starts on."""
    for i, line in enumerate(header):
        if m := _MODEL_START.match(line):
            parts = [m.group(1).strip()]
            # A wrapped expression continues while a line ends or the next begins with an
            # operator; a blank line or plain text ends it.
            for nxt in header[i + 1 :]:
                s = nxt.strip()
                if s and (parts[-1].endswith(("+", "-", "*", "(")) or s[0] in "+-*"):
                    parts.append(s)
                else:
                    break
            return " ".join(parts), i + 1
    raise _fail(path, 1, "a model line 'y = B0 + B1*x + ...' in the header")


def _terms(path: Path, expr: str, at: int, n_pred: int) -> tuple[bool, list[tuple[int, int]]]:
    """Parse ``B0 + B1*x + ... + e`` into (has intercept, [(predictor, power) per Bk, k>=1])."""
    tokens = [t.replace(" ", "") for t in expr.split("+")]
    tokens = [t for t in tokens if t and t != "e"]
    parsed: list[tuple[int, int, int] | None] = []  # (k, predictor, power); None for "..."
    for t in tokens:
        if t in ("...", "…"):
            parsed.append(None)
            continue
        m = _TERM.match(t)
        if m is None:
            raise _fail(path, at, "model terms like 'B1*x', 'B2*(x**2)' or 'B3*x3'", t)
        k = int(m.group(1))
        if m.group(0) == f"B{k}":  # a bare constant term
            parsed.append((k, -1, 0))
            continue
        var = int(m.group(2)) - 1 if m.group(2) else 0
        if not 0 <= var < n_pred:
            raise _fail(path, at, f"predictors x1..x{n_pred}", t)
        parsed.append((k, var, int(m.group(3) or 1)))
    # Expand '...' between two terms: powers of one predictor, or consecutive predictors.
    terms: list[tuple[int, int, int]] = []
    for i, term in enumerate(parsed):
        if term is not None:
            terms.append(term)
            continue
        if i == 0 or i + 1 >= len(parsed) or parsed[i - 1] is None or parsed[i + 1] is None:
            raise _fail(path, at, "'...' between two explicit terms", expr)
        (ka, va, pa), (kb, vb, pb) = parsed[i - 1], parsed[i + 1]
        gap = kb - ka
        if va == vb and pb - pa == gap:
            terms += [(ka + j, va, pa + j) for j in range(1, gap)]
        elif pa == pb == 1 and vb - va == gap:
            terms += [(ka + j, va + j, 1) for j in range(1, gap)]
        else:
            raise _fail(path, at, "a '...' that fills a run of powers or predictors", expr)
    ks = [k for k, _, _ in terms]
    intercept = any(v == -1 for _, v, _ in terms)
    first = 0 if intercept else 1
    if ks != list(range(first, first + len(ks))) or (intercept and terms[0][1] != -1):
        raise _fail(path, at, "parameters numbered B0, B1, ... in order", expr)
    return intercept, [(v, p) for _, v, p in terms if v != -1]


def _certified(path: Path, lines: list[str], first: int, last: int) -> NistCertified:
    coef: dict[int, tuple[float, float]] = {}
    sd = r2 = None
    reg = res = None
    for no in range(first, last + 1):
        line = lines[no - 1]
        if m := _B_ROW.match(line):
            coef[int(m.group(1))] = (_float(m.group(2)), _float(m.group(3)))
        elif _B_ANY.match(line):
            raise _fail(path, no, "'Bk <estimate> <standard deviation>'", line)
        elif m := _SD_ROW.match(line):
            sd = _float(m.group(1))
        elif m := _R2_ROW.match(line):
            r2 = _float(m.group(1))
        elif m := _REG_ROW.match(line):
            reg = (int(m.group(1)), *map(_float, m.group(2, 3, 4)))
        elif m := _RES_ROW.match(line):
            res = (int(m.group(1)), *map(_float, m.group(2, 3)))
        elif re.match(r"^\s*(Regression|R-Squared)\b", line):
            raise _fail(path, no, "numbers after the label", line)
    for value, what in (
        (coef or None, "'Bk' rows"),
        (sd, "'Standard Deviation <value>'"),
        (r2, "'R-Squared <value>'"),
        (reg, "an ANOVA 'Regression' row"),
        (res, "an ANOVA 'Residual' row"),
    ):
        if value is None:
            raise _fail(path, last, f"{what} within certified lines {first} to {last}")
    ks = sorted(coef)
    if ks != list(range(ks[0], ks[0] + len(ks))) or ks[0] not in (0, 1):
        raise _fail(path, first, "parameters B0 (or B1), B1, ... without gaps", f"B{ks}")
    values = np.array([coef[k] for k in ks])
    anova = NistAnova(reg[0], reg[1], reg[2], res[0], res[1], res[2], reg[3])
    return NistCertified(_ro(values[:, 0]), _ro(values[:, 1]), sd, r2, anova)


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    a.setflags(write=False)
    return a


def read_nist(path: str | Path) -> NistProblem:
    """Read a NIST StRD linear least-squares file.

    Parameters
    ----------
    path : str or Path
        The ``.dat`` file (CRLF or LF line endings).

    Returns
    -------
    NistProblem
        Data, design matrix and certified values; arrays are read-only.

    Raises
    ------
    NistFormatError
        One line naming the file, the line number and what was expected there: a missing
        ``Certified Values``/``Data (lines A to B)`` header, a model that cannot be parsed, a
        data line with the wrong number of columns, a non-numeric value, counts that
        disagree with the header.
    """
    path = Path(path)
    try:
        lines = path.read_bytes().decode("ascii").splitlines()
    except UnicodeDecodeError as exc:
        raise NistFormatError(f"{path.name}: byte {exc.start}: expected ASCII text") from None
    cert_first, cert_last = _header_range(path, lines, _CERT_RANGE, "Certified Values")
    data_first, data_last = _header_range(path, lines, _DATA_RANGE, "Data")
    header = lines[: min(cert_first, data_first) - 1]

    n_pred = _header_int(header, _N_PRED)
    if n_pred is None or n_pred < 1:
        raise _fail(path, 1, "'<k> Predictor Variable(s)' in the header")
    expr, model_at = _model(path, header)
    fit_intercept, columns = _terms(path, expr, model_at, n_pred)
    certified = _certified(path, lines, cert_first, cert_last)
    p_total = len(columns) + fit_intercept
    if len(certified.coef) != p_total:
        raise _fail(
            path,
            cert_first,
            f"{p_total} certified parameters for model '{expr}'",
            f"{len(certified.coef)}",
        )
    n_param = _header_int(header, _N_PARAM)
    if n_param is not None and n_param != p_total:
        raise _fail(path, model_at, f"the model to have the header's {n_param} parameters", expr)

    rows = []
    for no in range(data_first, data_last + 1):
        fields = lines[no - 1].split()
        if len(fields) != 1 + n_pred:
            raise _fail(path, no, f"{1 + n_pred} numbers (y and {n_pred} x)", lines[no - 1])
        if not all(re.fullmatch(_NUM, f) for f in fields):
            raise _fail(path, no, "numeric values", lines[no - 1])
        rows.append([_float(f) for f in fields])
    data = np.array(rows, dtype=float)
    n_obs = _header_int(header, _N_OBS)
    if n_obs is not None and n_obs != len(data):
        raise _fail(
            path, data_first, f"{n_obs} observations as the header says", f"{len(data)} data lines"
        )
    x, y = data[:, 1:], data[:, 0]
    design = np.column_stack([x[:, v] ** p for v, p in columns]) if columns else x[:, :0]
    name_line = next((s for s in header if s.startswith("Dataset Name:")), "")
    name = name_line.split(":", 1)[1].split()[0] if name_line.strip(" :") else path.stem
    return NistProblem(
        name=name,
        path=path,
        x=_ro(x),
        y=_ro(y),
        design=_ro(design),
        fit_intercept=fit_intercept,
        degree=max((p for _, p in columns), default=1),
        model=f"y = {expr}",
        certified=certified,
    )


def lre(estimate: float, certified: float) -> float:
    """Log relative error: the number of correct significant digits of ``estimate``.

    ``LRE = -log10(|estimate - certified| / |certified|)``, or ``-log10(|estimate|)`` (absolute
    error) where ``certified == 0``; capped at 15 (an exact match gives 15) and floored at 0
    (no correct digit, or a non-finite estimate). Two infinities of the same sign match.
    """
    estimate, certified = float(estimate), float(certified)
    if math.isinf(certified) or math.isinf(estimate):
        return 15.0 if estimate == certified else 0.0
    if math.isnan(estimate) or math.isnan(certified):
        return 0.0
    err = abs(estimate - certified)
    if certified != 0.0:
        err /= abs(certified)
    if err == 0.0:
        return 15.0
    return float(min(15.0, max(0.0, -math.log10(err))))
