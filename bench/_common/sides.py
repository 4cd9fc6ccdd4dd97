"""One way of training, driven step by step through the library's `Trainer`: the sides that
bench/training races and that bench/speed, bench/optimizer and bench/precision time.

`configs`/`prepared` build the `notes-window100` network (the Classical-Piano-Composer setup: note/chord
vocabulary of the Bach chorales, LSTM 3x512, RMSprop) two ways: the many-to-one window of 100 tokens and
our many-to-many chunks of SEQ_LEN tokens, OURS_BATCH chunks a step.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch

from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.dataset import prepare
from rnnmusic.presets import apply_preset
from rnnmusic.run import RunDir
from rnnmusic.trainer import Trainer

SEQ_LEN, OURS_BATCH = 32, 4  # our side: chunks of 32 tokens, 4 chunks a step (the README says why)


def configs(args) -> tuple[ModelConfig, TrainConfig, TrainConfig]:
    model, train = apply_preset("notes-window100", {}, {"max_tunes": args.pieces or None, "threads": args.threads,
                                                        "device": getattr(args, "device", "cpu")})
    if args.quick:
        model.update({"layers": 2, "hidden": 128, "embed": 64})
    mcfg = ModelConfig(**model)
    window = TrainConfig(**train)
    chunks = TrainConfig(**(train | {"window": 0, "seq_len": getattr(args, "seq_len", SEQ_LEN),
                                     "batch_size": getattr(args, "ours_batch", OURS_BATCH)}))
    return mcfg, window, chunks


def prepared(args) -> tuple[ModelConfig, TrainConfig, TrainConfig, object]:
    """`configs(args)` on `args.threads` torch threads, with the corpus prepared and the model sized to its
    vocabulary: (model, windowed config, our config, data)."""
    torch.set_num_threads(args.threads)
    mcfg, wcfg, ccfg = configs(args)
    data = prepare(wcfg)
    mcfg.vocab_size, mcfg.kind = data.encoding.vocab_size, data.encoding.kind
    return mcfg, wcfg, ccfg, data


class Side:
    """One way of training: a Trainer plus an endless stream of its batches."""

    def __init__(self, name: str, mcfg: ModelConfig, cfg: TrainConfig, data, folder: Path):
        self.name = name
        self.t = Trainer(RunDir(folder / name), ModelConfig(**mcfg.__dict__), cfg, data.encoding, data.train,
                         data.valid, callbacks=[], progress_bar=False)
        self.epoch, self.steps = 0, 0
        self.stream = self.t.train_data.batches(0)

    def step(self) -> int:
        """One training step exactly as Trainer._fit takes it; returns the scored targets."""
        t = self.t
        try:
            _, x, y, fresh = next(self.stream)
        except StopIteration:
            self.epoch += 1
            self.stream = t.train_data.batches(self.epoch)
            _, x, y, fresh = next(self.stream)
        if fresh:
            t.state = None
        t.model.train()
        loss, _, scored = t.train_step(x, y, t.lr_at(self.steps))
        self.steps += 1
        loss.detach().item()
        return scored


def throughput(sides: list[Side], warmup: int, rounds: int, per_round: int) -> dict:
    for s in sides:
        for _ in range(warmup):
            s.step()
    stats = {s.name: {"steps": 0, "targets": 0, "seconds": 0.0} for s in sides}
    for _ in range(rounds):
        for s in sides:
            for _ in range(per_round):
                t0 = time.perf_counter()
                n = s.step()
                st = stats[s.name]
                st["seconds"] += time.perf_counter() - t0
                st["targets"] += n
                st["steps"] += 1
    for st in stats.values():
        st["targets_per_s"] = round(st["targets"] / st["seconds"], 1)
        st["seconds"] = round(st["seconds"], 2)
        st["targets_per_step"] = round(st["targets"] / st["steps"], 1)
    return stats
