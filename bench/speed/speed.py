"""Training and generation throughput of the default config, and peak memory.

    .venv/bin/python bench/speed/speed.py            # writes bench/speed/results/speed.json and speed.md

Training: tokens (target predictions) per second of the trainer's own step (`_common.sides.Side`: truncated BPTT,
clipping, fused Adam) on real tunes (O'Neill's, abc-tokens), over an epoch's worth of steps after warm-up steps.
Generation: tokens per second of the stateful sampler, one tune and a
batch of 64. Tokenizing: abc-tokens over the whole Essen collection (music21's, about 8,500 tunes), tokens
per second. Peak memory: the process's max RSS after loading the corpus and training.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.corpus.abc import load_abc
from rnnmusic.dataset import prepare
from rnnmusic.encodings import get_encoding
from rnnmusic.sampler import SampleConfig, sample_ids

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results
from _common.sides import Side

RESULTS = results_dir("speed")  # bench/speed/results


def machine() -> dict:
    return machine_info() | {"torch_threads": torch.get_num_threads(), "torch": torch.__version__}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_training(cfg: TrainConfig, mcfg: ModelConfig, steps: int | None = None, warmup: int = 5) -> dict:
    """The trainer's own step (`_common.sides.Side`) on the default corpus: target predictions per second over
    `steps` steps (None: an epoch's worth, as batches of pieces of similar length fill their rows unevenly)."""
    data = prepare(cfg)
    enc = data.encoding
    mcfg.vocab_size, mcfg.kind = enc.vocab_size, enc.kind
    with tempfile.TemporaryDirectory(prefix="rnnmusic-bench-speed-") as tmp:
        side = Side("speed", mcfg, cfg, data, Path(tmp))
        for _ in range(warmup):
            side.step()
        steps = steps or side.t.train_data.num_batches
        t0, n = time.perf_counter(), 0
        for _ in range(steps):
            n += side.step()
        dt = time.perf_counter() - t0
    model = side.t.model.eval()
    return {"corpus_tunes": len(data.train) + len(data.valid),
            "corpus_tokens": int(sum(len(p) for p in data.train + data.valid)), "vocab": enc.vocab_size,
            "parameters": model.num_parameters(), "batch_size": cfg.batch_size, "seq_len": cfg.seq_len,
            "steps_timed": steps, "train_tokens_per_s": round(n / dt), "model": model, "encoding": enc}


def bench_generation(model, enc, count: int, length: int = 400) -> dict:
    cfg = SampleConfig(count=count, seed=0, max_length=length, temperature=1.0)
    t0 = time.perf_counter()
    ids = sample_ids(model, enc, cfg)
    dt = time.perf_counter() - t0
    tokens = sum(len(x) for x in ids)
    return {"count": count, "tokens": tokens, "seconds": round(dt, 3), "tokens_per_s": round(tokens / dt)}


def bench_tokenize(corpus: str = "essen") -> dict:
    """abc-tokens over a whole built-in collection (was a timed assertion in the tests: under 3 s)."""
    texts = [t.text for t in load_abc([corpus]).tunes]
    enc = get_encoding("abc-tokens")
    t0 = time.perf_counter()
    n = sum(len(enc.tokenize(t)) for t in texts)
    dt = time.perf_counter() - t0
    return {"corpus": corpus, "tunes": len(texts), "tokens": n, "seconds": round(dt, 3), "tokens_per_s": round(n / dt)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer timed steps and tokens; writes speed-quick.*")
    args = ap.parse_args()
    cfg, mcfg = TrainConfig(), ModelConfig()
    tr = bench_training(cfg, mcfg, steps=5 if args.quick else None)
    model, enc = tr.pop("model"), tr.pop("encoding")
    rss_train = rss_mb()
    gen1 = bench_generation(model, enc, 1, 50 if args.quick else 400)
    gen64 = bench_generation(model, enc, 64, 50 if args.quick else 400)
    tok = bench_tokenize("oneills" if args.quick else "essen")
    result = {"machine": machine(), "commit": commit(), "date": time.strftime("%Y-%m-%d"),
              "config": {"model": dict(mcfg.__dict__), "corpus": cfg.corpus, "encoding": cfg.encoding},
              "training": tr, "generation_single": gen1, "generation_batch64": gen64, "tokenize": tok,
              "peak_rss_mb": round(max(rss_train, rss_mb()))}
    suffix = "-quick" if args.quick else ""
    m = result["machine"]
    md = [
        "# Speed of the default config", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), Python "
        f"{m['python']}; "
        f"commit {result['commit']}, {result['date']}.", "",
        f"Model: {mcfg.cell} {mcfg.layers}x{mcfg.hidden}, embed {mcfg.embed}, {tr['parameters']:,} parameters; "
        f"{cfg.encoding} on {', '.join(cfg.corpus)} ({tr['corpus_tunes']} tunes, {tr['corpus_tokens']:,} tokens, "
        f"vocab {tr['vocab']}).", "",
        "| measure | value |", "|---|---|",
        f"| training, tokens/s (batch {cfg.batch_size} x {cfg.seq_len}, {tr['steps_timed']} "
        f"steps{', an epoch' if not args.quick else ''}) | {tr['train_tokens_per_s']:,} |",
        f"| generation, 1 tune, tokens/s | {gen1['tokens_per_s']:,} |",
        f"| generation, batch of 64, tokens/s | {gen64['tokens_per_s']:,} |",
        f"| tokenizing abc-tokens, {tok['corpus']} ({tok['tunes']:,} tunes, {tok['tokens']:,} tokens in "
        f"{tok['seconds']} s), tokens/s | {tok['tokens_per_s']:,} |",
        f"| peak RSS (corpus + training + generation) | {result['peak_rss_mb']} MB |", "",
        "Command: `.venv/bin/python bench/speed/speed.py` (or `make bench`).", "",
    ]
    write_results(RESULTS, f"speed{suffix}", result, "\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
