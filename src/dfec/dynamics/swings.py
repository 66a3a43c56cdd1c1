"""Swings: the monotonic changes of a signal that become events (hysteresis zigzag, 10-90 %
onset/offset, return labelling). Shared by every detector of :mod:`dfec.dynamics.events` and
:mod:`dfec.dynamics.mesh_events`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def zigzag(x: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Monotonic swings ``(i_start, i_end)`` of ``x`` whose amplitude is >= ``threshold``.

    Hysteresis zigzag: a turning point is confirmed once ``x`` has moved back from it by the
    threshold. NaN samples split the series; swings never cross a NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    out: list[tuple[int, int]] = []
    n = len(x)
    i = 0
    while i < n:
        if not np.isfinite(x[i]):
            i += 1
            continue
        j = i
        while j < n and np.isfinite(x[j]):
            j += 1
        out.extend((a + i, b + i) for a, b in _zigzag_finite(x[i:j], threshold))
        i = j
    return out


def _zigzag_finite(x: np.ndarray, th: float) -> list[tuple[int, int]]:
    n = len(x)
    if n < 2 or th <= 0:
        return []
    pivots: list[int] = []
    trend, hi, lo, ext = 0, 0, 0, 0
    for i in range(1, n):
        if trend == 0:
            if x[i] > x[hi]:
                hi = i
            if x[i] < x[lo]:
                lo = i
            if x[hi] - x[lo] >= th:
                if hi > lo:
                    pivots, trend, ext = [lo], 1, hi
                else:
                    pivots, trend, ext = [hi], -1, lo
        elif trend == 1:
            if x[i] >= x[ext]:
                ext = i
            elif x[ext] - x[i] >= th:
                pivots.append(ext)
                trend, ext = -1, i
        else:
            if x[i] <= x[ext]:
                ext = i
            elif x[i] - x[ext] >= th:
                pivots.append(ext)
                trend, ext = 1, i
    if trend != 0 and abs(x[ext] - x[pivots[-1]]) >= th:
        pivots.append(ext)
    return list(zip(pivots[:-1], pivots[1:]))


def _progress(x: np.ndarray, a: int, b: int) -> np.ndarray:
    """How far each sample of x[a..b] has gone from x[a] towards x[b] (0 .. 1)."""
    span = x[b] - x[a]
    return (x[a:b + 1] - x[a]) / (span if span else 1.0)


def _onset(x: np.ndarray, a: int, b: int, frac: float = 0.1) -> int:
    """Last index in [a, b] still within ``frac`` of the start before the change takes off."""
    prog = _progress(x, a, b)
    end = int(np.argmax(prog >= 0.9))
    below = np.nonzero(prog[:end + 1] < 0.5)[0]  # the final take-off, not an earlier wobble
    mid = int(below[-1]) if len(below) else 0
    low = np.nonzero(prog[:mid + 1] <= frac)[0]
    return a + int(low[-1]) if len(low) else a


def _half(x: np.ndarray, a: int, b: int) -> int:
    """First index in [a, b] of the swing's final crossing of half its amplitude (as
    :func:`_onset`, after the last sample still below half before 90 % is reached): where most of
    the change happens, not an earlier wobble or a slow drift before it."""
    prog = _progress(x, a, b)
    end = int(np.argmax(prog >= 0.9))
    below = np.nonzero(prog[:end + 1] < 0.5)[0]
    return min(a + (int(below[-1]) + 1 if len(below) else 0), b)


def _offset(x: np.ndarray, a: int, b: int, frac: float = 0.9) -> int:
    """First index in [a, b] where ``frac`` of the change is reached."""
    hit = np.nonzero(_progress(x, a, b) >= frac)[0]
    return a + int(hit[0]) if len(hit) else b


@dataclass
class Swing:
    """One monotonic change of a signal (deviation units)."""

    signal: str
    i0: int
    i1: int
    t0: float
    t1: float
    start_value: float
    end_value: float
    #: time (s) the swing crosses half its amplitude (:func:`_half`), within [t0, t1]: when the
    #: change happens, the caption phase it is said in (``Event.change_at``); None when unknown
    t_half: float | None = None

    @property
    def amplitude(self) -> float:
        return self.end_value - self.start_value



def label_returns(sw: list[Swing], threshold: float, fraction: float = 0.5) -> list[bool]:
    """For each swing, whether it *returns* from the swing before it.

    A swing returns when the previous swing moved away (was not itself a return), the two go in
    opposite directions, and this one ends near where the previous one started (within
    ``fraction`` of the previous amplitude, or of the threshold). The first change of a signal is
    therefore always named by its direction ("raise"), the way back by its return name ("relax"),
    whatever share of the video each state takes (the median neutral cannot tell).
    """
    out: list[bool] = []
    prev: Swing | None = None
    prev_away = False
    for s in sw:
        back = (
            prev is not None and prev_away and s.amplitude * prev.amplitude < 0
            and abs(s.end_value - prev.start_value) <= fraction * max(abs(prev.amplitude), threshold)
        )
        out.append(bool(back))
        prev, prev_away = s, not back
    return out


def _speed_onset(x: np.ndarray, a: int, b: int, s: int, frac: float) -> int:
    """The onset ``s`` moved on to the last frame before the swing's peak speed (within
    ``a..b``) whose speed is at most ``frac`` of that peak: where the movement takes off, not a
    slow drift before it that already covers a tenth of the amplitude."""
    seg = np.asarray(x[a:b + 1], dtype=float)
    if frac <= 0 or len(seg) < 3 or not np.isfinite(seg).all():
        return s
    speed = np.abs(np.gradient(seg))
    peak = int(np.argmax(speed))
    slow = np.flatnonzero(speed[:peak + 1] <= frac * speed[peak])
    return max(s, a + int(slow[-1])) if len(slow) else s


def swings(dev: np.ndarray, times: np.ndarray, threshold: float, name: str = "",
           filled: np.ndarray | None = None, speed_onset: float = 0.0) -> list[Swing]:
    """Zigzag swings of a deviation series with 10 %-90 % onset/offset times and the time of the
    half-amplitude crossing (``t_half``). ``filled`` marks
    interpolated samples (e.g. over blinks): an onset never lies inside them. With
    ``speed_onset`` > 0 the onset is no earlier than the last frame before the peak speed slower
    than that fraction of it (:func:`_speed_onset`)."""
    out = []
    for a, b in zigzag(dev, threshold):
        s, e = _onset(dev, a, b), _offset(dev, a, b)
        s = min(_speed_onset(dev, a, b, s, speed_onset), e)
        if filled is not None:
            while s < e and filled[s]:
                s += 1
        out.append(_swing(name, dev, times, a, b, s, max(e, s)))
    return out


def frame_at(times: np.ndarray, x: float) -> int:
    """The first frame of the regular grid ``times`` at or after time ``x`` (1e-6 s of slack for
    the rounding of event times), the last frame for a time past the end."""
    return int(min(np.searchsorted(times, x - 1e-6), len(times) - 1))


def _swing(name: str, x: np.ndarray, times: np.ndarray, a: int, b: int, on: int, off: int) -> Swing:
    """The swing of ``x`` from pivot ``a`` to pivot ``b`` with onset / offset indices ``on`` /
    ``off``; its half-amplitude time is kept within [onset, offset]."""
    t0, t1 = float(times[on]), float(times[off])
    half = min(max(float(times[_half(x, a, b)]), t0), t1)
    return Swing(name, a, b, t0, t1, float(x[a]), float(x[b]), half)


def _interp_over(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    y = x.copy()
    good = np.isfinite(x) & ~mask
    idx = np.arange(len(x))
    if good.sum() >= 2:
        fill = mask & np.isfinite(x)
        y[fill] = np.interp(idx[fill], idx[good], x[good])
    return y


def end_at_center_pause(x: np.ndarray, times: np.ndarray, s: Swing, absolute: np.ndarray,
                        posed: float, threshold: float, pause_ratio: float) -> Swing:
    """A head swing back from a posed side, ended where the head first comes to rest facing the
    camera.

    ``x`` is the deviation series the swing ``s`` was found on, ``absolute`` the same angle
    against the camera (the pose). The zigzag ends a swing at its extreme, so a head that turns
    back from ``|absolute| >= posed`` to the front, stops there and then drifts on past the middle
    by less than a turn's ``threshold`` has a swing that ends beyond the middle, and reads as a
    turn to the other side. A pause is the first frame in the middle zone (``|absolute| <
    posed``) where the speed has a local minimum of at most ``pause_ratio`` of the speed peaks
    before and after it (two velocity peaks, not the one bell of a single movement). When the
    swing moves on from there by less than ``threshold``, it ends at the pause (the drift after it
    is no movement of its own); otherwise (the head goes on to turn the other way) it is
    returned as it is."""
    if pause_ratio <= 0 or s.i1 - s.i0 < 4:
        return s
    a = np.asarray(absolute, dtype=float)
    if not (np.isfinite(a[s.i0]) and abs(a[s.i0]) >= posed):
        return s
    seg = np.asarray(x[s.i0:s.i1 + 1], dtype=float)
    if not np.isfinite(seg).all():
        return s
    speed = np.abs(np.gradient(seg))
    zone = np.flatnonzero(np.abs(a[s.i0 + 1:s.i1]) < posed) + 1  # interior frames in the middle zone
    dips = [int(k) for k in zone if speed[k] <= speed[k - 1] and speed[k] <= speed[k + 1]
            and speed[k] <= pause_ratio * min(float(np.max(speed[:k])), float(np.max(speed[k + 1:])))]
    if not dips:
        return s
    cut = s.i0 + dips[0]
    if abs(x[cut] - x[s.i0]) < threshold or abs(x[s.i1] - x[cut]) >= threshold:
        return s
    start, end = _onset(x, s.i0, cut), _offset(x, s.i0, cut)
    return _swing(s.signal, x, times, s.i0, cut, start, max(end, start))
