"""Stateful generation: the recurrent state is carried step to step; nothing re-feeds a window.

Each piece i is drawn with its own random generator seeded from (seed, i), so the same seed gives the same
pieces whatever the batch size, and `--only-valid` can draw further pieces without changing earlier ones.
Token encodings sample from the softmax (temperature, top-k, top-p, repetition penalty, the encoding's
constraint); frame encodings ask the model's head for the next frame (sigmoid/MSE: a Bernoulli per pitch;
NADE: pitch by pitch, low to high). A prime (ABC text or a Piece) is fed first and kept in the output.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .config import TEMPERATURE
from .encodings import Encoding
from .errors import UserError
from .model import MusicRNN


@dataclass
class SampleConfig:
    count: int = 1
    temperature: float = TEMPERATURE
    top_k: int = 0            # keep only the k most likely tokens (0 = all)
    top_p: float = 1.0        # nucleus sampling: smallest set with this much probability (1 = all)
    seed: int = 0
    prime: Any = ""           # the opening of every piece: ABC text (e.g. "M:6/8\nK:G\n") or a Piece
    max_length: int = 1000    # tokens (frames) generated after the prime
    constrain: bool = True    # let the encoding rule out impossible tokens (abc-tokens: no over-long bar)
    repetition_penalty: float = 1.0  # > 1 makes the notes among the last `repetition_window` ones less likely
    repetition_window: int = 16
    controls: dict = field(default_factory=dict)  # requests the encoding's constraint honours (abc-folk: type,
    #                                               meter, key, parts, bars_per_part); {} = the model's choice

    def validate(self) -> None:
        if self.count < 1:
            raise UserError(f"count must be at least 1, got {self.count}")
        if self.temperature <= 0:
            raise UserError(f"temperature must be positive, got {self.temperature}")
        if self.top_k < 0:
            raise UserError(f"top-k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise UserError(f"top-p must be in (0, 1], got {self.top_p}")
        if self.max_length < 1:
            raise UserError(f"max-length must be at least 1, got {self.max_length}")
        if self.repetition_penalty < 1.0 or self.repetition_window < 1:
            raise UserError(f"repetition penalty must be >= 1 (1 = off) and its window >= 1, got "
                            f"{self.repetition_penalty} over {self.repetition_window}")


def filter_logits(logits: torch.Tensor, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """Temperature, top-k and top-p applied to (B, V) logits; returns probabilities."""
    if temperature != 1.0:
        logits = logits / temperature
    if top_k and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, idx = torch.sort(logits, descending=True, dim=-1)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        drop = cum - torch.softmax(sorted_logits, dim=-1) >= top_p  # keep the first token that crosses top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, sorted_logits)
    return torch.softmax(logits, dim=-1)


def penalize_repeats(logits: torch.Tensor, history: list[list[int]], penalty: float, window: int,
                     exempt: torch.Tensor | None) -> torch.Tensor:
    """CTRL-style: the logits of tokens among each piece's last `window` penalised tokens (notes, chords)
    are divided by `penalty` (multiplied when negative); tokens the encoding exempts (time shifts, bar
    lines) are never penalised and do not count toward the window."""
    factor = torch.ones_like(logits)
    for i, h in enumerate(history):
        if exempt is not None:
            h = [t for t in h[-8 * window:] if not exempt[t]]
        recent = torch.tensor(sorted(set(h[-window:])), dtype=torch.long)
        if len(recent):
            factor[i, recent] = penalty
    if exempt is not None:
        factor[:, exempt] = 1.0
    return torch.where(logits > 0, logits / factor, logits * factor)


def _prime(enc: Encoding, prime: Any) -> np.ndarray:
    if enc.piece_format == "midi" and (prime is None or isinstance(prime, str)):
        from .piece import Piece

        prime = Piece(np.zeros((0, 4)))
    return enc.encode(prime, bos=True, eos=False)


def piece_seed(seed: int, index: int) -> int:
    """The random seed of piece number `index` of a request seeded `seed` (the same piece whatever the batch)."""
    return seed * 1_000_003 + index


def _guards(enc: Encoding, cfg: SampleConfig, controls: dict, count: int) -> list:
    """One constraint per piece: the encoding's (abc: bar guard; abc-folk: requests; lead: chords), or None each.
    A conditioned encoding (lead) is always guarded: its guard says what the model hears beside each token."""
    if not (cfg.constrain or enc.kind == "lead"):
        return [None] * count
    return [enc.constraint(controls) if controls else enc.constraint() for _ in range(count)]


def group_temperature(logits: torch.Tensor, temps: np.ndarray, temperature: float) -> torch.Tensor:
    """Logits (one row) that, divided by `temperature` as the sampler does, give the group of tokens where `temps`
    is not NaN the same total probability as before, shared among them as at temperature `temps` (one value): the
    lead guard draws its chords hotter than its melody without changing how often it changes chord."""
    group = torch.from_numpy(~np.isnan(temps))
    if not group.any():
        return logits
    t_group = float(np.nanmax(temps))
    z = logits.double() / temperature
    mass = torch.logsumexp(z[group], 0)
    if not torch.isfinite(mass):
        return logits
    inner = logits.double()[group] / t_group
    z[group] = mass + inner - torch.logsumexp(inner, 0)
    return (z * temperature).to(logits.dtype)


@torch.no_grad()
def sample_ids(model: MusicRNN, enc: Encoding, cfg: SampleConfig, first_index: int = 0) -> list[list[int]]:
    """Token ids (prime included, <s>/</s> excluded) of cfg.count pieces numbered first_index...

    The encoding's guard, when it has one, is asked at each step for `allowed()` (a mask of the tokens that may
    come next), `forced()` (a token that must come next without drawing, or None), `condition()` (ids the model
    is told beside the token: conditioned encodings), `bias()` (logits added to the model's, or None: a preference
    that still leaves the choice to the model), `temperatures()` (a group of tokens drawn among themselves at
    their own temperature, NaN elsewhere; or None: `group_temperature`) and `finished()` (the piece ends), and
    told each token by
    `advance(token)`.
    """
    cfg.validate()
    model.eval()
    controls = dict(cfg.controls)
    if getattr(enc, "primes_by_constraint", False) and isinstance(cfg.prime, str) and cfg.prime:
        controls["prime"] = cfg.prime  # forced after the conditioning tokens the model draws first
        prime = [enc.bos_id]
    else:
        encoded = _prime(enc, cfg.prime)  # conditioned encodings give (T, 1 + k): the ids are the first column
        prime = (encoded[:, 0] if encoded.ndim == 2 else encoded).tolist()
    exempt = None
    if cfg.repetition_penalty != 1.0:
        exempt = torch.tensor([not enc.penalized(t) for t in enc.vocab], dtype=torch.bool)
    n = cfg.count
    gens = [torch.Generator().manual_seed(piece_seed(cfg.seed, first_index + i)) for i in range(n)]
    guards = _guards(enc, cfg, controls, n)
    for g in filter(None, guards):
        for tok in prime[1:]:
            g.advance(enc.vocab[tok])
    conditioned = guards[0] is not None and hasattr(guards[0], "condition")

    def inputs(tokens: list[int]) -> torch.Tensor:  # (B, 1) ids, or (B, 1, 1 + k) ids and conditions
        if not conditioned:
            return torch.tensor(tokens, dtype=torch.long).view(-1, 1)
        return torch.tensor([[[t, *g.condition()]] for t, g in zip(tokens, guards)], dtype=torch.long)

    if conditioned and len(prime) > 1:
        raise UserError(f"a {enc.name} model takes no prime: its guard's controls say what it plays over")
    logits, state = model(inputs(prime * n) if conditioned else torch.tensor([prime] * n, dtype=torch.long))
    last = logits[:, -1]
    out: list[list[int]] = [list(prime[1:]) for _ in range(n)]
    alive = [True] * n
    eos = enc.eos_id
    block = 256
    for step in range(cfg.max_length):
        if step % block == 0:  # each piece's own uniforms, drawn a block at a time
            u = torch.stack([torch.rand(block, generator=g, dtype=torch.float64) for g in gens])
        forced = [g.forced() if alive[i] and g is not None and hasattr(g, "forced") else None
                  for i, g in enumerate(guards)]
        masks = [g.allowed() if g is not None and alive[i] and forced[i] is None else None
                 for i, g in enumerate(guards)]
        if any(m is not None for m in masks):
            keep = torch.ones_like(last, dtype=torch.bool)
            for i, m in enumerate(masks):
                if m is not None:
                    keep[i] = torch.from_numpy(m)
            last = last.masked_fill(~keep, float("-inf"))
        for i, g in enumerate(guards):  # a guard's preferences among what it allows, and its own temperatures
            if g is None or not alive[i] or forced[i] is not None:
                continue
            b = g.bias() if hasattr(g, "bias") else None
            if b is not None:
                last[i] = last[i] + torch.from_numpy(b).to(last.dtype)
            temps = g.temperatures() if hasattr(g, "temperatures") else None
            if temps is not None:
                last[i] = group_temperature(last[i], temps, cfg.temperature)
        if cfg.repetition_penalty != 1.0:
            last = penalize_repeats(last, out, cfg.repetition_penalty, cfg.repetition_window, exempt)
        probs = filter_logits(last, cfg.temperature, cfg.top_k, cfg.top_p).double()
        # inverse-CDF sampling: the first token whose cumulative probability exceeds the piece's uniform
        cdf = probs.cumsum(-1)
        nxt = (cdf <= (u[:, step % block] * cdf[:, -1]).unsqueeze(1)).sum(-1)
        drawn = nxt.clamp_(max=probs.size(-1) - 1).tolist()
        drawn = [f if f is not None else d for f, d in zip(forced, drawn)]
        for i, tok in enumerate(drawn):
            if alive[i]:
                if tok == eos:
                    alive[i] = False
                    continue
                out[i].append(tok)
                g = guards[i]
                if g is not None:
                    g.advance(enc.vocab[tok])
                    if hasattr(g, "finished") and g.finished():
                        alive[i] = False
        if not any(alive):
            break
        logits, state = model(inputs(drawn), state)
        last = logits[:, -1]
    return out


@torch.no_grad()
def sample_frames(model: MusicRNN, enc: Encoding, cfg: SampleConfig, first_index: int = 0) -> list[np.ndarray]:
    """Frames (prime included, start frame excluded) of cfg.count pieces, each (prime + max_length, D)."""
    cfg.validate()
    model.eval()
    prime = torch.from_numpy(_prime(enc, cfg.prime))
    gens = [torch.Generator().manual_seed(piece_seed(cfg.seed, first_index + i)) for i in range(cfg.count)]
    out, state = model(prime.unsqueeze(0).expand(cfg.count, -1, -1).contiguous())
    last = out[:, -1]
    frames = []
    for _ in range(cfg.max_length):
        u = torch.stack([torch.rand(enc.vocab_size, generator=g) for g in gens])
        frame = model.head.sample(last, u, cfg.temperature)
        frames.append(frame)
        out, state = model(frame.unsqueeze(1), state)
        last = out[:, -1]
    generated = torch.stack(frames, 1).numpy()
    return [np.concatenate([prime[1:].numpy(), generated[i]]) for i in range(cfg.count)]


def sample(model: Any, enc: Encoding | SampleConfig | None = None, cfg: SampleConfig | None = None,
           first_index: int = 0) -> list[Any]:
    """Decoded pieces, no files (`rnnmusic.generate` writes files): ABC tune text without X: for ABC encodings, a
    Piece for MIDI-side encodings (a lead sheet: the melody with its chords in meta, cut where its guard ended).

        pieces = sample(model, enc, SampleConfig(count=2))      # a network and its encoding
        pieces = sample(load_model("folk"), SampleConfig(count=2))
    """
    if enc is None or isinstance(enc, SampleConfig):  # sample(loaded_model, cfg)
        cfg, model, enc = enc, model.network, model.encoding
    cfg = cfg or SampleConfig()
    if enc.kind == "frames":
        return [enc.decode(f) for f in sample_frames(model, enc, cfg, first_index)]
    pieces = [enc.decode(ids) for ids in sample_ids(model, enc, cfg, first_index)]
    if enc.kind == "lead":
        pieces = [enc.cut(p, cfg.controls) for p in pieces]
    return pieces
