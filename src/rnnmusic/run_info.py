"""A run directory (or shipped model) described in a few lines: model, encoding and corpus, training, progress."""
from __future__ import annotations

from pathlib import Path


def describe_run(path: str | Path) -> list[str]:
    """What `rnnmusic info RUN` prints (a voice's too)."""
    from .model import default_head
    from .models import is_voice, resolve_model
    from .run import open_run
    from .trainer import read_checkpoint_progress

    if is_voice(resolve_model(path)):
        return describe_voice(resolve_model(path))
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


def describe_voice(folder: Path) -> list[str]:
    """A learned voice: its network, training, progress and how it plays notes."""
    import json

    from .train_progress import read_metrics

    saved = json.loads((folder / "config.json").read_text())
    v, t, perf = saved.get("voice", {}), saved.get("train", {}), saved.get("performance", {})
    rows = read_metrics(folder / "metrics.csv")
    lines = [f"voice {folder}",
             f"  network: GRU {v.get('hidden')}, {v.get('n_harmonics')} harmonics, {v.get('n_noise_bands')} noise "
             f"bands, {v.get('reverb_s')} s reverb; {v.get('sample_rate')} Hz, {v.get('hop')} samples a frame",
             f"  training: {t.get('steps')} steps of {t.get('batch')} x {t.get('clip_s')} s clips, lr {t.get('lr')}"]
    if rows:
        best = min(rows, key=lambda r: float(r["valid_loss"]))
        lines.append(f"  step {rows[-1]['step']}, best validation {float(best['valid_loss']):.4f} (step "
                     f"{best['step']}), {float(rows[-1]['elapsed_s']) / 60:.1f} min of training steps")
    lines.append("  plays notes with: " + ", ".join(f"{k} {v}" for k, v in perf.items()))
    return lines
