"""FEC-Bench reference files: ``[{id, video, caption}, ...]``.

Read by ``dfec score`` (id -> caption) and ``dfec bench run`` (which also needs each video). A JSON
list, a ``{id: caption}`` or ``{id: {...}}`` mapping, or JSONL are accepted; every problem is a
one-line :class:`~dfec.errors.DfecError` naming the file and the record.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import DfecError
from ..userfiles import read_text


def load_references(path: str | Path) -> list[dict]:
    """Read ``[{id, video, caption}, ...]`` (JSON list, a ``{id: {...}}`` mapping, or JSONL)."""
    p = Path(path)
    text = read_text(p, "a JSON file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise DfecError(f"not valid JSON or JSONL (line {exc.lineno})", p) from None
    if isinstance(data, dict):
        data = [{"id": k, **v} if isinstance(v, dict) else {"id": k, "caption": v} for k, v in data.items()]
    if not isinstance(data, list):
        raise DfecError("expected a list of {id, video, caption} records", p)
    refs, seen = [], set()
    for i, rec in enumerate(data):
        if not isinstance(rec, dict) or "id" not in rec or "caption" not in rec:
            raise DfecError(f"record {i} needs 'id' and 'caption' fields", p)
        rid = str(rec["id"])
        if rid in seen:
            raise DfecError(f"duplicate id '{rid}' (record {i})", p)
        seen.add(rid)
        refs.append({"id": rid, "video": str(rec.get("video") or rid), "caption": str(rec["caption"])})
    if not refs:
        raise DfecError("no reference records", p)
    return refs
