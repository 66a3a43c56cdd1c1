"""The face's state at the start and at the end of a clip (FEC-Bench captions open with it: "At the
beginning of the video, their head is turned to the left, their eyes are open, looking straight
ahead, and their mouth is closed"): head pose, brows against the clip's own neutral frame, eyes,
gaze and mouth, from the first / last frames where the face is measured."""
from __future__ import annotations

import numpy as np

from ..schema import Event
from .config import DynamicsConfig, effective_thresholds
from .events import _detail_mask
from .mesh_events import mesh_initial_state
from .signals import NORMALISATION, FaceSignals


def outside_blinks(sig: FaceSignals, n: int, blinks: list[tuple[float, float]] | None, last: bool = False) -> np.ndarray:
    """The first (``last``: last) ``n`` frames of the track outside the ``blinks`` (start, end) spans,
    one frame of slack either side: a state is the face's, not a blink's (review 4: a blink the clip
    cut at its first frames made "their eyes are closed ... Then the person blinks")."""
    idx = np.arange(len(sig))
    if blinks:
        pad = 1.0 / max(sig.fps, 1e-6)
        t = np.asarray(sig.times, float)
        inside = np.zeros(len(sig), bool)
        for a, b in blinks:
            inside |= (t >= a - pad) & (t <= b + pad)
        if (~inside).any():
            idx = idx[~inside]
    return idx[-n:] if last else idx[:n]


def initial_state(sig: FaceSignals | None, config: DynamicsConfig | None = None,
                  blinks: list[tuple[float, float]] | None = None) -> list[Event]:
    """The measured state of the eyes and mouth on the first frames of the track (first 0.2 s; the
    eyes, brows and mouth on the first such frames outside the ``blinks`` spans)."""
    cfg = config or DynamicsConfig()
    if sig is None or len(sig) == 0:
        return []
    detail = _detail_mask(sig, cfg)
    n = max(1, int(round(0.2 * sig.fps)))
    first = np.arange(len(sig))[:n]
    # the head's pose is measured on every tracked frame, however small the face (head events
    # are read there too): a pose held at the start is said even when the eyes and mouth are too
    # small to read, so a later "turns back to the center" has its starting turn
    head = head_state(sig, cfg, first)
    pose = _main_pose(head, cfg)
    if cfg.head_lowered_with_pose and pose and pose[0].kind != "head_is_lowered":
        # a bow is said with the turn / tilt, not dropped for it (``head_lowered_with_pose``)
        pose = [e for e in head if e.kind == "head_is_lowered"] + pose
    first = outside_blinks(sig, n, blinks)
    first = first[detail[first]]
    if not len(first):
        return pose
    t0 = float(sig.times[0])
    out = []
    ear = np.nanmedian(sig["eye_open"][first]) if np.isfinite(sig["eye_open"][first]).any() else np.nan
    if np.isfinite(ear):
        state = "closed" if ear < cfg.eyes_closed_below else "open"
        out.append(Event(f"eyes_are_{state}", t0, t0, float(ear), "eyes"))
    # the mouth is read on the first readable frames whether or not the eyes blink there: skipping
    # blink frames is for the eyes only (eyecheck 3, RAVDESS: an early blink moved the mouth's
    # reading 0.9 s in, after the parted lips had closed: "mouth is closed" over lips apart)
    mouth = np.flatnonzero(detail)[:n]
    gap = np.nanmedian(sig["mouth_open"][mouth]) if np.isfinite(sig["mouth_open"][mouth]).any() else np.nan
    if np.isfinite(gap):
        if gap < cfg.mouth_closed_below:
            state = "closed"
        elif gap < cfg.mouth_open_above:
            state = "slightly_open"
        else:
            state = "open"
        out.append(Event(f"mouth_is_{state}", t0, t0, float(gap), "mouth"))
    mesh = mesh_initial_state(sig, cfg, detail, outside_blinks(sig, max(1, int(round(0.3 * sig.fps))), blinks))
    if any(e.kind in ("eyes_are_half_open", "eyes_are_narrowed") for e in mesh):
        out = [e for e in out if e.kind not in ("eyes_are_open", "eyes_are_closed")]
    elif any(e.kind == "eyes_are_closed" for e in out) and "aperture" in sig.values:
        # a low eye aspect ratio with the lids apart on the mesh (lid gap against the iris) is a
        # downcast eye, not a closed one: the mesh decides, as for the end state
        ap = sig["aperture"][first]
        if np.isfinite(ap).any() and np.nanmedian(ap) >= cfg.half_open_below:
            out = [Event("eyes_are_open", e.start, e.end, e.intensity, e.region) if e.kind == "eyes_are_closed" else e
                   for e in out]
    if cfg.eye_state_needs_iris and _no_iris(sig, first):
        out = [e for e in out if e.kind not in ("eyes_are_open", "eyes_are_closed")]
    # closed eyes look nowhere (the iris is guessed behind the lids)
    closed = any(e.kind == "eyes_are_closed" for e in out)
    gaze = [_world_gaze(e, head) for e in mesh if not (closed and e.region == "gaze")]
    return pose + brow_state(sig, cfg, first) + out + gaze


def _no_iris(sig: FaceSignals, idx: np.ndarray) -> bool:
    """Whether a mesh track's frames ``idx`` were read without the Iris model (the tracker runs
    it on faces at least ``TrackConfig.iris_min_face_px`` tall): its darkness cue, measured
    wherever the iris points and the frames are, is missing on all of them. False for a track
    without a mesh or whose pixels were not read (no ``iris_dark`` at all)."""
    if sig.face_px is None or "iris_dark" not in sig.values or not len(idx):
        return False
    return not np.isfinite(sig["iris_dark"][idx]).any()


def _main_pose(head: list[Event], cfg: DynamicsConfig) -> list[Event]:
    """The one starting head pose to say: the largest rotation among those past their
    thresholds (the most visible one). FEC-Bench's references name at most one head pose when a
    video starts (one in 170 of 791 opening phases, two in 6), however the head is posed."""
    return [max(head, key=lambda e: e.intensity)] if head else []


def brow_state(sig: FaceSignals, config: DynamicsConfig, idx: np.ndarray) -> list[Event]:
    """The brows on the frames ``idx`` against the clip's own neutral frame (the per-video median,
    as every change is measured): raised when ``brow_height`` is at least the raise threshold
    above it ("their eyebrows are raised", as 9 % of FEC-Bench's opening phases say), furrowed
    when ``brow_inner`` is at least the furrow threshold below it (23 %). Thresholds include the
    per-video noise floor; a furrow is not read while the head is turned away from its neutral
    yaw by ``yaw_deg`` or more (a turn narrows the inner-brow gap by itself). A brow state held
    through the whole clip is its neutral and is not measurable this way."""
    cfg = effective_thresholds(sig, config)
    if not len(idx):
        return []
    t0 = float(sig.times[0])

    def level(name: str) -> float:
        v = sig.deviation(name)[idx] if name in sig.values else np.array([np.nan])
        return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")

    height, inner, yaw = level("brow_height"), level("brow_inner"), level("yaw")
    if np.isfinite(height) and height >= cfg.brow_raise:
        return [Event("brows_are_raised", t0, t0, height, "brows")]
    turned = np.isfinite(yaw) and abs(yaw) >= cfg.yaw_deg
    if np.isfinite(inner) and inner <= -cfg.brow_furrow and not turned:
        return [Event("brows_are_furrowed", t0, t0, abs(inner), "brows")]
    return []


def _world_gaze(state: Event, head: list[Event]) -> Event:
    """Where the eyes look in the scene, as annotators write it: eyes centred in a head turned
    to the left look to the left ("her head is turned to the left, her eyes look to the left");
    in a lowered head they look down. Eyes turned within the head keep their own direction."""
    if state.kind != "gaze_is_ahead" or not head:
        return state
    side = max(head, key=lambda e: e.intensity if e.kind.startswith(("head_is_turned", "head_is_lowered")) else -1)
    if side.kind.startswith("head_is_turned"):
        return Event("gaze_is_" + side.kind.rsplit("_", 1)[1], state.start, state.end, state.intensity, "gaze")
    if side.kind == "head_is_lowered":
        return Event("gaze_is_down", state.start, state.end, state.intensity, "gaze")
    return state


def head_state(sig: FaceSignals, cfg: DynamicsConfig, idx: np.ndarray) -> list[Event]:
    """The head's measured pose on the frames ``idx`` when it is far from facing the camera:
    turned (|yaw| >= ``head_turned_deg``), tilted (|roll| >= ``head_tilted_deg``), lowered or
    raised, as FEC-Bench captions open ("her head is turned slightly to the left, her eyes are
    open ..."). Absolute angles, not deviations from the neutral frame: the pose itself is the
    state.

    Lowered: on a mesh track both pitch readings at or below -``head_lowered_deg``, the PnP fit
    and the mesh's own 3-D face axis (``pitch3d``): the 2-D fit of a turned and tilted face reads
    a bow that is not there (dev clip 5854), the mesh's axis is not moved by a turn. Without a
    mesh, and for a raised head (the mesh's axis reads level faces 5-15 degrees low), the PnP
    pitch alone at ``head_pitch_alone_deg``."""
    to_image_right = "right" if cfg.left_right == "viewer" else "left"
    to_image_left = "left" if cfg.left_right == "viewer" else "right"
    t0 = float(sig.times[0])
    out = []

    def level(name: str) -> float:
        v = sig[name][idx] if name in sig.values else np.array([np.nan])
        return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")

    yaw, roll, pitch, pitch3d = level("yaw"), level("roll"), level("pitch"), level("pitch3d")
    if np.isfinite(yaw) and abs(yaw) >= cfg.head_turned_deg:
        out.append(Event(f"head_is_turned_{to_image_right if yaw > 0 else to_image_left}", t0, t0, abs(yaw), "head"))
    if np.isfinite(roll) and abs(roll) >= cfg.head_tilted_deg:
        out.append(Event(f"head_is_tilted_{to_image_right if roll > 0 else to_image_left}", t0, t0, abs(roll), "head"))
    if np.isfinite(pitch) and pitch >= cfg.head_pitch_alone_deg:
        out.append(Event("head_is_raised", t0, t0, pitch, "head"))
    elif np.isfinite(pitch) and (pitch <= -cfg.head_lowered_deg and pitch3d <= -cfg.head_lowered_deg
                                 if np.isfinite(pitch3d) else pitch <= -cfg.head_pitch_alone_deg):
        out.append(Event("head_is_lowered", t0, t0, abs(pitch), "head"))
    return out


def _open_eye_deviation(sig: FaceSignals, cfg: DynamicsConfig, name: str, idx: np.ndarray) -> float:
    """The eyes' opening on frames ``idx`` against its median over the frames where the eyes are
    not closed (eye aspect ratio at least ``eyes_closed_below``): the clip's median is no "normal"
    for eyes closed much of the clip (review 3: eyes closed for the first half, then normally open,
    were said to "stay wide open")."""
    v = sig[name]
    ear = sig["eye_open"] if "eye_open" in sig.values else v
    ref = v[np.isfinite(v) & ~(ear < cfg.eyes_closed_below)]
    now = v[idx]
    if not len(ref) or not np.isfinite(now).any():
        return float("nan")
    m, x = float(np.median(ref)), float(np.nanmedian(now))
    return (x - m) / max(abs(m), 1e-6) if NORMALISATION[name] == "relative" else x - m


def final_state(sig: FaceSignals | None, config: DynamicsConfig | None = None,
                blinks: list[tuple[float, float]] | None = None) -> list[Event]:
    """States held on the last 0.3 s of the track that differ from the neutral frame by at least
    the event thresholds (eyes wide / narrowed, mouth open, brows raised / furrowed, smiling); read
    on the last such frames outside the ``blinks`` spans. Last, a head lowered through the whole
    clip (:func:`held_lowered`)."""
    cfg = effective_thresholds(sig, config or DynamicsConfig())
    if sig is None or len(sig) < 2:
        return []
    detail = _detail_mask(sig, cfg)
    n = max(1, int(round(0.3 * sig.fps)))
    last = outside_blinks(sig, n, blinks, last=True)
    last = last[detail[last]]
    if not len(last):
        return []
    t1 = float(sig.times[-1])

    def level(name: str, dev: bool = True) -> float:
        v = (sig.deviation(name) if dev else sig[name])[last]
        return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")

    out = []
    # on mesh tracks the lid aperture against the iris, as the eye events read it (the mesh's
    # 68-point aspect ratio follows the head's pose)
    mesh = "aperture" in sig.values and np.isfinite(sig["aperture"][last]).any()
    eye, eye_th = (level("aperture"), cfg.eye_mesh) if mesh else (level("eye_open"), cfg.eye_deg)
    if eye >= eye_th and _open_eye_deviation(sig, cfg, "aperture" if mesh else "eye_open", last) >= eye_th:
        out.append(Event("eyes_stay_wide", t1, t1, eye, "eyes"))
    elif level("eye_open", dev=False) < cfg.eyes_closed_below and not (
            cfg.eye_state_needs_iris and _no_iris(sig, last)):
        # a low eye aspect ratio with the lids still apart on the mesh is a downcast or
        # half-open eye, not a closed one; without Iris's eyelids, as at the start, not said
        apart = "aperture" in sig.values and level("aperture", dev=False) >= cfg.closed_below
        out.append(Event("eyes_stay_half_open" if apart else "eyes_stay_closed", t1, t1, abs(eye), "eyes"))
    elif eye <= -eye_th:
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
    held = held_lowered(sig, cfg, n)
    if held is not None:
        out.append(Event("head_stays_lowered", t1, t1, held, "head"))
    return out


def held_lowered(sig: FaceSignals, cfg: DynamicsConfig, n: int) -> float | None:
    """The PnP pitch (its size, degrees) of a head lowered through the whole clip, or None: lowered
    by :func:`head_state` on the first 0.2 s, on the last ``n`` frames and over the whole track (the
    medians of its frames), so "their head stays lowered" is said at the end, as the references do
    for a head held bowed (dev clip 4251, by eye bowed on every frame; its by-eye caption: "his head
    stays lowered"). A head lowered at the start that lifts, or one that lowers later, is not held:
    its lift / lower events tell it. Every tracked frame counts (the pose is read however small the
    face is, as for the starting pose)."""
    k = len(sig)
    first = np.arange(k)[:max(1, int(round(0.2 * sig.fps)))]
    spans = (first, np.arange(k)[-n:], np.arange(k))
    found = [[e for e in head_state(sig, cfg, idx) if e.kind == "head_is_lowered"] for idx in spans]
    return float(found[1][0].intensity) if all(found) else None
