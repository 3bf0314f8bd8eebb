"""Lowering of the items that document the instructions rather than check files: questions
and their answers, tolerances and their evidence.

Input: the rulebook's items, the codes its rules use and its parameters' names.
Output: ``ir.Question`` and ``ir.Tolerance`` values, and the diagnostics of what they name
that the rulebook does not have (a code no rule uses, a function the check library does not
provide, an unknown parameter).
"""

from __future__ import annotations

from collections.abc import Iterable

from compiler import ir
from compiler.library import FUNCTIONS
from rulebook import syntax as s
from rulebook.diagnostics import Diagnostic, did_you_mean, error
from rulebook.spans import Span


def questions(
    items: Iterable[s.Item], codes: set[str], diags: list[Diagnostic]
) -> list[ir.Question]:
    found = []
    for q in (i for i in items if isinstance(i, s.QuestionDecl)):
        diags.extend(_unknown_codes("question", q.codes, codes, q.span))
        found.append(
            ir.Question(
                fr=q.labels.fr or "",
                nl=q.labels.nl or "",
                answer_fr=q.answer.fr or "",
                answer_nl=q.answer.nl or "",
                codes=q.codes,
                origin=q.span,
            )
        )
    return found


def tolerances(
    items: Iterable[s.Item], codes: set[str], params: set[str], diags: list[Diagnostic]
) -> list[ir.Tolerance]:
    found = []
    for t in (i for i in items if isinstance(i, s.ToleranceDecl)):
        diags.extend(_unknown_codes("tolerance", t.codes, codes, t.span))
        for name in t.functions:
            if name not in FUNCTIONS:
                diags.append(
                    error(
                        "unknown-function",
                        f"no check function {name!r}",
                        t.span,
                        did_you_mean(name, FUNCTIONS),
                    )
                )
        for name in t.params:
            if name not in params:
                diags.append(
                    error(
                        "unknown-name", f"no parameter {name!r}", t.span, did_you_mean(name, params)
                    )
                )
        found.append(
            ir.Tolerance(
                fr=t.labels.fr or "",
                nl=t.labels.nl or "",
                reading_fr=t.reading.fr or "",
                reading_nl=t.reading.nl or "",
                evidence_fr=t.evidence.fr or "",
                evidence_nl=t.evidence.nl or "",
                codes=t.codes,
                functions=t.functions,
                params=t.params,
                origin=t.span,
            )
        )
    return found


def _unknown_codes(
    kind: str, named: tuple[str, ...], codes: set[str], span: Span
) -> list[Diagnostic]:
    return [
        error("unknown-code", f"{kind} about {code}: no rule has this code", span)
        for code in named
        if code not in codes
    ]
