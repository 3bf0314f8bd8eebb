"""The rulebook AST: frozen dataclasses mirroring what the author wrote.

Input: produced by ``rulebook.to_ast`` from the lark parse tree.
Output: consumed by ``rulebook.check`` and ``compiler.from_ast``.

Every node carries a ``span`` that does not take part in equality, so that two ASTs parsed
from differently formatted sources compare equal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rulebook.spans import Span

_NOWHERE = Span(file="<none>", line=0, column=0, end_line=0, end_column=0)


def _span() -> Span:
    return field(default=_NOWHERE, compare=False, repr=False)


# --------------------------------------------------------------------------- shared pieces


@dataclass(frozen=True, slots=True, kw_only=True)
class Labels:
    """A French and a Dutch label (either may be missing)."""

    fr: str | None = None
    nl: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DateLit:
    """A date (``2015-01-01``) or a month (``2015-01``) as written."""

    value: dt.date
    month_only: bool
    span: Span = _span()

    def first_day(self) -> dt.date:
        return self.value

    def last_day(self) -> dt.date:
        """The last day the literal covers (end of month for a month literal)."""
        if not self.month_only:
            return self.value
        nxt = dt.date(self.value.year + (self.value.month == 12), self.value.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """A validity period: ``from`` and ``until`` are inclusive; None means open."""

    start: DateLit | None = None
    end: DateLit | None = None
    span: Span = _span()


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal:
    """An integer, string, boolean, date or percentage literal."""

    kind: str  # "int" | "str" | "bool" | "date" | "percent"
    value: object
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Name:
    """An unqualified name: a zone of the current record, a parameter, table, date or charmap."""

    name: str
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Ref:
    """A qualified zone reference.

    ``context`` is ``record`` (``ET20.zone``), ``previous`` (``previous.zone``), ``next``,
    ``previous_of`` (``previous ET20.zone``: the last ET20 strictly before) or ``this``.
    """

    context: str
    record: str | None
    zone: str
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordText:
    """``record[a..b]``: the raw characters of the current record at positions a..b."""

    lo: int
    hi: int
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Slice:
    """``expr[a..b]`` or ``expr[a]``: characters of a zone's raw text (1-based, inclusive)."""

    operand: Expr
    lo: int
    hi: int
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary:
    """``-x`` or ``not x``."""

    op: str
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Binary:
    """Arithmetic (``+ - * mod``), comparison (``= != < <= > >=``) or logic (``and or``)."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership:
    """``x in (1, 2)`` / ``x in table`` / ``x not in …``."""

    operand: Expr
    values: tuple[Literal, ...] | None
    table: str | None
    negated: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class IfExpr:
    """``if c then a else b``."""

    cond: Expr
    then: Expr
    other: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """A call to a named check function of the library."""

    func: str
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Aggregate:
    """``sum(ET30, ET50: expr where cond) within invoice`` / ``count(ET20 where …)``."""

    func: str  # "sum" | "count"
    sources: tuple[str, ...]
    value: Expr | None
    where: Expr | None
    scope: str  # "sending" | "invoice"
    span: Span = _span()


Expr = (
    Literal
    | Name
    | Ref
    | RecordText
    | Slice
    | Unary
    | Binary
    | Membership
    | IfExpr
    | Call
    | Aggregate
)


# --------------------------------------------------------------------------- layouts


@dataclass(frozen=True, slots=True, kw_only=True)
class ZoneDecl:
    """One zone of a record or segment layout."""

    zone_id: str  # official number as written: "7", "6b", "8a,8b", "36-41"
    name: str
    type: str  # "N" | "A" | "S" | "D"
    length: int
    start: int  # 1-based
    labels: Labels
    reports: str | None = None  # ``for 501``: this 2-digit zone carries the errors of zone 501
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyDecl:
    """``copy sending_number from ET10.sending_number`` in a block: filled when echoing."""

    zone: str
    record: str
    source: str
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class LayoutDecl:
    """A record (``record ET10``), segment (``segment S200``) or echo block (``block EB``).

    A block is appended to every record an answer message echoes; ``at`` is the position its
    first zone has in the echoed record. ``errors`` names the (letter, code) zone pairs,
    ``roles`` the zones with a meaning for answers (name, index, comment, refusal, percentage).
    """

    kind: str  # "record" | "segment" | "block"
    name: str
    labels: Labels
    length: int
    key: str | None
    zones: tuple[ZoneDecl, ...]
    note: str | None = None
    at: int = 1
    pairs: tuple[tuple[str, str], ...] = ()
    roles: tuple[tuple[str, str], ...] = ()
    copies: tuple[CopyDecl, ...] = ()
    settles: tuple[SettleDecl, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class SettleDecl:
    """``settle asked "A" asked_a``: a zone of a settlement record and the amount it carries
    (``key``: the destination; ``asked`` / ``accepted`` / ``refused``, of one account or, with
    no account, of all)."""

    kind: str
    account: str | None
    zone: str
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionDecl:
    """``question "…" / "…" answer "…" / "…" rules CODE, …``: a question on the instructions,
    answered once for everyone, shown with the rules it is about."""

    labels: Labels
    answer: Labels
    codes: tuple[str, ...]
    note: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class ToleranceDecl:
    """``tolerance "…" / "…" reading "…" / "…" evidence "…" / "…" rules CODE, …
    functions NAME, … parameters NAME, …``: where the rulebook reads the instructions more
    liberally than their words, or chooses where sources disagree, and the evidence for it;
    published with the rules, the rules calling the functions, and the parameters it names."""

    labels: Labels
    reading: Labels
    evidence: Labels
    codes: tuple[str, ...]
    functions: tuple[str, ...]
    params: tuple[str, ...]
    note: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDecl:
    """``account "A" = 0``: an account and the value of the line's account zone that means it."""

    name: str
    value: int
    labels: Labels
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class AmountsDecl:
    """``amounts``: how the report totals asked, accepted and refused amounts per destination.

    ``by``: the zone of the invoice's opening record giving the destination (the mutuality);
    ``lines``: the records that carry amounts, with their amount and account zones.
    """

    labels: Labels
    by_record: str
    by_zone: str
    lines: tuple[str, ...]
    amount: str
    account: str
    accounts: tuple[AccountDecl, ...]
    note: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class StructRef:
    """A record or group in a structure production, with its repetition mark."""

    name: str
    repeat: str  # "" | "?" | "*" | "+"
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class StructAlt:
    """Alternatives ``a | b`` (each a sequence), with a repetition mark on the group."""

    options: tuple[tuple[StructItem, ...], ...]
    repeat: str
    span: Span = _span()


StructItem = StructRef | StructAlt


@dataclass(frozen=True, slots=True, kw_only=True)
class Production:
    """``name = items`` inside a message: the sending or one of its groups."""

    name: str
    items: tuple[StructItem, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageDecl:
    """A message (``message 920000``): its segments, record length and structure."""

    name: str
    labels: Labels
    segments: tuple[str, ...]
    record_length: int
    productions: tuple[Production, ...]
    block: str | None = None
    echo: tuple[EchoDecl, ...] = ()
    answers: AnswersDecl | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class EchoDecl:
    """``echo ET10 ET90 always`` / ``echo invoice with errors``: which records an answer repeats."""

    names: tuple[str, ...]
    always: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswersDecl:
    """What an answer message answers, and when.

    ``kind``: ``answers`` (cases are verdicts, or ``envelope``, each with a refusal type),
    ``acknowledges`` or ``settles``.
    """

    kind: str
    message: str
    cases: tuple[tuple[str, str | None], ...] = ()
    span: Span = _span()


# --------------------------------------------------------------------------- data declarations


@dataclass(frozen=True, slots=True, kw_only=True)
class TableVersion:
    """The values of a table during one period."""

    period: Period
    values: tuple[Literal, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class TableDecl:
    """A code list with dated versions."""

    name: str
    labels: Labels
    versions: tuple[TableVersion, ...]
    note: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamVersion:
    """The value of a parameter during one period."""

    period: Period
    value: Literal
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamDecl:
    """A named parameter (threshold, offset, convention) with dated values."""

    name: str
    labels: Labels
    choices: tuple[Literal, ...] | None
    versions: tuple[ParamVersion, ...]
    note: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class CharmapEntry:
    """``"A".."Z" = 11``: characters lo..hi get values value, value+1, …"""

    lo: str
    hi: str
    value: int
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class CharmapDecl:
    """A character-value table (e.g. for record control digits)."""

    name: str
    labels: Labels
    entries: tuple[CharmapEntry, ...]
    other: int
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class DateDecl:
    """A named reference date; the ``default`` one governs rules that do not say ``by``."""

    name: str
    labels: Labels
    expr: Expr
    default: bool
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeDecl:
    """A code that is not in the official list (envelope codes, reader findings)."""

    code: str
    letter: str
    labels: Labels
    reports: str | None = None
    note: str | None = None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class CodesImport:
    """``codes from "file.json"``: the official error list."""

    path: str
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseDecl:
    """A published version of the rulebook."""

    version: str
    published: DateLit
    applies: DateLit
    labels: Labels
    span: Span = _span()


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """A zone of the n-th record of a type (``ET50#2.amount``), n defaulting to 1."""

    record: str
    occurrence: int
    zone: str | None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class MutationOp:
    """One edit of a mutant: ``set``, ``delete``, ``duplicate`` or ``raw`` (text as is)."""

    op: str
    target: Target
    value: Literal | None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class Mutant:
    """A minimal breakage of the rule on a baseline scenario, and the codes it also triggers."""

    scenario: str | None
    ops: tuple[MutationOp, ...]
    also: tuple[str, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleDecl:
    """One official rule: code, letter, where it applies, when, and what it requires."""

    code: str
    letter: str | None
    record: str
    zone: str
    period: Period
    governed_by: str | None
    per_sending: bool
    labels: Labels
    when: Expr | None
    require: Expr
    fills: Ref | Name | None
    mutants: tuple[Mutant, ...]
    note: str | None
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveZone:
    """``derive ET80.total = expr``: how the generator computes a zone no rule fills."""

    record: str
    zone: str
    expr: Expr
    span: Span = _span()


@dataclass(frozen=True, slots=True, kw_only=True)
class DeriveRecords:
    """``derive ET95 for each ET20.destination as mutuality``: records the generator adds."""

    record: str
    source: str
    source_zone: str
    zone: str
    span: Span = _span()


Item = (
    LayoutDecl
    | MessageDecl
    | AmountsDecl
    | QuestionDecl
    | ToleranceDecl
    | TableDecl
    | ParamDecl
    | CharmapDecl
    | DateDecl
    | CodeDecl
    | CodesImport
    | ReleaseDecl
    | RuleDecl
    | DeriveZone
    | DeriveRecords
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    """The items of one rulebook source file."""

    path: str
    items: tuple[Item, ...]
