"""The resumable JSONL reader: a torn line from a kill is dropped, a hand-written file's last
record without a final newline is not."""
from __future__ import annotations

import json

from dfec.jsonl import JsonlWriter, read_jsonl


def test_last_record_without_newline_is_kept(tmp_path):
    p = tmp_path / "pred.jsonl"
    p.write_text('{"id": "1", "caption": "a"}\n{"id": "2", "caption": "b"}')  # no final newline
    assert [r["id"] for r in read_jsonl(p)] == ["1", "2"]
    assert [r["id"] for r in read_jsonl(p, repair=True)] == ["1", "2"]
    with JsonlWriter(p, "a") as w:  # resuming appends on a new line, nothing is glued together
        w.write({"id": "3", "caption": "c"})
    assert [r["id"] for r in read_jsonl(p)] == ["1", "2", "3"]


def test_torn_last_line_is_dropped_and_repaired(tmp_path):
    p = tmp_path / "pred.jsonl"
    p.write_text('{"id": "1", "caption": "a"}\n{"id": "2", "capt')
    assert [r["id"] for r in read_jsonl(p)] == ["1"]
    assert p.read_text().endswith('"capt')  # reading alone changes nothing
    assert [r["id"] for r in read_jsonl(p, repair=True)] == ["1"]
    assert p.read_text() == '{"id": "1", "caption": "a"}\n'
    p.write_text(json.dumps({"id": "x"}) + "\n   ")  # trailing blanks are no record
    assert read_jsonl(p) == [{"id": "x"}]


def test_score_cli_keeps_the_last_prediction_without_newline(tmp_path):
    from dfec.bench.runner import load_predictions

    p = tmp_path / "pred.jsonl"
    p.write_text('{"id": "1", "caption": "He blinks."}\n{"id": "2", "caption": "She smiles."}')
    assert load_predictions(p) == {"1": "He blinks.", "2": "She smiles."}
