"""Work off the request thread: a bounded queue in front of a pool of worker processes.

A job (generate from a model, or render a training sample so it can be heard) runs in a worker process, so
a slow or crashing job never stalls the web server, and two users' jobs run side by side. Each job has a
folder under the studio's output folder; the worker writes `progress.json` there as it goes and
`result.json` at the end, so the server learns a job's progress by reading one small file, and results
stay on disk after the server stops.

At most `workers` jobs run at once and `max_waiting` more wait; beyond that `submit` refuses with
`Busy`, which the server answers with HTTP 503.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import threading
import time
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError

MAX_WORKERS = 8
KEEP_JOBS = 200
STUDIO_FORMATS = ("abc", "mid", "wav", "musicxml", "svg", "roll")
SHOWN_METRICS = ("pitch_range", "pitch_class_entropy", "scale_consistency", "groove_consistency", "repeated_bars")


class Busy(UserError):
    """The queue is full: the request is refused, not queued."""


@dataclass
class Job:
    id: str
    kind: str
    folder: Path
    title: str
    future: Future | None = None
    created: float = field(default_factory=time.time)


# -- what runs in a worker process ------------------------------------------------------------------------
_MODELS: dict[tuple[str, int], Any] = {}


def _warm() -> None:
    """Import the heavy libraries once per worker, before the first job needs them."""
    import importlib

    for name in ("torch", "music21", "rnnmusic.generator", "rnnmusic.render.files"):
        importlib.import_module(name)


def _init_worker(threads: int, parent: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """A worker never outlives the studio, even a killed one: it exits once it has been orphaned."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _progress_writer(folder: Path) -> Callable[[str, int, int], None]:
    from ..checkpoint import write_atomic

    def write(stage: str, done: int, total: int) -> None:
        write_atomic(folder / "progress.json",
                     json.dumps({"stage": stage, "done": done, "total": total, "time": time.time()}).encode())
    return write


def _model(run: str):
    from ..run import load_model

    best = Path(run) / "best.safetensors"
    stamp = best.stat().st_mtime_ns if best.exists() else time.time_ns()  # latest checkpoint: never cached
    if (run, stamp) not in _MODELS:
        _MODELS.clear()  # one model per worker keeps memory bounded
        _MODELS[(run, stamp)] = load_model(run)
    return _MODELS[(run, stamp)]


def _problem(check) -> str | None:
    """The first problem of a PieceCheck (`problem`) or a TuneCheck (`first_problem()`); None when valid."""
    return (check.problem if hasattr(check, "problem") else check.first_problem()) or None


def describe(name: str, files: dict[str, str], check, out_root: Path) -> dict[str, Any]:
    """One result as the page shows it: validity, a few musical metrics, and its files (paths in out_root)."""
    from ..evaluation.metrics import piece_metrics
    from ..piece import read_midi_piece

    metrics: dict[str, float] = {}
    if files.get("mid"):
        try:
            m = piece_metrics(read_midi_piece(files["mid"]))
            metrics = {k: round(m[k], 3) for k in SHOWN_METRICS}
        except Exception:  # metrics are a courtesy: a piece without them is still shown
            pass
    rel = {fmt: Path(p).resolve().relative_to(out_root.resolve()).as_posix() for fmt, p in files.items()}
    return {"name": name, "valid": None if check is None else bool(check.valid),
            "problem": None if check is None else _problem(check), "metrics": metrics, "files": rel}


def generate_job(params: dict[str, Any], run: str, folder: str, out_root: str) -> dict[str, Any]:
    """Generate `params["count"]` pieces from the run into folder (see params.GenerateRequest) with the one
    generator (`generator.generate`), as the CLI and Python do."""
    from ..generator import generate
    from .params import GenerateRequest, generation_request

    folder, out_root = Path(folder), Path(out_root)
    progress = _progress_writer(folder)
    progress("loading the model", 0, params["count"])
    loaded = _model(run)
    req = generation_request(GenerateRequest(**params), loaded.encoding, title=Path(run).name, formats=STUDIO_FORMATS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = generate(loaded, req, out=folder, progress=progress)
        items = [describe(t.name, t.files, t.check, out_root) | _lead_fields(t) for t in report.tunes]
        if not items:
            raise UserError(f"none of the {report.attempts} pieces drawn passed the checks; untick "
                            "\"only valid pieces\" to see them anyway")
    progress("done", len(items), len(items))
    return {"items": items, "warnings": sorted({str(w.message) for w in caught})}


def _lead_fields(item) -> dict[str, Any]:
    """A lead sheet's key, chords and strong-beat chord-tone share, as the page shows them."""
    if not item.extra:
        return {}
    return {"key": item.extra["key"], "chords": item.extra["progression"],
            "chord_tones": item.extra["fit"].get("with_chords")}


def render_job(params: dict[str, Any], run: str, folder: str, out_root: str) -> dict[str, Any]:
    """Render a training sample file (a tunebook .abc or a .mid) of the run so it can be heard and read."""
    from ..render.files import render_files

    folder, out_root = Path(folder), Path(out_root)
    progress = _progress_writer(folder)
    progress("rendering", 0, 1)
    source = Path(run) / params["file"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = render_files([source], STUDIO_FORMATS, folder)
        items = [describe(r.name, {k: v[0] for k, v in r.files.items()}, None, out_root) |
                 {"problem": "; ".join(r.errors.values()) or None} for r in done]
    progress("done", len(items), len(items))
    return {"items": items, "warnings": sorted({str(w.message) for w in caught})}


def _run_job(fn: Callable, params: dict[str, Any], run: str, folder: str, out_root: str) -> dict[str, Any]:
    """Worker entry: the job's result, or {"error": one line} (a UserError's text, or the exception named)."""
    from ..checkpoint import write_atomic

    try:
        result = fn(params, run, folder, out_root)
    except UserError as e:
        result = {"error": str(e)}
    except Exception as e:  # the page gets one line; the server log gets the traceback
        traceback.print_exc()
        result = {"error": f"internal error: {type(e).__name__}: {' '.join(str(e).split())[:200]}"}
    write_atomic(Path(folder) / "result.json", (json.dumps(result, indent=1) + "\n").encode())
    return result


def ab_job(params: dict[str, Any], run: str, folder: str, out_root: str) -> dict[str, Any]:
    """Worker side: the generated MIDI file params["file"] as the SoundFont, the voice params["voice"] and the
    built-in synthesizer play it, with spectrograms, written into the job's folder."""
    from ..voice.compare import ab_files

    folder, out_root = Path(folder), Path(out_root)
    progress = _progress_writer(folder)
    progress("playing it three ways", 0, 1)
    mid = Path(params["file"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        files = ab_files(mid, params["voice"], folder / f"{mid.stem}.ab-{Path(params['voice']).name}")
    progress("done", 1, 1)
    rel = {k: Path(p).resolve().relative_to(out_root.resolve()).as_posix() for k, p in files.items()}
    return {"voice": Path(params["voice"]).name, "files": rel, "warnings": sorted({str(w.message) for w in caught})}


JOB_KINDS: dict[str, Callable] = {"generate": generate_job, "render": render_job, "ab": ab_job}


# -- the server side ------------------------------------------------------------------------------------
class JobQueue:
    def __init__(self, out: Path, *, workers: int = 2, max_waiting: int = 16):
        if not 1 <= workers <= MAX_WORKERS:
            raise UserError(f"--workers must be 1..{MAX_WORKERS}, got {workers}")
        self.out = Path(out)
        self.workers, self.max_waiting = workers, max_waiting
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        threads = max(1, (os.cpu_count() or 1) // self.workers)
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=(threads, os.getpid()))
        for _ in range(self.workers):
            pool.submit(_warm)
        return pool

    def submit(self, kind: str, params: dict[str, Any], run: Path, title: str) -> Job:
        with self._lock:
            pending = sum(1 for j in self._jobs.values() if j.future is not None and not j.future.done())
            if pending >= self.workers + self.max_waiting:
                raise Busy(f"the studio is busy ({pending} jobs running or waiting); try again in a minute")
            job_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)
            folder = self.out / run.name / job_id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "request.json").write_text(json.dumps({"kind": kind, "run": str(run), **params}, indent=1))
            job = Job(job_id, kind, folder, title)
            try:
                job.future = self._pool.submit(_run_job, JOB_KINDS[kind], params, str(run), str(folder), str(self.out))
            except BrokenProcessPool:
                self._pool = self._new_pool()
                job.future = self._pool.submit(_run_job, JOB_KINDS[kind], params, str(run), str(folder), str(self.out))
            self._jobs[job_id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
            return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def status(self, job: Job) -> dict[str, Any]:
        """state (queued, running, done, failed), queue position, progress stage/done/total, results."""
        s: dict[str, Any] = {"id": job.id, "kind": job.kind, "title": job.title,
                             "elapsed": round(time.time() - job.created, 1)}
        fut = job.future
        if fut is not None and fut.done():
            try:
                result = fut.result()
            except BrokenProcessPool:
                result = {"error": "the worker process crashed on this job; the pool was restarted"}
                with self._lock:
                    if self._pool._broken:  # noqa: SLF001 (the executor's own flag)
                        self._pool = self._new_pool()
            except Exception as e:
                result = {"error": f"internal error: {type(e).__name__}"}
            return s | (
                {"state": "failed", "error": result["error"]} if "error" in result else {"state": "done", **result}
            )
        try:
            progress = json.loads((job.folder / "progress.json").read_text())
        except (OSError, ValueError):
            with self._lock:
                ahead = sum(
                    1
                    for j in self._jobs.values()
                    if j.created < job.created
                    and j.future is not None
                    and not j.future.done()
                    and not (j.folder / "progress.json").exists()
                )
            return s | {"state": "queued", "position": ahead + 1}
        return s | {"state": "running", **{k: progress[k] for k in ("stage", "done", "total")}}

    def shutdown(self) -> None:
        """Stop now (Ctrl-C): waiting jobs are cancelled and running ones end with their worker, so the studio
        does not wait for a long generation before it exits."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for worker in multiprocessing.active_children():  # the pool's workers are this process's only children
            worker.terminate()
