"""rnnmusic: learn music with recurrent neural networks and write new music people can read, play and hear.

    import rnnmusic
    model = rnnmusic.load_model("folk")   # a shipped model's name or a run directory
    report = rnnmusic.generate(model, count=4, seed=1, type="reel", out="out/reels", formats="abc,mid,wav,svg")
    print(report.table())
    ev = rnnmusic.evaluate(report.paths(), reference=["oneills"], out="out/reels")

    result = rnnmusic.train("runs/tiny", rnnmusic.TrainConfig(corpus=["oneills"], max_tunes=100, epochs=1),
                            rnnmusic.ModelConfig(layers=1, hidden=64))
    result = rnnmusic.resume("runs/tiny", {"epochs": 2})

Every name here is a function or a class (never a module); each is imported on first use, so `import rnnmusic`
and the command line start fast.
"""
from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# name -> the module defining it
_EXPORTS = {
    "ModelConfig": "config", "TrainConfig": "config",
    "Corpus": "corpus", "Tune": "corpus", "load_abc": "corpus", "load_pieces": "corpus",
    "Encoding": "encodings", "get_encoding": "encodings",
    "CheckpointError": "errors", "UserError": "errors",
    "evaluate": "evaluation.compare", "Evaluation": "evaluation.compare",
    "GenerationRequest": "generation_request",
    "generate": "generator", "GenerationReport": "generator",
    "MusicRNN": "model", "shipped_models": "models",
    "render_files": "render.files",
    "LoadedModel": "run", "load_model": "run",
    "SampleConfig": "sampler", "sample": "sampler",
    "Callback": "trainer", "resume": "trainer", "train": "trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value  # a later submodule import cannot shadow it
        return value
    raise AttributeError(f"module 'rnnmusic' has no attribute {name!r}")
