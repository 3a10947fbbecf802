"""`csbridge report`: what CSMs and RevOps read, built from the store.

    csbridge report review    --config FILE --account KEY
    csbridge report qbr       --config FILE --account KEY [--quarter 2026Q4]
    csbridge report debrief   --config FILE [--owner EMAIL|ID] [--date D]
    csbridge report portfolio --config FILE [--period 2026Q4]

Each writes HTML (default), Markdown or JSON to `--out` (default a name such as
review-acme.com-2026-12-03.html; `-` for standard output) and prints where.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from csbridge.commands.health import parse_now
from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.reports.document import Document
from csbridge.reports.render_html import render_html
from csbridge.reports.render_md import render_md
from csbridge.reports.source import ReportSource

SUFFIX = {"html": ".html", "md": ".md", "json": ".json"}
Builder = Callable[[ReportSource, argparse.Namespace], tuple[Document, str]]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="account reviews, QBR prep, the CSM daily debrief and portfolio metrics",
        description="Build a report from the store (filled by `csbridge run`) as HTML, "
        "Markdown or JSON.",
    )
    kinds = parser.add_subparsers(dest="report", metavar="REPORT", required=True)
    review = _kind(kinds, "review", "Customer Success Review of one account (seed 000)")
    review.add_argument("--account", required=True, metavar="KEY", help="domain, CRM id or name")
    review.set_defaults(handler=_handler(_review))
    qbr = _kind(kinds, "qbr", "QBR prep of one account (seed 003)")
    qbr.add_argument("--account", required=True, metavar="KEY", help="domain, CRM id or name")
    qbr.add_argument(
        "--quarter", metavar="2026Q4", help="the quarter of the meeting (default: the next one)"
    )
    qbr.set_defaults(handler=_handler(_qbr))
    debrief = _kind(kinds, "debrief", "CSM daily debrief (seed 002)")
    debrief.add_argument("--owner", metavar="EMAIL|ID", help="one CSM (default: every owner)")
    debrief.add_argument("--date", metavar="D", help="the day, e.g. 2026-12-03 (default: today)")
    debrief.set_defaults(handler=_handler(_debrief))
    portfolio = _kind(kinds, "portfolio", "portfolio metrics: GRR, NRR, churn, NPS ... (seed 004)")
    portfolio.add_argument(
        "--period", metavar="2026Q4", help="a quarter or a month (default: the current quarter)"
    )
    portfolio.set_defaults(handler=_handler(_portfolio))


def _kind(kinds: Any, name: str, text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = kinds.add_parser(name, help=text, description=text)
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument("--format", choices=tuple(SUFFIX), default="html")
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="where to write (default: a name from the report; - for standard output)",
    )
    parser.add_argument("--now", metavar="ISO", help="as of this time (default: now)")
    return parser


def _handler(build: Builder) -> Callable[[argparse.Namespace], int]:
    def handle(args: argparse.Namespace) -> int:
        settings = load_config(args.config)
        now = _as_of(args)
        source = ReportSource(settings, now)
        try:
            if not source.keys:
                raise CsbridgeError(
                    f"{source.store.url}: no CRM accounts in the store; run `csbridge run` "
                    "with this config first"
                )
            document, name = build(source, args)
        finally:
            source.close()
        write(document, args.format, args.out, name)
        return 0

    return handle


def _as_of(args: argparse.Namespace) -> datetime:
    """`--date D` means the end of that day; otherwise `--now` (or the clock)."""
    day = getattr(args, "date", None)
    if day is None:
        return parse_now(args.now)
    try:
        value = datetime.fromisoformat(day).date()
    except ValueError:
        raise CsbridgeError(f"--date {day!r}: not a date; use e.g. 2026-12-03") from None
    return datetime.combine(value, time(23, 59, 59), UTC)


def write(document: Document, fmt: str, out: str | None, name: str) -> None:
    """Render `document` and write it to `out` (or a file called `name`), saying where."""
    if fmt == "json":
        text = json.dumps(document.as_json(), indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_html(document) if fmt == "html" else render_md(document)
    if out == "-":
        sys.stdout.write(text)
        return
    path = Path(out) if out else Path(re.sub(r"[^A-Za-z0-9._-]+", "_", name) + SUFFIX[fmt])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CsbridgeError(f"--out {path}: cannot write the report ({exc.strerror})") from None
    print(f"wrote {path}")


def _review(source: ReportSource, args: argparse.Namespace) -> tuple[Document, str]:
    from csbridge.reports.review import build_review, portfolio_benchmark

    key = source.resolve(args.account)
    document = build_review(source, key, portfolio_benchmark(source))
    return document, f"review-{key}-{source.now.date().isoformat()}"


def _portfolio(source: ReportSource, args: argparse.Namespace) -> tuple[Document, str]:
    from csbridge.reports.periods import parse_period, quarter_of
    from csbridge.reports.portfolio import build_portfolio

    period = parse_period(args.period) if args.period else quarter_of(source.now.date())
    if period.start > source.now.date():
        raise CsbridgeError(
            f"--period {period.label}: starts after {source.now.date()}; pick a period "
            "that has begun (or a later --now)"
        )
    return build_portfolio(source, period), f"portfolio-{period.label}"


def _qbr(source: ReportSource, args: argparse.Namespace) -> tuple[Document, str]:
    from csbridge.reports.periods import add_months, parse_period, quarter_of
    from csbridge.reports.qbr import build_qbr

    key = source.resolve(args.account)
    if args.quarter:
        quarter = parse_period(args.quarter, "--quarter")
        if quarter.label[4] != "Q":
            raise CsbridgeError(f"--quarter {args.quarter!r}: use a quarter such as 2026Q4")
    else:
        quarter = quarter_of(add_months(source.now.date(), 3))
    return build_qbr(source, key, quarter), f"qbr-{key}-{quarter.label}"


def _debrief(source: ReportSource, args: argparse.Namespace) -> tuple[Document, str]:
    from csbridge.reports.debrief import build_debrief, resolve_owner

    owner = resolve_owner(source, args.owner) if args.owner else None
    who = f"-{owner}" if owner else ""
    return build_debrief(source, owner), f"debrief{who}-{source.now.date().isoformat()}"
