"""Unit tests of the tracking maths: NSA Kalman, chi-square gating, StrongSORT association,
GSI gap filling, main-character selection (paper Eq. 3) and nearest-frame replacement."""
from __future__ import annotations

import numpy as np
import pytest

from dfec.schema import Detection, Track
from dfec.tracking.config import CHI2INV95_4DOF, TrackConfig
from dfec.tracking.gsi import gaussian_smooth, gsi, interpolate_gaps
from dfec.tracking.kalman import KalmanFilter, xyah_to_xyxy, xyxy_to_xyah
from dfec.tracking.selection import mean_area, mean_pairwise_similarity, select_frames, select_main
from dfec.tracking.strongsort import INF_COST, StrongSort, iou_matrix, min_cost_matching


# --------------------------------------------------------------------------- Kalman filter
def test_box_conversions_round_trip():
    box = np.array([10.0, 20.0, 50.0, 100.0])
    m = xyxy_to_xyah(box)
    assert np.allclose(m, [30, 60, 0.5, 80])
    assert np.allclose(xyah_to_xyxy(m), box)


def test_kalman_learns_constant_velocity():
    kf = KalmanFilter()
    mean, cov = kf.initiate(np.array([100.0, 100.0, 1.0, 80.0]))
    for k in range(1, 15):
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, np.array([100.0 + 5 * k, 100.0, 1.0, 80.0]), confidence=0.9)
    assert mean[4] == pytest.approx(5.0, abs=0.5)  # x velocity per frame
    assert abs(mean[5]) < 0.5
    pred, _ = kf.predict(mean, cov)
    assert pred[0] == pytest.approx(100 + 5 * 15, abs=1.5)


def test_nsa_confident_detection_pulls_harder():
    kf = KalmanFilter(nsa=True)
    mean, cov = kf.initiate(np.array([100.0, 100.0, 1.0, 80.0]))
    mean, cov = kf.predict(mean, cov)
    z = np.array([120.0, 100.0, 1.0, 80.0])
    low, _ = kf.update(mean, cov, z, confidence=0.1)
    high, _ = kf.update(mean, cov, z, confidence=0.95)
    assert abs(high[0] - 120) < abs(low[0] - 120)
    # without NSA the confidence is ignored
    plain = KalmanFilter(nsa=False)
    a, _ = plain.update(mean, cov, z, confidence=0.1)
    b, _ = plain.update(mean, cov, z, confidence=0.95)
    assert np.allclose(a, b)


def test_update_shrinks_covariance():
    kf = KalmanFilter()
    mean, cov = kf.initiate(np.array([0.0, 0.0, 1.0, 50.0]))
    mean, cov = kf.predict(mean, cov)
    _, cov2 = kf.update(mean, cov, np.array([1.0, 1.0, 1.0, 50.0]), 0.5)
    assert np.trace(cov2[:4, :4]) < np.trace(cov[:4, :4])


# --------------------------------------------------------------------------- gating
def test_gating_distance_chi_square():
    kf = KalmanFilter()
    mean, cov = kf.initiate(np.array([100.0, 100.0, 1.0, 80.0]))
    mean, cov = kf.predict(mean, cov)
    near = np.array([101.0, 99.0, 1.0, 80.0])
    far = np.array([300.0, 100.0, 1.0, 80.0])
    d = kf.gating_distance(mean, cov, np.stack([near, far]))
    assert d[0] < CHI2INV95_4DOF < d[1]
    assert d[0] >= 0


def test_combined_cost_is_gated_and_weighted():
    cfg = TrackConfig(n_init=1)
    tr = StrongSort(cfg)
    e1, e2 = np.eye(128)[0], np.eye(128)[1]
    tr.step(0, [Detection(0, [100, 100, 180, 180], 0.9)], lambda j: e1)
    t = tr.active[0]
    t.mean, t.cov = tr.kf.predict(t.mean, t.cov)
    dets = [Detection(1, [102, 100, 182, 180], 0.9), Detection(1, [400, 100, 480, 180], 0.9)]
    cost = tr.combined_cost([t], dets, [e1, e2])
    motion = tr.motion_cost([t], dets)
    assert cost[0, 1] == INF_COST  # far away: gated out whatever the appearance
    assert cost[0, 0] == pytest.approx(0.98 * 0.0 + 0.02 * motion[0, 0], abs=1e-9)
    cost2 = tr.combined_cost([t], dets[:1], [e2])  # orthogonal embedding: appearance distance 1
    assert cost2[0, 0] == pytest.approx(0.98 + 0.02 * motion[0, 0], abs=1e-9)


def test_min_cost_matching_and_iou():
    cost = np.array([[0.1, 0.9], [0.8, 0.15], [0.5, 0.5]])
    m, ur, uc = min_cost_matching(cost, 0.3)
    assert sorted(m) == [(0, 0), (1, 1)] and ur == [2] and uc == []
    m, ur, uc = min_cost_matching(cost, 0.12)
    assert m == [(0, 0)] and ur == [1, 2] and uc == [1]
    iou = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert np.allclose(iou, [[1.0, 50 / 150, 0.0]])


# --------------------------------------------------------------------------- StrongSORT
def _unit(k):
    v = np.zeros(128)
    v[k] = 1.0
    return v


def test_strongsort_keeps_identity_through_crossing_with_occlusion():
    """Two faces cross; face A is occluded for 5 frames where B passes over it. Appearance
    (embeddings) keeps the ids apart."""
    cfg = TrackConfig(embed_every=1)
    tr = StrongSort(cfg)
    calls = []
    for f in range(40):
        ax, bx = 300.0, 100.0 + 10.0 * f
        dets, ids = [], []
        occluded = abs(ax - bx) < 30
        if not occluded:
            dets.append(Detection(f, [ax - 40, 100, ax + 40, 180], 0.9))
            ids.append(0)
        dets.append(Detection(f, [bx - 30, 110, bx + 30, 170], 0.9))
        ids.append(1)
        tr.step(f, dets, lambda j, ids=ids: (calls.append(j), _unit(ids[j]) + 0.05 * _unit(5))[1])
    tracks = tr.tracks()
    assert len(tracks) == 2
    for t in tracks:
        widths = {round(d.box[2] - d.box[0]) for d in t.detections}
        assert len(widths) == 1  # never swapped onto the other face (widths 80 vs 60)
    a = next(t for t in tracks if round(t.detections[0].box[2] - t.detections[0].box[0]) == 80)
    assert len(a.detections) == 40 - sum(abs(300 - (100 + 10 * f)) < 30 for f in range(40))
    assert calls  # embeddings were requested


def test_strongsort_n_init_and_max_age():
    cfg = TrackConfig(n_init=3, max_age=5)
    tr = StrongSort(cfg)
    box = [100, 100, 180, 180]
    # a single flicker never becomes a track
    tr.step(0, [Detection(0, [400, 300, 460, 360], 0.9)], lambda j: _unit(3))
    for f in range(1, 4):
        tr.step(f, [Detection(f, box, 0.9)], lambda j: _unit(0))
    assert [t.hits for t in tr.tracks()] == [3]
    assert tr.tracks()[0].confirmed
    for f in range(4, 4 + 6):  # 6 missed frames > max_age 5
        tr.step(f, [], lambda j: _unit(0))
    assert not tr.active and len(tr.finished) == 2
    assert len(tr.tracks()) == 1  # the flicker (1 hit) is not exported


def test_strongsort_borrows_embeddings_between_refreshes():
    cfg = TrackConfig(embed_every=4, n_init=1)
    tr = StrongSort(cfg)
    n = []
    for f in range(20):
        tr.step(f, [Detection(f, [100 + f, 100, 180 + f, 180], 0.9)], lambda j: (n.append(f), _unit(0))[1])
    assert len(tr.tracks()) == 1
    # first frame, then one fresh embedding every 4th frame
    assert 4 <= len(n) <= 7 and tr.n_borrowed == 20 - len(n)


# --------------------------------------------------------------------------- linking
def test_link_groups_joins_disjoint_tracklets_of_one_face():
    from dfec.tracking.link import link_groups

    rng = np.random.default_rng(0)
    a, b = _unit(0) + 0.3 * _unit(2), _unit(1) + 0.3 * _unit(2)
    noisy = lambda v: [v + rng.normal(0, 0.01, 128) for _ in range(4)]  # noqa: E731
    frames = [set(range(0, 10)), set(range(0, 40)), set(range(20, 40)), set(range(5, 25))]
    embs = [noisy(a), noisy(b), noisy(a), noisy(a)]
    # 0 and 2 are the same face at different times; 3 looks the same but overlaps both in time
    groups = link_groups(frames, embs, max_distance=0.07)
    assert [0, 2] in groups and [1] in groups and [3] in groups
    assert link_groups(frames, embs, max_distance=0.0) == [[0], [1], [2], [3]]
    assert link_groups(frames, [[], embs[1], [], embs[3]], 0.07) == [[0], [1], [2], [3]]


# --------------------------------------------------------------------------- GSI
def _track(frames, x0=0.0):
    n = len(frames)
    boxes = np.array([[x0 + f, 0, x0 + f + 10, 10] for f in frames], dtype=float)
    lms = np.stack([np.full((68, 2), float(f)) for f in frames])
    return Track(1, frames, boxes, lms, np.ones(n))


def test_interpolate_gaps_fills_short_gaps_only():
    t = _track([0, 1, 5, 6, 40])
    out = interpolate_gaps(t, max_gap=5)
    assert out.frames == [0, 1, 2, 3, 4, 5, 6, 40]
    assert out.interpolated == [False, False, True, True, True, False, False, False]
    assert np.allclose(out.boxes[3], [3, 0, 13, 10])
    assert np.allclose(out.landmarks[2], 2.0)


def test_gaussian_smoothing_reduces_jitter_and_keeps_lines():
    t = np.arange(50, dtype=float)
    line = np.stack([2 * t, t], 1)
    assert np.allclose(gaussian_smooth(t, line, 1.5), line, atol=1e-6)  # also at both ends
    rng = np.random.default_rng(0)
    noisy = line + rng.normal(0, 3, line.shape)
    sm = gaussian_smooth(t, noisy, 1.5)
    assert np.abs(sm - line)[5:-5].mean() < np.abs(noisy - line)[5:-5].mean()
    g = gsi(_track([0, 1, 2, 3, 4, 8, 9]), max_gap=20, sigma=1.5)
    assert len(g) == 10 and g.landmarks.shape == (10, 68, 2)


# --------------------------------------------------------------------------- Eq. 3
def test_mean_area_and_similarity():
    t = Track(1, [0, 1, 2], [[0, 0, 10, 10], [0, 0, 20, 20], [0, 0, 1000, 1000]], np.zeros((3, 68, 2)),
              [1, 1, 1], interpolated=[False, False, True])
    assert mean_area(t) == pytest.approx(250.0)  # interpolated entries are not measurements
    e = np.array([[1, 0], [1, 0], [0, 1]], dtype=float)
    assert mean_pairwise_similarity(e) == pytest.approx(1 / 3)
    assert mean_pairwise_similarity(e[:1]) == 1.0


def test_select_main_rules():
    mask, rule = select_main([], [])
    assert rule == "no-tracks" and mask.size == 0
    mask, rule = select_main([50.0], [0.9])
    assert rule == "single-track" and mask.tolist() == [True]
    mask, rule = select_main([100.0, 900.0], [0.99, 0.5])
    assert rule == "two-tracks-larger-area" and mask.tolist() == [False, True]
    mask, rule = select_main([5.0, 5.0, 5.0], [0.9, 0.9, 0.9])
    assert rule == "kmeans-degenerate" and mask.all()


def test_select_main_kmeans_on_standardised_features():
    # two large, consistent faces (the main character in two tracks) and four small background ones
    areas = [10000.0, 9500.0, 900.0, 1200.0, 800.0, 1000.0]
    sims = [0.98, 0.97, 0.90, 0.85, 0.95, 0.80]
    mask, rule = select_main(areas, sims)
    assert rule == "kmeans"
    assert mask.tolist() == [True, True, False, False, False, False]
    # standardisation: S spread alone (areas equal) still splits into two clusters
    mask, rule = select_main([100.0] * 4, [0.99, 0.98, 0.5, 0.4])
    assert rule == "kmeans" and mask.sum() in (2,)


def test_select_frames_nearest_replacement():
    assert select_frames(16, 4, set(range(16))) == [2, 6, 10, 14]
    # frames 2 and 6 lack the main face: replaced by the nearest frames that have it
    have = {0, 5, 7, 10, 14}
    assert select_frames(16, 4, have) == [0, 5, 10, 14]
    # a tie (4 is 1 away from 3 and 5) goes to the earlier frame
    assert select_frames(10, 1, {3, 5, 9}) == [5]  # uniform pick is frame 5 -> kept
    assert select_frames(9, 1, {3, 5}) == [3]      # uniform pick is frame 4 -> tie -> 3
    assert select_frames(10, 3, set()) == [1, 5, 8]  # no face anywhere: the uniform frames
    assert select_frames(0, 16, {1}) == []
