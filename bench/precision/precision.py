"""Training speed by device and precision: the CPU and, when torch sees one, the GPU; fp32 against bf16/fp16.

    .venv/bin/python bench/precision/precision.py           # writes results/precision.json and .md
    .venv/bin/python bench/precision/precision.py --quick   # a smaller network, fewer steps (a smoke test)

The network and data are those of `bench/training/training.py` (the `notes-window100` preset: LSTM 3x512, embed 128,
on the `notes` vocabulary of the Bach chorales) trained our way (chunks of 32, state carried), through the
library's `Trainer` with `device` and `precision` set as `rnnmusic train --device ... --precision ...` sets
them: on a GPU, cuDNN's recurrent kernels; bf16/fp16 as autocast of the forward pass.

For each device, batch size and precision: scored targets (tokens) per second over timed steps after
warm-up, the precisions of a device alternating in rounds so that machine load falls on all of them. The
fraction of the device's matrix-multiply peak: the training arithmetic per token (3 x the forward pass's
multiply-adds: the LSTM's 4 gates per layer and the output layer; the element-wise work is left out) times
tokens/s, over the rate of one large matrix product (4096 x 4096, the same dtype) timed in the same run.
The GPU rows appear only on a machine with a CUDA GPU; CPU-only machines say so. A GPU's fp32 peak is its TF32
rate where cuDNN may use TF32 (torch's default), as its LSTM kernels then do.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnnmusic.device import AUTOCAST_DTYPES

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results
from _common.sides import Side, prepared, throughput

RESULTS = results_dir("precision")  # bench/precision/results

DTYPES = AUTOCAST_DTYPES | {"fp32": torch.float32}


def matmul_peak(device: torch.device, precision: str, n: int, seconds: float) -> float:
    """FLOP/s of one n x n by n x n product in this dtype (median of timed repeats). fp32 on a GPU: with
    TF32 allowed when cuDNN's is (torch's default), since cuDNN then runs the fp32 LSTM on TF32 tensor cores;
    the peak of plain fp32 products would flatter it."""
    a = torch.randn(n, n, device=device, dtype=DTYPES[precision])
    b = torch.randn(n, n, device=device, dtype=DTYPES[precision])
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = device.type == "cuda" and torch.backends.cudnn.allow_tf32
    try:
        times = []
        start = time.perf_counter()
        while time.perf_counter() - start < seconds or len(times) < 3:
            sync(device)
            t0 = time.perf_counter()
            a @ b
            sync(device)
            times.append(time.perf_counter() - t0)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    times.sort()
    return 2 * n ** 3 / times[len(times) // 2]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_flops_per_token(mcfg) -> float:
    """3 x forward multiply-adds x 2: the backward pass costs about twice the forward."""
    fwd, width = 0, mcfg.embed
    for _ in range(mcfg.layers):
        fwd += 4 * mcfg.hidden * (width + mcfg.hidden)
        width = mcfg.hidden
    fwd += mcfg.hidden * mcfg.vocab_size
    return 3 * 2 * fwd


def measure(device: torch.device, batch: int, precisions: list[str], mcfg, base, data, folder: Path,
            warmup: int, rounds: int, per_round: int) -> dict[str, dict]:
    """training.throughput over one Side per precision (each step ends by reading its loss back, so the
    step has finished on the device when the clock stops)."""
    sides = []
    for p in precisions:
        cfg = dataclasses.replace(base, batch_size=batch, device=str(device), precision=p)
        sides.append(Side(p, mcfg, cfg, data, folder / f"{device.type}-{batch}"))
    stats = throughput(sides, warmup, rounds, per_round)
    for st in stats.values():
        st["tokens_per_s"] = st.pop("targets_per_s")
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small network, few steps: a smoke test")
    ap.add_argument("--tag", default="",
                    help="write results/precision-TAG.{json,md} (gpu: a run on a GPU machine)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--pieces", type=int, default=0, help="Bach chorales used (0 = all)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-round", type=int, default=4)
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.pieces = 1, 2, 60
    mcfg, _, base, data = prepared(args)
    flops = train_flops_per_token(mcfg)
    plan = [(torch.device("cpu"), [4, 64], ["fp32", "bf16"])]
    gpu = torch.cuda.is_available()
    if gpu:
        precisions = ["fp32", "bf16", "fp16"] if torch.cuda.is_bf16_supported() else ["fp32", "fp16"]
        # batch 4: our CPU default; the largest: every training piece in one batch (more rows would be padding)
        plan.append((torch.device("cuda"), [4, 64, 256, len(data.train)], precisions))
    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rnnmusic-bench-precision-") as tmp:
        for device, batches, precisions in plan:
            peaks = {p: matmul_peak(device, p, 1024 if args.quick else 4096, 1.0 if args.quick else 3.0)
                     for p in precisions}
            for batch in batches:
                stats = measure(device, batch, precisions, mcfg, base, data, Path(tmp), 1 if args.quick else 2,
                                args.rounds, args.per_round)
                for p, st in stats.items():
                    achieved = st["tokens_per_s"] * flops
                    rows.append({"device": device.type, "batch": batch, "precision": p, **st,
                                 "matmul_peak_tflops": round(peaks[p] / 1e12, 3),
                                 "achieved_tflops": round(achieved / 1e12, 4),
                                 "fraction_of_peak": round(achieved / peaks[p], 4)})
                    print(rows[-1], file=sys.stderr)
    result = {"machine": machine_info() | {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                                           "gpu": torch.cuda.get_device_name(0) if gpu else None},
              "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"),
              "command": "python " + " ".join(["bench/precision/precision.py", *sys.argv[1:]]), "quick": args.quick,
              "settings": vars(args) | {"seq_len": base.seq_len, "ours_batch": base.batch_size},
              "seconds": round(time.perf_counter() - t_start, 1),
              "model": mcfg.__dict__ | {"train_flops_per_token": flops}, "rows": rows}
    name = "precision" + (f"-{args.tag}" if args.tag else "") + ("-quick" if args.quick else "")
    write_results(RESULTS, name, result,
                  render(result))
    return 0


def render(r: dict) -> str:
    m, mo = r["machine"], r["model"]
    rows = r["rows"]
    cpu32 = {x["batch"]: x["tokens_per_s"] for x in rows if x["device"] == "cpu" and x["precision"] == "fp32"}
    best_cpu = max(x["tokens_per_s"] for x in rows if x["device"] == "cpu")
    lines = [
        "# Training speed by device and precision", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads); GPU: "
        f"{m['gpu'] or 'none visible to torch (the GPU rows appear when this runs on a machine with one)'}; commit "
        f"{r['commit']}, {r['date']}."
        + (" **--quick run: small network, not the reported figures.**" if r["quick"] else ""), "",
        f"Network: {mo['cell'].upper()} {mo['layers']}x{mo['hidden']}, embed {mo['embed']}, vocabulary "
        f"{mo['vocab_size']:,}, trained our way (chunks of 32, state carried) by the library's Trainer with "
        f"`--device`/`--precision`; {mo['train_flops_per_token'] / 1e6:.1f} MFLOP of matrix arithmetic per "
        "training token. The precisions of one device alternate in rounds.", "",
        "| device | batch | precision | steps | tokens/s | vs CPU fp32, same batch | vs fastest CPU row | matmul peak "
        "(TFLOP/s) | achieved (TFLOP/s) | fraction of peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in rows:
        same = f"{x['tokens_per_s'] / cpu32[x['batch']]:.2f}x" if x["batch"] in cpu32 else "-"
        lines.append(f"| {x['device']} | {x['batch']} | {x['precision']} | {x['steps']} | {x['tokens_per_s']:,} | "
                     f"{same} | {x['tokens_per_s'] / best_cpu:.2f}x | {x['matmul_peak_tflops']} | "
                     f"{x['achieved_tflops']} | {x['fraction_of_peak']:.1%} |")
    if any(x["device"] == "cuda" for x in rows):
        lines += ["", "Tokens/s counts scored tokens only (a batch pads its pieces to the longest). On the GPU the "
                  "fp32 peak is the TF32 rate (cuDNN runs fp32 LSTMs on TF32 tensor cores). Where a GPU step's time "
                  "goes: `bench/precision/gpu_profile.py` ([gpu-profile.md](gpu-profile.md))."]
    lines += ["", f"Command: `{r['command']}` ({r['seconds']:.0f} s).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
