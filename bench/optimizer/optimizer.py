"""Training step time by optimizer: the trainer's fused Adam and fused RMSprop against torch's own (for-loop).

    .venv/bin/python bench/optimizer/optimizer.py           # writes results/optimizer.json and .md
    .venv/bin/python bench/optimizer/optimizer.py --quick   # fewer steps (a smoke test)

Each row is the trainer's own step (`_common.sides.Side`: forward, loss, backward, gradient clipping, optimizer
step, state carried), timed in alternating rounds so that machine load falls on every variant alike:

* adam, fused: what `Trainer` builds (`torch.optim.Adam(fused=True)`: one pass over each tensor);
* adam, for-loop: the same optimizer as torch builds it on the CPU by default (a dozen passes per tensor);
* rmsprop, fused: what `Trainer` builds on the CPU (`optimizers.FusedRMSprop`: RMSprop's update through
  torch's fused Adam kernel), the windowed systems' optimizer;
* rmsprop, for-loop: torch's RMSprop as torch builds it on the CPU (torch has no fused RMSprop).

Every step clips the gradients' norm as the trainer does (`optimizers.clip_and_step`): the fused optimizers
apply the factor inside their own pass, the for-loop ones get the gradients scaled in a pass before.

Two networks: the default config (abc-tokens, LSTM 2x256, batch 32 x 128) and the `notes-window100`
network trained our way (LSTM 3x512, batch 4 x 32), where the optimizer touches 9 million parameters for
128 targets a step and its share of the step is largest.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.dataset import prepare

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results
from _common.sides import Side, prepared

RESULTS = results_dir("optimizer")  # bench/optimizer/results


def variants(make) -> list[tuple[str, Side]]:
    """(name, Side) for the four optimizers, the same initial weights each."""
    def torch_loop(name: str, optimizer: str, cls) -> Side:
        side = make(name, optimizer)
        t = side.t  # the trainer's optimizer replaced by torch's, for-loop (neither fused nor foreach)
        t.optimizer = cls(t.model.parameters(), lr=t.cfg.lr, weight_decay=t.cfg.weight_decay, foreach=False)
        return side

    return [("adam, fused (the trainer's)", make("adam-fused", "adam")),
            ("adam, for-loop (torch's CPU default)", torch_loop("adam-loop", "adam", torch.optim.Adam)),
            ("rmsprop, fused (the trainer's)", make("rmsprop-fused", "rmsprop")),
            ("rmsprop, for-loop (torch's)", torch_loop("rmsprop-loop", "rmsprop", torch.optim.RMSprop))]


def time_steps(sides: list[tuple[str, Side]], warmup: int, rounds: int, per_round: int) -> list[dict]:
    for _, s in sides:
        for _ in range(warmup):
            s.step()
    times: dict[str, list[float]] = {name: [] for name, _ in sides}
    for _ in range(rounds):
        for name, s in sides:
            t0 = time.perf_counter()
            for _ in range(per_round):
                s.step()
            times[name].append((time.perf_counter() - t0) / per_round * 1e3)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    loop = {name.split(",")[0]: med[name] for name in med if "for-loop" in name}  # torch's own, per optimizer
    return [{"optimizer": name, "ms_per_step": round(med[name], 2),
             "rounds_ms": [round(x, 2) for x in times[name]],
             "speedup_vs_torch": round(loop[name.split(",")[0]] / med[name], 2),
             "optimizer_alone_ms": optimizer_alone(s, per_round)} for name, s in sides]


def optimizer_alone(side: Side, reps: int) -> float:
    """Milliseconds of the optimizer's step by itself, on the gradients the last training step left."""
    opt = side.t.optimizer
    opt.step()
    t0 = time.perf_counter()
    for _ in range(reps):
        opt.step()
    return round((time.perf_counter() - t0) / reps * 1e3, 2)


def network(title: str, mcfg: ModelConfig, cfg: TrainConfig, data, folder: Path, args) -> dict:
    def make(name: str, optimizer: str) -> Side:
        return Side(name, mcfg, dataclasses.replace(cfg, optimizer=optimizer), data, folder)

    sides = variants(make)
    params = sides[0][1].t.model.num_parameters()
    rows = time_steps(sides, args.warmup, args.rounds, args.per_round)
    print(title, rows, file=sys.stderr)
    return {"network": title, "parameters": params, "batch": f"{cfg.batch_size} x {cfg.seq_len}", "rows": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds and steps; writes optimizer-quick.*")
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    ap.add_argument("--rounds", type=int, default=5, help="alternating rounds (medians reported)")
    ap.add_argument("--per-round", type=int, default=5, help="timed steps per variant per round")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per variant first")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.warmup = 2, 2, 1
    torch.set_num_threads(args.threads)
    nets = []
    with tempfile.TemporaryDirectory(prefix="rnnmusic-bench-optimizer-") as tmp:
        cfg = TrainConfig(threads=args.threads, device="cpu", max_tunes=300 if args.quick else None)
        data = prepare(cfg)
        mcfg = ModelConfig(vocab_size=data.encoding.vocab_size, kind=data.encoding.kind)
        nets.append(network(f"default config ({cfg.encoding}, {mcfg.cell} {mcfg.layers}x{mcfg.hidden})", mcfg, cfg,
                            data, Path(tmp) / "default", args))
        mcfg, _, ours, data = prepared(argparse.Namespace(pieces=0, threads=args.threads, quick=False, device="cpu"))
        nets.append(network(f"notes-window100 trained our way ({mcfg.cell} {mcfg.layers}x{mcfg.hidden})", mcfg, ours,
                            data, Path(tmp) / "notes", args))
    command = "python bench/optimizer/optimizer.py" + (" --quick" if args.quick else "")
    result = {"machine": machine_info() | {"torch": torch.__version__, "torch_threads": torch.get_num_threads()},
              "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"), "command": command, "quick": args.quick,
              "settings": vars(args), "networks": nets}
    write_results(RESULTS, "optimizer-quick" if args.quick else "optimizer", result, render(result))
    return 0


def render(r: dict) -> str:
    m = r["machine"]
    lines = ["# Training step time by optimizer", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads); commit "
             f"{r['commit']}, {r['date']}. The trainer's whole step (forward, backward, clipping, optimizer), the "
             f"variants alternating in {r['settings']['rounds']} rounds of {r['settings']['per_round']} steps; the "
             "median round of each is reported." + (" **--quick run.**" if r["quick"] else ""), "",
             "| network | parameters | batch | optimizer | ms per step | speed-up over torch's for-loop version | "
             "optimizer step alone, ms |",
             "|---|---|---|---|---|---|---|"]
    for n in r["networks"]:
        for row in n["rows"]:
            lines.append(f"| {n['network']} | {n['parameters']:,} | {n['batch']} | {row['optimizer']} | "
                         f"{row['ms_per_step']} | {row['speedup_vs_torch']}x | {row['optimizer_alone_ms']} |")
    lines += ["", f"Command: `{r['command']}`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
