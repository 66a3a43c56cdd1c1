"""benchmarks/caption_errors.py: the reference events a caption misses and the caption events that
match nothing, from the offline judge's SampleJudgement."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _module():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("caption_errors", BENCH / "caption_errors.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


def test_missed_and_unmatched_events_with_their_contradictions():
    from dfec.metrics.judge import OfflineJudge

    mod = _module()
    ref = ("At the beginning of the video, his eyes are open and his mouth is closed. "
           "Then he blinks, and his eyebrows raise slightly.")
    pred = ("At the beginning of the video, their eyes are open, and their mouth is closed. "
            "Then the person blinks, their eyebrows lower, and their head turns to the left.")
    e = mod.clip_errors(OfflineJudge(), pred, ref)
    missed = [m["event"] for m in e["missed"]]
    extra = [x["event"] for x in e["extra"]]
    assert missed == ["his eyebrows raise slightly"]
    assert extra == ["their eyebrows lower", "their head turns to the left"]
    # the contradiction is named on both sides; a plain extra contradicts nothing
    assert e["missed"][0]["opposite_of"] == ["their eyebrows lower"]
    assert e["extra"][0]["opposite_of"] == ["his eyebrows raise slightly"] and e["extra"][1]["opposite_of"] == []
    assert [mod.region_of(x["parsed"]) for x in e["extra"]] == ["brows", "head"]
    assert mod.region_of("NOT speech speak [change]") == "speech" and mod.region_of("? (embedding fallback)") == "?"


def test_held_out_splits_need_an_explicit_flag(tmp_path, capsys):
    import pytest

    mod = _module()
    with pytest.raises(SystemExit) as e:
        mod.main(["--splits", "dev,test", "--work", str(tmp_path)])
    assert e.value.code == 2 and "held out" in capsys.readouterr().err
