"""Peak memory of preprocessing and training on the largest built-in corpora, each in a fresh process.

    .venv/bin/python bench/memory/memory.py           # writes bench/memory/results/memory.json and memory.md
    .venv/bin/python bench/memory/memory.py --quick   # fewer training steps

Every job runs in a new Python process (`bench/memory/memory.py --job NAME`) started by this script. Three figures
per job: the child's own peak resident set (`VmHWM` from /proc/self/status, read by the child when done),
the peak the kernel reports for it when it is reaped (`os.wait4` rusage `ru_maxrss`: the largest of the
child and the processes it waited for), and the peak of the summed resident sets of the child and all its
descendants (worker pools included), sampled every 50 ms from /proc. The goal (< 2 GB) is checked on the
largest of the three.

Jobs:

* `abc-preprocess`: `prepare` of `all-folk` (~12,947 ABC tunes, the largest built-in corpus) with the default
  encoding (`abc-tokens`): read, clean, split, fit the vocabulary, encode;
* `abc-train`: `rnnmusic.trainer.train` with the default config (LSTM 2x256, batch 32 x 128) on `all-folk`,
  stopped by `max_steps`;
* `midi-preprocess`: `prepare` of all of `bach-chorales` (~410 pieces) with the `notes` encoding: the
  largest MIDI-side corpus that loads in reasonable time (`palestrina`, 1,318 kern files, had not finished
  after 3 minutes of music21 parsing on a cold cache here, and is not measured);
* `midi-train`: the `notes-window100` network (LSTM 3x512) trained many-to-many on all of `bach-chorales`,
  stopped by `max_steps`.

"No dense one-hot of the whole corpus": each row also gives what a float32 one-hot of every corpus token
would take (tokens x vocabulary x 4 bytes); the measured peak of the whole process is below it where the
table says so. The library feeds token ids to an embedding and batches them chunk by chunk (`PieceBatches`).
Whether the corpus was already in rnnmusic's on-disk cache is recorded (`cache` column): warm-cache runs
measure loading from the cache, not parsing.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results

RESULTS = results_dir("memory")  # bench/memory/results

GOAL_MB = 2048
HERE = Path(__file__).resolve()


# -- in the child --------------------------------------------------------------------------------------------
def vm_hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_job(name: str, steps: int) -> dict:
    import torch

    from rnnmusic.config import ModelConfig, TrainConfig
    from rnnmusic.dataset import prepare
    from rnnmusic.presets import apply_preset

    torch.set_num_threads(2)
    if name.startswith("abc"):
        cfg, mcfg = TrainConfig(corpus=["all-folk"], encoding="abc-tokens"), ModelConfig()
    else:
        m, t = apply_preset("notes-window100", {}, {"window": 0})
        cfg, mcfg = TrainConfig(**t), ModelConfig(**m)
    t0 = time.perf_counter()
    info: dict = {}
    if name.endswith("preprocess"):
        data = prepare(cfg)
        pieces = data.train + data.valid
        tokens = int(sum(len(p) for p in pieces))
        info = {"pieces": len(pieces), "tokens": tokens, "vocab": data.encoding.vocab_size,
                "dense_one_hot_mb": round(tokens * data.encoding.vocab_size * 4 / 2**20)}
    else:
        from rnnmusic.trainer import train

        cfg.max_steps, cfg.sample_every, cfg.checkpoint_minutes = steps, 0, 1e9
        with tempfile.TemporaryDirectory(prefix="rnnmusic-bench-memory-") as tmp:
            res = train(Path(tmp) / "run", cfg, mcfg, callbacks=[], progress_bar=False)
        info = {"steps": res.progress.step, "stopped": res.stopped, "model": f"{mcfg.cell} {mcfg.layers}x{mcfg.hidden}",
                "batch": f"{cfg.batch_size} x {cfg.seq_len}"}
    return info | {"corpus": cfg.corpus, "encoding": cfg.encoding, "seconds": round(time.perf_counter() - t0, 1),
                   "vm_hwm_mb": round(vm_hwm_mb(), 1)}


# -- in the parent -------------------------------------------------------------------------------------------
def tree_rss_mb(root: int) -> float:
    """Summed VmRSS of `root` and all its descendants."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                ppid, kb = None, 0
                for line in f:
                    if line.startswith("PPid:"):
                        ppid = int(line.split()[1])
                    elif line.startswith("VmRSS:"):
                        kb = int(line.split()[1])
        except (OSError, ValueError):
            continue
        parents[int(entry)], rss[int(entry)] = ppid, kb
    family, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in family]
        family.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in family) / 1024


def measure(name: str, steps: int) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        pass  # only its name: the child writes its figures there
    proc = subprocess.Popen([sys.executable, str(HERE), "--job", name, "--steps", str(steps), "--job-out", out.name])
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_mb(proc.pid))
            done.wait(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    thread.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"job {name} failed with exit code {proc.returncode}")
    info = json.loads(Path(out.name).read_text())
    os.unlink(out.name)
    info |= {"job": name, "ru_maxrss_mb": round(usage.ru_maxrss / 1024, 1), "tree_peak_mb": round(peak[0], 1)}
    info["peak_mb"] = max(info["vm_hwm_mb"], info["ru_maxrss_mb"], info["tree_peak_mb"])
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer training steps")
    ap.add_argument("--abc-steps", type=int, default=200, help="training steps on all-folk")
    ap.add_argument("--midi-steps", type=int, default=30, help="training steps on bach-chorales")
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--job-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.job:
        Path(args.job_out).write_text(json.dumps(run_job(args.job, args.steps)))
        return 0
    if args.quick:
        args.abc_steps, args.midi_steps = 20, 3
    from rnnmusic.corpus.cache import cache_dir

    cache = cache_dir()
    rows = []
    for name, steps in (("abc-preprocess", 0), ("abc-train", args.abc_steps),
                        ("midi-preprocess", 0), ("midi-train", args.midi_steps)):
        row = measure(name, steps)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    for r in rows:  # the one-hot size of the corpus each training job used
        pre = next(x for x in rows if x["job"] == r["job"].split("-")[0] + "-preprocess")
        r.setdefault("dense_one_hot_mb", pre["dense_one_hot_mb"])
        r["under_goal"] = r["peak_mb"] < GOAL_MB
        r["below_one_hot"] = r["peak_mb"] < r["dense_one_hot_mb"]
    command = "python bench/memory/memory.py" + (" --quick" if args.quick else "")
    result = {"machine": machine_info(), "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"),
              "command": command, "quick": args.quick, "settings": {k: v for k, v in vars(args).items()
                                                                    if not k.startswith("job") and k != "steps"},
              "cache": str(cache) if cache else "off", "goal_mb": GOAL_MB, "rows": rows,
              "pass": all(r["under_goal"] for r in rows)}
    write_results(RESULTS, "memory-quick" if args.quick else "memory", result, render(result))
    return 0


def describe(r: dict) -> str:
    corpus = ", ".join(r["corpus"])
    if r["job"].endswith("preprocess"):
        return (f"preprocess `{corpus}` ({r['encoding']}): {r['pieces']:,} pieces, {r['tokens']:,} tokens, "
                f"vocabulary {r['vocab']:,}")
    return f"train `{corpus}` ({r['encoding']}, {r['model']}, batch {r['batch']}), {r['steps']} steps"


def render(r: dict) -> str:
    m = r["machine"]
    lines = [
        "# Peak memory: preprocessing and training on the largest built-in corpora", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; commit {r['commit']}, {r['date']}. "
        f"Each job in a fresh process; rnnmusic's cache: `{r['cache']}` (as found: warm where earlier runs "
        "filled it)." + (" **--quick run.**" if r["quick"] else ""), "",
        "| job | seconds | VmHWM (MB) | ru_maxrss (MB) | process tree peak (MB) | < 2 GB | dense one-hot would be "
        "(MB) |",
        "|---|---|---|---|---|---|---|",
        *[f"| {describe(x)} | {x['seconds']} | {x['vm_hwm_mb']:,} | {x['ru_maxrss_mb']:,} | {x['tree_peak_mb']:,} | "
          f"{'PASS' if x['under_goal'] else 'FAIL'} | {x['dense_one_hot_mb']:,} |" for x in r["rows"]], "",
        "VmHWM: the job process's own peak; ru_maxrss: what `wait4` reports for it; process tree peak: the "
        "summed resident sets of the job and its worker processes, sampled every 50 ms. Dense one-hot: a "
        "float32 one-hot of every token of the corpus (tokens x vocabulary x 4 bytes); every peak above is "
        f"{'below' if all(x['below_one_hot'] for x in r['rows']) else 'NOT always below'} it, so no such "
        "array existed.", "",
        f"Command: `{r['command']}`.", "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
