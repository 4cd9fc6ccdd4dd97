"""Scores -> `Piece`s: MIDI, MusicXML, kern and ABC files, folders, globs and music21's built-in corpora.

    corpus = load_pieces(["bach-chorales", "midi/"], tracks="piano")
    train, valid = corpus.split(0.1, seed=0)
    print(corpus.report.summary())

Formats: `.mid`/`.midi` are read with symusic (fast); `.xml`/`.musicxml`/`.mxl`/`.krn` are parsed with
music21 and turned into a Piece through music21's MIDI writer (as `piece_from_music21` does); `.abc` files
are split into tunes and cleaned as `load_abc` does, and each tune is parsed with music21. A file holding
several pieces (a tunebook, a music21 Opus) gives one Piece each, with sources like `book.abc#X:12` or
`file.krn#3`. The ABC folk corpora of `load_abc` (`oneills`, `essen`, ...) and the classical corpora in
`CLASSICAL_CORPORA` (`bach-chorales`, `palestrina`, ...) are accepted by name.

Bad files are skipped with a one-line reason in the report and the rest go on; a path or glob that names
nothing is a UserError. Parsed pieces (and the reasons bad files were skipped) are cached on disk, keyed
by the file's bytes, the reader version and the track selection (see `corpus.cache`), so the slow music21
formats are parsed once. Uncached files are parsed in a process pool when there is enough work.
"""
from __future__ import annotations

import functools
import glob
import hashlib
import os
import statistics
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import one_line
from ..errors import UserError
from ..piece import PITCH, Piece, music21_metre, piece_from_score
from .abc import NOT_ABC, clean_tune, decode_abc_bytes, files_in, folk_files, split_tunebook, tune_sources
from .builtin import builtin_names, find_builtin, music21_corpus_dir
from .cache import PieceCache, cache_dir
from .leadsheets import add_chord_part, lead_piece, music21_key
from .music21_fixes import add_missing_repeat_starts, first_voice, midi_of_stream, quiet
from .report import DUPLICATE, CorpusReport
from .split import keyed_split
from .tracks import TrackSelector, parse_tracks

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

READER_VERSION = 1  # bump when what a file turns into changes
MIDI_SUFFIXES = (".mid", ".midi")
MUSIC21_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")  # also the preference order for one work in two formats
ABC_SUFFIXES = (".abc",)
SCORE_SUFFIXES = MIDI_SUFFIXES + MUSIC21_SUFFIXES  # what `is_score_source` looks for (ABC goes to load_abc)
READABLE_SUFFIXES = SCORE_SUFFIXES + ABC_SUFFIXES
_KIND = {".mid": "midi", ".midi": "midi", ".mxl": "musicxml", ".xml": "musicxml", ".musicxml": "musicxml",
         ".krn": "kern", ".abc": "abc"}
PARALLEL_SECONDS = 4.0  # use a process pool when the uncached files would take about this long serially
# rough parsing seconds per file and per KB of file (2020s CPU), only to decide that
_COST = {"midi": (0.002, 0.0005), "musicxml": (0.05, 0.03), "kern": (0.05, 0.04), "abc": (0.02, 0.2)}
PROGRESS_FILES = 20  # show a progress bar when more uncached files than this are parsed


# -- built-in classical corpora -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassicalCorpus:
    name: str
    description: str
    folders: tuple[str, ...]  # folders under music21/corpus, searched recursively
    approx_pieces: int
    suffixes: tuple[str, ...] = MUSIC21_SUFFIXES

    def paths(self) -> list[str]:
        """The score files, sorted; one file per work when music21 ships it in two formats (MusicXML first)."""
        root = music21_corpus_dir()
        best: dict[tuple[str, str], str] = {}
        for folder in self.folders:
            for path in files_in(os.path.join(root, folder), self.suffixes):
                stem, suffix = os.path.splitext(path)
                key = (os.path.dirname(stem), os.path.basename(stem))
                old = best.get(key)
                if old is None or self.suffixes.index(suffix.lower()) < self.suffixes.index(os.path.splitext(old)[1].lower()):
                    best[key] = path
        return sorted(best.values())


CLASSICAL_CORPORA: dict[str, ClassicalCorpus] = {c.name: c for c in (
    ClassicalCorpus("bach-chorales", "J. S. Bach's four-part chorales (music21's Bach collection)", ("bach",), 410),
    ClassicalCorpus("beethoven", "Beethoven string quartets (op. 18, 59, 74, 132, 133), whole or by movement",
                    ("beethoven",), 22),
    ClassicalCorpus("mozart", "Mozart string quartets K. 80, 155, 156, 458 and the piano sonata K. 545 exposition",
                    ("mozart",), 16),
    ClassicalCorpus("haydn", "Haydn string quartets op. 1 no. 1 and op. 74 no. 1, by movement", ("haydn",), 9),
    ClassicalCorpus("joplin", "Scott Joplin: Maple Leaf Rag (piano)", ("joplin",), 1),
    ClassicalCorpus("monteverdi", "Monteverdi five-voice madrigals, books 3 to 5", ("monteverdi",), 49),
    ClassicalCorpus("palestrina", "Palestrina mass movements in four to six voices (kern)", ("palestrina",), 1318),
    ClassicalCorpus("trecento", "Italian trecento songs and motets (Landini, Jacopo da Bologna and others)",
                    ("trecento",), 102),
    ClassicalCorpus("lead-sheets", "Lead sheets with chord symbols: music21's two MusicXML songs (Foster, Berlin) "
                    "and its two Nottingham tunes (ABC); the `lead` encoding's default (pass more with --corpus)",
                    ("leadSheet", "nottingham-dataset"), 4, suffixes=(".mxl", ".xml", ".abc")),
)}


def classical_names() -> list[str]:
    return list(CLASSICAL_CORPORA)


def find_classical(source: str) -> ClassicalCorpus | None:
    return CLASSICAL_CORPORA.get(source.strip().lower())


# -- limits and the report ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Files beyond these are skipped (with the reason in the report)."""

    max_file_bytes: int = 64 * 2**20  # checked before reading
    max_notes: int = 200_000          # per piece
    min_tempo: float = 10.0           # quarter notes per minute, every tempo in the file
    max_tempo: float = 1000.0
    lead: bool = False                # read lead sheets: melody + chords (`corpus.leadsheets`)

    def key(self) -> str:
        """The part of the cache key: the limits that decide what a parsed file gives."""
        return f"{self.max_notes}:{self.min_tempo:g}:{self.max_tempo:g}" + (":lead" if self.lead else "")


@dataclass
class ScoreReport(CorpusReport):
    """A CorpusReport whose tunes_* counters count pieces, with cache counters."""

    files_cached: int = 0    # files whose result came from the cache
    files_parsed: int = 0    # files parsed in this load
    cache_rebuilt: int = 0   # cache entries that were unreadable and were parsed again
    notes_kept: int = 0

    def summary(self) -> str:
        lines = super().summary().split("\n")
        lines[0] = lines[0].replace(" tunes found, ", " pieces found, ")
        lines = [line.replace("max_tunes=", "max_pieces=").replace(" tunes", " pieces")
                 if line.startswith("stopped after") else line for line in lines]
        lines.insert(1, f"{self.notes_kept:,} notes; {self.files_cached} files from the cache, {self.files_parsed} parsed"
                        + (f" ({self.cache_rebuilt} unreadable cache entries rebuilt)" if self.cache_rebuilt else ""))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "files_cached": self.files_cached, "files_parsed": self.files_parsed,
                "cache_rebuilt": self.cache_rebuilt, "notes_kept": self.notes_kept}


@dataclass
class PieceCorpus:
    pieces: list[Piece]
    report: CorpusReport = field(default_factory=ScoreReport)

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[list[Piece], list[Piece]]:
        """(train, valid), both in corpus order; a piece's side depends only on the seed and its source.

        The rank is a keyed hash (the same in every process and load order; for music21's own corpus files
        the source is taken relative to music21's corpus folder, so the split is the same on every machine);
        with two or more pieces and a fraction above 0 at least one piece is held out and one trained on.
        """
        root = _music21_root()
        keys = [p.source[len(root):] if root and p.source.startswith(root) else p.source for p in self.pieces]
        return keyed_split(self.pieces, keys, valid_fraction, seed)

    def stats(self) -> dict[str, Any]:
        """Counts, lengths, tempos, time signatures, pitch range and programs of the pieces."""
        n = len(self.pieces)
        notes = sum(len(p) for p in self.pieces)
        pitches = [(int(p.notes[:, PITCH].min()), int(p.notes[:, PITCH].max())) for p in self.pieces if len(p)]
        return {
            "pieces": n,
            "notes": notes,
            "mean_notes_per_piece": round(notes / n, 1) if n else 0.0,
            "quarters": round(sum(p.end for p in self.pieces), 2),
            "mean_quarters_per_piece": round(sum(p.end for p in self.pieces) / n, 2) if n else 0.0,
            "tempo_median": round(statistics.median(p.tempo for p in self.pieces), 2) if n else None,
            "time_signatures": dict(Counter(f"{a}/{b}" for a, b in (p.time_signature for p in self.pieces)).most_common()),
            "pitch_range": [min(lo for lo, _ in pitches), max(hi for _, hi in pitches)] if pitches else None,
            "programs": dict(Counter(p.program for p in self.pieces).most_common()),
        }


def _music21_root() -> str:
    try:
        return os.path.join(music21_corpus_dir(), "")
    except UserError:
        return ""


# -- finding files ------------------------------------------------------------------------------------------
def _kind(path: str) -> str | None:
    return _KIND.get(os.path.splitext(path)[1].lower())


def _expand(source: str, report: CorpusReport) -> list[str]:
    """The files a source names (UserError when it names nothing)."""
    classical = find_classical(source)
    if classical is not None:
        for folder in classical.folders:
            if not os.path.isdir(os.path.join(music21_corpus_dir(), folder)):
                report.warn(source, f"built-in corpus {classical.name!r} is missing from this music21 installation")
        return classical.paths()
    folk = find_builtin(source)
    if folk is not None:
        return folk_files(folk, report)
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        files = files_in(path, READABLE_SUFFIXES)
        if not files:
            raise UserError(f"{source}: no MIDI, MusicXML, kern or ABC files in this folder")
        return files
    if os.path.isfile(path):
        return [path]
    if os.path.exists(path):
        raise UserError(f"{source}: not a regular file or folder")
    if any(c in path for c in "*?["):
        files = []
        for match in sorted(glob.glob(path, recursive=True)):
            if os.path.isdir(match):
                files += files_in(match, READABLE_SUFFIXES)
            elif os.path.isfile(match) and _kind(match):
                files.append(match)
        if not files:
            raise UserError(f"{source}: the pattern matches no MIDI, MusicXML, kern or ABC files")
        return files
    names = ", ".join(classical_names() + builtin_names())
    hint = f", and not a built-in corpus ({names})" if os.sep not in source and not _kind(source) else ""
    raise UserError(f"{source}: no such file or folder{hint}")


def is_score_source(source: str) -> bool:
    """True for classical corpus names and for files, folders or globs with MIDI, MusicXML or kern files
    (ABC files and the folk corpora are for `load_abc`)."""
    source = os.fspath(source)
    if find_classical(source) is not None:
        return True
    if find_builtin(source) is not None:
        return False
    path = os.path.expanduser(source)
    if os.path.isfile(path):
        return path.lower().endswith(SCORE_SUFFIXES)
    candidates = [path] if os.path.isdir(path) else sorted(glob.glob(path, recursive=True)) if any(
        c in path for c in "*?[") else []
    for match in candidates:
        if os.path.isfile(match) and match.lower().endswith(SCORE_SUFFIXES):
            return True
        if os.path.isdir(match):
            for _root, dirs, files in os.walk(match):
                if any(f.lower().endswith(SCORE_SUFFIXES) for f in files):
                    return True
    return False


# -- reading one file (in a worker process or in this one) ----------------------------------------------------
@dataclass
class _FileResult:
    pieces: list[Piece] = field(default_factory=list)  # sources are full ("path", "path#X:3", "path#2")
    drops: list[tuple[str, str]] = field(default_factory=list)  # (reason, example naming the piece)
    skip: str | None = None  # the whole file gave nothing: why
    found: int = 0  # pieces found in the file (kept or dropped)
    cacheable: bool = True  # False for problems that may go away (cannot read the file, out of memory)
    from_cache: bool = False
    duplicate_of: str | None = None  # the same bytes were read from this file already


def _describe_tracks(tracks: Sequence[Any], limit: int = 8) -> str:
    parts = [f"{i} {str(t.name)!r} " + ("drums" if t.is_drum else f"program {t.program}")
             for i, t in enumerate(tracks[:limit])]
    return ", ".join(parts) + (f", ... {len(tracks) - limit} more" if len(tracks) > limit else "") if parts else "none"


def _from_score(score, source: str, selector: TrackSelector, limits: Limits,
                exact_chords: bool = False) -> tuple[Piece | None, str | None]:
    """The Piece of a symusic Score (ticks) after the track selection and limits, or (None, reason); a lead
    sheet (`limits.lead`) when asked, its chords from a chord-symbol part (`exact_chords`) or estimated."""
    tracks = list(score.tracks)
    chosen = selector.select(tracks)
    if not chosen:
        if not selector.terms:
            return None, "no notes" if not tracks else "only drum tracks"
        return None, f"tracks {selector.spec!r} match no track (tracks: {_describe_tracks(tracks)})"
    count = sum(tracks[i].note_num() for i in chosen)
    if count == 0:
        return None, "no notes" + ("" if not selector.terms else f" in tracks {selector.spec!r}")
    if count > limits.max_notes:
        return None, f"{count:,} notes, more than the limit of {limits.max_notes:,}"
    for t in score.tempos:
        qpm = float(t.qpm)
        if not limits.min_tempo <= qpm <= limits.max_tempo:
            return None, f"tempo {qpm:.4g} qpm outside {limits.min_tempo:g}..{limits.max_tempo:g}"
    if limits.lead:
        return lead_piece(score, source, exact=exact_chords)
    piece = piece_from_score(score, tracks=chosen, source=source)
    if not len(piece):
        return None, "no notes"
    return piece, None


def _read_midi(path: str, data: bytes, selector: TrackSelector, limits: Limits) -> _FileResult:
    import symusic

    try:
        score = symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError for malformed files
        return _FileResult(skip=f"not a readable MIDI file ({one_line(e, 160, named=True)})")
    piece, reason = _from_score(score, path, selector, limits)
    if piece is None:
        return _FileResult(skip=reason, found=1)
    piece.meta["format"] = "midi"
    return _FileResult([piece], found=1)


def _piece_from_stream(s, source: str, selector: TrackSelector, limits: Limits, fmt: str):
    """(Piece or None, reason): a music21 Score through music21's MIDI writer (repeats expanded when it can)."""
    import symusic

    written = sum(len(n.pitches) if n.isChord else 1 for n in s.recurse().notes)
    if written > limits.max_notes:  # the MIDI writer is slow on big scores: don't even try
        return None, f"{written:,} notes, more than the limit of {limits.max_notes:,}"
    meta: dict[str, Any] = {"format": fmt}
    key = None
    if limits.lead:
        if not add_chord_part(s):
            return None, "no chord symbols"
        key = music21_key(s) if fmt == "abc" else None  # ABC's K: field; else the chords' key (lead_piece)
    try:
        if add_missing_repeat_starts(s):
            meta["repeats"] = "start repeats added after end repeats"
        data, applied = midi_of_stream(s)
        score = symusic.Score.from_midi(data)
    except Exception as e:
        return None, f"music21 cannot turn it into MIDI ({one_line(e, 160, named=True)})"
    if applied:
        meta["conversion"] = "; ".join(applied)
    piece, reason = _from_score(score, source, selector, limits, exact_chords=limits.lead)
    if piece is None:
        return None, reason
    piece.key = key or piece.key
    piece.time_signature = music21_metre(s) or piece.time_signature
    piece.meta.update(meta)
    return piece, None


def _read_music21(path: str, kind: str, selector: TrackSelector, limits: Limits,
                  stop_after: int | None = None) -> _FileResult:
    from music21 import converter, stream

    try:
        parsed = converter.parse(path, forceSource=True)  # forceSource: no music21 pickles read or written
    except Exception as e:
        return _FileResult(skip=f"music21 cannot parse it ({one_line(e, 160, named=True)})")
    scores = list(parsed.scores) if isinstance(parsed, stream.Opus) else [parsed]
    if len(scores) == 1:
        piece, reason = _piece_from_stream(scores[0], path, selector, limits, kind)
        return _FileResult([piece], found=1) if piece is not None else _FileResult(skip=reason, found=1)
    out = _FileResult(found=len(scores))
    for i, s in enumerate(scores, 1):
        if stop_after is not None and len(out.pieces) >= stop_after:
            out.found, out.cacheable = i - 1, False  # a partial result is not cached
            break
        piece, reason = _piece_from_stream(s, f"{path}#{i}", selector, limits, kind)
        if piece is None:
            out.drops.append((_reason_kind(reason), f"{path}#{i} ({reason})"))
        else:
            out.pieces.append(piece)
    return out


def _read_abc(path: str, data: bytes, selector: TrackSelector, limits: Limits,
              stop_after: int | None = None) -> _FileResult:
    from music21 import converter

    text, reason = decode_abc_bytes(data)
    if text is None:
        return _FileResult(skip=reason)
    tunes = split_tunebook(text)
    del text
    if not tunes:
        return _FileResult(skip=NOT_ABC)
    out = _FileResult(found=len(tunes))
    seen: set[str] = set()
    for n, ((_, raw), source) in enumerate(zip(tunes, tune_sources(path, tunes))):
        if stop_after is not None and len(out.pieces) >= stop_after:
            out.found, out.cacheable = n, False  # a partial result is not cached
            break
        cleaned, why, _ = clean_tune(raw, keep_chords=limits.lead)
        if cleaned is None:
            out.drops.append((why or "no notes", source))
            continue
        if cleaned in seen:
            out.drops.append((DUPLICATE, source))
            continue
        seen.add(cleaned)
        cleaned, voices = first_voice(cleaned)
        try:
            s = converter.parse(cleaned, format="abc")
        except Exception as e:
            out.drops.append(("music21 cannot parse it", f"{source} ({one_line(e, 160, named=True)})"))
            continue
        piece, why = _piece_from_stream(s, source, selector, limits, "abc")
        if piece is None:
            out.drops.append((_reason_kind(why), f"{source} ({why})"))
        else:
            if voices > 1:
                piece.meta["voices"] = f"first of {voices}"
            out.pieces.append(piece)
    return out


def _reason_kind(reason: str) -> str:
    """The counter key for a dropped piece: the reason without its numbers and details."""
    for prefix in ("tempo", "tracks", "music21 cannot"):
        if reason.startswith(prefix):
            return {"tempo": "absurd tempo", "tracks": "no track selected", "music21 cannot": "music21 cannot convert it"}[prefix]
    if "notes, more than the limit" in reason:
        return "too many notes"
    return reason


def _read_file(path: str, kind: str, selector: TrackSelector, limits: Limits,
               stop_after: int | None = None) -> _FileResult:
    """One file -> its pieces, drops or skip reason. Never raises for a bad file. `stop_after`: a file
    with several pieces (tunebook, Opus) may stop after that many (the result is then not cacheable)."""
    try:
        data = b""
        if kind in ("midi", "abc"):  # music21 reads the others itself
            with open(path, "rb") as f:
                data = f.read(limits.max_file_bytes + 1)
        if kind == "midi":
            return _read_midi(path, data, selector, limits)
        with quiet():
            if kind == "abc":
                return _read_abc(path, data, selector, limits, stop_after)
            return _read_music21(path, kind, selector, limits, stop_after)
    except OSError as e:
        return _FileResult(skip=f"cannot read: {e.strerror or e}", cacheable=False)
    except MemoryError:
        return _FileResult(skip="out of memory while reading it", cacheable=False)
    except RecursionError:
        return _FileResult(skip="too deeply nested to read")
    except Exception as e:  # anything else a strange file sets off: skip it (not cached: may be fixed)
        return _FileResult(skip=f"cannot read it ({one_line(e, 160, named=True)})", cacheable=False)


def _read_batch(jobs: list[tuple[str, str]], selector: TrackSelector, limits: Limits) -> list[_FileResult]:
    """Worker entry point: several (path, kind) in order."""
    return [_read_file(path, kind, selector, limits) for path, kind in jobs]


# -- the cache entry of one file ------------------------------------------------------------------------------
@functools.cache
def _library_versions() -> str:
    """The readers' versions (part of the cache key); looked up once per process (2 ms: a tenth of reading
    60 small MIDI files)."""
    import importlib.metadata

    out = []
    for name in ("symusic", "music21"):
        try:
            out.append(f"{name}={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            out.append(f"{name}=none")
    return ",".join(out)


def _entry(result: _FileResult, path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    arrays = {f"notes_{i}": p.notes.astype(np.float64) for i, p in enumerate(result.pieces)}
    meta = {
        "reader": READER_VERSION,
        "pieces": [{"suffix": p.source[len(path):] if p.source.startswith(path) else "", "tempo": p.tempo,
                    "time_signature": list(p.time_signature), "program": p.program, "key": p.key,
                    "meta": _jsonable(p.meta)} for p in result.pieces],
        "drops": [[reason, ex[len(path):] if ex.startswith(path) else ex] for reason, ex in result.drops],
        "skip": result.skip,
        "found": result.found,
    }
    return arrays, meta


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {str(k): v for k, v in d.items() if isinstance(v, (str, int, float, bool, type(None)))}


def _from_entry(arrays: dict[str, np.ndarray], meta: dict[str, Any], path: str) -> _FileResult | None:
    try:
        if meta.get("reader") != READER_VERSION:
            return None
        pieces = [Piece(arrays[f"notes_{i}"], tempo=float(m["tempo"]), time_signature=tuple(m["time_signature"]),
                        program=int(m["program"]), source=path + m["suffix"], key=m.get("key"), meta=dict(m["meta"]))
                  for i, m in enumerate(meta["pieces"])]
        drops = [(reason, path + ex) for reason, ex in meta["drops"]]
        return _FileResult(pieces, drops, meta["skip"], int(meta["found"]), from_cache=True)
    except (KeyError, TypeError, ValueError, IndexError):
        return None


# -- loading ------------------------------------------------------------------------------------------------
@dataclass
class _Planned:
    path: str
    kind: str
    size: int = 0
    key: str | None = None        # cache key (None: cache off)
    result: _FileResult | None = None  # known before parsing (too large, duplicate content, ...)
    cached: bool = False          # a cache file exists for key


class _Loader:
    def __init__(self, sources: list[str], selector: TrackSelector, max_pieces: int | None, limits: Limits,
                 cache: PieceCache):
        self.selector, self.max_pieces, self.limits, self.cache = selector, max_pieces, limits, cache
        self.report = ScoreReport(sources=list(sources))
        self.pieces: list[Piece] = []
        self.first_of_notes: dict[bytes, str] = {}  # hash of a kept piece's notes -> its source
        self.key_prefix = f"{READER_VERSION}\0{_library_versions()}\0{selector.spec}\0{limits.key()}\0"

    def full(self) -> bool:
        return self.max_pieces is not None and len(self.pieces) >= self.max_pieces

    def plan(self, paths: list[str]) -> list[_Planned]:
        """Size check, content hash and cache lookup for every file, in order."""
        out: list[_Planned] = []
        first_of_digest: dict[str, str] = {}
        for path in paths:
            kind = _kind(path)
            item = _Planned(path, kind or "")
            out.append(item)
            if kind is None:
                item.result = _FileResult(skip="not a MIDI, MusicXML, kern or ABC file (by its name)")
                continue
            try:
                size = os.path.getsize(path)
                if size > self.limits.max_file_bytes:
                    item.result = _FileResult(skip=f"file larger than {self.limits.max_file_bytes / 2**20:g} MB "
                                                   f"({size / 2**20:.1f} MB)")
                    continue
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
            except OSError as e:
                item.result = _FileResult(skip=f"cannot read: {e.strerror or e}", cacheable=False)
                continue
            digest = h.hexdigest()
            item.size = size
            if digest in first_of_digest:
                item.result = _FileResult(duplicate_of=first_of_digest[digest])
                continue
            first_of_digest[digest] = path
            if self.cache.enabled:
                item.key = hashlib.sha256((self.key_prefix + f"{kind}\0{digest}").encode()).hexdigest()
                item.cached = self.cache.exists(item.key)
        return out

    def from_cache(self, item: _Planned) -> _FileResult | None:
        got = self.cache.get(item.key) if item.key else None
        result = _from_entry(*got, item.path) if got is not None else None
        if result is None and item.cached:
            self.report.cache_rebuilt += 1
        return result

    def store(self, item: _Planned, result: _FileResult) -> None:
        if item.key is not None and result.cacheable and not self.cache.broken:
            if not self.cache.put(item.key, *_entry(result, item.path)):
                self.report.warn(str(self.cache.root), "cannot write the cache; going on without it")

    def take(self, item: _Planned, result: _FileResult) -> None:
        report = self.report
        if result.duplicate_of is not None:
            report.drop(DUPLICATE, f"{item.path} (same bytes as {result.duplicate_of})")
            return
        if result.from_cache:
            report.files_cached += 1
        report.tunes_found += result.found
        for reason, example in result.drops:
            report.drop(reason, example)
        if result.skip is not None:
            report.skip_file(item.path, result.skip)
            return
        report.files_read += 1
        kept = 0
        for piece in result.pieces:
            if self.full():
                break
            digest = hashlib.blake2b(np.ascontiguousarray(piece.notes).tobytes(), digest_size=16).digest()
            if digest in self.first_of_notes:
                report.drop(DUPLICATE, f"{piece.source} (same notes as {self.first_of_notes[digest]})")
                continue
            self.first_of_notes[digest] = piece.source
            self.pieces.append(piece)
            report.tunes_kept += 1
            report.notes_kept += len(piece)
            kept += 1
        if result.found and not kept and result.drops and not self.full():  # name the file, even with one piece
            why = Counter(r for r, _ in result.drops)
            report.warn(item.path, "no usable pieces (" + ", ".join(f"{n} {r}" for r, n in why.most_common()) + ")")
        if self.full():
            report.stopped_at_max_tunes = self.max_pieces


def _pool_context():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def load_pieces(sources: str | os.PathLike | Sequence[str | os.PathLike], *, tracks: str | TrackSelector | Sequence[int] | None = None,
                max_pieces: int | None = None, workers: int | None = None, cache: bool = True,
                progress: bool | None = None, limits: Limits | None = None) -> PieceCorpus:
    """Read Pieces from classical corpus names (`CLASSICAL_CORPORA`), ABC folk corpus names, files, folders
    (recursive) and globs, in order; identical files and identical pieces are kept once.

    `tracks`: see `parse_tracks` (default: all non-drum tracks merged). `max_pieces`: stop after that many.
    `workers`: processes for parsing uncached files (default: the CPUs; 1 = in this process). `cache`: read
    and write the on-disk cache (`corpus.cache`). `progress`: a progress bar on stderr (None: when more than
    20 files are parsed). Bad files are skipped and listed in `report.files_skipped`; UserError only for
    sources that name nothing and for malformed arguments. The corpus may be empty (see its report).

    Worker processes are started with 'forkserver' (or 'spawn'), so a script calling this needs the usual
    `if __name__ == "__main__":` guard; without it the workers fail and the files are read in this process.
    """
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError("load_pieces was called while a worker process was starting: the script that calls it "
                           "needs an `if __name__ == '__main__':` guard (or pass workers=1)")
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    sources = [os.fspath(s) for s in sources]
    if not sources:
        raise UserError("no corpus given: name a classical corpus (" + ", ".join(classical_names())
                        + "), MIDI/MusicXML/kern/ABC files or folders")
    if max_pieces is not None and max_pieces < 1:
        raise UserError(f"max_pieces must be at least 1, got {max_pieces}")
    if workers is not None and workers < 1:
        raise UserError(f"workers must be at least 1, got {workers}")
    selector = parse_tracks(tracks)
    limits = limits or Limits()
    started = time.perf_counter()
    store = PieceCache(cache_dir() if cache else None)
    loader = _Loader(sources, selector, max_pieces, limits, store)

    paths: list[str] = []
    seen: set[str] = set()
    for source in sources:
        for path in _expand(source, loader.report):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                paths.append(path)
    plan = loader.plan(paths)

    to_parse = [i for i, item in enumerate(plan) if item.result is None and not item.cached]
    workers = workers or _default_workers()
    likely = to_parse
    if max_pieces is not None:  # about one piece per file: the uncached among the first max_pieces files
        first = [i for i, item in enumerate(plan) if item.result is None][:max_pieces]
        likely = [i for i in first if not plan[i].cached]
    cost = sum(_COST[plan[i].kind][0] + _COST[plan[i].kind][1] * plan[i].size / 1024 for i in likely)
    parallel = workers > 1 and len(likely) > 1 and cost > PARALLEL_SECONDS
    show = progress if progress is not None else len(likely) > PROGRESS_FILES
    bar = None
    if show and to_parse:
        from tqdm import tqdm

        bar = tqdm(total=len(likely), desc="reading scores", unit="file", file=sys.stderr, leave=False,
                   dynamic_ncols=True)
    pool = None
    try:
        if parallel:
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(max_workers=min(workers, len(to_parse)), mp_context=_pool_context())
        _run(loader, plan, to_parse, pool, workers, bar)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    loader.report.seconds = time.perf_counter() - started
    return PieceCorpus(loader.pieces, loader.report)


def _jobs(plan: list[_Planned], to_parse: list[int]) -> list[list[int]]:
    """Uncached files grouped for the pool: runs of MIDI files together (cheap each), the others alone."""
    jobs: list[list[int]] = []
    for i in to_parse:
        if plan[i].kind == "midi" and jobs and plan[jobs[-1][0]].kind == "midi" and len(jobs[-1]) < 32:
            jobs[-1].append(i)
        else:
            jobs.append([i])
    return jobs


def _run(loader: _Loader, plan: list[_Planned], to_parse: list[int], pool: ProcessPoolExecutor | None,
         workers: int, bar) -> None:
    """Take every planned file in order; uncached ones are parsed here or in the pool (a window ahead)."""
    from concurrent.futures.process import BrokenProcessPool

    jobs = _jobs(plan, to_parse) if pool is not None else []
    job_of = {i: j for j, job in enumerate(jobs) for i in job}
    futures: dict[int, Future] = {}
    done: dict[int, _FileResult] = {}
    queue = deque(range(len(jobs)))
    window = workers * 3

    def top_up() -> None:
        while queue and len(futures) < window:
            j = queue.popleft()
            futures[j] = pool.submit(_read_batch, [(plan[i].path, plan[i].kind) for i in jobs[j]],
                                     loader.selector, loader.limits)

    for i, item in enumerate(plan):
        if loader.full():
            break
        if pool is not None:
            try:
                top_up()
            except BrokenProcessPool as e:
                loader.report.warn("worker processes", f"stopped ({one_line(e, 100, named=True)}); reading the rest here")
                pool = None
        result = item.result
        if result is None and item.cached:
            result = loader.from_cache(item)
        if result is None:
            if i in job_of and i not in done and pool is not None:
                j = job_of[i]
                try:
                    for k, r in zip(jobs[j], futures.pop(j).result()):
                        done[k] = r
                except BrokenProcessPool as e:  # a worker died (killed, out of memory, unguarded __main__)
                    loader.report.warn("worker processes", f"stopped ({one_line(e, 100, named=True)}); reading the rest here "
                                       "(a script that calls load_pieces needs an `if __name__ == '__main__':` guard)")
                    pool = None
            result = done.pop(i, None)
            if result is None:
                need = None if loader.max_pieces is None else 2 * (loader.max_pieces - len(loader.pieces)) + 10
                result = _read_file(item.path, item.kind, loader.selector, loader.limits, need)
            loader.report.files_parsed += 1
            loader.store(item, result)
            if bar is not None:
                bar.update(1)
        loader.take(item, result)
    for i, result in done.items():  # parsed ahead before max_pieces was reached: worth keeping
        loader.store(plan[i], result)
    running = {j: f for j, f in futures.items() if not f.cancel()}  # the pool's shutdown waits for these anyway
    for j, f in running.items():
        try:
            results = f.result()
        except Exception:  # a broken pool: nothing to keep
            continue
        for i, result in zip(jobs[j], results):
            loader.store(plan[i], result)
