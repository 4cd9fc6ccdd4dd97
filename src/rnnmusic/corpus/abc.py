"""ABC tunebooks -> clean tunes (`load_abc`): files read through the guarded reader (`corpus.reader`), split at
X:, each tune cleaned (`abc_clean.clean_tune`), duplicates dropped, and why each was dropped reported.

Tunes are split at X: lines only (blank lines do not end a tune: several tunebooks have blank lines inside
tunes); text before the first X: is the file header and is not read. Exact duplicates (same cleaned text)
after the first are removed by `load_abc` and counted.
"""
from __future__ import annotations

import glob
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import UserError
from .abc_clean import EMPTY_BODY, LONG_LINE, LONG_TUNE, MAX_LINE_CHARS, MAX_TUNE_CHARS, NO_KEY, clean_tune  # noqa: F401 -- importable from here as before the split
from .abc_text import BINARY, NOT_ABC, decode_abc_bytes, header_fields, split_tunebook, tune_sources  # noqa: F401
from .builtin import builtin_names, find_builtin
from .formats import Limits, files_in
from .reader import read_tunebook
from .report import DUPLICATE, CorpusReport
from .split import keyed_split


@dataclass(frozen=True)
class Tune:
    """One cleaned tune: musical header lines then body, '\\n'-separated, ending with '\\n'."""

    text: str
    source: str  # e.g. "/path/book1.abc:X:12", or "/path/tune.abc:line 1" for a file without X:


@dataclass
class Corpus:
    tunes: list[Tune]
    report: CorpusReport = field(default_factory=CorpusReport)

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[list[Tune], list[Tune]]:
        """(train, valid) by tune, both in corpus order.

        A tune's side depends only on the seed and its own text (a keyed hash, so it is the same in every
        process whatever PYTHONHASHSEED is, and a tune stays on its side when the corpus grows). With two or
        more tunes and a fraction above 0, at least one tune is held out and at least one is trained on.
        """
        return keyed_split(self.tunes, [t.text for t in self.tunes], valid_fraction, seed)

    def stats(self) -> dict:
        """Tune count, header values by frequency (most common first) and mean tune length."""
        meters, keys, units = Counter(), Counter(), Counter()
        for tune in self.tunes:
            head = header_fields(tune.text)
            meters[head.get("M", "(none)")] += 1
            keys[head.get("K", "(none)")] += 1
            units[head.get("L", "(default)")] += 1
        n = len(self.tunes)
        return {
            "tunes": n,
            "meters": dict(meters.most_common()),
            "keys": dict(keys.most_common()),
            "unit_lengths": dict(units.most_common()),
            "mean_length_chars": round(sum(len(t.text) for t in self.tunes) / n, 1) if n else 0.0,
        }


def folk_files(builtin, report: CorpusReport) -> list[str]:
    """The .abc files of a built-in folk corpus; a folder missing from music21 is a warning."""
    files = []
    for folder in builtin.paths():
        if not os.path.isdir(folder):
            report.warn(folder, f"built-in corpus {builtin.name!r} is missing from this music21 installation")
            continue
        files += files_in(folder)
    return files


def _expand_source(source: str, report: CorpusReport) -> list[str]:
    """The files a source names; problems go to report.warnings."""
    builtin = find_builtin(source)
    if builtin is not None:
        return folk_files(builtin, report)
    path = os.path.expanduser(source)
    if os.path.isdir(path):
        files = files_in(path)
        if not files:
            report.warn(source, "no .abc files")
        return files
    if os.path.isfile(path):
        return [path]
    if os.path.exists(path):
        report.warn(source, "not a regular file or directory")
        return []
    if any(c in path for c in "*?["):
        files = []
        for match in sorted(glob.glob(path, recursive=True)):
            files += files_in(match) if os.path.isdir(match) else [match] if os.path.isfile(match) else []
        if not files:
            report.warn(source, "no .abc files")
        return files
    hint = ""
    if os.sep not in source and not source.lower().endswith(".abc"):
        hint = f", and not a built-in corpus ({', '.join(builtin_names())})"
    report.warn(source, "no such file or directory" + hint)
    return []


class TuneLoader:
    """One load_abc call: files in order, each read by `reader.read_tunebook` (the reader every command uses),
    tunes deduplicated, everything counted in the report. The same shape as `loader.PieceLoader`: `full`, then
    `take` for each file's result."""

    def __init__(self, sources: Sequence[str], max_tunes: int | None, keep_chords: bool,
                 limits: Limits | None = None):
        self.max_tunes, self.keep_chords, self.limits = max_tunes, keep_chords, limits or Limits()
        self.report = CorpusReport(sources=list(sources))
        self.tunes: list[Tune] = []
        self.first_source: dict[str, str] = {}  # cleaned text -> source of its first copy

    def full(self) -> bool:
        return self.max_tunes is not None and len(self.tunes) >= self.max_tunes

    def load_file(self, path: str) -> None:
        self.take(path, read_tunebook(path, self.limits, keep_chords=self.keep_chords))

    def take(self, path: str, book) -> None:
        if book.skip is not None:
            self.report.skip_file(path, book.skip)
            return
        self.report.files_read += 1
        kept, drops = 0, Counter()
        for tune in book.judged():
            self.report.tunes_found += 1
            source = path + tune.source[len(book.path):].replace("#", ":", 1)  # book.abc:X:12
            self.report.header_fields_dropped.update(tune.fields)
            if tune.cleaned is None:
                self.report.drop(tune.reason, source)
                drops[tune.reason] += 1
            elif tune.cleaned in self.first_source:
                self.report.drop(DUPLICATE, f"{source} (same as {self.first_source[tune.cleaned]})")
                drops[DUPLICATE] += 1
            else:
                self.first_source[tune.cleaned] = source
                self.tunes.append(Tune(tune.cleaned, source))
                self.report.tunes_kept += 1
                kept += 1
                if self.full():
                    self.report.stopped_at_max_tunes = self.max_tunes
                    break
        if not kept and set(drops) != {DUPLICATE}:
            self.report.warn(path, "no usable tunes (" + ", ".join(f"{n} {r}" for r, n in drops.most_common()) + ")")


def load_abc(sources: Sequence[str], *, max_tunes: int | None = None, keep_chords: bool = True) -> Corpus:
    """Read ABC from built-in corpus names (see `builtin_names`), files, folders (recursive *.abc) or globs.

    Bad files and tunes are skipped and recorded in `Corpus.report`; UserError is raised only when no
    tune at all is left, naming each source tried and why it gave nothing. Identical files reached twice
    (say `all-folk` and `essen`) are read once.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    sources = [os.fspath(s) for s in sources]
    if not sources:
        raise UserError(f"no corpus given: name a built-in corpus ({', '.join(builtin_names())}) or ABC files/folders")
    if max_tunes is not None and max_tunes < 1:
        raise UserError(f"max_tunes must be at least 1, got {max_tunes}")
    started = time.perf_counter()
    loader = TuneLoader(sources, max_tunes, keep_chords)
    seen_files: set[str] = set()
    for source in sources:
        for path in _expand_source(source, loader.report):
            real = os.path.realpath(path)
            if real in seen_files or loader.full():
                continue
            seen_files.add(real)
            loader.load_file(path)
    report = loader.report
    report.seconds = time.perf_counter() - started
    if not loader.tunes:
        why = "; ".join(report.warnings[:8]) or "nothing to read"
        if len(report.warnings) > 8:
            why += f"; ... and {len(report.warnings) - 8} more problems"
        if report.tunes_found:
            dropped = ", ".join(f"{n} {r}" for r, n in report.tunes_dropped.most_common())
            why += f" ({report.tunes_found} tunes found, all dropped: {dropped})"
        raise UserError(f"no usable ABC tunes in {', '.join(map(str, sources))}: {why}")
    return Corpus(loader.tunes, report)
