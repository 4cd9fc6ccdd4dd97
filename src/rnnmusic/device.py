"""Where training runs and in what precision, chosen at run time.

`--device auto` (the default) trains on the first CUDA GPU when torch sees one and on the CPU otherwise;
`cpu`, `cuda` and `cuda:N` ask for one. On a GPU the recurrent layers run cuDNN's kernels (nn.LSTM/GRU/RNN
pick them themselves). `--precision bf16` or `fp16` runs the forward pass and the loss under torch's
autocast: the matrix products in 16 bits, the weights, gradients and optimizer state in fp32, so
checkpoints are the same either way. fp16 also scales the loss (GradScaler) so that small gradients do not
flush to zero. Both work on the CPU too (bf16 pays off where the CPU has bf16 matrix units and the batch is
large: `bench/precision/precision.py`); fp16 on the CPU only for the plain RNN, as torch has no fp16 LSTM or GRU there.
"""
from __future__ import annotations

import contextlib
import os
from typing import Any

import torch

from .errors import UserError

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str, cuda_available: bool | None = None) -> torch.device:
    """The device `--device NAME` means here; a clear error for one this machine does not have."""
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda_available else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"unsupported device {name!r}; choose auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not cuda_available:
            raise UserError(f"--device {name}: torch sees no CUDA GPU here (torch {torch.__version__}); "
                            "use --device cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return device


def check_precision(precision: str, device: torch.device, cell: str) -> None:
    """Whether this device runs this precision (one of config.PRECISIONS: TrainConfig.validate checks that)."""
    if precision == "fp16" and device.type == "cpu" and cell != "rnn":
        # (torch 2.13: oneDNN has no fp16 LSTM, and the GRU quietly stays in fp32)
        raise UserError(
            f"--precision fp16: torch has no fp16 {cell.upper()} on the CPU; use bf16 there, or fp16 on a GPU"
        )
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError(f"--precision bf16: {torch.cuda.get_device_name(device)} has no bf16 support; use fp16")


def make_deterministic(device: torch.device) -> None:
    """`--deterministic` on a GPU. cuBLAS needs a fixed workspace (torch refuses its products otherwise, so
    this must run before the first one). cuDNN's LSTM/GRU/RNN draw their dropout masks from a state of
    their own, set up from the CUDA generator and then advanced inside cuDNN, which a checkpoint cannot
    hold: `step_seed` re-seeds the generator before every step, so the masks of a step depend only on
    (seed, step), in a resumed run as in an uninterrupted one."""
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False


def step_seed(device: torch.device, seed: int, step: int) -> None:
    """Deterministic GPU runs: seed the CUDA generator from (seed, step); this also makes cuDNN set its
    dropout state up again from it (about 2 MB per GPU)."""
    if device.type == "cuda":
        torch.cuda.manual_seed(((seed & 0xFFFFFFFF) << 32) | (step & 0xFFFFFFFF))


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The context the forward pass runs in: autocast to 16 bits, or nothing for fp32."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=AUTOCAST_DTYPES[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """fp16 only: bf16 has fp32's exponent range and needs no loss scaling."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def scaler_state(scaler: torch.amp.GradScaler | None) -> dict[str, Any] | None:
    """The scaler's state (scale, growth tracker and settings: plain numbers) for a checkpoint's JSON."""
    return None if scaler is None else scaler.state_dict()


def move_state(state: dict[str, torch.Tensor] | None, device: torch.device) -> dict[str, torch.Tensor] | None:
    return None if state is None else {k: v.to(device) for k, v in state.items()}
