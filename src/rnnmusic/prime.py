"""Priming a generation with the opening of a piece (`generate --prime-file`): `load_prime` reads the file through
the guarded reader (`corpus.reader`, by way of `load_abc` or `load_pieces`), `abc_opening` cuts a clean tune."""
from __future__ import annotations

import re
from pathlib import Path

from .encodings import Encoding
from .errors import UserError

BAR_LINE = re.compile(r"\|\]|\|\||\[\||\|:|:\||::|\|")


def abc_opening(text: str, bars: float) -> str:
    """Header and the first `bars` bar lines' worth of music of a cleaned tune (a pickup counts as a bar)."""
    lines = text.splitlines()
    body_at = next((i + 1 for i, ln in enumerate(lines) if ln.startswith("K:")), 0)
    out, seen = lines[:body_at], 0
    for ln in lines[body_at:]:
        for m in BAR_LINE.finditer(ln):
            seen += 1
            if seen >= bars:
                out.append(ln[: m.end()])
                return "\n".join(out) + "\n"
        out.append(ln)
    return "\n".join(out) + "\n"


def load_prime(path: str | Path, bars: float, enc: Encoding, *, normalize_key: bool = False):
    """The opening `bars` bars of the first piece in `path`, in the form `enc` is primed with: ABC text for ABC
    encodings (`load_abc`), else a Piece (`load_pieces`); both read the file through the guarded reader."""
    if bars <= 0:
        raise UserError(f"--prime-bars must be positive, got {bars}")
    if enc.piece_format == "abc":
        from .corpus import load_abc

        corpus = load_abc([str(path)], max_tunes=1)
        if not corpus.tunes:
            raise UserError(f"{path}: no usable ABC tune to prime with")
        return abc_opening(corpus.tunes[0].text, bars)
    from .corpus import load_pieces

    corpus = load_pieces([str(path)], max_pieces=1, cache=False)
    if not corpus.pieces:
        refused = corpus.report.files_skipped + corpus.report.files_unusable
        reason = refused[0][1] if refused else "no notes"
        raise UserError(f"{path}: cannot prime with it: {reason}")
    piece = corpus.pieces[0]
    if normalize_key:
        from .keys import normalize_key as normalize

        try:
            piece = normalize(piece)
        except ValueError as e:
            raise UserError(f"{path}: {e}") from None
    opening = piece.head(bars)
    if not len(opening):
        raise UserError(f"{path}: no notes in the first {bars:g} bars")
    return opening
