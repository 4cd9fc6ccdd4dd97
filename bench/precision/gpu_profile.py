"""Where a GPU training step's time goes: wall time per step against the time the GPU spends in kernels.

    python bench/precision/gpu_profile.py   # on a machine with a CUDA GPU: writes results/gpu-profile.{json,md}

The network, data and steps are precision.py's (the training bench's network trained our way through the Trainer).
For each batch and precision: the wall time per step (30 timed steps after 5 warm-up steps; each step ends
by reading its loss back, as the Trainer does), then 10 steps under torch.profiler: the GPU's kernel time
per step, the CPU's time per step in the profiled run (the profiler itself slows the CPU side), the number
of kernels launched per step, and the kernels that take the most GPU time.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.autograd import DeviceType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results
from _common.sides import Side, prepared

RESULTS = results_dir("precision")  # bench/precision/results

PROFILED_STEPS = 10


def profile(side: Side, warmup: int, timed: int) -> dict:
    for _ in range(warmup):
        side.step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(timed):
        side.step()
    torch.cuda.synchronize()
    wall = (time.perf_counter() - t0) / timed
    acts = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=acts) as prof:
        for _ in range(PROFILED_STEPS):
            side.step()
        torch.cuda.synchronize()
    events = prof.key_averages()
    kernels = [e for e in events if e.device_type == DeviceType.CUDA] or [  # (older profilers: no device type)
        e for e in events if e.self_cpu_time_total == 0 and e.self_device_time_total > 0]
    top = sorted(kernels, key=lambda e: -e.self_device_time_total)[:5]
    return {"wall_ms": round(wall * 1e3, 2),
            "gpu_kernel_ms": round(sum(e.self_device_time_total for e in kernels) / PROFILED_STEPS / 1e3, 2),
            "cpu_ms_profiled": round(sum(e.self_cpu_time_total for e in events if e.device_type == DeviceType.CPU)
                                     / PROFILED_STEPS / 1e3, 2),
            "kernels_per_step": round(sum(e.count for e in kernels) / PROFILED_STEPS),
            "top_kernels": [{"name": e.key[:90],
                             "ms_per_step": round(e.self_device_time_total / PROFILED_STEPS / 1e3, 3),
                             "launches_per_step": round(e.count / PROFILED_STEPS)} for e in top]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--pieces", type=int, default=0, help="Bach chorales used (0 = all)")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench/precision/gpu_profile.py: torch sees no CUDA GPU here; nothing to profile", file=sys.stderr)
        return 0
    args.quick, args.device = False, "cuda"  # (what training.configs reads)
    mcfg, _, base, data = prepared(args)
    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rnnmusic-bench-gpu-profile-") as tmp:
        for batch in (4, 64):
            for precision in ("fp32", "bf16"):
                cfg = dataclasses.replace(base, batch_size=batch, device="cuda", precision=precision)
                row = {"batch": batch, "precision": precision,
                       **profile(Side(f"{precision}-{batch}", mcfg, cfg, data, Path(tmp)), 5, 30)}
                rows.append(row)
                print({k: v for k, v in row.items() if k != "top_kernels"}, file=sys.stderr)
    result = {"machine": machine_info() | {"torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                                           "gpu": torch.cuda.get_device_name(0)},
              "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"),
              "command": "python bench/precision/gpu_profile.py",
              "seconds": round(time.perf_counter() - t_start, 1), "rows": rows}
    write_results(RESULTS, "gpu-profile", result, render(result))
    return 0


def render(r: dict) -> str:
    m = r["machine"]
    lines = ["# Where a GPU training step's time goes", "",
             f"Machine: {m['gpu']}; {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads); "
             f"commit {r['commit']}, {r['date']}. The training.py network (LSTM 3x512, vocabulary 5,417) trained our "
             "way (chunks of 32) through the Trainer on the GPU.", "",
             "| batch | precision | wall ms/step | GPU kernel ms/step | GPU busy | kernels/step | CPU ms/step "
             "(profiled) |",
             "|---|---|---|---|---|---|---|"]
    for x in r["rows"]:
        lines.append(f"| {x['batch']} | {x['precision']} | {x['wall_ms']} | {x['gpu_kernel_ms']} | "
                     f"{x['gpu_kernel_ms'] / x['wall_ms']:.0%} | {x['kernels_per_step']:,} | {x['cpu_ms_profiled']} |")
    lines += ["", "Kernels taking the most GPU time (ms per step, launches per step):", ""]
    for x in r["rows"]:
        lines.append(f"- batch {x['batch']} {x['precision']}: " + "; ".join(
            f"`{k['name']}` {k['ms_per_step']} ms ({k['launches_per_step']})" for k in x["top_kernels"]))
    lines += ["", f"Command: `{r['command']}` ({r['seconds']:.0f} s).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
