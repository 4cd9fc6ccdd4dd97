"""Export a trained run as a shipped model folder: best weights in fp16, config, encoding and its card."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import load_checkpoint, save_checkpoint, split_prefix, write_atomic
from ..errors import UserError
from ..run import open_run
from . import CARD_FIELDS, MODELS_DIR, card_markdown


def export_model(run: str | Path, name: str, card: dict[str, Any], out_root: str | Path | None = None) -> Path:
    """Write the run's best weights (fp16) with its config, encoding and `card` as a shipped model folder."""
    r = open_run(run)
    if not r.best_path.is_file():
        raise UserError(f"{r.root}: no best.safetensors yet: train it first")
    tensors, meta = load_checkpoint(r.best_path)
    weights = {f"model.{k}": v.to(torch.float16) if v.is_floating_point() else v
               for k, v in split_prefix(tensors, "model").items()}
    folder = Path(out_root or MODELS_DIR) / name
    folder.mkdir(parents=True, exist_ok=True)
    keep = {k: meta[k] for k in ("progress", "model_config", "encoding") if k in meta}
    save_checkpoint(folder / "best.safetensors", weights, keep | {"shipped": name, "dtype": "float16"})
    for part in ("config.json", "encoding.json", "corpus-report.json", "metrics.csv"):
        if (r.root / part).is_file():
            write_atomic(folder / part, (r.root / part).read_bytes())
    missing = [k for k in CARD_FIELDS if not card.get(k)]
    if missing:
        raise UserError(f"model card for {name!r} lacks {', '.join(missing)}")
    write_atomic(folder / "card.json", (json.dumps(card, indent=2) + "\n").encode())
    write_atomic(folder / "card.md", card_markdown(card).encode())
    return folder
