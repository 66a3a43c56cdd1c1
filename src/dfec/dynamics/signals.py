"""Per-frame facial signals from the main character's 68 landmarks.

The face tracking module (paper, Sec. 3.1) gives the main track's iBUG-68 landmarks P_t at 16 fps.
This module turns them into a small set of interpretable per-frame measurements, the input of the
training-free landmark captioner (the offline counterpart of FaceTrack-MM's dynamic description):

================  ==================================================================  ============
signal            measurement                                                         neutral unit
================  ==================================================================  ============
``ear_left``      eye aspect ratio of the image-left eye (points 36-41), Soukupova &   relative
                  Cech 2016: (|p37-p41| + |p38-p40|) / (2 |p36-p39|), times cos(yaw)
``ear_right``     same for the image-right eye (points 42-47)                          relative
``eye_open``      mean of the two EARs                                                 relative
``mouth_open``    inner-lip gap: mean of |p61-p67|, |p62-p66|, |p63-p65| / face scale   face scale
``mouth_width``   lip-corner distance |p48-p54| / face scale                          relative
``corner_lift``   height of the lip corners above the inner-lip centre, along the      face scale
                  face's vertical axis, / face scale (smile > 0, corners down < 0)
``brow_height``   mean height of the brows (17-26) above the eye-corner line / scale   relative
``brow_inner``    inner-brow distance |p21-p22| / face scale (furrow: it shrinks)      relative
``yaw``           head yaw from ``cv2.solvePnP`` with :data:`FACE_MODEL_3D`; > 0 when  degrees
                  the face turns towards the image right
``pitch``         head pitch; > 0 when the head lifts (chin up)                        degrees
``roll``          head roll; > 0 when the head tilts towards the image right           degrees
================  ==================================================================  ============

"Left" and "right" are the viewer's (image) left and right throughout the dynamics package.

The *face scale* is the outer-eye-corner distance |p36-p45| divided by cos(yaw) (clipped), so it
stays near the frontal inter-ocular distance while the head turns; vertical measures are taken in
a roll-corrected frame and divided by cos(pitch). Signals are smoothed with a centred moving
average (short for the eyes, so blinks survive) and normalised against the neutral frame: the
per-video median of each signal (:meth:`FaceSignals.deviation`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: A generic 3D face (millimetres) for the rigid iBUG points used by solvePnP. Axes follow the
#: camera: x to the image right (the subject's left), y down, z away from the camera; the origin
#: is the midpoint of the inner eye corners. Values are rounded adult anthropometric averages
#: (inter-canthal width ~32 mm, bi-ocular width ~90 mm, nose protrusion ~30 mm), written for this
#: project. Only points that expressions barely move (eye corners, nose) are used.
FACE_MODEL_3D: dict[int, tuple[float, float, float]] = {
    36: (-45.0, 0.0, 14.0),   # image-left eye, outer corner
    39: (-16.0, 0.0, 2.0),    # image-left eye, inner corner
    42: (16.0, 0.0, 2.0),     # image-right eye, inner corner
    45: (45.0, 0.0, 14.0),    # image-right eye, outer corner
    27: (0.0, -4.0, -6.0),    # nasion (top of the nose bridge)
    28: (0.0, 10.0, -12.0),
    29: (0.0, 22.0, -20.0),
    30: (0.0, 34.0, -30.0),   # nose tip
    31: (-13.0, 44.0, -12.0), # nostril wings
    33: (0.0, 46.0, -18.0),   # subnasale
    35: (13.0, 44.0, -12.0),
}
PNP_POINTS = tuple(FACE_MODEL_3D)

SIGNAL_NAMES = (
    "ear_left", "ear_right", "eye_open", "mouth_open", "mouth_width", "corner_lift",
    "brow_height", "brow_inner", "yaw", "pitch", "roll",
)
#: how each signal is compared with its neutral (median) value: "relative" -> (x - m) / m,
#: "difference" -> x - m (face-scale units or degrees)
NORMALISATION = {
    "ear_left": "relative", "ear_right": "relative", "eye_open": "relative",
    "mouth_open": "difference", "mouth_width": "relative", "corner_lift": "difference",
    "brow_height": "relative", "brow_inner": "relative",
    "yaw": "difference", "pitch": "difference", "roll": "difference",
}


@dataclass
class SignalConfig:
    """Smoothing and pose settings for :func:`compute_signals`.

    ``eye_smooth_frames`` is short (3 frames at 16 fps ~ 190 ms) so a blink survives;
    ``smooth_frames`` (5 frames ~ 310 ms) steadies the slower mouth, brow and head signals;
    ``max_gap_s`` is the longest run of missing frames filled by linear interpolation.
    ``focal_scale`` sets the pinhole focal length to ``focal_scale * max(width, height)``.
    """

    eye_smooth_frames: int = 3
    smooth_frames: int = 5
    max_gap_s: float = 0.5
    focal_scale: float = 1.0
    min_cos: float = 0.5


@dataclass
class FaceSignals:
    """Per-frame signals of one track on a regular time grid (NaN where the face is missing)."""

    times: np.ndarray
    fps: float
    values: dict[str, np.ndarray] = field(default_factory=dict)
    valid: np.ndarray | None = None
    raw: dict[str, np.ndarray] = field(default_factory=dict)
    iod_px: np.ndarray | None = None

    def __len__(self) -> int:
        return int(len(self.times))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.values[name]

    def neutral(self, name: str) -> float:
        """The neutral value of a signal: its median over the video (NaN-aware)."""
        v = self.values[name]
        return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")

    def deviation(self, name: str) -> np.ndarray:
        """The signal's deviation from its neutral frame, per :data:`NORMALISATION`."""
        v = self.values[name]
        m = self.neutral(name)
        if not np.isfinite(m):
            return np.full_like(v, np.nan)
        if NORMALISATION[name] == "relative":
            return (v - m) / max(abs(m), 1e-6)
        return v - m

    def to_json(self) -> dict:
        def plain(a):
            return [None if not np.isfinite(x) else round(float(x), 5) for x in a]

        return {
            "fps": self.fps,
            "times": [round(float(t), 4) for t in self.times],
            "neutral": {k: (None if not np.isfinite(self.neutral(k)) else round(self.neutral(k), 5)) for k in self.values},
            "values": {k: plain(v) for k, v in self.values.items()},
        }


# ----------------------------------------------------------------------------------- geometry
def _d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=-1)


def eye_aspect_ratio(eye: np.ndarray) -> np.ndarray:
    """EAR of six eye points (T, 6, 2) in iBUG order (corner, two upper, corner, two lower)."""
    v = _d(eye[..., 1, :], eye[..., 5, :]) + _d(eye[..., 2, :], eye[..., 4, :])
    h = 2.0 * _d(eye[..., 0, :], eye[..., 3, :])
    return v / np.maximum(h, 1e-6)


def head_pose(landmarks: np.ndarray, frame_size: tuple[int, int], focal_scale: float = 1.0) -> np.ndarray:
    """Yaw, pitch, roll in degrees for each frame of ``landmarks`` (T, 68, 2) via ``cv2.solvePnP``.

    The generic model :data:`FACE_MODEL_3D` is fitted with the iterative (Levenberg-Marquardt)
    solver, warm-started from the previous frame. Signs: yaw > 0 face turned towards the image
    right, pitch > 0 head lifted, roll > 0 head tilted towards the image right. NaN rows stay NaN.
    """
    import cv2

    w, h = (int(frame_size[0]), int(frame_size[1])) if frame_size and frame_size[0] else (0, 0)
    lm = np.asarray(landmarks, dtype=np.float64)
    if not w or not h:  # unknown frame size: centre the camera on the landmarks
        finite = lm[np.isfinite(lm).all(axis=(1, 2))]
        span = finite.reshape(-1, 2) if len(finite) else np.zeros((1, 2))
        w, h = int(max(span[:, 0].max() * 2, 2)), int(max(span[:, 1].max() * 2, 2))
    f = focal_scale * max(w, h)
    cam = np.array([[f, 0, w / 2.0], [0, f, h / 2.0], [0, 0, 1]], dtype=np.float64)
    model = np.array([FACE_MODEL_3D[i] for i in PNP_POINTS], dtype=np.float64)
    out = np.full((len(lm), 3), np.nan)
    rvec = tvec = None
    for t, pts in enumerate(lm):
        img = pts[list(PNP_POINTS)]
        if not np.isfinite(img).all():
            continue
        if rvec is None:
            # initial guess: frontal face at the distance implied by the eye-corner spread
            iod = max(np.linalg.norm(pts[45] - pts[36]), 1.0)
            z = f * 90.0 / iod
            c = pts[list(PNP_POINTS)].mean(axis=0)
            rvec0 = np.zeros((3, 1))
            tvec0 = np.array([[(c[0] - w / 2) * z / f], [(c[1] - h / 2) * z / f], [z]])
        else:
            rvec0, tvec0 = rvec.copy(), tvec.copy()
        ok, r, tv = cv2.solvePnP(model, img.reshape(-1, 1, 2), cam, None, rvec0, tvec0,
                                 useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok or tv[2, 0] <= 0:
            continue
        rvec, tvec = r, tv
        out[t] = rotation_to_angles(cv2.Rodrigues(r)[0])
    return out


def rotation_to_angles(R: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) in degrees of a model-to-camera rotation, with the signs documented in
    :func:`head_pose`. R = Rz(roll') @ Ry(yaw') @ Rx(pitch') in camera axes (x right, y down,
    z forward)."""
    # yaw' about y: a positive angle sends the nose (z < 0) towards -x, i.e. the image left
    yaw_c = np.degrees(np.arcsin(np.clip(-R[2, 0], -1.0, 1.0)))
    pitch_c = np.degrees(np.arctan2(R[2, 1], R[2, 2]))
    roll_c = np.degrees(np.arctan2(R[1, 0], R[0, 0]))
    # pitch' > 0 about x sends the nose (z < 0) towards +y (down): head lowered
    return np.array([-yaw_c, -pitch_c, roll_c])


def _roll_frame(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit x (along the eye line) and y (down the face) axes per frame."""
    ex = lm[:, 45] - lm[:, 36]
    ex = ex / np.maximum(np.linalg.norm(ex, axis=-1, keepdims=True), 1e-6)
    ey = np.stack([-ex[:, 1], ex[:, 0]], axis=-1)  # rotate +90 deg: points down the face
    return ex, ey


def raw_signals(landmarks: np.ndarray, pose: np.ndarray, min_cos: float = 0.5) -> dict[str, np.ndarray]:
    """The unsmoothed signals of :mod:`dfec.dynamics.signals` for (T, 68, 2) landmarks and the
    (T, 3) head pose from :func:`head_pose`."""
    lm = np.asarray(landmarks, dtype=np.float64)
    yaw, pitch, roll = pose[:, 0], pose[:, 1], pose[:, 2]
    cy = np.clip(np.cos(np.radians(np.nan_to_num(yaw))), min_cos, 1.0)
    cp = np.clip(np.cos(np.radians(np.nan_to_num(pitch))), min_cos, 1.0)
    scale = np.maximum(_d(lm[:, 36], lm[:, 45]) / cy, 1e-6)
    ex, ey = _roll_frame(lm)

    def vert(p):  # component of a vector along the face's downward axis, frontalised
        return (p * ey).sum(-1) / cp

    # the eye's width foreshortens by ~cos(yaw) when the head turns, inflating the EAR
    ear_l = eye_aspect_ratio(lm[:, 36:42]) * cy
    ear_r = eye_aspect_ratio(lm[:, 42:48]) * cy
    gap = (_d(lm[:, 61], lm[:, 67]) + _d(lm[:, 62], lm[:, 66]) + _d(lm[:, 63], lm[:, 65])) / 3.0
    centre = (lm[:, 62] + lm[:, 66]) / 2.0
    corners = (lm[:, 48] + lm[:, 54]) / 2.0
    eye_line = (lm[:, 36] + lm[:, 39] + lm[:, 42] + lm[:, 45]) / 4.0
    brows = lm[:, 17:27].mean(axis=1)
    return {
        "ear_left": ear_l,
        "ear_right": ear_r,
        "eye_open": (ear_l + ear_r) / 2.0,
        "mouth_open": gap / cp / scale,
        "mouth_width": _d(lm[:, 48], lm[:, 54]) / cy / scale,
        "corner_lift": vert(centre - corners) / scale,
        "brow_height": vert(eye_line - brows) / scale,
        "brow_inner": _d(lm[:, 21], lm[:, 22]) / cy / scale,
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
    }


# ----------------------------------------------------------------------------------- filters
def fill_gaps(x: np.ndarray, max_gap: int) -> np.ndarray:
    """Linearly interpolate NaN runs of at most ``max_gap`` samples between finite values."""
    x = np.asarray(x, dtype=np.float64).copy()
    bad = ~np.isfinite(x)
    if not bad.any() or bad.all():
        return x
    idx = np.arange(len(x))
    good = idx[~bad]
    i = 0
    while i < len(x):
        if bad[i]:
            j = i
            while j < len(x) and bad[j]:
                j += 1
            if i > 0 and j < len(x) and (j - i) <= max_gap:
                x[i:j] = np.interp(idx[i:j], good, x[good])
            i = j
        else:
            i += 1
    return x


def smooth(x: np.ndarray, k: int) -> np.ndarray:
    """Centred moving average over ``k`` frames that ignores NaNs (a NaN stays NaN)."""
    x = np.asarray(x, dtype=np.float64)
    if k <= 1 or len(x) < 2:
        return x.copy()
    k = int(k) | 1  # odd window
    fin = np.isfinite(x)
    xv = np.where(fin, x, 0.0)
    ker = np.ones(k)
    num = np.convolve(xv, ker, mode="same")
    den = np.convolve(fin.astype(float), ker, mode="same")
    out = num / np.maximum(den, 1e-9)
    out[~fin] = np.nan
    return out


def compute_signals(
    landmarks: np.ndarray,
    frames: list[int] | np.ndarray,
    fps: float,
    frame_size: tuple[int, int] = (0, 0),
    config: SignalConfig | None = None,
) -> FaceSignals:
    """Signals for one track: ``landmarks`` (T, 68, 2) at the 16-fps frame indices ``frames``.

    The track is laid on a regular grid from its first to its last frame (missing frames NaN),
    short gaps are interpolated, head pose is solved per frame, and each signal is smoothed.
    """
    cfg = config or SignalConfig()
    lm = np.asarray(landmarks, dtype=np.float64).reshape(-1, 68, 2)
    frames = np.asarray(frames, dtype=int).reshape(-1)
    if len(frames) != len(lm):
        raise ValueError("landmarks and frames differ in length")
    if len(frames) == 0:
        return FaceSignals(times=np.zeros(0), fps=float(fps), values={k: np.zeros(0) for k in SIGNAL_NAMES},
                           valid=np.zeros(0, bool))
    order = np.argsort(frames)
    frames, lm = frames[order], lm[order]
    grid = np.arange(frames[0], frames[-1] + 1)
    full = np.full((len(grid), 68, 2), np.nan)
    full[frames - frames[0]] = lm
    valid = np.isfinite(full).all(axis=(1, 2))
    max_gap = max(0, int(round(cfg.max_gap_s * fps)))
    flat = full.reshape(len(grid), -1)
    for j in range(flat.shape[1]):
        flat[:, j] = fill_gaps(flat[:, j], max_gap)
    full = flat.reshape(len(grid), 68, 2)
    pose = head_pose(full, frame_size, cfg.focal_scale)
    # unwrap-free: pose angles of a visible face stay well inside +-90 degrees
    raw = raw_signals(full, pose, cfg.min_cos)
    values = {}
    for name in SIGNAL_NAMES:
        k = cfg.eye_smooth_frames if name.startswith(("ear", "eye")) else cfg.smooth_frames
        values[name] = smooth(raw[name], k)
    iod = _d(full[:, 36], full[:, 45])
    return FaceSignals(times=grid / float(fps), fps=float(fps), values=values, valid=valid, raw=raw, iod_px=iod)


def track_signals(tracking, config: SignalConfig | None = None) -> FaceSignals | None:
    """Signals of ``tracking.main_track`` (a :class:`~dfec.schema.TrackingResult`), or None when
    the video has no main face."""
    track = tracking.main_track
    if track is None or len(track) == 0:
        return None
    return compute_signals(track.landmarks, track.frames, tracking.fps or 16.0, tracking.frame_size, config)
