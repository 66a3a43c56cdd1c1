"""Facial events (onset, offset, intensity) from the per-frame signals of :mod:`.signals`.

Every event is a *measured change* of one signal, never an inferred emotion. Three detectors:

1. **Swings** (eyes widen / narrow, mouth opens / closes, smile, lip corners down, brows raise /
   lower, furrow / relax, head turns left / right, lifts / lowers, tilts left / right). Each
   smoothed signal is expressed as its deviation from the neutral frame (the per-video median,
   :meth:`FaceSignals.deviation`) and cut into monotonic swings by a hysteresis *zigzag*: a new
   turning point is accepted once the signal has moved back by at least the signal's threshold.
   A swing whose amplitude reaches the threshold is an event; its onset is the last time the
   signal is within 10 % of its start before the change takes off, its offset the first time it
   reaches 90 % of the swing; its intensity is the amplitude in neutral-relative units (fraction
   of the neutral value, face-scale units or degrees). A swing that undoes the
   swing before it (ends near where that one started) is a *return* ("their eyebrows relax"),
   see :func:`label_returns`.
2. **Blinks**: dips of the eye-aspect ratio found with :func:`scipy.signal.find_peaks` whose
   prominence is at least ``blink_depth`` of the neutral EAR and whose width (at half prominence)
   is at most ``blink_max_s``. Blinks are removed (interpolated over) before the eye swings are
   measured, so a blink never reads as "eyes narrow".
3. **Speaking and nods**: speaking is a run of at least ``speak_min_peaks`` mouth-opening peaks
   (unsmoothed inner-lip gap, prominence >= ``speak_prominence``) with gaps <= ``speak_max_gap_s``;
   mouth swings inside a speaking run are not reported separately. A nod is a pitch swing down
   of at least ``nod_deg`` followed, within ``nod_max_s`` of its onset, by a swing back up.

Left/right in event kinds and captions are the *person's own* left/right by default (FEC-Bench's
convention; ``DynamicsConfig.left_right = "viewer"`` switches to the image's); the signals use
image directions. Thresholds live in :class:`DynamicsConfig`; how the defaults were chosen is
documented there.
"""
from __future__ import annotations

import numpy as np

from ..schema import Event
from .config import NOISE_OF, DynamicsConfig, effective_thresholds, load_config  # noqa: F401  (re-exported)
from .headpose import occluded_share, pitch_change_ok, shot_cuts, spans_cut
from .mesh_events import _fall, add_closures, gaze_state, mesh_events, oscillation_events
from .signals import FaceSignals, mesh_corner_lift
from .speech import speech_events, speech_runs, tidy_speech_events
from .swings import Swing, _interp_over, end_at_center_pause, frame_at, label_returns, swings, zigzag  # noqa: F401  (re-exported)


# ----------------------------------------------------------------------------------- detectors
def _lids_apart(sig: FaceSignals, cfg: DynamicsConfig, i0: int, i1: int) -> bool:
    """Whether the mesh's lid aperture stays open (median at least ``closure_open_aperture``
    iris diameters) over frames ``i0``..``i1``: a long dip of the iris's darkness there is the
    light on a turning head or a look aside, not the eyes closing (dev clips skarsgard 1.6-2.9 s
    and WolfgangLanger 6.4-9.6 s: "closures" of 1.4 and 3.1 s over eyes open by eye, median
    aperture 0.68 and 0.82)."""
    ap = sig.values.get("aperture")
    if ap is None or cfg.closure_open_aperture <= 0:
        return False
    seg = ap[max(i0, 0): min(i1 + 1, len(ap))]
    return bool(np.isfinite(seg).any()) and float(np.nanmedian(seg)) >= cfg.closure_open_aperture


def detect_blinks(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray,
                  cuts: np.ndarray | None = None) -> tuple[list[Event], np.ndarray]:
    """Blinks and longer eye closures; returns the events and a mask of the frames they cover.

    Read from ``iris_dark`` (the iris's darkness on the video frames, see
    :mod:`.mesh_signals`; depth ``blink_dark``) when the track has it, else from the eye aspect
    ratio ``eye_open`` (depth ``blink_depth``): FaceMesh's eyelid points barely close on a blink.
    On mesh tracks a short dip (of the iris's darkness or of the lid aperture) must also stand out
    of the video's own noise on the two cues together (:func:`blink_evidence`, at least
    ``blink_evidence_k`` noise std): the depth thresholds are fractions of the neutral level, and a
    heavily compressed or dim video's eye region flickers past them from frame to frame."""
    from scipy.signal import find_peaks, peak_widths

    name = "iris_dark" if has_signal(sig, "iris_dark", detail) else "eye_open"
    depth_th = cfg.blink_dark if name == "iris_dark" else cfg.blink_depth
    # a blink lasts 1-3 frames at 16 fps: the iris signal is read unsmoothed
    x = np.where(detail, sig.raw[name] if name == "iris_dark" else sig[name], np.nan)
    raw = np.where(detail, sig.raw.get(name, sig[name]), np.nan)
    mask = np.zeros(len(x), bool)
    m = sig.neutral(name)
    if not np.isfinite(m) or np.isfinite(x).sum() < 3:
        return [], mask
    # open-eye pads at both ends let a closure the clip cuts be a peak too: eyes closed from the
    # first frame, or closing and not reopening before the last (review 3: such a closure fell to
    # the narrow / widen swings, "their eyes squint" before "their eyes stay closed")
    n = len(x)
    fill = np.nanmax(x)
    y = -np.concatenate([[fill], np.nan_to_num(x, nan=fill), [fill]])
    peaks, props = find_peaks(y, prominence=depth_th * m)
    left, right = np.zeros(0), np.zeros(0)
    if len(peaks):
        _, _, left, right = peak_widths(y, peaks, rel_height=0.5)
    peaks = np.clip(np.asarray(peaks, int) - 1, 0, n - 1)
    left, right = np.array(left, float) - 1, np.array(right, float) - 1
    # two closures in quick succession share one wide half-height span: split it between them
    for k in range(len(peaks) - 1):
        if right[k] > peaks[k + 1] or left[k + 1] < peaks[k]:
            cut = 0.5 * (peaks[k] + peaks[k + 1])
            right[k] = min(right[k], cut)
            left[k + 1] = max(left[k + 1], cut)
    events = []
    open_ap = _open_aperture(sig, detail, left, right) if name == "iris_dark" else float("nan")
    open_noise = _deblinked_noise(sig, detail, _spans_mask(len(x), left, right)) if np.isfinite(open_ap) else 0.0
    cuts = shot_cuts(sig, cfg) if cuts is None else cuts  # (detect_events passes its own)
    cue_noise = blink_noise(sig, detail) if name == "iris_dark" else {}
    step = 1.0 / max(sig.fps, 1e-6)
    for p, prom, lo, hi in zip(peaks, props["prominences"], left, right):
        if not np.isfinite(x[p]):
            continue
        dur = (hi - lo) / sig.fps
        i0, i1 = max(int(np.floor(lo)), 0), min(int(np.ceil(hi)), n - 1)
        t0, t1 = float(sig.times[i0]), float(sig.times[i1])
        # cut by the clip: closed on the first frame (no closing seen) / on the last (no reopening)
        at_start, at_end = lo < 0.5, hi > n - 1.5
        depth = float(prom / m)
        # seen closed on the unsmoothed signal (smoothing lifts a closure of one or two edge frames)
        low = np.nanmin(raw[i0:i1 + 1]) if np.isfinite(raw[i0:i1 + 1]).any() else x[p]
        closed = low <= cfg.eyes_closed_below if name == "eye_open" else low <= 0.3 * m
        if (at_start or at_end) and not closed:
            continue  # against the pad, eyes merely less open than their widest at the cut are no closure
        # a short dip the clip cuts may be a blink; one held ``closure_cut_min_s`` or more into the cut
        # is the eyes being closed there ("their eyes are closed ... open", "their eyes close ... stay closed")
        cut = (at_start or at_end) and (at_start and at_end or dur >= cfg.closure_cut_min_s)
        if dur <= cfg.blink_max_s and not cut:
            if name == "iris_dark" and _lids_wide(sig, cfg, detail, x, i0, i1, float(x[p] + 0.5 * prom), open_ap,
                                                  open_noise):
                continue  # the iris darkened with the lids as wide as ever: blur or light, no blink
            if not (cuts.size and spans_cut(t0, t1, cuts, sig)):
                if name == "iris_dark" and not _stands_out(sig, cfg, detail, i0, i1, cue_noise):
                    continue  # no deeper than this video's own flicker of the eyes: codec or sensor noise
                events.append(Event("blink", t0, t1, depth, "eyes"))
            # else: a dip at a shot cut is the cut's change of light (eyecheck: Hamilton, 2.74 s); its
            # frames are still bridged below, so its two halves are no widening / narrowing (review 5)
        elif closed or depth >= 2 * depth_th:
            if name == "iris_dark" and _lids_apart(sig, cfg, i0, i1):
                continue  # the iris darkened with the lids apart: light or gaze, not a closure
            if cuts.size and any(spans_cut(u - step, u + step, cuts, sig) for u in (t0, t1)):
                # the iris's darkness (or the eye's shape) steps at a shot cut: another shot's light
                # and scale, not the eyes closing or opening (dev ghost__nggyup: a 2.4 s "closure"
                # from the 0.69 s cut to the 3.09 s one)
                continue
            if not at_start:
                events.append(Event("eyes_close", t0, t0, depth, "eyes"))
            if not at_end:
                events.append(Event("eyes_open", t1, t1, depth, "eyes"))
        else:
            continue  # a slow, shallow dip: left to the narrow/widen swings
        mask[max(i0 - 1, 0): min(i1 + 2, n)] = True
    if name == "iris_dark" and cfg.blink_aperture > 0 and has_signal(sig, "aperture", detail):
        # light irises (and eyeliner) can darken rather than brighten the iris disc on a blink:
        # a short dip of the lid aperture that no iris blink covers is a blink too
        for t0, t1, depth, i0, i1 in _aperture_dips(sig, cfg, detail):
            if not mask[i0: i1 + 1].any():
                if not (cuts.size and spans_cut(t0, t1, cuts, sig)):
                    if not _stands_out(sig, cfg, detail, i0, i1, cue_noise):
                        continue  # within the video's own flicker of the lids
                    events.append(Event("blink", t0, t1, depth, "eyes"))
                mask[max(i0 - 1, 0): min(i1 + 2, len(x))] = True
        events.sort(key=lambda e: e.start)
    return events, mask


#: the eye cues a blink shows on (mesh tracks): the iris's darkness falls, the lids come down
BLINK_CUES = ("iris_dark", "aperture")


def blink_noise(sig: FaceSignals, detail: np.ndarray) -> dict[str, float]:
    """Noise std of each blink cue (:data:`BLINK_CUES`, unsmoothed) on the ``detail`` frames, where
    the eyes are read (:func:`~dfec.dynamics.mesh_signals.signal_noise`: robust second differences,
    so the eye region's frame-to-frame flicker counts and its slow changes do not; a near-profile
    view's guessed far eye, or another shot's small face, does not inflate it)."""
    from .mesh_signals import signal_noise

    out = {}
    for name in BLINK_CUES:
        raw = sig.raw.get(name)
        if raw is not None and name in sig.values:
            out[name] = signal_noise(np.where(detail, raw, np.nan))
    return out


def blink_evidence(sig: FaceSignals, detail: np.ndarray, i0: int, i1: int, side: int | None = None,
                   noise: dict[str, float] | None = None) -> float:
    """How far a dip over frames ``i0``..``i1`` stands out of the video's own noise: for each
    blink cue (:data:`BLINK_CUES`, unsmoothed), its open level (the median of the ``side`` frames
    either side of the dip, ``detail`` frames only; default 4, a quarter second at 16 fps) minus
    its lowest value in the dip, over that cue's noise std (``noise``, default
    :func:`blink_noise`); the positive ones summed (a light iris darkens on a blink, which is not
    evidence against it). In noise std; NaN when neither cue can be read there."""
    n = len(sig)
    side = 4 if side is None else side
    noise = blink_noise(sig, detail) if noise is None else noise
    lo, hi = max(int(i0), 0), min(int(i1), n - 1)
    total, seen = 0.0, False
    for name in BLINK_CUES:
        raw = sig.raw.get(name)
        sd = noise.get(name, 0.0)
        if raw is None or name not in sig.values or not (np.isfinite(sd) and sd > 0):
            continue
        x = np.where(detail, raw, np.nan)
        around = np.r_[x[max(lo - side, 0):lo], x[hi + 1:hi + 1 + side]]
        dip = x[lo:hi + 1]
        if not (np.isfinite(around).any() and np.isfinite(dip).any()):
            continue
        total += max(0.0, float(np.nanmedian(around) - np.nanmin(dip)) / sd)
        seen = True
    return total if seen else float("nan")


def _stands_out(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray, i0: int, i1: int,
                noise: dict[str, float]) -> bool:
    """Whether a short dip of the iris's darkness or of the lid aperture over frames ``i0``..``i1``
    is a blink by its :func:`blink_evidence`: at least ``blink_evidence_k`` noise std (0 turns
    the test off; a dip neither cue can be read around is not judged)."""
    if cfg.blink_evidence_k <= 0:
        return True
    z = blink_evidence(sig, detail, i0, i1, noise=noise)
    return not np.isfinite(z) or z >= cfg.blink_evidence_k


def _spans_mask(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The frames of the (fractional) spans ``left``..``right``, one frame of slack either side."""
    mask = np.zeros(n, bool)
    for lo, hi in zip(left, right):
        mask[max(int(np.floor(lo)) - 1, 0): int(np.ceil(hi)) + 2] = True
    return mask


def _open_aperture(sig: FaceSignals, detail: np.ndarray, left: np.ndarray, right: np.ndarray) -> float:
    """The open eyes' lid aperture: the median raw ``aperture`` on the ``detail`` frames outside
    every darkness dip (half-height spans ``left``..``right``, one frame of slack); NaN without it."""
    ap = sig.raw.get("aperture") if "aperture" in sig.values else None
    if ap is None:
        return float("nan")
    keep = detail & ~_spans_mask(len(detail), left, right)
    x = ap[keep & np.isfinite(ap)]
    return float(np.median(x)) if len(x) >= 3 else float("nan")


def _lids_wide(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray, dark: np.ndarray, i0: int, i1: int,
               level: float, open_ap: float, noise: float = 0.0) -> bool:
    """Whether the lids stay wider than on open eyes through the darkest frames of an iris-darkness
    dip: the smallest raw lid aperture on the frames ``i0``..``i1`` whose darkness ``dark`` is at
    or below ``level`` (its half depth) is at least ``blink_open_lids`` x ``open_ap`` (the open
    eyes' aperture, :func:`_open_aperture`) plus ``blink_open_noise_k`` x ``noise`` (the
    aperture's noise std off the dips): lids frozen at their open opening by FaceMesh, jittering
    about it, are not read as wide.

    FaceMesh's lids barely follow a blink, so "the lids must close" is no test (it lost real
    blinks of dev ghost__nggyup); but they do not open wider than usual during one. On every
    blink seen by eye on the dev and no-split clips (35) that minimum is 3.6-67 noise std below the
    open aperture (at most 0.88 of it); of the dips over eyes open by eye (motion blur, stage
    light: nggyup 3.25, 4.9, 6.9, 7.4, 8.0, 9.1 s; ghost__dirtydancing 6.9 s) five read 2.2-6.6 std
    above it and are dropped, two (+0.4, -1.4 std) stay. Where such a dip hid a real closure of
    the lids, the aperture's own dip is then found (:func:`_aperture_dips`)."""
    ap = sig.raw.get("aperture")
    if ap is None or cfg.blink_open_lids <= 0 or not np.isfinite(open_ap) or open_ap <= 0:
        return False
    idx = np.arange(max(i0, 0), min(i1, len(dark) - 1) + 1)
    idx = idx[detail[idx] & (np.nan_to_num(dark[idx], nan=np.inf) <= level)]
    a = ap[idx] if len(idx) else np.zeros(0)
    return bool(np.isfinite(a).any()) and float(np.nanmin(a)) >= cfg.blink_open_lids * open_ap + cfg.blink_open_noise_k * noise


def _aperture_dips(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> list[tuple]:
    """``(t0, t1, depth, i0, i1)`` of the dips of the raw lid aperture of at least
    ``blink_aperture`` of its neutral value lasting at most ``blink_max_s`` (at half depth); a dip
    at the first or last frame counts (the clip may cut a blink) when the lids come down in it to
    ``1 - blink_aperture`` of the neutral aperture."""
    from scipy.signal import find_peaks, peak_widths

    x = np.where(detail, sig.raw["aperture"], np.nan)
    m = sig.neutral("aperture")
    if not np.isfinite(m) or m <= 0 or np.isfinite(x).sum() < 3:
        return []
    fill = np.nanmax(x)
    y = -np.concatenate([[fill], np.nan_to_num(x, nan=fill), [fill]])  # pads let edge dips be peaks
    peaks, props = find_peaks(y, prominence=cfg.blink_aperture * m)
    if not len(peaks):
        return []
    widths, _, left, right = peak_widths(y, peaks, rel_height=0.5)
    out = []
    n = len(x)
    for prom, lo, hi in zip(props["prominences"], left - 1, right - 1):
        if (hi - lo) / sig.fps > cfg.blink_max_s:
            continue
        i0, i1 = max(int(np.floor(lo)), 0), min(int(np.ceil(hi)), n - 1)
        if (lo < 0.5 or hi > n - 1.5) and not np.nanmin(x[i0:i1 + 1]) <= (1 - cfg.blink_aperture) * m:
            # the pad's depth is measured from the clip's widest frame: a dip cut by the clip is a
            # blink only when the lids come down by ``blink_aperture`` of their neutral opening (as
            # the iris's dips must close, in detect_blinks). No-split ghost__dirtydancing: a laugh's
            # squint, 0.60 -> 0.49 over the last frames (neutral 0.50), was "the person blinks";
            # dev liveportrait__s32's blink cut at 5.9 s comes down to 0.58 of its neutral
            continue
        out.append((float(sig.times[i0]), float(sig.times[i1]), float(prom / m), i0, i1))
    return out


def relative_widenings(sig: FaceSignals, cfg: DynamicsConfig, eye: np.ndarray, eye_detail: np.ndarray,
                       blink_mask: np.ndarray, cuts: np.ndarray, unit: float) -> list[Event]:
    """Eyes opening wide against the face's own open aperture (mesh tracks): the rises of the
    de-blinked lid-aperture deviation ``eye`` that start from open eyes (``aperture`` at least
    ``half_open_below``), are no return from a narrowing, and rise by at least ``eye_widen_rel``
    of the aperture they start from, above the highest aperture of the ``eye_widen_before_s``
    before their onset (outside blinks) by as much, and by ``noise_k_mesh`` x the aperture's noise
    measured off the blinks (:func:`_deblinked_noise`).

    Why: the absolute ``eye_mesh`` (0.25 iris diameters) is a quarter of a wide-open eye's
    aperture but 40 % of a small one's; the RAVDESS clip's stare (0.62 -> 0.80, +29 %, seen by eye)
    stays under it. Its noise floor must not count the blinks: each blink's dip makes large
    second differences, and a clip that blinks every half second (RAVDESS: six blinks in 2.5 s)
    read 2.6 times its open-eye jitter. A rise that only comes back to where the eyes were before
    a blink is that blink's slow reopening (dev clip 669 at 6.2 s: the lids reopen over 0.3 s
    after the blink's half-height span ends).

    ``intensity`` is in the absolute test's units: the rise's multiple of its own threshold times
    ``unit`` (the configured ``eye_mesh``), so that the caption's strength rating
    (:func:`dfec.dynamics.ranking.strength`, intensity over ``eye_mesh``) rates it against the
    test that found it."""
    ap = sig.values.get("aperture")
    if ap is None or cfg.eye_widen_rel <= 0:
        return []
    floor = cfg.noise_k_mesh * _deblinked_noise(sig, eye_detail, blink_mask)
    th = max(floor, cfg.eye_widen_rel * cfg.half_open_below)  # the smallest rise that can pass
    if th >= cfg.eye_mesh:
        return []  # the absolute test already reads every such rise
    t = sig.times
    sw = _no_cut(swings(eye, t, th, "aperture", filled=blink_mask), cuts, sig)
    before = max(1, int(round(cfg.eye_widen_before_s * sig.fps)))
    out = []
    for s, back in zip(sw, label_returns(sw, th, cfg.return_fraction)):
        start = float(ap[s.i0])
        if s.amplitude <= 0 or back or not np.isfinite(start) or start < cfg.half_open_below:
            continue
        own = max(cfg.eye_widen_rel * start, floor)
        if s.amplitude < own:
            continue
        prior = np.where(eye_detail & ~blink_mask, ap, np.nan)[max(s.i0 - before, 0): s.i0 + 1]
        if not np.isfinite(ap[s.i1]):
            continue  # the rise's end is not measured: no widening can be told from a reopening
        if np.isfinite(prior).any() and float(ap[s.i1]) - float(np.nanmax(prior)) < own:
            continue  # no wider than the eyes were just before: a reopening, not a widening
        out.append(Event("eyes_widen", s.t0, s.t1, float(s.amplitude / own * unit), "eyes", change_at=s.t_half))
    return out


def _deblinked_noise(sig: FaceSignals, eye_detail: np.ndarray, blink_mask: np.ndarray) -> float:
    """Noise std of the raw lid aperture (:func:`~dfec.dynamics.mesh_signals.signal_noise`) on the
    frames outside blinks; the whole signal's estimate when fewer than 10 second differences lie
    outside them."""
    from .mesh_signals import signal_noise

    raw = sig.raw.get("aperture")
    if raw is None:
        return sig.noise_level("aperture")
    x = np.where(eye_detail & ~blink_mask, raw, np.nan)
    ok = np.isfinite(x)
    if int((ok[2:] & ok[1:-1] & ok[:-2]).sum()) < 10:
        return sig.noise_level("aperture")
    return signal_noise(x)


def has_signal(sig: FaceSignals, name: str, detail: np.ndarray | None = None, min_frames: int = 3) -> bool:
    """Whether ``sig`` holds ``name`` with at least ``min_frames`` finite samples (where ``detail``)."""
    if name not in sig.values:
        return False
    x = sig.values[name] if detail is None else np.where(detail, sig.values[name], np.nan)
    return int(np.isfinite(x).sum()) >= min_frames


def detect_speaking(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> list[tuple[float, float, float]]:
    """Speaking runs ``(start, end, mean peak prominence)`` from mouth-gap oscillation."""
    from scipy.signal import find_peaks

    # the mesh's 3-D inner-lip gap when the track has one (a head turn does not shrink it)
    name = "lip_gap" if has_signal(sig, "lip_gap", detail) else "mouth_open"
    raw = sig.raw.get(name, sig[name])
    x = np.where(detail, raw, np.nan)
    if np.isfinite(x).sum() < 5:
        return []
    y = np.nan_to_num(x, nan=float(np.nanmin(x)))
    prominence = cfg.speak_prominence_mesh if name == "lip_gap" else cfg.speak_prominence
    found, props = find_peaks(y, prominence=prominence)
    prom = dict(zip(found.tolist(), props["prominences"].tolist()))
    peaks = [int(p) for p in found if np.isfinite(x[p])]
    runs, cur = [], []
    for p in peaks:
        if cur and (sig.times[p] - sig.times[cur[-1]]) > cfg.speak_max_gap_s:
            runs.append(cur)
            cur = []
        cur.append(p)
    if cur:
        runs.append(cur)
    half = 2.0 / max(sig.fps, 1.0)  # two frames of padding around the first and last peak
    out = []
    for r in runs:
        if len(r) >= cfg.speak_min_peaks:
            s = max(float(sig.times[r[0]]) - half, float(sig.times[0]))
            e = min(float(sig.times[r[-1]]) + half, float(sig.times[-1]))
            out.append((s, e, float(np.mean([prom[p] for p in r]))))
    return out


def _detail_mask(sig: FaceSignals, cfg: DynamicsConfig) -> np.ndarray:
    """The frames whose face is large enough for eye, brow and mouth details (``min_detail_px``):
    by the pose-free mesh size (:attr:`FaceSignals.face_px`) where the track has one, else by the
    2-D inter-ocular distance. A head turn does not make the mouth or the near eye smaller, but
    it shrinks the 2-D distance by cos(yaw): dev clip 669 at half size (2-D 23-42 px, 23-32 when turned; 3-D 36-42)
    lost its mouth on every turned frame, and 2422 at half size (2-D 29-32 px at 35-39 degrees
    of yaw, 3-D 35-36) on every other frame, and with them their speaking runs."""
    iod = sig.iod_px
    if iod is None:
        return np.ones(len(sig), bool)
    size = np.asarray(iod, dtype=float)
    if sig.face_px is not None and len(sig.face_px) == len(size):
        size = np.where(np.isfinite(sig.face_px), sig.face_px, size)
    return np.nan_to_num(size, nan=0.0) >= cfg.min_detail_px


#: events measured from horizontal distances only (see ``DynamicsConfig.turn_masks_horizontal``)
_HORIZONTAL = {"brows_furrow", "brows_unfurrow", "lips_round", "lips_pucker", "lips_stretch"}


def _share(a: Event, b: Event) -> float:
    """The fraction of ``a``'s span that ``b`` covers (a zero-length ``a`` counts as covered when
    it lies inside ``b``)."""
    lo, hi = max(a.start, b.start), min(a.end, b.end)
    if a.end <= a.start:
        return 1.0 if b.start <= a.start <= b.end else 0.0
    return max(0.0, hi - lo) / (a.end - a.start)


def _during_turn(t0: float, t1: float, sig: FaceSignals, cfg: DynamicsConfig) -> bool:
    """Whether at least half of [t0, t1] lies inside a measured head turn (a yaw swing, pivot to
    pivot), as ``turn_masks_horizontal`` reads it."""
    yaw = sig.deviation("yaw")
    t = sig.times
    span = Event("x", t0, t1, 0.0, "")
    return any(_share(span, Event("turn", float(t[s.i0]), float(t[s.i1]), 0.0, "head")) >= 0.5
               for s in swings(yaw, t, cfg.yaw_deg, "yaw"))


def _overlap(a: Event, b: Event, slack: float = 0.1) -> bool:
    return a.start < b.end + slack and a.end > b.start - slack


def detect_events(sig: FaceSignals | None, config: DynamicsConfig | None = None) -> list[Event]:
    """All events of one track's signals, sorted by onset (text is filled by the captioner)."""
    cfg = config or DynamicsConfig()
    if sig is None or len(sig) < 2:
        return []
    split = brow_split_thresholds(sig, cfg)
    cfg = effective_thresholds(sig, cfg)
    t = sig.times
    detail = _detail_mask(sig, cfg)
    events: list[Event] = []
    ret = cfg.return_fraction

    # eyes: blinks first, then widen / narrow on the de-blinked signal
    # eyes are read only where the face is not turned far (in a near-profile view the far eye's
    # lids and iris are guessed, not seen)
    yaw_dev = np.abs(sig["yaw"]) if "yaw" in sig.values else np.zeros(len(sig))
    eye_detail = detail & ~(np.nan_to_num(yaw_dev, nan=0.0) > cfg.eye_max_yaw)
    # shot cuts: no change is read across one (the next shot's scale, light and pose step every measure)
    cuts = shot_cuts(sig, cfg)
    blinks, blink_mask = detect_blinks(sig, cfg, eye_detail, cuts)
    events += blinks
    # on mesh tracks the lid aperture against the iris (the 68-point EAR of a mesh is jittery);
    # a narrowing that ends below ``half_open_below`` is "eyelids droop", a widening back from
    # there "eyelids lift"
    mesh = has_signal(sig, "aperture", detail)
    eye_name, eye_th = ("aperture", cfg.eye_mesh) if mesh else ("eye_open", cfg.eye_deg)
    eye = sig.deviation(eye_name)
    eye = np.where(eye_detail, _interp_over(eye, blink_mask), np.nan)
    # no eye or brow swing across a shot cut (as for the head below): the next shot's scale and light
    # step the lid and brow measures (dev ghost__nggyup: "eyes half-close" from the 0.69 s cut); they
    # are dropped before the returns are labelled, so a change after a cut is no "return" of the step
    eye_sw = _no_cut(swings(eye, t, eye_th, eye_name, filled=blink_mask), cuts, sig)
    ap = sig.values.get("aperture")
    for s, back in zip(eye_sw, label_returns(eye_sw, eye_th, ret)):
        if mesh and s.amplitude < 0 and ap[s.i1] < cfg.half_open_below:
            kind = "eyes_half_close"
        elif mesh and s.amplitude > 0 and back and ap[s.i0] < cfg.half_open_below:
            kind = "eyes_reopen"
        elif back:
            kind = "eyes_relax_open" if s.amplitude > 0 else "eyes_relax_narrow"
        else:
            kind = "eyes_widen" if s.amplitude > 0 else "eyes_narrow"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "eyes", change_at=s.t_half))
    if mesh and cfg.eye_widen_rel > 0:
        found = [e for e in events if e.region == "eyes" and e.kind != "blink"]
        events += [e for e in relative_widenings(sig, cfg, eye, eye_detail, blink_mask, cuts, (config or cfg).eye_mesh)
                   if not any(_overlap(e, f, 0.0) for f in found)]

    # mouth: speaking runs, then open / close swings outside them
    if has_signal(sig, "lip_gap", detail):  # mesh tracks: articulation-based runs (.speech)
        speaking = [(r.start, r.end, r.prominence) for r in speech_runs(sig, cfg, detail)]
    else:
        speaking = detect_speaking(sig, cfg, detail)
    # a later run after a short silence is the same talk resumed: "pauses", "speaks again"
    events += speech_events(speaking, cfg, float(t[-1]))

    def in_speech(a: float, b: float) -> bool:
        """Whether the middle of [a, b] falls inside a speaking run."""
        mid = 0.5 * (a + b)
        return any(s <= mid <= e for s, e, _ in speaking)

    # the mesh's lid, gaze, lip and lower-face changes: none across a shot cut (see the eyes above)
    events += [e for e in mesh_events(sig, cfg, detail, blink_mask, in_speech, eye_detail)
               if not spans_cut(e.start, e.end, cuts, sig)]

    mouth = np.where(detail, sig.deviation("mouth_open"), np.nan)
    for s in swings(mouth, t, cfg.mouth_open, "mouth_open"):
        if in_speech(s.t0, s.t1):
            continue
        events.append(Event("mouth_open" if s.amplitude > 0 else "mouth_close", s.t0, s.t1, abs(s.amplitude), "mouth",
                            change_at=s.t_half))
    events = tidy_speech_events(add_closures(events, sig, cfg, detail), cfg)

    # lip corners: smile / corners down from corner lift, smile also from mouth width
    # (on mesh tracks the head-frame lift of :func:`~.mesh_signals.corner_lift_3d`, read only where
    # the face is not turned past ``smile_max_yaw``: in a near-profile view the far corner is guessed)
    corner_detail = detail
    if mesh_corner_lift(sig) and cfg.smile_max_yaw > 0:
        corner_detail = detail & ~(np.nan_to_num(yaw_dev, nan=0.0) > cfg.smile_max_yaw)
    lift = np.where(corner_detail, sig.deviation("corner_lift"), np.nan)
    width = np.where(detail, sig.deviation("mouth_width"), np.nan)
    lift_sw = swings(lift, t, cfg.smile_lift, "corner_lift")
    smile_from = None  # where the last smile rose from
    for k, (s, back) in enumerate(zip(lift_sw, label_returns(lift_sw, cfg.smile_lift, ret))):
        if s.amplitude > 0:
            w_end = width[s.i1]
            # mesh: a rise back from corners that came down out of a smile (the fall began at least
            # ``smile_lift`` above where that smile rose from) is the smile again, not corners
            # relaxing from a frown (dev skarsgard 6.3-9.1 s: smiles again after a laugh, by eye)
            again = back and mesh_corner_lift(sig) and smile_from is not None and \
                lift_sw[k - 1].start_value >= smile_from + cfg.smile_lift
            if back and not again:
                kind = "corners_relax"
            elif np.isfinite(w_end) and w_end < -cfg.smile_width:
                continue  # corners rise while the mouth narrows (a round "o"), not a smile
            else:
                kind = "smile"
                smile_from = s.start_value
        else:
            # a fall from lifted corners back towards where they were is a fading smile; so is the
            # first fall of a face that starts smiling (absolute lift above the smile threshold)
            lifted = k == 0 and sig["corner_lift"][s.i0] >= cfg.smile_lift
            kind = "smile_fade" if back or lifted else "corners_down"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "mouth", change_at=s.t_half))
    lift_smiles = [e for e in events if e.kind == "smile"]
    width_sw = swings(width, t, cfg.smile_width, "mouth_width")
    for s, back in zip(width_sw, label_returns(width_sw, cfg.smile_width, ret)):
        if s.amplitude <= 0 or back:
            continue
        l_end = lift[s.i1]
        if not np.isfinite(l_end) or l_end < cfg.smile_width_min_lift * cfg.smile_lift:
            # widening without lifted corners (stretched or pressed lips): not called a smile; the
            # corners must be lifted somewhat, not merely not lowered (smile_lift is the mesh
            # threshold on mesh tracks)
            continue
        if any(s.t0 < e.end + 0.2 and s.t1 > e.start - 0.2 for e in lift_smiles):
            continue
        if in_speech(s.t0, s.t1) and s.amplitude < 2 * cfg.smile_width:
            continue
        if cfg.turn_masks_horizontal and _during_turn(s.t0, s.t1, sig, cfg):
            continue  # a turn widens / narrows the mouth's image by itself (no corner lift here)
        events.append(Event("smile", s.t0, s.t1, abs(s.amplitude), "mouth", change_at=s.t_half))
    for s in swings(width, t, cfg.lips_round, "mouth_width"):
        # the mouth narrows well below its neutral width: lips pucker (closed) or round (open)
        if s.amplitude >= 0 or s.end_value > -cfg.lips_round or in_speech(s.t0, s.t1):
            continue
        if _fall(sig.deviation("corner_lift"), s.i0, s.i1) >= 0.5 * cfg.smile_lift:
            continue  # the corners come down with it: a smile relaxing, not lips rounding
        gap = sig["mouth_open"][s.i1]
        kind = "lips_round" if np.isfinite(gap) and gap >= cfg.mouth_closed_below else "lips_pucker"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "mouth", change_at=s.t_half))

    # brows: read where the eyes are (in a near-profile view the far brow is guessed and the
    # near one foreshortened: dev clip 669's brows "lowered" with every turn past 35 degrees)
    brow = np.where(eye_detail, sig.deviation("brow_height"), np.nan)
    # cut where the brows turn by the configured / simulated-noise threshold, then keep the swings
    # that stand the own-noise floor high (``brow_own_splits``): the floor decides what is believed,
    # not where a real raise ends a creep before it
    brow_sw = _no_cut(swings(brow, t, split[0], "brow_height"), cuts, sig)
    brow_sw = [s for s in brow_sw if abs(s.amplitude) >= cfg.brow_raise]
    for s, back in zip(brow_sw, label_returns(brow_sw, cfg.brow_raise, ret)):
        if _brow_follows_turn(sig, cfg, s) or _brow_follows_pitch(sig, cfg, s):
            continue
        if back:
            kind = "brows_relax"
        else:
            kind = "brows_raise" if s.amplitude > 0 else "brows_lower"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "brows", change_at=s.t_half))
    inner = np.where(eye_detail, sig.deviation("brow_inner"), np.nan)
    inner_sw = _no_cut(swings(inner, t, split[1], "brow_inner"), cuts, sig)
    inner_sw = [s for s in inner_sw if abs(s.amplitude) >= cfg.brow_furrow]
    for k, (s, back) in enumerate(zip(inner_sw, label_returns(inner_sw, cfg.brow_furrow, ret))):
        prev = inner_sw[k - 1] if k else None
        if s.amplitude < 0 and not back and (prev is None or s.end_value < prev.start_value - ret * cfg.brow_furrow):
            # the inner brows end closer together than before (a drop that only undoes part of
            # the widening that comes with a brow raise is not a furrow)
            events.append(Event("brows_furrow", s.t0, s.t1, abs(s.amplitude), "brows", change_at=s.t_half))
        elif s.amplitude > 0 and back:
            events.append(Event("brows_unfurrow", s.t0, s.t1, abs(s.amplitude), "brows", change_at=s.t_half))

    # head: turns (yaw), tilts (roll), lifts / lowers and nods (pitch)
    # yaw / roll > 0 move the face towards the image right, which is the person's own left
    to_image_right = "right" if cfg.left_right == "viewer" else "left"
    to_image_left = "left" if cfg.left_right == "viewer" else "right"
    # a turn or tilt across a shot cut is the pose's jump between two shots, as for lifts below
    yaw = sig.deviation("yaw")
    yaw_sw = _no_cut(_paused(sig, "yaw", swings(yaw, t, cfg.yaw_deg, "yaw"), cfg.head_turned_deg, cfg.yaw_deg, cfg),
                     cuts, sig)
    for s in yaw_sw:
        side = to_image_right if s.amplitude > 0 else to_image_left
        kind = "head_turn_center" if _to_center(sig, "yaw", s, cfg.head_turned_deg, cfg.yaw_deg) else f"head_turn_{side}"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "head", change_at=s.t_half))
    roll = sig.deviation("roll")
    roll_sw = _no_cut(_paused(sig, "roll", swings(roll, t, cfg.roll_deg, "roll"), cfg.head_tilted_deg, cfg.roll_deg,
                              cfg), cuts, sig)
    for s in roll_sw:
        side = to_image_right if s.amplitude > 0 else to_image_left
        kind = "head_tilt_center" if _to_center(sig, "roll", s, cfg.head_tilted_deg, cfg.roll_deg) else f"head_tilt_{side}"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "head", change_at=s.t_half))
    events = _drop_secondary_axis(events, yaw_sw, roll_sw, cfg)
    pitch = sig.deviation("pitch")
    pitch_sw = swings(pitch, t, cfg.nod_deg, "pitch")
    used = set()
    for k in range(len(pitch_sw) - 1):
        a, b = pitch_sw[k], pitch_sw[k + 1]
        if k in used or a.amplitude >= 0:
            continue
        # a nod: the head goes down and comes back up quickly
        if (b.t1 - a.t0) <= cfg.nod_max_s and abs(b.amplitude) >= 0.6 * abs(a.amplitude) \
                and not spans_cut(a.t0, b.t1, cuts, sig) \
                and not (cfg.pitch_occluded_max < 1.0 and occluded_share(sig, a.t0, b.t1) > cfg.pitch_occluded_max):
            events.append(Event("head_nod", a.t0, b.t1, max(abs(a.amplitude), abs(b.amplitude)), "head"))
            used.update((k, k + 1))
    # lifts / lowers start where the head takes off (``head_lift_onset``), not at a slow sinking
    # or rising before it; same turning points as ``pitch_sw``
    lift_sw = swings(pitch, t, cfg.nod_deg, "pitch", speed_onset=cfg.head_lift_onset)
    for k, s in enumerate(lift_sw):
        if k in used or abs(s.amplitude) < cfg.pitch_deg or not pitch_change_ok(sig, cfg, s, cuts):
            continue
        events.append(Event("head_lift" if s.amplitude > 0 else "head_lower", s.t0, s.t1, abs(s.amplitude), "head",
                            change_at=s.t_half))

    # head shakes and sways: the single turns and tilts that happen mostly inside them (at least
    # half of their span) are not reported again, whichever axis the oscillation was found on (a
    # rocking head turns and tilts at once; dev clip nggyup's wide shot, by eye "he turns his head
    # from side to side", rocks in roll with turns between), nor are the nods: a rocking head dips
    # with its swings (nggyup: seven "nods" of 11-22 degrees during its 5.7 s sway, none by eye)
    # A turn, tilt, lift or lower is a part only when the head ends the oscillation about where it
    # started on that axis (net change under the axis's threshold): a head that rocks while it
    # turns and stays turned has turned (review 8), and a rocking head that ends bowed has lowered
    shakes, spans = oscillation_events(sig, cfg, cuts)
    if shakes:
        covers = [Event("oscillation", a - 0.05, b + 0.05, 0.0, "head") for a, b in spans]
        events = [e for e in events if not any(_share(e, c) >= 0.5 and _part_of_rocking(sig, cfg, e, c)
                                               for c in covers)]
        events += shakes

    follows = gaze_with_head(sig, cfg, [e for e in events if e.kind.startswith("head_turn_")], blink_mask)
    # an eye-in-head swing the same way during a turn that ends looking that way is that look,
    # said once with the turn ("their head turns to the left, looking to the left")
    events = [e for e in events if not (e.kind in ("gaze_left", "gaze_right") and any(
        f.kind == "gaze_follows_" + e.kind[5:] and _share(e, f) >= 0.5 for f in follows))]
    events += follows

    if cfg.turn_masks_horizontal:
        # a head turn changes horizontal landmark distances by itself (foreshortening and the 2D
        # landmark fit of a turned face): an inner-brow or mouth-width change that happens mostly
        # during a measured turn is not reported as a furrow, a lip rounding or stretch (nor, above,
        # as a smile read from the mouth's width alone)
        # (the whole swing of yaw, pivot to pivot, not just its 10-90 % onset/offset span)
        turns = [Event("turn", float(t[s.i0]), float(t[s.i1]), 0.0, "head") for s in yaw_sw]
        events = [e for e in events if not (e.kind in _HORIZONTAL and any(_share(e, u) >= 0.5 for u in turns))]
    # a brow raise widens the inner-brow gap and a furrow lowers the brows: report each once. After
    # the turn mask: a lowering is the furrow's only when that furrow is said (dev WolfgangLanger,
    # brows drawn down at 1.4-3.7 s by eye: the lowering was dropped for a furrow at 0.4-1.6 s that
    # the turn mask then dropped too, and neither was left)
    raises = [e for e in events if e.kind == "brows_raise"]
    furrows = [e for e in events if e.kind == "brows_furrow"]
    events = [e for e in events if not (
        (e.kind == "brows_unfurrow" and any(_overlap(e, r) for r in raises))
        or (e.kind == "brows_lower" and any(_overlap(e, f) for f in furrows)))]
    # a mouth widening with a smile is the smile (the mesh's stretch test reads the corners only
    # at the widening's end; a smile that was already there widens with little further lift)
    smiles = [e for e in events if e.kind == "smile"]
    events = [e for e in events if not (e.kind == "lips_stretch" and any(_share(e, m) >= 0.5 for m in smiles))]
    # lower lids tightening during an eye narrowing are that narrowing (both are said "their eyes
    # narrow"): one movement, kept as the measurement that reads it more strongly
    events = _one_narrowing(events, cfg.lid_tighten, eye_th)
    events = lids_into_closure(events, sig, cfg.closure_lid_gap_s)
    events = [e for e in events if np.isfinite(e.start) and np.isfinite(e.end)]
    events.sort(key=lambda e: (round(e.start, 4), e.end))
    return events


def _drop_secondary_axis(events: list[Event], yaw_sw: list[Swing], roll_sw: list[Swing],
                         cfg: DynamicsConfig) -> list[Event]:
    """Turns and tilts without the side component of a larger head movement: a tilt (roll swing)
    that happens during a turn (yaw swing) at least ``1 / head_secondary_ratio`` times as large
    (its half-amplitude time, when it happens, inside the turn's 10-90 % span), or a turn during
    such a tilt, is part of that one movement, not a change of its own. A head turned to near
    profile also rolls in the image (the neck's coupled rotation, and the eye line's slant grows
    as 1 / cos(yaw) in a turned face); the caption names the movement by its main rotation, as
    annotators do (dev clip skarsgard: a 58-degree turn to the right with a 25-degree image roll
    said only as "tilts to the left", the turn lost under the clause cap; clip 669: 12-degree
    rolls during 44- and 84-degree turns said as a tilt to each side)."""
    ratio = cfg.head_secondary_ratio
    if ratio <= 0 or not yaw_sw or not roll_sw:
        return events
    spans = {"yaw": [(s.t0, s.t1, abs(s.amplitude)) for s in yaw_sw],
             "roll": [(s.t0, s.t1, abs(s.amplitude)) for s in roll_sw]}

    def secondary(e: Event) -> bool:
        other = "roll" if e.kind.startswith("head_turn_") else "yaw" if e.kind.startswith("head_tilt_") else None
        if other is None:
            return False
        at = e.start if e.change_at is None else e.change_at
        return any(e.intensity <= ratio * amp and a <= at <= b for a, b, amp in spans[other])

    return [e for e in events if not secondary(e)]


def _one_narrowing(events: list[Event], lid_th: float, eye_th: float) -> list[Event]:
    """``events`` with each lower-lid tightening (``lids_tighten``) that lies at least half inside
    an eye narrowing (``eyes_narrow``, the lid aperture) reported once: as the one of the two
    that is the larger multiple of its own threshold (``lid_th``: ``lid_tighten``; ``eye_th``: the
    aperture's ``eye_mesh``; ties keep the narrowing). Both say "their eyes narrow"; which one carries the movement must not turn
    on which reading happens to pass its threshold. Dev clip skarsgard mirrored: the aperture's
    narrowing reached exactly its threshold (1.0x, too weak to be said) and removed the lower
    lids' 3.2x tightening of the same moment, said on the unmirrored clip."""
    narrow = [e for e in events if e.kind == "eyes_narrow"]
    if not narrow:
        return events
    drop = set()
    for e in events:
        if e.kind != "lids_tighten":
            continue
        for m in narrow:
            if _share(e, m) < 0.5:
                continue
            lid = e.intensity / lid_th if lid_th > 0 else 0.0
            ap = m.intensity / eye_th if eye_th > 0 else 0.0
            drop.add(id(m) if lid > ap else id(e))
    return [e for e in events if id(e) not in drop]


#: the lid-aperture swings that take the lids towards a closure / back from it
_LIDS_DOWN = {"eyes_half_close", "eyes_narrow", "eyes_relax_narrow"}
_LIDS_UP = {"eyes_reopen", "eyes_relax_open"}


def lids_into_closure(events: list[Event], sig: FaceSignals, gap: float) -> list[Event]:
    """``events`` without the lid-aperture swings that are an eye closure's own lid movement: a
    narrowing (:data:`_LIDS_DOWN`: "their upper eyelids droop", "their eyes narrow") that ends
    inside a measured closure (``eyes_close_briefly``; ``eyes_close`` to its ``eyes_open`` or the
    clip's end; the clip's start to an ``eyes_open`` with no ``eyes_close`` before it) or at most
    ``gap`` s before it with the lids kept down until it (the ``aperture`` never back up half the
    narrowing's amplitude) is the lids going down into it; a return from
    narrowed lids (:data:`_LIDS_UP`: "their upper eyelids lift") that starts inside the closure or
    at most ``gap`` s after it with the lids kept down until then is the lids coming out of it. The
    closure says both ("their eyes close briefly"): the aperture is bridged only over the closure's
    darkest frames, so the lids' way down and up around them makes swings of its own (no-split
    ghost__dirtydancing 2.8-4.2 s: the eyes squeezed shut in a laugh, by eye 3.0-3.8 s, were said
    as "their upper eyelids droop ... lift", and the closure found at 3.00-3.75 s was ranked out,
    "eyes close" being the rarer words). A widening past the open eyes' level (``eyes_widen``) is
    a movement of its own and stays. ``gap`` 0 turns this off."""
    ap = sig.values.get("aperture")
    if gap <= 0 or ap is None:
        return events
    t = sig.times
    spans = [(e.start, e.end) for e in events if e.kind == "eyes_close_briefly"]
    opens = sorted(e.start for e in events if e.kind == "eyes_open")
    closes = sorted(e.start for e in events if e.kind == "eyes_close")
    for c in closes:
        spans.append((c, next((o for o in opens if o >= c), float(t[-1]))))
    # eyes closed when the clip starts: the first opening with no closure before it closes a span
    # from the first frame (review 8)
    if opens and not any(c <= opens[0] for c in closes):
        spans.append((float(t[0]), opens[0]))
    if not spans:
        return events

    def kept_down(x0: float, x1: float, level: float) -> bool:
        """Whether the aperture stays at most ``level`` from ``x0`` to ``x1`` (NaN frames skipped)."""
        seg = ap[frame_at(t, x0): frame_at(t, x1) + 1]
        return not np.isfinite(seg).any() or float(np.nanmax(seg)) <= level

    def part(e: Event) -> bool:
        i0, i1 = frame_at(t, e.start), frame_at(t, e.end)
        if not (np.isfinite(ap[i0]) and np.isfinite(ap[i1])):
            return False
        half = 0.5 * abs(float(ap[i0] - ap[i1]))
        for a, b in spans:
            if e.kind in _LIDS_DOWN and a - gap <= e.end <= b and (e.end >= a or kept_down(e.end, a, float(ap[i1]) + half)):
                return True
            if e.kind in _LIDS_UP and a <= e.start <= b + gap and (e.start <= b or kept_down(b, e.start, float(ap[i0]) + half)):
                return True
        return False

    return [e for e in events if not part(e)]


def _no_cut(sw: list[Swing], cuts: np.ndarray, sig: FaceSignals) -> list[Swing]:
    """The swings that span no shot cut (:func:`~dfec.dynamics.headpose.spans_cut`)."""
    return [s for s in sw if not spans_cut(s.t0, s.t1, cuts, sig)] if len(cuts) else sw


def brow_split_thresholds(sig: FaceSignals, cfg: DynamicsConfig) -> tuple[float, float]:
    """The zigzag thresholds that cut ``brow_height`` and ``brow_inner`` into swings: the
    configured ones raised by the per-video noise floors but not by the own-noise floor
    (``noise_k_own``) when ``brow_own_splits`` is on; the full effective thresholds otherwise."""
    from dataclasses import replace

    base = replace(cfg, noise_k_own=0.0) if cfg.brow_own_splits else cfg
    e = effective_thresholds(sig, base)
    return e.brow_raise, e.brow_furrow


def _brow_follows_turn(sig: FaceSignals, cfg: DynamicsConfig, s: Swing) -> bool:
    """Whether a brow-height swing is the head turn's foreshortening: the brows' image drops
    towards the eyes as the head turns away from the camera and comes back as it returns (dev
    clip 669: ``brow_height`` 0.30 facing the camera, 0.21 at 40 degrees of yaw, and brows
    "lowered" / "relaxed" with each of its five turns, none seen by eye). A swing over which
    |yaw| grows by ``brow_turn_deg`` or more while the brows fall, or shrinks by as much while
    they rise, is not read; a brow movement against the turn's way is."""
    if cfg.brow_turn_deg <= 0 or "yaw" not in sig.values:
        return False
    y0, y1 = sig["yaw"][s.i0], sig["yaw"][s.i1]
    if not (np.isfinite(y0) and np.isfinite(y1)):
        return False
    away = abs(float(y1)) - abs(float(y0))
    return abs(away) >= cfg.brow_turn_deg and away * s.amplitude < 0


#: the pose signal and threshold of each head event a rocking can hold (:func:`_part_of_rocking`)
_ROCKING_PARTS = {"head_turn_left": "yaw", "head_turn_right": "yaw", "head_turn_center": "yaw",
                  "head_tilt_left": "roll", "head_tilt_right": "roll", "head_tilt_center": "roll",
                  "head_lift": "pitch", "head_lower": "pitch", "head_nod": None}
_AXIS_THRESHOLD = {"yaw": "yaw_deg", "roll": "roll_deg", "pitch": "pitch_deg"}


def _part_of_rocking(sig: FaceSignals, cfg: DynamicsConfig, e: Event, cover: Event) -> bool:
    """Whether head event ``e`` (mostly inside the shake / sway span ``cover``) is a swing of that
    rocking rather than a movement of its own: a nod always is (a rocking head dips with its
    swings); a turn, tilt, lift or lower is unless the head's pose on that axis ends the span
    farther from where it started (the medians of the span's first and of its last two measured
    frames) than both the axis's threshold and 3/4 of the pose's range over the span, i.e. it went
    one way rather than back and forth: a one-way turn during a roll rocking ends a whole turn
    away (net = range); a head rocking in yaw ends wherever its last swing stops (dev nggyup's
    close-up: net 16 degrees of a 30-degree range; its wide shot 11 of 18). Other kinds are never
    parts."""
    if e.kind not in _ROCKING_PARTS:
        return False
    name = _ROCKING_PARTS[e.kind]
    if name is None or name not in sig.values:
        return True
    t = np.asarray(sig.times, float)
    v = sig[name]
    idx = np.flatnonzero((t >= cover.start) & (t <= cover.end) & np.isfinite(v))
    if len(idx) < 2:
        return True
    net = abs(float(np.median(v[idx[-2:]])) - float(np.median(v[idx[:2]])))
    span = float(np.max(v[idx]) - np.min(v[idx]))
    return net < max(getattr(cfg, _AXIS_THRESHOLD[name]), 0.75 * span)


def _brow_follows_pitch(sig: FaceSignals, cfg: DynamicsConfig, s: Swing) -> bool:
    """Whether a brow-height swing is the head's nod: the brows stand in front of the eye corners,
    so their image rises above the eye line as the head tilts back and falls towards it as the head
    tips forward (``brow_height`` divides only by the cosine of the pitch, which does not undo this
    depth offset). No-split ghost__dirtydancing 8.3-9.9 s: the head tips forward by 28 degrees,
    the brows by eye stay where they were, ``brow_height`` drops by 21 % ("their eyebrows lower").
    A swing over which ``pitch`` changes by ``brow_pitch_deg`` or more the same way as the brows is
    not read unless what is left of it after the nod's own share (``brow_per_pitch`` per degree)
    still reaches ``brow_raise``: surprise raises the brows as the head tilts back (review 8: a
    raise of 3.8 times the threshold with a 16-degree tilt back was dropped); a brow movement
    against the nod (brows rising as the head tips forward) is always read."""
    if cfg.brow_pitch_deg <= 0 or "pitch" not in sig.values:
        return False
    p0, p1 = sig["pitch"][s.i0], sig["pitch"][s.i1]
    if not (np.isfinite(p0) and np.isfinite(p1)):
        return False
    change = float(p1) - float(p0)
    if abs(change) < cfg.brow_pitch_deg or change * s.amplitude <= 0:
        return False
    return abs(s.amplitude) - cfg.brow_per_pitch * abs(change) < cfg.brow_raise


def gaze_with_head(sig: FaceSignals, cfg: DynamicsConfig, turns: list[Event],
                   blink_mask: np.ndarray | None = None) -> list[Event]:
    """Where the eyes look in the scene at the end of each head turn, when the iris sits in the
    middle of the eye then (:func:`~dfec.dynamics.mesh_events.gaze_state` "ahead"): eyes centred
    in a head turned to the left (absolute yaw of at least ``head_turned_deg`` towards that side)
    look to the left, at the end of a turn that leaves the head facing the camera (|yaw| below
    ``head_turned_deg``) they look straight ahead. Annotators write
    it with the turn ("he turns his head to the right, looking to the right"); the eyes are read
    only where |yaw| is at most ``eye_max_yaw``. A turn that ends beyond ``eye_max_yaw`` (near
    profile) looks its own way without reading the eyes: holding the camera from there would take
    an eye-in-head rotation near the eyes' limit (dev clip 669: "turns his head to the right,
    looking to the right" at 40 degrees of yaw). Kinds ``gaze_follows_left`` / ``_right`` /
    ``_ahead``, with the turn's start and end. The eyes are not read on the frames of
    ``blink_mask`` (a blink at the turn's end leaves where the eyes look unsaid: the iris model
    guesses the iris behind the closing lid; dev clip s32, "looking straight ahead" from a blink
    at 5.6-5.9 s while by eye the eyes stay turned to her right)."""
    if "gaze_h" not in sig.values or "yaw" not in sig.values:
        return []
    to_image_right, to_image_left = ("right", "left") if cfg.left_right == "viewer" else ("left", "right")
    cfg = effective_thresholds(sig, cfg)
    detail = _detail_mask(sig, cfg)
    out = []
    for e in turns:
        i = int(np.clip(np.searchsorted(sig.times, e.end), 0, len(sig) - 1))
        idx = np.arange(max(i - 1, 0), min(i + 2, len(sig)))
        idx = idx[detail[idx]]
        yaw = sig["yaw"][idx]
        if not len(idx) or not np.isfinite(yaw).any():
            continue
        yaw = float(np.nanmedian(yaw))
        if abs(yaw) > cfg.eye_max_yaw:
            # near profile the eyes are not read (the far eye is guessed), and eyes cannot hold
            # the camera from there: the person looks the way the head turned
            side = to_image_right if yaw > 0 else to_image_left
            if e.kind == f"head_turn_{side}":
                out.append(Event(f"gaze_follows_{side}", e.start, e.end, abs(yaw), "gaze"))
            continue
        if blink_mask is not None:
            if blink_mask[idx].all() and cfg.gaze_after_blink_s > 0:
                # a blink at the turn's end: the eyes are read on the first open frames after it
                # (within ``gaze_after_blink_s``), the head not turned again since (by less than
                # ``yaw_deg``, the threshold of a turn)
                j = np.arange(idx[-1] + 1, min(idx[-1] + 1 + int(round(cfg.gaze_after_blink_s * sig.fps)), len(sig)))
                j = j[detail[j] & ~blink_mask[j]][:3]
                if len(j) and np.isfinite(sig["yaw"][j]).any() and \
                        abs(float(np.nanmedian(sig["yaw"][j])) - yaw) < cfg.yaw_deg:
                    idx = j
            idx = idx[~blink_mask[idx]]
            if not len(idx):
                continue
        state = gaze_state(sig, cfg, idx)
        if abs(yaw) < cfg.head_turned_deg and e.kind != "head_turn_center" and state not in (None, "up", "down") \
                and "gaze_yaw" in sig.values and np.isfinite(sig["gaze_yaw"][idx]).any():
            # a turn that stops short of "turned" with the eyes carried on past it (eye-in-head
            # angle the same way): where the eyes look in the scene is head yaw plus the eye's own
            # angle (``gaze_yaw``); at ``gaze_world_side_deg`` or more the turn's way, the person
            # looks that way (dev clip skarsgard at 2.0-2.4 s: 17 degrees of yaw plus 9 of eye, by
            # eye looking to his left)
            world = float(np.nanmedian(sig["gaze_yaw"][idx]))
            side = to_image_right if world > 0 else to_image_left
            if abs(world) >= cfg.gaze_world_side_deg and e.kind == f"head_turn_{side}":
                out.append(Event(f"gaze_follows_{side}", e.start, e.end, abs(world), "gaze"))
                continue
        if state != "ahead":
            continue
        if abs(yaw) < cfg.head_turned_deg:
            # the turn (back to the center or past it) ends facing the camera; a turn away from
            # the camera that stops short of "turned" is not "looking straight ahead" (a reader
            # of "their head turns to the left, looking straight ahead" sees a contradiction)
            j = int(np.clip(np.searchsorted(sig.times, e.start), 0, len(sig) - 1))
            start = sig["yaw"][j]
            if np.isfinite(start) and abs(yaw) > abs(float(start)) and abs(yaw) >= cfg.yaw_deg:
                continue
            side = "ahead"
        elif e.kind != "head_turn_center":
            side = to_image_right if yaw > 0 else to_image_left
            if e.kind != f"head_turn_{side}":
                continue  # the turn did not end turned towards its own side
        else:
            continue
        out.append(Event(f"gaze_follows_{side}", e.start, e.end, abs(yaw), "gaze"))
    return out


def _paused(sig: FaceSignals, name: str, sw: list[Swing], posed_deg: float, move_deg: float,
            cfg: DynamicsConfig) -> list[Swing]:
    """The head swings of ``name``, each swing back from a posed side that comes to rest facing
    the camera ended there (:func:`~dfec.dynamics.swings.end_at_center_pause`), so that
    :func:`_to_center` reads where the head stopped, not where it drifted to afterwards."""
    if name not in sig.values:
        return sw
    x = sig.deviation(name)
    return [end_at_center_pause(x, sig.times, s, sig[name], posed_deg, move_deg, cfg.head_pause_ratio) for s in sw]


def _to_center(sig: FaceSignals, name: str, s: Swing, posed_deg: float, move_deg: float) -> bool:
    """Whether a head swing brings a head that was turned / tilted (absolute ``name`` angle of at
    least ``posed_deg``, the starting-pose threshold) back to where it would not be called so:
    "their head turns back to the center" / "their head straightens" (FEC-Bench's words), not a
    turn to the other side. A swing that goes through the middle and on by at least ``move_deg``
    (the threshold of a turn / tilt) to the other side stays a turn / tilt."""
    a = sig[name] if name in sig.values else None
    if a is None or not (np.isfinite(a[s.i0]) and np.isfinite(a[s.i1])):
        return False
    start, end = float(a[s.i0]), float(a[s.i1])
    crossed = start * end < 0 and abs(end) >= move_deg
    return abs(start) >= posed_deg and abs(end) < posed_deg and abs(end) < abs(start) and not crossed
