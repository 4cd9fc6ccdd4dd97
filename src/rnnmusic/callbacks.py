"""What the training loop calls after every epoch (`Callback`), the callbacks a run gets by default (`LossPlot`,
`PlateauCheck`, `SampleWriter`), and `log`, the loop's one way to say something (on stderr, from rank 0 only).

`PlateauCheck` applies the rule of `plateau` (a pure function of the validation losses): in the first epochs
(`PLATEAU_EPOCHS`, 2 to 4), the best validation loss of the last two epochs must be at least `PLATEAU_GAIN` (1%)
below the best before them (at epoch 2: epoch 2 against epoch 1; at 3: epochs 2-3 against 1; at 4: epochs 3-4
against 1-2). A loss that rose, stayed put or is not a number fails it. The first epoch where it fails draws one
warning line with the figures and the fixes; fine-tuned runs (`--init-from`), whose base has already learnt, are
not checked.

A callback's `trainer` is the `rnnmusic.train_loop.Trainer` running the loop: its run directory (`.run`), configs
(`.cfg`, `.model_cfg`), encoding, model, progress (`.p`) and metric rows (`.metrics`).
"""
from __future__ import annotations

import csv
import math
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import distributed
from .config import TrainConfig
from .errors import UserError, one_line
from .polyphonic_data import POLYPHONIC


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


PLATEAU_EPOCHS = (2, 3, 4)  # the epochs whose validation loss is checked (the first epochs only)
PLATEAU_GAIN = 0.01  # the least relative drop of the best validation loss over two epochs (one at epoch 2)


@dataclass(frozen=True)
class Plateau:
    """Where the validation loss stopped moving: at `epoch`, the best of epochs `first`..`epoch` (`after`) was
    less than the wanted share below the best of the epochs before `first` (`before`)."""

    epoch: int
    first: int
    before: float
    after: float

    @property
    def gain(self) -> float:
        """The relative drop from `before` to `after` (negative: the loss rose; nan: a loss was not finite)."""
        return (self.before - self.after) / self.before


def plateau(valid_losses: Sequence[float], epochs: Sequence[int] = PLATEAU_EPOCHS,
            min_gain: float = PLATEAU_GAIN) -> Plateau | None:
    """The first epoch of `epochs` (1-based, among those `valid_losses` reaches) at which the best validation
    loss of the last two epochs (just epoch 2 at epoch 2) is less than `min_gain` below the best of the epochs
    before them, or None. A non-finite loss counts as not moving; a best-before of zero or less (nothing left
    to learn) as moving. The epoch's `after` is nan when a loss so far is not finite."""
    losses = [float(v) for v in valid_losses]
    for epoch in epochs:
        if epoch < 2 or epoch > len(losses):
            continue
        first = max(2, epoch - 1)
        if not all(math.isfinite(v) for v in losses[:epoch]):
            return Plateau(epoch, first, losses[0], math.nan)
        found = Plateau(epoch, first, min(losses[: first - 1]), min(losses[first - 1 : epoch]))
        if found.before > 0 and found.gain < min_gain:
            return found
    return None


def valid_losses(rows: Sequence[dict[str, Any]]) -> list[float]:
    """The validation losses of metric rows (as the loop keeps them, or as read back from metrics.csv on resume),
    epoch 1 first; [] unless the rows hold epochs 1, 2, ... in order."""
    try:
        if [int(r["epoch"]) for r in rows] != list(range(1, len(rows) + 1)):
            return []
        return [float(r["valid_loss"]) for r in rows]
    except (KeyError, TypeError, ValueError):
        return []


class PlateauCheck(Callback):
    """Warns once when the validation loss stops moving in the first epochs (`plateau`), with the fixes.

    A resumed run does not warn again about an epoch before it resumed: the warning comes only at the epoch
    where the rule first fails, from the metric rows, which a resumed run reads back from metrics.csv."""

    def __init__(self) -> None:
        self.warned = False

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        if self.warned or getattr(trainer.cfg, "init_from", None) or not distributed.is_main():
            return
        losses = valid_losses(trainer.metrics)
        found = plateau(losses)
        if found is None or found.epoch != len(losses):
            return
        self.warned = True
        log(f"warning: {plateau_message(found, trainer)}")


def plateau_message(found: Plateau, trainer: Any) -> str:
    """One line: the figures of `found` (and of the training loss over the same epochs) and what to try: the data
    and --dropout when the training loss still falls, the learning rate, the grid, --init-from."""
    c = trainer.cfg
    unit = "squared error/frame" if trainer.model_cfg.head == "mse" else f"nats/{trainer.model_cfg.step_unit}"
    span = f"epoch {found.epoch}" if found.first == found.epoch else f"epochs {found.first}-{found.epoch}"
    since = "epoch 1" if found.first == 2 else f"epochs 1-{found.first - 1}"
    if math.isnan(found.after):
        figures = f"the validation loss is not a finite number by epoch {found.epoch}"
    else:
        moved = ("rose" if found.after > found.before else "did not move" if found.after == found.before
                 else f"fell only {found.gain:.1%}")
        figures = (f"the validation loss has stopped moving: best {found.before:.4f} {unit} in {since}, "
                   f"{found.after:.4f} in {span}; it {moved} (the check wants {PLATEAU_GAIN:.0%})")
    lr = (f"a lower --lr than {c.lr:g} (e.g. {c.lr / 3:.2g}) if the training loss jumps or rose, a higher one "
          f"(e.g. {c.lr * 3:.2g}) if it creeps")
    fixes = [lr, f"check the data ({trainer.run.report_path})"]
    train = _train_gain(trainer.metrics, found)
    if train is not None:
        figures += f"; the training loss {'fell' if train >= 0 else 'rose'} {abs(train):.1%} meanwhile"
        if train >= 2 * PLATEAU_GAIN and not math.isnan(found.after):  # it learns the training pieces only
            fixes = ["more data or a higher --dropout (the model learns its training pieces by heart)", *fixes]
    grid = getattr(trainer.encoding, "options", {}).get("grid")
    if grid and int(grid) > 1 and not (c.corpus and c.corpus[0].startswith(POLYPHONIC)):
        fixes.append(f"a smaller --grid than {grid} steps per quarter note (fewer, longer steps to predict)")
    fixes.append("--init-from a shipped model (`rnnmusic models`) or a run trained on more data")
    return f"{figures}. Try: {'; '.join(fixes)}"


def _train_gain(rows: Sequence[dict[str, Any]], found: Plateau) -> float | None:
    """The relative drop of the best training loss over the epochs `found` compared (None: not known)."""
    try:
        train = [float(r["train_loss"]) for r in rows[: found.epoch]]
        before, after = min(train[: found.first - 1]), min(train[found.first - 1 :])
    except (KeyError, TypeError, ValueError):
        return None
    gain = (before - after) / before if before > 0 else math.nan
    return gain if math.isfinite(gain) else None


DEFAULT_CALLBACKS: tuple[Callable[[], Callback], ...] = (LossPlot, PlateauCheck, SampleWriter)


__all__ = ["Callback", "DEFAULT_CALLBACKS", "LossPlot", "Plateau", "PlateauCheck", "SampleWriter", "log",
           "plateau", "valid_losses"]


def write_samples(model: Any, enc: Any, folder: Path, stem: str, *, count: int, max_length: int,
                  temperature: float, seed: int) -> str:
    """Training-time samples: ABC encodings write one tunebook folder/stem.abc, MIDI-side encodings
    folder/stem-N.mid; both write folder/stem.json with each piece's checks."""
    import json

    from .checkpoint import write_atomic
    from .evaluation.abc_check import tune_verdict
    from .generator import generate_pieces
    from .render.abc import tune_document, tunebook
    from .sampler import SampleConfig, sample

    cfg = SampleConfig(count=count, max_length=max_length, temperature=temperature, seed=seed)
    if enc.piece_format == "midi":
        report = generate_pieces(model, enc, cfg, folder / stem, formats=("mid", "roll"))
        return f"{report.summary_line()} -> {folder / stem}/"
    bodies = sample(model, enc, cfg)
    book = tunebook(bodies, title=stem)
    checks = [tune_verdict(tune_document(b, i + 1)) for i, b in enumerate(bodies)]
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{stem}.abc", book.encode())
    valid = sum(c.valid for c in checks)
    write_atomic(folder / f"{stem}.json", (json.dumps(
        {"count": count, "valid": valid, "temperature": temperature, "seed": seed,
         "tunes": [c.to_dict() for c in checks]}, indent=2) + "\n").encode())
    return f"{valid}/{count} valid -> {folder / (stem + '.abc')}"
