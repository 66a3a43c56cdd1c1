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

Opt-in versions (not in the default list, so the published table stays comparable; name them in
``--transforms``) change TIME and FRAMING, as held-out clips at other frame rates and shots do. The
tracker resamples every video to 16 fps from its first frame, so where the 16-fps samples fall on
the motion (the sampling phase) moves every signal a little; a rule on a knife edge flips:

* ``phase``: the video starts half a 16-fps frame later: the source frames before 1/32 s are
  dropped (the first kept one is 33-42 ms in at 24-30 fps), the others keep their container times,
  so the sound stays aligned with the pictures. The analysis clock starts at the first kept frame,
  so every event comes that much earlier: the by-eye counts (blink times, speaking runs, window)
  are shifted by the measured shift (:func:`time_shift`); the captions' by-eye references name only
  phases of the clip (beginning, middle, end), which 42 ms does not move;
* ``fps25`` / ``fps30``: the clip re-timed to 25 / 30 fps (each output frame k at k / rate takes the
  source frame nearest to it, as FFmpeg's ``fps`` filter; same duration, sound copied). Most dev
  clips are 25 fps (``fps25`` leaves them nearly as they are), so ``fps30`` is the informative one
  on dev;
* ``zoom``: a crop of 80 % of the width and height scaled back to the full size (bilinear): a
  closer framing with a face 1.25 x larger. A plain centre crop cuts the face on 4 of the 13 dev
  clips (face at the frame edge, or a close-up), which changes what is true; so the crop is
  centred on the main face of the untouched clip's track (its landmarks' extent over the clip) and
  widened (up to the whole frame) until that extent, plus a margin, fits (:func:`zoom_crop`).

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

TRANSFORMS = ("reencode", "mirror", "half", "crf40", "dark")          # the default list (published table)
OPT_IN = ("phase", "fps25", "fps30", "zoom")                          # time and framing, by --transforms
KNOWN = TRANSFORMS + OPT_IN
CRF = {"reencode": 18, "mirror": 18, "half": 18, "crf40": 40, "dark": 18,
       "phase": 18, "fps25": 18, "fps30": 18, "zoom": 18}
DARK_GAIN, DARK_NOISE = 0.4, 3.0
PHASE_S = 1.0 / 32.0          # half a 16-fps frame: ``phase`` drops the source frames before this time
RETIME = {"fps25": 25.0, "fps30": 30.0}
ZOOM = 0.8                    # ``zoom`` keeps the centre 80 % of the width and height

_SIDE = re.compile(r"\b(left|right|Left|Right|LEFT|RIGHT)\b")
_SWAP = {"left": "right", "right": "left", "Left": "Right", "Right": "Left", "LEFT": "RIGHT", "RIGHT": "LEFT"}


def swap_sides(text: str) -> str:
    """``text`` with every whole word "left" and "right" exchanged (case kept): the caption of the
    mirrored video."""
    return _SIDE.sub(lambda m: _SWAP[m.group(0)], text)


def zoom_crop(tracks_json: Path | None, margin: float = 0.1) -> tuple[float, float, float, float]:
    """The ``zoom`` crop as fractions of the frame, ``(x0, y0, x1, y1)``: :data:`ZOOM` of the width
    and height, centred on the main face of ``tracks_json`` (the untouched clip's track: the 2nd-98th
    percentile extent of its landmarks over the clip, widened by ``margin`` of its size on each side)
    and grown, keeping the aspect ratio, until that extent fits; kept inside the frame. The centre
    crop without a track."""
    if tracks_json is None or not Path(tracks_json).is_file():
        return ((1 - ZOOM) / 2, (1 - ZOOM) / 2, (1 + ZOOM) / 2, (1 + ZOOM) / 2)
    d = json.loads(Path(tracks_json).read_text())
    w, h = d["frame_size"]
    # the longest main track (as TrackingResult.main_track), its finite landmark points
    main = max((t for t in d["tracks"] if t.get("is_main")), key=lambda t: len(t.get("frames") or []), default=None)
    lm = np.asarray(main.get("landmarks") or [] if main else [], float).reshape(-1, 2)
    lm = lm[np.isfinite(lm).all(axis=1)]
    if not len(lm) or not w or not h:
        return zoom_crop(None)
    (ax, ay), (bx, by) = np.percentile(lm, 2, axis=0), np.percentile(lm, 98, axis=0)
    mx, my = margin * (bx - ax), margin * (by - ay)
    ax, bx, ay, by = (ax - mx) / w, (bx + mx) / w, (ay - my) / h, (by + my) / h
    z = min(1.0, max(ZOOM, bx - ax, by - ay))
    cx, cy = (ax + bx) / 2, (ay + by) / 2
    x0 = min(max(cx - z / 2, 0.0), 1.0 - z)
    y0 = min(max(cy - z / 2, 0.0), 1.0 - z)
    return (x0, y0, x0 + z, y0 + z)


def transform_frame(name: str, rgb: np.ndarray, rng: np.random.Generator, crop=None) -> np.ndarray:
    """One display-oriented RGB frame under transform ``name`` (even width and height for yuv420p);
    ``crop`` (fractions x0, y0, x1, y1; ``zoom`` only) defaults to :func:`zoom_crop`'s centre crop."""
    import cv2

    if name == "mirror":
        out = rgb[:, ::-1]
    elif name == "half":
        h, w = rgb.shape[:2]
        out = cv2.resize(rgb, (max(2, w // 2), max(2, h // 2)), interpolation=cv2.INTER_AREA)
    elif name == "dark":
        out = np.clip(rgb.astype(np.float32) * DARK_GAIN + rng.normal(0.0, DARK_NOISE, rgb.shape), 0, 255)
        out = out.round().astype(np.uint8)
    elif name == "zoom":
        h, w = rgb.shape[:2]
        fx0, fy0, fx1, fy1 = crop if crop is not None else zoom_crop(None)
        x0, y0 = int(round(fx0 * w)), int(round(fy0 * h))
        x1, y1 = max(x0 + 2, int(round(fx1 * w))), max(y0 + 2, int(round(fy1 * h)))
        out = cv2.resize(rgb[y0:y1, x0:x1], (w, h), interpolation=cv2.INTER_LINEAR)
    elif name in ("reencode", "crf40", "phase") or name in RETIME:
        out = rgb
    else:
        raise ValueError(f"unknown transform {name!r}; known: {', '.join(KNOWN)}")
    h, w = out.shape[:2]
    return np.ascontiguousarray(out[: h - h % 2, : w - w % 2])


def retime(name: str, frames):
    """The ``(t, rgb)`` source frames (``t`` from the first frame) as the transform ``name`` times
    them: ``phase`` drops those before :data:`PHASE_S` (the rest keep their times); ``fps25`` /
    ``fps30`` yield frame k at k / rate with the source frame nearest to it (the earlier on a tie),
    for round(duration x rate) frames, the duration being the last frame's time plus the median
    source frame step; any other name passes the frames through."""
    if name == "phase":
        for t, rgb in frames:
            if t >= PHASE_S - 1e-6:
                yield t, rgb
        return
    if name not in RETIME:
        yield from frames
        return
    step = 1.0 / RETIME[name]
    k, prev, times = 0, None, []
    for t, rgb in frames:
        times.append(t)
        while k * step <= t + 1e-6:
            s_ = k * step
            yield s_, (prev[1] if prev is not None and s_ - prev[0] <= t - s_ + 1e-6 else rgb)
            k += 1
        prev = (t, rgb)
    if prev is not None:
        src_step = float(np.median(np.diff(times))) if len(times) > 1 else step
        n = int(np.floor((prev[0] + src_step) / step + 0.5))
        while k < n:
            yield k * step, prev[1]
            k += 1


def time_shift(name: str, src: Path, dst: Path) -> float:
    """Seconds by which the analysis clock of ``dst`` (the transformed video) starts later on the
    content than that of ``src``: the time of its first frame on the container clock minus the
    source's (both videos keep the container clock). 0 for every transform but ``phase``."""
    from dfec.video.audio import video_t0

    if name != "phase":
        return 0.0
    return float((video_t0(dst) or 0.0) - (video_t0(src) or 0.0))


def shift_counts(doc: dict, shifts: dict[str, float]) -> dict:
    """``doc`` with the by-eye counts of each clip in ``shifts`` moved ``shifts[id]`` seconds
    earlier (blink times, speaking runs, window; clipped at 0): the counts on a video whose clock
    starts that much later. The captions are left as they are."""
    import copy

    out = copy.deepcopy(doc)
    for cid, c in (out.get("counts_by_eye") or {}).get("clips", {}).items():
        d = shifts.get(cid, 0.0)
        if not d:
            continue
        c["blinks"] = [max(0.0, b - d) for b in c["blinks"]]
        c["speaking"] = [[max(0.0, a - d), max(0.0, b - d)] for a, b in c["speaking"]]
        if "window" in c:
            c["window"] = [max(0.0, c["window"][0] - d), c["window"][1] - d]
    return out


def make_video(src: Path, dst: Path, name: str, seed: int = 0, crop=None) -> Path:
    """Write ``src`` under transform ``name`` to ``dst`` (H.264 at :data:`CRF`, the source's frame
    times or those of :func:`retime`, its first audio stream copied). Reused when ``dst`` exists; written to a temporary name
    first (removed when writing fails), so an interrupted run leaves no half file behind. The
    cache key is the path alone: a changed :data:`CRF` or dark setting needs a new ``--work``.
    ``crop``: the ``zoom`` crop (:func:`zoom_crop`)."""
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
        _write(src, tmp, name, rng, tb, t0, crop)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(dst)
    return dst


def _write(src: Path, tmp: Path, name: str, rng, tb, t0: float, crop=None) -> None:
    """Encode the transformed frames (pts = source time + ``t0``) and copy the audio packets."""
    import av

    from dfec.video.reader import iter_frames

    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        a_in = next(iter(inp.streams.audio), None)
        a_out = out.add_stream_from_template(a_in) if a_in is not None else None
        v_out = None
        last_pts = -1
        frames = ((t, rgb) for _, t, rgb in iter_frames(src, fps=None))
        for t, rgb in retime(name, frames):
            img = transform_frame(name, rgb, rng, crop) if crop is not None else transform_frame(name, rgb, rng)
            if v_out is None:
                v_out = out.add_stream("libx264", rate=int(RETIME.get(name, 30)))
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
        if v_out is None:  # every frame fell before the phase cut (or the clip has none)
            raise ValueError(f"{src}: no video frame left for version {name!r}")
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
    ap.add_argument("--transforms", default=",".join(TRANSFORMS),
                    help=f"versions to make (default: {','.join(TRANSFORMS)}; opt-in: {','.join(OPT_IN)})")
    ap.add_argument("--judge", default="offline")
    ap.add_argument("--counts", action="store_true", help="blink / speaking counts per transform")
    ap.add_argument("--out", default=None, help="write captions and scores here (JSON)")
    args = ap.parse_args(argv)

    from dfec.metrics.scorer import score

    names = [s.strip() for s in args.transforms.split(",") if s.strip()]
    bad = set(names) - set(KNOWN)
    if bad:
        ap.error(f"--transforms: unknown {sorted(bad)}; known: {', '.join(KNOWN)}")
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
    shifts: dict[str, dict[str, float]] = {}
    for c in clips:
        r = cq.caption_new(media / c["video"], work / "new" / c["id"])
        captions["original"][c["id"]], results["original"][c["id"]] = r.caption, r
    for name in names:
        captions[name], results[name], shifts[name] = {}, {}, {}
        for c in clips:
            t0 = time.perf_counter()
            crop = zoom_crop(work / "new" / c["id"] / "tracks.json") if name == "zoom" else None
            if crop is not None:
                print(f"[zoom] {c['id']}: crop x {crop[0]:.2f}-{crop[2]:.2f}, y {crop[1]:.2f}-{crop[3]:.2f}",
                      file=sys.stderr)
            video = make_video(media / c["video"], work / "robust" / name / "video" / f"{c['id']}.mp4", name,
                               crop=crop)
            shifts[name][c["id"]] = time_shift(name, media / c["video"], video)
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
            if any(shifts.get(name, {}).values()):
                print("(by-eye times shifted by the video's later start: " + ", ".join(
                    f"{k} {v * 1000:.0f} ms" for k, v in shifts[name].items()) + ")")
            counted[name] = cq.counts_table(shift_counts(doc, shifts.get(name, {})), results[name])
    if args.out:
        Path(args.out).write_text(json.dumps({"captions": captions, "scores": rows, "consistency": consistency,
                                              "summary": summary, "counts": counted, "shifts": shifts}, indent=1))
        print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
