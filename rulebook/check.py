"""Semantic checks on the AST that need no name resolution.

Input: a parsed ``Rulebook`` (AST files + official code list).
Output: diagnostics: duplicates, layout tiling, zone types, codes versus the official list
(letters, labels, record and zone digits), validity periods, table and parameter versions,
character maps, reader codes.

Each check is a small function returning diagnostics; ``CHECKS`` runs them all so one
``rulebook check`` reports every problem (Kaitai's precompile steps). Checks that need
resolved names and types live in ``compiler.from_ast``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from rulebook import syntax as s
from rulebook.conditions import READER_CONDITIONS
from rulebook.diagnostics import Diagnostic, did_you_mean, error, warning

if TYPE_CHECKING:
    from rulebook.load import Rulebook

MIN_DATE = dt.date(1, 1, 1)
MAX_DATE = dt.date(9999, 12, 31)


def period_bounds(period: s.Period) -> tuple[dt.date, dt.date]:
    """Inclusive first and last day of a period (open ends become the extreme dates)."""
    start = period.start.first_day() if period.start else MIN_DATE
    end = period.end.last_day() if period.end else MAX_DATE
    return start, end


def overlaps(a: s.Period, b: s.Period) -> bool:
    a0, a1 = period_bounds(a)
    b0, b1 = period_bounds(b)
    return a0 <= b1 and b0 <= a1


def zone_numbers(zone_id: str) -> list[str]:
    """The official zone numbers a zone id covers: '8a,8b' -> 8a, 8b; '36-41' -> 36 … 41."""
    parts: list[str] = []
    for piece in zone_id.split(","):
        bounds = piece.split("-")
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit():
            parts.extend(str(n) for n in range(int(bounds[0]), int(bounds[1]) + 1))
        else:
            parts.extend(bounds)
    return parts


def leading_number(zone_id: str) -> int | None:
    match = re.match(r"\d+", zone_id)
    return int(match.group()) if match else None


def record_digits(record: str) -> str:
    """'ET20' -> '20'; 'S300' -> '300'."""
    return record.removeprefix("ET").removeprefix("S")


# --------------------------------------------------------------------------- checks


def check_duplicates(book: Rulebook) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, str], s.Item] = {}
    for item in book.items():
        if isinstance(item, s.LayoutDecl):
            key = ("layout", item.name)
        elif isinstance(item, s.TableDecl | s.ParamDecl | s.CharmapDecl | s.DateDecl):
            key = ("value", item.name)
        elif isinstance(item, s.MessageDecl):
            key = ("message", item.name)
        elif isinstance(item, s.ReleaseDecl):
            key = ("release", item.version)
        elif isinstance(item, s.CodeDecl):
            key = ("code", item.code)
        else:
            continue
        if key in seen:
            first = seen[key]
            what = "code" if key[0] == "code" else "name"
            yield error(
                "duplicate-code" if key[0] == "code" else "duplicate-name",
                f"{what} {key[1]!r} is already declared at {first.span}",
                item.span,
            )
        else:
            seen[key] = item


def check_layouts(book: Rulebook) -> Iterator[Diagnostic]:
    for item in book.items():
        if isinstance(item, s.LayoutDecl):
            yield from _check_layout(item)


def _check_layout(layout: s.LayoutDecl) -> Iterator[Diagnostic]:
    names: dict[str, s.ZoneDecl] = {}
    ids: dict[str, s.ZoneDecl] = {}
    last = layout.at + layout.length - 1
    for zone in layout.zones:
        if zone.name in names:
            yield error(
                "duplicate-zone",
                f"zone name {zone.name!r} is already used in {layout.name} "
                f"at {names[zone.name].span}",
                zone.span,
            )
        names.setdefault(zone.name, zone)
        if zone.zone_id in ids:
            yield error(
                "duplicate-zone",
                f"zone {zone.zone_id} is already declared in {layout.name}",
                zone.span,
            )
        ids.setdefault(zone.zone_id, zone)
        if zone.type == "S" and zone.length < 2:
            yield error("bad-zone-type", "a signed amount needs a sign and digits", zone.span)
        if zone.type == "D" and zone.length != 8:
            yield error("bad-zone-type", "a date zone (D) is 8 long (YYYYMMDD)", zone.span)
        if zone.length <= 0 or zone.start <= 0:
            yield error("bad-zone-type", "zone lengths and positions start at 1", zone.span)
        elif zone.start < layout.at or zone.start + zone.length - 1 > last:
            yield error(
                "zone-outside-record",
                f"zone {zone.zone_id} ({zone.start}-{zone.start + zone.length - 1}) extends "
                f"beyond positions {layout.at}-{last} of {layout.name}",
                zone.span,
            )
    expected = layout.at
    previous: s.ZoneDecl | None = None
    for zone in sorted(layout.zones, key=lambda z: z.start):
        end = zone.start + zone.length - 1
        if zone.start > expected:
            yield error(
                "zone-gap",
                f"positions {expected}-{zone.start - 1} of {layout.name} are in no zone",
                zone.span,
            )
        elif zone.start < expected and previous is not None:
            yield error(
                "zone-overlap",
                f"zones {previous.zone_id} ({previous.start}-{expected - 1}) and {zone.zone_id} "
                f"({zone.start}-{end}) overlap",
                zone.span,
            )
        expected = max(expected, end + 1)
        previous = zone
    if layout.zones and expected - 1 != last:
        covered = expected - 1
        yield error(
            "record-length-mismatch",
            f"the zones of {layout.name} cover positions {layout.at}-{covered}, "
            f"not its length {layout.length}",
            layout.span,
        )
    if layout.key is not None:
        first = min(layout.zones, key=lambda z: z.start) if layout.zones else None
        if first is None or first.start != 1 or first.length != len(layout.key):
            yield error(
                "key-mismatch",
                f"key {layout.key!r} does not fit the first zone of {layout.name}",
                layout.span,
            )


def _known_codes(book: Rulebook) -> dict[str, s.CodeDecl]:
    return {i.code: i for i in book.items() if isinstance(i, s.CodeDecl)}


def check_code_decls(book: Rulebook) -> Iterator[Diagnostic]:
    reported: set[str] = set()
    has_message = any(isinstance(i, s.MessageDecl) for i in book.items())
    for item in book.items():
        if not isinstance(item, s.CodeDecl):
            continue
        if item.code in book.catalogue:
            yield error(
                "duplicate-code",
                f"code {item.code} is in the official list; rules use it directly",
                item.span,
            )
        if not item.labels.fr or not item.labels.nl:
            yield error(
                "missing-label", f"code {item.code} needs a French and a Dutch label", item.span
            )
        if item.reports is not None:
            if item.reports not in READER_CONDITIONS:
                yield error(
                    "unknown-reader-condition",
                    f"the validator raises no reader condition {item.reports!r}",
                    item.span,
                    did_you_mean(item.reports, READER_CONDITIONS),
                )
            reported.add(item.reports)
    if has_message:
        for name in READER_CONDITIONS:
            if name not in reported:
                yield warning(
                    "missing-reader-code",
                    f"no code reports the reader condition {name!r} ({READER_CONDITIONS[name]}): "
                    f"it is reported as RB:{name}, letter B",
                    None,
                    'declare a code for it: code RBnnnn B "…" / "…" reports ' + name,
                )


def check_rules(book: Rulebook) -> Iterator[Diagnostic]:
    declared = _known_codes(book)
    by_code: dict[str, list[s.RuleDecl]] = {}
    for rule in (i for i in book.items() if isinstance(i, s.RuleDecl)):
        yield from _check_rule_code(book, rule, declared)
        yield from _check_period(rule.period)
        for other in by_code.get(rule.code, []):
            if overlaps(other.period, rule.period):
                yield error(
                    "duplicate-rule",
                    f"rule {rule.code} is already defined at {other.span} "
                    "for an overlapping period",
                    rule.span,
                )
                break
        by_code.setdefault(rule.code, []).append(rule)


def _check_rule_code(
    book: Rulebook, rule: s.RuleDecl, declared: dict[str, s.CodeDecl]
) -> Iterator[Diagnostic]:
    official = book.catalogue.get(rule.code)
    decl = declared.get(rule.code)
    if not official and decl is None:
        candidates = [c for c in book.catalogue.entries if c[:2] == rule.code[:2]]
        yield error(
            "unknown-code",
            f"code {rule.code} is neither in the official list nor declared with 'code'",
            rule.span,
            did_you_mean(rule.code, candidates),
        )
        return
    digits = record_digits(rule.record)
    if official:
        if rule.code[:2] != digits:
            yield error(
                "code-record-mismatch",
                f"code {rule.code} is about record {rule.code[:2]}, "
                f"but the rule is on {rule.record}",
                rule.span,
            )
        lead = leading_number(rule.zone)
        if lead is None or int(rule.code[2:4]) != lead:
            yield error(
                "code-zone-mismatch",
                f"code {rule.code} is about zone {int(rule.code[2:4])}, but the rule is on zone "
                f"{rule.zone}",
                rule.span,
            )
        letters = {e.letter for e in official if e.letter}
        if rule.letter is None and not letters:
            yield error(
                "missing-letter",
                f"code {rule.code} has no official letter; give one (B, F, R, S or E)",
                rule.span,
            )
        elif rule.letter is not None and letters and rule.letter not in letters:
            yield error(
                "letter-mismatch",
                f"code {rule.code} has official letter {'/'.join(sorted(letters))}, not "
                f"{rule.letter}",
                rule.span,
            )
        has_fr = any(e.fr for e in official)
        has_nl = any(e.nl for e in official)
        if ((rule.labels.fr and has_fr) or (rule.labels.nl and has_nl)) and not rule.note:
            yield warning(
                "label-shadows-official",
                f"code {rule.code} has an official label; say in a note why the rule replaces it",
                rule.span,
            )
        if not (rule.labels.fr or has_fr) or not (rule.labels.nl or has_nl):
            yield error(
                "missing-label",
                f'code {rule.code} has no official French label; give one with fr "…"'
                if not (rule.labels.fr or has_fr)
                else f'code {rule.code} has no official Dutch label; give one with nl "…"',
                rule.span,
            )
    elif decl is not None:
        if rule.letter is not None and rule.letter != decl.letter:
            yield error(
                "letter-mismatch",
                f"code {rule.code} is declared with letter {decl.letter}, not {rule.letter}",
                rule.span,
            )
        zone_part = rule.code.split("-")[0]
        if "-" in rule.code and zone_part != rule.zone:
            yield error(
                "code-zone-mismatch",
                f"code {rule.code} is about zone {zone_part}, but the rule is on zone {rule.zone}",
                rule.span,
            )


def _check_period(period: s.Period) -> Iterator[Diagnostic]:
    start, end = period_bounds(period)
    if start > end:
        yield error("bad-period", f"the period starts ({start}) after it ends ({end})", period.span)


def check_versions(book: Rulebook) -> Iterator[Diagnostic]:
    for item in book.items():
        if isinstance(item, s.TableDecl):
            versions: list[tuple[s.Period, s.TableVersion | s.ParamVersion]] = [
                (v.period, v) for v in item.versions
            ]
        elif isinstance(item, s.ParamDecl):
            versions = [(v.period, v) for v in item.versions]
            if item.choices is not None:
                allowed = {c.value for c in item.choices}
                for v in item.versions:
                    if v.value.value not in allowed:
                        yield error(
                            "bad-choice",
                            f"{v.value.value!r} is not one of the choices of {item.name}",
                            v.span,
                        )
        else:
            continue
        for i, (period, node) in enumerate(versions):
            yield from _check_period(period)
            for other, _ in versions[:i]:
                if overlaps(other, period):
                    yield error(
                        "overlapping-versions",
                        f"two versions of {item.name} overlap ({other.span} and here)",
                        node.span,
                    )
                    break
        if not versions:
            yield error("unexpected-end", f"{item.name} has no version", item.span)


def check_charmaps(book: Rulebook) -> Iterator[Diagnostic]:
    for item in book.items():
        if not isinstance(item, s.CharmapDecl):
            continue
        taken: set[int] = set()
        for entry in item.entries:
            lo, hi = ord(entry.lo), ord(entry.hi)
            if lo > hi or hi > 255:
                yield error(
                    "bad-charmap",
                    f"range {entry.lo!r}..{entry.hi!r} is empty or not ASCII",
                    entry.span,
                )
                continue
            codes = set(range(lo, hi + 1))
            if codes & taken:
                yield error(
                    "bad-charmap", f"range {entry.lo!r}..{entry.hi!r} overlaps another", entry.span
                )
            taken |= codes


def check_dates(book: Rulebook) -> Iterator[Diagnostic]:
    dates = [i for i in book.items() if isinstance(i, s.DateDecl)]
    defaults = [d for d in dates if d.default]
    has_rules = any(isinstance(i, s.RuleDecl) for i in book.items())
    if has_rules and not defaults:
        yield error(
            "missing-default-date",
            "declare which date governs the rules: date NAME default = …",
            None,
        )
    for extra in defaults[1:]:
        yield error(
            "duplicate-name",
            f"only one date can be the default (see {defaults[0].span})",
            extra.span,
        )


def check_labels(book: Rulebook) -> Iterator[Diagnostic]:
    for item in book.items():
        if isinstance(item, s.LayoutDecl):
            if not item.labels.fr or not item.labels.nl:
                yield error(
                    "missing-label", f"{item.name} needs a French and a Dutch label", item.span
                )
            for zone in item.zones:
                if not zone.labels.fr or not zone.labels.nl:
                    yield error(
                        "missing-label",
                        f"zone {zone.zone_id} of {item.name} needs a French and a Dutch label",
                        zone.span,
                    )
        elif isinstance(
            item, s.TableDecl | s.ParamDecl | s.CharmapDecl | s.DateDecl | s.MessageDecl
        ) and (not item.labels.fr or not item.labels.nl):
            yield error("missing-label", f"{item.name} needs a French and a Dutch label", item.span)
        elif isinstance(item, s.QuestionDecl):
            for labels in (item.labels, item.answer):
                if not labels.fr or not labels.nl:
                    yield error(
                        "missing-label",
                        "a question and its answer need French and Dutch texts",
                        item.span,
                    )
        elif isinstance(item, s.ToleranceDecl):
            for labels in (item.labels, item.reading, item.evidence):
                if not labels.fr or not labels.nl:
                    yield error(
                        "missing-label",
                        "a tolerance, its reading and its evidence need French and Dutch texts",
                        item.span,
                    )
        elif isinstance(item, s.AmountsDecl):
            spans = [(item.labels, item.span), *((a.labels, a.span) for a in item.accounts)]
            for labels, span in spans:
                if not labels.fr or not labels.nl:
                    yield error(
                        "missing-label", "amounts and accounts need French and Dutch labels", span
                    )


CHECKS: tuple[Callable[[Rulebook], Iterable[Diagnostic]], ...] = (
    check_duplicates,
    check_layouts,
    check_labels,
    check_code_decls,
    check_rules,
    check_versions,
    check_charmaps,
    check_dates,
)


def check(book: Rulebook) -> list[Diagnostic]:
    """Run every AST-level check."""
    found: list[Diagnostic] = []
    for step in CHECKS:
        found.extend(step(book))
    return found
