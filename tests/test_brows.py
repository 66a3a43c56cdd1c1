"""Brow events (brows4): the inner brows raised and drawn together (AU1+AU4) said from their
corroborated strength, and a brow lowering kept when the furrow it overlaps is a head turn's."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from dfec.dynamics.captioner import describe_clauses
from dfec.dynamics.config import DynamicsConfig
from dfec.dynamics.events import detect_events
from dfec.dynamics.ranking import brow_pairs, select_changes
from dfec.dynamics.signals import track_signals
from dfec.dynamics.synthetic import sequence
from dfec.schema import Event


def _ramp(t, a, b):
    return np.clip((t - a) / (b - a), 0, 1)


def _caption(furrow_mm: float, brows_mm: float, furrow_delay: float = 0.0, cfg: DynamicsConfig | None = None) -> str:
    cfg = cfg or DynamicsConfig()
    tr = sequence(4.0, brows=lambda t: brows_mm * _ramp(t, 1.5, 2.0),
                  furrow=lambda t: furrow_mm * _ramp(t, 1.5 + furrow_delay, 2.0 + furrow_delay))
    return describe_clauses(track_signals(tr, cfg.signals), 4.0, cfg)[0]


def test_inner_brows_raised_and_drawn_together_are_said():
    """A raise of 1.2 and a furrow of 1.3 times their thresholds at the same time (AU1+AU4, dev clip
    167 by eye): each alone is below ``min_strength`` (1.5) and not said; together they
    corroborate each other and both are said. Old code: neither."""
    text = _caption(1.3, 4.4)
    assert "their eyebrows raise" in text and "their eyebrows furrow" in text
    # each alone: still not said (the floor is unchanged for a lone weak brow change)
    assert "eyebrows" not in _caption(1.3, 0.0)
    assert "eyebrows" not in _caption(0.0, 4.4)
    # the two a second apart do not overlap: no corroboration
    assert "their eyebrows raise" not in _caption(1.3, 4.4, furrow_delay=1.0)
    # off when the pair floor is at min_strength
    off = replace(DynamicsConfig(), brow_pair_strength=1.5)
    assert "eyebrows" not in _caption(1.3, 4.4, cfg=off)


def test_brow_pairs_need_overlap_and_the_pair_floor():
    cfg = DynamicsConfig()
    raise_ = Event("brows_raise", 1.0, 1.6, 1.2 * cfg.brow_raise, "brows")
    furrow = Event("brows_furrow", 1.4, 2.0, 1.2 * cfg.brow_furrow, "brows")
    later = Event("brows_furrow", 1.7, 2.3, 1.2 * cfg.brow_furrow, "brows")
    faint = Event("brows_furrow", 1.4, 2.0, 0.9 * cfg.brow_furrow, "brows")
    for e in (raise_, furrow, later, faint):
        e.text = "their eyebrows raise" if e.kind == "brows_raise" else "their eyebrows furrow"

    def pairs(*evs):
        return brow_pairs([list(evs)], [{id(e): [e] for e in evs}], cfg)

    assert pairs(raise_, furrow) == {id(raise_), id(furrow)}
    assert pairs(raise_, later) == set()   # no overlap in time
    assert pairs(raise_, faint) == set()   # the furrow is below its own threshold
    chosen = select_changes([[raise_, furrow]], [{id(raise_): [raise_], id(furrow): [furrow]}], cfg)[0]
    assert {e.kind for e in chosen} == {"brows_raise", "brows_furrow"}


def test_brow_lowering_kept_when_the_furrow_is_a_turns():
    """A furrow read during a head turn is dropped by the turn mask; a brow lowering that overlaps
    it is then no longer that furrow's restatement (dev WolfgangLanger, brows drawn down by eye:
    the lowering went with a masked furrow). Old code: the lowering was dropped too."""
    cfg = DynamicsConfig()

    def kinds(furrow_mm):
        tr = sequence(4.0, yaw=lambda t: 25 - 25 * _ramp(t, 0.3, 1.1), furrow=lambda t: furrow_mm * _ramp(t, 0.5, 1.0),
                      brows=lambda t: -4.4 * _ramp(t, 1.0, 1.6))
        return [e.kind for e in detect_events(track_signals(tr, cfg.signals), cfg)]

    assert "brows_lower" in kinds(0.0)
    with_furrow = kinds(1.5)
    assert "brows_furrow" not in with_furrow   # masked: it happened during the turn
    assert "brows_lower" in with_furrow


def test_brow_lowering_with_a_said_furrow_is_said_once():
    """Without a turn the furrow is said and a lowering overlapping it is not said again."""
    cfg = DynamicsConfig()
    tr = sequence(4.0, furrow=lambda t: 2.0 * _ramp(t, 1.5, 2.0), brows=lambda t: -4.4 * _ramp(t, 1.5, 2.0))
    kinds = [e.kind for e in detect_events(track_signals(tr, cfg.signals), cfg)]
    assert "brows_furrow" in kinds and "brows_lower" not in kinds
