"""dfec.tracking.framecache: which decoded frames are kept for the outputs."""
from __future__ import annotations

import numpy as np

from dfec.tracking.framecache import FrameCache
from dfec.video.reader import uniform_indices


def _frame(k: int, h=8, w=8) -> np.ndarray:
    return np.full((h, w, 3), k, np.uint8)


def _run(cache: FrameCache, n: int, faces=lambda k: True) -> None:
    for k in range(n):
        rgb = _frame(k)
        cache.offer(k, rgb)
        cache.faces(k, rgb, faces(k))


def test_keeps_the_picks_for_counts_near_the_expected_one():
    cache = FrameCache(expected=65.13, n=16, budget_mb=100)  # 4.07 s at 16 fps: 65 frames
    _run(cache, 65)
    want = set(uniform_indices(65, 16)) | set(uniform_indices(66, 16))
    assert set(cache.frames) == {k for k in want if k < 65} and len(want) < 65 // 2
    assert all(int(cache.frames[k][0, 0, 0]) == k for k in cache.frames)


def test_a_pick_without_a_face_keeps_its_neighbours_with_faces():
    picks = set(uniform_indices(40, 4))
    p = sorted(picks)[1]  # a pick with no face from p - 2 to p + 3
    gap = set(range(p - 2, p + 4))
    cache = FrameCache(expected=40, n=4, budget_mb=100)
    _run(cache, 40, faces=lambda k: k not in gap)
    assert p - 3 in cache.frames                                  # the last earlier frame with a face
    assert set(range(p, p + 5)) <= set(cache.frames)              # forward up to the first with a face
    assert p + 5 not in cache.frames or p + 5 in picks            # and no further
    assert int(cache.frames[p - 3][0, 0, 0]) == p - 3


def test_views_are_copied_and_own_arrays_kept():
    cache = FrameCache(expected=None, n=4, budget_mb=100)   # length unknown: every frame
    base = np.zeros((2, 8, 8, 3), np.uint8)
    view = base[0]
    cache.offer(0, view)
    own = _frame(5)
    cache.offer(1, own)
    cache.offer(2, own, repeated=True)
    base[0] = 9  # the decoder reuses its buffer: the kept frame must not change
    assert cache.frames[0].max() == 0 and cache.frames[0].flags.owndata
    assert cache.frames[1] is own and cache.frames[2] is own


def test_over_budget_gives_up():
    cache = FrameCache(expected=None, n=4, budget_mb=1)  # 1 MB: four 512x512 frames do not fit
    for k in range(4):
        cache.offer(k, np.zeros((512, 512, 3), np.uint8))
    assert cache.frames is None
    cache.offer(5, _frame(5))
    cache.faces(5, _frame(5), False)
    assert cache.frames is None


def test_keeps_both_sides_of_a_cut():
    cache = FrameCache(expected=40, n=4, budget_mb=100)
    for k in range(40):
        rgb = _frame(k)
        cache.offer(k, rgb)
        cache.faces(k, rgb, True, cut=k == 20)
    assert {19, 20} <= set(cache.frames) and int(cache.frames[19][0, 0, 0]) == 19
    assert set(cache.frames) == set(uniform_indices(40, 4)) | {19, 20}
