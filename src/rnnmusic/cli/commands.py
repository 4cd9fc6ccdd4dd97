"""The commands: each takes the parsed flags, calls one library function and prints what it returns."""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ..errors import UserError


def _flags(args: argparse.Namespace) -> dict:
    return {k: v for k, v in vars(args).items() if not k.startswith("_") and k not in ("func", "command")}


def worker_argv(args: argparse.Namespace) -> list[str]:
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


def cmd_train(args: argparse.Namespace) -> int:
    from .. import distributed
    from ..training_request import distributed_batch, train_from_flags, train_summary

    if getattr(args, "nproc", None) is not None and args.nproc != 1:  # N workers via torchrun
        import os

        if args.nproc < 1:
            raise UserError(f"--nproc must be at least 1, got {args.nproc}")
        if distributed.env_world() is not None or "TORCHELASTIC_RUN_ID" in os.environ:
            raise UserError("--nproc launches the processes itself; under torchrun, leave it out")
        distributed.check_batch(distributed_batch(_flags(args)), args.nproc)
        return distributed.launch(args.nproc, worker_argv(args))
    try:
        result = train_from_flags(_flags(args))
        if distributed.is_main():  # asked before shutdown, which forgets the process group
            print(train_summary(result))
    except UserError as e:
        if not distributed.is_main():  # rank 0 meets the same error and says it once, then torchrun stops us;
            import time  # exiting first could get rank 0 stopped before it has said it

            time.sleep(10)
            print(f"rnnmusic: error (rank {distributed.current().rank}): {e}", file=sys.stderr)
            return 2
        raise
    finally:
        distributed.shutdown()
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from ..generation_request import GenerationRequest, request_fields
    from ..generator import generate

    given = {k: v for k, v in vars(args).items() if k in request_fields() and v is not None}
    if given.get("prime"):
        given["prime"] = given["prime"].encode().decode("unicode_escape")  # '\n' typed on the command line
    report = generate(args.run, GenerationRequest(**given), out=args.out)
    print(report.table())
    print(report.summary_text())
    files = report.paths()
    if args.evaluate and report.what != "lead sheets" and files and len(files) == len(report.tunes):
        _evaluate(files, args, report.out_dir, quiet=True, min_bars=report.settings.get("min_bars"))
    return 0


def _evaluate(paths: list[str], args: argparse.Namespace, out: Path, quiet: bool = False,
              min_bars: float | None = None) -> None:
    from ..evaluation.compare import evaluate, summary_line

    ev = evaluate(paths, args.reference or (), max_reference=args.reference_max, min_bars=min_bars,
                  max_copy_bars=args.max_copy_bars, workers=1 if len(paths) < 20 else None, out=out)
    md = out / "evaluation.md"
    if not quiet:
        print(md.read_text().split("## Metrics", 1)[1].strip())
    print(f"{summary_line(ev)}; report {md} (evaluation.html, evaluation.png)")


def cmd_evaluate(args: argparse.Namespace) -> int:
    first = Path(args.paths[0])
    _evaluate(args.paths, args, Path(args.out) if args.out else (first if first.is_dir() else first.parent))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from ..render.files import parse_outputs, render_files
    from ..voice.choice import VoiceChoice

    outputs = parse_outputs(args.to)
    if not 8000 <= args.sample_rate <= 96000:
        raise UserError(f"--sample-rate must be from 8000 to 96000 Hz, got {args.sample_rate}")
    voice = VoiceChoice.parse(args.voice, args.voice_lines, args.perform)
    if voice is not None:
        from ..voice.player import load_voice

        load_voice(voice.voice)  # a bad --voice is one error now, not one per file
    done = render_files(args.files, outputs, Path(args.out), soundfont=args.soundfont, program=args.program,
                        sample_rate=args.sample_rate, voice=voice)
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


def cmd_voice(args: argparse.Namespace) -> int:
    if args.action == "export":
        from ..voice.player import export_voice

        print(f"exported {args.run} as {export_voice(args.run, args.name, args.card, args.into)}")
        return 0
    if args.action == "compare":
        from ..voice.compare import ab_files

        files = ab_files(args.midi, args.voice, Path(args.out) / Path(args.midi).stem, soundfont=args.soundfont)
        print("\n".join(f"{k}: {v}" for k, v in files.items()))
        return 0
    if args.action == "resynth":
        from ..voice.player import resynthesize_file

        print(resynthesize_file(args.recording, args.voice, args.out, transpose=args.transpose))
        return 0
    from ..voice.network import VoiceConfig
    from ..voice.training import VoiceTrainConfig, train_voice

    cfg = VoiceConfig(sample_rate=args.sample_rate, hidden=args.hidden, n_harmonics=args.harmonics,
                      n_noise_bands=args.noise_bands, reverb_s=args.reverb_s, fmin=args.fmin, fmax=args.fmax)
    tcfg = VoiceTrainConfig(steps=args.steps, batch=args.batch, clip_s=args.clip_s, lr=args.lr, lr_final=args.lr / 10,
                            seed=args.seed, checkpoint_every=args.checkpoint_every)
    done = train_voice(args.recordings, args.out, cfg, tcfg, resume=args.resume, progress=not args.quiet,
                       init_from=args.init_from)
    print(f"{done['run']}: {done['stopped']} at step {done['step']}/{done['steps']}, best validation loss "
          f"{done['best_valid']:.3f}; {done['seconds_of_audio']} s of audio ({done['skipped']} files skipped); "
          f"features {done['feature_s']} s, training {done['train_s']} s")
    return 0 if done["stopped"] == "finished" else 130


def cmd_benchmark(args: argparse.Namespace) -> int:
    from ..benchmark import run_benchmark
    from ..training_request import benchmark_settings

    model_cfg, cfg = benchmark_settings(_flags(args))
    command = " ".join(["rnnmusic", *map(shlex.quote, sys.argv[1:])])
    row = run_benchmark(args.dataset, args.data, args.out, cfg, model_cfg, command)
    print(
        f"{row['dataset']}: test NLL {row['test_nll']:.3f} nats/frame, frame accuracy {row['test_frame_accuracy']:.3f} "
        f"(valid {row['valid_nll']:.3f}; note 1-gram {row['note_unigram_test_nll']:.2f}); "
        f"{row['parameters']:,} parameters, best epoch {row['best_epoch']}; {args.out}/benchmark.json"
    )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from ..models import card_text, read_card, shipped_models

    if args.export:
        from ..models.export import export_model

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
    from ..presets import PRESETS

    for p in PRESETS.values():
        print(p.describe())
    print("\nuse: rnnmusic train --preset NAME --out RUN [flags that override it]")
    return 0


def cmd_corpus(args: argparse.Namespace) -> int:
    from ..corpus_summary import describe_corpora, show_corpus

    if args.action == "list":
        print(describe_corpora())
        return 0
    if not args.names:
        raise UserError("corpus show needs a corpus name or path")
    text, warnings = show_corpus(args.names, tracks=args.tracks, as_json=args.json)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(text)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from ..run_info import describe_run

    print("\n".join(describe_run(args.run)))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ..studio.server import serve

    return serve(args.root or ["runs"], out=args.out, host=args.host, port=args.port, workers=args.workers)
