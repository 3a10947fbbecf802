"""The one plain-text table every command prints: a header, a rule, columns sized to the data.

Each column is as wide as its widest cell (header included), so long account names and
ids never push the rest out of line; numbers can be right-aligned; trailing spaces are
dropped, so the last column may hold free text of any length.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

GAP = "  "


def format_table(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, right: Collection[int] = ()
) -> str:
    """The table as text ending in a newline; `right` holds the indexes of right-aligned columns.

    Cells are shown with `str()`, None as "-".
    """
    cells = [[_text(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in [list(header), *cells]) for i in range(len(header))]
    rule = ["-" * w for w in widths]
    lines = [_line(list(header), widths, right), _line(rule, widths, ())]
    lines += [_line(row, widths, right) for row in cells]
    return "\n".join(lines) + "\n"


def _text(cell: object) -> str:
    return "-" if cell is None else str(cell)


def _line(row: list[str], widths: list[int], right: Collection[int]) -> str:
    padded = (
        c.rjust(w) if i in right else c.ljust(w)
        for i, (c, w) in enumerate(zip(row, widths, strict=True))
    )
    return GAP.join(padded).rstrip()
