"""The web studio (`rnnmusic serve`), run as a user runs it, driven over HTTP and in a real headless Chromium.

A tiny ABC model is trained for two epochs (samples every epoch), the studio is started as a subprocess on a
free port, and the tests: refuse traversal paths and absurd parameters; generate in the browser and wait
for the sheet music and a playable audio element; open the training monitor and listen to a sample.
Screenshots are saved under build/test-artifacts/.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from rnnmusic.config import ModelConfig, TrainConfig
from rnnmusic.errors import UserError
from rnnmusic.studio.catalog import inside, list_runs
from rnnmusic.studio.params import abc_prime, generate_request
from rnnmusic.trainer import resume, train

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Debian chromium + chromium-driver not installed (make test installs them as root)",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio") / "runs"
    cfg = TrainConfig(
        corpus=["oneills"],
        max_tunes=120,
        encoding="abc-tokens",
        epochs=2,
        batch_size=8,
        seq_len=48,
        sample_every=1,
        sample_count=2,
        sample_max_length=200,
        seed=5,
        patience=0,
    )
    small = ModelConfig(cell="lstm", layers=1, hidden=48, embed=16, dropout=0.0)
    train(root / "tiny", cfg, small, progress_bar=False)
    # a MIDI-side model: whatever it samples decodes to notes, so there is always audio and sheet music to show
    cfg = TrainConfig(
        corpus=["bach-chorales"],
        max_tunes=12,
        encoding="notes",
        epochs=2,
        batch_size=4,
        seq_len=64,
        sample_every=1,
        sample_count=1,
        sample_max_length=64,
        seed=5,
        patience=0,
    )
    train(root / "chorales", cfg, small, progress_bar=False)
    # a lead-sheet model (melody over chords) on the built-in lead sheets
    cfg = TrainConfig(
        corpus=["lead-sheets"],
        encoding="lead",
        epochs=2,
        batch_size=4,
        seq_len=64,
        sample_every=2,
        sample_count=1,
        seed=5,
        patience=0,
    )
    train(root / "lead", cfg, small, progress_bar=False)
    return root


@pytest.fixture(scope="module")
def studio(runs, tmp_path_factory):
    """(base URL, output folder) of a studio serving `runs`, started as `rnnmusic serve --port 0`."""
    out = tmp_path_factory.mktemp("studio-out")
    (runs / "outside").symlink_to("/etc")  # a link leading out of the root must not be followed
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnnmusic",
            "serve",
            "--root",
            str(runs),
            "--out",
            str(out),
            "--port",
            "0",
            "--workers",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    line = proc.stdout.readline()
    assert line.startswith("rnnmusic studio: http://127.0.0.1:"), line + proc.stderr.read()
    url = line.split()[2].rstrip("/")
    yield url, out
    proc.send_signal(signal.SIGINT)
    try:  # stops promptly, and leaves no worker behind holding its output open
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail("the studio and its workers had not stopped 30 s after Ctrl-C")
    assert proc.returncode == 0, err[-2000:]


def request(url: str, method: str, path: str, body: str | None = None, headers: dict | None = None):
    """Send `path` exactly as given (no client-side normalisation of '..'); (status, body text)."""
    host = url.split("//", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=60)
    hdrs = dict(headers or {})
    if body is not None:
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read().decode("utf-8", "replace")
    conn.close()
    return resp.status, data


def wait_job(url: str, job: str, limit: float = 180) -> dict:
    deadline = time.time() + limit
    while time.time() < deadline:
        status, text = request(url, "GET", f"/api/jobs/{job}")
        assert status == 200, text
        s = json.loads(text)
        if s["state"] in ("done", "failed"):
            return s
        time.sleep(0.3)
    raise AssertionError(f"job {job} not finished after {limit} s")


# -- without a browser ---------------------------------------------------------------------------------
def test_inside_refuses_escapes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.txt").write_text("x")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "secret").write_text("s")
    (tmp_path / "a" / "link").symlink_to(tmp_path / "b")
    root = tmp_path / "a"
    assert inside(root, "f.txt") == (root / "f.txt").resolve()
    for bad in ("../a/f.txt", "../b/secret", "/etc/passwd", "x/../../b", "link/secret", "f.txt\x00", "..\\b"):
        assert inside(root, bad) is None, bad


def test_generate_request_bounds():
    ok = generate_request(
        {"run": "r0/x", "count": "3", "key": "G", "meter": "6/8", "seed": "7"}, piece_format="abc", kind="tokens"
    )
    assert (ok.count, ok.seed, ok.only_valid) == (3, 7, False)
    assert generate_request({"only_valid": "on"}, piece_format="abc", kind="tokens").only_valid
    assert abc_prime(ok) == "M:6/8\nL:1/8\nK:G\n"
    assert abc_prime(generate_request({"meter": "2/4", "key": "D"}, piece_format="abc", kind="tokens")).startswith(
        "M:2/4\nL:1/16\n"
    )
    bad = [
        ({"count": "9"}, "count must be 1..8"),
        ({"count": "1e9"}, "count must be a number"),
        ({"length": "100000000"}, "length must be"),
        ({"temperature": "-1"}, "temperature must be"),
        ({"top_p": "2"}, "top-p must be"),
        ({"seed": "-5"}, "seed must be"),
        ({"key": "G; rm -rf /"}, "key must be"),
        ({"meter": "7/7"}, "meter must be"),
        ({"key": "G"}, "choose a meter"),
        ({"tempo": "120"}, "tempo applies"),
        ({"prime": "x" * 3000}, "limited to 2000"),
        ({"temperature": "nan"}, "temperature must be"),
        ({"only_valid": "maybe"}, "yes/no"),
    ]
    for form, message in bad:
        with pytest.raises(UserError, match=message):
            generate_request({"run": "r0/x", **form}, piece_format="abc", kind="tokens")
    with pytest.raises(UserError, match="length must be 16..1024"):
        generate_request({"length": "5000"}, piece_format="midi", kind="frames")
    with pytest.raises(UserError, match="prime and meter apply to ABC"):
        generate_request({"meter": "3/4"}, piece_format="midi", kind="tokens")


def test_lead_requests_are_checked_before_work_is_queued():
    ok = generate_request(
        {
            "run": "r0/x",
            "chords": "Dm7 G7 | Cmaj7",
            "bars": "8",
            "swing": "0.6",
            "key": "Bb",
            "meter": "3/4",
            "accompaniment": "bass",
            "tempo": "160",
        },
        piece_format="midi",
        kind="lead",
    )
    assert (ok.chords, ok.bars, ok.swing, ok.key, ok.meter, ok.accompaniment) == (
        "Dm7 G7 | Cmaj7",
        8,
        0.6,
        "Bb major",
        "3/4",
        "bass",
    )
    assert generate_request({}, piece_format="midi", kind="lead").chords == ""  # the model proposes chords
    bad = [
        ({"chords": "Dm7 G7 | Hx7"}, "'Hx7' in bar 2"),
        ({"chords": "/etc/hostname"}, "unknown chord symbol '/etc/hostname'"),  # text, never a file name
        ({"swing": "0.9"}, "swing must be 0.5..0.75"),
        ({"bars": "0"}, "bars must be 1..512"),
        ({"accompaniment": "tuba"}, "accompaniment must be one of comp, block, bass, none"),
        ({"meter": "C"}, "meter must be like 4/4"),
        ({"key": "H"}, "key must be"),
        ({"only_valid": "on"}, "do not apply to lead-sheet models"),
        ({"chords": "C " * 1001}, "limited to 2000"),
    ]
    for form, message in bad:
        with pytest.raises(UserError, match=message):
            generate_request(form, piece_format="midi", kind="lead")
    for kind, fmt in (("tokens", "abc"), ("tokens", "midi"), ("frames", "midi")):
        with pytest.raises(UserError, match="apply to lead-sheet models"):
            generate_request({"chords": "C | G"}, piece_format=fmt, kind=kind)


@pytest.mark.slow
def test_catalog_summary(runs):
    found = {s.id: s for s in list_runs([runs])}
    abc, midi, lead = found["r0/tiny"], found["r0/chorales"], found["r0/lead"]
    assert len(found) == 3 and (lead.kind, lead.encoding, lead.piece_format) == ("lead", "lead", "midi")
    assert (abc.id, abc.encoding, abc.epochs, abc.epochs_planned, abc.done) == ("r0/tiny", "abc-tokens", 2, 2, "epochs")
    assert abc.params > 1000 and abc.best_valid is not None and len(abc.loss) == 2
    assert abc.samples == ["samples/epoch-001.abc", "samples/epoch-002.abc"]
    assert (midi.id, midi.encoding, midi.piece_format) == ("r0/chorales", "notes", "midi")
    assert midi.samples == ["samples/epoch-001/piece-001.mid", "samples/epoch-002/piece-001.mid"]


@pytest.mark.slow
def test_traversal_and_absurd_requests_refused(studio):
    url, _ = studio
    status, page = request(url, "GET", "/")
    assert status == 200 and "tiny" in page and "/generate?run=r0/tiny" in page
    assert request(url, "GET", "/files/r0/tiny/config.json")[0] == 200
    for path in (
        "/files/r0/../../../../etc/passwd",
        "/files/r0/tiny/../../../etc/passwd",
        "/files/r0/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/files/out/..%2f..%2f..%2fetc%2fpasswd",
        "/files/r0/outside/passwd",
        "/files/r0/%2Fetc%2Fpasswd",
    ):
        status, text = request(url, "GET", path)
        assert status == 403 and "refused" in text and "root:" not in text, path
    assert request(url, "GET", "/files/r7/x")[0] == 404
    assert request(url, "GET", "/static/../server.py")[0] == 404
    assert request(url, "GET", "/generate?run=r0/../..")[0] == 404
    partial = request(url, "GET", "/files/r0/tiny/config.json", headers={"Range": "bytes=0-9"})
    assert partial[0] == 206 and len(partial[1]) == 10
    for body, message in (
        ("run=r0/tiny&count=10000", "count must be 1..8"),
        ("run=r0/tiny&length=999999999", "length must be"),
        ("run=r0/tiny&temperature=0", "temperature must be"),
        ("run=r0/tiny&key=Xq&meter=4/4", "key must be"),
        ("run=r0/tiny&meter=4/4&key=F%23lyd", "never saw"),
        ("run=r0/tiny&count=" + "9" * 5000, "count must be"),
    ):
        status, text = request(url, "POST", "/api/generate", body)
        assert status == 400 and message in json.loads(text)["error"], (body, text)
    status, text = request(url, "POST", "/api/generate", "run=r0/../../etc&count=1")
    assert status == 404 and "unknown run" in text
    status, text = request(url, "POST", "/api/render", "run=r0/tiny&file=../../../etc/passwd")
    assert status == 400 and "not one of this run's samples" in text
    status, text = request(url, "POST", "/api/generate", "run=r0/tiny&prime=" + "A" * 70000)
    assert status == 413
    assert request(url, "GET", "/api/jobs/nope")[0] == 404


@pytest.mark.slow
def test_jobs_run_side_by_side_and_pages_stay_responsive(studio):
    url, out = studio
    jobs = [
        json.loads(request(url, "POST", "/api/generate", f"run=r0/chorales&count=2&length=120&seed={s}")[1])["job"]
        for s in (1, 2)
    ]
    status, page = request(url, "GET", "/")  # answered while both jobs are queued or running
    assert status == 200 and "tiny" in page
    for job in jobs:
        s = wait_job(url, job)
        assert s["state"] == "done", s
        assert len(s["items"]) == 2
        for item in s["items"]:
            for fmt in ("abc", "mid", "wav", "svg", "musicxml"):
                assert (out / item["files"][fmt]).is_file(), (fmt, item)
            assert set(item["metrics"]) >= {"pitch_range", "pitch_class_entropy"}


@pytest.mark.slow
def test_melody_over_chords_from_the_studio(studio):
    """A lead-sheet model generates over the chords typed in the form: melody, piano and bass in the MIDI,
    audio and sheet music; the page gets the chords back bar by bar, and a bad symbol is refused at once."""
    import symusic

    url, out = studio
    chords = "Dm7 G7 | Cmaj7 | A7 | Dm7 G7"
    status, text = request(
        url,
        "POST",
        "/api/generate",
        "run=r0/lead&count=1&bars=8&swing=0.6&tempo=150&accompaniment=comp&chords=" + quote(chords),
    )
    assert status == 202, text
    s = wait_job(url, json.loads(text)["job"])
    assert s["state"] == "done", s
    (item,) = s["items"]
    assert item["chords"] == f"{chords} | {chords}" and item["key"] == "C major" and 0 <= item["chord_tones"] <= 1
    assert {"mid", "wav", "svg", "musicxml"} <= set(item["files"])
    midi = symusic.Score(str(out / item["files"]["mid"]))
    assert [t.program for t in midi.tracks if t.note_num()][1:] == [0, 32] and round(midi.tempos[0].qpm) == 150
    assert 'class="harm"' in (out / item["files"]["svg"]).read_text()
    status, text = request(url, "POST", "/api/generate", "run=r0/lead&chords=" + quote("Dm7 G7 | Hx7"))
    assert status == 400 and "'Hx7' in bar 2" in json.loads(text)["error"]
    status, text = request(url, "POST", "/api/generate", "run=r0/tiny&chords=C")
    assert status == 400 and "lead-sheet models" in json.loads(text)["error"]


@pytest.mark.slow
def test_queue_is_bounded(runs, tmp_path):
    from rnnmusic.studio.jobs import Busy, JobQueue
    from rnnmusic.studio.params import generate_request

    queue = JobQueue(tmp_path, workers=1, max_waiting=1)
    try:
        params = generate_request({"count": "1", "length": "32"}, piece_format="midi", kind="tokens").to_dict()
        jobs = [queue.submit("generate", params, runs / "chorales", "t") for _ in range(2)]
        with pytest.raises(Busy, match="busy"):
            queue.submit("generate", params, runs / "chorales", "t")
        assert queue.status(jobs[1])["state"] in ("queued", "running")
        for job in jobs:
            job.future.result(timeout=120)
            assert queue.status(job)["state"] == "done", queue.status(job)
        queue.submit("generate", params, runs / "chorales", "t")  # room again once they are done
    finally:
        queue.shutdown()
    with pytest.raises(UserError, match="workers must be 1..8"):
        JobQueue(tmp_path, workers=50)


# -- in a real browser ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--mute-audio",
        "--window-size=1280,1800",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait(driver, condition, limit=180):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, limit, poll_frequency=0.3).until(condition)


AUDIO_READY = (
    "const a = document.querySelector(arguments[0]);"
    "return a && a.readyState >= 1 && a.duration > 0 ? a.duration : null;"
)
# read in one script call: the chart is redrawn every few seconds, so a found element can go stale
CHART_POINTS = (
    "const p = document.querySelector('#chart polyline.valid');return p ? p.getAttribute('data-points') : null;"
)
IMAGE_READY = (
    "const i = document.querySelector(arguments[0]);"
    "return i && i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null;"
)


def _generate_one(browser) -> None:
    """Ask for one piece on the open Generate page and wait for it (no error shown)."""
    from selenium.webdriver.common.by import By

    count = browser.find_element(By.ID, "count")
    count.clear()
    count.send_keys("1")
    browser.find_element(By.ID, "go").click()
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "article.piece") or d.find_element(By.ID, "error").text)
    assert not browser.find_element(By.ID, "error").text


def _sheet_and_audio_ready(browser) -> None:
    """The result's sheet music has loaded with a real size, and its audio has a positive duration."""
    sheet = _wait(browser, lambda d: d.execute_script(IMAGE_READY, "article.piece img.sheet"), 60)
    assert sheet[0] > 100 and sheet[1] > 50
    duration = _wait(browser, lambda d: d.execute_script(AUDIO_READY, "article.piece audio"), 60)
    assert duration > 0.5


@needs_chromium
@pytest.mark.slow
def test_generate_in_the_browser(studio, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = studio
    browser.get(url + "/")
    table = browser.find_element(By.CSS_SELECTOR, "table.runs").text
    assert "tiny" in table and "chorales" in table
    browser.find_element(By.CSS_SELECTOR, 'a.button[href="/generate?run=r0/tiny"]').click()
    assert "Generate with tiny" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.ID, "key").tag_name == "select"  # ABC: keys from the model's vocabulary
    Select(browser.find_element(By.ID, "model")).select_by_value("r0/chorales")  # the model chooser
    _wait(browser, lambda d: "Generate with chorales" in d.find_element(By.TAG_NAME, "h1").text, 30)
    browser.find_element(By.ID, "key").send_keys("D major")
    # this tiny test model rarely writes a valid piece, and "only valid pieces" now writes only valid ones
    # (issue 19): untick it to see the piece
    browser.find_element(By.ID, "only_valid").click()
    _generate_one(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.piece")) == 1
    _sheet_and_audio_ready(browser)
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, ".downloads a")}
    assert {"ABC", "MIDI", "MusicXML", "WAV"} <= set(links)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "studio-generate.png"))


@needs_chromium
@pytest.mark.slow
def test_melody_over_chords_in_the_browser(studio, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    url, _ = studio
    browser.get(f"{url}/generate?run={quote('r0/lead')}")
    assert "Generate with lead" in browser.find_element(By.TAG_NAME, "h1").text
    # a lead-sheet model's form: chords, bars, meter, swing and accompaniment; no token length, no ABC prime
    assert not browser.find_elements(By.ID, "length") and not browser.find_elements(By.ID, "prime")
    browser.find_element(By.ID, "chords").send_keys("C | F | G7 | C")
    Select(browser.find_element(By.ID, "accompaniment")).select_by_value("block")
    _generate_one(browser)
    assert browser.find_element(By.CSS_SELECTOR, "article.piece p.chords").text == "C major: C | F | G7 | C"
    assert (
        "strong-beat notes are chord tones" in browser.find_element(By.CSS_SELECTOR, "article.piece p.chord-tones").text
    )
    _sheet_and_audio_ready(browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "studio-lead.png"))


@needs_chromium
@pytest.mark.slow
def test_training_monitor_in_the_browser(studio, browser, runs):
    from selenium.webdriver.common.by import By

    url, _ = studio
    browser.get(f"{url}/monitor?run={quote('r0/chorales')}")
    assert _wait(browser, lambda d: d.execute_script(CHART_POINTS), 30) == "2"
    samples = _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#samples li"), 30)
    assert [li.get_attribute("data-file") for li in samples] == [
        "samples/epoch-001/piece-001.mid",
        "samples/epoch-002/piece-001.mid",
    ]
    samples[-1].find_element(By.CSS_SELECTOR, "button.listen").click()
    last = "#samples li:last-child "
    duration = _wait(
        browser,
        lambda d: (
            d.execute_script(AUDIO_READY, last + ".sample-results audio")
            or "".join(e.text for e in d.find_elements(By.CSS_SELECTOR, last + ".job-text.error"))
        ),
    )
    assert isinstance(duration, float) and duration > 0.5, duration
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "studio-monitor.png"))
    # the run trains on (a real resume with one more epoch): the open page shows the new epoch and its sample
    resume(runs / "chorales", {"epochs": 3}, progress_bar=False)
    _wait(browser, lambda d: d.execute_script(CHART_POINTS) == "3", 30)
    _wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#samples li[data-file="samples/epoch-003/piece-001.mid"]'),
        30,
    )
    assert "epoch 3 of 3" in browser.find_element(By.ID, "status").text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.slow
def test_studio_stops_on_ctrl_c_or_sigterm_even_when_started_with_sigint_ignored(tmp_path, sig):
    """A background job of a non-interactive shell starts with SIGINT ignored; the studio still stops on it,
    and its worker processes go with it."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rnnmusic",
            "serve",
            "--root",
            str(tmp_path),
            "--out",
            str(tmp_path / "out"),
            "--port",
            "0",
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert proc.stdout.readline().startswith("rnnmusic studio: http://127.0.0.1:")
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the studio had not stopped 30 s after signal {sig}")
    assert proc.returncode == 0, err[-2000:]
    assert "rnnmusic studio: stopped" in out


# -- learned voices: the audio chooser and the A/B player -----------------------------------------------
@pytest.mark.slow
def test_voices_are_offered_played_and_compared(studio, runs):
    from rnnmusic.voice.network import VoiceConfig
    from rnnmusic.voice.player import init_voice

    url, out = studio
    init_voice(runs / "voices" / "tiny-voice", VoiceConfig(hidden=16, n_harmonics=8, n_noise_bands=17,
                                                            reverb_s=0.05))
    status, page = request(url, "GET", "/generate?run=r0/chorales")
    assert status == 200 and 'name="voice"' in page and "voice: fiddle" in page and "r0/voices/tiny-voice" in page
    status, home = request(url, "GET", "/")
    assert "tiny-voice" not in home  # a voice plays music; it is not a model to generate with
    for bad in ("voice=/etc", "voice=../../voices/tiny-voice", "voice=nope"):
        status, text = request(url, "POST", "/api/generate", f"run=r0/chorales&count=1&length=80&{bad}")
        assert status == 400 and "no voice" in text and "\n" not in json.loads(text)["error"], (bad, text)
    status, text = request(url, "POST", "/api/generate", "run=r0/chorales&count=1&length=80&seed=3&voice=fiddle")
    assert status == 202, text
    done = wait_job(url, json.loads(text)["job"])
    assert done["state"] == "done", done
    files = done["items"][0]["files"]
    assert (out / files["wav"]).stat().st_size > 10_000
    for bad in (f"file={files['mid']}&voice=nope", "file=../../../etc/passwd&voice=fiddle",
                f"file={files['wav']}&voice=fiddle"):
        status, text = request(url, "POST", "/api/ab", f"run=r0/chorales&{bad}")
        assert status == 400, (bad, text)
    form = f"run=r0/chorales&file={quote(files['mid'])}&voice=r0/voices/tiny-voice"
    status, text = request(url, "POST", "/api/ab", form)
    assert status == 202, text
    ab = wait_job(url, json.loads(text)["job"])
    assert ab["state"] == "done" and ab["voice"] == "tiny-voice", ab
    assert {"voice", "synth", "spectrograms"} <= set(ab["files"])
    for rel in ab["files"].values():
        status, _ = request(url, "GET", "/files/out/" + quote(rel))
        assert status == 200, rel


@needs_chromium
@pytest.mark.slow
def test_ab_player_in_the_browser(studio, browser):
    from selenium.webdriver.common.by import By

    url, _ = studio
    browser.get(url + "/generate?run=r0/chorales")
    browser.find_element(By.ID, "only_valid").click()
    _generate_one(browser)
    browser.find_element(By.CSS_SELECTOR, "article.piece .compare-go").click()
    _wait(browser, lambda d: d.execute_script(IMAGE_READY, "article.piece img.spectrograms"), 120)
    players = browser.find_elements(By.CSS_SELECTOR, "article.piece .ab-players figure")
    assert [p.find_element(By.TAG_NAME, "figcaption").text for p in players][-2:] == ["voice: fiddle",
                                                                                      "built-in synthesizer"]
    duration = _wait(browser, lambda d: d.execute_script(AUDIO_READY, "article.piece .ab-voice audio"), 60)
    assert duration > 0.5
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "studio-ab.png"))
