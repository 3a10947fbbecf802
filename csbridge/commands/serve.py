"""`csbridge serve`: the webhook service (FastAPI on uvicorn), optionally with a worker."""

from __future__ import annotations

import argparse
import threading
from contextlib import ExitStack
from typing import Any

import uvicorn

from csbridge.config import load_config
from csbridge.errors import CsbridgeError
from csbridge.store.store import open_store
from csbridge.webhooks import worker
from csbridge.webhooks.app import create_app
from csbridge.webhooks.reaction import configured_reaction
from csbridge.webhooks.senders import enabled_senders


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run the webhook service (POST /webhooks/{source}, /healthz, /readyz, /metrics)",
        description=(
            "Receive signed webhooks and store each event durably in the inbox before "
            "answering 2xx. Senders are enabled by their secrets (webhooks.sources.<name> "
            "or CSBRIDGE_WEBHOOK_SECRET_<NAME>)."
        ),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML config file")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any)")
    parser.add_argument(
        "--with-worker",
        action="store_true",
        help="also process the inbox in this process (same as webhooks.worker_in_serve)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    settings = load_config(args.config)
    hooks = settings.webhooks
    senders = enabled_senders(hooks)
    if not senders:
        raise CsbridgeError(
            f"{args.config or 'environment'}: no webhook sender has a secret; add "
            "webhooks.sources.<name>.secrets or set CSBRIDGE_WEBHOOK_SECRET_<NAME>"
        )
    store = open_store(settings.database_url)
    app = create_app(hooks, store.engine, senders=senders)
    stop = threading.Event()
    thread = None
    with ExitStack() as stack:
        stack.callback(store.close)
        if args.with_worker or hooks.worker_in_serve:
            react = stack.enter_context(configured_reaction(settings, store))
            thread = threading.Thread(
                target=worker.run,
                args=(store.engine, react, stop),
                kwargs={"lease_seconds": hooks.lease_seconds, "metrics": app.state.metrics},
                name="csbridge-inbox-worker",
                daemon=True,
            )
            thread.start()
        try:
            uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=10)
    return 0
