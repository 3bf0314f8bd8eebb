"""A rule's condition in words, in French or Dutch, from its compiled expression.

Input: the compiled rulebook and an IR expression (``when`` or ``require`` of a rule).
Used by the published instructions, ``rulebook explain``, ``rulebook diff`` and the
explanations of findings.
Output: a sentence fragment naming zones by their labels and official numbers, tables and
parameters by their labels, library functions by their descriptions (``compiler.library``).
"""

from __future__ import annotations

from compiler import Compiled, ir
from compiler.library import FUNCTIONS

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "=": "est égal à",
        "!=": "est différent de",
        "<": "est inférieur à",
        "<=": "est inférieur ou égal à",
        ">": "est supérieur à",
        ">=": "est supérieur ou égal à",
        "and": "et",
        "or": "ou",
        "not": "il n'est pas vrai que",
        "+": "plus",
        "-": "moins",
        "*": "fois",
        "div": "divisé (quotient entier) par",
        "mod": "modulo",
        "if": "si {c} alors {t}, sinon {o}",
        "in": "{x} est l'une des valeurs {v}",
        "not-in": "{x} n'est aucune des valeurs {v}",
        "in-table": "{x} figure dans la table « {t} »",
        "not-in-table": "{x} ne figure pas dans la table « {t} »",
        "param": "le paramètre « {p} »",
        "date": "la date « {d} »",
        "today": "la date du jour",
        "zone": "« {label} » (zone {id})",
        "of-record": "{zone} de l'ET {rec}",
        "of-previous": "{zone} de l'enregistrement précédent",
        "of-next": "{zone} de l'enregistrement suivant",
        "of-segment": "{zone} du segment {rec}",
        "of-last": "{zone} du dernier ET {rec} de l'envoi",
        "type-previous": "le type de l'enregistrement précédent",
        "type-next": "le type de l'enregistrement suivant",
        "record": "les positions {a} à {b} de l'enregistrement",
        "slice": "les positions {a} à {b} de {x}",
        "sum": "la somme de {v} des {recs}{w}{s}",
        "count": "le nombre d'enregistrements {recs}{w}{s}",
        "where": " pour lesquels {c}",
        "in-invoice": " de la facture",
        "in-sending": " de l'envoi",
        "in-group": " du groupe « {g} »",
        "this": "{zone} de cet enregistrement",
        "value": "{f} de {args}",
        "predicate": "{x} {f}",
        "true": "vrai",
        "false": "faux",
        "text": "« {t} »",
        "blank-text": "« » (blancs)",
    },
    "nl": {
        "=": "is gelijk aan",
        "!=": "verschilt van",
        "<": "is kleiner dan",
        "<=": "is kleiner dan of gelijk aan",
        ">": "is groter dan",
        ">=": "is groter dan of gelijk aan",
        "and": "en",
        "or": "of",
        "not": "het is niet zo dat",
        "+": "plus",
        "-": "min",
        "*": "maal",
        "div": "gedeeld (geheel quotiënt) door",
        "mod": "modulo",
        "if": "als {c} dan {t}, anders {o}",
        "in": "{x} is een van de waarden {v}",
        "not-in": "{x} is geen van de waarden {v}",
        "in-table": "{x} staat in de tabel « {t} »",
        "not-in-table": "{x} staat niet in de tabel « {t} »",
        "param": "de parameter « {p} »",
        "date": "de datum « {d} »",
        "today": "de datum van vandaag",
        "zone": "« {label} » (zone {id})",
        "of-record": "{zone} van R {rec}",
        "of-previous": "{zone} van het vorige record",
        "of-next": "{zone} van het volgende record",
        "of-segment": "{zone} van segment {rec}",
        "of-last": "{zone} van het laatste R {rec} van de zending",
        "type-previous": "het type van het vorige record",
        "type-next": "het type van het volgende record",
        "record": "de posities {a} tot {b} van het record",
        "slice": "de posities {a} tot {b} van {x}",
        "sum": "de som van {v} van de records {recs}{w}{s}",
        "count": "het aantal records {recs}{w}{s}",
        "where": " waarvoor {c}",
        "in-invoice": " van de factuur",
        "in-sending": " van de zending",
        "in-group": " van de groep « {g} »",
        "this": "{zone} van dit record",
        "value": "{f} van {args}",
        "predicate": "{x} {f}",
        "true": "waar",
        "false": "onwaar",
        "text": "« {t} »",
        "blank-text": "« » (blanco)",
    },
}


def decapitalised(label: str) -> str:
    """A label inside a sentence: its first letter in lower case, the rest as written (an
    acronym, "INAMI", "NISS", or a letter naming an account, "compte A", keeps its case)."""
    if len(label) > 1 and label[1].isupper():
        return label
    return label[:1].lower() + label[1:]


class Words:
    """Renders expressions of one rule (``record``: the rule's record) in one language."""

    def __init__(self, compiled: Compiled, lang: str, record: str) -> None:
        self.c = compiled
        self.lang = lang
        self.w = WORDS[lang]
        self.record = record

    def __call__(self, e: ir.Expr) -> str:
        return self.expr(e, top=True)

    def expr(self, e: ir.Expr, top: bool = False) -> str:
        w = self.w
        if isinstance(e, ir.Const):
            return self.const(e.value)
        if isinstance(e, ir.Today):
            return w["today"]
        if isinstance(e, ir.ParamRef):
            p = self.c.params.get(e.name)
            return w["param"].format(p=self.label(p.fr, p.nl) if p else e.name)
        if isinstance(e, ir.DateRef):
            d = self.c.dates.get(e.name)
            return w["date"].format(d=self.label(d.fr, d.nl) if d else e.name)
        if isinstance(e, ir.CharmapRef):
            m = self.c.charmaps.get(e.name)
            return f"« {self.label(m.fr, m.nl) if m else e.name} »"
        if isinstance(e, ir.ZoneRef):
            return self.zone(e)
        if isinstance(e, ir.RecordKey):
            return w["type-previous"] if e.access == "previous" else w["type-next"]
        if isinstance(e, ir.RecordText):
            return w["record"].format(a=e.offset + 1, b=e.offset + e.length)
        if isinstance(e, ir.Slice):
            return w["slice"].format(a=e.offset + 1, b=e.offset + e.length, x=self.expr(e.operand))
        if isinstance(e, ir.Unary):
            if e.op == "not":
                return f"{w['not']} ({self.expr(e.operand)})"
            return f"−{self.expr(e.operand)}"
        if isinstance(e, ir.Compare):
            return f"{self.expr(e.left)} {w[e.op]} {self.expr(e.right)}"
        if isinstance(e, ir.Logic):
            text = f"{self.expr(e.left)} {w[e.op]} {self.expr(e.right)}"
            return text if top else f"({text})"
        if isinstance(e, ir.Arith):
            return f"({self.expr(e.left)} {w[e.op]} {self.expr(e.right)})"
        if isinstance(e, ir.If):
            return w["if"].format(c=self.expr(e.cond), t=self.expr(e.then), o=self.expr(e.other))
        if isinstance(e, ir.InSet):
            values = ", ".join(self.const(v) for v in e.values)
            return w["not-in" if e.negated else "in"].format(x=self.expr(e.operand), v=values)
        if isinstance(e, ir.InTable):
            t = self.c.tables.get(e.table)
            name = self.label(t.fr, t.nl) if t else e.table
            key = "not-in-table" if e.negated else "in-table"
            return w[key].format(x=self.expr(e.operand), t=name)
        if isinstance(e, ir.Call):
            return self.call(e)
        assert isinstance(e, ir.Aggregate)
        return self.aggregate(e)

    def label(self, fr: str | None, nl: str | None) -> str:
        return (nl if self.lang == "nl" else fr) or ""

    def const(self, value: object) -> str:
        if isinstance(value, bool):
            return self.w["true" if value else "false"]
        if isinstance(value, bytes):
            text = value.decode("latin-1")
            return self.w["text"].format(t=text) if text.strip() else self.w["blank-text"]
        return str(value)

    def zone(self, e: ir.ZoneRef) -> str:
        z = e.zone
        own = self.w["zone"].format(label=decapitalised(self.label(z.fr, z.nl)), id=z.zone_id)
        rec = z.layout.removeprefix("ET").removeprefix("S")
        if e.access == "segment":
            return self.w["of-segment"].format(zone=own, rec=rec)
        if e.access == "previous":
            return self.w["of-previous"].format(zone=own)
        if e.access == "next":
            return self.w["of-next"].format(zone=own)
        if e.access == "final":
            return self.w["of-last"].format(zone=own, rec=rec)
        if e.access == "self" and z.layout == self.record:
            return own
        if e.access == "self":
            return self.w["this"].format(zone=own)
        return self.w["of-record"].format(zone=own, rec=rec)

    def call(self, e: ir.Call) -> str:
        sig = FUNCTIONS.get(e.func)
        desc = (sig.nl if self.lang == "nl" else sig.fr) if sig else e.func
        args = [self.expr(a) for a in e.args]
        if sig is not None and sig.result == ir.BOOL and args:
            extra = f" ({', '.join(args[1:])})" if len(args) > 1 else ""
            return self.w["predicate"].format(x=args[0], f=desc) + extra
        return self.w["value"].format(f=desc, args="(" + ", ".join(args) + ")")

    def aggregate(self, e: ir.Aggregate) -> str:
        recs = ", ".join(
            ("ET " if self.lang == "fr" else "R ") + p.record.removeprefix("ET") for p in e.parts
        )
        # the parts' zones are those of the records summed, named without "of this record"
        part = Words(self.c, self.lang, e.parts[0].record) if e.parts else self
        conditions = [part.expr(p.where) for p in e.parts[:1] if p.where is not None]
        keys = [p.key for p in e.parts if p.key is not None]
        if keys and e.this_key is not None:
            conditions.append(f"{part.expr(keys[0])} {self.w['=']} {self.expr(e.this_key)}")
        joiner = f" {self.w['and']} "
        where = self.w["where"].format(c=joiner.join(conditions)) if conditions else ""
        if e.scope == "invoice":
            scope = self.w["in-invoice"]
        elif e.scope == "sending":
            scope = self.w["in-sending"]
        else:
            scope = self.w["in-group"].format(g=e.scope)
        if e.func == "count":
            return self.w["count"].format(recs=recs, w=where, s=scope)
        values = [p.value for p in e.parts if p.value is not None]
        value = part.expr(values[0]) if values else "?"
        return self.w["sum"].format(v=value, recs=recs, w=where, s=scope)
