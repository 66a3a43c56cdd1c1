"""Per-frame facial signals from the main character's 68 landmarks.

The face tracking module (paper) gives the main track's iBUG-68 landmarks P_t at 16 fps.
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
                  face's vertical axis, / face scale (smile > 0, corners down < 0); on
                  mesh tracks the mesh's head-frame lift replaces it (see ``_add_mesh``)
``brow_height``   mean height of the brows (17-26) above the eye-corner line / scale   relative
``brow_inner``    inner-brow distance |p21-p22| / face scale (furrow: it shrinks)      relative
``yaw``           head yaw from ``cv2.solvePnP`` with :data:`FACE_MODEL_3D`; > 0 when  degrees
                  the face turns towards the image right
``pitch``         head pitch; > 0 when the head lifts (chin up)                        degrees
``roll``          head roll; > 0 when the head tilts towards the image right           degrees
================  ==================================================================  ============

"Left" and "right" in signal names and signs are the viewer's (image) left and right; event kinds
and captions name the person's own left and right unless ``DynamicsConfig.left_right`` is
"viewer" (see :mod:`dfec.dynamics.events`).

The *face scale* is the outer-eye-corner distance |p36-p45| divided by cos(yaw) (clipped), so it
stays near the frontal inter-ocular distance while the head turns; vertical measures are taken in
a roll-corrected frame and divided by cos(pitch). Signals are smoothed with a centred moving
average (short for the eyes, so blinks survive) and normalised against the neutral frame: the
per-video median of each signal (:meth:`FaceSignals.deviation`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .mesh_signals import FAST, LEFT_EYE, MESH_NORMALISATION, RIGHT_EYE, face_down_axis, mesh_raw_signals, signal_noise

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
    **MESH_NORMALISATION,
    "gaze_yaw": "difference", "gaze_pitch": "difference", "pitch3d": "difference",
}


@dataclass
class SignalConfig:
    """Smoothing and pose settings for :func:`compute_signals`.

    ``eye_smooth_frames`` is short (3 frames at 16 fps ~ 190 ms) so a blink survives;
    ``smooth_frames`` (5 frames ~ 310 ms) steadies the slower mouth, brow and head signals;
    ``max_gap_s`` is the longest run of missing frames filled by linear interpolation.
    ``focal_scale`` sets the pinhole focal length to ``focal_scale * max(width, height)``.

    Per-video noise estimate (:func:`estimate_noise`): the landmark jitter ``jitter_px`` is measured
    on the rigid points (eye corners, nose) from their frame-to-frame second differences, then
    propagated to every signal by re-measuring ``noise_reps`` copies of the track (at most
    ``noise_max_frames`` frames, seed ``noise_seed``) with that much Gaussian jitter added.
    ``noise_reps`` 0 switches the estimate off (every noise level is then 0).
    """

    eye_smooth_frames: int = 3
    smooth_frames: int = 5
    max_gap_s: float = 0.5
    focal_scale: float = 1.0
    min_cos: float = 0.5
    noise_reps: int = 8
    noise_max_frames: int = 256
    noise_seed: int = 0
    #: measure the pixel signals (teeth, iris darkness) on the video frames when the track has a
    #: mesh (decodes the video once more)
    teeth: bool = True
    #: mouth occlusion (a hand, phone, cup over the lips; :mod:`.occlusion`, needs the pixel
    #: signals): frames whose mouth is hidden are no evidence of the mouth's movement, and the
    #: mouth signals (:data:`MOUTH_SIGNALS`) are missing there, as for a frame without a mesh
    #: (bridged over at most ``max_gap_s``). Settings measured on the dev clips, labelled by eye
    #: (see :mod:`.occlusion`): a third of the lip band is hidden where its redness against the
    #: skin around (CIE a*) falls below ``occl_ratio`` of its reference and the lip line's edge
    #: below ``occl_line_ratio`` of its own; references over frames within ``occl_window_s`` s whose
    #: forehead colour is within ``occl_match_de`` (CIE76) and lip-corner distance within a factor
    #: ``occl_match_scale``; a third is judged only where its reference redness is at least
    #: ``occl_min_contrast`` a* units; no decision past ``occl_max_yaw`` degrees of yaw, the far third
    #: is left out past ``occl_far_yaw``; hidden for at least ``occl_min_s`` s
    occlusion: bool = True
    occl_ratio: float = 0.35
    occl_line_ratio: float = 0.7
    occl_min_contrast: float = 3.0
    occl_window_s: float = 20.0
    occl_match_de: float = 5.0
    occl_match_scale: float = 1.25
    occl_max_yaw: float = 30.0
    occl_far_yaw: float = 15.0
    occl_min_s: float = 0.18
    #: on a mesh track where the Iris model ran on some frames and not on others (the tracker runs
    #: it only on faces at least ``TrackConfig.iris_min_face_px`` tall, so a face near that size
    #: flickers across it), the eyelid and gaze signals (:data:`LID_SIGNALS`) are missing on the
    #: meshed frames without Iris, as for a frame without a mesh (bridged over at most
    #: ``max_gap_s``): FaceMesh's own lids barely move, so the two readings of one eye differ by
    #: a step that no lid made. Measured on the same frames read both ways (dev 2422, 338, 167
    #: re-tracked with Iris forced on / off): lid aperture without Iris 0.69-0.76 iris diameters
    #: whatever the lids do (with Iris: 2422 lowered lids 0.40-0.63, 338 downcast median 0.46,
    #: 167 open 0.76), eye aspect ratio medians 0.27-0.29 (with Iris 0.18, 0.19, 0.27); Iris's
    #: own readings agree across sizes (same frames at 0.5x / 1.25x: median |aperture change|
    #: <= 0.03, gaze <= 2.3 degrees, down to a 33-px eye-corner distance). Dev 338 zoomed (box
    #: 63-66 px, Iris on 45 of 73 frames, not at 2.19-2.25 s nor after 2.94 s) read "their upper
    #: eyelids droop" out of those steps (lids held low on every frame by eye): robustness
    #: benchmark zoom TEM 0.672 -> 0.674, consistency 0.879 -> 0.884, every other version and
    #: dev unchanged. False keeps both readings in one signal
    lids_need_iris: bool = True


@dataclass
class FaceSignals:
    """Per-frame signals of one track on a regular time grid (NaN where the face is missing)."""

    times: np.ndarray
    fps: float
    values: dict[str, np.ndarray] = field(default_factory=dict)
    valid: np.ndarray | None = None
    raw: dict[str, np.ndarray] = field(default_factory=dict)
    iod_px: np.ndarray | None = None
    #: the face's size in the image regardless of head pose (px): the 3-D distance of the mesh's
    #: outer eye corners, on ``times`` (None on tracks without a mesh; NaN where it is missing).
    #: ``iod_px`` (2-D) shrinks with cos(yaw): 0.6 x in dev clip 669's 50-degree turns, so a
    #: gate on it read a turned face as a smaller one (see ``DynamicsConfig.min_detail_px``)
    face_px: np.ndarray | None = None
    #: estimated landmark jitter (px, rigid points) and its effect on each signal: the noise std of
    #: the smoothed signal (``noise``) and of the unsmoothed one (``noise_raw``), in signal units
    jitter_px: float = 0.0
    noise: dict[str, float] = field(default_factory=dict)
    noise_raw: dict[str, float] = field(default_factory=dict)
    #: voice activity of the video's sound on ``times`` (a :class:`dfec.video.audio.VoiceTrack`;
    #: None without sound, or when the signals were made without the video): see :mod:`.speech`
    voice: object | None = None
    #: why ``voice`` is None for a video whose sound was read (:func:`dfec.video.audio.heard`:
    #: "no audio track", "silent audio track", "audio track not decodable"); None otherwise
    sound_note: str | None = None
    #: shot changes the tracker found (:attr:`dfec.schema.TrackingResult.shot_changes`) as time
    #: spans (s, s) on ``times``: a hard cut's two frames, a dissolve's blended frames; used by
    #: :func:`~dfec.dynamics.headpose.shot_cuts` with its own scale-jump test
    shot_changes: list = field(default_factory=list)
    #: frames on ``times`` whose mouth is hidden (a hand over it; :mod:`.occlusion`), or None when
    #: not measured (no mesh, no video frames); the mouth signals are missing there
    mouth_occluded: np.ndarray | None = None

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

    def noise_level(self, name: str, raw: bool = False) -> float:
        """Noise std of a signal in the units of :meth:`deviation` (0 when not estimated or when the
        track has no such signal)."""
        if name not in self.values:
            return 0.0
        sd = (self.noise_raw if raw else self.noise).get(name, 0.0)
        return self._in_deviation_units(name, sd) if np.isfinite(sd) else 0.0

    def own_noise(self, name: str) -> float:
        """Noise std of a signal measured on its own unsmoothed samples (``raw``, else the
        smoothed values) by robust second differences (:func:`~.mesh_signals.signal_noise`), in
        the units of :meth:`deviation`; 0 when the track has no such signal. Unlike
        :meth:`noise_level` it is not propagated from the rigid points' jitter: a point that
        jitters more than the rigid ones (a brow on a blurred face) shows it here."""
        if name not in self.values:
            return 0.0
        x = self.raw.get(name, self.values[name])
        return self._in_deviation_units(name, signal_noise(np.asarray(x, dtype=float)))

    def _in_deviation_units(self, name: str, sd: float) -> float:
        """A noise std ``sd`` of signal ``name`` in the units of :meth:`deviation` (relative
        signals: over their neutral level; 0 without one)."""
        if NORMALISATION[name] == "relative":
            m = self.neutral(name)
            return float(sd / max(abs(m), 1e-6)) if np.isfinite(m) else 0.0
        return float(sd)

    def to_json(self) -> dict:
        def plain(a):
            return [None if not np.isfinite(x) else round(float(x), 5) for x in a]

        return {
            "fps": self.fps,
            "times": [round(float(t), 4) for t in self.times],
            "neutral": {k: (None if not np.isfinite(self.neutral(k)) else round(self.neutral(k), 5)) for k in self.values},
            "values": {k: plain(v) for k, v in self.values.items()},
            "jitter_px": round(float(self.jitter_px), 4),
            "noise": {k: round(float(v), 6) for k, v in self.noise.items()},
            # frames whose mouth was hidden (1), or None when not measured
            "mouth_occluded": None if self.mouth_occluded is None else
            [int(bool(x)) for x in np.asarray(self.mouth_occluded, bool)],
            # the tracker's shot changes as time spans (s), read by the head's cut test
            "shot_changes": [[round(float(a), 4), round(float(b), 4)] for a, b in self.shot_changes],
            # the sound's voice score on ``times`` (0-1) and its noise floor, or None without sound
            "voice": None if self.voice is None else {
                "score": plain(np.asarray(self.voice.score, dtype=float)),
                "floor_db": round(float(self.voice.floor_db), 2)},
            "sound_note": self.sound_note,
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
        angles = rotation_to_angles(cv2.Rodrigues(r)[0])
        eye = pts[45] - pts[36]
        if abs(angles[2]) > MAX_ROLL_DEG or \
                _angle_gap(angles[2], np.degrees(np.arctan2(eye[1], eye[0]))) > MAX_ROLL_GAP_DEG:
            # a head tilted past MAX_ROLL_DEG, or a fit whose roll disagrees with the eye line's own
            # slant, is a failed fit on failed landmarks (a toddler bowed over a book, seen from
            # above, read roll -155..102 degrees: the eye corners came out in reverse order; eyecheck
            # of videollava demo_1): no pose there, and no warm start from it
            rvec = tvec = None
            continue
        rvec, tvec = r, tv
        out[t] = angles
    return out


#: the most a PnP fit's roll may differ from the slant of the eye-corner line in the image (degrees);
#: a real pose keeps the two within ~20 degrees up to half profile
MAX_ROLL_GAP_DEG = 45.0
#: the most a head's roll can be (degrees): the neck tilts the head ~45 degrees towards a shoulder;
#: past 75 the face would be on its side or upside down, and the landmarks are what failed
MAX_ROLL_DEG = 75.0


def _angle_gap(a: float, b: float) -> float:
    """|a - b| in degrees, wrapped to [0, 180]."""
    return float(abs((a - b + 180.0) % 360.0 - 180.0))


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
    # "full" then the centred slice: unlike mode="same" this keeps len(x) when len(x) < k
    # (a track of 2-4 frames)
    h = k // 2
    num = np.convolve(xv, ker, mode="full")[h:h + len(x)]
    den = np.convolve(fin.astype(float), ker, mode="full")[h:h + len(x)]
    out = num / np.maximum(den, 1e-9)
    out[~fin] = np.nan
    return out


def landmark_jitter(landmarks: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Robust per-video landmark jitter (px): the std of white noise on the rigid points.

    For each coordinate of the rigid points (:data:`PNP_POINTS`: eye corners and nose, which
    expressions barely move), after removing the frame's similarity motion, the second difference x[t+1] - 2 x[t] + x[t-1] of three consecutive
    measured frames is taken; smooth head motion nearly cancels there while white jitter of std
    sigma gives a variance of 6 sigma^2. sigma = 1.4826 * median|d2| / sqrt(6) (median absolute
    value, robust to the few frames of fast motion). 0 when fewer than 3 consecutive frames exist.
    """
    lm = np.asarray(landmarks, dtype=np.float64)[:, list(PNP_POINTS)]
    if len(lm) < 3:
        return 0.0
    ok = np.isfinite(lm).all(axis=(1, 2))
    if valid is not None:
        ok &= np.asarray(valid, bool)
    both = ok[:-2] & ok[1:-1] & ok[2:]
    if not both.any():
        return 0.0
    # remove each frame's similarity motion (translation, rotation, scale) first: the shape
    # signals are invariant to it, and a moving head or camera would otherwise read as jitter.
    # A least-squares similarity fit of 11 points uses 4 of their 22 degrees of freedom, hence
    # the sqrt(22 / 18) correction of the residual std.
    ref = np.nanmedian(lm[ok], axis=0)
    ref = ref - ref.mean(axis=0)
    zr = ref[:, 0] + 1j * ref[:, 1]
    res = np.full(lm.shape, np.nan)
    for t in np.nonzero(ok)[0]:
        z = lm[t, :, 0] + 1j * lm[t, :, 1]
        z = z - z.mean()
        a = np.vdot(z, zr) / max(np.vdot(z, z).real, 1e-12)  # z * a ~ zr (scale + rotation)
        r = z * a - zr
        res[t] = np.stack([r.real, r.imag], axis=-1) / max(abs(a), 1e-12)  # back in frame pixels
    d2 = (res[2:] - 2 * res[1:-1] + res[:-2])[both]
    return float(1.4826 * np.median(np.abs(d2)) / np.sqrt(6.0) * np.sqrt(22.0 / 18.0))


def _window(name: str, cfg: SignalConfig) -> int:
    """The smoothing window (frames) of signal ``name``: the short ``eye_smooth_frames`` for the
    fast ones (eye openness, lids, gaze, teeth, iris darkness: :data:`~.mesh_signals.FAST`; a
    blink lasts 1-3 frames), ``smooth_frames`` for the rest."""
    return cfg.eye_smooth_frames if name.startswith(("ear", "eye", "gaze")) or name in FAST else cfg.smooth_frames


def _smoothed(raw: dict[str, np.ndarray], cfg: SignalConfig) -> dict[str, np.ndarray]:
    return {name: smooth(raw[name], _window(name, cfg)) for name in SIGNAL_NAMES}


def estimate_noise(full: np.ndarray, valid: np.ndarray, frame_size, cfg: SignalConfig,
                   raw: dict[str, np.ndarray], values: dict[str, np.ndarray]
                   ) -> tuple[float, dict[str, float], dict[str, float]]:
    """``(jitter_px, noise, noise_raw)``: the landmark jitter of :func:`landmark_jitter` propagated
    to every signal by simulation (Monte Carlo): ``cfg.noise_reps`` copies of the measured
    landmarks get that much extra Gaussian jitter and are measured again (head pose included);
    the RMS change of each smoothed (``noise``) and unsmoothed (``noise_raw``) signal over the
    copies is its noise std. The propagation goes through the same geometry (solvePnP, cos
    corrections, face scale) as the measurement, so a small face or a turned head, which amplify
    jitter, get larger noise levels."""
    jit = landmark_jitter(full, valid)
    zero = {k: 0.0 for k in SIGNAL_NAMES}
    if cfg.noise_reps <= 0 or jit <= 0 or len(full) < 2:
        return jit, dict(zero), dict(zero)
    idx = np.nonzero(np.asarray(valid, bool))[0]
    if len(idx) < 2:
        return jit, dict(zero), dict(zero)
    if len(idx) > cfg.noise_max_frames:  # a contiguous block keeps the smoothing meaningful
        start = (len(idx) - cfg.noise_max_frames) // 2
        idx = idx[start:start + cfg.noise_max_frames]
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    base = full[lo:hi]
    rng = np.random.default_rng(cfg.noise_seed)
    sq = {k: 0.0 for k in SIGNAL_NAMES}
    sq_raw = {k: 0.0 for k in SIGNAL_NAMES}
    cnt = {k: 0 for k in SIGNAL_NAMES}
    cnt_raw = {k: 0 for k in SIGNAL_NAMES}
    for _ in range(cfg.noise_reps):
        noisy = base + rng.normal(0.0, jit, base.shape)
        r = raw_signals(noisy, head_pose(noisy, frame_size, cfg.focal_scale), cfg.min_cos)
        v = _smoothed(r, cfg)
        for k in SIGNAL_NAMES:
            d = v[k] - values[k][lo:hi]
            d = d[np.isfinite(d)]
            sq[k] += float((d ** 2).sum())
            cnt[k] += len(d)
            d = r[k] - raw[k][lo:hi]
            d = d[np.isfinite(d)]
            sq_raw[k] += float((d ** 2).sum())
            cnt_raw[k] += len(d)
    noise = {k: float(np.sqrt(sq[k] / cnt[k])) if cnt[k] else 0.0 for k in SIGNAL_NAMES}
    noise_raw = {k: float(np.sqrt(sq_raw[k] / cnt_raw[k])) if cnt_raw[k] else 0.0 for k in SIGNAL_NAMES}
    return jit, noise, noise_raw


def compute_signals(
    landmarks: np.ndarray,
    frames: list[int] | np.ndarray,
    fps: float,
    frame_size: tuple[int, int] = (0, 0),
    config: SignalConfig | None = None,
    mesh: np.ndarray | None = None,
    iris: np.ndarray | None = None,
    pixels: dict[str, np.ndarray] | None = None,
) -> FaceSignals:
    """Signals for one track: ``landmarks`` (T, 68, 2) at the 16-fps frame indices ``frames``.

    The track is laid on a regular grid from its first to its last frame (missing frames NaN),
    short gaps are interpolated, head pose is solved per frame, and each signal is smoothed.
    With ``mesh`` (T, 468, 3) (and ``iris`` (T, 10, 3), ``pixels``: {name: (T,)} from
    :func:`~dfec.dynamics.mesh_signals.pixel_signals`) the signals of
    :mod:`.mesh_signals` are added, plus ``gaze_yaw`` = yaw + gaze_h and ``gaze_pitch`` =
    pitch + gaze_v (where the eyes point relative to the camera, degrees).
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
    values = _smoothed(raw, cfg)
    iod = _d(full[:, 36], full[:, 45])
    jit, noise, noise_raw = estimate_noise(full, valid, frame_size, cfg, raw, values)
    occluded = face_px = None
    if mesh is not None and np.size(mesh) and np.isfinite(np.asarray(mesh, dtype=float)).any():
        occluded, face_px = _add_mesh(raw, values, noise, noise_raw, pose, frames[0], frames, order, len(grid), max_gap, cfg,
                             mesh, iris, pixels, fps)
    if occluded is not None and occluded.any():
        _drop_mouth(raw, values, occluded, max_gap, cfg)
    if cfg.lids_need_iris and mesh is not None and iris is not None and np.size(iris):
        _drop_lids(raw, values, np.asarray(mesh, dtype=np.float64), np.asarray(iris, dtype=np.float64),
                   frames[0], frames, order, len(grid), max_gap, cfg)
    return FaceSignals(times=grid / float(fps), fps=float(fps), values=values, valid=valid, raw=raw, iod_px=iod,
                       face_px=face_px, jitter_px=jit, noise=noise, noise_raw=noise_raw, mouth_occluded=occluded)


#: the signals that measure the eyelids and gaze (68-point and mesh): missing on the meshed frames
#: without Iris where Iris ran elsewhere (``SignalConfig.lids_need_iris``)
LID_SIGNALS = ("ear_left", "ear_right", "eye_open", "aperture_left", "aperture_right", "aperture", "gaze_h", "gaze_v",
               "gaze_h_left", "gaze_h_right", "gaze_v_left", "gaze_v_right", "gaze_yaw", "gaze_pitch")

#: the signals that measure the mouth (68-point and mesh): missing where it is hidden
MOUTH_SIGNALS = ("mouth_open", "mouth_width", "corner_lift", "corner_lift_2d", "lip_gap", "lip_thick", "mouth_w",
                 "teeth", "chin", "jaw")


def _drop_mouth(raw, values, occluded: np.ndarray, max_gap: int, cfg: SignalConfig) -> None:
    """The :data:`MOUTH_SIGNALS` with the ``occluded`` frames missing: NaN there, then bridged
    like a missing mesh row (:func:`fill_gaps`, at most ``max_gap`` frames) and smoothed again.
    A hand over the mouth is no evidence of the mouth moving (FaceMesh guesses the lips under
    it); a change across a short occlusion is still seen."""
    for name in MOUTH_SIGNALS:
        if name not in raw:
            continue
        x = np.asarray(raw[name], dtype=np.float64).copy()
        x[occluded] = np.nan
        x = fill_gaps(x, max_gap)
        raw[name] = x
        if name in values:
            values[name] = smooth(x, _window(name, cfg))


def iris_gaps(mesh: np.ndarray, iris: np.ndarray) -> np.ndarray:
    """Per track row: meshed without Iris points, on a track whose Iris ran on some row (all
    False when it ran on none or on every meshed row)."""
    m = np.asarray(mesh, dtype=np.float64).reshape(len(mesh), -1)
    ir = np.asarray(iris, dtype=np.float64).reshape(len(iris), -1)
    if len(ir) != len(m):
        return np.zeros(len(m), bool)
    has = np.isfinite(ir).all(axis=1)
    gap = np.isfinite(m).all(axis=1) & ~has
    return gap if has.any() else np.zeros(len(m), bool)


def _drop_lids(raw, values, mesh, iris, first, frames, order, n, max_gap: int, cfg: SignalConfig) -> None:
    """The :data:`LID_SIGNALS` missing on the grid frames :func:`iris_gaps` marks, bridged there
    like a missing mesh row (:func:`fill_gaps`, runs of at most ``max_gap`` frames) and smoothed
    again."""
    gap = iris_gaps(mesh, iris)
    if not gap.any():
        return
    on = _on_grid(gap.astype(np.float64), frames, order, first, n, 0, ()) == 1.0
    for name in LID_SIGNALS:
        if name not in raw:
            continue
        x = np.asarray(raw[name], dtype=np.float64).copy()
        x[on] = np.nan
        x[on] = fill_gaps(x, max_gap)[on]  # the signal's own gaps (gaze in a blink) stay as they were
        raw[name] = x
        if name in values:
            values[name] = smooth(x, _window(name, cfg))


def _on_grid(a, frames, order, first: int, n: int, max_gap: int, shape) -> np.ndarray:
    """Rows of ``a`` (in track order) laid on the regular grid, short gaps filled."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, *shape)[order]
    full = np.full((n, *shape), np.nan)
    full[frames - first] = a
    flat = full.reshape(n, -1)
    for j in range(flat.shape[1]):
        flat[:, j] = fill_gaps(flat[:, j], max_gap)
    return flat.reshape(n, *shape)


def mesh_pitch(mesh: np.ndarray) -> np.ndarray:
    """Head pitch (degrees, > 0 chin up) of each frame of ``mesh`` (T, 468, 3) from its 3-D face
    axis (:func:`~.mesh_signals.face_down_axis`, made perpendicular to the eye line, so a turn
    (yaw) does not move it, unlike the 2-D PnP fit of 68 points): the angle of that axis out of
    the image plane. Its neutral offset does not matter (events use its change)."""
    down = face_down_axis(mesh)
    return np.degrees(np.arcsin(np.clip(-down[:, 2], -1.0, 1.0)))


#: ``FaceSignals.raw`` key of the 68-point corner lift on a track whose ``corner_lift`` is the
#: mesh's (:func:`~.mesh_signals.corner_lift_3d`); its presence marks the swap
CORNER_LIFT_2D = "corner_lift_2d"


def mesh_corner_lift(sig: "FaceSignals") -> bool:
    """Whether ``sig["corner_lift"]`` is the mesh's head-frame corner lift (thresholds
    ``smile_lift_mesh``) rather than the 68-point image-plane one (``smile_lift``)."""
    return CORNER_LIFT_2D in sig.raw and "corner_lift" in sig.values and bool(np.isfinite(sig["corner_lift"]).any())


def _add_mesh(raw, values, noise, noise_raw, pose, first, frames, order, n, max_gap, cfg, mesh, iris, pixels,
              fps: float = 16.0) -> tuple[np.ndarray | None, np.ndarray]:
    """Add the mesh signals (and their noise levels) to the dicts of :func:`compute_signals`;
    returns the mouth-occlusion mask on the grid (:mod:`.occlusion`), or None when the pixel cues
    were not measured or ``cfg.occlusion`` is off, and the pose-free face size on the grid
    (:attr:`FaceSignals.face_px`)."""
    from .occlusion import CUES, mouth_width_px, occluded_mouth

    m = _on_grid(mesh, frames, order, first, n, max_gap, (468, 3))
    ir = None if iris is None or not np.size(iris) else _on_grid(iris, frames, order, first, n, max_gap, (10, 3))
    mr = mesh_raw_signals(m, ir)
    cues = {}
    for name, x in (pixels or {}).items():
        if x is not None and np.size(x) == len(order):
            # the occlusion cues are not signals: on the grid without bridging (a frame not
            # measured is not judged)
            if name in CUES:
                cues[name] = _on_grid(x, frames, order, first, n, 0, ())
            else:
                mr[name] = _on_grid(x, frames, order, first, n, max_gap, ())
    occluded = None
    if cfg.occlusion and len(cues) == len(CUES):
        occluded = occluded_mouth(
            np.stack([cues[c] for c in CUES], axis=1), mouth_width_px(m), pose[:, 0], fps, ratio=cfg.occl_ratio,
            line_ratio=cfg.occl_line_ratio, min_contrast=cfg.occl_min_contrast, window_s=cfg.occl_window_s,
            match_de=cfg.occl_match_de, match_scale=cfg.occl_match_scale, max_yaw=cfg.occl_max_yaw,
            far_yaw=cfg.occl_far_yaw, min_s=cfg.occl_min_s)
    mr["pitch3d"] = mesh_pitch(m)
    # the mesh's corner lift (head-fixed frame) replaces the 68-point one, which follows the head's
    # pitch; the 68-point one stays in ``raw`` under CORNER_LIFT_2D (and marks the swap)
    raw[CORNER_LIFT_2D] = raw["corner_lift"]
    mr["gaze_yaw"] = pose[:, 0] + mr["gaze_h"]
    mr["gaze_pitch"] = pose[:, 1] + mr["gaze_v"]
    for name, x in mr.items():
        k = _window(name, cfg)
        raw[name] = x
        values[name] = smooth(x, k)
        sd = signal_noise(x)
        noise_raw[name] = sd
        noise[name] = sd / np.sqrt(max(int(k) | 1, 1))
    face_px = np.linalg.norm(m[:, RIGHT_EYE[0]] - m[:, LEFT_EYE[0]], axis=-1)
    return occluded, face_px


def track_signals(tracking, config: SignalConfig | None = None, pixels: bool | None = None) -> FaceSignals | None:
    """Signals of ``tracking.main_track`` (a :class:`~dfec.schema.TrackingResult`), or None when
    the video has no main face.

    Entries the tracker filled in (``Track.interpolated``: the face was not detected there, e.g.
    a hand in front of it) are treated as missing, not measured: gaps up to ``max_gap_s`` are
    bridged again by :func:`fill_gaps` (so a change across the gap is still seen) but they do not
    count as valid frames and do not enter the noise estimate. Raises a one-line
    :class:`~dfec.errors.DfecError` when the track's landmarks are not 68 (x, y) points per frame.
    """
    from ..errors import DfecError

    track = tracking.main_track
    if track is None or len(track) == 0:
        return None
    lm = np.asarray(track.landmarks, dtype=np.float64) if track.landmarks is not None else np.zeros(0)
    if lm.size != len(track.frames) * 136:
        raise DfecError(f"main track {track.track_id}: landmarks are not 68 (x, y) points for each of its "
                        f"{len(track.frames)} frames (shape {lm.shape})", tracking.video)
    lm = lm.reshape(-1, 68, 2).copy()
    interp = np.asarray(getattr(track, "interpolated", None) or [False] * len(lm), bool)
    if len(interp) == len(lm) and interp.any() and not interp.all():
        lm[interp] = np.nan
    if getattr(tracking, "landmarks_from_mesh", False):
        # rows FaceMesh rejected (full profile, deep shadow) hold the rejected fit's rough guess,
        # not a measurement: missing, like interpolated rows (eyecheck 3, videollava demo_1: a
        # toddler in full profile, 0 of 155 rows meshed, gave 13 clauses, 7 of them false)
        measured = track.has_mesh
        if len(measured) == len(lm):
            lm[~measured] = np.nan
    mesh, iris = track_mesh(track)
    if mesh is not None and interp.any() and len(interp) == len(mesh):
        mesh[interp] = np.nan
        if iris is not None:
            iris[interp] = np.nan
    cfg = config or SignalConfig()
    pix = None
    if mesh is not None and (cfg.teeth if pixels is None else pixels) and tracking.video and Path(tracking.video).is_file():
        from .mesh_signals import pixel_signals_from_video

        pix = pixel_signals_from_video(tracking.video, track.frames, mesh, iris, tracking.fps or 16.0)
    fps = tracking.fps or 16.0
    sig = compute_signals(lm, track.frames, fps, tracking.frame_size, cfg, mesh=mesh, iris=iris, pixels=pix)
    sig.shot_changes = [(a / fps, b / fps) for a, b in getattr(tracking, "shot_changes", None) or []]
    return sig


def track_mesh(track) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Copies of ``track.mesh`` (T, 468, 3) and ``track.iris`` (T, 10, 3) as float64, or None where
    the track has none (a backend without a mesh, or a ``tracks.json`` written before it)."""
    n = len(track.frames)
    mesh = getattr(track, "mesh", None)
    iris = getattr(track, "iris", None)
    mesh = np.array(mesh, dtype=np.float64) if mesh is not None and np.size(mesh) == n * 468 * 3 else None
    if mesh is not None and not np.isfinite(mesh).any():
        mesh = None
    iris = np.array(iris, dtype=np.float64) if mesh is not None and iris is not None and np.size(iris) == n * 30 else None
    return (None if mesh is None else mesh.reshape(n, 468, 3)), (None if iris is None else iris.reshape(n, 10, 3))
