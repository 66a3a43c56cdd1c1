"""Head pose events and their selection: a turn back that comes to rest facing the camera is a
return to the middle (dfec.dynamics.swings.end_at_center_pause), and head lifts / lowers have their
own selection floor (DynamicsConfig.pitch_min_strength). Synthetic sequences with known truth."""
from __future__ import annotations

import numpy as np
import pytest

from dfec.dynamics import synthetic as syn
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.ranking import strong_enough
from dfec.dynamics.signals import track_signals
from dfec.dynamics.swings import Swing, end_at_center_pause
from dfec.dynamics.wording import group_events
from dfec.schema import Event

CFG = DynamicsConfig(left_right="viewer")


def head_events(tr, config=CFG):
    return [e for e in detect_events(track_signals(tr, config.signals), config) if e.region == "head"]


def ease(t, t0, t1):
    """0 before ``t0``, 1 after ``t1``, a cosine ramp between (one speed peak)."""
    u = np.clip((np.asarray(t, float) - t0) / (t1 - t0), 0, 1)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def back_then_drift(t):
    """Turned to the image left (-30 degrees), back to facing the camera (+3) over 1.0-1.6 s, a
    rest there, then a slow drift on by 8 degrees (less than a turn's threshold) to +11 over
    2.2-4.0 s (dev clip 669's last turn back: rest at 5 degrees, drift to 15)."""
    return -30 + 33 * ease(t, 1.0, 1.6) + 8 * ease(t, 2.2, 4.0)


def test_a_turn_back_that_rests_facing_the_camera_is_a_return_not_a_turn_past_it():
    evs = head_events(syn.sequence(5.0, noise_px=0.2, yaw=back_then_drift))
    turns = [e for e in evs if e.kind.startswith("head_turn")]
    # before: one swing from -30 to +11, "crossed" the middle by a turn's threshold: a turn right
    assert [e.kind for e in turns] == ["head_turn_center"]
    # it ends where the head came to rest (1.6 s), not at the end of the drift (4 s)
    assert turns[0].start == pytest.approx(1.0, abs=0.25) and turns[0].end < 2.0
    assert turns[0].intensity == pytest.approx(33, abs=4)


def test_a_turn_through_the_middle_that_goes_on_stays_a_turn():
    # a pause facing the camera, then on by more than a turn's threshold to the other side
    on = lambda t: -30 + 32 * ease(t, 1.0, 1.6) + 28 * ease(t, 2.2, 2.8)
    assert [e.kind for e in head_events(syn.sequence(4.0, noise_px=0.2, yaw=on))
            if e.kind.startswith("head_turn")] == ["head_turn_right"]
    # one smooth movement from one side to the other (one speed peak): a turn, as before
    smooth = lambda t: -25 + 40 * ease(t, 1.0, 2.0)
    assert [e.kind for e in head_events(syn.sequence(4.0, noise_px=0.2, yaw=smooth))
            if e.kind.startswith("head_turn")] == ["head_turn_right"]


def test_a_tilt_back_that_rests_upright_straightens():
    # tilted (-16 degrees), back upright (+1) and at rest, then a drift on by 6.5 degrees (less
    # than a tilt's threshold, 7) to +7.5, past the middle by that threshold: before, a tilt
    tilt = lambda t: -16 + 17 * ease(t, 1.0, 1.5) + 6.5 * ease(t, 2.0, 3.5)
    assert [e.kind for e in head_events(syn.sequence(4.0, noise_px=0.2, roll=tilt))
            if e.kind.startswith("head_tilt")] == ["head_tilt_center"]


def test_end_at_center_pause_cuts_only_a_swing_from_a_posed_side_at_a_pause():
    t = np.arange(80) / 16.0
    yaw = back_then_drift(t)
    x = yaw - np.median(yaw)
    s = Swing("yaw", 0, len(t) - 1, 0.0, float(t[-1]), float(x[0]), float(x[-1]))
    cut = end_at_center_pause(x, t, s, yaw, posed=20, threshold=10, pause_ratio=0.5)
    assert 1.5 <= t[cut.i1] <= 2.3 and yaw[cut.i1] == pytest.approx(3, abs=1)
    assert cut.amplitude == pytest.approx(33, abs=1)
    # off, or a swing that does not start posed: unchanged
    assert end_at_center_pause(x, t, s, yaw, posed=20, threshold=10, pause_ratio=0) is s
    assert end_at_center_pause(x, t, s, yaw + 15, posed=20, threshold=10, pause_ratio=0.5) is s


def test_slight_head_lifts_and_lowers_are_said_other_slight_changes_are_not():
    lift = Event("head_lift", 2.5, 2.9, 11.0, "head")     # pitch 11 deg against pitch_deg 10: strength 1.1
    tilt = Event("head_tilt_left", 2.5, 2.9, 9.0, "head")  # strength 1.29 < min_strength 1.5
    cfg = DynamicsConfig()
    assert strong_enough(lift, cfg) and not strong_enough(tilt, cfg)
    phase = group_events([lift], 8.0, cfg)[1]
    assert [e.kind for e in phase] == ["head_lift"] and phase[0].text == "their head lifts slightly"
    assert not strong_enough(lift, DynamicsConfig(pitch_min_strength=1.5))
    assert not strong_enough(Event("head_lower", 2.5, 2.9, 8.0, "head"), cfg)  # below its threshold


def creep_then_lift(t):
    """The head sinks back up by 2 degrees over 0.4-1.4 s, then lifts by 10 more over 1.6-1.9 s
    (dev clip 2422: a 2-degree creep before a slight lift)."""
    return -20 + 2 * ease(t, 0.4, 1.4) + 10 * ease(t, 1.6, 1.9)


def test_a_lift_starts_where_the_head_takes_off_not_at_a_slow_creep_before_it():
    lifts = [e for e in head_events(syn.sequence(3.0, noise_px=0.1, pitch=creep_then_lift))
             if e.kind == "head_lift"]
    assert len(lifts) == 1 and lifts[0].intensity == pytest.approx(12, abs=2)
    # the 10 %-of-amplitude onset (1.2 units of 12) falls inside the creep, ~0.9 s
    assert 1.4 <= lifts[0].start <= 1.7
    off = DynamicsConfig(left_right="viewer", head_lift_onset=0)
    early = [e for e in head_events(syn.sequence(3.0, noise_px=0.1, pitch=creep_then_lift), off)
             if e.kind == "head_lift"]
    assert early and early[0].start < 1.3


def _cut_at(sig, at_s):
    """The face's scale jumps 1.6x at ``at_s`` (another shot of the same person)."""
    sig.iod_px = np.asarray(sig.iod_px, float).copy()
    sig.iod_px[int(round(at_s * sig.fps)):] *= 1.6
    return sig


def test_no_turn_tilt_or_shake_across_a_shot_cut():
    jump = lambda t: 25 * ease(t, 1.2, 1.35)        # the pose jumps between two shots
    for curve, kind in (("yaw", "head_turn_right"), ("roll", "head_tilt_right")):
        sig = track_signals(syn.sequence(3.0, noise_px=0.2, **{curve: jump}), CFG.signals)
        assert kind in [e.kind for e in detect_events(sig, CFG)]
        assert kind not in [e.kind for e in detect_events(_cut_at(sig, 1.25), CFG)]
    # a shake: four alternating turns of 14 degrees, one of them across a cut, is no shake
    shake = lambda t: 14 * np.sin(2 * np.pi * 1.25 * np.clip(t - 1.0, 0, 1.6))
    sig = track_signals(syn.sequence(4.0, noise_px=0.2, yaw=shake), CFG.signals)
    assert "head_shake" in [e.kind for e in detect_events(sig, CFG)]
    assert "head_shake" not in [e.kind for e in detect_events(_cut_at(sig, 1.8), CFG)]


def test_a_tilt_inside_a_much_larger_turn_is_part_of_the_turn():
    # one movement: the head turns 50 degrees to the image left (near profile) and rolls 18 degrees
    # towards the image right on the way (dev clip skarsgard: 58 + 25 degrees, said only as a tilt)
    turn = lambda t: -50 * ease(t, 1.0, 2.0)
    roll = lambda t: 18 * ease(t, 1.1, 1.9)
    kinds = [e.kind for e in head_events(syn.sequence(4.0, noise_px=0.2, yaw=turn, roll=roll))
             if e.kind.startswith(("head_turn", "head_tilt"))]
    assert kinds == ["head_turn_left"]  # viewer's left in CFG; before: also head_tilt_right
    # a tilt as large as half the turn or more is a movement of its own and stays
    big = lambda t: 30 * ease(t, 1.1, 1.9)
    kinds = [e.kind for e in head_events(syn.sequence(4.0, noise_px=0.2, yaw=turn, roll=big))
             if e.kind.startswith(("head_turn", "head_tilt"))]
    assert sorted(kinds) == ["head_tilt_right", "head_turn_left"]
    # and a tilt at another time than the turn is untouched
    later = lambda t: 18 * ease(t, 2.8, 3.4)
    kinds = [e.kind for e in head_events(syn.sequence(4.5, noise_px=0.2, yaw=turn, roll=later))
             if e.kind.startswith(("head_turn", "head_tilt"))]
    assert kinds == ["head_turn_left", "head_tilt_right"]
    # off: both, as before
    off = DynamicsConfig(left_right="viewer", head_secondary_ratio=0.0)
    kinds = [e.kind for e in head_events(syn.sequence(4.0, noise_px=0.2, yaw=turn, roll=roll), off)
             if e.kind.startswith(("head_turn", "head_tilt"))]
    assert sorted(kinds) == ["head_tilt_right", "head_turn_left"]


def test_no_head_lift_or_lower_while_a_hand_hides_the_mouth():
    # a 15-degree lift at 1.0-1.5 s and a lower back at 2.5-3.0 s; the second happens while the
    # mouth is hidden (dev clip WolfgangLanger: a hand over mouth and nose made a lift and a lower
    # of the pitch fit while the head stayed still by eye)
    pitch = lambda t: 15 * ease(t, 1.0, 1.5) - 15 * ease(t, 2.5, 3.0)
    sig = track_signals(syn.sequence(4.0, noise_px=0.2, pitch=pitch), CFG.signals)
    clear = [e.kind for e in detect_events(sig, CFG) if e.kind in ("head_lift", "head_lower")]
    assert clear == ["head_lift", "head_lower"]
    sig = track_signals(syn.sequence(4.0, noise_px=0.2, pitch=pitch), CFG.signals)
    sig.mouth_occluded = (sig.times >= 2.2) & (sig.times <= 3.3)
    hidden = [e.kind for e in detect_events(sig, CFG) if e.kind in ("head_lift", "head_lower")]
    assert hidden == ["head_lift"]  # before: the lower under the hand too
    off = DynamicsConfig(left_right="viewer", pitch_occluded_max=1.0)
    assert [e.kind for e in detect_events(sig, off) if e.kind in ("head_lift", "head_lower")] == clear


# ------------------------------------------------------------------ the starting pitch state
def _start(sig, cfg=None):
    from dfec.dynamics.states import head_state

    cfg = cfg or DynamicsConfig()
    return [e.kind for e in head_state(sig, cfg, np.arange(3))]


def test_a_head_bowed_22_degrees_at_the_start_is_lowered_when_the_mesh_agrees():
    """Dev clip 2422 (by eye bowed, "his head is lowered"): PnP -22, mesh 3-D pitch -23 at the
    start; the PnP-only threshold of 25 missed it. The synthetic mesh bowed by 22 degrees reads the
    same on both, and is lowered; 15 degrees (a level face's spread) is not."""
    from dfec.dynamics.synthetic_mesh import mesh_sequence
    from dfec.dynamics.states import initial_state

    bowed = track_signals(mesh_sequence(2.0, noise_px=0.2, pitch=lambda t: -22 + 0 * t), CFG.signals)
    assert np.nanmedian(bowed["pitch"][:3]) > -25 and np.nanmedian(bowed["pitch3d"][:3]) <= -20
    kinds = [e.kind for e in initial_state(bowed)]
    assert "head_is_lowered" in kinds and "gaze_is_down" in kinds
    level = track_signals(mesh_sequence(2.0, noise_px=0.2, pitch=lambda t: -15 + 0 * t), CFG.signals)
    assert "head_is_lowered" not in _start(level)


def test_a_pnp_bow_the_mesh_does_not_see_is_not_a_lowered_head():
    """Dev clip 5854 (turned 18-33 degrees and tilted -14, by eye not lowered): the 2-D PnP fit
    read -22, the mesh's own face axis -14 (a level face's reading). A PnP bow of 28 degrees (past
    the old PnP-only threshold) with the mesh axis level is not said; without a mesh the PnP
    reading alone decides at ``head_pitch_alone_deg``."""
    from dfec.dynamics.synthetic_mesh import mesh_sequence

    sig = track_signals(mesh_sequence(2.0, noise_px=0.2, pitch=lambda t: -28 + 0 * t), CFG.signals)
    assert "head_is_lowered" in _start(sig)
    sig.values["pitch3d"] = np.full(len(sig), -14.0)
    assert "head_is_lowered" not in _start(sig)
    del sig.values["pitch3d"]          # a track without a mesh: the PnP pitch alone, at 25
    assert "head_is_lowered" in _start(sig)
    sig.values["pitch"] = np.full(len(sig), -22.0)
    assert "head_is_lowered" not in _start(sig)


def test_a_head_held_bowed_all_clip_stays_lowered_at_the_end():
    """Dev clip 4251: bowed on every frame by eye (PnP -29..-32, mesh pitch -37..-42), its by-eye
    caption "his head stays lowered"; the end states said nothing of the head. A bow held through
    the clip is said at the end; one that lifts back to level, or one that starts level and
    lowers later (its lower event tells it), is not."""
    from dfec.dynamics.synthetic_mesh import mesh_sequence
    from dfec.dynamics.states import final_state
    from dfec.dynamics.wording import CLAUSES

    def finals(pitch):
        tr = mesh_sequence(3.0, noise_px=0.2, pitch=pitch)
        return [e.kind for e in final_state(track_signals(tr, CFG.signals), CFG)]

    assert "head_stays_lowered" in finals(lambda t: -28 + 0 * t)
    assert "head_stays_lowered" not in finals(lambda t: -28 + 28 * ease(t, 1.0, 1.6))
    assert "head_stays_lowered" not in finals(lambda t: -28 * ease(t, 1.0, 1.6))
    assert "head_stays_lowered" not in finals(lambda t: -15 + 0 * t)
    canonical = pytest.importorskip("dfec.metrics.canonical", reason="offline judge's parser not present")
    assert canonical.describe(CLAUSES["head_stays_lowered"][0]).startswith("head down [state")


# ------------------------------------------------------------------ head sways (rocking) and shakes
def rock(amplitude, hz, t0, t1):
    """A head rocking ``amplitude`` degrees either way at ``hz`` from ``t0`` to ``t1`` (0 outside;
    each swing from one side to the other lasts 1 / (2 hz) s)."""
    return lambda t: np.where((t > t0) & (t < t1), amplitude * np.sin(2 * np.pi * hz * (np.asarray(t) - t0)), 0.0)


def test_a_slow_rocking_of_the_head_is_a_sway_not_a_row_of_tilts():
    # swinging side to side at 0.45 Hz, 1.1 s a swing (dev clip nggyup, by eye: the singer's head
    # rocks with roll swings of 0.5-1.6 s; a sway's swings were held to a shake's 0.8 s before)
    tr = syn.sequence(6.0, noise_px=0.2, roll=rock(15, 0.45, 0.8, 5.3))
    evs = head_events(tr)
    sways = [e for e in evs if e.kind == "head_sway"]
    assert len(sways) == 1 and sways[0].start < 1.6 and sways[0].end > 4.4
    assert not [e for e in evs if e.kind.startswith("head_tilt")]
    # a turn rocking as slowly is no shake: a shake ("no") is quick
    evs = head_events(syn.sequence(6.0, noise_px=0.2, yaw=rock(18, 0.45, 0.8, 5.3)))
    assert "head_shake" not in [e.kind for e in evs]
    # and a rocking slower than sway_max_swing_s is a row of tilts
    slow = DynamicsConfig(left_right="viewer", sway_max_swing_s=1.0)
    assert "head_sway" not in [e.kind for e in head_events(tr, slow)]


def test_one_tilt_and_back_or_a_still_head_is_no_sway():
    # a tilt to one side and back (two swings) is not a sway, however quick
    there_and_back = lambda t: 15 * (ease(t, 1.0, 1.5) - ease(t, 2.0, 2.5))
    assert "head_sway" not in [e.kind for e in head_events(syn.sequence(4.0, noise_px=0.2, roll=there_and_back))]
    # a talking head bobs a little all the time: wobbles of 2 degrees either way are no sway
    assert not [e for e in head_events(syn.sequence(6.0, noise_px=0.3, roll=rock(2, 0.8, 0.5, 5.5)))
                if e.kind in ("head_sway", "head_shake")]


def test_turning_and_tilting_at_once_is_one_rocking_movement():
    # the head rocks with both turn and tilt (nggyup): one event, named by the axis that moves
    # more against its threshold (roll 16 / 7 over yaw 14 / 10: a sway), and neither the turns nor
    # the tilts inside it; before: a shake and a sway over the same span
    tr = syn.sequence(5.0, noise_px=0.2, yaw=rock(14, 1.2, 1.0, 3.5), roll=rock(16, 1.2, 1.0, 3.5))
    evs = head_events(tr)
    kinds = [e.kind for e in evs]
    assert kinds.count("head_sway") == 1 and "head_shake" not in kinds
    assert not [k for k in kinds if k.startswith(("head_turn", "head_tilt"))]
    # mostly a turn: a shake
    tr = syn.sequence(5.0, noise_px=0.2, yaw=rock(25, 1.2, 1.0, 3.5), roll=rock(14, 1.2, 1.0, 3.5))
    kinds = [e.kind for e in head_events(tr)]
    assert kinds.count("head_shake") == 1 and "head_sway" not in kinds


def test_the_roll_of_large_turns_is_no_sway():
    # a head turning 40 degrees to each side and back rolls in the image with each turn (dev clip
    # 669: 12-degree rolls during 44-84-degree turns): the turns are said, no sway
    tr = syn.sequence(6.0, noise_px=0.2, yaw=rock(40, 0.45, 0.8, 5.3), roll=rock(12, 0.45, 0.8, 5.3))
    kinds = [e.kind for e in head_events(tr)]
    assert "head_sway" not in kinds and "head_shake" not in kinds
    assert [k for k in kinds if k.startswith("head_turn")]
    off = DynamicsConfig(left_right="viewer", head_secondary_ratio=0.0)
    assert "head_sway" in [e.kind for e in head_events(tr, off)]


def test_nods_inside_a_sway_are_its_dips():
    # a rocking head dips with each swing (pitch at twice the rocking rate): no nods of their own
    # (nggyup: seven "nods" of 11-22 degrees inside its sway, none by eye); before: nods
    roll = rock(15, 0.45, 0.8, 5.3)
    dip = lambda t: np.where((t > 0.8) & (t < 5.3), -10 * np.abs(np.sin(2 * np.pi * 0.45 * (np.asarray(t) - 0.8))), 0.0)
    kinds = [e.kind for e in head_events(syn.sequence(6.0, noise_px=0.2, roll=roll, pitch=dip))]
    assert "head_sway" in kinds and "head_nod" not in kinds
    # the same dips without the rocking are nods
    assert "head_nod" in [e.kind for e in head_events(syn.sequence(6.0, noise_px=0.2, pitch=dip))]


def test_a_sway_up_to_a_shot_cut_counts_its_swings_before_the_cut():
    # the head rocks (three swings: up to +14, down to -14, back up) and the shot cuts at 2.3 s
    # while it swings back, the next shot showing it at +30: the swing before the cut is a movement,
    # the jump is not (nggyup's wide shot, 1.1-3.0 s); before: the third swing ran into the jump
    # and was dropped with it, leaving two
    roll = lambda t: np.where(t < 2.3, rock(14, 0.8, 1.0, 4.0)(t), 30.0)
    sig = _cut_at(track_signals(syn.sequence(4.0, noise_px=0.2, roll=roll), CFG.signals), 2.3)
    sways = [e for e in detect_events(sig, CFG) if e.kind == "head_sway"]
    assert len(sways) == 1 and sways[0].end < 2.35
    # no chain across a cut: two swings before it (up to +14, down to -14 at the cut) and two after
    # (up to +14, down to -14) are no sway, even where the pose does not jump
    pre = lambda t: 14 * np.sin(2 * np.pi * 0.8 * np.clip(np.asarray(t) - 1.0, 0, 0.9375))
    post = lambda t: -14 * np.cos(2 * np.pi * 0.8 * np.clip(np.asarray(t) - 2.0, 0, 1.25))
    two = lambda t: np.where(np.asarray(t) < 2.0, pre(t), post(t))
    tr = syn.sequence(4.5, noise_px=0.2, roll=two)
    assert "head_sway" in [e.kind for e in detect_events(track_signals(tr, CFG.signals), CFG)]  # one shot: a sway
    sig = _cut_at(track_signals(tr, CFG.signals), 2.0)
    assert "head_sway" not in [e.kind for e in detect_events(sig, CFG)]


def test_a_sway_ranks_as_the_tilts_it_stands_for():
    # a sway replaces its tilts in the timeline; under its own rarer cell it lost the clause cap
    # where a tilt would have been said (nggyup)
    from dfec.dynamics.ranking import share
    from dfec.dynamics.wording import clause

    for kind, single in (("head_sway", "head_tilt_left"), ("head_shake", "head_turn_left")):
        a, b = Event(kind, 1.0, 3.0, 20.0, "head"), Event(single, 1.0, 1.5, 20.0, "head")
        a.text, b.text = clause(a, CFG), clause(b, CFG)
        assert share(a) == pytest.approx(share(b)) and share(a) > 0.03


@pytest.mark.parametrize("clip, sways", [
    # dev nggyup, by eye: the head rocks side to side through the wide shot (1.1-3.0 s, "he turns his
    # head from side to side") and from 3.4 s to the end in the close-up ("his head swaying from side
    # to side"); the found onset may lead the by-eye one by up to 0.3 s (flip-averaged mesh: 0.875 s);
    # no-split dirtydancing: rocking after the one-frame insert at 7.53 s (roll 10-14)
    ("wild/ghost__nggyup.mp4", [(0.8, 3.1), (3.3, 9.3)]),
    ("wild/ghost__dirtydancing.mp4", [(7.5, 9.3)]),
    # no sway: a talking head (RAVDESS) and animated turns held in between (Hamilton, 2.9-7.0 s)
    ("01-01-08-02-01-01-19.mp4", []),
    ("short_hamilton_clip.mp4", []),
])
def test_real_clip_sways(clip, sways, shared_data, mediapipe_stack, tmp_path):
    video = shared_data / clip
    if not video.is_file():
        pytest.skip("clip not present")
    from dfec.dynamics.captioner import caption_video

    r = caption_video(video, out_dir=tmp_path)
    found = [(e.start, e.end) for e in r.timeline if e.kind in ("head_sway", "head_shake")]
    assert len(found) == len(sways), found
    for (a, b), (lo, hi) in zip(found, sways):
        assert lo <= a and b <= hi and b - a >= 0.5 * (hi - lo), found


@pytest.mark.parametrize("kind", ["head_sway", "head_shake"])
@pytest.mark.parametrize("reference", ["he turns his head from side to side", "his head swaying from side to side",
                                       "her head sways", "he shakes his head"])
def test_the_offline_judge_reads_the_sway_clause_as_the_references_phrasings(kind, reference):
    # the captioner's own wording, plain and slight, against FEC-Bench's phrasings of a rocking head
    from dfec.metrics.judge import make_judge
    from dfec.dynamics.wording import CLAUSES

    judge = make_judge("offline")
    ref = f"Then {reference}."
    for text in set(CLAUSES[kind]):
        j = judge.judge(f"Then {text}.", ref, judge.reference_events(ref))
        assert j.entailed_ref == [True] and j.entailed_pred == [True], text


def test_a_head_that_turns_and_stays_turned_while_rocking_has_turned():
    """A sway holds the turns, tilts, lifts and lowers inside it only when the head ends it about
    where it started on that axis: rocking in roll while turning 30 degrees and staying turned is a
    sway and a turn (review 8: the turn was swallowed, and with it "looking to the right")."""
    cfg = DynamicsConfig(left_right="viewer")
    for turn in (25, 40):
        tr = syn.sequence(6.0, noise_px=0.2, roll=rock(15, 0.45, 0.8, 5.3), yaw=lambda t: turn * ease(t, 2.6, 3.2))
        got = [e.kind for e in head_events(tr, cfg)]
        assert "head_sway" in got and "head_turn_right" in got, got
    # rocking alone: its tilts are the sway's
    got = [e.kind for e in head_events(syn.sequence(6.0, noise_px=0.2, roll=rock(15, 0.45, 0.8, 5.3)), cfg)]
    assert "head_sway" in got and not [k for k in got if k.startswith(("head_tilt", "head_turn"))], got


def test_a_bowed_head_turned_further_is_said_lowered_and_turned():
    """Dev clip 2422 (by eye, 0-0.9 s: chin down, the top of the head towards the camera, the face
    towards the image left; its reference: "his head is lowered and turned slightly to the right"):
    yaw -37, pitch -20 / mesh pitch -21. The one-pose rule kept the turn, the larger angle, and
    the bow was never said. A synthetic mesh turned 35 degrees and bowed 28 (mesh pitch -22) is said with both, in
    one sentence ("lowered, turned to the left"); with ``head_lowered_with_pose`` off only the turn."""
    from dfec.dynamics.captioner import describe
    from dfec.dynamics.states import initial_state
    from dfec.dynamics.synthetic_mesh import mesh_sequence

    sig = track_signals(mesh_sequence(2.0, noise_px=0.2, yaw=lambda t: 35 + 0 * t, pitch=lambda t: -28 + 0 * t),
                        CFG.signals)
    assert np.nanmedian(sig["pitch"][:3]) <= -20 and np.nanmedian(sig["pitch3d"][:3]) <= -20
    turn = [k for k in _start(sig) if k.startswith("head_is_turned")]
    assert len(turn) == 1 and "head_is_lowered" in _start(sig)
    kinds = [e.kind for e in initial_state(sig) if e.kind.startswith("head_is_")]
    assert sorted(kinds) == sorted(["head_is_lowered", turn[0]])
    side = turn[0].rsplit("_", 1)[1]
    assert f"their head is lowered, turned to the {side}," in describe(sig, 2.0)[0]
    off = DynamicsConfig(head_lowered_with_pose=False)
    assert [e.kind for e in initial_state(sig, off) if e.kind.startswith("head_is_")] == turn
    assert "lowered, turned" not in describe(sig, 2.0, off)[0]
