"""Why a finding: what its rule expected and what the file holds, in the rule's terms, in
French and Dutch (``validator.words.Detail``).

A rule ``require LEFT op RIGHT`` is explained with both sides computed on the record of the
finding (the sum the total should equal, the previous number plus one, the control digits),
RIGHT also said in words; a table or a list of values with the values allowed; any other
rule with its condition in words. The words are made once per rule, the values only for the
findings listed in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compiler import Compiled, ir
from compiler.words import WORDS, Words
from validator.evaluate import ExprCompiler
from validator.scope import Fn, Scope
from validator.values import Val
from validator.words import Detail

__all__ = ["Computed", "Explainer", "Sides", "side_values"]

SAID = {
    "fr": {
        "expected": "attendu : {x}",
        "found": " ; trouvé : {x}",
        "allowed": "valeurs admises ({t}) : {v}",
        "table": "table « {t} »",
        "list": "liste de la règle",
        "since": "depuis le {d}",
        "blank": "(blancs)",
        "unknown": "(illisible)",
    },
    "nl": {
        "expected": "verwacht: {x}",
        "found": "; gevonden: {x}",
        "allowed": "toegelaten waarden ({t}): {v}",
        "table": "tabel « {t} »",
        "list": "lijst van de regel",
        "since": "vanaf {d}",
        "blank": "(blanco)",
        "unknown": "(onleesbaar)",
    },
}
LANGS = ("fr", "nl")


@dataclass(frozen=True, slots=True)
class Sides:
    """A comparison's two sides, compiled like the rule (so aggregates are the rule's)."""

    left: Fn
    right: Fn
    op: str
    left_ty: ir.Ty
    right_ty: ir.Ty


def unwrapped(text: str) -> str:
    """Words without the parentheses around the whole (an arithmetic side has some)."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0 and i < len(text) - 1:
            return text  # "(a) plus (b)": the first pair closes before the end
    return text[1:-1]


def at(a: np.ndarray, k: int, n: int, ndim: int) -> np.ndarray:
    """Row ``k`` of values given for ``n`` rows, or for all of them at once."""
    if a.ndim > ndim and a.shape[0] == n:
        return a[k]  # type: ignore[no-any-return]
    if a.ndim > ndim:
        return a[0]  # type: ignore[no-any-return]
    return a


def raw_value(v: Val, k: int, ty: ir.Ty, n: int) -> str | None:
    """The value of row ``k`` (of ``n`` rows) as text (a date in ISO form), None if unknown."""
    if v.unknown is not None and bool(at(np.asarray(v.unknown), k, n, 0)):
        return None
    data = np.asarray(v.data)
    if ty.kind not in ("int", "date", "bool"):  # text: a row of bytes, or one for all
        return bytes(at(data, k, n, 1).astype(np.uint8)).decode("latin-1")
    item = at(data, k, n, 0).item()
    if ty.kind == "bool":
        return "true" if item else "false"
    if ty.kind == "date":
        return ir.iso_day(int(item)) or str(item)
    return str(int(item))


def shown(raw: str | None, ty: ir.Ty, lang: str) -> str:
    """A value as a person reads it, in ``lang``."""
    if raw is None:
        return SAID[lang]["unknown"]
    if ty.kind == "bool":
        return WORDS[lang]["true" if raw == "true" else "false"]
    if ty.kind not in ("int", "date"):
        return f"« {raw} »" if raw.strip() else SAID[lang]["blank"]
    return raw


Computed = tuple[Val, Val, Sides, int, int]  # both sides' values, the sides, row, rows


@dataclass
class Explainer:
    """The explanations of one rulebook's findings."""

    compiled: Compiled
    words: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    allowed_words: dict[tuple[str, str], str | None] = field(default_factory=dict)
    compared: dict[str, Sides | None] = field(default_factory=dict)

    def sides(self, rule: ir.Rule) -> Sides | None:
        """A comparison rule's two sides, compiled the first time one of its findings is
        listed (not when the plan is built): the aggregates they read are the rule's own
        (an aggregate's runtime is found by its IR node)."""
        if rule.key not in self.compared:
            e = rule.require
            found = None
            if isinstance(e, ir.Compare):
                comp = ExprCompiler(self.compiled, rule.governed_by)
                found = Sides(comp(e.left), comp(e.right), e.op, e.left.ty, e.right.ty)
            self.compared[rule.key] = found
        return self.compared[rule.key]

    def said(self, rule: ir.Rule) -> tuple[str, str, str, str]:
        """(require fr, require nl, right side fr, right side nl) in words, made once."""
        found = self.words.get(rule.key)
        if found is None:
            fr = Words(self.compiled, "fr", rule.record)
            nl = Words(self.compiled, "nl", rule.record)
            e = rule.require
            right = e.right if isinstance(e, ir.Compare) else e
            found = (fr(e), nl(e), unwrapped(fr(right)), unwrapped(nl(right)))
            self.words[rule.key] = found
        return found

    def allowed(self, rule: ir.Rule, lang: str) -> str | None:
        """The values a table or list rule allows, in the version of the rule's period (made
        once per rule and language)."""
        key = (rule.key, lang)
        if key not in self.allowed_words:
            self.allowed_words[key] = self._allowed(rule, lang)
        return self.allowed_words[key]

    def _allowed(self, rule: ir.Rule, lang: str) -> str | None:
        e = rule.require
        if isinstance(e, ir.InSet) and not e.negated:
            listed = [Words(self.compiled, lang, rule.record).const(v) for v in e.values]
            return SAID[lang]["allowed"].format(t=SAID[lang]["list"], v=", ".join(listed))
        if not isinstance(e, ir.InTable) or e.negated:
            return None
        table = self.compiled.tables.get(e.table)
        if table is None:
            return None
        versions = [v for v in table.versions if v.start <= rule.end and v.end >= rule.start]
        if not versions:
            return None
        version = versions[-1]
        words = Words(self.compiled, lang, rule.record)
        members: list[object] = sorted(version.value)  # type: ignore[call-overload]
        values = ", ".join(words.const(v) for v in members)
        name = SAID[lang]["table"].format(t=table.nl if lang == "nl" else table.fr)
        since = ir.iso_day(version.start)
        if len(table.versions) > 1 and since:
            name += ", " + SAID[lang]["since"].format(d=since)
        return SAID[lang]["allowed"].format(t=name, v=values)

    def detail(
        self,
        rule: ir.Rule,
        value: str | None,
        computed: Computed | None,
    ) -> Detail:
        """A finding's detail; ``computed``: the two sides' values on its scope, the sides,
        the row and the scope's size."""
        texts: dict[str, str] = {}
        expected = found = None
        if computed is not None:
            left, right, sides, k, n = computed
            expected = raw_value(right, k, sides.right_ty, n)
            found = raw_value(left, k, sides.left_ty, n)
        words = self.said(rule)
        for i, lang in enumerate(LANGS):
            said = SAID[lang]
            allowed = self.allowed(rule, lang)
            if computed is not None:
                sides = computed[2]
                rv = shown(expected, sides.right_ty, lang)
                lv = shown(found, sides.left_ty, lang)
                op = "" if sides.op == "=" else WORDS[lang][sides.op] + " "
                text = said["expected"].format(x=f"{op}{rv} ({words[2 + i]})")
                text += said["found"].format(x=lv)
            elif allowed is not None:
                text = allowed
                if value is not None:
                    text += said["found"].format(x=f"« {value} »")
            else:
                text = said["expected"].format(x=words[i])
                if value is not None:
                    text += said["found"].format(x=f"« {value} »")
            texts[lang] = text
        return Detail(fr=texts["fr"], nl=texts["nl"], expected=expected, found=found)


def side_values(sides: Sides, scope: Scope) -> tuple[Val, Val]:
    return sides.left(scope), sides.right(scope)
