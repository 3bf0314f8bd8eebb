"""Hypothesis strategies for valid sendings, derived from the compiled rulebook.

Input: a compiled rulebook (its scenarios, structure, layouts and rules).
Output: ``sendings(compiled)``, a strategy of structured sendings that ``generate`` turns into
files the rulebook accepts without a finding.

What varies, and why it stays valid:
- the structure: the number of invoices (drawn from one scenario's invoices, kept in
  ascending destination order and renumbered) and the number of each repeated element inside
  them (a prestation, a maintenance line: copies of the scenario's own);
- the free zones: zones of the message's records that no rule, date or derivation reads
  (``free_zones``, computed from the rules) take any value their type and length allow;
- everything the rules compute (sequence numbers, totals, control digits, the ET95 records)
  is filled by the generator, as for any input.
Requires hypothesis (a development dependency).
"""

from __future__ import annotations

import copy
import string
from typing import Any

from hypothesis import strategies as st

from compiler import Compiled, ir
from compiler.passes import walk

TEXT = string.ascii_uppercase + string.digits + " -/."


def read_zones(compiled: Compiled) -> set[tuple[str, str]]:
    """(layout, zone) pairs some rule, date or derivation reads or fills."""
    found: set[tuple[str, str]] = set()

    def visit(e: ir.Expr | None) -> None:
        if e is None:
            return
        for node in walk(e):
            if isinstance(node, ir.ZoneRef):
                found.add((node.zone.layout, node.zone.name))
            elif isinstance(node, ir.Aggregate):
                for part in node.parts:
                    for sub in (part.value, part.where, part.key):
                        visit(sub)

    for rule in compiled.rules:
        found.add((rule.record, rule.zone.name))
        visit(rule.when)
        visit(rule.require)
        visit(rule.fills)
    for expr in compiled.date_exprs.values():
        visit(expr)
    for d in compiled.derivations:
        found.add((d.record, d.zone.name))
        visit(d.expr)
    for rd in compiled.record_derivations:
        found.add((rd.source, rd.source_zone.name))
        found.add((rd.record, rd.zone.name))
    return found


def free_zones(compiled: Compiled) -> dict[str, list[ir.Zone]]:
    """Per record of the message, the zones no rule constrains (any value of their type)."""
    read = read_zones(compiled)
    return {
        name: [z for z in compiled.layouts[name].zones if (name, z.name) not in read]
        for name in compiled.message.records
    }


def zone_values(zone: ir.Zone) -> st.SearchStrategy[Any]:
    if zone.kind == "A":
        return st.text(alphabet=TEXT, max_size=zone.length).map(str.strip)
    if zone.kind == "D":
        return st.dates().map(lambda d: d.isoformat())
    if zone.kind == "S":
        top = 10 ** (zone.length - 1) - 1
        return st.integers(-top, top)
    return st.integers(0, 10**zone.length - 1)


@st.composite
def sendings(
    draw: st.DrawFn,
    compiled: Compiled,
    scenarios: tuple[str, ...] | None = None,
    max_invoices: int = 6,
    max_copies: int = 3,
) -> dict[str, Any]:
    name = draw(st.sampled_from(sorted(scenarios or compiled.scenarios)))
    data = copy.deepcopy(compiled.scenarios[name])
    templates = data["invoice"]
    count = draw(st.integers(1, max_invoices))
    invoices = [copy.deepcopy(draw(st.sampled_from(templates))) for _ in range(count)]
    invoices.sort(key=lambda inv: int(inv["ET20"].get("destination_mutuality", 0)))
    for number, invoice in enumerate(invoices, start=1):
        invoice["ET20"]["invoice_number"] = number
        _repeat(draw, compiled, compiled.message.productions["invoice"], invoice, max_copies)
    data["invoice"] = invoices
    free = free_zones(compiled)
    _free_values(draw, free, data)
    return data


def _repeat(
    draw: st.DrawFn,
    compiled: Compiled,
    items: tuple[ir.SItem, ...],
    obj: dict[str, Any],
    max_copies: int,
) -> None:
    """Copies of repeated elements (1 .. max_copies of each list the template has)."""
    for it in items:
        if isinstance(it, ir.SAlt):
            for option in it.options:
                _repeat(draw, compiled, option, obj, max_copies)
            continue
        value = obj.get(it.name)
        if isinstance(value, list) and value and it.repeat in ("*", "+"):
            size = draw(st.integers(1, max_copies))
            obj[it.name] = [copy.deepcopy(value[k % len(value)]) for k in range(size)]


def _free_values(draw: st.DrawFn, free: dict[str, list[ir.Zone]], obj: Any) -> None:
    if isinstance(obj, list):
        for element in obj:
            _free_values(draw, free, element)
        return
    if not isinstance(obj, dict):
        return
    for key, value in obj.items():
        if key in free and isinstance(value, dict):
            for zone in free[key]:
                if draw(st.booleans()):
                    value[zone.name] = draw(zone_values(zone))
        else:
            _free_values(draw, free, value)
