"""A file's reading result as a cache entry (`corpus.cache`) and back: note arrays plus JSON metadata, keyed by
the readers' versions (`READER_VERSION`, symusic's and music21's)."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..piece import Piece
from .formats import FileResult

READER_VERSION = 7  # bump when what a file turns into changes


@functools.cache
def library_versions() -> str:
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


def to_entry(result: FileResult, path: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
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
    """The entries of a piece's meta the cache keeps: plain values and lists of them (a chorale's fermatas)."""
    return {str(k): v for k, v in d.items() if _plain(v)}


def _plain(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return all(_plain(x) for x in v)
    return isinstance(v, (str, int, float, bool, type(None)))


def from_entry(arrays: dict[str, np.ndarray], meta: dict[str, Any], path: str) -> FileResult | None:
    try:
        if meta.get("reader") != READER_VERSION:
            return None
        pieces = [Piece(arrays[f"notes_{i}"], tempo=float(m["tempo"]), time_signature=tuple(m["time_signature"]),
                        program=int(m["program"]), source=path + m["suffix"], key=m.get("key"), meta=dict(m["meta"]))
                  for i, m in enumerate(meta["pieces"])]
        drops = [(reason, path + ex) for reason, ex in meta["drops"]]
        return FileResult(pieces, drops, meta["skip"], int(meta["found"]), from_cache=True)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
