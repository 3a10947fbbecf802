"""Webhook intake: signed requests/s and time to a durable acknowledgement, SQLite vs PostgreSQL.

    .venv/bin/python bench/webhooks.py [--requests 6000] [--concurrency 64] [--duplicates 0.3]

For each database the service runs in its own process (uvicorn, one worker, the
real app: size limit, Standard Webhooks verification, inbox insert committed
before the 200). The same process also serves `POST /bare`, a FastAPI endpoint
that reads the body and answers 200 with no check and no database: the ceiling
of this framework, server and load generator in the same run. The generator is a
small keep-alive HTTP/1.1 client on asyncio (one connection per concurrent
sender). 30 % of the requests repeat an earlier event id, some of them at the
same moment; afterwards the inbox must hold exactly one row per distinct id.
Prints req/s, p50 and p99 (ms) and each as a ratio to the bare endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-32-bytes-long......").decode()


def serve(url: str, port_file: str) -> None:
    """Server mode: the real app plus /bare on an ephemeral port written to `port_file`."""
    import structlog
    import uvicorn
    from fastapi import Request
    from fastapi.responses import JSONResponse
    from pydantic import SecretStr

    from csbridge.config import WebhookSettings, WebhookSourceSettings
    from csbridge.store.store import open_store
    from csbridge.webhooks.app import create_app

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(40), cache_logger_on_first_use=True
    )
    store = open_store(url)
    settings = WebhookSettings(
        sources={"standard": WebhookSourceSettings(secrets=[SecretStr(SECRET)])}
    )
    app = create_app(settings, store.engine)

    @app.post("/bare")
    async def bare(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"accepted": 1, "new": 1})

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    Path(port_file).write_text(str(sock.getsockname()[1]))
    config = uvicorn.Config(app, log_level="error", access_log=False, backlog=4096)
    uvicorn.Server(config).run(sockets=[sock])


def signed_requests(total: int, duplicates: float, seed: int = 7) -> list[tuple[bytes, str]]:
    """(raw HTTP request, event id) pairs; a share repeat an earlier id (fresh signature)."""
    rng = random.Random(seed)
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    ids: list[str] = []
    out = []
    stamp = str(int(time.time()))
    for _ in range(total):
        if ids and rng.random() < duplicates:
            msg_id = ids[-rng.randint(1, min(len(ids), 50))]  # recent: often in flight
        else:
            msg_id = f"msg_{uuid.UUID(int=rng.getrandbits(128)).hex}"
            ids.append(msg_id)
        body = json.dumps(
            {
                "type": "account.score_dropped",
                "timestamp": "2026-11-23T10:00:00Z",
                "data": {"account": f"acct{rng.randint(1, 5000)}.example", "score": 42},
                "pad": "x" * 2000,  # payloads of 2-3 kB, as the matrix's L1
            }
        ).encode()
        digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
        head = (
            "POST /webhooks/standard HTTP/1.1\r\nhost: bench\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
            f"webhook-id: {msg_id}\r\nwebhook-timestamp: {stamp}\r\n"
            f"webhook-signature: v1,{base64.b64encode(digest).decode()}\r\n\r\n"
        )
        out.append((head.encode() + body, msg_id))
    return out


def as_bare(request: bytes) -> bytes:
    return request.replace(b"POST /webhooks/standard ", b"POST /bare ", 1)


async def _one_connection(
    port: int, queue: asyncio.Queue[bytes], latencies: list[float], statuses: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            writer.write(request)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses.append(int(status_line.split()[1]))
    finally:
        writer.close()


async def load(port: int, requests: list[bytes], concurrency: int) -> dict[str, float]:
    """Send every request over `concurrency` keep-alive connections; rates and latencies."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    statuses: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(_one_connection(port, queue, latencies, statuses) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000,
        "non_2xx": float(sum(1 for s in statuses if not 200 <= s < 300)),
    }


def inbox_count(url: str) -> int:
    from sqlalchemy import func, select

    from csbridge.store.store import open_store
    from csbridge.store.tables import webhook_inbox

    store = open_store(url)
    with store.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(webhook_inbox)).scalar_one()
    store.close()
    return int(count)


def bench(label: str, url: str, args: argparse.Namespace) -> None:
    port_file = tempfile.mktemp(prefix="csbridge-bench-port-")
    server = subprocess.Popen([sys.executable, __file__, "--serve", url, port_file])
    try:
        deadline = time.monotonic() + 30
        while not (Path(port_file).exists() and Path(port_file).read_text()):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"{label}: server did not start")
            time.sleep(0.05)
        time.sleep(0.3)
        port = int(Path(port_file).read_text())
        pairs = signed_requests(args.requests, args.duplicates)
        warm = signed_requests(300, 0.0, seed=99)
        asyncio.run(load(port, [as_bare(r) for r, _ in warm], args.concurrency))
        asyncio.run(load(port, [r for r, _ in warm], args.concurrency))
        bare = asyncio.run(load(port, [as_bare(r) for r, _ in pairs], args.concurrency))
        real = asyncio.run(load(port, [r for r, _ in pairs], args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)
        Path(port_file).unlink(missing_ok=True)
    distinct = len({event_id for _, event_id in pairs})
    rows = inbox_count(url) - 300
    print(
        f"{label:<10} intake {real['rps']:7.0f} req/s  p50 {real['p50_ms']:6.2f} ms  "
        f"p99 {real['p99_ms']:6.2f} ms  non-2xx {real['non_2xx']:.0f}\n"
        f"{'':<10} bare   {bare['rps']:7.0f} req/s  p50 {bare['p50_ms']:6.2f} ms  "
        f"p99 {bare['p99_ms']:6.2f} ms\n"
        f"{'':<10} ratio  {real['rps'] / bare['rps']:7.2f} x rate   "
        f"p50 {real['p50_ms'] / bare['p50_ms']:5.2f} x  "
        f"p99 {real['p99_ms'] / bare['p99_ms']:5.2f} x\n"
        f"{'':<10} {args.requests} requests, {args.requests - distinct} duplicates: "
        f"{rows} inbox rows for {distinct} distinct ids "
        f"({'exactly one each' if rows == distinct else 'MISMATCH'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duplicates", type=float, default=0.3)
    parser.add_argument("--serve", nargs=2, metavar=("URL", "PORT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    with tempfile.TemporaryDirectory() as folder:
        bench("sqlite", f"sqlite:///{folder}/bench.db", args)
    schema = f"csb_bench_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
        bench("postgresql", url, args)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
