"""Sweep the caption composer's selection settings on the dev clips, robustly.

The caption composer (:mod:`dfec.dynamics.ranking`, :func:`dfec.dynamics.wording.group_events`)
decides how many clauses each of the four phases says and which measured changes win. This script
tracks and measures each dev clip once (``tracks.json`` under ``--work``/new/<clip> is reused, as
by ``caption_quality.py``), detects its events once, then only re-composes the caption for every
setting and scores it with the offline judge (each distinct caption is scored once). Only
selection settings (:data:`SELECTION_FIELDS`) may be swept: they do not change what is detected.

For each setting it prints mean TEM / P / R on the dev clips, the change against the base
setting, how many clips went up and down (by more than ``--tie``), and how often a
leave-one-out choice (best mean over the other clips) picks it. A setting should move the
defaults only when the gain is clear and most changed clips go up.

    python benchmarks/caption_sweep.py --work /work/runs/budget/work \\
        [--grid "max_clauses_per_segment=2,3,4; min_strength=0,1.2"] [--product]
        [--base "rare_strength=2"] [--reference-phases] [--out sweep.json]

``--grid`` values: numbers; ``phase_caps`` as ``3/3/3/2`` (``-`` for empty); ``first_kept_kinds``
as ``blink/eyes_close`` (``-`` for none); ``kind_weights`` as ``head_tilt_left:0.5/gaze_left:2``.
Without ``--product`` each field is varied alone around the base; with it, every combination.
``--reference-phases`` prints how FEC-Bench's 800 references spread their events over the four
phases (reference "61", a held-out clip, is left out).

Only the ``dev`` clips of ``tests/data/wild_captions_by_eye.json`` are run: the held-out clips are
never used for choosing.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import itertools
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import fields, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from caption_quality import CLIP61, DEFAULT_MEDIA, DEFAULT_REFS  # noqa: E402

HELD_OUT_REFERENCE = CLIP61[0]

#: settings that only choose among detected changes (safe to sweep on cached detections)
SELECTION_FIELDS = ("max_clauses_per_segment", "phase_caps", "max_phases_per_kind", "rare_share", "rare_strength",
                    "min_strength", "rank_strength_cap", "share_power", "first_kept_kinds", "kind_weights")

DEFAULT_GRID = ("max_clauses_per_segment=2,4; phase_caps=3/3/3/2,3/4/4/3,2/3/3/3,3/3/3/4; max_phases_per_kind=0,2; "
                "rare_share=0.01,0.03; rare_strength=1.0,2.0,3.0; min_strength=1.2,1.5; rank_strength_cap=2,5; "
                "share_power=0,0.5,2; first_kept_kinds=-")


def parse_value(name: str, text: str):
    """One value of field ``name`` from its ``--grid`` spelling."""
    from dfec.dynamics.config import DynamicsConfig

    text = text.strip()
    if name == "phase_caps":
        return () if text == "-" else tuple(int(v) for v in text.split("/"))
    if name == "first_kept_kinds":
        return () if text == "-" else tuple(v.strip() for v in text.split("/"))
    if name == "kind_weights":
        return {} if text == "-" else {k.strip(): float(v) for k, v in (p.split(":") for p in text.split("/"))}
    default = getattr(DynamicsConfig(), name)
    return type(default)(float(text)) if isinstance(default, int) else float(text)


def parse_grid(spec: str) -> dict[str, list]:
    """``"a=1,2; b=3/3/3/2"`` -> ``{"a": [1, 2], "b": [(3, 3, 3, 2)]}`` (selection fields only)."""
    out: dict[str, list] = {}
    for part in (p.strip() for p in spec.split(";")):
        if not part:
            continue
        name, _, vals = part.partition("=")
        name = name.strip()
        if name not in SELECTION_FIELDS:
            raise SystemExit(f"--grid: {name!r} is not a selection setting ({', '.join(SELECTION_FIELDS)})")
        out[name] = [parse_value(name, v) for v in vals.split(",") if v.strip()]
    return out


def settings(base: dict, grid: dict[str, list], product: bool) -> list[dict]:
    """The settings to run: the base first, then each field varied alone (or every combination)."""
    runs = [dict(base)]
    if product:
        names = list(grid)
        for combo in itertools.product(*(grid[n] for n in names)):
            runs.append({**base, **dict(zip(names, combo))})
    else:
        for name, vals in grid.items():
            runs += [{**base, name: v} for v in vals]
    seen, out = set(), []
    for s in runs:
        key = label(s)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _spell(v) -> str:
    if isinstance(v, dict):
        return "/".join(f"{k}:{x:g}" for k, x in v.items()) or "-"
    if isinstance(v, tuple):
        return "/".join(str(x) for x in v) or "-"
    return f"{v:g}" if isinstance(v, float) else str(v)


def label(s: dict) -> str:
    return "; ".join(f"{k}={_spell(v)}" for k, v in sorted(s.items())) or "(defaults)"


# ------------------------------------------------------------------------------ clips, composing
class Clip:
    """One dev clip measured once: its signals, duration and presence, with detection cached."""

    def __init__(self, cid: str, video: Path, out_dir: Path, reference: str):
        from dfec.dynamics.captioner import load_or_track, measure
        from dfec.dynamics.config import DynamicsConfig

        self.id, self.reference = cid, reference
        out_dir.mkdir(parents=True, exist_ok=True)
        self.sig, self.duration, self.presence = measure(video, load_or_track(video, out_dir), DynamicsConfig())
        self.events = None

    def caption(self, cfg) -> str:
        """The caption under ``cfg`` (detection reused: ``cfg`` differs only in selection settings)."""
        from dfec.dynamics.captioner import describe_clauses, detect_events

        if self.sig is None or len(self.sig) == 0:
            return describe_clauses(self.sig, self.duration, cfg, self.presence)[0]
        if self.events is None:
            self.events = detect_events(self.sig, cfg)
        return describe_clauses(self.sig, self.duration, cfg, self.presence, copy.deepcopy(self.events))[0]


class Scorer:
    """Offline-judge TEM / P / R of one caption against its clip's reference, each caption once."""

    def __init__(self):
        from dfec.metrics.judge import make_judge

        self.judge = make_judge("offline")
        self.cache: dict[tuple[str, str], dict] = {}

    def rows(self, captions: dict[str, str], refs: dict[str, str]) -> dict[str, dict]:
        from dfec.metrics.scorer import score

        todo = {cid: cap for cid, cap in captions.items() if (cid, cap) not in self.cache}
        if todo:
            with contextlib.redirect_stderr(io.StringIO()):  # CIDEr's small-reference-set note
                res = score(todo, {cid: refs[cid] for cid in todo}, judge=self.judge)
            for cid, row in res["per_sample"].items():
                self.cache[(cid, todo[cid])] = {k: row.get(k) for k in ("tem", "precision", "recall")}
        return {cid: self.cache[(cid, cap)] for cid, cap in captions.items()}


# ------------------------------------------------------------------------------------- report
def summarize(results: list[tuple[dict, dict[str, dict]]], tie: float) -> list[dict]:
    """Per setting: means, change against the first (base) setting, clips up / down, and how
    often a leave-one-out choice picks it."""
    base_rows = results[0][1]
    ids = list(base_rows)
    means = [statistics.fmean(rows[i]["tem"] for i in ids) for _, rows in results]
    loo = Counter()
    for out in ids:
        rest = [i for i in ids if i != out]
        best = max(range(len(results)), key=lambda k: (round(statistics.fmean(results[k][1][i]["tem"] for i in rest), 9), -k))
        loo[best] += 1
    table = []
    for k, (s, rows) in enumerate(results):
        d = [rows[i]["tem"] - base_rows[i]["tem"] for i in ids]
        table.append({"setting": label(s), "tem": means[k], "precision": statistics.fmean(rows[i]["precision"] for i in ids),
                      "recall": statistics.fmean(rows[i]["recall"] for i in ids), "delta": means[k] - means[0],
                      "up": sum(x > tie for x in d), "down": sum(x < -tie for x in d), "worst": min(d),
                      "loo": loo[k], "per_clip": {i: rows[i]["tem"] for i in ids}})
    return table


def print_table(table: list[dict], n: int) -> None:
    print(f"| setting | TEM | P | R | dTEM | clips up | clips down | worst clip | LOO picks (of {n}) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in table:
        print(f"| {r['setting']} | {r['tem']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['delta']:+.3f} | "
              f"{r['up']} | {r['down']} | {r['worst']:+.3f} | {r['loo']} |")


# ----------------------------------------------------------------------- references per phase
_PHASE_OF = ((0, r"beginning|at first|initially|at the start|start of the video"), (1, r"progress"),
             (2, r"middle|midway|halfway"),
             (3, r"towards? the end|end of the video|at the end|near the end|by the end|finally|lastly"))


def reference_phases(path: Path) -> list[list[int]]:
    """Per reference, the number of events (TEM's extractor) in each of the four phases: a
    sentence belongs to the phase its time phrase names, or to the one before it. Reference
    :data:`HELD_OUT_REFERENCE` is left out."""
    from dfec.metrics.events import extract_events, split_sentences
    from dfec.metrics.references import load_references

    out = []
    for r in load_references(path):
        if str(r["id"]) == HELD_OUT_REFERENCE:
            continue
        n, cur = [0, 0, 0, 0], None
        for s in split_sentences(r["caption"]):
            cur = next((k for k, pat in _PHASE_OF if re.search(rf"\b(?:{pat})", s, re.I)), cur)
            if cur is not None:
                n[cur] += len(extract_events(s))
        out.append(n)
    return out


def print_reference_phases(counts: list[list[int]]) -> None:
    names = ("beginning", "progresses", "middle", "end")
    print(f"\n### events per phase in FEC-Bench's references ({len(counts)} captions, TEM's extractor)\n")
    print("| phase | mean | median | median where > 0 | phases with 0 | 1-2 | 3 | 4 | 5+ |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for k, name in enumerate(names):
        c = [n[k] for n in counts]
        nz = [x for x in c if x > 0]
        print(f"| {name} | {statistics.fmean(c):.2f} | {statistics.median(c):g} | "
              f"{statistics.median(nz) if nz else 0:g} | {sum(x == 0 for x in c)} | {sum(1 <= x <= 2 for x in c)} | "
              f"{sum(x == 3 for x in c)} | {sum(x == 4 for x in c)} | {sum(x >= 5 for x in c)} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="selection settings: " + ", ".join(SELECTION_FIELDS))
    ap.add_argument("--refs", default=str(DEFAULT_REFS), help="by-eye reference captions with a dev/test split")
    ap.add_argument("--media", default=str(DEFAULT_MEDIA), help="folder holding wild/ and fecbench_test_captions.json")
    ap.add_argument("--work", required=False, default=None,
                    help="folder whose new/<clip>/tracks.json are reused (as caption_quality.py --work)")
    ap.add_argument("--grid", default=DEFAULT_GRID, help="'field=v1,v2; field2=...' (default: a small built-in grid)")
    ap.add_argument("--base", default="", help="settings every run starts from ('field=value; ...'; default: the defaults)")
    ap.add_argument("--product", action="store_true", help="every combination of --grid, not one field at a time")
    ap.add_argument("--tie", type=float, default=0.005, help="a clip moving less than this counts as unchanged")
    ap.add_argument("--reference-phases", action="store_true", help="also print the references' events per phase")
    ap.add_argument("--no-sweep", action="store_true", help="only --reference-phases")
    ap.add_argument("--out", default=None, help="write the table with per-clip TEM here (JSON)")
    args = ap.parse_args(argv)

    from dfec.dynamics.config import DynamicsConfig

    media = Path(args.media)
    if args.reference_phases:
        path = media / "fecbench_test_captions.json"
        if not path.is_file():
            print(f"caption_sweep: {path}: not found", file=sys.stderr)
            return 1
        print_reference_phases(reference_phases(path))
    if args.no_sweep:
        return 0
    if not args.work:
        ap.error("--work is required for a sweep")
    base = {k: v[0] for k, v in parse_grid(args.base).items()}
    grid = parse_grid(args.grid)
    runs = settings(base, grid, args.product)
    known = {f.name for f in fields(DynamicsConfig)}
    assert set(SELECTION_FIELDS) <= known

    doc = json.loads(Path(args.refs).read_text())
    dev = [c for c in doc["captions"] if c.get("split", "test") == "dev" and (media / c["video"]).is_file()]
    if not dev:
        print(f"caption_sweep: no dev clip found under {media}", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    clips = [Clip(c["id"], media / c["video"], Path(args.work) / "new" / c["id"], c["caption"]) for c in dev]
    refs = {c.id: c.reference for c in clips}
    print(f"measured {len(clips)} dev clips in {time.perf_counter() - t0:.1f} s (load {os.getloadavg()[0]:.1f})",
          file=sys.stderr)
    scorer = Scorer()
    results, captions = [], []
    for s in runs:
        cfg = replace(DynamicsConfig(), **s)
        caps = {c.id: c.caption(cfg) for c in clips}
        results.append((s, scorer.rows(caps, refs)))
        captions.append(caps)
    table = summarize(results, args.tie)
    for row, caps in zip(table, captions):
        row["captions"] = caps
    print(f"\n### dev clips ({len(clips)}), offline judge; {len(runs)} settings, the first is the base; "
          f"{len(scorer.cache)} distinct captions scored in {time.perf_counter() - t0:.0f} s "
          f"(load {os.getloadavg()[0]:.1f})\n")
    print_table(table, len(clips))
    if args.out:
        Path(args.out).write_text(json.dumps(table, indent=1))
        print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
