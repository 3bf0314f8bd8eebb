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


def dump(compiled: Compiled) -> str:
    lines: list[str] = []
    for name in sorted(compiled.layouts):
        layout = compiled.layouts[name]
        lines.append(f"{layout.kind} {name} length {layout.length} key {layout.key}")
        for z in layout.zones:
            lines.append(f"  zone {z.zone_id} {z.name} {z.kind} @{z.start1}+{z.length}")
    msg = compiled.message
    lines.append(f"message {msg.name}")
    if msg.segments:
        lines.append(f"  segments {' '.join(msg.segments)}")
    lines.append(f"  order {' '.join(msg.records)}")
    lines.append(f"  singletons {' '.join(sorted(msg.singletons))}")
    for group in sorted(msg.groups.values(), key=lambda g: g.name):
        members = " ".join(sorted(group.members))
        lines.append(f"  group {group.name} opener {group.opener} closer {group.closer}: {members}")
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
