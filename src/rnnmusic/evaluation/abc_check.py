"""Checking generated ABC tunes: header, music21 parse, abc2midi conversion, bar lengths.

`check_tune(text)` returns a `TuneCheck`; `checks_table(names, checks)` prints many as a table.
The tune ends at the first blank line after its K: line (the ABC rule); text after it is not checked.

What is checked
---------------
header
    The tune opens with ``X:`` and has ``M:`` and ``K:`` fields, ``K:`` being the last header line before
    the body (a music line before any ``K:`` means the header has no ``K:``). ``L:`` is optional: ABC's
    default unit length follows from the meter (1/16 below 3/4, else 1/8), as music21, abc2midi and the
    bar guard apply it.
music21
    ``music21.converter.parse(text, format='abc')`` succeeds and yields at least one note.
abc2midi
    ``abc2midi tune.abc -o tune.mid`` prints no ``Error`` line and writes a MIDI file with notes (Error lines on
    tunes abc2midi still plays right do not count: `render.midi.HARMLESS_ABC2MIDI_ERRORS`).
    ``None`` when abc2midi is not installed (or hidden with ``RNNMUSIC_NO_ABC2MIDI=1``); a missing
    abc2midi does not make a tune invalid, and one `MissingToolWarning` says it was skipped.
bars
    Every measure music21 parsed must last the bar length of the meter (in quarter notes). A short bar
    is allowed first (pickup), last, and directly next to a section boundary (``|:``, ``:|``, ``||``,
    ``|]``, first/second endings), where the pickup/completion pair sits. An over-long bar is always
    wrong. No ``M:``, ``M:none`` or a meter change inside the body skip the bar check
    (``bars_checked=False``).

    music21's ABC reader normally "re-bars" an over-long measure by splitting it in two (and inventing a
    time signature for the remainder), which would hide the very error we look for; this module parses
    with that repair switched off (`render.abc_score.parse_abc_quietly(text, rebar=False)`), so measures
    are exactly the bars written in the ABC. Bars are numbered from 1 in the order written, an opening pickup being
    bar 1.
    music21 misreads a few things real tunes write (a fermata ``H``, a grace group opening a tuplet, several
    voices...): it reads a copy with them rewritten, same notes, same lengths (`abc_music21.for_music21`).
fragments
    `tune_verdict` -- the one verdict of `generate`, `evaluate` and the studio -- also calls a tune of fewer
    than `MIN_BARS` bars a fragment, invalid; `check_tune` alone does so only when given ``min_bars``.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
import warnings
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

from ..errors import one_line
from ..render.abc_score import parse_abc_quietly
from ..render.midi import MissingToolWarning, find_abc2midi, run_abc2midi
from .abc_music21 import for_music21

__all__ = ["MIN_BARS", "TuneCheck", "check_tune", "checks_table", "tune_verdict"]

REQUIRED_FIELDS = ("X:", "M:", "K:")  # L: may be left out: its default follows from the meter
MIN_BARS = 8  # `tune_verdict`: a generated tune with fewer bars is a fragment

_FIELD_LINE = re.compile(r"^([A-Za-z+]):")
_BODY_METER = re.compile(r"^\s*M:|\[M:")
_BOUNDARY_TYPES = {"double", "final", "heavy", "heavy-light", "light-heavy", "heavy-heavy"}
_EPS = 1e-6


@dataclass
class TuneCheck:
    header_ok: bool
    missing_fields: list[str]
    music21_ok: bool
    music21_error: str | None
    abc2midi_ok: bool | None
    abc2midi_error: str | None
    bars_total: int
    bars_wrong: int
    bar_errors: list[str]
    notes: int
    meter: str | None = None  # the header M: value, None when absent
    bars_checked: bool = True  # False when the bar check was skipped (no meter, M:none, meter changes)
    min_bars: int = 0  # a tune with fewer bars is a fragment, not a tune (0 = no minimum)

    @property
    def valid(self) -> bool:
        return (
            self.header_ok
            and self.music21_ok
            and self.abc2midi_ok is not False
            and self.bars_wrong == 0
            and self.notes > 0
            and self.bars_total >= self.min_bars
        )

    def first_problem(self) -> str | None:
        """A one-line reason why the tune is invalid (None when valid)."""
        if not self.header_ok:
            return "header lacks " + ", ".join(self.missing_fields)
        if not self.music21_ok:
            return f"music21: {self.music21_error}"
        if self.abc2midi_ok is False:
            return f"abc2midi: {self.abc2midi_error}"
        if self.bar_errors:
            return self.bar_errors[0] + (f" (+{len(self.bar_errors) - 1} more)" if len(self.bar_errors) > 1 else "")
        if self.notes <= 0:
            return "no notes"
        if self.bars_total < self.min_bars:
            return f"only {self.bars_total} bars, fewer than {self.min_bars}: a fragment"
        return None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["valid"] = self.valid
        return d


# ----------------------------------------------------------------------------------------------- header
def _split_header(text: str) -> tuple[list[str], str | None, list[str], str]:
    """(missing fields, header meter, body lines, the tune text to check).

    The tune ends at the first blank line after K: (the ABC rule); anything after it is not checked.
    """
    lines = text.splitlines()
    seen: list[str] = []
    meter: str | None = None
    body_start = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            if not stripped and seen:
                break  # a blank line inside the header ends the tune: K: never came
            continue
        m = _FIELD_LINE.match(stripped)
        if not m:
            break  # music before K:
        letter = m.group(1)
        seen.append(letter)
        if letter == "M":
            meter = stripped[2:].split("%", 1)[0].strip()
        if letter == "K":
            body_start = i + 1
            break
    missing = [f for f in REQUIRED_FIELDS if f[0] not in seen]
    if seen and seen[0] != "X" and "X:" not in missing:
        missing.insert(0, "X:")  # X: must open the tune
    if body_start is None:
        return missing, meter, [], text
    body_end = len(lines)
    for j in range(body_start, len(lines)):
        if not lines[j].strip():
            body_end = j
            break
    tune = "\n".join(lines[:body_end]) + "\n"
    return missing, meter, lines[body_start:body_end], tune


# ---------------------------------------------------------------------------------------------- music21


def _parse_music21(text: str):
    return parse_abc_quietly(for_music21(text), rebar=False)


def _count_notes(score) -> int:
    """Sounding note onsets: chord pitches count singly; tie continuations, chord symbols, rests do not."""
    from music21 import chord, harmony, note

    count = 0
    for n in score.recurse().notes:
        if isinstance(n, harmony.Harmony):
            continue
        if n.tie is not None and n.tie.type in ("stop", "continue"):
            continue
        if isinstance(n, chord.Chord):
            count += len(n.pitches)
        elif isinstance(n, note.Note):
            count += 1
    return count


# ------------------------------------------------------------------------------------------------- bars
def _is_boundary(barline) -> bool:
    from music21 import bar

    if barline is None:
        return False
    if isinstance(barline, bar.Repeat):
        return True
    return isinstance(barline, bar.Barline) and barline.type in _BOUNDARY_TYPES


def _fmt(ql: float) -> str:
    x = round(float(ql), 3)
    return f"{x:.1f}" if x == int(x) or round(x, 1) == x else f"{x:g}"


def _check_bars(score) -> tuple[int, int, list[str]]:
    from music21 import spanner

    total = wrong = 0
    errors: list[str] = []
    parts = list(score.parts) or [score]
    for pi, part in enumerate(parts):
        measures = [m for m in part.getElementsByClass("Measure") if m.duration.quarterLength > _EPS or m.notesAndRests]
        prefix = f"voice {pi + 1} " if len(parts) > 1 else ""
        if not measures:
            if part.recurse().notes:
                wrong += 1
                errors.append(f"{prefix}no bars: music21 needs at least two plain bar lines (|) to measure the tune")
            continue
        index = {id(m): i for i, m in enumerate(measures)}
        after_boundary = [False] * len(measures)  # a section boundary on the left of measure i
        before_boundary = [False] * len(measures)  # a section boundary on the right of measure i
        for i, m in enumerate(measures):
            if _is_boundary(m.leftBarline):
                after_boundary[i] = True
                if i > 0:
                    before_boundary[i - 1] = True
            if _is_boundary(m.rightBarline):
                before_boundary[i] = True
                if i + 1 < len(measures):
                    after_boundary[i + 1] = True
        for rb in part.getElementsByClass(spanner.RepeatBracket):
            spanned = [index[id(m)] for m in rb.getSpannedElements() if id(m) in index]
            if not spanned:
                continue
            first, last = min(spanned), max(spanned)
            after_boundary[first] = True
            before_boundary[last] = True
            if first > 0:
                before_boundary[first - 1] = True
            if last + 1 < len(measures):
                after_boundary[last + 1] = True

        ts = None
        for i, m in enumerate(measures):
            if m.timeSignature is not None:
                ts = m.timeSignature
            if ts is None:
                continue
            want = Fraction(ts.barDuration.quarterLength).limit_denominator(10_000)
            have = Fraction(m.duration.quarterLength).limit_denominator(10_000)
            total += 1
            if have > want:
                problem = "too long"
            elif have < want and not (i == 0 or i == len(measures) - 1 or after_boundary[i] or before_boundary[i]):
                problem = "too short"
            else:
                continue
            wrong += 1
            errors.append(
                f"{prefix}bar {i + 1}: {_fmt(have)} beats, meter {ts.ratioString} wants {_fmt(want)} ({problem})"
            )
    return total, wrong, errors


# --------------------------------------------------------------------------------------------- abc2midi
def _check_abc2midi(text: str, workdir: Path | None) -> tuple[bool | None, str | None]:
    exe = find_abc2midi()
    if exe is None:
        warnings.warn("abc2midi not found: skipping the abc2midi check", MissingToolWarning, stacklevel=3)
        return None, None
    with contextlib.ExitStack() as stack:
        if workdir is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rnnmusic-check-")))
        else:
            folder = Path(workdir)
            folder.mkdir(parents=True, exist_ok=True)
        abc_path = folder / "tune.abc"
        mid_path = folder / "tune.mid"
        if mid_path.exists():
            mid_path.unlink()
        abc_path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        result = run_abc2midi(exe, abc_path, mid_path)
    return result.ok, result.error


# ------------------------------------------------------------------------------------------------ public
def check_tune(text: str, *, workdir: Path | None = None, min_bars: int = 0) -> TuneCheck:
    """Check one complete ABC tune (starting with X:). See the module docstring for the rules.

    `min_bars` makes shorter tunes invalid (fragments); generation asks for 8 by default.

    `workdir`, when given, keeps abc2midi's input and output there (tune.abc, tune.mid) for inspection;
    otherwise a temporary folder is used and removed.
    """
    missing, meter, body, tune = _split_header(text)
    header_ok = not missing

    music21_ok, music21_error, notes = False, None, 0
    bars_total = bars_wrong = 0
    bar_errors: list[str] = []
    meter_changes = any(_BODY_METER.search(line) for line in body if not line.lstrip().startswith("%"))
    bars_checked = meter is not None and meter.lower() != "none" and not meter_changes
    score = None
    try:
        if not tune.strip():
            raise ValueError("empty text")
        score = _parse_music21(tune)
        notes = _count_notes(score)
        if notes > 0:
            music21_ok = True
        else:
            music21_error = "no notes parsed"
    except Exception as exc:  # music21 raises many kinds of exception on bad ABC
        music21_error = one_line(exc, named=True)
    if score is not None and bars_checked:
        try:
            bars_total, bars_wrong, bar_errors = _check_bars(score)
        except Exception as exc:  # defensive: a parsed score music21 cannot measure
            bars_wrong, bar_errors = 1, [f"bar check failed: {one_line(exc, named=True)}"]
    elif score is not None:
        bars_total = sum(len(p.getElementsByClass("Measure")) for p in (list(score.parts) or [score]))

    abc2midi_ok, abc2midi_error = _check_abc2midi(tune, workdir)

    return TuneCheck(
        header_ok=header_ok,
        missing_fields=missing,
        music21_ok=music21_ok,
        music21_error=music21_error,
        abc2midi_ok=abc2midi_ok,
        abc2midi_error=abc2midi_error,
        bars_total=bars_total,
        bars_wrong=bars_wrong,
        bar_errors=bar_errors,
        notes=notes,
        meter=meter,
        bars_checked=bars_checked,
        min_bars=min_bars,
    )


def tune_verdict(text: str, *, min_bars: int = MIN_BARS, workdir: Path | None = None) -> TuneCheck:
    """The one verdict on a generated tune: `check_tune` with the fragment rule (fewer than `min_bars` bars is
    invalid). `generate` (while drawing and in report.json), `evaluate` (every tune of the .abc files it reads)
    and the studio call this, so one file gets one verdict whoever asks."""
    return check_tune(text, workdir=workdir, min_bars=min_bars)


def checks_table(names: list[str], checks: list[TuneCheck]) -> str:
    """A fixed-width table, one row per tune, and a summary line; the last column is the first problem."""
    if len(names) != len(checks):
        raise ValueError(f"{len(names)} names for {len(checks)} checks")
    header = ["tune", "header", "music21", "abc2midi", "bars ok", "notes", "result", "first problem"]
    rows = []
    for name, c in zip(names, checks):
        rows.append(
            [
                str(name),
                "ok" if c.header_ok else "no " + ",".join(f.rstrip(":") for f in c.missing_fields),
                "ok" if c.music21_ok else "FAIL",
                "n/a" if c.abc2midi_ok is None else ("ok" if c.abc2midi_ok else "FAIL"),
                f"{c.bars_total - c.bars_wrong}/{c.bars_total}" if c.bars_checked else "n/a",
                str(c.notes),
                "VALID" if c.valid else "invalid",
                _clip(c.first_problem() or "", 70),
            ]
        )
    widths = [max(len(header[j]), *(len(r[j]) for r in rows)) if rows else len(header[j]) for j in range(len(header))]
    right = {4, 5}  # numeric columns

    def fmt(cells: list[str]) -> str:
        out = [c.rjust(widths[j]) if j in right else c.ljust(widths[j]) for j, c in enumerate(cells)]
        return "  ".join(out).rstrip()

    lines = [fmt(header), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in rows]
    n_valid = sum(c.valid for c in checks)
    pct = 100.0 * n_valid / len(checks) if checks else 0.0
    lines.append(f"{n_valid}/{len(checks)} valid ({pct:.0f}%)")
    return "\n".join(lines)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
