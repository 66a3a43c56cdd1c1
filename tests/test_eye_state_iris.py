"""The eyes' start state from the eye aspect ratio needs the Iris model's eyelids
(``DynamicsConfig.eye_state_needs_iris``): without them FaceMesh's own lids barely close, and
downcast or half-open eyes of a small face read as "open" (dev 338; dev 2422 at half size)."""
import numpy as np

from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.signals import track_signals
from dfec.dynamics.states import initial_state
from dfec.dynamics.synthetic_mesh import mesh_sequence


def _sig(iris_read: bool):
    sig = track_signals(mesh_sequence(2.0, noise_px=0.3))
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
    sig.values.pop("iris_dark", None)
    assert "eyes_are_open" in [e.kind for e in initial_state(sig)]
