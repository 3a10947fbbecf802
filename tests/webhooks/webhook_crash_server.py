"""Subprocess entry: serve the webhook app on DB_URL; `--die-after-commit` SIGKILLs itself
after the inbox commit and before the response is written (matrix F8)."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import structlog
import uvicorn
import webhook_signing as signing
from pydantic import SecretStr

import csbridge.webhooks.app as webhook_app
from csbridge.config import WebhookSettings, WebhookSourceSettings
from csbridge.store.store import open_store


def main() -> None:
    url, port_file = sys.argv[1], sys.argv[2]
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    if "--die-after-commit" in sys.argv:
        real = webhook_app.JSONResponse

        def dying(content: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(content, dict) and "accepted" in content:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(content, *args, **kwargs)

        webhook_app.JSONResponse = dying  # type: ignore[misc]
    store = open_store(url)
    settings = WebhookSettings(
        sources={"standard": WebhookSourceSettings(secrets=[SecretStr(signing.STANDARD_SECRET)])}
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    Path(port_file).write_text(str(sock.getsockname()[1]))
    app = webhook_app.create_app(settings, store.engine)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


if __name__ == "__main__":
    main()
