"""A new source is a factory in the registry: `csbridge pull` reads it with no other edit."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fake_source import BUILT, START, WIDGETS, fake_source

from csbridge.cli import main
from csbridge.connectors import registry
from csbridge.models import Account
from csbridge.store.store import open_store


def test_a_registered_fake_source_is_pulled_by_csbridge_pull(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(registry.SOURCES, "fake", fake_source)
    BUILT.clear()
    url = f"sqlite:///{tmp_path / 'csbridge.db'}"
    config = tmp_path / "csbridge.yaml"
    config.write_text(f"database_url: {url}\n")  # no `sources:` section at all

    assert main(["pull", "--config", str(config), "--source", "fake", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["records"] == {"fake.companies": 5}
    assert first["pages"] == {"fake.companies": 3}
    assert first["stopped"] == {}

    store = open_store(url)
    try:
        stored = {a.id: a.name for a in store.load(Account, source="fake")}
        cursor = store.get_cursor("fake.companies")
    finally:
        store.close()
    assert stored == {w.id: w.name for w in WIDGETS}
    assert cursor is not None and cursor.token == WIDGETS[-1].updated_at.isoformat()
    assert cursor.watermark == START + timedelta(days=4)  # from the source's watermark()

    assert main(["pull", "--config", str(config), "--json"]) == 0  # resumes from the cursor
    second = json.loads(capsys.readouterr().out)
    assert second["records"] == {"fake.companies": 0}
    assert BUILT[-1].cursors_seen == [cursor.token]
