"""The matrix: every case x participant cell of a round, divergences classified, as JSON.

Input: the store, the pinned rulebook, the campaign, the round (default: the current one),
who asks (``Viewer``) and optional filters (``--only``).
Output: the matrix JSON that every face renders (CLI text/JSON/CSV/JUnit, HTTP, the HTML
site): ``campaign`` (slug, status, round, rulebook version and hash), ``participants`` (key,
role, counts per state), ``cases`` (key, kind, rule, expectation, divergence), ``cells`` (case,
participant, state, overlays, the submission it comes from, the diff record by record with
explanations in instruction terms), ``unmodelled_codes``, ``generated_at`` (the campaign's
last event, so the same store gives the same bytes) and ``matrix_sha256``. A participant sees
its own row and the reference's under visibility ``own`` (others as counts), the others under
pseudonyms (``pseudonymous``, until the campaign closes) or by name (``named``).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign import schema
from campaign.compare import NOT_ANSWERED, RANK, STATES, verdict
from campaign.core import REFERENCE, Book, CampaignError, Viewer, round_row
from compiler import Compiled

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent / "matrix.schema.json").read_text("utf-8")
)
CLASSES = ("agree", "lone-dissent", "against-rulebook", "split", "scatter")
FILTERS = ("divergent", "failing")
KEYED_FILTERS = ("class", "participant", "letter", "state", "record", "kind")


def canonical(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def explain(compiled: Compiled, code: str) -> dict[str, Any]:
    """A code in instruction terms: its rule, labels, source line, pages and questions."""
    rules = compiled.rules_for_code(code)
    info = compiled.codes.get(code)
    out: dict[str, Any] = {
        "code": code,
        "letter": info.letter if info else None,
        "label": {"fr": info.fr, "nl": info.nl} if info else None,
        "modelled": code in compiled.codes,
        "official": code in compiled.official_codes,
        "rule_source": f"{rules[0].source}:{rules[0].line}" if rules else None,
        "page": {lang: f"/docs/instructions/{lang}/rules/{code}.html" for lang in ("fr", "nl")}
        if rules
        else None,
        "questions": [
            f"Q{n}" for n, q in enumerate(compiled.questions, start=1) if code in q.codes
        ],
    }
    return out


def _codes_of(detail: dict[str, Any]) -> list[str]:
    found = set()
    for part in (*detail.get("records", []), *detail.get("segments", [])):
        for key in ("missing", "extra", "unmodelled"):
            found |= {p[1] for p in part.get(key, [])}
    return sorted(found)


def _expectation(case: schema.Case, reference: schema.Instance | None) -> dict[str, Any]:
    if case.declared is not None:
        want = case.declared
        codes = sorted({e[1] for r in want["records"] for e in r["errors"]})
        return {
            "source": "declared",
            "declared_by": case.declared_by,
            "message": want["message"],
            "refusal_type": want["refusal_type"],
            "codes": codes,
        }
    answer = reference.expected["answer"] if reference is not None else None
    return {
        "source": "computed",
        "message": answer["message"] if answer else None,
        "refusal_type": answer["refusal_type"] if answer else None,
        "codes": list(case.expected_codes),
    }


def _shape(state: str, detail: dict[str, Any]) -> bytes:
    """What two participants' cells must share to have answered the same."""
    kept = {k: v for k, v in detail.items() if k not in ("sources", "notes", "drift")}
    return canonical([state, kept])


def classify(cells: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The divergence class of a case from its cells (participant -> (state, detail)), the
    reference excluded: answered cells are grouped by identical outcome."""
    answered = {k: v for k, v in cells.items() if k != REFERENCE and v[0] not in NOT_ANSWERED}
    incomplete = sorted(k for k, v in cells.items() if k != REFERENCE and v[0] in NOT_ANSWERED)
    groups: dict[bytes, list[str]] = {}
    for key in sorted(answered):
        groups.setdefault(_shape(*answered[key]), []).append(key)
    matching = sorted(k for k, v in answered.items() if v[0] == "match")
    differing = [g for g in groups.values() if answered[g[0]][0] != "match"]
    n = len(answered)
    if n == 0:
        klass = None
    elif not differing:
        klass = "agree"
    elif (len(differing) == 1 and len(differing[0]) == 1 and n >= 2) or n == 1:
        klass = "lone-dissent"
    elif not matching and len(differing) == 1:
        klass = "against-rulebook"
    elif n >= 3 and len(groups) == n:
        klass = "scatter"
    else:
        klass = "split"
    ordered = [[REFERENCE, *matching]] if REFERENCE in cells else [matching] if matching else []
    ordered += sorted(differing, key=lambda g: (-len(g), g))
    return {"class": klass, "incomplete": incomplete, "groups": [g for g in ordered if g]}


def _overlays(notes: list[schema.Note], late: bool) -> list[str]:
    out = set()
    for note in notes:
        if note.kind == "dispute":
            out.add("disputed")
        elif note.kind == "waiver":
            out.add("waived" if note.author == "coordinator" else "waiver-requested")
        elif note.kind == "override":
            out.add("overridden")
    if late:
        out.add("late")
    return sorted(out)


def build(
    session: Session,
    book: Book,
    campaign: schema.Campaign,
    viewer: Viewer,
    round_number: int | None = None,
    only: list[str] | None = None,
    today: Any = None,
) -> dict[str, Any]:
    compiled = book.compiled
    round_ = round_row(session, campaign, round_number)
    closed = round_.closed_at is not None or (
        campaign.submit_until is not None and today is not None and today > campaign.submit_until
    )
    participants = session.scalars(
        select(schema.Participant)
        .where(schema.Participant.campaign_id == campaign.id)
        .order_by(schema.Participant.id)
    ).all()
    by_id = {p.id: p for p in participants}
    cases = session.scalars(
        select(schema.Case)
        .where(schema.Case.campaign_id == campaign.id)
        .order_by(schema.Case.position)
    ).all()
    instances = session.scalars(
        select(schema.Instance).where(schema.Instance.campaign_id == campaign.id)
    ).all()
    have = {(i.case_id, i.participant_id) for i in instances}
    reference_of = {i.case_id: i for i in instances if by_id[i.participant_id].role == REFERENCE}
    stored = {
        (c.case_id, c.participant_id): c
        for c in session.scalars(select(schema.Cell).where(schema.Cell.round_id == round_.id))
    }
    notes: dict[tuple[int, int | None], list[schema.Note]] = {}
    for note in session.scalars(select(schema.Note).where(schema.Note.campaign_id == campaign.id)):
        notes.setdefault((note.case_id, note.participant_id), []).append(note)
    decisions = {
        d.case_id: d
        for d in session.scalars(
            select(schema.Divergence).where(schema.Divergence.round_id == round_.id)
        )
    }
    last = session.scalar(
        select(func.max(schema.Event.at)).where(schema.Event.campaign_id == campaign.id)
    )
    named = viewer.coordinator or campaign.visibility == "named" or campaign.status == "closed"

    def shown(p: schema.Participant) -> str:
        if named or p.key == viewer.participant or p.role == REFERENCE:
            return p.key
        return p.label

    visible = [
        p
        for p in participants
        if viewer.coordinator
        or campaign.visibility != "own"
        or p.key == viewer.participant
        or p.role == REFERENCE
    ]
    filters = _filters(only or [])
    cells_out: list[dict[str, Any]] = []
    cases_out: list[dict[str, Any]] = []
    counts: dict[str, Counter[str]] = {p.key: Counter() for p in participants}
    unmodelled: dict[str, dict[str, Any]] = {}
    for case in cases:
        per: dict[str, tuple[str, dict[str, Any]]] = {}
        rows: list[dict[str, Any]] = []
        for p in participants:
            if (case.id, p.id) not in have:
                continue
            cell = stored.get((case.id, p.id))
            state, detail = (cell.state, cell.detail) if cell else ("pending", {})
            if state == "pending" and closed:
                state = "missing"
            per[p.key] = (state, detail)
            counts[p.key][state] += 1
            cell_notes = notes.get((case.id, p.id), [])
            late = any(s.get("late") for s in detail.get("sources", {}).values())
            overlays = _overlays(cell_notes, late)
            for o in overlays:
                counts[p.key][o] += 1
            for code in detail.get("unmodelled", []):
                entry = unmodelled.setdefault(
                    code, {"code": code, "participants": set(), "cases": set()}
                )
                entry["participants"].add(shown(p))
                entry["cases"].add(case.key)
            if p not in visible:
                continue
            answer_source = detail.get("sources", {}).get("answer", {})
            diff = {k: v for k, v in detail.items() if k != "sources"}
            codes = _codes_of(detail)
            if codes:
                diff["explanations"] = [explain(compiled, c) for c in codes]
            rows.append(
                {
                    "case": case.key,
                    "participant": shown(p),
                    "state": state,
                    "overlays": overlays,
                    "submission": answer_source.get("submission"),
                    "sha256": answer_source.get("sha256"),
                    "received_at": answer_source.get("received_at"),
                    "diff": diff,
                }
            )
        divergence = classify(per)
        decision = decisions.get(case.id)
        divergence.update(
            status=(decision.status if decision else "open")
            if divergence["class"] not in (None, "agree")
            else (decision.status if decision else None),
            cause=decision.cause if decision else None,
            resolution=decision.resolution if decision else None,
        )
        if not named:
            divergence["groups"] = [
                [k if k in (REFERENCE, viewer.participant) else "" for k in g]
                for g in divergence["groups"]
            ]
            divergence["groups"] = [
                [k for k in g if k]
                + ([f"{sum(1 for k in g if not k)} other(s)"] if any(not k for k in g) else [])
                for g in divergence["groups"]
            ]
            divergence["incomplete"] = [
                k for k in divergence["incomplete"] if k == viewer.participant
            ]
        entry_case = _case_json(compiled, case, reference_of.get(case.id), divergence)
        if not _keep(filters, entry_case, rows):
            continue
        cases_out.append(entry_case)
        cells_out.extend(r for r in rows if _keep_cell(filters, r))
    participants_out = [
        {
            "key": shown(p),
            "label": p.label,
            "role": p.role,
            "name": p.name if named or p.key == viewer.participant or p.role == REFERENCE else None,
            "system": {"name": p.system_name, "version": p.system_version},
            "declared_rulebook": p.declared_rulebook,
            "counts": dict(sorted(counts[p.key].items(), key=lambda kv: _order(kv[0]))),
        }
        for p in visible
    ]
    hidden = [p for p in participants if p not in visible]
    out: dict[str, Any] = {
        "campaign": {
            "slug": campaign.slug,
            "title": {"fr": campaign.title_fr, "nl": campaign.title_nl},
            "status": campaign.status,
            "round": round_.number,
            "round_closed": round_.closed_at is not None,
            "rulebook": {"version": campaign.rulebook_version, "hash": campaign.rulebook_hash},
            "message": campaign.message,
            "selection": campaign.selection,
            "visibility": campaign.visibility,
            "submit_until": campaign.submit_until.isoformat() if campaign.submit_until else None,
        },
        "viewer": viewer.actor,
        "view": {"only": list(only or [])},
        "participants": participants_out,
        "others": {
            "participants": len(hidden),
            "counts": dict(
                sorted(
                    sum((counts[p.key] for p in hidden), Counter()).items(),
                    key=lambda kv: _order(kv[0]),
                )
            ),
        }
        if hidden
        else None,
        "cases": cases_out,
        "cells": cells_out,
        "unmodelled_codes": [
            {
                "code": code,
                "participants": sorted(v["participants"]),
                "cases": len(v["cases"]),
                "label": explain(compiled, code)["label"],
            }
            for code, v in sorted(unmodelled.items())
        ],
        "generated_at": (last.isoformat(timespec="seconds") + "Z") if last else None,
    }
    out["matrix_sha256"] = hashlib.sha256(canonical(out)).hexdigest()
    return out


def _order(state: str) -> tuple[int, str]:
    return (RANK.get(state, len(STATES)), state)


def _case_json(
    compiled: Compiled,
    case: schema.Case,
    reference: schema.Instance | None,
    divergence: dict[str, Any],
) -> dict[str, Any]:
    rule = None
    if case.rule_code is not None:
        info = compiled.codes.get(case.rule_code)
        rule = {
            "code": case.rule_code,
            "letter": case.letter,
            "record_type": case.record_type,
            "zone": case.zone,
            "label": {"fr": info.fr, "nl": info.nl} if info else None,
            "source": case.rule_source,
            "period": case.rule_period,
        }
    return {
        "key": case.key,
        "kind": case.kind,
        "scenario": case.scenario,
        "rule": rule,
        "template_sha256": case.template_sha256,
        "expectation": _expectation(case, reference),
        "note": case.note,
        "divergence": divergence,
    }


def _filters(only: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for item in only:
        name, _, value = item.partition("=")
        if (name in FILTERS and not value) or (name in KEYED_FILTERS and value):
            out.setdefault(name, set()).add(value)
        else:
            raise CampaignError(
                422,
                "bad-filter",
                f"only {item!r}: one of {', '.join(FILTERS)}, "
                + ", ".join(f"{k}=…" for k in KEYED_FILTERS),
            )
    return out


def _keep(filters: dict[str, set[str]], case: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    klass = case["divergence"]["class"]
    rule = case["rule"] or {}
    if "divergent" in filters and klass in (None, "agree"):
        return False
    if "failing" in filters and all(r["state"] == "match" for r in rows):
        return False
    if "class" in filters and klass not in filters["class"]:
        return False
    if "letter" in filters and rule.get("letter") not in filters["letter"]:
        return False
    if "record" in filters and f"ET{rule.get('record_type')}" not in filters["record"]:
        return False
    if "kind" in filters and case["kind"] not in filters["kind"]:
        return False
    return "state" not in filters or any(r["state"] in filters["state"] for r in rows)


def _keep_cell(filters: dict[str, set[str]], row: dict[str, Any]) -> bool:
    if "participant" in filters and row["participant"] not in filters["participant"]:
        return False
    return "state" not in filters or row["state"] in filters["state"]


def verdict_of(outcome: dict[str, Any] | None) -> str | None:
    return verdict(outcome) if outcome and "message" in outcome else None
