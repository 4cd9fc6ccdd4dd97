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


def midi_of_stream(s) -> tuple[bytes, list[str]]:
    """MIDI bytes from music21's own writer, working around its failures: (data, what had to be changed).
    Raises the writer's first error when nothing helps."""
    from music21 import midi as m21midi

    fixes = [("", None), ("marks unshared", unshare_marks), ("empty parts dropped", _drop_empty_parts),
             ("repeats not expanded (music21 could not expand them)", _strip_repeats)]
    applied: list[str] = []
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
