"""CSM load: accounts and ARR per owner and segment against the segment's CSM ratio. Pure.

Seeds 001, 002 and 004 give each touch model an accounts-per-CSM ratio (1:10 for
strategic accounts, 1:350 for tech touch); a load of 1.0 is one full CSM. Used by
`csbridge health`, the run report and the portfolio report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from csbridge.scoring.results import ScoreResult

UNASSIGNED = "unassigned"


@dataclass(frozen=True, slots=True)
class BookEntry:
    """One account as the CSM load reads it (segment and ratio from its latest score)."""

    owner: str
    segment: str | None
    arr: float
    accounts_per_csm: int | None


@dataclass(frozen=True, slots=True)
class LoadRow:
    """An owner's accounts in one segment, against that segment's accounts-per-CSM ratio."""

    owner: str
    segment: str | None
    accounts: int
    arr: float
    accounts_per_csm: int | None
    load: float | None  # accounts / accounts_per_csm; None without a ratio


def csm_load(entries: Iterable[BookEntry]) -> list[LoadRow]:
    """Rows per owner × segment: accounts, ARR, the ratio and load = accounts / ratio.

    Where one segment's accounts carry different ratios, each account weighs 1 / its own
    ratio and the row's ratio is accounts / load. Sorted by owner, then segment.
    """
    groups: dict[tuple[str, str | None], list[BookEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.owner, entry.segment), []).append(entry)
    rows = []
    for (owner, segment), book in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        weights = [1.0 / e.accounts_per_csm for e in book if e.accounts_per_csm]
        load = sum(weights) if weights else None
        ratios = {e.accounts_per_csm for e in book if e.accounts_per_csm}
        ratio = ratios.pop() if len(ratios) == 1 else (round(len(weights) / load) if load else None)
        rows.append(LoadRow(owner, segment, len(book), sum(e.arr for e in book), ratio, load))
    return rows


def book_entry(owner: str | None, arr: float | None, result: ScoreResult) -> BookEntry:
    """An account's line in its owner's book: the segment and ratio its score carries."""
    return BookEntry(
        owner or UNASSIGNED, result.segment, float(arr or 0.0), result.accounts_per_csm
    )


def load_table(rows: Iterable[LoadRow]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of a CSM-load table, for the terminal."""
    header = ["owner", "segment", "accounts", "ARR", "accounts/CSM", "load"]
    cells = [
        [
            r.owner,
            r.segment or "-",
            str(r.accounts),
            f"{r.arr:,.0f}",
            "-" if r.accounts_per_csm is None else str(r.accounts_per_csm),
            "-" if r.load is None else f"{r.load:.2f}",
        ]
        for r in rows
    ]
    return header, cells


def load_json(rows: Iterable[LoadRow]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
