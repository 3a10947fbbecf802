"""The pure parts of the report-notes step: periods, planning, the note's HTML."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from csbridge.config import CrmNoteSettings, Settings
from csbridge.connectors.protocol import NoteCreate, WriteResult
from csbridge.reports.document import Chart, Document, Items, Section, Series, Table, Text
from csbridge.reports.render_note import CUT, render_note
from csbridge.store.store import Store, open_store
from csbridge.sync import ledger
from csbridge.sync import notes as notes_step
from csbridge.sync.notes import MAX_HTML, note_periods, plan_notes


def test_periods_follow_the_settings() -> None:
    day = date(2026, 12, 3)
    both = note_periods(CrmNoteSettings(review="monthly", qbr="quarterly"), day)
    assert {k: p.label for k, p in both.items()} == {"review": "2026-12", "qbr": "2026Q4"}
    quarterly = note_periods(CrmNoteSettings(review="quarterly"), day)
    assert {k: p.label for k, p in quarterly.items()} == {"review": "2026Q4"}
    assert note_periods(CrmNoteSettings(), day) == {}


def test_planning_skips_the_keys_already_created() -> None:
    periods = note_periods(CrmNoteSettings(review="monthly", qbr="quarterly"), date(2027, 1, 1))
    accounts = [("acme.com", "001A", "Acme"), ("initech.io", "001B", "Initech")]
    done = frozenset({"acme.com:note-review:2027-01"})
    notes = plan_notes(accounts, periods, done)
    assert [(n.key, n.record_id, n.title) for n in notes] == [
        ("acme.com:note-qbr:2027Q1", "001A", "QBR Prep — Acme — 2027Q1"),
        ("initech.io:note-review:2027-01", "001B", "Customer Success Review — Initech — 2027-01"),
        ("initech.io:note-qbr:2027Q1", "001B", "QBR Prep — Initech — 2027Q1"),
    ]


def test_note_html_is_escaped_one_line_and_charts_are_tables() -> None:
    document = Document("review", "Review", "acme.com\nas of today")
    document.sections = [
        Section("1. Overview", [Table(["Parameter", "Value"], [["Name", "<script>x</script>"]])]),
        Section("2. Health", [Chart("Score", "line", ["2026-11"], [Series("Total", [71.26])])]),
        Section("3. Verbatims", [Items(['"Great" & <b>fast</b>'])]),
    ]
    html = render_note(document, "Customer Success Review — Acme & Co — 2026-12")
    assert html.startswith("<h1>Customer Success Review — Acme &amp; Co — 2026-12</h1>")
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "\n" not in html and "<td>2026-11</td><td>71.3</td>" in html
    assert "<li>&quot;Great&quot; &amp; &lt;b&gt;fast&lt;/b&gt;</li>" in html


def test_a_body_too_long_is_cut_after_a_whole_section() -> None:
    document = Document("review", "Review", "acme.com")
    document.sections = [Section(f"S{i}", [Text("x" * 5000)]) for i in range(20)]
    cut = render_note(document, "T", MAX_HTML)
    assert len(render_note(document, "T")) > MAX_HTML >= len(cut)
    assert cut.count("<h2>") == cut.count("</p>") - 2  # the subtitle and the cut notice
    assert cut.endswith(CUT) and cut[: -len(CUT)].endswith("x</p>")


class FakeNotes:
    """A CRM whose notes are a dict; create calls are recorded by their keys."""

    name = "salesforce"
    note_batch_size = 12
    search_lag = 0.0

    def __init__(self) -> None:
        self.notes: dict[str, NoteCreate] = {}
        self.creates: list[list[str]] = []

    def create_notes(self, notes: Sequence[NoteCreate]) -> list[WriteResult]:
        self.creates.append([n.key for n in notes])
        self.notes.update({n.key: n for n in notes})
        return [WriteResult(n.key, True, id=f"069{i}") for i, n in enumerate(notes)]

    def find_notes(self, notes: Sequence[NoteCreate]) -> dict[str, str]:
        return {n.key: "069" for n in notes if n.key in self.notes}


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = open_store(database_url)
    yield s
    s.close()


def test_notes_built_in_slices_are_each_created_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies are built 30 at a time and sent 12 at a time: every note once, in order."""

    def bodies(source: object, benchmark: object, batch: list[NoteCreate], periods: object) -> Any:
        built.append(len(batch))
        return [replace(n, html=f"<h1>{n.title}</h1>") for n in batch]

    built: list[int] = []
    monkeypatch.setattr(notes_step, "BUILD", 30)
    monkeypatch.setattr(notes_step, "_with_bodies", bodies)
    monkeypatch.setattr(
        notes_step, "ReportSource", lambda settings, now: SimpleNamespace(close=list)
    )
    monkeypatch.setattr(notes_step, "portfolio_benchmark", lambda source: None)
    settings = Settings(reports={"crm_notes": {"review": "monthly"}})
    now = datetime(2026, 12, 3, tzinfo=UTC)
    accounts = [(f"a{i}.com", f"001{i}", f"A{i}") for i in range(50)]
    due = plan_notes(accounts, note_periods(settings.reports.crm_notes, now.date()), frozenset())
    crm = FakeNotes()
    report = notes_step.attach_notes("salesforce", crm, store, settings, due, now)
    assert (report.created, report.found, report.failed) == (50, 0, [])
    assert [len(c) for c in crm.creates] == [12, 12, 12, 12, 2]
    assert [k for c in crm.creates for k in c] == [n.key for n in due]
    assert built == [30, 20]
    assert all(n.html == f"<h1>{n.title}</h1>" for n in crm.notes.values())
    # the rerun of the period plans nothing: the ledger holds every key as created
    assert ledger.done_keys(store, "salesforce:notes") == {n.key for n in due}
