"""``dfec caption``: caption the facial dynamics of a video.

Usage::

    dfec caption VIDEO [--out DIR]                 # landmark captioner (no model, CPU)
    dfec caption VIDEO --model PATH [--out DIR]    # FaceTrack-MM from a local checkpoint
    dfec caption --list videos.txt --out preds.jsonl [--model PATH]
    dfec caption VIDEO --config thresholds.yaml    # override DynamicsConfig fields

Without ``--model`` the training-free landmark captioner runs (:mod:`dfec.dynamics.captioner`):
it writes ``events.json``, ``caption.txt`` and ``timeline.png`` into DIR (default
``dfec_caption/<video name>``) and reuses ``DIR/tracks.json`` when it was written for the same
video. ``--list`` reads one video per line (``path`` or ``id<TAB>path``; ``#`` comments) and
appends ``{"id", "video", "caption"}`` records to the JSONL file given by ``--out``; ids already
there are skipped, so an interrupted run resumes.

Only light packages are imported here; tracking, OpenCV and the model load inside :func:`run`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DfecError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("video", nargs="?", help="the video file to caption")
    parser.add_argument("--out", "-o", default=None,
                        help="output folder for one video (default dfec_caption/<video name>); "
                             "with --list: the predictions JSONL file")
    parser.add_argument("--model", default=None,
                        help="local FaceTrack-MM checkpoint folder; without it the landmark captioner runs")
    parser.add_argument("--list", dest="list_file", default=None,
                        help="caption every video listed in this file (one 'path' or 'id<TAB>path' per line)")
    parser.add_argument("--config", default=None,
                        help="YAML/JSON overrides of the landmark captioner's DynamicsConfig thresholds")
    parser.add_argument("--instruction", default=None, help="instruction for the model (with --model)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def caption_list_landmarks(list_file, out_jsonl, config=None, progress: bool = True) -> dict:
    """Resumable list captioning with the landmark captioner; returns a small summary dict."""
    from ..jsonl import caption_to_jsonl, read_video_list
    from .captioner import caption_video

    return caption_to_jsonl(read_video_list(list_file), lambda path: caption_video(path, config).caption,
                            out_jsonl, progress=progress)


def run(args: argparse.Namespace) -> int:
    from ..userfiles import check_output_dir, check_output_file

    progress = not getattr(args, "quiet", False)
    config = None
    if getattr(args, "config", None):
        if args.model:
            raise DfecError("--config sets the landmark captioner; it does not apply with --model")
        from .events import load_config

        config = load_config(args.config)
    if args.list_file:
        if args.video:
            raise DfecError("give either a VIDEO or --list, not both")
        if not args.out:
            raise DfecError("--list needs --out preds.jsonl")
        check_output_file(args.out, "predictions file (--out)")
        if args.model:
            from ..model.inference import caption_list

            summary = caption_list(args.list_file, args.model, args.out, instruction=args.instruction,
                                   progress=progress)
        else:
            summary = caption_list_landmarks(args.list_file, args.out, config=config, progress=progress)
        print(f"captioned {summary['n_written']} new video(s), {summary['n_done_before']} already done, "
              f"{summary['n_failed']} failed -> {args.out}")
        return 1 if summary["n_failed"] else 0
    if not args.video:
        raise DfecError("give a VIDEO to caption (or --list videos.txt --out preds.jsonl)")
    video = Path(args.video)
    if not video.exists():
        raise DfecError("no such file", video)
    if video.is_dir():
        raise DfecError("is a directory, not a video file", video)
    out_dir = check_output_dir(Path(args.out) if args.out else Path("dfec_caption") / video.stem)
    if args.model:
        from ..model.inference import load_captioner

        text = load_captioner(args.model).caption(str(video), instruction=args.instruction)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "caption.txt").write_text(text + "\n")
        print(text)
        return 0
    from .captioner import caption_video

    result = caption_video(video, config=config, out_dir=out_dir, progress=progress)
    print(result.caption)
    print(f"\n{len(result.timeline)} event(s), {len(result.events)} described -> "
          f"{out_dir / 'events.json'}, {out_dir / 'caption.txt'}, {out_dir / 'timeline.png'}", file=sys.stderr)
    return 0
