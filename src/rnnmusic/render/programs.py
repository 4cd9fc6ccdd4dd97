"""General MIDI programs (instruments) of a MIDI file's tracks: `--program` specs and `set_programs`.

A program spec is one of

* ``None``: keep the programs the file was written with (fiddle for ABC tunes, a MIDI file's own, piano
  for a MusicXML part that names none);
* ``40`` (an int, or the text "40"): every track that is not drums plays program 40;
* ``"1=73,2=40"`` (or the dict ``{1: 73, 2: 40}``): tracks by number, 1 being the first track that holds
  notes, in the order symusic reads them; the other tracks keep theirs.

Programs are General MIDI numbers 0..127 (0 piano, 40 violin, 73 flute). `parse_programs` checks a spec
once (a bad one is a one-line `UserError`); `set_programs` rewrites a MIDI file (through symusic) with it.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import UserError

#: int: every (non-drum) track; dict: 1-based track number -> program; None: keep the file's own.
Programs = int | dict[int, int] | None

SPEC_HELP = "a General MIDI program 0..127 for every track (40) or track=program pairs, tracks from 1 (1=73,2=40)"


def _program(value: object, spec: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 127:
        raise UserError(f"MIDI program must be an integer 0..127 (General MIDI), got {value!r}"
                        + (f" in {spec!r}" if str(spec).strip() != str(value) else ""))
    return value


def _track(value: object, spec: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(f"MIDI track numbers start at 1, got {value!r} in {spec!r}: give {SPEC_HELP}")
    return value


def parse_programs(spec: int | str | Mapping[int, int] | None) -> Programs:
    """A program spec (see the module) checked and normalised: None, an int, or {track number: program}."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    if isinstance(spec, Mapping):
        return {_track(k, spec): _program(v, spec) for k, v in spec.items()} or None
    if not isinstance(spec, str):
        return _program(spec, spec)
    if "=" not in spec:
        if not spec.strip().isdigit():
            raise UserError(f"bad MIDI program {spec!r}: give {SPEC_HELP}")
        return _program(spec, spec)
    out: dict[int, int] = {}
    for item in spec.split(","):
        track, eq, program = item.partition("=")
        if not eq or not track.strip() or not program.strip():
            raise UserError(f"bad MIDI program {spec!r}: give {SPEC_HELP}")
        out[_track(track.strip(), spec)] = _program(program.strip(), spec)
    return out


def set_programs(midi_path: str | Path, spec: int | str | Mapping[int, int] | None, *,
                 name: str | Path | None = None) -> Path:
    """Give the tracks of the MIDI file at `midi_path` the programs of `spec`, rewriting it (atomically) through
    symusic; nothing is done for None. UserError (naming `name`, default `midi_path`) when the spec is bad or
    names a track the file lacks."""
    import symusic

    from ..checkpoint import write_atomic

    midi_path = Path(midi_path)
    programs = parse_programs(spec)
    if programs is None:
        return midi_path
    score = symusic.Score.from_midi(midi_path.read_bytes())
    tracks = list(score.tracks)
    if isinstance(programs, int):
        for track in tracks:
            if not track.is_drum:
                track.program = programs
    else:
        missing = sorted(n for n in programs if n > len(tracks))
        if missing:
            raise UserError(f"{name or midi_path}: has {len(tracks)} track(s) with notes; no track {missing[0]} "
                            f"to set the program of")
        for number, program in programs.items():
            tracks[number - 1].program = program
    write_atomic(midi_path, bytes(score.dumps_midi()))
    return midi_path


def track_programs(midi_path: str | Path) -> list[int]:
    """The program of each track holding notes, in order (track 1 first)."""
    import symusic

    return [t.program for t in symusic.Score.from_midi(Path(midi_path).read_bytes()).tracks]
