"""Draw candidate relation pairs (batch v7) for hand labelling: tests/data/relation_pairs.md.

    python benchmarks/draw_relation_pairs.py [--ref ../shared/data/fecbench_test_captions.json] > candidates.jsonl

As batches v5/v6 were drawn: event phrases of the 800 FEC-Bench references (reference 61, a held-out clip,
left out) that no earlier labelled pair uses, grouped by plain keyword pools (regular expressions on
the words, never the parser), paired at random with a fixed seed. It prints one JSON line per
candidate (``tag``, ``a``, ``b``, ``ref_ids``); labels are given by hand afterwards, before the judge
is run on them. Pools of v7: the face (partly) in or out of view; darting / flickering eyes against gaze shifts; undirected
head movements against turns and tilts; returns of the
head to the front / centre; swaying from side to side against tilts and turns; and same-region pairs
of brows, eyes, mouth (a plain control draw).
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
PAIRS = REPO / "tests" / "data" / "relation_pairs.jsonl"
HELD_OUT_REF = "61"


def phrases(ref_path: Path) -> dict[str, str]:
    """Unused event phrases (at most 16 words) -> the id of the first reference that has it."""
    from dfec.metrics.events import extract_events
    from dfec.metrics.references import load_references

    used = set()
    for line in PAIRS.read_text().splitlines():
        if line.strip():
            p = json.loads(line)
            used |= {p["a"].lower(), p["b"].lower()}
    out: dict[str, str] = {}
    for r in load_references(str(ref_path)):
        if str(r["id"]) == HELD_OUT_REF:
            continue
        for e in extract_events(r["caption"]):
            e2 = e.lower().strip()
            if e2 not in used and len(e2.split()) <= 16:
                out.setdefault(e2, str(r["id"]))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", type=Path, default=REPO.parent / "shared" / "data" / "fecbench_test_captions.json")
    ap.add_argument("--seed", type=int, default=20261207)
    args = ap.parse_args(argv)
    ph = phrases(args.ref)
    P = sorted(ph)

    def pool(rx, no=None):
        return [p for p in P if re.search(rx, p) and not (no and re.search(no, p))]

    DIRW = r"\b(left|right|up|upward|upwards|down|downward|downwards|forward|back|backward|front|side|center|centre|ahead)\b"
    # the face (or part of it) in or out of view: few references say it, so the pool is paired with itself
    view = pool(r"\b(face|head)\b.*\b(visible|in view|out of (the )?(view|frame)|disappears?|obscured|hidden|covered)\b")
    head_open = pool(r"\bhead\b.*\b(moves|moving|movement|movements|shifts|shifting|motion)\b", no=DIRW)
    head_dir = pool(r"\bhead\b.*\b(turns|tilts|tilt|turn|turning|tilting|turned|tilted)\b.*\b(left|right)\b")
    dart = pool(r"\b(dart|darts|darting|flick|flicks|flicking|flicker|flickers|flit|flits|wander|wanders|wandering|"
                r"shifty|roam|roams)\b|\b(eyes|eyeballs|gaze)\b.*\b(quickly|rapidly|around)\b")
    eye_dir = pool(r"\b(eyes|eyeballs|gaze|looks?|looking|glances?)\b.*\b(left|right|up|upward|down|downward|aside|away|around)\b")
    ahead = pool(r"\b(back to the (front|center|centre|middle)|faces? forward|facing forward|facing the camera|"
                 r"straighten\w*|returns? to (the )?(center|centre|front|middle|normal|original)|head (is )?upright)\b")
    sway = pool(r"\b(sway|sways|swaying|side to side|side-to-side|left and right|wobbl\w*|rock|rocks|rocking)\b")
    tilt_dir = pool(r"\btilt\w*\b.*\b(left|right)\b")
    turn_dir = pool(r"\bturn\w*\b.*\b(left|right)\b", no=r"\btilt")
    brows = pool(r"\b(eyebrows?|brows?)\b", no=r"\b(mouth|head|eyes|lips)\b")
    eyes = pool(r"^(his|her|their|the) (eyes|eyelids)\b", no=r"\b(mouth|head|look\w*|gaz\w*|eyebrows?|brows?)\b")
    mouth = pool(r"\b(mouth|lips)\b", no=r"\b(eyes|head|eyebrows?|brows?|speak\w*|talk\w*)\b")
    print(*(f"{n} {len(p)}" for n, p in [("view", view), ("head_open", head_open),
                                          ("head_dir", head_dir), ("dart", dart), ("eye_dir", eye_dir),
                                          ("ahead", ahead), ("sway", sway), ("brows", brows), ("eyes", eyes),
                                          ("mouth", mouth)]), file=sys.stderr)
    rng = random.Random(args.seed)
    seen = set()

    def add(pa, pb, n, tag):
        got, tries = 0, 0
        while got < n and tries < 200 and pa and pb:
            tries += 1
            a, b = rng.choice(pa), rng.choice(pb)
            if a == b or (a, b) in seen or (b, a) in seen:
                continue
            seen.add((a, b))
            if rng.random() < 0.5:
                a, b = b, a
            got += 1
            print(json.dumps({"tag": tag, "a": a, "b": b, "ref_ids": [ph[a], ph[b]]}))

    add(view, view, 1, "view")
    add(dart, eye_dir, 2, "dart")
    add(head_open, head_dir, 8, "headopen")
    add(ahead, ahead + head_dir, 8, "ahead")
    add(sway, tilt_dir + turn_dir + sway, 8, "sway")
    add(brows, brows, 4, "brows")
    add(eyes, eyes, 4, "eyes")
    add(mouth, mouth, 4, "mouth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
