"""Choosing which tracks of a multi-track file make the Piece (`--tracks`).

By default every non-drum track is merged. A selection is a union of terms joined by commas: track indices
(`0,2`, drums included when named), General MIDI families by program // 8 (`piano`, `strings`, ...),
`program:40`, or `name:violin` (substring of the track name); `all` takes every track.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import UserError

GM_FAMILIES = ("piano", "chromatic", "organ", "guitar", "bass", "strings", "ensemble", "brass", "reed", "pipe",
               "synth-lead", "synth-pad", "synth-effects", "ethnic", "percussive", "sound-effects")
_FAMILY_ALIASES = {"chromatic-percussion": "chromatic", "lead": "synth-lead", "pad": "synth-pad",
                   "synth-fx": "synth-effects", "fx": "synth-effects", "sfx": "sound-effects"}
_TRACKS_HELP = ("use 'all', track indices ('0,2'), a General MIDI family (" + ", ".join(GM_FAMILIES) +
                "), 'program:40' or 'name:violin', several joined by commas")


@dataclass(frozen=True)
class TrackSelector:
    """Which tracks of a score make the Piece: the union of `terms`, each ('index', i), ('family', f),
    ('program', p) or ('name', substring). No terms: every non-drum track. Drum tracks are picked only by
    index."""

    terms: tuple[tuple[str, Any], ...] = ()

    @property
    def spec(self) -> str:
        """Canonical text ('all', '0,2', 'piano', 'program:40', 'name:violin'), also the cache key part."""
        if not self.terms:
            return "all"
        return ",".join(str(v) if k in ("index", "family") else f"{k}:{v}" for k, v in self.terms)

    def select(self, tracks: Sequence[Any]) -> list[int]:
        """Indices of the chosen tracks (objects with .program, .is_drum and .name, e.g. symusic tracks)."""
        out = []
        for i, t in enumerate(tracks):
            picked = not t.is_drum if not self.terms else any(self._match(k, v, i, t) for k, v in self.terms)
            if picked:
                out.append(i)
        return out

    @staticmethod
    def _match(kind: str, value: Any, i: int, t: Any) -> bool:
        if kind == "index":
            return i == value
        if t.is_drum:
            return False
        if kind == "family":
            return GM_FAMILIES[int(t.program) // 8] == value
        if kind == "program":
            return int(t.program) == value
        return value in str(t.name).lower()


def parse_tracks(spec: str | TrackSelector | Sequence[int] | None) -> TrackSelector:
    """A TrackSelector from a user spec: None/'all' (all non-drum tracks), '0,2', 'piano', 'program:40',
    'name:violin', or several joined by commas ('piano,strings'); UserError when malformed."""
    if spec is None or isinstance(spec, TrackSelector):
        return spec or TrackSelector()
    if not isinstance(spec, str):
        try:
            return TrackSelector(tuple(("index", _index(str(i), spec)) for i in spec))
        except TypeError:
            raise UserError(f"bad track selection {spec!r}: {_TRACKS_HELP}") from None
    text = spec.strip()
    if not text:
        raise UserError(f"empty track selection: {_TRACKS_HELP}")
    if text.lower() in ("all", "default"):
        return TrackSelector()
    terms: list[tuple[str, Any]] = []
    for raw in text.split(","):
        term = raw.strip()
        low = term.lower()
        if not term:
            raise UserError(f"bad track selection {spec!r}: empty item between commas; {_TRACKS_HELP}")
        if low.startswith("program:"):
            value = low[len("program:"):].strip()
            if not value.isdigit() or not 0 <= int(value) <= 127:
                raise UserError(f"bad track selection {spec!r}: program must be a number from 0 to 127, got {value!r}")
            terms.append(("program", int(value)))
        elif low.startswith("name:"):
            value = low[len("name:"):].strip()
            if not value:
                raise UserError(f"bad track selection {spec!r}: 'name:' needs some text, e.g. name:violin")
            terms.append(("name", value))
        elif low.lstrip("+-").isdigit():
            terms.append(("index", _index(term, spec)))
        elif _FAMILY_ALIASES.get(low, low) in GM_FAMILIES:
            terms.append(("family", _FAMILY_ALIASES.get(low, low)))
        else:
            raise UserError(f"bad track selection {spec!r}: {term!r} is not a track index, GM family, "
                            f"program:N or name:TEXT; {_TRACKS_HELP}")
    return TrackSelector(tuple(dict.fromkeys(terms)))


def _index(term: str, spec: Any) -> int:
    try:
        i = int(term)
    except ValueError:
        raise UserError(f"bad track selection {spec!r}: {term!r} is not a track index") from None
    if i < 0:
        raise UserError(f"bad track selection {spec!r}: track indices start at 0, got {i}")
    return i
