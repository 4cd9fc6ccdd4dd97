"""The training warnings that say what to do (issue #21): a vocabulary mostly of tokens seen once (`rnnmusic.dataset`)
and a validation loss that stops moving in the first epochs (`rnnmusic.callbacks.plateau`, `PlateauCheck`)."""
from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from rnnmusic import callbacks
from rnnmusic.callbacks import DEFAULT_CALLBACKS, Plateau, PlateauCheck, plateau, valid_losses
from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.dataset import SINGLETON_SHARE, prepare, vocabulary_warning
from rnnmusic.encodings import get_encoding


# == the vocabulary ==============================================================================================
def rare_tokens_book(folder: Path) -> Path:
    """Six tunes whose notes all have lengths of their own: nearly every abc-tokens token occurs once."""
    letters = "CDEFGABcdefgab"
    tunes = []
    for i in range(6):
        body = " ".join(f"{letters[(i * 7 + j) % 14]}{i * 12 + j + 2}" for j in range(12))
        tunes.append(f"X:{i + 1}\nT:Tune {i + 1}\nM:4/4\nL:1/8\nK:C\n{body}|\n")
    path = folder / "rare.abc"
    path.write_text("\n".join(tunes))
    return path


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def test_a_vocabulary_of_tokens_seen_once_warns_once_with_the_numbers_and_the_fixes(tmp_path, capsys):
    data = prepare(TrainConfig(corpus=[str(rare_tokens_book(tmp_path))], encoding="abc-tokens"))
    st = data.encoding.fit_stats
    assert st["vocab_singletons"] == 60 and st["singleton_share"] == round(60 / 66, 4) > SINGLETON_SHARE
    json.dumps(st)  # JSON-safe: it goes to encoding.json and corpus-report.json
    (line,) = warnings_in(capsys.readouterr().err)
    assert line.startswith(f"warning: 60 of 66 tokens of the abc-tokens vocabulary (91%) occur once in {st['tokens']}")
    assert "--min-count 2" in line and "more data" in line and "--init-from" in line
    assert "--encoding events" not in line  # the factorized MIDI encoding is no fix for ABC


def test_a_normal_corpus_does_not_warn_but_records_its_share(capsys):
    data = prepare(TrainConfig(corpus=["oneills"], encoding="abc-tokens", max_tunes=40))
    assert 0 < data.encoding.fit_stats["singleton_share"] < SINGLETON_SHARE
    assert not warnings_in(capsys.readouterr().err)


def test_resumed_and_fine_tuned_runs_do_not_warn_about_the_vocabulary(tmp_path, capsys):
    book = str(rare_tokens_book(tmp_path))
    fitted = prepare(TrainConfig(corpus=[book], encoding="abc-tokens")).encoding
    capsys.readouterr()
    prepare(TrainConfig(corpus=[book], encoding="abc-tokens"), fitted)  # resume: the run's own encoding
    prepare(TrainConfig(corpus=[book], encoding="abc-tokens", init_from="folk"))  # the base's vocabulary is kept
    assert not warnings_in(capsys.readouterr().err)


def test_min_count_2_silences_it_and_midi_encodings_are_told_about_events():
    pieces = [" ".join(f"t{i}" for i in range(40)) + " a a b b"]
    enc = get_encoding("abc-tokens", min_count=2)
    enc.tokenize = str.split  # a hand-made tokenizer: 40 tokens seen once, two seen twice
    enc.fit(pieces)
    assert vocabulary_warning(enc) is None and enc.fit_stats["vocab_singletons"] == 0
    enc = get_encoding("abc-tokens")
    enc.tokenize = str.split
    enc.fit(pieces)
    assert "40 of 42 tokens" in vocabulary_warning(enc)

    notes = get_encoding("notes")
    notes.tokenize = str.split
    super(type(notes), notes).fit(pieces)  # the base fit: token counts without piece statistics
    assert "--encoding events" in vocabulary_warning(notes)


# == the plateau rule ============================================================================================
@pytest.mark.parametrize("losses", [
    [3.31, 2.49, 2.01, 1.83],  # a healthy start (the folk model's)
    [4.0, 3.2, 2.8, 2.5, 2.49, 2.49],  # flat after epoch 4: later epochs are not checked
    [5.0],  # one epoch: nothing to compare
    [0.0, 0.0, 0.0],  # nothing left to learn
])
def test_losses_that_move_pass(losses):
    assert plateau(losses) is None


@pytest.mark.parametrize(("losses", "found"), [
    ([5.0, 4.99], Plateau(2, 2, 5.0, 4.99)),  # epoch 2 against epoch 1: 0.2%
    ([5.0, 5.1], Plateau(2, 2, 5.0, 5.1)),  # rose
    ([15.5, 15.0, 14.98, 14.97], Plateau(4, 3, 15.0, 14.97)),  # the NADE roll: stopped after epoch 2
    ([5.0, 4.0, 3.98], None),  # epochs 2-3 against epoch 1: still 20% lower
    ([5.0, 4.0, 4.1, 3.99], Plateau(4, 3, 4.0, 3.99)),
])
def test_a_loss_that_hardly_moves_over_two_epochs_is_a_plateau(losses, found):
    assert plateau(losses) == found


def test_the_gain_and_the_threshold():
    assert plateau([1.0, 0.985]) is None  # 1.5%: enough
    assert plateau([1.0, 0.995]).gain == pytest.approx(0.005)  # 0.5%: not
    assert plateau([1.0, 0.995], min_gain=0.004) is None
    assert plateau([1.0, 1.0, 0.5], epochs=(3,)) is None  # only the epochs asked are checked


def test_a_loss_that_is_not_finite_is_a_plateau():
    for bad in (math.nan, math.inf):
        found = plateau([3.0, bad, 2.0])
        assert found is not None and found.epoch == 2 and math.isnan(found.after)


def test_metric_rows_as_kept_or_as_read_back_from_csv():
    assert valid_losses([{"epoch": 1, "valid_loss": 3.5}, {"epoch": 2, "valid_loss": 3.0}]) == [3.5, 3.0]
    assert valid_losses([{"epoch": "1", "valid_loss": "3.5"}]) == [3.5]
    assert valid_losses([{"epoch": 2, "valid_loss": 3.0}]) == []  # not from epoch 1
    assert valid_losses([{"epoch": 1}]) == []


# == the callback ================================================================================================
def fake_trainer(losses, train=None, *, encoding="notes", **cfg) -> SimpleNamespace:
    """What PlateauCheck reads of a `Trainer`: configs, run, encoding and the metric rows so far (training
    losses `train`, else the validation losses again)."""
    train = train or losses
    return SimpleNamespace(
        cfg=TrainConfig(corpus=["bach-chorales"], encoding=encoding, lr=3e-3, **cfg),
        model_cfg=ModelConfig(), run=SimpleNamespace(report_path=Path("runs/x/corpus-report.json")),
        encoding=get_encoding(encoding),
        metrics=[{"epoch": i + 1, "train_loss": t, "valid_loss": v} for i, (t, v) in enumerate(zip(train, losses))])


def run_epochs(cb, losses, train=None, first=1, **kw) -> None:
    """Call `cb` as the loop would at the end of epochs first..len(losses)."""
    for n in range(first, len(losses) + 1):
        trainer = fake_trainer(losses[:n], train[:n] if train else None, **kw)
        cb.on_epoch_end(trainer, trainer.metrics[-1])


def test_the_callback_warns_once_with_the_figures_and_the_fixes(capsys):
    assert PlateauCheck in DEFAULT_CALLBACKS
    cb = PlateauCheck()
    run_epochs(cb, [15.5, 15.0, 14.98, 14.97, 14.96, 14.95])
    (line,) = warnings_in(capsys.readouterr().err)
    assert "stopped moving: best 15.0000 nats/token in epochs 1-2, 14.9700 in epochs 3-4" in line
    assert "fell only 0.2% (the check wants 1%); the training loss fell 0.2% meanwhile" in line
    assert "more data or a higher --dropout" not in line  # the training loss is as stuck: not memorizing
    for fix in ("--lr", "0.001", "0.009", "runs/x/corpus-report.json", "a smaller --grid than 4", "--init-from"):
        assert fix in line, fix
    assert "\n" not in line


def test_the_callback_is_quiet_when_the_loss_moves_and_says_rose_when_it_rises(capsys):
    run_epochs(PlateauCheck(), [3.31, 2.49, 2.01, 1.83, 1.83, 1.83])
    assert not warnings_in(capsys.readouterr().err)
    run_epochs(PlateauCheck(), [3.0, 3.2], encoding="abc-tokens")
    (line,) = warnings_in(capsys.readouterr().err)
    assert "it rose" in line and "--grid" not in line  # ABC has no grid
    run_epochs(PlateauCheck(), [3.0, 3.0], [4.0, 3.0])  # the training loss still falls, fast
    (line,) = warnings_in(capsys.readouterr().err)
    assert "it did not move (the check wants 1%); the training loss fell 25.0% meanwhile. Try: more data or a " \
           "higher --dropout" in line


def test_a_resumed_run_does_not_warn_again_about_an_earlier_epoch(capsys):
    losses = [5.0, 4.99, 4.98, 4.97]
    run_epochs(PlateauCheck(), losses[:2])  # the first process: warns at epoch 2
    assert len(warnings_in(capsys.readouterr().err)) == 1
    run_epochs(PlateauCheck(), losses, first=3)  # resumed after epoch 2: a fresh callback, the rows read back
    assert not warnings_in(capsys.readouterr().err)


def test_no_warning_for_fine_tunes_nor_on_other_ranks(capsys, monkeypatch):
    run_epochs(PlateauCheck(), [1.6, 1.6, 1.6], init_from="folk")  # a fine-tune starts where its base learnt
    assert not warnings_in(capsys.readouterr().err)
    monkeypatch.setattr(callbacks.distributed, "is_main", lambda: False)
    cb = PlateauCheck()
    run_epochs(cb, [5.0, 5.0])
    assert not cb.warned and not warnings_in(capsys.readouterr().err)
