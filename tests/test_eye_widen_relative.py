"""Eyes widening read against the face's own open aperture (``DynamicsConfig.eye_widen_rel``),
on synthetic FaceMesh faces with known truth: a small-eyed face that blinks every half second and
then stares wide (the RAVDESS clip's case: +29 % of its aperture, under the absolute
``eye_mesh`` of 0.25 iris diameters) widens; the same face without the stare, a still face and a
blink's slow reopening do not."""
from __future__ import annotations

import numpy as np

from dfec.dynamics.captioner import describe_clauses
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.signals import compute_signals
from dfec.dynamics.synthetic import bump
from dfec.dynamics.synthetic_mesh import mesh_sequence

BLINKS = (0.3, 0.8, 1.3, 1.8, 2.3)  # a blink every half second (RAVDESS: six in 2.5 s)


def _sig(eyes, seed=0, noise_px=0.2):
    tr = mesh_sequence(4.0, noise_px=noise_px, seed=seed, eyes=eyes)
    track = tr.main_track
    dark = 0.5 + np.random.default_rng(seed).normal(0, 0.01, len(track))  # blinks read from the lids
    return compute_signals(track.landmarks, track.frames, tr.fps, tr.frame_size, mesh=track.mesh,
                           iris=track.iris, pixels={"iris_dark": dark})


def _blinks(t):
    return sum(bump(t, b, b + 0.12, 0.05) for b in BLINKS)


def stare(t):
    """Lids at 0.75 of the model's opening (aperture ~0.64 iris diameters), blinking, then opened
    to 0.96 (~0.82, +28 %) from 2.7 s to the end."""
    return (0.75 + 0.21 * np.clip((t - 2.7) / 0.2, 0, 1)) * (1 - 0.85 * _blinks(t))


def no_stare(t):
    return 0.75 * (1 - 0.85 * _blinks(t))


def _widen(sig, cfg=None):
    return [e for e in detect_events(sig, cfg or DynamicsConfig()) if e.kind == "eyes_widen"]


def test_a_stare_of_a_small_eyed_blinking_face_widens_its_eyes():
    sig = _sig(stare)
    rise = np.nanmedian(sig["aperture"][-12:]) - np.nanmedian(sig["aperture"][40:44])
    assert 0.12 < rise < DynamicsConfig().eye_mesh   # under the absolute test, as in RAVDESS
    w = _widen(sig)
    assert len(w) == 1 and 2.5 <= w[0].start <= 2.8 and w[0].end <= 3.3
    assert not _widen(sig, DynamicsConfig(eye_widen_rel=0))   # the absolute test alone misses it
    text = describe_clauses(sig, 4.0, DynamicsConfig())[0]
    assert "their eyes widen" in text or "their eyes open wide" in text


def test_no_widening_without_a_stare_on_still_or_blinking_faces():
    for seed in range(3):
        assert not _widen(_sig(no_stare, seed=seed)), seed
        assert not _widen(_sig(lambda t: 0.75 + 0 * t, seed=seed, noise_px=0.3)), seed


def test_a_blinks_slow_reopening_is_no_widening():
    """Dev clip 669 at 5.2-6.4 s: the eyes open a little wider, blink, and the lids come back from
    the blink to ~75 % of their opening, hang there for a quarter second, then open to where they
    were before the blink: one widening, not two."""
    def hang(t):
        lid = np.interp(t, [0, 2.0, 2.1, 2.2, 2.45, 2.6, 4.0], [1, 1, 0.15, 0.78, 0.78, 1, 1])
        return (0.75 + 0.21 * np.clip((t - 1.0) / 0.2, 0, 1)) * lid
    sig = _sig(hang)
    w = _widen(sig)
    assert len(w) == 1 and 0.8 <= w[0].start <= 1.1
    # the rise out of the hanging lids alone passes the relative test
    assert len(_widen(sig, DynamicsConfig(eye_widen_before_s=0))) == 2
