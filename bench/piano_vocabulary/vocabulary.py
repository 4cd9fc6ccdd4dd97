"""How big and how sparse is each MIDI-side encoding's vocabulary on Beethoven's piano sonatas?

    .venv/bin/python bench/piano_vocabulary/vocabulary.py [--source ../shared/data/beethoven_sonatas_kern]

Reads the 103 sonata movements (**kern, through the one guarded reader; about 4.5 minutes cold, then cached),
fits `notes`, `notes` with min_count 2, `events` and `pianoroll` on all of them, and writes
results/vocabulary.{md,json}: vocabulary size, tokens, distinct tokens, how many occur once, coverage.
"""
from __future__ import annotations

import argparse
import collections
import json
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "data" / "beethoven_sonatas_kern"
ENCODINGS = (("notes", {}), ("notes", {"min_count": 2}), ("events", {}), ("pianoroll", {}))


def measure(source: Path) -> dict:
    from rnnmusic.corpus import load_pieces
    from rnnmusic.encodings import get_encoding

    t0 = time.monotonic()
    corpus = load_pieces([str(source)])
    out = {"source": str(source), "pieces": len(corpus.pieces), "notes": sum(len(p) for p in corpus.pieces),
           "read_seconds": round(time.monotonic() - t0, 1), "encodings": []}
    for name, opts in ENCODINGS:
        enc = get_encoding(name, **opts).fit(corpus.pieces)
        row = {"encoding": name, "options": opts, "vocabulary": enc.vocab_size}
        if enc.kind != "frames":
            counts = collections.Counter(t for p in corpus.pieces for t in enc.tokenize(p))
            once = sum(1 for v in counts.values() if v == 1)
            row |= {"tokens": sum(counts.values()), "distinct": len(counts), "occur_once": once,
                    "occur_once_share": round(once / len(counts), 4), "coverage": round(enc.coverage(corpus.pieces), 4)}
        out["encodings"].append(row)
    return out


def markdown(r: dict) -> str:
    rows = ["| encoding | vocabulary | tokens | distinct | occur once | coverage |", "|---|---|---|---|---|---|"]
    for e in r["encodings"]:
        name = e["encoding"] + "".join(f" {k}={v}" for k, v in e["options"].items())
        if "tokens" not in e:
            rows.append(f"| {name} | frames {e['vocabulary']} wide | - | - | - | - |")
            continue
        rows.append(f"| {name} | {e['vocabulary']:,} | {e['tokens']:,} | {e['distinct']:,} | "
                    f"{e['occur_once']:,} ({e['occur_once_share']:.0%}) | {e['coverage']:.1%} |")
    return "\n".join([
        "# Vocabulary of each MIDI-side encoding on Beethoven's piano sonatas", "",
        f"`python bench/piano_vocabulary/vocabulary.py`: {r['pieces']} movements, {r['notes']:,} notes "
        f"(read in {r['read_seconds']} s).", "", *rows, ""])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = ap.parse_args()
    r = measure(args.source)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "vocabulary.json").write_text(json.dumps(r, indent=2) + "\n")
    (HERE / "results" / "vocabulary.md").write_text(markdown(r))
    print(markdown(r))


if __name__ == "__main__":  # load_pieces reads in worker processes: the guard keeps them from rerunning this
    main()
