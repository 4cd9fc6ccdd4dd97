"""What a training asks for: a preset and flag values become `ModelConfig` / `TrainConfig`; a new run, a
fine-tuned one (`--init-from`) or a resumed one. The `train` and `benchmark` commands and Python share it.

    result = train_from_flags({"out": "runs/x", "preset": "notes-window100", "epochs": 5})
    result = train_from_flags({"resume": "runs/x", "max_minutes": 30})
"""
from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from .config import ModelConfig, TrainConfig, split_sources
from .errors import UserError
from .presets import apply_preset, get_preset


def settings_from_flags(flags: dict[str, Any]) -> tuple[dict, dict]:
    """Model and training overrides (dicts for `ModelConfig(**m)`, `TrainConfig(**t)`) from flag values named as
    the configs' fields, plus `preset`, `grid`, `onsets`, `min_count`, `scheme` (encoding options), `many_to_one` and
    `window`; the preset underneath, flags winning. None means "not given"."""
    given = {k: v for k, v in flags.items() if v is not None}
    tcfg = {k: v for k, v in given.items() if k in {f.name for f in fields(TrainConfig)}}
    mcfg = {k: v for k, v in given.items() if k in {f.name for f in fields(ModelConfig)}}
    opts = {k: given[k] for k in ("grid", "onsets", "min_count", "scheme") if k in given}
    if opts:
        tcfg["encoding_options"] = opts
    preset = given.get("preset")
    preset_window = get_preset(preset).train.get("window", 0) if preset else 0  # many-to-one presets
    many_to_one = given.get("many_to_one", False)
    if "window" in given and not (many_to_one or preset_window):
        raise UserError("--window sets the many-to-one window: use it with --many-to-one")
    if many_to_one or "window" in given:
        tcfg["window"] = given.get("window") or preset_window or 100
    if "corpus" in given:
        tcfg["corpus"] = split_sources(given["corpus"])
    mcfg, tcfg = apply_preset(preset, mcfg, tcfg)
    if tcfg.get("encoding") == "lead" and "corpus" not in tcfg:
        tcfg["corpus"] = ["lead-sheets"]  # built-in lead sheets (the default ABC corpus has no chords)
    if "encoding_options" in tcfg:
        from .encodings import get_encoding

        enc_name = tcfg.get("encoding", TrainConfig().encoding)
        enc = get_encoding(enc_name)
        allowed = set(enc.defaults) | ({"min_count"} if enc.kind != "frames" else set())
        bad = set(tcfg["encoding_options"]) - allowed
        if bad:
            names = ", ".join("--" + b.replace("_", "-").replace("onsets", "no-onsets") for b in sorted(bad))
            raise UserError(f"{names} does not apply to the {enc_name} encoding")
    if preset:
        tcfg["preset"] = preset
    return mcfg, tcfg


RESUME_FIXED = ("corpus", "encoding", "tracks", "normalize_key", "augment_keys", "window", "init_from")


def resume_overrides(flags: dict[str, Any]) -> dict[str, Any]:
    """The training overrides a resumed run may take (epochs, budget, learning rate, ...); UserError when the flags
    would change the model, corpus, encoding or data."""
    given = {k: v for k, v in flags.items() if v is not None}
    tcfg = {k: v for k, v in given.items() if k in {f.name for f in fields(TrainConfig)}}
    model = {k for k in given if k in {f.name for f in fields(ModelConfig)}}
    fixed = [k for k in RESUME_FIXED if k in tcfg] + [k for k in ("preset", "grid", "onsets") if k in given]
    if model or fixed or given.get("many_to_one"):
        raise UserError("--resume continues a run as configured: model, corpus, encoding and data flags cannot change")
    return tcfg


def train_from_flags(flags: dict[str, Any]):
    """Train as the `train` command does: `resume` (a run) continues it with `resume_overrides`; otherwise `out`
    (a new run directory), fine-tuned from `init_from` (a shipped model or run) when given. Returns the
    `TrainResult`."""
    from .trainer import resume, train

    if flags.get("resume"):
        return resume(flags["resume"], resume_overrides(flags))
    out = flags.get("out")
    if not out:
        raise UserError("train needs --out RUN (a new run directory) or --resume RUN")
    if flags.get("init_from"):  # fine-tune (rnnmusic.finetune): the base's encoding and shape, fine-tuning defaults
        from types import SimpleNamespace

        from .finetune import cli_configs

        return train(out, *cli_configs(SimpleNamespace(**flags), lambda a: settings_from_flags(vars(a))))
    mcfg, tcfg = settings_from_flags(flags)
    return train(out, TrainConfig(**tcfg), ModelConfig(**mcfg))


def distributed_batch(flags: dict[str, Any]) -> int:
    """The global batch size a `train --nproc` run will use (checked before any worker starts)."""
    if flags.get("resume"):
        from .run import open_run

        batch = open_run(flags["resume"]).load_config()[1].batch_size
        return flags["batch_size"] if flags.get("batch_size") is not None else batch
    out = flags.get("out")
    if not out:
        raise UserError("train needs --out RUN (a new run directory) or --resume RUN")
    from .run import RunDir

    if RunDir(Path(out)).exists():
        raise UserError(f"{out}: already holds a run; use --resume to continue it or choose another --out")
    return TrainConfig(**settings_from_flags(flags)[1]).batch_size


def benchmark_settings(flags: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    """The polyphonic benchmark's configs from flags: a preset brings its model and optimiser; the data and
    encoding stay the benchmark's; the head defaults to NADE."""
    if flags.get("corpus") or flags.get("encoding") or flags.get("grid") or flags.get("onsets") is not None:
        raise UserError("the benchmark fixes its data and encoding: --corpus, --encoding, --grid and --no-onsets "
                        "do not apply")
    mcfg, tcfg = settings_from_flags(flags)
    for k in ("corpus", "encoding", "encoding_options"):
        tcfg.pop(k, None)
    mcfg.setdefault("head", "nade")
    return ModelConfig(**mcfg), TrainConfig(**tcfg)


def train_summary(result) -> str:
    """One line on how a training ended: why it stopped, the run, epoch, step and best validation loss."""
    from .run import open_run
    from .trainer import LN2

    p = result.progress
    unit = open_run(result.run).load_config()[0].step_unit
    best = f"{p.best_valid:.4f} nats ({p.best_valid / LN2:.3f} bits/{unit})" if p.best_valid < 1e9 else "n/a"
    return f"{result.stopped}: {result.run}  epoch {p.epoch}, step {p.step}, best validation loss {best}"
