"""`lead`: a melody over chords, for chord-conditioned models (the deepjazz / improv_rnn system).

A lead sheet (`corpus.leadsheets`: a monophonic melody Piece with its chords in ``meta["chords"]``, moved to
C major / A minor by the dataset) becomes one token per melody event plus a token per chord change:

===============  ==============================================================================
token            meaning
===============  ==============================================================================
``E4:1/2``       the melody plays E4 for an eighth note (time moves on by its duration)
``R:1``          a quarter-note rest
``@Dm7``         from here on the chord is Dm7 (no time passes); ``@N.C.`` = no chord
===============  ==============================================================================

Times are quantized to `grid` steps per quarter (default 12: sixteenths and triplets); a note longer than
`max_duration` quarters (default 8) is cut to it and the rest of its length becomes a rest. A chord change that
falls inside a rest splits the rest; one that falls inside a note is written after the note.

**Conditioning.** `encode` returns a (T, 3) int64 array: the token id, then what the recurrent core is told
alongside that token about the moment *after* it: the chord sounding (`chord_id`: 0 = not given, 1 = no
chord, 2 + 14 x root + quality; the root is the pitch class in the C major / A minor frame, that is, counted
from the key's tonic, so the same progression in any key gives the same ids) and the position in the bar
(1 + grid steps since the bar line). `LeadState` computes both incrementally from the tokens, so training
(`encode`) and generation (`encodings.lead_guard`, through the one sampler) use one definition. `decode` accepts
token ids or such
an array (only the first column is read) and returns the melody Piece with its chords in ``meta``.

**Chords withheld.** The dataset adds every fifth training piece a second time without its chords
(`withheld_copies`: no chord tokens, chord id 0 at every step), so the same model can also play a melody
alone, and "the same model with chords withheld" is a baseline it was trained for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np

from ..piece import PITCH, Piece
from ..progressions import ChordSpan, spans_from_text, spans_to_text
from .base import Encoding, grid_steps, snap
from .lead_tokens import CHORD, REST, LeadState, chord_token, parse_lead_token
from .notes import _fraction_str, pitch_name

WITHHELD_EVERY = 5  # training: one piece in five is also seen with its chords withheld


class Lead(Encoding):
    name = "lead"
    kind = "lead"
    piece_format = "midi"
    defaults = {"grid": 12, "max_duration": 8}
    needs_chords = True  # the corpus is read as lead sheets (corpus.leadsheets)
    normalizes_key = True  # pieces are moved to C major / A minor before encoding
    # a little cooler than other models; the guard prefers chord tones on strong beats and draws its own chords at
    # 1.4 (bench/lead_quality, 16 pieces a progression: 80-85% strong-beat chord tones at 0.8 against the data's
    # 75%; at 0.6 without the guard's preference 72-77%; root motions without --chords overlap the data's 0.83)
    generation_defaults = {"temperature": 0.8}

    def __init__(self, *args: Any, **options: Any):
        super().__init__(*args, **options)
        grid = grid_steps(self.options["grid"])
        self.options["grid"] = grid
        self._max_steps = int(round(float(self.options["max_duration"]) * grid))
        if self._max_steps < 1:
            raise ValueError("max_duration must be at least one grid step")

    @property
    def grid(self) -> int:
        return self.options["grid"]

    def bar_steps(self, time_signature: Sequence[int] | None = None) -> int:
        num, den = time_signature or self.piece_defaults.get("time_signature", (4, 4))
        return max(1, int(round(num * 4 / den * self.grid)))

    def _dur(self, steps: int) -> str:
        return _fraction_str(Fraction(steps, self.grid))

    def _rests(self, steps: int) -> list[str]:
        out = []
        while steps > 0:
            d = min(steps, self._max_steps)
            out.append(f"{REST}:{self._dur(d)}")
            steps -= d
        return out

    def penalized(self, token: str) -> bool:
        return not token.startswith((CHORD, REST)) and super().penalized(token)

    # -- piece -> tokens -------------------------------------------------------------------------------
    def tokenize(self, piece: Piece) -> list[str]:
        g = self.grid
        n = piece.notes
        spans = spans_from_text(piece.meta.get("chords", ""))
        changes = [(int(round(s.start * g)), s.chord) for s in spans]
        if not len(n) and not changes:
            return []
        on, off = snap(n, g) if len(n) else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        order = np.lexsort((-n[:, PITCH], on)) if len(n) else np.zeros(0, np.int64)
        tokens: list[str] = []
        t, current, ci = 0, object(), 0

        def chords_until(limit: int) -> None:  # chord changes at or before `limit`, rests split at them
            nonlocal t, current, ci
            while ci < len(changes) and changes[ci][0] <= limit:
                at, chord = changes[ci]
                ci += 1
                if at > t:
                    tokens.extend(self._rests(at - t))
                    t = at
                if chord != current:
                    tokens.append(chord_token(chord))
                    current = chord

        onsets = np.unique(on)
        last_on = -1
        for i in order.tolist():
            start = int(on[i])
            if start == last_on or start < t:  # one note per onset (the highest); overlaps are cut
                continue
            chords_until(start)
            if start > t:
                tokens.extend(self._rests(start - t))
                t = start
            k = int(np.searchsorted(onsets, start, side="right"))
            end = min(int(off[i]), int(onsets[k])) if k < len(onsets) else int(off[i])
            steps = max(1, min(end - start, self._max_steps))
            tokens.append(f"{pitch_name(int(n[i, PITCH]))}:{self._dur(steps)}")
            t, last_on = start + steps, start
        chords_until(t)
        return tokens

    def encode(
        self, piece: Piece, *, bos: bool = True, eos: bool = True, chords_given: bool | None = None
    ) -> np.ndarray:
        """(T, 3) int64: token id, chord id and bar position after that token (see the module doc). A piece
        without ``meta["chords"]`` is a melody with its chords withheld: chord id 0 throughout."""
        if chords_given is None:
            chords_given = "chords" in piece.meta
        if not self.vocab:
            raise RuntimeError("encoding 'lead' has no vocabulary: call fit() first")
        unk = self.unk_id
        toks = self.tokenize(piece)
        state = LeadState(self.grid, self.bar_steps(piece.time_signature), chords_given)
        rows = []
        if bos:
            rows.append((self.bos_id, *state.condition()))
        for tok in toks:
            state.advance(parse_lead_token(tok, self.grid))
            rows.append((self._index.get(tok, unk), *state.condition()))
        if eos:
            rows.append((self.eos_id, *state.condition()))
        return np.asarray(rows, dtype=np.int64).reshape(-1, 3)

    def fit(self, pieces) -> Lead:
        from ..evaluation.chord_fit import chord_tone_share

        pieces = list(pieces)
        super().fit(pieces)
        hits = total = 0
        for p in pieces:
            h, n = chord_tone_share(p.notes, spans_from_text(p.meta.get("chords", "")), p.time_signature)
            hits, total = hits + h, total + n
        self.fit_stats["strong_beat_chord_tones"] = round(hits / total, 4) if total else None
        self.fit_stats["strong_beat_notes"] = total
        return self

    def withheld_copies(self, pieces: Sequence[Piece], every: int = WITHHELD_EVERY) -> list[Piece]:
        """Every `every`-th training piece again without its chords, so that the model also learns melody alone
        (what "chords withheld" means at generation: chord id 0, no chord tokens)."""
        out = []
        for p in list(pieces)[::every]:
            meta = {k: v for k, v in p.meta.items() if k != "chords"}
            out.append(replace(p, source=p.source + " (chords withheld)", meta=meta))
        return out

    # -- generation ----------------------------------------------------------------------------------------
    def constraint(self, controls: dict[str, Any] | None = None):
        """The sampling guard (`lead_guard.LeadGuard`): chord changes forced, melody masks, conditioning, the end."""
        from .lead_guard import LeadGuard, lead_controls

        return LeadGuard(self, **lead_controls(controls))

    def cut(self, piece: Piece, controls: dict[str, Any] | None = None) -> Piece:
        """A sampled piece in the controls' metre, cut where the guard ended it (the last note shortened)."""
        from .lead_guard import DEFAULT_BARS

        c = controls or {}
        ts = tuple(c.get("time_signature") or self.piece_defaults.get("time_signature", (4, 4)))
        bars = c["total"] / self.bar_steps(ts) if c.get("total") else DEFAULT_BARS
        return replace(piece, time_signature=ts).head(bars)

    # -- tokens -> piece -------------------------------------------------------------------------------
    def decode(self, ids) -> Piece:
        """The piece of token ids or of a (T, 3) array as `encode` writes it (its first column)."""
        a = np.asarray(ids)
        return super().decode(a[:, 0] if a.ndim == 2 else a.reshape(-1))

    def detokenize(self, tokens: Sequence[str]) -> Piece:
        g = self.grid
        t, notes = 0, []
        spans: list[ChordSpan] = []
        for tok in tokens:
            parsed = parse_lead_token(tok, g)
            if parsed is None:
                continue
            kind, value = parsed
            if kind == "chord":
                spans.append(ChordSpan(t / g, -1.0, value))
            elif kind == "note":
                pitch, steps = value
                notes.append((t / g, steps / g, pitch, 80))
                t += steps
            else:
                t += value
        end = t / g
        closed = []
        for i, s in enumerate(spans):
            stop = spans[i + 1].start if i + 1 < len(spans) else end
            if stop > s.start:
                closed.append(ChordSpan(s.start, stop, s.chord))
        d = self.piece_defaults
        meta = {"chords": spans_to_text(closed)} if closed else {}
        return Piece(
            np.asarray(notes, dtype=np.float64).reshape(-1, 4),
            tempo=float(d.get("tempo", 120.0)),
            time_signature=tuple(d.get("time_signature", (4, 4))),
            program=int(d.get("program", 0)),
            meta=meta,
        )
