"""What every data source produces, and what a synthetic source can do beyond that."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np


class DataError(ValueError):
    """A data file or sample cannot be used. One line: the file (or source), the column or row,
    and what was expected."""


@dataclass(frozen=True)
class Dataset:
    """A sample: inputs ``X`` of shape (n, p), targets ``y`` of shape (n,).

    ``n_test`` is the number of held-out points the source suggests (a synthetic source draws
    ``n_train + n_test`` points); ``None`` for real data, where the split decides.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    source: str
    task: str = "regression"
    n_test: int | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.y.ndim != 1 or len(self.X) != len(self.y):
            raise ValueError(
                f"dataset {self.source}: X must be (n, p) and y (n,), got {self.X.shape} and "
                f"{self.y.shape}"
            )

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: np.ndarray) -> Dataset:
        """The rows ``index`` (an integer array), same metadata."""
        return self.with_rows(self.X[index], self.y[index])

    def with_rows(self, X: np.ndarray, y: np.ndarray) -> Dataset:
        """Other rows X (m, p), y (m,) with this dataset's metadata (a training or test part:
        ``n_test`` is dropped)."""
        return Dataset(
            np.asarray(X, dtype=float),
            np.asarray(y),
            self.feature_names,
            self.target_name,
            self.source,
            self.task,
            None,
            self.meta,
        )

    def save(self, path: Path) -> None:
        """Write to ``.npz`` (exact float round trip, no pickle), atomically, with the entries
        of ``meta`` a later stage reads (:data:`SAVED_META`) as JSON; not the others: a file's
        absolute ``path`` would make the bytes, and so DVC's hashes, depend on where the
        project is checked out."""
        from ermlab.paths import atomic_path

        with atomic_path(path) as tmp:
            np.savez(
                tmp,
                X=self.X,
                y=self.y,
                feature_names=np.array(self.feature_names),
                target_name=self.target_name,
                source=self.source,
                task=self.task,
                n_test=-1 if self.n_test is None else self.n_test,
                meta=_meta_json(self.meta),
            )

    @classmethod
    def load(cls, path: Path) -> Dataset:
        with np.load(path, allow_pickle=False) as f:
            n_test = int(f["n_test"])
            return cls(
                f["X"],
                f["y"],
                tuple(str(s) for s in f["feature_names"]),
                str(f["target_name"]),
                str(f["source"]),
                str(f["task"]),
                None if n_test < 0 else n_test,
                json.loads(str(f["meta"])) if "meta" in f.files else {},
            )


# What the fit stage reads of a dataset's meta (a NIST file's model, a classification's labels).
SAVED_META = ("fit_intercept", "model", "classes")


def _meta_json(meta: dict) -> str:
    """The :data:`SAVED_META` entries of ``meta``, as one JSON object."""
    return json.dumps({k: meta[k] for k in SAVED_META if k in meta}, sort_keys=True)


@runtime_checkable
class Population(Protocol):
    """A synthetic source: it knows p(x) and p(y|x).

    ``task`` is ``"regression"`` or ``"classification"``; a classification source also has
    ``classes`` (= arange(k), labels 0..k−1) and ``bayes_proba(X)`` (n, k), the posterior.
    """

    task: str
    feature_names: tuple[str, ...]
    target_name: str

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` fresh i.i.d. points: X (n, p), y (n,)."""

    def sample_chunks(
        self, n: int, rng: np.random.Generator, chunk: int = 1_000_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``n`` i.i.d. points as consecutive chunks of at most ``chunk`` rows (bounded memory):
        the same distribution as :meth:`sample`, deterministic for a seed and chunk size, and
        the very same numbers when ``n <= chunk``."""

    def sample_at(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Targets y (n,) drawn from p(y | x) at given inputs X (n, p) (fixed designs)."""

    def grid(self, n: int) -> np.ndarray:
        """``n`` evenly spaced inputs over the input range, shape (n, 1) (one-input sources;
        others raise DataError)."""

    def bayes_predict(self, X: np.ndarray) -> np.ndarray:
        """The Bayes predictor, shape (n,): E[y | x] for regression (squared loss), the most
        probable class for classification (zero-one loss)."""

    def bayes_risk(self, loss: str) -> float | None:
        """The Bayes risk for ``loss``: ``"mse"``, ``"mae"``, ``"gaussian_nll"`` (regression),
        ``"zero_one"``, ``"cross_entropy"`` (classification); ``None`` where it does not apply."""
