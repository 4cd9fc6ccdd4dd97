"""What `--voice NAME|PATH`, `--voice-lines N` and `--perform KEY=VALUE,...` ask for, checked once, carried to
every rendering of audio (`render.files.render_item`)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from ..errors import UserError

DEFAULT_LINES = 4


@dataclass(frozen=True)
class VoiceChoice:
    voice: str
    lines: int = DEFAULT_LINES
    perform: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, voice: str | None, lines: int | None = None, perform: str | dict | None = None):
        """The choice, or None when no voice is asked for (then --voice-lines and --perform are errors)."""
        if not voice:
            if lines is not None or perform:
                raise UserError("--voice-lines and --perform need --voice NAME|PATH")
            return None
        if lines is not None and not 1 <= int(lines) <= 16:
            raise UserError(f"--voice-lines must be from 1 to 16, got {lines}")
        return cls(str(voice), DEFAULT_LINES if lines is None else int(lines), tuple(parse_perform(perform).items()))

    def render(self, midi_path: str | Path, sample_rate: int):
        """The MIDI file played by the voice: (samples (frames, 1), rate)."""
        from .player import render_midi

        return render_midi(midi_path, self.voice, sample_rate=sample_rate, lines=self.lines,
                           perform=dict(self.perform))


def parse_perform(spec: str | dict | None) -> dict[str, float]:
    """'attack_s=0.02,vibrato_cents=20' (or a dict) -> {name: value}, names checked against `Performance`."""
    from .perform import Performance

    if not spec:
        return {}
    items = spec.items() if isinstance(spec, dict) else (
        part.split("=", 1) if "=" in part else (part, "") for part in str(spec).split(",") if part.strip())
    known = {f.name for f in fields(Performance)}
    out = {}
    for key, value in items:
        key = str(key).strip()
        if key not in known:
            raise UserError(f"--perform: unknown setting {key!r}; known: {', '.join(sorted(known))}")
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            raise UserError(f"--perform: {key} needs a number, got {value!r}") from None
    Performance().adjusted(**out)  # ranges checked now, not at the first rendering
    return out
