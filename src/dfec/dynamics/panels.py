"""The timeline's panels: which signals are drawn together, with their labels.

One definition shared by ``timeline.png`` (:mod:`dfec.dynamics.plot`) and the report page's
timeline lanes (:mod:`dfec.report`), so both show the same measurements. Each panel is
``(region, title, ((signal, label, as deviation from neutral), ...))``.

The speech panel (the one with the lip gap the speech segmenter reads) also shows the sound:
:func:`speech_lane` gives its voiced stretches, voice score and the final speaking runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..video.audio import NO_TRACK
from .config import DynamicsConfig

PANELS = (
    ("eyes", "eye openness (EAR)", (("ear_left", "image-left eye", False), ("ear_right", "image-right eye", False))),
    ("mouth", "mouth (dev. from neutral)", (("mouth_open", "opening", True), ("mouth_width", "width (rel.)", True),
                                             ("corner_lift", "corner lift", True))),
    ("brows", "brows (rel. dev.), forehead (log dev.)", (("brow_height", "height", True), ("brow_inner", "inner distance", True),
                                                          ("forehead", "forehead lines", True))),
    ("head", "head pose (deg)", (("yaw", "yaw (+ face to image right)", False), ("pitch", "pitch (+ up)", False),
                                 ("roll", "roll (+ to image right)", False))),
)
MESH_PANELS = (
    ("lids", "lids (/ iris diam.)", (("aperture", "lid aperture", False), ("iris_dark", "iris darkness", False))),
    ("gaze", "gaze in head (deg)", (("gaze_h", "+ image right", False), ("gaze_v", "+ up", False))),
    ("interior", "mouth interior", (("lip_gap", "3-D lip gap", False), ("teeth", "teeth (% scale^2)", False))),
    ("lower", "lower face (rel. dev.)", (("lip_thick", "lip thickness", True), ("chin", "lip-chin", True),
                                         ("cheek", "cheeks", True), ("nose", "alae", True))),
)
#: the panel each event region is shaded in
PANEL_OF = {"eyes": ("eyes", "lids"), "gaze": ("gaze",), "mouth": ("mouth", "interior"), "brows": ("brows",), "forehead": ("brows",),
             "head": ("head",), "cheeks": ("lower",), "nose": ("lower",)}


def panels_for(values) -> tuple:
    """The panels to draw for a track's signal ``values``: the mesh panels only when the track
    has mesh signals (``aperture``)."""
    return PANELS + (MESH_PANELS if values is not None and "aperture" in values else ())


#: event kinds of a talk, drawn as the speaking bar of the speech panel (:func:`speech_lane`)
SPEECH_RUN_KINDS = ("speaking", "speaking_resume")
SPEECH_KINDS = SPEECH_RUN_KINDS + ("speaking_pause", "speaking_stop")
#: the default voice score at or above which a video frame is voiced (``voice_active_score`` of
#: :class:`dfec.dynamics.config.DynamicsConfig`, :class:`dfec.video.audio.VoiceTrack`)
VOICE_ACTIVE = DynamicsConfig.voice_active_score
NO_AUDIO = NO_TRACK  # the note when a video has no sound (one wording: dfec.video.audio)


@dataclass
class SpeechLane:
    """What the speech panel draws over its lip trace (:func:`speech_lane`).

    ``panel``: the region of the panel (the one holding the lip gap the speech segmenter reads:
    "interior" on mesh tracks, "mouth" otherwise); ``runs``: the final speaking runs ``(start,
    end)`` in s, the talks the caption states (fused with the voice where there is sound);
    ``resumed``: per run, whether it resumes the talk after a pause (``speaking_resume``);
    ``pauses``: the pauses between them; ``voiced``: the voiced stretches of the sound track;
    ``times`` / ``score``: the voice score (0-1) per frame, voiced at ``active`` (the config's
    ``voice_active_score``, :data:`VOICE_ACTIVE` without a config);
    ``floor_db``: the sound's noise floor (dBFS); ``note``: why there is no voice (None with one).
    """

    panel: str
    runs: list[tuple[float, float]] = field(default_factory=list)
    resumed: list[bool] = field(default_factory=list)
    pauses: list[tuple[float, float]] = field(default_factory=list)
    voiced: list[tuple[float, float]] = field(default_factory=list)
    times: np.ndarray | None = None
    score: np.ndarray | None = None
    floor_db: float | None = None
    note: str | None = None
    active: float = VOICE_ACTIVE


def speech_lane(signals, timeline, config=None) -> SpeechLane | None:
    """The speech panel's data for one track's ``signals`` (a
    :class:`~dfec.dynamics.signals.FaceSignals`, None without a face: then None) and its detected
    ``timeline`` events: the speaking runs are the timeline's ``speaking`` / ``speaking_resume``
    events (the runs :mod:`dfec.dynamics.speech` gives the caption, after fusing the voice), the
    pauses its ``speaking_pause`` events, the voiced stretches and score the ``signals.voice``
    track (see :func:`dfec.dynamics.captioner.hear`). Without a voice track ``note`` says why:
    ``"no audio track"``, or what :func:`dfec.video.audio.heard` found when the video was heard
    (``signals.sound_note``: ``"silent audio track"``, ``"audio track not decodable"``), or that the
    sound is not used (``speak_audio`` off, or a 68-point track without the 3-D lip gap)."""
    if signals is None:
        return None
    values = signals.values
    lane = SpeechLane(panel="interior" if "lip_gap" in values and "aperture" in values else "mouth",
                      active=float(config.voice_active_score) if config is not None else VOICE_ACTIVE)
    for e in sorted(timeline, key=lambda e: e.start):
        if e.kind in SPEECH_RUN_KINDS:
            lane.runs.append((float(e.start), float(e.end)))
            lane.resumed.append(e.kind == "speaking_resume")
        elif e.kind == "speaking_pause":
            lane.pauses.append((float(e.start), float(e.end)))
    voice = getattr(signals, "voice", None)
    if voice is not None:
        lane.times = np.asarray(voice.times, float)
        lane.score = np.asarray(voice.score, float)
        lane.voiced = list(voice.segments())
        lane.floor_db = float(voice.floor_db)
    elif config is not None and not config.speak_audio:
        lane.note = "sound not used (speak_audio off)"
    elif "lip_gap" not in values:
        lane.note = "sound not used (no 3-D lip gap)"
    else:
        lane.note = getattr(signals, "sound_note", None) or NO_AUDIO
    return lane
