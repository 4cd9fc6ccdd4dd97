"""Chord and bar-position ids of chord-conditioned models: what the recurrent core is told beside each token.

A chord id is 0 (no chord information: chords withheld), 1 (no chord, N.C.) or 2 + 14 x root + quality index,
the root counted in the C major / A minor frame; `chord_tone_table` gives each id's pitch classes so that a model
also knows which notes fit a chord quality it rarely saw. A position id is 1 + grid steps since the bar line
(0 = unknown). The `lead` encoding writes these ids and `model.LeadInput` embeds them.
"""
from __future__ import annotations

import numpy as np

from .chords import QUALITY_NAMES, Chord

N_QUALITIES = len(QUALITY_NAMES)
N_CHORD_IDS = 2 + 12 * N_QUALITIES
N_POSITIONS = 97  # 0 = unknown, 1 + 0..95 grid steps into the bar (later steps share the last id)


def chord_id(chord: Chord | None, given: bool = True) -> int:
    """0 = no chord information, 1 = no chord (N.C.), else 2 + 14 x root + quality index."""
    if not given:
        return 0
    if chord is None:
        return 1
    return 2 + chord.root * N_QUALITIES + QUALITY_NAMES.index(chord.quality)


def position_id(time: int, bar_steps: int) -> int:
    """1 + grid steps since the bar line (later steps share the last id)."""
    return 1 + min(time % max(1, bar_steps), N_POSITIONS - 2)


def chord_tone_table() -> np.ndarray:
    """(N_CHORD_IDS, 12) float32: the pitch classes of each chord id (rows 0 and 1 are empty)."""
    table = np.zeros((N_CHORD_IDS, 12), dtype=np.float32)
    for root in range(12):
        for q in QUALITY_NAMES:
            c = Chord(root, q)
            table[chord_id(c), list(c.tones())] = 1.0
    return table
