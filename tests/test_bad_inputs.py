"""Bad input a user hands dfec: each class is refused at the shared place that reads it, in one line.

Every case builds the bad input itself and runs the real command (``dfec.cli.main`` in-process,
or a subprocess where the exit path matters); the rule is: a one-line ``dfec: error: ...`` (or
argparse's one-line option error), a non-zero exit, no traceback, quickly and in bounded memory.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from dfec.cli import main
from dfec.errors import DfecError
from dfec.userfiles import (MAX_DEPTH, check_output_dir, check_output_file, parse_json, parse_yaml, read_json,
                            read_mapping, resolve_under_root)

SRC = str(Path(__file__).resolve().parents[1] / "src")
REF = [{"id": "1", "video": "1.mp4", "caption": "A man. He smiles."},
       {"id": "2", "video": "2.mp4", "caption": "A woman. She blinks."}]


def _run(args, tmp_path, timeout=120):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "dfec.cli", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=timeout)


def _one_line_error(res, needle=""):
    assert res.returncode != 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    assert "error:" in lines[0] and needle in lines[0], lines[0]
    return lines[0]


def _cli_error(capsys, args, needle) -> str:
    rc = main(args)
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1 and needle in err, (rc, err)
    return err


# ------------------------------------------------------------------------------ JSON / YAML values
@contextmanager
def _peak_bytes():
    """The Python heap's peak during the block (tracemalloc: deterministic, unlike wall time or the
    process's max RSS, which an earlier test may already have raised)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    peak = [0]
    try:
        yield lambda: peak[0]
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def _deep_json(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("text, needle", [
    ('{"a": NaN}', "non-finite number NaN"),
    ('[1, Infinity]', "non-finite number Infinity"),
    ('{"d": -Infinity}', "non-finite number -Infinity"),
    ('{"d": 1e999}', "non-finite number 1e999"),
    (_deep_json(MAX_DEPTH + 1), "nested more than"),
    (_deep_json(100_000), "nested more than"),
    ('{"a": [1, 2', "not valid JSON"),
])
def test_parse_json_refuses(text, needle):
    with pytest.raises(ValueError, match=needle):
        parse_json(text)


def test_parse_json_accepts_ordinary_values_and_own_nan_files():
    assert parse_json(_deep_json(MAX_DEPTH)) is not None
    assert parse_json('{"x": 1.5, "y": [1, {"z": null}]}') == {"x": 1.5, "y": [1, {"z": None}]}
    v = parse_json('{"m": NaN}', allow_nonfinite=True)
    assert v["m"] != v["m"]


def test_yaml_alias_bomb_deep_nesting_and_inf_are_refused_quickly(tmp_path):
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text("\n".join(bomb) + "\n")
    # refused before the aliases are expanded (9**9 strings): the Python heap's peak stays small
    with _peak_bytes() as peak:
        with pytest.raises(DfecError, match="alias bomb"):
            read_mapping(cfg)
    assert peak() < 20 * 2**20
    # a few ordinary aliases (a shared block of settings) are fine
    ok = parse_yaml("base: &b {lr: 0.1, n: 2}\none: *b\ntwo: *b\n")
    assert ok["one"] == ok["two"] == {"lr": 0.1, "n": 2}
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(DfecError, match="nested more than"):
        read_mapping(deep)
    for text, needle in (("learning_rate: .nan\n", "non-finite number nan at 'learning_rate'"),
                         ("num_epochs: .inf\n", "non-finite number inf at 'num_epochs'")):
        cfg.write_text(text)
        with pytest.raises(DfecError, match=needle):
            read_mapping(cfg)


def test_train_config_bad_numbers_and_set(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    for text, needle in (("learning_rate: .nan\n", "non-finite"), ("num_epochs: .inf\n", "non-finite"),
                         ("learning_rate: [1, 2]\n", "must be a number")):
        cfg.write_text(text)
        _cli_error(capsys, ["train", "--config", str(cfg), "--print-config"], needle)
    cfg.write_text("max_steps: 1\n")
    _cli_error(capsys, ["train", "--config", str(cfg), "--set", "learning_rate=.nan", "--print-config"],
               "--set learning_rate: non-finite number nan")
    # YAML reads "nan" as a string; the config's own check converts it and still refuses it
    _cli_error(capsys, ["train", "--config", str(cfg), "--set", "learning_rate=nan", "--print-config"],
               "setting 'learning_rate' must be a finite number")
    _cli_error(capsys, ["train", "--config", str(cfg), "--set", "learning_rate=" + "[" * 500, "--print-config"],
               "--set learning_rate")


# ------------------------------------------------------------------------------ commands reading JSON
@pytest.mark.parametrize("kind", ["deep", "nan"])
def test_every_json_reader_refuses_deep_and_non_finite_files(tmp_path, capsys, kind):
    bad = tmp_path / "bad.json"
    if kind == "deep":
        bad.write_text(_deep_json(50_000))
        needle = "nested more than"
    else:
        bad.write_text(json.dumps(REF).replace('"A man. He smiles."', "NaN"))
        needle = "non-finite number NaN"
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(REF))
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps({"id": r["id"], "caption": r["caption"]}) + "\n" for r in REF))
    vids = tmp_path / "v"
    vids.mkdir()
    out = tmp_path / "out"
    cases = [
        ["score", "--pred", str(pred), "--ref", str(bad), "--out", str(out / "r.json")],
        ["data", "validate", str(bad)],
        ["data", "stats", str(bad), "--out", str(out), "--no-plots"],
        ["bench", "run", "--model", "landmark", "--videos", str(vids), "--ref", str(bad), "--out", str(out / "b")],
        ["bench", "run", "--model", "landmark", "--videos", str(vids), "--ref", str(ref), "--out", str(out / "c"),
         "--icl", "1", "--icl-file", str(bad)],
    ]
    for args in cases:
        rc = main(args)
        err = capsys.readouterr().err.strip()
        if args[0] == "data" and kind == "nan":  # per-record tools: the record is named and skipped
            assert rc == (1 if args[1] == "validate" else 0), args
            continue
        assert rc != 0, args
        assert len(err.splitlines()) == 1 and needle in err and str(bad) in err, (args, err)


def test_predictions_deep_line_and_over_long_line(tmp_path, capsys):
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(REF))
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": "1", "caption": "x"}) + "\n" + _deep_json(10_000) + "\n")
    _cli_error(capsys, ["score", "--pred", str(pred), "--ref", str(ref), "--out", str(tmp_path / "r.json")],
               "line 2: nested more than")
    # 50 MB on one line: refused at once, in bounded memory (read one bounded line at a time)
    with open(pred, "w") as fh:
        fh.write('{"id": "1", "caption": "')
        chunk = "smile " * 100_000
        for _ in range(84):
            fh.write(chunk)
        fh.write('"}\n')
    with _peak_bytes() as peak:
        _cli_error(capsys, ["score", "--pred", str(pred), "--ref", str(ref), "--out", str(tmp_path / "r.json")],
                   "line 1 is longer than 8 MiB")
    assert peak() < 40 * 2**20  # the 50 MB line is never held whole (8 MiB cap, read in bounded pieces)


@pytest.mark.parametrize("record, needle", [
    ({"id": "1", "caption": None}, "'caption' must be a string, got null"),
    ({"id": "1", "caption": {"text": "x"}}, "'caption' must be a string, got dict"),
    ({"id": "1", "caption": 3.5}, "'caption' must be a string, got float"),
    ({"id": "1", "caption": "   "}, "'caption' is empty"),
    ({"id": ["1"], "caption": "x"}, "'id' must be a non-empty string or an integer, got list"),
    ({"id": True, "caption": "x"}, "'id' must be a non-empty string or an integer, got bool"),
    ({"id": None, "caption": "x"}, "'id' must be a non-empty string or an integer, got null"),
    ({"id": "1", "caption": "x", "video": ["a.mp4"]}, "'video' must be a file name"),
])
def test_reference_values_are_validated_where_read(tmp_path, capsys, record, needle):
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps([REF[1], record]))
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": "2", "caption": "x"}) + "\n")
    err = _cli_error(capsys, ["score", "--pred", str(pred), "--ref", str(ref), "--out", str(tmp_path / "r.json")],
                     needle)
    assert "record 1" in err and str(ref) in err


def test_prediction_id_types(tmp_path, capsys):
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(REF))
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": {"a": 1}, "caption": "x"}) + "\n")
    _cli_error(capsys, ["score", "--pred", str(pred), "--ref", str(ref), "--out", str(tmp_path / "r.json")],
               "line 1: 'id' must be a non-empty string or an integer")


def test_data_validate_names_records_with_nan_or_inf_durations(tmp_path, capsys):
    rec = {"id": "a", "video": "A/a.mp4", "attributes": "A man.", "facial_changes": ["He smiles."],
           "summary": "Happy.", "duration": 2.0}
    ann = tmp_path / "ann.json"
    ann.write_text("[" + ",".join([json.dumps(rec), json.dumps(dict(rec, id="b")).replace("2.0", "NaN"),
                                   json.dumps(dict(rec, id="c")).replace("2.0", "Infinity")]) + "]")
    assert main(["data", "validate", str(ann)]) == 1
    out = capsys.readouterr().out
    assert "1 valid record(s), 2 problem(s)" in out
    assert out.count("must be a finite non-negative number of seconds") == 2
    st = main(["data", "stats", str(ann), "--out", str(tmp_path / "st"), "--no-plots"])
    assert st == 0
    stats = json.loads((tmp_path / "st" / "stats.json").read_text())
    assert stats["n_captions"] == 1 and stats["n_skipped"] == 2


# ------------------------------------------------------------------------------ options and output paths
@pytest.mark.parametrize("args", [
    ["track", "v.mp4", "--fps", "inf"], ["track", "v.mp4", "--fps", "nan"], ["track", "v.mp4", "--fps=-inf"],
    ["data", "build", "a.json", "--root", ".", "--out", "o", "--test-size", "inf"],
    ["data", "build", "a.json", "--root", ".", "--out", "o", "--test-size", "1e999"],
    ["data", "curate", "v", "--out", "o", "--max-duration", "nan"],
    ["score", "--pred", "p", "--ref", "r", "--timeout", "inf"],
])
def test_non_finite_float_options_are_one_line_errors(tmp_path, args):
    res = _run(args, tmp_path, timeout=60)
    assert res.returncode == 2
    _one_line_error(res, "not a finite number")


def test_output_path_check_is_shared_by_every_command(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    under_file = afile / "sub"
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(REF))
    pred = tmp_path / "pred.jsonl"
    pred.write_text(json.dumps({"id": "1", "caption": "x"}) + "\n")
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps([{"id": "a", "video": "a.mp4", "attributes": "A man.", "facial_changes": ["He smiles."],
                                "summary": "Happy."}]))
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not a video")
    lst = tmp_path / "list.txt"
    lst.write_text(str(video) + "\n")
    vids = tmp_path / "vids"
    vids.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({"metrics": {"cider": 0.1}}))

    def commands(out):
        return [
            ["caption", str(video), "--out", out],
            ["caption", "--list", str(lst), "--out", out],
            ["data", "build", str(ann), "--root", str(tmp_path), "--out", out],
            ["data", "stats", str(ann), "--out", out],
            ["data", "curate", str(vids), "--out", out],
            ["bench", "run", "--model", "landmark", "--videos", str(vids), "--ref", str(ref), "--out", out],
            ["bench", "table", str(run), "--out", out],
            ["score", "--pred", str(pred), "--ref", str(ref), "--out", out],
            ["track", str(video), "--out", out],
            ["train", "--merge", str(tmp_path), "--out", out],
            ["demo", "--work", out],
            ["report", str(run), "--out", out],
            ["demo", "--records", out],
        ]

    for args in commands(str(afile)):
        if args[0] in ("score", "report") or args[1:2] in (["--list"], ["--records"]):  # file outputs: an existing file is resumed/overwritten
            continue
        _cli_error(capsys, args, "exists and is not a folder")
    for args in commands(str(under_file)):
        _cli_error(capsys, args, "is a file, not a folder")
    for args in (["score", "--pred", str(pred), "--ref", str(ref), "--out", str(tmp_path)],
                 ["caption", "--list", str(lst), "--out", str(tmp_path)],
                 ["report", str(run), "--out", str(tmp_path)],
                 ["demo", "--records", str(tmp_path)]):
        _cli_error(capsys, args, "is a folder; give a file name")
    assert afile.read_text() == "x" and not under_file.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_unwritable_output_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(DfecError, match="not writable"):
            check_output_dir(ro / "new")
        with pytest.raises(DfecError, match="not writable"):
            check_output_file(ro / "r.json")
        with pytest.raises(DfecError, match="not writable"):
            check_output_dir(ro)
    finally:
        ro.chmod(0o755)


def test_unwritable_output_folder_as_root(tmp_path, monkeypatch):
    """os.access decides (root bypasses file modes, so the check is exercised through it)."""
    import dfec.userfiles as uf

    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(uf.os, "access", lambda p, mode: Path(p) != ro)
    with pytest.raises(DfecError, match="folder .* is not writable"):
        check_output_dir(ro / "new" / "deeper")
    with pytest.raises(DfecError, match="output folder \\(--out\\) is not writable"):
        check_output_dir(ro)
    assert not (ro / "new").exists()


# ------------------------------------------------------------------------------ the data root
def test_one_root_check_for_build_stats_and_train(tmp_path, capsys):
    from dfec.train.trainer import load_samples

    root = tmp_path / "root"
    (root / "A").mkdir(parents=True)
    (root / "A" / "a.mp4").write_bytes(b"x")
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"x")
    (root / "link").symlink_to(tmp_path)
    for bad in ("../secret.mp4", str(outside), "A/../../secret.mp4", "link/../secret.mp4"):
        with pytest.raises(ValueError, match="escapes the data root"):
            resolve_under_root(bad, root)
        # dfec data stats --root
        refs = tmp_path / "refs.json"
        refs.write_text(json.dumps([{"id": "1", "video": bad, "caption": "A man. He smiles."}]))
        _cli_error(capsys, ["data", "stats", str(refs), "--root", str(root), "--out", str(tmp_path / "st"),
                            "--no-plots"], "escapes the data root")
        # the train.json `dfec train` reads, next to the build summary naming the root
        built = tmp_path / "built"
        built.mkdir(exist_ok=True)
        (built / "build_summary.json").write_text(json.dumps({"data_root": str(root)}))
        (built / "train.json").write_text(json.dumps([{"id": "1", "video": bad, "caption": "A man. He smiles."}]))
        with pytest.raises(DfecError, match="field 'video': path .* escapes the data root"):
            load_samples(built / "train.json")
        (built / "train.json").write_text(json.dumps([{"id": "1", "video": "A/a.mp4", "caption": "x",
                                                       "tracks": bad}]))
        with pytest.raises(DfecError, match="field 'tracks': path .* escapes the data root"):
            load_samples(built / "train.json")
    assert resolve_under_root("A/a.mp4", root)[1] == "A/a.mp4"
    (built / "train.json").write_text(json.dumps([{"id": "1", "video": "A/a.mp4", "caption": "x"}]))
    assert load_samples(built / "train.json")[0]["video"] == str(root / "A" / "a.mp4")


def test_train_json_deep_nan_and_long_lines(tmp_path):
    from dfec.train.trainer import load_samples

    data = tmp_path / "train.json"
    data.write_text(_deep_json(20_000))
    with pytest.raises(DfecError, match="nested more than"):
        load_samples(data)
    data.write_text('[{"id": "1", "video": "a.mp4", "caption": "x", "w": NaN}]')
    with pytest.raises(DfecError, match="non-finite"):
        load_samples(data)
    jl = tmp_path / "train.jsonl"
    jl.write_text('{"id": "1", "video": "a.mp4", "caption": "' + "x" * (9 * 2**20) + '"}\n')
    with pytest.raises(DfecError, match="line 1 is longer than"):
        load_samples(jl)


# ------------------------------------------------------------------------------ truncated video
def _faststart_clip(path, n=100, fps=25):
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for _ in range(n):
            img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            for pk in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)


def test_truncated_video_warns_once_and_reports_coverage(tmp_path, capsys):
    from dfec.video import reader

    full, half = tmp_path / "full.mp4", tmp_path / "half.mp4"
    _faststart_clip(full)
    data = full.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    cov = {}
    n_full = sum(1 for _ in reader.iter_frames(full, 16, fill=True, coverage=cov))
    assert cov == {"declared_duration_s": 4.0, "analysed_duration_s": 4.0, "truncated": False} and n_full == 64
    assert "warning" not in capsys.readouterr().err
    cov = {}
    n_half = sum(1 for _ in reader.iter_frames(half, 16, fill=True, coverage=cov))
    assert cov["truncated"] and cov["declared_duration_s"] == 4.0 and 0.5 < cov["analysed_duration_s"] < 3.0
    assert n_half == pytest.approx(cov["analysed_duration_s"] * 16, abs=1)
    err = capsys.readouterr().err
    assert err.count("truncated video") == 1 and str(half) in err
    sum(1 for _ in reader.iter_frames(half, 16))
    assert "truncated" not in capsys.readouterr().err  # once per file


def test_truncated_video_is_recorded_in_tracks_and_events(tmp_path):
    pytest.importorskip("dlib")
    full = tmp_path / "full.mp4"
    _faststart_clip(full, n=50)
    half = tmp_path / "half.mp4"
    half.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    res = _run(["caption", str(half), "--out", str(tmp_path / "cap"), "--quiet"], tmp_path, timeout=300)
    assert "truncated video" in res.stderr, res.stderr
    events = json.loads((tmp_path / "cap" / "events.json").read_text())
    cov = events["video_coverage"]
    assert cov["truncated"] and cov["declared_duration_s"] == 2.0 and cov["analysed_duration_s"] < 1.5
    res = _run(["track", str(half), "--out", str(tmp_path / "tr"), "--quiet"], tmp_path, timeout=300)
    tracks = json.loads((tmp_path / "tr" / "tracks.json").read_text())
    assert tracks["video_coverage"] == cov

    from dfec.schema import TrackingResult

    assert TrackingResult.from_json(tracks).video_coverage == cov
    assert read_json(tmp_path / "tr" / "tracks.json", allow_nonfinite=True)["video_coverage"]["truncated"]


# ------------------------------------------------------------------------------ other classes
@pytest.mark.parametrize("args, needle", [
    (["score", "--pred", "p", "--ref", "r", "--concurrency", "0"], "--concurrency: must be at least 1"),
    (["score", "--pred", "p", "--ref", "r", "--max-retries", "-1"], "--max-retries: must not be negative"),
    (["score", "--pred", "p", "--ref", "r", "--timeout", "0"], "--timeout: must be positive"),
    (["score", "--pred", "p", "--ref", "r", "--price-prompt", "-2"], "--price-prompt: must not be negative"),
    (["bench", "run", "--model", "landmark", "--videos", "v", "--ref", "r", "--out", "o", "--limit", "-1"],
     "--limit: must be at least 1"),
    (["bench", "run", "--model", "landmark", "--videos", "v", "--ref", "r", "--out", "o", "--n-frames", "0"],
     "--n-frames: must be at least 1"),
    (["bench", "run", "--model", "landmark", "--videos", "v", "--ref", "r", "--out", "o", "--icl", "-1"],
     "--icl: must not be negative"),
    (["data", "curate", "v", "--out", "o", "--max-duration", "-5"], "--max-duration: must be positive"),
    (["data", "curate", "v", "--out", "o", "--workers", "x"], "--workers: not an integer"),
    (["data", "curate", "v", "--out", "o", "--workers", "-1"], "--workers: must not be negative"),
    (["caption", "--list", "l", "--out", "o", "--workers", "0"], "--workers: must be at least 1"),
    (["caption", "v", "--max-retries", "-1"], "--max-retries: must not be negative"),
    (["bench", "run", "--model", "landmark", "--videos", "v", "--ref", "r", "--out", "o", "--ray-gpus", "-1"],
     "--ray-gpus: must not be negative"),
    (["bench", "run", "--model", "landmark", "--videos", "v", "--ref", "r", "--out", "o", "--workers", "0"],
     "--workers: must be at least 1"),
    (["demo", "--port", "-1"], "--port: must not be negative"),
    (["data", "build", "a.json", "--root", ".", "--out", "o", "--test-size", "-1"], "--test-size: must not be negative"),
])
def test_numeric_options_out_of_range(tmp_path, args, needle):
    res = _run(args, tmp_path, timeout=60)
    assert res.returncode == 2
    _one_line_error(res, needle)


def test_video_list_bad_bytes_stats_root_and_empty_ids(tmp_path, capsys):
    lst = tmp_path / "list.txt"
    lst.write_bytes(b"ok.mp4\n\xff\xfebad.mp4\n")
    _cli_error(capsys, ["caption", "--list", str(lst), "--out", str(tmp_path / "p.jsonl")], "line 2 is not UTF-8 text")
    ann = tmp_path / "refs.json"
    ann.write_text(json.dumps(REF))
    _cli_error(capsys, ["data", "stats", str(ann), "--root", str(tmp_path / "nope"), "--out", str(tmp_path / "s")],
               "data root (--root) is not a directory")
    vids = tmp_path / "v"
    vids.mkdir()
    _cli_error(capsys, ["bench", "run", "--model", "landmark", "--videos", str(vids), "--ref", str(ann),
                        "--out", str(tmp_path / "b"), "--ids", ",, ,"], "--ids lists no id")


def test_tracks_json_deep_or_malformed(tmp_path):
    from dfec.schema import TrackingResult

    t = tmp_path / "tracks.json"
    t.write_text(_deep_json(30_000))
    with pytest.raises(DfecError, match="nested more than"):
        TrackingResult.load(t)
    t.write_text("[1, 2]")
    with pytest.raises(DfecError, match="not a tracks.json file"):
        TrackingResult.load(t)
    with pytest.raises(DfecError, match="no such file"):
        TrackingResult.load(tmp_path / "gone.json")


def test_judge_reply_parser_and_option_values_refuse_hostile_json(tmp_path, capsys):
    from dfec.metrics.openai_judge import parse_json_reply

    for reply, needle in (("[" * 5000 + "]" * 5000, "nested too deeply"),
                          ('{"a":' * 100 + "1" + "}" * 100, "nested more than"),
                          ('Here: {"correctness": NaN}', "non-finite"),
                          ("x" * 1_000_001, "longer than")):
        with pytest.raises(ValueError, match=needle):
            parse_json_reply(reply)
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps(REF))
    (tmp_path / "v").mkdir()
    _cli_error(capsys, ["bench", "run", "--model", "landmark", "--videos", str(tmp_path / "v"), "--ref", str(ref),
                        "--out", str(tmp_path / "o"), "--opt", "x=" + "[" * 5000], "--opt x: nested more than")


def test_resumed_jsonl_output_with_a_hostile_line(tmp_path):
    from dfec.jsonl import read_jsonl

    out = tmp_path / "preds.jsonl"
    out.write_text('{"id": "1", "caption": "x"}\n' + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(DfecError, match="line 2: nested more than"):
        read_jsonl(out)


def test_symlinks_out_of_the_data_root_are_refused(tmp_path):
    """A linked folder or file inside the root whose target is outside it escapes the root; a link
    that stays inside the root is fine."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "A").mkdir(parents=True)
    (root / "A" / "a.mp4").write_bytes(b"x")
    outside.mkdir()
    (outside / "passwd").write_text("x")
    (root / "evil").symlink_to(outside)
    (root / "evil.mp4").symlink_to(outside / "passwd")
    for bad in ("evil/passwd", "evil.mp4", "A/../evil/passwd"):
        with pytest.raises(ValueError, match="escapes the data root .* through a symlink"):
            resolve_under_root(bad, root)
    (root / "alias").symlink_to(root / "A")
    (root / "same.mp4").symlink_to(root / "A" / "a.mp4")
    assert resolve_under_root("alias/a.mp4", root)[1] == "alias/a.mp4"
    assert resolve_under_root("same.mp4", root)[1] == "same.mp4"
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(ValueError):
        resolve_under_root("loop/x.mp4", root)


@pytest.mark.parametrize("text, needle", [
    ("speak_pause_min_s: 5.0\n", "'speak_pause_min_s' (5) must not exceed 'speak_pause_max_s' (2.5)"),
    ("blink_max_s: 0.5\nclosure_max_s: 0.3\n", "'blink_max_s' (0.5) must not exceed 'closure_max_s' (0.3)"),
    ("mouth_open_above: 0.01\n", "'mouth_closed_below' (0.035) must not exceed 'mouth_open_above' (0.01)"),
])
def test_dynamics_config_refuses_crossed_bounds(tmp_path, text, needle):
    # a lower bound above its upper bound was taken silently (review 3, finding 10); the same values
    # in the right order load
    from dfec.dynamics.config import load_config

    cfg = tmp_path / "dyn.yaml"
    cfg.write_text(text)
    with pytest.raises(DfecError, match=needle.replace("(", r"\(").replace(")", r"\)")) as err:
        load_config(cfg)
    assert str(cfg) in str(err.value)
    cfg.write_text("speak_pause_min_s: 2.5\nblink_max_s: 0.3\nclosure_max_s: 0.5\nmouth_open_above: 0.035\n")
    ok = load_config(cfg)
    assert ok.speak_pause_min_s == ok.speak_pause_max_s == 2.5 and ok.closure_max_s == 0.5
    cfg.write_text("closure_max_s: 0\n")  # 0 is the documented "off", not a bound (review 4)
    assert load_config(cfg).closure_max_s == 0
