"""A face near the tracker's Iris size (``TrackConfig.iris_min_face_px``) has Iris on some frames
and not others; FaceMesh's own lids barely move, so its lid aperture without Iris is a different
reading of the same eye (dev 2422, 338, 167 re-tracked both ways: 0.69-0.76 iris diameters
without Iris whatever the lids do). ``SignalConfig.lids_need_iris`` makes the frames without Iris
missing for the eyelid and gaze signals, so the switch is no "eyes widen"."""
from dataclasses import replace

import numpy as np

from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.signals import track_signals
from dfec.dynamics.synthetic_mesh import mesh_sequence


def _switching_track(switch_s: float = 2.0):
    """Lowered lids held still (``eyes`` 0.55) for 4 s; from ``switch_s`` on the Iris model no
    longer runs: no iris points, and the mesh's lids read as FaceMesh alone reads them (wide)."""
    low = mesh_sequence(4.0, noise_px=0.2, eyes=lambda t: 0.55)
    wide = mesh_sequence(4.0, noise_px=0.2, seed=1, eyes=lambda t: 1.0)
    tr = low.tracks[0]
    cut = int(switch_s * 16)
    mesh, iris = np.array(tr.mesh), np.array(tr.iris)
    lids = [159, 158, 160, 145, 153, 144, 386, 385, 387, 374, 380, 373]
    mesh[cut:, lids] = np.asarray(wide.tracks[0].mesh)[cut:, lids]
    lm = np.array(tr.landmarks)
    lm[cut:, 36:48] = np.asarray(wide.tracks[0].landmarks)[cut:, 36:48]
    iris[cut:] = np.nan
    tr.mesh, tr.iris, tr.landmarks = mesh, iris, lm
    return low, cut


def test_iris_gaps_marks_meshed_rows_without_iris_only_on_a_mixed_track():
    from dfec.dynamics.signals import LID_SIGNALS, iris_gaps

    assert set(LID_SIGNALS) >= {"aperture", "eye_open", "gaze_h", "gaze_v"}
    tr, cut = _switching_track()
    gap = iris_gaps(tr.tracks[0].mesh, tr.tracks[0].iris)
    assert not gap[:cut].any() and gap[cut:].all()
    none = np.full_like(np.asarray(tr.tracks[0].iris), np.nan)
    assert not iris_gaps(tr.tracks[0].mesh, none).any()        # no Iris anywhere: nothing to drop


def test_the_iris_switch_is_no_lid_change():
    tr, cut = _switching_track()
    cfg = DynamicsConfig()
    sig = track_signals(tr, cfg.signals)
    assert np.isnan(sig["aperture"][cut + 9:]).all()           # past the bridged half-second: missing
    assert np.isfinite(sig["aperture"][:cut]).all()
    kinds = {e.kind for e in detect_events(sig, cfg)}
    assert not kinds & {"eyes_widen", "lids_lift", "eyes_open_wide"}, kinds


def test_without_the_rule_the_switch_reads_as_eyes_widening():
    tr, cut = _switching_track()
    cfg = DynamicsConfig()
    off = replace(cfg, signals=replace(cfg.signals, lids_need_iris=False))
    old = track_signals(tr, off.signals)
    step = np.nanmedian(old["aperture"][cut + 4:]) - np.nanmedian(old["aperture"][:cut - 4])
    assert step > 0.2                                           # the step the switch made
    assert "eyes_widen" in {e.kind for e in detect_events(old, off)}
