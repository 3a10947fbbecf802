"""Any report `Document` as the simple HTML a CRM note shows (HubSpot `hs_note_body`,
Salesforce ContentNote): headings, paragraphs, lists and tables only; no style, script
or picture (CRMs strip them), and no line breaks (Salesforce strips those too). Every
text is escaped; charts become small tables of their values, as in Markdown.
"""

from __future__ import annotations

from html import escape

from csbridge.reports.document import Block, Chart, Document, Items, Missing, Table, Text
from csbridge.reports.document import number as fmt_number

CUT = "<p><em>(cut here: the whole report is in csbridge report)</em></p>"


def render_note(document: Document, title: str, limit: int | None = None) -> str:
    """The document under `title` (the note's heading) as one line of HTML, of at most
    `limit` characters: cut after its last whole section, saying so."""
    out = [f"<h1>{escape(title)}</h1>", f"<p><em>{escape(document.subtitle)}</em></p>"]
    for section in document.sections:
        level = min(max(section.level, 2), 3)
        out.append(f"<h{level}>{escape(section.title)}</h{level}>")
        out += [_block(b) for b in section.blocks]
    html = "".join(out).replace("\n", " ")
    if limit is None or len(html) <= limit:
        return html
    return html[: html.rfind("<h2>", 0, limit - len(CUT))] + CUT


def _block(block: Block) -> str:
    if isinstance(block, Table):
        return _table(block.columns, block.rows) if block.rows else _empty(block.empty)
    if isinstance(block, Text):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Items):
        if not block.items:
            return _empty(block.empty)
        tag = "ol" if block.numbered else "ul"
        return f"<{tag}>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + f"</{tag}>"
    if isinstance(block, Missing):
        return (
            f"<p><strong>{escape(block.what)}</strong>: not in csbridge's data; "
            f"{escape(block.source)}.</p>"
        )
    return _chart(block)


def _chart(chart: Chart) -> str:
    digits = 0 if chart.kind == "bars" else 1
    rows = [
        [x, *(fmt_number(s.values[i], digits) for s in chart.series)] for i, x in enumerate(chart.x)
    ]
    unit = f" ({chart.unit})" if chart.unit else ""
    caption = f"<p><strong>{escape(chart.title)}</strong>{escape(unit)}</p>"
    return caption + _table(["", *(s.name for s in chart.series)], rows)


def _table(columns: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _empty(text: str) -> str:
    return f"<p><em>{escape(text)}</em></p>"
