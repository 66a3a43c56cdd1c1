"""Per-frame face rows kept on disk, so tracking memory stays flat with video length.

Every tracked face in every frame carries 68 landmarks (68x2 float64, 1 KiB), and with the
MediaPipe stack a FaceMesh (468x3 float32, 5.5 KiB) and iris points (10x3 float32). Held as
Python objects in the tracklets for the whole video, they grew memory by ~7 MB per minute of
video with one face, and the glibc heap fragmented around them (freed frame buffers moved into
the heap between them: peak RSS grew ~55 MB per minute of 720p, ~15 MB with glibc's mmap
threshold pinned, which cost ~25 % speed). Here:

- :class:`RowSpill` appends each detection's heavy rows to two anonymous temporary files (the
  page cache holds them, not the process) and the tracklet keeps a :class:`StoredDetection`:
  frame, box, score, embedding and two row numbers;
- :class:`MeshFile` writes the finished tracks' meshes and iris points in their final order
  (gap-filled rows NaN) to another anonymous temporary file, chunk by chunk, and maps it once,
  read-only (or, up to :data:`IN_MEMORY_BYTES`, reads it into memory and closes it):
  ``Track.mesh`` / ``Track.iris`` are ordinary read-only numpy arrays whose pages are read from
  disk when touched (one open file descriptor per long-video tracking result). ``TrackingResult.save`` streams them into
  ``tracks_mesh.npz`` and releases the pages as it goes.

The temporary files live in the output folder (or the system temp folder) and have no name
(``tempfile.TemporaryFile``): nothing is left behind, even after a crash; their disk space is
freed when the last array using them is gone.
"""
from __future__ import annotations

import mmap
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..schema import Detection

LANDMARKS = np.dtype(("<f8", (68, 2)))
MESH = np.dtype([("mesh", "<f4", (468, 3)), ("iris", "<f4", (10, 3))])
_NAN_MESH = np.full((), np.nan, MESH)
#: rows gathered / written per chunk (a mesh chunk is ~5.6 MB)
CHUNK_ROWS = 1024
#: finished meshes up to this size (~2,900 face rows: 3 minutes of one face at 16 fps) are read
#: into memory; larger ones stay file-backed (one mapping, one file descriptor per result)
IN_MEMORY_BYTES = 16 << 20


@dataclass
class StoredDetection(Detection):
    """A :class:`Detection` whose landmarks, mesh and iris live in a :class:`RowSpill`:
    ``row`` is its landmarks row there (-1: none), ``mesh_row`` its mesh/iris row (-1: no mesh
    was measured)."""

    row: int = -1
    mesh_row: int = -1

    @property
    def has_mesh(self) -> bool:
        return self.mesh_row >= 0


def nan_rows(n: int, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only all-NaN float32 (n, *shape) array that takes no memory (a broadcast view)."""
    return np.broadcast_to(np.float32(np.nan), (n, *shape))


def _gather(f, dtype: np.dtype, rows: np.ndarray, out: np.ndarray) -> None:
    """Read records ``rows`` (>= 0) of ``dtype`` from file ``f`` into ``out[k]`` for each k with
    ``rows[k] >= 0``; runs of consecutive rows are read at once."""
    pos = np.flatnonzero(rows >= 0)
    if not len(pos):
        return
    r = rows[pos]
    brk = np.flatnonzero((np.diff(r) != 1) | (np.diff(pos) != 1)) + 1
    starts, ends = np.r_[0, brk], np.r_[brk, len(r)]
    flat = out.view(np.uint8).reshape(len(out), dtype.itemsize)
    for s, e in zip(starts, ends):
        f.seek(int(r[s]) * dtype.itemsize)
        want = (e - s) * dtype.itemsize
        if f.readinto(flat[pos[s]:pos[s] + e - s].reshape(-1)) != want:
            raise OSError("temporary row file is shorter than expected")


class RowSpill:
    """Append-only store of per-detection landmarks / mesh / iris rows in anonymous temp files;
    give it as ``StrongSort.store`` and the tracklets keep :class:`StoredDetection` records."""

    def __init__(self, folder: str | Path | None = None):
        self.folder = str(folder) if folder is not None else None
        self._lm = tempfile.TemporaryFile(prefix="dfec-landmarks-", dir=self.folder)
        self._mesh = tempfile.TemporaryFile(prefix="dfec-mesh-", dir=self.folder)
        self.n_rows = 0
        self.n_mesh = 0

    def keep(self, det: Detection) -> StoredDetection:
        """Write ``det``'s heavy rows to disk; the light record the tracklet keeps instead."""
        if isinstance(det, StoredDetection):
            return det
        row = mesh_row = -1
        if det.landmarks is not None:
            self._lm.write(np.ascontiguousarray(det.landmarks, LANDMARKS.base).reshape(68, 2).tobytes())
            row, self.n_rows = self.n_rows, self.n_rows + 1
        if det.mesh is not None:
            rec = _NAN_MESH.copy()
            rec["mesh"] = det.mesh
            if det.iris is not None:
                rec["iris"] = det.iris
            self._mesh.write(rec.tobytes())
            mesh_row, self.n_mesh = self.n_mesh, self.n_mesh + 1
        return StoredDetection(det.frame, det.box, det.score, embedding=det.embedding, row=row, mesh_row=mesh_row)

    def landmarks(self, rows) -> np.ndarray:
        """(n, 68, 2) float64 landmarks of ``rows`` (NaN where a row is -1)."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.full((len(rows), 68, 2), np.nan)
        self._lm.flush()
        _gather(self._lm, LANDMARKS, rows, out)
        return out

    def meshes(self, rows) -> np.ndarray:
        """Structured (n,) array of ``MESH`` records (``["mesh"]``, ``["iris"]``), NaN where -1."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.full(len(rows), _NAN_MESH)
        self._mesh.flush()
        _gather(self._mesh, MESH, rows, out)
        return out

    def close(self) -> None:
        self._lm.close()
        self._mesh.close()


class MeshFile:
    """The finished tracks' mesh and iris arrays in one anonymous temp file: :meth:`add` writes
    one track's rows, :meth:`arrays` reads a small file into memory or maps a large one once (one
    file descriptor per result) and returns read-only views, one (mesh, iris) pair per :meth:`add`
    call."""

    def __init__(self, folder: str | Path | None = None):
        self._f = tempfile.TemporaryFile(prefix="dfec-trackmesh-", dir=None if folder is None else str(folder))
        self._size = 0
        self._slots: list[tuple[int, int, int | None]] = []  # (n rows, mesh offset, iris offset)

    def add(self, spill: RowSpill, rows: np.ndarray) -> None:
        """Write the mesh (n, 468, 3) and iris (n, 10, 3) rows of spill mesh rows ``rows`` (-1:
        NaN), chunk by chunk; a track without any mesh row takes no space at all."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        n = len(rows)
        if not (rows >= 0).any():
            self._slots.append((n, -1, -1))
            return
        mesh_at = self._size
        iris_at = mesh_at + n * MESH["mesh"].itemsize
        for i in range(0, n, CHUNK_ROWS):  # one read of the spill per chunk, written to both regions
            recs = spill.meshes(rows[i:i + CHUNK_ROWS])
            for field, at in (("mesh", mesh_at), ("iris", iris_at)):
                self._f.seek(at + i * MESH[field].itemsize)
                self._f.write(np.ascontiguousarray(recs[field]).tobytes())
        self._size = iris_at + n * MESH["iris"].itemsize
        self._slots.append((n, mesh_at, iris_at))

    def arrays(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(mesh, iris) per :meth:`add`, in order: views of the rows read into memory or of one
        read-only mapping of the file
        (or all-NaN views). The file is closed; the mapping keeps the data until it is unused."""
        self._f.flush()
        flat = None
        if self._size and self._size <= IN_MEMORY_BYTES:
            # a short video: read the rows and let the file go (a mapping holds a file descriptor
            # for as long as the result lives: thousands of live results would run out of them)
            self._f.seek(0)
            flat = np.frombuffer(self._f.read(self._size), dtype="<f4")  # read-only, like the mapping
        elif self._size:
            mm = mmap.mmap(self._f.fileno(), self._size, access=mmap.ACCESS_READ)
            flat = np.frombuffer(mm, dtype="<f4")
        self._f.close()
        out = []
        for n, mesh_at, iris_at in self._slots:
            if mesh_at < 0 or flat is None:
                out.append((nan_rows(n, (468, 3)), nan_rows(n, (10, 3))))
                continue
            out.append((flat[mesh_at // 4:mesh_at // 4 + n * 468 * 3].reshape(n, 468, 3),
                        flat[iris_at // 4:iris_at // 4 + n * 30].reshape(n, 10, 3)))
        return out
