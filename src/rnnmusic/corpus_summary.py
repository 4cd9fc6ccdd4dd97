"""Corpora described for people: the built-in ones (`rnnmusic corpus list`) and what one holds (`corpus show`)."""
from __future__ import annotations

import json
from collections.abc import Sequence


def describe_corpora() -> str:
    """The built-in corpora: ABC folk tunes and music21's classical scores, with their sizes."""
    from .corpus import BUILTIN_CORPORA, CLASSICAL_CORPORA

    lines = ["ABC folk tunes (any encoding; MIDI-side encodings parse them with music21):"]
    lines += [f"  {name:14s} ~{c.approx_tunes:>6,} tunes   {c.description}" for name, c in BUILTIN_CORPORA.items()]
    lines.append("classical scores (MIDI-side encodings: notes, pianoroll, events):")
    lines += [f"  {name:14s} ~{c.approx_pieces:>6,} pieces  {c.description}" for name, c in CLASSICAL_CORPORA.items()]
    return "\n".join(lines)


def show_corpus(names: Sequence[str], *, tracks: str | None = None, as_json: bool = False) -> tuple[str, list[str]]:
    """(what the corpus holds, as text or JSON; the reader's warnings) for corpus names, files, folders or globs."""
    from .config import split_sources
    from .corpus import is_score_source, load_abc, load_pieces

    sources = split_sources(list(names))
    if any(is_score_source(s) for s in sources) or tracks:
        corpus = load_pieces(sources, tracks=tracks)
    else:
        corpus = load_abc(sources)
    stats = corpus.stats()
    warnings = list(corpus.report.warnings)
    if as_json:
        return json.dumps({"stats": stats, "report": corpus.report.to_dict()}, indent=2, default=str), warnings
    lines = [corpus.report.summary()]
    if "pieces" in stats:
        lines += [f"{key.replace('_', ' ')}: {value}" for key, value in stats.items()]
        return "\n".join(lines), warnings
    lines.append(f"tunes: {stats['tunes']}")
    for key in ("meters", "keys", "unit_lengths"):
        if key in stats:
            top = list(dict(stats[key]).items())[:12]
            lines.append(f"{key}: " + ", ".join(f"{k} {v}" for k, v in top) + (" ..." if len(stats[key]) > 12 else ""))
    if "mean_length_chars" in stats:
        lines.append(f"mean length: {stats['mean_length_chars']:.0f} characters")
    return "\n".join(lines), warnings
