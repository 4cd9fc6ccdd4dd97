"""A piece's musical figures beside the training corpus' own: is it music of the kind the model learned?

"Not collapsed" only says a piece is not one note or silence. This report puts numbers a musician would look at
on every generated MIDI-side piece (`piece_figures`) and compares them with the range the training pieces
span (`corpus_ranges`, computed when the encoding is fitted and saved with the model as
`fit_stats["piece_figures"]`): a figure is flagged when it lies outside the training pieces' 5th-95th
percentile band by more than half the band's width (`outside`), e.g. "top_median_interval 11 > 4.5 (corpus
2-3)". Four-part chorales (`meta["layout"] == "satb"`) add the voice figures of `evaluation.voices`.

Figures (per piece):

* top_median_interval, top_leaps_over_octave: the top line (highest note at each onset, `voices.top_line`):
  median absolute interval in semitones, share of intervals over an octave;
* pitch_class_entropy (bits), scale_consistency (largest share of notes in one major scale), empty_beat_rate,
  polyphony (mean notes sounding when any sound), pitch_range (semitones), mean_note_length (quarters),
  sixteenth_share (notes a sixteenth or shorter): `evaluation.metrics`;
* chorales also: beats_4plus, range_min, parallels_per_100 (`voices.voice_report`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..piece import DUR, Piece
from . import metrics
from .voices import top_line, voice_report

LOW, HIGH = 5, 95        # percentiles of the training pieces' band
SLACK = 0.5              # how far outside the band (in band widths) a figure must lie to be flagged
CHORALE_FIGURES = ("beats_4plus", "range_min", "parallels_per_100")


def piece_figures(piece: Piece, *, digits: int | None = 4) -> dict[str, float]:
    """The figures of one piece (module notes), rounded to `digits` (None: as computed); an empty dict for an empty
    piece."""
    if not len(piece):
        return {}
    steps = np.abs(np.diff(top_line(piece)))
    out = {
        "top_median_interval": float(np.median(steps)) if len(steps) else 0.0,
        "top_leaps_over_octave": float((steps > 12).mean()) if len(steps) else 0.0,
        "pitch_class_entropy": metrics.pitch_class_entropy(piece),
        "scale_consistency": metrics.scale_consistency(piece),
        "empty_beat_rate": metrics.empty_beat_rate(piece),
        "polyphony": metrics.polyphony(piece),
        "pitch_range": float(metrics.pitch_range(piece)),
        "mean_note_length": float(piece.notes[:, DUR].mean()),
        "sixteenth_share": float((piece.notes[:, DUR] <= 0.25 + 1e-6).mean()),
    }
    if piece.meta.get("layout") == "satb":
        rep = voice_report(piece, reference={})
        out |= {k: float(rep[k]) for k in CHORALE_FIGURES}
    return {k: round(v, digits) for k, v in out.items()} if digits is not None else out


def corpus_ranges(pieces: Iterable[Piece]) -> dict[str, list[float]]:
    """Per figure, [5th percentile, median, 95th percentile] over the pieces (those with notes)."""
    figs = [piece_figures(p) for p in pieces]
    figs = [f for f in figs if f]
    keys = sorted({k for f in figs for k in f})
    out = {}
    for k in keys:
        v = np.array([f[k] for f in figs if k in f])
        out[k] = [round(float(x), 4) for x in np.percentile(v, [LOW, 50, HIGH])]
    return out


def outside(figures: Mapping[str, float], ranges: Mapping[str, Any] | None) -> list[str]:
    """The figures far outside the corpus' band, as 'name value > bound (corpus low-high)'."""
    out = []
    for k, value in figures.items():
        band = (ranges or {}).get(k)
        if not band or len(band) != 3:
            continue
        low, _, high = band
        slack = SLACK * max(high - low, 1e-9)
        if value < low - slack:
            out.append(f"{k} {value:.3g} < {low - slack:.3g} (corpus {low:.3g}-{high:.3g})")
        elif value > high + slack:
            out.append(f"{k} {value:.3g} > {high + slack:.3g} (corpus {low:.3g}-{high:.3g})")
    return out
