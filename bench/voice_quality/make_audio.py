"""Training and reference audio for the shipped `fiddle` voice: fiddle tunes played by a sampled violin.

No solo fiddle recordings that may legally ship were at hand, so the voice learns from renders: tunes of Ryan's
Mammoth Collection (1883, public domain; it ships inside music21) written to MIDI by abcmidi as rnnmusic renders
ABC (`rnnmusic render --to mid --program 40`), then played by FluidSynth through the violin of MuseScore General
(MIT licence; Debian package musescore-general-soundfont-small), a different soundfont from FluidR3, which
rnnmusic renders with by default. Every 8th tune (sorted by file name) is held out for the benchmark; the rest are
used, in order, until `--train-minutes` of audio.

    python bench/voice_quality/make_audio.py --out data/fiddle     # train/*.wav, heldout/*.{mid,wav}, list.json
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from rnnmusic.corpus.builtin import BUILTIN_CORPORA  # noqa: E402
from rnnmusic.errors import UserError  # noqa: E402
from rnnmusic.render.audio import render_audio, write_audio  # noqa: E402
from rnnmusic.render.files import render_files  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3")
SAMPLE_RATE = 16000
HELD_OUT_EVERY = 8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="data/fiddle")
    ap.add_argument("--train-minutes", type=float, default=10.0)
    ap.add_argument("--heldout", type=int, default=12, help="held-out tunes (default 12)")
    ap.add_argument("--soundfont", default=str(SOUNDFONT))
    args = ap.parse_args()
    font = Path(args.soundfont)
    if not font.is_file():
        sys.exit(f"{font}: missing (apt-get install musescore-general-soundfont-small)")
    out = Path(args.out)
    files = sorted(Path(BUILTIN_CORPORA["ryans"].paths()[0]).glob("*.abc"))
    listing: dict[str, list] = {"train": [], "heldout": []}
    seconds = {"train": 0.0, "heldout": 0.0}
    for i, abc in enumerate(files):
        part = "heldout" if i % HELD_OUT_EVERY == 0 else "train"
        if part == "heldout" and len(listing["heldout"]) >= args.heldout:
            continue
        if part == "train" and seconds["train"] >= args.train_minutes * 60:
            continue
        if seconds["train"] >= args.train_minutes * 60 and len(listing["heldout"]) >= args.heldout:
            break
        folder = out / part
        folder.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                done = render_files([abc], ["mid"], folder, program=40)
            except UserError as e:
                print(f"skipped {abc.name}: {e}")
                continue
        for r in done[:1]:  # the first tune of the file
            if "mid" not in r.files:
                print(f"skipped {abc.name}: {r.errors}")
                continue
            mid = Path(r.files["mid"][0])
            samples, rate = render_audio(mid, soundfont=font, sample_rate=SAMPLE_RATE)
            dur = samples.shape[0] / rate
            if dur > 150:  # a medley or a long set: not what a held-out tune should be
                mid.unlink()
                continue
            write_audio(mid.with_suffix(".wav"), samples, rate)
            if part == "train":
                mid.unlink()  # the voice learns from the audio alone
            listing[part].append({"tune": abc.name, "seconds": round(dur, 2)})
            seconds[part] += dur
    listing["seconds"] = {k: round(v, 1) for k, v in seconds.items()}
    listing["source"] = ("Ryan's Mammoth Collection (1883, public domain; music21 corpus ryansMammoth), abc2midi, "
                         f"program 40, FluidSynth with {font.name} (MuseScore General, MIT), {SAMPLE_RATE} Hz")
    (out / "list.json").write_text(json.dumps(listing, indent=1) + "\n")
    print(f"train: {len(listing['train'])} tunes, {seconds['train'] / 60:.1f} min; "
          f"held out: {len(listing['heldout'])} tunes, {seconds['heldout'] / 60:.1f} min -> {out}")


if __name__ == "__main__":
    main()
