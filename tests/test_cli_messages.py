"""What ``ermlab`` says besides its results: ``--help`` (the options a user chooses, read from
``conf/`` here, and the config the command line composes; a bad override in one line), and a
warning, in one line as an error is."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REPO, run_cmd

from ermlab.paths import conf_dir


def _ermlab(tmp_path: Path, *argv: str, check: bool = True):
    return run_cmd(["ermlab", *argv], tmp_path, check=check, ERMLAB_ROOT=str(REPO))


def _options_in_conf() -> dict[str, str]:
    """``group: a, b, c`` for every group folder of ``conf/`` but Hydra's own, as the help
    must list them (sorted, as Hydra sorts them)."""
    groups = {}
    for folder in sorted(p for p in conf_dir().iterdir() if p.is_dir() and p.name != "hydra"):
        groups[folder.name] = ", ".join(sorted(f.stem for f in folder.glob("*.yaml")))
    return groups


def test_help_lists_every_option_in_conf_and_no_schema(tmp_path: Path):
    text = _ermlab(tmp_path, "--help").stdout
    groups = text.split("== Configuration groups ==")[1].split("== Config ==")[0]
    listed = {
        line.split(": ")[0]: line.split(": ", 1)[1]
        for line in groups.splitlines()
        if ": " in line and not line.startswith("Compose")
    }
    assert listed == _options_in_conf()
    assert "schema/" not in text
    assert text.startswith("ermlab: fit a model to data and measure its risks")


def test_help_shows_the_config_of_the_overrides_and_a_sweeps_first_job(tmp_path: Path):
    text = _ermlab(tmp_path, "-m", "data=iris,two_moons", "model=logistic", "seed=4", "-h").stdout
    config = text.split("== Config ==")[1]
    assert "  name: iris" in config and "seed: 4" in config
    assert "LogisticRegression" in config


def test_help_with_a_bad_override_says_it_in_one_line(tmp_path: Path):
    proc = _ermlab(tmp_path, "data=nope", "--help", check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("ermlab: error: data=nope is not allowed: one of")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_warning_is_one_line_naming_the_command(tmp_path: Path):
    proc = _ermlab(tmp_path, "model=ols_poly", "model.degree=12", "data.n_train=10", "tracking=off")
    warned = [line for line in proc.stderr.splitlines() if "rank deficient" in line]
    assert warned == [
        "ermlab: warning: design matrix is rank deficient (rank 10 < 13 parameters); "
        "returning the minimum-norm least-squares solution"
    ]
    assert ".py:" not in proc.stderr  # no file and line of the code that warned


def test_another_librarys_warning_keeps_its_type_and_all_its_text(capsys):
    import warnings

    from ermlab.errors import show_warnings_in_one_line

    with warnings.catch_warnings():
        show_warnings_in_one_line("ermlab-report")
        warnings.warn("lbfgs failed\nIncrease max_iter.", FutureWarning, stacklevel=1)
    said = capsys.readouterr().err
    assert said == "ermlab-report: warning: FutureWarning: lbfgs failed Increase max_iter.\n"


def test_minus_m_after_an_override_still_reads_every_override(tmp_path: Path):
    from ermlab.cli import multirun_first

    argv = ["tracking=off", "-m", "model=ols,olss"]
    assert multirun_first(argv) == ["-m", "tracking=off", "model=ols,olss"]
    proc = _ermlab(tmp_path, *argv, check=False)  # was argparse's usage text and its error
    assert proc.returncode == 2
    assert proc.stderr.startswith("ermlab: error: model=olss is not allowed: did you mean ols?")


def test_version_is_ermlabs_with_the_libraries_that_decide_its_numbers(tmp_path: Path):
    import platform
    from importlib.metadata import version

    import hydra
    import sklearn

    said = _ermlab(tmp_path, "--version").stdout.strip()
    assert said.startswith(f"ermlab {version('ermlab')} (Python {platform.python_version()}, ")
    assert f"hydra-core {hydra.__version__}," in said  # not "Hydra 1.3.8" alone, as before
    assert f"scikit-learn {sklearn.__version__}," in said
