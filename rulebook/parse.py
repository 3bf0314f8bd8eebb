"""Parsing: rulebook source text -> AST items plus syntax diagnostics.

Input: the text of one ``.rules`` or ``.layout`` file.
Output: ``syntax.SourceFile`` (the items that parsed) and the diagnostics of those that did not.

A file is split into items first: an item starts in column 1 with a keyword and runs until
the next line that starts in column 1. Each item is parsed on its own with the LALR parser, so
a broken item costs one diagnostic and never hides the others (lark's ``find_grammar_errors``
idea, at item granularity). Every lark exception is turned into a ``Diagnostic``.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass

import lark
from lark import (
    Lark,
    Token,
    Tree,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

from rulebook import syntax
from rulebook.diagnostics import Diagnostic, did_you_mean, error
from rulebook.spans import Span
from rulebook.to_ast import AstBuilder

ITEM_KEYWORDS = frozenset(
    {
        "codes",
        "release",
        "message",
        "record",
        "segment",
        "block",
        "table",
        "parameter",
        "charmap",
        "date",
        "code",
        "rule",
        "derive",
        "amounts",
        "question",
        "tolerance",
    }
)


def grammar_text() -> str:
    return importlib.resources.files("rulebook").joinpath("grammar.lark").read_text("utf-8")


@functools.cache
def parser() -> Lark:
    """The LALR parser, built on first use (a cached rulebook never needs it).

    The grammar is free of terminal collisions and LALR conflicts: a test builds it with
    ``strict=True`` (which needs lark's interegular extra and doubles the build time), so
    the runtime parser skips that check.
    """
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, cache=_cache_file())


def _cache_file() -> str | bool:
    """Lark's analysed grammar is cached next to the compiled rulebooks when their directory
    can be trusted (lark's cache is a pickle too: see ``compiler.cache``)."""
    from compiler import cache_dir  # late: compiler imports this module
    from compiler.cache import trusted

    folder = cache_dir()
    if trusted(folder) is None:
        return False
    return str(folder / f"lark-{lark.__version__}.cache")


# Human names for terminals in "expected …" messages.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUM": "a number",
    "STRING": 'a quoted label "…"',
    "RECNAME": "a record name (e.g. ET20)",
    "DATE": "a date (YYYY-MM-DD)",
    "PERIOD": "a month (YYYY-MM)",
    "ENVCODE": "an envelope code (e.g. 301-40)",
    "RBCODE": "a reader code (e.g. RB0001)",
    "VERSION": "a version (e.g. 2026.1)",
    "$END": "the end of the item",
}

# Common mistakes, recognised by the parser state they leave (lark ``match_examples``).
SYNTAX_HINTS: dict[str, list[str]] = {
    "a rule names the zone it applies to: 'rule 100110 B on ET10 zone 2'": [
        "rule 100110 B on ET10 require x = 1",
        "rule 100110 B on ET10 when x = 1 require y = 1",
    ],
    "equality is written '=' (and inequality '!=')": [
        "rule 100110 B on ET10 zone 2 require x == 1",
        "date d = x == 1",
    ],
    "a zone gives its type (N, A, S or D), its length and '@' with its start position": [
        "record ET10 length 350 zone 7 sending_number 3 @33",
        "record ET10 length 350 zone 7 sending_number N 3 33",
    ],
    "a rule needs a 'require' clause (and optional 'when', 'fr', 'nl', 'fills', 'mutant')": [
        "rule 100110 B on ET10 zone 2",
        "rule 100110 B on ET10 zone 2 from 2015-01",
    ],
    'labels are written "français" / "nederlands"': [
        'record ET10 "a" "b" length 350',
        'table t "a" "b" values 1',
    ],
}


@dataclass(frozen=True, slots=True)
class _Chunk:
    first_line: int  # 1-based line of the item's first line
    text: str


def split_items(text: str, path: str) -> tuple[list[_Chunk], list[Diagnostic]]:
    """Split a source into items; lines in column 1 that start no item are diagnosed."""
    chunks: list[_Chunk] = []
    diags: list[Diagnostic] = []
    current: list[str] | None = None
    start = 0
    skipping = False
    for number, line in enumerate(text.splitlines(), start=1):
        starts_item = bool(line) and not line[0].isspace() and not line.startswith("#")
        if starts_item:
            if current is not None:
                chunks.append(_Chunk(start, "\n".join(current)))
                current = None
            word = line.split(None, 1)[0]
            if word in ITEM_KEYWORDS:
                current, start, skipping = [line], number, False
            else:
                if not skipping:
                    hint = did_you_mean(word, ITEM_KEYWORDS) or (
                        "continuation lines of an item are indented"
                    )
                    diags.append(
                        error(
                            "stray-text",
                            f"'{word}' does not start an item (expected one of: "
                            f"{', '.join(sorted(ITEM_KEYWORDS))})",
                            Span(
                                file=path,
                                line=number,
                                column=1,
                                end_line=number,
                                end_column=len(word) + 1,
                            ),
                            hint,
                        )
                    )
                skipping = True
        elif current is not None:
            current.append(line)
    if current is not None:
        chunks.append(_Chunk(start, "\n".join(current)))
    return chunks, diags


def _expected_words(expected: set[str]) -> str:
    words = sorted({_TERMINAL_WORDS.get(t, _literal_word(t)) for t in expected})
    shown = words[:6]
    more = " …" if len(words) > 6 else ""
    return ", ".join(shown) + more


def _literal_word(terminal: str) -> str:
    known = {t.name for t in parser().terminals}
    pattern = parser().get_terminal(terminal).pattern if terminal in known else None
    if pattern is not None and pattern.type == "str":
        return f"'{pattern.value}'"
    return terminal.lower()


def _hint_for(exc: UnexpectedInput, parse: Callable[[str], Tree[Token]]) -> str | None:
    try:
        found = exc.match_examples(parse, SYNTAX_HINTS, use_accepts=True)
    except Exception:  # match_examples is best effort: a hint must never break parsing
        return None
    return found if isinstance(found, str) else None


def _syntax_diagnostic(exc: UnexpectedInput, chunk: _Chunk, path: str) -> Diagnostic:
    line = chunk.first_line + max(exc.line, 1) - 1
    column = max(exc.column, 1)
    hint = _hint_for(exc, parser().parse)
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = chunk.text[pos] if pos < len(chunk.text) else "?"
        return error(
            "unexpected-character",
            f"unexpected character {char!r}",
            Span.point(path, line, column),
            hint,
        )
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        expected = _expected_words(set(exc.expected)) if exc.expected else "more input"
        last = chunk.text.rstrip().splitlines() or [""]
        end_line = chunk.first_line + len(last) - 1
        return error(
            "unexpected-end",
            f"the item ends too early; expected {expected}",
            Span.point(path, end_line, len(last[-1]) + 1),
            hint,
        )
    assert isinstance(exc, UnexpectedToken)
    token: Token = exc.token
    width = max(len(str(token)), 1)
    if hint is None and exc.expected:  # a misspelt keyword: the one it resembles
        words = [w.strip("'") for w in (_literal_word(t) for t in exc.expected)]
        hint = did_you_mean(str(token), [w for w in words if w.isalpha()])
    return error(
        "unexpected-token",
        f"unexpected {str(token)!r}; expected {_expected_words(set(exc.expected))}",
        Span(file=path, line=line, column=column, end_line=line, end_column=column + width),
        hint,
    )


def parse_source(text: str, path: str) -> tuple[syntax.SourceFile, list[Diagnostic]]:
    """Parse one source file; returns the items that parsed and all diagnostics."""
    chunks, diags = split_items(text, path)
    items: list[syntax.Item] = []
    for chunk in chunks:
        try:
            tree = parser().parse(chunk.text)
        except UnexpectedInput as exc:
            diags.append(_syntax_diagnostic(exc, chunk, path))
            continue
        builder = AstBuilder(path, chunk.first_line - 1)
        assert isinstance(tree, Tree)
        item = builder.build(tree)
        diags.extend(builder.diagnostics)
        if item is not None:
            items.append(item)
    return syntax.SourceFile(path=path, items=tuple(items)), diags
