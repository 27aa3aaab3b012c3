"""Published against reproduced, number by number.

A study's ``verify`` step returns a list of :class:`Check`; :func:`write_report` renders them
as ``report.md`` (for people) and ``report.json`` (for tools and ``make reproduce``).
:func:`check_close` and :func:`se_check` build the two kinds of numeric check; :func:`mean_se`
and :func:`quartiles` are the summaries over seeds the Monte Carlo studies check and plot.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Check:
    """One published quantity and its reproduction.

    ``published`` and ``reproduced`` are numbers or short texts (for claims such as "smallest
    for M in 3…5"); ``tolerance`` says how close counts as a match and ``why`` justifies it.
    """

    study: str
    quantity: str
    published: Any
    reproduced: Any
    tolerance: str
    why: str
    passed: bool

    @property
    def status(self) -> str:
        return "PASS" if self.passed else "FAIL"


def check_close(
    study: str,
    quantity: str,
    published: float,
    reproduced: float,
    *,
    rel: float | None = None,
    abs_: float | None = None,
    why: str,
) -> Check:
    """A numeric check: |reproduced − published| ≤ abs_ or ≤ rel·|published|."""
    error = abs(reproduced - published)
    ok = math.isfinite(reproduced) and (
        (abs_ is not None and error <= abs_) or (rel is not None and error <= rel * abs(published))
    )
    parts = [f"rel {rel:g}" if rel is not None else "", f"abs {abs_:g}" if abs_ is not None else ""]
    tol = " or ".join(part for part in parts if part)
    return Check(study, quantity, published, reproduced, tol, why, bool(ok))


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean of a 1-D array of n ≥ 2 values.

    The standard error is the sample standard deviation (ddof = 1) over √n. Equal values (a
    Bayes risk, the same for every seed) give that value and a standard error of exactly 0,
    not the rounding of their sum (0.09 three times: a mean of 0.09000000000000001, an SE of
    9.8e-18); infinite ones (a diverged NLL every time) keep their NaN standard error.
    """
    values = np.asarray(values, dtype=float)
    if np.isfinite(values[0]) and values.min() == values.max():
        return float(values[0]), 0.0
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def se_check(
    study: str,
    quantity: str,
    published: float,
    mean: float,
    se: float,
    n_se: float,
    why: str,
    *,
    floor: float = 0.0,
    digits: int | None = None,
) -> Check:
    """A Monte Carlo check: PASS when |mean − published| ≤ max(n_se · se, floor).

    ``mean`` is the reproduced estimate (a mean over seeds), ``se`` its standard error;
    ``floor`` is an absolute tolerance for when the standard error vanishes (e.g. a quantity
    that is exactly zero up to rounding); ``digits`` rounds the published and reproduced
    numbers shown in the report to that many significant digits (the test uses them unrounded).
    Non-finite ``mean`` or ``se`` fail.
    """
    band = n_se * se
    ok = math.isfinite(mean) and math.isfinite(se) and abs(mean - published) <= max(band, floor)
    tol = f"{n_se:g} standard errors = {band:.4g}"
    if floor > band:
        tol = f"abs {floor:g} ({tol})"

    def shown(value: float) -> float:
        return float(value) if digits is None else float(f"{value:.{digits}g}")

    return Check(study, quantity, shown(published), shown(mean), tol, why, bool(ok))


def se_false_alarm_why(seeds: int, n_se: float, n_checks: int) -> str:
    """Why ``n_se`` standard errors: how often one check, and some check of ``n_checks``, fails
    although the published value holds, for a normally distributed mean over ``seeds`` seeds."""
    per_check = math.erfc(n_se / math.sqrt(2))  # two-sided normal tail beyond n_se
    return (
        f"Monte Carlo error of a mean over {seeds} seeds. If the formula holds, a normal mean "
        f"fails {n_se:g} SE with probability {per_check:.2g} and some check of these {n_checks} "
        f"with at most {min(1.0, n_checks * per_check):.2g} (Bonferroni)"
    )


def quartiles(values: np.ndarray, axis: int = 0) -> dict[str, Any]:
    """The lower quartile, median and upper quartile of ``values`` along ``axis`` (numpy's
    default linear interpolation), as ``{"q25", "median", "q75"}``: arrays with ``axis``
    removed, or numpy scalars for a 1-D array."""
    q25, q50, q75 = np.quantile(values, [0.25, 0.5, 0.75], axis=axis)
    return {"q25": q25, "median": q50, "q75": q75}


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value).replace("|", "\\|")


def render_markdown(title: str, checks: list[Check]) -> str:
    """A markdown table: quantity, published, reproduced, tolerance, why, status."""
    passed = sum(c.passed for c in checks)
    lines = [
        f"# {title}",
        "",
        f"{passed} of {len(checks)} checks pass.",
        "",
        "| quantity | published | reproduced | tolerance | why this tolerance | status |",
        "|---|---|---|---|---|---|",
    ]
    for c in checks:
        cells = [c.quantity, c.published, c.reproduced, c.tolerance, c.why, c.status]
        lines.append("| " + " | ".join(_cell(v) for v in cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(title: str, checks: list[Check], folder: Path) -> bool:
    """Write ``report.md`` and ``report.json`` into ``folder``; returns True when all pass."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.md").write_text(render_markdown(title, checks))
    payload = {
        "title": title,
        "passed": all(c.passed for c in checks),
        "checks": [{**asdict(c), "status": c.status} for c in checks],
    }
    (folder / "report.json").write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return payload["passed"]


def summary_table(reports: list[dict[str, Any]]) -> str:
    """One text table over several ``report.json`` payloads (``make reproduce``)."""
    rows = [
        (c["study"], c["quantity"], _cell(c["published"]), _cell(c["reproduced"]), c["status"])
        for report in reports
        for c in report["checks"]
    ]
    head = ("study", "quantity", "published", "reproduced", "status")
    limits = (20, 72, 24, 24, 6)  # long texts are cut: report.md has them in full
    widths = [min(max(len(str(r[i])) for r in [head, *rows]), limits[i]) for i in range(5)]

    def line(row) -> str:
        return "  ".join(str(v)[: widths[i]].ljust(widths[i]) for i, v in enumerate(row))

    out = [line(head), "  ".join("-" * w for w in widths), *map(line, rows)]
    passed = sum(r[4] == "PASS" for r in rows)
    out.append(f"\n{passed} of {len(rows)} published numbers reproduced.")
    return "\n".join(out)
