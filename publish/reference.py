"""Reference pages of the published instructions: every table with its values and periods
(and the rules using it), the reader codes, a message's structure drawn as a tree, and a
search over codes, labels, zones and tables (in the page itself: no server, no other host).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from compiler import ir
from compiler.passes import walk

if TYPE_CHECKING:
    from publish.site import Site

__all__ = ["SEARCH_FORM", "reader_page", "search_page", "structure_tree", "tables_page"]


def esc(text: object) -> str:
    from publish.site import esc as escape

    return escape(text)


def tables_used(site: Site) -> dict[str, list[str]]:
    """Table name -> the codes of the rules that read it (sorted)."""
    found: dict[str, set[str]] = defaultdict(set)
    for rule in site.compiled.rules:
        for e in (rule.when, rule.require):
            if e is None:
                continue
            for node in walk(e):
                if isinstance(node, ir.InTable):
                    found[node.table].add(rule.code)
    return {k: sorted(v) for k, v in found.items()}


def value_of(site: Site, value: object) -> str:
    from publish.tolerances import value_text

    return value_text(site, value)


def tables_page(site: Site) -> str:
    """Every table: its label, each version's period and values, the rules that read it."""
    t = site.t
    used = tables_used(site)
    parts = [f"<p>{esc(t['tables_intro'])}</p>"]
    for name, table in sorted(site.compiled.tables.items()):
        rows = []
        for v in table.versions:
            members: list[object] = sorted(v.value)  # type: ignore[call-overload]
            values = ", ".join(value_of(site, m) for m in members)
            rows.append(
                f"<tr><td>{esc(site.period(v.start, v.end))}</td><td>{esc(values)}</td></tr>"
            )
        rules = " ".join(site.rule_link(code, 0) for code in used.get(name, []))
        note = f'<p><span lang="en">{esc(table.note)}</span></p>' if table.note else ""
        parts.append(
            f'<section id="{esc(name)}"><h2>{esc(site.label(table.fr, table.nl))}</h2>'
            f"<p><code>{esc(name)}</code></p>{note}"
            f"<table><tr><th>{esc(t['period'])}</th><th>{esc(t['table_values'])}</th></tr>"
            f"{''.join(rows)}</table>"
            f"<p>{esc(t['used_by'])}: {rules or esc(t['none'])}</p></section>"
        )
    return site.page(0, t["tables"], "".join(parts))


def reader_page(site: Site) -> str:
    """The codes of problems found while reading a file, before any rule."""
    t = site.t
    rows = []
    for info in sorted(site.compiled.codes.values(), key=lambda i: i.code):
        if info.reports is None:
            continue
        rows.append(
            f'<tr id="{esc(info.code)}"><td><code>{esc(info.code)}</code></td>'
            f"<td>{esc(info.letter)}</td><td>{esc(site.label(info.fr, info.nl))}</td>"
            f"<td><code>{esc(info.reports)}</code></td></tr>"
        )
    head = "".join(f"<th>{esc(t[k])}</th>" for k in ("code", "letter", "label", "condition"))
    body = f"<p>{esc(t['reader_intro'])}</p><table><tr>{head}</tr>{''.join(rows)}</table>"
    return site.page(0, t["reader_codes"], body)


def repeat_words(site: Site, repeat: str) -> str:
    key = {"?": "optional", "+": "one_or_more", "*": "any_number"}.get(repeat)
    return f" <em>({esc(site.t[key])})</em>" if key else ""


def structure_tree(site: Site, msg: ir.Message) -> str:
    """The message's structure as nested lists: records linked to their layouts, groups
    unfolded, repetition and alternatives in words."""

    def items(seq: tuple[ir.SItem, ...], seen: frozenset[str]) -> str:
        out = []
        for it in seq:
            if isinstance(it, ir.SRef):
                if it.name in msg.productions and it.name not in seen:
                    inner = items(msg.productions[it.name], seen | {it.name})
                    out.append(
                        f"<li><strong>{esc(it.name)}</strong>{repeat_words(site, it.repeat)}"
                        f"<ul>{inner}</ul></li>"
                    )
                else:
                    lay = site.compiled.layouts.get(it.name)
                    label = f" {esc(site.label(lay.fr, lay.nl))}" if lay else ""
                    out.append(
                        f'<li><a href="../layouts/{esc(it.name)}.html">{esc(it.name)}</a>'
                        f"{label}{repeat_words(site, it.repeat)}</li>"
                    )
            else:
                options = "".join(
                    f"<li>{esc(site.t['option'])} {n}<ul>{items(o, seen)}</ul></li>"
                    for n, o in enumerate(it.options, start=1)
                )
                out.append(
                    f"<li>{esc(site.t['one_of'])}{repeat_words(site, it.repeat)}"
                    f"<ul>{options}</ul></li>"
                )
        return "".join(out)

    root = msg.productions.get(msg.root)
    if root is None:
        return ""
    inner = items(root, frozenset({msg.root}))
    return f'<ul class="tree"><li><strong>{esc(msg.root)}</strong><ul>{inner}</ul></li></ul>'


SEARCH_FORM = (
    '<form class="search" action="{up}search.html" method="get">'
    '<input name="q" type="search" placeholder="{placeholder}" aria-label="{placeholder}">'
    "</form>"
)


def search_index(site: Site) -> list[dict[str, str]]:
    """What the search finds: codes (rules and reader codes), layouts and zones, tables."""
    c = site.compiled
    entries: list[dict[str, str]] = []
    for code, rules in sorted(site.by_code.items()):
        r = rules[-1]
        text = f"{code} {site.label(r.fr, r.nl)} {r.record} {site.t['zone']} {r.zone_label}"
        entries.append({"k": code, "t": text, "u": f"rules/{code}.html"})
    for info in sorted(c.codes.values(), key=lambda i: i.code):
        if info.reports is not None:
            text = f"{info.code} {site.label(info.fr, info.nl)} {info.reports}"
            entries.append({"k": info.code, "t": text, "u": f"reader.html#{info.code}"})
    for name, layout in sorted(c.layouts.items()):
        entries.append(
            {
                "k": name,
                "t": f"{name} {site.label(layout.fr, layout.nl)}",
                "u": f"layouts/{name}.html",
            }
        )
        for z in layout.zones:
            text = f"{name} {site.t['zone']} {z.zone_id} {z.name} {site.label(z.fr, z.nl)}"
            entries.append({"k": f"{name} {z.zone_id}", "t": text, "u": f"layouts/{name}.html"})
    for name, table in sorted(c.tables.items()):
        text = f"{name} {site.label(table.fr, table.nl)}"
        entries.append({"k": name, "t": text, "u": f"tables.html#{name}"})
    return entries


SEARCH_SCRIPT = """
const index = JSON.parse(document.getElementById('index').textContent);
const fold = s => s.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').toLowerCase();
const box = document.getElementById('q'), list = document.getElementById('results');
const count = document.getElementById('count');
function show() {
  const words = fold(box.value).split(/\\s+/).filter(Boolean);
  list.innerHTML = '';
  if (!words.length) { count.textContent = ''; return; }
  const found = index.filter(e => { const t = fold(e.t); return words.every(w => t.includes(w)); });
  count.textContent = found.length + ' ' + count.dataset.unit;
  for (const e of found.slice(0, 200)) {
    const li = document.createElement('li'), a = document.createElement('a');
    a.href = e.u; a.textContent = e.k; li.append(a, ' ' + e.t.slice(e.k.length)); list.append(li);
  }
  history.replaceState(null, '', '?q=' + encodeURIComponent(box.value));
}
box.addEventListener('input', show);
box.value = new URLSearchParams(location.search).get('q') || '';
show();
"""


def search_page(site: Site) -> str:
    """A search over codes, labels, zones and tables, run in the page (its index embedded)."""
    t = site.t
    data = json.dumps(search_index(site), ensure_ascii=False).replace("</", "<\\/")
    body = (
        f'<input id="q" type="search" autofocus placeholder="{esc(t["search_placeholder"])}" '
        f'aria-label="{esc(t["search"])}">'
        f'<p id="count" data-unit="{esc(t["results"])}"></p><ul id="results"></ul>'
        f'<script type="application/json" id="index">{data}</script>'
        f"<script>{SEARCH_SCRIPT}</script>"
    )
    return site.page(0, t["search"], body)
