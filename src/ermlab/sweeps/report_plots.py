"""The sweep report's pictures, drawn from the summary rows only (matplotlib, Agg).

- ``risk_vs_<key>.png`` for every numeric swept key: mean risk ± SE of the main loss against
  the key for the empirical (train), test and population risk, the Bayes risk as a horizontal
  floor; one colour per value of the other swept keys. Log x-axis when the values span two
  decades or more (symmetric-log when they start at 0, as a penalty sweep does); log y-axis
  when the test and population risks do (a training risk far below them, an interpolating
  fit's, is then out of view). Sweeping ``data.n_train`` gives the learning curve, a degree or
  a penalty the complexity curve.
- ``risks.png`` when no swept key is numeric: a dot plot, one row per configuration.
- ``decomposition_vs_<key>.png``: bias², variance and noise against each numeric key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ermlab.sweeps.report import Report, as_number, row_loss, sort_key

SPLITS = (
    ("train", "empirical (train)", "--", "s"),
    ("test", "test", ":", "^"),
    ("population", "population", "-", "o"),
)
COMPONENTS = (
    ("bias2", "bias²", "-", "o"),
    ("variance", "variance", "--", "s"),
    ("noise", "noise", ":", "^"),
)
LOG_SPAN = 100.0  # two decades
MAX_LEGEND_LINES = 8  # more colours than this: no per-configuration labels


def numeric_keys(report: Report) -> list[str]:
    """The swept keys (seed aside) whose values are all numbers, with at least two values."""
    keys = []
    for key in report.group_keys:
        values = {row[key] for row in report.summary}
        if len(values) >= 2 and all(as_number(v) is not None for v in values):
            keys.append(key)
    return keys


def _lines(report: Report, key: str) -> list[tuple[str, list[dict]]]:
    """Summary rows per value of the other swept keys, each line in order of ``key``."""
    others = [k for k in report.group_keys if k != key]
    lines: dict[tuple, list[dict]] = {}
    for row in report.summary:
        lines.setdefault(tuple(str(row[k]) for k in others), []).append(row)
    result = []
    for label_values, rows in sorted(lines.items(), key=lambda kv: [sort_key(v) for v in kv[0]]):
        label = " ".join(f"{k}={v}" for k, v in zip(others, label_values, strict=True))
        result.append((label, sorted(rows, key=lambda r: as_number(r[key]))))
    return result


def _series(rows: list[dict], key: str, column: str, se_column: str | None):
    points = [
        (as_number(r[key]), r.get(column), r.get(se_column) if se_column else None)
        for r in rows
        if r.get(column) is not None
    ]
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    errs = [p[2] or 0.0 for p in points]
    return xs, ys, errs


def _log_scale(values: list[float]) -> bool:
    positive = [v for v in values if v is not None and v > 0]
    return len(positive) == len(values) and bool(values) and max(values) / min(values) >= LOG_SPAN


def _risk_label(report: Report) -> str:
    """The risk axis's label: mean ± SE where seeds were swept, else each configuration's
    one run."""
    spread = "mean ± SE over seeds" if report.seeds_swept else "one seed"
    return f"{report.main_loss} risk ({spread})"


def _finish_axes(ax, xs: list[float], ys: list[float], xlabel: str, ylabel: str, n_lines: int):
    if _log_scale(xs):
        ax.set_xscale("log")
    elif xs and min(xs) == 0 and _log_scale([x for x in xs if x > 0]):
        # a penalty swept from 0 (alpha=0,0.001,...,10): linear up to the smallest positive value
        smallest = min(x for x in xs if x > 0)
        ax.set_xscale("symlog", linthresh=smallest)
        ax.set_xlim(left=-0.2 * smallest, right=2 * max(xs))
    elif xs and all(float(x).is_integer() for x in xs):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # a degree is 1 or 2, never 1.25
    if _log_scale(ys):
        ax.set_yscale("log")
        ax.set_ylim(bottom=min(ys) / 3)  # an interpolating fit's ~0 training risk falls below
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    # Beside the axes, never over them: inside, "best" still covers a line when many cross.
    ax.legend(fontsize=7, ncol=2 if n_lines > 4 else 1, loc="upper left", bbox_to_anchor=(1.01, 1))


def plot_risk_curve(report: Report, key: str, path: Path) -> Path:
    """Mean risk ± SE of the main loss against ``key``: see the module docstring."""
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    loss = report.main_loss
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    lines = _lines(report, key)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    all_x, all_y, floors = [], [], []
    for i, (label, rows) in enumerate(lines):
        colour = colours[i % len(colours)]
        for split, title, style, marker in SPLITS:
            column = f"risk/{split}/{loss}/mean"
            xs, ys, errs = _series(rows, key, column, f"risk/{split}/{loss}/se")
            if not xs:
                continue
            _draw_with_errors(
                ax, xs, ys, errs, style, marker, colour, _legend(label, title, i, lines)
            )
            all_x += xs
            if split != "train":  # the scale follows the risks that estimate the true risk
                all_y += [y - e if y - e > 0 else y for y, e in zip(ys, errs, strict=True)]
        bayes = [r[f"risk/bayes/{loss}/mean"] for r in rows if f"risk/bayes/{loss}/mean" in r]
        floors += [(value, colour) for value in bayes[:1]]  # one floor per line
    shared = len({value for value, _ in floors}) == 1
    for j, (value, colour) in enumerate(floors[:1] if shared else floors):
        label = "Bayes risk" if j == 0 else None
        ax.axhline(value, color="black" if shared else colour, lw=1, ls="-.", label=label)
        all_y.append(value)
    _finish_axes(ax, all_x, all_y, key, _risk_label(report), len(lines))
    ax.set_title(f"{loss} risk against {key}")
    save_figure(fig, path)
    return path


def plot_risk_dots(report: Report, path: Path) -> Path:
    """A dot plot: one row per configuration, mean risk ± SE of the main loss per split."""
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    loss = report.main_loss
    rows = report.summary
    labels = [" ".join(f"{k}={r[k]}" for k in report.group_keys) or "all jobs" for r in rows]
    fig, ax = plt.subplots(figsize=(8.5, 1.8 + 0.4 * len(rows)))
    for j, (split, title, _, marker) in enumerate(SPLITS):
        pos = [i + (j - 1) * 0.2 for i in range(len(rows))]
        points = [
            (p, r.get(f"risk/{split}/{loss}/mean"), r.get(f"risk/{split}/{loss}/se") or 0)
            for p, r in zip(pos, rows, strict=True)
            if r.get(f"risk/{split}/{loss}/mean") is not None
        ]
        if points:
            ax.errorbar(
                [p[1] for p in points],
                [p[0] for p in points],
                xerr=[p[2] for p in points],
                ls="none",
                marker=marker,
                capsize=2,
                label=title,
            )
    bayes = [r[f"risk/bayes/{loss}/mean"] for r in rows if f"risk/bayes/{loss}/mean" in r]
    if bayes:
        ax.axvline(bayes[0], color="black", lw=1, ls="-.", label="Bayes risk")
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(_risk_label(report))
    ax.set_title(f"{loss} risk by configuration")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside, as in _finish_axes
    save_figure(fig, path)
    return path


def plot_decomposition(report: Report, key: str, path: Path) -> Path:
    """bias², variance and noise against ``key``, one colour per value of the other keys."""
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 4.5))
    lines = _lines(report, key)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    all_x = []
    # The noise is the data's: one black line when every configuration has the same, not a
    # line per colour drawn over one another.
    one_noise_line = len(lines) > 1 and _same_series(
        [_series(rows, key, "noise", None)[:2] for _, rows in lines]
    )
    for i, (label, rows) in enumerate(lines):
        for j, (name, title, style, marker) in enumerate(COMPONENTS):
            # bias² and variance ± their SE (seeds' jackknife ⊕ points'); the noise is exact.
            xs, ys, errs = _series(rows, key, name, None if name == "noise" else f"{name}_se")
            if not xs:
                continue
            if name == "noise" and one_noise_line:
                continue  # drawn once, below
            colour = colours[(i if len(lines) > 1 else j) % len(colours)]
            _draw_with_errors(
                ax, xs, ys, errs, style, marker, colour, _legend(label, title, i, lines)
            )
            all_x += xs
    if one_noise_line:
        xs, ys, _ = _series(lines[0][1], key, "noise", None)
        _, title, style, marker = next(c for c in COMPONENTS if c[0] == "noise")
        ax.plot(xs, ys, ls=style, marker=marker, ms=4, color="black", label=title)
    ax.axhline(0.0, color="grey", lw=0.5)
    _finish_axes(ax, all_x, [], key, "squared loss", len(lines))
    ax.set_title(f"bias² + variance + noise against {key}")
    save_figure(fig, path)
    return path


def _legend(label: str, title: str, i: int, lines: list) -> str | None:
    """The legend entry of line ``title`` of configuration ``i`` (``label``): named per
    configuration while they fit in a legend, else each title once, with the first."""
    if len(lines) <= MAX_LEGEND_LINES and label:
        return f"{label}: {title}"
    return title if i == 0 else None


def _draw_with_errors(ax, xs, ys, errs, style, marker, colour, text: str | None) -> None:
    """One series of means with ± standard-error bars."""
    ax.errorbar(
        xs, ys, yerr=errs, ls=style, marker=marker, ms=4, capsize=2, color=colour, label=text
    )


def _same_series(series: list[tuple[list, list]]) -> bool:
    """Whether every (xs, ys) of ``series`` is the first one, to a relative 1e-9 (the same
    noise computed in different jobs may differ in its last bits)."""
    import math

    first_xs, first_ys = series[0] if series else ([], [])
    return all(
        xs == first_xs
        and all(math.isclose(y, z, rel_tol=1e-9) for y, z in zip(ys, first_ys, strict=True))
        for xs, ys in series
    )


def plot_report(report: Report, folder: Path) -> list[Path]:
    """Every plot of the report into ``folder``; returns their paths (none without jobs that
    finished). A sweep of regression and classification together gets each plot once per
    main loss, over the configurations of that loss (``risks_mse.png``, ``risks_zero_one.png``):
    one axis cannot hold both."""
    if len(report.losses) > 1:
        return [
            path
            for loss in report.losses
            for path in _plots(
                dataclasses.replace(
                    report, summary=[r for r in report.summary if row_loss(r) == loss]
                ),
                folder,
                f"_{loss}",
            )
        ]
    return _plots(report, folder, "")


def _plots(report: Report, folder: Path, suffix: str) -> list[Path]:
    if not any(row["n_seeds"] for row in report.summary):
        return []
    keys = numeric_keys(report)
    paths = [plot_risk_curve(report, k, folder / f"risk_vs_{k}{suffix}.png") for k in keys]
    if not keys:
        paths.append(plot_risk_dots(report, folder / f"risks{suffix}.png"))
    if any(row.get("bias2") is not None for row in report.summary):
        paths += [
            plot_decomposition(report, k, folder / f"decomposition_vs_{k}{suffix}.png")
            for k in keys
        ]
    return paths
