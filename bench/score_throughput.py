"""Scoring throughput: `csbridge score` end to end vs the naive per-account loop, one run.

For each model (seed-5d, seed-6d) it generates N realistic accounts as JSON Lines, then
times, each in a fresh child process so its peak memory is its own:
  ours   `python -m csbridge.cli score --model M --input F --output O` (the real command:
         start-up, reading, scoring on one worker process per core, writing the JSON)
  naive  read every line with json.loads, Engine.score per account, json.dumps each
         result (the way one would write it without thinking about batches)
and `csbridge score` again at N/4, to show whether peak memory grows with N (it
streams in bounded batches, so it should not). Prints accounts/s by the wall clock
and per CPU-second (user + sys of every process of the command: what one core does;
the machine may be shared, and the wall figure suffers from that), peak RSS from
getrusage(RUSAGE_CHILDREN) (the largest single process), and the ratios to the 100,000/s
target and to the naive loop. The load average is printed before each model.

Usage: python bench/score_throughput.py [N] [--models seed-5d,seed-6d]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from csbridge.scoring import Engine, load_model
from csbridge.scoring.model import LinearTransform, ScoringModel

TARGET_PER_S = 100_000


def make_input(path: Path, n: int, model: ScoringModel, seed: int = 1) -> None:
    """N accounts: most indicators as raw signals (some missing, some out of range), a few
    given as indicator scores, and the attributes the model's segments read."""
    rng = random.Random(seed)
    indicators = [
        (f"{d}.{i}", ind.transform)
        for d, dim in model.dimensions.items()
        for i, ind in dim.indicators.items()
    ]
    with path.open("w") as out:
        for k in range(n):
            signals: dict[str, Any] = {}
            given: dict[str, Any] = {}
            for key, t in indicators:
                roll = rng.random()
                if roll < 0.15:
                    continue  # no data for this one, as in real portfolios
                if roll < 0.2:
                    given[key] = round(rng.uniform(0, 100), 1)
                elif isinstance(t, LinearTransform):
                    lo, hi = sorted((t.zero_at, t.full_at))
                    signals[key] = round(rng.uniform(lo - (hi - lo) * 0.2, hi * 1.1), 4)
                else:
                    signals[key] = rng.choice(list(t.values))
            account: dict[str, Any] = {
                "id": f"0015g00000{k:08d}",
                "signals": signals,
                "attributes": {
                    "arr": rng.choice((2_400, 5_000, 18_000, 30_000, 120_000, 450_000)),
                    "fit": rng.choice(("high", "medium", "low", "")),
                    "potential": rng.choice(("high", "medium", "low")),
                },
            }
            if given:
                account["indicator_scores"] = given
            out.write(json.dumps(account) + "\n")


def naive(model_ref: str, src: str, dst: str) -> None:
    """The naive loop: every line loaded, Engine.score per account, json.dumps per result."""
    engine = Engine(load_model(model_ref))
    with open(src) as f:
        accounts = [json.loads(line) for line in f if line.strip()]
    rows = [
        json.dumps(
            engine.score(
                a["id"], a.get("signals"), a.get("indicator_scores"), a.get("attributes")
            ).as_dict()
        )
        for a in accounts
    ]
    model = {"name": engine.model.name, "hash": engine.model_hash}
    with open(dst, "w") as out:
        out.write(f'{{"model": {json.dumps(model)}, "accounts": [\n' + ",\n".join(rows) + "\n]}\n")


def measure(argv: list[str]) -> dict[str, float]:
    """Run `argv` from a fresh process and return its wall and CPU seconds and peak RSS.

    The go-between process is there so RUSAGE_CHILDREN holds that one child only.
    """
    cmd = [sys.executable, __file__, "--measure", json.dumps(argv)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def measure_here(argv: list[str]) -> None:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mib": usage.ru_maxrss / 1024}))


def bench_model(model_ref: str, n: int, tmp: Path) -> None:
    model = load_model(model_ref)
    big, small, dst = tmp / f"{model_ref}.jsonl", tmp / f"{model_ref}-q.jsonl", tmp / "out"
    make_input(big, n, model)
    make_input(small, n // 4, model, seed=2)
    score = [sys.executable, "-m", "csbridge.cli", "score", "--model", model_ref]
    ours = measure([*score, "--input", str(big), "--output", str(dst)])
    ours_small = measure([*score, "--input", str(small), "--output", str(dst)])
    ref = measure([sys.executable, __file__, "--naive", model_ref, str(big), str(dst)])
    rate, cpu_rate = n / ours["wall"], n / ours["cpu"]
    ref_rate, ref_cpu_rate = n / ref["wall"], n / ref["cpu"]
    print(f"{model_ref}: {n:,} accounts, JSON Lines in, JSON out, end to end")
    for name, r in (("csbridge score", ours), ("naive loop", ref)):
        print(
            f"  {name:14s} {n / r['wall']:10,.0f}/s wall {n / r['cpu']:10,.0f}/s CPU"
            f"  peak {r['peak_mib']:6.1f} MiB"
        )
    print(f"  vs naive: {rate / ref_rate:.1f}x wall, {cpu_rate / ref_cpu_rate:.1f}x CPU")
    print(
        f"  vs the {TARGET_PER_S:,}/s target: {rate / TARGET_PER_S:.2f}x wall, "
        f"{cpu_rate / TARGET_PER_S:.2f}x CPU"
    )
    growth = ours["peak_mib"] / ours_small["peak_mib"]
    print(
        f"  memory: {ours_small['peak_mib']:.1f} MiB at {n // 4:,}, {ours['peak_mib']:.1f} MiB"
        f" at {n:,} = {growth:.2f}x for 4x the accounts (1.00x = flat)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--models", default="seed-5d,seed-6d")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--naive", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure_here(json.loads(args.measure))
        return
    if args.naive:
        naive(*args.naive)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for model_ref in args.models.split(","):
            print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            bench_model(model_ref, args.n, Path(tmp))


if __name__ == "__main__":
    main()
