"""The matrix as a static HTML site, in French or Dutch.

Input: the matrix JSON and the detail of each cell (``campaign.review.cell_detail``).
Output: ``index.html`` — the matrix JSON embedded as it is (the bytes the command line
prints) and rendered in the browser: cases grouped by record type and letter, participants as
columns, a glyph and a short text per cell (it reads without colour), a divergence column,
filters kept in the URL (only divergent, class, participant, letter, state, free text),
buttons to download the view as JSON or CSV — and ``cells/CASE/PARTICIPANT.html``: expected
and observed answers side by side per echoed record, the explanations, notes and submissions.
No file is fetched from elsewhere: the site works on a closed network.
"""

from __future__ import annotations

import html
import json
from typing import Any

from campaign.render import GLYPHS, short

TEXT = {
    "fr": {
        "title": "Campagne de test",
        "case": "Cas de test",
        "divergence": "Divergence",
        "only_divergent": "Divergences seulement",
        "class": "Classe",
        "participant": "Participant",
        "letter": "Lettre",
        "state": "État",
        "search": "Rechercher",
        "download_json": "Télécharger cette vue (JSON)",
        "download_csv": "Télécharger cette vue (CSV)",
        "all": "tous",
        "rulebook": "Règlement",
        "round": "tour",
        "expected": "Attendu",
        "observed": "Observé",
        "record": "Enregistrement",
        "notes": "Notes",
        "submissions": "Dépôts",
        "explanations": "Explications",
        "back": "Retour à la matrice",
        "other": "Nederlands",
        "none": "aucun",
        "unmodelled": "Codes que le règlement ne modélise pas encore",
        "shown": "cas affichés",
    },
    "nl": {
        "title": "Testcampagne",
        "case": "Testgeval",
        "divergence": "Afwijking",
        "only_divergent": "Alleen afwijkingen",
        "class": "Klasse",
        "participant": "Deelnemer",
        "letter": "Letter",
        "state": "Toestand",
        "search": "Zoeken",
        "download_json": "Deze weergave downloaden (JSON)",
        "download_csv": "Deze weergave downloaden (CSV)",
        "all": "alle",
        "rulebook": "Regelboek",
        "round": "ronde",
        "expected": "Verwacht",
        "observed": "Waargenomen",
        "record": "Record",
        "notes": "Notities",
        "submissions": "Indieningen",
        "explanations": "Uitleg",
        "back": "Terug naar de matrix",
        "other": "Français",
        "none": "geen",
        "unmodelled": "Codes die het regelboek nog niet modelleert",
        "shown": "gevallen getoond",
    },
}

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#111}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #bbb;padding:.2em .4em;
vertical-align:top}th{background:#eee;position:sticky;top:0}
.s-match{background:#e6f4e6}
.s-codes-differ,.s-percentage-differs,.s-amounts-differ{background:#fff3cd}
.s-verdict-differs,.s-unreadable,.s-errored,.s-missing{background:#f8d7da}.s-pending{background:#eef}
tr.group th{background:#ddd;text-align:left}
#toolbar{margin:1em 0;display:flex;flex-wrap:wrap;gap:.8em}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}pre{white-space:pre-wrap}
"""


def _script_json(payload: Any) -> str:
    """JSON inside a script element: '</' cannot end it early."""
    return json.dumps(payload, ensure_ascii=False, indent=2).replace("</", "<\\/")


def _page(lang: str, title: str, body: str, other: str) -> str:
    t = TEXT[lang]
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<nav><a href="{html.escape(other)}" lang="{"nl" if lang == "fr" else "fr"}">'
        f"{t['other']}</a></nav>{body}</body></html>\n"
    )


MATRIX_SCRIPT = r"""
const M = JSON.parse(document.getElementById('matrix').textContent);
const T = JSON.parse(document.getElementById('texts').textContent);
const G = JSON.parse(document.getElementById('glyphs').textContent);
const params = new URLSearchParams(location.search);
const people = M.participants.map(p => p.key);
const byCase = {};
for (const c of M.cells) (byCase[c.case] = byCase[c.case] || {})[c.participant] = c;
function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function select(name, values) {
  const s = el('select', {name: name, id: 'f-' + name});
  s.appendChild(el('option', {value: ''}, T.all));
  for (const v of values) s.appendChild(el('option', {value: v}, v));
  s.value = params.get(name) || '';
  return s;
}
const bar = document.getElementById('toolbar');
const only = el('input', {type: 'checkbox', id: 'f-divergent'});
only.checked = params.get('only') === 'divergent';
const lab = el('label', {}, ' ' + T.only_divergent); lab.prepend(only); bar.appendChild(lab);
const uniq = a => [...new Set(a.filter(x => x))].sort();
const filters = {
  class: select('class', uniq(M.cases.map(c => c.divergence.class))),
  participant: select('participant', people),
  letter: select('letter', uniq(M.cases.map(c => c.rule && c.rule.letter))),
  state: select('state', uniq(M.cells.map(c => c.state))),
};
for (const [k, s] of Object.entries(filters)) {
  const l = el('label', {}, T[k] + ' '); l.appendChild(s); bar.appendChild(l);
}
const q = el('input', {type: 'search', id: 'f-q', placeholder: T.search});
q.value = params.get('q') || ''; bar.appendChild(q);
const dj = el('button', {id: 'download-json', type: 'button'}, T.download_json);
const dc = el('button', {id: 'download-csv', type: 'button'}, T.download_csv);
bar.appendChild(dj); bar.appendChild(dc);
function keep(c) {
  const d = c.divergence.class;
  if (only.checked && (!d || d === 'agree')) return false;
  if (filters.class.value && d !== filters.class.value) return false;
  if (filters.letter.value && !(c.rule && c.rule.letter === filters.letter.value)) return false;
  const cells = Object.values(byCase[c.key] || {});
  if (filters.state.value && !cells.some(x => x.state === filters.state.value)) return false;
  if (filters.participant.value && filters.state.value && !cells.some(
      x => x.participant === filters.participant.value && x.state === filters.state.value))
    return false;
  const text = q.value.trim().toLowerCase();
  if (text && !JSON.stringify(c).toLowerCase().includes(text)) return false;
  return true;
}
function view() {
  const cases = M.cases.filter(keep);
  const keys = new Set(cases.map(c => c.key));
  const who = filters.participant.value;
  return Object.assign({}, M, {cases: cases, cells: M.cells.filter(
    c => keys.has(c.case) && (!who || c.participant === who))});
}
function cellPath(c) { return 'cells/' + encodeURIComponent(c.case.replace(/\//g, '--')) + '/' +
  encodeURIComponent(c.participant) + '.html'; }
function render() {
  const next = new URLSearchParams();
  if (only.checked) next.set('only', 'divergent');
  for (const [k, s] of Object.entries(filters)) if (s.value) next.set(k, s.value);
  if (q.value) next.set('q', q.value);
  const query = next.toString();
  history.replaceState(null, '', query ? '?' + query : location.pathname);
  const v = view();
  const cols = filters.participant.value ? [filters.participant.value] : people;
  const table = el('table', {id: 'matrix-table'});
  const head = el('tr');
  head.appendChild(el('th', {}, T.case)); head.appendChild(el('th', {}, T.divergence));
  for (const p of cols) {
    const info = M.participants.find(x => x.key === p);
    const system = (info.system.name || '') + ' ' + (info.system.version || '');
    head.appendChild(el('th', {title: system}, p));
  }
  table.appendChild(head);
  let group = null;
  for (const c of v.cases) {
    const g = (c.rule ? 'ET' + c.rule.record_type + ' · ' + c.rule.letter : c.kind);
    if (g !== group) {
      const tr = el('tr', {class: 'group'}); const th = el('th', {colspan: cols.length + 2}, g);
      tr.appendChild(th); table.appendChild(tr); group = g;
    }
    const tr = el('tr', {'data-case': c.key});
    const lang = document.documentElement.lang;
    const label = c.rule && c.rule.label ? c.rule.label[lang] : (c.note || '');
    tr.appendChild(el('td', {title: label || ''}, c.key));
    const d = c.divergence;
    tr.appendChild(el('td', {}, (d.class || '-') + (d.incomplete.length ? ' +incomplete' : '')));
    for (const p of cols) {
      const cell = (byCase[c.key] || {})[p];
      const td = el('td', cell ? {class: 's-' + cell.state, 'data-state': cell.state} : {});
      if (cell) {
        td.appendChild(el('a', {href: cellPath(cell)}, cell.short));
        td.appendChild(el('span', {class: 'state'}, ' ' + cell.state));
      }
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  const box = document.getElementById('table');
  box.replaceChildren(table);
  document.getElementById('count').textContent = v.cases.length + ' ' + T.shown;
}
function download(name, type, text) {
  const a = el('a', {href: URL.createObjectURL(new Blob([text], {type: type})), download: name});
  document.body.appendChild(a); a.click(); a.remove();
}
dj.addEventListener('click', () => download(M.campaign.slug + '.json', 'application/json',
  JSON.stringify(view(), null, 2)));
dc.addEventListener('click', () => {
  const v = view(); const rows = [['case', 'participant', 'state', 'overlays', 'divergence']];
  const cls = Object.fromEntries(v.cases.map(c => [c.key, c.divergence.class || '']));
  for (const c of v.cells)
    rows.push([c.case, c.participant, c.state, c.overlays.join(' '), cls[c.case]]);
  download(M.campaign.slug + '.csv', 'text/csv',
    rows.map(r => r.map(x => '"' + String(x).replace(/"/g, '""') + '"').join(','))
      .join('\n') + '\n');
});
for (const s of [only, ...Object.values(filters)]) s.addEventListener('change', render);
q.addEventListener('input', render);
render();
"""


def matrix_page(matrix: dict[str, Any], lang: str) -> str:
    t = TEXT[lang]
    c = matrix["campaign"]
    shorts = {(x["case"], x["participant"]): short(x) for x in matrix["cells"]}
    # the embedded JSON is the matrix as it is; the short texts travel beside it
    unmodelled = (
        "".join(
            f"<li>{html.escape(u['code'])} — {html.escape(', '.join(u['participants']))} "
            f"({u['cases']})</li>"
            for u in matrix["unmodelled_codes"]
        )
        or f"<li>{t['none']}</li>"
    )
    body = (
        f"<h1>{t['title']} {html.escape(c['slug'])}</h1>"
        f"<p>{t['rulebook']} {html.escape(c['rulebook']['version'])} "
        f"<code>{html.escape(c['rulebook']['hash'])}</code> — {html.escape(c['status'])}, "
        f'{t["round"]} {c["round"]} — <span id="count"></span></p>'
        f'<div id="toolbar"></div><div id="table"></div>'
        f"<h2>{t['unmodelled']}</h2><ul>{unmodelled}</ul>"
        f'<script type="application/json" id="matrix">{_script_json(matrix)}</script>'
        f'<script type="application/json" id="texts">{_script_json(t)}</script>'
        f'<script type="application/json" id="glyphs">{_script_json(GLYPHS)}</script>'
        "<script>const SHORT = "
        + _script_json({f"{k[0]}\t{k[1]}": v for k, v in shorts.items()})
        + ";</script>"
        + "<script>"
        + MATRIX_SCRIPT.replace(
            "for (const c of M.cells) (byCase",
            "for (const c of M.cells) { c.short = SHORT[c.case + '\\t' + c.participant]; }\n"
            "for (const c of M.cells) (byCase",
        )
        + "</script>"
    )
    other = "nl" if lang == "fr" else "fr"
    return _page(lang, f"{t['title']} {c['slug']}", body, f"../{other}/index.html")


def _errors(items: list[list[str]]) -> str:
    return ", ".join(f"{p[0]} {p[1]}" for p in items) or "—"


def _side(
    expected: dict[str, Any] | None, observed: dict[str, Any] | None, t: dict[str, str]
) -> str:
    def rows(outcome: dict[str, Any] | None) -> dict[Any, str]:
        if not outcome or "records" not in outcome:
            return {}
        return {(r["record"], r["record_type"]): _errors(r["errors"]) for r in outcome["records"]}

    def head(outcome: dict[str, Any] | None) -> str:
        if outcome is None:
            return "—"
        if "unreadable" in outcome or "errored" in outcome:
            return html.escape(json.dumps(outcome, ensure_ascii=False))
        refusal = outcome.get("refusal_type")
        return html.escape(
            f"{outcome['message']}{'/' + refusal if refusal else ''} "
            f"{outcome.get('error_percentage') or ''}"
        )

    want, got = rows(expected), rows(observed)
    lines = "".join(
        f"<tr><td>{html.escape(str(k[0]))} (ET{html.escape(str(k[1]))})</td>"
        f"<td>{html.escape(want.get(k, '—'))}</td><td>{html.escape(got.get(k, '—'))}</td></tr>"
        for k in sorted(want.keys() | got.keys(), key=lambda k: (k[0] is None, k[0] or 0))
    )
    return (
        f'<table class="side-by-side"><tr><th>{t["record"]}</th><th>{t["expected"]}</th>'
        f"<th>{t['observed']}</th></tr><tr><td></td><td>{head(expected)}</td>"
        f"<td>{head(observed)}</td></tr>{lines}</table>"
    )


def cell_page(detail: dict[str, Any], lang: str) -> str:
    t = TEXT[lang]
    expected = (detail.get("expected") or {}).get("answer")
    observed = detail.get("observed", {}).get("answer")
    explanations = (
        "".join(
            f"<li><b>{html.escape(e['code'])}</b> {html.escape(e.get('letter') or '')} "
            f"{html.escape(((e.get('label') or {}).get(lang)) or '')} "
            f"{html.escape(e.get('rule_source') or '')}"
            + (
                f' <a href="{html.escape(e["page"][lang])}">{html.escape(e["page"][lang])}</a>'
                if e.get("page")
                else ""
            )
            + (f" Q: {html.escape(', '.join(e['questions']))}" if e.get("questions") else "")
            + "</li>"
            for e in detail["diff"].get("explanations", [])
        )
        or f"<li>{t['none']}</li>"
    )
    notes = (
        "".join(
            f"<li>{html.escape(n['created_at'])} {html.escape(n['author'])} "
            f"<b>{html.escape(n['kind'])}</b>: {html.escape(n['text'])}</li>"
            for n in detail["notes"]
        )
        or f"<li>{t['none']}</li>"
    )
    subs = (
        "".join(
            f"<li>#{s['submission']} {html.escape(s['received_at'])} {html.escape(s['name'])} "
            f"{html.escape(s['message'] or '')} <code>{s['sha256'][:16]}…</code>"
            f"{' late' if s['late'] else ''}</li>"
            for s in detail["submissions"]
        )
        or f"<li>{t['none']}</li>"
    )
    depth = "../../"
    body = (
        f'<p><a href="{depth}index.html">{t["back"]}</a></p>'
        f"<h1>{html.escape(detail['case']['key'])} — {html.escape(detail['participant'])}</h1>"
        f'<p class="state">{GLYPHS.get(detail["state"], "")} {html.escape(detail["state"])} '
        f"{html.escape(' '.join(detail['overlays']))}</p>"
        f"{_side(expected, observed, t)}"
        f"<h2>{t['explanations']}</h2><ul>{explanations}</ul>"
        f"<h2>{t['notes']}</h2><ul>{notes}</ul>"
        f"<h2>{t['submissions']}</h2><ul>{subs}</ul>"
        f"<pre>{html.escape(json.dumps(detail['diff'], ensure_ascii=False, indent=2))}</pre>"
    )
    other = "nl" if lang == "fr" else "fr"
    return _page(
        lang,
        f"{detail['case']['key']} — {detail['participant']}",
        body,
        f"{depth}../{other}/{cell_path(detail['case']['key'], detail['participant'])}",
    )


def cell_path(case: str, participant: str) -> str:
    return f"cells/{case.replace('/', '--')}/{participant}.html"


def site(matrix: dict[str, Any], details: list[dict[str, Any]]) -> dict[str, str]:
    """Every page in both languages: ``fr/index.html``, ``nl/cells/…`` and so on."""
    out: dict[str, str] = {}
    for lang in ("fr", "nl"):
        out[f"{lang}/index.html"] = matrix_page(matrix, lang)
        for detail in details:
            out[f"{lang}/{cell_path(detail['case']['key'], detail['participant'])}"] = cell_page(
                detail, lang
            )
    out["index.html"] = (
        '<!DOCTYPE html><meta http-equiv="refresh" content="0; url=fr/index.html">\n'
    )
    return out
