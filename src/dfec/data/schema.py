"""FDA-style annotation records: the schema, the inference marking syntax, loading and validation.

Paper (FDA data set): every clip is annotated by hand with three parts:

1. **external attributes** of the main character (age, gender, hair, glasses, ...);
2. **facial changes**: what the face does, in time order (blinks, frowns, raises the eyebrows, ...);
   annotators may add *subjective inferences* (emotions, intentions) that cannot be seen directly;
   these are marked with a special identifier and removed for training and for FEC-Bench;
3. a **one-sentence summary**.

A record in JSON / JSONL looks like::

    {"id": "dfew_0001",
     "video": "DFEW/videos/0001.mp4",
     "source": "DFEW",                       # optional; else the first folder of "video"
     "duration": 3.2,                         # optional, seconds
     "attributes": "A young woman with long black hair and glasses.",
     "facial_changes": ["At the beginning of the video, she looks down.",
                        "Then she frowns [inference: as if annoyed] and shakes her head."],
     "summary": "A young woman frowns and shakes her head."}

``facial_changes`` is a string or a list of strings (time-ordered segments, joined with a space).

Inference marking syntax
------------------------
A subjective inference is written inside square brackets that start with ``inference:`` (or the
short form ``inf:``), case-insensitive::

    he smiles [inference: he seems relieved] and nods.
    [inf: She is probably nervous.] She bites her lip.

The marked span is removed whole by :func:`strip_inferences`, and the spacing and punctuation
around it are repaired ("smiles [inference: x], and nods" -> "smiles, and nods"). Tags do not nest;
an unclosed tag, a nested tag or an empty tag is a validation error for that field. Ordinary square
brackets that do not start with ``inference:``/``inf:`` are left alone.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import DfecError
from ..userfiles import JsonProblem, check_value, parse_json

#: the opening of an inference tag: ``[inference:`` or ``[inf:`` (any case, spaces allowed)
INFERENCE_OPEN = re.compile(r"\[\s*(?:inference|inf)\s*:", re.IGNORECASE)
#: one complete inference tag (no nesting)
INFERENCE_TAG = re.compile(r"\[\s*(?:inference|inf)\s*:([^\[\]]*)\]", re.IGNORECASE)

TEXT_FIELDS = ("attributes", "facial_changes", "summary")
REQUIRED_FIELDS = ("id", "video", "attributes", "facial_changes", "summary")


# --------------------------------------------------------------------------------------------
# inference tags
# --------------------------------------------------------------------------------------------
def check_inference_tags(text: str) -> str | None:
    """Return a one-line problem with the inference tags in ``text``, or None when they are fine."""
    pos = 0
    while True:
        m = INFERENCE_OPEN.search(text, pos)
        if not m:
            return None
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "[":
                return f"nested '[' inside the inference tag at character {m.start()}"
            if text[i] == "]":
                depth -= 1
            i += 1
        if depth:
            return f"unclosed inference tag at character {m.start()}"
        if not text[m.end():i - 1].strip():
            return f"empty inference tag at character {m.start()}"
        pos = i


def find_inferences(text: str) -> list[str]:
    """The inference texts marked in ``text``, in order (tags removed, whitespace trimmed)."""
    return [m.group(1).strip() for m in INFERENCE_TAG.finditer(text)]


def _tidy(text: str) -> str:
    """Spacing around spans put back in place of their tags (:func:`unmark_inferences`)."""
    t = re.sub(r"[ \t]+", " ", text)
    t = re.sub(r" *\n *", "\n", t)
    t = re.sub(r" +([,.;:!?)])", r"\1", t)
    return t.strip()


_CUT = "\x00"


def _close_cuts(text: str) -> str:
    """Repair the text around each cut (``_CUT``) and nowhere else, so that abbreviations ("e.g."),
    ellipses and spacing elsewhere stay as written::

        "smiles <cut>, and nods"  -> "smiles, and nods"     "blinks <cut>. <cut> She" -> "blinks. She"
        "Smiles.<cut>Then"        -> "Smiles. Then"         "(or so <cut>) tired"     -> "(or so) tired"
        "said: <cut> no."         -> "said: no."            "smiles, <cut>."          -> "smiles."
    """
    t = re.sub(r"\([ \t]*" + _CUT + r"[ \t" + _CUT + r"]*\)", _CUT, text)   # an emptied parenthesis
    while _CUT in t:
        i = t.index(_CUT)
        left, right = t[:i].rstrip(" \t"), t[i + 1:].lstrip(" \t")
        if right.startswith(_CUT):                       # two tags in a row: one cut
            t = left + " " + right if left else right
            continue
        if not left or left.endswith("\n"):              # the line now starts here: no leading ", ; :"
            t = left + re.sub(r"^[,;:][ \t]*", "", right)
        elif not right or right.startswith("\n"):
            t = left + right
        elif right[0] in ",;:":
            if left[-1] in ".!?,;:":                     # "nods. <cut>, then" / "nods, <cut>, then"
                t = left + (" " + right[1:].lstrip(" \t") if right[1:].strip(" \t") else right[1:])
            else:
                t = left + right
        elif right[0] in ".!?":
            if left[-1] in ",;:":                        # "smiles, <cut>." -> "smiles."
                left = left[:-1].rstrip(" \t")
            if left and left[-1] in ".!?" and right[0] == ".":  # "blinks. <cut>." -> "blinks."
                right = right[1:]
            t = left + right
        elif right[0] in ")]}":
            t = left + right
        else:
            t = left + " " + right
    return t.strip()


def strip_inferences(text: str) -> str:
    """Remove every marked inference from ``text`` (the paper's cleaning for training and FEC-Bench).

    Raises ValueError when the tags are malformed (see :func:`check_inference_tags`).
    """
    problem = check_inference_tags(text)
    if problem:
        raise ValueError(problem)
    if not INFERENCE_TAG.search(text):
        return text.strip()  # nothing marked: the text is left exactly as written
    return _close_cuts(INFERENCE_TAG.sub(_CUT, text.replace(_CUT, "")))


def unmark_inferences(text: str) -> str:
    """Keep the inferences but drop their tags (for a caption that keeps subjective content)."""
    problem = check_inference_tags(text)
    if problem:
        raise ValueError(problem)
    if not INFERENCE_TAG.search(text):
        return text.strip()
    return _tidy(INFERENCE_TAG.sub(lambda m: " " + m.group(1).strip() + " ", text))


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------
@dataclass
class FDARecord:
    """One annotated clip (see the module docstring for the JSON form)."""

    id: str
    video: str
    attributes: str
    facial_changes: list[str]
    summary: str
    source: str = ""
    duration: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: where the record sits in its file: (1-based JSONL line or 0-based list index, is_line)
    position: tuple[int, bool] = field(default=(-1, False), repr=False, compare=False)

    @property
    def dataset(self) -> str:
        """The source data set: ``source`` when given, else the first folder of ``video``."""
        if self.source:
            return self.source
        parts = Path(self.video.replace("\\", "/")).parts
        return parts[0] if len(parts) > 1 else "unknown"

    def facial_changes_text(self) -> str:
        return " ".join(s.strip() for s in self.facial_changes if s.strip())

    def caption(self, strip: bool = True, with_summary: bool = False) -> str:
        """The target caption: attributes + facial changes (+ summary), inferences stripped.

        Paper: the marked subjective inferences are removed for training and FEC-Bench;
        the caption opens with the external attributes and follows with the time-ordered changes.
        """
        parts = [self.attributes.strip(), self.facial_changes_text()]
        if with_summary and self.summary.strip():
            parts.append(self.summary.strip())
        text = " ".join(p for p in parts if p)
        return strip_inferences(text) if strip else unmark_inferences(text)

    def to_json(self) -> dict:
        d: dict[str, Any] = {"id": self.id, "video": self.video}
        if self.source:
            d["source"] = self.source
        if self.duration is not None:
            d["duration"] = self.duration
        d.update(attributes=self.attributes, facial_changes=list(self.facial_changes), summary=self.summary)
        d.update(self.extra)
        return d


@dataclass(frozen=True)
class RecordError:
    """One problem with one record: where it is, which record, which field, what is wrong."""

    file: str
    index: int            # position in the file: 1-based line for JSONL, 0-based list index for JSON
    record_id: str | None
    field: str | None
    reason: str
    line: bool = False    # True when ``index`` is a JSONL line number

    @property
    def message(self) -> str:
        where = f"line {self.index}" if self.line else f"record #{self.index}"
        rid = f" id={self.record_id!r}" if self.record_id is not None else ""
        fld = f"field '{self.field}': " if self.field else ""
        return f"{self.file}: {where}{rid}: {fld}{self.reason}"

    def __str__(self) -> str:
        return self.message


def _as_text_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def validate_record(raw: Any) -> tuple[FDARecord | None, list[tuple[str | None, str]]]:
    """Check one raw record; returns ``(record or None, [(field, reason), ...])``.

    Every problem in the record is listed (not only the first), so one pass over a file tells the
    annotator everything to fix.
    """
    problems: list[tuple[str | None, str]] = []
    if not isinstance(raw, dict):
        return None, [(None, f"a record must be a JSON object, got {type(raw).__name__}")]
    for name in REQUIRED_FIELDS:
        if name not in raw or raw[name] is None:
            problems.append((name, "missing"))
    rid = raw.get("id")
    if "id" in raw and rid is not None:
        if isinstance(rid, bool) or not isinstance(rid, (str, int)) or not str(rid).strip():
            problems.append(("id", "must be a non-empty string or an integer"))
    video = raw.get("video")
    if video is not None and (not isinstance(video, str) or not video.strip()):
        problems.append(("video", "must be a non-empty string (a path under the data root)"))
    texts: dict[str, list[str]] = {}
    for name in TEXT_FIELDS:
        if raw.get(name) is None:
            continue
        items = _as_text_list(raw[name]) if name == "facial_changes" else (
            [raw[name]] if isinstance(raw[name], str) else None)
        if items is None:
            kind = "a string or a list of strings" if name == "facial_changes" else "a string"
            problems.append((name, f"must be {kind}, got {type(raw[name]).__name__}"))
            continue
        if not any(s.strip() for s in items):
            problems.append((name, "is empty"))
            continue
        for s in items:
            p = check_inference_tags(s)
            if p:
                problems.append((name, p))
                break
        else:
            if not strip_inferences(" ".join(items)).strip() and name != "summary":
                problems.append((name, "holds nothing but inferences"))
        texts[name] = items
    source = raw.get("source", "")
    if source is not None and not isinstance(source, str):
        problems.append(("source", "must be a string"))
    duration = raw.get("duration")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, (int, float))
                                 or not math.isfinite(duration) or duration < 0):
        problems.append(("duration", "must be a finite non-negative number of seconds"))
    else:
        try:  # NaN/Infinity anywhere else (kept as extra fields) would be written out as invalid JSON
            check_value(raw)
        except JsonProblem as exc:
            problems.append((None, str(exc)))
    if problems:
        return None, problems
    known = set(REQUIRED_FIELDS) | {"source", "duration"}
    rec = FDARecord(
        id=str(rid).strip(), video=video.strip(), attributes=texts["attributes"][0],
        facial_changes=texts["facial_changes"], summary=texts["summary"][0], source=source or "",
        duration=None if duration is None else float(duration),
        extra={k: v for k, v in raw.items() if k not in known},
    )
    return rec, []


def _raw_items(path: Path) -> Iterable[tuple[int, bool, Any, str | None]]:
    """Yield ``(index, is_line, raw, parse_error)`` for every record in a JSON or JSONL file.

    Parsed by :mod:`dfec.userfiles` (deep nesting refused, over-long lines refused); ``NaN`` and
    ``Infinity`` are let through here so that the record holding one is named by
    :func:`validate_record` instead of the whole file being refused.
    """
    from ..userfiles import iter_lines, read_text

    if path.suffix.lower() != ".jsonl":
        text = read_text(path, "an annotation file")
        stripped = text.lstrip()
        if not stripped:
            raise DfecError("empty annotation file", path)
        if stripped[0] == "[":
            try:
                data = parse_json(text, allow_nonfinite=True)
            except JsonProblem as exc:
                raise DfecError(str(exc), path) from None
            for i, raw in enumerate(data):
                yield i, False, raw, None
            return
        if stripped[0] == "{":
            # a single JSON object holding a list under "records"/"data", else JSONL
            try:
                data = parse_json(text, allow_nonfinite=True)
            except JsonProblem as exc:
                if "nested more than" in str(exc):
                    raise DfecError(str(exc), path) from None
                data = None
            if isinstance(data, dict):
                items = data.get("records", data.get("data"))
                if not isinstance(items, list):
                    items = [data]
                for i, raw in enumerate(items):
                    yield i, False, raw, None
                return
    empty = True
    for n, line in iter_lines(path, "an annotation file"):
        if not line.strip():
            continue
        empty = False
        try:
            yield n, True, parse_json(line, allow_nonfinite=True), None
        except JsonProblem as exc:
            yield n, True, None, f"not valid JSON ({exc.syntax})" if exc.syntax else str(exc)
    if empty:
        raise DfecError("empty annotation file", path)


def load_records(path: str | Path) -> tuple[list[FDARecord], list[RecordError]]:
    """Load and validate an FDA annotation file (JSON list or JSONL).

    Returns the valid records and one :class:`RecordError` per problem; a bad record never stops
    the load. Duplicate ids are errors on the second and later occurrences. Raises
    :class:`DfecError` only when the file as a whole cannot be read.
    """
    p = Path(path)
    records: list[FDARecord] = []
    errors: list[RecordError] = []
    seen: dict[str, int] = {}
    for index, is_line, raw, parse_error in _raw_items(p):
        if parse_error:
            errors.append(RecordError(str(p), index, None, None, parse_error, is_line))
            continue
        rec, problems = validate_record(raw)
        rid = None
        if isinstance(raw, dict) and isinstance(raw.get("id"), (str, int)) and not isinstance(raw.get("id"), bool):
            rid = str(raw["id"]).strip()
        for fld, reason in problems:
            errors.append(RecordError(str(p), index, rid, fld, reason, is_line))
        if rec is None:
            continue
        if rec.id in seen:
            first = f"line {seen[rec.id]}" if is_line else f"record #{seen[rec.id]}"
            errors.append(RecordError(str(p), index, rec.id, "id", f"duplicate id (first seen at {first})", is_line))
            continue
        seen[rec.id] = index
        rec.position = (index, is_line)
        records.append(rec)
    return records, errors


def load_captions(path: str | Path) -> tuple[list[dict], list[str]]:
    """Load any caption file the stats tool understands: ``([{id, video, caption, source, duration}], errors)``.

    Accepted: FDA records (caption = attributes + facial changes, inferences stripped), FEC-Bench
    refs ``[{id, video, caption}]``, VideoLLaMA2 conversation JSON (the ``gpt`` turn) and
    prediction JSONL ``{id, caption}``. Malformed entries are skipped and listed in ``errors``.
    """
    p = Path(path)
    out: list[dict] = []
    errors: list[str] = []
    for index, is_line, raw, parse_error in _raw_items(p):
        where = f"{p}: line {index}" if is_line else f"{p}: record #{index}"
        if parse_error or not isinstance(raw, dict):
            errors.append(f"{where}: {parse_error or 'not a JSON object'}")
            continue
        rid = str(raw.get("id", index))
        if "caption" in raw or "conversations" in raw:
            if "caption" in raw:
                cap = raw["caption"]
            else:
                turns = [t for t in raw.get("conversations") or [] if isinstance(t, dict) and t.get("from") == "gpt"]
                cap = turns[0].get("value") if turns else None
            if not isinstance(cap, str) or not cap.strip():
                errors.append(f"{where} id={rid!r}: field 'caption': missing or empty")
                continue
            try:
                cap = strip_inferences(cap)
            except ValueError as exc:
                errors.append(f"{where} id={rid!r}: field 'caption': {exc}")
                continue
            video = raw.get("video") if isinstance(raw.get("video"), str) else ""
            src = raw.get("source") if isinstance(raw.get("source"), str) else ""
            dur = raw.get("duration")
            if dur is not None and (isinstance(dur, bool) or not isinstance(dur, (int, float))
                                    or not math.isfinite(dur) or dur < 0):
                errors.append(f"{where} id={rid!r}: field 'duration': must be a finite non-negative number of seconds")
                continue
            out.append({"id": rid, "video": video, "caption": cap, "source": src, "duration": dur})
            continue
        rec, problems = validate_record(raw)
        if rec is None:
            errors.extend(f"{where} id={rid!r}: field '{f}': {r}" for f, r in problems)
            continue
        out.append({"id": rec.id, "video": rec.video, "caption": rec.caption(), "source": rec.dataset,
                    "duration": rec.duration})
    if not out and errors:
        raise DfecError(f"no usable caption record ({len(errors)} malformed; first: {errors[0]})", p)
    for rec in out:
        if not rec["source"]:
            parts = Path(rec["video"].replace("\\", "/")).parts if rec["video"] else ()
            rec["source"] = parts[0] if len(parts) > 1 else "unknown"
    return out, errors
