"""Guards on head lift / lower / nod events of :mod:`.events` (by-eye checks on the dev clips:
false bows and lifts came from turns and shot cuts).

- :func:`shot_cuts`: a cut inside a track (the tracker links the same person across shots) shows
  as a jump of the face's scale between two frames; no pitch change is read across one. The
  tracker's own cuts and gradual transitions (``sig.shot_changes``: a dissolve slides the mesh
  from one face to the other over several frames, read as a turn) count too.
- :func:`pitch_change_ok`: a pitch swing of the 2-D PnP fit counts only when the yaw does not
  change faster and by more at the same time (a turning face's 68-point fit couples yaw into
  pitch) and, on mesh tracks, when the mesh's own 3-D pitch (``pitch3d``,
  :func:`~dfec.dynamics.signals.mesh_pitch`) moves the same way.
"""
from __future__ import annotations

import numpy as np

from .config import DynamicsConfig
from .signals import FaceSignals
from .swings import Swing


def shot_cuts(sig: FaceSignals, cfg: DynamicsConfig) -> np.ndarray:
    """Times (s) of the shot cuts inside a track: between two consecutive measured frames the
    face's scale (inter-ocular distance) changes by ``cut_scale_jump`` or more (a cut to another
    shot of the same person; a real head movement changes it by a few per cent a frame). The
    time is the midpoint of the two frames. The distance is taken over cos(yaw) (the eyes'
    foreshortening): a fast real turn to or from profile shrinks the image distance by 30 % in a
    frame near 50-60 degrees of yaw and was read as a cut (review 4), its turn then dropped.

    Added to these: the shot changes the tracker recorded (``sig.shot_changes``, time spans)
    within the track's time: a hard cut by its midpoint, a gradual transition by every frame
    time of its span, so :func:`spans_cut` drops a change that overlaps any part of it."""
    own = _scale_cuts(sig, cfg)
    t = np.asarray(sig.times, float)
    if not len(t) or not sig.shot_changes:
        return own
    step = 1.0 / max(sig.fps, 1e-6)
    more = []
    for a, b in sig.shot_changes:
        if b < t[0] - step or a > t[-1] + step:
            continue
        n = int(round((b - a) / step))
        more.extend([0.5 * (a + b)] if n <= 1 else list(a + step * np.arange(n + 1)))
    return np.unique(np.concatenate([own, np.asarray(more, float)])) if more else own


def _scale_cuts(sig: FaceSignals, cfg: DynamicsConfig) -> np.ndarray:
    """The scale-jump cuts of :func:`shot_cuts`."""
    iod = np.asarray(sig.iod_px, dtype=float) if sig.iod_px is not None else np.zeros(0)
    if len(iod) != len(sig) or cfg.cut_scale_jump <= 1.0:
        return np.zeros(0)
    yaw = (sig.raw.get("yaw") if sig.raw else None)
    if yaw is None:
        yaw = sig.values.get("yaw")
    if yaw is not None and len(yaw) == len(iod):
        # a frame without a yaw reading (a failed pose fit) takes its neighbours' (interpolated), not
        # 0 degrees: inside a 60-degree turn one such frame read as two cuts (review 5)
        yaw = np.asarray(yaw, float)
        have = np.isfinite(yaw)
        if have.any():
            k = np.arange(len(yaw))
            yaw = np.interp(k, k[have], yaw[have])
        iod = iod / np.maximum(np.cos(np.radians(np.nan_to_num(yaw, nan=0.0))), 0.3)
    ok = np.isfinite(iod) & (iod > 0)
    if sig.valid is not None and len(sig.valid) == len(iod):
        ok &= np.asarray(sig.valid, bool)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return np.zeros(0)
    ratio = np.abs(np.log(iod[idx[1:]] / iod[idx[:-1]]))
    at = np.flatnonzero(ratio >= np.log(cfg.cut_scale_jump))
    return 0.5 * (sig.times[idx[at]] + sig.times[idx[at + 1]])


def spans_cut(t0: float, t1: float, cuts: np.ndarray, sig: FaceSignals) -> bool:
    """Whether a change from ``t0`` to ``t1`` touches a shot cut (one frame of slack either side:
    the smoothed signals spread the jump over neighbouring frames)."""
    pad = 1.0 / max(sig.fps, 1e-6)
    return bool(np.any((cuts >= t0 - pad) & (cuts <= t1 + pad)))


def _range(x: np.ndarray | None, i0: int, i1: int) -> float:
    """Max - min of ``x[i0..i1]`` (0 without finite values)."""
    if x is None:
        return 0.0
    seg = x[i0:i1 + 1]
    return float(np.nanmax(seg) - np.nanmin(seg)) if np.isfinite(seg).any() else 0.0


def occluded_share(sig: FaceSignals, t0: float, t1: float) -> float:
    """The share of the frames from ``t0`` to ``t1`` whose mouth is hidden (``sig.mouth_occluded``,
    a hand over it: :mod:`.occlusion`); 0 without that mask."""
    m = sig.mouth_occluded
    if m is None or len(m) != len(sig):
        return 0.0
    t = np.asarray(sig.times, float)
    inside = (t >= t0 - 1e-6) & (t <= t1 + 1e-6)
    return float(np.asarray(m, bool)[inside].mean()) if inside.any() else 0.0


def pitch_change_ok(sig: FaceSignals, cfg: DynamicsConfig, s: Swing, cuts: np.ndarray) -> bool:
    """Whether a pitch swing of the PnP fit is a head lift / lower: not across a shot cut, not
    during a turn that changes yaw by ``pitch_max_yaw_ratio`` times as much at ``pitch_yaw_rate``
    deg/s or faster (the 2-D fit of a turning face couples yaw into pitch), and on a mesh track also seen by the mesh's 3-D pitch
    (``pitch3d`` changes the same way by ``pitch_mesh_agree`` of the swing from ``t0`` to ``t1``)."""
    if spans_cut(s.t0, s.t1, cuts, sig):
        return False
    if cfg.pitch_occluded_max < 1.0 and occluded_share(sig, s.t0, s.t1) > cfg.pitch_occluded_max:
        return False
    yaw_change = _range(sig.values.get("yaw"), s.i0, s.i1)
    yaw_rate = yaw_change / max(s.t1 - s.t0, 1.0 / max(sig.fps, 1e-6))
    if cfg.pitch_max_yaw_ratio > 0 and yaw_change >= max(cfg.yaw_deg, cfg.pitch_max_yaw_ratio * abs(s.amplitude)) \
            and yaw_rate >= cfg.pitch_yaw_rate:
        return False
    p3 = sig.values.get("pitch3d")
    if cfg.pitch_mesh_agree > 0 and p3 is not None and np.isfinite(p3[s.i0:s.i1 + 1]).sum() >= 2:
        seg = p3[s.i0:s.i1 + 1]
        seg = seg[np.isfinite(seg)]
        # the mesh's change in the swing's direction: its extreme that way against its start
        change = (np.max(seg) - seg[0]) if s.amplitude > 0 else (seg[0] - np.min(seg))
        if change < cfg.pitch_mesh_agree * abs(s.amplitude):
            return False
    return True
