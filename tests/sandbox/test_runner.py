"""The sandbox runner: real servers on ephemeral ports, TLS for Salesforce, clean stop."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml

from csbridge.cli import main
from csbridge_sandbox import runner
from csbridge_sandbox.runner import run_sandbox
from csbridge_sandbox.world.build import World


def test_serves_every_vendor_and_stops_cleanly(small_world: World, tmp_path: Path) -> None:
    with run_sandbox(world=small_world) as sandbox:
        assert sandbox.missing == [] or set(sandbox.missing) <= {"salesforce", "hubspot"}
        assert sandbox.urls["zendesk"].startswith("http://127.0.0.1:")
        assert sandbox.urls["mixpanel"].startswith("http://127.0.0.1:")
        ports = {url.rsplit(":", 1)[1] for url in sandbox.urls.values()}
        assert len(ports) == len(sandbox.urls)
        if "salesforce" in sandbox.urls:
            url = sandbox.urls["salesforce"]
            assert url.startswith("https://127.0.0.1:")
            # the generated CA verifies the server certificate (SAN IP 127.0.0.1)
            response = requests.get(
                url + "/services/data/", verify=str(sandbox.ca_cert_path), timeout=10
            )
            assert response.status_code < 500
            with pytest.raises(requests.exceptions.SSLError):
                requests.get(url + "/services/data/", timeout=10)  # not in the system store
        config_path = sandbox.write_config(tmp_path / "conf" / "csbridge.yaml")
        config = yaml.safe_load(config_path.read_text())
        assert config["sources"]["zendesk"]["base_url"] == sandbox.urls["zendesk"]
        assert config["sources"]["mixpanel"]["project_id"] == 1000001
        assert config["identity"] == {"key": "domain"}
        if "salesforce" in sandbox.urls:
            assert config["sources"]["salesforce"]["api_version"] == "59.0"
            ca_copy = Path(config["sources"]["salesforce"]["ca_bundle"])
            assert ca_copy.read_bytes() == sandbox.ca_cert_path.read_bytes()
            assert "salesforce" in config["crm"]["targets"]
        zendesk = sandbox.urls["zendesk"]
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(zendesk + "/api/v2/users", timeout=2)


def test_written_config_names_its_database_by_absolute_path(
    small_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with run_sandbox(world=small_world, vendors=("zendesk",)) as sandbox:
        monkeypatch.chdir(tmp_path)
        config_path = sandbox.write_config(Path("conf") / "csbridge.yaml")
    database = tmp_path / "conf" / "csbridge.db"
    assert yaml.safe_load(config_path.read_text())["database_url"] == f"sqlite:///{database}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a command run from another directory finds the same file
    assert main(["db", "upgrade", "--config", str(tmp_path / config_path)]) == 0
    assert database.exists()
    assert list(elsewhere.iterdir()) == []


def test_port_base_puts_vendors_on_consecutive_ports(small_world: World, port_base: int) -> None:
    base = port_base
    with run_sandbox(port_base=base, world=small_world) as sandbox:
        for vendor, url in sandbox.urls.items():
            assert url.endswith(f":{base + runner.VENDORS[vendor][1]}")
        assert requests.get(sandbox.urls["zendesk"] + "/api/v2/users", timeout=5).status_code == 401
        # the port is taken while the sandbox runs
        with (
            pytest.raises(OSError),
            run_sandbox(port_base=base, world=small_world, vendors=("zendesk",)),
        ):
            pass


def test_absent_vendor_module_is_skipped(
    small_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(runner.VENDORS, "hubspot", ("csbridge_sandbox.no_such_vendor", 3, "http"))
    with run_sandbox(world=small_world, vendors=("zendesk", "hubspot")) as sandbox:
        assert sandbox.missing == ["hubspot"] and list(sandbox.urls) == ["zendesk"]
        assert "hubspot" not in sandbox.config()["sources"]


def test_rejects_unknown_rate_limit_mode(small_world: World) -> None:
    with (
        pytest.raises(ValueError, match="rate_limits"),
        run_sandbox(world=small_world, rate_limits="sometimes"),
    ):
        pass
