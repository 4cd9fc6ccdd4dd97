"""Where training runs start and continue: `train` (a new run), `resume` (a run from its newest good checkpoint),
`finetune` (a new run from a shipped model's or another run's weights), `read_checkpoint_progress`.

All three go through the one loop, `rnnmusic.train_loop.Trainer`; its callbacks are `rnnmusic.callbacks`, the
progress it saves `rnnmusic.train_progress`. Those names are importable from here too:

    from rnnmusic.trainer import LN2, Callback, Trainer, read_checkpoint_progress, resume, train
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import device, distributed
from .callbacks import DEFAULT_CALLBACKS, Callback, LossPlot, PlateauCheck, SampleWriter, log
from .config import ModelConfig, TrainConfig
from .dataset import prepare
from .errors import CheckpointError, UserError, one_line
from .finetune import adopt_base, finetune_configs, initial_weights, load_base, prepare_data, start_lines
from .run import RunDir, open_run
from .train_loop import Trainer
from .train_progress import LN2, Progress, TrainResult, progress_from_meta


def _start(cfg: TrainConfig, model_cfg: ModelConfig) -> distributed.Dist | None:
    """The checks that need no data, before the corpus is read, and this process' place among several
    (None: one process): the settings, then that the batch divides among the processes, or that this
    machine has the device and precision asked for."""
    cfg.validate()
    d = distributed.setup()
    if d is not None:
        distributed.check_batch(cfg.batch_size, d.world)
    else:
        device.check_precision(cfg.precision, device.resolve_device(cfg.device), model_cfg.cell)
    return d


def train(
    out: str | Path,
    cfg: TrainConfig | None = None,
    model_cfg: ModelConfig | None = None,
    *,
    callbacks: Sequence[Callback] | None = None,
    progress_bar: bool | None = None,
) -> TrainResult:
    """Train a new model into the run directory `out` (which must not hold a run yet); with `cfg.init_from`, start
    from that shipped model's or run's weights, encoding and shape (`rnnmusic.finetune`; model_cfg may be None).

    Started by torchrun with several processes (`rnnmusic train --nproc N`), every process runs this and they
    train one model data-parallel; only rank 0 writes files."""
    cfg = cfg or TrainConfig()
    base = None
    if cfg.init_from:  # fine-tuning: the base's encoding and shape, its vocabulary extended (rnnmusic.finetune)
        base = load_base(cfg.init_from)
        model_cfg = adopt_base(base, cfg, model_cfg)
    model_cfg = model_cfg or ModelConfig()
    d = _start(cfg, model_cfg)
    run = RunDir(Path(out))
    if run.exists():
        raise UserError(f"{run.root}: already holds a run; use --resume to continue it or choose another --out")
    distributed.barrier(d)  # every rank has looked before rank 0 writes
    data = prepare(cfg) if base is None else prepare_data(base, cfg)
    enc, train_pieces, valid_pieces = data.encoding, data.train, data.valid
    model_cfg.vocab_size, model_cfg.kind = enc.vocab_size, enc.kind
    model_cfg.validate()
    for line in data.report.warnings[:20]:
        log(f"warning: {line}")
    if len(data.report.warnings) > 20:
        log(f"... {len(data.report.warnings) - 20} more warnings in {run.report_path}")
    log(data.report.summary())
    log(enc.summary())
    for line in start_lines(base, cfg, data, out):  # a fine-tune's vocabulary; small-book advice
        log(line)
    try:
        if distributed.is_main():
            run.root.mkdir(parents=True, exist_ok=True)
            run.write_json(run.report_path, data.report_dict())
            run.save_encoding(enc)
            run.save_config(model_cfg, cfg)
    except OSError as e:
        raise UserError(f"{run.root}: cannot write the run directory: {e.strerror or e}") from None
    trainer = Trainer(
        run, model_cfg, cfg, enc, train_pieces, valid_pieces,
        [f() for f in DEFAULT_CALLBACKS] if callbacks is None else callbacks, progress_bar, d,
    )
    if base is not None:
        trainer.model.load_state_dict(initial_weights(base, enc))
    unit, steps = ("keys per frame", "frames") if enc.kind == "frames" else ("tokens", "tokens")
    log(
        f"model: {model_cfg.cell} {model_cfg.layers}x{model_cfg.hidden}, {trainer.model.num_parameters():,} "
        f"parameters; encoding {enc.name} ({enc.vocab_size} {unit}); {len(train_pieces)} train / "
        f"{len(valid_pieces)} valid pieces, "
        f"{trainer.train_data.tokens:,} train {steps}, {trainer.train_data.num_batches} batches per epoch"
        + (f" ({cfg.window}-step windows, many-to-one)" if cfg.window else "")
        + (f"; {d.world} processes ({d.backend}), {cfg.batch_size // d.world} of the {cfg.batch_size} rows each"
           if d else "")
    )
    return trainer.fit()


def resume(
    path: str | Path,
    overrides: dict[str, Any] | None = None,
    *,
    callbacks: Sequence[Callback] | None = None,
    progress_bar: bool | None = None,
) -> TrainResult:
    """Continue a run from its newest good checkpoint (`overrides` may change e.g. epochs or max_minutes)."""
    run = open_run(path)
    model_cfg, cfg = run.load_config()
    for k, v in (overrides or {}).items():
        if not hasattr(cfg, k):
            raise UserError(f"cannot override unknown setting {k!r}")
        setattr(cfg, k, v)
    d = _start(cfg, model_cfg)
    enc = run.load_encoding()
    data = prepare(cfg, enc)
    train_pieces, valid_pieces = data.train, data.valid
    trainer = Trainer(
        run, model_cfg, cfg, enc, train_pieces, valid_pieces,
        [f() for f in DEFAULT_CALLBACKS] if callbacks is None else callbacks, progress_bar, d,
    )
    if distributed.is_main():
        stale = run.remove_temp_files()
        if stale:
            log(f"{run.root}: removed {stale} half-written temporary file(s) left by the interrupted run")
    found = run.latest_checkpoint()  # (every rank reads the same newest checkpoint)
    if found is None:
        log(f"{run.root}: no checkpoint yet; starting from the beginning")
        if cfg.init_from:  # a fine-tuned run's beginning is its base's weights
            trainer.model.load_state_dict(initial_weights(load_base(cfg.init_from), enc))
    else:
        ckpt, tensors, meta = found
        try:
            trainer.restore(tensors, meta)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{ckpt}: verifies, but is not a training checkpoint of this run "
                                  f"({one_line(e, 160, named=True)})") from None
        if trainer.p.done == "epochs" and trainer.p.epoch < cfg.epochs:
            trainer.p.done = None  # more epochs were asked for
        log(f"resuming {run.root} from {ckpt.name}: epoch {trainer.p.epoch}, batch {trainer.p.batch}, "
            f"step {trainer.p.step}")
    if overrides and distributed.is_main():
        run.save_config(model_cfg, cfg)
    distributed.barrier(d)  # every rank has read the checkpoint before rank 0 writes new ones
    return trainer.fit()


def read_checkpoint_progress(path: str | Path) -> Progress | None:
    """Progress of a run's newest good checkpoint (None when there is none)."""
    found = open_run(path).latest_checkpoint()
    return None if found is None else progress_from_meta(found[2])


def finetune(out: str | Path, init_from: str | Path, corpus: str | Sequence[str], *, dropout: float | None = None,
             callbacks: Sequence[Callback] | None = None, progress_bar: bool | None = None,
             **train_settings: Any) -> TrainResult:
    """Fine-tune the shipped model or run `init_from` on `corpus` into the new run directory `out`; keywords
    are TrainConfig fields (epochs, lr, batch_size, max_minutes, ...) over `rnnmusic.finetune.FINETUNE_DEFAULTS`."""
    corpus = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    cfg, model_cfg = finetune_configs(init_from, train_settings | {"corpus": [str(c) for c in corpus]},
                                      {} if dropout is None else {"dropout": dropout})
    return train(out, cfg, model_cfg, callbacks=callbacks, progress_bar=progress_bar)


__all__ = [
    "LN2", "Callback", "LossPlot", "PlateauCheck", "Progress", "SampleWriter", "TrainResult", "Trainer", "finetune",
    "read_checkpoint_progress", "resume", "train",
]
