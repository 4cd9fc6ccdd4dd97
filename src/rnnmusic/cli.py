"""The `rnnmusic` command: thin flag parsing over the library. User errors end in one line, never a traceback."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from .config import CELLS, OPTIMIZERS, PRECISIONS, SCHEDULES, ModelConfig, TrainConfig
from .encodings import ENCODINGS
from .errors import UserError


def _sources(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        # names may be comma-separated ("essen,oneills"); paths are taken whole
        out += [s for s in v.split(",") if s] if "," in v and not Path(v).exists() else [v]
    return out


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
    g.add_argument("--grid", help="notes/pianoroll/events: steps per quarter note (1, 2, 4, 12) or quarter|eighth|sixteenth")
    g.add_argument("--no-onsets", dest="onsets", action="store_const", const=False,
                   help="pianoroll: no onset channel (repeated notes merge into held ones)")
    g.add_argument("--min-count", type=int, help="token encodings: tokens seen fewer times become <unk>")
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
                   help="founding training mode: each window of --window steps (default 100) predicts the next step")
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
    g.add_argument("--checkpoint-minutes", type=float, help=f"mid-epoch checkpoint interval, default {d.checkpoint_minutes}")
    g.add_argument("--checkpoint-steps", type=int, help="also checkpoint every N steps")
    g.add_argument("--keep-checkpoints", type=int, help=f"default {d.keep_checkpoints}")
    g.add_argument("--sample-every", type=int, help=f"write sample tunes every N epochs, 0 = off; default {d.sample_every}")
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


def _overrides(args: argparse.Namespace, cls: type) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names and v is not None}


def _train_settings(args: argparse.Namespace) -> tuple[dict, dict]:
    """Model and training overrides from the flags (the preset underneath, flags winning)."""
    from .presets import apply_preset, get_preset

    tcfg, mcfg = _overrides(args, TrainConfig), _overrides(args, ModelConfig)
    opts = {k: v for k, v in (("grid", args.grid), ("onsets", args.onsets), ("min_count", args.min_count))
            if v is not None}
    if opts:
        tcfg["encoding_options"] = opts
    preset_window = get_preset(args.preset).train.get("window", 0) if args.preset else 0  # many-to-one presets
    if args.window is not None and not (args.many_to_one or preset_window):
        raise UserError("--window sets the many-to-one window: use it with --many-to-one")
    if args.many_to_one or args.window is not None:
        tcfg["window"] = args.window if args.window is not None else preset_window or 100
    if args.corpus:
        tcfg["corpus"] = _sources(args.corpus)
    mcfg, tcfg = apply_preset(args.preset, mcfg, tcfg)
    if tcfg.get("encoding") == "lead" and "corpus" not in tcfg:
        tcfg["corpus"] = ["lead-sheets"]  # built-in lead sheets (the default ABC corpus has no chords)
    if "encoding_options" in tcfg:
        from .encodings import get_encoding

        enc_name = tcfg.get("encoding", TrainConfig().encoding)
        enc = get_encoding(enc_name)
        allowed = set(enc.defaults) | ({"min_count"} if enc.kind != "frames" else set())
        bad = set(tcfg["encoding_options"]) - allowed
        if bad:
            flags = ", ".join("--" + b.replace("_", "-").replace("onsets", "no-onsets") for b in sorted(bad))
            raise UserError(f"{flags} does not apply to the {enc_name} encoding")
    if args.preset:
        tcfg["preset"] = args.preset
    return mcfg, tcfg


def _worker_argv(args: argparse.Namespace) -> list[str]:
    """The `train` command line that `args` was parsed from, without --nproc (for the worker processes)."""
    argv = ["train"]
    for action in args._parser._actions:
        if not action.option_strings or action.dest in ("help", "nproc"):
            continue
        value, flag = getattr(args, action.dest, None), action.option_strings[0]
        if value is None or value == action.default:
            continue
        if action.nargs == 0:  # store_true / store_const (--no-chords stores False)
            if value == action.const:
                argv.append(flag)
        elif isinstance(value, list):
            for v in value:
                argv += [flag, str(v)]
        else:
            argv += [flag, str(value)]
    return argv


def _launch_train(args: argparse.Namespace) -> int:
    """`train --nproc N`: check what can be checked here (one line, no workers), then run N workers via torchrun."""
    import os

    from . import distributed

    if args.nproc < 1:
        raise UserError(f"--nproc must be at least 1, got {args.nproc}")
    if distributed.env_world() is not None or "TORCHELASTIC_RUN_ID" in os.environ:
        raise UserError("--nproc launches the processes itself; under torchrun, leave it out")
    if args.resume:
        from .run import open_run

        batch = open_run(args.resume).load_config()[1].batch_size
        batch = args.batch_size if args.batch_size is not None else batch
    else:
        if not args.out:
            raise UserError("train needs --out RUN (a new run directory) or --resume RUN")
        from .run import RunDir

        if RunDir(Path(args.out)).exists():
            raise UserError(f"{args.out}: already holds a run; use --resume to continue it or choose another --out")
        batch = TrainConfig(**_train_settings(args)[1]).batch_size
    distributed.check_batch(batch, args.nproc)
    return distributed.launch(args.nproc, _worker_argv(args))


def cmd_train(args: argparse.Namespace) -> int:
    from . import distributed
    from .trainer import LN2, resume, train

    if getattr(args, "nproc", None) is not None and args.nproc != 1:
        return _launch_train(args)
    try:
        return _train_here(args, LN2, resume, train)
    except UserError as e:
        if not distributed.is_main():  # rank 0 meets the same error and says it once, then torchrun stops us;
            import time              # exiting first could get rank 0 stopped before it has said it

            time.sleep(10)
            print(f"rnnmusic: error (rank {distributed.current().rank}): {e}", file=sys.stderr)
            return 2
        raise
    finally:
        distributed.shutdown()


def _train_here(args: argparse.Namespace, LN2, resume, train) -> int:
    from . import distributed

    if args.resume:
        tcfg, mcfg = _overrides(args, TrainConfig), _overrides(args, ModelConfig)
        changed = [k for k in ("corpus", "encoding", "tracks", "normalize_key", "augment_keys", "window", "init_from")
                   if k in tcfg]
        if mcfg or changed or args.preset or args.grid or args.onsets is not None or args.many_to_one:
            raise UserError("--resume continues a run as configured: model, corpus, encoding and data flags cannot change")
        result = resume(args.resume, tcfg)
    else:
        if not args.out:
            raise UserError("train needs --out RUN (a new run directory) or --resume RUN")
        if args.init_from:  # fine-tune (rnnmusic.finetune): the base's encoding and shape, fine-tuning defaults
            from .finetune import cli_configs

            result = train(args.out, *cli_configs(args, _train_settings))
        else:
            mcfg, tcfg = _train_settings(args)
            result = train(args.out, TrainConfig(**tcfg), ModelConfig(**mcfg))
    p = result.progress
    from .run import open_run

    if not distributed.is_main():
        return 0
    unit = open_run(result.run).load_config()[0].step_unit
    best = f"{p.best_valid:.4f} nats ({p.best_valid / LN2:.3f} bits/{unit})" if p.best_valid < 1e9 else "n/a"
    print(f"{result.stopped}: {result.run}  epoch {p.epoch}, step {p.step}, best validation loss {best}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .encodings.abc_request import request_controls
    from .generator import default_output, generate_pieces, generate_tunes
    from .prime import load_prime
    from .run import load_model
    from .sampler import SampleConfig

    model, enc, _ = load_model(args.run)
    if enc.kind == "lead":
        return _generate_lead(args, model, enc)
    folk = enc.name == "abc-folk"
    if args.chords or args.bars or (args.meter and not folk) or args.swing != 0.5 or args.accompaniment != "comp":
        raise UserError("--chords, --bars, --swing, --accompaniment and --meter need a model trained on lead sheets "
                        f"(--encoding lead); this one uses {enc.name}")
    midi_side = enc.piece_format == "midi"
    if args.prime and args.prime_file:
        raise UserError("give --prime or --prime-file, not both")
    if args.prime and midi_side:
        raise UserError(f"--prime takes ABC text; the {enc.name} encoding is primed with --prime-file x.mid")
    prime = args.prime.encode().decode("unicode_escape") if args.prime else ""
    if args.prime_file:
        from .run import open_run

        normalized = open_run(args.run).load_config()[1].normalize_key
        prime = load_prime(args.prime_file, args.prime_bars, enc, normalize_key=normalized)
    max_length = args.max_length or (256 if enc.kind == "frames" else 1000)
    cfg = SampleConfig(count=args.count, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                       seed=args.seed, prime=prime, max_length=max_length, constrain=args.constrain,
                       repetition_penalty=args.repetition_penalty, repetition_window=args.repetition_window,
                       controls=request_controls(enc, type=args.type, meter=args.meter if folk else None,
                                                 key=args.key if folk else None, parts=args.parts,
                                                 bars_per_part=args.bars_per_part))
    out = Path(args.out) if args.out else default_output(args.run)
    title = Path(args.run).resolve().name
    if midi_side:
        report = generate_pieces(model, enc, cfg, out, formats=args.formats or "mid,wav,roll", only_valid=args.only_valid,
                                 key=args.key, tempo=args.tempo, program=args.program, soundfont=args.soundfont,
                                 title=title, min_bars=4 if args.min_bars is None else args.min_bars)
        what = "valid (not collapsed, at least --min-bars long)"
    else:
        if (args.key and not folk) or args.tempo:
            raise UserError("--key and --tempo apply to MIDI-side encodings and abc-folk models; ABC tunes take their "
                            r"key from the model (prime one with --prime 'K:G\n')")
        report = generate_tunes(model, enc, cfg, out, formats=args.formats or "abc,mid", only_valid=args.only_valid,
                                title=title, soundfont=args.soundfont, program=args.program,
                                min_bars=8 if args.min_bars is None else args.min_bars)
        what = "valid"
    print(report.table())
    print(f"{report.valid}/{len(report.tunes)} {what} ({report.attempts} generated"
          + (f"; {report.shortfall}" if report.shortfall else "") + f"); files in {out}/, report {out / 'report.json'}")
    files = [t.files.get("abc") or t.files.get("mid") for t in report.tunes]
    if args.evaluate and files and all(files):  # nothing written (--only-valid found none): nothing to evaluate
        _evaluate_and_report(files, args.reference, args.reference_max, args.max_copy_bars, out, quiet=True,
                             min_bars=report.settings.get("min_bars"))
    return 0


def _generate_lead(args: argparse.Namespace, model, enc) -> int:
    from .lead_generate import MAX_TOKENS, generate_lead
    from .render.programs import parse_programs
    from .sampler import SampleConfig

    if args.prime or args.prime_file:
        raise UserError("--prime/--prime-file do not apply to lead-sheet models: give --chords (and --key)")
    program = parse_programs(args.program) if args.program else None
    if isinstance(program, dict):
        raise UserError("--program for a lead sheet is the melody's one program, e.g. --program 66")
    cfg = SampleConfig(count=args.count, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                       seed=args.seed, max_length=args.max_length or MAX_TOKENS)
    out = Path(args.out) if args.out else Path(args.run) / "generated"
    report = generate_lead(model, enc, cfg, out, chords=args.chords, bars=args.bars, key=args.key, meter=args.meter,
                           tempo=args.tempo, swing=args.swing, accompaniment=args.accompaniment,
                           formats=args.formats or "mid,wav,musicxml,svg", program=program,
                           title=Path(args.run).resolve().name)
    print(report.table())
    if not args.chords:  # the chords the model chose, as a lead sheet writes them
        for p in report.pieces:
            print(f"{p.name} chords: {p.progression}")
    s = report.summary
    n = len(report.pieces)
    print(f"{n} piece{'s' if n != 1 else ''} over {'the progression' if args.chords else 'chords the model proposed'} "
          f"in {report.settings['key']}; files in {out}/, report {out / 'report.md'}")
    if s["with_chords"] is not None:
        print(f"strong-beat chord tones: {s['with_chords']:.1%} with the chords, "
              + (f"{s['withheld']:.1%} with them withheld, " if s["withheld"] is not None else "")
              + (f"{s['training_data']:.1%} in the training data, " if s["training_data"] is not None else "")
              + (f"{s['chance']:.1%} by chance" if s["chance"] is not None else ""))
    return 0


def _evaluate_and_report(paths: list[str], reference: list[str] | None, reference_max: int, max_copy_bars: float,
                         out: Path, quiet: bool = False, min_bars: float | None = None) -> None:
    from .evaluation.compare import evaluate, write_report

    ev = evaluate(paths, _reference_sources(reference), max_reference=reference_max, min_bars=min_bars,
                  max_copy_bars=max_copy_bars, workers=1 if len(paths) < 20 else None)
    written = write_report(ev, out)
    s = ev.summary()
    if not quiet:
        print(open(written["md"]).read().split("## Metrics", 1)[1].strip())
    line = (f"evaluation: pitch-class entropy {s['pitch_class_entropy']:.2f} bits, scale consistency "
            f"{s['scale_consistency']:.2f}, repeated bars {s['repeated_bars']:.2f}, empty beats {s['empty_beat_rate']:.2f}")
    if ev.reference:
        mean_overlap = sum(d["overlap"] for d in ev.distances.values()) / len(ev.distances)
        line += f"; mean overlap with the reference {mean_overlap:.2f}, {sum(c.copied for c in ev.copies)} copied"
    print(f"{line}; report {written['md']} ({written['html'].name}, {written['png'].name})")


def _reference_sources(values: list[str] | None) -> list[str]:
    """--reference values: corpus names, paths, or a run directory standing for the corpus it was trained on."""
    from .run import RunDir, open_run

    out: list[str] = []
    for v in _sources(values):
        if RunDir(Path(v)).exists():
            corpus = open_run(v).load_config()[1].corpus
            if any(c.startswith("polyphonic:") for c in corpus):
                raise UserError(f"{v}: trained on the polyphonic benchmark rolls, which are not pieces to compare with")
            out += corpus
        else:
            out.append(v)
    return out


def cmd_render(args: argparse.Namespace) -> int:
    from .render.files import parse_outputs, render_files

    outputs = parse_outputs(args.to)
    if not 8000 <= args.sample_rate <= 96000:
        raise UserError(f"--sample-rate must be from 8000 to 96000 Hz, got {args.sample_rate}")
    done = render_files(args.files, outputs, Path(args.out), soundfont=args.soundfont, program=args.program,
                        sample_rate=args.sample_rate)
    failed = 0
    for r in done:
        made = ", ".join(Path(f).name for fs in r.files.values() for f in fs)
        bars = f" ({r.measures} measures engraved)" if r.measures is not None else ""
        print(f"{r.name}: {made or 'nothing written'}{bars}")
        for what, why in r.errors.items():
            print(f"  {what}: {why}", file=sys.stderr)
        failed += bool(r.errors)
    print(f"{len(done) - failed}/{len(done)} rendered completely into {args.out}/")
    return 1 if failed else 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    first = Path(args.paths[0])
    out = Path(args.out) if args.out else (first if first.is_dir() else first.parent)
    _evaluate_and_report(args.paths, args.reference, args.reference_max, args.max_copy_bars, out)
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from .evaluation.polyphonic import run_benchmark

    if args.corpus or args.encoding or args.grid or args.onsets is not None:
        raise UserError("the benchmark fixes its data and encoding: --corpus, --encoding, --grid and --no-onsets "
                        "do not apply")
    mcfg, tcfg = _train_settings(args)  # a --preset brings its model and optimiser; the data stays the benchmark's
    for k in ("corpus", "encoding", "encoding_options"):
        tcfg.pop(k, None)
    mcfg.setdefault("head", "nade")
    command = " ".join(["rnnmusic", *map(shlex.quote, sys.argv[1:])])
    row = run_benchmark(args.dataset, args.data, args.out, TrainConfig(**tcfg), ModelConfig(**mcfg), command)
    print(f"{row['dataset']}: test NLL {row['test_nll']:.3f} nats/frame, frame accuracy {row['test_frame_accuracy']:.3f} "
          f"(valid {row['valid_nll']:.3f}; note 1-gram {row['note_unigram_test_nll']:.2f}); "
          f"{row['parameters']:,} parameters, best epoch {row['best_epoch']}; {args.out}/benchmark.json")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .models import card_text, export_model, read_card, shipped_models

    if args.export:
        run, name = args.export
        if not args.card or not Path(args.card).is_file():
            raise UserError("--export needs --card CARD.json: data and licence, command, hardware, time, figures")
        try:
            card = json.loads(Path(args.card).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserError(f"{args.card}: not valid JSON ({e})") from None
        print(f"exported {run} as {export_model(run, name, card, args.into)}")
        return 0
    models = shipped_models()
    if not models:
        print("no shipped models in this installation")
    for name in models:
        print(card_text(read_card(name)))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from .presets import PRESETS

    for p in PRESETS.values():
        print(p.describe())
    print("\nuse: rnnmusic train --preset NAME --out RUN [flags that override it]")
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    from .corpus import BUILTIN_CORPORA, CLASSICAL_CORPORA, is_score_source, load_abc, load_pieces

    if args.action == "list":
        print("ABC folk tunes (any encoding; MIDI-side encodings parse them with music21):")
        for name, c in BUILTIN_CORPORA.items():
            print(f"  {name:14s} ~{c.approx_tunes:>6,} tunes   {c.description}")
        print("classical scores (MIDI-side encodings: notes, pianoroll, events):")
        for name, c in CLASSICAL_CORPORA.items():
            print(f"  {name:14s} ~{c.approx_pieces:>6,} pieces  {c.description}")
        return 0
    if not args.names:
        raise UserError("corpus show needs a corpus name or path")
    sources = _sources(args.names)
    if any(is_score_source(s) for s in sources) or args.tracks:
        corpus = load_pieces(sources, tracks=args.tracks)
    else:
        corpus = load_abc(sources)
    for line in corpus.report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    stats = corpus.stats()
    if args.json:
        print(json.dumps({"stats": stats, "report": corpus.report.to_dict()}, indent=2, default=str))
        return 0
    print(corpus.report.summary())
    if "pieces" in stats:
        for key, value in stats.items():
            print(f"{key.replace('_', ' ')}: {value}")
        return 0
    print(f"tunes: {stats['tunes']}")
    for key in ("meters", "keys", "unit_lengths"):
        if key in stats:
            top = list(dict(stats[key]).items())[:12]
            print(f"{key}: " + ", ".join(f"{k} {v}" for k, v in top) + (" ..." if len(stats[key]) > 12 else ""))
    if "mean_length_chars" in stats:
        print(f"mean length: {stats['mean_length_chars']:.0f} characters")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from .run import open_run
    from .trainer import read_checkpoint_progress

    run = open_run(args.run)
    model_cfg, cfg = run.load_config()
    enc = run.load_encoding()
    p = read_checkpoint_progress(args.run)
    from .model import default_head

    head = model_cfg.head or default_head(model_cfg.kind)
    extras = (f", attention over {model_cfg.attention} steps" if model_cfg.attention else "") + (
        f", preset {cfg.preset}" if cfg.preset else "")
    print(f"run {run.root}")
    print(f"  model: {model_cfg.cell} {model_cfg.layers} layers x {model_cfg.hidden}, embed {model_cfg.embed}, "
          f"dropout {model_cfg.dropout}, {head} head{extras}")
    size = f"{enc.vocab_size} tokens" if model_cfg.kind != "frames" else f"frames {enc.vocab_size} wide"
    opts = ", ".join(f"{k}={v}" for k, v in enc.options.items())
    print(f"  encoding: {enc.name} ({opts or 'no options'}), {size}; corpus {', '.join(cfg.corpus)}")
    training = "many-to-one, window " + str(cfg.window) if cfg.window else f"many-to-many, chunks of {cfg.seq_len}"
    normalized = cfg.normalize_key or getattr(enc, "normalizes_key", False)
    keys = ("keys normalized to C major / A minor" if normalized else "keys as written") + (
        f", +/-{cfg.augment_keys} semitone augmentation" if cfg.augment_keys else "")
    print(f"  training: {training}; {cfg.optimizer}, lr {cfg.lr}; {keys}")
    if p:
        status = p.done or "in progress (resume with `rnnmusic train --resume RUN`)"
        print(f"  epochs {p.epoch}/{cfg.epochs}, step {p.step}, best validation {p.best_valid:.4f} nats; {status}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .studio.server import serve

    return serve(args.root or ["runs"], out=args.out, host=args.host, port=args.port, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rnnmusic", description="Learn music with recurrent networks; write new music.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model (or --resume one)")
    p.add_argument("--out", help="new run directory")
    p.add_argument("--resume", metavar="RUN", help="continue this run from its newest good checkpoint")
    p.add_argument("--init-from", metavar="MODEL|RUN",
                   help="fine-tune: start from a shipped model (`rnnmusic models`) or a run directory: its weights, "
                        "encoding and shape; --corpus tokens it lacks are added to its vocabulary (rnnmusic.finetune)")
    _add_train_flags(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("generate", help="generate tunes from a trained run")
    p.add_argument("run", metavar="RUN")
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--temperature", type=float, default=0.9)
    p.add_argument("--top-k", type=int, default=0)
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prime", default="", help=r"opening of every tune, e.g. 'M:6/8\nK:G\n'")
    p.add_argument("--max-length", type=int, help="max tokens per piece (default 1000), frames for pianoroll (256)")
    p.add_argument("--repetition-penalty", type=float, default=1.0,
                   help="token encodings: > 1 discourages tokens used in the last --repetition-window steps")
    p.add_argument("--repetition-window", type=int, default=16)
    p.add_argument("--prime-file", help="start every piece with the opening of this .mid/.abc/.xml/.krn file")
    p.add_argument("--prime-bars", type=float, default=4, help="bars of --prime-file to use (default 4)")
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
                   help="sample freely (by default abc-tokens never writes a bar longer than the meter)")
    p.add_argument("--min-bars", type=float,
                   help="pieces with fewer bars count as invalid fragments (default 8; MIDI side: 4)")
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
    g.add_argument("--swing", type=float, default=0.5, help="swing ratio of the off-beat eighths in MIDI/WAV: "
                                                            "0.5 straight (default) .. 2/3 triplet swing .. 0.75")
    g.add_argument("--accompaniment", default="comp", help="comp (piano comping + walking bass, default), "
                                                           "block (block chords), bass, none")
    g.add_argument("--meter", help="time signature of the progression, e.g. 3/4 (default: the corpus' usual); "
                   "for abc-folk models the tune's meter (M:)")
    _add_reference_flags(p)
    p.set_defaults(func=cmd_generate)

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
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("evaluate", help="musical metrics of pieces (MIDI, ABC, MusicXML), against a reference corpus")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs of generated pieces")
    p.add_argument("--out", help="folder for evaluation.{md,html,json,png} (default: next to the first PATH)")
    _add_reference_flags(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("benchmark", help="polyphonic benchmark (Boulanger-Lewandowski 2012): train, early-stop, test NLL")
    p.add_argument("suite", choices=["polyphonic"])
    p.add_argument("--dataset", required=True, help="jsb, nottingham, musedata or piano")
    p.add_argument("--data", required=True, metavar="FOLDER", help="folder holding the benchmark pickles")
    p.add_argument("--out", required=True, help="run directory (resumed when it already holds the run)")
    _add_train_flags(p)
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("models", help="list the shipped models and their cards (or --export a run as one)")
    p.add_argument("--export", nargs=2, metavar=("RUN", "NAME"), help="write RUN's best weights (fp16) as model NAME")
    p.add_argument("--card", metavar="CARD.json", help="with --export: the model card (JSON)")
    p.add_argument("--into", metavar="FOLDER", help="with --export: parent folder (default: the package's models/)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("presets", help="list the named presets (the founding systems)")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("corpus", help="list built-in corpora or show one")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("names", nargs="*", metavar="NAME|PATH")
    p.add_argument("--tracks", help="MIDI: tracks to merge (as for train)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_corpus)

    p = sub.add_parser("info", help="describe a run directory")
    p.add_argument("run", metavar="RUN")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("serve", help="the web studio: browse models, generate and listen, watch training")
    p.add_argument("--root", action="append", metavar="FOLDER",
                   help="folder holding run directories (repeatable; default ./runs)")
    p.add_argument("--out", default="out/studio", help="folder for generated results (default out/studio)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--workers", type=int, default=2, help="generation jobs run at once (1..8, default 2)")
    p.set_defaults(func=cmd_serve)
    return ap


def _add_reference_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reference", action="append", metavar="NAME|PATH",
                   help="corpus to compare with and search for copies: a corpus name, files, or a run directory "
                        "(its training corpus); repeatable")
    p.add_argument("--reference-max", type=int, default=300,
                   help="compare with a random sample of this many reference pieces (300; seeded: the same each time)")
    p.add_argument("--max-copy-bars", type=float, default=4.0,
                   help="flag pieces copying a longer run from a reference piece (bars, default 4)")


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _one_line_warnings
    try:
        return args.func(args)
    except UserError as e:
        print(f"rnnmusic: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnnmusic: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
