"""One table formatter for every command: headers, a rule, columns sized to the data."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from csbridge.cli import main
from csbridge.store.store import open_store
from csbridge.tables import format_table
from csbridge.webhooks import inbox

LONG = "acme-international-holdings-with-a-very-long-name.example.com"


def columns(line: str, names: list[str], header: str) -> list[str]:
    """`line` cut where each named column starts in `header`."""
    starts = [header.index(name) for name in names]
    ends = [*starts[1:], None]
    return [line[a:b].strip() for a, b in zip(starts, ends, strict=True)]


def test_columns_are_as_wide_as_their_widest_cell() -> None:
    table = format_table(("name", "n", "note"), [("a", 1, None), (LONG, 12345, "x")], right=(1,))
    assert table.splitlines() == [
        "name" + " " * (len(LONG) - 4) + "      n  note",
        "-" * len(LONG) + "  -----  ----",
        "a" + " " * (len(LONG) - 1) + "      1  -",
        LONG + "  12345  x",
    ]


def test_score_table_stays_aligned_with_long_account_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    accounts = [{"id": i, "signals": {"usage.dau_mau": 0.3}} for i in ("a", LONG)]
    src.write_text("".join(json.dumps(a) + "\n" for a in accounts))
    assert main(["score", "--input", str(src), "--format", "table"]) == 0
    header, rule, *rows = capsys.readouterr().out.splitlines()
    names = ["account", "score", "status", "segment", "coverage", "usage", "engagement"]
    assert header.split()[:4] == ["account", "score", "status", "segment"]
    assert set(rule) == {"-", " "}
    short, long = (columns(row, names, header) for row in rows)
    assert short[:6] == ["a", "50.00", "attention", "-", "9%", "50.00"]
    assert long == [LONG, *short[1:]]  # each cell under its header: the long id pushes nothing


def test_inbox_list_has_headers_and_long_event_ids_keep_columns_aligned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'csbridge.db'}"
    store = open_store(url)
    with store.engine.begin() as connection:
        events = [("short", b"{}"), (LONG + "-event-" + LONG, b"{}")]
        inbox.insert_events(connection, "gainsight", events, {}, datetime.now(UTC))
    store.close()
    config = tmp_path / "csbridge.yaml"
    config.write_text(f"database_url: '{url}'\n")
    assert main(["inbox", "list", "--config", str(config)]) == 0
    header, _, *rows = capsys.readouterr().out.splitlines()
    names = ["source", "status", "attempts", "event id"]
    assert header.split() == ["id", "source", "status", "attempts", "event", "id", "reason"]
    cells = [columns(row, names, header) for row in rows]
    assert sorted(c[3] for c in cells) == sorted(e for e, _ in events)
    assert {(c[0], c[1]) for c in cells} == {("gainsight", "pending")}


def test_pull_accepts_format_json_and_keeps_json_as_an_alias() -> None:
    from csbridge.cli import build_parser

    for flags in (["--format", "json"], ["--json"]):
        assert build_parser(["pull"]).parse_args(["pull", *flags]).format == "json"
    assert build_parser(["pull"]).parse_args(["pull"]).format == "table"
