"""When a caption says a change (its phase), and how a change of a state already there is worded
(issue 11, part "phase2"; eyecheck2 of the dev clips).

* A swing's ``start`` is its 10 % onset, so a slow drift ending in a quick change was said where
  the drift began (dev WolfgangLanger: "their eyes half-close" 8.8-18.4 s in "As the video
  progresses", the lids come down at 18.3-18.6 s of 19.7). A swing now carries the time it crosses
  half its amplitude (``Swing.t_half`` -> ``Event.change_at``) and is said in that time's phase.
* A smile of corners the caption already called lifted is "their smile broadens" (dev s32), and
  its companions (cheeks, lids) still follow it.
"""
from __future__ import annotations

import numpy as np
import pytest

from dfec.dynamics import synthetic as syn
from dfec.dynamics.captioner import describe
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.signals import track_signals
from dfec.dynamics.swings import swings
from dfec.dynamics.wording import group_events, said_at
from dfec.metrics.canonical import describe as read
from dfec.metrics.relations import SAME, OfflineRelationClassifier
from dfec.schema import Event

FPS = 16.0


def drift_then_drop(t: np.ndarray) -> np.ndarray:
    """0 -> -0.2 slowly over 2-14 s, then -> -1.0 in 0.4 s at 18.2 s (a 19.7-s clip)."""
    return -0.2 * np.clip((t - 2.0) / 12.0, 0, 1) - 0.8 * np.clip((t - 18.2) / 0.4, 0, 1)


# ------------------------------------------------------------------------------ the swing's time
def test_a_swing_knows_when_it_crosses_half_its_amplitude():
    t = np.arange(0, 19.7, 1 / FPS)
    (s,) = swings(drift_then_drop(t), t, 0.3, "x")
    assert s.t0 < 10.0                                 # the 10 % onset lies in the slow drift
    assert s.t_half == pytest.approx(18.4, abs=0.1)    # the drop is where half the change happens
    assert s.t0 <= s.t_half <= s.t1
    # a plain ramp: the half time is its middle
    (r,) = swings(np.clip((t - 4.0) / 2.0, 0, 1), t, 0.3, "x")
    assert r.t_half == pytest.approx(5.0, abs=1 / FPS)


def test_an_early_wobble_past_half_does_not_set_the_half_time():
    t = np.arange(0, 10, 1 / FPS)
    x = np.clip((t - 7.0) / 0.5, 0, 1) + 0.55 * np.exp(-((t - 2.0) / 0.15) ** 2)  # a blip to 55 % at 2 s
    s = [s for s in swings(x, t, 0.8, "x") if s.amplitude > 0][-1]
    assert s.t_half == pytest.approx(7.25, abs=0.1)


# ------------------------------------------------------------------------------ the caption phase
def test_a_change_is_said_in_the_phase_of_its_half_time_and_keeps_its_start():
    cfg = DynamicsConfig(min_strength=0)
    drift = Event("eyes_narrow", 8.8, 18.4, 0.8, "eyes", change_at=18.3)
    phases = group_events([drift], 19.7, cfg)
    assert [[e.kind for e in p] for p in phases] == [[], [], [], ["eyes_narrow"]]
    said = phases[3][0]
    assert (said.start, said.end, said.change_at) == (8.8, 18.4, 18.3)   # start / end mean what they meant
    assert said_at(said) == 18.3
    # without a half time (blinks, speech, states, older events.json files) the start places it
    old = Event("eyes_narrow", 8.8, 18.4, 0.8, "eyes")
    assert [[e.kind for e in p] for p in group_events([old], 19.7, cfg)][1] == ["eyes_narrow"]


def test_clauses_within_a_phase_follow_their_half_times():
    cfg = DynamicsConfig(min_strength=0)
    slow = Event("head_turn_left", 2.1, 3.9, 30.0, "head", change_at=3.7)
    quick = Event("brows_raise", 3.0, 3.3, 0.2, "brows", change_at=3.1)
    assert [e.kind for e in group_events([slow, quick], 8.0, cfg)[1]] == ["brows_raise", "head_turn_left"]


def test_event_half_time_is_written_and_old_files_load():
    e = Event("head_lift", 1.0, 2.0, 12.0, "head", change_at=1.6)
    assert Event.from_json(e.to_json()) == e
    old = {"kind": "head_lift", "start": 1.0, "end": 2.0, "intensity": 12.0, "region": "head", "text": ""}
    assert Event.from_json(old).change_at is None


def _yaw(t):
    """A slow drift of 6 degrees over 2-14 s, then a quick turn of 24 degrees at 15.7-16.2 s."""
    t = np.asarray(t, float)
    return 6.0 * np.clip((t - 2.0) / 12.0, 0, 1) + 24.0 * np.clip((t - 15.7) / 0.5, 0, 1)


def test_a_slow_drift_ending_in_a_quick_turn_is_said_towards_the_end():
    cfg = DynamicsConfig()
    sig = track_signals(syn.sequence(20.0, noise_px=0.2, seed=3, yaw=_yaw), cfg.signals)
    text, used, timeline = describe(sig, 20.0, cfg)
    (turn,) = [e for e in timeline if e.kind.startswith("head_turn")]
    assert turn.start < 10.0                                # onset in the drift ("as the video progresses")
    assert turn.change_at == pytest.approx(16.0, abs=0.3)   # the turn itself
    end = text.split("Towards the end of the video,")[1]
    assert "their head turns to the left" in end
    assert "progresses, there is no obvious change" in text


def test_blinks_and_states_keep_being_placed_by_their_start():
    tr = syn.sequence(8.0, noise_px=0.2, seed=1, eyes=lambda t: 1 - syn.bump(t, 3.0, 3.12, 0.06))
    cfg = DynamicsConfig()
    _, used, timeline = describe(track_signals(tr, cfg.signals), 8.0, cfg)
    assert [e.change_at for e in timeline if e.kind == "blink"] == [None]
    assert all(e.change_at is None for e in used if e.kind.startswith(("eyes_are", "mouth_is")))


# ------------------------------------------------------------------------------ smile companions
def test_a_companion_that_happens_after_the_smiles_phase_is_said_in_its_own_phase():
    smile = Event("smile", 2.2, 3.2, 0.08, "mouth", change_at=2.7)     # strength 2, phase 1 of 8 s
    # begins with the smile (strength 1.2 < min_strength: said only as the smile's companion),
    # but the lids tighten mostly at 4.5 s: in the middle phase
    lids = Event("lids_tighten", 2.4, 4.8, 0.18, "eyes", change_at=4.5)
    phases = group_events([smile, lids], 8.0, DynamicsConfig())
    assert [e.kind for e in phases[1]] == ["smile"]
    assert [e.kind for e in phases[2]] == ["lids_tighten"]
    # one that started before the smile is still not the smile's
    early = Event("lids_tighten", 1.5, 4.8, 0.18, "eyes", change_at=4.5)
    assert [e.kind for p in group_events([smile, early], 8.0, DynamicsConfig()) for e in p] == ["smile"]


# ------------------------------------------------------------------------------ a smile broadening
LIFTED = Event("corners_are_lifted", 0.0, 0.0, 0.06, "mouth")
SMILE = Event("smile", 2.2, 3.2, 0.08, "mouth")                         # strength 2: "the person smiles"


def _texts(events, cfg=None):
    phases = group_events([Event(e.kind, e.start, e.end, e.intensity, e.region, change_at=e.change_at)
                           for e in events], 8.0, cfg or DynamicsConfig())
    return [[e.text for e in p] for p in phases]


def test_a_smile_of_corners_already_lifted_is_said_to_broaden():
    out = _texts([LIFTED, SMILE])
    assert out[0] == ["the corners of their mouth are lifted"]
    assert out[1] == ["their smile broadens"]
    # not lifted before: a smile
    assert _texts([SMILE])[1] == ["the person smiles"]
    # the corners came down in between (measured, whether said or not): a new smile
    fade = Event("smile_fade", 1.0, 1.4, 0.045, "mouth")                # weak: not said
    assert _texts([LIFTED, fade, SMILE])[1] == ["the person smiles"]
    # weak and strong broadenings keep their degree
    weak = Event("smile", 2.2, 3.2, 0.05, "mouth")
    assert _texts([LIFTED, weak], DynamicsConfig(min_strength=0))[1] == ["their smile broadens slightly"]
    strong = Event("smile", 2.2, 3.2, 0.13, "mouth")
    assert _texts([LIFTED, strong])[1] == ["their smile grows wide"]


def test_a_later_smile_after_one_already_said_broadens_it():
    first = Event("smile", 0.5, 1.0, 0.08, "mouth")
    out = _texts([first, SMILE], DynamicsConfig(max_phases_per_kind=2))   # (one phase per kind by default)
    assert out[0] == ["the person smiles"] and out[1] == ["their smile broadens"]


def test_the_smiles_companions_still_follow_the_broadening():
    cheeks = Event("cheeks_raise", 2.3, 2.6, 0.06, "cheeks")            # strength 1.2: a companion only
    lids = Event("lids_tighten", 2.4, 2.7, 0.18, "eyes")
    out = _texts([LIFTED, SMILE, cheeks, lids])[1]
    assert out == ["their smile broadens", "their cheeks raise slightly", "their eyes narrow slightly"]


@pytest.mark.parametrize("text", ["their smile broadens", "their smile broadens slightly", "their smile grows wide"])
def test_the_offline_judge_reads_a_broadening_as_a_smile(text):
    assert read(text).startswith("corners up [change")     # the smile's own event, a change
    judge = OfflineRelationClassifier()
    for ref in ("smiles", "a smile", "grins", "she smiles broadly"):
        assert judge.rule(text, ref) == SAME and judge.rule(ref, text) == SAME
    assert judge.rule(text, "her smile fades") != SAME


def test_a_smile_companion_is_never_said_before_its_smile():
    # review 5: a companion may begin up to 0.2 s before its smile, so its own phase could come first:
    # "their cheeks raise slightly" in the first phase, "the person smiles broadly" in the second
    from dfec.dynamics.config import DynamicsConfig
    from dfec.dynamics.wording import group_events
    from dfec.schema import Event

    cfg = DynamicsConfig()
    b = cfg.segments[0] * 6.0
    for cheek_half in (b + 0.05, b - 0.05):
        evs = [Event("smile", b - 0.1, b + 0.6, 0.2, "mouth", change_at=b + 0.2),
               Event("cheeks_raise", b - 0.2, b + 0.3, 0.06, "cheeks", change_at=cheek_half)]
        phases = [[e.kind for e in p] for p in group_events(evs, 6.0, cfg)]
        assert phases[0] == [] and phases[1] == ["smile", "cheeks_raise"], phases


def test_a_smile_held_at_the_start_of_a_mesh_track_reads_the_mesh_threshold():
    # review 5: the start's smile was tested against the 68-point smile_lift (0.04) on mesh tracks,
    # whose 3-D corner lift is found at smile_lift_mesh (0.03)
    from dataclasses import replace

    from dfec.dynamics.captioner import _initial_smile, ranking_config
    from dfec.dynamics.config import DynamicsConfig
    from dfec.dynamics.signals import CORNER_LIFT_2D, FaceSignals

    t = np.arange(32) / 16.0
    lift = np.where(t < 0.5, 0.035, 0.0)
    sig = FaceSignals(t, 16.0, {"corner_lift": lift, "mouth_width": np.where(t < 0.5, 0.6, 0.5)},
                      raw={CORNER_LIFT_2D: lift}, iod_px=np.full(32, 80.0))
    cfg = replace(DynamicsConfig(), smile_width_abs=0.0)
    assert _initial_smile(sig, cfg) == []
    assert [e.kind for e in _initial_smile(sig, ranking_config(sig, cfg))] == ["corners_are_lifted"]
