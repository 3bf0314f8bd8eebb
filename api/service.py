"""The HTTP service: the same compiled rules as the CLI and the library, over ``/v1``.

Input: HTTP requests; file bodies are raw bytes (``application/octet-stream``).
Output: JSON — the validation report identical to ``rulebook validate --format json``, the
rulebook's identity, a rule's definition; errors as ``{"error": {"code", "message"}}``.
The rulebook is compiled (or loaded from the cache) once, when the app is created. Bodies
stream through a bounded pipe into the validator, which runs in a worker thread; a body over
the size limit is answered 413 as soon as the limit is passed.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Annotated, Any

import anyio
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.pipe import BytePipe, PipeAborted
from compiler import Compiled, ir, load_compiled
from validator import validate as run_validation
from validator.report import Report

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


day = ir.iso_day


# --------------------------------------------------------------------------- response models


class ErrorBody(BaseModel):
    code: str = Field(description="stable error code, e.g. 'too-large', 'bad-date'")
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Labels(BaseModel):
    fr: str
    nl: str


class RuleSource(BaseModel):
    """Where the rule is written (for reader findings: where their code is declared)."""

    source: str
    line: int


class RulebookRef(BaseModel):
    version: str
    hash: str


class FileInfo(BaseModel):
    name: str
    sha256: str
    message: str | None
    records: int


class FindingOut(BaseModel):
    code: str
    letter: str
    segment: str | None
    record: int | None
    record_type: str | None
    zone: str | None
    start: int | None
    end: int | None
    invoice: int | None
    message: Labels
    rule: RuleSource
    value: str | None = Field(description="the offending value, as it stands in the file")
    detail: str | None = Field(description="what the validator could not evaluate, if so")


class Summary(BaseModel):
    by_letter: dict[str, int] = Field(description="findings per letter B, F, R, S, E")
    error_rate: float = Field(description="share of refused items, per the rulebook's basis")
    invoices: int
    governing_date: str | None = Field(description="the date that chose the rules in force")
    reference_date: str = Field(description="'today' for the rules that use it")


class ValidationReport(BaseModel):
    """The JSON report of design.md §4 (the same as the CLI's ``--format json``)."""

    rulebook: RulebookRef
    file: FileInfo
    verdict: str = Field(
        description="accepted | accepted_with_errors | rejected_blocking | rejected_threshold"
    )
    findings: list[FindingOut]
    summary: Summary


class ReleaseOut(BaseModel):
    version: str
    published: str | None
    applies: str | None


class RulebookInfo(BaseModel):
    version: str
    hash: str
    message: str
    layouts: int
    rules: int
    codes: int
    releases: list[ReleaseOut]


class RuleVersion(BaseModel):
    record: str
    zone: str = Field(description="the zone as the rule names it: '8', '6b', '36-41'")
    zone_name: str
    valid_from: str | None
    valid_until: str | None
    governed_by: str
    message: Labels
    source: str
    line: int
    note: str | None


class RuleOut(BaseModel):
    code: str
    letter: str
    official: bool
    message: Labels
    versions: list[RuleVersion]


class Health(BaseModel):
    status: str
    rulebook: RulebookRef


# --------------------------------------------------------------------------- app

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "malformed request"},
    404: {"model": ErrorResponse, "description": "unknown code"},
    413: {"model": ErrorResponse, "description": "body over the size limit"},
    422: {"model": ErrorResponse, "description": "invalid parameters"},
}


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


class BodyTooLarge(Exception):
    pass


def create_app(
    compiled: Compiled | None = None,
    *,
    rulebook_dir: str | None = None,
    max_bytes: int | None = None,
) -> FastAPI:
    """The application, with its rulebook compiled once, here."""
    book = compiled if compiled is not None else load_compiled(rulebook_dir)
    limit = max_bytes or int(os.environ.get("RULEBOOK_MAX_BYTES", DEFAULT_MAX_BYTES))
    app = FastAPI(
        title="Rulebook",
        version=book.version,
        summary="INAMI/RIZIV eFact 920000 billing rules as data: validation service",
        description=(
            "Validates 920000 files with the compiled rulebook "
            f"{book.version} ({book.hash}). The report is identical to "
            "`rulebook validate --format json`."
        ),
    )
    app.state.compiled = book

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}
        code = codes.get(exc.status_code, "http-error")
        return error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for item in exc.errors():
            where = ".".join(str(p) for p in item.get("loc", ()))
            parts.append(f"{where}: {item.get('msg', 'invalid')}")
        return error(422, "bad-parameter", "; ".join(parts) or "invalid request")

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
        response_model=ValidationReport,
        responses={413: ERRORS[413], 422: ERRORS[422]},
        tags=["validation"],
        openapi_extra={
            "requestBody": {
                "required": False,
                "description": "the 920000 file, raw bytes (empty: finding RB0001)",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def validate(
        request: Request,
        name: Annotated[str, Query(max_length=255, description="file name in the report")] = "-",
        today: Annotated[
            str | None, date_query("reference date for 'today' (default: the server's date)")
        ] = None,
        as_of: Annotated[str | None, date_query("apply the rules in force at this date")] = None,
    ) -> JSONResponse:
        """Validate the request body (a 920000 file, raw bytes)."""
        dates: dict[str, dt.date | None] = {}
        for key, text in (("today", today), ("as_of", as_of)):
            try:
                dates[key] = dt.date.fromisoformat(text) if text else None
            except ValueError as exc:
                return error(422, "bad-parameter", f"query.{key}: {text!r} is not a date: {exc}")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return too_large(limit)
        try:
            report = await validate_stream(
                book, request, limit, name, dates["today"], dates["as_of"]
            )
        except BodyTooLarge:
            return too_large(limit)
        return JSONResponse(report.to_json())

    return app


def date_query(description: str) -> Any:
    """A YYYY-MM-DD query parameter, documented as an OpenAPI date (parsed by the route)."""
    return Query(
        pattern=DATE_PATTERN,
        json_schema_extra={"format": "date"},
        description=f"{description}; YYYY-MM-DD",
    )


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


async def validate_stream(
    book: Compiled,
    request: Request,
    limit: int,
    name: str,
    today: dt.date | None,
    as_of: dt.date | None,
) -> Report:
    """Feed the body through a bounded pipe to the validator running in a worker thread."""
    pipe = BytePipe()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["report"] = run_validation(book, pipe, name=name, today=today, as_of=as_of)
        except PipeAborted:
            outcome["aborted"] = True
        finally:
            pipe.release()

    over_limit = False
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(anyio.to_thread.run_sync, work)
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    over_limit = True
                    break
                if chunk:
                    await anyio.to_thread.run_sync(pipe.put, chunk)
        except BaseException as exc:  # the client went away: stop the validator, no report
            pipe.abort(exc)
            raise
        if over_limit:
            pipe.abort(BodyTooLarge())
        else:
            await anyio.to_thread.run_sync(pipe.close)
    if over_limit:
        raise BodyTooLarge
    if "report" not in outcome:  # pragma: no cover - the validator never raises on content
        raise HTTPException(500, "validation did not complete")
    report: Report = outcome["report"]
    return report
