"""Bad config values and bad data files: one line naming the key or file, exit status 2, no
traceback, nothing written, no MLflow run.

Most cases go through the Python functions the commands call (``prevalidate``: compose,
validate and build the model, as ``ermlab`` does before anything starts; ``data.load``: what
``generate`` calls), which is the very code path of the command, at a fraction of an
``ermlab`` start each. A representative subset is driven as ``ermlab`` subprocesses, where
exit status, stderr, output folders and the MLflow store are checked as a user sees them.
"""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cmd

from ermlab import cli
from ermlab.config import ConfigError, CsvDataConfig, NistDataConfig, compose, validate
from ermlab.data import real
from ermlab.models.arguments import plain_overrides
from ermlab.paths import conf_dir


def prevalidate(overrides: list[str]) -> int:
    """What ``ermlab OVERRIDES`` checks before Hydra starts (see ``cli.main``)."""
    return cli.prevalidate(plain_overrides(overrides, conf_dir()))


# (overrides, what the one line must name). Each is refused before any job starts.
BAD_CONFIGS = [
    (["data.n_train=0"], "data.n_train"),
    (["data.n_train=-5"], "data.n_train"),
    (["data.n_train=abc"], "data.n_train"),
    (["data.n_test=-1"], "data.n_test"),
    (["data.n_population=0"], "data.n_population"),
    (["data.noise_sd=-1"], "data.noise_sd"),
    (["data.coef=[1,2]"], "data.coef"),
    (["data.x.dist=cauchy"], "data.x.dist"),
    (["data.x.sd=[-1]"], "data.x.sd"),
    (["data=polynomial", "data.function=cos"], "data.function"),
    (["data=polynomial", "data.design=spiral"], "data.design"),
    (["data=polynomial", "data.low=2", "data.high=1"], "data.high"),
    (["data=logistic", "model=logistic", "data.x.cov=[[1,2]]"], "data.x.cov"),
    (["data=gaussian_classes", "model=logistic", "data.priors=[0.2,0.2]"], "data.priors"),
    (["data=gaussian_classes", "model=logistic", "data.means=[[0,0]]"], "data.means"),
    (["data=xor", "model=logistic", "data.flip=0.7"], "data.flip"),
    (["data=two_moons", "model=logistic", "data.noise_sd=0"], "data.noise_sd"),
    (["data=diabetes", "data.name=mnist"], "data.name"),
    (["data.n_trainn=3"], "n_trainn"),
    (["no_such_key=1"], "no_such_key"),
    (["data=no_such_data"], "no_such_data"),
    (["model=no_such_model"], "no_such_model"),
    (["split.test_fraction=1.5"], "split.test_fraction"),
    (["split.test_fraction=0.2", "split.n_test=10"], "split.n_test"),
    (["split.n_test=0"], "split.n_test"),
    (["split=k_fold", "split.k=1"], "split.k"),
    (["split=biased", "split.rule=magic"], "split.rule"),
    (["split=biased", "split.on=z"], "split.on"),
    (["split=population", "split.n_test=0"], "split.n_test"),
    (["seed=-1"], "seed"),
    (["tracking.experiment="], "tracking.experiment"),
    (["model._target_=builtins.open", "+model.file=F", "+model.mode=w"], "model._target_"),
    (["model._target_=os.mkdir", "+model.path=D"], "model._target_"),
    (["model._target_=numpy.linalg.norm"], "model._target_"),
    (["model._target_=sklearn.no_such_module.X"], "model._target_"),
    (["model=torch_linear", "model.batchsize=16"], "model.batchsize"),
    (["model=ols", "model.no_such_argument=1"], "model.no_such_argument"),
    (["model=poly", "model.degree=-1"], "model.degree"),
    (["data.n_train=10000000000"], "data.n_train"),
    (["data.n_test=10000000000"], "data.n_test"),
    (["split=population", "split.n_test=10000000000"], "split.n_test"),
    (["data.n_train=[1"], "data.n_train"),
]


def test_at_least_thirty_bad_config_values_are_refused_in_one_line_naming_the_key():
    assert len(BAD_CONFIGS) >= 30
    for overrides, key in BAD_CONFIGS:
        with pytest.raises(ValueError) as info:
            prevalidate(overrides)
        message = str(info.value)
        assert key in message and "\n" not in message, (overrides, message)


def test_the_refused_targets_were_never_called(tmp_path: Path):
    victim = tmp_path / "F"
    victim.write_text("precious")
    with pytest.raises(ValueError, match="model._target_"):
        prevalidate(["model._target_=builtins.open", f"+model.file={victim}", "+model.mode=w"])
    with pytest.raises(ValueError, match="model._target_"):
        prevalidate(["model._target_=os.mkdir", f"+model.path={tmp_path / 'D'}"])
    assert victim.read_text() == "precious" and not (tmp_path / "D").exists()


def test_a_misspelt_argument_is_refused_with_the_real_names():
    with pytest.raises(ValueError) as info:
        prevalidate(["model=torch_linear", "model.batchsize=16"])
    assert "did you mean batch_size?" in str(info.value) and "epochs" in str(info.value)


def test_every_argument_of_the_target_is_settable_without_plus():
    config = validate(compose(["model=torch_linear", "model.batch_size=16", "model.lr=0.5"]))
    assert config.model["batch_size"] == 16 and config.model["lr"] == 0.5
    from ermlab import models

    assert models.build(config.model, 0).get_params()["batch_size"] == 16


def test_a_new_target_drops_the_groups_arguments_it_does_not_take():
    # The README's example: conf/model/ols.yaml has fit_intercept, SVR has no such argument.
    config = validate(compose(["model._target_=sklearn.svm.SVR"]))
    assert config.model == {"_target_": "sklearn.svm.SVR"}
    # Arguments the user sets are checked, not dropped.
    with pytest.raises(ValueError, match="model.fit_intercept is not an argument of SVR"):
        prevalidate(["model._target_=sklearn.svm.SVR", "model.fit_intercept=false"])


def test_a_nist_path_wins_over_the_default_name():
    data = validate(compose(["data=nist", "data.path=data/nist/Pontius.dat"])).data
    assert isinstance(data, NistDataConfig) and data.name is None
    assert real.load(data).X.shape[1] == 2  # Pontius: x, x²


# --------------------------------------------------------------------------- bad data files
def _nist_lines(name: str = "Norris") -> list[str]:
    return (REPO / "src/ermlab/data/reference/nist" / f"{name}.dat").read_text().splitlines()


def _bad_files(folder: Path) -> list[tuple[Path, str, dict]]:
    """(file, what the one line must name besides the file, load_table options)."""
    ok = "x,y\n1,2\n2,3\n3,5\n"
    cases = {
        "empty.csv": ("", "empty", {}),
        "header_only.csv": ("x,y\n", "no data rows", {}),
        "blank_lines.csv": ("\n\n\n", "empty", {}),
        "no_target.csv": ("x,z\n1,2\n", "no target column 'y'", {}),
        "no_feature.csv": (ok, "no feature column 'w'", {"features": ["w"]}),
        "target_is_feature.csv": (ok, "both the target and a feature", {"features": ["y"]}),
        "feature_twice.csv": ("x,z,y\n1,2,3\n", "twice", {"features": ["x", "x"]}),
        "only_target.csv": ("y\n1\n2\n", "no feature columns", {}),
        "duplicate_column.csv": ("x,x,y\n1,2,3\n4,5,6\n", "'x' appears twice", {}),
        "text_value.csv": ("x,y\n1,2\nabc,3\n", "'x'", {}),
        "text_target.csv": ("x,y\n1,2\n2,abc\n", "'y'", {}),
        "nan_value.csv": ("x,y\n1,2\n,3\n", "'x'", {}),
        "inf_value.csv": ("x,y\n1,2\ninf,3\n", "'x'", {}),
        "long_row.csv": ("x,y\n1,2\n1,2,3\n", "line", {}),
        "long_first_row.csv": ("x,y\n1,2,3\n4,5\n", "line", {}),
        "unnamed_index.csv": (",x,y\n0,1,2\n1,2,3\n", "no name in the header", {}),
        "latin1.csv": (None, "cannot be read", {}),
        "table.xlsx": (ok, "unknown file type", {}),
        "no_suffix": (ok, "unknown file type", {}),
        "broken.parquet": ("not parquet", "Parquet", {}),
        "broken.csv.gz": ("not gzip", "cannot be read", {}),
        "missing.csv": (None, "missing.csv", {}),
        "a_folder.csv": (None, "a_folder.csv", {}),
        "regression_labels.csv": ("x,y\n1,a\n2,b\n", "'y'", {"task": "regression"}),
    }
    files = []
    for name, (text, expected, options) in cases.items():
        path = folder / name
        if name == "latin1.csv":
            path.write_bytes("x,é\n1,2\n".encode("utf-16"))
        elif name == "a_folder.csv":
            path.mkdir()
        elif name == "broken.csv.gz":
            path.write_bytes(b"\x1f\x8b" + text.encode())
        elif text is not None:
            path.write_text(text)
        files.append((path, expected, options))
    nist = {
        "nist_empty.dat": ([], "line"),
        "nist_truncated.dat": (_nist_lines()[:40], "line"),
        "nist_no_model.dat": ([ln for ln in _nist_lines() if "y = B0" not in ln], "model"),
        "nist_bad_number.dat": ([*_nist_lines()[:-2], "  1.0  abc", ""], "line"),
    }
    for name, (lines, expected) in nist.items():
        path = folder / name
        path.write_text("\n".join(lines) + "\n")
        files.append((path, expected, {"nist": True}))
    return files


def _load(path: Path, options: dict):
    if options.get("nist"):
        return real.load(NistDataConfig(name=None, path=str(path)))
    cfg = CsvDataConfig(
        path=str(path),
        target="y",
        features=options.get("features", []),
        task=options.get("task", "regression"),
    )
    return real.load(cfg)


def test_at_least_twenty_five_bad_data_files_are_refused_in_one_line_naming_the_file(
    tmp_path: Path,
):
    files = _bad_files(tmp_path)
    assert len(files) >= 25
    for path, expected, options in files:
        with pytest.raises((ValueError, OSError)) as info:
            _load(path, options)
        message = str(info.value)
        assert path.name in message and expected in message, (path.name, message)
        assert "\n" not in message, (path.name, message)


# ------------------------------------------------------------- the commands, as a user runs them
def _ermlab(cwd: Path, *overrides: str):
    """``ermlab OVERRIDES`` in ``cwd`` (the project's conf/ and data/), recording to cwd's own
    MLflow store."""
    uri = f"tracking.uri=sqlite:///{cwd / 'mlflow.db'}"
    return run_cmd(["ermlab", *overrides, uri], cwd, check=False, ERMLAB_ROOT=str(REPO))


def runs_in(db: Path) -> list[tuple[str, str]]:
    """(run id, status) of every run in the SQLite MLflow store ``db`` (none if it is absent)."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        try:
            return con.execute("select run_uuid, status from runs").fetchall()
        except sqlite3.OperationalError:  # created, but no tables yet
            return []


def assert_refused(proc, cwd: Path, expected: str, runs: list[str] = ()) -> None:
    """Exit status 2, one ``ermlab: error:`` line naming ``expected``, no traceback, nothing
    under results/, outputs/, multirun/, and no MLflow run (or runs of these statuses)."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("ermlab: error:")]
    assert len(errors) == 1 and expected in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for folder in ("results", "outputs", "multirun"):
        assert not (cwd / folder).exists() or not any((cwd / folder).iterdir()), folder
    assert [status for _, status in runs_in(cwd / "mlflow.db")] == list(runs)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # refused before Hydra starts: a value, a target, a size
        (["data.n_train=0"], "data.n_train"),
        (["model._target_=builtins.print", "+model.x=1"], "model._target_"),
        (["data.n_train=10000000000"], "data.n_train"),
        (["model=torch_linear", "model.optimizer=newton"], "model.optimizer=newton"),
        # refused at run time, after Hydra made the run's folder: it must go too
        (["data=iris"], "model=ols is a regressor, but data=iris is a classification task"),
        (["data=csv", "data.path=DUP", "data.target=y"], "'x' appears twice"),
        (["data=csv", "data.path=TEXT", "data.target=y"], "'x'"),
        (["data=csv", "data.path=MISSING", "data.target=y"], "missing.csv"),
        # what only the data can tell (more neighbours than training points): the run is open
        # by then; it ends FAILED, never RUNNING
        (["model=knn", "model.n_neighbors=500"], "n_neighbors = 500, n_samples_fit = 100"),
    ],
    ids=["value", "target", "size", "argument", "task", "duplicate", "text", "missing", "fit"],
)
def test_ermlab_refuses_in_one_line_and_leaves_nothing(tmp_path: Path, overrides, expected):
    (tmp_path / "dup.csv").write_text("x,x,y\n1,2,3\n4,5,6\n7,8,8\n")
    (tmp_path / "text.csv").write_text("x,y\n1,2\nabc,3\n4,4\n")
    files = {"DUP": "dup.csv", "TEXT": "text.csv", "MISSING": "missing.csv"}
    for placeholder, name in files.items():
        overrides = [o.replace(placeholder, str(tmp_path / name)) for o in overrides]
    (tmp_path / "F").write_text("precious")
    proc = _ermlab(tmp_path, *overrides)
    assert_refused(proc, tmp_path, expected, ["FAILED"] if "n_neighbors" in overrides[-1] else [])


def test_ermlab_runs_the_readme_examples_of_model_arguments(tmp_path: Path):
    proc = _ermlab(tmp_path, "model._target_=sklearn.svm.SVR")
    assert proc.returncode == 0, proc.stderr
    # A run that worked ends with its output folder and its MLflow run id.
    tail = proc.stdout.strip().splitlines()[-2:]
    assert tail[0].startswith("outputs: ") and Path(tail[0].split(": ", 1)[1]).is_dir()
    ((run_id, status),) = runs_in(tmp_path / "mlflow.db")
    assert tail[1] == f"MLflow run: {run_id}" and status == "FINISHED"


def test_a_gzipped_csv_with_a_duplicate_column_is_refused_too(tmp_path: Path):
    path = tmp_path / "dup.csv.gz"
    path.write_bytes(gzip.compress(b"x,x,y\n1,2,3\n"))
    with pytest.raises(ValueError, match="'x' appears twice"):
        real.load_table(path, "y")


def test_the_dvc_stage_commands_refuse_in_one_line_and_write_nothing(tmp_path: Path):
    (tmp_path / "conf").symlink_to(REPO / "conf")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dup.csv").write_text("x,x,y\n1,2,3\n4,5,6\n")
    root = {"ERMLAB_ROOT": str(tmp_path)}
    params = ["ermlab-stage", "params", "tracking=off"]
    refused = run_cmd([*params, "data.n_train=0"], tmp_path, check=False, **root)
    assert refused.returncode == 2 and not (tmp_path / "params.yaml").exists()
    assert refused.stderr.strip() == (
        "ermlab-stage: error: data.n_train=0 is not allowed: an integer > 0"
    )
    csv = ["data=csv", "data.path=data/dup.csv", "data.target=y"]
    run_cmd([*params, *csv], tmp_path, **root)
    generate = run_cmd(["ermlab-stage", "generate"], tmp_path, check=False, **root)
    assert generate.returncode == 2 and "Traceback" not in generate.stderr
    (line,) = generate.stderr.strip().splitlines()
    assert "dup.csv: column 'x' appears twice" in line
    assert not (tmp_path / "results").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["hydra/launcher=joblib", "hydra.launcher.n_jobs=0"], "hydra.launcher.n_jobs=0"),
        (["hydra/launcher=joblib", "hydra.launcher.backend=threads"], "hydra.launcher.backend"),
        (["tracking=server", "tracking.uri=http://127.0.0.1:PORT"], "no MLflow tracking server"),
        (["hydra/launcher=jobib"], "hydra/launcher=jobib is not allowed: did you mean joblib?"),
        (["hydra/launcher=joblib", "hydra.launcher.n_jobs=two"], "n_jobs='two' is not allowed"),
        (["hydra.launcher.n_jobs=2"], "hydra.launcher.n_jobs is not a key of hydra.launcher,"),
        (["hydra.sweeper.rerun=maybe"], "hydra.sweeper.rerun=maybe is not allowed: true or false"),
        (["hydra/launcher=ray", "hydra.launcher.num_cpus=two"], "num_cpus=two is not allowed"),
        (["hydra/launcher=ray", "hydra.launcher.num_cpus=-1"], "num_cpus=-1 is not allowed"),
        (["hydra/launcher=ray", "hydra.launcher.address=head"], "address=head is not allowed"),
    ],
    ids=[
        "workers",
        "backend",
        "no-server",
        "launcher",
        "workers-type",
        "no-such-key",
        "rerun",
        "ray-cpus-type",
        "ray-cpus",
        "ray-address",
    ],
)
def test_a_sweep_that_cannot_start_is_refused_in_one_line_before_anything_is_written(
    tmp_path: Path, overrides, expected
):
    """What Hydra would only warn about (its callbacks' errors) or print a traceback for (a
    launcher's): the sweep stops in one line, with no parent run, no job and no folder."""
    overrides = [o.replace("PORT", str(_free_port())) for o in overrides]
    if "tracking=server" not in overrides:
        overrides.append(f"tracking.uri=sqlite:///{tmp_path / 'mlflow.db'}")
    proc = run_cmd(
        ["ermlab", "-m", "seed=0,1", *overrides], tmp_path, check=False, ERMLAB_ROOT=str(REPO)
    )
    assert_refused(proc, tmp_path, expected)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # not Hydra's page
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-m", "seed=range(5,0)"], "seed=range(5,0) is not allowed: it sweeps no value"),
        (["-m", "data.n_train=range(0,10,0)"], "range(0,10,0) is not allowed: range() arg 3"),
        (["-m", "seed=range(10"], "seed=range(10: no viable alternative at input 'range(10'; see"),
        (["-m", "seed=interval(1,2)"], "seed=interval(1,2) is not allowed: interval() is a"),
        (["-m", "seed=choice()"], "; ValueError while evaluating 'choice()': empty choice"),
        (["seed=range(3)"], "seed=range(3) is a sweep, which needs -m: ermlab -m seed=range(3)"),
        (["model=ols,ridge", "seed=1"], "model=ols,ridge is a sweep, which needs -m"),
        (["-m", "hydra.launcher.n_jobs=1,2"], "n_jobs=1,2 is not allowed: Hydra's own keys"),
        (["data=csv"], "data.path has no default: give one (data.path=...)"),
    ],
    ids=[
        "empty-range",
        "zero-step",
        "grammar",
        "interval",
        "empty-choice",
        "no-m-range",
        "no-m-list",
        "hydra-key",
        "no-default",
    ],
)
def test_a_command_written_wrong_is_refused_in_one_line_naming_it(argv: list[str], expected: str):
    with pytest.raises(ConfigError) as info:
        cli.prevalidate(argv)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_hydra_mode_multirun_is_taken_for_minus_m():
    """``hydra.mode=MULTIRUN`` is Hydra's other way to ask for a sweep."""
    cli.refuse_sweep_without_multirun(["hydra.mode=MULTIRUN", "seed=range(2)"])
    with pytest.raises(ConfigError, match="is a sweep, which needs -m"):
        cli.refuse_sweep_without_multirun(["hydra.mode=RUN", "seed=range(2)"])


@pytest.mark.parametrize(
    "override",
    ["hydra.run.dir=F/sub", "hydra.sweep.dir=F/sub/deeper", "tracking.uri=sqlite:///F/m.db"],
)
def test_a_file_where_a_folder_must_be_made_is_named_in_one_line(tmp_path: Path, override):
    """mkdir said "File exists: '<the file>'" (or Hydra a traceback), not that it is a file."""
    blocker = tmp_path / "F"
    blocker.write_text("a file")
    with pytest.raises(ConfigError, match=rf"is not allowed: {blocker} is a file, not a folder"):
        prevalidate([override.replace("F", str(blocker))])
