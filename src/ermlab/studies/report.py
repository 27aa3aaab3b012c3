"""Published against reproduced, number by number.

A study's ``verify`` step returns a list of :class:`Check`; :func:`write_report` renders them
as ``report.md`` (for people) and ``report.json`` (for tools and ``make reproduce``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


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
