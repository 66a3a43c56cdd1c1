"""``dfec bench run|table``: the FEC-Bench harness on the command line (light imports only).

``dfec bench table --html`` is added on the report side (:mod:`dfec.report.bench`, which the
dispatcher runs for ``dfec bench``): this stage never imports :mod:`dfec.report`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch import add_batch_options, parallel_from_args
from ..captioners.cli import add_captioner_options, icl_captions, key_values, options_from_args
from ..errors import DfecError
from ..options import positive_int


def configure(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Add ``run`` and ``table``; returns those sub-parsers by name (for wrappers adding options)."""
    sub = parser.add_subparsers(dest="bench_command", metavar="{run,table}")
    sub.required = True

    r = sub.add_parser("run", help="caption every reference video with one model, then score",
                       description="Caption every FEC-Bench reference video with one model (resumable), then score.")
    r.add_argument("--model", "--captioner", dest="model", required=True,
                   help="the captioner: landmark | facetrack | openai | qwen2-vl | llava-onevision | "
                        "package.module:ClassName (the names of `dfec caption --captioner`)")
    r.add_argument("--videos", required=True, help="folder holding the videos (DIR/<video>, its basename, or <id>.mp4)")
    r.add_argument("--ref", required=True, help="reference JSON: [{id, video, caption}, ...]")
    r.add_argument("--out", required=True, help="run folder: predictions.jsonl, failures.jsonl, results.json")
    r.add_argument("--model-path", help="local weight folder (facetrack, qwen2-vl, llava-onevision)")
    add_batch_options(r)
    r.add_argument("--judge", default="offline", choices=["offline", "openai"], help="scorer judge for the 0-5 scores")
    r.add_argument("--judge-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="judge setting passed to the scorer (e.g. model=gpt-4o, base_url=..., api_key=...)")
    r.add_argument("--no-score", action="store_true", help="only caption; score later with `dfec bench run` again")
    r.add_argument("--limit", type=positive_int, help="only the first N references")
    r.add_argument("--ids", help="comma-separated reference ids to run")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--check", action="store_true", help="only print what the captioner needs and check it is there")
    add_captioner_options(r)

    t = sub.add_parser("table", help="render the leaderboard (paper Table 1 layout) from run folders",
                       description="Render runs' results.json as Markdown, CSV and one PNG bar chart per metric.")
    t.add_argument("runs", nargs="*", help="run folders (e.g. runs/*) or results.json files")
    t.add_argument("--out", help="output folder (default: <parent of the first run>/table)")
    t.add_argument("--paper", action="store_true", help="add the paper's Table 1 as printed (plain and in-context '*' rows apart) and write "
                        "ablation.md: the runs beside the paper's Table 2")
    t.add_argument("--paper-file", help="an alternative published-results JSON (format of dfec/bench/paper_tables.json)")
    t.add_argument("--no-charts", action="store_true")
    return {"run": r, "table": t}


def run(args: argparse.Namespace) -> int:
    from ..userfiles import check_output_dir

    if args.out:
        check_output_dir(args.out)
    if args.bench_command == "run":
        return _run(args)
    return _table(args)


def _ids(text: str | None) -> list[str] | None:
    if text is None:
        return None
    ids = [i.strip() for i in text.split(",") if i.strip()]
    if not ids:
        raise DfecError(f"--ids lists no id: {text!r}")
    return ids


#: old names (kept for code that imported them)
_icl_captions, _kv = icl_captions, key_values


def _run(args) -> int:
    from ..captioners import registry
    from .runner import BenchConfig, run_bench

    judge_opts = key_values(args.judge_opt, "--judge-opt")
    opts = options_from_args(args, args.model_path)
    par = parallel_from_args(args)
    cfg = BenchConfig(
        model=args.model, videos=args.videos, ref=args.ref, out=args.out, options=opts, workers=par.workers,
        ray=par.ray, ray_address=par.ray_address, ray_gpus_per_worker=par.ray_gpus, judge=args.judge,
        judge_options=judge_opts, score=not args.no_score, limit=args.limit, ids=_ids(args.ids),
        progress=not args.no_progress,
    )
    if args.check:
        captioner = registry.load(args.model, opts)
        needs = registry.requires(captioner)
        print(f"{getattr(captioner, 'name', args.model)} needs: " + ("; ".join(needs) or "nothing declared"))
        registry.check(captioner)  # raises MissingDependencyError: one line, non-zero exit
        print("ok: everything it needs is there")
        return 0
    summary = run_bench(cfg)
    print(f"{summary['model']}: {summary['n_predicted']}/{summary['n_refs']} videos captioned "
          f"({summary['n_new']} new, {summary['n_skipped']} resumed, {summary['n_failed']} failed) -> {summary['out']}")
    if summary["n_failed"]:
        print(f"failures: {Path(summary['out']) / 'failures.jsonl'}")
    res = summary.get("results")
    if res:
        from .table import Row, to_markdown, COLUMNS

        vals = {k: res.get("metrics", {}).get(k) for _, k in COLUMNS}
        print(to_markdown([Row(summary["model"], vals)]), end="")
    if summary["n_failed"] and not summary["n_predicted"]:  # every video failed: nothing to score
        raise DfecError(f"no video captioned: all {summary['n_failed']} failed (reasons in failures.jsonl)",
                        summary["out"], exit_code=1)
    return 0


def _table(args) -> int:
    render_table(args)
    return 0


def render_table(args) -> tuple[str, list]:
    """``dfec bench table``: write and print the table; returns its output folder and rows."""
    from ..userfiles import check_output_dir
    from .table import PAPER_TABLE, build_table

    runs = []
    for r in args.runs:
        p = Path(r)
        if p.is_dir() and not (p / "results.json").exists() and (p / "table.md").exists():
            continue  # an earlier table output picked up by runs/*
        runs.append(p)
    out = args.out or (str(runs[0].parent / "table") if runs else "table")
    check_output_dir(out)
    md, rows = build_table(runs, out, paper=args.paper, paper_file=args.paper_file or PAPER_TABLE,
                           charts=not args.no_charts)
    sys.stdout.write(md)
    ablation = Path(out) / "ablation.md"
    if args.paper and ablation.is_file():
        sys.stdout.write("\n" + ablation.read_text(encoding="utf-8"))
    print(f"\nwrote {out}/table.md, {out}/table.csv" + ("" if args.no_charts else f", {out}/charts/*.png")
          + (f", {ablation}" if args.paper else ""))
    return out, rows
