"""The sweep report: job records in, tables, curves, ``report.md`` and ``report.html`` out.

A pure function of the jobs (:class:`JobRecord`: the swept values, status, run id, metrics
and, for the bias–variance split, a loader of the run's predictions), wherever they come from:
:mod:`ermlab.sweeps.store` reads them back from MLflow, so a sweep's own report and one rebuilt
later by ``ermlab-report`` are the same files.

:func:`summarize` makes one pass over the jobs: it groups them by every swept key except
``seed``, and per group keeps the metric values (small) and a running
:class:`~ermlab.sweeps.decomposition.Decomposition` (O(M)), loading each run's predictions
once and dropping them. :func:`write_report` writes

- ``jobs.csv``: one row per job (its overrides, the swept values, ``status`` ``ok``/``failed``,
  ``reason``, ``run_id``, every metric);
- ``summary.csv``: one row per configuration: the swept keys but seed, ``n_seeds`` (its jobs
  that worked) and ``n_failed``, ``risk/<split>/<loss>/mean|se`` and ``gap/<loss>/mean|se``
  (the standard error of the mean over seeds, sd (ddof 1)/√n; empty with one seed), then
  ``bias2``, ``bias2_se``, ``variance``, ``variance_se`` (standard errors: the jackknife
  over seeds and the shared points' Monte Carlo error, see
  :mod:`ermlab.sweeps.decomposition`), ``noise``, ``decomposition_gap`` = bias2 + variance +
  noise − mean population MSE and ``decomposition_gap_se``, its Monte Carlo standard error;
- ``plots/``: risk against each numeric swept key (a dot plot when none is numeric), and the
  decomposition against each numeric key;
- ``report.md`` and a self-contained ``report.html`` (images embedded as data URIs).
"""

from __future__ import annotations

import base64
import csv
import html
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ermlab.sweeps.decomposition import Decomposition

OK, FAILED = "ok", "failed"
SEED_KEY = "seed"
SPLIT_ORDER = ("train", "test", "cv", "population", "bayes")
LOSS_ORDER = ("mse", "mae", "gaussian_nll", "zero_one", "accuracy", "cross_entropy")
DECOMPOSITION_COLUMNS = (
    "bias2",
    "bias2_se",
    "variance",
    "variance_se",
    "noise",
    "decomposition_gap",
    "decomposition_gap_se",
)
REPORT_FILES = ("jobs.csv", "summary.csv", "report.md", "report.html")


@dataclass(frozen=True)
class JobRecord:
    """One job of a sweep.

    ``values`` maps each swept key to the job's value as written on the command line (strings);
    ``metrics`` are the run's flat metrics (``risk/<split>/<loss>``, ``gap/<loss>``, ...);
    ``predictions`` returns the run's (2, M) decomposition array (fit, f* at the shared points)
    or ``None``; it is called at most once.
    """

    values: dict[str, str]
    status: str = OK
    reason: str = ""
    run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    predictions: Callable[[], np.ndarray | None] | None = None

    @property
    def overrides(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.values.items())


@dataclass
class Report:
    """What :func:`summarize` computes: rows of ``jobs.csv`` and ``summary.csv`` (dicts keyed by
    column), the group keys, and the notes the report prints (why something is absent)."""

    swept: list[str]
    group_keys: list[str]
    jobs_columns: list[str]
    jobs: list[dict[str, object]]
    summary_columns: list[str]
    summary: list[dict[str, object]]
    notes: list[str]
    n_failed: int

    @property
    def seeds_swept(self) -> bool:
        return any((row["n_seeds"] or 0) >= 2 for row in self.summary)

    @property
    def main_loss(self) -> str:
        """``mse`` for regression, ``zero_one`` for classification (the most common)."""
        counts = {loss: sum(row_loss(row) == loss for row in self.summary) for loss in MAIN_LOSSES}
        return "zero_one" if counts["zero_one"] > counts["mse"] else "mse"

    @property
    def losses(self) -> list[str]:
        """The main losses of the configurations (two where a sweep mixes regression and
        classification: ``data=height_weight,two_moons``)."""
        return [loss for loss in MAIN_LOSSES if any(row_loss(r) == loss for r in self.summary)]


MAIN_LOSSES = ("mse", "zero_one")  # a regression's main loss, a classification's


def row_loss(row: dict[str, object]) -> str | None:
    """The main loss of a summary row's configuration; None when none of its jobs finished."""
    return next((loss for loss in MAIN_LOSSES if f"risk/train/{loss}/mean" in row), None)


def sort_key(value: str) -> tuple:
    """Numbers in numeric order before other values in text order (``2`` before ``10``)."""
    number = as_number(value)
    return (0, number, "") if number is not None else (1, 0.0, str(value))


def as_number(value: object) -> float | None:
    """``value`` as a finite float, or ``None`` (bools and text are not numbers)."""
    if isinstance(value, bool) or value in ("True", "False", "true", "false", None, ""):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _metric_order(name: str) -> tuple:
    parts = name.split("/")
    split = parts[1] if len(parts) == 3 else ""
    loss = parts[-1]
    return (
        SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER),
        split,
        LOSS_ORDER.index(loss) if loss in LOSS_ORDER else len(LOSS_ORDER),
        loss,
    )


def _summarized(name: str) -> bool:
    """Risks ``risk/<split>/<loss>`` (not their Monte Carlo ``..._se``) and gaps ``gap/<loss>``."""
    parts = name.split("/")
    if parts[0] == "risk":
        return len(parts) == 3 and not parts[2].endswith("_se")
    return parts[0] == "gap" and len(parts) == 2


def mean_and_se(values: list[float]) -> tuple[float, float | None]:
    """Mean and standard error of the mean (sample sd, ddof 1, over √n); SE ``None`` for n = 1."""
    from ermlab.studies.report import mean_se

    if len(values) == 1:
        return values[0], None
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged run's huge NLL: inf, not noise
        return mean_se(np.asarray(values, dtype=float))


class _Group:
    """The running state of one configuration: metric values and the decomposition sums."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.n_ok = 0
        self.n_failed = 0
        self.metrics: dict[str, list[float]] = {}
        self.decomposition = Decomposition()
        self.missing_predictions = 0
        self.mismatched = False
        self.population_se2: list[float] = []

    def add(self, record: JobRecord) -> None:
        self.n_ok += 1
        for name, value in record.metrics.items():
            self.metrics.setdefault(name, []).append(value)
        if "risk/population/mse_se" in record.metrics:
            self.population_se2.append(record.metrics["risk/population/mse_se"] ** 2)
        predictions = record.predictions() if record.predictions is not None else None
        if predictions is None:
            self.missing_predictions += 1
        elif not self.mismatched:
            try:
                self.decomposition.add(predictions)
            except ValueError:  # another source or other points: no common f*
                self.mismatched = True

    def why_no_decomposition(self) -> str | None:
        """Why this configuration has no bias–variance split, or ``None`` when it has one."""
        if self.n_ok == 0:
            return None
        if "risk/train/zero_one" in self.metrics:
            return "classification: the split is for squared loss on a regression source"
        if "risk/bayes/mse" not in self.metrics:
            return "real data: no Bayes predictor f*, so no bias or noise to measure"
        if self.n_ok < 2:
            return "one seed: the decomposition needs at least 2 seeds of a configuration"
        if self.mismatched:
            return "the runs' predictions are not at the same points with the same f*"
        if self.missing_predictions:
            return (
                "some runs have no decomposition/predictions.npy (tracking was off, or the runs "
                "predate it)"
            )
        return None


def summarize(records: Iterable[JobRecord], swept: list[str]) -> Report:
    """One pass over ``records`` (in the order given): the jobs table, the per-configuration
    summary (group by every key of ``swept`` but ``seed``; groups in sorted order of their
    values) and the notes. Failed jobs are listed in ``jobs`` and counted in no mean."""
    group_keys = [k for k in swept if k != SEED_KEY]
    groups: dict[tuple, _Group] = {}
    jobs: list[dict[str, object]] = []
    metric_names: set[str] = set()
    n_failed = 0
    for record in records:
        values = {k: record.values.get(k, "") for k in swept}
        key = tuple(values[k] for k in group_keys)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group({k: values[k] for k in group_keys})
        if record.status == OK:
            group.add(record)
            metric_names.update(record.metrics)
        else:
            n_failed += 1
            group.n_failed += 1
        jobs.append(
            {
                "overrides": record.overrides,
                **values,
                "status": record.status,
                "reason": record.reason,
                "run_id": record.run_id,
                **(record.metrics if record.status == OK else {}),
            }
        )
    ordered = sorted(metric_names, key=_metric_order)
    jobs_columns = ["overrides", *swept, "status", "reason", "run_id", *ordered]
    stat_names = [m for m in ordered if _summarized(m)]
    summary_columns = [
        *group_keys,
        "n_seeds",
        "n_failed",
        *(f"{m}/{stat}" for m in stat_names for stat in ("mean", "se")),
        *DECOMPOSITION_COLUMNS,
    ]
    summary, reasons = [], {}
    for key in sorted(groups, key=lambda k: tuple(sort_key(v) for v in k)):
        row, why = _summary_row(groups[key], stat_names)
        summary.append(row)
        if why is not None:
            reasons[why] = reasons.get(why, 0) + 1
    notes = [
        f"No bias–variance–noise decomposition for {n} of {len(summary)} configuration(s): {why}."
        for why, n in reasons.items()
    ]
    if summary and not any((row["n_seeds"] or 0) >= 2 for row in summary):
        notes.insert(
            0, "One seed per configuration: no standard errors (sweep seed=0,1,2,... for them)."
        )
    return Report(swept, group_keys, jobs_columns, jobs, summary_columns, summary, notes, n_failed)


def _summary_row(group: _Group, stat_names: list[str]) -> tuple[dict[str, object], str | None]:
    row: dict[str, object] = {**group.values, "n_seeds": group.n_ok, "n_failed": group.n_failed}
    for name in stat_names:
        values = group.metrics.get(name)
        if values:
            row[f"{name}/mean"], row[f"{name}/se"] = mean_and_se(values)
    why = group.why_no_decomposition()
    if why is None and group.n_ok:
        noise = mean_and_se(group.metrics["risk/bayes/mse"])[0]  # 0.09, not 0.09000000000000001
        split = group.decomposition.result(noise)
        if split is not None:
            row.update(bias2=split.bias2, bias2_se=split.bias2_se, variance=split.variance)
            row.update(variance_se=split.variance_se, noise=split.noise)
            population = group.metrics.get("risk/population/mse")
            if population:
                row["decomposition_gap"] = split.total - float(np.mean(population))
                population_se = math.sqrt(sum(group.population_se2)) / len(population)
                row["decomposition_gap_se"] = math.hypot(split.decomposition_se, population_se)
    return row, why


# ------------------------------------------------------------------------------------ output
def _cell(value: object) -> str:
    """A CSV cell: floats at full precision (``repr``), ``None``/absent as empty."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        return repr(float(value))  # the shortest text that reads back as the same float
    return str(value)


def write_csv(path: Path, columns: list[str], rows: list[dict[str, object]]) -> None:
    """Rows as CSV with ``columns`` as header; a cell a row lacks is empty."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def _short(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else ("" if value is None else str(value))


def pm(row: dict[str, object], name: str) -> str:
    """``mean ± se`` of metric ``name`` in a summary row (``mean`` alone with one seed)."""
    return _value_pm(row.get(f"{name}/mean"), row.get(f"{name}/se"))


def pm_column(row: dict[str, object], name: str) -> str:
    """``value ± se`` of a summary column with its ``<name>_se`` beside it (``bias2``)."""
    return _value_pm(row.get(name), row.get(f"{name}_se"))


def _value_pm(value: object, se: object) -> str:
    if value is None:
        return ""
    return f"{value:.4g} ± {se:.2g}" if se is not None else f"{value:.4g}"


def summary_columns_shown(report: Report) -> list[tuple[str, Callable[[dict], str]]]:
    """The columns of the human-readable summary table: the configuration, ``n_seeds`` (and
    ``failed`` when a job failed), the main risk on train, test and population (mean ± SE),
    the Bayes risk, the decomposition."""
    shown: list[tuple[str, Callable[[dict], str]]] = [
        (k, lambda r, k=k: str(r[k])) for k in report.group_keys
    ]
    shown.append(("n_seeds", lambda r: str(r["n_seeds"])))
    if report.n_failed:  # a configuration whose every job failed: not a row of blanks
        shown.append(("failed", lambda r: str(r["n_failed"])))
    if len(report.losses) > 1:  # regression and classification: each row in its own loss
        shown.append(("loss", lambda r: row_loss(r) or ""))
        named, loss_of = "", lambda r: row_loss(r) or ""
    else:
        named, loss_of = f" {report.main_loss}", lambda r: report.main_loss
    for split in ("train", "test", "population"):
        shown.append((f"{split}{named}", lambda r, s=split: pm(r, f"risk/{s}/{loss_of(r)}")))
    shown.append((f"Bayes{named}", lambda r: _short(r.get(f"risk/bayes/{loss_of(r)}/mean"))))
    if any(r.get("bias2") is not None for r in report.summary):
        for name in ("bias2", "variance", "noise"):
            shown.append((name, lambda r, n=name: pm_column(r, n)))
    return shown


def summary_table(report: Report) -> str:
    """The summary as aligned text (the console's last word after a sweep with seeds)."""
    shown = summary_columns_shown(report)
    cells = [[title for title, _ in shown]] + [[f(r) for _, f in shown] for r in report.summary]
    widths = [max(len(row[i]) for row in cells) for i in range(len(shown))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


HTML_STYLE = (
    "body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:right}th{background:#f3f3f3}img{max-width:100%}code{background:#f3f3f3}"
)


def render(report: Report, title: str, plots: list[Path], folder: Path) -> tuple[str, str]:
    """``report.md`` (images linked, relative to ``folder``) and ``report.html`` (images
    embedded) from the same blocks."""
    md: list[str] = [f"# {title}", ""]
    body: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def paragraph(text: str) -> None:
        md.extend([text, ""])
        body.append(f"<p>{html.escape(text)}</p>")

    def heading(text: str) -> None:
        md.extend([f"## {text}", ""])
        body.append(f"<h2>{html.escape(text)}</h2>")

    def table(header: list[str], rows: list[list[str]]) -> None:
        md.extend([_markdown_table(header, rows), ""])
        body.append(_html_table(header, rows))

    n_jobs = len(report.jobs)
    swept = ", ".join(
        f"{k} ∈ {{{', '.join(sorted({str(j[k]) for j in report.jobs}, key=sort_key))}}}"
        for k in report.swept
    )
    paragraph(f"{n_jobs} jobs, {report.n_failed} failed. Swept: {swept or 'nothing'}.")
    if report.n_failed:
        heading("Failed jobs")
        failed = [j for j in report.jobs if j["status"] != OK]
        table(["job", "reason"], [[str(j["overrides"]), str(j["reason"])] for j in failed])
    heading("Risks: mean ± standard error over seeds")
    shown = summary_columns_shown(report)
    table([t for t, _ in shown], [[f(r) for _, f in shown] for r in report.summary])
    for note in report.notes:
        paragraph(note)
    if any(r.get("bias2") is not None for r in report.summary):
        paragraph(
            "bias2 and variance ± their standard errors (the jackknife over seeds and the "
            "Monte Carlo error of the shared points, in quadrature); bias2 + variance "
            "+ noise against the mean population MSE of the runs (decomposition_gap, with its "
            "Monte Carlo standard error):"
        )
        shown = ("bias2", "variance", "noise", "decomposition_gap")
        rows = [
            [*(str(r[k]) for k in report.group_keys), *(pm_column(r, c) for c in shown)]
            for r in report.summary
            if r.get("bias2") is not None
        ]
        table([*report.group_keys, *shown], rows)
    if plots:
        heading("Plots")
    for path in plots:
        relative = path.relative_to(folder).as_posix()
        md.extend([f"![{path.stem}]({relative})", ""])
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        body.append(
            f'<p><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}"></p>'
        )
    paragraph("Tables: jobs.csv (one row per job), summary.csv (one row per configuration).")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{HTML_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return "\n".join(md), page


def write_report(report: Report, folder: Path, title: str) -> list[Path]:
    """Write ``jobs.csv``, ``summary.csv``, ``plots/*.png``, ``report.md``, ``report.html`` into
    ``folder`` (made if needed); returns the paths written, plots included. A folder used
    before (``ermlab-report --out`` again) keeps no plot of the earlier report in ``plots/``:
    its pictures would sit beside this report's, of other runs."""
    from ermlab.sweeps.report_plots import plot_report

    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "jobs.csv", report.jobs_columns, report.jobs)
    write_csv(folder / "summary.csv", report.summary_columns, report.summary)
    plots = plot_report(report, folder / "plots")
    for stale in set((folder / "plots").glob("*.png")) - set(plots):
        stale.unlink()
    markdown, page = render(report, title, plots, folder)
    (folder / "report.md").write_text(markdown)
    (folder / "report.html").write_text(page)
    return [folder / name for name in REPORT_FILES] + plots
