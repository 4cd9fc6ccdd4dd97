"""The command line's flags: one parser per command (`rnnmusic COMMAND --help`)."""
from __future__ import annotations

import argparse

from ..config import CELLS, OPTIMIZERS, PRECISIONS, SCHEDULES, ModelConfig, TrainConfig
from ..encodings import ENCODINGS
from . import commands


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    d, m = TrainConfig(), ModelConfig()
    g = p.add_argument_group("data")
    g.add_argument("--preset", help="start from a named configuration (see `rnnmusic presets`); flags override it")
    g.add_argument("--corpus", action="append", metavar="NAME|PATH",
                   help="built-in corpus name (see `rnnmusic corpus list`), file (.abc .mid .xml .mxl .krn), "
                        "directory or glob; repeatable")
    g.add_argument("--encoding", choices=sorted(ENCODINGS), help=f"default {d.encoding}")
    g.add_argument("--max-tunes", "--max-pieces", dest="max_tunes", type=int, help="use at most this many tunes/pieces")
    g.add_argument("--tracks", help="MIDI: tracks to merge: a family (piano, strings, ...), indices '0,2', "
                                    "'program:40' or 'name:violin'; default all but drums")
    g.add_argument("--grid",
                   help="notes/pianoroll/events: steps per quarter note (1, 2, 4, 12) or quarter|eighth|sixteenth")
    g.add_argument("--no-onsets", dest="onsets", action="store_const", const=False,
                   help="pianoroll: no onset channel (repeated notes merge into held ones)")
    g.add_argument("--min-count", type=int, help="token encodings: tokens seen fewer times become <unk>")
    g.add_argument("--scheme", choices=("midilike", "remi"),
                   help="events: MIDI-Like time shifts (default) or REMI bars and positions")
    g.add_argument("--normalize-key", action="store_const", const=True,
                   help="MIDI side: transpose every piece to C major / A minor before training")
    g.add_argument("--augment-keys", type=int, metavar="N",
                   help="MIDI side: add a copy of each training piece transposed by up to +/-N semitones")
    g.add_argument("--no-chords", dest="keep_chords", action="store_const", const=False, help="drop chord symbols")
    g.add_argument("--valid-fraction", type=float, help=f"default {d.valid_fraction}")
    g.add_argument("--split-seed", type=int, help=f"train/validation split seed, default {d.split_seed}")
    g = p.add_argument_group("model")
    g.add_argument("--cell", choices=CELLS, help=f"default {m.cell}")
    g.add_argument("--layers", type=int, help=f"default {m.layers}")
    g.add_argument("--hidden", type=int, help=f"default {m.hidden}")
    g.add_argument("--embed", type=int, help=f"default {m.embed}")
    g.add_argument("--dropout", type=float, help=f"default {m.dropout}")
    g.add_argument("--head", choices=["softmax", "sigmoid", "nade", "mse"],
                   help="output head: softmax (tokens); sigmoid (default), nade or mse (pianoroll frames)")
    g.add_argument("--attention", type=int, metavar="N", help="attend over the last N hidden states (default off)")
    g.add_argument("--nade-hidden", type=int, help=f"hidden units of the NADE head, default {m.nade_hidden}")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=int, help=f"default {d.epochs}")
    g.add_argument("--batch-size", type=int, help=f"default {d.batch_size}")
    g.add_argument("--seq-len", type=int, help=f"truncated-BPTT length, default {d.seq_len}")
    g.add_argument("--many-to-one", action="store_true",
                   help="many-to-one training (Classical-Piano-Composer): each window of --window steps (default 100) "
                        "predicts the next step")
    g.add_argument("--window", type=int, help="many-to-one window length")
    g.add_argument("--window-stride", type=int, help="many-to-one: start a window every N steps (default 1)")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {d.optimizer}")
    g.add_argument("--lr", type=float, help=f"default {d.lr}")
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--grad-clip", type=float, help=f"max gradient norm, 0 = off; default {d.grad_clip}")
    g.add_argument("--lr-schedule", choices=SCHEDULES, help=f"default {d.lr_schedule}")
    g.add_argument("--warmup-steps", type=int)
    g.add_argument("--lr-patience", type=int,
                   help=f"plateau schedule: halve the learning rate after this many epochs without improvement "
                        f"(and again after as many more); default {d.lr_patience}")
    g.add_argument("--patience", type=int, help=f"early-stopping patience in epochs, 0 = off; default {d.patience}")
    g = p.add_argument_group("checkpoints, samples, budget")
    g.add_argument("--checkpoint-minutes", type=float,
                   help=f"mid-epoch checkpoint interval, default {d.checkpoint_minutes}")
    g.add_argument("--checkpoint-steps", type=int, help="also checkpoint every N steps")
    g.add_argument("--keep-checkpoints", type=int, help=f"default {d.keep_checkpoints}")
    g.add_argument("--sample-every", type=int,
                   help=f"write sample tunes every N epochs, 0 = off; default {d.sample_every}")
    g.add_argument("--sample-count", type=int)
    g.add_argument("--seed", type=int, help=f"default {d.seed}")
    g.add_argument("--deterministic", action="store_const", const=True,
                   help="bit-identical results across interruptions (one thread, deterministic kernels)")
    g.add_argument("--threads", type=int, help="torch CPU threads")
    g.add_argument("--device", help="auto (default: a CUDA GPU when torch sees one, else the CPU), cpu, cuda or cuda:N")
    g.add_argument("--precision", choices=PRECISIONS,
                   help="fp32 (default), or bf16/fp16 autocast of the forward pass (weights and checkpoints stay fp32)")
    g.add_argument("--max-minutes", type=float, help="stop (resumably) after this many minutes of training")
    g.add_argument("--max-steps", type=int, help="stop (resumably) at this global step")
    if p.prog.split()[-1] == "train":
        g = p.add_argument_group("several processes")
        g.add_argument("--nproc", type=int, metavar="N",
                       help="data-parallel training in N processes on this machine (torchrun; gloo on CPU, NCCL "
                            "on GPUs); --batch-size stays the global batch and must be divisible by N")
        p.set_defaults(_parser=p)


def build_parser() -> argparse.ArgumentParser:
    """Every command's flags; each command's function is in `cli.commands`."""
    ap = argparse.ArgumentParser(prog="rnnmusic", description="Learn music with recurrent networks; write new music.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model (or --resume one)")
    p.add_argument("--out", help="new run directory")
    p.add_argument("--resume", metavar="RUN", help="continue this run from its newest good checkpoint")
    p.add_argument("--init-from", metavar="MODEL|RUN",
                   help="fine-tune: start from a shipped model (`rnnmusic models`) or a run directory: its weights, "
                        "encoding and shape; --corpus tokens it lacks are added to its vocabulary (rnnmusic.finetune)")
    _add_train_flags(p)
    p.set_defaults(func=commands.cmd_train)

    p = sub.add_parser("generate", help="generate tunes from a trained run")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--count", type=int, help="pieces to write (default 5)")
    p.add_argument("--temperature", type=float, help="default 0.9 (chorale models 0.8, lead-sheet models 0.6)")
    p.add_argument("--top-k", type=int, help="keep the k most likely tokens (default 0: all)")
    p.add_argument("--top-p", type=float, help="nucleus sampling (default 1: all)")
    p.add_argument("--seed", type=int, help="default 0")
    p.add_argument("--prime", help=r"opening of every tune, e.g. 'M:6/8\nK:G\n'")
    p.add_argument("--max-length", type=int, help="max tokens per piece (default 1000), frames for pianoroll (256)")
    p.add_argument("--repetition-penalty", type=float,
                   help="token encodings: > 1 discourages tokens used in the last --repetition-window steps")
    p.add_argument("--repetition-window", type=int, help="default 16")
    p.add_argument("--prime-file", help="start every piece with the opening of this .mid/.abc/.xml/.krn file")
    p.add_argument("--prime-bars", type=float, help="bars of --prime-file to use (default 4)")
    p.add_argument("--key", help="MIDI side: write the output in this key (G, Em, Bb major, F# minor); abc-folk "
                   "models: the tune's key with its mode (D, Dmix, Ador, Edor, Gm)")
    p.add_argument("--tempo", type=float, help="MIDI side: quarter notes per minute (default: the corpus' median)")
    p.add_argument("--out", help="output folder (default RUN/generated; out/NAME for a shipped model)")
    g = p.add_argument_group("requests (abc-folk models, such as the shipped folk)")
    g.add_argument("--type", help="tune type: reel, jig, slip-jig, hornpipe, polka, slide, waltz, march, air")
    g.add_argument("--parts", type=int, help="number of parts (sections), e.g. 2 for AABB")
    g.add_argument("--bars-per-part", type=int, help="bars in each part: 8 or 16")
    p.add_argument("--formats", help="comma list of abc, mid, wav, flac, musicxml, svg, png, pdf (svg/png/pdf: "
                                     "sheet music), roll (piano-roll picture NAME.roll.png), as `rnnmusic render` "
                                     "writes them; default abc,mid (ABC encodings), mid,wav,roll (MIDI side, "
                                     "where abc is a midi2abc transcription)")
    p.add_argument("--only-valid", action="store_true", help="draw more until COUNT valid tunes (bounded)")
    p.add_argument("--no-bar-guard", dest="constrain", action="store_false",
                   help="sample freely, without the encoding's guard (abc-tokens: bars no longer than the meter; "
                        "satb: ranges, voice leading, no copies, a cadence at the end; "
                        "keyboard: ranges, a cadence at the end)")
    p.add_argument("--min-bars", type=float,
                   help="pieces with fewer bars count as invalid fragments (default 8; MIDI side: 4); "
                        "chorales end at their first cadence after this many (default 12), "
                        "keyboard pieces (piano) too (default 16)")
    p.add_argument("--soundfont", help="General MIDI .sf2 for WAV/FLAC (default: FluidR3 found automatically)")
    p.add_argument("--program", metavar="SPEC",
                   help="General MIDI programs: 40 for every track, or 1=73,2=40 by track number (from 1); "
                        "default: fiddle (40) for ABC, the corpus' for MIDI")
    p.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                   help="skip the musical-metrics report (OUT/evaluation.md/.html/.png)")
    g = p.add_argument_group("melody over chords (models trained with --encoding lead)")
    g.add_argument("--chords", metavar="PROGRESSION",
                   help='chord progression, e.g. "Dm7 G7 | Cmaj7 | A7 | Dm7 G7" (bar lines |, repeats |: :|, '
                        '%% = previous bar, . = previous chord for one slot, N.C.), or a file holding one; '
                        "without it the model proposes the chords")
    g.add_argument("--bars", type=int, help="bars to generate (the progression is looped or cut; default: the "
                                            "progression's length, or 16)")
    g.add_argument("--swing", type=float, help="swing ratio of the off-beat eighths in MIDI/WAV: "
                                                            "0.5 straight (default) .. 2/3 triplet swing .. 0.75")
    g.add_argument("--accompaniment", help="comp (piano comping + walking bass, default), "
                                                           "block (block chords), bass, none")
    g.add_argument("--meter", help="time signature of the progression, e.g. 3/4 (default: the corpus' usual); "
                   "for abc-folk models the tune's meter (M:)")
    _add_voice_flags(p)
    _add_reference_flags(p)
    p.set_defaults(func=commands.cmd_generate)

    p = sub.add_parser("render", help="ABC, MIDI or MusicXML files to audio, sheet music, piano rolls, MIDI, MusicXML")
    p.add_argument("files", nargs="+", metavar="FILE", help=".abc (every tune), .mid, .musicxml/.xml/.mxl, .krn (kern)")
    p.add_argument("--to", default="wav,svg,png,roll",
                   help="comma list of mid, wav, flac (audio), musicxml, svg, png, pdf (sheet music: SVG pages, "
                        "PNG pictures of them, one PDF), abc, roll (piano-roll picture NAME.roll.png); "
                        "default wav,svg,png,roll: audio, sheet music, piano roll")
    p.add_argument("--out", default="out/render", help="output folder (default out/render)")
    p.add_argument("--soundfont", help="General MIDI .sf2 for WAV/FLAC (default: FluidR3 found automatically)")
    p.add_argument("--program", metavar="SPEC",
                   help="General MIDI programs of the MIDI (and so the audio): 40 for every track, or 1=73,2=40 by "
                        "track number (from 1); default: fiddle (40) for ABC, a MIDI file's own, piano (0) for a "
                        "MusicXML part naming no instrument")
    p.add_argument("--sample-rate", type=int, default=44100,
                   help="WAV/FLAC sample rate in Hz (8000..96000, default 44100)")
    _add_voice_flags(p)
    p.set_defaults(func=commands.cmd_render)

    _add_voice_parser(sub)

    p = sub.add_parser("evaluate", help="musical metrics of pieces (MIDI, ABC, MusicXML), against a reference corpus")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs of generated pieces")
    p.add_argument("--out", help="folder for evaluation.{md,html,json,png} (default: next to the first PATH)")
    _add_reference_flags(p)
    p.set_defaults(func=commands.cmd_evaluate)

    p = sub.add_parser("benchmark",
                       help="polyphonic benchmark (Boulanger-Lewandowski 2012): train, early-stop, test NLL")
    p.add_argument("suite", choices=["polyphonic"])
    p.add_argument("--dataset", required=True, help="jsb, nottingham, musedata or piano")
    p.add_argument("--data", required=True, metavar="FOLDER", help="folder holding the benchmark pickles")
    p.add_argument("--out", required=True, help="run directory (resumed when it already holds the run)")
    _add_train_flags(p)
    p.set_defaults(func=commands.cmd_benchmark)

    p = sub.add_parser("models", help="list the shipped models and their cards (or --export a run as one)")
    p.add_argument("--export", nargs=2, metavar=("RUN", "NAME"), help="write RUN's best weights (fp16) as model NAME")
    p.add_argument("--card", metavar="CARD.json", help="with --export: the model card (JSON)")
    p.add_argument("--into", metavar="FOLDER", help="with --export: parent folder (default: the package's models/)")
    p.set_defaults(func=commands.cmd_models)

    p = sub.add_parser("presets", help="list the named presets (classic systems: char-RNN folk, "
                                       "Classical-Piano-Composer, deepjazz ...)")
    p.set_defaults(func=commands.cmd_presets)

    p = sub.add_parser("corpus", help="list built-in corpora or show one")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("names", nargs="*", metavar="NAME|PATH")
    p.add_argument("--tracks", help="MIDI: tracks to merge (as for train)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=commands.cmd_corpus)

    p = sub.add_parser("info", help="describe a run directory")
    p.add_argument("run", metavar="RUN")
    p.set_defaults(func=commands.cmd_info)

    p = sub.add_parser("serve", help="the web studio: browse models, generate and listen, watch training")
    p.add_argument("--root", action="append", metavar="FOLDER",
                   help="folder holding run directories (repeatable; default ./runs)")
    p.add_argument("--out", default="out/studio", help="folder for generated results (default out/studio)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--workers", type=int, default=2, help="generation jobs run at once (1..8, default 2)")
    p.set_defaults(func=commands.cmd_serve)
    return ap


def _add_voice_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("learned voice (audio played by a voice trained on recordings; see `rnnmusic models`)")
    g.add_argument("--voice", metavar="NAME|PATH", help="play WAV/FLAC with this voice (a shipped voice's name, or a "
                                                       "voice directory from `rnnmusic voice train`) instead of a "
                                                       "SoundFont")
    g.add_argument("--voice-lines", type=int, metavar="N",
                   help="polyphony: play up to N lines, each with its own instance of the voice (default 4; "
                        "1: the top line only)")
    g.add_argument("--perform", metavar="KEY=VALUE,...",
                   help="how the voice plays the notes: attack_s, release_s, legato_gap_s, articulation_db, "
                        "glide_s, vibrato_cents, vibrato_hz, vibrato_delay_s, level_db, velocity_db")


def _add_voice_parser(sub) -> None:
    from ..voice.network import VoiceConfig
    from ..voice.training import VoiceTrainConfig

    v, t = VoiceConfig(), VoiceTrainConfig()
    p = sub.add_parser("voice", help="learned voices: train one on recordings of an instrument, play audio with it")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("train", help="learn an instrument's sound from WAV/FLAC/OGG of it played solo")
    a.add_argument("recordings", nargs="*", metavar="RECORDING", help="audio files of one monophonic instrument")
    a.add_argument("--out", required=True, help="the voice's run directory")
    a.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    a.add_argument("--init-from", metavar="NAME|PATH",
                   help="fine-tune: start from this voice's weights and network settings (e.g. the shipped fiddle)")
    a.add_argument("--steps", type=int, default=t.steps, help=f"optimizer steps (default {t.steps})")
    a.add_argument("--batch", type=int, default=t.batch, help=f"clips per step (default {t.batch})")
    a.add_argument("--clip-s", type=float, default=t.clip_s, help=f"seconds per clip (default {t.clip_s})")
    a.add_argument("--lr", type=float, default=t.lr, help=f"Adam learning rate, decaying to a tenth (default {t.lr})")
    a.add_argument("--seed", type=int, default=t.seed)
    a.add_argument("--checkpoint-every", type=int, default=t.checkpoint_every,
                   help=f"validate and checkpoint every N steps (default {t.checkpoint_every})")
    a.add_argument("--hidden", type=int, default=v.hidden, help=f"GRU and MLP width (default {v.hidden})")
    a.add_argument("--harmonics", type=int, default=v.n_harmonics, help=f"default {v.n_harmonics}")
    a.add_argument("--noise-bands", type=int, default=v.n_noise_bands, help=f"default {v.n_noise_bands}")
    a.add_argument("--reverb-s", type=float, default=v.reverb_s, help=f"learned room, seconds (default {v.reverb_s})")
    a.add_argument("--sample-rate", type=int, default=v.sample_rate, help=f"default {v.sample_rate}")
    a.add_argument("--fmin", type=float, default=v.fmin, help=f"lowest pitch tracked, Hz (default {v.fmin})")
    a.add_argument("--fmax", type=float, default=v.fmax, help=f"highest pitch tracked, Hz (default {v.fmax})")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a = actions.add_parser("resynth", help="play a recording's pitch and loudness with a voice (timbre transfer)")
    a.add_argument("recording", metavar="RECORDING")
    a.add_argument("--voice", required=True, metavar="NAME|PATH")
    a.add_argument("--out", required=True, metavar="OUT.wav")
    a.add_argument("--transpose", type=int, default=0, help="semitones (default 0)")
    a = actions.add_parser("compare", help="A/B: a MIDI file played by the SoundFont, by the voice and by the "
                                           "built-in synthesizer, with their spectrograms")
    a.add_argument("midi", metavar="FILE.mid")
    a.add_argument("--voice", required=True, metavar="NAME|PATH")
    a.add_argument("--out", default="out/compare", help="folder (default out/compare)")
    a.add_argument("--soundfont", help="the reference's SoundFont (default: FluidR3 found automatically)")
    a = actions.add_parser("export", help="write a trained voice's best weights (fp16) as a shipped voice")
    a.add_argument("run", metavar="RUN")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--card", required=True, metavar="CARD.json")
    a.add_argument("--into", metavar="FOLDER", help="parent folder (default: the package's models/)")
    p.set_defaults(func=commands.cmd_voice)


def _add_reference_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", action="append", metavar="NAME|PATH",
                   help="corpus to compare with and search for copies: a corpus name, files, or a run directory "
                        "(its training corpus); repeatable")
    p.add_argument("--reference-max", type=int, default=300,
                   help="compare with a random sample of this many reference pieces (300; seeded: the same each time)")
    p.add_argument("--max-copy-bars", type=float, default=4.0,
                   help="flag pieces copying a longer run from a reference piece (bars, default 4)")
