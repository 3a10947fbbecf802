"""`csbridge score` on several worker processes: the same bytes, in input order, and the
same first error (by line) as scoring in one process, memory bounded by the chunks; the
workers write into the output file themselves."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import threading
from pathlib import Path

import orjson
import pytest

import csbridge.commands.score_pool as score_pool
from csbridge.account_files import Accounts, LineChunk, LineRange, parse_chunk, read_chunks
from csbridge.cli import main
from csbridge.errors import CsbridgeError
from csbridge.scoring import Engine, load_model
from csbridge.scoring.account_rows import RowDecoder

ENGINE = Engine(load_model("seed-5d"))


def account(k: int) -> dict[str, object]:
    return {
        "id": f"acct-{k}",
        "signals": {"usage.dau_mau": (k % 50) / 100, "satisfaction.nps": k % 11},
        "attributes": {"arr": 1_000 * (k % 90), "fit": ("high", "low", "")[k % 3]},
    }


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def two_cores(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Workers even on a one-core machine: this is the path under test. Returns the
    number of worker processes each pool started."""
    monkeypatch.setattr(score_pool, "_cores", lambda: 2)
    pools: list[int] = []
    start = score_pool._Workers.__init__

    def counted(self: score_pool._Workers, engine: Engine, fd: int, count: int) -> None:
        start(self, engine, fd, count)
        pools.append(len(self.procs))

    monkeypatch.setattr(score_pool._Workers, "__init__", counted)
    return pools


def scored(path: Path, size: int = 50) -> bytes:
    """What `write_chunks` writes for the file, from offset 3 of a fresh file."""
    with tempfile.TemporaryFile() as out:
        out.write(b"abc")
        out.flush()
        end = score_pool.write_chunks(ENGINE, str(path), size, out.fileno(), 3)
        out.seek(0)
        text = out.read()
    assert text[:3] == b"abc"
    assert len(text) == end
    return text[3:]


def test_workers_write_what_one_process_writes_in_input_order(
    tmp_path: Path, two_cores: list[int]
) -> None:
    accounts = [account(k) for k in range(530)]
    lines = [json.dumps(a) for a in accounts]
    lines[100:100] = ["", "   "]  # blank lines are skipped, wherever they fall
    lines[250:250] = [""] * 50  # a chunk of blank lines only: no account, no separator
    src = write_lines(tmp_path / "in.jsonl", lines)
    text = scored(src)
    assert two_cores == [2]  # a pool of two workers was started
    tuples = [(a["id"], a["signals"], None, a["attributes"]) for a in accounts]
    expected = [orjson.dumps(r.as_dict()) for r in ENGINE.score_many(tuples)]  # type: ignore[arg-type]
    assert text == b"\n" + b",\n".join(expected)


def test_one_chunk_needs_no_workers(tmp_path: Path, two_cores: list[int]) -> None:
    src = write_lines(tmp_path / "in.jsonl", [json.dumps(account(k)) for k in range(40)])
    assert scored(src).count(b'{"id":"acct-') == 40
    assert two_cores == []
    assert scored(write_lines(tmp_path / "empty.jsonl", [])) == b""


def test_a_worker_that_dies_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-run (out of memory, say) stops the command with one line."""
    score = score_pool.score_chunk

    def dies_on_the_fourth(decoder: RowDecoder, chunk: score_pool.Chunk) -> score_pool.Outcome:
        if isinstance(chunk, LineRange) and chunk.first == 151:
            os._exit(9)
        return score(decoder, chunk)

    monkeypatch.setattr(score_pool, "score_chunk", dies_on_the_fourth)
    src = write_lines(tmp_path / "in.jsonl", [json.dumps(account(k)) for k in range(400)])
    with pytest.raises(
        CsbridgeError, match=r"a scoring worker stopped unexpectedly \(exit code 9\)"
    ):
        scored(src)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({310: '{"id": "x", "signals": {"usage.dau_mau": "high"}}', 420: "{oops"}, "line 311"),
        ({420: "{oops", 480: '{"id": 7}'}, "line 421: invalid JSON"),
    ],
)
def test_the_first_bad_line_in_the_file_is_the_error(
    tmp_path: Path, bad: dict[int, str], message: str
) -> None:
    lines = [json.dumps(account(k)) for k in range(500)]
    for index, text in bad.items():
        lines[index] = text
    src = write_lines(tmp_path / "in.jsonl", lines)
    with pytest.raises(CsbridgeError, match=message):
        scored(src)


def test_a_full_disk_in_a_worker_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, two_cores: list[int]
) -> None:
    """A worker's write that fails (a full disk) stops the command with one line."""

    def full(fd: int, buffers: list[bytes], offset: int) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "pwritev", full)  # in the forked workers too
    src = write_lines(tmp_path / "in.jsonl", [json.dumps(account(k)) for k in range(400)])
    with pytest.raises(CsbridgeError, match=r"cannot write the output \(No space left on device\)"):
        scored(src)
    assert two_cores == [2]


def test_a_reading_error_comes_after_the_errors_before_it(tmp_path: Path) -> None:
    """Invalid UTF-8 near the end is read before the workers report an earlier bad
    account: the earlier one is still the error."""
    lines = [json.dumps(account(k)) for k in range(400)]
    lines[120] = '{"id": "x", "indicator_scores": {"usage.dau_mau": 140}}'
    src = tmp_path / "in.jsonl"
    src.write_bytes("".join(f"{line}\n" for line in lines).encode() + b'{"id": "\xff"}\n')
    with pytest.raises(CsbridgeError, match="line 121: account 'x'"):
        scored(src)
    src.write_bytes("".join(f"{line}\n" for line in lines[:100]).encode() + b'{"id": "\xff"}\n')
    with pytest.raises(CsbridgeError, match="not UTF-8 text"):
        scored(src)
    # Read as text (a carriage return): the error comes while reading the second chunk.
    lines[20] = lines[120]
    text = "".join(f"{line}\r\n" for line in lines[:100]).encode()  # 12 kB: 2 reads
    src.write_bytes(text + b'{"id": "\xff"}\n')
    with pytest.raises(CsbridgeError, match="line 21: account 'x'"):
        scored(src)


def test_the_command_scores_a_file_of_several_chunks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_lines(tmp_path / "in.jsonl", [json.dumps(account(k)) for k in range(5000)])
    assert main(["score", "--input", str(src)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in out["accounts"]] == [f"acct-{k}" for k in range(5000)]
    assert (
        out["accounts"][4321]
        == ENGINE.score(
            "acct-4321",
            account(4321)["signals"],
            None,
            account(4321)["attributes"],  # type: ignore[arg-type]
        ).as_dict()
    )


def test_byte_ranges_hold_the_lines_text_chunks_hold(tmp_path: Path) -> None:
    """Workers read byte ranges: the same accounts, numbered by the same lines, as
    reading the file as text; blank lines and a last line without a newline too."""
    lines = [json.dumps(account(k)) for k in range(130)]
    lines[49:49] = ["", "  "]
    lines[0:0] = [""]  # line 1 is blank: the first account is on line 2
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines), encoding="utf-8")
    ranges = list(read_chunks(str(src), 50, ranges=True))
    assert all(isinstance(chunk, LineRange) for chunk in ranges)
    # every line counts, the blank ones and the last one without a newline too
    assert [chunk.count for chunk in ranges] == [50, 50, 33]  # type: ignore[union-attr]
    texts = list(read_chunks(str(src), 50))
    from_ranges = [parse_chunk(r) for r in ranges]  # type: ignore[arg-type]
    from_texts = [parse_chunk(t) for t in texts]  # type: ignore[arg-type]
    assert flat(from_ranges) == flat(from_texts)
    assert from_ranges[0].wheres[0] == f"{src} line 2"
    assert from_ranges[-1].wheres[-1] == f"{src} line 133"


def flat(chunks: list[Accounts]) -> list[tuple[object, ...]]:
    """Every account of the chunks as (id, signals, indicator scores, attributes, where)."""
    return [
        row
        for a in chunks
        for row in zip(a.ids, a.signals, a.indicator_scores, a.attributes, a.wheres, strict=True)
    ]


def test_a_file_with_carriage_returns_is_read_as_text(tmp_path: Path) -> None:
    """Text mode reads a lone carriage return as a line end: such a file keeps its line
    numbers by being read as text (and so does a pipe)."""
    lines = [json.dumps(account(k)) for k in range(120)]
    src = tmp_path / "in.jsonl"
    src.write_bytes(("\r\n".join(lines[:60]) + "\r" + "\n".join(lines[60:])).encode())
    chunks = list(read_chunks(str(src), 50, ranges=True))
    assert all(isinstance(chunk, LineChunk) for chunk in chunks)
    assert parse_chunk(chunks[-1]).wheres[-1] == f"{src} line 120"  # type: ignore[arg-type]
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("\n".join(lines)))
    writer.start()
    chunks = list(read_chunks(str(fifo), 50, ranges=True))
    writer.join()
    assert all(isinstance(chunk, LineChunk) for chunk in chunks)
    assert parse_chunk(chunks[-1]).wheres[-1] == f"{fifo} line 120"  # type: ignore[arg-type]
