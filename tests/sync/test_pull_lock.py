"""`pull` takes the same lock as `run` (a busy store is one line and exit 2), checks it
before each page, and a cursor that would move back stops its stream with a clear
reason instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from csbridge.cli import main
from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.http.paginate import Page
from csbridge.store.lock import LockLostError, run_lock
from csbridge.store.store import Cursor, CursorRegressionError, open_store
from csbridge.sync.pull import pull

STREAM = "zendesk.organizations"  # its token is a unix time (`watermark`)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    """A config with one Zendesk source nobody answers (the tests never reach it)."""
    path = tmp_path / "csbridge.yaml"
    zendesk = {"base_url": "https://127.0.0.1:9", "email": "a@b.c", "api_token": "t0ken"}
    data = {"database_url": database_url, "sources": {"zendesk": zendesk}}
    path.write_text(yaml.safe_dump(data))
    return path


def test_pull_is_refused_while_a_run_holds_the_store(
    config: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(database_url)
    try:
        with run_lock(store):
            code = main(["pull", "--config", str(config)])
    finally:
        store.close()
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "another csbridge run" in err and "Traceback" not in err
    assert "t0ken" not in err


def fake_streams(pages: list[Page[Any]]) -> Any:
    def streams(*_args: Any) -> Iterator[tuple[str, Any, Any]]:
        def read(_cursor: str | None) -> Iterable[Page[Any]]:
            return iter(pages)

        def watermark(token: str | None) -> datetime | None:  # epoch seconds, as Zendesk's
            return datetime.fromtimestamp(int(token), tz=UTC) if token else None

        yield STREAM, read, watermark

    return streams


def test_a_cursor_moving_back_stops_its_stream_with_the_reason(
    config: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process advanced the cursor meanwhile: the page is not stored, the stream
    stops with a message saying what happened and what comes next, no exception."""
    store = open_store(database_url)
    ahead = datetime(2026, 11, 2, tzinfo=UTC)
    store.save_page([], Cursor(STREAM, str(int(ahead.timestamp())), ahead))
    monkeypatch.setattr("csbridge.sync.pull.streams", fake_streams([Page([], "1000")]))
    try:
        report = pull(load_config(config), store)
        assert not report.ok
        reason = report.stopped[STREAM]
        assert "would move back" in reason and "next pull resumes" in reason
        stored = store.get_cursor(STREAM)
        assert stored is not None and stored.watermark == ahead
    finally:
        store.close()
    assert issubclass(CursorRegressionError, CsbridgeError)  # one line anywhere else too


def test_pull_stops_before_the_next_page_once_the_lock_is_lost(
    config: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[None] = []

    def verify() -> None:
        checks.append(None)
        if len(checks) > 1:
            raise LockLostError("lost the run lock")

    pages: list[Page[Any]] = [Page([], "1000"), Page([], "2000")]
    monkeypatch.setattr("csbridge.sync.pull.streams", fake_streams(pages))
    store = open_store(database_url)
    try:
        with pytest.raises(LockLostError):
            pull(load_config(config), store, verify_lock=verify)
        stored = store.get_cursor(STREAM)
        assert stored is not None and stored.token == "1000"  # the second page never saved
    finally:
        store.close()
