"""The campaign routes through the real service: concurrent submissions on SQLite and on a real
PostgreSQL (each stored once, cells equal to a recomputation, no 5xx), tokens and
visibility, and the same JSON from the command line, the HTTP service and the HTML site.
"""

from __future__ import annotations

import json
import queue
import random
import re
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.service import create_app
from benchmarks.local_server import local_server
from campaign import Campaigns, Store, schema
from compiler import Compiled
from tests.campaign_world import postgres
from tests.commands import rulebook

SLUG = "http"
PARTICIPANTS = ("oa100", "oa300", "oa500", "oa900")


def make_campaign(url: str, compiled: Compiled) -> tuple[Campaigns, str, dict[str, str]]:
    cs = Campaigns(Store(url), compiled)
    _info, coordinator = cs.create(SLUG, select_=["record=ET20"])
    tokens = {}
    for key in PARTICIPANTS:
        _info, token = cs.add_participant(SLUG, key, role="insurer", name=key.upper())
        assert token is not None
        tokens[key] = token
    cs.move(SLUG, "freeze")
    return cs, coordinator, tokens


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/campaigns.db"
    else:
        with postgres() as url:
            yield url


def test_concurrent_submissions_are_stored_once(store_url: str, compiled: Compiled) -> None:
    """20 clients send 2,000 submissions (every answer, then duplicates and retries in a
    random order): each is stored once, the cells equal a recomputation, nothing fails."""
    cs, _coordinator, tokens = make_campaign(store_url, compiled)
    distinct: list[tuple[str, str, bytes]] = []
    for key in PARTICIPANTS:
        for item in cs.manifest(SLUG, key):
            for name, data in cs.expected_messages(SLUG, key, item["case"]):
                distinct.append((key, name, data))
    if len(distinct) > 1200:
        distinct = distinct[:1200]
    rng = random.Random(2026)
    jobs = distinct + [rng.choice(distinct) for _ in range(2000 - len(distinct))]
    rng.shuffle(jobs)
    assert len(jobs) == 2000
    work: queue.Queue[tuple[str, str, bytes]] = queue.Queue()
    for job in jobs:
        work.put(job)
    statuses: Counter[int] = Counter()
    replays: Counter[str] = Counter()
    lock = threading.Lock()
    with local_server("--store", store_url, "--workers", "1") as server:

        def client() -> None:
            with httpx.Client(base_url=server.base, timeout=120) as http:
                while True:
                    try:
                        key, name, data = work.get_nowait()
                    except queue.Empty:
                        return
                    answer = http.post(
                        f"/v1/campaigns/{SLUG}/submissions",
                        params={"name": name},
                        content=data,
                        headers={"Authorization": f"Bearer {tokens[key]}"},
                    )
                    with lock:
                        statuses[answer.status_code] += 1
                        if answer.status_code == 200:
                            replays[answer.headers["Idempotent-Replay"]] += 1

        threads = [threading.Thread(target=client) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert statuses == Counter({200: 2000}), statuses
    assert replays["false"] == len({(k, d) for k, _n, d in distinct})
    with cs.store.read() as s:
        stored = s.scalar(
            select(func.count())
            .select_from(schema.Submission)
            .where(schema.Submission.client == "http")
        )
        pairs = s.execute(
            select(schema.Submission.participant_id, schema.Submission.sha256).where(
                schema.Submission.client == "http"
            )
        ).all()
    assert stored == len(set(pairs)) == len({(k, d) for k, _n, d in distinct})
    before = cs.matrix(SLUG)
    assert cs.recompute(SLUG)["changed"] == 0
    assert cs.matrix(SLUG)["cells"] == before["cells"]
    answered = {c["state"] for c in before["cells"] if c["participant"] != "reference"}
    assert answered <= {"match", "pending"}
    cs.store.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, compiled: Compiled) -> Iterator[Any]:
    url = f"sqlite:///{tmp_path_factory.mktemp('served')}/c.db"
    cs, coordinator, tokens = make_campaign(url, compiled)
    for key in ("oa100", "oa300"):
        for item in cs.manifest(SLUG, key)[:6]:
            for name, data in cs.expected_messages(SLUG, key, item["case"]):
                cs.submit(SLUG, key, name, data)
    with TestClient(create_app(compiled, store=url)) as client:
        yield client, cs, coordinator, tokens, url


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_and_visibility(served: Any) -> None:
    client, cs, coordinator, tokens, _url = served
    base = f"/v1/campaigns/{SLUG}"
    assert client.get(base).status_code == 401
    assert client.get(base, headers=auth("rbk_http_nonsense")).status_code == 401
    own = client.get(f"{base}/cases", headers=auth(tokens["oa100"]))
    assert own.status_code == 200 and len(own.json()["files"]) == cs.info(SLUG)["cases"]
    case = own.json()["files"][0]["case"]
    # another participant's files, instances and cells are not for oa100 (visibility 'own')
    other = client.get(
        f"{base}/cases", params={"participant": "oa300"}, headers=auth(tokens["oa100"])
    )
    assert other.status_code == 403
    assert (
        client.get(
            f"{base}/file",
            params={"case": case, "participant": "oa300"},
            headers=auth(tokens["oa100"]),
        ).status_code
        == 403
    )
    assert (
        client.get(
            f"{base}/cell",
            params={"case": case, "participant": "oa300"},
            headers=auth(tokens["oa100"]),
        ).status_code
        == 404
    )
    mine = client.get(f"{base}/matrix", headers=auth(tokens["oa100"])).json()
    assert {p["key"] for p in mine["participants"]} == {"reference", "oa100"}
    assert {c["participant"] for c in mine["cells"]} == {"reference", "oa100"}
    assert mine["others"]["participants"] == 3
    assert "oa300" not in json.dumps(mine)
    # a participant cannot submit for another, nor decide
    assert (
        client.post(
            f"{base}/decisions",
            json={"case": case, "status": "open"},
            headers=auth(tokens["oa100"]),
        ).status_code
        == 403
    )
    # the coordinator sees everything
    full = client.get(f"{base}/matrix", headers=auth(coordinator)).json()
    assert {p["key"] for p in full["participants"]} == {"reference", *PARTICIPANTS}
    # a revoked token gets 401; a rotated one replaces it
    answer = client.post(
        f"{base}/participants/oa900/token", json={"action": "revoke"}, headers=auth(coordinator)
    )
    assert answer.status_code == 200
    assert client.get(base, headers=auth(tokens["oa900"])).status_code == 401
    rotated = client.post(
        f"{base}/participants/oa900/token", json={"action": "rotate"}, headers=auth(coordinator)
    ).json()["token"]
    assert client.get(base, headers=auth(rotated)).status_code == 200
    tokens["oa900"] = rotated


def test_submission_errors_are_located(served: Any) -> None:
    client, cs, _coordinator, tokens, _url = served
    base = f"/v1/campaigns/{SLUG}/submissions"
    unknown = client.post(base, content=b"920098" + b"0" * 700, headers=auth(tokens["oa500"]))
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unmatched-answer"
    # oa100's answer is not oa500's: its references name none of oa500's files
    item = cs.manifest(SLUG, "oa100")[0]
    name, data = cs.expected_messages(SLUG, "oa100", item["case"])[0]
    foreign = client.post(base, content=data, headers=auth(tokens["oa500"]))
    assert foreign.status_code == 422
    replay = client.post(base, params={"name": name}, content=data, headers=auth(tokens["oa100"]))
    assert replay.status_code == 200 and replay.headers["Idempotent-Replay"] == "true"
    assert client.post(base, content=b"", headers=auth(tokens["oa100"])).status_code == 422


def strip_script(page: str) -> Any:
    found = re.search(r'<script type="application/json" id="matrix">(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1).replace("<\\/", "</"))


def test_cli_http_and_html_give_the_same_json(served: Any, tmp_path: Path) -> None:
    client, _cs, coordinator, _tokens, url = served
    http = client.get(f"/v1/campaigns/{SLUG}/matrix", headers=auth(coordinator)).json()
    done = rulebook("campaign", "matrix", SLUG, "--store", url, "--format", "json")
    assert done.returncode == 1, done.stderr  # most cells are not answered yet
    cli = json.loads(done.stdout)
    page = client.get(
        f"/v1/campaigns/{SLUG}/matrix",
        params={"format": "html", "lang": "nl"},
        headers=auth(coordinator),
    )
    assert page.status_code == 200 and 'lang="nl"' in page.text
    done = rulebook(
        "campaign",
        "matrix",
        SLUG,
        "--store",
        url,
        "--format",
        "html",
        "--out",
        str(tmp_path / "site"),
    )
    assert done.returncode == 1, done.stderr
    static = strip_script((tmp_path / "site" / "fr" / "index.html").read_text("utf-8"))
    assert cli == http == strip_script(page.text) == static
    assert cli["matrix_sha256"] == http["matrix_sha256"]
