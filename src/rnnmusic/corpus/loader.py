"""Loading many score files in order (`load_pieces`' engine): plan (size, content hash, cache lookup), read the
uncached files through `reader.read_file` (here, or in a process pool a window ahead), keep each file's pieces
in order with duplicates dropped, and count everything in a `ScoreReport`."""
from __future__ import annotations

import hashlib
import os
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import one_line
from ..piece import Piece
from .cache import PieceCache
from .entries import READER_VERSION, from_entry, library_versions, to_entry
from .formats import NOT_MUSIC, FileResult, Limits, kind_of
from .reader import read_batch, read_file, too_large
from .report import DUPLICATE, ScoreReport
from .tracks import TrackSelector

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor


@dataclass
class _Planned:
    path: str
    kind: str
    size: int = 0
    key: str | None = None        # cache key (None: cache off)
    result: FileResult | None = None  # known before parsing (too large, duplicate content, ...)
    cached: bool = False          # a cache file exists for key


class PieceLoader:
    def __init__(self, sources: list[str], selector: TrackSelector, max_pieces: int | None, limits: Limits,
                 cache: PieceCache):
        self.selector, self.max_pieces, self.limits, self.cache = selector, max_pieces, limits, cache
        self.report = ScoreReport(sources=list(sources))
        self.pieces: list[Piece] = []
        self.first_of_notes: dict[bytes, str] = {}  # hash of a kept piece's notes -> its source
        self.key_prefix = f"{READER_VERSION}\0{library_versions()}\0{selector.spec}\0{limits.key()}\0"

    def full(self) -> bool:
        return self.max_pieces is not None and len(self.pieces) >= self.max_pieces

    def plan(self, paths: list[str]) -> list[_Planned]:
        """Size check, content hash and cache lookup for every file, in order."""
        out: list[_Planned] = []
        first_of_digest: dict[str, str] = {}
        for path in paths:
            kind = kind_of(path)
            item = _Planned(path, kind or "")
            out.append(item)
            if kind is None:
                item.result = FileResult(skip=NOT_MUSIC)
                continue
            try:
                size = os.path.getsize(path)
                skip = too_large(path, self.limits)
                if skip is not None:
                    item.result = FileResult(skip=skip)
                    continue
                h = hashlib.sha256()
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
            except OSError as e:
                item.result = FileResult(skip=f"cannot read: {e.strerror or e}", cacheable=False)
                continue
            digest = h.hexdigest()
            item.size = size
            if digest in first_of_digest:
                item.result = FileResult(duplicate_of=first_of_digest[digest])
                continue
            first_of_digest[digest] = path
            if self.cache.enabled:
                item.key = hashlib.sha256((self.key_prefix + f"{kind}\0{digest}").encode()).hexdigest()
                item.cached = self.cache.exists(item.key)
        return out

    def from_cache(self, item: _Planned) -> FileResult | None:
        got = self.cache.get(item.key) if item.key else None
        result = from_entry(*got, item.path) if got is not None else None
        if result is None and item.cached:
            self.report.cache_rebuilt += 1
        return result

    def store(self, item: _Planned, result: FileResult) -> None:
        if (item.key is not None and result.cacheable and not self.cache.broken
                and not self.cache.put(item.key, *to_entry(result, item.path))):
            self.report.warn(str(self.cache.root), "cannot write the cache; going on without it")

    def take(self, item: _Planned, result: FileResult) -> None:
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
            reason = "no usable pieces (" + ", ".join(f"{n} {r}" for r, n in why.most_common()) + ")"
            report.warn(item.path, reason)
            report.files_unusable.append((item.path, reason))
        if self.full():
            report.stopped_at_max_tunes = self.max_pieces


def pool_context():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _jobs(plan: list[_Planned], to_parse: list[int]) -> list[list[int]]:
    """Uncached files grouped for the pool: runs of MIDI files together (cheap each), the others alone."""
    jobs: list[list[int]] = []
    for i in to_parse:
        if plan[i].kind == "midi" and jobs and plan[jobs[-1][0]].kind == "midi" and len(jobs[-1]) < 32:
            jobs[-1].append(i)
        else:
            jobs.append([i])
    return jobs


def run(loader: PieceLoader, plan: list[_Planned], to_parse: list[int], pool: ProcessPoolExecutor | None,
         workers: int, bar) -> None:
    """Take every planned file in order; uncached ones are parsed here or in the pool (a window ahead)."""
    from concurrent.futures.process import BrokenProcessPool

    jobs = _jobs(plan, to_parse) if pool is not None else []
    job_of = {i: j for j, job in enumerate(jobs) for i in job}
    futures: dict[int, Future] = {}
    done: dict[int, FileResult] = {}
    queue = deque(range(len(jobs)))
    window = workers * 3

    def top_up() -> None:
        while queue and len(futures) < window:
            j = queue.popleft()
            futures[j] = pool.submit(read_batch, [(plan[i].path, plan[i].kind) for i in jobs[j]],
                                     loader.selector, loader.limits)

    for i, item in enumerate(plan):
        if loader.full():
            break
        if pool is not None:
            try:
                top_up()
            except BrokenProcessPool as e:
                loader.report.warn("worker processes",
                                   f"stopped ({one_line(e, 100, named=True)}); reading the rest here")
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
                    loader.report.warn("worker processes", f"stopped ({one_line(e, 100, named=True)}); reading the "
                                       "rest here (a script that calls load_pieces needs an `if __name__ == "
                                       "'__main__':` guard)")
                    pool = None
            result = done.pop(i, None)
            if result is None:
                need = None if loader.max_pieces is None else 2 * (loader.max_pieces - len(loader.pieces)) + 10
                result = read_file(item.path, item.kind, loader.selector, loader.limits, need)
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
