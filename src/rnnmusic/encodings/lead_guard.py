"""Sampling a melody over chords: the `lead` encoding's guard, the hooks the one sampler (`sampler.sample_ids`) calls.

    controls = {"total": 192, "time_signature": (4, 4), "changes": [(0, Chord(2, "m7")), (24, Chord(7, "7"))]}
    guard = enc.constraint(controls)

Three ways to run a model trained on lead sheets, chosen by the controls:

* chords given (`changes`: (grid step, Chord | None) in the C major / A minor frame): at each change the chord
  token is forced (`forced`) and from then on the model hears that chord at every step (`condition`); it only
  draws melody tokens (notes and rests);
* chords withheld (`withhold: True`): the model hears "no chord information" at every step and draws melody only;
  with the same seed as above, this measures what the chords change;
* no chords: the model draws chord tokens too (it proposes the progression) and hears the chords it drew;
  `first_chord` forces the opening chord (the tonic chord of the requested key; default C major).

With the chords given, a melody note starting on a strong beat (`evaluation.chord_fit.strong_beats`: beats 1 and 3
of 4/4) that is not a tone of the chord sounding has `chord_tone_bias` nats taken from its logit (`bias`; default
`CHORD_TONE_BIAS`, 0 turns it off): a jazz player's habit, as a preference, so passing notes and appoggiaturas on
the beat stay possible (bench/lead_quality measures both).

Without chords, the model's chord tokens are drawn at `chord_temperature` (default `CHORD_TEMPERATURE`; None: the
request's temperature), its melody at the request's: a cool melody over a progression as varied as the data's.

A piece ends when it reaches `total` grid steps (`finished`); near the end no note longer than what is left may
be drawn. Without `total` a piece runs for 16 bars of `time_signature` (default: the corpus' usual metre).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..chords import Chord
from .lead_tokens import LeadState, chord_token, parse_lead_token

DEFAULT_BARS = 16
CHORD_TONE_BIAS = 0.7  # nats off a non-chord tone's logit on a strong beat (bench/lead_quality/README.md)
CHORD_TEMPERATURE = 1.4  # the temperature the model's own chords are drawn at (bench/lead_quality/README.md)
C_MAJOR = Chord(0, "maj")  # the opening chord when the model proposes the chords and no key says otherwise
# when a progression's chord is not in the model's vocabulary, the nearest one that is (same root)
FALLBACK = {"maj7": "maj", "7": "maj", "6": "maj", "sus4": "maj", "sus2": "maj", "aug": "maj", "m7": "min",
            "m6": "min", "mmaj7": "min", "m7b5": "dim", "dim7": "dim", "dim": "min"}


def chord_token_id(enc, chord: Chord | None) -> int | None:
    """The vocabulary id of `chord`'s token, falling back to simpler qualities of the same root."""
    seen = set()
    while True:
        tid = enc.token_id(chord_token(chord))
        if tid is not None:
            return tid
        if chord is None or chord.quality in seen or chord.quality not in FALLBACK:
            return None
        seen.add(chord.quality)
        chord = Chord(chord.root, FALLBACK[chord.quality])


class _Tables:
    """Per-vocabulary arrays the guard reads at every step (computed once per encoding)."""

    def __init__(self, vocab: Sequence[str], grid: int):
        self.parsed = [parse_lead_token(t, grid) for t in vocab]
        self.melody = np.array([p is not None and p[0] != "chord" for p in self.parsed])
        self.chord = np.array([p is not None and p[0] == "chord" for p in self.parsed])
        self.pitch_class = np.array([p[1][0] % 12 if p is not None and p[0] == "note" else -1 for p in self.parsed])
        self.duration = np.array([0 if p is None or p[0] == "chord" else (p[1][1] if p[0] == "note" else p[1])
                                  for p in self.parsed])
        self.longest = int(self.duration.max()) if len(self.duration) else 0
        self.shortest = int(self.duration[self.melody].min()) if self.melody.any() else 1


def tables(enc) -> _Tables:
    if getattr(enc, "_guard_tables_for", None) is not enc.vocab:
        enc._guard_tables, enc._guard_tables_for = _Tables(enc.vocab, enc.grid), enc.vocab
    return enc._guard_tables


class LeadGuard:
    """Per-piece state of sampling a lead sheet: forced chord changes, the melody mask, the conditioning, the end."""

    def __init__(self, enc, *, total: int | None = None, time_signature: Sequence[int] | None = None,
                 changes: Sequence[tuple[int, Chord | None]] = (), withhold: bool = False,
                 first_chord: Chord | None = C_MAJOR, chord_tone_bias: float = CHORD_TONE_BIAS,
                 chord_temperature: float | None = CHORD_TEMPERATURE):
        from ..evaluation.chord_fit import strong_beats

        self.enc, self.t = enc, tables(enc)
        bar_steps = enc.bar_steps(time_signature)
        ts = time_signature or enc.piece_defaults.get("time_signature") or (4, 4)
        self.strong = {round(b * enc.grid) % bar_steps for b in strong_beats(ts)[1]}
        self.chord_tone_bias = float(chord_tone_bias) if changes and not withhold else 0.0
        drawn_chords = not (changes or withhold) and chord_temperature is not None
        self._temps = np.where(self.t.chord, float(chord_temperature), np.nan) if drawn_chords else None
        self.total = total if total is not None else DEFAULT_BARS * bar_steps
        self.state = LeadState(enc.grid, bar_steps, chords_given=not withhold)
        given = bool(changes) and not withhold
        self.changes = list(changes) if given else ([(0, first_chord)] if first_chord is not None and not withhold
                                                    else [])
        self.mask = self.t.melody | (self.t.chord if not (given or withhold) else np.zeros_like(self.t.chord))
        self._next = 0
        self._heard = False
        self._forcing: tuple[Chord | None] | None = None

    def condition(self) -> tuple[int, int]:
        """What the model is told beside the last token: (chord id, position id) of the moment after it."""
        return self.state.condition()

    def forced(self) -> int | None:
        """The token that must come next without drawing (a chord change of the progression that is due), or None.
        A chord missing from the vocabulary is fed as its nearest simpler chord, or <unk>, while the model hears
        the progression's chord."""
        pending = None
        while self._next < len(self.changes) and self.changes[self._next][0] <= self.state.time:
            chord = self.changes[self._next][1]
            self._next += 1
            if chord != self.state.chord or not self._heard:
                pending = (chord,)  # the latest change due wins
        if pending is None:
            return None
        self._forcing = pending
        tid = chord_token_id(self.enc, pending[0])
        return tid if tid is not None else self.enc.unk_id

    def allowed(self) -> np.ndarray:
        remaining = self.total - self.state.time
        if remaining > self.t.longest:
            return self.mask
        return self.mask & ((self.t.duration <= max(remaining, self.t.shortest)) | ~self.t.melody)

    def bias(self) -> np.ndarray | None:
        """On a strong beat under a given chord: `chord_tone_bias` nats off each melody note not in the chord."""
        chord = self.state.chord
        if not self.chord_tone_bias or chord is None or self.state.time % self.state.bar_steps not in self.strong:
            return None
        tones = list(chord.tones())
        off = (self.t.pitch_class >= 0) & ~np.isin(self.t.pitch_class, tones)
        return np.where(off, -self.chord_tone_bias, 0.0)

    def temperatures(self) -> np.ndarray | None:
        """Without chords: `chord_temperature` for the chord tokens, the request's (NaN) for the rest."""
        return self._temps

    def advance(self, token: str) -> None:
        if self._forcing is not None:
            self.state.chord, self._heard, self._forcing = self._forcing[0], True, None
            return
        i = self.enc.token_id(token)
        self.state.advance(self.t.parsed[i] if i is not None else None)

    def finished(self) -> bool:
        return self.state.time >= self.total


def lead_controls(controls: dict[str, Any] | None) -> dict[str, Any]:
    """The controls `LeadGuard` takes, from a request's (unknown keys are ignored)."""
    keys = ("total", "time_signature", "changes", "withhold", "first_chord", "chord_tone_bias",
            "chord_temperature")
    return {k: v for k, v in (controls or {}).items() if k in keys}
