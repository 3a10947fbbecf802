"""`csbridge sandbox serve` as a real subprocess: prints the URLs, serves, stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from csbridge.cli import main


def read_banner(process: subprocess.Popen[str], deadline: float) -> dict[str, str]:
    """The lines printed before 'Press Ctrl-C', as {label: value}."""
    assert process.stdout is not None
    seen: dict[str, str] = {}
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("Press Ctrl-C"):
            return seen
        label, _, value = line.strip().partition(" ")
        seen[label] = value.strip()
    raise AssertionError(f"no banner; got {seen!r}")


def test_serve_prints_urls_serves_them_and_stops_on_sigterm(port_base: int, tmp_path: Path) -> None:
    config_path = tmp_path / "csbridge.yaml"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "csbridge.cli",
            "sandbox",
            "serve",
            "--port-base",
            str(port_base),
            "--accounts",
            "40",
            "--seed",
            "5",
            "--write-config",
            str(config_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        banner = read_banner(process, time.monotonic() + 60)
        assert banner["zendesk"] == f"http://127.0.0.1:{port_base}"
        assert banner["mixpanel"] == f"http://127.0.0.1:{port_base + 1}"
        zendesk = requests.get(
            banner["zendesk"] + "/api/v2/organizations.json",
            auth=("a@b.example/token", "t"),
            timeout=10,
        )
        assert zendesk.status_code == 200 and zendesk.json()["organizations"]
        mixpanel = requests.get(
            banner["mixpanel"] + "/api/2.0/engage",
            auth=("sa", "secret"),
            params={"project_id": 1000001, "data_group_id": "1"},
            timeout=10,
        )
        assert mixpanel.status_code == 200 and mixpanel.json()["total"] > 40
        if "salesforce" in banner:
            assert banner["salesforce"] == f"https://127.0.0.1:{port_base + 2}"
            response = requests.get(
                banner["salesforce"] + "/services/data/", timeout=10, verify=banner["ca_cert"]
            )
            assert response.status_code < 500
        if "hubspot" in banner:
            assert banner["hubspot"] == f"http://127.0.0.1:{port_base + 3}"
            response = requests.get(banner["hubspot"] + "/crm/v3/objects/companies", timeout=10)
            assert response.status_code == 401  # no token
        config = yaml.safe_load(config_path.read_text())
        assert config["sources"]["zendesk"]["base_url"] == banner["zendesk"]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "stopped" in out
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(banner["zendesk"] + "/api/v2/users", timeout=2)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_port_in_use_is_a_one_line_error(
    port_base: int, capsys: pytest.CaptureFixture[str]
) -> None:

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port_base + 1))
        taken.listen()
        code = main(["sandbox", "serve", "--port-base", str(port_base), "--accounts", "5"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("csbridge: error: --port-base") and "Traceback" not in err


def test_bad_accounts_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "serve", "--accounts", "0"]) == 2
    assert "--accounts" in capsys.readouterr().err
