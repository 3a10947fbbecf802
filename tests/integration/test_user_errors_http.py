"""User mistakes met over real HTTP (the sandbox emulators and the real SDKs), through the
`csbridge` command: each is one line on stderr naming the system, the URL or the fix,
exit 2, no traceback, no secret; never "ok, 0 records" nor a false "All writes landed"."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from csbridge.cli import main
from csbridge_sandbox.runner import Sandbox, run_sandbox

Capsys = pytest.CaptureFixture[str]
SECRETS = ("sandbox-token", "sandbox-secret", "pat-sandbox-token")
FIRST_CALL = {  # the route each source's pull calls first
    "zendesk": "GET /api/v2/organizations",
    "hubspot": "GET /crm/v3/owners",
    "mixpanel": "GET /api/2.0/export",
    "salesforce": "POST /services/oauth2/token",
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CSBRIDGE_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(port_base=0, accounts=12, seed=5, rate_limits="off") as running:
        yield running


def write_config(sandbox: Sandbox, tmp: Path, sources: tuple[str, ...], **changes: Any) -> Path:
    """The sandbox config reduced to `sources`, with `changes` ("source.key": value) applied
    and short retry bounds."""
    path = sandbox.write_config(tmp / "csbridge.yaml")
    data = yaml.safe_load(path.read_text())
    data["database_url"] = f"sqlite:///{tmp / 'state.db'}"
    data["sources"] = {name: data["sources"][name] for name in sources}
    data["http"] = {"max_attempts": 2, "max_retry_seconds": 5}
    data["crm"]["hubspot"] = {"task_lookup_delay": 0}
    for dotted, value in changes.items():
        source, key = dotted.split(".")
        data["sources"][source][key] = value
    path.write_text(yaml.safe_dump(data))
    return path


def one_line_error(argv: list[str], capsys: Capsys) -> str:
    """Run the command; assert exit 2 and one error line on stderr, the last one (log lines
    of retries may come before it); return that line."""
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("csbridge: error: ")]
    assert "Traceback" not in err and errors == err.splitlines()[-1:], err
    assert not any(secret in err for secret in SECRETS), err
    return errors[0]


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("zendesk", "base_url"),
        ("hubspot", "base_url"),
        ("mixpanel", "export_url"),
        ("salesforce", "login_url"),
    ],
)
def test_a_wrong_base_path_is_an_error_naming_the_url_not_ok_0_records(
    sandbox: Sandbox, tmp_path: Path, capsys: Capsys, source: str, key: str
) -> None:
    wrong = sandbox.urls[source] + "/wrong"
    config = write_config(sandbox, tmp_path, (source,), **{f"{source}.{key}": wrong})
    line = one_line_error(["pull", "--config", str(config)], capsys)
    assert line.startswith(f"csbridge: error: {source} ")
    assert f"HTTP 404, not found at {wrong}/" in line and "check the configured base URL" in line


def test_a_closed_port_is_a_refused_connection_not_a_timeout(
    sandbox: Sandbox, tmp_path: Path, capsys: Capsys, sleeps: list[float]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(
        sandbox, tmp_path, ("hubspot",), **{"hubspot.base_url": f"http://127.0.0.1:{port}"}
    )
    line = one_line_error(["pull", "--config", str(config)], capsys)
    assert line == (
        f"csbridge: error: hubspot owners: connection refused by 127.0.0.1:{port} "
        "— is the service running / is base_url right?"
    )
    assert len(sleeps) == 1  # retried once (max_attempts 2): a restarting service gets a chance


def test_an_unknown_host_is_named(sandbox: Sandbox, tmp_path: Path, capsys: Capsys) -> None:
    url = "http://nonexistent.invalid:8080"
    config = write_config(sandbox, tmp_path, ("zendesk",), **{"zendesk.base_url": url})
    line = one_line_error(["pull", "--config", str(config)], capsys)
    assert "zendesk organizations: unknown host nonexistent.invalid" in line
    assert "timeout" not in line


@pytest.mark.parametrize(
    ("source", "status"),
    [
        ("zendesk", 401),
        ("hubspot", 401),
        ("mixpanel", 401),
        ("salesforce", 401),
        ("zendesk", 403),
        ("hubspot", 403),
    ],
)
def test_a_401_or_403_during_pull_is_a_credentials_error(
    sandbox: Sandbox, tmp_path: Path, capsys: Capsys, source: str, status: int
) -> None:
    config = write_config(sandbox, tmp_path, (source,))
    sandbox.control(source).arm(kind="status", status=status, count=1, match=FIRST_CALL[source])
    line = one_line_error(["pull", "--config", str(config)], capsys)
    assert line.startswith(f"csbridge: error: {source} ")
    assert f"HTTP {status}" in line and f"check the credentials under sources.{source}" in line
    assert sandbox.control(source).armed() == []


def test_a_401_in_the_middle_of_a_run_stops_it_as_a_credentials_error(
    sandbox: Sandbox, tmp_path: Path, capsys: Capsys
) -> None:
    """The pull went through; HubSpot refuses the token at the first write: exit 2 naming
    HubSpot, not a list of failed records."""
    config = write_config(sandbox, tmp_path, ("salesforce", "hubspot"))
    data = yaml.safe_load(config.read_text())
    data["crm"]["targets"] = ["hubspot"]
    config.write_text(yaml.safe_dump(data))
    assert main(["init-crm", "--config", str(config), "--target", "hubspot"]) == 0
    hubspot = sandbox.control("hubspot")
    hubspot.arm(kind="status", status=401, count=1, match="POST /crm/v3/objects/companies/batch")
    now = sandbox.world.now.isoformat()
    line = one_line_error(["run", "--config", str(config), "--now", now], capsys)
    assert line.startswith("csbridge: error: hubspot companies batch ")
    assert "HTTP 401" in line and "check the credentials under sources.hubspot" in line
    assert hubspot.armed() == []


def test_pull_of_a_source_that_is_not_configured_says_where_to_configure_it(
    sandbox: Sandbox, tmp_path: Path, capsys: Capsys
) -> None:
    config = write_config(sandbox, tmp_path, ("hubspot",))
    line = one_line_error(["pull", "--config", str(config), "--source", "zendesk"], capsys)
    assert line == (
        f"csbridge: error: --source zendesk: not configured; configure sources.zendesk in {config}"
    )


@pytest.fixture(scope="module")
def fresh_crms() -> Iterator[Sandbox]:
    """CRMs on which `init-crm` has not been run (no csbridge custom fields)."""
    with run_sandbox(
        port_base=0, accounts=12, seed=5, vendors=("salesforce", "hubspot")
    ) as running:
        yield running


@pytest.mark.parametrize("target", ["salesforce", "hubspot"])
def test_run_before_init_crm_says_to_run_init_crm(
    fresh_crms: Sandbox, tmp_path: Path, capsys: Capsys, target: str
) -> None:
    config = write_config(fresh_crms, tmp_path, ("salesforce", "hubspot"))
    data = yaml.safe_load(config.read_text())
    data["crm"]["targets"] = [target]
    config.write_text(yaml.safe_dump(data))
    now = fresh_crms.world.now.isoformat()
    line = one_line_error(["run", "--config", str(config), "--now", now], capsys)
    assert line.startswith(f"csbridge: error: {target} ")
    assert "the CRM has no field " in line and "run `csbridge init-crm` first" in line


def test_a_dry_run_says_nothing_was_written_and_exits_0_even_when_a_pull_stopped(
    fresh_crms: Sandbox, tmp_path: Path, capsys: Capsys, sleeps: list[float]
) -> None:
    config = write_config(fresh_crms, tmp_path, ("salesforce", "hubspot"))
    fresh_crms.control("hubspot").arm(kind="status", status=503, count=2, match="/crm/v3/owners")
    capsys.readouterr()
    code = main(["run", "--config", str(config), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "pull stopped early: hubspot.owners" in out
    assert "would update" in out and "Dry run: nothing was written." in out
    assert "All writes landed" not in out and "did not land" not in out
