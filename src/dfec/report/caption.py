"""``dfec caption ... --html``: the registry's caption command plus the interactive report.

Usage::

    dfec caption clip.mp4 --out out/clip --html                      # caption, then out/clip/report.html
    dfec caption clip.mp4 --captioner qwen2-vl --model PATH --html   # any registry captioner

Everything but ``--html`` is :mod:`dfec.captioners.command` unchanged. That command sits below this
package in the layer contract (``pyproject.toml``: captioners never import report), so the
dispatcher (:mod:`dfec.cli`) runs ``dfec caption`` through this module, which adds the option and,
after a single-video run, writes ``report.html`` into the folder the command just wrote. ``--html``
with ``--list`` is refused (one page per video: run ``dfec report DIR`` on each output folder).
Only light packages are imported here.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..captioners import command as caption_command
from ..errors import DfecError


def configure(parser: argparse.ArgumentParser) -> None:
    caption_command.configure(parser)
    parser.add_argument("--html", action="store_true",
                        help="also write the interactive report.html into the output folder (see `dfec report`)")


def run(args: argparse.Namespace) -> int:
    html = getattr(args, "html", False)
    if html and args.list_file:
        raise DfecError("--html writes one report per VIDEO; run `dfec report DIR` on each output folder")
    rc = caption_command.run(args)
    if rc == 0 and html:
        from .page import write_report

        page = write_report(caption_command.output_folder(args), video=Path(args.video))
        print(f"report: {page}", file=sys.stderr)
    return rc
