"""Every report on the sandbox: the store (on PostgreSQL) is filled once by `csbridge run`
at six monthly dates against the emulators (real SDKs over HTTP), then each report is
built through the CLI in HTML, Markdown and JSON.

Checked: every seed section is there (filled, or saying which source would fill it), no
raw indicator key, rule name or Python repr in the text, and the HTML opens in headless
Chromium with no console error and no outside request, with a screenshot taken.
"""

from __future__ import annotations

import json
import os
import re
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from browser_page import open_page

from csbridge.cli import main
from csbridge.reports.periods import quarter_of
from csbridge.scoring import load_model
from csbridge_sandbox.runner import run_sandbox

RUN_DAYS_BACK = (150, 120, 90, 60, 30, 0)
POSTGRES_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"


@dataclass(frozen=True)
class Filled:
    config: Path
    now: str
    account: str
    owner: str
    crm_id: str
    tmp: Path


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh schema on the local PostgreSQL for this module (bench/reports.py uses SQLite)."""
    schema = f"csb_reports_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Filled]:
    """Six monthly runs against the sandbox, so the store holds six months of scores."""
    tmp = tmp_path_factory.mktemp("reports")
    with run_sandbox(port_base=0, accounts=30, seed=5, rate_limits="off") as sandbox:
        config = sandbox.write_config(tmp / "csbridge.yaml")
        data = yaml.safe_load(config.read_text())
        data["database_url"] = pg_url
        config.write_text(yaml.safe_dump(data))
        assert main(["init-crm", "--config", str(config)]) == 0
        now = sandbox.world.now
        for back in RUN_DAYS_BACK:
            when = (now - timedelta(days=back)).isoformat()
            page = ["--report", str(tmp / "run.html")] if back == 0 else []
            assert main(["run", "--config", str(config), "--now", when, *page]) == 0
        account = sandbox.world.accounts[0]
        owner = sandbox.world.owners_by_id[account.owner]
        yield Filled(
            config, now.isoformat(), account.domain, owner.email, account.salesforce_id, tmp
        )


def _model_keys() -> set[str]:
    """Words that must never reach a reader: indicator and rule keys of the model."""
    model = load_model("seed-5d")
    keys = {f"{d}.{i}" for d, dim in model.dimensions.items() for i in dim.indicators}
    keys |= {i for dim in model.dimensions.values() for i in dim.indicators if "_" in i}
    return keys | {"churn_risk", "detractor_remeasure", "at_risk", "high_touch", "new_business"}


REPRS = re.compile(r"\bNone\b|\bnan\b|\{'|\[\]|datetime\.|Decimal\(|<[a-z.]+ object at")


def _readable(text: str) -> None:
    for key in _model_keys():
        assert not re.search(rf"(?<![\w.-]){re.escape(key)}(?![\w-])", text), key
    assert not REPRS.search(text), REPRS.search(text)


def _build(filled: Filled, args: list[str], fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    out = filled.tmp / f"{args[0]}-{fmt}.{fmt}"
    code = main(["report", *args, "--config", str(filled.config), "--now", filled.now,
                 "--format", fmt, "--out", str(out)])  # fmt: skip
    assert code == 0
    assert f"wrote {out}" in capsys.readouterr().out
    return out.read_text(encoding="utf-8")


def _check_page(path: Path, min_height: int = 1500) -> str:
    page = open_page(path)
    assert page.console_errors == []
    assert page.outside_requests == []
    png = page.screenshot
    width, height = struct.unpack(">II", png[16:24])  # the PNG header's IHDR chunk
    assert width == 1280 and height > min_height  # the whole page, not the viewport
    assert len(png) > 40_000  # text, tables and charts; a blank page of that size is ~10 kB
    (path.parent / f"{path.stem}.png").write_bytes(page.screenshot)
    return page.text


REVIEW_SECTIONS = (
    "1. Overview",
    "2. Health score",
    "3. Satisfaction",
    "4. Adoption and usage",
    "5. Success plan progress",
    "6. Relationship map",
    "7. Opportunities and risks",
    "8. Actions and next steps",
)


def test_review_fills_the_eight_sections_in_every_format(
    filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["review", "--account", filled.account]
    markdown = _build(filled, args, "md", capsys)
    for title in REVIEW_SECTIONS:
        assert f"## {title}" in markdown
    _readable(markdown)
    # six months of history: one row per month, the latest month scored
    months = re.findall(r"^\| (\d{4}-\d{2}) \| (\d+|-) \| [A-Z-]", markdown, re.M)
    assert len(months) == 6 and months[-1][1] != "-"
    assert "Success plan objectives" in markdown and "would come from" in markdown

    document = json.loads(_build(filled, args, "json", capsys))
    assert [s["title"] for s in document["sections"]] == list(REVIEW_SECTIONS)
    assert document["data"]["account"] == filled.account
    assert document["data"]["score"] is not None
    assert set(document["definitions"]) >= {"nps", "csat", "ces"}

    html = filled.tmp / "review-html.html"
    _build(filled, args, "html", capsys)
    assert html.read_text().count("<svg") == 2  # score history and usage trend
    text = _check_page(html)
    _readable(text)
    for title in REVIEW_SECTIONS:
        assert title in text
    printed = open_page(html, print_media=True)  # print CSS: same content, no error
    assert printed.console_errors == [] and all(t in printed.text for t in REVIEW_SECTIONS)


PORTFOLIO_SECTIONS = (
    "Business outcomes",
    "Retention by month",
    "Satisfaction: NPS, CSAT (top-2-box), CES",
    "Health distribution",
    "CSM load",
    "Playbook outcomes",
    "Touchpoint cadence",
    "Definitions",
)


def test_portfolio_reports_the_seed_metrics_with_their_definitions(
    filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    quarter = quarter_of(datetime.fromisoformat(filled.now).date())
    args = ["portfolio", "--period", quarter.label]
    document = json.loads(_build(filled, args, "json", capsys))
    assert [s["title"] for s in document["sections"]] == list(PORTFOLIO_SECTIONS)
    data = document["data"]
    assert data["accounts"] == 30
    assert data["retention"]["start_arr"] > 0 and data["retention"]["grr"] is not None
    assert len(data["monthly"]) == 6
    # every CRM account scored by the six runs: the bands add up to the accounts
    health = next(s for s in document["sections"] if s["title"] == "Health distribution")
    by_owner = health["blocks"][0]["rows"]
    assert sum(int(row[-1]) for row in by_owner) == 30
    assert sum(r["created"] for r in data["tasks_per_rule"].values()) > 0
    assert set(document["definitions"]) == {"grr", "nrr", "churned_arr", "contraction",
        "expansion", "logo_churn", "renewal_rate", "expansion_share", "time_to_first_value",
        "nps", "csat", "ces", "health_distribution", "csm_load", "tasks_per_rule",
        "churn_risk_recovery", "touchpoint_cadence"}  # fmt: skip
    # every account's cadence as the latest run measured it
    cadence = data["cadence"]
    assert cadence["measured"] > 0 and cadence["measured"] + cadence["not_measured"] == 30
    assert sum(s["measured"] for s in cadence["per_segment"].values()) == cadence["measured"]
    markdown = _build(filled, args, "md", capsys)
    _readable(markdown)
    _build(filled, args, "html", capsys)
    html = filled.tmp / "portfolio-html.html"
    assert html.read_text().count("<svg") == 2  # NRR/GRR by month, bands over time
    text = _check_page(html)
    _readable(text)
    assert "Gross revenue retention (GRR)" in text


QBR_SECTIONS = (
    "Account information",
    "Participants",
    "Highlights",
    "Challenges",
    "Expansion opportunities",
    "Health score",
    "Preparation notes",
)


def test_qbr_prep_reviews_the_quarter_before(
    filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    year = int(filled.now[:4])
    args = ["qbr", "--account", filled.account, "--quarter", f"{year + 1}Q1"]
    document = json.loads(_build(filled, args, "json", capsys))
    titles = [s["title"] for s in document["sections"]]
    assert set(QBR_SECTIONS) <= set(titles)
    assert f"Review of {year}Q4" in titles and f"Plan for {year + 1}Q1" in titles
    assert document["data"]["reviewed"] == f"{year}Q4"
    # the health moved between the start of the quarter and now: one of the lists says so
    said = document["data"]["highlights"] + document["data"]["challenges"]
    assert any(line.startswith("Health score ") for line in said)
    markdown = _build(filled, args, "md", capsys)
    _readable(markdown)
    assert "Objectives against results" in markdown and "would come from" in markdown
    _build(filled, args, "html", capsys)
    text = _check_page(filled.tmp / "qbr-html.html")
    _readable(text)


DEBRIEF_SECTIONS = (
    "Portfolio overview",
    "Activities of the day",
    "Alerts handled",
    "Tomorrow - priorities",
    "Notes and escalations",
    "Health distribution",
    "Satisfaction: NPS, CSAT (top-2-box), CES",
    "CSM load",
)


def test_debrief_of_one_owner_counts_only_their_book(
    filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    today = filled.now[:10]
    everyone = json.loads(_build(filled, ["debrief", "--date", today], "json", capsys))
    args = ["debrief", "--owner", filled.owner.upper(), "--date", today]
    document = json.loads(_build(filled, args, "json", capsys))
    assert [s["title"] for s in document["sections"]] == list(DEBRIEF_SECTIONS)
    assert document["data"]["date"] == today
    assert 0 < document["data"]["accounts"] < everyone["data"]["accounts"] == 30
    load = next(s for s in document["sections"] if s["title"] == "CSM load")
    # one row per segment of the owner's book (every sandbox account has a segment)
    assert {row[0] for row in load["blocks"][0]["rows"]} == {document["data"]["owner"]}
    markdown = _build(filled, args, "md", capsys)
    _readable(markdown)
    day = next(s for s in document["sections"] if s["title"] == "Activities of the day")
    assert [b["columns"][0:2] for b in day["blocks"]] == [
        ["Client", "Calls"],
        ["Client", "Task (playbook)"],
    ]
    for block, header in zip(day["blocks"], ("E-mails sent", "Completed by"), strict=True):
        assert (header if block["rows"] else block["empty"]) in markdown
    assert "does not pull" not in markdown
    _build(filled, args, "html", capsys)
    _readable(_check_page(filled.tmp / "debrief-html.html"))


def test_run_writes_a_page_when_the_report_path_ends_in_html(filled: Filled) -> None:
    text = _check_page(filled.tmp / "run.html", min_height=900)
    for title in ("What was written", "What failed and why", "API calls per system"):
        assert title in text
    assert "Time per step" in text and "Write HubSpot" in text and "Pull" in text
    assert "Nothing failed." in text
    _readable(text)


def test_a_bad_period_is_one_line_and_exit_2(
    filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "portfolio", "--config", str(filled.config), "--period", "Q4-2026"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--period 'Q4-2026'" in err
    later = f"{int(filled.now[:4]) + 1}Q4"
    code = main(["report", "portfolio", "--config", str(filled.config), "--period", later,
                 "--now", filled.now])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"--period {later}: starts after" in err


def test_an_account_is_found_by_domain_crm_id_or_name(
    filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    by_domain = json.loads(_build(filled, ["review", "--account", filled.account], "json", capsys))
    name = by_domain["data"]["name"]
    by_name = json.loads(_build(filled, ["review", "--account", name.upper()], "json", capsys))
    assert by_name["data"]["account"] == filled.account
    crm_id = filled.crm_id
    by_id = json.loads(_build(filled, ["review", "--account", crm_id], "json", capsys))
    assert by_id["data"]["account"] == filled.account


def test_an_unknown_account_is_one_line_and_exit_2(
    filled: Filled, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", "review", "--config", str(filled.config), "--account", "nope.example"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--account 'nope.example'" in err and "domain" in err


def test_every_review_reads_a_slice_at_a_time_and_matches_the_single_review(
    filled: Filled, monkeypatch: pytest.MonkeyPatch
) -> None:
    from csbridge.config import load_config
    from csbridge.reports.render_md import render_md
    from csbridge.reports.review import build_review, every_review, portfolio_benchmark
    from csbridge.reports.source import ReportSource

    monkeypatch.setattr("csbridge.reports.review.SLICE", 7)
    monkeypatch.setattr("csbridge.reports.source.SLICE", 7)
    source = ReportSource(load_config(filled.config), datetime.fromisoformat(filled.now))
    try:
        benchmark = portfolio_benchmark(source)
        documents = {d.data["account"]: render_md(d) for d in every_review(source, benchmark)}
        assert sorted(documents) == source.keys and len(documents) == 30
        alone = render_md(build_review(source, filled.account, benchmark))
        assert documents[filled.account] == alone
    finally:
        source.close()


def test_an_empty_store_says_to_run_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'empty.db'}\n")
    assert main(["report", "portfolio", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CRM accounts in the store; run `csbridge run`" in err
