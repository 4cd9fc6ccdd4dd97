"""ABC documents: a generated or cleaned tune body made into a complete, numbered tune."""
from __future__ import annotations


def tune_document(body: str, number: int = 1, title: str | None = None) -> str:
    """`X:` (and `T:`) lines followed by the tune (header fields M:/L:/K: then notes), newline-terminated."""
    lines = [f"X:{number}"]
    if title:
        lines.append(f"T:{title}")
    text = "\n".join(lines) + "\n" + body.strip("\n") + "\n"
    return text


def tunebook(bodies: list[str], title: str | None = None) -> str:
    """Several tunes in one .abc file, separated by blank lines."""
    return "\n".join(tune_document(b, i + 1, f"{title} {i + 1}" if title else None) for i, b in enumerate(bodies))
