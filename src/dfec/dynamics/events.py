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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..schema import Event
from .signals import FaceSignals, SignalConfig


@dataclass
class DynamicsConfig:
    """All settings of the landmark captioner: signals, event thresholds and caption layout.

    How the defaults were chosen (real data, measured in this project): the dlib-68 landmarks of
    the bundled RAVDESS clip (720x720, inter-ocular ~205 px, 16 fps) and of the stage close-ups of
    the Hamilton clip (inter-ocular 45-53 px) were inspected frame by frame next to the signal
    traces (see ``tests/data/reference_captions_by_eye.json``):

    * ``blink_depth`` 0.12: the neutral EAR there is 0.29; visible eye closures dip it to
      0.18-0.21 (-30 to -40 %), the shallowest closure seen by eye (frames 2-3) to 0.25 (-15 %),
      and two closures 0.3 s apart (2.0 and 2.4 s) are separated by a partial re-opening of only
      +0.04 (14 %); frame-to-frame jitter on open eyes is below 5 %.
    * ``blink_max_s`` 0.6: the slowest closure-and-reopening seen by eye lasts ~0.45 s.
    * ``eye_deg`` 0.15: the eyes opening wide at the end of the RAVDESS clip raise the de-blinked
      EAR from ~0.32 to ~0.39 (+22 %); the open-eye level otherwise drifts by < 10 %.
    * ``mouth_open`` 0.05 (face-scale units = inter-ocular distance): lips parting for speech move
      the inner-lip gap by 0.04-0.09; the mouth opening wide at the end moves it by ~0.07 (smoothed);
      ``mouth_closed_below`` 0.035 and ``mouth_open_above`` 0.10 describe the state at the start.
    * ``speak_prominence`` 0.03 with ``speak_min_peaks`` 3 within ``speak_max_gap_s`` 0.8 s: each
      syllable of the RAVDESS sentence produces a gap peak of prominence 0.04-0.09, four peaks
      in 2.5 s; a still, closed mouth stays within +-0.01.
    * ``smile_lift`` 0.04 / ``smile_width`` 0.10: the broad smile at the start of the Hamilton
      close-up lifts the lip corners by +0.05 face-scale and widens the mouth by +20 %; speech
      alone moves the corners by up to 0.03 (RAVDESS, a slow drift) and the width by < 8 %.
    * ``lips_round`` 0.08: the lips rounding into an "o" at 2.8 s of the RAVDESS clip narrow the
      mouth by 10-14 % below neutral; speech moves the width by -3 to +6 %.
    * ``brow_raise`` 0.12 (relative brow-eye height): the brow raise at the start of the RAVDESS
      clip moves it from 0.20 to 0.30 (+35 %); blinks and speech move it by < 8 %.
    * ``brow_furrow`` 0.10 (relative inner-brow distance).
    * Head: ``yaw_deg`` 10, ``roll_deg`` 7, ``pitch_deg`` 10 degrees: solvePnP with the generic model
      jitters by ~1-2 degrees on the large face and 3-4 degrees on the Hamilton close-ups; the head
      turns seen by eye there span 20-40 degrees of yaw. Pitch is the least reliable angle: in the
      RAVDESS clip the head stays still by eye while the PnP pitch drifts by up to 9 degrees as the
      eyes widen and the mouth opens (the eye-corner and nose points shift), hence 10 degrees.
      ``nod_deg`` 5 for each half of a quick down-up movement.
    * ``noise_k`` 5: the thresholds above hold for the landmark jitter of these two clips. A face
      that is smaller, blurrier or partly hidden jitters more, so each threshold is raised, per
      video, to ``noise_k`` times the noise std of its signal (:func:`effective_thresholds`; the
      std comes from :func:`~dfec.dynamics.signals.estimate_noise`: rigid-point jitter propagated
      through the measurement). A swing is the difference of two noisy samples (std sqrt(2) sigma)
      and the zigzag takes the largest one over a few dozen correlated samples, so 3 sigma still
      fires on a still face; 5 was chosen on synthetic still and single-event sequences with 0.5-
      1.5 px of added jitter at inter-ocular distances of 48 and 96 px (false events per
      sequence 7.7 -> 0.2; k 3: 3.2, k 4: 1.6, see ``benchmarks/caption_quality.py --noise``),
      not on the by-eye clips. ``noise_k_speech`` 3 applies to ``speak_prominence``: speaking
      needs ``speak_min_peaks`` peaks of the unsmoothed gap in a row, which already guards
      against single noise peaks (5 lost all synthetic speech at 1 px on a 48 px face).
    * ``turn_masks_horizontal``: furrows and lip rounding are read from horizontal distances
      (inner-brow gap, mouth width), which a head turn changes by itself; in the Hamilton close-up
      the inner-brow gap follows yaw (r = 0.42; it shrinks by 30 % while the head turns 27 degrees
      to frontal at 2.75-3.1 s, read as "eyebrows furrow tightly" next to a real brow raise). Such
      an event lying mostly (>= 50 %) inside a measured head turn is dropped.
    * ``min_event_s`` is not used by the detectors (kept so existing config files still load): on
      the noisy synthetic sequences the false events left by jitter last 0.1-0.75 s once smoothed,
      like true ones, so a duration floor does not separate them; the noise floor above does.
    * ``min_still_s`` 0.5 / ``face_absent_s`` 1.0: a phase is called unchanged only after 0.5 s of
      measured face; the face missing for >= 1 s at the start / end is said ("their face comes into
      view" / "is no longer visible") and no end state is claimed for a face that left.
    * ``min_detail_px`` 30: below this inter-ocular distance (e.g. the Hamilton wide shot, 24 px)
      eye, brow and mouth details are not measured; head pose still is.
    """

    signals: SignalConfig = field(default_factory=SignalConfig)
    # eyes
    blink_depth: float = 0.12
    blink_max_s: float = 0.6
    eye_deg: float = 0.15
    eyes_closed_below: float = 0.15
    # mouth
    mouth_open: float = 0.05
    mouth_closed_below: float = 0.035
    mouth_open_above: float = 0.10
    speak_prominence: float = 0.03
    speak_min_peaks: int = 3
    speak_max_gap_s: float = 0.8
    smile_lift: float = 0.04
    smile_width: float = 0.10
    lips_round: float = 0.08
    # brows
    brow_raise: float = 0.12
    brow_furrow: float = 0.10
    # head
    yaw_deg: float = 10.0
    pitch_deg: float = 10.0
    roll_deg: float = 7.0
    nod_deg: float = 5.0
    nod_max_s: float = 1.2
    # per-video noise floor: each threshold is raised to noise_k x the signal's noise std
    noise_k: float = 5.0
    noise_k_speech: float = 3.0
    turn_masks_horizontal: bool = True
    # general
    min_event_s: float = 0.1
    min_detail_px: float = 30.0
    return_fraction: float = 0.5
    # caption layout: fractions of the video where "as the video progresses", "in the middle"
    # and "towards the end" start (paper's FEC-Bench captions use these four phases)
    segments: tuple[float, float, float] = (0.25, 0.5, 0.75)
    max_clauses_per_segment: int = 5
    #: a phase without events is called unchanged only after this many seconds of measured face
    min_still_s: float = 0.5
    #: the face missing for at least this long at the start / end of the video is said in the caption
    face_absent_s: float = 1.0
    describe_states: bool = True  # first-frame and last-frame states of eyes, mouth, brows
    #: whose left/right the head-turn and tilt events (kinds and caption) use: "subject" (the
    #: person's own left, FEC-Bench's convention: its references say "his right hand" 7 times and
    #: never "his left hand", as expected of mostly right-handed people only in the person's own
    #: frame, and write "to the left of the screen" when they mean the image side) or "viewer"
    #: (the image's left). Signals (yaw, roll, ear_left ...) always use image directions.
    left_right: str = "subject"


def load_config(path) -> DynamicsConfig:
    """A :class:`DynamicsConfig` from a YAML or JSON mapping of field overrides (``signals:`` holds
    :class:`~dfec.dynamics.signals.SignalConfig` fields). Unknown keys and bad values raise a
    one-line :class:`~dfec.errors.DfecError`."""
    from dataclasses import fields as dc_fields

    from ..userfiles import check_known, read_mapping
    from ..errors import DfecError

    p = Path(path)
    data = read_mapping(p, "DynamicsConfig fields")
    known = {f.name: f for f in dc_fields(DynamicsConfig)}
    sig_known = {f.name for f in dc_fields(SignalConfig)}
    kw = {}
    for key, value in data.items():
        check_known([key], known, p)
        if key == "signals":
            if not isinstance(value, dict) or set(value) - sig_known:
                bad = sorted(set(value) - sig_known) if isinstance(value, dict) else value
                raise DfecError(f"bad 'signals' settings {bad} (known: {', '.join(sorted(sig_known))})", p)
            kw[key] = SignalConfig(**value)
        elif key == "left_right":
            if value not in ("subject", "viewer"):
                raise DfecError("'left_right' must be 'subject' or 'viewer'", p)
            kw[key] = value
        elif key == "segments":
            if not (isinstance(value, (list, tuple)) and len(value) == 3 and all(isinstance(v, (int, float)) for v in value)
                    and 0 < value[0] < value[1] < value[2] < 1):
                raise DfecError("'segments' must be three increasing fractions in (0, 1)", p)
            kw[key] = tuple(float(v) for v in value)
        else:
            default = getattr(DynamicsConfig(), key)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            else:
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
            if not ok:
                kind = {bool: "true/false", int: "whole number >= 0"}.get(type(default), "number >= 0")
                raise DfecError(f"'{key}' must be a {kind}", p)
            kw[key] = type(default)(value)
    return DynamicsConfig(**kw)


#: which signal's noise limits each threshold (and whether the unsmoothed signal is meant)
NOISE_OF = {
    "blink_depth": ("eye_open", False), "eye_deg": ("eye_open", False),
    "mouth_open": ("mouth_open", False), "speak_prominence": ("mouth_open", True),
    "smile_lift": ("corner_lift", False), "smile_width": ("mouth_width", False),
    "lips_round": ("mouth_width", False), "brow_raise": ("brow_height", False),
    "brow_furrow": ("brow_inner", False), "yaw_deg": ("yaw", False), "pitch_deg": ("pitch", False),
    "roll_deg": ("roll", False), "nod_deg": ("pitch", False),
}


def effective_thresholds(sig: FaceSignals | None, cfg: DynamicsConfig) -> DynamicsConfig:
    """A copy of ``cfg`` whose event thresholds are at least ``noise_k`` times the per-video noise
    std of their signal (deviation units, see :meth:`FaceSignals.noise_level`). The configured
    values stay the floor; a clean video keeps them unchanged."""
    from dataclasses import replace

    if sig is None or cfg.noise_k <= 0:
        return cfg
    kw = {}
    for attr, (name, raw) in NOISE_OF.items():
        floor = (cfg.noise_k_speech if attr == "speak_prominence" else cfg.noise_k) * sig.noise_level(name, raw)
        if floor > getattr(cfg, attr):
            kw[attr] = float(floor)
    return replace(cfg, **kw) if kw else cfg


# --------------------------------------------------------------------------------- primitives
def zigzag(x: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Monotonic swings ``(i_start, i_end)`` of ``x`` whose amplitude is >= ``threshold``.

    Hysteresis zigzag: a turning point is confirmed once ``x`` has moved back from it by the
    threshold. NaN samples split the series; swings never cross a NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    out: list[tuple[int, int]] = []
    n = len(x)
    i = 0
    while i < n:
        if not np.isfinite(x[i]):
            i += 1
            continue
        j = i
        while j < n and np.isfinite(x[j]):
            j += 1
        out.extend((a + i, b + i) for a, b in _zigzag_finite(x[i:j], threshold))
        i = j
    return out


def _zigzag_finite(x: np.ndarray, th: float) -> list[tuple[int, int]]:
    n = len(x)
    if n < 2 or th <= 0:
        return []
    pivots: list[int] = []
    trend, hi, lo, ext = 0, 0, 0, 0
    for i in range(1, n):
        if trend == 0:
            if x[i] > x[hi]:
                hi = i
            if x[i] < x[lo]:
                lo = i
            if x[hi] - x[lo] >= th:
                if hi > lo:
                    pivots, trend, ext = [lo], 1, hi
                else:
                    pivots, trend, ext = [hi], -1, lo
        elif trend == 1:
            if x[i] >= x[ext]:
                ext = i
            elif x[ext] - x[i] >= th:
                pivots.append(ext)
                trend, ext = -1, i
        else:
            if x[i] <= x[ext]:
                ext = i
            elif x[i] - x[ext] >= th:
                pivots.append(ext)
                trend, ext = 1, i
    if trend != 0 and abs(x[ext] - x[pivots[-1]]) >= th:
        pivots.append(ext)
    return list(zip(pivots[:-1], pivots[1:]))


def _progress(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """How far each sample of x[a..b] has gone from x[a] towards x[b] (0 .. 1)."""
    span = x[b] - x[a]
    return (x[a:b + 1] - x[a]) / (span if span else 1.0)


def _onset(x: np.ndarray, a: int, b: int, frac: float = 0.1) -> int:
    """Last index in [a, b] still within ``frac`` of the start before the change takes off."""
    prog = _progress(x, a, b)
    end = int(np.argmax(prog >= 0.9))
    below = np.nonzero(prog[:end + 1] < 0.5)[0]  # the final take-off, not an earlier wobble
    mid = int(below[-1]) if len(below) else 0
    low = np.nonzero(prog[:mid + 1] <= frac)[0]
    return a + int(low[-1]) if len(low) else a


def _offset(x: np.ndarray, a: int, b: int, frac: float = 0.9) -> int:
    """First index in [a, b] where ``frac`` of the change is reached."""
    hit = np.nonzero(_progress(x, a, b) >= frac)[0]
    return a + int(hit[0]) if len(hit) else b


@dataclass
class Swing:
    """One monotonic change of a signal (deviation units)."""

    signal: str
    i0: int
    i1: int
    t0: float
    t1: float
    start_value: float
    end_value: float

    @property
    def amplitude(self) -> float:
        return self.end_value - self.start_value



def label_returns(sw: list[Swing], threshold: float, fraction: float = 0.5) -> list[bool]:
    """For each swing, whether it *returns* from the swing before it.

    A swing returns when the previous swing moved away (was not itself a return), the two go in
    opposite directions, and this one ends near where the previous one started (within
    ``fraction`` of the previous amplitude, or of the threshold). The first change of a signal is
    therefore always named by its direction ("raise"), the way back by its return name ("relax"),
    whatever share of the video each state takes (the median neutral cannot tell).
    """
    out: list[bool] = []
    prev: Swing | None = None
    prev_away = False
    for s in sw:
        back = (
            prev is not None and prev_away and s.amplitude * prev.amplitude < 0
            and abs(s.end_value - prev.start_value) <= fraction * max(abs(prev.amplitude), threshold)
        )
        out.append(bool(back))
        prev, prev_away = s, not back
    return out


def swings(dev: np.ndarray, times: np.ndarray, threshold: float, name: str = "",
           filled: np.ndarray | None = None) -> list[Swing]:
    """Zigzag swings of a deviation series with 10 %-90 % onset/offset times. ``filled`` marks
    interpolated samples (e.g. over blinks): an onset never lies inside them."""
    out = []
    for a, b in zigzag(dev, threshold):
        s, e = _onset(dev, a, b), _offset(dev, a, b)
        if filled is not None:
            while s < e and filled[s]:
                s += 1
        out.append(Swing(name, a, b, float(times[s]), float(times[max(e, s)]), float(dev[a]), float(dev[b])))
    return out


def _interp_over(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    y = x.copy()
    good = np.isfinite(x) & ~mask
    idx = np.arange(len(x))
    if good.sum() >= 2:
        fill = mask & np.isfinite(x)
        y[fill] = np.interp(idx[fill], idx[good], x[good])
    return y


# ----------------------------------------------------------------------------------- detectors
def detect_blinks(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> tuple[list[Event], np.ndarray]:
    """Blinks and longer eye closures; returns the events and a mask of the frames they cover."""
    from scipy.signal import find_peaks, peak_widths

    x = np.where(detail, sig["eye_open"], np.nan)
    mask = np.zeros(len(x), bool)
    m = sig.neutral("eye_open")
    if not np.isfinite(m) or np.isfinite(x).sum() < 3:
        return [], mask
    y = -np.nan_to_num(x, nan=np.nanmax(x))
    peaks, props = find_peaks(y, prominence=cfg.blink_depth * m)
    if not len(peaks):
        return [], mask
    widths, _, left, right = peak_widths(y, peaks, rel_height=0.5)
    left, right = left.copy(), right.copy()
    # two closures in quick succession share one wide half-height span: split it between them
    for k in range(len(peaks) - 1):
        if right[k] > peaks[k + 1] or left[k + 1] < peaks[k]:
            cut = 0.5 * (peaks[k] + peaks[k + 1])
            right[k] = min(right[k], cut)
            left[k + 1] = max(left[k + 1], cut)
    events = []
    for p, prom, lo, hi in zip(peaks, props["prominences"], left, right):
        if not np.isfinite(x[p]):
            continue
        dur = (hi - lo) / sig.fps
        i0, i1 = int(np.floor(lo)), int(np.ceil(hi))
        t0, t1 = float(sig.times[max(i0, 0)]), float(sig.times[min(i1, len(x) - 1)])
        depth = float(prom / m)
        if dur <= cfg.blink_max_s:
            events.append(Event("blink", t0, t1, depth, "eyes"))
        elif x[p] <= cfg.eyes_closed_below or depth >= 2 * cfg.blink_depth:
            events.append(Event("eyes_close", t0, t0, depth, "eyes"))
            events.append(Event("eyes_open", t1, t1, depth, "eyes"))
        else:
            continue  # a slow, shallow dip: left to the narrow/widen swings
        mask[max(i0 - 1, 0): min(i1 + 2, len(x))] = True
    return events, mask


def detect_speaking(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> list[tuple[float, float, float]]:
    """Speaking runs ``(start, end, mean peak prominence)`` from mouth-gap oscillation."""
    from scipy.signal import find_peaks

    raw = sig.raw.get("mouth_open", sig["mouth_open"])
    x = np.where(detail, raw, np.nan)
    if np.isfinite(x).sum() < 5:
        return []
    y = np.nan_to_num(x, nan=float(np.nanmin(x)))
    found, props = find_peaks(y, prominence=cfg.speak_prominence)
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
    iod = sig.iod_px
    if iod is None:
        return np.ones(len(sig), bool)
    return np.nan_to_num(iod, nan=0.0) >= cfg.min_detail_px


#: events measured from horizontal distances only (see ``DynamicsConfig.turn_masks_horizontal``)
_HORIZONTAL = {"brows_furrow", "brows_unfurrow", "lips_round", "lips_pucker"}


def _share(a: Event, b: Event) -> float:
    """The fraction of ``a``'s span that ``b`` covers (a zero-length ``a`` counts as covered when
    it lies inside ``b``)."""
    lo, hi = max(a.start, b.start), min(a.end, b.end)
    if a.end <= a.start:
        return 1.0 if b.start <= a.start <= b.end else 0.0
    return max(0.0, hi - lo) / (a.end - a.start)


def _overlap(a: Event, b: Event, slack: float = 0.1) -> bool:
    return a.start < b.end + slack and a.end > b.start - slack


def detect_events(sig: FaceSignals | None, config: DynamicsConfig | None = None) -> list[Event]:
    """All events of one track's signals, sorted by onset (text is filled by the captioner)."""
    cfg = config or DynamicsConfig()
    if sig is None or len(sig) < 2:
        return []
    cfg = effective_thresholds(sig, cfg)
    t = sig.times
    detail = _detail_mask(sig, cfg)
    events: list[Event] = []
    ret = cfg.return_fraction

    # eyes: blinks first, then widen / narrow on the de-blinked signal
    blinks, blink_mask = detect_blinks(sig, cfg, detail)
    events += blinks
    eye = sig.deviation("eye_open")
    eye = np.where(detail, _interp_over(eye, blink_mask), np.nan)
    eye_sw = swings(eye, t, cfg.eye_deg, "eye_open", filled=blink_mask)
    for s, back in zip(eye_sw, label_returns(eye_sw, cfg.eye_deg, ret)):
        if back:
            kind = "eyes_relax_open" if s.amplitude > 0 else "eyes_relax_narrow"
        else:
            kind = "eyes_widen" if s.amplitude > 0 else "eyes_narrow"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "eyes"))

    # mouth: speaking runs, then open / close swings outside them
    speaking = detect_speaking(sig, cfg, detail)
    for s0, s1, prom in speaking:
        events.append(Event("speaking", s0, s1, prom, "mouth"))
        if s1 < t[-1] - 0.25:
            events.append(Event("speaking_stop", s1, s1, prom, "mouth"))

    def in_speech(a: float, b: float) -> bool:
        """Whether the middle of [a, b] falls inside a speaking run."""
        mid = 0.5 * (a + b)
        return any(s <= mid <= e for s, e, _ in speaking)

    mouth = np.where(detail, sig.deviation("mouth_open"), np.nan)
    for s in swings(mouth, t, cfg.mouth_open, "mouth_open"):
        if in_speech(s.t0, s.t1):
            continue
        events.append(Event("mouth_open" if s.amplitude > 0 else "mouth_close", s.t0, s.t1, abs(s.amplitude), "mouth"))

    # lip corners: smile / corners down from corner lift, smile also from mouth width
    lift = np.where(detail, sig.deviation("corner_lift"), np.nan)
    width = np.where(detail, sig.deviation("mouth_width"), np.nan)
    lift_sw = swings(lift, t, cfg.smile_lift, "corner_lift")
    for k, (s, back) in enumerate(zip(lift_sw, label_returns(lift_sw, cfg.smile_lift, ret))):
        if s.amplitude > 0:
            w_end = width[s.i1]
            if back:
                kind = "corners_relax"
            elif np.isfinite(w_end) and w_end < -cfg.smile_width:
                continue  # corners rise while the mouth narrows (a round "o"), not a smile
            else:
                kind = "smile"
        else:
            # a fall from lifted corners back towards where they were is a fading smile; so is the
            # first fall of a face that starts smiling (absolute lift above the smile threshold)
            lifted = k == 0 and sig["corner_lift"][s.i0] >= cfg.smile_lift
            kind = "smile_fade" if back or lifted else "corners_down"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "mouth"))
    lift_smiles = [e for e in events if e.kind == "smile"]
    width_sw = swings(width, t, cfg.smile_width, "mouth_width")
    for s, back in zip(width_sw, label_returns(width_sw, cfg.smile_width, ret)):
        if s.amplitude <= 0 or back:
            continue
        l_end = lift[s.i1]
        if not np.isfinite(l_end) or l_end < 0:
            continue  # widening without lifted corners (stretched lips): not called a smile
        if any(s.t0 < e.end + 0.2 and s.t1 > e.start - 0.2 for e in lift_smiles):
            continue
        if in_speech(s.t0, s.t1) and s.amplitude < 2 * cfg.smile_width:
            continue
        events.append(Event("smile", s.t0, s.t1, abs(s.amplitude), "mouth"))
    for s in swings(width, t, cfg.lips_round, "mouth_width"):
        # the mouth narrows well below its neutral width: lips pucker (closed) or round (open)
        if s.amplitude >= 0 or s.end_value > -cfg.lips_round or in_speech(s.t0, s.t1):
            continue
        gap = sig["mouth_open"][s.i1]
        kind = "lips_round" if np.isfinite(gap) and gap >= cfg.mouth_closed_below else "lips_pucker"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "mouth"))

    # brows
    brow = np.where(detail, sig.deviation("brow_height"), np.nan)
    brow_sw = swings(brow, t, cfg.brow_raise, "brow_height")
    for s, back in zip(brow_sw, label_returns(brow_sw, cfg.brow_raise, ret)):
        if back:
            kind = "brows_relax"
        else:
            kind = "brows_raise" if s.amplitude > 0 else "brows_lower"
        events.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "brows"))
    inner = np.where(detail, sig.deviation("brow_inner"), np.nan)
    inner_sw = swings(inner, t, cfg.brow_furrow, "brow_inner")
    for k, (s, back) in enumerate(zip(inner_sw, label_returns(inner_sw, cfg.brow_furrow, ret))):
        prev = inner_sw[k - 1] if k else None
        if s.amplitude < 0 and not back and (prev is None or s.end_value < prev.start_value - ret * cfg.brow_furrow):
            # the inner brows end closer together than before (a drop that only undoes part of
            # the widening that comes with a brow raise is not a furrow)
            events.append(Event("brows_furrow", s.t0, s.t1, abs(s.amplitude), "brows"))
        elif s.amplitude > 0 and back:
            events.append(Event("brows_unfurrow", s.t0, s.t1, abs(s.amplitude), "brows"))

    # a brow raise widens the inner-brow gap and a furrow lowers the brows: report each once
    raises = [e for e in events if e.kind == "brows_raise"]
    furrows = [e for e in events if e.kind == "brows_furrow"]
    events = [e for e in events if not (
        (e.kind == "brows_unfurrow" and any(_overlap(e, r) for r in raises))
        or (e.kind == "brows_lower" and any(_overlap(e, f) for f in furrows)))]

    # head: turns (yaw), tilts (roll), lifts / lowers and nods (pitch)
    # yaw / roll > 0 move the face towards the image right, which is the person's own left
    to_image_right = "right" if cfg.left_right == "viewer" else "left"
    to_image_left = "left" if cfg.left_right == "viewer" else "right"
    yaw = sig.deviation("yaw")
    yaw_sw = swings(yaw, t, cfg.yaw_deg, "yaw")
    for s in yaw_sw:
        side = to_image_right if s.amplitude > 0 else to_image_left
        events.append(Event(f"head_turn_{side}", s.t0, s.t1, abs(s.amplitude), "head"))
    roll = sig.deviation("roll")
    for s in swings(roll, t, cfg.roll_deg, "roll"):
        side = to_image_right if s.amplitude > 0 else to_image_left
        events.append(Event(f"head_tilt_{side}", s.t0, s.t1, abs(s.amplitude), "head"))
    pitch = sig.deviation("pitch")
    pitch_sw = swings(pitch, t, cfg.nod_deg, "pitch")
    used = set()
    for k in range(len(pitch_sw) - 1):
        a, b = pitch_sw[k], pitch_sw[k + 1]
        if k in used or a.amplitude >= 0:
            continue
        # a nod: the head goes down and comes back up quickly
        if (b.t1 - a.t0) <= cfg.nod_max_s and abs(b.amplitude) >= 0.6 * abs(a.amplitude):
            events.append(Event("head_nod", a.t0, b.t1, max(abs(a.amplitude), abs(b.amplitude)), "head"))
            used.update((k, k + 1))
    for k, s in enumerate(pitch_sw):
        if k in used or abs(s.amplitude) < cfg.pitch_deg:
            continue
        events.append(Event("head_lift" if s.amplitude > 0 else "head_lower", s.t0, s.t1, abs(s.amplitude), "head"))

    if cfg.turn_masks_horizontal:
        # a head turn changes horizontal landmark distances by itself (foreshortening and the 2D
        # landmark fit of a turned face): an inner-brow or mouth-width change that happens mostly
        # during a measured turn is not reported as a furrow or a lip rounding
        # (the whole swing of yaw, pivot to pivot, not just its 10-90 % onset/offset span)
        turns = [Event("turn", float(t[s.i0]), float(t[s.i1]), 0.0, "head") for s in yaw_sw]
        events = [e for e in events if not (e.kind in _HORIZONTAL and any(_share(e, u) >= 0.5 for u in turns))]
    events = [e for e in events if np.isfinite(e.start) and np.isfinite(e.end)]
    events.sort(key=lambda e: (round(e.start, 4), e.end))
    return events


def initial_state(sig: FaceSignals | None, config: DynamicsConfig | None = None) -> list[Event]:
    """The measured state of the eyes and mouth on the first frames of the track (first 0.2 s)."""
    cfg = config or DynamicsConfig()
    if sig is None or len(sig) == 0:
        return []
    detail = _detail_mask(sig, cfg)
    n = max(1, int(round(0.2 * sig.fps)))
    first = np.arange(len(sig))[:n]
    first = first[detail[first]]
    if not len(first):
        return []
    t0 = float(sig.times[0])
    out = []
    ear = np.nanmedian(sig["eye_open"][first]) if np.isfinite(sig["eye_open"][first]).any() else np.nan
    if np.isfinite(ear):
        state = "closed" if ear < cfg.eyes_closed_below else "open"
        out.append(Event(f"eyes_are_{state}", t0, t0, float(ear), "eyes"))
    gap = np.nanmedian(sig["mouth_open"][first]) if np.isfinite(sig["mouth_open"][first]).any() else np.nan
    if np.isfinite(gap):
        if gap < cfg.mouth_closed_below:
            state = "closed"
        elif gap < cfg.mouth_open_above:
            state = "slightly_open"
        else:
            state = "open"
        out.append(Event(f"mouth_is_{state}", t0, t0, float(gap), "mouth"))
    return out


def final_state(sig: FaceSignals | None, config: DynamicsConfig | None = None) -> list[Event]:
    """States held on the last 0.3 s of the track that differ from the neutral frame by at least
    the event thresholds (eyes wide / narrowed, mouth open, brows raised / furrowed, smiling)."""
    cfg = effective_thresholds(sig, config or DynamicsConfig())
    if sig is None or len(sig) < 2:
        return []
    detail = _detail_mask(sig, cfg)
    n = max(1, int(round(0.3 * sig.fps)))
    last = np.arange(len(sig))[-n:]
    last = last[detail[last]]
    if not len(last):
        return []
    t1 = float(sig.times[-1])

    def level(name: str, dev: bool = True) -> float:
        v = (sig.deviation(name) if dev else sig[name])[last]
        return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")

    out = []
    eye = level("eye_open")
    if eye >= cfg.eye_deg:
        out.append(Event("eyes_stay_wide", t1, t1, eye, "eyes"))
    elif level("eye_open", dev=False) < cfg.eyes_closed_below:
        out.append(Event("eyes_stay_closed", t1, t1, abs(eye), "eyes"))
    elif eye <= -cfg.eye_deg:
        out.append(Event("eyes_stay_narrow", t1, t1, abs(eye), "eyes"))
    brow = level("brow_height")
    if brow >= cfg.brow_raise:
        out.append(Event("brows_stay_raised", t1, t1, brow, "brows"))
    elif level("brow_inner") <= -cfg.brow_furrow:
        out.append(Event("brows_stay_furrowed", t1, t1, abs(level("brow_inner")), "brows"))
    gap = level("mouth_open", dev=False)
    if gap >= cfg.mouth_open_above:
        out.append(Event("mouth_stays_open", t1, t1, gap, "mouth"))
    lift = level("corner_lift")
    if lift >= cfg.smile_lift and level("mouth_width") >= 0:
        out.append(Event("smile_stays", t1, t1, lift, "mouth"))
    return out
