"""The chorales model alone: 120 chorales with the `satb` guard's voice-leading, copy and cadence rules off (the
grammar, the voice ranges and a sounding soprano kept; the model chooses where to end among the fermatas at a bar
line after 12 bars), the same seeds and temperature as `rnnmusic generate chorales`.

    python bench/chorale_quality/without_rules.py [MODEL] [FOLDER]      # default: chorales /tmp/chorales-free
    python bench/chorale_quality/measure.py --generated /tmp/chorales-free --name chorales-without-rules
"""
from __future__ import annotations

import sys

from rnnmusic import load_model
from rnnmusic.generation_request import GenerationRequest, resolve, sample_config
from rnnmusic.generator import generate_pieces

RULES_OFF = {"min_bars": 12.0, "voice_leading": False, "no_copies": False, "cadence_ending": False}

if __name__ == "__main__":
    model = sys.argv[1] if len(sys.argv) > 1 else "chorales"
    folder = sys.argv[2] if len(sys.argv) > 2 else "/tmp/chorales-free"
    network, enc, _ = load_model(model)
    req = resolve(GenerationRequest(count=120, seed=1, formats="mid"), enc)
    report = generate_pieces(network, enc, sample_config(req, enc, controls=RULES_OFF), folder, formats=("mid",),
                             min_bars=12.0)
    print(report.summary_line())
