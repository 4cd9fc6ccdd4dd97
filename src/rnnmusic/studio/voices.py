"""Learned voices in the studio: which voices a page may offer (the A/B job that "Compare sounds" runs on a
generated piece is `jobs.ab_job`).

A voice is named by an id the server made (a shipped voice's name, or rN/path under a root), never by a path
from the browser; `voice_folder` refuses any other id."""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError

MAX_DEPTH = 3


def available_voices(roots: Sequence[Path]) -> dict[str, Path]:
    """id -> folder of every voice the studio offers: the shipped voices by name, then voice folders under the
    roots (at most MAX_DEPTH below one) as rN/relative/path."""
    from ..models import MODELS_DIR, is_voice, shipped_models

    found = {name: folder for name, folder in shipped_models().items() if is_voice(folder)}
    for i, root in enumerate(roots):
        root = Path(root)
        if not root.is_dir() or root == MODELS_DIR:
            continue
        for folder, dirs, files in os.walk(root):
            here = Path(folder)
            depth = len(here.relative_to(root).parts)
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("checkpoints", "samples"))
            if "config.json" in files and is_voice(here):
                rel = here.relative_to(root).as_posix()
                found[f"r{i}" + ("" if rel == "." else f"/{rel}")] = here
                dirs[:] = []
            elif depth >= MAX_DEPTH:
                dirs[:] = []
    return found


def voice_folder(roots: Sequence[Path], voice_id: str) -> Path | None:
    """The folder of an offered voice; None for "" (the SoundFont); a UserError for anything else."""
    if not voice_id:
        return None
    voices = available_voices(roots)
    if voice_id not in voices:
        raise UserError(f"no voice {voice_id[:80]!r} in this studio (offered: {', '.join(voices) or 'none'})")
    return voices[voice_id]
