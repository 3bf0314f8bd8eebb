"""A whole campaign in one archive, and its offline verification.

Input: a campaign in a store (export), or an archive and the rulebook it was pinned to
(verify).
Output: a tar file with ``campaign.json`` (the campaign, its cases, participants without
their token hashes, instances with their expectations, submissions' metadata, notes, events),
``instances/PARTICIPANT/FILE``, ``submissions/ID``, ``matrix/round-N.json`` (the coordinator's
matrix of each round) and ``SHA256SUMS``; ``verify`` checks every hash, then recomputes every
cell of every round from the submitted bytes — read again, matched to the instances they were
matched to, compared with the stored expectations — and says where the archive's matrix
disagrees.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from answer import ReadError, read_message
from answer.sending import split
from campaign import schema
from campaign.compare import compare
from campaign.core import COORDINATOR, CampaignError, campaign_row
from campaign.matrix import build
from campaign.outcome import observe, slot_of
from compiler import Compiled


def _rows(session: Any, model: Any, campaign_id: int) -> list[Any]:
    return list(
        session.scalars(select(model).where(model.campaign_id == campaign_id).order_by(model.id))
    )


def export(campaigns: Any, slug: str, out: Path) -> dict[str, Any]:
    files: dict[str, bytes] = {}
    with campaigns.store.read() as s:
        c = campaign_row(s, slug)
        people = {p.id: p for p in _rows(s, schema.Participant, c.id)}
        cases = {k.id: k for k in _rows(s, schema.Case, c.id)}
        instances = _rows(s, schema.Instance, c.id)
        rounds = sorted(_rows(s, schema.Round, c.id), key=lambda r: r.number)
        subs = _rows(s, schema.Submission, c.id)
        obs = list(
            s.scalars(
                select(schema.Observation)
                .where(schema.Observation.instance_id.in_([i.id for i in instances]))
                .order_by(schema.Observation.id)
            )
        )
        round_number = {r.id: r.number for r in rounds}
        meta = {
            "campaign": {
                "slug": c.slug,
                "status": c.status,
                "message": c.message,
                "rulebook": {"version": c.rulebook_version, "hash": c.rulebook_hash},
                "selection": c.selection,
                "visibility": c.visibility,
            },
            "rounds": [{"number": r.number, "closed": r.closed_at is not None} for r in rounds],
            "participants": [
                {"key": p.key, "label": p.label, "role": p.role, "name": p.name, "params": p.params}
                for p in people.values()
            ],
            "cases": [
                {
                    "key": k.key,
                    "kind": k.kind,
                    "scenario": k.scenario,
                    "rule_code": k.rule_code,
                    "expected_codes": k.expected_codes,
                    "template_sha256": k.template_sha256,
                    "declared": k.declared,
                }
                for k in cases.values()
            ],
            "instances": [
                {
                    "id": i.id,
                    "case": cases[i.case_id].key,
                    "participant": people[i.participant_id].key,
                    "file": i.file_name,
                    "sha256": i.file_sha256,
                    "expected": i.expected,
                }
                for i in instances
            ],
            "submissions": [
                {
                    "id": x.id,
                    "participant": people[x.participant_id].key,
                    "round": round_number[x.round_id],
                    "name": x.name,
                    "kind": x.kind,
                    "sha256": x.sha256,
                    "instance": x.instance_id,
                    "match": x.match_method,
                    "late": x.late,
                    "received_at": x.received_at.isoformat(),
                }
                for x in subs
            ],
            "observations": [
                {
                    "submission": o.submission_id,
                    "instance": o.instance_id,
                    "round": round_number[o.round_id],
                    "slot": o.slot,
                }
                for o in obs
            ],
        }
        for i in instances:
            files[f"instances/{people[i.participant_id].key}/{i.file_name}"] = i.content
        for x in subs:
            files[f"submissions/{x.id}"] = x.content
        for r in rounds:
            matrix = build(s, campaigns.book, c, COORDINATOR, r.number)
            files[f"matrix/round-{r.number}.json"] = json.dumps(
                matrix, ensure_ascii=False, indent=2
            ).encode()
        meta["notes"] = [
            {
                "case": cases[n.case_id].key,
                "participant": people[n.participant_id].key if n.participant_id else None,
                "author": n.author,
                "kind": n.kind,
                "text": n.text,
                "link": n.link,
                "at": n.created_at.isoformat(),
            }
            for n in _rows(s, schema.Note, c.id)
        ]
        meta["events"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "payload": e.payload}
            for e in _rows(s, schema.Event, c.id)
        ]
    files["campaign.json"] = json.dumps(meta, ensure_ascii=False, indent=2).encode()
    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    )
    files["SHA256SUMS"] = sums.encode()
    tmp = out.with_name(f".{out.name}.part")
    with tarfile.open(tmp, "w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(out)
    return {
        "archive": str(out),
        "files": len(files),
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
    }


def verify(compiled: Compiled, path: Path) -> dict[str, Any]:
    """Every hash, then every cell recomputed; ``problems`` lists what does not hold."""
    try:
        with tarfile.open(path) as tar:
            files = {
                m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers()
                if m.isfile()
            }
    except (OSError, tarfile.TarError) as exc:
        raise CampaignError(422, "bad-archive", f"{path}: {exc}") from None
    problems: list[str] = []
    sums = files.get("SHA256SUMS", b"").decode().splitlines()
    if not sums:
        raise CampaignError(422, "bad-archive", f"{path}: no SHA256SUMS")
    for line in sums:
        digest, _, name = line.partition("  ")
        data = files.get(name)
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            problems.append(f"{name}: hash differs or file missing")
    meta = json.loads(files["campaign.json"])
    pinned = meta["campaign"]["rulebook"]["hash"]
    if pinned != compiled.hash:
        raise CampaignError(
            409,
            "rulebook-mismatch",
            f"the archive is pinned to {pinned}; this rulebook is {compiled.hash}",
        )
    instances = {i["id"]: i for i in meta["instances"]}
    observations: dict[int, list[dict[str, Any]]] = {}
    for o in meta["observations"]:
        observations.setdefault(o["instance"], []).append(o)
    subs = {x["id"]: x for x in meta["submissions"]}
    checked = 0
    for r in meta["rounds"]:
        matrix = json.loads(files[f"matrix/round-{r['number']}.json"])
        stored = {(c["case"], c["participant"]): c["state"] for c in matrix["cells"]}
        for iid, inst in instances.items():
            content = files[f"instances/{inst['participant']}/{inst['file']}"]
            latest: dict[str, dict[str, Any]] = {}
            for o in observations.get(iid, []):
                if o["round"] > r["number"]:
                    continue
                sub = subs[o["submission"]]
                data = files[f"submissions/{sub['id']}"]
                if sub["kind"] == "harness":
                    latest[o["slot"]] = {"errored": json.loads(data)["errored"]}
                    continue
                try:
                    read = read_message(compiled, data, sub["name"])
                    latest[o["slot"]] = observe(compiled, read, split(compiled, content))
                    if slot_of(compiled, read.type) != o["slot"]:
                        problems.append(f"submission {sub['id']}: slot differs")
                except ReadError as exc:
                    latest[o["slot"]] = {"unreadable": str(exc)}
            state, _detail = compare(compiled, inst["expected"], latest)
            if state == "pending" and (r["closed"] or meta["campaign"]["status"] == "closed"):
                state = "missing"
            key = (inst["case"], inst["participant"])
            if key in stored and stored[key] not in (
                state,
                "missing" if state == "pending" else state,
            ):
                problems.append(
                    f"round {r['number']} {key[0]} x {key[1]}: archive says "
                    f"{stored[key]}, recomputed {state}"
                )
            checked += 1
    return {
        "archive": str(path),
        "campaign": meta["campaign"]["slug"],
        "cells": checked,
        "files": len(files),
        "problems": problems,
        "ok": not problems,
    }
