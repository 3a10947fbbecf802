"""Config mistakes through the `csbridge` command: one line on stderr naming the YAML key or
the environment variable and the fix, exit 2, no traceback, no secret echoed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from csbridge.cli import main

HUBSPOT = {"base_url": "https://api.hubapi.com", "access_token": "hs-secret-4"}
Capsys = pytest.CaptureFixture[str]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CSBRIDGE_"):
            monkeypatch.delenv(name)


def pull_with(tmp_path: Path, capsys: Capsys, **hubspot: str) -> str:
    """`csbridge pull` on a config whose hubspot section is updated with `hubspot`."""
    config = tmp_path / "csbridge.yaml"
    sources = {"hubspot": {**HUBSPOT, **hubspot}}
    config.write_text(
        yaml.safe_dump({"database_url": f"sqlite:///{tmp_path}/s.db", "sources": sources})
    )
    capsys.readouterr()
    assert main(["pull", "--config", str(config)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert str(config) in lines[0] or "environment variable" in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("url", "found"),
    [("htp://api.hubapi.com", "'htp://'"), ("api.hubapi.com", "none"), ("https://", "")],
)
def test_a_base_url_without_a_usable_scheme_or_host_names_the_key(
    tmp_path: Path, capsys: Capsys, url: str, found: str
) -> None:
    line = pull_with(tmp_path, capsys, base_url=url)
    assert "sources.hubspot.base_url: the URL" in line and "https://host" in line
    assert found in line


def test_an_empty_secret_names_the_key_and_its_variable(tmp_path: Path, capsys: Capsys) -> None:
    line = pull_with(tmp_path, capsys, access_token="  ")
    assert "sources.hubspot.access_token: empty" in line
    assert "CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN" in line


def test_a_missing_ca_bundle_names_the_key(tmp_path: Path, capsys: Capsys) -> None:
    config = tmp_path / "csbridge.yaml"
    salesforce = {
        "instance_url": "https://x.my.salesforce.com",
        "client_id": "cid",
        "client_secret": "sf-secret-3",
        "ca_bundle": str(tmp_path / "missing-ca.pem"),
    }
    config.write_text(yaml.safe_dump({"sources": {"salesforce": salesforce}}))
    assert main(["pull", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "sources.salesforce.ca_bundle: no such file; point it at the CA certificate" in err


def test_a_variable_of_the_wrong_type_is_named(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSBRIDGE_HTTP__MAX_ATTEMPTS", "six")
    line = pull_with(tmp_path, capsys)
    assert line.startswith("csbridge: error: environment variable CSBRIDGE_HTTP__MAX_ATTEMPTS: ")
    assert "valid integer" in line and "six" not in line
    assert "csbridge.yaml" not in line


def test_an_empty_secret_from_the_environment_names_the_variable(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN", "")
    line = pull_with(tmp_path, capsys)
    assert "environment variable CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN: empty" in line
    assert "csbridge.yaml" not in line


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CSBRIDGE_SOURCES_HUBSPOT_ACCESS_TOKEN", "unknown csbridge setting; unset it"),
        ("CSBRIDGE_SOURCES__HUBSPOT__TOKEN", "unknown key; unset it"),
        ("CSBRIDGE_CRM__TARGETS", "cannot be parsed; a list or mapping is written as JSON"),
    ],
)
def test_an_unknown_or_unparsable_variable_is_named(
    tmp_path: Path,
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    expected: str,
) -> None:
    monkeypatch.setenv(name, "hs-secret-9")
    line = pull_with(tmp_path, capsys)
    assert f"environment variable {name}: {expected}" in line
    assert "hs-secret-9" not in line


def test_the_log_level_variable_is_not_an_unknown_setting(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CSBRIDGE_LOG_LEVEL", "error")
    monkeypatch.setenv("CSBRIDGE_WEBHOOK_SECRET_GAINSIGHT", "s")
    line = pull_with(tmp_path, capsys, base_url="htp://x")
    assert "unknown" not in line and "sources.hubspot.base_url" in line


def test_cancel_without_a_status_for_a_target_stops_the_run_before_any_write(
    tmp_path: Path, capsys: Capsys
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("tasks: {on_episode_end: cancel, cancel_status: {hubspot: DEFERRED}}\n")
    config = tmp_path / "csbridge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database_url": f"sqlite:///{tmp_path}/s.db",
                "sources": {"hubspot": HUBSPOT},
                "crm": {"targets": ["salesforce", "hubspot"]},
                "rules": str(rules),
            }
        )
    )
    capsys.readouterr()
    assert main(["run", "--config", str(config), "--no-pull"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and "hs-secret-4" not in captured.err
    [line] = captured.err.strip().splitlines()
    assert "tasks.cancel_status.salesforce is missing" in line and "on_episode_end: leave" in line
