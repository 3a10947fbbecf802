"""Log setup for the CLI: structured logs on stderr, so stdout stays the command's output.

Colour (ANSI escape codes) only goes to a terminal: a cron log or a collector reading a
pipe gets plain text. `NO_COLOR` (https://no-color.org) turns it off and `FORCE_COLOR`
on; `--color always|never` overrides both.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from structlog.typing import Processor

LEVELS = ("debug", "info", "warning", "error")
COLOR_CHOICES = ("auto", "always", "never")


def use_color(choice: str = "auto", stream: TextIO | None = None) -> bool:
    """Whether to colour output to `stream` (stderr by default) for `--color choice`."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    target = sys.stderr if stream is None else stream
    return target.isatty()


def configure(level: str = "warning", *, json_format: bool = False, color: bool = False) -> None:
    """Send structlog events at `level` and above to stderr, as text (coloured only when
    asked) or JSON lines."""
    import structlog  # here: `csbridge score`, which never logs, does not import it

    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json_format
        else structlog.dev.ConsoleRenderer(colors=color)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
