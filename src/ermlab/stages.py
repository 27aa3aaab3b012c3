"""Thin DVC stage commands: ``ermlab-stage {generate,split,fit,evaluate}``, and the helpers
``make run`` calls around ``dvc repro``: ``params``, ``restore-data``, ``report``.

Each reads only the sections of ``params.yaml`` its stage declares in ``dvc.yaml``, calls one
step, and writes its outputs under ``results/``. ``params`` (run by ``make run`` before
``dvc repro``) composes ``conf/`` into ``params.yaml`` exactly as ``dvc exp run`` does, so the
file can never silently go stale.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import pickle
import sys
from pathlib import Path

import yaml

from ermlab import collector, paths, signals
from ermlab.config import Config, validate
from ermlab.errors import exit_on_user_error


def load_params(sections: tuple[str, ...]) -> Config:
    """Validate ``sections`` of params.yaml (the others are not read)."""
    path = paths.params_file()
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `make params` (or `make run`)")
    return validate(yaml.safe_load(path.read_text()) or {}, sections)


def write_params(overrides: list[str]) -> bool:
    """Compose ``conf/`` (with Hydra overrides) into params.yaml; returns True if it changed.

    The file is rewritten only when its content differs, and only after validation passed.
    """
    from ermlab import models
    from ermlab.config import compose, params_yaml_text

    cfg = compose(overrides)
    config = validate(cfg)
    models.build(config.model, config.seed)  # a bad model argument fails now, not at `fit`
    text = params_yaml_text(cfg)
    path = paths.params_file()
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def stage_generate() -> None:
    from ermlab.data import generate

    cfg = load_params(("seed", "data"))
    require_tracked_file(cfg.data)
    dataset, _ = generate(cfg.data, cfg.seed)
    dataset.save(paths.dataset_file())


def require_tracked_file(data) -> None:
    """A data file the DVC pipeline reads must lie under data/, the folder ``generate``
    depends on: otherwise editing the file would not re-run anything, and stale risks would
    stay cached."""
    if not getattr(data, "path", None):
        return
    from ermlab.config import ConfigError
    from ermlab.data.real import resolve

    if not resolve(data.path).resolve().is_relative_to(paths.data_dir().resolve()):
        raise ConfigError(
            f"data.path={data.path} is outside data/, so DVC would not notice when it changes: "
            "copy it into data/ and run `dvc add data` (the `ermlab` app reads it as it is)"
        )


def stage_split() -> None:
    from ermlab.data import Dataset, make_source
    from ermlab.split import split

    # The data section too: fixed-design and population splits draw from the source.
    cfg = load_params(("seed", "data", "split"))
    dataset = Dataset.load(paths.dataset_file())
    train, test = split(dataset, cfg.split, cfg.seed, make_source(cfg.data))
    train_path, test_path = paths.split_files()
    train.save(train_path)
    test.save(test_path)


def stage_fit() -> None:
    from ermlab import models
    from ermlab.data import Dataset

    cfg = load_params(("seed", "model"))
    train = Dataset.load(paths.split_files()[0])
    estimator = models.build(cfg.model, cfg.seed)
    models.check_task(estimator, train)
    models.warn_if_intercept_mismatch(estimator, train)
    collector.resume()  # a network's training loop makes garbage for as long as it runs
    estimator, history = models.fit(estimator, train.X, train.y)
    write_history(history, paths.history_file())
    with paths.atomic_path(paths.model_file()) as tmp, tmp.open("wb") as f:
        pickle.dump(estimator, f)


def write_history(history: dict[str, list[float]], path: Path) -> None:
    """Loss per epoch as CSV (``epoch,train_loss,val_loss``), the DVC plot of the training curve;
    only the header for models fitted in closed form."""
    columns = ["epoch", "train_loss", "val_loss"]
    with paths.atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        epochs = history.get("epoch", [])
        for i, epoch in enumerate(epochs):
            row = [epoch]
            for key in columns[1:]:
                values = history.get(key) or []
                row.append(values[i] if i < len(values) else "")
            writer.writerow(row)


def stage_evaluate() -> None:
    from ermlab.config import to_dict
    from ermlab.data import Dataset, make_source
    from ermlab.pipeline import assess, record_summary, run_name
    from ermlab.tracking import check_reachable, tracked_run

    cfg = load_params(("seed", "name", "data", "split", "model", "tracking"))
    check_reachable(cfg.tracking)
    train_path, test_path = paths.split_files()
    train, test = Dataset.load(train_path), Dataset.load(test_path)
    with paths.model_file().open("rb") as f:
        estimator = pickle.load(f)
    history = read_history(paths.history_file())
    source = make_source(cfg.data)
    with tracked_run(cfg.tracking, run_name(cfg, train)) as recorder:
        if recorder is not None:
            recorder.log_config(to_dict(cfg))
        assess(cfg, estimator, history, train, test, source, paths.results_dir(), recorder)
        summary = record_summary(estimator, train, paths.results_dir(), recorder)
    # The risk table is printed once, by `ermlab-stage report` after `dvc repro` (make run).
    where = f", MLflow run {recorder.run_id}" if recorder is not None else ""
    print(f"evaluate: risks written to {paths.metrics_file()}{where}")
    if summary is not None:
        print(f"\n{summary.text()}")


def read_history(path: Path) -> dict[str, list[float]]:
    """Inverse of :func:`write_history` (empty dict when there are no epochs)."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {
        key: [int(r[key]) if key == "epoch" else float(r[key] or "nan") for r in rows]
        for key in rows[0]
    }


def stage_report() -> None:
    """Print the risk table of the last ``dvc repro`` and how to browse the runs."""
    from ermlab.evaluate import risk_table

    metrics = json.loads(paths.metrics_file().read_text())
    print(risk_table(metrics))
    print("\nBrowse every run in MLflow:  make ui   (then open http://127.0.0.1:5000)")


def restore_data() -> None:
    """Restore ``data/`` from the copies shipped in the package, byte for byte.

    A fresh clone has no DVC remote to pull from; the package carries the same files (as
    scikit-learn ships its small datasets), so after this ``dvc status`` is clean. Files that
    are already present are left alone.
    """
    import shutil

    target = paths.data_dir()
    restored = 0
    for source in sorted(paths.REFERENCE_DIR.rglob("*")):
        if source.is_file():
            dest = target / source.relative_to(paths.REFERENCE_DIR)
            if not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, dest)
                restored += 1
    if restored:
        _cache_data(target.parent)
    print(
        f"data/: {restored} file(s) restored from the package" if restored else "data/ is complete"
    )


def _cache_data(root: Path) -> None:
    """Put ``root/data`` in DVC's cache, as ``dvc pull`` would leave it: else the first ``dvc
    repro`` caches it itself, and ends with DVC's advice to ``git add data.dvc``, which has
    not changed. Only data that matches ``data.dvc`` is cached: data that differs is the
    user's to commit (DVC would ask, on a terminal, and rewrite ``data.dvc``); a folder that is
    no DVC project, or a DVC that fails, leaves things as they were."""
    if not (root / ".dvc").is_dir() or not (root / "data.dvc").is_file():
        return
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    with contextlib.suppress(DvcException), Repo(str(root)) as repo:
        (stage,) = repo.stage.collect("data.dvc")
        if not any(out.changed_checksum() for out in stage.outs):
            repo.commit("data.dvc", force=True)  # nothing changed: nothing to ask


STAGES = {
    "generate": stage_generate,
    "split": stage_split,
    "fit": stage_fit,
    "evaluate": stage_evaluate,
    "report": stage_report,
}


@exit_on_user_error("ermlab-stage")
def main(argv: list[str] | None = None) -> None:
    # A stage is a short process that mostly imports: the collector waits (ermlab.collector)
    # until a fit starts, the one step that can run long.
    collector.pause()
    parser = argparse.ArgumentParser(prog="ermlab-stage", description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["params", "restore-data", *STAGES])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides (params only)")
    args = parser.parse_args(argv)
    if args.stage == "params":
        changed = write_params(args.overrides)
        print(f"params.yaml {'updated from conf/' if changed else 'is up to date with conf/'}")
        return
    if args.stage == "restore-data":
        restore_data()
        return
    signals.install()  # SIGTERM ends the stage's MLflow run KILLED, as Ctrl-C does
    try:
        STAGES[args.stage]()
    except KeyboardInterrupt as interrupt:
        signals.exit_interrupted(f"ermlab-stage {args.stage}", interrupt)


if __name__ == "__main__":
    sys.exit(main())
