"""Many sendings at once: ``rulebook validate FILE|DIR...`` (one line per file and a total,
JSON lines, the worst exit status, a progress bar only for a person at a terminal) and
``POST /v1/validate`` of a ZIP (one report per file, each the one the file gets alone)."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.service import create_app
from compiler import Compiled
from tests.commands import ROOT, rulebook

EXAMPLES = sorted((ROOT / "examples").glob("*.920000"))


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 sendings in a directory and a sub-directory (one in five with findings), and a
    hidden file that is not one of them."""
    target = tmp_path_factory.mktemp("day")
    (target / "late").mkdir()
    for i in range(200):
        for example in EXAMPLES:
            where = target / "late" if i >= 150 else target
            shutil.copy(example, where / f"{i:03d}-{example.name}")
    (target / ".index").write_text("not a sending")
    return target


def test_a_thousand_files_a_line_each_and_the_worst_status(day: Path) -> None:
    done = rulebook("validate", str(day), timeout=600)
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stderr  # some have findings
    assert len(lines) == 1001
    assert lines[-1] == "1.000 fichiers — accepté : 800 ; rejeté (seuil d'erreurs dépassé) : 200"
    assert all(" : accepté ;" in x for x in lines[:-1] if "wrong-niss" not in x)
    assert lines[0].startswith(f"{day}/000-baseline.920000 : accepté ; 17 enregistrements")
    assert lines[-2].startswith(f"{day}/late/199-wrong-niss.920000 : rejeté (seuil")
    assert done.stderr == ""  # no progress bar into a pipe


def test_json_lines_are_the_reports_of_single_files(day: Path, compiled: Compiled) -> None:
    done = rulebook("validate", "--format", "json", str(day / "late"), timeout=600)
    reports = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1 and len(reports) == 250
    for report in reports[:5]:
        path = report["file"]["name"]
        alone = json.loads(rulebook("validate", "--format", "json", path).stdout)
        alone["file"]["name"] = path
        assert report == alone


def test_files_and_directories_mixed_and_every_status(tmp_path: Path) -> None:
    good = [str(p) for p in EXAMPLES if "wrong" not in p.name]
    done = rulebook("validate", *good)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == len(good) + 1
    assert done.stdout.splitlines()[-1] == f"{len(good)} fichiers — accepté : {len(good)}"
    nl = rulebook("validate", "--lang", "nl", *good)
    assert nl.stdout.splitlines()[-1] == f"{len(good)} bestanden — aanvaard: {len(good)}"
    (tmp_path / "gone.920000").symlink_to(tmp_path / "nowhere")  # listed, cannot be read
    done = rulebook("validate", str(tmp_path), good[0])
    assert done.returncode == 2
    assert "gone.920000: cannot read" in done.stdout and "illisible : 1" in done.stdout
    missing = rulebook("validate", good[0], str(tmp_path / "absent"))
    assert missing.returncode == 2 and "absent does not exist" in missing.stderr
    assert missing.stdout == ""  # nothing validated before the misuse is said
    (tmp_path / "empty").mkdir()
    empty = rulebook("validate", str(tmp_path / "empty"))
    assert empty.returncode == 2 and "no files" in empty.stderr


def test_a_progress_bar_for_a_person_at_a_terminal(day: Path) -> None:
    leader, follower = pty.openpty()
    command = shutil.which("rulebook") or "rulebook"
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm"}
    process = subprocess.Popen(
        [command, "validate", str(day / "late")], stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    assert process.wait(timeout=300) == 1
    os.close(leader)
    text = seen.decode(errors="replace")
    assert "validating" in text and "/250" in text
    assert "250 fichiers — accepté : 200 ; rejeté (seuil d'erreurs dépassé) : 50" in text


def test_zip_of_sendings_one_report_per_file(compiled: Compiled) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for example in EXAMPLES:
            archive.write(example, f"today/{example.name}")
        archive.writestr("__MACOSX/today/._baseline.920000", b"resource fork")
    with TestClient(create_app(compiled)) as client:
        zipped = client.post(
            "/v1/validate",
            content=buffer.getvalue(),
            headers={"Content-Type": "application/zip"},
        )
        assert zipped.status_code == 200
        files = zipped.json()["files"]
        assert [f["file"]["name"] for f in files] == [f"today/{e.name}" for e in EXAMPLES]
        for example, report in zip(EXAMPLES, files, strict=True):
            alone = client.post(
                f"/v1/validate?name=today/{example.name}", content=example.read_bytes()
            )
            assert alone.json() == report
        bad = client.post(
            "/v1/validate", content=b"PK\x03\x04 cut", headers={"Content-Type": "application/zip"}
        )
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "bad-zip"
        schema = client.get("/openapi.json").json()
        body = schema["paths"]["/v1/validate"]["post"]["requestBody"]["content"]
        assert {"application/octet-stream", "application/zip"} <= set(body)
