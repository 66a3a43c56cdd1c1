"""The Dynamic Video Face Tracking Module end to end (paper).

decode at 16 fps -> per frame: detect faces, fit 68 landmarks P_t, embed (lazily) -> StrongSORT
-> appearance linking of tracklets -> GSI gap filling -> main character by K-means on
(A_k, S_k) (Eq. 3) -> N uniformly sampled frames with nearest-main-face replacement -> aligned
crops, contact sheet and ``tracks.json``.
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DfecError
from ..schema import Detection, Track, TrackingResult
from ..video.reader import iter_frames, probe
from .config import TrackConfig
from .framecache import FrameCache
from .gsi import gap_sources, gsi
from .kalman import xyah_to_xyxy
from .link import link_tracklets
from .rows import RowSpill
from .selection import (mean_area, mean_pairwise_similarity, neutral_similarity, screen_time_area, select_frames,
                        select_main)
from .strongsort import StrongSort

#: the clock of ``timings`` (wall time; benchmarks/track_speed.py swaps in CPU time)
_clock = time.perf_counter

STAGES = ("decode", "detect", "landmarks", "mesh", "iris", "embed", "track", "post")


class FaceModels:
    """The three per-frame backends (any objects following :mod:`dfec.faces.base`).

    ``config.detector == "mediapipe"`` (the default) builds :class:`~dfec.faces.facemesh.MediaPipeFaces`
    as both detector and landmark predictor; when its runtime or model files are not installed a
    one-line warning names the pip command and dlib HOG is used instead (``name`` says which
    backend runs). A model file failing its SHA-256 check is refused (:class:`DfecError`).
    """

    def __init__(self, detector=None, landmarks=None, embedder=None, config: TrackConfig | None = None):
        cfg = config or TrackConfig()
        self.name = cfg.detector if detector is None else getattr(detector, "name", "custom")
        if detector is None and cfg.detector == "mediapipe":
            detector = _mediapipe_or_none(cfg)
            if detector is None:
                self.name = "hog"
            elif landmarks is None:
                landmarks = detector
        if detector is None:
            from ..faces.detector import make_detector

            detector = make_detector("cnn" if self.name == "cnn" else "hog", cfg.detect_upsample, cfg.detect_max_side)
        if landmarks is None:
            from ..faces.landmarks import DlibLandmarks

            landmarks = DlibLandmarks()
        if embedder is None:
            from ..faces.embedder import DlibResNetEmbedder

            embedder = DlibResNetEmbedder()
        self.detector, self.landmarks, self.embedder = detector, landmarks, embedder

    @property
    def mesh_stack(self):
        """The MediaPipe stack when it is the detector (frame-to-frame mesh tracking), else None."""
        from ..faces.facemesh import MediaPipeFaces

        return self.detector if isinstance(self.detector, MediaPipeFaces) else None


def _mediapipe_or_none(cfg: TrackConfig):
    """The MediaPipe stack, or None (after a one-line warning) when it is not installed."""
    import sys

    from ..errors import MissingDependencyError

    try:
        from ..faces import tflite
        from ..faces.facemesh import MediaPipeFaces

        tflite.check_available()
        return MediaPipeFaces(cfg.detect_min_score, cfg.mesh_min_presence, cfg.with_iris,
                              flip_average=cfg.mesh_flip_average, flip_min_face_px=cfg.mesh_flip_min_face_px)
    except MissingDependencyError as exc:
        print(f"dfec: warning: {exc.reason}; falling back to dlib HOG (--detector hog)", file=sys.stderr)
        return None


_MODEL_CACHE: dict[tuple, FaceModels] = {}


def _default_models(cfg: TrackConfig) -> FaceModels:
    key = (cfg.detector, cfg.detect_upsample, cfg.detect_max_side, cfg.detect_min_score, cfg.mesh_min_presence,
           cfg.with_iris, cfg.mesh_flip_average, cfg.mesh_flip_min_face_px)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE[key] = FaceModels(config=cfg)
    return _MODEL_CACHE[key]


def _disk_full_is_one_line(fn):
    """A full disk (ENOSPC / EDQUOT) while writing the per-frame rows or the outputs becomes a
    one-line :class:`DfecError` naming the output folder (the temp folder without one)."""
    import errno
    import functools
    import inspect

    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            import tempfile

            where = sig.bind(*args, **kwargs).arguments.get("out_dir") or tempfile.gettempdir()
            raise DfecError(f"no space left on the disk ({exc.strerror})", where) from None

    return run


@_disk_full_is_one_line
def track(path: str | Path, config: TrackConfig | None = None, n_frames: int | None = 16,
          out_dir: str | Path | None = None, progress: bool = False,
          models: FaceModels | None = None, **overrides: Any) -> TrackingResult:
    """Run the face tracking module on the video at ``path``.

    ``config`` holds every parameter (:class:`TrackConfig`); keyword ``overrides`` replace single
    fields (``track(p, detector="cnn")``). ``n_frames`` is N, the number of selected frames (None
    keeps ``config.n_frames``). With ``out_dir``, writes ``tracks.json``, ``faces/*.png`` (aligned
    crops of the main face at the selected frames) and ``contact_sheet.png``. A video without a
    face is not an error: the result has no tracks. Raises :class:`DfecError` for unreadable input.
    """
    cfg = config or TrackConfig()
    if overrides:
        from dataclasses import replace

        unknown = set(overrides) - set(cfg.to_json())
        if unknown:
            raise TypeError(f"unknown TrackConfig field(s): {', '.join(sorted(unknown))}")
        cfg = replace(cfg, **overrides)
    if n_frames is not None and n_frames != cfg.n_frames:
        from dataclasses import replace

        cfg = replace(cfg, n_frames=int(n_frames))

    path = Path(path)
    info = probe(path)  # DfecError for missing / non-video files
    if out_dir is not None:
        _make_dir(Path(out_dir))  # fail before the work, not after it
    models = models or _default_models(cfg)
    stack = models.mesh_stack
    if models.name in ("hog", "cnn", "mediapipe") and models.name != cfg.detector:
        from dataclasses import replace

        cfg = replace(cfg, detector=models.name)  # the fallback ran: tracks.json says so
    timings = {k: 0.0 for k in STAGES}
    follower = None
    if stack is not None:
        from dataclasses import replace

        from .meshtrack import MeshFollower

        follower = MeshFollower(stack, cfg, _clock)
        tracker = StrongSort(replace(cfg, embed_every=cfg.mesh_embed_every), borrow_tentative=True)
    else:
        tracker = StrongSort(cfg)
    tracker.store = RowSpill(out_dir)  # per-frame rows on disk, not in memory (.rows)
    expected = int(math.ceil(info.duration * cfg.fps)) if info.duration else None

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=expected, unit="frame", desc=f"track {path.name}", leave=False)
    n_total = 0
    embed_clock = [0.0]
    size = (info.width, info.height)
    # the frames the outputs will likely need (the N uniform picks and their stand-ins), so the
    # video is not decoded twice; any other selected frame is decoded again (.framecache)
    cache = (FrameCache(info.duration * cfg.fps, cfg.n_frames, cfg.frame_cache_mb)
             if out_dir is not None and cfg.frame_cache_mb > 0 else None)
    prev_rgb, prev_dets = None, []
    try:
        # fill=True: a slow or variable-rate source repeats a frame, so index k is always the
        # picture at k / fps seconds (the frame indices' meaning in TrackingResult)
        coverage: dict = {}  # declared vs decoded duration (a truncated file warns), kept in tracks.json
        frames_iter = iter_frames(path, cfg.fps, fill=True, coverage=coverage)
        while True:
            t0 = _clock()
            try:
                idx, _, rgb = next(frames_iter)
            except StopIteration:
                break
            t1 = _clock()
            timings["decode"] += t1 - t0
            n_total = idx + 1
            repeated = rgb is prev_rgb  # the same source frame again: same faces
            if cache is not None:
                cache.offer(idx, rgb, repeated)
            size = (rgb.shape[1], rgb.shape[0])
            if repeated:
                dets = [Detection(idx, d.box, d.score, landmarks=d.landmarks, mesh=d.mesh, iris=d.iris)
                        for d in prev_dets]
                t3 = _clock()
            elif follower is not None:
                dets = follower.step(rgb, idx)
                if follower.cut:
                    tracker.cut()
                t3 = _clock()
            else:
                found = _detect(models.detector, rgb, idx, tracker, cfg)
                t2 = _clock()
                timings["detect"] += t2 - t1
                dets = [Detection(idx, box, score, landmarks=models.landmarks.predict(rgb, box)) for box, score in found]
                t3 = _clock()
                timings["landmarks"] += t3 - t2
            prev_rgb, prev_dets = rgb, dets
            if cache is not None:
                cache.faces(idx, rgb, bool(dets), cut=bool(follower is not None and follower.cut and not repeated))
            e0 = embed_clock[0]

            def embed(j: int, rgb=rgb, dets=dets) -> np.ndarray:
                s = _clock()
                e = models.embedder.embed(rgb, dets[j].box, dets[j].landmarks)
                embed_clock[0] += _clock() - s
                return e

            tracker.step(idx, dets, embed, _deferred(models.embedder, rgb, dets, embed_clock) if follower else None)
            spent = embed_clock[0] - e0
            timings["embed"] += spent
            timings["track"] += _clock() - t3 - spent
            if bar is not None:
                bar.update(1)
    except BaseException:
        if tracker.store is not None:  # a failed run leaves no open temporary files
            tracker.store.close()
            tracker.store = None
        raise
    finally:
        if bar is not None:
            bar.close()

    t_post, e0 = _clock(), embed_clock[0]
    # the shot changes, read once (the follower's spans close its open window): they set the
    # tracklets' shots for linking and go into the result
    changes = follower.shot_changes() if follower is not None else []
    if follower is not None:
        renumber_shots(tracker, changes)
    tracks = finish_tracks(tracker, cfg)
    timings["embed"] += embed_clock[0] - e0  # deferred embeddings computed for linking
    # with the mesh backend, faces FaceMesh never confirmed (mostly unmeshed tracks: profiles,
    # shadows) are main-character candidates only when no meshed track exists
    cands = [t for t in tracks if meshed_share(t) >= 0.5] if stack is not None else tracks
    cands = cands or tracks
    areas = [screen_time_area(t, n_total) if cfg.area_by_screen_time else t.mean_area for t in cands]
    sims = [t.mean_similarity for t in cands]
    if cfg.neutral_single_similarity:
        sims = list(neutral_similarity(sims))
    mask, rule = select_main(areas, sims, cfg.kmeans_clusters, cfg.seed, cfg.similarity_std_floor)
    for t, m in zip(cands, mask):
        t.is_main = bool(m)
    # frames where a main face was actually detected (interpolated entries are occluded faces)
    main_frames = {f for t in tracks if t.is_main for f, interp in zip(t.frames, t.interpolated) if not interp}
    selected = select_frames(n_total, cfg.n_frames, main_frames)
    timings["post"] = _clock() - t_post - (embed_clock[0] - e0)
    if follower is not None:
        timings.update({k: v for k, v in follower.timings.items()})
        timings["n_detect"] = float(follower.n_detect)
        timings["n_cuts"] = float(follower.n_cuts)
        timings["n_transitions"] = float(follower.n_transitions)
    timings["n_embedded"] = float(tracker.n_embedded)
    timings["n_borrowed"] = float(tracker.n_borrowed)
    result = TrackingResult(video=str(path), fps=cfg.fps, n_frames=n_total, frame_size=size, tracks=tracks,
                            selected_frames=selected, selection_rule=rule, timings=timings, video_coverage=coverage,
                            shot_changes=changes,
                            landmarks_from_mesh=stack is not None)
    if out_dir is not None:
        t_out = _clock()
        write_outputs(result, out_dir, cfg, cache.frames if cache is not None else None)
        del cache
        timings["write"] = _clock() - t_out
        save_result(result, Path(out_dir) / "tracks.json", cfg)
    return result


def meshed_share(track: Track) -> float:
    """Share of a track's detected (not interpolated) frames that have a measured mesh."""
    observed = [i for i, v in enumerate(track.interpolated) if not v]
    return float(track.has_mesh[observed].mean()) if observed else 0.0


def _deferred(embedder, rgb: np.ndarray, dets: list[Detection], clock: list[float]):
    """``defer(j)`` for :meth:`StrongSort.step`: a closure computing ``dets[j]``'s embedding later
    from a copy of the face region (the box grown by half its size on every side), not the frame."""

    def defer(j: int):
        d = dets[j]
        h, w = rgb.shape[:2]
        bw, bh = d.box[2] - d.box[0], d.box[3] - d.box[1]
        x1, y1 = int(max(0, d.box[0] - bw / 2)), int(max(0, d.box[1] - bh / 2))
        x2, y2 = int(min(w, d.box[2] + bw / 2)) + 1, int(min(h, d.box[3] + bh / 2)) + 1
        crop = np.ascontiguousarray(rgb[y1:y2, x1:x2])
        box, lm = d.box - [x1, y1, x1, y1], d.landmarks - [x1, y1]

        def compute() -> np.ndarray:
            s = _clock()
            e = embedder.embed(crop, box, lm)
            clock[0] += _clock() - s
            return e

        return compute

    return defer


def _detect(detector, rgb: np.ndarray, idx: int, tracker: StrongSort, cfg: TrackConfig):
    """Whole-frame detection every ``detect_full_every`` frames or when no track was seen in the
    last frame; otherwise only in regions around the recently seen tracks.

    A whole-frame pass on a large frame runs on a copy shrunk to ``detect_max_side``, where a face
    that is small in a 1080p/4K frame falls below the detector's window; so a whole-frame pass on a
    shrunk frame also searches the regions of the recently seen tracks at full resolution
    (cheap), and a face once found is not lost every ``detect_full_every`` frames."""
    from ..faces.detector import detect_in_regions, nms

    # where each recently seen track should be now (one constant-velocity step ahead)
    recent = [xyah_to_xyxy(t.mean[:4] + t.mean[4:]) for t in tracker.active if t.time_since_update <= 1]
    if cfg.detect_full_every <= 1 or idx % cfg.detect_full_every == 0 or not recent:
        found = detector.detect(rgb)
        shrunk = cfg.detect_max_side and max(rgb.shape[:2]) > cfg.detect_max_side
        if recent and shrunk:
            found = nms(list(found) + detect_in_regions(detector, rgb, recent, cfg.roi_expand, cfg.roi_face_px))
        return found
    return detect_in_regions(detector, rgb, recent, cfg.roi_expand, cfg.roi_face_px)


def renumber_shots(tracker: StrongSort, changes: list) -> None:
    """Set each tracklet's shot index from the shot changes that were confirmed (``[first, last]``
    frame spans): the number of changes that begin before its first frame. Online, the follower
    ends the tracklets at every blend window it sees; a window later judged to be motion (a pan that
    goes on) is no shot change, and the tracklets it split stay in one shot, so motion chaining can
    join them again (review 6)."""
    starts = sorted(int(c[0]) for c in changes)
    for st in tracker.tracks(confirmed_only=False):
        if st.detections:
            first = st.detections[0].frame
            st.shot = sum(1 for a in starts if a < first)


def finish_tracks(tracker: StrongSort, cfg: TrackConfig) -> list[Track]:
    """Export the confirmed tracklets as :class:`Track` records: tracklets of one face are linked
    by appearance (:mod:`.link`), gaps are GSI-filled, and A_k and S_k of Eq. 3 are computed.
    Ids are renumbered 1.. in order of first appearance.

    When the tracklets keep their rows on disk (``tracker.store``, a :class:`.rows.RowSpill`),
    each track's landmarks are read back and its mesh / iris rows are written in their final order
    to a :class:`.rows.MeshFile`, mapped read-only once all are written (memory stays flat with
    video length); the spill is closed at the end."""
    from .rows import MeshFile, StoredDetection, nan_rows

    store = getattr(tracker, "store", None)
    states, groups = link_tracklets(tracker, cfg)  # may compute deferred embeddings (lazy identity)
    groups.sort(key=lambda g: min(states[k].detections[0].frame for k in g))
    meshes = MeshFile(store.folder) if store is not None else None
    out, on_disk = [], []
    for k, group in enumerate(groups, start=1):
        dets = sorted((d for i in group for d in states[i].detections), key=lambda d: d.frame)
        embeddings = [e for i in group for e in states[i].embeddings]
        boxes, scores = np.array([d.box for d in dets]), np.array([d.score for d in dets])
        stored = store is not None and all(isinstance(d, StoredDetection) for d in dets)
        if stored:
            landmarks = store.landmarks([d.row for d in dets])
            mesh, iris = nan_rows(len(dets), (468, 3)), nan_rows(len(dets), (10, 3))
        else:
            nan_mesh, nan_iris = np.full((468, 3), np.nan, np.float32), np.full((10, 3), np.nan, np.float32)
            landmarks = np.array([d.landmarks for d in dets])
            mesh = np.array([nan_mesh if d.mesh is None else d.mesh for d in dets], dtype=np.float32)
            iris = np.array([nan_iris if d.iris is None else d.iris for d in dets], dtype=np.float32)
        t = Track(k, [d.frame for d in dets], boxes, landmarks, scores, mesh=mesh, iris=iris)
        t = gsi(t, cfg.gsi_max_gap, cfg.gsi_sigma)
        if stored:
            _, left, _, w = gap_sources([d.frame for d in dets], cfg.gsi_max_gap)
            rows = np.array([d.mesh_row for d in dets], dtype=np.int64)[left]
            meshes.add(store, np.where(w > 0, -1, rows))
            on_disk.append(t)
        t.mean_area = mean_area(t)
        t.mean_similarity = mean_pairwise_similarity(embeddings, cfg.similarity_max_embeddings)
        out.append(t)
    if store is not None:
        for t, (mesh, iris) in zip(on_disk, meshes.arrays()):
            t.mesh, t.iris = mesh, iris
        store.close()
        tracker.store = None
    return out


def save_result(result: TrackingResult, path: str | Path, cfg: TrackConfig | None = None) -> Path:
    """Write ``tracks.json``: the :class:`TrackingResult` (readable with ``TrackingResult.load``)
    plus the configuration it was made with under ``"config"``; per-frame meshes and iris points
    go to the binary side file ``tracks_mesh.npz`` beside it."""
    path = Path(path)
    try:
        return result.save(path, {"config": cfg.to_json()} if cfg is not None else None)
    except OSError as exc:
        raise DfecError(f"cannot write tracks.json ({exc.strerror})", path) from None


def _make_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise DfecError("output folder (--out) exists and is not a folder", out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DfecError(f"cannot create output folder ({exc.strerror})", out) from None
    return out


def write_outputs(result: TrackingResult, out_dir: str | Path, cfg: TrackConfig,
                  frames_cache: dict[int, np.ndarray] | None = None) -> None:
    """Write the aligned crops and the contact sheet into ``out_dir``; the selected frames come
    from ``frames_cache`` when it holds them, else the video is decoded again."""
    from .render import contact_sheet, write_crops

    out = _make_dir(Path(out_dir))
    wanted = set(result.selected_frames)
    frames: dict[int, np.ndarray] = {}
    if frames_cache is not None:
        frames = {f: frames_cache[f] for f in wanted if f in frames_cache}
    missing = wanted - set(frames)
    if missing:
        last = max(missing)
        for idx, _, rgb in iter_frames(result.video, cfg.fps, fill=True, only=missing):
            frames[idx] = rgb
            if idx >= last:
                break
    # crop paths are stored relative to the output folder (where tracks.json lives), so a run
    # folder stays valid when it is moved or read from another working directory
    result.crops = [str(Path(p).relative_to(out)) for p in
                    write_crops(frames, result, out / "faces", cfg.crop_size, cfg.crop_margin)]
    contact_sheet(frames, result, out / "contact_sheet.png", cfg.sheet_columns, cfg.sheet_thumb_width)
