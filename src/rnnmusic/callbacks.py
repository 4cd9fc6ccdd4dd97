"""What the training loop calls after every epoch (`Callback`), the callbacks a run gets by default (`LossPlot`,
`SampleWriter`), and `log`, the loop's one way to say something (on stderr, from rank 0 only).

A callback's `trainer` is the `rnnmusic.train_loop.Trainer` running the loop: its run directory (`.run`), configs
(`.cfg`, `.model_cfg`), encoding, model, progress (`.p`) and metric rows (`.metrics`).
"""
from __future__ import annotations

import csv
import sys
import warnings
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from . import distributed
from .config import TrainConfig
from .errors import UserError, one_line


def log(msg: str) -> None:
    """Print a line on stderr without breaking the progress bar; with several processes only rank 0 speaks."""
    if distributed.is_main():
        tqdm.write(msg, file=sys.stderr)


class Callback:
    """Hooks the loop calls; subclass and override what you need."""

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        """After an epoch's validation and metrics row (`row`: the metrics.csv fields), before its checkpoint."""


class LossPlot(Callback):
    """Redraws RUN/loss.png after every epoch."""

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        from .render.plots import plot_losses

        unit = f"bits per {trainer.model_cfg.step_unit}"
        if trainer.model_cfg.head == "mse":
            unit = "squared error per frame / ln 2"
        try:
            plot_losses(trainer.metrics, trainer.run.plot_path, unit)
        except OSError as e:
            warnings.warn(f"{trainer.run.plot_path}: cannot write loss plot: {one_line(e)}", stacklevel=2)


class SampleWriter(Callback):
    """Every `sample_every` epochs, generates tunes into RUN/samples/epoch-NNN.abc with a validity report."""

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
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
        log(f"samples: {summary}")
        self.evaluate(trainer, c)

    @staticmethod
    def evaluate(trainer: Any, c: TrainConfig) -> None:
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
            log(f"warning: samples of epoch {trainer.p.epoch} not evaluated: {one_line(e)}")
            return
        s = ev.summary()
        table = folder / "metrics.csv"
        new = not table.exists()
        with open(table, "a") as f:
            if new:
                f.write(",".join(["epoch", *s]) + "\n")
            f.write(",".join([str(trainer.p.epoch), *(f"{v:.4g}" for v in s.values())]) + "\n")
        from .render.plots import plot_sample_metrics

        with open(table, newline="") as f:
            rows = list(csv.DictReader(f))
        plot_sample_metrics(rows, folder / "metrics.png")
        log(f"sample metrics: pitch-class entropy {s['pitch_class_entropy']:.2f} bits, scale consistency "
             f"{s['scale_consistency']:.2f}, repeated bars {s['repeated_bars']:.2f}, repeated 4-grams "
             f"{s['repeated_ngrams']:.2f}, empty beats {s['empty_beat_rate']:.2f} -> {table}")


DEFAULT_CALLBACKS: tuple[Callable[[], Callback], ...] = (LossPlot, SampleWriter)


__all__ = ["Callback", "DEFAULT_CALLBACKS", "LossPlot", "SampleWriter", "log"]
