"""Melodies over chords, the lead-sheet part of the one generator (`generator.generate` on a `lead` model).

With a progression (text or a file, `progressions.read_progression`; looped or cut to `bars` bars), its key is the
request's or estimated from the chords; the chords are moved into the model's C major / A minor frame and become
the sampling guard's controls (`encodings.lead_guard`), and the melody drawn over them is moved back. Without one,
the model proposes the chords as it goes, starting from the tonic chord of the key (default C major), for `bars`
bars (default 16).

Each piece is written by `render.leadsheet.write_lead_sheet`: melody plus the accompaniment chosen (`comp`: piano
comping and walking bass, `block`, `bass`, `none`), swing in what is heard, chord symbols above the staff. The
report gives, for each piece and overall, the share of melody notes on strong beats that are chord tones
(`evaluation.chord_fit`), next to the same model with the chords withheld (same seeds, told nothing of the chords),
the training data (measured when the encoding was fitted) and chance.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .chords import Chord
from .errors import UserError
from .evaluation.chord_fit import chance_share, chord_tone_share, share
from .evaluation.piece_check import PieceCheck, check_piece
from .keys import MAJOR, Key, normalizing_shift, parse_key, progression_key
from .piece import bar_quarters, parse_meter
from .progressions import (
    ChordSpan,
    fit_to_bars,
    parse_progression,
    progression_text,
    read_progression,
    spans_from_text,
    spans_to_text,
    transpose_spans,
)

DEFAULT_BARS = 16


@dataclass
class LeadPlan:
    """What a lead-sheet request becomes before sampling: metre, bars, key, the chords in both frames."""

    time_signature: tuple[int, int]
    bars: int
    key: Key
    shift: int                               # semitones from the key to the model's C major / A minor frame
    spans: list[ChordSpan] | None            # the progression in the key (None: the model proposes the chords)
    frame_spans: list[ChordSpan] | None      # the same in the model's frame
    tempo: float

    @property
    def bar_length(self) -> float:
        return bar_quarters(self.time_signature)

    def controls(self, enc, withhold: bool = False) -> dict[str, Any]:
        """The guard's controls (`encodings.lead_guard.LeadGuard`)."""
        first = Chord(0, "maj") if self.key.mode == MAJOR else Chord(9, "min")
        changes = [(int(round(s.start * enc.grid)), s.chord) for s in self.frame_spans or []]
        return {"total": int(round(self.bars * self.bar_length * enc.grid)), "time_signature": self.time_signature,
                "changes": changes, "withhold": withhold, "first_chord": first}


def _time_signature(enc, meter: str | None) -> tuple[int, int]:
    if not meter:
        return tuple(enc.piece_defaults.get("time_signature", (4, 4)))  # type: ignore[return-value]
    try:
        return parse_meter(meter)
    except ValueError:
        raise UserError(f"--meter must look like 4/4, 3/4 or 6/8, got {meter!r}") from None


def plan_lead(req, enc) -> LeadPlan:
    """The plan of a (resolved) `GenerationRequest` for a lead-sheet model."""
    ts = _time_signature(enc, req.meter)
    bar_len = bar_quarters(ts)
    spans = None
    if req.chords:
        spans = read_progression(req.chords, bar_len) if req.chord_files else parse_progression(req.chords, bar_len)
        written_bars = max(1, round(spans[-1].end / bar_len))
        spans = fit_to_bars(spans, req.bars or written_bars, bar_len)
    bars = req.bars or (round(spans[-1].end / bar_len) if spans else DEFAULT_BARS)
    if req.key:
        key = parse_key(req.key)
    elif spans:
        key = Key(*progression_key(spans))
    else:
        key = Key(0, MAJOR)
    shift = normalizing_shift(key)
    frame_spans = transpose_spans(spans, shift) if spans else None
    tempo = float(req.tempo or enc.piece_defaults.get("tempo") or 120.0)
    return LeadPlan(ts, bars, key, shift, spans, frame_spans, tempo)


def finish_lead(plan: LeadPlan, enc, frame, withheld, req, stem: Path,
                title: str) -> tuple[PieceCheck, dict[str, str], dict[str, Any]]:
    """A sampled melody (in the model's frame) and its chords-withheld twin -> (check, files, what the report
    says of it: key, chords, progression, chord-tone fit)."""
    from .render.leadsheet import write_lead_sheet

    played = list(plan.frame_spans) if plan.frame_spans else _spans_of(frame, plan.bars * plan.bar_length)
    ts = plan.time_signature
    h, n = chord_tone_share(frame.notes, played, ts)
    hw, nw = chord_tone_share(withheld.notes, played, ts)
    melody = frame.transpose(-plan.shift) if plan.shift else frame
    program = req.program if req.program is not None else enc.piece_defaults.get("program", 0)
    melody = replace(melody, tempo=plan.tempo, time_signature=ts, key=str(plan.key), program=int(program))
    real_spans = plan.spans if plan.spans else transpose_spans(played, -plan.shift)
    files = write_lead_sheet(melody, real_spans, stem, style=req.accompaniment, swing_ratio=req.swing,
                             tempo=plan.tempo, formats=req.formats, title=title, voice=req.voice_choice)
    extra = {"key": str(plan.key), "chords": spans_to_text(real_spans),
             "progression": progression_text(real_spans, plan.bar_length),
             "fit": {"with_chords": share(h, n), "withheld": share(hw, nw), "chance": chance_share(frame.notes,
                                                                                                   played, ts),
                     "strong_beat_notes": n, "hits": [h, n], "withheld_hits": [hw, nw]}}
    return check_piece(melody, min_bars=0.0), files, extra


def _spans_of(piece, end: float) -> list[ChordSpan]:
    spans = [s for s in spans_from_text(piece.meta.get("chords", "")) if s.start < end]
    return [ChordSpan(s.start, min(s.end, end), s.chord) for s in spans]


def lead_summary(items, enc) -> dict[str, Any]:
    """Strong-beat chord tones over all pieces: with the chords, withheld, chance, and in the training data."""
    fits = [t.extra["fit"] for t in items]
    chances = [f["chance"] for f in fits if f["chance"] is not None]
    return {"with_chords": share(sum(f["hits"][0] for f in fits), sum(f["hits"][1] for f in fits)),
            "withheld": share(sum(f["withheld_hits"][0] for f in fits), sum(f["withheld_hits"][1] for f in fits)),
            "chance": round(sum(chances) / len(chances), 4) if chances else None,
            "training_data": enc.fit_stats.get("strong_beat_chord_tones")}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def lead_table(report) -> str:
    rows = ["| piece | key | notes | strong-beat chord tones | chords withheld | chance | files |",
            "|---|---|---|---|---|---|---|"]
    for p in report.tunes:
        f = p.extra["fit"]
        rows.append(f"| {p.name} | {p.extra['key']} | {p.check.to_dict()['notes']} | {_pct(f['with_chords'])} | "
                    f"{_pct(f['withheld'])} | {_pct(f['chance'])} | "
                    f"{', '.join(k for k, v in p.files.items() if not str(v).startswith('error'))} |")
    s = report.summary
    rows.append(f"| **all** | | | **{_pct(s['with_chords'])}** | {_pct(s['withheld'])} | {_pct(s['chance'])} | |")
    return "\n".join(rows)


def lead_markdown(report) -> str:
    s = report.summary
    return "\n".join([
        "# Melodies over chords", "",
        f"Settings: {json.dumps(report.settings, default=str)}", "",
        "Share of melody notes on strong beats (bar line, and mid-bar in duple metres) that are tones of the "
        "chord sounding then (`rnnmusic.evaluation.chord_fit`).", "",
        lead_table(report), "",
        f"Training data (measured when the encoding was fitted): {_pct(s['training_data'])}. "
        f"Chords withheld: the same model and seeds, told nothing of the chords. Chance: uniform pitch classes.",
        "", "## Chords" + ("" if report.settings["chords"] else " (proposed by the model)"), "",
        *[f"- {p.name} ({p.extra['key']}): {p.extra['progression']}" for p in report.tunes], "",
    ])


def lead_summary_text(report) -> str:
    """The chords the model chose (when it proposed them), where the files are, and the chord-tone shares."""
    chords = report.settings["chords"]
    lines = [] if chords else [f"{p.name} chords: {p.extra['progression']}" for p in report.tunes]
    s, n, out = report.summary, len(report.tunes), report.out_dir
    lines.append(
        f"{n} piece{'s' if n != 1 else ''} over {'the progression' if chords else 'chords the model proposed'} "
        f"in {report.settings['key']}; files in {out}/, report {out / 'report.md'}"
    )
    if s["with_chords"] is not None:
        lines.append(
            f"strong-beat chord tones: {s['with_chords']:.1%} with the chords, "
            + (f"{s['withheld']:.1%} with them withheld, " if s["withheld"] is not None else "")
            + (f"{s['training_data']:.1%} in the training data, " if s["training_data"] is not None else "")
            + (f"{s['chance']:.1%} by chance" if s["chance"] is not None else "")
        )
    return "\n".join(lines)
