"""Sampling four-part chorales: the `satb` encoding's guard, the hooks the one sampler (`sampler.sample_ids`) calls.

    guard = enc.constraint({"time_signature": (3, 4), "min_bars": 8})

What it allows at each token (the model still chooses every note among what is allowed):

* the grammar: the metre first (forced when the controls give one), then the bar positions in order (forced; the
  model draws only the first, its pickup), four voice tokens per step, soprano first, a fermata mark only first;
* each voice inside its range (`ranges`; default the training voices' 0.5-99.5th percentiles,
  `fit_stats["voice_ranges"]`), never above the voice over it, a held note only where that voice sang it the step
  before; the soprano always sings (`top_sings`, default on: a chorale does not stop between its phrases, and its
  tune has no gaps); without it, silence lasts at most `max_silence` quarters (default: any length), then the top
  voice sings (a model that has fallen silent tends to stay so);
* voice leading (`voice_leading`, default on): no two voices a fifth or an octave (or unison) apart moving in the
  same direction to the same interval, from one step to the next, nor from one beat to the next (the parallels a
  listener hears across a passing note, and those `evaluation.voices` counts);
* no copying (`no_copies`, default on, when the encoding was fitted with `copy_bars`): the bass never completes a
  passage of `copy_bars` bars of 4/4 and an eighth (all four voices, struck and held, in any key) that a training
  chorale has (`voicing.window_hash` of `voicing.step_row`s, stored with the model);
* the end (`cadence_ending`, default on) only at a bar line (or where the pickup's bar closes), on a step under a
  fermata, on a cadence: the bass on the tonic of the key the chorale has been in (estimated from every note sung
  so far, `keys.key_of_histogram`), reached from a chord whose root is a fifth or a fourth above it (V-I, IV-I;
  `evaluation.voices.chord_root`), after at least `min_bars` bars; the first such cadence ends the chorale. A
  chorale that finds none by twice `min_bars` ends at its first fermata over the tonic in the bass, and past 2.5
  times at its first bar ending on the tonic (or at the request's `max_length`). Without `cadence_ending` the
  model chooses where to end among the fermatas at a bar line after `min_bars` bars.
* a preference (`bias`, `cadence_bias` nats, default `CADENCE_BIAS`; 0 turns it off): at the first step under a
  fermata, the bass toward the roots a fourth and a fifth above the root of the beat before (the tonic of a V-I or
  IV-I), the upper voices toward those roots' triads; phrase ends on V-I or IV-I went from 73% to 84%
  (bench/chorale_quality).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..evaluation.voices import chord_root
from ..keys import key_of_histogram
from ..voicing import REST, VOICES, step_row, window_hash
from .satb_tokens import FERMATA, metre_token, parse_voice

CONTROLS = ("time_signature", "ranges", "min_bars", "voice_leading", "cadence_ending", "no_copies", "top_sings",
            "max_silence", "cadence_bias", "onset_bias")
CADENCE_BIAS = 3.5  # nats: the preference for a cadence's chord where a fermata begins (bench/chorale_quality)
PERFECT = (0, 7)  # interval classes of a unison/octave and of a fifth


class SatbGuard:
    """Per-piece sampling state (see the module's notes): `forced()`, `allowed()`, `advance(token)`."""

    def __init__(self, enc, *, time_signature: Sequence[int] | None = None,
                 ranges: Sequence[Sequence[int]] | None = None, min_bars: float = 0.0,
                 voice_leading: bool = True, cadence_ending: bool = True, no_copies: bool = True,
                 top_sings: bool = True, max_silence: float | None = None, cadence_bias: float = CADENCE_BIAS,
                 onset_bias: float = 0.0):
        self.enc, self.min_bars, self.steps, self.top_sings = enc, float(min_bars), 0, top_sings
        self.max_silence = None if max_silence is None else max(1, round(float(max_silence) * enc.grid))
        self.silent_run = 0  # finished steps in a row where every voice was silent
        self.cadence_bias, self.fermata_before = float(cadence_bias), False
        self.voice_leading, self.cadence_ending = voice_leading, cadence_ending
        vocab = enc.vocab
        parsed = [parse_voice(t) for t in vocab]
        self.metres = np.array([t.startswith("M") and "/" in t for t in vocab])
        self.positions = {int(t[1:]): i for i, t in enumerate(vocab) if t.startswith("@") and t[1:].isdigit()}
        ranges = ranges or enc.fit_stats.get("voice_ranges") or [[0, 127]] * VOICES
        self.pitch = np.array([p[0] if p else -2 for p in parsed])
        self.held = np.array([bool(p and p[1]) for p in parsed])
        self.rest = np.array([p is not None and p[0] == REST for p in parsed])
        struck = (self.pitch >= 0) & ~self.held
        self.onsets = np.where(struck, float(onset_bias), 0.0) if onset_bias else None  # `bias`, every step
        self.in_range = [(self.pitch >= lo) & (self.pitch <= hi) for lo, hi in ranges]
        self.metre_id = enc.token_id(metre_token(time_signature)) if time_signature else None
        self.fermata = enc.token_id(FERMATA)
        self.bar, self.beat, self.start_pos, self.pos = 8, 2, None, None
        self.voice = VOICES          # voices given in the current step (VOICES: between steps)
        self.now = [REST] * VOICES   # pitches of the current step so far
        self.history: list[list[int]] = []  # every finished step's four pitches
        self.weights = np.zeros(12)  # how long each pitch class has sounded (steps x voices)
        self.metre_done, self.fermata_now = False, False
        self.struck_now = [False] * VOICES
        self.rows: list[tuple[int, ...]] = []  # every finished step as `voicing.step_row`
        empty = np.zeros(0, "<u8")
        self.windows = enc.copy_windows() if no_copies and hasattr(enc, "copy_windows") else empty
        self.prefixes = enc.copy_windows("copy_prefixes") if len(self.windows) else empty

    # -- where the piece is --------------------------------------------------------------------------------
    def _next_pos(self) -> int:
        return (self.pos + 1) % self.bar

    def _cadence(self) -> bool:
        """The last chord has the tonic in the bass and arrived from its dominant or subdominant (V-I, IV-I): the
        chord sounding in the beat before the bass reached the tonic has its root a fifth or a fourth above it."""
        tonic = self._tonic_bass()
        if tonic is None:
            return False
        bass = min(p for p in self.history[-1] if p != REST)
        arrival = len(self.history) - 1
        while arrival > 0 and min((p for p in self.history[arrival - 1] if p != REST), default=None) == bass:
            arrival -= 1
        before = self.history[max(0, arrival - self.beat):arrival]
        root = _root_of(before)
        return root is not None and (root - tonic) % 12 in (5, 7)

    def _may_end(self) -> bool:
        """At a bar line (or where the pickup's bar closes), after `min_bars` bars, under a fermata, on a cadence;
        past twice `min_bars` a fermata over the tonic in the bass will do, past 2.5 times any tonic bass."""
        if self.pos is None or self._next_pos() not in (0, self.start_pos):
            return False
        late = self.steps / max(1.0, self.min_bars * self.bar)
        if late < 1:
            return False
        if not self.cadence_ending:
            return self.fermata_now or self.fermata is None
        if late >= 2.5:
            return self._tonic_bass() is not None
        if not (self.fermata_now or self.fermata is None):
            return False
        return self._tonic_bass() is not None if late >= 2 else self._cadence()

    def _tonic_bass(self) -> int | None:
        """The tonic (pitch class) of the key sung so far when the last step has it in the bass, else None."""
        sung = [p for p in self.history[-1] if p != REST] if self.history else []
        if not sung or not self.weights.any():
            return None
        tonic = key_of_histogram(self.weights).key.tonic
        return tonic if min(sung) % 12 == tonic else None

    def _references(self) -> list[list[int]]:
        """The steps the current one must not move to in parallels from: the step before, and the last beat."""
        refs = self.history[-1:]
        if self.pos is not None and self.pos % self.beat == 0 and len(self.history) >= self.beat:
            refs.append(self.history[-self.beat])
        return refs

    # -- the hooks -----------------------------------------------------------------------------------------
    def forced(self) -> int | None:
        if not self.metre_done:
            return self.metre_id
        if self.voice == VOICES and self.pos is not None:
            may_end = self._may_end()
            if self.cadence_ending and may_end:
                return self.enc.eos_id  # the first cadence after min_bars ends the chorale
            if not may_end:
                return self.positions.get(self._next_pos())
        return None

    def allowed(self) -> np.ndarray:
        mask = np.zeros(len(self.enc.vocab), dtype=bool)
        if not self.metre_done:
            return mask | self.metres
        if self.voice == VOICES:  # a new step (first: any position in the bar; at a bar's end also the end)
            if self.pos is None:
                for k, i in self.positions.items():
                    mask[i] = k < self.bar
            else:
                nxt = self.positions.get(self._next_pos())
                if nxt is not None:
                    mask[nxt] = True
                mask[self.enc.eos_id] = True
            return mask
        v = self.voice
        if v == 0 and self.fermata is not None and not self.fermata_now:
            mask[self.fermata] = True
        above = next((p for p in reversed(self.now[:v]) if p != REST), 127)
        struck = self.in_range[v] & ~self.held & (self.pitch <= above)
        if self.voice_leading:
            struck &= ~self._parallels(v)
        last = self.history[-1][v] if self.history else REST
        must_sing = self.top_sings or (self.max_silence is not None and self.silent_run >= self.max_silence)
        mask |= struck | (self.rest if v > 0 or not must_sing else False)  # top_sings: no silent step
        if last != REST and last <= above:
            mask |= self.held & (self.pitch == last)
        if v == VOICES - 1 and len(self.windows) and len(self.rows) >= self.enc.copy_steps - 1:
            mask &= ~self._copying(mask)
        return mask

    def bias(self) -> np.ndarray | None:
        """The guard's preferences for a voice token (None: none), added to the model's logits; the model still
        chooses. `onset_bias` nats toward every struck pitch (the keyboard's); and where a fermata begins (a
        phrase's last chord), `cadence_bias` nats toward a cadence: the chord of the beat before has root r, so the
        bass is drawn toward r + 5 or r + 7 (the tonic of V-I or IV-I) and the upper voices toward the tones of a
        triad on them."""
        if self.voice >= VOICES or not self.metre_done:
            return None
        if not self.cadence_bias or not self.fermata_now or self.fermata_before:
            return self.onsets
        before = self.history[-self.beat:]
        root = _root_of(before)
        if root is None:
            return self.onsets
        targets = [(root + 5) % 12, (root + 7) % 12]
        pcs = set(targets) if self.voice == VOICES - 1 else {(t + i) % 12 for t in targets for i in (0, 3, 4, 7)}
        good = np.isin(self.pitch % 12, list(pcs)) & (self.pitch >= 0)
        return np.where(good, self.cadence_bias, 0.0) + (0.0 if self.onsets is None else self.onsets)

    def _copying(self, mask: np.ndarray) -> np.ndarray:
        """The bass tokens that would complete a passage of a training chorale (`copy_steps` steps, any key)."""
        bad = np.zeros(len(mask), dtype=bool)
        recent = self.rows[-(self.enc.copy_steps - 1):]
        if not _contains(self.prefixes, window_hash(recent)):  # no training passage starts like the last steps
            return bad
        for i in np.flatnonzero(mask):
            row = step_row(self.now[:VOICES - 1] + [int(self.pitch[i])], self.struck_now[:VOICES - 1]
                           + [not self.held[i] and not self.rest[i]])
            bad[i] = _contains(self.windows, window_hash([*recent, row]))
        return bad

    def _parallels(self, v: int) -> np.ndarray:
        """Candidate pitches of voice v moving in parallel fifths or octaves with a voice above it."""
        bad = np.zeros(len(self.pitch), dtype=bool)
        for ref in self._references():
            b = ref[v]
            if b == REST:
                continue
            for u in range(v):
                a, a1 = ref[u], self.now[u]
                if a == REST or a1 in (REST, a) or (a - b) % 12 not in PERFECT:
                    continue
                same_class = (a1 - self.pitch) % 12 == (a - b) % 12
                same_way = np.sign(self.pitch - b) == np.sign(a1 - a)
                bad |= same_class & same_way & (self.pitch != b)
        return bad

    def advance(self, token: str) -> None:
        if not self.metre_done:
            self.metre_done = True
            if token.startswith("M"):
                try:
                    num, den = (int(x) for x in token[1:].split("/"))
                    self.bar = self.enc.bar_steps((num, den))
                    self.beat = max(1, round(self.enc.grid * 4 / den))
                except ValueError:
                    pass
                return
        if token.startswith("@") and token[1:].isdigit():
            self.pos = int(token[1:]) % self.bar
            self.start_pos = self.pos if self.start_pos is None else self.start_pos
            self.fermata_before = self.fermata_now
            self.voice, self.now, self.fermata_now = 0, [REST] * VOICES, False
            self.struck_now = [False] * VOICES
            self.steps += 1
        elif token == FERMATA:
            self.fermata_now = True
        elif self.voice < VOICES and (parsed := parse_voice(token)) is not None:
            self.now[self.voice] = parsed[0]
            self.struck_now[self.voice] = parsed[0] != REST and not parsed[1]
            self.voice += 1
            if self.voice == VOICES:
                self.history.append(list(self.now))
                self.silent_run = self.silent_run + 1 if all(p == REST for p in self.now) else 0
                self.rows.append(step_row(self.now, self.struck_now))
                for p in self.now:
                    if p != REST:
                        self.weights[p % 12] += 1


def _root_of(steps: list[list[int]]) -> int | None:
    """The root (`chord_root`) of what the steps sound, each pitch class weighed by its steps, the last step's
    lowest note as the bass."""
    weights = np.zeros(12)
    for step in steps:
        for p in step:
            if p != REST:
                weights[p % 12] += 1
    basses = [p for p in steps[-1] if p != REST] if steps else []
    return chord_root(weights, min(basses) if basses else None)


def _contains(sorted_hashes: np.ndarray, h: int) -> bool:
    if not len(sorted_hashes):
        return False
    h = np.uint64(h)
    j = int(np.searchsorted(sorted_hashes, h))
    return j < len(sorted_hashes) and sorted_hashes[j] == h
