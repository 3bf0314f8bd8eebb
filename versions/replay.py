"""Replaying files under two versions of the rulebook, and naming what changed the outcome.

Input: the OLD and NEW compiled rulebooks, their ``Diff``, files and a reference date.
Output: per file whose verdict or findings differ, the findings gained and lost and, for each,
the change of the diff responsible (the rule of its code; for a verdict that changes with the
same findings, the parameters of the verdict that changed).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compiler import Compiled
from validator import validate
from validator.report import Finding
from validator.verdict import BASIS, THRESHOLD
from versions.diff import Diff


@dataclass(frozen=True, slots=True)
class Outcome:
    file: str
    old_verdict: str
    new_verdict: str
    gained: tuple[tuple[str, str], ...]  # (finding, cause)
    lost: tuple[tuple[str, str], ...]
    causes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.old_verdict != self.new_verdict or bool(self.gained or self.lost)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "verdict": {"old": self.old_verdict, "new": self.new_verdict},
            "gained": [{"finding": f, "cause": c} for f, c in self.gained],
            "lost": [{"finding": f, "cause": c} for f, c in self.lost],
            "causes": list(self.causes),
        }

    def to_text(self) -> str:
        lines = [f"{self.file}: {self.old_verdict} -> {self.new_verdict}"]
        lines.extend(f"  + {f}  (cause: {c})" for f, c in self.gained)
        lines.extend(f"  - {f}  (cause: {c})" for f, c in self.lost)
        if not (self.gained or self.lost):  # the verdict alone changed: say why
            lines.extend(f"  cause: {c}" for c in self.causes)
        return "\n".join(lines)


def _key(f: Finding) -> str:
    if f.record is not None:
        place = f"record {f.record}"
    elif f.segment is not None:
        place = f"segment {f.segment}"
    else:
        place = "sending"
    return f"{f.letter} {f.code} {place} zone {f.zone}"


def replay(
    old: Compiled, new: Compiled, changes: Diff, files: list[Path], today: dt.date | None
) -> list[Outcome]:
    rules = {i.name.split(" ")[0]: i for i in changes.of("rule")}
    codes = {i.name: i for i in changes.of("code")}
    verdict_params = [i.name for i in changes.of("parameter") if i.name in (THRESHOLD, BASIS)]
    out = []
    for path in files:
        data = path.read_bytes()
        a = validate(old, io.BytesIO(data), name=path.name, today=today)
        b = validate(new, io.BytesIO(data), name=path.name, today=today)
        ka = {_key(f): f for f in a.findings}
        kb = {_key(f): f for f in b.findings}

        def cause(f: Finding) -> str:
            item = rules.get(f.code) or codes.get(f.code)
            if item is None:
                return (
                    "no rule change of this code: a change it depends on (table, parameter, layout)"
                )
            fields = ", ".join(c.what for c in item.changes)
            return f"rule {item.name} {item.status}" + (f": {fields}" if fields else "")

        gained = tuple((k, cause(kb[k])) for k in sorted(kb.keys() - ka.keys()))
        lost = tuple((k, cause(ka[k])) for k in sorted(ka.keys() - kb.keys()))
        causes = sorted({c for _, c in (*gained, *lost)})
        if a.verdict != b.verdict and not (gained or lost):
            causes = [f"parameter {p} changed" for p in verdict_params] or ["the error rate"]
        out.append(
            Outcome(
                file=str(path),
                old_verdict=a.verdict,
                new_verdict=b.verdict,
                gained=gained,
                lost=lost,
                causes=tuple(causes),
            )
        )
    return out
