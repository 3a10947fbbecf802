"""Progress of the long steps: pull per stream, scoring, apply per CRM.

sync/ reports through `current()` and never writes to the terminal itself; the CLI
installs a reporter with `reporting(...)` around each command. On a terminal that is
live progress bars (rich); anywhere else (cron, a container log) one structured line
per finished step, key=value or JSON, so a long run is never silent. Library callers
and tests that install nothing get the silent default.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

if TYPE_CHECKING:
    from structlog.typing import Processor


class Progress(Protocol):
    """What a long step tells whoever watches: started (with a total if known), moved, done."""

    def start(self, step: str, total: int | None = None) -> None: ...

    def advance(self, step: str, amount: int = 1) -> None: ...

    def done(self, step: str, **fields: Any) -> None: ...

    def close(self) -> None: ...


class Silent:
    """Reports nothing: the default outside the CLI."""

    def start(self, step: str, total: int | None = None) -> None:
        pass

    def advance(self, step: str, amount: int = 1) -> None:
        pass

    def done(self, step: str, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass


class StepLines(Silent):
    """One line per finished step: `event=step step=pull.zendesk.tickets records=… seconds=…`."""

    def __init__(self, stream: TextIO, *, json_format: bool) -> None:
        self._stream = stream
        import structlog  # here: `csbridge score` never pays for importing it

        self._began: dict[str, float] = {}
        self._render: Processor = (
            structlog.processors.JSONRenderer()
            if json_format
            else structlog.processors.LogfmtRenderer(
                key_order=["timestamp", "event", "step"], bool_as_flag=False
            )
        )

    def start(self, step: str, total: int | None = None) -> None:
        self._began[step] = time.monotonic()

    def done(self, step: str, **fields: Any) -> None:
        began = self._began.pop(step, None)
        event = {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "event": "step",
            "step": step,
            **fields,
        }
        if began is not None:
            event["seconds"] = round(time.monotonic() - began, 1)
        line = cast(str, self._render(None, "info", event))  # both renderers return text
        self._stream.write(line + "\n")
        self._stream.flush()


class LiveBars(Silent):
    """A progress bar per step on the terminal; the display starts with the first step."""

    def __init__(self, stream: TextIO, *, color: bool) -> None:
        from rich.console import Console  # imported here: only a terminal pays for it
        from rich.progress import Progress as Bars

        console = Console(file=stream, color_system="auto" if color else None)
        self._bars = Bars(console=console, redirect_stdout=False, redirect_stderr=False)
        self._tasks: dict[str, Any] = {}
        self._started = False

    def start(self, step: str, total: int | None = None) -> None:
        if not self._started:
            self._bars.start()
            self._started = True
        self._tasks[step] = self._bars.add_task(step, total=total)

    def advance(self, step: str, amount: int = 1) -> None:
        if step in self._tasks:
            self._bars.advance(self._tasks[step], amount)

    def done(self, step: str, **fields: Any) -> None:
        task = self._tasks.pop(step, None)
        if task is None:
            return
        summary = " ".join(f"{k}={v}" for k, v in fields.items())
        completed = self._bars.tasks[task].completed
        total = self._bars.tasks[task].total or completed or 1
        self._bars.update(task, description=f"{step} {summary}", total=total, completed=total)

    def close(self) -> None:
        if self._started:
            self._bars.stop()


_SILENT = Silent()
_current: ContextVar[Progress | None] = ContextVar("csbridge_progress", default=None)


def current() -> Progress:
    """The reporter the running command installed (silent when none was)."""
    return _current.get() or _SILENT


def for_stream(stream: TextIO, *, json_format: bool, color: bool) -> Progress:
    """Bars when `stream` is a terminal (and JSON logs were not asked for), else step lines."""
    if stream.isatty() and not json_format:
        return LiveBars(stream, color=color)
    return StepLines(stream, json_format=json_format)


@contextmanager
def reporting(reporter: Progress) -> Iterator[Progress]:
    """Install `reporter` for the steps run inside the block; close it at the end."""
    token = _current.set(reporter)
    try:
        yield reporter
    finally:
        _current.reset(token)
        reporter.close()
