"""Is the mouth hidden? A hand, a phone, a cup or a cigarette over the lips, from the video frames.

FaceMesh always places the 468 points: under a hand over the mouth it guesses the lips, and the
guess moves (dev clip pyfeat__WolfgangLanger_Pexels, 2.5-9.5 s: a hand over the mouth and fingers
between the lips gave six "articulations" and the caption "their mouth opens to speak ... stops
speaking"). Its face-presence score stays at 1.000 on every one of those frames (checked by
re-running the model on them), so the model cannot tell; the image can.

What physically differs where a hand covers the lips:

* **Colour.** Lips are redder than the skin around them (CIE a*, the red-green axis of Lab); a
  hand (skin) or most objects over them are not. Per frame, the lip band (between the mesh's
  outer-lip contour and its inner-lip ring) is compared with a ring of skin just around the outer
  contour: mean a* of the band minus median a* of the ring, in three thirds along the mouth
  (image-left, centre, image-right; fingers often cover one side only).
* **The lip line.** The line between the lips (the dark gap of an open mouth, the crease of a
  closed one) is an edge in the image where the mesh puts the inner-lip ring; over a hand the
  mesh's ring lies on smooth skin: mean brightness gradient on the ring over the median gradient
  around the mouth.

Neither cue has one level for all videos: how much redder the lips are depends on the light,
the grade, the compression and the face's size in pixels (pale lips in a blocky 38-px mouth, dev
167; the pink-lit distant shot of ghost__nggyup shows lips as pink as the skin). So a frame is
compared with *comparable frames of the same face*: within ``occl_window_s``, the forehead's
colour within ``occl_match_de`` (same light and grade; another shot usually differs) and the
lip-corner distance within a factor ``occl_match_scale`` (same size in pixels). The reference is
the 75th percentile of each cue over those frames (most frames show the mouth), and a third is
only judged where its reference contrast is at least ``occl_min_contrast`` a* units (the lips are
clearly redder there). The mouth is occluded where a judged third's contrast falls below
``occl_ratio`` of its reference *and* the lip line's edge below ``occl_line_ratio`` of its
reference, for at least ``occl_min_s``. Near-profile views are not judged (``occl_max_yaw``), and
past ``occl_far_yaw`` the far third (guessed by the mesh, foreshortened, often off the face) is
left out.

Measured (the labels: every 16-fps frame of WolfgangLanger looked at in mouth crops: occluded
40-151, i.e. 2.50-9.44 s; clear 0-38 and 152-314; the 12 other dev clips with a mesh and both
main tracks of the no-split ghost__dirtydancing, whose mouths are never covered, checked in
mouth crops): per-frame AUC on WolfgangLanger of the a* contrast 0.99 (of the centre third 0.99,
of the lip-line edge 0.98), but pooled over clips 0.85 and 0.59: a clip's clear lips can have the
contrast another clip's covered lips have. The rule above flags 61 % of the labelled occluded
frames of WolfgangLanger and 94 % of 2.8-4.9 s (where the false speech was), 0 of its clear
frames, and no frame of the 14 other tracks (colour alone, without the lip line and the far-side
rule: 13-23 % of ghost__dirtydancing's broad smiles and 3/4 views of ghost__nggyup). With the
flip-averaged mesh (:mod:`dfec.faces.facemesh`, the default since stop 15) the rule flags 42 % of
the labelled frames and 65 % of 2.8-4.9 s: at 2.9-3.7 s (fingers between the lips) the lip-line
cue sits at its bar, and the averaged inner-lip ring lies a little nearer the fingers' edges; the
caption still says no speech there. What is
missed: 6.1-9.4 s, where two fingers lie over the image-left third while the mouth (open, teeth
showing) is seen between and beside them and the head is turned 15-21 degrees (that third is
then the far side).
"""
from __future__ import annotations

import numpy as np

from ..video.audio import index_runs
from .mesh_signals import INNER_LIP_RING, LIP_CORNERS, LEFT_EYE, RIGHT_EYE

#: MediaPipe's outer-lip contour (the lips' red border), in order around the mouth
OUTER_LIP_RING = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
#: forehead points (above the brows, mid-forehead): their colour tells the light of the frame
FOREHEAD = (151, 9, 108, 337, 10)
#: the per-frame cues of :func:`mouth_cues`, in order: the lip band's a* contrast in the image-left,
#: centre and image-right thirds; the lip line's edge ratio; the forehead's L*, a*, b*
CUES = ("lip_red_l", "lip_red_c", "lip_red_r", "lip_line", "forehead_L", "forehead_a", "forehead_b")


def mouth_cues(rgb: np.ndarray, mesh2d: np.ndarray) -> np.ndarray:
    """The :data:`CUES` of one RGB frame (uint8) and its mesh (468, 2+) in frame pixels; NaN
    where not measurable (the mouth off the frame, a third with fewer than 3 band pixels)."""
    import cv2

    out = np.full(len(CUES), np.nan)
    m = np.asarray(mesh2d, dtype=np.float64)[:, :2]
    outer, inner = m[list(OUTER_LIP_RING)], m[list(INNER_LIP_RING)]
    if not (np.isfinite(outer).all() and np.isfinite(inner).all()):
        return out
    h, w = rgb.shape[:2]
    c0, c1 = m[LIP_CORNERS[0]], m[LIP_CORNERS[1]]
    mw = float(np.linalg.norm(c1 - c0))
    pad = int(0.4 * mw) + 4
    x0, y0 = np.floor(outer.min(0)).astype(int) - pad
    x1, y1 = np.ceil(outer.max(0)).astype(int) + pad
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if mw >= 4 and x1 - x0 >= 5 and y1 - y0 >= 5:
        patch = np.ascontiguousarray(rgb[y0:y1 + 1, x0:x1 + 1])
        lab = cv2.cvtColor(patch.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
        light, red = lab[..., 0], lab[..., 1]
        mo = np.zeros(patch.shape[:2], np.uint8)
        cv2.fillPoly(mo, [np.round(outer - [x0, y0]).astype(np.int32)], 1)
        mi = np.zeros_like(mo)
        cv2.fillPoly(mi, [np.round(inner - [x0, y0]).astype(np.int32)], 1)
        band = mo.astype(bool) & ~mi.astype(bool)
        g = max(2, int(round(0.15 * mw)))
        ring = (cv2.dilate(mo, np.ones((2 * g + 1, 2 * g + 1), np.uint8)).astype(bool)
                & ~cv2.dilate(mo, np.ones((3, 3), np.uint8)).astype(bool))
        if band.sum() >= 5 and ring.sum() >= 5:
            skin = float(np.median(red[ring]))
            yy, xx = np.nonzero(band)
            axis = (c1 - c0) / mw
            u = ((np.stack([xx, yy], 1) + [x0, y0] - c0) @ axis) / mw  # 0 at corner 61, 1 at 291
            third = np.clip(np.floor(u * 3), 0, 2).astype(int)
            for k in range(3):
                sel = third == k
                if sel.sum() >= 3:
                    out[k] = float(red[yy[sel], xx[sel]].mean()) - skin
            grad = cv2.GaussianBlur(light, (3, 3), 0)
            grad = np.hypot(cv2.Sobel(grad, cv2.CV_32F, 1, 0), cv2.Sobel(grad, cv2.CV_32F, 0, 1))
            line = cv2.morphologyEx(mi, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
            if line.any():
                out[3] = float(grad[line].mean()) / (float(np.median(grad[ring])) + 1e-3)
    fh = m[list(FOREHEAD)]
    if np.isfinite(fh).all():
        r = max(2, int(0.06 * np.linalg.norm(m[LEFT_EYE[0]] - m[RIGHT_EYE[0]])))
        fx0, fy0 = np.floor(fh.min(0)).astype(int) - r
        fx1, fy1 = np.ceil(fh.max(0)).astype(int) + r
        fx0, fy0, fx1, fy1 = max(fx0, 0), max(fy0, 0), min(fx1, w - 1), min(fy1, h - 1)
        if fx1 > fx0 + 1 and fy1 > fy0 + 1:
            p = np.ascontiguousarray(rgb[fy0:fy1 + 1, fx0:fx1 + 1]).astype(np.float32) / 255.0
            out[4:7] = np.median(cv2.cvtColor(p, cv2.COLOR_RGB2LAB).reshape(-1, 3), axis=0)
    return out


def mouth_width_px(mesh: np.ndarray) -> np.ndarray:
    """Image-plane lip-corner distance (T,) of ``mesh`` (T, 468, 2+), in pixels."""
    m = np.asarray(mesh, dtype=np.float64)
    return np.linalg.norm(m[:, LIP_CORNERS[0], :2] - m[:, LIP_CORNERS[1], :2], axis=-1)


def occluded_mouth(cues: np.ndarray, width_px: np.ndarray, yaw: np.ndarray, fps: float, *, ratio: float = 0.35,
                   line_ratio: float = 0.7, min_contrast: float = 3.0, window_s: float = 20.0,
                   match_de: float = 5.0, match_scale: float = 1.25, min_ref: int = 8, max_yaw: float = 30.0,
                   far_yaw: float = 15.0, min_s: float = 0.18) -> np.ndarray:
    """Frames (T,) where the mouth is hidden, from the per-frame ``cues`` (T, len(CUES)) of
    :func:`mouth_cues` on a regular grid at ``fps``, the lip-corner distance ``width_px`` (T,)
    and the head's ``yaw`` (T,) in degrees (> 0 turned towards the image right). See the module
    doc for the rule and how its settings were measured; a frame without cues, without
    ``min_ref`` comparable frames or turned past ``max_yaw`` is never occluded."""
    c = np.asarray(cues, dtype=np.float64).reshape(len(cues), len(CUES))
    n = len(c)
    flag = np.zeros(n, bool)
    if n == 0:
        return flag
    width = np.asarray(width_px, dtype=np.float64)
    y = np.nan_to_num(np.asarray(yaw, dtype=np.float64), nan=0.0)
    fore = c[:, 4:7]
    half = max(1, int(round(window_s * fps)))
    for i in range(n):
        if not np.isfinite(c[i, :4]).any() or not np.isfinite(fore[i]).all() or not width[i] > 0:
            continue
        if abs(y[i]) > max_yaw or not np.isfinite(c[i, 3]):
            continue
        lo, hi = max(0, i - half), min(n, i + half + 1)
        near = (np.linalg.norm(fore[lo:hi] - fore[i], axis=1) <= match_de) \
            & (width[lo:hi] <= match_scale * width[i]) & (width[lo:hi] >= width[i] / match_scale)
        line = c[lo:hi, 3][near & np.isfinite(c[lo:hi, 3])]
        if len(line) < min_ref or not c[i, 3] < line_ratio * np.percentile(line, 75):
            continue
        thirds = [0, 1, 2]
        if y[i] > far_yaw:  # turned towards the image right: its right third is the far side
            thirds.remove(2)
        elif y[i] < -far_yaw:
            thirds.remove(0)
        for k in thirds:
            x = c[lo:hi, k][near & np.isfinite(c[lo:hi, k])]
            if len(x) < min_ref or not np.isfinite(c[i, k]):
                continue
            ref = np.percentile(x, 75)
            if ref >= min_contrast and c[i, k] < ratio * ref:
                flag[i] = True
                break
    # a hand stays: runs shorter than min_s are not occlusion, and a frame or two between two such
    # runs where a cue came back above its bar (a finger moving on the lips) is hidden too
    # (WolfgangLanger frames 50 and 58: the lips seen around a finger between them)
    need = max(1, int(round(min_s * fps)))
    runs: list[list[int]] = []
    for i, j in index_runs(flag):
        if j - i < need:
            continue
        if runs and i - runs[-1][1] <= need:
            runs[-1][1] = j
        else:
            runs.append([i, j])
    out = np.zeros(n, bool)
    for a, b in runs:
        out[a:b] = True
    return out
