"""Config loading: the documented YAML, env overrides, and one-line errors without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from csbridge.config import DEFAULT_DATABASE_URL, load_config
from csbridge.errors import CsbridgeError

FULL = """\
database_url: sqlite:///./csbridge.db
model: seed-5d
sources:
  zendesk:    {base_url: "https://acme.zendesk.com", email: "admin@example.com", api_token: "zd-secret-1"}
  mixpanel:   {export_url: "https://data.mixpanel.com", api_url: "https://mixpanel.com", project_id: 1000001, service_account_username: "sa", service_account_secret: "mp-secret-2", timezone: "UTC", group_key: "company_domain"}
  salesforce: {instance_url: "https://x.my.salesforce.com", login_url: "https://login.salesforce.com", client_id: "cid", client_secret: "sf-secret-3", api_version: "62.0", ca_bundle: null}
  hubspot:    {base_url: "https://api.hubapi.com", access_token: "hs-secret-4"}
crm:
  targets: [salesforce, hubspot]
identity:
  key: domain
"""  # noqa: E501


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CSBRIDGE_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "csbridge.yaml"
    path.write_text(text)
    return path


def test_documented_example_loads(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, FULL))
    assert settings.sources.mixpanel is not None
    assert settings.sources.mixpanel.project_id == 1000001
    assert settings.sources.hubspot is not None
    assert settings.sources.hubspot.access_token.get_secret_value() == "hs-secret-4"
    assert settings.crm.targets == ["salesforce", "hubspot"]
    assert settings.http.connect_timeout > 0


def test_secrets_are_masked_in_repr(tmp_path: Path) -> None:
    text = repr(load_config(write(tmp_path, FULL)))
    for secret in ("zd-secret-1", "mp-secret-2", "sf-secret-3", "hs-secret-4"):
        assert secret not in text


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSBRIDGE_DATABASE_URL", "postgresql://db.example/cs")
    monkeypatch.setenv("CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN", "from-env")
    settings = load_config(write(tmp_path, FULL))
    assert settings.database_url == "postgresql://db.example/cs"
    assert settings.sources.hubspot is not None
    assert settings.sources.hubspot.access_token.get_secret_value() == "from-env"
    assert settings.sources.hubspot.base_url == "https://api.hubapi.com"  # rest of the file kept


def test_secret_from_env_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = FULL.replace(', access_token: "hs-secret-4"', "")
    monkeypatch.setenv("CSBRIDGE_SOURCES__HUBSPOT__ACCESS_TOKEN", "only-env")
    settings = load_config(write(tmp_path, text))
    assert settings.sources.hubspot is not None
    assert settings.sources.hubspot.access_token.get_secret_value() == "only-env"


def test_no_file_gives_defaults() -> None:
    settings = load_config(None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.sources.zendesk is None


def test_missing_key_names_file_key_and_env(tmp_path: Path) -> None:
    path = write(tmp_path, FULL.replace(', api_token: "zd-secret-1"', ""))
    with pytest.raises(CsbridgeError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "sources.zendesk.api_token: required" in message
    assert "CSBRIDGE_SOURCES__ZENDESK__API_TOKEN" in message
    assert "\n" not in message


def test_typo_and_bad_type_are_both_reported_without_values(tmp_path: Path) -> None:
    text = FULL.replace("api_token:", "api_tokn:").replace("1000001", "one-million")
    with pytest.raises(CsbridgeError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "sources.zendesk.api_tokn: unknown key" in message
    assert "sources.mixpanel.project_id:" in message
    assert "zd-secret-1" not in message
    assert "one-million" not in message


def test_bad_literal(tmp_path: Path) -> None:
    with pytest.raises(CsbridgeError, match=r"crm\.targets\.0: .*'salesforce' or 'hubspot'"):
        load_config(write(tmp_path, FULL.replace("[salesforce, hubspot]", "[pipedrive]")))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CsbridgeError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_bad_yaml_gives_line(tmp_path: Path) -> None:
    with pytest.raises(CsbridgeError, match="not valid YAML at line 2"):
        load_config(write(tmp_path, "model: seed-5d\nsources: {a: [1, 2}\n"))


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    with pytest.raises(CsbridgeError, match="top level must be a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))
