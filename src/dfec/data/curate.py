"""``dfec data curate VIDEO_DIR``: the paper's clip filters, each switchable and reported per clip.

Paper (FDA data collection): candidate clips are kept only when

1. **duration**: the clip lasts at most 20 s;
2. **face**: at least one face covers more than 5 % of the frame (found by the face tracking
   module, :func:`dfec.tracking.pipeline.track`);
3. **static**: the clip is not static (there is visible motion between frames);
4. **people**: there are not too many people in the scene;
5. **shots**: there are no frequent shot changes (detected with PySceneDetect).

The paper gives numbers for (1) and (2) only. For the others this toolkit uses, as defaults:
a clip is static when the mean absolute grey-level difference between consecutive frames (sampled
at 4 fps, downscaled to 64 px wide) is below 0.5 of 255; "too many people" is more than 3 faces
visible at the same time (counting tracks that last at least 3 analysis frames); and "frequent shot
changes" is any cut (``max_shot_changes = 0``), since a facial-dynamics caption follows one face in
one shot. All are settings of :class:`CurateConfig` and options of the command.

Filters run cheapest first (duration, shots, static, then face tracking for face + people); by
default a clip's remaining filters are skipped once one drops it (``run_all=True`` runs them all).
Each clip's verdict is appended to ``curation.jsonl`` as soon as it is known, so an interrupted
run resumes where it stopped (clips already judged with the same settings are not redone);
``curation.csv`` and ``curation_summary.json`` are rewritten at the end.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from ..batch import Parallel, output_lock, run_items
from ..errors import DfecError, MissingDependencyError
from ..schema import TrackingResult

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".flv", ".mpg", ".mpeg", ".wmv", ".3gp")
FILTERS = ("duration", "shots", "static", "face", "people")


@dataclass
class CurateConfig:
    """Settings of ``dfec data curate``; paper values where the paper gives them."""

    max_duration: float = 20.0       # paper: clips longer than 20 s are dropped
    min_face_area: float = 0.05      # paper: a face must cover more than 5 % of the frame
    min_motion: float = 0.5          # mean |grey difference| (0-255) below this -> static
    motion_fps: float = 4.0          # frames per second sampled for the motion measure
    motion_width: int = 64           # frames are downscaled to this width for the motion measure
    max_people: int = 3              # more faces than this at the same time -> too many people
    min_track_frames: int = 3        # a face counts as a person when tracked this many frames
    max_shot_changes: int = 0        # more cuts than this -> frequent shot changes
    shot_threshold: float = 27.0     # PySceneDetect ContentDetector threshold (its default)
    shot_min_scene_len: int = 8      # frames; shortest shot PySceneDetect reports
    track_frames: int = 16           # N frames the tracking module selects (paper: 16)
    check_duration: bool = True
    check_face: bool = True
    check_static: bool = True
    check_people: bool = True
    check_shots: bool = True
    run_all: bool = False            # run every enabled filter even after one has dropped the clip
    workers: int = 0                 # processes; 0 = min(4, CPU count); 1 = no pool

    def enabled(self, name: str) -> bool:
        return bool(getattr(self, f"check_{name}"))

    def fingerprint(self) -> str:
        """A short hash of the settings that decide a verdict (resume only reuses matching rows)."""
        d = asdict(self)
        d.pop("workers", None)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


class FaceAnalyzer(Protocol):
    """Anything that turns a video into a :class:`~dfec.schema.TrackingResult` (default: the
    tracking module). Must be picklable to be used with a process pool."""

    def __call__(self, path: str, n_frames: int) -> TrackingResult: ...


def tracking_analyzer(path: str, n_frames: int = 16) -> TrackingResult:
    """The default :class:`FaceAnalyzer`: :func:`dfec.tracking.pipeline.track`."""
    from ..tracking.pipeline import track

    return track(path, n_frames=n_frames, progress=False)


def check_tracking_available() -> None:
    """Raise :class:`MissingDependencyError` when the tracking module cannot be imported."""
    try:
        from ..tracking.pipeline import track  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("the face tracking module (dfec.tracking.pipeline)",
                                     f"{exc}; run with --no-face --no-people to skip those filters") from None


# --------------------------------------------------------------------------------------------
# measurements (one per filter)
# --------------------------------------------------------------------------------------------
def measure_duration(path: str | Path) -> float:
    """Clip length in seconds (container header; counted from the frames when the header is silent)."""
    from ..video.reader import iter_frames, probe

    info = probe(path)
    if info.duration > 0:
        return float(info.duration)
    if info.n_frames and info.fps:
        return info.n_frames / info.fps
    last = 0.0
    for _, t, _ in iter_frames(path, fps=None):
        last = t
    step = 1.0 / info.fps if info.fps else 0.0
    return last + step


def measure_motion(path: str | Path, fps: float = 4.0, width: int = 64) -> float:
    """Mean absolute grey-level difference (0-255) between consecutive frames sampled at ``fps``.

    A static clip (a still image, a frozen frame) scores near 0; a talking face or a moving camera
    scores well above. The frames are downscaled to ``width`` pixels so that sensor noise and
    compression grain average out.
    """
    import cv2

    from ..video.reader import iter_frames

    prev = None
    diffs: list[float] = []
    for _, _, rgb in iter_frames(path, fps=fps):
        h, w = rgb.shape[:2]
        size = (max(1, width), max(1, round(h * width / max(w, 1))))
        grey = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA).astype(np.float32)
        if prev is not None:
            diffs.append(float(np.abs(grey - prev).mean()))
        prev = grey
    return float(np.mean(diffs)) if diffs else 0.0


def measure_shot_changes(path: str | Path, threshold: float = 27.0, min_scene_len: int = 8) -> tuple[int, list[float]]:
    """Number of hard cuts found by PySceneDetect's ContentDetector, and their times (s)."""
    from scenedetect import ContentDetector, detect

    try:
        scenes = detect(str(path), ContentDetector(threshold=threshold, min_scene_len=min_scene_len),
                        start_in_scene=True, backend="pyav")
    except Exception as exc:  # scenedetect wraps decoder failures in several classes
        raise DfecError(f"shot detection failed ({type(exc).__name__}: {exc})", path) from None
    cuts = [float(start.seconds if hasattr(type(start), "seconds") else start.get_seconds()) for start, _ in scenes[1:]]
    return len(cuts), cuts


def face_measures(result: TrackingResult, min_track_frames: int = 3) -> dict[str, Any]:
    """From a tracking result: the largest face's area as a fraction of the frame, and the largest
    number of faces visible at the same time.

    A track's area is the median of its detected (not interpolated) boxes. Only tracks detected in
    at least ``min_track_frames`` frames count, so a one-frame false detection neither passes the
    face filter nor makes a crowd; ``n_tracks`` counts every track with a detection.
    """
    w, h = result.frame_size
    frame_area = float(w) * float(h)
    best = 0.0
    per_frame: dict[int, int] = {}
    n_faces = 0
    for tr in result.tracks:
        real = [i for i in range(len(tr)) if not tr.interpolated[i]]
        if not real:
            continue
        n_faces += 1
        boxes = tr.boxes[real]
        areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
        if len(real) >= min_track_frames:
            if frame_area > 0:
                best = max(best, float(np.median(areas)) / frame_area)
            for i in real:
                per_frame[tr.frames[i]] = per_frame.get(tr.frames[i], 0) + 1
    people = max(per_frame.values()) if per_frame else 0
    return {"face_area": best, "people": people, "n_tracks": n_faces}


def _file_stamp(path: str | Path) -> list | None:
    """(size, mtime) of a file: a resumed verdict is reused only while the file is unchanged."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, round(st.st_mtime, 3)]


# --------------------------------------------------------------------------------------------
# one clip
# --------------------------------------------------------------------------------------------
def _verdict(passed: bool | None, value: Any = None, limit: Any = None, note: str = "") -> dict:
    return {"passed": passed, "value": value, "limit": limit, "note": note}


def curate_clip(path: str | Path, config: CurateConfig | None = None,
                analyzer: Callable[[str, int], TrackingResult] | None = None, clip: str | None = None) -> dict:
    """Run the enabled filters on one clip; returns its report row (never raises on bad video).

    The row has ``clip``, ``path``, ``kept``, ``reasons`` (one line per failed filter),
    ``filters`` (``{name: {passed, value, limit, note}}``; ``passed`` is None when the filter was
    disabled or not run), ``error`` (the reason the clip could not be read, else None), ``config``
    (the settings' fingerprint) and ``seconds``.
    """
    cfg = config or CurateConfig()
    t0 = time.perf_counter()
    p = str(path)
    row: dict[str, Any] = {"clip": clip or p, "path": p, "kept": False, "reasons": [], "filters": {},
                           "error": None, "config": cfg.fingerprint(), "file": _file_stamp(p), "seconds": 0.0}
    filters: dict[str, dict] = {name: _verdict(None, note="disabled") for name in FILTERS}
    reasons: list[str] = []

    def stop() -> bool:
        return bool(reasons) and not cfg.run_all

    try:
        if cfg.check_duration:
            d = measure_duration(p)
            ok = d <= cfg.max_duration
            filters["duration"] = _verdict(ok, round(d, 3), cfg.max_duration)
            if not ok:
                reasons.append(f"too long: {d:.1f} s > {cfg.max_duration:g} s")
        if cfg.check_shots and not stop():
            n, cuts = measure_shot_changes(p, cfg.shot_threshold, cfg.shot_min_scene_len)
            ok = n <= cfg.max_shot_changes
            filters["shots"] = _verdict(ok, n, cfg.max_shot_changes, "cuts at " + ", ".join(f"{c:.2f} s" for c in cuts) if cuts else "")
            if not ok:
                reasons.append(f"shot changes: {n} cut(s) > {cfg.max_shot_changes}")
        if cfg.check_static and not stop():
            m = measure_motion(p, cfg.motion_fps, cfg.motion_width)
            ok = m >= cfg.min_motion
            filters["static"] = _verdict(ok, round(m, 4), cfg.min_motion)
            if not ok:
                reasons.append(f"static: motion {m:.3f} < {cfg.min_motion:g}")
        if (cfg.check_face or cfg.check_people) and not stop():
            result = (analyzer or tracking_analyzer)(p, cfg.track_frames)
            fm = face_measures(result, cfg.min_track_frames)
            if cfg.check_face:
                ok = fm["face_area"] > cfg.min_face_area
                note = "no face found" if fm["n_tracks"] == 0 else ""
                filters["face"] = _verdict(ok, round(fm["face_area"], 5), cfg.min_face_area, note)
                if not ok:
                    reasons.append("no face" if fm["n_tracks"] == 0 else
                                   f"face too small: {100 * fm['face_area']:.1f}% <= {100 * cfg.min_face_area:g}% of the frame")
            if cfg.check_people:
                ok = fm["people"] <= cfg.max_people
                filters["people"] = _verdict(ok, fm["people"], cfg.max_people)
                if not ok:
                    reasons.append(f"too many people: {fm['people']} faces > {cfg.max_people}")
    except DfecError as exc:
        row["error"] = exc.reason
        reasons.append(f"unreadable: {exc.reason}")
    except Exception as exc:  # keep a long run going; the row is retried on resume
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["retry"] = True
        reasons.append(f"error: {type(exc).__name__}: {exc}")
    for name in FILTERS:
        if cfg.enabled(name) and filters[name]["note"] == "disabled":
            filters[name] = _verdict(None, note="not run: an earlier filter dropped the clip")
    row["filters"] = filters
    row["reasons"] = reasons
    row["kept"] = not reasons
    row["seconds"] = round(time.perf_counter() - t0, 3)
    return row


# --------------------------------------------------------------------------------------------
# a folder of clips
# --------------------------------------------------------------------------------------------
def find_videos(video_dir: str | Path, extensions: tuple[str, ...] = VIDEO_EXTENSIONS) -> list[Path]:
    root = Path(video_dir)
    if not root.exists():
        raise DfecError("no such directory", root)
    if not root.is_dir():
        raise DfecError("not a directory of videos", root)
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in extensions)


@dataclass
class CurateResult:
    rows: list[dict]
    n_kept: int
    n_dropped: int
    n_resumed: int
    files: dict[str, str] = field(default_factory=dict)


CSV_COLUMNS = ("clip", "kept", "reasons", "duration_s", "shot_changes", "motion", "face_area", "people", "error")


def _csv_row(row: dict) -> dict:
    f = row.get("filters", {})
    return {"clip": row["clip"], "kept": int(bool(row["kept"])), "reasons": "; ".join(row["reasons"]),
            "duration_s": f.get("duration", {}).get("value"), "shot_changes": f.get("shots", {}).get("value"),
            "motion": f.get("static", {}).get("value"), "face_area": f.get("face", {}).get("value"),
            "people": f.get("people", {}).get("value"), "error": row.get("error") or ""}


def _read_done(jsonl: Path, fingerprint: str) -> dict[str, dict]:
    done: dict[str, dict] = {}
    if not jsonl.is_file():
        return done
    for line in jsonl.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interruption: that clip is redone
        if isinstance(row, dict) and "clip" in row and row.get("config") == fingerprint and not row.get("retry"):
            done[row["clip"]] = row
    return done


def _work(args: tuple) -> dict:
    path, clip, cfg, analyzer = args
    return curate_clip(path, cfg, analyzer, clip)


def _worker_setup():
    """The batch runner's per-worker setup: nothing to load, each item names its clip and settings."""
    return _work


def _failed_row(item: tuple, reason: str, error: str) -> dict:
    """The row of a clip whose worker process died: dropped for now, judged again on resume."""
    path, clip, cfg, _ = item
    return {"clip": clip, "path": str(path), "kept": False, "reasons": [f"error: {reason}"],
            "filters": {name: _verdict(None, note="not run: the worker failed") for name in FILTERS},
            "error": f"{error}: {reason}", "retry": True, "config": cfg.fingerprint(), "file": _file_stamp(path),
            "seconds": 0.0}


def curate(video_dir: str | Path, out_dir: str | Path, config: CurateConfig | None = None,
           analyzer: Callable[[str, int], TrackingResult] | None = None, progress: bool = True,
           resume: bool = True, parallel: Parallel | None = None) -> CurateResult:
    """Judge every video under ``video_dir`` and write ``curation.jsonl``, ``curation.csv``,
    ``kept.txt`` and ``curation_summary.json`` in ``out_dir``.

    Runs through the shared batch runner (:mod:`dfec.batch`) with a tqdm bar: ``config.workers``
    processes on this machine, or ``parallel`` (e.g. ``Parallel(workers=8, ray=True)`` for a Ray
    cluster), with the same rows either way. With ``resume`` (default), clips already in
    ``curation.jsonl`` with the same settings are not judged again. ``curation.jsonl`` is locked
    while the run writes it: a second curate into the same folder is refused.
    """
    from tqdm import tqdm

    cfg = config or CurateConfig()
    videos = find_videos(video_dir)
    if not videos:
        raise DfecError(f"no video files ({', '.join(VIDEO_EXTENSIONS[:4])}, ...) found", video_dir)
    if analyzer is None and (cfg.check_face or cfg.check_people):
        check_tracking_available()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "curation.jsonl"
    with output_lock(jsonl):  # one writer per output folder: a second curate is refused
        fp = cfg.fingerprint()
        root = Path(video_dir)
        clips = {p.relative_to(root).as_posix(): p for p in videos}
        done = _read_done(jsonl, fp) if resume else {}
        if not resume and jsonl.exists():
            jsonl.unlink()
        done = {c: r for c, r in done.items() if c in clips and r.get("file") == _file_stamp(clips[c])}
        todo = [(str(p), c, cfg, analyzer) for c, p in clips.items() if c not in done]
        rows: dict[str, dict] = {c: done[c] for c in clips if c in done}
        if parallel is None:
            parallel = Parallel(workers=max(1, cfg.workers or min(4, os.cpu_count() or 1)))
        bar = tqdm(total=len(clips), initial=len(rows), desc="curate", unit="clip", disable=not progress)
        if jsonl.is_file() and jsonl.stat().st_size:
            with open(jsonl, "rb+") as fh:  # a line torn by an interruption must not swallow the next row
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
        with open(jsonl, "a", encoding="utf-8") as sink:
            def record(row: dict) -> None:
                rows[row["clip"]] = row
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                bar.update(1)
                bar.set_postfix(kept=sum(r["kept"] for r in rows.values()), refresh=False)

            # spawned workers (never forked: forking a process that already runs OpenMP/BLAS or torch
            # threads, such as a notebook or a test session, can kill the child)
            for row in run_items(todo, _worker_setup, (), parallel, handler=_work, fail=_failed_row):
                record(row)
        bar.close()
        ordered = [rows[c] for c in sorted(rows)]
        # compact the log: one row per clip, latest settings only
        tmp = jsonl.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in ordered), encoding="utf-8")
        os.replace(tmp, jsonl)
        with open(out / "curation.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
            w.writeheader()
            for r in ordered:
                w.writerow(_csv_row(r))
        kept = [r for r in ordered if r["kept"]]
        (out / "kept.txt").write_text("".join(r["clip"] + "\n" for r in kept), encoding="utf-8")
        by_reason: dict[str, int] = {}
        for r in ordered:
            for name, v in r["filters"].items():
                if v["passed"] is False:
                    by_reason[name] = by_reason.get(name, 0) + 1
            if r.get("error"):
                by_reason["unreadable"] = by_reason.get("unreadable", 0) + 1
        summary = {"video_dir": str(video_dir), "n_clips": len(ordered), "n_kept": len(kept),
                   "n_dropped": len(ordered) - len(kept), "dropped_by_filter": by_reason,
                   "n_resumed": len(done), "config": asdict(cfg), "fingerprint": fp}
        (out / "curation_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files = {n: str(out / n) for n in ("curation.jsonl", "curation.csv", "kept.txt", "curation_summary.json")}
    return CurateResult(rows=ordered, n_kept=len(kept), n_dropped=len(ordered) - len(kept),
                        n_resumed=len(done), files=files)
