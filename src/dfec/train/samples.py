"""Training data for ``dfec train``: VideoLLaMA2-style conversation records -> processor inputs."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import DfecError
from ..userfiles import resolve_under_root


def data_root_for(path, video_root=None) -> Path:
    """The folder relative ``video`` paths of the training file ``path`` are taken from.

    ``video_root`` when given; else the ``data_root`` that ``dfec data build`` recorded in the
    ``build_summary.json`` next to the file (its train.json holds root-relative paths, VideoLLaMA2's
    ``data_folder`` convention); else the data file's own folder.
    """
    p = Path(path)
    if video_root:
        return Path(video_root).expanduser()
    summary = p.parent / "build_summary.json"
    if summary.is_file():
        try:
            root = json.loads(summary.read_text(encoding="utf-8")).get("data_root")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            root = None
        if isinstance(root, str) and root:
            r = Path(root).expanduser()
            return r if r.is_absolute() else (p.parent / r)
    return p.parent


def _turns(conv) -> tuple[str | None, str | None, str | None]:
    """``(human, gpt, problem)`` of a VideoLLaMA2 ``conversations`` list (its first exchange)."""
    if not isinstance(conv, list) or not conv:
        return None, None, "must be a non-empty list of {from, value} turns"
    for k, c in enumerate(conv):
        if not isinstance(c, dict) or not isinstance(c.get("from"), str) or not isinstance(c.get("value"), str):
            return None, None, f"turn {k} must be an object with string 'from' and 'value'"
    human = next((c["value"] for c in conv if c["from"] in ("human", "user")), None)
    gpt = next((c["value"] for c in conv if c["from"] in ("gpt", "assistant")), None)
    return human, gpt, None


def load_samples(path, video_root=None, check_files: bool = True) -> list[dict]:
    """Read VideoLLaMA2-style conversation records (or ``{video, instruction, caption}``) from JSON/JSONL.

    Each sample becomes ``{id, video, instruction, answer, tracks?, faces?}``; ``tracks`` is a
    ``tracks.json`` from ``dfec track --out`` and ``faces`` a list of crop images. Relative paths
    are taken from :func:`data_root_for` (``dfec data build``'s data root for its train.json).
    Every record is checked before training starts; a malformed one (or, with ``check_files``, one
    whose video / tracks / face files are missing) raises one DfecError naming the record (index
    and id) and the field, with the count of further bad records.
    """
    from ..userfiles import read_json, read_jsonl, read_text

    p = Path(path)
    if not p.is_file():
        raise DfecError("no such training data file", p)
    if read_text(p, "a training data file").lstrip().startswith("["):
        recs = read_json(p)
    else:
        recs = [rec for _, rec in read_jsonl(p, "a training data file")]
    if isinstance(recs, dict):
        raise DfecError("expected a JSON list (or JSONL) of training records, got an object", p)
    root = data_root_for(p, video_root)
    out, problems = [], []

    def _abs(x) -> Path:
        # the shared data-root check of `dfec data build`: no `..` above the root, no absolute
        # path elsewhere, no symlink climb
        return resolve_under_root(x, root)[0]

    for i, r in enumerate(recs):
        rid = r.get("id", i) if isinstance(r, dict) else i

        def bad(fld, why):
            problems.append(f"record {i} (id {str(rid)!r}): field '{fld}': {why}")

        if not isinstance(r, dict):
            bad("-", "not a JSON object")
            continue
        if not isinstance(r.get("video"), str) or not r["video"].strip():
            bad("video", "missing or not a non-empty string")
            continue
        if "conversations" in r:
            human, gpt, why = _turns(r["conversations"])
            if why:
                bad("conversations", why)
                continue
            if not (gpt or "").strip():
                bad("conversations", "no non-empty 'gpt' turn (the target caption)")
                continue
        else:
            human, gpt = r.get("instruction"), r.get("caption") or r.get("answer")
            if not isinstance(gpt, str) or not gpt.strip():
                if "facial_changes" in r or "attributes" in r:
                    bad("conversations", "missing: this is an FDA annotation record; turn the file into "
                                         "training data with `dfec data build ANNOTATIONS --root DATA_ROOT --out DIR`")
                else:
                    bad("caption", "missing or empty (give 'conversations' or 'caption')")
                continue
            if human is not None and not isinstance(human, str):
                bad("instruction", "not a string")
                continue
        instr = (human or "").replace("<video>", "").strip() or None
        try:
            video = _abs(r["video"])
        except ValueError as exc:
            bad("video", str(exc))
            continue
        if check_files and not video.is_file():
            bad("video", f"no such file {video}")
            continue
        s = {"id": str(rid), "video": str(video), "instruction": instr, "answer": gpt}
        if r.get("tracks"):
            if not isinstance(r["tracks"], str):
                bad("tracks", "not a path string")
                continue
            try:
                s["tracks"] = str(_abs(r["tracks"]))
            except ValueError as exc:
                bad("tracks", str(exc))
                continue
            if check_files and not Path(s["tracks"]).is_file():
                bad("tracks", f"no such file {s['tracks']}")
                continue
        if r.get("faces"):
            faces = r["faces"]
            if not isinstance(faces, list) or not all(isinstance(f, str) for f in faces):
                bad("faces", "not a list of image paths")
                continue
            try:
                s["faces"] = [str(_abs(f)) for f in faces]
            except ValueError as exc:
                bad("faces", str(exc))
                continue
            gone = [f for f in s["faces"] if check_files and not Path(f).is_file()]
            if gone:
                bad("faces", f"no such file {gone[0]}")
                continue
        out.append(s)
    if problems:
        more = f" (and {len(problems) - 1} more bad record(s))" if len(problems) > 1 else ""
        raise DfecError(problems[0] + more, p)
    if not out:
        raise DfecError("no training records", p)
    return out


class FaceTrackDataset:
    """Map-style dataset: sample dict -> processor outputs (decodes the video on access).

    A record with neither ``tracks`` nor ``faces`` is tracked on the fly (paper: the face
    tracking module picks the main character and its crops); with ``cache_dir`` the result is kept
    as ``<cache_dir>/<hash of the video path>.json`` so later epochs (and a resumed run) reuse it
    instead of tracking every clip again.
    """

    def __init__(self, samples: list[dict], processor, track_on_the_fly: bool = True, cache_dir=None):
        self.samples = samples
        self.processor = processor
        self.track_on_the_fly = track_on_the_fly
        self.cache_dir = Path(cache_dir) if cache_dir else None

    def __len__(self) -> int:
        return len(self.samples)

    def _track(self, video: str):
        import hashlib

        from ..schema import TrackingResult
        from ..tracking import pipeline

        n = self.processor.config.num_frames
        cached = None
        if self.cache_dir is not None:
            try:
                st = os.stat(video)
                stamp = f"{st.st_size}|{st.st_mtime_ns}"    # an edited clip is tracked again
            except OSError:
                stamp = ""
            key = hashlib.sha1(f"{os.path.abspath(video)}|{n}|{stamp}".encode("utf-8")).hexdigest()[:20]
            cached = self.cache_dir / f"{key}.json"
            if cached.is_file():
                try:
                    tr = TrackingResult.load(cached)
                    tr.video = video
                    return tr
                except (ValueError, KeyError, TypeError, OSError):
                    pass  # a torn or stale file: track again
        tr = pipeline.track(video, n_frames=n)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            tr.save(tmp)
            os.replace(tmp, cached)
        return tr

    def __getitem__(self, i: int) -> dict:
        from ..schema import TrackingResult

        s = self.samples[i]
        tracking = None
        if s.get("tracks"):
            tracking = TrackingResult.load(s["tracks"])
            tracking.video = s["video"]
        elif not s.get("faces") and self.track_on_the_fly:
            tracking = self._track(s["video"])
        return self.processor(s["video"], s["instruction"], s["answer"], tracking=tracking, face_images=s.get("faces"))
