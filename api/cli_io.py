"""Reading the command line's inputs and writing its outputs: files or standard input opened
with located errors, JSON and text written in pieces as they are made, and a progress bar on
a terminal only.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

import click

from api.cli_common import fail
from validator.json_stream import json_text

__all__ = [
    "echo_json",
    "echo_pieces",
    "input_stream",
    "interactive",
    "open_input",
    "progress",
    "read_input",
]


def open_input(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except IsADirectoryError:
        fail(f"{path} is a directory, not a file")
    except FileNotFoundError:
        fail(f"{path} does not exist")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    raise AssertionError  # unreachable


@contextmanager
def input_stream(path: str) -> Iterator[BinaryIO]:
    """The input opened (``-``: standard input); a read error while it is used fails with a
    located message; closed afterwards (standard input stays open)."""
    stream = open_input(path)
    try:
        yield stream
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
        raise
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def echo_json(payload: object) -> None:
    """``payload`` as indented JSON on standard output, written as it is encoded: the same
    text as ``json.dumps(payload, ensure_ascii=False, indent=2)`` and a newline, without
    holding it whole (a report of 733,310 findings is 368 MB of text), its lazy lists
    (``validator.json_stream``: a report's findings) made item by item."""
    echo_pieces(itertools.chain(json_text(payload, indent=2), ["\n"]))


def echo_pieces(pieces: Iterable[str]) -> None:
    """Text on standard output in writes of about ECHO_BATCH characters."""
    pending: list[str] = []
    size = 0
    for piece in pieces:
        pending.append(piece)
        size += len(piece)
        if size >= ECHO_BATCH:
            click.echo("".join(pending), nl=False)
            pending.clear()
            size = 0
    click.echo("".join(pending), nl=False)


ECHO_BATCH = 1 << 16  # characters written at once


def read_input(path: str) -> bytes:
    with input_stream(path) as stream:
        return stream.read()


def interactive() -> bool:
    """Whether a person watches: standard output and standard error both terminals (never a
    pipe, a file or a CI log)."""
    return sys.stdout.isatty() and sys.stderr.isatty()


@contextmanager
def progress(label: str, total: int | None, *, show: bool = True) -> Iterator[Any]:
    """A progress bar on standard error (rich) when ``show`` and a person watches; yields a
    function ``advance(n=1)``. Otherwise nothing is drawn and ``advance`` does nothing."""
    if not (show and interactive()):
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TimeElapsedColumn,
    )

    columns: list[str | ProgressColumn] = [
        "{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)
