"""The mouth-corner lift on mesh tracks is measured in the head's own frame (issue 11, corner3d):
a head lift or turn during a held smile is no "smile fades"; a real smile and its fading still are."""
import numpy as np
import pytest

from dfec.dynamics.config import DynamicsConfig, effective_thresholds
from dfec.dynamics.events import detect_events
from dfec.dynamics.mesh_signals import corner_lift_3d, head_frame
from dfec.dynamics.signals import CORNER_LIFT_2D, mesh_corner_lift, track_signals
from dfec.dynamics.synthetic import sequence
from dfec.dynamics.synthetic_mesh import mesh_sequence

CORNER_KINDS = {"smile", "smile_fade", "corners_down", "corners_relax"}


def _held_smile(t):
    return 6.0 * np.clip((t - 1.0) / 0.4, 0.0, 1.0)


def _ramp(a, b, t0, t1):
    return lambda t: a + (b - a) * np.clip((t - t0) / (t1 - t0), 0.0, 1.0)


def _mouth_events(tr):
    ev = detect_events(track_signals(tr, pixels=False))
    return [e for e in ev if e.kind in CORNER_KINDS], ev


def test_head_frame_lift_does_not_follow_pitch_or_yaw():
    # a smile held all along while the head lifts by 24 degrees and turns by 30
    tr = mesh_sequence(4.0, smile=lambda t: 6.0 + 0 * t, pitch=_ramp(-12, 12, 1.0, 2.0), yaw=_ramp(0, 30, 2.5, 3.5))
    lift = corner_lift_3d(tr.main_track.mesh)
    assert np.isfinite(lift).all()
    assert np.ptp(lift) < 0.006  # head-fixed: the pose does not move it (perspective leaves ~0.004)
    sig = track_signals(tr, pixels=False)
    # the 68-point image-plane lift (kept in raw) moves by more than the smile threshold's worth
    assert np.nanmax(sig.raw[CORNER_LIFT_2D]) - np.nanmin(sig.raw[CORNER_LIFT_2D]) > 0.03
    np.testing.assert_allclose(sig.raw["corner_lift"], lift, atol=1e-9)


def test_head_frame_lift_sees_the_smile_and_its_size():
    tr = mesh_sequence(3.0, smile=_ramp(0, 6, 1.0, 1.4))
    lift = corner_lift_3d(tr.main_track.mesh)
    # the corners rise 6 mm on a face whose outer eye corners are 90 mm apart
    assert lift[-1] - lift[0] == pytest.approx(6.0 / 90.0, rel=0.1)


def test_head_frame_keeps_nan_rows_and_aligns_the_rest():
    tr = mesh_sequence(2.0, pitch=_ramp(-10, 10, 0.5, 1.5))
    m = np.array(tr.main_track.mesh, dtype=float)
    m[5] = np.nan
    a = head_frame(m)
    assert np.isnan(a[5]).all() and np.isfinite(np.delete(a, 5, axis=0)).all()
    # a still face rotated by the head: the aligned rigid points are the same in every frame
    # (up to the camera's perspective), while in the image they move by a tenth of their size
    rig = np.delete(a, 5, axis=0)[:, [33, 263, 168, 1]]
    assert np.abs(rig - rig[0]).max() < 0.005
    img = np.delete(m, 5, axis=0)[:, [33, 263, 168, 1]]
    img = (img - img.mean(axis=1, keepdims=True)) / np.linalg.norm(img - img.mean(axis=1, keepdims=True), axis=(1, 2))[:, None, None]
    assert np.abs(img - img[0]).max() > 0.05


@pytest.mark.parametrize("amp,noise", [(25, 0.0), (20, 0.5), (20, 1.0)])
def test_held_smile_with_head_lift_gives_no_fade(amp, noise):
    # the held smile of dev clip skarsgard 8.9-9.8 s: the head lifts, the smile stays; the old
    # 68-point lift fell by the corners' depth x tan(pitch) and said "their smile fades"
    tr = mesh_sequence(5.0, noise_px=noise, seed=1, smile=_held_smile, pitch=_ramp(-amp / 2, amp / 2, 3.0, 3.6))
    corners, ev = _mouth_events(tr)
    assert any(e.kind == "head_lift" for e in ev)
    assert [e.kind for e in corners] == ["smile"] and corners[0].start < 1.5


def test_real_smile_and_its_fading_are_still_found():
    # a smile that comes and goes while the head also lifts (elsewhere in time)
    tr = mesh_sequence(6.0, noise_px=0.5, seed=2, smile=lambda t: _held_smile(t) - 6.0 * np.clip((t - 3.0) / 0.4, 0, 1),
                       pitch=_ramp(-10, 10, 4.5, 5.1))
    corners, _ = _mouth_events(tr)
    kinds = [e.kind for e in corners]
    assert kinds[0] == "smile" and kinds[1] in ("smile_fade", "corners_relax") and len(kinds) == 2
    assert 0.8 < corners[0].start < 1.5 and 2.8 < corners[1].start < 3.5


def test_mesh_tracks_use_their_own_threshold_68_point_tracks_keep_theirs():
    cfg = DynamicsConfig(smile_lift=0.04, smile_lift_mesh=0.03)
    mesh_sig = track_signals(mesh_sequence(2.0), pixels=False)
    assert mesh_corner_lift(mesh_sig)
    assert effective_thresholds(mesh_sig, cfg).smile_lift == pytest.approx(0.03)
    plain = track_signals(sequence(2.0), pixels=False)
    assert not mesh_corner_lift(plain) and CORNER_LIFT_2D not in plain.raw
    assert effective_thresholds(plain, cfg).smile_lift == pytest.approx(0.04)
    # the mesh lift's noise floor is its own (second differences), with the mesh's noise multiple
    noisy = track_signals(mesh_sequence(3.0, noise_px=3.0, seed=3), pixels=False)
    floor = cfg.noise_k_mesh * noisy.noise_level("corner_lift")
    assert floor > 0.0
    assert effective_thresholds(noisy, cfg).smile_lift == pytest.approx(max(0.03, floor))


def test_rise_back_to_a_smile_is_the_smile_again():
    # smile (8 mm), the corners come less than half down (a laugh's open mouth: "corners_down", not
    # a fading), then back up to the smile: the way back up is the smile again, not "the corners of
    # their mouth relax" (the old labels)
    curve = lambda t: 8.0 / 6.0 * _held_smile(t) - 3.5 * np.clip((t - 2.5) / 0.4, 0, 1) + 3.5 * np.clip((t - 4.0) / 0.4, 0, 1)
    corners, _ = _mouth_events(mesh_sequence(6.0, noise_px=0.5, seed=4, smile=curve))
    kinds = [e.kind for e in corners]
    assert kinds[0] == "smile" and kinds[-1] == "smile" and "corners_relax" not in kinds
    assert 3.8 < corners[-1].start < 4.5


def test_corners_back_up_from_a_frown_still_relax():
    curve = lambda t: 5.0 * np.clip((t - 1.0) / 0.4, 0, 1) - 5.0 * np.clip((t - 3.0) / 0.4, 0, 1)
    corners, _ = _mouth_events(mesh_sequence(5.0, noise_px=0.5, seed=5, corners_down=curve))
    assert [e.kind for e in corners] == ["corners_down", "corners_relax"]


def test_no_corner_events_read_in_near_profile():
    # a smile that comes and goes while the face is turned 50 degrees: the far corner is guessed
    tr = mesh_sequence(6.0, noise_px=0.5, seed=6, yaw=_ramp(0, 50, 0.5, 1.2),
                       smile=lambda t: 6.0 * np.clip((t - 2.5) / 0.4, 0, 1) - 6.0 * np.clip((t - 4.0) / 0.4, 0, 1))
    sig = track_signals(tr, pixels=False)
    assert not [e for e in detect_events(sig) if e.kind in CORNER_KINDS]
    off = [e.kind for e in detect_events(sig, DynamicsConfig(smile_max_yaw=0)) if e.kind in CORNER_KINDS]
    assert "smile" in off  # the gate, not the signal, keeps them out
