"""The `csbridge` command: one sub-command per module in `csbridge.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from csbridge import __version__
from csbridge.errors import CsbridgeError

# Each module exposes `register(subparsers)`, which adds its sub-command and sets
# `handler` (a function of the parsed namespace returning an exit code).
COMMAND_MODULES = ("score", "demo", "db", "sandbox", "pull")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="csbridge",
        description="Customer-health sync: score accounts and write the result into the CRM.",
    )
    parser.add_argument("--version", action="version", version=f"csbridge {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"csbridge.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = handler(args)
    except CsbridgeError as exc:
        print(f"csbridge: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("csbridge: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
