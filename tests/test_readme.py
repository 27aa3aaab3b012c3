"""The README's example commands, run as written in a throw-away copy of the project.

Which lines run (the rule; a README author can rely on it):

* In fenced code blocks with no language or ``bash``/``sh``/``console``: every line whose
  command (after an optional ``$ ``) starts with ``ermlab `` or is ``dvc exp run ...`` /
  ``dvc exp show``. A trailing ``# comment`` is dropped. After a ``$ ermlab ...`` line, the
  lines up to the next ``$`` are its expected output and must appear in what it prints.
* Inline code spans anywhere in the text that start with ``ermlab `` and set something
  (``ermlab data=women split=none``; a bare ``ermlab -m`` in a sentence is no example).
* Each must exit 0, or 2 when its expected output is an ``ermlab: error:`` line.

Skipped, each for a stated reason (see :data:`SKIP`): ``make`` targets (CI runs ``make run``,
``make test``, ``make reproduce`` itself), the studies (``experiment=``: ``make reproduce``),
what needs a tracking server (``tracking=server``, ``ermlab-sync``: tests/test_server.py),
lines with placeholders (``<run id>``, ``FILE``, ``HOST``), other programs (``cp``, ``cd``,
``dvc queue``, ``dvc push``), queued experiments, and sweeps of more than
:data:`MAX_SWEEP_JOBS` jobs (minutes each; their code paths are the small sweeps').

Other helpers add README sections as the project grows: the test parses the README each time,
so their examples are picked up without editing this file.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import pytest
from tests.conftest import REPO, run_cmd

MAX_SWEEP_JOBS = 12
SKIP = {
    "experiment=": "a study: make reproduce runs every one",
    "tracking=server": "needs a tracking server: tests/test_server.py",
    "hydra/launcher=": "a launcher sweep against a server: tests/test_server.py",
    "<": "a placeholder",
    "FILE": "a placeholder",
    "HOST": "a placeholder",
    "points.csv": "the reader's own file",
    "--queue": "queued experiments run in `dvc queue start` workers",
}
FENCE = re.compile(r"^```(\w*)\s*$")
INLINE = re.compile(r"`(ermlab [^`]+)`")


def _sweep_jobs(command: str) -> int:
    """How many jobs ``ermlab -m ...`` launches: the product of the swept values' counts."""
    tokens = shlex.split(command)
    if "-m" not in tokens and "--multirun" not in tokens:
        return 1
    counts = []
    for token in tokens:
        _, _, value = token.partition("=")
        if value.startswith("range(") and value.endswith(")"):
            counts.append(len(range(*map(int, value[6:-1].split(",")))))
        elif "," in value and not value.startswith("["):
            counts.append(len(value.split(",")))
    return math.prod(counts)


def readme_examples(text: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for every example of the README ``text`` that the rule
    picks, before :data:`SKIP` and the sweep limit."""
    examples: list[tuple[str, list[str]]] = []
    in_block, language, output = False, "", None
    for line in text.splitlines():
        fence = FENCE.match(line.strip())
        if fence:
            in_block, language, output = not in_block, fence.group(1), None
            continue
        if not in_block:
            # A span with no override (`ermlab -m` in a sentence) names the command only.
            examples += [(span.strip(), []) for span in INLINE.findall(line) if "=" in span]
            continue
        if language not in ("", "bash", "sh", "console"):
            continue
        prompt = line.startswith("$ ")
        command = line.removeprefix("$ ").split(" #")[0].strip()
        if command.startswith(("ermlab ", "dvc exp run", "dvc exp show")):
            examples.append((command, []))
            output = examples[-1][1] if prompt else None
        elif prompt:
            output = None  # another program's prompt: not ours to check
        elif output is not None and line.strip():
            output.append(line.strip())
    return examples


def runnable(examples: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """The examples left after :data:`SKIP` and :data:`MAX_SWEEP_JOBS`, each once."""
    chosen = []
    for command, expected in examples:
        if any(marker in command for marker in SKIP):
            continue
        if _sweep_jobs(command) > MAX_SWEEP_JOBS:
            continue
        if (command, expected) not in chosen:
            chosen.append((command, expected))
    return chosen


def _parse() -> list[tuple[str, list[str]]]:
    return runnable(readme_examples((REPO / "README.md").read_text()))


def test_the_rule_finds_the_examples_and_skips_what_it_says():
    examples = _parse()
    commands = [c for c, _ in examples]
    assert any(c.startswith("ermlab -m ") for c in commands)  # a small sweep runs
    assert any(c.startswith("dvc exp run") for c in commands)
    assert not any("experiment=" in c or "<" in c for c in commands)
    assert _sweep_jobs("ermlab -m a=1,2,3 b=10,100 'seed=range(10)'") == 60
    errors = [out for c, out in examples if out]
    assert errors and all(out[0].startswith("ermlab: error:") for out in errors)


@pytest.mark.slow
def test_every_readme_example_runs_as_written(project: Path):
    failures = []
    for command, expected in _parse():
        proc = run_cmd(shlex.split(command), project, check=False)
        said = proc.stdout + proc.stderr
        wanted = 2 if expected and expected[0].startswith("ermlab: error:") else 0
        if proc.returncode != wanted or not all(line in said for line in expected):
            failures.append(f"{command}\n  exit {proc.returncode}, wanted {wanted}\n{said[-800:]}")
        if "Traceback" in said:
            failures.append(f"{command}\n  printed a traceback\n{said[-800:]}")
    assert not failures, "\n\n".join(failures)
