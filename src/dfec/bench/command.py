"""``dfec bench run|table``: the FEC-Bench harness on the command line (light imports only)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DfecError
from ..userfiles import JsonProblem, parse_json
from ..options import non_negative_float, non_negative_int, positive_int


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench_command", metavar="{run,table}")
    sub.required = True

    r = sub.add_parser("run", help="caption every reference video with one model, then score",
                       description="Caption every FEC-Bench reference video with one model (resumable), then score.")
    r.add_argument("--model", required=True,
                   help="landmark | facetrack | openai | qwen2-vl | llava-onevision | package.module:ClassName")
    r.add_argument("--videos", required=True, help="folder holding the videos (DIR/<video>, its basename, or <id>.mp4)")
    r.add_argument("--ref", required=True, help="reference JSON: [{id, video, caption}, ...]")
    r.add_argument("--out", required=True, help="run folder: predictions.jsonl, failures.jsonl, results.json")
    r.add_argument("--model-path", help="local weight folder (facetrack, qwen2-vl, llava-onevision)")
    r.add_argument("--workers", type=int, default=1, help="parallel worker processes (or Ray actors with --ray)")
    r.add_argument("--ray", action="store_true", help="spread the videos over a Ray cluster (needs `pip install ray`)")
    r.add_argument("--ray-address", help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    r.add_argument("--ray-gpus", type=non_negative_float, default=0.0, help="GPUs per Ray worker")
    r.add_argument("--judge", default="offline", choices=["offline", "openai"], help="scorer judge for the 0-5 scores")
    r.add_argument("--judge-opt", action="append", default=[], metavar="KEY=VALUE",
                   help="judge setting passed to the scorer (e.g. model=gpt-4o, base_url=..., api_key=...)")
    r.add_argument("--no-score", action="store_true", help="only caption; score later with `dfec bench run` again")
    r.add_argument("--n-frames", type=positive_int, default=16, help="frames per video for frame-based models (paper: 16)")
    r.add_argument("--instruction", help="override the captioning instruction")
    r.add_argument("--max-new-tokens", type=positive_int, default=256)
    r.add_argument("--device", help="torch device (default: cuda when available)")
    r.add_argument("--dtype", help="torch dtype name, e.g. bfloat16")
    r.add_argument("--api-model", help="model name at the OpenAI-compatible endpoint (env OPENAI_MODEL, default gpt-4o)")
    r.add_argument("--api-base", help="endpoint base URL (env OPENAI_BASE_URL)")
    r.add_argument("--api-key", help="API key (env OPENAI_API_KEY)")
    r.add_argument("--icl", type=non_negative_int, default=0, help="in-context example captions shown first (paper's starred rows)")
    r.add_argument("--icl-file", help="JSON of example captions ([{caption}] or [str]); use training captions, not test ones")
    r.add_argument("--max-retries", type=non_negative_int, default=3, help="API retries per video")
    r.add_argument("--limit", type=positive_int, help="only the first N references")
    r.add_argument("--ids", help="comma-separated reference ids to run")
    r.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="extra option for a custom adapter")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--check", action="store_true", help="only print what the adapter needs and check it is there")

    t = sub.add_parser("table", help="render the leaderboard (paper Table 1 layout) from run folders",
                       description="Render runs' results.json as Markdown, CSV and one PNG bar chart per metric.")
    t.add_argument("runs", nargs="*", help="run folders (e.g. runs/*) or results.json files")
    t.add_argument("--out", help="output folder (default: <parent of the first run>/table)")
    t.add_argument("--paper", action="store_true", help="add the paper's Table 1 as printed (plain and in-context '*' rows apart) and write "
                        "ablation.md: the runs beside the paper's Table 2")
    t.add_argument("--paper-file", help="an alternative published-results JSON (format of dfec/bench/paper_tables.json)")
    t.add_argument("--no-charts", action="store_true")


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


def _icl_captions(path: str | None) -> list[str]:
    if not path:
        return []
    p = Path(path)
    if not p.is_file():
        raise DfecError("no such in-context example file", p)
    from ..userfiles import read_json

    data = read_json(p)
    if isinstance(data, dict):
        data = list(data.values())
    out = []
    for x in data if isinstance(data, list) else []:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, dict) and isinstance(x.get("caption"), str):
            out.append(x["caption"])
    if not out:
        raise DfecError("no captions found (expected [{caption}] or [str])", p)
    return out


def _kv(items: list[str], flag: str) -> dict:
    out = {}
    for kv in items:
        if "=" not in kv:
            raise DfecError(f"{flag} needs KEY=VALUE, got '{kv}'")
        k, v = kv.split("=", 1)
        try:  # numbers and booleans as JSON (concurrency=4, json_mode=false); anything else a string
            out[k.strip()] = parse_json(v)
        except JsonProblem as exc:
            if exc.syntax is None:  # NaN, Infinity, deep nesting
                raise DfecError(f"{flag} {k.strip()}: {exc}") from None
            out[k.strip()] = v
    return out


def _run(args) -> int:
    from .adapters import AdapterOptions
    from .runner import BenchConfig, run_bench

    extra, judge_opts = _kv(args.opt, "--opt"), _kv(args.judge_opt, "--judge-opt")
    opts = AdapterOptions(
        model_path=args.model_path, n_frames=args.n_frames, instruction=args.instruction,
        max_new_tokens=args.max_new_tokens, device=args.device, dtype=args.dtype, api_model=args.api_model,
        api_base=args.api_base, api_key=args.api_key, icl_examples=args.icl, icl_captions=_icl_captions(args.icl_file),
        max_retries=args.max_retries, extra=extra,
    )
    if args.workers < 1:
        raise DfecError("--workers must be at least 1")
    cfg = BenchConfig(
        model=args.model, videos=args.videos, ref=args.ref, out=args.out, options=opts, workers=args.workers,
        ray=args.ray, ray_address=args.ray_address, ray_gpus_per_worker=args.ray_gpus, judge=args.judge,
        judge_options=judge_opts, score=not args.no_score, limit=args.limit, ids=_ids(args.ids),
        progress=not args.no_progress,
    )
    if args.check:
        from .adapters import check_adapter, load_adapter

        adapter = load_adapter(args.model, opts)
        needs = adapter.requires() if callable(getattr(adapter, "requires", None)) else []
        print(f"{getattr(adapter, 'name', args.model)} needs: " + ("; ".join(needs) or "nothing declared"))
        check_adapter(adapter)  # raises MissingDependencyError: one line, non-zero exit
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
    return 0


def _table(args) -> int:
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
    return 0
