"""Reviewing a campaign: one cell in detail, notes and decisions, diffs, snapshots.

Input: the store's rows of a campaign, who asks, and what they decide.
Output: a cell's detail (expected and observed answers side by side per echoed record, the
diff with its explanations, its notes and every submission that touched it); notes (comment,
dispute, waiver, override — appended, never edited: the audit trail); a divergence's status,
cause and resolution; the diff between two rounds or two campaigns aligned on case keys
(fixed / broken / changed / added / removed); the snapshot of the matrix and its hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign import schema
from campaign.core import (
    REFERENCE,
    Book,
    CampaignError,
    Viewer,
    event,
    participant_row,
    round_row,
)
from campaign.matrix import build, canonical
from campaign.schema import now

NOTE_KINDS = ("comment", "dispute", "waiver", "override")
CAUSES = ("participant", "rulebook", "instruction-ambiguous", "version-lag", "test-data")
DIVERGENCE_STATUSES = ("open", "explained", "resolved")


def _case(session: Session, campaign: schema.Campaign, key: str) -> schema.Case:
    row = session.scalars(
        select(schema.Case).where(schema.Case.campaign_id == campaign.id, schema.Case.key == key)
    ).first()
    if row is None:
        raise CampaignError(404, "not-found", f"campaign {campaign.slug} has no case {key!r}")
    return row


def _may_see(campaign: schema.Campaign, viewer: Viewer, participant: schema.Participant) -> bool:
    return (
        viewer.coordinator
        or participant.key == viewer.participant
        or participant.role == REFERENCE
        or campaign.visibility != "own"
    )


def _resolve_participant(
    session: Session, campaign: schema.Campaign, viewer: Viewer, key: str
) -> schema.Participant:
    """A participant by key, or by pseudonym for a participant viewer who sees pseudonyms."""
    rows = session.scalars(
        select(schema.Participant).where(schema.Participant.campaign_id == campaign.id)
    ).all()
    named = viewer.coordinator or campaign.visibility == "named" or campaign.status == "closed"
    for row in rows:
        own_name = named or row.key == viewer.participant or row.role == REFERENCE
        if row.key == key and own_name and _may_see(campaign, viewer, row):
            return row
        if not named and row.label == key and _may_see(campaign, viewer, row):
            return row
    raise CampaignError(404, "not-found", f"no participant {key!r} you may see")


def expected_visible(campaign: schema.Campaign, viewer: Viewer, round_: schema.Round) -> bool:
    """A participant sees the expected answers once its round is closed (campaign setting
    ``after-round``) or at once (``always``); the coordinator always."""
    return (
        viewer.coordinator
        or campaign.expected_visible == "always"
        or round_.closed_at is not None
        or campaign.status == "closed"
    )


def cell_detail(
    session: Session,
    book: Book,
    campaign: schema.Campaign,
    viewer: Viewer,
    case_key: str,
    participant_key: str,
    round_number: int | None = None,
    matrix: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One cell in detail; ``matrix``: the viewer's matrix of that round, when already built
    (the site renders every cell from one)."""
    case = _case(session, campaign, case_key)
    participant = _resolve_participant(session, campaign, viewer, participant_key)
    round_ = round_row(session, campaign, round_number)
    instance = session.scalars(
        select(schema.Instance).where(
            schema.Instance.case_id == case.id, schema.Instance.participant_id == participant.id
        )
    ).first()
    if instance is None:
        raise CampaignError(404, "not-found", f"{participant_key} has no file for {case_key}")
    if matrix is None:
        matrix = build(session, book, campaign, viewer, round_.number)
    cell = next(
        c
        for c in matrix["cells"]
        if c["case"] == case.key and c["participant"] in (participant.key, participant.label)
    )
    case_json = next(c for c in matrix["cases"] if c["key"] == case.key)
    observed: dict[str, Any] = {}
    history = []
    for obs, sub in session.execute(
        select(schema.Observation, schema.Submission)
        .join(schema.Submission, schema.Submission.id == schema.Observation.submission_id)
        .join(schema.Round, schema.Round.id == schema.Observation.round_id)
        .where(schema.Observation.instance_id == instance.id, schema.Round.number <= round_.number)
        .order_by(schema.Observation.id)
    ).all():
        observed[obs.slot] = obs.outcome
        history.append(
            {
                "submission": sub.id,
                "name": sub.name,
                "message": sub.message_type,
                "sha256": sub.sha256,
                "received_at": sub.received_at.isoformat(timespec="seconds") + "Z",
                "late": sub.late,
                "match": sub.match_method,
                "read_error": sub.read_error,
            }
        )
    notes = [
        {
            "id": n.id,
            "author": n.author
            if viewer.coordinator or n.author in (viewer.actor, "coordinator")
            else "participant",
            "kind": n.kind,
            "text": n.text,
            "link": n.link,
            "created_at": n.created_at.isoformat(timespec="seconds") + "Z",
        }
        for n in session.scalars(
            select(schema.Note)
            .where(schema.Note.case_id == case.id, schema.Note.participant_id == participant.id)
            .order_by(schema.Note.id)
        )
    ]
    show_expected = expected_visible(campaign, viewer, round_)
    return {
        "campaign": matrix["campaign"],
        "case": case_json,
        "participant": cell["participant"],
        "file": {"name": instance.file_name, "sha256": instance.file_sha256},
        "state": cell["state"],
        "overlays": cell["overlays"],
        "expected": {k: v for k, v in instance.expected.items() if k != "full"}
        if show_expected
        else None,
        "expected_messages": [m["name"] for m in instance.expected_messages]
        if show_expected
        else None,
        "observed": observed,
        "diff": cell["diff"],
        "notes": notes,
        "submissions": history,
    }


def add_note(
    session: Session,
    campaign: schema.Campaign,
    viewer: Viewer,
    case_key: str,
    participant_key: str | None,
    kind: str,
    text: str,
    link: str | None = None,
) -> dict[str, Any]:
    """A participant notes its own cells (comment, dispute, waiver: a request until the
    coordinator's); the coordinator any cell or case, overrides included."""
    if kind not in NOTE_KINDS:
        raise CampaignError(422, "bad-note", f"a note is one of {', '.join(NOTE_KINDS)}")
    if not text.strip():
        raise CampaignError(422, "bad-note", "a note needs a text")
    case = _case(session, campaign, case_key)
    participant = None
    if participant_key is not None:
        participant = participant_row(session, campaign, participant_key)
    if not viewer.coordinator:
        if participant is None or participant.key != viewer.participant:
            raise CampaignError(403, "forbidden", "a participant notes its own cells only")
        if kind == "override":
            raise CampaignError(403, "forbidden", "only the coordinator overrides")
    row = schema.Note(
        campaign_id=campaign.id,
        case_id=case.id,
        participant_id=participant.id if participant else None,
        author=viewer.actor,
        kind=kind,
        text=text,
        link=link,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    event(
        session,
        campaign,
        viewer.actor,
        "note-added",
        note=row.id,
        case=case.key,
        participant=participant_key,
        note_kind=kind,
    )
    return {"id": row.id, "case": case.key, "participant": participant_key, "kind": kind}


def resolve(
    session: Session,
    campaign: schema.Campaign,
    case_key: str,
    *,
    status: str,
    cause: str | None,
    resolution: str | None,
    round_number: int | None = None,
) -> dict[str, Any]:
    """The coordinator's decision on a case's divergence in a round. A resolution points at
    something checkable: ``round:N``, ``release:X`` or ``question:QN``."""
    if status not in DIVERGENCE_STATUSES:
        raise CampaignError(422, "bad-status", f"status is one of {', '.join(DIVERGENCE_STATUSES)}")
    if cause is not None and cause not in CAUSES:
        raise CampaignError(422, "bad-cause", f"cause is one of {', '.join(CAUSES)}")
    if resolution is not None and resolution.partition(":")[0] not in (
        "round",
        "release",
        "question",
    ):
        raise CampaignError(
            422, "bad-resolution", "a resolution is round:N, release:X or question:QN"
        )
    if status == "resolved" and resolution is None:
        raise CampaignError(422, "bad-resolution", "a resolved divergence names its resolution")
    case = _case(session, campaign, case_key)
    round_ = round_row(session, campaign, round_number)
    row = session.scalars(
        select(schema.Divergence).where(
            schema.Divergence.case_id == case.id, schema.Divergence.round_id == round_.id
        )
    ).first()
    if row is None:
        row = schema.Divergence(campaign_id=campaign.id, case_id=case.id, round_id=round_.id)
        session.add(row)
    row.status, row.cause, row.resolution, row.updated_at = status, cause, resolution, now()
    session.flush()
    event(
        session,
        campaign,
        "coordinator",
        "divergence-decided",
        case=case.key,
        round=round_.number,
        status=status,
        cause=cause,
        resolution=resolution,
    )
    return {
        "case": case.key,
        "round": round_.number,
        "status": status,
        "cause": cause,
        "resolution": resolution,
    }


def diff_matrices(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Cells of B against A, aligned on (case key, participant): fixed, broken, changed,
    added, removed; nothing left out silently."""

    def cells(m: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        return {(c["case"], c["participant"]): c for c in m["cells"]}

    before, after = cells(a), cells(b)
    out: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("fixed", "broken", "changed", "added", "removed")
    }
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        item = {
            "case": key[0],
            "participant": key[1],
            "from": old["state"] if old else None,
            "to": new["state"] if new else None,
        }
        if old is None:
            out["added"].append(item)
        elif new is None:
            out["removed"].append(item)
        elif old["state"] != "match" and new["state"] == "match":
            out["fixed"].append(item)
        elif old["state"] == "match" and new["state"] != "match":
            out["broken"].append(item)
        elif old["state"] != new["state"] or old["diff"] != new["diff"]:
            out["changed"].append(item)
    changed_cases = sorted(
        c["key"]
        for c in b["cases"]
        for o in a["cases"]
        if c["key"] == o["key"] and c["template_sha256"] != o["template_sha256"]
    )
    return {
        "from": {
            "campaign": a["campaign"]["slug"],
            "round": a["campaign"]["round"],
            "rulebook": a["campaign"]["rulebook"],
        },
        "to": {
            "campaign": b["campaign"]["slug"],
            "round": b["campaign"]["round"],
            "rulebook": b["campaign"]["rulebook"],
        },
        "changed_cases": changed_cases,
        **out,
        "counts": {k: len(v) for k, v in out.items()},
    }


def snapshot(session: Session, book: Book, campaign: schema.Campaign, label: str) -> dict[str, Any]:
    """The coordinator's matrix of the current round, frozen with its hash."""
    from campaign.core import COORDINATOR

    matrix = build(session, book, campaign, COORDINATOR)
    data = canonical(matrix)
    digest = hashlib.sha256(data).hexdigest()
    row = schema.Snapshot(
        campaign_id=campaign.id, label=label, created_at=now(), matrix_sha256=digest, matrix=data
    )
    session.add(row)
    session.flush()
    event(session, campaign, "coordinator", "snapshot", label=label, sha256=digest)
    return {
        "snapshot": row.id,
        "label": label,
        "sha256": digest,
        "matrix_sha256": matrix["matrix_sha256"],
    }


def events(session: Session, campaign: schema.Campaign, after: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(timespec="seconds") + "Z",
            "actor": e.actor,
            "kind": e.kind,
            "payload": e.payload,
        }
        for e in session.scalars(
            select(schema.Event)
            .where(schema.Event.campaign_id == campaign.id, schema.Event.id > after)
            .order_by(schema.Event.id)
        )
    ]
