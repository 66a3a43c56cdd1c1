"""Voice activity of a video's sound track, on the video-frame grid (numpy only).

Active-speaker detection is audio-visual: a face whose lips barely move may be speaking, and the
sound track says when someone speaks. This module hears; :mod:`dfec.dynamics.speech` decides,
with the mouth, whether the main face is the one speaking (voice alone never makes speech: it may
be an off-screen speaker).

Steps of :func:`voice_activity` (a small first-principles VAD, no model):

1. **Decode** the first audio stream with PyAV, mono, resampled to ``rate`` (16 kHz), float.
   Times are seconds from the first decoded frame of the video stream the reader reads
   (:func:`video_t0`), the clock of the tracker's 16-fps frame times (``FaceSignals.times``).
   Each decoded chunk goes where its own timestamp says (a jump in the audio timestamps is
   silence, not a shift of everything after it); sound stamped more than ``AFTER_VIDEO_S`` (1 s)
   after the last video frame is dropped (a warning when a timestamp jump put it there: the
   buffer never grows to a bogus timestamp); non-finite samples are zeroed.
2. **Short-time frames** of ``win_s`` (25 ms, Hann window) every ``hop_s`` (10 ms). Per frame:

   * log energy ``E`` (dB full scale); the clip's own noise floor is the ``floor_pct`` (5th)
     percentile of ``E`` over the frames of decoded sound (not the silence put before a late
     start or in a timestamp gap); a frame is *loud* when ``E >= floor + snr_db`` (6 dB) and ``E >= min_db``
     (absolute: digital silence and hiss are never voice);
   * **speech-band share**: power in 300-3400 Hz (the telephone band, where the formants are) over
     the power in 80-8000 Hz, at least ``band_share`` (0.3: a low voice has much of its power in
     its pitch, below 300 Hz);
   * **spectral flatness** of the 300-3400 Hz power spectrum (geometric over arithmetic mean): a
     voiced sound's harmonics and formants make it peaky (about 0.05-0.3), white noise is flat
     (about 0.5-0.6); at most ``flatness`` (0.4);
   * **voicing**: the peak of the normalised autocorrelation at lags of 2.5-12.5 ms (pitch 80-400
     Hz), at least ``voicing`` (0.3).

   A frame meeting all four is *voiced*.
3. **Syllabic modulation**: speech comes in syllables, 3-8 a second, so its energy rises and falls
   by 10-30 dB several times a second; a held note or chord (music) and steady noise do not. The
   spread of ``E`` (90th minus 10th percentile) over ``mod_window_s`` (0.6 s) around a voiced
   frame must reach ``modulation_db`` (8 dB), and over each half of that window (before, after)
   ``step_db`` (3 dB): a note that starts or stops is one step, flat on one side
   (:func:`syllabic`).
4. **Clean-up**: voiced stretches closer than ``hangover_s`` (the unvoiced consonants and the
   short closures between syllables) are joined; stretches shorter than ``min_voice_s`` dropped.
5. **Onto the video grid**: the voice score of a video frame at time ``t`` is the fraction of
   voiced audio frames in ``[t - 0.5/fps, t + 0.5/fps)``; the frame is active when it is at least
   ``active_score`` (0.5).

Memory: steps 2-3 run over blocks of ``BLOCK_S`` seconds (:func:`block_features`,
:func:`syllabic_blocks`), with the same result as in one piece.

:func:`voice_activity` returns None when the file has no audio stream (or cannot be opened: that
is the video reader's error to raise) or a muted one (never above ``min_db``: no evidence either
way), and logs a warning and returns None when the audio stream is corrupt or decodes to nothing:
a caption never fails for its sound.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

#: the speech band (Hz) and the reference band its share is taken of
SPEECH_BAND = (300.0, 3400.0)
REFERENCE_BAND = (80.0, 8000.0)
#: pitch lags of the voicing cue (Hz)
PITCH_RANGE = (80.0, 400.0)
#: audio timestamps within this of the previous chunk's end are contiguous (clock rounding)
JITTER_S = 0.01
#: sound kept after the video's last frame time (s): the buffer never grows past it, whatever the
#: audio timestamps say
AFTER_VIDEO_S = 1.0
#: the short-time features and the modulation rule are computed over blocks of this many seconds
#: of audio frames (memory bounded by the block, not by the clip; the same values as in one piece)
BLOCK_S = 30.0


@dataclass
class VoiceTrack:
    """Voice activity on a video's frame grid: ``times`` (s, the given frame times), ``score`` (the
    fraction of voiced audio frames around each video frame, 0-1) and ``active`` (score >= 0.5).
    ``floor_db`` is the clip's noise floor (dBFS) the loudness rule used."""

    times: np.ndarray
    score: np.ndarray
    active: np.ndarray
    floor_db: float

    def segments(self, min_gap_s: float = 0.0) -> list[tuple[float, float]]:
        """Active stretches ``(start, end)`` in s (end = the last active frame's time plus one
        frame), joined across silences shorter than ``min_gap_s``."""
        return mask_runs(self.active, self.times, min_gap_s)


def index_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` index pairs of the True stretches of ``mask``."""
    d = np.diff(np.concatenate([[False], np.asarray(mask, bool), [False]]).astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def mask_runs(mask: np.ndarray, times: np.ndarray, min_gap_s: float = 0.0) -> list[tuple[float, float]]:
    """The ``(start, end)`` (s) of the True stretches of ``mask`` on the regular grid ``times``
    (end = the last True frame's time plus one frame), joined across gaps under ``min_gap_s``."""
    if len(times) == 0:
        return []
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / 16.0
    out: list[tuple[float, float]] = []
    for a, b in index_runs(mask):
        s, e = float(times[a]), float(times[b - 1]) + step
        if out and s - out[-1][1] < min_gap_s:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def video_t0(path: str | Path) -> float | None:
    """The 0 s of the tracker's frame times on the container clock: the time of the first decoded
    frame of the stream the video reader reads (:func:`dfec.video.reader.video_stream`: the largest
    picture, cover art skipped), counted as :func:`dfec.video.reader.iter_frames` counts it (a frame
    without a timestamp is 0 s). None without a video stream; the stream's start time when its first
    frame does not decode."""
    import av

    from .reader import video_stream

    try:
        container = av.open(str(path))
    except Exception:
        return None
    try:
        if not container.streams.video:
            return None
        vs = video_stream(container)
        try:
            for frame in container.decode(vs):
                return float(frame.time) if frame.time is not None else 0.0
        except Exception:  # a corrupt first frame: the reader reports it; fall back to the header
            pass
        return float(vs.start_time * vs.time_base) if vs.start_time is not None else None
    finally:
        container.close()


def place_chunks(chunks: list[tuple[float | None, np.ndarray]], t0: float, rate: int,
                 jitter_s: float = JITTER_S, max_len: int | None = None, name: str = "audio"
                 ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Decoded chunks ``(time_s, samples)`` (container clock; time None = right after the previous
    chunk) placed on one buffer whose sample 0 is ``t0``: a chunk goes to
    ``round((time - t0) * rate)``, so a jump in the audio timestamps leaves silence (zeros) there
    and a chunk that overlaps the previous one loses its overlapping head; a chunk within
    ``jitter_s`` of where the previous one ended follows it directly (timestamps rounded to the
    container's clock are not gaps). Samples before ``t0`` are dropped, and with ``max_len`` those
    from sample ``max_len`` on (a chunk stamped far late, or a 2^33-tick timestamp wrap, would
    otherwise grow the buffer to its time: one message names ``name``, a warning when a jump in
    the timestamps put sound there, info when the sound just runs on past the video). Returns the buffer and the
    ``[start, end)`` sample spans that hold decoded sound (the rest is padding)."""
    placed: list[tuple[int, np.ndarray]] = []
    pos = None  # where the previous chunk ended (samples from t0)
    tol = int(round(jitter_s * rate))
    late, jumped = 0, False  # samples dropped past max_len; whether a timestamp jump put them there
    for time, y in chunks:
        if not len(y):
            continue
        at = int(round((time - t0) * rate)) if time is not None else pos
        if at is None:
            at = 0 if pos is None else pos
        if pos is not None and abs(at - pos) <= tol:
            at = pos
        jump = pos is not None and at > pos  # a gap in the timestamps (not a track running on)
        if pos is not None and at < pos:  # overlap: keep what is already there
            y, at = y[pos - at:], pos
        if at < 0:  # before the first video frame
            y, at = y[-at:], 0
        pos = max(pos or 0, at + len(y))
        if max_len is not None and at + len(y) > max_len:  # past the video's end: dropped
            late += at + len(y) - max(at, max_len)
            jumped = jumped or (jump and at >= max_len)
            y = y[:max(0, max_len - at)]
        if len(y):
            placed.append((at, y))
    if late:  # a warning for a timestamp jump; sound just running on past the video is common
        (log.warning if jumped else log.info)("%s: %.1f s of audio stamped past the video's end (%.1f s) dropped",
                                              name, late / rate, max_len / rate)
    n = max((a + len(y) for a, y in placed), default=0)
    x = np.zeros(n, np.float32)
    spans: list[tuple[int, int]] = []
    for a, y in placed:
        x[a:a + len(y)] = y
        if spans and spans[-1][1] == a:
            spans[-1] = (spans[-1][0], a + len(y))
        else:
            spans.append((a, a + len(y)))
    return x, spans


def decode_placed(path: str | Path, rate: int = 16000, max_s: float | None = None
                  ) -> tuple[np.ndarray, list[tuple[int, int]]] | None:
    """Step 1 of the module doc: the first audio stream of ``path``, mono float32 at ``rate`` Hz,
    sample 0 at the first video frame's time (:func:`video_t0`; the audio's own start without a
    video stream), each decoded chunk at its own timestamp (:func:`place_chunks`: gaps are
    silence; sound from ``max_s`` seconds on is dropped), non-finite samples zeroed; with the
    sample spans that hold decoded sound. None
    without an audio stream; a corrupt one logs a warning and gives None."""
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:  # the video reader reports unreadable files; audio just stays absent
        log.warning("%s: no audio read (%s)", path, type(exc).__name__)
        return None
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        t_audio = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks: list[tuple[float | None, np.ndarray]] = []
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append((out.time, out.to_ndarray().reshape(-1)))
        for out in resampler.resample(None):
            chunks.append((out.time, out.to_ndarray().reshape(-1)))
    except Exception as exc:  # corrupt audio must not kill the caption
        log.warning("%s: audio stream not decodable (%s); speech from the lips only", path,
                    getattr(exc, "strerror", None) or type(exc).__name__)
        return None
    finally:
        container.close()
    if not chunks:
        log.warning("%s: audio stream decodes to no samples; speech from the lips only", path)
        return None
    if chunks[0][0] is None:
        chunks[0] = (t_audio, chunks[0][1])
    t0 = video_t0(path)
    x, spans = place_chunks(chunks, t_audio if t0 is None else t0, rate,
                            max_len=None if max_s is None else int(round(max_s * rate)), name=str(path))
    np.nan_to_num(x, copy=False, nan=0.0, posinf=1.0, neginf=-1.0)  # a few bad samples are silence
    return x, spans


def frame_features(x: np.ndarray, rate: int, win_s: float = 0.025, hop_s: float = 0.010
                   ) -> dict[str, np.ndarray]:
    """Per short-time frame (step 2 of the module doc): ``t`` (frame centre, s), ``energy_db``,
    ``band_share``, ``flatness`` and ``voicing``."""
    win, hop = int(round(win_s * rate)), int(round(hop_s * rate))
    if len(x) < win:
        x = np.concatenate([x, np.zeros(win - len(x), x.dtype)])
    n = 1 + (len(x) - win) // hop
    idx = np.arange(win)[None, :] + hop * np.arange(n)[:, None]
    fr = x[idx].astype(np.float64)
    fr = fr - fr.mean(axis=1, keepdims=True)
    energy_db = 10 * np.log10(np.mean(fr ** 2, axis=1) + 1e-12)
    nfft = 1 << int(np.ceil(np.log2(2 * win)))
    spec = np.abs(np.fft.rfft(fr * np.hanning(win)[None, :], n=nfft, axis=1)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / rate)
    sb = (f >= SPEECH_BAND[0]) & (f <= SPEECH_BAND[1])
    rb = (f >= REFERENCE_BAND[0]) & (f <= min(REFERENCE_BAND[1], rate / 2))
    p_sb = spec[:, sb] + 1e-20
    band_share = p_sb.sum(axis=1) / (spec[:, rb].sum(axis=1) + 1e-20)
    flatness = np.exp(np.mean(np.log(p_sb), axis=1)) / np.mean(p_sb, axis=1)
    # normalised autocorrelation (Wiener-Khinchin on the zero-padded frame), pitch lags only
    ac = np.fft.irfft(np.abs(np.fft.rfft(fr, n=nfft, axis=1)) ** 2, n=nfft, axis=1)
    lo, hi = int(rate / PITCH_RANGE[1]), int(rate / PITCH_RANGE[0])
    # unbiased: divide by the overlap length so long lags are not penalised
    lags = np.arange(lo, hi + 1)
    norm = ac[:, lags] / (win - lags)[None, :] / (ac[:, :1] / win + 1e-20)
    voicing = norm.max(axis=1)
    t = (hop * np.arange(n) + win / 2) / rate
    return {"t": t, "energy_db": energy_db, "band_share": band_share, "flatness": flatness, "voicing": voicing}


def block_features(x: np.ndarray, rate: int, block_s: float = BLOCK_S, win_s: float = 0.025,
                   hop_s: float = 0.010) -> dict[str, np.ndarray]:
    """:func:`frame_features` of ``x`` computed over blocks of ``block_s`` seconds of frames (each
    block reads its frames' samples, overlapping the next block by a window less a hop): the same
    frames and values as one call on the whole clip, with the per-frame matrices (frames,
    spectra, autocorrelations) only one block long."""
    win, hop = int(round(win_s * rate)), int(round(hop_s * rate))
    n = 1 + (len(x) - win) // hop if len(x) >= win else 1
    per = max(1, int(round(block_s / hop_s)))
    if n <= per:
        return frame_features(x, rate, win_s, hop_s)
    parts = [frame_features(x[k * hop:(min(n, k + per) - 1) * hop + win], rate, win_s, hop_s)
             for k in range(0, n, per)]
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out["t"] = (hop * np.arange(n) + win / 2) / rate
    return out


def real_frames(t: np.ndarray, spans: list[tuple[int, int]], rate: int, win_s: float = 0.025) -> np.ndarray:
    """The short-time frames (centres ``t``, s) whose whole window lies in one of the sample
    ``spans`` of decoded sound (not the silence put where the audio starts late or jumps)."""
    win = int(round(win_s * rate))
    start = np.round(np.asarray(t) * rate - win / 2).astype(np.int64)
    keep = np.zeros(len(t), bool)
    for a, b in spans:
        keep |= (start >= a) & (start + win <= b)
    return keep


def syllabic_blocks(e: np.ndarray, half: int, depth_db: float, side_db: float, block: int) -> np.ndarray:
    """:func:`syllabic` over blocks of ``block`` frames, each read with ``half`` frames of context
    on both sides (what the modulation window sees): the same mask as one call on the whole."""
    n = len(e)
    if n <= block:
        return syllabic(e, half, depth_db, side_db)
    out = np.zeros(n, bool)
    for k in range(0, n, block):
        a, b = max(0, k - half), min(n, k + block + half)
        out[k:k + block] = syllabic(e[a:b], half, depth_db, side_db)[k - a:k - a + min(block, n - k)]
    return out


def _close_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    m = mask.copy()
    on = np.flatnonzero(m)
    if len(on) < 2:
        return m
    gaps = np.flatnonzero(np.diff(on) > 1)
    for g in gaps:
        a, b = on[g], on[g + 1]
        if b - a - 1 <= max_gap:
            m[a:b] = True
    return m


def _drop_short(mask: np.ndarray, min_len: int) -> np.ndarray:
    m = mask.copy()
    for a, b in index_runs(m):
        if b - a < min_len:
            m[a:b] = False
    return m


def syllabic(e: np.ndarray, half: int, depth_db: float, side_db: float) -> np.ndarray:
    """Step 3 of the module doc: frames whose log energy spreads (90th minus 10th percentile) by
    at least ``depth_db`` over the ``2 half + 1`` frames around them, and by at least ``side_db``
    over the ``half`` frames before them and over the ``half`` after them (each side including
    the frame). Speech rises and falls on both sides; a note or noise that starts or stops is one
    step, flat on one side of every frame near it. Frames beyond the clip's ends are left out; a
    side mostly beyond them passes (it shows no step)."""
    n = len(e)
    pad = np.concatenate([np.full(half, np.nan), e, np.full(half, np.nan)])

    def spread(w, need):
        seen = np.isfinite(w).sum(axis=1)
        w = np.where(seen[:, None] > 1, w, 0.0)
        with np.errstate(all="ignore"):
            sp = np.nanpercentile(w, 90, axis=1) - np.nanpercentile(w, 10, axis=1)
        return (sp >= need) | (seen <= w.shape[1] // 2)

    side = np.lib.stride_tricks.sliding_window_view(pad, half + 1)
    whole = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)[:n]
    return spread(whole, depth_db) & spread(side[:n], side_db) & spread(side[half:half + n], side_db)


def voiced_frames(feat: dict[str, np.ndarray], hop_s: float = 0.010, floor_pct: float = 5.0,
                  snr_db: float = 6.0, min_db: float = -55.0, band_share: float = 0.3,
                  flatness: float = 0.4, voicing: float = 0.3, mod_window_s: float = 0.6,
                  modulation_db: float = 8.0, step_db: float = 3.0, hangover_s: float = 0.15, min_voice_s: float = 0.1,
                  real: np.ndarray | None = None, block_s: float = BLOCK_S) -> tuple[np.ndarray, float]:
    """Steps 2-4 of the module doc on :func:`frame_features`: the voiced mask of the short-time
    frames and the noise floor (dBFS), taken over the ``real`` frames (:func:`real_frames`; all
    when None or none is real): the silence padded where the sound starts late is no floor."""
    e = feat["energy_db"]
    ref = e[real] if real is not None and np.any(real) else e
    floor = float(np.percentile(ref, floor_pct)) if len(ref) else -120.0
    loud = (e >= floor + snr_db) & (e >= min_db)
    v = loud & (feat["band_share"] >= band_share) & (feat["flatness"] <= flatness) & (feat["voicing"] >= voicing)
    # syllabic modulation: a dip between two louder stretches near each frame
    if len(e) and modulation_db > 0:
        v &= syllabic_blocks(e, max(1, int(round(0.5 * mod_window_s / hop_s))), modulation_db, step_db,
                             max(1, int(round(block_s / hop_s))))
    v = _close_gaps(v, int(round(hangover_s / hop_s)))
    v = _drop_short(v, max(1, int(round(min_voice_s / hop_s))))
    return v, floor


#: why a video has no voice track (:func:`heard`)
NO_TRACK = "no audio track"
SILENT = "silent audio track"
UNDECODABLE = "audio track not decodable"


def voice_activity(path: str | Path, times: np.ndarray, fps: float, rate: int = 16000,
                   **thresholds) -> VoiceTrack | None:
    """The :class:`VoiceTrack` of ``path``'s sound on the video frame times ``times`` (s, at
    ``fps``), or None without a (decodable) audio stream or when it is silent over ``times``
    (never louder than ``min_db``: a muted track); ``thresholds`` are the keyword
    arguments of :func:`voiced_frames` (see the module doc). Sound stamped more than
    ``AFTER_VIDEO_S`` after the last frame time is dropped (:func:`place_chunks`). :func:`heard`
    also says why there is none."""
    return heard(path, times, fps, rate, **thresholds)[0]


def heard(path: str | Path, times: np.ndarray, fps: float, rate: int = 16000,
          **thresholds) -> tuple[VoiceTrack | None, str]:
    """:func:`voice_activity` and, when it is None, why, from the same decoding: :data:`NO_TRACK`
    (no audio stream, or a file that does not open), :data:`UNDECODABLE` (a stream that does not
    decode) or :data:`SILENT` (never louder than ``min_db`` dBFS over ``times``, up to
    ``AFTER_VIDEO_S`` after them: a muted stream, as stock footage often carries, or sound only
    after the face is gone); ``""`` with a voice track."""
    times = np.asarray(times, float)
    got = decode_placed(path, rate, max_s=float(times[-1]) + AFTER_VIDEO_S if len(times) else None)
    if got is None:
        return None, _why_not_decoded(path)
    x, spans = got
    if not len(x) or float(np.max(np.abs(x))) < 10 ** (thresholds.get("min_db", -55.0) / 20):
        return None, SILENT  # a muted track (stock footage often has one) says nothing about speech
    return voice_on_grid(x, rate, times, fps, spans=spans, **thresholds), ""


def _why_not_decoded(path: str | Path) -> str:
    """Why :func:`decode_placed` gave None: no audio stream (or no file) or one that does not
    decode (reads the container's header only)."""
    import av

    try:
        with av.open(str(path)) as container:
            return UNDECODABLE if container.streams.audio else NO_TRACK
    except Exception:
        return NO_TRACK


def voice_on_grid(x: np.ndarray, rate: int, times: np.ndarray, fps: float,
                  spans: list[tuple[int, int]] | None = None, active_score: float = 0.5,
                  block_s: float = BLOCK_S, **thresholds) -> VoiceTrack:
    """Steps 2-5 of the module doc on decoded samples ``x`` (mono, ``rate`` Hz, 0 s = the first
    video frame); ``spans``: the sample spans of decoded sound (:func:`decode_placed`; None = all
    of ``x``), the noise floor is taken there; a video frame is active when its score is at least
    ``active_score``."""
    feat = block_features(x, rate, block_s)
    hop_s = float(feat["t"][1] - feat["t"][0]) if len(feat["t"]) > 1 else 0.010
    real = None if spans is None else real_frames(feat["t"], spans, rate)
    v, floor = voiced_frames(feat, hop_s=hop_s, real=real, block_s=block_s, **thresholds)
    ta = feat["t"]
    half = 0.5 / max(fps, 1e-6)
    lo = np.searchsorted(ta, times - half, side="left")
    hi = np.searchsorted(ta, times + half, side="left")
    cs = np.concatenate([[0], np.cumsum(v)])
    cnt = hi - lo
    score = np.where(cnt > 0, (cs[hi] - cs[lo]) / np.maximum(cnt, 1), 0.0)
    return VoiceTrack(times=times, score=score, active=score >= active_score, floor_db=floor)
