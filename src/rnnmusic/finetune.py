"""Fine-tuning: a new run that starts from the weights of a shipped model or of another run (``--init-from``).

    rnnmusic train --init-from folk --corpus mybook.abc --out runs/mine       # a shipped model (`rnnmusic models`)
    rnnmusic train --init-from runs/big --corpus mybook.abc --out runs/mine   # any run directory

    from rnnmusic.trainer import finetune
    finetune("runs/mine", "folk", ["mybook.abc"], epochs=5)      # TrainConfig fields as keywords, and dropout

What comes from where:

* from the base: the encoding (name and options) and the model's shape (cell, layers, hidden, embed, head,
  attention); the flags that would change them (--encoding, --grid, --no-onsets, --min-count, --cell,
  --layers, --hidden, --embed, --head, --attention, --nade-hidden, --preset) are refused. --dropout may
  change. Also kept unless given: --no-chords, --normalize-key, the many-to-one window and --seq-len.
* new: the corpus (--corpus is required), the optimizer (fresh: no moments carried over) and the training
  settings, with fine-tuning defaults when not given (`FINETUNE_DEFAULTS`: lr 2e-3, 40 epochs, patience 3,
  cosine schedule, 20 warmup steps).

The vocabulary. The new corpus is fitted as the base's encoding would be fitted on it; its tokens that the
base vocabulary lacks (seen at least ``min_count`` times, the base's option) are appended at the end, most
frequent first, so every base token keeps its id and every base weight keeps its meaning. The new rows of
the network are set so that new tokens start unlikely but learnable: the input embedding of a new token is
the mean of the existing embeddings, its output-head weight row the mean of the existing rows and its bias
the smallest existing bias. Training prints one line, ``vocabulary: N tokens from the base, M new
(examples ...)``; the run's encoding.json holds the extended vocabulary (``fit_stats`` records the base
and its size) and config.json records ``init_from``. Frame encodings (pianoroll) have no vocabulary: the
width must match and the weights are taken as they are.

`rnnmusic train --resume` of a fine-tuned run continues from its own checkpoint, like any run; only a run
killed before its first checkpoint starts again from the base.

A corpus this small trained from scratch (an ABC corpus of fewer than `SMALL_BOOK` tunes) gets a one-line
warning that advises fine-tuning instead (`small_book_warning`).
"""
from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .config import ModelConfig, TrainConfig
from .dataset import prepare
from .encodings import Encoding
from .errors import UserError

FINETUNE_DEFAULTS: dict[str, Any] = {"lr": 2e-3, "epochs": 40, "patience": 3, "lr_schedule": "cosine",
                                     "warmup_steps": 20}  # a 150-tune book stops early after ~25 epochs (~2 min)
INHERITED = ("keep_chords", "normalize_key", "window", "window_stride", "seq_len")  # from the base unless given
SHAPE = ("cell", "layers", "hidden", "embed", "head", "attention", "nade_hidden")
REFUSED_FLAGS = {"encoding": "--encoding", "grid": "--grid", "onsets": "--no-onsets", "min_count": "--min-count",
                 "preset": "--preset", **{k: "--" + k.replace("_", "-") for k in SHAPE}}
SMALL_BOOK = 500  # ABC tunes: fewer than this, trained from scratch, draws the advice to fine-tune
EMBEDDING, HEAD_W, HEAD_B = "input.embedding.weight", "head.proj.weight", "head.proj.bias"


@dataclass
class Base:
    """The model a fine-tuned run starts from."""

    spec: str                      # as given: a shipped name or a run directory
    root: Path
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    encoding: Encoding
    weights: dict[str, torch.Tensor]
    step: int


def load_base(spec: str | Path) -> Base:
    """The shipped model or run directory `spec`: its configs, encoding and best (else latest) weights."""
    from .models import shipped_models
    from .run import load_model, open_run

    shipped = shipped_models()
    if not Path(spec).exists() and str(spec) not in shipped:
        raise UserError(f"--init-from {spec}: neither a run directory nor a shipped model "
                        f"({', '.join(shipped) if shipped else 'none ship with this installation'})")
    run = open_run(spec)
    model, enc, meta = load_model(spec)
    model_cfg, train_cfg = run.load_config()
    weights = {k: v.detach().float() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    return Base(str(spec), run.root, model_cfg, train_cfg, enc, weights, int(meta.get("progress", {}).get("step", 0)))


def _head(cfg: ModelConfig) -> str:
    from .model import default_head

    return cfg.head or default_head(cfg.kind)


def adopt_base(base: Base, cfg: TrainConfig, model_cfg: ModelConfig | None) -> ModelConfig:
    """The fine-tuned run's model config (the base's shape; dropout from `model_cfg` when given) and its
    encoding settings in `cfg` (the base's, always: they define the vocabulary)."""
    out = dataclasses.replace(base.model_cfg)
    if model_cfg is not None:
        differ = [k for k in SHAPE if (_head(model_cfg) != _head(out) if k == "head"
                                      else getattr(model_cfg, k) != getattr(out, k))]
        if differ:
            raise UserError(f"--init-from {base.spec}: the model's shape comes from the base "
                            f"({', '.join(f'{k} {getattr(out, k)!r}' for k in differ)}); only dropout may change")
        out.dropout = model_cfg.dropout
    cfg.encoding, cfg.encoding_options = base.encoding.name, dict(base.train_cfg.encoding_options)
    return out


def finetune_configs(init_from: str | Path, train_settings: dict[str, Any] | None = None,
                     model_settings: dict[str, Any] | None = None) -> tuple[TrainConfig, ModelConfig]:
    """(TrainConfig, ModelConfig) of a fine-tuned run: the base's encoding and shape, `INHERITED` data settings
    from the base, then `FINETUNE_DEFAULTS`, then `train_settings` (TrainConfig fields) and `model_settings`
    (dropout only)."""
    train_settings, model_settings = dict(train_settings or {}), dict(model_settings or {})
    refused = [REFUSED_FLAGS.get(k, k) for k in model_settings if k != "dropout"]
    refused += [REFUSED_FLAGS.get(k, k) for k in ("encoding", "encoding_options", "preset") if train_settings.get(k)]
    if refused:
        raise UserError(f"--init-from keeps the base model's encoding and shape: {', '.join(refused)} cannot be "
                        "given (only --dropout can change)")
    if not train_settings.get("corpus"):
        raise UserError("--init-from needs --corpus: the tunes to fine-tune on")
    base = load_base(init_from)
    inherited = {k: getattr(base.train_cfg, k) for k in INHERITED}
    cfg = TrainConfig(**(inherited | FINETUNE_DEFAULTS | train_settings | {"init_from": str(init_from)}))
    model_cfg = adopt_base(base, cfg, None)
    if "dropout" in model_settings:
        model_cfg.dropout = model_settings["dropout"]
    return cfg, model_cfg


def cli_configs(args: Any, train_settings: Callable[[Any], tuple[dict, dict]]) -> tuple[TrainConfig, ModelConfig]:
    """`rnnmusic train --init-from`: refuse the flags that would change the base, then the configs from the
    flags (`train_settings` is the CLI's flag reader: (model settings, train settings))."""
    given = [flag for dest, flag in REFUSED_FLAGS.items() if getattr(args, dest, None) is not None]
    if given:
        raise UserError(f"--init-from keeps the base model's encoding and shape: {', '.join(given)} cannot be given "
                        "(only --dropout can change)")
    mcfg, tcfg = train_settings(args)
    return finetune_configs(args.init_from, tcfg, mcfg)


# -- the vocabulary and the weights ----------------------------------------------------------------------
def extended_encoding(base: Base, fitted: Encoding) -> Encoding:
    """The base encoding with the tokens of `fitted` (the base's encoding fitted on the new corpus without a
    min_count) that it lacks appended, those seen at least the base's min_count times."""
    if base.encoding.kind == "frames":
        if fitted.vocab_size != base.encoding.vocab_size:
            raise UserError(f"--init-from {base.spec}: frames of width {fitted.vocab_size}, the base has "
                            f"{base.encoding.vocab_size}")
        return fitted
    known, counts = base.encoding._index, getattr(fitted, "token_counts", {})
    min_count = int(base.encoding.options.get("min_count", 1))
    new = [t for t in fitted.vocab if t not in known and counts.get(t, min_count) >= min_count]
    vocab = list(base.encoding.vocab) + new
    index = set(vocab)
    total = sum(counts.values())
    stats = dict(fitted.fit_stats) | {
        "vocab_size": len(vocab),
        "coverage": round(sum(n for t, n in counts.items() if t in index) / total, 6) if total else 1.0,
        "base": base.spec, "base_vocab_size": base.encoding.vocab_size, "new_tokens": len(new),
    }
    return type(base.encoding)(vocab=vocab, fit_stats=stats, piece_defaults=fitted.piece_defaults or
                               base.encoding.piece_defaults, **base.encoding.options)


def prepare_data(base: Base, cfg: TrainConfig):
    """The new corpus encoded with the base's vocabulary extended by its new tokens (`TrainingData`)."""
    options = {k: v for k, v in base.encoding.options.items() if k != "min_count"}
    fitted = prepare(dataclasses.replace(cfg, encoding=base.encoding.name, encoding_options=options)).encoding
    return prepare(cfg, extended_encoding(base, fitted))  # encoded exactly as `--resume` will encode it


def start_lines(base: Base | None, cfg: TrainConfig, data: Any, out: str | Path) -> list[str]:
    """What training says after the corpus report: a fine-tune's vocabulary and base; for a small book trained
    from scratch, the advice to fine-tune instead."""
    if base is None:
        advice = small_book_warning(cfg, data, out)
        return [f"warning: {advice}"] if advice else []
    enc, n_base, lines = data.encoding, base.encoding.vocab_size, []
    if enc.kind != "frames":
        new = enc.vocab[n_base:]
        examples = f" (examples {', '.join(repr(t) for t in new[:6])}{', ...' if len(new) > 6 else ''})" if new else ""
        lines.append(f"vocabulary: {n_base} tokens from the base, {len(new)} new{examples}")
    m = base.model_cfg
    return [*lines, (f"init-from {base.spec}: {m.cell} {m.layers}x{m.hidden} at step {base.step}, encoding "
                     f"{enc.name}; fresh optimizer")]


def extend_weights(weights: dict[str, torch.Tensor], n_new: int) -> dict[str, torch.Tensor]:
    """`weights` with `n_new` rows appended to the input embedding (their mean), the head's weight (its mean
    row) and the head's bias (its smallest value)."""
    if n_new <= 0:
        return dict(weights)
    missing = [k for k in (EMBEDDING, HEAD_W, HEAD_B) if k not in weights]
    if missing:
        raise UserError(f"cannot extend the vocabulary of this model: no {', '.join(missing)}")
    out = dict(weights)
    for key in (EMBEDDING, HEAD_W):
        w = weights[key]
        out[key] = torch.cat([w, w.mean(0, keepdim=True).expand(n_new, -1)])
    b = weights[HEAD_B]
    out[HEAD_B] = torch.cat([b, b.min().expand(n_new)])
    return out


def initial_weights(base: Base, enc: Encoding) -> dict[str, torch.Tensor]:
    """The fine-tuned run's weights at step 0, for its (extended) encoding `enc`."""
    n_base = base.encoding.vocab_size
    if enc.kind == "frames":
        return dict(base.weights)
    if list(enc.vocab[:n_base]) != list(base.encoding.vocab):
        raise UserError(f"--init-from {base.spec}: the run's vocabulary does not extend the base's (was the base "
                        "retrained since?)")
    return extend_weights(base.weights, enc.vocab_size - n_base)


# -- advice ----------------------------------------------------------------------------------------------
def small_book_warning(cfg: TrainConfig, data: Any, out: str | Path) -> str | None:
    """A warning for an ABC corpus of fewer than `SMALL_BOOK` tunes trained from scratch, with the command
    that fine-tunes a model instead; None otherwise."""
    from .models import shipped_models

    n = data.report.tunes_kept
    if cfg.init_from or data.encoding.piece_format != "abc" or n >= SMALL_BOOK:
        return None
    base = "folk" if "folk" in shipped_models() else "BIG_RUN"
    what = "the shipped folk model" if base == "folk" else "a model trained on a large corpus"
    corpus = " ".join(f"--corpus {shlex.quote(c)}" for c in cfg.corpus)
    return (f"only {n} tunes: a model trained from scratch on so few rarely writes whole valid tunes; fine-tune "
            f"{what} instead: rnnmusic train --init-from {base} {corpus} --out {shlex.quote(str(out))}-finetuned")


__all__ = ["FINETUNE_DEFAULTS", "Base", "load_base", "finetune_configs", "extended_encoding",
           "extend_weights", "initial_weights", "prepare_data", "start_lines", "small_book_warning"]
