"""Crash-safe, resumable JSONL outputs shared by every long run.

Predictions of ``dfec caption --list`` and ``dfec bench run`` (written through :mod:`dfec.batch`)
are JSONL files appended one record at a time (flushed and fsync'ed), so a crash or Ctrl-C loses
nothing; a rerun reads the file back, drops a torn last line left by a hard kill, and skips every
id already there.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import DfecError
from .userfiles import JsonProblem, iter_lines, parse_json


def read_jsonl(path: str | Path, repair: bool = False) -> list[dict]:
    """Read a JSONL file, skipping a torn (unterminated, not JSON) last line; ``repair`` truncates it
    away. An unterminated last line that *is* a complete JSON record is kept (``repair`` adds the
    missing newline).

    A missing file reads as empty; any other line that is not JSON is a :class:`DfecError`
    naming the file and the line.
    """
    p = Path(path)
    if not p.exists():
        return []
    if p.is_dir():
        raise DfecError("is a directory, expected a JSONL file", p)
    raw = p.read_bytes()
    if raw and not raw.endswith(b"\n"):
        cut = raw.rfind(b"\n") + 1
        tail = raw[cut:]
        try:  # a complete record without a final newline (a hand-written file) is kept
            parse_json(tail.decode("utf-8", errors="replace"), allow_nonfinite=True)
            complete = bool(tail.strip())
        except JsonProblem:
            complete = not tail.strip()
        if complete:
            if repair:  # terminate it, so the next appended record starts on its own line
                with open(p, "ab") as fh:
                    fh.write(b"\n")
        else:  # a torn line left by a hard kill
            if repair:
                with open(p, "r+b") as fh:
                    fh.truncate(cut)
            raw = raw[:cut]
    out = []
    for n, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(parse_json(line, allow_nonfinite=True))
        except JsonProblem as exc:
            raise DfecError(f"line {n} is not valid JSON" if exc.syntax else f"line {n}: {exc}", p) from None
    return out


class JsonlWriter:
    """Append records one line at a time, flushed and fsync'ed so a kill loses at most nothing."""

    def __init__(self, path: str | Path, mode: str = "a"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, mode, encoding="utf-8")

    def write(self, record: dict) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._fh.flush()
        try:
            os.fsync(self._fh.fileno())
        except OSError:
            pass

    def close(self) -> None:
        self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_video_list(list_file) -> list[tuple[str, str]]:
    """``(id, path)`` pairs of a video list: ``path`` (id = file stem) or ``id<TAB>path`` per line;
    blank lines and ``#`` comments are skipped; relative paths are taken from the list's folder."""
    p = Path(list_file)
    if not p.is_file():
        raise DfecError("no such video list file", p)
    out, seen = [], set()
    for n, line in iter_lines(p, "a video list"):  # bounded lines; bytes that are not UTF-8 refused
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        vid, path = line.split("\t", 1) if "\t" in line else (Path(line).stem, line)
        vid, path = vid.strip(), path.strip()
        if not vid or not path:
            raise DfecError(f"line {n}: expected 'path' or 'id<TAB>path'", p)
        if vid in seen:
            raise DfecError(f"line {n}: duplicate video id '{vid}' (use 'id<TAB>path' lines)", p)
        seen.add(vid)
        if not Path(path).is_absolute() and not Path(path).exists():
            path = str(p.parent / path)
        out.append((vid, path))
    return out


def caption_to_jsonl(videos, caption, out_jsonl, progress: bool = True) -> dict:
    """Caption ``(id, path)`` pairs with a plain ``caption(path) -> str`` function, in this process,
    into a resumable JSONL file: :func:`dfec.batch.caption_to_jsonl` (kept here for older callers)."""
    from .batch import caption_to_jsonl as run, text_handler

    return run(videos, out_jsonl, setup=None, handler=text_handler(caption), progress=progress)
