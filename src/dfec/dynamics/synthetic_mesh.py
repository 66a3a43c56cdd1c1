"""Synthetic FaceMesh / iris sequences with known events (for tests of :mod:`.mesh_signals` and
:mod:`.mesh_events`).

The generic 3-D face of :mod:`.synthetic` (iBUG-68 layout, millimetres) gives the mesh vertices
the signals read (:data:`MESH_FROM_68`: eye corners and lids, lips and the inner-lip ring, nose,
chin), plus two cheek points and an iris per eye (11.7 mm across, on an eyeball of 12 mm radius
behind the eye-corner midpoint). Every other vertex sits at the nose tip: the signals never read
them. :class:`MeshPose` adds to :class:`~dfec.dynamics.synthetic.FacePose` the movements only the
mesh sees; the result is projected with the same pinhole camera, z in pixels like x (MediaPipe's
convention).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..schema import Track, TrackingResult
from .synthetic import FacePose, deform, project, rotation

#: mesh vertex <- iBUG point (or the mean of several)
MESH_FROM_68: dict[int, tuple[int, ...]] = {
    33: (36,), 133: (39,), 362: (42,), 263: (45,),
    159: (37, 38), 158: (38,), 160: (37,), 145: (40, 41), 153: (40,), 144: (41,),
    386: (43, 44), 385: (43,), 387: (44,), 374: (46, 47), 380: (47,), 373: (46,),
    13: (62,), 14: (66,), 0: (51,), 17: (57,), 61: (48,), 291: (54,),
    1: (30,), 168: (27,), 6: (28,), 4: (29,), 98: (31,), 327: (35,), 152: (8,),
}
_UPPER_RING = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
_LOWER_RING = (324, 318, 402, 317, 14, 87, 178, 88, 95)
CHEEK_3D = {205: (-38.0, 48.0, 2.0), 425: (38.0, 48.0, 2.0)}
IRIS_RADIUS_MM, EYEBALL_MM = 5.85, 12.0


@dataclass
class MeshPose(FacePose):
    """:class:`FacePose` plus: ``gaze_h`` / ``gaze_v`` eye rotation in degrees (> 0: towards the
    image right / up); ``cheeks`` lifts the mid-cheek points (mm); ``nose`` lifts the alae (mm);
    ``press`` thins both red lips (mm); ``chin`` lifts the chin (mm)."""

    gaze_h: float = 0.0
    gaze_v: float = 0.0
    cheeks: float = 0.0
    nose: float = 0.0
    press: float = 0.0
    chin: float = 0.0


def _polyline(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points evenly spaced (by index) along a polyline, ends included."""
    s = np.linspace(0, len(points) - 1, n)
    i = np.minimum(np.floor(s).astype(int), len(points) - 2)
    f = (s - i)[:, None]
    return points[i] * (1 - f) + points[i + 1] * f


def mesh_3d(pose: MeshPose) -> tuple[np.ndarray, np.ndarray]:
    """The posed face's (468, 3) mesh and (10, 3) iris points in model millimetres."""
    base = FacePose(**{f.name: getattr(pose, f.name) for f in fields(FacePose)})
    p = deform(base)
    mesh = np.repeat(p[30][None], 468, axis=0)
    for v, src in MESH_FROM_68.items():
        mesh[v] = p[list(src)].mean(axis=0)
    mesh[0, 1] += pose.press
    mesh[17, 1] -= pose.press
    mesh[152, 1] -= pose.chin
    mesh[[98, 327], 1] -= pose.nose
    for v, xyz in CHEEK_3D.items():
        mesh[v] = np.array(xyz) - np.array([0.0, pose.cheeks, 0.0])
    upper = _polyline(p[[60, 61, 62, 63, 64]], len(_UPPER_RING))
    lower = _polyline(p[[64, 65, 66, 67, 60]], len(_LOWER_RING) + 2)[1:-1]
    for v, xyz in zip(_UPPER_RING + _LOWER_RING, np.concatenate([upper, lower])):
        mesh[v] = xyz
    iris = []
    h, v = np.radians(pose.gaze_h), np.radians(pose.gaze_v)
    for a, b in ((36, 39), (42, 45)):  # the subject's right eye (image-left) first
        c = (p[a] + p[b]) / 2.0 + np.array([0.0, 0.0, EYEBALL_MM])  # eyeball centre behind the lids
        centre = c + EYEBALL_MM * np.array([np.sin(h), -np.sin(v), -np.cos(h) * np.cos(v)])
        ring = [centre + IRIS_RADIUS_MM * np.array(d) for d in ((1, 0, 0), (0, -1, 0), (-1, 0, 0), (0, 1, 0))]
        iris.extend([centre] + ring)
    return mesh, np.array(iris)


def project_mesh(pose: MeshPose, frame_size=(640, 480), distance: float = 600.0) -> tuple[np.ndarray, np.ndarray]:
    """``(mesh (468, 3), iris (10, 3))`` in frame pixels; z (depth from the face centre) scaled like x."""
    w, h = frame_size
    f = float(max(w, h))
    R = rotation(pose.yaw, pose.pitch, pose.roll)
    out = []
    for pts in mesh_3d(pose):
        cam = pts @ R.T + np.array([0.0, 0.0, distance])
        x = f * cam[:, 0] / cam[:, 2] + w / 2
        y = f * cam[:, 1] / cam[:, 2] + h / 2
        z = f * (cam[:, 2] - distance) / distance
        out.append(np.stack([x, y, z], axis=1))
    return out[0], out[1]


def mesh_sequence(duration: float, fps: float = 16.0, frame_size=(640, 480), noise_px: float = 0.0, seed: int = 0,
                  **curves) -> TrackingResult:
    """A one-track :class:`~dfec.schema.TrackingResult` with 68-point landmarks, ``mesh`` and
    ``iris`` following ``curves`` (functions of time for :class:`MeshPose` fields, as in
    :func:`dfec.dynamics.synthetic.sequence`); ``noise_px`` adds Gaussian jitter to every point."""
    n = int(round(duration * fps))
    t = np.arange(n) / fps
    vals = {k: np.asarray(fn(t), dtype=float) * np.ones(n) for k, fn in curves.items()}
    rng = np.random.default_rng(seed)
    lms, meshes, irises = [], [], []
    base_keys = {f.name for f in fields(FacePose)}
    for i in range(n):
        pose = MeshPose(**{k: float(v[i]) for k, v in vals.items()})
        lm = project(FacePose(**{k: getattr(pose, k) for k in base_keys}), frame_size)
        mesh, iris = project_mesh(pose, frame_size)
        if noise_px:
            lm = lm + rng.normal(0, noise_px, lm.shape)
            mesh = mesh + rng.normal(0, noise_px, mesh.shape)
            iris = iris + rng.normal(0, noise_px, iris.shape)
        lms.append(lm)
        meshes.append(mesh)
        irises.append(iris)
    lms = np.array(lms)
    boxes = np.concatenate([lms.min(axis=1), lms.max(axis=1)], axis=1)
    track = Track(track_id=0, frames=list(range(n)), boxes=boxes, landmarks=lms, scores=np.ones(n), is_main=True)
    # set after construction: works whether or not this Track version declares the fields
    track.mesh = np.array(meshes, dtype=np.float32)
    track.iris = np.array(irises, dtype=np.float32)
    return TrackingResult(video="synthetic", fps=fps, n_frames=n, frame_size=tuple(frame_size), tracks=[track],
                          selection_rule="single-track")


def syllables(start: float, end: float, rate_hz: float = 3.5, open_mm: tuple[float, float] = (3.0, 7.0),
              rest_mm: float = 0.5, seed: int = 0):
    """A jaw-drop curve (mm, a function of time for ``mesh_sequence(mouth=...)``) of speech from
    ``start`` to ``end`` s: one opening-and-closing per syllable, irregular like speech (syllable
    onsets ``1 / rate_hz`` apart +-30 %, each opening to a random depth in ``open_mm``, raised-cosine
    pulses of 0.8 of the spacing), the lips at ``rest_mm`` between and outside the syllables."""
    rng = np.random.default_rng(seed)
    onsets, widths, depths = [], [], []
    t = start
    while t < end:
        step = rng.uniform(0.7, 1.3) / rate_hz
        if t + 0.8 * step > end:
            break
        onsets.append(t)
        widths.append(0.8 * step)
        depths.append(rng.uniform(*open_mm))
        t += step

    def curve(times):
        times = np.asarray(times, dtype=float)
        y = np.full(times.shape, rest_mm)
        for t0, w, d in zip(onsets, widths, depths):
            phase = (times - t0) / w
            inside = (phase >= 0) & (phase <= 1)
            y = np.where(inside, np.maximum(y, rest_mm + (d - rest_mm) * 0.5 * (1 - np.cos(2 * np.pi * phase))), y)
        return y

    return curve
