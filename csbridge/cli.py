"""The `csbridge` command: one sub-command per module in `csbridge.commands`."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from csbridge import __version__, progress
from csbridge.errors import CsbridgeError
from csbridge.logs import COLOR_CHOICES, LEVELS, use_color
from csbridge.logs import configure as configure_logs

# Each module exposes `register(subparsers)`, which adds its sub-command and sets
# `handler` (a function of the parsed namespace returning an exit code).
COMMAND_MODULES = (
    "score",
    "demo",
    "db",
    "sandbox",
    "pull",
    "serve",
    "worker",
    "inbox",
    "health",
    "plan",
    "run",
    "init-crm",
    "backtest",
    "calibrate",
    "history",
    "report",
)

# The batch commands whose long steps show progress; the worker and the web service,
# which apply one alert at a time for as long as they run, log instead.
SHOWS_PROGRESS = ("pull", "run")
# Commands that never log: they skip setting logs up (importing structlog costs `score`'s
# start-up, before its workers can begin, about a tenth of a second).
NEVER_LOGS = ("score",)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; with a command named in `argv`, only that command's module is imported.

    Command modules import their dependencies (SDKs, SQLAlchemy, FastAPI) at import time;
    loading all of them costs about a second, which `csbridge score` need not pay.
    """
    parser = argparse.ArgumentParser(
        prog="csbridge",
        description="Customer-health sync: score accounts and write the result into the CRM.",
    )
    parser.add_argument("--version", action="version", version=f"csbridge {__version__}")
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=os.environ.get("CSBRIDGE_LOG_LEVEL", "warning").lower(),
        help="log events at this level and above to stderr (default warning; "
        "env CSBRIDGE_LOG_LEVEL)",
    )
    parser.add_argument(
        "--log-json", action="store_true", help="log as JSON lines (for log collectors)"
    )
    parser.add_argument(
        "--color",
        choices=COLOR_CHOICES,
        default="auto",
        help="colour the logs and progress on stderr (default auto: only on a terminal, "
        "never with NO_COLOR set, always with FORCE_COLOR set)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = _command_in(argv)
    for name in (chosen,) if chosen else COMMAND_MODULES:
        importlib.import_module(f"csbridge.commands.{name.replace('-', '_')}").register(subparsers)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The sub-command named in argv (skipping global options and their values), if any."""
    args = iter(argv)
    for arg in args:
        if arg in ("--log-level", "--color"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg if arg in COMMAND_MODULES else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    color = use_color(args.color)
    if args.command not in NEVER_LOGS:
        configure_logs(args.log_level, json_format=args.log_json, color=color)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    reporter = (
        progress.for_stream(sys.stderr, json_format=args.log_json, color=color)
        if args.command in SHOWS_PROGRESS
        else progress.Silent()
    )
    try:
        with progress.reporting(reporter):
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
