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
    fail,
    guarded,
    parse_date,
    rulebook_option,
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


def settle_status() -> int:
    from api.cli_common import Outcome

    return Outcome.status
