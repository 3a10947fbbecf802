"""`csbridge demo`: the main job on the embedded sandbox, then what a CSM would see.

Starts the four emulators with a seeded customer base, prepares both CRMs
(`init-crm`), runs the scheduled job once (`run`: pull, score, rules, write back),
prints its summary, and shows the accounts most at risk as they now read in
Salesforce and HubSpot, fetched back through each CRM's API. Nothing outside a
temporary directory is touched.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the main job on the embedded sandbox and show the result"
    )
    parser.add_argument("--accounts", type=int, default=500, help="size of the sandbox (500)")
    parser.add_argument("--seed", type=int, default=7, help="sandbox seed (7)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from csbridge.cli import main
    from csbridge.commands.demo_crm import show_crm_accounts
    from csbridge.commands.sandbox import sandbox_runner
    from csbridge.config import load_config

    run_sandbox = sandbox_runner()
    out = sys.stdout
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="csbridge-demo-") as tmp:
        config = Path(tmp) / "csbridge.yaml"
        out.write(f"Starting the sandbox with {args.accounts} accounts (seed {args.seed})...\n")
        with (
            run_sandbox(port_base=0, accounts=args.accounts, seed=args.seed) as sandbox,
            _env(CSBRIDGE_DATABASE_URL=f"sqlite:///{Path(tmp) / 'csbridge.db'}"),
        ):
            sandbox.write_config(config)
            for name, url in sandbox.urls.items():
                out.write(f"  {name:<11} {url}\n")
            out.write("\n$ csbridge init-crm --config csbridge.yaml\n")
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                code = main(["init-crm", "--config", str(config)])
            out.write(buffer.getvalue().strip().splitlines()[-2] + "\n" if code == 0 else "")
            if code != 0:
                out.write(buffer.getvalue())
                return code
            now = sandbox.world.now.isoformat()
            out.write(f"\n$ csbridge run --config csbridge.yaml --now {now}\n")
            code = main(["run", "--config", str(config), "--now", now])
            if code != 0:
                return code
            show_crm_accounts(load_config(config), out)
    out.write(f"\nDone in {time.monotonic() - started:.0f} s.\n")
    return 0


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
