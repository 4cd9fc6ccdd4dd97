// rnnmusic studio: the little JavaScript the pages need (no library, nothing from the internet).
// Generate page: submit the form, follow the job, show each result. Monitor page: redraw the loss
// curve and the list of training samples every few seconds; "Listen" renders a sample.
"use strict";

const data = JSON.parse((document.getElementById("page-data") || {}).textContent || "{}");
const FORMAT_LABELS = {abc: "ABC", mid: "MIDI", musicxml: "MusicXML", wav: "WAV", svg: "SVG"};
const METRIC_LABELS = {
  pitch_range: "pitch range (semitones)", pitch_class_entropy: "pitch-class entropy (bits)",
  scale_consistency: "scale consistency", groove_consistency: "groove consistency", repeated_bars: "repeated bars",
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

const fileUrl = (rel) => "/files/out/" + rel.split("/").map(encodeURIComponent).join("/");

async function postForm(url, params) {
  const resp = await fetch(url, {method: "POST", body: new URLSearchParams(params),
    headers: {"Content-Type": "application/x-www-form-urlencoded"}});
  const body = await resp.json().catch(() => ({error: `server answered ${resp.status}`}));
  if (!resp.ok || body.error) throw new Error(body.error || `server answered ${resp.status}`);
  return body;
}

function resultCard(item) {
  const f = item.files || {};
  const card = el("article", {class: "piece", "data-name": item.name});
  const badge = item.valid === null ? "" :
    el("span", {class: item.valid ? "badge ok" : "badge bad"}, item.valid ? "valid" : "invalid");
  card.append(el("h3", {}, item.name + " ", badge));
  if (item.problem) card.append(el("p", {class: "problem"}, item.problem));
  if (item.chords) {  // a melody over chords: the key and the chords it was played over
    card.append(el("p", {class: "chords"}, el("b", {}, item.key + ": "), item.chords));
    if (item.chord_tones !== null && item.chord_tones !== undefined)
      card.append(el("p", {class: "chord-tones"},
        `${Math.round(item.chord_tones * 100)}% of the melody's strong-beat notes are chord tones`));
  }
  if (f.wav) card.append(el("audio", {controls: "", preload: "metadata", src: fileUrl(f.wav)}));
  if (f.svg) card.append(el("img", {class: "sheet", alt: `sheet music of ${item.name}`, src: fileUrl(f.svg)}));
  if (f.roll) card.append(el("img", {class: "roll", alt: `piano roll of ${item.name}`, src: fileUrl(f.roll)}));
  const metrics = Object.entries(item.metrics || {});
  if (metrics.length) {
    const dl = el("dl", {class: "metrics"});
    for (const [k, v] of metrics) dl.append(el("dt", {}, METRIC_LABELS[k] || k), el("dd", {}, String(v)));
    card.append(dl);
  }
  const links = el("p", {class: "downloads"}, "Download: ");
  for (const fmt of ["abc", "mid", "musicxml", "wav", "svg"]) {
    if (f[fmt]) links.append(el("a", {href: fileUrl(f[fmt]), download: ""}, FORMAT_LABELS[fmt]), " ");
  }
  card.append(links);
  if (f.mid && (data.voices || []).length) card.append(compareControl(f.mid));
  return card;
}

// A/B: the piece as the SoundFont, a learned voice and the built-in synthesizer play it, with spectrograms.
function compareControl(mid) {
  const box = el("div", {class: "compare"});
  const select = el("select", {class: "compare-voice"}, ...data.voices.map((v) => el("option", {value: v}, v)));
  const button = el("button", {type: "button", class: "compare-go"}, "Compare sounds");
  const note = el("span", {class: "job-text"});
  const shown = el("div", {class: "compare-results"});
  const chosen = document.getElementById("voice");  // start from the voice chosen in the form, if any
  if (chosen && data.voices.includes(chosen.value)) select.value = chosen.value;
  button.addEventListener("click", async () => {
    button.disabled = true;
    note.classList.remove("error");
    try {
      const {job} = await postForm("/api/ab", {run: data.run, file: mid, voice: select.value});
      const final = await follow(job, (s) => { note.textContent = describe(s); });
      if (final.state === "failed" || final.error) throw new Error(final.error);
      note.textContent = (final.warnings || []).join("; ");  // e.g. no FluidSynth: no reference to hear
      const labels = {reference: "reference (SoundFont)", voice: `voice: ${final.voice}`, synth: "built-in synthesizer"};
      const players = Object.entries(labels).filter(([k]) => final.files[k]).map(([k, label]) =>
        el("figure", {class: `ab ab-${k}`}, el("figcaption", {}, label),
          el("audio", {controls: "", preload: "metadata", src: fileUrl(final.files[k])})));
      shown.replaceChildren(el("div", {class: "ab-players"}, ...players),
        el("img", {class: "spectrograms", alt: "spectrograms", src: fileUrl(final.files.spectrograms)}));
    } catch (e) {
      note.textContent = e.message;
      note.classList.add("error");
    } finally {
      button.disabled = false;
    }
  });
  box.append("A/B with a learned voice: ", select, " ", button, " ", note, shown);
  return box;
}

// Follow a job until it is done; `show(status)` is called on every answer.
async function follow(jobId, show) {
  for (;;) {
    const resp = await fetch(`/api/jobs/${encodeURIComponent(jobId)}`);
    const status = await resp.json();
    show(status);
    if (!resp.ok || status.state === "done" || status.state === "failed" || status.error) return status;
    await new Promise((r) => setTimeout(r, 400));
  }
}

function describe(status) {
  if (status.state === "queued") return `waiting in the queue (position ${status.position})`;
  if (status.state === "running") {
    const of = status.total ? ` ${status.done}/${status.total}` : "";
    return `${status.stage}${of} (${status.elapsed} s)`;
  }
  return status.state === "done" ? `done in ${status.elapsed} s` : "";
}

function setupGenerate() {
  const chooser = document.getElementById("model");
  chooser.addEventListener("change", () => {
    window.location.href = "/generate?run=" + encodeURIComponent(chooser.value);
  });
  const form = document.getElementById("generate");
  const bar = document.getElementById("job-bar"), text = document.getElementById("job-text");
  const error = document.getElementById("error"), results = document.getElementById("results");
  const warningsList = document.getElementById("warnings");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const button = document.getElementById("go");
    button.disabled = true;
    try {
      const {job} = await postForm("/api/generate", new FormData(form));
      document.getElementById("job").hidden = false;
      const final = await follow(job, (s) => {
        text.textContent = describe(s);
        bar.value = s.state === "done" ? 1 : s.total ? (s.done + 0.5) / (s.total + 1) : 0.05;
      });
      if (final.state === "failed" || final.error) throw new Error(final.error);
      results.replaceChildren(...final.items.map(resultCard));
      warningsList.replaceChildren(...(final.warnings || []).map((w) => el("li", {}, w)));
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}

function drawChart(svg, rows) {
  const W = 640, H = 300, L = 50, R = 10, T = 10, B = 30;
  svg.replaceChildren();
  const ns = "http://www.w3.org/2000/svg";
  const make = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  const series = [["train_loss", "train"], ["valid_loss", "valid"]];
  const values = rows.flatMap((r) => series.map(([k]) => r[k]).filter((v) => Number.isFinite(v)));
  if (!rows.length || !values.length) {
    make("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no finished epoch yet");
    return;
  }
  const maxE = Math.max(1, ...rows.map((r) => r.epoch));
  let lo = Math.min(...values), hi = Math.max(...values);
  if (hi - lo < 1e-6) { lo -= 0.5; hi += 0.5; }
  const x = (e) => L + (W - L - R) * (maxE === 1 ? 0.5 : (e - 1) / (maxE - 1));
  const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  make("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis"});
  make("line", {x1: L, y1: T, x2: L, y2: H - B, class: "axis"});
  for (const v of [lo, (lo + hi) / 2, hi]) make("text", {x: L - 4, y: y(v) + 4, "text-anchor": "end", class: "tick"}, v.toFixed(2));
  make("text", {x: (L + W) / 2, y: H - 6, "text-anchor": "middle", class: "tick"}, `epoch (1 to ${maxE})`);
  for (const [k, cls] of series) {
    const pts = rows.filter((r) => Number.isFinite(r[k])).map((r) => `${x(r.epoch).toFixed(1)},${y(r[k]).toFixed(1)}`);
    if (pts.length) make("polyline", {points: pts.join(" "), class: `line ${cls}`, "data-points": pts.length});
    for (const p of pts) { const [cx, cy] = p.split(","); make("circle", {cx, cy, r: 2.5, class: `dot ${cls}`}); }
  }
}

function setupMonitor() {
  const svg = document.getElementById("chart"), list = document.getElementById("samples");
  const status = document.getElementById("status");
  const shown = new Set();
  async function refresh() {
    const resp = await fetch(`/api/runs/${data.run.split("/").map(encodeURIComponent).join("/")}`);
    if (!resp.ok) return;
    const run = await resp.json();
    drawChart(svg, run.loss);
    const best = run.best_valid === null ? "-" : `${run.best_valid.toFixed(3)} nats`;
    const state = run.training ? "training" : run.done ? `finished (${run.done})` : "stopped (resumable)";
    status.textContent = `${state}: epoch ${run.epochs} of ${run.epochs_planned}, best validation ${best}`;
    for (const file of run.samples) {
      if (shown.has(file)) continue;
      shown.add(file);
      const box = el("div", {class: "sample-results"});
      const note = el("span", {class: "job-text"});
      const button = el("button", {type: "button", class: "listen"}, "Listen");
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const {job} = await postForm("/api/render", {run: data.run, file});
          const final = await follow(job, (s) => { note.textContent = describe(s); });
          if (final.state === "failed" || final.error) throw new Error(final.error);
          box.replaceChildren(...final.items.map(resultCard));
        } catch (e) {
          note.textContent = e.message;
          note.classList.add("error");
          button.disabled = false;
        }
      });
      list.append(el("li", {"data-file": file}, el("code", {}, file), " ", button, " ", note, box));
    }
  }
  refresh();
  setInterval(refresh, 3000);
}

if (data.page === "generate") setupGenerate();
if (data.page === "monitor") setupMonitor();
