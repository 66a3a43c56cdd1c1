"""Gradual shot transitions (cross-dissolves) on small grey thumbnails.

Why: a hard cut is a one-frame jump and the tracker's :func:`~dfec.tracking.meshtrack.is_cut`
sees it, but during a cross-dissolve each frame is ``(1 - a) * A + a * B`` with ``a`` rising over
several frames, every single step is small, and FaceMesh slides from the old face to the new one:
the landmarks move as if the head turned (dev clip emollama__sample_00000669 is a string of
transitions between a frontal and a profile take, 3-5 frames with both faces ghosted, each read
as a head turn; they are not plain blends, see below).

Test (on a window ``[s, e]`` of ``min_frames`` to ``max_frames`` frames): the end frames differ
(mean absolute grey change ``end_mad`` or more); every frame in between is explained as a blend of
the two ends, ``F_k - F_s ~ a_k (F_e - F_s)`` with the least-squares ``a_k`` in (0, 1) and rising
(``mono_slack``), with a residual at most ``max_resid`` of the end difference (rms); no single step
(``0 -> a_1``, ``a_i -> a_i+1``, ``a_last -> 1``) carries more than ``max_step`` of the change (that
is a cut next to a still stretch), and the blend explains the middle frames better than the nearer
end frame does (``gain``: a cut or a still stretch has nothing to blend). Motion is what this test
must not take for a dissolve: on 32x32 thumbnails a small shift is nearly linear, so a span also
needs end frames that are structurally different (``max_end_corr``), one blend weight for the
whole picture (``max_spread``), a picture that changes slower before and after it (``settle``),
and it must not chain with the next span into something that is no blend (a slow pan). What it
does not find: morph-cut-like transitions (in-between frames warped, or both takes moving, not a blend of
the end frames: dev clip 669's six fit the blend at residual 0.40-0.54 at best, also on 128-px
thumbnails and on gradients, where motion elsewhere fits at 0.1-0.4) and
dissolves between two shots of one set that differ less than ``end_mad``. Measured values: see
:class:`TransitionConfig`. Pure numpy; the thumbnails are those of
:func:`~dfec.tracking.meshtrack.is_cut` (32x32, grey, 0-255).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class TransitionConfig:
    """Parameters of :func:`find_transitions` (frames at the analysis rate, 16 fps).

    Measured (scripts and tables: the ``dissolve`` branch's report) on: 120 synthetic dissolves
    (two of the 17 dev / no-split clips' 32x32 thumbnails blended over 3-16 frames, both shots
    moving; found = IoU >= 0.5 with the true span); 69 "same set" ones (two moments of one clip);
    the 17 real clips themselves (no dissolve in them: every span found there is false); 35
    synthetic pans (a half-frame window moving 4-32 px a frame) and zooms (1-6 % a frame) over 1 s
    of five real frames. With these defaults: 108/120 found (mean IoU 0.81), 19/69 same-set,
    0 spans on the real clips, 0 on the pans and zooms.
    """

    #: shortest window (e - s, frames): at least two frames in between the ends
    min_frames: int = 3
    #: longest window (1 s at 16 fps): a slower change is a camera or subject move, not a dissolve
    max_frames: int = 16
    #: mean absolute grey change between the end frames (a cut's, is_cut's 18: a dissolve joins
    #: two shots). With max_resid, before the tests below existed: 10 -> 38/40 found, 9 false
    #: spans in 6 real clips; 12 -> 38/40, 4 false; 16 -> 37/40, 0 false; 20 -> 39/40, 0 false
    #: (16, not 20: two shots of one set differ less)
    end_mad: float = 16.0
    #: largest residual of an in-between frame, rms, as a fraction of the ends' rms difference;
    #: at end_mad 16: 0.25 -> 35/40, 0 false; 0.3 -> 37/40, 0 false; 0.35 -> 38/40, 3 false.
    #: Motion within a shot fits the blend at 0.1-0.4 on 32x32 thumbnails (small shifts look
    #: linear there), so the residual alone does not keep motion out
    max_resid: float = 0.3
    #: the in-between frame's residual must be below this fraction of its distance to the nearer end
    gain: float = 0.85
    #: largest share of the change carried by one frame step (a cut carries all of it)
    max_step: float = 0.6
    #: how far a_k may fall back between consecutive frames (blend weights rise)
    mono_slack: float = 0.08
    #: largest correlation of the end frames (mean removed): two shots differ in structure, a pan
    #: or zoom keeps most of the picture. Pans / zooms found: 4 of 35 at 1.0 (slow 4 px pans, 1-3 %
    #: zooms on 669 and demo_1), 1 at 0.7, 0 at 0.6; dissolves: 113/120 at 1.0 and at 0.6
    max_end_corr: float = 0.6
    #: largest spread of the blend weight over ``block`` x ``block`` tiles (:func:`_spread`): a
    #: dissolve mixes the whole picture alike. 0.15 removes one false span in the synthetic
    #: material and loses no dissolve (0.1 loses 3/120)
    max_spread: float = 0.15
    block: int = 8
    #: before and after a span the picture must change less than this times the span's own change
    #: over as many frames (pro rata for fewer): a pan or a move goes on at its pace, a dissolve
    #: joins two shots. 1.0: a 1.5 s pan over fine texture (tests) is no longer found; dissolves
    #: 113 -> 108/120 (0.6: 96, 0.8: 102, 1.2: 113 but the pan found)
    settle: float = 1.0
    #: a found span is trimmed to the frames whose blend weight is more than this from 0 and 1
    #: (a still frame before or after the change fits the blend too, with a of 0 or 1)
    trim: float = 0.1


def _fit(th: np.ndarray, s: int, e: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Blend weights, relative residuals and nearer-end distances of the frames strictly inside
    ``[s, e]`` (None when the ends are equal)."""
    d = (th[e] - th[s]).ravel()
    dd = float(d @ d)
    if dd <= 0:
        return None
    x = (th[s + 1:e] - th[s]).reshape(e - s - 1, -1)
    a = x @ d / dd
    res = np.sqrt(((x - a[:, None] * d) ** 2).sum(axis=1) / dd)
    near = np.sqrt(np.minimum((x ** 2).sum(axis=1), ((x - d) ** 2).sum(axis=1)) / dd)
    return a, res, near


def blend_score(th: np.ndarray, s: int, e: int, cfg: TransitionConfig) -> float | None:
    """The largest relative residual of the window ``[s, e]`` when it passes every test of the
    module docstring, else None (lower is a cleaner blend)."""
    if e - s < cfg.min_frames or float(np.abs(th[e] - th[s]).mean()) < cfg.end_mad:
        return None
    fit = _fit(th, s, e)
    if fit is None:
        return None
    a, res, near = fit
    u, v = th[s].ravel() - th[s].mean(), th[e].ravel() - th[e].mean()
    if float(u @ v) > cfg.max_end_corr * float(np.sqrt((u @ u) * (v @ v))) + 1e-9:
        return None
    if a.min() <= 0.0 or a.max() >= 1.0 or np.any(np.diff(a) < -cfg.mono_slack):
        return None
    steps = np.diff(np.concatenate([[0.0], a, [1.0]]))
    if steps.max() > cfg.max_step or res.max() > cfg.max_resid:
        return None
    mid = (a > 0.2) & (a < 0.8)
    if not mid.any() or np.any(res[mid] > cfg.gain * near[mid]):
        return None
    if cfg.max_spread < np.inf and _spread(th, s, e, a, cfg.block) > cfg.max_spread:
        return None
    return float(res.max())


def _spread(th: np.ndarray, s: int, e: int, a: np.ndarray, block: int) -> float:
    """How much the blend weight differs across the picture: each ``block`` x ``block`` tile's own
    least-squares weight against the frame's, rms weighted by the tile's end difference, the
    largest over the in-between frames. A dissolve mixes the whole picture alike; a pan or a
    moving subject changes each tile by its own amount."""
    d = th[e] - th[s]
    h, w = d.shape[:2]
    hb, wb = h // block, w // block
    if hb < 2 or wb < 2:
        return 0.0

    def tiles(x):
        return x[:hb * block, :wb * block].reshape(hb, block, wb, block).swapaxes(1, 2).reshape(hb * wb, -1)

    dt = tiles(d)
    dd = (dt * dt).sum(axis=1)
    keep = dd > 0
    if not keep.any():
        return 0.0
    worst = 0.0
    for k, ak in zip(range(s + 1, e), a):
        xt = tiles(th[k] - th[s])
        loc = (xt[keep] * dt[keep]).sum(axis=1) / dd[keep]
        worst = max(worst, float(np.sqrt((dd[keep] * (loc - ak) ** 2).sum() / dd[keep].sum())))
    return worst


class TransitionFinder:
    """Online: :meth:`push` one thumbnail a frame; returns ``(s, k)`` when frame ``k`` completes a
    blend window (the first frame where a transition is seen), else None. A found window grows
    while the next frames still continue the blend; when it stops growing it is refined
    (:meth:`_refine`) into :attr:`spans`, the transitions' frame spans ``(s, e)`` (inclusive)."""

    def __init__(self, cfg: TransitionConfig | None = None):
        self.cfg = cfg or TransitionConfig()
        self._buf: list[np.ndarray] = []
        self._first = 0  # frame index of _buf[0]
        self._done: list[tuple[int, int]] = []
        self._open: tuple[int, int] | None = None  # the window that may still grow
        self._floor = 0  # no new window starts before this frame (the end of the last one)
        self._index: list[int] = []  # the frame index of each push (a repeated frame is not pushed)
        self._pending: list[tuple[int, int]] = []  # spans whose after-side is not yet checked

    def _frames(self, span: tuple[int, int]) -> tuple[int, int]:
        return self._index[span[0]], self._index[span[1]]

    @property
    def spans(self) -> list[tuple[int, int]]:
        """The transitions found so far, as frame spans ``(first, last)`` (inclusive); a span
        whose after-side is still short of frames is judged on the frames there are."""
        state = list(self._done), self._open, list(self._pending), self._chain
        self._close()
        self._verify(final=True)
        out = [self._frames(sp) for sp in self._done]
        self._done, self._open, self._pending, self._chain = state
        return out

    def _still(self, a: int, b: int, change: float, length: int) -> bool:
        """Whether frames ``a`` -> ``b`` (pushes, one side of a span) change clearly less than the
        span did (``change`` over ``length`` frames; a shorter side is judged pro rata)."""
        lo, hi = max(min(a, b), self._first), min(max(a, b), self._first + len(self._buf) - 1)
        m = hi - lo
        if m < 1:
            return True
        th = self._buf
        side = float(np.abs(th[hi - self._first] - th[lo - self._first]).mean())
        return side <= self.cfg.settle * change * min(1.0, m / max(length, 1))

    def _verify(self, final: bool = False) -> None:
        """Drop the pending spans after which the picture keeps changing as fast (a pan or a
        move that goes on, not a new shot that settles)."""
        k = self._first + len(self._buf) - 1
        keep = []
        for s, e in self._pending:
            n = min(e - s, self.cfg.max_frames)
            if not final and k < e + n:
                keep.append((s, e))
                continue
            change = float(np.abs(self._buf[e - self._first] - self._buf[s - self._first]).mean()) \
                if s >= self._first else np.inf
            if not self._still(e, e + n, change, n) and (s, e) in self._done:
                self._done.remove((s, e))
        self._pending = keep

    def _thumbs(self) -> np.ndarray:
        return np.stack(self._buf)

    def _refine(self, s: int, e: int) -> tuple[int, int]:
        """The window's earliest start that still passes (the first detection may start late,
        when the early part alone did not yet change enough), then without its still ends: frames
        whose blend weight is within ``trim`` of 0 or 1."""
        cfg, th, f0 = self.cfg, self._thumbs(), self._first
        for s2 in range(max(f0, e - cfg.max_frames, self._floor_prev), s):
            if blend_score(th, s2 - f0, e - f0, cfg) is not None:
                s = s2
                break
        fit = _fit(th, s - f0, e - f0)
        if fit is None:
            return s, e
        a = fit[0]
        inside = np.flatnonzero((a > cfg.trim) & (a < 1.0 - cfg.trim))
        if len(inside):
            s, e = s + int(inside[0]), s + int(inside[-1]) + 2
        return s, e

    def push(self, thumb: np.ndarray, idx: int | None = None) -> tuple[int, int] | None:
        """Add the thumbnail of frame ``idx`` (default: the next frame); internally windows count
        pushes, so a source frame repeated to fill the rate counts once."""
        cfg = self.cfg
        self._index.append(len(self._index) if idx is None else int(idx))
        self._buf.append(np.asarray(thumb, dtype=np.float32))
        if len(self._buf) > 2 * cfg.max_frames + 1:
            self._buf.pop(0)
            self._first += 1
        k = self._first + len(self._buf) - 1
        self._verify()
        th = self._thumbs()
        if self._open is not None:
            s, _ = self._open
            if k - s <= cfg.max_frames and blend_score(th, s - self._first, k - self._first, cfg) is not None:
                self._open = (s, k)
                self._floor = k
                return None
            self._close()
        best = None
        for s in range(max(self._floor, self._first, k - cfg.max_frames), k - cfg.min_frames + 1):
            sc = blend_score(th, s - self._first, k - self._first, cfg)
            if sc is not None and (best is None or sc < best[0]):
                best = (sc, s)
        if best is None:
            return None
        self._floor_prev = self._floor
        self._open = (best[1], k)
        self._floor = k
        return self._frames(self._open)

    _floor_prev = 0
    _chain: int | None = None  # the end of the last chain of blend windows dropped as motion

    def _close(self) -> None:
        """Refine the open window into a span. A span that starts within ``min_frames`` of the
        last one's end is a chain: one transition found in two parts when the two together are
        still one blend (a long dissolve whose first part already changed enough on its own),
        else motion (a slow pan or a moving subject fits a blend over each short stretch, never
        over the whole), and then both spans are dropped, and any span that continues the chain."""
        if self._open is None:
            return
        s, e = self._refine(*self._open)
        self._open = None
        n = e - s
        change = float(np.abs(self._buf[e - self._first] - self._buf[s - self._first]).mean())
        if not self._still(s - n, s, change, n):
            return  # the picture was changing as fast before: a move going on, not a new shot
        if self._chain is not None and s - self._chain <= self.cfg.min_frames:
            self._chain = e
            return
        if self._done and s - self._done[-1][1] <= self.cfg.min_frames:
            s0 = self._done[-1][0]
            cfg = replace(self.cfg, max_frames=2 * self.cfg.max_frames)
            if s0 >= self._first and blend_score(self._thumbs(), s0 - self._first, e - self._first, cfg) is not None:
                if self._done[-1] in self._pending:
                    self._pending.remove(self._done[-1])
                self._done[-1] = (s0, e)
                self._pending.append((s0, e))
            else:
                self._done.pop()
                self._chain = e
            return
        self._done.append((s, e))
        self._pending.append((s, e))

    def cut(self) -> None:
        """A hard cut at the frame just pushed: no blend window spans it, and the spans before it
        are judged on the frames before it. A window the frame just pushed completed or grew is
        that cut (an eased fade whose last step is cut-sized), not a transition: it is dropped
        (closing it would read the popped frame: review 6, an IndexError)."""
        if self._open is not None and self._open[1] >= self._first + len(self._buf) - 1:
            self._open = None
        last = self._buf.pop()
        if self._buf:
            self._close()
            self._verify(final=True)
        self._buf.append(last)
        k = self._first + len(self._buf) - 1
        self._buf = self._buf[-1:]
        self._first = k
        self._floor = self._floor_prev = max(self._floor, k)


def find_transitions(thumbs, cfg: TransitionConfig | None = None) -> list[tuple[int, int]]:
    """All transition spans ``(s, e)`` (frame indices, inclusive) of a thumbnail sequence."""
    f = TransitionFinder(cfg)
    for t in thumbs:
        f.push(t)
    return list(f.spans)
