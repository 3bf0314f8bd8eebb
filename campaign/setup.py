"""Making a campaign: its cases, its participants with their files, tokens and lifecycle.

Input: a store, the compiled rulebook the campaign is pinned to, the coordinator's choices.
Output: rows in the store (``campaign.schema``) and the tokens, returned once and stored only
as their hashes. A campaign moves ``draft`` -> ``open`` (registration) -> ``testing`` (cases
frozen, round 1) -> ``review`` (the round closed: what was not answered is ``missing``; late
submissions flagged or refused) -> ``testing`` again for the next round, or ``closed`` (the
matrix snapshot and its hash). The rulebook itself is participant ``reference``: its answers
are the expected ones, submitted through the same path as everyone's when a round opens, so
its row tests the comparison on every campaign.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign import schema
from campaign.cases import CaseSpec, Selection, declared, generated
from campaign.core import (
    REFERENCE,
    ROLES,
    VISIBILITIES,
    Book,
    CampaignError,
    campaign_row,
    current_round,
    event,
    new_token,
    participant_row,
    token_hash,
)
from campaign.instances import check_params, expectation, templates, with_references
from campaign.schema import now

SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
KEY = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def spec_of(row: schema.Case) -> CaseSpec:
    return CaseSpec(
        key=row.key,
        kind=row.kind,
        scenario=row.scenario,
        today=row.today,
        edits=tuple(row.edits),
        expected_codes=tuple(row.expected_codes),
        declared=row.declared,
    )


def create(
    session: Session,
    book: Book,
    slug: str,
    *,
    select_: list[str] | None = None,
    declared_dir: Path | None = None,
    title_fr: str = "",
    title_nl: str = "",
    register_until: dt.date | None = None,
    submit_until: dt.date | None = None,
    visibility: str = "own",
    late_policy: str = "flag",
    rulebook_dir: str | None = None,
    repo: Path | None = None,
) -> tuple[schema.Campaign, str]:
    """The campaign with its cases and the reference participant; and the coordinator token."""
    if not SLUG.fullmatch(slug):
        raise CampaignError(422, "bad-slug", f"{slug!r}: lower-case letters, digits and '-'")
    if visibility not in VISIBILITIES:
        raise CampaignError(
            422, "bad-visibility", f"visibility is one of {', '.join(VISIBILITIES)}"
        )
    if late_policy not in ("flag", "refuse"):
        raise CampaignError(422, "bad-late-policy", "late policy is flag or refuse")
    exists = session.scalars(select(schema.Campaign).where(schema.Campaign.slug == slug)).first()
    if exists is not None:
        raise CampaignError(409, "exists", f"campaign {slug!r} exists already in this store")
    compiled, prof = book.compiled, book.profile
    selection = Selection.parse(select_ or [])
    specs = generated(compiled, selection, repo)
    if declared_dir is not None:
        specs += declared(compiled, declared_dir)
    token = new_token(slug)
    row = schema.Campaign(
        slug=slug,
        title_fr=title_fr,
        title_nl=title_nl,
        status="draft",
        rulebook_version=compiled.version,
        rulebook_hash=compiled.hash,
        rulebook_dir=rulebook_dir,
        message=compiled.message.name,
        selection=selection.as_list() + ([f"declared={declared_dir.name}"] if declared_dir else []),
        register_until=register_until,
        submit_until=submit_until,
        visibility=visibility,
        late_policy=late_policy,
        coordinator_sha256=token_hash(token),
        next_serial=1,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    plain = [spec for spec in specs if not spec.needs]
    written = dict(zip([s.key for s in plain], templates(compiled, prof, plain, {}), strict=True))
    for position, spec in enumerate(specs, start=1):
        # a declared case using a participant's values has no file without them: its
        # identity is then its definition
        content = written.get(spec.key, b"")
        identity = content or json.dumps([spec.edits, spec.declared], sort_keys=True).encode()
        rule = spec.rule
        session.add(
            schema.Case(
                campaign_id=row.id,
                position=position,
                key=spec.key,
                kind=spec.kind,
                scenario=spec.scenario,
                today=spec.today,
                rule_code=rule.code if rule is not None else None,
                rule_index=spec.index,
                rule_source=f"{rule.source}:{rule.line}" if rule is not None else None,
                rule_period=f"{rule.start}..{rule.end}" if rule is not None else None,
                record_type=(compiled.layouts[rule.record].key if rule is not None else None),
                zone=rule.zone_label if rule is not None else None,
                letter=rule.letter if rule is not None else None,
                edits=list(spec.edits),
                expected_codes=list(spec.expected_codes),
                template_sha256=hashlib.sha256(identity).hexdigest(),
                template=content,
                expectation_source="declared" if spec.declared is not None else "computed",
                declared=spec.declared,
                declared_by=spec.declared_by,
                note=spec.note,
            )
        )
    session.flush()
    event(
        session,
        row,
        "coordinator",
        "campaign-created",
        cases=len(specs),
        rulebook={"version": compiled.version, "hash": compiled.hash},
    )
    add_participant(session, book, row, REFERENCE, role=REFERENCE, name="Rulebook")
    return row, token


def _label(session: Session, campaign: schema.Campaign, role: str) -> str:
    if role == REFERENCE:
        return REFERENCE
    prefix = "OA" if role == "insurer" else "SW"
    count = session.scalar(
        select(func.count())
        .select_from(schema.Participant)
        .where(schema.Participant.campaign_id == campaign.id, schema.Participant.role == role)
    )
    return f"{prefix}-{(count or 0) + 1}"


def add_participant(
    session: Session,
    book: Book,
    campaign: schema.Campaign,
    key: str,
    *,
    role: str,
    name: str,
    params: dict[str, Any] | None = None,
    system_name: str | None = None,
    system_version: str | None = None,
    declared_rulebook: str | None = None,
    contact: str | None = None,
) -> tuple[schema.Participant, str | None]:
    """The participant and its instance of every case; its token (None for the reference)."""
    if campaign.status == "closed":
        raise CampaignError(409, "closed", f"campaign {campaign.slug} is closed")
    if role != REFERENCE and role not in ROLES:
        raise CampaignError(422, "bad-role", f"role is one of {', '.join(ROLES)}")
    if not KEY.fullmatch(key) or (key == REFERENCE and role != REFERENCE):
        raise CampaignError(422, "bad-key", f"{key!r}: lower-case letters, digits, '-' and '_'")
    taken = session.scalars(
        select(schema.Participant).where(
            schema.Participant.campaign_id == campaign.id, schema.Participant.key == key
        )
    ).first()
    if taken is not None:
        raise CampaignError(409, "exists", f"participant {key!r} exists already")
    params = dict(params or {})
    compiled, prof = book.compiled, book.profile
    try:
        check_params(prof, params)
    except ValueError as exc:
        raise CampaignError(422, "bad-parameter", str(exc)) from None
    token = None if role == REFERENCE else new_token(campaign.slug)
    row = schema.Participant(
        campaign_id=campaign.id,
        key=key,
        label=_label(session, campaign, role),
        name=name,
        role=role,
        params=params,
        system_name=system_name,
        system_version=system_version,
        declared_rulebook=declared_rulebook,
        contact=contact,
        token_sha256=token_hash(token) if token else None,
        token_created_at=now() if token else None,
    )
    session.add(row)
    session.flush()
    cases = session.scalars(
        select(schema.Case)
        .where(schema.Case.campaign_id == campaign.id)
        .order_by(schema.Case.position)
    ).all()
    substitutes = any(name in params for name in prof.parameters)
    playing: list[tuple[schema.Case, CaseSpec]] = []
    for case in cases:
        spec = spec_of(case)
        missing = [p for p in spec.needs if p not in params]
        if missing and role != REFERENCE and spec.declared is not None:
            raise CampaignError(
                422, "missing-parameter", f"{case.key} needs the parameter(s) {', '.join(missing)}"
            )
        # the reference (the rulebook) plays no declared case: it cannot compute them
        if not (role == REFERENCE and spec.declared is not None):
            playing.append((case, spec))
    own = [(case, spec) for case, spec in playing if substitutes or spec.needs]
    try:
        written = dict(
            zip(
                [case.id for case, _ in own],
                templates(compiled, prof, [spec for _, spec in own], params),
                strict=True,
            )
        )
    except ValueError as exc:
        raise CampaignError(422, "bad-parameter", str(exc)) from None
    for case, spec in playing:
        base = written.get(case.id, case.template)
        serial = campaign.next_serial
        campaign.next_serial += 1
        content, sender_ref, file_ref = with_references(
            compiled, prof, spec, base, campaign.id, serial
        )
        file_name = f"{campaign.slug}-{key}-{serial:05d}.{campaign.message}"
        expected, messages, codes = expectation(
            compiled, content, file_name, case.today, case.declared
        )
        drift = None
        if case.kind != "declared" and tuple(codes) != tuple(case.expected_codes):
            drift = codes
        session.add(
            schema.Instance(
                case_id=case.id,
                participant_id=row.id,
                campaign_id=campaign.id,
                serial=serial,
                file_name=file_name,
                file_sha256=hashlib.sha256(content).hexdigest(),
                content=content,
                sender_reference=sender_ref,
                file_reference=file_ref,
                expected=expected,
                expected_messages=messages,
                drift=drift,
            )
        )
    session.flush()
    event(session, campaign, "coordinator", "participant-added", key=key, role=role)
    return row, token


def set_token(session: Session, campaign: schema.Campaign, key: str, *, revoke: bool) -> str | None:
    """Rotate (a new token, the old one refused from now) or revoke a participant's token."""
    row = participant_row(session, campaign, key)
    if row.role == REFERENCE:
        raise CampaignError(422, "bad-key", "the reference participant has no token")
    if revoke:
        row.token_revoked_at = now()
        event(session, campaign, "coordinator", "token-revoked", key=key)
        return None
    token = new_token(campaign.slug)
    row.token_sha256 = token_hash(token)
    row.token_created_at = now()
    row.token_revoked_at = None
    event(session, campaign, "coordinator", "token-rotated", key=key)
    return token


MOVES = {
    "open": ("draft",),
    "freeze": ("draft", "open"),
    "review": ("testing",),
    "round": ("review",),
    "close": ("testing", "review"),
}


def move(session: Session, book: Book, slug: str, action: str) -> schema.Campaign:
    """A lifecycle step (``MOVES``): ``freeze`` and ``round`` open a round, ``review`` and
    ``close`` close the current one; the reference submits its answers in each new round."""
    from campaign.intake import reference_round  # the intake needs setup's rows

    campaign = campaign_row(session, slug, lock=True)
    if campaign.status not in MOVES[action]:
        raise CampaignError(
            409, "bad-state", f"campaign {slug} is {campaign.status}: cannot {action} it"
        )
    current = current_round(session, campaign)
    if action == "open":
        campaign.status = "open"
    elif action in ("freeze", "round"):
        number = 1 if current is None else current.number + 1
        new = schema.Round(campaign_id=campaign.id, number=number, opened_at=now())
        session.add(new)
        session.flush()
        campaign.status = "testing"
        reference_round(session, book, campaign, new)
        event(session, campaign, "coordinator", "round-opened", round=number)
    else:
        if current is not None and current.closed_at is None:
            current.closed_at = now()
            event(session, campaign, "coordinator", "round-closed", round=current.number)
        campaign.status = "review" if action == "review" else "closed"
        if action == "close":
            campaign.closed_at = now()
    session.flush()
    return campaign
