"""Can a held brow or eye state be read against a population norm? The spread on the dev clips.

A state held through a whole clip is that clip's neutral frame, so it cannot be seen as a deviation
(the captioner's changes and most of its states are). This prints, for the first 0.3 s of each
dev clip (dev only: the by-eye references of the held-out splits must stay unread), absolute,
face-size-normalised FaceMesh measures beside what the clip's by-eye reference says of the eyes at
the start and of the brows anywhere:

* ``lower_lid``: depth of the lower lids below the eye-corner line / face scale, over cos(pitch)
  (:func:`dfec.dynamics.mesh_events.squinting`; a squint raises them);
* ``aperture``: lid gap / iris diameter;
* ``brow``: height of the 20 brow points above the eye-corner line, 3-D along the face's own down
  axis / face scale (furrowed or lowered brows sit lower, raised ones higher);
* ``inner``: inner-brow ends (55, 107 / 285, 336) above the inner eye corners, same units;
* ``gap``: distance between the inner brow ends / face scale (a furrow draws them together).

    python benchmarks/absolute_states.py --work DIR [--refs FILE] [--media DIR]

``--work`` is the folder of ``caption_quality.py --work`` (its ``new/<clip>/tracks.json`` are read;
a clip without one is skipped, nothing is tracked here).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFS = REPO / "tests" / "data" / "wild_captions_by_eye.json"
#: brow points (MediaPipe FaceMesh): upper and lower contour of each brow
BROWS = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 300, 293, 334, 296, 336, 276, 283, 282, 295, 285)
INNER_BROWS = ((55, 107), (285, 336))


def start_sentence(caption: str) -> str:
    """The reference's opening sentence ("At the beginning of the video, ...")."""
    m = re.search(r"At the beginning of the video,[^.]*\.", caption)
    return m.group(0) if m else ""


def said(text: str, pattern: str) -> str:
    """Every phrase of ``text`` matching ``pattern``, joined ("-" when none)."""
    found = [m.group(0).strip() for m in re.finditer(pattern, text)]
    return "; ".join(found) if found else "-"


def brow_measures(mesh: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame ``brow``, ``inner`` and ``gap`` (see the module doc) of a (T, 468, 3) mesh."""
    from dfec.dynamics.mesh_signals import LEFT_EYE, RIGHT_EYE, _dist, face_down_axis

    scale = np.maximum(_dist(mesh, RIGHT_EYE[0], LEFT_EYE[0]), 1e-6)
    down = face_down_axis(mesh)

    def above(points, ref):
        return -((points - ref) * down).sum(-1) / scale

    eye_line = (mesh[:, RIGHT_EYE[0]] + mesh[:, LEFT_EYE[0]]) / 2.0
    inner_eye = (mesh[:, RIGHT_EYE[1]] + mesh[:, LEFT_EYE[1]]) / 2.0
    inner = mesh[:, [p for pair in INNER_BROWS for p in pair]].mean(axis=1)
    gap = np.mean([_dist(mesh, a, b) for a, b in zip(*INNER_BROWS)], axis=0) / scale
    return {"brow": above(mesh[:, list(BROWS)].mean(axis=1), eye_line), "inner": above(inner, inner_eye), "gap": gap}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", required=True, help="per-clip outputs of caption_quality.py (tracks.json read)")
    ap.add_argument("--refs", default=str(DEFAULT_REFS))
    args = ap.parse_args(argv)

    from dfec.dynamics.config import DynamicsConfig
    from dfec.dynamics.signals import track_mesh, track_signals
    from dfec.schema import TrackingResult

    cfg = DynamicsConfig()
    doc = json.loads(Path(args.refs).read_text())
    rows = []
    for c in (c for c in doc["captions"] if c.get("split") == "dev"):
        tracks = Path(args.work) / "new" / c["id"] / "tracks.json"
        if not tracks.is_file():
            continue
        tr = TrackingResult.load(tracks)
        sig = track_signals(tr, pixels=False)
        mesh, _ = track_mesh(tr.main_track) if tr.main_track is not None else (None, None)
        if sig is None or mesh is None or "lower_lid" not in sig.values:
            continue
        n = max(1, int(round(0.3 * sig.fps)))
        first = np.arange(min(n, len(sig)))

        def med(x):
            return float(np.nanmedian(x[first])) if np.isfinite(x[first]).any() else float("nan")

        pitch = med(sig["pitch"]) if "pitch" in sig.values else 0.0
        lid = med(sig["lower_lid"]) / max(np.cos(np.radians(pitch if np.isfinite(pitch) else 0.0)), 0.5)
        b = brow_measures(np.asarray(mesh, dtype=np.float64)[: len(sig)])
        ref = start_sentence(c["caption"])
        rows.append((c["id"], lid, med(sig["aperture"]), med(b["brow"]), med(b["inner"]), med(b["gap"]),
                     said(ref, r"eyes? (?:are |is )?(?:slightly )?(?:narrowed|squinting|half-open|closed)|upper eyelids drooping"),
                     said(c["caption"], r"eyebrows (?:are |stay |draw |raise |rising)?(?:slightly )?(?:furrowed|raised|lowered|drawn together|together)?[a-z ]{0,22}")))
    print(f"### absolute states on the first 0.3 s, dev clips ({len(rows)}); squint_lower_lid "
          f"{cfg.squint_lower_lid}, squint_aperture {cfg.squint_aperture}, half_open_below {cfg.half_open_below}\n")
    print("| clip | lower_lid / cos(pitch) | aperture | brow | inner | gap | eyes (reference, start) | brows (reference, anywhere) |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for r in sorted(rows, key=lambda r: r[1]):
        print(f"| {r[0]} | {r[1]:.4f} | {r[2]:.2f} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]} | {r[7]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
