"""The published instructions: a static HTML site in French or Dutch, from the compiled rulebook.

Input: the compiled rulebook and a language.
Output: ``Site.pages()``: relative path -> HTML. ``index.html`` (releases, messages, links),
``messages/NAME.html`` (its segments and records), ``layouts/NAME.html`` (a table of zones),
``rules/index.html`` and ``rules/CODE.html`` (code, letter, label, the condition in words,
period, governing date, source, note, and the questions about it), ``changelog.html`` (what
applies from each date: rule versions that start or end, table and parameter values) and
``questions.html``. Every text is in the chosen language; a label the rulebook lacks is shown
as ``MISSING`` (a test fails on it). ``rulebook docs`` writes the pages; the service serves
them under ``/docs/instructions/{lang}/``.
"""

from __future__ import annotations

import html
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from compiler import Compiled, ir
from compiler.dump import day
from compiler.words import Words
from publish import tolerances
from publish.reference import SEARCH_FORM, reader_page, search_page, structure_tree, tables_page
from publish.texts import TEXTS

MISSING = "MISSING"

SELF = "__this_page__"  # the page's own path, filled in by Site.pages
STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em;line-height:1.4}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .5em;"
    "vertical-align:top;text-align:left}nav a{margin-right:1em}code{background:#f4f4f4}"
    "nav form{display:inline}ul.tree ul{border-left:1px solid #bbb;margin-left:.3em}"
)


def esc(text: object) -> str:
    return html.escape(str(text))


@dataclass
class Site:
    compiled: Compiled
    lang: str
    t: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.t = TEXTS[self.lang]

    # ------------------------------------------------------------------ helpers

    def label(self, fr: str | None, nl: str | None) -> str:
        text = nl if self.lang == "nl" else fr
        return text if text else MISSING

    def page(self, depth: int, title: str, body: str) -> str:
        up = "../" * depth
        other = "nl" if self.lang == "fr" else "fr"
        search = SEARCH_FORM.format(up=up, placeholder=esc(self.t["search_placeholder"]))
        nav = (
            f'<nav><a href="{up}index.html">{esc(self.t["home"])}</a>'
            f'<a href="{up}rules/index.html">{esc(self.t["rules"])}</a>'
            f'<a href="{up}tables.html">{esc(self.t["tables"])}</a>'
            f'<a href="{up}reader.html">{esc(self.t["reader_codes"])}</a>'
            f'<a href="{up}changelog.html">{esc(self.t["changelog"])}</a>'
            f'<a href="{up}questions.html">{esc(self.t["questions"])}</a>'
            f'<a href="{up}tolerances.html">{esc(self.t["tolerances"])}</a>'
            f'<a href="{up}../{other}/{SELF}" lang="{other}">'
            f"{esc(self.t['language'])}</a>{search}</nav>"
        )
        return (
            f'<!DOCTYPE html>\n<html lang="{self.lang}"><head><meta charset="utf-8">'
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{nav}"
            f"<h1>{esc(title)}</h1>{body}</body></html>\n"
        )

    def period(self, start: int, end: int) -> str:
        a, b = day(start), day(end)
        parts = []
        if a != "-":
            parts.append(f"{self.t['from']} {a}")
        if b != "-":
            parts.append(f"{self.t['until']} {b}")
        return ", ".join(parts) or self.t["unlimited"]

    @cached_property
    def by_code(self) -> dict[str, list[ir.Rule]]:
        found: dict[str, list[ir.Rule]] = defaultdict(list)
        for rule in self.compiled.rules:
            found[rule.code].append(rule)
        for rules in found.values():
            rules.sort(key=lambda r: r.start)
        return dict(found)

    @cached_property
    def questions_of(self) -> dict[str, list[ir.Question]]:
        found: dict[str, list[ir.Question]] = defaultdict(list)
        for q in self.compiled.questions:
            for code in q.codes:
                found[code].append(q)
        return dict(found)

    def rule_link(self, code: str, depth: int) -> str:
        return f'<a href="{"../" * depth}rules/{esc(code)}.html">{esc(code)}</a>'

    # ------------------------------------------------------------------ pages

    def pages(self) -> dict[str, str]:
        out = {
            "index.html": self.index(),
            "rules/index.html": self.rules_index(),
            "changelog.html": self.changelog(),
            "questions.html": self.questions(),
            "tolerances.html": tolerances.page(self),
            "tables.html": tables_page(self),
            "reader.html": reader_page(self),
            "search.html": search_page(self),
        }
        for msg in self.compiled.messages.values():
            out[f"messages/{msg.name}.html"] = self.message(msg)
        for layout in self.compiled.layouts.values():
            out[f"layouts/{layout.name}.html"] = self.layout(layout)
        for code in self.by_code:
            out[f"rules/{code}.html"] = self.rule(code)
        # the other language's link goes to the same page there
        return {path: text.replace(SELF, path, 1) for path, text in out.items()}

    def index(self) -> str:
        c = self.compiled
        rows = "".join(
            f"<tr><td>{esc(r.version)}</td><td>{esc(day(r.published))}</td>"
            f"<td>{esc(day(r.applies))}</td><td>{esc(self.label(r.fr, r.nl))}</td></tr>"
            for r in c.releases
        )
        messages = "".join(
            f'<li><a href="messages/{esc(m.name)}.html">{esc(m.name)}</a> '
            f"{esc(self.label(m.fr, m.nl))}</li>"
            for m in sorted(c.messages.values(), key=lambda m: m.name)
        )
        body = (
            f"<p>{esc(self.t['rulebook'])} {esc(c.version)} — <code>{esc(c.hash)}</code></p>"
            f"<h2>{esc(self.t['releases'])}</h2><table><tr><th>{esc(self.t['version'])}</th>"
            f"<th>{esc(self.t['published'])}</th><th>{esc(self.t['applies'])}</th>"
            f"<th>{esc(self.t['label'])}</th></tr>{rows}</table>"
            f"<h2>{esc(self.t['messages'])}</h2><ul>{messages}</ul>"
            f'<p><a href="rules/index.html">{esc(self.t["rules"])}</a> ({len(c.rules)})</p>'
        )
        return self.page(0, self.t["title"], body)

    def message(self, msg: ir.Message) -> str:
        def link(name: str) -> str:
            lay = self.compiled.layouts[name]
            return (
                f'<li><a href="../layouts/{esc(name)}.html">{esc(name)}</a> '
                f"{esc(self.label(lay.fr, lay.nl))}</li>"
            )

        from versions.diff import message_fields

        fields = message_fields(msg)
        body = (
            f"<h2>{esc(self.t['segments'])}</h2><ul>{''.join(link(s) for s in msg.segments)}</ul>"
            f"<h2>{esc(self.t['records'])}</h2><ul>{''.join(link(r) for r in msg.records)}</ul>"
            f"<p>{esc(self.t['record_length'])}: {msg.record_length}</p>"
            f"<h2>{esc(self.t['structure'])}</h2>{structure_tree(self, msg)}"
            f"<details><summary>{esc(self.t['notation'])}</summary>"
            f"<pre>{esc(fields['structure'])}</pre></details>"
        )
        return self.page(1, f"{msg.name} {self.label(msg.fr, msg.nl)}", body)

    def layout(self, layout: ir.Layout) -> str:
        rules_by_zone: dict[str, list[str]] = defaultdict(list)
        for rule in self.compiled.rules:
            if rule.record == layout.name and rule.code not in rules_by_zone[rule.zone.name]:
                rules_by_zone[rule.zone.name].append(rule.code)
        rows = []
        for z in sorted(layout.zones, key=lambda z: z.offset):
            start = z.start1 + layout.at - 1
            codes = " ".join(self.rule_link(code, 1) for code in sorted(rules_by_zone[z.name]))
            rows.append(
                f"<tr><td>{esc(z.zone_id)}</td><td><code>{esc(z.name)}</code></td>"
                f"<td>{esc(self.label(z.fr, z.nl))}</td><td>{esc(self.t['kind_' + z.kind])}</td>"
                f"<td>{z.length}</td><td>{start}–{start + z.length - 1}</td><td>{codes}</td></tr>"
            )
        head = "".join(
            f"<th>{esc(self.t[k])}</th>"
            for k in ("zone", "name", "label", "type", "length", "positions", "rules")
        )
        body = f"<table><tr>{head}</tr>{''.join(rows)}</table>"
        return self.page(1, f"{layout.name} {self.label(layout.fr, layout.nl)}", body)

    def rules_index(self) -> str:
        rows = []
        for code, rules in sorted(self.by_code.items()):
            r = rules[-1]
            rows.append(
                f"<tr><td>{self.rule_link(code, 1)}</td><td>{esc(r.letter)}</td>"
                f"<td>{esc(r.record)}</td><td>{esc(r.zone_label)}</td>"
                f"<td>{esc(self.label(r.fr, r.nl))}</td></tr>"
            )
        head = "".join(
            f"<th>{esc(self.t[k])}</th>" for k in ("code", "letter", "record", "zone", "label")
        )
        body = f"<table><tr>{head}</tr>{''.join(rows)}</table>"
        return self.page(1, self.t["rules"], body)

    def rule(self, code: str) -> str:
        rules = self.by_code[code]
        parts = []
        for r in rules:
            words = Words(self.compiled, self.lang, r.record)
            when = words(r.when) if r.when is not None else self.t["always"]
            layout = f'<a href="../layouts/{esc(r.record)}.html">{esc(r.record)}</a>'
            note = f"<dt>{esc(self.t['note'])}</dt><dd>{esc(r.note)}</dd>" if r.note else ""
            parts.append(
                f'<dl class="rule"><dt>{esc(self.t["letter"])}</dt><dd>{esc(r.letter)} — '
                f"{esc(self.t['letter_' + r.letter])}</dd>"
                f"<dt>{esc(self.t['label'])}</dt>"
                f'<dd class="label">{esc(self.label(r.fr, r.nl))}</dd>'
                f"<dt>{esc(self.t['record'])}</dt><dd>{layout}, {esc(self.t['zone'].lower())} "
                f"{esc(r.zone_label)} ({esc(self.label(r.zone.fr, r.zone.nl))})</dd>"
                f"<dt>{esc(self.t['when'])}</dt><dd>{esc(when)}</dd>"
                f'<dt>{esc(self.t["condition"])}</dt><dd class="condition">'
                f"{esc(words(r.require))}</dd>"
                f"<dt>{esc(self.t['period'])}</dt><dd>{esc(self.period(r.start, r.end))}</dd>"
                f"<dt>{esc(self.t['governed'])}</dt><dd>{esc(self.date_label(r.governed_by))}</dd>"
                f"<dt>{esc(self.t['source'])}</dt><dd><code>{esc(r.source)}:{r.line}</code></dd>"
                f"{note}</dl>"
            )
        questions = "".join(self.question(q, 1) for q in self.questions_of.get(code, []))
        if questions:
            questions = f"<h2>{esc(self.t['questions'])}</h2>{questions}"
        title = f"{code} {self.label(rules[-1].fr, rules[-1].nl)}"
        return self.page(1, title, "".join(parts) + questions)

    def date_label(self, name: str) -> str:
        d = self.compiled.dates.get(name)
        return self.label(d.fr, d.nl) if d is not None else name

    def question(self, q: ir.Question, depth: int) -> str:
        answer = self.label(q.answer_fr, q.answer_nl)
        about = ", ".join(self.rule_link(code, depth) for code in q.codes)
        return (
            f'<div class="question"><h3>{esc(self.label(q.fr, q.nl))}</h3>'
            f"<p><strong>{esc(self.t['answer'])}</strong> {esc(answer)}</p>"
            f"<p>{esc(self.t['about'])}: {about}</p></div>"
        )

    def questions(self) -> str:
        body = "".join(self.question(q, 0) for q in self.compiled.questions) or esc(self.t["none"])
        return self.page(0, self.t["questions"], body)

    def changelog(self) -> str:
        """What applies from each date: rule versions that start, rules that end, values."""
        starts: dict[int, list[str]] = defaultdict(list)
        ends: dict[int, list[str]] = defaultdict(list)
        values: dict[int, list[str]] = defaultdict(list)
        lowest = min((r.start for r in self.compiled.rules), default=0)
        for r in self.compiled.rules:
            if r.start > lowest:
                starts[r.start].append(r.code)
            if r.end < 99991231:
                ends[_next_day(r.end)].append(r.code)
        dated: list[ir.Table | ir.Param] = [*self.compiled.tables.values()]
        dated.extend(self.compiled.params.values())
        for item in dated:
            for v in item.versions[1:]:
                values[v.start].append(self.label(item.fr, item.nl))
        sections = []
        for when in sorted(starts.keys() | ends.keys() | values.keys(), reverse=True):
            release = self.release_at(when)
            head = f"{self.t['since']} {day(when)}" + (f" ({release})" if release else "")
            block = [f"<h2>{esc(head)}</h2>"]
            for key, codes in (("starts", starts[when]), ("ends", ends[when])):
                if codes:
                    links = ", ".join(self.rule_link(c, 0) for c in sorted(set(codes)))
                    block.append(f'<h3>{esc(self.t[key])}</h3><p class="{key}">{links}</p>')
            if values[when]:
                block.append(
                    f"<h3>{esc(self.t['values'])}</h3><p>{esc(', '.join(values[when]))}</p>"
                )
            sections.append("".join(block))
        return self.page(0, self.t["changelog"], "".join(sections) or esc(self.t["none"]))

    def release_at(self, when: int) -> str | None:
        current = [r for r in self.compiled.releases if r.applies <= when]
        if not current:
            return None
        r = current[-1]
        return f"{self.t['in_force']} {r.version}"


def _next_day(value: int) -> int:
    import datetime as dt

    d = dt.date(value // 10000, value // 100 % 100, value % 100) + dt.timedelta(days=1)
    return d.year * 10000 + d.month * 100 + d.day
