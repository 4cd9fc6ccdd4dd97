"""The recurrent core (LSTM | GRU | RNN) with an input layer and a head chosen by the encoding's kind.

Nothing here knows about files or music formats: the model maps a batch of inputs and a recurrent state to
outputs, a loss and the next state.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .config import ModelConfig

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]
CORES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class TokenInput(nn.Module):
    """Token ids (B, T) -> embeddings (B, T, E)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x)


class SoftmaxHead(nn.Module):
    """Hidden states -> logits over the vocabulary; loss is cross-entropy against the next token."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.proj = nn.Linear(cfg.hidden, cfg.vocab_size)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.proj(h)

    @staticmethod
    def loss(logits: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1), reduction=reduction)


# encoding kind -> (input layer, head). A new kind (e.g. piano-roll frames) adds one entry here.
KINDS: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {"tokens": (TokenInput, SoftmaxHead)}


class MusicRNN(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        if cfg.kind not in KINDS:
            raise ValueError(f"no model input/head for encoding kind {cfg.kind!r}")
        self.cfg = cfg
        input_cls, head_cls = KINDS[cfg.kind]
        self.input = input_cls(cfg)
        self.core = CORES[cfg.cell](
            cfg.embed, cfg.hidden, cfg.layers, batch_first=True, dropout=cfg.dropout if cfg.layers > 1 else 0.0
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.head = head_cls(cfg)

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        h, state = self.core(self.drop(self.input(x)), state)
        return self.head(self.drop(h)), state

    def loss(self, output: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        return self.head.loss(output, target, reduction)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def detach_state(state: State | None) -> State | None:
    """Cut the graph between truncated-BPTT chunks while keeping the values."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def state_tensors(state: State | None) -> dict[str, torch.Tensor]:
    """The recurrent state as named tensors (for checkpoints)."""
    if state is None:
        return {}
    if isinstance(state, tuple):
        return {"h": state[0].detach().contiguous(), "c": state[1].detach().contiguous()}
    return {"h": state.detach().contiguous()}


def state_from_tensors(t: dict[str, torch.Tensor]) -> State | None:
    if "h" not in t:
        return None
    return (t["h"], t["c"]) if "c" in t else t["h"]
