"""`csbridge demo`: score the bundled example portfolio and print the table."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the main job on the bundled example data")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("csbridge demo: nothing to show yet")
    return 0
