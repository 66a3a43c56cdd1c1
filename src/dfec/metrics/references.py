"""FEC-Bench reference files: ``[{id, video, caption}, ...]``.

Read by ``dfec score`` (id -> caption) and ``dfec bench run`` (which also needs each video). A JSON
list, a ``{id: caption}`` or ``{id: {...}}`` mapping, or JSONL are accepted; every problem is a
one-line :class:`~dfec.errors.DfecError` naming the file and the record. The file is parsed by
:mod:`dfec.userfiles` (non-finite numbers, deep nesting and over-long lines refused); an id must be
a string or an integer, a caption a non-empty string.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import DfecError
from ..userfiles import JsonProblem, parse_json, read_jsonl, read_text


def record_id(value, where: str, path) -> str:
    """A record id as a string: a non-empty string or an integer (not a bool, float, list, object or null)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise DfecError(f"{where}: 'id' must be a non-empty string or an integer, got {_kind(value)}", path)
    return str(value).strip()


def caption_text(value, where: str, path, field: str = "caption") -> str:
    """A caption: a non-empty string (not null, a number, a list or an object)."""
    if not isinstance(value, str):
        raise DfecError(f"{where}: '{field}' must be a string, got {_kind(value)}", path)
    if not value.strip():
        raise DfecError(f"{where}: '{field}' is empty", path)
    return value


def _kind(value) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r}"[:60]


def load_references(path: str | Path) -> list[dict]:
    """Read ``[{id, video, caption}, ...]`` (JSON list, a ``{id: {...}}`` mapping, or JSONL)."""
    p = Path(path)
    text = read_text(p, "a JSON file")
    try:
        data = parse_json(text)
    except JsonProblem as exc:
        if exc.syntax is None or sum(1 for line in text.splitlines() if line.strip()) < 2:
            raise DfecError(str(exc), p) from None
        data = {f"line {n}": rec for n, rec in read_jsonl(p, "a JSON or JSONL reference file")}
        data = list(data.items())
    else:
        if isinstance(data, dict):
            data = [{"id": k, **v} if isinstance(v, dict) else {"id": k, "caption": v} for k, v in data.items()]
        if not isinstance(data, list):
            raise DfecError("expected a list of {id, video, caption} records", p)
        data = [(f"record {i}", rec) for i, rec in enumerate(data)]
    refs, seen = [], set()
    for where, rec in data:
        if not isinstance(rec, dict) or "id" not in rec or "caption" not in rec:
            raise DfecError(f"{where} needs 'id' and 'caption' fields", p)
        rid = record_id(rec["id"], where, p)
        if rid in seen:
            raise DfecError(f"duplicate id '{rid}' ({where})", p)
        seen.add(rid)
        video = rec.get("video")
        if video is not None and (not isinstance(video, (str, int)) or isinstance(video, bool)):
            raise DfecError(f"{where}: 'video' must be a file name, got {_kind(video)}", p)
        refs.append({"id": rid, "video": str(video or rid), "caption": caption_text(rec["caption"], where, p)})
    if not refs:
        raise DfecError("no reference records", p)
    return refs
