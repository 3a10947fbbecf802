"""Scoring throughput: `csbridge score`'s path vs a straightforward per-account loop.

Generates N synthetic accounts as JSON Lines, then, each in a fresh child process so
peak memory is its own:
  ours       read_accounts → Engine.score → write_json, streamed to a file
  reference  load every line, score each account by walking the pydantic model, dump at end
Prints accounts/s, peak RSS, the ratio ours/reference, and ours at N/4 vs N to show
whether memory grows with N. Usage: python bench/score_throughput.py [N] [--model seed-5d]
"""

from __future__ import annotations

import argparse
import json
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
    rng = random.Random(seed)
    indicators = [
        (f"{d}.{i}", ind.transform)
        for d, dim in model.dimensions.items()
        for i, ind in dim.indicators.items()
    ]
    with path.open("w") as out:
        for k in range(n):
            signals: dict[str, Any] = {}
            for key, t in indicators:
                if rng.random() < 0.15:
                    continue  # some missing data, as in real portfolios
                if isinstance(t, LinearTransform):
                    lo, hi = sorted((t.zero_at, t.full_at))
                    signals[key] = round(rng.uniform(lo - (hi - lo) * 0.2, hi * 1.1), 4)
                else:
                    signals[key] = rng.choice(list(t.values))
            account = {
                "id": f"acct-{k:07d}",
                "signals": signals,
                "attributes": {
                    "arr": rng.choice((5_000, 30_000, 120_000)),
                    "fit": rng.choice(("high", "medium", "low")),
                    "potential": rng.choice(("high", "medium", "low")),
                },
            }
            out.write(json.dumps(account) + "\n")


def run_ours(model_ref: str, src: str, dst: str) -> None:
    from csbridge.commands.score import score_file, write_json

    engine = Engine(load_model(model_ref))
    with open(dst, "w") as out:
        write_json(engine, score_file(engine, src), out)


def run_reference(model_ref: str, src: str, dst: str) -> None:
    """The naive way: everything in memory, the model walked per account."""
    model = load_model(model_ref)
    with open(src) as f:
        accounts = [json.loads(line) for line in f]
    results = []
    for acc in accounts:
        dims = {}
        for dname, dim in model.dimensions.items():
            num = den = 0.0
            for iname, ind in dim.indicators.items():
                raw = acc["signals"].get(f"{dname}.{iname}")
                if raw is None:
                    continue
                t = ind.transform
                if isinstance(t, LinearTransform):
                    frac = min(1.0, max(0.0, (raw - t.zero_at) / (t.full_at - t.zero_at)))
                    s = t.floor + (100 - t.floor) * frac
                else:
                    s = t.values[raw]
                w = model.indicator_weight(dname, iname)
                num += w * s
                den += w
            if den:
                dims[dname] = {"score": round(num / den, 2), "weight": dim.weight}
        total_w = sum(d["weight"] for d in dims.values())
        score = round(sum(d["score"] * d["weight"] for d in dims.values()) / total_w, 2)
        results.append({"id": acc["id"], "score": score, "dimensions": dims})
    with open(dst, "w") as out:
        json.dump({"model": model.name, "accounts": results}, out)


def child(which: str, model_ref: str, src: str, dst: str) -> None:
    start = time.perf_counter()
    (run_ours if which == "ours" else run_reference)(model_ref, src, dst)
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_mib": peak_kib / 1024}))


def measure(which: str, model_ref: str, src: Path, dst: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", which, "--model", model_ref]
    cmd += ["--src", str(src), "--dst", str(dst)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=200_000)
    parser.add_argument("--model", default="seed-5d")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--dst", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.model, args.src, args.dst)
        return
    model = load_model(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        big, small, dst = Path(tmp, "big.jsonl"), Path(tmp, "small.jsonl"), Path(tmp, "out")
        make_input(big, args.n, model)
        make_input(small, args.n // 4, model)
        ours = measure("ours", args.model, big, dst)
        ours_small = measure("ours", args.model, small, dst)
        ref = measure("reference", args.model, big, dst)
    rate = args.n / ours["seconds"]
    ref_rate = args.n / ref["seconds"]
    print(f"model {args.model}, {args.n:,} accounts (JSON Lines in, JSON out, end to end)")
    print(f"ours:      {rate:12,.0f} accounts/s   peak RSS {ours['peak_mib']:7.1f} MiB")
    print(f"reference: {ref_rate:12,.0f} accounts/s   peak RSS {ref['peak_mib']:7.1f} MiB")
    print(f"speed ratio ours/reference: {rate / ref_rate:.2f}x")
    print(f"vs target {TARGET_PER_S:,}/s: {rate / TARGET_PER_S:.2f}x")
    growth = ours["peak_mib"] / ours_small["peak_mib"]
    print(
        f"memory, ours at N vs N/4: {ours['peak_mib']:.1f} / {ours_small['peak_mib']:.1f} MiB "
        f"= {growth:.2f}x (1.00x = flat)"
    )


if __name__ == "__main__":
    main()
