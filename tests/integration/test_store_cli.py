"""`csbridge db upgrade` and `csbridge db current` on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbridge.cli import main
from csbridge.store.migrate import head_revision


def test_current_then_upgrade_then_current(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "csbridge.yaml"
    config.write_text(f"database_url: '{database_url}'\n")
    assert main(["db", "current", "--config", str(config)]) == 1
    assert "revision none" in capsys.readouterr().out
    assert main(["db", "upgrade", "--config", str(config)]) == 0
    assert f"at revision {head_revision()}" in capsys.readouterr().out
    assert main(["db", "current", "--config", str(config)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_env_database_url_wins(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSBRIDGE_DATABASE_URL", database_url)
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0


def test_bad_config_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("database_url: mysql://x@h/db\n")
    assert main(["db", "upgrade", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csbridge: error: database_url:")
    assert err.count("\n") == 1
