"""The page of tolerances and parameters of the published instructions.

Input: a ``publish.site.Site`` (the compiled rulebook, a language, its texts).
Output: ``tolerances.html``: each tolerance (where the rulebook reads the instructions more
liberally than their words, or chooses where sources disagree) with its reading, its evidence,
the rules it concerns (named, and those calling the functions it names) and its parameters;
then every parameter with its choices, its value in each period and the tolerances that
explain it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from compiler import ir
from compiler.library import FUNCTIONS
from compiler.passes import walk

if TYPE_CHECKING:
    from publish.site import Site


def calls(rule: ir.Rule, functions: tuple[str, ...]) -> bool:
    """Whether the rule's requirement or condition calls one of ``functions``."""
    exprs = [rule.require] + ([rule.when] if rule.when is not None else [])
    return any(isinstance(n, ir.Call) and n.func in functions for e in exprs for n in walk(e))


def value_text(site: Site, value: object) -> str:
    if isinstance(value, bool):
        return site.t["yes" if value else "no"]
    if isinstance(value, bytes):
        return f"« {value.decode('latin-1')} »" if site.lang == "fr" else f"„{value.decode()}”"
    if isinstance(value, float):
        return f"{value * 100:g} %".replace(".", ",")
    return str(value)


def page(site: Site) -> str:
    from publish.site import esc

    c, t = site.compiled, site.t
    parts = [f"<p>{esc(t['tolerances_intro'])}</p>"]
    explained: dict[str, list[tuple[int, ir.Tolerance]]] = {}
    for number, tol in enumerate(c.tolerances, start=1):
        for name in tol.params:
            explained.setdefault(name, []).append((number, tol))
        block = [
            f'<div class="tolerance" id="t{number}"><h2>{esc(site.label(tol.fr, tol.nl))}</h2>',
            f"<p><strong>{esc(t['reading'])}</strong> "
            f"{esc(site.label(tol.reading_fr, tol.reading_nl))}</p>",
            f"<p><strong>{esc(t['evidence'])}</strong> "
            f"{esc(site.label(tol.evidence_fr, tol.evidence_nl))}</p>",
        ]
        for name in tol.functions:
            sig = FUNCTIONS[name]
            codes = sorted({r.code for r in c.rules if calls(r, (name,))})
            block.append(
                f"<p>{esc(t['reading_rules'].format(f=site.label(sig.fr, sig.nl), n=len(codes)))}"
                f": {', '.join(site.rule_link(code, 0) for code in codes)}</p>"
            )
        if tol.codes:
            links = ", ".join(site.rule_link(code, 0) for code in tol.codes)
            block.append(f"<p>{esc(t['about'])}: {links}</p>")
        if tol.params:
            links = ", ".join(
                f'<a href="#{esc(n)}">{esc(site.label(c.params[n].fr, c.params[n].nl))}</a>'
                for n in tol.params
            )
            block.append(f"<p>{esc(t['parameters'])}: {links}</p>")
        parts.append("".join(block) + "</div>")
    rows = []
    for name, param in sorted(c.params.items()):
        values = "<br>".join(
            f"{esc(site.period(v.start, v.end))}: {esc(value_text(site, v.value))}"
            for v in param.versions
        )
        choices = ", ".join(value_text(site, v) for v in param.choices or ()) or t["any"]
        why = ", ".join(
            f'<a href="#t{number}">{esc(site.label(tol.fr, tol.nl))}</a>'
            for number, tol in explained.get(name, [])
        )
        rows.append(
            f'<tr id="{esc(name)}"><td><code>{esc(name)}</code></td>'
            f"<td>{esc(site.label(param.fr, param.nl))}</td><td>{esc(choices)}</td>"
            f"<td>{values}</td><td>{why}</td>"
            f'<td><span lang="en">{esc(param.note or "")}</span></td></tr>'
        )
    keys = ("name", "label", "choices", "value", "why", "note")
    head = "".join(f"<th>{esc(t[k])}</th>" for k in keys)
    parts.append(f"<h2>{esc(t['parameters'])}</h2><table><tr>{head}</tr>{''.join(rows)}</table>")
    return site.page(0, t["tolerances"], "".join(parts))
