"""Offline Same / Opposite / No-relation classifier: canonical rules, fallback, agreement with hand labels."""
from __future__ import annotations

import json
import os
import tempfile as _tempfile
from collections import Counter

import pytest

# keep the test runs out of ~/.cache; a shared temp file also makes reruns faster
os.environ.setdefault("DFEC_EMBED_CACHE", os.path.join(_tempfile.gettempdir(), "dfec-test-embeddings.sqlite"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from dfec.metrics.relations import (NONE, OPPOSITE, SAME, OfflineRelationClassifier, get_encoder,  # noqa: E402
                                    normalise_relation)

#: agreement floors on the frozen splits of tests/data/relation_pairs.jsonl (measured 2026-12-02 with
#: the v5 slot-subsumption pairs: dev 0.990 (n=668), test 0.955 (n=491); test recall same 0.96,
#: opposite 0.97, none 0.94; v5 alone: dev 1.000 (n=32), test 1.000 (n=51), where the rules without
#: open direction slots scored 0.594 / 0.549)
#: (after the review fixes, with v6: dev 0.987 (n=681), test 0.953 (n=529); test recall same 0.95,
#: opposite 0.97, none 0.95)
FLOOR_DEV, FLOOR_TEST = 0.97, 0.93
FLOOR_TEST_RECALL = {SAME: 0.90, OPPOSITE: 0.94, NONE: 0.92}
FLOOR_V5_TEST = 0.90
#: batch v6 (labelled before the review fixes): test 0.684 before them, 0.921 after (n=38); its
#: drawn pairs alone (``origin`` "drawn", the honest figure): test 0.846 before, 0.885 after (n=26)
FLOOR_V6_TEST, FLOOR_V6_DRAWN_TEST = 0.88, 0.84
#: batch v7 (labelled before the judge3 changes): its drawn pairs (the fresh check) 0.690 before them, 0.966
#: after (test, n=29); its pairs written around the last stop's limits ("case") 0.600 before, 1.000 after
FLOOR_V7_DRAWN_TEST = 0.90


@pytest.fixture(scope="module")
def clf():
    return OfflineRelationClassifier()


def _pairs(test_data):
    return [json.loads(line) for line in (test_data / "relation_pairs.jsonl").read_text().splitlines() if line.strip()]


def test_normalise_relation():
    assert normalise_relation("Opposite") == OPPOSITE and normalise_relation("S") == SAME
    assert normalise_relation("no relation") == NONE


@pytest.mark.parametrize("a, b", [
    ("she blinks", "she does not blink"),
    ("he smiles", "he doesn't smile"),
    ("he starts speaking", "he stops speaking"),
    ("her head moves to the left", "her head remains still"),
    ("wrinkles appear on his forehead", "the forehead wrinkles disappear"),
    ("his eyes are wide open", "his eyes are not fully open"),
])
def test_negated_events_are_opposite(clf, a, b):
    assert clf.relation(a, b) == OPPOSITE
    assert clf.relation(b, a) == OPPOSITE


@pytest.mark.parametrize("a, b, rel", [
    # reversed direction on the same region and movement
    ("he raises his eyebrows", "he lowers his eyebrows", OPPOSITE),
    ("her mouth opens", "her mouth closes", OPPOSITE),
    ("he turns his head to the left", "he turns his head to the right", OPPOSITE),
    ("her eyes widen", "her eyes narrow", OPPOSITE),
    ("his lips tighten", "his lips relax", OPPOSITE),
    ("he raises his eyebrows", "his brows furrow", OPPOSITE),
    ("the furrow between her brows relaxes", "her brows knit", OPPOSITE),
    ("the corners of her mouth turn down", "she smiles", OPPOSITE),
    ("his gaze drops", "he looks up", OPPOSITE),
    # paraphrases that share no content word
    ("she smiles", "the corners of her mouth turn upwards", SAME),
    ("begins to talk", "starts to speak", SAME),
    ("he frowns", "wrinkles appear between his eyebrows", SAME),
    ("her lips part", "her mouth opens slightly", SAME),
    ("he looks to the left", "his gaze shifts leftwards", SAME),
    ("his eyelids lift", "his eyes widen", SAME),
    ("she lowers her head", "her chin drops", SAME),
    ("he shakes his head", "his head sways from side to side", SAME),
    # intensity ignored; one side is Same as the unsided part
    ("he raises his eyebrows", "his eyebrows lift slightly", SAME),
    ("he raises his left eyebrow", "his eyebrows go up", SAME),
    # a different region or movement; left vs right part
    ("he raises his eyebrows", "his mouth opens", NONE),
    ("he turns his head to the left", "his eyes look to the right", NONE),
    ("his left eyebrow raises", "his right eyebrow raises", NONE),
    ("she tilts her head to the left", "she turns her head to the left", NONE),
    ("he nods", "he shakes his head", NONE),
    ("her mouth opens", "she begins to speak", NONE),
    # an event of several actions: Same on a shared action, Opposite on a reversed one (relation_pairs.md)
    ("her mouth opens to speak", "she begins to speak", SAME),
    ("she speaks with her mouth closed", "her mouth opens to speak", OPPOSITE),
    ("she blinks", "her eyes close", NONE),
])
def test_canonical_relations(clf, a, b, rel):
    assert clf.relation(a, b) == rel
    assert clf.relation(b, a) == rel  # the rule is symmetric


def test_relation_matrix_shape_and_identity(clf):
    g = ["he blinks", "his mouth opens", "he turns his head to the left"]
    r = ["his mouth closes", "he blinks"]
    m = clf.matrix(g, r)
    assert len(m) == 3 and all(len(row) == 2 for row in m)
    assert m[0][1] == SAME and m[1][0] == OPPOSITE and m[2] == [NONE, NONE]
    assert clf.matrix([], r) == [] and clf.matrix(g, []) == [[], [], []]


class _CountingEncoder:
    """A stand-in encoder that records what it is asked to embed."""

    def __init__(self):
        self.seen: list[str] = []

    def encode(self, texts):
        import numpy as np

        self.seen.extend(texts)
        out = np.zeros((len(texts), 4), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, hash(t.split()[-1]) % 4] = 1.0  # same last word -> cosine 1
        return out


def test_embeddings_only_for_phrases_no_rule_can_read():
    enc = _CountingEncoder()
    clf = OfflineRelationClassifier(encoder=enc)
    m = clf.matrix(["he blinks", "it is a sunny day"], ["she blinks", "what a sunny day", "his mouth opens"])
    assert m == [[SAME, NONE, NONE], [NONE, SAME, NONE]]  # the fallback decided only the unreadable pair
    assert set(enc.seen) == {"it is a sunny day", "what a sunny day"}
    assert clf.explain("he blinks").startswith("eyes blink") and "fallback" in clf.explain("it is a sunny day")


def test_model_loaded_once_per_process():
    from dfec.metrics import encoder

    e1, e2 = get_encoder(), get_encoder()
    assert e1 is e2
    import uuid

    e1.encode([f"he blinks {uuid.uuid4().hex[:8]} times"])  # a text no cache holds: the model loads
    assert len(encoder._MODELS) == 1
    OfflineRelationClassifier().relation(f"zz {uuid.uuid4().hex[:6]}", f"yy {uuid.uuid4().hex[:6]}")
    get_encoder().encode([f"new text {uuid.uuid4().hex}"])
    assert len(encoder._MODELS) == 1  # one model per process, however many classifiers


def test_hand_labelled_pairs_are_real_and_split(test_data, shared_data):
    pairs = _pairs(test_data)
    assert len(pairs) >= 600
    labels = Counter((p["split"], p["label"]) for p in pairs)
    assert all(labels[(s, c)] >= 70 for s in ("dev", "test") for c in (SAME, OPPOSITE, NONE))
    import hashlib

    for p in pairs:  # the split is the frozen hash rule of tests/data/relation_pairs.md (v4: all dev;
        # v5: dev when the hash is 0 mod 3, else test)
        h = int(hashlib.sha1(f"{p['a']}\t{p['b']}".encode()).hexdigest(), 16)
        if p["batch"] == "v5":
            assert p["split"] == ("dev" if h % 3 == 0 else "test")
        elif p["batch"] in ("v6", "v7"):  # v6, v7: dev when the hash is 0 mod 4
            assert p["split"] == ("dev" if h % 4 == 0 else "test")
        else:
            assert p["split"] == ("dev" if p["batch"] == "v4" else "test" if h % 2 else "dev")
    assert sum(p["batch"] == "v5" for p in pairs) >= 80
    assert sum(p["batch"] == "v6" for p in pairs) >= 50
    assert sum(p["batch"] == "v4" for p in pairs) >= 150
    refs = {str(r["id"]): r["caption"] for r in json.loads((shared_data / "fecbench_test_captions.json").read_text())}
    from dfec.metrics.events import extract_events

    # v6 says which pairs were drawn (32, two references each) and which were written around the
    # review's cases (19, fewer references); no other batch has the field
    origin = Counter(p.get("origin") for p in pairs if p["batch"] == "v6")
    assert origin == {"drawn": 32, "review": 19}
    # v7 likewise: 38 drawn (benchmarks/draw_relation_pairs.py), 30 written around the known limits
    # of the last stop ("case": caption wording, no reference named)
    assert Counter(p.get("origin") for p in pairs if p["batch"] == "v7") == {"drawn": 38, "case": 30}
    assert all("origin" not in p for p in pairs if p["batch"] not in ("v6", "v7"))
    assert all(len(p["ref_ids"]) == 2 for p in pairs if p.get("origin") == "drawn")
    assert all(len(p["ref_ids"]) < 2 for p in pairs if p.get("origin") == "review")
    assert all(not p["ref_ids"] for p in pairs if p.get("origin") == "case")
    assert not any("61" in p["ref_ids"] for p in pairs if p["batch"] == "v7")  # clip 61 is held out
    new = [p for p in pairs if p["batch"] in ("v2", "v3", "v4", "v5") or p.get("origin") == "drawn"]
    assert len(new) >= 800
    import re

    # every pair is made of phrases of the real references it names: the extractor's events when they
    # were drawn (it has changed since, so a phrase may now be split differently; its words must then
    # all be words of that reference)
    for p in new:
        for text, rid in ((p["a"], p["ref_ids"][0]), (p["b"], p["ref_ids"][1])):
            words = set(re.findall(r"[a-z'-]+", refs[rid].lower()))
            assert text in extract_events(refs[rid]) or set(text.split()) <= words, (text, rid)


def test_agreement_with_hand_labels(clf, test_data, capsys):
    pairs = _pairs(test_data)
    hits, totals, per_class, class_tot = Counter(), Counter(), Counter(), Counter()
    for p in pairs:
        ok = clf.relation(p["a"], p["b"]) == p["label"]
        totals[p["split"]] += 1
        hits[p["split"]] += ok
        if p["split"] == "test":
            class_tot[p["label"]] += 1
            per_class[p["label"]] += ok
    acc = {k: hits[k] / totals[k] for k in totals}
    recall = {k: per_class[k] / class_tot[k] for k in class_tot}
    with capsys.disabled():
        print(f"\noffline relation agreement: dev {acc['dev']:.3f} (n={totals['dev']}), test {acc['test']:.3f} "
              f"(n={totals['test']}); test recall " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(recall.items())))
    assert acc["dev"] >= FLOOR_DEV
    assert acc["test"] >= FLOOR_TEST
    for k, floor in FLOOR_TEST_RECALL.items():
        assert recall[k] >= floor, (k, recall[k])
    v5 = [p for p in pairs if p["batch"] == "v5" and p["split"] == "test"]
    v5_acc = sum(clf.relation(p["a"], p["b"]) == p["label"] for p in v5) / len(v5)
    assert v5_acc >= FLOOR_V5_TEST, v5_acc  # a direction / side / degree left open on one side
    v6 = [p for p in pairs if p["batch"] == "v6" and p["split"] == "test"]
    v6_acc = sum(clf.relation(p["a"], p["b"]) == p["label"] for p in v6) / len(v6)
    assert v6_acc >= FLOOR_V6_TEST, v6_acc  # the fresh pairs after the review
    drawn = [p for p in v6 if p["origin"] == "drawn"]
    drawn_acc = sum(clf.relation(p["a"], p["b"]) == p["label"] for p in drawn) / len(drawn)
    assert drawn_acc >= FLOOR_V6_DRAWN_TEST, drawn_acc  # those not written around the review's cases
    v7 = [p for p in pairs if p["batch"] == "v7" and p["split"] == "test" and p["origin"] == "drawn"]
    v7_acc = sum(clf.relation(p["a"], p["b"]) == p["label"] for p in v7) / len(v7)
    assert v7_acc >= FLOOR_V7_DRAWN_TEST, v7_acc


def test_embeddings_persist_across_encoders(tmp_path):
    from dfec.metrics.encoder import MiniLMEncoder

    path = str(tmp_path / "emb.sqlite")
    first = MiniLMEncoder(cache_path=path)
    v1 = first.encode(["her eyebrows rise", "he blinks twice"])
    assert first.n_encoded == 2
    second = MiniLMEncoder(cache_path=path)  # a later run: vectors come from the SQLite file
    v2 = second.encode(["he blinks twice", "her eyebrows rise"])
    assert second.n_encoded == 0
    assert v2[0] == pytest.approx(v1[1]) and v2[1] == pytest.approx(v1[0])
    assert abs(float(v1[0] @ v1[0]) - 1.0) < 1e-4  # normalised


# --------------------------------------------------------------------------------------------
# Slots one phrase leaves open (direction, side, degree): Same; Opposite only when both state them
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, rel", [
    # a direction left open on one side: the more specific event is the same event
    ("their head tilts to the right", "she tilts her head", SAME),
    ("her head tilts slightly", "head tilts to the left", SAME),
    ("she tilts her head to the side", "her head slightly tilted to the left", SAME),
    ("his head slightly tilts", "his head tilts slightly forward", SAME),
    ("he turns his head", "the woman turns her head to the right", SAME),
    ("he turns his head", "her head moves to the right", SAME),
    ("her eyeballs move", "her eyeballs move to the left", SAME),
    ("his eyeballs move slightly", "his gaze shifts to the lower left", SAME),
    ("his head does not tilt", "his head does not tilt", SAME),
    # a side or a degree left open (unchanged rules, both directions of the slot)
    ("his left eyebrow raises", "his eyebrows raise", SAME),
    ("the right corner of her mouth lifts", "the corners of her mouth lift", SAME),
    ("her eyes open wide", "her eyes open", SAME),
    ("his eyebrows raise slightly", "his eyebrows raise", SAME),
    # both state the slot: the same value is Same, a different one Opposite
    ("she tilts her head to the left", "her head tilts slightly to the left", SAME),
    ("she tilts her head to the left", "she tilts her head to the right", OPPOSITE),
    ("her eyeballs move to the left", "her eyeballs move to the right", OPPOSITE),
    ("he tilts his head forward", "he tilts his head back", OPPOSITE),
    ("his left eyebrow raises", "his left eyebrow lowers", OPPOSITE),
    ("her eyes open wide", "her eyes narrow slightly", OPPOSITE),
    # an open direction against a negated movement of that kind: Opposite; against a held-still head too
    ("his head does not tilt", "his head tilts to the right", OPPOSITE),
    ("her head remains still", "she tilts her head", OPPOSITE),
    # unrelated: another kind of movement, another part, a generic movement, a sway, a gaze direction
    ("she tilts her head", "he turns his head to the left", NONE),
    ("he turns his head", "she tilts her head to the right", NONE),
    ("he turns his head", "he tilts his head forward", NONE),
    ("she tilts her head", "she lowers her head", NONE),
    ("his head is slightly tilted", "his head tilts slightly from side to side", NONE),
    # an open eyeball movement is filled by a look too (a look is a gaze event; review S1)
    ("his eyes look down", "her eyeballs move", SAME),
    ("she tilts her head", "she raises her eyebrows", NONE),
    ("his left eyebrow raises", "his right eyebrow raises", NONE),
    # a turn to the front names its target (the centre): no open direction to fill
    ("he turns his head back to the front", "he turns his head to the left", NONE),
    ("turns a little towards the front", "his head returns to the center", SAME),
])
def test_open_slots_subsume(clf, a, b, rel):
    assert clf.relation(a, b) == rel
    assert clf.relation(b, a) == rel


@pytest.mark.parametrize("a, b, rel", [
    # B8: "forward" is a turn's target only when the turn governs it; next to a lean / tilt it is down
    ("she turns and leans forward", "head leans forward", SAME),
    ("she turns and leans forward", "her head returns to the center", NONE),
    ("the head turns, tilting forward", "his head tilts downward", SAME),
    ("he leans forward and turns his head to the left", "leans forward slightly", SAME),
    ("he leans forward and turns his head to the left", "he turns his head to the right", OPPOSITE),
    ("she turns her head forward", "her head returns to the center", SAME),  # governed: still the centre
    # B9: only the negated side may leave the direction open
    ("she tilts her head", "she does not tilt her head to the left", NONE),
    ("she does not tilt her head to the left", "her head tilts to the right", NONE),
    ("she does not tilt her head to the left", "her head tilts to the left", OPPOSITE),
    ("she does not tilt her head", "her head tilts to the left", OPPOSITE),
    # B10: a return to the normal position, the side of the video, the middle are directions
    ("her head tilts slightly back to the normal position", "her head tilts to the left", NONE),
    ("her head tilts slightly back to the normal position", "her head tilts to the right", NONE),
    ("her head tilts slightly back to the normal position", "the head returns to the center", SAME),
    ("the man's face is turned towards the left side of the video", "turns his head to the right", OPPOSITE),
    ("the man's face is turned towards the left side of the video", "he turns his head to the left", SAME),
    ("his eyes glance towards the right side of the camera", "her eyes look to the right", SAME),
    ("her eyes shift towards the middle", "eyes move to the left", NONE),
    ("her eyes shift towards the middle", "her eyes look straight ahead", SAME),
    ("the left side of his mouth rises", "the left corner of his mouth lifts", SAME),  # still a part's side
    # S1: an open eye movement is filled by any stated gaze direction, a look included
    ("his eyes move", "his eyes look to the left", SAME),
    ("his eyes move", "he looks down", SAME),
    ("his eyes move", "she turns her head to the left", NONE),
])
def test_review_fixes(clf, a, b, rel):
    assert clf.relation(a, b) == rel
    assert clf.relation(b, a) == rel


@pytest.mark.parametrize("a, b, rel", [
    # a plain head movement is no Same of a turn, tilt or nod (relabelled none, review 4: Same let one vague
    # clause match every head event of a reference); the head held still is its opposite
    ("her head moves slightly", "her head tilts to the right", NONE),
    ("his head moves", "their head turns to the left", NONE),
    ("his head moves", "their head nods", NONE),
    ("slight head movements", "his head turns to the right", NONE),
    ("slight head movements", "his head moves", SAME),
    ("the man's head hardly makes any significant movements", "his head turns to the right", OPPOSITE),
    ("his head moves", "his head stays still", OPPOSITE),
    ("his head moves", "the person blinks", NONE),
    ("his head moves", "their head turns back to the center", NONE),  # a position, not a movement kind
    ("her head makes a subtle rocking motion", "her head sways from side to side", SAME),
    ("her head makes a subtle rocking motion", "her head turns to the left", NONE),  # a sway is no one turn
    # "dart" is an eyeball movement: direction open unless stated
    ("his eyes dart", "their eyes turn to the right", SAME),
    ("his eyes dart around", "looking to the left", SAME),
    ("his eyes dart to the left", "their eyes turn to the right", OPPOSITE),
    ("his eyes dart", "his gaze stays steady", OPPOSITE),
    ("his eyes dart", "the person blinks", NONE),
    # the face in or out of view
    ("their face is no longer visible", "his face is no longer in view", SAME),
    ("their face is no longer visible", "his face leaves the frame", SAME),
    ("their face is no longer visible", "her face is visible again", OPPOSITE),
    ("their face is no longer visible", "his face turns to the left", NONE),
    ("their face is no longer visible", "their mouth closes", NONE),
    # a hand over a part covers it; it is no mouth movement
    ("her hand still over her mouth", "she covers her mouth with her hand", SAME),
    ("her hand still over her mouth", "his mouth is covered", SAME),
    ("her hand still over her mouth", "she lowers her hand from her mouth", OPPOSITE),
    ("her hand still over her mouth", "their mouth is closed", NONE),
    # the body is no face region; a head moving with it still is the head
    ("back to the center", "her back facing the camera", NONE),
    ("her body shifts", "head slightly nodding up and down", NONE),
    ("his head and shoulders shake", "his head shakes", SAME),
    # already right before judge v4, kept so: the head back ahead, and side-to-side against one direction
    ("turns his head back to the front", "their head turns back to the center", SAME),
    ("he faces forward", "their head turns back to the center", SAME),
    ("turns back to face forward", "their head straightens", SAME),
    ("he straightens his head", "their head tilts to the right", NONE),
    ("his head swaying from side to side", "their head tilts to the left", NONE),
    ("he turns his head from side to side", "their head turns to the left", NONE),
    ("his head swaying from side to side", "he turns his head from side to side", SAME),
    # "face" is a noun here, not the verb "to face" (which made the muscles' lift a head lift)
    ("the muscles of her face lift", "he tilts his head slightly to the upper right", NONE),
])
def test_judge3_limits(clf, a, b, rel):
    assert clf.relation(a, b) == rel
    assert clf.relation(b, a) == rel


def test_limits_parse_as_stated():
    from dfec.metrics.canonical import parse_event

    (a,) = parse_event("their face is no longer visible")
    assert (a.region, a.axes, a.negated) == ("face", {"visible": 1}, True)
    assert [(x.region, x.axes) for x in parse_event("her hand still over her mouth")] == [("mouth", {"cover": 1})]
    assert parse_event("covering the lower teeth") == []  # a lip over the teeth: no hand
    assert parse_event("there are no pronounced facial muscle movements") == []  # no part named: not the head
    assert parse_event("her body sways slightly") == []
    (a,) = parse_event("his eyes dart")
    assert (a.region, a.axes, a.kind) == ("gaze", {"shift": 0}, "move")


def test_return_words_need_their_context():
    from dfec.metrics.canonical import parse_event

    # "middle" is a direction only after to / towards; a return to "their original position" has no part
    assert parse_event("the focus is on the facial expressions of the woman in the middle") == []
    assert parse_event("they return to their original position") == []
    (a,) = parse_event("his head gradually returns to a neutral position")
    assert (a.region, a.axes) == ("head", {"center": 1})


def test_offline_judge_version_names_the_rules():
    # the relation rules changed (open slots, review fixes): results record which rules judged them
    from dfec.metrics.judge import OfflineJudge

    assert OfflineJudge(encoder=_CountingEncoder()).info()["prompt_versions"]["relations"] == \
        "canonical+minilm-fallback/v4"


def test_open_direction_is_shown_and_filled():
    from dfec.metrics.canonical import parse_event

    (a,) = parse_event("she tilts her head")
    assert (a.region, a.axes, a.kind) == ("head", {"roll": 0}, "tilt")
    (a,) = parse_event("tilts her head slightly to the right")
    assert (a.axes, a.kind) == ({"roll": -1}, "tilt")  # the direction filled the open slot
    (a,) = parse_event("he tilts his head forward")
    assert (a.axes, a.kind) == ({"pitch": -1}, "tilt")  # no open slot left beside a stated direction
    assert parse_event("her head moves slightly")[0].axes == {"move": 1}  # a generic movement: no kind
    assert "direction open" in OfflineRelationClassifier().explain("he turns his head")


@pytest.mark.parametrize("premise, hypothesis, forward, backward", [
    # one-way on a direction (Tarsier's AutoDQ counts only "entailment"; canonical.entails)
    ("their head tilts to the right", "she tilts her head", True, False),
    ("her eyeballs move to the left", "her eyeballs move", True, False),
    ("he tilts his head slightly forward", "his head tilts", True, False),
    # both ways where both state it, and on a side or a degree left open
    ("she tilts her head to the left", "her head tilts slightly to the left", True, True),
    ("his left eyebrow raises", "his eyebrows raise", True, True),
    ("her eyes open wide", "her eyes open", True, True),
    # a plain head movement leaves the kind open: any turn, tilt or nod entails it, it entails none of them
    ("her head turns to the left", "her head moves slightly", True, False),
    ("she tilts her head", "his head moves", True, False),
    ("his head nods", "slight head movements", True, False),
    ("his head moves", "her head moves slightly", True, True),
    ("his eyes dart to the left", "his eyes dart", True, False),
    # nothing is entailed across an Opposite or a No relation
    ("she tilts her head to the left", "she tilts her head to the right", False, False),
    ("she tilts her head", "he turns his head to the left", False, False),
])
def test_autodq_entailment_direction(clf, premise, hypothesis, forward, backward):
    assert clf.entails(premise, hypothesis) is forward
    assert clf.entails(hypothesis, premise) is backward


def test_a_vague_head_movement_does_not_game_tem():
    # review 4: with "his head moves" Same as any head movement, the one-clause caption "Their head
    # moves." scored TEM 0.424 on the 800 FEC-Bench references (0.034 before); now it matches no turn
    # or tilt in the common subsequence, and earns precision (a movement happened), no recall
    from dfec.metrics.judge import OfflineJudge
    from dfec.metrics.scorer import score

    ref = ("A man. At the beginning of the video, his head turns to the left. Then he blinks, and his head "
           "tilts to the right. Towards the end, his head lowers.")
    vague = score({"1": "Their head moves."}, {"1": ref}, judge=OfflineJudge(encoder=_CountingEncoder()))
    exact = score({"1": "Their head turns to the left, and their head tilts to the right."}, {"1": ref},
                  judge=OfflineJudge(encoder=_CountingEncoder()))
    v, e = vague["per_sample"]["1"], exact["per_sample"]["1"]
    assert v["lcs"] == 0 and v["precision"] == 1 and v["recall"] == 0
    assert v["tem"] < 0.1 < 0.5 < e["tem"]


def test_offline_judge_entailment_flags_and_scores():
    from dfec.metrics.autodq import precision_recall_from_flags
    from dfec.metrics.judge import OfflineJudge

    judge = OfflineJudge(encoder=_CountingEncoder())
    ref = "A woman. At the beginning of the video, she tilts her head. Then she blinks."
    pred = "At the beginning of the video, their head tilts to the right. Then they blink."
    ev_r = judge.reference_events(ref)
    j = judge.judge(pred, ref, ev_r)
    assert j.relations == [[SAME, NONE], [NONE, SAME]]  # TEM: the tilt matches, so the LCS is 2
    # recall: both reference events are entailed; precision: "tilts to the right" is not entailed by
    # a reference that leaves the direction open
    assert j.entailed_ref == [True, True] and j.entailed_pred == [False, True]
    assert precision_recall_from_flags(j.entailed_pred, j.entailed_ref) == (0.5, 1.0)
    # the other way round (the reference states the direction): entailed both ways
    j2 = judge.judge(ref, pred, judge.reference_events(pred))
    assert j2.entailed_pred == [True, True] and j2.entailed_ref == [False, True]
