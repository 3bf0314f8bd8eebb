"""The semantic difference between two compiled rulebooks.

Input: two ``Compiled`` rulebooks (OLD and NEW).
Output: ``Diff``: rules added, removed and changed (condition, letter, labels, period, zone,
governing date), tables and parameters changed value by value, layouts changed zone by zone,
codes whose labels changed; text and JSON forms. Everything is compared on the compiled form
(expressions in the IR dump's notation, no source positions), so comments, formatting and
the order of items make no difference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compiler import Compiled, ir
from compiler.dump import day, expr
from compiler.words import Words

KINDS = (
    "rule",
    "table",
    "parameter",
    "layout",
    "message",
    "code",
    "question",
    "tolerance",
    "amounts",
)


@dataclass(frozen=True, slots=True)
class Change:
    what: str  # e.g. "condition", "letter", "period", "zone 18"
    old: Any
    new: Any
    # a condition also in words, as the published instructions say it: lang -> (old, new)
    words: tuple[tuple[str, str | None, str | None], ...] = ()

    def to_json(self) -> dict[str, Any]:
        out = {"field": self.what, "old": self.old, "new": self.new}
        if self.words:
            out["in_words"] = {lang: {"old": a, "new": b} for lang, a, b in self.words}
        return out

    def shown(self, lang: str) -> tuple[Any, Any]:
        """Old and new as a person reads them: a condition in words in ``lang``."""
        for code, a, b in self.words:
            if code == lang:
                return a, b
        return self.old, self.new


@dataclass(frozen=True, slots=True)
class Item:
    kind: str  # "rule" | "table" | "parameter" | "layout" | "code"
    name: str
    status: str  # "added" | "removed" | "changed"
    changes: tuple[Change, ...] = ()
    source: str | None = None  # where NEW (or OLD, if removed) declares it

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "source": self.source,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(slots=True)
class Diff:
    old_version: str
    new_version: str
    items: list[Item] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.items

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if i.kind == kind]

    def to_json(self) -> dict[str, Any]:
        kinds = KINDS
        return {
            "old": self.old_version,
            "new": self.new_version,
            "empty": self.empty,
            **{plural(k): [i.to_json() for i in self.of(k)] for k in kinds},
        }

    def to_text(self, lang: str = "fr") -> str:
        """The changes for a person; conditions in words in ``lang`` (fr, nl)."""
        if self.empty:
            return f"rulebook {self.old_version} -> {self.new_version}: no semantic difference\n"
        lines = [f"rulebook {self.old_version} -> {self.new_version}: {len(self.items)} change(s)"]
        for kind in KINDS:
            items = self.of(kind)
            if not items:
                continue
            lines.append("")
            lines.append(f"{plural(kind)}:")
            for item in items:
                sign = {"added": "+", "removed": "-", "changed": "~"}[item.status]
                where = f"  ({item.source})" if item.source else ""
                lines.append(f"  {sign} {item.name} {item.status}{where}")
                for c in item.changes:
                    old, new = c.shown(lang)
                    if c.words:  # sentences: one per line, to read them one under the other
                        lines.append(f"      {c.what}:")
                        lines.append(f"        - {_show(old)}")
                        lines.append(f"        + {_show(new)}")
                    else:
                        lines.append(f"      {c.what}: {_show(old)} -> {_show(new)}")
        return "\n".join(lines) + "\n"


def plural(kind: str) -> str:
    return kind if kind.endswith("s") else f"{kind}s"


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def diff(old: Compiled, new: Compiled) -> Diff:
    out = Diff(old_version=old.version, new_version=new.version)
    out.items.extend(_rules(old, new))
    out.items.extend(_dated("table", old.tables, new.tables))
    out.items.extend(_dated("parameter", old.params, new.params))
    out.items.extend(_layouts(old, new))
    out.items.extend(_codes(old, new))
    out.items.extend(_messages(old, new))
    out.items.extend(_by_title("question", old.questions, new.questions, _question_fields))
    out.items.extend(_by_title("tolerance", old.tolerances, new.tolerances, _tolerance_fields))
    out.items.extend(_amounts(old, new))
    return out


# --------------------------------------------------------------------------- rules


def rule_fields(rule: ir.Rule) -> dict[str, Any]:
    return {
        "letter": rule.letter,
        "record": rule.record,
        "zone": rule.zone_label,
        "period": f"{day(rule.start)}..{day(rule.end)}",
        "governed by": rule.governed_by,
        "per sending": rule.per_sending,
        "when": expr(rule.when) if rule.when is not None else None,
        "condition": expr(rule.require),
        "label fr": rule.fr,
        "label nl": rule.nl,
    }


def _versions(book: Compiled) -> dict[str, list[ir.Rule]]:
    found: dict[str, list[ir.Rule]] = {}
    for rule in book.rules:
        found.setdefault(rule.code, []).append(rule)
    for rules in found.values():
        rules.sort(key=lambda r: (r.start, r.end, r.record))
    return found


def _rules(old: Compiled, new: Compiled) -> list[Item]:
    before, after = _versions(old), _versions(new)
    items = []
    for code in sorted(before.keys() | after.keys()):
        a, b = before.get(code, []), after.get(code, [])
        for index in range(max(len(a), len(b))):
            name = code if max(len(a), len(b)) == 1 else f"{code} (version {index + 1})"
            if index >= len(a):
                items.append(Item("rule", name, "added", source=_where(b[index])))
            elif index >= len(b):
                items.append(Item("rule", name, "removed", source=_where(a[index])))
            else:
                fa, fb = rule_fields(a[index]), rule_fields(b[index])
                changes = tuple(
                    Change(k, fa[k], fb[k], in_words(old, new, a[index], b[index], k))
                    for k in fa
                    if fa[k] != fb[k]
                )
                if changes:
                    items.append(Item("rule", name, "changed", changes, _where(b[index])))
    return items


def in_words(
    old: Compiled, new: Compiled, a: ir.Rule, b: ir.Rule, field: str
) -> tuple[tuple[str, str | None, str | None], ...]:
    """A changed condition (``when``, ``condition``) in words in both languages."""
    if field not in ("when", "condition"):
        return ()

    def said(book: Compiled, rule: ir.Rule, lang: str) -> str | None:
        e = rule.when if field == "when" else rule.require
        return Words(book, lang, rule.record)(e) if e is not None else None

    return tuple((lang, said(old, a, lang), said(new, b, lang)) for lang in ("fr", "nl"))


def _where(rule: ir.Rule) -> str:
    return f"{rule.source}:{rule.line}"


# --------------------------------------------------------------------------- tables, parameters


def _value(value: object) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(_value(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, float):
        return f"{value * 100:g}%"
    return value


Dated = dict[str, ir.Table] | dict[str, ir.Param]


def _dated(kind: str, old: Dated, new: Dated) -> list[Item]:
    items = []
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a is None:
            items.append(Item(kind, name, "added", source=_span(b)))
            continue
        if b is None:
            items.append(Item(kind, name, "removed", source=_span(a)))
            continue
        changes: list[Change] = []
        va = {f"{day(v.start)}..{day(v.end)}": v.value for v in a.versions}
        vb = {f"{day(v.start)}..{day(v.end)}": v.value for v in b.versions}
        for period in sorted(va.keys() | vb.keys()):
            x, y = va.get(period), vb.get(period)
            if x == y:
                continue
            if isinstance(x, frozenset) and isinstance(y, frozenset):
                added, removed = sorted(_value(y - x)), sorted(_value(x - y))
                changes.append(Change(f"values {period}", removed or None, added or None))
            else:
                before = _value(x) if x is not None else None
                after = _value(y) if y is not None else None
                changes.append(Change(f"value {period}", before, after))
        if (a.fr, a.nl) != (b.fr, b.nl):
            changes.append(Change("labels", f"{a.fr} / {a.nl}", f"{b.fr} / {b.nl}"))
        if isinstance(a, ir.Param) and isinstance(b, ir.Param) and a.choices != b.choices:
            changes.append(Change("choices", _choices(a), _choices(b)))
        if changes:
            items.append(Item(kind, name, "changed", tuple(changes), _span(b)))
    return items


def _choices(param: ir.Param) -> list[Any] | None:
    return [_value(v) for v in param.choices] if param.choices is not None else None


def _span(decl: ir.Table | ir.Param | ir.Layout | None) -> str | None:
    if decl is None or decl.origin is None:
        return None
    return f"{decl.origin.file}:{decl.origin.line}"


# --------------------------------------------------------------------------- layouts, codes


def zone_fields(zone: ir.Zone) -> str:
    carries = f" for {zone.reports}" if zone.reports else ""
    return (
        f"{zone.name} {zone.kind} {zone.length} @{zone.start1}{carries} {zone.fr!r} / {zone.nl!r}"
    )


def layout_roles(layout: ir.Layout) -> list[str]:
    """What answers and settlements read of a layout, in the dump's words."""
    return [
        *(f"{role} {zone.name}" for role, zone in layout.roles),
        *(f"errors {a.name} {b.name}" for a, b in layout.pairs),
        *(f"copy {c.zone.name} from {c.record}.{c.source.name}" for c in layout.copies),
        *(f"settle {s.kind} {s.account or '*'} {s.zone.name}" for s in layout.settles),
    ]


def _layouts(old: Compiled, new: Compiled) -> list[Item]:
    items = []
    for name in sorted(old.layouts.keys() | new.layouts.keys()):
        a, b = old.layouts.get(name), new.layouts.get(name)
        if a is None:
            items.append(Item("layout", name, "added", source=_span(b)))
            continue
        if b is None:
            items.append(Item("layout", name, "removed", source=_span(a)))
            continue
        za = {z.zone_id: zone_fields(z) for z in a.zones}
        zb = {z.zone_id: zone_fields(z) for z in b.zones}
        changes = [
            Change(f"zone {zid}", za.get(zid), zb.get(zid))
            for zid in sorted(za.keys() | zb.keys(), key=_zone_order)
            if za.get(zid) != zb.get(zid)
        ]
        if (a.length, a.key, a.at) != (b.length, b.key, b.at):
            changes.insert(0, Change("length / key", f"{a.length} {a.key}", f"{b.length} {b.key}"))
        if layout_roles(a) != layout_roles(b):
            changes.append(Change("roles", layout_roles(a), layout_roles(b)))
        if changes:
            items.append(Item("layout", name, "changed", tuple(changes), _span(b)))
    return items


def _zone_order(zone_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in zone_id.split(",")[0].split("-")[0] if ch.isdigit())
    return (int(digits) if digits else 0, zone_id)


def _codes(old: Compiled, new: Compiled) -> list[Item]:
    """Codes declared in the rulebook (not the official list's) whose letter or labels change."""
    items = []
    declared_old = {c: i for c, i in old.codes.items() if not i.official}
    declared_new = {c: i for c, i in new.codes.items() if not i.official}
    for code in sorted(declared_old.keys() | declared_new.keys()):
        a, b = declared_old.get(code), declared_new.get(code)
        if a is None or b is None:
            status = "added" if a is None else "removed"
            info = b if b is not None else a
            assert info is not None
            items.append(Item("code", code, status, source=f"{info.source}:{info.line}"))
            continue
        changes = [
            Change(k, x, y)
            for k, x, y in (
                ("letter", a.letter, b.letter),
                ("label fr", a.fr, b.fr),
                ("label nl", a.nl, b.nl),
            )
            if x != y
        ]
        if changes:
            items.append(Item("code", code, "changed", tuple(changes), f"{b.source}:{b.line}"))
    return items


def message_fields(msg: ir.Message) -> dict[str, Any]:
    answers = msg.answers
    return {
        "segments": " ".join(msg.segments),
        "record length": msg.record_length,
        "structure": "; ".join(
            f"{name} = {_struct(items)}" for name, items in sorted(msg.productions.items())
        ),
        "answers": (
            f"{answers.kind} {answers.message} "
            + ", ".join(f"{c} {r or '-'}" for c, r in answers.cases)
        ).strip()
        if answers
        else None,
        "block": msg.block,
        "echo": "; ".join(
            f"{' '.join(e.names)} {'always' if e.always else 'with errors'}" for e in msg.echo
        )
        or None,
    }


def _struct(items: tuple[ir.SItem, ...]) -> str:
    parts = []
    for it in items:
        if isinstance(it, ir.SRef):
            parts.append(it.name + it.repeat)
        else:
            parts.append("(" + " | ".join(_struct(o) for o in it.options) + ")" + it.repeat)
    return " ".join(parts)


def _messages(old: Compiled, new: Compiled) -> list[Item]:
    items = []
    for name in sorted(old.messages.keys() | new.messages.keys()):
        a, b = old.messages.get(name), new.messages.get(name)
        if a is None or b is None:
            status = "added" if a is None else "removed"
            msg = b if b is not None else a
            assert msg is not None
            where = f"{msg.origin.file}:{msg.origin.line}" if msg.origin else None
            items.append(Item("message", name, status, source=where))
            continue
        fa, fb = message_fields(a), message_fields(b)
        changes = tuple(Change(k, fa[k], fb[k]) for k in fa if fa[k] != fb[k])
        if changes:
            where = f"{b.origin.file}:{b.origin.line}" if b.origin else None
            items.append(Item("message", name, "changed", changes, where))
    return items


def _question_fields(q: ir.Question) -> dict[str, Any]:
    return {
        "question nl": q.nl,
        "answer fr": q.answer_fr,
        "answer nl": q.answer_nl,
        "rules": list(q.codes),
    }


def _tolerance_fields(t: ir.Tolerance) -> dict[str, Any]:
    return {
        "tolerance nl": t.nl,
        "reading fr": t.reading_fr,
        "reading nl": t.reading_nl,
        "evidence fr": t.evidence_fr,
        "evidence nl": t.evidence_nl,
        "rules": list(t.codes),
        "functions": list(t.functions),
        "parameters": list(t.params),
    }


def _by_title(
    kind: str,
    old: tuple[ir.Question, ...] | tuple[ir.Tolerance, ...],
    new: tuple[ir.Question, ...] | tuple[ir.Tolerance, ...],
    fields: Any,
) -> list[Item]:
    """Questions or tolerances by their French title: added, removed, or changed field by
    field."""
    a = {x.fr: x for x in old}
    b = {x.fr: x for x in new}
    items = []
    for text in sorted(a.keys() | b.keys()):
        xa, xb = a.get(text), b.get(text)
        x = xb if xb is not None else xa
        assert x is not None
        where = f"{x.origin.file}:{x.origin.line}" if x.origin else None
        if xa is None or xb is None:
            items.append(Item(kind, text, "added" if xa is None else "removed", source=where))
            continue
        fa, fb = fields(xa), fields(xb)
        changes = tuple(Change(k, fa[k], fb[k]) for k in fa if fa[k] != fb[k])
        if changes:
            items.append(Item(kind, text, "changed", changes, where))
    return items


def amounts_fields(a: ir.Amounts | None) -> dict[str, Any]:
    if a is None:
        return {}
    return {
        "by": f"{a.key.layout}.{a.key.name}",
        "lines": [f"{r}.{a.amount[r].name} account {a.account[r].name}" for r in a.lines],
        "accounts": [f"{acc.name} = {acc.value}" for acc in a.accounts],
        "labels": f"{a.fr} / {a.nl}",
    }


def _amounts(old: Compiled, new: Compiled) -> list[Item]:
    """The ``amounts`` declaration (how the report totals amounts per destination)."""
    fa, fb = amounts_fields(old.amounts), amounts_fields(new.amounts)
    if fa == fb:
        return []
    where = new.amounts or old.amounts
    source = f"{where.origin.file}:{where.origin.line}" if where and where.origin else None
    if not fa or not fb:
        return [Item("amounts", "amounts", "added" if not fa else "removed", source=source)]
    changes = tuple(Change(k, fa[k], fb[k]) for k in fa if fa[k] != fb[k])
    return [Item("amounts", "amounts", "changed", changes, source)]
