"""Learned voices in the studio: which voices a page may offer (the A/B job that "Compare sounds" runs on a
generated piece is `jobs.ab_job`).

A voice is named by an id the server made (a shipped voice's name, or rN/path under a root), never by a path
from the browser; `voice_folder` refuses any other id."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import UserError
from .catalog import find_folders


def available_voices(roots: Sequence[Path]) -> dict[str, Path]:
    """id -> folder of every voice the studio offers: the shipped voices by name, then voice folders under the
    roots (`catalog.find_folders`) as rN/relative/path; the shipped models' folder, a root too, by name only."""
    from ..models import MODELS_DIR, is_voice, shipped_models

    found = {name: folder for name, folder in shipped_models().items() if is_voice(folder)}
    shipped_root = {f"r{i}" for i, root in enumerate(roots) if Path(root) == MODELS_DIR}
    for voice_id, folder in find_folders(roots, "voice"):
        if voice_id.split("/", 1)[0] not in shipped_root:
            found[voice_id] = folder
    return found


def voice_folder(roots: Sequence[Path], voice_id: str) -> Path | None:
    """The folder of an offered voice; None for "" (the SoundFont); a UserError for anything else."""
    if not voice_id:
        return None
    voices = available_voices(roots)
    if voice_id not in voices:
        raise UserError(f"no voice {voice_id[:80]!r} in this studio (offered: {', '.join(voices) or 'none'})")
    return voices[voice_id]
