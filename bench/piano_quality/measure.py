"""Does generated piano music move like Beethoven's sonatas? Issue #21 section 2's figures, real movements scored
by the same code.

    python bench/piano_quality/measure.py                                  # real movements -> results/real.*
    python bench/piano_quality/measure.py --generated FOLDER [--name NAME]  # + a row -> results/NAME.*
    python bench/piano_quality/measure.py --write-midi FOLDER              # the held-out movements as .mid
    python bench/piano_quality/measure.py --write-midi FOLDER --through RUN  # ... through RUN's encoding and back

Data: the 103 sonata movements in **kern of ../shared/data/beethoven_sonatas_kern (`--source`), read with
`corpus.load_pieces` (both staves merged into one Piece; cached after the first read). Rows: the held-out
movements (the trainer's split, `PieceCorpus.split(0.1, seed 0)`, keyed by each file's folder and name), the
training movements, and with `--generated` the .mid files of a folder (all
tracks merged; no deduplication). Every row is compared with the held-out row; the targets are issue #21's.

Per piece: the top line (`evaluation.voices.top_line`: the highest sounding note at each onset), its median
absolute interval and share of intervals over an octave; `evaluation.metrics`' empty_beat_rate, polyphony,
pitch_range, pitch_class_entropy, scale_consistency; the share of notes a sixteenth or shorter; collapse as
`evaluation.piece_check.check_piece` finds it. Per row, pooled over its pieces: histograms of top-line
intervals, note lengths (`metrics.NOTE_LENGTH_EDGES`), polyphony (pitches sounding per sounding sixteenth step,
as `metrics.polyphony` counts them; 10+ in one bin) and pitches (one bin per MIDI pitch: the register used, which
unlike a per-piece range does not grow with a piece's length); overlaps by `metrics.histogram_distance` (sum of
min(p, q) of the normalized histograms, 1.0 = identical). Per-piece pitch ranges are compared too
(`metrics.distribution_distance`, kernel densities), shown but not judged.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results
from _common.tables import generated_row, stat_cell  # noqa: E402

from rnnmusic.evaluation import metrics
from rnnmusic.evaluation.musical_report import piece_figures
from rnnmusic.evaluation.piece_check import check_piece
from rnnmusic.evaluation.voices import top_line
from rnnmusic.piece import DUR, Piece

QUESTION = "piano_quality"
VALID_FRACTION, SPLIT_SEED = 0.1, 0  # the trainer's defaults (TrainConfig.valid_fraction, split_seed)
SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "beethoven_sonatas_kern"
HELD_OUT = "real, held out"
GRID = 4            # steps per quarter: sixteenths
POLY_BINS = 10      # pitches sounding 1..9, then 10 or more
OCTAVE = 12
LONG = 16.0         # quarters: a note held longer is most likely a stuck one (a reading artefact, or a model's)
FIGURES = [  # (key, what it is, format: "pct" or "fN", N decimals)
    ("notes", "notes", "f0"),
    ("quarters", "length (quarters)", "f0"),
    ("top_median_interval", "top line: median interval (semitones)", "f2"),
    ("top_leaps_over_octave", "top line: leaps over an octave", "pct"),
    ("empty_beat_rate", "empty beats", "pct"),
    ("polyphony", "pitches sounding (mean over sounding 16th steps)", "f2"),
    ("pitch_range", "pitch range (semitones)", "f1"),
    ("mean_note_length", "mean note length (quarters)", "f2"),
    ("sixteenth_share", "notes a sixteenth or shorter", "pct"),
    ("long_share", "notes held over 16 quarters (stuck notes?)", "pct"),
    ("pitch_class_entropy", "pitch-class entropy (bits)", "f2"),
    ("scale_consistency", "scale consistency", "pct"),
]
HISTOGRAMS = {"note_length": "note-length", "polyphony": "polyphony", "pitch": "pitch (register)",
              "interval": "top-line interval"}
HIST_SIZES = {"note_length": len(metrics.NOTE_LENGTH_NAMES), "polyphony": POLY_BINS, "pitch": 128, "interval": 128}
TARGETED = ("note_length", "polyphony", "pitch")  # the three distributions; the others are shown only
MIN_OVERLAP, LEAP_FACTOR, MEDIAN_SLACK, EMPTY_SLACK = 0.75, 1.5, 1.0, 0.05


SHARED_FIGURES = ("top_median_interval", "top_leaps_over_octave", "empty_beat_rate", "polyphony", "pitch_range",
                  "mean_note_length", "sixteenth_share", "pitch_class_entropy", "scale_consistency")


def figures(piece: Piece) -> dict:
    """One piece's figures (NaN where a figure needs notes it lacks), its collapse reason ('' if none) and its
    histograms (key "hist")."""
    n = len(piece)
    steps = np.abs(np.diff(top_line(piece)))
    dur = piece.notes[:, DUR]
    shared = piece_figures(piece, digits=None)  # the figures every generated piece's report carries, unrounded
    out = {"notes": n, "quarters": piece.end,
           **{k: shared.get(k, math.nan) for k in SHARED_FIGURES},
           "long_share": float((dur > LONG).mean()) if n else math.nan,
           "collapsed": check_piece(piece).collapsed or ""}
    if len(steps) == 0:  # one note: no top-line interval
        out["top_median_interval"] = out["top_leaps_over_octave"] = math.nan
    sounding = metrics._sounding_counts(piece, GRID)  # the counts `metrics.polyphony` averages
    out["hist"] = {
        "note_length": np.histogram(dur, bins=metrics.NOTE_LENGTH_EDGES)[0],
        "polyphony": np.bincount(np.minimum(sounding, POLY_BINS) - 1, minlength=POLY_BINS),
        "pitch": np.bincount(piece.pitches, minlength=128),
        "interval": np.bincount(np.minimum(steps, 127), minlength=128),
    }
    return out


def score(name: str, pieces: list[Piece], every: int = 25) -> list[dict]:
    print(f"{name}: scoring {len(pieces)} pieces", flush=True)
    out = []
    for i, p in enumerate(pieces, 1):
        out.append(figures(p))
        if i % every == 0 and i < len(pieces):
            print(f"  {i}/{len(pieces)}", flush=True)
    return out


def pooled(reports: list[dict]) -> dict[str, np.ndarray]:
    """Each histogram summed over the pieces."""
    return {k: sum((r["hist"][k] for r in reports), np.zeros(size, dtype=np.int64)) for k, size in HIST_SIZES.items()}


def _median_of_counts(counts: np.ndarray) -> float:
    """The median of the values 0, 1, ... counted `counts` times (NaN if none)."""
    total = counts.sum()
    if not total:
        return math.nan
    c = np.cumsum(counts)
    lo, hi = np.searchsorted(c, (total - 1) // 2, side="right"), np.searchsorted(c, total // 2, side="right")
    return (lo + hi) / 2


def summarise(reports: list[dict], reference: list[dict]) -> dict:
    """Per figure: mean, median, 5th and 95th percentile over the pieces that have it; pooled figures; the
    overlaps of this row's pooled histograms with `reference`'s."""
    out: dict = {"pieces": len(reports), "empty": sum(r["notes"] == 0 for r in reports)}
    for key, _, _ in FIGURES:
        v = np.array([r[key] for r in reports], dtype=np.float64)
        v = v[np.isfinite(v)]
        out[key] = {"mean": float(v.mean()), "median": float(np.median(v)), "p5": float(np.percentile(v, 5)),
                    "p95": float(np.percentile(v, 95))} if len(v) else {}
    hist, ref = pooled(reports), pooled(reference)
    iv = hist["interval"]
    out["pooled"] = {"top_intervals": int(iv.sum()), "top_leaps": int(iv[OCTAVE + 1:].sum()),
                     "leap_share": float(iv[OCTAVE + 1:].sum() / iv.sum()) if iv.sum() else math.nan,
                     "top_median_interval": _median_of_counts(iv)}
    out["overlap"] = {k: metrics.histogram_distance(hist[k], ref[k])["overlap"] for k in HISTOGRAMS}
    ranges = [[r["pitch_range"] for r in rs if r["notes"]] for rs in (reports, reference)]
    out["overlap"]["pitch_range_kde"] = metrics.distribution_distance(*ranges)["overlap"]
    reasons = [r["collapsed"].split(":")[0] for r in reports if r["collapsed"]]
    out["collapsed"] = len(reasons)
    out["collapse_reasons"] = {k: reasons.count(k) for k in sorted(set(reasons))}
    out["histograms"] = {k: hist[k].tolist() for k in ("note_length", "polyphony")}
    out["pitch_by_octave"] = [int(hist["pitch"][12 * o:12 * o + 12].sum()) for o in range(11)]  # C-1.., C0.., ...
    return out


def targets(row: dict, ref: dict) -> list[tuple[str, str, bool]]:
    """Issue #21's piano targets on one row against `ref` (the held-out real movements): (target, value, met)."""
    med, ref_med = row["top_median_interval"].get("median", math.nan), ref["top_median_interval"]["median"]
    leap, ref_leap = row["pooled"]["leap_share"], ref["pooled"]["leap_share"]
    empty, ref_empty = row["empty_beat_rate"].get("mean", math.nan), ref["empty_beat_rate"]["mean"]
    return [
        (f"top line: median interval within {MEDIAN_SLACK:g} semitone of theirs ({ref_med:g}; median of the pieces' "
         "medians)", f"{med:g}", abs(med - ref_med) <= MEDIAN_SLACK),
        (f"top line: leaps over an octave at most {LEAP_FACTOR:g}x theirs (<= {_pct(LEAP_FACTOR * ref_leap)}, "
         "pooled)", _pct(leap), leap <= LEAP_FACTOR * ref_leap),
        *[(f"{HISTOGRAMS[k]} distribution overlapping theirs >= {MIN_OVERLAP:g} (pooled)",
           f"{row['overlap'][k]:.3f}", row["overlap"][k] >= MIN_OVERLAP) for k in TARGETED],
        (f"empty beats at most {100 * EMPTY_SLACK:g} points above theirs (<= {_pct(ref_empty + EMPTY_SLACK)}, mean "
         "over pieces)", _pct(empty), empty <= ref_empty + EMPTY_SLACK),
        ("none collapsed (`piece_check.check_piece`)", str(row["collapsed"]), row["collapsed"] == 0),
    ]


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100 * x:.1f}%"


def _fmt(x: float, kind: str) -> str:
    return _pct(x) if kind == "pct" else f"{x:.{kind[1]}f}"


def markdown(rows: dict[str, dict], seconds: float, command: str, held_out: list[str]) -> str:
    names = list(rows)
    head = ["|---|" + "---|" * len(names)]
    lines = ["# Piano figures against Beethoven's sonatas (issue #21, section 2)", "",
             f"`{command}`; {seconds:.0f} s. Each cell: mean over pieces, then median and the 5th-95th percentile "
             "of the per-piece figures. Definitions: `bench/piano_quality/measure.py` and "
             "`src/rnnmusic/evaluation/metrics.py`.", "",
             "| figure | " + " | ".join(f"{n} ({rows[n]['pieces']} pieces)" for n in names) + " |", *head]
    for key, label, kind in FIGURES:
        cells = [stat_cell(rows[n][key], lambda x, k=kind: _fmt(x, k)) for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    p = [rows[n]["pooled"] for n in names]
    lines += ["| top line pooled: leaps over an octave / intervals | " + " | ".join(
                  f"{x['top_leaps']} / {x['top_intervals']} ({_pct(x['leap_share'])})" for x in p) + " |",
              "| top line pooled: median interval | " + " | ".join(f"{x['top_median_interval']:g}" for x in p) + " |"]
    for k, label in [*HISTOGRAMS.items(), ("pitch_range_kde", "per-piece pitch range (kernel density)")]:
        judged = "" if k in TARGETED else ", not a target"
        lines.append(f"| overlap with `{HELD_OUT}`: {label}{judged} | "
                     + " | ".join(f"{rows[n]['overlap'][k]:.3f}" for n in names) + " |")
    lines += ["| pieces without notes | " + " | ".join(str(rows[n]["empty"]) for n in names) + " |",
              "| collapsed pieces (why) | " + " | ".join(str(rows[n]["collapsed"]) + "".join(
                  f"; {k} {v}" for k, v in rows[n]["collapse_reasons"].items()) for n in names) + " |",
              "", f"## Issue #21's targets (against `{HELD_OUT}`)", "",
              "| target | " + " | ".join(names) + " |", *head]
    judged = {n: targets(rows[n], rows[HELD_OUT]) for n in names}
    for i, (label, _, _) in enumerate(judged[names[0]]):
        lines.append(f"| {label} | " + " | ".join(
            f"{judged[n][i][1]} {'yes' if judged[n][i][2] else 'NO'}" for n in names) + " |")
    lines += ["", "## Pooled distributions (share of each row's notes, steps or pitches)", "",
              "| bin | " + " | ".join(names) + " |", *head]
    bins = [("note length: " + b, "note_length", i) for i, b in enumerate(metrics.NOTE_LENGTH_NAMES)]
    bins += [(f"sounding: {i + 1}{'+' if i + 1 == POLY_BINS else ''}", "polyphony", i) for i in range(POLY_BINS)]
    for label, key, i in bins:
        lines.append(f"| {label} | " + " | ".join(
            _pct(rows[n]["histograms"][key][i] / max(1, sum(rows[n]["histograms"][key]))) for n in names) + " |")
    for o in range(1, 9):
        lines.append(f"| pitches C{o - 1}-B{o - 1} (MIDI {12 * o}-{12 * o + 11}) | " + " | ".join(
            _pct(rows[n]["pitch_by_octave"][o] / max(1, sum(rows[n]["pitch_by_octave"]))) for n in names) + " |")
    lines += ["", f"Held-out movements ({len(held_out)}): " + ", ".join(held_out) + "."]
    return "\n".join(lines) + "\n"


def real_sets(source: Path, workers: int | None) -> dict[str, list[Piece]]:
    """The held-out movements (the trainer's split) and the training ones, as Pieces."""
    from rnnmusic.corpus import load_pieces

    started = time.perf_counter()
    corpus = load_pieces([str(source)], workers=workers)
    print(f"read {len(corpus.pieces)} movements from {source} in {time.perf_counter() - started:.1f} s "
          f"({corpus.report.files_cached} files from the cache)", flush=True)
    train, held_out = corpus.split(VALID_FRACTION, SPLIT_SEED)
    return {HELD_OUT: held_out, "real, train": train}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generated", type=Path, help="a folder of .mid files (searched recursively): one more row")
    ap.add_argument("--name", help="the generated row's name and results file (default: the folder's name)")
    ap.add_argument("--write-midi", type=Path, help="write the held-out movements as .mid files there, then stop")
    ap.add_argument("--through", metavar="RUN", help="with --write-midi: each movement through RUN's encoding "
                                                     "and back (a run directory or a shipped model's name)")
    ap.add_argument("--source", type=Path, default=SOURCE, help="the kern folder (default: %(default)s)")
    ap.add_argument("--workers", type=int, help="processes for a first, uncached read (default: the CPUs)")
    ap.add_argument("--out", type=Path, default=results_dir(QUESTION), help="results folder")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    sets = real_sets(args.source, args.workers)
    held_out = [Path(p.source).stem for p in sets[HELD_OUT]]
    if args.write_midi:
        args.write_midi.mkdir(parents=True, exist_ok=True)
        enc = None
        if args.through:
            from rnnmusic.encodings import encoding_from_dict
            from rnnmusic.models import resolve_model

            enc = encoding_from_dict(json.loads((resolve_model(args.through) / "encoding.json").read_text()))
        for piece, stem in zip(sets[HELD_OUT], held_out):
            if enc is not None:  # what the encoding keeps: its grid, its voices
                piece = enc.detokenize(enc.tokenize(piece))
            piece.write_midi(args.write_midi / f"{stem}.mid")
        print(f"wrote {len(held_out)} movements to {args.write_midi}")
        return
    name = "real"
    if args.generated:
        name, generated = generated_row(args.generated, args.name)
        sets = {HELD_OUT: sets[HELD_OUT], name: generated}
    t = time.perf_counter()
    reports = {row: score(row, pieces) for row, pieces in sets.items()}
    scoring, n = time.perf_counter() - t, max(1, sum(len(p) for p in sets.values()))
    rows = {row: summarise(r, reports[HELD_OUT]) for row, r in reports.items()}
    seconds = time.perf_counter() - started
    command = " ".join(["python bench/piano_quality/measure.py", *(argv if argv is not None else sys.argv[1:])])
    md = markdown(rows, seconds, command, held_out)
    result = {"question": "Does generated piano music move like Beethoven's sonatas? (issue #21, section 2)",
              "command": command, "source": str(args.source),
              "split": {"valid_fraction": VALID_FRACTION, "seed": SPLIT_SEED, "held_out": held_out},
              "rows": rows, "targets": {row: [{"target": t, "value": v, "met": ok}
                                              for t, v, ok in targets(rows[row], rows[HELD_OUT])] for row in rows},
              "per_piece": f"{name}-pieces.csv", "seconds": round(seconds, 1),
              "ms_per_piece": round(1000 * scoring / n, 2), "machine": machine_info(), "commit": commit()}
    write_results(args.out, name, _finite(result), md)
    write_pieces(args.out / f"{name}-pieces.csv", sets, reports)


def _finite(x):
    """NaN -> None, so the JSON is valid JSON."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return None if isinstance(x, float) and not math.isfinite(x) else x


def write_pieces(path: Path, sets: dict[str, list[Piece]], reports: dict[str, list[dict]]) -> None:
    """One line per piece and row: its figures (empty where it has none) and why it collapsed."""
    columns = [k for k, _, _ in FIGURES]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "source", *columns, "collapsed"])
        for row, pieces in sets.items():
            for p, r in zip(pieces, reports[row]):
                w.writerow([row, Path(p.source).name, *(_cell(r[k]) for k in columns), r["collapsed"]])


def _cell(v):
    if isinstance(v, float):
        return round(v, 4) if math.isfinite(v) else ""
    return v


if __name__ == "__main__":  # load_pieces reads in worker processes: the guard keeps them from rerunning this
    main()
