"""Property: every sending the rulebook's strategies produce is written and accepted as is."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import HealthCheck, given, settings

from compiler import Compiled, load_compiled
from generator import generate
from generator.parse import to_structured
from generator.strategies import free_zones, sendings
from tests.sendings import TODAY
from validator import validate

COMPILED = load_compiled()


@settings(
    max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(sendings(COMPILED))
def test_generated_sendings_are_valid(data: dict[str, Any]) -> None:
    content = generate(COMPILED, data, today=TODAY)
    report = validate(COMPILED, io.BytesIO(content), today=TODAY)
    assert [(f.code, f.record, f.zone) for f in report.findings] == []
    assert report.verdict == "accepted"
    # and the file reads back into a structured form that writes the same bytes
    assert generate(COMPILED, to_structured(COMPILED, content), today=TODAY) == content


def test_free_zones_are_those_no_rule_reads(compiled: Compiled) -> None:
    free = free_zones(compiled)
    assert "establishment_reference" in {z.name for z in free["ET20"]}
    assert "order_number" not in {z.name for z in free["ET20"]}  # sequence rule
    assert "control" not in {z.name for z in free["ET50"]}  # control digits
    assert "insurance_amount" not in {z.name for z in free["ET50"]}  # totals
