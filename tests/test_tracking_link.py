"""Offline tracklet linking (dfec.tracking.link): one identity group must not hold two people.

Real numbers, no media: ``tests/data/link_real_embeddings.json`` holds the dlib linking embeddings
(each tracklet's best view) and the boxes of a few tracklets of ghost__dirtydancing (in no split)
and ghost__nggyup (dev), see its ``about``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dfec.tracking.config import TrackConfig
from dfec.tracking.link import link_groups, link_tracklets, reachable

FIXTURE = Path(__file__).parent / "data" / "link_real_embeddings.json"


class _Det:
    def __init__(self, frame, box, has_mesh=True):
        self.frame, self.box, self.has_mesh = frame, np.asarray(box, dtype=np.float64), has_mesh


class _State:
    """The parts of a StrongSort TrackState that link_tracklets reads."""

    def __init__(self, frames, boxes, shot, embeddings, has_mesh=None):
        has_mesh = has_mesh if has_mesh is not None else [True] * len(frames)
        self.detections = [_Det(f, b, m) for f, b, m in zip(frames, boxes, has_mesh)]
        self.shot, self.embeddings = shot, [np.asarray(e, dtype=np.float64) for e in embeddings]
        self.pending, self.pending_quality, self.feature = None, 0.0, None


class _Tracker:
    def __init__(self, states):
        self.states, self.n_embedded = states, 0

    def tracks(self, confirmed_only=True):
        return self.states

    def identify(self, t):  # every state already has its embeddings
        return False

    def identify_views(self, t):
        return 0


def _real(name):
    recs = json.loads(FIXTURE.read_text())["clips"][name]
    return [_State(r["frames"], r["boxes"], r["shot"], r["embeddings"], r["has_mesh"]) for r in recs]


def test_crowd_faces_across_the_frame_in_one_shot_are_not_one_identity():
    """ghost__dirtydancing's crowd shot: a blonde woman on the right (tracklets 5 and 7, chained by
    motion) and, from the next frame, a dark-haired person at the bottom left (10), five face
    heights away. Their dim, blurred best views are 0.068 apart (7-10), so the old linker made one
    track of the two people; a face cannot cross the frame in 1/16 s (even at the old threshold)."""
    states = _real("dirtydancing_crowd")
    for cfg in (TrackConfig(), TrackConfig(link_max_distance=0.07)):
        _, groups = link_tracklets(_Tracker(states), cfg)
        assert groups == [[0, 1], [2]]
    # the jump itself: same shot, one frame apart, far beyond 1 + 3 * (1/16) face heights
    seen = [[(d.frame, s.shot, d.box) for d in s.detections] for s in states]
    assert not reachable(seen[1], seen[2], 16.0, TrackConfig().link_max_speed)
    assert reachable(seen[0], seen[1], 16.0, TrackConfig().link_max_speed)  # the woman herself


def test_one_person_across_cuts_stays_one_identity():
    """ghost__nggyup: the singer in three shots (means of their views 0.028-0.045 apart; best views
    alone up to 0.085); ghost__dirtydancing: the man in shots 0 and 2, the woman in 1, 3 and 4
    (0.014-0.035 apart, the man and the woman 0.13-0.17): each person is one identity."""
    _, groups = link_tracklets(_Tracker(_real("nggyup")), TrackConfig())
    assert groups == [[0, 1, 2]]
    _, groups = link_tracklets(_Tracker(_real("dirtydancing_dancers")), TrackConfig())
    assert groups == [[0, 2], [1, 3, 4]]


def _three(d_ah=0.06, d_ab=0.13):
    """Unit vectors a, b (d_ab apart) and a hub h, d_ah from both, in a 3-d subspace of R^128."""
    al = np.arccos(1 - d_ab) / 2
    ph = np.arccos((1 - d_ah) / np.cos(al))
    vecs = [(np.cos(al), np.sin(al), 0.0), (np.cos(ph), 0.0, np.sin(ph)), (np.cos(al), -np.sin(al), 0.0)]
    out = []
    for v in vecs:
        e = np.zeros(128)
        e[:3] = v
        out.append(e)
    return out


def test_a_poor_embedding_between_two_people_does_not_chain_them_across_cuts():
    """Person A, a blurred face H close to both, person B, at one place in three shots (an
    over-the-shoulder dialogue cut back and forth). A and B are 0.13 apart (different people); H is
    0.06 from each. Single linkage (the old rule) made one identity of all three; with the group's
    mean, once H joins A the pair is 0.081 from B and B stays apart."""
    a, h, b = _three()
    frames = [set(range(0, 20)), set(range(20, 30)), set(range(30, 50))]
    groups = link_groups(frames, [[a], [h], [b]], max_distance=0.07)
    assert len(groups) == 2 and [0, 1, 2] not in groups
    assert [0, 2] not in groups
    # the same through link_tracklets (its threshold, 0.05: A-H 0.04, A-B 0.09, A+H to B 0.056),
    # with every tracklet at the same place after a cut
    a, h, b = _three(d_ah=0.04, d_ab=0.09)
    box = [100, 100, 200, 200]
    states = [_State(sorted(f), [box] * len(f), shot, [e]) for shot, (f, e) in enumerate(zip(frames, (a, h, b)))]
    _, groups = link_tracklets(_Tracker(states), TrackConfig())
    assert len(groups) == 2
    # two views of one person still join through the hub when all three agree
    a2, h2, b2 = _three(d_ah=0.03, d_ab=0.05)
    assert link_groups(frames, [[a2], [h2], [b2]], max_distance=0.07) == [[0, 1, 2]]


def test_reachable_checks_hand_overs_within_a_shot_only():
    box = np.array([100.0, 100.0, 200.0, 200.0])
    far = box + [400, 0, 400, 0]
    a = [(f, 0, box) for f in range(10)]
    assert not reachable(a, [(f, 0, far) for f in range(11, 20)], 16.0, 3.0)  # 4 heights in 1/8 s
    assert reachable(a, [(f, 0, far) for f in range(26, 30)], 16.0, 3.0)      # ... or in 1 s
    assert reachable(a, [(f, 1, far) for f in range(11, 20)], 16.0, 3.0)      # after a cut: anywhere
    assert reachable(a, [(f, 0, box + 30) for f in range(11, 20)], 16.0, 0.0)  # jitter allowance
    # interleaved: b seen between two stretches of a, far away each time
    b = [(12, 0, far)]
    assert not reachable(a[:5] + [(20, 0, box)], b, 16.0, 3.0)


def _frontal(frame, box):
    from dfec.schema import Detection

    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    lm = np.zeros((68, 2))
    lm[36], lm[45] = (x1 + 0.2 * w, y1 + 0.4 * h), (x1 + 0.8 * w, y1 + 0.4 * h)
    lm[30] = (x1 + 0.5 * w, y1 + 0.6 * h)
    return Detection(frame, np.array(box, dtype=np.float64), 0.9, landmarks=lm)


def test_a_tracklet_keeps_several_spaced_views_for_linking():
    """Lazy identity keeps the best view and up to link_views - 1 more, link_view_spacing frames
    apart; identify + identify_views turn them into embeddings of distinct frames, computing only
    those views (a face that grows: each frame a little better than the last)."""
    from dfec.tracking.strongsort import StrongSort

    cfg = TrackConfig()
    made, computed = [], []

    def defer_for(frame):
        def defer(j):
            made.append(frame)
            return lambda: computed.append(frame) or np.eye(128)[frame % 128]
        return defer

    tr = StrongSort(cfg, borrow_tentative=True)
    for f in range(60):
        s = 40 + 2 * f  # 40 -> 158 px tall
        tr.step(f, [_frontal(f, [100, 100, 100 + s, 100 + s])], lambda j: 1 / 0, defer_for(f))
    (t,) = tr.tracks()
    assert t.pending_frame == 36  # 112 px: identity_quality saturates
    assert len(t.views) <= 2 * (cfg.link_views - 1)
    assert tr.identify(t) and tr.identify_views(t) == cfg.link_views - 1
    kept = sorted(computed)
    assert 36 in kept and len(kept) == cfg.link_views == len(t.embeddings)
    assert np.diff(kept).min() >= cfg.link_view_spacing  # distinct moments, not one view 4 times
    assert len(made) < 60  # a closure (a copy of the face region) only for views that are kept
    one = StrongSort(TrackConfig(link_views=1), borrow_tentative=True)
    for f in range(20):
        one.step(f, [_frontal(f, [100, 100, 140 + 2 * f, 140 + 2 * f])], lambda j: 1 / 0, defer_for(f))
    assert one.tracks()[0].views == []


def _groups_by_rescan(frames, embeddings, max_distance, reachable_pair=None):
    """Centroid linkage as the module docstring states it, by the plain rescan: every round, of all
    pairs of groups, the closest (first in pair order on ties) that shares no frame and has no
    unreachable pair of tracklets is joined, and the group means are recomputed."""
    from dfec.tracking.link import mean_embedding

    groups = {k: [k] for k in range(len(frames))}
    while True:
        best = None
        keys = [k for k in groups if any(len(embeddings[i]) for i in groups[k])]
        for a in range(len(keys)):
            for b in range(a + 1, len(keys)):
                gi, gj = keys[a], keys[b]
                ma = mean_embedding([e for i in groups[gi] for e in embeddings[i]])
                mb = mean_embedding([e for i in groups[gj] for e in embeddings[i]])
                d = 1.0 - float(ma @ mb)
                if d > max_distance or (best is not None and d >= best[0] - 1e-12):
                    continue
                if set().union(*(frames[i] for i in groups[gi])) & set().union(*(frames[j] for j in groups[gj])):
                    continue
                if reachable_pair is not None and not all(reachable_pair(min(i, j), max(i, j))
                                                          for i in groups[gi] for j in groups[gj]):
                    continue
                best = (d, gi, gj)
        if best is None:
            return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])
        groups[best[1]] += groups.pop(best[2])


@pytest.mark.parametrize("seed", range(12))
def test_link_groups_joins_what_the_plain_rescan_joins(seed):
    """Only the joined group's distances are recomputed after a join, and a pair found sharing a
    frame or unreachable is not tried again: the groups equal those of a full rescan every round,
    on random people (several views each, noisy), overlapping tracklets, some without embeddings
    and a random unreachable relation."""
    rng = np.random.default_rng(seed)
    people = rng.normal(size=(4, 16))
    n = 30
    who = rng.integers(0, 4, n)
    embs = [[people[w] + rng.normal(scale=0.25, size=16) for _ in range(rng.integers(0, 4))] for w in who]
    starts = rng.integers(0, 200, n)
    frames = [set(range(s, s + int(rng.integers(1, 30)))) for s in starts]
    blocked = {(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.1}
    pair = (lambda i, j: (i, j) not in blocked) if seed % 2 else None
    for dmax in (0.05, 0.15, 0.4):
        assert link_groups(frames, embs, dmax, pair) == _groups_by_rescan(frames, embs, dmax, pair)


def test_link_groups_breaks_exact_ties_by_pair_order_and_skips_bad_embeddings():
    """Equal distances (identical or scaled embeddings) go to the first pair in (i, j) order, also
    after a join and after a pair is ruled out; a NaN embedding or max_distance leaves that
    tracklet / the whole clip unlinked instead of stopping all linking."""
    e = np.array([1.0, 0.0])
    # 1 and 2 share a frame: 0 takes 1 (first pair), then {0, 1} cannot take 2
    assert link_groups([{0}, {1}, {1}], [[e], [e], [e]], 0.05) == [[0, 1], [2]]
    # after {0, 1} is ruled out against 2, the tie goes to (0, 3)
    v = np.array([-1.738, -1.337, -1.361, -0.352, -2.313])
    frames = [{2}, {0}, {2, 3}, {1, 5}]
    assert link_groups(frames, [[0.5 * v], [v], [v], [v]], 0.05) == [[0, 1, 3], [2]]
    assert link_groups([{0}, {1}, {2}, {3}], [[e], [e], [np.array([np.nan, 0.0])], [e]], 0.05) == [[0, 1, 3], [2]]
    assert link_groups([{0}, {1}], [[e], [e]], float("nan")) == [[0], [1]]
