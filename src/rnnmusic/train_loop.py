"""The one training loop: truncated BPTT, checkpoints, early stopping, callbacks (`Trainer`).

A checkpoint holds weights, optimizer moments, schedule state, RNG state, the recurrent state and the data
position (epoch, batch), so a run killed at any moment continues where its last checkpoint left it; with
`deterministic=True` the finished weights are bit-identical to an uninterrupted run. The entry points that
start and resume runs are `rnnmusic.trainer.train` and `resume`.
"""
from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from . import device, distributed, optimizers
from .batches import PieceBatches, WindowBatches
from .callbacks import Callback, log
from .checkpoint import optimizer_from_flat, optimizer_to_flat, save_checkpoint, split_prefix
from .config import ModelConfig, TrainConfig
from .encodings import Encoding
from .errors import UserError
from .model import MusicRNN, count_targets, detach_state, state_from_tensors, state_tensors
from .run import RunDir
from .train_progress import LN2, Progress, TrainResult, progress_from_meta, read_metrics, write_metrics


class Trainer:
    """One training run in progress: the model (and its DDP wrapper), optimizer, grad scaler, train and valid
    batches, the recurrent state carried between batches, `Progress` (`.p`), the metric rows and callbacks."""

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
        self.p = progress_from_meta(meta)
        self.metrics = [r for r in read_metrics(self.run.metrics_path) if int(r["epoch"]) <= self.p.epoch]

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
        log(f"{self._signal}: finishing this step, then writing a checkpoint (Ctrl-C again to stop at once)")

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
            late = (self.dist.main and c.max_minutes is not None
                    and time.monotonic() - session_start >= c.max_minutes * 60)
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
        log(f"epoch {p.epoch}/{c.epochs}  {losses}{'  *best' if row.get('best') else ''}  "
             f"{row['tokens_per_s']} {unit}s/s")
        row.pop("best", None)
        p.batch, p.epoch_loss_sum, p.epoch_tokens, p.epoch_seconds = 0, 0.0, 0, 0.0
        self.state = None
        if self.dist is None or self.dist.main:
            write_metrics(self.run.metrics_path, self.metrics)
        for cb in self.callbacks if self.dist is None or self.dist.main else ():
            cb.on_epoch_end(self, row)
        if p.epoch >= c.epochs and not p.done:
            p.done = "epochs"
        self.save()


__all__ = ["Trainer"]
