"""Caption quality of the training-free landmark captioner against by-eye and official references.

Four rows, scored with the FEC-Bench scorer (``dfec.metrics.scorer.score``, offline judge by
default): TEM, AutoDQ precision / recall / F and ROUGE-L, per clip and as means per half:

* ``new``: the current landmark captioner (``dfec caption``: MediaPipe face stack, mesh, iris and
  pixel signals);
* ``previous``: the landmark captioner of commit ``bea84bc`` (68 dlib landmarks only, dlib HOG
  tracking), run from that commit's sources (``git archive``) in a subprocess;
* ``fixed``: one fixed caption of the most common FEC-Bench events, the same for every clip;
* ``clip 61``: FEC-Bench test clip 61 (``wild/emollama__sample_00001073.mp4``) against its official
  reference, for the new and the previous captioner.

The by-eye references (``tests/data/wild_captions_by_eye.json``) were written before the new
captioner produced any caption for them, in two batches, each with a split frozen by a seeded shuffle
before any tuning: ``dev`` (both batches; thresholds may be tuned there), ``test`` (batch 1) and
``test2`` (batch 2). Reported separately: test, test2, all test (= test + test2: the result), dev,
and dev batch 1 (the "dev half" of the first report).

    python benchmarks/caption_quality.py [--refs FILE] [--media DIR] [--work DIR] [--out results.json]
        [--systems new,previous,fixed] [--splits dev,test,test2] [--counts] [--noise] [--judge offline]

``--work`` keeps each system's per-clip outputs (``tracks.json`` is reused on the next run).
``--splits`` runs only the clips of those splits (e.g. ``--splits dev`` while tuning; clip 61 is run
when a test split is included). ``--counts`` also prints blink and speaking-run counts against the
by-eye counts, for every counted clip that was run.
``--noise`` prints the false-event rate on noisy synthetic sequences (68 points and mesh).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFS = REPO / "tests" / "data" / "wild_captions_by_eye.json"
DEFAULT_MEDIA = REPO.parent / "shared" / "data"
PREVIOUS_COMMIT = "bea84bc"
CLIP61 = ("61", "wild/emollama__sample_00001073.mp4")
FIXED = (
    "The video shows the facial movements of the main person.\n"
    "At the beginning of the video, their eyes are open, looking straight ahead, and their mouth is closed. "
    "As the video progresses, their mouth opens, and the person starts speaking.\n"
    "In the middle of the video, the person blinks, and their head tilts slightly.\n"
    "Towards the end of the video, the person stops speaking, and their mouth closes."
)
COLUMNS = (("tem", "TEM"), ("precision", "P"), ("recall", "R"), ("autodq", "F"), ("rouge_l", "ROUGE-L"))


def previous_sources(work: Path) -> Path:
    """The ``src`` folder of commit :data:`PREVIOUS_COMMIT`, extracted once under ``work``."""
    dest = work / f"src_{PREVIOUS_COMMIT}"
    if not (dest / "src" / "dfec").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", PREVIOUS_COMMIT, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def caption_previous(video: Path, out_dir: Path, src: Path) -> str:
    """The previous captioner's caption, run from its own sources (a cached result is reused)."""
    cap = out_dir / "caption.txt"
    if cap.is_file() and (out_dir / "tracks.json").is_file():
        return cap.read_text().strip()
    out_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(src))
    code = ("import sys; from dfec.dynamics.captioner import caption_video; "
            "print(caption_video(sys.argv[1], out_dir=sys.argv[2]).caption)")
    subprocess.run([sys.executable, "-c", code, str(video), str(out_dir)], env=env, check=True, capture_output=True)
    return cap.read_text().strip()


def caption_new(video: Path, out_dir: Path):
    from dfec.dynamics.captioner import caption_video

    return caption_video(video, out_dir=out_dir)


def per_clip(res: dict) -> dict[str, dict]:
    return {k: {c: v.get(c) for c, _ in COLUMNS} for k, v in (res.get("per_sample") or {}).items()}


def _mean(rows: list[dict], key: str):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


SPLITS = ("dev", "test", "test2")
TEST_SPLITS = ("test", "test2")


def halves(split: dict[str, str], batch: dict[str, int] | None = None) -> list[tuple[str, list[str]]]:
    """The groups of clips reported, in print order: ``(title, ids)``; empty groups are left out.

    ``test`` is the first batch's held-out half, ``test2`` the second batch's, "all test" both;
    ``dev`` holds the dev clips of every batch, and "dev batch 1" the six of the first report."""
    batch = batch or {}
    ids = list(split)
    groups = [
        ("test half", [i for i in ids if split[i] == "test"]),
        ("test2 half", [i for i in ids if split[i] == "test2"]),
        ("all test (test + test2)", [i for i in ids if split[i] in TEST_SPLITS]),
        ("dev half (all batches)", [i for i in ids if split[i] == "dev"]),
        ("dev batch 1", [i for i in ids if split[i] == "dev" and batch.get(i, 1) == 1]),
    ]
    out, seen = [], set()
    for title, members in groups:
        key = tuple(members)
        if members and key not in seen:        # e.g. one batch only: "dev batch 1" = "dev half"
            out.append((title, members))
            seen.add(key)
    return out


def means(rows: dict[str, dict], ids: list[str]) -> dict[str, float | None]:
    sel = [rows[i] for i in ids if i in rows]
    return {k: _mean(sel, k) for k, _ in COLUMNS}


def table(title: str, systems: dict[str, dict[str, dict]], ids: list[str]) -> None:
    print(f"\n### {title} ({len(ids)} clips)\n")
    print("| system | " + " | ".join(h for _, h in COLUMNS) + " |")
    print("|---|" + "---:|" * len(COLUMNS))
    for name, rows in systems.items():
        sel = [rows[i] for i in ids if i in rows]
        print(f"| {name} | " + " | ".join(_fmt(_mean(sel, k)) for k, _ in COLUMNS) + " |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refs", default=str(DEFAULT_REFS), help="by-eye reference captions with a dev/test split")
    ap.add_argument("--media", default=str(DEFAULT_MEDIA), help="folder holding wild/ and fecbench_test_captions.json")
    ap.add_argument("--work", default=None, help="folder for per-clip outputs (reused); default: temp")
    ap.add_argument("--out", default=None, help="write every caption and score here (JSON)")
    ap.add_argument("--systems", default="new,previous,fixed")
    ap.add_argument("--splits", default=",".join(SPLITS), help="run only the clips of these splits")
    ap.add_argument("--judge", default="offline")
    ap.add_argument("--counts", action="store_true", help="blink / speaking counts against the by-eye counts")
    ap.add_argument("--noise", action="store_true", help="false events on noisy synthetic sequences")
    args = ap.parse_args(argv)

    from dfec.metrics.references import load_references
    from dfec.metrics.scorer import score

    doc = json.loads(Path(args.refs).read_text())
    media = Path(args.media)
    want = {s.strip() for s in args.splits.split(",") if s.strip()}
    if want - set(SPLITS):
        ap.error(f"--splits: unknown {sorted(want - set(SPLITS))}; known: {', '.join(SPLITS)}")
    clips = [c for c in doc["captions"] if c.get("split", "test") in want and (media / c["video"]).is_file()]
    if not clips:
        print(f"no clip with a reference found in {media}", file=sys.stderr)
        return 1
    scratch = None if args.work else tempfile.TemporaryDirectory(prefix="dfec_caption_quality_")  # removed at the end
    work = Path(args.work) if args.work else Path(scratch.name)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    refs = {c["id"]: c["caption"] for c in clips}
    split = {c["id"]: c.get("split", "test") for c in clips}
    batch = {c["id"]: c.get("batch", 1) for c in clips}
    official = {r["id"]: r for r in load_references(media / "fecbench_test_captions.json")} \
        if (media / "fecbench_test_captions.json").is_file() else {}
    with61 = CLIP61[0] in official and (media / CLIP61[1]).is_file() and bool(want & set(TEST_SPLITS))

    captions: dict[str, dict[str, str]] = {s: {} for s in systems}
    new_results = {}
    prev_src = previous_sources(work) if "previous" in systems else None
    jobs = [(c["id"], media / c["video"]) for c in clips] + ([(f"clip{CLIP61[0]}", media / CLIP61[1])] if with61 else [])
    for cid, video in jobs:
        for s in systems:
            t0 = time.perf_counter()
            if s == "new":
                r = caption_new(video, work / "new" / cid)
                new_results[cid] = r
                captions[s][cid] = r.caption
            elif s == "previous":
                captions[s][cid] = caption_previous(video, work / "previous" / cid, prev_src)
            elif s == "fixed":
                captions[s][cid] = FIXED
            else:
                raise SystemExit(f"unknown system {s!r}")
            print(f"[{s}] {cid}: {time.perf_counter() - t0:.1f} s (load {os.getloadavg()[0]:.1f})", file=sys.stderr)

    scored = {}
    for s in systems:
        res = score({k: v for k, v in captions[s].items() if k in refs}, refs, judge=args.judge)
        scored[s] = per_clip(res)
    groups = halves(split, batch)
    print(f"Caption quality against by-eye references ({args.judge} judge); dev = thresholds tuned there, "
          f"test and test2 = held out (all test = the result)")
    for title, ids in groups:
        table(title, scored, ids)

    print("\n### per clip (TEM)\n")
    print("| clip | split | " + " | ".join(systems) + " |")
    print("|---|---|" + "---:|" * len(systems))
    for i in refs:
        print(f"| {i} | {split[i]} | " + " | ".join(_fmt(scored[s].get(i, {}).get("tem")) for s in systems) + " |")

    clip61 = {}
    if with61:
        ref61 = {CLIP61[0]: official[CLIP61[0]]["caption"]}
        rows = {}
        for s in systems:
            if s == "fixed":
                pred = FIXED
            else:
                pred = captions[s][f"clip{CLIP61[0]}"]
            res = score({CLIP61[0]: pred}, ref61, judge=args.judge)
            rows[s] = per_clip(res)[CLIP61[0]]
            clip61[s] = {"caption": pred, **rows[s]}
        print(f"\n### clip 61 against its official FEC-Bench reference\n")
        print("| system | " + " | ".join(h for _, h in COLUMNS) + " |")
        print("|---|" + "---:|" * len(COLUMNS))
        for s, r in rows.items():
            print(f"| {s} | " + " | ".join(_fmt(r[k]) for k, _ in COLUMNS) + " |")

    counted = {}
    if args.counts and "new" in systems:
        counted = counts_table(doc, new_results)
    if args.noise:
        noise_table()
    if args.out:
        summary = {title: {"ids": ids, **{s: means(scored[s], ids) for s in systems}} for title, ids in groups}
        Path(args.out).write_text(json.dumps({"captions": captions, "scores": scored, "split": split,
                                              "halves": summary, "clip61": clip61, "counts": counted}, indent=1))
        print(f"\nresults: {args.out}")
    return 0


BLINK_TOL_S = 0.25


def _in_window(events, window) -> list:
    lo, hi = window
    return [e for e in events if lo <= e.start <= hi]


def matched_blinks(eye: list[float], found: list[float], tol: float = BLINK_TOL_S) -> int:
    """By-eye blinks with a found blink within ``tol`` seconds, each found blink used once (nearest first)."""
    pairs = sorted((abs(a - b), i, j) for i, a in enumerate(eye) for j, b in enumerate(found) if abs(a - b) <= tol)
    used_i, used_j = set(), set()
    for _, i, j in pairs:
        if i not in used_i and j not in used_j:
            used_i.add(i)
            used_j.add(j)
    return len(used_i)


def speech_iou(eye: list, found: list, window, step: float = 0.01) -> float | None:
    """Intersection over union of the seconds covered by speaking runs (by eye vs found) inside the
    window; None where neither says anyone speaks."""
    lo, hi = window
    hi = min(hi, max([b for _, b in eye] + [b for _, b in found] + [lo]))
    n = int(round((hi - lo) / step))
    t = [lo + (k + 0.5) * step for k in range(n)]
    a = [any(x <= v < y for x, y in eye) for v in t]
    b = [any(x <= v < y for x, y in found) for v in t]
    union = sum(p or q for p, q in zip(a, b))
    return None if union == 0 else sum(p and q for p, q in zip(a, b)) / union


def counts_table(doc: dict, results: dict) -> dict[str, dict]:
    """Blinks and speaking runs found by the new captioner against the by-eye counts, on every counted
    clip that was run. Only events starting inside the clip's ``window`` (the seconds in which the
    main face is on screen, where given) are counted. Returns the rows (also for ``--out``)."""
    from dfec.dynamics.panels import SPEECH_RUN_KINDS

    counted = (doc.get("counts_by_eye") or {}).get("clips", {})
    split = {c["id"]: c.get("split", "test") for c in doc["captions"]}
    rows: dict[str, dict] = {}
    for cid, c in counted.items():
        r = results.get(cid)
        if r is None:
            continue
        window = tuple(c.get("window", (0.0, float("inf"))))
        blinks = _in_window([e for e in r.timeline if e.kind == "blink"], window)
        runs = _in_window([e for e in r.timeline if e.kind in SPEECH_RUN_KINDS], window)
        rows[cid] = {"split": split.get(cid), "blinks_min": c["blinks_min"], "blinks_max": c["blinks_max"],
                     "blinks_eye": list(c["blinks"]), "blinks_found": [round(e.start, 2) for e in blinks],
                     "speaking_eye": [list(x) for x in c["speaking"]],
                     "speaking_found": [[round(e.start, 2), round(e.end, 2)] for e in runs]}
        rows[cid]["blinks_matched"] = matched_blinks(rows[cid]["blinks_eye"], rows[cid]["blinks_found"])
        rows[cid]["speech_iou"] = speech_iou(rows[cid]["speaking_eye"], rows[cid]["speaking_found"], window)
    print(f"\n### blinks and speaking runs against by-eye counts (every 16-fps frame; {len(rows)} clips)\n")
    print(f"| clip | split | blinks by eye | blinks found (times) | matched ±{BLINK_TOL_S} s | speaking runs by eye | "
          "speaking runs found | speech IoU |")
    print("|---|---|---:|---|---:|---|---|---:|")
    for cid, w in rows.items():
        eye = w["blinks_min"] if w["blinks_min"] == w["blinks_max"] else f"{w['blinks_min']}-{w['blinks_max']}"
        print(f"| {cid} | {w['split']} | {eye} | {len(w['blinks_found'])} ({', '.join(f'{t:.2f}' for t in w['blinks_found'])}) | "
              f"{w['blinks_matched']} of {len(w['blinks_eye'])} | "
              f"{len(w['speaking_eye'])} ({', '.join(f'{a}-{b}' for a, b in w['speaking_eye'])}) | "
              f"{len(w['speaking_found'])} ({', '.join(f'{a:.1f}-{b:.1f}' for a, b in w['speaking_found'])}) | "
              f"{_fmt(w['speech_iou'])} |")
    groups = {"dev": [w for w in rows.values() if w["split"] == "dev"],
              "held out (test + test2)": [w for w in rows.values() if w["split"] in TEST_SPLITS]}
    for name, ws in groups.items():
        if not ws:
            continue
        ok = sum(w["blinks_min"] <= len(w["blinks_found"]) <= w["blinks_max"] for w in ws)
        same = sum(len(w["speaking_found"]) == len(w["speaking_eye"]) for w in ws)
        eye_n = sum(len(w["blinks_eye"]) for w in ws)
        found_n = sum(len(w["blinks_found"]) for w in ws)
        hit = sum(w["blinks_matched"] for w in ws)
        # a clip with no speech by eye and none found has no IoU: it is left out of the mean
        ious = [w["speech_iou"] for w in ws if w["speech_iou"] is not None]
        print(f"\n{name}: blink count within the by-eye range: {ok} of {len(ws)} clips; by-eye blinks matched "
              f"within {BLINK_TOL_S} s: {hit} of {eye_n} (found {found_n}, {found_n - hit} unmatched); "
              f"speaking-run count equal to the by-eye count: {same} of {len(ws)} clips; "
              f"mean speech IoU: {_fmt(sum(ious) / len(ious) if ious else None)} over {len(ious)} clips")
    return rows


def noise_table() -> None:
    """False / missed events on noisy synthetic sequences, without and with the noise floor."""
    from dfec.dynamics.events import DynamicsConfig
    from dfec.dynamics.synthetic import NOISE_SCENARIOS, false_event_rate

    systems = (("configured thresholds only", DynamicsConfig(noise_k=0, noise_k_speech=0, turn_masks_horizontal=False)),
               ("+ per-video noise floor (default)", DynamicsConfig()))
    print(f"\nFalse events on synthetic sequences ({', '.join(NOISE_SCENARIOS)}; 5 seeds, 4 s each)\n")
    print("| detector | face IOD px | jitter px | sequences | true events | false events | false / sequence | missed |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, cfg in systems:
        rows = false_event_rate(cfg)
        for r in rows:
            print(f"| {name} | {r['iod_px']} | {r['noise_px']} | {r['sequences']} | {r['true']} | {r['false']} | "
                  f"{r['false'] / r['sequences']:.2f} | {r['missed']} |")
        n, f, m, t = (sum(r[k] for r in rows) for k in ("sequences", "false", "missed", "true"))
        print(f"| {name}: all | | | {n} | {t} | {f} | {f / n:.2f} | {m} |")


if __name__ == "__main__":
    sys.exit(main())
