"""The compiler: a checked rulebook -> ``Compiled`` (what validator, generator and docs run).

Input: ``rulebook.Rulebook`` (parsed sources and the official code list).
Output: ``Compiled``, or ``RulebookError`` carrying every diagnostic when the rulebook has
errors. ``load_compiled`` adds an on-disk cache keyed by the rulebook's content hash.

Pipeline: ``rulebook.load`` (parse + AST checks) -> ``compiler.from_ast`` (lowering: names,
types) -> ``compiler.passes`` (classification, checks) -> ``Compiled``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compiler import cache, ir
from compiler.from_ast import lower
from compiler.passes import run_passes
from rulebook.diagnostics import Diagnostic, RulebookError
from rulebook.load import Rulebook, directory_hash, load, shipped_root


def _code_digest() -> str:
    """A digest of the compiler's own code: a cached rulebook is only reused by the same code."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


CACHE_FORMAT = _code_digest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Compiled:
    """A compiled rulebook."""

    hash: str
    version: str
    message: ir.Message
    layouts: dict[str, ir.Layout]
    messages: dict[str, ir.Message] = field(default_factory=dict, compare=False)
    tables: dict[str, ir.Table]
    params: dict[str, ir.Param]
    charmaps: dict[str, ir.Charmap]
    dates: dict[str, ir.DateDef]
    date_exprs: dict[tuple[str, str], ir.Expr]
    codes: dict[str, ir.CodeInfo]
    rules: tuple[ir.Rule, ...]
    releases: tuple[ir.Release, ...]
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    derivations: tuple[ir.Derivation, ...] = ()
    record_derivations: tuple[ir.RecordDerivation, ...] = ()
    amounts: ir.Amounts | None = None
    questions: tuple[ir.Question, ...] = ()
    tolerances: tuple[ir.Tolerance, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()
    by_record: dict[str, tuple[ir.Rule, ...]] = field(default_factory=dict, compare=False)
    official_codes: frozenset[str] = field(default=frozenset(), compare=False)
    campaign: dict[str, Any] = field(default_factory=dict, compare=False)  # campaign.json

    def __post_init__(self) -> None:
        if not self.by_record:
            grouped: dict[str, list[ir.Rule]] = {}
            for rule in self.rules:
                grouped.setdefault(rule.record, []).append(rule)
            self.by_record.update({k: tuple(v) for k, v in grouped.items()})

    def reader_code(self, condition: str) -> ir.CodeInfo:
        """The code that reports a reader condition; a rulebook written before the condition
        existed (an older release, ``rulebook diff``) gets ``RB:NAME``, letter B (``rulebook
        check`` warns about it)."""
        for info in self.codes.values():
            if info.reports == condition:
                return info
        return ir.CodeInfo(
            code=f"RB:{condition}",
            letter="B",
            fr=f"Problème de lecture du fichier ({condition})",
            nl=f"Leesprobleem in het bestand ({condition})",
            official=False,
            reports=condition,
        )

    def rules_for_code(self, code: str) -> tuple[ir.Rule, ...]:
        return tuple(r for r in self.rules if r.code == code)

    def param_value(self, name: str, date: int) -> object:
        """The value of a parameter in force at ``date`` (YYYYMMDD)."""
        for version in self.params[name].versions:
            if version.start <= date <= version.end:
                return version.value
        return None

    @property
    def default_date(self) -> str:
        return next(d.name for d in self.dates.values() if d.default)


def check_verdict_parameters(
    params: dict[str, ir.Param], amounts: ir.Amounts | None = None
) -> list[Diagnostic]:
    """The verdict (validator.verdict) reads two parameters every rulebook must declare; the
    "amounts" basis needs an ``amounts`` declaration."""
    from rulebook.diagnostics import error

    found: list[Diagnostic] = []
    threshold, basis = params.get("error_rate_threshold"), params.get("error_rate_basis")
    if threshold is None or any(not isinstance(v.value, float) for v in threshold.versions):
        found.append(
            error(
                "verdict-parameter",
                "the verdict needs 'parameter error_rate_threshold' with percentage values",
                threshold.origin if threshold else None,
            )
        )
    allowed = (b"invoices", b"records", b"amounts") if amounts else (b"invoices", b"records")
    if (
        basis is None
        or any(v.value not in allowed for v in basis.versions)
        or (basis.choices is not None and any(c not in allowed for c in basis.choices))
    ):
        found.append(
            error(
                "verdict-parameter",
                "the verdict needs 'parameter error_rate_basis' with values "
                + ", ".join(f'"{a.decode()}"' for a in allowed)
                + ("" if amounts else ' ("amounts" needs an amounts declaration)'),
                basis.origin if basis else None,
            )
        )
    return found


def compile_rulebook(book: Rulebook) -> Compiled:
    """Compile a loaded rulebook; raise ``RulebookError`` if it has errors."""
    diags = list(book.diagnostics)
    lowered = lower(book)  # even with syntax errors elsewhere: report every problem at once
    diags.extend(lowered.diagnostics)
    rules, found = run_passes(lowered.rules, lowered.message)
    diags.extend(found)
    diags.extend(check_verdict_parameters(lowered.params, lowered.amounts))
    if any(d.is_error for d in diags) or lowered.message is None:
        if lowered.message is None and not any(d.is_error for d in diags):
            from rulebook.diagnostics import error

            diags.append(error("unexpected-end", "the rulebook declares no message", None))
        raise RulebookError(diags)
    codes = dict(lowered.codes)
    for rule in rules:
        codes.setdefault(
            rule.code,
            ir.CodeInfo(code=rule.code, letter=rule.letter, fr=rule.fr, nl=rule.nl, official=True),
        )
    releases = tuple(sorted(lowered.releases, key=lambda r: (r.applies, r.version)))
    return Compiled(
        hash=book.hash,
        version=releases[-1].version if releases else "unreleased",
        message=lowered.message,
        messages=lowered.messages,
        layouts=lowered.layouts,
        tables=lowered.tables,
        params=lowered.params,
        charmaps=lowered.charmaps,
        dates=lowered.dates,
        date_exprs=lowered.date_exprs,
        codes=codes,
        rules=tuple(rules),
        releases=releases,
        scenarios=dict(book.scenarios),
        derivations=tuple(lowered.derivations),
        record_derivations=tuple(lowered.record_derivations),
        amounts=lowered.amounts,
        questions=tuple(lowered.questions),
        tolerances=tuple(lowered.tolerances),
        warnings=tuple(d for d in diags if not d.is_error),
        official_codes=frozenset(book.catalogue.entries),
        campaign=dict(book.campaign),
    )


def cache_dir() -> Path:
    env = os.environ.get("RULEBOOK_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rulebook"


def load_compiled(path: Path | str | None = None, *, use_cache: bool = True) -> Compiled:
    """Load and compile a rulebook directory (default: the shipped one), through the cache."""
    root = Path(path) if path is not None else shipped_root()
    content_hash = directory_hash(root) if root.is_dir() else None
    name = None
    if content_hash is not None:
        name = f"{CACHE_FORMAT}-{content_hash.removeprefix('sha256:')}.pickle"
    if use_cache and name is not None:
        cached = cache.fetch(cache_dir(), name)
        if isinstance(cached, Compiled) and cached.hash == content_hash:
            return cached
    book = load(root)
    compiled = compile_rulebook(book)
    if use_cache and name is not None and compiled.hash == content_hash:
        cache.store(cache_dir(), name, compiled)  # an optimisation only: never an error
    return compiled
