"""Colour only on a terminal: the CLI's stderr through a pipe (cron, a collector) carries no
ANSI escape codes; on a pseudo-terminal it does, unless NO_COLOR or `--color never`."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

ESC = "\x1b["

# The CLI configures the logs, then an event is logged as any module would.
SNIPPET = (
    "import sys, structlog; from csbridge.cli import main; "
    "main(sys.argv[1:]); structlog.get_logger().warning('shown.event', system='zendesk')"
)


def _args(tmp_path: Path, *options: str) -> list[str]:
    """A command that sets the logs up (then stops: its config is missing)."""
    missing = tmp_path / "missing.yaml"
    return [sys.executable, "-c", SNIPPET, *options, "health", "--config", str(missing)]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return env | extra


def test_stderr_through_a_pipe_has_no_escape_codes(tmp_path: Path) -> None:
    done = subprocess.run(_args(tmp_path), capture_output=True, text=True, env=_env(), check=True)
    assert "shown.event" in done.stderr
    assert ESC not in done.stderr + done.stdout


def test_force_color_and_color_always_colour_a_pipe(tmp_path: Path) -> None:
    forced = subprocess.run(
        _args(tmp_path), capture_output=True, text=True, env=_env(FORCE_COLOR="1"), check=True
    )
    always = subprocess.run(
        _args(tmp_path, "--color", "always"), capture_output=True, text=True, env=_env()
    )
    assert ESC in forced.stderr
    assert ESC in always.stderr


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run with stderr on a pseudo-terminal; what the terminal received."""
    leader, follower = pty.openpty()
    with subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=follower, env=env) as child:
        os.close(follower)
        received = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            received += chunk
    os.close(leader)
    assert child.returncode == 0
    return received.decode()


@pytest.mark.parametrize(
    ("options", "env", "coloured"),
    [
        ((), {}, True),
        ((), {"NO_COLOR": "1"}, False),
        (("--color", "never"), {}, False),
    ],
)
def test_a_terminal_gets_colour_unless_told_not_to(
    tmp_path: Path, options: tuple[str, ...], env: dict[str, str], coloured: bool
) -> None:
    received = _on_a_terminal(_args(tmp_path, *options), _env(**env))
    assert "shown.event" in received
    assert (ESC in received) is coloured
