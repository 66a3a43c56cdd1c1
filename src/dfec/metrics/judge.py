"""Judges: who extracts events, classifies event relations and gives the Video-ChatGPT scores.

``Judge`` is a small Protocol; two implementations ship:

* :class:`OfflineJudge` -- no API: rule-based events (:mod:`dfec.metrics.events`) and relations on
  canonical facial events (:mod:`dfec.metrics.relations`, :mod:`dfec.metrics.canonical`). It cannot give the five
  Video-ChatGPT scores (they are reported as ``None``).
* :class:`~dfec.metrics.openai_judge.OpenAIJudge` -- any OpenAI-compatible chat endpoint, in its own
  module :mod:`dfec.metrics.openai_judge` (retries, cache, reply parsing, key redaction). Its names
  stay importable from here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Protocol, Sequence, runtime_checkable

from ..errors import DfecError

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

    def prepare(self, texts: Sequence[str], pairs: Sequence[tuple[str, str]] | None = None) -> None:
        """Embed, in one batched pass, the events the parser cannot read (speed only). With
        ``pairs`` of (prediction, reference) captions, only those that will meet an unreadable
        event on the other side (the fallback decides only such pairs), so a corpus the rules read
        loads no embedding model (and no torch)."""
        if pairs is None:
            self.classifier.warm([e for t in texts for e in self._extract(t)])
            return
        todo: list[str] = []
        for pred, ref in pairs:
            g = self.classifier.needs_embedding(self._extract(pred))
            r = self.classifier.needs_embedding(self._extract(ref))
            if g and r:
                todo += g + r
        self.classifier.warm(todo)

    def explain_events(self, events: Sequence[str]) -> list[str]:
        """How each event was parsed (region, movement, direction, ...), for the per-sample output."""
        return [self.classifier.explain(e) for e in events]

    def judge(self, prediction: str, reference: str, reference_events: list[str]) -> SampleJudgement:
        self.calls += 1
        ev = list(self._extract(prediction))
        matrix = self.classifier.matrix(ev, reference_events)
        ent_g, ent_r = self.classifier.entailment(ev, reference_events, matrix)  # one-way on open directions
        return SampleJudgement(events_pred=ev, relations=matrix, entailed_pred=ent_g, entailed_ref=ent_r)

    def info(self) -> dict:
        cfg = self.classifier.config
        return {
            "name": self.name,
            "model": self.model,
            "prompt_versions": {"events": "rules/v2", "relations": "canonical+minilm-fallback/v4"},
            "relation_config": asdict(cfg),
            "calls": self.calls,
            "api_calls": 0,
            "cache_hits": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
        }


#: the API judge's names, importable from here as before (defined in :mod:`dfec.metrics.openai_judge`)
_OPENAI_NAMES = ("OpenAIJudge", "JudgeConfig", "JudgeCache", "default_cache_path", "parse_json_reply")


def __getattr__(name):
    if name in _OPENAI_NAMES:
        from . import openai_judge

        return getattr(openai_judge, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_judge(judge="offline", **kw):
    """A judge from a name ("offline" / "openai") and keyword settings, or a ready judge object."""
    if not isinstance(judge, str):
        return judge
    if judge == "offline":
        return OfflineJudge(relation_config=kw.pop("relation_config", None), encoder=kw.pop("encoder", None))
    if judge == "openai":
        client = kw.pop("client", None)
        from .openai_judge import JudgeConfig, OpenAIJudge

        cfg = kw.pop("judge_config", None) or JudgeConfig(**{k: v for k, v in kw.items()
                                                             if k in JudgeConfig.__dataclass_fields__ and v is not None})
        return OpenAIJudge(cfg, client=client)
    raise DfecError(f"unknown judge {judge!r} (use 'offline' or 'openai')")
