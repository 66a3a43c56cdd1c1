"""The training-free landmark captioner: a FEC-Bench-style caption from measured facial events.

Pipeline for one video: (1) the face tracking module (paper) finds the main character's
track (``dfec.tracking.pipeline.track``; a ``tracks.json`` already written for the same video is
reused); (2) :mod:`.signals` measures eyes, mouth, brows and head pose on every 16-fps frame of
that track; (3) :mod:`.events` detects onsets, offsets and intensities of changes; (4) this module
writes one clause per event, in time order, grouped into the four phases FEC-Bench captions use
("At the beginning of the video", "As the video progresses", "In the middle of the video",
"Towards the end of the video").

The caption states only what was measured: no appearance attributes (hair, age, clothing) and no
emotion words. Phrasing follows the benchmark's references, with "their" for the person.
"Left" and "right" are the person's own (``DynamicsConfig.left_right``, default "subject", as in
FEC-Bench's references): "their head turns to the left" means the face turns towards the image's
right.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import DfecError
from ..schema import Event, TrackingResult
from ..tracking.config import TrackConfig
from .config import effective_thresholds
from .events import DynamicsConfig, _detail_mask, detect_events, has_signal
from .mesh_events import jaw_confirms
from .states import final_state, initial_state
from .signals import FaceSignals, track_signals
from .wording import (  # noqa: F401  (re-exported: the captioner's wording lives in .wording)
    CLAUSES, INTRO, NO_CHANGE, NO_FACE, NO_MEASURE, SEGMENT_PHRASES, clause, compose, compose_clauses, group_events, segment_of,
    strength,
)

@dataclass
class CaptionResult:
    """What :func:`caption_video` returns.

    ``caption`` is the text; ``events`` the events it describes, one per clause, in caption order
    (``Event.text`` holds the clause); ``tracking`` the tracking result used; ``timeline`` every
    detected event (before grouping); ``signals`` the per-frame measurements (None without a face);
    ``clauses`` the caption cut into its pieces, each with the events it came from (see
    :func:`caption_video`).
    """

    caption: str
    events: list[Event]
    tracking: TrackingResult
    timeline: list[Event] = field(default_factory=list)
    signals: FaceSignals | None = None
    clauses: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "video": self.tracking.video,
            "duration": self.tracking.duration,
            "video_coverage": dict(self.tracking.video_coverage),
            "fps": self.tracking.fps,
            "main_track": None if self.tracking.main_track is None else self.tracking.main_track.track_id,
            "caption": self.caption,
            "clauses": self.clauses,
            "events": [e.to_json() for e in self.events],
            "timeline": [e.to_json() for e in self.timeline],
            "signals": None if self.signals is None else self.signals.to_json(),
        }


def _span(signals: FaceSignals) -> tuple[float | None, float | None]:
    ok = signals.valid if signals.valid is not None else np.ones(len(signals), bool)
    if not np.any(ok):
        return None, None
    ts = signals.times[np.asarray(ok, bool)]
    return float(ts[0]), float(ts[-1])


def describe(signals: FaceSignals | None, duration: float, config: DynamicsConfig | None = None,
             presence: tuple[float, float] | None = None) -> tuple[str, list[Event], list[Event]]:
    text, used, timeline, _ = describe_clauses(signals, duration, config, presence)
    return text, used, timeline


def describe_clauses(signals: FaceSignals | None, duration: float, config: DynamicsConfig | None = None,
                     presence: tuple[float, float] | None = None, timeline: list[Event] | None = None
                     ) -> tuple[str, list[Event], list[Event], list[dict]]:
    """``(caption, caption_events, timeline, clauses)`` for one track's signals over a video of
    ``duration`` s (:func:`describe` returns the first three; ``clauses``: see :func:`caption_video`).

    ``presence`` is ``(first, last)`` time (s) the main character's face was detected (default:
    the measured frames of ``signals``); a face that comes into view or leaves at least
    ``face_absent_s`` from the start / end of the video gets a clause saying so (a measured fact:
    the tracker did not find it there), and its last state is then not described as the end.
    ``timeline``: the events :func:`detect_events` found on ``signals`` under the same detection
    settings, when already known (they are annotated here, so pass a copy); default: detected here."""
    cfg = config or DynamicsConfig()
    if signals is None or len(signals) == 0:
        return NO_FACE, [], [], [{"text": NO_FACE, "events": [], "timeline": []}]
    if signals.valid is not None and len(signals.valid) == len(signals) and not np.asarray(signals.valid, bool).any():
        return NO_MEASURE, [], [], [{"text": NO_MEASURE, "events": [], "timeline": []}]
    timeline = detect_events(signals, cfg) if timeline is None else timeline
    for e in timeline:
        e.text = clause(e, cfg)
    blinks = [(e.start, e.end) for e in timeline if e.kind == "blink"]  # states are read outside them
    rated = ranking_config(signals, cfg)  # the thresholds the events were found at
    states = initial_state(signals, cfg, blinks) if cfg.describe_states else []
    # the start's smile against the threshold its signal has (smile_lift_mesh on the 3-D corner lift)
    states += _initial_smile(signals, rated) if cfg.describe_states else []
    finals = final_state(signals, cfg, blinks) if cfg.describe_states else []
    first, last = presence if presence is not None else _span(signals)
    step = 1.0 / max(signals.fps, 1e-6)
    presence_events = []
    if first is not None and first >= cfg.face_absent_s:
        presence_events.append(Event("face_appears", first, first, 1.0, "face"))
    if last is not None and duration - (last + step) >= cfg.face_absent_s:
        # the face is gone for the end of the video: its last state is not "the end"
        finals = []
        presence_events.append(Event("face_leaves", last + step, last + step, 1.0, "face"))
    if finals and segment_of(finals[0].start, duration, cfg.segments) != len(SEGMENT_PHRASES) - 1:
        finals = []
    for e in presence_events:
        e.text = clause(e, cfg)
    sources: dict[int, list[Event]] = {}
    # the forehead's wrinkling stays on the timeline; the caption says it only with describe_forehead
    said = [e for e in timeline if cfg.describe_forehead or e.kind != "forehead_wrinkle"]
    # mouth openings the jaw's own drop corroborates (at the thresholds in force)
    trusted = jaw_confirms(signals, effective_thresholds(signals, cfg), timeline)
    phases = group_events(presence_events + states + said + finals, duration, rated, sources, trusted)
    visible = [False] * len(SEGMENT_PHRASES)
    seen = [0.0] * len(SEGMENT_PHRASES)
    for t, ok in zip(signals.times, signals.valid if signals.valid is not None else np.ones(len(signals), bool)):
        if ok:
            k = segment_of(float(t), duration, cfg.segments)
            visible[k] = True
            seen[k] += 1.0 / signals.fps
    text, used, pieces = compose_clauses(phases, visible, seen, cfg.min_still_s)
    in_caption = {id(e): i for i, e in enumerate(used)}
    in_timeline = {id(e): i for i, e in enumerate(timeline)}
    clauses = []
    for piece, ev in pieces:
        src = sources.get(id(ev), []) if ev is not None else []
        clauses.append({"text": piece, "events": [] if ev is None else [in_caption[id(ev)]],
                        "timeline": [in_timeline[id(e)] for e in src if id(e) in in_timeline]})
    return text, used, timeline, clauses


def ranking_config(sig: FaceSignals, cfg: DynamicsConfig) -> DynamicsConfig:
    """``cfg`` with the thresholds the events of ``sig`` were detected against, for rating their
    strength (:func:`dfec.dynamics.ranking.strength`), as :func:`~dfec.dynamics.events.detect_events`
    chose them: on a mesh track speech is found on the 3-D inner-lip gap at ``speak_prominence_mesh``
    (not the 68-point ``speak_prominence``), eyes widening / narrowing on the lid aperture at
    ``eye_mesh`` (not ``eye_deg``), closures on the iris's darkness at ``blink_dark`` (not
    ``blink_depth``), the mouth corners in the head's 3-D frame at ``smile_lift_mesh``; each at
    least ``noise_k`` times its signal's noise on this clip (:func:`effective_thresholds`), the floor
    it was detected over. Rated against the configured value, a change found just over a
    noise-raised floor read as several times its threshold and outranked real ones under the
    clause cap (dev clips re-encoded at CRF 40: consistency 0.750 -> 0.757; dev captions unchanged)."""
    detail = _detail_mask(sig, cfg)
    cfg = effective_thresholds(sig, cfg)
    kw = {}
    if has_signal(sig, "lip_gap", detail):
        kw["speak_prominence"] = cfg.speak_prominence_mesh
    if has_signal(sig, "aperture", detail):
        kw["eye_deg"] = cfg.eye_mesh
    if has_signal(sig, "iris_dark", detail):
        kw["blink_depth"] = cfg.blink_dark
    # smile_lift: effective_thresholds already holds smile_lift_mesh (noise-raised) for a mesh
    # track's head-frame corner lift
    return replace(cfg, **kw) if kw else cfg


def _initial_smile(sig: FaceSignals, cfg: DynamicsConfig) -> list[Event]:
    """Lip corners lifted on the first 0.2 s: lifted and widened against the clip's neutral frame,
    or, for a smile held through the whole clip (then it is the neutral frame), a mouth at least
    ``smile_width_abs`` face scales wide (outer-eye-corner distances; about 0.55 at rest in adult
    faces, a smile widens it by 15-30 %) with the corners not below the lip centre."""
    n = max(1, int(round(0.2 * sig.fps)))
    if not _detail_mask(sig, cfg)[:n].any():
        return []
    lift = np.nanmedian(sig.deviation("corner_lift")[:n])
    width = np.nanmedian(sig.deviation("mouth_width")[:n])
    t0 = float(sig.times[0])
    if np.isfinite(lift) and np.isfinite(width) and lift >= cfg.smile_lift and width >= 0.5 * cfg.smile_width:
        return [Event("corners_are_lifted", t0, t0, float(lift), "mouth")]
    wide = np.nanmedian(sig["mouth_width"][:n])
    up = np.nanmedian(sig["corner_lift"][:n])
    if cfg.smile_width_abs > 0 and np.isfinite(wide) and np.isfinite(up) and wide >= cfg.smile_width_abs and up >= 0:
        return [Event("corners_are_lifted", t0, t0, float(wide), "mouth")]
    return []


# ----------------------------------------------------------------------------------- pipeline
def _same_video(tracking: TrackingResult, path: str | Path) -> bool:
    try:
        return Path(tracking.video).resolve() == Path(path).resolve()
    except (OSError, ValueError):
        return False


#: the tracker's defaults: a cached tracks.json whose meshes were read another way (one read, or
#: flip-averaged from another face size) is tracked again (mesh signals differ by up to 15 % on
#: the lips)
_TRACKER_DEFAULT = TrackConfig()


def _cache_problem(tr: TrackingResult, path: str | Path, config: dict | None = None) -> str | None:
    """Why a loaded ``tracks.json`` cannot be used for ``path`` (None when it can); ``config`` is
    the tracker configuration the file was written with (its ``"config"``)."""
    if not _same_video(tr, path):
        return f"it was written for {tr.video or 'another video'}"
    for t in tr.tracks:
        lm = np.asarray(t.landmarks if t.landmarks is not None else [], dtype=float)
        if len(t.frames) and lm.size != len(t.frames) * 136:
            return f"track {t.track_id} has no 68-point landmarks (older or foreign format)"
    if not tr.fps or tr.fps <= 0:
        return "it has no frame rate"
    cfg = config if isinstance(config, dict) else {}
    if cfg.get("detector") == "mediapipe":
        # files written before the flip average have no such key: their meshes are one read each
        flip = bool(cfg.get("mesh_flip_average", False))
        if flip != _TRACKER_DEFAULT.mesh_flip_average:
            return ("its meshes are one FaceMesh read each (mesh_flip_average off)" if not flip
                    else "its meshes are flip-averaged (mesh_flip_average on)")
        if flip and cfg.get("mesh_flip_min_face_px", 0) != _TRACKER_DEFAULT.mesh_flip_min_face_px:
            return f"its meshes are flip-averaged from another face size (mesh_flip_min_face_px " \
                   f"{cfg.get('mesh_flip_min_face_px', 0)})"
    try:  # the same path may now hold another video: compare durations when the file decodes
        from ..video.reader import probe

        info = probe(path)
    except Exception:  # undecodable here; the tracker (if it runs) reports it in one line
        return None
    if info.duration > 0 and abs(info.duration - tr.duration) > max(0.5, 0.05 * info.duration):
        return f"it covers {tr.duration:.1f} s but the video lasts {info.duration:.1f} s"
    return None


def _written_with(tracks_json: Path) -> dict:
    """The tracker configuration stored in a ``tracks.json`` (empty when it has none)."""
    try:
        cfg = json.loads(tracks_json.read_text()).get("config")
    except (OSError, ValueError, AttributeError):
        return {}
    return cfg if isinstance(cfg, dict) else {}


def load_or_track(path: str | Path, out_dir: str | Path | None = None, progress: bool = False) -> TrackingResult:
    """Reuse ``out_dir/tracks.json`` when it was written for ``path`` (same path, 68-point
    landmarks, duration matching the video, meshes read as the tracker now reads them:
    ``mesh_flip_average``, ``mesh_flip_min_face_px``); otherwise run the tracker, which overwrites it. A
    ``tracks.json`` that is not reused is named in a one-line note on stderr."""
    import sys

    if out_dir is not None:
        cached = Path(out_dir) / "tracks.json"
        if cached.is_file():
            try:
                tr = TrackingResult.load(cached)
                why = _cache_problem(tr, path, _written_with(cached))
            except DfecError as exc:
                tr, why = None, exc.reason
            if tr is not None and why is None:
                return tr
            print(f"dfec: note: {cached}: not reused ({why}); tracking {path} again", file=sys.stderr)
    from ..tracking.pipeline import track

    return track(path, out_dir=out_dir, progress=progress)


def hear(path: Path, sig: FaceSignals, cfg: DynamicsConfig) -> tuple[object | None, str | None]:
    """The voice track of ``path``'s sound on ``sig``'s frame times (:mod:`dfec.video.audio`), for
    the audio-visual speech of :mod:`.speech`, and why there is none where the sound was read
    (:func:`dfec.video.audio.heard`: "no audio track", "silent audio track", "audio track not
    decodable"). ``(None, None)`` when audio is off (``speak_audio``), the track has no lip gap to
    fuse it with, or the file is absent."""
    if not cfg.speak_audio or "lip_gap" not in sig.values or len(sig) == 0 or not path.is_file():
        return None, None
    from ..video.audio import heard
    from .speech import vad_settings

    voice, why = heard(path, sig.times, sig.fps, **vad_settings(cfg))
    return voice, (why or None)


def measure(path: Path, tracking: TrackingResult, cfg: DynamicsConfig
            ) -> tuple[FaceSignals | None, float, tuple[float, float] | None]:
    """What :func:`describe_clauses` needs of a tracked video: the main face's signals (with the
    voice of ``path``'s sound, :func:`hear`), the video's duration (s) and the ``(first, last)``
    time its face was detected (None without signals)."""
    sig = track_signals(tracking, cfg.signals)
    if sig is not None:
        sig.voice, sig.sound_note = hear(path, sig, cfg)
    duration = tracking.duration or (float(sig.times[-1]) + 1.0 / sig.fps if sig is not None and len(sig) else 0.0)
    present = sorted(f for t in tracking.main_tracks for f, interp in zip(t.frames, t.interpolated) if not interp)
    fps = tracking.fps or 16.0
    presence = (present[0] / fps, present[-1] / fps) if present and sig is not None else None
    return sig, duration, presence


def caption_video(path, config: DynamicsConfig | None = None, out_dir=None,
                  tracking: TrackingResult | None = None, progress: bool = False) -> CaptionResult:
    """Caption the facial dynamics of the main character of ``path`` without any model.

    With ``out_dir`` writes ``events.json`` (caption, clauses, caption events, full timeline,
    signals), ``caption.txt`` and ``timeline.png`` there (plus the tracker's own files when it
    runs). A video without a face is not an error: the caption says no face was found.

    ``events.json`` fields: ``caption`` (the text); ``events`` (the caption's events, one per
    event clause, in caption order: kind, start, end (s), intensity, region, text, change_at: the
    time (s) a swing crosses half its amplitude, which sets its caption phase, or null for events
    placed by their start, see :func:`dfec.dynamics.wording.said_at`); ``timeline``
    (every detected event, time order; several may be merged into one caption event, e.g. "the
    person blinks twice"); ``clauses``: the caption cut into pieces,
    ``[{"text": str, "events": [i], "timeline": [j, ...]}]``, where ``events`` holds the index
    into ``events`` of the event a piece states (empty for the intro, the phase phrases "At the
    beginning of the video," and "there is no obvious change in their face.") and ``timeline``
    the indices into ``timeline`` of the detected events it came from (empty for states such as
    "their eyes are open", measured on the first frames, and for presence clauses). The pieces'
    texts joined with single spaces equal ``caption`` with its newlines (paragraph breaks)
    replaced by spaces: ``" ".join(c["text"] for c in clauses) == caption.replace("\n", " ")``.
    """
    cfg = config or DynamicsConfig()
    p = Path(path)
    if tracking is None:
        if not p.exists():
            raise DfecError("no such file", p)
        if out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
        tracking = load_or_track(p, out_dir, progress)
    sig, duration, presence = measure(p, tracking, cfg)
    text, used, timeline, clauses = describe_clauses(sig, duration, cfg, presence)
    result = CaptionResult(caption=text, events=used, tracking=tracking, timeline=timeline, signals=sig,
                           clauses=clauses)
    if out_dir is not None:
        write_outputs(result, out_dir, cfg)
    return result


def write_outputs(result: CaptionResult, out_dir, config: DynamicsConfig | None = None) -> dict[str, str]:
    """Write ``events.json``, ``caption.txt`` and ``timeline.png`` into ``out_dir``."""
    cfg = config or DynamicsConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = result.to_json()
    d["config"] = asdict(cfg)
    (out / "events.json").write_text(json.dumps(d, indent=1))
    (out / "caption.txt").write_text(result.caption + "\n")
    from .plot import plot_timeline

    plot_timeline(result, out / "timeline.png", cfg)
    return {"events": str(out / "events.json"), "caption": str(out / "caption.txt"),
            "timeline": str(out / "timeline.png")}


class LandmarkCaptioner:
    """The landmark captioner behind the same ``.caption(video)`` interface as FaceTrack-MM's
    ``dfec.model.inference.load_captioner(...)``, so harnesses can swap one for the other.
    ``instruction`` and ``max_new_tokens`` are accepted and ignored (nothing is generated)."""

    def __init__(self, config: DynamicsConfig | None = None, progress: bool = False):
        self.config = config or DynamicsConfig()
        self.progress = progress

    def caption(self, video_path, instruction: str | None = None, tracking: TrackingResult | None = None,
                max_new_tokens: int = 256) -> str:
        return caption_video(video_path, self.config, tracking=tracking, progress=self.progress).caption
