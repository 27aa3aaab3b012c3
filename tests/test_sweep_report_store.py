"""Reading a sweep back from an MLflow store: children, reused runs of a resumed sweep, failed
jobs with and without a run, and any runs by experiment and filter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ermlab.sweeps.store import (
    CHOICES_TAG,
    FAILED_JOBS,
    OVERRIDES_TAG,
    PARENT_TAG,
    REUSED_RUNS,
    StoreError,
    load_runs,
    load_sweep,
    sweep_params,
    write_sweep_report,
)
from ermlab.tracking import CONFIG_HASH_TAG


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite store for the module (creating one costs seconds); one experiment a test."""
    return tmp_path_factory.mktemp("store")


def _client(folder: Path, name: str):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{folder / 'mlflow.db'}")
    experiment = client.create_experiment(name, (folder / "mlartifacts").as_uri())
    return client, experiment


def _job(client, experiment, overrides, parent=None, status="FINISHED", mse=1.0, start=None):
    tags = {OVERRIDES_TAG: json.dumps(overrides)}
    if parent:
        tags[PARENT_TAG] = parent
    if start is not None:  # a run of ermlab's: its config's hash (here: its overrides)
        tags[CONFIG_HASH_TAG] = "-".join(overrides)
    run = client.create_run(experiment, start_time=start, tags=tags).info.run_id
    for override in overrides:
        key, value = override.split("=")
        client.log_param(run, key, value)
    client.log_metric(run, "risk/test/mse", mse)
    client.set_terminated(run, status)
    return run


def test_a_reused_run_takes_its_swept_values_from_the_job_that_reused_it(store: Path):
    """A run made by a single run (``make run``: no overrides) or by a sweep of other keys
    holds no override for a choice of config group (``model=ols``; its params say only
    ``model._target_``): its row gets the values of the job that reused it."""
    client, experiment = _client(store, "reused-single")
    single = _job(client, experiment, [])  # dvc repro's run: no overrides at all
    other = _job(client, experiment, ["seed=4"])  # a sweep of seeds, default model
    command = ["model=ols,ridge", "seed=4,5"]
    parent = client.create_run(experiment).info.run_id
    for key, value in sweep_params(command).items():
        client.log_param(parent, key, value)
    _job(client, experiment, ["model=ridge", "seed=4"], parent, mse=2.0)
    listing = [
        {"run_id": single, "overrides": ["model=ols", "seed=5"]},
        {"run_id": other, "overrides": ["model=ols", "seed=4"]},
    ]
    client.log_text(parent, json.dumps(listing), REUSED_RUNS)

    sweep = load_sweep(client, parent)
    got = [(r.values, r.run_id) for r in sweep.records]
    assert got == [
        ({"model": "ols", "seed": "4"}, other),
        ({"model": "ols", "seed": "5"}, single),
        ({"model": "ridge", "seed": "4"}, sweep.records[2].run_id),
    ]


def test_a_sweep_is_its_children_its_reused_runs_and_its_failed_jobs(store: Path):
    client, experiment = _client(store, "sweep")
    old_parent = client.create_run(experiment).info.run_id
    reused = _job(client, experiment, ["model.degree=1", "seed=0"], old_parent, mse=3.0)
    _job(client, experiment, ["model.degree=1", "seed=1"], old_parent, mse=99.0)  # not reused

    command = ["model.degree=1,2", "seed=0,1", "tracking=local"]
    parent = client.create_run(experiment).info.run_id
    for key, value in sweep_params(command).items():
        client.log_param(parent, key, value)
    assert json.loads(sweep_params(command)["sweep.keys"]) == ["model.degree", "seed"]
    _job(client, experiment, ["model.degree=1", "seed=1"], parent, mse=5.0)
    _job(client, experiment, ["model.degree=2", "seed=0"], parent, status="FAILED")
    client.log_text(parent, json.dumps([reused]), REUSED_RUNS)
    failures = [
        {"overrides": ["model.degree=2", "seed=0"], "reason": "ValueError: diverged"},
        {"overrides": ["model.degree=2", "seed=1"], "reason": "ConfigError: refused"},
    ]
    client.log_text(parent, json.dumps(failures), FAILED_JOBS)

    sweep = load_sweep(client, parent)
    assert sweep.swept == ["model.degree", "seed"]
    got = [(r.overrides, r.status, r.reason, r.metrics.get("risk/test/mse")) for r in sweep.records]
    assert got == [
        ("model.degree=1 seed=0", "ok", "", 3.0),  # the reused run of the older sweep
        ("model.degree=1 seed=1", "ok", "", 5.0),
        ("model.degree=2 seed=0", "failed", "ValueError: diverged", None),  # its run FAILED
        ("model.degree=2 seed=1", "failed", "ConfigError: refused", None),  # no run at all
    ]
    assert sweep.records[0].run_id == reused and sweep.records[3].run_id == ""
    assert sweep.records[0].predictions() is None  # no decomposition artifact logged


def test_runs_by_experiment_and_filter_are_swept_over_what_differs(store: Path):
    client, experiment = _client(store, "e")
    for seed in range(3):
        _job(client, experiment, ["model=knn", f"seed={seed}"], mse=float(seed))
    _job(client, experiment, ["model=ols", "seed=0"], mse=7.0)
    sweep = load_runs(client, "e", "params.model = 'knn'")
    assert sweep.swept == ["seed"] and len(sweep.records) == 3
    assert load_runs(client, "e").swept == ["model", "seed"]
    with pytest.raises(StoreError, match="no runs in experiment 'e' match"):
        load_runs(client, "e", "params.model = 'tree'")
    with pytest.raises(StoreError, match="no MLflow experiment 'nope'"):
        load_runs(client, "nope")
    with pytest.raises(StoreError, match="not a sweep's parent run"):
        load_sweep(client, sweep.records[0].run_id)


def test_a_config_run_again_counts_once_by_its_newest_finished_run(store: Path):
    """``ermlab seed=1`` twice, or a sweep run again with ``rerun=true``: the same numbers
    again, which would pass for more seeds and shrink the standard errors."""
    client, experiment = _client(store, "again")
    _job(client, experiment, ["seed=0"], mse=1.0, start=1)
    _job(client, experiment, ["seed=1"], mse=2.0, start=2)
    newest = _job(client, experiment, ["seed=1"], mse=2.5, start=5)
    finished = _job(client, experiment, ["seed=2"], mse=3.0, start=3)
    _job(client, experiment, ["seed=2"], status="KILLED", start=6)  # interrupted, run again
    _job(client, experiment, ["seed=3"], mse=4.0)  # no config hash (not ermlab's): kept
    sweep = load_runs(client, "again")
    kept = {r.values["seed"]: r for r in sweep.records}
    assert len(sweep.records) == 4 and [r.status for r in sweep.records] == ["ok"] * 4
    assert kept["1"].run_id == newest and kept["2"].run_id == finished
    assert sweep.notes and sweep.notes[0].startswith("2 more run(s) of a config counted already")
    report, _ = write_sweep_report(sweep, store / "again")
    assert report.summary[0]["n_seeds"] == 4 and report.notes[0] == sweep.notes[0]
    assert sweep.notes[0] in (store / "again" / "report.md").read_text()


def test_reused_runs_are_read_in_batches_of_ids_and_one_of_another_experiment_by_its_id(
    store: Path, monkeypatch: pytest.MonkeyPatch
):
    """Seven reused runs, three ids a search: every one is read (six in three searches of
    the parent's experiment, the seventh, made in another experiment, by its id), each with
    its own metrics, in the listing's order after the sweep's own children."""
    from ermlab.sweeps import store as store_module

    monkeypatch.setattr(store_module, "RUN_IDS_PER_SEARCH", 3)
    client, experiment = _client(store, "batches")
    _, elsewhere = _client(store, "batches-elsewhere")
    old = [_job(client, experiment, [f"seed={s}"], mse=float(s)) for s in range(6)]
    foreign = _job(client, elsewhere, ["seed=6"], mse=6.0)
    parent = client.create_run(experiment).info.run_id
    for key, value in sweep_params(["seed=range(8)"]).items():
        client.log_param(parent, key, value)
    own = _job(client, experiment, ["seed=7"], parent, mse=7.0)
    listing = [{"run_id": r, "overrides": [f"seed={s}"]} for s, r in enumerate([*old, foreign])]
    client.log_text(parent, json.dumps(listing[::-1]), REUSED_RUNS)  # the listing's own order

    searches = []
    original = store_module.search_all_runs
    monkeypatch.setattr(
        store_module,
        "search_all_runs",
        lambda *a, **k: searches.append(a[2]) or original(*a, **k),
    )
    runs, _ = store_module.sweep_runs(client, parent)
    assert [r.info.run_id for r in runs] == [own, foreign, *old[::-1]]
    assert [r.data.metrics["risk/test/mse"] for r in runs] == [7.0, 6.0, 5.0, 4.0, 3.0, 2, 1, 0]
    assert len(searches) == 1 + 3  # the children, then 7 ids by 3


def test_runs_without_an_override_of_a_group_show_the_option_they_used(store: Path):
    """A group left at its default (no ``data=`` override) has no ``data`` param either: the
    run's tag of its choices gives the value, and a group whose option differs is swept."""
    client, experiment = _client(store, "groups")
    chosen = [
        (["seed=1"], {"data": "height_weight", "model": "ols"}),
        (["data=bishop", "model=ols_poly"], {"data": "bishop", "model": "ols_poly"}),
        ([], {"data": "height_weight", "model": "ridge"}),
        (["seed=2"], None),  # a run from before the tag: its params, else empty
    ]
    for overrides, choices in chosen:
        run = _job(client, experiment, overrides)
        if choices is not None:
            client.set_tag(run, CHOICES_TAG, json.dumps(choices))
    sweep = load_runs(client, "groups")
    assert sweep.swept == ["seed", "data", "model"]
    assert sorted(tuple(r.values.values()) for r in sweep.records) == [
        ("", "bishop", "ols_poly"),
        ("", "height_weight", "ridge"),
        ("1", "height_weight", "ols"),
        ("2", "", ""),
    ]


def test_runs_that_do_not_say_their_options_are_told_apart_by_their_params(store: Path):
    """DVC stages' runs carry no choices tag: mixed with runs that do, a group is compared
    only between the runs that say their option, and covers no params, so the DVC runs'
    ``data.n_train`` still tells them apart (they are not two seeds of one configuration)."""
    client, experiment = _client(store, "mixed")
    for n_train in (50, 100):  # dvc repro with data.n_train changed: no overrides, no choices
        run = _job(client, experiment, [])
        client.log_param(run, "data.n_train", str(n_train))
    run = _job(client, experiment, ["seed=1"])
    client.log_param(run, "data.n_train", "100")
    client.set_tag(run, CHOICES_TAG, json.dumps({"data": "height_weight", "model": "ols"}))
    sweep = load_runs(client, "mixed")
    assert sweep.swept == ["data.n_train", "seed"]  # seed: by its param (the others: none)
    assert sorted(tuple(r.values.values()) for r in sweep.records) == [
        ("100", ""),
        ("100", "1"),
        ("50", ""),
    ]


def test_a_sweep_too_long_to_list_in_a_param_is_named_as_typed():
    params = sweep_params(["seed=range(2000)", "model=ols,ridge"])
    assert params["sweep.values.seed"] == "range(2000)"  # 8,890 characters listed
    assert params["sweep.values.model"] == "ols,ridge"


def test_ermlab_report_refuses_a_sqlite_store_that_does_not_exist(tmp_path: Path, capsys):
    from ermlab.sweeps import report_cli

    missing = tmp_path / "nope.db"
    with pytest.raises(SystemExit) as exit_:
        report_cli.main(["abc", "--tracking-uri", f"sqlite:///{missing}", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    said = capsys.readouterr().err
    uri = f"sqlite:///{missing}"
    assert said == f"ermlab-report: error: --tracking-uri {uri}: no MLflow store at {missing}\n"
    assert not missing.exists()  # MLflow made an empty store there before
