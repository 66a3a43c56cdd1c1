"""Synthetic 68-point landmark sequences with known facial events (for tests and demos).

A generic 3D face (the iBUG-68 layout, millimetres, camera axes: x image-right, y down, z away
from the camera) is deformed by a few expression parameters, rotated by a head pose and projected
with a pinhole camera. Because the truth is known, these sequences check that
:mod:`dfec.dynamics.signals` and :mod:`dfec.dynamics.events` find the right events in the right
order without any video.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..schema import Track, TrackingResult
from .signals import FACE_MODEL_3D


def _base_face() -> np.ndarray:
    p = np.zeros((68, 3))
    for i in range(17):  # jaw contour, image-left ear -> chin -> image-right ear
        th = -np.pi / 2 + np.pi * i / 16
        p[i] = (70 * np.sin(th), 10 + 110 * np.cos(th), -10 + 60 * (1 - np.cos(th)))
    brow = [(-55, -18, 16), (-45, -25, 8), (-34, -28, 2), (-22, -27, -2), (-11, -24, -4)]
    for k, (x, y, z) in enumerate(brow):
        p[17 + k] = (x, y, z)
        p[26 - k] = (-x, y, z)
    for i, v in FACE_MODEL_3D.items():
        p[i] = v
    p[32], p[34] = (-7, 46, -15), (7, 46, -15)
    eye = [(-45, 0, 14), (-37, -5, 8), (-24, -5, 5), (-16, 0, 2), (-24, 5, 5), (-37, 5, 8)]
    for k, v in enumerate(eye):
        p[36 + k] = v
    for k, src in enumerate([39, 38, 37, 36, 41, 40]):  # mirror: 42 <- 39, 43 <- 38, ...
        x, y, z = p[src]
        p[42 + k] = (-x, y, z)
    outer = [(-25, 75, -8), (-15, 70, -16), (-6, 68, -20), (0, 69, -21), (6, 68, -20), (15, 70, -16),
             (25, 75, -8), (15, 81, -16), (6, 83, -19), (0, 84, -20), (-6, 83, -19), (-15, 81, -16)]
    inner = [(-21, 75, -10), (-8, 75, -18), (0, 75, -19), (8, 75, -18), (21, 75, -10), (8, 75, -18),
             (0, 75, -19), (-8, 75, -18)]
    p[48:60] = outer
    p[60:68] = inner
    return p


BASE_FACE_3D = _base_face()
_LOWER_LIP = [55, 56, 57, 58, 59, 65, 66, 67]
_UPPER_LID = [37, 38, 43, 44]
_LOWER_LID = [40, 41, 46, 47]


@dataclass
class FacePose:
    """One frame's parameters. ``eyes`` scales the lid opening (1 neutral, 0 closed); ``mouth`` is
    the jaw drop in mm; ``smile`` moves the lip corners up and out (mm); ``corners_down`` moves
    them down; ``brows`` raises the brows (mm); ``furrow`` pulls the inner brows in and down (mm);
    angles in degrees with the signs of :func:`dfec.dynamics.signals.head_pose`."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    eyes: float = 1.0
    mouth: float = 0.0
    smile: float = 0.0
    corners_down: float = 0.0
    brows: float = 0.0
    furrow: float = 0.0


def deform(pose: FacePose) -> np.ndarray:
    """The 3D face with ``pose``'s expression applied (no head rotation)."""
    p = BASE_FACE_3D.copy()
    for i in _UPPER_LID + _LOWER_LID:
        p[i, 1] *= pose.eyes
    for i in _LOWER_LIP:
        p[i, 1] += pose.mouth
    p[8, 1] += pose.mouth
    p[[7, 9], 1] += 0.8 * pose.mouth
    for i, sgn in ((48, -1), (54, 1), (60, -1), (64, 1)):
        p[i, 1] += -pose.smile + pose.corners_down + 0.5 * pose.mouth
        p[i, 0] += sgn * 0.6 * pose.smile
    for i in (49, 53, 59, 55):
        p[i, 1] += -0.4 * pose.smile + 0.5 * pose.corners_down
    p[17:27, 1] -= pose.brows
    for i, sgn in ((20, 1), (21, 1), (22, -1), (23, -1)):
        p[i, 0] += sgn * pose.furrow
        p[i, 1] += 0.6 * pose.furrow
    return p


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Model-to-camera rotation for the documented yaw/pitch/roll signs (degrees)."""
    a, b, c = np.radians([-yaw, -pitch, roll])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ ry @ rx


def project(pose: FacePose, frame_size=(640, 480), distance: float = 600.0, focal_scale: float = 1.0) -> np.ndarray:
    """68x2 image landmarks of the posed face ``distance`` mm in front of a pinhole camera."""
    w, h = frame_size
    f = focal_scale * max(w, h)
    pts = deform(pose) @ rotation(pose.yaw, pose.pitch, pose.roll).T + np.array([0.0, 0.0, distance])
    return np.stack([f * pts[:, 0] / pts[:, 2] + w / 2, f * pts[:, 1] / pts[:, 2] + h / 2], axis=1)


def bump(t: np.ndarray, start: float, end: float, ramp: float = 0.1) -> np.ndarray:
    """A smooth 0 -> 1 -> 0 profile that is 1 on [start, end] with cosine ramps of ``ramp`` s."""
    t = np.asarray(t, dtype=float)
    up = np.clip((t - (start - ramp)) / max(ramp, 1e-9), 0, 1)
    down = np.clip(((end + ramp) - t) / max(ramp, 1e-9), 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))


def sequence(duration: float, fps: float = 16.0, frame_size=(640, 480), noise_px: float = 0.0, seed: int = 0,
             **curves) -> TrackingResult:
    """A one-track :class:`~dfec.schema.TrackingResult` whose landmarks follow ``curves``.

    Each keyword names a :class:`FacePose` field and maps to a function of time (s) returning its
    value, e.g. ``sequence(4, eyes=lambda t: 1 - bump(t, 1.0, 1.1, 0.06), yaw=lambda t: 25 * bump(t, 2, 3))``.
    ``noise_px`` adds Gaussian landmark jitter.
    """
    n = int(round(duration * fps))
    t = np.arange(n) / fps
    vals = {k: np.asarray(fn(t), dtype=float) * np.ones(n) for k, fn in curves.items()}
    rng = np.random.default_rng(seed)
    lms = []
    for i in range(n):
        lm = project(FacePose(**{k: float(v[i]) for k, v in vals.items()}), frame_size)
        if noise_px:
            lm = lm + rng.normal(0, noise_px, lm.shape)
        lms.append(lm)
    lms = np.array(lms)
    boxes = np.concatenate([lms.min(axis=1), lms.max(axis=1)], axis=1)
    track = Track(track_id=0, frames=list(range(n)), boxes=boxes, landmarks=lms, scores=np.ones(n), is_main=True)
    return TrackingResult(video="synthetic", fps=fps, n_frames=n, frame_size=tuple(frame_size), tracks=[track],
                          selection_rule="single-track")


#: noisy-landmark scenarios with known events: name -> (curves for :func:`sequence`, expected
#: kinds with counts; "a|b" accepts either kind; head turns are counted whatever side they name)
NOISE_SCENARIOS: dict[str, tuple[dict, dict[str, int]]] = {
    "still": ({}, {}),
    "blink": ({"eyes": lambda t: 1 - bump(t, 1.5, 1.62, 0.06)}, {"blink": 1}),
    "turn": ({"yaw": lambda t: 25 * bump(t, 1.2, 2.4, 0.3)}, {"head_turn": 2}),
    "smile": ({"smile": lambda t: 6 * bump(t, 1.5, 2.8, 0.3)}, {"smile": 1, "smile_fade|corners_relax": 1}),
    "brows": ({"brows": lambda t: 7 * np.clip((t - 1.0) / 0.4, 0, 1)}, {"brows_raise": 1}),
    "mouth": ({"mouth": lambda t: 14 * bump(t, 1.0, 2.5, 0.2)}, {"mouth_open": 1, "mouth_close": 1}),
    "speech": ({"mouth": lambda t: np.where((t > 1.0) & (t < 3.0), 5 + 5 * np.sin(2 * np.pi * 4 * t), 0)},
               {"speaking": 1, "speaking_stop": 1}),
}


def false_event_rate(config=None, frame_sizes=((640, 480), (320, 240)), noises=(0.5, 1.0, 1.5),
                     seeds=range(5), duration: float = 4.0) -> list[dict]:
    """False and missed events of :func:`dfec.dynamics.events.detect_events` on
    :data:`NOISE_SCENARIOS` with Gaussian landmark jitter, one row per (frame size, noise).

    A detected event is *false* when its kind is not expected in the scenario or is detected more
    often than expected; an expected event not detected is *missed*. The synthetic face's
    inter-ocular distance is about 0.15 x the frame width (96 px at 640, 48 px at 320)."""
    from .events import DynamicsConfig, detect_events
    from .signals import track_signals

    cfg = config or DynamicsConfig()
    rows = []
    for size in frame_sizes:
        for nz in noises:
            row = {"frame": f"{size[0]}x{size[1]}", "noise_px": nz, "sequences": 0, "true": 0, "false": 0,
                   "missed": 0}
            for curves, expected in NOISE_SCENARIOS.values():
                for seed in seeds:
                    tr = sequence(duration, frame_size=size, noise_px=nz, seed=seed, **curves)
                    iod = float(np.median(np.linalg.norm(tr.tracks[0].landmarks[:, 45] - tr.tracks[0].landmarks[:, 36], axis=1)))
                    row["iod_px"] = round(iod)
                    left = dict(expected)
                    for e in detect_events(track_signals(tr, cfg.signals), cfg):
                        key = next((k for k in left if left[k] > 0 and any(
                            e.kind == a or (a == "head_turn" and e.kind.startswith("head_turn")) for a in k.split("|"))),
                            None)
                        if key is None:
                            row["false"] += 1
                        else:
                            left[key] -= 1
                    row["missed"] += sum(left.values())
                    row["true"] += sum(expected.values())
                    row["sequences"] += 1
            rows.append(row)
    return rows
