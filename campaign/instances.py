"""A case's file for one participant, and what the rulebook expects its insurer to answer.

Input: the pinned compiled rulebook with its campaign profile (``instructions/campaign.json``),
a case (``campaign.cases``), the participant's parameters and the instance's serial number.
Output: the file's bytes — the case's scenario with the participant's values substituted
(mutualities, test NISS: the n-th distinct value of the scenario becomes the participant's
n-th, in the case's edits too), the test flags set, every derived zone recomputed by the
generator, then the case's edits — and its two references, unique in the campaign, which the
answers repeat; and the expectation: the answers ``rulebook answer`` writes for that very file
(acknowledgement, the verdict's answer, the settlement of an accepted file), their outcomes
(``campaign.outcome``), and the findings an echoed record had no room for. Intended
differences between participants therefore never show as divergence.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from answer import answers_for, read_message
from answer.sending import split
from answer.write import NO_ROOM
from campaign.cases import CaseError, CaseSpec, mutations_from
from campaign.outcome import observe
from compiler import Compiled, ir
from compiler.passes import walk
from generator import variants
from generator.encode import encode
from generator.parse import exact_cut
from validator import validate


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    zones: frozenset[tuple[str, str]]
    digits: int


@dataclass(frozen=True, slots=True)
class Profile:
    flags: dict[tuple[str, str], Any]
    references: tuple[ir.Zone, ir.Zone]  # (sender reference, file reference)
    parameters: dict[str, Parameter]


def _zone(compiled: Compiled, where: str, name: str) -> ir.Zone:
    record, _, zone = str(name).partition(".")
    layout = compiled.layouts.get(record)
    if layout is None or zone not in layout.by_name:
        raise CaseError(f"instructions/campaign.json: {where}: {name!r} is no zone of a layout")
    return layout.by_name[zone]


def profile(compiled: Compiled) -> Profile:
    """The rulebook's campaign profile, its zones checked against the layouts; the reference
    zones must not feed a derived zone (they are set after the generator has run)."""
    data = compiled.campaign
    if not data:
        raise CaseError("this rulebook has no instructions/campaign.json: it cannot make campaigns")
    try:
        flags = {
            (z.layout, z.name): value
            for name, value in data["test_flags"]["zones"].items()
            if (z := _zone(compiled, "test_flags", name))
        }
        refs = data["references"]
        references = (
            _zone(compiled, "references", refs["sender_reference"]),
            _zone(compiled, "references", refs["file_reference"]),
        )
        parameters = {
            name: Parameter(
                name=name,
                zones=frozenset(
                    (z.layout, z.name)
                    for zone in spec["zones"]
                    if (z := _zone(compiled, f"parameters.{name}", zone))
                ),
                digits=int(spec["digits"]),
            )
            for name, spec in data["parameters"].items()
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise CaseError(f"instructions/campaign.json: missing or malformed {exc}") from None
    for rule in compiled.rules:
        if rule.fills is None:
            continue
        for expr in (rule.require, *((rule.when,) if rule.when is not None else ())):
            for node in walk(expr):
                zone = getattr(node, "zone", None)
                if isinstance(zone, ir.Zone) and zone in references:
                    raise CaseError(
                        f"instructions/campaign.json: reference zone {zone.layout}.{zone.name} "
                        f"feeds the derived zone of rule {rule.code} ({rule.source}:{rule.line})"
                    )
    return Profile(flags=flags, references=references, parameters=parameters)


def check_params(prof: Profile, params: dict[str, Any]) -> None:
    """A participant's parameters: for each profile parameter a list of numbers (the n-th
    distinct value of a scenario becomes the n-th) or a mapping scenario value -> number
    (values it does not name are kept); any other parameter a single value that declared
    cases may name."""
    for name, value in params.items():
        spec = prof.parameters.get(name)
        if spec is None:
            if not isinstance(value, str | int):
                raise CaseError(f"parameter {name}: a number or a text")
            continue
        if isinstance(value, dict) and value:
            items = [*value.keys(), *value.values()]
            targets = list(value.values())
        elif isinstance(value, list) and value:
            items = targets = value
        else:
            raise CaseError(
                f"parameter {name}: a list of numbers or a mapping of numbers "
                f"({spec.digits} digits)"
            )
        for item in items:
            text = str(item)
            if not (text.isdecimal() and text.isascii() and len(text) <= spec.digits):
                raise CaseError(
                    f"parameter {name}: {item!r} is not a number of {spec.digits} digits"
                )
        if len({int(v) for v in targets}) != len(targets):
            raise CaseError(f"parameter {name}: the values must differ")


def _records(data: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (record name, zone values) of a structured sending, in file order."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, dict) and key[:1] in ("S", "E") and key[1:2].isalnum():
                yield key, value
            yield from _records(value)
    elif isinstance(data, list):
        for item in data:
            yield from _records(item)


def _key(value: Any) -> Any:
    return int(value) if isinstance(value, int) or str(value).isdecimal() else value


def substitution(
    prof: Profile, scenario: str, data: dict[str, Any], params: dict[str, Any]
) -> dict[tuple[str, str], dict[Any, int]]:
    """Per zone, old value -> the participant's value."""
    out: dict[tuple[str, str], dict[Any, int]] = {}
    for name, spec in prof.parameters.items():
        if name not in params:
            continue
        given = params[name]
        if isinstance(given, dict):
            mapping = {int(k): int(v) for k, v in given.items()}
        else:
            seen: list[Any] = []
            for record, values in _records(data):
                for zone, value in values.items():
                    if (record, zone) in spec.zones and _key(value) not in seen:
                        seen.append(_key(value))
            if len(seen) > len(given):
                raise CaseError(
                    f"scenario {scenario} has {len(seen)} distinct {name}; the participant "
                    f"gives {len(given)}"
                )
            mapping = dict(zip(seen, [int(v) for v in given], strict=False))
        for zone_key in spec.zones:
            out[zone_key] = mapping
    return out


def prepared(
    compiled: Compiled, prof: Profile, case: CaseSpec, params: dict[str, Any]
) -> tuple[dict[str, Any], tuple[ir.Mutation, ...]]:
    """The scenario and the edits with the participant's values and the test flags."""
    missing = [p for p in case.needs if p not in params]
    if missing:
        raise CaseError(f"{case.key} needs the participant parameter(s) {', '.join(missing)}")
    data = copy.deepcopy(compiled.scenarios[case.scenario])
    subst = substitution(prof, case.scenario, data, params)
    for record, values in _records(data):
        for zone in list(values):
            mapping = subst.get((record, zone))
            if mapping is not None and _key(values[zone]) in mapping:
                values[zone] = mapping[_key(values[zone])]
        for (flag_record, zone), value in prof.flags.items():
            if flag_record == record:
                values[zone] = value
    edits = mutations_from(compiled, case.edits, params)
    out = []
    for m in edits:
        mapping = subst.get((m.record, m.zone.name)) if m.zone is not None else None
        if m.op == "set" and mapping is not None and _key(m.value) in mapping:
            m = dataclasses.replace(m, value=mapping[_key(m.value)])
        out.append(m)
    return data, tuple(out)


def templates(
    compiled: Compiled, prof: Profile, cases: list[CaseSpec], params: dict[str, Any]
) -> list[bytes]:
    """Each case's file before its references, the baseline of a scenario written once."""
    groups: dict[tuple[str, dt.date], list[int]] = {}
    for n, case in enumerate(cases):
        groups.setdefault((case.scenario, case.today), []).append(n)
    out: dict[int, bytes] = {}
    for (_scenario, today), indexes in groups.items():
        ready = [prepared(compiled, prof, cases[i], params) for i in indexes]
        written = variants(compiled, ready[0][0], [edits for _data, edits in ready], today=today)
        out.update(zip(indexes, written, strict=True))
    return [out[n] for n in range(len(cases))]


def reference_values(zone: ir.Zone, campaign_id: int, serial: int) -> Any:
    """A value for a reference zone, unique per (campaign, serial): digits for a number,
    'RB' and digits for a text."""
    if zone.kind in ("N", "S"):
        return int(f"{campaign_id % 10000:04d}{serial:0{max(1, zone.length - 4)}d}")
    width = max(1, zone.length - 6)
    return f"RB{campaign_id % 10000:04d}{serial:0{width}d}"[: zone.length]


def _segment_offsets(compiled: Compiled, data: bytes) -> dict[str, int]:
    cut, line_end, _last = exact_cut(compiled, data, "instance")
    sep = {"lf": 1, "crlf": 2}.get(line_end or "", 0)
    offsets: dict[str, int] = {}
    pos = 0
    for name in compiled.message.segments:
        offsets[name] = pos
        pos += len(cut.segments[name]) + sep
    return offsets


def with_references(
    compiled: Compiled, prof: Profile, case: CaseSpec, data: bytes, campaign_id: int, serial: int
) -> tuple[bytes, str | None, str | None]:
    """The file with its references written in (except in a zone the case's edits set: that
    reference is then None and the file is matched on the other)."""
    edited = {(e["record"], e.get("zone")) for e in case.edits}
    offsets = _segment_offsets(compiled, data)
    buf = bytearray(data)
    refs: list[str | None] = []
    for zone in prof.references:
        if (zone.layout, zone.name) in edited or zone.layout not in offsets:
            refs.append(None)
            continue
        encoded = encode(zone, reference_values(zone, campaign_id, serial))
        start = offsets[zone.layout] + zone.offset
        buf[start : start + zone.length] = encoded
        refs.append(encoded.decode("ascii").strip())
    return bytes(buf), refs[0], refs[1]


def _declared_answer(compiled: Compiled, data: bytes, declared: dict[str, Any]) -> dict[str, Any]:
    sending = split(compiled, data)
    records = []
    for rec in declared["records"]:
        name, _, n = rec["record"][:-1].partition("[")
        found = [r for r in sending.records if r.layout == name]
        if len(found) < int(n):
            raise CaseError(f"the declared expectation names {rec['record']}: the file has none")
        record = found[int(n) - 1]
        key = compiled.layouts[name].key or ""
        records.append({"record": record.number, "record_type": key, "errors": rec["errors"]})
    return {
        "slot": "answer",
        "message": declared["message"],
        "refusal_type": declared["refusal_type"],
        "error_percentage": declared["error_percentage"],
        "segments": declared["segments"],
        "records": sorted(records, key=lambda r: r["record"]),
    }


def expectation(
    compiled: Compiled, data: bytes, name: str, today: dt.date, declared: dict[str, Any] | None
) -> tuple[dict[str, Any], list[dict[str, str]], list[str]]:
    """(expected outcome per slot, the reference messages, the codes the file gives)."""
    report = validate(compiled, io.BytesIO(data), name=name, today=today)
    answers = answers_for(compiled, data, report, settle=True)
    sending = split(compiled, data)
    expected: dict[str, Any] = {"ack": None, "answer": None, "settlement": None, "full": {}}
    messages = []
    for number, a in enumerate(answers, start=1):
        file_name = f"{name}.{number}.{a.message}"
        outcome = observe(compiled, read_message(compiled, a.content, file_name), sending)
        expected[outcome["slot"]] = outcome
        messages.append(
            {
                "message": a.message,
                "name": file_name,
                "base64": base64.b64encode(a.content).decode(),
            }
        )
        for omission in a.omitted:
            f = omission.finding
            if omission.reason == NO_ROOM and f.record is not None:
                full = expected["full"].setdefault(str(f.record), [])
                if [f.letter, f.code] not in full:
                    full.append([f.letter, f.code])
    for record, extra in expected["full"].items():
        written: list[list[str]] = next(
            (r["errors"] for r in expected["answer"]["records"] if str(r["record"]) == record), []
        )
        expected["full"][record] = [list(p) for p in sorted({tuple(p) for p in [*written, *extra]})]
    if declared is not None:
        expected["answer"] = _declared_answer(compiled, data, declared)
        expected["settlement"] = None
        expected["full"] = {}
        expected["declared"] = True
    codes = sorted({f.code for f in report.findings})
    return expected, messages, codes
