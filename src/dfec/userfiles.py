"""Reading the files a user hands to dfec (text, JSON, YAML settings) with one-line errors.

Every user mistake (a missing file, a folder, bytes that are not UTF-8, invalid JSON/YAML, a
settings file that is not a mapping, an unknown setting) becomes one
:class:`~dfec.errors.DfecError` naming the file.
"""
from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any, Iterable

from .errors import DfecError


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


def read_json(path, what: str = "a JSON file") -> Any:
    """The JSON value stored in ``path``."""
    try:
        return json.loads(read_text(path, what))
    except json.JSONDecodeError as exc:
        raise DfecError(f"not valid JSON (line {exc.lineno}: {exc.msg})", path) from None


def read_mapping(path, what: str = "settings") -> dict:
    """The mapping stored in the YAML/JSON file ``path`` (an empty file is an empty mapping)."""
    import yaml

    p = Path(path)
    if not p.is_file() and not p.is_dir():
        raise DfecError("no such config file", p)
    text = read_text(p, "a YAML/JSON settings file")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise DfecError(f"not valid YAML/JSON ({str(exc).splitlines()[0]})", p) from None
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
