"""The one generator: a request to files and a report, for every kind of model.

    report = generate("folk", count=4, type="reel", out="out/reels", formats="abc,mid,wav,svg")
    report = generate(load_model("runs/chorales"), GenerationRequest(count=2, key="G"))
    print(report.table())

ABC encodings give tunes (checked as ABC: header, parsers, bar lengths; `abc_check.tune_verdict`); MIDI-side
encodings give pieces (checked for collapse into one note, one chord or silence, and for fragments), transposed
to a requested key when asked; lead-sheet models give melodies over chords with their accompaniment and a
chord-tone report (`lead_pieces`). Every piece is drawn by the one sampler (`sampler.sample`), its files are
written by `render.files.render_item` as `rnnmusic render` writes them (lead sheets by
`render.leadsheet.write_lead_sheet`), and OUT/report.json (lead sheets: also report.md) records it all.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .checkpoint import write_atomic
from .encodings import Encoding
from .errors import UserError
from .evaluation.abc_check import TuneCheck, checks_table, tune_verdict
from .evaluation.piece_check import PieceCheck, check_piece, piece_table
from .generation_request import GenerationRequest, output_kind, request_fields, resolve, sample_config
from .model import MusicRNN
from .prime import load_prime
from .render.abc import tune_document
from .sampler import SampleConfig, sample

FORMATS = ("abc", "mid", "wav", "flac", "musicxml", "svg", "png", "pdf", "roll")
PIECE_FORMATS = ("mid", "wav", "flac", "musicxml", "svg", "png", "pdf", "abc", "roll")
LEAD_FORMATS = ("mid", "wav", "musicxml", "svg")
ALLOWED_FORMATS = {"tunes": FORMATS, "pieces": PIECE_FORMATS, "frames": PIECE_FORMATS, "lead": LEAD_FORMATS}


@dataclass
class GeneratedTune:
    """One generated piece: its name, ABC text ("" for MIDI-side pieces), check, seed index and files."""

    name: str
    text: str                      # the complete ABC document (X:, T:, header, body); "" for MIDI pieces
    check: TuneCheck | PieceCheck
    seed_index: int
    files: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # lead sheets: key, chords, progression, chord-tone fit

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "valid": self.check.valid, "seed_index": self.seed_index,
                "check": self.check.to_dict(), "files": self.files, **self.extra}


@dataclass
class GenerationReport:
    tunes: list[GeneratedTune]
    attempts: int
    out_dir: Path
    settings: dict[str, Any]
    asked: int = 0          # how many were asked for
    what: str = "tunes"     # tunes, pieces or lead sheets
    summary: dict[str, Any] = field(default_factory=dict)  # lead sheets: strong-beat chord tones over all pieces

    @property
    def pieces(self) -> list[GeneratedTune]:
        return self.tunes

    @property
    def valid(self) -> int:
        return sum(t.check.valid for t in self.tunes)

    @property
    def shortfall(self) -> str | None:
        """With only_valid, "only N of COUNT valid tunes after M attempts" when fewer were found; else None."""
        if not self.settings.get("only_valid") or len(self.tunes) >= self.asked:
            return None
        return shortfall_message(len(self.tunes), self.asked, self.what, self.attempts)

    def paths(self, fmt: str | None = None) -> list[str]:
        """Each piece's file of format `fmt` (default: its ABC file, else its MIDI file)."""
        return [t.files[fmt] if fmt else t.files.get("abc") or t.files["mid"] for t in self.tunes
                if (t.files.get(fmt) if fmt else t.files.get("abc") or t.files.get("mid"))]

    def table(self) -> str:
        if self.what == "lead sheets":
            from .lead_pieces import lead_table

            return lead_table(self)
        names, checks = [t.name for t in self.tunes], [t.check for t in self.tunes]
        if checks and isinstance(checks[0], PieceCheck):
            return piece_table(names, checks)
        return checks_table(names, checks)

    def summary_text(self) -> str:
        """How many are valid and where the files are (lead sheets: the chords and their chord-tone shares)."""
        out = self.out_dir
        if self.what == "lead sheets":
            from .lead_pieces import lead_summary_text

            return lead_summary_text(self)
        shortfall = f"; {self.shortfall}" if self.shortfall else ""
        return (f"{self.summary_line()} ({self.attempts} generated{shortfall}); files in {out}/, "
                f"report {out / 'report.json'}")

    def summary_line(self) -> str:
        """How many are valid; for pieces also how many have figures far outside the training corpus' band."""
        if self.what != "pieces":
            return f"{self.valid}/{len(self.tunes)} valid"
        unlike = sum(bool(getattr(t.check, "outside", None)) for t in self.tunes)
        return (f"{self.valid}/{len(self.tunes)} valid (not collapsed, at least --min-bars long), {unlike} with "
                "figures far outside the training pieces' (see the table)")

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "attempts": self.attempts, "asked": self.asked, "count": len(self.tunes),
                "valid": self.valid, "shortfall": self.shortfall, "summary": self.summary,
                "pieces": [t.to_dict() for t in self.tunes]}


def parse_formats(spec: str | Sequence[str], allowed: Sequence[str] = FORMATS) -> list[str]:
    from .render.files import format_names

    items = format_names(spec)
    bad = [s for s in items if s not in allowed]
    if bad:
        raise UserError(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(allowed)}")
    if {"wav", "flac"} & set(items) and "mid" not in items:
        items.insert(0, "mid")  # audio is rendered from the MIDI file
    return items or [allowed[0]]


def _out_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create output folder: {e.strerror or e}") from None
    return out


def default_output(run: str | Path) -> Path:
    """Where generated files go by default: RUN/generated, or out/NAME for a shipped model (the package stays
    read-only)."""
    from .models import shipped_models

    if not Path(run).exists() and str(run) in shipped_models():
        return Path("out") / str(run)
    return Path(run) / "generated"


def shortfall_message(found: int, count: int, what: str, attempts: int) -> str:
    return f"only {found} of {count} valid {what} after {attempts} attempts"


def draw_until_valid(draw, count: int, only_valid: bool, max_attempts: int, what: str,
                     progress: Callable[[str, int, int], None] | None = None):
    """Draw pieces (`draw(batch, first_index) -> [(piece, check)]`) until `count` of them, or with only_valid
    `count` valid ones: only valid ones are kept, and when max_attempts draws found fewer, those found are kept and
    one warning says how many (`shortfall_message`). `progress(stage, 0, count)` is told of each draw. Returns
    ([(seed index, piece, check)] in seed order, attempts)."""
    kept: list[tuple[int, object, object]] = []
    attempts = 0
    while attempts < max_attempts:
        want = count - (sum(c.valid for *_, c in kept) if only_valid else len(kept))
        if want <= 0:
            break
        batch = min(want if not only_valid else max(want, 4), max_attempts - attempts)
        if progress is not None:
            progress(f"sampling more ({attempts} drawn so far)" if attempts else "sampling", 0, count)
        kept += [(attempts + i, piece, check) for i, (piece, check) in enumerate(draw(batch, attempts))]
        attempts += batch
        if not only_valid:
            break
    if only_valid:
        kept = [k for k in kept if k[2].valid][:count]
        if len(kept) < count:
            warnings.warn(shortfall_message(len(kept), count, what, attempts), stacklevel=3)
    return kept, attempts


def _loaded(model: Any, enc: Encoding | None):
    """(network, encoding, LoadedModel or None) of a shipped model's name, a run directory, `load_model`'s result
    or a network with its encoding."""
    from .run import LoadedModel, load_model

    if isinstance(model, (str, Path)):
        loaded = load_model(model)
        return loaded.network, loaded.encoding, loaded
    if isinstance(model, LoadedModel):
        return model.network, model.encoding, model
    if enc is None:
        raise UserError("generate needs a model name, a run directory, load_model's result, or a network and its "
                        "encoding")
    return model, enc, None


def generate(model: Any, request: GenerationRequest | None = None, *, enc: Encoding | None = None,
             out: str | Path | None = None, progress: Callable[[str, int, int], None] | None = None,
             **fields: Any) -> GenerationReport:
    """Generate `request.count` pieces into `out` (default RUN/generated, out/NAME for a shipped model) and
    write out/report.json. `fields` override the request's (see `GenerationRequest`). With `only_valid`, further
    pieces (next seeds) are drawn until `count` valid ones exist or `max_attempts` were tried, and only valid ones
    are written (the report's `shortfall` says when fewer were found); otherwise invalid pieces are kept and
    marked. `progress(stage, done, total)` is called as work goes ("sampling", then "rendering" once per piece).
    """
    unknown = set(fields) - request_fields()
    if unknown:
        raise TypeError(f"generate() got unknown request fields: {', '.join(sorted(unknown))}")
    network, enc, loaded = _loaded(model, enc)
    req = resolve(replace(request or GenerationRequest(), **fields), enc)
    source = loaded.source if loaded is not None else None
    if out is None:
        if source is None:
            raise UserError("generate needs out= when given a network rather than a model name or run")
        out = default_output(source)
    title = req.title or (Path(loaded.run).resolve().name if loaded is not None else "rnnmusic")
    req = replace(req, title=title)
    kind = output_kind(enc)
    fmts = parse_formats(req.formats, ALLOWED_FORMATS[kind])
    voice = req.voice_choice
    if voice is not None:
        from .voice.player import load_voice

        load_voice(voice.voice)  # a bad voice is one error before sampling, not one per piece
    req = replace(req, formats=fmts)
    if kind == "lead":
        return _generate_lead(network, enc, req, _out_dir(out), progress)
    prime = req.prime
    if req.prime_file:
        prime = load_prime(req.prime_file, req.prime_bars, enc,
                           normalize_key=bool(loaded is not None and loaded.normalize_key))
    cfg = sample_config(req, enc, prime)
    if kind == "tunes":
        return generate_tunes(network, enc, cfg, out, formats=fmts, only_valid=req.only_valid,
                              max_attempts=req.max_attempts, title=title, soundfont=req.soundfont,
                              program=req.program, min_bars=req.min_bars, progress=progress, voice=voice)
    return generate_pieces(network, enc, cfg, out, formats=fmts, only_valid=req.only_valid,
                           max_attempts=req.max_attempts, key=req.key, tempo=req.tempo, program=req.program,
                           soundfont=req.soundfont, title=title, min_bars=req.min_bars, progress=progress,
                           voice=voice)


def _written(kept, write: Callable, progress: Callable[[str, int, int], None] | None) -> list[GeneratedTune]:
    """`write(n, seed_index, piece, check)` for each kept piece (numbered from 1), telling `progress` as it goes."""
    items = []
    for n, (idx, piece, check) in enumerate(kept, 1):
        if progress is not None:
            progress("rendering", n - 1, len(kept))
        items.append(write(n, idx, piece, check))
    return items


def _write_report(report: GenerationReport) -> GenerationReport:
    write_atomic(report.out_dir / "report.json", (json.dumps(report.to_dict(), indent=2, default=str) + "\n").encode())
    return report


def generate_tunes(model: MusicRNN, enc: Encoding, cfg: SampleConfig, out_dir: str | Path, *,
                   formats: str | Sequence[str] = ("abc",), only_valid: bool = False, max_attempts: int | None = None,
                   title: str = "rnnmusic", soundfont: str | None = None,
                   program: int | str | dict[int, int] | None = None, min_bars: float = 8,
                   progress: Callable[[str, int, int], None] | None = None, voice=None) -> GenerationReport:
    """`generate`'s ABC part: cfg.count tunes into out_dir as tune-NNN.{abc,mid,...}. Each tune is judged by
    `abc_check.tune_verdict` (what `evaluate` says of the written file too); a tune of fewer than `min_bars` bars
    counts as an invalid fragment. `program`: General MIDI programs, 40 (default, fiddle) or "1=73,2=40".
    `voice` (`voice.choice.VoiceChoice`): audio played by that learned voice."""
    from .render.programs import parse_programs

    cfg.validate()
    fmts = parse_formats(formats)
    program = parse_programs(program)
    out = _out_dir(out_dir)

    def draw(batch: int, first: int):
        bodies = sample(model, enc, replace(cfg, count=batch), first_index=first)
        return [(body, tune_verdict(tune_document(body, 1, title), min_bars=min_bars)) for body in bodies]

    kept, attempts = draw_until_valid(draw, cfg.count, only_valid, max_attempts or 10 * cfg.count, "tunes",
                                      progress=progress)

    def write(n: int, idx: int, body: str, check) -> GeneratedTune:
        name, text = f"tune-{n:03d}", tune_document(body, n, f"{title} {n}")
        return GeneratedTune(name, text, check, idx,
                             write_tune_files(text, out / name, fmts, soundfont=soundfont, program=program,
                                              voice=voice))

    tunes = _written(kept, write, progress)
    settings = dict(cfg.__dict__) | {"formats": fmts, "only_valid": only_valid, "min_bars": min_bars}
    return _write_report(GenerationReport(tunes, attempts, out, settings, asked=cfg.count))


def write_tune_files(text: str, stem: Path, formats: Sequence[str], *, soundfont: str | None = None, voice=None,
                     program: int | str | dict[int, int] | None = None) -> dict[str, str]:
    """Write one tune as stem.abc and, through `render.files.render_item` (what `rnnmusic render` uses), as the
    other formats asked for; a rendering failure is a warning, never fatal."""
    abc_path = stem.with_suffix(".abc")
    write_atomic(abc_path, text.encode())
    return {"abc": str(abc_path)} | _rendered(stem, [f for f in formats if f != "abc"], abc=text, program=program,
                                                soundfont=soundfont, source=str(abc_path), voice=voice)


def _rendered(stem: Path, formats: Sequence[str], **kw) -> dict[str, str]:
    from .render.files import render_item

    r = render_item(stem, formats, **kw)
    for why in r.errors.values():
        warnings.warn(why, stacklevel=3)
    return {k: v[0] for k, v in r.files.items()}


def finish_piece(piece, enc: Encoding, *, key: str | None = None, tempo: float | None = None,
                 program: int | None = None):
    """Give a decoded piece the corpus' tempo, metre and program (or those asked for), its key, and
    transpose it to `key` when asked."""
    from .keys import estimate_key, transpose_to

    d = enc.piece_defaults
    piece = replace(piece, tempo=float(tempo or d.get("tempo") or piece.tempo),
                    time_signature=tuple(piece.time_signature if piece.meta.get("metre") == "decoded" else
                                         d.get("time_signature") or piece.time_signature),
                    program=int(program if program is not None else d.get("program", piece.program)))
    if key:
        try:
            return transpose_to(piece, key)
        except ValueError as e:
            warnings.warn(f"cannot transpose to {key}: {e}; kept in its own key", stacklevel=2)
    if len(piece):
        piece.key = str(estimate_key(piece).key)
    return piece


def _one_track_program(spec) -> int | None:
    from .render.programs import parse_programs

    program = parse_programs(spec)
    if isinstance(program, dict):  # a generated piece is one track
        if set(program) != {1}:
            raise UserError(f"a generated piece has one track: give --program N or 1=N, not {spec!r}")
        program = program[1]
    return program


def generate_pieces(model: MusicRNN, enc: Encoding, cfg: SampleConfig, out_dir: str | Path, *,
                    formats: str | Sequence[str] = ("mid",), only_valid: bool = False, max_attempts: int | None = None,
                    key: str | None = None, tempo: float | None = None,
                    program: int | str | dict[int, int] | None = None, soundfont: str | None = None,
                    title: str = "rnnmusic", min_bars: float = 0.0,
                    progress: Callable[[str, int, int], None] | None = None, voice=None) -> GenerationReport:
    """`generate`'s MIDI-side part: cfg.count pieces into out_dir as piece-NNN.{mid,wav,roll.png}. Pieces that
    collapsed (one note, one chord, silence) or are fragments (fewer than `min_bars` bars) are flagged.
    `program`: the General MIDI program of the piece's one track, 73 or "1=73"; default the corpus'."""
    from .keys import parse_key

    cfg.validate()
    fmts = parse_formats(formats, PIECE_FORMATS)
    program = _one_track_program(program)
    if key:
        key = str(parse_key(key))
    out = _out_dir(out_dir)

    def draw(batch: int, first: int):
        pieces = sample(model, enc, replace(cfg, count=batch), first_index=first)
        pieces = [finish_piece(p, enc, key=key, tempo=tempo, program=program) for p in pieces]
        return [(p, check_piece(p, min_bars, enc.fit_stats.get("piece_figures"))) for p in pieces]

    kept, attempts = draw_until_valid(draw, cfg.count, only_valid, max_attempts or 5 * cfg.count, "pieces",
                                      progress=progress)

    def write(n: int, idx: int, piece, check) -> GeneratedTune:
        stem = out / f"piece-{n:03d}"
        return GeneratedTune(stem.name, "", check, idx, _rendered(stem, fmts, piece=piece, title=f"{title} {n}",
                                                                 soundfont=soundfont, source=str(stem),
                                                                 voice=voice))

    items = _written(kept, write, progress)
    settings = {k: v for k, v in cfg.__dict__.items() if k != "prime"} | {
        "primed": bool(cfg.prime is not None and not isinstance(cfg.prime, str)),
        "formats": fmts, "only_valid": only_valid, "key": key, "tempo": tempo, "program": program, "min_bars": min_bars}
    return _write_report(GenerationReport(items, attempts, out, settings, asked=cfg.count, what="pieces"))


def _generate_lead(model: MusicRNN, enc: Encoding, req: GenerationRequest, out: Path,
                   progress: Callable[[str, int, int], None] | None) -> GenerationReport:
    """`generate`'s lead-sheet part (see `lead_pieces`): melodies over the request's chords, or over chords the
    model proposes, each with its chords-withheld twin for the chord-tone report."""
    from .lead_pieces import finish_lead, lead_markdown, lead_summary, plan_lead

    req = replace(req, program=_one_track_program(req.program) if req.program is not None else None)
    plan = plan_lead(req, enc)
    cfg = sample_config(req, enc, controls=plan.controls(enc))
    withheld_cfg = replace(cfg, count=1, controls=plan.controls(enc, withhold=True))

    def draw(batch: int, first: int):
        return [(p, check_piece(p)) for p in sample(model, enc, replace(cfg, count=batch), first_index=first)]

    kept, attempts = draw_until_valid(draw, cfg.count, False, cfg.count, "lead sheets", progress=progress)

    def write(n: int, idx: int, frame, _check) -> GeneratedTune:
        withheld = sample(model, enc, withheld_cfg, first_index=idx)[0]  # the same seed, chords withheld
        stem = out / f"piece-{n:03d}"
        check, files, extra = finish_lead(plan, enc, frame, withheld, req, stem, f"{req.title} {n}")
        return GeneratedTune(stem.name, "", check, idx, files, extra)

    items = _written(kept, write, progress)
    settings = {"chords": req.chords, "proposed_by_model": not req.chords, "bars": plan.bars, "key": str(plan.key),
                "meter": f"{plan.time_signature[0]}/{plan.time_signature[1]}", "tempo": plan.tempo, "swing": req.swing,
                "accompaniment": req.accompaniment, "count": cfg.count, "seed": cfg.seed,
                "temperature": cfg.temperature, "top_k": cfg.top_k, "top_p": cfg.top_p, "formats": req.formats}
    report = GenerationReport(items, attempts, out, settings, asked=cfg.count, what="lead sheets",
                              summary=lead_summary(items, enc))
    write_atomic(out / "report.md", lead_markdown(report).encode())
    return _write_report(report)
