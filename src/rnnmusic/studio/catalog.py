"""What the studio knows about run directories: where they are, and a cheap summary of each.

Runs are found under the configured root folders (a root may itself be a run). A run is named in URLs by
its id, "r<root number>/<path inside the root>", and `resolve_run` turns an id back into a folder only
when it is a run directory inside its root: an id is never trusted as a path.

Summaries read config.json, encoding.json, metrics.csv and the checkpoints' safetensors headers (never
the tensors), so listing many runs or polling a run that is training stays cheap.
"""
from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..models import is_voice

LN2 = math.log(2)
MAX_DEPTH = 3           # run directories are looked for this many folders below a root
SAMPLE_SUFFIXES = (".abc", ".mid")
ACTIVE_S = 120.0        # a run whose files changed this recently (and is not done) counts as training


@dataclass
class RunSummary:
    id: str
    name: str
    path: str
    encoding: str = "?"
    piece_format: str = "abc"
    kind: str = "tokens"
    model: str = "?"
    params: int = 0
    epochs: int = 0
    epochs_planned: int = 0
    best_valid: float | None = None      # nats per step
    best_bits: float | None = None
    unit: str = "token"
    done: str | None = None
    training: bool = False
    updated: float = 0.0
    loss: list[dict[str, float]] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)    # paths inside the run, newest epoch last
    loss_png: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_folders(roots: Sequence[Path], kind: str) -> list[tuple[str, Path]]:
    """(id, folder) of every folder of `kind` under the roots (at most MAX_DEPTH below one), by id: "run" (a run
    directory: config.json and encoding.json) or "voice" (a learned voice, `studio.voices`: config.json of kind
    voice, which is never a run). The id is rN/relative/path (rN for a root itself); the walk does not enter either."""
    found = []
    for i, root in enumerate(roots):
        root = Path(root)
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            depth = len(here.relative_to(root).parts)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("checkpoints", "samples"))
            held = "voice" if "config.json" in files and is_voice(here) else (
                "run" if "config.json" in files and "encoding.json" in files else None)
            if held == kind:
                rel = here.relative_to(root).as_posix()
                found.append((f"r{i}" + ("" if rel == "." else f"/{rel}"), here))
            if held is not None or depth >= MAX_DEPTH:
                dirs[:] = []
    return sorted(found)


def find_runs(roots: Sequence[Path]) -> list[tuple[str, Path]]:
    """(id, folder) of every run directory under the roots, by id."""
    return find_folders(roots, "run")


def resolve_run(roots: Sequence[Path], run_id: str) -> Path:
    """The run folder an id names; UserError unless it is a run directory inside its root."""
    head, _, rel = (run_id or "").partition("/")
    if not head.startswith("r") or not head[1:].isdigit() or int(head[1:]) >= len(roots):
        raise UserError(f"unknown run {run_id!r}")
    root = Path(roots[int(head[1:])]).resolve()
    folder = inside(root, rel)
    if folder is None or not (folder / "config.json").is_file() or not (folder / "encoding.json").is_file():
        raise UserError(f"unknown run {run_id!r}")
    if is_voice(folder):
        raise UserError(f"{run_id!r} is a learned voice, not a model: pick it as the Voice on a model's page")
    return folder


def inside(root: Path, rel: str) -> Path | None:
    """root/rel resolved, or None when rel is absolute, climbs out ('..'), holds a NUL or resolves (through a
    link) to anything outside root."""
    if "\x00" in rel or rel.startswith(("/", "\\")) or any(p == ".." for p in rel.replace("\\", "/").split("/")):
        return None
    root = Path(root).resolve()
    try:
        target = (root / rel).resolve()
    except (OSError, RuntimeError):
        return None
    return target if target == root or target.is_relative_to(root) else None


def _header(path: Path) -> tuple[dict[str, Any], int]:
    """(checkpoint metadata, model parameter count) from a safetensors header, without reading tensors."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = json.loads((f.metadata() or {}).get("meta", "{}"))
        params = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys() if k.startswith("model."))  # noqa: SIM118 (a safetensors file, not a dict)
    return meta, params


def read_metrics(path: Path) -> list[dict[str, float]]:
    """metrics.csv rows as numbers (a row being written right now is skipped)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError:
        return []
    out = []
    for row in rows:
        try:
            out.append({k: float(v) for k, v in row.items() if k and v not in (None, "")})
        except ValueError:
            continue
    return out


def summarize(run_id: str, folder: Path) -> RunSummary:
    """Everything the models page and the training monitor show about one run."""
    from ..config import ModelConfig, TrainConfig, from_dict

    s = RunSummary(run_id, folder.name, str(folder))
    try:
        cfg = json.loads((folder / "config.json").read_text())
        model, train = from_dict(ModelConfig, cfg["model"]), from_dict(TrainConfig, cfg["train"])
        enc = json.loads((folder / "encoding.json").read_text())
    except (OSError, ValueError, KeyError, TypeError) as e:
        s.problem = f"unreadable config or encoding ({type(e).__name__})"
        return s
    from ..encodings import ENCODINGS

    cls = ENCODINGS.get(enc.get("name"))
    s.encoding, s.kind = enc.get("name", "?"), model.kind
    s.piece_format = getattr(cls, "piece_format", "abc")
    s.unit = model.step_unit
    s.model = f"{model.cell.upper()} {model.layers}x{model.hidden}" + (f" + {model.head}" if model.head else "")
    s.epochs_planned = train.epochs
    s.loss = read_metrics(folder / "metrics.csv")
    s.epochs = int(s.loss[-1]["epoch"]) if s.loss else 0
    valid = [r["valid_loss"] for r in s.loss if "valid_loss" in r]
    checkpoints = sorted((folder / "checkpoints").glob("step-*.safetensors"), reverse=True)
    # size and progress from the newest readable checkpoint (best.safetensors when no step checkpoint reads)
    for path in [*checkpoints, folder / "best.safetensors"]:
        try:
            meta, s.params = _header(path)
        except Exception:  # missing, being written or corrupted: try the next
            continue
        progress = meta.get("progress", {})
        s.done = progress.get("done")
        best = progress.get("best_valid")
        if isinstance(best, (int, float)) and math.isfinite(best):
            valid.append(best)
        break
    if valid:
        s.best_valid = min(valid)
        s.best_bits = s.best_valid / LN2
    stamps = [p.stat().st_mtime for p in [folder / "metrics.csv", *checkpoints[:1]] if p.exists()]
    s.updated = max(stamps, default=0.0)
    s.training = not s.done and time.time() - s.updated < ACTIVE_S
    samples = folder / "samples"
    if samples.is_dir():
        s.samples = sorted(p.relative_to(folder).as_posix() for p in samples.rglob("*")
                           if p.suffix in SAMPLE_SUFFIXES and p.is_file())
    s.loss_png = "loss.png" if (folder / "loss.png").is_file() else None
    return s


def list_runs(roots: Sequence[Path]) -> list[RunSummary]:
    return [summarize(run_id, folder) for run_id, folder in find_runs(roots)]
