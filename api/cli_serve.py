"""The command line's service commands: ``rulebook serve`` and ``rulebook keys``.

Input: command-line arguments (``api.cli`` adds these commands to ``rulebook``).
Output: a running HTTP service (uvicorn, with ``api.protocol``'s connection guards), or the
API key file changed; exit status 2 for an address, a key file or an option it cannot use.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import socket
import sys
from pathlib import Path

import click

from api.bodies import (
    DEFAULT_BODY_DEADLINE,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MIN_RATE,
    DEFAULT_RATE_GRACE,
    DEFAULT_RECEIVING,
)
from api.cli_common import (
    MAX_FINDINGS,
    compiled_rulebook,
    fail,
    guarded,
    parse_date,
    rulebook_option,
)
from api.pipe import DEFAULT_STREAMS
from api.protocol import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS

MAX_WORKERS = 64


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this system (macOS, Windows)
        return os.cpu_count() or 1


def parse_workers(_ctx: click.Context, _param: click.Parameter, value: str) -> int:
    """``--workers``: a number of validator processes, or ``auto`` (one per usable core)."""
    if value == "auto":
        return min(usable_cores(), MAX_WORKERS)
    try:
        count = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number of processes nor 'auto'") from None
    if not 1 <= count <= MAX_WORKERS:
        raise click.BadParameter(f"{count} is not between 1 and {MAX_WORKERS}")
    return count


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@rulebook_option
@click.option(
    "--max-bytes",
    type=click.IntRange(1),
    default=None,
    help="Largest request body accepted (default 200 MB, or RULEBOOK_MAX_BYTES).",
)
@click.option(
    "--workers",
    default="auto",
    callback=parse_workers,
    metavar="N|auto",
    show_default=True,
    help="Validator processes for small files: 'auto', one per core this process may use; "
    "1, validated in a thread of the HTTP process; more, in processes beside the HTTP one, "
    "which take batches of waiting files as they become free.",
)
@click.option(
    "--max-streams",
    type=click.IntRange(1, 1024),
    default=DEFAULT_STREAMS,
    show_default=True,
    help="Files over 8 MB (or sent without a length) received and validated at once, and "
    "/v1/answer and /v1/read requests handled at once; the others wait, bodies not yet read.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1, 86400),
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="A request whose body stops arriving for this long is answered 408.",
)
@click.option(
    "--min-body-rate",
    type=click.FloatRange(0, None),
    default=DEFAULT_MIN_RATE,
    show_default=True,
    metavar="BYTES_PER_S",
    help="A body that arrives slower than this on average (once --rate-grace has passed) is "
    "answered 408; 0: no minimum.",
)
@click.option(
    "--rate-grace",
    type=click.FloatRange(0, 86400),
    default=DEFAULT_RATE_GRACE,
    show_default=True,
    metavar="SECONDS",
)
@click.option(
    "--body-deadline",
    type=click.FloatRange(0.1, 86400),
    default=DEFAULT_BODY_DEADLINE,
    show_default=True,
    metavar="SECONDS",
    help="A body not whole after this long is answered 408.",
)
@click.option(
    "--max-receiving",
    type=click.IntRange(1, 4096),
    default=DEFAULT_RECEIVING,
    show_default=True,
    help="Bodies of up to 8 MB received and held at once; the others wait, unread.",
)
@MAX_FINDINGS
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1, 3600),
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="A request's headers must be whole this long after the connection (or the previous "
    "answer) opened it; else 408 and the connection is closed.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 1_000_000),
    default=DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    help="Connections kept at once: beyond, the one idle the longest is closed.",
)
@click.option(
    "--today",
    callback=parse_date,
    help="The reference date for 'today' of every validation (default: the date of each "
    "request); clients cannot set it.",
)
@click.option(
    "--allow-as-of",
    is_flag=True,
    help="Let clients pass as_of (the rules in force at another date).",
)
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(dir_okay=False),
    help="API key file (rulebook keys add): the validation routes need a client's key. "
    "Required to listen beyond loopback.",
)
@click.option(
    "--access-log",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write a JSON line per request to this file ('-': standard output).",
)
@click.option(
    "--store",
    "store_url",
    envvar="RULEBOOK_STORE",
    default=None,
    metavar="URL",
    help="The campaign store served under /v1/campaigns: sqlite:///PATH or "
    "postgresql+psycopg://… (default: RULEBOOK_STORE, else campaigns.db in the user's data "
    "directory).",
)
@click.option("--no-campaigns", is_flag=True, help="Serve no campaign routes (no store).")
@guarded
def serve(
    host: str,
    port: int,
    rulebook_dir: str | None,
    max_bytes: int | None,
    workers: int,
    max_streams: int,
    body_timeout: float,
    min_body_rate: float,
    rate_grace: float,
    body_deadline: float,
    max_receiving: int,
    max_findings: int,
    header_timeout: float,
    max_connections: int,
    today: dt.date | None,
    allow_as_of: bool,
    keys_file: str | None,
    access_log: str | None,
    store_url: str | None,
    no_campaigns: bool,
) -> None:
    """Start the HTTP validation service (the rulebook is compiled once, at start-up)."""
    import uvicorn

    from api.access import KeyFileError, Keys
    from api.protocol import guarded_protocol
    from api.service import create_app

    keys = Path(keys_file) if keys_file is not None else None
    if keys is not None:
        try:
            Keys(keys).client("")  # a key file that cannot be read stops here
        except KeyFileError as exc:
            fail(str(exc))
    log = None
    if access_log == "-":
        log = sys.stdout
    elif access_log is not None:
        try:
            log = open(access_log, "a", encoding="utf-8")  # noqa: SIM115 - the server's life
        except OSError as exc:
            fail(f"cannot write the access log {access_log}: {exc.strerror}")
    compiled = compiled_rulebook(rulebook_dir)  # errors stop here, once, before any worker
    store = None
    if not no_campaigns:
        from campaign.store import Store, StoreError, default_url

        store = store_url or default_url()
        try:
            opened = Store(store)  # a store that cannot be opened (or migrated) stops here
        except StoreError as exc:
            fail(str(exc))
            raise
        shown_store = opened.redacted()
        opened.close()
    port = usable_port(host, port)  # a port in use stops here, before any worker too
    if keys is None and not loopback(host):
        fail(
            f"listening on {host} (beyond this machine) needs API keys: --keys FILE "
            "(create one with 'rulebook keys add NAME --file FILE')"
        )
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"rulebook {compiled.version} ({compiled.hash[:19]}…): {len(compiled.rules)} rules\n"
        f"serving on http://{shown}:{port}  (API docs: http://{shown}:{port}/docs)"
        + (f"  [{workers} validator processes]" if workers > 1 else "")
        + (f"  [campaigns: {shown_store}]" if store else "")
    )
    app = create_app(
        compiled,
        max_bytes=max_bytes,
        workers=workers,
        max_streams=max_streams,
        body_timeout=body_timeout,
        min_body_rate=min_body_rate,
        rate_grace=rate_grace,
        body_deadline=body_deadline,
        max_receiving=max_receiving,
        today=today,
        allow_as_of=allow_as_of,
        keys=keys,
        access_log=log,
        keep=max_findings or None,
        store=store,
    )
    gc.freeze()  # the rulebook and the app live as long as the server: see api.batch
    # uvloop where it is installed (a dependency on Linux and macOS): ~8 % less CPU per
    # request in the HTTP process than asyncio's loop, measured side by side
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=guarded_protocol(header_timeout, max_connections),
        loop="auto",
        backlog=max(2048, max_connections),
    )


def loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (a loopback address or name)."""
    import ipaddress

    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.group()
def keys() -> None:
    """API keys of the service's clients, stored hashed in a key file (rulebook serve --keys)."""


KEY_FILE = click.option(
    "--file", "key_file", type=click.Path(dir_okay=False), required=True, help="The key file."
)


@keys.command("add")
@click.argument("name")
@KEY_FILE
@guarded
def keys_add(name: str, key_file: str) -> None:
    """A new key for client NAME: printed once, stored hashed."""
    from api.access import KeyFileError, add_key

    try:
        key = add_key(Path(key_file), name)
    except KeyFileError as exc:
        fail(str(exc))
        raise
    click.echo(key)
    click.echo(f"key {name!r} added to {key_file}: it is shown only now", err=True)


@keys.command("revoke")
@click.argument("name")
@KEY_FILE
@guarded
def keys_revoke(name: str, key_file: str) -> None:
    """Remove client NAME's key (a running server stops taking it at once)."""
    from api.access import KeyFileError, revoke_key

    try:
        revoke_key(Path(key_file), name)
    except KeyFileError as exc:
        fail(str(exc))
    click.echo(f"key {name!r} revoked", err=True)


@keys.command("list")
@KEY_FILE
@guarded
def keys_list(key_file: str) -> None:
    """The names of the clients that have a key."""
    from api.access import KeyFileError, key_names

    try:
        names = key_names(Path(key_file))
    except KeyFileError as exc:
        fail(str(exc))
        raise
    for name in names:
        click.echo(name)


def usable_port(host: str, port: int) -> int:
    """``port`` (for 0, a free one the system chose) once a socket could be bound to it on
    ``host`` (a name, an IPv4 or an IPv6 address), or exit 2 with the reason (an address in
    use, a host that does not resolve), as for any input the command cannot use. The probe
    is closed and uvicorn binds its own socket, as it always did (another process could take
    the port in between: uvicorn then stops with its own message, exit 3)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's
            probe.bind(address)
            return int(probe.getsockname()[1])
    except (OSError, UnicodeError) as exc:
        fail(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}")
        raise
