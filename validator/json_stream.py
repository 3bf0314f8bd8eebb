"""JSON text written as it is encoded, with lists whose items are made only when written.

Input: a JSON value (dicts, lists, strings, numbers, ``None``) in which some lists are
``LazyList``: a sequence and the function that turns each of its elements into a JSON value.
Output: ``json_text(value, indent)``: the text of ``json.dumps`` of the value with every lazy
list made a list, in pieces: ``indent=None`` gives the compact form the service sends
(``separators=(",", ":")``, as ``JSONResponse``), an integer the indented form of the CLI.
Each item of a lazy list is made and encoded when its turn comes, so a report's findings
never exist all at once as dictionaries nor as one text (a file broken on every record has
about seven findings a record, ~1 KB each as a dictionary).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LazyList:
    """A JSON list of ``make(item)`` for each item of ``items``, made when it is written."""

    items: Sequence[Any]
    make: Callable[[Any], Any]

    def __iter__(self) -> Iterator[Any]:
        return map(self.make, self.items)

    def made(self) -> list[Any]:
        return list(self)


def materialised(value: Any) -> Any:
    """The value with every lazy list made a list (what ``json_text`` writes)."""
    if isinstance(value, LazyList):
        return [materialised(v) for v in value]
    if isinstance(value, dict):
        return {k: materialised(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [materialised(v) for v in value]
    return value


def compact(value: Any) -> str:
    """``json_text(value)`` in one piece, without looking for long lists first: for values
    known to be small (a report with few findings: the service's usual answer)."""
    return _COMPACT.encode(value)


def json_text(value: Any, indent: int | None = None, piece: int = 1 << 16) -> Iterator[str]:
    """``json.dumps(materialised(value), ensure_ascii=False, allow_nan=False, indent=indent)``
    (compact separators when ``indent`` is None) in pieces of about ``piece`` characters."""
    pending: list[str] = []
    size = 0
    for text in _encode(value, indent, 0):
        pending.append(text)
        size += len(text)
        if size >= piece:
            yield "".join(pending)
            pending.clear()
            size = 0
    if pending:
        yield "".join(pending)


LONG = 64  # a list longer than this is written BATCH items at a time (its text is never whole)


def _piecewise(value: Any) -> bool:
    """Whether the value holds a long list, lazy or not: written part by part. A short lazy
    list is made when written with the rest (in one ``json.dumps`` when compact); what its
    items hold is not looked at (at worst written whole: the same text)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, LazyList):
            if len(item.items) > LONG:
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            if len(item) > LONG:
                return True
            stack.extend(item)
    return False


def _made(value: object) -> list[Any]:
    """``json.dumps``' hook for a lazy list inside a value written whole."""
    if isinstance(value, LazyList):
        return value.made()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# the service's form (as JSONResponse), made once: json.dumps with options makes one per call
_COMPACT = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_made
)


def _encode(value: Any, indent: int | None, level: int) -> Iterator[str]:
    """The pieces of ``value`` written at nesting ``level`` (what follows a newline inside
    it is indented for that level, as ``json.dumps`` does for a nested value)."""
    if not _piecewise(value):
        yield from _plain(value, indent, level)
        return
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    closing = "" if indent is None else "\n" + " " * (indent * level)
    if isinstance(value, dict):
        key_sep = ":" if indent is None else ": "
        separator = "{" + inner
        for key, element in value.items():
            yield separator + _key(key) + key_sep
            yield from _encode(element, indent, level + 1)
            separator = "," + inner
        yield closing + "}"
        return
    items = iter(value)
    if len(value.items if isinstance(value, LazyList) else value) <= LONG:
        separator = "[" + inner  # a short list holding long ones: each item in pieces
        for element in items:
            yield separator
            yield from _encode(element, indent, level + 1)
            separator = "," + inner
        yield closing + "]"
        return
    # a long list: its items written a batch at a time, each whole
    separator = "[" + inner
    while batch := list(itertools.islice(items, BATCH)):
        if indent is None:
            yield separator + _COMPACT.encode(batch)[1:-1]
        else:
            out: list[str] = []
            for element in batch:
                out.append(separator)
                _indented(element, indent, level + 1, out)
                separator = "," + inner
            yield "".join(out)
        separator = "," + inner
    yield closing + "]"


BATCH = 64  # items of a long list encoded at once


def _plain(value: Any, indent: int | None, level: int) -> Iterator[str]:
    """A value without lazy lists: one ``json.dumps`` when compact (C encoder); indented,
    written here (the standard library's indenting encoder is pure Python and slower)."""
    if indent is None:
        yield _COMPACT.encode(value)
        return
    out: list[str] = []
    _indented(value, indent, level, out)
    yield "".join(out)


_encode_string = json.encoder.encode_basestring  # the C one where it exists (no ASCII escape)


def _key(key: object) -> str:
    """A dictionary key as JSON writes it: numbers, booleans and None as their JSON text."""
    return _encode_string(key if isinstance(key, str) else json.dumps(key, allow_nan=False))


def _indented(value: Any, indent: int, level: int, out: list[str]) -> None:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False, indent=indent)`` nested at
    ``level``, appended to ``out``."""
    if isinstance(value, str):
        out.append(_encode_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = "\n" + " " * (indent * (level + 1))
        separator = "{" + inner
        for key, element in value.items():
            out.append(separator)
            out.append(_key(key))
            out.append(": ")
            _indented(element, indent, level + 1, out)
            separator = "," + inner
        out.append("\n" + " " * (indent * level) + "}")
    elif isinstance(value, (list, tuple, LazyList)):
        if isinstance(value, LazyList):
            value = value.made()
        if not value:
            out.append("[]")
            return
        inner = "\n" + " " * (indent * (level + 1))
        separator = "[" + inner
        for element in value:
            out.append(separator)
            _indented(element, indent, level + 1, out)
            separator = "," + inner
        out.append("\n" + " " * (indent * level) + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
