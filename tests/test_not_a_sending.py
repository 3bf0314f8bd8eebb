"""Input that is not a sending gets one finding that says so (RB0011) and nothing else; a
form upload gets 415 with the way to send raw bytes; an unknown query parameter gets 422."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from api.service import create_app
from compiler import Compiled
from tests.commands import ROOT
from validator import validate

CREDIT = (ROOT / "examples" / "credit.920000").read_bytes()


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.920000", CREDIT)
    return buffer.getvalue()


NOT_SENDINGS = {
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "une image PNG"),
    "zip": (zipped(), "une archive ZIP"),
    "pdf": (b"%PDF-1.7\n" + b"x" * 500, "un document PDF"),
    "multipart": (
        b"--------------------------d74496d66958873e\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.920000"\r\n\r\n'
        + CREDIT
        + b"\r\n--------------------------d74496d66958873e--\r\n",
        "un envoi de formulaire (multipart)",
    ),
    "json": (b'{"segments": {}}', "un document JSON"),
    "random": (bytes((i * 7919 + 13) % 256 for i in range(3000)), "les positions 1-6"),
    "text": (b"Bonjour, voici notre facturation de novembre.\n" * 10, "les positions 1-6"),
}


@pytest.mark.parametrize("kind", sorted(NOT_SENDINGS))
def test_one_finding_that_says_what_it_is(compiled: Compiled, kind: str) -> None:
    data, said = NOT_SENDINGS[kind]
    report = validate(compiled, io.BytesIO(data), name=kind)
    assert [f.code for f in report.findings] == ["RB0011"]
    detail = report.findings[0].detail
    assert detail is not None and said in detail.fr and detail.nl not in (detail.fr, "")
    assert report.verdict == "rejected_blocking"
    assert report.file_sha256 == hashlib.sha256(data).hexdigest()


def test_what_starts_like_a_sending_is_read_as_one(compiled: Compiled) -> None:
    """A sending cut short, or starting with its records, keeps its own findings: RB0011 is
    for files that do not start like the message at all."""
    another = b"920098" + CREDIT[6:]  # a wrong message name: the official 200-22 says so
    for data, code in ((CREDIT[:4], "RB0002"), (CREDIT[227:], "RB0003"), (another, "200-22")):
        codes = {f.code for f in validate(compiled, io.BytesIO(data)).findings}
        assert code in codes and "RB0011" not in codes
    assert validate(compiled, io.BytesIO(CREDIT)).verdict == "accepted"


def test_the_service_refuses_forms_and_unknown_parameters(compiled: Compiled) -> None:
    with TestClient(create_app(compiled)) as client:
        for route in ("/v1/validate", "/v1/answer", "/v1/read"):
            form = client.post(route, files={"file": ("a.920000", CREDIT)})
            assert form.status_code == 415, route
            error = form.json()["error"]
            assert error["code"] == "unsupported-media-type"
            assert "--data-binary @FILE" in error["message"]
        # curl --data-binary sends its default form type: the body is still the raw bytes
        raw = client.post(
            "/v1/validate",
            content=CREDIT,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert raw.json()["verdict"] == "accepted"
        unknown = client.post("/v1/validate?format=text", content=CREDIT)
        assert unknown.status_code == 422
        assert unknown.json()["error"]["message"] == (
            "query.format: unknown parameter (this route takes: as_of, name)"
        )
        today = client.post("/v1/validate?today=2020-01-01", content=CREDIT)
        assert today.status_code == 422 and "server's" in today.json()["error"]["message"]
        assert client.post("/v1/validate?name=x.920000", content=CREDIT).status_code == 200
        assert client.get("/v1/rulebook?verbose=1").status_code == 422
        assert client.get("/?from=bookmark").status_code == 200  # pages are not the API
