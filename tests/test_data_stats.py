"""``dfec data stats``: Figure 2 statistics checked against independently computed counts."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from dfec.cli import main as cli_main
from dfec.data.stats import KEYWORD_LEXICON, StatsConfig, compute_stats, count_keywords, run_stats


def _words(text: str) -> list[str]:
    """An independent word splitter: maximal runs of letters/digits, joined across inner apostrophes."""
    words, cur = [], ""
    for i, ch in enumerate(text):
        if ch.isalnum():
            cur += ch
        elif ch in "'\u2019" and cur and i + 1 < len(text) and text[i + 1].isalnum():
            cur += ch
        else:
            if cur:
                words.append(cur)
            cur = ""
    if cur:
        words.append(cur)
    return words


def _n_punct(text: str) -> int:
    n = 0
    for i, ch in enumerate(text):
        if ch.isspace() or ch.isalnum() or ch == "_":
            continue
        if ch in "'\u2019" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
            continue
        n += 1
    return n


def test_stats_on_fecbench_refs(shared_data, tmp_path):
    path = shared_data / "fecbench_test_captions.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    refs = json.loads(path.read_text())
    stats = run_stats(path, tmp_path)
    assert stats["n_captions"] == len(refs) == 800 and stats["n_skipped"] == 0
    # sources: the first folder of each video path
    assert stats["sources"] == dict(Counter(r["video"].split("/")[0] for r in refs))
    # words and tokens (words + punctuation) per caption
    words = [len(_words(r["caption"])) for r in refs]
    tokens = [w + _n_punct(r["caption"]) for w, r in zip(words, refs)]
    assert stats["words_per_caption"]["total"] == sum(words)
    assert stats["tokens_per_caption"]["total"] == sum(tokens)
    assert stats["tokens_per_caption"]["max"] == max(tokens) and stats["tokens_per_caption"]["min"] == min(tokens)
    assert stats["tokens_per_caption"]["mean"] == pytest.approx(sum(tokens) / len(tokens))
    assert [p["tokens"] for p in stats["per_caption"]] == tokens
    # single-word facial actions, counted by prefix on the independent word list
    for action, stem in (("blink", "blink"), ("frown", "frown"), ("smile", "smil"), ("squint", "squint"),
                         ("tilt head", "tilt"), ("laugh", "laugh")):
        occ = sum(w.lower().startswith(stem) for r in refs for w in _words(r["caption"]))
        caps = sum(any(w.lower().startswith(stem) for w in _words(r["caption"])) for r in refs)
        assert stats["keywords"][action] == {"occurrences": occ, "captions": caps}, action
    assert stats["keywords"]["blink"]["occurrences"] > 100  # FEC-Bench captions are full of blinks
    # keywords per caption: the histogram accounts for every caption
    hist = stats["keywords_per_caption"]["histogram"]
    assert sum(hist.values()) == 800
    assert stats["keywords_per_caption"]["total"] == sum(sum(count_keywords(r["caption"]).values()) for r in refs)
    assert stats["duration_s"] == {"n": 0, "n_missing": 800}  # refs carry no durations, no root given
    for name in ("figure2.png", "sources.png", "tokens.png", "durations.png", "keywords.png", "keywords_per_caption.png"):
        assert (tmp_path / name).stat().st_size > 5000, name
    assert json.loads((tmp_path / "stats.json").read_text())["n_captions"] == 800


def test_keyword_lexicon_on_hand_written_sentences():
    c = count_keywords("He raises his eyebrows, blinks twice and smiles. Then he tilts his head and nods; "
                       "his mouth opens slightly and he shakes his head. Her eyebrows and forehead wrinkles stay.")
    assert c == Counter({"raise eyebrows": 1, "blink": 1, "smile": 1, "tilt head": 1, "nod": 1,
                         "open mouth": 1, "shake head": 1})
    assert count_keywords("A single man sits still.") == Counter()
    assert len(KEYWORD_LEXICON) >= 20


def test_stats_on_fda_records_with_durations(tmp_path, test_data):
    stats = compute_stats(test_data / "fda_sample.jsonl", StatsConfig(plots=False))
    recs = [json.loads(line) for line in (test_data / "fda_sample.jsonl").read_text().splitlines()]
    assert stats["n_captions"] == 8
    assert stats["sources"] == {"DFEW": 2, "AFEW-VA": 1, "CAER": 1, "FERV39k": 1, "MAFW": 1, "MER24": 1, "RAVDESS": 1}
    known = [r["duration"] for r in recs if "duration" in r]
    assert stats["duration_s"]["n"] == len(known) == 7 and stats["duration_s"]["n_missing"] == 1
    assert stats["duration_s"]["total"] == pytest.approx(sum(known))
    # inferences are stripped before counting: "tired"/"sleepy" never reach the statistics
    expected = json.loads((test_data / "fda_sample_expected.json").read_text())
    assert stats["words_per_caption"]["total"] == sum(len(_words(expected[str(r["id"])])) for r in recs)


def test_stats_probes_durations_under_root(tmp_path, shared_data, capsys):
    video = shared_data / "01-01-08-02-01-01-19.mp4"
    if not video.is_file():
        pytest.skip("RAVDESS clip not in shared data")
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps([{"id": "r", "video": video.name, "caption": "He raises his eyebrows and speaks."}]))
    rc = cli_main(["data", "stats", str(refs), "--out", str(tmp_path / "o"), "--root", str(shared_data), "--no-plots"])
    out = capsys.readouterr().out
    assert rc == 0 and "1 captions" in out
    st = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert st["duration_s"]["n"] == 1 and 3.5 < st["duration_s"]["mean"] < 4.5
    assert st["keywords"]["raise eyebrows"]["occurrences"] == 1 and st["keywords"]["speak"]["occurrences"] == 1
