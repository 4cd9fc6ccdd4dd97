"""Encodings: one module per representation, all behind `rnnmusic.encodings.base.Encoding`."""
from __future__ import annotations

from typing import Any

from ..errors import UserError
from .abc_char import AbcChar
from .abc_folk import AbcFolk
from .abc_tokens import AbcTokens
from .base import Encoding, FrameEncoding
from .events import Events
from .keyboard import Keyboard
from .lead import Lead
from .notes import Notes
from .pianoroll import PianoRoll
from .satb import Satb

ENCODINGS: dict[str, type[Encoding] | type[FrameEncoding]] = {
    cls.name: cls for cls in (AbcChar, AbcTokens, AbcFolk, Notes, PianoRoll, Events, Lead, Satb, Keyboard)
}


def get_encoding(name: str, **options: Any) -> Encoding:
    """A fresh (unfitted) encoding by name."""
    try:
        cls = ENCODINGS[name]
    except KeyError:
        raise UserError(f"unknown encoding {name!r}; choose one of: {', '.join(sorted(ENCODINGS))}") from None
    try:
        return cls(**options)
    except ValueError as e:
        raise UserError(str(e)) from None


def encoding_from_dict(d: dict[str, Any]) -> Encoding:
    """Rebuild a fitted encoding from its saved JSON form."""
    name = d.get("name")
    if name not in ENCODINGS:
        raise UserError(f"saved encoding {name!r} is not known to this version of rnnmusic")
    return ENCODINGS[name].from_dict(d)


__all__ = [
    "Encoding",
    "FrameEncoding",
    "ENCODINGS",
    "get_encoding",
    "encoding_from_dict",
    "AbcChar",
    "AbcTokens",
    "AbcFolk",
    "Notes",
    "PianoRoll",
    "Events",
    "Lead",
    "Satb",
    "Keyboard",
]
