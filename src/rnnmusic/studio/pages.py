"""The studio's HTML: three server-rendered pages (models, generate, training monitor) and an error page.

Everything interpolated is escaped; data the page script needs travels as JSON in a non-executed
<script type="application/json"> element. The script and style sheet are files of this package
(static/), served by the studio itself: no CDN, nothing fetched from the internet.
"""
from __future__ import annotations

import datetime
import json
from collections.abc import Sequence
from html import escape
from typing import Any

from ..config import TEMPERATURE
from .catalog import RunSummary
from .params import default_length


def _data(obj: Any) -> str:
    text = json.dumps(obj).replace("</", "<\\/")
    return f'<script type="application/json" id="page-data">{text}</script>'


def layout(title: str, body: str, data: Any = None) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - rnnmusic studio</title>
<link rel="stylesheet" href="/static/studio.css"></head>
<body><header><a class="brand" href="/">rnnmusic studio</a><nav><a href="/">Models</a></nav></header>
<main>{body}</main>
{_data(data) if data is not None else ""}
<script src="/static/studio.js"></script>
</body></html>
"""


def _when(t: float) -> str:
    return datetime.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if t else "-"


def _loss(s: RunSummary) -> str:
    if s.best_valid is None:
        return "-"
    return f"{s.best_valid:.3f} nats<br><small>{s.best_bits:.3f} bits/{escape(s.unit)}</small>"


def _status(s: RunSummary) -> str:
    if s.problem:
        return f'<span class="bad">{escape(s.problem)}</span>'
    if s.training:
        return '<span class="live">training</span>'
    return escape(f"finished ({s.done})") if s.done else "stopped (resumable)"


def models_page(runs: Sequence[RunSummary], roots: Sequence[str]) -> str:
    if not runs:
        body = (f"<h1>Models</h1><p>No run directories under {escape(', '.join(roots))}. Train one with "
                "<code>rnnmusic train --out runs/NAME</code> or run <code>make demo</code>.</p>")
        return layout("Models", body)
    rows = []
    for s in runs:
        curve = (f'<img class="thumb" alt="loss curve of {escape(s.name)}" loading="lazy" '
                 f'src="/files/{escape(s.id)}/{escape(s.loss_png)}">' if s.loss_png else "")
        rows.append(f"""<tr><td><b>{escape(s.name)}</b><br><small>{escape(s.id)}</small></td>
<td>{escape(s.encoding)}</td><td>{escape(s.model)}<br><small>{s.params:,} parameters</small></td>
<td>{s.epochs} / {s.epochs_planned}</td><td>{_loss(s)}</td><td>{_status(s)}<br><small>{_when(s.updated)}</small></td>
<td>{curve}</td>
<td class="actions"><a class="button" href="/generate?run={escape(s.id)}">Generate</a>
<a href="/monitor?run={escape(s.id)}">Training monitor</a></td></tr>""")
    body = f"""<h1>Models</h1><p>{len(runs)} run(s) under {escape(", ".join(roots))}.</p>
<table class="runs"><thead><tr><th>Run</th><th>Encoding</th><th>Model</th><th>Epochs</th><th>Best validation</th>
<th>Status</th><th>Loss curve</th><th></th></tr></thead><tbody>{"".join(rows)}</tbody></table>"""
    return layout("Models", body)


def _choice(name: str, label: str, options: Sequence[str] | None, hint: str) -> str:
    if options:
        opts = '<option value="">(as the model likes)</option>' + "".join(
            f'<option value="{escape(o)}">{escape(o)}</option>' for o in options)
        field = f'<select name="{name}" id="{name}">{opts}</select>'
    else:
        field = f'<input name="{name}" id="{name}" placeholder="{escape(hint)}">'
    return f'<label>{label} {field}</label>'


def _folk_fields() -> str:
    """An abc-folk model's requests: tune type, parts and bars per part (key and meter as for any ABC model)."""
    from ..encodings.abc_form import TYPES

    return (_choice("tune_type", "Type", list(TYPES), "reel")
            + '<label>Parts <input name="parts" id="parts" type="number" min="1" max="5" placeholder="2"></label>'
            + '<label>Bars per part <select name="bars_per_part" id="bars_per_part"><option value="">(as the model '
              'likes)</option><option>8</option><option>16</option></select></label>')


def _lead_fields(limits: dict[str, Any]) -> str:
    """A lead-sheet model's controls: the chords (empty: the model proposes them), bars, meter, swing and
    the accompaniment."""
    b_lo, b_hi = limits["bars"]
    s_lo, s_hi = limits["swing"]
    accompaniments = "".join(f'<option value="{a}">{a}</option>' for a in limits["accompaniments"])
    return (f'<label class="wide">Chords<textarea name="chords" id="chords" rows="2" maxlength="{limits["chords"]}" '
            'placeholder="Dm7 G7 | Cmaj7 | A7 | Dm7 G7 (bar lines |, repeats |: :|, % repeats a bar); '
            'empty: the model proposes chords"></textarea></label>'
            f'<label>Bars <input name="bars" id="bars" type="number" min="{b_lo}" max="{b_hi}" '
            'placeholder="auto" title="the progression\'s length, or 16 bars"></label>'
            '<label>Meter <input name="meter" id="meter" placeholder="4/4"></label>'
            f'<label>Swing <input name="swing" id="swing" type="number" step="0.01" min="{s_lo}" max="{s_hi}" '
            'value="0.5"></label>'
            f'<label>Accompaniment <select name="accompaniment" id="accompaniment">{accompaniments}</select></label>')


def generate_page(s: RunSummary, limits: dict[str, Any], keys: Sequence[str] | None,
                  meters: Sequence[str] | None, runs: Sequence[tuple[str, str]] = (),
                  voices: Sequence[str] = ()) -> str:
    """The generate form for run `s`; `runs` ((id, name) of every run) fill the model chooser, `voices` (ids of
    the learned voices) the audio chooser and each result's A/B comparison."""
    abc, lead = s.piece_format == "abc", s.kind == "lead"
    lo, hi = limits["length"]
    tempo = (f'<label>Tempo <input name="tempo" id="tempo" type="number" min="{limits["tempo"][0]}" '
             f'max="{limits["tempo"][1]}" placeholder="corpus tempo"></label>')
    if lead:
        extra = (
            _lead_fields(limits)
            + '<label>Key <input name="key" id="key" placeholder="from the chords"></label>'
            + tempo
        )
    elif abc:
        extra = _folk_fields() if s.encoding == "abc-folk" else ""
        extra += (
            _choice("key", "Key", keys, "G, Em, Ador")
            + _choice("meter", "Meter", meters, "6/8")
            + '<label class="wide">Prime (ABC opening)<textarea name="prime" id="prime" rows="2" '
            f'maxlength="{limits["prime"]}" placeholder="e.g. L:1/8 then a bar of notes"></textarea></label>'
        )
    else:
        extra = '<label>Key <input name="key" id="key" placeholder="G, Em, Bb major"></label>' + tempo
    unit = "frames" if s.kind == "frames" else "tokens"
    length = (
        ""
        if lead
        else f"""<label>Length ({unit}) <input name="length" id="length" type="number" min="{lo}" max="{hi}"
 value="{default_length(s.kind)}"></label>"""
    )
    only_valid = (
        ""
        if lead
        else """<label class="check"><span><input type="checkbox" name="only_valid" id="only_valid" checked>
 only valid pieces</span>
<small>draws more until the count pass the checks</small></label>"""
    )
    chooser = "".join(
        f'<option value="{escape(i)}"{" selected" if i == s.id else ""}>{escape(n)} ({escape(i)})</option>'
        for i, n in runs
    )
    body = f"""<h1>Generate with {escape(s.name)}</h1>
<label class="model-chooser">Model <select id="model">{chooser}</select></label>
<p class="facts">{escape(s.encoding)} &middot; {escape(s.model)} &middot; {s.params:,} parameters &middot;
epoch {s.epochs} &middot; best validation {_loss(s)}</p>
<form id="generate" class="controls" autocomplete="off">
<input type="hidden" name="run" value="{escape(s.id)}">
<label>Count <input name="count" id="count" type="number" min="1" max="{limits["count"]}" value="2"></label>
{length}
<label>Temperature <input name="temperature" id="temperature" type="number" step="0.05" min="0.05" max="5"
 value="{TEMPERATURE}"></label>
<label>Top-p <input name="top_p" id="top_p" type="number" step="0.01" min="0.05" max="1" value="1"></label>
<label>Seed <input name="seed" id="seed" type="number" min="0" value="0"></label>
{extra}
{_voice_field(voices)}
{only_valid}
<button type="submit" id="go">Generate</button>
</form>
<div id="job" class="job" hidden><progress id="job-bar" max="1" value="0"></progress> <span id="job-text"></span></div>
<p id="error" class="error" role="alert" hidden></p>
<ul id="warnings" class="warnings"></ul>
<section id="results" class="results"></section>"""
    return layout(f"Generate - {s.name}", body, {"page": "generate", "run": s.id, "voices": list(voices)})


def _voice_field(voices: Sequence[str]) -> str:
    """The audio chooser: the SoundFont, or a learned voice (`rnnmusic.voice`)."""
    if not voices:
        return ""
    options = "".join(f'<option value="{escape(v)}">voice: {escape(v)}</option>' for v in voices)
    return ('<label>Voice <select name="voice" id="voice"><option value="">SoundFont (default)</option>'
            f'{options}</select></label>')


def monitor_page(s: RunSummary) -> str:
    body = f"""<h1>Training monitor: {escape(s.name)}</h1>
<p class="facts">{escape(s.encoding)} &middot; {escape(s.model)} &middot; {s.params:,} parameters &middot;
<a href="/generate?run={escape(s.id)}">Generate</a></p>
<p id="status" class="status">{_status(s)}: epoch {s.epochs} of {s.epochs_planned}, best validation {_loss(s)}</p>
<figure><svg id="chart" class="chart" viewBox="0 0 640 300" role="img" aria-label="loss curve"></svg>
<figcaption>Loss per {escape(s.unit)} (nats): <span class="train-key">training</span>,
<span class="valid-key">validation</span>. Updates by itself while the run trains.</figcaption></figure>
<h2>Samples written during training</h2>
<p>Each epoch's samples, oldest first. Listen renders them (audio, sheet music, piano roll).</p>
<ul id="samples" class="samples"></ul>"""
    return layout(f"Monitor - {s.name}", body, {"page": "monitor", "run": s.id})


def error_page(status: int, message: str) -> str:
    return layout(
        f"Error {status}",
        f'<h1>Error {status}</h1><p class="error">{escape(message)}</p><p><a href="/">Back to the models</a></p>',
    )
