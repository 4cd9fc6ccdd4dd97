"""Melodies over chords, from a `lead` model to files and a report: `rnnmusic generate RUN --chords ...`.

    report = generate_lead(model, enc, SampleConfig(count=4), "out/jazz",
                           chords="Dm7 G7 | Cmaj7 | A7 | Dm7 G7", bars=16, tempo=160, swing=0.6)

With a progression (text or a file, `chords.read_progression`; looped or cut to `bars` bars), its key is
`key` or estimated from the chords (`chords.progression_key`); the chords are moved into the model's C major /
A minor frame, the melody is drawn over them (`lead_sampler.sample_lead`) and moved back. Without one, the
model proposes the chords as it goes, starting from the tonic chord of `key` (default C major), for `bars`
bars (default 16).

Each piece is written as piece-NNN.{mid,wav,musicxml,svg} by `render.leadsheet.write_lead_sheet`: melody track
plus the accompaniment chosen (`comp`: piano comping and walking bass, `block`, `bass`, `none`), swing in
what is heard, chord symbols above the staff. report.json / report.md give, for each piece and overall, the
share of melody notes on strong beats that are chord tones (`evaluate.chord_fit`), next to the same model
with the chords withheld (same seeds, the model told nothing of the chords), the training data (measured when
the encoding was fitted) and chance.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from .accompaniment import ACCOMPANIMENTS
from .checkpoint import write_atomic
from .chords import Chord
from .encodings.lead import Lead
from .errors import UserError
from .evaluation.chord_fit import chance_share, chord_tone_share, share
from .evaluation.piece_check import check_piece
from .keys import MAJOR, Key, normalizing_shift, parse_key, progression_key
from .lead_sampler import sample_lead
from .model import MusicRNN
from .piece import bar_quarters
from .progressions import (ChordSpan, fit_to_bars, parse_progression, progression_text, read_progression,
                           spans_from_text, spans_to_text, transpose_spans)
from .render.leadsheet import LEAD_FORMATS, write_lead_sheet
from .sampler import SampleConfig

DEFAULT_BARS = 16
MAX_TOKENS = 4000  # bounds the tokens drawn per piece; the bars set its length


@dataclass
class LeadPiece:
    name: str
    key: str
    chords: str                     # spans_to_text of the chords it was played over (in its key)
    progression: str                # the same chords bar by bar, as a lead sheet writes them ("Dm7 G7 | Cmaj7")
    fit: dict[str, Any]             # strong-beat chord tones: with chords, withheld, chance
    check: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class LeadReport:
    pieces: list[LeadPiece]
    out_dir: Path
    settings: dict[str, Any]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "summary": self.summary,
                "pieces": [p.__dict__ for p in self.pieces]}

    def table(self) -> str:
        rows = ["| piece | key | notes | strong-beat chord tones | chords withheld | chance | files |",
                "|---|---|---|---|---|---|---|"]
        for p in self.pieces:
            f = p.fit
            rows.append(f"| {p.name} | {p.key} | {p.check['notes']} | {_pct(f['with_chords'])} | "
                        f"{_pct(f['withheld'])} | {_pct(f['chance'])} | "
                        f"{', '.join(k for k, v in p.files.items() if not str(v).startswith('error'))} |")
        s = self.summary
        rows.append(f"| **all** | | | **{_pct(s['with_chords'])}** | {_pct(s['withheld'])} | {_pct(s['chance'])} | |")
        return "\n".join(rows)

    def markdown(self) -> str:
        s = self.summary
        return "\n".join([
            "# Melodies over chords", "",
            f"Settings: {json.dumps(self.settings)}", "",
            "Share of melody notes on strong beats (bar line, and mid-bar in duple metres) that are tones of the "
            "chord sounding then (`rnnmusic.evaluation.chord_fit`).", "",
            self.table(), "",
            f"Training data (measured when the encoding was fitted): {_pct(s['training_data'])}. "
            f"Chords withheld: the same model and seeds, told nothing of the chords. Chance: uniform pitch classes.",
            "", "## Chords" + ("" if self.settings["chords"] else " (proposed by the model)"), "",
            *[f"- {p.name} ({p.key}): {p.progression}" for p in self.pieces], "",
        ])


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _key(key: str | None, spans: list[ChordSpan] | None) -> Key:
    if key:
        return parse_key(key)
    if spans:
        tonic, mode = progression_key(spans)
        return Key(tonic, mode)
    return Key(0, MAJOR)


def _time_signature(enc: Lead, meter: str | None) -> tuple[int, int]:
    if not meter:
        return tuple(enc.piece_defaults.get("time_signature", (4, 4)))  # type: ignore[return-value]
    try:
        num, den = (int(x) for x in meter.split("/"))
        if num < 1 or den not in (1, 2, 4, 8, 16):
            raise ValueError
    except ValueError:
        raise UserError(f"--meter must look like 4/4, 3/4 or 6/8, got {meter!r}") from None
    return num, den


def generate_lead(model: MusicRNN, enc: Lead, cfg: SampleConfig, out_dir: str | Path, *,
                  chords: str | None = None, bars: int | None = None, key: str | None = None,
                  meter: str | None = None, tempo: float | None = None, swing: float = 0.5,
                  accompaniment: str = "comp", formats: str | Sequence[str] = LEAD_FORMATS,
                  program: int | None = None, title: str = "rnnmusic",
                  progress: Callable[[str, int, int], None] | None = None, chord_files: bool = True) -> LeadReport:
    """`chords` is progression text, or (with `chord_files`, as on the command line) a file holding one; the
    studio passes chord_files=False, so that text from a web form is never taken for a path."""
    from .generator import _out_dir, parse_formats

    if not isinstance(enc, Lead):
        raise UserError(f"--chords needs a model trained on lead sheets (--encoding lead), not {enc.name}")
    if accompaniment not in ACCOMPANIMENTS:
        raise UserError(f"unknown accompaniment {accompaniment!r}; choose one of {', '.join(ACCOMPANIMENTS)}")
    if not 0.5 <= swing <= 0.75:
        raise UserError(f"--swing is the share of the beat before the off-beat eighth, 0.5 (straight) to 0.75, got {swing}")
    if bars is not None and not 1 <= bars <= 512:
        raise UserError(f"--bars must be 1..512, got {bars}")
    cfg.validate()
    fmts = parse_formats(formats, LEAD_FORMATS)
    ts = _time_signature(enc, meter)
    bar_len = bar_quarters(ts)
    spans = None
    if chords:
        spans = read_progression(chords, bar_len) if chord_files else parse_progression(chords, bar_len)
        written_bars = max(1, round(spans[-1].end / bar_len))
        spans = fit_to_bars(spans, bars or written_bars, bar_len)
    n_bars = bars or (round(spans[-1].end / bar_len) if spans else DEFAULT_BARS)
    k = _key(key, spans)
    to_frame = normalizing_shift(k)
    frame_spans = transpose_spans(spans, to_frame) if spans else None
    first = Chord(0, "maj") if k.mode == MAJOR else Chord(9, "min")
    total = int(round(n_bars * bar_len * enc.grid))
    bar_steps = enc.bar_steps(ts)
    out = _out_dir(out_dir)
    tempo = float(tempo or enc.piece_defaults.get("tempo") or 120.0)

    def run(withhold: bool, count: int, first_index: int, over: Sequence[ChordSpan] | None):
        c = replace(cfg, count=count)
        return sample_lead(model, enc, c, total=total, bar_steps=bar_steps, spans=over, withhold=withhold,
                           first_chord=first, first_index=first_index)

    if progress is not None:
        progress("sampling", 0, cfg.count)
    drawn = run(False, cfg.count, 0, frame_spans)
    pieces: list[LeadPiece] = []
    totals = {"with": [0, 0], "withheld": [0, 0]}
    chances: list[float] = []
    for i, tokens in enumerate(drawn):
        if progress is not None:
            progress("rendering", i, cfg.count)
        frame = replace(enc.detokenize(tokens), time_signature=ts).head(n_bars)
        played = list(frame_spans) if frame_spans else _spans_of(frame, n_bars * bar_len)
        withheld = replace(enc.detokenize(run(True, 1, i, played)[0]), time_signature=ts).head(n_bars)
        h, n = chord_tone_share(frame.notes, played, ts)
        hw, nw = chord_tone_share(withheld.notes, played, ts)
        ch = chance_share(frame.notes, played, ts)
        totals["with"][0] += h
        totals["with"][1] += n
        totals["withheld"][0] += hw
        totals["withheld"][1] += nw
        if ch is not None:
            chances.append(ch)
        melody = frame.transpose(-to_frame) if to_frame else frame
        melody = replace(melody, tempo=tempo, time_signature=ts, key=str(k),
                         program=int(program if program is not None else enc.piece_defaults.get("program", 0)))
        real_spans = spans if spans else transpose_spans(played, -to_frame)
        name = f"piece-{i + 1:03d}"
        check = check_piece(melody, min_bars=0.0).to_dict()
        files = write_lead_sheet(melody, real_spans, out / name, style=accompaniment, swing_ratio=swing, tempo=tempo,
                                 formats=fmts, title=f"{title} {i + 1}")
        pieces.append(LeadPiece(name, str(k), spans_to_text(real_spans), progression_text(real_spans, bar_len),
                                {"with_chords": share(h, n), "withheld": share(hw, nw), "chance": ch,
                                 "strong_beat_notes": n}, check, files))
    summary = {"with_chords": share(*totals["with"]), "withheld": share(*totals["withheld"]),
               "chance": round(sum(chances) / len(chances), 4) if chances else None,
               "training_data": enc.fit_stats.get("strong_beat_chord_tones")}
    settings = {"chords": chords, "proposed_by_model": not chords, "bars": n_bars, "key": str(k),
                "meter": f"{ts[0]}/{ts[1]}", "tempo": tempo, "swing": swing, "accompaniment": accompaniment,
                "count": cfg.count, "seed": cfg.seed, "temperature": cfg.temperature, "top_k": cfg.top_k,
                "top_p": cfg.top_p, "formats": fmts}
    report = LeadReport(pieces, out, settings, summary)
    write_atomic(out / "report.json", (json.dumps(report.to_dict(), indent=2) + "\n").encode())
    write_atomic(out / "report.md", report.markdown().encode())
    return report


def _spans_of(piece, end: float) -> list[ChordSpan]:
    spans = [s for s in spans_from_text(piece.meta.get("chords", "")) if s.start < end]
    return [ChordSpan(s.start, min(s.end, end), s.chord) for s in spans]
