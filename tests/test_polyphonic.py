"""The polyphonic benchmark's loader and metric, checked against the paper's Note 1-gram baseline."""
import pickle

import numpy as np
import pytest
import torch

from rnnmusic.config import ModelConfig
from rnnmusic.errors import UserError
from rnnmusic.evaluation.polyphonic import PAPER_NOTE_UNIGRAM, bernoulli_nll, frame_accuracy, model_nll, note_unigram
from rnnmusic.model import MusicRNN
from rnnmusic.polyphonic_data import DATASETS, KEYS, load_polyphonic


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in ("nottingham", "musedata")
                                  else n for n in DATASETS])
def test_note_unigram_reproduces_table_1(name, polyphonic_data):
    d = load_polyphonic(name, polyphonic_data(name))
    assert round(bernoulli_nll(note_unigram(d.train), d.test), 2) == PAPER_NOTE_UNIGRAM[name]


@pytest.mark.parametrize("head", ["sigmoid", "nade", "mse"])
def test_model_metric_scores_every_frame_once(head, polyphonic_data):
    """A network whose output ignores its input and says "the 1-gram probabilities" must score exactly the
    1-gram NLL: every frame counted once (the first one too), padding never."""
    d = load_polyphonic("jsb", polyphonic_data("jsb"))
    p = note_unigram(d.train)
    torch.manual_seed(0)
    model = MusicRNN(ModelConfig(kind="frames", vocab_size=KEYS, head=head, hidden=8, embed=8, layers=1,
                                 dropout=0.0))
    with torch.no_grad():
        logit = torch.logit(torch.tensor(p, dtype=torch.float32))
        if head in ("sigmoid", "mse"):  # mse: sigmoid outputs read as probabilities, floored
            model.head.proj.weight.zero_()
            model.head.proj.bias.copy_(logit)
        else:
            for lin in (model.head.to_bv, model.head.to_bh):
                lin.weight.zero_()
            model.head.to_bv.bias.copy_(logit)
            model.head.V.zero_()
    nll, acc = model_nll(model, d.test, batch_size=7)
    if head == "mse":
        from rnnmusic.model import MseHead

        p = np.clip(p, MseHead.PROB_FLOOR, 1 - MseHead.PROB_FLOOR)
    assert nll == pytest.approx(bernoulli_nll(p, d.test), rel=1e-5)
    assert 0.0 <= acc < 0.2  # the 1-gram never predicts a note above p = 0.5


def test_mse_head_probabilities_are_floored():
    """An mse model certain of the wrong answer costs -log(0.001) per pitch, not infinity."""
    from rnnmusic.model import MseHead

    out = torch.tensor([[[0.0, 1.0, 0.5]]])
    target = torch.tensor([[[1.0, 0.0, 1.0]]])
    expected = 2 * -np.log(MseHead.PROB_FLOOR) - np.log(0.5)
    assert float(MseHead.nll(out, target, reduction="sum")) == pytest.approx(expected, rel=1e-5)


def test_augment_rolls_shifts_columns_within_the_keyboard():
    from rnnmusic.keys import augment_rolls

    roll = np.zeros((3, KEYS), np.uint8)
    roll[0, 2], roll[1, 40], roll[2, 85] = 1, 1, 1  # spans columns 2..85: shifts -2..+2 fit
    copies = augment_rolls([roll, np.zeros((2, KEYS), np.uint8)], 6, seed=0, copies=10)
    assert len(copies) == 4  # the silent roll gets none; shifts -2, -1, 1, 2
    shifts = sorted(int(np.flatnonzero(c[1])[0]) - 40 for c in copies)
    assert shifts == [-2, -1, 1, 2]
    for c in copies:
        s = int(np.flatnonzero(c[1])[0]) - 40
        assert np.array_equal(np.flatnonzero(c.ravel()), np.flatnonzero(np.roll(roll, s, axis=1).ravel()))
    assert [int(np.flatnonzero(c[1])[0]) for c in augment_rolls([roll], 6, seed=3)] == \
        [int(np.flatnonzero(c[1])[0]) for c in augment_rolls([roll], 6, seed=3)]  # seeded


def test_frame_accuracy_and_bad_input(tmp_path):
    r = np.array([[1, 0, 1], [0, 1, 0]])
    assert frame_accuracy([r], [r]) == 1.0
    assert frame_accuracy([np.array([[1, 1, 0], [0, 0, 0]])], [r]) == pytest.approx(1 / 4)
    with pytest.raises(UserError, match="unknown polyphonic dataset"):
        load_polyphonic("bach", tmp_path)
    evil = tmp_path / "JSB_Chorales.pickle"
    evil.write_bytes(pickle.dumps({"train": [], "valid": [], "test": [np.zeros(2)]}))
    with pytest.raises(UserError, match="refusing to load"):
        load_polyphonic("jsb", tmp_path)
    evil.write_bytes(b"not a pickle")
    with pytest.raises(UserError, match="not a benchmark pickle"):
        load_polyphonic("jsb", tmp_path)


@pytest.mark.slow
def test_benchmark_command_trains_scores_and_resumes(cli, tmp_path, polyphonic_data):
    import json

    data = polyphonic_data("jsb")

    run = tmp_path / "jsb"
    args = ("benchmark", "polyphonic", "--dataset", "jsb", "--data", str(data), "--out", str(run),
            "--hidden", "16", "--embed", "16", "--layers", "1", "--nade-hidden", "8", "--sample-every", "0",
            "--threads", "1")
    r = cli(*args, "--epochs", "1", timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    row = json.loads((run / "benchmark.json").read_text())
    assert row["dataset"] == "jsb" and row["note_unigram_test_nll"] == pytest.approx(11.06, abs=0.005)
    assert json.loads((run / "config.json").read_text())["model"]["head"] == "nade"
    # the trainer's own validation loss is the benchmark metric on the valid split
    best = min(float(line.split(",")[3]) for line in (run / "metrics.csv").read_text().splitlines()[1:])
    assert row["valid_nll"] == pytest.approx(best, rel=1e-3)
    r = cli("train", "--resume", str(run), "--epochs", "2", timeout=300)  # the run resumes like any other
    assert r.returncode == 0, r.stderr[-2000:]
    assert "epoch 2/2" in r.stderr
    r = cli("benchmark", "polyphonic", "--dataset", "bach", "--data", str(data), "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "unknown polyphonic dataset" in r.stderr
    # a preset brings its model and optimiser (the founding roll-mse-1024, narrowed here); data stays the benchmark's
    r = cli("benchmark", "polyphonic", "--dataset", "jsb", "--data", str(data), "--out", str(tmp_path / "mse"),
            "--preset", "roll-mse-1024", "--hidden", "16", "--epochs", "1", "--augment-keys", "2",
            "--sample-every", "0", "--threads", "1", timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    cfg = json.loads((tmp_path / "mse" / "config.json").read_text())
    assert cfg["model"]["head"] == "mse" and cfg["train"]["optimizer"] == "rmsprop"
    assert cfg["train"]["encoding_options"] == {"grid": 1, "onsets": False}
    assert "transposed copies" in r.stderr
    row = json.loads((tmp_path / "mse" / "benchmark.json").read_text())
    assert 0 < row["test_nll"] < 50 and row["command"].startswith("rnnmusic benchmark polyphonic")
