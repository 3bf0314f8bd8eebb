"""The service's campaign routes, ``/v1/campaigns/{slug}/…``: the CLI's JSON over HTTP.

Input: requests with a bearer token — the campaign's coordinator token (from ``rulebook
campaign init``) or a participant's (from ``participant add``); campaign creation needs the
server's coordinator token (``RULEBOOK_COORDINATOR_TOKEN``). Bodies are received within the
service's size limit and pace (``api.bodies``); the store is used in worker threads.
Output: the same JSON as ``rulebook campaign … --format json`` (``campaign.campaigns``);
errors as ``{"error": {"code", "message"}}`` with the status the campaign layer names (401
without a valid token, 403 beyond what a token may do, 404, 409 for a state or a race, 422
for input it cannot use). A replayed submission answers 200 with ``Idempotent-Replay: true``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from api.bodies import Pace, whole_body
from campaign import html, render
from campaign.campaigns import Campaigns
from campaign.core import CampaignError, Viewer

T = TypeVar("T")
BEARER = HTTPBearer(auto_error=False, description="a campaign token (rbk_…)")
Auth = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}
ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
MAX_INT = 2**63 - 1  # the stores' integers (SQLite and PostgreSQL BIGINT): beyond, a 422
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "a body that cannot be parsed", "content": ERROR},
    401: {"description": "no valid token for this campaign", "content": ERROR},
    403: {"description": "beyond what this token may do", "content": ERROR},
    404: {"description": "no such campaign, case or participant", "content": ERROR},
    409: {"description": "not in this state, or a conflict", "content": ERROR},
    422: {"description": "input it cannot use", "content": ERROR},
}


def failure(exc: CampaignError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}},
        status_code=exc.status,
        headers=headers,
    )


class ParticipantIn(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    role: Literal["insurer", "sender"]
    name: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    system_name: str | None = Field(default=None, max_length=200)
    system_version: str | None = Field(default=None, max_length=100)
    declared_rulebook: str | None = Field(default=None, max_length=100)
    contact: str | None = Field(default=None, max_length=200)


class TokenIn(BaseModel):
    action: Literal["rotate", "revoke"]


class NoteIn(BaseModel):
    case: str = Field(min_length=1, max_length=120)
    participant: str | None = Field(default=None, max_length=64)
    kind: Literal["comment", "dispute", "waiver", "override"]
    text: str = Field(min_length=1, max_length=10_000)
    link: str | None = Field(default=None, max_length=2_000)


class DecisionIn(BaseModel):
    case: str = Field(min_length=1, max_length=120)
    status: Literal["open", "explained", "resolved"]
    cause: (
        Literal["participant", "rulebook", "instruction-ambiguous", "version-lag", "test-data"]
        | None
    ) = None
    resolution: str | None = Field(default=None, max_length=200)
    round: int | None = Field(default=None, ge=1, le=MAX_INT)


class CampaignIn(BaseModel):
    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    select: list[str] = Field(default_factory=list)
    title_fr: str = ""
    title_nl: str = ""
    visibility: Literal["own", "pseudonymous", "named"] = "own"
    late_policy: Literal["flag", "refuse"] = "flag"


def router(campaigns: Campaigns, limit: int, pace: Pace) -> APIRouter:
    api = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], responses=RESPONSES)

    async def work(fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn)

    async def viewer(slug: str, credentials: HTTPAuthorizationCredentials | None) -> Viewer:
        if credentials is None:
            raise CampaignError(401, "unauthorized", "a bearer token is needed")
        return await work(lambda: campaigns.viewer(slug, credentials.credentials))

    async def guarded(fn: Callable[[], Any]) -> Any:
        try:
            return await fn()
        except CampaignError as exc:
            return failure(exc)

    def coordinator_only(who: Viewer) -> None:
        if not who.coordinator:
            raise CampaignError(403, "forbidden", "only the campaign's coordinator may do this")

    @api.post("", status_code=201, responses={201: {"content": JSON_OBJECT}})
    async def create(body: CampaignIn, credentials: Auth) -> Any:
        """Create a campaign (the server's coordinator token, RULEBOOK_COORDINATOR_TOKEN)."""

        async def go() -> Any:
            expected = os.environ.get("RULEBOOK_COORDINATOR_TOKEN", "")
            if (
                not expected
                or credentials is None
                or not hmac.compare_digest(credentials.credentials.encode(), expected.encode())
            ):
                raise CampaignError(
                    401, "unauthorized", "creating a campaign needs the server's coordinator token"
                )
            info, token = await work(
                lambda: campaigns.create(
                    body.slug,
                    select_=body.select,
                    title_fr=body.title_fr,
                    title_nl=body.title_nl,
                    visibility=body.visibility,
                    late_policy=body.late_policy,
                )
            )
            return JSONResponse({**info, "coordinator_token": token}, status_code=201)

        return await guarded(go)

    @api.get("/{slug}", responses={200: {"content": JSON_OBJECT}})
    async def info(slug: str, credentials: Auth) -> Any:
        """The campaign: status, dates, rulebook version and hash, counts."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            return await work(lambda: campaigns.info(slug, who))

        return await guarded(go)

    @api.post("/{slug}/participants", status_code=201, responses={201: {"content": JSON_OBJECT}})
    async def add(slug: str, body: ParticipantIn, credentials: Auth) -> Any:
        """Add a participant (coordinator); the answer carries its token, once."""

        async def go() -> Any:
            coordinator_only(await viewer(slug, credentials))
            info, token = await work(
                lambda: campaigns.add_participant(
                    slug,
                    body.key,
                    role=body.role,
                    name=body.name,
                    params=body.params,
                    system_name=body.system_name,
                    system_version=body.system_version,
                    declared_rulebook=body.declared_rulebook,
                    contact=body.contact,
                )
            )
            return JSONResponse({**info, "token": token}, status_code=201)

        return await guarded(go)

    @api.post("/{slug}/participants/{key}/token", responses={200: {"content": JSON_OBJECT}})
    async def token(slug: str, key: str, body: TokenIn, credentials: Auth) -> Any:
        """Rotate or revoke a participant's token (coordinator)."""

        async def go() -> Any:
            coordinator_only(await viewer(slug, credentials))
            new = await work(lambda: campaigns.token(slug, key, revoke=body.action == "revoke"))
            return {"key": key, "action": body.action, "token": new}

        return await guarded(go)

    @api.post("/{slug}/lifecycle/{action}", responses={200: {"content": JSON_OBJECT}})
    async def lifecycle(
        slug: str,
        action: Literal["open", "freeze", "review", "round", "close"],
        credentials: Auth,
    ) -> Any:
        """A lifecycle step (coordinator); close answers the snapshot's hash."""

        async def go() -> Any:
            coordinator_only(await viewer(slug, credentials))
            return await work(lambda: campaigns.move(slug, action))

        return await guarded(go)

    @api.get("/{slug}/cases", responses={200: {"content": JSON_OBJECT}})
    async def cases(
        slug: str,
        credentials: Auth,
        participant: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Any:
        """A participant's files: case, file name, sha256, references, expectation."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            key = participant or who.participant
            if key is None:
                raise CampaignError(422, "bad-parameter", "the coordinator names ?participant=")
            return {"files": await work(lambda: campaigns.manifest(slug, key, who))}

        return await guarded(go)

    @api.get("/{slug}/file", responses={200: {"content": {"application/octet-stream": {}}}})
    async def file(
        slug: str,
        credentials: Auth,
        case: Annotated[str, Query(max_length=120)],
        participant: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Any:
        """The bytes of a participant's file of a case."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            key = participant or who.participant or ""
            name, content = await work(lambda: campaigns.instance_file(slug, key, case, who))
            return Response(
                content,
                media_type="application/octet-stream",
                headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Case": case},
            )

        return await guarded(go)

    @api.get("/{slug}/expected", responses={200: {"content": JSON_OBJECT}})
    async def expected(
        slug: str,
        credentials: Auth,
        case: Annotated[str, Query(max_length=120)],
        participant: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Any:
        """The reference answers of a file (to a participant once its round is closed)."""

        async def go() -> Any:
            import base64

            who = await viewer(slug, credentials)
            key = participant or who.participant or ""
            found = await work(lambda: campaigns.expected_messages(slug, key, case, who))
            return {
                "messages": [{"name": n, "base64": base64.b64encode(d).decode()} for n, d in found]
            }

        return await guarded(go)

    @api.post(
        "/{slug}/submissions",
        responses={
            200: {"content": JSON_OBJECT},
            408: {"description": "the body stopped arriving", "content": ERROR},
            413: {"description": "over the size limit", "content": ERROR},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
    )
    async def submissions(
        slug: str,
        request: Request,
        credentials: Auth,
        case: Annotated[str | None, Query(max_length=120)] = None,
        name: Annotated[str, Query(max_length=255)] = "upload",
    ) -> Any:
        """A participant's answer: one message or a ZIP of messages, matched by the
        references they repeat (``?case=`` forces the case and is recorded as manual)."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            if who.participant is None:
                raise CampaignError(403, "forbidden", "a participant submits its own answers")
            data = await whole_body(request, limit, pace)
            if data is None:
                raise CampaignError(413, "too-large", f"the body exceeds {limit:,} bytes")
            if not data:
                raise CampaignError(422, "empty", "the body is empty")
            results = await work(
                lambda: campaigns.submit(
                    slug, who.participant or "", name, data, case_key=case, client="http"
                )
            )
            replay = all(r.replay for r in results)
            return JSONResponse(
                {"results": [r.to_json() for r in results]},
                headers={"Idempotent-Replay": "true" if replay else "false"},
            )

        return await guarded(go)

    @api.get(
        "/{slug}/matrix",
        responses={
            200: {
                "content": {
                    **JSON_OBJECT,
                    "text/csv": {},
                    "application/xml": {},
                    "text/html": {},
                    "text/plain": {},
                }
            }
        },
    )
    async def matrix(
        slug: str,
        credentials: Auth,
        round: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
        only: Annotated[list[str] | None, Query(max_length=16)] = None,
        format: Literal["json", "csv", "junit", "html", "text"] = "json",
        lang: Literal["fr", "nl"] = "fr",
    ) -> Any:
        """The matrix, as the viewer may see it (the same bytes as the command line)."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            data = await work(lambda: campaigns.matrix(slug, who, round, list(only or [])))
            if format == "csv":
                return PlainTextResponse(render.to_csv(data), media_type="text/csv")
            if format == "junit":
                return Response(render.junit(data), media_type="application/xml")
            if format == "text":
                return PlainTextResponse(render.text(data))
            if format == "html":
                return Response(html.matrix_page(data, lang), media_type="text/html")
            return data

        return await guarded(go)

    @api.get("/{slug}/cell", responses={200: {"content": JSON_OBJECT}})
    async def cell(
        slug: str,
        credentials: Auth,
        case: Annotated[str, Query(max_length=120)],
        participant: Annotated[str, Query(max_length=64)],
        round: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    ) -> Any:
        """One cell: expected and observed answers, the diff explained, notes, submissions."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            return await work(lambda: campaigns.cell(slug, case, participant, who, round))

        return await guarded(go)

    @api.post("/{slug}/notes", status_code=201, responses={201: {"content": JSON_OBJECT}})
    async def note(slug: str, body: NoteIn, credentials: Auth) -> Any:
        """A comment, dispute or waiver on one's own cell; the coordinator's on any."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            result = await work(
                lambda: campaigns.note(
                    slug, who, body.case, body.participant, body.kind, body.text, body.link
                )
            )
            return JSONResponse(result, status_code=201)

        return await guarded(go)

    @api.get("/{slug}/divergences", responses={200: {"content": JSON_OBJECT}})
    async def divergences(
        slug: str, credentials: Auth, round: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None
    ) -> Any:
        """The cases whose participants disagree, with their class and decision."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            data = await work(lambda: campaigns.matrix(slug, who, round, ["divergent"]))
            return {
                "campaign": data["campaign"],
                "divergences": [{"case": c["key"], **c["divergence"]} for c in data["cases"]],
            }

        return await guarded(go)

    @api.post("/{slug}/decisions", responses={200: {"content": JSON_OBJECT}})
    async def decide(slug: str, body: DecisionIn, credentials: Auth) -> Any:
        """The coordinator's decision on a case's divergence."""

        async def go() -> Any:
            coordinator_only(await viewer(slug, credentials))
            return await work(
                lambda: campaigns.resolve(
                    slug,
                    body.case,
                    status=body.status,
                    cause=body.cause,
                    resolution=body.resolution,
                    round_number=body.round,
                )
            )

        return await guarded(go)

    @api.get("/{slug}/diff", responses={200: {"content": JSON_OBJECT}})
    async def diff(
        slug: str,
        credentials: Auth,
        from_: Annotated[int, Query(alias="from", ge=1, le=MAX_INT)],
        to: Annotated[int, Query(ge=1, le=MAX_INT)],
    ) -> Any:
        """Cells fixed, broken or changed between two rounds."""

        async def go() -> Any:
            who = await viewer(slug, credentials)
            return await work(lambda: campaigns.diff_rounds(slug, from_, to, who))

        return await guarded(go)

    @api.get("/{slug}/events", responses={200: {"content": JSON_OBJECT}})
    async def events(
        slug: str, credentials: Auth, after: Annotated[int, Query(ge=0, le=MAX_INT)] = 0
    ) -> Any:
        """The audit log (coordinator)."""

        async def go() -> Any:
            coordinator_only(await viewer(slug, credentials))
            return {"events": await work(lambda: campaigns.events(slug, after))}

        return await guarded(go)

    return api
