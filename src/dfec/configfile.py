"""Reading settings files (YAML or JSON) with one-line errors.

``dfec train --config`` and ``dfec caption --config`` both take a file holding one mapping of
setting names to values; this module reads it and reports every user mistake as one
:class:`~dfec.errors.DfecError` naming the file.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Iterable

from .errors import DfecError


def read_mapping(path, what: str = "settings") -> dict:
    """The mapping stored in the YAML/JSON file ``path`` (an empty file is an empty mapping)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise DfecError("no such config file", p)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError:
        raise DfecError("not a UTF-8 text file", p) from None
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
