"""The studio and learned voices: the Voice chooser on the Generate page, and the A/B player ("Compare sounds").

A tiny untrained voice (`init_voice`) is placed under a studio root; the studio runs in this process (one
worker) with FluidSynth hidden, so no reference is rendered and nothing is trained: the tests are fast.
"""
import http.client
import json
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from rnnmusic.studio import catalog
from rnnmusic.studio.server import Studio, make_server
from rnnmusic.studio.voices import available_voices, voice_folder

TINY = "r0/voices/tiny-voice"
ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _tiny_voice(folder: Path) -> Path:
    from rnnmusic.voice.network import VoiceConfig
    from rnnmusic.voice.player import init_voice

    return init_voice(folder, VoiceConfig(hidden=16, n_harmonics=8, n_noise_bands=17, reverb_s=0.05))


def _write_midi(path: Path) -> Path:
    """Four short notes (2 s), a piece as the studio's generation writes it."""
    import symusic

    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    track = symusic.Track("piece", program=40)
    for i, pitch in enumerate((67, 69, 71, 74)):
        track.notes.append(symusic.Note(i * 480, 420, pitch, 90))
    score.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(score.dumps_midi()))
    return path


@pytest.fixture(scope="module")
def voice_studio(tmp_path_factory):
    """(url, studio, root): a studio over a root holding a tiny voice, served from a thread of this process."""
    base = tmp_path_factory.mktemp("voice-studio")
    root = base / "runs"
    _tiny_voice(root / "voices" / "tiny-voice")
    # a voice folder that also holds an encoding.json must still not pass for a model
    (_tiny_voice(root / "odd-voice") / "encoding.json").write_text('{"name": "abc-tokens"}')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNNMUSIC_NO_FLUIDSYNTH", "1")  # the workers (spawned now) inherit it: no reference, faster
        studio = Studio([root], base / "out", workers=1)
    server = make_server(studio, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", studio, root
    server.shutdown()
    server.server_close()
    studio.jobs.shutdown()


def _run_id(studio: Studio) -> str:
    """A model the studio lists (a shipped one: nothing is trained here)."""
    runs = catalog.find_runs(studio.roots)
    assert runs, "no model to attach the job to (the shipped models are missing)"
    return runs[0][0]


def request(url: str, method: str, path: str, form: dict | None = None) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection(url.split("//", 1)[1], timeout=60)
    body = urlencode(form) if form is not None else None
    conn.request(method, path, body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    text = data.decode("utf-8", "replace") if not data.startswith((b"RIFF", b"\x89PNG")) else ""
    return resp.status, text, {"type": resp.getheader("Content-Type"), "bytes": data[:4], "size": len(data)}


def _one_line_400(status: int, text: str, what) -> str:
    assert status == 400, (what, status, text)
    error = json.loads(text)["error"]
    assert error and "\n" not in error, (what, error)
    return error


def test_voices_are_offered_and_are_not_models(voice_studio):
    url, studio, root = voice_studio
    voices = available_voices(studio.roots)
    assert voices[TINY] == (root / "voices" / "tiny-voice").resolve()
    assert voices["r0/odd-voice"] == (root / "odd-voice").resolve()
    assert voice_folder(studio.roots, "") is None
    run = _run_id(studio)
    status, page, _ = request(url, "GET", f"/generate?run={run}")
    assert status == 200
    assert '<label>Voice <select name="voice" id="voice"><option value="">SoundFont (default)</option>' in page
    assert f'<option value="{TINY}">' in page and '<option value="r0/odd-voice">' in page
    data = json.loads(page.split('id="page-data">', 1)[1].split("</script>", 1)[0])
    assert data["voices"] == list(voices) and data["run"] == run  # the A/B player's choices
    # not models: neither listed nor usable as one
    assert not any("voice" in run_id for run_id, _ in catalog.find_runs(studio.roots))
    status, home, _ = request(url, "GET", "/")
    assert status == 200 and "tiny-voice" not in home and "odd-voice" not in home
    status, text, _ = request(url, "GET", "/api/runs")
    assert status == 200 and "tiny-voice" not in text and "odd-voice" not in text
    assert request(url, "GET", "/generate?run=r0/odd-voice")[0] == 404


def test_a_voice_not_on_offer_is_refused(voice_studio):
    url, studio, root = voice_studio
    run = _run_id(studio)
    for bad in ("nope", "/etc", str(root / "voices" / "tiny-voice"), "r0/voices/../voices/tiny-voice",
                "r0/voices", "r9/voices/tiny-voice", "tiny-voice\nx"):
        status, text, _ = request(url, "POST", "/api/generate", {"run": run, "count": "1", "voice": bad})
        assert "no voice" in _one_line_400(status, text, bad)


def test_compare_sounds_plays_a_piece_three_ways(voice_studio):
    url, studio, _ = voice_studio
    run = _run_id(studio)
    mid = _write_midi(studio.out / "chorales" / "20260101-000000-abcdef" / "piece-001.mid")
    rel = mid.relative_to(studio.out).as_posix()
    status, text, _ = request(url, "POST", "/api/ab", {"run": run, "file": rel, "voice": TINY})
    assert status == 202, text
    job = json.loads(text)["job"]
    deadline = time.time() + 120
    while True:
        status, text, _ = request(url, "GET", f"/api/jobs/{job}")
        done = json.loads(text)
        if done["state"] in ("done", "failed") or time.time() > deadline:
            break
        time.sleep(0.2)
    assert done["state"] == "done", done
    assert done["kind"] == "ab" and done["voice"] == "tiny-voice"
    assert set(done["files"]) == {"voice", "synth", "spectrograms"}  # FluidSynth hidden: no reference
    assert any("no reference" in w for w in done["warnings"]), done["warnings"]
    for name, kind, magic in (("voice", "audio/wav", b"RIFF"), ("synth", "audio/wav", b"RIFF"),
                              ("spectrograms", "image/png", b"\x89PNG")):
        assert done["files"][name].endswith(f"piece-001.ab-tiny-voice.{name}.{kind.split('/')[1][:3]}")
        status, _, got = request(url, "GET", "/files/out/" + quote(done["files"][name]))
        assert (status, got["type"], got["bytes"]) == (200, kind, magic), name
        assert got["size"] > 2_000, name


def test_compare_refuses_anything_but_a_mid_of_the_output_folder(voice_studio):
    url, studio, root = voice_studio
    run = _run_id(studio)
    mid = _write_midi(studio.out / "chorales" / "job" / "piece-002.mid")
    (mid.parent / "piece-002.wav").write_bytes(b"RIFF")
    outside = _write_midi(root / "voices" / "piece.mid")  # a MIDI file, but under a root, not the output folder
    (studio.out / "chorales" / "job" / "link.mid").symlink_to(outside)
    for bad in ("../runs/voices/piece.mid", str(outside), str(mid), "/etc/passwd", "chorales/job/link.mid",
                "chorales/job/piece-002.wav", "chorales/job/missing.mid", "chorales/job", "",
                "chorales/job/piece-002.mid\x00"):
        status, text, _ = request(url, "POST", "/api/ab", {"run": run, "file": bad, "voice": TINY})
        assert "generated .mid file" in _one_line_400(status, text, bad)
    for bad in ("", "nope", str(root / "voices" / "tiny-voice")):
        status, text, _ = request(url, "POST", "/api/ab", {"run": run, "file": "chorales/job/piece-002.mid",
                                                           "voice": bad})
        _one_line_400(status, text, bad)


@pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Debian chromium + chromium-driver not installed")
def test_compare_sounds_in_the_browser(voice_studio):
    """The page's own result card: "Compare sounds" starts from the form's voice and shows the players and
    the spectrograms (a piece is put on the page as a finished generation would, so nothing is generated)."""
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, studio, _ = voice_studio
    rel = _write_midi(studio.out / "chorales" / "browser" / "piece-003.mid").relative_to(studio.out).as_posix()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--mute-audio",
                "--no-first-run", "--disable-background-networking", "--window-size=1280,1400"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        driver.get(f"{url}/generate?run={_run_id(studio)}")
        Select(driver.find_element(By.ID, "voice")).select_by_value(TINY)
        driver.execute_script("document.getElementById('results').append(resultCard(arguments[0]))",
                              {"name": "piece-003", "valid": None, "metrics": {}, "files": {"mid": rel}})
        card = driver.find_element(By.CSS_SELECTOR, "article.piece")
        assert Select(card.find_element(By.CSS_SELECTOR, "select.compare-voice")).first_selected_option \
            .get_attribute("value") == TINY
        card.find_element(By.CSS_SELECTOR, ".compare-go").click()
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        size = wait.until(lambda d: d.execute_script(
            "const i = document.querySelector('article.piece img.spectrograms');"
            "return i && i.complete && i.naturalWidth > 0 ? i.naturalWidth : null;"))
        assert size > 100
        captions = [f.text for f in card.find_elements(By.CSS_SELECTOR, ".ab-players figcaption")]
        assert captions == ["voice: tiny-voice", "built-in synthesizer"]  # no FluidSynth: no reference player
        duration = wait.until(lambda d: d.execute_script(
            "const a = document.querySelector('article.piece .ab-voice audio');"
            "return a && a.readyState >= 1 && a.duration > 0 ? a.duration : null;"))
        assert duration > 1.5
        assert "no reference" in card.find_element(By.CSS_SELECTOR, ".compare .job-text").text
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "studio-ab-voice.png"))
    finally:
        driver.quit()
