"""`pianoroll`: multi-hot frames over the 88 piano keys on a fixed grid, with an optional onset channel.

Each frame is one grid step (option `grid`: steps per quarter note; 1 = quarter, 2 = eighth, 4 = sixteenth).
Column i of the hold channel is MIDI pitch 21 + i (A0 .. C8), 1 while that key sounds. With `onsets` (the
default) a second block of 88 columns marks the frame where a note is struck, so a repeated note (two
quarter-note Cs) differs from a held one (a half-note C); without it they are the same frames, as in the
Boulanger-Lewandowski benchmark rolls. Notes outside the piano range are dropped (counted when fitting).

Quantization: a note starting at t quarters occupies frames round(t*grid) .. round((t+dur)*grid) - 1, at least
one frame; so a piece already on the grid round-trips exactly and any other is within one grid step.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from ..piece import PITCH, Piece
from .base import FrameEncoding, grid_steps, snap

LOW, HIGH = 21, 108          # A0 .. C8
KEYS = HIGH - LOW + 1        # 88


class PianoRoll(FrameEncoding):
    name = "pianoroll"
    defaults = {"grid": 4, "onsets": True}

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.options["grid"] = grid_steps(self.options["grid"])
        self.options["onsets"] = bool(self.options["onsets"])

    @property
    def grid(self) -> int:
        return self.options["grid"]

    @property
    def width(self) -> int:
        return KEYS * (2 if self.options["onsets"] else 1)

    def frames(self, piece: Piece) -> np.ndarray:
        n = piece.notes
        n = n[(n[:, PITCH] >= LOW) & (n[:, PITCH] <= HIGH)]
        g = self.grid
        on, off = snap(n, g)
        length = int(off.max()) if len(n) else 0
        roll = np.zeros((length, self.width), dtype=np.uint8)
        col = n[:, PITCH].astype(np.int64) - LOW
        # hold channel: +1 at onset, -1 at offset, cumulative sum > 0 while sounding
        delta = np.zeros((length + 1, KEYS), dtype=np.int32)
        np.add.at(delta, (on, col), 1)
        np.add.at(delta, (off, col), -1)
        roll[:, :KEYS] = np.cumsum(delta, axis=0)[:length] > 0
        if self.options["onsets"]:
            roll[on, KEYS + col] = 1
        return roll

    def piece(self, frames: np.ndarray) -> Piece:
        """The notes of any frames (what a model emits): no frames, one frame, or frames of another width decode
        too (missing columns are silent, extra ones ignored); never raises."""
        f = np.asarray(frames, dtype=bool)
        f = f.reshape(1, -1) if f.ndim < 2 else f.reshape(f.shape[0], int(np.prod(f.shape[1:])))
        if f.shape[1] != self.width:
            fitted = np.zeros((f.shape[0], self.width), dtype=bool)
            keep = min(f.shape[1], self.width)
            fitted[:, :keep] = f[:, :keep]
            f = fitted
        hold = f[:, :KEYS]
        onset = f[:, KEYS:] if self.options["onsets"] else np.zeros_like(hold)
        sounding = hold | onset                       # an onset without hold still sounds for its frame
        prev = np.vstack([np.zeros((1, KEYS), bool), sounding[:-1]])
        starts = sounding & (~prev | onset)           # a note begins where sound begins or a key is re-struck
        notes = []
        for col in range(KEYS):
            s_col = sounding[:, col]
            if not s_col.any():
                continue
            begin = np.flatnonzero(starts[:, col])
            # each note ends at the next start in this key or where the sound stops
            stop_candidates = np.flatnonzero(~s_col)
            for k, b in enumerate(begin):
                nxt_start = begin[k + 1] if k + 1 < len(begin) else len(f)
                after = stop_candidates[stop_candidates > b]
                end = min(nxt_start, after[0] if len(after) else len(f))
                notes.append((b / self.grid, (end - b) / self.grid, LOW + col, 80))
        d = self.piece_defaults
        return Piece(np.asarray(notes, dtype=np.float64).reshape(-1, 4), tempo=d.get("tempo", 120.0),
                     time_signature=tuple(d.get("time_signature", (4, 4))), program=d.get("program", 0),
                     source="generated")

    def fit(self, pieces) -> PianoRoll:
        pieces = list(pieces)
        super().fit(pieces)
        total = sum(len(p) for p in pieces)
        outside = sum(int(((p.notes[:, PITCH] < LOW) | (p.notes[:, PITCH] > HIGH)).sum()) for p in pieces)
        self.fit_stats |= {"notes": total, "notes_outside_piano": outside}
        return self


def quantized(piece: Piece, grid: int) -> Piece:
    """Exactly what the piano roll (with onsets) keeps of a piece, for comparisons: onsets and ends rounded
    to the grid; in one key, a note re-struck while still sounding ends the earlier one there, and the
    later one sounds until the later of the two ends; notes struck together in one key become one."""
    n = piece.notes.copy()
    on, off = snap(n, grid)
    out = []
    for pitch in np.unique(n[:, PITCH]):
        idx = np.flatnonzero(n[:, PITCH] == pitch)
        idx = idx[np.lexsort((-off[idx], on[idx]))]
        cur = None
        for i in idx:
            if cur is not None and on[i] == cur[0]:
                cur[1] = max(cur[1], off[i])
                continue
            if cur is not None:
                if on[i] < cur[1]:
                    end = max(cur[1], off[i])
                    cur[1] = on[i]
                    out.append((cur[0], cur[1], pitch, cur[2]))
                    cur = [on[i], end, n[i, 3]]
                    continue
                out.append((cur[0], cur[1], pitch, cur[2]))
            cur = [on[i], off[i], n[i, 3]]
        out.append((cur[0], cur[1], pitch, cur[2]))
    notes = np.array([(a / grid, (b - a) / grid, p, v) for a, b, p, v in out], dtype=np.float64).reshape(-1, 4)
    return replace(piece, notes=notes)
