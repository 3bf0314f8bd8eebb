"""The words of reports, in French and Dutch: verdicts, headings, counts, amounts in euros
with Belgian formatting, and the details of reader findings. One language per report: the
text report takes every word from here (the JSON keeps its machine values: verdict names,
cents)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "Detail",
    "count",
    "euros",
    "grouped",
    "percent",
    "reader_detail",
    "verdict_words",
    "word",
]


@dataclass(frozen=True, slots=True)
class Detail:
    """What a finding's rule expected and what the file holds, said in both languages;
    ``expected`` and ``found`` are the values themselves where the validator computed them."""

    fr: str
    nl: str
    expected: str | None = None
    found: str | None = None

    def text(self, lang: str) -> str:
        return self.nl if lang == "nl" else self.fr

    def to_json(self) -> dict[str, Any]:
        return {"fr": self.fr, "nl": self.nl, "expected": self.expected, "found": self.found}


VERDICTS: dict[str, dict[str, str]] = {
    "fr": {
        "accepted": "accepté",
        "accepted_with_errors": "accepté avec erreurs",
        "rejected_threshold": "rejeté (seuil d'erreurs dépassé)",
        "rejected_blocking": "rejeté (erreur bloquante)",
        "unreadable": "illisible",
    },
    "nl": {
        "accepted": "aanvaard",
        "accepted_with_errors": "aanvaard met fouten",
        "rejected_threshold": "verworpen (foutendrempel overschreden)",
        "rejected_blocking": "verworpen (blokkerende fout)",
        "unreadable": "onleesbaar",
    },
}

# (singular, plural) nouns and fixed words
WORDS: dict[str, dict[str, Any]] = {
    "fr": {
        "record": ("enregistrement", "enregistrements"),
        "invoice": ("facture", "factures"),
        "file": ("fichier", "fichiers"),
        "finding": ("constat", "constats"),
        "more": ("autre constat", "autres constats"),
        "message": "message",
        "rulebook": "règles",
        "findings": "constats",
        "none": "aucun",
        "error_rate": "taux d'erreur",
        "amounts": "montants : demandé / accepté / refusé",
        "insurer": "OA",
        "account": "compte",
        "invoice_head": "facture",
        "sending": "envoi",
        "segment": "segment",
        "zone": "zone",
        "file_place": "fichier",
        "value": "valeur",
        "unassigned": "sans destination, compte ou montant lisible",
        "not_listed": "non listés (comptés)",
        "not_listed_code": "de plus",
        "sep": " : ",
    },
    "nl": {
        "record": ("record", "records"),
        "invoice": ("factuur", "facturen"),
        "file": ("bestand", "bestanden"),
        "finding": ("vaststelling", "vaststellingen"),
        "more": ("andere vaststelling", "andere vaststellingen"),
        "message": "bericht",
        "rulebook": "regels",
        "findings": "vaststellingen",
        "none": "geen",
        "error_rate": "foutenpercentage",
        "amounts": "bedragen: gevraagd / aanvaard / geweigerd",
        "insurer": "VI",
        "account": "rekening",
        "invoice_head": "factuur",
        "sending": "zending",
        "segment": "segment",
        "zone": "zone",
        "file_place": "bestand",
        "value": "waarde",
        "unassigned": "zonder leesbare bestemming, rekening of bedrag",
        "not_listed": "niet opgesomd (wel geteld)",
        "not_listed_code": "meer",
        "sep": ": ",
    },
}


def word(lang: str, key: str) -> str:
    value = WORDS[lang if lang in WORDS else "fr"][key]
    return value if isinstance(value, str) else value[0]


def verdict_words(verdict: str, lang: str) -> str:
    return VERDICTS[lang if lang in VERDICTS else "fr"].get(verdict, verdict)


def grouped(n: int) -> str:
    """An integer with Belgian thousands separators: 1.234.567."""
    return f"{n:,}".replace(",", ".")


def count(n: int, lang: str, noun: str) -> str:
    one, many = WORDS[lang if lang in WORDS else "fr"][noun]
    return f"{grouped(n)} {one if n == 1 else many}"


def euros(cents: int, lang: str) -> str:
    """An amount in cents as euros, Belgian style: ``-1.234,56 €`` (fr), ``€ -1.234,56`` (nl)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    text = f"{sign}{grouped(whole)},{rest:02d}"
    return f"€ {text}" if lang == "nl" else f"{text} €"


def percent(rate: float, lang: str) -> str:
    """A share as a percentage with a decimal comma: ``33,33 %`` (fr), ``33,33%`` (nl)."""
    text = f"{rate * 100:.2f}".replace(".", ",")
    return f"{text}%" if lang == "nl" else f"{text} %"


# the details of reader findings: (French, Dutch) templates
READER: dict[str, tuple[str, str]] = {
    "looks_like": ("ce fichier ressemble à {fr}", "dit bestand lijkt op {nl}"),
    "name_zone": (
        "les positions {a}-{b} contiennent {found} au lieu du nom du message « {name} »",
        "de posities {a}-{b} bevatten {found} in plaats van de berichtnaam « {name} »",
    ),
    "one_string": (
        "le format {name} est une seule chaîne, sans retours à la ligne",
        "het formaat {name} is één tekenreeks, zonder regeleinden",
    ),
    "header_short": (
        "{n} caractères, les segments en demandent {need}",
        "{n} tekens, de segmenten vragen er {need}",
    ),
    "segment_length": (
        "le segment {seg} a {n} caractères au lieu de {need}",
        "segment {seg} heeft {n} tekens in plaats van {need}",
    ),
    "record_length": (
        "{n} caractères au lieu de {need}",
        "{n} tekens in plaats van {need}",
    ),
    "record_type": ("type d'enregistrement {found}", "recordtype {found}"),
    "byte": (
        "octet 0x{byte:02x} en position {position}",
        "byte 0x{byte:02x} op positie {position}",
    ),
    "overflow": (
        "plus de {max} enregistrements {name} : les règles de fin de fichier n'ont pas été "
        "évaluées sur les suivants",
        "meer dan {max} records {name}: de regels van het einde van het bestand werden niet "
        "geëvalueerd op de volgende",
    ),
    "not_evaluable": (
        "la règle {code} n'a pas pu être évaluée : une valeur dont elle a besoin est illisible "
        "et aucun autre constat ne le signale",
        "regel {code} kon niet worden geëvalueerd: een waarde die ze nodig heeft is onleesbaar "
        "en geen andere vaststelling meldt dat",
    ),
}

# what a file that is not a sending looks like, by its first bytes: (French, Dutch)
KINDS: dict[str, tuple[str, str]] = {
    "zip": (
        "une archive ZIP : validez les fichiers qu'elle contient (HTTP : Content-Type "
        "application/zip)",
        "een ZIP-archief: valideer de bestanden die het bevat (HTTP: Content-Type application/zip)",
    ),
    "gzip": (
        "un fichier compressé gzip : décompressez-le d'abord",
        "een gzip-bestand: pak het eerst uit",
    ),
    "pdf": ("un document PDF", "een PDF-document"),
    "png": ("une image PNG", "een PNG-afbeelding"),
    "jpeg": ("une image JPEG", "een JPEG-afbeelding"),
    "xml": (
        "un document XML (une forme structurée ? rulebook generate écrit le fichier)",
        "een XML-document (een gestructureerde vorm? rulebook generate schrijft het bestand)",
    ),
    "json": (
        "un document JSON (une forme structurée ? rulebook generate écrit le fichier)",
        "een JSON-document (een gestructureerde vorm? rulebook generate schrijft het bestand)",
    ),
    "multipart": (
        "un envoi de formulaire (multipart) : envoyez les octets bruts du fichier "
        "(curl --data-binary @FICHIER)",
        "een formulierverzending (multipart): stuur de ruwe bytes van het bestand "
        "(curl --data-binary @BESTAND)",
    ),
}


def reader_detail(key: str, **args: Any) -> Detail:
    fr, nl = READER[key]
    return Detail(fr=fr.format(**args), nl=nl.format(**args))


def kind_detail(kind: str) -> Detail:
    fr, nl = KINDS[kind]
    return reader_detail("looks_like", fr=fr, nl=nl)
