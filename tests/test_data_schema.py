"""FDA record schema: inference marking, stripping and validation (dfec.data.schema)."""
from __future__ import annotations

import json

import pytest

from dfec.data.schema import (
    check_inference_tags,
    find_inferences,
    load_captions,
    load_records,
    strip_inferences,
    unmark_inferences,
)
from dfec.errors import DfecError


def test_strip_inferences_matches_hand_written_captions(test_data):
    records, errors = load_records(test_data / "fda_sample.jsonl")
    assert errors == []
    expected = json.loads((test_data / "fda_sample_expected.json").read_text())
    assert sorted(r.id for r in records) == sorted(k for k in expected if not k.startswith("_"))
    for rec in records:
        assert rec.caption() == expected[rec.id], rec.id
        assert "inference" not in rec.caption().lower() and "[inf" not in rec.caption().lower()


def test_inference_helpers():
    text = "He smiles [inference: he is relieved], then nods. [INF: He seems calm.] He blinks."
    assert find_inferences(text) == ["he is relieved", "He seems calm."]
    assert strip_inferences(text) == "He smiles, then nods. He blinks."
    assert unmark_inferences(text) == "He smiles he is relieved, then nods. He seems calm. He blinks."
    # ordinary brackets are not inference tags
    assert strip_inferences("A photo [2] of him.") == "A photo [2] of him."
    assert check_inference_tags("ok [inference: fine]") is None
    assert "unclosed" in check_inference_tags("bad [inference: never closed")
    assert "nested" in check_inference_tags("bad [inference: a [b] c]")
    assert "empty" in check_inference_tags("bad [inference:  ]")
    with pytest.raises(ValueError):
        strip_inferences("bad [inf: never closed")


def test_caption_options(test_data):
    records, _ = load_records(test_data / "fda_sample.jsonl")
    rec = next(r for r in records if r.id == "dfew_0001")
    assert rec.caption(with_summary=True).endswith("A man frowns, then raises his eyebrows.")
    assert "as if he is annoyed" in rec.caption(strip=False)
    assert rec.dataset == "DFEW"
    caer = next(r for r in records if r.id == "caer_0003")
    assert caer.dataset == "CAER"


def test_malformed_records_each_reported_with_id_and_field(test_data):
    path = test_data / "fda_sample_bad.json"
    records, errors = load_records(path)
    assert [r.id for r in records] == ["ok_1", "ok_2"]  # the load kept going past every bad record
    got = {(e.index, e.record_id, e.field) for e in errors}
    assert got == {
        (1, "no_summary", "summary"),
        (2, "bad_changes", "facial_changes"),
        (3, "unclosed", "facial_changes"),
        (4, None, "id"),
        (5, "empty_video", "video"),
        (6, None, None),
        (7, "ok_1", "id"),
        (8, "only_inference", "facial_changes"),
        (8, "only_inference", "duration"),
        (9, "nested", "attributes"),
    }
    for e in errors:
        msg = e.message
        assert msg.startswith(str(path)) and "\n" not in msg
        assert f"record #{e.index}" in msg
        if e.record_id:
            assert repr(e.record_id) in msg
        if e.field:
            assert f"field '{e.field}'" in msg
    dup = next(e for e in errors if e.index == 7)
    assert "duplicate" in dup.reason and "record #0" in dup.reason


def test_jsonl_bad_lines_reported_by_line(tmp_path):
    good = {"id": "a", "video": "x/a.mp4", "attributes": "A man.", "facial_changes": "He nods.", "summary": "A man nods."}
    p = tmp_path / "ann.jsonl"
    p.write_text(json.dumps(good) + "\n{not json\n\n" + json.dumps({**good, "id": "b", "summary": 3}) + "\n"
                 + json.dumps({**good, "id": "c"}) + "\n")
    records, errors = load_records(p)
    assert [r.id for r in records] == ["a", "c"]
    assert [(e.index, e.line, e.record_id, e.field) for e in errors] == [(2, True, None, None), (4, True, "b", "summary")]
    assert errors[0].message.startswith(f"{p}: line 2: not valid JSON")
    assert errors[1].message == f"{p}: line 4 id='b': field 'summary': must be a string, got int"


def test_unreadable_files_are_one_line_errors(tmp_path):
    with pytest.raises(DfecError, match="no such file"):
        load_records(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{\"id\": 1,")
    with pytest.raises(DfecError, match="not valid JSON"):
        load_records(bad)
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    with pytest.raises(DfecError, match="empty"):
        load_records(empty)


def test_load_captions_accepts_refs_conversations_and_records(tmp_path, test_data):
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps([{"id": "1", "video": "DFEW/a.mp4", "caption": "He blinks [inference: tired]."},
                                {"id": "2", "video": "b.mp4", "caption": ""}]))
    items, errors = load_captions(refs)
    assert [(i["id"], i["caption"], i["source"]) for i in items] == [("1", "He blinks.", "DFEW")]
    assert len(errors) == 1 and "id='2'" in errors[0] and "caption" in errors[0]
    conv = tmp_path / "conv.json"
    conv.write_text(json.dumps([{"id": "9", "video": "RAVDESS/x.mp4", "conversations": [
        {"from": "human", "value": "<video>\nDescribe."}, {"from": "gpt", "value": "She smiles."}]}]))
    items, errors = load_captions(conv)
    assert [(i["id"], i["caption"], i["source"]) for i in items] == [("9", "She smiles.", "RAVDESS")]
    items, errors = load_captions(test_data / "fda_sample.jsonl")
    expected = json.loads((test_data / "fda_sample_expected.json").read_text())
    assert {i["id"]: i["caption"] for i in items} == {k: v for k, v in expected.items() if not k.startswith("_")}
