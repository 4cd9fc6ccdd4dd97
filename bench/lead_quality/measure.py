"""Do lead-sheet melodies follow the chords? Issue #21 section 3's figures for a `lead` model, beside the data's own.

    python bench/lead_quality/measure.py --data-only                  # the OpenEWLD lead sheets -> results/data.*
    python bench/lead_quality/measure.py [--model lead] [--name NAME]  # + the model's pieces -> results/NAME.*

Data: the lead sheets of `--corpus` read as the trainer reads them (`load_pieces(limits=Limits(lead=True))`, split by
`PieceCorpus.split(0.1, seed 0)`, moved to C major / A minor by `keys.normalize_key`). Each piece is scored by the
generator's own measure, `evaluation.chord_fit` (strong-beat melody notes that are chord tones; chance).

The model (a run directory or a shipped name) writes, through `generator.generate` as `rnnmusic generate` does,
`--pieces-per-progression` pieces over each progression: a ii-V-I in C and in Bb, a 12-bar jazz blues in F, the A
section of rhythm changes in Bb, and the first 16 bars of `--held-out` held-out lead sheets (their own key and metre).
The generator draws each piece twice with the same seed, with the chords and with them withheld; both are scored
against the chords. Without `--chords` (key C) it proposes the progression itself: its chord transitions (root motion
mod 12, quality to quality, whole chord pairs, in the C major / A minor frame) are compared with the training data's.
The ii-V-I in C is drawn again with `--swing 0.62`: its MIDI against the straight one shows the off-beat eighths'
delay. Syncopation: melody onsets off the quarter beat (and those held over the next beat), model against data.
Generated files go to results/gen/NAME/ (not committed).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: the shared helpers in bench/_common
from _common.machine import commit, machine_info, results_dir, write_results  # noqa: E402

from rnnmusic.chords import QUALITY_NAMES  # noqa: E402
from rnnmusic.evaluation.chord_fit import chance_share, chord_tone_share  # noqa: E402
from rnnmusic.evaluation.metrics import histogram_distance  # noqa: E402
from rnnmusic.piece import DUR, START, TPQ, bar_quarters, read_midi_piece  # noqa: E402
from rnnmusic.progressions import ChordSpan, chord_at, spans_from_text  # noqa: E402

SAMPLING: dict = {"temperature": None}  # set from --temperature
QUESTION = "lead_quality"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "openewld_leadsheets"
VALID_FRACTION, SPLIT_SEED = 0.1, 0  # the trainer's defaults (TrainConfig.valid_fraction, split_seed)
BARS, SWING, EPS = 16, 0.62, 1e-6
PROGRESSIONS = [  # (group, row, chords, key, bars)
    ("ii-V-I", "ii-V-I in C", "Dm7 | G7 | Cmaj7 | Cmaj7", "C", BARS),
    ("ii-V-I", "ii-V-I in Bb", "Cm7 F7 | Bbmaj7 | Cm7 F7 | Bbmaj7 G7", "Bb", BARS),
    ("blues", "jazz blues in F", "F7 | Bb7 | F7 | Cm7 F7 | Bb7 | Bdim7 | F7 | D7 | Gm7 | C7 | F7 D7 | Gm7 C7", "F", 12),
    ("rhythm changes", "rhythm changes A in Bb",
     "Bb G7 | Cm7 F7 | Dm7 G7 | Cm7 F7 | Fm7 Bb7 | Eb Edim7 | Dm7 G7 | Cm7 F7", "Bb", BARS),
]
HELD_OUT_GROUP = "held-out lead sheets"
MARGIN_POINTS, OVERLAP, SYNCOPATION_POINTS = 20.0, 0.75, 10.0


# -- pure figures (tests/test_lead_quality_bench.py) ---------------------------------------------------------------
def chord_changes(spans: list[ChordSpan]) -> list[tuple[int, str] | None]:
    """(root, quality) at each change of chord (slash basses ignored; a repeated chord is no change), None for N.C."""
    out: list[tuple[int, str] | None] = []
    for s in spans:
        c = None if s.chord is None else (s.chord.root, s.chord.quality)
        if not out or out[-1] != c:
            out.append(c)
    return out


def transitions(spans: list[ChordSpan]) -> list[tuple[tuple[int, str], tuple[int, str]]]:
    """Consecutive chord pairs of a progression; an N.C. breaks the chain."""
    seq = chord_changes(spans)
    return [(a, b) for a, b in zip(seq, seq[1:]) if a is not None and b is not None]


def root_motion_histogram(pairs) -> np.ndarray:
    """12 bins: root motion up, in semitones mod 12 (0: same root, new quality; 5: up a fourth, as V-I)."""
    return np.bincount([(b[0] - a[0]) % 12 for a, b in pairs], minlength=12).astype(np.float64)


def quality_histogram(pairs) -> np.ndarray:
    """14 x 14 bins (flattened): quality of the chord left -> quality of the chord reached."""
    q = {name: i for i, name in enumerate(QUALITY_NAMES)}
    n = len(QUALITY_NAMES)
    return np.bincount([q[a[1]] * n + q[b[1]] for a, b in pairs], minlength=n * n).astype(np.float64)


def progression_bars(spans: list[ChordSpan], time_signature) -> float:
    return (spans[-1].end - spans[0].start) / bar_quarters(time_signature) if spans else 0.0


def compare_transitions(model: list, data: list, model_bars: float, data_bars: float) -> dict:
    """The model's chord transitions (a list of pairs) against the data's: overlap (and KL, bits) of the root-motion
    and quality histograms, the share of the model's transitions whose exact chord pair (in the key frame) occurs in
    the data, and chord changes per bar on each side."""
    rm = histogram_distance(root_motion_histogram(model), root_motion_histogram(data))
    qh = histogram_distance(quality_histogram(model), quality_histogram(data))
    seen = set(data)
    return {"transitions": len(model), "data_transitions": len(data),
            "root_motion_overlap": round(rm["overlap"], 4), "root_motion_kl": round(rm["kl"], 4),
            "quality_overlap": round(qh["overlap"], 4), "quality_kl": round(qh["kl"], 4),
            "pairs_in_data": round(float(np.mean([p in seen for p in model])), 4) if model else None,
            "changes_per_bar": round(len(model) / model_bars, 3) if model_bars else None,
            "data_changes_per_bar": round(len(data) / data_bars, 3) if data_bars else None,
            "root_motion": _normalized(root_motion_histogram(model)),
            "data_root_motion": _normalized(root_motion_histogram(data))}


def _normalized(h: np.ndarray) -> list[float]:
    return [round(float(x), 4) for x in (h / h.sum() if h.sum() else h)]


def offbeat_counts(notes: np.ndarray, beat: float = 1.0) -> tuple[int, int, int]:
    """(onsets, onsets off the beat, off-beat onsets held over the next beat: syncopations). Beat: a quarter."""
    notes = np.asarray(notes, dtype=np.float64).reshape(-1, 4)
    start, end = notes[:, START], notes[:, START] + notes[:, DUR]
    k = np.floor(start / beat + EPS)
    off = start - k * beat > EPS
    held = off & (end > (k + 1) * beat + EPS)
    return len(notes), int(off.sum()), int(held.sum())


def swing_delays(straight: np.ndarray, swung: np.ndarray, ratio: float, beat: float = 1.0) -> dict:
    """The same melody written straight and swung (onsets paired in time order): how far the off-beat eighths moved
    against the expected (ratio - 1/2) beat, within a MIDI tick and a half, and how many other onsets moved."""
    a, b = np.sort(np.asarray(straight)[:, START]), np.sort(np.asarray(swung)[:, START])
    if len(a) != len(b):
        raise ValueError(f"{len(a)} notes straight but {len(b)} swung: not the same melody")
    tol = 1.5 / TPQ
    k = np.floor(a / beat + tol / beat)
    off = np.abs(a - k * beat - beat / 2) < tol
    delay, expected = b - a, (ratio - 0.5) * beat
    return {"notes": len(a), "offbeat_eighths": int(off.sum()), "expected_delay": round(expected, 4),
            "mean_delay": round(float(delay[off].mean()), 4) if off.any() else None,
            "on_time": int((np.abs(delay[off] - expected) <= tol).sum()),
            "others_moved": int((np.abs(delay[~off]) > tol).sum())}


def slot_text(spans: list[ChordSpan], time_signature, bars: int, start: float = 0.0) -> str:
    """`bars` bars of a progression from `start` as progression text, one slot per eighth note ('.' holds the chord
    on, across bar lines too): what `progressions.parse_progression` reads back. A chord off the eighth grid is read
    where it sounds at the slot."""
    bar = bar_quarters(time_signature)
    slots = max(1, round(2 * bar))
    out, prev = [], None
    for i in range(bars):
        cells = []
        for j in range(slots):
            c = chord_at(spans, start + i * bar + j * bar / slots + EPS)
            name = "N.C." if c is None else c.name()
            cells.append("." if name == prev else name)
            prev = name
        out.append(" ".join(cells))
    return " | ".join(out)


def chord_fit(pieces) -> dict:
    """Pooled over pieces: strong-beat melody notes under a chord, the share that are chord tones, and chance."""
    hits = total = 0
    chance = 0.0
    for p in pieces:
        spans = spans_from_text(p.meta.get("chords", ""))
        h, n = chord_tone_share(p.notes, spans, p.time_signature)
        hits, total = hits + h, total + n
        chance += (chance_share(p.notes, spans, p.time_signature) or 0.0) * n
    return {"pieces": len(pieces), "strong_beat_notes": total, "chord_tones": _ratio(hits, total),
            "chance": _ratio(chance, total)}


def _ratio(a: float, b: float) -> float | None:
    return round(float(a) / float(b), 4) if b else None


def syncopation(note_arrays) -> dict:
    counts = np.array([offbeat_counts(n) for n in note_arrays] or [(0, 0, 0)]).sum(axis=0)
    return {"onsets": int(counts[0]), "offbeat": _ratio(counts[1], counts[0]),
            "held_over": _ratio(counts[2], counts[0])}


# -- data ----------------------------------------------------------------------------------------------------------
def lead_sheets(folder: Path):
    """(train, held out) as the trainer has them, moved to C major / A minor, and the held-out ones as read."""
    from rnnmusic.corpus import load_pieces
    from rnnmusic.corpus.scores import Limits
    from rnnmusic.keys import normalize_key

    corpus = load_pieces([str(folder)], limits=Limits(lead=True))
    train, held_out = corpus.split(VALID_FRACTION, SPLIT_SEED)

    def normalized(pieces):
        out = []
        for p in pieces:
            try:
                out.append(normalize_key(p))
            except ValueError:  # the trainer drops these too (dataset._normalized)
                continue
        return out

    return normalized(train), normalized(held_out), held_out


def data_figures(train, held_out) -> dict:
    def pairs(pieces):
        return [t for p in pieces for t in transitions(spans_from_text(p.meta.get("chords", "")))]

    def bars(pieces):
        return sum(progression_bars(spans_from_text(p.meta.get("chords", "")), p.time_signature) for p in pieces)

    return {"train": chord_fit(train) | syncopation([p.notes for p in train]),
            "held_out": chord_fit(held_out) | syncopation([p.notes for p in held_out]),
            "held_out_transitions": compare_transitions(pairs(held_out), pairs(train), bars(held_out), bars(train)),
            "train_pairs": pairs(train), "train_bars": bars(train)}


def held_out_progressions(pieces, k: int) -> list[tuple[str, str, str, str, str, int]]:
    """The first `k` held-out lead sheets (corpus order) as (group, row, chords, key, meter, bars): up to 16 bars
    from the bar of their first chord, in their own key and metre."""
    out = []
    for p in pieces[:k]:
        spans = spans_from_text(p.meta["chords"])
        bar = bar_quarters(p.time_signature)
        start = np.floor(spans[0].start / bar + EPS) * bar
        bars = int(min(BARS, np.ceil((spans[-1].end - start) / bar - EPS)))
        meter = f"{p.time_signature[0]}/{p.time_signature[1]}"
        out.append((HELD_OUT_GROUP, Path(p.source).stem.replace("_", " "), slot_text(spans, p.time_signature, bars,
                                                                                      start), p.key, meter, bars))
    return out


# -- the model -----------------------------------------------------------------------------------------------------
def run_chords(loaded, chords: str, key: str | None, meter: str | None, bars: int, n: int, seed: int, out: Path,
               swing: float = 0.5) -> dict:
    """N pieces over `chords` through the generator, each with its chords-withheld twin: pooled chord-tone shares."""
    from rnnmusic.generation_request import GenerationRequest
    from rnnmusic.generator import generate

    req = GenerationRequest(count=n, seed=seed, chords=chords, chord_files=False, key=key, meter=meter, bars=bars,
                            swing=swing, formats="mid", temperature=SAMPLING["temperature"])
    report = generate(loaded, req, out=out)
    fits = [t.extra["fit"] for t in report.tunes]
    hits, total = sum(f["hits"][0] for f in fits), sum(f["hits"][1] for f in fits)
    wh, wn = sum(f["withheld_hits"][0] for f in fits), sum(f["withheld_hits"][1] for f in fits)
    chance = sum((f["chance"] or 0.0) * f["hits"][1] for f in fits)
    return {"key": report.settings["key"], "meter": report.settings["meter"], "bars": bars, "pieces": len(fits),
            "hits": [hits, total], "withheld_hits": [wh, wn], "chance_sum": chance, "midi": report.paths("mid")}


def fit_row(parts: list[dict]) -> dict:
    """Pooled shares of one progression or one group of them; margin in percentage points."""
    h, n = sum(p["hits"][0] for p in parts), sum(p["hits"][1] for p in parts)
    wh, wn = sum(p["withheld_hits"][0] for p in parts), sum(p["withheld_hits"][1] for p in parts)
    w, wd = _ratio(h, n), _ratio(wh, wn)
    return {"pieces": sum(p["pieces"] for p in parts), "strong_beat_notes": n, "with_chords": w, "withheld": wd,
            "chance": _ratio(sum(p["chance_sum"] for p in parts), n),
            "margin_points": round(100 * (w - wd), 1) if w is not None and wd is not None else None}


def melody_notes(path: str | Path) -> np.ndarray:
    """The melody of a MIDI file the lead-sheet writer wrote (its first track)."""
    return read_midi_piece(path, tracks=[0]).notes


def proposed(loaded, n: int, seed: int, out: Path) -> tuple[list, float, list[str]]:
    """N pieces whose chords the model proposes (key C, the frame itself): their transitions, bars, progressions."""
    from rnnmusic.generation_request import GenerationRequest
    from rnnmusic.generator import generate

    report = generate(loaded, GenerationRequest(count=n, seed=seed, key="C", bars=BARS, formats="mid",
                                                temperature=SAMPLING["temperature"]), out=out)
    spans = [spans_from_text(t.extra["chords"]) for t in report.tunes]
    ts = tuple(int(x) for x in report.settings["meter"].split("/"))
    return ([t for s in spans for t in transitions(s)], sum(progression_bars(s, ts) for s in spans),
            [t.extra["progression"] for t in report.tunes])


# -- targets and tables --------------------------------------------------------------------------------------------
def targets(result: dict) -> list[tuple[str, str, bool]]:
    rate = result["data"]["train"]["chord_tones"]
    out = []
    for group, row in result["groups"].items():
        out.append((f"{group}: strong-beat chord tones with the chords >= the training data's {_pct(rate)}",
                    _pct(row["with_chords"]), row["with_chords"] is not None and row["with_chords"] >= rate))
        out.append((f"{group}: with the chords - withheld >= {MARGIN_POINTS:g} points", _pts(row["margin_points"]),
                    row["margin_points"] is not None and row["margin_points"] >= MARGIN_POINTS))
    nc = result["no_chords"]
    out.append((f"no --chords: root-motion overlap with the data's >= {OVERLAP} (ours)", f"{nc['root_motion_overlap']}",
                nc["root_motion_overlap"] >= OVERLAP))
    sw = result["swing"]
    out.append((f"--swing {SWING}: every off-beat eighth {sw['expected_delay']} quarters late (1.5 ticks), no other "
                "onset moved", f"{sw['on_time']}/{sw['offbeat_eighths']}, {sw['others_moved']} others",
                sw["offbeat_eighths"] > 0 and sw["on_time"] == sw["offbeat_eighths"] and sw["others_moved"] == 0))
    m, d = result["syncopation"]["offbeat"], result["data"]["train"]["offbeat"]
    out.append((f"onsets off the beat within {SYNCOPATION_POINTS:g} points of the data's {_pct(d)} (ours)", _pct(m),
                m is not None and abs(m - d) * 100 <= SYNCOPATION_POINTS))
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _pts(x: float | None) -> str:
    return "-" if x is None else f"{x:+.1f}"


def data_markdown(data: dict) -> list[str]:
    t, h, x = data["train"], data["held_out"], data["held_out_transitions"]
    return ["| lead sheets | pieces | strong-beat notes | chord tones | chance | onsets off the beat | held over the "
            "next beat |", "|---|---|---|---|---|---|---|",
            *[f"| {name} | {r['pieces']} | {r['strong_beat_notes']} | {_pct(r['chord_tones'])} | {_pct(r['chance'])} | "
              f"{_pct(r['offbeat'])} | {_pct(r['held_over'])} |" for name, r in (("train", t), ("held out", h))], "",
            f"Chord transitions, held out against train (the most a model can expect): root motion overlap "
            f"{x['root_motion_overlap']}, quality overlap {x['quality_overlap']}, {_pct(x['pairs_in_data'])} of the "
            f"held-out chord pairs occur in the training sheets; {x['changes_per_bar']} / {x['data_changes_per_bar']} "
            f"chord changes per bar. Root motion (0-11 semitones up), train: {x['data_root_motion']}."]


def markdown(result: dict) -> str:
    lines = [f"# Lead sheets: melodies over chords (issue #21, section 3): {result['name']}", "",
             f"`{result['command']}`; {result['seconds']:.0f} s.", "", *data_markdown(result["data"])]
    if "rows" not in result:
        return "\n".join(lines) + "\n"
    nc, sw, sy = result["no_chords"], result["swing"], result["syncopation"]
    st = result["settings"]
    lines += ["", f"Model `{result['model']}` (its own training data figure: {_pct(result['model_training_data'])}); "
              f"{st['pieces_per_progression']} pieces per progression, seed {st['seed']}.",
              "", "| progression | group | key | bars | pieces | with the chords | chords withheld | chance | margin "
              "(points) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['row']} | {r['group']} | {r['key']} {r['meter']} | {r['bars']} | {r['pieces']} | "
                     f"{_pct(r['with_chords'])} | {_pct(r['withheld'])} | {_pct(r['chance'])} | "
                     f"{_pts(r['margin_points'])} |")
    for g, r in result["groups"].items():
        lines.append(f"| **{g}** | | | | {r['pieces']} | **{_pct(r['with_chords'])}** | {_pct(r['withheld'])} | "
                     f"{_pct(r['chance'])} | {_pts(r['margin_points'])} |")
    lines += ["", f"Without --chords ({nc['pieces']} pieces, key C): {nc['transitions']} transitions, "
              f"{nc['changes_per_bar']} changes per bar (data {nc['data_changes_per_bar']}); root-motion overlap "
              f"{nc['root_motion_overlap']} (KL {nc['root_motion_kl']} bits), quality overlap {nc['quality_overlap']}, "
              f"{_pct(nc['pairs_in_data'])} of its chord pairs occur in the training sheets. Root motion: "
              f"{nc['root_motion']}. First progression: `{nc['progressions'][0] if nc['progressions'] else '-'}`.", "",
              f"Swing {SWING}: {sw['offbeat_eighths']} off-beat eighths of {sw['notes']} notes, mean delay "
              f"{sw['mean_delay']} quarters (expected {sw['expected_delay']}), {sw['on_time']} on time, "
              f"{sw['others_moved']} other onsets moved. Syncopation: {_pct(sy['offbeat'])} of {sy['onsets']} onsets "
              f"off the beat, {_pct(sy['held_over'])} held over the next beat.", "", "## Targets", "",
              "| target | figure | met |", "|---|---|---|",
              *[f"| {t} | {v} | {'yes' if ok else 'NO'} |" for t, v, ok in targets(result)]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="lead", help="a run directory or a shipped model's name (default: lead)")
    ap.add_argument("--corpus", type=Path, default=CORPUS, help="the lead-sheet folder (default: %(default)s)")
    ap.add_argument("--data-only", action="store_true", help="only the data's figures -> results/data.*")
    ap.add_argument("--pieces-per-progression", type=int, default=8)
    ap.add_argument("--held-out", type=int, default=8, help="held-out lead sheets whose progressions are played")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temperature", type=float, help="sampling temperature (default: the model's)")
    ap.add_argument("--name", help="results file name (default: the model's folder name)")
    ap.add_argument("--out", type=Path, default=results_dir(QUESTION), help="results folder")
    args = ap.parse_args(argv)
    started, timing = time.perf_counter(), {}
    loaded = None if args.data_only else load_lead_model(args.model)
    train, held_out, held_out_read = lead_sheets(args.corpus)
    data = data_figures(train, held_out)
    train_pairs, train_bars = data.pop("train_pairs"), data.pop("train_bars")
    timing["data"] = round(time.perf_counter() - started, 1)
    name = "data" if args.data_only else args.name or Path(str(args.model)).name
    command = " ".join(["python bench/lead_quality/measure.py", *(argv if argv is not None else sys.argv[1:])])
    result = {"question": "Do lead-sheet melodies follow the chords? (issue #21, section 3)", "name": name,
              "command": command, "corpus": str(args.corpus), "split": {"valid_fraction": VALID_FRACTION,
                                                                       "seed": SPLIT_SEED}, "data": data}
    if not args.data_only:
        result |= measure_model(args, loaded, name, held_out_read, train_pairs, train_bars, timing)
    result |= {"seconds": round(time.perf_counter() - started, 1), "timing": timing, "machine": machine_info(),
               "commit": commit()}
    if "rows" in result:
        result["targets"] = [{"target": t, "value": v, "met": bool(ok)} for t, v, ok in targets(result)]
    write_results(args.out, name, result, markdown(result))


def load_lead_model(model: str):
    """The model (`run.load_model`), or one line saying why it is none or no lead-sheet model."""
    from rnnmusic.errors import UserError
    from rnnmusic.run import load_model

    try:
        loaded = load_model(model)
    except UserError as e:
        raise SystemExit(f"--model {model}: {e}") from None
    if loaded.encoding.kind != "lead":
        raise SystemExit(f"--model {model}: a {loaded.encoding.name} model, not a lead-sheet (lead) model")
    return loaded


def measure_model(args, loaded, name: str, held_out_read, train_pairs, train_bars, timing: dict) -> dict:
    t = time.perf_counter()
    gen = args.out / "gen" / name
    shutil.rmtree(gen, ignore_errors=True)
    n, seed = args.pieces_per_progression, args.seed
    SAMPLING["temperature"] = args.temperature
    plan = [(g, r, c, k, "4/4", b) for g, r, c, k, b in PROGRESSIONS] + held_out_progressions(held_out_read,
                                                                                            args.held_out)
    rows = []
    for i, (group, row, chords, key, meter, bars) in enumerate(plan):
        part = run_chords(loaded, chords, key, meter, bars, n, seed, gen / f"{i:02d}")
        rows.append({"group": group, "row": row, "chords": chords} | part | fit_row([part]))
        print(f"{row}: {_pct(rows[-1]['with_chords'])} with the chords, {_pct(rows[-1]['withheld'])} withheld",
              file=sys.stderr)
    groups = {g: fit_row([r for r in rows if r["group"] == g]) for g in dict.fromkeys(r["group"] for r in rows)}
    timing["with_chords"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    pairs, bars, progressions = proposed(loaded, n, seed, gen / "no-chords")
    no_chords = {"pieces": n, "progressions": progressions} | compare_transitions(pairs, train_pairs, bars, train_bars)
    timing["no_chords"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    g, r, c, k, b = PROGRESSIONS[0]
    swung = run_chords(loaded, c, k, "4/4", b, n, seed, gen / "swing", swing=SWING)
    delays = [swing_delays(melody_notes(a), melody_notes(s), SWING) for a, s in zip(rows[0]["midi"], swung["midi"])]
    swing = {key: sum(d[key] for d in delays) for key in ("notes", "offbeat_eighths", "on_time", "others_moved")}
    moved = sum((d["mean_delay"] or 0.0) * d["offbeat_eighths"] for d in delays)
    swing |= {"expected_delay": round(SWING - 0.5, 4), "mean_delay": _ratio(moved, swing["offbeat_eighths"])}
    sync = syncopation([melody_notes(m) for r in rows for m in r["midi"]])
    timing["swing"] = round(time.perf_counter() - t, 1)
    return {"model": str(args.model), "model_training_data": loaded.encoding.fit_stats.get("strong_beat_chord_tones"),
            "settings": {"pieces_per_progression": n, "seed": seed, "held_out": args.held_out, "swing": SWING,
                         "generated": str(gen)},
            "rows": rows, "groups": groups, "no_chords": no_chords, "swing": swing, "syncopation": sync}


if __name__ == "__main__":
    main()
