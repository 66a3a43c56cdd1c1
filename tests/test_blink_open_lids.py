"""An iris-darkness dip with the lids as wide as on open eyes is no blink
(``DynamicsConfig.blink_open_lids``): dev ghost__nggyup and no-split ghost__dirtydancing had
"blinks" on motion-blurred or stage-lit frames whose lids were wider than usual (checked by eye).
FaceMesh's lids barely follow a real blink, so a blink whose lids dip only a little must stay."""
from __future__ import annotations

import numpy as np

from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.signals import compute_signals
from dfec.dynamics.synthetic import bump
from dfec.dynamics.synthetic_mesh import mesh_sequence


def _sig(eyes, dips, seed=0):
    """A 4 s mesh face with lids ``eyes`` (a function of time) and an iris darkness of 0.45 that
    falls to 0.08 in each (start, end) of ``dips``."""
    tr = mesh_sequence(4.0, noise_px=0.2, seed=seed, eyes=eyes)
    track = tr.main_track
    t = np.arange(len(track)) / tr.fps
    dark = 0.45 + np.random.default_rng(seed).normal(0, 0.01, len(t))
    for a, b in dips:
        dark = dark - 0.37 * bump(t, a, b, 0.03)
    return compute_signals(track.landmarks, track.frames, tr.fps, tr.frame_size, mesh=track.mesh,
                           iris=track.iris, pixels={"iris_dark": dark})


def _blinks(sig, cfg=None):
    return [round(e.start, 2) for e in detect_events(sig, cfg or DynamicsConfig()) if e.kind == "blink"]


def test_a_dark_iris_over_lids_opened_wider_is_no_blink():
    # the lids open 10 % wider while the head moves (blur darkens the iris disc for 0.15 s)
    wide = lambda t: 1 + 0.1 * bump(t, 1.9, 2.3, 0.05)
    sig = _sig(wide, [(2.0, 2.15)])
    assert _blinks(sig) == []
    assert len(_blinks(sig, DynamicsConfig(blink_open_lids=0))) == 1   # the old reading: a blink


def test_blinks_whose_mesh_lids_barely_move_are_kept():
    # two real blinks: the iris darkens, FaceMesh's lids close by only 15-20 % (as on dev clips)
    lids = lambda t: 1 - 0.15 * bump(t, 1.0, 1.15, 0.03) - 0.2 * bump(t, 2.6, 2.75, 0.03)
    sig = _sig(lids, [(1.0, 1.15), (2.6, 2.75)])
    b = _blinks(sig)
    assert len(b) == 2 and abs(b[0] - 1.0) <= 0.15 and abs(b[1] - 2.6) <= 0.15


def test_lids_narrowing_into_the_last_frame_is_no_blink():
    """No-split ghost__dirtydancing: the eyes narrow in a laugh over the last 0.4 s (aperture 0.60
    -> 0.49, neutral 0.50) and the clip ends; the dip cut by the last frame, its depth taken from the
    clip's widest frame (lids wide on a blurred frame earlier), was a blink. A blink the clip cuts
    while the lids come down still is one."""
    light = [(9.0, 9.1)]  # (outside the clip) a light iris: the lids alone show blinks
    narrow = lambda t: 1 + 0.35 * bump(t, 3.3, 3.4, 0.03) - 0.2 * np.clip((t - 3.6) / 0.15, 0, 1)
    assert _blinks(_sig(narrow, light)) == []
    closing = lambda t: 1 - 0.9 * np.clip((t - 3.8) / 0.1, 0, 1)
    assert len(_blinks(_sig(closing, light))) == 1
