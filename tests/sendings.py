"""Test sendings built from the rulebook's scenarios: a scenario repeated to N invoices, with
the mutations of one rule's first mutant."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import io
from typing import Any

from compiler import Compiled, ir
from generator import generate
from generator.mutants import MutantCase, build_case
from validator import validate
from validator.report import Report

TODAY = dt.date(2026, 11, 1)


def sending(compiled: Compiled, invoices: int, scenario: str = "baseline") -> dict[str, Any]:
    """The scenario with its invoices repeated to ``invoices`` invoices (numbers kept unique)."""
    data = copy.deepcopy(compiled.scenarios[scenario])
    base = data["invoice"]
    copies = [copy.deepcopy(base[n % len(base)]) for n in range(invoices)]
    copies.sort(key=lambda inv: int(inv["ET20"].get("destination_mutuality", 0)))  # ascending
    for n, invoice in enumerate(copies):
        invoice["ET20"]["invoice_number"] = n + 1
    data["invoice"] = copies
    return data


def build(compiled: Compiled, invoices: int, code: str | None, scenario: str = "baseline") -> bytes:
    """The file of ``sending`` broken by the first mutant of the rule ``code`` (if any)."""
    mutations: tuple[ir.Mutation, ...] = ()
    if code is not None:
        mutations = compiled.rules_for_code(code)[0].mutants[0].mutations
    return generate(compiled, sending(compiled, invoices, scenario), mutations=mutations)


def check(compiled: Compiled, data: bytes) -> Report:
    return validate(compiled, io.BytesIO(data), today=TODAY)


def with_basis(compiled: Compiled, basis: bytes) -> Compiled:
    """The rulebook with another ``error_rate_basis`` (b"invoices", b"records", b"amounts")."""
    param = compiled.params["error_rate_basis"]
    version = dataclasses.replace(param.versions[0], value=basis)
    params = {
        **compiled.params,
        "error_rate_basis": dataclasses.replace(param, versions=(version,)),
    }
    return dataclasses.replace(compiled, params=params)


_CASES: dict[tuple[str, str, int, int], MutantCase] = {}


def mutant_case(compiled: Compiled, rule: ir.Rule, index: int) -> MutantCase:
    """A rule's mutant, built once per test session (several modules validate them all)."""
    key = (compiled.hash, rule.code, rule.start, index)
    found = _CASES.get(key)
    if found is None:
        found = _CASES[key] = build_case(compiled, rule, index)
    return found
