"""Caption quality of the training-free landmark captioner (``dfec caption`` without a model).

Captions every clip that has a reference in ``tests/data/reference_captions_by_eye.json`` (written
by eye for this project) and whose video is in ``../shared/data``, scores them with the FEC-Bench
scorer (``dfec.metrics.scorer.score``, offline judge: rule-based event extraction + MiniLM
relations; TEM, AutoDQ, ROUGE-L, CIDEr) and prints one Markdown table. Two reference points are
scored the same way so the numbers can be read:

* ``generic prior``: one fixed caption of the most common FEC-Bench events, the same for every clip;
* ``other clip's caption``: each clip gets the landmark caption of another clip (needs >= 2 clips),
  i.e. a fluent caption of the wrong video.

    python benchmarks/caption_quality.py [--refs FILE] [--media DIR] [--work DIR] [--out results.json] [--noise]

With ``--noise`` it also prints the false-event rate of the event detector on synthetic landmark
sequences with known events and 0.5-1.5 px of added jitter
(:func:`dfec.dynamics.synthetic.false_event_rate`), without and with the per-video noise floor.

With ``--work`` the tracker's ``tracks.json`` files are kept there and reused on the next run.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFS = REPO / "tests" / "data" / "reference_captions_by_eye.json"
DEFAULT_MEDIA = REPO.parent / "shared" / "data"
GENERIC = (
    "The video shows the facial movements of the main person.\n"
    "At the beginning of the video, their eyes are open, and their mouth is closed. "
    "As the video progresses, their mouth opens, and the person starts speaking.\n"
    "In the middle of the video, the person blinks, and their head tilts slightly.\n"
    "Towards the end of the video, the person stops speaking, and their mouth closes."
)
COLUMNS = (("tem", "TEM"), ("autodq", "AutoDQ F"), ("lcs", "LCS/|E_G|"), ("rouge_l", "ROUGE-L"), ("cider", "CIDEr"))


def _row(name: str, res: dict) -> dict:
    m = dict(res["metrics"])
    m["lcs"] = (res.get("extra_metrics") or {}).get("lcs")
    per = {k: v.get("tem") for k, v in (res.get("per_sample") or {}).items()}
    return {"system": name, **{k: m.get(k) for k, _ in COLUMNS}, "per_clip_tem": per}


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refs", default=str(DEFAULT_REFS), help="reference captions JSON (by-eye references)")
    ap.add_argument("--media", default=str(DEFAULT_MEDIA), help="folder holding the clips")
    ap.add_argument("--work", default=None, help="folder for per-clip outputs (tracks.json reused); default: temp")
    ap.add_argument("--out", default=None, help="write the landmark captioner's results JSON + .md here")
    ap.add_argument("--noise", action="store_true",
                    help="also print the false-event rate on noisy synthetic sequences (truth known)")
    args = ap.parse_args(argv)

    from dfec.dynamics.captioner import caption_video
    from dfec.metrics.scorer import score

    refs_doc = json.loads(Path(args.refs).read_text())
    media = Path(args.media)
    clips = [c for c in refs_doc["captions"] if (media / c["video"]).is_file()]
    if not clips:
        print(f"no clip with a reference found in {media}", file=sys.stderr)
        return 1
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="dfec_caption_quality_"))
    refs = {c["id"]: c["caption"] for c in clips}
    preds, timing = {}, {}
    for c in clips:
        t0 = time.perf_counter()
        r = caption_video(media / c["video"], out_dir=work / c["id"])
        timing[c["id"]] = time.perf_counter() - t0
        preds[c["id"]] = r.caption
        print(f"## {c['id']} ({c['video']}, {timing[c['id']]:.1f} s, {len(r.timeline)} events)\n{r.caption}\n")

    rows = []
    main_res = score(preds, refs, judge="offline", out_path=args.out)
    rows.append(_row("landmark captioner (dfec caption)", main_res))
    rows.append(_row("generic prior (same caption for every clip)",
                     score({k: GENERIC for k in refs}, refs, judge="offline")))
    if len(clips) >= 2:
        ids = list(refs)
        swapped = {ids[i]: preds[ids[(i + 1) % len(ids)]] for i in range(len(ids))}
        rows.append(_row("other clip's landmark caption", score(swapped, refs, judge="offline")))

    ids = list(refs)
    head = "| system | " + " | ".join(h for _, h in COLUMNS) + " | " + " | ".join(f"TEM {i}" for i in ids) + " |"
    print(f"Caption quality on {len(ids)} clip(s) with by-eye references (offline judge)\n")
    print(head)
    print("|" + "---|" * (1 + len(COLUMNS) + len(ids)))
    for r in rows:
        cells = [_fmt(r[k]) for k, _ in COLUMNS] + [_fmt(r["per_clip_tem"].get(i)) for i in ids]
        print(f"| {r['system']} | " + " | ".join(cells) + " |")
    print("\nCIDEr's document frequencies come from these few references only, so it is near zero and "
          "not informative here.")
    if args.noise:
        noise_table()
    if args.out:
        print(f"results: {args.out} (+ .md)")
    return 0


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
