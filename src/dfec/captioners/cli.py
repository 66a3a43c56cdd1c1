"""Command-line options every captioner shares (``dfec caption`` and ``dfec bench run``); the batch
options (``--workers``, ``--ray``) come from :mod:`dfec.batch`."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DfecError
from ..options import non_negative_int, positive_int
from ..userfiles import JsonProblem, parse_json
from .base import DEFAULT_N_FRAMES, CaptionerOptions


def add_captioner_options(parser: argparse.ArgumentParser) -> None:
    """Model settings: frames, instruction, decoding, device, the OpenAI-compatible endpoint, ``--opt``."""
    g = parser.add_argument_group("captioner settings")
    g.add_argument("--n-frames", type=positive_int, default=DEFAULT_N_FRAMES,
                   help="frames per video for frame-based models (paper: 16)")
    g.add_argument("--instruction", help="override the captioning instruction")
    g.add_argument("--max-new-tokens", type=positive_int, default=256)
    g.add_argument("--device", help="torch device (default: cuda when available)")
    g.add_argument("--dtype", help="torch dtype name, e.g. bfloat16")
    g.add_argument("--api-model", help="model name at the OpenAI-compatible endpoint (env OPENAI_MODEL, default gpt-4o)")
    g.add_argument("--api-base", help="endpoint base URL (env OPENAI_BASE_URL)")
    g.add_argument("--api-key", help="API key (env OPENAI_API_KEY)")
    g.add_argument("--icl", type=non_negative_int, default=0, help="in-context example captions shown first (paper's starred rows)")
    g.add_argument("--icl-file", help="JSON of example captions ([{caption}] or [str]); use training captions, not test ones")
    g.add_argument("--max-retries", type=non_negative_int, default=3, help="API retries per video")
    g.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE", help="extra option for a custom captioner")


def icl_captions(path: str | None) -> list[str]:
    """Example captions for in-context prompting from ``[{caption}]``, ``[str]`` or ``{id: caption}``."""
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


def key_values(items: list[str], flag: str) -> dict:
    """``KEY=VALUE`` options as a dict; values that parse as JSON (numbers, booleans) are typed."""
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


def options_from_args(args: argparse.Namespace, model_path: str | None, **overrides) -> CaptionerOptions:
    if args.n_frames < 1:
        raise DfecError(f"--n-frames must be at least 1, got {args.n_frames}")
    if args.max_new_tokens < 1:
        raise DfecError(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}")
    if args.icl < 0 or args.max_retries < 0:
        raise DfecError("--icl and --max-retries must not be negative")
    return CaptionerOptions(
        model_path=model_path, n_frames=args.n_frames, instruction=args.instruction,
        max_new_tokens=args.max_new_tokens, device=args.device, dtype=args.dtype, api_model=args.api_model,
        api_base=args.api_base, api_key=args.api_key, icl_examples=args.icl, icl_captions=icl_captions(args.icl_file),
        max_retries=args.max_retries, extra=key_values(args.opt, "--opt"), **overrides)
