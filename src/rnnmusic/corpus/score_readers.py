"""The per-format readers behind `corpus.reader`: a MIDI file (symusic), a MusicXML or kern file (music21, through
its MIDI writer), clean ABC tunes (music21) -> `Piece`s after the track selection and the `Limits`.

Called by `reader.read_file` only, which has already checked the file's size and safety and turns anything
these raise into a refusal.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any

from ..errors import one_line
from ..music21_compat import add_missing_repeat_starts, drop_grace_notes, first_voice, midi_of_stream, phrase_marks
from ..piece import Piece, music21_metre, piece_from_score
from .formats import FileResult, Limits
from .leadsheets import add_chord_part, lead_piece, music21_key
from .tracks import TrackSelector


def describe_tracks(tracks: Sequence[Any], limit: int = 8) -> str:
    parts = [f"{i} {str(t.name)!r} " + ("drums" if t.is_drum else f"program {t.program}")
             for i, t in enumerate(tracks[:limit])]
    return ", ".join(parts) + (f", ... {len(tracks) - limit} more" if len(tracks) > limit else "") if parts else "none"


def piece_of_score(score, source: str, selector: TrackSelector, limits: Limits,
                exact_chords: bool = False) -> tuple[Piece | None, str | None]:
    """The Piece of a symusic Score (ticks) after the track selection and limits, or (None, reason); a lead
    sheet (`limits.lead`) when asked, its chords from a chord-symbol part (`exact_chords`) or estimated."""
    if score.ticks_per_quarter <= 0:
        return None, f"ticks per quarter note is {score.ticks_per_quarter} in its header (a broken file)"
    tracks = list(score.tracks)
    chosen = selector.select(tracks)
    if not chosen:
        if not selector.terms:
            return None, "no notes" if not tracks else "only drum tracks"
        return None, f"tracks {selector.spec!r} match no track (tracks: {describe_tracks(tracks)})"
    count = sum(tracks[i].note_num() for i in chosen)
    if count == 0:
        return None, "no notes" + ("" if not selector.terms else f" in tracks {selector.spec!r}")
    if count > limits.max_notes:
        return None, f"{count:,} notes, more than the limit of {limits.max_notes:,}"
    for t in score.tempos:
        qpm = float(t.qpm)
        if not limits.min_tempo <= qpm <= limits.max_tempo:
            return None, f"tempo {qpm:.4g} qpm outside {limits.min_tempo:g}..{limits.max_tempo:g}"
    end = max(t.end() for t in (tracks[i] for i in chosen))
    quarters = end / score.ticks_per_quarter
    if not quarters <= limits.max_quarters:  # a note that never ends (or a piece of many hours)
        return None, f"{quarters:,.0f} quarter notes long, more than the limit of {limits.max_quarters:,.0f}"
    minutes = _minutes(score, end)
    if minutes > limits.max_minutes:  # what its audio would last
        return None, f"{minutes:,.0f} minutes long, more than the limit of {limits.max_minutes:,.0f}"
    if limits.lead:
        return lead_piece(score, source, exact=exact_chords)
    piece = piece_from_score(score, tracks=chosen, source=source)
    if not len(piece):
        return None, "no notes"
    if not (math.isfinite(piece.tempo) and math.isfinite(float(piece.notes.sum()))):
        return None, "note times or tempo are not numbers (a broken file)"
    return piece, None


def _minutes(score, end: int) -> float:
    """Minutes from the start to tick `end`, through the score's tempo changes (120 qpm before the first)."""
    tpq, at, qpm, total = score.ticks_per_quarter, 0, 120.0, 0.0
    for t in sorted(score.tempos, key=lambda t: t.time):
        if t.time >= end:
            break
        total += (t.time - at) / tpq / qpm
        at, qpm = t.time, float(t.qpm)
    return total + (end - at) / tpq / qpm


def read_midi(path: str, data: bytes, selector: TrackSelector, limits: Limits) -> FileResult:
    import symusic

    try:
        score = symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError for malformed files
        return FileResult(skip=f"not a readable MIDI file ({one_line(e, 160, named=True)})")
    piece, reason = piece_of_score(score, path, selector, limits)
    if piece is None:
        return FileResult(skip=reason, found=1)
    piece.meta["format"] = "midi"
    return FileResult([piece], found=1)


def piece_of_stream(s, source: str, selector: TrackSelector, limits: Limits, fmt: str):
    """(Piece or None, reason): a music21 Score through music21's MIDI writer (repeats expanded when it can)."""
    import symusic

    written = sum(len(n.pitches) if n.isChord else 1 for n in s.recurse().notes)
    if written > limits.max_notes:  # the MIDI writer is slow on big scores: don't even try
        return None, f"{written:,} notes, more than the limit of {limits.max_notes:,}"
    meta: dict[str, Any] = {"format": fmt}
    key = None
    if limits.lead:
        if not add_chord_part(s):
            return None, "no chord symbols"
        key = music21_key(s) if fmt == "abc" else None  # ABC's K: field; else the chords' key (lead_piece)
    if drop_grace_notes(s):  # music21's MIDI writer would leave a later note of their pitch ringing
        meta["grace notes"] = "dropped"
    try:
        if add_missing_repeat_starts(s):
            meta["repeats"] = "start repeats added after end repeats"
        data, applied = midi_of_stream(s)
        score = symusic.Score.from_midi(data)
    except Exception as e:
        return None, f"music21 cannot turn it into MIDI ({one_line(e, 160, named=True)})"
    if applied:
        meta["conversion"] = "; ".join(applied)
    piece, reason = piece_of_score(score, source, selector, limits, exact_chords=limits.lead)
    if piece is None:
        return None, reason
    piece.key = key or piece.key
    piece.time_signature = music21_metre(s) or piece.time_signature
    piece.meta.update(meta)
    if not limits.lead:
        with contextlib.suppress(Exception):  # phrase marks are a bonus: a score music21 cannot walk has none
            piece.meta.update(phrase_marks(s, piece.end))
    return piece, None


def read_music21(path: str, kind: str, selector: TrackSelector, limits: Limits,
                  stop_after: int | None = None) -> FileResult:
    from music21 import converter, stream

    try:
        parsed = converter.parse(path, forceSource=True)  # forceSource: no music21 pickles read or written
    except Exception as e:
        return FileResult(skip=f"music21 cannot parse it ({one_line(e, 160, named=True)})")
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    if len(scores) == 1:
        piece, reason = piece_of_stream(scores[0], path, selector, limits, kind)
        return FileResult([piece], found=1) if piece is not None else FileResult(skip=reason, found=1)
    out = FileResult(found=len(scores))
    for i, s in enumerate(scores, 1):
        if stop_after is not None and len(out.pieces) >= stop_after:
            out.found, out.cacheable = i - 1, False  # a partial result is not cached
            break
        piece, reason = piece_of_stream(s, f"{path}#{i}", selector, limits, kind)
        if piece is None:
            out.drops.append((reason_kind(reason), f"{path}#{i} ({reason})"))
        else:
            out.pieces.append(piece)
    return out


def piece_of_tune(source: str, cleaned: str, selector: TrackSelector,
                  limits: Limits) -> tuple[Piece | None, tuple[str, str] | None]:
    """A clean ABC tune parsed by music21: (its piece, None) or (None, (reason kind, example naming the tune))."""
    from music21 import converter

    cleaned, voices = first_voice(cleaned)
    try:
        s = converter.parse(cleaned, format="abc")
    except Exception as e:
        return None, ("music21 cannot parse it", f"{source} ({one_line(e, 160, named=True)})")
    piece, why = piece_of_stream(s, source, selector, limits, "abc")
    if piece is None:
        return None, (reason_kind(why), f"{source} ({why})")
    if voices > 1:
        piece.meta["voices"] = f"first of {voices}"
    return piece, None


_KINDS = {"tempo": "absurd tempo", "tracks": "no track selected", "music21 cannot": "music21 cannot convert it",
          "ticks per quarter": "broken MIDI header", "note times": "broken MIDI header"}


def reason_kind(reason: str) -> str:
    """The counter key for a dropped piece: the reason without its numbers and details."""
    for prefix, kind in _KINDS.items():
        if reason.startswith(prefix):
            return kind
    if "notes, more than the limit" in reason:
        return "too many notes"
    if "quarter notes long, more than" in reason or "minutes long, more than" in reason:
        return "too long"
    return reason
