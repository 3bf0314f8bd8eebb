"""What every campaign operation shares: its errors, tokens, viewers and the audit log.

``CampaignError`` carries a stable code and the HTTP status the service answers with (the
command line exits 2 on it). Tokens are ``rbk_<campaign>_<32 random bytes, base32>``: a leaked
one is recognisable; only their SHA-256 is stored, and they are compared in constant time.
A ``Viewer`` is who asks: the coordinator (the command line on the store, or the campaign's
coordinator token) or one participant; what it may see follows the campaign's visibility.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign import schema
from campaign.instances import Profile, profile
from campaign.schema import now
from compiler import Compiled

STATUSES = ("draft", "open", "testing", "review", "closed")
ROLES = ("insurer", "sender")
VISIBILITIES = ("own", "pseudonymous", "named")
REFERENCE = "reference"


@dataclass(frozen=True, slots=True)
class Book:
    """The pinned rulebook, compiled, with its campaign profile (read once)."""

    compiled: Compiled
    profile: Profile

    @classmethod
    def of(cls, compiled: Compiled) -> Book:
        return cls(compiled, profile(compiled))


class CampaignError(ValueError):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(what: str) -> CampaignError:
    return CampaignError(404, "not-found", what)


def new_token(slug: str) -> str:
    raw = base64.b32encode(secrets.token_bytes(32)).decode("ascii").rstrip("=").lower()
    return f"rbk_{slug}_{raw}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_hash(stored: str | None, token: str) -> bool:
    return stored is not None and hmac.compare_digest(stored, token_hash(token))


@dataclass(frozen=True, slots=True)
class Viewer:
    """``participant`` None: the coordinator."""

    participant: str | None = None

    @property
    def coordinator(self) -> bool:
        return self.participant is None

    @property
    def actor(self) -> str:
        return self.participant or "coordinator"


COORDINATOR = Viewer()


def campaign_row(session: Session, slug: str, *, lock: bool = False) -> schema.Campaign:
    query = select(schema.Campaign).where(schema.Campaign.slug == slug)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise not_found(f"no campaign {slug!r} in this store")
    return row


def participant_row(session: Session, campaign: schema.Campaign, key: str) -> schema.Participant:
    row = session.scalars(
        select(schema.Participant).where(
            schema.Participant.campaign_id == campaign.id, schema.Participant.key == key
        )
    ).first()
    if row is None:
        raise not_found(f"no participant {key!r} in campaign {campaign.slug}")
    return row


def viewer_for(session: Session, campaign: schema.Campaign, token: str) -> Viewer:
    """The viewer a bearer token stands for (401 for any other token, revoked ones too)."""
    if not token.startswith(f"rbk_{campaign.slug}_"):
        raise CampaignError(401, "unauthorized", "no valid token for this campaign")
    if same_hash(campaign.coordinator_sha256, token):
        return COORDINATOR
    row = session.scalars(
        select(schema.Participant).where(
            schema.Participant.campaign_id == campaign.id,
            schema.Participant.token_sha256 == token_hash(token),
        )
    ).first()
    if row is None or row.token_revoked_at is not None or not same_hash(row.token_sha256, token):
        raise CampaignError(401, "unauthorized", "no valid token for this campaign")
    return Viewer(row.key)


def require_coordinator(viewer: Viewer) -> None:
    if not viewer.coordinator:
        raise CampaignError(403, "forbidden", "only the campaign's coordinator may do this")


def event(
    session: Session, campaign: schema.Campaign, actor: str, kind: str, **payload: Any
) -> None:
    """Append to the campaign's audit log (never changed or deleted)."""
    session.add(
        schema.Event(campaign_id=campaign.id, at=now(), actor=actor, kind=kind, payload=payload)
    )


def current_round(session: Session, campaign: schema.Campaign) -> schema.Round | None:
    return session.scalars(
        select(schema.Round)
        .where(schema.Round.campaign_id == campaign.id)
        .order_by(schema.Round.number.desc())
    ).first()


def round_row(session: Session, campaign: schema.Campaign, number: int | None) -> schema.Round:
    if number is None:
        found = current_round(session, campaign)
        if found is None:
            raise CampaignError(
                409, "no-round", f"campaign {campaign.slug} has no round yet (freeze it)"
            )
        return found
    found = session.scalars(
        select(schema.Round).where(
            schema.Round.campaign_id == campaign.id, schema.Round.number == number
        )
    ).first()
    if found is None:
        raise not_found(f"campaign {campaign.slug} has no round {number}")
    return found
