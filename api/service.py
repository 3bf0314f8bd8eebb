"""The HTTP service: the same compiled rules as the CLI and the library, over ``/v1``.

Input: HTTP requests; file bodies are raw bytes (``application/octet-stream``).
Output: JSON — the validation report identical to ``rulebook validate --format json``, the
rulebook's identity, a rule's definition; errors as ``{"error": {"code", "message"}}``.
The rulebook is compiled (or loaded from the cache) once, when the app is created. Bodies
stream through a bounded pipe into the validator, which runs in a worker thread; a body over
the size limit is answered 413 as soon as the limit is passed. Small bodies are read whole and
validated together with those of concurrent requests (``api.batch``).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO

import anyio
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    JSONResponse,
    Response,
    StreamingResponse,
)
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from answer import Answer, answers_for, read_message
from answer import ReadError as ReadFailure
from api.access import Access, Keys
from api.batch import Batcher, validate_bodies
from api.bodies import (
    DEFAULT_BODY_DEADLINE,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_MIN_RATE,
    DEFAULT_RATE_GRACE,
    DEFAULT_RECEIVING,
    BodyStalled,
    BodyTooLarge,
    Pace,
    body_chunks,
    declared_small,
    declared_too_large,
    whole_body,
)
from api.models import (
    AnswersOut,
    ErrorResponse,
    Health,
    Labels,
    ReadOut,
    ReleaseOut,
    RulebookInfo,
    RulebookRef,
    RuleOut,
    RuleVersion,
    ValidationReport,
    ValidationReports,
)
from api.pages import add_pages
from api.pipe import DEFAULT_STREAMS, BytePipe, PipeAborted
from api.strict import NoForms, known_query
from compiler import Compiled, ir, load_compiled
from validator import validate as run_validation
from validator.json_stream import json_text
from validator.report import Report
from validator.tally import DEFAULT_KEEP
from validator.zipped import ZipRefused, zip_members

LOG = logging.getLogger("rulebook.service")
PROTECTED = frozenset({"/v1/validate", "/v1/answer", "/v1/read"})  # with keys: a key needed
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
MAX_ZIP_FILES = 10_000  # files in one ZIP of sendings
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
Lang = Literal["fr", "nl"]


def date_query(description: str) -> Any:
    """A YYYY-MM-DD query parameter, documented as an OpenAPI date (parsed by the route)."""
    return Query(
        pattern=DATE_PATTERN,
        json_schema_extra={"format": "date"},
        description=f"{description}; YYYY-MM-DD",
    )


NameQuery = Annotated[str, Query(max_length=255, description="file name in the report")]
AsOfQuery = Annotated[
    str | None,
    date_query(
        "apply the rules in force at this date (only where the server allows it: "
        "rulebook serve --allow-as-of; 'today' is always the server's)"
    ),
]


day = ir.iso_day


# --------------------------------------------------------------------------- app

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "malformed request"},
    404: {"model": ErrorResponse, "description": "unknown code"},
    408: {"model": ErrorResponse, "description": "the body stopped arriving"},
    413: {"model": ErrorResponse, "description": "body over the size limit"},
    415: {"model": ErrorResponse, "description": "a form upload instead of the raw bytes"},
    422: {"model": ErrorResponse, "description": "invalid parameters"},
}


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


CLIENT_CLOSED = 499  # "client closed request" (nginx's code): never received, for the record


def create_app(
    compiled: Compiled | None = None,
    *,
    rulebook_dir: str | None = None,
    max_bytes: int | None = None,
    workers: int = 1,
    max_streams: int = DEFAULT_STREAMS,
    body_timeout: float = DEFAULT_BODY_TIMEOUT,
    min_body_rate: float = DEFAULT_MIN_RATE,
    rate_grace: float = DEFAULT_RATE_GRACE,
    body_deadline: float = DEFAULT_BODY_DEADLINE,
    max_receiving: int = DEFAULT_RECEIVING,
    today: dt.date | None = None,
    allow_as_of: bool = False,
    keys: Path | None = None,
    access_log: TextIO | None = None,
    keep: int | None = DEFAULT_KEEP,
    store: str | None = None,
) -> FastAPI:
    """The application, with its rulebook compiled once, here; with ``workers`` > 1 small
    files are validated in that many validator processes (``api.batch``); at most
    ``max_streams`` larger bodies (or bodies without a length) are received and validated at
    once, and as many answers and messages read (``/v1/answer`` and ``/v1/read`` read their
    body whole), the others waiting. 'today' is the server's: ``today`` (else the date of each
    request); a client may set ``as_of`` only with ``allow_as_of``. With ``keys`` (a key file)
    the validation routes need a client's key; ``access_log`` gets a JSON line per request.
    A report lists at most ``keep`` findings of each code (None: all), every one counted;
    ``/v1/answer`` lists them all (answers carry each record's). With ``store`` (a database
    URL) the campaign routes (``api.campaigns``) serve the campaigns of that store."""
    book = compiled if compiled is not None else load_compiled(rulebook_dir)
    limit = max_bytes or int(os.environ.get("RULEBOOK_MAX_BYTES", DEFAULT_MAX_BYTES))
    cpu = anyio.CapacityLimiter(1)
    batcher = Batcher(book, cpu, workers=workers, keep=keep)
    streams = Streams.of(max_streams)
    receiving = anyio.CapacityLimiter(max_receiving)  # small bodies read (and held) at once
    pace = Pace(idle=body_timeout, min_rate=min_body_rate, grace=rate_grace, deadline=body_deadline)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(batcher.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(batcher.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="Rulebook",
        version=book.version,
        dependencies=[Depends(known_query)],
        docs_url=None,  # served by api.pages from the package, not from a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        summary="INAMI/RIZIV eFact 920000 billing rules as data: validation service",
        description=(
            "Validates 920000 files with the compiled rulebook "
            f"{book.version} ({book.hash}). The report is identical to "
            "`rulebook validate --format json`."
        ),
    )
    app.state.compiled = book
    app.state.batcher = batcher
    if store is not None:
        from api.campaigns import router
        from campaign.campaigns import Campaigns
        from campaign.store import Store

        app.state.campaigns = Campaigns(Store(store), book)
        app.include_router(router(app.state.campaigns, limit, pace))
    app.add_middleware(NoForms)
    if keys is not None or access_log is not None:  # else nothing to check or to write
        app.add_middleware(
            Access,
            keys=Keys(keys) if keys is not None else None,
            log=access_log,
            protected=PROTECTED,
        )
    described = app.openapi

    def openapi() -> dict[str, Any]:
        """The document says what this server takes: as_of only if it allows it, and with
        keys, the keys on the validation routes and their 401."""
        if app.openapi_schema is None:
            schema = described()
            for route, path in schema.get("paths", {}).items():
                for operation in path.values():
                    parameters = operation.get("parameters", [])
                    if not allow_as_of:
                        operation["parameters"] = [p for p in parameters if p["name"] != "as_of"]
                    if keys is not None and route in PROTECTED:
                        operation["security"] = [{"bearer": []}, {"apiKey": []}]
                        operation["responses"]["401"] = {
                            "description": "no valid API key",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorResponse"}
                                }
                            },
                        }
            if keys is not None:
                schema.setdefault("components", {})["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer"},
                    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                }
        return app.openapi_schema or described()

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}
        code = codes.get(exc.status_code, "http-error")
        return error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(BodyStalled)
    async def body_stalled(_request: Request, exc: BodyStalled) -> JSONResponse:
        """A body that stopped arriving, came too slowly or too late: 408, connection
        closed."""
        return error(408, "body-timeout", str(exc), headers={"Connection": "close"})

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_request: Request, _exc: ClientDisconnect) -> Response:
        """The client went away before its body was all sent: nothing to answer and nothing
        to log (as a server error it would print a traceback per dropped upload)."""
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        """A bug, not bad input (bad bytes are findings): still a JSON error, without the
        exception's text (it may carry a file's content); the server's log has it, with the
        same incident number."""
        incident = secrets.token_hex(6)
        LOG.error("incident %s: %s: %s", incident, type(exc).__name__, exc, exc_info=exc)
        return error(
            500, "internal-error", f"the service failed (incident {incident}, in the server's log)"
        )

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for item in exc.errors():
            where = ".".join(str(p) for p in item.get("loc", ()))
            parts.append(f"{where}: {item.get('msg', 'invalid')}")
        return error(422, "bad-parameter", "; ".join(parts) or "invalid request")

    add_pages(app, book, campaigns=store is not None)

    @app.get("/healthz", response_model=Health, tags=["service"])
    async def healthz() -> Health:
        """Liveness: the service is up with its rulebook compiled."""
        return Health(status="ok", rulebook=RulebookRef(version=book.version, hash=book.hash))

    @app.get("/v1/rulebook", response_model=RulebookInfo, tags=["rulebook"])
    async def rulebook_info() -> RulebookInfo:
        """Version, content hash and size of the rulebook the service runs."""
        return RulebookInfo(
            version=book.version,
            hash=book.hash,
            message=book.message.name,
            layouts=len(book.layouts),
            rules=len(book.rules),
            codes=len(book.codes),
            releases=[
                ReleaseOut(version=r.version, published=day(r.published), applies=day(r.applies))
                for r in book.releases
            ],
        )

    @app.get(
        "/v1/rules/{code}",
        response_model=RuleOut,
        responses={404: ERRORS[404]},
        tags=["rulebook"],
    )
    async def rule(code: str) -> RuleOut | JSONResponse:
        """A code with its letter, labels and every rule version that reports it."""
        info = book.codes.get(code)
        rules = book.rules_for_code(code)
        if info is None:
            return error(404, "unknown-code", f"code {code!r} is not in this rulebook")
        return RuleOut(
            code=info.code,
            letter=info.letter,
            official=info.official,
            message=Labels(fr=info.fr, nl=info.nl),
            versions=[rule_version(book, r) for r in rules],
        )

    @app.post(
        "/v1/validate",
        response_model=ValidationReport | ValidationReports,
        responses={408: ERRORS[408], 413: ERRORS[413], 415: ERRORS[415], 422: ERRORS[422]},
        tags=["validation"],
        openapi_extra=raw_body(
            "the 920000 file, raw bytes (empty: finding RB0001); or, as application/zip, a ZIP "
            'of sendings: one report per file, {"files": [report, ...]}',
            zip_too=True,
        ),
    )
    async def validate(
        request: Request,
        name: NameQuery = "-",
        as_of: AsOfQuery = None,
    ) -> Response:
        """Validate the request body: a 920000 file (raw bytes), or a ZIP of them
        (``Content-Type: application/zip``), each file's report the one it gets alone."""
        dates = reference_dates(request, today, as_of if allow_as_of else None, as_of)
        if isinstance(dates, JSONResponse):
            return dates
        if media_type(request) == "application/zip":
            async with streams.slots:
                data = await whole_body(request, limit, pace)
                if data is None:
                    return too_large(limit)
                try:
                    files = zip_members(data, max_members=MAX_ZIP_FILES, max_bytes=limit)
                except ZipRefused as exc:
                    return error(exc.status, exc.code, exc.message)
                work = partial(validate_bodies, book, files, *dates, keep)
                bodies = await anyio.to_thread.run_sync(work, limiter=streams.threads)
            for body in bodies:
                if isinstance(body, Exception):
                    raise body
            joined = b",".join(b for b in bodies if isinstance(b, bytes))
            return Response(b'{"files":[' + joined + b"]}", media_type="application/json")
        if declared_small(request):
            # a small file: read it whole; validated together with the small files of the
            # other requests waiting (api/batch.py), one CPU-bound batch at a time per process
            async with receiving, batcher.receiving():
                data = await whole_body(request, limit, pace)
            if data is None:
                return too_large(limit)
            body = await batcher.validate(data, name, *dates)
        else:
            if declared_too_large(request, limit):
                return too_large(limit)
            try:
                async with streams.slots:  # until one is free, the body is not read
                    report = await validate_stream(
                        book, request, limit, name, *dates, streams.threads, pace, keep
                    )
            except BodyTooLarge:
                return too_large(limit)
            # a large file's report can be large too (seven findings a record when every
            # record is broken): written as it is encoded, never whole
            return json_response(report.to_json(lazy=True))
        return Response(body, media_type="application/json")

    @app.post(
        "/v1/answer",
        response_model=AnswersOut,
        responses={408: ERRORS[408], 413: ERRORS[413], 415: ERRORS[415], 422: ERRORS[422]},
        tags=["answers"],
        openapi_extra=raw_body("the 920000 file to answer, raw bytes"),
    )
    async def answer(
        request: Request,
        name: NameQuery = "-",
        as_of: AsOfQuery = None,
        lang: Annotated[Lang, Query(description="language of the error comments")] = "fr",
        settlement: Annotated[
            bool, Query(description="also the settlement (920900) of an accepted sending")
        ] = False,
    ) -> Response:
        """Validate the body and return the insurer's answers: the acknowledgement (931000) and
        the answer the verdict calls for (920098, 920099, 920999), as the CLI's ``answer``."""
        dates = reference_dates(request, today, as_of if allow_as_of else None, as_of)
        if isinstance(dates, JSONResponse):
            return dates
        # a body held whole (the answers echo its records): a small one among the small
        # bodies received at once, a larger one in a stream slot
        async with receiving if declared_small(request) else streams.slots:
            data = await whole_body(request, limit, pace)
            if data is None:
                return too_large(limit)

            def work() -> tuple[Report, list[Answer]]:
                report = run_validation(
                    book, io.BytesIO(data), name=name, today=dates[0], as_of=dates[1]
                )
                return report, answers_for(book, data, report, lang, settle=settlement)

            report, answers = await anyio.to_thread.run_sync(work, limiter=cpu)
        return json_response(
            {
                "verdict": report.verdict,
                "report": report.to_json(lazy=True),
                "answers": [answer_json(book, a) for a in answers],
            }
        )

    @app.post(
        "/v1/read",
        response_model=ReadOut,
        responses={408: ERRORS[408], 413: ERRORS[413], 415: ERRORS[415], 422: ERRORS[422]},
        tags=["answers"],
        openapi_extra=raw_body("a message the rulebook describes (an answer, a 920000 file)"),
    )
    async def read(
        request: Request,
        name: Annotated[str, Query(max_length=255, description="file name in the result")] = "-",
    ) -> Response:
        """Parse a message (e.g. an insurer's answer): per record its type and (letter, code)
        errors with their labels, the refusal type and error percentage (as ``rulebook read``)."""
        # a body held whole (the answers echo its records): a small one among the small
        # bodies received at once, a larger one in a stream slot
        async with receiving if declared_small(request) else streams.slots:
            data = await whole_body(request, limit, pace)
            if data is None:
                return too_large(limit)

            def work() -> dict[str, Any]:
                return {"messages": [read_message(book, data, name).to_json()]}

            try:  # off the event loop: a 35 MB sending takes ~9 s to read
                payload = await anyio.to_thread.run_sync(work, limiter=streams.threads)
            except ReadFailure as exc:
                return error(422, "unreadable-message", str(exc))
        return json_response(payload)

    return app


def raw_body(description: str, *, zip_too: bool = False) -> dict[str, Any]:
    """OpenAPI for a raw-bytes request body (and a ZIP of them, ``zip_too``)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    content = {"application/octet-stream": binary}
    if zip_too:
        content["application/zip"] = binary
    return {"requestBody": {"required": False, "description": description, "content": content}}


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def reference_dates(
    request: Request, today: dt.date | None, as_of: str | None, asked: str | None
) -> tuple[dt.date | None, dt.date | None] | JSONResponse:
    """The dates a validation runs with: the server's 'today' (None: the date of the request)
    and ``as_of`` where the server takes it; the 422 answer for a client that sets 'today'
    (it would switch off the 'not in the future' checks), an ``as_of`` the server does not
    take (``asked`` without ``as_of``) or a bad date."""
    if "today" in request.query_params:
        return error(
            422,
            "bad-parameter",
            "query.today: the reference date for 'today' is the server's (rulebook serve "
            "--today); a client cannot set it",
        )
    if asked and not as_of:
        return error(
            422,
            "bad-parameter",
            "query.as_of: this server applies the rules in force today; it takes as_of only "
            "when started with --allow-as-of",
        )
    try:
        return today, dt.date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        return error(422, "bad-parameter", f"query.as_of: {as_of!r} is not a date: {exc}")


def answer_json(book: Compiled, a: Answer) -> dict[str, Any]:
    msg = book.messages[a.message]
    return {
        "message": a.message,
        "label": {"fr": msg.fr, "nl": msg.nl},
        "content": a.content.decode("latin-1"),
        "omitted": [
            {
                "letter": o.finding.letter,
                "code": o.finding.code,
                "record": o.finding.record,
                "segment": o.finding.segment,
                "reason": o.reason,
            }
            for o in a.omitted
        ],
    }


def json_response(payload: object) -> StreamingResponse:
    """``JSONResponse(payload)``'s body, sent as it is encoded (``validator.json_stream``)."""
    pieces = json_text(payload, piece=SEND_PIECE)
    return StreamingResponse((p.encode() for p in pieces), media_type="application/json")


SEND_PIECE = 1 << 20  # characters encoded per piece sent (each piece is made in a thread)


def too_large(limit: int) -> JSONResponse:
    return error(413, "too-large", f"the body exceeds the limit of {limit:,} bytes")


def rule_version(book: Compiled, r: ir.Rule) -> RuleVersion:
    return RuleVersion(
        record=r.record,
        zone=r.zone_label,
        zone_name=r.zone.name,
        valid_from=day(r.start),
        valid_until=day(r.end),
        governed_by=r.governed_by,
        message=Labels(fr=r.fr, nl=r.nl),
        source=r.source,
        line=r.line,
        note=r.note,
    )


@dataclass(frozen=True)
class Streams:
    """Bodies streamed to a validator thread of the HTTP process, at most ``slots.total_tokens``
    at once; each uses two threads at most (the validator's, and one putting a chunk in its
    pipe), taken from ``threads``, a pool of their own: sharing anyio's default pool (40
    threads), 60 uploads without a length at once took every thread with chunks waiting to be
    put while no validator could start, and the service hung."""

    slots: anyio.CapacityLimiter
    threads: anyio.CapacityLimiter

    @classmethod
    def of(cls, count: int) -> Streams:
        return cls(anyio.CapacityLimiter(count), anyio.CapacityLimiter(2 * count))


async def validate_stream(
    book: Compiled,
    request: Request,
    limit: int,
    name: str,
    today: dt.date | None,
    as_of: dt.date | None,
    threads: anyio.CapacityLimiter,
    pace: Pace,
    keep: int | None,
) -> Report:
    """Feed the body through a bounded pipe to the validator running in a worker thread
    (both from ``threads``: see ``Streams``)."""
    pipe = BytePipe()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["report"] = run_validation(
                book, pipe, name=name, today=today, as_of=as_of, keep=keep
            )
        except PipeAborted:
            outcome["aborted"] = True
        finally:
            pipe.release()

    over_limit = gone = False
    stalled: BodyStalled | None = None
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(partial(anyio.to_thread.run_sync, work, limiter=threads))
        size = 0
        try:
            async for chunk in body_chunks(request, pace):
                size += len(chunk)
                if size > limit:
                    over_limit = True
                    break
                if chunk:
                    await anyio.to_thread.run_sync(pipe.put, chunk, limiter=threads)
        except ClientDisconnect:  # raised after the group, not as one of its errors
            gone = True
        except BodyStalled as exc:  # the same
            stalled = exc
        except BaseException as exc:  # cancelled: stop the validator, no report
            pipe.abort(exc)
            raise
        if gone:  # the client went away: stop the validator, no report
            pipe.abort(ClientDisconnect())
        elif stalled is not None:
            pipe.abort(stalled)
        elif over_limit:
            pipe.abort(BodyTooLarge())
        else:
            await anyio.to_thread.run_sync(pipe.close, limiter=threads)
    if gone:
        raise ClientDisconnect
    if stalled is not None:
        raise stalled
    if over_limit:
        raise BodyTooLarge
    if "report" not in outcome:  # pragma: no cover - the validator never raises on content
        raise HTTPException(500, "validation did not complete")
    report: Report = outcome["report"]
    return report
