"""Contact sheets of the landmark captioner's events, for checking them by eye.

For every event of the chosen kinds in ``WORK/<clip>/events.json`` (written by ``dfec caption`` or
``benchmarks/caption_quality.py --work``), one PNG row: frames 0.4 s before the onset, at the onset,
in the middle, at the end and 0.4 s after, each as a crop of the main face (box from the track) and,
for eye / gaze / mouth / cheek / nose events, a zoomed crop of that region (from the FaceMesh points).
Time and the event's text are written on the row; the person's left is the image right. On the
zoomed eye crops of gaze events the iris model's points are drawn (:func:`draw_eye_points`: iris
centre red, its ring orange, the lids green, the corner line cyan; lid events keep clean crops):
where the model put the iris, not only where the eye looks, decides whether a gaze event is real
(seen on the dev and no-split clips: an iris ring fitted above the far eye at 45 degrees of yaw,
669 at 2.3 s; iris centres that sink as the lids narrow in a laugh, dirtydancing at 8 s).

    python benchmarks/event_sheets.py --work /work/runs/x/cq/new --clips ID[,ID...] --out DIR
        [--media ../shared/data] [--kinds gaze,lids_tighten,...] [--sample 2.0]

``--sample S`` also writes ``<clip>__strip.png``: face crops every S seconds over the whole clip, to
look for events of these kinds that were not reported.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
#: the event kinds of issue 11's new signals (prefix match)
KINDS = ("gaze_", "eyes_half", "eyes_are_half", "eyes_stay_half", "eyes_droop", "lids_", "eyes_narrow", "eyes_relax",
         "teeth_", "lips_press", "lips_pucker", "lips_round", "lips_stretch", "mouth_open", "mouth_close",
         "chin_raise", "cheeks_raise", "nose_wrinkle", "head_lower", "head_lift", "head_is_", "eyes_widen")
#: which mesh points frame the zoomed crop, by event region
REGION_POINTS = {
    "eyes": (33, 133, 362, 263, 159, 145, 386, 374, 105, 334),
    "gaze": (33, 133, 362, 263, 159, 145, 386, 374),
    "mouth": (61, 291, 0, 17, 152, 2),
    "cheeks": (33, 263, 205, 425, 61, 291, 98, 327),
    "nose": (168, 98, 327, 2, 133, 362, 61, 291),
}


#: the eye outline (FaceMesh), corner to corner over the upper lid and back over the lower lid
EYE_RINGS = ((33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
             (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249))
EYE_CORNERS = ((33, 133), (263, 362))


def _crop_box(img: np.ndarray, x0, y0, x1, y1) -> tuple[int, int, int, int]:
    h, w = img.shape[:2]
    return int(max(0, x0)), int(max(0, y0)), int(min(w, x1)), int(min(h, y1))


def draw_eye_points(tile: np.ndarray, box: tuple[int, int, int, int], mesh: np.ndarray,
                    iris: np.ndarray | None) -> np.ndarray:
    """``tile`` (a :func:`_crop` of ``box`` = (x0, y0, x1, y1), frame pixels) with both eyes'
    outlines (green), corner lines (cyan) and, where measured, the iris points (``iris`` (10, 3):
    each eye's centre in red, its 4 ring points in orange) drawn in place."""
    import cv2

    x0, y0, x1, y1 = box
    s = tile.shape[0] / max(x1 - x0, y1 - y0, 1)

    def at(p):
        return int(round((p[0] - x0) * s)), int(round((p[1] - y0) * s))

    out = np.ascontiguousarray(tile).copy()
    for ring, (a, b) in zip(EYE_RINGS, EYE_CORNERS):
        pts = np.array([at(mesh[v]) for v in ring], np.int32)
        cv2.polylines(out, [pts], True, (0, 255, 0), 1)
        cv2.line(out, at(mesh[a]), at(mesh[b]), (0, 255, 255), 1)
    if iris is not None and np.isfinite(iris).all():
        for e in range(2):
            cv2.circle(out, at(iris[5 * e]), 2, (255, 0, 0), -1)
            for p in iris[5 * e + 1: 5 * e + 5]:
                cv2.circle(out, at(p), 1, (255, 165, 0), -1)
    return out


def _crop(img: np.ndarray, x0, y0, x1, y1, size: int) -> np.ndarray:
    import cv2

    x0, y0, x1, y1 = _crop_box(img, x0, y0, x1, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((size, size, 3), np.uint8)
    patch = img[y0:y1, x0:x1]
    s = size / max(x1 - x0, y1 - y0)
    patch = cv2.resize(patch, (max(1, int((x1 - x0) * s)), max(1, int((y1 - y0) * s))), interpolation=cv2.INTER_CUBIC)
    out = np.zeros((size, size, 3), np.uint8)
    out[:patch.shape[0], :patch.shape[1]] = patch
    return out


def _label(img: np.ndarray, text: str, y: int = 14, scale: float = 0.45) -> np.ndarray:
    import cv2

    cv2.putText(img, text, (3, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, (3, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 0), 1, cv2.LINE_AA)
    return img


class Clip:
    def __init__(self, run: Path, media: Path):
        from dfec.video.reader import read_frames

        self.events = json.loads((run / "events.json").read_text())
        tj = json.loads((run / "tracks.json").read_text())
        self.fps = float(tj["fps"])
        main = [t for t in tj["tracks"] if t.get("is_main")] or tj["tracks"][:1]
        k = tj["tracks"].index(main[0])
        self.frames = {int(f): i for i, f in enumerate(main[0]["frames"])}
        self.boxes = np.asarray(main[0]["boxes"], dtype=float)
        z = np.load(run / tj.get("mesh_file", "tracks_mesh.npz"))
        self.mesh = z[f"mesh_{k}"] if f"mesh_{k}" in z.files else None
        self.iris = z[f"iris_{k}"] if f"iris_{k}" in z.files else None
        video = Path(tj["video"])
        if not video.is_file():
            video = media / "wild" / video.name
        self.video, _ = read_frames(video, self.fps, fill=True)

    def tile(self, t: float, region: str | None, size: int = 180) -> np.ndarray:
        fi = int(round(t * self.fps))
        fi = min(max(fi, 0), len(self.video) - 1)
        img = self.video[fi]
        i = self.frames.get(fi)
        if i is None:  # nearest tracked frame
            keys = np.array(sorted(self.frames))
            i = self.frames[int(keys[np.argmin(np.abs(keys - fi))])]
        x0, y0, x1, y1 = self.boxes[i]
        m = max(x1 - x0, y1 - y0) * 0.15
        face = _label(_crop(img, x0 - m, y0 - m, x1 + m, y1 + m, size), f"{t:.2f}s")
        if region in REGION_POINTS and self.mesh is not None and np.isfinite(self.mesh[i]).all():
            p = self.mesh[i][list(REGION_POINTS[region]), :2]
            (a, b), (c, d) = p.min(0), p.max(0)
            pad = 0.25 * max(c - a, d - b)
            zoom = _crop(img, a - pad, b - pad, c + pad, d + pad, size)
            if region == "gaze":
                zoom = draw_eye_points(zoom, _crop_box(img, a - pad, b - pad, c + pad, d + pad), self.mesh[i],
                                       None if self.iris is None else self.iris[i])
            return np.concatenate([face, zoom], axis=0)
        return np.concatenate([face, np.zeros_like(face)], axis=0)

    def row(self, ev: dict) -> np.ndarray:
        t0, t1 = float(ev["start"]), float(ev["end"])
        times = [t0 - 0.4, t0, (t0 + t1) / 2, t1, t1 + 0.4]
        dur = len(self.video) / self.fps
        times = [min(max(t, 0.0), dur - 1e-3) for t in times]
        tiles = np.concatenate([self.tile(t, ev.get("region")) for t in times], axis=1)
        head = np.zeros((22, tiles.shape[1], 3), np.uint8)
        _label(head, f"{ev['kind']} {t0:.2f}-{t1:.2f}s  int {ev.get('intensity', 0):.3f}  '{ev.get('text', '')}'", 15, 0.45)
        return np.concatenate([head, tiles], axis=0)


def all_events(doc: dict, kinds: tuple[str, ...]) -> list[dict]:
    """Every detected event of ``kinds`` in an ``events.json``: the ``timeline`` (all changes found,
    captioned or not) and the states of ``events``, each once, with ``captioned`` set."""
    said = {(e["kind"], round(e["start"], 3)) for e in doc["events"]}
    out, seen = [], set()
    for e in list(doc.get("timeline") or []) + list(doc["events"]):
        key = (e["kind"], round(e["start"], 3))
        if key in seen or not e["kind"].startswith(kinds):
            continue
        seen.add(key)
        out.append(dict(e, captioned=key in said))
    return sorted(out, key=lambda e: (e["start"], e["kind"]))


def main(argv=None) -> int:
    import cv2

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--clips", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--media", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--sample", type=float, default=0.0)
    args = ap.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    args.out.mkdir(parents=True, exist_ok=True)
    for cid in args.clips.split(","):
        clip = Clip(args.work / cid, args.media)
        evs = all_events(clip.events, kinds)
        for n, e in enumerate(evs):
            print(f"{cid}\t{n}\t{e['kind']}\t{e['start']:.2f}\t{e['end']:.2f}\t{e.get('intensity', 0):.3f}\t"
                  f"{'captioned' if e['captioned'] else '-'}")
            cv2.imwrite(str(args.out / f"{cid}__{n:02d}_{e['kind']}.png"), cv2.cvtColor(clip.row(e), cv2.COLOR_RGB2BGR))
        if args.sample > 0:
            dur = len(clip.video) / clip.fps
            times = np.arange(0.0, dur, args.sample)
            rows = []
            for k in range(0, len(times), 6):
                tiles = [clip.tile(t, "eyes", 150) for t in times[k:k + 6]]
                tiles += [np.zeros_like(tiles[0])] * (6 - len(tiles))
                rows.append(np.concatenate(tiles, axis=1))
            cv2.imwrite(str(args.out / f"{cid}__strip.png"), cv2.cvtColor(np.concatenate(rows, 0), cv2.COLOR_RGB2BGR))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
