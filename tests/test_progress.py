"""The progress reporters: silent by default, step lines off a terminal, bars on one."""

from __future__ import annotations

import io

from csbridge import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_is_reported_unless_a_command_installs_a_reporter() -> None:
    stream = io.StringIO()
    progress.current().start("score", total=3)
    progress.current().done("score", accounts=3)
    with progress.reporting(progress.StepLines(stream, json_format=False)) as reporter:
        assert progress.current() is reporter
    assert isinstance(progress.current(), progress.Silent)
    assert stream.getvalue() == ""


def test_step_lines_are_one_logfmt_line_per_finished_step() -> None:
    stream = io.StringIO()
    reporter = progress.for_stream(stream, json_format=False, color=False)
    reporter.start("pull.zendesk.tickets")
    reporter.advance("pull.zendesk.tickets", 100)
    reporter.advance("pull.zendesk.tickets", 100)
    assert stream.getvalue() == ""  # nothing per page: one line when the step ends
    reporter.done("pull.zendesk.tickets", records=200, ok=True)
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("timestamp=")
    assert " event=step step=pull.zendesk.tickets records=200 ok=true seconds=" in line


def test_a_terminal_gets_bars_that_end_with_the_step_summary() -> None:
    stream = Terminal()
    reporter = progress.for_stream(stream, json_format=False, color=False)
    assert isinstance(reporter, progress.LiveBars)
    with progress.reporting(reporter):
        progress.current().start("apply.hubspot", total=4)
        progress.current().advance("apply.hubspot", 4)
        progress.current().done("apply.hubspot", records=4, failed=0)
    shown = stream.getvalue()
    assert "apply.hubspot records=4 failed=0" in shown
    assert "\x1b[3" not in shown  # no colour codes when colour is off
