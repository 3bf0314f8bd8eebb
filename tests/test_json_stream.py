"""JSON written as it is encoded (validator.json_stream): exactly json.dumps' text."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler import Compiled
from validator import validate
from validator.json_stream import BATCH, LONG, LazyList, compact, json_text, materialised
from validator.report import text_lines, to_text

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)  # any character: quotes, backslashes, newlines, non-ASCII
)


# keys json writes as strings
other_keys = (
    st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False, allow_infinity=False)
)


def with_lazy(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return (
        st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=6), children, max_size=5)
        | st.dictionaries(other_keys, children, max_size=3)
        | st.lists(children, max_size=5).map(lambda items: LazyList(items, lambda x: x))
        # a lazy list made of pairs: what it writes is not what it holds
        | st.lists(children, max_size=4).map(lambda items: LazyList(items, lambda x: [x, x]))
    )


values = st.recursive(scalars, with_lazy, max_leaves=40)


def dumps(value: Any, indent: int | None) -> str:
    separators = (",", ":") if indent is None else None
    return json.dumps(
        value, ensure_ascii=False, allow_nan=False, indent=indent, separators=separators
    )


@settings(max_examples=300, deadline=None)
@given(values, st.sampled_from([None, 2, 4]))
def test_the_text_is_json_dumps_of_the_made_value(value: Any, indent: int | None) -> None:
    expected = dumps(materialised(value), indent)
    assert "".join(json_text(value, indent)) == expected
    if indent is None:
        assert compact(value) == expected


@pytest.mark.parametrize("indent", [None, 2])
def test_long_lists_and_lazy_lists_come_in_pieces(indent: int | None) -> None:
    """A long list is written a batch of items at a time: pieces of about the size asked,
    never the whole text at once; a lazy list's items are made only as they are written."""
    made: list[int] = []

    def make(i: int) -> dict[str, Any]:
        made.append(i)
        return {"n": i, "text": 'é\n"' * 20}

    plain = [{"k": "v" * 50}] * (LONG + 1)
    value = {"head": 1, "plain": plain, "lazy": LazyList(range(2000), make)}
    pieces = json_text(value, indent, piece=4096)
    first = next(pieces)
    assert len(made) <= 2 * BATCH  # the lazy list has not been made whole to write the start
    rest = list(pieces)
    assert len(made) == 2000
    assert max(len(p) for p in [first, *rest]) < 4096 + BATCH * 200  # a piece and a batch
    assert len(rest) > 20
    assert first + "".join(rest) == dumps(materialised(value), indent)


def test_out_of_range_floats_are_refused_as_json_does() -> None:
    for indent in (None, 2):
        with pytest.raises(ValueError, match="JSON compliant"):
            "".join(json_text({"a": LazyList([float("nan")], float)}, indent))
        with pytest.raises(ValueError, match="JSON compliant"):
            "".join(json_text([float("inf")] * (LONG + 1), indent))


def test_a_report_written_lazily_is_its_json(compiled: Compiled) -> None:
    """A report with findings, named to look like the findings key, written both ways."""
    from benchmarks.bigfile import build_broken

    body = build_broken(compiled, 60, mutualities=2)
    name = 'x", "findings": [], "y": "\n'
    report = validate(compiled, io.BytesIO(body), name=name)
    assert len(report.findings) > 100
    lazy = report.to_json(lazy=True)
    assert isinstance(lazy["findings"], LazyList)
    for indent in (None, 2):
        assert "".join(json_text(lazy, indent)) == dumps(report.to_json(), indent)
    assert "".join(text_lines(report)) == to_text(report)
    assert sum(1 for _ in text_lines(report)) > 4 * len(report.findings) // 2
