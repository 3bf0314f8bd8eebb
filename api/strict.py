"""What the service refuses before any work, with a hint: a form upload (``curl -F``) instead
of the file's raw bytes (415), and a query parameter the route does not take (422: a
misspelt ``?as_of`` or a ``?format=text`` silently ignored would give a report the client did
not ask for)."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

FORM_HINT = (
    "a form upload (multipart/form-data, curl -F) is not read: send the file's raw bytes as "
    "the body, e.g. curl --data-binary @FILE -H 'Content-Type: application/octet-stream' URL"
)

__all__ = ["FORM_HINT", "NoForms", "known_query"]


class NoForms:
    """ASGI middleware: a POST with a multipart body gets 415 at once, its body unread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST":
            for name, value in scope.get("headers", ()):
                if name == b"content-type" and value.lower().startswith(b"multipart/"):
                    body = {"error": {"code": "unsupported-media-type", "message": FORM_HINT}}
                    refusal = JSONResponse(body, status_code=415, headers={"Connection": "close"})
                    await refusal(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def query_names(dependant: Dependant) -> set[str]:
    """The query parameters a route takes, its dependencies' included."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


async def known_query(request: Request) -> None:
    """A dependency of every ``/v1`` route: each query parameter is one the route declares
    (``today`` is left to the routes that answer it with their own message)."""
    if not request.url.path.startswith("/v1/"):
        return
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    declared = query_names(dependant)
    if "as_of" in declared:
        declared.add("today")
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        takes = ", ".join(sorted(declared - {"today"})) or "none"
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown parameter (this route takes: {takes})",
                    "type": "extra_forbidden",
                }
                for name in unknown
            ]
        )
