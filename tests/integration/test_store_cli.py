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
    # an empty PostgreSQL schema has no revision; a SQLite file that is not there, no database
    sqlite = database_url.startswith("sqlite")
    assert main(["db", "current", "--config", str(config)]) == (2 if sqlite else 1)
    captured = capsys.readouterr()
    assert ("no database at" in captured.err) if sqlite else ("revision none" in captured.out)
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


def test_current_on_a_missing_sqlite_file_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "state" / "nothing-here.db"
    config = tmp_path / "csbridge.yaml"
    config.write_text(f"database_url: 'sqlite:///{missing}'\n")
    assert main(["db", "current", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"csbridge: error: database_url: no database at {missing}")
    assert err.count("\n") == 1
    assert not missing.exists()
    assert not missing.parent.exists()


def test_bad_config_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("database_url: mysql://x@h/db\n")
    assert main(["db", "upgrade", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("csbridge: error: database_url:")
    assert err.count("\n") == 1
