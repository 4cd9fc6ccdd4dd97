"""The `satb` encoding's token grammar, shared by the encoding (`encodings.satb`) and its sampling guard
(`encodings.satb_guard`): ``M4/4`` the metre, ``@k`` step k of the bar, ``F`` under a fermata, and per voice
``60`` (struck), ``60~`` (held from the step before) or ``r`` (silent)."""
from __future__ import annotations

from collections.abc import Sequence

from ..voicing import REST

FERMATA, SILENT, HOLD = "F", "r", "~"


def metre_token(time_signature: Sequence[int]) -> str:
    return f"M{int(time_signature[0])}/{int(time_signature[1])}"


def parse_voice(token: str) -> tuple[int, bool] | None:
    """(pitch, held) of a voice token, (REST, False) for a silent voice, None when it is not a voice token."""
    if token == SILENT:
        return REST, False
    held = token.endswith(HOLD)
    digits = token[:-1] if held else token
    return (int(digits), held) if digits.isdigit() and 0 <= int(digits) <= 127 else None
