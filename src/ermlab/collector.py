"""When Python's cyclic garbage collector runs in ermlab's commands.

CPython collects every generation each time the heap has grown by about a quarter. An ermlab
command imports Hydra, scikit-learn, SciPy and MLflow: some 400,000 objects that live as long
as the process, and next to no garbage. Start-up therefore runs several full collections, each
walking every object imported so far (0.1-0.25 s each on this machine, five in a sweep's
start-up), for nothing.

So a command starts with the collector paused (:func:`pause`, the first thing its ``main``
does) and resumes it where its work starts (:func:`resume`): everything alive then is moved
to the permanent generation (``gc.freeze``), which later collections skip, and the collector
is switched on again. The work itself (a sweep's jobs, a fit) is collected as usual; only the
objects made before it, imports mostly, are never walked again. A process that did not pause
(a notebook importing ermlab) is left as it is.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Switch the collector off for the start-up of a command (until :func:`resume`)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Where a command's work starts: freeze what exists and switch the collector on again,
    if :func:`pause` switched it off (otherwise nothing)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
