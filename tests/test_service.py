"""The HTTP service through the real app (ASGI client) and through a real server process."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from api.cli import MAX_WORKERS, usable_cores
from api.service import create_app
from benchmarks.bigfile import build_broken, build_large
from benchmarks.local_server import local_server
from compiler import Compiled
from tests.commands import rulebook
from validator import validate
from validator.tally import DEFAULT_KEEP

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TODAY = dt.date(2026, 11, 1)  # the servers here fix 'today' (clients cannot set it)


@pytest.fixture(scope="module")
def client(compiled: Compiled) -> Iterator[TestClient]:
    with TestClient(create_app(compiled, today=TODAY)) as c:
        yield c


def test_healthz(client: TestClient, compiled: Compiled) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "rulebook": {"version": compiled.version, "hash": compiled.hash},
    }


def test_rulebook_identity(client: TestClient, compiled: Compiled) -> None:
    data = client.get("/v1/rulebook").json()
    assert (data["version"], data["hash"], data["message"]) == ("2026.2", compiled.hash, "920000")
    assert (data["layouts"], data["rules"], data["codes"]) == (18, 583, 594)
    assert data["releases"] == [
        {"version": "2026.1", "published": "2026-11-01", "applies": "2026-11-01"},
        {"version": "2026.2", "published": "2026-12-07", "applies": "2026-12-07"},
    ]


def test_rule_by_code(client: TestClient) -> None:
    data = client.get("/v1/rules/102710").json()
    assert (data["code"], data["letter"], data["official"]) == ("102710", "B", True)
    (version,) = data["versions"]
    assert (version["record"], version["zone"], version["valid_from"]) == (
        "ET10",
        "27",
        "2015-01-01",
    )
    assert version["source"] == "instructions/et10.rules" and version["line"] > 0
    assert data["message"]["nl"]


def test_declared_code_without_official_label(client: TestClient) -> None:
    data = client.get("/v1/rules/RB0001").json()
    assert (data["official"], data["versions"]) == (False, [])
    assert data["message"]["fr"] == "Fichier vide"


def test_unknown_code_is_a_json_404(client: TestClient) -> None:
    response = client.get("/v1/rules/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown-code"


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not-found"


def test_validate_equals_the_cli_json_field_by_field(client: TestClient) -> None:
    path = EXAMPLES / "wrong-niss.920000"
    response = client.post(
        "/v1/validate",
        content=path.read_bytes(),
        params={"name": path.name},
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 200
    cli = rulebook("validate", str(path), "--format", "json", "--today", "2026-11-01")
    assert cli.returncode == 1
    http, expected = response.json(), json.loads(cli.stdout)
    assert http.keys() == expected.keys()
    for key in expected:
        assert http[key] == expected[key], key
    assert [f["code"] for f in http["findings"]] == ["200802", "800802"]


def test_valid_file_is_accepted(client: TestClient) -> None:
    body = (EXAMPLES / "baseline.920000").read_bytes()
    report = client.post("/v1/validate", content=body).json()
    assert (report["verdict"], report["findings"], report["file"]["records"]) == (
        "accepted",
        [],
        17,
    )


def test_empty_body_is_a_finding_not_an_error(client: TestClient) -> None:
    report = client.post("/v1/validate", content=b"").json()
    assert [f["code"] for f in report["findings"]] == ["RB0001"]
    assert report["verdict"] == "rejected_blocking"


def test_binary_body_gets_located_findings(client: TestClient) -> None:
    body = bytes(range(256)) * 40
    response = client.post("/v1/validate", content=body)
    assert response.status_code == 200
    assert response.json()["findings"]


def test_today_is_the_servers_and_as_of_only_where_allowed(compiled: Compiled) -> None:
    """A client could send today=9999-12-31 and switch off the 'not in the future' checks:
    'today' is the server's (rulebook serve --today, else the date of the request), and as_of
    is taken only from a server started with --allow-as-of."""
    with TestClient(create_app(compiled)) as plain:
        for params in ({"today": "9999-12-31"}, {"today": "2026-13-01"}, {"as_of": "2015-01-01"}):
            response = plain.post("/v1/validate", content=b"x", params=params)
            assert response.status_code == 422, params
            error = response.json()["error"]
            assert error["code"] == "bad-parameter" and next(iter(params)) in error["message"]
        report = plain.post("/v1/validate", content=b"").json()
        assert report["summary"]["reference_date"] == dt.date.today().isoformat()
        spec = plain.get("/openapi.json").json()["paths"]["/v1/validate"]["post"]
        assert [p["name"] for p in spec["parameters"]] == ["name"]
    with TestClient(create_app(compiled, today=TODAY, allow_as_of=True)) as allowing:
        report = allowing.post("/v1/validate", content=b"", params={"as_of": "2015-01-01"})
        assert report.json()["summary"]["reference_date"] == "2026-11-01"
        assert report.json()["summary"]["governing_date"] == "2015-01-01"
        spec = allowing.get("/openapi.json").json()["paths"]["/v1/validate"]["post"]
        assert [p["name"] for p in spec["parameters"]] == ["name", "as_of"]
        bad = allowing.post("/v1/validate", content=b"x", params={"as_of": "2026-13-01"})
        assert bad.status_code == 422 and "as_of" in bad.json()["error"]["message"]


def test_body_over_the_limit_is_413(compiled: Compiled) -> None:
    with TestClient(create_app(compiled, today=TODAY, max_bytes=10_000)) as small:
        response = small.post("/v1/validate", content=b"1" * 10_001)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too-large"
        # without a content-length (chunked upload) the limit is enforced while streaming
        chunks = (b"1" * 4096 for _ in range(5))
        response = small.post("/v1/validate", content=chunks)
        assert response.status_code == 413
        ok = small.post("/v1/validate", content=(EXAMPLES / "credit.920000").read_bytes())
        assert ok.status_code == 200


def test_streamed_upload_in_small_chunks(client: TestClient) -> None:
    body = (EXAMPLES / "baseline.920000").read_bytes()
    chunks = (body[i : i + 7] for i in range(0, len(body), 7))
    report = client.post("/v1/validate", content=chunks).json()
    assert report["verdict"] == "accepted" and report["file"]["records"] == 17


def test_openapi_documents_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {"/healthz", "/v1/rulebook", "/v1/rules/{code}", "/v1/validate"}
    body = spec["paths"]["/v1/validate"]["post"]["requestBody"]
    assert "application/octet-stream" in body["content"]


def test_real_server_process() -> None:
    """``rulebook serve`` as the quick start runs it: one validator process per usable core
    (``--workers auto``), validated in the HTTP process's thread on a single core."""
    with local_server("--today", "2026-11-01") as server:
        body = (EXAMPLES / "wrong-niss.920000").read_bytes()
        report = httpx.post(f"{server.base}/v1/validate", content=body, timeout=30).json()
        assert [f["code"] for f in report["findings"]] == ["200802", "800802"]
    assert f"serving on {server.base}" in server.output
    cores = min(usable_cores(), MAX_WORKERS)
    if cores > 1:
        assert f"[{cores} validator processes]" in server.output
    else:
        assert "validator processes" not in server.output


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "0 is not between 1 and 64"),
        ("65", "65 is not between 1 and 64"),
        ("two", "'two' is neither a number of processes nor 'auto'"),
    ],
)
def test_serve_refuses_a_bad_number_of_workers(value: str, message: str) -> None:
    result = rulebook("serve", "--workers", value, "--port", "1")
    assert result.returncode == 2
    assert message in result.stderr


def test_serve_refuses_a_bad_number_of_streams() -> None:
    result = rulebook("serve", "--max-streams", "0", "--port", "1")
    assert result.returncode == 2
    assert "'--max-streams': 0 is not in the range 1<=x<=1024" in result.stderr


def test_concurrent_requests_are_validated_together(compiled: Compiled) -> None:
    """Requests that wait while a batch runs form the next batch; each gets its own report."""
    files = {path.name: path.read_bytes() for path in sorted(EXAMPLES.glob("*.920000"))}
    alone = {
        name: validate(compiled, io.BytesIO(data), name=name, today=dt.date(2026, 11, 1)).to_json()
        for name, data in files.items()
    }
    app = create_app(compiled, today=TODAY)

    async def post_all() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rulebook") as http:
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/v1/validate",
                        content=data,
                        params={"name": name},
                    )
                    for _ in range(4)
                    for name, data in files.items()
                )
            )
        assert {r.status_code for r in responses} == {200}
        return [r.json() for r in responses]

    reports = asyncio.run(post_all())
    assert len(reports) == 4 * len(files)
    for report in reports:
        assert report == alone[report["file"]["name"]]
    batcher = app.state.batcher
    assert batcher.files == len(reports)
    assert batcher.batches < batcher.files  # some requests shared a batch


def test_validator_processes_give_the_same_reports() -> None:
    """``serve --workers 2``: small files go to two validator processes."""
    with local_server("--today", "2026-11-01", "--workers", "2") as server:
        for path in sorted(EXAMPLES.glob("*.920000")):
            report = httpx.post(
                f"{server.base}/v1/validate",
                content=path.read_bytes(),
                params={"name": path.name},
                timeout=30,
            ).json()
            cli = rulebook("validate", str(path), "--format", "json", "--today", "2026-11-01")
            assert report == json.loads(cli.stdout), path.name
    assert "[2 validator processes]" in server.output


def test_a_killed_validator_process_is_replaced(compiled: Compiled) -> None:
    """With validator processes, one that dies (killed, out of memory) is replaced and the
    batch it had is validated again: the request still gets its report."""
    body = (EXAMPLES / "wrong-niss.920000").read_bytes()
    params = {"name": "wrong-niss.920000"}
    with TestClient(create_app(compiled, today=TODAY, workers=2)) as client:
        first = client.post("/v1/validate", content=body, params=params).json()
        pool = client.app.state.batcher.pool  # type: ignore[attr-defined]
        victim = next(iter(pool._processes.values()))
        victim.kill()
        victim.join(10)
        again = client.post("/v1/validate", content=body, params=params)
        assert again.status_code == 200
        assert again.json() == first
        assert client.app.state.batcher.pool is not pool  # type: ignore[attr-defined]
    assert [f["code"] for f in first["findings"]] == ["200802", "800802"]


def test_a_service_failure_is_a_json_500(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A JSON 500 without the exception's text (it could carry a file's content): the
    server's log has it, under the incident number the client is given."""
    import api.batch

    def broken(*args: object, **kwargs: object) -> list[object]:
        return [RuntimeError("validator bug on 'SECRET CONTENT'")]

    monkeypatch.setattr(api.batch, "validate_files", broken)
    with TestClient(create_app(compiled, today=TODAY), raise_server_exceptions=False) as client:
        response = client.post("/v1/validate", content=b"")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal-error" and "SECRET" not in response.text
    incident = error["message"].split("incident ")[1].split(",")[0]
    assert len(incident) == 12
    logged = [r for r in caplog.records if r.name == "rulebook.service"]
    assert f"incident {incident}: RuntimeError: validator bug on 'SECRET CONTENT'" in (
        logged[0].getMessage()
    )


def test_a_large_report_is_sent_as_it_is_encoded(client: TestClient, compiled: Compiled) -> None:
    """A file sent without a length is streamed to the validator, and its report (here
    ~20,000 findings, several megabytes) is sent as it is encoded (no length, chunked): the
    same bytes as the report of the same file sent with a length (read whole, validated in
    a batch), which are the compact JSON of the library's report."""
    body = build_broken(compiled, 3000, mutualities=2)
    whole_report = validate(compiled, io.BytesIO(body), today=dt.date(2026, 11, 1))
    assert len(whole_report.findings) > 15_000
    # the service lists DEFAULT_KEEP findings of each code, counts them all; /v1/answer all
    report = validate(compiled, io.BytesIO(body), today=dt.date(2026, 11, 1), keep=DEFAULT_KEEP)
    assert report.omitted > 0 and report.total == len(whole_report.findings)
    assert report.by_code() == whole_report.by_code()
    assert (report.verdict, report.error_rate) == (whole_report.verdict, whole_report.error_rate)
    assert report.amounts == whole_report.amounts
    expected = json.dumps(
        report.to_json(), ensure_ascii=False, allow_nan=False, separators=(",", ":")
    ).encode()
    assert len(expected) > 3 * (1 << 20)  # several pieces
    whole = client.post("/v1/validate", content=body)
    assert whole.headers["content-length"] == str(len(expected))
    assert whole.content == expected
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    streamed = client.post("/v1/validate", content=chunks)
    assert streamed.status_code == 200
    assert "content-length" not in streamed.headers
    assert streamed.headers["content-type"] == "application/json"
    assert streamed.content == expected
    answered = client.post("/v1/answer", content=body)
    assert "content-length" not in answered.headers
    assert answered.json()["report"] == whole_report.to_json()


def test_answer_equals_the_cli_answer(client: TestClient, tmp_path: Path) -> None:
    path = EXAMPLES / "wrong-niss.920000"
    response = client.post("/v1/answer", content=path.read_bytes(), params={"name": path.name})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == body["report"]["verdict"] == "rejected_threshold"
    assert [a["message"] for a in body["answers"]] == ["931000", "920099"]
    cli = rulebook("answer", str(path), "--out", str(tmp_path), "--today", "2026-11-01")
    assert cli.returncode == 0, cli.stderr
    for answer in body["answers"]:
        written = (tmp_path / f"wrong-niss.{answer['message']}").read_bytes()
        assert answer["content"].encode("latin-1") == written
        assert answer["omitted"] == []


def test_read_an_answer_over_http(client: TestClient) -> None:
    body = (EXAMPLES / "wrong-niss.920000").read_bytes()
    answers = client.post("/v1/answer", content=body).json()
    content = answers["answers"][1]["content"].encode("latin-1")
    response = client.post("/v1/read", content=content, params={"name": "x.920099"})
    assert response.status_code == 200
    (message,) = response.json()["messages"]
    assert (message["type"], message["file"], message["refusal_type"]) == (
        "920099",
        "x.920099",
        "02",
    )
    codes = [e["code"] for r in message["records"] for e in r["errors"]]
    assert codes == ["200802", "800802"]


def test_read_an_unknown_message_is_a_json_422(client: TestClient) -> None:
    response = client.post("/v1/read", content=b"123456" + b"0" * 300)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unreadable-message"
    assert "positions 1-6: '123456' is not a message this rulebook describes" in error["message"]


def test_messages_are_read_off_the_event_loop(
    compiled: Compiled, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a large message takes seconds (~9 s for a 35 MB sending): done on the event
    loop, it held every other request that long. It runs in a thread, its answer unchanged."""
    from answer import read_message as real

    seen: list[bool] = []

    def spy(*args: Any) -> Any:
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:  # no loop in this thread
            seen.append(False)
        return real(*args)

    monkeypatch.setattr("api.service.read_message", spy)
    path = EXAMPLES / "wrong-niss.920000"
    with TestClient(create_app(compiled, today=TODAY)) as client:
        response = client.post("/v1/read", content=path.read_bytes(), params={"name": "w"})
        unreadable = client.post("/v1/read", content=b"123456" + b"0" * 300)
    assert seen == [False, False]
    assert response.status_code == 200
    cli = rulebook("read", str(path), "--format", "json")
    expected = json.loads(cli.stdout)
    expected["messages"][0]["file"] = "w"
    assert response.json() == expected
    assert unreadable.status_code == 422


def test_answer_body_over_the_limit_is_413(compiled: Compiled) -> None:
    with TestClient(create_app(compiled, today=TODAY, max_bytes=1_000)) as small:
        for route in ("/v1/answer", "/v1/read"):
            response = small.post(route, content=(b"1" * 400 for _ in range(3)))
            assert response.status_code == 413, route


def test_many_streamed_uploads_at_once_are_all_answered(compiled: Compiled) -> None:
    """60 uploads without a length (streamed to validator threads of the HTTP process, in
    8 kB chunks) at once against a real server: each gets its file's report. They shared
    anyio's 40 threads with the chunks waiting to be put in their pipes: every thread went
    to those, no validator could start and the service hung (all 60 timed out)."""
    import aiohttp

    body = build_large(compiled, 300, mutualities=2)
    expected = validate(compiled, io.BytesIO(body), today=dt.date(2026, 11, 1)).to_json()

    async def upload(http: aiohttp.ClientSession, base: str) -> Any:
        async def chunks() -> Any:
            for at in range(0, len(body), 8192):
                yield body[at : at + 8192]

        async with http.post(f"{base}/v1/validate", data=chunks()) as response:
            assert response.status == 200
            return await response.json()

    async def uploads(base: str) -> list[Any]:
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            return await asyncio.gather(*(upload(http, base) for _ in range(60)))

    with local_server("--today", "2026-11-01", "--workers", "1", "--max-streams", "3") as server:
        reports = asyncio.run(uploads(server.base))
    assert len(reports) == 60
    assert all(report == expected for report in reports)
    assert server.logged == []


def test_a_body_that_stops_arriving_is_a_408(compiled: Compiled) -> None:
    """A client that sends part of its body and then nothing (with a length, read whole;
    chunked, streamed to a validator; to /v1/read) gets a JSON 408 once --body-timeout has
    passed without a byte, the connection closed: it no longer holds a place (a stream slot
    of the few there are) for ever. The server then answers as before, with a clean log."""
    import socket
    import time

    body = (EXAMPLES / "wrong-niss.920000").read_bytes()

    def stall(port: int, head: bytes) -> tuple[bytes, float]:
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head)
            answer = b""
            while chunk := sock.recv(65536):  # until the server closes the connection
                answer += chunk
        return answer, time.perf_counter() - started

    part = body[:700]
    with local_server("--today", "2026-11-01", "--workers", "1", "--body-timeout", "0.5") as server:
        port = int(server.base.rsplit(":", 1)[1])
        heads = [
            b"POST /v1/validate HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
            + part,
            b"POST /v1/validate HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(part)
            + part
            + b"\r\n",
            b"POST /v1/read HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body) + part,
        ]
        for head in heads:
            answer, seconds = stall(port, head)
            status, _, rest = answer.partition(b"\r\n")
            assert status == b"HTTP/1.1 408 Request Timeout", answer[:300]
            payload = json.loads(rest.split(b"\r\n\r\n", 1)[1])
            assert payload == {
                "error": {
                    "code": "body-timeout",
                    "message": "no part of the body arrived for 0.5 s",
                }
            }
            assert 0.4 < seconds < 5
        with httpx.Client(base_url=server.base) as client:
            after = client.post("/v1/validate", content=body)
        assert [f["code"] for f in after.json()["findings"]] == ["200802", "800802"]
    assert server.logged == []


def test_a_real_server_under_waves_of_concurrent_clients_logs_no_error(
    compiled: Compiled,
) -> None:
    """Waves of 20, 5 and 13 concurrent clients against ``serve --workers 2`` (the load the
    batches follow changes from wave to wave): every answer is the file's report, and the
    server prints nothing but its start-up lines (a validator's task once failed when the
    other had taken the files it was waiting for: a traceback in the log)."""
    import aiohttp

    from benchmarks.bigfile import build_large

    body = build_large(compiled, 300, mutualities=2)
    expected = validate(compiled, io.BytesIO(body), today=dt.date(2026, 11, 1)).to_json()

    async def wave(base: str, clients: int, total: int) -> list[Any]:
        left = total
        reports: list[Any] = []

        async def client(http: aiohttp.ClientSession) -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with http.post(f"{base}/v1/validate", data=body) as r:
                    assert r.status == 200
                    reports.append(await r.json())

        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(client(http) for _ in range(clients)))
        return reports

    with local_server("--today", "2026-11-01", "--workers", "2") as server:
        for clients in (20, 5, 13, 20, 3, 17):
            reports = asyncio.run(wave(server.base, clients, 60))
            assert len(reports) == 60
            assert all(r == expected for r in reports)
    assert server.started and server.logged == [], server.output[-3000:]


def test_clients_that_leave_early_leave_no_trace(compiled: Compiled) -> None:
    """Uploads dropped halfway (with a length, read whole, or chunked, streamed to the
    validator) and clients gone before their answer: the server goes on answering the others
    and prints nothing (a dropped upload used to print a traceback: starlette's
    ClientDisconnect as a server error, inside an exception group on the streamed path)."""
    from benchmarks.bigfile import build_large

    body = build_large(compiled, 2000, mutualities=2)
    expected = validate(compiled, io.BytesIO(body), today=dt.date(2026, 11, 1)).to_json()

    async def leave(port: int, head: bytes, sent: bytes) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head + sent)
        await writer.drain()
        await asyncio.sleep(0.2)  # the server is reading the body, or validating it
        writer.close()
        await writer.wait_closed()

    def with_length(path: str) -> bytes:
        return f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n".encode()

    chunked = b"POST /v1/validate HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    part = body[:100_000]

    async def all_leave(port: int) -> None:
        await asyncio.gather(
            leave(port, with_length("/v1/validate"), part),  # read whole: dropped halfway
            leave(port, chunked, b"%x\r\n" % len(part) + part + b"\r\n"),  # streamed
            *(leave(port, with_length(p), body) for p in ("/v1/validate", "/v1/answer")),
        )

    with local_server("--today", "2026-11-01", "--workers", "2") as server:
        asyncio.run(all_leave(server.port))
        answer = httpx.post(f"{server.base}/v1/validate", content=body, timeout=30)
        assert answer.status_code == 200 and answer.json() == expected
    assert server.started and server.logged == [], server.output[-3000:]


def test_serve_on_an_address_it_cannot_use_exits_2_before_starting() -> None:
    """A port in use or a host that does not resolve: one line and exit 2, before any
    validator process starts and without claiming to serve."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = rulebook("serve", "--port", str(port), timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == f"rulebook: cannot listen on 127.0.0.1:{port}: " + (
        "Address already in use"
    )
    assert "serving on" not in result.stdout
    unknown = rulebook("serve", "--host", "nowhere.invalid", "--port", "8000", timeout=60)
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("rulebook: cannot listen on nowhere.invalid:8000: ")


def test_serve_on_port_0_prints_the_port_it_got() -> None:
    import re
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", "0", "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        process.stdout.readline()  # the rulebook's line
        serving = process.stdout.readline()
        found = re.match(r"serving on (http://127\.0\.0\.1:(\d+))  ", serving)
        assert found is not None and found.group(2) != "0", serving
        deadline = time.monotonic() + 60
        while True:  # the socket listens already; the app answers once it has started
            try:
                health = httpx.get(f"{found.group(1)}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["status"] == "ok"
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_slow_and_idle_clients_cannot_hold_the_service() -> None:
    """Four uploads dripping a byte every 0.5 s held every stream slot (a 6 KB /v1/answer
    waited 22 s behind them) and idle connections stayed open for ever: now a small answer
    goes through at once, the drips get 408 once their rate is under the minimum, and the
    idle connections (with no or half headers) 408 and closed after the header timeout."""
    from benchmarks.abuse import abused, open_files, timed_answer

    idle = min(300, open_files(600) - 200)
    options = ("--today", "2026-11-01", "--workers", "1", "--header-timeout", "1")
    with local_server(*options, "--rate-grace", "1", "--min-body-rate", "1000") as server:
        with abused(server.port, idle, 4) as abuse:
            time.sleep(0.3)
            timed_answer(server.base)  # answered (it raises otherwise)
            time.sleep(3.0)
            assert abuse.closed_idle() == idle
        assert len(abuse.drip_answers) == 4
        assert all(
            a.startswith(b"HTTP/1.1 408") and b"slower than" in a for a in abuse.drip_answers
        )
    assert server.logged == []


def test_idle_connections_make_room_for_a_request() -> None:
    """At the connection bound, the connection idle the longest is closed for a new one."""
    from benchmarks.abuse import abused, timed_answer

    options = ("--today", "2026-11-01", "--workers", "1", "--max-connections", "20")
    with local_server(*options) as server, abused(server.port, 40, 0) as abuse:
        timed_answer(server.base)
        assert abuse.closed_idle() >= 20
