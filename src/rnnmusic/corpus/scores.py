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

Every file is read by `corpus.reader` (the guarded reader every command uses). Bad files are skipped with a
one-line reason in the report and the rest go on; a path or glob that names
nothing is a UserError. Parsed pieces (and the reasons bad files were skipped) are cached on disk, keyed
by the file's bytes, the reader version and the track selection (see `corpus.cache`), so the slow music21
formats are parsed once. Uncached files are parsed in a process pool when there is enough work.
"""
from __future__ import annotations

import glob
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import UserError
from ..piece import PITCH, Piece
from .abc import folk_files
from .builtin import builtin_names, find_builtin, music21_corpus_dir
from .cache import PieceCache, cache_dir
from .classical import CLASSICAL_CORPORA, ClassicalCorpus, classical_names, find_classical  # noqa: F401
from .formats import (  # noqa: F401 -- importable from here as before the split
    ABC_SUFFIXES,
    MIDI_SUFFIXES,
    MUSIC21_SUFFIXES,
    READABLE_SUFFIXES,
    SCORE_SUFFIXES,
    Limits,
    files_in,
    kind_of,
)
from .loader import PieceLoader, default_workers, pool_context, run
from .report import CorpusReport, ScoreReport
from .split import keyed_split
from .tracks import TrackSelector, parse_tracks

_default_workers = default_workers  # the name bench/preprocess.py uses
PARALLEL_SECONDS = 4.0  # use a process pool when the uncached files would take about this long serially
# rough parsing seconds per file and per KB of file (2020s CPU), only to decide that
_COST = {"midi": (0.002, 0.0005), "musicxml": (0.05, 0.03), "kern": (0.05, 0.04), "abc": (0.02, 0.2)}
PROGRESS_FILES = 20  # show a progress bar when more uncached files than this are parsed


# -- the corpus ------------------------------------------------------------------------------------------
@dataclass
class PieceCorpus:
    pieces: list[Piece]
    report: CorpusReport = field(default_factory=ScoreReport)

    def split(self, valid_fraction: float = 0.1, seed: int = 0) -> tuple[list[Piece], list[Piece]]:
        """(train, valid), both in corpus order; a piece's side depends only on the seed and its source.

        The rank is a keyed hash (the same in every process and load order) of where the piece came from, spelled
        the same on every machine and however the folder was named: for music21's own corpus files the source
        relative to music21's corpus folder, for other files the file's folder and name (`kern/sonata01-1.krn`,
        then `#2` for a tunebook's second tune). With two or more pieces and a fraction above 0 at least one
        piece is held out and one trained on.
        """
        root = _music21_root()
        keys = [p.source[len(root):] if root and p.source.startswith(root) else _file_key(p.source)
                for p in self.pieces]
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
            "time_signatures": dict(Counter(f"{a}/{b}" for a, b in (p.time_signature for p in self.pieces))
                                    .most_common()),
            "pitch_range": [min(lo for lo, _ in pitches), max(hi for _, hi in pitches)] if pitches else None,
            "programs": dict(Counter(p.program for p in self.pieces).most_common()),
        }


def _music21_root() -> str:
    try:
        return os.path.join(music21_corpus_dir(), "")
    except UserError:
        return ""


# -- finding files ------------------------------------------------------------------------------------------
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
            elif os.path.isfile(match) and kind_of(match):
                files.append(match)
        if not files:
            raise UserError(f"{source}: the pattern matches no MIDI, MusicXML, kern or ABC files")
        return files
    names = ", ".join(classical_names() + builtin_names())
    hint = f", and not a built-in corpus ({names})" if os.sep not in source and not kind_of(source) else ""
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
            for _root, _dirs, files in os.walk(match):
                if any(f.lower().endswith(SCORE_SUFFIXES) for f in files):
                    return True
    return False


# -- loading -------------------------------------------------------------------------------------------------
def load_pieces(sources: str | os.PathLike | Sequence[str | os.PathLike], *,
                tracks: str | TrackSelector | Sequence[int] | None = None,
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
    loader = PieceLoader(sources, selector, max_pieces, limits, store)

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
    workers = workers or default_workers()
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

            pool = ProcessPoolExecutor(max_workers=min(workers, len(to_parse)), mp_context=pool_context())
        run(loader, plan, to_parse, pool, workers, bar)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if bar is not None:
            bar.close()
    loader.report.seconds = time.perf_counter() - started
    return PieceCorpus(loader.pieces, loader.report)


def _file_key(source: str) -> str:
    """A source's folder and file name (and `#n` suffix), not how the path to it was spelled."""
    path, hash_, rest = source.partition("#")
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    return "/".join(parts[-2:]) + hash_ + rest
