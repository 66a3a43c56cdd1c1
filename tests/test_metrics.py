"""FEC-Bench metrics: events, LCS/TEM, AutoDQ, CIDEr-D, ROUGE-L, scorer, report and CLI."""
from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest

import tempfile as _tempfile

# keep the test runs out of ~/.cache; a shared temp file also makes reruns faster
os.environ.setdefault("DFEC_EMBED_CACHE", os.path.join(_tempfile.gettempdir(), "dfec-test-embeddings.sqlite"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from dfec.errors import DfecError
from dfec.metrics.autodq import corpus_f, f_measure, precision_recall_from_matrix
from dfec.metrics.caption_metrics import cider_d, ptb_tokenize, rouge_l
from dfec.metrics.events import extract_events
from dfec.metrics.relations import NONE, OPPOSITE, SAME
from dfec.metrics.tem import lcs_length, lcs_scores, tem_score

S, O, N = SAME, OPPOSITE, NONE


def _refs(shared_data, n=None):
    data = json.loads((shared_data / "fecbench_test_captions.json").read_text())
    refs = {str(r["id"]): r["caption"] for r in data}
    if n is not None:
        refs = dict(list(refs.items())[:n])
    return refs


# ------------------------------------------------------------------------------------------
# events
# ------------------------------------------------------------------------------------------
def test_extract_events_drops_appearance_and_splits_clauses():
    cap = ("This video shows the changing facial expressions of a middle-aged man. He has short brown hair, "
           "thick eyebrows, and clear forehead wrinkles.\nAt the beginning of the video, he opens his eyes, "
           "looks forward, and closes his mouth. As the video progresses, he blinks.\nIn the middle of the "
           "video, there is no obvious change in his facial expression.\nTowards the end of the video, his "
           "mouth opens slightly, revealing some upper teeth.")
    assert extract_events(cap) == [
        "he opens his eyes", "looks forward", "closes his mouth", "he blinks", "his mouth opens slightly",
        "revealing some upper teeth",
    ]


def test_extract_events_keeps_direction_phrases_and_shares_subject():
    ev = extract_events("At the beginning of the video, he looks up and to the right. Then his eyes close and open.")
    assert ev == ["he looks up and to the right", "his eyes close", "his eyes open"]
    assert extract_events("") == []


def test_extract_events_carries_the_part_across_a_comma():
    # a clause after a comma that moves a part it does not name goes on with the part named before it
    # (it read as the head before: "raised ..." -> head up, "fall back" -> head down)
    ev = extract_events("A woman. At the beginning of the video, her eyebrows draw together, raised at the inner "
                        "ends. Then her eyebrows rise, and then fall back. Her lower eyelids sink and then rise.")
    assert ev == ["her eyebrows draw together", "her eyebrows raised at the inner ends", "her eyebrows rise",
                  "her eyebrows fall back", "her lower eyelids sink", "her lower eyelids rise"]
    # a look, a return and a clause naming its own part keep their reading
    ev = extract_events("At the beginning of the video, her eyebrows rise, looking up, returning to the center, "
                        "her mouth opens.")
    assert ev == ["her eyebrows rise", "looking up", "returning to the center", "her mouth opens"]


def test_extract_events_gives_a_bare_direction_the_movement_before_it():
    # review 3, finding 3: "..., then to the right" after an eye movement was its own event, which the
    # judge read as a head turn (15 such fragments in the 800 references, 9 read as head turns)
    assert extract_events("Her eyeballs move to the left, then to the right.") == [
        "her eyeballs move to the left", "her eyeballs move to the right"]
    assert extract_events("Her head turns to the left, then back to the center.") == [
        "her head turns to the left", "her head turns back to the center"]
    assert extract_events("She glances up and then down.") == ["she glances up", "she glances down"]
    assert extract_events("His head tilts slightly to the left and then back, his eyebrows fall.")[:2] == [
        "his head tilts slightly to the left", "his head tilts back to the center"]
    # only within a sentence, only after a movement with a direction, never after "side to side"
    assert extract_events("He smiles, then to the right.") == ["he smiles", "to the right"]
    assert extract_events("His head sways from side to side, then to the right.")[0] == \
        "his head sways from side to side"
    from dfec.metrics.canonical import describe
    assert describe("her eyeballs move to the right").startswith("gaze")


def test_extract_events_on_every_reference(shared_data):
    refs = _refs(shared_data)
    counts = [len(extract_events(c)) for c in refs.values()]
    assert min(counts) >= 1
    assert 5 <= np.mean(counts) <= 30
    # no appearance clause leaks into the events
    leaked = [e for c in refs.values() for e in extract_events(c) if e.startswith(("this video shows", "he has short"))]
    assert leaked == []


# ------------------------------------------------------------------------------------------
# LCS, AutoDQ, TEM on hand-computed cases
# ------------------------------------------------------------------------------------------
def test_lcs_hand_computed():
    # E_G = [a, b, c], E_R = [b, a, c]: Same on the diagonal pairs a-a, b-b, c-c.
    m = [[N, S, N],
         [S, N, N],
         [N, N, S]]
    assert lcs_length(m) == 2  # (a, c) or (b, c)
    lcs_g, lcs_r, n = lcs_scores(m, 3, 3)
    assert (lcs_g, lcs_r, n) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 2)
    # 2 generated events, 4 reference events; matches g0-r1, g1-r3 in order.
    m2 = [[N, S, N, N],
          [N, N, O, S]]
    g, r, n = lcs_scores(m2, 2, 4)
    assert n == 2 and g == 1.0 and r == 0.5  # normalised by |E_G| (paper) and |E_R| (variant)
    # Opposite never counts as a match
    assert lcs_length([[O, O], [O, O]]) == 0
    # order matters: g0-r1 and g1-r0 cross, LCS 1
    assert lcs_length([[N, S], [S, N]]) == 1


def test_lcs_empty_conventions():
    assert lcs_scores([], 0, 0) == (1.0, 1.0, 0)
    assert lcs_scores([], 0, 3)[:2] == (0.0, 0.0)
    assert lcs_scores([[N], [N]], 2, 1)[:2] == (0.0, 0.0)


def test_autodq_hand_computed():
    m = [[S, N, N],
         [N, N, N],
         [N, S, N],
         [N, S, N]]
    p, r = precision_recall_from_matrix(m, 4, 3)
    assert p == pytest.approx(3 / 4)  # g0, g2, g3 have a Same partner
    assert r == pytest.approx(2 / 3)  # r0, r1 are covered; r2 is not
    assert f_measure(p, r) == pytest.approx(2 * 0.75 * (2 / 3) / (0.75 + 2 / 3))
    # corpus F from the mean P and the mean R, not the mean of per-sample F
    assert corpus_f([1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.5)
    assert f_measure(0.0, 0.0) == 0.0
    assert tem_score(0.5, 0.7) == pytest.approx(0.6)


# ------------------------------------------------------------------------------------------
# CIDEr-D and ROUGE-L against the original formulas
# ------------------------------------------------------------------------------------------
def test_ptb_tokenizer_mimics_pycocoevalcap():
    assert ptb_tokenize("The man's eyes (slightly) widen, and he can't stop: \"wow\"...") == \
        "the man 's eyes -lrb- slightly -rrb- widen and he ca n't stop wow"
    assert ptb_tokenize("A middle-aged woman; 1.5 s -- then e.g. smiles!") == "a middle-aged woman 1.5 s then e.g. smiles"


def test_tokenizer_matches_the_java_ptbtokenizer(shared_data):
    """Where Java and the Stanford jar that pycocoevalcap ships are present, compare token for token."""
    import shutil
    from pathlib import Path

    import pycocoevalcap.tokenizer.ptbtokenizer as ptb

    jar = Path(ptb.__file__).with_name(ptb.STANFORD_CORENLP_3_4_1_JAR)
    if shutil.which("java") is None or not jar.exists():
        pytest.skip("java or the Stanford CoreNLP jar is not available")
    texts = list(_refs(shared_data).values()) + [
        "He said \u201cwow\u201d \u2014 then smiled\u2026 (briefly).",
        "She doesn\u2019t blink; it's 3:30 p.m. and the U.S. flag is up!",
        "Eyes: wide-open, 50% closed? Yes -- 'quite' so.",
        "The man's & woman's faces [left] {right} $5 #1",
        "don't can't won't I'm we've they'll he'd. A 1.5-second blink, e.g. twice...",
    ]
    java = ptb.PTBTokenizer().tokenize({str(i): [{"caption": t}] for i, t in enumerate(texts)})
    mismatches = [i for i, t in enumerate(texts) if java[str(i)][0] != ptb_tokenize(t)]
    assert mismatches == []


def test_rouge_l_worked_examples():
    # LCS("the cat sat on the mat", "the cat is on the mat") = 5 -> P = R = 5/6 -> F = 5/6
    _, per = rouge_l({"a": "The cat sat on the mat."}, {"a": "The cat is on the mat."})
    assert per["a"] == pytest.approx(5 / 6)
    # candidate "a b c d", reference "a c e": LCS 2, P = 1/2, R = 2/3, beta = 1.2
    p, r, b = 0.5, 2 / 3, 1.2
    _, per = rouge_l({"x": "a b c d"}, {"x": "a c e"})
    assert per["x"] == pytest.approx((1 + b * b) * p * r / (r + b * b * p))
    _, per = rouge_l({"x": "q w"}, {"x": "a c e"})
    assert per["x"] == 0.0


def _cider_d_reference(cands: dict, refs: dict, n=4, sigma=6.0) -> dict:
    """CIDEr-D written from the paper's formula (Vedantam et al.), independent of pycocoevalcap.

    g_k(s) = tf_k(s) * log(|corpus| / max(1, df_k)); CIDEr-D_n = 10 * exp(-(l_c - l_s)^2 / 2 sigma^2) *
    <min(g(c), g(s)), g(s)> / (|g(c)| |g(s)|); score = mean over n = 1..4. As in the COCO code the
    length l is the number of bigrams of a sentence.
    """
    def grams(words, k):
        out = defaultdict(int)
        for i in range(len(words) - k + 1):
            out[tuple(words[i:i + k])] += 1
        return out

    toks = {k: ptb_tokenize(v).split() for k, v in refs.items()}
    df = defaultdict(int)
    for w in toks.values():
        for k in range(1, n + 1):
            for g in grams(w, k):
                df[g] += 1
    big_n = len(refs)
    out = {}
    for key, cand in cands.items():
        c = ptb_tokenize(cand).split()
        s = toks[key]
        total = 0.0
        for k in range(1, n + 1):
            gc, gs = grams(c, k), grams(s, k)
            vc = {g: t * math.log(big_n / max(1.0, df[g])) for g, t in gc.items()}
            vs = {g: t * math.log(big_n / max(1.0, df[g])) for g, t in gs.items()}
            nc = math.sqrt(sum(v * v for v in vc.values()))
            ns = math.sqrt(sum(v * v for v in vs.values()))
            dot = sum(min(v, vs.get(g, 0.0)) * vs.get(g, 0.0) for g, v in vc.items())
            val = dot / (nc * ns) if nc and ns else 0.0
            delta = max(0, len(c) - 1) - max(0, len(s) - 1)
            total += val * math.exp(-(delta ** 2) / (2 * sigma ** 2))
        out[key] = 10.0 * total / n
    return out


def test_cider_d_matches_formula_on_worked_example():
    refs = {
        "1": "He raises his eyebrows and opens his mouth.",
        "2": "She blinks, then she turns her head to the left.",
        "3": "His mouth closes and he looks down.",
        "4": "Her eyebrows furrow slightly while she looks to the right.",
    }
    cands = {
        "1": "He raises his eyebrows and then he opens his mouth wide.",
        "2": "She turns her head to the right and blinks.",
        "3": "He looks down.",
    }
    mean, per = cider_d(cands, refs)
    expect = _cider_d_reference(cands, refs)
    for k in cands:
        assert per[k] == pytest.approx(expect[k], rel=1e-9, abs=1e-12)
    assert mean == pytest.approx(np.mean(list(expect.values())))
    assert "4" not in per  # a reference with no prediction only feeds the document frequencies
    # identical caption: every n-gram cosine is 1 and no length penalty -> 10
    _, per = cider_d({"4": refs["4"]}, refs)
    assert per["4"] == pytest.approx(10.0)


# ------------------------------------------------------------------------------------------
# scorer with the offline judge on the real references
# ------------------------------------------------------------------------------------------
def test_references_against_themselves_give_tem_1(shared_data, tmp_path):
    from dfec.metrics.scorer import score

    refs = _refs(shared_data)
    ids = list(refs)[:40]
    res = score({i: refs[i] for i in ids}, refs, judge="offline", out_path=tmp_path / "r.json")
    m = res["metrics"]
    assert m["tem"] == pytest.approx(1.0)
    assert m["autodq"] == pytest.approx(1.0)
    assert m["rouge_l"] == pytest.approx(1.0)
    assert m["cider"] == pytest.approx(10.0)
    assert m["correctness"] is None  # the offline judge gives no Video-ChatGPT scores
    assert res["n_scored"] == 40 and res["n_failed"] == 0
    assert res["n_missing"] == len(refs) - 40 and res["n_extra"] == 0
    assert all(v["tem"] == pytest.approx(1.0) for v in res["per_sample"].values())
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["metrics"]["tem"] == pytest.approx(1.0)
    md = (tmp_path / "r.md").read_text()
    header = md.splitlines()[2]
    cols = [c.strip() for c in header.strip("|").split("|")]
    assert cols[1:10] == ["Correctness", "Detail", "Context", "Temporal", "Consistency", "CIDEr", "ROUGE-L",
                          "AutoDQ", "TEM"]


def test_shuffled_events_lower_lcs_but_not_f(shared_data):
    """Reordering the same events keeps AutoDQ F (content) but lowers LCS (order), so TEM drops."""
    from dfec.metrics.scorer import score

    refs = _refs(shared_data)
    rng = random.Random(0)
    preds = {}
    for rid in list(refs)[:30]:
        ev = extract_events(refs[rid])
        rng.shuffle(ev)
        preds[rid] = "At the beginning of the video, " + ". ".join(e[0].upper() + e[1:] for e in ev) + "."
    res = score(preds, refs, judge="offline")
    ex = res["extra_metrics"]
    assert res["metrics"]["autodq"] > 0.97
    assert ex["lcs"] < 0.8
    assert res["metrics"]["tem"] < res["metrics"]["autodq"]
    # the ordered version of the same text scores LCS 1
    ordered = {rid: "At the beginning of the video, " + ". ".join(extract_events(refs[rid])) + "." for rid in preds}
    res2 = score(ordered, refs, judge="offline")
    assert res2["extra_metrics"]["lcs"] > 0.97
    assert res2["metrics"]["autodq"] == pytest.approx(res["metrics"]["autodq"], abs=0.02)


def test_missing_and_extra_ids_are_reported():
    from dfec.metrics.scorer import score

    class EchoJudge:
        """A tiny judge following the Protocol: events are sentences, Same when equal."""

        name, model, concurrency = "echo", "echo", 1

        def reference_events(self, caption):
            return [s.strip() for s in caption.split(".") if s.strip()]

        def judge(self, prediction, reference, reference_events):
            from dfec.metrics.judge import SampleJudgement

            ev = self.reference_events(prediction)
            rel = [[SAME if g == r else NONE for r in reference_events] for g in ev]
            return SampleJudgement(events_pred=ev, relations=rel)

        def info(self):
            return {"name": self.name, "model": self.model}

    refs = {"a": "He blinks. He smiles.", "b": "She frowns.", "c": "He nods."}
    preds = {"a": "He smiles. He blinks.", "b": "She frowns.", "zz": "Nobody."}
    res = score(preds, refs, judge=EchoJudge())
    assert res["missing_ids"] == ["c"] and res["extra_ids"] == ["zz"]
    assert res["n_scored"] == 2 and set(res["per_sample"]) == {"a", "b"}
    assert res["per_sample"]["a"]["lcs"] == pytest.approx(0.5)
    assert res["per_sample"]["a"]["autodq"] == pytest.approx(1.0)
    assert res["per_sample"]["b"]["tem"] == pytest.approx(1.0)
    # corpus TEM = (mean LCS + F(mean P, mean R)) / 2
    assert res["metrics"]["tem"] == pytest.approx((0.75 + 1.0) / 2)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------
def _write_pred(path, items):
    path.write_text("".join(json.dumps({"id": k, "caption": v}) + "\n" for k, v in items.items()))


def test_cli_score_offline(shared_data, tmp_path):
    from dfec.cli import main

    refs = _refs(shared_data)
    ids = list(refs)[:5]
    pred = tmp_path / "pred.jsonl"
    _write_pred(pred, {**{i: refs[i] for i in ids}, "not-a-ref": "he smiles"})
    out = tmp_path / "out" / "results.json"
    rc = main(["score", "--pred", str(pred), "--ref", str(shared_data / "fecbench_test_captions.json"),
               "--out", str(out), "--quiet"])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["n_scored"] == 5 and res["extra_ids"] == ["not-a-ref"] and res["n_missing"] == len(refs) - 5
    assert res["metrics"]["tem"] == pytest.approx(1.0)
    assert "missing ids" in (tmp_path / "out" / "results.md").read_text()


@pytest.mark.parametrize("content, reason", [
    ('{"id": "1", "caption": "x"}\n{bad json\n', "line 2 is not valid JSON"),
    ('{"caption": "x"}\n', "line 1 lacks an id"),
    ('{"id": "1", "caption": 3}\n', "line 1 lacks a caption string"),
    ('{"id": "1", "caption": "a"}\n{"id": "1", "caption": "b"}\n', "duplicate prediction id"),
])
def test_bad_prediction_file_is_one_line_error(tmp_path, content, reason):
    from dfec.metrics.command import load_predictions

    p = tmp_path / "p.jsonl"
    p.write_text(content)
    with pytest.raises(DfecError) as exc:
        load_predictions(p)
    assert reason in exc.value.reason and exc.value.path == str(p)


def test_cli_errors_are_one_line_and_score_imports_stay_light(tmp_path):
    ref = tmp_path / "ref.json"
    ref.write_text('{"not": "a list"')
    pred = tmp_path / "p.jsonl"
    _write_pred(pred, {"1": "x"})
    proc = subprocess.run([sys.executable, "-m", "dfec.cli", "score", "--pred", str(pred), "--ref", str(ref)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"dfec: error: {ref}: not valid JSON")
    code = ("import sys, dfec.cli; dfec.cli._single_parser('score'); import dfec.metrics.scorer, dfec.metrics.report; "
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers', 'openai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
