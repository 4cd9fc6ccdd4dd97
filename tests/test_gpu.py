"""The CUDA code paths on a real GPU: cuDNN's kernels, autocast in bf16 and fp16 with loss scaling,
checkpoints written from the GPU, resume (on the GPU and on the CPU) and the CLI.

Skipped where torch sees no CUDA GPU (CI has none); run on a GPU machine with `pytest tests/test_gpu.py`
(bench/README.md says when it last ran there and what it gave)."""
import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before any cuBLAS product (--deterministic)

import pytest  # noqa: E402
import torch  # noqa: E402
from test_train import TINY_FLAGS, TINY_MODEL, TINY_TRAIN, assert_same_weights, final_weights  # noqa: E402

from rnnmusic.checkpoint import load_checkpoint, split_prefix  # noqa: E402
from rnnmusic.config import ModelConfig, TrainConfig  # noqa: E402
from rnnmusic.device import resolve_device  # noqa: E402
from rnnmusic.errors import UserError  # noqa: E402
from rnnmusic.run import RunDir, load_model  # noqa: E402
from rnnmusic.sampler import SampleConfig, sample  # noqa: E402
from rnnmusic.trainer import resume, train  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no CUDA GPU")


@pytest.mark.parametrize("precision, cell", [("fp32", "lstm"), ("bf16", "lstm"), ("fp16", "lstm"), ("bf16", "gru")])
def test_gpu_training_learns_resumes_exactly_and_its_model_generates_on_the_cpu(tmp_path, precision, cell):
    # TINY_MODEL has 2 layers with dropout between them: cuDNN's own dropout state, re-seeded every step
    over = dict(precision=precision, epochs=3, device="cuda")
    model = ModelConfig(**(TINY_MODEL | {"cell": cell}))
    ref = tmp_path / "ref"
    done = train(ref, TrainConfig(**(TINY_TRAIN | over)), model, progress_bar=False)
    losses = [float(m["valid_loss"]) for m in done.metrics]
    assert losses[-1] < losses[0] < 5.0, losses

    out = tmp_path / "run"
    first = train(out, TrainConfig(**(TINY_TRAIN | over), max_steps=23), model, progress_bar=False)
    assert first.stopped.startswith("interrupted")
    tensors, meta = load_checkpoint(RunDir(out).step_checkpoints()[0])
    assert tensors["rng.cuda"].dtype == torch.uint8  # the GPU's generator state is saved
    weights = split_prefix(tensors, "model")
    assert all(v.dtype == torch.float32 and v.device.type == "cpu" for v in weights.values())
    assert (meta["grad_scaler"] is not None) == (precision == "fp16")
    resume(out, {"max_steps": None}, progress_bar=False)
    assert_same_weights(final_weights(out), final_weights(ref))

    model, enc, _ = load_model(ref)  # loads on the CPU; sampling runs there
    assert next(model.parameters()).device.type == "cpu"
    tunes = sample(model, enc, SampleConfig(count=2, max_length=120, seed=1))
    assert len(tunes) == 2 and all(t.strip() for t in tunes)


def test_a_gpu_run_resumes_on_the_cpu(tmp_path):
    out = tmp_path / "run"
    train(out, TrainConfig(**(TINY_TRAIN | {"device": "cuda", "precision": "bf16"}), max_steps=10),
          ModelConfig(**TINY_MODEL), progress_bar=False)
    second = resume(out, {"max_steps": None, "device": "cpu", "precision": "fp32"}, progress_bar=False)
    assert second.stopped == "finished: epochs"
    assert float(second.metrics[-1]["valid_loss"]) < 5.0


def test_cli_trains_on_the_gpu(tmp_path, cli):
    out = tmp_path / "run"
    r = cli("train", "--out", str(out), *TINY_FLAGS, "--epochs", "1", "--device", "cuda", "--precision", "fp16")
    assert r.returncode == 0, r.stderr
    _, meta = load_checkpoint(RunDir(out).step_checkpoints()[0])
    assert meta["progress"]["done"] == "epochs" and meta["grad_scaler"]["scale"] > 1


def test_a_gpu_index_beyond_the_machine_is_a_clear_error():
    n = torch.cuda.device_count()
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(UserError, match=f"this machine has {n} CUDA GPU"):
        resolve_device(f"cuda:{n}")
