"""Lowering of the checked AST to the IR (layouts, message structure, data, rules).

Input: a ``rulebook.Rulebook`` whose AST-level checks passed.
Output: the pieces of ``compiler.Compiled`` (before ``compiler.passes`` classifies rules) and
the diagnostics of name resolution and typing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from compiler import documents, ir
from compiler.expressions import Ctx, ExprLowerer, date_int
from rulebook import syntax as s
from rulebook.check import period_bounds, zone_numbers
from rulebook.conditions import ANSWER_CASES
from rulebook.diagnostics import Diagnostic, did_you_mean, error
from rulebook.load import Rulebook
from rulebook.spans import Span


@dataclass(slots=True)
class Lowered:
    """Everything lowering produces; ``compiler.compile`` assembles it into ``Compiled``."""

    layouts: dict[str, ir.Layout] = field(default_factory=dict)
    message: ir.Message | None = None
    messages: dict[str, ir.Message] = field(default_factory=dict)
    tables: dict[str, ir.Table] = field(default_factory=dict)
    params: dict[str, ir.Param] = field(default_factory=dict)
    charmaps: dict[str, ir.Charmap] = field(default_factory=dict)
    dates: dict[str, ir.DateDef] = field(default_factory=dict)
    date_exprs: dict[tuple[str, str], ir.Expr] = field(default_factory=dict)
    codes: dict[str, ir.CodeInfo] = field(default_factory=dict)
    rules: list[ir.Rule] = field(default_factory=list)
    derivations: list[ir.Derivation] = field(default_factory=list)
    record_derivations: list[ir.RecordDerivation] = field(default_factory=list)
    releases: list[ir.Release] = field(default_factory=list)
    amounts: ir.Amounts | None = None
    questions: list[ir.Question] = field(default_factory=list)
    tolerances: list[ir.Tolerance] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def _label(labels: s.Labels) -> tuple[str, str]:
    return labels.fr or "", labels.nl or ""


def _bounds(period: s.Period) -> tuple[int, int]:
    start, end = period_bounds(period)
    return date_int(start), date_int(end)


def _py_value(lit: s.Literal) -> object:
    if lit.kind == "str":
        return str(lit.value).encode("latin-1", "replace")
    if lit.kind == "date":
        assert isinstance(lit.value, dt.date)
        return date_int(lit.value)
    if lit.kind == "percent":
        return float(lit.value) / 100.0  # type: ignore[arg-type]
    return lit.value


def _lit_type(lits: tuple[s.Literal, ...]) -> ir.Ty:
    kinds = {lit.kind for lit in lits}
    if kinds == {"str"}:
        return ir.text(max(len(str(lit.value)) for lit in lits))
    if len(kinds) == 1:
        kind = kinds.pop()
        return {"int": ir.INT, "bool": ir.BOOL, "date": ir.DATE}.get(kind, ir.Ty("percent"))
    return ir.Ty("mixed")


class Lowerer:
    """Builds the IR declaration by declaration."""

    def __init__(self, book: Rulebook) -> None:
        self.book = book
        self.out = Lowered()
        self.diags = self.out.diagnostics
        self.failed_dates: set[tuple[str, str]] = set()

    def run(self) -> Lowered:
        items = list(self.book.items())
        for item in items:
            if isinstance(item, s.LayoutDecl):
                self.layout(item)
        for item in items:
            if isinstance(item, s.LayoutDecl):
                self.layout_copies(item)
        for decl in (i for i in items if isinstance(i, s.MessageDecl)):
            lowered = self.message(decl)
            if lowered is not None:
                self.out.messages[lowered.name] = lowered
                if self.out.message is None and lowered.answers is None:
                    self.out.message = lowered  # the message files are read as (not an answer)
        for decl in (i for i in items if isinstance(i, s.MessageDecl)):
            self.check_answer(decl)
        for amounts in (i for i in items if isinstance(i, s.AmountsDecl)):
            self.amounts(amounts)
        codes = {i.code for i in items if isinstance(i, s.RuleDecl)}
        self.out.questions = documents.questions(items, codes, self.diags)
        params = {i.name for i in items if isinstance(i, s.ParamDecl)}
        self.out.tolerances = documents.tolerances(items, codes, params, self.diags)
        for item in items:
            if isinstance(item, s.TableDecl):
                self.table(item)
            elif isinstance(item, s.ParamDecl):
                self.param(item)
            elif isinstance(item, s.CharmapDecl):
                self.charmap(item)
            elif isinstance(item, s.CodeDecl):
                fr, nl = _label(item.labels)
                self.out.codes[item.code] = ir.CodeInfo(
                    code=item.code,
                    letter=item.letter,
                    fr=fr,
                    nl=nl,
                    official=False,
                    reports=item.reports,
                    note=item.note,
                    source=item.span.file,
                    line=item.span.line,
                )
            elif isinstance(item, s.ReleaseDecl):
                self.out.releases.append(
                    ir.Release(
                        version=item.version,
                        published=date_int(item.published.first_day()),
                        applies=date_int(item.applies.first_day()),
                        fr=item.labels.fr,
                        nl=item.labels.nl,
                    )
                )
        self.lowerer = ExprLowerer(
            self.out.layouts,
            self.out.message,
            self.out.tables,
            self.out.params,
            self.out.charmaps,
            {i.name for i in items if isinstance(i, s.DateDecl)},
            self.diags,
            answer_only=frozenset(
                name
                for m in self.out.messages.values()
                if m.answers is not None
                for name in m.records
            )
            - frozenset(self.out.message.records if self.out.message else ()),
        )
        self.date_decls = {i.name: i for i in items if isinstance(i, s.DateDecl)}
        for date_decl in self.date_decls.values():
            fr, nl = _label(date_decl.labels)
            # the expression is lowered per record (see date_expr); keep a record-free copy
            self.out.dates[date_decl.name] = ir.DateDef(
                name=date_decl.name,
                fr=fr,
                nl=nl,
                expr=ir.Today(),
                default=date_decl.default,
                origin=date_decl.span,
            )
        for item in items:
            if isinstance(item, s.RuleDecl):
                self.rule(item)
            elif isinstance(item, s.DeriveZone):
                self.derive_zone(item)
            elif isinstance(item, s.DeriveRecords):
                self.derive_records(item)
        return self.out

    def _zone_of(self, record: str, zone: str, span: Span) -> ir.Zone | None:
        layout = self.out.layouts.get(record)
        if layout is None:
            self.diags.append(
                error(
                    "unknown-record",
                    f"no layout declares {record}",
                    span,
                    did_you_mean(record, self.out.layouts),
                )
            )
            return None
        found = layout.by_name.get(zone)
        if found is None:
            self.diags.append(
                error(
                    "unknown-zone",
                    f"{record} has no zone named {zone!r}",
                    span,
                    did_you_mean(zone, layout.by_name),
                )
            )
        return found

    def derive_zone(self, decl: s.DeriveZone) -> None:
        zone = self._zone_of(decl.record, decl.zone, decl.span)
        if zone is None:
            return
        expr = self.lowerer.lower(decl.expr, Ctx(record=decl.record, rule_record=decl.record))
        if expr is None:
            return
        wanted = zone.value_type
        fits = expr.ty == wanted or (
            expr.ty.kind == "text" and wanted.kind == "text" and (expr.ty.width or 0) <= zone.length
        )
        if not fits:
            self.diags.append(
                error(
                    "type-mismatch",
                    f"{decl.record}.{decl.zone} holds {wanted}, not {expr.ty}",
                    decl.expr.span,
                )
            )
            return
        self.out.derivations.append(
            ir.Derivation(record=decl.record, zone=zone, expr=expr, origin=decl.span)
        )

    def derive_records(self, decl: s.DeriveRecords) -> None:
        source = self._zone_of(decl.source, decl.source_zone, decl.span)
        target = self._zone_of(decl.record, decl.zone, decl.span)
        if source is None or target is None:
            return
        if source.value_type != ir.INT or target.value_type != ir.INT:
            self.diags.append(
                error("type-mismatch", "records are derived per numeric key", decl.span)
            )
            return
        self.out.record_derivations.append(
            ir.RecordDerivation(
                record=decl.record,
                source=decl.source,
                source_zone=source,
                zone=target,
                origin=decl.span,
            )
        )

    # ------------------------------------------------------------------ layouts

    def layout(self, decl: s.LayoutDecl) -> None:
        zones = tuple(
            ir.Zone(
                layout=decl.name,
                zone_id=z.zone_id,
                name=z.name,
                kind=z.type,
                offset=z.start - decl.at,
                length=z.length,
                fr=z.labels.fr or "",
                nl=z.labels.nl or "",
                reports=z.reports,
                origin=z.span,
            )
            for z in decl.zones
        )
        fr, nl = _label(decl.labels)
        by_name = {z.name: z for z in zones}
        ids = {n for z in zones for n in zone_numbers(z.zone_id)}
        for z in decl.zones:
            if z.reports is not None and z.reports not in ids:
                self.diags.append(
                    error(
                        "unknown-zone",
                        f"{decl.name} has no zone {z.reports} for {z.name} to carry the errors of",
                        z.span,
                    )
                )

        def zone(name: str) -> ir.Zone | None:
            found = by_name.get(name)
            if found is None:
                self.diags.append(
                    error(
                        "unknown-zone",
                        f"{decl.name} has no zone named {name!r}",
                        decl.span,
                        did_you_mean(name, by_name),
                    )
                )
            return found

        pairs = tuple(
            (letter, code)
            for a, b in decl.pairs
            if (letter := zone(a)) is not None and (code := zone(b)) is not None
        )
        roles = tuple((role, found) for role, name in decl.roles if (found := zone(name)))
        if decl.kind != "block" and (decl.pairs or decl.at != 1):
            self.diags.append(
                error(
                    "bad-answer",
                    "'at' and 'errors' describe an echo block: declare it with 'block'",
                    decl.span,
                )
            )
        self.out.layouts[decl.name] = ir.Layout(
            kind=decl.kind,
            name=decl.name,
            key=decl.key,
            length=decl.length,
            zones=zones,
            fr=fr,
            nl=nl,
            note=decl.note,
            at=decl.at,
            pairs=pairs,
            roles=roles,
            origin=decl.span,
        )

    def layout_copies(self, decl: s.LayoutDecl) -> None:
        """Resolve ``copy ZONE from RECORD.ZONE`` and ``settle`` once every layout is known."""
        if decl.name not in self.out.layouts:
            return
        layout = self.out.layouts[decl.name]
        settles = []
        for st in decl.settles:
            zone = self._zone_of(decl.name, st.zone, st.span)
            if zone is None:
                continue
            if st.kind != "key" and zone.kind != "S":
                self.diags.append(
                    error("type-mismatch", f"{st.zone} holds an amount: it must be S", st.span)
                )
                continue
            settles.append(ir.Settle(kind=st.kind, account=st.account, zone=zone))
        if settles:
            layout = replace(layout, settles=tuple(settles))
            self.out.layouts[decl.name] = layout
        if not decl.copies:
            return
        copies: list[ir.Copy] = []
        for c in decl.copies:
            target = self._zone_of(decl.name, c.zone, c.span)
            source = self._zone_of(c.record, c.source, c.span)
            if target is None or source is None:
                continue
            if target.length != source.length:
                self.diags.append(
                    error(
                        "width-mismatch",
                        f"{decl.name}.{c.zone} ({target.length} positions) cannot hold "
                        f"{c.record}.{c.source} ({source.length} positions)",
                        c.span,
                    )
                )
                continue
            copies.append(ir.Copy(zone=target, record=c.record, source=source, origin=c.span))
        self.out.layouts[decl.name] = replace(layout, copies=tuple(copies))

    # ------------------------------------------------------------------ message structure

    def message(self, decl: s.MessageDecl) -> ir.Message | None:
        layouts = self.out.layouts
        productions = {p.name: p for p in decl.productions}
        for seg in decl.segments:
            if seg not in layouts or layouts[seg].kind != "segment":
                self.diags.append(
                    error("unknown-record", f"{seg} is not a declared segment", decl.span)
                )
        if not decl.productions and decl.record_length:
            self.diags.append(error("unexpected-end", "a message needs a structure", decl.span))
            return None
        root = decl.productions[0].name if decl.productions else ""
        order: dict[str, int] = {}
        counts: dict[str, int] = {}
        irprods: dict[str, tuple[ir.SItem, ...]] = {}

        def convert(items: tuple[s.StructItem, ...]) -> tuple[ir.SItem, ...]:
            out: list[ir.SItem] = []
            for it in items:
                if isinstance(it, s.StructRef):
                    is_group = it.name in productions
                    if not is_group and it.name not in layouts:
                        self.diags.append(
                            error(
                                "unknown-production",
                                f"{it.name} is neither a record nor a structure of the message",
                                it.span,
                                did_you_mean(it.name, [*layouts, *productions]),
                            )
                        )
                    out.append(ir.SRef(name=it.name, repeat=it.repeat, is_group=is_group))
                else:
                    out.append(
                        ir.SAlt(options=tuple(convert(o) for o in it.options), repeat=it.repeat)
                    )
            return tuple(out)

        for p in decl.productions:
            irprods[p.name] = convert(p.items)

        singles: set[str] = set()
        reached: dict[str, int] = {}
        groups: dict[str, ir.Group] = {}
        visiting: set[str] = set()

        def count_direct(items: tuple[s.StructItem, ...]) -> None:
            for it in items:
                if isinstance(it, s.StructRef):
                    if it.name in layouts and it.name not in productions:
                        counts[it.name] = counts.get(it.name, 0) + 1
                        if counts[it.name] == 2:
                            self.diags.append(
                                error(
                                    "structure-record-twice",
                                    f"{it.name} is placed twice in the structure",
                                    it.span,
                                )
                            )
                else:
                    for option in it.options:
                        count_direct(option)

        def walk(items: tuple[s.StructItem, ...], once: bool) -> None:
            for it in items:
                if isinstance(it, s.StructRef):
                    single = once and it.repeat == ""
                    if it.name in productions:
                        if it.name not in visiting:
                            visiting.add(it.name)
                            walk(productions[it.name].items, single)
                            visiting.discard(it.name)
                    elif it.name in layouts:
                        order.setdefault(it.name, len(order))
                        reached[it.name] = reached.get(it.name, 0) + 1
                        if single:
                            singles.add(it.name)
                else:
                    for option in it.options:
                        walk(option, False)

        for p in decl.productions:
            count_direct(p.items)
        visiting.add(root)
        if root:
            walk(productions[root].items, True)
        singles = {n for n in singles if reached.get(n) == 1}
        for p in decl.productions[1:]:
            members = self._members(p, productions)
            first, last = p.items[0], p.items[-1]
            opener = first.name if isinstance(first, s.StructRef) and first.repeat == "" else None
            closer = last.name if isinstance(last, s.StructRef) and last.repeat == "" else None
            if opener in productions:
                opener = None
            if closer in productions:
                closer = None
            groups[p.name] = ir.Group(
                name=p.name, opener=opener, closer=closer, members=frozenset(members)
            )
        fr, nl = _label(decl.labels)
        records = [layouts[n] for n in order if n in layouts]
        key_length = len(records[0].key or "") if records and records[0].key else 2
        return ir.Message(
            name=decl.name,
            fr=fr,
            nl=nl,
            segments=decl.segments,
            record_length=decl.record_length,
            key_length=key_length,
            productions=irprods,
            root=root,
            order=order,
            singletons=frozenset(singles),
            groups=groups,
            block=decl.block,
            echo=tuple(ir.Echo(names=e.names, always=e.always) for e in decl.echo),
            answers=(
                ir.Answers(kind=a.kind, message=a.message, cases=a.cases)
                if (a := decl.answers) is not None
                else None
            ),
            origin=decl.span,
        )

    def amounts(self, decl: s.AmountsDecl) -> None:
        if self.out.amounts is not None:
            self.diags.append(error("duplicate-name", "amounts are declared twice", decl.span))
            return
        msg = self.out.message
        if not decl.by_record or not decl.lines or msg is None:
            self.diags.append(
                error("unexpected-end", "amounts need a 'by' and a 'lines' clause", decl.span)
            )
            return
        group = next((g for g in msg.groups.values() if g.opener == decl.by_record), None)
        if group is None:
            self.diags.append(
                error(
                    "bad-context",
                    f"amounts are totalled per group: {decl.by_record} opens no group of "
                    f"message {msg.name}",
                    decl.span,
                )
            )
            return
        key = self._zone_of(decl.by_record, decl.by_zone, decl.span)
        amount: dict[str, ir.Zone] = {}
        account: dict[str, ir.Zone] = {}
        for line in decl.lines:
            if line not in group.members:
                self.diags.append(
                    error("bad-context", f"{line} is not a record of the {group.name}", decl.span)
                )
                continue
            a = self._zone_of(line, decl.amount, decl.span)
            c = self._zone_of(line, decl.account, decl.span)
            if a is not None and a.kind != "S":
                self.diags.append(
                    error("type-mismatch", f"{line}.{decl.amount} is not an amount (S)", decl.span)
                )
            elif c is not None and c.value_type != ir.INT:
                self.diags.append(
                    error("type-mismatch", f"{line}.{decl.account} is not numeric", decl.span)
                )
            elif a is not None and c is not None:
                amount[line], account[line] = a, c
        values = [a.value for a in decl.accounts]
        if len(set(values)) != len(values) or not values:
            self.diags.append(
                error("duplicate-name", "each account needs its own account value", decl.span)
            )
        if key is None or len(amount) != len(decl.lines):
            return
        fr, nl = _label(decl.labels)
        self.out.amounts = ir.Amounts(
            group=group.name,
            key=key,
            lines=decl.lines,
            amount=amount,
            account=account,
            accounts=tuple(
                ir.Account(name=a.name, value=a.value, fr=a.labels.fr or "", nl=a.labels.nl or "")
                for a in decl.accounts
            ),
            fr=fr,
            nl=nl,
            origin=decl.span,
        )

    def check_answer(self, decl: s.MessageDecl) -> None:
        """An answer names a message the rulebook describes, known verdicts, an echo block
        whose length completes the echoed records, and echoes records or groups it has."""
        msg = self.out.messages.get(decl.name)
        answers = decl.answers
        if msg is None:
            return
        if answers is None:
            if decl.block or decl.echo:
                self.diags.append(
                    error("bad-answer", "only an answer message echoes records", decl.span)
                )
            return
        answered = self.out.messages.get(answers.message)
        if answered is None or answered.answers is not None:
            self.diags.append(
                error(
                    "bad-answer",
                    f"message {answers.message} is not a message this rulebook describes",
                    answers.span,
                )
            )
            return
        for case, _ in answers.cases:
            if case not in ANSWER_CASES:
                self.diags.append(
                    error(
                        "bad-answer",
                        f"{case!r} is not a verdict (expected one of: {', '.join(ANSWER_CASES)})",
                        answers.span,
                        did_you_mean(case, ANSWER_CASES),
                    )
                )
        refusing = any(refusal is not None for _, refusal in answers.cases)
        if refusing and not any(self.out.layouts[s].role("refusal") for s in msg.segments):
            self.diags.append(
                error(
                    "bad-answer",
                    f"a refusal type needs a segment of {decl.name} with a 'refusal' zone",
                    answers.span,
                )
            )
        if decl.block is not None:
            block = self.out.layouts.get(decl.block)
            echoed = [self.out.layouts[n] for n in answered.records]
            if block is None or block.kind != "block":
                self.diags.append(
                    error("bad-answer", f"{decl.block} is not a declared block", decl.span)
                )
            elif any(lay.length + block.length != msg.record_length for lay in echoed):
                self.diags.append(
                    error(
                        "bad-answer",
                        f"echoed records of {answers.message} plus {decl.block} "
                        f"({block.length}) do not make records of {msg.record_length}",
                        decl.span,
                    )
                )
            elif block.at != answered.record_length + 1:
                self.diags.append(
                    error(
                        "bad-answer",
                        f"{decl.block} starts at {block.at}, not after the "
                        f"{answered.record_length} positions of the echoed record",
                        decl.span,
                    )
                )
        known = {*answered.records, *answered.groups}
        for echo in decl.echo:
            for name in echo.names:
                if name not in known:
                    self.diags.append(
                        error(
                            "bad-answer",
                            f"{name} is neither a record nor a group of {answers.message}",
                            echo.span,
                            did_you_mean(name, known),
                        )
                    )

    @staticmethod
    def _members(p: s.Production, productions: dict[str, s.Production]) -> set[str]:
        found: set[str] = set()
        stack: list[s.StructItem] = list(p.items)
        seen: set[str] = set()
        while stack:
            it = stack.pop()
            if isinstance(it, s.StructRef):
                if it.name in productions:
                    if it.name not in seen:
                        seen.add(it.name)
                        stack.extend(productions[it.name].items)
                else:
                    found.add(it.name)
            else:
                for option in it.options:
                    stack.extend(option)
        return found

    # ------------------------------------------------------------------ data

    def table(self, decl: s.TableDecl) -> None:
        all_values = tuple(v for ver in decl.versions for v in ver.values)
        ty = _lit_type(all_values) if all_values else ir.INT
        if ty.kind not in ("int", "text"):
            self.diags.append(
                error("type-mismatch", f"table {decl.name} mixes numbers and texts", decl.span)
            )
        versions = tuple(
            ir.Version(
                start=_bounds(v.period)[0],
                end=_bounds(v.period)[1],
                value=frozenset(_py_value(x) for x in v.values),
            )
            for v in decl.versions
        )
        fr, nl = _label(decl.labels)
        self.out.tables[decl.name] = ir.Table(
            name=decl.name, fr=fr, nl=nl, ty=ty, versions=versions, note=decl.note, origin=decl.span
        )

    def param(self, decl: s.ParamDecl) -> None:
        values = tuple(v.value for v in decl.versions) + (decl.choices or ())
        ty = _lit_type(values) if values else ir.INT
        if ty.kind == "mixed":
            self.diags.append(
                error("type-mismatch", f"parameter {decl.name} mixes kinds of values", decl.span)
            )
        versions = tuple(
            ir.Version(
                start=_bounds(v.period)[0], end=_bounds(v.period)[1], value=_py_value(v.value)
            )
            for v in decl.versions
        )
        fr, nl = _label(decl.labels)
        self.out.params[decl.name] = ir.Param(
            name=decl.name,
            fr=fr,
            nl=nl,
            ty=ty,
            choices=tuple(_py_value(c) for c in decl.choices) if decl.choices else None,
            versions=versions,
            note=decl.note,
            origin=decl.span,
        )

    def charmap(self, decl: s.CharmapDecl) -> None:
        values = [decl.other] * 256
        for entry in decl.entries:
            for offset, code in enumerate(range(ord(entry.lo), min(ord(entry.hi), 255) + 1)):
                values[code] = entry.value + offset
        fr, nl = _label(decl.labels)
        self.out.charmaps[decl.name] = ir.Charmap(
            name=decl.name, fr=fr, nl=nl, values=tuple(values), origin=decl.span
        )

    def date_expr(self, name: str, record: str, span: Span) -> bool:
        """Lower date ``name`` for rules on ``record`` (once per pair); False on errors."""
        key = (name, record)
        if key in self.out.date_exprs:
            return True
        if key in self.failed_dates:
            return False
        decl = self.date_decls[name]
        lowered = self.lowerer.lower(decl.expr, Ctx(record=record, rule_record=record))
        if lowered is not None and lowered.ty != ir.DATE:
            self.diags.append(error("type-mismatch", f"date {name} must be a date", decl.span))
            lowered = None
        if lowered is None:
            self.failed_dates.add(key)
            self.diags.append(
                error(
                    "unknown-name",
                    f"date {name} cannot be computed on {record}, the record of this rule",
                    span,
                )
            )
            return False
        self.out.date_exprs[key] = lowered
        return True

    # ------------------------------------------------------------------ rules

    def resolve_zone(self, layout: ir.Layout, zone_id: str, span: Span) -> ir.Zone | None:
        exact = [z for z in layout.zones if z.zone_id == zone_id]
        if exact:
            return exact[0]
        matches = [z for z in layout.zones if zone_id in zone_numbers(z.zone_id)]
        if not matches:
            wanted = zone_id.rstrip("abcdefgh")
            matches = [
                z
                for z in layout.zones
                if any(p.rstrip("abcdefgh") == wanted for p in zone_numbers(z.zone_id))
            ]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            ids = ", ".join(z.zone_id for z in matches)
            self.diags.append(
                error("ambiguous-zone", f"zone {zone_id} of {layout.name} could be {ids}", span)
            )
            return None
        self.diags.append(
            error(
                "unknown-zone",
                f"{layout.name} has no zone {zone_id}",
                span,
                did_you_mean(zone_id, [z.zone_id for z in layout.zones]),
            )
        )
        return None

    def rule(self, decl: s.RuleDecl) -> None:
        layout = self.out.layouts.get(decl.record)
        if layout is None:
            self.diags.append(
                error(
                    "unknown-record",
                    f"no layout declares {decl.record}",
                    decl.span,
                    did_you_mean(decl.record, self.out.layouts),
                )
            )
            return
        zone = self.resolve_zone(layout, decl.zone, decl.span)
        info = self.code_info(decl)
        governed = decl.governed_by or next(
            (n for n, d in self.date_decls.items() if d.default), None
        )
        ok = zone is not None and info is not None
        if governed is None or governed not in self.date_decls:
            if decl.governed_by is not None:
                self.diags.append(
                    error(
                        "unknown-name",
                        f"no date named {decl.governed_by!r}",
                        decl.span,
                        did_you_mean(decl.governed_by, self.date_decls),
                    )
                )
            ok = False
        elif not self.date_expr(governed, decl.record, decl.span):
            ok = False
        ctx = Ctx(record=decl.record, rule_record=decl.record)
        when = self.lowerer.lower(decl.when, ctx) if decl.when is not None else None
        require = self.lowerer.lower(decl.require, ctx)
        for expr, node, what in ((when, decl.when, "'when'"), (require, decl.require, "'require'")):
            if node is not None and expr is not None and expr.ty != ir.BOOL:
                self.diags.append(
                    error("type-mismatch", f"a {what} condition must be true or false", node.span)
                )
                ok = False
        if require is None or (decl.when is not None and when is None):
            ok = False
        fills = self.fill_target(decl, ctx)
        mutants = tuple(self.mutant(m) for m in decl.mutants)
        if not ok or None in mutants:
            return
        assert zone is not None and info is not None and require is not None and governed
        start, end = _bounds(decl.period)
        self.out.rules.append(
            ir.Rule(
                code=decl.code,
                letter=info.letter,
                record=decl.record,
                zone=zone,
                zone_label=decl.zone,
                start=start,
                end=end,
                governed_by=governed,
                per_sending=decl.per_sending,
                fr=info.fr,
                nl=info.nl,
                when=when,
                require=require,
                fills=fills,
                mutants=mutants,  # type: ignore[arg-type]
                note=decl.note,
                source=decl.span.file,
                line=decl.span.line,
                origin=decl.span,
            )
        )

    def code_info(self, decl: s.RuleDecl) -> ir.CodeInfo | None:
        official = self.book.catalogue.get(decl.code)
        if official:
            letters = [e.letter for e in official if e.letter]
            letter = decl.letter or (letters[0] if letters else None)
            entry = next((e for e in official if e.letter == letter), official[0])
            fr = decl.labels.fr or entry.fr or next((e.fr for e in official if e.fr), None)
            nl = decl.labels.nl or entry.nl or next((e.nl for e in official if e.nl), None)
            if letter is None or fr is None or nl is None:
                return None  # reported by rulebook.check
            return ir.CodeInfo(code=decl.code, letter=letter, fr=fr, nl=nl, official=True)
        declared = self.out.codes.get(decl.code)
        if declared is None:
            return None
        return ir.CodeInfo(
            code=decl.code,
            letter=declared.letter,
            fr=decl.labels.fr or declared.fr,
            nl=decl.labels.nl or declared.nl,
            official=False,
        )

    def fill_target(self, decl: s.RuleDecl, ctx: Ctx) -> ir.ZoneRef | None:
        if decl.fills is None:
            return None
        target = self.lowerer.lower(decl.fills, ctx)
        if target is None:
            return None
        if not isinstance(target, ir.ZoneRef):
            self.diags.append(error("bad-fill", "'fills' names a zone", decl.fills.span))
            return None
        return target

    def mutant(self, m: s.Mutant) -> ir.Mutant | None:
        mutations: list[ir.Mutation] = []
        ok = True
        for op in m.ops:
            layout = self.out.layouts.get(op.target.record)
            if layout is None:
                self.diags.append(
                    error("bad-mutant", f"no layout declares {op.target.record}", op.target.span)
                )
                ok = False
                continue
            zone = None
            if op.target.zone is not None:
                zone = layout.by_name.get(op.target.zone)
                if zone is None:
                    self.diags.append(
                        error(
                            "bad-mutant",
                            f"{layout.name} has no zone {op.target.zone!r}",
                            op.target.span,
                            did_you_mean(op.target.zone, layout.by_name),
                        )
                    )
                    ok = False
                    continue
            elif op.op in ("set", "raw"):
                self.diags.append(error("bad-mutant", "'set' names a zone", op.span))
                ok = False
                continue
            value = op.value.value if op.value is not None else None
            if isinstance(value, dt.date):
                value = f"{value:%Y%m%d}"
            mutations.append(
                ir.Mutation(
                    op=op.op,
                    record=layout.name,
                    occurrence=op.target.occurrence,
                    zone=zone,
                    value=value,  # type: ignore[arg-type]
                )
            )
        if self.book.scenarios and (m.scenario or "baseline") not in self.book.scenarios:
            self.diags.append(
                error(
                    "bad-mutant",
                    f"no scenario named {m.scenario or 'baseline'!r} in instructions/scenarios",
                    m.span,
                    did_you_mean(m.scenario or "baseline", self.book.scenarios),
                )
            )
            ok = False
        for code in m.also:
            if code not in self.book.catalogue and code not in self.out.codes:
                self.diags.append(error("bad-mutant", f"unknown code {code} in 'also'", m.span))
                ok = False
        if not ok:
            return None
        return ir.Mutant(scenario=m.scenario, mutations=tuple(mutations), also=m.also)


def lower(book: Rulebook) -> Lowered:
    """Lower a checked rulebook."""
    return Lowerer(book).run()
