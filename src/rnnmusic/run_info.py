"""A run directory (or shipped model) described in a few lines: model, encoding and corpus, training, progress."""
from __future__ import annotations

from pathlib import Path


def describe_run(path: str | Path) -> list[str]:
    """What `rnnmusic info RUN` prints."""
    from .model import default_head
    from .run import open_run
    from .trainer import read_checkpoint_progress

    run = open_run(path)
    model_cfg, cfg = run.load_config()
    enc = run.load_encoding()
    p = read_checkpoint_progress(run.root)
    head = model_cfg.head or default_head(model_cfg.kind)
    extras = (f", attention over {model_cfg.attention} steps" if model_cfg.attention else "") + (
        f", preset {cfg.preset}" if cfg.preset else "")
    size = f"{enc.vocab_size} tokens" if model_cfg.kind != "frames" else f"frames {enc.vocab_size} wide"
    opts = ", ".join(f"{k}={v}" for k, v in enc.options.items())
    training = "many-to-one, window " + str(cfg.window) if cfg.window else f"many-to-many, chunks of {cfg.seq_len}"
    normalized = cfg.normalize_key or getattr(enc, "normalizes_key", False)
    keys = ("keys normalized to C major / A minor" if normalized else "keys as written") + (
        f", +/-{cfg.augment_keys} semitone augmentation" if cfg.augment_keys else "")
    lines = [f"run {run.root}",
             f"  model: {model_cfg.cell} {model_cfg.layers} layers x {model_cfg.hidden}, embed {model_cfg.embed}, "
             f"dropout {model_cfg.dropout}, {head} head{extras}",
             f"  encoding: {enc.name} ({opts or 'no options'}), {size}; corpus {', '.join(cfg.corpus)}",
             f"  training: {training}; {cfg.optimizer}, lr {cfg.lr}; {keys}"]
    if p:
        status = p.done or "in progress (resume with `rnnmusic train --resume RUN`)"
        lines.append(
            f"  epochs {p.epoch}/{cfg.epochs}, step {p.step}, best validation {p.best_valid:.4f} nats; {status}"
        )
    return lines
