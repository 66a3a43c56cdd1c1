"""Versioned judge prompts (every cached reply is keyed by the version of the prompt that made it).

Bump a version whenever its text changes: old cache entries then stop matching instead of being
reused for a different question. Three calls per sample at most (reference extraction is shared):

1. ``PRED_EVENTS`` (+ the paper's format-conversion step): list the prediction's events and, when
   enabled, rewrite the prediction into the reference's style without changing its content.
2. ``RELATIONS``: the whole Same / Opposite / No-relation matrix of one sample in one call (TEM
   Algorithm 1, step 2), plus the two AutoDQ entailment lists.
3. ``SCORES``: the five Video-ChatGPT scores (Correctness, Detail, Context, Temporal,
   Consistency; 0-5) of the (converted) prediction against the reference, in one call.

``REF_EVENTS`` extracts the reference's events once per reference text and judge model, and the
result is reused for every model scored against it.

Against Video-ChatGPT's quantitative evaluation (``evaluate_benchmark_{1..5}_*.py``: one GPT call per
criterion, question + correct answer + predicted answer, an integer score 0-5 averaged as
``int(score)``): the five criteria are asked in one call here (the issue's budget of three calls per
sample), scores are truncated to integers as there, and there is no question (a caption, not a QA
pair). Video-ChatGPT's Consistency compares the answers to two paraphrased questions; a caption
benchmark has one answer per video, so ``consistency`` here asks for internal coherence and
agreement with the reference throughout, and it is not a column of the paper's Table 1.
"""
from __future__ import annotations

import json

__all__ = ["PROMPT_VERSIONS", "ref_events_messages", "pred_events_messages", "relations_messages",
           "scores_messages", "VCG_KEYS"]

PROMPT_VERSIONS = {
    "ref_events": "ref_events/v1",
    "pred_events": "pred_events/v1",
    "pred_events_convert": "pred_events_convert/v1",
    "relations": "relations/v1",
    "scores": "scores/v1",
}

#: the five Video-ChatGPT scores, in the paper's column order
VCG_KEYS = ("correctness", "detail", "context", "temporal", "consistency")

_SYSTEM = (
    "You are a careful evaluator of captions that describe how a person's face changes during a video. "
    "Answer with one JSON object only, no prose, no code fences."
)

_EVENT_RULES = (
    "An event is one facial action or change of one face part or of the head (for example 'raises the "
    "eyebrows', 'blinks', 'the mouth opens slightly', 'turns the head to the left', 'looks down'). "
    "List the events in the order they happen. Ignore descriptions of appearance (hair, skin, age, clothing) "
    "and sentences saying nothing changes. Keep each event short and faithful to the caption's wording, "
    "including direction (left/right, up/down) and negation."
)


def _msgs(user: str) -> list[dict]:
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def ref_events_messages(caption: str) -> list[dict]:
    return _msgs(
        f"{_EVENT_RULES}\n\nCaption:\n{caption}\n\n"
        'Reply as {"events": ["event 1", "event 2", ...]}.'
    )


def pred_events_messages(prediction: str, reference: str | None = None, convert: bool = False) -> list[dict]:
    if not convert:
        return _msgs(
            f"{_EVENT_RULES}\n\nCaption:\n{prediction}\n\n"
            'Reply as {"events": ["event 1", "event 2", ...]}.'
        )
    return _msgs(
        "Two tasks on the PREDICTED caption below.\n"
        f"(a) {_EVENT_RULES}\n"
        "(b) Format conversion: rewrite the PREDICTED caption in the style and structure of the REFERENCE "
        "caption (same kind of opening, time phrases such as 'At the beginning of the video', sentence "
        "layout) WITHOUT changing, adding or removing any content of the prediction. Do not copy facts from "
        "the reference.\n\n"
        f"REFERENCE (style only):\n{reference}\n\nPREDICTED:\n{prediction}\n\n"
        'Reply as {"events": ["event 1", ...], "converted": "the rewritten prediction"}.'
    )


def relations_messages(events_pred: list[str], events_ref: list[str], prediction: str, reference: str) -> list[dict]:
    g = "\n".join(f"G{i + 1}. {e}" for i, e in enumerate(events_pred))
    r = "\n".join(f"R{j + 1}. {e}" for j, e in enumerate(events_ref))
    return _msgs(
        "Compare the events of a GENERATED caption (G) with the events of a REFERENCE caption (R).\n"
        "1. For every pair (Gi, Rj) decide the relation: 'S' (Same: both describe the same facial action, "
        "possibly in different words or with slightly different intensity), 'O' (Opposite: the same face part "
        "doing the contrary, e.g. raise vs lower, open vs close, left vs right, or one negates the other), "
        "'N' (No relation).\n"
        "2. AutoDQ entailment: for each Gi, is it entailed by the REFERENCE text (true/false)? For each Rj, is "
        "it entailed by the GENERATED text (true/false)?\n\n"
        f"GENERATED text:\n{prediction}\n\nGENERATED events:\n{g}\n\n"
        f"REFERENCE text:\n{reference}\n\nREFERENCE events:\n{r}\n\n"
        f'Reply as {{"relations": [[...{len(events_ref)} letters for G1...], ... {len(events_pred)} rows], '
        f'"pred_entailed": [{len(events_pred)} booleans], "ref_entailed": [{len(events_ref)} booleans]}}.'
    )


def scores_messages(prediction: str, reference: str) -> list[dict]:
    return _msgs(
        "Evaluate a PREDICTED description of a video against the REFERENCE (correct) description, the way "
        "Video-ChatGPT's quantitative evaluation does. Give five integer scores from 0 (worst) to 5 (best):\n"
        "- correctness: factual accuracy of the prediction; penalise facial actions that contradict or are "
        "not in the reference.\n"
        "- detail: how completely the prediction covers the reference's details (face parts, directions, "
        "intensities).\n"
        "- context: whether the prediction captures the overall context and emotional theme of the reference.\n"
        "- temporal: whether the order of the facial changes matches the reference's time order.\n"
        "- consistency: whether the prediction is coherent and free of self-contradictions, and consistent "
        "with the reference throughout.\n\n"
        f"REFERENCE:\n{reference}\n\nPREDICTED:\n{prediction}\n\n"
        'Reply as {"correctness": n, "detail": n, "context": n, "temporal": n, "consistency": n}.'
    )


def inputs_key(*parts) -> str:
    """Stable text of a prompt's inputs (part of the cache key)."""
    return json.dumps(parts, ensure_ascii=False, sort_keys=True)
