"""`csbridge sandbox serve`: run the four vendor emulators in the foreground.

Zendesk listens on P, Mixpanel on P+1, Salesforce (https) on P+2, HubSpot on P+3. The
command prints the base URLs, optionally writes a csbridge config that uses them, and runs
until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from csbridge.errors import CsbridgeError

DEFAULT_PORT_BASE = 8760


def register(subparsers: Any) -> None:
    """Add `sandbox serve`."""
    parser = subparsers.add_parser("sandbox", help="local emulators of the vendor APIs")
    commands = parser.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    serve = commands.add_parser(
        "serve",
        help="serve Zendesk, Mixpanel, Salesforce and HubSpot emulators until Ctrl-C",
        description="Zendesk on P, Mixpanel on P+1, Salesforce (https) on P+2, HubSpot on P+3.",
    )
    serve.add_argument(
        "--port-base",
        type=int,
        default=DEFAULT_PORT_BASE,
        metavar="P",
        help="first port (default 8760; 0 = four free ports)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--accounts",
        type=int,
        default=500,
        metavar="N",
        help="customer accounts to generate (default 500)",
    )
    serve.add_argument("--seed", type=int, default=7, metavar="S", help="random seed (default 7)")
    serve.add_argument(
        "--rate-limits",
        choices=("off", "realistic"),
        default="off",
        help="enforce the vendors' documented rate limits (default off)",
    )
    serve.add_argument(
        "--write-config",
        metavar="PATH",
        help="write a csbridge config file that uses these emulators",
    )
    serve.set_defaults(handler=serve_command)
    parser.set_defaults(handler=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def sandbox_runner() -> Callable[..., Any]:
    """`csbridge_sandbox.runner.run_sandbox`, imported only when a command needs it: the
    product runs without the sandbox, which is the extra `csbridge[sandbox]`."""
    try:
        from csbridge_sandbox.runner import run_sandbox
    except ImportError as exc:
        raise CsbridgeError(
            f"the sandbox is not installed ({exc.name} is missing): pip install 'csbridge[sandbox]'"
        ) from exc
    return run_sandbox


def serve_command(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns 0 on a clean stop."""
    run_sandbox = sandbox_runner()
    if args.accounts < 1 or args.accounts > 200_000:
        raise CsbridgeError("--accounts must be between 1 and 200000")
    if args.port_base and not 1 <= args.port_base <= 65_532:
        raise CsbridgeError("--port-base must be 0 or a port from 1 to 65532 (P..P+3 are used)")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            context = run_sandbox(
                port_base=args.port_base,
                accounts=args.accounts,
                seed=args.seed,
                rate_limits=args.rate_limits,
                host=args.host,
            )
            sandbox = context.__enter__()
        except OSError as exc:
            raise CsbridgeError(
                f"--port-base {args.port_base}: cannot listen on {args.host} ports "
                f"{args.port_base}-{args.port_base + 3} ({exc.strerror}); pick another --port-base"
            ) from None
        try:
            print(
                f"csbridge sandbox: {args.accounts} accounts, seed {args.seed}, "
                f"rate limits {args.rate_limits}"
            )
            for vendor, url in sandbox.urls.items():
                print(f"{vendor:<11} {url}")
            for vendor in sandbox.missing:
                print(f"{vendor:<11} (not available in this build)")
            print(f"ca_cert     {sandbox.ca_cert_path}")
            if args.write_config:
                path = sandbox.write_config(args.write_config)
                print(f"config      {path}")
            print("Press Ctrl-C to stop.", flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            context.__exit__(None, None, None)
        print("csbridge sandbox: stopped", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
