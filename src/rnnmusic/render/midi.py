"""Writing MIDI files: ABC text (`abc_to_midi`), a MIDI file's own tracks (`copy_midi`), a music21 stream's
parts as tracks (`write_stream_midi`). Programs (instruments) are set afterwards by `programs.set_programs`.

`abc_to_midi` uses the ``abc2midi`` program (package ``abcmidi``) when it is installed: it has the best
ABC support (repeats and first/second endings are expanded, grace notes, broken rhythms, ``%%MIDI``
directives). When abc2midi is missing, or fails on a tune, it falls back to music21
(``converter.parse`` + ``write('midi')``, repeats expanded where music21 can) and emits ONE Python
warning (category `MissingToolWarning`, a `UserWarning`) saying so. When both fail it raises
`rnnmusic.errors.UserError`.

Environment variables
---------------------
``RNNMUSIC_NO_ABC2MIDI=1``
    Behave as if abc2midi were not installed (forces the music21 fallback; `check_tune` then reports
    ``abc2midi_ok=None``). Meant for tests and for comparing the two converters.
``RNNMUSIC_ABC2MIDI=/path/to/abc2midi``
    Use this abc2midi executable instead of the one on ``$PATH``.

Every external program is run with an argument list (never a shell string) and a timeout.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError, one_line
from ..music21_compat import unshare_marks
from .abc_score import parse_abc_quietly

__all__ = [
    "DEFAULT_PROGRAM",
    "ENV_NO_ABC2MIDI",
    "ENV_ABC2MIDI",
    "MissingToolWarning",
    "HARMLESS_ABC2MIDI_ERRORS",
    "Abc2MidiResult",
    "abc_to_midi",
    "copy_midi",
    "find_abc2midi",
    "run_abc2midi",
    "temp_sibling",
    "write_stream_midi",
]

#: General MIDI program used when `abc_to_midi` is called with ``program=None``: 40 = Violin (fiddle),
#: the usual instrument for the folk tunes this toolkit learns. Change it here (or pass ``program=``).
DEFAULT_PROGRAM = 40

ENV_NO_ABC2MIDI = "RNNMUSIC_NO_ABC2MIDI"
ENV_ABC2MIDI = "RNNMUSIC_ABC2MIDI"

#: Seconds abc2midi may run on one tune before it counts as failed.
ABC2MIDI_TIMEOUT_S = 30.0

_TRUE = {"1", "true", "yes", "on"}
_ERROR_LINE = re.compile(r"^\s*Error\b")
_LINE_CHAR = re.compile(r"line-char (\d+)-(\d+)")
# a decoration before a bar line, a slur, a grace group or a chord symbol (not before "[": abc2midi then misreads
# what follows, "H[|]" as a chord)
_MISPLACED_DECORATION = re.compile(r'(?:[~.HLMOPSTuv]|![^!\s]{1,30}!) *[|:({"]')
_FERMATA_NOTE_BEFORE = re.compile(r"(?:H|!fermata!)[=^_]*[A-Ga-g][,']*\d*/*\d*[<>]+$")


def _decoration_not_on_a_note(line: str, col: int) -> bool:
    """A decoration before a bar line, slur, grace group or chord symbol instead of before its note (``H|]``,
    ``~(fed)``): abc2midi drops that one decoration and plays every note."""
    return _MISPLACED_DECORATION.match(line, col) is not None


def _broken_rhythm_abc2midi_cannot_shape(line: str, col: int) -> bool:
    """No > or < before the place (abc2midi's own R:hornpipe swing meets a pair of unequal notes: the notes play
    as written), a staccato on the second note (``d>.e``) or a fermata on the first (``Hg>e``, abc2midi lengthens
    it): abc2midi shapes the pair differently, every other note stays where it belongs."""
    before = line[:col].rstrip("( ")
    return (not before.endswith((">", "<")) or line[col:col + 1] == "."
            or _FERMATA_NOTE_BEFORE.search(before) is not None)


def _invisible_bar(line: str, col: int) -> bool:
    """ABC 2.1's invisible bar line ``[|]`` (abc2midi names its ``]`` or the next): the notes as without it."""
    return "[|]" in line[max(col - 4, 0):col + 1]


#: abc2midi "Error" lines on tunes it still plays right (each checked on real tunes: bench/abc_checker): the
#: message, and a test of the ABC line and character the error names (None: anywhere). Other Error lines fail.
HARMLESS_ABC2MIDI_ERRORS = (
    # R:hornpipe in a meter other than 2/4 or 4/4 (M:C|): abc2midi plays every note in place, swinging a>b 2:1
    (re.compile(r"Hornpipe must be in 2/4 or 4/4 time"), None),
    # a first ending in a section opened by :| rather than |: (ABC lets |: be left out): the same MIDI as with |:
    (re.compile(r"found \[1 or like before \|:"), None),
    # P:ABA (the order of the parts) before K:, where ABC puts it: abc2midi still plays the parts in that order
    (re.compile(r"P: field in header should go after K: field"), None),
    # a text field after K: (R:, N: -- which ABC 2.1 allows there --, C:, Z:, ...): abc2midi skips it, same MIDI
    (re.compile(r"Field not allowed in tune body"), None),
    (re.compile(r"Malformed note : expecting a-g or A-G"), _decoration_not_on_a_note),
    (re.compile(r"Cannot apply broken rhythm"), _broken_rhythm_abc2midi_cannot_shape),
    (re.compile(r"Chord already finished"), _invisible_bar),
)
_K_LINE = re.compile(r"^\s*K:")


class MissingToolWarning(UserWarning):
    """An external tool (abc2midi, fluidsynth, a SoundFont) is missing or failed; a weaker fallback is used."""


def env_flag(name: str) -> bool:
    """True when environment variable `name` is set to 1/true/yes/on (case-insensitive)."""
    return os.environ.get(name, "").strip().lower() in _TRUE


def find_abc2midi() -> str | None:
    """Path of the abc2midi executable, or None when absent or hidden by ``RNNMUSIC_NO_ABC2MIDI=1``.

    ``RNNMUSIC_ABC2MIDI`` may name the executable explicitly; otherwise ``$PATH`` is searched.
    """
    if env_flag(ENV_NO_ABC2MIDI):
        return None
    explicit = os.environ.get(ENV_ABC2MIDI, "").strip()
    if explicit:
        return shutil.which(explicit)
    return shutil.which("abc2midi")


@dataclass
class Abc2MidiResult:
    ok: bool
    error: str | None  # first error line (or why it failed); None when ok
    notes: int  # notes in the written MIDI file (0 when none was written)
    output: str  # abc2midi's stdout + stderr


def _count_midi_notes(path: Path) -> int:
    import symusic

    score = symusic.Score.from_midi(Path(path).read_bytes())
    return sum(len(track.notes) for track in score.tracks)


def _harmless(error: str, abc_lines: list[str]) -> bool:
    """Whether an abc2midi Error line is one of `HARMLESS_ABC2MIDI_ERRORS`, where it has to stand."""
    for message, test in HARMLESS_ABC2MIDI_ERRORS:
        if not message.search(error):
            continue
        if test is None:
            return True
        m = _LINE_CHAR.search(error)
        return m is not None and 0 < int(m.group(1)) <= len(abc_lines) and test(abc_lines[int(m.group(1)) - 1],
                                                                              int(m.group(2)))
    return False


def run_abc2midi(exe: str, abc_path: Path, mid_path: Path, *, timeout: float = ABC2MIDI_TIMEOUT_S) -> Abc2MidiResult:
    """Run ``abc2midi abc_path -o mid_path``; judge the result.

    abc2midi exits 0 even on errors, so failure means: an ``Error ...`` line in its output (other than the
    harmless ones of `HARMLESS_ABC2MIDI_ERRORS`), a non-zero exit status, a timeout, or a missing / unreadable /
    note-less MIDI file.
    """
    try:
        proc = subprocess.run(
            [exe, str(abc_path), "-o", str(mid_path)],
            capture_output=True, text=True, errors="replace", timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return Abc2MidiResult(False, f"abc2midi timed out after {timeout:g} s", 0, "")
    except OSError as exc:
        return Abc2MidiResult(False, f"cannot run abc2midi: {exc}", 0, "")
    output = (proc.stdout or "") + (proc.stderr or "")
    abc_lines = Path(abc_path).read_text(encoding="utf-8", errors="replace").splitlines()
    error_lines = [line.strip() for line in output.splitlines()
                   if _ERROR_LINE.match(line) and not _harmless(line, abc_lines)]
    notes = 0
    problem: str | None = None
    if not mid_path.is_file() or mid_path.stat().st_size == 0:
        problem = "abc2midi wrote no MIDI file"
    else:
        try:
            notes = _count_midi_notes(mid_path)
        except Exception as exc:  # symusic raises plain RuntimeError/ValueError on a broken file
            problem = f"abc2midi wrote an unreadable MIDI file ({exc})"
        else:
            if notes == 0:
                problem = "abc2midi wrote a MIDI file without notes"
    if error_lines:
        return Abc2MidiResult(False, error_lines[0], notes, output)
    if proc.returncode != 0:
        last = output.strip().splitlines()[-1] if output.strip() else ""
        why = f"abc2midi exited with status {proc.returncode}: {last}".rstrip(": ")
        return Abc2MidiResult(False, why, notes, output)
    if problem:
        return Abc2MidiResult(False, problem, notes, output)
    return Abc2MidiResult(True, None, notes, output)


def _with_program(abc_text: str, program: int) -> str:
    """Insert ``%%MIDI program N`` right after the first K: line (the start of the tune body).

    A ``%%MIDI program`` line inside the body itself still takes effect from where it stands.
    """
    lines = abc_text.splitlines()
    for i, line in enumerate(lines):
        if _K_LINE.match(line):
            lines.insert(i + 1, f"%%MIDI program {program}")
            return "\n".join(lines) + "\n"
    return abc_text if abc_text.endswith("\n") else abc_text + "\n"


def temp_sibling(out_path: Path) -> Path:
    """An unused hidden name next to `out_path` for writing it atomically (write there, then os.replace).

    The folder is created when missing (a one-line UserError naming `out_path` when it cannot be). The file is
    not created here, so whoever writes it gives it the usual (umask) permissions.
    """
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out_path}: cannot create the folder: {exc.strerror or exc}") from None
    return out_path.parent / f".{out_path.name}.{uuid.uuid4().hex[:12]}.tmp"


def _convert_abc2midi(exe: str, abc_text: str, program: int, tmp_out: Path) -> str | None:
    """Convert with abc2midi into `tmp_out`; None on success, else the reason it failed."""
    with tempfile.TemporaryDirectory(prefix="rnnmusic-abc2midi-") as tmp:
        abc_path = Path(tmp) / "tune.abc"
        mid_path = Path(tmp) / "tune.mid"
        abc_path.write_text(_with_program(abc_text, program), encoding="utf-8")
        result = run_abc2midi(exe, abc_path, mid_path)
        if not result.ok:
            return result.error or "abc2midi failed"
        shutil.copyfile(mid_path, tmp_out)
    return None


def _convert_music21(abc_text: str, program: int, tmp_out: Path) -> None:
    """Convert with music21 into `tmp_out` (raises on failure)."""
    from music21 import instrument, stream

    parsed = parse_abc_quietly(abc_text)
    if not parsed.recurse().notes:
        raise ValueError("music21 found no notes")
    playable = stream.Score()
    for part in list(parsed.parts) or [parsed]:
        unshare_marks(part)  # music21's ABC reader shares one mark between measures; its MIDI writer fails
        # expanding repeats needs measures (music21 makes them from >= 2 plain bar lines); without measures or with
        # malformed repeats the written notes play once
        with contextlib.suppress(Exception):
            part = part.expandRepeats()
        for old in list(part.recurse().getElementsByClass(instrument.Instrument)):
            if old.activeSite is not None:
                old.activeSite.remove(old)
        inst = instrument.Instrument()
        inst.midiProgram = program
        part.insert(0, inst)
        playable.insert(0, part)
    _write_music21_midi(playable, tmp_out)


def _write_music21_midi(stream, out: Path) -> None:
    """music21's MIDI file of `stream` (one track per part) at `out`, rewritten through symusic: some files
    music21 writes make FluidSynth's renderer never stop. Raises on failure."""
    import symusic

    stream.write("midi", fp=str(out))
    if not out.is_file() or out.stat().st_size == 0:
        raise ValueError("music21 wrote no MIDI file")
    out.write_bytes(symusic.Score.from_midi(out.read_bytes()).dumps_midi())


def write_stream_midi(stream, out_path: Path) -> Path:
    """Write a music21 stream (a MusicXML score, say) as a MIDI file, one track per part with the part's
    program (music21 gives piano, 0, to a part naming no instrument). Atomic; UserError on failure."""
    out_path = Path(out_path)
    tmp_out = temp_sibling(out_path)
    try:
        _write_music21_midi(stream, tmp_out)
        os.replace(tmp_out, out_path)
    except Exception as exc:
        raise UserError(f"{out_path}: music21 cannot write this as MIDI: {one_line(exc)}") from None
    finally:
        if tmp_out.exists():
            tmp_out.unlink()
    return out_path


def copy_midi(source: Path, out_path: Path) -> Path:
    """Re-write the MIDI file `source` at `out_path` through symusic: every track kept with its program,
    tempo and metre (symusic drops tracks without notes). Atomic; UserError when `source` is unreadable."""
    import symusic

    from ..checkpoint import write_atomic

    out_path = Path(out_path)
    try:
        data = symusic.Score.from_midi(Path(source).read_bytes()).dumps_midi()
    except Exception as exc:
        raise UserError(f"{source}: not a readable MIDI file ({one_line(exc, 120)})") from None
    write_atomic(out_path, bytes(data))
    return out_path


def abc_to_midi(abc_text: str, out_path: Path, *, program: int | str | dict[int, int] | None = None) -> Path:
    """Write `abc_text` (one tune, starting with X:) as a standard MIDI file at `out_path`.

    `program` is the General MIDI program of the melody (0..127); None means `DEFAULT_PROGRAM`
    (40, violin); a per-track spec ("1=73,2=40", see `programs`) is applied to the written file.
    abc2midi is used when available; otherwise, or when it fails on this tune, music21
    converts it and one `MissingToolWarning` is emitted. The file is written atomically (temp file in
    the same folder, then rename). Raises UserError("<out_path>: cannot convert ABC to MIDI: <reason>")
    when no converter manages it. Returns `out_path`.
    """
    from .programs import parse_programs, set_programs

    out_path = Path(out_path)
    programs = parse_programs(program)
    prog = programs if isinstance(programs, int) else DEFAULT_PROGRAM
    if not abc_text.strip():
        raise UserError(f"{out_path}: cannot convert ABC to MIDI: the ABC text is empty")
    tmp_out = temp_sibling(out_path)
    try:
        exe = find_abc2midi()
        abc2midi_problem = "abc2midi not found" if exe is None else _convert_abc2midi(exe, abc_text, prog, tmp_out)
        if abc2midi_problem is not None:
            try:
                _convert_music21(abc_text, prog, tmp_out)
            except Exception as exc:
                reason = f"{abc2midi_problem}; music21: {one_line(exc)}"
                raise UserError(f"{out_path}: cannot convert ABC to MIDI: {reason}") from None
            if exe is None:
                msg = "abc2midi not found: converting ABC to MIDI with music21 (weaker ABC support)"
            else:
                msg = f"abc2midi failed on this tune ({abc2midi_problem}): converted with music21 instead"
            warnings.warn(msg, MissingToolWarning, stacklevel=2)
        if isinstance(programs, dict):
            set_programs(tmp_out, programs, name=out_path)
        os.replace(tmp_out, out_path)
    finally:
        if tmp_out.exists():
            tmp_out.unlink()
    return out_path
