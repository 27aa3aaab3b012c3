"""The seed rule: one top-level ``seed``; every random draw derives from it.

The root ``numpy.random.SeedSequence(seed)`` is spawned into one child per purpose, always in
the order of :data:`STREAMS`, so adding a draw to one step never shifts the numbers another
step sees, and the DVC path and the in-process path draw the same numbers.
"""

from __future__ import annotations

import numpy as np

STREAMS = ("data", "split", "fit", "population")
# Named children of a stream, for draws that must stay independent of the stream's own:
# append only, the position is the spawn key.
SUBSTREAMS = {"split": ("kfold", "subsample"), "population": ("decomposition",)}


def seed_sequence(seed: int, stream: str, sub: str | None = None) -> np.random.SeedSequence:
    """The SeedSequence child of ``seed`` reserved for ``stream`` (one of :data:`STREAMS`), or
    its named child ``sub`` (one of ``SUBSTREAMS[stream]``)."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}: one of {STREAMS}")
    root = np.random.SeedSequence(seed).spawn(len(STREAMS))[STREAMS.index(stream)]
    if sub is None:
        return root
    names = SUBSTREAMS.get(stream, ())
    if sub not in names:
        raise ValueError(f"unknown sub-stream {sub!r} of {stream!r}: one of {names}")
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, names.index(sub)))


def rng(seed: int, stream: str, sub: str | None = None) -> np.random.Generator:
    """A fresh numpy Generator for ``stream`` (or its named child ``sub``)."""
    return np.random.default_rng(seed_sequence(seed, stream, sub))


def int_seed(seed: int, stream: str) -> int:
    """A 31-bit integer for libraries that take an int (``random_state``, ``torch.manual_seed``)."""
    return int(seed_sequence(seed, stream).generate_state(1)[0] & 0x7FFFFFFF)
