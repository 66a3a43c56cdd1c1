"""The timeline plot's speech panel (dfec.dynamics.panels.speech_lane, dfec.dynamics.plot): the
voiced stretches of the sound, the voice score and the final (voice-fused) speaking runs on
synthetic talks with a known voice track; "no audio track" without one; event labels kept apart."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dfec.dynamics.captioner import CaptionResult
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.panels import NO_AUDIO, speech_lane
from dfec.dynamics.signals import track_signals
from dfec.dynamics.synthetic import sequence
from dfec.dynamics.synthetic_mesh import mesh_sequence, syllables
from dfec.schema import Event
from dfec.video.audio import VoiceTrack

pytest.importorskip("matplotlib")

#: two talks of the lips (s) with a 0.9 s pause, heard on the sound, and a voice off screen while
#: the lips rest (5.4-6.2 s)
TALKS = ((1.0, 2.3), (3.2, 4.6))
OFF_SCREEN = (5.4, 6.2)


def _talking_face(seed: int = 0):
    first, second = syllables(*TALKS[0], seed=seed), syllables(*TALKS[1], seed=seed + 1)
    tr = mesh_sequence(6.5, noise_px=0.3, seed=seed, mouth=lambda t: np.maximum(first(t), second(t)))
    return tr, track_signals(tr)


def _voice(times: np.ndarray, spans) -> VoiceTrack:
    score = np.zeros(len(times))
    for s, e in spans:
        score[(times >= s) & (times < e)] = 1.0
    score[(times >= spans[0][0] - 0.0625) & (times < spans[0][0])] = 0.25  # a partly voiced frame
    return VoiceTrack(times=times, score=score, active=score >= 0.5, floor_db=-41.0)


def _result(tr, sig, cfg):
    timeline = detect_events(sig, cfg)
    return CaptionResult(caption="", events=[], tracking=tr, timeline=timeline, signals=sig)


@pytest.mark.parametrize("seed", [0, 1])
def test_speech_lane_gives_the_voiced_spans_and_the_fused_speaking_runs(seed):
    tr, sig = _talking_face(seed)
    cfg = DynamicsConfig()
    lip_only = speech_lane(sig, detect_events(sig, cfg), cfg)
    sig.voice = _voice(sig.times, TALKS + (OFF_SCREEN,))
    timeline = detect_events(sig, cfg)
    lane = speech_lane(sig, timeline, cfg)
    assert lane.panel == "interior" and lane.note is None
    # the voiced stretches of the sound, the off-screen voice included, to the frame
    step = 1.0 / sig.fps
    assert len(lane.voiced) == 3
    for (s, e), (vs, ve) in zip(lane.voiced, TALKS + (OFF_SCREEN,)):
        assert abs(s - vs) <= step and abs(e - ve) <= step
    np.testing.assert_array_equal(lane.score, sig.voice.score)
    np.testing.assert_array_equal(lane.times, sig.times)
    assert lane.floor_db == -41.0
    # the speaking runs are the ones the caption states: the timeline's talk events, timed by the
    # voice (not the lip-only runs), without the off-screen voice; the second resumes after a pause
    talk = [(e.start, e.end) for e in timeline if e.kind in ("speaking", "speaking_resume")]
    assert lane.runs == talk and len(talk) == 2
    assert lane.resumed == [False, True]
    for (s, e), (vs, ve) in zip(lane.runs, TALKS):
        assert abs(s - vs) <= step and abs(e - ve) <= step
    assert lane.runs != lip_only.runs
    assert lane.pauses == [(lane.runs[0][1], lane.runs[1][0])]
    assert not any(s < OFF_SCREEN[1] and e > OFF_SCREEN[0] for s, e in lane.runs)


def test_speech_lane_without_sound_says_why_and_keeps_the_lip_runs():
    tr, sig = _talking_face()
    cfg = DynamicsConfig()
    timeline = detect_events(sig, cfg)
    lane = speech_lane(sig, timeline, cfg)
    assert lane.note == NO_AUDIO == "no audio track"
    assert lane.voiced == [] and lane.score is None
    assert len(lane.runs) == 2 and lane.resumed == [False, True]
    assert lane.runs == [(e.start, e.end) for e in timeline if e.kind in ("speaking", "speaking_resume")]
    off = speech_lane(sig, timeline, replace(cfg, speak_audio=False))
    assert off.note == "sound not used (speak_audio off)"
    # a 68-point track (no mesh): speech is read from the 2-D mouth opening, in the mouth panel
    flat = track_signals(sequence(3.0))
    assert speech_lane(flat, [], cfg).panel == "mouth"
    assert speech_lane(flat, [], cfg).note == "sound not used (no 3-D lip gap)"
    assert speech_lane(None, [], cfg) is None


def _speech_axes(fig):
    return next(ax for ax in fig.axes if ax.get_ylabel() == "mouth interior")


def test_the_speech_panel_draws_voice_runs_and_legend(tmp_path):
    from dfec.dynamics.plot import _SCORE, plot_timeline, timeline_figure

    tr, sig = _talking_face()
    cfg = DynamicsConfig()
    sig.voice = _voice(sig.times, TALKS + (OFF_SCREEN,))
    result = _result(tr, sig, cfg)
    fig = timeline_figure(result, cfg)
    ax = _speech_axes(fig)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"voiced", "voice score (floor -41 dBFS)", "speaking (caption)"} <= set(legend)
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("speaking") == 1 and texts.count("again") == 1 and texts.count("pause") == 1
    assert NO_AUDIO not in texts
    # the talk's events are on the bar, not also written at the top of the panel
    assert not any("speaking" in t for t in texts if t not in ("speaking",))
    # the strips lie under the traces, and no tick of the lip-gap scale stands beside them
    strip_top = ax.transLimits.inverted().transform((0, _SCORE[1]))[1]
    assert np.nanmin(sig["lip_gap"]) > strip_top
    assert len(ax.get_yticks()) >= 2 and all(v > strip_top for v in ax.get_yticks())
    png = plot_timeline(result, tmp_path / "with_voice.png", cfg)
    assert png.read_bytes()[:4] == b"\x89PNG"

    sig.voice = None
    fig = timeline_figure(_result(tr, sig, cfg), cfg)
    ax = _speech_axes(fig)
    assert NO_AUDIO in [t.get_text() for t in ax.texts]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "speaking (caption)" in legend and "voiced" not in legend
    png = plot_timeline(_result(tr, sig, cfg), tmp_path / "no_audio.png", cfg)
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_event_labels_never_overlap_each_other_or_the_legend():
    from dfec.dynamics.plot import timeline_figure

    tr = sequence(6.0)
    sig = track_signals(tr)
    # three head events starting together, and one starting under the legend at the end
    timeline = [Event(k, 1.0, 1.5, 1.0, "head") for k in ("head_turn_left", "head_tilt_right", "head_nod")]
    timeline.append(Event("head_turn_right", 5.6, 5.9, 1.0, "head"))
    fig = timeline_figure(CaptionResult("", [], tr, timeline, sig))
    renderer = fig.canvas.get_renderer()
    ax = next(ax for ax in fig.axes if ax.get_ylabel() == "head pose (deg)")
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == 4
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    legend = ax.get_legend().get_window_extent(renderer)
    assert not any(b.overlaps(legend) for b in boxes)


def test_the_voiced_level_is_drawn_at_the_configs_voice_active_score():
    from dfec.dynamics.plot import _SCORE, timeline_figure

    tr, sig = _talking_face()
    sig.voice = _voice(sig.times, TALKS)
    for active in (0.3, 0.5):
        cfg = replace(DynamicsConfig(), voice_active_score=active)
        assert speech_lane(sig, [], cfg).active == active
        ax = _speech_axes(timeline_figure(_result(tr, sig, cfg), cfg))
        dotted = [ln for ln in ax.get_lines() if ln.get_linestyle() == ":"]
        assert len(dotted) == 1
        np.testing.assert_allclose(dotted[0].get_ydata(), [_SCORE[0] + (_SCORE[1] - _SCORE[0]) * active] * 2)


def test_talk_events_are_only_on_the_speaking_bar():
    """On a mesh track the talk (speaking, pause, resume) is the bar of the mouth-interior panel
    and is neither shaded nor labelled in the 2-D mouth panel; on a 68-point track the bar is in
    the mouth panel itself."""
    from dfec.dynamics.plot import timeline_figure

    tr, sig = _talking_face()
    cfg = DynamicsConfig()
    result = _result(tr, sig, cfg)
    assert {"speaking", "speaking_pause", "speaking_resume"} <= {e.kind for e in result.timeline}
    fig = timeline_figure(result, cfg)
    mouth = next(ax for ax in fig.axes if ax.get_ylabel() == "mouth (dev. from neutral)")
    assert not [t.get_text() for t in mouth.texts if "speaking" in t.get_text()]
    assert not mouth.patches  # nothing shaded: the face does nothing but talk
    bar = [t.get_text() for t in _speech_axes(fig).texts]
    assert bar.count("speaking") == 1 and bar.count("again") == 1 and bar.count("pause") == 1

    flat = sequence(4.0)
    fsig = track_signals(flat)
    talk = [Event("speaking", 1.0, 1.8, 1.0, "mouth"), Event("speaking_pause", 1.8, 2.4, 1.0, "mouth"),
            Event("speaking_resume", 2.4, 3.0, 1.0, "mouth")]
    fig = timeline_figure(CaptionResult("", [], flat, talk, fsig), cfg)
    mouth = next(ax for ax in fig.axes if ax.get_ylabel() == "mouth (dev. from neutral)")
    texts = [t.get_text() for t in mouth.texts]
    assert texts.count("speaking") == 1 and texts.count("again") == 1 and texts.count("pause") == 1
    assert not any(t.startswith("speaking ") for t in texts)


def test_hidden_mouth_frames_and_shot_changes_are_drawn():
    """A hand over the mouth (``mouth_occluded``) is hatched in the mouth panels as "mouth hidden";
    the tracker's shot changes are marked in every panel as "shot change"."""
    from dfec.dynamics.plot import timeline_figure

    tr, sig = _talking_face()
    cfg = DynamicsConfig()
    sig.mouth_occluded = (sig.times >= 2.0) & (sig.times < 3.0)
    sig.shot_changes = [(4.9, 5.0)]
    fig = timeline_figure(_result(tr, sig, cfg), cfg)
    for ax in fig.axes:
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "shot change" in legend
        mouth = ax.get_ylabel() in ("mouth (dev. from neutral)", "mouth interior")
        assert ("mouth hidden" in legend) == mouth
    hatched = [p for p in _speech_axes(fig).patches if p.get_hatch() == "///"]
    assert len(hatched) == 1
    box = hatched[0].get_bbox()  # in data x (the axes' height in y)
    assert box.x0 == pytest.approx(2.0) and box.x1 == pytest.approx(3.0)
    # without them nothing is added
    sig.mouth_occluded, sig.shot_changes = None, []
    fig = timeline_figure(_result(tr, sig, cfg), cfg)
    assert not any("shot change" in t.get_text() or "mouth hidden" in t.get_text()
                   for ax in fig.axes for t in ax.get_legend().get_texts())
