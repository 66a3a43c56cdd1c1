"""Canonical facial events, the event extractor's time/appearance filters, single-reference CIDEr, fast ROUGE-L."""
from __future__ import annotations

import json
import os
import sys
import tempfile as _tempfile
from collections import Counter
from pathlib import Path

import pytest

os.environ.setdefault("DFEC_EMBED_CACHE", os.path.join(_tempfile.gettempdir(), "dfec-test-embeddings.sqlite"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from dfec.metrics.caption_metrics import cider_d, lcs_tokens, ptb_tokenize, rouge_l  # noqa: E402
from dfec.metrics.canonical import describe, parse_event, relate  # noqa: E402
from dfec.metrics.events import extract_events, is_appearance, is_time_phrase  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _one(text):
    acts = parse_event(text)
    assert acts, text
    return acts[0]


def test_parser_reads_region_movement_direction():
    a = _one("he raises his eyebrows")
    assert (a.region, a.axes) == ("brows", {"vertical": 1})
    a = _one("his brows are slightly furrowed")
    assert a.region == "brows" and a.axes == {"vertical": -1, "tension": 1} and a.state and a.intensity == 1
    a = _one("she smiles")
    assert (a.region, a.axes) == ("corners", {"vertical": 1})
    assert _one("the corners of her mouth turn upwards").axes == {"vertical": 1}
    a = _one("her eyes look down to the left")
    assert a.region == "gaze" and a.axes == {"vertical": -1, "lateral": 1}
    assert _one("her eyes move from left to right").axes == {"lateral": -1}  # the end direction counts
    a = _one("she tilts her head slightly to the right")
    assert a.region == "head" and a.axes == {"roll": -1}
    assert _one("he turns his head to the left").axes == {"yaw": 1}
    assert _one("he nods").axes == {"nod": 1}
    assert _one("his head sways from side to side").axes == {"shake": 1}
    assert _one("the opening of her mouth narrows").axes == {"aperture": -1}
    assert _one("her lips part").axes == {"aperture": 1}
    assert _one("revealing some upper teeth").axes == {"aperture": 1}


def test_parser_side_count_state_negation():
    a = _one("her left eyebrow lifts")
    assert a.side == "left" and a.region == "brows"
    a = _one("the right corner of his mouth lifts slightly")
    assert (a.region, a.side, a.intensity) == ("corners", "right", 1)
    assert _one("he blinks twice").count == 2
    assert _one("her eyes are open").state and not _one("her eyes open").state
    assert _one("she does not blink").negated
    assert _one("he stops speaking").negated
    assert _one("his head remains still").negated
    assert not _one("her eyes still look ahead").negated
    a = _one("the forehead wrinkles disappear")
    assert a.region == "forehead" and a.axes == {"wrinkle": -1} and not a.negated  # the reverse change
    assert parse_event("it is a sunny day") == []
    assert "AU12" in describe("she smiles") and "NOT" in describe("she does not blink")
    assert describe("what a day").startswith("?")


def test_relate_rules_and_unreadable_phrases():
    assert relate(parse_event("he frowns"), parse_event("his brows knit together")) == "same"
    assert relate(parse_event("he frowns"), parse_event("he raises his eyebrows")) == "opposite"
    assert relate(parse_event("he frowns"), parse_event("he blinks")) == "none"
    assert relate(parse_event("what a day"), parse_event("he blinks")) is None


def test_relate_compares_every_action_of_multi_action_events():
    # the shared action need not be either event's first one
    assert relate(parse_event("looking straight ahead with his mouth tightly shut"),
                  parse_event("lips tightly pressed together")) == "same"
    assert relate(parse_event("her lips open to speak"), parse_event("he keeps talking")) == "same"
    # a reversed action anywhere makes the pair opposite, even when another action agrees
    assert relate(parse_event("staring ahead with his mouth slightly ajar"),
                  parse_event("looking straight ahead with his mouth tightly shut")) == "opposite"
    assert relate(parse_event("her mouth closes tight"),
                  parse_event("he widens his eyes and slightly opens his mouth")) == "opposite"
    assert relate(parse_event("looking down with her eyes half closed"), parse_event("she smiles")) == "none"


def test_parser_gives_a_movement_to_the_part_it_belongs_to():
    acts = parse_event("gently swaying his head from side to side and slightly raising his eyebrows")
    assert [(a.region, a.axes) for a in acts] == [("head", {"shake": 1}), ("brows", {"vertical": 1})]
    acts = parse_event("his eyebrows raise and a few wrinkles appear on his forehead")
    assert ("forehead", {"wrinkle": 1}) in [(a.region, a.axes) for a in acts]
    assert ("mouth", {"aperture": 1}) in [(a.region, a.axes) for a in parse_event("he widens his eyes and opens his mouth")]
    assert ("mouth", {"aperture": -1, "tension": 1}) in [
        (a.region, a.axes) for a in parse_event("looks forward with slightly pursed lips")]
    # an upward curve / a smile belong to the mouth corners whatever part came before
    assert ("corners", {"vertical": 1}) in [
        (a.region, a.axes) for a in parse_event("looking straight ahead with a slight upward curve at the corners of her mouth")]
    assert ("gaze", {"vertical": 1}) not in [(a.region, a.axes) for a in parse_event("looking ahead with an upward curve at the corners")]
    assert [(a.region, a.axes) for a in parse_event("a smile on her face")] == [("corners", {"vertical": 1})]
    assert ("corners", {"vertical": 1}) in [(a.region, a.axes) for a in parse_event("he looks down with a smile")]


def test_parser_lexicon_additions():
    assert _one("the left cheek hollows").axes == {"puff": -1}
    assert relate(parse_event("the left cheek hollows"), parse_event("her cheeks puff out")) == "opposite"
    assert _one("ceasing to speak").negated
    assert _one("the mouth opening reduces").axes == {"aperture": -1}
    assert _one("her head turns back to the left").axes == {"yaw": 1}  # a return, not a pitch
    assert _one("he tilts his head back").axes == {"pitch": 1}
    assert parse_event("her upper eyelids raise and lower") == []  # an oscillation, no direction
    assert relate(parse_event("revealing some of her upper front teeth"), parse_event("she smiles")) == "none"


def test_parser_returns_to_center_and_reversed_adjectives():
    assert _one("the upturned corners of the mouth fall back").axes == {"vertical": -1}
    assert _one("his raised eyebrows lower").axes == {"vertical": -1}
    assert _one("raised eyebrows").axes == {"vertical": 1}
    for text in ("her head returns to the center", "she straightens her head", "facing the camera"):
        assert (_one(text).region, _one(text).axes) == ("head", {"center": 1}), text
    assert relate(parse_event("she straightens her head"), parse_event("her head returns to the center")) == "same"
    assert relate(parse_event("her head returns to the center"), parse_event("he turns his head to the left")) == "none"
    assert [(a.region, a.axes) for a in parse_event("opening and closing to speak")] == [("speech", {"speak": 1})]
    assert (_one("the corners of her mouth pull to the sides").region, _one("the corners of her mouth pull back").region) \
        == ("corners", "corners")
    assert _one("the corners of her mouth are tightly closed").region == "mouth"
    assert (_one("eyes downcast").region, _one("eyes downcast").axes) == ("gaze", {"vertical": -1})
    for text in ("wrinkles reappear between them", "wrinkles are evident between them", "deep lines between his eyebrows"):
        assert (_one(text).region, _one(text).axes) == ("brows", {"vertical": -1, "tension": 1}), text
    assert [(a.region, a.axes) for a in parse_event("showing smile lines")] == [("cheeks", {"wrinkle": 1})]
    assert [a.region for a in parse_event("widens her eyes with slightly protruded eyeballs")] == ["eyes"]
    assert _one("his mouth half open").axes == {"aperture": 1}  # a half-open mouth is open ...
    assert _one("her eyes half-open").axes == {"aperture": -1}  # ... half-open eyes are narrowed
    assert parse_event("his arms wrapped tightly around the other's back") == []
    assert (_one("her head is slightly bowed").region, _one("her head is slightly bowed").axes) == ("head", {"pitch": -1})


def test_parser_covers_the_reference_phrasings(shared_data):
    """>= 90 % of the 800 references' event occurrences have a canonical parse (the rest: fallback)."""
    refs = json.loads((shared_data / "fecbench_test_captions.json").read_text())
    occ = Counter(e for r in refs for e in extract_events(r["caption"]))
    parsed = sum(n for e, n in occ.items() if parse_event(e))
    assert parsed / sum(occ.values()) >= 0.90


def test_extractor_drops_time_phrases_and_appearance():
    cap = ("This video shows a young woman. She has big eyes, a high nose bridge and long black hair. "
           "First, she raises her eyebrows and smiles. Next, her mouth opens slightly. Midway through, she looks "
           "to the left, then blinks twice. Near the end, her head tilts down. In the following footage, she "
           "closes her eyes. By the end she nods.")
    assert extract_events(cap) == ["she raises her eyebrows", "smiles", "her mouth opens slightly",
                                   "she looks to the left", "blinks twice", "her head tilts down",
                                   "she closes her eyes", "she nods"]
    assert extract_events("First, his eyebrows furrow. Then he looks down.") == ["his eyebrows furrow", "he looks down"]
    assert is_time_phrase("midway through") and is_time_phrase("in the following footage")
    assert not is_time_phrase("she looks to the left")
    assert is_appearance("a high nose bridge") and is_appearance("big eyes") and is_appearance("her eyes are large")
    assert not is_appearance("her eyes widen") and not is_appearance("his eyebrows are flat")
    assert extract_events("her lips open and close again") == ["her lips open and close again"]


def test_single_reference_cider_uses_the_bundled_document_frequencies(shared_data, capsys):
    from dfec.metrics.scorer import score

    refs = {str(r["id"]): r["caption"] for r in json.loads((shared_data / "fecbench_test_captions.json").read_text())}
    pred = refs["61"].replace("left", "right").replace("opens", "closes")  # a caption of about the same length
    one = {"61": refs["61"]}
    mean, per = cider_d({"61": pred}, one)
    assert mean > 0.05  # with the reference's own df every n-gram weighs 0 and CIDEr is 0.000
    from dfec.metrics.cider_df import bundled

    full_mean, full_per = cider_d({"61": pred}, refs)  # the same prediction scored inside the full benchmark
    assert per["61"] == pytest.approx(full_per["61"], rel=1e-9)
    assert bundled().n_docs == 800
    res = score({"61": pred}, one)
    assert res["cider_df_source"].startswith("fecbench-800")
    assert "meaningless" not in capsys.readouterr().err
    res = score({"x": pred}, {"x": refs["61"]})  # not a FEC-Bench id: a one-line note
    assert res["cider_df_source"] == "1 references"
    err = capsys.readouterr().err
    assert "meaningless" in err and len(err.strip().splitlines()) == 1


def test_own_cider_d_equals_pycocoevalcap_on_the_full_set(shared_data):
    from dfec.metrics.cider_df import bundled

    refs = {str(r["id"]): r["caption"] for r in json.loads((shared_data / "fecbench_test_captions.json").read_text())}
    ids = list(refs)
    preds = {i: refs[ids[(k + 3) % len(ids)]] for k, i in enumerate(ids[:200])}
    sub = {i: refs[i] for i in ids}
    m1, p1 = cider_d(preds, sub)  # pycocoevalcap with df from the 800 references
    m2, p2 = cider_d(preds, sub, document_frequencies=bundled())  # the hashed table
    assert max(abs(p1[i] - p2[i]) for i in preds) < 1e-9


def test_fast_rouge_l_equals_pycocoevalcap():
    import random

    from pycocoevalcap.rouge.rouge import Rouge, my_lcs

    rng = random.Random(0)
    for _ in range(500):
        a = [rng.choice("abcd") for _ in range(rng.randrange(0, 25))]
        b = [rng.choice("abcde") for _ in range(rng.randrange(0, 25))]
        assert lcs_tokens(a, b) == my_lcs(a, b)
    cands = {"a": "The cat sat on the mat.", "b": "", "c": "his eyes open and he blinks twice"}
    refs = {"a": "The cat is on the mat.", "b": "he nods", "c": ["he blinks", "his eyes open, he blinks twice"]}
    _, per = rouge_l(cands, refs)
    r = Rouge()
    for k in cands:
        rs = refs[k] if isinstance(refs[k], list) else [refs[k]]
        assert per[k] == pytest.approx(r.calc_score([ptb_tokenize(cands[k])], [ptb_tokenize(x) for x in rs]))


def test_per_sample_output_shows_each_events_parse():
    from dfec.metrics.scorer import score

    res = score({"1": "She smiles. Then she blinks."}, {"1": "The corners of her mouth turn up. She blinks."})
    row = res["per_sample"]["1"]
    assert row["tem"] == pytest.approx(1.0)
    assert len(row["parse_pred"]) == row["n_events_pred"] and row["parse_pred"][0].startswith("corners up")
    assert row["parse_ref"][0].startswith("corners up")


def test_metric_validity_sets(shared_data):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import metric_validity as mv

    data = json.loads(mv.PARAPHRASES.read_text())
    assert data["written_by"] == "hand" and len(data["paraphrases"]) >= 30
    assert all(p["written_by"] == "hand" for p in data["paraphrases"])
    refs = {str(r["id"]): r["caption"] for r in json.loads((shared_data / "fecbench_test_captions.json").read_text())}
    para = {p["id"]: p["caption"] for p in data["paraphrases"][:3]}
    sets = mv.build_sets(refs, para)
    assert set(sets) == set(mv.SETS) and all(set(v) == set(para) for v in sets.values())
    i = next(iter(para))
    ev = extract_events(refs[i])
    assert extract_events(sets["order reversed"][i]) == ev[::-1]
    assert extract_events(sets["appearance only"][i]) == []
    assert sets["another video"][i] != refs[i]
    swapped = extract_events(sets["antonym swap"][i])
    assert sum(a != b for a, b in zip(swapped, ev)) >= len(ev) // 2 - 1
    assert mv.antonym_swap("he raises his eyebrows") == "he lowers his eyebrows"
    assert mv.antonym_swap("her eyes are wide open") == "her eyes are tightly closed"
