"""Data-parallel training: `rnnmusic train --nproc 2` (torchrun, gloo on CPU) against one process.

Two workers with 4 rows each see exactly the global batch of 8 that one process sees, and each worker's
loss is its rows' summed loss over the global count of scored targets, so the averaged gradient is the
single-process gradient up to the order of float additions (gloo's all-reduce, per-shard sums). Those
rounding differences (~1e-7 relative per step) compound over a few hundred Adam steps to well under 1e-5
relative in the losses; the test allows 1e-4 relative. Dropout is off: its masks are drawn per worker.
"""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from test_train import TINY_FLAGS, TINY_MODEL, TINY_TRAIN

from rnnmusic import distributed
from rnnmusic.checkpoint import load_checkpoint, split_prefix
from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.run import RunDir
from rnnmusic.trainer import train

FLAGS = [f if TINY_FLAGS[i - 1] != "--dropout" else "0.0" for i, f in enumerate(TINY_FLAGS)]
MODEL = TINY_MODEL | {"dropout": 0.0}
REL = 1e-4
ENV = {"RNNMUSIC_DIST_TIMEOUT": "120"}  # a stuck collective fails in two minutes instead of hanging


def losses(run):
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    return [(int(r["step"]), float(r["train_loss"]), float(r["valid_loss"])) for r in rows]


@pytest.mark.slow
def test_two_processes_match_one(tmp_path, cli):
    one, two = tmp_path / "one", tmp_path / "two"
    train(one, TrainConfig(**TINY_TRAIN), ModelConfig(**MODEL), progress_bar=False)
    r = cli("train", "--out", str(two), "--nproc", "2", "--max-steps", "150", *FLAGS, env=ENV, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "2 processes (gloo), 4 of the 8 rows each" in r.stderr and "interrupted: max steps 150" in r.stdout
    assert r.stderr.count("epoch 1/2") == 1 and r.stdout.count("interrupted") == 1  # rank 0 speaks, alone
    # resume the 2-process run from its mid-epoch checkpoint (hidden state of all 8 rows) to the end
    r = cli("train", "--resume", str(two), "--nproc", "2", "--max-steps", "1000", env=ENV, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "resuming" in r.stderr and "finished: epochs" in r.stdout
    a, b = losses(one), losses(two)
    assert [s for s, *_ in a] == [s for s, *_ in b] == [101, 202]
    for (_, ta, va), (_, tb, vb) in zip(a, b):
        assert tb == pytest.approx(ta, rel=REL) and vb == pytest.approx(va, rel=REL)
    # one set of files, written once; weights close to the single process'
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())
    assert [p.name for p in RunDir(two).step_checkpoints()] == ["step-00000202.safetensors",
                                                               "step-00000150.safetensors",
                                                               "step-00000101.safetensors"]
    ta, _ = load_checkpoint(RunDir(one).step_checkpoints()[0])
    tb, meta = load_checkpoint(RunDir(two).step_checkpoints()[0])
    assert meta["progress"]["done"] == "epochs" and "rng.torch.rank1" in tb
    wa, wb = split_prefix(ta, "model"), split_prefix(tb, "model")
    for k in wa:
        assert torch.allclose(wa[k], wb[k], rtol=1e-3, atol=1e-5), k
    mid, _ = load_checkpoint(RunDir(two).step_checkpoints()[1])
    assert mid["hidden.h"].shape[1] == 8  # the gathered state of the whole global batch


@pytest.mark.slow
def test_ctrl_c_checkpoints_every_rank_then_stops(tmp_path):
    """Ctrl-C reaches the launcher (torchrun puts each worker in its own session) and is passed on once: the
    workers finish the step, write one checkpoint together and stop; nothing is left running."""
    out = tmp_path / "run"
    flags = [f if TINY_FLAGS[i - 1] != "--epochs" else "500" for i, f in enumerate(FLAGS)]
    proc = subprocess.Popen([sys.executable, "-m", "rnnmusic", "train", "--out", str(out), "--nproc", "2", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=dict(os.environ, **ENV))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not (out / "metrics.csv").exists():
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read()[-800:]
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr[-800:]
    assert "interrupted: stopped by SIGINT" in stdout, stdout + stderr[-800:]
    progress = RunDir(out).latest_checkpoint()[2]["progress"]
    assert progress["step"] >= 101 and progress["done"] is None  # (the epoch-end checkpoint, or a later one)


@pytest.mark.slow
def test_batch_not_divisible_is_one_line(tmp_path, cli):
    r = cli("train", "--out", str(tmp_path / "run"), "--nproc", "3", *FLAGS, env=ENV, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "rnnmusic: error: --batch-size 8 is the global batch and must be divisible by the number of processes (3)"]
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_user_error_in_workers_is_one_line(tmp_path, cli):
    r = cli("train", "--out", str(tmp_path / "run"), "--nproc", "2", "--normalize-key", *FLAGS, env=ENV, timeout=120)
    assert r.returncode == 2, r.stderr
    assert [line for line in r.stderr.splitlines() if line.startswith("rnnmusic: error")] == [
        "rnnmusic: error: --normalize-key, --augment-keys and --tracks apply to MIDI-side encodings "
        "(notes, pianoroll, events), not abc-tokens"], r.stderr
    assert "Traceback" not in r.stderr and "ChildFailedError" not in r.stderr, r.stderr


def test_backend_and_sharding_chosen_at_run_time(monkeypatch):
    monkeypatch.delenv("RNNMUSIC_DIST_BACKEND", raising=False)
    assert distributed.pick_backend(cuda_available=False) == "gloo"
    if torch.distributed.is_nccl_available():
        assert distributed.pick_backend(cuda_available=True) == "nccl"
    assert distributed.device_for("gloo", 1) == torch.device("cpu")
    assert distributed.device_for("nccl", 1) == torch.device("cuda", 1)
    monkeypatch.setenv("RNNMUSIC_DIST_BACKEND", "gloo")
    assert distributed.pick_backend(cuda_available=True) == "gloo"
    # shares cover every row once, in order, differing by at most one row
    for n in range(0, 12):
        for world in (1, 2, 3, 4):
            parts = [distributed.row_range(n, r, world) for r in range(world)]
            assert parts[0][0] == 0 and parts[-1][1] == n
            assert all(parts[i][1] == parts[i + 1][0] for i in range(world - 1))
            assert max(b - a for a, b in parts) - min(b - a for a, b in parts) <= 1
    # a rank without rows gets one dummy row scored nowhere
    d = distributed.Dist(rank=2, world=3, local_rank=2, backend="gloo", device=torch.device("cpu"))
    x, y = torch.ones(2, 5, dtype=torch.long), torch.ones(2, 5, dtype=torch.long)
    xs, ys, real = distributed.shard(x, y, d)
    assert real == 0 and xs.shape == (1, 5) and bool((ys == -100).all())
    state = {"h": torch.arange(2 * 4 * 3.0).view(2, 4, 3), "c": torch.zeros(2, 4, 3)}
    mine = distributed.shard_state(state, distributed.Dist(1, 2, 1, "gloo", torch.device("cpu")))
    assert torch.equal(mine["h"], state["h"][:, 2:4])
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distributed.env_world() is None and distributed.setup() is None and distributed.is_main()


@pytest.mark.slow
def test_a_worker_leaves_without_teardown_keeping_its_output_and_exit_code(tmp_path):
    """A torchrun worker ends with os._exit (distributed.leave): the interpreter's teardown sometimes
    aborted finished DDP runs (a gloo thread destroyed unjoined). What it printed must still arrive (stdout
    and stderr flushed first, through pipes, where Python buffers), and its exit code must stay."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | {"WORLD_SIZE": "2", "RANK": "1",
                                                                             "LOCAL_RANK": "1"}
    ok = subprocess.run([sys.executable, "-m", "rnnmusic", "presets"], capture_output=True, text=True, env=env,
                        timeout=120)
    assert ok.returncode == 0 and "notes-window100" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "rnnmusic", "info", str(tmp_path / "no-run")], capture_output=True,
                         text=True, env=env, timeout=120)
    assert bad.returncode == 2 and "rnnmusic: error:" in bad.stderr and "no-run" in bad.stderr
    # malformed torchrun variables: a command that does not need them runs; one that does says so, one line
    env["WORLD_SIZE"] = "two"
    ok = subprocess.run([sys.executable, "-m", "rnnmusic", "presets"], capture_output=True, text=True, env=env,
                        timeout=120)
    assert ok.returncode == 0 and "notes-window100" in ok.stdout and "Traceback" not in ok.stderr
