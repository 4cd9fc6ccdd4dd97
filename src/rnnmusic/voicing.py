"""Four voices from one `Piece`: which note each of soprano, alto, tenor and bass sings at every grid step.

Merged parts (and generated pieces) carry no voice labels, so voices are found by register, step by step, the
way a listener hears them and the way `evaluation.voices` scores them. At each step of `grid` steps per quarter
the notes sounding (onset and end snapped to the grid by `encodings.base.snap`'s rule) are sorted high to low:

* exactly `VOICES` notes: the highest is the soprano, the lowest the bass;
* fewer (a unison between two parts merges into one note; a part rests): every note is sung by at least one
  voice and the voices stay in order (no crossing); a voice may double a note or rest, whichever keeps the
  voices nearest the pitches they sang last (a rest costs `REST_COST` semitones, so unisons are preferred to
  rests when the voices are close);
* more (a passing note over a held one, an instrumental part): the highest and the lowest are kept as soprano
  and bass, and the inner voices take the inner notes nearest what they sang last; the others are dropped
  (counted by `VoiceSteps.dropped`).

A held note stays in its voice while that voice keeps it; a note that moves to another voice (parts crossing)
is heard there as struck again.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .piece import DUR, PITCH, START, VEL, Piece, note_array

VOICES = 4
NAMES = ("soprano", "alto", "tenor", "bass")
CENTRES = (69.0, 62.0, 55.0, 50.0)   # where each voice is assumed to start (MIDI; mid-range)
REST_COST = 12.0                     # semitones: what leaving a voice silent costs against doubling a note
REST = -1


@dataclass
class VoiceSteps:
    """`note[t, v]`: the index (into `notes`) of the note voice v sings at step t, or REST; `struck[t, v]`: whether
    it starts there (else it is held from step t - 1)."""
    notes: np.ndarray      # (N, 4) the piece's notes (start, duration, pitch, velocity) on the grid, in steps
    note: np.ndarray       # (T, VOICES) int
    struck: np.ndarray     # (T, VOICES) bool
    first_step: int        # grid step of row 0 (the piece's first onset)
    dropped: int           # notes no voice sings at any step

    def pitch(self) -> np.ndarray:
        """(T, VOICES) MIDI pitch sung at each step, REST where a voice is silent."""
        p = np.full(self.note.shape, REST, dtype=np.int64)
        sung = self.note >= 0
        p[sung] = self.notes[self.note[sung], PITCH].astype(np.int64)
        return p


@lru_cache(maxsize=8)
def _layouts(k: int) -> tuple[tuple[int, ...], ...]:
    """The ways VOICES ordered voices can sing k notes sorted high to low: per voice a note index or REST, voices
    in order (non-decreasing note index, top to bottom), every note sung."""
    out = []
    for combo in itertools.product(range(-1, k), repeat=VOICES):
        sung = [c for c in combo if c >= 0]
        if sorted(sung) == sung and set(sung) == set(range(k)):
            out.append(combo)
    return tuple(out)


def _choose(pitches: list[float], last: list[float]) -> tuple[int, ...]:
    """The layout of `pitches` (high to low, 1..VOICES of them) nearest the voices' last pitches."""
    best, best_cost = None, np.inf
    for layout in _layouts(len(pitches)):
        cost = sum(REST_COST if j < 0 else abs(pitches[j] - last[v]) for v, j in enumerate(layout))
        if cost < best_cost:
            best, best_cost = layout, cost
    return best


def voice_steps(piece: Piece, grid: int, centres: tuple[float, ...] = CENTRES) -> VoiceSteps:
    """Assign the piece's notes to four voices at every step of `grid` steps per quarter (see the module's notes);
    `centres`: where the voices are assumed to start."""
    n = note_array(piece.notes)
    on = np.rint(n[:, START] * grid).astype(np.int64)
    off = np.maximum(on + 1, np.rint((n[:, START] + n[:, DUR]) * grid).astype(np.int64))
    grid_notes = np.stack([on, off - on, n[:, PITCH], n[:, VEL]], axis=1).astype(np.float64)
    if not len(n):
        empty = np.zeros((0, VOICES), dtype=np.int64)
        return VoiceSteps(grid_notes, empty, empty.astype(bool), 0, 0)
    first = int(on.min())
    total = int(off.max()) - first
    note = np.full((total, VOICES), REST, dtype=np.int64)
    struck = np.zeros((total, VOICES), dtype=bool)
    starts: list[list[int]] = [[] for _ in range(total + 1)]
    for i, s in enumerate(on - first):
        starts[s].append(i)
    sounding: set[int] = set()
    last = [float(c) for c in centres]
    used = np.zeros(len(n), dtype=bool)
    for t in range(total):
        sounding = {i for i in sounding if off[i] - first > t} | set(starts[t])
        if not sounding:
            continue
        ids = sorted(sounding, key=lambda i: (-n[i, PITCH], on[i]))
        if len(ids) > VOICES:  # keep the outer voices, the inner ones nearest what they sang
            inner = ids[1:-1]
            pair = min(itertools.combinations(inner, VOICES - 2),
                       key=lambda c: sum(abs(n[i, PITCH] - last[v + 1]) for v, i in enumerate(c)))
            ids = [ids[0], *pair, ids[-1]]
        layout = _choose([float(n[i, PITCH]) for i in ids], last)
        for v, j in enumerate(layout):
            if j < 0:
                continue
            i = ids[j]
            note[t, v] = i
            struck[t, v] = not (t > 0 and note[t - 1, v] == i)
            last[v] = float(n[i, PITCH])
            used[i] = True
    return VoiceSteps(grid_notes, note, struck, first, int((~used).sum()))


def voice_lines(steps: VoiceSteps) -> list[list[tuple[int, int, int]]]:
    """Per voice, its notes as (first step, steps, pitch), steps counted from the piece's first onset: a note
    struck at one step and held while the voice keeps it."""
    lines: list[list[tuple[int, int, int]]] = [[] for _ in range(VOICES)]
    pitch = steps.pitch()
    for v in range(VOICES):
        t, total = 0, len(pitch)
        while t < total:
            if pitch[t, v] == REST:
                t += 1
                continue
            end = t + 1
            while end < total and not steps.struck[end, v] and steps.note[end, v] == steps.note[t, v]:
                end += 1
            lines[v].append((t, end - t, int(pitch[t, v])))
            t = end
    return lines


def step_rows(steps: VoiceSteps) -> list[tuple[int, ...]]:
    """Per step, the four voices' pitches above the step's lowest note (-1: silent), then whether each was struck:
    the same four-part passage gives the same rows in any key."""
    pitch = steps.pitch()
    rows = []
    for t in range(len(pitch)):
        rows.append(step_row(pitch[t].tolist(), steps.struck[t].tolist()))
    return rows


def step_row(pitches: list[int], struck: list[bool]) -> tuple[int, ...]:
    sung = [p for p in pitches if p != REST]
    low = min(sung) if sung else 0
    return tuple(p - low if p != REST else -1 for p in pitches) + tuple(int(s) for s in struck)


def window_hash(rows: list[tuple[int, ...]]) -> int:
    """A stable 64-bit hash of consecutive step rows (the same in every process and Python version)."""
    import hashlib

    data = np.asarray(rows, dtype=np.int16).tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def window_hashes(rows: list[tuple[int, ...]], length: int) -> set[int]:
    """The hashes of every `length` consecutive rows."""
    return {window_hash(rows[i:i + length]) for i in range(len(rows) - length + 1)}
