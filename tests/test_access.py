"""API keys and the access log of the service (through the real app), and the command that
manages the keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

from fastapi.testclient import TestClient

from api.access import add_key, key_hash, key_names, revoke_key
from api.service import create_app
from compiler import Compiled
from tests.commands import rulebook

ROOT = Path(__file__).resolve().parent.parent
BODY = (ROOT / "examples" / "wrong-niss.920000").read_bytes()
TODAY = dt.date(2026, 11, 1)


def test_keys_are_stored_hashed_shown_once_and_revocable(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    key = add_key(path, "software-firm-1")
    text = path.read_text()
    assert key not in text and key_hash(key) in text
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_names(path) == ["software-firm-1"]
    revoke_key(path, "software-firm-1")
    assert key_names(path) == []


def test_validation_routes_need_a_valid_key_and_every_request_is_logged(
    compiled: Compiled, tmp_path: Path
) -> None:
    """Without a key, with a wrong one or a revoked one: 401, the body never read, a line in
    the log; with a key (either header): the report, a line with the client's name, the
    file's exact sha256 and the verdict. Reading routes stay open."""
    path = tmp_path / "keys"
    key = add_key(path, "insurer-a")
    other = add_key(path, "insurer-b")
    log = io.StringIO()
    with TestClient(create_app(compiled, today=TODAY, keys=path, access_log=log)) as client:
        refused = [
            client.post("/v1/validate", content=BODY),
            client.post("/v1/validate", content=BODY, headers={"Authorization": "Bearer nope"}),
            client.post("/v1/answer", content=BODY, headers={"X-API-Key": "nope"}),
            client.post("/v1/read", content=BODY),
        ]
        assert [r.status_code for r in refused] == [401] * 4
        assert refused[0].json()["error"]["code"] == "unauthorized"
        bearer = client.post(
            "/v1/validate", content=BODY, headers={"Authorization": f"Bearer {key}"}
        )
        header = client.post("/v1/validate", content=BODY, headers={"X-API-Key": other})
        assert bearer.status_code == header.status_code == 200
        assert bearer.json() == header.json()
        assert client.get("/healthz").status_code == 200
        revoke_key(path, "insurer-b")
        spec = TestClient(create_app(compiled, keys=path)).get("/openapi.json").json()
        assert spec["paths"]["/v1/validate"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
        assert "401" in spec["paths"]["/v1/read"]["post"]["responses"]
        assert "security" not in spec["paths"]["/healthz"]["get"]
        revoked = client.post("/v1/validate", content=BODY, headers={"X-API-Key": other})
        assert revoked.status_code == 401
    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [(e["route"], e["status"], e["client"]) for e in lines] == [
        ("/v1/validate", 401, None),
        ("/v1/validate", 401, None),
        ("/v1/answer", 401, None),
        ("/v1/read", 401, None),
        ("/v1/validate", 200, "insurer-a"),
        ("/v1/validate", 200, "insurer-b"),
        ("/healthz", 200, None),
        ("/v1/validate", 401, None),
    ]
    sha = hashlib.sha256(BODY).hexdigest()
    assert [e["sha256"] for e in lines] == [None] * 4 + [sha, sha, None, None]
    assert [e["verdict"] for e in lines][4:6] == ["rejected_threshold"] * 2
    assert all(e["bytes_in"] == 0 for e in lines[:4]) and lines[4]["bytes_in"] == len(BODY)
    assert all(isinstance(e["duration_ms"], float) for e in lines)
    assert BODY[:40].decode() not in log.getvalue()  # never the file's content


def test_serving_beyond_loopback_needs_keys(tmp_path: Path) -> None:
    refused = rulebook("serve", "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2
    assert "needs API keys: --keys FILE" in refused.stderr
    made = rulebook("keys", "add", "ot-1", "--file", str(tmp_path / "keys"))
    assert made.returncode == 0 and len(made.stdout.strip()) >= 40
    assert rulebook("keys", "list", "--file", str(tmp_path / "keys")).stdout == "ot-1\n"
    again = rulebook("keys", "add", "ot-1", "--file", str(tmp_path / "keys"))
    assert again.returncode == 2 and "already has a key named 'ot-1'" in again.stderr
    assert rulebook("keys", "revoke", "ot-1", "--file", str(tmp_path / "keys")).returncode == 0
    assert rulebook("keys", "list", "--file", str(tmp_path / "keys")).stdout == ""
