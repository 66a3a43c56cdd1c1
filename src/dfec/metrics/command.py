"""``dfec score``: score a prediction file against FEC-Bench references.

    dfec score --pred PRED.jsonl --ref REF.json [--judge offline|openai] [--model M] [--base-url URL]
               [--out results.json]

PRED is JSON Lines, one ``{"id": ..., "caption": ...}`` per line; REF is the FEC-Bench format, a JSON
list of ``{"id", "video", "caption"}``. Missing and extra ids are printed and kept in the results.
Only light modules are imported here; the offline judge loads sentence-transformers on first use.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import DfecError
from ..options import non_negative_float, non_negative_int, positive_float, positive_int

__all__ = ["configure", "run", "load_predictions", "load_references"]


def configure(parser) -> None:
    parser.add_argument("--pred", required=True, help="predictions, JSON Lines of {id, caption}")
    parser.add_argument("--ref", required=True, help="references, FEC-Bench JSON list of {id, video, caption}")
    parser.add_argument("--judge", choices=("offline", "openai"), default="offline",
                        help="offline: rules + bundled MiniLM (no API, no Video-ChatGPT scores); "
                             "openai: any OpenAI-compatible chat endpoint (default: offline)")
    parser.add_argument("--model", default=None, help="judge model name (default: $DFEC_JUDGE_MODEL or gpt-4o-mini)")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible endpoint (default: $OPENAI_BASE_URL)")
    parser.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")
    parser.add_argument("--cache", default=None,
                        help="SQLite judge cache (default: $DFEC_JUDGE_CACHE or ~/.cache/dfec/judge_cache.sqlite)")
    parser.add_argument("--concurrency", type=positive_int, default=8, help="parallel judge requests (default 8)")
    parser.add_argument("--max-retries", type=non_negative_int, default=5, help="retries on 429/5xx/timeouts per call (default 5)")
    parser.add_argument("--timeout", type=positive_float, default=60.0, help="seconds per judge request (default 60)")
    parser.add_argument("--no-format-conversion", action="store_true",
                        help="skip the paper's rewrite-into-reference-style step before the judge scores")
    parser.add_argument("--no-judge-scores", action="store_true",
                        help="skip the five Video-ChatGPT scores (TEM and AutoDQ only)")
    parser.add_argument("--no-json-mode", action="store_true",
                        help="do not send response_format=json_object (for endpoints that reject it)")
    parser.add_argument("--price-prompt", type=non_negative_float, default=None, help="USD per 1M prompt tokens (cost line)")
    parser.add_argument("--price-completion", type=non_negative_float, default=None, help="USD per 1M completion tokens")
    parser.add_argument("--name", default=None, help="row name in the table (default: the prediction file's stem)")
    parser.add_argument("--out", default="results.json", help="results JSON; a Markdown table is written beside it")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def load_references(path) -> dict[str, str]:
    """FEC-Bench references ``[{id, video, caption}]`` (also ``{id: caption}`` or JSONL) -> {id: caption}."""
    from .references import load_references as load_records

    return {r["id"]: r["caption"] for r in load_records(path)}


def load_predictions(path) -> dict[str, str]:
    """Predictions JSONL ``{"id", "caption"}`` per line -> {id: caption}; bad lines name their number."""
    from ..userfiles import read_jsonl
    from .references import caption_text, record_id

    p = Path(path)
    preds: dict[str, str] = {}
    for n, rec in read_jsonl(p, "a JSONL file"):
        if not isinstance(rec, dict) or "id" not in rec:
            raise DfecError(f"line {n} lacks an id", p)
        cap = rec.get("caption", rec.get("prediction"))
        if not isinstance(cap, str):
            raise DfecError(f"line {n} lacks a caption string", p)
        pid = record_id(rec["id"], f"line {n}", p)
        if pid in preds:
            raise DfecError(f"duplicate prediction id {pid!r} (line {n})", p)
        preds[pid] = cap
    if not preds:
        raise DfecError("no predictions in the file", p)
    return preds


def _ids_line(ids: list[str], limit: int = 10) -> str:
    return ", ".join(ids[:limit]) + (f", ... ({len(ids)} in all)" if len(ids) > limit else "")


def run(args) -> int:
    from .report import markdown_table, write_results
    from ..userfiles import check_output_file
    from .scorer import score

    check_output_file(args.out)
    refs = load_references(args.ref)
    preds = load_predictions(args.pred)
    missing = [r for r in refs if r not in preds]
    extra = [p for p in preds if p not in refs]
    if not any(r in preds for r in refs):
        raise DfecError(f"no prediction id matches a reference id in {args.ref}", args.pred)
    if missing:
        print(f"dfec: warning: {len(missing)} reference id(s) have no prediction: {_ids_line(missing)}", file=sys.stderr)
    if extra:
        print(f"dfec: warning: {len(extra)} prediction id(s) are not in the references: {_ids_line(extra)}",
              file=sys.stderr)
    kw = {}
    if args.judge == "openai":
        kw = dict(model=args.model, base_url=args.base_url, api_key=args.api_key, cache_path=args.cache,
                  concurrency=args.concurrency, max_retries=args.max_retries, timeout_s=args.timeout,
                  format_conversion=not args.no_format_conversion, video_chatgpt_scores=not args.no_judge_scores,
                  json_mode=not args.no_json_mode, price_prompt_per_mtok=args.price_prompt, price_completion_per_mtok=args.price_completion)
    name = args.name or Path(args.pred).stem
    results = score(preds, refs, judge=args.judge, progress=not args.quiet, name=name, **kw)
    json_path, md_path = write_results(results, args.out)
    print(markdown_table([results]), end="")
    if results["n_failed"]:
        print(f"dfec: warning: the judge failed on {results['n_failed']} sample(s): {_ids_line(results['failed_ids'])}",
              file=sys.stderr)
    j = results["judge"]
    if args.judge == "openai":
        print(f"judge {j['model']}: {j['api_calls']} API calls, {j['cache_hits']} cache hits, "
              f"{j['prompt_tokens']} + {j['completion_tokens']} tokens")
    print(f"wrote {json_path} and {md_path}")
    return 0
