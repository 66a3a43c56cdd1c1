"""Events from the mesh, iris and pixel signals of :mod:`.mesh_signals`.

Gaze, half-open eyes, lower-lid tightening, teeth, lip press and stretch, chin raise, cheek raise,
nose wrinkle, and head shakes and sways (from the pose signals every track has). Like
:mod:`.events`, every event is a measured change (a swing of one signal past its threshold, see
:mod:`.swings`) or a measured state; thresholds live in :class:`~dfec.dynamics.config.DynamicsConfig`
and are raised per video to ``noise_k`` times each signal's noise
(:func:`~dfec.dynamics.config.effective_thresholds`). Without a mesh only the head shakes and
sways are found.

Gaze directions: ``gaze_h`` > 0 is towards the image right, which is the person's own left
(``DynamicsConfig.left_right`` = "subject", FEC-Bench's convention).
"""
from __future__ import annotations

import numpy as np

from ..schema import Event
from .config import DynamicsConfig
from .signals import FaceSignals
from .swings import frame_at, label_returns, swings


def _has(sig: FaceSignals, name: str, detail: np.ndarray) -> bool:
    return name in sig.values and int(np.isfinite(np.where(detail, sig.values[name], np.nan)).sum()) >= 3


def _sides(cfg: DynamicsConfig) -> tuple[str, str]:
    """(word for towards the image right, word for towards the image left)."""
    return ("right", "left") if cfg.left_right == "viewer" else ("left", "right")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end] index pairs of the True runs of ``mask``."""
    out, i, n = [], 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j + 1 < n and mask[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


def gaze_events(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray, blink_mask: np.ndarray) -> list[Event]:
    """Eye movements relative to the head: a swing of ``gaze_h`` of at least ``gaze_deg`` / of
    ``gaze_v`` of at least ``gaze_v_deg`` (each floored by its own signal's noise; blinks masked
    out, the iris model drops its estimate when the lid closes) is
    "looks to the left/right" / "looks up/down"; a swing back to within ``gaze_ahead_deg`` of the
    middle of the eye opening is "looks ahead again". A swing during which the lids open or
    narrow by ``gaze_max_lid_change`` or more is not read (the iris centre moves with the lids),
    except a vertical one the upper lid follows (:func:`_lids_moved_the_iris`), nor is one that
    each eye alone does not make (:func:`_both_eyes_turn`)."""
    out: list[Event] = []
    if not _has(sig, "gaze_h", detail):
        return out
    t = sig.times
    right, left = _sides(cfg)
    keep = detail & ~blink_mask
    for name, pos, neg, th in (("gaze_h", f"gaze_{right}", f"gaze_{left}", cfg.gaze_deg),
                               ("gaze_v", "gaze_up", "gaze_down", cfg.gaze_v_deg)):
        x = np.where(keep, sig.deviation(name), np.nan)
        whole = sig.values.get(name)
        for s in swings(x, t, th, name):
            if _lids_moved_the_iris(sig, cfg, name, s):
                continue  # the lids moved over the iris: its fitted centre shifts with them
            if not _both_eyes_turn(sig, cfg, name, s, th):
                continue  # one eye's iris fit moved, not the eyes
            # "ahead again" from the absolute eye-in-head angle (0 = the middle of the eye opening),
            # not from the deviation, whose neutral frame may itself look aside
            end_total = whole[s.i1] if whole is not None else np.nan
            start_total = whole[s.i0] if whole is not None else np.nan
            if np.isfinite(end_total) and abs(end_total) <= cfg.gaze_ahead_deg and abs(end_total) < abs(start_total):
                kind = "gaze_ahead"
            else:
                kind = pos if s.amplitude > 0 else neg
            out.append(Event(kind, s.t0, s.t1, abs(s.amplitude), "gaze", change_at=s.t_half))
    # "looks ahead again" from both axes at once is one event
    out.sort(key=lambda e: e.start)
    merged: list[Event] = []
    for e in out:
        if merged and e.kind == merged[-1].kind and e.start <= merged[-1].end + 0.2:
            merged[-1].end = max(merged[-1].end, e.end)
            merged[-1].intensity = max(merged[-1].intensity, e.intensity)
            continue
        merged.append(e)
    return merged


def _both_eyes_turn(sig: FaceSignals, cfg: DynamicsConfig, name: str, s, th: float) -> bool:
    """Whether each eye alone (``name`` + "_left" / "_right", :mod:`.mesh_signals`) moves the way
    of the swing ``s`` by at least ``gaze_eye_share`` of the threshold ``th`` in force between
    its pivots. The eyes turn together (conjugate movement; vergence is small at a camera's
    distance), so a real swing shows in both; an iris fitted to a smeared or half-hidden eye
    drifts in that eye alone (dev clip 3358 at CRF 40: the image-left eye's iris, unresolved by
    eye, swung +45 and back -49 degrees while the other eye moved -3 and +3). True where the
    per-eye signals are missing (an old track) or an eye was not read at both pivots."""
    if cfg.gaze_eye_share <= 0:
        return True
    need = cfg.gaze_eye_share * th
    for side in ("left", "right"):
        x = sig.values.get(f"{name}_{side}")
        if x is None or not (np.isfinite(x[s.i0]) and np.isfinite(x[s.i1])):
            continue
        if float(x[s.i1] - x[s.i0]) * np.sign(s.amplitude) < need:
            return False
    return True


def _lids_moved_the_iris(sig: FaceSignals, cfg: DynamicsConfig, name: str, s) -> bool:
    """Whether the gaze swing ``s`` of ``name`` ("gaze_h" / "gaze_v") is the lids moving over the
    iris rather than the eye turning: the lid aperture moves by ``gaze_max_lid_change`` (iris
    diameters) or more during it (its range between the swing's pivots, counted below
    ``gaze_lids_clear``, where the lids cover part of the iris). A horizontal eye movement does
    not move the lids, so there any such change counts (dev clip s32: both swings it drops are a smile's squint, checked by eye).
    The upper lid follows a vertical one (looking down lowers it, looking up raises it), so with
    ``gaze_lid_follows_vertical`` a vertical swing counts only when the lids move against it (they
    narrow as the iris rises, or open as it falls) or it is a squint: the lower lids rise by
    ``lid_tighten`` (relative, the lower-lid tightening threshold) or the cheeks by
    ``cheek_raise`` at any point of it (:func:`_fall`)."""
    ap = sig.values.get("aperture")
    if ap is None or cfg.gaze_max_lid_change <= 0 or not (np.isfinite(ap[s.i0]) and np.isfinite(ap[s.i1])):
        return False
    change = float(ap[s.i1] - ap[s.i0])
    # how far the lids moved over the iris at any time during the swing, not only between its
    # ends: lids that narrow over the iris and open again shift its fitted centre while they move
    # (dev clip s32 at 5.1-5.6 s, a smile's squint: the aperture fell 0.87 -> 0.62 and rose again;
    # read between the pivots it changed by 0.20 on the clip, by 0.11 and 0.03 re-encoded darker
    # or at CRF 40, where the same squint became "looks to the left"). Lids above
    # ``gaze_lids_clear`` leave the iris's outline uncovered: their movement there does not move
    # its fit (WolfgangLanger's eyes widening 0.78 -> 0.90 as she looks to her left, by eye)
    span = np.minimum(ap[s.i0: s.i1 + 1], cfg.gaze_lids_clear)
    moved = float(np.nanmax(span) - np.nanmin(span))
    if moved < cfg.gaze_max_lid_change:
        return False
    if name != "gaze_v" or not cfg.gaze_lid_follows_vertical:
        return True
    if abs(change) < cfg.gaze_max_lid_change:
        return True  # the lids moved and came back: not following one monotonic eye movement
    if change * s.amplitude < 0:
        return True  # the lids move against the eye: not the upper lid following it
    for signal, rise in (("lower_lid", cfg.lid_tighten), ("cheek", cfg.cheek_raise)):
        if signal in sig.values and _fall(sig.deviation(signal), s.i0, s.i1) >= rise:
            return True  # a squint: lower lids or cheeks rise
    return False


def gaze_state(sig: FaceSignals, cfg: DynamicsConfig, idx: np.ndarray) -> str | None:
    """Where the eyes point in the head over the frames ``idx``: "ahead" when the iris sits within
    ``gaze_ahead_deg`` of the middle of the eye opening both ways (what an annotator reads as
    "looking ahead", whatever the head's pose), else "down", "up" or the side; None when not
    measured."""
    if "gaze_h" not in sig.values:
        return None
    gh, gv = sig["gaze_h"][idx], sig["gaze_v"][idx]
    if not (np.isfinite(gh).any() and np.isfinite(gv).any()):
        return None
    gh, gv = float(np.nanmedian(gh)), float(np.nanmedian(gv))
    right, left = _sides(cfg)
    if abs(gh) <= cfg.gaze_ahead_deg and abs(gv) <= 1.5 * cfg.gaze_ahead_deg:
        return "ahead"  # vertically looser: where the iris sits between the corners varies by face
    if abs(gv) > abs(gh):
        return "up" if gv > 0 else "down"
    return right if gh > 0 else left


def downcast(sig: FaceSignals, cfg: DynamicsConfig, idx: np.ndarray) -> bool:
    """Whether the eyes look down over the frames ``idx``, read from three cues together: the
    iris at most ``gaze_down_deg`` above the eye-corner line (``gaze_v``; eyes looking ahead sit
    well above it), the upper lids lowered (``aperture`` below ``half_open_below``) and the head
    pitched down by at least ``gaze_down_pitch_deg``. Looking down moves the iris little in the
    image (it turns away from the camera, under the lowered lids), so the iris alone reads
    "ahead" (dev clips 2422 and 4251, checked by eye: downcast eyes under a lowered head); eyes
    closed or half-open under a level or raised head (WolfgangLanger, nggyup) are not downcast."""
    need = ("gaze_v", "aperture", "pitch")
    if not all(n in sig.values and np.isfinite(sig.values[n][idx]).any() for n in need):
        return False
    gv = float(np.nanmedian(sig["gaze_v"][idx]))
    ap = float(np.nanmedian(sig["aperture"][idx]))
    pitch = float(np.nanmedian(sig["pitch"][idx]))
    return gv <= cfg.gaze_down_deg and ap < cfg.half_open_below and pitch <= -cfg.gaze_down_pitch_deg


def lid_events(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray, blink_mask: np.ndarray) -> list[Event]:
    """Lower-lid tightening: a fall of ``lower_lid`` (relative) of at least ``lid_tighten``, blinks
    masked out, not when the head rotates faster than ``lid_change_max_turn_rate`` over the half
    second where its change happens (:func:`turn_rate_at`; a nod or turn moves the lower lids
    against the eye corners in the image: they sit in front of them). Not the average over the
    swing's span (``shape_max_turn_rate``, as the other shape changes): the span's ends move
    with the blinks masked and with the video's noise, and so did that average (dev
    WolfgangLanger's squeezed eyes at 0-1.7 s: 7.5 deg/s on the clip, 13 on its darkened copy,
    whose swing began later; skarsgard's fall at 0.4-1.7 s: 6 on the clip, 13 at half size),
    while around the change it reads 12-13 and 27-49 on every version. A fall
    that follows a rise of the lids (the way back from it) is a tightening only when it ends at
    least ``lid_tighten`` tighter than where that rise began (:func:`_net_of_return`). (Lid
    aperture swings, half-open eyes included, are read in
    :func:`dfec.dynamics.events.detect_events` with the other eye swings.)"""
    out: list[Event] = []
    if _has(sig, "lower_lid", detail):
        x = np.where(detail & ~blink_mask, sig.deviation("lower_lid"), np.nan)
        th = cfg.lid_tighten
        sw = swings(x, sig.times, th, "lower_lid")
        backs = label_returns(sw, th, cfg.return_fraction)
        for k, (s, back) in enumerate(zip(sw, backs)):
            if s.amplitude >= 0 or back or _net_of_return(sw, backs, k) > -th:
                continue
            if cfg.lid_change_max_turn_rate > 0 and turn_rate_at(sig, s.t_half) > cfg.lid_change_max_turn_rate:
                continue  # the change comes with a fast turn: the lids' image moves with the head
            out.append(Event("lids_tighten", s.t0, s.t1, abs(s.amplitude), "eyes", change_at=s.t_half))
    return out


def _net_of_return(sw: list, backs: list[bool], k: int) -> float:
    """The change swing ``sw[k]`` makes beyond the start of the swing before it when that one went
    the other way and was no return itself (``backs``; as :func:`~.swings.label_returns` pairs
    them): ``sw[k]`` is first the way back from it, and only what lies past its start is a new
    movement. Otherwise its whole amplitude. Why: dev clip 3358 (by eye, the lower lids do not
    move): the lower lids sink by 0.18 of their depth while she speaks, then come back up by 0.28
    after it, past their start by 0.10 only, and "her eyes narrow" was said; on its CRF 18 copy
    the same way back ended 0.09 from the start and was a return (not said)."""
    s = sw[k]
    if k == 0 or backs[k - 1]:
        return s.amplitude
    prev = sw[k - 1]
    if prev.amplitude * s.amplitude >= 0:
        return s.amplitude
    return s.end_value - prev.start_value


def turn_rate_at(sig: FaceSignals, t: float | None, half: float = 0.25) -> float:
    """:func:`turn_rate` over the ``half`` s either side of ``t`` (a swing's half-amplitude time,
    where its change happens); 0 for None. A swing's own span may hold a long still stretch
    that dilutes a fast turn at the moment of the change (dev skarsgard 0.4-1.7 s: the lower
    lids' fall comes at 1.5-1.7 s, as the head starts a 20-degree turn at 50 degrees a second;
    over the whole swing 6 degrees a second, over its change 27)."""
    if t is None:
        return 0.0
    return turn_rate(sig, t - half, t + half)


def teeth_events(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> list[Event]:
    """Teeth showing: runs of at least ``teeth_min_s`` where ``teeth`` (teeth-coloured area, % of
    the squared face scale) is at least ``teeth_show``; runs closer than 0.5 s are one. A run from
    the first frame is a state (said with the beginning), and so is a first run whose teeth were
    seen from the first frames on (:func:`_teeth_from_start`); later ones are events."""
    if not _has(sig, "teeth", detail):
        return []
    x = np.where(detail, sig["teeth"], np.nan)
    on = np.nan_to_num(x, nan=0.0) >= cfg.teeth_show
    runs = _runs(on)
    gap = int(round(0.5 * sig.fps))
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] <= gap:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    out = []
    min_n = max(1, int(round(cfg.teeth_min_s * sig.fps)))
    for a, b in merged:
        if on[a:b + 1].sum() < min_n:
            continue
        level = float(np.nanmax(x[a:b + 1]))
        start = a == 0 or (not out and _teeth_from_start(sig, cfg, x, a))
        out.append(Event("teeth_are_visible" if start else "teeth_show",
                         float(sig.times[0 if start else a]), float(sig.times[b]), level, "mouth"))
    return out


def _teeth_from_start(sig: FaceSignals, cfg: DynamicsConfig, x: np.ndarray, a: int) -> bool:
    """Whether the first teeth run, starting at frame ``a``, shows teeth seen from the first frame:
    the teeth area (``x``, NaN off the measured frames) never falls below ``teeth_start_frac`` x
    ``teeth_show`` before it, measured from the first 0.2 s on."""
    if cfg.teeth_start_frac <= 0:
        return False
    seen = np.flatnonzero(np.isfinite(x[:a + 1]))
    if not len(seen) or seen[0] > max(1, int(round(0.2 * sig.fps))):
        return False
    return bool(np.min(x[seen]) >= cfg.teeth_start_frac * cfg.teeth_show)


def _closed(sig: FaceSignals, i: int, cfg: DynamicsConfig) -> bool:
    gap = sig.values.get("lip_gap", sig.values.get("mouth_open"))
    return gap is not None and np.isfinite(gap[i]) and gap[i] < cfg.mouth_closed_below


def turn_rate(sig: FaceSignals, t0: float, t1: float) -> float:
    """How fast the head rotates from ``t0`` to ``t1`` (a change's onset and offset, seconds): the
    largest range of yaw, pitch or roll there (degrees) over the duration (at least 0.5 s); 0
    without pose signals."""
    i0 = int(np.searchsorted(sig.times, t0, side="left"))
    i1 = max(i0, min(int(np.searchsorted(sig.times, t1, side="right")) - 1, len(sig.times) - 1))
    rng = 0.0
    for name in ("yaw", "pitch", "roll"):
        x = sig.values.get(name)
        if x is not None and np.isfinite(x[i0:i1 + 1]).any():
            rng = max(rng, float(np.nanmax(x[i0:i1 + 1]) - np.nanmin(x[i0:i1 + 1])))
    return rng / max(float(sig.times[i1] - sig.times[i0]), 0.5)


def _fall(x: np.ndarray, i0: int, i1: int) -> float:
    """How far ``x`` falls from ``x[i0]`` to its lowest point in ``i0..i1`` (0 when it does not)."""
    seg = x[i0:i1 + 1]
    return max(0.0, float(x[i0] - np.nanmin(seg))) if np.isfinite(x[i0]) and np.isfinite(seg).any() else 0.0


def shape_events(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray, in_speech) -> list[Event]:
    """Lip press (``lip_thick`` falls by ``lip_press`` with the mouth closed), lip stretch
    (``mouth_w`` widens by ``lips_stretch`` without the corners lifting), chin raise (``chin``
    shortens by ``chin_raise`` with the mouth closed), cheek raise (``cheek`` falls by
    ``cheek_raise``), nose wrinkle (``nose`` falls by ``nose_wrinkle``, at least
    ``nose_over_cheek`` times the cheeks' fall: a smile lifts both). Changes during speech are left
    out (speech moves all of these), and so are changes while the head rotates faster than
    ``shape_max_turn_rate`` (:func:`turn_rate`; the mesh's depth is unreliable then)."""
    out: list[Event] = []
    t = sig.times
    cheek = sig.deviation("cheek") if "cheek" in sig.values else None

    def falls(name: str, th: float, kind: str, region: str, need_closed: bool = False) -> None:
        if not _has(sig, name, detail):
            return
        x = np.where(detail, sig.deviation(name), np.nan)
        sw = swings(x, t, th, name)
        for s, back in zip(sw, label_returns(sw, th, cfg.return_fraction)):
            if s.amplitude >= 0 or back or in_speech(s.t0, s.t1):
                continue
            if need_closed and not _closed(sig, s.i1, cfg):
                continue
            if turn_rate(sig, s.t0, s.t1) > cfg.shape_max_turn_rate:
                continue
            if kind == "nose_wrinkle" and cheek is not None and abs(s.amplitude) < cfg.nose_over_cheek * _fall(cheek, s.i0, s.i1):
                continue
            out.append(Event(kind, s.t0, s.t1, abs(s.amplitude), region, change_at=s.t_half))

    falls("lip_thick", cfg.lip_press, "lips_press", "mouth", need_closed=True)
    falls("chin", cfg.chin_raise, "chin_raise", "mouth", need_closed=True)
    falls("cheek", cfg.cheek_raise, "cheeks_raise", "cheeks")
    falls("nose", cfg.nose_wrinkle, "nose_wrinkle", "nose")
    if _has(sig, "mouth_w", detail):
        x = np.where(detail, sig.deviation("mouth_w"), np.nan)
        lift = sig.deviation("corner_lift")
        for s in swings(x, t, cfg.lips_stretch, "mouth_w"):
            if s.amplitude <= 0 or in_speech(s.t0, s.t1) or s.end_value < cfg.lips_stretch:
                continue
            if turn_rate(sig, s.t0, s.t1) > cfg.shape_max_turn_rate:
                continue
            if np.isfinite(lift[s.i1]) and lift[s.i1] >= 0.5 * cfg.smile_lift:
                continue  # the corners go up too: a smile, reported by the smile detector
            out.append(Event("lips_stretch", s.t0, s.t1, abs(s.amplitude), "mouth", change_at=s.t_half))
    return out


def closure_events(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> list[Event]:
    """The lips meeting and parting again, from the 3-D inner-lip gap (hysteresis): "their mouth
    closes" (``lips_meet``) where ``lip_gap`` falls from open (>= ``mouth_closed_below``) to closed (below
    ``lip_closed_fraction`` of it) and stays closed for at least ``lip_closed_min_s``; "their
    mouth opens again" (``lips_part``) where it then returns to open. Catches the pauses inside speech that the
    68-point mouth opening (a deviation from the neutral frame) is too coarse for."""
    if not _has(sig, "lip_gap", detail) or cfg.lip_closed_min_s <= 0:
        return []
    g = np.where(detail, sig["lip_gap"], np.nan)
    t = sig.times
    closed = g < cfg.lip_closed_fraction * cfg.mouth_closed_below
    opened = g >= cfg.mouth_closed_below
    out: list[Event] = []
    last_open = None
    i, n = 0, len(g)
    while i < n:
        if opened[i]:
            last_open = i
            i += 1
            continue
        if not closed[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and not opened[j + 1] and np.isfinite(g[j + 1]):
            j += 1
        run = np.flatnonzero(closed[i: j + 1]) + i
        if last_open is not None and t[run[-1]] - t[i] >= cfg.lip_closed_min_s:
            amp = float(np.nanmax(g[last_open: i + 1]) - np.nanmin(g[i: j + 1]))
            out.append(Event("lips_meet", float(t[last_open]), float(t[i]), amp, "mouth"))
            if j + 1 < n and opened[j + 1]:
                out.append(Event("lips_part", float(t[run[-1]]), float(t[j + 1]), amp, "mouth"))
        i = j + 1
    return out


def oscillation_events(sig: FaceSignals, cfg: DynamicsConfig, cuts: np.ndarray | None = None
                       ) -> tuple[list[Event], list[tuple[float, float]]]:
    """Head shakes (yaw) and sways (roll): at least ``shake_min_swings`` alternating swings of at
    least ``shake_fraction`` of the turn / tilt threshold, each lasting at most
    ``shake_max_swing_s`` (a shake, quick) or ``sway_max_swing_s`` (a sway, a slower rocking) and
    starting within ``shake_max_gap_s`` of the last one's end. A shot cut
    (:func:`~dfec.dynamics.headpose.shot_cuts`; ``cuts``: their times, when already known) ends
    the swings on either side of it (:func:`_cut_apart`: the pose's jump between two shots is no
    movement, the movement up to the cut is), so no chain runs across one. A swing too slow
    breaks a chain, and so does one that is the side component of a larger rotation about the
    other axis (:func:`_secondary`: a head turned towards profile rolls in the image, dev clip 669).

    A shake and a sway that overlap in time are one movement, the head rocking with both turn and
    tilt (dev clip nggyup, by eye: singing, the head rocks side to side, yaw and roll swinging
    together): one event over both spans, named by the axis that moves more against its own
    threshold (yaw over ``yaw_deg``, roll over ``roll_deg``).

    Returns the events and the time spans they cover, turning point to turning point (the single
    turns, tilts and nods inside them are not reported again)."""
    from .headpose import shot_cuts, spans_cut

    t = sig.times
    cuts = shot_cuts(sig, cfg) if cuts is None else cuts
    axes = (("yaw", cfg.yaw_deg, "head_shake", cfg.shake_max_swing_s),
            ("roll", cfg.roll_deg, "head_sway", cfg.sway_max_swing_s))
    found = {name: swings(_cut_apart(sig.deviation(name), t, cuts, sig.fps), t, cfg.shake_fraction * th, name)
             for name, th, *_ in axes if name in sig.values}
    chains = []  # (event, first turning point, last turning point, strength: amplitude / threshold)
    for name, th, kind, longest in axes:
        if name not in found:
            continue
        other = found.get("roll" if name == "yaw" else "yaw", [])
        sw = [s for s in found[name] if t[s.i1] - t[s.i0] <= longest and not spans_cut(s.t0, s.t1, cuts, sig)
              and not _secondary(s, other, cfg.head_secondary_ratio)]
        k = 0
        while k < len(sw):
            j = k
            while (j + 1 < len(sw) and sw[j + 1].amplitude * sw[j].amplitude < 0
                   and t[sw[j + 1].i0] - t[sw[j].i1] <= cfg.shake_max_gap_s
                   and not np.any((cuts > t[sw[j].i1]) & (cuts < t[sw[j + 1].i0]))):
                j += 1
            if j - k + 1 >= cfg.shake_min_swings:
                amp = max(abs(s.amplitude) for s in sw[k:j + 1])
                chains.append((Event(kind, sw[k].t0, sw[j].t1, amp, "head"), float(t[sw[k].i0]), float(t[sw[j].i1]),
                               amp / th if th > 0 else 0.0))
            k = j + 1
    out, spans = [], []
    # one movement: chains of both axes that overlap in time (transitively) become one event
    chains.sort(key=lambda c: c[1])
    groups: list[list] = []
    for c in chains:
        if groups and c[1] < max(g[2] for g in groups[-1]):
            groups[-1].append(c)
        else:
            groups.append([c])
    for g in groups:
        e = max(g, key=lambda c: c[3])[0]
        e.start, e.end = min(c[0].start for c in g), max(c[0].end for c in g)
        out.append(e)
        spans.append((min(c[1] for c in g), max(c[2] for c in g)))
    return out, spans


def _cut_apart(x: np.ndarray, t: np.ndarray, cuts: np.ndarray, fps: float) -> np.ndarray:
    """``x`` with the frames within one frame of a shot cut blanked (NaN), so that its swings end
    at the cut on either side instead of running across the pose's jump between the two shots
    (the smoothed signals spread the jump over the neighbouring frames, as in
    :func:`~dfec.dynamics.headpose.spans_cut`). Dev clip nggyup, by eye: the head rocks side to
    side through the wide shot up to the cut at 3.1 s; the roll swing back to upright before the
    cut ran on into the next shot and was dropped with the jump, so the rocking had two swings."""
    if not len(cuts):
        return x
    pad = 1.0 / max(fps, 1e-6)
    near = np.any(np.abs(np.asarray(t, float)[:, None] - np.asarray(cuts, float)[None, :]) <= pad, axis=1)
    return np.where(near, np.nan, x)


def _secondary(s, other: list, ratio: float) -> bool:
    """Whether the swing ``s`` is the side component of a larger rotation about the other axis: a
    swing of ``other`` at least ``1 / ratio`` times as large (degrees) is under way (its 10-90 %
    span) at ``s``'s half-amplitude time; the rule :func:`dfec.dynamics.events._drop_secondary_axis`
    applies to single turns and tilts (``head_secondary_ratio``; 0: off)."""
    if ratio <= 0:
        return False
    at = s.t0 if s.t_half is None else s.t_half
    return any(abs(s.amplitude) <= ratio * abs(o.amplitude) and o.t0 <= at <= o.t1 for o in other)


def mesh_initial_state(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray,
                       frames: np.ndarray | None = None) -> list[Event]:
    """States on the first 0.3 s that the mesh measures: where the eyes look (``gaze_state``;
    "down" wherever :func:`downcast` holds) and
    whether they are narrowed (``aperture`` below ``squint_aperture`` with the lower lids raised,
    :func:`squinting`, and not downcast) or else half-open (below ``half_open_below``).
    ``frames``: the frames to read (default the first 0.3 s).

    A squint narrows the eye from below (the lower lids rise, FACS AU7), half-open eyes are the
    upper lids lowered: the lower lids tell them apart, not the aperture's 0.55 line, which a
    squint's aperture straddles (dev clips 5854 and nggyup, narrowed by eye with raised lower
    lids: 0.545 and 0.499 on the clips, 0.56-0.67 on their re-encoded, mirrored, darkened copies,
    said "half-open" on some and "narrowed" or "open" on others). Downcast eyes (the upper lids
    follow the iris down, :func:`downcast`) stay half-open."""
    n = max(1, int(round(0.3 * sig.fps)))
    idx = np.arange(len(sig))[:n] if frames is None else np.asarray(frames, int)
    idx = idx[detail[idx]]
    if not len(idx):
        return []
    t0 = float(sig.times[0])
    out = []
    state = gaze_state(sig, cfg, idx)
    down = downcast(sig, cfg, idx)
    if state is not None and down:
        state = "down"
    if state is not None:
        out.append(Event(f"gaze_is_{state}", t0, t0, 1.0, "gaze"))
    if "aperture" in sig.values and np.isfinite(sig["aperture"][idx]).any():
        ap = float(np.nanmedian(sig["aperture"][idx]))
        if cfg.closed_below <= ap < cfg.squint_aperture and not down and squinting(sig, cfg, idx):
            out.append(Event("eyes_are_narrowed", t0, t0, ap, "eyes"))
        elif cfg.closed_below <= ap < cfg.half_open_below:
            out.append(Event("eyes_are_half_open", t0, t0, ap, "eyes"))
    return out


def squinting(sig: FaceSignals, cfg: DynamicsConfig, idx: np.ndarray) -> bool:
    """Whether the lower lids are raised over the frames ``idx`` (a squint, FACS AU7): their depth
    below the eye-corner line (``lower_lid``, an image-plane offset over the face scale, divided by
    cos(pitch) for a nodding head) is below ``squint_lower_lid``. An absolute reading, for a
    narrowing held from the first frame, which the clip's own neutral frame cannot show. On the 13
    dev clips (FaceMesh, first 0.3 s): 0.015-0.024 with the eyes narrowed or half-open by eye (5854,
    s32, nggyup), 0.027-0.044 on the ten others (open eyes, downcast eyes, closed eyes); the
    synthetic face's lids (0.056) are no norm for FaceMesh's."""
    if cfg.squint_lower_lid <= 0 or "lower_lid" not in sig.values:
        return False
    ll = sig["lower_lid"][idx]
    if not np.isfinite(ll).any():
        return False
    pitch = sig["pitch"][idx] if "pitch" in sig.values else np.array([np.nan])
    p = float(np.nanmedian(pitch)) if np.isfinite(pitch).any() else 0.0
    return float(np.nanmedian(ll)) / max(np.cos(np.radians(p)), 0.5) < cfg.squint_lower_lid


def forehead_events(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> list[Event]:
    """Forehead wrinkling (FACS AU1+2, often with AU4): a rise of ``forehead`` (the forehead's
    horizontal-line contrast, log; :func:`~.mesh_signals.forehead_lines`) of at least
    ``forehead_wrinkle`` over which the horizontal lines rise by at least ``forehead_orient`` more
    than the vertical ones (``forehead_v``: a sharper frame, hair or background entering the
    patch raise both), at least ``forehead_turning`` while the head rotates faster than
    ``shape_max_turn_rate`` (the light on the forehead changes with its angle), with the cheeks'
    skin texture (``skin``, :func:`_skin_rise`) rising by at most ``forehead_skin_share`` of it
    (a codec that sharpens the whole face), and not back to neutral (the smoothing of a wrinkle
    already there). The mesh's points do not fold with the skin: the wrinkles are read from the
    frames (measured only where the patch is at least ``FOREHEAD_MIN_PX`` high, in the frame and
    free of the codec's blocks)."""
    if not (_has(sig, "forehead", detail) and "forehead_v" in sig.values):
        return []
    out: list[Event] = []
    x = np.where(detail, sig.deviation("forehead"), np.nan)
    orient = sig["forehead"] - sig["forehead_v"]
    skin = sig["skin"] if "skin" in sig.values and np.isfinite(sig["skin"]).any() else None
    sw = swings(x, sig.times, cfg.forehead_wrinkle, "forehead")
    for s, back in zip(sw, label_returns(sw, cfg.forehead_wrinkle, cfg.return_fraction)):
        if s.amplitude <= 0 or back:
            continue
        if not orient[s.i1] - orient[s.i0] >= cfg.forehead_orient:
            continue
        if turn_rate(sig, s.t0, s.t1) > cfg.shape_max_turn_rate and s.amplitude < cfg.forehead_turning:
            continue
        if skin is not None and _skin_rise(skin, s.i0, s.i1, sig.fps) > cfg.forehead_skin_share * s.amplitude:
            continue
        out.append(Event("forehead_wrinkle", s.t0, s.t1, abs(s.amplitude), "forehead", change_at=s.t_half))
    return out


def _skin_rise(skin: np.ndarray, i0: int, i1: int, fps: float) -> float:
    """How much the cheeks' skin texture rose over a forehead swing ``i0`` -> ``i1``: the medians
    of about 0.3 s (5 frames at 16 fps) around each end, not one smoothed sample each, which can
    sit on a local peak of the skin (Hamilton's real wrinkle at 3.6-4.1 s: 0.142 of the forehead's
    rise from single samples, 0.11 from the medians, against the 0.2 cap; dev s32 at CRF 40: 0.30
    and 0.32); 0 when an end has no skin measure (the forehead then decides alone)."""
    h = max(1, int(round(0.15 * fps)))
    a, b = skin[max(0, i0 - h):i0 + h + 1], skin[max(0, i1 - h):i1 + h + 1]
    if not (np.isfinite(a).any() and np.isfinite(b).any()):
        return 0.0
    return float(np.nanmedian(b) - np.nanmedian(a))


def mesh_events(sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray, blink_mask: np.ndarray,
                in_speech, eye_detail: np.ndarray | None = None) -> list[Event]:
    """All mesh-based change events of one track (states: :func:`mesh_initial_state`);
    ``eye_detail`` marks the frames where the eyes can be read (default ``detail``)."""
    eyes = detail if eye_detail is None else eye_detail
    return (gaze_events(sig, cfg, eyes, blink_mask) + lid_events(sig, cfg, eyes, blink_mask)
            + teeth_events(sig, cfg, detail) + shape_events(sig, cfg, detail, in_speech)
            + forehead_events(sig, cfg, detail))


def jaw_confirms(sig: FaceSignals, cfg: DynamicsConfig, events: list[Event]) -> set[int]:
    """The ids of the mouth openings of ``events`` (``mouth_open``) that the jaw's own movement
    corroborates: over the opening the mesh's nose-tip-to-chin length (``jaw``, relative to its
    neutral value) grows by at least ``jaw_drop`` (``cfg``: the thresholds in force, noise floor
    included): the jaw drops (FACS AU26), where lips parting with the jaw still (AU25) move it by
    less. Such an opening is two measurements of one movement (the lips' gap, the chin's distance
    from the nose), said from ``jaw_pair_strength`` instead of ``min_strength``
    (:func:`dfec.dynamics.ranking.select_changes`). The RAVDESS surprise (by eye: the lips round
    and the mouth opens at 2.7-3.6 s, the jaw lowering with it; its reference by eye says "his
    mouth opens"): the gap's swing, 1.46 times its threshold, was measured and not said; the jaw
    grows by 0.055 over it. Closings are left out: the length also shrinks when the chin raises
    (AU17) over closed, pressed lips (dev WolfgangLanger 1.2-2.6 s, by eye: -0.085, the lips
    already closed). Not while the head rotates faster than ``shape_max_turn_rate``
    (:func:`turn_rate`; the mesh's depth is unreliable then, as for :func:`shape_events`:
    no-split dirtydancing's head lifts and lowers of 15-40 degrees move it by 0.09-0.25).
    Empty without a mesh."""
    if "jaw" not in sig.values or cfg.jaw_drop <= 0:
        return set()
    jd = sig.deviation("jaw")
    t = sig.times
    out = set()
    for e in events:
        if e.kind != "mouth_open":
            continue
        i0, i1 = frame_at(t, e.start), frame_at(t, e.end)
        if not (np.isfinite(jd[i0]) and np.isfinite(jd[i1])):
            continue
        if float(jd[i1] - jd[i0]) >= cfg.jaw_drop and turn_rate(sig, e.start, e.end) <= cfg.shape_max_turn_rate:
            out.add(id(e))
    return out


def add_closures(events: list[Event], sig: FaceSignals, cfg: DynamicsConfig, detail: np.ndarray) -> list[Event]:
    """``events`` plus the lip closures / re-openings of :func:`closure_events` that no mouth
    opening or closing already found covers (within 0.3 s)."""
    mouth = [e for e in events if e.kind in ("mouth_open", "mouth_close")]
    same = {"lips_meet": "mouth_close", "lips_part": "mouth_open"}
    extra = [c for c in closure_events(sig, cfg, detail)
             if not any(m.kind == same[c.kind] and m.start - 0.3 <= c.end and c.start <= m.end + 0.3 for m in mouth)]
    return events + extra
