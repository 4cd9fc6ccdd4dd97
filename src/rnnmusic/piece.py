"""The in-memory score every MIDI-side encoding reads and writes: notes in quarter-note time.

A `Piece` is one instrument's worth of notes (selected tracks merged), with the few facts generation needs
to write it back out: tempo, time signature, General MIDI program, and where it came from. Times are in
quarter notes (floats), so grids and bar lengths are plain arithmetic. MIDI files are read and written with
symusic; music21 formats are converted to the same Piece by the corpus readers.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

START, DUR, PITCH, VEL = range(4)  # columns of Piece.notes
LOWEST, HIGHEST = 0, 127           # MIDI pitch range
TPQ = 480                          # ticks per quarter when writing MIDI


def note_array(notes: Iterable[tuple[float, float, int, int]] | np.ndarray) -> np.ndarray:
    """(N, 4) float64 array of (start, duration, pitch, velocity) sorted by start then pitch."""
    a = np.asarray(list(notes) if not isinstance(notes, np.ndarray) else notes, dtype=np.float64).reshape(-1, 4)
    if len(a):
        a = a[np.lexsort((a[:, PITCH], a[:, START]))]
    return a


def parse_meter(text: str) -> tuple[int, int]:
    """(numerator, denominator) of a metre written '3/4'; ValueError unless it is a whole number over 1, 2, 4, 8
    or 16."""
    num, den = (int(x) for x in str(text).split("/"))
    if num < 1 or den not in (1, 2, 4, 8, 16):
        raise ValueError(f"not a metre: {text!r}")
    return num, den


def bar_quarters(time_signature: Sequence[int]) -> float:
    """Quarter notes in a bar of `time_signature` (numerator, denominator): 4/4 -> 4.0, 6/8 -> 3.0."""
    return int(time_signature[0]) * 4.0 / int(time_signature[1])


@dataclass
class Piece:
    notes: np.ndarray                       # (N, 4): start, duration (quarters), pitch, velocity
    tempo: float = 120.0                    # quarter notes per minute at the start
    time_signature: tuple[int, int] = (4, 4)
    program: int = 0                        # General MIDI program (0 = acoustic grand piano)
    source: str = ""                        # file (and track/tune) it came from
    key: str | None = None                  # estimated key, e.g. "G major" (rnnmusic.keys)
    shift: int = 0                          # semitones it was transposed by since reading
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.notes = note_array(self.notes)
        self.time_signature = (int(self.time_signature[0]), int(self.time_signature[1]))

    # -- facts ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.notes)

    @property
    def bar_length(self) -> float:
        """Quarter notes per bar."""
        return bar_quarters(self.time_signature)

    @property
    def end(self) -> float:
        return float((self.notes[:, START] + self.notes[:, DUR]).max()) if len(self.notes) else 0.0

    @property
    def pitches(self) -> np.ndarray:
        return self.notes[:, PITCH].astype(np.int64)

    # -- transformations (new pieces; the original is never changed) -------------------------------------
    def transpose(self, semitones: int) -> Piece:
        notes = self.notes.copy()
        notes[:, PITCH] += semitones
        if len(notes) and (notes[:, PITCH].min() < LOWEST or notes[:, PITCH].max() > HIGHEST):
            raise ValueError(f"transposing by {semitones:+d} leaves the MIDI pitch range")
        meta = dict(self.meta)
        if "chords" in meta:  # a lead sheet's chord symbols move with the notes
            from .progressions import spans_from_text, spans_to_text, transpose_spans

            meta["chords"] = spans_to_text(transpose_spans(spans_from_text(meta["chords"]), semitones))
        return replace(self, notes=notes, shift=self.shift + semitones, key=None, meta=meta)

    def head(self, bars: float) -> Piece:
        """The opening `bars` bars (notes starting before the cut, shortened to end at it)."""
        cut = bars * self.bar_length
        n = self.notes[self.notes[:, START] < cut - 1e-9].copy()
        n[:, DUR] = np.minimum(n[:, DUR], cut - n[:, START])
        return replace(self, notes=n)

    def shifted_in_time(self, offset: float) -> Piece:
        n = self.notes.copy()
        n[:, START] += offset
        return replace(self, notes=n)

    # -- MIDI via symusic ----------------------------------------------------------------------------
    def to_score(self, *, tempo: float | None = None, program: int | None = None):
        """A symusic Score (ticks) with one track, the tempo and the time signature."""
        import symusic

        score = symusic.Score(TPQ)
        score.tempos.append(symusic.Tempo(0, float(tempo or self.tempo)))
        num, den = self.time_signature
        score.time_signatures.append(symusic.TimeSignature(0, num, den))
        track = symusic.Track("rnnmusic", program=int(self.program if program is None else program))
        t0 = np.rint(self.notes[:, START] * TPQ).astype(np.int64)
        t1 = np.maximum(t0 + 1, np.rint((self.notes[:, START] + self.notes[:, DUR]) * TPQ).astype(np.int64))
        # one channel cannot hold two sounding notes of one pitch: a re-struck note ends the earlier one
        order = np.lexsort((t0, self.notes[:, PITCH]))
        same = self.notes[order[1:], PITCH] == self.notes[order[:-1], PITCH]
        cut = order[:-1][same]
        t1[cut] = np.maximum(t0[cut] + 1, np.minimum(t1[cut], t0[order[1:]][same]))
        for a, b, (pitch, vel) in zip(t0, t1, self.notes[:, [PITCH, VEL]]):
            track.notes.append(symusic.Note(int(a), int(b - a), int(pitch), int(max(1, min(127, vel)))))
        score.tracks.append(track)
        score.markers.extend(symusic.TextMeta(int(round(t * TPQ)), text) for t, text in phrase_markers(self.meta))
        return score

    def write_midi(self, path: str | Path, *, tempo: float | None = None, program: int | None = None) -> Path:
        """Write a standard MIDI file (written whole to a temporary name, then renamed)."""
        from .checkpoint import write_atomic

        path = Path(path)
        write_atomic(path, bytes(self.to_score(tempo=tempo, program=program).dumps_midi()))
        return path

    def to_dict(self) -> dict[str, Any]:
        """JSON-able facts (not the notes)."""
        return {"source": self.source, "notes": len(self), "tempo": self.tempo,
                "time_signature": list(self.time_signature), "program": self.program, "key": self.key,
                "shift": self.shift, "quarters": round(self.end, 3)}


def piece_from_score(score, *, tracks: list[int] | None = None, source: str = "") -> Piece:
    """Merge the chosen tracks (default: every non-drum track) of a symusic Score into a Piece."""
    # a tick score's times divided by its ticks per quarter: what score.to("quarter") gives, without converting
    # every event of the score (a third of the reading time of a small MIDI file)
    ticks = "Tick" in str(score.ttype)
    q = score if ticks else score.to("quarter")
    tpq = float(score.ticks_per_quarter) if ticks else 1.0
    chosen = [t for i, t in enumerate(q.tracks) if (i in tracks if tracks is not None else not t.is_drum)]
    parts = []
    for t in chosen:
        a = t.notes.numpy()
        if len(a["time"]):
            parts.append(np.stack([a["time"], a["duration"], a["pitch"], a["velocity"]], axis=1).astype(np.float64))
    notes = np.concatenate(parts) if parts else np.zeros((0, 4))
    notes[:, START:PITCH] /= tpq
    notes[:, PITCH] = np.mod(notes[:, PITCH], 128)  # symusic stores pitch as int8
    notes[:, VEL] = np.mod(notes[:, VEL], 128)
    if len(parts) > 1:  # merged parts: one note per (onset, pitch), the longest (unisons between voices)
        notes = notes[np.lexsort((-notes[:, DUR], notes[:, PITCH], notes[:, START]))]
        keep = np.ones(len(notes), dtype=bool)
        keep[1:] = (np.diff(notes[:, START]) != 0) | (np.diff(notes[:, PITCH]) != 0)
        notes = notes[keep]
    meta = meta_of_markers([(float(m.time) / tpq, str(m.text)) for m in q.markers])
    tempo = float(q.tempos[0].qpm) if len(q.tempos) else 120.0
    ts = (q.time_signatures[0].numerator, q.time_signatures[0].denominator) if len(q.time_signatures) else (4, 4)
    programs = [t.program for t in chosen if not t.is_drum]
    return Piece(notes, tempo=tempo, time_signature=ts, program=programs[0] if programs else 0, source=source,
                 meta=meta)


# What MIDI cannot say about a chorale, kept as marker events (`Piece.meta`: "layout", "bar_offset", "fermatas").
MARKER_LAYOUT, MARKER_PICKUP, MARKER_FERMATA = "rnnmusic layout ", "pickup ", "fermata "


def phrase_markers(meta: dict[str, Any]) -> list[tuple[float, str]]:
    """(time in quarters, text) marker events for the layout, the pickup and the fermatas in `meta`."""
    out = []
    if meta.get("layout"):
        out.append((0.0, MARKER_LAYOUT + str(meta["layout"])))
    if meta.get("bar_offset"):
        out.append((0.0, f"{MARKER_PICKUP}{float(meta['bar_offset']):g}"))
    out.extend((float(a), f"{MARKER_FERMATA}{float(b) - float(a):g}") for a, b in meta.get("fermatas", ()))
    return out


def meta_of_markers(markers: Sequence[tuple[float, str]]) -> dict[str, Any]:
    """The `meta` entries `phrase_markers` wrote (other markers are ignored, malformed ones skipped)."""
    meta: dict[str, Any] = {}
    for time, text in markers:
        try:
            if text.startswith(MARKER_LAYOUT):
                meta["layout"] = text[len(MARKER_LAYOUT):].strip()
            elif text.startswith(MARKER_PICKUP):
                meta["bar_offset"] = _quarters(text[len(MARKER_PICKUP):])
            elif text.startswith(MARKER_FERMATA):
                meta.setdefault("fermatas", []).append([time, time + _quarters(text[len(MARKER_FERMATA):])])
        except ValueError:
            continue
    return meta


def _quarters(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and 0 <= value <= 1000):
        raise ValueError(text)
    return value


def read_midi_piece(path: str | Path, *, tracks: list[int] | None = None) -> Piece:
    """Read one MIDI file into a Piece (all non-drum tracks merged unless `tracks` picks some). Unguarded: for
    files rnnmusic wrote itself; a user's file goes through `corpus.reader.read_music` (limits, one-line refusals)."""
    import symusic

    return piece_from_score(symusic.Score(str(path)), tracks=tracks, source=str(path))


def piece_from_music21(stream, *, source: str = "", tracks: list[int] | None = None) -> Piece:
    """Convert a parsed music21 Score/Part (MusicXML, kern, ABC) into a Piece through an in-memory MIDI file.

    The conversion goes through music21's own MIDI writer (ties, repeats expanded as music21 does, tempo
    marks, one track per part), so every format ends up in exactly the representation MIDI files give.
    """
    import symusic
    from music21 import midi as m21midi

    mf = m21midi.translate.streamToMidiFile(stream)
    data = mf.writestr()
    piece = piece_from_score(symusic.Score.from_midi(data), tracks=tracks, source=source)
    piece.time_signature = music21_metre(stream) or piece.time_signature
    return piece


def music21_metre(stream) -> tuple[int, int] | None:
    """The first time signature written in a music21 stream, or None."""
    ts = stream.recurse().getElementsByClass("TimeSignature").first()
    return (int(ts.numerator), int(ts.denominator)) if ts is not None else None
