"""A stable text form of the compiled IR, for golden tests and ``rulebook check --dump``.

Input: ``Compiled``.
Output: deterministic text: layouts with their zones, the message structure, and every rule
with its mode, phase, period and expressions in a compact prefix notation. Spans are left
out, so reformatting a source does not change the dump.
"""

from __future__ import annotations

from compiler import Compiled, ir


def expr(e: ir.Expr | None) -> str:
    """Prefix notation of an expression."""
    if e is None:
        return "-"
    if isinstance(e, ir.Const):
        value = e.value
        return repr(value.decode("latin-1")) if isinstance(value, bytes) else str(value)
    if isinstance(e, ir.Today):
        return "today"
    if isinstance(e, ir.ParamRef):
        return f"param:{e.name}"
    if isinstance(e, ir.DateRef):
        return f"date:{e.name}"
    if isinstance(e, ir.CharmapRef):
        return f"charmap:{e.name}"
    if isinstance(e, ir.ZoneRef):
        where = e.access if e.record is None else f"{e.access}:{e.record}"
        raw = "raw:" if e.raw else ""
        return f"{raw}{where}.{e.zone.name}@{e.zone.start1}+{e.zone.length}"
    if isinstance(e, ir.RecordKey):
        return f"{e.access}.type"
    if isinstance(e, ir.RecordText):
        return f"record[{e.offset + 1}..{e.offset + e.length}]"
    if isinstance(e, ir.Slice):
        return f"{expr(e.operand)}[{e.offset + 1}..{e.offset + e.length}]"
    if isinstance(e, ir.Unary):
        return f"({e.op} {expr(e.operand)})"
    if isinstance(e, ir.Arith | ir.Compare | ir.Logic):
        return f"({e.op} {expr(e.left)} {expr(e.right)})"
    if isinstance(e, ir.If):
        return f"(if {expr(e.cond)} {expr(e.then)} {expr(e.other)})"
    if isinstance(e, ir.InSet):
        values = ", ".join(
            repr(v.decode("latin-1")) if isinstance(v, bytes) else str(v) for v in e.values
        )
        return f"({'not-in' if e.negated else 'in'} {expr(e.operand)} [{values}])"
    if isinstance(e, ir.InTable):
        return f"({'not-in' if e.negated else 'in'} {expr(e.operand)} table:{e.table})"
    if isinstance(e, ir.Call):
        return f"({e.func} {' '.join(expr(a) for a in e.args)})"
    assert isinstance(e, ir.Aggregate)
    parts = " ".join(
        f"[{p.record} value={expr(p.value)} where={expr(p.where)} key={expr(p.key)}]"
        for p in e.parts
    )
    key = f" this={expr(e.this_key)}" if e.this_key is not None else ""
    return f"({e.func} {e.scope}{key} {parts})"


def day(value: int) -> str:
    """A period bound as an ISO date; the open ends print as ``-``."""
    return ir.iso_day(value) or "-"


def _message(msg: ir.Message) -> list[str]:
    lines = [f"message {msg.name}"]
    if msg.answers is not None:
        cases = ", ".join(f"{c} {r or '-'}" for c, r in msg.answers.cases)
        lines.append(
            f"  {msg.answers.kind} {msg.answers.message}" + (f": {cases}" if cases else "")
        )
    if msg.segments:
        lines.append(f"  segments {' '.join(msg.segments)}")
    if msg.block is not None:
        lines.append(f"  block {msg.block}")
    for echo in msg.echo:
        lines.append(f"  echo {' '.join(echo.names)} {'always' if echo.always else 'with errors'}")
    if msg.records:
        lines.append(f"  order {' '.join(msg.records)}")
        lines.append(f"  singletons {' '.join(sorted(msg.singletons))}")
    for group in sorted(msg.groups.values(), key=lambda g: g.name):
        members = " ".join(sorted(group.members))
        lines.append(f"  group {group.name} opener {group.opener} closer {group.closer}: {members}")
    return lines


def dump(compiled: Compiled) -> str:
    lines: list[str] = []
    for name in sorted(compiled.layouts):
        layout = compiled.layouts[name]
        at = f" at {layout.at}" if layout.at != 1 else ""
        lines.append(f"{layout.kind} {name} length {layout.length}{at} key {layout.key}")
        for role, zone in layout.roles:
            lines.append(f"  role {role} {zone.name}")
        for letter, code in layout.pairs:
            lines.append(f"  errors {letter.name} {code.name}")
        for c in layout.copies:
            lines.append(f"  copy {c.zone.name} from {c.record}.{c.source.name}")
        for st in layout.settles:
            lines.append(f"  settle {st.kind} {st.account or '*'} {st.zone.name}")
        for z in layout.zones:
            reports = f" for {z.reports}" if z.reports else ""
            start = z.start1 + layout.at - 1  # blocks: the position in the echoed record
            lines.append(f"  zone {z.zone_id} {z.name} {z.kind} @{start}+{z.length}{reports}")
    for msg in sorted(compiled.messages.values(), key=lambda m: m.name):
        lines.extend(_message(msg))
    if compiled.amounts is not None:
        a = compiled.amounts
        lines.append(f"amounts {a.group} by {a.key.layout}.{a.key.name}")
        for line in a.lines:
            lines.append(
                f"  line {line} amount {a.amount[line].name} account {a.account[line].name}"
            )
        for acc in a.accounts:
            lines.append(f"  account {acc.name} = {acc.value}")
    for rule in sorted(compiled.rules, key=lambda r: (r.code, r.start)):
        lines.append(
            f"rule {rule.code} {rule.letter} {rule.record}.{rule.zone.name} "
            f"zone {rule.zone_label} {day(rule.start)}..{day(rule.end)} "
            f"by {rule.governed_by} mode {rule.mode} phase {rule.phase}"
        )
        if rule.when is not None:
            lines.append(f"  when {expr(rule.when)}")
        lines.append(f"  require {expr(rule.require)}")
        if rule.fills is not None:
            lines.append(f"  fills {expr(rule.fills)}")
    return "\n".join(lines) + "\n"
