"""Checks of the files in a model folder, before any weights load: one line naming the file and the problem.

A folder given to ``dfec caption --model`` or ``dfec train --merge`` (or named as base weights) is
checked here first, cheaply and without torch:

* every top-level ``*.json`` (``config.json``, tokenizer and processor files, the adapter's
  ``adapter_config.json`` / ``facetrack_base.json``) must be UTF-8 JSON holding an object;
  ``config.json`` fields must have the right types (``hidden_size`` a positive integer,
  ``vision_config`` an object, ...);
* every ``*.safetensors`` must have a sound header (its length, JSON, each tensor's dtype, shape and
  byte range) and be as long as the header says: a truncated or corrupt download is caught here;
  a sharded checkpoint's index must name shards that exist;
* the tokenizer: ``tokenizer.json`` or ``tokenizer.model`` must be there and readable.

:func:`loader_errors` turns what the loaders still raise (transformers, peft, safetensors) into the same
kind of one-line :class:`~dfec.errors.DfecError`.
"""
from __future__ import annotations

import contextlib
import json
import struct
from pathlib import Path

from ..errors import DfecError
from ..userfiles import read_json

#: bytes per element of each safetensors dtype
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "I16": 2, "U16": 2,
                "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8, "C64": 8}
#: the largest safetensors header accepted (the format's own limit is 100 MB)
MAX_HEADER = 100 * 2**20

_INT, _NUM, _STR, _BOOL, _LIST, _DICT = "a positive integer", "a number", "a string", "true or false", "a list", \
    "an object"
#: expected types of the config.json fields dfec's models read (others are left to transformers)
CONFIG_FIELDS = {
    "model_type": _STR, "architectures": _LIST, "hidden_size": _INT, "intermediate_size": _INT,
    "num_hidden_layers": _INT, "num_attention_heads": _INT, "num_key_value_heads": _INT, "vocab_size": _INT,
    "max_position_embeddings": _INT, "image_size": _INT, "patch_size": _INT, "embed_dim": _INT,
    "window_size": _INT, "depths": _LIST, "num_heads": _LIST, "rms_norm_eps": _NUM, "layer_norm_eps": _NUM,
    "rope_theta": _NUM, "vision_config": _DICT, "text_config": _DICT, "face_backbone_config": _DICT,
    "num_frames": _INT, "face_dim": _INT, "face_max_tokens": _INT, "use_face_branch": _BOOL,
    "tie_word_embeddings": _BOOL, "stc_downsample": _LIST, "video_token_index": "an integer",
}


def _type_ok(value, kind: str) -> bool:
    if value is None:
        return True  # transformers fills a null with the default
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool) and value > 0
    if kind == "an integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, {_STR: str, _BOOL: bool, _LIST: list, _DICT: dict}[kind])


def read_json_object(path: Path, what: str = "a JSON object") -> dict:
    """The JSON object stored in ``path`` (UTF-8, valid JSON, an object rather than a list or value)."""
    data = read_json(path, "a JSON file", allow_nonfinite=True)
    if not isinstance(data, dict):
        raise DfecError(f"is a JSON {_json_kind(data)}, expected {what}", path)
    return data


def _json_kind(value) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "null")


def check_config(path: Path) -> dict:
    """A model's ``config.json``: an object whose known fields (also in sub-configs) have the right types."""
    cfg = read_json_object(path, "an object of model settings")
    stack = [("", cfg)]
    while stack:
        prefix, d = stack.pop()
        for key, kind in CONFIG_FIELDS.items():
            if key in d and not _type_ok(d[key], kind):
                raise DfecError(f"field '{prefix}{key}' must be {kind}, got {json.dumps(d[key])[:40]}", path)
        stack.extend((f"{prefix}{k}.", v) for k, v in d.items() if k.endswith("_config") and isinstance(v, dict))
    return cfg


def check_safetensors(path: Path) -> int:
    """Check a ``.safetensors`` file's header and length without loading it; returns the tensor count."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise DfecError("truncated safetensors file (shorter than its 8-byte header length)", p)
            (n,) = struct.unpack("<Q", head)
            if n == 0 or n > MAX_HEADER or 8 + n > size:
                raise DfecError("corrupt or truncated safetensors file (impossible header length)", p)
            raw = fh.read(n)
    except OSError as exc:
        raise DfecError(f"cannot read ({exc.strerror})", p) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DfecError("corrupt safetensors file (its header is not JSON)", p) from None
    if not isinstance(header, dict):
        raise DfecError("corrupt safetensors file (its header is not an object)", p)
    end = 0
    count = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, stop) = info["dtype"], info["shape"], info["data_offsets"]
            numel = 1
            for dim in shape:
                if not isinstance(dim, int) or dim < 0:
                    raise ValueError
                numel *= dim
            ok = (dtype in _DTYPE_BYTES and isinstance(begin, int) and isinstance(stop, int)
                  and 0 <= begin <= stop and stop - begin == numel * _DTYPE_BYTES[dtype])
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise DfecError(f"corrupt safetensors file (bad entry for tensor '{name}')", p)
        end = max(end, stop)
        count += 1
    if 8 + n + end > size:
        raise DfecError(f"truncated safetensors file ({size} bytes, its header needs {8 + n + end}); "
                        "download it again", p)
    return count


def check_weights_folder(folder: Path, config_types: bool = True) -> None:
    """``config.json`` (when there), every JSON file and every ``*.safetensors`` of a weights folder.

    ``config_types=False`` checks ``config.json`` only as a JSON object, for folders of other models
    (the field-type table is FaceTrack-MM's: Qwen2-VL's ``vision_config.num_heads`` is an integer,
    FaceSwin's a list)."""
    folder = Path(folder)
    for f in sorted(folder.glob("*.json")):
        if f.name == "config.json" and config_types:
            check_config(f)
        elif f.is_file():
            read_json_object(f)
    for f in sorted(folder.glob("*.safetensors")):
        check_safetensors(f)
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        weight_map = read_json_object(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise DfecError("no 'weight_map' object in the shard index", index)
        for shard in sorted(set(map(str, weight_map.values()))):
            if not (folder / shard).is_file():
                raise DfecError(f"shard {shard} named in the index is missing", index)


def check_tokenizer(folder: Path) -> None:
    """A tokenizer is there (``tokenizer.json`` or ``tokenizer.model``) and its JSON files parse."""
    folder = Path(folder)
    fast, slow = folder / "tokenizer.json", folder / "tokenizer.model"
    if not fast.is_file() and not slow.is_file():
        raise DfecError("no tokenizer (tokenizer.json or tokenizer.model) in the model folder", folder)
    if fast.is_file():
        tok = read_json_object(fast, "a tokenizer")
        if not isinstance(tok.get("model"), dict):
            raise DfecError("not a tokenizers file (no 'model' object)", fast)
    elif slow.stat().st_size == 0:
        raise DfecError("empty tokenizer.model", slow)


def check_layout(layout: dict) -> None:
    """Check the files of a :func:`dfec.model.loading.resolve_layout` result."""
    kind, p = layout["kind"], Path(layout["path"])
    if kind == "full":
        check_weights_folder(p)
        check_tokenizer(p)
    elif kind == "components":
        for key in ("vision_tower", "llm", "projector"):
            if layout.get(key):
                check_weights_folder(Path(layout[key]))
        check_tokenizer(Path(layout["llm"]))
    else:  # a `dfec train` output: adapter + projector weights + the tokenizer it saved
        check_weights_folder(p)
        for key in ("model", "vision_tower", "llm"):
            base = layout.get("base", {}).get(key)
            if isinstance(base, str) and Path(base).is_dir():
                check_weights_folder(Path(base))
        cfg = read_json_object(p / "adapter_config.json", "the LoRA settings")
        for key, kind_ in (("r", _INT), ("peft_type", _STR)):
            if key in cfg and not _type_ok(cfg[key], kind_):
                raise DfecError(f"field '{key}' must be {kind_}", p / "adapter_config.json")
        if (p / "tokenizer.json").exists() or (p / "tokenizer.model").exists():
            check_tokenizer(p)


@contextlib.contextmanager
def loader_errors(path, what: str = "the model"):
    """Turn what a loader still raises on broken files into one line naming ``path``."""
    try:
        yield
    except DfecError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, AttributeError, IndexError) as exc:
        text = str(exc).strip().splitlines()
        detail = text[0][:200] if text else ""
        if "mismatched_sizes" in str(exc) or "size mismatch" in str(exc):
            detail = "tensor sizes in the weights do not match config.json"
        raise DfecError(f"cannot load {what}: {type(exc).__name__}" + (f": {detail}" if detail else ""), path) from None
