"""The library's face of test campaigns: one object, one transaction per operation.

Input: a store (``campaign.store``) and the compiled rulebook campaigns are pinned to.
Output: what the command line and the HTTP service both serialise: the same dicts, from the
same functions. Every operation checks that the campaign is pinned to this very rulebook (its
content hash): answers are read, and expectations were computed, with it. Submissions retry
once more when a concurrent upload of the same bytes won the race (they are then a replay)
or PostgreSQL broke a deadlock.
"""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from campaign import intake, review, schema, setup
from campaign.core import (
    COORDINATOR,
    REFERENCE,
    Book,
    CampaignError,
    Viewer,
    campaign_row,
    participant_row,
    viewer_for,
)
from campaign.matrix import build
from campaign.store import Store
from compiler import Compiled

RETRIES = 5


class Campaigns:
    def __init__(self, store: Store, compiled: Compiled) -> None:
        self.store = store
        self.book = Book.of(compiled)

    # ----------------------------------------------------------------- helpers

    def _pinned(self, session: Session, slug: str, *, lock: bool = False) -> schema.Campaign:
        row = campaign_row(session, slug, lock=lock)
        compiled = self.book.compiled
        if row.rulebook_hash != compiled.hash:
            raise CampaignError(
                409,
                "rulebook-mismatch",
                f"campaign {slug} is pinned to rulebook {row.rulebook_version} "
                f"({row.rulebook_hash}); this one is {compiled.version} ({compiled.hash}): "
                "use that rulebook (--rulebook DIR)",
            )
        return row

    def viewer(self, slug: str, token: str) -> Viewer:
        with self.store.read() as s:
            return viewer_for(s, campaign_row(s, slug), token)

    # ----------------------------------------------------------------- setting up

    def create(self, slug: str, **options: Any) -> tuple[dict[str, Any], str]:
        with self.store.write() as s:
            row, token = setup.create(s, self.book, slug, **options)
            return self._info(s, row, COORDINATOR), token

    def add_participant(
        self, slug: str, key: str, **options: Any
    ) -> tuple[dict[str, Any], str | None]:
        with self.store.write() as s:
            campaign = self._pinned(s, slug, lock=True)
            row, token = setup.add_participant(s, self.book, campaign, key, **options)
            drift = s.scalars(
                select(schema.Instance).where(
                    schema.Instance.participant_id == row.id, schema.Instance.drift.is_not(None)
                )
            ).all()
            info = {
                "key": row.key,
                "label": row.label,
                "role": row.role,
                "name": row.name,
                "instances": len(
                    s.scalars(
                        select(schema.Instance.id).where(schema.Instance.participant_id == row.id)
                    ).all()
                ),
                "drifted": sorted(
                    self._case_key(s, i.case_id) for i in drift
                ),  # its parameters changed what these cases test
            }
            return info, token

    def _case_key(self, s: Session, case_id: int) -> str:
        case = s.get(schema.Case, case_id)
        return case.key if case else "?"

    def token(self, slug: str, key: str, *, revoke: bool) -> str | None:
        with self.store.write() as s:
            return setup.set_token(s, campaign_row(s, slug, lock=True), key, revoke=revoke)

    def move(self, slug: str, action: str) -> dict[str, Any]:
        with self.store.write() as s:
            self._pinned(s, slug, lock=True)
            row = setup.move(s, self.book, slug, action)
            out = self._info(s, row, COORDINATOR)
            if action == "close":
                out["snapshot"] = review.snapshot(s, self.book, row, "close")
            return out

    def info(self, slug: str, viewer: Viewer = COORDINATOR) -> dict[str, Any]:
        with self.store.read() as s:
            return self._info(s, campaign_row(s, slug), viewer)

    def _info(self, s: Session, row: schema.Campaign, viewer: Viewer) -> dict[str, Any]:
        cases = s.scalars(select(schema.Case.id).where(schema.Case.campaign_id == row.id)).all()
        people = s.scalars(
            select(schema.Participant).where(schema.Participant.campaign_id == row.id)
        ).all()
        rounds = s.scalars(
            select(schema.Round)
            .where(schema.Round.campaign_id == row.id)
            .order_by(schema.Round.number)
        ).all()
        return {
            "slug": row.slug,
            "title": {"fr": row.title_fr, "nl": row.title_nl},
            "status": row.status,
            "rulebook": {"version": row.rulebook_version, "hash": row.rulebook_hash},
            "message": row.message,
            "selection": row.selection,
            "visibility": row.visibility,
            "late_policy": row.late_policy,
            "register_until": row.register_until.isoformat() if row.register_until else None,
            "submit_until": row.submit_until.isoformat() if row.submit_until else None,
            "cases": len(cases),
            "participants": len([p for p in people if p.role != REFERENCE])
            if viewer.coordinator or row.visibility != "own"
            else None,
            "rounds": [
                {
                    "number": r.number,
                    "opened_at": r.opened_at.isoformat(timespec="seconds") + "Z",
                    "closed_at": (r.closed_at.isoformat(timespec="seconds") + "Z")
                    if r.closed_at
                    else None,
                }
                for r in rounds
            ],
            "viewer": viewer.actor,
        }

    # ----------------------------------------------------------------- files

    def manifest(self, slug: str, participant: str, viewer: Viewer = COORDINATOR) -> list[Any]:
        """A participant's files: case, file name, sha256, references, date, expectation."""
        if not viewer.coordinator and viewer.participant != participant:
            raise CampaignError(403, "forbidden", "a participant sees its own files only")
        with self.store.read() as s:
            campaign = campaign_row(s, slug)
            person = participant_row(s, campaign, participant)
            rows = s.execute(
                select(schema.Instance, schema.Case)
                .join(schema.Case, schema.Case.id == schema.Instance.case_id)
                .where(schema.Instance.participant_id == person.id)
                .order_by(schema.Case.position)
            ).all()
            return [
                {
                    "case": case.key,
                    "kind": case.kind,
                    "file": inst.file_name,
                    "sha256": inst.file_sha256,
                    "size": len(inst.content),
                    "today": case.today.isoformat(),
                    "references": {"sender": inst.sender_reference, "file": inst.file_reference},
                    "expectation": {
                        "source": case.expectation_source,
                        "message": inst.expected["answer"]["message"],
                        "refusal_type": inst.expected["answer"]["refusal_type"],
                        "codes": list(case.expected_codes)
                        if case.declared is None
                        else sorted({e[1] for r in case.declared["records"] for e in r["errors"]}),
                    },
                }
                for inst, case in rows
            ]

    def instance_file(
        self, slug: str, participant: str, case_key: str, viewer: Viewer = COORDINATOR
    ) -> tuple[str, bytes]:
        if not viewer.coordinator and viewer.participant != participant:
            raise CampaignError(403, "forbidden", "a participant sees its own files only")
        with self.store.read() as s:
            campaign = campaign_row(s, slug)
            person = participant_row(s, campaign, participant)
            row = s.scalars(
                select(schema.Instance)
                .join(schema.Case, schema.Case.id == schema.Instance.case_id)
                .where(schema.Instance.participant_id == person.id, schema.Case.key == case_key)
            ).first()
            if row is None:
                raise CampaignError(404, "not-found", f"{participant} has no case {case_key!r}")
            return row.file_name, row.content

    def expected_messages(
        self, slug: str, participant: str, case_key: str, viewer: Viewer = COORDINATOR
    ) -> list[tuple[str, bytes]]:
        if not viewer.coordinator and viewer.participant != participant:
            raise CampaignError(403, "forbidden", "a participant sees its own files only")
        with self.store.read() as s:
            campaign = campaign_row(s, slug)
            person = participant_row(s, campaign, participant)
            current = s.scalars(
                select(schema.Round)
                .where(schema.Round.campaign_id == campaign.id)
                .order_by(schema.Round.number.desc())
            ).first()
            if current is None or not review.expected_visible(campaign, viewer, current):
                raise CampaignError(
                    403, "not-yet", "the expected answers are shown once the round is closed"
                )
            row = s.scalars(
                select(schema.Instance)
                .join(schema.Case, schema.Case.id == schema.Instance.case_id)
                .where(schema.Instance.participant_id == person.id, schema.Case.key == case_key)
            ).first()
            if row is None:
                raise CampaignError(404, "not-found", f"{participant} has no case {case_key!r}")
            return [(m["name"], base64.b64decode(m["base64"])) for m in row.expected_messages]

    # ----------------------------------------------------------------- submissions

    def submit(
        self,
        slug: str,
        participant: str,
        name: str,
        content: bytes,
        *,
        case_key: str | None = None,
        client: str = "cli",
        today: dt.date | None = None,
    ) -> list[intake.Result]:
        for attempt in range(RETRIES):
            try:
                with self.store.write() as s:
                    campaign = self._pinned(s, slug)
                    person = participant_row(s, campaign, participant)
                    if person.role == REFERENCE:
                        raise CampaignError(403, "forbidden", "the reference answers by itself")
                    return intake.submit(
                        s,
                        self.book,
                        campaign,
                        person,
                        name,
                        content,
                        case_key=case_key,
                        client=client,
                        today=today,
                    )
            except IntegrityError:
                continue  # the same bytes were stored meanwhile: the retry is a replay
            except DBAPIError as exc:
                if _retryable(exc) and attempt < RETRIES - 1:
                    continue
                raise
        raise CampaignError(503, "busy", "the store stayed busy; try again")

    def harness_result(
        self, slug: str, participant: str, case_key: str, errored: dict[str, Any]
    ) -> intake.Result:
        with self.store.write() as s:
            campaign = self._pinned(s, slug)
            person = participant_row(s, campaign, participant)
            return intake.harness_result(s, self.book, campaign, person, case_key, errored)

    def recompute(self, slug: str) -> dict[str, Any]:
        """Rebuild the current round's cells from the observations; say what changed (a
        difference means the materialised cells were wrong)."""
        with self.store.write() as s:
            campaign = self._pinned(s, slug, lock=True)
            from campaign.core import round_row

            round_ = round_row(s, campaign, None)
            before = {
                (c.case_id, c.participant_id): (c.state, c.detail)
                for c in s.scalars(select(schema.Cell).where(schema.Cell.round_id == round_.id))
            }
            count = intake.recompute(s, self.book, campaign, round_)
            after = {
                (c.case_id, c.participant_id): (c.state, c.detail)
                for c in s.scalars(select(schema.Cell).where(schema.Cell.round_id == round_.id))
            }
            changed = sorted(k for k in after if before.get(k) != after[k])
            return {"round": round_.number, "cells": count, "changed": len(changed)}

    # ----------------------------------------------------------------- views

    def matrix(
        self,
        slug: str,
        viewer: Viewer = COORDINATOR,
        round_number: int | None = None,
        only: list[str] | None = None,
    ) -> dict[str, Any]:
        with self.store.read() as s:
            campaign = self._pinned(s, slug)
            return build(s, self.book, campaign, viewer, round_number, only, dt.date.today())

    def cell(
        self,
        slug: str,
        case_key: str,
        participant: str,
        viewer: Viewer = COORDINATOR,
        round_number: int | None = None,
    ) -> dict[str, Any]:
        with self.store.read() as s:
            campaign = self._pinned(s, slug)
            return review.cell_detail(
                s, self.book, campaign, viewer, case_key, participant, round_number
            )

    def site(
        self, slug: str, round_number: int | None = None, viewer: Viewer = COORDINATOR
    ) -> dict[str, str]:
        """The static HTML site of a round's matrix (``campaign.html``), both languages."""
        from campaign.html import site

        with self.store.read() as s:
            campaign = self._pinned(s, slug)
            matrix = build(s, self.book, campaign, viewer, round_number, None, dt.date.today())
            details = [
                review.cell_detail(
                    s,
                    self.book,
                    campaign,
                    viewer,
                    c["case"],
                    c["participant"],
                    matrix["campaign"]["round"],
                    matrix,
                )
                for c in matrix["cells"]
            ]
        return site(matrix, details)

    def note(
        self,
        slug: str,
        viewer: Viewer,
        case_key: str,
        participant: str | None,
        kind: str,
        text: str,
        link: str | None = None,
    ) -> dict[str, Any]:
        with self.store.write() as s:
            campaign = campaign_row(s, slug)
            return review.add_note(s, campaign, viewer, case_key, participant, kind, text, link)

    def resolve(self, slug: str, case_key: str, **decision: Any) -> dict[str, Any]:
        with self.store.write() as s:
            return review.resolve(s, campaign_row(s, slug), case_key, **decision)

    def diff_rounds(self, slug: str, a: int, b: int, viewer: Viewer = COORDINATOR) -> Any:
        return review.diff_matrices(self.matrix(slug, viewer, a), self.matrix(slug, viewer, b))

    def diff_campaigns(self, a: str, b: str, viewer: Viewer = COORDINATOR) -> Any:
        """Across campaigns (rulebook releases) of this store, aligned on case keys; each is
        read as it was pinned (its matrix from its own stored cells)."""
        with self.store.read() as s:
            first = build(s, self.book, campaign_row(s, a), viewer, None, None, dt.date.today())
            second = build(s, self.book, campaign_row(s, b), viewer, None, None, dt.date.today())
        return review.diff_matrices(first, second)

    def events(self, slug: str, after: int = 0) -> list[dict[str, Any]]:
        with self.store.read() as s:
            return review.events(s, campaign_row(s, slug), after)


def _retryable(exc: DBAPIError) -> bool:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40001", "40P01") or "database is locked" in str(exc.orig)


def open_campaigns(
    store_url: str | None = None, compiled: Compiled | None = None, rulebook_dir: Path | None = None
) -> Campaigns:
    """``Campaigns`` on a store (default: ``RULEBOOK_STORE`` or the user's data directory)
    with the given or shipped rulebook."""
    from compiler import load_compiled

    book = compiled if compiled is not None else load_compiled(rulebook_dir)
    return Campaigns(Store(store_url), book)
