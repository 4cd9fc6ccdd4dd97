"""Markdown cells the bench scripts share."""
from __future__ import annotations

from collections.abc import Callable


def stat_cell(stats: dict, fmt: Callable[[float], str]) -> str:
    """'mean (median m; p5-p95)' of a figure's summary over pieces (keys mean, median, p5, p95), '-' when empty."""
    if not stats:
        return "-"
    return f"{fmt(stats['mean'])} (median {fmt(stats['median'])}; {fmt(stats['p5'])}-{fmt(stats['p95'])})"


def generated_row(folder, name: str | None) -> tuple[str, list]:
    """(row name, pieces) of a folder of generated .mid/.midi files (searched recursively, all tracks merged)."""
    from rnnmusic.piece import read_midi_piece

    files = sorted(folder.rglob("*.mid")) + sorted(folder.rglob("*.midi"))
    if not files:
        raise SystemExit(f"no .mid files in {folder}")
    return name or folder.name, [read_midi_piece(f) for f in files]
