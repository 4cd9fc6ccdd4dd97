"""Working around music21 on real files (used by the corpus readers, rendering and the ABC checks), so that a
score it can parse also turns into MIDI.

Each fix is recorded in the piece's `meta` by the reader: start repeats added where end repeats would nest,
marks that music21 shares between two places copied, empty parts dropped, repeats it cannot expand removed,
and interleaved ABC voices reduced to the first voice.
"""
from __future__ import annotations

import io
import re
from contextlib import ExitStack, redirect_stderr, redirect_stdout


def quiet() -> ExitStack:
    """Swallow what music21 prints to stdout/stderr while parsing (warnings about odd files)."""
    stack = ExitStack()
    stack.enter_context(redirect_stdout(io.StringIO()))
    stack.enter_context(redirect_stderr(io.StringIO()))
    return stack


def _repeat_end(b) -> bool:
    return b is not None and type(b).__name__ == "Repeat" and b.direction == "end"


def _repeat_start(b) -> bool:
    return b is not None and type(b).__name__ == "Repeat" and b.direction == "start"


def add_missing_repeat_starts(s) -> bool:
    """After an end repeat, a later end repeat with no start repeat between them goes back to just after the
    first one (as abc2midi and players read it). music21 would go back to the very beginning each time,
    nesting the repeats (2**n times the music: a tune with ten `:|` took minutes and gave 100,000 notes).
    Parts with first/second endings are left alone. True when something was added."""
    from music21 import bar, stream

    changed = False
    parts = list(s.parts) if s.hasPartLikeStreams() else [s]
    for part in parts:
        if part.recurse().getElementsByClass("RepeatBracket").first() is not None:
            continue
        measures = list(part.getElementsByClass(stream.Measure))
        after_end = None  # index of the measure after the last end repeat
        for i, m in enumerate(measures):
            if _repeat_start(m.leftBarline):
                after_end = None
            if _repeat_end(m.rightBarline):
                if after_end is not None and after_end <= i:
                    measures[after_end].leftBarline = bar.Repeat(direction="start")
                    changed = True
                after_end = i + 1
    return changed


def unshare_marks(s) -> bool:
    """Copy a time/key signature, clef or tempo mark that music21 put in two places (its ABC reader does,
    and its MIDI writer then fails with 'already found in this Stream'). True when one was copied."""
    import copy

    seen: set[int] = set()
    changed = False
    for container in list(s.recurse(streamsOnly=True, includeSelf=True)):
        for el in list(container.getElementsByClass(("TimeSignature", "KeySignature", "MetronomeMark", "Clef"))):
            if id(el) in seen:
                container.replace(el, copy.deepcopy(el))
                changed = True
            else:
                seen.add(id(el))
    return changed


def _strip_repeats(s) -> bool:
    """Remove repeat barlines, repeat expressions and endings (for scores whose repeats music21 can't expand)."""
    from music21 import bar, stream

    changed = False
    for m in s.recurse().getElementsByClass(stream.Measure):
        for side in ("leftBarline", "rightBarline"):
            if isinstance(getattr(m, side), bar.Repeat):
                setattr(m, side, None)
                changed = True
    for cls in ("RepeatExpression", "RepeatBracket"):
        for r in list(s.recurse().getElementsByClass(cls)):
            if r.activeSite is not None:
                r.activeSite.remove(r)
                changed = True
    return changed


def _drop_empty_parts(s) -> bool:
    """Remove parts without notes (they can stop music21 expanding the repeats of the others)."""
    empty = [p for p in s.parts if not p.recurse().notes] if s.hasPartLikeStreams() else []
    for p in empty:
        s.remove(p)
    return bool(empty)


def drop_grace_notes(s) -> bool:
    """Remove grace notes (and grace chords). music21's MIDI writer gives one a note-off and a note-on at the same
    instant, and that note-on takes the next note-off of its pitch: a later note of the same pitch then rings on
    for bars (1.4% of the notes of Beethoven's sonatas in **kern lasted over 16 quarters)."""
    graces = [n for n in s.recurse().notes if n.duration.isGrace]
    for n in graces:
        if n.activeSite is not None:
            n.activeSite.remove(n)
    return bool(graces)


def stream_of_midi(data: bytes):
    """MIDI bytes as a music21 Score quantized to sixteenths and eighth-note triplets: how rnnmusic notates MIDI
    (sheet music of generated pieces, lead sheets, the grand staff)."""
    from music21 import converter

    return converter.parse(data, format="midi", quantizePost=True, quarterLengthDivisors=(4, 3))


def midi_of_stream(s) -> tuple[bytes, list[str]]:
    """MIDI bytes from music21's own writer, working around its failures: (data, what had to be changed).
    Raises the writer's first error when nothing helps."""
    from music21 import midi as m21midi

    applied: list[str] = []
    fixes = [("", None), ("marks unshared", unshare_marks), ("empty parts dropped", _drop_empty_parts),
             ("repeats not expanded (music21 could not expand them)", _strip_repeats)]
    first_error: Exception | None = None
    for name, fix in fixes:
        if fix is not None:
            if not fix(s):
                continue
            applied.append(name)
        try:
            return m21midi.translate.streamToMidiFile(s).writestr(), applied
        except Exception as e:
            first_error = first_error or e
    raise first_error


def first_voice(text: str) -> tuple[str, int]:
    """(the tune with only its first voice, number of voices). music21 reads interleaved ABC voices
    (`V:1 ... V:2 ... V:1 ...`) as one part per block, all starting together, so only the first is kept."""
    lines = text.split("\n")
    k = next((i for i, line in enumerate(lines) if line.startswith("K:")), None)
    if k is None or not any(line.startswith("V:") or "[V:" in line for line in lines):
        return text, 1
    voices: list[str] = []
    head = []
    for line in lines[:k + 1]:
        if line.startswith("V:"):
            vid = line[2:].split(" ", 1)[0]
            voices.append(vid) if vid not in voices else None
        else:
            head.append(line)
    body, current = [], None
    for line in lines[k + 1:]:
        if line.startswith("V:"):
            current = line[2:].split(" ", 1)[0]
            if current not in voices:
                voices.append(current)
            continue
        if current is None:  # music before any V: line in the body belongs to the first voice
            if not voices:
                voices.append("")
            current = voices[0]
        if current == voices[0]:
            body.append(line)
    body = [re.sub(r"\[V:[^\]]*\]", "", line) for line in body]  # inline voice changes: rare, dropped
    return "\n".join(head + body), max(1, len(voices))


def phrase_marks(s, length: float) -> dict:
    """What a score says about its phrases that MIDI cannot carry: the fermatas of any part as [start, end]
    spans in quarters, and the pickup (`bar_offset`: how far into a bar the piece starts, in quarters), read from
    the score as the MIDI written (`length` quarters) plays it: with its repeats expanded when the MIDI has them."""
    from music21 import expressions

    out: dict = {}
    if abs(float(s.highestTime) - length) > 1.0:  # the MIDI has the repeats expanded: so must the score
        try:
            s = s.expandRepeats()
        except Exception:  # noqa: BLE001 - music21 could not: no phrase marks
            return out
        if abs(float(s.highestTime) - length) > 1.0:
            return out
    parts = list(getattr(s, "parts", [])) or [s]
    measures = parts[0].getElementsByClass("Measure")
    first = measures.first() if measures else None
    if first is not None and first.paddingLeft:
        out["bar_offset"] = float(first.paddingLeft)
    ends: dict[float, float] = {}  # fermata start -> end, over every part (the top part may be an instrument's)
    for part in parts:
        for n in part.recurse().notes:
            if any(isinstance(e, expressions.Fermata) for e in n.expressions):
                start = float(n.getOffsetInHierarchy(s))
                ends[start] = max(ends.get(start, start), start + float(n.quarterLength))
    if ends:
        out["fermatas"] = [[a, ends[a]] for a in sorted(ends)]
    return out


def music21_key_name(name: str) -> tuple[str, str]:
    """("B-", "minor") from "Bb minor": music21 writes flats as '-'."""
    tonic, _, mode = name.partition(" ")
    return tonic[:1] + tonic[1:].replace("b", "-"), mode or "major"
