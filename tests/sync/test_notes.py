"""The pure parts of the report-notes step: periods, planning, the note's HTML."""

from __future__ import annotations

from datetime import date

from csbridge.config import CrmNoteSettings
from csbridge.reports.document import Chart, Document, Items, Section, Series, Table, Text
from csbridge.reports.render_note import CUT, render_note
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
