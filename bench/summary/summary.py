"""Gather every benchmark's ratio with its goal into bench/summary/results/summary.md (and summary.json).

    .venv/bin/python bench/summary/summary.py            # after the other scripts (make bench runs them all)
    .venv/bin/python bench/summary/summary.py --quick    # from the --quick results

Reads training.json, generation.json, preprocess.json and memory.json (their -quick variants with --quick)
and writes PASS / FAIL against the goals of the issue. It measures nothing itself.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import machine_info, results_dir, write_results

RESULTS = results_dir("summary")  # bench/summary/results


def question(name: str) -> str:
    """The bench/ folder whose results/ holds NAME.json: training-gpu -> training, precision-gpu -> precision."""
    return name.split("-")[0].split(".")[0]


def link(md: str) -> str:
    """A markdown link from bench/summary/results/ to another question's NAME.md."""
    return f"[{md}](../../{question(md)}/results/{md})"


def load(name: str, quick: bool) -> dict | None:
    path = results_dir(question(name)) / f"{name}{'-quick' if quick else ''}.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(value: float | None, goal: float) -> str:
    return "FAIL (target not reached)" if value is None else ("PASS" if value >= goal else "FAIL")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="summarise the --quick results")
    args = ap.parse_args()
    tr, ge, pr, me, pc = (load(n, args.quick) for n in ("training", "generation", "preprocess", "memory", "precision"))
    gpu = {n: load(n, args.quick) for n in ("precision-gpu", "training-gpu")}  # from a GPU machine (bench/README.md)
    rows: list[dict] = []
    if tr:
        tl = tr["time_to_loss"]
        rows.append({"claim": "training: target predictions/s, truncated BPTT vs window 100 stride 1",
                     "ours": f"{tr['throughput']['ours']['targets_per_s']:,} /s",
                     "windowed": f"{tr['throughput']['windowed']['targets_per_s']:,} /s",
                     "ratio": tr["throughput_ratio"], "goal": 20.0, "file": "training.md"})
        for k, name in (("window", "windowed window metric"), ("piece", "whole validation pieces")):
            race = tl[k]
            rows.append({"claim": f"training: wall time to validation loss {race['target']} ({name}; conservative)",
                         "ours": f"{race['ours_s']} s" if race["ours_s"] else
                                 f"not reached in {tl['ours']['train_s']} s (best {tl['ours']['best'][k]})",
                         "windowed": f"{race['windowed_s']} s", "ratio": race["ratio_conservative"], "goal": 20.0,
                         "file": "training.md"})
    if ge:
        for g in ge["rows"]:
            rows.append({"claim": f"generation: tokens/s, {'one piece' if g['batch'] == 1 else 'batch of 64'}, "
                                  "stateful vs re-feeding 100 tokens",
                         "ours": f"{g['ours_tokens_per_s']:,} /s", "windowed": f"{g['windowed_tokens_per_s']:,} /s",
                         "ratio": g["ratio"], "goal": 30.0, "file": "generation.md"})
    if pr:
        for r in pr["midi"][:2]:
            rows.append({"claim": f"preprocessing {pr['corpus']['files']} MIDI files: {r['pipeline']} vs music21 "
                                  "parse + notes/chords (cold)",
                         "ours": f"{r['seconds']} s", "windowed": f"{pr['midi'][2]['seconds']} s",
                         "ratio": r["speedup_vs_windowed_cold"], "goal": 500.0, "file": "preprocess.md"})
    mem = []
    if me:
        for r in me["rows"]:
            mem.append(f"| {r['job']} ({', '.join(r['corpus'])}) | {r['peak_mb']:,} MB | < 2,048 MB | "
                       f"{'PASS' if r['under_goal'] else 'FAIL'} | {r['dense_one_hot_mb']:,} MB |")
    m = machine_info() | {"torch": torch.__version__}
    command = "make bench" + (" (--quick)" if args.quick else "")
    result = {"machine": m, "date": time.strftime("%Y-%m-%d %H:%M"), "command": command, "rows": rows,
              "memory": me["rows"] if me else None, "gpu": gpu_line(pc, **gpu)}
    commits = sorted({x["commit"] for x in (tr, ge, pr, me, pc) if x})
    md = [
        "# Benchmark summary" + (" (--quick: smoke test, not the reported figures)" if args.quick else ""), "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}, Python {m['python']}, torch {m['torch']} (CPU); "
        f"commit {', '.join(commits)}; summary written {result['date']}. Each ratio compares two numbers measured "
        "side by side in one run of one script (other processes were loading the machine; the load falls on both "
        "sides, but it makes single figures noisy).", "",
        "| claim | ours | windowed | ratio | goal | result | details |", "|---|---|---|---|---|---|---|",
        *[f"| {r['claim']} | {r['ours']} | {r['windowed']} | {str(r['ratio']) + 'x' if r['ratio'] else 'n/a'} | "
          f">= {r['goal']:g}x | {verdict(r['ratio'], r['goal'])} | {link(r['file'])} |" for r in rows], "",
        f"Memory (peak resident set, each job in a fresh process; details in {link('memory.md')}):", "",
        "| job | peak | goal | result | dense one-hot of the corpus would be |", "|---|---|---|---|---|", *mem, "",
        *bound_line(ge),
        gpu_line(pc, **gpu), "",
        f"Command: `{command}` (runs speed, preprocess, training, generation, precision, "
        "memory and summary under bench/).", "",
    ]
    write_results(RESULTS, f"summary{'-quick' if args.quick else ''}", result, "\n".join(md))
    return 0


def bound_line(ge: dict | None) -> list[str]:
    """What bounds the one-piece generation ratio on this machine (generation.json's weight-read floor)."""
    fl = (ge or {}).get("floor")
    if not fl:
        return []
    return [f"One-piece generation is bound by this machine: a stateful token reads {fl['mb']} MB of fp32 weights, "
            f"and those reads alone, with nothing else, took {fl['ms']} ms ({fl['gb_per_s']} GB/s) against the "
            "windowed "
            f"loop's {fl['windowed_ms']} ms a token, so no fp32 stateful sampler could exceed {fl['ceiling']}x here "
            f"({link('generation.md')}).", ""]


def gpu_line(pc: dict | None, **gpu: dict | None) -> str:
    """The GPU row of the issue (tokens/s GPU vs CPU, fraction of the matmul peak), after the CPU's own
    precision figures (precision.json): from precision-gpu.json and training-gpu.json, written on a GPU
    machine, or from GPU rows of precision.json where this machine has a GPU."""
    if not pc:
        return "GPU and precision: bench/precision/precision.py has not run."
    cpu = {(x["batch"], x["precision"]): x for x in pc["rows"] if x["device"] == "cpu"}
    parts = []
    for batch in sorted({b for b, _ in cpu}):
        f32, b16 = cpu.get((batch, "fp32")), cpu.get((batch, "bf16"))
        if f32 and b16:
            parts.append(f"batch {batch}: bf16 {b16['tokens_per_s']:,} tokens/s against fp32 {f32['tokens_per_s']:,} "
                         f"({b16['tokens_per_s'] / f32['tokens_per_s']:.2f}x)")
    line = (f"CPU training by precision (our way, the training.py network; {link('precision.md')}): "
            + "; ".join(parts) + ".")
    on_gpu = any(x["device"] == "cuda" for x in pc["rows"])
    pg, name = (pc, "precision.md") if on_gpu else (gpu.get("precision-gpu"), "precision-gpu.md")
    if not pg:
        return line + " GPU: not measured (torch saw no GPU on this machine, and no GPU machine's results are here)."
    rows = pg["rows"]
    on_gpu = {(x["batch"], x["precision"]): x for x in rows if x["device"] == "cuda"}
    top = max(on_gpu.values(), key=lambda x: x["tokens_per_s"])
    cpu_best = max(x["tokens_per_s"] for x in rows if x["device"] == "cpu")
    half = []
    for batch in sorted({b for b, _ in on_gpu}):
        f32 = on_gpu[(batch, "fp32")]["tokens_per_s"]
        half.append(f"batch {batch}: " + ", ".join(f"{p} {on_gpu[(batch, p)]['tokens_per_s'] / f32:.2f}x"
                                                   for p in ("bf16", "fp16") if (batch, p) in on_gpu))
    line += (f" GPU ({pg['machine']['gpu']}, {link(name)}): best {top['tokens_per_s']:,} tokens/s ({top['precision']}, "
             f"batch {top['batch']}), {top['tokens_per_s'] / cpu_best:.1f}x the fastest CPU row of that machine "
             f"({pg['machine']['cores']} cores, {pg['machine']['torch_threads']} threads), "
             f"{top['fraction_of_peak']:.1%} of "
             f"the GPU's {top['precision']}{' (TF32)' if top['precision'] == 'fp32' else ''} matmul peak; 16-bit "
             f"autocast against fp32: {'; '.join(half)}.")
    tg = gpu.get("training-gpu")
    if tg:
        w = tg["time_to_loss"]["window"]
        line += (f" On that GPU, ours against the windowed window ({link('training-gpu.md')}, the CPU's "
                 f"settings): {tg['throughput_ratio']}x the target predictions/s, and the windowed window loss "
                 f"{w['target']} {str(w['ratio_conservative']) + 'x' if w['ratio_conservative'] else 'not reached'} "
                 "sooner (conservative).")
    return line


if __name__ == "__main__":
    sys.exit(main())
