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


_ITEM = object()  # the "key" of a list's items
LONG = 64  # a list longer than this is written item by item (its text is never whole)


def _piecewise(value: Any) -> bool:
    """Whether the value holds a lazy list or a long list: written part by part."""
    if isinstance(value, LazyList):
        return True
    if isinstance(value, dict):
        return any(_piecewise(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return len(value) > LONG or any(_piecewise(v) for v in value)
    return False


def _encode(value: Any, indent: int | None, level: int) -> Iterator[str]:
    """The pieces of ``value`` written at nesting ``level`` (what follows a newline inside
    it is indented for that level, as ``json.dumps`` does for a nested value)."""
    if not _piecewise(value):
        yield from _plain(value, indent, level)
        return
    items: Iterator[tuple[object, Any]]
    if isinstance(value, dict):
        opening, closing = "{", "}"
        items = iter(value.items())
    else:
        opening, closing = "[", "]"
        items = ((_ITEM, v) for v in value)
    first = next(items, None)
    if first is None:
        yield opening + closing
        return
    key_sep = ":" if indent is None else ": "
    inner = "" if indent is None else "\n" + " " * (indent * (level + 1))
    yield opening
    item: tuple[object, Any] | None = first
    separator = inner
    while item is not None:
        key, element = item
        yield separator if key is _ITEM else separator + _key(key) + key_sep
        yield from _encode(element, indent, level + 1)
        separator = "," + inner
        item = next(items, None)
    yield closing if indent is None else "\n" + " " * (indent * level) + closing


def _plain(value: Any, indent: int | None, level: int) -> Iterator[str]:
    """A value without lazy lists: one ``json.dumps`` when compact (C encoder); indented,
    written here (the standard library's indenting encoder is pure Python and slower)."""
    if indent is None:
        yield json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
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
    elif isinstance(value, (list, tuple)):
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
