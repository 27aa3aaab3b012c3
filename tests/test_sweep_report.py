"""The sweep report from job records: tables checked against pandas, and the edge cases (a
failed job, one seed, a purely categorical sweep, classification, tracking off)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ermlab.sweeps.report import FAILED, JobRecord, summarize, summary_table, write_report

SWEPT = ["model", "data.n_train", "seed"]


def _metrics(gen: np.random.Generator, n_train: int) -> dict[str, float]:
    train, test = gen.gamma(2.0, 0.1 / n_train**0.5), 0.09 + gen.gamma(2.0, 1.0 / n_train)
    population = 0.09 + gen.gamma(2.0, 1.0 / n_train)
    return {
        "risk/train/mse": train,
        "risk/test/mse": test,
        "risk/population/mse": population,
        "risk/population/mse_se": 0.001,
        "risk/bayes/mse": 0.09,
        "risk/train/mae": np.sqrt(train),
        "risk/test/mae": np.sqrt(test),
        "gap/mse": test - train,
        "gap/mae": np.sqrt(test) - np.sqrt(train),
        "n/train": float(n_train),
    }


def _records(seeds: int = 4, models=("ols", "knn"), sizes=(10, 100, 1000), predictions=True):
    gen = np.random.default_rng(0)
    bayes = np.sin(np.linspace(0, 6, 200))
    records = []
    for model in models:
        for n in sizes:
            for seed in range(seeds):
                fit = bayes + gen.normal(0, 1 / np.sqrt(n), bayes.shape)
                pair = np.stack([fit, bayes])
                records.append(
                    JobRecord(
                        {"model": model, "data.n_train": str(n), "seed": str(seed)},
                        run_id=f"{model}-{n}-{seed}",
                        metrics=_metrics(gen, n),
                        predictions=(lambda p=pair: p) if predictions else None,
                    )
                )
    return records


def test_summary_means_and_standard_errors_equal_pandas_on_jobs_csv(tmp_path: Path):
    records = _records()
    records.append(JobRecord({"model": "knn", "data.n_train": "10", "seed": "9"}, FAILED, "boom"))
    write_report(summarize(records, SWEPT), tmp_path, "t")
    jobs = pd.read_csv(tmp_path / "jobs.csv")
    summary = pd.read_csv(tmp_path / "summary.csv")
    ok = jobs[jobs.status == "ok"]
    grouped = ok.groupby(["model", "data.n_train"])
    for metric in ("risk/train/mse", "risk/test/mse", "risk/population/mse", "gap/mae"):
        expected = pd.DataFrame(
            {"mean": grouped[metric].mean(), "se": grouped[metric].sem(ddof=1)}
        ).reset_index()
        merged = summary.merge(expected, on=["model", "data.n_train"])
        assert len(merged) == 6
        # the same sums in another order: equal to the last few bits
        np.testing.assert_allclose(merged[f"{metric}/mean"], merged["mean"], rtol=1e-12)
        np.testing.assert_allclose(merged[f"{metric}/se"], merged["se"], rtol=1e-10)
    assert list(summary.n_seeds) == [4] * 6  # the failed job counts in no mean
    assert list(summary.columns[:3]) == ["model", "data.n_train", "n_seeds"]
    names = set(summary.columns)
    assert {"risk/bayes/mse/mean", "gap/mse/se", "bias2", "variance", "noise"} <= names
    assert "risk/population/mse_se/mean" not in names  # a Monte Carlo error, not a risk
    assert (summary["risk/bayes/mse/se"] == 0).all()
    assert set(jobs.columns) >= {"overrides", "status", "reason", "run_id", "n/train", *SWEPT}


def test_a_failed_job_is_listed_with_its_reason(tmp_path: Path):
    records = _records(seeds=2)
    why = "ValueError: Expected n_neighbors <= n_samples_fit"
    records.append(JobRecord({"model": "knn", "data.n_train": "5", "seed": "0"}, FAILED, why))
    report = summarize(records, SWEPT)
    write_report(report, tmp_path, "t")
    jobs = pd.read_csv(tmp_path / "jobs.csv")
    failed = jobs[jobs.status == "failed"]
    assert list(failed.reason) == [why] and report.n_failed == 1
    assert np.isnan(failed["risk/test/mse"]).all()
    summary = pd.read_csv(tmp_path / "summary.csv")
    empty = summary[(summary.model == "knn") & (summary["data.n_train"] == 5)]
    assert list(empty.n_seeds) == [0] and empty["risk/test/mse/mean"].isna().all()
    assert list(empty.n_failed) == [1] and summary.n_failed.sum() == 1
    # The console's table says so too: a configuration whose every job failed is no blank row.
    header, _, *rows = summary_table(report).splitlines()
    assert header.split()[3] == "failed"
    assert [row.split()[:4] for row in rows if row.split()[:2] == ["knn", "5"]] == [
        ["knn", "5", "0", "1"]
    ]
    text = (tmp_path / "report.md").read_text()
    assert "1 failed" in text and "## Failed jobs" in text and why in text


def test_one_seed_gives_no_standard_errors_and_no_decomposition_and_says_so(tmp_path: Path):
    report = summarize(_records(seeds=1), SWEPT)
    write_report(report, tmp_path, "t")
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["risk/test/mse/se"].isna().all() and summary["bias2"].isna().all()
    assert summary["risk/test/mse/mean"].notna().all()
    text = (tmp_path / "report.md").read_text()
    assert "no standard errors" in text and "needs at least 2 seeds" in text
    assert (tmp_path / "plots" / "risk_vs_data.n_train.png").is_file()
    assert not (tmp_path / "plots" / "decomposition_vs_data.n_train.png").exists()
    assert not report.seeds_swept


def test_a_categorical_sweep_gets_a_dot_plot(tmp_path: Path):
    report = summarize(_records(sizes=(30,), models=("ols", "knn", "tree")), ["model", "seed"])
    paths = write_report(report, tmp_path, "t")
    assert [p.name for p in paths if p.suffix == ".png"] == ["risks.png"]
    assert len(pd.read_csv(tmp_path / "summary.csv")) == 3


def test_a_report_written_again_into_its_folder_keeps_no_plot_of_the_earlier_one(tmp_path: Path):
    write_report(summarize(_records(), SWEPT), tmp_path, "first")
    categorical = summarize(_records(sizes=(30,), models=("ols", "knn")), ["model", "seed"])
    (tmp_path / "notes.txt").write_text("mine")
    write_report(categorical, tmp_path, "second")
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["risks.png"]
    assert (tmp_path / "notes.txt").read_text() == "mine"  # only the report's own plots go


def test_the_html_is_self_contained_and_embeds_every_plot(tmp_path: Path):
    paths = write_report(summarize(_records(), SWEPT), tmp_path, "t")
    plots = [p for p in paths if p.suffix == ".png"]
    assert {p.name for p in plots} == {
        "risk_vs_data.n_train.png",
        "decomposition_vs_data.n_train.png",
    }
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page and not re.search(r"(src|href)=\"(https?:)?//", page)
    assert page.count('src="data:image/png;base64,') == len(plots)
    markdown = (tmp_path / "report.md").read_text()
    assert all(f"(plots/{p.name})" in markdown for p in plots)


def test_the_summary_table_shows_mean_and_se_per_configuration():
    report = summarize(_records(), SWEPT)
    table = summary_table(report)
    lines = table.splitlines()
    assert len(lines) == 2 + 6 and "n_seeds" in lines[0] and "bias2" in lines[0]
    row = report.summary[0]
    mean, se = row["risk/test/mse/mean"], row["risk/test/mse/se"]
    assert f"{mean:.4g} ± {se:.2g}" in lines[2]


def test_classification_and_real_data_get_no_decomposition_with_the_reason():
    classification = [
        JobRecord({"seed": str(s)}, metrics={"risk/train/zero_one": 0.1, "risk/test/zero_one": 0.2})
        for s in range(3)
    ]
    report = summarize(classification, ["seed"])
    assert report.main_loss == "zero_one" and report.summary[0].get("bias2") is None
    assert any("classification" in note for note in report.notes)
    real = [JobRecord({"seed": str(s)}, metrics={"risk/test/mse": 1.0 + s}) for s in range(3)]
    assert any("real data" in note for note in summarize(real, ["seed"]).notes)


def test_tracking_off_builds_the_report_from_the_jobs_return_values(tmp_path: Path):
    from ermlab.sweeps.sweep_report import finish_sweep

    jobs = [
        (["data.n_train=10", f"seed={s}"], {"risk/test/mse": 1.0 + s, "risk/train/mse": 0.5})
        for s in range(3)
    ]
    jobs.append((["data.n_train=10", "seed=3"], {"failed": "ConfigError: no"}))
    table, report = finish_sweep(None, ["data.n_train=10", "seed=0,1,2,3"], jobs, tmp_path)
    assert report.swept == ["seed"] and report.n_failed == 1
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["risk/test/mse/mean"].item() == pytest.approx(2.0)
    assert "2 ± 0.58" in table


def test_tracking_off_counts_a_repeated_seed_once_as_a_store_does(tmp_path: Path):
    from ermlab.sweeps.sweep_report import finish_sweep

    jobs = [([f"seed={s}"], {"risk/test/mse": 1.0 + s, "risk/train/mse": 0.5}) for s in (0, 1, 1)]
    _, report = finish_sweep(None, ["seed=0,1,1"], jobs, tmp_path)
    (row,) = report.summary
    assert row["n_seeds"] == 2  # the mean and SE of 1 and 2, not of 1, 2, 2
    assert row["risk/test/mse/mean"] == pytest.approx(1.5)
    assert row["risk/test/mse/se"] == pytest.approx(0.5)
    assert "1 job(s) repeating the swept values" in report.notes[0]


def test_runs_predicting_at_different_points_get_no_decomposition():
    gen = np.random.default_rng(2)
    pairs = [np.stack([b, b]) for b in gen.normal(size=(3, 10))]  # a different f* each
    records = [
        JobRecord(
            {"seed": str(s)},
            metrics={"risk/test/mse": 1.0, "risk/bayes/mse": 0.09},
            predictions=lambda p=pair: p,
        )
        for s, pair in enumerate(pairs)
    ]
    report = summarize(records, ["seed"])
    assert report.summary[0].get("bias2") is None
    assert any("not at the same points" in note for note in report.notes)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_equal_values_summarize_to_themselves_with_no_standard_error(n: int):
    """The Bayes risk of every seed: 0.09 three times sums to 0.27000000000000002, whose mean
    and spread would report rounding noise (an SE of 9.8e-18). Infinite values (a diverged
    NLL every time) have no standard error."""
    from ermlab.sweeps.report import mean_and_se

    assert mean_and_se([0.09] * n) == (0.09, 0.0)
    mean, se = mean_and_se([np.inf] * n)
    assert mean == np.inf and np.isnan(se)


@pytest.mark.parametrize(
    ("xs", "integers"), [([1, 3], True), ([0, 1, 2, 3, 9], True), ([0.5, 0.75], False)]
)
def test_an_integer_swept_key_gets_integer_ticks(xs: list[float], integers: bool):
    """A polynomial degree swept over 1 and 3 is ticked 1, 2, 3, not 1.25, 1.5, ... (a
    penalty swept from 0 over decades keeps its symmetric log axis, integers or not)."""
    from ermlab.plots import pyplot
    from ermlab.sweeps.report_plots import _finish_axes

    fig, ax = pyplot().subplots()
    ax.plot(xs, [1.0] * len(xs), label="risk")
    _finish_axes(ax, xs, [1.0] * len(xs), "model.degree", "mse", 1)
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if min(xs) <= t <= max(xs)]
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks) == integers
    pyplot().close(fig)


def test_a_penalty_swept_from_zero_over_decades_keeps_its_symlog_axis():
    from ermlab.plots import pyplot
    from ermlab.sweeps.report_plots import _finish_axes

    xs = [0, 1, 10, 100, 1000]
    fig, ax = pyplot().subplots()
    ax.plot(xs, [1.0] * len(xs), label="risk")
    _finish_axes(ax, xs, [1.0] * len(xs), "model.alpha", "mse", 1)
    assert ax.get_xscale() == "symlog"
    pyplot().close(fig)


@pytest.mark.parametrize(
    ("seeds", "label"), [(1, "mse risk (one seed)"), (4, "mse risk (mean ± SE over seeds)")]
)
def test_the_risk_axis_says_mean_and_se_only_where_seeds_were_swept(seeds: int, label: str):
    from ermlab.sweeps.report_plots import _risk_label

    assert _risk_label(summarize(_records(seeds=seeds), SWEPT)) == label


def _drawn(monkeypatch, plot, *args):
    """The figure ``plot`` draws, laid out as it is saved, instead of its PNG."""
    import ermlab.plots

    drawn = []

    def keep(fig, path):
        fig.tight_layout()
        fig.canvas.draw()
        drawn.append(fig)

    monkeypatch.setattr(ermlab.plots, "save_figure", keep)
    plot(*args, Path("unused.png"))
    return drawn[0]


def test_the_noise_shared_by_every_configuration_is_one_line_and_no_legend_covers_a_line(
    monkeypatch,
):
    from ermlab.plots import pyplot
    from ermlab.sweeps.report_plots import plot_decomposition, plot_risk_curve

    report = summarize(_records(), SWEPT)  # ols and knn: the same data, the same noise
    fig = _drawn(monkeypatch, plot_decomposition, report, "data.n_train")
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels.count("noise") == 1 and not [x for x in labels if x.endswith(": noise")]
    assert sum("bias²" in x for x in labels) == 2  # the models' own components, one each
    for figure in (fig, _drawn(monkeypatch, plot_risk_curve, report, "data.n_train")):
        axes, legend = figure.axes[0], figure.axes[0].get_legend()
        assert legend.get_window_extent().x0 >= axes.get_window_extent().x1
        pyplot().close(figure)


def test_a_sweep_of_regression_and_classification_shows_each_in_its_own_loss(tmp_path: Path):
    """``data=height_weight,two_moons``: the classification rows were blank, the table and
    the plot being in the regression's loss alone."""
    records = []
    for seed in range(3):
        risks = {"mse": 64.0 + seed, "zero_one": 0.05 + 0.01 * seed}
        for data, loss in (("height_weight", "mse"), ("two_moons", "zero_one")):
            metrics = {f"risk/{s}/{loss}": risks[loss] for s in ("train", "test", "population")}
            records.append(JobRecord({"data": data, "seed": str(seed)}, metrics=metrics))
    report = summarize(records, ["data", "seed"])
    assert report.losses == ["mse", "zero_one"]
    lines = summary_table(report).splitlines()
    assert lines[0].split()[:4] == ["data", "n_seeds", "loss", "train"]
    assert lines[2].split()[:4] == ["height_weight", "3", "mse", "65"]
    assert lines[3].split()[:4] == ["two_moons", "3", "zero_one", "0.06"]
    paths = write_report(report, tmp_path, "t")
    assert {p.name for p in paths} >= {"risks_mse.png", "risks_zero_one.png"}


def test_the_dot_plot_keeps_its_legend_off_the_points(monkeypatch):
    from ermlab.plots import pyplot
    from ermlab.sweeps.report_plots import plot_risk_dots

    fig = _drawn(monkeypatch, plot_risk_dots, summarize(_records(sizes=(10,)), SWEPT))
    axes, legend = fig.axes[0], fig.axes[0].get_legend()
    assert legend.get_window_extent().x0 >= axes.get_window_extent().x1
    pyplot().close(fig)
