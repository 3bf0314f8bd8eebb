"""Source positions in rulebook files.

Input: a file name and line/column coordinates (1-based, as editors show them).
Output: ``Span`` values carried by every AST node, IR node and compiled check, and the
caret excerpt used when a diagnostic is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """A region of a rulebook source file (1-based lines and columns, end exclusive)."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @staticmethod
    def point(file: str, line: int, column: int) -> Span:
        """A zero-width span at one position."""
        return Span(file=file, line=line, column=column, end_line=line, end_column=column + 1)


def excerpt(source: str, span: Span) -> str:
    """Return the source line of ``span`` followed by a caret line under the region."""
    lines = source.splitlines()
    if not 1 <= span.line <= len(lines):
        return ""
    text = lines[span.line - 1].expandtabs(1)
    start = max(span.column - 1, 0)
    if span.end_line == span.line:
        width = max(span.end_column - span.column, 1)
    else:
        width = max(len(text) - start, 1)
    width = min(width, max(len(text) - start, 1))
    return f"{text}\n{' ' * start}{'^' * width}"
