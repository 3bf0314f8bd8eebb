"""Submissions: a participant's answer messages, matched to its files, read, and the cells.

Input: the bytes a participant uploaded (one message, or a ZIP of messages), the campaign,
the participant and, optionally, the case it says they answer (a manual match).
Output: per message a ``Result`` (the submission's id, whether it was a replay, the case and
state of the cell it touched). A submission is stored once per (participant, bytes): the
same upload again is a replay and changes nothing. A message is matched to the instance
whose references it repeats (segment 200 zone 204, segment 300 zone 303: the campaign
profile's), never by file name; a message that repeats none of the participant's references
is refused (422 ``unmatched-answer``), one that names two files too (409
``ambiguous-answer``). A matched message that cannot be read is kept, with its located error,
and makes the cell ``unreadable``. Each submission and the cell it touches are written in one
transaction, the instance's row locked, so concurrent uploads leave the cells equal to a
recomputation from the observations (``recompute``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from answer import ReadError, read_message
from answer.sending import split
from campaign import schema
from campaign.compare import compare
from campaign.core import Book, CampaignError, current_round, event
from campaign.outcome import observe, slot_of
from campaign.schema import now
from validator.zipped import ZipRefused, is_zip, zip_members

MAX_MEMBERS = 10_000
MAX_UNZIPPED = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Result:
    submission: int
    replay: bool
    name: str
    message: str | None
    case: str | None
    state: str | None
    late: bool
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "submission": self.submission,
            "replay": self.replay,
            "name": self.name,
            "message": self.message,
            "case": self.case,
            "state": self.state,
            "late": self.late,
            "read_error": self.error,
        }


def messages_in(name: str, content: bytes) -> list[tuple[str, bytes]]:
    """One message, or each file of a ZIP (bounded: members and unzipped size)."""
    if not is_zip(content):
        return [(name, content)]
    try:
        members = zip_members(content, max_members=MAX_MEMBERS, max_bytes=MAX_UNZIPPED, label=name)
    except ZipRefused as exc:
        raise CampaignError(exc.status, exc.code, exc.message) from None
    return [(f"{name}:{member}", data) for member, data in members]


def _header(book: Book, data: bytes) -> tuple[str | None, dict[str, str]]:
    """The message type (by its name zone) and the reference zones it repeats, read from the
    segments alone: a message cut short or damaged further on is still matched."""
    flat = data.replace(b"\r", b"").replace(b"\n", b"")
    compiled = book.compiled
    refs = {z.name for z in book.profile.references}
    for msg in compiled.messages.values():
        first = compiled.layouts[msg.segments[0]] if msg.segments else None
        zone = first.role("name") if first is not None else None
        if zone is None or flat[zone.offset : zone.end] != msg.name.encode():
            continue
        found: dict[str, str] = {}
        pos = 0
        for seg in msg.segments:
            layout = compiled.layouts[seg]
            for name in refs:
                z = layout.by_name.get(name)
                if z is not None and pos + z.end <= len(flat):
                    found[name] = flat[pos + z.offset : pos + z.end].decode("latin-1").strip()
            pos += layout.length
        return msg.name, found
    return None, {}


def _match(
    session: Session, book: Book, participant: schema.Participant, refs: dict[str, str]
) -> schema.Instance:
    sender_zone, file_zone = book.profile.references
    found: dict[int, schema.Instance] = {}
    for zone, column in (
        (sender_zone, schema.Instance.sender_reference),
        (file_zone, schema.Instance.file_reference),
    ):
        value = refs.get(zone.name)
        if not value:
            continue
        for row in session.scalars(
            select(schema.Instance).where(
                schema.Instance.participant_id == participant.id, column == value
            )
        ):
            found[row.id] = row
    if not found:
        shown = ", ".join(f"{k} {v!r}" for k, v in sorted(refs.items())) or "no reference"
        raise CampaignError(
            422,
            "unmatched-answer",
            f"the message repeats {shown}: none of participant {participant.key}'s files",
        )
    if len(found) > 1:
        raise CampaignError(
            409, "ambiguous-answer", "the message's references name two different files"
        )
    return next(iter(found.values()))


def _instance_of_case(
    session: Session, participant: schema.Participant, case_key: str
) -> schema.Instance:
    row = session.scalars(
        select(schema.Instance)
        .join(schema.Case, schema.Case.id == schema.Instance.case_id)
        .where(schema.Instance.participant_id == participant.id, schema.Case.key == case_key)
    ).first()
    if row is None:
        raise CampaignError(
            404, "not-found", f"participant {participant.key} has no case {case_key!r}"
        )
    return row


def _late(campaign: schema.Campaign, today: dt.date) -> bool:
    return campaign.status == "review" or (
        campaign.submit_until is not None and today > campaign.submit_until
    )


def submit(
    session: Session,
    book: Book,
    campaign: schema.Campaign,
    participant: schema.Participant,
    name: str,
    content: bytes,
    *,
    case_key: str | None = None,
    client: str = "cli",
    today: dt.date | None = None,
) -> list[Result]:
    if campaign.status not in ("testing", "review"):
        raise CampaignError(
            409, "not-testing", f"campaign {campaign.slug} is {campaign.status}: no submissions"
        )
    out = []
    for member, data in messages_in(name, content):
        out.append(
            _one(
                session,
                book,
                campaign,
                participant,
                member,
                data,
                case_key,
                client,
                today or dt.date.today(),
                "answer",
            )
        )
    return out


def _one(
    session: Session,
    book: Book,
    campaign: schema.Campaign,
    participant: schema.Participant,
    name: str,
    data: bytes,
    case_key: str | None,
    client: str,
    today: dt.date,
    kind: str,
) -> Result:
    digest = hashlib.sha256(data).hexdigest()
    existing = session.scalars(
        select(schema.Submission).where(
            schema.Submission.participant_id == participant.id,
            schema.Submission.sha256 == digest,
        )
    ).first()
    if existing is not None:
        return replay(session, existing)
    late = _late(campaign, today)
    if late and campaign.late_policy == "refuse":
        raise CampaignError(409, "late", f"campaign {campaign.slug} takes no late submission")
    round_ = current_round(session, campaign)
    assert round_ is not None  # testing and review have one
    if kind == "harness":
        payload = json.loads(data)
        message_type: str | None = None
        instance = _instance_of_case(session, participant, payload["case"])
        method = "harness"
    else:
        message_type, refs = _header(book, data)
        if case_key is not None:
            instance = _instance_of_case(session, participant, case_key)
            method = "manual"
        elif message_type is None:
            raise CampaignError(
                422, "unmatched-answer", f"{name}: not a message this rulebook describes"
            )
        else:
            instance = _match(session, book, participant, refs)
            method = "echo"
    instance = session.scalars(
        select(schema.Instance).where(schema.Instance.id == instance.id).with_for_update()
    ).one()
    read_error = None
    if kind == "harness":
        slot = "answer"
        outcome: dict[str, Any] = {"errored": payload["errored"]}
    else:
        slot = slot_of(book.compiled, message_type) if message_type else "answer"
        try:
            read = read_message(book.compiled, data, name)
            outcome = observe(book.compiled, read, split(book.compiled, instance.content))
        except ReadError as exc:
            read_error = str(exc)
            outcome = {"unreadable": read_error}
    row = schema.Submission(
        campaign_id=campaign.id,
        participant_id=participant.id,
        round_id=round_.id,
        received_at=now(),
        kind=kind,
        name=name,
        message_type=message_type,
        sha256=digest,
        size=len(data),
        content=data,
        instance_id=instance.id,
        match_method=method,
        read_error=read_error,
        late=late,
        client=client,
    )
    session.add(row)
    session.flush()
    session.add(
        schema.Observation(
            submission_id=row.id,
            instance_id=instance.id,
            round_id=round_.id,
            slot=slot,
            outcome=outcome,
        )
    )
    session.flush()
    cell = update_cell(session, book, instance, round_)
    case = session.get(schema.Case, instance.case_id)
    event(
        session,
        campaign,
        participant.key,
        "submission-received",
        submission=row.id,
        case=case.key if case else None,
        state=cell.state,
        sha256=digest,
    )
    return Result(
        row.id, False, name, message_type, case.key if case else None, cell.state, late, read_error
    )


def replay(session: Session, existing: schema.Submission) -> Result:
    """The first submission of these bytes, as it was answered (nothing changes)."""
    instance = session.get(schema.Instance, existing.instance_id) if existing.instance_id else None
    case = session.get(schema.Case, instance.case_id) if instance is not None else None
    cell = None
    if instance is not None:
        cell = session.scalars(
            select(schema.Cell)
            .where(
                schema.Cell.case_id == instance.case_id,
                schema.Cell.participant_id == instance.participant_id,
            )
            .order_by(schema.Cell.round_id.desc())
        ).first()
    return Result(
        existing.id,
        True,
        existing.name,
        existing.message_type,
        case.key if case else None,
        cell.state if cell else None,
        existing.late,
        existing.read_error,
    )


def cell_value(
    session: Session, book: Book, instance: schema.Instance, round_: schema.Round
) -> tuple[str, dict[str, Any]]:
    """A cell computed from the observations of its instance up to this round, the latest of
    each slot winning."""
    rows = session.execute(
        select(schema.Observation, schema.Submission)
        .join(schema.Submission, schema.Submission.id == schema.Observation.submission_id)
        .join(schema.Round, schema.Round.id == schema.Observation.round_id)
        .where(schema.Observation.instance_id == instance.id, schema.Round.number <= round_.number)
        .order_by(schema.Observation.id)
    ).all()
    latest: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    for obs, sub in rows:
        latest[obs.slot] = obs.outcome
        sources[obs.slot] = {
            "submission": sub.id,
            "sha256": sub.sha256,
            "received_at": sub.received_at.isoformat(timespec="seconds") + "Z",
            "late": sub.late,
            "match": sub.match_method,
        }
    state, detail = compare(book.compiled, instance.expected, latest)
    if sources:
        detail["sources"] = sources
    if instance.drift is not None:
        detail["drift"] = instance.drift
    return state, detail


def update_cell(
    session: Session, book: Book, instance: schema.Instance, round_: schema.Round
) -> schema.Cell:
    state, detail = cell_value(session, book, instance, round_)
    cell = session.get(schema.Cell, (instance.case_id, instance.participant_id, round_.id))
    if cell is None:
        cell = schema.Cell(
            case_id=instance.case_id,
            participant_id=instance.participant_id,
            round_id=round_.id,
            campaign_id=instance.campaign_id,
            state=state,
            detail=detail,
            updated_at=now(),
        )
        session.add(cell)
    elif cell.state != state or cell.detail != detail:
        cell.state, cell.detail, cell.updated_at = state, detail, now()
    session.flush()
    return cell


def reference_round(
    session: Session, book: Book, campaign: schema.Campaign, round_: schema.Round
) -> None:
    """A new round: the reference submits its expected answers (a replay after round 1),
    then every cell of the round is computed from the observations so far."""
    reference = session.scalars(
        select(schema.Participant).where(
            schema.Participant.campaign_id == campaign.id, schema.Participant.role == "reference"
        )
    ).one()
    cases = {
        c.id: c.key
        for c in session.scalars(select(schema.Case).where(schema.Case.campaign_id == campaign.id))
    }
    for instance in session.scalars(
        select(schema.Instance).where(schema.Instance.participant_id == reference.id)
    ):
        for message in instance.expected_messages:
            data = base64.b64decode(message["base64"])
            args = (session, book, campaign, reference, message["name"], data)
            try:
                _one(*args, None, "reference", dt.date.min, "answer")
            except CampaignError as exc:
                if exc.code != "unmatched-answer":
                    raise
                # a message repeating no reference of its file (an acknowledgement of a file
                # whose sender reference a case edits): matched by its case, as a participant
                # does with --case
                _one(*args, cases[instance.case_id], "reference", dt.date.min, "answer")
    recompute(session, book, campaign, round_)


def harness_result(
    session: Session,
    book: Book,
    campaign: schema.Campaign,
    participant: schema.Participant,
    case_key: str,
    errored: dict[str, Any],
    client: str = "harness",
) -> Result:
    """A harness's report that it could not answer a case (crash, timeout, skipped)."""
    data = json.dumps({"case": case_key, "errored": errored}, sort_keys=True).encode()
    return _one(
        session,
        book,
        campaign,
        participant,
        f"harness:{case_key}",
        data,
        None,
        client,
        dt.date.today(),
        "harness",
    )


def recompute(session: Session, book: Book, campaign: schema.Campaign, round_: schema.Round) -> int:
    """Every cell of the round from the observations (the materialised view rebuilt)."""
    count = 0
    for instance in session.scalars(
        select(schema.Instance).where(schema.Instance.campaign_id == campaign.id)
    ):
        update_cell(session, book, instance, round_)
        count += 1
    return count
