"""The named check functions a rule may call: their signatures and descriptions.

Input: none (a fixed table).
Output: ``FUNCTIONS``: for each name, the kinds of its arguments, its result type and a short
French and Dutch description (used by the type checker and by the published instructions).
The vectorised implementations live in ``validator.functions``; a test keeps both tables in
step.

Argument kinds: ``raw`` (the characters of a zone, a slice or ``record[a..b]``), ``int``,
``date``, ``charmap``.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.ir import BOOL, DATE, INT, Ty


@dataclass(frozen=True, slots=True, kw_only=True)
class Signature:
    """Argument kinds, result type and FR/NL description of a library function."""

    params: tuple[str, ...]
    result: Ty
    fr: str
    nl: str


FUNCTIONS: dict[str, Signature] = {
    "numeric": Signature(
        params=("raw",),
        result=BOOL,
        fr="ne contient que des chiffres",
        nl="bevat enkel cijfers",
    ),
    "blank": Signature(
        params=("raw",), result=BOOL, fr="est entièrement à blanc", nl="is volledig blanco"
    ),
    "zero": Signature(
        params=("raw",), result=BOOL, fr="ne contient que des zéros", nl="bevat enkel nullen"
    ),
    "empty": Signature(
        params=("raw",),
        result=BOOL,
        fr="est vide (ne contient que des zéros et des blancs)",
        nl="is leeg (bevat enkel nullen en spaties)",
    ),
    "present": Signature(
        params=("raw",),
        result=BOOL,
        fr="est rempli (ni uniquement des zéros, ni uniquement des blancs)",
        nl="is ingevuld (niet enkel nullen, niet enkel blanco)",
    ),
    "is_date": Signature(
        params=("raw",),
        result=BOOL,
        fr="est une date valide AAAAMMJJ",
        nl="is een geldige datum JJJJMMDD",
    ),
    "is_time": Signature(
        params=("raw",),
        result=BOOL,
        fr="est une heure valide HHMM",
        nl="is een geldig uur UUMM",
    ),
    "niss_ok": Signature(
        params=("raw",),
        result=BOOL,
        fr="est un NISS (ou numéro BIS) dont le check-digit est correct, y compris la règle "
        "des naissances à partir de 2000",
        nl="is een INSZ (of BIS-nummer) met een juist controlecijfer, ook volgens de regel "
        "voor geboorten vanaf 2000",
    ),
    "nihii_ok": Signature(
        params=("raw",),
        result=BOOL,
        fr="est un numéro INAMI dont le check-digit est correct (97 − base modulo 97)",
        nl="is een RIZIV-nummer met een juist controlecijfer (97 − basis modulo 97)",
    ),
    "bce_ok": Signature(
        params=("raw",),
        result=BOOL,
        fr="est un numéro BCE dont le check-digit est correct (97 − 8 premiers chiffres modulo 97)",
        nl="is een KBO-nummer met een juist controlecijfer (97 − eerste 8 cijfers modulo 97)",
    ),
    "iban_ok": Signature(
        params=("raw",),
        result=BOOL,
        fr="est un IBAN dont le check-digit (positions 3 et 4) est correct (ISO 13616)",
        nl="is een IBAN met een juist controlecijfer (posities 3 en 4) (ISO 13616)",
    ),
    "bic_ok": Signature(
        params=("raw",),
        result=BOOL,
        fr="est un BIC bien formé (6 lettres, 2 caractères, 3 caractères ou blancs)",
        nl="is een correct opgebouwde BIC (6 letters, 2 tekens, 3 tekens of blanco)",
    ),
    "only": Signature(
        params=("raw", "text"),
        result=BOOL,
        fr="ne contient que des caractères de la liste donnée",
        nl="bevat enkel tekens uit de gegeven lijst",
    ),
    "has_any": Signature(
        params=("raw", "text"),
        result=BOOL,
        fr="contient au moins un des caractères donnés",
        nl="bevat minstens één van de gegeven tekens",
    ),
    "control97": Signature(
        params=("int",),
        result=INT,
        fr="reste de la division par 97, un reste nul s'écrivant 97",
        nl="rest van de deling door 97, een rest nul wordt 97",
    ),
    "charsum": Signature(
        params=("raw", "charmap"),
        result=INT,
        fr="somme des valeurs des caractères selon la table donnée",
        nl="som van de waarden van de tekens volgens de gegeven tabel",
    ),
    "signed": Signature(
        params=("raw", "int"),
        result=INT,
        fr="montant affecté du signe donné (+ ou −)",
        nl="bedrag met het gegeven teken (+ of −)",
    ),
    "period": Signature(
        params=("int", "int"),
        result=DATE,
        fr="premier jour du mois (année, mois)",
        nl="eerste dag van de maand (jaar, maand)",
    ),
    "year": Signature(params=("date",), result=INT, fr="année de la date", nl="jaar van de datum"),
    "month": Signature(params=("date",), result=INT, fr="mois de la date", nl="maand van de datum"),
    "abs": Signature(params=("int",), result=INT, fr="valeur absolue", nl="absolute waarde"),
}
