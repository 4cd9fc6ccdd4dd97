"""Device and precision, chosen at run time: the GPU code paths that can run on the CPU run here
(autocast in bf16 and fp16, loss scaling, checkpoints and resume); the CUDA-only branches are checked for
their choices and their errors."""
import pytest
import torch
from test_train import TINY_FLAGS, TINY_MODEL, TINY_TRAIN, assert_same_weights, final_weights

from rnnmusic.checkpoint import load_checkpoint, split_prefix
from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.device import autocast, resolve_device
from rnnmusic.errors import UserError
from rnnmusic.run import RunDir, load_model
from rnnmusic.sampler import SampleConfig, sample
from rnnmusic.trainer import Trainer, resume, train


def test_auto_picks_the_gpu_only_when_there_is_one():
    assert resolve_device("auto", cuda_available=False) == torch.device("cpu")
    assert resolve_device("auto", cuda_available=True) == torch.device("cuda")
    assert resolve_device("cpu", cuda_available=True) == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name, message", [
    ("cuda", "torch sees no CUDA GPU here"),
    ("cuda:1", "torch sees no CUDA GPU here"),
    ("tpu", "unknown device 'tpu'"),
    ("meta", "unsupported device 'meta'"),
])
def test_a_device_this_machine_lacks_is_a_clear_error(name, message):
    with pytest.raises(UserError, match=message):
        resolve_device(name, cuda_available=False)


def test_unknown_precision_is_refused():
    with pytest.raises(UserError, match="unknown precision 'fp8'; choose one of fp32, bf16, fp16"):
        TrainConfig(precision="fp8").validate()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.slow
def test_cli_asking_for_a_gpu_it_lacks_says_so_in_one_line(tmp_path, cli):
    r = cli("train", "--out", str(tmp_path / "run"), *TINY_FLAGS, "--device", "cuda")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()]  # one line, no traceback
    assert "--device cuda: torch sees no CUDA GPU here" in r.stderr
    assert not (tmp_path / "run" / "config.json").exists()


# fp16 runs on the CPU only for the plain RNN (torch has no fp16 LSTM or GRU there), so the fp16 tests
# (autocast and loss scaling, the GPU's fp16 path) use that cell; bf16 uses the LSTM.
CELL = {"fp32": "lstm", "bf16": "lstm", "fp16": "rnn"}


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fp16_lstm_or_gru_on_the_cpu_is_refused_before_the_corpus_is_read(tmp_path, cell):
    with pytest.raises(UserError, match=f"torch has no fp16 {cell.upper()} on the CPU; use bf16"):
        train(tmp_path / "run", TrainConfig(**(TINY_TRAIN | {"precision": "fp16", "corpus": ["no-such-corpus"]})),
              ModelConfig(**(TINY_MODEL | {"cell": cell})), progress_bar=False)


def _trainer(tmp_path, precision: str, cell: str) -> Trainer:
    from rnnmusic.dataset import prepare

    cfg = TrainConfig(**(TINY_TRAIN | {"precision": precision}))
    mcfg = ModelConfig(**(TINY_MODEL | {"cell": cell}))
    data = prepare(cfg)
    mcfg.vocab_size, mcfg.kind = data.encoding.vocab_size, data.encoding.kind
    return Trainer(RunDir(tmp_path / "run"), mcfg, cfg, data.encoding, data.train, data.valid, [], False)


@pytest.mark.parametrize("precision, dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_autocast_runs_the_core_in_16_bits_and_keeps_weights_and_state_in_fp32(tmp_path, precision, dtype):
    t = _trainer(tmp_path, precision, CELL[precision])
    _, x, y, _ = next(t.train_data.batches(0))
    with autocast(t.device, precision):
        out, _ = t.model(x.to(t.device))
    assert out.dtype == dtype  # autocast really applies
    loss16, _, _ = t.train_step(x, y, 1e-3)
    assert all(p.dtype == torch.float32 for p in t.model.parameters())
    assert all(v.dtype == torch.float32 for v in t.state.values())  # carried state back in fp32
    ref = _trainer(tmp_path / "ref", "fp32", CELL[precision])  # the same seed: the same initial weights
    loss32, _, _ = ref.train_step(x, y, 1e-3)
    loss16, loss32 = loss16.detach(), loss32.detach()
    assert float(loss16) != float(loss32)  # not the fp32 numbers ...
    assert abs(float(loss16) - float(loss32)) < 0.02 * float(loss32)  # ... but close to them
    assert (t.scaler is not None) == (precision == "fp16")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.slow
def test_16_bit_training_learns_resumes_exactly_and_its_model_generates(tmp_path, precision):
    over, model = dict(precision=precision, epochs=3), ModelConfig(**(TINY_MODEL | {"cell": CELL[precision]}))
    ref = tmp_path / "ref"
    done = train(ref, TrainConfig(**(TINY_TRAIN | over)), model, progress_bar=False)
    losses = [m["valid_loss"] for m in done.metrics]
    assert float(losses[-1]) < float(losses[0]) < 5.0, losses  # it learns (uniform over the vocabulary: ~4.5+)

    out = tmp_path / "run"
    first = train(out, TrainConfig(**(TINY_TRAIN | over), max_steps=23), model, progress_bar=False)
    assert first.stopped.startswith("interrupted")
    tensors, meta = load_checkpoint(RunDir(out).step_checkpoints()[0])
    assert all(v.dtype == torch.float32 for v in split_prefix(tensors, "model").values())
    if precision == "fp16":  # the loss scale survives the interruption
        assert meta["grad_scaler"]["scale"] > 1
    else:
        assert meta["grad_scaler"] is None
    resume(out, {"max_steps": None}, progress_bar=False)
    assert_same_weights(final_weights(out), final_weights(ref))

    model, enc, _ = load_model(ref)
    tunes = sample(model, enc, SampleConfig(count=2, max_length=120, seed=1))
    assert len(tunes) == 2 and all(t.strip() for t in tunes)


def test_a_16_bit_run_resumes_in_fp32(tmp_path):
    out = tmp_path / "run"
    train(out, TrainConfig(**(TINY_TRAIN | {"precision": "bf16"}), max_steps=10), ModelConfig(**TINY_MODEL),
          progress_bar=False)
    second = resume(out, {"max_steps": None, "precision": "fp32"}, progress_bar=False)
    assert second.stopped == "finished: epochs"
