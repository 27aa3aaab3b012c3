"""Run names say what a run is: data source, model, training size, seed, the overrides that
made it; a sweep's parent is named after the keys it sweeps."""

from __future__ import annotations

from ermlab.config import compose, validate
from ermlab.data import generate
from ermlab.pipeline import run_name, sweep_name
from ermlab.split import split


def _name(*overrides: str) -> str:
    config = validate(compose(list(overrides)))
    dataset, source = generate(config.data, config.seed)
    train, _ = split(dataset, config.split, config.seed, source)
    return run_name(config, train, overrides)


def test_the_name_says_the_data_model_size_and_seed_not_the_experiment_label():
    assert _name() == "linear/OLS/n=100/seed=0"
    # name=height_weight is the default label: a run on other data must not carry it.
    assert _name("data=two_moons", "model=knn_classifier", "seed=3") == (
        "two_moons/KNeighborsClassifier/n=200/seed=3"
    )
    assert _name("data=galton").startswith("galton/OLS/n=")
    # A generic choice names the file or family the data come from, as the DVC path does.
    assert _name("data=csv", "data.path=data/galton.csv", "data.target=child").startswith(
        "galton.csv/OLS/n="
    )
    assert _name("data=nist", "data.name=Pontius").startswith("nist/Pontius/OLS/n=")


def test_overrides_beyond_the_named_keys_tell_two_runs_apart():
    low = _name("model=ridge", "model.alpha=0.1", "tracking=off", "hydra.job.chdir=false")
    high = _name("model=ridge", "++model.alpha=1000", "tracking=off", "name=demo")
    assert low == "linear/Ridge/n=100/seed=0/model.alpha=0.1"
    assert high == "linear/Ridge/n=100/seed=0/model.alpha=1000"


def test_a_sweep_parent_is_named_after_its_swept_keys():
    swept = ["data=two_moons", "model.lr=0.1,1000", "seed=range(5)", "hydra.launcher.n_jobs=2"]
    assert sweep_name(swept) == "sweep: model.lr × seed"
    assert sweep_name(["model=ols"]) == "sweep"
    assert sweep_name(["++model.alpha=1,2", "seed=0,1"]) == "sweep: model.alpha × seed"


def test_a_job_is_labelled_with_its_model_arguments_as_typed():
    from ermlab.sweeps.tracker import job_label

    made = ["++model.alpha=2", "seed=1", "~model.fit_intercept", "++data.noise_sd=1"]
    assert job_label(made) == "model.alpha=2 seed=1 ~model.fit_intercept ++data.noise_sd=1"


def test_the_data_option_a_run_was_composed_with_names_it_the_default_too():
    """``ermlab`` and ``ermlab.run`` pass the options Hydra composed (``hydra.runtime.choices``):
    the default data is named ``height_weight``, as chosen, not by its kind ``linear``; a
    generic option still names its file."""
    config = validate(compose([]))
    dataset, source = generate(config.data, config.seed)
    train, _ = split(dataset, config.split, config.seed, source)
    choices = {"data": "height_weight", "model": "ols", "split": "random"}
    assert run_name(config, train, (), choices) == "height_weight/OLS/n=100/seed=0"
    csv = ["data=csv", "data.path=data/galton.csv", "data.target=child"]
    config = validate(compose(csv))
    dataset, source = generate(config.data, config.seed)
    train, _ = split(dataset, config.split, config.seed, source)
    assert run_name(config, train, csv, {"data": "csv"}).startswith("galton.csv/OLS/n=")
