"""ABC rewritten where music21 (10.x) misreads it, for the bar check of `abc_check.check_tune`.

`for_music21(tune)` keeps every note and every length; it only rewrites what music21's ABC reader gets wrong
in real tunes (each case found checking real tunes, see bench/abc_checker):

* ``H`` (the one-letter fermata): music21 drops the note after it. Written ``!fermata!``.
* a grace group opening a tuplet, ``(3{g}aga``: music21 counts the grace note as one of the three, so the bar
  comes out a sixth of a beat long. The grace group moves before the tuplet sign: ``{g}(3aga``.
* ``::`` glued to a note, ``BGG::``: music21 drops that note and the repeat. A space goes before it.
* ``P:`` part labels in the body: music21 ends the bar at one, so a label inside a bar cuts it in two. A part
  starts a section, so the label becomes a ``||`` (short bars stand next to section boundaries).
* several voices: music21 reads each ``V:`` block (or ``[V:1]`` line) as a part of its own, all starting
  together, and inline ``[V:1]`` lines as one melody. Only the first voice is kept (`first_voice`).

Field lines, chord symbols, ``!decorations!``, inline fields and comments are left as they are.
"""
from __future__ import annotations

import re

from ..music21_compat import first_voice

__all__ = ["for_music21"]

_FIELD_LINE = re.compile(r"^[A-Za-z+]:(?![|:])")
_KEEP_AS_IS = re.compile(r'"[^"\n]*"|![^!\n]*!|\[[A-Za-z]:[^\]\n]*\]|%.*')
_GRACE_IN_TUPLET = re.compile(r"(\(\d(?::\d*){0,2})(\{[^}]*\})")
_GLUED_REPEAT = re.compile(r"(?<=[^\s|:\[])::")
_VOICE_AT_LINE_START = re.compile(r"^\[V:([^\]\n]*)\] *", re.MULTILINE)
_PART_LABEL = re.compile(r"\[P:[^\]\n]*\]")  # inline: [P:B]


def _music(part: str) -> str:
    part = part.replace("H", "!fermata!")
    return _GLUED_REPEAT.sub(" ::", _GRACE_IN_TUPLET.sub(r"\2\1", part))


def for_music21(tune: str) -> str:
    """`tune` with what music21 misreads rewritten (see the module docstring): same notes, same lengths."""
    head, _, body = tune.partition("\nK:")
    if body:
        tune = head + "\nK:" + _VOICE_AT_LINE_START.sub(lambda m: f"V:{m.group(1)}\n", body)
    tune, _ = first_voice(tune)
    lines, in_body = [], False
    for line in tune.split("\n"):
        stripped = line.strip()
        if in_body and stripped.startswith("P:"):
            line = stripped = "||"  # a part label in the body: a section boundary
        in_body = in_body or stripped.startswith("K:")
        if not _FIELD_LINE.match(stripped):
            line, pos, parts = _PART_LABEL.sub("||", line), 0, []
            for m in _KEEP_AS_IS.finditer(line):
                parts += [_music(line[pos:m.start()]), m.group()]
                pos = m.end()
            line = "".join(parts) + _music(line[pos:])
        lines.append(line)
    return "\n".join(lines)
