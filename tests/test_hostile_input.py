"""Hostile input: every command that reads music gives each bad file the same verdict through the one guarded
reader (`rnnmusic.corpus.reader`): refused with one line naming the file, no traceback, bounded time and memory.

The fast test asks the reader itself about every file; the slow one runs every command on every file in a child
process and measures its time and peak memory (`os.wait4`)."""
from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnmusic.corpus import verdict

MAX_SECONDS = 30.0
MAX_RSS_BYTES = 2**30


# -- building the hostile set -----------------------------------------------------------------------------------
def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _smf(events: list[tuple[int, bytes]], tpq: int = 480) -> bytes:
    """A format-0 standard MIDI file of (delta ticks, event bytes)."""
    track = b"".join(_vlq(d) + e for d, e in events) + b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq) + b"MTrk" + struct.pack(">I", len(track)) + track


def _notes(n: int, tempo_us: int = 500_000) -> list[tuple[int, bytes]]:
    events = [(0, b"\xff\x51\x03" + tempo_us.to_bytes(3, "big"))]
    for i in range(n):
        events += [(0, bytes([0x90, 60 + i % 12, 80])), (120, bytes([0x80, 60 + i % 12, 0]))]
    return events


LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
          + "]>")
SCORE = ('<score-partwise version="3.1"><work><work-title>{title}</work-title></work><part-list><score-part id="P1">'
         '<part-name>x</part-name></score-part></part-list><part id="P1"><measure number="1"><attributes>'
         '<divisions>1</divisions></attributes><note><pitch><step>C</step><octave>4</octave></pitch>'
         '<duration>4</duration><type>whole</type></note></measure></part></score-partwise>\n')
JIG = "X:1\nT:Jig\nM:6/8\nL:1/8\nK:D\nDFA dAF|GBd gdB|AFD EFG|A3 D3|]\n"
REEL = "X:2\nT:Reel\nM:4/4\nL:1/8\nK:G\nGABc dBGB|cABG FGAF|GABc dBGB|cAFA G4|]\n"

#: file name -> True when the reader accepts it (a tunebook with HTML around and between its tunes)
HOSTILE = {
    "truncated.mid": False, "empty.mid": False, "random.mid": False, "no_notes.mid": False, "million.mid": False,
    "tempo.mid": False, "zero_division.mid": False, "never_ends.mid": False, "no_key.abc": False,
    "bad_utf8.abc": False, "one_line.abc": False, "html.abc": True, "external.musicxml": False,
    "laughs.musicxml": False,
}


def build_hostile(folder: Path) -> dict[str, Path]:
    """Write the hostile set into `folder`; name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    good = _smf(_notes(8))
    data = {
        "truncated.mid": good[:30],
        "empty.mid": b"",
        "random.mid": random.Random(0).randbytes(4096),
        "no_notes.mid": _smf([(0, b"\xff\x51\x03\x07\xa1\x20")]),
        "million.mid": _smf(_notes(1_000_000)),
        "tempo.mid": _smf(_notes(8, tempo_us=1)),            # 60 million quarter notes a minute
        "zero_division.mid": _smf(_notes(8), tpq=0),         # ticks per quarter 0: times divide by zero
        "never_ends.mid": _smf([(0, b"\x90\x3c\x50"), (0x0FFFFFFF, b"\x80\x3c\x00")]),  # off after 559,000 quarters
        "no_key.abc": b"X:1\nT:no key\nM:4/4\nL:1/8\nCDEF GABc|cBAG FEDC|]\n",
        "bad_utf8.abc": b"X:1\nT:bad\nM:4/4\nK:C\nCDEF|\xff\xfe\xc3(|]\n",
        "one_line.abc": b"X:1\nK:C\n" + b"CDEF" * (50 * 2**20 // 4) + b"\n",
        "html.abc": (f"<html><head><title>Tunes</title></head><body><pre>\n{JIG}</pre><p>More <a href='x'>tunes</a>"
                     f"</p>\n<pre>\n{REEL}</pre></body></html>\n").encode(),
        "external.musicxml": ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                              + SCORE.format(title="&xxe;")).encode(),
        "laughs.musicxml": ('<?xml version="1.0"?>\n' + LAUGHS + "\n" + SCORE.format(title="&lol9;")).encode(),
    }
    assert set(data) == set(HOSTILE)
    paths = {}
    for name, content in data.items():
        paths[name] = folder / name
        paths[name].write_bytes(content)
    return paths


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    return build_hostile(tmp_path_factory.mktemp("hostile"))


# -- the reader itself (fast) -----------------------------------------------------------------------------------
def test_the_reader_judges_every_hostile_file_quickly(hostile):
    started = time.perf_counter()
    for name, path in hostile.items():
        t = time.perf_counter()
        reason = verdict(path)
        assert (reason is None) == HOSTILE[name], (name, reason)
        if reason is not None:
            assert "\n" not in reason and reason.strip() and len(reason) < 300, (name, reason)
        assert time.perf_counter() - t < 3.0, name
    assert time.perf_counter() - started < 5.0


def test_the_reader_names_the_reasons(hostile):
    reasons = {name: verdict(path) for name, path in hostile.items()}
    assert "ticks per quarter note is 0" in reasons["zero_division.mid"]
    assert "tempo" in reasons["tempo.mid"]
    assert "more than the limit of 200,000" in reasons["million.mid"]
    assert "quarter notes long" in reasons["never_ends.mid"]
    assert reasons["no_notes.mid"] == "no notes"
    assert "no K: field" in reasons["no_key.abc"]
    assert "not valid UTF-8" in reasons["bad_utf8.abc"]
    assert "line longer than" in reasons["one_line.abc"]
    assert "XML entities" in reasons["external.musicxml"] and "XML entities" in reasons["laughs.musicxml"]


def test_a_piece_lasting_hours_is_refused(tmp_path):
    """4,800 quarter notes is within max_quarters, but at 10 qpm it would last 8 hours."""
    path = tmp_path / "slow.mid"
    path.write_bytes(_smf([(0, b"\xff\x51\x03" + (6_000_000).to_bytes(3, "big")), (0, b"\x90\x3c\x50"),
                           (480 * 4800, b"\x80\x3c\x00")]))
    assert verdict(path) == "480 minutes long, more than the limit of 240"


def test_render_refuses_what_the_corpus_refuses(hostile, tmp_path):
    from rnnmusic.corpus import load_pieces
    from rnnmusic.errors import UserError
    from rnnmusic.render.files import _items

    for name in ("zero_division.mid", "tempo.mid", "no_notes.mid", "no_key.abc"):
        with pytest.raises(UserError, match=rf"^{hostile[name]}: "):
            _items(hostile[name])
    corpus = load_pieces([str(hostile["zero_division.mid"])], cache=False, workers=1)
    assert not corpus.pieces and "ticks per quarter" in corpus.report.summary()
    items = _items(hostile["html.abc"])  # the HTML around and between the tunes is left out
    assert [n for n, _ in items] == ["html-1", "html-2"]
    assert all("<" not in given["abc"] for _, given in items)


# -- every command on every file (slow) -------------------------------------------------------------------------
STUDIO = """
import sys
from pathlib import Path
from rnnmusic.errors import UserError
from rnnmusic.render.files import render_files
try:
    done = render_files([sys.argv[1]], ["mid"], Path(sys.argv[2]))
except UserError as e:
    print(f"rnnmusic: error: {e}", file=sys.stderr)
    sys.exit(2)
print(f"{len(done)} rendered")
"""


def _run(args: list[str], cwd: Path) -> tuple[int, str, float, int]:
    """(exit status, stdout + stderr, seconds, peak RSS in bytes) of a child process."""
    out = cwd / f"out-{time.monotonic_ns()}.txt"
    with open(out, "wb") as f:
        started = time.monotonic()
        proc = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT, cwd=cwd, env={**os.environ,
                                "RNNMUSIC_CACHE": "off", "PYTHONWARNINGS": "ignore"})
        peak = 0  # the child's own high-water mark (ru_maxrss also counts the pytest process it was forked from)
        while True:
            peak = max(peak, _high_water(proc.pid, args))
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > 3 * MAX_SECONDS:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out.read_text(errors="replace"), seconds, peak or usage.ru_maxrss * 1024


def _high_water(pid: int, args: list[str]) -> int:
    """Peak resident memory in bytes of a running process since it exec'd `args` (/proc VmHWM), 0 when unreadable
    or not yet exec'd. Linux carries ru_maxrss across fork and exec, so a child of a large test process would
    report the parent's size."""
    try:
        if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:len(args)] != [a.encode() for a in args]:
            return 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _commands(path: Path, work: Path) -> dict[str, list[str]]:
    cli = [sys.executable, "-m", "rnnmusic"]
    return {
        "corpus show": cli + ["corpus", "show", str(path)],
        "train": cli + ["train", "--corpus", str(path), "--out", str(work / "run"), "--epochs", "1", "--hidden", "16",
                        "--layers", "1"],
        "generate": cli + ["generate", "folk", "--prime-file", str(path), "--count", "1", "--no-evaluate",
                           "--formats", "abc", "--out", str(work / "gen")],
        "render": cli + ["render", str(path), "--to", "mid", "--out", str(work / "render")],
        "render --voice": cli + ["render", str(path), "--to", "wav", "--voice", "fiddle", "--out", str(work / "voice")],
        "evaluate": cli + ["evaluate", str(path), "--out", str(work / "eval")],
        "studio": [sys.executable, "-c", STUDIO, str(path), str(work / "studio")],
    }


def _refused(command: str, rc: int, text: str) -> bool:
    if command == "corpus show" and rc == 0:
        return " 0 kept" in text
    return rc != 0


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_command_gives_the_same_verdict(name, hostile, tmp_path):
    path = hostile[name]
    verdicts = {}
    for command, args in _commands(path, tmp_path).items():
        rc, text, seconds, rss = _run(args, tmp_path)
        where = f"{command} {name}: rc {rc}, {seconds:.1f} s, {rss / 2**20:.0f} MB\n{text[-3000:]}"
        assert "Traceback" not in text, where
        assert seconds < MAX_SECONDS and rss < MAX_RSS_BYTES, where
        verdicts[command] = "accepted" if not _refused(command, rc, text) else "refused"
        if verdicts[command] == "refused":
            lines = [line for line in text.splitlines() if str(path) in line]
            assert lines, where  # one line naming the file and the reason
            assert any(len(line) < 1000 for line in lines), where
    expected = "accepted" if HOSTILE[name] else "refused"
    assert set(verdicts.values()) == {expected}, json.dumps(verdicts)


# -- the studio: a client that goes away ------------------------------------------------------------------------
@pytest.mark.parametrize("partial", [b"GET / HTTP/1.1\r\nHost: x\r\n",
                                     b"POST /api/render HTTP/1.1\r\nContent-Length: 900\r\n\r\n{"])
def test_studio_client_disconnecting_is_not_a_traceback(partial, capfd):
    import socket
    import threading

    from rnnmusic.studio.server import Handler, StudioServer

    server = StudioServer(("127.0.0.1", 0), type("H", (Handler,), {"studio": None}))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        for _ in range(3):
            client = socket.create_connection(server.server_address)
            client.sendall(partial)
            time.sleep(0.2)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # a reset, as a browser tab closed mid-request sends
        time.sleep(0.5)
    finally:
        server.shutdown()
        server.server_close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err, err
