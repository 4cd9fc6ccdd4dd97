"""The one checkpoint format: a single safetensors file holding tensors plus JSON metadata and a checksum.

- Tensors (weights, optimizer moments, RNG state, recurrent state) are stored by name with safetensors;
  everything else (epoch, step, data position, schedule state, config) is JSON in the file's metadata.
- Nothing is ever unpickled: safetensors cannot execute code, and a file that is not a valid safetensors
  file (a pickle payload, a truncated write, random bytes) is refused with a `CheckpointError`.
- A SHA-256 over every tensor's bytes and the metadata is stored and verified on load, so bit rot and
  truncation are detected even where the container still parses.
- Writes are atomic: temp file in the same folder, fsync, rename, fsync of the folder. A checkpoint is
  either the old file or the complete new one, never half-written.

Test hook: with the environment variable RNNMUSIC_TEST_SLOW_WRITE=SECONDS, `write_atomic` writes the first
half of the temp file, sleeps that long, then writes the rest, so a test that kills the process can land
the kill in the middle of a write (tests/test_faults.py). Leave it unset otherwise.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .errors import CheckpointError

FORMAT = "rnnmusic-checkpoint"
VERSION = 1
_UMASK = os.umask(0)  # read the process umask (the only way is to set it), then put it back
os.umask(_UMASK)


def _digest(tensors: dict[str, torch.Tensor], meta_json: str) -> str:
    h = hashlib.sha256(meta_json.encode())
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _slow_write_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("RNNMUSIC_TEST_SLOW_WRITE", "") or 0))
    except ValueError:
        return 0.0


class WriteError(CheckpointError, OSError):
    """A file that could not be written (disk full, read-only, no permission): both an OSError (for callers that
    handle those) and a UserError, so the CLI shows it as one line naming the file and the reason."""

    def __init__(self, path: Path, err: OSError):
        super().__init__(err.errno, err.strerror or str(err))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"{self.path}: cannot write: {self.strerror}"


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes so that `path` is either untouched or complete: temp file, fsync, rename, fsync dir.

    Raises `WriteError` (an OSError and a UserError naming the file) when the file cannot be written; the old
    file, if any, is then untouched and no temp file remains."""
    path = Path(path)
    try:
        _write_atomic(path, data)
    except WriteError:
        raise
    except OSError as e:
        raise WriteError(path, e) from None


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions of a new file
        with os.fdopen(fd, "wb") as f:
            slow = _slow_write_seconds()
            if slow:  # test hook (see the module docstring): leave a half-written temp file for a while
                f.write(data[: len(data) // 2])
                f.flush()
                time.sleep(slow)
                f.write(data[len(data) // 2 :])
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def save_checkpoint(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Atomically write tensors and JSON-able metadata to one safetensors file."""
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    meta_json = json.dumps(meta, sort_keys=True)
    header = {"format": FORMAT, "version": str(VERSION), "meta": meta_json, "sha256": _digest(tensors, meta_json)}
    try:
        write_atomic(Path(path), save(tensors, metadata=header))
    except OSError as e:
        raise CheckpointError(f"{path}: cannot write checkpoint: {e.strerror or e}") from None


def load_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read and verify a checkpoint; raise CheckpointError naming the file and the reason otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path}: not a valid rnnmusic checkpoint (truncated, corrupted or foreign file: "
                              f"{reason})") from None
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rnnmusic checkpoint (format {header.get('format')!r})")
    meta_json = header.get("meta", "")
    if _digest(tensors, meta_json) != header.get("sha256"):
        raise CheckpointError(f"{path}: checksum mismatch: the file is corrupted")
    try:
        meta = json.loads(meta_json)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: not an rnnmusic checkpoint (its metadata is not a JSON object)")
    return tensors, meta


def split_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors under `prefix.` with the prefix removed."""
    p = prefix + "."
    return {k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)}


def optimizer_to_flat(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state_dict into named tensors and a JSON part."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, pstate in state["state"].items():
        for key, value in pstate.items():
            if torch.is_tensor(value):
                tensors[f"{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_flat(tensors: dict[str, torch.Tensor], js: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    for idx, values in js.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(values)
    return {"state": state, "param_groups": js["param_groups"]}
