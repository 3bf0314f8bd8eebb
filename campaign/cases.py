"""A campaign's cases: stable, rulebook-derived tests, and the declared ones.

Input: the pinned compiled rulebook, a selection (``--select``), optionally a folder of
declared cases (YAML) and, for ``changed-since=REV``, the rulebook of that revision.
Output: ``CaseSpec`` values in a stable order: ``baseline/<scenario>`` (expected: no finding),
``mutant/<code>[-n]`` (a rule's mutant, expected: its code and the ones it declares with
``also``, exactly what ``rulebook coverage`` checks) and ``declared/<key>`` (what the rulebook
cannot compute — insurability, medical-house affiliation, payment commitments — with an
expectation written by hand, its author and note). The key of a case is its identity across
rounds and campaigns; its rule's source line and period say which version of the rule it is.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from compiler import Compiled, ir, load_compiled
from generator.mutants import DEFAULT_SCENARIO, scenario_date
from versions.diff import diff
from versions.source import SourceError, resolve

KINDS = ("baseline", "mutant", "declared")
TARGET = re.compile(r"(?P<record>[A-Z0-9]+)(?:\[(?P<n>\d+)\])?(?:\.(?P<zone>[a-z0-9_]+))?")


class CaseError(ValueError):
    """A selection or a declared case that cannot be used; the text says where."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseSpec:
    key: str
    kind: str
    scenario: str
    today: dt.date
    edits: tuple[dict[str, Any], ...] = ()  # the mutant's edits (``edits_json``)
    expected_codes: tuple[str, ...] = ()
    rule: ir.Rule | None = None
    index: int | None = None
    declared: dict[str, Any] | None = None
    declared_by: str | None = None
    note: str | None = None

    @property
    def needs(self) -> tuple[str, ...]:
        """The participant parameters a declared case's edits use."""
        return tuple(e["param"] for e in self.edits if "param" in e)


@dataclass(frozen=True, slots=True)
class Selection:
    """``--select`` values: kinds (``all``, ``baselines``, ``mutants``) and filters on the
    mutants (``letter=B``, ``record=ET50``, ``changed-since=REV``), the filters together."""

    kinds: frozenset[str]
    letters: frozenset[str]
    records: frozenset[str]
    changed_since: str | None

    @classmethod
    def parse(cls, values: Iterable[str]) -> Selection:
        kinds: set[str] = set()
        letters: set[str] = set()
        records: set[str] = set()
        since = None
        for value in values:
            name, _, arg = value.partition("=")
            if not arg and name in ("all", "baselines", "mutants"):
                kinds |= {"baseline", "mutant"} if name == "all" else {name[:-1]}
            elif name == "letter" and arg:
                letters.add(arg.upper())
            elif name == "record" and arg:
                records.add(arg.upper())
            elif name == "changed-since" and arg:
                since = arg
            else:
                raise CaseError(
                    f"--select {value!r}: expected all, baselines, mutants, letter=X, "
                    "record=ETnn or changed-since=REV"
                )
        if not kinds:
            kinds = {"baseline", "mutant"}
        return cls(frozenset(kinds), frozenset(letters), frozenset(records), since)

    def as_list(self) -> list[str]:
        out = sorted(f"{k}s" for k in self.kinds)
        out += [f"letter={x}" for x in sorted(self.letters)]
        out += [f"record={x}" for x in sorted(self.records)]
        if self.changed_since:
            out.append(f"changed-since={self.changed_since}")
        return out


def changed_codes(compiled: Compiled, revision: str, repo: Path) -> set[str]:
    """The codes whose rules ``rulebook diff REV`` reports as added or changed."""
    with tempfile.TemporaryDirectory(prefix="rulebook-campaign-") as work:
        try:
            old = load_compiled(resolve(revision, repo, Path(work)), use_cache=False)
        except SourceError as exc:
            raise CaseError(f"changed-since={revision}: {exc}") from None
    return {
        item.name.split(" ")[0]
        for item in diff(old, compiled).of("rule")
        if item.status in ("added", "changed")
    }


def generated(compiled: Compiled, selection: Selection, repo: Path | None = None) -> list[CaseSpec]:
    """Baselines and mutants, in the rulebook's order (scenarios by name, rules as declared)."""
    out: list[CaseSpec] = []
    if "baseline" in selection.kinds:
        for name in sorted(compiled.scenarios):
            out.append(
                CaseSpec(
                    key=f"baseline/{name}",
                    kind="baseline",
                    scenario=name,
                    today=scenario_date(compiled, name),
                )
            )
    if "mutant" not in selection.kinds:
        return out
    wanted: set[str] | None = None
    if selection.changed_since:
        wanted = changed_codes(compiled, selection.changed_since, repo or Path.cwd())
    for rule in compiled.rules:
        if selection.letters and rule.letter not in selection.letters:
            continue
        if selection.records and rule.record not in selection.records:
            continue
        if wanted is not None and rule.code not in wanted:
            continue
        for index, mutant in enumerate(rule.mutants):
            scenario = mutant.scenario or DEFAULT_SCENARIO
            suffix = f"-{index + 1}" if index else ""
            out.append(
                CaseSpec(
                    key=f"mutant/{rule.code}{suffix}",
                    kind="mutant",
                    scenario=scenario,
                    today=scenario_date(compiled, scenario),
                    edits=tuple(edits_json(mutant.mutations)),
                    expected_codes=tuple(sorted({rule.code, *mutant.also})),
                    rule=rule,
                    index=index,
                )
            )
    return out


# --------------------------------------------------------------------------- declared cases


def _edit(compiled: Compiled, where: str, item: Any) -> tuple[ir.Mutation, str | None]:
    """One edit ``{set|raw: "REC[n].zone", value: V}`` or ``{delete|duplicate: "REC[n]"}``;
    a value ``{param: NAME}`` is the participant's parameter NAME."""
    if not isinstance(item, dict):
        raise CaseError(f"{where}: an edit is a mapping like {{set: ET20.zone, value: 1}}")
    ops = [k for k in ("set", "raw", "delete", "duplicate") if k in item]
    if len(ops) != 1:
        raise CaseError(f"{where}: an edit has one of set, raw, delete, duplicate")
    op = ops[0]
    match = TARGET.fullmatch(str(item[op]))
    if match is None:
        raise CaseError(f"{where}: {item[op]!r} is not RECORD[n].zone")
    layout = compiled.layouts.get(match["record"])
    if layout is None:
        raise CaseError(f"{where}: no layout {match['record']!r}")
    zone = None
    if match["zone"]:
        zone = layout.by_name.get(match["zone"])
        if zone is None:
            raise CaseError(f"{where}: {layout.name} has no zone {match['zone']!r}")
    if op in ("set", "raw") and (zone is None or "value" not in item):
        raise CaseError(f"{where}: {op} needs RECORD.zone and a value")
    value = item.get("value")
    param = None
    if isinstance(value, dict):
        if set(value) != {"param"}:
            raise CaseError(f"{where}: a value is a number, a text or {{param: NAME}}")
        param = str(value["param"])
        value = None
    if isinstance(value, dt.date):
        value = f"{value:%Y%m%d}"
    mutation = ir.Mutation(
        op=op,
        record=layout.name,
        occurrence=int(match["n"] or 1),
        zone=zone,
        value=value,
    )
    return mutation, param


EXPECT_KEYS = {"message", "refusal_type", "error_percentage", "segments", "records"}


def _expectation(compiled: Compiled, where: str, expect: Any) -> dict[str, Any]:
    if not isinstance(expect, dict) or "message" not in expect:
        raise CaseError(f"{where}: 'expect' gives at least the answer's message")
    unknown = set(expect) - EXPECT_KEYS
    if unknown:
        raise CaseError(f"{where}: unknown keys in 'expect': {', '.join(sorted(unknown))}")
    if str(expect["message"]) not in compiled.messages:
        raise CaseError(f"{where}: {expect['message']} is not a message of this rulebook")
    records = []
    for n, rec in enumerate(expect.get("records") or [], start=1):
        match = TARGET.fullmatch(str(rec.get("record", ""))) if isinstance(rec, dict) else None
        if match is None or match["zone"] or match["record"] not in compiled.layouts:
            raise CaseError(f"{where}: records[{n}] names its record as ET20[1]")
        errors = [[str(e[0]), str(e[1])] for e in rec.get("errors") or []]
        records.append({"record": f"{match['record']}[{match['n'] or 1}]", "errors": errors})
    refusal = expect.get("refusal_type")
    percentage = expect.get("error_percentage")
    return {
        "message": str(expect["message"]),
        "refusal_type": None if refusal is None else f"{int(refusal):02d}",
        "error_percentage": None if percentage is None else f"{int(percentage):05d}",
        "segments": {
            str(k): [[str(e[0]), str(e[1])] for e in v]
            for k, v in (expect.get("segments") or {}).items()
        },
        "records": records,
    }


def declared(compiled: Compiled, folder: Path) -> list[CaseSpec]:
    """Every ``*.yaml`` of ``folder`` (sorted by name), each one case."""
    out: list[CaseSpec] = []
    for path in sorted(folder.glob("*.yaml")):
        where = path.name
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CaseError(f"{where}: {exc}") from None
        if not isinstance(data, dict):
            raise CaseError(f"{where}: a declared case is a mapping")
        for needed in ("key", "expect", "declared_by", "note"):
            if needed not in data:
                raise CaseError(f"{where}: '{needed}' is missing")
        scenario = str(data.get("scenario", DEFAULT_SCENARIO))
        if scenario not in compiled.scenarios:
            raise CaseError(f"{where}: no scenario {scenario!r} in instructions/scenarios")
        edits = []
        for n, item in enumerate(data.get("edits") or [], start=1):
            mutation, param = _edit(compiled, f"{where}: edits[{n}]", item)
            edits.extend(edits_json([mutation], [param]))
        out.append(
            CaseSpec(
                key=f"declared/{data['key']}",
                kind="declared",
                scenario=scenario,
                today=scenario_date(compiled, scenario),
                edits=tuple(edits),
                declared=_expectation(compiled, where, data["expect"]),
                declared_by=str(data["declared_by"]),
                note=str(data["note"]),
            )
        )
    return out


def edits_json(
    mutations: Iterable[ir.Mutation], params: Iterable[str | None] = ()
) -> list[dict[str, Any]]:
    names = list(params)
    out = []
    for n, m in enumerate(mutations):
        item: dict[str, Any] = {"op": m.op, "record": m.record, "occurrence": m.occurrence}
        if m.zone is not None:
            item["zone"] = m.zone.name
        if m.op in ("set", "raw"):
            item["value"] = m.value
        if n < len(names) and names[n] is not None:
            item["param"] = names[n]
        out.append(item)
    return out


def mutations_from(
    compiled: Compiled, edits: Iterable[dict[str, Any]], params: dict[str, Any]
) -> tuple[ir.Mutation, ...]:
    """The edits as the generator takes them, a ``param`` edit taking the participant's
    value (``campaign.instances`` checks that the participant gives it)."""
    return tuple(
        ir.Mutation(
            op=e["op"],
            record=e["record"],
            occurrence=e["occurrence"],
            zone=compiled.layouts[e["record"]].by_name[e["zone"]] if "zone" in e else None,
            value=params[e["param"]] if "param" in e else e.get("value"),
        )
        for e in edits
    )
