"""Models that ship inside the package, ready to generate and to fine-tune, offline.

Each shipped model is a folder here laid out as a (minimal) run directory, so everything that loads a run loads
it: ``config.json``, ``encoding.json``, ``best.safetensors`` (the weights alone, fp16, in rnnmusic's checkpoint
format: safetensors plus JSON metadata and a checksum, never a pickle) and its card, ``card.json`` (what
`rnnmusic models` prints) with ``card.md`` beside it for people.

    rnnmusic models                          # the shipped models and their cards
    rnnmusic generate folk --count 10        # a shipped name works wherever a run directory does
    rnnmusic train --init-from folk --corpus mybook.abc --out runs/mine

`export.export_model(run, name)` writes such a folder from a trained run (the step after training in a card's
command). Learned voices (`rnnmusic.voice`: they play music rather than write it) ship here too, as folders
whose config.json says kind "voice" and whose card says "kind": "voice"; `rnnmusic voice export` writes them.
Loading never touches the network.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UserError

MODELS_DIR = Path(__file__).resolve().parent
CARD_FIELDS = ("name", "summary", "data", "licence", "command", "hardware", "training_time", "figures")


def shipped_models() -> dict[str, Path]:
    """Shipped model names -> their folders (those with weights and a card)."""
    return {p.name: p for p in sorted(MODELS_DIR.iterdir())
            if p.is_dir() and (p / "best.safetensors").is_file() and (p / "card.json").is_file()}


def is_voice(folder: str | Path) -> bool:
    """Whether `folder` holds a learned voice (`rnnmusic.voice`: its config.json says kind "voice")."""
    try:
        return json.loads((Path(folder) / "config.json").read_text()).get("kind") == "voice"
    except (OSError, ValueError, AttributeError):
        return False


def resolve_model(spec: str | Path) -> Path:
    """A run directory, or the folder of the shipped model named `spec` (a run directory of that name wins)."""
    path = Path(spec)
    if path.exists() or str(spec) not in shipped_models():
        return path
    return shipped_models()[str(spec)]


def read_card(name_or_folder: str | Path) -> dict[str, Any]:
    folder = resolve_model(name_or_folder)
    try:
        return json.loads((folder / "card.json").read_text())
    except FileNotFoundError:
        raise UserError(f"{folder}: no card.json: not a shipped model") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{folder / 'card.json'}: not valid JSON ({e})") from None


def card_text(card: dict[str, Any]) -> str:
    """A card as a few readable lines (what `rnnmusic models` prints); a voice's says how to use it."""
    voice = card.get("kind") == "voice"
    lines = [f"{card.get('name', '?')}: {'(voice) ' if voice else ''}{card.get('summary', '')}"]
    if voice:
        lines.append(f"    use: rnnmusic render tune.abc --to wav --voice {card.get('name')}  (or generate --voice)")
    for key in ("data", "licence", "command", "hardware", "training_time"):
        if card.get(key):
            value = card[key] if isinstance(card[key], str) else "; ".join(map(str, card[key]))
            lines.append(f"    {key.replace('_', ' ')}: {value}")
    figures = card.get("figures") or {}
    if figures:
        lines.append("    figures: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    return "\n".join(lines)


def card_markdown(card: dict[str, Any]) -> str:
    """The card for people: card.md beside card.json."""
    lines = [f"# {card['name']}", "", card.get("summary", ""), ""]
    for key in ("data", "licence", "command", "hardware", "training_time"):
        value = card.get(key)
        if isinstance(value, list):
            lines += [f"## {key.replace('_', ' ').capitalize()}", ""] + [f"- {v}" for v in value] + [""]
        elif value:
            lines += [f"## {key.replace('_', ' ').capitalize()}", "", f"```\n{value}\n```" if key == "command"
                      else str(value), ""]
    figures = card.get("figures") or {}
    if figures:
        lines += ["## Figures", "", "| figure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in figures.items()]
    return "\n".join(lines) + "\n"
