"""Webhook intake: signed requests/s and time to a durable acknowledgement, SQLite vs PostgreSQL.

    .venv/bin/python bench/webhooks.py [--requests 6000] [--concurrency 64] [--rate 1000]
                                       [--connections 128] [--duplicates 0.3]

For each database the service runs in its own process (uvicorn, one worker, the
real app: size limit, Standard Webhooks verification, inbox insert committed
before the 200). The same process also serves `POST /bare`, a FastAPI endpoint
that reads the body and answers 200 with no check and no database: the ceiling
of this framework, server and load generator in the same run. The generator is a
small keep-alive HTTP/1.1 client on asyncio. Two loads per endpoint:

- closed loop: `--concurrency` senders, each sending its next request when the last
  is answered: the most the service takes (its latency is mostly queueing: with 64
  senders, Little's law puts the mean at 64 / rate);
- open loop: requests due at a fixed `--rate` whatever the service does, spread over
  `--connections` connections, latency counted from each request's due time (no
  coordinated omission): the time to acknowledge at that load, which is what the
  target "1,000 req/s with p99 under 50 ms" asks.

30 % of the requests repeat an earlier event id, some of them at the same moment;
afterwards the inbox must hold exactly one row per distinct id. Prints req/s, p50
and p99 (ms), each as a ratio to the bare endpoint, and whether the target is met.
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
from fastapi import Request  # module level: FastAPI resolves the handler's annotation here
from fastapi.responses import JSONResponse

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
SECRET = "whsec_" + base64.b64encode(b"bench-secret-32-bytes-long......").decode()


def serve(url: str, port_file: str) -> None:
    """Server mode: the real app plus /bare on an ephemeral port written to `port_file`."""
    import structlog
    import uvicorn
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
    port: int,
    queue: asyncio.Queue[tuple[bytes, float | None] | None],
    latencies: list[float],
    statuses: list[int],
) -> None:
    """Send what `queue` hands out, one at a time; latency counts from the item's due
    time, or from the moment it is sent when it has none."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (item := await queue.get()) is not None:
            request, due = item
            started = time.perf_counter() if due is None else due
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


async def load(
    port: int, requests: list[bytes], connections: int, rate: float | None = None
) -> dict[str, float]:
    """Send every request over `connections` keep-alive connections.

    Without `rate`, each connection sends its next request as soon as the previous one
    is answered (closed loop: the most the service takes). With `rate`, request i is
    due at start + i / rate whatever the service does (open loop); its latency counts
    from that due time, so time spent waiting for a free connection is included.
    """
    queue: asyncio.Queue[tuple[bytes, float | None] | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: list[int] = []
    senders = [
        asyncio.create_task(_one_connection(port, queue, latencies, statuses))
        for _ in range(connections)
    ]
    started = time.perf_counter()
    for index, request in enumerate(requests):
        due = None
        if rate is not None:
            due = started + index / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
        queue.put_nowait((request, due))
    for _ in senders:
        queue.put_nowait(None)
    await asyncio.gather(*senders)
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
        paced = signed_requests(args.requests, args.duplicates, seed=8)
        warm = signed_requests(300, 0.0, seed=99)
        asyncio.run(load(port, [as_bare(r) for r, _ in warm], args.concurrency))
        asyncio.run(load(port, [r for r, _ in warm], args.concurrency))
        bare = asyncio.run(load(port, [as_bare(r) for r, _ in pairs], args.concurrency))
        real = asyncio.run(load(port, [r for r, _ in pairs], args.concurrency))
        bare_paced = asyncio.run(
            load(port, [as_bare(r) for r, _ in paced], args.connections, args.rate)
        )
        real_paced = asyncio.run(load(port, [r for r, _ in paced], args.connections, args.rate))
    finally:
        server.terminate()
        server.wait(timeout=30)
        Path(port_file).unlink(missing_ok=True)
    distinct = len({event_id for _, event_id in pairs + paced})
    rows = inbox_count(url) - 300
    met = real["rps"] >= args.rate and real_paced["p99_ms"] < args.p99_ms
    pad = " " * 11
    print(
        f"{label:<10} closed loop, {args.concurrency} senders (the most it takes):\n"
        f"{pad}intake {_line(real)}\n{pad}bare   {_line(bare)}\n{pad}ratio  {_ratios(real, bare)}\n"
        f"{pad}open loop, {args.rate:.0f} req/s offered (latency from each request's due time):\n"
        f"{pad}intake {_line(real_paced)}\n{pad}bare   {_line(bare_paced)}\n"
        f"{pad}ratio  {_ratios(real_paced, bare_paced)}\n"
        f"{pad}target >= {args.rate:.0f} req/s with p99 < {args.p99_ms:.0f} ms at that rate: "
        f"{'met' if met else 'NOT met'}\n"
        f"{pad}{2 * args.requests} requests, {2 * args.requests - distinct} duplicates: "
        f"{rows} inbox rows for {distinct} distinct ids "
        f"({'exactly one each' if rows == distinct else 'MISMATCH'})"
    )


def _line(result: dict[str, float]) -> str:
    return (
        f"{result['rps']:7.0f} req/s  p50 {result['p50_ms']:6.2f} ms  "
        f"p99 {result['p99_ms']:6.2f} ms  non-2xx {result['non_2xx']:.0f}"
    )


def _ratios(real: dict[str, float], bare: dict[str, float]) -> str:
    return (
        f"{real['rps'] / bare['rps']:7.2f} x rate   p50 {real['p50_ms'] / bare['p50_ms']:5.2f} x  "
        f"p99 {real['p99_ms'] / bare['p99_ms']:5.2f} x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=64, help="closed-loop senders")
    parser.add_argument("--rate", type=float, default=1000.0, help="open-loop req/s offered")
    parser.add_argument("--connections", type=int, default=128, help="open-loop connections")
    parser.add_argument("--p99-ms", type=float, default=50.0, help="the p99 target at --rate")
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
