"""The compiled rulebook: names resolved, offsets computed, types known, origins kept.

Input: built by ``compiler.from_ast`` from the checked AST, refined by ``compiler.passes``.
Output: consumed by the validator (``validator.plan``), the generator and the documents.

Every rule and expression node keeps an ``origin`` span so a finding can always say which
rule, written where, fired. Dates are stored as ``YYYYMMDD`` integers, the form the validator
compares on.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from rulebook.spans import Span

NOWHERE = Span(file="<compiler>", line=0, column=0, end_line=0, end_column=0)


def _origin() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class Ty:
    """A value type: int (also amounts in cents), date, bool, text of a width, charmap."""

    kind: str
    width: int | None = None

    def __str__(self) -> str:
        return f"text({self.width})" if self.kind == "text" else self.kind


INT = Ty("int")
DATE = Ty("date")
BOOL = Ty("bool")
CHARMAP = Ty("charmap")


def text(width: int) -> Ty:
    return Ty("text", width)


# --------------------------------------------------------------------------- layouts


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """A zone of a layout: the one geometry both the validator and the generator use."""

    layout: str
    zone_id: str
    name: str
    kind: str  # "N" numeric, "A" alphanumeric, "S" signed amount, "D" date
    offset: int  # 0-based
    length: int
    fr: str
    nl: str
    reports: str | None = None  # this 2-digit error zone carries the errors of that zone id
    origin: Span = _origin()

    @property
    def end(self) -> int:
        return self.offset + self.length

    @property
    def start1(self) -> int:
        """1-based first position, as the instructions print it."""
        return self.offset + 1

    @property
    def value_type(self) -> Ty:
        if self.kind == "A":
            return text(self.length)
        if self.kind == "D":
            return DATE
        return INT

    def blank(self) -> bytes:
        """The content of an empty zone: zeros for numbers, blanks for text, +0… for amounts."""
        if self.kind == "A":
            return b" " * self.length
        if self.kind == "S":
            return b"+" + b"0" * (self.length - 1)
        return b"0" * self.length


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    """A zone of an echo block filled with a zone of the answered file (``copy … from …``)."""

    zone: Zone
    record: str
    source: Zone
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Settle:
    """A settlement zone: ``key`` (the destination) or an amount asked / accepted / refused, of
    one account (``account``) or of all accounts (``account`` None)."""

    kind: str
    account: str | None
    zone: Zone


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """A fixed-length record, segment or echo block (zone offsets are 0-based from ``at``)."""

    kind: str  # "record" | "segment" | "block"
    name: str
    key: str | None
    length: int
    zones: tuple[Zone, ...]
    fr: str
    nl: str
    note: str | None = None
    at: int = 1
    pairs: tuple[tuple[Zone, Zone], ...] = ()  # (letter, code) zones of an echo block
    roles: tuple[tuple[str, Zone], ...] = ()  # name / index / comment / refusal / percentage
    copies: tuple[Copy, ...] = ()
    settles: tuple[Settle, ...] = ()  # zones of a settlement record (920900 ET91 / ET92)
    origin: Span = _origin()
    by_name: dict[str, Zone] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.by_name:
            self.by_name.update({z.name: z for z in self.zones})

    def role(self, role: str) -> Zone | None:
        return next((zone for name, zone in self.roles if name == role), None)

    def error_zone(self, zone_id: str) -> Zone | None:
        """The 2-digit zone declared ``for`` ``zone_id`` (its envelope error code)."""
        return next((zone for zone in self.zones if zone.reports == zone_id), None)

    @property
    def digits(self) -> str:
        """'ET20' -> '20', 'S300' -> '300' (one string shared by all who ask: every finding
        on a record holds it)."""
        return sys.intern(self.name.removeprefix("ET").removeprefix("S"))


# --------------------------------------------------------------------------- structure


@dataclass(frozen=True, slots=True, kw_only=True)
class SRef:
    """A record or group in a structure production."""

    name: str
    repeat: str
    is_group: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SAlt:
    """Alternative sequences in a structure production."""

    options: tuple[tuple[SItem, ...], ...]
    repeat: str


SItem = SRef | SAlt


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A group of consecutive records (e.g. an invoice) that aggregates can be scoped to."""

    name: str
    opener: str | None  # record that starts each occurrence (ET20)
    closer: str | None  # record that ends it (ET80)
    members: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A message: its segments, record length and structure."""

    name: str
    fr: str
    nl: str
    segments: tuple[str, ...]
    record_length: int
    key_length: int
    productions: dict[str, tuple[SItem, ...]] = field(compare=False)
    root: str
    order: dict[str, int] = field(compare=False)  # record -> position in the structure
    singletons: frozenset[str]
    groups: dict[str, Group] = field(compare=False)
    block: str | None = None  # echo block appended to each echoed record
    echo: tuple[Echo, ...] = ()
    answers: Answers | None = None
    origin: Span = _origin()

    @property
    def records(self) -> tuple[str, ...]:
        return tuple(sorted(self.order, key=self.order.__getitem__))


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo:
    """Records (or groups) of the answered file an answer repeats: always, or when in error."""

    names: tuple[str, ...]
    always: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Answers:
    """``answers 920000 rejected_blocking refusal 01, …`` / ``acknowledges`` / ``settles``."""

    kind: str  # "answers" | "acknowledges" | "settles"
    message: str
    cases: tuple[tuple[str, str | None], ...] = ()  # (verdict or "envelope", refusal type)


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """A question on the instructions and its answer, attached to rules by code."""

    fr: str
    nl: str
    answer_fr: str
    answer_nl: str
    codes: tuple[str, ...]
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Tolerance:
    """A reading of the instructions more liberal than their words, or a choice where sources
    disagree, with its evidence; attached to rules by code, by the functions they call, and to
    parameters."""

    fr: str
    nl: str
    reading_fr: str
    reading_nl: str
    evidence_fr: str
    evidence_nl: str
    codes: tuple[str, ...]
    functions: tuple[str, ...]
    params: tuple[str, ...]
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """A financial account and the value of a line's account zone that designates it."""

    name: str
    value: int
    fr: str
    nl: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Amounts:
    """How amounts are totalled per destination: the destination zone of the group's opening
    record (``key``), the line records with their amount and account zones, the accounts."""

    group: str
    key: Zone
    lines: tuple[str, ...]
    amount: dict[str, Zone] = field(compare=False)
    account: dict[str, Zone] = field(compare=False)
    accounts: tuple[Account, ...]
    fr: str
    nl: str
    origin: Span = _origin()


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    """A value (or a set of values) valid from ``start`` to ``end`` (YYYYMMDD, inclusive)."""

    start: int
    end: int
    value: object


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A code list; each version's value is a frozenset of ints or bytes."""

    name: str
    fr: str
    nl: str
    ty: Ty
    versions: tuple[Version, ...]
    note: str | None = None
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    """A parameter with dated values (int, bytes, bool or a percentage as float)."""

    name: str
    fr: str
    nl: str
    ty: Ty
    choices: tuple[object, ...] | None
    versions: tuple[Version, ...]
    note: str | None = None
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Charmap:
    """A 256-entry character value table."""

    name: str
    fr: str
    nl: str
    values: tuple[int, ...]
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeInfo:
    """A code with its letter and labels (official, or declared in the rulebook)."""

    code: str
    letter: str
    fr: str
    nl: str
    official: bool
    reports: str | None = None
    note: str | None = None
    source: str | None = None  # where a code is declared with 'code' (reader codes' "rule")
    line: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Release:
    """A published version of the rulebook."""

    version: str
    published: int
    applies: int
    fr: str | None
    nl: str | None


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True, kw_only=True)
class Const:
    """A constant: int, date (YYYYMMDD int), bool, or text as bytes."""

    value: int | bool | bytes
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Today:
    """The reference date of the validation ("today")."""

    ty: Ty = DATE
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamRef:
    """The value of a parameter at the rule's governing date."""

    name: str
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class DateRef:
    """A named reference date (e.g. the invoiced period) evaluated on the rule's record."""

    name: str
    ty: Ty = DATE
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class CharmapRef:
    """A character map, as the argument of ``charsum``."""

    name: str
    ty: Ty = CHARMAP
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneRef:
    """A zone read from some record.

    ``access``: ``self`` (the rule's record), ``previous`` / ``next`` (the adjacent record),
    ``anchor`` (the last record of that type at or before this one), ``prior`` (strictly
    before), ``final`` (the last of that type in the file; evaluated at end of file),
    ``segment`` (a segment of the message).
    ``raw``: the zone's characters (text) instead of its value.
    """

    access: str
    record: str | None
    zone: Zone
    raw: bool
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordKey:
    """The record type of the previous/next record: an int; -1 when there is none."""

    access: str
    ty: Ty = INT
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordText:
    """Characters ``offset .. offset+length`` of the rule's own record."""

    offset: int
    length: int
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Slice:
    """Characters of a raw text (0-based offset within it)."""

    operand: Expr
    offset: int
    length: int
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary:
    """``-x`` (int) or ``not x`` (bool)."""

    op: str
    operand: Expr
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Arith:
    """``+ - * mod`` on ints."""

    op: str
    left: Expr
    right: Expr
    ty: Ty = INT
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    """A comparison of ints or dates (values), or ``=``/``!=`` of texts or bools."""

    op: str
    left: Expr
    right: Expr
    ty: Ty = BOOL
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Logic:
    """``and`` / ``or`` with three-valued (Kleene) semantics."""

    op: str
    left: Expr
    right: Expr
    ty: Ty = BOOL
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class If:
    """``if c then a else b``."""

    cond: Expr
    then: Expr
    other: Expr
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class InSet:
    """Membership in literal values (ints or bytes of the operand's width)."""

    operand: Expr
    values: tuple[int | bytes, ...]
    negated: bool
    ty: Ty = BOOL
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class InTable:
    """Membership in a table, in the version valid at the governing date."""

    operand: Expr
    table: str
    negated: bool
    ty: Ty = BOOL
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """A call to a function of the check library (``compiler.library``)."""

    func: str
    args: tuple[Expr, ...]
    ty: Ty
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class AggPart:
    """What one source record type contributes to an aggregate."""

    record: str
    value: Expr | None  # None for count
    where: Expr | None
    key: Expr | None  # the contributor's side of 'key = this.key'


@dataclass(frozen=True, slots=True, kw_only=True)
class Aggregate:
    """A sum or count over the records of a scope (the sending or a group)."""

    func: str
    parts: tuple[AggPart, ...]
    scope: str  # "sending" or a group name
    this_key: Expr | None  # the rule record's side of 'key = this.key'
    ty: Ty = INT
    origin: Span = _origin()


Expr = (
    Const
    | Today
    | ParamRef
    | DateRef
    | CharmapRef
    | ZoneRef
    | RecordKey
    | RecordText
    | Slice
    | Unary
    | Arith
    | Compare
    | Logic
    | If
    | InSet
    | InTable
    | Call
    | Aggregate
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DateDef:
    """A named reference date and how to compute it."""

    name: str
    fr: str
    nl: str
    expr: Expr
    default: bool
    origin: Span = _origin()


# --------------------------------------------------------------------------- derivations


@dataclass(frozen=True, slots=True, kw_only=True)
class Derivation:
    """How the generator computes a zone that no rule's ``fills`` covers."""

    record: str
    zone: Zone
    expr: Expr
    origin: Span = _origin()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordDerivation:
    """Records the generator adds: one ``record`` per distinct ``source.source_zone``."""

    record: str
    source: str
    source_zone: Zone
    zone: Zone
    origin: Span = _origin()


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Mutation:
    """One edit of a mutant (see ``syntax.MutationOp``), with the zone resolved."""

    op: str
    record: str
    occurrence: int
    zone: Zone | None
    value: int | bool | str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Mutant:
    """A minimal breakage of a rule and the codes it necessarily triggers too."""

    scenario: str | None
    mutations: tuple[Mutation, ...]
    also: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One compiled rule.

    ``mode``: ``stream`` (evaluated record by record as the file streams), ``opener``
    (evaluated on a group's first record once the group is complete, e.g. ET20 rules about
    the whole invoice), ``final`` (evaluated at end of file: segments, forward references,
    per-sending rules). ``phase`` 1 rules read only their own record's characters and are
    evaluated first; their findings explain why later rules could not be evaluated.
    """

    code: str
    letter: str
    record: str
    zone: Zone
    zone_label: str  # the zone as the rule names it ("8", "6b", "36-41"), as reports show it
    start: int
    end: int
    governed_by: str
    per_sending: bool
    fr: str
    nl: str
    when: Expr | None
    require: Expr
    fills: ZoneRef | None
    mutants: tuple[Mutant, ...]
    note: str | None
    source: str
    line: int
    mode: str = "stream"
    phase: int = 2
    origin: Span = _origin()

    @property
    def key(self) -> str:
        """A unique id (the same code can have several dated versions)."""
        return f"{self.code}@{self.start}"


FIRST_DATE, LAST_DATE = 10101, 99991231  # the open ends of a period (YYYYMMDD)


def iso_day(value: int) -> str | None:
    """A ``yyyymmdd`` date of the IR as ISO text; the open ends of a period are ``None``."""
    if value <= FIRST_DATE or value >= LAST_DATE:
        return None
    return f"{value // 10000:04d}-{value // 100 % 100:02d}-{value % 100:02d}"
