"""Voice activity from the sound track (dfec.video.audio) on synthetic audio with known voiced
spans, and its fusion with the lips (dfec.dynamics.speech.fuse_voice) on synthetic mouths."""
from __future__ import annotations

import json
import logging
from dataclasses import replace


import numpy as np
import pytest

from dfec.dynamics.captioner import caption_video
from dfec.dynamics.config import DynamicsConfig, effective_thresholds
from dfec.dynamics.events import _detail_mask
from dfec.dynamics.signals import track_signals
from dfec.dynamics.speech import lip_runs, speech_runs
from dfec.dynamics.synthetic_mesh import mesh_sequence, syllables
from dfec.video import audio as au

RATE = 16000


# ----------------------------------------------------------------------------- synthetic sound
def voiced(start: float, end: float, duration: float, level_db: float = -20.0, seed: int = 0) -> np.ndarray:
    """Speech-like sound from ``start`` to ``end`` s: a glottal pulse train (pitch 110-140 Hz,
    drifting) through three formant resonators, cut into syllables of 0.15-0.3 s with short
    near-silent closures between them (the 3-6 Hz energy rhythm of speech)."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(duration * RATE)
    t = np.arange(n) / RATE
    f0 = 125 + 15 * np.sin(2 * np.pi * 0.7 * t)
    phase = np.cumsum(f0 / RATE)
    src = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)  # one pulse per period
    x = src
    for f, bw in ((700, 90), (1200, 110), (2600, 160)):
        r = np.exp(-np.pi * bw / RATE)
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / RATE), r * r], x)
    env = np.zeros(n)
    s = start
    while s < end:
        d = rng.uniform(0.15, 0.3)
        a, b = int(s * RATE), int(min(s + d, end) * RATE)
        env[a:b] = np.hanning(b - a) ** 0.5 * rng.uniform(0.6, 1.0)
        s += d + rng.uniform(0.04, 0.09)
    x = x * env
    x = x / (np.sqrt(np.mean(x[env > 0.3] ** 2)) + 1e-12) * 10 ** (level_db / 20)
    return x


def noise(duration: float, level_db: float = -50.0, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 10 ** (level_db / 20), int(duration * RATE))


def chord(start: float, end: float, duration: float, level_db: float = -20.0) -> np.ndarray:
    """A held C-major chord (three notes with four harmonics each) from ``start`` to ``end`` s."""
    n = int(duration * RATE)
    t = np.arange(n) / RATE
    x = sum(sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 5)) for f in (261.6, 329.6, 392.0))
    x = x * ((t >= start) & (t < end))
    return x / np.sqrt(np.mean(x[(t >= start) & (t < end)] ** 2)) * 10 ** (level_db / 20)


def grid(duration: float) -> np.ndarray:
    return np.arange(int(round(duration * 16))) / 16.0


def write_media(path, x: np.ndarray, duration: float, video: bool = True) -> None:
    """An mp4 (16-fps grey video + AAC sound) or, without ``video``, a wav of ``x``."""
    import av

    with av.open(str(path), "w") as c:
        vs = None
        if video:
            vs = c.add_stream("mpeg4", rate=16)
            vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("aac" if video else "pcm_s16le", rate=RATE)
        a.layout = "mono"
        if vs is not None:
            for i in range(int(duration * 16)):
                img = np.full((48, 64, 3), 100 + i % 50, np.uint8)
                for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
            for p in vs.encode():
                c.mux(p)
        pcm = np.clip(x * 32767, -32768, 32767).astype(np.int16)
        step = 1024
        for k in range(0, len(pcm), step):
            fr = av.AudioFrame.from_ndarray(pcm[None, k:k + step], format="s16", layout="mono")
            fr.sample_rate = RATE
            fr.pts = k
            for p in a.encode(fr):
                c.mux(p)
        for p in a.encode():
            c.mux(p)


def spans(track: au.VoiceTrack) -> list[tuple[float, float]]:
    return track.segments(0.3)


# ----------------------------------------------------------------------------- the VAD
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_voiced_spans_are_found_within_a_frame_or_two(seed):
    d = 6.0
    x = noise(d, seed=seed) + voiced(1.0, 2.5, d, seed=seed) + voiced(3.6, 5.0, d, seed=seed + 10)
    vt = au.voice_on_grid(x, RATE, grid(d), 16.0)
    got = spans(vt)
    assert len(got) == 2, got
    for (s, e), (s0, e0) in zip(got, [(1.0, 2.5), (3.6, 5.0)]):
        assert abs(s - s0) <= 2 / 16 + 0.05 and abs(e - e0) <= 2 / 16 + 0.1, got
    assert not vt.active[grid(d) < 0.8].any() and not vt.active[(grid(d) > 2.8) & (grid(d) < 3.4)].any()


def test_white_noise_a_held_chord_and_silence_are_not_voice():
    d = 5.0
    # loud white noise bursts over a quiet floor: loud, but flat and unvoiced
    burst = noise(d, -20.0, seed=3) * ((np.arange(int(d * RATE)) / RATE % 1.0) < 0.5)
    assert not au.voice_on_grid(noise(d) + burst, RATE, grid(d), 16.0).active.any()
    # a steady chord (music): harmonic and in the speech band, but no syllable rhythm
    assert not au.voice_on_grid(noise(d) + chord(1.0, 4.0, d), RATE, grid(d), 16.0).active.any()
    # digital silence and a faint hiss
    assert not au.voice_on_grid(np.zeros(int(d * RATE)), RATE, grid(d), 16.0).active.any()
    assert not au.voice_on_grid(noise(d, -70.0), RATE, grid(d), 16.0).active.any()


def test_each_cue_is_needed():
    d = 5.0
    x = noise(d) + chord(0.5, 4.5, d)
    # without the modulation rule the held chord reads as voice: the rule that keeps it out
    loose = au.voice_on_grid(x, RATE, grid(d), 16.0, modulation_db=0.0)
    assert loose.active.mean() > 0.5
    # without the one-sided rule the chord's start and end (one step each) read as voice
    steps = au.voice_on_grid(x, RATE, grid(d), 16.0, step_db=0.0)
    assert steps.active[np.abs(grid(d) - 0.5) < 0.3].any() and not steps.active[(grid(d) > 1.2) & (grid(d) < 3.8)].any()
    # without the band, flatness or voicing cues loud white noise is voice
    hiss = noise(d) + noise(d, -20.0, seed=4) * ((np.arange(int(d * RATE)) / RATE % 0.5) < 0.25)
    assert not au.voice_on_grid(hiss, RATE, grid(d), 16.0).active.any()
    assert au.voice_on_grid(hiss, RATE, grid(d), 16.0, flatness=1.0, voicing=0.0).active.mean() > 0.3
    # speech over a held chord (a voice over music) is still heard
    y = x + voiced(1.5, 3.0, d, level_db=-8.0)
    got = spans(au.voice_on_grid(y, RATE, grid(d), 16.0))
    assert len(got) == 1 and abs(got[0][0] - 1.5) <= 0.25 and abs(got[0][1] - 3.0) <= 0.25, got


def test_features_separate_voice_from_noise():
    d = 2.0
    f_v = au.frame_features(voiced(0.0, 2.0, d) + noise(d), RATE)
    f_n = au.frame_features(noise(d, -20.0), RATE)
    loud = f_v["energy_db"] > np.percentile(f_v["energy_db"], 50)
    assert np.median(f_v["voicing"][loud]) > 0.6 > np.median(f_n["voicing"])
    assert np.median(f_v["flatness"][loud]) < 0.2 and np.median(f_n["flatness"]) > 0.4
    assert np.median(f_v["band_share"][loud]) > 0.5


def test_decoded_from_files_aligned_to_the_video_frames(tmp_path):
    d = 5.0
    x = noise(d) + voiced(1.5, 3.5, d)
    for name, video in (("clip.mp4", True), ("clip.wav", False)):
        p = tmp_path / name
        write_media(p, x, d, video=video)
        vt = au.voice_activity(p, grid(d), 16.0)
        got = spans(vt)
        assert len(got) == 1 and abs(got[0][0] - 1.5) <= 0.15 and abs(got[0][1] - 3.5) <= 0.2, (name, got)


def break_audio_decoding(monkeypatch) -> None:
    """Make every audio stream fail to decode (PyAV's resampler raises as on corrupt data)."""
    import av

    class Broken:
        def __init__(self, *a, **k):
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(av, "AudioResampler", Broken)


def test_no_audio_stream_is_none_and_a_corrupt_one_warns(tmp_path, monkeypatch, caplog):
    import av

    p = tmp_path / "mute.mp4"
    with av.open(str(p), "w") as c:
        vs = c.add_stream("mpeg4", rate=16)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for i in range(16):
            for pk in vs.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
                c.mux(pk)
        for pk in vs.encode():
            c.mux(pk)
    assert au.voice_activity(p, grid(1.0), 16.0) is None
    assert au.voice_activity(tmp_path / "absent.mp4", grid(1.0), 16.0) is None
    # a muted track is no evidence: None, not "nobody speaks"
    write_media(tmp_path / "muted.mp4", np.zeros(RATE), 1.0)
    assert au.voice_activity(tmp_path / "muted.mp4", grid(1.0), 16.0) is None
    write_media(tmp_path / "quiet.mp4", noise(1.0, -40.0), 1.0)
    assert au.voice_activity(tmp_path / "quiet.mp4", grid(1.0), 16.0) is not None
    q = tmp_path / "clip.mp4"
    write_media(q, voiced(0.2, 0.8, 1.0), 1.0)
    break_audio_decoding(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="dfec.video.audio"):
        assert au.voice_activity(q, grid(1.0), 16.0) is None
    assert "not decodable" in caplog.text


# ----------------------------------------------------------------------------- fusion with the lips
def small_talk(start, end, seed=0):
    """Quiet speech: lips held 10 mm apart (a held smile), each syllable opening them by only
    1.2-2.2 mm more (closing less than a fifth of the gap: too shallow for the lips alone)."""
    return syllables(start, end, open_mm=(11.2, 12.2), rest_mm=10.0, seed=seed)


#: the lip-only runs' ends as they are (where the last closing comes within a fifth of the rest
#: level): the tests of the fusion rules compare with them; ``speak_end_level`` (a talk the lips
#: end ends where the closing is half-way) is tested in test_dynamics_speech.py
END_AT_REST = DynamicsConfig(speak_end_level=0.0)


def fused(tr, voice_spans, cfg=None):
    cfg = cfg or DynamicsConfig()
    sig = track_signals(tr, cfg.signals)
    if voice_spans is not None:
        on = np.zeros(len(sig), bool)
        for s, e in voice_spans:
            on |= (sig.times >= s) & (sig.times < e)
        sig.voice = au.VoiceTrack(sig.times, on.astype(float), on, -60.0)
    eff = effective_thresholds(sig, cfg)
    det = _detail_mask(sig, eff)
    return [(r.start, r.end) for r in speech_runs(sig, eff, det)], [(r.start, r.end) for r in lip_runs(sig, eff, det)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_voice_and_small_articulation_is_speech(seed):
    tr = mesh_sequence(5.0, noise_px=0.3, seed=seed, mouth=small_talk(1.0, 3.5, seed))
    runs, lips = fused(tr, [(1.0, 3.5)])
    assert lips == []  # too small for the lips alone
    assert len(runs) == 1 and abs(runs[0][0] - 1.0) <= 0.1 and abs(runs[0][1] - 3.5) <= 0.1
    # the switch off, or no sound: the lips alone
    assert fused(tr, [(1.0, 3.5)], DynamicsConfig(speak_audio=False))[0] == []
    assert fused(tr, None)[0] == []


@pytest.mark.parametrize("seed", [0, 1])
def test_voice_with_a_still_mouth_is_not_speech(seed):
    for mouth in (0.5, 4.0):
        tr = mesh_sequence(5.0, noise_px=0.3, seed=seed, mouth=lambda t: mouth + 0 * t)
        assert fused(tr, [(0.5, 4.5)])[0] == [], mouth
    # one slow opening while someone else talks: no syllable rhythm on the lips
    slow = mesh_sequence(5.0, noise_px=0.3, seed=seed,
                         mouth=lambda t: 0.5 + 5 * np.exp(-((t - 2.0) / 0.25) ** 2))
    assert fused(slow, [(0.5, 4.5)])[0] == []


def test_without_audio_the_lip_rule_is_unchanged():
    for seed in range(3):
        tr = mesh_sequence(5.0, noise_px=0.3, seed=seed, mouth=syllables(1.0, 3.5, seed=seed))
        bare = DynamicsConfig(speak_end_level=0.0)
        runs, lips = fused(tr, None, bare)
        assert runs == lips and len(runs) == 1
        # the lips' own end: the run ends where its last closing is half-way (speak_end_level),
        # inside the lip-only run
        trimmed = fused(tr, None)[0]
        assert len(trimmed) == 1 and trimmed[0][0] == lips[0][0] and lips[0][0] < trimmed[0][1] <= lips[0][1]
        # silence everywhere: the lip-only run stays (voice never removes speech by default) ...
        assert fused(tr, [], bare)[0] == lips and fused(tr, [])[0] == trimmed
        # ... unless the silent veto is on
        assert fused(tr, [], DynamicsConfig(speak_silent_veto=0.1))[0] == []


def test_pauses_follow_the_voice_gaps():
    a, b = small_talk(0.5, 2.0, 1), small_talk(3.0, 4.5, 2)
    tr = mesh_sequence(5.5, noise_px=0.3, seed=0, mouth=lambda t: np.maximum(a(t), b(t)))
    runs, _ = fused(tr, [(0.5, 2.0), (3.0, 4.5)])
    assert len(runs) == 2 and abs(runs[0][1] - 2.0) <= 0.1 and abs(runs[1][0] - 3.0) <= 0.1
    # lips articulating fully through the voice gap (the lip rule says speech): no pause there
    full = mesh_sequence(5.5, noise_px=0.3, seed=0, mouth=syllables(0.5, 4.5, seed=5))
    runs, lips = fused(full, [(0.5, 2.0), (3.0, 4.5)])
    assert len(lips) == 1 and len(runs) == 1


def test_lip_speech_beyond_the_voice_stays_and_voice_retimes_the_rest():
    # full lip speech 0.5-4.5 s, voice heard only 0.5-2.0 s (singing over music is not heard):
    # the lips keep the rest of the talk
    tr = mesh_sequence(5.5, noise_px=0.3, seed=0, mouth=syllables(0.5, 4.5, seed=5))
    runs, lips = fused(tr, [(0.5, 2.0)])
    assert len(lips) == 1 and len(runs) == 1 and abs(runs[0][1] - lips[0][1]) <= 0.01
    # a lip run already going on when the voice starts (2422: lips from 0.69 s, voice from 1.31 s,
    # speech by eye from 0.88 s): the piece before the talk is the talk's start; it needs only
    # speak_voice_continue articulations, as the piece after a talk does (review 4, B1)
    early = mesh_sequence(5.0, noise_px=0.3, seed=1, mouth=syllables(0.6, 3.5, seed=6))
    runs, lips = fused(early, [(1.1, 3.5)])
    assert len(lips) == 1 and lips[0][0] < 1.0
    assert len(runs) == 1 and runs[0][0] == lips[0][0], (runs, lips)
    # the rule off: the voice times the start when the part before it holds fewer than three
    off = fused(early, [(1.1, 3.5)], DynamicsConfig(speak_voice_continue=0))[0]
    assert len(off) == 1 and abs(off[0][0] - 1.1) <= 0.1, off


def talking_clip(tmp_path):
    """A 5-s mesh track that talks at 1.0-3.5 s and its video file with the voice at the same time."""
    d = 5.0
    tr = mesh_sequence(d, noise_px=0.3, seed=0, mouth=small_talk(1.0, 3.5, 0))
    p = tmp_path / "talk.mp4"
    write_media(p, noise(d) + voiced(1.0, 3.5, d), d)
    tr.video = str(p)
    return tr, p


def test_caption_video_hears_the_file(tmp_path):
    tr, p = talking_clip(tmp_path)
    heard = caption_video(p, tracking=tr)
    assert heard.signals.voice is not None
    assert [e.kind for e in heard.timeline].count("speaking") == 1
    deaf = caption_video(p, DynamicsConfig(speak_audio=False), tracking=tr)
    assert deaf.signals.voice is None and "speaking" not in [e.kind for e in deaf.timeline]
    # a tracking result captioned without its video: no sound, the lip rule
    gone = caption_video(tmp_path / "elsewhere.mp4", tracking=tr)
    assert gone.signals.voice is None and gone.caption == deaf.caption


def test_voice_reaches_events_json_and_the_report_lanes(tmp_path):
    from dfec.report.data import lanes_payload

    tr, p = talking_clip(tmp_path)
    caption_video(p, tracking=tr, out_dir=tmp_path / "heard")
    sig = json.loads((tmp_path / "heard" / "events.json").read_text())["signals"]
    score = np.array([np.nan if x is None else x for x in sig["voice"]["score"]])
    t = np.asarray(sig["times"])
    assert len(score) == len(t) and np.nanmean(score[(t > 1.3) & (t < 3.2)]) > 0.5
    assert np.nanmax(score[(t < 0.7) | (t > 3.9)]) < 0.5
    lanes = lanes_payload(sig)
    assert lanes[-1]["region"] == "sound" and lanes[-1]["series"][0]["y"] == [
        None if x is None else round(x, 3) for x in sig["voice"]["score"]]
    # no sound: no voice in events.json and no sound lane
    caption_video(p, DynamicsConfig(speak_audio=False), tracking=tr, out_dir=tmp_path / "deaf")
    sig = json.loads((tmp_path / "deaf" / "events.json").read_text())["signals"]
    assert sig["voice"] is None and all(lane["region"] != "sound" for lane in lanes_payload(sig))


def test_real_clip_voice_and_fusion(shared_data):
    """Dev clip 669 (two talks, by eye 0.0-4.45 and 5.88-7.38 s): the sound finds voice in both
    (the fused runs: the next test); a clip without sound gives None."""
    clip = shared_data / "wild" / "emollama__sample_00000669.mp4"
    if not clip.is_file():
        pytest.skip("dev clip 669 not in shared data")
    t = grid(7.5)
    vt = au.voice_activity(clip, t, 16.0, **{k: v for k, v in _vad(DynamicsConfig()).items()})
    assert vt is not None
    assert vt.active[(t > 0.2) & (t < 4.4)].mean() > 0.4 and vt.active[(t > 6.2) & (t < 7.3)].mean() > 0.6
    assert not vt.active[(t > 4.8) & (t < 5.8)].any()
    mute = shared_data / "wild" / "facellava__facial_expr_example_1.mp4"
    if mute.is_file():
        assert au.voice_activity(mute, t, 16.0) is None


def test_real_clip_fused_runs_match_the_by_eye_count(shared_data, mediapipe_stack, tmp_path):
    """Dev clip 669 captioned with its sound: as many speaking runs (speaking, speaking_resume)
    as counted by eye (``counts_by_eye`` of ``tests/data/wild_captions_by_eye.json``), each
    overlapping its by-eye run."""
    from pathlib import Path

    clip = shared_data / "wild" / "emollama__sample_00000669.mp4"
    if not clip.is_file():
        pytest.skip("dev clip 669 not in shared data")
    doc = json.loads((Path(__file__).parent / "data" / "wild_captions_by_eye.json").read_text())
    eye = doc["counts_by_eye"]["clips"]["emollama__sample_00000669"]["speaking"]
    r = caption_video(clip, out_dir=tmp_path)
    assert r.signals.voice is not None
    runs = [(e.start, e.end) for e in r.timeline if e.kind in ("speaking", "speaking_resume")]
    assert len(runs) == len(eye) == 2, runs
    assert all(min(e, b) > max(s, a) for (s, e), (a, b) in zip(runs, eye)), (runs, eye)


def _vad(cfg):
    from dfec.dynamics.speech import vad_settings

    return vad_settings(cfg)


def test_config_defaults_reach_the_vad(tmp_path):
    from dfec.dynamics.config import load_config

    cfg = replace(DynamicsConfig(), voice_modulation_db=0.0)
    assert _vad(cfg)["modulation_db"] == 0.0 and _vad(DynamicsConfig())["band_share"] == DynamicsConfig().voice_band_share
    f = tmp_path / "cfg.yaml"
    f.write_text("speak_audio: false\nvoice_silence_db: 60\nspeak_voice_min_peaks: 3\n")
    cfg = load_config(f)
    assert cfg.speak_audio is False and _vad(cfg)["min_db"] == -60.0 and cfg.speak_voice_min_peaks == 3


def test_voice_going_on_after_a_lip_run_continues_the_talk():
    # lip speech 0.5-2.0 s with no voice heard in it (2422: voice only after the lips' run), then
    # voice 1.9-3.3 s with one articulation in it, too far from the run to chain into it: the
    # talk goes on to the voice's end
    talk = syllables(0.5, 2.0, seed=5)
    one = lambda t: 0.5 + 2.5 * np.exp(-((t - 2.9) / 0.08) ** 2)
    tr = mesh_sequence(4.5, noise_px=0.3, seed=0, mouth=lambda t: np.maximum(talk(t), one(t)))
    runs, lips = fused(tr, [(1.9, 3.3)])
    assert len(lips) == 1 and lips[0][1] < 2.2
    assert len(runs) == 1 and abs(runs[0][0] - lips[0][0]) <= 0.01 and abs(runs[0][1] - 3.3) <= 0.1, (runs, lips)
    assert fused(tr, [(1.9, 3.3)], replace(END_AT_REST, speak_voice_continue=0))[0] == lips  # the rule off
    # a still mouth under the later voice (someone answering): the talk ends with the lips
    # (the lips' run at its own ends: speak_end_level off, the half-way end is tested elsewhere)
    still = mesh_sequence(4.5, noise_px=0.3, seed=0, mouth=talk)
    runs, lips = fused(still, [(1.9, 3.3)], END_AT_REST)
    assert runs == lips
    # voice starting after a pause with one articulation: no speech there
    late = lambda t: 0.5 + 2.5 * np.exp(-((t - 3.6) / 0.08) ** 2)
    far = mesh_sequence(4.5, noise_px=0.3, seed=0, mouth=lambda t: np.maximum(talk(t), late(t)))
    runs, lips = fused(far, [(3.2, 4.2)], END_AT_REST)
    assert runs == lips


def _pulses(peaks, amp, rest, width=0.3):
    """Lips ``rest`` mm apart, one raised-cosine opening of ``amp`` mm per peak time."""
    def curve(t):
        y = np.full(np.shape(t), rest, dtype=float)
        for p in peaks:
            ph = (np.asarray(t) - p) / width + 0.5
            y = np.where((ph >= 0) & (ph <= 1), np.maximum(y, rest + amp * 0.5 * (1 - np.cos(2 * np.pi * ph))), y)
        return y
    return curve


def test_lips_leading_the_voice_at_a_talk_onset_count_with_it():
    # small articulations (too shallow for the lips alone) at 1.0 and 1.35 s, the voice from
    # 1.6 s with one more at 1.9 s: the lips led the voice; the talk starts with them
    tr = mesh_sequence(3.0, noise_px=0.3, seed=0, mouth=_pulses([1.0, 1.35, 1.9], 1.8, 10.0))
    runs, lips = fused(tr, [(1.6, 2.5)])
    assert lips == []
    assert len(runs) == 1 and 1.0 <= runs[0][0] <= 1.3 and abs(runs[0][1] - 2.5) <= 0.1, runs
    assert fused(tr, [(1.6, 2.5)], DynamicsConfig(speak_voice_lead_s=0.0))[0] == []  # the rule off
    # inside a talk (voice heard just before), the sound and the lips are in step: no lead
    talk = _pulses([0.2, 0.5, 0.8, 1.0, 1.35, 1.9], 1.8, 10.0)
    tr = mesh_sequence(3.0, noise_px=0.3, seed=0, mouth=talk)
    runs, _ = fused(tr, [(0.1, 0.95), (1.6, 2.5)])
    assert len(runs) == 1 and runs[0][1] <= 1.0, runs


@pytest.mark.parametrize("seed", [0, 1])
def test_voice_over_still_lips_cuts_the_lip_run_reaching_into_it(seed):
    # one early articulation at 0.6 s under someone else's voice (0.2-0.9 s), then lip speech
    # 1.2-2.1 s without voice (2422: the lip run started under the other voice)
    tr = mesh_sequence(3.0, noise_px=0.3, seed=seed, mouth=_pulses([0.6, 1.2, 1.5, 1.8, 2.1], 6.0, 0.5))
    runs, lips = fused(tr, [(0.2, 0.9)], END_AT_REST)
    assert len(lips) == 1 and lips[0][0] < 0.6
    assert len(runs) == 1 and 0.85 <= runs[0][0] <= 1.1 and runs[0][1] == lips[0][1], (runs, lips)
    assert fused(tr, [(0.2, 0.9)], replace(END_AT_REST, speak_voice_still_veto=False))[0] == lips  # the rule off


@pytest.mark.parametrize("lead", [0.3, 0.0])
def test_a_short_voiced_stretch_inside_a_lip_talk_keeps_the_talk_whole(lead):
    # lips articulate every 0.4 s from 1.0 to 3.0 s, one syllable heard at 2.0-2.35 s (review 4,
    # B1): the lip-only run goes on through the stretch and the lips articulate in it, so neither
    # the lead rule (the talk is already going on: no onset) nor the still-lips veto cuts it
    tr = mesh_sequence(4.0, noise_px=0.3, seed=0, mouth=_pulses([1.0, 1.4, 1.8, 2.2, 2.6, 3.0], 6.0, 0.5))
    runs, lips = fused(tr, [(2.0, 2.35)], DynamicsConfig(speak_voice_lead_s=lead))
    assert len(lips) == 1 and lips[0][0] < 1.0 and lips[0][1] > 3.0
    assert runs == lips, (runs, lips)
    # (a lip run that only reaches into a voiced stretch, one articulation at its edge, is still
    # cut there: test_voice_over_still_lips_cuts_the_lip_run_reaching_into_it)


def test_more_lead_articulations_inside_the_voice_do_not_move_the_start_later():
    # the lips lead at 1.35 s, the voice from 1.6 s (review 4, B2): with one articulation in the
    # voice (1.9 s) or two (1.9, 2.25 s), the talk starts with the lead articulation's opening
    one = mesh_sequence(3.5, noise_px=0.3, seed=0, mouth=_pulses([1.0, 1.35, 1.9], 1.8, 10.0))
    two = mesh_sequence(3.5, noise_px=0.3, seed=0, mouth=_pulses([1.0, 1.35, 1.9, 2.25], 1.8, 10.0))
    r1, r2 = fused(one, [(1.6, 2.7)])[0], fused(two, [(1.6, 2.7)])[0]
    assert len(r1) == 1 and len(r2) == 1 and 1.1 <= r1[0][0] <= 1.3, (r1, r2)
    assert r2[0][0] == r1[0][0], (r1, r2)
    assert fused(two, [(1.6, 2.7)], DynamicsConfig(speak_voice_lead_s=0.0))[0][0][0] >= 1.6  # the rule off


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lips_going_on_after_the_voice_stops_continue_the_talk(seed):
    # full lip speech from 0.5 s, the voice heard only to 0.35 s before the lips' run ends
    # (skarsgard: voice to 7.19 s, the lips articulate once more, speech by eye to 7.8 s): the
    # talk ends with the lips
    tr = mesh_sequence(4.0, noise_px=0.3, seed=seed, mouth=syllables(0.5, 3.0, seed=seed + 5))
    lips = fused(tr, None)[1]
    assert len(lips) == 1
    end = lips[0][1] - 0.35
    runs, _ = fused(tr, [(0.5, end)], END_AT_REST)
    assert len(runs) == 1 and runs[0][1] == lips[0][1], (runs, lips)
    # the rule off: the voice times the end (the piece after it holds too few articulations)
    off = fused(tr, [(0.5, end)], DynamicsConfig(speak_voice_continue=0))[0]
    assert len(off) == 1 and abs(off[0][1] - end) <= 0.07, off
    # the lips' run already going on when the voice starts: the talk starts with the lips
    late = fused(tr, [(1.0, lips[0][1])])[0]
    assert len(late) == 1 and late[0][0] == lips[0][0], late
    late = fused(tr, [(1.0, lips[0][1])], DynamicsConfig(speak_voice_continue=0))[0]  # the rule off
    assert len(late) == 1 and abs(late[0][0] - 1.0) <= 0.07, late


# ----------------------------------------------------------------------------- timing, floor, memory (review 3)
def write_timed(path, x: np.ndarray, duration: float, astart: float = 0.0, gap=None, streams=((64, 48, 0.0),),
                codec: str = "pcm_s16le") -> None:
    """An mkv of 16-fps grey video streams ``(width, height, start_s)`` and the mono sound ``x``
    whose timestamps start at ``astart`` s; ``gap = (at_s, len_s)``: the audio timestamps jump
    forward by ``len_s`` at ``at_s`` (no samples are lost, the later ones are stamped later)."""
    import av
    from fractions import Fraction

    with av.open(str(path), "w") as c:
        vss = []
        for w, h, start in streams:
            vs = c.add_stream("mpeg4", rate=16)
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            vs.time_base = vs.codec_context.time_base = Fraction(1, 1000)
            vss.append((vs, start))
        a = c.add_stream(codec, rate=RATE)
        a.layout = "mono"
        for vs, start in vss:
            for i in range(int(duration * 16)):
                fr = av.VideoFrame.from_ndarray(np.full((vs.height, vs.width, 3), 100 + i % 50, np.uint8), format="rgb24")
                fr.pts, fr.time_base = int(round((start + i / 16) * 1000)), vs.time_base
                for p in vs.encode(fr):
                    c.mux(p)
            for p in vs.encode():
                c.mux(p)
        for k in range(0, len(x), 1024):
            blk = x[k:k + 1024]
            if codec == "pcm_f32le":
                fr = av.AudioFrame.from_ndarray(blk.astype(np.float32)[None, :], format="flt", layout="mono")
            else:
                pcm = np.clip(blk * 32767, -32768, 32767).astype(np.int16)
                fr = av.AudioFrame.from_ndarray(pcm[None, :], format="s16", layout="mono")
            fr.sample_rate = RATE
            fr.pts = k + int(round(astart * RATE)) + (int(round(gap[1] * RATE)) if gap and k >= gap[0] * RATE else 0)
            for p in a.encode(fr):
                c.mux(p)
        for p in a.encode():
            c.mux(p)


def one_span(track) -> tuple[float, float]:
    got = spans(track)
    assert len(got) == 1, got
    return got[0]


def test_audio_starting_late_is_placed_late_and_its_floor_is_real_sound(tmp_path):
    """Sound whose timestamps start 1 s after the first video frame: voice at 1.5-3.5 s of the
    sound is at 2.5-4.5 s of the video (the offset's sign flipped would put it at 0.5-2.5 s), and
    the noise floor is the sound's hiss (-50 dBFS), not the silence put before it."""
    d = 6.0
    p = tmp_path / "late.mkv"
    write_timed(p, noise(5.0) + voiced(1.5, 3.5, 5.0), d, astart=1.0)
    vt = au.voice_activity(p, grid(d), 16.0)
    s, e = one_span(vt)
    assert abs(s - 2.5) <= 0.15 and abs(e - 4.5) <= 0.2, (s, e)
    assert -56.0 < vt.floor_db < -44.0, vt.floor_db
    # the padded second is no floor: with it, the 5th percentile is digital silence (-120 dB)
    x, sp = au.decode_placed(p)
    assert sp[0][0] == RATE and not x[:RATE].any()
    assert au.voice_on_grid(x, RATE, grid(d), 16.0).floor_db < -100 < vt.floor_db


def test_a_jump_in_the_audio_timestamps_is_silence_not_a_shift(tmp_path):
    """Timestamps that jump forward by 1 s at 1 s of sound: what follows plays 1 s later (voice at
    1.5-3.5 s of the samples is heard at 2.5-4.5 s), the jump itself is silence."""
    d = 6.0
    p = tmp_path / "gap.mkv"
    write_timed(p, noise(5.0) + voiced(1.5, 3.5, 5.0), d, gap=(1.0, 1.0))
    s, e = one_span(au.voice_activity(p, grid(d), 16.0))
    assert abs(s - 2.5) <= 0.15 and abs(e - 4.5) <= 0.2, (s, e)
    x, sp = au.decode_placed(p)
    assert len(sp) == 2 and abs(sp[0][1] - RATE) <= 1024 and abs(sp[1][0] - 2 * RATE) <= 1024, sp


def test_place_chunks_gaps_overlaps_jitter_and_early_samples():
    one = np.ones(100, np.float32)
    # contiguous within the jitter (a timestamp rounded to a ms clock), a gap, an overlap
    four = np.arange(400, dtype=np.float32)
    x, sp = au.place_chunks([(0.0, one), (0.0065, 2 * one), (0.05, 3 * one), (0.04, four)], 0.0, 16000)
    assert sp == [(0, 200), (800, 1040)] and len(x) == 1040
    assert (x[:100] == 1).all() and (x[100:200] == 2).all() and not x[200:800].any()
    assert (x[800:900] == 3).all() and (x[900:] == four[260:]).all()  # the overlapping head is dropped
    # samples before the first video frame are cut; a chunk without a time follows the last one
    x, sp = au.place_chunks([(1.0, one), (None, 2 * one)], 1.005, 16000)
    assert sp == [(0, 120)] and (x[:20] == 1).all() and (x[20:] == 2).all()


def test_place_chunks_stops_at_the_longest_buffer(caplog):
    # a chunk stamped an hour late would grow the buffer to an hour of samples (review 4, B3)
    one = np.ones(100, np.float32)
    with caplog.at_level(logging.WARNING, logger="dfec.video.audio"):
        x, sp = au.place_chunks([(0.0, one), (0.05, 4 * one), (3600.0, 2 * one), (None, 3 * one)], 0.0, 16000,
                                max_len=850, name="late.mp4")
    assert len(x) == 850 and sp == [(0, 100), (800, 850)] and (x[800:] == 4).all()  # cut at the end
    warned = [r.getMessage() for r in caplog.records if "past the video's end" in r.getMessage()]
    assert len(warned) == 1 and "late.mp4" in warned[0], warned
    # sound that just runs on past the video (no jump) is cut too, without a warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dfec.video.audio"):
        x, sp = au.place_chunks([(0.0, one), (None, 2 * one), (None, 3 * one)], 0.0, 16000, max_len=150)
    assert len(x) == 150 and sp == [(0, 150)] and not caplog.records


def test_sound_stamped_far_past_the_video_is_dropped(tmp_path, monkeypatch, caplog):
    """Timestamps jumping 100 s ahead at 3 s of sound (a broken mux, a 33-bit wrap): the buffer
    ends 1 s after the last video frame, not 100 s later; the voice before the jump is heard."""
    d = 6.0
    p = tmp_path / "jump.mkv"
    write_timed(p, noise(5.0) + voiced(1.5, 2.5, 5.0), d, gap=(3.0, 100.0))
    seen = []
    on_grid = au.voice_on_grid
    monkeypatch.setattr(au, "voice_on_grid", lambda x, *a, **k: seen.append(len(x)) or on_grid(x, *a, **k))
    with caplog.at_level(logging.WARNING, logger="dfec.video.audio"):
        s, e = one_span(au.voice_activity(p, grid(d), 16.0))
    assert abs(s - 1.5) <= 0.15 and abs(e - 2.5) <= 0.2, (s, e)
    assert len(seen) == 1 and 2.9 * RATE <= seen[0] <= 3.1 * RATE, seen  # the sound before the jump only
    assert any("past the video's end" in r.getMessage() for r in caplog.records)


def test_time_zero_is_the_reader_stream_first_frame(tmp_path):
    """Two video streams: a small one from 0 s and the main (larger) one from 1 s, the one the
    reader reads and counts time from: voice at 2.5-4.5 s of the sound is at 1.5-3.5 s of it."""
    from dfec.video.reader import iter_frames

    d = 6.0
    p = tmp_path / "two.mkv"
    write_timed(p, noise(d + 1) + voiced(2.5, 4.5, d + 1), d, streams=((64, 48, 0.0), (128, 96, 1.0)))
    assert next(iter_frames(p, 16))[2].shape[:2] == (96, 128)
    s, e = one_span(au.voice_activity(p, grid(d), 16.0))
    assert abs(s - 1.5) <= 0.15 and abs(e - 3.5) <= 0.2, (s, e)
    assert au.video_t0(p) == pytest.approx(1.0)


def test_a_few_nan_samples_do_not_silence_the_clip(tmp_path):
    d = 5.0
    x = (noise(d) + voiced(1.5, 3.5, d)).astype(np.float32)
    x[5000:5100] = np.nan
    x[40000] = np.inf
    p = tmp_path / "nan.mkv"
    write_timed(p, x, d, codec="pcm_f32le")
    s, e = one_span(au.voice_activity(p, grid(d), 16.0))
    assert abs(s - 1.5) <= 0.15 and abs(e - 3.5) <= 0.2, (s, e)
    assert np.isfinite(au.decode_placed(p)[0]).all()


def test_blockwise_features_equal_the_whole():
    """Blocks of 0.37 s (features) and 37 frames (modulation) give the same values and mask as one
    piece on a 4.2 s clip spanning many blocks."""
    d = 4.2
    x = noise(d) + voiced(0.8, 3.6, d)
    whole = au.frame_features(x, RATE)
    blocks = au.block_features(x, RATE, block_s=0.37)
    assert set(blocks) == set(whole)
    for k in whole:
        assert np.array_equal(blocks[k], whole[k]), k
    e = whole["energy_db"]
    ref = au.syllabic(e, 30, 8.0, 3.0)
    assert 0 < ref.sum() < len(ref)
    assert np.array_equal(au.syllabic_blocks(e, 30, 8.0, 3.0, 37), ref)
    a = au.voice_on_grid(x, RATE, grid(d), 16.0)
    b = au.voice_on_grid(x, RATE, grid(d), 16.0, block_s=0.37)
    assert a.active.any() and np.array_equal(a.score, b.score) and a.floor_db == b.floor_db


def test_percentiles_and_fractions_are_checked_when_loaded(tmp_path):
    from dfec.dynamics.config import load_config
    from dfec.errors import DfecError

    f = tmp_path / "cfg.yaml"
    for bad in ("voice_floor_pct: 150", "voice_band_share: 1.5", "speak_lips_fill: 2", "voice_active_score: 1.1"):
        f.write_text(bad + "\n")
        with pytest.raises(DfecError, match=bad.split(":")[0]):
            load_config(f)
    f.write_text("voice_floor_pct: 100\nvoice_active_score: 1\nspeak_lips_fill: 0.7\n")
    cfg = load_config(f)
    assert cfg.voice_floor_pct == 100 and cfg.speak_lips_fill == 0.7 and _vad(cfg)["active_score"] == 1.0


def test_an_active_score_of_zero_is_refused(tmp_path):
    # every frame scores >= 0: the whole clip would be voiced (review 4, B5)
    from dfec.dynamics.config import load_config
    from dfec.errors import DfecError

    f = tmp_path / "cfg.yaml"
    for bad in ("voice_active_score: 0", "voice_active_score: 0.0"):
        f.write_text(bad + "\n")
        with pytest.raises(DfecError, match="voice_active_score.*above 0"):
            load_config(f)
    f.write_text("voice_active_score: 0.01\n")
    assert load_config(f).voice_active_score == 0.01
    # the laugh guard's share and level: 0 would drop every speaking run whose teeth are measured
    for key in ("speak_bared_share", "speak_bared_level"):
        f.write_text(f"{key}: 0\n")
        with pytest.raises(DfecError, match=f"{key}.*above 0"):
            load_config(f)
    f.write_text("speak_bared_level: 2.5\nspeak_bared_share: 1\n")
    assert load_config(f).speak_bared_level == 2.5


def test_the_active_score_is_a_setting():
    d = 6.0
    x = noise(d) + voiced(1.0, 5.0, d)
    vt = au.voice_on_grid(x, RATE, grid(d), 16.0)
    loose = au.voice_on_grid(x, RATE, grid(d), 16.0, active_score=0.1)
    assert np.array_equal(vt.active, vt.score >= 0.5) and np.array_equal(loose.active, vt.score >= 0.1)
    assert loose.active.sum() > vt.active.sum()  # the frame at the edge of the voice, 1/6 voiced


def test_a_voice_track_of_another_length_is_ignored_with_a_warning(caplog):
    from dfec.dynamics.speech import fuse_voice

    cfg = DynamicsConfig()
    tr = mesh_sequence(5.0, noise_px=0.3, seed=0, mouth=syllables(1.0, 3.5, seed=0))
    sig = track_signals(tr, cfg.signals)
    eff = effective_thresholds(sig, cfg)
    det = _detail_mask(sig, eff)
    runs = lip_runs(sig, eff, det)
    short = au.VoiceTrack(sig.times[:-3], np.ones(len(sig) - 3), np.ones(len(sig) - 3, bool), -60.0)
    with caplog.at_level(logging.WARNING, logger="dfec.dynamics.speech"):
        assert fuse_voice(runs, sig, eff, det, short) == runs
    assert "does not fit" in caplog.text


def test_lips_fill_share_is_a_setting():
    """A 1 s voice gap that lip-only runs (overlapping the heard stretches, no articulations of
    their own) cover for 0.7 s: no pause at the default share (0.5), a pause at 0.9."""
    from dfec.dynamics.speech import SpeechRun, fuse_voice

    a, b = small_talk(0.5, 2.0, 1), small_talk(3.0, 4.5, 2)
    tr = mesh_sequence(5.5, noise_px=0.3, seed=0, mouth=lambda t: np.maximum(a(t), b(t)))
    counts = []
    for share in (0.5, 0.9):
        cfg = DynamicsConfig(speak_lips_fill=share)
        sig = track_signals(tr, cfg.signals)
        on = ((sig.times >= 0.5) & (sig.times < 2.0)) | ((sig.times >= 3.0) & (sig.times < 4.5))
        voice = au.VoiceTrack(sig.times, on.astype(float), on, -60.0)
        eff = effective_thresholds(sig, cfg)
        det = _detail_mask(sig, eff)
        counts.append(len(fuse_voice([SpeechRun(1.8, 2.35, []), SpeechRun(2.65, 3.2, [])], sig, eff, det, voice)))
    assert counts == [1, 2], counts


# ------------------------------------------------- hysteresis under voice (caption_robustness.py)
def gap_signals(duration, base, bumps, voice_spans, width=0.25):
    """Signals holding only a raw 3-D ``lip_gap`` (face scale): ``base`` plus one raised-cosine
    opening of ``width`` s per ``(time, height)`` in ``bumps``, with voice on ``voice_spans``."""
    from dfec.dynamics.signals import FaceSignals

    t = np.arange(int(round(duration * 16))) / 16.0
    g = np.full(len(t), float(base))
    for c, h in bumps:
        ph = (t - c) / width + 0.5
        g += np.where((ph >= 0) & (ph <= 1), h * 0.5 * (1 - np.cos(2 * np.pi * ph)), 0.0)
    sig = FaceSignals(times=t, fps=16.0, values={"lip_gap": g}, raw={"lip_gap": g.copy()}, valid=np.ones(len(t), bool))
    on = np.zeros(len(t), bool)
    for s, e in voice_spans:
        on |= (t >= s) & (t < e)
    sig.voice = au.VoiceTrack(t, on.astype(float), on, -60.0)
    return sig


def heard_runs(sig, cfg=None):
    cfg = cfg or DynamicsConfig()
    return [(r.start, r.end) for r in speech_runs(sig, cfg, np.ones(len(sig), bool))]


def test_weak_articulations_under_voice_do_not_start_a_talk():
    """Articulations from ``speak_voice_weak`` x the floor up to the floor are no evidence of
    speech: one clear syllable and small ones under voice are not a talk (the still synthetic
    mouths under voice of test_voice_with_a_still_mouth_is_not_speech jitter at that level)."""
    assert heard_runs(gap_signals(2.5, 0.06, [(0.5, 0.03), (0.8, 0.01), (1.1, 0.01), (1.4, 0.01)], [(0.3, 1.6)])) == []
    assert len(heard_runs(gap_signals(2.5, 0.06, [(0.5, 0.03), (0.8, 0.03)], [(0.3, 1.6)]))) == 1


def test_a_voice_gap_the_lips_articulate_through_is_no_pause():
    """Quiet syllables (too shallow for the lips alone) every 0.3 s from 0.4 to 3.7 s, the voice
    heard 0.3-1.5 and 2.3-3.8 s: the 0.8-s voice gap is the detector losing the talk, not a pause
    (dev 669 darkened: voice gaps at 2.25-2.69 and 3.19-4.0 s with the lips moving through them
    made a third run); with the lips still in the gap it stays a pause."""
    talk = [(c, 0.02) for c in np.arange(0.4, 3.71, 0.3)]
    voice = [(0.3, 1.5), (2.3, 3.8)]
    assert len(heard_runs(gap_signals(4.5, 0.10, talk, voice))) == 1
    still = [(c, h) for c, h in talk if not 1.5 < c < 2.3]
    assert len(heard_runs(gap_signals(4.5, 0.10, still, voice))) == 2
    assert len(heard_runs(gap_signals(4.5, 0.10, talk, voice), DynamicsConfig(speak_pause_lips=False))) == 2


def test_a_muted_track_is_named_as_such_in_the_signals_and_the_speech_panel(tmp_path, monkeypatch):
    # WolfgangLanger (dev) carries a silent audio stream: its timeline said "no audio track"
    from dfec.dynamics.captioner import measure
    from dfec.dynamics.panels import NO_AUDIO, speech_lane

    import av

    def why(p, d=1.0):
        return au.heard(p, grid(d), 16.0)[1]

    assert why(tmp_path / "absent.mp4") == au.NO_TRACK == NO_AUDIO
    write_media(tmp_path / "muted.mp4", np.zeros(RATE), 1.0)
    assert why(tmp_path / "muted.mp4") == au.SILENT
    write_media(tmp_path / "quiet.mp4", noise(1.0, -40.0), 1.0)
    track, reason = au.heard(tmp_path / "quiet.mp4", grid(1.0), 16.0)
    assert track is not None and reason == ""
    silent = tmp_path / "video_only.mp4"
    with av.open(str(silent), "w") as c:  # video only
        vs = c.add_stream("mpeg4", rate=16)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for pk in vs.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
            c.mux(pk)
        for pk in vs.encode():
            c.mux(pk)
    assert why(silent) == au.NO_TRACK
    # through the captioner to the plot's speech panel and events.json
    tr, _ = talking_clip(tmp_path)
    muted = tmp_path / "talk_muted.mp4"
    write_media(muted, np.zeros(int(5.0 * RATE)), 5.0)
    tr.video = str(muted)
    res = caption_video(muted, tracking=tr, out_dir=tmp_path / "muted_out")
    assert res.signals.voice is None and res.signals.sound_note == "silent audio track"
    assert speech_lane(res.signals, res.timeline, DynamicsConfig()).note == "silent audio track"
    sig = json.loads((tmp_path / "muted_out" / "events.json").read_text())["signals"]
    assert sig["sound_note"] == "silent audio track"
    tr.video = str(silent)
    res = caption_video(silent, tracking=tr)
    assert speech_lane(res.signals, res.timeline, DynamicsConfig()).note == NO_AUDIO
    # sound only after the face is gone (tracked 0-2 s of a 6-s video, loud from 4 s): the window
    # the voice is read over is silent, and the file does have a track (review 16)
    d = 6.0
    x = np.zeros(int(d * RATE))
    x[int(4.0 * RATE):] = noise(d - 4.0, -30.0)
    late = tmp_path / "late_sound.mp4"
    write_media(late, x, d)
    face = mesh_sequence(2.0, noise_px=0.3, seed=0)
    face.video = str(late)
    sig, _, _ = measure(late, face, DynamicsConfig())
    assert sig.voice is None and sig.sound_note == au.SILENT
    # a stream that does not decode
    q = tmp_path / "clip.mp4"
    write_media(q, voiced(0.2, 0.8, 1.0), 1.0)
    break_audio_decoding(monkeypatch)
    assert why(q) == au.UNDECODABLE
    monkeypatch.undo()
    # with sound there is no note
    tr, p = talking_clip(tmp_path)
    assert caption_video(p, tracking=tr).signals.sound_note is None


# ------------------------------------ robustness of the fused runs (caption_robustness.py, speech2)
def test_weak_articulations_below_the_noise_do_not_bridge_a_pause():
    """Two heard talks (0.3-1.5, 3.0-4.2 s) and a 1.5-s voice gap in which the lips wobble by
    0.010 face scale every 0.45 s: above ``speak_voice_weak`` x the floor (0.0075), but at CRF 40
    that is the lip gap's jitter (dev 669: noise 0.0048, its real pause 4.62-6.12 s merged the two
    talks into one). With the noise at 0.0045 the wobble is no articulation and the pause stays;
    on a clean track (noise 0.001) the same wobble carries the talk across, as before."""
    talk = [(c, 0.03) for c in (0.4, 0.75, 1.1, 1.45)] + [(c, 0.03) for c in (3.1, 3.45, 3.8, 4.15)]
    wobble = [(c, 0.010) for c in (1.85, 2.3, 2.75)]
    counts = []
    for noise in (0.0045, 0.001):
        sig = gap_signals(4.8, 0.06, talk + wobble, [(0.3, 1.5), (3.0, 4.2)])
        sig.values["mouth_open"] = sig.values["lip_gap"].copy()
        sig.noise_raw["mouth_open"] = noise
        counts.append(len(heard_runs(sig)))
    assert counts == [2, 1], counts
    sig = gap_signals(4.8, 0.06, talk + wobble, [(0.3, 1.5), (3.0, 4.2)])
    sig.values["mouth_open"] = sig.values["lip_gap"].copy()
    sig.noise_raw["mouth_open"] = 0.0045
    assert len(heard_runs(sig, DynamicsConfig(speak_weak_noise_k=0.0))) == 1  # the rule off


def test_a_talk_starts_with_the_opening_of_its_first_syllable_just_before_the_voice():
    """The voice starts at 1.3 s, the first syllable peaks at 1.2 s (within the slack, so no lead
    articulation): the talk starts where that syllable's opening starts (~1.1 s), not with the
    voice (dev 2422 darkened: syllable at 1.19 s opening from 0.81 s, voice from 1.31 s, by eye
    0.88 s; found 1.31 s before)."""
    sig = gap_signals(2.5, 0.06, [(1.2, 0.03), (1.55, 0.03)], [(1.3, 2.0)])
    runs = heard_runs(sig)
    assert len(runs) == 1 and 1.0 <= runs[0][0] <= 1.15 and abs(runs[0][1] - 2.0) < 0.02, runs
    assert abs(heard_runs(sig, DynamicsConfig(speak_onset_lips=False))[0][0] - 1.3) < 0.02  # the rule off


def test_a_lip_run_cut_by_another_voice_starts_with_its_own_syllable():
    """Lip speech (full-depth syllables at 0.5, 1.2, 1.5, 1.8 s) and someone else's voice at
    0.2-0.8 s over the first one only: the run is cut at the other voice, and the piece after it
    starts where its first syllable opens (~1.1 s), not where the other voice stops (dev 2422
    mirrored: 0.69 s, its syllable opening at 0.75 s, by eye 0.88 s)."""
    sig = gap_signals(2.5, 0.04, [(0.5, 0.04), (1.2, 0.04), (1.5, 0.04), (1.8, 0.04)], [(0.2, 0.8)])
    runs = heard_runs(sig)
    assert len(runs) == 1 and 1.0 <= runs[0][0] <= 1.15, runs
    assert abs(heard_runs(sig, DynamicsConfig(speak_still_trim=False))[0][0] - 0.8) < 0.02  # the rule off


# ------------------------------------ speaking runs at any sampling phase (issue 11, branch phase)
def test_a_syllable_just_under_the_floor_links_two_full_ones_under_voice():
    """Dev 167 started 1/32 s later (caption_robustness.py --transforms phase): its middle syllable
    read 0.013 face scale (floor 0.015) and the full ones around it were 1.0 s apart: the talk was
    lost. Under the voice a syllable of at least ``speak_voice_link`` x the floor links them (it
    never counts as one); a smaller one (0.010: jitter-sized), one clear of the noise only by 4 x
    (CRF 40 jitter, dev 3358: 0.013 at noise 0.0032) or the rule off do not."""
    voice = [(0.3, 1.8)]
    bumps = [(0.5, 0.03), (1.0, 0.013), (1.5, 0.03)]
    runs = heard_runs(gap_signals(2.5, 0.06, bumps, voice))
    assert len(runs) == 1 and runs[0][0] <= 0.5 and runs[0][1] >= 1.5, runs
    assert heard_runs(gap_signals(2.5, 0.06, bumps, voice), DynamicsConfig(speak_voice_link=0.0)) == []
    assert heard_runs(gap_signals(2.5, 0.06, [bumps[0], (1.0, 0.010), bumps[2]], voice)) == []
    # a link never counts as a syllable: one full one and links is no talk
    assert heard_runs(gap_signals(2.5, 0.06, [(0.5, 0.03), (0.9, 0.013), (1.3, 0.013)], voice)) == []
    noisy = gap_signals(2.5, 0.06, bumps, voice)
    noisy.values["mouth_open"] = noisy.values["lip_gap"].copy()
    noisy.noise_raw["mouth_open"] = 0.0032
    assert heard_runs(noisy) == []
    assert len(heard_runs(noisy, DynamicsConfig(speak_link_noise_k=0.0))) == 1


def test_a_syllable_whose_closing_is_cut_by_the_clip_end_does_not_count_under_voice():
    """Dev 3358 started 1/32 s later: the track's last sample read 0.045 after 0.065 (by eye the
    lips stay parted on the clip's last frames) and that one-sample "closing" made a syllable 0.69 s
    after a full one: a false "speaks again". A peak whose closing is only the track's last sample
    is not counted by the voice rule; one that closes before the end is."""
    t_last = (int(round(2.5 * 16)) - 1) / 16.0
    end = [(1.75, 0.04), (t_last - 1 / 16, 0.04)]
    assert heard_runs(gap_signals(2.5, 0.06, end, [(1.0, 2.5)])) == []
    assert len(heard_runs(gap_signals(2.5, 0.06, end, [(1.0, 2.5)]), DynamicsConfig(speak_voice_edge=False))) == 1
    inner = [(1.5, 0.04), (2.125, 0.04)]
    assert len(heard_runs(gap_signals(2.5, 0.06, inner, [(1.0, 2.5)]))) == 1


def test_links_alone_do_not_bridge_a_long_gap_between_full_syllables():
    # review 16b: full syllables at 0.5 and 2.5 s with three just-under-floor links between them
    # chained into one talk (0.31-3.31 s): two links in a row break the row; one link still joins
    voice = [(0.3, 3.3)]
    many = [(0.5, 0.03), (1.0, 0.013), (1.5, 0.013), (2.0, 0.013), (2.5, 0.03)]
    assert heard_runs(gap_signals(3.5, 0.06, many, voice)) == []
    assert heard_runs(gap_signals(3.5, 0.06, many[:3] + [(2.0, 0.03)], voice)) == []  # two links
    one = [(0.5, 0.03), (1.0, 0.013), (1.5, 0.03)]
    assert len(heard_runs(gap_signals(3.5, 0.06, one, voice))) == 1


def test_the_end_rule_reads_the_last_sample_the_face_was_read_on():
    # review 16b: a face lost on the last frames (no detail there) ends its lip gap early; a peak
    # whose closing is only that last read sample was still counted (closing on filled samples)
    t_last = (int(round(2.5 * 16)) - 1) / 16.0
    for lost in (1, 2, 3):
        end = [(1.75, 0.04), (t_last - lost / 16 - 1 / 16, 0.04)]
        sig = gap_signals(2.5, 0.06, end, [(1.0, 2.5)])
        detail = np.ones(len(sig), bool)
        detail[-lost:] = False
        cfg = DynamicsConfig()
        assert [(r.start, r.end) for r in speech_runs(sig, cfg, detail)] == [], lost
        off = replace(cfg, speak_voice_edge=False)
        assert len(speech_runs(sig, off, detail)) == 1, lost
