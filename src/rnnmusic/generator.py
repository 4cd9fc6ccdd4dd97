"""From a trained model to files people can read, play and hear: sample, check, write files, report.

ABC encodings give tunes (checked as ABC: header, parsers, bar lengths) written as .abc/.mid/.wav;
MIDI-side encodings give Pieces (checked for collapse into one note, one chord or silence) written as
.mid/.wav/.roll.png (piano-roll picture), optionally transposed to a requested key. Every format is written
by `render.files.render_item`, as `rnnmusic render` writes it (flac, musicxml, svg/png/pdf sheet music ...).
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .checkpoint import write_atomic
from .encodings import Encoding
from .errors import UserError
from .evaluation.abc_check import MIN_BARS, TuneCheck, checks_table, tune_verdict
from .evaluation.piece_check import PieceCheck, check_piece, piece_table
from .model import MusicRNN
from .render.abc import tune_document, tunebook
from .sampler import SampleConfig, generate

FORMATS = ("abc", "mid", "wav", "flac", "musicxml", "svg", "png", "pdf", "roll")
PIECE_FORMATS = ("mid", "wav", "flac", "musicxml", "svg", "png", "pdf", "abc", "roll")


@dataclass
class GeneratedTune:
    name: str
    text: str                      # the complete ABC document (X:, T:, header, body); "" for MIDI pieces
    check: TuneCheck | PieceCheck
    seed_index: int
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "valid": self.check.valid, "seed_index": self.seed_index,
                "check": self.check.to_dict(), "files": self.files}


@dataclass
class GenerationReport:
    tunes: list[GeneratedTune]
    attempts: int
    out_dir: Path
    settings: dict[str, Any]
    asked: int = 0          # how many were asked for
    what: str = "tunes"

    @property
    def valid(self) -> int:
        return sum(t.check.valid for t in self.tunes)

    @property
    def shortfall(self) -> str | None:
        """With only_valid, "only N of COUNT valid tunes after M attempts" when fewer were found; else None."""
        if not self.settings.get("only_valid") or len(self.tunes) >= self.asked:
            return None
        return shortfall_message(len(self.tunes), self.asked, self.what, self.attempts)

    def table(self) -> str:
        names, checks = [t.name for t in self.tunes], [t.check for t in self.tunes]
        if checks and isinstance(checks[0], PieceCheck):
            return piece_table(names, checks)
        return checks_table(names, checks)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "attempts": self.attempts, "asked": self.asked, "count": len(self.tunes),
                "valid": self.valid, "shortfall": self.shortfall, "tunes": [t.to_dict() for t in self.tunes]}


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


def generate_tunes(
    model: MusicRNN,
    enc: Encoding,
    cfg: SampleConfig,
    out_dir: str | Path,
    *,
    formats: str | Sequence[str] = ("abc",),
    only_valid: bool = False,
    max_attempts: int | None = None,
    title: str = "rnnmusic",
    soundfont: str | None = None,
    program: int | str | dict[int, int] | None = None,
    min_bars: int = MIN_BARS,
    progress: Callable[[str, int, int], None] | None = None,
) -> GenerationReport:
    """Generate cfg.count tunes into out_dir as tune-NNN.{abc,mid,wav} with report.json.

    Each tune is judged by `abc_check.tune_verdict` (what `evaluate` says of the written file too). With
    only_valid, further tunes (next seeds) are drawn until cfg.count valid ones exist or max_attempts (default
    10 x count) tunes were tried, and only valid ones are written: fewer when fewer were found (the report's
    `shortfall` says how many); invalid tunes are otherwise kept and marked. A tune of fewer than `min_bars` bars
    counts as an invalid fragment. `progress(stage, done, total)`, when given, is called as
    work goes ("sampling" then "rendering" once per tune). `program`: General MIDI programs of the MIDI file,
    40 (default, fiddle) or "1=73,2=40" by track (`render.programs`).
    """
    from .render.programs import parse_programs

    cfg.validate()
    fmts = parse_formats(formats)
    program = parse_programs(program)
    out = _out_dir(out_dir)
    def draw(batch: int, first: int):
        bodies = generate(model, enc, SampleConfig(**{**cfg.__dict__, "count": batch}), first_index=first)
        return [(body, tune_verdict(tune_document(body, 1, title), min_bars=min_bars)) for body in bodies]

    kept, attempts = draw_until_valid(draw, cfg.count, only_valid, max_attempts or 10 * cfg.count, "tunes",
                                      progress=progress)
    tunes = []
    for n, (idx, body, check) in enumerate(kept, 1):
        if progress is not None:
            progress("rendering", n - 1, len(kept))
        name = f"tune-{n:03d}"
        text = tune_document(body, n, f"{title} {n}")
        tune = GeneratedTune(name, text, check, idx)
        tune.files = write_tune_files(text, out / name, fmts, soundfont=soundfont, program=program)
        tunes.append(tune)
    settings = {k: v for k, v in cfg.__dict__.items()} | {"formats": fmts, "only_valid": only_valid, "min_bars": min_bars}
    report = GenerationReport(tunes, attempts, out, settings, asked=cfg.count)
    write_atomic(out / "report.json", (json.dumps(report.to_dict(), indent=2) + "\n").encode())
    return report


def write_tune_files(text: str, stem: Path, formats: Sequence[str], *, soundfont: str | None = None,
                     program: int | str | dict[int, int] | None = None) -> dict[str, str]:
    """Write one tune as stem.abc and, through `render.files.render_item` (what `rnnmusic render` uses), as the
    other formats asked for; a rendering failure is a warning, never fatal."""
    abc_path = stem.with_suffix(".abc")
    write_atomic(abc_path, text.encode())
    return {"abc": str(abc_path)} | _rendered(stem, [f for f in formats if f != "abc"], abc=text, program=program,
                                                soundfont=soundfont, source=str(abc_path))


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
    from dataclasses import replace

    from .keys import estimate_key, transpose_to

    d = enc.piece_defaults
    piece = replace(piece, tempo=float(tempo or d.get("tempo") or piece.tempo),
                    time_signature=tuple(d.get("time_signature") or piece.time_signature),
                    program=int(program if program is not None else d.get("program", piece.program)))
    if key:
        try:
            return transpose_to(piece, key)
        except ValueError as e:
            warnings.warn(f"cannot transpose to {key}: {e}; kept in its own key", stacklevel=2)
    if len(piece):
        piece.key = str(estimate_key(piece).key)
    return piece


def generate_pieces(
    model: MusicRNN,
    enc: Encoding,
    cfg: SampleConfig,
    out_dir: str | Path,
    *,
    formats: str | Sequence[str] = ("mid",),
    only_valid: bool = False,
    max_attempts: int | None = None,
    key: str | None = None,
    tempo: float | None = None,
    program: int | str | dict[int, int] | None = None,
    soundfont: str | None = None,
    title: str = "rnnmusic",
    min_bars: float = 0.0,
    progress: Callable[[str, int, int], None] | None = None,
) -> GenerationReport:
    """Generate cfg.count MIDI-side pieces into out_dir as piece-NNN.{mid,wav,roll.png} with report.json.

    Pieces that collapsed (one note, one chord, silence) or are fragments (fewer than `min_bars` bars) are
    flagged; with only_valid, further pieces are drawn (bounded by max_attempts, default 5 x count) until
    cfg.count valid ones exist. `progress` as for `generate_tunes`. `program`: the General MIDI program of the
    piece's one track, 73 or "1=73" (`render.programs`); default the corpus'.
    """
    from .keys import parse_key
    from .render.programs import parse_programs

    cfg.validate()
    fmts = parse_formats(formats, PIECE_FORMATS)
    spec, program = program, parse_programs(program)
    if isinstance(program, dict):  # a generated piece is one track
        if set(program) != {1}:
            raise UserError(f"a generated piece has one track: give --program N or 1=N, not {spec!r}")
        program = program[1]
    if key:
        key = str(parse_key(key))
    out = _out_dir(out_dir)
    def draw(batch: int, first: int):
        pieces = generate(model, enc, SampleConfig(**{**cfg.__dict__, "count": batch}), first_index=first)
        pieces = [finish_piece(p, enc, key=key, tempo=tempo, program=program) for p in pieces]
        return [(p, check_piece(p, min_bars)) for p in pieces]

    kept, attempts = draw_until_valid(draw, cfg.count, only_valid, max_attempts or 5 * cfg.count, "pieces",
                                      progress=progress)
    items = []
    for n, (idx, piece, check) in enumerate(kept, 1):
        if progress is not None:
            progress("rendering", n - 1, len(kept))
        item = GeneratedTune(f"piece-{n:03d}", "", check, idx)
        item.files = write_piece_files(piece, out / item.name, fmts, soundfont=soundfont, title=f"{title} {n}")
        items.append(item)
    settings = {k: v for k, v in cfg.__dict__.items() if k != "prime"} | {
        "primed": bool(cfg.prime is not None and not isinstance(cfg.prime, str)),
        "formats": fmts, "only_valid": only_valid, "key": key, "tempo": tempo, "program": program, "min_bars": min_bars}
    report = GenerationReport(items, attempts, out, settings, asked=cfg.count, what="pieces")
    write_atomic(out / "report.json", (json.dumps(report.to_dict(), indent=2) + "\n").encode())
    return report


def write_piece_files(piece, stem: Path, formats: Sequence[str], *, soundfont: str | None = None,
                      title: str = "") -> dict[str, str]:
    """Write one piece in each of `formats` through `render.files.render_item` (as `rnnmusic render` does);
    a rendering failure is a warning, never fatal."""
    return _rendered(stem, formats, piece=piece, title=title, soundfont=soundfont, source=str(stem))


def write_samples(model: MusicRNN, enc: Encoding, folder: Path, stem: str, *, count: int, max_length: int,
                  temperature: float, seed: int) -> str:
    """Training-time samples: ABC encodings write one tunebook folder/stem.abc, MIDI-side encodings
    folder/stem-N.mid; both write folder/stem.json with each piece's checks."""
    if enc.piece_format == "midi":
        report = generate_pieces(model, enc, SampleConfig(count=count, max_length=max_length, temperature=temperature,
                                                          seed=seed), folder / stem, formats=("mid", "roll"))
        return f"{report.valid}/{count} valid (not collapsed) -> {folder / stem}/"
    bodies = generate(model, enc, SampleConfig(count=count, max_length=max_length, temperature=temperature, seed=seed))
    book = tunebook(bodies, title=stem)
    checks = [tune_verdict(tune_document(b, i + 1)) for i, b in enumerate(bodies)]
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{stem}.abc", book.encode())
    valid = sum(c.valid for c in checks)
    write_atomic(folder / f"{stem}.json", (json.dumps(
        {"count": count, "valid": valid, "temperature": temperature, "seed": seed,
         "tunes": [c.to_dict() for c in checks]}, indent=2) + "\n").encode())
    return f"{valid}/{count} valid -> {folder / (stem + '.abc')}"
