"""``rulebook campaign …``: test campaigns from the command line, on a store.

Input: command-line arguments; ``--store URL`` (or ``RULEBOOK_STORE``; default: a SQLite
file in the user's data directory) and the rulebook the campaign is pinned to.
Output: the same JSON as the HTTP service (``campaign.campaigns``), or its text, CSV, JUnit
and HTML renderings. Exit status 0 when every cell matches, 1 when some differ (or are not
answered yet), 2 for misuse or unreadable input, 3 for an internal error. The command line
acts as the campaign's coordinator: whoever can open the store can.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import click

from api.cli_common import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNREADABLE,
    fail,
    guarded,
    parse_date,
    rulebook_option,
    settle,
)
from campaign.campaigns import Campaigns
from campaign.core import CampaignError
from campaign.store import Store, StoreError, default_url

STORE = click.option(
    "--store",
    "store_url",
    envvar="RULEBOOK_STORE",
    default=None,
    metavar="URL",
    help="The campaign store: sqlite:///PATH or postgresql+psycopg://… "
    "(default: RULEBOOK_STORE, else campaigns.db in the user's data directory).",
)


def open_store(store_url: str | None, rulebook_dir: str | None) -> Campaigns:
    from api.cli_common import compiled_rulebook

    try:
        return Campaigns(Store(store_url or default_url()), compiled_rulebook(rulebook_dir))
    except StoreError as exc:
        fail(str(exc))
        raise  # unreachable


def run(fn: Any) -> Any:
    """A campaign operation; its refusals end the command with status 2 and their text."""
    try:
        return fn()
    except CampaignError as exc:
        fail(f"{exc.code}: {exc.message}")
    except StoreError as exc:
        fail(str(exc))


def echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


@click.group()
def campaign() -> None:
    """Test campaigns: every participant's answers to the same files, compared with the
    rulebook (see the README, 'Test campaigns')."""


@campaign.command()
@click.argument("slug")
@STORE
@rulebook_option
@click.option(
    "--select",
    "select_",
    multiple=True,
    metavar="SEL",
    help="all | baselines | mutants | letter=B | record=ET50 | changed-since=REV "
    "(repeatable; the filters apply to the mutants together).",
)
@click.option(
    "--declared",
    type=click.Path(file_okay=False, exists=True),
    default=None,
    help="A folder of declared cases (*.yaml).",
)
@click.option("--title-fr", default="")
@click.option("--title-nl", default="")
@click.option("--register-until", callback=parse_date, help="Registration deadline (YYYY-MM-DD).")
@click.option(
    "--submit-until",
    callback=parse_date,
    help="Submission deadline (YYYY-MM-DD): later submissions are late.",
)
@click.option(
    "--visibility",
    type=click.Choice(["own", "pseudonymous", "named"]),
    default="own",
    show_default=True,
    help="What a participant sees of the others.",
)
@click.option(
    "--late-policy", type=click.Choice(["flag", "refuse"]), default="flag", show_default=True
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@guarded
def init(
    slug: str,
    store_url: str | None,
    rulebook_dir: str | None,
    select_: tuple[str, ...],
    declared: str | None,
    title_fr: str,
    title_nl: str,
    register_until: dt.date | None,
    submit_until: dt.date | None,
    visibility: str,
    late_policy: str,
    fmt: str,
) -> None:
    """Create campaign SLUG pinned to the rulebook, with its cases; print the coordinator's
    token (shown once)."""
    cs = open_store(store_url, rulebook_dir)
    info, token = run(
        lambda: cs.create(
            slug,
            select_=list(select_),
            declared_dir=Path(declared) if declared else None,
            title_fr=title_fr,
            title_nl=title_nl,
            register_until=register_until,
            submit_until=submit_until,
            visibility=visibility,
            late_policy=late_policy,
            rulebook_dir=rulebook_dir,
            repo=Path.cwd(),
        )
    )
    if fmt == "json":
        echo_json({**info, "coordinator_token": token})
        return
    click.echo(
        f"campaign {slug}: {info['cases']} cases, rulebook {info['rulebook']['version']} "
        f"{info['rulebook']['hash']}"
    )
    click.echo(f"coordinator token (shown once): {token}")


@campaign.group()
def participant() -> None:
    """Participants: add one, rotate or revoke its token."""


def parse_params(values: tuple[str, ...], params_file: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if params_file:
        try:
            loaded = json.loads(Path(params_file).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"{params_file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise click.BadParameter(f"{params_file}: a JSON object of parameters")
        params.update(loaded)
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE")
        params[name] = (
            [v.strip() for v in text.split(",")]
            if "," in text or name in ("mutualities", "niss")
            else text
        )
    return params


@participant.command("add")
@click.argument("slug")
@click.argument("key")
@click.option("--role", type=click.Choice(["insurer", "sender"]), required=True)
@click.option("--name", required=True)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="mutualities=301,306 | niss=… | NAME=VALUE for declared cases (repeatable).",
)
@click.option(
    "--params-file",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="The parameters as a JSON object (mappings allowed).",
)
@click.option("--system-name")
@click.option("--system-version")
@click.option("--declared-rulebook", help="The rulebook release its system implements.")
@click.option("--contact")
@STORE
@rulebook_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@guarded
def participant_add(
    slug: str,
    key: str,
    role: str,
    name: str,
    params: tuple[str, ...],
    params_file: str | None,
    system_name: str | None,
    system_version: str | None,
    declared_rulebook: str | None,
    contact: str | None,
    store_url: str | None,
    rulebook_dir: str | None,
    fmt: str,
) -> None:
    """Add participant KEY with its file of every case; print its token (shown once)."""
    values = parse_params(params, params_file)
    cs = open_store(store_url, rulebook_dir)
    info, token = run(
        lambda: cs.add_participant(
            slug,
            key,
            role=role,
            name=name,
            params=values,
            system_name=system_name,
            system_version=system_version,
            declared_rulebook=declared_rulebook,
            contact=contact,
        )
    )
    if fmt == "json":
        echo_json({**info, "token": token})
        return
    click.echo(f"participant {key} ({info['label']}): {info['instances']} files")
    if info["drifted"]:
        click.echo(
            f"warning: its parameters change what {len(info['drifted'])} case(s) give: "
            + ", ".join(info["drifted"][:10])
            + (" …" if len(info["drifted"]) > 10 else ""),
            err=True,
        )
    click.echo(f"token (shown once): {token}")


@participant.command("token")
@click.argument("slug")
@click.argument("key")
@click.option("--rotate", "action", flag_value="rotate", help="A new token; the old one refused.")
@click.option("--revoke", "action", flag_value="revoke", help="Refuse its token from now on.")
@STORE
@rulebook_option
@guarded
def participant_token(
    slug: str, key: str, action: str | None, store_url: str | None, rulebook_dir: str | None
) -> None:
    """Rotate or revoke a participant's token."""
    if action is None:
        raise click.UsageError("--rotate or --revoke")
    cs = open_store(store_url, rulebook_dir)
    token = run(lambda: cs.token(slug, key, revoke=action == "revoke"))
    click.echo(f"token of {key} revoked" if token is None else f"new token (shown once): {token}")


def _lifecycle(action: str, doc: str) -> None:
    @campaign.command(action, help=doc)
    @click.argument("slug")
    @STORE
    @rulebook_option
    @guarded
    def command(slug: str, store_url: str | None, rulebook_dir: str | None) -> None:
        cs = open_store(store_url, rulebook_dir)
        info = run(lambda: cs.move(slug, action))
        rounds = info["rounds"]
        click.echo(
            f"campaign {slug}: {info['status']}"
            + (f", round {rounds[-1]['number']}" if rounds else "")
        )
        if "snapshot" in info:
            click.echo(f"snapshot sha256 {info['snapshot']['sha256']}")


_lifecycle("open", "Open registration (draft -> open).")
_lifecycle("freeze", "Freeze the cases and open round 1 (-> testing).")
_lifecycle("review", "Close the current round (-> review): unanswered cells become missing.")
_lifecycle("round", "Open the next round for re-submissions (review -> testing).")
_lifecycle("close", "Close the campaign: the matrix snapshot and its hash.")


@campaign.command()
@click.argument("slug")
@click.option("--participant", "key", required=True)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="A folder for the files and manifest.json.",
)
@STORE
@rulebook_option
@guarded
def cases(slug: str, key: str, out: str, store_url: str | None, rulebook_dir: str | None) -> None:
    """Write a participant's files and their manifest.json (case, file, sha256, expectation)."""
    cs = open_store(store_url, rulebook_dir)
    manifest = run(lambda: cs.manifest(slug, key))
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for item in manifest:
        name, content = run(lambda item=item: cs.instance_file(slug, key, item["case"]))
        tmp = folder / f".{name}.part"
        tmp.write_bytes(content)
        os.replace(tmp, folder / name)
    tmp = folder / ".manifest.json.part"
    tmp.write_text(
        json.dumps(
            {"campaign": slug, "participant": key, "files": manifest}, ensure_ascii=False, indent=2
        )
        + "\n",
        "utf-8",
    )
    os.replace(tmp, folder / "manifest.json")
    click.echo(f"{len(manifest)} files and manifest.json in {folder}")


@campaign.command()
@click.argument("slug")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--participant", "key", required=True)
@click.option("--case", "case_key", help="The case these messages answer (a manual match).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@STORE
@rulebook_option
@guarded
def submit(
    slug: str,
    files: tuple[str, ...],
    key: str,
    case_key: str | None,
    fmt: str,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """Submit what KEY's system answered (messages or ZIPs); say which case each matched and
    the state of its cell."""
    cs = open_store(store_url, rulebook_dir)
    results = []
    refused = []
    for path in files:
        try:
            results += cs.submit(
                slug, key, Path(path).name, Path(path).read_bytes(), case_key=case_key, client="cli"
            )
        except CampaignError as exc:
            refused.append({"name": Path(path).name, "error": exc.code, "message": exc.message})
    if fmt == "json":
        echo_json({"results": [r.to_json() for r in results], "refused": refused})
    else:
        for r in results:
            extra = " (replay)" if r.replay else ""
            extra += " late" if r.late else ""
            click.echo(
                f"{r.name}: {r.message or '?'} -> {r.case}: {r.state}{extra}"
                + (f"  [{r.error}]" if r.error else "")
            )
        for item in refused:
            click.echo(f"{item['name']}: refused: {item['error']}: {item['message']}", err=True)
    if refused or any(r.error for r in results):
        settle(EXIT_UNREADABLE)
    elif any(state != "match" for state in {r.case: r.state for r in results}.values()):
        settle(EXIT_FINDINGS)  # a cell's state after the last of these messages
    raise SystemExit(settle_status())


def settle_status() -> int:
    from api.cli_common import Outcome

    return Outcome.status


@campaign.command()
@click.argument("slug")
@click.option("--round", "round_number", type=int, default=None)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "csv", "junit", "html"]), default="text"
)
@click.option(
    "--only",
    multiple=True,
    metavar="FILTER",
    help="divergent | failing | class=C | participant=K | letter=L | state=S | "
    "record=ETnn | kind=K (repeatable).",
)
@click.option("--out", default=None, help="A file (a folder for html); default: standard output.")
@STORE
@rulebook_option
@guarded
def matrix(
    slug: str,
    round_number: int | None,
    fmt: str,
    only: tuple[str, ...],
    out: str | None,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """The matrix of a round (default: the current one). Exit 0 when every cell matches."""
    from campaign import render

    cs = open_store(store_url, rulebook_dir)
    data = run(lambda: cs.matrix(slug, round_number=round_number, only=list(only)))
    if fmt == "html":
        if out is None:
            raise click.UsageError("--format html writes a folder: give --out DIR")
        pages = run(lambda: cs.site(slug, round_number))
        write_site(Path(out), pages)
        click.echo(f"{len(pages)} pages in {out}")
    else:
        text = {
            "json": lambda: json.dumps(data, ensure_ascii=False, indent=2) + "\n",
            "text": lambda: render.text(data),
            "csv": lambda: render.to_csv(data),
            "junit": lambda: render.junit(data),
        }[fmt]()
        if out is None:
            click.echo(text, nl=False)
        else:
            write_file(Path(out), text.encode("utf-8"))
    settle(EXIT_OK if all(c["state"] == "match" for c in data["cells"]) else EXIT_FINDINGS)
    raise SystemExit(settle_status())


def write_file(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def write_site(folder: Path, pages: dict[str, str]) -> None:
    for rel, text in pages.items():
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file(target, text.encode("utf-8"))


@campaign.command()
@click.argument("slug")
@click.argument("case_key", metavar="CASE")
@click.argument("key", metavar="PARTICIPANT")
@click.option("--round", "round_number", type=int, default=None)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@STORE
@rulebook_option
@guarded
def cell(
    slug: str,
    case_key: str,
    key: str,
    round_number: int | None,
    fmt: str,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """One cell: expected and observed, record by record, with explanations."""
    from campaign.html import _errors

    cs = open_store(store_url, rulebook_dir)
    detail = run(lambda: cs.cell(slug, case_key, key, round_number=round_number))
    if fmt == "json":
        echo_json(detail)
    else:
        click.echo(
            f"{detail['case']['key']} x {detail['participant']}: {detail['state']} "
            + " ".join(detail["overlays"])
        )
        for slot in ("ack", "answer", "settlement"):
            want = (detail["expected"] or {}).get(slot)
            got = detail["observed"].get(slot)
            if want is None and got is None:
                continue
            click.echo(f"  {slot}: expected {_brief(want)}; observed {_brief(got)}")
        for r in detail["diff"].get("records", []):
            click.echo(
                f"  record {r['record']} ET{r['record_type']}: missing "
                f"{_errors(r['missing'])}; extra {_errors(r['extra'])}"
                + (f"; unmodelled {_errors(r['unmodelled'])}" if r["unmodelled"] else "")
            )
        for e in detail["diff"].get("explanations", []):
            label = (e.get("label") or {}).get("fr") or ""
            click.echo(
                f"  {e['code']} {e.get('letter') or ''} {label} "
                f"({e.get('rule_source') or 'no rule'})"
            )
        for n in detail["notes"]:
            click.echo(f"  note {n['kind']} by {n['author']}: {n['text']}")
    settle(EXIT_OK if detail["state"] == "match" else EXIT_FINDINGS)
    raise SystemExit(settle_status())


def _brief(outcome: dict[str, Any] | None) -> str:
    if outcome is None:
        return "—"
    if "unreadable" in outcome:
        return f"unreadable ({outcome['unreadable']})"
    if "errored" in outcome:
        return f"errored ({outcome['errored']})"
    refusal = outcome.get("refusal_type")
    return f"{outcome['message']}{'/' + refusal if refusal else ''}"


@campaign.command()
@click.argument("first")
@click.argument("second")
@click.argument("third", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@STORE
@rulebook_option
@guarded
def diff(
    first: str,
    second: str,
    third: str | None,
    fmt: str,
    store_url: str | None,
    rulebook_dir: str | None,
) -> None:
    """SLUG ROUND_A ROUND_B: cells fixed, broken or changed between two rounds;
    SLUG_A SLUG_B: between two campaigns, aligned on case keys."""
    cs = open_store(store_url, rulebook_dir)
    if third is not None:
        if not (second.isdecimal() and third.isdecimal()):
            raise click.UsageError("SLUG ROUND_A ROUND_B takes round numbers")
        result = run(lambda: cs.diff_rounds(first, int(second), int(third)))
    else:
        result = run(lambda: cs.diff_campaigns(first, second))
    if fmt == "json":
        echo_json(result)
    else:
        a, b = result["from"], result["to"]
        click.echo(
            f"{a['campaign']} round {a['round']} -> {b['campaign']} round {b['round']}: "
            + ", ".join(f"{k} {v}" for k, v in result["counts"].items())
        )
        for kind in ("fixed", "broken", "changed", "added", "removed"):
            for item in result[kind]:
                click.echo(
                    f"  {kind:<8} {item['case']} x {item['participant']}: "
                    f"{item['from']} -> {item['to']}"
                )
    settle(EXIT_OK if not result["broken"] else EXIT_FINDINGS)
    raise SystemExit(settle_status())
