"""The parser facade: located syntax errors, hints, recovery, and totality."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rulebook.diagnostics import render
from rulebook.load import load_text
from rulebook.parse import parse_source, parser

RULE = "rule 100703 B on ET10 zone 7\n  require sending_number != 0\n"


def test_grammar_has_no_terminal_collisions_or_conflicts() -> None:
    from lark import Lark

    from rulebook.parse import grammar_text

    Lark(grammar_text(), parser="lalr", strict=True)  # raises on any collision or conflict


def test_a_rule_parses_to_an_ast_with_spans() -> None:
    source, diags = parse_source(RULE, "x.rules")
    assert diags == []
    (rule,) = source.items
    assert rule.code == "100703"  # type: ignore[union-attr]
    assert (rule.span.line, rule.span.column) == (1, 1)
    assert rule.require.span.line == 2  # type: ignore[union-attr]


def test_every_broken_item_is_reported_not_only_the_first() -> None:
    text = (
        "rule 100110 B on ET10 zone 1\n  require order_number == 1\n\n"
        "rule 100111 B on ET10\n  require x = 1\n\n" + RULE
    )
    source, diags = parse_source(text, "x.rules")
    assert [(d.code, d.span.line if d.span else 0) for d in diags] == [
        ("unexpected-token", 2),
        ("unexpected-token", 5),
    ]
    assert len(source.items) == 1  # the good rule still parsed


def test_common_mistakes_get_a_hint() -> None:
    _, diags = parse_source("rule 100110 B on ET10 zone 1\n  require order_number == 1\n", "x")
    assert diags[0].hint == "equality is written '=' (and inequality '!=')"
    _, diags = parse_source("rule 100110 B on ET10\n  require x = 1\n", "x")
    assert diags[0].hint and "zone" in diags[0].hint


def test_rendering_shows_location_code_and_caret() -> None:
    text = "rule 100110 B on ET10 zone 1\n  require order_number == 1\n"
    _, diags = parse_source(text, "x.rules")
    rendered = render(diags, {"x.rules": text})
    first = rendered.splitlines()[0]
    assert first.startswith("x.rules:2:25: error: ") and first.endswith("[unexpected-token]")
    assert "^" in rendered


def test_parser_is_built_once() -> None:
    assert parser() is parser()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_text_gives_an_ast_or_diagnostics_never_a_crash(text: str) -> None:
    book = load_text(text, "fuzz.rules")
    assert all(d.code and d.message for d in book.diagnostics)


KEYWORDS = [
    "rule",
    "on",
    "zone",
    "require",
    "when",
    "from",
    "until",
    "ET10",
    "ET20",
    "B",
    "=",
    "(",
    ")",
    "sum",
    "count",
    "within",
    "invoice",
    "previous",
    "next",
    "this",
    ".",
    ",",
    ":",
    "1",
    "2015-01",
    '"x"',
    "and",
    "or",
    "not",
    "in",
    "if",
    "then",
    "else",
    "[",
    "]",
    "..",
    "fills",
    "mutant",
    "set",
    "record",
    "table",
    "values",
    "\n",
    "\n  ",
    " ",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(KEYWORDS), max_size=40))
def test_token_soup_never_crashes_the_compiler(tokens: list[str]) -> None:
    from compiler import compile_rulebook
    from rulebook.diagnostics import RulebookError

    book = load_text(" ".join(tokens), "soup.rules")
    try:
        compile_rulebook(book)
    except RulebookError as exc:
        assert all(d.code and d.message for d in exc.diagnostics)
