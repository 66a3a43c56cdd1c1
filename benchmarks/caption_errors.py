"""Error analysis of the landmark captioner against the by-eye references, clip by clip.

For every clip of the requested splits it prints, with the offline judge's
:class:`dfec.metrics.judge.SampleJudgement` (relation matrix, ``entailed_pred``, ``entailed_ref``):

* **recall loss**: the reference events that no caption event matches (``Same``);
* **precision loss**: the caption events that match no reference event;
* for each of them, the closest relation found on the other side (``Opposite`` names the event it
  contradicts) and how the canonical parser read it, so a miss can be told from a wording mismatch;
* a count of missed / unmatched events per face region over all the clips run.

Use it on the dev split only while tuning (held-out references must stay unread):

    python benchmarks/caption_errors.py --splits dev --work DIR [--refs FILE] [--media DIR]

``--work`` is the same folder as ``caption_quality.py --work`` (its ``tracks.json`` are reused).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from caption_quality import DEFAULT_MEDIA, DEFAULT_REFS, SPLITS, caption_new  # noqa: E402


def region_of(explained: str) -> str:
    """The face region in the parser's explanation (its first word, after a ``NOT``), or ``?``."""
    words = [w for w in explained.split() if w != "NOT"]
    return words[0] if words and words[0].isalpha() else "?"


def clip_errors(judge, prediction: str, reference: str) -> dict:
    """Missed reference events and unmatched caption events of one clip (offline judge)."""
    from dfec.metrics.relations import OPPOSITE

    ref_ev = judge.reference_events(reference)
    j = judge.judge(prediction, reference, ref_ev)
    ex_g = judge.explain_events(j.events_pred)
    ex_r = judge.explain_events(ref_ev)
    missed, extra = [], []
    for c, ok in enumerate(j.entailed_ref or []):
        if not ok:
            opp = [j.events_pred[i] for i in range(len(j.events_pred)) if j.relations[i][c] == OPPOSITE]
            missed.append({"event": ref_ev[c], "parsed": ex_r[c], "opposite_of": opp})
    for i, ok in enumerate(j.entailed_pred or []):
        if not ok:
            opp = [ref_ev[c] for c in range(len(ref_ev)) if j.relations[i][c] == OPPOSITE]
            extra.append({"event": j.events_pred[i], "parsed": ex_g[i], "opposite_of": opp})
    return {"ref_events": ref_ev, "pred_events": j.events_pred, "missed": missed, "extra": extra}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refs", default=str(DEFAULT_REFS))
    ap.add_argument("--media", default=str(DEFAULT_MEDIA))
    ap.add_argument("--work", required=True, help="per-clip outputs (tracks.json reused), as caption_quality.py")
    ap.add_argument("--splits", default="dev", help="comma-separated; keep to dev while tuning")
    ap.add_argument("--out", default=None, help="write the per-clip errors here (JSON)")
    ap.add_argument("--allow-held-out", action="store_true",
                    help="also allow the held-out splits (test, test2): their errors must not guide tuning")
    args = ap.parse_args(argv)

    from dfec.metrics.judge import OfflineJudge

    want = {s.strip() for s in args.splits.split(",") if s.strip()}
    if want - set(SPLITS):
        ap.error(f"--splits: unknown {sorted(want - set(SPLITS))}")
    if want - {"dev"} and not args.allow_held_out:
        ap.error(f"--splits: {sorted(want - {'dev'})} are held out (never tune on them); "
                 "add --allow-held-out to print them anyway")
    media = Path(args.media)
    doc = json.loads(Path(args.refs).read_text())
    clips = [c for c in doc["captions"] if c.get("split", "test") in want and (media / c["video"]).is_file()]
    judge = OfflineJudge()
    out, lost_r, lost_p = {}, Counter(), Counter()
    n_ref = n_pred = 0
    for c in clips:
        r = caption_new(media / c["video"], Path(args.work) / "new" / c["id"])
        e = clip_errors(judge, r.caption, c["caption"])
        out[c["id"]] = {"caption": r.caption, **e}
        n_ref += len(e["ref_events"])
        n_pred += len(e["pred_events"])
        print(f"\n## {c['id']} ({c.get('split')}): {len(e['ref_events']) - len(e['missed'])}/{len(e['ref_events'])} "
              f"reference events matched, {len(e['pred_events']) - len(e['extra'])}/{len(e['pred_events'])} "
              f"caption events matched")
        print(f"caption: {r.caption}")
        for m in e["missed"]:
            lost_r[region_of(m["parsed"])] += 1
            opp = f"   [opposite of: {'; '.join(m['opposite_of'])}]" if m["opposite_of"] else ""
            print(f"  MISSED  {m['event']}   <{m['parsed']}>{opp}")
        for x in e["extra"]:
            lost_p[region_of(x["parsed"])] += 1
            opp = f"   [opposite of: {'; '.join(x['opposite_of'])}]" if x["opposite_of"] else ""
            print(f"  EXTRA   {x['event']}   <{x['parsed']}>{opp}")
    print(f"\n## by region ({len(clips)} clips; {n_ref} reference events, {n_pred} caption events)\n")
    print("| region | missed reference events | unmatched caption events |")
    print("|---|---:|---:|")
    for reg in sorted(set(lost_r) | set(lost_p), key=lambda k: -(lost_r[k] + lost_p[k])):
        print(f"| {reg} | {lost_r[reg]} | {lost_p[reg]} |")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
