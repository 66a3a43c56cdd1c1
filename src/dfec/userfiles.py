"""Reading the files a user hands to dfec (text, JSON, JSONL, YAML settings) with one-line errors,
and the shared checks of user-given paths (output folders and files, paths under a data root).

Every user mistake (a missing file, a folder, bytes that are not UTF-8, invalid JSON/YAML, a
settings file that is not a mapping, an unknown setting) becomes one
:class:`~dfec.errors.DfecError` naming the file. Hostile or broken files are refused the same way,
quickly and in bounded memory: non-finite numbers (``NaN``, ``Infinity``, ``1e999``, YAML ``.inf``),
nesting deeper than :data:`MAX_DEPTH`, YAML aliases that expand past :data:`MAX_YAML_NODES` nodes
("billion laughs"), and JSONL lines longer than :data:`MAX_LINE_BYTES`.
"""
from __future__ import annotations

import difflib
import json
import math
import os
from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Iterator

from .errors import DfecError

#: deepest nesting of lists/objects accepted in a user's JSON or YAML file
MAX_DEPTH = 64
#: longest JSONL line (one record) accepted; a caption record is a few kB
MAX_LINE_BYTES = 8 * 2**20
#: most nodes a YAML document may expand to once its aliases are followed
MAX_YAML_NODES = 100_000


class JsonProblem(ValueError):
    """What is wrong with one JSON text, as a short phrase (callers add the file and line);
    ``syntax`` holds the parser's message when the text is not JSON at all."""

    def __init__(self, message: str, syntax: str | None = None):
        super().__init__(message)
        self.syntax = syntax


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _NonFinite(text)
    return v


def check_value(value: Any, allow_nonfinite: bool = False, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`JsonProblem` when ``value`` nests deeper than ``max_depth`` or holds a
    non-finite float (walked without recursion)."""
    stack = [(value, 1, "")]
    while stack:
        v, depth, where = stack.pop()
        if isinstance(v, dict):
            if depth > max_depth:
                raise JsonProblem(f"nested more than {max_depth} levels deep")
            stack.extend((x, depth + 1, f"{where}.{k}" if where else str(k)) for k, x in v.items())
        elif isinstance(v, list):
            if depth > max_depth:
                raise JsonProblem(f"nested more than {max_depth} levels deep")
            stack.extend((x, depth + 1, f"{where}[{i}]") for i, x in enumerate(v))
        elif isinstance(v, float) and not allow_nonfinite and not math.isfinite(v):
            raise JsonProblem(f"non-finite number {v!r}" + (f" at '{where}'" if where else ""))


def parse_json(text: str, allow_nonfinite: bool = False) -> Any:
    """Parse JSON ``text``; a syntax error, deep nesting or a non-finite number raises
    :class:`JsonProblem` (``allow_nonfinite`` accepts ``NaN``/``Infinity``, for dfec's own result files)."""
    try:
        if allow_nonfinite:
            value = json.loads(text)
        else:
            value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise JsonProblem(f"not valid JSON (line {exc.lineno}: {exc.msg})", syntax=exc.msg) from None
    except _NonFinite as exc:
        raise JsonProblem(f"non-finite number {exc}") from None
    except RecursionError:
        raise JsonProblem(f"nested more than {MAX_DEPTH} levels deep") from None
    check_value(value, allow_nonfinite)
    return value


def read_text(path, what: str = "a file") -> str:
    """The UTF-8 text of ``path``; ``what`` names the expected kind of file in the error."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DfecError("no such file", p) from None
    except IsADirectoryError:
        raise DfecError(f"is a directory, expected {what}", p) from None
    except UnicodeDecodeError:
        raise DfecError("not a UTF-8 text file", p) from None


def read_json(path, what: str = "a JSON file", allow_nonfinite: bool = False) -> Any:
    """The JSON value stored in ``path`` (see :func:`parse_json`)."""
    try:
        return parse_json(read_text(path, what), allow_nonfinite)
    except JsonProblem as exc:
        raise DfecError(str(exc), path) from None


def iter_lines(path, what: str = "a JSONL file", max_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line of ``path``, read one bounded line at a time: a line
    longer than ``max_bytes`` is refused (it would hang the metrics), as are bytes that are not UTF-8."""
    p = Path(path)
    read_text_checks(p, what)
    with open(p, "rb") as fh:
        n = 0
        while True:
            raw = fh.readline(max_bytes + 1)
            if not raw:
                return
            n += 1
            if len(raw) > max_bytes:
                raise DfecError(f"line {n} is longer than {max_bytes // 2**20} MiB; one record per line", p)
            try:
                yield n, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                raise DfecError(f"line {n} is not UTF-8 text", p) from None


def read_text_checks(p: Path, what: str) -> None:
    """The file checks of :func:`read_text`, without reading."""
    if not p.exists():
        raise DfecError("no such file", p)
    if p.is_dir():
        raise DfecError(f"is a directory, expected {what}", p)


def read_jsonl(path, what: str = "a JSONL file", allow_nonfinite: bool = False) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of each non-blank line of a JSONL file; a bad line is a
    :class:`DfecError` naming the file and line."""
    for n, line in iter_lines(path, what):
        if line.strip():
            try:
                yield n, parse_json(line, allow_nonfinite)
            except JsonProblem as exc:
                why = f"line {n} is not valid JSON ({exc.syntax})" if exc.syntax else f"line {n}: {exc}"
                raise DfecError(why, path) from None


def _yaml_loader():
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader that refuses deep nesting while composing (the composer recurses)."""

        depth = 0

        def compose_node(self, parent, index):
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise JsonProblem(f"nested more than {MAX_DEPTH} levels deep")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return Loader


def _expanded_size(node) -> int:
    """Nodes in the YAML graph once every alias is expanded (memoised per node: no expansion)."""
    import yaml

    sizes: dict[int, int] = {}
    stack = [(node, False)]
    while stack:
        n, done = stack.pop()
        if id(n) in sizes:
            continue
        if isinstance(n, yaml.SequenceNode):
            kids = n.value
        elif isinstance(n, yaml.MappingNode):
            kids = [x for pair in n.value for x in pair]
        else:
            sizes[id(n)] = 1
            continue
        if done:
            sizes[id(n)] = min(1 + sum(sizes[id(k)] for k in kids), 2 * MAX_YAML_NODES)
        else:
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(node)]


def parse_yaml(text: str) -> Any:
    """Parse one YAML (or JSON) document safely; raises :class:`JsonProblem` for invalid YAML, deep
    nesting, an alias bomb or a non-finite number (``.inf``, ``.nan``)."""
    import yaml

    loader = _yaml_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node) > MAX_YAML_NODES:
            raise JsonProblem(f"expands to more than {MAX_YAML_NODES} values through aliases (an alias bomb?)")
        value = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise JsonProblem(f"not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise JsonProblem(f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    check_value(value)
    return value


def read_mapping(path, what: str = "settings") -> dict:
    """The mapping stored in the YAML/JSON file ``path`` (an empty file is an empty mapping)."""
    p = Path(path)
    if not p.is_file() and not p.is_dir():
        raise DfecError("no such config file", p)
    text = read_text(p, "a YAML/JSON settings file")
    try:
        data = parse_yaml(text) or {}
    except JsonProblem as exc:
        raise DfecError(str(exc), p) from None
    if not isinstance(data, dict):
        raise DfecError(f"the config must be a mapping of {what}", p)
    return data


def check_known(keys: Iterable, known: Iterable[str], path) -> None:
    """Refuse the first key that is not a known setting, suggesting the closest known name."""
    known = list(known)
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(known))}"
            raise DfecError(f"unknown setting '{key}' ({hint})", path)


# ------------------------------------------------------------------------------------------------
# paths the user names
# ------------------------------------------------------------------------------------------------
def _first_existing(p: Path) -> Path:
    q = p
    while not q.exists() and q != q.parent:
        q = q.parent
    return q


def _check_writable_place(target: Path, label: str) -> None:
    """The nearest existing folder above ``target`` must be a folder we may create entries in."""
    parent = _first_existing(target.parent if target.parent != target else target)
    if not parent.is_dir():
        raise DfecError(f"cannot create {label}: {parent} is a file, not a folder", target)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DfecError(f"cannot create {label}: folder {parent} is not writable", target)


def check_output_dir(path, label: str = "output folder (--out)") -> Path:
    """Refuse an output folder that names an existing file or cannot be created/written (checked
    before any work starts; nothing is created)."""
    p = Path(path).expanduser()
    if p.exists():
        if not p.is_dir():
            raise DfecError(f"{label} exists and is not a folder", p)
        if not os.access(p, os.W_OK | os.X_OK):
            raise DfecError(f"{label} is not writable", p)
        return p
    _check_writable_place(p, label)
    return p


def check_output_file(path, label: str = "output file (--out)") -> Path:
    """Refuse an output file that names a folder, or whose folder cannot be created/written."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise DfecError(f"{label} is a folder; give a file name", p)
    if p.exists():
        if not os.access(p, os.W_OK):
            raise DfecError(f"{label} is not writable", p)
        return p
    _check_writable_place(p, label)
    return p


def resolve_under_root(path: str, root: str | Path) -> tuple[Path, str]:
    """Resolve a data file's ``path`` under the data ``root``; returns ``(absolute path,
    root-relative posix path)``.

    Raises ValueError when the path escapes the root: ``..`` above it, an absolute path elsewhere,
    or a symlink (a linked folder or file inside the root) whose target lies outside the root once
    every link is followed (:meth:`Path.resolve`). A symlink that stays inside the root is fine.
    """
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"path {path!r} is not a non-empty string")
    root_abs = Path(os.path.abspath(os.path.expanduser(root)))
    raw = path.replace("\\", "/")
    candidate = Path(raw) if os.path.isabs(raw) else root_abs / raw
    resolved = Path(os.path.normpath(candidate))
    try:
        rel = resolved.relative_to(root_abs)
    except ValueError:
        raise ValueError(f"path {path!r} escapes the data root {str(root_abs)!r}") from None
    try:
        real, real_root = candidate.resolve(), root_abs.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ValueError(f"path {path!r} cannot be resolved ({exc})") from None
    if real != real_root and real_root not in real.parents:
        raise ValueError(f"path {path!r} escapes the data root {str(root_abs)!r} through a symlink")
    if str(rel) in ("", "."):
        raise ValueError(f"path {path!r} is the data root itself, not a file")
    return resolved, PurePosixPath(*rel.parts).as_posix()
