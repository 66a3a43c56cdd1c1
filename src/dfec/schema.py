"""The small typed records passed between pipeline stages.

``Detection`` (faces/) -> ``Track`` and ``TrackingResult`` (tracking/) -> ``Event`` (dynamics/);
``Caption`` (captioners/).
Every record round-trips through plain JSON with ``to_json()`` / ``from_json()``; numpy arrays are
stored as nested lists, and ``from_json`` gives them back as ``np.ndarray``.
"""
from __future__ import annotations

import json
import mmap
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np


def _nan_rows(a, n: int, shape: tuple[int, int], name: str) -> np.ndarray:
    """``a`` as a float32 (n, *shape) array; None or empty -> all NaN (not measured)."""
    if a is None or np.size(a) == 0:
        return np.full((n, *shape), np.nan, dtype=np.float32)
    a = np.asarray(a, dtype=np.float32)
    if a.shape != (n, *shape):
        raise ValueError(f"Track.{name} must have shape ({n}, {shape[0]}, {shape[1]}), got {a.shape}")
    return a


#: rows per chunk when a long per-frame array is streamed to a file (a mesh chunk is ~5.6 MB)
CHUNK_ROWS = 1024


def _mapping(a: np.ndarray) -> mmap.mmap | None:
    """The memory map under ``a`` (a file-backed array), or None."""
    b: Any = a
    while isinstance(b, np.ndarray):
        b = b.base
    if isinstance(b, memoryview):
        b = b.obj
    return b if isinstance(b, mmap.mmap) else None


def _row_chunks(a: np.ndarray, rows: int = CHUNK_ROWS):
    """``a`` in chunks of ``rows`` rows. For a file-backed array the pages read are handed back
    after each chunk (``MADV_DONTNEED``; the data stays on disk), so reading it all does not
    raise the resident memory by its size."""
    mm = _mapping(a)
    release = getattr(mm, "madvise", None) if mm is not None else None
    for i in range(0, len(a), rows):
        yield a[i:i + rows]
        if release is not None:
            try:
                release(mmap.MADV_DONTNEED)
            except (OSError, ValueError):
                release = None


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed(f, **arrays)``, streamed: each array goes into the zip in chunks of
    rows, never whole in memory (the file reads back with ``np.load`` like savez's)."""
    import zipfile

    from numpy.lib import format as npy

    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        for name, a in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as fp:
                npy.write_array_header_1_0(fp, {"descr": npy.dtype_to_descr(a.dtype), "fortran_order": False,
                                                "shape": a.shape})
                for chunk in _row_chunks(a):
                    fp.write(np.ascontiguousarray(chunk).tobytes())


def _write_json(f, items, rows: int = CHUNK_ROWS) -> None:
    """``f.write(json.dumps(dict(items)))`` for values that may be long arrays or lists, written
    ``rows`` entries at a time (the same text, without building a whole list of Python floats)."""
    f.write("{")
    for k, (key, v) in enumerate(items):
        f.write((", " if k else "") + json.dumps(key) + ": ")
        if isinstance(v, (np.ndarray, list)) and len(v) > rows:
            f.write("[")
            for i in range(0, len(v), rows):
                f.write((", " if i else "") + json.dumps(_plain(v[i:i + rows]))[1:-1])
            f.write("]")
        else:
            f.write(json.dumps(_plain(v)))
    f.write("}")


def _plain(value: Any) -> Any:
    """Convert numpy values (recursively) to JSON-friendly Python values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class Detection:
    """One face found in one frame.

    ``box`` is ``(x1, y1, x2, y2)`` in pixels of the decoded frame; ``landmarks`` is the 68x2 array
    P_t of the iBUG-68 points (x, y); ``embedding`` the identity vector (128-d for dlib ResNet) or
    ``None`` when it was not computed for this detection. ``mesh`` (468, 3) and ``iris``
    (10, 3) are the MediaPipe FaceMesh / Iris points when that backend measured them (see
    :class:`Track`).
    """

    frame: int
    box: np.ndarray
    score: float = 1.0
    landmarks: np.ndarray | None = None
    embedding: np.ndarray | None = None
    mesh: np.ndarray | None = None
    iris: np.ndarray | None = None

    @property
    def has_mesh(self) -> bool:
        """A FaceMesh was measured for this face (its rows may be kept elsewhere:
        :class:`dfec.tracking.rows.StoredDetection`)."""
        return self.mesh is not None

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float64).reshape(4)
        if self.landmarks is not None:
            self.landmarks = np.asarray(self.landmarks, dtype=np.float64).reshape(-1, 2)
        if self.embedding is not None:
            self.embedding = np.asarray(self.embedding, dtype=np.float64).reshape(-1)
        if self.mesh is not None:
            self.mesh = np.asarray(self.mesh, dtype=np.float32).reshape(468, 3)
        if self.iris is not None:
            self.iris = np.asarray(self.iris, dtype=np.float32).reshape(10, 3)

    @property
    def area(self) -> float:
        x1, y1, x2, y2 = self.box
        return float(max(0.0, x2 - x1) * max(0.0, y2 - y1))

    def to_json(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, d: dict) -> "Detection":
        return cls(**{f.name: d.get(f.name) for f in fields(cls) if f.name in d})


@dataclass
class Track:
    """One identity followed through the video (tracking module output).

    Per-frame lists are aligned: ``frames[i]`` has ``boxes[i]``, ``landmarks[i]`` and ``scores[i]``.
    ``interpolated[i]`` is True where the entry was filled by gap interpolation (no detection).
    ``mean_area`` is A_k and ``mean_similarity`` is S_k of the paper's Eq. 3; ``is_main`` marks the
    main-character track(s) chosen by the K-means step.

    ``mesh`` (T, 468, 3) float32: MediaPipe FaceMesh points in decoded-frame pixels (x, y, and z
    on the x scale, MediaPipe's convention: depth relative to the face centre, smaller = nearer);
    ``iris`` (T, 10, 3) float32: 5 points per eye, the subject's right eye first (mesh corners
    33/133, image-left in an unmirrored frontal view) then the left eye (362/263); per eye the
    iris centre first, then 4 iris contour points. Rows are NaN where the frame has no measured
    mesh: interpolated entries, a backend without a mesh, or a face BlazeFace found but FaceMesh
    rejected (full profile, deep shadow), whose ``landmarks`` row is then only a rough guess
    (``has_mesh`` tells which rows were measured). With the mesh backend
    ``landmarks`` is the mesh's 68-point view (:data:`dfec.faces.mesh68.MESH_TO_68`). Both
    arrays are kept out of ``to_json``: :meth:`TrackingResult.save` writes them to a side file.
    Tracks made by ``dfec.tracking.track`` hold both as read-only arrays: mapped from a
    temporary file (pages read when touched; see :mod:`dfec.tracking.rows`), or, where no row
    has a mesh, an all-NaN view that takes no memory. Assign a new array to change them.
    """

    track_id: int
    frames: list[int] = field(default_factory=list)
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 68, 2)))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,)))
    interpolated: list[bool] = field(default_factory=list)
    mean_area: float = 0.0
    mean_similarity: float = 0.0
    is_main: bool = False
    mesh: np.ndarray | None = None
    iris: np.ndarray | None = None

    #: fields stored in the binary side file instead of JSON (``*_mesh.npz``)
    BINARY = ("mesh", "iris")

    def __post_init__(self) -> None:
        self.frames = [int(f) for f in self.frames]
        self.mesh = _nan_rows(self.mesh, len(self.frames), (468, 3), "mesh")
        self.iris = _nan_rows(self.iris, len(self.frames), (10, 3), "iris")
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float64).reshape(-1, 68, 2)
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if not self.interpolated:
            self.interpolated = [False] * len(self.frames)
        self.interpolated = [bool(v) for v in self.interpolated]

    def __len__(self) -> int:
        return len(self.frames)

    def index_of(self, frame: int) -> int | None:
        """Position of ``frame`` in this track's lists, or None when the track is absent there."""
        try:
            return self.frames.index(int(frame))
        except ValueError:
            return None

    def _json_items(self):
        """(name, value) of the JSON fields, values not yet converted (see :func:`_write_json`)."""
        return [(f.name, getattr(self, f.name)) for f in fields(self) if f.name not in self.BINARY]

    def to_json(self) -> dict:
        return {k: _plain(v) for k, v in self._json_items()}

    @property
    def has_mesh(self) -> np.ndarray:
        """(T,) bool: frames with a measured mesh."""
        if not len(self.mesh):
            return np.zeros(0, dtype=bool)
        if _mapping(self.mesh) is None:
            return ~np.isnan(self.mesh[:, 0, 0])
        return np.concatenate([~np.isnan(c[:, 0, 0]) for c in _row_chunks(self.mesh)])

    @classmethod
    def from_json(cls, d: dict) -> "Track":
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass
class TrackingResult:
    """Everything the face tracking module produces for one video.

    ``fps`` is the analysis rate (16 in the paper) and frame indices count frames at that rate;
    ``frame_size`` is ``(width, height)``. ``selected_frames`` are the N frames chosen by uniform
    sampling with nearest-main-face replacement; ``selection_rule`` says which rule decided the
    main character ("kmeans", "single-track", "no-tracks", ...). ``crops`` holds the paths of the
    aligned face crops written for the selected frames, relative to the folder holding
    ``tracks.json`` (empty when none were written).
    """

    video: str
    fps: float
    n_frames: int
    frame_size: tuple[int, int]
    tracks: list[Track] = field(default_factory=list)
    selected_frames: list[int] = field(default_factory=list)
    selection_rule: str = ""
    crops: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: how much of the video was analysed: ``{declared_duration_s, analysed_duration_s, truncated}``
    video_coverage: dict = field(default_factory=dict)
    #: the shot changes the tracker found, ``[first, last]`` frame indices at ``fps``: a hard cut
    #: ``[k - 1, k]``, a gradual transition (cross-dissolve) the span of its blended frames; the
    #: dynamics read no movement across one (files written before hold none: an empty list)
    shot_changes: list = field(default_factory=list)
    #: the 68 points are FaceMesh's view (the MediaPipe stack): a row whose ``Track.has_mesh`` is
    #: False there is the rejected fit's rough guess (full profile, deep shadow), not a measurement.
    #: Files written before this field say it through ``config.detector == "mediapipe"``
    landmarks_from_mesh: bool = False

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps if self.fps else 0.0

    @property
    def main_tracks(self) -> list[Track]:
        return [t for t in self.tracks if t.is_main]

    @property
    def main_track(self) -> Track | None:
        """The longest main-character track, or None when no face was found."""
        mains = self.main_tracks
        return max(mains, key=len) if mains else None

    def to_json(self) -> dict:
        d = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "tracks"}
        d["tracks"] = [t.to_json() for t in self.tracks]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "TrackingResult":
        kw = {f.name: d[f.name] for f in fields(cls) if f.name in d and f.name != "tracks"}
        kw["frame_size"] = tuple(kw.get("frame_size", (0, 0)))
        kw["shot_changes"] = [[int(a), int(b)] for a, b in kw.get("shot_changes", [])]
        return cls(tracks=[Track.from_json(t) for t in d.get("tracks", [])], **kw)

    def save(self, path: str | Path, extra: dict | None = None) -> Path:
        """Write ``path`` (JSON; ``extra`` keys added at the top level) and, when any track has a
        measured mesh, the side file :func:`mesh_path` beside it (a stale one is removed)."""
        path = Path(path)
        # streamed, track by track and within a track a chunk of rows at a time: the whole result
        # as one tree of Python floats plus its text cost ~15 MB of peak memory per minute of video
        d = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "tracks"}
        d.update(extra or {})
        d.pop("tracks", None)
        side = mesh_path(path)
        if any(t.has_mesh.any() for t in self.tracks):
            arrays = {}
            for k, t in enumerate(self.tracks):
                arrays[f"mesh_{k}"], arrays[f"iris_{k}"] = t.mesh, t.iris
            with open(side, "wb") as f:
                _write_npz(f, arrays)
            d["mesh_file"] = side.name
        elif side.exists():
            side.unlink()
        with open(path, "w") as f:
            f.write(json.dumps(d)[:-1] + ', "tracks": [')
            for k, t in enumerate(self.tracks):
                f.write(", " if k else "")
                _write_json(f, t._json_items())
            f.write("]}")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "TrackingResult":
        """Read a ``tracks.json`` (or the folder holding one) and, when present, its mesh side
        file: each track's ``mesh``/``iris`` come back as written (NaN rows without it)."""
        from .errors import DfecError
        from .userfiles import read_json

        path = Path(path)
        if path.is_dir():
            path = path / "tracks.json"
        d = read_json(path, "a tracks.json file", allow_nonfinite=True)  # deep nesting refused there
        try:
            result = cls.from_json(d)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise DfecError(f"not a tracks.json file ({exc})", path) from None
        if "landmarks_from_mesh" not in d and isinstance(d.get("config"), dict):
            result.landmarks_from_mesh = d["config"].get("detector") == "mediapipe"
        if d.get("mesh_file"):
            side = path.parent / d["mesh_file"]
            try:
                with np.load(side) as z:
                    for k, t in enumerate(result.tracks):
                        t.mesh = _nan_rows(z[f"mesh_{k}"], len(t), (468, 3), "mesh")
                        t.iris = _nan_rows(z[f"iris_{k}"], len(t), (10, 3), "iris")
            except FileNotFoundError:
                raise DfecError(f"mesh side file {side.name} is missing", path) from None
            except (OSError, KeyError, ValueError) as exc:
                raise DfecError(f"not a tracks mesh file ({exc})", side) from None
        return result


def mesh_path(tracks_json: str | Path) -> Path:
    """The binary side file beside ``tracks.json``: ``tracks_mesh.npz`` (``<stem>_mesh.npz``)."""
    p = Path(tracks_json)
    return p.with_name(p.stem + "_mesh.npz")


@dataclass
class Event:
    """One measured facial event on the main character's face.

    ``kind`` is a name from the dynamics event vocabulary ("blink", "smile", "head_turn_left", ...);
    ``start``/``end`` are seconds from the video start; ``intensity`` is the peak normalised
    deviation from the neutral frame; ``region`` is the face part ("eyes", "mouth", "brows",
    "head", "gaze"); ``text`` is the caption clause describing it. ``change_at`` (s) is when a
    change of one signal (a swing) happens, the time it crosses half its amplitude: the caption
    says it in that time's phase (a slow drift starts long before it); None for events placed by
    their start (blinks, speech, states, older files).
    """

    kind: str
    start: float
    end: float
    intensity: float = 0.0
    region: str = ""
    text: str = ""
    change_at: float | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_json(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_json(cls, d: dict) -> "Event":
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass
class Caption:
    """What a captioner (:mod:`dfec.captioners`) returns for one video: the text plus metadata.

    ``captioner`` is the captioner's label (``landmark``, ``facetrack``, ``openai-gpt-4o``, ...);
    ``metadata`` holds small JSON values a captioner wants to report (event counts, the weight
    folder, the number of frames sent, the files it wrote).
    """

    text: str
    captioner: str = ""
    video: str = ""
    metadata: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"text": self.text, "captioner": self.captioner, "video": self.video, "metadata": _plain(self.metadata)}

    @classmethod
    def from_json(cls, d: dict) -> "Caption":
        return cls(text=str(d["text"]), captioner=str(d.get("captioner", "")), video=str(d.get("video", "")),
                   metadata=dict(d.get("metadata") or {}))
