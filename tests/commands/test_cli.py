import subprocess
import sys

import pytest

from csbridge.cli import main


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_logs_go_to_stderr_and_debug_is_off_by_default(tmp_path, capsys):
    import structlog

    assert main(_logging_command(tmp_path)) == 2  # logs set up, then its config is missing
    structlog.get_logger().debug("hidden.event")
    structlog.get_logger().warning("shown.event", system="zendesk")
    captured = capsys.readouterr()
    assert "hidden.event" not in captured.err + captured.out
    assert "shown.event" in captured.err
    assert "shown.event" not in captured.out


def test_log_level_and_json_format(tmp_path, capsys):
    import json

    import structlog

    assert main(["--log-level", "debug", "--log-json", *_logging_command(tmp_path)]) == 2
    capsys.readouterr()
    structlog.get_logger().debug("now.shown", attempt=2)
    line = capsys.readouterr().err.strip()
    assert json.loads(line) | {"timestamp": None} == {
        "event": "now.shown",
        "attempt": 2,
        "level": "debug",
        "timestamp": None,
    }


def _logging_command(tmp_path):
    """A command that sets the logs up, then stops with a one-line error (no config)."""
    return ["health", "--config", str(tmp_path / "missing.yaml")]


def test_a_named_command_loads_only_its_own_module():
    code = (
        "import sys; from csbridge.cli import build_parser; build_parser(['score']); "
        "print('simple_salesforce' in sys.modules, 'sqlalchemy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_help_lists_every_command(capsys):
    from csbridge.cli import COMMAND_MODULES

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(f"    {name}" in out for name in COMMAND_MODULES)


@pytest.mark.parametrize("command", [["demo"], ["sandbox", "serve"]])
def test_without_the_sandbox_extra_demo_and_sandbox_say_how_to_install_it(
    command, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "csbridge_sandbox.runner", None)  # as if not installed
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "pip install 'csbridge[sandbox]'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unwritable_run_report_is_one_line_after_the_summary(tmp_path, capsys):
    config = tmp_path / "csbridge.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'store.db'}\n"
        "crm: {targets: [hubspot]}\n"
        "sources: {hubspot: {access_token: x}}\n"
    )
    argv = ["run", "--config", str(config), "--dry-run", "--no-pull", "--report", str(tmp_path)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Dry run: nothing was written." in captured.out
    errors = [line for line in captured.err.splitlines() if "csbridge: error" in line]
    assert errors == [
        f"csbridge: error: --report {tmp_path}: cannot write the report (Is a directory)"
    ]
    assert "Traceback" not in captured.err
