"""Errors for people: one line, a non-zero exit, no traceback (unless ERMLAB_DEBUG=1)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

EXIT_USER_ERROR = 2

# What a user can cause with a config value or a data file: ValueError covers ConfigError,
# the data readers' errors and scikit-learn's parameter validation; RuntimeError covers a
# diverged training run; OSError a missing or unreadable file.
USER_ERRORS = (ValueError, RuntimeError, OSError)


def user_message(err: BaseException) -> str:
    """The first line of the error, prefixed by its type unless it is a ConfigError."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if type(err).__name__ == "ConfigError" else f"{type(err).__name__}: {text}"


def report(prog: str, err: BaseException) -> None:
    """Print ``<prog>: error: <one line>`` to stderr."""
    print(f"{prog}: error: {user_message(err)}", file=sys.stderr)


def exit_on_user_error(prog: str) -> Callable[[F], F]:
    """Decorate an entry point: a user error prints ``<prog>: error: <one line>`` to stderr and
    exits with status 2."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def inner(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except USER_ERRORS as err:
                if os.environ.get("ERMLAB_DEBUG"):
                    raise
                report(prog, err)
                sys.exit(EXIT_USER_ERROR)

        return inner  # type: ignore[return-value]

    return wrap
