"""``dfec track VIDEO [--out DIR] [--frames 16] [--detector mediapipe|hog|cnn] ...``

Runs the face tracking module on one video, prints a short summary and, with ``--out``, writes
``tracks.json`` (+ ``tracks_mesh.npz``), ``faces/*.png`` and ``contact_sheet.png``. Only light
modules are imported here; the face models are loaded when the command runs.
"""
from __future__ import annotations

import argparse
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    from .config import DETECTORS, TrackConfig

    d = TrackConfig()
    parser.add_argument("video", help="input video file (anything FFmpeg/PyAV decodes)")
    parser.add_argument("--out", metavar="DIR", help="write tracks.json, faces/*.png and contact_sheet.png here")
    parser.add_argument("--frames", type=int, default=d.n_frames, metavar="N",
                        help=f"number of frames to select for the main face (default {d.n_frames})")
    parser.add_argument("--detector", choices=DETECTORS, default=d.detector,
                        help="mediapipe: BlazeFace + FaceMesh (468 points) + Iris, tracked frame to frame "
                             "(default); hog / cnn: dlib's HOG or MMOD CNN detector with dlib's 68 points")
    parser.add_argument("--fps", type=float, default=d.fps, help=f"analysis frame rate (default {d.fps:g})")
    parser.add_argument("--max-side", type=int, default=d.detect_max_side, metavar="PX",
                        help=f"shrink frames to this longest side before detection; 0 = never (default {d.detect_max_side})")
    parser.add_argument("--upsample", type=int, default=d.detect_upsample,
                        help="detector upsampling steps: 1 finds faces below ~80 px at 4x the cost (default 0)")
    parser.add_argument("--embed-every", type=int, default=d.embed_every, metavar="K",
                        help=f"recompute a track's 128-d embedding at most every K frames (default {d.embed_every})")
    parser.add_argument("--max-age", type=int, default=d.max_age, help=f"frames a lost track survives (default {d.max_age})")
    parser.add_argument("--n-init", type=int, default=d.n_init, help=f"hits that confirm a track (default {d.n_init})")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ..errors import DfecError
    from .config import TrackConfig

    if args.frames < 1:
        raise DfecError("--frames must be at least 1")
    if args.fps <= 0:
        raise DfecError("--fps must be positive")
    if args.embed_every < 1:
        raise DfecError("--embed-every must be at least 1")
    if args.max_side < 0:
        raise DfecError("--max-side must be 0 (never shrink) or a positive number of pixels")
    if not 0 <= args.upsample <= 3:
        # each step doubles the image side: 4 steps on a 640 px frame is a 10,000 px image
        raise DfecError("--upsample must be between 0 and 3")
    if args.out:
        from ..userfiles import check_output_dir

        check_output_dir(args.out)
    cfg = TrackConfig(fps=args.fps, n_frames=args.frames, detector=args.detector,
                      detect_max_side=args.max_side or None, detect_upsample=max(0, args.upsample),
                      embed_every=args.embed_every, max_age=max(1, args.max_age), n_init=max(1, args.n_init))
    from .pipeline import track

    result = track(args.video, cfg, n_frames=args.frames, out_dir=args.out, progress=not args.quiet)
    if args.json:
        import json

        print(json.dumps(result.to_json()))
    _summary(result, args.out, sys.stdout if not args.json else sys.stderr, cfg.detect_max_side)
    return 0


def _summary(result, out_dir, stream, max_side: int | None = None) -> None:
    n = result.n_frames
    head = f"{result.video}: {n} frames at {result.fps:g} fps ({result.duration:.1f} s), {len(result.tracks)} track(s)"
    main = result.main_track
    if main is None:
        hint = ""
        w, h = result.frame_size
        if max_side and max(w, h) > max_side:  # detection ran on a shrunk copy: faces under ~80 px there are missed
            hint = " (small faces in large frames: try --max-side 0 or --upsample 1)"
        print(f"{head}; no face found: empty result{hint}", file=stream)
    else:
        ids = ", ".join(str(t.track_id) for t in result.main_tracks)
        frames = {f for t in result.main_tracks for f in t.frames}
        print(f"{head}; main: track {ids} on {len(frames)}/{n} frames (rule: {result.selection_rule})", file=stream)
    if out_dir:
        print(f"wrote {out_dir}/tracks.json, {len(result.crops)} face crop(s) in {out_dir}/faces, "
              f"{out_dir}/contact_sheet.png", file=stream)
