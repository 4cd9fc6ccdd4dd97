"""How often the ABC checker rejects real, human-made tunes, and why.

Every rejection of a real tune is either the checker's error (a false positive) or a real fault in the tune
(a transcription error in the source). This samples tunes from every built-in collection and from the
Nottingham set, cleans them as training does (`load_abc`), makes each a document as generation does
(`tune_document(text, 1, "t")`), runs `check_tune` (the verdict `generate` and `evaluate` use, without the
fragment rule: real tunes are whole) and counts the rejections by reason (the first problem, numbers
replaced by N).

    .venv/bin/python bench/abc_checker/measure.py                      # ~600 tunes, a few minutes
    .venv/bin/python bench/abc_checker/measure.py --json after.json --before before.json --md results.md

`--json` keeps the counts and every rejected tune's source and reason; `--before` puts an earlier run's
counts beside this one's in the `--md` table.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

COLLECTIONS = ("oneills", "ryans", "airds", "miscfolk", "essen")
NOTTINGHAM = "/work/shared/data/nottingham_abc/ABC_cleaned"
SEED = 19


def bucket(problem: str) -> str:
    """A rejection reason with its particulars taken out: numbers -> N, '(+N more)' dropped."""
    problem = re.sub(r" \(\+\d+ more\)$", "", problem)
    problem = re.sub(r"^(voice N )?bar \d+: [\d.]+ beats, meter \S+ wants [\d.]+", "bar: wrong length", problem)
    problem = re.sub(r"(in line|line|char|at|bar|of) \d+(-\d+)?", r"\1 N", problem)
    problem = re.sub(r"(?<![A-Za-z\d])\d+", "N", problem)
    problem = re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", problem)
    return problem[:110]


def sample(per_collection: int, seed: int, nottingham: str) -> list[tuple[str, str, str]]:
    """(collection, source, cleaned text) of `per_collection` tunes drawn from each collection."""
    from rnnmusic.corpus import load_abc

    rng = random.Random(seed)
    out = []
    sources = [(name, name) for name in COLLECTIONS]
    if Path(nottingham).is_dir():
        sources.append(("nottingham", nottingham))
    for name, source in sources:
        tunes = load_abc([source]).tunes
        for t in rng.sample(tunes, min(per_collection, len(tunes))):
            out.append((name, t.source, t.text))
    return out


def measure(tunes) -> dict:
    from rnnmusic.evaluation.abc_check import check_tune
    from rnnmusic.render.abc import tune_document

    checked, rejected, reasons, examples = Counter(), Counter(), Counter(), []
    for collection, source, text in tunes:
        c = check_tune(tune_document(text, 1, "t"))
        checked[collection] += 1
        if not c.valid:
            why = c.first_problem() or "?"
            rejected[collection] += 1
            reasons[bucket(why)] += 1
            examples.append({"collection": collection, "source": "/".join(Path(source).parts[-2:]), "reason": why})
    return {"checked": dict(checked), "rejected": dict(rejected), "reasons": dict(reasons.most_common()),
            "rejections": examples}


#: whose fault each reason is, decided by reading the rejected tunes (see README.md); first match wins
VERDICTS = (
    ("header lacks L:", "checker: L: is optional (default from the meter) -- fixed"),
    ("Hornpipe must be", "checker: abc2midi style complaint, plays every note -- fixed"),
    ("found [N or like before", "checker: ABC lets |: be left out, same MIDI -- fixed"),
    ("P: field in header", "checker: abc2midi style complaint, same MIDI -- fixed"),
    ("Field not allowed in tune body", "checker: a text field after K:, same MIDI -- fixed"),
    ("Malformed note", ("both: a decoration before a bar line or slur (checker, fixed); left: '.-f', a note "
                        "broken across lines, H[|] (tune)")),
    ("Cannot apply broken rhythm", ("both: d>.e, hornpipe swing, fermata (abc2midi, fixed); left: unequal "
                                    "pairs such as e>g/ (tune)")),
    ("Chord already finished", "both: [|] invisible bar (checker, fixed); left: ||] (tune)"),
    ("bar: wrong length", ("both: music21 misreads H, (3{g}, BGG::, [V:] lines, P: labels (checker, fixed); "
                           "left: notes or bar lines missing, Essen's line ends (tune; abc2midi flags the same bars)")),
    ("no bars", "tune: no bar lines at all (Essen)"),
    ("note to be tied", "tune: a slur written as a tie (d-e), a tie to nothing"),
    ("Unrecognized chord name", "tune: chord names abc2midi does not know (Nottingham's Dd, Cd)"),
    ("stray / not in grace", "tune: a note broken across two lines in the source"),
    ("Unrecognized character", "tune: a note broken across lines, a stray comma"),
    ("in middle of line ignored", "tune: stray + characters"),
    ("Missing :|", "tune: a repeat opened and never closed"),
    ("Expected end repeat", "tune: a repeat opened and never closed"),
    ("found another", "tune: a repeat opened twice"),
)


def verdict(reason: str) -> str:
    return next((v for key, v in VERDICTS if key in reason), "?")


def markdown(now: dict, before: dict | None, command: str) -> str:
    lines = ["# The ABC checker on real tunes", "", f"Command: `{command}`", "",
             (f"Seed {now['seed']}, {now['per_collection']} tunes drawn per collection, "
              f"{now['seconds']:.0f} s for this run."), "", "## Tunes checked and rejected per collection", ""]
    head = "| collection | checked | rejected" + (" before | rejected after |" if before else " |")
    lines += [head, "|---" * (4 if before else 3) + "|"]
    for col, n in now["checked"].items():
        row = f"| {col} | {n} | "
        if before:
            row += f"{before['rejected'].get(col, 0)} | "
        lines.append(row + f"{now['rejected'].get(col, 0)} |")
    total = sum(now["checked"].values())
    lines.append(f"| all | {total} | " + (f"{sum(before['rejected'].values())} | " if before else "")
                 + f"{sum(now['rejected'].values())} |")
    lines += ["", "## Rejections by reason (first problem, numbers as N)", "",
              "| reason | before | after | whose fault |" if before else "| reason | count | whose fault |",
              "|---|---|---|---|" if before else "|---|---|---|"]
    keys = list(now["reasons"])
    if before:
        keys += [k for k in before["reasons"] if k not in now["reasons"]]
    for k in keys:
        cells = [k, *([str(before["reasons"].get(k, 0))] if before else []), str(now["reasons"].get(k, 0)), verdict(k)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--per-collection", type=int, default=150)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--nottingham", default=NOTTINGHAM)
    p.add_argument("--json", help="write the counts and every rejection here")
    p.add_argument("--before", help="an earlier --json file to compare with")
    p.add_argument("--md", help="write the markdown table here")
    args = p.parse_args(argv)
    start = time.perf_counter()
    result = measure(sample(args.per_collection, args.seed, args.nottingham))
    result |= {"seed": args.seed, "per_collection": args.per_collection, "seconds": time.perf_counter() - start}
    before = json.loads(Path(args.before).read_text()) if args.before else None
    text = markdown(result, before, "python bench/abc_checker/measure.py " + " ".join(argv or sys.argv[1:]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.md:
        Path(args.md).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
