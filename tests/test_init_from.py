"""Fine-tuning (`--init-from`, rnnmusic.finetune): a tiny base run on O'Neill's, fine-tuned on a small book in a key
it never saw; the vocabulary grows at the end, the base weights carry over, resume continues the fine-tuned run."""
import contextlib
import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from rnnmusic import finetune as ft
from rnnmusic.checkpoint import load_checkpoint, split_prefix
from rnnmusic.cli import main
from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.errors import UserError
from rnnmusic.run import RunDir
from rnnmusic.trainer import finetune, resume, train

BOOK = str(Path(__file__).parent / "fixtures" / "small_book.abc")
BASE_MODEL = dict(cell="lstm", layers=1, hidden=16, embed=8, dropout=0.0)
BASE_TRAIN = dict(corpus=["oneills"], max_tunes=40, encoding="abc-tokens", epochs=1, batch_size=8, seq_len=32,
                  sample_every=0, max_steps=5, seed=1, threads=1)
FT = dict(epochs=1, batch_size=2, seq_len=32, sample_every=0, threads=1)
FT_FLAGS = ["--corpus", BOOK, "--epochs", "1", "--batch-size", "2", "--seq-len", "32", "--sample-every", "0",
            "--threads", "1"]


def latest_weights(run) -> dict[str, torch.Tensor]:
    return split_prefix(RunDir(run).latest_checkpoint()[1], "model")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A 1x16 LSTM trained 5 steps on 40 of O'Neill's tunes, and what training printed."""
    out = tmp_path_factory.mktemp("base") / "run"
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        train(out, TrainConfig(**BASE_TRAIN), ModelConfig(**BASE_MODEL), progress_bar=False)
    return SimpleNamespace(path=out, log=log.getvalue(), weights=latest_weights(out),
                           enc=RunDir(out).load_encoding())


@pytest.fixture(scope="module")
def tuned(base, tmp_path_factory):
    """The base fine-tuned on the small book for 3 steps at a negligible learning rate (weights ~ step 0's)."""
    out = tmp_path_factory.mktemp("tuned") / "run"
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        result = finetune(out, base.path, BOOK, **FT, lr=1e-7, lr_schedule="constant", max_steps=3,
                             progress_bar=False)
    assert result.stopped == "interrupted: max steps 3 reached"
    return SimpleNamespace(path=out, log=log.getvalue())


def test_vocabulary_grows_at_the_end_and_base_weights_carry_over(base, tuned):
    enc = RunDir(tuned.path).load_encoding()
    n = base.enc.vocab_size
    assert enc.vocab[:n] == base.enc.vocab                     # base token ids unchanged
    new = enc.vocab[n:]
    assert "K:Edor" in new and "!trill!" in new                # the book's unseen tokens, appended
    assert not set(new) & set(base.enc.vocab)
    assert enc.fit_stats["base_vocab_size"] == n and enc.fit_stats["new_tokens"] == len(new)
    model_cfg, cfg = RunDir(tuned.path).load_config()
    assert cfg.init_from == str(base.path) and cfg.corpus == [BOOK]
    assert (model_cfg.cell, model_cfg.layers, model_cfg.hidden, model_cfg.embed) == ("lstm", 1, 16, 8)
    assert model_cfg.vocab_size == len(enc.vocab)
    assert (cfg.lr, cfg.patience, cfg.warmup_steps) == (1e-7, 3, 20)  # given, then fine-tuning defaults
    w = latest_weights(tuned.path)
    assert w.keys() == base.weights.keys()
    for k, b in base.weights.items():                          # 3 steps at lr 1e-7: still the base's weights
        rows = w[k][: b.size(0)] if k in (ft.EMBEDDING, ft.HEAD_W, ft.HEAD_B) else w[k]
        assert rows.shape == b.shape and torch.allclose(rows, b, atol=1e-5), k
    emb, bias = w[ft.EMBEDDING], w[ft.HEAD_B]
    assert torch.allclose(emb[n:], base.weights[ft.EMBEDDING].mean(0).expand(len(new), -1), atol=1e-5)
    assert torch.allclose(bias[n:], base.weights[ft.HEAD_B].min().expand(len(new)), atol=1e-5)
    assert f"vocabulary: {n} tokens from the base, {len(new)} new (examples " in tuned.log
    assert "'K:Edor'" in tuned.log.split("vocabulary:")[1].splitlines()[0]


def test_initial_weights_are_exactly_the_base_rows(base, tuned):
    b = ft.load_base(base.path)
    enc = RunDir(tuned.path).load_encoding()
    w = ft.initial_weights(b, enc)
    n, m = base.enc.vocab_size, enc.vocab_size - base.enc.vocab_size
    for k, v in base.weights.items():
        assert torch.equal(w[k][: v.size(0)], v), k
    assert w[ft.EMBEDDING].shape[0] == w[ft.HEAD_W].shape[0] == w[ft.HEAD_B].shape[0] == n + m
    assert torch.equal(w[ft.HEAD_W][n:], base.weights[ft.HEAD_W].mean(0).expand(m, -1))
    # new tokens start unlikely: below every base token's bias, never above
    assert float(w[ft.HEAD_B][n:].max()) <= float(base.weights[ft.HEAD_B].min())


def test_extend_weights_rows():
    w = {ft.EMBEDDING: torch.tensor([[1.0, 2.0], [3.0, 4.0]]), ft.HEAD_W: torch.tensor([[0.0, 2.0], [2.0, 0.0]]),
         ft.HEAD_B: torch.tensor([0.5, -1.5]), "core.weight": torch.ones(3)}
    out = ft.extend_weights(w, 2)
    assert out[ft.EMBEDDING].tolist() == [[1, 2], [3, 4], [2, 3], [2, 3]]
    assert out[ft.HEAD_W].tolist()[2:] == [[1, 1], [1, 1]]
    assert out[ft.HEAD_B].tolist() == [0.5, -1.5, -1.5, -1.5]
    assert out["core.weight"] is w["core.weight"] and ft.extend_weights(w, 0)[ft.EMBEDDING] is w[ft.EMBEDDING]


def test_resume_continues_from_its_own_checkpoint(tuned, tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    shutil.copytree(tuned.path, run)
    monkeypatch.setattr(ft, "load_base", lambda spec: pytest.fail("resume re-initialised from the base"))
    result = resume(run, {"max_steps": None}, progress_bar=False)
    assert result.stopped == "finished: epochs" and result.progress.step > 3
    err = capsys.readouterr().err
    assert "resuming" in err and "step 3" in err and "init-from" not in err
    assert RunDir(run).load_config()[1].init_from == RunDir(tuned.path).load_config()[1].init_from


def test_resume_before_the_first_checkpoint_starts_from_the_base(base, tuned, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tuned.path, run)
    shutil.rmtree(run / "checkpoints")
    resume(run, {"max_steps": 1}, progress_bar=False)
    w, n = latest_weights(run), base.enc.vocab_size
    assert torch.allclose(w[ft.EMBEDDING][:n], base.weights[ft.EMBEDDING], atol=1e-5)  # lr 1e-7: one tiny step


def test_small_book_warning_from_scratch_only(base, tuned):
    assert "warning: only 40 tunes: a model trained from scratch on so few rarely writes whole valid tunes" in base.log
    line = next(x for x in base.log.splitlines() if "only 40 tunes" in x)
    assert "rnnmusic train --init-from " in line and "--corpus oneills" in line
    assert "only " not in tuned.log and "tunes: a model trained from scratch" not in tuned.log
    report = SimpleNamespace(tunes_kept=600)
    data = SimpleNamespace(report=report, encoding=base.enc)
    assert ft.small_book_warning(TrainConfig(), data, "x") is None
    report.tunes_kept = 135
    assert ft.small_book_warning(TrainConfig(), data, "x").startswith("only 135 tunes")
    assert ft.small_book_warning(TrainConfig(init_from="folk"), data, "x") is None


def test_cli_fine_tunes_with_defaults_then_resumes(base, tmp_path, capsys):
    out = tmp_path / "mine"
    assert main(["train", "--init-from", str(base.path), "--out", str(out), *FT_FLAGS, "--dropout", "0.2",
                 "--max-steps", "2"]) == 0
    err = capsys.readouterr().err
    assert "vocabulary: " in err and " new (examples " in err and "only 4 tunes" not in err
    model_cfg, cfg = RunDir(out).load_config()
    assert cfg.init_from == str(base.path) and cfg.encoding == "abc-tokens"
    assert (cfg.lr, cfg.patience, cfg.lr_schedule, cfg.warmup_steps, cfg.epochs) == (2e-3, 3, "cosine", 20, 1)
    assert model_cfg.dropout == 0.2 and (model_cfg.layers, model_cfg.hidden) == (1, 16)
    assert main(["train", "--resume", str(out), "--epochs", "2", "--max-steps", "1000"]) == 0
    err = capsys.readouterr().err
    assert "resuming" in err and "init-from" not in err
    _, meta = load_checkpoint(RunDir(out).step_checkpoints()[0])
    assert meta["progress"]["done"] == "epochs" and meta["progress"]["epoch"] == 2
    assert json.loads((out / "config.json").read_text())["train"]["init_from"] == str(base.path)


@pytest.mark.parametrize("flags, named", [
    (["--layers", "2"], "--layers"),
    (["--hidden", "32", "--cell", "gru"], "--cell, --hidden"),
    (["--encoding", "abc-char"], "--encoding"),
    (["--min-count", "2"], "--min-count"),
    (["--preset", "abc-char-lstm"], "--preset"),
])
def test_cli_refuses_model_shape_flags(base, tmp_path, capsys, flags, named):
    out = tmp_path / "mine"
    assert main(["train", "--init-from", str(base.path), "--out", str(out), *FT_FLAGS, *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and named in err and "--init-from keeps the base model's" in err
    assert not out.exists()


def test_cli_refusals(base, tmp_path, capsys):
    out = tmp_path / "mine"
    assert main(["train", "--init-from", "no-such-model", "--out", str(out), *FT_FLAGS]) == 2
    assert "neither a run directory nor a shipped model" in capsys.readouterr().err
    assert main(["train", "--init-from", str(base.path), "--out", str(out)]) == 2
    assert "--init-from needs --corpus" in capsys.readouterr().err
    assert main(["train", "--resume", str(base.path), "--init-from", str(base.path)]) == 2
    assert "--resume continues a run as configured" in capsys.readouterr().err
    assert not out.exists()


def test_python_train_with_init_from_checks_the_shape(base, tmp_path):
    cfg = TrainConfig(corpus=[BOOK], init_from=str(base.path), **FT)
    with pytest.raises(UserError, match="shape comes from the base.*layers 1"):
        train(tmp_path / "x", cfg, ModelConfig(layers=2, hidden=16, embed=8))
    assert not (tmp_path / "x").exists()
    with pytest.raises(UserError, match="only --dropout"):
        ft.finetune_configs(base.path, {"corpus": [BOOK]}, {"hidden": 32})


def test_init_from_a_shipped_model_by_name(base, tmp_path, monkeypatch, capsys):
    """A model exported the way shipped models are (fp16 weights, a card) is fine-tuned by its name; the
    small-book advice then names it."""
    import rnnmusic.models as models

    donor = tmp_path / "donor"
    finetune(donor, base.path, BOOK, **FT, progress_bar=False)  # a finished run: it has best.safetensors
    card = {k: "test" for k in models.CARD_FIELDS} | {"figures": {"valid_bpt": 1.0}}
    from rnnmusic.models.export import export_model

    export_model(donor, "folk", card, tmp_path / "shipped")
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path / "shipped")
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--init-from", "folk", "--out", "mine", *FT_FLAGS, "--max-steps", "1"]) == 0
    err = capsys.readouterr().err
    assert "init-from folk:" in err and "vocabulary: " in err and ", 0 new" in err  # the donor knows the book
    assert RunDir(tmp_path / "mine").load_config()[1].init_from == "folk"
    data = SimpleNamespace(report=SimpleNamespace(tunes_kept=135), encoding=base.enc)
    advice = ft.small_book_warning(TrainConfig(corpus=["mybook.abc"]), data, "runs/mine")
    assert "fine-tune the shipped folk model instead: rnnmusic train --init-from folk --corpus mybook.abc" in advice
