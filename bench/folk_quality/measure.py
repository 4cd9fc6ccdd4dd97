"""Are the folk model's tunes tunes? Figures for generated tunes beside real ones (issue 19's quality bar).

    python bench/folk_quality/measure.py                       # the shipped `folk` model, 200 tunes, requests
    python bench/folk_quality/measure.py --model runs/x --tag x --previous runs/demo
    python bench/folk_quality/measure.py --quick               # 40 tunes, 4 per request: a smoke run

Writes bench/folk_quality/results[-TAG].md and .json and the generated tunes as generated[-TAG].abc. Every row
is measured by the same code (`tune_metrics.py`): 200 random tunes of the training corpus (all-folk, seed 0),
200 random dance tunes of it (those whose R: names a dance type), the previous model (--previous, optional)
and the model, at default settings (temperature 0.9, bar guard and request guard on, no --only-valid).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import markdown  # noqa: E402
from tune_metrics import bar_texts, copies, measure_tune  # noqa: E402

from rnnmusic.corpus import load_abc  # noqa: E402
from rnnmusic.encodings.abc_form import TYPES, tune_form  # noqa: E402
from rnnmusic.run import load_model  # noqa: E402
from rnnmusic.sampler import SampleConfig, sample_ids  # noqa: E402

HERE = Path(__file__).resolve().parent
DANCES = {"reel", "jig", "slip-jig", "hornpipe", "polka", "slide", "waltz", "march", "strathspey"}
REQUESTS = ([("type", t) for t in TYPES] + [("meter", m) for m in ("6/8", "3/4", "C|", "2/4", "9/8")]
            + [("key", k) for k in ("Dmix", "Ador", "Edor", "Gm", "D", "G")]
            + [("parts", p) for p in (2, 3)] + [("bars_per_part", b) for b in (8, 16)])


GUARDS = True  # --free: sample with no constraint at all (what the guards buy)


def draw(model, enc, count: int, seed: int, controls: dict | None = None, batch: int = 50) -> list[tuple[str, str]]:
    """(tune body, its type) of `count` tunes at default settings; the type is the conditioning token the
    model drew (abc-folk), else the R: field."""
    out: list[tuple[str, str]] = []
    while len(out) < count:
        n = min(batch, count - len(out))
        cfg = SampleConfig(count=n, temperature=0.9, seed=seed, max_length=1000, controls=dict(controls or {}),
                           constrain=GUARDS)
        for ids in sample_ids(model, enc, cfg, first_index=len(out)):
            first = enc.vocab[ids[0]] if ids else ""
            body = enc.decode(ids)
            out.append((body, first[6:-1] if first.startswith("<type:") else tune_form(body).type))
    return out


def summarise(figs) -> dict:
    n = len(figs)
    by_type = defaultdict(list)
    for f in figs:
        by_type[f.type].append(f.bars)
    ends = [f.tonic_end for f in figs if f.tonic_end is not None]
    return {
        "tunes": n,
        "abc2midi_clean": sum(f.abc2midi_clean for f in figs) / n,
        "bars_ok": sum(f.bars_ok for f in figs) / n,
        "median_bars": statistics.median(f.bars for f in figs),
        "two_sections": sum(f.parts >= 2 for f in figs) / n,
        "tonic_end": sum(ends) / len(ends) if ends else 0.0,
        "bars_by_type": {t: [len(v), statistics.median(v)]
                         for t, v in sorted(by_type.items(), key=lambda kv: -len(kv[1]))},
    }


def honoured(name: str, value, body: str) -> bool:
    f = tune_form(body)
    if name == "type":
        return not TYPES[value] or f.meter in TYPES[value]
    if name == "meter":
        return f.meter == value
    if name == "key":
        return f.key == value
    if name == "parts":
        return f.parts == value
    return f.bars_per_part == value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="folk")
    ap.add_argument("--previous", help="run directory of the previous model, measured the same way")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--per-request", type=int, default=20)
    ap.add_argument("--tag", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--free", action="store_true", help="no bar, grammar or request guard (writes results-free.*)")
    args = ap.parse_args()
    if args.free:
        global GUARDS
        GUARDS, args.tag = False, args.tag or "free"
    if args.quick:
        args.count, args.per_request, args.tag = 40, 4, args.tag or "quick"
    torch.set_num_threads(2)
    t0 = time.time()
    corpus = load_abc(["all-folk"])
    rng = random.Random(0)
    real = rng.sample([t.text for t in corpus.tunes], min(args.count, len(corpus.tunes)))
    dances = [t.text for t in corpus.tunes if tune_form(t.text).type in DANCES]
    real_dance = random.Random(0).sample(dances, min(args.count, len(dances)))
    training_bars = [bar_texts(t.text) for t in corpus.tunes]

    print(f"corpus read ({time.time() - t0:.0f} s)", file=sys.stderr)
    rows = {f"training corpus (all-folk), {len(real)} random": [measure_tune(b) for b in real],
            f"dance tunes of the corpus, {len(real_dance)} random": [measure_tune(b) for b in real_dance]}
    models = [("previous model", args.previous)] if args.previous else []
    models.append((f"model `{args.model}`", args.model))
    generated: dict[str, list[str]] = {}
    for label, spec in models:
        model, enc, _ = load_model(spec)
        if enc.name != "abc-folk" and label.startswith("model"):
            print(f"warning: {spec} uses {enc.name}: requests are not measured", file=sys.stderr)
        print(f"measuring {label} ({time.time() - t0:.0f} s)", file=sys.stderr)
        drawn = draw(model, enc, args.count, seed=1)
        generated[label] = [b for b, _ in drawn]
        rows[label] = [measure_tune(b) for b, _ in drawn]
        for fig, (_, kind) in zip(rows[label], drawn):
            fig.type = kind
    results = {name: summarise(figs) for name, figs in rows.items()}
    for name, figs in rows.items():
        copied, shared = copies([f.bar_texts for f in figs], training_bars if name in generated else [], 5)
        _, shared4 = copies([f.bar_texts for f in figs], [], 4)
        results[name]["copies_over_4_bars"] = sum(copied) / len(figs) if name in generated else None
        results[name]["share_4_bars"] = sum(shared4)
    print(f"requests ({time.time() - t0:.0f} s)", file=sys.stderr)
    model, enc, _ = load_model(args.model)
    req = {}
    if enc.name == "abc-folk":
        for i, (name, value) in enumerate(REQUESTS):
            try:
                bodies = [b for b, _ in draw(model, enc, args.per_request, seed=100 + i, controls={name: value})]
            except Exception as e:  # a value the model cannot give is a failed request, said so
                req[f"{name}={value}"] = {"error": str(e)}
                continue
            req[f"{name}={value}"] = {"honoured": sum(honoured(name, value, b) for b in bodies) / len(bodies)}
    results["_requests"] = req
    results["_seconds"] = round(time.time() - t0, 1)
    results["_command"] = "python bench/folk_quality/measure.py " + " ".join(sys.argv[1:])
    suffix = f"-{args.tag}" if args.tag else ""
    (HERE / f"results{suffix}.json").write_text(json.dumps(results, indent=2) + "\n")

    (HERE / f"results{suffix}.md").write_text(markdown(results))
    from rnnmusic.render.abc import tunebook

    for label, bodies in generated.items():
        if label.startswith("model"):
            (HERE / f"generated{suffix}.abc").write_text(tunebook(bodies, title="folk"))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
