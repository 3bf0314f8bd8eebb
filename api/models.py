"""The service's JSON bodies as pydantic models: what the OpenAPI document declares (the
routes write the same JSON themselves, faster, and Schemathesis checks they agree)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AmountsOut",
    "AnswerOut",
    "AnswersOut",
    "DestinationOut",
    "DetailOut",
    "ErrorBody",
    "ErrorResponse",
    "FileInfo",
    "FindingOut",
    "Health",
    "Labels",
    "OmittedOut",
    "ReadErrorOut",
    "ReadMessageOut",
    "ReadOut",
    "ReadRecordOut",
    "ReadSegmentOut",
    "ReleaseOut",
    "RuleOut",
    "RuleSource",
    "RuleVersion",
    "RulebookInfo",
    "RulebookRef",
    "Summary",
    "SumsOut",
    "ValidationReport",
    "ValidationReports",
]


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


class DetailOut(BaseModel):
    fr: str
    nl: str
    expected: str | None = Field(
        description="the value the rule computed for this place (a sum, the previous number "
        "plus one, control digits), where it compares the zone with one"
    )
    found: str | None = Field(description="the value compared, as the rule read it")


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
    detail: DetailOut | None = Field(
        description="why: what the rule expected and what the file holds, in FR and NL"
    )


class Summary(BaseModel):
    by_letter: dict[str, int] = Field(description="findings per letter B, F, R, S, E")
    by_code: dict[str, int] = Field(description="findings per code, every one counted")
    findings_omitted: int = Field(
        description="findings counted but not listed (beyond the server's --max-findings of "
        "their code)"
    )
    error_rate: float = Field(description="share of refused items, per the rulebook's basis")
    invoices: int
    governing_date: str | None = Field(description="the date that chose the rules in force")
    reference_date: str = Field(description="'today' for the rules that use it")


class SumsOut(BaseModel):
    asked: int = Field(description="cents")
    accepted: int = Field(description="cents")
    refused: int = Field(description="cents")


class DestinationOut(BaseModel):
    destination: str = Field(description="the destination zone (mutuality number)")
    accounts: dict[str, SumsOut] = Field(description="per account of the rulebook (A, B)")
    total: SumsOut


class AmountsOut(BaseModel):
    by_destination: list[DestinationOut]
    unassigned_lines: int = Field(
        description="lines whose destination, account or amount cannot be read"
    )


class ValidationReport(BaseModel):
    """The JSON report of design.md §4 (the same as the CLI's ``--format json``)."""

    rulebook: RulebookRef
    file: FileInfo
    verdict: str = Field(
        description="accepted | accepted_with_errors | rejected_blocking | rejected_threshold"
    )
    findings: list[FindingOut]
    amounts: AmountsOut | None = Field(
        description="asked / accepted / refused per destination and account (null: the "
        "rulebook declares no amounts)"
    )
    summary: Summary


class OmittedOut(BaseModel):
    letter: str
    code: str
    record: int | None
    segment: str | None
    reason: str


class AnswerOut(BaseModel):
    message: str = Field(description="message name, e.g. 931000, 920099")
    label: Labels
    content: str = Field(description="the message's characters (the format is ASCII)")
    omitted: list[OmittedOut] = Field(
        description="findings the message has no room for (more than three on a record)"
    )


class AnswersOut(BaseModel):
    verdict: str
    report: ValidationReport
    answers: list[AnswerOut]


class ReadErrorOut(BaseModel):
    letter: str | None
    code: str
    fr: str | None
    nl: str | None


class ReadRecordOut(BaseModel):
    record_type: str
    layout: str
    number: int
    index: int | None
    errors: list[ReadErrorOut]
    values: dict[str, Any] | None = None


class ReadSegmentOut(BaseModel):
    segment: str
    errors: list[ReadErrorOut]


class ReadMessageOut(BaseModel):
    type: str
    file: str
    label: Labels
    refusal_type: str | None
    error_percentage: str | None
    acknowledged: str | None
    segments: list[ReadSegmentOut]
    records: list[ReadRecordOut]


class ReadOut(BaseModel):
    messages: list[ReadMessageOut]


class ReleaseOut(BaseModel):
    version: str
    published: str | None
    applies: str | None


class ValidationReports(BaseModel):
    """The reports of a ZIP's files, in the archive's name order (``name``: the file's name
    in the archive)."""

    files: list[ValidationReport]


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
