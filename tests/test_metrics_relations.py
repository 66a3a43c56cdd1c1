"""Offline Same / Opposite / No-relation classifier: lexicon, negation, agreement with hand labels."""
from __future__ import annotations

import json
import os
from collections import Counter

import pytest

import tempfile as _tempfile

# keep the test runs out of ~/.cache; a shared temp file also makes reruns faster
os.environ.setdefault("DFEC_EMBED_CACHE", os.path.join(_tempfile.gettempdir(), "dfec-test-embeddings.sqlite"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from dfec.metrics.relations import (NONE, OPPOSITE, SAME, OfflineRelationClassifier, facial_signature,
                                    get_encoder, normalise_relation)

#: agreement floors (measured: dev 0.94, held-out 0.95; see tests/data/relation_pairs.jsonl)
FLOOR_ALL = 0.85
FLOOR_HELDOUT = 0.82


@pytest.fixture(scope="module")
def clf():
    return OfflineRelationClassifier()


def _pairs(test_data):
    return [json.loads(line) for line in (test_data / "relation_pairs.jsonl").read_text().splitlines() if line.strip()]


def test_lexicon_reads_face_parts_and_directions():
    s = facial_signature("he raises his eyebrows")
    assert s.primary == "brows" and s.axes["brows"]["vertical"] == 1
    s = facial_signature("her eyes look down to the left")
    assert s.primary == "gaze" and s.axes["gaze"] == {"vertical": -1, "lateral": 1}
    s = facial_signature("the opening of her mouth narrows")
    assert s.axes["mouth"]["open"] == -1  # "the opening" is a noun, "narrows" the movement
    s = facial_signature("his head sways from side to side")
    assert "lateral" not in s.axes.get("head", {}) and "oscillate" in s.actions
    assert facial_signature("her left eyebrow lifts").sides == {"brows": "left"}
    assert facial_signature("she does not blink").negated
    assert facial_signature("his head remains still").negated
    assert not facial_signature("her eyes still look ahead").negated
    assert normalise_relation("Opposite") == OPPOSITE and normalise_relation("S") == SAME
    assert normalise_relation("no relation") == NONE


@pytest.mark.parametrize("a, b", [
    ("she blinks", "she does not blink"),
    ("he smiles", "he doesn't smile"),
    ("he starts speaking", "he stops speaking"),
    ("her head moves to the left", "her head remains still"),
])
def test_negated_events_are_opposite(clf, a, b):
    assert clf.relation(a, b) == OPPOSITE
    assert clf.relation(b, a) == OPPOSITE


@pytest.mark.parametrize("a, b, rel", [
    ("he raises his eyebrows", "he lowers his eyebrows", OPPOSITE),
    ("her mouth opens", "her mouth closes", OPPOSITE),
    ("he turns his head to the left", "he turns his head to the right", OPPOSITE),
    ("her eyes widen", "her eyes narrow", OPPOSITE),
    ("his lips tighten", "his lips relax", OPPOSITE),
    ("he raises his eyebrows", "his eyebrows lift slightly", SAME),
    ("she turns her head to the left", "her head turns slightly to the left", SAME),
    ("he raises his eyebrows", "his mouth opens", NONE),
    ("he turns his head to the left", "his eyes look to the right", NONE),
    ("his left eyebrow raises", "his right eyebrow raises", NONE),
])
def test_antonyms_and_synonyms(clf, a, b, rel):
    assert clf.relation(a, b) == rel


def test_relation_matrix_shape_and_identity(clf):
    g = ["he blinks", "his mouth opens", "he turns his head to the left"]
    r = ["his mouth closes", "he blinks"]
    m = clf.matrix(g, r)
    assert len(m) == 3 and all(len(row) == 2 for row in m)
    assert m[0][1] == SAME and m[1][0] == OPPOSITE and m[2] == [NONE, NONE]
    assert clf.matrix([], r) == [] and clf.matrix(g, []) == [[], [], []]


def test_model_loaded_once_per_process():
    from dfec.metrics import relations

    e1, e2 = get_encoder(), get_encoder()
    assert e1 is e2
    import uuid

    e1.encode([f"he blinks {uuid.uuid4().hex[:8]} times"])  # a text no cache holds: the model loads
    assert len(relations._MODELS) == 1
    OfflineRelationClassifier().relation(f"he smiles {uuid.uuid4().hex[:6]}", "she smiles")
    get_encoder().encode([f"new text {uuid.uuid4().hex}"])
    assert len(relations._MODELS) == 1  # one model per process, however many classifiers


def test_hand_labelled_pairs_are_real_and_balanced(test_data, shared_data):
    pairs = _pairs(test_data)
    assert len(pairs) >= 150
    labels = Counter(p["label"] for p in pairs)
    assert set(labels) == {SAME, OPPOSITE, NONE} and min(labels.values()) >= 30
    refs = {str(r["id"]): r["caption"] for r in json.loads((shared_data / "fecbench_test_captions.json").read_text())}
    from dfec.metrics.events import extract_events

    for p in pairs[:40]:  # every pair is made of events extracted from the real references it names
        assert p["a"] in extract_events(refs[p["ref_ids"][0]])
        assert p["b"] in extract_events(refs[p["ref_ids"][1]])


def test_agreement_with_hand_labels(clf, test_data, capsys):
    pairs = _pairs(test_data)
    enc = clf.encoder
    va = enc.encode([p["a"] for p in pairs])
    vb = enc.encode([p["b"] for p in pairs])
    sims = (va * vb).sum(1)
    hits = Counter()
    totals = Counter()
    per_class = Counter()
    class_tot = Counter()
    for p, s in zip(pairs, sims):
        pred = clf.classify(p["a"], p["b"], float(s))
        ok = pred == p["label"]
        for key in ("all", p["split"]):
            totals[key] += 1
            hits[key] += ok
        class_tot[p["label"]] += 1
        per_class[p["label"]] += ok
    acc = {k: hits[k] / totals[k] for k in totals}
    recall = {k: per_class[k] / class_tot[k] for k in class_tot}
    with capsys.disabled():
        print(f"\noffline relation agreement: all {acc['all']:.3f} (n={totals['all']}), dev {acc['dev']:.3f} "
              f"(n={totals['dev']}), held-out {acc['heldout']:.3f} (n={totals['heldout']}); per-class recall "
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(recall.items())))
    assert acc["all"] >= FLOOR_ALL
    assert acc["heldout"] >= FLOOR_HELDOUT
    assert min(recall.values()) >= 0.75


def test_embeddings_persist_across_encoders(tmp_path):
    from dfec.metrics.relations import MiniLMEncoder

    path = str(tmp_path / "emb.sqlite")
    first = MiniLMEncoder(cache_path=path)
    v1 = first.encode(["her eyebrows rise", "he blinks twice"])
    assert first.n_encoded == 2
    second = MiniLMEncoder(cache_path=path)  # a later run: vectors come from the SQLite file
    v2 = second.encode(["he blinks twice", "her eyebrows rise"])
    assert second.n_encoded == 0
    assert v2[0] == pytest.approx(v1[1]) and v2[1] == pytest.approx(v1[0])
    assert abs(float(v1[0] @ v1[0]) - 1.0) < 1e-4  # normalised
