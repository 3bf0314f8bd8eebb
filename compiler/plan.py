"""The validation plan: what the validator runs for a message, as data you can print.

Input: ``Compiled`` (rules with their mode and phase set by ``compiler.passes``).
Output: ``ValidationPlan``: the segments' format rules (read before the records); per record
type, in the order of the structure, its rules of phase 1 (its own characters only: never
unknown, evaluated first, their findings explain what later rules cannot read) and of phase 2
(values of its own record, of other records, of aggregates), the checks screened together;
per group, the rules evaluated on its opener once the group is complete; the end-of-sending
rules; the aggregates, each computed once however many rules read it, with identical sources
contributing once; the records carried from block to block and those kept to the end; the
governing dates.

``validator.plan`` builds its closures from this plan and nothing else decides what runs
when; ``rulebook plan`` prints it (``text``) and the golden tests pin it.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler import Compiled, ir
from compiler.dump import expr
from compiler.passes import outer_nodes, walk
from compiler.screens import AnchorCheck, CharCheck, anchor_check, char_check


@dataclass(frozen=True, slots=True)
class Step:
    """One rule as the plan runs it: ``rule`` is its index in ``Compiled.rules``."""

    rule: int
    code: str
    record: str
    zone: str
    start: int
    end: int
    phase: int
    reads: tuple[str, ...]  # what it reads beyond its own record (sorted)
    aggregates: tuple[int, ...]  # the aggregates it reads (indexes in the plan's)
    screen: CharCheck | AnchorCheck | None  # screened together with its record type's checks

    @property
    def own(self) -> bool:
        """Whether it reads nothing but its own record (and constants, tables, parameters)."""
        return not any(r.startswith(CROSS) for r in self.reads)


CROSS = ("previous", "next", "anchor", "prior", "final", "segment", "aggregate", "date")


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """A record type's rules as the records stream, and what is kept of its records."""

    name: str
    phase1: tuple[Step, ...]
    phase2: tuple[Step, ...]
    contributes: tuple[int, ...]  # the aggregates its records contribute to
    carried: bool  # its last record is carried from block to block
    retained: bool  # its records are kept until the end of the sending


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """A group and the rules evaluated on its opener once an occurrence is complete."""

    name: str
    opener: str | None
    closer: str | None
    members: tuple[str, ...]
    complete: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class AggregatePlan:
    """An aggregate computed once per validation for every rule that reads it."""

    index: int
    node: ir.Aggregate
    mode: str  # the mode of the rules reading it: stream, opener or final
    source: int  # index of its contributions: aggregates with identical parts share them
    readers: tuple[int, ...]  # the rules reading it (indexes in ``Compiled.rules``)

    @property
    def how(self) -> str:
        keyed = " keyed by " + expr(self.node.this_key) if self.node.this_key else ""
        if self.mode == "final":
            return "at the end of the sending" + keyed
        if self.mode == "opener":
            return f"each {self.node.scope} complete, read on its opener{keyed}"
        if self.node.scope == "sending":
            return "running over the sending" + keyed
        return f"running within each {self.node.scope}{keyed}"


@dataclass(frozen=True, slots=True)
class ValidationPlan:
    """Everything the validator runs for one message, compiled once."""

    message: str
    version: str
    hash: str
    segments: tuple[Step, ...]  # the segments' format rules, before the records
    records: tuple[RecordPlan, ...]
    groups: tuple[GroupPlan, ...]
    final: tuple[Step, ...]  # the end-of-sending rules, in the order they run
    aggregates: tuple[AggregatePlan, ...]
    dates: tuple[tuple[str, str, ir.Expr], ...]  # (date, record type, how it is computed)
    default_date: str

    def record(self, name: str) -> RecordPlan | None:
        return next((r for r in self.records if r.name == name), None)

    def aggregate_of(self, node: ir.Aggregate, mode: str) -> AggregatePlan:
        """The aggregate a rule's node is computed by (IR nodes compare by value)."""
        return next(a for a in self.aggregates if a.mode == mode and a.node == node)


def aggregates_read(rule: ir.Rule, index: dict[tuple[ir.Aggregate, str], int]) -> tuple[int, ...]:
    """The aggregates a rule reads, as indexes of the plan's (not those inside them)."""
    exprs = [e for e in (rule.when, rule.require) if e is not None]
    nodes = (n for e in exprs for n in outer_nodes(e) if isinstance(n, ir.Aggregate))
    return tuple(sorted({index[(n, rule.mode)] for n in nodes}))


def reads_of(compiled: Compiled, rule: ir.Rule, aggregates: tuple[int, ...]) -> tuple[str, ...]:
    """What a rule reads beyond its own record's characters and values (an aggregate's own
    sources are the aggregate's, printed with it)."""
    found = {f"aggregate A{k + 1}" for k in aggregates}
    exprs = [e for e in (rule.when, rule.require) if e is not None]
    for e in exprs:
        for node in outer_nodes(e):
            if isinstance(node, ir.ZoneRef) and node.access != "self":
                found.add(node.access if node.record is None else f"{node.access} {node.record}")
            elif isinstance(node, ir.RecordKey):
                found.add(node.access)
            elif isinstance(node, ir.DateRef):
                found.add(f"date {node.name}")
            elif isinstance(node, ir.Today):
                found.add("today")
            elif isinstance(node, ir.InTable):
                found.add(f"table {node.table}")
            elif isinstance(node, ir.ParamRef):
                found.add(f"parameter {node.name}")
    dated = rule.start > ir.FIRST_DATE or rule.end < ir.LAST_DATE
    if dated and (rule.governed_by, rule.record) in compiled.date_exprs:
        found.add(f"date {rule.governed_by}")
    return tuple(sorted(found))


def build(compiled: Compiled) -> ValidationPlan:
    """The plan of the compiled rulebook's message."""
    msg = compiled.message
    index: dict[tuple[ir.Aggregate, str], int] = {}
    sources: dict[tuple[ir.AggPart, ...], int] = {}
    nodes: list[tuple[ir.Aggregate, str]] = []
    readers: dict[int, list[int]] = {}
    for i, rule in enumerate(compiled.rules):
        for e in (x for x in (rule.when, rule.require) if x is not None):
            for node in walk(e):
                if isinstance(node, ir.Aggregate):
                    k = index.setdefault((node, rule.mode), len(index))
                    if k == len(nodes):
                        nodes.append((node, rule.mode))
                        sources.setdefault(node.parts, len(sources))
                    if i not in readers.setdefault(k, []):
                        readers[k].append(i)
    aggregates = tuple(
        AggregatePlan(
            index=k, node=node, mode=mode, source=sources[node.parts], readers=tuple(readers[k])
        )
        for k, (node, mode) in enumerate(nodes)
    )
    carry: set[str] = set()
    retain: set[str] = set()
    phase1: dict[str, list[Step]] = {}
    phase2: dict[str, list[Step]] = {}
    complete: dict[str, list[Step]] = {}
    segments: list[Step] = []
    final: list[Step] = []
    for i, rule in enumerate(compiled.rules):
        layout = compiled.layouts[rule.record]
        read = aggregates_read(rule, index)
        step = Step(
            rule=i,
            code=rule.code,
            record=rule.record,
            zone=rule.zone_label,
            start=rule.start,
            end=rule.end,
            phase=rule.phase,
            reads=reads_of(compiled, rule, read),
            aggregates=read,
            screen=char_check(rule, layout) or anchor_check(rule, layout),
        )
        for e in (x for x in (rule.when, rule.require) if x is not None):
            for node in walk(e):
                if isinstance(node, ir.ZoneRef) and node.access in ("anchor", "prior", "final"):
                    assert node.record is not None
                    carry.add(node.record)
        for (name, lay), date in compiled.date_exprs.items():
            if name == rule.governed_by and lay == rule.record:
                carry.update(n.record for n in walk(date) if isinstance(n, ir.ZoneRef) and n.record)
        if rule.mode == "final":
            if layout.kind == "segment" and rule.phase == 1:
                segments.append(step)
            else:
                final.append(step)
            if rule.record in msg.order:
                retain.add(rule.record)
        elif rule.mode == "opener":
            group = next(g for g in msg.groups.values() if g.opener == rule.record)
            complete.setdefault(group.name, []).append(step)
        else:
            target = phase1 if rule.phase == 1 else phase2
            target.setdefault(rule.record, []).append(step)
    for g in msg.groups.values():
        carry.update(edge for edge in (g.opener, g.closer) if edge is not None)
    final.sort(key=lambda s: s.phase)  # stable: rule order within a phase
    contributes: dict[str, set[int]] = {}
    for a in aggregates:
        for part in a.node.parts:
            contributes.setdefault(part.record, set()).add(a.index)
    records = tuple(
        RecordPlan(
            name=name,
            phase1=tuple(phase1.get(name, ())),
            phase2=tuple(phase2.get(name, ())),
            contributes=tuple(sorted(contributes.get(name, ()))),
            carried=name in carry,
            retained=name in retain,
        )
        for name in msg.records
    )
    groups = tuple(
        GroupPlan(
            name=g.name,
            opener=g.opener,
            closer=g.closer,
            members=tuple(r for r in msg.records if r in g.members),
            complete=tuple(complete.get(g.name, ())),
        )
        for g in sorted(msg.groups.values(), key=lambda g: g.name)
    )
    return ValidationPlan(
        message=msg.name,
        version=compiled.version,
        hash=compiled.hash,
        segments=tuple(segments),
        records=records,
        groups=groups,
        final=tuple(final),
        aggregates=aggregates,
        dates=tuple((name, lay, e) for (name, lay), e in sorted(compiled.date_exprs.items())),
        default_date=compiled.default_date,
    )
