"""`rnnmusic serve`: the web studio's HTTP server (standard library `ThreadingHTTPServer`).

    GET  /                      models: every run under the roots, with its loss curve
    GET  /generate?run=ID       generate page        GET /monitor?run=ID   training monitor
    GET  /files/ROOT/PATH       a file under a root (r0, r1, ... for run roots; out for results), with ranges
    GET  /static/NAME           the page script and style sheet
    GET  /api/runs[/ID]         run summaries (JSON)
    POST /api/generate          queue a generation job -> {"job": ID}
    POST /api/render            queue rendering of a training sample -> {"job": ID}
    POST /api/ab                queue an A/B of a generated .mid (SoundFont, a voice, built-in synth) -> {"job": ID}
    GET  /api/jobs/ID           a job's state, progress and results

Each request has its own thread and generation runs in worker processes (`jobs.JobQueue`), so pages stay
responsive while models sample. Only files inside the configured roots are served (`catalog.inside`
refuses '..', absolute paths and links leading out); every parameter is validated (`params`); request
bodies are bounded; no shell command is ever built.
"""
from __future__ import annotations

import contextlib
import json
import mimetypes
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import UserError
from . import catalog, pages, params
from .jobs import Busy, JobQueue
from .voices import available_voices, voice_folder

MAX_BODY = 64 * 1024
STATIC = {"studio.js": "text/javascript; charset=utf-8", "studio.css": "text/css; charset=utf-8"}
TYPES = {".wav": "audio/wav", ".flac": "audio/flac", ".mid": "audio/midi", ".abc": "text/plain; charset=utf-8",
         ".musicxml": "application/vnd.recordare.musicxml+xml", ".svg": "image/svg+xml", ".png": "image/png",
         ".pdf": "application/pdf", ".json": "application/json", ".csv": "text/csv; charset=utf-8",
         ".md": "text/markdown; charset=utf-8", ".html": "text/plain; charset=utf-8"}
CSP = ("default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: A client that closed its connection: nothing to tell it, and nothing wrong here.
DISCONNECTED = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Studio:
    """What the handler needs: the roots, the output folder and the job queue."""

    def __init__(self, roots: Sequence[str | Path], out: str | Path, *, workers: int = 2, max_waiting: int = 16):
        from ..models import MODELS_DIR, shipped_models

        self.roots = [Path(r).resolve() for r in roots]
        if shipped_models() and MODELS_DIR not in self.roots:
            self.roots.append(MODELS_DIR)  # the shipped models, after the given roots (their ids stay r0, r1, ...)
        for r in self.roots:
            if not r.is_dir():
                raise UserError(f"{r}: no such folder (--root must be a folder holding run directories)")
        self.out = Path(out).resolve()
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"{self.out}: cannot create the output folder: {e.strerror or e}") from None
        self.jobs = JobQueue(self.out, workers=workers, max_waiting=max_waiting)

    def root(self, key: str) -> Path:
        if key == "out":
            return self.out
        if re.fullmatch(r"r\d+", key) and int(key[1:]) < len(self.roots):
            return self.roots[int(key[1:])]
        raise HttpError(404, "no such folder")

    def run(self, run_id: str) -> tuple[Path, catalog.RunSummary]:
        try:
            folder = catalog.resolve_run(self.roots, run_id)
        except UserError as e:
            raise HttpError(404, str(e)) from None
        return folder, catalog.summarize(run_id, folder)


def header_choices(folder: Path) -> tuple[list[str] | None, list[str] | None]:
    """Keys and meters the model's vocabulary has header tokens for (abc-tokens), else None (free text)."""
    try:
        vocab = json.loads((folder / "encoding.json").read_text()).get("vocab") or []
    except (OSError, ValueError):
        return None, None
    keys = sorted(t[2:] for t in vocab if isinstance(t, str) and t.startswith("K:"))
    meters = sorted(t[2:] for t in vocab if isinstance(t, str) and t.startswith("M:"))
    return keys or None, meters or None


def check_prime(folder: Path, req: params.GenerateRequest) -> None:
    """Refuse an ABC opening with symbols the model has never seen (they would be <unk>)."""
    from ..run import open_run

    enc = open_run(folder).load_encoding()
    text = params.abc_prime(req)
    if not text or enc.kind != "tokens" or "<unk>" not in enc.vocab:
        return
    ids = enc.encode(text, bos=False, eos=False)
    unk = enc.vocab.index("<unk>")
    if unk in list(ids):
        raise UserError("this model never saw part of that opening (key, meter or prime symbols); "
                        "pick a key and meter from the lists or change the prime")


class Handler(BaseHTTPRequestHandler):
    studio: Studio
    server_version = "rnnmusic-studio"
    protocol_version = "HTTP/1.1"

    # -- plumbing ---------------------------------------------------------------------------------------
    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: errors only (see log_request)
        pass

    def handle(self) -> None:
        """Serve the connection's requests; a client that goes away (mid-request or mid-reply) ends it quietly."""
        try:
            super().handle()
        except DISCONNECTED:
            self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(DISCONNECTED):  # flushing the reply to a client already gone
            super().finish()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if str(code).isdigit() and int(code) >= 400:
            sys.stderr.write(f"studio: {self.command} {self.path[:200]} -> {code}\n")

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj: Any, status: int = 200) -> None:
        self._send(status, (json.dumps(obj) + "\n").encode(), "application/json", {"Cache-Control": "no-store"})

    def _html(self, text: str, status: int = 200) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8", {"Cache-Control": "no-store"})

    def _fail(self, status: int, message: str) -> None:
        if self.path.startswith("/api/"):
            self._json({"error": message}, status)
        else:
            self._html(pages.error_page(status, message), status)

    def _dispatch(self, method: str) -> None:
        try:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, max_num_fields=50).items()}
            getattr(self, method)(url.path, query)
        except HttpError as e:
            self._fail(e.status, str(e))
        except Busy as e:
            self._fail(503, str(e))
        except UserError as e:
            self._fail(400, str(e))
        except ValueError as e:  # parse_qs over its field limit, bad JSON
            self._fail(400, f"bad request: {e}")
        except DISCONNECTED:
            self.close_connection = True
        except Exception as e:
            traceback.print_exc()
            self._fail(500, f"internal error: {type(e).__name__}")

    def do_GET(self) -> None:
        self._dispatch("get")

    def do_HEAD(self) -> None:
        self._dispatch("get")

    def do_POST(self) -> None:
        self._dispatch("post")

    def _body(self) -> dict[str, Any]:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise HttpError(411, "a POST needs a Content-Length") from None
        if not 0 <= length <= MAX_BODY:
            raise HttpError(413, f"request body over {MAX_BODY} bytes")
        raw = self.rfile.read(length)
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype == "application/json":
            obj = json.loads(raw or b"{}")
            if not isinstance(obj, dict):
                raise UserError("the JSON body must be an object")
            # every value as the text a form would send: numbers as written, anything else as JSON
            return {k: v if isinstance(v, str) else str(v) if isinstance(v, (int, float)) else json.dumps(v)
                    for k, v in obj.items()}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UserError("the request body is not UTF-8") from None
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True, max_num_fields=50).items()}

    # -- routes -----------------------------------------------------------------------------------------
    def get(self, path: str, query: dict[str, str]) -> None:
        st = self.studio
        if path == "/":
            return self._html(pages.models_page(catalog.list_runs(st.roots), [str(r) for r in st.roots]))
        if path in ("/generate", "/monitor"):
            folder, summary = st.run(query.get("run", ""))
            if path == "/monitor":
                return self._html(pages.monitor_page(summary))
            keys, meters = header_choices(folder)
            limits = {"count": params.MAX_COUNT, "prime": params.MAX_PRIME, "tempo": params.TEMPO,
                      "length": params.FRAME_LENGTH if summary.kind == "frames" else params.TOKEN_LENGTH,
                      "chords": params.MAX_CHORDS, "bars": params.BARS, "swing": params.SWING,
                      "accompaniments": params.ACCOMPANIMENTS}
            runs = [(run_id, folder.name) for run_id, folder in catalog.find_runs(st.roots)]
            voices = list(available_voices(st.roots))
            return self._html(pages.generate_page(summary, limits, keys, meters, runs, voices))
        if path.startswith("/static/"):
            name = path[len("/static/"):]
            if name not in STATIC:
                raise HttpError(404, "no such file")
            body = resources.files("rnnmusic.studio").joinpath("static", name).read_bytes()
            return self._send(200, body, STATIC[name], {"Cache-Control": "no-cache"})
        if path.startswith("/files/"):
            return self._file(path[len("/files/"):], download=query.get("download") == "1")
        if path == "/api/runs":
            return self._json([s.to_dict() for s in catalog.list_runs(st.roots)])
        if path.startswith("/api/runs/"):
            return self._json(st.run(unquote(path[len("/api/runs/"):]))[1].to_dict())
        if path.startswith("/api/jobs/"):
            job = st.jobs.get(path[len("/api/jobs/"):])
            if job is None:
                raise HttpError(404, "no such job (jobs are forgotten when the studio restarts)")
            return self._json(st.jobs.status(job))
        raise HttpError(404, "no such page")

    def post(self, path: str, query: dict[str, str]) -> None:
        st = self.studio
        if path == "/api/generate":
            form = self._body()
            folder, summary = st.run(form.get("run", ""))
            req = params.generate_request(form, piece_format=summary.piece_format, kind=summary.kind,
                                         encoding=summary.encoding)
            voice = voice_folder(st.roots, params._text(form, "voice", 300))
            req = replace(req, voice=str(voice) if voice else "")
            if summary.piece_format == "abc":
                check_prime(folder, req)
            job = st.jobs.submit("generate", req.to_dict(), folder, f"{summary.name}: {req.count} piece(s)")
            return self._json({"job": job.id}, 202)
        if path == "/api/ab":
            form = self._body()
            run_folder, summary = st.run(form.get("run", ""))
            voice = voice_folder(st.roots, params._text(form, "voice", 300))
            mid = catalog.inside(st.out, params._text(form, "file", 500))
            if voice is None or mid is None or mid.suffix != ".mid" or not mid.is_file():
                raise UserError("compare needs a voice and a generated .mid file of this studio's output folder")
            job = st.jobs.submit("ab", {"file": str(mid), "voice": str(voice)}, run_folder,
                                 f"{summary.name}: {mid.name} with {voice.name}")
            return self._json({"job": job.id}, 202)
        if path == "/api/render":
            form = self._body()
            folder, summary = st.run(form.get("run", ""))
            if form.get("file") not in summary.samples:
                raise UserError(f"{form.get('file', '')[:100]!r} is not one of this run's samples")
            job = st.jobs.submit("render", {"file": form["file"]}, folder, f"{summary.name}: {form['file']}")
            return self._json({"job": job.id}, 202)
        raise HttpError(404, "no such action")

    def _file(self, rest: str, download: bool) -> None:
        key, _, rel = rest.partition("/")
        target = catalog.inside(self.studio.root(unquote(key)), unquote(rel))
        if target is None:
            raise HttpError(403, "refused: outside the studio's folders")
        if not target.is_file():
            raise HttpError(404, "no such file")
        size = target.stat().st_size
        ctype = TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        extra = {"Accept-Ranges": "bytes", "Cache-Control": "no-cache"}
        if download:
            extra["Content-Disposition"] = f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", target.name)}"'
        start, end, status = 0, size - 1, 200
        m = RANGE_RE.match(self.headers.get("Range", "").strip())
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start, end = int(m.group(1)), min(int(m.group(2) or size - 1), size - 1)
            else:
                start = max(0, size - int(m.group(2)))
            if start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
            extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        with open(target, "rb") as f:
            f.seek(start)
            body = f.read(end - start + 1) if size else b""
        self._send(status, body, ctype, extra)


class StudioServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that went away is not an error; anything else is printed as socketserver does."""
        if isinstance(sys.exc_info()[1], DISCONNECTED):
            return
        super().handle_error(request, client_address)


def make_server(studio: Studio, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    handler = type("StudioHandler", (Handler,), {"studio": studio})
    try:
        server = StudioServer((host, port), handler)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    server.daemon_threads = True
    return server


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(roots: Sequence[str | Path], *, out: str | Path = "out/studio", host: str = "127.0.0.1", port: int = 8765,
          workers: int = 2) -> int:
    """Run the studio until Ctrl-C or SIGTERM; prints the address it listens on (useful with --port 0)."""
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be 0..65535, got {port}")
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C stops the studio even when it was started with SIGINT ignored (as a background job, or by a
        # parent that ignores it), and so does SIGTERM (service managers, `kill`)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
    studio = Studio(roots, out, workers=workers)
    server = None
    started = time.time()
    try:  # from here on, Ctrl-C or SIGTERM at any moment stops the studio cleanly (even right after the
        # address is printed, when a script that read it may already be sending the signal)
        server = make_server(studio, host, port)
        url_host = host if ":" not in host else f"[{host}]"
        print(f"rnnmusic studio: http://{url_host}:{server.server_address[1]}/  (runs under "
              f"{', '.join(map(str, studio.roots))}; results in {studio.out}; Ctrl-C stops)", flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"warning: listening on {host}: anyone who can reach this machine can use the studio "
                  "(it has no login)", file=sys.stderr, flush=True)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print(f"rnnmusic studio: stopped after {time.time() - started:.0f} s", flush=True)
    finally:
        if server is not None:
            server.server_close()
        studio.jobs.shutdown()
    return 0
