"""The on-disk cache of parsed pieces (and of anything else worth keeping between runs): `.npz` files, no pickle.

Location: `$RNNMUSIC_CACHE` when set (set it to an empty string or `off` to disable the cache), else
`$XDG_CACHE_HOME/rnnmusic`, else `~/.cache/rnnmusic`. Each entry is one `.npz` file written to a temporary
name and renamed into place, so a reader sees either nothing or a complete file. Arrays are stored as they
are; metadata is JSON text stored as a uint8 array named `meta` (loaded with `allow_pickle=False`).

A file that cannot be read back (truncated, corrupted, written by another version) is treated as absent and
is rewritten. A cache folder that cannot be written warns once per process and the work goes on uncached.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

ENV = "RNNMUSIC_CACHE"
_DISABLED = {"", "0", "off", "none", "false", "no"}
_warned: set[str] = set()  # cache folders already warned about in this process


class CacheWarning(UserWarning):
    """The cache could not be written; results are correct but will be recomputed next time."""


def cache_dir() -> Path | None:
    """The cache folder (not created here), or None when `$RNNMUSIC_CACHE` disables the cache."""
    env = os.environ.get(ENV)
    if env is not None:
        return None if env.strip().lower() in _DISABLED else Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and os.path.isabs(os.path.expanduser(xdg)) else Path.home() / ".cache"
    return base / "rnnmusic"


def _warn_once(folder: Path, error: BaseException) -> None:
    key = str(folder)
    if key in _warned:
        return
    _warned.add(key)
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    warnings.warn(f"cannot write the cache in {folder} ({reason}); going on without caching "
                  f"(set {ENV} to another folder, or to 'off')", CacheWarning, stacklevel=3)


def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any] | None = None,
             *, compress: bool = True) -> bool:
    """Write `arrays` (and `meta` as JSON) to `path` atomically. False (after one warning) when it can't."""
    path = Path(path)
    data = {k: np.asarray(v) for k, v in arrays.items()}
    if meta is not None:
        data["meta"] = np.frombuffer(json.dumps(meta, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **data)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getbuffer())
        os.replace(tmp, path)
        return True
    except OSError as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        _warn_once(path.parent, e)
        return False


def load_npz(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any] | None] | None:
    """(arrays, meta or None) from a file written by `save_npz`; None when it is absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, RuntimeError):
        return None  # absent, truncated, corrupted: the caller recomputes and overwrites it
    meta = None
    if "meta" in arrays:
        try:
            meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None
    return arrays, meta


class PieceCache:
    """Entries under `<cache_dir>/pieces/`, one `.npz` per key (a hex digest)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) / "pieces" if root is not None else None
        self.broken = False  # a write failed: stop trying (the warning was given once)

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npz"

    def exists(self, key: str) -> bool:
        return self.root is not None and self.path(key).is_file()

    def get(self, key: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """(arrays, meta) stored under `key`, or None (absent, corrupted, or stored under another key)."""
        if self.root is None:
            return None
        got = load_npz(self.path(key))
        if got is None or got[1] is None or got[1].get("key") != key:
            return None
        return got[0], got[1]

    def put(self, key: str, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> bool:
        if self.root is None or self.broken:
            return False
        ok = save_npz(self.path(key), arrays, {**meta, "key": key})
        self.broken = not ok
        return ok
