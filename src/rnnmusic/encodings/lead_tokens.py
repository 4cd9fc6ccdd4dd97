"""The `lead` encoding's tokens: their grammar (`parse_lead_token`) and the conditioning they imply (`LeadState`),
shared by encoding (`lead.Lead.encode`) and sampling (`lead_guard.LeadGuard`)."""
from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..chord_ids import chord_id, position_id
from ..chords import Chord, parse_chord
from .notes import parse_pitch

CHORD = "@"
REST = "R"
NO_CHORD = "N.C."


def chord_token(chord: Chord | None) -> str:
    return CHORD + (NO_CHORD if chord is None else chord.name())


def parse_lead_token(token: str, grid: int) -> tuple[str, Any] | None:
    """("chord", Chord | None), ("note", (pitch, steps)), ("rest", steps) or None (not a lead token)."""
    if not isinstance(token, str) or len(token) > 40:
        return None
    if token.startswith(CHORD):
        text = token[1:]
        if text == NO_CHORD:
            return "chord", None
        try:
            c = parse_chord(text)
        except Exception:
            return None
        return ("chord", c) if c is not None else None
    head, sep, dur = token.rpartition(":")
    if not sep:
        return None
    try:
        d = Fraction(dur)
    except (ValueError, ZeroDivisionError):
        return None
    steps = d * grid
    if d <= 0 or d > 64 or steps.denominator != 1:
        return None
    if head == REST:
        return "rest", int(steps)
    p = parse_pitch(head)
    return ("note", (p, int(steps))) if p is not None else None


class LeadState:
    """Time (grid steps), bar position and current chord after each token: the conditioning of a step."""

    def __init__(self, grid: int, bar_steps: int, chords_given: bool = True):
        self.grid, self.bar_steps, self.given = grid, max(1, bar_steps), chords_given
        self.time = 0
        self.chord: Chord | None = None

    def advance(self, parsed: tuple[str, Any] | None) -> None:
        if parsed is None:
            return
        kind, value = parsed
        if kind == "chord":
            self.chord = value
        elif kind == "note":
            self.time += value[1]
        elif kind == "rest":
            self.time += value

    def condition(self) -> tuple[int, int]:
        """(chord id, position id) of the moment after the tokens so far."""
        return chord_id(self.chord, self.given), position_id(self.time, self.bar_steps)
