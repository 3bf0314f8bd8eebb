"""Schemathesis against the OpenAPI document: no server error, responses match the schema."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from api.service import create_app
from compiler import load_compiled

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(load_compiled()))


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate()
