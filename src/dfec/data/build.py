"""``dfec data build``: FDA annotations -> VideoLLaMA2-style instruction-tuning data.

Paper (FDA data and training recipe): the marked subjective inferences are removed, the external
attributes and the time-ordered facial changes are joined into the target caption, each video is
paired with one of 20 instructions (chosen at random with a fixed seed), and 1,000 clips are held
out as the test split. The output follows VideoLLaMA2's conversation JSON::

    {"id": ..., "video": "DFEW/videos/0001.mp4",
     "conversations": [{"from": "human", "value": "<video>\\n<instruction>"},
                       {"from": "gpt", "value": "<caption>"}]}

Train/test split: every id gets a key ``sha256(salt + id)``; the ``test_size`` ids with the smallest
keys form the test set. The split depends only on the ids (not on file order), and changing
``test_size`` from n to m moves exactly ``|n - m|`` clips (the test set of the smaller size is a
subset of the larger one's).

Video paths are resolved under a data root; an absolute path outside it or a ``..`` path that
climbs out of it is refused for that record (reported, never written).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import DfecError
from ..userfiles import resolve_under_root
from .schema import FDARecord, RecordError, load_records
from .templates import INSTRUCTIONS, VIDEO_TOKEN, choose_template


@dataclass
class BuildConfig:
    """Settings of ``dfec data build``; defaults follow the paper."""

    test_size: float = 1000          # paper: 1,000 held-out clips; a value in (0, 1) is a fraction
    seed: int = 0                    # seed of the instruction-template choice
    split_salt: str = "dfec-fda-split"  # salt of the id hash that orders the split
    strip_inferences: bool = True    # paper: subjective inferences are removed
    include_summary: bool = False    # paper: target = attributes + facial changes
    check_videos: bool = True        # a record whose video file is missing is reported and dropped
    absolute_paths: bool = False     # write resolved absolute paths instead of root-relative ones


@dataclass
class BuildResult:
    train: list[dict]
    test: list[dict]
    errors: list[RecordError]
    n_input: int
    files: dict[str, str]


# --------------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------------
def resolve_video(video: str, root: str | Path) -> tuple[Path, str]:
    """Resolve ``video`` under ``root`` (the shared check, :func:`dfec.userfiles.resolve_under_root`):
    ``(absolute path, root-relative posix path)``; ValueError when the path escapes the root."""
    return resolve_under_root(video, root)


# --------------------------------------------------------------------------------------------
# split
# --------------------------------------------------------------------------------------------
def split_key(record_id: str, salt: str = BuildConfig.split_salt) -> str:
    return hashlib.sha256(f"{salt}:{record_id}".encode("utf-8")).hexdigest()


def n_test(test_size: float, n: int) -> int:
    """The number of test clips for ``test_size`` (a count, or a fraction in (0, 1)) out of ``n``."""
    if test_size < 0:
        raise ValueError("test size must not be negative")
    if 0 < test_size < 1:
        return int(round(test_size * n))
    if test_size != int(test_size):
        raise ValueError(f"test size {test_size} is neither a whole count nor a fraction in (0, 1)")
    return int(test_size)


def split_ids(ids: list[str], test_size: float = 1000, salt: str = BuildConfig.split_salt) -> tuple[list[str], list[str]]:
    """Deterministic split: ``(train_ids, test_ids)``, both in the input order.

    The test ids are those with the ``n_test`` smallest ``split_key`` values; raises ValueError
    when the test size is larger than the number of ids.
    """
    k = n_test(test_size, len(ids))
    if k > len(ids):
        raise ValueError(f"test size {k} is larger than the {len(ids)} valid records")
    ranked = sorted(ids, key=lambda i: (split_key(i, salt), i))
    test = set(ranked[:k])
    return [i for i in ids if i not in test], [i for i in ids if i in test]


# --------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------
#: optional per-record face inputs passed through to the training data (paths under the data root):
#: ``tracks`` = a ``tracks.json`` written by ``dfec track --out``; ``faces`` = a list of face crop images
FACE_FIELDS = ("tracks", "faces")


def conversation(record: FDARecord, video_path: str, config: BuildConfig, extra: dict | None = None) -> dict:
    """One VideoLLaMA2-style sample for ``record`` (``extra``: resolved ``tracks``/``faces`` paths)."""
    instruction = choose_template(record.id, config.seed, INSTRUCTIONS)
    caption = record.caption(strip=config.strip_inferences, with_summary=config.include_summary)
    sample = {
        "id": record.id,
        "video": video_path,
        "conversations": [
            {"from": "human", "value": f"{VIDEO_TOKEN}\n{instruction}"},
            {"from": "gpt", "value": caption},
        ],
    }
    sample.update(extra or {})
    return sample


def _face_inputs(rec: FDARecord, root: Path, cfg: BuildConfig) -> tuple[dict, tuple[str, str] | None]:
    """The record's ``tracks``/``faces`` resolved under ``root``: ``(fields, (field, problem) or None)``."""
    out: dict = {}
    for name in FACE_FIELDS:
        value = rec.extra.get(name)
        if value in (None, "", []):
            continue
        items = [value] if name == "tracks" else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
            kind = "a path string" if name == "tracks" else "a list of image path strings"
            return {}, (name, f"must be {kind}")
        paths = []
        for v in items:
            try:
                abs_path, rel = resolve_video(v, root)
            except ValueError as exc:
                return {}, (name, str(exc))
            if cfg.check_videos and not abs_path.is_file():
                return {}, (name, f"no such file under the data root: {rel}")
            paths.append(str(abs_path) if cfg.absolute_paths else rel)
        out[name] = paths[0] if name == "tracks" else paths
    return out, None


def build(annotations: str | Path, root: str | Path, out_dir: str | Path | None = None,
          config: BuildConfig | None = None) -> BuildResult:
    """Validate ``annotations``, resolve videos under ``root``, split, and (with ``out_dir``) write
    ``train.json``, ``test.json``, ``test_refs.json`` (FEC-Bench refs format ``[{id, video,
    caption}]``), ``errors.txt`` and ``build_summary.json``.

    Bad records are reported in ``BuildResult.errors`` and left out; the build goes on with the
    rest. Raises :class:`DfecError` when the file cannot be read, no record is valid, or the test
    size does not fit.
    """
    cfg = config or BuildConfig()
    root_p = Path(root)
    if not root_p.is_dir():
        raise DfecError("data root is not a directory", root_p)
    records, errors = load_records(annotations)
    n_input = len(records) + len({(e.index, e.line) for e in errors})
    kept: list[tuple[FDARecord, str]] = []
    for rec in records:
        idx, is_line = rec.position
        try:
            abs_path, rel = resolve_video(rec.video, root_p)
        except ValueError as exc:
            errors.append(RecordError(str(annotations), idx, rec.id, "video", str(exc), is_line))
            continue
        if cfg.check_videos and not abs_path.is_file():
            errors.append(RecordError(str(annotations), idx, rec.id, "video", f"no such video file under the data root: {rel}", is_line))
            continue
        face, problem = _face_inputs(rec, root_p, cfg)
        if problem:
            errors.append(RecordError(str(annotations), idx, rec.id, problem[0], problem[1], is_line))
            continue
        kept.append((rec, str(abs_path) if cfg.absolute_paths else rel, face))
    if not kept:
        raise DfecError(f"no valid record to build from ({len(errors)} problems; first: {errors[0].message if errors else 'empty file'})", annotations)
    try:
        train_ids, test_ids = split_ids([r.id for r, _, _ in kept], cfg.test_size, cfg.split_salt)
    except ValueError as exc:
        raise DfecError(str(exc), annotations) from None
    test_set = set(test_ids)
    train, test = [], []
    for rec, path, face in kept:
        (test if rec.id in test_set else train).append(conversation(rec, path, cfg, face))
    files: dict[str, str] = {}
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {name: str(out / name) for name in ("train.json", "test.json", "test_refs.json", "errors.txt", "build_summary.json")}
        _write_json(out / "train.json", train)
        _write_json(out / "test.json", test)
        _write_json(out / "test_refs.json", [{"id": s["id"], "video": s["video"], "caption": s["conversations"][1]["value"]} for s in test])
        (out / "errors.txt").write_text("".join(e.message + "\n" for e in errors), encoding="utf-8")
        summary = {"annotations": str(annotations), "data_root": os.path.abspath(root_p), "n_input": n_input,
                   "n_valid": len(kept), "n_train": len(train), "n_test": len(test),
                   "n_errors": len(errors), "config": asdict(cfg)}
        _write_json(out / "build_summary.json", summary)
    return BuildResult(train=train, test=test, errors=errors, n_input=n_input, files=files)


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
