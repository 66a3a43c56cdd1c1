"""``dfec caption``: caption one video or a list with any captioner of the registry.

Usage::

    dfec caption VIDEO [--out DIR]                         # landmark captioner (no model, CPU)
    dfec caption VIDEO --model PATH [--out DIR]            # FaceTrack-MM from a local checkpoint
    dfec caption VIDEO --captioner qwen2-vl --model PATH   # any registry name or package.module:Class
    dfec caption VIDEO --captioner openai --api-model gpt-4o
    dfec caption --list videos.txt --out preds.jsonl [--captioner NAME] [--workers 4 | --ray]
    dfec caption VIDEO --config thresholds.yaml            # override DynamicsConfig fields (landmark)

``--captioner`` defaults to ``facetrack`` when ``--model`` is given, else ``landmark`` (the old
options keep working). The landmark captioner writes ``events.json``, ``caption.txt`` and
``timeline.png`` into DIR (default ``dfec_caption/<video name>``) and reuses ``DIR/tracks.json``
when it was written for the same video; the others write ``caption.txt``. ``--list`` reads one
video per line (``path`` or ``id<TAB>path``; ``#`` comments) and appends ``{"id", "video",
"caption"}`` records to the JSONL file given by ``--out`` through the batch runner
(:mod:`dfec.batch`): ids already there are skipped, so an interrupted run resumes; ``--workers N``
runs N processes, ``--ray`` a Ray cluster, with the same records either way.

Only light packages are imported here; tracking, OpenCV and the models load inside :func:`run`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DfecError
from ..batch import add_batch_options, parallel_from_args
from .cli import add_captioner_options, options_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", nargs="?", help="the video file to caption")
    parser.add_argument("--out", "-o", default=None,
                        help="output folder for one video (default dfec_caption/<video name>); "
                             "with --list: the predictions JSONL file")
    parser.add_argument("--captioner", default=None,
                        help="landmark | facetrack | openai | qwen2-vl | llava-onevision | package.module:ClassName "
                             "(default: facetrack with --model, else landmark)")
    parser.add_argument("--model", "--model-path", dest="model", default=None,
                        help="local weight folder of the captioner (FaceTrack-MM when --captioner is not given)")
    parser.add_argument("--list", dest="list_file", default=None,
                        help="caption every video listed in this file (one 'path' or 'id<TAB>path' per line)")
    parser.add_argument("--config", default=None,
                        help="YAML/JSON overrides of the landmark captioner's DynamicsConfig thresholds")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_captioner_options(parser)
    add_batch_options(parser, workers_help="with --list: parallel worker processes (or Ray actors with --ray)")


def captioner_name(args: argparse.Namespace) -> str:
    return args.captioner or ("facetrack" if args.model else "landmark")


def output_folder(args: argparse.Namespace) -> Path:
    """The folder a single-video run writes to: ``--out``, else ``dfec_caption/<video name>``."""
    return Path(args.out) if args.out else Path("dfec_caption") / Path(args.video).stem


def run(args: argparse.Namespace) -> int:
    from ..userfiles import check_output_dir, check_output_file
    from . import registry

    progress = not getattr(args, "quiet", False)
    spec = captioner_name(args)
    if args.config and spec != "landmark":
        raise DfecError(f"--config sets the landmark captioner; it does not apply to '{spec}'")
    if args.list_file:
        if args.video:
            raise DfecError("give either a VIDEO or --list, not both")
        if not args.out:
            raise DfecError("--list needs --out preds.jsonl")
        check_output_file(args.out, "predictions file (--out)")
        return _run_list(args, spec, progress)
    if not args.video:
        raise DfecError("give a VIDEO to caption (or --list videos.txt --out preds.jsonl)")
    video = Path(args.video)
    if not video.exists():
        raise DfecError("no such file", video)
    if video.is_dir():
        raise DfecError("is a directory, not a video file", video)
    out_dir = check_output_dir(output_folder(args))
    options = options_from_args(args, args.model, dynamics_config=args.config, progress=progress,
                                out_dir=str(out_dir) if spec == "landmark" else None)
    captioner = registry.load(spec, options)
    if spec != "facetrack":  # facetrack checks its folder while loading (tests replace the loader)
        registry.check(captioner)
    from .base import call_captioner

    result = call_captioner(captioner, str(video))
    files = result.metadata.get("files") if isinstance(result.metadata, dict) else None
    if not files:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "caption.txt").write_text(result.text + "\n")
    print(result.text)
    if files:
        print(f"\n{result.metadata.get('n_events', 0)} event(s), {result.metadata.get('n_described', 0)} described -> "
              f"{files['events']}, {files['caption']}, {files['timeline']}", file=sys.stderr)
    return 0


def _run_list(args: argparse.Namespace, spec: str, progress: bool) -> int:
    from ..batch import caption_to_jsonl, require_ray
    from ..jsonl import read_video_list
    from . import registry

    parallel = parallel_from_args(args)
    if parallel.ray:  # fail fast, before any model loads
        require_ray()
    videos = read_video_list(args.list_file)
    options = options_from_args(args, args.model, dynamics_config=args.config)
    captioner = registry.load(spec, options)
    registry.check(captioner)  # a missing model or key: one error for the run, not one per video
    summary = caption_to_jsonl(videos, args.out, setup=registry.worker_handler, setup_args=(spec, options),
                               parallel=parallel, handler=registry.ItemCaptioner(captioner), progress=progress)
    print(f"captioned {summary['n_written']} new video(s), {summary['n_done_before']} already done, "
          f"{summary['n_failed']} failed -> {args.out}")
    return 1 if summary["n_failed"] else 0
