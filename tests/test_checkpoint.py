import pickle

import pytest
import torch

from rnnmusic.checkpoint import load_checkpoint, optimizer_from_flat, optimizer_to_flat, save_checkpoint
from rnnmusic.errors import CheckpointError


def _tensors():
    torch.manual_seed(0)
    return {"model.w": torch.randn(4, 3), "rng.torch": torch.get_rng_state(), "step": torch.tensor(3.0)}


def test_round_trip_keeps_bits_and_meta(tmp_path):
    t = _tensors()
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, t, {"epoch": 2, "nested": {"a": [1, 2]}})
    back, meta = load_checkpoint(path)
    assert meta == {"epoch": 2, "nested": {"a": [1, 2]}}
    for k in t:
        assert torch.equal(back[k], t[k])
    assert not list(tmp_path.glob("*.tmp")), "temp files must not remain"


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, _tensors(), {"epoch": 1})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="c.safetensors"):
        load_checkpoint(path)


def test_flipped_byte_fails_checksum(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, _tensors(), {"epoch": 1})
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # inside the tensor payload: the container still parses
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(path)


class _Boom:
    def __reduce__(self):
        return (exec, ("open('PWNED','w').write('x')",))


def test_pickle_payload_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "best.safetensors"
    path.write_bytes(pickle.dumps({"w": _Boom()}))
    with pytest.raises(CheckpointError, match="not a valid rnnmusic checkpoint"):
        load_checkpoint(path)
    assert not (tmp_path / "PWNED").exists()


def test_foreign_safetensors_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "x.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="not an rnnmusic checkpoint"):
        load_checkpoint(path)


def test_optimizer_state_round_trip():
    p = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    tensors, js = optimizer_to_flat(opt.state_dict())
    import json

    restored = optimizer_from_flat(tensors, json.loads(json.dumps(js)))
    opt2 = torch.optim.Adam([torch.nn.Parameter(p.detach().clone())], lr=0.1)
    opt2.load_state_dict(restored)
    assert torch.equal(opt2.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 256 KiB filesystem (tmpfs), so 'disk full' is the kernel's ENOSPC, not a simulation."""
    import subprocess

    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield mnt
    subprocess.run(["umount", str(mnt)], capture_output=True)


def test_disk_full_keeps_earlier_checkpoint(tiny_disk):
    good = tiny_disk / "step-1.safetensors"
    save_checkpoint(good, {"w": torch.ones(1000)}, {"step": 1})
    with pytest.raises(CheckpointError, match="cannot write checkpoint"):
        save_checkpoint(tiny_disk / "step-2.safetensors", {"w": torch.ones(200_000)}, {"step": 2})
    tensors, meta = load_checkpoint(good)
    assert meta == {"step": 1} and torch.equal(tensors["w"], torch.ones(1000))
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["step-1.safetensors"], "no half-written file remains"


def test_failed_write_is_one_line_user_error_and_oserror_keeping_old_file(tiny_disk):
    import subprocess

    from rnnmusic.checkpoint import WriteError, write_atomic
    from rnnmusic.errors import UserError

    target = tiny_disk / "metrics.csv"
    write_atomic(target, b"epoch,loss\n1,2.0\n")
    with pytest.raises(WriteError) as full:
        write_atomic(target, b"x" * 400_000)  # more than the disk holds
    assert isinstance(full.value, UserError) and isinstance(full.value, OSError)  # callers catching either still do
    assert str(full.value) == f"{target}: cannot write: No space left on device"
    assert target.read_bytes() == b"epoch,loss\n1,2.0\n"
    assert subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], capture_output=True).returncode == 0
    with pytest.raises(WriteError, match=r"metrics.csv: cannot write: Read-only file system$"):
        write_atomic(target, b"new")
    with pytest.raises(CheckpointError, match=r"step-3.safetensors: cannot write checkpoint: Read-only file system$"):
        save_checkpoint(tiny_disk / "step-3.safetensors", {"w": torch.ones(2)}, {"step": 3})
    assert target.read_bytes() == b"epoch,loss\n1,2.0\n"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["metrics.csv"]


def test_metadata_that_is_not_a_json_object_is_refused(tmp_path):
    """A file with our format tag and a matching checksum whose metadata is not a JSON object (hand-made)."""
    from safetensors.torch import save_file

    from rnnmusic.checkpoint import FORMAT, _digest

    for meta_json in ("[1, 2]", "{not json"):
        t = {"w": torch.zeros(2)}
        path = tmp_path / "c.safetensors"
        save_file(t, str(path), metadata={"format": FORMAT, "version": "1", "meta": meta_json,
                                          "sha256": _digest(t, meta_json)})
        with pytest.raises(CheckpointError, match="metadata is not a JSON object"):
            load_checkpoint(path)
