"""What a reference corpus names: corpus names and paths as given, a run directory as the corpus it was trained on."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..config import split_sources
from ..errors import UserError


def reference_sources(values: Sequence[str] | None) -> list[str]:
    """Corpus names, paths, or a run directory (or shipped model) standing for its training corpus; comma-separated
    names are split."""
    from ..run import RunDir, open_run

    out: list[str] = []
    for v in split_sources(values):
        if RunDir(Path(v)).exists():
            corpus = open_run(v).load_config()[1].corpus
            if any(c.startswith("polyphonic:") for c in corpus):
                raise UserError(f"{v}: trained on the polyphonic benchmark rolls, which are not pieces to compare with")
            out += corpus
        else:
            out.append(str(v))
    return out
