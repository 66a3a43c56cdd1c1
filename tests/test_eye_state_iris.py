"""The eyes' start state from the eye aspect ratio needs the Iris model's eyelids
(``DynamicsConfig.eye_state_needs_iris``): without them FaceMesh's own lids barely close, and
downcast or half-open eyes of a small face read as "open" (dev 338; dev 2422 at half size)."""
import numpy as np

from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.signals import track_signals
from dfec.dynamics.states import initial_state
from dfec.dynamics.synthetic_mesh import mesh_sequence


def _sig(iris_read: bool, **curves):
    sig = track_signals(mesh_sequence(2.0, noise_px=0.3, **curves))
    assert sig.face_px is not None
    dark = np.full(len(sig), 0.5 if iris_read else np.nan)   # the iris cue, read only with Iris points
    sig.values["iris_dark"], sig.raw["iris_dark"] = dark, dark.copy()
    return sig


def test_no_open_or_closed_eye_state_without_the_iris():
    kinds = [e.kind for e in initial_state(_sig(True))]
    assert "eyes_are_open" in kinds
    kinds = [e.kind for e in initial_state(_sig(False))]
    assert not {"eyes_are_open", "eyes_are_closed"} & set(kinds)
    assert "mouth_is_closed" in kinds                          # the mouth is still read
    off = [e.kind for e in initial_state(_sig(False), DynamicsConfig(eye_state_needs_iris=False))]
    assert "eyes_are_open" in off


def test_tracks_whose_pixels_were_not_read_keep_the_state():
    sig = track_signals(mesh_sequence(2.0, noise_px=0.3))      # no video frames: no iris cue at all
    assert "iris_dark" not in sig.values
    assert "eyes_are_open" in [e.kind for e in initial_state(sig)]


def test_no_closed_or_half_open_end_state_without_the_iris():
    # review 16: the start dropped "eyes are open / closed" without Iris, the end still said "their
    # eyes stay closed / half-open" from the same unreliable aspect ratio
    from dfec.dynamics.states import final_state

    lids = {"eyes": lambda t: np.where(t < 1.2, 1.0, 0.15)}
    with_iris = [e.kind for e in final_state(_sig(True, **lids))]
    assert {"eyes_stay_closed", "eyes_stay_half_open"} & set(with_iris)
    without = [e.kind for e in final_state(_sig(False, **lids))]
    assert not {"eyes_stay_closed", "eyes_stay_half_open"} & set(without)
    off = [e.kind for e in final_state(_sig(False, **lids), DynamicsConfig(eye_state_needs_iris=False))]
    assert {"eyes_stay_closed", "eyes_stay_half_open"} & set(off)
