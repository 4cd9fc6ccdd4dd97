"""rnnmusic: learn music with recurrent neural networks and write new music people can read, play and hear.

Library use mirrors the CLI:

    from rnnmusic import TrainConfig, ModelConfig, train, resume, load_model, SampleConfig, generate
    result = train("runs/folk", TrainConfig(corpus=["oneills"], epochs=5), ModelConfig(hidden=128))
    model, encoding, _ = load_model("runs/folk")
    print(generate(model, encoding, SampleConfig(count=2, seed=1))[0])
"""
from importlib import import_module
from typing import Any

# name -> module; imported on first use so `import rnnmusic` (and the CLI) start fast
_EXPORTS = {
    "ModelConfig": "config", "TrainConfig": "config",
    "Corpus": "corpus", "Tune": "corpus", "load_abc": "corpus",
    "ENCODINGS": "encodings", "Encoding": "encodings", "get_encoding": "encodings",
    "CheckpointError": "errors", "UserError": "errors",
    "generate_tunes": "generator", "MusicRNN": "model", "load_model": "run",
    "SampleConfig": "sampler", "generate": "sampler",
    "Callback": "trainer", "resume": "trainer", "train": "trainer",
}
__version__ = "0.1.0"
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'rnnmusic' has no attribute {name!r}")
