"""Per-frame signals from the 468-point FaceMesh and the iris points (MediaPipe face stack).

The 68-point signals of :mod:`.signals` cannot see gaze, the eyelids against the iris, the teeth,
lip thickness, the chin, the cheeks or the nose. With ``Track.mesh`` (T, 468, 3: frame pixels, z
on the x scale) and ``Track.iris`` (T, 10, 3: the subject's right eye first, iris centre then 4
contour points per eye) these are measured here. Lengths are 3-D (so a head turn does not
shorten them) over the face scale, the 3-D distance of the outer eye corners (33, 263); vertical
positions are 3-D offsets along the face's own downward axis over the same scale (see
:func:`mesh_raw_signals`); gaze and lid aperture are read in the image plane.

MediaPipe indices used (checked by plotting a real mesh, see ``benchmarks/caption_quality.py``):

=================  ===========================================================================
eye corners        33 / 133 (subject's right eye, image-left), 362 / 263 (subject's left eye)
eyelids            upper 159, 158, 160 / lower 145, 153, 144 (right eye); 386, 385, 387 /
                   374, 380, 373 (left eye)
lips               inner 13 (upper) / 14 (lower); outer 0 (top of the upper lip) / 17 (bottom
                   of the lower lip); corners 61 / 291; inner-lip ring :data:`INNER_LIP_RING`
nose, chin         nose tip 1, nasion 168, alae 98 / 327, chin 152
cheeks             205 / 425 (mid cheek, below the cheekbone)
=================  ===========================================================================

================  ==========================================================================  ==========
signal            measurement                                                                 unit
================  ==========================================================================  ==========
``aperture_left`` lid aperture of the image-left eye (mean of 3 upper-lower lid distances)     iris diam.
                  divided by that eye's iris diameter: ~0.8-1.0 open, < 0.55 half-open, ~0
``aperture_right`` same for the image-right eye                                                iris diam.
``aperture``      mean of the two                                                             iris diam.
``lower_lid``     depth of the lower lids below their eye's corner midpoint, image plane,      relative
                  along the face's down axis / 3-D face scale (lid tightening and cheek
                  raise shrink it)
``gaze_h``        eye-in-head horizontal angle, > 0 towards the image right: iris centre       degrees
                  offset from the corner midpoint along the corner line, asin(d / (0.42 w))
                  (eyeball radius ~ 0.42 of the eye width), mean of both eyes; NaN where
                  either eye's aperture is below ``EYE_CLOSED_APERTURE`` (iris guessed)
``gaze_v``        eye-in-head vertical angle, > 0 up (iris centre above the corner line)      degrees
``gaze_h_left``   ``gaze_h`` of the image-left eye alone (``gaze_h_right``, ``gaze_v_left``,  degrees
                  ``gaze_v_right`` likewise; NaN where ``gaze_h`` is): a real eye movement
                  turns both eyes together, an iris fit drifting on one smeared or hidden
                  eye moves one (see :func:`~dfec.dynamics.mesh_events.gaze_events`)
``lip_gap``       inner-lip distance |13-14| / face scale                                     face scale
``lip_thick``     red-lip height |0-13| + |14-17| / face scale (pressed lips thin it)         relative
``mouth_w``       lip-corner distance |61-291| / face scale (3-D)                             relative
``corner_lift``   height of the lip corners (61, 291) above the inner-lip centre (13, 14) in  face scale
                  the clip's head-fixed frame (:func:`head_frame`), along the face's down
                  axis, / face scale (smile > 0); replaces the 68-point ``corner_lift``, whose
                  image-plane offset follows the head's pitch (see :func:`corner_lift_3d`)
``jaw``           nose tip to chin |1-152| / face scale (jaw drop)                            relative
``chin``          lower-lip bottom to chin |17-152| / face scale (chin raise shortens it)     relative
``cheek``         depth of the mid-cheek points below the eye-corner line (3-D, face's own     relative
                  down axis) / face scale
``nose``          depth of the alae below the inner eye corners (3-D, face's own down axis)   relative
                  / face scale (nose wrinkle)
``teeth``         teeth-coloured area inside the inner-lip ring, % of the face scale squared   % scale^2
================  ==========================================================================  ==========

``iris_dark``     1 - brightness at the iris centre / around the eye (blink cue, ~0 closed)    fraction
``forehead``      horizontal lines on the forehead: log of the band-passed vertical intensity  log
                  gradient's RMS over the mean brightness, in the forehead patch warped to a
                  face-aligned rectangle (:func:`forehead_lines`); wrinkling raises it
``forehead_v``    same for vertical lines (horizontal gradient): hair strands, shading edges   log
``skin``          the same band-passed line contrast (both orientations) on two mid-cheek      log
                  patches (:func:`skin_texture`): skin that does not wrinkle with the brows,
                  the control for a codec that sharpens or smears the whole face

``teeth``, ``iris_dark``, ``forehead``, ``forehead_v`` and ``skin`` need the video frames
(:func:`pixel_signals`); the others only the arrays.
Noise: each signal's noise std is measured on the signal itself, from the second differences of
consecutive frames (robust MAD; see :func:`signal_noise`), which white jitter of the points
inflates and smooth facial motion barely touches.
"""
from __future__ import annotations

import warnings

import numpy as np

RIGHT_EYE = (33, 133)   # subject's right eye: outer, inner corner (image-left in a frontal view)
LEFT_EYE = (263, 362)   # subject's left eye: outer, inner corner
RIGHT_LIDS = ((159, 145), (158, 153), (160, 144))
LEFT_LIDS = ((386, 374), (385, 380), (387, 373))
LIP_INNER = (13, 14)
LIP_OUTER = (0, 17)
LIP_CORNERS = (61, 291)
NOSE_TIP, NASION, CHIN = 1, 168, 152
ALAE = (98, 327)
CHEEKS = (205, 425)
INNER_LIP_RING = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)
#: points expressions barely move (eye corners, nose bridge and tip): the jitter estimate's points
RIGID = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 1)
#: eyeball radius as a fraction of the corner-to-corner eye width (12 mm / ~29 mm)
EYEBALL_RADIUS = 0.42
#: iris diameter as a fraction of the eye width, used when no iris points were measured
IRIS_FRACTION = 0.40
#: below this lid aperture (iris diameters) an eye counts as closed and gaze is not read: the iris
#: model then guesses the iris behind the lid. Checked by eye on the dev clips: eyes squeezed shut
#: read 0.11-0.28 (WolfgangLanger 1-6 s, where gaze "shifts" came out of closed eyes), downcast
#: but open eyes 0.32-0.6 (338, 4251, 2422).
EYE_CLOSED_APERTURE = 0.30

MESH_SIGNAL_NAMES = (
    "aperture_left", "aperture_right", "aperture", "lower_lid", "gaze_h", "gaze_v", "gaze_h_left", "gaze_h_right",
    "gaze_v_left", "gaze_v_right", "lip_gap", "lip_thick", "mouth_w", "jaw", "chin", "cheek", "nose", "teeth", "iris_dark", "corner_lift", "forehead", "forehead_v",
    "skin",
)
MESH_NORMALISATION = {
    "aperture_left": "difference", "aperture_right": "difference", "aperture": "difference",
    "lower_lid": "relative", "gaze_h": "difference", "gaze_v": "difference", "gaze_h_left": "difference",
    "gaze_h_right": "difference", "gaze_v_left": "difference", "gaze_v_right": "difference", "lip_gap": "difference",
    "lip_thick": "relative", "mouth_w": "relative", "jaw": "relative", "chin": "relative",
    "cheek": "relative", "nose": "relative", "teeth": "difference", "iris_dark": "difference",
    "corner_lift": "difference", "forehead": "difference", "forehead_v": "difference", "skin": "difference",
}
#: signals smoothed with the short (eye) window
FAST = {"aperture_left", "aperture_right", "aperture", "lower_lid", "gaze_h", "gaze_v", "gaze_h_left", "gaze_h_right",
        "gaze_v_left", "gaze_v_right", "teeth", "iris_dark"}


def _n(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-9)


def image_axes(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame unit axes (T, 2) in the image plane: x along the outer-eye-corner line (image-left
    eye to image-right eye), y perpendicular to it, down the face (roll removed)."""
    ex = _n(mesh[:, LEFT_EYE[0], :2] - mesh[:, RIGHT_EYE[0], :2])
    return ex, np.stack([-ex[:, 1], ex[:, 0]], axis=-1)


def _dist(mesh, a, b, dims: int = 3) -> np.ndarray:
    return np.linalg.norm(mesh[:, a, :dims] - mesh[:, b, :dims], axis=-1)


def _eye(mesh: np.ndarray, iris: np.ndarray | None, corners, lids, which: int, ex, ey):
    """(lid aperture / iris diameter, horizontal and vertical iris-centre offset / eye width) of one eye in the image plane; ``which`` 0 = the subject's
    right eye in ``iris``. Image-plane measures: the iris model's z is not on the mesh's depth
    scale."""
    a, b = corners
    width = np.maximum(_dist(mesh, a, b, 2), 1e-6)
    gap = np.mean([_dist(mesh, u, lo, 2) for u, lo in lids], axis=0)
    mid = (mesh[:, a, :2] + mesh[:, b, :2]) / 2.0
    diam = IRIS_FRACTION * _dist(mesh, a, b, 3)
    dx = dy = np.full(len(mesh), np.nan)
    if iris is not None and np.size(iris):
        eye = iris[:, 5 * which: 5 * which + 5, :2]
        ring = eye[:, 1:]
        pair = np.linalg.norm(ring[:, :, None, :] - ring[:, None, :, :], axis=-1).reshape(len(mesh), -1)
        d = np.full(len(mesh), np.nan)
        seen = np.isfinite(pair).any(axis=1)  # frames without iris points (small faces) stay NaN, unwarned
        d[seen] = np.nanmax(pair[seen], axis=1)
        ok = np.isfinite(d) & (d > 0.15 * width) & (d < 0.9 * width)  # a plausible iris only
        diam = np.where(ok, d, diam)
        c = eye[:, 0] - mid
        dx = np.where(ok, (c * ex).sum(-1) / width, np.nan)
        dy = np.where(ok, (c * ey).sum(-1) / width, np.nan)
    return gap / diam, dx, dy


def face_down_axis(mesh: np.ndarray) -> np.ndarray:
    """Per-frame unit 3-D axis (T, 3) down the face: nasion (168) to chin (152), made
    perpendicular to the outer-eye-corner line. It turns with the head, so offsets along it do
    not change when the head turns, nods or tilts (an image-plane axis foreshortens)."""
    ex = _n(mesh[:, LEFT_EYE[0]] - mesh[:, RIGHT_EYE[0]])
    down = mesh[:, CHIN] - mesh[:, NASION]
    return _n(down - (down * ex).sum(-1, keepdims=True) * ex)


def head_frame(mesh: np.ndarray, iterations: int = 2) -> np.ndarray:
    """``mesh`` (T, 468, 3) rotated into one head-fixed frame for the whole clip: each frame's
    :data:`RIGID` points (eye corners, nose bridge and tip), centred and scaled to unit size, are
    aligned by the best rotation (Kabsch / orthogonal Procrustes, SVD) onto a reference shape, the
    median of the aligned rigid points (``iterations`` rounds, starting from the plain median), and
    the whole mesh is moved with them. Head pitch, yaw and roll (and the face's size and place in
    the frame) are gone from the result; what the expression moves against the rigid points stays.
    NaN rows (and rows whose rigid points are not all finite) come back NaN; unit: the rigid
    points' RMS size."""
    m = np.asarray(mesh, dtype=np.float64).reshape(-1, 468, 3)
    out = np.full(m.shape, np.nan)
    rig = m[:, list(RIGID)]
    ok = np.isfinite(rig).all(axis=(1, 2))
    if not ok.any():
        return out
    c = rig[ok].mean(axis=1, keepdims=True)
    x = rig[ok] - c
    s = np.maximum(np.linalg.norm(x, axis=(1, 2)), 1e-9)[:, None, None]
    x = x / s
    ref = np.median(x, axis=0)
    for _ in range(max(int(iterations), 1)):
        u, _, vt = np.linalg.svd(np.einsum("tki,kj->tij", x, ref))
        d = np.sign(np.linalg.det(u @ vt))  # a proper rotation (no mirror)
        u[:, :, -1] *= d[:, None]
        rot = u @ vt  # x @ rot ~ ref
        ref = np.median(x @ rot, axis=0)
        ref = ref - ref.mean(axis=0)
        ref /= max(np.linalg.norm(ref), 1e-9)
    out[ok] = ((m[ok] - c) / s) @ rot
    return out


def corner_lift_3d(mesh: np.ndarray) -> np.ndarray:
    """Height of the lip corners (61, 291) above the inner-lip centre (mean of 13, 14), per frame,
    over the 3-D outer-eye-corner distance, measured in the clip's head-fixed frame
    (:func:`head_frame`) along one down axis for the clip (:func:`face_down_axis` of the median
    aligned mesh): > 0 when the corners are above the centre (a smile), < 0 below.

    The corners lie ~0.2 face scales deeper than the lip centre (dev clips), so in the image their
    vertical offset from it changes with the head's pitch by ~0.2 tan(pitch): the 68-point
    ``corner_lift`` fell 0.107 -> 0.05 while dev clip skarsgard lifted its head by 12 degrees and
    held its smile (eyecheck2: "their smile fades"). In the head's own frame pitch and yaw do not
    move it."""
    a = head_frame(mesh)
    if not np.isfinite(a).any():
        return np.full(len(a), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(a, axis=0)[None]
    down = face_down_axis(med)[0]
    centre = (a[:, LIP_INNER[0]] + a[:, LIP_INNER[1]]) / 2.0
    corners = (a[:, LIP_CORNERS[0]] + a[:, LIP_CORNERS[1]]) / 2.0
    scale = np.maximum(_dist(a, RIGHT_EYE[0], LEFT_EYE[0]), 1e-9)
    return ((centre - corners) @ down) / scale


def mesh_raw_signals(mesh: np.ndarray, iris: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The unsmoothed signals of this module (all but ``teeth``) for ``mesh`` (T, 468, 3) and
    ``iris`` (T, 10, 3) or None; NaN rows stay NaN.

    Lengths (lip gap, lip thickness, mouth width, jaw, chin) are 3-D distances over the 3-D
    outer-eye-corner distance, so a head turn does not shorten them. Vertical positions (lower
    lids, cheeks, alae) are offsets along the face's downward axis over the same 3-D face scale:
    3-D along the face's own axis (:func:`face_down_axis`) for cheeks and alae, in the image plane
    for the lower lids (the depth of FaceMesh's lid points is noisy: the 3-D version gave lid
    tightenings on dev clip 3358 where the lids do not move by eye). (They were image-plane offsets over the
    nose's image length: a head turn of 35 degrees or a nod of 20 then moved the cheek and alae
    signals by 7-14 %, and dev clips 669, nggyup and skarsgard got nose wrinkles and cheek raises
    out of head turns, checked by eye.)"""
    m = np.asarray(mesh, dtype=np.float64).reshape(-1, 468, 3)
    ir = None if iris is None else np.asarray(iris, dtype=np.float64).reshape(-1, 10, 3)
    ex, ey = image_axes(m)
    scale = np.maximum(_dist(m, RIGHT_EYE[0], LEFT_EYE[0]), 1e-6)
    ap_r, dx_r, dy_r = _eye(m, ir, RIGHT_EYE, RIGHT_LIDS, 0, ex, ey)
    ap_l, dx_l, dy_l = _eye(m, ir, LEFT_EYE, LEFT_LIDS, 1, ex, ey)
    closed = (np.nan_to_num(ap_r, nan=1.0) < EYE_CLOSED_APERTURE) | (np.nan_to_num(ap_l, nan=1.0) < EYE_CLOSED_APERTURE)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no iris: NaN, no warning
        gx = np.where(closed, np.nan, np.nanmean(np.stack([dx_r, dx_l]), axis=0))
        gy = np.where(closed, np.nan, np.nanmean(np.stack([dy_r, dy_l]), axis=0))
        gaze_h = np.degrees(np.arcsin(np.clip(gx / EYEBALL_RADIUS, -1, 1)))
        gaze_v = -np.degrees(np.arcsin(np.clip(gy / EYEBALL_RADIUS, -1, 1)))
        # each eye alone (image-left eye = the subject's right), on the frames ``gaze_h`` reads
        one = {f"gaze_{axis}_{side}": sign * np.degrees(np.arcsin(np.clip(np.where(closed, np.nan, d) / EYEBALL_RADIUS, -1, 1)))
               for axis, sign, pair in (("h", 1.0, (dx_r, dx_l)), ("v", -1.0, (dy_r, dy_l)))
               for side, d in zip(("left", "right"), pair)}
    eye_line = (m[:, RIGHT_EYE[0]] + m[:, LEFT_EYE[0]]) / 2.0
    inner = (m[:, RIGHT_EYE[1]] + m[:, LEFT_EYE[1]]) / 2.0
    down3 = face_down_axis(m)

    def depth(points, ref):  # 3-D offset along the face's own downward axis / face scale
        return ((points - ref) * down3).sum(-1) / scale

    # lower lids: image-plane offset (FaceMesh's depth of the lid points is noisy) along the
    # face's image down axis, over the 3-D face scale: a nod shortens it only by cos(pitch)
    lids = [[lo for _, lo in RIGHT_LIDS], [lo for _, lo in LEFT_LIDS]]
    lower_lid = np.mean([((m[:, lo, :2].mean(axis=1) - (m[:, a, :2] + m[:, b, :2]) / 2.0) * ey).sum(-1) / scale
                         for lo, (a, b) in zip(lids, (RIGHT_EYE, LEFT_EYE))], axis=0)

    return {
        # the subject's right eye is on the image's left (an unmirrored view)
        "aperture_left": ap_r, "aperture_right": ap_l, "aperture": (ap_r + ap_l) / 2.0,
        "lower_lid": lower_lid,
        "gaze_h": gaze_h, "gaze_v": gaze_v, **one,
        "lip_gap": _dist(m, *LIP_INNER) / scale,
        "lip_thick": (_dist(m, LIP_OUTER[0], LIP_INNER[0]) + _dist(m, LIP_INNER[1], LIP_OUTER[1])) / scale,
        "mouth_w": _dist(m, *LIP_CORNERS) / scale,
        "jaw": _dist(m, NOSE_TIP, CHIN) / scale,
        "chin": _dist(m, LIP_OUTER[1], CHIN) / scale,
        "cheek": depth((m[:, CHEEKS[0]] + m[:, CHEEKS[1]]) / 2.0, eye_line),
        "nose": depth((m[:, ALAE[0]] + m[:, ALAE[1]]) / 2.0, inner),
        "corner_lift": corner_lift_3d(m),
    }


def teeth_fraction(rgb: np.ndarray, mesh2d: np.ndarray) -> tuple[float, float]:
    """``(teeth_area_px, mouth_area_px)`` for one frame: the pixels of the mouth opening whose
    colour is teeth-like, i.e. unsaturated but not dark compared with the lips and skin around.

    The mouth opening is the inner-lip ring grown by a quarter of the mouth width's tenth (teeth
    often show just past the mesh's inner-lip line). A pixel there counts as teeth when its HSV
    saturation is at most 0.6 times the median saturation of the band around the mouth (lips and
    skin, reddish) and its value at least 0.6 times the band's median value (the dark mouth
    interior fails this; the tongue and lips fail the first)."""
    import cv2

    ring = np.asarray(mesh2d, dtype=np.float64)[list(INNER_LIP_RING), :2]
    if not np.isfinite(ring).all():
        return float("nan"), float("nan")
    h, w = rgb.shape[:2]
    x0, y0 = np.floor(ring.min(0)).astype(int)
    x1, y1 = np.ceil(ring.max(0)).astype(int)
    mw = max(x1 - x0, 4)
    pad = max(3, int(0.3 * mw))
    bx0, by0, bx1, by1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, w - 1), min(y1 + pad, h - 1)
    if bx1 - bx0 < 3 or by1 - by0 < 3:
        return 0.0, 0.0
    patch = np.ascontiguousarray(rgb[by0:by1 + 1, bx0:bx1 + 1])
    mask = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(ring - [bx0, by0]).astype(np.int32)], 1)
    grow = max(1, int(round(0.025 * mw)))
    mask = cv2.dilate(mask, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    inside = mask.astype(bool)
    area = float(inside.sum())
    band = ~cv2.dilate(mask, np.ones((2 * grow + 3, 2 * grow + 3), np.uint8)).astype(bool)
    if area < 2 or band.sum() < 4:
        return 0.0, area
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV).astype(np.float64)
    s_ref = np.median(hsv[..., 1][band])
    v_ref = np.median(hsv[..., 2][band])
    teeth = inside & (hsv[..., 1] <= 0.6 * s_ref) & (hsv[..., 2] >= 0.6 * v_ref)
    return float(teeth.sum()), area


def iris_darkness(rgb: np.ndarray, mesh2d: np.ndarray, iris2d: np.ndarray) -> float:
    """How much darker the iris is than the eye region around it, mean of both eyes:
    1 - median V (HSV value) of a disc of 0.3 iris diameters at the iris centre / median V of the
    eye's box (corners, lids and the skin around). An open eye shows the dark iris and pupil there
    (~0.3-0.6); a closed eye shows the lid's skin (~0). NaN without iris points."""
    import cv2

    out = []
    for k, (a, b) in enumerate((RIGHT_EYE, LEFT_EYE)):
        eye = np.asarray(iris2d, dtype=np.float64)[5 * k: 5 * k + 5, :2]
        if not np.isfinite(eye).all() or not np.isfinite(mesh2d[[a, b], :2]).all():
            continue
        ring = eye[1:]
        diam = float(np.max(np.linalg.norm(ring[:, None] - ring[None], axis=-1)))
        width = float(np.linalg.norm(mesh2d[a, :2] - mesh2d[b, :2]))
        if not (0.15 * width < diam < 0.9 * width) or width < 4:
            continue
        cx, cy = (mesh2d[a, :2] + mesh2d[b, :2]) / 2.0
        half = 0.6 * width
        h, w = rgb.shape[:2]
        x0, y0 = int(max(cx - half, 0)), int(max(cy - half * 0.7, 0))
        x1, y1 = int(min(cx + half, w - 1)), int(min(cy + half * 0.7, h - 1))
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        patch = np.ascontiguousarray(rgb[y0:y1 + 1, x0:x1 + 1])
        v = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)[..., 2].astype(np.float64)
        yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1]
        disc = (xx - eye[0, 0]) ** 2 + (yy - eye[0, 1]) ** 2 <= max(0.3 * diam, 1.0) ** 2
        if disc.sum() < 1:
            continue
        ref = np.median(v)
        out.append(1.0 - float(np.median(v[disc])) / max(ref, 1.0))
    return float(np.mean(out)) if out else float("nan")


#: the forehead patch's columns, image-left to image-right, each (top of the brow, mid-forehead,
#: upper forehead): checked by plotting the mesh on RAVDESS 01-01-08-02-01-01-19 (frame 5) —
#: 63/105/107 and 336/334/293 lie on the brows' upper edge, 9 between the brows, 104/69/108/151/
#: 337/299/333 across the middle of the forehead, 103/67/109/10/338/297/332 below the hairline
FOREHEAD_COLUMNS = ((63, 104, 103), (105, 69, 67), (107, 108, 109), (9, 151, 10), (336, 337, 338),
                    (334, 299, 297), (293, 333, 332))
#: the warped forehead patch (width, height in samples): ~7 samples per wrinkle spacing
FOREHEAD_SIZE = (96, 40)
#: the patch starts this far up from the brows' upper edge (0) towards the upper-forehead row (1;
#: 0.5 is the mid row): below it the brow's own edge enters when the brows rise past the mesh's
#: brow points (0.2 let raised brows into the bottom rows, Hamilton 5.2 s, checked by eye)
FOREHEAD_START = 0.3
#: fewer rows than this (frame pixels from the patch's bottom to its top) and no wrinkle is
#: resolved: not measured (dev 167 and nggyup's distant shots, 15-17 px, show none by eye)
FOREHEAD_MIN_PX = 12.0
#: a frame whose forehead shows the codec's 8-pixel block grid this strongly (the mean brightness
#: step on the grid's strongest row or column phase over the median phase) is not measured: a
#: blocky frame draws a lattice of horizontal and vertical edges over a smooth forehead (dev 167
#: 2.0-3.1 on its blocky frames at 1.0, 1.1, 1.5, 2.0 s, 1.1-1.6 on the others; RAVDESS
#: 01-01-08-02-01-01-19, a large smooth face, reads 1.35-1.8 and 4.5 on its first frame; "wrinkles"
#: of +0.9 log that were blocks, checked by eye)
FOREHEAD_MAX_BLOCKINESS = 2.0
#: the patch is read in this many vertical strips and each contrast is their median: a head turn
#: brings background or hair into the far strips (dev 669 0.56 s, skarsgard 4.4 s, checked by eye)
FOREHEAD_STRIPS = 6


def blockiness(grey: np.ndarray) -> float:
    """How strongly ``grey`` (a frame region; which phase is the grid's does not matter)
    shows an 8-pixel block grid: for each axis the mean absolute brightness step between
    neighbours is averaged per phase (position modulo 8), and the largest phase's mean over the
    median phase's is taken; the larger axis's. ~1.1-1.3 on a clean frame, 1.5-3 on a blocky one."""
    g = np.asarray(grey, dtype=np.float64)
    out = 1.0
    for ax in (0, 1):
        if g.shape[ax] < 17 or g.shape[1 - ax] < 2:
            continue
        d = np.abs(np.diff(g, axis=ax)).mean(axis=1 - ax)
        ph = np.array([d[k::8].mean() for k in range(8)])
        med = float(np.median(ph))
        if med > 1e-6:
            out = max(out, float(ph.max() / med))
    return out


def forehead_patch(rgb: np.ndarray, mesh2d: np.ndarray, start: float = FOREHEAD_START,
                   size: tuple[int, int] = FOREHEAD_SIZE) -> tuple[np.ndarray | None, float, float]:
    """The forehead between the brows' upper edge and the upper forehead (:data:`FOREHEAD_COLUMNS`)
    warped to a face-aligned rectangle of ``size`` (grey levels, float32, top row first; a
    brow-parallel wrinkle becomes a row), its height in frame pixels and the :func:`blockiness` of
    the frame region under it. Each column of the rectangle runs from the brow point up through
    the mid-forehead point to the upper point (piecewise linear, interpolated between the mesh
    columns), rows from ``start`` to 1 along it: the patch follows the brows and the head's roll
    and scale. The frame is blurred to the patch's sampling first (no aliasing on a large face).
    None for the patch when it leaves the frame (a border is no skin) or its points are not all
    finite."""
    import cv2

    W, H = size
    a = np.asarray(mesh2d, dtype=np.float64)[np.array(FOREHEAD_COLUMNS)][..., :2]  # (columns, 3, 2)
    if not np.isfinite(a).all():
        return None, float("nan"), float("nan")
    u = np.linspace(0.0, len(FOREHEAD_COLUMNS) - 1.0, W)
    k = np.arange(len(FOREHEAD_COLUMNS))
    cols = np.stack([np.stack([np.interp(u, k, a[:, r, d]) for d in range(2)], -1) for r in range(3)], 1)  # (W, 3, 2)
    v = np.linspace(1.0, start, H)[:, None, None]
    low = cols[None, :, 0] + np.minimum(v, 0.5) * 2.0 * (cols[None, :, 1] - cols[None, :, 0])
    high = cols[None, :, 1] + (v - 0.5) * 2.0 * (cols[None, :, 2] - cols[None, :, 1])
    pts = np.where(v <= 0.5, low, high)  # (H, W, 2) frame pixels
    height = float(np.mean(np.linalg.norm(pts[0] - pts[-1], axis=-1)))
    h, w = rgb.shape[:2]
    lo, hi = pts.reshape(-1, 2).min(0), pts.reshape(-1, 2).max(0)
    if lo[0] < 0 or lo[1] < 0 or hi[0] > w - 1 or hi[1] > h - 1:
        return None, height, float("nan")
    x0, y0 = np.maximum(np.floor(lo).astype(int) - 8, 0)
    x0, y0 = x0 - x0 % 8, y0 - y0 % 8  # on the codec's 8-px grid (blockiness does not need it: any phase)
    x1, y1 = np.minimum(np.ceil(hi).astype(int) + 8, [w - 1, h - 1])
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1 + 1, x0:x1 + 1]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    blocks = blockiness(grey)
    down = max(height / H, float(np.linalg.norm(a[-1, 1] - a[0, 1])) / W)
    if down > 1.2:
        grey = cv2.GaussianBlur(grey, (0, 0), 0.5 * down)
    m = (pts - [x0, y0]).astype(np.float32)
    return cv2.remap(grey, m[..., 0], m[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), height, blocks


def line_contrast(patch: np.ndarray, strips: int = FOREHEAD_STRIPS) -> tuple[float, float]:
    """``(horizontal, vertical)`` line contrast of a warped forehead ``patch``, as logs: the patch is
    band-passed (Gaussian sigma 1 minus sigma 4 samples: pixel noise and the forehead's broad
    shading out, wrinkle-sized lines in), and in each of ``strips`` vertical strips the RMS of its
    vertical gradient (horizontal lines: wrinkles) and of its horizontal gradient (vertical lines:
    hair strands, the glabella's frown lines, the face's edge) is divided by the strip's mean grey
    level (a Weber contrast: a brighter or darker light cancels); the median over the strips is
    logged (a relative change is a difference; a face's size and sharpness cancel in the change
    against its own neutral)."""
    import cv2

    p = np.asarray(patch, dtype=np.float64)
    band = cv2.GaussianBlur(p, (0, 0), 1.0) - cv2.GaussianBlur(p, (0, 0), 4.0)
    gy = np.diff(band, axis=0)[:, :-1] ** 2
    gx = np.diff(band, axis=1)[:-1] ** 2
    hs, vs = [], []
    for idx in np.array_split(np.arange(gy.shape[1]), max(int(strips), 1)):
        mean = float(p[:, idx].mean())
        if mean < 1.0:
            continue  # black: no skin to read
        hs.append(np.sqrt(gy[:, idx].mean()) / mean)
        vs.append(np.sqrt(gx[:, idx].mean()) / mean)
    if not hs:
        return float("nan"), float("nan")
    eps = 1e-4  # a flat patch: log(1e-4), not -inf
    return float(np.log(np.median(hs) + eps)), float(np.log(np.median(vs) + eps))


def forehead_lines(rgb: np.ndarray, mesh2d: np.ndarray, min_px: float = FOREHEAD_MIN_PX,
                   max_blockiness: float = FOREHEAD_MAX_BLOCKINESS) -> tuple[float, float]:
    """:func:`line_contrast` of the frame's forehead patch (:func:`forehead_patch`); NaN when the
    patch leaves the frame, is under ``min_px`` frame pixels high (no wrinkle is resolved) or
    shows the codec's block grid (:func:`blockiness` above ``max_blockiness``)."""
    p, height, blocks = forehead_patch(rgb, mesh2d)
    if p is None or not height >= min_px or not blocks <= max_blockiness:
        return float("nan"), float("nan")
    return line_contrast(p)


#: :func:`skin_texture`: half-side of each mid-cheek patch, as a fraction of the 2-D outer-eye-corner
#: distance (0.15: the patch stays on the cheek between the nose's side and the face's edge in the
#: dev clips' frontal and 3/4 views), the patch's side in samples, and the smallest half-side in
#: frame pixels that is read (a smaller patch holds no skin texture)
SKIN_HALF, SKIN_SIZE, SKIN_MIN_PX = 0.15, 32, 3.0


def skin_texture(rgb: np.ndarray, mesh2d: np.ndarray) -> float:
    """The fine texture of skin that does not wrinkle with the brows: :func:`line_contrast` (the
    mean of its two orientations, log) of a square patch around each mid-cheek point
    (:data:`CHEEKS`), resampled to ``SKIN_SIZE`` samples, averaged over the patches inside the
    frame; NaN when none is. The forehead's line contrast also moves when the codec sharpens or
    smears the whole face (x264 at CRF 40: quantisation varies from frame to frame with motion,
    dev s32 forehead +0.9 and this +0.5 together at 0.3-4 s, no wrinkle by eye); a wrinkle raises
    the forehead alone (RAVDESS 0.06-1.06 s: forehead +1.1, this within 0.05; Hamilton 3.6-4.1 s,
    4.9-5.3 s: this flat or falling)."""
    import cv2

    m = np.asarray(mesh2d, dtype=np.float64)[:, :2]
    iod = float(np.linalg.norm(m[RIGHT_EYE[0]] - m[LEFT_EYE[0]]))
    r = SKIN_HALF * iod
    if not np.isfinite(r) or r < SKIN_MIN_PX:
        return float("nan")
    h, w = rgb.shape[:2]
    vals = []
    for v in CHEEKS:
        c = m[v]
        if not np.isfinite(c).all():
            continue
        x0, y0 = int(np.floor(c[0] - r)), int(np.floor(c[1] - r))
        x1, y1 = int(np.ceil(c[0] + r)), int(np.ceil(c[1] + r))
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            continue
        grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32)
        patch = cv2.resize(grey, (SKIN_SIZE, SKIN_SIZE), interpolation=cv2.INTER_AREA)
        hz, vt = line_contrast(patch, strips=2)
        if np.isfinite(hz) and np.isfinite(vt):
            vals.append(0.5 * (hz + vt))
    return float(np.mean(vals)) if vals else float("nan")


def pixel_signals(frames_rgb, mesh: np.ndarray, iris: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``teeth`` and ``iris_dark`` for each row of ``mesh`` (T, 468, 3), given an iterable of the
    matching RGB frames (None for a frame not decoded); NaN where a frame has no mesh.

    ``teeth``: teeth-coloured area (:func:`teeth_fraction`) in percent of the squared face scale.
    ``iris_dark``: :func:`iris_darkness`, the blink cue (FaceMesh's own eyelid points barely close
    on a blink; the iris stays the place where an open eye is dark).
    ``forehead``, ``forehead_v``: :func:`forehead_lines` (the forehead wrinkle cue: FaceMesh's
    points do not move with the skin's folds); ``skin``: :func:`skin_texture` (its control).
    Also the per-frame cues of :func:`.occlusion.mouth_cues` (is the mouth hidden by a hand?),
    under the names :data:`.occlusion.CUES`: not signals themselves, they make the mouth-occlusion
    mask of :func:`~.signals.compute_signals`."""
    from .occlusion import CUES, mouth_cues

    m = np.asarray(mesh, dtype=np.float64).reshape(-1, 468, 3)
    ir = None if iris is None or not np.size(iris) else np.asarray(iris, dtype=np.float64).reshape(-1, 10, 3)
    scale = _dist(m, RIGHT_EYE[0], LEFT_EYE[0])
    teeth = np.full(len(m), np.nan)
    dark = np.full(len(m), np.nan)
    fh = np.full((len(m), 2), np.nan)
    skin = np.full(len(m), np.nan)
    cues = np.full((len(m), len(CUES)), np.nan)
    for t, rgb in enumerate(frames_rgb):
        if t >= len(m):
            break
        if rgb is None or not np.isfinite(m[t, list(INNER_LIP_RING)]).all() or not scale[t] > 0:
            continue
        area, _ = teeth_fraction(rgb, m[t])
        teeth[t] = 100.0 * area / scale[t] ** 2
        if ir is not None:
            dark[t] = iris_darkness(rgb, m[t], ir[t])
        if np.isfinite(m[t, :, :2]).all():
            cues[t] = mouth_cues(rgb, m[t])
            fh[t] = forehead_lines(rgb, m[t])
            skin[t] = skin_texture(rgb, m[t])
    return {"teeth": teeth, "iris_dark": dark, "forehead": fh[:, 0], "forehead_v": fh[:, 1], "skin": skin,
            **{name: cues[:, k] for k, name in enumerate(CUES)}}


def pixel_signals_from_video(path, frames, mesh: np.ndarray, iris: np.ndarray | None, fps: float) -> dict[str, np.ndarray]:
    """:func:`pixel_signals` for a track: decodes ``path`` at ``fps`` (the tracker's frame slots) and
    measures the frames listed in ``frames`` (the track's frame indices, aligned with ``mesh``)."""
    from ..video.reader import iter_frames

    from .occlusion import CUES

    pos = {int(f): i for i, f in enumerate(frames)}
    out = {name: np.full(len(pos), np.nan) for name in ("teeth", "iris_dark", "forehead", "forehead_v", "skin", *CUES)}
    last = max(pos) if pos else -1
    m = np.asarray(mesh, dtype=np.float64).reshape(-1, 468, 3)
    ir = None if iris is None else np.asarray(iris, dtype=np.float64).reshape(-1, 10, 3)
    for k, _, rgb in iter_frames(path, fps, fill=True, only=pos):  # other frames are not converted
        i = pos.get(int(k))
        if i is not None:
            one = pixel_signals([rgb], m[i:i + 1], None if ir is None else ir[i:i + 1])
            for name in out:
                out[name][i] = one[name][0]
        if k >= last:
            break
    return out


def signal_noise(x: np.ndarray) -> float:
    """Noise std of a raw per-frame signal from its second differences: 1.4826 median|d2| / sqrt(6)
    over triples of consecutive finite samples (0 with fewer than three)."""
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 3:
        return 0.0
    d2 = x[2:] - 2 * x[1:-1] + x[:-2]
    d2 = d2[np.isfinite(d2)]
    return float(1.4826 * np.median(np.abs(d2)) / np.sqrt(6.0)) if len(d2) else 0.0
