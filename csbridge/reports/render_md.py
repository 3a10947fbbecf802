"""Any report `Document` as Markdown, for pasting into a CRM note or an email.

Charts become small tables of their values (Markdown has no pictures of its own).
"""

from __future__ import annotations

from csbridge.reports.document import Block, Chart, Document, Items, Missing, Table, Text
from csbridge.reports.document import number as fmt_number


def render_md(document: Document) -> str:
    """The whole document as Markdown text."""
    out = [f"# {document.title}", "", f"_{document.subtitle}_", ""]
    for section in document.sections:
        out += ["#" * section.level + f" {section.title}", ""]
        for block in section.blocks:
            out += [*_block(block), ""]
    return "\n".join(out).rstrip() + "\n"


def _block(block: Block) -> list[str]:
    if isinstance(block, Table):
        return _table(block.columns, block.rows) if block.rows else [f"_{block.empty}_"]
    if isinstance(block, Text):
        return [block.text]
    if isinstance(block, Items):
        if not block.items:
            return [f"_{block.empty}_"]
        return [f"{i}. {t}" if block.numbered else f"- {t}" for i, t in enumerate(block.items, 1)]
    if isinstance(block, Missing):
        return [f"> **{block.what}**: not in csbridge's data; {block.source}."]
    return _chart(block)


def _chart(chart: Chart) -> list[str]:
    columns = ["", *(s.name for s in chart.series)]
    digits = 0 if chart.kind == "bars" else 1
    rows = [
        [x, *(fmt_number(s.values[i], digits) for s in chart.series)] for i, x in enumerate(chart.x)
    ]
    unit = f" ({chart.unit})" if chart.unit else ""
    return [f"**{chart.title}**{unit}", "", *_table(columns, rows)]


def _table(columns: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(columns), "|" + "|".join("---" for _ in columns) + "|", *map(line, rows)]
