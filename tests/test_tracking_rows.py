"""Long-video memory: per-frame rows kept on disk while tracking (dfec.tracking.rows), file-backed
Track.mesh/iris, the streamed tracks.json / tracks_mesh.npz writers and the vectorised GSI."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from dfec import schema
from dfec.schema import Detection, Track, TrackingResult
from dfec.tracking.config import TrackConfig
from dfec.tracking.gsi import gap_sources, interpolate_gaps
from dfec.tracking.pipeline import finish_tracks
from dfec.tracking import rows as rows_mod
from dfec.tracking.rows import MeshFile, RowSpill, StoredDetection, nan_rows
from dfec.tracking.strongsort import StrongSort


def _det(frame: int, x: float, rng, mesh=True) -> Detection:
    box = [x, 100.0, x + 80.0, 180.0]
    lm = rng.normal(x, 5.0, (68, 2))
    return Detection(frame, box, float(rng.uniform(0.5, 1.0)), landmarks=lm,
                     mesh=rng.normal(x, 5.0, (468, 3)).astype(np.float32) if mesh else None,
                     iris=rng.normal(x, 5.0, (10, 3)).astype(np.float32) if mesh else None)


def _spilled(tmp_path, n: int, step: float, seed: int) -> tuple[RowSpill, list[Detection]]:
    """A spill holding ``n`` random detections (kept in memory too, to compare)."""
    rng = np.random.default_rng(seed)
    spill = RowSpill(tmp_path)
    dets = [_det(f, step * f, rng) for f in range(n)]
    for d in dets:
        spill.keep(d)
    return spill, dets


def test_spill_gives_back_the_rows_it_kept(tmp_path):
    rng = np.random.default_rng(0)
    spill = RowSpill(tmp_path)
    dets = [_det(f, 10.0 * f, rng, mesh=f % 3 != 1) for f in range(10)]
    kept = [spill.keep(d) for d in dets]
    assert all(isinstance(k, StoredDetection) and k.mesh is None and k.landmarks is None for k in kept)
    assert [k.frame for k in kept] == list(range(10)) and np.array_equal(kept[4].box, dets[4].box)
    assert [k.mesh_row for k in kept] == [0, -1, 1, 2, -1, 3, 4, -1, 5, 6]
    order = [9, 2, 3, 4, 0]  # any order, runs and single rows
    assert np.array_equal(spill.landmarks([kept[i].row for i in order]), np.stack([dets[i].landmarks for i in order]))
    recs = spill.meshes([kept[i].mesh_row for i in (3, 1, 2)])
    assert np.array_equal(recs["mesh"][0], dets[3].mesh) and np.array_equal(recs["iris"][2], dets[2].iris)
    assert np.isnan(recs["mesh"][1]).all() and np.isnan(recs["iris"][1]).all()
    assert list(tmp_path.iterdir()) == []  # anonymous files: nothing left in the folder
    spill.close()


def test_mesh_file_maps_read_only_rows_and_all_nan_tracks_cost_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_mod, "IN_MEMORY_BYTES", 0)  # the long-video path: a mapping
    spill, dets = _spilled(tmp_path, 7, 5.0, 1)
    mf = MeshFile(tmp_path)
    mf.add(spill, np.array([6, -1, 0, 1]))
    mf.add(spill, np.array([-1, -1]))
    mf.add(spill, np.array([2]))
    (mesh, iris), (empty_mesh, _), (one, _) = mf.arrays()
    spill.close()  # the mapped arrays outlive both files
    assert schema._mapping(mesh) is schema._mapping(one)  # one mapping (one descriptor) per result
    assert np.array_equal(one[0], dets[2].mesh)
    assert mesh.shape == (4, 468, 3) and iris.shape == (4, 10, 3) and not mesh.flags.writeable
    assert np.array_equal(mesh[0], dets[6].mesh) and np.array_equal(iris[3], dets[1].iris)
    assert np.isnan(mesh[1]).all() and schema._mapping(mesh) is not None
    assert empty_mesh.shape == (2, 468, 3) and np.isnan(empty_mesh).all() and empty_mesh.strides[0] == 0
    t = Track(1, [0, 1, 2, 3], np.zeros((4, 4)), np.zeros((4, 68, 2)), np.ones(4), mesh=mesh, iris=iris)
    assert t.mesh is mesh and t.has_mesh.tolist() == [True, False, True, True]


def _feed(tracker: StrongSort, n: int = 60) -> None:
    """Two faces, one leaving for 4 frames (a GSI gap) and some rows without a mesh."""
    rng = np.random.default_rng(2)
    emb = {0: np.eye(8)[0], 1: np.eye(8)[1]}
    for f in range(n):
        dets, ids = [], []
        if not 20 <= f < 24:
            dets.append(_det(f, 100.0 + f, rng, mesh=f % 7 != 3))
            ids.append(0)
        dets.append(_det(f, 400.0 - f, rng))
        ids.append(1)
        tracker.step(f, dets, lambda j, ids=ids: emb[ids[j]])


def test_finish_tracks_from_the_spill_equals_tracks_kept_in_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_mod, "IN_MEMORY_BYTES", 0)  # as for a long video: file-backed
    cfg = TrackConfig()
    plain, spilled = StrongSort(cfg), StrongSort(cfg)
    spilled.store = RowSpill(tmp_path)
    _feed(plain)
    _feed(spilled)
    assert all(isinstance(d, StoredDetection) for st in spilled.tracks() for d in st.detections)
    a, b = finish_tracks(plain, cfg), finish_tracks(spilled, cfg)
    assert len(a) == len(b) == 2 and spilled.store is None
    assert any(t.interpolated.count(True) == 4 for t in a)
    for x, y in zip(a, b):
        assert x.to_json() == y.to_json()
        assert np.array_equal(x.mesh, y.mesh, equal_nan=True) and np.array_equal(x.iris, y.iris, equal_nan=True)
        assert np.array_equal(x.has_mesh, y.has_mesh)
        assert schema._mapping(y.mesh) is not None  # from disk, not held in memory
    assert sum((~x.has_mesh).sum() for x in a) == 4 + sum(f % 7 == 3 for f in range(60) if not 20 <= f < 24)


def _old_interpolate(track: Track, max_gap: int):
    """The per-frame loop GSI used before (reference for the vectorised one)."""
    frames, boxes, lms, scores, interp, rows = [], [], [], [], [], []
    for i in range(len(track)):
        rows.append(i)
        f0 = track.frames[i]
        frames.append(f0), boxes.append(track.boxes[i]), lms.append(track.landmarks[i])
        scores.append(track.scores[i]), interp.append(track.interpolated[i])
        if i + 1 < len(track):
            f1 = track.frames[i + 1]
            if 0 < f1 - f0 - 1 <= max_gap:
                for f in range(f0 + 1, f1):
                    w = (f - f0) / (f1 - f0)
                    frames.append(f)
                    boxes.append((1 - w) * track.boxes[i] + w * track.boxes[i + 1])
                    lms.append((1 - w) * track.landmarks[i] + w * track.landmarks[i + 1])
                    scores.append((1 - w) * track.scores[i] + w * track.scores[i + 1])
                    interp.append(True)
                    rows.append(-1)
    return frames, np.array(boxes), np.array(lms), np.array(scores), interp, np.array(rows)


def test_vectorised_gap_filling_is_bit_identical_to_the_loop():
    rng = np.random.default_rng(3)
    frames = np.cumsum(rng.choice([1, 1, 1, 2, 3, 6, 30], 300)).tolist()
    n = len(frames)
    t = Track(1, frames, rng.normal(0, 50, (n, 4)), rng.normal(0, 50, (n, 68, 2)), rng.uniform(0, 1, n),
              interpolated=(rng.uniform(size=n) < 0.1).tolist(), mesh=rng.normal(size=(n, 468, 3)))
    out = interpolate_gaps(t, max_gap=5)
    f, boxes, lms, scores, interp, rows = _old_interpolate(t, 5)
    assert out.frames == f and out.interpolated == interp
    assert np.array_equal(out.boxes, boxes) and np.array_equal(out.landmarks, lms)
    assert np.array_equal(out.scores, scores)
    assert np.array_equal(out.mesh[rows >= 0], t.mesh) and np.isnan(out.mesh[rows < 0]).all()
    frames2, left, right, w = gap_sources(frames, 5)
    assert frames2.tolist() == f and np.array_equal(np.where(w > 0, -1, left), rows)
    # a track without any mesh stays an all-NaN view through gap filling
    t2 = Track(1, [0, 5], np.zeros((2, 4)), np.zeros((2, 68, 2)), np.ones(2), mesh=nan_rows(2, (468, 3)))
    assert interpolate_gaps(t2, 5).mesh.strides[0] == 0


def test_streamed_json_is_the_same_text_as_json_dumps(monkeypatch, tmp_path):
    rng = np.random.default_rng(4)
    n = 37
    lm = rng.normal(0, 1e3, (n, 68, 2))
    lm[3, 5] = np.nan
    t = Track(3, list(range(n)), rng.normal(size=(n, 4)), lm, rng.uniform(size=n),
              interpolated=(rng.uniform(size=n) < 0.3).tolist(), mean_area=1.5, is_main=True)
    for rows in (1, 5, 36, 37, 1000):
        buf = []
        schema._write_json(type("W", (), {"write": lambda self, s: buf.append(s)})(), t._json_items(), rows)
        assert "".join(buf) == json.dumps(t.to_json())
    monkeypatch.setattr(schema, "CHUNK_ROWS", 4)
    res = TrackingResult("v.mp4", 16.0, n, (64, 48), [t, t])
    res.save(tmp_path / "tracks.json", {"config": {"x": 1}})
    assert json.loads((tmp_path / "tracks.json").read_text(), parse_constant=lambda c: "nan") == json.loads(
        json.dumps({**res.to_json(), "config": {"x": 1}}), parse_constant=lambda c: "nan")


def test_streamed_npz_reads_like_savez_and_old_files_still_load(tmp_path):
    spill, dets = _spilled(tmp_path, 9, 3.0, 5)
    mf = MeshFile(tmp_path)
    mf.add(spill, np.array([0, 1, -1, 2, 3, 4, 5, 6, 7, 8]))
    ((mesh, iris),) = mf.arrays()
    n = len(mesh)
    t = Track(1, list(range(n)), np.zeros((n, 4)), np.zeros((n, 68, 2)), np.ones(n), mesh=mesh, iris=iris)
    u = Track(2, [3, 4], np.zeros((2, 4)), np.zeros((2, 68, 2)), np.ones(2), mesh=nan_rows(2, (468, 3)))
    res = TrackingResult("v.mp4", 16.0, n, (64, 48), [t, u])
    (tmp_path / "new").mkdir()
    res.save(tmp_path / "new" / "tracks.json")
    back = TrackingResult.load(tmp_path / "new")
    assert np.array_equal(back.tracks[0].mesh, mesh, equal_nan=True) and np.array_equal(back.tracks[0].iris, iris,
                                                                                         equal_nan=True)
    assert np.isnan(back.tracks[1].mesh).all() and back.tracks[1].mesh.shape == (2, 468, 3)
    # a folder written the old way (savez_compressed + one json.dumps) loads the same
    old = tmp_path / "old"
    old.mkdir()
    np.savez_compressed(old / "tracks_mesh.npz", mesh_0=np.asarray(mesh), iris_0=np.asarray(iris),
                        mesh_1=np.asarray(u.mesh), iris_1=np.asarray(u.iris))
    (old / "tracks.json").write_text(json.dumps({**res.to_json(), "mesh_file": "tracks_mesh.npz"}))
    again = TrackingResult.load(old)
    assert again.to_json() == back.to_json()
    assert np.array_equal(again.tracks[0].mesh, back.tracks[0].mesh, equal_nan=True)
    with np.load(old / "tracks_mesh.npz") as a, np.load(tmp_path / "new" / "tracks_mesh.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        assert all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k], equal_nan=True) for k in a.files)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_short_video_meshes_are_read_into_memory_and_hold_no_file_descriptor(tmp_path):
    """Thousands of live results of short clips must not run out of file descriptors."""
    import os

    fds = len(os.listdir("/proc/self/fd"))
    spill, dets = _spilled(tmp_path, 5, 3.0, 7)
    mf = MeshFile(tmp_path)
    mf.add(spill, np.array([4, -1, 0]))
    ((mesh, iris),) = mf.arrays()
    spill.close()
    assert len(os.listdir("/proc/self/fd")) == fds  # every temp file closed; nothing mapped
    assert schema._mapping(mesh) is None and not mesh.flags.writeable and not iris.flags.writeable
    assert np.array_equal(mesh[0], dets[4].mesh) and np.array_equal(iris[2], dets[0].iris)
    assert np.isnan(mesh[1]).all() and np.isnan(iris[1]).all()


def test_reading_a_file_backed_mesh_in_chunks_does_not_keep_it_resident(tmp_path, monkeypatch):
    monkeypatch.setattr(rows_mod, "IN_MEMORY_BYTES", 0)
    """has_mesh and the npz writer read a mapped mesh chunk by chunk and hand the pages back:
    resident memory does not grow by the array's size (46 MB here)."""
    n = 8192
    spill = RowSpill(tmp_path)
    rec = _det(0, 0.0, np.random.default_rng(6))
    for _ in range(n):
        spill.keep(rec)
    mf = MeshFile(tmp_path)
    rows = np.arange(n)
    rows[::3] = -1
    mf.add(spill, rows)
    ((mesh, iris),) = mf.arrays()
    spill.close()
    t = Track(1, list(range(n)), np.zeros((n, 4)), np.zeros((n, 68, 2)), np.ones(n), mesh=mesh, iris=iris)
    before = _rss_mb()
    assert t.has_mesh.sum() == n - len(rows[::3])
    res = TrackingResult("v.mp4", 16.0, n, (64, 48), [t])
    res.save(tmp_path / "tracks.json")
    grew = _rss_mb() - before
    assert grew < 20  # the mesh alone is 46 MB
    with np.load(tmp_path / "tracks_mesh.npz") as z:
        assert np.array_equal(z["mesh_0"][1], rec.mesh)
