"""ERM fails when the training sample is biased or too small: three demonstrations.

(a) ``one_class``: one class only. Trained on a sample that holds class ``keep_class`` only
    (``split=biased_one_class``), any ERM over a hypothesis class containing the constants
    predicts that class everywhere (the empirical risk of the constant is 0), so its test
    zero-one risk is the probability of the other classes, ``1 − π_keep`` (0.3 for priors
    (0.7, 0.3)). ``dummy_classifier`` (most frequent) and 1-nearest-neighbour are fitted;
    scikit-learn's ``LogisticRegression`` refuses a one-class sample outright (recorded).
(b) ``covariate_shift``: a cubic fitted on x ∈ [0, 0.5] of Bishop's curve (t = sin 2πx +
    N(0, 0.3²), x ~ U(0, 1); ``split=covariate_shift``) extrapolates wildly on (0.5, 1]: its test
    risk on [0, 1] is far above that of the same model trained on an unbiased sample of the
    same size (the unbiased training set of the same seed, subsampled to the biased one's
    size), and above the risk of the constant predictor E[t].
(c) ``small_sample``: not enough data. A degree-9 polynomial (p = 10 parameters) on N points:
    the median test risk falls as N grows while the training risk rises toward the Bayes risk
    σ² = 0.09; given the inputs, E[train MSE] = σ²(1 − p/N) when the model holds the truth
    (a degree-9 polynomial approximates sin 2πx on [0, 1] to ~1e-4, a negligible bias), and
    E[test MSE] ≈ σ²(1 + p/N) for large N.

Every part composes its data, split and model from ``conf/`` (``sub_config``); parts (a) and
(b) go through ``generate`` and ``split``, part (c) calls the source's ``sample`` and the
estimator in a loop (nested training samples: the first N of one draw of max(N) points, and
one test sample per seed shared by every N, so the comparisons across N are paired). Replicate
i uses the root seed ``seed + i``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ermlab.studies.report import Check, quartiles, se_check

TITLE = "biased_sample: ERM on a one-class, a covariate-shifted and a too-small sample"
STUDY = "biased_sample"


@dataclass
class OneClassParams:
    """Part (a). Each list holds Hydra overrides for ``sub_config``.

    Attributes
    ----------
    data, split : list of str
        The classification source (its config needs ``priors``) and the one-class split.
    models : dict of str to list of str
        Display name -> model overrides; every model must accept a one-class sample.
    refused : list of str
        A model that cannot be fitted on one class (scikit-learn raises ValueError).
    contrast_split : list of str
        The split for the same models trained on every class (informational).
    seeds : int
        Replicates; the test sets are the data's ``n_test`` held-out points of each.
    n_se : float
        Tolerance on the mean test zero-one, in binomial standard errors.
    """

    data: list[str] = field(default_factory=lambda: ["data=imbalanced_gaussians"])
    split: list[str] = field(default_factory=lambda: ["split=biased_one_class"])
    models: dict[str, list[str]] = field(
        default_factory=lambda: {
            "dummy_most_frequent": ["model=dummy_classifier"],
            "knn_1": ["model=knn_classifier", "model.n_neighbors=1"],
        }
    )
    refused: list[str] = field(default_factory=lambda: ["model=logistic"])
    contrast_split: list[str] = field(default_factory=lambda: ["split=random"])
    seeds: int = 5
    n_se: float = 3.0


@dataclass
class CovariateShiftParams:
    """Part (b): a biased and an unbiased split of the same data, the same model.

    Attributes
    ----------
    data, biased_split, unbiased_split, model : list of str
        Overrides; the biased split's rule ``range`` names the training range of feature 0.
    seeds : int
    min_ratio : float
        The median test risk (biased) must exceed ``min_ratio`` × the unbiased one.
    """

    data: list[str] = field(
        default_factory=lambda: ["data=polynomial", "data.n_train=40", "data.n_test=5000"]
    )
    biased_split: list[str] = field(
        default_factory=lambda: ["split=covariate_shift", "split.low=0.0", "split.high=0.5"]
    )
    unbiased_split: list[str] = field(default_factory=lambda: ["split=random"])
    model: list[str] = field(default_factory=lambda: ["model=ols_poly", "model.degree=3"])
    seeds: int = 200
    min_ratio: float = 5.0


@dataclass
class SmallSampleParams:
    """Part (c): one model, training sizes ``sizes``, a fresh test sample of ``n_test``.

    Attributes
    ----------
    rel_tol : float
        Median train and test MSE at the largest N must lie within ``rel_tol`` of σ².
    n_se : float
        Tolerance of the mean train MSE against σ²(1 − p/N), in standard errors.
    """

    data: list[str] = field(default_factory=lambda: ["data=polynomial"])
    model: list[str] = field(default_factory=lambda: ["model=ols_poly", "model.degree=9"])
    sizes: list[int] = field(default_factory=lambda: [10, 15, 20, 50, 100, 1000])
    n_test: int = 10_000
    seeds: int = 200
    rel_tol: float = 0.1
    n_se: float = 4.0


@dataclass
class Params:
    """The three parts (see the module docstring)."""

    one_class: OneClassParams = field(default_factory=OneClassParams)
    covariate_shift: CovariateShiftParams = field(default_factory=CovariateShiftParams)
    small_sample: SmallSampleParams = field(default_factory=SmallSampleParams)


# ------------------------------------------------------------------------------- helpers
def _fit_quietly(estimator, X: np.ndarray, y: np.ndarray) -> tuple[Any, int]:
    """Fit; returns the estimator and the number of warnings (rank deficiency, ...) raised."""
    from ermlab import models

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models.fit(estimator, X, y)
    return estimator, len(caught)


# -------------------------------------------------------------------------- (a) one class
def run_one_class(seed0: int, p: OneClassParams) -> tuple[dict[str, Any], dict[str, Any]]:
    """Part (a): test zero-one of classifiers trained on one class; plot data for seed0."""
    from ermlab import models
    from ermlab.config import ConfigError
    from ermlab.data import generate
    from ermlab.losses import zero_one
    from ermlab.split import split
    from ermlab.studies.runner import sub_config

    biased = sub_config([*p.data, *p.split])
    contrast = sub_config([*p.data, *p.contrast_split])
    priors = getattr(biased.data, "priors", None)
    if priors is None:
        raise ConfigError(f"study.one_class.data={p.data!r} is not allowed: a source with priors")
    if getattr(biased.split, "rule", None) != "class":
        raise ConfigError(
            f"study.one_class.split={p.split!r} is not allowed: a biased split with rule class"
        )
    keep = int(biased.split.keep_class)
    model_cfgs = {name: sub_config(ov).model for name, ov in p.models.items()}
    refused_cfg = sub_config(p.refused).model
    per_model = {name: {"zero_one": [], "predicts_keep": []} for name in model_cfgs}
    contrast_risk = {name: [] for name in [*model_cfgs, "refused"]}
    n_train, n_test, refusals, plot, seen = [], [], [], {}, set()
    for i in range(p.seeds):
        seed = seed0 + i
        dataset, source = generate(biased.data, seed)
        train, test = split(dataset, biased.split, seed, source)
        n_train.append(len(train))
        seen |= {int(c) for c in np.unique(train.y)}
        n_test.append(len(test))
        for name, cfg in model_cfgs.items():
            est, _ = _fit_quietly(models.build(cfg, seed), train.X, train.y)
            pred = est.predict(test.X)
            per_model[name]["zero_one"].append(zero_one(test.y, pred))
            per_model[name]["predicts_keep"].append(float(np.mean(pred == keep)))
        try:
            _fit_quietly(models.build(refused_cfg, seed), train.X, train.y)
            refusals.append("fitted")
        except ValueError as err:
            refusals.append(f"{type(err).__name__}: {' '.join(str(err).split())}")
        full_train, full_test = split(dataset, contrast.split, seed, source)
        for name, cfg in [*model_cfgs.items(), ("refused", refused_cfg)]:
            est, _ = _fit_quietly(models.build(cfg, seed), full_train.X, full_train.y)
            contrast_risk[name].append(zero_one(full_test.y, est.predict(full_test.X)))
        if i == 0:
            plot = {"train_X": train.X, "test_X": test.X[:3000], "test_y": test.y[:3000]}
    results = {
        "priors": list(priors),
        "keep_class": keep,
        "expected_zero_one": 1.0 - float(priors[keep]),
        "bayes_zero_one": source.bayes_risk("zero_one"),
        "n_train": n_train,
        "n_test": n_test,
        "train_classes": sorted(seen),
        "models": {
            name: {
                "zero_one": v["zero_one"],
                "mean_zero_one": float(np.mean(v["zero_one"])),
                "min_predicts_keep": float(np.min(v["predicts_keep"])),
            }
            for name, v in per_model.items()
        },
        "refused_model": refused_cfg.get("_target_"),
        "refusals": refusals,
        "contrast_mean_zero_one": {k: float(np.mean(v)) for k, v in contrast_risk.items()},
    }
    return results, plot


def verify_one_class(r: dict[str, Any], p: OneClassParams) -> list[Check]:
    checks = []
    pi = r["expected_zero_one"]
    total = int(np.sum(r["n_test"]))
    se = math.sqrt(pi * (1 - pi) / total)
    for name, m in r["models"].items():
        checks.append(
            se_check(
                STUDY,
                f"(a) one class: test zero-one of {name} trained on class {r['keep_class']} only "
                f"(mean of {len(r['n_test'])} seeds)",
                pi,
                m["mean_zero_one"],
                se,
                p.n_se,
                f"1 − π_{r['keep_class']}: a constant predictor errs on every other-class point, "
                f"a Binomial({total}, {pi:g}) count over {total} test points (SE {se:.2g})",
                digits=6,
            )
        )
        checks.append(
            Check(
                STUDY,
                f"(a) one class: share of test points {name} labels {r['keep_class']} (worst seed)",
                1.0,
                m["min_predicts_keep"],
                "exact",
                "ERM on a one-class sample: the constant has empirical risk 0, so the "
                "classifier predicts the one class it has seen everywhere",
                m["min_predicts_keep"] == 1.0,
            )
        )
    refused = [s for s in r["refusals"] if s != "fitted"]
    checks.append(
        Check(
            STUDY,
            f"(a) one class: {r['refused_model'].rsplit('.', 1)[-1]} cannot be fitted "
            f"({len(refused)} of {len(r['refusals'])} seeds refused)",
            "ValueError: needs 2 classes",
            (refused[0] if refused else "fitted")[:60],
            "every seed",
            "a likelihood over one class has no finite maximiser; scikit-learn refuses",
            len(refused) == len(r["refusals"]) and all("class" in s for s in refused),
        )
    )
    return checks


# ------------------------------------------------------------------- (b) covariate shift
def run_covariate_shift(
    seed0: int, p: CovariateShiftParams
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Part (b): test MSE of the model on the biased and on a same-size unbiased sample."""
    from ermlab import models
    from ermlab.config import ConfigError
    from ermlab.data import generate
    from ermlab.losses import mse
    from ermlab.seeding import rng
    from ermlab.split import split
    from ermlab.studies.runner import sub_config

    biased = sub_config([*p.data, *p.biased_split, *p.model])
    unbiased = sub_config([*p.data, *p.unbiased_split]).split
    if getattr(biased.split, "rule", None) != "range":
        raise ConfigError(
            f"study.covariate_shift.biased_split={p.biased_split!r} is not allowed: a biased "
            "split with rule range"
        )
    lo, hi, col = float(biased.split.low), float(biased.split.high), int(biased.split.feature)
    keys = ("biased", "unbiased", "biased_in_range", "unbiased_in_range", "constant")
    risks = {k: [] for k in keys}
    sizes, n_warn, plot = [], 0, {}
    for i in range(p.seeds):
        seed = seed0 + i
        dataset, source = generate(biased.data, seed)
        train_b, test = split(dataset, biased.split, seed, source)
        # Same seed, same random partition: the same test set, and the biased training
        # set is a subset of the unbiased one (a paired comparison).
        train_u, test_u = split(dataset, unbiased, seed, source)
        if not np.array_equal(test.X, test_u.X):
            raise ConfigError(
                "study.covariate_shift: the biased and unbiased splits must hold out the "
                "same test set (give them the same test_fraction / n_test)"
            )
        m = len(train_b)
        # A named child of the split stream (k-fold uses another): the subsample of the
        # unbiased training set down to the biased one's size.
        sub = rng(seed, "split", sub="subsample")
        train_u = train_u.subset(np.sort(sub.choice(len(train_u), m, replace=False)))
        fits = {}
        for name, train in (("biased", train_b), ("unbiased", train_u)):
            est, w = _fit_quietly(models.build(biased.model, seed), train.X, train.y)
            n_warn += w
            fits[name] = est
            pred = est.predict(test.X)
            inside = (lo <= test.X[:, col]) & (test.X[:, col] <= hi)
            risks[name].append(mse(test.y, pred))
            risks[f"{name}_in_range"].append(mse(test.y[inside], pred[inside]))
        risks["constant"].append(float(np.var(test.y)))  # best constant: predict mean t
        sizes.append(m)
        if i == 0:
            grid = np.asarray(source.grid(200), dtype=float).reshape(-1, 1)
            plot = {
                "grid": grid[:, 0],
                "truth": source.bayes_predict(grid),
                "train_b": (train_b.X[:, 0], train_b.y),
                "train_u": (train_u.X[:, 0], train_u.y),
                "fit_b": fits["biased"].predict(grid),
                "fit_u": fits["unbiased"].predict(grid),
            }
    med = {k: float(np.median(v)) for k, v in risks.items()}
    b, u = np.asarray(risks["biased"]), np.asarray(risks["unbiased"])
    results = {
        "range": [lo, hi],
        "feature": col,
        "n_train_biased": sizes,
        "median_n_train": float(np.median(sizes)),
        "risks": risks,
        "median": med,
        "ratio_of_medians": med["biased"] / med["unbiased"],
        "median_ratio": float(np.median(b / u)),
        "share_biased_worse": float(np.mean(b > u)),
        "bayes_mse": source.bayes_risk("mse"),
        "fit_warnings": n_warn,
    }
    return results, {**plot, "risks": risks, "range": (lo, hi), "bayes": results["bayes_mse"]}


def verify_covariate_shift(r: dict[str, Any], p: CovariateShiftParams) -> list[Check]:
    med = r["median"]
    lo, hi = r["range"]
    return [
        Check(
            STUDY,
            f"(b) covariate shift: median test MSE on all x, trained on x in [{lo:g}, {hi:g}] / "
            f"trained on an unbiased sample of the same size ({len(r['risks']['biased'])} seeds)",
            f"> {p.min_ratio:g}",
            round(r["ratio_of_medians"], 3),
            f"ratio > {p.min_ratio:g}",
            f"{p.min_ratio:g} × the unbiased risk ({med['unbiased']:.3g}, about σ²(1 + p/m)) is "
            f"{p.min_ratio * med['unbiased']:.3g}, near Var t = {med['constant']:.3g}, the "
            "risk of ignoring x altogether: 'far above' means at least that bad",
            bool(r["ratio_of_medians"] > p.min_ratio),
        ),
        Check(
            STUDY,
            "(b) covariate shift: median test MSE of the biased fit against that of the best "
            "constant (Var t on the test set)",
            round(med["constant"], 4),
            round(med["biased"], 4),
            "reproduced > published",
            "extrapolating a cubic beyond the training range is worse than predicting E[t] "
            "without looking at x",
            bool(med["biased"] > med["constant"]),
        ),
    ]


# ---------------------------------------------------------------------- (c) small sample
def run_small_sample(seed0: int, p: SmallSampleParams) -> dict[str, Any]:
    """Part (c): train and test MSE of one model over training sizes, per seed."""
    from ermlab import models
    from ermlab.config import ConfigError
    from ermlab.data import make_source
    from ermlab.losses import mse
    from ermlab.seeding import rng
    from ermlab.studies.runner import sub_config

    config = sub_config([*p.data, *p.model])
    source = make_source(config.data)
    if source is None or source.task != "regression":
        raise ConfigError(f"study.small_sample.data={p.data!r} is not allowed: a regression source")
    sizes = sorted(int(n) for n in p.sizes)
    train = np.empty((p.seeds, len(sizes)))
    test = np.empty((p.seeds, len(sizes)))
    n_warn = 0
    for i in range(p.seeds):
        seed = seed0 + i
        X, y = source.sample(sizes[-1], rng(seed, "data"))
        X_test, y_test = source.sample(p.n_test, rng(seed, "population"))
        for j, n in enumerate(sizes):
            est, w = _fit_quietly(models.build(config.model, seed), X[:n], y[:n])
            n_warn += w
            train[i, j] = mse(y[:n], est.predict(X[:n]))
            test[i, j] = mse(y_test, est.predict(X_test))
    model = config.model
    n_params = int(model.get("degree", 1)) * len(source.feature_names) + int(
        bool(model.get("fit_intercept", True))
    )
    return {
        "sizes": sizes,
        "n_params": n_params,
        "bayes_mse": source.bayes_risk("mse"),
        "n_test": p.n_test,
        "train": quartiles(train),
        "test": quartiles(test),
        "mean_train": train.mean(axis=0),
        "seeds": p.seeds,
        "fit_warnings": n_warn,
    }


def _chain(values: list[float], op: str) -> str:
    return f" {op} ".join(f"{v:.3g}" for v in values)


def verify_small_sample(r: dict[str, Any], p: SmallSampleParams) -> list[Check]:
    sizes, k, s2, seeds = r["sizes"], r["n_params"], r["bayes_mse"], r["seeds"]
    test_med, train_med = r["test"]["median"], r["train"]["median"]
    falls = all(b < a for a, b in zip(test_med, test_med[1:], strict=False))
    rises = all(b > a for a, b in zip(train_med, train_med[1:], strict=False))
    n_text = ", ".join(map(str, sizes))
    checks = [
        Check(
            STUDY,
            f"(c) too few points: median test MSE of the p = {k} fit falls as N grows ({n_text})",
            "decreasing",
            _chain(test_med, ">"),
            "strictly decreasing",
            "the variance of the fit shrinks with N (paired: nested samples, one test set per "
            "seed)",
            falls,
        ),
        Check(
            STUDY,
            f"(c) too few points: median train MSE rises with N ({n_text})",
            "increasing",
            _chain(train_med, "<"),
            "strictly increasing",
            "E[train] = σ²(1 − p/N) grows with N: fewer and fewer points can be fitted to noise",
            rises,
        ),
    ]
    for n, mean in zip(sizes, r["mean_train"], strict=True):
        expected = s2 * max(0.0, 1 - k / n)
        # Given x, train MSE = σ² χ²_{N−p} / N: standard deviation σ²√(2(N−p))/N per seed.
        se = s2 * math.sqrt(2 * max(n - k, 0)) / n / math.sqrt(seeds)
        checks.append(
            se_check(
                STUDY,
                f"(c) mean train MSE at N = {n} against σ²(1 − p/N) (p = {k}, {seeds} seeds)",
                expected,
                mean,
                se,
                p.n_se,
                f"{p.n_se:g} SE of a mean of σ²χ²_(N−p)/N; the degree-9 bias is negligible"
                if n > k
                else "N = p: the fit interpolates, train MSE is rounding error only",
                floor=1e-9,  # N = p: SE 0, the train MSE is float rounding of 0
                digits=6,
            )
        )
    n_big = sizes[-1]
    sd_rel = math.sqrt(2 / max(n_big - k, 1))
    for what, med, formula in (
        ("train", train_med[-1], f"= σ²(1 − p/N) = {s2 * (1 - k / n_big):.4g}"),
        ("test", test_med[-1], f"≈ σ²(1 + p/N) = {s2 * (1 + k / n_big):.4g}"),
    ):
        checks.append(
            Check(
                STUDY,
                f"(c) median {what} MSE at N = {n_big} against the Bayes risk σ²",
                s2,
                float(f"{med:.6g}"),
                f"rel {p.rel_tol:g}",
                f"E[{what}] {formula}, {100 * k / n_big:.1f} % from σ²; one seed's spread "
                f"{100 * sd_rel:.1f} %",
                bool(abs(med - s2) <= p.rel_tol * s2),
            )
        )
    return checks


# ------------------------------------------------------------------------------ study API
def run(config, params: Params, out_dir: Path) -> dict[str, Any]:
    """Run the three parts; plots ``one_class.png``, ``covariate_shift.png``,
    ``small_sample.png`` into ``out_dir``."""
    seed0 = int(config.seed)
    one, one_plot = run_one_class(seed0, params.one_class)
    shift, shift_plot = run_covariate_shift(seed0, params.covariate_shift)
    small = run_small_sample(seed0, params.small_sample)
    _plot_one_class(one, one_plot, out_dir / "one_class.png")
    _plot_covariate_shift(shift, shift_plot, out_dir / "covariate_shift.png")
    _plot_small_sample(small, out_dir / "small_sample.png")
    return {"one_class": one, "covariate_shift": shift, "small_sample": small}


def verify(results: dict[str, Any], params: Params) -> list[Check]:
    """The checks of the three parts, in order (a), (b), (c)."""
    return [
        *verify_one_class(results["one_class"], params.one_class),
        *verify_covariate_shift(results["covariate_shift"], params.covariate_shift),
        *verify_small_sample(results["small_sample"], params.small_sample),
    ]


# ---------------------------------------------------------------------------------- plots
def _plot_one_class(r: dict[str, Any], d: dict[str, Any], path: Path) -> None:
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    for c in np.unique(d["test_y"]):
        pts = d["test_X"][d["test_y"] == c]
        ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.25, label=f"test, class {c}")
    ax.scatter(
        d["train_X"][:, 0],
        d["train_X"][:, 1],
        s=14,
        c="k",
        marker="x",
        label=f"training sample (class {r['keep_class']} only)",
    )
    ax.set_title(f"every classifier predicts class {r['keep_class']} everywhere")
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize=8, loc="upper left")
    names = list(r["models"])
    means = [r["models"][n]["mean_zero_one"] for n in names]
    contrast = [r["contrast_mean_zero_one"][n] for n in names]
    pos = np.arange(len(names))
    bx.bar(pos - 0.2, means, 0.4, label=f"trained on class {r['keep_class']} only")
    bx.bar(pos + 0.2, contrast, 0.4, label="trained on both classes")
    refused = r["refused_model"].rsplit(".", 1)[-1]
    bx.bar(len(names) + 0.2, r["contrast_mean_zero_one"]["refused"], 0.4, color="tab:orange")
    bx.text(len(names) - 0.2, 0.01, "cannot fit\none class", ha="center", fontsize=8, rotation=90)
    bx.axhline(
        r["expected_zero_one"],
        color="k",
        ls="--",
        lw=1,
        label=f"1 − π{r['keep_class']} = {r['expected_zero_one']:g}",
    )
    bx.axhline(
        r["bayes_zero_one"],
        color="tab:green",
        ls=":",
        lw=1,
        label=f"Bayes risk {r['bayes_zero_one']:.3f}",
    )
    bx.set_xticks([*pos, len(names)], [*names, refused])
    bx.set_ylabel("test zero-one risk (mean over seeds)")
    bx.legend(fontsize=8)
    save_figure(fig, path)


def _plot_covariate_shift(r: dict[str, Any], d: dict[str, Any], path: Path) -> None:
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.5))
    lo, hi = d["range"]
    ax.axvspan(
        max(lo, d["grid"][0]), min(hi, d["grid"][-1]), color="0.9", label="biased training range"
    )
    ax.plot(d["grid"], d["truth"], "g", lw=2, label="E[t|x] = sin 2πx")
    ax.scatter(*d["train_b"], s=14, c="tab:red", label="biased sample")
    ax.scatter(
        *d["train_u"],
        s=14,
        facecolors="none",
        edgecolors="tab:blue",
        label="unbiased sample, same size",
    )
    ax.plot(d["grid"], d["fit_b"], "tab:red", label="fit on biased")
    ax.plot(d["grid"], d["fit_u"], "tab:blue", label="fit on unbiased")
    ax.set_ylim(-2.5, 2.5)
    ax.set_xlabel("x")
    ax.set_ylabel("t")
    ax.set_title("seed 0")
    ax.legend(fontsize=7, loc="lower left")
    keys = ["unbiased", "biased", "unbiased_in_range", "biased_in_range"]
    bx.boxplot([d["risks"][k] for k in keys], showfliers=False)
    bx.set_xticks(range(1, 5), ["unbiased", "biased", f"unbiased\nx≤{hi:g}", f"biased\nx≤{hi:g}"])
    bx.axhline(d["bayes"], color="tab:green", ls=":", label="σ²")
    bx.axhline(r["median"]["constant"], color="k", ls="--", lw=1, label="Var t (constant)")
    bx.set_yscale("log")
    bx.set_ylabel("test MSE over seeds")
    bx.set_title(f"ratio of medians {r['ratio_of_medians']:.1f}")
    bx.legend(fontsize=8)
    save_figure(fig, path)


def _plot_small_sample(r: dict[str, Any], path: Path) -> None:
    from ermlab.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    n = np.asarray(r["sizes"], dtype=float)
    s2, k = r["bayes_mse"], r["n_params"]
    for what, color in (("test", "tab:red"), ("train", "tab:blue")):
        q = r[what]
        ax.plot(n, q["median"], "o-", color=color, label=f"{what} MSE (median)")
        ax.fill_between(n, q["q25"], q["q75"], color=color, alpha=0.2)
    dense = np.geomspace(n[0], n[-1], 200)
    ax.axhline(s2, color="tab:green", ls=":", label="Bayes risk σ²")
    ax.plot(dense[dense > k], s2 * (1 - k / dense[dense > k]), "k--", lw=1, label="σ²(1 − p/N)")
    ax.plot(dense, s2 * (1 + k / dense), "k-.", lw=1, label="σ²(1 + p/N)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, None)
    ax.set_xlabel("training points N")
    ax.set_ylabel("MSE (band: quartiles over seeds)")
    ax.set_title(f"degree {k - 1} polynomial, p = {k}")
    ax.legend(fontsize=8)
    save_figure(fig, path)
