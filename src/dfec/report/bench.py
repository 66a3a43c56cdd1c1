"""``dfec bench ... [table --html]``: the bench command plus the leaderboard page.

Usage::

    dfec bench table runs/* --paper --html      # table.md, table.csv, charts and table.html

Everything but ``table --html`` is :mod:`dfec.bench.command` unchanged. That command sits below
this package in the layer contract (``pyproject.toml``: bench never imports report), so the
dispatcher (:mod:`dfec.cli`) runs ``dfec bench`` through this module, which adds ``--html`` to
``bench table`` and, after the table is written, writes ``table.html`` beside it
(:mod:`dfec.report.bench_html`). Only light packages are imported here.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..bench import command as bench_command


def configure(parser: argparse.ArgumentParser) -> None:
    subs = bench_command.configure(parser)
    subs["table"].add_argument("--html", action="store_true",
                               help="also write table.html: sortable leaderboard, per-metric charts, "
                                    "per-sample captions vs references")


def run(args: argparse.Namespace) -> int:
    if args.bench_command != "table" or not getattr(args, "html", False):
        return bench_command.run(args)
    from ..userfiles import check_output_dir
    from .bench_html import write_bench_html

    if args.out:
        check_output_dir(args.out)
    out, rows = bench_command.render_table(args)
    print(f"wrote {write_bench_html(rows, Path(out) / 'table.html')}")
    return 0
