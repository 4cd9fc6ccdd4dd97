"""Pictures as PNG (matplotlib, no display needed): a run's loss curves, a piece as a piano roll."""
from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checkpoint import write_atomic


def _figure(**kw):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(**kw)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_atomic(Path(path), buf.getvalue())
    return Path(path)


def plot_losses(rows: Sequence[dict[str, Any]], path: Path, unit: str = "bits per token", x: str = "epoch",
                keys: tuple[str, str] = ("train_bpt", "valid_bpt")) -> Path:
    """Train and validation loss (`keys` of the rows) per epoch (or another `x`); the best one marked."""
    from matplotlib.ticker import MaxNLocator

    epochs = [int(r[x]) for r in rows]
    train = [float(r[keys[0]]) for r in rows]
    valid = [float(r[keys[1]]) for r in rows]
    fig = _figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    ax.plot(epochs, train, marker="o", ms=3, label="train")
    ax.plot(epochs, valid, marker="o", ms=3, label="validation")
    if valid:
        best = min(range(len(valid)), key=valid.__getitem__)
        ax.scatter([epochs[best]], [valid[best]], s=80, facecolors="none", edgecolors="red", zorder=3,
                   label=f"best {valid[best]:.3f} ({x} {epochs[best]})")
    ax.set_xlabel(x)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_piano_roll(piece, path: Path, title: str = "") -> Path:
    """The notes of a Piece as bars over time (quarters) and pitch, bar lines dotted, velocity as shade."""
    from matplotlib.collections import PolyCollection

    from ..piece import DUR, PITCH, START, VEL

    n = piece.notes
    end = max(piece.end, piece.bar_length)
    fig = _figure(figsize=(min(16, 4 + end / 8), 4), dpi=100)
    ax = fig.add_subplot()
    boxes = [[(s, p - 0.4), (s + d, p - 0.4), (s + d, p + 0.4), (s, p + 0.4)]
             for s, d, p in zip(n[:, START], n[:, DUR], n[:, PITCH])]
    shade = 0.35 + 0.65 * (n[:, VEL] / 127.0) if len(n) else []
    ax.add_collection(PolyCollection(boxes, facecolors=[(0.1, 0.3, 0.7, a) for a in shade], edgecolors="none"))
    bar = piece.bar_length
    for b in range(int(end // bar) + 1):
        ax.axvline(b * bar, color="0.8", lw=0.5, ls=":")
    lo, hi = (int(n[:, PITCH].min()) - 2, int(n[:, PITCH].max()) + 2) if len(n) else (58, 74)
    ax.set_xlim(0, end)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("quarter notes")
    ax.set_ylabel("MIDI pitch (60 = middle C)")
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_metric_distributions(generated: dict[str, Sequence[float]], reference: dict[str, Sequence[float]] | None,
                              histograms: dict[str, tuple[Sequence[str], Any, Any]], path: Path,
                              reference_label: str = "reference") -> Path:
    """One panel per metric: the generated pieces' values as a histogram, the reference's over it (shared bins);
    then one bar panel per aggregated histogram (name -> (bin labels, generated, reference or None))."""
    import numpy as np

    keys = list(generated)
    n = len(keys) + len(histograms)
    cols = 4
    rows = -(-n // cols)
    fig = _figure(figsize=(4 * cols, 2.8 * rows), dpi=90)
    ref_label = reference_label[:40] or "reference"
    for i, k in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        g = np.asarray(generated[k], dtype=float)
        r = np.asarray(reference[k], dtype=float) if reference else np.zeros(0)
        g, r = g[np.isfinite(g)], r[np.isfinite(r)]  # a metric undefined for a piece (no notes) is left out
        both = np.concatenate([g, r])
        lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
        if hi - lo < 1e-9 * max(1.0, abs(lo)):  # one value (up to rounding): a unit-wide range around it
            lo, hi = lo - 0.5, lo + 0.5
        bins = np.linspace(lo, hi, 21)
        if len(r):
            ax.hist(r, bins=bins, density=True, color="0.6", alpha=0.6, label=ref_label)
        if len(g):
            ax.hist(g, bins=bins, density=True, color=(0.1, 0.3, 0.7), alpha=0.6, label="generated")
        ax.set_title(k.replace("_", " "), fontsize=10)
        ax.tick_params(labelsize=8)
        if i == 0:
            ax.legend(fontsize=7)
    for j, (name, (labels, g, r)) in enumerate(histograms.items()):
        ax = fig.add_subplot(rows, cols, len(keys) + j + 1)
        x = np.arange(len(labels))
        width = 0.4 if r is not None else 0.8
        ax.bar(x - (width / 2 if r is not None else 0), g, width, color=(0.1, 0.3, 0.7), label="generated")
        if r is not None:
            ax.bar(x + width / 2, r, width, color="0.6", label=ref_label)
        ax.set_xticks(x, labels, rotation=90 if len(labels) > 12 or max(map(len, labels)) > 3 else 0, fontsize=7)
        ax.set_title(name, fontsize=10)
    return _save(fig, path)


def plot_sample_metrics(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """The training samples' metrics per sampled epoch (shares in [0, 1] on the left axis, pitch-class entropy
    in bits on the right): repetition climbing while entropy falls is a model collapsing."""
    from matplotlib.ticker import MaxNLocator

    epochs = [int(r["epoch"]) for r in rows]
    fig = _figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    for key in ("repeated_bars", "repeated_ngrams", "scale_consistency", "empty_beat_rate", "abc_valid"):
        if rows and key in rows[0]:
            ax.plot(epochs, [float(r[key]) for r in rows], marker="o", ms=3, label=key.replace("_", " "))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("share")
    ax.grid(alpha=0.3)
    right = ax.twinx()
    right.plot(epochs, [float(r["pitch_class_entropy"]) for r in rows], color="black", ls="--", marker="s", ms=3,
               label="pitch-class entropy (bits)")
    right.set_ylim(0, 3.7)
    right.set_ylabel("bits")
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, loc="best")
    ax.set_title("training samples")
    return _save(fig, path)


def plot_spectrograms(signals: dict[str, Any], sample_rate: int, path: Path, title: str = "",
                      seconds: float | None = 8.0) -> Path:
    """Log-magnitude spectrograms (dB, 1024-point STFT) of mono signals side by side, one panel per name, on one
    colour scale; the first `seconds` of each (None: all)."""
    import numpy as np

    names = list(signals)
    fig = _figure(figsize=(4.2 * len(names), 3.6), dpi=100)
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    n_fft, hop = 1024, 256
    window = np.hanning(n_fft).astype(np.float32)
    top = None
    for ax, name in zip(axes, names):
        x = np.asarray(signals[name], dtype=np.float32).reshape(-1)
        if seconds is not None:
            x = x[: int(seconds * sample_rate)]
        x = np.pad(x, (0, max(0, n_fft - len(x))))
        frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * window
        db = 20 * np.log10(np.abs(np.fft.rfft(frames, axis=-1)).T + 1e-6)
        top = db.max() if top is None else top
        ax.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=top - 90, vmax=top,
                  extent=(0, len(x) / sample_rate, 0, sample_rate / 2000))
        ax.set_title(name)
        ax.set_xlabel("seconds")
    axes[0].set_ylabel("kHz")
    if title:
        fig.suptitle(title)
    return _save(fig, path)
