"""Serve the four vendor emulators with uvicorn on a background thread.

`run_sandbox()` binds every socket before it returns (port_base 0 = four ephemeral ports,
otherwise P..P+3 in the order zendesk, mixpanel, salesforce, hubspot), serves Salesforce
over TLS with a freshly generated certificate, and stops the servers when the `with` block
ends. Vendor modules are imported lazily from `VENDORS`, so a vendor whose module does not
exist yet is skipped (and listed in `Sandbox.missing`) rather than breaking the others.
Every emulator serves `/_sandbox/stats` and `/_sandbox/faults` (control.py);
`Sandbox.control(vendor)` reaches the same state in process.
"""

from __future__ import annotations

import asyncio
import importlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import yaml

from csbridge_sandbox.control.state import Control
from csbridge_sandbox.tls import write_certificates
from csbridge_sandbox.world.build import World, build_world
from csbridge_sandbox.world.names import FEATURES

# vendor -> (module, port offset, scheme)
VENDORS: dict[str, tuple[str, int, str]] = {
    "zendesk": ("csbridge_sandbox.zendesk.app", 0, "http"),
    "mixpanel": ("csbridge_sandbox.mixpanel.app", 1, "http"),
    "salesforce": ("csbridge_sandbox.salesforce.app", 2, "https"),
    "hubspot": ("csbridge_sandbox.hubspot.app", 3, "http"),
}
DEFAULT_PORT_BASE = 8760
SALESFORCE_API_VERSION = "59.0"  # simple-salesforce's DEFAULT_API_VERSION
MIXPANEL_PROJECT_ID = 1000001
START_TIMEOUT = 15.0


@dataclass
class Sandbox:
    """The running emulators: their world, base URLs, app objects and the CA to trust."""

    world: World
    urls: dict[str, str]
    ca_cert_path: Path
    apps: dict[str, Any]
    rate_limits: str
    missing: list[str] = field(default_factory=list)

    def control(self, vendor: str) -> Control:
        """The stats and faults of one emulator, for tests in this process (the same state
        `/_sandbox/stats` and `/_sandbox/faults` serve over HTTP; see control.py)."""
        if vendor not in self.apps:
            raise KeyError(f"{vendor} is not served by this sandbox: {', '.join(self.apps)}")
        control: Control = self.apps[vendor].state.control
        return control

    def config(
        self, database_url: str = "sqlite:///./csbridge.db", ca_bundle: Path | None = None
    ) -> dict[str, Any]:
        """The csbridge configuration that pulls from every served vendor and writes to the CRMs."""
        sources: dict[str, Any] = {}
        if "zendesk" in self.urls:
            sources["zendesk"] = {
                "base_url": self.urls["zendesk"],
                "email": "admin@example.com",
                "api_token": "sandbox-token",
            }
        if "mixpanel" in self.urls:
            sources["mixpanel"] = {
                "export_url": self.urls["mixpanel"],
                "api_url": self.urls["mixpanel"],
                "project_id": MIXPANEL_PROJECT_ID,
                "key_features": list(FEATURES),
                "feature_property": "feature",
                "duration_property": "$duration",
                "service_account_username": "sandbox.sa",
                "service_account_secret": "sandbox-secret",
                "timezone": "UTC",
                "group_key": "company_domain",
            }
        if "salesforce" in self.urls:
            sources["salesforce"] = {
                "instance_url": self.urls["salesforce"],
                "login_url": self.urls["salesforce"],
                "client_id": "sandbox",
                "client_secret": "sandbox-secret",
                "api_version": SALESFORCE_API_VERSION,
                "ca_bundle": str(ca_bundle or self.ca_cert_path),
            }
        if "hubspot" in self.urls:
            sources["hubspot"] = {
                "base_url": self.urls["hubspot"],
                "access_token": "pat-sandbox-token",
            }
        return {
            "database_url": database_url,
            "model": "seed-5d",
            "sources": sources,
            "crm": {"targets": [v for v in ("salesforce", "hubspot") if v in self.urls]},
            "identity": {"key": "domain"},
        }

    def write_config(self, path: str | Path, **settings: Any) -> Path:
        """Write `config()` as YAML to `path` and return the path; `settings` replace or
        add top-level sections (`rules=...`, `model=...`).

        The database is `csbridge.db` beside the config, by absolute path.

        The sandbox CA is copied next to it (`<name>-ca.pem`), so the config stays usable
        while this sandbox runs even though the runner's temp directory is private.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        ca_copy = target.with_name(f"{target.stem}-ca.pem")
        shutil.copyfile(self.ca_cert_path, ca_copy)
        # absolute, so the config works from any directory: the database sits beside it
        database = (target.parent / "csbridge.db").resolve()
        config = self.config(database_url=f"sqlite:///{database}", ca_bundle=ca_copy.resolve())
        config.update(settings)
        target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return target


def load_apps(
    world: World, rate_limits: str, vendors: tuple[str, ...]
) -> tuple[dict[str, Any], list[str]]:
    """Build each vendor's app; a vendor whose module is absent is returned as missing."""
    apps: dict[str, Any] = {}
    missing: list[str] = []
    for vendor in vendors:
        module_name = VENDORS[vendor][0]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            missing.append(vendor)
            continue
        apps[vendor] = module.make_app(world, rate_limits=rate_limits)
    return apps, missing


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP; without it, keep-alive responses stall ~40 ms (Nagle + delayed ACK)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


@contextmanager
def run_sandbox(
    port_base: int = 0,
    accounts: int = 500,
    seed: int = 7,
    rate_limits: str = "off",
    host: str = "127.0.0.1",
    *,
    vendors: tuple[str, ...] = tuple(VENDORS),
    world: World | None = None,
) -> Iterator[Sandbox]:
    """Serve the emulators until the block exits; yields the running `Sandbox`."""
    if rate_limits not in ("off", "realistic"):
        raise ValueError("rate_limits must be 'off' or 'realistic'")
    world = world if world is not None else build_world(accounts=accounts, seed=seed)
    apps, missing = load_apps(world, rate_limits, vendors)
    with tempfile.TemporaryDirectory(prefix="csbridge-sandbox-") as tmp:
        certs = write_certificates(Path(tmp), hosts=(host, "localhost"))
        servers: list[uvicorn.Server] = []
        sockets: list[socket.socket] = []
        urls: dict[str, str] = {}
        try:
            for vendor, app in apps.items():
                _, offset, scheme = VENDORS[vendor]
                sock = _bind(host, port_base + offset if port_base else 0)
                sockets.append(sock)
                tls: dict[str, Any] = {}
                if scheme == "https":
                    tls = {
                        "ssl_certfile": str(certs.server_cert),
                        "ssl_keyfile": str(certs.server_key),
                    }
                config = uvicorn.Config(
                    app,
                    log_level="warning",
                    access_log=False,
                    lifespan="off",
                    timeout_graceful_shutdown=2,
                    **tls,
                )
                servers.append(uvicorn.Server(config))
                port = sock.getsockname()[1]
                shown = f"[{host}]" if ":" in host else host
                urls[vendor] = f"{scheme}://{shown}:{port}"
            thread = _start(servers, sockets)
            sandbox = Sandbox(world, urls, certs.ca_cert, apps, rate_limits, missing)
            try:
                yield sandbox
            finally:
                for server in servers:
                    # at once: a client's idle pooled TLS connection would otherwise hold the
                    # stop for the whole graceful timeout (its close waits for the peer)
                    server.should_exit = server.force_exit = True
                thread.join(timeout=10)
        finally:
            for sock in sockets:
                sock.close()


def _start(servers: list[uvicorn.Server], sockets: list[socket.socket]) -> threading.Thread:
    errors: list[BaseException] = []

    async def serve_all() -> None:
        await asyncio.gather(*(s.serve(sockets=[k]) for s, k in zip(servers, sockets, strict=True)))

    def main() -> None:
        try:
            asyncio.run(serve_all())
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)

    thread = threading.Thread(target=main, name="csbridge-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not all(s.started for s in servers):
        if errors or not thread.is_alive():
            raise RuntimeError(f"sandbox servers failed to start: {errors[:1]!r}")
        if time.monotonic() > deadline:
            raise RuntimeError("sandbox servers did not start within 15 s")
        time.sleep(0.01)
    return thread
