"""FEC-Bench metrics: TEM (Algorithm 1), AutoDQ, CIDEr-D, ROUGE-L and the Video-ChatGPT judge scores.

Public entry points (imported lazily, so ``import dfec.metrics`` stays light):

* :func:`dfec.metrics.events.extract_events` -- offline, rule-based, time-ordered event clauses.
* :func:`dfec.metrics.scorer.score` -- score ``{id: caption}`` predictions against references.
* :func:`dfec.metrics.report.write_results` -- results JSON + Markdown table.
* :class:`dfec.metrics.judge.OfflineJudge` / :class:`dfec.metrics.judge.OpenAIJudge` -- judges.
"""
from __future__ import annotations

__all__ = ["extract_events", "score", "write_results", "OfflineJudge", "OpenAIJudge", "JudgeConfig"]

_WHERE = {
    "extract_events": "events",
    "score": "scorer",
    "write_results": "report",
    "OfflineJudge": "judge",
    "OpenAIJudge": "judge",
    "JudgeConfig": "judge",
}


def __getattr__(name):
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
