"""From a trained model to files people can read, play and hear: sample, check, write ABC/MIDI/WAV, report."""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from .checkpoint import write_atomic
from .encodings import Encoding
from .errors import UserError
from .evaluate.abc_check import TuneCheck, check_tune, checks_table
from .model import MusicRNN
from .render.abc import tune_document, tunebook
from .sample import SampleConfig, generate

FORMATS = ("abc", "mid", "wav")


@dataclass
class GeneratedTune:
    name: str
    text: str                      # the complete ABC document (X:, T:, header, body)
    check: TuneCheck
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

    @property
    def valid(self) -> int:
        return sum(t.check.valid for t in self.tunes)

    def table(self) -> str:
        return checks_table([t.name for t in self.tunes], [t.check for t in self.tunes])

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "attempts": self.attempts, "count": len(self.tunes),
                "valid": self.valid, "tunes": [t.to_dict() for t in self.tunes]}


def parse_formats(spec: str | Sequence[str]) -> list[str]:
    items = [s.strip().lower() for s in (spec.split(",") if isinstance(spec, str) else spec) if s.strip()]
    items = ["mid" if s == "midi" else s for s in items]
    bad = [s for s in items if s not in FORMATS]
    if bad:
        raise UserError(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}")
    if "wav" in items and "mid" not in items:
        items.insert(0, "mid")  # audio is rendered from the MIDI file
    return items or ["abc"]


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
    program: int | None = None,
    min_bars: int = 8,
) -> GenerationReport:
    """Generate cfg.count tunes into out_dir as tune-NNN.{abc,mid,wav} with report.json.

    With only_valid, further tunes (next seeds) are drawn until cfg.count valid ones exist or max_attempts
    (default 10 x count) tunes were tried; invalid tunes are otherwise kept and marked. A tune of fewer than
    `min_bars` bars counts as an invalid fragment.
    """
    cfg.validate()
    fmts = parse_formats(formats)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{out}: cannot create output folder: {e.strerror or e}") from None
    max_attempts = max_attempts or 10 * cfg.count
    kept: list[tuple[int, str, TuneCheck]] = []  # (seed index, tune body, its check)
    attempts = 0
    while attempts < max_attempts:
        want = cfg.count - (sum(c.valid for _, _, c in kept) if only_valid else len(kept))
        if want <= 0:
            break
        batch = min(want if not only_valid else max(want, 4), max_attempts - attempts)
        bodies = generate(model, enc, SampleConfig(**{**cfg.__dict__, "count": batch}), first_index=attempts)
        for i, body in enumerate(bodies):
            kept.append((attempts + i, body, check_tune(tune_document(body, 1, title), min_bars=min_bars)))
        attempts += batch
        if not only_valid:
            break
    if only_valid:
        good = [k for k in kept if k[2].valid][: cfg.count]
        if len(good) < cfg.count:
            warnings.warn(
                f"only {len(good)} of {cfg.count} valid tunes after {attempts} attempts; keeping the best invalid ones too",
                stacklevel=2,
            )
            bad = sorted((k for k in kept if not k[2].valid), key=lambda k: k[2].bars_wrong)
            good += bad[: cfg.count - len(good)]
        kept = sorted(good, key=lambda k: k[0])
    tunes = []
    for n, (idx, body, check) in enumerate(kept, 1):
        name = f"tune-{n:03d}"
        text = tune_document(body, n, f"{title} {n}")
        tune = GeneratedTune(name, text, check, idx)
        tune.files = write_tune_files(text, out / name, fmts, soundfont=soundfont, program=program)
        tunes.append(tune)
    settings = {k: v for k, v in cfg.__dict__.items()} | {"formats": fmts, "only_valid": only_valid, "min_bars": min_bars}
    report = GenerationReport(tunes, attempts, out, settings)
    write_atomic(out / "report.json", (json.dumps(report.to_dict(), indent=2) + "\n").encode())
    return report


def write_tune_files(text: str, stem: Path, formats: Sequence[str], *, soundfont: str | None = None,
                     program: int | None = None) -> dict[str, str]:
    """Write one tune as stem.abc / .mid / .wav; a rendering failure is reported, never fatal."""
    from .render.audio import midi_to_wav
    from .render.midi import abc_to_midi

    files: dict[str, str] = {}
    abc_path = stem.with_suffix(".abc")
    write_atomic(abc_path, text.encode())
    files["abc"] = str(abc_path)
    if "mid" in formats:
        try:
            files["mid"] = str(abc_to_midi(text, stem.with_suffix(".mid"), program=program))
        except UserError as e:
            warnings.warn(str(e), stacklevel=2)
            return files
    if "wav" in formats and "mid" in files:
        try:
            files["wav"] = str(midi_to_wav(Path(files["mid"]), stem.with_suffix(".wav"),
                                           soundfont=Path(soundfont) if soundfont else None))
        except UserError as e:
            warnings.warn(str(e), stacklevel=2)
    return files


def write_samples(model: MusicRNN, enc: Encoding, folder: Path, stem: str, *, count: int, max_length: int,
                  temperature: float, seed: int) -> str:
    """Training-time samples: one tunebook folder/stem.abc and folder/stem.json with each tune's checks."""
    bodies = generate(model, enc, SampleConfig(count=count, max_length=max_length, temperature=temperature, seed=seed))
    book = tunebook(bodies, title=stem)
    checks = [check_tune(tune_document(b, i + 1)) for i, b in enumerate(bodies)]
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{stem}.abc", book.encode())
    valid = sum(c.valid for c in checks)
    write_atomic(folder / f"{stem}.json", (json.dumps(
        {"count": count, "valid": valid, "temperature": temperature, "seed": seed,
         "tunes": [c.to_dict() for c in checks]}, indent=2) + "\n").encode())
    return f"{valid}/{count} valid -> {folder / (stem + '.abc')}"
