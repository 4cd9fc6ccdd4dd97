"""The optimizers the trainer builds (`TrainConfig.optimizer`), and a fused RMSprop for the CPU.

torch's RMSprop updates a tensor in five passes (square average, square root, add eps, divide, add); on the
2-core reference machine that was 11 of the 67 ms of a training step of a 3x512 LSTM
(bench/optimizer/results/optimizer.md). torch has no fused RMSprop, but its fused Adam kernel (one pass per tensor)
computes RMSprop exactly when told to: see `FusedRMSprop`. `clip_and_step` clips the gradients' norm inside
that same pass rather than in passes of its own.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from .config import OPTIMIZERS


def make(name: str, params: Iterable[torch.nn.Parameter], lr: float, weight_decay: float,
         device: torch.device) -> torch.optim.Optimizer:
    """The optimizer `name` over `params` on `device`: Adam fused (CPU and CUDA); RMSprop fused on the CPU
    (torch's own, multi-tensor, elsewhere: the two keep the same state, so a checkpoint resumes on either);
    SGD with momentum 0.9."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if name == "rmsprop":
        if device.type == "cpu":
            return FusedRMSprop(params, lr=lr, weight_decay=weight_decay)
        return torch.optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r} (choose from {', '.join(OPTIMIZERS)})")


def total_norm(grads: list[torch.Tensor]) -> torch.Tensor:
    """The 2-norm of all `grads` together. On the CPU as BLAS dot products: torch's norm kernel read the
    gradients of the 3x512 LSTM at about 12 GB/s on the reference machine, a dot product at about 45."""
    if all(g.device.type == "cpu" and g.dtype == torch.float32 for g in grads):
        return torch.stack([torch.dot(g.reshape(-1), g.reshape(-1)) for g in grads]).sum().sqrt()
    return torch.nn.utils.get_total_norm(grads, foreach=True)


def clip_and_step(optimizer: torch.optim.Optimizer, params: Iterable[torch.nn.Parameter], max_norm: float) -> None:
    """`optimizer.step()` on gradients scaled down to a total 2-norm of at most `max_norm` (none if it is 0),
    by `clip_grad_norm_`'s rule: times max_norm / (norm + 1e-6) where that is below 1.

    Fused Adam and `FusedRMSprop` divide by the factor's inverse inside their own pass over the gradients (the
    `grad_scale` that mixed-precision unscaling uses) on the CPU, which saves a read and a write of every
    gradient; any other optimizer, or device, gets the gradients scaled first."""
    params = [p for p in params if p.grad is not None]
    if max_norm <= 0 or not params:
        optimizer.step()
        return
    norm = total_norm([p.grad for p in params])
    if not (_takes_grad_scale(optimizer) and params[0].device.type == "cpu"):  # the fused way is tested on the CPU
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm, foreach=True)
        optimizer.step()
        return
    optimizer.grad_scale = torch.clamp((norm + 1e-6) / max_norm, min=1.0)
    try:
        optimizer.step()
    finally:
        del optimizer.grad_scale


def _takes_grad_scale(optimizer: torch.optim.Optimizer) -> bool:
    return isinstance(optimizer, FusedRMSprop) or (
        isinstance(optimizer, torch.optim.Adam) and bool(optimizer.defaults.get("fused")))


class FusedRMSprop(torch.optim.Optimizer):
    """torch.optim.RMSprop without momentum, not centered, its update done in one pass per tensor by torch's
    fused Adam kernel.

    RMSprop: v <- alpha v + (1 - alpha) g^2;  p <- p - lr g / (sqrt(v) + eps).
    Adam with beta1 = 0 keeps m = g, and with beta2 = alpha keeps the same v; its bias correction then makes
    its update lr_A g / (sqrt(v) / s + eps_A), with s = sqrt(1 - alpha^t) at step t. With lr_A = lr / s and
    eps_A = eps / s that is lr g / (sqrt(v) + eps): RMSprop's update, to rounding. The kernel's first moment
    is written into the gradient itself (with beta1 = 0 it is the gradient), so no memory is added.

    The state (`step`, `square_avg`) and the hyperparameters have torch.optim.RMSprop's names and meanings,
    so the state_dict of either loads into the other. Like torch's fused Adam, `step` divides the gradients by
    the attribute `grad_scale` (a tensor) when it is set: `clip_and_step` uses that.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0):
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must be in [0, 1): {alpha}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": 0.0, "centered": False})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            if group.get("momentum", 0.0) or group.get("centered", False):
                raise ValueError("FusedRMSprop has no momentum and is not centered (a state from another optimizer?)")
            params, grads, square_avgs, steps = [], [], [], []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("FusedRMSprop does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32, device=p.device)
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                elif state["step"].device != p.device:  # torch.optim.RMSprop keeps its step on the CPU
                    state["step"] = state["step"].to(device=p.device, dtype=torch.float32)
                params.append(p)
                grads.append(p.grad)
                square_avgs.append(state["square_avg"])
                steps.append(state["step"])
            if not params:
                continue
            torch._foreach_add_(steps, 1)
            t = steps[0].item()
            if any(step.item() != t for step in steps[1:]):  # parameters frozen for a while count their own
                raise ValueError("FusedRMSprop: parameters of one group at different steps")
            alpha = group["alpha"]
            s = math.sqrt(1.0 - alpha ** t)
            torch._fused_adam_(params, grads, grads, square_avgs, [], steps, amsgrad=False, lr=group["lr"] / s,
                               beta1=0.0, beta2=alpha, weight_decay=group["weight_decay"], eps=group["eps"] / s,
                               maximize=False, grad_scale=getattr(self, "grad_scale", None), found_inf=None)
        return loss
