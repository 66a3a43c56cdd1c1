"""``dfec report OUT_DIR``: write an interactive, self-contained ``report.html`` for an output folder.

Usage::

    dfec report out/clip                          # -> out/clip/report.html
    dfec report out/clip --video clip.mp4         # the video, when it moved since tracking
    dfec report out/clip --video-mode link        # reference the video instead of embedding it
    dfec report out/clip --screenshot page.png    # also render the page to a PNG (headless chromium)

The folder is what ``dfec track`` and ``dfec caption`` write (``tracks.json``, ``events.json``,
``caption.txt``); any subset works. Only light packages are imported here.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    from .video import EMBED_LIMIT_MB, MODES

    parser.add_argument("out_dir", help="output folder of `dfec track` / `dfec caption`")
    parser.add_argument("--video", default=None, help="the video file (default: the path recorded in tracks.json)")
    parser.add_argument("--out", "-o", default=None, help="the page to write (default OUT_DIR/report.html)")
    parser.add_argument("--video-mode", choices=MODES, default="auto",
                        help=f"embed the video in the page, link it by a relative path, or auto "
                             f"(embed up to {EMBED_LIMIT_MB:.0f} MB)")
    parser.add_argument("--screenshot", default=None, metavar="PNG",
                        help="also render the page to this PNG with headless chromium")


def run(args: argparse.Namespace) -> int:
    from ..userfiles import check_output_file
    from .page import write_report

    if args.out:
        check_output_file(args.out, "report page (--out)")
    if args.screenshot:
        check_output_file(args.screenshot, "screenshot (--screenshot)")

    page = write_report(args.out_dir, video=args.video, out=args.out, video_mode=args.video_mode)
    print(f"wrote {page}")
    if args.screenshot:
        from .headless import shoot

        shoot(page, args.screenshot, wait="document.getElementById('video').readyState >= 2 "
                                          "|| document.getElementById('novideo').style.display === 'block'")
        print(f"wrote {Path(args.screenshot)}")
    return 0
