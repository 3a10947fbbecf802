"""`csbridge score` end to end through the CLI entry point (exit codes, formats, errors)."""

import json
import subprocess
import sys
from importlib import resources

import pytest

from csbridge.cli import main

ACCOUNT = {
    "id": "acme",
    "signals": {"usage.dau_mau": 0.35, "satisfaction.nps": 9},
    "indicator_scores": {"relationship.exec_sponsor": 90},
    "attributes": {"arr": 42000, "fit": "high"},
}


def test_json_document_in_json_out(tmp_path, capsys):
    src = tmp_path / "in.json"
    src.write_text(json.dumps({"accounts": [ACCOUNT, {**ACCOUNT, "id": "beta"}]}, indent=2))
    assert main(["score", "--input", str(src)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"]["name"] == "seed-5d"
    assert len(out["model"]["hash"]) == 12
    assert [a["id"] for a in out["accounts"]] == ["acme", "beta"]
    acme = out["accounts"][0]
    assert set(acme) == {"id", "score", "status", "coverage", "segment", "dimensions", "drivers"}
    assert acme["segment"] == "low_touch"
    assert acme["dimensions"]["usage"]["score"] == 62.5  # (0.35 - 0.10) / 0.40
    assert acme["dimensions"]["satisfaction"]["score"] == 100.0


def test_json_lines_with_model_file_and_table(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps({**ACCOUNT, "id": f"a{i}"}) for i in range(3)) + "\n\n")
    model = tmp_path / "model.yaml"
    model.write_text(
        resources.files("csbridge.scoring.presets").joinpath("seed-5d.yaml").read_text()
    )
    assert main(["score", "--model", str(model), "--input", str(src), "--format", "table"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["account", "score", "status", "segment", "coverage"]
    assert [line.split()[0] for line in lines[2:]] == ["a0", "a1", "a2"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"id": "a", "signals": {"usage.dau_mau": NaN}}\n',
            "line 1: account 'a': signals.usage.dau_mau is nan",
        ),
        (
            '{"id": "a"}\n{"id": "b", "signals": {"usage.bogus": 1}}\n',
            "line 2: account 'b': signals.usage.bogus: unknown indicator",
        ),
        (
            '{"id": "a"}\n{"id": "b", "indicator_scores": {"usage.dau_mau": 140}}\n',
            "line 2: account 'b': indicator_scores.usage.dau_mau is 140",
        ),
        ('{"id": "a"}\n{"id": \n', "line 2: invalid JSON"),
        ('{"id": "a", "signal": {}}\n', "unknown key 'signal'"),
        ('{"id": 7}\n', "id must be a non-empty string"),
        ('{"accounts": {"id": "a"}}', 'expected {"accounts": [...]}'),
        ('{"accounts": [\n {"id": "a",}\n]}', "invalid JSON at line 2"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_partial_output(tmp_path, capsys, content, message):
    src = tmp_path / "in.jsonl"
    src.write_text(content)
    assert main(["score", "--input", str(src)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert str(src) in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_output_file_is_replaced_only_on_success(tmp_path):
    good, bad, out = tmp_path / "good.jsonl", tmp_path / "bad.jsonl", tmp_path / "out.json"
    good.write_text(json.dumps(ACCOUNT) + "\n")
    bad.write_text(json.dumps(ACCOUNT) + '\n{"id": "x", "signals": {"usage.dau_mau": "high"}}\n')
    assert main(["score", "--input", str(good), "--output", str(out)]) == 0
    before = out.read_text()
    assert main(["score", "--input", str(bad), "--output", str(out)]) == 2
    assert out.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "good.jsonl", "out.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "seed-9d"], "unknown model preset 'seed-9d'"),
        (["--model", "missing.yaml"], "missing.yaml: cannot read the model file"),
    ],
)
def test_bad_model_argument(tmp_path, capsys, args, message):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ACCOUNT) + "\n")
    assert main(["score", "--input", str(src), *args]) == 2
    assert message in capsys.readouterr().err


def test_missing_input_file(capsys):
    assert main(["score", "--input", "/nonexistent/accounts.jsonl"]) == 2
    assert "cannot read the input file" in capsys.readouterr().err


def test_console_script_reads_stdin_and_never_prints_a_traceback():
    run = subprocess.run(
        [sys.executable, "-m", "csbridge.cli", "score", "--input", "-"],
        input='{"id": "a", "signals": {"usage.dau_mau": "lots"}}\n',
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "signals.usage.dau_mau is 'lots', not a number" in run.stderr


def test_score_does_not_import_the_logging_stack(tmp_path):
    """`score` never logs, so it skips structlog (and the rich it imports): its start-up
    comes before any worker can begin. Nothing it runs may log unconfigured to stdout."""
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ACCOUNT) + "\n")
    code = (
        "import sys; from csbridge.cli import main; "
        f"code = main(['score', '--input', {str(src)!r}]); "
        "print(code, 'structlog' in sys.modules, file=sys.stderr)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stderr.split() == ["0", "False"]
    assert json.loads(run.stdout)["accounts"][0]["id"] == "acme"


@pytest.mark.parametrize("where", ["stdout", "a directory"])
def test_output_that_cannot_be_written_is_one_line(tmp_path, where):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(ACCOUNT) + "\n")
    args = [sys.executable, "-m", "csbridge.cli", "score", "--input", str(src)]
    if where == "stdout":
        with open("/dev/full", "wb") as full:
            run = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, text=True, check=False)
        reason = "No space left on device"
    else:
        run = subprocess.run(
            [*args, "--output", str(tmp_path)], capture_output=True, text=True, check=False
        )
        reason = "Is a directory"
    assert run.returncode == 2
    assert run.stderr == f"csbridge: error: cannot write the output ({reason})\n"


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    """`csbridge score ... | head`: the pipe's reader goes away; no error message, the
    status of a process a broken pipe ends (141), as other command-line tools give."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({**ACCOUNT, "id": f"a{k}"}) + "\n" for k in range(3000)))
    args = [sys.executable, "-m", "csbridge.cli", "score", "--input", str(src)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == b'{"model": '
    proc.stdout.close()
    assert proc.stderr.read() == b""
    assert proc.wait() == 141
