"""The form of an ABC tune as a musician reads it: its type, sections (parts), bars per part and written bars.

`tune_form(text)` reads a cleaned tune (header and body, no X:) and returns a `TuneForm`:

* **type**: the ``R:`` field normalised to one of `TYPES` (``R:double jig`` -> ``jig``, ``R:slipjig`` ->
  ``slip-jig``, ``R:clog`` -> ``hornpipe``); any other rhythm word is ``other``; no ``R:`` is ``?``.
* **sections**: the body cut at section boundaries: repeat signs (``|:``, ``:|``, ``::``), double bars
  (``||``, ``|]``, ``[|``) and ``P:`` part markers. A section of fewer than 3 bars (a second ending, a
  coda) is not a part.
* **bars**: a bar is counted at each bar line that closes some music (so a pickup before the first bar line
  counts, an empty ``|:`` after ``||`` does not), plus the music after the last bar line.
* **bars_per_part**: the median of the parts' bar counts, snapped to the nearest of 4, 8, 12, 16, 24 or 32
  when within one bar of it (a pickup or a first ending adds one), else the count itself.

The same function gives the conditioning tokens of the `abc-folk` encoding (`form_tokens`) and the figures
of `bench/folk_quality` (two or more sections, bars per part, written bars), so what a request asks for and
what the bench measures are the same thing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median

from .abc_bars import _BAR
from .abc_tokens import _tokenize

# Tune types a request may name, with the meters a tune of that type is written in (first = usual).
TYPES: dict[str, tuple[str, ...]] = {
    "reel": ("C|", "C", "4/4", "2/2", "2/4"),
    "jig": ("6/8",),
    "slip-jig": ("9/8",),
    "hornpipe": ("C|", "C", "4/4", "2/2", "2/4"),
    "polka": ("2/4",),
    "slide": ("12/8",),
    "waltz": ("3/4",),
    "march": ("2/4", "6/8", "C", "C|", "4/4"),
    "air": (),  # any meter
    "strathspey": ("C", "C|", "4/4"),
}
_TYPE_ALIASES = {
    "double jig": "jig", "single jig": "jig", "jigs": "jig", "reels": "reel", "slipjig": "slip-jig",
    "slip jig": "slip-jig", "hop jig": "slip-jig", "clog": "hornpipe", "hornpipes": "hornpipe",
    "set dance": "hornpipe", "highland fling": "strathspey", "fling": "strathspey", "walkaround": "march",
    "quickstep": "march", "slow air": "air", "song": "air",
}
UNKNOWN_TYPE = "?"
OTHER_TYPE = "other"
BAR_CLASSES = (4, 8, 12, 16, 24, 32)
MAX_PARTS = 5  # "<parts:5>" stands for five or more

_TIMED = re.compile(r"^(?:\^{1,2}|_{1,2}|=)?[A-Ga-g][,']*\d*/*\d*$|^[zxZ]\d*/*\d*$|^\]\d*/*\d*$")


@dataclass(frozen=True)
class TuneForm:
    type: str                 # one of TYPES, "other" or "?" (no R:)
    meter: str | None         # the header M: value
    key: str | None           # the header K: value
    sections: tuple[int, ...]  # bars of each section, in order (parts and short sections alike)
    bars: int                 # written bars in all

    @property
    def parts(self) -> int:
        """Sections of at least 3 bars."""
        return sum(1 for b in self.sections if b >= 3)

    @property
    def bars_per_part(self) -> int:
        """Median bars of the parts, snapped to 4/8/12/16/24/32 when within one bar (0 when no part)."""
        parts = [b for b in self.sections if b >= 3]
        return snap_bars(round(median(parts))) if parts else 0


def snap_bars(bars: int) -> int:
    for c in BAR_CLASSES:
        if abs(bars - c) <= 1:
            return c
    return bars


def normalise_type(rhythm: str | None) -> str:
    """An R: value as one of `TYPES`, "other", or "?" when there is none."""
    if not rhythm:
        return UNKNOWN_TYPE
    r = " ".join(rhythm.lower().replace("-", " ").split())
    if r.replace(" ", "-") in TYPES:
        return r.replace(" ", "-")
    return _TYPE_ALIASES.get(r, OTHER_TYPE)


def is_boundary(tok: str) -> bool:
    """A bar-line token that ends a section: a repeat sign or a double bar."""
    return ":" in tok or "||" in tok or "|]" in tok or "[|" in tok


def _header_and_body(text: str) -> tuple[dict[str, str], list[str]]:
    head: dict[str, str] = {}
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if len(line) >= 2 and line[1] == ":" and line[0].isalpha():
            head.setdefault(line[0], line[2:].strip())
            if line[0] == "K":
                return head, lines[i + 1:]
        elif line.strip() and not line.startswith("%"):
            return head, lines[i:]
    return head, []


def tune_form(text: str) -> TuneForm:
    """The form of one tune (see the module docstring). Never raises on any text."""
    head, body = _header_and_body(text)
    sections: list[int] = []
    bars = 0
    music = False  # notes or rests since the last bar line

    def close() -> None:
        nonlocal bars
        if bars:
            sections.append(bars)
        bars = 0

    for tok in _tokenize("\n".join(body)):
        if _TIMED.match(tok):
            music = True
        elif _BAR.match(tok):
            if music:
                bars += 1
                music = False
            if is_boundary(tok):
                close()
        elif tok.startswith("P:") or tok.startswith("[P:"):
            if music:
                bars += 1
                music = False
            close()
    if music:
        bars += 1
    close()
    return TuneForm(normalise_type(head.get("R")), head.get("M"), head.get("K"), tuple(sections), sum(sections))


def form_tokens(form: TuneForm) -> list[str]:
    """The conditioning tokens that open a tune in the `abc-folk` encoding."""
    return [f"<type:{form.type}>", f"<parts:{min(form.parts, MAX_PARTS)}>", f"<bars:{form.bars_per_part}>"]
