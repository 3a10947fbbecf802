"""Any report `Document` as one self-contained HTML page: inline CSS and SVG, no script.

The page makes no request beyond itself (no fonts, images or scripts from elsewhere)
and prints cleanly: sections avoid breaking inside a table or chart.
"""

from __future__ import annotations

from html import escape

from csbridge.reports.charts import svg
from csbridge.reports.document import Block, Document, Items, Missing, Table, Text

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #1f2328; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
.subtitle { color: #59636e; margin-top: 0; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #d1d9e0; padding-bottom: .2rem;
  margin-top: 2rem; }
h3 { font-size: 1.05rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #d1d9e0; padding: .25rem .6rem; text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; }
.missing { border-left: 4px solid #d97706; background: #fff8eb; padding: .4rem .8rem; }
.empty { color: #59636e; font-style: italic; }
figure { margin: .5rem 0 1rem; }
figcaption { font-weight: 600; margin-bottom: .2rem; }
svg text { font-size: 11px; fill: #1f2328; }
svg .grid { stroke: #d1d9e0; stroke-width: 1; }
section { break-inside: avoid-page; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  table, figure, .missing { break-inside: avoid; }
}
"""


def render_html(document: Document) -> str:
    """The whole document as an HTML page."""
    body = [
        f"<h1>{escape(document.title)}</h1>",
        f'<p class="subtitle">{escape(document.subtitle)}</p>',
    ]
    for section in document.sections:
        level = min(max(section.level, 2), 3)
        body.append(f"<section><h{level}>{escape(section.title)}</h{level}>")
        body += [_block(b) for b in section.blocks]
        body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.title)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def _block(block: Block) -> str:
    if isinstance(block, Table):
        if not block.rows:
            return f'<p class="empty">{escape(block.empty)}</p>'
        head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if isinstance(block, Text):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Items):
        if not block.items:
            return f'<p class="empty">{escape(block.empty)}</p>'
        tag = "ol" if block.numbered else "ul"
        return f"<{tag}>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + f"</{tag}>"
    if isinstance(block, Missing):
        return (
            f'<p class="missing"><strong>{escape(block.what)}</strong>: '
            f"not in csbridge's data; {escape(block.source)}.</p>"
        )
    unit = f" ({escape(block.unit)})" if block.unit else ""
    return f"<figure><figcaption>{escape(block.title)}{unit}</figcaption>{svg(block)}</figure>"
