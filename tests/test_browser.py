"""What a person sees in the MLflow UI, checked in a real browser (headless Chromium driven by
Playwright) over a store that holds a single run and a sweep, both made by ``ermlab``.

Screenshots of each page go to the test's temporary folder (``screenshots/``).
"""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cmd
from tests.servers import mlflow_ui

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# MLflow 3.17's UI picks its view from a switch at the top of the page that the browser
# remembers (GenAI at first), not from the experiment's kind tag (which ermlab sets for the UIs
# that read it); a link can select the view too.
MODEL_TRAINING = "workflowType=machine_learning"
WAIT_MS = 60_000  # the UI renders on 2 shared cores


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local store made by the real commands: one run, and a sweep of 4 jobs."""
    folder = tmp_path_factory.mktemp("store")
    common = [f"tracking.uri=sqlite:///{folder / 'mlflow.db'}", "tracking.experiment=course"]
    run_cmd(
        ["ermlab", "data.n_train=50", *common, f"hydra.run.dir={folder / 'single'}"],
        folder,
        ERMLAB_ROOT=str(REPO),
    )
    run_cmd(
        ["ermlab", "-m", "model=ols,ridge", "seed=0,1", *common, f"hydra.sweep.dir={folder}/sw"],
        folder,
        ERMLAB_ROOT=str(REPO),
    )
    return folder


@pytest.mark.slow
def test_the_mlflow_ui_shows_runs_metrics_plots_and_the_sweep_report(store: Path, tmp_path: Path):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does)")
    from mlflow.tracking import MlflowClient
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)

    uri = f"sqlite:///{store / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("course")
    runs = client.search_runs([experiment.experiment_id])
    single = next(r for r in runs if r.info.run_name.startswith("height_weight/OLS/n=50/"))
    parent = next(r for r in runs if r.info.run_name.startswith("sweep"))
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.run_name == "sweep: model × seed" and len(children) == 4
    shots = tmp_path / "screenshots"
    shots.mkdir()

    with mlflow_ui(uri, tmp_path / "ui.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(WAIT_MS)
        base = f"{url}/#/experiments/{experiment.experiment_id}"

        # The experiment, from the experiment list, once "Model training" is chosen: its runs,
        # not GenAI's traces and token usage.
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        page.goto(f"{url}/#/experiments")
        page.get_by_role("button", name="Model training").click()
        assistant = page.get_by_role("button", name="Close")  # MLflow's chat panel: not ours
        if assistant.count():
            assistant.first.click()
        page.get_by_role("link", name="course", exact=True).click()
        expect(page.get_by_role("heading", name="Runs")).to_be_visible()
        assert "/runs" in page.url and "Token usage" not in page.inner_text("body")
        expect(page.get_by_role("link", name=single.info.run_name)).to_be_visible()
        expect(page.get_by_role("link", name=parent.info.run_name)).to_be_visible()
        page.screenshot(path=shots / "experiment.png")

        # The single run: its name, and risk/test/mse as recorded.
        page.goto(f"{base}/runs/{single.info.run_id}?{MODEL_TRAINING}")
        expect(page.get_by_role("heading", name=single.info.run_name)).to_be_visible()
        # The UI prints the double as recorded (shortest round-trip form in both languages).
        # The row's columns (metric, value and, once loaded, the logged model) come in one
        # text without separators: the value is the recorded number, no digit on either side.
        recorded = repr(single.data.metrics["risk/test/mse"])
        shown = re.compile(rf"(?<![\d.]){re.escape(recorded)}(?![\d])")
        row = page.get_by_role("row").filter(has_text="risk/test/mse").filter(has_text=shown)
        expect(row.first).to_be_visible()
        expect(page.get_by_text("Logged models (1)")).to_be_visible()
        page.screenshot(path=shots / "run.png", full_page=True)

        # fit.png renders: the browser decoded it at the size of the logged file.
        page.goto(f"{base}/runs/{single.info.run_id}/artifacts/plots/fit.png?{MODEL_TRAINING}")
        image = page.locator("img[src^='blob:'], img[src*='fit.png']").first
        expect(image).to_be_visible()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        decoded = image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        local = Path(client.download_artifacts(single.info.run_id, "plots/fit.png", str(tmp_path)))
        assert tuple(decoded) == _png_size(local)
        page.screenshot(path=shots / "fit.png")

        # The sweep parent lists its children and shows its report.
        page.goto(f"{base}/runs/{parent.info.run_id}?{MODEL_TRAINING}")
        expect(page.get_by_text("Child runs", exact=True)).to_be_visible()
        for child in children:
            expect(page.get_by_role("link", name=child.info.run_name).first).to_be_visible()
        page.screenshot(path=shots / "sweep.png", full_page=True)
        page.goto(f"{base}/runs/{parent.info.run_id}/artifacts/report.html?{MODEL_TRAINING}")
        report = page.frame_locator("iframe").first.locator("body")
        expect(report).to_contain_text(parent.info.run_name)
        expect(report).to_contain_text(f"{len(children)} jobs")
        page.screenshot(path=shots / "report.png")
        browser.close()
    assert sorted(p.name for p in shots.iterdir()) == [
        "experiment.png",
        "fit.png",
        "report.png",
        "run.png",
        "sweep.png",
    ]
