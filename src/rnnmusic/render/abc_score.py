"""ABC text -> a music21 Score for notation (MusicXML, sheet music, MIDI through music21, the bar check).

music21 (10.x) drops a meter or key change written inside a tune's body (an ``M:`` or ``K:`` line, or an
inline ``[M:...]`` field, at a bar line): its measure splitter gives a field that sits at a bar boundary to
neither bar. The notes keep their pitches and durations, but the sheet music shows the first meter and key
throughout (a Nottingham waltz's 2/4 bars are engraved under 3/4), and music21 re-bars the tune by the wrong
meter (each 3/4 bar of a tune that began in 2/4 is cut in two). `parse_abc_quietly` puts those fields back:
it reads music21's own ABC tokens to find the note each change comes before, sets the meter or key on that
note's measure, and only then re-bars and re-beams, as music21's reader would have.
"""
from __future__ import annotations

import contextlib
import io
import re
import threading
import warnings

__all__ = ["bars_as_written", "parse_abc_quietly", "restore_body_fields"]

_INLINE_FIELD = re.compile(r"^\s*\[[A-Za-z]:")
_BODY_FIELD = re.compile(r"^\s*[MK]:|\[[MK]:", re.M)
PARSE_LOCK = threading.Lock()  # music21's re-barring is switched off by swapping a module attribute


def _no_rebar(part, *args, **kwargs):  # stands in for music21.abcFormat.translate.reBar
    return None if kwargs.get("inPlace", True) else part


@contextlib.contextmanager
def bars_as_written():
    """Parse ABC without music21's re-barring of over-long measures: measures are the bars as written."""
    try:
        from music21.abcFormat import translate
    except ImportError:  # pragma: no cover - layout of a future music21
        translate = None
    with PARSE_LOCK:
        original = getattr(translate, "reBar", None) if translate is not None else None
        if original is not None:
            translate.reBar = _no_rebar
        try:
            yield
        finally:
            if original is not None:
                translate.reBar = original


def parse_abc_quietly(abc_text: str, *, rebar: bool = True):
    """music21's Score of the first tune in `abc_text`, with the tune's meter and key changes (raises on
    failure). `rebar=False` keeps over-long bars as written (for checking them).

    music21 prints its ABC warnings ("Could not get pitch information ...") to stderr: they are kept out
    of the terminal, since one per bad note of every generated tune would drown the output.
    """
    from music21 import converter, stream

    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        with bars_as_written():
            parsed = converter.parse(abc_text, format="abc")
        if isinstance(parsed, stream.Opus):
            scores = list(parsed.scores)
            if not scores:
                raise ValueError("music21 found no tune in the text")
            parsed = scores[0]
        restore_body_fields(parsed, abc_text)
        if rebar:
            _rebar(parsed)
    return parsed


def _rebar(score) -> None:
    """What music21's ABC reader does after reading the measures: split over-long bars, beam by the meter."""
    from music21 import exceptions21, meter, stream
    from music21.abcFormat import translate

    with PARSE_LOCK:  # music21's own, not the stand-in another thread's parse may have put there
        rebar_part = translate.reBar
    for part in score.parts if score.hasPartLikeStreams() else [score]:
        with contextlib.suppress(exceptions21.Music21Exception, ZeroDivisionError):
            rebar_part(part, inPlace=True)
        with contextlib.suppress(meter.MeterException, stream.StreamException):
            part.makeBeams(inPlace=True)


def _body_changes(abc_text: str) -> tuple[list[tuple[int, object]], int]:
    """The first tune's meter and key fields after its header, each with the number of notes, rests and
    chords before it, and the tune's count of those (none and 0 when it has no body)."""
    from music21 import abcFormat

    if not _BODY_FIELD.search(abc_text.partition("\nK:")[2].partition("\n")[2]):
        return [], 0  # the usual tune: no field after the header, nothing to tokenize again
    handler = abcFormat.ABCHandler()
    handler.process(abc_text)
    changes: list[tuple[int, object]] = []
    count, body, tunes = 0, False, 0
    for t in handler.tokens:
        if isinstance(t, abcFormat.ABCChord) and _INLINE_FIELD.match(t.src):
            # music21 reads an inline field ("[M:2/4]") as a chord of no notes; it makes nothing of it. A meter
            # is put back; a key is not (music21 did not spell the following notes in it).
            field = t.src.strip()[1:-1]
            if body and field.startswith("M:"):
                t = abcFormat.ABCMetadata(field)
                t.preParse()
                changes.append((count, t))
            continue
        if isinstance(t, abcFormat.ABCMetadata):
            if t.isReferenceNumber():
                tunes += 1
                if tunes > 1:
                    break
            elif t.isKey() and not body:
                body = True
            elif body and (t.isMeter() or t.isKey()):
                changes.append((count, t))
        elif isinstance(t, (abcFormat.ABCNote, abcFormat.ABCChord)) and body:
            count += 1
    return (changes, count) if body else ([], 0)


def restore_body_fields(score, abc_text: str) -> int:
    """Put the meter and key changes of the tune's body (see the module docstring) where they belong in
    `score`, music21's parse of `abc_text`; returns how many were set. Scores of several voices, and scores
    whose notes do not line up one to one with music21's ABC tokens, are left as they are."""
    from music21 import harmony, meter, stream

    if score.hasPartLikeStreams() and len(score.parts) != 1:
        return 0
    changes, count = _body_changes(abc_text)
    if not changes:
        return 0
    part = score.parts[0] if score.hasPartLikeStreams() else score
    notes = [n for n in part.recurse().getElementsByClass(("Note", "Rest", "Chord"))
             if not isinstance(n, harmony.ChordSymbol)]
    if len(notes) != count:
        return 0
    wanted: dict[int, list] = {}  # id(measure) -> [(offset in it, the field's meter or key object)]
    for index, token in changes:
        if index >= count:
            continue  # a field after the last note changes nothing that is engraved
        obj = token.getTimeSignatureObject() if token.isMeter() else token.getKeySignatureObject()
        n = notes[index]
        m = n.getContextByClass(stream.Measure)
        if obj is not None and m is not None:
            wanted.setdefault(id(m), []).append((n.getOffsetInHierarchy(m), obj))
    restored, ts_now, key_now = 0, None, None
    for m in part.getElementsByClass(stream.Measure):
        ts_now = m.timeSignature or ts_now
        key_now = m.keySignature or key_now
        for offset, obj in wanted.get(id(m), []):
            if isinstance(obj, meter.TimeSignature):
                if offset == 0 and (ts_now is None or ts_now.ratioString != obj.ratioString):
                    m.timeSignature = ts_now = obj
                    restored += 1
            elif key_now is None or key_now.sharps != obj.sharps or _mode(key_now) != _mode(obj):
                if offset == 0:
                    m.keySignature = obj
                else:
                    m.insert(offset, obj)
                key_now = obj
                restored += 1
    return restored


def _mode(key_or_signature) -> str | None:
    return getattr(key_or_signature, "mode", None)
