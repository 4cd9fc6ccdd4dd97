"""`events`: a performance (event) encoding through miditok: MIDI-Like by default, REMI as an option.

The piece goes to a symusic Score (`Piece.to_score`), miditok turns it into token strings, and those strings
are this encoding's tokens (its own vocabulary, fitted by the base class, is built over them); decoding runs
miditok's ``decode`` and reads the Score back with `rnnmusic.piece.piece_from_score`.

Schemes (option `scheme`):

* ``"midilike"`` (default; Oore et al. 2018, "This time with feeling"): ``NoteOn_60`` ``Velocity_79``
  ... ``TimeShift_0.2.4`` ... ``NoteOff_60``. Durations are implied by NoteOff, time moves only with
  TimeShift tokens (``beat.position.resolution``: ``0.2.4`` = 2/4 of a quarter = an eighth).
* ``"remi"`` (Huang & Yang 2020): ``Bar_None`` ``Position_8`` ``Pitch_60`` ``Velocity_79``
  ``Duration_1.0.4``: bars (4/4: time signatures are not used), the position in the bar, and an explicit
  duration per note.

The miditok configuration is built only from our options, so the same options always give the same
tokenizer (nothing is downloaded or read from disk):

* ``beat_res``: `grid` steps per quarter (default 4 = sixteenths; 12 adds triplets) up to 4 quarters, then
  half as fine (when `grid` is even) up to 12 quarters: the time and duration tokens;
* ``num_velocities`` (default 16) velocity bins; ``pitch_range`` the whole MIDI range 0..127 (miditok's
  default would drop notes outside the piano);
* no tempo, time-signature, program, chord, rest, pedal or pitch-bend tokens (`Piece` is one instrument;
  the corpus' tempo, time signature and program are remembered in `piece_defaults` and put back on
  decoded pieces).

Quantization is done here, before miditok sees the piece, by the rule every rnnmusic grid encoding uses
(`notes`, `pianoroll`): onset and end rounded to the nearest grid step, at least one step long; one note
per (onset, pitch), the longest. So the round trip keeps pitches exactly, onsets within half a grid step and
durations within one step, and is exact for a piece already on the grid; velocities come back as their
bin's value. MIDI-Like time shifts are exact at any length (a long gap is several TimeShift tokens), but it
cannot tell two overlapping notes of the same pitch apart (a NoteOff closes the oldest): such a note is
ended where the next one of its pitch starts (`quantized`), so what is decoded is what was tokenized. REMI
keeps such overlaps, but its durations longer than 4 quarters are rounded to the coarser grid and capped
at 12 quarters. Leading silence is kept (unlike `notes`).

`detokenize` never raises: tokens miditok does not know are dropped first, NoteOn tokens still open at the
end are closed one beat after the last event (miditok would otherwise drop them), and if miditok still fails
on a malformed sequence the result is the notes that could be decoded (possibly an empty Piece).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np

from ..piece import DUR, PITCH, START, VEL, Piece, piece_from_score
from .base import Encoding, grid_steps, snap

__all__ = ["Events", "SCHEMES", "tokenizer_config"]

SCHEMES = ("midilike", "remi")


def beat_res(grid: int) -> dict[tuple[int, int], int]:
    """`grid` positions per quarter up to 4 quarters, then half as many (when `grid` is even) up to 12."""
    coarse = grid // 2 if grid % 2 == 0 else grid
    return {(0, 4): grid, (4, 12): coarse}


def tokenizer_config(grid: int, num_velocities: int):
    """The miditok TokenizerConfig for our options (deterministic, no file or network access)."""
    import miditok

    return miditok.TokenizerConfig(
        pitch_range=(0, 127),
        beat_res=beat_res(grid),
        num_velocities=num_velocities,
        special_tokens=["PAD"],
        use_velocities=True,
        use_chords=False,
        use_rests=False,
        use_tempos=False,
        use_time_signatures=False,
        use_sustain_pedals=False,
        use_pitch_bends=False,
        use_control_changes=False,
        use_programs=False,
        programs=[0],  # one instrument; miditok's decoder otherwise sets up state for all 129 programs
        use_note_duration_programs=[0],
        use_pitch_intervals=False,
        remove_duplicated_notes=True,
    )


@lru_cache(maxsize=16)
def _tokenizer(scheme: str, grid: int, num_velocities: int):
    import miditok

    cls = {"midilike": miditok.MIDILike, "remi": miditok.REMI}[scheme]
    return cls(tokenizer_config(grid, num_velocities))


class Events(Encoding):
    name = "events"
    kind = "tokens"
    piece_format = "midi"
    defaults = {"scheme": "midilike", "grid": 4, "num_velocities": 16}

    def __init__(self, *args: Any, **options: Any):
        super().__init__(*args, **options)
        scheme = str(self.options["scheme"]).lower().replace("-", "").replace("_", "")
        if scheme not in SCHEMES:
            raise ValueError(f"events scheme must be one of {', '.join(SCHEMES)}, got {self.options['scheme']!r}")
        grid, nvel = grid_steps(self.options["grid"]), int(self.options["num_velocities"])
        if not 1 <= nvel <= 127:
            raise ValueError(f"num_velocities must be 1..127, got {nvel}")
        self.options.update(scheme=scheme, grid=grid, num_velocities=nvel)

    @property
    def grid(self) -> int:
        return self.options["grid"]

    @property
    def tokenizer(self):
        """The miditok tokenizer (built once per option set and process)."""
        return _tokenizer(self.options["scheme"], self.grid, self.options["num_velocities"])

    def penalized(self, token: str) -> bool:
        """The repetition penalty applies to the notes struck (NoteOn/Pitch), not to time or velocity."""
        return token.startswith(("NoteOn_", "Pitch_"))

    # -- piece -> tokens -----------------------------------------------------------------------------
    def quantized(self, piece: Piece) -> Piece:
        """The piece on this encoding's grid, as tokenized: onsets and ends rounded to the nearest step (at
        least one step long); with MIDI-Like, a note ends where the next note of the same pitch starts."""
        n = piece.notes
        g = self.grid
        on, off = snap(n, g)
        q = np.stack([on, off, n[:, PITCH], n[:, VEL]], axis=1)
        q = q[np.lexsort((-q[:, 1], q[:, 0], q[:, 2]))]          # by pitch, onset, longest first
        same = np.zeros(len(q), dtype=bool)
        same[1:] = (q[1:, 2] == q[:-1, 2]) & (q[1:, 0] == q[:-1, 0])
        q = q[~same]                                             # one note per (onset, pitch): the longest
        if self.options["scheme"] == "midilike" and len(q) > 1:
            nxt_same = np.zeros(len(q), dtype=bool)
            nxt_same[:-1] = q[1:, 2] == q[:-1, 2]
            idx = np.flatnonzero(nxt_same)
            q[idx, 1] = np.minimum(q[idx, 1], q[idx + 1, 0])
        notes = np.stack([q[:, 0] / g, (q[:, 1] - q[:, 0]) / g, q[:, 2], q[:, 3]], axis=1)
        return replace(piece, notes=notes)

    def tokenize(self, piece: Piece) -> list[str]:
        if not len(piece.notes):
            return []
        seqs = self.tokenizer.encode(self.quantized(piece).to_score(tempo=120.0, program=0))
        if not isinstance(seqs, list):
            seqs = [seqs]
        return [t for seq in seqs for t in seq.tokens]

    # -- tokens -> piece -----------------------------------------------------------------------------
    def _prepare(self, tokens: Sequence[str]) -> list[str]:
        """Drop what miditok does not know; close MIDI-Like notes still open at the end."""
        known = self.tokenizer.vocab
        toks = [t for t in tokens if isinstance(t, str) and t in known and "_" in t and not t.startswith("PAD")]
        if self.options["scheme"] == "midilike":
            open_: dict[str, int] = {}
            for t in toks:
                kind, _, value = t.partition("_")
                if kind == "NoteOn":
                    open_[value] = open_.get(value, 0) + 1
                elif kind == "NoteOff" and open_.get(value, 0) > 0:
                    open_[value] -= 1
            closing = [f"NoteOff_{v}" for v, n in open_.items() for _ in range(n)]
            if closing:
                if toks[-1].startswith("NoteOn_"):  # a NoteOn needs its Velocity after it
                    toks.append(self._velocity_token())
                toks.append(f"TimeShift_1.0.{self.grid}")
                toks.extend(closing)
        return toks

    def _velocity_token(self) -> str:
        vels = [t for t in self.tokenizer.vocab if t.startswith("Velocity_")]
        return min(vels, key=lambda t: abs(int(t.split("_")[1]) - 80))

    def detokenize(self, tokens: Sequence[str]) -> Piece:
        d = self.piece_defaults
        notes = np.zeros((0, 4))
        toks = self._prepare(tokens)
        if toks:
            try:
                from miditok import TokSequence

                score = self.tokenizer.decode([TokSequence(tokens=toks)])
                notes = piece_from_score(score).notes
            except Exception:  # noqa: BLE001 - a malformed sequence decodes to what can be decoded
                notes = self._decode_prefix(toks)
        if len(notes):
            notes = notes.copy()
            g = self.grid  # miditok decodes on the grid (ticks per quarter = grid): snap away float32 error
            notes[:, START] = np.rint(notes[:, START] * g) / g
            notes[:, DUR] = np.maximum(np.rint(notes[:, DUR] * g), 1) / g  # NoteOn + NoteOff at one tick: 1 step
            notes[:, VEL] = np.clip(notes[:, VEL], 1, 127)
            notes = notes[(notes[:, PITCH] >= 0) & (notes[:, PITCH] <= 127)]
        return Piece(notes, tempo=float(d.get("tempo", 120.0)), time_signature=tuple(d.get("time_signature", (4, 4))),
                     program=int(d.get("program", 0)), source="generated")

    def _decode_prefix(self, toks: list[str]) -> np.ndarray:
        """The notes of the longest prefix miditok decodes (halving search; empty if none)."""
        from miditok import TokSequence

        lo, hi, best = 0, len(toks) - 1, np.zeros((0, 4))
        while lo <= hi:
            mid = (lo + hi) // 2
            try:
                score = self.tokenizer.decode([TokSequence(tokens=toks[:mid + 1])])
                best = piece_from_score(score).notes
                lo = mid + 1
            except Exception:  # noqa: BLE001
                hi = mid - 1
        return best

    def fit(self, pieces) -> Events:
        pieces = list(pieces)
        super().fit(pieces)
        counts = getattr(self, "token_counts", {})
        kinds: dict[str, int] = {}
        for tok, n in counts.items():
            kinds[tok.split("_")[0]] = kinds.get(tok.split("_")[0], 0) + n
        total = max(1, sum(kinds.values()))
        self.fit_stats |= {"miditok_vocab": len(self.tokenizer.vocab),
                           "token_types": {k: round(v / total, 4) for k, v in sorted(kinds.items())}}
        return self
