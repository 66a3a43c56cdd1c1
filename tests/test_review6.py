"""Review 6 fixes: shots renumbered from the confirmed shot changes, the transition detector's
switch, and config files' checks of the new settings."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from dfec.errors import DfecError
from dfec.tracking.config import TrackConfig
from dfec.tracking.meshtrack import MeshFollower
from dfec.tracking.pipeline import renumber_shots


class _Tracker:
    def __init__(self, firsts):
        self.states = [SimpleNamespace(detections=[SimpleNamespace(frame=f)], shot=k) for k, f in enumerate(firsts)]

    def tracks(self, confirmed_only=True):
        return self.states


def test_tracklets_split_at_a_window_later_dropped_share_one_shot():
    # online every tracklet start counted a shot change (shots 0, 1, 2, 3); confirmed are only a
    # hard cut [29, 30] and a dissolve [50, 58] (a blend window at frame 12 was judged a pan)
    tr = _Tracker([0, 12, 30, 55])
    renumber_shots(tr, [[29, 30], [50, 58]])
    # the tracklet born at the dropped window (12) is in the first shot again; one born inside the
    # dissolve (55, where the follower ended the tracklets) is after it
    assert [s.shot for s in tr.states] == [0, 0, 1, 2]


def test_the_transition_detector_can_be_switched_off():
    assert MeshFollower(None, TrackConfig()).finder is not None
    off = MeshFollower(None, TrackConfig(transitions=False))
    assert off.finder is None and off.shot_changes() == []
    assert "transitions" in TrackConfig().to_json()  # recorded in tracks.json's config


@pytest.mark.parametrize("text, message", [
    ("signals: {occl_ratio: high}\n", "'occl_ratio' must be a number"),
    ("signals: {occl_ratio: 2.0}\n", "'occl_ratio' must be a fraction"),
    ("head_secondary_ratio: 1.5\n", "'head_secondary_ratio' must be below 1"),
    ("pitch_occluded_max: 3\n", "'pitch_occluded_max' must be a fraction"),
])
def test_config_files_refuse_bad_new_settings(tmp_path, text, message):
    from dfec.dynamics.config import load_config

    p = tmp_path / "dyn.yaml"
    p.write_text(text)
    with pytest.raises(DfecError, match=message):
        load_config(p)


def test_config_files_take_good_signal_settings(tmp_path):
    from dfec.dynamics.config import load_config

    p = tmp_path / "dyn.yaml"
    p.write_text("signals: {occl_ratio: 0.5, occlusion: false}\nhead_secondary_ratio: 0\n")
    cfg = load_config(p)
    assert cfg.signals.occl_ratio == 0.5 and cfg.signals.occlusion is False and cfg.head_secondary_ratio == 0
