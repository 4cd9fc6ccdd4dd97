"""Checks on a generated MIDI-side piece: is it music, or did the model collapse?

The worst outputs of earlier RNN music projects were one note repeated for the whole piece, or silence. A piece is
flagged `collapsed` when it has no notes, sounds less than a tenth of its length, uses fewer than three
distinct pitches, or one pitch (or one chord) makes up more than 80% of its onsets. A piece shorter than
`min_bars` bars is a fragment. Valid = neither. Beyond validity, each piece gets its musical figures (top-line
intervals, pitch-class entropy, scale consistency, empty beats, ...; `musical_report`) and the list of those far
outside the training corpus' own band (`outside`), shown in the table as "unlike the corpus: ...".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..piece import DUR, PITCH, START, Piece

NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
DOMINANT_SHARE = 0.8
MIN_PITCHES = 3
MIN_SOUNDING = 0.1


def pitch_name(p: int) -> str:
    return f"{NAMES[p % 12]}{p // 12 - 1}"


@dataclass
class PieceCheck:
    notes: int
    quarters: float
    bars: float
    distinct_pitches: int
    lowest: str
    highest: str
    max_polyphony: int
    sounding: float              # fraction of the length where at least one note sounds
    top_pitch_share: float       # share of notes on the most common pitch
    top_onset_share: float       # share of onsets with the most common pitch set (chord)
    key: str | None
    collapsed: str | None        # why the piece counts as collapsed, or None
    min_bars: float = 0.0        # fewer bars than this: a fragment
    figures: dict[str, float] = field(default_factory=dict)  # musical figures (musical_report.piece_figures)
    outside: list[str] = field(default_factory=list)         # figures far outside the training corpus' band

    @property
    def fragment(self) -> bool:
        return self.bars < self.min_bars

    @property
    def valid(self) -> bool:
        return self.collapsed is None and not self.fragment

    @property
    def problem(self) -> str | None:
        if self.collapsed:
            return "COLLAPSED: " + self.collapsed
        return f"fragment: {self.bars:g} of at least {self.min_bars:g} bars" if self.fragment else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"valid": self.valid, "problem": self.problem}


def check_piece(piece: Piece, min_bars: float = 0.0, reference: dict | None = None) -> PieceCheck:
    """The checks of one piece; `reference`: the training corpus' figure bands (`fit_stats["piece_figures"]`),
    against which its musical figures are compared."""
    from .musical_report import outside, piece_figures

    n = piece.notes
    if not len(n):
        return PieceCheck(0, 0.0, 0.0, 0, "-", "-", 0, 0.0, 0.0, 0.0, piece.key, "silence: no notes", min_bars)
    end = piece.end
    pitches = n[:, PITCH].astype(int)
    counts = Counter(pitches.tolist())
    top_pitch, top_count = counts.most_common(1)[0]
    onsets: dict[float, tuple[int, ...]] = {}
    for s, p in zip(n[:, START].round(4), pitches):
        onsets[s] = onsets.get(s, ()) + (int(p),)
    chord_counts = Counter(tuple(sorted(v)) for v in onsets.values())
    top_chord, top_chord_n = chord_counts.most_common(1)[0]
    # polyphony and sounding time on a fine grid (1/12 quarter)
    grid = 12
    length = max(1, int(np.ceil(end * grid)))
    delta = np.zeros(length + 1, dtype=np.int64)
    np.add.at(delta, np.clip(np.rint(n[:, START] * grid).astype(int), 0, length), 1)
    np.add.at(delta, np.clip(np.rint((n[:, START] + n[:, DUR]) * grid).astype(int), 0, length), -1)
    active = np.cumsum(delta)[:length]
    sounding = float((active > 0).mean())
    share, onset_share = top_count / len(n), top_chord_n / len(onsets)
    collapsed = None
    if sounding < MIN_SOUNDING:
        collapsed = f"silence: sounds only {sounding:.0%} of the time"
    elif len(counts) < MIN_PITCHES:
        collapsed = f"one repeated note: only {len(counts)} distinct pitch(es)"
    elif share > DOMINANT_SHARE:
        collapsed = f"one repeated note: {pitch_name(top_pitch)} is {share:.0%} of the notes"
    elif onset_share > DOMINANT_SHARE:
        chord = ".".join(pitch_name(p) for p in top_chord)
        collapsed = f"one repeated chord: {chord} is {onset_share:.0%} of the onsets"
    return PieceCheck(
        notes=len(n), quarters=round(end, 3), bars=round(end / piece.bar_length, 2),
        distinct_pitches=len(counts), lowest=pitch_name(int(pitches.min())), highest=pitch_name(int(pitches.max())),
        max_polyphony=int(active.max()), sounding=round(sounding, 3), top_pitch_share=round(share, 3),
        top_onset_share=round(onset_share, 3), key=piece.key, collapsed=collapsed, min_bars=min_bars,
        figures=(figures := piece_figures(piece)), outside=outside(figures, reference),
    )


def piece_table(names: list[str], checks: list[PieceCheck]) -> str:
    head = f"{'piece':10s} {'notes':>6s} {'bars':>6s} {'pitches':>7s} {'range':>9s} {'poly':>4s}  {'key':12s} status"
    rows = [head]
    for name, c in zip(names, checks):
        rows.append(f"{name:10s} {c.notes:6d} {c.bars:6.1f} {c.distinct_pitches:7d} "
                    f"{c.lowest + '-' + c.highest:>9s} {c.max_polyphony:4d}  {(c.key or '-'):12s} "
                    f"{c.problem or _outside_text(c.outside)}")
    return "\n".join(rows)


def _outside_text(flags: list[str]) -> str:
    if not flags:
        return "ok"
    return "unlike the corpus: " + flags[0] + (f" (+{len(flags) - 1} more)" if len(flags) > 1 else "")
