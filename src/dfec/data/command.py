"""``dfec data build|curate|stats|validate``: the FDA data tools on the command line.

Only light packages are imported here; the tools import cv2 / scenedetect / matplotlib / the
tracking module inside their functions.
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields

from ..batch import add_batch_options
from ..errors import DfecError
from ..options import non_negative_float, non_negative_int, positive_float, positive_int
from .build import BuildConfig
from .curate import CurateConfig
from .stats import StatsConfig


def _default(cls, name):
    return next(f.default for f in fields(cls) if f.name == name)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="{build,curate,stats,validate}")
    sub.required = True

    b = sub.add_parser("build", help="annotations -> VideoLLaMA2-style train/test conversation JSON",
                       description="Strip marked inferences, join attributes and facial changes into the target "
                                   "caption, pair each clip with one of 20 instructions and split train/test by id hash.")
    b.add_argument("annotations", help="FDA annotation file (.json list or .jsonl)")
    b.add_argument("--root", required=True, help="data root; every record's video path is resolved under it")
    b.add_argument("--out", required=True, help="output folder (train.json, test.json, test_refs.json, ...)")
    b.add_argument("--test-size", type=non_negative_float, default=_default(BuildConfig, "test_size"),
                   help="held-out clips: a count, or a fraction in (0, 1) (paper: 1000)")
    b.add_argument("--seed", type=int, default=_default(BuildConfig, "seed"), help="seed of the instruction choice")
    b.add_argument("--split-salt", default=_default(BuildConfig, "split_salt"), help="salt of the id hash that orders the split")
    b.add_argument("--keep-inferences", action="store_true", help="keep marked inferences (tags removed) instead of stripping them")
    b.add_argument("--with-summary", action="store_true", help="append the one-sentence summary to the caption")
    b.add_argument("--no-check-videos", action="store_true", help="do not require the video files to exist")
    b.add_argument("--absolute-paths", action="store_true", help="write absolute video paths")
    b.add_argument("--strict", action="store_true", help="exit non-zero when any record is malformed (still writes the rest)")

    c = sub.add_parser("curate", help="filter candidate clips with the paper's rules",
                       description="Duration <= 20 s, a face over 5%% of the frame, not static, not too many people, "
                                   "no frequent shot changes; each filter switchable, each verdict reported per clip.")
    c.add_argument("video_dir", help="folder searched recursively for videos")
    c.add_argument("--out", required=True, help="output folder (curation.jsonl, curation.csv, kept.txt, summary)")
    add_batch_options(c, workers_default=0, workers_help="processes, or Ray actors with --ray (0: min(4, CPUs); 1: no pool)")
    for name in ("duration", "face", "static", "people", "shots"):
        c.add_argument(f"--no-{name}", action="store_true", help=f"switch off the {name} filter")
    c.add_argument("--max-duration", type=positive_float, default=_default(CurateConfig, "max_duration"), help="seconds (paper: 20)")
    c.add_argument("--min-face-area", type=non_negative_float, default=_default(CurateConfig, "min_face_area"),
                   help="fraction of the frame the largest face must exceed (paper: 0.05)")
    c.add_argument("--min-motion", type=non_negative_float, default=_default(CurateConfig, "min_motion"),
                   help="mean grey-level frame difference below which a clip is static")
    c.add_argument("--max-people", type=positive_int, default=_default(CurateConfig, "max_people"))
    c.add_argument("--max-shot-changes", type=non_negative_int, default=_default(CurateConfig, "max_shot_changes"))
    c.add_argument("--shot-threshold", type=positive_float, default=_default(CurateConfig, "shot_threshold"),
                   help="PySceneDetect ContentDetector threshold")
    c.add_argument("--all-filters", action="store_true", help="run every filter even after one dropped the clip")
    c.add_argument("--no-resume", action="store_true", help="judge every clip again (default: resume)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")

    s = sub.add_parser("stats", help="Figure 2 statistics of an annotation or caption file",
                       description="Sources, tokens per caption, durations and facial-action keywords; PNG plots + stats.json.")
    s.add_argument("annotations", help="FDA annotations, FEC-Bench refs [{id, video, caption}], conversation JSON or JSONL")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--root", default=None, help="data root to probe durations of clips whose record has none")
    s.add_argument("--tokenizer", default="words", help="'words' (default) or a local Hugging Face tokenizer folder")
    s.add_argument("--no-plots", action="store_true", help="write stats.json only")

    v = sub.add_parser("validate", help="check an annotation file and list every malformed record and field")
    v.add_argument("annotations")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "out", None):
        from ..userfiles import check_output_dir

        check_output_dir(args.out)
    return {"build": _build, "curate": _curate, "stats": _stats, "validate": _validate}[args.data_command](args)


def _warn(errors) -> None:
    for e in errors:
        print(f"dfec: warning: {e.message}", file=sys.stderr)


def _build(args) -> int:
    from .build import build

    cfg = BuildConfig(test_size=args.test_size, seed=args.seed, split_salt=args.split_salt,
                      strip_inferences=not args.keep_inferences, include_summary=args.with_summary,
                      check_videos=not args.no_check_videos, absolute_paths=args.absolute_paths)
    res = build(args.annotations, args.root, args.out, cfg)
    _warn(res.errors)
    print(f"built {len(res.train)} train + {len(res.test)} test samples from {res.n_input} records "
          f"({len(res.errors)} problems) -> {args.out}")
    if args.strict and res.errors:
        raise DfecError(f"{len(res.errors)} malformed record(s) (see warnings above and errors.txt)", args.annotations)
    return 0


def _curate(args) -> int:
    from ..batch import parallel_from_args, require_ray
    from .curate import curate

    cfg = CurateConfig(max_duration=args.max_duration, min_face_area=args.min_face_area, min_motion=args.min_motion,
                       max_people=args.max_people, max_shot_changes=args.max_shot_changes,
                       shot_threshold=args.shot_threshold, check_duration=not args.no_duration,
                       check_face=not args.no_face, check_static=not args.no_static,
                       check_people=not args.no_people, check_shots=not args.no_shots,
                       run_all=args.all_filters, workers=args.workers)
    if args.workers < 0:
        raise DfecError(f"--workers must be 0 (automatic) or more, got {args.workers}")
    parallel = parallel_from_args(args, workers=args.workers or min(4, os.cpu_count() or 1))
    if parallel.ray:  # fail fast, before any clip is read
        require_ray()
    res = curate(args.video_dir, args.out, cfg, progress=not args.no_progress, resume=not args.no_resume,
                 parallel=parallel)
    if len(res.rows) <= 50:  # a short table on the terminal; the CSV/JSONL always hold every clip
        width = max((len(r["clip"]) for r in res.rows), default=4)
        for r in res.rows:
            print(f"{r['clip']:<{width}}  {'kept' if r['kept'] else 'dropped':<7}  {'; '.join(r['reasons'])}".rstrip())
    counts = {}
    for r in res.rows:
        for name, v in r["filters"].items():
            if v["passed"] is False:
                counts[name] = counts.get(name, 0) + 1
    if counts:
        print("dropped by filter: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"kept {res.n_kept} of {len(res.rows)} clips ({res.n_resumed} from an earlier run) -> {res.files['curation.csv']}")
    return 0


def _stats(args) -> int:
    from .stats import run_stats

    cfg = StatsConfig(tokenizer=args.tokenizer, data_root=args.root, plots=not args.no_plots)
    st = run_stats(args.annotations, args.out, cfg)
    t = st["tokens_per_caption"]
    print(f"{st['n_captions']} captions ({st['n_skipped']} skipped); tokens/caption mean {t.get('mean', 0):.1f} "
          f"(total {int(t.get('total', 0))}); keywords/caption mean {st['keywords_per_caption'].get('mean', 0):.2f}")
    print("sources: " + ", ".join(f"{k} {v}" for k, v in st["sources"].items()))
    d = st["duration_s"]
    if d.get("n"):
        print(f"durations: mean {d['mean']:.2f} s, max {d['max']:.2f} s ({d['n_missing']} unknown)")
    top = [f"{k} {v['occurrences']}" for k, v in st["keywords"].items() if v["occurrences"]][:8]
    print("top keywords: " + ", ".join(top))
    print(f"-> {args.out}/stats.json")
    return 0


def _validate(args) -> int:
    from .schema import load_records

    records, errors = load_records(args.annotations)
    for e in errors:
        print(e.message)
    print(f"{len(records)} valid record(s), {len(errors)} problem(s)")
    return 1 if errors else 0
