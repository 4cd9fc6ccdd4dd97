"""Per-tune figures a folk musician would check, computed the same way for real and generated tunes.

* `abc2midi_clean`: abc2midi prints no ``Error`` line for the tune, except its style complaint "Hornpipe must
  be in 2/4 or 4/4 time" about ``R:hornpipe`` with ``M:C|`` (it plays the tune all the same; O'Neill writes
  hornpipes so), which `style_complaints` counts apart.
* `bars_ok`: abc2midi reports no bar of the wrong length ("Bar N has X time units while the time signature
  has Y") except bar 0 (a pickup) and the closing bar (a warning at or after the tune's last bar line).
* `bars`, `parts`, `bars_per_part`, `type`: `rnnmusic.encodings.abc_form.tune_form` (written bars; sections of
  3 bars or more; their median length; the normalised R: field).
* `tonic_end`: the last note abc2midi plays (the highest pitch starting at the last onset) has the pitch
  class of the key's tonic (K:D, K:Dmix, K:Dm all have tonic D).
* `bar_texts`: each written bar as its notes and rests only (decorations, grace notes, chord symbols, slurs,
  spaces dropped), for the copy search in `copies`.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from rnnmusic.encodings.abc_bars import _BAR as _BAR_TOKEN
from rnnmusic.encodings.abc_bars import _NOTE, _REST
from rnnmusic.encodings.abc_form import tune_form
from rnnmusic.encodings.abc_tokens import _tokenize
from rnnmusic.render.abc import tune_document

_BAR_WARNING = re.compile(r"line-char (\d+)-(\d+) : Track \d+ Bar (\d+) has [\d/]+ time units while the time signature")
_ERROR = re.compile(r"^\s*Error\b(?!.*Hornpipe must be in 2/4 or 4/4 time)", re.M)
_STYLE = re.compile(r"Hornpipe must be in 2/4 or 4/4 time")
_TONIC = re.compile(r"^([A-G])([#b]?)")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass
class TuneFigures:
    abc2midi_clean: bool
    bars_ok: bool
    bars: int
    parts: int
    bars_per_part: int
    type: str
    meter: str | None
    key: str | None
    tonic_end: bool | None
    bar_texts: list[str] = field(default_factory=list, repr=False)
    first_error: str = ""
    style_complaint: bool = False


def _last_bar_position(doc: str) -> tuple[int, int]:
    """(line, char) of the last bar-line token in the document, 1-based lines as abc2midi counts them."""
    last = (0, 0)
    for n, line in enumerate(doc.split("\n"), 1):
        if len(line) > 1 and line[1] == ":" and line[0].isalpha():
            continue
        for m in re.finditer(r"\|", line):
            last = (n, m.start())
    return last


def _tonic_pc(key: str | None) -> int | None:
    m = _TONIC.match(key or "")
    if not m:
        return None
    return (_PC[m.group(1)] + {"#": 1, "b": -1, "": 0}[m.group(2)]) % 12


def _last_pitch(mid: Path) -> int | None:
    import symusic

    try:
        score = symusic.Score.from_midi(mid.read_bytes())
    except Exception:
        return None
    notes = [(n.time, n.pitch) for t in score.tracks for n in t.notes]
    if not notes:
        return None
    last = max(t for t, _ in notes)
    return max(p for t, p in notes if t == last)


def bar_texts(body: str) -> list[str]:
    """Each written bar's notes and rests, for finding copied runs of bars."""
    bars, cur, grace = [], [], False
    head_done = False
    for tok in _tokenize(body):
        if not head_done:
            head_done = tok.startswith("K:")
            continue
        if tok in ("{", "{/"):
            grace = True
        elif tok == "}":
            grace = False
        elif grace:
            continue
        elif _BAR_TOKEN.match(tok):
            if cur:
                bars.append(" ".join(cur))
            cur = []
        elif (_NOTE.match(tok) or _REST.match(tok) or tok in (">", "<", ">>", "<<")
              or tok.startswith("(") and tok[1:2].isdigit()):
            cur.append(tok)
    if cur:
        bars.append(" ".join(cur))
    return bars


def measure_tune(body: str, workdir: Path | None = None) -> TuneFigures:
    """All figures of one tune body (header fields and notes, no X:)."""
    doc = tune_document(body, 1, "t")
    form = tune_form(body)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        abc, mid = Path(tmp) / "t.abc", Path(tmp) / "t.mid"
        abc.write_text(doc)
        try:
            proc = subprocess.run(["abc2midi", str(abc), "-o", str(mid)], capture_output=True, text=True,
                                  errors="replace", timeout=30)
            out = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired:
            out = "Error: abc2midi timed out"
        errors = _ERROR.findall(out)
        first_error = next((ln.strip() for ln in out.splitlines() if _ERROR.match(ln)), "")
        last_line, last_char = _last_bar_position(doc)
        wrong = [w for w in _BAR_WARNING.finditer(out)
                 if int(w.group(3)) != 0 and (int(w.group(1)), int(w.group(2))) < (last_line, last_char)]
        tonic = _tonic_pc(form.key)
        pitch = _last_pitch(mid) if mid.is_file() else None
    return TuneFigures(
        abc2midi_clean=not errors, bars_ok=not errors and not wrong, bars=form.bars, parts=form.parts,
        bars_per_part=form.bars_per_part, type=form.type, meter=form.meter, key=form.key,
        tonic_end=None if tonic is None or pitch is None else pitch % 12 == tonic,
        bar_texts=bar_texts(body), first_error=first_error,
        style_complaint=bool(_STYLE.search(out)),
    )


def copies(generated: list[list[str]], training: list[list[str]], run: int) -> tuple[list[bool], list[bool]]:
    """(copies a training tune: a run of `run` consecutive bars found in one, shares `run` bars with another
    generated tune) for each generated tune. Bars are compared as written notes (`bar_texts`)."""
    def runs(bars: list[str]) -> set[tuple[str, ...]]:
        return {tuple(bars[i:i + run]) for i in range(len(bars) - run + 1)}

    train_runs: set[tuple[str, ...]] = set()
    for bars in training:
        train_runs |= runs(bars)
    gen_runs = [runs(b) for b in generated]
    copied = [bool(r & train_runs) for r in gen_runs]
    owner: dict[tuple[str, ...], int] = {}
    shared = [False] * len(generated)
    for i, r in enumerate(gen_runs):
        for key in r:
            j = owner.setdefault(key, i)
            if j != i:
                shared[i] = shared[j] = True
    return copied, shared
