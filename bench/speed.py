"""Training and generation throughput of the default config, and peak memory.

    .venv/bin/python bench/speed.py            # writes bench/results/speed.json and speed.md

Training: tokens (target predictions) per second over timed truncated-BPTT steps on real tunes (O'Neill's,
abc-tokens), after warm-up steps. Generation: tokens per second of the stateful sampler, one tune and a
batch of 64. Tokenizing: abc-tokens over the whole Essen collection (music21's, about 8,500 tunes), tokens
per second. Peak memory: the process's max RSS after loading the corpus and training.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time

import torch

from rnnmusic.batches import IGNORE, PieceBatches
from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.model import MusicRNN, detach_state
from rnnmusic.sample import SampleConfig, sample_ids
from rnnmusic.corpus.abc import load_abc
from rnnmusic.dataset import prepare
from rnnmusic.encodings import get_encoding

from machine import commit, machine_info, write_results


def machine() -> dict:
    return machine_info() | {"torch_threads": torch.get_num_threads(), "torch": torch.__version__}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_training(cfg: TrainConfig, mcfg: ModelConfig, steps: int = 30, warmup: int = 5) -> dict:
    data = prepare(cfg)
    enc = data.encoding
    stream = PieceBatches(data.train + data.valid, cfg.batch_size, cfg.seq_len)
    mcfg.vocab_size = enc.vocab_size
    torch.manual_seed(0)
    model = MusicRNN(mcfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    state, n, t0 = None, 0, 0.0
    for i, (_, x, y, fresh) in enumerate(stream.batches(0)):
        if fresh:
            state = None
        if i == warmup:
            t0, n = time.perf_counter(), 0
        out, state = model(x, state)
        loss = model.loss(out, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        state = detach_state(state)
        n += int((y != IGNORE).sum())
        if i == warmup + steps:
            break
    dt = time.perf_counter() - t0
    return {"corpus_tunes": len(data.train) + len(data.valid), "corpus_tokens": stream.tokens, "vocab": enc.vocab_size,
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
    tr = bench_training(cfg, mcfg, steps=5 if args.quick else 30)
    model, enc = tr.pop("model"), tr.pop("encoding")
    rss_train = rss_mb()
    gen1 = bench_generation(model, enc, 1, 50 if args.quick else 400)
    gen64 = bench_generation(model, enc, 64, 50 if args.quick else 400)
    tok = bench_tokenize("oneills" if args.quick else "essen")
    result = {"machine": machine(), "commit": commit(), "date": time.strftime("%Y-%m-%d"),
              "config": {"model": {k: v for k, v in mcfg.__dict__.items()}, "corpus": cfg.corpus, "encoding": cfg.encoding},
              "training": tr, "generation_single": gen1, "generation_batch64": gen64, "tokenize": tok, "peak_rss_mb": round(max(rss_train, rss_mb()))}
    suffix = "-quick" if args.quick else ""
    m = result["machine"]
    md = [
        "# Speed of the default config", "",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), Python {m['python']}; "
        f"commit {result['commit']}, {result['date']}.", "",
        f"Model: {mcfg.cell} {mcfg.layers}x{mcfg.hidden}, embed {mcfg.embed}, {tr['parameters']:,} parameters; "
        f"{cfg.encoding} on {', '.join(cfg.corpus)} ({tr['corpus_tunes']} tunes, {tr['corpus_tokens']:,} tokens, vocab {tr['vocab']}).", "",
        "| measure | value |", "|---|---|",
        f"| training, tokens/s (batch {cfg.batch_size} x {cfg.seq_len}, {tr['steps_timed']} steps) | {tr['train_tokens_per_s']:,} |",
        f"| generation, 1 tune, tokens/s | {gen1['tokens_per_s']:,} |",
        f"| generation, batch of 64, tokens/s | {gen64['tokens_per_s']:,} |",
        f"| tokenizing abc-tokens, {tok['corpus']} ({tok['tunes']:,} tunes, {tok['tokens']:,} tokens in {tok['seconds']} s), tokens/s | {tok['tokens_per_s']:,} |",
        f"| peak RSS (corpus + training + generation) | {result['peak_rss_mb']} MB |", "",
        "Command: `.venv/bin/python bench/speed.py` (or `make bench`).", "",
    ]
    write_results(f"speed{suffix}", result, "\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
