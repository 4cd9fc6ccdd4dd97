"""`satb`: four-part chorales as voices, step by step (BachBot's encoding, Liang et al. 2017).

A piece is read as four voices by register (`rnnmusic.voicing.voice_steps`), then written, one grid step at a
time (`grid` steps per quarter; default 2 = eighths), as the step's position in the bar, a fermata mark when
the step lies under one, and what each voice sings, soprano first:

    M4/4  @6 60 55 52 48   @7 62 55~ 52~ 47   @0 F 64 55 48 45 ...
    metre position [fermata] soprano alto tenor bass

* ``M4/4``: the metre, once, first;
* ``@k``: step k of the bar (0 = the downbeat), so the model always knows where the bar lines are; the
  first position says how long the pickup is;
* ``F``: the step lies under a fermata (a phrase end), read from the score (`meta["fermatas"]`, music21's
  fermata marks on the top part);
* per voice ``60`` (note 60 struck here), ``60~`` (note 60 held from the step before) or ``r`` (silent).

The round trip is exact for a piece on the grid whose steps have at most four notes and whose parts do not cross
while a note is held (the voices are found by register): every note, its onset and duration, the metre, the
pickup and the fermatas come back. Otherwise onsets and ends are snapped to the grid, notes beyond four at a step
are dropped and a held note that changes voice is struck again (`fit_stats["notes_dropped"]` counts).

Sampling is guarded (`encodings.satb_guard`): the grammar, the voices' ranges and order, voice leading without
parallel fifths and octaves, and an end on the tonic under a fermata.
`detokenize` never raises: tokens out of place are skipped, missing voices are silent.
"""
from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..piece import DUR, PITCH, START, Piece, bar_quarters, parse_meter
from ..voicing import CENTRES, REST, VOICES, step_rows, voice_steps, window_hashes
from .base import Encoding, grid_steps
from .satb_tokens import FERMATA, HOLD, SILENT, metre_token, parse_voice

__all__ = ["Satb", "metre_token", "parse_voice"]

VELOCITY = 80
MIN_BARS = 12.0   # a generated chorale ends at its first cadence after this many bars (`--min-bars`)
CHOIR_ORGAN = 19  # General MIDI "Church Organ" (0-based): what decoded chorales are played with by default


class Satb(Encoding):
    name = "satb"
    kind = "tokens"
    piece_format = "midi"
    defaults = {"grid": 2, "program": CHOIR_ORGAN, "copy_bars": 2}
    # sheet music on two staves (render.chorale_score), the organ heard; room for 40 bars of 4/4; a little cooler
    # than other models (bench/chorale_quality: more phrases close on cadences at 0.8 than at 0.9)
    generation_defaults = {"formats": "mid,wav,musicxml,svg", "max_length": 1700, "min_bars": MIN_BARS,
                           "temperature": 0.8}

    phrase_marks = True   # fermatas become `F` tokens
    centres = CENTRES     # where the voices are assumed to start (`voicing.voice_steps`)
    guard_rules: dict[str, Any] = {}  # the guard's rules and preferences this encoding sets (`SatbGuard`)

    def __init__(self, *args: Any, **options: Any):
        super().__init__(*args, **options)
        self.options["grid"] = grid_steps(self.options["grid"])
        self.options["program"] = int(self.options["program"])

    @property
    def grid(self) -> int:
        return self.options["grid"]

    @property
    def copy_steps(self) -> int:
        """Steps in a passage that would copy: `copy_bars` bars of 4/4 and one step more."""
        return int(self.options["copy_bars"]) * 4 * self.grid + 1

    def copy_windows(self, name: str = "copy_windows") -> np.ndarray:
        """The sorted hashes of every `copy_steps`-step passage of the training chorales (`voicing.window_hash`),
        which the guard keeps generated chorales from repeating (empty when fitted without them); with
        name="copy_prefixes", those of every passage one step shorter (where a copy could begin)."""
        packed = self.fit_stats.get(name)
        cache = self.__dict__.setdefault("_hash_cache", {})
        if name not in cache or cache[name][0] is not packed:
            cache[name] = (packed, np.frombuffer(base64.b64decode(packed), "<u8") if packed else np.zeros(0, "<u8"))
        return cache[name][1]

    def bar_steps(self, time_signature: Sequence[int]) -> int:
        return max(1, int(round(bar_quarters(time_signature) * self.grid)))

    def penalized(self, token: str) -> bool:
        return parse_voice(token) is not None and not token.endswith(HOLD) and token != SILENT

    # -- piece -> tokens -------------------------------------------------------------------------------
    def tokenize(self, piece: Piece) -> list[str]:
        steps = voice_steps(piece, self.grid, self.centres)
        if not len(steps.note):
            return []
        bar = self.bar_steps(piece.time_signature)
        offset = int(round(float(piece.meta.get("bar_offset", 0.0)) * self.grid))
        under = np.zeros(len(steps.note), dtype=bool)
        for start, end in piece.meta.get("fermatas", ()) if self.phrase_marks else ():
            a = int(round(start * self.grid)) - steps.first_step
            b = max(a + 1, int(round(end * self.grid)) - steps.first_step)
            under[max(0, a):max(0, b)] = True
        pitch = steps.pitch()
        out = [metre_token(piece.time_signature)]
        for t in range(len(pitch)):
            out.append(f"@{(steps.first_step + t + offset) % bar}")
            if under[t]:
                out.append(FERMATA)
            for v in range(VOICES):
                p = pitch[t, v]
                out.append(SILENT if p == REST else f"{p}" if steps.struck[t, v] else f"{p}{HOLD}")
        return out

    # -- tokens -> piece -------------------------------------------------------------------------------
    def detokenize(self, tokens: Sequence[str]) -> Piece:
        d = self.piece_defaults
        ts = tuple(d.get("time_signature", (4, 4)))
        notes: list[tuple[float, float, int, int]] = []
        fermata_steps: list[int] = []
        open_: list[tuple[int, int] | None] = [None] * VOICES  # per voice (pitch, first step)
        t, v, first_pos = -1, VOICES, None
        g = self.grid

        def close(voice: int, at: int) -> None:
            if open_[voice] is not None:
                p, s = open_[voice]
                notes.append((s / g, (at - s) / g, p, VELOCITY))
                open_[voice] = None

        def end_step() -> None:
            for voice in range(v, VOICES):  # voices the step did not give are silent
                close(voice, t + 1)

        for tok in tokens:
            if not isinstance(tok, str):
                continue
            if tok.startswith("M") and t < 0:
                try:
                    num, den = (int(x) for x in tok[1:].split("/"))
                    ts = (num, den) if num > 0 and den in (1, 2, 4, 8, 16, 32) else ts
                except ValueError:
                    pass
            elif tok.startswith("@") and tok[1:].isdigit():
                if t >= 0:
                    end_step()
                t, v = t + 1, 0
                first_pos = int(tok[1:]) if first_pos is None else first_pos
            elif tok == FERMATA and t >= 0 and v == 0:
                fermata_steps.append(t)
            elif t >= 0 and v < VOICES and (parsed := parse_voice(tok)) is not None:
                p, held = parsed
                if p == REST:
                    close(v, t)
                elif not (held and open_[v] is not None and open_[v][0] == p):
                    close(v, t)
                    open_[v] = (p, t)
                v += 1
        for voice in range(VOICES):
            close(voice, t + 1)
        bar = self.bar_steps(ts)
        meta = {"layout": self.name, "metre": "decoded", "fermatas": _spans(fermata_steps, g),
                "bar_offset": ((first_pos or 0) % bar) / g}
        return Piece(_one_per_onset(np.asarray(notes, dtype=np.float64).reshape(-1, 4)),
                     tempo=float(d.get("tempo", 100.0)), time_signature=ts,
                     program=int(d.get("program", self.options["program"])), source="generated", meta=meta)

    # -- fitting -----------------------------------------------------------------------------------------
    def fit(self, pieces) -> Satb:
        pieces = list(pieces)
        super().fit(pieces)
        voiced = [voice_steps(p, self.grid, self.centres) for p in pieces]
        sung: list[list[int]] = [[] for _ in range(VOICES)]
        dropped = total = 0
        for steps in voiced:
            dropped, total = dropped + steps.dropped, total + len(steps.notes)
            pitch = steps.pitch()
            for v in range(VOICES):
                sung[v].extend(pitch[steps.struck[:, v], v].tolist())
        self.fit_stats |= {
            "voice_ranges": [[int(np.percentile(s, 0.5)), int(np.percentile(s, 99.5))] if s else [0, 127]
                             for s in sung],
            "notes_dropped": dropped, "notes": total,
        }
        if self.options["copy_bars"]:
            rows = [step_rows(steps) for steps in voiced]
            self.fit_stats["copy_steps"] = self.copy_steps
            for name, length in (("copy_windows", self.copy_steps), ("copy_prefixes", self.copy_steps - 1)):
                hashes = set().union(*(window_hashes(r, length) for r in rows))
                self.fit_stats[name] = base64.b64encode(np.array(sorted(hashes), dtype="<u8").tobytes()).decode()
        self.piece_defaults["program"] = self.options["program"]
        return self

    def constraint(self, controls: dict | None = None):
        from .satb_guard import CONTROLS, SatbGuard

        return SatbGuard(self, **(self.guard_rules | {k: v for k, v in (controls or {}).items() if k in CONTROLS}))

    def request_controls(self, req: Any) -> dict[str, Any]:
        """The guard's controls from a generation request: its metre (`--meter 3/4`) and the fewest bars before the
        chorale may end (`--min-bars`, default `MIN_BARS`)."""
        from ..errors import UserError

        default = self.generation_defaults.get("min_bars", MIN_BARS)
        out: dict[str, Any] = {"min_bars": default if req.min_bars is None else float(req.min_bars)}
        if req.meter:
            try:
                ts = parse_meter(req.meter)
            except ValueError:
                ts = None
            if ts is None or self.token_id(metre_token(ts)) is None:
                known = ", ".join(t[1:] for t in self.vocab if t.startswith("M") and "/" in t)
                raise UserError(f"--meter {req.meter}: this model knows the metres {known}")
            out["time_signature"] = ts
        return out


def _spans(steps: list[int], grid: int) -> list[list[float]]:
    """Runs of consecutive steps as [start, end] in quarters."""
    out: list[list[float]] = []
    for s in sorted(set(steps)):
        if out and out[-1][1] == s / grid:
            out[-1][1] = (s + 1) / grid
        else:
            out.append([s / grid, (s + 1) / grid])
    return out


def _one_per_onset(notes: np.ndarray) -> np.ndarray:
    """Voices in unison are one note, as one MIDI channel plays them: one per (onset, pitch), the longest, and a
    note struck while another voice holds its pitch ends the held one."""
    if not len(notes):
        return np.zeros((0, 4))
    notes = notes[np.lexsort((-notes[:, DUR], notes[:, PITCH], notes[:, START]))]
    keep = np.ones(len(notes), dtype=bool)
    keep[1:] = (np.diff(notes[:, START]) != 0) | (np.diff(notes[:, PITCH]) != 0)
    notes = notes[keep]
    by_pitch = np.lexsort((notes[:, START], notes[:, PITCH]))
    for a, b in zip(by_pitch[:-1], by_pitch[1:]):
        if notes[a, PITCH] == notes[b, PITCH] and notes[a, START] + notes[a, DUR] > notes[b, START]:
            notes[a, DUR] = notes[b, START] - notes[a, START]
    return notes
