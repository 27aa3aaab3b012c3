"""NIST StRD linear least squares: every certified value, digit by digit.

Every file of the NIST Statistical Reference Datasets linear suite found in ``data/nist/``
(the project's DVC-tracked copy: Norris, Pontius, NoInt1, NoInt2, Longley, Wampler1,
Wampler2), plus any other file of the suite passed by path (``study.paths``: Filip,
Wampler3-5, ...), is read with :func:`ermlab.data.nist.read_nist` (design, intercept and degree
from the file's header alone) and fitted by:

``ols`` (judged)
    :class:`ermlab.models.ols.OLS` on the raw predictors ``x`` with ``degree`` = the file's
    degree, so that OLS centres and scales x *before* forming powers (its well-conditioned
    working basis; Filip's raw design has condition number ~1e15). When a file's design is not
    the per-column powers of x, OLS fits the design columns with ``degree=1``.
``ols_design``, ``numpy_lstsq``, ``sklearn_linear`` (informational)
    OLS on the design columns with ``degree=1``; ``numpy.linalg.lstsq`` (``rcond=None``) on
    ``[1, design]``; scikit-learn's ``LinearRegression`` on the design.

The log relative error (LRE, :func:`ermlab.data.nist.lre`) of every certified value is
recorded: coefficients, their standard errors, the residual SD and R². ``ols`` must reach
``min_lre`` (7) digits on each. numpy and scikit-learn return coefficients only; their residual
SD, R² and standard errors are computed from their coefficients by the standard formulas
with extended care (residuals and sums of squares in ``np.longdouble``; ``diag((AᵀA)⁻¹)``
from the SVD of the column-equilibrated design, never from the normal equations; NIST's
uncentred R² without an intercept), so those digits measure the coefficients, not the
post-processing. They appear in ``results/lre_table.md`` only, never as checks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ermlab.studies.report import Check

TITLE = "nist_strd: NIST StRD linear least squares, LRE of every certified value"
STUDY = "nist_strd"

JUDGED = "ols"
INFORMATIONAL = ("ols_design", "numpy_lstsq", "sklearn_linear")
METHODS = (JUDGED, *INFORMATIONAL)
# Groups of certified values, one check each per file: (key, label in the report).
GROUPS = (
    ("coef", "coefficients"),
    ("stderr", "standard errors"),
    ("residual_sd", "residual SD"),
    ("r2", "R²"),
)
CERTIFIED_DIGITS = 15  # NIST certifies every value to 15 significant digits (LRE cap)


@dataclass
class Params:
    """Which StRD files to fit and the accuracy ``ols`` must reach.

    Attributes
    ----------
    paths : list of str
        Extra StRD files (absolute, or relative to the project root) besides every ``.dat``
        file in ``data/nist/``.
    files : list of str or None
        Restrict to these dataset names (``Dataset Name:`` line, or file stem); None = all.
    min_lre : float
        Correct significant digits ``ols`` must reach on every certified value.
    """

    paths: list[str] = field(default_factory=list)
    files: list[str] | None = None
    min_lre: float = 7.0


# ----------------------------------------------------------------------------- discovery
def study_files(params: Params) -> list[Path]:
    """The StRD files to fit: ``data/nist/*.dat`` (sorted by name) then ``params.paths``.

    Raises
    ------
    ConfigError
        A path that does not exist, a name in ``params.files`` that no file has, or nothing
        left to fit.
    """
    from ermlab import paths
    from ermlab.config import ConfigError

    folder = paths.data_dir() / "nist"
    found = sorted(folder.glob("*.dat"), key=lambda p: p.name.lower()) if folder.is_dir() else []
    for text in params.paths:
        path = Path(text)
        path = path if path.is_absolute() else paths.project_root() / path
        if not path.is_file():
            raise ConfigError(f"study.paths: {text!r} is not allowed: no such file ({path})")
        if path.resolve() not in {p.resolve() for p in found}:
            found.append(path)
    if params.files is not None:
        wanted = set(params.files)
        unknown = wanted - {p.stem for p in found}
        if unknown:
            raise ConfigError(
                f"study.files={sorted(unknown)!r} is not allowed: files found are "
                f"{', '.join(p.stem for p in found) or 'none'} (data/nist/ and study.paths)"
            )
        found = [p for p in found if p.stem in wanted]
    if not found:
        raise ConfigError(
            f"study: no NIST StRD file to fit: {folder} has no .dat file (run "
            "`ermlab-stage restore-data`) and study.paths is empty"
        )
    return found


# ----------------------------------------------------------------------------------- fits
def _raw_design(problem) -> np.ndarray:
    """``A = [1, design]`` (or ``design`` without an intercept), shape (n, p_total)."""
    if not problem.fit_intercept:
        return np.asarray(problem.design, dtype=float)
    return np.column_stack([np.ones(problem.n_observations), problem.design])


def _powers_of_x(problem) -> bool:
    """Whether the design is ``x_j, x_j², ..., x_j^d`` per column j, the expansion OLS forms."""
    x, d = problem.x, problem.degree
    expected = np.column_stack([x[:, j] ** m for j in range(x.shape[1]) for m in range(1, d + 1)])
    return expected.shape == problem.design.shape and np.array_equal(expected, problem.design)


def stats_from_coef(A: np.ndarray, y: np.ndarray, b: np.ndarray, fit_intercept: bool):
    """Standard errors, residual SD and R² of coefficients ``b``, computed with extended care.

    Parameters
    ----------
    A : ndarray of shape (n, p)
        Raw design, intercept column first when ``fit_intercept``.
    y : ndarray of shape (n,)
    b : ndarray of shape (p,)
        Coefficients in the column order of A.
    fit_intercept : bool
        Centred R² (and TSS) with an intercept; NIST's uncentred ``1 − RSS/Σy²`` without.

    Returns
    -------
    stderr : ndarray of shape (p,)
        ``σ̂ √diag((AᵀA)⁻¹)``; ``(AᵀA)⁻¹`` from the SVD of A with unit-norm columns (squaring
        A's condition number in the normal equations would lose every digit on Filip).
    residual_sd : float
        ``σ̂ = √(RSS / (n − p))``, residuals ``y − A b`` in ``np.longdouble``.
    r2 : float
    """
    ld = np.longdouble
    r = y.astype(ld) - A.astype(ld) @ b.astype(ld)
    rss = r @ r
    yc = y.astype(ld) - (y.astype(ld).sum() / len(y) if fit_intercept else ld(0))
    tss = yc @ yc
    n, p = A.shape
    sigma2 = rss / (n - p) if n > p else ld("nan")
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0
    _, s, vt = np.linalg.svd(A / norms, full_matrices=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = np.sum((vt / s[:, None]) ** 2, axis=0) / norms**2
        stderr = np.sqrt(float(sigma2) * diag)
    return stderr, float(np.sqrt(sigma2)), float(1 - rss / tss)


def fit_methods(problem, ols_model: dict[str, Any], sklearn_model: dict[str, Any]):
    """Estimates of every certified value by every method.

    Parameters
    ----------
    problem : NistProblem
    ols_model, sklearn_model : dict
        ``model`` config nodes (``conf/model/ols.yaml``, ``conf/model/sklearn_linear.yaml``);
        ``fit_intercept`` and ``degree`` are set from the file.

    Returns
    -------
    dict
        ``method -> {"estimates": [coef..., stderr..., residual_sd, r2], "rank": int | None,
        "warnings": [str, ...]}`` in the order of :func:`value_labels`.
    """
    from ermlab import models

    A, y, icpt = _raw_design(problem), np.asarray(problem.y, dtype=float), problem.fit_intercept
    out: dict[str, dict[str, Any]] = {}

    def record(method: str, fit) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            coef, stderr, sd, r2, rank = fit()
        out[method] = {
            "estimates": [*map(float, coef), *map(float, stderr), float(sd), float(r2)],
            "rank": rank,
            "warnings": sorted({str(w.message) for w in caught}),
        }

    def ols(on_x: bool):
        def fit():
            est = models.build(ols_model, 0).set_params(
                fit_intercept=icpt, degree=problem.degree if on_x else 1
            )
            est.fit(problem.x if on_x else problem.design, y)
            return (
                est.coef_with_intercept_,
                est.stderr_,
                est.residual_sd_,
                est.r2_,
                int(est.rank_),
            )

        return fit

    def numpy_lstsq():
        b, _, rank, _ = np.linalg.lstsq(A, y, rcond=None)
        return (b, *stats_from_coef(A, y, b, icpt), int(rank))

    def sklearn_linear():
        est = models.build(sklearn_model, 0).set_params(fit_intercept=icpt)
        est.fit(problem.design, y)
        b = np.r_[est.intercept_, est.coef_] if icpt else np.asarray(est.coef_, dtype=float)
        rank = getattr(est, "rank_", None)  # of the centred design, intercept column excluded
        return (b, *stats_from_coef(A, y, b, icpt), None if rank is None else int(rank) + icpt)

    on_x = _powers_of_x(problem)
    record(JUDGED, ols(on_x))
    record("ols_design", ols(False))
    record("numpy_lstsq", numpy_lstsq)
    record("sklearn_linear", sklearn_linear)
    return out, on_x


def value_labels(problem) -> list[str]:
    """``B0.. , SE(B0).., residual SD, R²`` (``B1..`` without an intercept)."""
    first = 0 if problem.fit_intercept else 1
    names = [f"B{k}" for k in range(first, first + problem.n_parameters)]
    return [*names, *(f"SE({b})" for b in names), "residual SD", "R²"]


def value_groups(labels: list[str]) -> dict[str, list[int]]:
    """Indices of each group of :data:`GROUPS` in a label list from :func:`value_labels`."""
    return {
        "coef": [i for i, s in enumerate(labels) if s.startswith("B")],
        "stderr": [i for i, s in enumerate(labels) if s.startswith("SE(")],
        "residual_sd": [labels.index("residual SD")],
        "r2": [labels.index("R²")],
    }


# ------------------------------------------------------------------------------- run/verify
def run(config, params: Params, out_dir: Path) -> dict[str, Any]:
    """Fit every selected StRD file by every method; LRE table (markdown) and plot.

    Returns
    -------
    dict
        ``{"files": {name: {path, model, n, p, fit_intercept, degree, ols_input, labels,
        certified, methods: {method: {estimates, lre, rank, warnings}}}}, "min_lre": float}``.
    """
    from ermlab import paths
    from ermlab.data.nist import lre, read_nist
    from ermlab.studies.runner import sub_config

    ols_model = sub_config(["model=ols"]).model
    sklearn_model = sub_config(["model=sklearn_linear"]).model
    files: dict[str, Any] = {}
    for path in study_files(params):
        problem = read_nist(path)
        if problem.name in files:
            from ermlab.config import ConfigError

            raise ConfigError(
                f"study.paths: {path} is not allowed: dataset {problem.name} is already read "
                f"from {files[problem.name]['path']}"
            )
        c = problem.certified
        certified = [*c.coef, *c.stderr, c.residual_sd, c.r2]
        methods, on_x = fit_methods(problem, ols_model, sklearn_model)
        for result in methods.values():
            result["lre"] = [lre(e, v) for e, v in zip(result["estimates"], certified, strict=True)]
        try:
            shown = str(path.resolve().relative_to(paths.project_root()))
        except ValueError:
            shown = str(path)
        files[problem.name] = {
            "path": shown,
            "model": problem.model,
            "n": problem.n_observations,
            "p": problem.n_parameters,
            "fit_intercept": problem.fit_intercept,
            "degree": problem.degree,
            "ols_input": f"x, degree {problem.degree}" if on_x else "design, degree 1",
            "labels": value_labels(problem),
            "certified": [float(v) for v in certified],
            "methods": methods,
        }
    results = {"files": files, "min_lre": params.min_lre}
    (out_dir / "lre_table.md").write_text(lre_markdown(results))
    _plot(results, out_dir / "nist_lre.png")
    return results


def _worst(result: dict[str, Any], labels: list[str], idx: list[int]) -> tuple[float, str]:
    i = min(idx, key=lambda k: result["lre"][k])
    return float(result["lre"][i]), labels[i]


def verify(results: dict[str, Any], params: Params) -> list[Check]:
    """One check per file and group of certified values: min LRE of ``ols`` ≥ ``min_lre``."""
    checks = []
    for name, entry in results["files"].items():
        labels = entry["labels"]
        groups = value_groups(labels)
        for key, label in GROUPS:
            value, worst = _worst(entry["methods"][JUDGED], labels, groups[key])
            count = f" ({len(groups[key])})" if len(groups[key]) > 1 else ""
            checks.append(
                Check(
                    STUDY,
                    f"{name}: LRE of {label}{count}, ols on {entry['ols_input']} (worst: {worst})",
                    CERTIFIED_DIGITS,
                    round(value, 2),
                    f"LRE >= {params.min_lre:g}",
                    f"{params.min_lre:g} of {CERTIFIED_DIGITS} certified digits: OLS's stated "
                    "accuracy; plain lstsq misses it (about 6 on Pontius, 0 on Filip)",
                    bool(np.isfinite(value) and value >= params.min_lre),
                )
            )
    return checks


# ------------------------------------------------------------------------------- artifacts
def _fmt(value: float) -> str:
    return f"{value:.15g}"


def lre_markdown(results: dict[str, Any]) -> str:
    """The per-value LRE tables: ``ols`` (judged), then the other methods (informational)."""
    files = results["files"]
    lines = [
        "# NIST StRD linear least squares: log relative error of every certified value",
        "",
        "LRE = −log10(|estimate − certified| / |certified|) (absolute error where the certified "
        "value is 0), capped at 15 and floored at 0: the number of correct significant digits.",
        "",
        f"## ols (judged: every value needs LRE ≥ {results['min_lre']:g})",
        "",
        "| file | fitted on | value | certified | ols estimate | LRE |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in files.items():
        est = entry["methods"][JUDGED]["estimates"]
        for label, cert, e, v in zip(
            entry["labels"], entry["certified"], est, entry["methods"][JUDGED]["lre"], strict=True
        ):
            lines.append(
                f"| {name} | {entry['ols_input']} | {label} | {_fmt(cert)} | {_fmt(e)} | {v:.1f} |"
            )
    lines += [
        "",
        "## Other methods (informational, not judged)",
        "",
        "`ols_design`: ermlab's OLS on the design columns with degree=1 (powers formed before "
        "scaling). `numpy_lstsq`: `numpy.linalg.lstsq(rcond=None)` on [1, design]. "
        "`sklearn_linear`: scikit-learn's LinearRegression on the design. numpy and "
        "scikit-learn return coefficients only: their residual SD and R² are computed from "
        "their coefficients with residuals in extended precision (np.longdouble), and their "
        "standard errors as σ̂·√diag((AᵀA)⁻¹) with (AᵀA)⁻¹ from the SVD of the "
        "column-equilibrated design. Minimum LRE per file:",
        "",
        "| file | " + " | ".join(METHODS) + " | rank used: numpy, sklearn (of p) |",
        "|---|" + "---|" * (len(METHODS) + 1),
    ]
    for name, entry in files.items():
        mins = [f"{min(entry['methods'][m]['lre']):.1f}" for m in METHODS]
        ranks = [entry["methods"][m]["rank"] for m in ("numpy_lstsq", "sklearn_linear")]
        rank = ", ".join("?" if r is None else str(r) for r in ranks) + f" (of {entry['p']})"
        lines.append(f"| {name} | " + " | ".join(mins) + f" | {rank} |")
    lines += [
        "",
        "| file | value | certified | " + " | ".join(f"LRE {m}" for m in INFORMATIONAL) + " |",
        "|---|---|---|" + "---|" * len(INFORMATIONAL),
    ]
    for name, entry in files.items():
        for i, (label, cert) in enumerate(zip(entry["labels"], entry["certified"], strict=True)):
            cells = [f"{entry['methods'][m]['lre'][i]:.1f}" for m in INFORMATIONAL]
            lines.append(f"| {name} | {label} | {_fmt(cert)} | " + " | ".join(cells) + " |")
    notes = [
        f"- {name}, {m}: {w}"
        for name, entry in files.items()
        for m in METHODS
        for w in entry["methods"][m]["warnings"]
    ]
    if notes:
        lines += ["", "Warnings raised by the fits:", "", *notes]
    return "\n".join(lines) + "\n"


def _plot(results: dict[str, Any], path: Path) -> None:
    """Minimum LRE per file and method: coefficients (left), all certified values (right)."""
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    files = results["files"]
    names = list(files)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
    width = 0.8 / len(METHODS)
    for ax, title, only_coef in (
        (axes[0], "coefficients", True),
        (axes[1], "every certified value", False),
    ):
        for k, method in enumerate(METHODS):
            heights = []
            for name in names:
                entry = files[name]
                idx = (
                    value_groups(entry["labels"])["coef"]
                    if only_coef
                    else range(len(entry["labels"]))
                )
                heights.append(min(entry["methods"][method]["lre"][i] for i in idx))
            ax.bar(
                np.arange(len(names)) + (k - (len(METHODS) - 1) / 2) * width,
                heights,
                width,
                label=method,
            )
        ax.axhline(results["min_lre"], color="k", ls="--", lw=1, label="required (ols)")
        ax.set_xticks(np.arange(len(names)), names, rotation=45, ha="right")
        ax.set_title(f"minimum LRE: {title}")
        ax.set_ylim(0, 15.5)
    axes[0].set_ylabel("correct significant digits (LRE)")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save_figure(fig, path)
