"""What the command line's commands share: exit statuses, the guard against tracebacks, the
status kept behind a closed pipe, and the options and arguments several commands take.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from compiler import Compiled, load_compiled
from rulebook.diagnostics import Diagnostic, RulebookError, render
from rulebook.load import Rulebook, load
from validator.tally import DEFAULT_KEEP

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FINDINGS, EXIT_UNREADABLE = 0, 1, 2


def fail(message: str, code: int = EXIT_UNREADABLE) -> None:
    click.echo(f"rulebook: {message}", err=True)
    sys.exit(code)


class Outcome:
    """The exit status a command has settled on before it writes its output, so that a
    reader closing standard output early (``rulebook validate X | head``) does not turn
    findings into 0, 'accepted'."""

    status = EXIT_OK


def settle(status: int) -> int:
    Outcome.status = status
    return status


def guarded(fn: F) -> F:
    """Turn unexpected errors into a one-line message (the traceback with RULEBOOK_DEBUG=1);
    a closed standard output ends the command with the status it had settled on."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settle(EXIT_OK)
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            # what is still buffered for the closed pipe goes nowhere, not to an error at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, sys.stdout.fileno())
            sys.exit(Outcome.status)
        except KeyboardInterrupt:
            sys.exit(130)
        except Exception as exc:
            if os.environ.get("RULEBOOK_DEBUG"):
                traceback.print_exc()
            fail(f"internal error: {type(exc).__name__}: {exc}", 3)

    return wrapper  # type: ignore[return-value]


def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


def compiled_rulebook(
    path: str | None, failure: str = "the rulebook has errors (see above); run 'rulebook check'"
) -> Compiled:
    """The rulebook to use; its errors (paths from the current directory) and ``failure``
    end the command with status 2."""
    try:
        return load_compiled(path)
    except RulebookError as exc:
        book = load(path) if path else load()
        diags, sources = for_display(book, list(exc.diagnostics))
        click.echo(render(diags, sources), err=True)
        fail(failure)
        raise  # unreachable


def shown(book: Rulebook, name: str) -> str:
    """A source name as the user can open it from the current directory."""
    if book.root is None:
        return name
    path = book.root / name
    if not path.exists():
        path = Path(name)
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)


def for_display(book: Rulebook, diags: list[Diagnostic]) -> tuple[list[Diagnostic], dict[str, str]]:
    """Diagnostics and sources under the names the user can open."""
    out = []
    for d in diags:
        if d.span is not None:
            span = dataclasses.replace(d.span, file=shown(book, d.span.file))
            d = dataclasses.replace(d, span=span)
        out.append(d)
    return out, {shown(book, k): v for k, v in book.sources.items()}


rulebook_option = click.option(
    "--rulebook",
    "rulebook_dir",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="Rulebook directory (default: the rulebook shipped with this version).",
)


MAX_FINDINGS = click.option(
    "--max-findings",
    type=click.IntRange(0, None),
    default=DEFAULT_KEEP,
    show_default=True,
    metavar="N",
    help="Findings listed per code (the others counted in the summary; verdict, error rate "
    "and amounts count them all); 0: all listed.",
)
