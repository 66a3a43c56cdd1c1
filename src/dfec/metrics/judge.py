"""Judges: who extracts events, classifies event relations and gives the Video-ChatGPT scores.

``Judge`` is a small Protocol; two implementations ship:

* :class:`OfflineJudge` -- no API: rule-based events (:mod:`dfec.metrics.events`) and relations on
  canonical facial events (:mod:`dfec.metrics.relations`, :mod:`dfec.metrics.canonical`). It cannot give the five
  Video-ChatGPT scores (they are reported as ``None``).
* :class:`OpenAIJudge` -- any OpenAI-compatible chat endpoint (model, base URL and key from
  arguments or ``DFEC_JUDGE_MODEL`` / ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``). Temperature 0, JSON
  replies, bounded retries with exponential backoff on 429 / 5xx / timeouts / connection errors, a
  concurrency limit (used by the scorer's thread pool), and a SQLite cache keyed by (model, prompt
  version, inputs) so a rerun costs nothing and a crashed run resumes where it stopped. A reply that
  is not the JSON asked for is retried (with a reminder), then the sample is marked failed and
  counted; it is never scored as 0. Tokens are counted (fresh and cached separately).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from ..errors import DfecError
from . import prompts
from .relations import NONE, SAME, normalise_relation

__all__ = [
    "Judge", "SampleJudgement", "OfflineJudge", "OpenAIJudge", "JudgeConfig", "JudgeCache", "JudgeFailure",
    "make_judge", "parse_json_reply",
]


@dataclass
class SampleJudgement:
    """What a judge says about one (prediction, reference) pair."""

    events_pred: list[str] = field(default_factory=list)
    relations: list[list[str]] = field(default_factory=list)  # |E_G| x |E_R|
    entailed_pred: list[bool] | None = None  # AutoDQ: each generated event entailed by the reference?
    entailed_ref: list[bool] | None = None  # AutoDQ: each reference event entailed by the prediction?
    scores: dict[str, float] | None = None  # the five Video-ChatGPT scores, or None
    converted: str | None = None  # the format-converted prediction, when that step ran
    failed: bool = False
    error: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


@runtime_checkable
class Judge(Protocol):
    """Anything that can judge samples for the scorer."""

    name: str
    model: str
    concurrency: int

    def reference_events(self, caption: str) -> list[str]: ...

    def judge(self, prediction: str, reference: str, reference_events: list[str]) -> SampleJudgement: ...

    def info(self) -> dict: ...


class JudgeFailure(Exception):
    """A judge call that did not produce a usable reply after its retries."""


# --------------------------------------------------------------------------------------------
# Offline judge
# --------------------------------------------------------------------------------------------
class OfflineJudge:
    """Rule-based events + canonical-form relations (MiniLM only as fallback); no network, no Video-ChatGPT scores."""

    name = "offline"
    concurrency = 1

    def __init__(self, relation_config=None, encoder=None):
        from .relations import OfflineRelationClassifier, RelationConfig

        self.classifier = OfflineRelationClassifier(relation_config or RelationConfig(), encoder=encoder)
        self.model = "canonical-events+all-MiniLM-L6-v2"
        self.calls = 0
        self._events: dict[str, list[str]] = {}

    def _extract(self, caption: str) -> list[str]:
        ev = self._events.get(caption)
        if ev is None:
            from .events import extract_events

            ev = self._events[caption] = extract_events(caption)
        return ev

    def reference_events(self, caption: str) -> list[str]:
        return list(self._extract(caption))

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed, in one batched pass, the events the parser cannot read (speed only)."""
        events = [e for t in texts for e in self._extract(t)]
        self.classifier.warm(events)

    def explain_events(self, events: Sequence[str]) -> list[str]:
        """How each event was parsed (region, movement, direction, ...), for the per-sample output."""
        return [self.classifier.explain(e) for e in events]

    def judge(self, prediction: str, reference: str, reference_events: list[str]) -> SampleJudgement:
        self.calls += 1
        ev = list(self._extract(prediction))
        matrix = self.classifier.matrix(ev, reference_events)
        ent_g = [any(v == SAME for v in row) for row in matrix]
        ent_r = [any(matrix[i][j] == SAME for i in range(len(ev))) for j in range(len(reference_events))]
        return SampleJudgement(events_pred=ev, relations=matrix, entailed_pred=ent_g, entailed_ref=ent_r)

    def info(self) -> dict:
        cfg = self.classifier.config
        return {
            "name": self.name,
            "model": self.model,
            "prompt_versions": {"events": "rules/v2", "relations": "canonical+minilm-fallback/v2"},
            "relation_config": asdict(cfg),
            "calls": self.calls,
            "api_calls": 0,
            "cache_hits": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
        }


# --------------------------------------------------------------------------------------------
# SQLite cache
# --------------------------------------------------------------------------------------------
def default_cache_path() -> Path:
    env = os.environ.get("DFEC_JUDGE_CACHE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "dfec" / "judge_cache.sqlite"


class JudgeCache:
    """Every successful judge reply, keyed by sha256(model, prompt version, inputs)."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        target = ":memory:" if self.path is None else str(self.path)
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DfecError(f"cannot create the judge cache folder ({exc.strerror})", self.path.parent) from None
        try:
            self._db = sqlite3.connect(target, check_same_thread=False, timeout=30)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, model TEXT, version TEXT, "
                "reply TEXT, parsed TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, created REAL)"
            )
            self._db.commit()
        except sqlite3.DatabaseError as exc:
            raise DfecError(f"not a usable SQLite judge cache ({exc})", self.path) from None

    @staticmethod
    def key(model: str, version: str, inputs: str) -> str:
        # surrogatepass: a lone surrogate in a caption must not crash the key (same bytes otherwise)
        return hashlib.sha256(
            json.dumps([model, version, inputs], ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key: str) -> dict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT parsed, prompt_tokens, completion_tokens FROM replies WHERE key = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        return {"parsed": json.loads(row[0]), "prompt_tokens": row[1], "completion_tokens": row[2]}

    def put(self, key: str, model: str, version: str, reply: str, parsed, prompt_tokens: int, completion_tokens: int):
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO replies VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, model, version, reply, json.dumps(parsed, ensure_ascii=False), prompt_tokens,
                 completion_tokens, time.time()),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --------------------------------------------------------------------------------------------
# OpenAI-compatible judge
# --------------------------------------------------------------------------------------------
@dataclass
class JudgeConfig:
    """Settings of the API judge (temperature 0 and JSON replies as the paper's GPT judging)."""

    model: str | None = None  # default: $DFEC_JUDGE_MODEL or "gpt-4o-mini"
    base_url: str | None = None  # default: $OPENAI_BASE_URL or the OpenAI API
    api_key: str | None = None  # default: $OPENAI_API_KEY (or $DFEC_JUDGE_API_KEY)
    temperature: float = 0.0
    max_tokens: int = 2048
    timeout_s: float = 60.0
    max_retries: int = 5  # transient errors (429, 5xx, timeouts, connection) per call
    parse_retries: int = 2  # extra attempts after a reply that is not the JSON asked for
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    concurrency: int = 8
    cache_path: str | None = None  # default: $DFEC_JUDGE_CACHE or ~/.cache/dfec/judge_cache.sqlite
    format_conversion: bool = True  # the paper's rewrite-into-reference-style step before scoring
    video_chatgpt_scores: bool = True
    json_mode: bool = True  # send response_format={"type": "json_object"}
    price_prompt_per_mtok: float | None = None  # USD per 1M prompt tokens (for the cost line)
    price_completion_per_mtok: float | None = None


_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.I)


def parse_json_reply(text: str):
    """The JSON object in a judge reply (tolerates code fences and text around one object)."""
    if text is None:
        raise ValueError("empty reply")
    t = _FENCE_RE.sub("", str(text).strip())
    try:
        return json.loads(t)
    except json.JSONDecodeError:
        pass
    # the first complete JSON object in the text, whatever stands before or after it (prose,
    # a second object, stray braces): decode from each "{" until one parses
    decoder = json.JSONDecoder()
    start = t.find("{")
    while start >= 0:
        try:
            obj, _ = decoder.raw_decode(t, start)
        except json.JSONDecodeError:
            start = t.find("{", start + 1)
            continue
        if isinstance(obj, dict):
            return obj
        start = t.find("{", start + 1)
    raise ValueError("reply is not JSON")


def _as_str_list(v, what: str) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, (str, int, float)) for x in v):
        raise ValueError(f"{what} is not a list of strings")
    return [str(x).strip() for x in v if str(x).strip()]


def _as_bool_list(v, n: int, what: str) -> list[bool]:
    if not isinstance(v, list) or len(v) != n:
        raise ValueError(f"{what} must be a list of {n} booleans")
    out = []
    for x in v:
        if isinstance(x, bool):
            out.append(x)
        elif isinstance(x, (int, float)):
            out.append(bool(x))
        elif isinstance(x, str) and x.strip().lower() in {"true", "yes", "t", "y", "1", "false", "no", "f", "n", "0"}:
            out.append(x.strip().lower() in {"true", "yes", "t", "y", "1"})
        else:
            raise ValueError(f"{what} holds {x!r}, not a boolean")
    return out


def _relation_letter(x) -> str:
    v = str(x).strip().upper()
    if v in {"S", "O", "N"}:
        return {"S": SAME, "O": "opposite", "N": NONE}[v]
    if v.lower().split()[0:1] and v.lower().split()[0].rstrip(".") in {"same", "opposite", "none", "no"}:
        return normalise_relation(v.lower())
    raise ValueError(f"unknown relation {x!r}")


class OpenAIJudge:
    """The API judge (see module doc); thread-safe, so the scorer can run ``concurrency`` samples at once."""

    name = "openai"

    def __init__(self, config: JudgeConfig | None = None, client=None):
        self.config = cfg = config or JudgeConfig()
        self.model = cfg.model or os.environ.get("DFEC_JUDGE_MODEL") or "gpt-4o-mini"
        self.concurrency = max(1, int(cfg.concurrency))
        self.cache = JudgeCache(cfg.cache_path if cfg.cache_path is not None else default_cache_path())
        self._client = client
        self._lock = threading.Lock()
        self._ref_events: dict[str, list[str]] = {}
        self.stats = {"api_calls": 0, "cache_hits": 0, "retries": 0, "parse_failures": 0, "prompt_tokens": 0,
                      "completion_tokens": 0, "cached_prompt_tokens": 0, "cached_completion_tokens": 0}

    # -- transport -------------------------------------------------------------------------
    @property
    def client(self):
        if self._client is None:
            try:
                import openai
            except ImportError:
                from ..errors import MissingDependencyError

                raise MissingDependencyError("the openai package", "pip install openai, or use --judge offline") from None
            key = self.config.api_key or os.environ.get("OPENAI_API_KEY") or os.environ.get("DFEC_JUDGE_API_KEY")
            base = self.config.base_url or os.environ.get("OPENAI_BASE_URL")
            if not key:
                if base:
                    key = "not-needed"  # local OpenAI-compatible servers often need no key
                else:
                    raise DfecError("no API key for the judge: set OPENAI_API_KEY or pass --api-key "
                                    "(or use --judge offline)")
            self._client = openai.OpenAI(api_key=key, base_url=base, timeout=self.config.timeout_s, max_retries=0)
        return self._client

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] += n

    def _request(self, messages: list[dict]):
        """One chat completion with bounded retries on transient errors (429, 5xx, timeouts)."""
        import openai

        cfg = self.config
        kwargs = dict(model=self.model, messages=messages, temperature=cfg.temperature, max_tokens=cfg.max_tokens)
        if cfg.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        last: Exception | None = None
        for attempt in range(cfg.max_retries + 1):
            if attempt:
                self._count("retries")
            try:
                self._count("api_calls")
                resp = self.client.chat.completions.create(**kwargs)
                content = resp.choices[0].message.content if resp.choices else None
                usage = getattr(resp, "usage", None)
                pt = int(getattr(usage, "prompt_tokens", 0) or 0)
                ct = int(getattr(usage, "completion_tokens", 0) or 0)
                self._count("prompt_tokens", pt)
                self._count("completion_tokens", ct)
                return content, pt, ct
            except (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError,
                    openai.InternalServerError) as exc:
                last = exc
                wait = self._backoff(attempt, exc)
            except openai.APIStatusError as exc:
                if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
                    last = exc
                    wait = self._backoff(attempt, exc)
                elif exc.status_code in (400, 413, 422):
                    # this request was refused (e.g. too long for the model's context): the sample
                    # fails and is counted; the run goes on. Auth / URL / model errors still stop it.
                    msg = str(getattr(exc, "message", exc)).splitlines()[0][:200]
                    raise JudgeFailure(f"the judge endpoint rejected this sample (HTTP {exc.status_code}: {msg})") from None
                else:
                    msg = str(getattr(exc, "message", exc)).splitlines()[0][:200]
                    raise DfecError(f"the judge endpoint refused the request (HTTP {exc.status_code}: {msg})",
                                    cfg.base_url or "judge") from None
            if attempt < cfg.max_retries:
                time.sleep(wait)
        raise JudgeFailure(f"judge unavailable after {cfg.max_retries + 1} attempts: {type(last).__name__}")

    def _backoff(self, attempt: int, exc: Exception) -> float:
        cfg = self.config
        wait = min(cfg.backoff_max_s, cfg.backoff_s * (2 ** attempt))
        resp = getattr(exc, "response", None)
        try:
            ra = float(resp.headers.get("retry-after")) if resp is not None and resp.headers.get("retry-after") else None
        except (TypeError, ValueError):
            ra = None
        if ra is not None:
            wait = min(cfg.backoff_max_s, max(wait, ra))
        return wait * (1.0 + 0.1 * random.random())

    def call(self, version: str, messages: list[dict], inputs: str, validate):
        """Cached JSON call: cache hit, or request + parse + validate with parse retries."""
        key = JudgeCache.key(self.model, version, inputs)
        hit = self.cache.get(key)
        if hit is not None:
            try:
                value = validate(hit["parsed"])
            except (ValueError, TypeError, KeyError, AttributeError):
                value = None  # a stale entry that no longer validates: ask again
            else:
                self._count("cache_hits")
                self._count("cached_prompt_tokens", hit["prompt_tokens"] or 0)
                self._count("cached_completion_tokens", hit["completion_tokens"] or 0)
                return value
        msgs = list(messages)
        problem = "no reply"
        for _ in range(self.config.parse_retries + 1):
            content, pt, ct = self._request(msgs)
            try:
                parsed = parse_json_reply(content)
                value = validate(parsed)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                problem = str(exc) or type(exc).__name__
                self._count("parse_failures")
                msgs = list(messages) + [
                    {"role": "assistant", "content": str(content)[:4000]},
                    {"role": "user", "content": f"That reply was not usable ({problem}). Reply again with only "
                                                "the JSON object in the requested format."},
                ]
                continue
            self.cache.put(key, self.model, version, str(content), parsed, pt, ct)
            return value
        raise JudgeFailure(f"unparseable judge reply ({problem})")

    # -- the judge protocol ----------------------------------------------------------------
    def reference_events(self, caption: str) -> list[str]:
        """Reference events, extracted once per reference text (memory + SQLite cache)."""
        with self._lock:
            if caption in self._ref_events:
                return self._ref_events[caption]
        events = self.call(
            prompts.PROMPT_VERSIONS["ref_events"], prompts.ref_events_messages(caption),
            prompts.inputs_key(caption), lambda p: _as_str_list(p["events"], "events"),
        )
        with self._lock:
            self._ref_events[caption] = events
        return events

    def judge(self, prediction: str, reference: str, reference_events: list[str]) -> SampleJudgement:
        cfg = self.config
        out = SampleJudgement()
        try:
            convert = bool(cfg.format_conversion and cfg.video_chatgpt_scores)
            version = prompts.PROMPT_VERSIONS["pred_events_convert" if convert else "pred_events"]

            def v_events(p):
                ev = _as_str_list(p["events"], "events")
                conv = None
                if convert:
                    conv = p.get("converted")
                    if not isinstance(conv, str) or not conv.strip():
                        raise ValueError("converted is missing")
                return ev, conv

            out.events_pred, out.converted = self.call(
                version, prompts.pred_events_messages(prediction, reference, convert),
                prompts.inputs_key(prediction, reference if convert else None), v_events,
            )
            n_g, n_r = len(out.events_pred), len(reference_events)
            if n_g and n_r:
                def v_rel(p):
                    rel = p["relations"]
                    if not isinstance(rel, list) or len(rel) != n_g:
                        raise ValueError(f"relations must have {n_g} rows")
                    rows = []
                    for row in rel:
                        if isinstance(row, str):
                            row = list(row.replace(",", "").replace(" ", ""))
                        if not isinstance(row, list) or len(row) != n_r:
                            raise ValueError(f"each relations row must have {n_r} entries")
                        rows.append([_relation_letter(x) for x in row])
                    return (rows, _as_bool_list(p["pred_entailed"], n_g, "pred_entailed"),
                            _as_bool_list(p["ref_entailed"], n_r, "ref_entailed"))

                out.relations, out.entailed_pred, out.entailed_ref = self.call(
                    prompts.PROMPT_VERSIONS["relations"],
                    prompts.relations_messages(out.events_pred, reference_events, prediction, reference),
                    prompts.inputs_key(out.events_pred, reference_events, prediction, reference), v_rel,
                )
            else:
                out.relations = [[NONE] * n_r for _ in range(n_g)]
                out.entailed_pred, out.entailed_ref = [False] * n_g, [False] * n_r
            if cfg.video_chatgpt_scores:
                text = out.converted if out.converted else prediction

                def v_scores(p):
                    s = {}
                    for k in prompts.VCG_KEYS:
                        val = float(p[k])
                        if not 0 <= val <= 5:
                            raise ValueError(f"{k} score {val} is outside 0-5")
                        # Video-ChatGPT's evaluation scripts average int(score): a reply of 4.8 counts 4
                        s[k] = float(int(val))
                    return s

                out.scores = self.call(
                    prompts.PROMPT_VERSIONS["scores"], prompts.scores_messages(text, reference),
                    prompts.inputs_key(text, reference), v_scores,
                )
        except JudgeFailure as exc:
            out.failed, out.error = True, str(exc)
        return out

    def info(self) -> dict:
        cfg = self.config
        s = dict(self.stats)
        cost = None
        if cfg.price_prompt_per_mtok is not None or cfg.price_completion_per_mtok is not None:
            cost = (s["prompt_tokens"] * (cfg.price_prompt_per_mtok or 0.0)
                    + s["completion_tokens"] * (cfg.price_completion_per_mtok or 0.0)) / 1e6
        return {
            "name": self.name,
            "model": self.model,
            "base_url": cfg.base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
            "prompt_versions": dict(prompts.PROMPT_VERSIONS),
            "format_conversion": bool(cfg.format_conversion),
            "temperature": cfg.temperature,
            "cache": str(self.cache.path) if self.cache.path else ":memory:",
            "cost_usd": cost,
            **s,
        }

    def close(self) -> None:
        self.cache.close()


def make_judge(judge="offline", **kw):
    """A judge from a name ("offline" / "openai") and keyword settings, or a ready judge object."""
    if not isinstance(judge, str):
        return judge
    if judge == "offline":
        return OfflineJudge(relation_config=kw.pop("relation_config", None), encoder=kw.pop("encoder", None))
    if judge == "openai":
        client = kw.pop("client", None)
        fields = JudgeConfig.__dataclass_fields__
        cfg = kw.pop("judge_config", None) or JudgeConfig(**{k: v for k, v in kw.items() if k in fields and v is not None})
        return OpenAIJudge(cfg, client=client)
    raise DfecError(f"unknown judge {judge!r} (use 'offline' or 'openai')")
