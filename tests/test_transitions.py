"""Gradual shot transitions (cross-dissolves): the detector on synthetic material with known truth,
the tracker treating one like a cut and recording it, TrackingResult keeping the spans, and the
dynamics dropping a head swing that overlaps one (dev clip emollama__sample_00000669's
dissolves between a frontal and a profile take were read as head turns)."""
from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")


def find_transitions(seq, cfg=None):
    from dfec.video.transitions import find_transitions as find

    return find(seq, cfg)


def TransitionConfig(**kw):  # noqa: N802 (the module's dataclass, imported late: see find_transitions)
    from dfec.video.transitions import TransitionConfig as Config

    return Config(**kw)


def _texture(seed: int, size: int = 256) -> np.ndarray:
    """A grey picture with a natural picture's spread of scales (amplitude ~ scale: large shapes
    carry most of the contrast, fine detail less), 0-255."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    for blur in (48.0, 24.0, 12.0, 6.0, 3.0, 1.5):
        layer = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), blur)
        img += blur * layer / max(float(layer.std()), 1e-6)
    img -= img.min()
    return (img * (255.0 / img.max())).astype(np.float32)


def _thumb(img: np.ndarray) -> np.ndarray:
    return cv2.resize(img, (32, 32), interpolation=cv2.INTER_AREA)


def _shot(seed: int, n: int, drift: float = 0.0, start: float = 0.0) -> list[np.ndarray]:
    """``n`` thumbnails of one shot: a 192-px window on a texture, moving ``drift`` px a frame
    (a shot with motion in it), plus a little noise (compression)."""
    tex, rng = _texture(seed), np.random.default_rng(seed + 100)
    out = []
    for k in range(n):
        x = int(round(start + drift * k))
        out.append(_thumb(tex[32:224, x:x + 192]) + rng.normal(0, 0.5, (32, 32)).astype(np.float32))
    return out


def _dissolve(n_a: int, length: int, n_b: int, drift: float = 1.0) -> tuple[list[np.ndarray], tuple[int, int]]:
    """Shot A, then ``length - 1`` frames blended (a = k / length), then shot B; both shots move
    during the dissolve. Returns the thumbnails and the true span (A's last pure frame, B's first)."""
    a = _shot(1, n_a + length, drift)
    b = _shot(2, length + n_b, drift, start=10)
    seq = a[:n_a]
    for k in range(1, length):
        w = k / length
        seq.append((1 - w) * a[n_a + k - 1] + w * b[k - 1])
    seq += b[length - 1:length - 1 + n_b]
    return seq, (n_a - 1, n_a + length - 1)


@pytest.mark.parametrize("length", [4, 8, 12])
def test_a_synthetic_dissolve_is_found_with_its_span(length):
    seq, (s, e) = _dissolve(12, length, 12)
    spans = find_transitions(seq)
    assert len(spans) == 1
    got = spans[0]
    assert abs(got[0] - s) <= 1 and abs(got[1] - e) <= 1, (got, (s, e))


def test_a_hard_cut_and_still_shots_are_no_transition():
    seq = _shot(1, 15) + _shot(2, 15)
    assert find_transitions(seq) == []


@pytest.mark.parametrize("speed", [2, 4, 8])
def test_a_pan_is_no_transition(speed):
    tex = _texture(3, size=512)
    seq = [_thumb(tex[100:292, x:x + 192]) for x in range(0, speed * 20, speed)]
    assert np.abs(seq[-1] - seq[0]).mean() > TransitionConfig().end_mad  # it does change like a cut
    assert find_transitions(seq) == []


@pytest.mark.parametrize("speed", [1, 2])
def test_a_slow_pan_over_fine_texture_is_no_transition(speed):
    # detail about one thumbnail pixel wide: every short stretch of a slow pan fits a blend (shifts
    # below a pixel look linear), the stretches chain, and the chain as a whole is no blend
    rng = np.random.default_rng(7)
    tex = cv2.GaussianBlur(rng.uniform(0, 255, (512, 768)).astype(np.float32), (0, 0), 12)
    tex = (tex - tex.min()) * (255.0 / (tex.max() - tex.min()))
    seq = [_thumb(tex[100:292, x:x + 192]) for x in range(0, speed * 24, speed)]
    assert find_transitions(seq, TransitionConfig(max_spread=np.inf)) == []


@pytest.mark.parametrize("rate", [1.02, 1.04, 1.08])
def test_a_zoom_is_no_transition(rate):
    tex = _texture(4, size=512)
    seq = []
    for k in range(16):
        h = int(480 / rate ** k)
        y = (512 - h) // 2
        seq.append(_thumb(cv2.resize(tex[y:y + h, y:y + h], (256, 256), interpolation=cv2.INTER_AREA)))
    assert find_transitions(seq) == []


class _NoFaces:
    """A mesh stack that finds no face (the follower's cut and transition logic only)."""

    def find(self, rgb):
        return []


def test_the_follower_ends_tracklets_at_a_dissolve_and_records_it():
    from dfec.tracking.config import TrackConfig
    from dfec.tracking.meshtrack import MeshFollower

    seq, (s, e) = _dissolve(10, 8, 10)
    cut_shot = _shot(5, 6)
    follower = MeshFollower(_NoFaces(), TrackConfig())
    cut_at = []
    for idx, th in enumerate(seq + cut_shot):
        rgb = np.repeat(cv2.resize(th, (128, 128))[:, :, None], 3, axis=2).clip(0, 255).astype(np.uint8)
        follower.step(rgb, idx)
        if follower.cut:
            cut_at.append(idx)
    n = len(seq)
    assert n in cut_at  # the hard cut to the last shot
    assert any(s < k <= e + 1 for k in cut_at)  # the dissolve, like a cut, once seen
    changes = follower.shot_changes()
    assert changes[-1] == [n - 1, n]
    assert len(changes) == 2 and abs(changes[0][0] - s) <= 1 and abs(changes[0][1] - e) <= 1
    assert follower.n_cuts == 1 and follower.n_transitions == 1


def test_tracking_result_keeps_the_shot_changes(tmp_path):
    from dfec.schema import TrackingResult

    r = TrackingResult(video="v.mp4", fps=16.0, n_frames=100, frame_size=(64, 48),
                       shot_changes=[[10, 11], [40, 47]])
    assert TrackingResult.from_json(r.to_json()).shot_changes == [[10, 11], [40, 47]]
    r.save(tmp_path / "tracks.json")
    assert TrackingResult.load(tmp_path / "tracks.json").shot_changes == [[10, 11], [40, 47]]
    old = r.to_json()
    del old["shot_changes"]  # a tracks.json written before the field
    assert TrackingResult.from_json(old).shot_changes == []


@pytest.mark.parametrize("mesh", [False, True])
def test_a_head_swing_inside_a_transition_is_dropped(mesh):
    from dfec.dynamics import synthetic as syn
    from dfec.dynamics.events import DynamicsConfig, detect_events
    from dfec.dynamics.signals import track_signals
    from dfec.dynamics.synthetic_mesh import mesh_sequence

    cfg = DynamicsConfig(left_right="viewer")
    make = mesh_sequence if mesh else syn.sequence
    # a 40-degree "turn" over 0.4 s from 1.5 s (what a dissolve to a turned take looks like), and
    # a real turn back from 3.0 s
    yaw = lambda t: 40 * np.clip((t - 1.5) / 0.4, 0, 1) - 40 * np.clip((t - 3.0) / 0.4, 0, 1)

    def head(tr):
        """The head turns' onsets, rounded to 0.5 s."""
        evs = detect_events(track_signals(tr, cfg.signals, pixels=False), cfg)
        return [round(2 * e.start) / 2 for e in evs if e.kind.startswith("head_turn")]

    tr = make(4.5, yaw=yaw)
    assert head(tr) == [1.5, 3.0]
    tr.shot_changes = [[24, 31]]  # frames 1.5-1.94 s at 16 fps: the dissolve
    assert head(tr) == [3.0]
    tr.shot_changes = [[54, 55]]  # a hard cut the tracker found at 3.4 s, inside the second swing
    assert head(tr) == [1.5]
    tr.shot_changes = [[40, 44]]  # a transition between the two: both kept
    assert head(tr) == [1.5, 3.0]


def test_a_window_that_ends_on_a_hard_cut_is_the_cut_and_does_not_crash():
    """An eased fade whose last step is cut-sized: the frame that completes a blend window is also
    a hard cut. Before (review 6) the finder closed the window after dropping that frame and read
    past its buffer (IndexError; 51 of 300 such fades)."""
    from dfec.tracking.meshtrack import is_cut
    from dfec.video.transitions import TransitionFinder

    rng = np.random.default_rng(2)
    crashed = 0
    for _ in range(120):
        hi = rng.uniform(80, 255)
        a = rng.uniform(0, hi, (32, 32)).astype(np.float32)
        b = rng.uniform(0, hi, (32, 32)).astype(np.float32)
        w = np.sort(rng.uniform(0, 1, int(rng.integers(2, 8))))
        seq = [a] * 6 + [(1 - x) * a + x * b for x in w] + [b] * 6
        f, prev = TransitionFinder(), None
        try:
            for k, th in enumerate(seq):
                f.push(th, k)
                if is_cut(prev, th):
                    f.cut()
                prev = th
            spans = f.spans
        except IndexError:
            crashed += 1
            continue
        assert all(0 <= s <= e < len(seq) for s, e in spans)
    assert crashed == 0
