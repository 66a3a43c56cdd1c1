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

    class Broken:
        def __init__(self, *a, **k):
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(av, "AudioResampler", Broken)
    with caplog.at_level(logging.WARNING, logger="dfec.video.audio"):
        assert au.voice_activity(q, grid(1.0), 16.0) is None
    assert "not decodable" in caplog.text


# ----------------------------------------------------------------------------- fusion with the lips
def small_talk(start, end, seed=0):
    """Quiet speech: lips held 10 mm apart (a held smile), each syllable opening them by only
    1.2-2.2 mm more (closing less than a fifth of the gap: too shallow for the lips alone)."""
    return syllables(start, end, open_mm=(11.2, 12.2), rest_mm=10.0, seed=seed)


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
        runs, lips = fused(tr, None)
        assert runs == lips and len(runs) == 1
        # silence everywhere: the lip-only run stays (voice never removes speech by default) ...
        assert fused(tr, [])[0] == lips
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
    # a lip run that starts early on a slow opening before the voice (2422-like): the voice times
    # the start when the part before it holds fewer than three articulations
    early = mesh_sequence(5.0, noise_px=0.3, seed=1, mouth=syllables(0.6, 3.5, seed=6))
    runs, lips = fused(early, [(1.1, 3.5)])
    assert len(lips) == 1 and lips[0][0] < 1.0
    assert len(runs) == 1 and abs(runs[0][0] - 1.1) <= 0.1, (runs, lips)


def test_caption_video_hears_the_file(tmp_path):
    d = 5.0
    tr = mesh_sequence(d, noise_px=0.3, seed=0, mouth=small_talk(1.0, 3.5, 0))
    p = tmp_path / "talk.mp4"
    write_media(p, noise(d) + voiced(1.0, 3.5, d), d)
    tr.video = str(p)
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

    d = 5.0
    tr = mesh_sequence(d, noise_px=0.3, seed=0, mouth=small_talk(1.0, 3.5, 0))
    p = tmp_path / "talk.mp4"
    write_media(p, noise(d) + voiced(1.0, 3.5, d), d)
    tr.video = str(p)
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
    and the fused runs match the by-eye count; a clip without sound gives None."""
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
    assert fused(tr, [(1.9, 3.3)], DynamicsConfig(speak_voice_continue=0))[0] == lips  # the rule off
    # a still mouth under the later voice (someone answering): the talk ends with the lips
    still = mesh_sequence(4.5, noise_px=0.3, seed=0, mouth=talk)
    runs, lips = fused(still, [(1.9, 3.3)])
    assert runs == lips
    # voice starting after a pause with one articulation: no speech there
    late = lambda t: 0.5 + 2.5 * np.exp(-((t - 3.6) / 0.08) ** 2)
    far = mesh_sequence(4.5, noise_px=0.3, seed=0, mouth=lambda t: np.maximum(talk(t), late(t)))
    runs, lips = fused(far, [(3.2, 4.2)])
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
    runs, lips = fused(tr, [(0.2, 0.9)])
    assert len(lips) == 1 and lips[0][0] < 0.6
    assert len(runs) == 1 and 0.85 <= runs[0][0] <= 1.1 and runs[0][1] == lips[0][1], (runs, lips)
    assert fused(tr, [(0.2, 0.9)], DynamicsConfig(speak_voice_still_veto=False))[0] == lips  # the rule off


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lips_going_on_after_the_voice_stops_continue_the_talk(seed):
    # full lip speech from 0.5 s, the voice heard only to 0.35 s before the lips' run ends
    # (skarsgard: voice to 7.19 s, the lips articulate once more, speech by eye to 7.8 s): the
    # talk ends with the lips
    tr = mesh_sequence(4.0, noise_px=0.3, seed=seed, mouth=syllables(0.5, 3.0, seed=seed + 5))
    lips = fused(tr, None)[1]
    assert len(lips) == 1
    end = lips[0][1] - 0.35
    runs, _ = fused(tr, [(0.5, end)])
    assert len(runs) == 1 and runs[0][1] == lips[0][1], (runs, lips)
    # the rule off: the voice times the end (the piece after it holds too few articulations)
    off = fused(tr, [(0.5, end)], DynamicsConfig(speak_voice_continue=0))[0]
    assert len(off) == 1 and abs(off[0][1] - end) <= 0.07, off
    # before the voice starts the voice times the talk (lips 0.5 s ahead of it: no lead)
    late = fused(tr, [(1.0, lips[0][1])])[0]
    assert len(late) == 1 and abs(late[0][0] - 1.0) <= 0.07, late
