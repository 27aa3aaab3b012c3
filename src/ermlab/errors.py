"""Errors for people: one line, a non-zero exit, no traceback (unless ERMLAB_DEBUG=1)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from ermlab import signals

F = TypeVar("F", bound=Callable)

EXIT_USER_ERROR = 2

# What a user can cause with a config value or a data file: ValueError covers ConfigError,
# the data readers' errors and scikit-learn's parameter validation; RuntimeError covers a
# diverged training run; OSError a missing or unreadable file.
USER_ERRORS = (ValueError, RuntimeError, OSError)


class CopiedError(Exception):
    """A copy of an error that cannot be pickled, made where it was raised (a sweep's worker
    sends its job's error back pickled): its message is the original's :func:`user_message`,
    its notes the original's."""


def copied_if_unpicklable(err: BaseException) -> BaseException:
    """``err`` itself if pickling gives it back, else its :class:`CopiedError`: one that does
    not come back (an ``__init__`` of other arguments than its ``args``) would break the pool
    of worker processes that sends it, and every other job with it."""
    import pickle

    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        copied = CopiedError(user_message(err))
        for note in getattr(err, "__notes__", None) or []:
            copied.add_note(note)
        return copied


def user_message(err: BaseException) -> str:
    """The first line of the error, prefixed by its type unless it is one of ermlab's own
    (ConfigError, DataError, ...: their messages name the key or file and what is allowed, and
    the class name would only be jargon) or a :class:`CopiedError`, whose message has its
    original's type. Another library's error keeps its type (``ValueError: ...``): its
    message may not say what kind of failure it is."""
    text = " ".join(str(err).split()) or type(err).__name__
    if type(err).__module__.startswith("ermlab.") or isinstance(err, CopiedError):
        return text
    return f"{type(err).__name__}: {text}"


def did_you_mean(name: str, names: Sequence[str]) -> str:
    """``"did you mean <the closest of names>? "`` when one is close to ``name``, else ``""``:
    the hint before a list of what is allowed."""
    import difflib

    close = difflib.get_close_matches(name, list(names), n=1)
    return f"did you mean {close[0]}? " if close else ""


def report(prog: str, err: BaseException) -> None:
    """Print ``<prog>: error: <one line>`` to stderr."""
    print(f"{prog}: error: {user_message(err)}", file=sys.stderr)


def show_warnings_in_one_line(prog: str) -> Callable:
    """Print each warning as ``<prog>: warning: <one line>`` on stderr, as errors are printed
    (:func:`report`), instead of Python's two lines: the file and line that warned, then the
    warning code's own source line, which mean nothing to a user. Another library's warning
    keeps its type and all of its text (``ConvergenceWarning: lbfgs failed to converge ...
    Increase the number of iterations ...``): its advice is the point. Returns the
    ``showwarning`` it replaced."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        warning = message if isinstance(message, Warning) else category(message)
        print(f"{prog}: warning: {user_message(warning)}", file=file or sys.stderr)

    replaced, warnings.showwarning = warnings.showwarning, show
    return replaced


def exit_on_user_error(prog: str) -> Callable[[F], F]:
    """Decorate an entry point: a user error prints ``<prog>: error: <one line>`` to stderr and
    exits with status 2; a warning prints in one line too (:func:`show_warnings_in_one_line`)."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(*args, **kwargs):
            import warnings

            replaced = show_warnings_in_one_line(prog)
            try:
                return func(*args, **kwargs)
            except USER_ERRORS as err:
                signals.raise_if_interrupted(err)
                if os.environ.get("ERMLAB_DEBUG"):
                    raise
                report(prog, err)
                sys.exit(EXIT_USER_ERROR)
            finally:  # an entry point called in-process (a test) leaves Python's as it was
                warnings.showwarning = replaced

        return inner  # type: ignore[return-value]

    return wrap
