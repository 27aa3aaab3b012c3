"""``ermlab-report``: the sweep report rebuilt from the MLflow store alone, into a folder.

    ermlab-report PARENT_RUN_ID --out report/               # one sweep (its parent run)
    ermlab-report --experiment ermlab --filter "params.model._target_ LIKE '%KNeighbors%'" \\
        --out report/                                       # any runs, e.g. dvc exp --queue

For a sweep's parent run id it writes the very files the sweep wrote at its end (the same
function on the same runs); for an experiment and an MLflow filter string the swept keys are
those whose values differ between the matching runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ermlab.errors import exit_on_user_error


def parser() -> argparse.ArgumentParser:
    """The command line of ``ermlab-report``."""
    from ermlab.config import TrackingConfig

    p = argparse.ArgumentParser(
        prog="ermlab-report",
        description="Rebuild the sweep report (jobs.csv, summary.csv, plots, report.md, "
        "report.html) from the MLflow store.",
    )
    p.add_argument("run_id", nargs="?", help="the sweep's parent run id")
    p.add_argument("--experiment", help="instead of a run id: an MLflow experiment name")
    p.add_argument(
        "--filter",
        default="",
        help="with --experiment: an MLflow search filter, e.g. \"params.seed = '0'\"",
    )
    p.add_argument("--out", required=True, type=Path, help="the folder to write the report to")
    p.add_argument(
        "--tracking-uri",
        default=TrackingConfig().uri,
        help="the MLflow store (default: %(default)s, relative to the project root)",
    )
    return p


@exit_on_user_error("ermlab-report")
def main(argv: list[str] | None = None) -> None:
    """Console entry point ``ermlab-report``."""
    args = parser().parse_args(argv)
    if (args.run_id is None) == (args.experiment is None):
        parser().error("give a sweep's parent run id or --experiment NAME (one of the two)")
    if args.filter and args.experiment is None:
        parser().error("--filter needs --experiment")
    from mlflow.tracking import MlflowClient

    from ermlab.config import TrackingConfig
    from ermlab.sweeps.report import summary_table
    from ermlab.sweeps.store import StoreError, load_runs, load_sweep, write_sweep_report
    from ermlab.tracking import check_reachable, resolve_uri, sqlite_path

    uri = resolve_uri(args.tracking_uri)
    if (store := sqlite_path(uri)) is not None and not store.is_file():
        # MLflow would create an empty store there: a mistyped path left a new file behind.
        raise StoreError(f"--tracking-uri {args.tracking_uri}: no MLflow store at {store}")
    check_reachable(TrackingConfig(uri=args.tracking_uri))
    client = MlflowClient(tracking_uri=uri)
    if args.run_id is not None:
        sweep = load_sweep(client, args.run_id)
    else:
        sweep = load_runs(client, args.experiment, args.filter)
    report, _ = write_sweep_report(sweep, args.out)
    print(summary_table(report))
    for note in sweep.notes:  # how the runs were chosen (the report's other notes: report.md)
        print(note)
    print(f"ermlab-report: {len(report.jobs)} jobs ({report.n_failed} failed) -> {args.out}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
