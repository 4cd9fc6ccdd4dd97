"""`keyboard`: piano music as four voices, step by step, top line first (the `satb` encoding on a sixteenth grid).

Piano music read as voices by register (`voicing.voice_steps`: the top line, two inner voices, the bass), one
sixteenth at a time (`grid` 4), as the step's position in the bar and what each voice plays, highest first:

    M3/4  @0 79 67 60 48   @1 79~ 67~ 60~ 48~   @2 81 r 60 r ...

The vocabulary is small and every token is seen often (204 tokens on Beethoven's sonatas: positions, the metres,
and each pitch a voice plays, struck or held), where one token per chord-and-duration (`notes`) has thousands of
tokens seen once on a hundred pieces. Each voice is a line the model continues, so the top line moves by step as
the pieces' do. What is lost: a step's notes beyond four (the highest and lowest are kept; about 5% of
Beethoven's notes, `fit_stats["notes_dropped"]`), and onsets and ends off the sixteenth grid (32nds, triplets).

Sampling uses the chorale guard (`encodings.satb_guard`) with the rules that fit a keyboard: the grammar, each
voice in its range and the voices in order, an end on a cadence (V-I or IV-I to the tonic in the bass at a bar
line after `--min-bars`), and silence of at most a quarter (`MAX_SILENCE`: an early model that fell silent stayed
silent, half its beats empty); not the chorale's voice-leading rule (octave doublings are a pianist's texture) nor
its always-singing top voice (pianists rest). Fermatas are not tokens here.
"""
from __future__ import annotations

from .satb import Satb

ACOUSTIC_GRAND = 0
MIN_BARS = 16.0
ONSET_BIAS = 0.5
MAX_SILENCE = 1.0  # quarters of silence (every voice resting) before the top voice must play again


class Keyboard(Satb):
    name = "keyboard"
    defaults = {"grid": 4, "program": ACOUSTIC_GRAND, "copy_bars": 0}
    # room for 2.5 x 16 bars of 4/4 (the guard's last fallback), 5 tokens a sixteenth
    generation_defaults = {"formats": "mid,wav,musicxml,svg,roll", "max_length": 3400, "min_bars": MIN_BARS,
                           "temperature": 1.0}
    phrase_marks = False
    centres = (76.0, 67.0, 55.0, 43.0)
    guard_rules = {"voice_leading": False, "top_sings": False, "max_silence": MAX_SILENCE, "onset_bias": ONSET_BIAS}
