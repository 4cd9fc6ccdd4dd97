"""The one training loop: truncated BPTT, checkpoints, resume, early stopping, callbacks.

`train(...)` starts a run directory; `resume(run)` continues it from its newest good checkpoint through the
same loop. A checkpoint holds weights, optimizer moments, schedule state, RNG state, the recurrent state and
the data position (epoch, batch), so a run killed at any moment continues where its last checkpoint left it;
with `deterministic=True` the finished weights are bit-identical to an uninterrupted run.
"""
from __future__ import annotations

import csv
import io
import math
import signal
import sys
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from . import device, distributed, finetune, optimizers
from .batches import PieceBatches, WindowBatches
from .checkpoint import (
    load_checkpoint,
    optimizer_from_flat,
    optimizer_to_flat,
    save_checkpoint,
    split_prefix,
    write_atomic,
)
from .config import ModelConfig, TrainConfig
from .dataset import prepare
from .encodings import Encoding
from .errors import CheckpointError, UserError
from .model import MusicRNN, count_targets, detach_state, state_from_tensors, state_tensors
from .run import RunDir, open_run

METRIC_FIELDS = [
    "epoch", "step", "train_loss", "valid_loss", "train_bpt", "valid_bpt", "lr", "tokens_per_s", "elapsed_s",
]
LN2 = math.log(2.0)


@dataclass
class Progress:
    """Where training stands: everything besides tensors that a checkpoint must restore."""

    epoch: int = 0            # epochs completed
    batch: int = 0            # batches completed in the current epoch (the data position)
    step: int = 0             # optimizer steps in total
    best_valid: float = math.inf
    bad_epochs: int = 0       # epochs since the last validation improvement
    lr_scale: float = 1.0     # plateau schedule state
    epoch_loss_sum: float = 0.0
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0
    elapsed: float = 0.0      # training seconds over all sessions
    done: str | None = None   # why training finished ("epochs", "early stopping"); None while it can go on


@dataclass
class TrainResult:
    run: Path
    progress: Progress
    stopped: str              # "finished: ...", "interrupted: ..."
    metrics: list[dict[str, Any]] = field(default_factory=list)


class Callback:
    """Hooks the loop calls; subclass and override what you need."""

    def on_epoch_end(self, trainer: "Trainer", row: dict[str, Any]) -> None:
        pass


def _log(msg: str) -> None:
    if distributed.is_main():  # with several processes only rank 0 speaks
        tqdm.write(msg, file=sys.stderr)


class Trainer:
    def __init__(
        self,
        run: RunDir,
        model_cfg: ModelConfig,
        cfg: TrainConfig,
        encoding: Encoding,
        train_pieces: Sequence[np.ndarray],
        valid_pieces: Sequence[np.ndarray],
        callbacks: Sequence[Callback] = (),
        progress_bar: bool | None = None,
        dist: distributed.Dist | None = None,
    ):
        cfg.validate()
        self.run, self.model_cfg, self.cfg, self.encoding = run, model_cfg, cfg, encoding
        self.callbacks = list(callbacks)
        self.progress_bar = progress_bar
        self.dist = dist  # None: one process (the plain path); else this rank of a data-parallel group
        if dist is not None:
            distributed.check_batch(cfg.batch_size, dist.world)
            if not dist.main:
                self.progress_bar = False
        self.device = dist.device if dist is not None else device.resolve_device(cfg.device)
        device.check_precision(cfg.precision, self.device, model_cfg.cell)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
            torch.set_num_threads(1)
            device.make_deterministic(self.device)
        elif cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.model = MusicRNN(model_cfg)
        self.model.to(self.device)
        self.scaler = device.grad_scaler(self.device, cfg.precision)
        self._seed = cfg.seed  # this process's seed (other ranks of a data-parallel group: their own)
        self.net: torch.nn.Module = self.model  # what the training step calls (DDP-wrapped with several processes)
        self._rows = 0  # real rows of this rank's share of the current batch (several processes)
        if dist is not None:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(
                self.model, device_ids=[dist.device.index] if dist.device.type == "cuda" else None)
            if not dist.main:  # rank 0 draws the dropout masks one process would; the others their own
                self._seed = distributed.rank_seed(cfg.seed, dist.rank)
                torch.manual_seed(self._seed)
        self.optimizer = self._make_optimizer()
        try:
            if cfg.window:
                self.train_data = WindowBatches(train_pieces, cfg.batch_size, cfg.window, stride=cfg.window_stride,
                                                shuffle=True, seed=cfg.seed)
                self.valid_data = WindowBatches(valid_pieces, cfg.batch_size, cfg.window, stride=cfg.window_stride,
                                                shuffle=False)
            else:
                self.train_data = PieceBatches(train_pieces, cfg.batch_size, cfg.seq_len, shuffle=True, seed=cfg.seed)
                self.valid_data = PieceBatches(valid_pieces, cfg.batch_size, cfg.seq_len, shuffle=False)
        except ValueError as e:
            raise UserError(f"cannot batch the corpus: {e}") from None
        self.total_steps = cfg.epochs * self.train_data.num_batches
        self.p = Progress()
        self.state = None
        self.metrics: list[dict[str, Any]] = []
        self._signal: str | None = None  # set by Ctrl-C / SIGTERM during fit()

    # -- setup ---------------------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        c = self.cfg
        return optimizers.make(c.optimizer, self.model.parameters(), c.lr, c.weight_decay, self.device)

    def lr_at(self, step: int) -> float:
        c = self.cfg
        lr = c.lr * self.p.lr_scale
        if c.lr_schedule == "constant":
            return lr
        warm = min(1.0, (step + 1) / c.warmup_steps) if c.warmup_steps else 1.0
        if c.lr_schedule == "plateau":
            return lr * warm
        progress = min(1.0, step / max(1, self.total_steps))
        cosine = c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        return lr * warm * cosine

    # -- checkpoints ---------------------------------------------------------------------------------
    def _tensors(self, with_training_state: bool) -> dict[str, torch.Tensor]:
        t = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if with_training_state:
            opt_t, _ = optimizer_to_flat(self.optimizer.state_dict())
            t.update({f"optim.{k}": v for k, v in opt_t.items()})
            if self.dist is None:
                t["rng.torch"] = torch.get_rng_state()
                if self.device.type == "cuda":  # dropout masks on the GPU come from its own generator
                    t["rng.cuda"] = torch.cuda.get_rng_state(self.device)
                t.update({f"hidden.{k}": v for k, v in state_tensors(self.state).items()})
            else:  # collectives: every rank's RNG, every row's recurrent state (rank 0 writes them)
                rngs = distributed.gather_rng(self.dist)
                t["rng.torch"] = rngs[0]
                t.update({f"rng.torch.rank{r}": s for r, s in enumerate(rngs) if r})
                full = distributed.gather_state(self.state, self._rows, self.dist)
                t.update({f"hidden.{k}": v for k, v in state_tensors(full).items()})
        return t

    def _meta(self) -> dict[str, Any]:
        _, opt_js = optimizer_to_flat(self.optimizer.state_dict())
        return {
            "progress": asdict(self.p),
            "optimizer": opt_js,
            "grad_scaler": device.scaler_state(self.scaler),
            "encoding": self.encoding.name,
            "model": asdict(self.model_cfg),
            "parameters": self.model.num_parameters(),
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }

    def save(self) -> Path:
        path = self.run.step_path(self.p.step)
        tensors = self._tensors(True)  # (a collective with several processes: every rank gets here)
        if self.dist is not None and not self.dist.main:
            return path
        save_checkpoint(path, tensors, self._meta())
        for old in self.run.step_checkpoints()[self.cfg.keep_checkpoints :]:
            old.unlink(missing_ok=True)
        return path

    def save_best(self) -> None:
        if self.dist is not None and not self.dist.main:
            return
        save_checkpoint(self.run.best_path, self._tensors(False), self._meta())

    def restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.model.load_state_dict(split_prefix(tensors, "model"))
        self.optimizer.load_state_dict(optimizer_from_flat(split_prefix(tensors, "optim"), meta["optimizer"]))
        self.state = device.move_state(state_from_tensors(split_prefix(tensors, "hidden")), self.device)
        if self.scaler is not None and meta.get("grad_scaler"):
            self.scaler.load_state_dict(meta["grad_scaler"])
        if self.dist is None:
            torch.set_rng_state(tensors["rng.torch"])
            if "rng.cuda" in tensors and self.device.type == "cuda":
                torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        else:
            own = tensors["rng.torch"] if self.dist.main else tensors.get(f"rng.torch.rank{self.dist.rank}")
            if own is not None:
                torch.set_rng_state(own)
            else:  # saved by a run with fewer processes
                torch.manual_seed(distributed.rank_seed(self.cfg.seed, self.dist.rank, int(meta["progress"]["step"])))
            if self.state is not None:
                a, b = distributed.row_range(self.state["h"].size(1), self.dist.rank, self.dist.world)
                self._rows = b - a
            self.state = distributed.shard_state(self.state, self.dist)
        known = set(Progress.__dataclass_fields__)
        self.p = Progress(**{k: v for k, v in meta["progress"].items() if k in known})
        self.metrics = [r for r in self._read_metrics() if int(r["epoch"]) <= self.p.epoch]

    # -- metrics -------------------------------------------------------------------------------------
    def _read_metrics(self) -> list[dict[str, Any]]:
        if not self.run.metrics_path.exists():
            return []
        with open(self.run.metrics_path, newline="") as f:
            return list(csv.DictReader(f))

    def _write_metrics(self) -> None:
        if self.dist is not None and not self.dist.main:
            return
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=METRIC_FIELDS)
        w.writeheader()
        w.writerows(self.metrics)
        write_atomic(self.run.metrics_path, buf.getvalue().encode())

    # -- the loop ------------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, data: PieceBatches) -> float:
        """Mean loss per predicted token over the whole stream (nats)."""
        self.model.eval()
        state, total, count = None, 0.0, 0
        for _, x, y, fresh in data.batches(0):
            if self.dist is not None:
                x, y, _ = distributed.shard(x, y, self.dist)
            else:
                x, y = x.to(self.device), y.to(self.device)
            with self._autocast():
                out, state = self.model(x, None if fresh else state)
            total += float(self.model.loss(out.float(), y, reduction="sum"))
            count += count_targets(y)
        if self.dist is not None:
            total, count = distributed.all_sum([total, count], self.dist)
        return total / max(1, count)

    def fit(self) -> TrainResult:
        """Train until the epochs are done, early stopping, a budget, or Ctrl-C / SIGTERM.

        Ctrl-C and SIGTERM finish the current step, write a checkpoint and return (resumable); a second
        Ctrl-C interrupts at once (the previous checkpoint stays).
        """
        if self.p.done:
            return TrainResult(self.run.root, self.p, f"finished: {self.p.done}", self.metrics)
        self._signal = None
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._on_signal)
        try:
            return self._fit()
        finally:
            for sig, h in handlers.items():
                signal.signal(sig, h)

    def _on_signal(self, signum, frame) -> None:
        if self._signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self._signal = signal.Signals(signum).name
        _log(f"{self._signal}: finishing this step, then writing a checkpoint (Ctrl-C again to stop at once)")

    def _fit(self) -> TrainResult:
        c, p, data = self.cfg, self.p, self.train_data
        session_start = time.monotonic()
        last_ckpt = time.monotonic()
        bar = tqdm(
            total=self.total_steps, initial=min(p.step, self.total_steps), unit="step", dynamic_ncols=True,
            disable=(not self.progress_bar) if self.progress_bar is not None else None, file=sys.stderr,
        )
        try:
            while p.epoch < c.epochs:
                bar.set_description(f"epoch {p.epoch + 1}/{c.epochs}")
                t0 = time.monotonic()
                self.model.train()
                for b, x, y, fresh in data.batches(p.epoch, p.batch):
                    if fresh:
                        self.state = None
                    lr = self.lr_at(p.step)
                    if c.deterministic:
                        device.step_seed(self.device, self._seed, p.step)
                    loss, loss_sum, scored = self.train_step(x, y, lr)
                    now = time.monotonic()
                    p.step, p.batch = p.step + 1, b + 1
                    if self.dist is None:
                        loss_value = loss.detach().item()
                    else:  # the global batch's mean loss; rank 0's clock decides time-based checkpoints
                        clock_due = self.dist.main and now - last_ckpt >= c.checkpoint_minutes * 60
                        total, clock_due = distributed.all_sum([loss_sum.detach().item(), clock_due], self.dist)
                        loss_value = total / max(1, scored)
                    p.epoch_loss_sum += loss_value * scored
                    p.epoch_tokens += scored
                    p.epoch_seconds += now - t0
                    p.elapsed += now - t0
                    t0 = now
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.1e}", refresh=False)
                    if p.batch < data.num_batches:
                        if (c.checkpoint_steps and p.step % c.checkpoint_steps == 0) or (
                            now - last_ckpt >= c.checkpoint_minutes * 60 if self.dist is None else clock_due
                        ):
                            self.save()
                            last_ckpt = now
                        stop = self._budget_spent(session_start)
                        if stop:
                            self.save()
                            return TrainResult(self.run.root, p, f"interrupted: {stop}", self.metrics)
                self._end_epoch()
                last_ckpt = time.monotonic()
                if p.done:
                    break
                stop = self._budget_spent(session_start)
                if stop and p.epoch < c.epochs:
                    return TrainResult(self.run.root, p, f"interrupted: {stop}", self.metrics)
        finally:
            bar.close()
        if not p.done:
            p.done = "epochs"
            self.save()
        return TrainResult(self.run.root, p, f"finished: {p.done}", self.metrics)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, lr: float) -> tuple[torch.Tensor, torch.Tensor | None, int]:
        """One optimizer step on a batch, carrying the recurrent state: (mean loss, summed loss of this rank's
        rows under DDP else None, scored targets of the whole batch). Under DDP each rank takes its rows and
        scales its summed loss by world / scored targets, which DDP's averaging of gradients divides away."""
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        scored, loss_sum = count_targets(y), None
        if self.dist is None:
            x, y = x.to(self.device), y.to(self.device)
            with self._autocast():
                out, state = self.model(x, self.state)
            loss = self.model.loss(out.float(), y)
        else:
            x, y, self._rows = distributed.shard(x, y, self.dist)
            with self._autocast():
                out, state = self.net(x, self.state)
            loss_sum = self.model.loss(out.float(), y, reduction="sum")
            loss = loss_sum * (self.dist.world / max(1, scored))
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            # clipping done inside the optimizer's own pass over the gradients where it can be
            optimizers.clip_and_step(self.optimizer, self.model.parameters(), self.cfg.grad_clip)
        else:  # fp16: scale the loss up for the backward pass and the gradients back down before clipping;
            self.scaler.scale(loss).backward()  # the scaler skips the step when a gradient overflowed
            self.scaler.unscale_(self.optimizer)
            if self.cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip, foreach=True)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.state = detach_state(state)
        return loss, loss_sum, scored

    def _autocast(self):
        return device.autocast(self.device, self.cfg.precision)

    def _budget_spent(self, session_start: float) -> str | None:
        c, p = self.cfg, self.p
        if self.dist is not None:  # one decision for all ranks: a signal to any of them, rank 0's clock
            late = self.dist.main and c.max_minutes is not None and time.monotonic() - session_start >= c.max_minutes * 60
            signalled, late = distributed.all_sum([self._signal is not None, late], self.dist)
            if signalled:
                return f"stopped by {self._signal or 'a signal'}"
            if c.max_steps is not None and p.step >= c.max_steps:
                return f"max steps {c.max_steps} reached"
            return f"time budget of {c.max_minutes:g} min spent" if late else None
        if self._signal:
            return f"stopped by {self._signal}"
        if c.max_steps is not None and p.step >= c.max_steps:
            return f"max steps {c.max_steps} reached"
        if c.max_minutes is not None and time.monotonic() - session_start >= c.max_minutes * 60:
            return f"time budget of {c.max_minutes:g} min spent"
        return None

    def _end_epoch(self) -> None:
        c, p = self.cfg, self.p
        valid = self.evaluate(self.valid_data)
        train = p.epoch_loss_sum / max(1, p.epoch_tokens)
        p.epoch += 1
        row = {
            "epoch": p.epoch, "step": p.step,
            "train_loss": round(train, 5), "valid_loss": round(valid, 5),
            "train_bpt": round(train / LN2, 5), "valid_bpt": round(valid / LN2, 5),
            "lr": f"{self.lr_at(p.step):.3g}",
            "tokens_per_s": round(p.epoch_tokens / max(1e-9, p.epoch_seconds)),
            "elapsed_s": round(p.elapsed, 1),
        }
        self.metrics.append(row)
        if valid < p.best_valid - 1e-4:
            p.best_valid, p.bad_epochs = valid, 0
            self.save_best()
            row["best"] = True
        else:
            p.bad_epochs += 1
            if c.lr_schedule == "plateau" and p.bad_epochs % c.lr_patience == 0:
                p.lr_scale *= 0.5
            if c.patience and p.bad_epochs >= c.patience:
                p.done = "early stopping"
        unit = self.model_cfg.step_unit
        if self.model_cfg.head == "mse":
            losses = f"train {train:.4f}  valid {valid:.4f} (squared error/frame)"
        else:
            losses = (f"train {train:.4f} ({train / LN2:.3f} bits/{unit})  "
                      f"valid {valid:.4f} ({valid / LN2:.3f} bits/{unit})")
        _log(f"epoch {p.epoch}/{c.epochs}  {losses}{'  *best' if row.get('best') else ''}  "
             f"{row['tokens_per_s']} {unit}s/s")
        row.pop("best", None)
        p.batch, p.epoch_loss_sum, p.epoch_tokens, p.epoch_seconds = 0, 0.0, 0, 0.0
        self.state = None
        self._write_metrics()
        for cb in self.callbacks if self.dist is None or self.dist.main else ():
            cb.on_epoch_end(self, row)
        if p.epoch >= c.epochs and not p.done:
            p.done = "epochs"
        self.save()


# -- callbacks shipped with the trainer ----------------------------------------------------------------
class LossPlot(Callback):
    """Redraws RUN/loss.png after every epoch."""

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        from .render.plots import plot_losses

        unit = f"bits per {trainer.model_cfg.step_unit}"
        if trainer.model_cfg.head == "mse":
            unit = "squared error per frame / ln 2"
        try:
            plot_losses(trainer.metrics, trainer.run.plot_path, unit)
        except OSError as e:
            warnings.warn(f"{trainer.run.plot_path}: cannot write loss plot: {e}", stacklevel=2)


class SampleWriter(Callback):
    """Every `sample_every` epochs, generates tunes into RUN/samples/epoch-NNN.abc with a validity report."""

    def on_epoch_end(self, trainer: Trainer, row: dict[str, Any]) -> None:
        c = trainer.cfg
        if not c.sample_every or trainer.p.epoch % c.sample_every:
            return
        from .generator import write_samples

        model = trainer.model
        if next(model.parameters()).device.type != "cpu":  # sampling runs on the CPU: a copy there (GPU training)
            import copy

            model = copy.deepcopy(model).cpu()
        summary = write_samples(
            model, trainer.encoding, trainer.run.samples_dir, f"epoch-{trainer.p.epoch:03d}",
            count=c.sample_count, max_length=c.sample_max_length, temperature=c.sample_temperature,
            seed=c.seed + trainer.p.epoch,
        )
        trainer.model.train()
        _log(f"samples: {summary}")
        self.evaluate(trainer, c)

    @staticmethod
    def evaluate(trainer: Trainer, c: TrainConfig) -> None:
        """Musical metrics of this epoch's samples: RUN/samples/epoch-NNN-evaluation.{md,html,json,png}, and
        one row of means per sampled epoch in RUN/samples/metrics.csv, drawn in metrics.png (collapse into
        repetition shows there)."""
        from .evaluation.compare import evaluate, write_report

        folder, stem = trainer.run.samples_dir, f"epoch-{trainer.p.epoch:03d}"
        files = sorted(str(f) for f in (folder / stem).glob("*.mid")) or [str(folder / f"{stem}.abc")]
        try:
            ev = evaluate(files, workers=1)
            write_report(ev, folder, stem=f"{stem}-evaluation")
        except (UserError, OSError, ValueError) as e:
            _log(f"warning: samples of epoch {trainer.p.epoch} not evaluated: {e}")
            return
        s = ev.summary()
        table = folder / "metrics.csv"
        new = not table.exists()
        with open(table, "a") as f:
            if new:
                f.write(",".join(["epoch", *s]) + "\n")
            f.write(",".join([str(trainer.p.epoch), *(f"{v:.4g}" for v in s.values())]) + "\n")
        from .render.plots import plot_sample_metrics

        plot_sample_metrics(list(csv.DictReader(open(table))), folder / "metrics.png")
        _log(f"sample metrics: pitch-class entropy {s['pitch_class_entropy']:.2f} bits, scale consistency "
             f"{s['scale_consistency']:.2f}, repeated bars {s['repeated_bars']:.2f}, repeated 4-grams "
             f"{s['repeated_ngrams']:.2f}, empty beats {s['empty_beat_rate']:.2f} -> {table}")


DEFAULT_CALLBACKS: tuple[Callable[[], Callback], ...] = (LossPlot, SampleWriter)


# -- entry points ----------------------------------------------------------------------------------------
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
        base = finetune.load_base(cfg.init_from)
        model_cfg = finetune.adopt_base(base, cfg, model_cfg)
    model_cfg = model_cfg or ModelConfig()
    d = _start(cfg, model_cfg)
    run = RunDir(Path(out))
    if run.exists():
        raise UserError(f"{run.root}: already holds a run; use --resume to continue it or choose another --out")
    distributed.barrier(d)  # every rank has looked before rank 0 writes
    data = prepare(cfg) if base is None else finetune.prepare_data(base, cfg)
    enc, train_pieces, valid_pieces = data.encoding, data.train, data.valid
    model_cfg.vocab_size, model_cfg.kind = enc.vocab_size, enc.kind
    model_cfg.validate()
    for line in data.report.warnings[:20]:
        _log(f"warning: {line}")
    if len(data.report.warnings) > 20:
        _log(f"... {len(data.report.warnings) - 20} more warnings in {run.report_path}")
    _log(data.report.summary())
    _log(enc.summary())
    for line in finetune.start_lines(base, cfg, data, out):  # a fine-tune's vocabulary; small-book advice
        _log(line)
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
        trainer.model.load_state_dict(finetune.initial_weights(base, enc))
    unit, steps = ("keys per frame", "frames") if enc.kind == "frames" else ("tokens", "tokens")
    _log(
        f"model: {model_cfg.cell} {model_cfg.layers}x{model_cfg.hidden}, {trainer.model.num_parameters():,} parameters; "
        f"encoding {enc.name} ({enc.vocab_size} {unit}); {len(train_pieces)} train / {len(valid_pieces)} valid pieces, "
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
            _log(f"{run.root}: removed {stale} half-written temporary file(s) left by the interrupted run")
    found = run.latest_checkpoint()  # (every rank reads the same newest checkpoint)
    if found is None:
        _log(f"{run.root}: no checkpoint yet; starting from the beginning")
        if cfg.init_from:  # a fine-tuned run's beginning is its base's weights
            trainer.model.load_state_dict(finetune.initial_weights(finetune.load_base(cfg.init_from), enc))
    else:
        ckpt, tensors, meta = found
        try:
            trainer.restore(tensors, meta)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"{ckpt}: verifies, but is not a training checkpoint of this run "
                                  f"({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
        if trainer.p.done == "epochs" and trainer.p.epoch < cfg.epochs:
            trainer.p.done = None  # more epochs were asked for
        _log(f"resuming {run.root} from {ckpt.name}: epoch {trainer.p.epoch}, batch {trainer.p.batch}, step {trainer.p.step}")
    if overrides and distributed.is_main():
        run.save_config(model_cfg, cfg)
    distributed.barrier(d)  # every rank has read the checkpoint before rank 0 writes new ones
    return trainer.fit()


def read_checkpoint_progress(path: str | Path) -> Progress | None:
    """Progress of a run's newest good checkpoint (None when there is none)."""
    found = open_run(path).latest_checkpoint()
    if found is None:
        return None
    known = set(Progress.__dataclass_fields__)
    return Progress(**{k: v for k, v in found[2]["progress"].items() if k in known})


__all__ = [
    "Trainer", "TrainResult", "Progress", "Callback", "LossPlot", "SampleWriter", "train", "resume",
    "load_checkpoint", "CheckpointError", "read_checkpoint_progress",
]
