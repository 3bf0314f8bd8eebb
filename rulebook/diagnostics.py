"""Compiler diagnostics: one type, stable codes, GCC-style rendering.

Input: facts found by the parser, the semantic checks and the compiler passes.
Output: ``Diagnostic`` values (never exceptions inside a pass); ``RulebookError`` carries them
across API boundaries; ``render`` prints ``file:line:col: error: message [code]`` plus a caret
excerpt.

Every code below is documented in the README table (a test keeps them in sync). Codes are
never reused for another meaning.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rulebook.spans import Span, excerpt


class Severity(enum.Enum):
    """How bad a diagnostic is: errors stop the pipeline, warnings flow through."""

    ERROR = "error"
    WARNING = "warning"


CODES: dict[str, str] = {
    # reading and syntax
    "io-error": "a rulebook source file or directory cannot be read",
    "bad-encoding": "a rulebook source file is not valid UTF-8",
    "unexpected-character": "a character that cannot start any token",
    "unexpected-token": "a token the grammar does not allow at this place",
    "unexpected-end": "an item ends before it is complete",
    "stray-text": "text outside any item (items start in column 1 with a keyword)",
    "bad-literal": "a number, date, period or code literal that is malformed",
    # names
    "unknown-record": "a record or segment name that no layout declares",
    "unknown-zone": "a zone name or number that the record does not have",
    "unknown-name": "a name that is neither a zone, a parameter, a table, a date nor a charmap",
    "unknown-function": "a call to a function the check library does not provide",
    "duplicate-name": "two declarations with the same name",
    "ambiguous-zone": "a zone number that matches several zones of the record",
    # layouts
    "zone-gap": "zones leave positions of the record uncovered",
    "zone-overlap": "two zones share positions",
    "zone-outside-record": "a zone extends beyond the record length",
    "record-length-mismatch": "the zones do not add up to the declared record length",
    "bad-zone-type": "a zone type that does not fit its length (e.g. a signed amount of length 1)",
    "key-mismatch": "the record key does not fit the key zone",
    "duplicate-zone": "two zones of a record with the same name or number",
    # structure
    "unknown-production": "a structure element that is neither a record nor a declared group",
    "structure-record-twice": "a record type placed twice in the message structure",
    # codes and rules
    "unknown-code": "a rule code that is neither in the official list nor declared with 'code'",
    "duplicate-code": "a code declared twice",
    "duplicate-rule": "the same code used by two rules whose periods overlap",
    "code-record-mismatch": "the record digits of the code disagree with the record of the rule",
    "code-zone-mismatch": "the zone digits of the code disagree with the zone of the rule",
    "letter-mismatch": "the rule's letter differs from the official letter of its code",
    "missing-letter": "a code without an official letter used by a rule that gives none",
    "missing-label": "a rule or code without a French or Dutch label",
    "label-shadows-official": "a rule replaces an official label without a note saying why",
    "bad-period": "a validity period whose start is after its end",
    "overlapping-versions": "two versions of a table or parameter whose periods overlap",
    "unreachable-rule": "a rule that can never be evaluated",
    "no-mutant": "a rule without a mutant, so nothing shows it can fail (rulebook check)",
    "unknown-reader-condition": "a code reports a reader condition the validator does not know",
    "missing-reader-code": "a reader condition of the validator that no code reports",
    "missing-default-date": "no 'date … default' declares which date governs the rules",
    # types and expressions
    "type-mismatch": "an operand whose type does not fit the operator or function",
    "bad-arity": "a function called with the wrong number of arguments",
    "width-mismatch": "two zones of different widths compared as text",
    "number-too-wide": "a numeric zone too wide to be used as a number (more than 18 digits)",
    "bad-slice": "a slice outside the zone or record, or with its start after its end",
    "bad-choice": "a parameter value that is not one of its declared choices",
    "bad-charmap": "a character map with overlapping or malformed ranges",
    # references and aggregates
    "forward-reference": "a reference to a later record that is not unique in the sending",
    "incomplete-aggregate": "an aggregate that cannot be complete on the record of the rule",
    "unsupported-join": "an aggregate condition that uses 'this' other than as 'key = this.key'",
    "bad-context": "'previous', 'next' or 'this' used where it has no meaning",
    "bad-fill": "a 'fills' clause that does not name one side of the rule's equality",
    "bad-mutant": "a mutant that names an unknown record, zone or code",
    "missing-file": "a file named by 'codes from' does not exist",
    "bad-scenario": "a scenario file (instructions/scenarios/*.json) is not a JSON object",
    "bad-catalogue": "the official code list cannot be read",
    "bad-answer": "an answer message or echo block declared inconsistently",
    "verdict-parameter": "error_rate_threshold or error_rate_basis missing or of the wrong kind",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Diagnostic:
    """One problem found in the rulebook sources."""

    code: str
    severity: Severity
    message: str
    span: Span | None
    hint: str | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES:  # pragma: no cover - programming error
            raise ValueError(f"unregistered diagnostic code {self.code!r}")

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def error(code: str, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    """Build an error diagnostic."""
    return Diagnostic(code=code, severity=Severity.ERROR, message=message, span=span, hint=hint)


def warning(code: str, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    """Build a warning diagnostic."""
    return Diagnostic(code=code, severity=Severity.WARNING, message=message, span=span, hint=hint)


class RulebookError(Exception):
    """Raised at API boundaries when the rulebook has errors; carries every diagnostic."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = next((d for d in self.diagnostics if d.is_error), None)
        summary = f"{first.span}: {first.message}" if first and first.span else "rulebook error"
        count = sum(1 for d in self.diagnostics if d.is_error)
        super().__init__(f"{summary} ({count} error(s))")


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    """Stable order: by file, line, column, then code."""
    if d.span is None:
        return ("", 0, 0, d.code)
    return (d.span.file, d.span.line, d.span.column, d.code)


def render_one(d: Diagnostic, sources: Mapping[str, str] | None = None) -> str:
    """Render one diagnostic as ``file:line:col: severity: message [code]`` plus excerpt."""
    where = f"{d.span}: " if d.span else ""
    text = f"{where}{d.severity.value}: {d.message} [{d.code}]"
    if d.span and sources and d.span.file in sources:
        snippet = excerpt(sources[d.span.file], d.span)
        if snippet:
            text += "\n" + "\n".join("    " + line for line in snippet.splitlines())
    if d.hint:
        text += f"\n    hint: {d.hint}"
    return text


def render(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str] | None = None) -> str:
    """Render diagnostics in stable order, one block each."""
    return "\n".join(render_one(d, sources) for d in sorted(diagnostics, key=sort_key))


LOOKALIKES = str.maketrans({"O": "0", "Q": "0", "I": "1", "L": "1", "S": "5", "Z": "2"})


def _folded(name: str) -> str:
    """A name as a typist confuses it: case, and letters that look like digits (ET2O, ET2o)."""
    return name.upper().translate(LOOKALIKES)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean' hint: a candidate that differs only by case or by a letter typed for
    a digit (``ET2O`` -> ``ET20``), else a prefix of it (``rul`` -> ``rule``), else the
    closest by similarity, if any is close enough."""
    import difflib

    names = list(candidates)
    folded = [c for c in names if _folded(c) == _folded(name)]
    if folded:
        return f"did you mean '{folded[0]}'?"
    prefixed = sorted(c for c in names if len(name) >= 2 and c.lower().startswith(name.lower()))
    if len(prefixed) == 1:
        return f"did you mean '{prefixed[0]}'?"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
