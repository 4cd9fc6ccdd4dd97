"""How well a melody fits its chords: the share of melody notes on strong beats that are chord tones.

Strong beats are the bar line and, in metres that divide in two, the middle of the bar: beats 1 and 3 of 4/4
(and of 4/2, 12/8 counted in dotted quarters), beat 1 of 2/4, 3/4, 3/8, 9/8 and 6/8 plus the second dotted
quarter of 6/8. A note counts when it starts on a strong beat (to 1/48 of a quarter) and a chord is sounding
then (no-chord stretches are left out); it is a hit when its pitch class is one of the chord's tones.

Chance is the share a melody would get by picking pitch classes uniformly: the mean over the counted notes of
(chord tones / 12), about 0.27 for triads and sevenths.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..piece import PITCH, START, bar_quarters
from ..progressions import ChordSpan, chord_at

EPS = 1.0 / 48


def strong_beats(time_signature: Sequence[int]) -> tuple[float, list[float]]:
    """(bar length, strong-beat offsets within the bar) in quarter notes."""
    num, den = int(time_signature[0]), int(time_signature[1])
    bar = bar_quarters(time_signature)
    if num % 2 == 0 and num >= 4 or (den == 8 and num in (6, 12)):
        return bar, [0.0, bar / 2]
    return bar, [0.0]


def _strong(onsets: np.ndarray, time_signature: Sequence[int]) -> np.ndarray:
    bar, beats = strong_beats(time_signature)
    pos = np.mod(onsets, bar)
    return np.any([np.abs(pos - b) < EPS for b in beats] + [np.abs(pos - bar) < EPS], axis=0)


def _counted(notes: np.ndarray, spans: list[ChordSpan], time_signature: Sequence[int]):
    """(pitch, chord) of every melody note on a strong beat with a chord sounding: the notes both shares count."""
    notes = np.asarray(notes)
    if not len(notes) or not spans:
        return
    for row in notes[_strong(notes[:, START], time_signature)]:
        chord = chord_at(spans, float(row[START]))
        if chord is not None:
            yield int(row[PITCH]), chord


def chord_tone_share(notes: np.ndarray, spans: list[ChordSpan], time_signature: Sequence[int]) -> tuple[int, int]:
    """(hits, counted notes): melody notes on strong beats under a chord, and how many are chord tones."""
    counted = [pitch % 12 in chord.tones() for pitch, chord in _counted(notes, spans, time_signature)]
    return sum(counted), len(counted)


def chance_share(notes: np.ndarray, spans: list[ChordSpan], time_signature: Sequence[int]) -> float | None:
    """The expected share for pitch classes drawn uniformly, over the same counted notes."""
    sizes = [len(set(chord.tones())) / 12 for _, chord in _counted(notes, spans, time_signature)]
    return float(np.mean(sizes)) if sizes else None


def share(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None
