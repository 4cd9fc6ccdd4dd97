"""Pictures of training: the loss curves of a run as PNG (matplotlib, no display needed)."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Sequence

from ..checkpoint import write_atomic


def plot_losses(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Train and validation loss (bits per token) per epoch; the best epoch marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [int(r["epoch"]) for r in rows]
    train = [float(r["train_bpt"]) for r in rows]
    valid = [float(r["valid_bpt"]) for r in rows]
    fig = Figure(figsize=(7, 4), dpi=100)
    ax = fig.add_subplot()
    ax.plot(epochs, train, marker="o", ms=3, label="train")
    ax.plot(epochs, valid, marker="o", ms=3, label="validation")
    if valid:
        best = min(range(len(valid)), key=valid.__getitem__)
        ax.scatter([epochs[best]], [valid[best]], s=80, facecolors="none", edgecolors="red", zorder=3,
                   label=f"best {valid[best]:.3f} (epoch {epochs[best]})")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("bits per token")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_atomic(Path(path), buf.getvalue())
    return Path(path)
