"""Data-parallel training over several processes: torch DistributedDataParallel, launched by torchrun.

`rnnmusic train --nproc N ...` starts N worker processes on this machine through torchrun (the same as
`torchrun --standalone --nproc-per-node N -m rnnmusic train ...`); a worker finds itself started by torchrun
from the environment (WORLD_SIZE, RANK, LOCAL_RANK) and joins the process group: NCCL when CUDA is
available (each worker on the GPU `cuda:LOCAL_RANK`), gloo on CPU otherwise. The backend is chosen at run
time; RNNMUSIC_DIST_BACKEND=gloo|nccl forces one.

`--batch-size` stays the GLOBAL batch: every worker builds the same global batch and keeps its own
contiguous share of the rows, so N workers see together exactly the batch one process would. Each worker's
loss is its rows' summed loss divided by the global number of scored targets (times N, which DDP's gradient
averaging divides away): the averaged gradient is the single-process gradient up to the order of float
additions. Carried recurrent state stays per row, so each worker carries its own rows' state; checkpoints
hold the state of all rows (gathered), so a run resumes with any number of workers.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

from .errors import UserError

# Batch dimension of each recurrent-state tensor ("h", "c": (layers, B, H); "mem": (B, W, H)).
STATE_BATCH_DIM = {"h": 1, "c": 1, "mem": 0}
DEFAULT_TIMEOUT_S = 1800.0  # a collective waits this long (rank 0 may be writing samples) before failing


@dataclass
class Dist:
    rank: int
    world: int
    local_rank: int
    backend: str
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


_current: Dist | None = None


def env_world() -> tuple[int, int, int] | None:
    """(rank, world size, local rank) when started by torchrun with more than one process, else None."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise UserError("WORLD_SIZE, RANK and LOCAL_RANK must be integers") from None
    return (rank, world, local) if world > 1 else None


def pick_backend(cuda_available: bool | None = None) -> str:
    """NCCL when CUDA is there (and torch has NCCL), gloo otherwise; RNNMUSIC_DIST_BACKEND overrides."""
    forced = os.environ.get("RNNMUSIC_DIST_BACKEND")
    if forced:
        if forced not in ("gloo", "nccl"):
            raise UserError(f"RNNMUSIC_DIST_BACKEND must be gloo or nccl, got {forced!r}")
        return forced
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    return "nccl" if cuda_available and dist.is_nccl_available() else "gloo"


def device_for(backend: str, local_rank: int) -> torch.device:
    return torch.device("cuda", local_rank) if backend == "nccl" else torch.device("cpu")


def timeout_s() -> float:
    return float(os.environ.get("RNNMUSIC_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))


def setup() -> Dist | None:
    """Join the process group when started by torchrun (idempotent); None in a single process."""
    global _current
    if _current is not None:
        return _current
    found = env_world()
    if found is None:
        return None
    rank, world, local = found
    backend = pick_backend()
    device = device_for(backend, local)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s()))
    _current = Dist(rank, world, local, backend, device)
    return _current


def current() -> Dist | None:
    return _current


def shutdown() -> None:
    global _current
    if dist.is_initialized():
        dist.destroy_process_group()
    _current = None


def leave(code: int | None) -> None:
    """End the process with `code`. A torchrun worker (WORLD_SIZE > 1), whose work is done (process group
    destroyed, files written and closed), leaves without the interpreter's teardown. There, a thread of
    torch's gloo group was sometimes destroyed unjoined ("terminate called without an active exception", 5 of
    about 140 runs): SIGABRT after the checkpoint was written, and a finished run reported as failed."""
    try:
        worker = env_world() is not None
    except UserError:  # malformed variables: the command that needed them has said so
        worker = False
    if worker:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    sys.exit(code)


def is_main() -> bool:
    return _current is None or _current.main


def check_batch(batch_size: int, world: int) -> None:
    if batch_size % world:
        raise UserError(f"--batch-size {batch_size} is the global batch and must be divisible by the number of "
                        f"processes ({world})")


# -- sharding ----------------------------------------------------------------------------------------------
def row_range(n: int, rank: int, world: int) -> tuple[int, int]:
    """This rank's contiguous share of n rows (shares differ by at most one row, in rank order)."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (rank < extra)


def shard(x: torch.Tensor, y: torch.Tensor, d: Dist) -> tuple[torch.Tensor, torch.Tensor, int]:
    """This rank's rows of a global batch (on its device) and how many real rows they are. A rank left without
    rows (a last group smaller than the world) gets one dummy row whose targets are all ignored, so it still
    takes part in the step with a zero loss and zero gradient."""
    from .batches import IGNORE

    a, b = row_range(x.size(0), d.rank, d.world)
    if a == b:
        return x[:1].to(d.device), torch.full_like(y[:1], IGNORE).to(d.device), 0
    return x[a:b].to(d.device), y[a:b].to(d.device), b - a


def shard_state(state: dict[str, torch.Tensor] | None, d: Dist) -> dict[str, torch.Tensor] | None:
    """This rank's rows of a checkpoint's (all rows) recurrent state."""
    if state is None:
        return None
    out = {}
    for k, v in state.items():
        dim = STATE_BATCH_DIM.get(k, 0)
        a, b = row_range(v.size(dim), d.rank, d.world)
        part = v.narrow(dim, a, b - a) if b > a else torch.zeros_like(v.narrow(dim, 0, 1))
        out[k] = part.contiguous().to(d.device)
    return out


def gather_state(state: dict[str, torch.Tensor] | None, real_rows: int, d: Dist) -> dict[str, torch.Tensor] | None:
    """All ranks' real rows of the recurrent state, in global row order (a collective: every rank calls it)."""
    mine = None if state is None else {
        k: v.detach().narrow(STATE_BATCH_DIM.get(k, 0), 0, real_rows).cpu() for k, v in state.items()}
    parts: list[Any] = [None] * d.world
    dist.all_gather_object(parts, mine)
    if parts[0] is None:
        return None
    return {k: torch.cat([p[k] for p in parts], dim=STATE_BATCH_DIM.get(k, 0)).contiguous() for k in parts[0]}


def gather_rng(d: Dist) -> list[torch.Tensor]:
    """Every rank's torch CPU RNG state (a collective)."""
    parts: list[Any] = [None] * d.world
    dist.all_gather_object(parts, torch.get_rng_state())
    return parts


def all_sum(values: Sequence[float], d: Dist) -> list[float]:
    """Element-wise sum over ranks (float64), broadcast from rank 0 so every rank holds the same bits."""
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    dist.broadcast(t, src=0)
    return t.cpu().tolist()


def barrier(d: Dist | None) -> None:
    if d is not None:
        dist.barrier()


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """Seed of rank `rank`'s RNG (dropout masks) when no saved state exists for it."""
    return (seed * 1_000_003 + rank * 7919 + step) % (2**63)


# -- launching ---------------------------------------------------------------------------------------------
def torchrun_argv(nproc: int, worker_args: Sequence[str]) -> list[str]:
    """The torchrun arguments that start `nproc` workers running `rnnmusic <worker_args>` on this machine."""
    return ["--standalone", "--nnodes", "1", "--nproc-per-node", str(nproc), "--max-restarts", "0",
            "--module", "rnnmusic", *worker_args]


def launch(nproc: int, worker_args: Sequence[str]) -> int:
    """Run `rnnmusic <worker_args>` in `nproc` processes through torchrun; the workers' exit code.

    torchrun runs inside this process (its agent starts the workers as subprocesses with argument lists, each
    in its own session). Ctrl-C and SIGTERM to this process are passed on once by torchrun: every worker
    finishes its step, writes its share of one checkpoint and stops; torchrun SIGKILLs what is left after 30 s."""
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    names = [n for n in logging.root.manager.loggerDict if n.startswith("torch.distributed")]
    for name in names + ["torch.distributed"]:
        logging.getLogger(name).setLevel(logging.CRITICAL)  # the workers report; torchrun's notes are noise here
    try:
        run(parse_args(torchrun_argv(nproc, worker_args)))
    except ChildFailedError as e:
        code = e.get_first_failure()[1].exitcode  # (the others were stopped because of it)
        if code < 0:  # killed by a signal
            print(f"rnnmusic: error: a training process was killed by signal {-code}", file=sys.stderr)
            return 128 - code
        return code or 1
    except SignalException as e:  # torchrun has passed the signal on and waited for the workers
        print(f"rnnmusic: {e.sigval.name}: the training processes were stopped (after a checkpoint)", file=sys.stderr)
        return 128 + int(e.sigval)
    except Exception as e:  # the rendezvous or agent itself failed
        print(
            f"rnnmusic: error: torchrun failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
            file=sys.stderr,
        )
        return 1
    return 0
