"""Fine-tuning the folk model on a small book of another style: does it keep its craft and learn the style?

    python bench/folk_quality/finetune.py            # about 10 minutes on 2 CPU cores

The book: 157 English tunes of the Nottingham Music Database (../shared/data/nottingham_abc, GPLv3): the
Ashover collection, morris and Playford dances, waltzes and carols, every one with chord symbols, which the
built-in collections almost never have. `rnnmusic train --init-from folk` on it for at most 4.5 minutes
(`finetune()`, fine-tuning defaults), then 100 tunes at default settings, measured by `tune_metrics.py`
beside 100 of the shipped model's. Style distances: total variation distance between the generated tunes and
a reference, per feature (meter, key, parts, chord symbols present), averaged; the fine-tuned tunes should sit
closer to the book than to the base corpus. Writes finetune.md and finetune.json here.
"""
from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import draw  # noqa: E402
from tune_metrics import measure_tune  # noqa: E402

from rnnmusic.corpus import load_abc  # noqa: E402
from rnnmusic.encodings.abc_form import tune_form  # noqa: E402
from rnnmusic.run import load_model  # noqa: E402
from rnnmusic.trainer import finetune  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1].parent / "shared" / "data" / "nottingham_abc" / "ABC_cleaned"
BOOK = [DATA / f for f in ("ashover.abc", "morris.abc", "waltzes.abc", "playford.abc", "xmas.abc")]
SETTINGS = {"max_minutes": 4.5, "batch_size": 16, "seed": 1, "sample_every": 0}  # else the fine-tuning defaults


def features(body: str) -> dict[str, str]:
    f = tune_form(body)
    return {"meter": f.meter or "-", "key": f.key or "-", "parts": str(min(f.parts, 4)),
            "chords": str('"' in body.split("K:", 1)[-1])}


def tvd(a: list[dict], b: list[dict]) -> float:
    """Mean over features of the total variation distance between the two samples' distributions."""
    out = []
    for name in a[0]:
        ca, cb = Counter(x[name] for x in a), Counter(x[name] for x in b)
        out.append(0.5 * sum(abs(ca[k] / len(a) - cb[k] / len(b)) for k in set(ca) | set(cb)))
    return sum(out) / len(out)


def rates(bodies: list[str]) -> dict[str, float]:
    figs = [measure_tune(b) for b in bodies]
    return {"abc2midi_clean": sum(f.abc2midi_clean for f in figs) / len(figs),
            "bars_ok": sum(f.bars_ok for f in figs) / len(figs),
            "two_sections": sum(f.parts >= 2 for f in figs) / len(figs)}


def main() -> int:
    torch.set_num_threads(2)
    book = load_abc([str(p) for p in BOOK])
    base = random.Random(0).sample([t.text for t in load_abc(["all-folk"]).tunes], 200)
    t0 = time.time()
    out = Path(tempfile.mkdtemp(prefix="rnnmusic-finetune-")) / "run"
    try:
        finetune(out, "folk", [str(p) for p in BOOK], **SETTINGS)
        seconds = time.time() - t0
        tuned_model, tuned_enc, meta = load_model(out)
        tuned = [b for b, _ in draw(tuned_model, tuned_enc, 100, seed=1)]
        added = tuned_enc.fit_stats.get("new_tokens")
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    model, enc, _ = load_model("folk")
    shipped = [b for b, _ in draw(model, enc, 100, seed=1)]
    book_f, base_f = [features(t.text) for t in book.tunes], [features(t) for t in base]
    res = {
        "book_tunes": len(book.tunes), "finetune_seconds": round(seconds, 1), "new_tokens": added,
        "best_valid_bits": round(meta["progress"]["best_valid"] / 0.6931471805599453, 3),
        "shipped": rates(shipped), "finetuned": rates(tuned),
        "distance_finetuned_to_book": round(tvd([features(b) for b in tuned], book_f), 3),
        "distance_finetuned_to_base": round(tvd([features(b) for b in tuned], base_f), 3),
        "distance_shipped_to_book": round(tvd([features(b) for b in shipped], book_f), 3),
        "distance_shipped_to_base": round(tvd([features(b) for b in shipped], base_f), 3),
    }
    ratio = {k: res["finetuned"][k] / res["shipped"][k] if res["shipped"][k] else 0.0
             for k in ("abc2midi_clean", "bars_ok")}
    res["ratio_to_shipped"] = ratio
    (HERE / "finetune.json").write_text(json.dumps(res, indent=2) + "\n")
    lines = ["# Fine-tuning the folk model on a small English book", "",
             f"Command: `python bench/folk_quality/finetune.py`. Book: {res['book_tunes']} Nottingham tunes "
             f"(ashover, morris, waltzes, playford, xmas; GPLv3); fine-tuning took {res['finetune_seconds']} s on "
             f"this machine's CPU, {added} tokens added to the vocabulary, validation {res['best_valid_bits']} "
             "bits/token.", "",
             "| | shipped folk | fine-tuned | fine-tuned / shipped | target |", "|---|---|---|---|---|"]
    for k in ("abc2midi_clean", "bars_ok", "two_sections"):
        r = ratio.get(k)
        lines.append(f"| {k} | {100 * res['shipped'][k]:.0f}% | {100 * res['finetuned'][k]:.0f}% | "
                     f"{'-' if r is None else f'{r:.2f}'} | {'>= 0.90' if r is not None else ''} |")
    lines += ["", "Style distance (mean total variation over meter, key, parts, chord symbols; lower is closer):", "",
              "| tunes | to the book | to the base corpus |", "|---|---|---|",
              f"| shipped folk | {res['distance_shipped_to_book']} | {res['distance_shipped_to_base']} |",
              f"| fine-tuned | {res['distance_finetuned_to_book']} | {res['distance_finetuned_to_base']} |", ""]
    closer = res["distance_finetuned_to_book"] < res["distance_finetuned_to_base"]
    within = res["finetune_seconds"] <= 300 and all(v >= 0.9 for v in ratio.values())
    lines.append(f"Verdict: {'PASS' if closer and within else 'FAIL'} (closer to the book: {closer}; within 5 "
                 f"minutes and at least 90% of the shipped model's abc2midi and bar figures: {within})")
    (HERE / "finetune.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
