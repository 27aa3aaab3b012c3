"""``ermlab-sync`` copies a store's runs into another, completely, and only once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ermlab.config import compose, validate
from ermlab.pipeline import run
from ermlab.sync import COPIED_FROM_TAG, COPYING_FROM_TAG, PARENT_TAG, sync
from ermlab.tracking import open_run


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local store with a single torch run (metrics with 5 steps) and a sweep of two
    children; the tests only read it."""
    folder = tmp_path_factory.mktemp("source")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    base = [f"tracking.uri={uri}", "tracking.experiment=course"]
    run(validate(compose([*base, "model=torch_linear", "model.epochs=5"])), folder / "a")
    parent = open_run(validate(compose(base)).tracking, "sweep: seed")
    for seed in (0, 1):
        run(validate(compose([*base, f"seed={seed}"])), folder / f"s{seed}", parent.run_id)
    parent.finish()
    return uri


def _outputs(run) -> list:
    return (run.outputs.model_outputs if run.outputs is not None else None) or []


def _content(client, experiment: str) -> dict:
    """Everything a copy must reproduce, keyed by run name (run ids differ between stores)."""
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    names = {r.info.run_id: r.info.run_name for r in runs}
    content = {}
    for r in runs:
        tags = {k: v for k, v in r.data.tags.items() if k not in (COPIED_FROM_TAG, PARENT_TAG)}
        history = {
            key: [(m.step, m.value) for m in client.get_metric_history(r.info.run_id, key)]
            for key in r.data.metrics
        }
        files = {}
        for folder in ("", "plots"):
            for item in client.list_artifacts(r.info.run_id, folder or None):
                if not item.is_dir:
                    files[item.path] = Path(client.download_artifacts(r.info.run_id, item.path))
        models = [client.get_logged_model(o.model_id).name for o in _outputs(r)]
        content[r.info.run_name] = {
            "status": r.info.status,
            "parent": names.get(r.data.tags.get(PARENT_TAG)),
            "params": r.data.params,
            "tags": tags,
            "history": history,
            "files": {k: v.read_bytes() for k, v in files.items()},
            "models": models,
        }
    return {"tags": exp.tags, "runs": content}


def test_a_copy_holds_every_run_param_metric_step_tag_artifact_and_model(
    source: str, tmp_path: Path
):
    from mlflow.tracking import MlflowClient

    target = f"sqlite:///{tmp_path / 'team.db'}"
    report = sync(source, target)
    assert (report.copied, report.skipped) == (4, 0)
    copied, original = (
        _content(MlflowClient(target), "course"),
        _content(MlflowClient(source), "course"),
    )
    assert copied == original
    assert len(original["runs"]["sweep: seed"]["params"]) == 0  # the parent holds no params
    epochs = next(v for k, v in original["runs"].items() if "TorchLinear" in k)["history"]
    assert [step for step, _ in epochs["train/loss"]] == [1, 2, 3, 4, 5]
    assert sum(r["parent"] == "sweep: seed" for r in copied["runs"].values()) == 2

    # A copy's model loads from the copy, and predicts as the original does.
    import mlflow.sklearn

    client = MlflowClient(target)
    for recorded in client.search_runs([client.get_experiment_by_name("course").experiment_id]):
        for output in _outputs(recorded):
            copy = client.get_logged_model(output.model_id)
            original_run = MlflowClient(source).get_run(recorded.data.tags[COPIED_FROM_TAG])
            (first,) = original_run.outputs.model_outputs
            model = MlflowClient(source).get_logged_model(first.model_id)
            x = [[165.0], [180.0]]
            assert (
                mlflow.sklearn.load_model(copy.artifact_location).predict(x).tolist()
                == mlflow.sklearn.load_model(model.artifact_location).predict(x).tolist()
            )
            assert {m.key for m in copy.metrics} == {m.key for m in model.metrics}


def test_copying_twice_creates_no_duplicates_and_redoes_a_copy_cut_short(
    source: str, tmp_path: Path
):
    from mlflow.tracking import MlflowClient

    target = f"sqlite:///{tmp_path / 'team.db'}"
    sync(source, target)
    client = MlflowClient(target)
    experiment = client.get_experiment_by_name("course").experiment_id
    # A copy cut short (the process died mid-run) has only the in-progress tag.
    (victim,) = [r for r in client.search_runs([experiment]) if r.info.run_name == "sweep: seed"]
    client.set_tag(victim.info.run_id, COPYING_FROM_TAG, victim.data.tags[COPIED_FROM_TAG])
    client.delete_tag(victim.info.run_id, COPIED_FROM_TAG)
    report = sync(source, target)
    assert (report.copied, report.skipped, report.redone) == (1, 3, 1)
    runs = client.search_runs([experiment])
    assert len(runs) == 4
    assert sorted(r.data.tags[COPIED_FROM_TAG] for r in runs) == sorted(
        r.info.run_id for r in MlflowClient(source).search_runs([experiment])
    )
    # Children name the parent's new copy.
    parent = next(r for r in runs if r.info.run_name == "sweep: seed")
    assert sum(r.data.tags.get(PARENT_TAG) == parent.info.run_id for r in runs) == 2


def test_an_unreachable_target_is_one_line_and_exit_status_2(
    source: str, capsys: pytest.CaptureFixture[str]
):
    from ermlab.sync import main

    with pytest.raises(SystemExit) as exit_:
        main(["--from", source, "--to", "http://127.0.0.1:9"])  # port 9: discard, never MLflow
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("ermlab-sync: error: no MLflow tracking server answers")
        and err.count("\n") == 1
    )
    # The command itself runs in tests/test_server.py, against the team server.
