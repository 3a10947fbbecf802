"""`csbridge score`: score accounts from a file with a scoring model."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("score", help="score accounts from a JSON or JSON Lines file")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return 0
