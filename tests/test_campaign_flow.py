"""A campaign from the command line, start to end, as a coordinator and a participant run it:
init, participants, files, answers submitted (one by one, zipped, replayed), the matrix in
every format, a cell, notes and decisions, rounds and their diff, export and verify, a
harness, declared cases, close; and what each refuses.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from answer import answers_for
from campaign import CampaignError, Campaigns, Store
from compiler import Compiled
from tests.commands import rulebook
from validator import validate

SLUG = "flow"


def answer_files(compiled: Compiled, folder: Path, out: Path) -> list[Path]:
    """What a conforming insurer answers to each file of ``folder`` (its manifest's dates)."""
    manifest = json.loads((folder / "manifest.json").read_text())
    written = []
    out.mkdir(exist_ok=True)
    for item in manifest["files"]:
        data = (folder / item["file"]).read_bytes()
        today = dt.date.fromisoformat(item["today"])
        report = validate(compiled, io.BytesIO(data), today=today)
        for n, a in enumerate(answers_for(compiled, data, report, settle=True), start=1):
            path = out / f"{item['file']}.{n}.{a.message}"
            path.write_bytes(a.content)
            written.append(path)
    return written


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("flow")
    return {"root": root, "store": f"sqlite:///{root}/campaigns.db"}


def run(flow: dict[str, Any], *args: str) -> Any:
    return rulebook("campaign", *args, "--store", flow["store"])


def test_a_campaign_from_start_to_end(flow: dict[str, Any], compiled: Compiled) -> None:
    root: Path = flow["root"]
    done = run(
        flow, "init", SLUG, "--select", "record=ET96", "--title-fr", "Essai", "--format", "json"
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["coordinator_token"].startswith(f"rbk_{SLUG}_")
    assert created["cases"] == 4 + sum(len(r.mutants) for r in compiled.rules if r.record == "ET96")
    done = run(
        flow,
        "participant",
        "add",
        SLUG,
        "oa300",
        "--role",
        "insurer",
        "--name",
        "OA 300",
        "--param",
        "mutualities=301,306,319",
    )
    assert done.returncode == 0, done.stderr
    assert "token (shown once): rbk_flow_" in done.stdout
    again = run(flow, "participant", "add", SLUG, "oa300", "--role", "insurer", "--name", "x")
    assert again.returncode == 2 and "exists" in again.stderr
    # before the freeze nothing can be submitted
    early = run(flow, "submit", SLUG, "--participant", "oa300", str(root / "campaigns.db"))
    assert early.returncode == 2 and "not-testing" in early.stderr
    assert run(flow, "freeze", SLUG).returncode == 0
    files = root / "files"
    done = run(flow, "cases", SLUG, "--participant", "oa300", "--out", str(files))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((files / "manifest.json").read_text())
    assert len(manifest["files"]) == created["cases"]
    assert not list(files.glob(".*part"))
    first = (files / manifest["files"][0]["file"]).read_bytes()
    assert b"301" in first[:2000] and b"102" not in first[227 + 32 : 227 + 35]
    answers = answer_files(compiled, files, root / "answers")
    # submitted one by one: each matched by the references it repeats, whatever its name
    renamed = root / "renamed"
    renamed.mkdir()
    for n, path in enumerate(answers[:3]):
        (renamed / f"answer-{n}").write_bytes(path.read_bytes())
    done = run(
        flow, "submit", SLUG, "--participant", "oa300", *[str(p) for p in sorted(renamed.iterdir())]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # the rest zipped, the first three again inside: replays
    archive = root / "answers.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in answers:
            z.write(path, path.name)
    done = run(flow, "submit", SLUG, "--participant", "oa300", str(archive), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)["results"]
    assert len(results) == len(answers)
    assert sum(r["replay"] for r in results) == 3
    assert set({r["case"]: r["state"] for r in results}.values()) == {"match"}
    # the matrix: all green, in every format
    done = run(flow, "matrix", SLUG)
    assert done.returncode == 0, done.stdout
    assert "oa300" in done.stdout and "matrix sha256" in done.stdout
    csv_text = run(flow, "matrix", SLUG, "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("case,kind,rule")
    junit = run(flow, "matrix", SLUG, "--format", "junit").stdout
    assert 'failures="0"' in junit and "<testsuite" in junit
    case = manifest["files"][-1]["case"]
    cell = run(flow, "cell", SLUG, case, "oa300", "--format", "json")
    assert cell.returncode == 0
    assert json.loads(cell.stdout)["state"] == "match"


def test_review_rounds_notes_and_archive(flow: dict[str, Any], compiled: Compiled) -> None:
    root: Path = flow["root"]
    manifest = json.loads((root / "files" / "manifest.json").read_text())
    case = manifest["files"][1]["case"]
    assert (
        run(
            flow, "note", SLUG, case, "oa300", "--dispute", "--text", "our reading differs"
        ).returncode
        == 0
    )
    assert (
        run(
            flow,
            "resolve",
            SLUG,
            case,
            "--status",
            "resolved",
            "--cause",
            "participant",
            "--resolution",
            "round:2",
        ).returncode
        == 0
    )
    bad = run(flow, "resolve", SLUG, case, "--resolution", "whenever")
    assert bad.returncode == 2 and "round:N" in bad.stderr
    assert run(flow, "review", SLUG).returncode == 0
    assert run(flow, "round", SLUG).returncode == 0
    # round 2: a changed answer breaks one cell
    cs = Campaigns(Store(flow["store"]), compiled)
    messages = cs.expected_messages(SLUG, "oa300", case)
    name, data = next((n, d) for n, d in messages if d[:6] in (b"920098", b"920099"))
    other = b"920099" if data[:6] == b"920098" else b"920098"
    cs.submit(SLUG, "oa300", name, other + data[6:])
    diff = json.loads(run(flow, "diff", SLUG, "1", "2", "--format", "json").stdout)
    assert [b["case"] for b in diff["broken"]] == [case]
    assert diff["counts"]["fixed"] == 0
    matrix = cs.matrix(SLUG)
    cell = next(c for c in matrix["cells"] if c["case"] == case and c["participant"] == "oa300")
    assert cell["state"] == "verdict-differs" and "disputed" in cell["overlays"]
    events = [json.loads(x) for x in run(flow, "events", SLUG).stdout.splitlines()]
    kinds = {e["kind"] for e in events}
    assert {
        "campaign-created",
        "participant-added",
        "submission-received",
        "note-added",
        "divergence-decided",
        "round-opened",
        "round-closed",
    } <= kinds
    # export, verify, tamper
    tar = root / "flow.tar"
    assert run(flow, "export", SLUG, "--out", str(tar)).returncode == 0
    done = rulebook("campaign", "verify", str(tar), "--format", "json")
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["ok"] is True
    tampered = root / "tampered.tar"
    with tarfile.open(tar) as src, tarfile.open(tampered, "w") as dst:
        for member in src.getmembers():
            content = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("submissions/") and content[:6] == b"920098":
                content = b"920099" + content[6:]
            member.size = len(content)
            dst.addfile(member, io.BytesIO(content))
    done = rulebook("campaign", "verify", str(tampered))
    assert done.returncode == 1 and "hash differs" in done.stdout
    # close: a snapshot and its hash, then no more submissions
    done = run(flow, "close", SLUG)
    assert done.returncode == 0 and "snapshot sha256" in done.stdout
    with pytest.raises(CampaignError) as refused:
        cs.submit(SLUG, "oa300", name, data[:-1] + b"X")
    assert refused.value.code == "not-testing"
    cs.store.close()


def test_harness_answers_and_its_failures(tmp_path: Path, compiled: Compiled) -> None:
    store = f"sqlite:///{tmp_path}/h.db"
    cs = Campaigns(Store(store), compiled)
    cs.create("harness", select_=["baselines"])
    cs.add_participant("harness", "oa500", role="insurer", name="OA 500")
    cs.add_participant("harness", "oa600", role="insurer", name="OA 600")
    cs.move("harness", "freeze")
    command = f"{sys.executable} -m tests.harness_rulebook"
    done = rulebook(
        "campaign",
        "run",
        "harness",
        "--participant",
        "oa500",
        "--harness",
        f"{command} conform",
        "--store",
        store,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert lines[0]["header"]["system"]["version"] == "conform"
    assert lines[-1]["footer"] == {"match": 4}
    assert [x["state"] for x in lines[1:-1]] == ["match"] * 4
    done = rulebook(
        "campaign",
        "run",
        "harness",
        "--participant",
        "oa600",
        "--harness",
        f"{command} unruly",
        "--timeout",
        "20",
        "--store",
        store,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    states = {c["case"]: c for c in cs.matrix("harness")["cells"] if c["participant"] == "oa600"}
    ordered = [f["case"] for f in cs.manifest("harness", "oa600")]
    assert states[ordered[0]]["state"] == "match"
    for seq in (2, 3, 4):
        assert states[ordered[seq - 1]]["state"] == "errored", seq
    assert states[ordered[1]]["diff"]["errored"]["context"] == {"message": "ET20 refused"}
    assert "not a JSON line" in states[ordered[2]]["diff"]["errored"]["message"]
    assert states[ordered[3]]["diff"]["errored"]["skipped"] is True
    # seq 5 exited before answering: the first four baselines are all there are
    assert len(ordered) == 4
    cs.store.close()


DECLARED = """\
key: not-in-order
scenario: baseline
edits:
  - set: ET20[2].beneficiary_id
    value: {param: niss.not_in_order}
  - set: ET50[2].beneficiary_id
    value: {param: niss.not_in_order}
  - set: ET50[3].beneficiary_id
    value: {param: niss.not_in_order}
expect:
  message: "920099"
  refusal_type: "02"
  records:
    - record: ET20[2]
      errors: [[F, "200440"]]
declared_by: "Test author, 2026-12-07"
note: "The beneficiary is not in order with the insurer (its reference data, not the file)."
"""


def test_declared_cases(tmp_path: Path, compiled: Compiled) -> None:
    folder = tmp_path / "declared"
    folder.mkdir()
    (folder / "not-in-order.yaml").write_text(DECLARED)
    cs = Campaigns(Store(f"sqlite:///{tmp_path}/d.db"), compiled)
    info, _token = cs.create("declared", select_=["baselines"], declared_dir=folder)
    assert info["cases"] == 5
    with pytest.raises(CampaignError) as refused:
        cs.add_participant("declared", "oa100", role="insurer", name="x")
    assert refused.value.code == "missing-parameter"
    cs.add_participant(
        "declared", "oa100", role="insurer", name="x", params={"niss.not_in_order": "72021512479"}
    )
    cs.add_participant(
        "declared", "oa200", role="insurer", name="y", params={"niss.not_in_order": "72021512479"}
    )
    cs.move("declared", "freeze")
    key = "declared/not-in-order"
    _name, content = cs.instance_file("declared", "oa100", key)
    assert b"72021512479" in content
    # oa100 answers as declared (its reference data says: not in order); oa200 as the file
    # alone says (accepted)
    expected = cs.matrix("declared")["cases"][-1]["expectation"]
    assert expected == {
        "source": "declared",
        "declared_by": "Test author, 2026-12-07",
        "message": "920099",
        "refusal_type": "02",
        "codes": ["200440"],
    }
    for key_ in ("oa100", "oa200"):
        _n, data = cs.instance_file("declared", key_, key)
        report = validate(compiled, io.BytesIO(data), today=dt.date(2026, 11, 1))
        for a in answers_for(compiled, data, report, settle=True):
            content = a.content
            if key_ == "oa100" and a.message in ("920098", "920900"):
                continue  # it refuses instead (and settles nothing)
            cs.submit("declared", key_, a.message, content)
        if key_ == "oa100":
            refused_answer = declared_refusal(compiled, data, report)
            cs.submit("declared", key_, "refusal", refused_answer)
    cells = {c["participant"]: c for c in cs.matrix("declared")["cells"] if c["case"] == key}
    assert "reference" not in cells  # the rulebook does not play what it cannot compute
    assert cells["oa100"]["state"] == "match", cells["oa100"]["diff"]
    assert cells["oa200"]["state"] == "verdict-differs"
    cs.store.close()


def declared_refusal(compiled: Compiled, data: bytes, report: Any) -> bytes:
    """A 920099/02 with F 200440 on the second ET20: what an insurer that finds the
    beneficiary not in order writes."""
    import dataclasses

    from validator.report import Finding

    second = [n for n, rec in enumerate(split_records(compiled, data), start=1) if rec == "ET20"][1]
    finding = Finding(
        code="200440",
        letter="F",
        segment=None,
        record=second,
        record_type="20",
        zone="8",
        start=None,
        end=None,
        invoice=2,
        fr="",
        nl="",
        source=None,
        line=None,
    )
    refused = dataclasses.replace(
        report, verdict="rejected_threshold", findings=(*report.findings, finding), error_rate=1 / 3
    )
    answer = answers_for(compiled, data, refused)[1]
    return answer.content


def split_records(compiled: Compiled, data: bytes) -> list[str | None]:
    from answer.sending import split

    return [r.layout for r in split(compiled, data).records]
