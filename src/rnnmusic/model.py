"""The recurrent core (LSTM | GRU | RNN), an input layer and a head chosen by the encoding's kind.

    tokens  ids (B, T)        -> embedding -> core [-> attention] -> softmax head (cross-entropy)
    frames  0/1 (B, T, D)     -> linear    -> core [-> attention] -> sigmoid head (binary cross-entropy)
                                                                  | mse head (mean squared error: the
                                                                    1024-unit multi-hot LSTM)
                                                                  | nade head (pitches low to high, each
                                                                    given the state and those decided)

Nothing here knows about files or music formats. The recurrent state is a dict of tensors ("h", "c" for
an LSTM, "mem" for the attention window), carried across truncated-BPTT chunks and generation steps.
Losses: `reduction="mean"` is per scored target (a token, or a frame summed over its pitches), "sum" is
the total, so validation losses are comparable across batchings.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .batches import IGNORE  # target value (tokens) / first value of a target frame (frames) the loss skips
from .config import ModelConfig
from .errors import UserError

State = dict[str, torch.Tensor]
CORES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
# The same cells one time step at a time (see MusicRNN._step): nn.LSTM & co. prepare their weights on every
# call, which costs more than the arithmetic of a single step on CPU.
CELL_STEPS = {"lstm": torch.lstm_cell, "gru": torch.gru_cell, "rnn": torch.rnn_tanh_cell}


# -- inputs -----------------------------------------------------------------------------------------------
class TokenInput(nn.Module):
    """Token ids (B, T) -> embeddings (B, T, E)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x)


class FrameInput(nn.Module):
    """Multi-hot frames (B, T, D) -> (B, T, E)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.proj = nn.Linear(cfg.vocab_size, cfg.embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


class LeadInput(nn.Module):
    """Lead-sheet steps (B, T, 3): token id, chord id, bar position (`chord_ids`) -> (B, T, E): the sum of
    the token's embedding, the chord's embedding, a projection of the chord's tones (12 pitch classes in the
    key's frame, so that unseen chord qualities still say which notes fit) and the bar position's embedding."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        from .chord_ids import N_CHORD_IDS, N_POSITIONS, chord_tone_table

        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embed)
        self.chord = nn.Embedding(N_CHORD_IDS, cfg.embed)
        self.tones = nn.Linear(12, cfg.embed, bias=False)
        self.position = nn.Embedding(N_POSITIONS, cfg.embed)
        self.register_buffer("tone_table", torch.from_numpy(chord_tone_table()), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tok, chord, pos = x.unbind(-1)
        return self.embedding(tok) + self.chord(chord) + self.tones(self.tone_table[chord]) + self.position(pos)


# -- heads --------------------------------------------------------------------------------------------------
class ProjectionHead(nn.Module):
    """Hidden states -> one output per vocabulary entry (token) or key (frame)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.proj = nn.Linear(cfg.hidden, cfg.vocab_size)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h)


class SoftmaxHead(ProjectionHead):
    """Logits over the vocabulary; loss is cross-entropy against the next token."""

    @staticmethod
    def loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), target.reshape(-1), reduction=reduction, ignore_index=IGNORE
        )


class LeadHead(SoftmaxHead):
    """Softmax over the lead vocabulary; targets are (B, T, 3) steps of which the token id is scored."""

    def loss(self, logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return super().loss(logits, target[..., 0], reduction)


def _frame_mask(target: torch.Tensor) -> torch.Tensor:
    return target[..., 0] != IGNORE


def _reduce_frames(per_frame: torch.Tensor, mask: torch.Tensor, reduction: str) -> torch.Tensor:
    total = (per_frame * mask).sum()
    return total if reduction == "sum" else total / mask.sum().clamp(min=1)


def _bernoulli(p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    return (u.to(p.dtype) < p).to(torch.float32)


class SigmoidHead(ProjectionHead):
    """Independent Bernoulli per pitch: logits (B, T, D); loss = binary cross-entropy summed over pitches."""

    @staticmethod
    def loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        mask = _frame_mask(target)
        bce = F.binary_cross_entropy_with_logits(logits, target.clamp(min=0), reduction="none").sum(-1)
        return _reduce_frames(bce, mask, reduction)

    def sample(self, out: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
        """Next frames (B, D) from the last outputs (B, D) and uniforms (B, D)."""
        return _bernoulli(torch.sigmoid(out / temperature), u)


class MseHead(ProjectionHead):
    """The multi-hot roll model of the 1024-unit LSTM setup: sigmoid outputs in [0, 1] fitted by mean squared error
    (summed over pitches)."""

    PROB_FLOOR = 1e-3

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.proj(h))

    @staticmethod
    def loss(out: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        mask = _frame_mask(target)
        se = ((out - target.clamp(min=0)) ** 2).sum(-1)
        return _reduce_frames(se, mask, reduction)

    @staticmethod
    def nll(out: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Negative log-likelihood (nats per frame) of the outputs read as Bernoulli probabilities, kept within
        [PROB_FLOOR, 1 - PROB_FLOOR] since MSE training gives no reason to avoid exact 0 or 1."""
        mask = _frame_mask(target)
        p = out.clamp(MseHead.PROB_FLOOR, 1 - MseHead.PROB_FLOOR)
        bce = F.binary_cross_entropy(p, target.clamp(min=0), reduction="none").sum(-1)
        return _reduce_frames(bce, mask, reduction)

    def sample(self, out: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
        """Each output read as the probability that the pitch sounds (sharpened or flattened by temperature)."""
        p = out.clamp(1e-6, 1 - 1e-6)
        return _bernoulli(torch.sigmoid(torch.logit(p) / temperature), u)


class NadeHead(nn.Module):
    """RNN-NADE (Boulanger-Lewandowski et al. 2012): a frame's pitches predicted low to high, each given the
    recurrent state and the pitches below it. The state sets the NADE biases; W, V are shared over time.

    p(v_i = 1 | v_<i, h) = sigmoid(b_v(h)_i + V_i . sigmoid(b_h(h) + sum_{j<i} v_j W_j))
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, n = cfg.vocab_size, cfg.nade_hidden
        self.to_bv = nn.Linear(cfg.hidden, d)
        self.to_bh = nn.Linear(cfg.hidden, n)
        self.W = nn.Parameter(torch.randn(d, n) * 0.01)
        self.V = nn.Parameter(torch.randn(d, n) * 0.01)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.to_bv(h), self.to_bh(h)], dim=-1)  # (B, T, D + N): the biases

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.W.size(0)
        return out[..., :d], out[..., d:]

    def loss(self, out: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Exact NLL of every frame. The NADE hidden pre-activation of pitch i depends only on how many pitches
        below i are on (c_i), so a frame with K notes has K + 1 distinct hidden states: they are computed once
        (the first k notes' W rows summed, k = 0..K) and pitch i reads its logit from state c_i. That is
        (K + 1) x N work per frame instead of D x N, about ten times faster than the cumulative sum over all
        pitches for chorales, and the same numbers."""
        mask = _frame_mask(target)
        v = target.clamp(min=0)
        bv, bh = self._split(out)
        below = v.cumsum(-1) - v  # c_i: notes strictly below pitch i
        k = int(v.sum(-1).max()) + 1 if v.numel() else 1
        steps = torch.arange(k, device=v.device, dtype=v.dtype).view(*([1] * (v.dim() - 1)), k, 1)
        first = v.unsqueeze(-2) * (below.unsqueeze(-2) < steps).to(v.dtype)  # (..., k, D): the first j notes
        states = torch.sigmoid(bh.unsqueeze(-2) + first @ self.W)  # (..., k, N)
        per_state = states @ self.V.T  # (..., k, D): V_i . h_j for all i, j
        logits = bv + per_state.gather(-2, below.long().unsqueeze(-2)).squeeze(-2)
        bce = F.binary_cross_entropy_with_logits(logits, v, reduction="none").sum(-1)
        return _reduce_frames(bce, mask, reduction)

    def sample(self, out: torch.Tensor, u: torch.Tensor, temperature: float) -> torch.Tensor:
        bv, a = self._split(out)
        a = a.clone()
        frame = torch.zeros_like(bv)
        for i in range(bv.size(-1)):
            p = torch.sigmoid((bv[:, i] + (torch.sigmoid(a) * self.V[i]).sum(-1)) / temperature)
            v = _bernoulli(p, u[:, i])
            frame[:, i] = v
            a = a + v.unsqueeze(-1) * self.W[i]
        return frame


# encoding kind -> (input layer, {head name: head}); the first head is the kind's default.
KINDS: dict[str, tuple[type[nn.Module], dict[str, type[nn.Module]]]] = {
    "tokens": (TokenInput, {"softmax": SoftmaxHead}),
    "frames": (FrameInput, {"sigmoid": SigmoidHead, "nade": NadeHead, "mse": MseHead}),
    "lead": (LeadInput, {"softmax": LeadHead}),
}


def default_head(kind: str) -> str:
    return next(iter(KINDS[kind][1]))


# -- optional attention over past hidden states ---------------------------------------------------------------
class WindowAttention(nn.Module):
    """Each step attends over the last `window` hidden states (itself included), across chunk boundaries.

    The previous chunk's last window-1 states are kept in the recurrent state as "mem", so training in
    chunks and generating step by step see the same context. The result is added to the hidden state.
    """

    def __init__(self, hidden: int, window: int):
        super().__init__()
        self.window = window
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, memory: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        ctx = h if memory is None else torch.cat([memory, h], dim=1)
        t, m = h.size(1), ctx.size(1) - h.size(1)
        q = self.qkv(h)[..., : h.size(-1)]
        k, v = self.qkv(ctx)[..., h.size(-1) :].chunk(2, dim=-1)
        scores = q @ k.transpose(1, 2) / math.sqrt(h.size(-1))
        i = torch.arange(t, device=h.device).unsqueeze(1) + m
        j = torch.arange(ctx.size(1), device=h.device).unsqueeze(0)
        allowed = (j <= i) & (j > i - self.window)
        att = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
        return h + self.out(att @ v), ctx[:, -(self.window - 1) :] if self.window > 1 else ctx[:, :0]


class MusicRNN(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        if cfg.kind not in KINDS:
            raise ValueError(f"no model input/head for encoding kind {cfg.kind!r}")
        input_cls, heads = KINDS[cfg.kind]
        head = cfg.head or default_head(cfg.kind)
        if head not in heads:
            raise UserError(f"head {head!r} does not fit {cfg.kind} encodings; choose one of {', '.join(heads)}")
        self.cfg = cfg
        self.input = input_cls(cfg)
        self.core = CORES[cfg.cell](
            cfg.embed, cfg.hidden, cfg.layers, batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0
        )
        self.attention = WindowAttention(cfg.hidden, cfg.attention) if cfg.attention else None
        self.drop = nn.Dropout(cfg.dropout)
        self.head = heads[head](cfg)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        state = state or {}
        core_in = None
        if "h" in state:
            core_in = (state["h"], state["c"]) if "c" in state else state["h"]
        if self.training:
            h, core_out = self.core(self.drop(self.input(x)), core_in)
        else:  # dropout is the identity here; one token without gradients (sampling) goes cell by cell
            step = x.size(1) == 1 and not torch.is_grad_enabled()
            h, core_out = (self._step if step else self.core)(self.input(x), core_in)
        new: State = {"h": core_out[0], "c": core_out[1]} if isinstance(core_out, tuple) else {"h": core_out}
        if self.attention is not None:
            h, new["mem"] = self.attention(h, state.get("mem"))
        return self.head(self.drop(h) if self.training else h), new

    def _step(self, x: torch.Tensor, core_in) -> tuple[torch.Tensor, Any]:
        """One time step of the core in inference (sampling): the cell functions layer by layer, the same
        numbers as `self.core` on a length-1 sequence (to float rounding, ~1e-8) and 3-4x faster on CPU."""
        core, cell = self.core, CELL_STEPS[self.cfg.cell]
        lstm = self.cfg.cell == "lstm"
        if core_in is None:
            zeros = x.new_zeros(core.num_layers, x.size(0), core.hidden_size)
            core_in = (zeros, zeros) if lstm else zeros
        h0, c0 = core_in if lstm else (core_in, None)
        inp, hs, cs = x[:, 0], [], []
        flat = core._flat_weights  # per layer: weight_ih, weight_hh[, bias_ih, bias_hh]
        per = len(flat) // core.num_layers
        for layer in range(core.num_layers):
            weights = flat[per * layer : per * (layer + 1)]
            if lstm:
                inp, c = cell(inp, (h0[layer], c0[layer]), *weights)
                cs.append(c)
            else:
                inp = cell(inp, h0[layer], *weights)
            hs.append(inp)
        h_n = torch.stack(hs)
        return inp.unsqueeze(1), ((h_n, torch.stack(cs)) if lstm else h_n)

    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return self.head.loss(output, target, reduction)

    def nll(self, output: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Negative log-likelihood of the targets: the training loss, except for heads not trained by
        likelihood (mse), which say how to read their outputs as probabilities."""
        return getattr(self.head, "nll", self.head.loss)(output, target, reduction)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def count_targets(target: torch.Tensor) -> int:
    """Scored targets in a batch: tokens, or frames for frame targets (B, T, D)."""
    if target.dtype.is_floating_point:
        return int(_frame_mask(target).sum())
    return int(((target[..., 0] if target.dim() == 3 else target) != IGNORE).sum())


def detach_state(state: State | None) -> State | None:
    """Cut the graph between truncated-BPTT chunks while keeping the values (in fp32: under autocast the
    core returns its state in 16 bits)."""
    return None if state is None else {k: v.detach().float() for k, v in state.items()}


def state_tensors(state: State | None) -> dict[str, torch.Tensor]:
    """The recurrent state as named tensors (for checkpoints)."""
    return {} if state is None else {k: v.detach().contiguous() for k, v in state.items()}


def state_from_tensors(t: dict[str, torch.Tensor]) -> State | None:
    return dict(t) if "h" in t else None
