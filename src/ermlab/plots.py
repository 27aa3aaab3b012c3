"""Figures for one run: the data with the fitted curve, residuals, the training curve.

matplotlib is imported here only, with the non-interactive Agg backend: studies that draw
their own figures take it from :func:`pyplot` and write them with :func:`save_figure`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ermlab.data.base import Dataset, Population


def pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (figures go to files only).

    Inside a Jupyter kernel the notebook's own backend is kept: switching it to Agg would stop
    the user's figures from showing after the first ``ermlab.run``. ermlab's figures are closed
    once saved (:func:`save_figure`), so the notebook never displays them.
    """
    import sys

    import matplotlib

    if "ipykernel" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_fit(estimator, train: Dataset, test: Dataset, source: Population | None, path: Path):
    """Training and test points with the fitted curve (and the Bayes predictor when known).

    Classification with two features: the predicted class regions under the training points.
    Regression with several features: predicted against observed targets.
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    if train.task == "classification" and train.X.shape[1] == 2:
        _decision_regions(ax, estimator, train, test)
    elif train.X.shape[1] == 1:
        ax.scatter(test.X[:, 0], test.y, s=6, alpha=0.3, color="tab:gray", label="test")
        ax.scatter(train.X[:, 0], train.y, s=12, color="tab:blue", label="train")
        lo, hi = np.min(train.X[:, 0]), np.max(train.X[:, 0])
        if len(test):
            lo, hi = min(lo, test.X[:, 0].min()), max(hi, test.X[:, 0].max())
        grid = np.linspace(lo, hi, 200)[:, None]
        ax.plot(grid[:, 0], estimator.predict(grid), color="tab:red", label="fitted")
        if source is not None:
            ax.plot(grid[:, 0], source.bayes_predict(grid), "k--", lw=1, label="Bayes E[y|x]")
        ax.set_xlabel(train.feature_names[0])
        ax.set_ylabel(train.target_name)
    else:
        if len(test):
            ax.scatter(test.y, estimator.predict(test.X), s=6, alpha=0.4, label="test")
        ax.scatter(train.y, estimator.predict(train.X), s=12, label="train")
        both = np.concatenate([train.y, test.y])
        ax.plot([both.min(), both.max()], [both.min(), both.max()], "k--", lw=1)
        ax.set_xlabel(f"observed {train.target_name}")
        ax.set_ylabel(f"predicted {train.target_name}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    save_figure(fig, path)


def _decision_regions(ax, estimator, train: Dataset, test: Dataset) -> None:
    both = np.vstack([train.X, test.X]) if len(test) else train.X
    lo, hi = both.min(0), both.max(0)
    pad = 0.05 * (hi - lo + 1e-12)
    g0, g1 = np.meshgrid(
        np.linspace(lo[0] - pad[0], hi[0] + pad[0], 200),
        np.linspace(lo[1] - pad[1], hi[1] + pad[1], 200),
    )
    regions = estimator.predict(np.column_stack([g0.ravel(), g1.ravel()])).reshape(g0.shape)
    ax.contourf(g0, g1, regions, alpha=0.25, cmap="coolwarm")
    ax.scatter(train.X[:, 0], train.X[:, 1], c=train.y, s=12, cmap="coolwarm", edgecolor="k")
    ax.set_xlabel(train.feature_names[0])
    ax.set_ylabel(train.feature_names[1])
    ax.set_title("predicted classes (shaded) and training points")


def plot_residuals(estimator, train: Dataset, test: Dataset, path: Path) -> None:
    """Residuals y − ŷ against fitted values, for training and test points (for a classifier:
    the confusion counts on the test set)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    if train.task == "classification":
        classes = np.unique(np.concatenate([train.y, test.y]))
        shown = test if len(test) else train  # split=none: no test set, show the training set
        predicted = estimator.predict(shown.X)
        counts = np.array(
            [[np.sum((shown.y == a) & (predicted == b)) for b in classes] for a in classes]
        )
        ax.imshow(counts, cmap="Blues")
        for (i, j), value in np.ndenumerate(counts):
            ax.text(j, i, str(value), ha="center", va="center")
        ax.set_xticks(range(len(classes)), [str(c) for c in classes])
        ax.set_yticks(range(len(classes)), [str(c) for c in classes])
        ax.set_xlabel("predicted class")
        ax.set_ylabel(f"true class ({'test' if len(test) else 'training'} set)")
        save_figure(fig, path)
        return
    for data, style in ((test, dict(s=6, alpha=0.3, color="tab:gray")), (train, dict(s=12))):
        if not len(data):
            continue
        fitted = estimator.predict(data.X)
        ax.scatter(fitted, data.y - fitted, label="test" if data is test else "train", **style)
    ax.axhline(0, color="k", lw=1)
    ax.set_xlabel("fitted value")
    ax.set_ylabel("residual y - ŷ")
    ax.legend()
    save_figure(fig, path)


def plot_history(history: dict[str, list[float]], path: Path) -> None:
    """Training (and validation) loss per epoch; a note when the model has no iterations."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    if history.get("epoch"):
        for key in ("train_loss", "val_loss"):
            values = np.asarray(history.get(key, []), dtype=float)
            if len(values) and np.isfinite(values).any():
                ax.plot(history["epoch"], values, label=key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.legend()
    else:
        ax.text(0.5, 0.5, "closed-form fit: no training curve", ha="center", va="center")
        ax.set_axis_off()
    save_figure(fig, path)


def plot_run(estimator, train, test, source, history, folder: Path) -> dict[str, Path]:
    """All three figures of one run into ``folder``; returns {name: path}."""
    paths = {
        "fit": folder / "fit.png",
        "residuals": folder / "residuals.png",
        "training_curve": folder / "training_curve.png",
    }
    plot_fit(estimator, train, test, source, paths["fit"])
    plot_residuals(estimator, train, test, paths["residuals"])
    plot_history(history, paths["training_curve"])
    return paths


def save_figure(fig, path: Path) -> None:
    """Lay out ``fig``, write it to ``path`` (PNG, 100 dpi; parent folders made) and close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
