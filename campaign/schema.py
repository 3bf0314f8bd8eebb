"""The campaign store's tables (SQLAlchemy 2; created and changed by the Alembic migrations in
``campaign/migrations``, never by ``create_all``).

Input: nothing (declarations). Output: the mapped classes the campaign modules read and write.
Submissions, observations, notes and events are only ever added; cells are a materialised
view of the observations (``campaign.cells.recompute`` rebuilds them identically).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def now() -> dt.datetime:
    """The store's clock: UTC, to the microsecond, without time zone (SQLite keeps none)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Campaign(Base):
    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title_fr: Mapped[str] = mapped_column(Text, default="")
    title_nl: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    rulebook_version: Mapped[str] = mapped_column(String(64))
    rulebook_hash: Mapped[str] = mapped_column(String(80))
    rulebook_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    message: Mapped[str] = mapped_column(String(6))
    selection: Mapped[list[Any]] = mapped_column(JSON, default=list)
    register_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    submit_until: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    visibility: Mapped[str] = mapped_column(String(16), default="own")
    late_policy: Mapped[str] = mapped_column(String(8), default="flag")
    expected_visible: Mapped[str] = mapped_column(String(16), default="after-round")
    coordinator_sha256: Mapped[str] = mapped_column(String(64))
    next_serial: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Participant(Base):
    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(16))  # pseudonym (OA-1, SW-1, reference)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    system_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    system_version: Mapped[str | None] = mapped_column(Text, nullable=True)
    declared_rulebook: Mapped[str | None] = mapped_column(Text, nullable=True)
    contact: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    token_created_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    token_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Case(Base):
    __tablename__ = "case"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    scenario: Mapped[str] = mapped_column(String(64))
    today: Mapped[dt.date] = mapped_column(Date)
    rule_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    rule_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rule_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    rule_period: Mapped[str | None] = mapped_column(Text, nullable=True)
    record_type: Mapped[str | None] = mapped_column(String(8), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    letter: Mapped[str | None] = mapped_column(String(1), nullable=True)
    edits: Mapped[list[Any]] = mapped_column(JSON, default=list)
    expected_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    template_sha256: Mapped[str] = mapped_column(String(64))
    template: Mapped[bytes] = mapped_column(LargeBinary)  # the file with no parameter
    expectation_source: Mapped[str] = mapped_column(String(16))
    declared: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    declared_by: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class Instance(Base):
    __tablename__ = "instance"
    __table_args__ = (
        UniqueConstraint("case_id", "participant_id"),
        Index("ix_instance_sender_ref", "participant_id", "sender_reference"),
        Index("ix_instance_file_ref", "participant_id", "file_reference"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    serial: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    file_name: Mapped[str] = mapped_column(Text)
    file_sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sender_reference: Mapped[str | None] = mapped_column(String(32), nullable=True)
    file_reference: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expected: Mapped[dict[str, Any]] = mapped_column(JSON)
    expected_messages: Mapped[list[Any]] = mapped_column(JSON)
    drift: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class Round(Base):
    __tablename__ = "round"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    number: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Submission(Base):
    __tablename__ = "submission"
    __table_args__ = (UniqueConstraint("participant_id", "sha256"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    kind: Mapped[str] = mapped_column(String(16))  # answer | harness
    name: Mapped[str] = mapped_column(Text)
    message_type: Mapped[str | None] = mapped_column(String(8), nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"), nullable=True)
    match_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    read_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    client: Mapped[str] = mapped_column(String(16))


class Observation(Base):
    __tablename__ = "observation"
    __table_args__ = (Index("ix_observation_instance", "instance_id", "round_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    slot: Mapped[str] = mapped_column(String(16))  # ack | answer | settlement | harness
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)


class Cell(Base):
    __tablename__ = "cell"
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    state: Mapped[str] = mapped_column(String(24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class Divergence(Base):
    __tablename__ = "divergence"
    __table_args__ = (UniqueConstraint("campaign_id", "case_id", "round_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    cause: Mapped[str | None] = mapped_column(String(32), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"), nullable=True)
    author: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class Snapshot(Base):
    __tablename__ = "snapshot"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    label: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    matrix_sha256: Mapped[str] = mapped_column(String(64))
    matrix: Mapped[bytes] = mapped_column(LargeBinary)


class Event(Base):
    __tablename__ = "event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
