"""Benchmark: how much the landmark captioner's captions move when the video is changed in ways
whose effect on the reference is known.

A rule tuned on a handful of clips can fit their size, compression and lighting instead of the
face. Held-out clips catch that, but they are few and may be scored once. This benchmark makes
more labelled material from the dev clips: each clip is re-encoded under a transform, captioned
again from scratch (tracking included), and scored against the clip's by-eye reference, rewritten
where the transform changes what is true:

* ``reencode``: the same frames re-encoded (libx264, CRF 18): the control, the cost of one more
  generation of compression alone;
* ``mirror``: frames flipped left to right; the reference's "left" and "right" are swapped (the
  subject's right side is now on the image's right). A captioner without a side bias says the
  mirrored caption of the original;
* ``half``: half the width and height (area filter): a face half as large, as in a wider shot;
* ``crf40``: re-encoded at CRF 40: heavy block artefacts, as in a web re-upload;
* ``dark``: pixel values x 0.4 plus Gaussian noise (sigma 3, seeded): a dim shot with sensor noise.

The sound track is copied unchanged (its packets; an edit list of the source container is not
carried over: on the .mov dev clip the sound starts ~24 ms early), so the audio half of speech
detection is the same. Frame times are kept (each frame keeps its source timestamp), so blinks and
speaking runs keep their times.

Per transform it prints mean TEM / precision / recall against the (rewritten) references, the same
for the untouched clips, and the *consistency*: the TEM of each transformed caption scored against
the untouched clip's caption (left and right swapped for ``mirror``): 1.0 when the transform changes
nothing the judge can see. With ``--counts``, blink and speaking-run counts against the by-eye
counts, per transform.

    python benchmarks/caption_robustness.py --work DIR [--splits dev] [--transforms mirror,half,...]
        [--media DIR] [--refs FILE] [--counts] [--out results.json]

Only ``--splits dev`` by default: the held-out clips are scored once, by caption_quality.py.
Transformed videos and per-clip outputs stay under ``--work`` and are reused.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import caption_quality as cq  # noqa: E402  (the sibling benchmark: same references, same scoring)

TRANSFORMS = ("reencode", "mirror", "half", "crf40", "dark")
CRF = {"reencode": 18, "mirror": 18, "half": 18, "crf40": 40, "dark": 18}
DARK_GAIN, DARK_NOISE = 0.4, 3.0

_SIDE = re.compile(r"\b(left|right|Left|Right|LEFT|RIGHT)\b")
_SWAP = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


def swap_sides(text: str) -> str:
    """``text`` with every whole word "left" and "right" exchanged (case kept): the caption of the
    mirrored video."""
    return _SIDE.sub(lambda m: _SWAP[m.group(0)], text)


def transform_frame(name: str, rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One display-oriented RGB frame under transform ``name`` (even width and height for yuv420p)."""
    import cv2

    if name == "mirror":
        out = rgb[:, ::-1]
    elif name == "half":
        h, w = rgb.shape[:2]
        out = cv2.resize(rgb, (max(2, w // 2), max(2, h // 2)), interpolation=cv2.INTER_AREA)
    elif name == "dark":
        out = np.clip(rgb.astype(np.float32) * DARK_GAIN + rng.normal(0.0, DARK_NOISE, rgb.shape), 0, 255)
        out = out.round().astype(np.uint8)
    elif name in ("reencode", "crf40"):
        out = rgb
    else:
        raise ValueError(f"unknown transform {name!r}; known: {', '.join(TRANSFORMS)}")
    h, w = out.shape[:2]
    return np.ascontiguousarray(out[: h - h % 2, : w - w % 2])


def make_video(src: Path, dst: Path, name: str, seed: int = 0) -> Path:
    """Write ``src`` under transform ``name`` to ``dst`` (H.264 at :data:`CRF`, the source's frame
    times, its first audio stream copied). Reused when ``dst`` exists; written to a temporary name
    first (removed when writing fails), so an interrupted run leaves no half file behind. The
    cache key is the path alone: a changed :data:`CRF` or dark setting needs a new ``--work``."""
    from fractions import Fraction

    from dfec.video.audio import video_t0

    if dst.is_file():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.stem + ".part" + dst.suffix)
    rng = np.random.default_rng(seed)
    tb = Fraction(1, 90000)
    t0 = video_t0(src) or 0.0  # the first frame's time on the container clock: the sound stays in sync
    try:
        _write(src, tmp, name, rng, tb, t0)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dst)
    return dst


def _write(src: Path, tmp: Path, name: str, rng, tb, t0: float) -> None:
    """Encode the transformed frames (pts = source time + ``t0``) and copy the audio packets."""
    import av

    from dfec.video.reader import iter_frames

    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        a_in = next(iter(inp.streams.audio), None)
        a_out = out.add_stream_from_template(a_in) if a_in is not None else None
        v_out = None
        last_pts = -1
        for _, t, rgb in iter_frames(src, fps=None):
            img = transform_frame(name, rgb, rng)
            if v_out is None:
                v_out = out.add_stream("libx264", rate=30)
                v_out.width, v_out.height = img.shape[1], img.shape[0]
                v_out.pix_fmt = "yuv420p"
                v_out.time_base = tb
                v_out.codec_context.time_base = tb
                v_out.options = {"crf": str(CRF[name]), "preset": "veryfast"}
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            pts = max(int(round((t + t0) / tb)), last_pts + 1)
            frame.pts, frame.time_base = pts, tb
            last_pts = pts
            for pkt in v_out.encode(frame):
                out.mux(pkt)
        for pkt in v_out.encode():
            out.mux(pkt)
        if a_in is not None:
            for pkt in inp.demux(a_in):
                if pkt.dts is None:
                    continue
                pkt.stream = a_out
                out.mux(pkt)


def reference_for(name: str, ref: str) -> str:
    return swap_sides(ref) if name == "mirror" else ref


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--refs", default=str(cq.DEFAULT_REFS))
    ap.add_argument("--media", default=str(cq.DEFAULT_MEDIA))
    ap.add_argument("--work", required=True, help="folder for transformed videos and outputs (reused)")
    ap.add_argument("--splits", default="dev", help="clips of these splits (default dev only)")
    ap.add_argument("--transforms", default=",".join(TRANSFORMS))
    ap.add_argument("--judge", default="offline")
    ap.add_argument("--counts", action="store_true", help="blink / speaking counts per transform")
    ap.add_argument("--out", default=None, help="write captions and scores here (JSON)")
    args = ap.parse_args(argv)

    from dfec.metrics.scorer import score

    names = [s.strip() for s in args.transforms.split(",") if s.strip()]
    bad = set(names) - set(TRANSFORMS)
    if bad:
        ap.error(f"--transforms: unknown {sorted(bad)}; known: {', '.join(TRANSFORMS)}")
    want = {s.strip() for s in args.splits.split(",") if s.strip()}
    doc = json.loads(Path(args.refs).read_text())
    media, work = Path(args.media), Path(args.work)
    clips = [c for c in doc["captions"] if c.get("split", "test") in want and (media / c["video"]).is_file()]
    if not clips:
        print(f"no clip of splits {sorted(want)} found in {media}", file=sys.stderr)
        return 1
    refs = {c["id"]: c["caption"] for c in clips}

    captions: dict[str, dict[str, str]] = {"original": {}}
    results: dict[str, dict] = {"original": {}}
    for c in clips:
        r = cq.caption_new(media / c["video"], work / "new" / c["id"])
        captions["original"][c["id"]], results["original"][c["id"]] = r.caption, r
    for name in names:
        captions[name], results[name] = {}, {}
        for c in clips:
            t0 = time.perf_counter()
            video = make_video(media / c["video"], work / "robust" / name / "video" / f"{c['id']}.mp4", name)
            r = cq.caption_new(video, work / "robust" / name / "new" / c["id"])
            captions[name][c["id"]], results[name][c["id"]] = r.caption, r
            print(f"[{name}] {c['id']}: {time.perf_counter() - t0:.1f} s (load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr)

    rows, consistency = {}, {}
    for name in captions:
        res = score(captions[name], {k: reference_for(name, v) for k, v in refs.items()}, judge=args.judge)
        rows[name] = cq.per_clip(res)
        if name != "original":
            base = {k: reference_for(name, v) for k, v in captions["original"].items()}
            consistency[name] = cq.per_clip(score(captions[name], base, judge=args.judge))

    ids = list(refs)
    print(f"Caption robustness on {len(ids)} clips of splits {', '.join(sorted(want))} ({args.judge} judge)\n")
    print("| video | TEM | P | R | TEM vs original caption | P | R |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for name in captions:
        m = cq.means(rows[name], ids)
        c = cq.means(consistency[name], ids) if name in consistency else {}
        summary[name] = {"vs_reference": m, "vs_original": c}
        print(f"| {name} | {cq._fmt(m['tem'])} | {cq._fmt(m['precision'])} | {cq._fmt(m['recall'])} | "
              f"{cq._fmt(c.get('tem'))} | {cq._fmt(c.get('precision'))} | {cq._fmt(c.get('recall'))} |")
    print("\n### per clip: TEM against the reference (and against the original caption)\n")
    print("| clip | " + " | ".join(captions) + " |")
    print("|---|" + "---:|" * len(captions))
    for i in ids:
        cells = [cq._fmt(rows["original"].get(i, {}).get("tem"))]
        for name in names:
            cells.append(f"{cq._fmt(rows[name].get(i, {}).get('tem'))} ({cq._fmt(consistency[name].get(i, {}).get('tem'))})")
        print(f"| {i} | " + " | ".join(cells) + " |")

    counted = {}
    if args.counts:
        for name in captions:
            print(f"\n## counts: {name}")
            counted[name] = cq.counts_table(doc, results[name])
    if args.out:
        Path(args.out).write_text(json.dumps({"captions": captions, "scores": rows, "consistency": consistency,
                                              "summary": summary, "counts": counted}, indent=1))
        print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
