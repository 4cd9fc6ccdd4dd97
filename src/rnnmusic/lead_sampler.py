"""Stateful sampling of a melody over chords (the `lead` encoding), in the key frame the model knows.

Three ways to run a model trained on lead sheets:

* chords given (`spans`): at each chord change of the progression the chord token is fed (forced) and from
  then on the model hears that chord at every step; it only draws melody tokens (notes and rests);
* chords withheld (`withhold=True`, with `spans` for the length): the model hears "no chord information" at
  every step and draws melody only; the same seed as above, for measuring what the chords change;
* no chords: the model draws chord tokens too (it proposes the progression) and hears the chords it drew;
  `first_chord` can force the opening chord (the tonic of the requested key).

Times are grid steps of the encoding; a piece stops when it reaches `total` steps (its last note is cut to
end there). Spans and pieces are in the C major / A minor frame; `rnnmusic.lead_generate` moves them to and
from the requested key.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch

from .chords import Chord
from .encodings.lead import Lead, LeadState, chord_token, parse_lead_token
from .model import MusicRNN
from .progressions import ChordSpan
from .sampler import SampleConfig, filter_logits

# when a progression's chord is not in the model's vocabulary, the nearest one that is (same root)
FALLBACK = {"maj7": "maj", "7": "maj", "6": "maj", "sus4": "maj", "sus2": "maj", "aug": "maj", "m7": "min",
            "m6": "min", "mmaj7": "min", "m7b5": "dim", "dim7": "dim", "dim": "min"}


def chord_token_id(enc: Lead, chord: Chord | None) -> int | None:
    """The vocabulary id of `chord`'s token, falling back to simpler qualities of the same root."""
    seen = set()
    while True:
        tok = chord_token(chord)
        if tok in enc._index:
            return enc._index[tok]
        if chord is None or chord.quality in seen or chord.quality not in FALLBACK:
            return None
        seen.add(chord.quality)
        chord = Chord(chord.root, FALLBACK[chord.quality])


def _changes(spans: Sequence[ChordSpan], grid: int) -> list[tuple[int, Chord | None]]:
    return [(int(round(s.start * grid)), s.chord) for s in spans]


@torch.no_grad()
def sample_lead(model: MusicRNN, enc: Lead, cfg: SampleConfig, *, total: int, bar_steps: int,
                spans: Sequence[ChordSpan] | None = None, withhold: bool = False,
                first_chord: Chord | None = None, first_index: int = 0) -> list[list[str]]:
    """Token strings of cfg.count pieces (no <s>/</s>), each `total` grid steps long."""
    cfg.validate()
    model.eval()
    grid = enc.grid
    given = spans is not None and not withhold
    changes = _changes(spans, grid) if given else []
    if not given and first_chord is not None and not withhold:
        changes = [(0, first_chord)]  # only the opening chord is forced; the model proposes the rest
    n = cfg.count
    gens = [torch.Generator().manual_seed(cfg.seed * 1_000_003 + first_index + i) for i in range(n)]
    states = [LeadState(grid, bar_steps, chords_given=not withhold) for _ in range(n)]
    next_change = [0] * n
    out: list[list[str]] = [[] for _ in range(n)]
    done = [False] * n
    heard = [False] * n  # whether a chord token has been fed

    vocab = enc.vocab
    parsed = [parse_lead_token(t, grid) for t in vocab]
    melody_ok = torch.tensor([p is not None and p[0] != "chord" for p in parsed])
    chord_ok = torch.tensor([p is not None and p[0] == "chord" for p in parsed])
    allowed = melody_ok | (chord_ok if not (given or withhold) else torch.zeros_like(chord_ok))
    durations = torch.tensor([0 if p is None or p[0] == "chord" else (p[1][1] if p[0] == "note" else p[1])
                              for p in parsed])
    longest, shortest = int(durations.max()), int(durations[melody_ok].min())

    def row(i: int, tok_id: int) -> list[int]:
        return [tok_id, *states[i].condition()]

    x = torch.tensor([[row(i, enc.bos_id)] for i in range(n)], dtype=torch.long)
    logits, state = model(x)
    max_steps = cfg.max_length + 4 * max(1, len(changes))
    for _ in range(max_steps):
        last = logits[:, -1]
        feed = []
        for i in range(n):
            st = states[i]
            if done[i]:
                feed.append(row(i, enc.eos_id))
                continue
            forced, pending = None, False
            while next_change[i] < len(changes) and changes[next_change[i]][0] <= st.time:
                chord = changes[next_change[i]][1]
                next_change[i] += 1
                if chord != st.chord or not heard[i]:
                    forced, pending = chord, True  # the latest change due wins
            if pending:
                tid = chord_token_id(enc, forced)
                st.chord, heard[i] = forced, True  # the model hears the progression's chord, even if the token is a fallback
                out[i].append(vocab[tid] if tid is not None else chord_token(forced))
                feed.append(row(i, tid if tid is not None else enc.unk_id))
                continue
            mask = allowed.clone()
            remaining = total - st.time
            if remaining <= longest:  # near the end: nothing much longer than what is left
                mask &= (durations <= max(remaining, shortest)) | ~melody_ok
            logit = last[i].masked_fill(~mask, float("-inf"))
            probs = filter_logits(logit.unsqueeze(0), cfg.temperature, cfg.top_k, cfg.top_p)[0]
            tid = int(torch.multinomial(probs, 1, generator=gens[i]))
            out[i].append(vocab[tid])
            st.advance(parsed[tid])
            feed.append(row(i, tid))
            if st.time >= total:
                done[i] = True
        if all(done):
            break
        logits, state = model(torch.tensor([[r] for r in feed], dtype=torch.long), state)
    return out


def lead_pieces(model: MusicRNN, enc: Lead, cfg: SampleConfig, first_index: int = 0, bars: int = 16) -> list:
    """Pieces of `bars` bars in the corpus' usual metre, the model proposing the chords from a C major chord
    (what `sample.generate` returns for lead models, e.g. the samples written during training)."""
    ts = tuple(enc.piece_defaults.get("time_signature", (4, 4)))
    bar_steps = enc.bar_steps(ts)
    tokens = sample_lead(model, enc, cfg, total=bars * bar_steps, bar_steps=bar_steps, first_chord=Chord(0, "maj"),
                         first_index=first_index)
    return [replace(enc.detokenize(t), time_signature=ts).head(bars) for t in tokens]
