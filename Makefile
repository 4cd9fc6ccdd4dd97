# rnnmusic: `make demo` and `make test` set up everything they need from a fresh clone.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
# abcmidi: abc2midi/midi2abc; fluidsynth + soundfont: audio; libcairo2: sheet-music PNG/PDF (cairosvg);
# chromium + chromium-driver: the studio's browser tests; musescore-general-soundfont-small: the violin the shipped
# `fiddle` voice learned from (bench/voice_quality/make_audio.py), a different SoundFont from the one audio uses.
APT_PACKAGES := abcmidi fluidsynth fluid-soundfont-gm libcairo2 chromium chromium-driver musescore-general-soundfont-small

.PHONY: setup demo test test-fast lint bench clean system-deps

setup: $(VENV)/.installed

# Debian packages: installed when missing and running as root; otherwise the code degrades with a warning.
system-deps:
	@missing=""; \
	command -v abc2midi >/dev/null || missing="$$missing abcmidi"; \
	command -v fluidsynth >/dev/null || missing="$$missing fluidsynth"; \
	[ -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || missing="$$missing fluid-soundfont-gm"; \
	[ -e /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 ] || missing="$$missing musescore-general-soundfont-small"; \
	ldconfig -p 2>/dev/null | grep -q 'libcairo\.so\.2 ' || missing="$$missing libcairo2"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) >/tmp/rnnmusic-apt.log 2>&1 \
	      || echo "warning: apt-get failed (see /tmp/rnnmusic-apt.log); rnnmusic will run degraded"; \
	  else \
	    echo "warning: missing$$missing and not root: ABC->MIDI falls back to music21, audio to the built-in synth," \
	      "sheet PNG/PDF are not written, the studio's browser tests are skipped"; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	@$(MAKE) --no-print-directory system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' ruff
	touch $@

demo: setup
	$(PY) -m rnnmusic.demo

# `make test`: every test (about 10 minutes on 2 cores). `make test-fast`: lint, then the tests not marked slow
# (under 90 s on 2 cores; `@pytest.mark.slow` marks any test over about 5 s).
test: setup
	$(PY) -m pytest -q

test-fast: setup lint
	$(PY) -m pytest -q -m "not slow"

lint: setup
	$(PY) -m ruff check src tests bench

# `make bench BENCH_ARGS=--quick`: a few-minute smoke run writing bench/<question>/results/*-quick.* instead.
# Each question is a folder bench/<question>/ with its README, script and results (bench/README.md lists them).
bench: setup
	$(PY) bench/speed/speed.py $(BENCH_ARGS)
	$(PY) bench/preprocess/preprocess.py $(BENCH_ARGS)
	$(PY) bench/training/training.py $(BENCH_ARGS)
	$(PY) bench/generation/generation.py $(BENCH_ARGS)
	$(PY) bench/precision/precision.py $(BENCH_ARGS)
	$(PY) bench/optimizer/optimizer.py $(BENCH_ARGS)
	$(PY) bench/memory/memory.py $(BENCH_ARGS)
	$(PY) bench/summary/summary.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) runs out build src/*.egg-info
