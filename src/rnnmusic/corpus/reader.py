"""The one guarded reader: every command that reads music (corpus show, train, generate's prime, render, evaluate,
the studio) reads a file through here, under ONE set of `Limits`, so a file gets the same verdict everywhere:
accepted, or refused with one line naming the file and the reason. Never a traceback, and bounded work:

* every file: its size is checked before it is read (`Limits.max_file_bytes`);
* MIDI (symusic): a broken header (ticks per quarter 0), no notes, more notes than `max_notes`, a tempo outside
  `min_tempo`..`max_tempo`, longer than `max_quarters` (a note that never ends) or `max_minutes`, times that
  are not numbers;
* MusicXML: a file declaring XML entities is refused unparsed (billion laughs, external entities), and so is a
  compressed .mxl unpacking to more than `max_file_bytes`; then as MIDI, through music21's MIDI writer;
* ABC (tunebooks: each tune judged): binary or non-UTF-8 bytes, no X: or K: line, a tune over
  `MAX_RAW_TUNE_CHARS` as written, then `abc_clean.clean_tune` (no K:, no notes, lines or tunes too long).

    result = read_music("x.mid")          # FileResult: pieces, or .refusal() says why not
    book = read_tunebook("tunes.abc")     # Tunebook: each tune with its clean text or why it was dropped
"""
from __future__ import annotations

import os
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import UserError, one_line
from ..music21_compat import quiet
from .abc_clean import EMPTY_BODY, LONG_LINE, MAX_LINE_CHARS, clean_tune, strip_markup
from .abc_text import NOT_ABC, decode_abc_bytes, split_tunebook, tune_sources
from .formats import NOT_MUSIC, FileResult, Limits, kind_of
from .report import DUPLICATE
from .score_readers import piece_of_tune, read_midi, read_music21
from .tracks import TrackSelector, parse_tracks

MAX_RAW_TUNE_CHARS = 200_000  # one tune as written, comments and all (its clean text has its own limit)
LONG_RAW_TUNE = f"tune longer than {MAX_RAW_TUNE_CHARS:,} characters as written"
_LONG_LINE = re.compile(f"[^\n]{{{MAX_LINE_CHARS + 1}}}")
XML_ENTITIES = "declares XML entities (refused unread: they can expand without bound or read other files)"


def too_large(path: str, limits: Limits) -> str | None:
    """The refusal of a file over the size limit (OSError when it cannot be looked at)."""
    size = os.path.getsize(path)
    if size > limits.max_file_bytes:
        return f"file larger than {limits.max_file_bytes / 2**20:g} MB ({size / 2**20:.1f} MB)"
    return None


def xml_problem(path: str, kind: str, limits: Limits) -> str | None:
    """Why a MusicXML file is not handed to an XML parser (None: it may be)."""
    if kind != "musicxml":
        return None
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            return XML_ENTITIES if b"<!ENTITY" in f.read(limits.max_file_bytes + 1) else None
    try:
        with zipfile.ZipFile(path) as z:
            members = [m for m in z.infolist() if not m.is_dir()]
            if sum(m.file_size for m in members) > limits.max_file_bytes:
                return f"unpacks to more than {limits.max_file_bytes / 2**20:g} MB"
            for m in members:
                if m.filename.lower().endswith((".xml", ".musicxml")):
                    with z.open(m) as f:
                        if b"<!ENTITY" in f.read(limits.max_file_bytes + 1):
                            return XML_ENTITIES
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as e:
        return f"not a readable compressed MusicXML file ({one_line(e, 120, named=True)})"
    return None


# -- ABC ------------------------------------------------------------------------------------------------------
@dataclass
class AbcTune:
    """One tune of a tunebook as the reader judged it: its clean text, or why it was dropped."""

    source: str                  # path#X:n (or path#line L)
    raw: str                     # as written, from its X: line (lines starting with an HTML tag left out)
    cleaned: str | None          # `clean_tune`'s text; None when dropped
    reason: str | None = None    # why it was dropped
    fields: Counter = field(default_factory=Counter)  # header and body lines dropped by cleaning, by field


@dataclass
class Tunebook:
    """An ABC file as read: refused whole (`skip`), or its tunes, each judged when `judged` reaches it."""

    path: str
    skip: str | None = None
    raw: list[tuple[str, str]] = field(default_factory=list)  # (source, tune as written)
    keep_chords: bool = True

    def judged(self) -> Iterator[AbcTune]:
        """Every tune in order, cleaned or with the reason it is dropped (a tunebook is read lazily)."""
        for source, raw in self.raw:
            if len(raw) > MAX_RAW_TUNE_CHARS:
                yield AbcTune(source, raw, None, LONG_LINE if _LONG_LINE.search(raw) else LONG_RAW_TUNE)
                continue
            cleaned, reason, fields = clean_tune(raw, keep_chords=self.keep_chords)
            yield AbcTune(source, strip_markup(raw), cleaned, None if cleaned else reason or EMPTY_BODY, fields)

    def refusal(self) -> str | None:
        """None when a tune is usable; else the one-line reason (the file's, or every tune's)."""
        if self.skip is not None:
            return self.skip
        why = Counter(t.reason for t in self.judged())
        if None in why:
            return None
        return "no usable tunes (" + ", ".join(f"{n} {r}" for r, n in why.most_common()) + ")"


def read_tunebook(path: str, limits: Limits | None = None, *, keep_chords: bool = True) -> Tunebook:
    """An ABC file split into tunes (never raises for a bad file: it is refused with the reason)."""
    limits = limits or Limits()
    book = Tunebook(str(path), keep_chords=keep_chords)
    try:
        book.skip = too_large(book.path, limits)
        if book.skip is not None:
            return book
        with open(book.path, "rb") as f:
            data = f.read(limits.max_file_bytes + 1)
    except OSError as e:
        book.skip = f"cannot read: {e.strerror or e}"
        return book
    text, book.skip = decode_abc_bytes(data)
    del data
    tunes = split_tunebook(text or "")
    del text
    if book.skip is None and not tunes:
        book.skip = NOT_ABC
    book.raw = list(zip(tune_sources(book.path, tunes), (raw for _, raw in tunes)))
    return book


# -- any file -> pieces ---------------------------------------------------------------------------------------
def _abc_pieces(path: str, selector: TrackSelector, limits: Limits, stop_after: int | None) -> FileResult:
    book = read_tunebook(path, limits, keep_chords=limits.lead)
    if book.skip is not None:
        return FileResult(skip=book.skip)
    out = FileResult(found=len(book.raw))
    seen: set[str] = set()
    for n, tune in enumerate(book.judged()):
        if stop_after is not None and len(out.pieces) >= stop_after:
            out.found, out.cacheable = n, False  # a partial result is not cached
            break
        if tune.cleaned is None:
            out.drops.append((tune.reason or "no notes", tune.source))
        elif tune.cleaned in seen:
            out.drops.append((DUPLICATE, tune.source))
        else:
            seen.add(tune.cleaned)
            piece, drop = piece_of_tune(tune.source, tune.cleaned, selector, limits)
            out.pieces.append(piece) if piece is not None else out.drops.append(drop)
    return out


def read_file(path: str, kind: str, selector: TrackSelector, limits: Limits,
              stop_after: int | None = None) -> FileResult:
    """One file of a known kind -> its pieces, drops or refusal. Never raises for a bad file. `stop_after`: a
    file with several pieces (tunebook, Opus) may stop after that many (the result is then not cacheable)."""
    try:
        skip = too_large(path, limits) or xml_problem(path, kind, limits)
        if skip is not None:
            return FileResult(skip=skip)
        if kind == "midi":
            with open(path, "rb") as f:
                return read_midi(path, f.read(limits.max_file_bytes + 1), selector, limits)
        with quiet():
            if kind == "abc":
                return _abc_pieces(path, selector, limits, stop_after)
            return read_music21(path, kind, selector, limits, stop_after)
    except OSError as e:
        return FileResult(skip=f"cannot read: {e.strerror or e}", cacheable=False)
    except MemoryError:
        return FileResult(skip="out of memory while reading it", cacheable=False)
    except RecursionError:
        return FileResult(skip="too deeply nested to read")
    except Exception as e:  # anything else a strange file sets off: skip it (not cached: may be fixed)
        return FileResult(skip=f"cannot read it ({one_line(e, 160, named=True)})", cacheable=False)


def read_batch(jobs: list[tuple[str, str]], selector: TrackSelector, limits: Limits) -> list[FileResult]:
    """Worker entry point: several (path, kind) in order."""
    return [read_file(path, kind, selector, limits) for path, kind in jobs]


def read_music(path: str | os.PathLike, *, tracks: str | TrackSelector | None = None,
               limits: Limits | None = None, stop_after: int | None = None) -> FileResult:
    """Any one file by its name (not cached): what `load_pieces` would make of it alone."""
    path = os.fspath(path)
    kind = kind_of(path)
    if kind is None:
        return FileResult(skip=NOT_MUSIC)
    if not os.path.isfile(path):
        return FileResult(skip="no such file" if not os.path.exists(path) else "not a regular file")
    return read_file(path, kind, parse_tracks(tracks), limits or Limits(), stop_after)


def verdict(path: str | os.PathLike, limits: Limits | None = None) -> str | None:
    """None when the file is accepted, else the one-line reason it is refused: for ABC the tunebook's text
    (`read_tunebook`), for the other formats its pieces (`read_music`)."""
    path = os.fspath(path)
    if kind_of(path) == "abc" and os.path.isfile(path):
        return read_tunebook(path, limits).refusal()
    return read_music(path, limits=limits).refusal()


def refuse(path: str | os.PathLike, reason: str) -> UserError:
    """The error a command raises for a refused file: one line naming it."""
    return UserError(f"{os.fspath(path)}: {one_line(Exception(reason), 300)}")
