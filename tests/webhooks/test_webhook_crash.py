"""Intake faults: killed after the commit but before the answer (F8), database down (L4),
and `csbridge serve --with-worker` end to end with secrets from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import webhook_signing as signing
from conftest import seed_accounts, serve, webhook_settings
from sqlalchemy import create_engine, select

from csbridge.store.store import open_store
from csbridge.store.tables import webhook_inbox
from csbridge.webhooks.app import create_app

HERE = Path(__file__).parent


def start(args: list[str], port_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    proc = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        if port_file.exists() and port_file.read_text():
            break
        assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port_file.read_text()}"
    while True:  # wait until it accepts connections
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return proc, url
        except httpx.TransportError:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_killed_after_commit_then_retried_is_one_row(database_url: str, tmp_path: Path) -> None:
    script = str(HERE / "webhook_crash_server.py")
    body = signing.standard_event()
    first_port = tmp_path / "port1"
    proc, url = start(
        [sys.executable, script, database_url, str(first_port), "--die-after-commit"], first_port
    )
    with pytest.raises(httpx.TransportError):
        httpx.post(
            f"{url}/webhooks/standard", content=body, headers=signing.standard_headers(body, "f8")
        )
    assert proc.wait(timeout=30) == -9
    second_port = tmp_path / "port2"
    proc, url = start([sys.executable, script, database_url, str(second_port)], second_port)
    try:
        retry = httpx.post(
            f"{url}/webhooks/standard", content=body, headers=signing.standard_headers(body, "f8")
        )
        assert retry.status_code == 200 and retry.json() == {"accepted": 1, "new": 0}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    store = open_store(database_url)
    with store.engine.connect() as connection:
        rows = connection.execute(select(webhook_inbox.c.event_id, webhook_inbox.c.status)).all()
    store.close()
    assert [tuple(r) for r in rows] == [("f8", "pending")]


def test_database_down_is_503_never_2xx() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1")
    server, thread, port = serve(create_app(webhook_settings(), engine))
    try:
        body = signing.standard_event()
        response = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/standard",
            content=body,
            headers=signing.standard_headers(body, "down"),
            timeout=10,
        )
        assert response.status_code == 503
        assert response.headers["retry-after"] == "30"
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 503
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_serve_command_with_worker_and_env_secret(database_url: str, tmp_path: Path) -> None:
    store = open_store(database_url)
    seed_accounts(store)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = tmp_path / "csbridge.yaml"
    config.write_text(f"database_url: '{database_url}'\nwebhooks:\n  worker_in_serve: true\n")
    env = {**os.environ, "CSBRIDGE_WEBHOOK_SECRET_GAINSIGHT": "old-secret new-secret"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "csbridge.cli",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        event = signing.platform_event("gs-9")
        for secret, expected in (("new-secret", 200), ("old-secret", 200), ("other", 401)):
            response = httpx.post(
                f"{url}/webhooks/gainsight", content=event, headers={"x-csbridge-token": secret}
            )
            assert response.status_code == expected, secret
        assert httpx.post(f"{url}/webhooks/zendesk", content=b"{}").status_code == 404
        query = select(webhook_inbox.c.status, webhook_inbox.c.error)
        while True:
            with store.engine.connect() as connection:
                rows = connection.execute(query).all()
            if rows and rows[0].status == "processed":
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        assert [tuple(r) for r in rows] == [
            ("processed", "no reaction configured yet (account salesforce:001A)")
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        store.close()
